/*
 * stamp.c - format, parse and authenticate X-MXParity stamps.  The mac
 * covers a canonical text of the fields, rebuilt from the parsed values,
 * so folding or spacing added in transit does not matter while any
 * change to a value does.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <openssl/crypto.h>

#include "tier/stamp.h"
#include "util/digest.h"

#define FOLD_AT 76
#define FINDING_PREFIX "f."

/* One fixed field: its name and where it lives in struct mxp_stamp. */
struct stamp_field {
	const char *name;
	size_t offset, size;
};

#define FIELD(f)                                                                                   \
	{                                                                                          \
#f, offsetof(struct mxp_stamp, f), sizeof(((struct mxp_stamp *)0)->f)              \
	}

/* The fixed fields before rcpt, in the order they are written and authenticated. */
static const struct stamp_field head_fields[] = {
	FIELD(kid), FIELD(host),   FIELD(tier), FIELD(policy),
	FIELD(ts),  FIELD(client), FIELD(helo), FIELD(from),
};
static const struct stamp_field hdr_field = FIELD(hdr);
static const struct stamp_field bh_field = FIELD(bh);
static const struct stamp_field mac_field = FIELD(mac);

/* Bits of the fields seen while parsing. */
#define BIT_RCPT (1u << 12)
#define BIT_HDR (1u << 13)
#define BIT_BH (1u << 14)
#define BIT_MAC (1u << 15)

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

