/*
 * control.c - the control socket.  One request a connection, one line of
 * at most CONTROL_MAX_REQUEST bytes ("status" or "ping"), answered and
 * closed; anything else gets an "error:" line.  One thread polls up to
 * CONTROL_MAX_CLIENTS clients at once, each given CONTROL_TIMEOUT_S to send
 * its line, so a client that stalls delays no other.  Only the
 * socket's mode (0660) and group guard it: it is a local socket, never a
 * network one, and it tells only what the log already says.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "daemon/control.h"
#include "daemon/status.h"
#include "util/error.h"
#include "util/log.h"

#define CONTROL_MAX_REQUEST 256
#define CONTROL_TIMEOUT_S 2
#define CONTROL_MAX_CLIENTS 32

static int listen_fd = -1;
static char *socket_path;
static pthread_t thread;
static bool thread_started;
static atomic_bool stopping;
static bool atexit_set;

/* fill_addr - a sockaddr_un for path, or -1 when it is too long */
static int
fill_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -1;
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

/* live_socket - does a process answer on path */
static bool
live_socket(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live = fd >= 0 && connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;

	if (fd >= 0)
		close(fd);
	return live;
}

/* remove_socket - at exit: the socket file, unless mxp_control_stop did so */
static void
remove_socket(void)
{
	if (socket_path != NULL)
		unlink(socket_path);
}

int
mxp_control_open(const char *path, long gid, char **error_r)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old_mask;
	bool bound;
	int fd;

	if (fill_addr(&sun, path) < 0) {
		mxp_error_set(error_r, "control socket %s: path too long", path);
		return -1;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			mxp_error_set(error_r, "control socket %s: exists and is not a socket",
				      path);
			return -1;
		}
		if (live_socket(&sun)) {
			mxp_error_set(error_r, "control socket %s: another daemon answers on it",
				      path);
			return -1;
		}
		unlink(path); /* left by a daemon that did not stop cleanly */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		mxp_error_set(error_r, "control socket %s: %s", path, strerror(errno));
		return -1;
	}
	/*
	 * bind makes the file 0660 itself, and the group is set without following
	 * a link: this runs as root, in a directory its user may write, where a
	 * name given to chmod could have been swapped for a link in between.
	 */
	old_mask = umask(0117);
	bound = bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	umask(old_mask);
	if (!bound || listen(fd, 64) < 0 ||
	    (gid >= 0 &&
	     fchownat(AT_FDCWD, path, (uid_t)-1, (gid_t)gid, AT_SYMLINK_NOFOLLOW) < 0)) {
		mxp_error_set(error_r, "control socket %s: %s", path, strerror(errno));
		if (bound)
			unlink(path);
		close(fd);
		return -1;
	}
	listen_fd = fd;
	g_free(socket_path);
	socket_path = g_strdup(path);
	/* A startup that fails after this (die) leaves no socket behind. */
	if (!atexit_set && atexit(remove_socket) == 0)
		atexit_set = true;
	return fd;
}

/* send_all - the whole answer, or as much as the client takes in time */
static void
send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

/* answer - the reply to one request line */
static void
answer(int fd, const char *req)
{
	if (strcmp(req, "status") == 0) {
		GString *text = mxp_status_text();

		send_all(fd, text->str, text->len);
		g_string_free(text, TRUE);
	} else if (strcmp(req, "ping") == 0) {
		send_all(fd, "pong\n", 5);
	} else {
		static const char unknown[] = "error: unknown request (want status or ping)\n";

		send_all(fd, unknown, sizeof(unknown) - 1);
	}
}

/* now_s - seconds on the monotonic clock: deadlines must not move with the wall clock */
static time_t
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* One client: what it has sent so far, and until when it may take. */
struct client {
	int fd;
	size_t got;
	time_t deadline;
	char buf[CONTROL_MAX_REQUEST + 1];
};

/* client_close - an optional last line, then the end of the connection */
static void
client_close(struct client *c, const char *line)
{
	if (line != NULL)
		send_all(c->fd, line, strlen(line));
	close(c->fd);
	c->fd = -1;
}

