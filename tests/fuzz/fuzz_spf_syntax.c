/*
 * fuzz_spf_syntax.c - libFuzzer target for the strict RFC 7208 grammar of
 * the spf module: any bytes, NULs included, as a joined TXT record.  The
 * length and NUL-terminated entry points must agree, and a reason is
 * always given for a refusal.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "syntax.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - check one record */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256] = "", why2[256] = "";
	char *record = malloc(size + 1);
	bool ok, ok2;

	if (record == NULL)
		return 0;
	memcpy(record, data, size);
	record[size] = '\0';
	(void)spf_record_is_spf1(record, size);
	ok = spf_record_syntax_ok_len(record, size, why, sizeof(why));
	if (!ok && why[0] == '\0')
		__builtin_trap(); /* a refusal without a reason */
	if (memchr(record, '\0', size) == NULL) {
		ok2 = spf_record_syntax_ok(record, why2, sizeof(why2));
		if (ok != ok2 || strcmp(why, why2) != 0)
			__builtin_trap(); /* the two entry points disagree */
	}
	free(record);
	return 0;
}
