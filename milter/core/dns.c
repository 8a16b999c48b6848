/*
 * dns.c - DNS for every module, on libunbound.
 *
 * Why libunbound: a full caching resolver in a library, thread safe with
 * one shared context, honouring TTLs, able to forward to a chosen server
 * or to use resolv.conf, and asynchronous, so every query has its own
 * timeout (libresolv's res_nquery has none of its own).
 *
 * Resolvers live in a registry keyed by their settings, so modules that
 * ask for the same settings share one cache, and a policy reload that
 * keeps the settings keeps the cache: the new snapshot takes a reference
 * before the old one lets go.
 *
 * Waiting threads take turns at driving libunbound: one at a time polls
 * ub_fd and runs ub_process, whose callbacks may complete any thread's
 * query; the others sleep on a condition variable that every answer and
 * every end of a turn signals.  (When each thread polled ub_fd itself, a
 * thread whose answer another one had just processed slept in poll for
 * its whole 20 ms slice: several times per message under load.)
 */
#include "config.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <glib.h>
#include <unbound.h>

#include "core/dns.h"
#include "util/error.h"
#include "util/resolver_addr.h"

#define POLL_SLICE_MS 20

struct mxp_dns {
	char *key; /* "upstream timeout", the registry's */
	unsigned refs;
	struct ub_ctx *ctx;
	unsigned query_timeout_ms;
	pthread_mutex_t lock;	 /* guards every query's finished flag and polling */
	pthread_cond_t answered; /* an answer came, or a poller's turn ended */
	bool polling;		 /* a thread is in poll/ub_process */
};

/* One answer: the public part first, so the pointer converts both ways. */
struct dns_answer {
	struct mxp_dns_answer pub;
	struct ub_result *ub;
};

/* One outstanding query. */
struct query {
	struct mxp_dns *dns;
	bool finished;
	int err;
	struct ub_result *result;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static GHashTable *registry; /* key -> struct mxp_dns * */

/* clock_ms - CLOCK_MONOTONIC in milliseconds */
static long long
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* dns_free - the context and the cache with it */
static void
dns_free(struct mxp_dns *dns)
{
	if (dns == NULL)
		return;
	if (dns->ctx != NULL)
		ub_ctx_delete(dns->ctx);
	pthread_mutex_destroy(&dns->lock);
	pthread_cond_destroy(&dns->answered);
	g_free(dns->key);
	g_free(dns);
}

/* dns_new - a libunbound context for upstream */
static struct mxp_dns *
dns_new(const char *upstream, unsigned query_timeout_ms, char **error_r)
{
	struct mxp_dns *dns = g_new0(struct mxp_dns, 1);
	int rc;

	pthread_mutex_init(&dns->lock, NULL);
	pthread_cond_init(&dns->answered, NULL);
	dns->query_timeout_ms = query_timeout_ms;
	dns->ctx = ub_ctx_create();
	if (dns->ctx == NULL) {
		mxp_error_set(error_r, "cannot create a libunbound context");
		goto fail;
	}
	/* Answers come back through a thread of libunbound's, delivered by ub_process. */
	rc = ub_ctx_async(dns->ctx, 1);
	/* Keep records in the server's order: RFC 7208 limits count MX/PTR names in order. */
	if (rc == 0)
		rc = ub_ctx_set_option(dns->ctx, "rrset-roundrobin:", "no");
	if (rc == 0 && strcmp(upstream, "system") == 0) {
		rc = ub_ctx_resolvconf(dns->ctx, NULL);
	} else if (rc == 0) {
		char addr[128];

		/* "127.0.0.1:5353" -> "127.0.0.1@5353", libunbound's form. */
		if (mxp_resolver_addr_parse(upstream, addr, sizeof(addr), error_r) < 0)
			goto fail;
		rc = ub_ctx_set_option(dns->ctx, "do-not-query-localhost:", "no");
		if (rc == 0)
			rc = ub_ctx_set_fwd(dns->ctx, addr);
		/* A forwarder answers everything, loopback's reverse zone too, which libunbound
		 * would otherwise answer itself (RFC 6303).  Last: it finalizes the settings. */
		if (rc == 0)
			rc = ub_ctx_zone_remove(dns->ctx, "127.in-addr.arpa.");
	}
	if (rc != 0) {
		mxp_error_set(error_r, "resolver %s: %s", upstream, ub_strerror(rc));
		goto fail;
	}
	return dns;
fail:
	dns_free(dns);
	return NULL;
}

struct mxp_dns *
mxp_dns_get(const char *upstream, unsigned query_timeout_ms, char **error_r)
{
	char *key =
		g_strdup_printf("%s %u", upstream != NULL ? upstream : "system", query_timeout_ms);
	struct mxp_dns *dns;

	pthread_mutex_lock(&registry_lock);
	if (registry == NULL)
		registry = g_hash_table_new(g_str_hash, g_str_equal);
	dns = g_hash_table_lookup(registry, key);
	if (dns != NULL) {
		dns->refs++;
		g_free(key);
	} else {
		dns = dns_new(upstream != NULL ? upstream : "system", query_timeout_ms, error_r);
		if (dns != NULL) {
			dns->key = key;
			dns->refs = 1;
			g_hash_table_insert(registry, dns->key, dns);
		} else {
			g_free(key);
		}
	}
	pthread_mutex_unlock(&registry_lock);
	return dns;
}

void
mxp_dns_put(struct mxp_dns *dns)
{
	bool last;

	if (dns == NULL)
		return;
	pthread_mutex_lock(&registry_lock);
	last = --dns->refs == 0;
	if (last)
		g_hash_table_remove(registry, dns->key);
	pthread_mutex_unlock(&registry_lock);
	if (last)
		dns_free(dns);
}

/* on_answer - libunbound's callback, on whichever thread ran ub_process */
static void
on_answer(void *data, int err, struct ub_result *result)
{
	struct query *q = data;

	pthread_mutex_lock(&q->dns->lock);
	q->err = err;
	q->result = result;
	q->finished = true;
	pthread_cond_broadcast(&q->dns->answered);
	pthread_mutex_unlock(&q->dns->lock);
}

/* wait_slice - until an answer or the end of a poller's turn, at most ms; lock held */
static void
wait_slice(struct mxp_dns *dns, long long ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&dns->answered, &dns->lock, &until);
}

