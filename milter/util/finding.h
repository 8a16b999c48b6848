/*
 * finding.h - a module's finding, key=value: one word of the summary line
 * and one term of the stamp, so both the key and the value are kept to
 * characters neither format uses as a separator.
 */
#ifndef MXP_FINDING_H
#define MXP_FINDING_H

#include <stdbool.h>
#include <stddef.h>

#define MXP_FINDING_KEY_MAX 32
#define MXP_FINDING_VALUE_MAX 128

struct mxp_finding {
	char key[MXP_FINDING_KEY_MAX + 1];
	char value[MXP_FINDING_VALUE_MAX + 1];
	unsigned flags; /* MXP_FINDING_* of <mxparity/module.h> */
};

/* mxp_finding_key_ok - 1 to MXP_FINDING_KEY_MAX of [a-z0-9_-] */
bool mxp_finding_key_ok(const char *key);
/* mxp_finding_value_clean - printable, spaces as "_", no ';' '"' '\\', at most len-1 bytes */
void mxp_finding_value_clean(char *dst, size_t len, const char *src);

#endif
