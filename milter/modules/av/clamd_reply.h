/*
 * clamd_reply.h - what clamd answered to zINSTREAM, read strictly: a reply
 * this does not recognise is an error, never a clean message.
 */
#ifndef AV_CLAMD_REPLY_H
#define AV_CLAMD_REPLY_H

#include <stddef.h>

/* The longest reply read; clamd's are well under 300 bytes. */
#define CLAMD_REPLY_MAX 1024

enum clamd_verdict {
	CLAMD_CLEAN,  /* "stream: OK" */
	CLAMD_FOUND,  /* "stream: NAME FOUND"; name set */
	CLAMD_LIMITS, /* StreamMaxLength reached, or a Heuristics.Limits.Exceeded.* alert */
	CLAMD_ERROR,  /* clamd says ERROR, or the reply is not one clamd writes */
};

struct clamd_reply {
	enum clamd_verdict verdict;
	/* CLAMD_FOUND: the signature; CLAMD_LIMITS: the limit; CLAMD_ERROR: why (printable) */
	char name[256];
};

/*
 * clamd_reply_parse - one reply of len bytes, without its terminator (NUL
 * with the z prefix, newline with n); out is always set.
 */
void clamd_reply_parse(const char *text, size_t len, struct clamd_reply *out);

#endif
