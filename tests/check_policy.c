/*
 * check_policy.c - every class of policy error, each with its file and
 * line, and the pieces a valid policy is made of.
 */
#include "config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <string.h>

#include <glib.h>

#include "check_mxparity.h"
#include "policy/modcfg.h"

/* expect_error - text must be refused with policy.conf:LINE: and the words */
static void
expect_error(const char *text, int line, const char *words)
{
	const char *err = fixture_policy_error(text);
	char *where = g_strdup_printf("policy.conf:%d: ", line);

	ck_assert_msg(strstr(err, where) != NULL, "want %s in: %s", where, err);
	ck_assert_msg(strstr(err, words) != NULL, "want \"%s\" in: %s", words, err);
	g_free(where);
}

START_TEST(test_unknown_key)
{
	expect_error(POLICY_HEAD "# a comment\n// another\nbogus = 1\n", 8,
		     "no such option 'bogus'");
	expect_error(POLICY_HEAD "limits {\n  max_size = 1M\n}\n", 7, "no such option 'max_size'");
	expect_error(POLICY_HEAD "module rcpt {\n  recipients_file = \"/etc/hostname\"\n"
				 "  # the next line is wrong\n  bogus = 3\n}\n",
		     9, "bogus");
}
END_TEST

START_TEST(test_wrong_type)
{
	expect_error(POLICY_HEAD "counters_interval = \"ten\"\n", 6, "invalid integer");
	expect_error(POLICY_HEAD "limits { max_message_size = \"lots\" }\n", 6,
		     "size must be a number");
	expect_error(POLICY_HEAD "module testmod {\n  fail_at = sometimes\n}\n", 7,
		     "fail_at = sometimes: must be none, connect");
	expect_error(POLICY_HEAD "module testmod {\n  on_error = maybe\n}\n", 7,
		     "must be tempfail, reject or accept");
	expect_error(POLICY_HEAD "module testmod { max_body = 12Q }\n", 6, "max_body");
}
END_TEST

START_TEST(test_bad_cidr)
{
	expect_error(POLICY_HEAD "\n\ntrusted_networks = {\"127.0.0.1/8\"}\n", 8,
		     "bits set beyond the prefix");
	expect_error("version = \"x\"\nmx {\n  host \"mx1.example.com\" {\n    tier = primary\n"
		     "    addresses = {\"192.0.2.1/40\"}\n  }\n}\n",
		     5, "prefix length must be 0..32");
	expect_error(POLICY_HEAD "trusted_networks = {\"::1\", \"localhost\"}\n", 6,
		     "\"localhost\" is not a valid address");
}
END_TEST

START_TEST(test_duplicate_host)
{
	expect_error(
		"version = \"x\"\nmx {\n  host \"mx1.example.com\" { tier = primary addresses = "
		"{\"192.0.2.1\"} }\n  # again\n  host \"mx1.example.com\" { tier = backup "
		"addresses = {\"192.0.2.2\"} }\n}\n",
		5, "mx host \"mx1.example.com\" is listed twice");
	expect_error(
		"version = \"x\"\nmx {\n  host \"mx1.example.com\" { tier = primary addresses = "
		"{\"192.0.2.1\"} }\n  host \"MX1.example.com\" { tier = backup addresses = "
		"{\"192.0.2.2\"} }\n}\n",
		5, "listed twice");
}
END_TEST

START_TEST(test_own_host_missing)
{
	char *err = NULL;
	struct mxp_policy *pol = NULL;
	char *path = fixture_write("policy.conf", POLICY_HEAD);

	fixture_load_modules();
	ck_assert_int_lt(mxp_policy_load(path, "mx9.example.com", &pol, &err), 0);
	ck_assert_msg(
		strstr(err, "policy.conf:5: this host \"mx9.example.com\" is not in the mx map") !=
			NULL,
		"%s", err);
	g_free(err);
	err = NULL;
	/* -n names a host that is in the map: accepted, and that host is ours. */
	ck_assert_int_eq(mxp_policy_load(path, "MX2.example.com", &pol, &err), 0);
	ck_assert_ptr_null(err);
	ck_assert_str_eq(pol->self->name, "mx2.example.com");
	ck_assert_str_eq(pol->self->tier, "backup");
	mxp_policy_unref(pol);
}
END_TEST

