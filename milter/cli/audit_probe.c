/*
 * audit_probe.c - a small SMTP client for the audit's probes, with
 * STARTTLS through OpenSSL.  Every step has a timeout, every reply is
 * bounded (line length, line count) and its text made printable before it
 * is shown: an MX's answers are hostile input like any other.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cli/audit_probe.h"

#define MAX_LINE 1024
#define MAX_LINES 100

struct conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	char buf[4096];
	size_t len;
	unsigned timeout_s;
	long long deadline_ms; /* the whole session: a server that trickles is cut off */
};

/* mono_ms - the monotonic clock in milliseconds */
static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* printable - text as one safe line: control bytes and non-ASCII become '?' */
static void
printable(char *out, size_t len, const char *in, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < len; i++)
		out[o++] =
			(unsigned char)in[i] >= 0x20 && (unsigned char)in[i] < 0x7f ? in[i] : '?';
	out[o] = '\0';
}

/* conn_open - TCP to address:port within the timeout; -1 with why */
static int
conn_open(struct conn *c, const char *address, unsigned port, char *why, size_t whylen)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sslen;
	struct timeval tv = { (time_t)c->timeout_s, 0 };
	struct pollfd p;
	int err = 0;
	socklen_t errlen = sizeof(err);

	if (strchr(address, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, address, &s6->sin6_addr) != 1)
			goto bad_address;
		sslen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, address, &s4->sin_addr) != 1)
			goto bad_address;
		sslen = sizeof(*s4);
	}
	c->fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (c->fd < 0 || fcntl(c->fd, F_SETFL, O_NONBLOCK) < 0) {
		snprintf(why, whylen, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(c->fd, (struct sockaddr *)&ss, sslen) < 0 && errno != EINPROGRESS) {
		snprintf(why, whylen, "connect: %s", strerror(errno));
		return -1;
	}
	p = (struct pollfd){ .fd = c->fd, .events = POLLOUT };
	if (poll(&p, 1, (int)c->timeout_s * 1000) <= 0) {
		snprintf(why, whylen, "connect: no answer within %u s", c->timeout_s);
		return -1;
	}
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0 || err != 0) {
		snprintf(why, whylen, "connect: %s", strerror(err != 0 ? err : errno));
		return -1;
	}
	/* Blocking from here on, each read and write bounded by the timeout. */
	fcntl(c->fd, F_SETFL, 0);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return 0;
bad_address:
	snprintf(why, whylen, "%s is not an address", address);
	return -1;
}

/* conn_close - TLS shut down, socket closed */
static void
conn_close(struct conn *c)
{
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		ERR_clear_error();
	}
	if (c->ctx != NULL)
		SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->ctx = NULL;
	c->fd = -1;
}

/* conn_send - all of data, in clear or over TLS; false on failure */
static bool
conn_send(struct conn *c, const char *data, size_t n)
{
	while (n > 0) {
		ssize_t w = c->ssl != NULL ? SSL_write(c->ssl, data, (int)n)
					   : send(c->fd, data, n, MSG_NOSIGNAL);

		if (w <= 0)
			return false;
		data += w;
		n -= (size_t)w;
	}
	return true;
}

/* conn_line - the next line (without CRLF) into out; false at the end or on a timeout */
static bool
conn_line(struct conn *c, char *out, size_t outlen)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		ssize_t r;

		if (nl != NULL || c->len == sizeof(c->buf)) {
			size_t n = nl != NULL ? (size_t)(nl - c->buf) : c->len;
			size_t keep = n > 0 && c->buf[n - 1] == '\r' ? n - 1 : n;

			printable(out, outlen, c->buf, keep < MAX_LINE ? keep : MAX_LINE);
			n = nl != NULL ? n + 1 : n;
			memmove(c->buf, c->buf + n, c->len - n);
			c->len -= n;
			return true;
		}
		if (mono_ms() > c->deadline_ms)
			return false;
		r = c->ssl != NULL
			    ? SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - c->len))
			    : recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (r <= 0)
			return false;
		c->len += (size_t)r;
	}
}

/*
 * conn_reply - one (multi-line) reply; all its lines go to lines when given.
 * A reply counts only when its last line came and every line had the same
 * code: anything else is code 0, so that no part of it is taken for the
 * answer to the next command.
 */
