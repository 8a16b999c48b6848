/*
 * parity_key.h - the key every tier shares for X-MXParity stamps.
 */
#ifndef MXP_PARITY_KEY_H
#define MXP_PARITY_KEY_H

#include <stddef.h>

#define MXP_PARITY_KEY_MIN 32
#define MXP_PARITY_KID_LEN 16 /* hex digits of a key's id */

/*
 * mxp_parity_key_load - read the key file at path: a regular file of
 * MXP_PARITY_KEY_MIN to 4096 bytes that others may not read.  On failure
 * error_r says what is wrong and how to fix it.
 */
int mxp_parity_key_load(const char *path, unsigned char **key_r, size_t *len_r, char **error_r);

/* mxp_parity_key_id - the id stamps name a key by: the first 8 bytes of
 * HMAC-SHA-256(key, "mxparity key id"), as hex into kid[MXP_PARITY_KID_LEN + 1] */
void mxp_parity_key_id(const unsigned char *key, size_t len, char *kid);

/* mxp_parity_key_free - wipe and free a key */
void mxp_parity_key_free(unsigned char *key, size_t len);

#endif
