/*
 * milterload.c - a load generator that speaks the milter protocol (version
 * 6, as Postfix does) straight to a milter's socket, with no MTA.
 *
 * C concurrent connections, one thread each, send N messages in all, drawn
 * in turn from a corpus of RFC 5322 files.  For every message: the macros,
 * CONNECT and HELO (once per connection), MAIL, RCPT, DATA, each header,
 * EOH, the body in chunks of at most 65535 bytes with CRLF line ends, and
 * EOM; then the modifications and the final reply are read.  A message the
 * milter refuses before EOM ends with ABORT, as an MTA does.
 *
 * Latency is measured per message as the MTA waits for it: from the
 * connect() of the milter connection (first message on a connection) or
 * from MAIL (later ones) to the final reply at EOM.
 *
 * Bounded: at most N messages, at most -T seconds in all (messages not
 * started by then are not sent), at most -w seconds for any one reply.
 *
 * Output, one line (key=value, for scripts), and exit status 0, or 1 when
 * any message hit a protocol or connection error, 2 on usage errors.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#define CHUNK 65535		      /* MILTER_CHUNK_SIZE */
#define MAX_PACKET (64 * 1024 * 1024) /* larger replies are a broken peer */

/* Protocol steps we offer the milter to skip or to leave unanswered. */
#define OFFERED_PROTOCOL                                                                           \
	(SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NORCPT | SMFIP_NOBODY |             \
	 SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NR_HDR | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_SKIP | \
	 SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_DATA |           \
	 SMFIP_NR_UNKN | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_HDR_LEADSPC)
#define OFFERED_ACTIONS                                                                            \
	(SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | SMFIF_DELRCPT | SMFIF_CHGHDRS |           \
	 SMFIF_QUARANTINE | SMFIF_CHGFROM | SMFIF_ADDRCPT_PAR | SMFIF_SETSYMLIST)

struct header {
	char *name;
	char *value; /* continuation lines joined with "\n", as Postfix sends them */
};

struct message {
	const char *path;
	struct header *headers;
	size_t nheaders;
	char *body; /* CRLF line ends */
	size_t body_len;
};

struct options {
	const char *socket;
	const char *from, *rcpt, *helo, *client_addr, *client_name;
	long total;
	int connections;
	int per_connection;
	int time_limit;
	int reply_timeout;
	bool verbose;
};

/* What happened to one message. */
enum outcome { O_NONE, O_ACCEPT, O_REJECT, O_TEMPFAIL, O_DISCARD, O_ERROR };

struct counters {
	long sent, accept, reject, tempfail, discard, errors;
	long addheader, insheader, chgheader, progress, quarantine, other_mods;
};

static struct options opt;
static struct message *corpus;
static size_t ncorpus;
static atomic_long next_message;
static double *latency_ms; /* one slot per message, -1 when not done */
static double deadline;	   /* monotonic seconds */
static pthread_mutex_t totals_lock = PTHREAD_MUTEX_INITIALIZER;
static struct counters totals;
static atomic_int errors_printed;

/* usage - to stderr, exit 2 */
static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
		"usage: milterload -p unix:PATH|inet:PORT@ADDR [-c CONNECTIONS] [-n MESSAGES]\n"
		"                  [-k PER_CONNECTION] [-T SECONDS] [-w REPLY_SECONDS]\n"
		"                  [-f FROM] [-r RCPT] [-H HELO] [-a CLIENT_ADDR] [-v] CORPUS...\n"
		"  CORPUS: message files, or directories of them (not recursive)\n");
	exit(2);
}

/* now - monotonic seconds */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* complain - the first few errors are worth reading; the rest are counted */
static void __attribute__((format(printf, 1, 2))) complain(const char *fmt, ...)
{
	va_list ap;

	if (atomic_fetch_add(&errors_printed, 1) >= 10 && !opt.verbose)
		return;
	va_start(ap, fmt);
	fputs("milterload: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ------------------------------------------------------------------------ */
/* The corpus                                                                */
/* ------------------------------------------------------------------------ */

/* read_file - the whole file, NUL-terminated; NULL on error */
static char *
read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, len = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		size_t n;

		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 131072;
			buf = realloc(buf, cap + 1);
			if (buf == NULL)
				abort();
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	*len_r = len;
	return buf;
}

/* xstrndup - strndup or abort */
static char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		abort();
	return p;
}

