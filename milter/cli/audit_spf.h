/*
 * audit_spf.h - the domain's SPF record for `mxparity audit`: whether it
 * parses, stays within RFC 7208's limits, and passes every MX's addresses,
 * evaluated with the spf module's own code (libspf2 over the core's
 * resolver).  Built only with the spf module (configure --with-spf).
 */
#ifndef MXP_AUDIT_SPF_H
#define MXP_AUDIT_SPF_H

#include "cli/audit_dns.h"

/*
 * audit_spf_check - add what is wrong with d's SPF record to d's problems,
 * and each MX address's result to its audit_addr; -1 with why when the
 * resolver cannot be set up.
 */
int audit_spf_check(struct audit_domain *d, const char *resolver, char **error_r);

#endif
