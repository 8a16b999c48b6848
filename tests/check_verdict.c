/*
 * check_verdict.c - verdict names and the severity merge.
 */
#include "config.h"

#include "check_mxparity.h"
#include "util/verdict.h"

START_TEST(test_merge_keeps_most_severe)
{
	static const enum mxp_verdict order[] = { MXP_CONTINUE,	  MXP_ACCEPT,	MXP_TAG,
						  MXP_QUARANTINE, MXP_TEMPFAIL, MXP_REJECT,
						  MXP_DISCARD };
	size_t n = sizeof(order) / sizeof(order[0]);

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			enum mxp_verdict want = order[i > j ? i : j];
			ck_assert_int_eq(mxp_verdict_merge(order[i], order[j]), want);
		}
	}
}
END_TEST

START_TEST(test_error_never_passes)
{
	ck_assert_int_eq(mxp_verdict_merge(MXP_ERROR, MXP_CONTINUE), MXP_TEMPFAIL);
	ck_assert_int_eq(mxp_verdict_merge(MXP_ACCEPT, MXP_ERROR), MXP_TEMPFAIL);
	ck_assert_int_eq(mxp_verdict_merge(MXP_ERROR, MXP_REJECT), MXP_REJECT);
}
END_TEST

START_TEST(test_names_round_trip)
{
	for (int v = MXP_CONTINUE; v <= MXP_DISCARD; v++) {
		enum mxp_verdict back;
		ck_assert_int_eq(mxp_verdict_parse(mxp_verdict_name((enum mxp_verdict)v), &back),
				 0);
		ck_assert_int_eq(back, v);
	}
	ck_assert_str_eq(mxp_verdict_name(MXP_QUARANTINE), "quarantine");
	ck_assert_int_lt(mxp_verdict_parse("bogus", &(enum mxp_verdict){ 0 }), 0);
}
END_TEST

Suite *
suite_verdict(void)
{
	Suite *s = suite_create("verdict");
	TCase *tc = tcase_create("merge");

	tcase_add_test(tc, test_merge_keeps_most_severe);
	tcase_add_test(tc, test_error_never_passes);
	tcase_add_test(tc, test_names_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