/* client_read - take what arrived; answer once a whole line is there */
static void
client_read(struct client *c)
{
	ssize_t n = recv(c->fd, c->buf + c->got, CONTROL_MAX_REQUEST - c->got, MSG_DONTWAIT);
	const char *nl;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		client_close(c, c->got > 0 ? "error: no complete request line\n" : NULL);
		return;
	}
	c->got += (size_t)n;
	c->buf[c->got] = '\0';
	if ((nl = memchr(c->buf, '\n', c->got)) != NULL) {
		/* A NUL inside the line would end the string early: no known request has one. */
		bool nul = memchr(c->buf, '\0', (size_t)(nl - c->buf)) != NULL;

		c->buf[strcspn(c->buf, "\r\n")] = '\0';
		answer(c->fd, nul ? "" : c->buf);
		client_close(c, NULL);
	} else if (c->got >= CONTROL_MAX_REQUEST) {
		client_close(c, "error: request too long\n");
	}
}

/*
 * client_accept - a new connection into a free slot, or turned away; 1 when
 * out of descriptors, so that the caller leaves the listener alone a while
 * instead of spinning on a connection it cannot take.
 */
static int
client_accept(struct client *clients)
{
	static time_t last_warned;
	struct timeval tv = { CONTROL_TIMEOUT_S, 0 };
	int fd = accept(listen_fd, NULL, NULL);

	if (fd < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED)
			return 0;
		if (now_s() - last_warned >= 60) {
			mxp_log(LOG_WARNING, "control socket: accept: %s", strerror(errno));
			last_warned = now_s();
		}
		return 1;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	/* Bounds the answer's writes; the reads never block (MSG_DONTWAIT). */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (clients[i].fd < 0) {
			clients[i].fd = fd;
			clients[i].got = 0;
			clients[i].deadline = now_s() + CONTROL_TIMEOUT_S;
			return 0;
		}
	send_all(fd, "error: busy, try again\n", 23);
	close(fd);
	return 0;
}

/*
 * control_thread - accept and read until mxp_control_stop, all clients at
 * once: one that stalls is dropped at its deadline and delays no other.
 */
static void *
control_thread(void *arg)
{
	struct client clients[CONTROL_MAX_CLIENTS];
	time_t listen_again = 0; /* out of descriptors: not before then */

	(void)arg;
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		clients[i].fd = -1;
	while (!atomic_load(&stopping)) {
		struct pollfd p[CONTROL_MAX_CLIENTS + 1];
		int who[CONTROL_MAX_CLIENTS + 1], n = 1;
		time_t now = now_s();

		/* A negative fd is skipped by poll: the listener rests while fds are short. */
		p[0] = (struct pollfd){ .fd = now >= listen_again ? listen_fd : -1,
					.events = POLLIN };
		for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
			if (clients[i].fd >= 0 && now > clients[i].deadline)
				client_close(&clients[i], "error: no complete request line\n");
			if (clients[i].fd < 0)
				continue;
			p[n] = (struct pollfd){ .fd = clients[i].fd, .events = POLLIN };
			who[n++] = i;
		}
		if (poll(p, (nfds_t)n, 250) <= 0)
			continue;
		for (int k = 1; k < n; k++)
			if (p[k].revents != 0)
				client_read(&clients[who[k]]);
		if ((p[0].revents & POLLIN) && client_accept(clients) == 1)
			listen_again = now_s() + 1;
	}
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (clients[i].fd >= 0)
			client_close(&clients[i], NULL);
	return NULL;
}

int
mxp_control_start(int fd)
{
	listen_fd = fd;
	if (pthread_create(&thread, NULL, control_thread, NULL) != 0)
		return -1;
	thread_started = true;
	return 0;
}

void
mxp_control_stop(void)
{
	atomic_store(&stopping, true);
	if (thread_started)
		pthread_join(thread, NULL);
	thread_started = false;
	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
	if (socket_path != NULL)
		unlink(socket_path);
	g_free(socket_path);
	socket_path = NULL;
}