START_TEST(test_other_errors)
{
	expect_error(
		"mx { host \"mx1.example.com\" { tier = primary addresses = {\"10.0.0.1\"} } }\n",
		1, "version is required");
	expect_error("version = \"x\"\nmx {\n  host \"mx1.example.com\" {\n    tier = middle\n"
		     "    addresses = {\"10.0.0.1\"}\n  }\n}\n",
		     4, "tier = middle: must be primary or backup");
	expect_error("version = \"x\"\nmx {\n  host \"mx1.example.com\" { addresses = "
		     "{\"10.0.0.1\"} }\n}\n",
		     3, "tier is required");
	expect_error(POLICY_HEAD "module nosuch {\n}\n", 7, "unknown module \"nosuch\"");
	/* With options too: the module is missing, not the option (av without its package). */
	expect_error(POLICY_HEAD "module nosuch {\n  database = \"/var/lib/clamav\"\n}\n", 7,
		     "unknown module \"nosuch\" (installed in ");
	expect_error(POLICY_HEAD
		     "domain \"example.org\" {\n  module rcpt { on_unknown = tempfail }\n}\n",
		     8, "module rcpt is not enabled at the top level");
	expect_error(POLICY_HEAD "domain \"bad domain\" { }\n", 6, "not a valid domain name");
	expect_error(POLICY_HEAD "module rcpt { recipients_file = \"nonexistent\" }\n", 6,
		     "no such file");
	expect_error(POLICY_HEAD "limits { max_recipients = -1 }\n", 6, "must not be negative");
	expect_error(POLICY_HEAD "version = \"unterminated\n", 6, "unterminated string");
	expect_error(POLICY_HEAD "\nlimits {\n  max_headers = 5\n", 7, "this { is never closed");
	expect_error("version = \"x\"\n# no map\n", 1, "the mx map lists no hosts");
	expect_error(POLICY_HEAD "module rcpt { recipients_file = \"/etc/hostname\" }\n"
				 "domain \"Example.com\" { }\n\ndomain \"example.COM\" { }\n",
		     9, "domain \"example.COM\" is listed twice");
	expect_error(POLICY_HEAD
		     "module rcpt { recipients_file = \"/etc/hostname\" }\n"
		     "domain \"example.com\" {\n  module rcpt { domains = {\"a.example\"} }\n}\n",
		     9, "option domains of module rcpt cannot be set per domain");
	expect_error(POLICY_HEAD
		     "module rcpt { recipients_file = \"/etc/hostname\" }\n"
		     "domain \"example.com\" {\n  module rcpt { on_error = accept }\n}\n",
		     9, "on_error of module rcpt cannot be set per domain");
	expect_error(POLICY_HEAD
		     "module rcpt { recipients_file = \"/etc/hostname\" }\n"
		     "domain \"example.com\" {\n  module rcpt { check_trusted = true }\n}\n",
		     9, "check_trusted of module rcpt cannot be set per domain");
	expect_error(POLICY_HEAD "module rcpt { recipients_file = \"/etc/hostname\"\n"
				 "check_authenticated = maybe }\n",
		     7, "invalid boolean value for option 'check_authenticated'");
}
END_TEST

