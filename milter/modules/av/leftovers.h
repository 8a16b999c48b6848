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
	AV_LEFTOVERS_IN_USE,  /* another process holds dir: nothing touched */
	AV_LEFTOVERS_ERROR,   /* err says why; some entries may be left */
};

/*
 * av_leftovers_remove - remove the leftovers in dir, once per directory per
 * process, and only under an exclusive flock on dir that is then held for
 * the life of the process: a second daemon sharing dir never removes the
 * first one's live scans, and a reload never removes this one's.
 */
enum av_leftovers_result av_leftovers_remove(const char *dir, unsigned *removed_r, char *err,
					     size_t errlen);

#endif
