/*
 * fuzz_stamp.c - libFuzzer target for mxp_stamp_parse: any bytes, cut at
 * the first NUL as a header value would be.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tier/stamp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - parse one input */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mxp_stamp st;
	char *value = malloc(size + 1);

	if (value == NULL)
		return 0;
	memcpy(value, data, size);
	value[size] = '\0';
	if (mxp_stamp_parse(value, &st) == MXP_STAMP_OK)
		mxp_stamp_clear(&st);
	free(value);
	return 0;
}
