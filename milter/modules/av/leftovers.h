/*
 * leftovers.h - what a killed process left in spool_dir: libclamav's
 * per-scan directories (*-scantemp.*) and our own spool files from the
 * mkstemp fallback (mxparity-av.*).
 */
#ifndef AV_LEFTOVERS_H
#define AV_LEFTOVERS_H

#include <stddef.h>

enum av_leftovers_result {
	AV_LEFTOVERS_REMOVED, /* *removed_r entries removed (perhaps 0) */
	AV_LEFTOVERS_DONE,    /* this process already cleaned dir: nothing touched */
	AV_LEFTOVERS_IN_USE,  /* another process scans in dir: nothing touched */
	AV_LEFTOVERS_ERROR,   /* err says why; some entries may be left */
};

/*
 * av_leftovers_remove - before the first scan in dir: take a shared flock
 * on dir, held for the life of the process, and remove the leftovers only
 * when an exclusive one could be had first (no other process scans there).
 * Once per directory per process: a reload never removes this process's
 * scans, and no process removes another's, whichever starts or stops first.
 */
enum av_leftovers_result av_leftovers_remove(const char *dir, unsigned *removed_r, char *err,
					     size_t errlen);

#endif
