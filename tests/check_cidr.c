/*
 * check_cidr.c - network parsing and matching.
 */
#include "config.h"

#include "check_mxparity.h"
#include "util/cidr.h"

START_TEST(test_cidr_parse_and_match)
{
	struct mxp_cidr net;
	const char *why;
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
}
END_TEST

START_TEST(test_cidr_rejects_bad_input)
{
	static const char *const bad[] = { "",		 "192.0.2.0/33",   "192.0.2.1/24",
					   "300.1.1.1",	 "2001:db8::/129", "10.0.0.0/",
					   "10.0.0.0/x", "host.example",   "10.0.0.0/8/8" };
	struct mxp_cidr net;
	const char *why;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(mxp_cidr_parse(bad[i], &net, &why) < 0, "%s was accepted", bad[i]);
}
END_TEST

Suite *
suite_cidr(void)
{
	Suite *s = suite_create("cidr");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_cidr_parse_and_match);
	tcase_add_test(tc, test_cidr_rejects_bad_input);
	suite_add_tcase(s, tc);
	return s;
}
