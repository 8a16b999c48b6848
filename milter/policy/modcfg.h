/*
 * modcfg.h - the validated options of one module section, as modules see
 * them through struct mxp_host, with per-recipient-domain overrides.
 */
#ifndef MXP_MODCFG_H
#define MXP_MODCFG_H

#include <stdbool.h>
#include <stddef.h>

#include <glib.h>
#include <mxparity/module.h>

struct mxp_cfg_value {
	enum mxp_opt_type type;
	char *text;	   /* canonical text for STRING/SIZE/CHOICE/FILE/INT/BOOL */
	long long number;  /* INT, SIZE */
	bool flag;	   /* BOOL */
	GPtrArray *list;   /* LIST: char * items */
	char *file_sha256; /* FILE: hex digest of the contents */
	char *written;	   /* FILE, PATH: the name as the policy wrote it */
};

struct mxp_config {
	const struct mxp_module *mod;
	GHashTable *values;		 /* key -> struct mxp_cfg_value * */
	GHashTable *domains;		 /* lower-case domain -> struct mxp_config * */
	const struct mxp_config *parent; /* base section for a domain override */
};

struct mxp_config *mxp_config_new(const struct mxp_module *mod, const struct mxp_config *parent);
void mxp_config_free(struct mxp_config *cfg);
/* mxp_config_put - store a value under key, replacing any earlier one */
void mxp_config_put(struct mxp_config *cfg, const char *key, struct mxp_cfg_value *value);
/* mxp_config_value - own value, else the parent's */
const struct mxp_cfg_value *mxp_config_value(const struct mxp_config *cfg, const char *key);
/* mxp_config_value_new_text - parse text as type; -1 with error_r on bad input */
struct mxp_cfg_value *mxp_config_value_from_text(enum mxp_opt_type type, const char *text,
						 const char *const *choices, const char **error_r);
void mxp_config_value_free(struct mxp_cfg_value *value);
/* mxp_parse_size - "25M" into bytes */
int mxp_parse_size(const char *text, long long *bytes_r, const char **error_r);
/* mxp_config_find_option - the module's declaration of key, or NULL */
const struct mxp_option *mxp_config_find_option(const struct mxp_module *mod, const char *key);

const char *mxp_cfg_string(const struct mxp_config *cfg, const char *key);
long long mxp_cfg_int(const struct mxp_config *cfg, const char *key);
bool mxp_cfg_bool(const struct mxp_config *cfg, const char *key);
size_t mxp_cfg_list_count(const struct mxp_config *cfg, const char *key);
const char *mxp_cfg_list_item(const struct mxp_config *cfg, const char *key, size_t i);
const struct mxp_config *mxp_cfg_for_domain(const struct mxp_config *cfg, const char *domain);

/* Every module section has these: the core, not the module, declares them ({ NULL }-terminated). */
extern const struct mxp_option mxp_core_module_options[];
/* mxp_modcfg_core_option - an option every module section has (on_error, ...), or NULL */
const struct mxp_option *mxp_modcfg_core_option(const char *name);

#endif
