/*
 * authres.h - Authentication-Results (RFC 8601) as a core service: one
 * header per message in this host's name with every module's method
 * results, and recognising incoming ones that claim to be any host of the
 * MX map, however the authserv-id is spelt.
 */
#ifndef MXP_AUTHRES_H
#define MXP_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>

#define MXP_AUTHRES_HEADER "Authentication-Results"

/*
 * mxp_authres_id - the authserv-id of a header value, normalised: after
 * CFWS, a quoted string or a token with quoted-pairs undone, lower case,
 * without trailing dots; bounded to 255 bytes.
 */
char *mxp_authres_id(const char *value);

/* mxp_authres_is_ours - id (normalised) names one of hosts (NULL-terminated) */
bool mxp_authres_is_ours(const char *id, const char *const *hosts);

/* mxp_authres_format - "HOST; m1=r1 props; m2=r2 ..." from results (char *), or NULL if none */
char *mxp_authres_format(const char *own_host, const GPtrArray *const *results, size_t nresults);

#endif
