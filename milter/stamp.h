/*
 * stamp.h - the X-MXParity stamp one tier adds for the next: what this
 * host found about a message, a hash of its body and an HMAC-SHA-256
 * over both with the key every tier shares.
 *
 *   X-MXParity: v=1; host=H; tier=T; policy=sha256:HEX; client=IP; helo=N;
 *               from=S; spf=R; av=R; bh=HEX; mac=HEX
 */
#ifndef MXP_STAMP_H
#define MXP_STAMP_H

#include <stdbool.h>
#include <stddef.h>

#define MXP_STAMP_HEADER "X-MXParity"
#define MXP_STAMP_MIN_KEY 32

struct mxp_stamp {
	char host[256];
	char tier[16];
	char policy[72]; /* "sha256:" and 64 hex digits */
	char client[64];
	char helo[256];
	char from[330];
	char spf[32];
	char av[128];
	char bh[65]; /* hex SHA-256 of the body as received */
	char mac[65];
};

/* mxp_stamp_set - copy text into a field, keeping only characters a field may hold */
void mxp_stamp_set(char *field, size_t size, const char *text);

/* mxp_stamp_format - the header value, with mac computed over every other field */
char *mxp_stamp_format(struct mxp_stamp *st, const unsigned char *key, size_t keylen);

/* mxp_stamp_parse - the fields of a header value; false for anything malformed */
bool mxp_stamp_parse(const char *value, struct mxp_stamp *out);

/* mxp_stamp_verify - the mac is ours, computed with key (constant time) */
bool mxp_stamp_verify(const struct mxp_stamp *st, const unsigned char *key, size_t keylen);

#endif