static void
conn_reply(struct conn *c, const char *stage, struct audit_reply *rep, GString *lines)
{
	char line[MAX_LINE + 1];
	int code = 0;

	memset(rep, 0, sizeof(*rep));
	snprintf(rep->stage, sizeof(rep->stage), "%s", stage);
	for (int i = 0; i < MAX_LINES && conn_line(c, line, sizeof(line)); i++) {
		bool coded = strlen(line) >= 3 && g_ascii_isdigit(line[0]) &&
			     g_ascii_isdigit(line[1]) && g_ascii_isdigit(line[2]) &&
			     (line[3] == '\0' || line[3] == ' ' || line[3] == '-');
		int this =
			coded ? (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0') : -1;

		if (lines != NULL)
			g_string_append_printf(lines, "%s\n", line);
		if (!coded || (i > 0 && this != code))
			break; /* not SMTP: nothing of it is believed */
		if (i == 0) {
			const char *t = line + (line[3] != '\0' ? 4 : 3);
			int n = 0;
			unsigned x, y, z;

			code = this;
			if (sscanf(t, "%1u.%3u.%3u%n", &x, &y, &z, &n) == 3 &&
			    (t[n] == ' ' || !t[n])) {
				snprintf(rep->xcode, sizeof(rep->xcode), "%u.%u.%u", x, y, z);
				t += n + (t[n] == ' ');
			}
			snprintf(rep->text, sizeof(rep->text), "%s", t);
		}
		if (line[3] != '-') {
			rep->code = code;
			return;
		}
	}
	snprintf(rep->text, sizeof(rep->text), "no complete SMTP reply");
	c->deadline_ms = 0; /* the rest of this session would be out of step: stop it */
}

/* command - one command line, then its reply */
static void
command(struct conn *c, const char *stage, const char *line, struct audit_reply *rep,
	GString *lines)
{
	GString *out = g_string_new(line);

	g_string_append(out, "\r\n");
	if (!conn_send(c, out->str, out->len)) {
		memset(rep, 0, sizeof(*rep));
		snprintf(rep->stage, sizeof(rep->stage), "%s", stage);
		snprintf(rep->text, sizeof(rep->text), "the connection failed while sending");
	} else {
		conn_reply(c, stage, rep, lines);
	}
	g_string_free(out, TRUE);
}

/* first_word - the first word after the code: the name a banner or EHLO announces */
static void
first_word(const char *text, char *out, size_t len)
{
	size_t n = strcspn(text, " ");

	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), text);
}

/* cert_facts - the server certificate's DNS names and its expiry */
static void
cert_facts(SSL *ssl, struct audit_probe_result *r)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	GENERAL_NAMES *names;
	GString *out = g_string_new(NULL);
	struct tm tm;

	if (cert == NULL) {
		g_string_free(out, TRUE);
		return;
	}
	names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names) && i < 20; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		char name[256];

		if (g->type != GEN_DNS)
			continue;
		printable(name, sizeof(name), (const char *)ASN1_STRING_get0_data(g->d.dNSName),
			  (size_t)ASN1_STRING_length(g->d.dNSName));
		g_string_append_printf(out, "%s%s", out->len > 0 ? "," : "", name);
	}
	if (names != NULL)
		GENERAL_NAMES_free(names);
	if (out->len == 0) {
		char cn[256] = "";

		X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
					  sizeof(cn));
		printable(r->tls_names, sizeof(r->tls_names), cn, strlen(cn));
	} else {
		snprintf(r->tls_names, sizeof(r->tls_names), "%s", out->str);
	}
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
		r->tls_not_after = timegm(&tm);
	g_string_free(out, TRUE);
	X509_free(cert);
}

/*
 * start_tls - STARTTLS and the handshake, with the MX's name from DNS as SNI
 * (what a sender asks for); certificates are reported, not verified, and
 * only the first look records them.
 */
static bool
start_tls(struct conn *c, const char *sni, struct audit_probe_result *r, bool first)
{
	struct audit_reply rep;
	char scratch[160];
	char *err = first ? r->tls_error : scratch;
	size_t errlen = first ? sizeof(r->tls_error) : sizeof(scratch);

	command(c, "TLS", "STARTTLS", &rep, NULL);
	if (rep.code != 220) {
		snprintf(err, errlen, "STARTTLS answered %d %.100s", rep.code, rep.text);
		return false;
	}
	ERR_clear_error();
	c->ctx = SSL_CTX_new(TLS_client_method());
	c->ssl = c->ctx != NULL ? SSL_new(c->ctx) : NULL;
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
	    (sni[0] != '\0' && SSL_set_tlsext_host_name(c->ssl, sni) != 1) ||
	    SSL_connect(c->ssl) != 1) {
		unsigned long e = ERR_get_error();
		const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;

		snprintf(err, errlen, "TLS handshake failed: %s",
			 why != NULL ? why : "closed or timed out");
		ERR_clear_error();
		return false;
	}
	if (first)
		cert_facts(c->ssl, r);
	c->len = 0; /* nothing read in clear may be taken as TLS data */
	return true;
}

