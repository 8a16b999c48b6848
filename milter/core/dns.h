/*
 * dns.h - the core's DNS resolvers (libunbound), shared by every module
 * that asks for the same settings and kept, with their caches, across
 * policy reloads for as long as some snapshot uses them.
 */
#ifndef MXP_DNS_H
#define MXP_DNS_H

#include <mxparity/module.h>

/* mxp_dns_get - the resolver for upstream ("system" or "ADDR[:PORT]") and timeout, referenced */
struct mxp_dns *mxp_dns_get(const char *upstream, unsigned query_timeout_ms, char **error_r);
/* mxp_dns_put - drop a reference; the last one frees the resolver and its cache */
void mxp_dns_put(struct mxp_dns *dns);
/* mxp_dns_query - one query, bounded by timeout_ms (0: the resolver's); -1 on timeout or failure */
int mxp_dns_query(struct mxp_dns *dns, const char *name, int rrtype, unsigned timeout_ms,
		  struct mxp_dns_answer **answer_r);
void mxp_dns_answer_free(struct mxp_dns_answer *answer);

#endif
