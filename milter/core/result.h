/*
 * result.h - what one module decided about one message: its verdict, an
 * SMTP reply, its findings, Authentication-Results method results, header
 * changes and a quarantine reason.
 */
#ifndef MXP_RESULT_H
#define MXP_RESULT_H

#include <stdbool.h>

#include <glib.h>
#include <mxparity/module.h>

#include "util/finding.h"

struct mxp_header_edit {
	char *name;
	char *value;	/* NULL for a removal */
	unsigned index; /* removal: 1-based among headers of that name */
};

struct mxp_result {
	enum mxp_verdict verdict; /* most severe verdict so far this message */
	bool has_reply;
	char rcode[4];
	char xcode[16];
	char text[400];
	GArray *findings; /* struct mxp_finding, in the order first set */
	/* Whose result this is, and the other modules of the policy: a module
	 * may not report a finding under another module's name. */
	const char *owner;
	const char *const *module_names; /* NULL-terminated, or NULL */
	GPtrArray *authres;		 /* char *: "method=result props" */
	GArray *edits;			 /* struct mxp_header_edit */
	char *quarantine;
};

void mxp_result_init(struct mxp_result *res);
/* mxp_result_reset - back to empty, for the next message */
void mxp_result_reset(struct mxp_result *res);
/* mxp_result_release - free what the result owns */
void mxp_result_release(struct mxp_result *res);
/* mxp_result_clear_reply - forget a per-recipient reply */
void mxp_result_clear_reply(struct mxp_result *res);

void mxp_result_set_reply(struct mxp_result *res, const char *rcode, const char *xcode,
			  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* mxp_result_add_finding - set key to the cleaned value; -1 for a bad key */
int mxp_result_add_finding(struct mxp_result *res, const char *key, unsigned flags,
			   const char *value);
/* mxp_result_add_auth_result - "method=result props" for the core's Authentication-Results */
int mxp_result_add_auth_result(struct mxp_result *res, const char *method, const char *result,
			       const char *props);
/* mxp_result_add_header_raw - a header of the core's own: value kept as given (folding) */
int mxp_result_add_header_raw(struct mxp_result *res, const char *name, const char *value);
int mxp_result_add_header(struct mxp_result *res, const char *name, const char *value);
int mxp_result_remove_header(struct mxp_result *res, const char *name, unsigned index);
void mxp_result_set_quarantine(struct mxp_result *res, const char *reason);

/* mxp_sanitize_text - printable ASCII only, at most len-1 bytes */
void mxp_sanitize_text(char *dst, size_t len, const char *src);

#endif
