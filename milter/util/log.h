/*
 * log.h - syslog output for the daemon and the operator's tool.
 */
#ifndef MXP_LOG_H
#define MXP_LOG_H

#include <stdbool.h>
#include <syslog.h>

void mxp_log_open(const char *ident, bool to_stderr, bool to_syslog);
/* mxp_log - one line at priority, prefixed by the thread's queue id if set */
void mxp_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* mxp_log_to_stderr - are lines mirrored to stderr */
bool mxp_log_to_stderr(void);
/* mxp_log_set_queue_id - the queue id this thread's lines carry, NULL for none */
void mxp_log_set_queue_id(const char *queue_id);

#endif
