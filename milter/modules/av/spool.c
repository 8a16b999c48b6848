/*
 * spool.c - spooling a message for libclamav.  Small messages stay in
 * memory; a message that outgrows the bound moves to a file opened with
 * O_TMPFILE (no name, so nothing is left behind even on a crash) in the
 * policy's spool directory.
 */
#define _GNU_SOURCE /* O_TMPFILE */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

void
av_spool_init(struct av_spool *sp, size_t mem_max, const char *dir)
{
	memset(sp, 0, sizeof(*sp));
	sp->mem_max = mem_max;
	sp->dir = dir;
	sp->fd = -1;
}

bool
av_spool_in_memory(const struct av_spool *sp)
{
	return sp->fd < 0;
}

/* write_all - a write(2) loop */
static int
write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* open_unlinked - O_TMPFILE, or mkstemp and unlink where that is missing */
static int
open_unlinked(const char *dir)
{
	char path[4096];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	snprintf(path, sizeof(path), "%s/mxparity-av.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd >= 0)
		unlink(path);
	return fd;
}

/* spill - move what memory holds into a new temporary file */
static int
spill(struct av_spool *sp, char *err, size_t errlen)
{
	sp->fd = open_unlinked(sp->dir);
	if (sp->fd < 0) {
		snprintf(err, errlen, "spool file in %s: %s", sp->dir, strerror(errno));
		return -1;
	}
	if (write_all(sp->fd, sp->mem, sp->len) < 0) {
		snprintf(err, errlen, "spool write: %s", strerror(errno));
		return -1;
	}
	free(sp->mem);
	sp->mem = NULL;
	sp->cap = 0;
	return 0;
}

int
av_spool_write(struct av_spool *sp, const void *data, size_t len, char *err, size_t errlen)
{
	if (sp->fd < 0 && sp->len + len > sp->mem_max && spill(sp, err, errlen) < 0)
		return -1;
	if (sp->fd >= 0) {
		if (write_all(sp->fd, data, len) < 0) {
			snprintf(err, errlen, "spool write: %s", strerror(errno));
			return -1;
		}
		sp->len += len;
		return 0;
	}
	if (sp->len + len > sp->cap) {
		size_t cap = sp->cap ? sp->cap : 16384;
		unsigned char *grown;

		while (cap < sp->len + len)
			cap *= 2;
		grown = realloc(sp->mem, cap);
		if (grown == NULL) {
			snprintf(err, errlen, "out of memory spooling %zu bytes", cap);
			return -1;
		}
		sp->mem = grown;
		sp->cap = cap;
	}
	memcpy(sp->mem + sp->len, data, len);
	sp->len += len;
	return 0;
}

void
av_spool_free(struct av_spool *sp)
{
	free(sp->mem);
	if (sp->fd >= 0)
		close(sp->fd);
	av_spool_init(sp, sp->mem_max, sp->dir);
}
