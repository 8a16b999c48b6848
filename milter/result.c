/*
 * result.c - module results.  Everything a module hands back passes
 * through here, so reply codes and header text are checked once.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "result.h"

/* edit_clear - GArray element destructor */
static void
edit_clear(gpointer p)
{
	struct mxp_header_edit *e = p;

	g_free(e->name);
	g_free(e->value);
}

void
mxp_result_init(struct mxp_result *res)
{
	memset(res, 0, sizeof(*res));
	res->edits = g_array_new(FALSE, TRUE, sizeof(struct mxp_header_edit));
	g_array_set_clear_func(res->edits, edit_clear);
}

void
mxp_result_reset(struct mxp_result *res)
{
	mxp_result_release(res);
	mxp_result_init(res);
}

void
mxp_result_release(struct mxp_result *res)
{
	if (res->edits != NULL)
		g_array_free(res->edits, TRUE);
	g_free(res->quarantine);
	memset(res, 0, sizeof(*res));
}

void
mxp_result_clear_reply(struct mxp_result *res)
{
	res->has_reply = false;
	res->rcode[0] = res->xcode[0] = res->text[0] = '\0';
}

/* mxp_sanitize_text - replies and headers must never carry CR, LF or NUL */
void
mxp_sanitize_text(char *dst, size_t len, const char *src)
{
	size_t o = 0;

	for (; src != NULL && *src != '\0' && o + 1 < len; src++) {
		unsigned char c = (unsigned char)*src;
		dst[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (len > 0)
		dst[o] = '\0';
}

/* valid_codes - 4xx/5xx reply with a matching enhanced status class */
static bool
valid_codes(const char *rcode, const char *xcode)
{
	if (strlen(rcode) != 3 || (rcode[0] != '4' && rcode[0] != '5') ||
	    !isdigit((unsigned char)rcode[1]) || !isdigit((unsigned char)rcode[2]))
		return false;
	if (xcode == NULL || xcode[0] == '\0')
		return true;
	if (xcode[0] != rcode[0] || xcode[1] != '.')
		return false;
	for (const char *p = xcode + 2; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p) && *p != '.')
			return false;
	return strlen(xcode) < 16;
}

void
mxp_result_set_reply(struct mxp_result *res, const char *rcode, const char *xcode, const char *fmt,
		     ...)
{
	char raw[sizeof(res->text)];
	va_list ap;

	if (!valid_codes(rcode, xcode))
		return; /* the core falls back to its own reply for the verdict */
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	snprintf(res->rcode, sizeof(res->rcode), "%s", rcode);
	snprintf(res->xcode, sizeof(res->xcode), "%s", xcode != NULL ? xcode : "");
	mxp_sanitize_text(res->text, sizeof(res->text), raw);
	res->has_reply = true;
}

void
mxp_result_set_token(struct mxp_result *res, const char *fmt, ...)
{
	char raw[sizeof(res->token)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	mxp_sanitize_text(res->token, sizeof(res->token), raw);
	/* The summary line is split on spaces: keep a token one word. */
	for (char *p = res->token; *p != '\0'; p++)
		if (*p == ' ')
			*p = '_';
}

/* valid_header_name - RFC 5322 ftext */
static bool
valid_header_name(const char *name)
{
	if (name == NULL || name[0] == '\0' || strlen(name) > 128)
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (*p < 33 || *p > 126 || *p == ':')
			return false;
	return true;
}

int
mxp_result_add_header(struct mxp_result *res, const char *name, const char *value)
{
	struct mxp_header_edit e = { 0 };
	char clean[2048];

	if (!valid_header_name(name) || value == NULL)
		return -1;
	mxp_sanitize_text(clean, sizeof(clean), value);
	e.name = g_strdup(name);
	e.value = g_strdup(clean);
	g_array_append_val(res->edits, e);
	return 0;
}

int
mxp_result_remove_header(struct mxp_result *res, const char *name, unsigned index)
{
	struct mxp_header_edit e = { 0 };

	if (!valid_header_name(name) || index == 0)
		return -1;
	e.name = g_strdup(name);
	e.index = index;
	g_array_append_val(res->edits, e);
	return 0;
}

void
mxp_result_set_quarantine(struct mxp_result *res, const char *reason)
{
	char clean[256];

	mxp_sanitize_text(clean, sizeof(clean), reason);
	g_free(res->quarantine);
	res->quarantine = g_strdup(clean);
}
