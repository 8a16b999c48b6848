/*
 * digest.c - the digests of the policy, the stamp and the keys, in one place.
 */
#include "config.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/digest.h"
#include "util/hex.h"

bool
mxp_sha256_hex(const void *data, size_t len, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	out[0] = '\0';
	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return false;
	mxp_hex_encode(md, n, out);
	return true;
}

bool
mxp_hmac_sha256_hex(const unsigned char *key, size_t keylen, const void *data, size_t len,
		    size_t bytes, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	bool ok = bytes <= 32 && HMAC(EVP_sha256(), key, (int)keylen, data, len, md, &n) != NULL &&
		  n == 32;

	if (ok)
		mxp_hex_encode(md, bytes, out);
	else
		out[0] = '\0';
	OPENSSL_cleanse(md, sizeof(md));
	return ok;
}
