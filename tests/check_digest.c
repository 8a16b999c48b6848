/*
 * check_digest.c - the policy digest changes with meaning and only with
 * meaning: comments, layout, order of sets and defaults spelt out do not.
 */
#include "config.h"

#include <string.h>

#include "check_mxparity.h"

/* digest_of - hex digest of a policy text */
static char *
digest_of(const char *text)
{
	static char out[8][65];
	static int slot;
	struct mxp_policy *pol = fixture_policy(text);
	char *d = out[slot++ % 8];

	memcpy(d, pol->digest, 65);
	mxp_policy_unref(pol);
	return d;
}

#define BASE                                                                                       \
	"version = \"d1\"\n"                                                                       \
	"mx {\n"                                                                                   \
	"  host \"mx1.example.com\" { tier = primary addresses = {\"127.0.0.2\", \"::2\"} }\n"     \
	"  host \"mx2.example.com\" { tier = backup addresses = {\"127.0.0.3\"} }\n"               \
	"}\n"                                                                                      \
	"trusted_networks = {\"10.0.0.0/8\", \"192.168.0.0/16\"}\n"                                \
	"module rcpt { recipients_file = \"rcpts\" on_unknown = reject }\n"

START_TEST(test_layout_does_not_change_digest)
{
	const char *base, *other;

	fixture_write("rcpts", "alice@example.com\n@example.net\n");
	base = digest_of(BASE);
	/* Comments, whitespace, line breaks, host order, set order, explicit defaults. */
	other = digest_of(
		"# a comment\nversion=\"d1\"   // trailing\n/* block\ncomment */\n"
		"trusted_networks = { \"192.168.0.0/16\",\n\t\"10.0.0.0/8\" }\n"
		"mx {\n  host \"mx2.example.com\" {\n tier = backup\n addresses = "
		"{\"127.0.0.3/32\"} }\n"
		"  host \"MX1.example.com\" { addresses = {\"::2\", \"127.0.0.2\"} tier = "
		"primary }\n}\n"
		"counters_interval = 10\nlimits { max_recipients = 1000 max_message_size = 50M }\n"
		"module rcpt {\n  on_unknown = reject\n  on_error = tempfail\n"
		"  recipients_file = \"rcpts\"\n}\n");
	ck_assert_str_eq(base, other);
	ck_assert_uint_eq(strlen(base), 64);
}
END_TEST

START_TEST(test_meaning_changes_digest)
{
	const char *base;

	fixture_write("rcpts", "alice@example.com\n@example.net\n");
	base = digest_of(BASE);
	ck_assert_str_ne(base, digest_of(BASE "counters_interval = 5\n"));
	ck_assert_str_ne(base, digest_of(BASE "limits { max_recipients = 50 }\n"));
	ck_assert_str_ne(base, digest_of(BASE "domain \"example.com\" { module rcpt { on_unknown "
					      "= tempfail } }\n"));
	ck_assert_str_ne(base, digest_of(BASE "module testmod { }\n"));
	/* Same words, other file contents: the data file is part of the policy. */
	fixture_write("rcpts", "alice@example.com\n@example.net\nbob@example.com\n");
	ck_assert_str_ne(base, digest_of(BASE));
	fixture_write("rcpts", "alice@example.com\n@example.net\n");
	ck_assert_str_eq(base, digest_of(BASE));
}
END_TEST

START_TEST(test_digest_is_host_independent)
{
	struct mxp_policy *a, *b;
	char *path;

	fixture_write("rcpts", "alice@example.com\n");
	path = fixture_write("policy.conf", BASE);
	ck_assert_int_eq(mxp_policy_load(path, "mx1.example.com", &a, NULL), 0);
	ck_assert_int_eq(mxp_policy_load(path, "mx2.example.com", &b, NULL), 0);
	ck_assert_str_eq(a->digest, b->digest);
	mxp_policy_unref(a);
	mxp_policy_unref(b);
}
END_TEST

Suite *
suite_digest(void)
{
	Suite *s = suite_create("digest");
	TCase *tc = tcase_create("stability");

	tcase_add_test(tc, test_layout_does_not_change_digest);
	tcase_add_test(tc, test_meaning_changes_digest);
	tcase_add_test(tc, test_digest_is_host_independent);
	suite_add_tcase(s, tc);
	return s;
}
