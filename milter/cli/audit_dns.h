/*
 * audit_dns.h - what DNS says about a domain's mail hosts, for `mxparity
 * audit`: the MX set in preference order, each target's addresses and
 * their reverse names, and the domain's SPF and DMARC records, with every
 * problem found, set against the policy's MX map.
 */
#ifndef MXP_AUDIT_DNS_H
#define MXP_AUDIT_DNS_H

#include <stdbool.h>

#include <glib.h>

struct mxp_dns;
struct mxp_policy;

/* One address of an MX target, and its forward-confirmed reverse name. */
struct audit_addr {
	char text[64];
	char ptr[256];	   /* "" when there is none */
	bool ptr_confirms; /* ptr resolves back to text */
	bool in_map;	   /* an address of the policy's host of that name */
	char spf[16];	   /* the domain's SPF result for it, "" when not evaluated */
};

/* One MX record's target. */
struct audit_mx {
	unsigned pref;
	char name[256];	     /* lower case, no final dot */
	bool fallback;	     /* no MX: the domain's own A/AAAA (RFC 5321 5.1) */
	GArray *addrs;	     /* struct audit_addr */
	const char *tier;    /* the policy's tier for this host, NULL when not in the map */
	GPtrArray *problems; /* char *: what is wrong with this target */
	unsigned group;	     /* preference group, 1 for the lowest preference */
	bool round_robin;    /* another target shares its preference */
};

struct audit_domain {
	char name[256];
	bool null_mx;		/* "0 ." (RFC 7505): accepts no mail */
	bool nxdomain;		/* the domain does not exist */
	GPtrArray *mx;		/* struct audit_mx *, in preference order */
	GPtrArray *problems;	/* char *: domain-wide problems */
	GPtrArray *spf;		/* char *: the v=spf1 TXT records */
	GPtrArray *dmarc;	/* char *: the v=DMARC1 TXT records at _dmarc */
	GPtrArray *unpublished; /* char *: hosts of the MX map that DNS does not name */
};

/*
 * audit_dns_read - fill d for domain; pol (may be NULL) is the MX map to
 * compare with.  0, or -1 with why when DNS could not be read (a timeout or
 * SERVFAIL: temporary, never reported as a problem of the domain).
 */
int audit_dns_read(struct mxp_dns *dns, const char *domain, const struct mxp_policy *pol,
		   struct audit_domain *d, char **error_r);
/* audit_dns_problems - every problem found, domain-wide and per target */
unsigned audit_dns_problems(const struct audit_domain *d);
void audit_dns_free(struct audit_domain *d);

#endif
