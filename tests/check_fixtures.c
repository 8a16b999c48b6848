/*
 * check_fixtures.c - what every unit test binary shares: temporary files,
 * the build tree's module directories, policies, and the runner.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "check_mxparity.h"
#include "core/host.h"
#include "util/log.h"
#include "policy/modreg.h"

static char *fixture_root;

const char *
fixture_dir(void)
{
	if (fixture_root == NULL) {
		fixture_root = g_dir_make_tmp("mxparity-check-XXXXXX", NULL);
		ck_assert_ptr_nonnull(fixture_root);
	}
	return fixture_root;
}

char *
fixture_write(const char *name, const char *text)
{
	static char path[4][1024];
	static int slot;
	char *p = path[slot++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", fixture_dir(), name);
	ck_assert_msg(g_file_set_contents(p, text, -1, NULL), "cannot write %s", p);
	return p;
}

void
fixture_load_modules(void)
{
	const char *why = NULL;

	if (mxp_modreg_find("rcpt") != NULL)
		return;
	mxp_modreg_set_host(&mxp_host_api);
	ck_assert_msg(mxp_modreg_load_dir(CORE_MODULE_DIR, &why) == 0, "%s", why);
	ck_assert_msg(mxp_modreg_load_dir(TEST_MODULE_DIR, &why) == 0, "%s", why);
}

struct mxp_policy *
fixture_policy(const char *text)
{
	char err[1536];
	struct mxp_policy *pol = NULL;
	char *path;

	fixture_load_modules();
	path = fixture_write("policy.conf", text);
	ck_assert_msg(mxp_policy_load(path, "mx1.example.com", &pol, err, sizeof(err)) == 0,
		      "policy should load: %s", err);
	return pol;
}

const char *
fixture_policy_error(const char *text)
{
	static char err[1536];
	struct mxp_policy *pol = NULL;
	char *path;

	fixture_load_modules();
	path = fixture_write("policy.conf", text);
	ck_assert_msg(mxp_policy_load(path, "mx1.example.com", &pol, err, sizeof(err)) < 0,
		      "policy should have been refused");
	ck_assert_ptr_null(pol);
	return err;
}

/*
 * Read by AddressSanitizer's runtime when the tests are built with it
 * (./configure --enable-sanitizers); unused otherwise.  LeakSanitizer's
 * bookkeeping of dynamic TLS (modules loaded with dlopen) can mistake a
 * glibc 2.36 block for an old glibc layout and crash its own tracer at exit
 * (google/sanitizers#1322): it did here once one more test loaded modules,
 * after all 150 checks had passed.  Not tracking dynamic TLS is that issue's
 * workaround; leaks are still found from stacks, globals and static TLS.
 */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "intercept_tls_get_addr=0";
}

int
mxp_check_main(const char *name, Suite *(*const suites[])(void))
{
	SRunner *sr = srunner_create(suites[0]());
	int failed;

	mxp_log_open(name, false, false);
	for (size_t i = 1; suites[i] != NULL; i++)
		srunner_add_suite(sr, suites[i]());
	/* No fork: the module registry is loaded once per process. */
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (fixture_root != NULL) {
		char *cmd = g_strdup_printf("rm -rf '%s'", fixture_root);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", fixture_root);
		g_free(cmd);
	}
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
