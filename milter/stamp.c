/*
 * stamp.c - format, parse and authenticate X-MXParity stamps.  The mac
 * covers a canonical text of the fields, rebuilt from the parsed values,
 * so folding or spacing added in transit does not matter while any
 * change to a value does.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "stamp.h"

/* One field: its name and where it lives in struct mxp_stamp. */
struct stamp_field {
	const char *name;
	size_t offset, size;
};

#define FIELD(f) { #f, offsetof(struct mxp_stamp, f), sizeof(((struct mxp_stamp *)0)->f) }

/* In the order they are written and authenticated; mac comes last. */
static const struct stamp_field fields[] = {
	FIELD(host), FIELD(tier), FIELD(policy), FIELD(client), FIELD(helo),
	FIELD(from), FIELD(spf),  FIELD(av),	 FIELD(bh),
};
static const struct stamp_field mac_field = FIELD(mac);
#define MAC_BIT (1u << 15)

static char *
field_at(struct mxp_stamp *st, const struct stamp_field *f)
{
	return (char *)st + f->offset;
}

static const char *
field_value(const struct mxp_stamp *st, const struct stamp_field *f)
{
	return (const char *)st + f->offset;
}

/* field_char_ok - printable, and not a separator of the header's syntax */
static bool
field_char_ok(char c)
{
	return g_ascii_isgraph(c) && c != ';' && c != '"' && c != '\\';
}

void
mxp_stamp_set(char *field, size_t size, const char *text)
{
	size_t n = 0;

	for (; text != NULL && *text != '\0' && n + 1 < size; text++)
		if (field_char_ok(*text))
			field[n++] = *text;
	field[n] = '\0';
}

/* canonical - "v=1; host=...; ...; bh=..." without the mac */
static GString *
canonical(const struct mxp_stamp *st)
{
	GString *out = g_string_new("v=1");

	for (size_t i = 0; i < G_N_ELEMENTS(fields); i++)
		g_string_append_printf(out, "; %s=%s", fields[i].name, field_value(st, &fields[i]));
	return out;
}

/* compute_mac - hex HMAC-SHA-256 of the canonical text into mac[65] */
static bool
compute_mac(const struct mxp_stamp *st, const unsigned char *key, size_t keylen, char mac[65])
{
	GString *text = canonical(st);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	bool ok = HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)text->str, text->len,
		       md, &mdlen) != NULL &&
		  mdlen == 32;

	g_string_free(text, TRUE);
	for (unsigned i = 0; ok && i < mdlen; i++)
		snprintf(mac + 2 * i, 3, "%02x", md[i]);
	if (!ok)
		mac[0] = '\0';
	OPENSSL_cleanse(md, sizeof(md));
	return ok;
}

char *
mxp_stamp_format(struct mxp_stamp *st, const unsigned char *key, size_t keylen)
{
	GString *out;

	if (!compute_mac(st, key, keylen, st->mac))
		return NULL;
	out = canonical(st);
	g_string_append_printf(out, "; mac=%s", st->mac);
	return g_string_free(out, FALSE);
}

/* find_field - the field named name (len bytes), or NULL; mac included */
static const struct stamp_field *
find_field(const char *name, size_t len)
{
	for (size_t i = 0; i < G_N_ELEMENTS(fields); i++)
		if (strlen(fields[i].name) == len && strncmp(fields[i].name, name, len) == 0)
			return &fields[i];
	return len == 3 && strncmp(name, "mac", 3) == 0 ? &mac_field : NULL;
}

/* skip_space - folding white space between terms */
static const char *
skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

/*
 * parse_term - "name=value" at p into out; each field at most once, its
 * value non-empty, of field characters only, and shorter than its slot.
 */
static const char *
parse_term(const char *p, struct mxp_stamp *out, unsigned *seen)
{
	const char *eq = p, *v, *end;
	const struct stamp_field *f;
	unsigned bit;

	while (g_ascii_isalnum(*eq))
		eq++;
	if (*eq != '=' || eq == p)
		return NULL;
	f = find_field(p, (size_t)(eq - p));
	if (f == NULL)
		return NULL;
	bit = f == &mac_field ? MAC_BIT : 1u << (unsigned)(f - fields);
	if (*seen & bit)
		return NULL;
	*seen |= bit;
	v = eq + 1;
	for (end = v; field_char_ok(*end); end++)
		;
	if (end == v || (size_t)(end - v) >= f->size)
		return NULL;
	memcpy(field_at(out, f), v, (size_t)(end - v));
	field_at(out, f)[end - v] = '\0';
	return end;
}

bool
mxp_stamp_parse(const char *value, struct mxp_stamp *out)
{
	const char *p = skip_space(value);
	unsigned seen = 0, want = MAC_BIT;

	memset(out, 0, sizeof(*out));
	if (strncmp(p, "v=1", 3) != 0)
		return false;
	p = skip_space(p + 3);
	while (*p == ';') {
		p = skip_space(p + 1);
		if (*p == '\0')
			break; /* a trailing ";" */
		p = parse_term(p, out, &seen);
		if (p == NULL)
			return false;
		p = skip_space(p);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(fields); i++)
		want |= 1u << i;
	return *p == '\0' && seen == want && strlen(out->mac) == 64 && strlen(out->bh) == 64;
}

bool
mxp_stamp_verify(const struct mxp_stamp *st, const unsigned char *key, size_t keylen)
{
	char mac[65];

	if (strlen(st->mac) != 64 || !compute_mac(st, key, keylen, mac))
		return false;
	return CRYPTO_memcmp(mac, st->mac, 64) == 0;
}