bool
mxp_stamp_field_ok(const char *text, size_t size)
{
	size_t n = 0;

	for (; text[n] != '\0'; n++)
		if (!field_char_ok(text[n]))
			return false;
	return n < size;
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

void
mxp_stamp_rcpt_tag(const unsigned char *key, size_t keylen, const char *rcpt, char *tag)
{
	char *lower = g_ascii_strdown(rcpt != NULL ? rcpt : "", -1);
	char *text = g_strconcat("rcpt:", lower, NULL);

	mxp_hmac_sha256_hex(key, keylen, text, strlen(text), MXP_STAMP_TAG_LEN / 2, tag);
	g_free(text);
	g_free(lower);
}

static int
compare_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void
mxp_stamp_set_rcpts(struct mxp_stamp *st, const unsigned char *key, size_t keylen,
		    const char *const *rcpts, size_t nrcpts)
{
	char **tags = g_new0(char *, nrcpts + 1);
	GString *out = g_string_new(NULL);

	for (size_t i = 0; i < nrcpts; i++) {
		tags[i] = g_malloc(MXP_STAMP_TAG_LEN + 1);
		mxp_stamp_rcpt_tag(key, keylen, rcpts[i], tags[i]);
	}
	qsort(tags, nrcpts, sizeof(*tags), compare_str);
	for (size_t i = 0; i < nrcpts; i++) {
		if (i > 0 && strcmp(tags[i], tags[i - 1]) == 0)
			continue;
		if (out->len > 0)
			g_string_append_c(out, ',');
		g_string_append(out, tags[i]);
	}
	g_strfreev(tags);
	if (out->len == 0)
		g_string_append_c(out, '-');
	g_free(st->rcpt);
	st->rcpt = g_string_free(out, FALSE);
}

bool
mxp_stamp_has_tag(const struct mxp_stamp *st, const char *tag)
{
	size_t n = strlen(tag);

	for (const char *p = st->rcpt; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, ",");

		if (len == n && memcmp(p, tag, n) == 0)
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

bool
mxp_stamp_add_finding(struct mxp_stamp *st, const char *key, const char *value)
{
	size_t i;

	if (st->nfindings >= MXP_STAMP_MAX_FINDINGS || !mxp_finding_key_ok(key) ||
	    mxp_stamp_finding(st, key) != NULL)
		return false;
	for (i = st->nfindings; i > 0 && strcmp(st->findings[i - 1].key, key) > 0; i--)
		st->findings[i] = st->findings[i - 1];
	memset(&st->findings[i], 0, sizeof(st->findings[i]));
	g_strlcpy(st->findings[i].key, key, sizeof(st->findings[i].key));
	mxp_stamp_set(st->findings[i].value, sizeof(st->findings[i].value), value);
	if (st->findings[i].value[0] == '\0')
		g_strlcpy(st->findings[i].value, "-", sizeof(st->findings[i].value));
	st->nfindings++;
	return true;
}

const char *
mxp_stamp_finding(const struct mxp_stamp *st, const char *key)
{
	for (size_t i = 0; i < st->nfindings; i++)
		if (strcmp(st->findings[i].key, key) == 0)
			return st->findings[i].value;
	return NULL;
}

/* terms - the canonical terms, in order, without the mac (char *) */
static GPtrArray *
terms(const struct mxp_stamp *st)
{
	GPtrArray *t = g_ptr_array_new_with_free_func(g_free);

	g_ptr_array_add(t, g_strdup("v=2"));
	for (size_t i = 0; i < G_N_ELEMENTS(head_fields); i++)
		g_ptr_array_add(t, g_strdup_printf("%s=%s", head_fields[i].name,
						   field_value(st, &head_fields[i])));
	g_ptr_array_add(t, g_strdup_printf("rcpt=%s", st->rcpt != NULL ? st->rcpt : "-"));
	g_ptr_array_add(t, g_strdup_printf("hdr=%s", st->hdr));
	for (size_t i = 0; i < st->nfindings; i++)
		g_ptr_array_add(t, g_strdup_printf(FINDING_PREFIX "%s=%s", st->findings[i].key,
						   st->findings[i].value));
	g_ptr_array_add(t, g_strdup_printf("bh=%s", st->bh));
	return t;
}

/* canonical - the terms joined by "; " */
static GString *
canonical(const struct mxp_stamp *st)
{
	GPtrArray *t = terms(st);
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < t->len; i++) {
		if (i > 0)
			g_string_append(out, "; ");
		g_string_append(out, t->pdata[i]);
	}
	g_ptr_array_free(t, TRUE);
	return out;
}

/* compute_mac - hex HMAC-SHA-256 of the canonical text into mac[65] */
static bool
compute_mac(const struct mxp_stamp *st, const unsigned char *key, size_t keylen, char mac[65])
{
	GString *text = canonical(st);
	bool ok = mxp_hmac_sha256_hex(key, keylen, text->str, text->len, 32, mac);

	g_string_free(text, TRUE);
	return ok;
}

/* fold_append - add term to out, folding (LF TAB) before it, or after the commas of rcpt */
static void
fold_append(GString *out, size_t *col, const char *term, bool first)
{
	size_t len = strlen(term);
	/* Only the tag list may fold inside: a comma in a HELO or a finding is part of its value.
	 */
	bool list = strncmp(term, "rcpt=", 5) == 0;

	if (!first) {
		g_string_append_c(out, ';');
		(*col)++;
		if (*col + 1 + len > FOLD_AT) {
			g_string_append(out, "\n\t");
			*col = 8;
		} else {
			g_string_append_c(out, ' ');
			(*col)++;
		}
	}
	/* A long rcpt list is folded after its commas. */
	for (const char *p = term; *p != '\0'; p++) {
		g_string_append_c(out, *p);
		(*col)++;
		if (list && *p == ',' && *col + MXP_STAMP_TAG_LEN + 1 > FOLD_AT) {
			g_string_append(out, "\n\t");
			*col = 8;
		}
	}
}

char *
mxp_stamp_format(struct mxp_stamp *st, const unsigned char *key, size_t keylen)
{
	GPtrArray *t;
	GString *out;
	char *mac;
	size_t col = strlen(MXP_STAMP_HEADER) + 2;

	if (!compute_mac(st, key, keylen, st->mac))
		return NULL;
	t = terms(st);
	mac = g_strdup_printf("mac=%s", st->mac);
	g_ptr_array_add(t, mac);
	out = g_string_new(NULL);
	for (guint i = 0; i < t->len; i++)
		fold_append(out, &col, t->pdata[i], i == 0);
	g_ptr_array_free(t, TRUE);
	return g_string_free(out, FALSE);
}

/* skip_space - folding white space between terms */
static const char *
skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

/* find_field - the fixed field named name (len bytes) and its bit, or NULL */
static const struct stamp_field *
find_field(const char *name, size_t len, unsigned *bit_r)
{
	for (size_t i = 0; i < G_N_ELEMENTS(head_fields); i++)
		if (strlen(head_fields[i].name) == len &&
		    strncmp(head_fields[i].name, name, len) == 0) {
			*bit_r = 1u << i;
			return &head_fields[i];
		}
	if (len == 3 && strncmp(name, "hdr", 3) == 0) {
		*bit_r = BIT_HDR;
		return &hdr_field;
	}
	if (len == 2 && strncmp(name, "bh", 2) == 0) {
		*bit_r = BIT_BH;
		return &bh_field;
	}
	if (len == 3 && strncmp(name, "mac", 3) == 0) {
		*bit_r = BIT_MAC;
		return &mac_field;
	}
	return NULL;
}

/* parse_rcpt - "TAG,TAG" with folding white space after commas; NULL if malformed */
static const char *
parse_rcpt(const char *v, struct mxp_stamp *out)
{
	GString *list = g_string_new(NULL);
	size_t ntags = 0;

	if (*v == '-') {
		g_string_append_c(list, '-');
		v++;
	} else {
		for (;;) {
			size_t n = 0;

			while (g_ascii_isxdigit(v[n]) && !g_ascii_isupper(v[n]))
				n++;
			if (n != MXP_STAMP_TAG_LEN || ++ntags > MXP_STAMP_MAX_RCPTS) {
				g_string_free(list, TRUE);
				return NULL;
			}
			g_string_append_len(list, v, (gssize)n);
			v += n;
			if (*v != ',')
				break;
			g_string_append_c(list, ',');
			v = skip_space(v + 1);
		}
	}
	g_free(out->rcpt);
	out->rcpt = g_string_free(list, FALSE);
	return v;
}

/* parse_finding - "f.KEY=VALUE" at p (after "f."), each key once */
static const char *
parse_finding(const char *p, struct mxp_stamp *out)
{
	char key[MXP_FINDING_KEY_MAX + 1], value[MXP_FINDING_VALUE_MAX + 1];
	const char *eq = strchr(p, '='), *end;

	if (eq == NULL || eq == p || (size_t)(eq - p) > MXP_FINDING_KEY_MAX)
		return NULL;
	memcpy(key, p, (size_t)(eq - p));
	key[eq - p] = '\0';
	for (end = eq + 1; field_char_ok(*end); end++)
		;
	if (end == eq + 1 || (size_t)(end - eq - 1) > MXP_FINDING_VALUE_MAX)
		return NULL;
	memcpy(value, eq + 1, (size_t)(end - eq - 1));
	value[end - eq - 1] = '\0';
	return mxp_stamp_add_finding(out, key, value) ? end : NULL;
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
	unsigned bit = 0;

	if (strncmp(p, FINDING_PREFIX, 2) == 0)
		return parse_finding(p + 2, out);
	while (g_ascii_isalnum(*eq))
		eq++;
	if (*eq != '=' || eq == p)
		return NULL;
	v = eq + 1;
	if ((size_t)(eq - p) == 4 && strncmp(p, "rcpt", 4) == 0) {
		if (*seen & BIT_RCPT)
			return NULL;
		*seen |= BIT_RCPT;
		return parse_rcpt(v, out);
	}
	f = find_field(p, (size_t)(eq - p), &bit);
	if (f == NULL || (*seen & bit))
		return NULL;
	*seen |= bit;
	for (end = v; field_char_ok(*end); end++)
		;
	if (end == v || (size_t)(end - v) >= f->size)
		return NULL;
	memcpy(field_at(out, f), v, (size_t)(end - v));
	field_at(out, f)[end - v] = '\0';
	return end;
}

/* all_hex - exactly n lower-case hex digits */
static bool
all_hex(const char *s, size_t n)
{
	size_t i = 0;

	for (; s[i] != '\0'; i++)
		if (!g_ascii_isxdigit(s[i]) || g_ascii_isupper(s[i]))
			return false;
	return i == n;
}

/* all_digits - a decimal number */
static bool
all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!g_ascii_isdigit(*s))
			return false;
	return true;
}

