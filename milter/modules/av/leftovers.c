/*
 * leftovers.c - removing what a process killed mid-scan left in spool_dir.
 * libclamav removes its per-scan directory when a scan ends, and our spool
 * files have no name, so only a kill -9 (or a crash) leaves anything; the
 * next start removes it.  The walk opens every directory with O_NOFOLLOW
 * and removes with unlinkat, so a symbolic link planted there is removed,
 * never followed, even when this runs as root before the privilege drop.
 */
#define _GNU_SOURCE /* O_DIRECTORY, O_NOFOLLOW */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "leftovers.h"

/* libclamav 1.x names a scan's directory %Y%m%d_%H%M%S-scantemp.RANDOM */
#define SCAN_DIR_MARK "-scantemp."
/* spool.c's mkstemp fallback, between mkstemp and unlink */
#define SPOOL_FILE_PREFIX "mxparity-av."
/* libclamav nests a directory per archive layer, bounded by max_recursion */
#define MAX_DEPTH 64

struct held_dir {
	dev_t dev;
	ino_t ino;
	int fd; /* holds the flock until the process ends */
};

static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static GArray *held; /* of struct held_dir */

/* remove_tree - unlink name in dirfd, and everything under it if it is a directory */
static int
remove_tree(int dirfd, const char *name, unsigned depth, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *e;
	int fd, status = 0;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM) {
		snprintf(err, errlen, "unlink %s: %s", name, strerror(errno));
		return -1;
	}
	if (depth >= MAX_DEPTH) {
		snprintf(err, errlen, "%s: nested deeper than %d", name, MAX_DEPTH);
		return -1;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "open %s: %s", name, strerror(errno));
		return -1;
	}
	d = fdopendir(fd);
	if (d == NULL) {
		snprintf(err, errlen, "read %s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	while (status == 0 && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			status = remove_tree(fd, e->d_name, depth + 1, err, errlen);
	closedir(d);
	if (status == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "rmdir %s: %s", name, strerror(errno));
		status = -1;
	}
	return status;
}

/* is_leftover - a name only a killed process leaves behind */
static bool
is_leftover(const char *name)
{
	return strstr(name, SCAN_DIR_MARK) != NULL ||
	       strncmp(name, SPOOL_FILE_PREFIX, strlen(SPOOL_FILE_PREFIX)) == 0;
}

/* remove_in - every leftover directly in the directory open on fd */
static int
remove_in(int fd, const char *dir, unsigned *removed_r, char *err, size_t errlen)
{
	int walk = dup(fd), status = 0;
	DIR *d;
	struct dirent *e;
	char why[512] = "";

	if (walk < 0 || (d = fdopendir(walk)) == NULL) {
		snprintf(err, errlen, "read %s: %s", dir, strerror(errno));
		if (walk >= 0)
			close(walk);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (!is_leftover(e->d_name))
			continue;
		if (remove_tree(fd, e->d_name, 0, why, sizeof(why)) == 0)
			(*removed_r)++;
		else if (status == 0) {
			/* Go on with the others; report the first failure. */
			snprintf(err, errlen, "%s: %s", dir, why);
			status = -1;
		}
	}
	closedir(d);
	return status;
}

enum av_leftovers_result
av_leftovers_remove(const char *dir, unsigned *removed_r, char *err, size_t errlen)
{
	struct held_dir h = { 0 };
	struct stat st;
	enum av_leftovers_result result;

	*removed_r = 0;
	h.fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h.fd < 0 || fstat(h.fd, &st) != 0) {
		snprintf(err, errlen, "open %s: %s", dir, strerror(errno));
		if (h.fd >= 0)
			close(h.fd);
		return AV_LEFTOVERS_ERROR;
	}
	h.dev = st.st_dev;
	h.ino = st.st_ino;
	pthread_mutex_lock(&held_lock);
	if (held == NULL)
		held = g_array_new(FALSE, FALSE, sizeof(struct held_dir));
	for (guint i = 0; i < held->len; i++) {
		const struct held_dir *o = &g_array_index(held, struct held_dir, i);

		if (o->dev == h.dev && o->ino == h.ino) {
			pthread_mutex_unlock(&held_lock);
			close(h.fd);
			return AV_LEFTOVERS_DONE;
		}
	}
	/*
	 * Every process that scans in dir holds a shared lock on it for its
	 * whole life, so the exclusive one is had only by a process alone
	 * there, before its first scan: what it finds is from the dead.
	 */
	if (flock(h.fd, LOCK_EX | LOCK_NB) == 0) {
		result = remove_in(h.fd, dir, removed_r, err, errlen) == 0 ? AV_LEFTOVERS_REMOVED
									   : AV_LEFTOVERS_ERROR;
		flock(h.fd, LOCK_SH); /* no scan of ours has started: the gap is harmless */
	} else if (errno == EWOULDBLOCK && flock(h.fd, LOCK_SH) == 0) {
		result = AV_LEFTOVERS_IN_USE;
	} else {
		snprintf(err, errlen, "flock %s: %s", dir, strerror(errno));
		pthread_mutex_unlock(&held_lock);
		close(h.fd);
		return AV_LEFTOVERS_ERROR;
	}
	g_array_append_val(held, h);
	pthread_mutex_unlock(&held_lock);
	return result;
}
