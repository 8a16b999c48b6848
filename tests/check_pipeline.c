/*
 * check_pipeline.c - verdict merging across modules, on_error, header
 * edits, input bounds, trusted clients and snapshot pinning, using the
 * test module through the real pipeline.
 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include "check_mxparity.h"
#include "check_session.h"

/* TXN - a transaction; run_txn fills in a recipient, a Subject and a body when unset */
#define TXN(...)                                                                                   \
	{                                                                                          \
		__VA_ARGS__                                                                        \
	}

START_TEST(test_clean_message_gets_header_and_token)
{
	struct mxp_policy *pol = fixture_policy(POLICY_HEAD "module testmod { }\n");
	struct test_txn t = TXN(.headers = { { "Subject", "hello" }, { "X-Other", "1" } });

	run_txn(pol, &t);
	ck_assert_int_eq(t.verdict, MXP_CONTINUE);
	ck_assert_uint_eq(t.additions, 1);
	ck_assert_msg(strncmp(t.added[0],
			      "X-Test-Module: host=mx1.example.com tier=primary hop=edge "
			      "rcpts=1 headers=2 body=6",
			      76) == 0,
		      "%s", t.added[0]);
	ck_assert_msg(strstr(t.summary, "hop=edge from=<sender@example.org> rcpts=1") != NULL, "%s",
		      t.summary);
	ck_assert_msg(strstr(t.summary, " test=ok:2:6:0 action=accept policy=") != NULL, "%s",
		      t.summary);
	mxp_policy_unref(pol);
}
END_TEST

START_TEST(test_most_severe_verdict_wins)
{
	/* Two instances cannot share a name, so use two verdicts from one module and rcpt. */
	struct mxp_policy *pol;
	struct test_txn t = TXN(.headers = { { "Subject", "buy spam now" } });

	fixture_write("recipients", "alice@example.com\n");
	pol = fixture_policy(POLICY_HEAD "module rcpt { recipients_file = \"recipients\" }\n"
					 "module testmod { reject_subject = \"spam\" tag_subject = "
					 "\"buy\" }\n");
	run_txn(pol, &t);
	ck_assert_int_eq(t.verdict, MXP_REJECT);
	ck_assert_str_eq(t.rcode, "554");
	ck_assert_str_eq(t.xcode, "5.7.1");
	ck_assert_msg(strstr(t.summary, "rcpt=ok test=reject action=reject") != NULL, "%s",
		      t.summary);
	mxp_policy_unref(pol);

	pol = fixture_policy(POLICY_HEAD "module testmod { tag_subject = \"buy\" }\n");
	struct test_txn tag = TXN(.headers = { { "Subject", "buy now" } });
	run_txn(pol, &tag);
	ck_assert_int_eq(tag.verdict, MXP_TAG);
	ck_assert_uint_eq(tag.additions, 2);
	ck_assert_str_eq(tag.added[1], "X-Test-Tag: yes");
	mxp_policy_unref(pol);

	pol = fixture_policy(POLICY_HEAD "module testmod { quarantine_subject = \"held\" }\n");
	struct test_txn q = TXN(.headers = { { "Subject", "held item" } });
	run_txn(pol, &q);
	ck_assert_int_eq(q.verdict, MXP_QUARANTINE);
	mxp_policy_unref(pol);
}
END_TEST

START_TEST(test_on_error_is_never_a_silent_pass)
{
	static const char *const points[] = { "connect", "helo", "mail", "rcpt",
					      "header",	 "body", "eom" };

	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		char *text =
			g_strdup_printf(POLICY_HEAD "module testmod { fail_at = %s }\n", points[i]);
		struct mxp_policy *pol = fixture_policy(text);
		struct test_txn t = TXN();

		run_txn(pol, &t);
		if (strcmp(points[i], "rcpt") == 0) {
			ck_assert_int_eq(t.rcpt_out[0].verdict, MXP_TEMPFAIL);
			ck_assert_str_eq(t.rcpt_out[0].rcode, "451");
		} else {
			ck_assert_msg(t.verdict == MXP_TEMPFAIL, "fail_at=%s gave %d", points[i],
				      t.verdict);
			ck_assert_str_eq(t.rcode, "451");
			ck_assert_str_eq(t.xcode, "4.3.0");
		}
		mxp_policy_unref(pol);
		g_free(text);
	}
}
END_TEST