START_TEST(test_include)
{
	struct mxp_policy *pol;
	const char *err;

	fixture_write("mx.inc", "mx {\n  host \"mx1.example.com\" { tier = primary addresses = "
				"{\"127.0.0.2\"} }\n}\n");
	pol = fixture_policy("version = \"inc\"\n# the map lives elsewhere\ninclude(\"mx.inc\")\n"
			     "trusted_networks = {\"10.0.0.0/8\"}\n");
	ck_assert_uint_eq(pol->nhosts, 1);
	ck_assert_uint_eq(pol->ntrusted, 1);
	mxp_policy_unref(pol);

	/* An error inside an included file names that file and its line. */
	fixture_write("bad.inc", "# first\n\nbogus = 2\n");
	err = fixture_policy_error(POLICY_HEAD "include(\"bad.inc\")\n");
	ck_assert_msg(strstr(err, "bad.inc:3: no such option 'bogus'") != NULL, "%s", err);
	err = fixture_policy_error(POLICY_HEAD "include(\"missing.inc\")\n");
	ck_assert_msg(strstr(err, "policy.conf:6: cannot include") != NULL, "%s", err);

	/* The same file twice is not a loop; a file that includes itself is. */
	fixture_write("limits.inc", "max_headers = 7\n");
	pol = fixture_policy(POLICY_HEAD "limits {\n include(\"limits.inc\")\n}\n"
					 "limits {\n include(\"limits.inc\")\n}\n");
	ck_assert_int_eq(pol->limits.max_headers, 7);
	mxp_policy_unref(pol);
	fixture_write("loop.inc", "# loops\ninclude(\"loop.inc\")\n");
	err = fixture_policy_error(POLICY_HEAD "include(\"loop.inc\")\n");
	ck_assert_msg(strstr(err, "loop.inc:2: ") != NULL && strstr(err, "includes itself") != NULL,
		      "%s", err);
}
END_TEST

/* The includes that used to hang or exhaust a reload: each is refused at once. */
START_TEST(test_include_bounds)
{
	const char *err;
	char *fifo, *big, *name;
	GString *text;

	/* /dev/zero never ends; a FIFO blocks until someone writes. */
	err = fixture_policy_error(POLICY_HEAD "include(\"/dev/zero\")\n");
	ck_assert_msg(strstr(err, "policy.conf:6: cannot include /dev/zero: not a regular file") !=
			      NULL,
		      "%s", err);
	fifo = g_build_filename(fixture_dir(), "a-fifo", NULL);
	unlink(fifo);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	err = fixture_policy_error(POLICY_HEAD "include(\"a-fifo\")\n");
	ck_assert_msg(strstr(err, "a-fifo: not a regular file") != NULL, "%s", err);
	/* A file larger than a policy file may be. */
	big = g_strnfill(1100 * 1024, '#');
	fixture_write("big.inc", big);
	err = fixture_policy_error(POLICY_HEAD "include(\"big.inc\")\n");
	ck_assert_msg(strstr(err, "big.inc: 1126400 bytes, more than a policy file may have") !=
			      NULL,
		      "%s", err);
	/* A NUL byte would end the text early, hiding what follows from the check. */
	name = g_build_filename(fixture_dir(), "nul.inc", NULL);
	ck_assert(g_file_set_contents(name, "# a\0b\n", 6, NULL));
	g_free(name);
	err = fixture_policy_error(POLICY_HEAD "include(\"nul.inc\")\n");
	ck_assert_msg(strstr(err, "nul.inc: holds a NUL byte") != NULL, "%s", err);
	/* A diamond 10 wide and 7 deep: ten million reads, unless they are bounded. */
	for (int level = 0; level < 7; level++) {
		text = g_string_new(NULL);
		for (int i = 0; i < 10; i++)
			g_string_append_printf(text, "include(\"d%d.inc\")\n", level + 1);
		name = g_strdup_printf("d%d.inc", level);
		fixture_write(name, text->str);
		g_free(name);
		g_string_free(text, TRUE);
	}
	fixture_write("d7.inc", "# the bottom\n");
	err = fixture_policy_error(POLICY_HEAD "include(\"d0.inc\")\n");
	ck_assert_msg(strstr(err, "includes expand to more than 256 files") != NULL, "%s", err);
	unlink(fifo);
	g_free(fifo);
	g_free(big);
}
END_TEST