/* parse_message - header fields up to the blank line (or a line that is not one), then the body */
static void
parse_message(const char *path, const char *text, size_t len, struct message *m)
{
	size_t pos = 0, cap = 0;

	m->path = path;
	while (pos < len) {
		size_t eol = pos, end;
		const char *colon;

		while (eol < len && text[eol] != '\n')
			eol++;
		end = eol > pos && text[eol - 1] == '\r' ? eol - 1 : eol;
		if (end == pos) { /* the blank line */
			pos = eol < len ? eol + 1 : len;
			break;
		}
		if ((text[pos] == ' ' || text[pos] == '\t') && m->nheaders > 0) {
			struct header *h = &m->headers[m->nheaders - 1];
			size_t old = strlen(h->value);

			h->value = realloc(h->value, old + 1 + (end - pos) + 1);
			if (h->value == NULL)
				abort();
			h->value[old] = '\n';
			memcpy(h->value + old + 1, text + pos, end - pos);
			h->value[old + 1 + end - pos] = '\0';
			pos = eol + 1;
			continue;
		}
		colon = memchr(text + pos, ':', end - pos);
		if (colon == NULL)
			break; /* not a header field: the body starts here */
		if (m->nheaders == cap) {
			cap = cap ? cap * 2 : 16;
			m->headers = realloc(m->headers, cap * sizeof(*m->headers));
			if (m->headers == NULL)
				abort();
		}
		m->headers[m->nheaders].name = xstrndup(text + pos, (size_t)(colon - (text + pos)));
		colon++;
		while (colon < text + end && (*colon == ' ' || *colon == '\t'))
			colon++;
		m->headers[m->nheaders].value = xstrndup(colon, (size_t)(text + end - colon));
		m->nheaders++;
		pos = eol + 1;
	}
	if (pos > len)
		pos = len;
	/* The body with every line ending in CRLF, as SMTP carries it. */
	m->body = malloc((len - pos) * 2 + 1);
	if (m->body == NULL)
		abort();
	m->body_len = 0;
	for (size_t i = pos; i < len; i++) {
		if (text[i] == '\n' && (i == pos || text[i - 1] != '\r'))
			m->body[m->body_len++] = '\r';
		m->body[m->body_len++] = text[i];
	}
}

