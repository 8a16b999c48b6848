/*
 * check_spf_threads.c - the spf module evaluating on many threads at once
 * over the core's shared resolver, as the daemon's sessions do: a tiny DNS
 * server on loopback answers every TXT query with an SPF record, and each
 * thread runs its own transactions for senders of names no other thread
 * asks for, so every evaluation waits on a real query while others poll.
 * Built for ThreadSanitizer by .ci/run (make check-modules).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "check_mxparity.h"
#include "check_session.h"

#define THREADS 8
#define MESSAGES 12
#define RECORD "v=spf1 ip4:192.0.2.1 -all"

struct dns_server {
	int fd;
	unsigned short port;
	atomic_bool stop;
	atomic_uint queries;
	pthread_t thread;
};

/* question_end - the offset past the question of a query, or 0 if malformed */
static size_t
question_end(const unsigned char *q, size_t len)
{
	size_t o = 12;

	while (o < len && q[o] != 0) {
		if (q[o] > 63)
			return 0;
		o += q[o] + 1u;
	}
	return o + 5 <= len ? o + 5 : 0; /* the root label, QTYPE, QCLASS */
}

/* answer - the reply to one query: the TXT record for TXT, no data otherwise */
static size_t
answer(const unsigned char *q, size_t len, unsigned char *r, size_t rmax)
{
	size_t qend = question_end(q, len), o, rdlen = strlen(RECORD);
	bool txt;

	if (qend == 0 || qend + 12 + 1 + rdlen > rmax)
		return 0;
	txt = q[qend - 4] == 0 && q[qend - 3] == 16;
	memcpy(r, q, qend);
	r[2] = 0x84 | (q[2] & 0x01); /* QR, AA, RD as asked */
	r[3] = 0x80;		     /* RA, NOERROR */
	r[4] = 0, r[5] = 1;	     /* QDCOUNT */
	r[6] = 0, r[7] = txt ? 1 : 0;
	memset(r + 8, 0, 4); /* no authority, no additional records */
	o = qend;
	if (txt) {
		const unsigned char rr[] = { 0xc0, 12, 0, 16, 0, 1, 0, 0, 0x0e, 0x10 };

		memcpy(r + o, rr, sizeof(rr));
		o += sizeof(rr);
		r[o++] = 0;
		r[o++] = (unsigned char)(rdlen + 1);
		r[o++] = (unsigned char)rdlen;
		memcpy(r + o, RECORD, rdlen);
		o += rdlen;
	}
	return o;
}

/* serve - answer until told to stop */
static void *
serve(void *arg)
{
	struct dns_server *d = arg;
	unsigned char q[512], r[512];

	while (!atomic_load(&d->stop)) {
		struct pollfd pfd = { .fd = d->fd, .events = POLLIN };
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n;
		size_t rlen;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recvfrom(d->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
		if (n < 12)
			continue;
		rlen = answer(q, (size_t)n, r, sizeof(r));
		atomic_fetch_add(&d->queries, 1);
		if (rlen > 0)
			sendto(d->fd, r, rlen, 0, (struct sockaddr *)&from, flen);
	}
	return NULL;
}

/* server_start - a UDP DNS server on a free loopback port */
static void
server_start(struct dns_server *d)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	memset(d, 0, sizeof(*d));
	d->fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(d->fd, 0);
	ck_assert_int_eq(bind(d->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(d->fd, (struct sockaddr *)&a, &alen), 0);
	d->port = ntohs(a.sin_port);
	ck_assert_int_eq(pthread_create(&d->thread, NULL, serve, d), 0);
}

static void
server_stop(struct dns_server *d)
{
	atomic_store(&d->stop, true);
	pthread_join(d->thread, NULL);
	close(d->fd);
}

struct worker {
	struct mxp_policy *pol;
	int id;
	unsigned pass, fail;
	char summary[512];
};

/* work - MESSAGES transactions, each for a sender domain of its own */
static void *
work(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < MESSAGES; i++) {
		char from[128];
		struct test_txn t = { .client_ip = i % 2 == 0 ? "192.0.2.1" : "192.0.2.99" };

		snprintf(from, sizeof(from), "<s@t%d-m%d.example>", w->id, i);
		t.from = from;
		run_txn(w->pol, &t);
		if (strstr(t.summary, " spf=pass ") != NULL && t.verdict == MXP_CONTINUE)
			w->pass++;
		else if (strstr(t.summary, " spf=fail ") != NULL && t.verdict == MXP_REJECT)
			w->fail++;
		else
			snprintf(w->summary, sizeof(w->summary), "%s", t.summary);
	}
	return NULL;
}

START_TEST(test_concurrent_evaluations_share_one_resolver)
{
	struct dns_server d;
	struct worker w[THREADS];
	pthread_t th[THREADS];
	struct mxp_policy *pol;
	char *text;

	server_start(&d);
	/* The record's domain rejects the second client: fail is on_fail = reject. */
	text = g_strdup_printf(POLICY_HEAD "module spf {\n  resolver = \"127.0.0.1:%u\"\n"
					   "  on_pass = accept\n}\n",
			       d.port);
	pol = fixture_policy(text);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .pol = pol, .id = i };
		ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(w[i].pass == MESSAGES / 2 && w[i].fail == MESSAGES / 2,
			      "thread %d: %u pass, %u fail; %s", i, w[i].pass, w[i].fail,
			      w[i].summary);
	}
	/* Every domain was asked for once at least: nothing came from elsewhere. */
	ck_assert_uint_ge(atomic_load(&d.queries), THREADS * MESSAGES);
	mxp_policy_unref(pol);
	server_stop(&d);
	g_free(text);
}
END_TEST

Suite *suite_spf_threads(void);

Suite *
suite_spf_threads(void)
{
	Suite *s = suite_create("spf_threads");
	TCase *tc = tcase_create("resolver");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_concurrent_evaluations_share_one_resolver);
	suite_add_tcase(s, tc);
	return s;
}
