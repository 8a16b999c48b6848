/*
 * check_modules.c - loading modules by name, and refusing bad ones.
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "check_mxparity.h"
#include "policy/modreg.h"

START_TEST(test_modules_load_from_directories)
{
	const struct mxp_modreg_entry *e;

	fixture_load_modules();
	e = mxp_modreg_find("rcpt");
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_nonnull(e->mod);
	ck_assert_str_eq(e->mod->name, "rcpt");
	/* The third-party module, built against the public header only. */
	e = mxp_modreg_find("testmod");
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_nonnull(e->mod);
	ck_assert_uint_eq(e->mod->abi_major, MXP_MODULE_ABI_MAJOR);
	ck_assert_uint_le(e->mod->abi_minor, MXP_MODULE_ABI_MINOR);
}
END_TEST

START_TEST(test_abi_mismatch_is_refused)
{
	const struct mxp_modreg_entry *e;
	const char *err;

	fixture_load_modules();
	e = mxp_modreg_find("badabi");
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_null(e->mod);
	ck_assert_msg(strstr(e->error, "module built for ABI 5, this mxparity has ABI 4.2: "
				       "rebuild it") != NULL,
		      "%s", e->error);
	/* A module of the previous major (ABI 3, whose first member was its abi). */
	e = mxp_modreg_find("oldabi");
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_null(e->mod);
	ck_assert_msg(strstr(e->error, "module built for ABI 3, this mxparity has ABI 4.2") != NULL,
		      "%s", e->error);
	/* A minor newer than ours may call services this daemon lacks. */
	e = mxp_modreg_find("newminor");
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_null(e->mod);
	ck_assert_msg(strstr(e->error,
			     "module built for ABI 4.3, newer than this mxparity's 4.2") != NULL,
		      "%s", e->error);
	/* A policy that asks for it says why, at the line of the section. */
	err = fixture_policy_error(POLICY_HEAD "module badabi {\n}\n");
	ck_assert_msg(strstr(err, "policy.conf:7: module \"badabi\" cannot be used") != NULL, "%s",
		      err);
	ck_assert_msg(strstr(err, "ABI") != NULL, "%s", err);
}
END_TEST

/* refused - 1 when the loader refuses m, with a reason; 0 when it takes it */
static int
refused(const struct mxp_module *m, const char *name)
{
	char *why = NULL;
	int rc = mxp_modreg_check(m, name, &why);

	ck_assert_msg((rc < 0) == (why != NULL && why[0] != '\0'), "rc %d, reason '%s'", rc,
		      why ? why : "(none)");
	g_free(why);
	return rc < 0 ? 1 : 0;
}

START_TEST(test_structural_checks)
{
	struct mxp_module m = { MXP_MODULE_ABI_VERSION, .name = "x" };
	static const struct mxp_option owns_on_error[] = {
		{ .name = "on_error", .type = MXP_OPT_STRING }, { .name = NULL }
	};
	static const struct mxp_option no_choices[] = { { .name = "mode", .type = MXP_OPT_CHOICE },
							{ .name = NULL } };

	fixture_load_modules();
	ck_assert_int_eq(refused(&m, NULL), 1); /* no init/destroy */
	m.init = mxp_modreg_find("testmod") ? mxp_modreg_find("testmod")->mod->init : NULL;
	m.destroy = mxp_modreg_find("testmod") ? mxp_modreg_find("testmod")->mod->destroy : NULL;
	ck_assert_int_eq(refused(&m, NULL), 0);
	ck_assert_int_eq(refused(&m, "y"), 1); /* file name differs */
	/* An older minor loads: the core reads only what that minor had. */
	m.abi_minor = 0;
	ck_assert_int_eq(refused(&m, NULL), 0);
	m.abi_minor = MXP_MODULE_ABI_MINOR + 1;
	ck_assert_int_eq(refused(&m, NULL), 1);
	m.abi_minor = MXP_MODULE_ABI_MINOR;
	/* A name is a finding key too. */
	m.name = "Bad Name";
	ck_assert_int_eq(refused(&m, NULL), 1);
	m.name = "x";
	m.options = owns_on_error;
	ck_assert_int_eq(refused(&m, NULL), 1);
	m.options = no_choices;
	ck_assert_int_eq(refused(&m, NULL), 1);
}
END_TEST

START_TEST(test_missing_directory)
{
	char *why = NULL;

	ck_assert_int_lt(mxp_modreg_load_dir("/nonexistent/mxparity", &why), 0);
	ck_assert_msg(strstr(why, "/nonexistent/mxparity") != NULL, "%s", why);
	g_free(why);
}
END_TEST

Suite *
suite_modules(void)
{
	Suite *s = suite_create("modules");
	TCase *tc = tcase_create("loading");

	tcase_add_test(tc, test_modules_load_from_directories);
	tcase_add_test(tc, test_abi_mismatch_is_refused);
	tcase_add_test(tc, test_structural_checks);
	tcase_add_test(tc, test_missing_directory);
	suite_add_tcase(s, tc);
	return s;
}
