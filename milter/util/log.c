/*
 * log.c - syslog (LOG_MAIL) output, optionally mirrored to stderr.
 *
 * Each thread handles one milter connection at a time, so the queue id
 * prefix lives in a thread-local and modules need not pass it around.
 * Every line is escaped here, in one place, so no field a client chose can
 * carry a control character into the log.
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

/*
 * escape_controls - every control character (C0 and DEL) as \xHH: a client
 * name, HELO or address with CR, LF or ESC in it must not start a line of
 * its own in syslog or on a terminal.  out holds 4 * strlen(in) + 1.
 */
static void
escape_controls(const char *in, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (; *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in;

		if (c < 0x20 || c == 0x7f) {
			*out++ = '\\';
			*out++ = 'x';
			*out++ = digits[c >> 4];
			*out++ = digits[c & 15];
		} else {
			*out++ = (char)c;
		}
	}
	*out = '\0';
}

/* mxp_log - format once, escape once, send to every sink */
void
mxp_log(int priority, const char *fmt, ...)
{
	char raw[2048], line[4 * sizeof(raw)];
	va_list ap;
	int off = 0;

	if (log_queue_id[0] != '\0')
		off = snprintf(raw, sizeof(raw), "%s: ", log_queue_id);
	va_start(ap, fmt);
	vsnprintf(raw + off, sizeof(raw) - (size_t)off, fmt, ap);
	va_end(ap);
	escape_controls(raw, line);

	if (log_syslog)
		syslog(priority, "%s", line);
	if (log_stderr) {
		flockfile(stderr);
		fprintf(stderr, "%s: %s\n", log_ident, line);
		fflush(stderr);
		funlockfile(stderr);
	}
}