START_TEST(test_connection_level_reply)
{
	struct mxp_policy *pol =
		fixture_policy(POLICY_HEAD "module testmod { reject_helo = \"client.example\" }\n");
	struct test_txn t = TXN();

	run_txn(pol, &t);
	ck_assert_int_eq(t.verdict, MXP_REJECT);
	ck_assert_str_eq(t.rcode, "550");
	ck_assert_msg(strstr(t.text, "refuses HELO client.example") != NULL, "%s", t.text);
	mxp_policy_unref(pol);
}
END_TEST

/*
 * The daemon asks the MTA for no reply at connect, HELO, headers, end of
 * headers and body, and so never looks at those outcomes: the verdicts must
 * come back at MAIL and at end of message.
 */
START_TEST(test_noreply_stages_keep_their_verdict)
{
	struct mxp_policy *pol = fixture_policy(POLICY_HEAD "module testmod { "
							    "reject_helo = \"bad.example\" "
							    "reject_subject = \"spam\" }\n");
	struct mxp_session *s = mxp_session_new(pol, "c", "192.0.2.1", AF_INET);
	const struct mxp_final *fin;
	struct mxp_outcome out;

	mxp_session_connect(s, &out);
	mxp_session_helo(s, "bad.example", &out);
	ck_assert_int_eq(out.verdict, MXP_REJECT); /* an MTA waiting for a reply gets it here */
	for (int i = 0; i < 2; i++) {
		/* ...and every MAIL of the session gets it again */
		mxp_session_mail(s, "<x@example.org>", NULL, &out);
		ck_assert_int_eq(out.verdict, MXP_REJECT);
		ck_assert_str_eq(out.rcode, "550");
		ck_assert_msg(strstr(out.text, "refuses HELO bad.example") != NULL, "%s", out.text);
		fin = mxp_session_eom(s);
		ck_assert_int_eq(fin->outcome.verdict, MXP_REJECT);
		mxp_session_finish(s);
	}
	mxp_session_free(s);

	s = mxp_session_new(pol, "c", "192.0.2.1", AF_INET);
	mxp_session_connect(s, &out);
	mxp_session_helo(s, "good.example", &out);
	mxp_session_mail(s, "<x@example.org>", NULL, &out);
	ck_assert_int_eq(out.verdict, MXP_CONTINUE);
	mxp_session_rcpt(s, "<alice@example.com>", &out);
	mxp_session_header(s, "Subject", "spam", &out); /* reply not read */
	mxp_session_header(s, "X-Later", "1", &out);
	mxp_session_eoh(s, &out);
	mxp_session_body(s, (const unsigned char *)"body\r\n", 6, &out);
	fin = mxp_session_eom(s);
	ck_assert_int_eq(fin->outcome.verdict, MXP_REJECT);
	mxp_session_finish(s);
	mxp_session_free(s);
	mxp_policy_unref(pol);
}
END_TEST

START_TEST(test_on_error_reject_and_accept)
{
	struct mxp_policy *pol =
		fixture_policy(POLICY_HEAD "module testmod { fail_at = eom on_error = reject }\n");
	struct test_txn t = TXN();

	run_txn(pol, &t);
	ck_assert_int_eq(t.verdict, MXP_REJECT);
	ck_assert_str_eq(t.rcode, "550");
	mxp_policy_unref(pol);

	pol = fixture_policy(POLICY_HEAD "module testmod { fail_at = body on_error = accept }\n");
	struct test_txn a = TXN();
	run_txn(pol, &a);
	ck_assert_int_eq(a.verdict, MXP_CONTINUE);
	/* Accepted, but the log line says the module failed. */
	ck_assert_msg(strstr(a.summary, " testmod=error ") != NULL, "%s", a.summary);
	mxp_policy_unref(pol);
}
END_TEST

