/*
 * stamp.h - the X-MXParity stamp one tier adds for the next: what this
 * host found about a message (its findings), what the message was (its
 * envelope, the header fields that decide how the body is read, a hash of
 * the body), when, and an HMAC-SHA-256 over all of it with a key every
 * tier shares, named by its id.
 *
 *   X-MXParity: v=2; kid=K; host=H; tier=T; policy=sha256:HEX; ts=N;
 *               client=IP; helo=N; from=S; rcpt=TAG,...; hdr=HEX;
 *               f.KEY=VALUE; ...; bh=HEX; mac=HEX
 *
 * kid: mxp_parity_key_id (parity_key.h).  rcpt:
 * for each envelope recipient, the first 8 bytes of HMAC(key, "rcpt:" +
 * lower-case address), sorted, without duplicates ("-" for none).  The mac
 * covers the canonical text: the terms above in this order, the findings
 * sorted by key, single spaces, no folding.  Folding white space between
 * terms and after the commas of rcpt is ignored.
 */
#ifndef MXP_STAMP_H
#define MXP_STAMP_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/parity_key.h"
#include "util/finding.h"

#define MXP_STAMP_HEADER "X-MXParity"
#define MXP_STAMP_MAX_FINDINGS 32
#define MXP_STAMP_MAX_RCPTS 1000
#define MXP_STAMP_TAG_LEN MXP_PARITY_KID_LEN /* hex digits of a key id or a recipient tag */

struct mxp_stamp {
	char kid[MXP_STAMP_TAG_LEN + 1];
	char host[256];
	char tier[16];
	char policy[72]; /* "sha256:" and 64 hex digits */
	char ts[21];	 /* Unix seconds */
	char client[64];
	char helo[256];
	char from[330];
	char hdr[65]; /* hex SHA-256 of the bound header fields */
	char bh[65];  /* hex SHA-256 of the body as received */
	char mac[65];
	char *rcpt; /* "TAG,TAG,..." or "-"; owned */
	struct mxp_finding findings[MXP_STAMP_MAX_FINDINGS];
	size_t nfindings;
};

enum mxp_stamp_parsed {
	MXP_STAMP_OK,
	MXP_STAMP_V1,  /* a version 1 stamp: replayable, never trusted */
	MXP_STAMP_BAD, /* malformed */
};

/* mxp_stamp_field_ok - text fits a field of size as it is: nothing would be dropped or cut */
bool mxp_stamp_field_ok(const char *text, size_t size);

/* mxp_stamp_set - copy text into a field, keeping only characters a field may hold */
void mxp_stamp_set(char *field, size_t size, const char *text);

/* mxp_stamp_rcpt_tag - the tag of one recipient under key */
void mxp_stamp_rcpt_tag(const unsigned char *key, size_t keylen, const char *rcpt, char *tag);

/* mxp_stamp_set_rcpts - the sorted, unique tags of rcpts under key into st->rcpt */
void mxp_stamp_set_rcpts(struct mxp_stamp *st, const unsigned char *key, size_t keylen,
			 const char *const *rcpts, size_t nrcpts);

/* mxp_stamp_has_tag - tag is one of st->rcpt */
bool mxp_stamp_has_tag(const struct mxp_stamp *st, const char *tag);

/* mxp_stamp_add_finding - one finding, kept sorted by key; false when full or bad */
bool mxp_stamp_add_finding(struct mxp_stamp *st, const char *key, const char *value);

/* mxp_stamp_finding - the stamp's value for key, or NULL */
const char *mxp_stamp_finding(const struct mxp_stamp *st, const char *key);

/* mxp_stamp_format - the header value (folded), with mac computed over every other field */
char *mxp_stamp_format(struct mxp_stamp *st, const unsigned char *key, size_t keylen);

/* mxp_stamp_parse - the fields of a header value */
enum mxp_stamp_parsed mxp_stamp_parse(const char *value, struct mxp_stamp *out);

/* mxp_stamp_verify - the mac is ours, computed with key (constant time) */
bool mxp_stamp_verify(const struct mxp_stamp *st, const unsigned char *key, size_t keylen);

/* mxp_stamp_clear - free what a stamp owns */
void mxp_stamp_clear(struct mxp_stamp *st);

#endif
