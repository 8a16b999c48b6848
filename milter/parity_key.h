/*
 * parity_key.h - the key every tier shares for X-MXParity stamps.
 */
#ifndef MXP_PARITY_KEY_H
#define MXP_PARITY_KEY_H

#include <stddef.h>

/*
 * mxp_parity_key_load - read the key file at path: a regular file of
 * MXP_STAMP_MIN_KEY to 4096 bytes that others may not read.  On failure
 * why says what is wrong and how to fix it.
 */
int mxp_parity_key_load(const char *path, unsigned char **key_r, size_t *len_r, char *why,
			size_t whylen);

/* mxp_parity_key_free - wipe and free a key */
void mxp_parity_key_free(unsigned char *key, size_t len);

#endif
