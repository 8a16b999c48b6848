/*
 * scan.h - `mxparity scan`: a message file through the daemon's pipeline.
 */
#ifndef MXP_SCAN_H
#define MXP_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/pipeline.h"

struct mxp_policy;

struct mxp_scan_envelope {
	const char *client_ip;
	const char *client_name;
	const char *helo;
	const char *from;
	const char *auth;
	const char *const *rcpts;
	size_t nrcpts;
};

/*
 * mxp_scan_file - run one file; print the summary line to stdout and
 * write the message as it would leave this host to out_path (optional).
 * Returns the final verdict, or MXP_ERROR with err filled.
 */
enum mxp_verdict mxp_scan_file(struct mxp_policy *pol, const struct mxp_scan_envelope *env,
			       const char *path, const char *out_path, char *err, size_t errlen);

/*
 * mxp_scan_text - the same for a message already in memory; path only
 * names it in the output.  quiet prints nothing (for repeated runs).
 */
enum mxp_verdict mxp_scan_text(struct mxp_policy *pol, const struct mxp_scan_envelope *env,
			       const char *path, const char *text, size_t len, const char *out_path,
			       bool quiet, char *err, size_t errlen);

#endif
