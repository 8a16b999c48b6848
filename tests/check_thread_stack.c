/*
 * check_thread_stack.c - the daemon's threads get the stack size it sets.
 */
#define _GNU_SOURCE /* pthread_getattr_np */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "check_mxparity.h"
#include "thread_stack.h"

/* own_stack_size - run in a new thread: the size of its own stack */
static void *
own_stack_size(void *arg)
{
	pthread_attr_t attr;
	size_t *size = arg;

	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		pthread_attr_getstacksize(&attr, size);
		pthread_attr_destroy(&attr);
	}
	return NULL;
}

START_TEST(test_new_threads_get_the_size)
{
	char err[256] = "";
	size_t size = 0;
	pthread_t t;

	ck_assert_int_eq(mxp_thread_stack_set(MXP_THREAD_STACK_SIZE, err, sizeof(err)), 0);
	/* NULL attributes, the way libmilter starts its workers */
	ck_assert_int_eq(pthread_create(&t, NULL, own_stack_size, &size), 0);
	pthread_join(t, NULL);
	ck_assert_uint_eq(size, MXP_THREAD_STACK_SIZE);
}
END_TEST

START_TEST(test_too_small_is_refused_with_a_reason)
{
	char err[256] = "";

	ck_assert_int_eq(mxp_thread_stack_set(1, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "thread stack size to 1 bytes") != NULL, "%s", err);
}
END_TEST

Suite *
suite_thread_stack(void)
{
	Suite *s = suite_create("thread_stack");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_new_threads_get_the_size);
	tcase_add_test(tc, test_too_small_is_refused_with_a_reason);
	suite_add_tcase(s, tc);
	return s;
}
