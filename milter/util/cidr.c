/*
 * cidr.c - IPv4/IPv6 networks.  Addresses are kept in network byte order;
 * an IPv4-mapped IPv6 client address matches IPv4 networks.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <glib.h>

#include "util/cidr.h"
#include "util/error.h"

/* parse_addr - textual address to family and bytes */
static int
parse_addr(const char *text, int *family_r, unsigned char *addr_r)
{
	if (inet_pton(AF_INET, text, addr_r) == 1) {
		*family_r = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, addr_r) == 1) {
		static const unsigned char mapped[12] = {
			0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
		};
		if (memcmp(addr_r, mapped, sizeof(mapped)) == 0) {
			memmove(addr_r, addr_r + 12, 4);
			*family_r = AF_INET;
		} else {
			*family_r = AF_INET6;
		}
		return 0;
	}
	return -1;
}

/* mxp_cidr_parse - network text to struct; host bits must be zero */
int
mxp_cidr_parse(const char *text, struct mxp_cidr *net_r, char **error_r)
{
	char buf[64];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned max;

	memset(net_r, 0, sizeof(*net_r));
	if (alen == 0 || alen >= sizeof(buf)) {
		mxp_error_set(error_r, "not an IP address");
		return -1;
	}
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (parse_addr(buf, &net_r->family, net_r->addr) < 0) {
		mxp_error_set(error_r, "not an IP address");
		return -1;
	}
	max = net_r->family == AF_INET ? 32 : 128;
	net_r->prefix = max;
	if (slash != NULL) {
		char *end;
		unsigned long p;

		if (slash[1] < '0' || slash[1] > '9') {
			mxp_error_set(error_r, "prefix length is not a number");
			return -1;
		}
		p = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || p > max) {
			mxp_error_set(error_r, "%s",
				      net_r->family == AF_INET ? "prefix length must be 0..32"
							       : "prefix length must be 0..128");
			return -1;
		}
		net_r->prefix = (unsigned)p;
	}
	for (unsigned bit = net_r->prefix; bit < max; bit++) {
		if (net_r->addr[bit / 8] & (0x80 >> (bit % 8))) {
			mxp_error_set(error_r, "address has bits set beyond the prefix length");
			return -1;
		}
	}
	return 0;
}

/* mxp_cidr_format - canonical text */
void
mxp_cidr_format(const struct mxp_cidr *net, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(net->family, net->addr, addr, sizeof(addr));
	snprintf(buf, len, "%s/%u", addr, net->prefix);
}

/* mxp_cidr_match - prefix comparison */
bool
mxp_cidr_match(const struct mxp_cidr *net, const char *addr)
{
	unsigned char bytes[16];
	int family;
	unsigned full, rest;

	if (addr == NULL || parse_addr(addr, &family, bytes) < 0 || family != net->family)
		return false;
	full = net->prefix / 8;
	rest = net->prefix % 8;
	if (memcmp(bytes, net->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((bytes[full] ^ net->addr[full]) & (0xff00 >> rest)) == 0;
}

/* mxp_cidr_match_any - first match wins */
bool
mxp_cidr_match_any(const struct mxp_cidr *nets, size_t n, const char *addr)
{
	for (size_t i = 0; i < n; i++)
		if (mxp_cidr_match(&nets[i], addr))
			return true;
	return false;
}

/* mxp_cidr_overlap - the shorter prefix decides: do both agree on its bits */
bool
mxp_cidr_overlap(const struct mxp_cidr *a, const struct mxp_cidr *b)
{
	unsigned prefix = a->prefix < b->prefix ? a->prefix : b->prefix;
	unsigned full = prefix / 8, rest = prefix % 8;

	if (a->family != b->family || memcmp(a->addr, b->addr, full) != 0)
		return false;
	return rest == 0 || ((a->addr[full] ^ b->addr[full]) & (0xff00 >> rest)) == 0;
}
