/*
 * resolver.c - the DNS layer libspf2 queries through: the core's shared
 * resolver (host->dns_query), with a per-query timeout, an overall
 * deadline per evaluation, and the RFC 7208 counts (void lookups, DNS
 * terms) kept per thread while libspf2 runs.
 */
#define _DEFAULT_SOURCE /* NETDB_SUCCESS and friends, strncasecmp */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <glib.h>

#include "resolver.h"
#include "rewrite.h"
#include "syntax.h"

/* A TXT record longer than this is hostile, not an SPF policy. */
#define SPF_MAX_RECORD 4096

struct spf_resolver {
	const struct mxp_host *host;
	struct mxp_dns *dns; /* the core's, shared */
	unsigned query_timeout_ms;
	SPF_dns_server_t layer;
};

static _Thread_local struct spf_eval *current_eval;

long long
spf_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
spf_eval_begin(struct spf_eval *ev, long long deadline_ms)
{
	memset(ev, 0, sizeof(*ev));
	ev->deadline_ms = deadline_ms;
	current_eval = ev;
}

void
spf_eval_end(void)
{
	current_eval = NULL;
}

/* wire_name - a domain name in uncompressed wire format, as text */
static bool
wire_name(const unsigned char *p, size_t len, char *out, size_t outlen)
{
	size_t o = 0, i = 0;

	while (i < len && p[i] != 0) {
		size_t l = p[i++];

		if (l > 63 || i + l > len || o + l + 2 > outlen)
			return false;
		if (o > 0)
			out[o++] = '.';
		memcpy(out + o, p + i, l);
		o += l;
		i += l;
	}
	out[o] = '\0';
	return i < len;
}

/* spaces_as_macro - every space of s written as %_, bounded like a record */
static GString *
spaces_as_macro(GString *s)
{
	GString *out = g_string_sized_new(s->len + 16);

	for (gsize i = 0; i < s->len && out->len < SPF_MAX_RECORD; i++) {
		if (s->str[i] == ' ')
			g_string_append(out, "%_");
		else
			g_string_append_c(out, s->str[i]);
	}
	g_string_free(s, TRUE);
	return out;
}

/* txt_record - a TXT rdata's character-strings joined into one string */
static char *
txt_record(const unsigned char *p, size_t len)
{
	GString *s = g_string_new(NULL);

	for (size_t i = 0; i < len;) {
		size_t l = p[i++];

		if (i + l > len)
			break;
		g_string_append_len(s, (const char *)p + i, (gssize)l);
		i += l;
	}
	if (spf_record_is_spf1(s->str, s->len)) {
		char *rewritten;

		/*
		 * Too long to be a policy, or not one by the RFC 7208 grammar
		 * (which libspf2 checks loosely): hand libspf2 a record it
		 * cannot compile, so the result is permerror.
		 */
		if (s->len > SPF_MAX_RECORD)
			g_string_assign(s, "v=spf1 mxparity:record-too-long");
		else if (!spf_record_syntax_ok_len(s->str, s->len, NULL, 0))
			g_string_assign(s, "v=spf1 mxparity:syntax-error");
		else {
			/* Valid, but in a spelling libspf2 may refuse: say it its way. */
			rewritten = spf_record_rewrite(s->str);
			g_string_free(s, TRUE);
			return rewritten;
		}
		return g_string_free(s, FALSE);
	}
	/*
	 * Anything else can only matter as an exp= text, which must be ASCII
	 * (RFC 7208 6.2: otherwise no explanation): such a string is dropped.
	 * The rest is a macro-string in which a space is literal; libspf2's
	 * macro parser reads it as a separator, so hand it the %_ spelling.
	 */
	for (gsize i = 0; i < s->len; i++) {
		if ((unsigned char)s->str[i] < 0x20 || (unsigned char)s->str[i] > 0x7e) {
			g_string_free(s, TRUE);
			return NULL;
		}
	}
	return g_string_free(spaces_as_macro(s), FALSE);
}

