/*
 * modcfg.c - typed option values for modules.  The policy loader fills a
 * base config per module (defaults included) and sparse override configs
 * per recipient domain whose lookups fall back to the base.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy/modcfg.h"
#include "util/error.h"
#include "util/resolver_addr.h"

/* mxp_config_value_free - free one value and what it owns */
void
mxp_config_value_free(struct mxp_cfg_value *value)
{
	if (value == NULL)
		return;
	g_free(value->text);
	g_free(value->file_sha256);
	g_free(value->written);
	if (value->list != NULL)
		g_ptr_array_free(value->list, TRUE);
	g_free(value);
}

/* mxp_config_new - empty config; parent is the base for overrides */
struct mxp_config *
mxp_config_new(const struct mxp_module *mod, const struct mxp_config *parent)
{
	struct mxp_config *cfg = g_new0(struct mxp_config, 1);

	cfg->mod = mod;
	cfg->parent = parent;
	cfg->values = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					    (GDestroyNotify)mxp_config_value_free);
	cfg->domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					     (GDestroyNotify)mxp_config_free);
	return cfg;
}

/* mxp_config_free - recursive over domain overrides */
void
mxp_config_free(struct mxp_config *cfg)
{
	if (cfg == NULL)
		return;
	g_hash_table_destroy(cfg->values);
	g_hash_table_destroy(cfg->domains);
	g_free(cfg);
}

void
mxp_config_put(struct mxp_config *cfg, const char *key, struct mxp_cfg_value *value)
{
	g_hash_table_replace(cfg->values, g_strdup(key), value);
}

/* mxp_config_value - own value first, then the base section's */
const struct mxp_cfg_value *
mxp_config_value(const struct mxp_config *cfg, const char *key)
{
	for (; cfg != NULL; cfg = cfg->parent) {
		const struct mxp_cfg_value *v = g_hash_table_lookup(cfg->values, key);
		if (v != NULL)
			return v;
	}
	return NULL;
}

/* mxp_parse_size - decimal count with an optional K, M or G (powers of 1024) */
int
mxp_parse_size(const char *text, long long *bytes_r, char **error_r)
{
	char *end;
	long long n;
	long long mult = 1;

	if (text[0] < '0' || text[0] > '9') {
		mxp_error_set(error_r, "size must be a number with an optional K, M or G suffix");
		return -1;
	}
	errno = 0;
	n = strtoll(text, &end, 10);
	if (errno != 0) {
		mxp_error_set(error_r, "size is out of range");
		return -1;
	}
	switch (*end) {
	case '\0': break;
	case 'k':
	case 'K':
		mult = 1024;
		end++;
		break;
	case 'm':
	case 'M':
		mult = 1024 * 1024;
		end++;
		break;
	case 'g':
	case 'G':
		mult = 1024LL * 1024 * 1024;
		end++;
		break;
	default: end = NULL; break;
	}
	if (end == NULL || *end != '\0') {
		mxp_error_set(error_r, "size must be a number with an optional K, M or G suffix");
		return -1;
	}
	if (n > (1LL << 50) / mult) {
		mxp_error_set(error_r, "size is out of range");
		return -1;
	}
	*bytes_r = n * mult;
	return 0;
}

/*
 * mxp_config_value_from_text - the one place option text is checked,
 * so the policy loader and the digest see the same canonical values.
 */
