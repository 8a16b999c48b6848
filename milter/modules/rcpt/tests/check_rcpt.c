/*
 * check_rcpt.c - the rcpt module, loaded from its shared object, through
 * the same pipeline the daemon uses.
 */
#include "config.h"

#include <string.h>

#include "check_mxparity.h"
#include "check_session.h"

static struct mxp_policy *
rcpt_policy(const char *extra)
{
	char *text;
	struct mxp_policy *pol;

	fixture_write("recipients",
		      "# valid users\nalice@example.com\nBob@Example.com  # mixed case\n"
		      "\n@example.net\npostmaster@lists.example.com\n");
	text = g_strdup_printf(POLICY_HEAD
			       "module rcpt {\n  recipients_file = \"recipients\"\n%s}\n"
			       "domain \"lists.example.com\" { module rcpt { on_unknown = "
			       "tempfail } }\n",
			       extra);
	pol = fixture_policy(text);
	g_free(text);
	return pol;
}

START_TEST(test_known_and_unknown)
{
	struct mxp_policy *pol = rcpt_policy("");
	struct test_txn t = { .rcpts = { "<alice@example.com>", "<BOB@example.COM>",
					 "<carol@example.com>", "<anyone@example.net>",
					 "<someone@elsewhere.org>" },
			      .headers = { { "Subject", "hi" } },
			      .body = "hello\r\n" };

	run_txn(pol, &t);
	ck_assert_int_eq(t.rcpt_out[0].verdict, MXP_CONTINUE);
	ck_assert_int_eq(t.rcpt_out[1].verdict, MXP_CONTINUE); /* case-insensitive */
	ck_assert_int_eq(t.rcpt_out[2].verdict, MXP_REJECT);
	ck_assert_str_eq(t.rcpt_out[2].rcode, "550");
	ck_assert_str_eq(t.rcpt_out[2].xcode, "5.1.1");
	ck_assert_msg(strstr(t.rcpt_out[2].text, "<carol@example.com>") != NULL, "%s",
		      t.rcpt_out[2].text);
	ck_assert_int_eq(t.rcpt_out[3].verdict, MXP_CONTINUE); /* @example.net wildcard */
	ck_assert_int_eq(t.rcpt_out[4].verdict, MXP_CONTINUE); /* not one of our domains */
	ck_assert_uint_eq(t.rcpts_accepted, 4);
	/* The message still goes to the valid recipients. */
	ck_assert_int_eq(t.verdict, MXP_CONTINUE);
	ck_assert_msg(strstr(t.summary, "rcpts=4 ") != NULL, "%s", t.summary);
	ck_assert_msg(strstr(t.summary, " rcpt=unknown:1 ") != NULL, "%s", t.summary);
	mxp_policy_unref(pol);
}
END_TEST

START_TEST(test_domain_override_and_delimiter)
{
	struct mxp_policy *pol = rcpt_policy("  recipient_delimiter = \"+\"\n");
	struct test_txn t = { .rcpts = { "<alice+news@example.com>", "<nobody@lists.example.com>",
					 "<alice-news@example.com>" },
			      .body = "x\r\n" };

	run_txn(pol, &t);
	ck_assert_int_eq(t.rcpt_out[0].verdict, MXP_CONTINUE);
	ck_assert_int_eq(t.rcpt_out[1].verdict, MXP_TEMPFAIL);
	ck_assert_str_eq(t.rcpt_out[1].rcode, "450");
	ck_assert_str_eq(t.rcpt_out[1].xcode, "4.1.1");
	ck_assert_int_eq(t.rcpt_out[2].verdict, MXP_REJECT);
	mxp_policy_unref(pol);
}
END_TEST

START_TEST(test_explicit_domains_and_accept)
{
	struct mxp_policy *pol =
		rcpt_policy("  domains = {\"example.com\"}\n  on_unknown = accept\n");
	struct test_txn t = { .rcpts = { "<carol@example.com>" }, .body = "x\r\n" };

	run_txn(pol, &t);
	ck_assert_int_eq(t.rcpt_out[0].verdict, MXP_CONTINUE);
	ck_assert_msg(strstr(t.summary, "rcpt=unknown:1") != NULL, "%s", t.summary);
	mxp_policy_unref(pol);
}
END_TEST

START_TEST(test_all_recipients_unknown)
{
	struct mxp_policy *pol = rcpt_policy("");
	struct test_txn t = { .rcpts = { "<x@example.com>", "<y@example.com>" } };

	run_txn(pol, &t);
	ck_assert_uint_eq(t.rcpts_accepted, 0);
	ck_assert_int_eq(t.rcpt_out[0].verdict, MXP_REJECT);
	ck_assert_int_eq(t.rcpt_out[1].verdict, MXP_REJECT);
	mxp_policy_unref(pol);
}
END_TEST

START_TEST(test_bad_list_entry_names_line)
{
	const char *err;

	fixture_write("recipients", "alice@example.com\n\nnot an address\n");
	err = fixture_policy_error(POLICY_HEAD
				   "module rcpt { recipients_file = \"recipients\" }\n");
	ck_assert_msg(strstr(err, "recipients:3: \"not an address\" is not an address") != NULL,
		      "%s", err);
}
END_TEST

static Suite *
suite_rcpt(void)
{
	Suite *s = suite_create("rcpt");
	TCase *tc = tcase_create("lookup");

	tcase_add_test(tc, test_known_and_unknown);
	tcase_add_test(tc, test_domain_override_and_delimiter);
	tcase_add_test(tc, test_explicit_domains_and_accept);
	tcase_add_test(tc, test_all_recipients_unknown);
	tcase_add_test(tc, test_bad_list_entry_names_line);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	static Suite *(*const suites[])(void) = { suite_rcpt, NULL };

	return mxp_check_main("check_rcpt", suites);
}