/* resolve - one query, bounded by timeout_ms; NULL means timeout or error */
static struct ub_result *
resolve(struct mxp_dns *dns, const char *name, int type, unsigned timeout_ms)
{
	struct query *q = g_new0(struct query, 1);
	long long until = clock_ms() + timeout_ms;
	struct ub_result *result = NULL;
	bool cancel_failed = false;
	int id;

	q->dns = dns;
	if (ub_resolve_async(dns->ctx, name, type, 1 /* IN */, q, on_answer, &id) != 0) {
		g_free(q);
		return NULL;
	}
	pthread_mutex_lock(&dns->lock);
	while (!q->finished) {
		long long left = until - clock_ms();

		if (left <= 0 && !cancel_failed) {
			pthread_mutex_unlock(&dns->lock);
			/* Cancelled before its answer was delivered: no callback will come. */
			if (ub_cancel(dns->ctx, id) == 0) {
				g_free(q);
				return NULL;
			}
			/* Already answered: wait for it to be processed (by us or a poller). */
			cancel_failed = true;
			pthread_mutex_lock(&dns->lock);
			continue;
		}
		if (left <= 0)
			left = POLL_SLICE_MS;
		if (dns->polling) {
			wait_slice(dns, left > POLL_SLICE_MS ? POLL_SLICE_MS : left);
			continue;
		}
		/* Our turn: poll and process for every waiting thread. */
		dns->polling = true;
		pthread_mutex_unlock(&dns->lock);
		{
			struct pollfd pfd = { .fd = ub_fd(dns->ctx), .events = POLLIN };

			if (poll(&pfd, 1, left > POLL_SLICE_MS ? POLL_SLICE_MS : (int)left) > 0)
				ub_process(dns->ctx);
		}
		pthread_mutex_lock(&dns->lock);
		dns->polling = false;
		pthread_cond_broadcast(&dns->answered);
	}
	pthread_mutex_unlock(&dns->lock);
	if (q->err == 0)
		result = q->result;
	else if (q->result != NULL)
		ub_resolve_free(q->result);
	g_free(q);
	return result;
}

int
mxp_dns_query(struct mxp_dns *dns, const char *name, int rrtype, unsigned timeout_ms,
	      struct mxp_dns_answer **answer_r)
{
	struct ub_result *ub;
	struct dns_answer *a;

	*answer_r = NULL;
	if (dns == NULL || name == NULL)
		return -1;
	ub = resolve(dns, name, rrtype, timeout_ms != 0 ? timeout_ms : dns->query_timeout_ms);
	if (ub == NULL)
		return -1;
	a = g_new0(struct dns_answer, 1);
	a->ub = ub;
	a->pub.rcode = ub->rcode;
	a->pub.havedata = ub->havedata != 0;
	a->pub.nxdomain = ub->nxdomain != 0;
	a->pub.ttl = ub->ttl;
	for (a->pub.count = 0; ub->data != NULL && ub->data[a->pub.count] != NULL; a->pub.count++)
		;
	a->pub.data = (const unsigned char *const *)ub->data;
	a->pub.len = ub->len;
	a->pub.canonname = ub->canonname;
	*answer_r = &a->pub;
	return 0;
}

void
mxp_dns_answer_free(struct mxp_dns_answer *answer)
{
	struct dns_answer *a = (struct dns_answer *)answer;

	if (a == NULL)
		return;
	ub_resolve_free(a->ub);
	g_free(a);
}
