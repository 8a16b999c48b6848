/*
 * authres.c - Authentication-Results in the core.  Removing forged ones
 * is done for every client, trusted and authenticated ones included: a
 * SASL user must not plant dkim=pass in our name (RFC 8601 section 5).
 */
#include "config.h"

#include <string.h>

#include "core/authres.h"

#define MAX_ID 255

/* skip_cfws - past folding white space and (nested, quoted-pair) comments */
static const char *
skip_cfws(const char *p)
{
	unsigned depth = 0;

	for (; *p != '\0'; p++) {
		if (*p == '\\' && depth > 0 && p[1] != '\0')
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !g_ascii_isspace(*p))
			break;
	}
	return p;
}

/* strip_trailing_dots - "mx1.example.com." names the same host as "mx1.example.com" */
static void
strip_trailing_dots(GString *s)
{
	while (s->len > 0 && s->str[s->len - 1] == '.')
		g_string_truncate(s, s->len - 1);
}

char *
mxp_authres_id(const char *value)
{
	const char *p = skip_cfws(value != NULL ? value : "");
	GString *id = g_string_new(NULL);
	bool quoted = *p == '"';

	if (quoted)
		p++;
	for (; *p != '\0' && id->len < MAX_ID; p++) {
		if (quoted && *p == '"')
			break;
		if (!quoted && strchr(" \t\r\n;(", *p) != NULL)
			break;
		/* A quoted-pair: a reader sees the character itself. */
		if (*p == '\\' && p[1] != '\0')
			p++;
		g_string_append_c(id, g_ascii_tolower(*p));
	}
	strip_trailing_dots(id);
	return g_string_free(id, FALSE);
}

bool
mxp_authres_is_ours(const char *id, const char *const *hosts)
{
	size_t idlen = strlen(id);

	if (idlen == 0)
		return false;
	for (size_t i = 0; hosts != NULL && hosts[i] != NULL; i++) {
		size_t n = strlen(hosts[i]);

		while (n > 0 && hosts[i][n - 1] == '.')
			n--;
		if (n == idlen && g_ascii_strncasecmp(hosts[i], id, n) == 0)
			return true;
	}
	return false;
}

char *
mxp_authres_format(const char *own_host, const GPtrArray *const *results, size_t nresults)
{
	GString *out = NULL;

	for (size_t i = 0; i < nresults; i++) {
		for (guint j = 0; results[i] != NULL && j < results[i]->len; j++) {
			if (out == NULL)
				out = g_string_new(own_host);
			g_string_append_printf(out, "; %s", (const char *)results[i]->pdata[j]);
		}
	}
	return out != NULL ? g_string_free(out, FALSE) : NULL;
}
