/*
 * engine.h - compiled libclamav engines, shared by every scanning
 * thread and every policy snapshot that asks for the same settings, and
 * rebuilt in the background when the signature database changes.
 */
#ifndef AV_ENGINE_H
#define AV_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mxparity/module.h>

struct cl_engine;

/* What an engine is built from; equal settings share one slot. */
struct av_settings {
	const char *database; /* directory of .cvd/.cld/.ndb/... files */
	const char *tmpdir;   /* where libclamav unpacks archives */
	uint64_t max_scan_size;
	uint64_t max_file_size;
	uint32_t max_recursion;
	uint32_t max_files;
	uint32_t max_scan_time;	 /* milliseconds */
	bool pua;		 /* load potentially-unwanted-application signatures */
	bool blocking;		 /* reload = blocking: free the old engine first */
	unsigned check_interval; /* seconds between database checks; 0 = SIGHUP only */
	unsigned max_concurrent; /* scans at once */
};

struct av_slot;

/*
 * av_slot_get - the slot for these settings.  A new slot loads and
 * compiles its engine before returning; an existing one (a policy reload)
 * is asked to reload its database in the background.
 */
struct av_slot *av_slot_get(const struct av_settings *st, const struct mxp_host *host, char *err,
			    size_t errlen);
/* av_slot_put - the last user stops the watcher and frees the engine */
void av_slot_put(struct av_slot *slot);

/*
 * av_slot_acquire - a scan slot and a reference to the current engine, or
 * NULL when no engine is ready (reload = blocking mid-reload, or a failed
 * load).  Waiting for a scan slot calls keepalive(arg) every few seconds.
 */
struct cl_engine *av_slot_acquire(struct av_slot *slot, void (*keepalive)(void *arg), void *arg);
/* av_slot_release - give back what av_slot_acquire returned */
void av_slot_release(struct av_slot *slot, struct cl_engine *engine);

/*
 * What one scan found out about limits libclamav enforces silently
 * (doc/design.md, "Limits libclamav does not report"): the scan's context,
 * filled by the engine's file inspection and message callbacks.
 */
struct av_scan_limits {
	uint64_t max_file_size;	   /* the policy's max_file_size; 0: no bound */
	uint64_t max_decoded_size; /* the policy's max_decoded_size; 0: no bound */
	uint64_t scanned;	   /* bytes of every layer so far, normalised ones left out */
	const char *hit;	   /* the first limit hit ("MaxFileSize", ...), or NULL */
};

/* av_engine_errors - libclamav errors logged on this thread since the reset */
unsigned av_engine_errors(void);
void av_engine_errors_reset(void);

/* av_slot_describe - "av=clamav-1.4.6/db-V/sigs-N" for the policy loaded line */
void av_slot_describe(struct av_slot *slot, char *buf, size_t len);
/* av_slot_reload_now - build a new engine now, on the caller's thread (tests) */
int av_slot_reload_now(struct av_slot *slot);
/* av_slot_generation - how many engines this slot has installed so far */
unsigned av_slot_generation(struct av_slot *slot);

#endif
