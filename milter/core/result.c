/*
 * result.c - module results.  Everything a module hands back passes
 * through here, so reply codes and header text are checked once.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/result.h"

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
	res->findings = g_array_new(FALSE, TRUE, sizeof(struct mxp_finding));
	res->authres = g_ptr_array_new_with_free_func(g_free);
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
	if (res->findings != NULL)
		g_array_free(res->findings, TRUE);
	if (res->authres != NULL)
		g_ptr_array_free(res->authres, TRUE);
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

int
mxp_result_add_finding(struct mxp_result *res, const char *key, unsigned flags, const char *value)
{
	struct mxp_finding f = { .flags = flags };

	if (!mxp_finding_key_ok(key))
		return -1;
	/* av=clean from any module but av would be believed by the next tier. */
	for (size_t i = 0; res->module_names != NULL && res->module_names[i] != NULL; i++)
		if (strcmp(res->module_names[i], key) == 0 &&
		    (res->owner == NULL || strcmp(res->owner, key) != 0))
			return -1;
	g_strlcpy(f.key, key, sizeof(f.key));
	mxp_finding_value_clean(f.value, sizeof(f.value), value);
	if (f.value[0] == '\0')
		g_strlcpy(f.value, "-", sizeof(f.value));
	for (guint i = 0; i < res->findings->len; i++) {
		struct mxp_finding *old = &g_array_index(res->findings, struct mxp_finding, i);

		if (strcmp(old->key, key) == 0) {
			*old = f;
			return 0;
		}
	}
	g_array_append_val(res->findings, f);
	return 0;
}

int
mxp_result_add_auth_result(struct mxp_result *res, const char *method, const char *result,
			   const char *props)
{
	char m[64], r[64], p[1024];

	if (!mxp_finding_key_ok(method) || result == NULL || result[0] == '\0')
		return -1;
	mxp_finding_value_clean(m, sizeof(m), method);
	mxp_finding_value_clean(r, sizeof(r), result);
	mxp_sanitize_text(p, sizeof(p), props != NULL ? props : "");
	g_ptr_array_add(res->authres, p[0] != '\0' ? g_strdup_printf("%s=%s %s", m, r, p)
						   : g_strdup_printf("%s=%s", m, r));
	return 0;
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
mxp_result_add_header_raw(struct mxp_result *res, const char *name, const char *value)
{
	struct mxp_header_edit e = { 0 };

	if (!valid_header_name(name) || value == NULL)
		return -1;
	e.name = g_strdup(name);
	e.value = g_strdup(value);
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
