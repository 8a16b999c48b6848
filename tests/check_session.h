/*
 * check_session.h - drive a pipeline session through one SMTP transaction.
 */
#ifndef CHECK_SESSION_H
#define CHECK_SESSION_H

#include "core/pipeline.h"

struct test_txn {
	const char *client_ip;
	const char *from;
	const char *rcpts[8];
	const char *auth;
	const char *headers[16][2]; /* name, value pairs */
	const char *body;
	/* Results. */
	struct mxp_outcome rcpt_out[8];
	unsigned rcpts_accepted;
	enum mxp_verdict verdict;
	char rcode[4], xcode[16], text[400];
	char summary[4096];
	unsigned removals, additions;
	char added[4][4096]; /* "Name: value" of the first additions */
};

/* run_txn - one message through a new session of pol; unset parts get defaults */
void run_txn(struct mxp_policy *pol, struct test_txn *t);

#endif