START_TEST(test_parity_breaking_mistakes)
{
	struct mxp_policy *pol;

	/* A trusted network over a peer: its relays would skip every check. */
	expect_error(POLICY_HEAD "trusted_networks = {\"10.0.0.0/8\",\n  \"127.0.0.0/8\"}\n", 7,
		     "trusted_networks: 127.0.0.0/8 covers 127.0.0.2/32 of mx host "
		     "\"mx1.example.com\"");
	expect_error(POLICY_HEAD "trusted_networks = {\"127.0.0.3\"}\n", 6,
		     "set trusted_networks_cover_peers = true if that is meant");
	/* ... unless the policy says so. */
	pol = fixture_policy(POLICY_HEAD "trusted_networks = {\"127.0.0.3\"}\n"
					 "trusted_networks_cover_peers = true\n");
	ck_assert(pol->trusted_covers_peers);
	mxp_policy_unref(pol);
	/* Two hosts with one address, or overlapping networks: the first match would win. */
	expect_error("version = \"x\"\nmx {\n"
		     "  host \"mx1.example.com\" { tier = primary addresses = {\"192.0.2.10\"} }\n"
		     "  host \"mx2.example.com\" { tier = backup\n"
		     "    addresses = {\"198.51.100.1\",\n      \"192.0.2.10\"} }\n}\n",
		     6,
		     "mx host \"mx2.example.com\": address 192.0.2.10/32 overlaps 192.0.2.10/32 "
		     "of mx host \"mx1.example.com\" (");
	/* The other host's place as FILE:LINE, which may be in another file. */
	expect_error(
		"version = \"x\"\nmx {\n"
		"  host \"mx1.example.com\" { tier = primary addresses = {\"192.0.2.10\"} }\n"
		"  host \"mx2.example.com\" { tier = backup addresses = {\"192.0.2.10\"} }\n}\n",
		4, "policy.conf:3): a relay from one would be taken for the other");
	expect_error(
		"version = \"x\"\nmx {\n"
		"  host \"mx1.example.com\" { tier = primary addresses = {\"2001:db8::/64\"} }\n"
		"  host \"mx2.example.com\" { tier = backup addresses = {\"2001:db8::20\"} }\n}\n",
		4, "overlaps 2001:db8::/64 of mx host \"mx1.example.com\"");
	/* A quote left open is reported where it opened, not at the next quote. */
	expect_error(POLICY_HEAD "module rcpt { recipients_file = \"recipients }\n"
				 "trusted_networks = {\"10.0.0.1\"}\n",
		     6, "unterminated string: the \" opened here is not closed on this line");
}
END_TEST

/* load_as - text as host own, or the load's error (static) */
static struct mxp_policy *
load_as(const char *text, const char *own, const char **error_r)
{
	static char error[1024];
	struct mxp_policy *pol = NULL;
	char *err = NULL;

	fixture_load_modules();
	if (mxp_policy_load(fixture_write("policy.conf", text), own, &pol, &err) != 0) {
		snprintf(error, sizeof(error), "%s", err);
		g_free(err);
		*error_r = error;
		return NULL;
	}
	*error_r = NULL;
	return pol;
}

/*
 * Host-local options: each host gets its own value from a host "NAME"
 * section of the one shared file, and the digest is the same on every host.
 */
START_TEST(test_host_local_options)
{
	static const char text[] =
		POLICY_HEAD "module testmod { reject_subject = \"spam\" }\n"
			    "host \"MX1.example.com\" { module testmod { worker = \"pool-a\" } }\n";
	struct mxp_policy *mx1, *mx2, *plain;
	const char *err;

	mx1 = load_as(text, "mx1.example.com", &err);
	ck_assert_msg(mx1 != NULL, "%s", err);
	mx2 = load_as(text, "mx2.example.com", &err);
	ck_assert_msg(mx2 != NULL, "%s", err);
	plain = load_as(POLICY_HEAD "module testmod { reject_subject = \"spam\" }\n",
			"mx1.example.com", &err);
	ck_assert_msg(plain != NULL, "%s", err);
	ck_assert_str_eq(mxp_cfg_string(mx1->modules[0].cfg, "worker"), "pool-a");
	ck_assert_str_eq(mxp_cfg_string(mx2->modules[0].cfg, "worker"), "local");
	ck_assert_str_eq(mxp_cfg_string(mx1->modules[0].cfg, "reject_subject"), "spam");
	/* where each host works is not part of what the tiers compare */
	ck_assert_str_eq(mx1->digest, mx2->digest);
	ck_assert_str_eq(mx1->digest, plain->digest);
	mxp_policy_unref(mx1);
	mxp_policy_unref(mx2);
	mxp_policy_unref(plain);

	/* only host-local options, only hosts of the map, only enabled modules */
	err = fixture_policy_error(POLICY_HEAD "module testmod { }\n"
					       "host \"mx2.example.com\" { module testmod {\n"
					       "  reject_subject = \"x\" } }\n");
	ck_assert_msg(strstr(err, "option reject_subject of module testmod cannot be set per "
				  "host") != NULL,
		      "%s", err);
	err = fixture_policy_error(POLICY_HEAD "module testmod { }\n"
					       "host \"mx2.example.com\" { module testmod {\n"
					       "  on_error = accept } }\n");
	ck_assert_msg(strstr(err, "on_error of module testmod cannot be set per host") != NULL,
		      "%s", err);
	err = fixture_policy_error(POLICY_HEAD "module testmod { }\n"
					       "host \"mx9.example.com\" { module testmod { } }\n");
	ck_assert_msg(strstr(err, "host \"mx9.example.com\": not a host of the mx map") != NULL,
		      "%s", err);
	err = fixture_policy_error(POLICY_HEAD "module rcpt { }\n"
					       "host \"mx1.example.com\" { module testmod { } }\n");
	ck_assert_msg(strstr(err, "module testmod is not enabled at the top level") != NULL, "%s",
		      err);
	err = fixture_policy_error(POLICY_HEAD "module testmod { }\n"
					       "host \"mx1.example.com\" { }\n"
					       "host \"MX1.example.com\" { }\n");
	ck_assert_msg(strstr(err, "is listed twice") != NULL, "%s", err);
}
END_TEST