enum mxp_stamp_parsed
mxp_stamp_parse(const char *value, struct mxp_stamp *out)
{
	const char *p = skip_space(value);
	unsigned seen = 0, want = BIT_RCPT | BIT_HDR | BIT_BH | BIT_MAC;

	memset(out, 0, sizeof(*out));
	if (strncmp(p, "v=1", 3) == 0 && (p[3] == ';' || p[3] == ' ' || p[3] == '\0'))
		return MXP_STAMP_V1;
	if (strncmp(p, "v=2", 3) != 0)
		return MXP_STAMP_BAD;
	p = skip_space(p + 3);
	while (*p == ';') {
		p = skip_space(p + 1);
		if (*p == '\0')
			break; /* a trailing ";" */
		p = parse_term(p, out, &seen);
		if (p == NULL)
			goto bad;
		p = skip_space(p);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(head_fields); i++)
		want |= 1u << i;
	if (*p == '\0' && seen == want && all_hex(out->mac, 64) && all_hex(out->bh, 64) &&
	    all_hex(out->hdr, 64) && all_hex(out->kid, MXP_STAMP_TAG_LEN) && all_digits(out->ts))
		return MXP_STAMP_OK;
bad:
	mxp_stamp_clear(out);
	return MXP_STAMP_BAD;
}

bool
mxp_stamp_verify(const struct mxp_stamp *st, const unsigned char *key, size_t keylen)
{
	char mac[65];

	if (strlen(st->mac) != 64 || !compute_mac(st, key, keylen, mac))
		return false;
	return CRYPTO_memcmp(mac, st->mac, 64) == 0;
}

void
mxp_stamp_clear(struct mxp_stamp *st)
{
	g_free(st->rcpt);
	memset(st, 0, sizeof(*st));
}