struct mxp_cfg_value *
mxp_config_value_from_text(enum mxp_opt_type type, const char *text, const char *const *choices,
			   char **error_r)
{
	struct mxp_cfg_value *v = g_new0(struct mxp_cfg_value, 1);
	char *end;

	v->type = type;
	switch (type) {
	case MXP_OPT_STRING:
	case MXP_OPT_FILE:
	case MXP_OPT_PATH: v->text = g_strdup(text); break;
	case MXP_OPT_RESOLVER: {
		char unbound_form[128];

		if (mxp_resolver_addr_parse(text, unbound_form, sizeof(unbound_form), error_r) < 0)
			goto fail;
		v->text = g_strdup(text);
		break;
	}
	case MXP_OPT_INT:
		errno = 0;
		v->number = strtoll(text, &end, 10);
		if (errno != 0 || end == text || *end != '\0') {
			mxp_error_set(error_r, "expected an integer");
			goto fail;
		}
		v->text = g_strdup_printf("%lld", v->number);
		break;
	case MXP_OPT_BOOL:
		if (g_ascii_strcasecmp(text, "true") == 0 || g_ascii_strcasecmp(text, "yes") == 0 ||
		    g_ascii_strcasecmp(text, "on") == 0)
			v->flag = true;
		else if (g_ascii_strcasecmp(text, "false") == 0 ||
			 g_ascii_strcasecmp(text, "no") == 0 ||
			 g_ascii_strcasecmp(text, "off") == 0)
			v->flag = false;
		else {
			mxp_error_set(error_r, "expected true or false");
			goto fail;
		}
		v->text = g_strdup(v->flag ? "true" : "false");
		break;
	case MXP_OPT_SIZE:
		if (mxp_parse_size(text, &v->number, error_r) < 0)
			goto fail;
		v->text = g_strdup_printf("%lld", v->number);
		break;
	case MXP_OPT_CHOICE:
		for (size_t i = 0; choices[i] != NULL; i++) {
			if (strcmp(choices[i], text) == 0) {
				v->text = g_strdup(text);
				return v;
			}
		}
		mxp_error_set(error_r, "not one of the allowed words");
		goto fail;
	case MXP_OPT_LIST:
		v->list = g_ptr_array_new_with_free_func(g_free);
		if (text != NULL)
			g_ptr_array_add(v->list, g_strdup(text));
		break;
	}
	return v;
fail:
	mxp_config_value_free(v);
	return NULL;
}

/* mxp_config_find_option - declaration lookup */
const struct mxp_option *
mxp_config_find_option(const struct mxp_module *mod, const char *key)
{
	for (const struct mxp_option *o = mod->options; o != NULL && o->name != NULL; o++)
		if (strcmp(o->name, key) == 0)
			return o;
	return NULL;
}

const char *
mxp_cfg_string(const struct mxp_config *cfg, const char *key)
{
	const struct mxp_cfg_value *v = mxp_config_value(cfg, key);
	return v != NULL ? v->text : NULL;
}

long long
mxp_cfg_int(const struct mxp_config *cfg, const char *key)
{
	const struct mxp_cfg_value *v = mxp_config_value(cfg, key);
	return v != NULL ? v->number : 0;
}

bool
mxp_cfg_bool(const struct mxp_config *cfg, const char *key)
{
	const struct mxp_cfg_value *v = mxp_config_value(cfg, key);
	return v != NULL && v->flag;
}

size_t
mxp_cfg_list_count(const struct mxp_config *cfg, const char *key)
{
	const struct mxp_cfg_value *v = mxp_config_value(cfg, key);
	return v != NULL && v->list != NULL ? v->list->len : 0;
}

const char *
mxp_cfg_list_item(const struct mxp_config *cfg, const char *key, size_t i)
{
	const struct mxp_cfg_value *v = mxp_config_value(cfg, key);

	if (v == NULL || v->list == NULL || i >= v->list->len)
		return NULL;
	return g_ptr_array_index(v->list, i);
}

/* mxp_cfg_for_domain - the override for domain (case-insensitive), else cfg */
const struct mxp_config *
mxp_cfg_for_domain(const struct mxp_config *cfg, const char *domain)
{
	const struct mxp_config *base = cfg->parent != NULL ? cfg->parent : cfg;
	const struct mxp_config *over;
	char *lower;

	if (domain == NULL)
		return base;
	lower = g_ascii_strdown(domain, -1);
	over = g_hash_table_lookup(base->domains, lower);
	g_free(lower);
	return over != NULL ? over : base;
}

static const char *const on_error_words[] = { "tempfail", "reject", "accept", NULL };
/* Every module section has these; the core, not the module, declares them. */
const struct mxp_option mxp_core_module_options[] = {
	{ .name = "on_error",
	  .type = MXP_OPT_CHOICE,
	  .def = "tempfail",
	  .choices = on_error_words,
	  .help = "action when the module fails" },
	{ .name = "check_trusted",
	  .type = MXP_OPT_BOOL,
	  .def = "false",
	  .help = "also check clients in trusted_networks" },
	{ .name = "check_authenticated",
	  .type = MXP_OPT_BOOL,
	  .def = "false",
	  .help = "also check SMTP AUTH clients" },
	{ .name = NULL },
};

const struct mxp_option *
mxp_modcfg_core_option(const char *name)
{
	for (const struct mxp_option *o = mxp_core_module_options; o->name != NULL; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}
