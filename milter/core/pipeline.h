/*
 * pipeline.h - one SMTP session run through the policy's module chain.
 *
 * The milter callbacks and `mxparity scan` both drive a session through
 * these calls, so the daemon and the offline tool decide identically.
 * Nothing here talks to the MTA.
 */
#ifndef MXP_PIPELINE_H
#define MXP_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>
#include <mxparity/module.h>

#include "core/result.h"

struct mxp_policy;
struct mxp_session;

/* What an event decided, for the caller to turn into an SMTP reply. */
struct mxp_outcome {
	enum mxp_verdict verdict; /* CONTINUE unless something is decisive now */
	char rcode[4];
	char xcode[16];
	char text[400];
};

/* What end of message decided, with the header edits to apply. */
struct mxp_final {
	struct mxp_outcome outcome;
	GPtrArray *removals;  /* const struct mxp_header_edit *, safe order */
	GPtrArray *additions; /* const struct mxp_header_edit *, in module order */
	const char *quarantine;
	char *summary; /* the summary line, without the queue id */
};

/* mxp_session_new - takes a reference to pol for the session's life */
struct mxp_session *mxp_session_new(struct mxp_policy *pol, const char *client_name,
				    const char *client_addr, int family);
/* mxp_session_policy - the snapshot the session pinned */
const struct mxp_policy *mxp_session_policy(const struct mxp_session *s);
/* mxp_session_free - ends any open message as aborted, then the connection */
void mxp_session_free(struct mxp_session *s);

void mxp_session_connect(struct mxp_session *s, struct mxp_outcome *out);
void mxp_session_helo(struct mxp_session *s, const char *helo, struct mxp_outcome *out);
/* mxp_session_mail - starts a message; auth_authen is the SASL login or NULL */
void mxp_session_mail(struct mxp_session *s, const char *from, const char *auth_authen,
		      struct mxp_outcome *out);
void mxp_session_rcpt(struct mxp_session *s, const char *rcpt, struct mxp_outcome *out);
void mxp_session_header(struct mxp_session *s, const char *name, const char *value,
			struct mxp_outcome *out);
void mxp_session_eoh(struct mxp_session *s, struct mxp_outcome *out);
void mxp_session_body(struct mxp_session *s, const unsigned char *chunk, size_t len,
		      struct mxp_outcome *out);
/* mxp_session_eom - the final decision, valid until the message ends */
const struct mxp_final *mxp_session_eom(struct mxp_session *s);
/* mxp_session_finish - the decision of mxp_session_eom has been applied */
void mxp_session_finish(struct mxp_session *s);
/* mxp_session_abort - the MTA dropped the message (RSET, QUIT, error) */
void mxp_session_abort(struct mxp_session *s);
/* mxp_session_set_progress - how host->progress reaches the MTA (optional) */
void mxp_session_set_progress(struct mxp_session *s, void (*fn)(void *arg), void *arg);
/* mxp_session_progress - called through host->progress */
void mxp_session_progress(struct mxp_session *s);
/* mxp_session_set_queue_id - as soon as the MTA names the message */
void mxp_session_set_queue_id(struct mxp_session *s, const char *queue_id);
const char *mxp_session_queue_id(const struct mxp_session *s);
/* mxp_session_peer_finding - the verified peer stamp's finding for key, or NULL */
const char *mxp_session_peer_finding(const struct mxp_session *s, const char *key);

#endif
