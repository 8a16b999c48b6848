/*
 * check_mxparity.h - the core's unit test suites, and the fixtures and
 * runner every unit test binary shares (tests/check_fixtures.c).
 */
#ifndef CHECK_MXPARITY_H
#define CHECK_MXPARITY_H

#include <check.h>

#include "policy/policy.h"

Suite *suite_cidr(void);
Suite *suite_verdict(void);
Suite *suite_thread_stack(void);
Suite *suite_policy(void);
Suite *suite_digest(void);
Suite *suite_modules(void);
Suite *suite_pipeline(void);
Suite *suite_received(void);
Suite *suite_parity(void);
Suite *suite_negotiate(void);

/* mxp_check_main - run suites (NULL-terminated) in one process; the exit status */
int mxp_check_main(const char *name, Suite *(*const suites[])(void));

/* fixture_dir - a fresh private directory for this test's files */
const char *fixture_dir(void);
/* fixture_write - write text to DIR/name, return the path (static buffer per call) */
char *fixture_write(const char *name, const char *text);
/* fixture_load_modules - the build tree's module directories */
void fixture_load_modules(void);
/* fixture_policy - load text as a policy for host mx1.example.com; fails the test on error */
struct mxp_policy *fixture_policy(const char *text);
/* fixture_policy_error - load text, expect failure, return the error (static) */
const char *fixture_policy_error(const char *text);

/* A minimal valid head: version and a two-host map. */
#define POLICY_HEAD                                                                                \
	"version = \"t1\"\n"                                                                       \
	"mx {\n"                                                                                   \
	"  host \"mx1.example.com\" { tier = primary addresses = {\"127.0.0.2\"} }\n"              \
	"  host \"mx2.example.com\" { tier = backup addresses = {\"127.0.0.3\"} }\n"               \
	"}\n"

#endif
