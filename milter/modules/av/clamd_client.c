/*
 * clamd_client.c - clamd's protocol (clamd(8), "COMMANDS"): the z prefix,
 * so every reply ends with a NUL; INSTREAM chunks are a 4-byte length in
 * network order and the data, and a zero length ends the stream.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clamd_client.h"

int64_t
clamd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
clamd_addr_parse(const char *spec, struct clamd_addr *out, char *err, size_t errlen)
{
	const char *hp, *colon;
	struct in6_addr a6;
	struct in_addr a4;
	char *end;
	long port;
	size_t hl;

	memset(out, 0, sizeof(*out));
	if (strlen(spec) >= sizeof(out->text)) {
		snprintf(err, errlen, "clamd server address too long");
		return -1;
	}
	snprintf(out->text, sizeof(out->text), "%s", spec);
	if (strncmp(spec, "unix:", 5) == 0) {
		if (spec[5] != '/' || strlen(spec + 5) >= sizeof(out->path)) {
			snprintf(err, errlen, "clamd server \"%s\": want unix:/ABSOLUTE/PATH",
				 spec);
			return -1;
		}
		out->is_unix = true;
		snprintf(out->path, sizeof(out->path), "%s", spec + 5);
		return 0;
	}
	if (strncmp(spec, "tcp:", 4) != 0) {
		snprintf(err, errlen,
			 "clamd server \"%s\": want unix:/PATH, tcp:ADDRESS:PORT or "
			 "tcp:[IPv6]:PORT",
			 spec);
		return -1;
	}
	hp = spec + 4;
	if (*hp == '[') {
		const char *close = strchr(hp, ']');

		if (close == NULL || close[1] != ':')
			goto bad;
		hl = (size_t)(close - hp - 1);
		if (hl == 0 || hl >= sizeof(out->host))
			goto bad;
		memcpy(out->host, hp + 1, hl);
		colon = close + 1;
		if (inet_pton(AF_INET6, out->host, &a6) != 1)
			goto bad;
	} else {
		colon = strrchr(hp, ':');
		if (colon == NULL)
			goto bad;
		hl = (size_t)(colon - hp);
		if (hl == 0 || hl >= sizeof(out->host))
			goto bad;
		memcpy(out->host, hp, hl);
		if (inet_pton(AF_INET, out->host, &a4) != 1)
			goto bad;
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port < 1 || port > 65535)
		goto bad;
	snprintf(out->port, sizeof(out->port), "%ld", port);
	return 0;
bad:
	snprintf(err, errlen,
		 "clamd server \"%s\": want tcp:ADDRESS:PORT or tcp:[IPv6]:PORT, with a numeric "
		 "address and a port 1..65535",
		 spec);
	return -1;
}

/* wait_fd - poll fd for events until deadline; >0 ready, 0 timed out, -1 error */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left = deadline - clamd_now_ms();
	int rc;

	if (left <= 0)
		return 0;
	do
		rc = poll(&p, 1, left > 1000 ? 1000 : (int)left);
	while (rc < 0 && errno == EINTR);
	if (rc > 0 && (p.revents & (POLLERR | POLLNVAL)) != 0 && (p.revents & events) == 0)
		return -1;
	return rc;
}

