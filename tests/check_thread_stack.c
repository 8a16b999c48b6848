/*
 * check_thread_stack.c - the daemon's threads get the stack size it sets.
 */
#define _GNU_SOURCE /* pthread_getattr_np */
#include "config.h"

#include <pthread.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_mxparity.h"
#include "util/thread_stack.h"

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

/* in_child - set the size and start a thread; exit 0 when it got that size */
static void __attribute__((noreturn)) in_child(void)
{
	char err[256] = "";
	size_t size = 0;
	pthread_t t;

	if (mxp_thread_stack_set(MXP_THREAD_STACK_SIZE, err, sizeof(err)) < 0)
		_exit(2);
	/* NULL attributes, the way libmilter starts its workers */
	if (pthread_create(&t, NULL, own_stack_size, &size) != 0)
		_exit(3);
	pthread_join(t, NULL);
	_exit(size == MXP_THREAD_STACK_SIZE ? 0 : 1);
}

/*
 * The setting is process-wide and the suites share one process (CK_NOFORK),
 * so it is made in a child of its own; _exit keeps the sanitizers' exit-time
 * checks out of that child.
 */
START_TEST(test_new_threads_get_the_size)
{
	int status = 0;
	pid_t pid = fork();

	ck_assert_int_ne(pid, -1);
	if (pid == 0)
		in_child();
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "child: status 0x%x (1: wrong size, 2: set failed, 3: no thread)", status);
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
