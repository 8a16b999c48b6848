/*
 * resolver.h - our DNS layer under libspf2: the core's shared resolver
 * with a per-query timeout, an overall deadline per evaluation, and the
 * RFC 7208 void-lookup and DNS-term counts.
 */
#ifndef SPF_RESOLVER_H
#define SPF_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>

#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <spf2/spf.h>

#include <mxparity/module.h>

struct spf_resolver;

/* spf_resolver_new - the core's resolver for upstream "system" (resolv.conf) or "ADDR[:PORT]" */
struct spf_resolver *spf_resolver_new(const struct mxp_host *host, const char *upstream,
				      unsigned query_timeout_ms, char *err, size_t errlen);
void spf_resolver_free(struct spf_resolver *r);
/* spf_resolver_layer - the libspf2 DNS layer backed by r (owned by r) */
SPF_dns_server_t *spf_resolver_layer(struct spf_resolver *r);

#define SPF_MAX_DNS_TERMS 10
#define SPF_FOLLOW_UPS 16

/* One evaluation's bookkeeping, kept per thread while libspf2 runs. */
struct spf_eval {
	long long deadline_ms; /* CLOCK_MONOTONIC milliseconds */
	unsigned void_lookups; /* NXDOMAIN or empty answers */
	unsigned queries;
	unsigned failures; /* queries that timed out, failed or missed the deadline */
	/* The last query: for a fail, the exp= lookup (RFC 7208 6.2 lets it fail). */
	ns_type last_type;
	bool last_failed, last_void;
	/*
	 * RFC 7208 4.6.4: at most 10 terms that query DNS in the whole
	 * evaluation, includes and redirects too (libspf2 counts per record).
	 * A term is a query other than the first (the record itself) and the
	 * address lookups of the names the last MX or PTR answer gave.
	 */
	unsigned terms;
	unsigned over_limit_at; /* the query that made it 11, or 0 */
	char follow_ups[SPF_FOLLOW_UPS][256];
	unsigned nfollow_ups;
};

/* spf_clock_ms - CLOCK_MONOTONIC in milliseconds */
long long spf_clock_ms(void);
/* spf_eval_begin - start counting for this thread; nothing may run past deadline_ms */
void spf_eval_begin(struct spf_eval *ev, long long deadline_ms);
/* spf_eval_end - stop counting */
void spf_eval_end(void);

#endif