START_TEST(test_values_and_defaults)
{
	struct mxp_policy *pol = fixture_policy(
		POLICY_HEAD
		"trusted_networks = {\"10.0.0.0/8\", \"::1\"}\n"
		"limits { max_message_size = 2M }\n"
		"module testmod { reject_subject = \"spam\" on_error = accept }\n"
		"domain \"Example.ORG\" { module testmod { reject_subject = \"ham\" } }\n");
	const struct mxp_config *cfg;

	ck_assert_str_eq(pol->version, "t1");
	ck_assert_int_eq(pol->limits.max_message_size, 2 * 1024 * 1024);
	ck_assert_int_eq(pol->limits.max_recipients, 1000);
	ck_assert_int_eq(pol->counters_interval, 10);
	ck_assert_uint_eq(pol->nmodules, 1);
	ck_assert_int_eq(pol->modules[0].on_error, MXP_CONTINUE);
	cfg = pol->modules[0].cfg;
	ck_assert_str_eq(mxp_cfg_string(cfg, "reject_subject"), "spam");
	ck_assert_str_eq(mxp_cfg_string(cfg, "stamp_header"), "X-Test-Module"); /* default */
	ck_assert_str_eq(mxp_cfg_string(mxp_cfg_for_domain(cfg, "example.org"), "reject_subject"),
			 "ham");
	/* An override falls back to the base for what it does not set. */
	ck_assert_str_eq(mxp_cfg_string(mxp_cfg_for_domain(cfg, "EXAMPLE.org"), "stamp_header"),
			 "X-Test-Module");
	ck_assert_str_eq(mxp_cfg_string(mxp_cfg_for_domain(cfg, "other.org"), "reject_subject"),
			 "spam");
	ck_assert_ptr_nonnull(mxp_policy_peer_by_addr(pol, "127.0.0.3"));
	ck_assert_ptr_null(mxp_policy_peer_by_addr(pol, "127.0.0.2")); /* ourselves */
	mxp_policy_unref(pol);
}
END_TEST

Suite *
suite_policy(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("errors");

	tcase_add_test(tc, test_unknown_key);
	tcase_add_test(tc, test_wrong_type);
	tcase_add_test(tc, test_bad_cidr);
	tcase_add_test(tc, test_duplicate_host);
	tcase_add_test(tc, test_own_host_missing);
	tcase_add_test(tc, test_other_errors);
	tcase_add_test(tc, test_include);
	tcase_add_test(tc, test_include_bounds);
	tcase_add_test(tc, test_parity_breaking_mistakes);
	tcase_add_test(tc, test_values_and_defaults);
	tcase_add_test(tc, test_host_local_options);
	suite_add_tcase(s, tc);
	return s;
}