/* session - connect, banner, EHLO, STARTTLS when offered; false when it cannot go on */
static bool
session(struct conn *c, const char *address, const char *mx_name,
	const struct audit_probe_plan *plan, struct audit_probe_result *r, bool first)
{
	char ehlo[300], why[160];
	GString *lines = g_string_new(NULL);
	struct audit_reply banner, reply;
	bool ok = false;

	c->fd = -1;
	c->len = 0;
	c->timeout_s = plan->timeout_s;
	/* A session has at most a dozen steps: six timeouts in all bound it. */
	c->deadline_ms = mono_ms() + 6LL * plan->timeout_s * 1000;
	if (conn_open(c, address, plan->port, why, sizeof(why)) < 0) {
		if (first)
			snprintf(r->connect_error, sizeof(r->connect_error), "%s", why);
		goto out;
	}
	conn_reply(c, "CONNECT", &banner, NULL);
	snprintf(ehlo, sizeof(ehlo), "EHLO %s", plan->helo);
	command(c, "EHLO", ehlo, &reply, lines);
	if (first) {
		r->connected = banner.code != 0;
		r->banner = banner;
		r->ehlo = reply;
		first_word(banner.text, r->banner_name, sizeof(r->banner_name));
		first_word(reply.text, r->ehlo_name, sizeof(r->ehlo_name));
		/* EHLO keywords are case-insensitive (RFC 5321 4.1.1.1). */
		char *lower = g_ascii_strdown(lines->str, -1);

		r->starttls = strstr(lower, "250-starttls\n") != NULL ||
			      strstr(lower, "250 starttls\n") != NULL;
		g_free(lower);
	}
	if (banner.code != 220 || reply.code != 250)
		goto out;
	/* The probes take TLS when the first look found it working, as a sender falls back
	 * to plain text when it does not; the first look records what failed. */
	if (first ? r->starttls : r->tls_ok) {
		if (!start_tls(c, mx_name, r, first))
			goto out;
		if (first)
			r->tls_ok = true;
		command(c, "EHLO", ehlo, &reply, NULL);
		if (reply.code != 250)
			goto out;
	}
	ok = true;
out:
	g_string_free(lines, TRUE);
	return ok;
}

/* eicar_message - a message with the EICAR test file attached, built here so that no file
 * of the source tree holds the string whole */
static GString *
eicar_message(const struct audit_probe_plan *plan)
{
	GString *m = g_string_new(NULL);
	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	/* Well-formed, so that no header check refuses it before the virus scanner does. */
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", gmtime_r(&now, &tm));
	g_string_append_printf(m, "Date: %s\r\nMessage-ID: <mxparity-audit.%ld.%ld@%s>\r\n", date,
			       (long)now, (long)getpid(), plan->helo);
	g_string_append_printf(m,
			       "From: <%s>\r\nTo: <%s>\r\nSubject: mxparity audit: EICAR test "
			       "(must be refused)\r\nMIME-Version: 1.0\r\nContent-Type: "
			       "multipart/mixed; boundary=\"mxparity-audit\"\r\n\r\n"
			       "--mxparity-audit\r\nContent-Type: text/plain\r\n\r\n"
			       "This message carries the EICAR anti-virus test file.\r\n"
			       "--mxparity-audit\r\nContent-Type: application/octet-stream; "
			       "name=\"eicar.com\"\r\nContent-Disposition: attachment; "
			       "filename=\"eicar.com\"\r\n\r\n",
			       plan->sender[0] != '\0' ? plan->sender : plan->known_rcpt,
			       plan->known_rcpt);
	g_string_append_printf(m, "X5O!P%%@AP[4\\PZX54(P^)7CC)7}$%s-%s-%s!$H+H*\r\n", "EICAR",
			       "STANDARD-ANTIVIRUS", "TEST-FILE");
	g_string_append(m, "--mxparity-audit--\r\n.\r\n");
	return m;
}