/* add_file - one corpus message */
static void
add_file(const char *path)
{
	size_t len;
	char *text = read_file(path, &len);

	if (text == NULL) {
		fprintf(stderr, "milterload: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	corpus = realloc(corpus, (ncorpus + 1) * sizeof(*corpus));
	if (corpus == NULL)
		abort();
	memset(&corpus[ncorpus], 0, sizeof(*corpus));
	parse_message(xstrndup(path, strlen(path)), text, len, &corpus[ncorpus]);
	ncorpus++;
	free(text);
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* add_path - a file, or every regular file of a directory in name order */
static void
add_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "milterload: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		add_file(path);
		return;
	}
	d = opendir(path);
	if (d == NULL) {
		fprintf(stderr, "milterload: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	while ((e = readdir(d)) != NULL) {
		char *full;
		struct stat fst;

		if (e->d_name[0] == '.')
			continue;
		full = malloc(strlen(path) + strlen(e->d_name) + 2);
		if (full == NULL)
			abort();
		sprintf(full, "%s/%s", path, e->d_name);
		if (stat(full, &fst) == 0 && S_ISREG(fst.st_mode)) {
			names = realloc(names, (n + 1) * sizeof(*names));
			if (names == NULL)
				abort();
			names[n++] = full;
		} else {
			free(full);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), compare_names);
	for (size_t i = 0; i < n; i++) {
		add_file(names[i]);
		free(names[i]);
	}
	free(names);
}

/* ------------------------------------------------------------------------ */
/* The wire                                                                  */
/* ------------------------------------------------------------------------ */

struct conn {
	int fd;
	uint32_t protocol; /* the milter's answer to our offer */
	uint32_t actions;
	char *buf; /* the last reply's data */
	size_t cap;
	/* Packets not sent yet, the last one perhaps under construction. */
	char *out;
	size_t out_len, out_cap;
	size_t pkt_start;
};

/* connect_milter - a connected socket to opt.socket, or -1 */
static int
connect_milter(void)
{
	const char *s = opt.socket;
	int fd;

	if (strncmp(s, "unix:", 5) == 0 || strncmp(s, "local:", 6) == 0 || s[0] == '/') {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		const char *path = s[0] == '/' ? s : strchr(s, ':') + 1;

		if (strlen(path) >= sizeof(sun.sun_path))
			return -1;
		strcpy(sun.sun_path, path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			close(fd);
			return -1;
		}
		return fd;
	}
	if (strncmp(s, "inet:", 5) == 0) {
		char port[16], host[256];
		const char *at = strchr(s + 5, '@');
		struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai;

		snprintf(port, sizeof(port), "%.*s", at ? (int)(at - (s + 5)) : (int)strlen(s + 5),
			 s + 5);
		snprintf(host, sizeof(host), "%s", at ? at + 1 : "127.0.0.1");
		if (getaddrinfo(host, port, &hints, &ai) != 0)
			return -1;
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			close(fd);
			fd = -1;
		}
		freeaddrinfo(ai);
		return fd;
	}
	return -1;
}

/* out_reserve - room for n more bytes in the packet under construction */
static void
out_reserve(struct conn *c, size_t n)
{
	if (c->out_len + n <= c->out_cap)
		return;
	c->out_cap = (c->out_len + n) * 2;
	c->out = realloc(c->out, c->out_cap);
	if (c->out == NULL)
		abort();
}

/* out_add - append bytes to the packet */
static void
out_add(struct conn *c, const void *data, size_t len)
{
	out_reserve(c, len);
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
}

/* out_str - append a string with its NUL */
static void
out_str(struct conn *c, const char *s)
{
	out_add(c, s, strlen(s) + 1);
}

/* out_begin - start a packet of command cmd (length filled in by send_packet) */
static void
out_begin(struct conn *c, char cmd)
{
	c->pkt_start = c->out_len;
	out_reserve(c, 5);
	c->out_len += 5;
	c->out[c->pkt_start + 4] = cmd;
}

/* write_all - the whole buffer, or -1 */
static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* flush - write every pending packet */
static int
flush(struct conn *c)
{
	int rc = write_all(c->fd, c->out, c->out_len);

	c->out_len = 0;
	return rc;
}

/*
 * send_packet - finish the packet under construction.  Like Postfix, packets
 * are buffered and written together when a reply is awaited (or the buffer
 * is large), so macros and their command travel in one write.
 */
static int
send_packet(struct conn *c)
{
	uint32_t len = htonl((uint32_t)(c->out_len - c->pkt_start - 4));

	memcpy(c->out + c->pkt_start, &len, 4);
	return c->out_len >= 65536 ? flush(c) : 0;
}

/* read_all - exactly len bytes within the reply timeout, or -1 */
static int
read_all(int fd, char *p, size_t len)
{
	double until = now() + opt.reply_timeout;

	while (len > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		double left = until - now();
		ssize_t n;

		if (left <= 0)
			return -1;
		if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* read_packet - one reply: its command, its data in c->buf (NUL-terminated) */
static int
read_packet(struct conn *c, char *cmd_r, size_t *len_r)
{
	uint32_t len;

	if (c->out_len > 0 && flush(c) < 0)
		return -1;
	if (read_all(c->fd, (char *)&len, 4) < 0)
		return -1;
	len = ntohl(len);
	if (len == 0 || len > MAX_PACKET)
		return -1;
	if (len > c->cap) {
		c->cap = len;
		c->buf = realloc(c->buf, c->cap + 1);
		if (c->buf == NULL)
			abort();
	}
	if (read_all(c->fd, c->buf, len) < 0)
		return -1;
	*cmd_r = c->buf[0];
	memmove(c->buf, c->buf + 1, len - 1);
	c->buf[len - 1] = '\0';
	*len_r = len - 1;
	return 0;
}

/*
 * wait_reply - read replies until one that answers the command: modifications
 * (only valid at EOM) and progress are counted on the way.  Returns the
 * answer ('c', 'a', 'r', 't', 'd', 's', or 'y' turned into 'r'/'t'), or 0 on
 * a protocol or connection error.
 */
static char
wait_reply(struct conn *c, bool at_eom, struct counters *k)
{
	for (;;) {
		char cmd;
		size_t len;

		if (read_packet(c, &cmd, &len) < 0) {
			complain("no reply from the milter (closed, timed out or garbled)");
			return 0;
		}
		switch (cmd) {
		case SMFIR_CONTINUE:
		case SMFIR_ACCEPT:
		case SMFIR_REJECT:
		case SMFIR_TEMPFAIL:
		case SMFIR_DISCARD:
		case SMFIR_SKIP: return cmd;
		case SMFIR_REPLYCODE:
			if (len >= 3 && c->buf[0] == '4')
				return SMFIR_TEMPFAIL;
			if (len >= 3 && c->buf[0] == '5')
				return SMFIR_REJECT;
			complain("bad reply code '%.20s'", c->buf);
			return 0;
		case SMFIR_PROGRESS: k->progress++; continue;
		case SMFIR_CONN_FAIL:
		case SMFIR_SHUTDOWN: return SMFIR_TEMPFAIL;
		default: break;
		}
		if (!at_eom) {
			complain("modification '%c' before end of message", cmd);
			return 0;
		}
		switch (cmd) {
		case SMFIR_ADDHEADER: k->addheader++; break;
		case SMFIR_INSHEADER: k->insheader++; break;
		case SMFIR_CHGHEADER: k->chgheader++; break;
		case SMFIR_QUARANTINE: k->quarantine++; break;
		case SMFIR_ADDRCPT:
		case SMFIR_DELRCPT:
		case SMFIR_ADDRCPT_PAR:
		case SMFIR_REPLBODY:
		case SMFIR_CHGFROM: k->other_mods++; break;
		default: complain("unknown reply '%c' (0x%02x)", cmd, (unsigned char)cmd); return 0;
		}
	}
}

/* send_macros - one SMFIC_MACRO packet for the command stage, with name/value pairs */
static int
send_macros(struct conn *c, char stage, const char *const *pairs)
{
	out_begin(c, SMFIC_MACRO);
	out_add(c, &stage, 1);
	for (; pairs[0] != NULL; pairs += 2) {
		out_str(c, pairs[0]);
		out_str(c, pairs[1]);
	}
	return send_packet(c);
}

/*
 * step - send the packet under construction; when the milter answers this
 * step (no_reply not in its flags), read the answer.  Returns the answer,
 * 'c' for an unanswered step, or 0 on error.
 */
static char
step(struct conn *c, uint32_t no_reply, struct counters *k)
{
	if (send_packet(c) < 0) {
		complain("cannot send to the milter: %s", strerror(errno));
		return 0;
	}
	if (c->protocol & no_reply)
		return SMFIR_CONTINUE;
	return wait_reply(c, false, k);
}

/* open_session - connect, negotiate, CONNECT and HELO; false on error or refusal */
static bool
open_session(struct conn *c, struct counters *k, enum outcome *refused)
{
	static const uint32_t version = 6;
	uint32_t words[3] = { htonl(version), htonl(OFFERED_ACTIONS), htonl(OFFERED_PROTOCOL) };
	const char *conn_macros[] = { "j",
				      "mta.bench.example",
				      "{daemon_name}",
				      "milterload",
				      "{client_addr}",
				      opt.client_addr,
				      "{client_name}",
				      opt.client_name,
				      "_",
				      "client [127.0.0.1]",
				      NULL };
	const char *helo_macros[] = { "{tls_version}", "", NULL };
	char cmd;
	size_t len;
	uint16_t port = htons(40000);
	char family = SMFIA_INET;

	*refused = O_NONE;
	c->fd = connect_milter();
	if (c->fd < 0) {
		complain("cannot connect to %s: %s", opt.socket, strerror(errno));
		return false;
	}
	out_begin(c, SMFIC_OPTNEG);
	out_add(c, words, sizeof(words));
	if (send_packet(c) < 0 || read_packet(c, &cmd, &len) < 0 || cmd != SMFIC_OPTNEG ||
	    len < 12) {
		complain("option negotiation failed");
		return false;
	}
	memcpy(words, c->buf, 12);
	c->actions = ntohl(words[1]);
	c->protocol = ntohl(words[2]);
	if (c->protocol & ~(uint32_t)(OFFERED_PROTOCOL | SMFIP_MDS_256K | SMFIP_MDS_1M)) {
		complain("the milter asked for protocol steps not offered (0x%x)", c->protocol);
		return false;
	}
	if (send_macros(c, SMFIC_CONNECT, conn_macros) < 0)
		return false;
	if (!(c->protocol & SMFIP_NOCONNECT)) {
		out_begin(c, SMFIC_CONNECT);
		out_str(c, opt.client_name);
		out_add(c, &family, 1);
		out_add(c, &port, 2);
		out_str(c, opt.client_addr);
		cmd = step(c, SMFIP_NR_CONN, k);
		if (cmd == 0)
			return false;
		if (cmd != SMFIR_CONTINUE && cmd != SMFIR_ACCEPT) {
			*refused = cmd == SMFIR_TEMPFAIL ? O_TEMPFAIL : O_REJECT;
			return false;
		}
	}
	if (send_macros(c, SMFIC_HELO, helo_macros) < 0)
		return false;
	if (!(c->protocol & SMFIP_NOHELO)) {
		out_begin(c, SMFIC_HELO);
		out_str(c, opt.helo);
		cmd = step(c, SMFIP_NR_HELO, k);
		if (cmd == 0)
			return false;
		if (cmd != SMFIR_CONTINUE && cmd != SMFIR_ACCEPT) {
			*refused = cmd == SMFIR_TEMPFAIL ? O_TEMPFAIL : O_REJECT;
			return false;
		}
	}
	return true;
}

/* refusal - the outcome of a non-continue answer before EOM */
static enum outcome
refusal(char cmd)
{
	switch (cmd) {
	case SMFIR_ACCEPT: return O_ACCEPT;
	case SMFIR_REJECT: return O_REJECT;
	case SMFIR_TEMPFAIL: return O_TEMPFAIL;
	case SMFIR_DISCARD: return O_DISCARD;
	default: return O_ERROR;
	}
}

/*
 * send_message - one transaction on an open session.  Returns its outcome;
 * O_ERROR means the connection is no longer usable.
 */
static enum outcome
send_message(struct conn *c, const struct message *m, long seq, struct counters *k)
{
	char qid[32], from[512], rcpt[512];
	const char *mail_macros[] = { "i",    qid, "{mail_addr}", opt.from, "{mail_mailer}",
				      "smtp", NULL };
	const char *rcpt_macros[] = { "{rcpt_addr}", opt.rcpt, "{rcpt_mailer}", "smtp", NULL };
	const char *eom_macros[] = { "i", qid, NULL };
	const char *none[] = { NULL };
	char cmd;

	snprintf(qid, sizeof(qid), "B%09lX", seq);
	snprintf(from, sizeof(from), "<%s>", opt.from);
	snprintf(rcpt, sizeof(rcpt), "<%s>", opt.rcpt);

	if (send_macros(c, SMFIC_MAIL, mail_macros) < 0)
		return O_ERROR;
	if (!(c->protocol & SMFIP_NOMAIL)) {
		out_begin(c, SMFIC_MAIL);
		out_str(c, from);
		out_str(c, "BODY=8BITMIME");
		if ((cmd = step(c, SMFIP_NR_MAIL, k)) != SMFIR_CONTINUE)
			goto early;
	}
	if (send_macros(c, SMFIC_RCPT, rcpt_macros) < 0)
		return O_ERROR;
	if (!(c->protocol & SMFIP_NORCPT)) {
		out_begin(c, SMFIC_RCPT);
		out_str(c, rcpt);
		if ((cmd = step(c, SMFIP_NR_RCPT, k)) != SMFIR_CONTINUE)
			goto early;
	}
	if (!(c->protocol & SMFIP_NODATA)) {
		if (send_macros(c, SMFIC_DATA, none) < 0)
			return O_ERROR;
		out_begin(c, SMFIC_DATA);
		if ((cmd = step(c, SMFIP_NR_DATA, k)) != SMFIR_CONTINUE)
			goto early;
	}
	if (!(c->protocol & SMFIP_NOHDRS)) {
		for (size_t i = 0; i < m->nheaders; i++) {
			out_begin(c, SMFIC_HEADER);
			out_str(c, m->headers[i].name);
			if (c->protocol & SMFIP_HDR_LEADSPC)
				out_add(c, " ", 1);
			out_str(c, m->headers[i].value);
			if ((cmd = step(c, SMFIP_NR_HDR, k)) != SMFIR_CONTINUE)
				goto early;
		}
	}
	if (send_macros(c, SMFIC_EOH, none) < 0)
		return O_ERROR;
	if (!(c->protocol & SMFIP_NOEOH)) {
		out_begin(c, SMFIC_EOH);
		if ((cmd = step(c, SMFIP_NR_EOH, k)) != SMFIR_CONTINUE)
			goto early;
	}
	if (!(c->protocol & SMFIP_NOBODY)) {
		for (size_t off = 0; off < m->body_len; off += CHUNK) {
			size_t n = m->body_len - off < CHUNK ? m->body_len - off : CHUNK;

			out_begin(c, SMFIC_BODY);
			out_add(c, m->body + off, n);
			cmd = step(c, SMFIP_NR_BODY, k);
			if (cmd == SMFIR_SKIP)
				break;
			if (cmd != SMFIR_CONTINUE)
				goto early;
		}
	}
	if (send_macros(c, SMFIC_BODYEOB, eom_macros) < 0)
		return O_ERROR;
	out_begin(c, SMFIC_BODYEOB);
	if (send_packet(c) < 0)
		return O_ERROR;
	cmd = wait_reply(c, true, k);
	if (cmd == SMFIR_CONTINUE)
		return O_ACCEPT;
	if (cmd == SMFIR_SKIP) {
		complain("skip as the reply to end of message");
		return O_ERROR;
	}
	return refusal(cmd);

early:
	/* Refused (or accepted) before the end: the MTA aborts the milter's transaction. */
	if (cmd == 0)
		return O_ERROR;
	if (cmd == SMFIR_SKIP) {
		complain("skip outside the body");
		return O_ERROR;
	}
	out_begin(c, SMFIC_ABORT);
	if (send_packet(c) < 0 || flush(c) < 0)
		return O_ERROR;
	return refusal(cmd);
}

/* count - one outcome into the counters */
static void
count(struct counters *k, enum outcome o)
{
	k->sent++;
	switch (o) {
	case O_ACCEPT: k->accept++; break;
	case O_REJECT: k->reject++; break;
	case O_TEMPFAIL: k->tempfail++; break;
	case O_DISCARD: k->discard++; break;
	default: k->errors++; break;
	}
}

/* worker - sessions of up to -k messages each, until the messages or the time run out */
static void *
worker(void *arg)
{
	struct conn c = { .fd = -1 };
	struct counters k = { 0 };

	(void)arg;
	for (;;) {
		long seq = atomic_fetch_add(&next_message, 1);
		double t0;
		enum outcome refused;

		if (seq >= opt.total || now() > deadline)
			break;
		t0 = now();
		if (!open_session(&c, &k, &refused)) {
			count(&k, refused != O_NONE ? refused : O_ERROR);
			latency_ms[seq] = (now() - t0) * 1000;
		} else {
			for (int i = 0; i < opt.per_connection; i++) {
				const struct message *m = &corpus[seq % (long)ncorpus];
				enum outcome o = send_message(&c, m, seq, &k);

				count(&k, o);
				latency_ms[seq] = (now() - t0) * 1000;
				if (o == O_ERROR) {
					complain("message %ld (%s) failed", seq, m->path);
					break;
				}
				if (i + 1 == opt.per_connection)
					break;
				seq = atomic_fetch_add(&next_message, 1);
				if (seq >= opt.total || now() > deadline)
					break;
				t0 = now();
			}
			out_begin(&c, SMFIC_QUIT);
			send_packet(&c);
			flush(&c);
		}
		if (c.fd >= 0)
			close(c.fd);
		c.fd = -1;
		c.out_len = 0;
	}
	free(c.buf);
	free(c.out);
	pthread_mutex_lock(&totals_lock);
	totals.sent += k.sent;
	totals.accept += k.accept;
	totals.reject += k.reject;
	totals.tempfail += k.tempfail;
	totals.discard += k.discard;
	totals.errors += k.errors;
	totals.addheader += k.addheader;
	totals.insheader += k.insheader;
	totals.chgheader += k.chgheader;
	totals.progress += k.progress;
	totals.quarantine += k.quarantine;
	totals.other_mods += k.other_mods;
	pthread_mutex_unlock(&totals_lock);
	return NULL;
}

static int
compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* percentile - nearest rank of sorted v[n] */
static double
percentile(const double *v, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	return v[rank > n ? n - 1 : rank - 1];
}

/* parse_int - a positive number or usage */
static long
parse_int(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end != '\0' || v <= 0)
		usage();
	return v;
}

int
main(int argc, char **argv)
{
	pthread_t *threads;
	double t0, wall, *done, bytes = 0;
	size_t ndone = 0;
	int c;

	opt = (struct options){
		.from = "sender@bench.example.org",
		.rcpt = "alice@example.com",
		.helo = "client.bench.example.org",
		.client_addr = "127.0.0.1",
		.client_name = "localhost",
		.total = 1000,
		.connections = 10,
		.per_connection = 1,
		.time_limit = 300,
		.reply_timeout = 60,
	};
	while ((c = getopt(argc, argv, "p:c:n:k:T:w:f:r:H:a:v")) != -1) {
		switch (c) {
		case 'p': opt.socket = optarg; break;
		case 'c': opt.connections = (int)parse_int(optarg); break;
		case 'n': opt.total = parse_int(optarg); break;
		case 'k': opt.per_connection = (int)parse_int(optarg); break;
		case 'T': opt.time_limit = (int)parse_int(optarg); break;
		case 'w': opt.reply_timeout = (int)parse_int(optarg); break;
		case 'f': opt.from = optarg; break;
		case 'r': opt.rcpt = optarg; break;
		case 'H': opt.helo = optarg; break;
		case 'a': opt.client_addr = optarg; break;
		case 'v': opt.verbose = true; break;
		default: usage();
		}
	}
	if (opt.socket == NULL || optind == argc || opt.connections > 1000)
		usage();
	for (int i = optind; i < argc; i++)
		add_path(argv[i]);
	if (ncorpus == 0) {
		fprintf(stderr, "milterload: no messages in the corpus\n");
		return 2;
	}
	latency_ms = malloc((size_t)opt.total * sizeof(*latency_ms));
	done = malloc((size_t)opt.total * sizeof(*done));
	threads = calloc((size_t)opt.connections, sizeof(*threads));
	if (latency_ms == NULL || done == NULL || threads == NULL)
		abort();
	for (long i = 0; i < opt.total; i++)
		latency_ms[i] = -1;

	t0 = now();
	deadline = t0 + opt.time_limit;
	for (int i = 0; i < opt.connections; i++)
		if (pthread_create(&threads[i], NULL, worker, NULL) != 0) {
			fprintf(stderr, "milterload: cannot start thread %d\n", i);
			return 2;
		}
	for (int i = 0; i < opt.connections; i++)
		pthread_join(threads[i], NULL);
	wall = now() - t0;

	for (long i = 0; i < opt.total; i++)
		if (latency_ms[i] >= 0) {
			done[ndone++] = latency_ms[i];
			bytes += (double)corpus[i % (long)ncorpus].body_len;
		}
	qsort(done, ndone, sizeof(*done), compare_doubles);
	printf("milterload target=%s corpus=%zu connections=%d per_connection=%d sent=%ld "
	       "accept=%ld reject=%ld tempfail=%ld discard=%ld errors=%ld unsent=%ld "
	       "addheader=%ld insheader=%ld chgheader=%ld quarantine=%ld other_mods=%ld "
	       "progress=%ld wall_s=%.3f msgs_per_s=%.1f body_mb_per_s=%.2f p50_ms=%.2f "
	       "p99_ms=%.2f max_ms=%.2f\n",
	       opt.socket, ncorpus, opt.connections, opt.per_connection, totals.sent, totals.accept,
	       totals.reject, totals.tempfail, totals.discard, totals.errors,
	       opt.total - totals.sent, totals.addheader, totals.insheader, totals.chgheader,
	       totals.quarantine, totals.other_mods, totals.progress, wall,
	       (double)totals.sent / wall, bytes / wall / 1e6, percentile(done, ndone, 50),
	       percentile(done, ndone, 99), ndone ? done[ndone - 1] : 0.0);
	free(done);
	free(latency_ms);
	free(threads);
	return totals.errors > 0 ? 1 : 0;
}
