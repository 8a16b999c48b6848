/*
 * finding.c - the characters a finding may hold.
 */
#include "config.h"

#include <glib.h>

#include "util/finding.h"

bool
mxp_finding_key_ok(const char *key)
{
	size_t n = 0;

	for (; key != NULL && key[n] != '\0'; n++)
		if (!g_ascii_islower(key[n]) && !g_ascii_isdigit(key[n]) && key[n] != '_' &&
		    key[n] != '-')
			return false;
	return n > 0 && n <= MXP_FINDING_KEY_MAX;
}

void
mxp_finding_value_clean(char *dst, size_t len, const char *src)
{
	size_t o = 0;

	/* One word of the summary line and one stamp field: no separators of either. */
	for (; src != NULL && *src != '\0' && o + 1 < len; src++) {
		unsigned char c = (unsigned char)*src;

		if (c == ' ')
			dst[o++] = '_';
		else if (c > 0x20 && c < 0x7f && c != ';' && c != '"' && c != '\\')
			dst[o++] = (char)c;
		else
			dst[o++] = '?';
	}
	if (len > 0)
		dst[o] = '\0';
}
