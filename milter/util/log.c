/*
 * log.c - syslog (LOG_MAIL) output, optionally mirrored to stderr.
 *
 * Each thread handles one milter connection at a time, so the queue id
 * prefix lives in a thread-local and modules need not pass it around.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"

static const char *log_ident = "mxparityd";
static bool log_stderr;
static bool log_syslog;
static _Thread_local char log_queue_id[64];

/* mxp_log_open - choose the sinks; ident names the program in syslog */
void
mxp_log_open(const char *ident, bool to_stderr, bool to_syslog)
{
	log_ident = ident;
	log_stderr = to_stderr;
	log_syslog = to_syslog;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

bool
mxp_log_to_stderr(void)
{
	return log_stderr;
}

/* mxp_log_set_queue_id - remember the queue id for this thread's lines */
void
mxp_log_set_queue_id(const char *queue_id)
{
	if (queue_id == NULL)
		log_queue_id[0] = '\0';
	else
		snprintf(log_queue_id, sizeof(log_queue_id), "%s", queue_id);
}

/* mxp_log - format once, send to every sink */
void
mxp_log(int priority, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int off = 0;

	if (log_queue_id[0] != '\0')
		off = snprintf(line, sizeof(line), "%s: ", log_queue_id);
	va_start(ap, fmt);
	vsnprintf(line + off, sizeof(line) - (size_t)off, fmt, ap);
	va_end(ap);

	if (log_syslog)
		syslog(priority, "%s", line);
	if (log_stderr) {
		flockfile(stderr);
		fprintf(stderr, "%s: %s\n", log_ident, line);
		fflush(stderr);
		funlockfile(stderr);
	}
}