START_TEST(test_header_removal_indexes)
{
	struct mxp_policy *pol =
		fixture_policy(POLICY_HEAD "module testmod { remove_header = \"X-Forged\" }\n");
	struct test_txn t =
		TXN(.headers = { { "X-Forged", "a" }, { "Subject", "s" }, { "x-forged", "b" } });

	run_txn(pol, &t);
	ck_assert_int_eq(t.verdict, MXP_CONTINUE);
	ck_assert_uint_eq(t.removals, 2);
	ck_assert_msg(strstr(t.summary, "test=ok:3:6:2") != NULL, "%s", t.summary);
	mxp_policy_unref(pol);
}
END_TEST

START_TEST(test_input_bounds)
{
	struct mxp_policy *pol = fixture_policy(
		POLICY_HEAD
		"limits { max_recipients = 2 max_header_length = 64 max_message_size = 100 "
		"max_headers = 3 }\nmodule testmod { }\n");
	struct test_txn r = TXN(.rcpts = { "<a@x.example>", "<b@x.example>", "<c@x.example>" });
	char longval[200];

	run_txn(pol, &r);
	ck_assert_int_eq(r.rcpt_out[2].verdict, MXP_TEMPFAIL);
	ck_assert_str_eq(r.rcpt_out[2].rcode, "452");
	ck_assert_str_eq(r.rcpt_out[2].xcode, "4.5.3");
	ck_assert_uint_eq(r.rcpts_accepted, 2);

	memset(longval, 'a', sizeof(longval) - 1);
	longval[sizeof(longval) - 1] = '\0';
	struct test_txn h = TXN(.headers = { { "Subject", longval } });
	run_txn(pol, &h);
	ck_assert_int_eq(h.verdict, MXP_REJECT);
	ck_assert_str_eq(h.rcode, "552");
	ck_assert_msg(strstr(h.text, "header field too long") != NULL, "%s", h.text);

	struct test_txn n =
		TXN(.headers = { { "A", "1" }, { "B", "2" }, { "C", "3" }, { "D", "4" } });
	run_txn(pol, &n);
	ck_assert_int_eq(n.verdict, MXP_REJECT);
	ck_assert_msg(strstr(n.text, "Too many message header fields") != NULL, "%s", n.text);

	struct test_txn b = TXN(.body = "0123456789012345678901234567890123456789"
					"0123456789012345678901234567890123456789"
					"0123456789012345678901234567890123456789");
	run_txn(pol, &b);
	ck_assert_int_eq(b.verdict, MXP_REJECT);
	ck_assert_str_eq(b.rcode, "552");
	ck_assert_str_eq(b.xcode, "5.3.4");
	ck_assert_msg(strstr(b.summary, "action=reject") != NULL, "%s", b.summary);
	mxp_policy_unref(pol);
}
END_TEST

START_TEST(test_domain_override_applies_per_recipient_domain)
{
	struct mxp_policy *pol = fixture_policy(
		POLICY_HEAD
		"module testmod { reject_subject = \"spam\" }\n"
		"domain \"strict.example\" { module testmod { reject_subject = \"ham\" } }\n");
	struct test_txn base =
		TXN(.rcpts = { "<u@lax.example>" }, .headers = { { "Subject", "ham" } });
	struct test_txn strict =
		TXN(.rcpts = { "<u@STRICT.example>" }, .headers = { { "Subject", "ham" } });

	run_txn(pol, &base);
	ck_assert_int_eq(base.verdict, MXP_CONTINUE);
	run_txn(pol, &strict);
	ck_assert_int_eq(strict.verdict, MXP_REJECT);
	mxp_policy_unref(pol);
}
END_TEST