/* put_rr - copy one record of rr_type into slot idx of rr */
static bool
put_rr(SPF_dns_rr_t *rr, int idx, ns_type type, const unsigned char *data, size_t len)
{
	char name[1025];
	char *txt;

	switch (type) {
	case ns_t_a:
		if (len != 4 ||
		    SPF_dns_rr_buf_realloc(rr, idx, sizeof(struct in_addr)) != SPF_E_SUCCESS)
			return false;
		memcpy(&rr->rr[idx]->a, data, 4);
		return true;
	case ns_t_aaaa:
		if (len != 16 ||
		    SPF_dns_rr_buf_realloc(rr, idx, sizeof(struct in6_addr)) != SPF_E_SUCCESS)
			return false;
		memcpy(&rr->rr[idx]->aaaa, data, 16);
		return true;
	case ns_t_mx:
		if (len < 3 || !wire_name(data + 2, len - 2, name, sizeof(name)) ||
		    SPF_dns_rr_buf_realloc(rr, idx, strlen(name) + 1) != SPF_E_SUCCESS)
			return false;
		strcpy(rr->rr[idx]->mx, name);
		return true;
	case ns_t_ptr:
		if (!wire_name(data, len, name, sizeof(name)) ||
		    SPF_dns_rr_buf_realloc(rr, idx, strlen(name) + 1) != SPF_E_SUCCESS)
			return false;
		strcpy(rr->rr[idx]->ptr, name);
		return true;
	case ns_t_txt:
	case ns_t_spf:
		txt = txt_record(data, len);
		if (txt == NULL)
			return false;
		if (SPF_dns_rr_buf_realloc(rr, idx, strlen(txt) + 1) != SPF_E_SUCCESS) {
			g_free(txt);
			return false;
		}
		strcpy(rr->rr[idx]->txt, txt);
		g_free(txt);
		return true;
	default: return false;
	}
}

/*
 * txt_answer_usable - a TXT answer libspf2 should see: one with an SPF
 * record, or exactly one other string (an explanation); several
 * explanations mean none (RFC 7208 6.2), and an SPF lookup ignores them.
 */
static bool
txt_answer_usable(const SPF_dns_rr_t *rr)
{
	for (int i = 0; i < rr->num_rr; i++)
		if (spf_record_is_spf1(rr->rr[i]->txt, strlen(rr->rr[i]->txt)))
			return true;
	return rr->num_rr == 1;
}

/* same_name - DNS names compare without case and without a final dot */
static bool
same_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	la -= la > 0 && a[la - 1] == '.';
	lb -= lb > 0 && b[lb - 1] == '.';
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* counts_as_term - does this query stand for a DNS-querying term of the record? */
static bool
counts_as_term(const struct spf_eval *ev, const char *domain, ns_type type)
{
	if (ev->queries == 1)
		return false; /* the record of the domain being checked */
	if (type == ns_t_a || type == ns_t_aaaa)
		for (unsigned i = 0; i < ev->nfollow_ups; i++)
			if (same_name(ev->follow_ups[i], domain))
				return false;
	return true;
}

/* note_follow_ups - the names an MX or PTR answer gave, looked up next without a term */
static void
note_follow_ups(struct spf_eval *ev, const SPF_dns_rr_t *rr, ns_type type)
{
	ev->nfollow_ups = 0;
	for (int i = 0; i < rr->num_rr && ev->nfollow_ups < SPF_FOLLOW_UPS; i++)
		g_strlcpy(ev->follow_ups[ev->nfollow_ups++],
			  type == ns_t_mx ? rr->rr[i]->mx : rr->rr[i]->ptr, 256);
}

/* dns_name_ok - non-empty, at most 253 octets, labels of 1..63 octets, one final dot allowed */
static bool
dns_name_ok(const char *name)
{
	size_t len = strlen(name), label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (name[i] != '.') {
			if (++label > 63)
				return false;
		} else if (label == 0) {
			return false;
		} else {
			label = 0;
		}
	}
	return label > 0;
}

