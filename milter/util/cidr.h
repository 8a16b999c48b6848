/*
 * cidr.h - IPv4/IPv6 networks: parsing, canonical text and matching.
 */
#ifndef MXP_CIDR_H
#define MXP_CIDR_H

#include <stdbool.h>
#include <stddef.h>

struct mxp_cidr {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

/* mxp_cidr_parse - "192.0.2.0/24", "2001:db8::/32" or a bare address */
int mxp_cidr_parse(const char *text, struct mxp_cidr *net_r, char **error_r);
/* mxp_cidr_format - canonical "addr/prefix" into buf */
void mxp_cidr_format(const struct mxp_cidr *net, char *buf, size_t len);
/* mxp_cidr_match - is the textual address addr inside net */
bool mxp_cidr_match(const struct mxp_cidr *net, const char *addr);
/* mxp_cidr_match_any - is addr in any of nets */
bool mxp_cidr_match_any(const struct mxp_cidr *nets, size_t n, const char *addr);
/* mxp_cidr_overlap - do the two networks share any address */
bool mxp_cidr_overlap(const struct mxp_cidr *a, const struct mxp_cidr *b);

#endif
