/*
 * hex.c - hex encoding, for digests, macs, key ids and recipient tags.
 */
#include "config.h"

#include "util/hex.h"

void
mxp_hex_encode(const unsigned char *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}
