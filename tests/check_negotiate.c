/*
 * check_negotiate.c - the milter option negotiation, for the offers that
 * real MTAs make.  The offered steps are given as libmilter hands them to
 * xxfi_negotiate: the MTA's own, plus the no-reply steps libmilter answers
 * itself when the MTA has none (engine.c, st_optionneg).
 */
#include "config.h"

#include <string.h>

#include <libmilter/mfapi.h>

#include "check_mxparity.h"
#include "daemon/negotiate.h"

/* What libmilter adds to every offer (it fakes these for an older MTA). */
#define LIBMILTER_FAKED                                                                            \
	(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_DATA |           \
	 SMFIP_NR_UNKN | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)
#define NEEDED (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE)
#define NOREPLY (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)

static bool
run(unsigned long actions, unsigned long steps, struct mxp_negotiation *neg, char *why)
{
	why[0] = '\0';
	return mxp_negotiate(actions, steps | LIBMILTER_FAKED, neg, why, 256);
}

/* sendmail 8.17 and Postfix 3.x (milter_protocol = 6) offer the same: everything */
START_TEST(test_protocol_6_everything)
{
	struct mxp_negotiation neg;
	char why[256];

	ck_assert(run(0x1ff, 0x1fffff, &neg, why));
	ck_assert_uint_eq(neg.actions, NEEDED | SMFIF_SETSYMLIST);
	ck_assert_uint_eq(neg.steps, NOREPLY);
	ck_assert(neg.ask_macros);
	/* never an action that edits the envelope or the body */
	ck_assert_uint_eq(neg.actions & (SMFIF_ADDRCPT | SMFIF_DELRCPT | SMFIF_CHGBODY |
					 SMFIF_CHGFROM | SMFIF_ADDRCPT_PAR),
			  0);
}
END_TEST

/*
 * Protocol version 2 (sendmail 8.13, Postfix 2.3 to 2.5, Postfix with
 * milter_protocol = 2): version-2 actions, no no-reply steps and no macro
 * requests.  Still served: libmilter replies "continue" at the silent
 * stages, and the MTA's own macro lists must do.
 */
START_TEST(test_protocol_2_served_without_macro_requests)
{
	struct mxp_negotiation neg;
	char why[256];

	ck_assert(run(0x3f, 0x7f, &neg, why));
	ck_assert_uint_eq(neg.actions, NEEDED);
	ck_assert_uint_eq(neg.steps, NOREPLY);
	ck_assert(!neg.ask_macros);
}
END_TEST

/* Protocol version 6 with an MTA that does not take macro requests */
START_TEST(test_no_setsymlist)
{
	struct mxp_negotiation neg;
	char why[256];

	ck_assert(run(0x1ff & ~(unsigned long)SMFIF_SETSYMLIST, 0x1fffff, &neg, why));
	ck_assert_uint_eq(neg.actions, NEEDED);
	ck_assert(!neg.ask_macros);
}
END_TEST

/* Version-1 actions (no header changes, no quarantine): refused, saying what is missing */
START_TEST(test_version_1_actions_refused)
{
	struct mxp_negotiation neg;
	char why[256];

	ck_assert(!run(0x0f, 0x3f, &neg, why));
	ck_assert_ptr_nonnull(strstr(why, "offers milter actions 0xf"));
	ck_assert_ptr_nonnull(strstr(why, "without 0x30"));
	ck_assert_uint_eq(neg.actions, 0);
}
END_TEST

/* No quarantine (an MTA that cannot hold mail): refused, never quarantine dropped silently */
START_TEST(test_no_quarantine_refused)
{
	struct mxp_negotiation neg;
	char why[256];

	ck_assert(!run(0x1ff & ~(unsigned long)SMFIF_QUARANTINE, 0x1fffff, &neg, why));
	ck_assert_ptr_nonnull(strstr(why, "without 0x20"));
}
END_TEST

/* A peer that is not libmilter's own MTA side, offering no no-reply steps at all */
START_TEST(test_no_noreply_steps_refused)
{
	struct mxp_negotiation neg;
	char why[256];

	ck_assert(!mxp_negotiate(0x1ff, 0x7f, &neg, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "no-reply steps"));
}
END_TEST

/* A reason that does not fit is cut, never overrun */
START_TEST(test_short_reason_buffer)
{
	struct mxp_negotiation neg;
	char why[8];

	memset(why, 'x', sizeof(why));
	ck_assert(!mxp_negotiate(0, 0, &neg, why, sizeof(why)));
	ck_assert_uint_eq(strlen(why), sizeof(why) - 1);
}
END_TEST

Suite *
suite_negotiate(void)
{
	Suite *s = suite_create("negotiate");
	TCase *tc = tcase_create("offers");

	tcase_add_test(tc, test_protocol_6_everything);
	tcase_add_test(tc, test_protocol_2_served_without_macro_requests);
	tcase_add_test(tc, test_no_setsymlist);
	tcase_add_test(tc, test_version_1_actions_refused);
	tcase_add_test(tc, test_no_quarantine_refused);
	tcase_add_test(tc, test_no_noreply_steps_refused);
	tcase_add_test(tc, test_short_reason_buffer);
	suite_add_tcase(s, tc);
	return s;
}