/* open_conn - a non-blocking connected socket, or -1 with err */
static int
open_conn(const struct clamd_addr *a, int64_t deadline, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, rc, soerr = 0;
	socklen_t el = sizeof(soerr);

	memset(&ss, 0, sizeof(ss));
	if (a->is_unix) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;

		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, a->path, strlen(a->path) + 1);
		sl = sizeof(*un);
	} else {
		struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
					  .ai_socktype = SOCK_STREAM },
				*res = NULL;

		if (getaddrinfo(a->host, a->port, &hints, &res) != 0 || res == NULL ||
		    res->ai_addrlen > sizeof(ss)) {
			if (res != NULL)
				freeaddrinfo(res);
			snprintf(err, errlen, "%s: bad address", a->text);
			return -1;
		}
		memcpy(&ss, res->ai_addr, res->ai_addrlen);
		sl = res->ai_addrlen;
		freeaddrinfo(res);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s: socket: %s", a->text, strerror(errno));
		return -1;
	}
	rc = connect(fd, (struct sockaddr *)&ss, sl);
	/* A unix socket whose accept queue is full says EAGAIN: try again until the deadline. */
	while (rc < 0 && errno == EAGAIN && a->is_unix && clamd_now_ms() < deadline) {
		struct timespec pause = { 0, 10 * 1000 * 1000 };

		nanosleep(&pause, NULL);
		rc = connect(fd, (struct sockaddr *)&ss, sl);
	}
	if (rc < 0 && errno != EINPROGRESS) {
		snprintf(err, errlen, "%s: connect: %s", a->text, strerror(errno));
		close(fd);
		return -1;
	}
	if (rc < 0) {
		rc = wait_fd(fd, POLLOUT, deadline);
		while (rc == 0 && clamd_now_ms() < deadline)
			rc = wait_fd(fd, POLLOUT, deadline);
		if (rc <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) < 0 ||
		    soerr != 0) {
			snprintf(err, errlen, "%s: connect: %s", a->text,
				 rc == 0 ? "timed out" : strerror(soerr != 0 ? soerr : errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* send_all - write len bytes by the deadline; 0, or -1 with errno (EPIPE: peer closed) */
static int
send_all(int fd, const void *data, size_t len, int64_t deadline, void (*keepalive)(void *),
	 void *arg)
{
	const unsigned char *p = data;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int rc = wait_fd(fd, POLLOUT, deadline);

			if (rc < 0)
				return -1;
			if (rc == 0) {
				if (clamd_now_ms() >= deadline) {
					errno = ETIMEDOUT;
					return -1;
				}
				if (keepalive != NULL)
					keepalive(arg);
			}
			continue;
		}
		return -1;
	}
	return 0;
}

/*
 * read_reply - bytes up to the NUL that ends a z reply, into buf; its
 * length, or -1 with err (closed first, too long, deadline)
 */
static ssize_t
read_reply(int fd, char *buf, size_t cap, int64_t deadline, void (*keepalive)(void *), void *arg,
	   char *err, size_t errlen)
{
	size_t have = 0;

	for (;;) {
		ssize_t n;
		char *nul = memchr(buf, '\0', have);

		if (nul != NULL)
			return nul - buf;
		if (have == cap) {
			snprintf(err, errlen, "reply longer than %zu bytes", cap);
			return -1;
		}
		n = recv(fd, buf + have, cap - have, 0);
		if (n > 0) {
			have += (size_t)n;
			continue;
		}
		if (n == 0) {
			snprintf(err, errlen, "closed %s",
				 have > 0 ? "mid-reply" : "without a reply");
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			snprintf(err, errlen, "read: %s", strerror(errno));
			return -1;
		}
		n = wait_fd(fd, POLLIN, deadline);
		if (n < 0) {
			snprintf(err, errlen, "read: connection error");
			return -1;
		}
		if (n == 0) {
			if (clamd_now_ms() >= deadline) {
				snprintf(err, errlen, "no reply in time");
				return -1;
			}
			if (keepalive != NULL)
				keepalive(arg);
		}
	}
}

/* send_chunk - one INSTREAM chunk */
static int
send_chunk(int fd, const void *data, size_t len, int64_t deadline, void (*keepalive)(void *),
	   void *arg)
{
	uint32_t be = htonl((uint32_t)len);

	if (send_all(fd, &be, sizeof(be), deadline, keepalive, arg) < 0)
		return -1;
	return len == 0 ? 0 : send_all(fd, data, len, deadline, keepalive, arg);
}

/* send_stream - the spool as chunks, then the zero-length end */
static int
send_stream(int fd, const struct av_spool *sp, size_t chunk, int64_t deadline,
	    void (*keepalive)(void *), void *arg)
{
	unsigned char buf[65536];

	if (chunk == 0 || chunk > sizeof(buf))
		chunk = sizeof(buf);
	if (av_spool_in_memory(sp)) {
		for (size_t off = 0; off < sp->len; off += chunk) {
			size_t n = sp->len - off < chunk ? sp->len - off : chunk;

			if (send_chunk(fd, sp->mem + off, n, deadline, keepalive, arg) < 0)
				return -1;
		}
	} else {
		for (off_t off = 0; (size_t)off < sp->len;) {
			ssize_t n = pread(sp->fd, buf, chunk, off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				errno = n == 0 ? EIO : errno;
				return -2; /* our spool, not the server */
			}
			if (send_chunk(fd, buf, (size_t)n, deadline, keepalive, arg) < 0)
				return -1;
			off += n;
		}
	}
	return send_chunk(fd, NULL, 0, deadline, keepalive, arg);
}

int
clamd_scan(const struct clamd_addr *addr, const struct av_spool *sp, size_t chunk, int64_t deadline,
	   void (*keepalive)(void *), void *arg, struct clamd_reply *reply, char *err,
	   size_t errlen)
{
	static const char cmd[] = "zINSTREAM";
	char buf[CLAMD_REPLY_MAX + 1], why[128];
	ssize_t n;
	int fd, rc;

	fd = open_conn(addr, deadline, err, errlen);
	if (fd < 0)
		return -1;
	rc = send_all(fd, cmd, sizeof(cmd), deadline, keepalive, arg);
	if (rc == 0)
		rc = send_stream(fd, sp, chunk, deadline, keepalive, arg);
	if (rc == -2) {
		snprintf(err, errlen, "reading the spooled message: %s", strerror(errno));
		close(fd);
		return -1;
	}
	/* A server that stopped reading (StreamMaxLength) has written why: read it. */
	if (rc < 0 && errno != EPIPE && errno != ECONNRESET) {
		snprintf(err, errlen, "%s: sending the message: %s", addr->text, strerror(errno));
		close(fd);
		return -1;
	}
	n = read_reply(fd, buf, sizeof(buf) - 1, deadline, keepalive, arg, why, sizeof(why));
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", addr->text,
			 rc < 0 ? "closed while the message was sent, without a reply" : why);
		return -1;
	}
	clamd_reply_parse(buf, (size_t)n, reply);
	/*
	 * The server stopped reading before the whole message was sent: it can
	 * refuse it (a limit) or have found something in what it read, but it
	 * cannot have found the rest clean.
	 */
	if (rc < 0 && reply->verdict == CLAMD_CLEAN) {
		snprintf(err, errlen, "%s: answered OK before the whole message was sent",
			 addr->text);
		return -1;
	}
	return 0;
}

int
clamd_command(const struct clamd_addr *addr, const char *command, int64_t deadline, char *buf,
	      size_t len, char *err, size_t errlen)
{
	char reply[CLAMD_REPLY_MAX + 1], why[128];
	ssize_t n;
	size_t o = 0;
	int fd;

	fd = open_conn(addr, deadline, err, errlen);
	if (fd < 0)
		return -1;
	if (send_all(fd, command, strlen(command) + 1, deadline, NULL, NULL) < 0) {
		snprintf(err, errlen, "%s: sending %s: %s", addr->text, command, strerror(errno));
		close(fd);
		return -1;
	}
	n = read_reply(fd, reply, sizeof(reply) - 1, deadline, NULL, NULL, why, sizeof(why));
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s: %s", addr->text, command, why);
		return -1;
	}
	for (ssize_t i = 0; i < n && o + 1 < len; i++)
		buf[o++] = reply[i] >= 0x20 && reply[i] < 0x7f ? reply[i] : '?';
	if (len > 0)
		buf[o] = '\0';
	return 0;
}
