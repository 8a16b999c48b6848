/*
 * clamd_reply.c - clamd's answers to a scan of a stream:
 *   stream: OK
 *   stream: Eicar-Test-Signature FOUND
 *   stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND   (AlertExceedsMax)
 *   INSTREAM size limit exceeded. ERROR                     (StreamMaxLength)
 *   stream: Can't allocate memory ERROR, COMMAND READ TIMED OUT, ...
 * Anything else (another stream name, a name with blanks, control bytes,
 * a truncated line) is CLAMD_ERROR.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "clamd_reply.h"

#define LIMITS_PREFIX "Heuristics.Limits.Exceeded."

/* cl_strerror() of CL_EMAXREC, CL_EMAXSIZE, CL_EMAXFILES and CL_ETIMEOUT (libclamav 1.x) */
static const char *const limit_errors[] = {
	"Exceeded max recursion depth",
	"Exceeded max scan size",
	"Exceeded max scan files",
	"Exceeded time limit",
	NULL,
};

/* set - the verdict and a printable copy of text[0..len) as its name */
static void
set(struct clamd_reply *out, enum clamd_verdict v, const char *text, size_t len)
{
	size_t o = 0;

	out->verdict = v;
	for (size_t i = 0; i < len && o + 1 < sizeof(out->name); i++)
		out->name[o++] = text[i] >= 0x20 && text[i] < 0x7f ? text[i] : '?';
	out->name[o] = '\0';
}

/* has_suffix - text[0..len) ends with suffix */
static bool
has_suffix(const char *text, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(text + len - n, suffix, n) == 0;
}

/* signature_name - a virus name as clamd prints one: no blank, control byte or parenthesis */
static bool
signature_name(const char *text, size_t len)
{
	if (len == 0 || len >= sizeof(((struct clamd_reply *)0)->name))
		return false;
	for (size_t i = 0; i < len; i++)
		if (text[i] <= 0x20 || text[i] >= 0x7f || text[i] == '(' || text[i] == ')')
			return false;
	return true;
}

/* found - a signature's name: a virus, or a limit clamd alerted on (AlertExceedsMax) */
static void
found(struct clamd_reply *out, const char *name, size_t len)
{
	size_t pl = strlen(LIMITS_PREFIX);

	if (len > pl && strncmp(name, LIMITS_PREFIX, pl) == 0)
		set(out, CLAMD_LIMITS, name + pl, len - pl);
	else
		set(out, CLAMD_FOUND, name, len);
}

void
clamd_reply_parse(const char *text, size_t len, struct clamd_reply *out)
{
	static const char stream[] = "stream: ";
	const size_t sl = sizeof(stream) - 1;

	set(out, CLAMD_ERROR, "unreadable reply", strlen("unreadable reply"));
	if (text == NULL || len == 0 || len > CLAMD_REPLY_MAX || memchr(text, '\0', len) != NULL)
		return;
	if (strncmp(text, "INSTREAM size limit exceeded.", 29) == 0 &&
	    has_suffix(text, len, " ERROR")) {
		set(out, CLAMD_LIMITS, "StreamMaxLength", strlen("StreamMaxLength"));
		return;
	}
	if (len < sl || memcmp(text, stream, sl) != 0) {
		set(out, CLAMD_ERROR, text, len);
		return;
	}
	text += sl;
	len -= sl;
	if (len == 2 && memcmp(text, "OK", 2) == 0) {
		set(out, CLAMD_CLEAN, "", 0);
		return;
	}
	if (has_suffix(text, len, " FOUND")) {
		size_t nl = len - 6;
		/* ExtendedDetectionInfo: "NAME(md5:size) FOUND"; the name is what counts */
		const char *open = nl > 0 && text[nl - 1] == ')' ? memchr(text, '(', nl) : NULL;

		if (open != NULL)
			nl = (size_t)(open - text);
		if (signature_name(text, nl)) {
			found(out, text, nl);
			return;
		}
	}
	/*
	 * A limit clamd enforced without AlertExceedsMax comes back as libclamav's
	 * own error text: a limit (the same word the libclamav backend reports),
	 * not a broken server.
	 */
	for (size_t i = 0; limit_errors[i] != NULL; i++) {
		size_t n = strlen(limit_errors[i]);

		if (len == n + 6 && memcmp(text, limit_errors[i], n) == 0 &&
		    has_suffix(text, len, " ERROR")) {
			set(out, CLAMD_LIMITS, text, n);
			return;
		}
	}
	/* "... ERROR" and everything else: the text says why, for the log */
	set(out, CLAMD_ERROR, text, len);
}
