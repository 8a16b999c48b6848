/*
 * check_cidr.c - network parsing and matching, and the resolver addresses
 * a policy names.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "check_mxparity.h"
#include "util/cidr.h"
#include "util/resolver_addr.h"

START_TEST(test_cidr_parse_and_match)
{
	struct mxp_cidr net;
	char *why = NULL;
	char buf[64];

	ck_assert_int_eq(mxp_cidr_parse("192.0.2.0/24", &net, &why), 0);
	ck_assert(mxp_cidr_match(&net, "192.0.2.77"));
	ck_assert(!mxp_cidr_match(&net, "192.0.3.1"));
	ck_assert(mxp_cidr_match(&net, "::ffff:192.0.2.9")); /* IPv4-mapped client */
	ck_assert(!mxp_cidr_match(&net, "2001:db8::1"));
	mxp_cidr_format(&net, buf, sizeof(buf));
	ck_assert_str_eq(buf, "192.0.2.0/24");

	ck_assert_int_eq(mxp_cidr_parse("2001:db8::/32", &net, &why), 0);
	ck_assert(mxp_cidr_match(&net, "2001:db8:ffff::1"));
	ck_assert(!mxp_cidr_match(&net, "2001:db9::1"));

	ck_assert_int_eq(mxp_cidr_parse("10.1.2.3", &net, &why), 0);
	ck_assert_uint_eq(net.prefix, 32);
	ck_assert_int_eq(mxp_cidr_parse("0.0.0.0/0", &net, &why), 0);
	ck_assert(mxp_cidr_match(&net, "203.0.113.5"));
	ck_assert_ptr_null(why); /* set only on failure */
}
END_TEST

/* overlaps - parse both and ask */
static bool
overlaps(const char *a, const char *b)
{
	struct mxp_cidr na, nb;

	ck_assert_int_eq(mxp_cidr_parse(a, &na, NULL), 0);
	ck_assert_int_eq(mxp_cidr_parse(b, &nb, NULL), 0);
	ck_assert(mxp_cidr_overlap(&na, &nb) == mxp_cidr_overlap(&nb, &na));
	return mxp_cidr_overlap(&na, &nb);
}

START_TEST(test_cidr_overlap)
{
	ck_assert(overlaps("192.0.2.10", "192.0.2.10"));
	ck_assert(overlaps("192.0.2.0/24", "192.0.2.10"));
	ck_assert(overlaps("192.0.0.0/16", "192.0.2.0/24"));
	ck_assert(overlaps("0.0.0.0/0", "198.51.100.7"));
	ck_assert(overlaps("192.0.2.8/29", "192.0.2.15"));
	ck_assert(!overlaps("192.0.2.8/29", "192.0.2.16"));
	ck_assert(!overlaps("192.0.2.0/25", "192.0.2.128/25"));
	ck_assert(!overlaps("192.0.2.10", "192.0.2.11"));
	ck_assert(overlaps("2001:db8::/32", "2001:db8:1::10"));
	ck_assert(!overlaps("2001:db8::/32", "2001:db9::10"));
	ck_assert(!overlaps("::/0", "192.0.2.10")); /* families never overlap */
}
END_TEST

/* resolver - what mxp_resolver_addr_parse makes of text, or "ERR: why" */
static const char *
resolver(const char *text)
{
	static char out[256];
	char *why = NULL;

	if (mxp_resolver_addr_parse(text, out, sizeof(out), &why) < 0) {
		snprintf(out, sizeof(out), "ERR: %s", why);
		g_free(why);
	}
	return out;
}

START_TEST(test_resolver_addresses)
{
	ck_assert_str_eq(resolver("system"), "system");
	ck_assert_str_eq(resolver("127.0.0.1"), "127.0.0.1@53");
	ck_assert_str_eq(resolver("127.0.0.1:5353"), "127.0.0.1@5353");
	ck_assert_str_eq(resolver("::1"), "::1@53");
	ck_assert_str_eq(resolver("2001:db8::53"), "2001:db8::53@53");
	ck_assert_str_eq(resolver("[::1]:5353"), "::1@5353");
	ck_assert_str_eq(resolver("127.0.0.1:99999"), "ERR: port 99999 is not between 1 and 65535");
	ck_assert_str_eq(resolver("127.0.0.1:0"), "ERR: port 0 is not between 1 and 65535");
	ck_assert_str_eq(resolver("127.0.0.1:"), "ERR: port \"\" is not a number");
	ck_assert_str_eq(resolver("127.0.0.1:53x"), "ERR: port 53x is not between 1 and 65535");
	ck_assert(strncmp(resolver("dns.example.com"), "ERR: \"dns.example.com\" is not an IPv4",
			  35) == 0);
	ck_assert(strncmp(resolver("300.0.0.1"), "ERR: ", 5) == 0);
	ck_assert(strncmp(resolver("[::1"), "ERR: want [IPv6]:PORT", 21) == 0);
	ck_assert(strncmp(resolver("[::1]x"), "ERR: want [IPv6]:PORT", 21) == 0);
	ck_assert(strncmp(resolver(""), "ERR: ", 5) == 0);
}
END_TEST

START_TEST(test_cidr_rejects_bad_input)
{
	static const char *const bad[] = { "",		 "192.0.2.0/33",   "192.0.2.1/24",
					   "300.1.1.1",	 "2001:db8::/129", "10.0.0.0/",
					   "10.0.0.0/x", "host.example",   "10.0.0.0/8/8" };
	struct mxp_cidr net;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *why = NULL;

		ck_assert_msg(mxp_cidr_parse(bad[i], &net, &why) < 0, "%s was accepted", bad[i]);
		ck_assert_msg(why != NULL && why[0] != '\0', "%s: no reason", bad[i]);
		g_free(why);
	}
}
END_TEST

Suite *
suite_cidr(void)
{
	Suite *s = suite_create("cidr");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_cidr_parse_and_match);
	tcase_add_test(tc, test_cidr_overlap);
	tcase_add_test(tc, test_cidr_rejects_bad_input);
	tcase_add_test(tc, test_resolver_addresses);
	suite_add_tcase(s, tc);
	return s;
}
