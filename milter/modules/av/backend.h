/*
 * backend.h - what scans a spooled message for the av module: libclamav in
 * process (backend_libclamav.c) or a pool of clamd servers
 * (backend_clamd.c).  Everything else (spooling, actions, headers,
 * findings, per-domain overrides, trusting a peer's scan) is av.c's and
 * the same for both, so that tiers with different backends give the same
 * findings and verify each other's stamps.
 */
#ifndef AV_BACKEND_H
#define AV_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include <mxparity/module.h>

#include "spool.h"

/* What one scan found, whatever scanned it. */
enum av_outcome {
	AV_FAILED, /* name: the finding word after "error:" (no-engine, clamd, ...); the zero value
		    */
	AV_CLEAN,
	AV_INFECTED, /* name: the signature */
	AV_LIMITS,   /* name: the limit (MaxFileSize, StreamMaxLength, ...), for on_limits */
};

struct av_scan {
	enum av_outcome outcome;
	char name[256];
	bool size_limit; /* AV_LIMITS: a size (on_size_limits applies), not nesting or time */
	char engine[64]; /* "ClamAV 1.4.6", for X-Virus-Scanned; "" for the backend's default */
};

struct av_backend {
	const char *name; /* the policy's backend = NAME */
	/* init - from the av section (host-local options included); -1 with err */
	int (*init)(const struct mxp_host *host, const struct mxp_config *cfg, void **state_r,
		    char *err, size_t errlen);
	void (*destroy)(void *state);
	/* describe - the av= word of the policy loaded line */
	void (*describe)(void *state, char *buf, size_t len);
	/* engine - "ClamAV 1.4.6" as far as known, for X-Virus-Scanned */
	void (*engine)(void *state, char *buf, size_t len);
	/* scan - the whole message in sp; ev for progress, logging and the message's time */
	void (*scan)(void *state, struct mxp_event *ev, const struct av_spool *sp,
		     struct av_scan *out);
};

extern const struct av_backend av_backend_libclamav;
extern const struct av_backend av_backend_clamd;

/* av_scan_set - out's outcome and name (printf-style) */
void av_scan_set(struct av_scan *out, enum av_outcome outcome, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
