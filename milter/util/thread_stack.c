/*
 * thread_stack.c - the stack size of every thread the daemon starts.
 *
 * libmilter's worker pool starts a thread when no worker is idle and lets
 * it end as soon as two others are idle, so under load threads come and go
 * with the traffic.  glibc keeps only 40 MiB of finished threads' stacks
 * for reuse: with the default 8 MiB that is four, and every other thread
 * costs an mmap, page faults on a fresh stack and an munmap that stops the
 * other cores to flush their TLBs.  Smaller stacks stay in that cache.
 */
#define _GNU_SOURCE /* pthread_setattr_default_np */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "util/thread_stack.h"

int
mxp_thread_stack_set(size_t bytes, char *err, size_t errlen)
{
	pthread_attr_t attr;
	int rc;

	rc = pthread_getattr_default_np(&attr);
	if (rc == 0) {
		rc = pthread_attr_setstacksize(&attr, bytes);
		if (rc == 0)
			rc = pthread_setattr_default_np(&attr);
		pthread_attr_destroy(&attr);
	}
	if (rc != 0) {
		snprintf(err, errlen, "cannot set the thread stack size to %zu bytes: %s", bytes,
			 strerror(rc));
		return -1;
	}
	return 0;
}