START_TEST(test_zero_turns_bounds_off)
{
	struct mxp_policy *pol = fixture_policy(
		POLICY_HEAD
		"limits { max_recipients = 0 max_header_length = 0 max_message_size = 0 "
		"max_headers = 0 }\nmodule testmod { }\n");
	struct test_txn t = TXN(.rcpts = { "<a@x.example>", "<b@x.example>", "<c@x.example>" });

	run_txn(pol, &t);
	ck_assert_uint_eq(t.rcpts_accepted, 3);
	ck_assert_int_eq(t.verdict, MXP_CONTINUE);
	mxp_policy_unref(pol);
}
END_TEST

START_TEST(test_trusted_and_authenticated_skip_checks)
{
	struct mxp_policy *pol = fixture_policy(
		POLICY_HEAD
		"trusted_networks = {\"10.0.0.0/8\"}\nmodule testmod { reject_subject = "
		"\"x\" fail_at = connect }\n");
	struct test_txn t = TXN(.client_ip = "10.1.2.3", .headers = { { "Subject", "x" } });
	struct test_txn a = TXN(.client_ip = "192.0.2.9", .auth = "alice");

	run_txn(pol, &t);
	ck_assert_int_eq(t.verdict, MXP_CONTINUE);
	ck_assert_uint_eq(t.additions, 0);
	ck_assert_msg(strstr(t.summary, "hop=trusted") != NULL, "%s", t.summary);
	ck_assert_msg(strstr(t.summary, "checks=skipped:trusted_network") != NULL, "%s", t.summary);
	mxp_policy_unref(pol);

	pol = fixture_policy(POLICY_HEAD "module testmod { reject_subject = \"hello\" }\n");
	run_txn(pol, &a);
	ck_assert_int_eq(a.verdict, MXP_CONTINUE);
	ck_assert_msg(strstr(a.summary, "checks=skipped:authenticated") != NULL, "%s", a.summary);
	mxp_policy_unref(pol);
}
END_TEST

/* check_trusted / check_authenticated: the policy may have a module check them anyway */
START_TEST(test_policy_can_check_trusted_and_authenticated)
{
	struct mxp_policy *pol = fixture_policy(
		POLICY_HEAD "trusted_networks = {\"10.0.0.0/8\"}\n"
			    "module testmod { reject_subject = \"x\" check_trusted = true }\n");
	struct test_txn t = TXN(.client_ip = "10.1.2.3", .headers = { { "Subject", "x" } });
	struct test_txn a =
		TXN(.client_ip = "192.0.2.9", .auth = "alice", .headers = { { "Subject", "x" } });
	struct test_txn b =
		TXN(.client_ip = "10.1.2.3", .auth = "bob", .headers = { { "Subject", "x" } });

	run_txn(pol, &t);
	ck_assert_int_eq(t.verdict, MXP_REJECT);
	ck_assert_msg(strstr(t.summary, "hop=trusted") != NULL, "%s", t.summary);
	ck_assert_msg(strstr(t.summary, "skipped") == NULL, "%s", t.summary);
	/* Trusted is not authenticated: an AUTH client stays skipped. */
	run_txn(pol, &a);
	ck_assert_int_eq(a.verdict, MXP_CONTINUE);
	ck_assert_msg(strstr(a.summary, "checks=skipped:authenticated") != NULL, "%s", a.summary);
	mxp_policy_unref(pol);

	pol = fixture_policy(POLICY_HEAD "trusted_networks = {\"10.0.0.0/8\"}\n"
					 "module testmod { reject_subject = \"x\" "
					 "check_authenticated = true }\n");
	a = (struct test_txn)TXN(.client_ip = "192.0.2.9", .auth = "alice",
				 .headers = { { "Subject", "x" } });
	run_txn(pol, &a);
	ck_assert_int_eq(a.verdict, MXP_REJECT);
	/* Both conditions must allow it: trusted and authenticated stays skipped. */
	run_txn(pol, &b);
	ck_assert_int_eq(b.verdict, MXP_CONTINUE);
	ck_assert_msg(strstr(b.summary, "checks=skipped:trusted_network") != NULL, "%s", b.summary);
	mxp_policy_unref(pol);
}
END_TEST

