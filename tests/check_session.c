/*
 * check_session.c - a tiny MTA stand-in for unit tests: it plays one
 * transaction into a session and records everything that came back.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "check_mxparity.h"
#include "check_session.h"

/* copy_outcome - keep a decisive reply */
static void
copy_outcome(struct test_txn *t, const struct mxp_outcome *o)
{
	t->verdict = o->verdict;
	snprintf(t->rcode, sizeof(t->rcode), "%s", o->rcode);
	snprintf(t->xcode, sizeof(t->xcode), "%s", o->xcode);
	snprintf(t->text, sizeof(t->text), "%s", o->text);
}

/* fill_defaults - one recipient, a Subject and a short body unless given */
static void
fill_defaults(struct test_txn *t)
{
	if (t->rcpts[0] == NULL)
		t->rcpts[0] = "<alice@example.com>";
	if (t->headers[0][0] == NULL) {
		t->headers[0][0] = "Subject";
		t->headers[0][1] = "hello";
	}
	if (t->body == NULL)
		t->body = "body\r\n";
}

void
run_txn(struct mxp_policy *pol, struct test_txn *t)
{
	struct mxp_session *s = mxp_session_new(pol, "client.example",
						t->client_ip ? t->client_ip : "192.0.2.1", AF_INET);
	const struct mxp_final *fin;
	struct mxp_outcome out;

	fill_defaults(t);
	mxp_session_connect(s, &out);
	if (out.verdict >= MXP_TEMPFAIL)
		goto decided;
	mxp_session_helo(s, "client.example", &out);
	if (out.verdict >= MXP_TEMPFAIL)
		goto decided;
	mxp_session_mail(s, t->from ? t->from : "<sender@example.org>", t->auth, &out);
	if (out.verdict >= MXP_TEMPFAIL)
		goto decided;
	for (int i = 0; i < 8 && t->rcpts[i] != NULL; i++) {
		mxp_session_rcpt(s, t->rcpts[i], &t->rcpt_out[i]);
		if (t->rcpt_out[i].verdict < MXP_TEMPFAIL)
			t->rcpts_accepted++;
	}
	if (t->rcpts_accepted == 0) {
		t->verdict = MXP_REJECT;
		goto out;
	}
	for (int i = 0; i < 16 && t->headers[i][0] != NULL; i++) {
		mxp_session_header(s, t->headers[i][0], t->headers[i][1], &out);
		if (out.verdict >= MXP_TEMPFAIL)
			break;
	}
	if (out.verdict < MXP_TEMPFAIL)
		mxp_session_eoh(s, &out);
	if (out.verdict < MXP_TEMPFAIL && t->body != NULL)
		mxp_session_body(s, (const unsigned char *)t->body, strlen(t->body), &out);
	fin = mxp_session_eom(s);
	copy_outcome(t, &fin->outcome);
	snprintf(t->summary, sizeof(t->summary), "%s", fin->summary);
	if (fin->removals != NULL) {
		t->removals = fin->removals->len;
		t->additions = fin->additions->len;
		for (guint i = 0; i < fin->additions->len && i < 4; i++) {
			const struct mxp_header_edit *e = g_ptr_array_index(fin->additions, i);
			snprintf(t->added[i], sizeof(t->added[i]), "%s: %s", e->name, e->value);
		}
	}
	goto out;
decided:
	copy_outcome(t, &out);
out:
	mxp_session_free(s);
}