/* run_probe - one probe in a transaction of its own */
static void
run_probe(const char *address, const char *mx_name, const struct audit_probe_plan *plan,
	  struct audit_probe_result *r, enum audit_probe_kind k)
{
	struct conn c = { .fd = -1 };
	struct audit_reply *rep = &r->probe[k];
	const char *from = k == PROBE_SPF_FAIL ? plan->spf_fail_sender : plan->sender;
	const char *to = k == PROBE_UNKNOWN_RCPT ? plan->unknown_rcpt : plan->known_rcpt;
	char line[600];

	r->ran[k] = true;
	memset(rep, 0, sizeof(*rep));
	if (!session(&c, address, mx_name, plan, r, false)) {
		snprintf(rep->stage, sizeof(rep->stage), "CONNECT");
		snprintf(rep->text, sizeof(rep->text), "no SMTP session");
		goto out;
	}
	snprintf(line, sizeof(line), "MAIL FROM:<%s>", from);
	command(&c, "MAIL", line, rep, NULL);
	if (rep->code / 100 != 2)
		goto out;
	snprintf(line, sizeof(line), "RCPT TO:<%s>", to);
	command(&c, "RCPT", line, rep, NULL);
	if (rep->code / 100 != 2 || k == PROBE_UNKNOWN_RCPT || k == PROBE_CLEAN)
		goto quit;
	if (k == PROBE_SPF_FAIL) {
		/* Accepted at RCPT: a filter may still refuse at the end of DATA, but a
		 * message is not sent for it: that it got this far is the finding. */
		goto quit;
	}
	command(&c, "DATA", "DATA", rep, NULL);
	if (rep->code != 354)
		goto quit;
	{
		GString *m = eicar_message(plan);

		if (!conn_send(&c, m->str, m->len))
			snprintf(rep->text, sizeof(rep->text), "the connection failed in DATA");
		else
			conn_reply(&c, "EOM", rep, NULL);
		g_string_free(m, TRUE);
	}
quit : {
	struct audit_reply bye;

	/* No mail is left half sent: RSET, then QUIT. */
	command(&c, "RSET", "RSET", &bye, NULL);
	command(&c, "QUIT", "QUIT", &bye, NULL);
}
out:
	conn_close(&c);
}

void
audit_probe_run(const char *address, const char *mx_name, const struct audit_probe_plan *plan,
		struct audit_probe_result *r)
{
	struct conn c = { .fd = -1 };
	struct audit_reply bye;

	memset(r, 0, sizeof(*r));
	snprintf(r->address, sizeof(r->address), "%s", address);
	if (session(&c, address, mx_name, plan, r, true))
		command(&c, "QUIT", "QUIT", &bye, NULL);
	conn_close(&c);
	if (!r->connected)
		return;
	run_probe(address, mx_name, plan, r, PROBE_UNKNOWN_RCPT);
	run_probe(address, mx_name, plan, r, PROBE_EICAR);
	if (plan->spf_fail_sender != NULL)
		run_probe(address, mx_name, plan, r, PROBE_SPF_FAIL);
	run_probe(address, mx_name, plan, r, PROBE_CLEAN);
}

/* expected_stage - where probe k's check is made */
static bool
expected_stage(enum audit_probe_kind k, const char *stage)
{
	switch (k) {
	case PROBE_UNKNOWN_RCPT: return strcmp(stage, "RCPT") == 0;
	case PROBE_EICAR: return strcmp(stage, "EOM") == 0;
	case PROBE_SPF_FAIL: return strcmp(stage, "MAIL") == 0 || strcmp(stage, "RCPT") == 0;
	default: return true;
	}
}

bool
audit_probe_refused(const struct audit_probe_result *r, enum audit_probe_kind k)
{
	return r->ran[k] && (r->probe[k].code / 100 == 4 || r->probe[k].code / 100 == 5) &&
	       expected_stage(k, r->probe[k].stage);
}

bool
audit_probe_untested(const struct audit_probe_result *r, enum audit_probe_kind k)
{
	return r->ran[k] && (r->probe[k].code / 100 == 4 || r->probe[k].code / 100 == 5) &&
	       !expected_stage(k, r->probe[k].stage);
}

bool
audit_probe_accepted(const struct audit_probe_result *r, enum audit_probe_kind k)
{
	return r->ran[k] && r->probe[k].code / 100 == 2;
}

const char *
audit_probe_name(enum audit_probe_kind k)
{
	static const char *const names[PROBE_COUNT] = { "unknown_recipient", "eicar", "spf_fail",
							"clean" };

	return k < PROBE_COUNT ? names[k] : "?";
}
