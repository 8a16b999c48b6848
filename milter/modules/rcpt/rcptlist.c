/*
 * rcptlist.c - reading the recipients list and looking a recipient up.
 * Lines are bounded (RCPT_MAX_LINE), entries too (RCPT_MAX_ADDRESS).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "rcptlist.h"

/* valid_entry - "user@domain" or "@domain" with printable, space-free text */
static bool
valid_entry(const char *s)
{
	const char *at = strrchr(s, '@');

	if (at == NULL || at[1] == '\0' || strlen(s) > RCPT_MAX_ADDRESS)
		return false;
	for (const char *p = s; *p != '\0'; p++)
		if (!isgraph((unsigned char)*p))
			return false;
	return strchr(at + 1, '.') != NULL || strcmp(at + 1, "localhost") == 0;
}

int
rcpt_list_read(GHashTable *known, FILE *fp, const char *path, char *err, size_t errlen)
{
	char line[RCPT_MAX_LINE + 2];
	unsigned lineno = 0;

	while (fgets(line, sizeof(line), fp) != NULL) {
		char *p = line, *end;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			snprintf(err, errlen, "%s:%u: line longer than %d bytes", path, lineno,
				 RCPT_MAX_LINE);
			return -1;
		}
		if ((end = strchr(p, '#')) != NULL)
			*end = '\0';
		while (isspace((unsigned char)*p))
			p++;
		end = p + strlen(p);
		while (end > p && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*p == '\0')
			continue;
		if (!valid_entry(p)) {
			snprintf(err, errlen, "%s:%u: \"%s\" is not an address or @domain", path,
				 lineno, p);
			return -1;
		}
		g_hash_table_add(known, g_ascii_strdown(p, -1));
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		return -1;
	}
	return 0;
}

/* strip_extension - "user+ext@dom" to "user@dom" for the delimiter set */
static void
strip_extension(char *addr, const char *delimiters)
{
	char *at = strrchr(addr, '@');
	size_t cut;

	if (delimiters[0] == '\0' || at == NULL)
		return;
	cut = strcspn(addr, delimiters);
	if (addr + cut < at)
		memmove(addr + cut, at, strlen(at) + 1);
}

bool
rcpt_list_knows(GHashTable *known, const char *delimiters, char *addr)
{
	char wildcard[RCPT_MAX_ADDRESS + 2];
	const char *at = strrchr(addr, '@');

	if (at == NULL)
		return false;
	if (g_hash_table_contains(known, addr))
		return true;
	snprintf(wildcard, sizeof(wildcard), "%s", at);
	strip_extension(addr, delimiters);
	if (g_hash_table_contains(known, addr))
		return true;
	return g_hash_table_contains(known, wildcard);
}
