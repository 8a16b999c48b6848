/*
 * rewrite.c - libspf2's compiler refuses some valid records
 * (RFC 7208): modifier names with "." or "_", a redirect= before the
 * mechanisms, and ip4:/0 or ip6:/0.  Each has an equivalent spelling:
 * unknown modifiers are ignored anyway (6), modifiers act after the
 * mechanisms wherever they stand (6.1, 6.2), and a /0 network is the
 * union of its two /1 halves.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <glib.h>

#include "rewrite.h"

/* modifier_name - the length of term's name when term is a modifier, else 0 */
static size_t
modifier_name(const char *term)
{
	size_t n = strcspn(term, "=:/");

	return term[n] == '=' ? n : 0;
}

/* known_modifier - redirect= or exp=, the only modifiers libspf2 must see */
static bool
known_modifier(const char *term, size_t name_len)
{
	return (name_len == 8 && strncasecmp(term, "redirect", 8) == 0) ||
	       (name_len == 3 && strncasecmp(term, "exp", 3) == 0);
}

/* append_term - one mechanism, with a /0 ip4 or ip6 network split in two */
static void
append_term(GString *out, const char *term)
{
	const char *q = strchr("+-~?", term[0]) != NULL ? term : NULL;
	const char *mech = q != NULL ? term + 1 : term;
	size_t len = strlen(mech);
	bool zero = len > 2 && strcmp(mech + len - 2, "/0") == 0;
	char qual[2] = { q != NULL ? q[0] : '\0', '\0' };

	if (zero && strncasecmp(mech, "ip4:", 4) == 0)
		g_string_append_printf(out, " %sip4:0.0.0.0/1 %sip4:128.0.0.0/1", qual, qual);
	else if (zero && strncasecmp(mech, "ip6:", 4) == 0)
		g_string_append_printf(out, " %sip6:::/1 %sip6:8000::/1", qual, qual);
	else
		g_string_append_printf(out, " %s", term);
}

char *
spf_record_rewrite(const char *record)
{
	gchar **terms = g_strsplit(record, " ", -1);
	GString *out = g_string_new("v=spf1");
	GString *mods = g_string_new(NULL);

	/* terms[0] is the version. */
	for (size_t i = 1; terms[0] != NULL && terms[i] != NULL; i++) {
		const char *t = terms[i];
		size_t name = modifier_name(t);

		if (t[0] == '\0')
			continue;
		if (name == 0)
			append_term(out, t);
		else if (known_modifier(t, name))
			g_string_append_printf(mods, " %s", t);
	}
	g_string_append(out, mods->str);
	g_string_free(mods, TRUE);
	g_strfreev(terms);
	return g_string_free(out, FALSE);
}
