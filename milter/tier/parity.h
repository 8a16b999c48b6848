/*
 * parity.h - one message's part in the tier protocol: X-MXParity stamps
 * removed on arrival, the peer's verified on a relay hop, ours added.
 */
#ifndef MXP_PARITY_H
#define MXP_PARITY_H

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>
#include <mxparity/module.h>

#include "policy/policy.h"
#include "util/finding.h"

struct mxp_parity;

/*
 * mxp_parity_new - for a message from client_addr under pol (which must
 * outlive it); peer is the map host the client is (a relay hop), else NULL
 */
struct mxp_parity *mxp_parity_new(const struct mxp_policy *pol, const struct mxp_mx_host *peer,
				  const char *client_addr);
void mxp_parity_free(struct mxp_parity *p);

/*
 * mxp_parity_header - see every header: true for an X-MXParity one, which
 * the caller removes and shows no module (a relay hop's first is kept for
 * verification).  The first Received headers of a relay hop are kept to
 * find the original client, and the fields that decide how the body is
 * read are hashed.
 */
bool mxp_parity_header(struct mxp_parity *p, const char *name, const char *value);
/* mxp_parity_body - the body as received, for its hash */
void mxp_parity_body(struct mxp_parity *p, const unsigned char *chunk, size_t len);

/* The envelope of the message, as this host received it. */
struct mxp_parity_envelope {
	const char *mail_from; /* without <>, "" for the null sender */
	const char *const *rcpts;
	size_t nrcpts;
	bool cut; /* an address was longer than the core keeps: it cannot be bound exactly */
};

/*
 * mxp_parity_check - at end of message, before the modules' eom: on a
 * relay hop, verify the peer's stamp against the message, log and count
 * the outcome, and say what the modules may rely on; NULL on any other hop.
 */
const struct mxp_relay *mxp_parity_check(struct mxp_parity *p,
					 const struct mxp_parity_envelope *env);

/* mxp_parity_peer_finding - the verified stamp's finding for key, or NULL */
const char *mxp_parity_peer_finding(const struct mxp_parity *p, const char *key);

/* What this host found, for its own stamp. */
struct mxp_parity_findings {
	const char *own_host, *own_tier;
	const char *client_addr, *helo; /* of this connection */
	struct mxp_parity_envelope env;
	const struct mxp_finding *const *findings; /* every module's, in module order */
	size_t nfindings;
};

/* mxp_parity_stamp - this host's stamp (folded, g_free it), or NULL without a key */
char *mxp_parity_stamp(struct mxp_parity *p, const struct mxp_parity_findings *f);

/* mxp_parity_outcome - "verified", "no-stamp", ... on a relay hop after the check, else NULL */
const char *mxp_parity_outcome(const struct mxp_parity *p);

#endif