START_TEST(test_relay_hop_is_classified)
{
	struct mxp_policy *pol = fixture_policy(POLICY_HEAD "module testmod { }\n");
	struct test_txn t = TXN(.client_ip = "127.0.0.3");

	run_txn(pol, &t);
	ck_assert_msg(strstr(t.summary, "hop=relay:mx2.example.com") != NULL, "%s", t.summary);
	ck_assert_msg(strstr(t.added[0], "hop=relay:mx2.example.com") != NULL, "%s", t.added[0]);
	mxp_policy_unref(pol);
}
END_TEST

START_TEST(test_session_pins_its_snapshot)
{
	struct mxp_policy *old =
		fixture_policy(POLICY_HEAD "module testmod { reject_subject = \"a\" }\n");
	struct mxp_policy *fresh;
	struct mxp_session *s;
	struct mxp_outcome out;
	const struct mxp_final *fin;

	mxp_policy_install(old);
	s = mxp_session_new(mxp_policy_acquire(), "c", "192.0.2.1", AF_INET);
	mxp_policy_unref((struct mxp_policy *)mxp_session_policy(s)); /* drop acquire's ref */
	mxp_session_mail(s, "<x@example.org>", NULL, &out);
	mxp_session_rcpt(s, "<alice@example.com>", &out);
	/* A reload in the middle of the message... */
	fresh = fixture_policy(POLICY_HEAD "module testmod { reject_subject = \"zzz\" }\n");
	mxp_policy_install(fresh);
	mxp_session_header(s, "Subject", "a", &out);
	mxp_session_eoh(s, &out);
	fin = mxp_session_eom(s);
	/* ...does not change what this message is judged by. */
	ck_assert_int_eq(fin->outcome.verdict, MXP_REJECT);
	mxp_session_free(s);
	/* A new connection gets the new policy. */
	s = mxp_session_new(mxp_policy_acquire(), "c", "192.0.2.1", AF_INET);
	mxp_policy_unref((struct mxp_policy *)mxp_session_policy(s));
	mxp_session_mail(s, "<x@example.org>", NULL, &out);
	mxp_session_rcpt(s, "<alice@example.com>", &out);
	mxp_session_header(s, "Subject", "a", &out);
	fin = mxp_session_eom(s);
	ck_assert_int_eq(fin->outcome.verdict, MXP_CONTINUE);
	mxp_session_free(s);
	mxp_policy_install(NULL);
}
END_TEST

Suite *
suite_pipeline(void)
{
	Suite *s = suite_create("pipeline");
	TCase *tc = tcase_create("verdicts");

	tcase_add_test(tc, test_clean_message_gets_header_and_token);
	tcase_add_test(tc, test_most_severe_verdict_wins);
	tcase_add_test(tc, test_on_error_is_never_a_silent_pass);
	tcase_add_test(tc, test_connection_level_reply);
	tcase_add_test(tc, test_noreply_stages_keep_their_verdict);
	tcase_add_test(tc, test_on_error_reject_and_accept);
	tcase_add_test(tc, test_header_removal_indexes);
	tcase_add_test(tc, test_input_bounds);
	tcase_add_test(tc, test_domain_override_applies_per_recipient_domain);
	tcase_add_test(tc, test_zero_turns_bounds_off);
	tcase_add_test(tc, test_trusted_and_authenticated_skip_checks);
	tcase_add_test(tc, test_policy_can_check_trusted_and_authenticated);
	tcase_add_test(tc, test_relay_hop_is_classified);
	tcase_add_test(tc, test_session_pins_its_snapshot);
	suite_add_tcase(s, tc);
	return s;
}
