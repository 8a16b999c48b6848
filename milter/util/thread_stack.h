/*
 * thread_stack.h - the stack size of every thread the daemon starts.
 */
#ifndef MXP_THREAD_STACK_H
#define MXP_THREAD_STACK_H

#include <stddef.h>

/*
 * Enough for libclamav, which clamd runs on the BSDs with the system
 * default (2 MiB on 64-bit FreeBSD) plus 192 KiB, and for libspf2 and
 * libunbound, with room to spare; small enough that glibc's 40 MiB cache
 * of finished threads' stacks keeps nine of them.
 */
#define MXP_THREAD_STACK_SIZE (4u << 20)

/* mxp_thread_stack_set - for threads created from now on; -1 with err */
int mxp_thread_stack_set(size_t bytes, char *err, size_t errlen);

#endif
