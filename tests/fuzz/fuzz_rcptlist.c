/*
 * fuzz_rcptlist.c - libFuzzer target for the recipients list: the input
 * is read as a recipients_file; when it is accepted, every one of its
 * lines is then looked up as a recipient (with "+" and "-" as extension
 * delimiters), as rcpt_rcpt does.
 */
#define _GNU_SOURCE /* fmemopen */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "rcptlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* look_up_lines - each line of data, lower-cased, as rcpt_rcpt would ask */
static void
look_up_lines(GHashTable *known, const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;

	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl != NULL ? nl : end) - p);

		if (len <= RCPT_MAX_ADDRESS && memchr(p, '\0', len) == NULL &&
		    memchr(p, '@', len) != NULL) {
			char *addr = g_ascii_strdown((const char *)p, (gssize)len);

			(void)rcpt_list_knows(known, "+-", addr);
			g_free(addr);
		}
		p += len + 1;
	}
}

/* LLVMFuzzerTestOneInput - read one list, then look its lines up */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GHashTable *known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	char err[512];
	FILE *fp;

	/* fmemopen refuses a buffer of size 0. */
	fp = size > 0 ? fmemopen((void *)data, size, "r") : NULL;
	if (fp != NULL) {
		if (rcpt_list_read(known, fp, "fuzz", err, sizeof(err)) == 0)
			look_up_lines(known, data, size);
		else if (strncmp(err, "fuzz", 4) != 0)
			__builtin_trap(); /* every error names the file */
		fclose(fp);
	}
	g_hash_table_destroy(known);
	return 0;
}
