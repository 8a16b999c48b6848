/*
 * resolver_addr.h - the resolver a policy names: "system" (resolv.conf) or
 * a forwarder "ADDR", "IPv4:PORT" or "[IPv6]:PORT".
 */
#ifndef MXP_RESOLVER_ADDR_H
#define MXP_RESOLVER_ADDR_H

#include <stddef.h>

/*
 * mxp_resolver_addr_parse - check text; out gets "system" or libunbound's
 * forwarder form "ADDR@PORT" (port 53 when none is given).  0, or -1 with a
 * reason in error_r (which may be NULL).
 */
int mxp_resolver_addr_parse(const char *text, char *out, size_t len, char **error_r);

#endif
