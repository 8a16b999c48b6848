/*
 * spool.h - a message kept for scanning: in memory up to a bound,
 * then in an unlinked temporary file.
 */
#ifndef AV_SPOOL_H
#define AV_SPOOL_H

#include <stdbool.h>
#include <stddef.h>

struct av_spool {
	unsigned char *mem; /* the message while it fits in mem_max */
	size_t len;	    /* bytes held */
	size_t cap;
	size_t mem_max;
	const char *dir; /* where a spilled message goes */
	int fd;		 /* -1 while in memory */
};

/* av_spool_init - empty spool; nothing is allocated yet */
void av_spool_init(struct av_spool *sp, size_t mem_max, const char *dir);
/* av_spool_write - append; 0, or -1 with err when the file cannot be written */
int av_spool_write(struct av_spool *sp, const void *data, size_t len, char *err, size_t errlen);
/* av_spool_in_memory - true until the message outgrew mem_max */
bool av_spool_in_memory(const struct av_spool *sp);
void av_spool_free(struct av_spool *sp);

#endif
