/*
 * hex.h - bytes as lower-case hex digits.
 */
#ifndef MXP_HEX_H
#define MXP_HEX_H

#include <stddef.h>

/* mxp_hex_encode - n bytes into out[2n + 1], NUL-terminated */
void mxp_hex_encode(const unsigned char *bytes, size_t n, char *out);

#endif