/* lookup - libspf2's entry point: every answer becomes an SPF_dns_rr_t */
static SPF_dns_rr_t *
lookup(SPF_dns_server_t *layer, const char *domain, ns_type type, int should_cache)
{
	struct spf_resolver *r = layer->hook;
	struct spf_eval *ev = current_eval;
	unsigned timeout = r->query_timeout_ms;
	struct mxp_dns_answer *res = NULL;
	SPF_dns_rr_t *rr;
	int n = 0;

	(void)should_cache; /* libunbound caches by TTL itself */
	if (ev != NULL) {
		long long left = ev->deadline_ms - spf_clock_ms();

		ev->queries++;
		ev->last_type = type;
		ev->last_failed = ev->last_void = false;
		if (left <= 0) {
			ev->last_failed = true;
			ev->failures++;
			return SPF_dns_rr_new_init(layer, domain, type, 0, TRY_AGAIN);
		}
		if ((long long)timeout > left)
			timeout = (unsigned)left;
		if (counts_as_term(ev, domain, type) && ++ev->terms > SPF_MAX_DNS_TERMS) {
			if (ev->over_limit_at == 0)
				ev->over_limit_at = ev->queries;
			return SPF_dns_rr_new_init(layer, domain, type, 0, NO_DATA);
		}
	}
	/* A name DNS cannot carry does not exist (RFC 7208 4.3): no query, no temperror. */
	if (!dns_name_ok(domain))
		return SPF_dns_rr_new_init(layer, domain, type, 0, HOST_NOT_FOUND);
	if (r->host->dns_query(r->dns, domain, type, timeout, &res) < 0 ||
	    (res->rcode != 0 && res->rcode != 3 /* NXDOMAIN */)) {
		if (ev != NULL) {
			ev->last_failed = true;
			ev->failures++;
		}
		r->host->dns_answer_free(res);
		return SPF_dns_rr_new_init(layer, domain, type, 0, TRY_AGAIN);
	}
	if (res->nxdomain || !res->havedata) {
		SPF_dns_stat_t why = res->nxdomain ? HOST_NOT_FOUND : NO_DATA;

		if (ev != NULL) {
			ev->void_lookups++;
			ev->last_void = true;
		}
		r->host->dns_answer_free(res);
		return SPF_dns_rr_new_init(layer, domain, type, 0, why);
	}
	rr = SPF_dns_rr_new_init(layer, domain, type, res->ttl, NETDB_SUCCESS);
	for (size_t i = 0; rr != NULL && i < res->count; i++)
		if (put_rr(rr, n, type, res->data[i], (size_t)res->len[i]))
			n++;
	if (rr != NULL)
		rr->num_rr = n;
	r->host->dns_answer_free(res);
	if (rr != NULL && ev != NULL && (type == ns_t_mx || type == ns_t_ptr))
		note_follow_ups(ev, rr, type);
	if (rr != NULL && (type == ns_t_txt || type == ns_t_spf) && !txt_answer_usable(rr)) {
		SPF_dns_rr_free(rr);
		return SPF_dns_rr_new_init(layer, domain, type, 0, NO_DATA);
	}
	return rr;
}

struct spf_resolver *
spf_resolver_new(const struct mxp_host *host, const char *upstream, unsigned query_timeout_ms,
		 char *err, size_t errlen)
{
	struct spf_resolver *r = g_new0(struct spf_resolver, 1);

	r->host = host;
	r->query_timeout_ms = query_timeout_ms;
	r->dns = host->dns_get(upstream, query_timeout_ms, err, errlen);
	if (r->dns == NULL) {
		g_free(r);
		return NULL;
	}
	r->layer.lookup = lookup;
	r->layer.name = "mxparity";
	r->layer.hook = r;
	return r;
}

void
spf_resolver_free(struct spf_resolver *r)
{
	if (r == NULL)
		return;
	r->host->dns_put(r->dns);
	g_free(r);
}

SPF_dns_server_t *
spf_resolver_layer(struct spf_resolver *r)
{
	return &r->layer;
}
