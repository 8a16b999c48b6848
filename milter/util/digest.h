/*
 * digest.h - SHA-256 and HMAC-SHA-256 as lower-case hex (OpenSSL).
 */
#ifndef MXP_DIGEST_H
#define MXP_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

/* mxp_sha256_hex - the digest of data as 64 hex digits into out[65]; false on failure */
bool mxp_sha256_hex(const void *data, size_t len, char *out);

/*
 * mxp_hmac_sha256_hex - the first bytes (at most 32) of HMAC-SHA-256(key,
 * data) as hex into out[2 * bytes + 1]; false (and out "") on failure
 */
bool mxp_hmac_sha256_hex(const unsigned char *key, size_t keylen, const void *data, size_t len,
			 size_t bytes, char *out);

#endif
