/*
 * check_main.c - the core's unit test suites, in one runner.  Each
 * module's suites have a runner of their own in its folder.
 */
#include "config.h"

#include <stddef.h>

#include "check_mxparity.h"

int
main(void)
{
	static Suite *(*const suites[])(void) = {
		suite_cidr,    suite_verdict,  suite_thread_stack, suite_policy, suite_digest,
		suite_modules, suite_pipeline, suite_received,	   suite_parity, suite_negotiate,
		NULL,
	};

	return mxp_check_main("check_mxparity", suites);
}
