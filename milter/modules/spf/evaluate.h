/*
 * evaluate.h - one RFC 7208 check_host() with libspf2 over our resolver,
 * with the limits libspf2 does not apply itself (void lookups, DNS terms
 * across includes), and a DNS failure always a temperror.  The spf module
 * and mxparity audit both evaluate through it.
 */
#ifndef SPF_EVALUATE_H
#define SPF_EVALUATE_H

#include <stdbool.h>

#include "resolver.h"

enum spf_res { R_PASS, R_FAIL, R_SOFTFAIL, R_NEUTRAL, R_NONE, R_PERMERROR, R_TEMPERROR, R_COUNT };

/* What one evaluation found. */
struct spf_check {
	enum spf_res result;
	char *explanation; /* for fail */
	char *comment;	   /* for Received-SPF */
	unsigned terms;	   /* DNS-querying terms (RFC 7208 4.6.4: at most 10) */
	unsigned voids;	   /* void lookups (at most 2) */
};

/* What to evaluate, and with what. */
struct spf_question {
	struct spf_resolver *resolver;
	const char *explanation; /* the default exp text, spaces as %_; may be NULL */
	const char *receiver;	 /* %{r}: this host's name; may be NULL */
	const char *client_addr; /* IPv4 or IPv6 text */
	int client_family;	 /* AF_INET, AF_INET6 or AF_UNSPEC */
	const char *helo;
	const char *sender; /* NULL: the HELO identity */
	long long deadline_ms;
};

/* spf_evaluate - the result for q; the caller frees out's strings (spf_check_free) */
void spf_evaluate(const struct spf_question *q, struct spf_check *out);
void spf_check_free(struct spf_check *c);

#endif
