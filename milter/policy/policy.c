/*
 * policy.c - parsing and validating the shared policy with libconfuse,
 * and the refcounted snapshot that connections pin.
 *
 * Module sections share one libconfuse schema, the union of every loaded
 * module's options; a per-option callback rejects an option that the
 * titled module does not declare, at the line where it appears.
 */
#include "config.h"

#include <pthread.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <confuse.h>
#include <glib.h>

#include "util/digest.h"
#include "util/error.h"
#include "util/log.h"
#include "policy/modcfg.h"
#include "policy/modreg.h"
#include "policy/parity_key.h"
#include "policy/policy.h"
#include "policy/policy_source.h"

/* What the libconfuse callbacks need; parsing runs on one thread at a time per ctx. */
struct parse_ctx {
	const struct mxp_policy_source *src;
	char *policy_dir; /* relative data file names start here */
	char *err;
	size_t errlen;
	bool failed;
	int mx_line;		   /* last line of the mx section */
	GHashTable *domain_lines;  /* domain title -> line of its closing brace */
	GHashTable *host_lines;	   /* host title -> line of its closing brace */
	unsigned char *parity_key; /* read while parsing, where the line is known */
	size_t parity_key_len;
	GArray *verify_keys;	/* struct mxp_parity_key, of verify_key_files */
	GHashTable *addr_lines; /* mx host title -> GArray of int: the line of each address */
	GArray *trusted_lines;	/* int: the line of each trusted network */
};

static _Thread_local struct parse_ctx *parse_ctx;

static const char *const tier_words[] = { "primary", "backup", NULL };

/* record_error - keep the first error, as FILE:LINE: message */
static void record_error(int line, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void
record_error(int line, const char *fmt, va_list ap)
{
	char where[1100], msg[900];

	if (parse_ctx == NULL || parse_ctx->failed)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	mxp_policy_source_where(parse_ctx->src, line, where, sizeof(where));
	snprintf(parse_ctx->err, parse_ctx->errlen, "%s: %s", where, msg);
	parse_ctx->failed = true;
}

static int fail_at(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const struct mxp_module *module_entry(cfg_t *cfg, const char *title);

/* confuse_error - libconfuse's error hook, with its terser messages reworded */
static void confuse_error(cfg_t *cfg, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void
confuse_error(cfg_t *cfg, const char *fmt, va_list ap)
{
	int line = cfg != NULL ? cfg->line : 0;

	if (strcmp(fmt, "found duplicate title '%s'") == 0) {
		const char *title = va_arg(ap, const char *);

		if (cfg != NULL && strcmp(cfg->name, "mx") == 0)
			fail_at(line, "mx host \"%s\" is listed twice", title);
		else
			fail_at(line, "section \"%s\" is listed twice", title);
		return;
	}
	/* An option of a module that is not installed: say that, not "no such option". */
	if (strcmp(fmt, "no such option '%s'") == 0 && cfg != NULL && cfg->name != NULL &&
	    strcmp(cfg->name, "module") == 0 && cfg_title(cfg) != NULL &&
	    module_entry(cfg, cfg_title(cfg)) == NULL)
		return;
	record_error(line, fmt, ap);
}

/* fail_at - our own validation errors, same format */
static int __attribute__((format(printf, 2, 3))) fail_at(int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record_error(line, fmt, ap);
	va_end(ap);
	return -1;
}

/* last_string - the value just parsed for opt */
static const char *
last_string(cfg_opt_t *opt)
{
	unsigned n = cfg_opt_size(opt);
	return n > 0 ? cfg_opt_getnstr(opt, n - 1) : NULL;
}

/* choice_list - "a, b or c" for error messages */
static void
choice_list(const char *const *choices, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; choices[i] != NULL && off < len; i++) {
		const char *sep = i == 0 ? "" : choices[i + 1] == NULL ? " or " : ", ";
		off += (size_t)snprintf(buf + off, len - off, "%s%s", sep, choices[i]);
	}
}

/* check_choice - shared by core and module CHOICE options */
static int
check_choice(cfg_t *cfg, const char *key, const char *value, const char *const *choices)
{
	char allowed[256];

	for (size_t i = 0; choices[i] != NULL; i++)
		if (strcmp(choices[i], value) == 0)
			return 0;
	choice_list(choices, allowed, sizeof(allowed));
	return fail_at(cfg->line, "%s = %s: must be %s", key, value, allowed);
}

/* validate_tier - mx host tier */
static int
validate_tier(cfg_t *cfg, cfg_opt_t *opt)
{
	return check_choice(cfg, "tier", last_string(opt), tier_words);
}

/* validate_cidr - every element of an address list, as it is parsed */
/* free_lines - a GArray in parse_ctx->addr_lines */
static void
free_lines(gpointer lines)
{
	g_array_free(lines, TRUE);
}

/*
 * value_line - the line "text" is written on, from libconfuse's line on:
 * its count can trail by a line when a list goes on across lines.
 */
static int
value_line(int line, const char *text)
{
	const char *s = parse_ctx->src->text->str;
	char *quoted = g_strdup_printf("\"%s\"", text);
	int at = 1, found = line;

	for (; *s != '\0' && at < line; s++)
		if (*s == '\n')
			at++;
	for (; *s != '\0' && at <= line + 1; at++) {
		const char *nl = strchr(s, '\n');
		size_t len = nl != NULL ? (size_t)(nl - s) : strlen(s);

		if (g_strstr_len(s, (gssize)len, quoted) != NULL) {
			found = at;
			break;
		}
		s += len + (nl != NULL);
	}
	g_free(quoted);
	return found;
}

static int
validate_cidr(cfg_t *cfg, cfg_opt_t *opt)
{
	struct mxp_cidr net;
	const char *text = last_string(opt);
	char *why = NULL;
	int rc = 0;

	if (text != NULL && mxp_cidr_parse(text, &net, &why) < 0)
		rc = fail_at(cfg->line, "%s: \"%s\" is not a valid address or CIDR: %s", opt->name,
			     text, why);
	else if (text != NULL) {
		/* Where each one is written, for the overlap checks after parsing.  libconfuse
		 * validates a list's last value twice: keep one line per index. */
		GArray *lines = parse_ctx->trusted_lines;
		guint index = cfg_opt_size(opt) - 1;
		int line = value_line(cfg->line, text);

		if (strcmp(opt->name, "trusted_networks") != 0) {
			char *host = g_ascii_strdown(cfg_title(cfg), -1);

			lines = g_hash_table_lookup(parse_ctx->addr_lines, host);
			if (lines == NULL) {
				lines = g_array_new(FALSE, TRUE, sizeof(int));
				g_hash_table_insert(parse_ctx->addr_lines, host, lines);
			} else {
				g_free(host);
			}
		}
		if (lines->len <= index)
			g_array_set_size(lines, index + 1);
		g_array_index(lines, int, index) = line;
	}
	g_free(why);
	return rc;
}

/* validate_size - limits given as sizes */
static int
validate_size(cfg_t *cfg, cfg_opt_t *opt)
{
	long long n;
	const char *text = last_string(opt);
	char *why = NULL;
	int rc = 0;

	if (mxp_parse_size(text, &n, &why) < 0)
		rc = fail_at(cfg->line, "%s = \"%s\": %s", opt->name, text, why);
	g_free(why);
	return rc;
}

/* validate_nonneg - integers that must not be negative */
static int
validate_nonneg(cfg_t *cfg, cfg_opt_t *opt)
{
	if (cfg_opt_getnint(opt, cfg_opt_size(opt) - 1) < 0)
		return fail_at(cfg->line, "%s must not be negative", opt->name);
	return 0;
}

/* validate_positive - integers that must be at least 1 */
static int
validate_positive(cfg_t *cfg, cfg_opt_t *opt)
{
	if (cfg_opt_getnint(opt, cfg_opt_size(opt) - 1) < 1)
		return fail_at(cfg->line, "%s must be positive", opt->name);
	return 0;
}

/* validate_host - an mx host needs a tier and addresses */
static int
validate_host(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *host = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);

	if (cfg_size(host, "tier") == 0)
		return fail_at(cfg->line, "mx host \"%s\": tier is required (primary or backup)",
			       cfg_title(host));
	if (cfg_size(host, "addresses") == 0)
		return fail_at(cfg->line, "mx host \"%s\": addresses is required", cfg_title(host));
	return 0;
}

/* validate_mx - remember where the map ends, for the own-host error */
static int
validate_mx(cfg_t *cfg, cfg_opt_t *opt)
{
	(void)opt;
	parse_ctx->mx_line = cfg->line;
	return 0;
}

/* module_entry - the loaded module a section title names, or an error */
static const struct mxp_module *
module_entry(cfg_t *cfg, const char *title)
{
	const struct mxp_modreg_entry *e = mxp_modreg_find(title);

	if (e == NULL) {
		GString *names = g_string_new(NULL);

		for (size_t i = 0; i < mxp_modreg_count(); i++)
			if (mxp_modreg_at(i)->mod != NULL)
				g_string_append_printf(names, "%s%s", names->len ? ", " : "",
						       mxp_modreg_at(i)->name);
		fail_at(cfg->line, "unknown module \"%s\" (installed in %s: %s)", title,
			mxp_modreg_dir(), names->len ? names->str : "none");
		g_string_free(names, TRUE);
		return NULL;
	}
	if (e->mod == NULL) {
		fail_at(cfg->line, "module \"%s\" cannot be used: %s", title, e->error);
		return NULL;
	}
	return e->mod;
}

/* resolve_path - data files named relative to the policy file's directory */
static char *
resolve_path(const char *name)
{
	if (g_path_is_absolute(name))
		return g_strdup(name);
	return g_build_filename(parse_ctx->policy_dir, name, NULL);
}

/* validate_parity_key - the key file must exist, be long enough and private */
static int
validate_parity_key(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *name = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);
	char *path = resolve_path(name);
	char *why = NULL;
	int rc = 0;

	mxp_parity_key_free(parse_ctx->parity_key, parse_ctx->parity_key_len);
	parse_ctx->parity_key = NULL;
	if (mxp_parity_key_load(path, &parse_ctx->parity_key, &parse_ctx->parity_key_len, &why) < 0)
		rc = fail_at(cfg->line, "parity key_file = \"%s\": %s", name, why);
	g_free(why);
	g_free(path);
	return rc;
}

/* free_key_array - wipe the keys of a GArray of struct mxp_parity_key */
static void
free_key_array(GArray *keys)
{
	if (keys == NULL)
		return;
	for (guint i = 0; i < keys->len; i++) {
		struct mxp_parity_key *k = &g_array_index(keys, struct mxp_parity_key, i);

		mxp_parity_key_free(k->key, k->len);
	}
	g_array_free(keys, TRUE);
}

/* validate_verify_keys - every key that only verifies must load like the signing one */
static int
validate_verify_keys(cfg_t *cfg, cfg_opt_t *opt)
{
	free_key_array(parse_ctx->verify_keys);
	parse_ctx->verify_keys = g_array_new(FALSE, TRUE, sizeof(struct mxp_parity_key));
	for (unsigned i = 0; i < cfg_opt_size(opt); i++) {
		const char *name = cfg_opt_getnstr(opt, i);
		char *path = resolve_path(name);
		struct mxp_parity_key k = { 0 };
		char *why = NULL;
		int rc = mxp_parity_key_load(path, &k.key, &k.len, &why);

		g_free(path);
		if (rc < 0) {
			rc = fail_at(cfg->line, "parity verify_key_files \"%s\": %s", name, why);
			g_free(why);
			return rc;
		}
		g_array_append_val(parse_ctx->verify_keys, k);
	}
	return 0;
}

/* validate_parity - a parity section must name its key */
static int
validate_parity(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *sec = cfg_opt_getnsec(opt, 0);

	if (cfg_size(sec, "key_file") == 0)
		return fail_at(cfg->line, "parity: key_file is required");
	return 0;
}

/* validate_module_option - ownership and type of one module option */
static int
validate_module_option(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *title = cfg_title(cfg);
	const struct mxp_module *mod = module_entry(cfg, title);
	const struct mxp_option *decl;
	const char *text;
	char *why = NULL;
	struct mxp_cfg_value *v;

	if (mod == NULL)
		return -1;
	decl = mxp_modcfg_core_option(opt->name);
	if (decl == NULL)
		decl = mxp_config_find_option(mod, opt->name);
	if (decl == NULL)
		return fail_at(cfg->line, "no such option '%s' in module %s", opt->name, title);
	if (decl->type == MXP_OPT_LIST || decl->type == MXP_OPT_INT || decl->type == MXP_OPT_BOOL)
		return 0; /* libconfuse has checked the type */
	text = last_string(opt);
	if (decl->type == MXP_OPT_CHOICE)
		return check_choice(cfg, opt->name, text, decl->choices);
	v = mxp_config_value_from_text(decl->type, text, decl->choices, &why);
	if (v == NULL) {
		int rc = fail_at(cfg->line, "%s = \"%s\": %s", opt->name, text, why);

		g_free(why);
		return rc;
	}
	mxp_config_value_free(v);
	if (decl->type == MXP_OPT_FILE || decl->type == MXP_OPT_PATH) {
		char *path = resolve_path(text);
		bool ok = g_file_test(path, decl->type == MXP_OPT_FILE ? G_FILE_TEST_IS_REGULAR
								       : G_FILE_TEST_EXISTS);

		g_free(path);
		if (!ok)
			return fail_at(cfg->line, "%s = \"%s\": no such %s", opt->name, text,
				       decl->type == MXP_OPT_FILE ? "file" : "file or directory");
	}
	return 0;
}

/* validate_module_section - catches a module section with no options */
static int
validate_module_section(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);

	return module_entry(cfg, cfg_title(sec)) == NULL ? -1 : 0;
}

/* valid_domain_name - letters, digits, hyphens and dots only */
static bool
valid_domain_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 253 || name[0] == '.' || name[len - 1] == '.')
		return false;
	for (const char *p = name; *p != '\0'; p++)
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.')
			return false;
	return strstr(name, "..") == NULL;
}

/* validate_host_section - a host's own settings; its name is checked against the map later */
static int
validate_host_section(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
	const char *title = cfg_title(sec);
	char *lower;

	if (!valid_domain_name(title))
		return fail_at(cfg->line, "host \"%s\": not a valid host name", title);
	lower = g_ascii_strdown(title, -1);
	if (g_hash_table_contains(parse_ctx->host_lines, lower)) {
		g_free(lower);
		return fail_at(cfg->line, "host \"%s\" is listed twice", title);
	}
	g_hash_table_insert(parse_ctx->host_lines, lower, GINT_TO_POINTER(cfg->line));
	return 0;
}

/* validate_domain - a recipient-domain override section */
static int
validate_domain(cfg_t *cfg, cfg_opt_t *opt)
{
	cfg_t *sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
	const char *title = cfg_title(sec);

	char *lower;

	if (!valid_domain_name(title))
		return fail_at(cfg->line, "domain \"%s\": not a valid domain name", title);
	lower = g_ascii_strdown(title, -1);
	if (g_hash_table_contains(parse_ctx->domain_lines, lower)) {
		g_free(lower);
		return fail_at(cfg->line, "domain \"%s\" is listed twice", title);
	}
	g_hash_table_insert(parse_ctx->domain_lines, lower, GINT_TO_POINTER(cfg->line));
	return 0;
}

/* union_option - the libconfuse declaration for one module option */
static cfg_opt_t
union_option(const struct mxp_option *o)
{
	cfg_opt_t str[] = { CFG_STR(o->name, NULL, CFGF_NODEFAULT) };
	cfg_opt_t num[] = { CFG_INT(o->name, 0, CFGF_NODEFAULT) };
	cfg_opt_t flag[] = { CFG_BOOL(o->name, cfg_false, CFGF_NODEFAULT) };
	cfg_opt_t list[] = { CFG_STR_LIST(o->name, NULL, CFGF_NODEFAULT) };
	cfg_opt_t out;

	switch (o->type) {
	case MXP_OPT_INT: out = num[0]; break;
	case MXP_OPT_BOOL: out = flag[0]; break;
	case MXP_OPT_LIST: out = list[0]; break;
	default: out = str[0]; break;
	}
	out.validcb = validate_module_option;
	return out;
}

/*
 * build_module_opts - union of the options of every loaded module.  Two
 * modules that give one option name different types cannot share it.
 */
static cfg_opt_t *
build_module_opts(char **error_r)
{
	GArray *opts = g_array_new(TRUE, TRUE, sizeof(cfg_opt_t));
	GHashTable *owner = g_hash_table_new(g_str_hash, g_str_equal);
	for (const struct mxp_option *c = mxp_core_module_options; c->name != NULL; c++) {
		cfg_opt_t o = union_option(c);

		g_array_append_val(opts, o);
	}
	for (size_t i = 0; i < mxp_modreg_count(); i++) {
		const struct mxp_module *mod = mxp_modreg_at(i)->mod;

		for (const struct mxp_option *d = mod != NULL ? mod->options : NULL;
		     d != NULL && d->name != NULL; d++) {
			const struct mxp_module *prev = g_hash_table_lookup(owner, d->name);

			if (prev != NULL) {
				const struct mxp_option *pd = mxp_config_find_option(prev, d->name);
				cfg_opt_t a = union_option(pd), b = union_option(d);

				if (a.type != b.type ||
				    (a.flags & CFGF_LIST) != (b.flags & CFGF_LIST)) {
					mxp_error_set(
						error_r,
						"modules %s and %s both declare option %s with "
						"different types",
						prev->name, mod->name, d->name);
					g_hash_table_destroy(owner);
					g_array_free(opts, TRUE);
					return NULL;
				}
				continue;
			}
			g_hash_table_insert(owner, (gpointer)d->name, (gpointer)mod);
			cfg_opt_t o = union_option(d);

			g_array_append_val(opts, o);
		}
	}
	g_hash_table_destroy(owner);
	/* The zero-filled terminator g_array_new(TRUE, ...) keeps is CFG_END(). */
	return (cfg_opt_t *)(void *)g_array_free(opts, FALSE);
}

/* parse_policy_text - run libconfuse over the joined source */
static cfg_t *
parse_policy_text(const struct mxp_policy_source *src, cfg_opt_t *module_opts)
{
	cfg_opt_t host_opts[] = {
		CFG_STR("tier", NULL, CFGF_NODEFAULT),
		CFG_STR_LIST("addresses", NULL, CFGF_NODEFAULT),
		CFG_END(),
	};
	cfg_opt_t mx_opts[] = {
		CFG_SEC("host", host_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
		CFG_END(),
	};
	cfg_opt_t limits_opts[] = {
		CFG_STR("max_message_size", "50M", CFGF_NONE),
		CFG_STR("max_header_length", "32K", CFGF_NONE),
		CFG_INT("max_headers", 1000, CFGF_NONE),
		CFG_INT("max_recipients", 1000, CFGF_NONE),
		CFG_END(),
	};
	cfg_opt_t parity_opts[] = {
		CFG_STR("key_file", NULL, CFGF_NODEFAULT),
		CFG_STR_LIST("verify_key_files", "{}", CFGF_NONE),
		CFG_INT("max_age", 435600, CFGF_NONE),
		CFG_END(),
	};
	/* For mxparity audit's probes only; not part of the digest: it filters nothing. */
	cfg_opt_t audit_opts[] = {
		CFG_STR("known_recipient", NULL, CFGF_NODEFAULT),
		CFG_STR("unknown_recipient", NULL, CFGF_NODEFAULT),
		CFG_STR("sender", NULL, CFGF_NODEFAULT),
		CFG_STR("spf_fail_sender", NULL, CFGF_NODEFAULT),
		CFG_STR("helo", NULL, CFGF_NODEFAULT),
		CFG_END(),
	};
	cfg_opt_t domain_opts[] = {
		CFG_SEC("module", module_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
		CFG_END(),
	};
	cfg_opt_t root_opts[] = {
		CFG_STR("version", NULL, CFGF_NODEFAULT),
		CFG_SEC("mx", mx_opts, CFGF_NODEFAULT),
		CFG_STR_LIST("trusted_networks", "{}", CFGF_NONE),
		CFG_BOOL("trusted_networks_cover_peers", cfg_false, CFGF_NONE),
		CFG_INT("counters_interval", 10, CFGF_NONE),
		CFG_SEC("limits", limits_opts, CFGF_NONE),
		CFG_SEC("parity", parity_opts, CFGF_NODEFAULT),
		CFG_SEC("audit", audit_opts, CFGF_NODEFAULT),
		CFG_SEC("module", module_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
		CFG_SEC("domain", domain_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
		/* The same shape: module sections, with host-local options only. */
		CFG_SEC("host", domain_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
		CFG_END(),
	};
	cfg_t *cfg = cfg_init(root_opts, CFGF_NONE);
	int rc;

	cfg_set_error_function(cfg, confuse_error);
	cfg_set_validate_func(cfg, "mx", validate_mx);
	cfg_set_validate_func(cfg, "mx|host", validate_host);
	cfg_set_validate_func(cfg, "mx|host|tier", validate_tier);
	cfg_set_validate_func(cfg, "mx|host|addresses", validate_cidr);
	cfg_set_validate_func(cfg, "trusted_networks", validate_cidr);
	cfg_set_validate_func(cfg, "counters_interval", validate_nonneg);
	cfg_set_validate_func(cfg, "limits|max_message_size", validate_size);
	cfg_set_validate_func(cfg, "limits|max_header_length", validate_size);
	cfg_set_validate_func(cfg, "limits|max_headers", validate_nonneg);
	cfg_set_validate_func(cfg, "limits|max_recipients", validate_nonneg);
	cfg_set_validate_func(cfg, "parity", validate_parity);
	cfg_set_validate_func(cfg, "parity|key_file", validate_parity_key);
	cfg_set_validate_func(cfg, "parity|verify_key_files", validate_verify_keys);
	cfg_set_validate_func(cfg, "parity|max_age", validate_positive);
	cfg_set_validate_func(cfg, "module", validate_module_section);
	cfg_set_validate_func(cfg, "domain", validate_domain);
	cfg_set_validate_func(cfg, "domain|module", validate_module_section);
	cfg_set_validate_func(cfg, "host", validate_host_section);
	cfg_set_validate_func(cfg, "host|module", validate_module_section);

	rc = cfg_parse_buf(cfg, src->text->str);
	if (rc != CFG_SUCCESS) {
		if (!parse_ctx->failed)
			fail_at(cfg->line, "syntax error");
		cfg_free(cfg);
		return NULL;
	}
	/* The option tables live on this stack frame: copy nothing out of cfg after return
	 * except values, which libconfuse owns in cfg itself. */
	return cfg;
}

/* value_from_section - the typed value of key as set in a section */
static struct mxp_cfg_value *
value_from_section(cfg_t *sec, const struct mxp_option *decl)
{
	struct mxp_cfg_value *v;

	/* Every value here passed validate_module_option: no error to report. */
	switch (decl->type) {
	case MXP_OPT_INT: {
		char text[32];
		snprintf(text, sizeof(text), "%ld", cfg_getint(sec, decl->name));
		return mxp_config_value_from_text(decl->type, text, NULL, NULL);
	}
	case MXP_OPT_BOOL:
		return mxp_config_value_from_text(
			decl->type, cfg_getbool(sec, decl->name) ? "true" : "false", NULL, NULL);
	case MXP_OPT_LIST:
		v = mxp_config_value_from_text(MXP_OPT_LIST, NULL, NULL, NULL);
		for (unsigned i = 0; i < cfg_size(sec, decl->name); i++)
			g_ptr_array_add(v->list, g_strdup(cfg_getnstr(sec, decl->name, i)));
		return v;
	default:
		return mxp_config_value_from_text(decl->type, cfg_getstr(sec, decl->name),
						  decl->choices, NULL);
	}
}

/* fill_one - the value of decl set in sec, else its default when with_defaults */
static void
fill_one(struct mxp_config *mc, cfg_t *sec, const struct mxp_option *decl, bool with_defaults)
{
	struct mxp_cfg_value *v = NULL;

	/* Defaults are the module's own and checked when it was loaded. */
	if (cfg_size(sec, decl->name) > 0)
		v = value_from_section(sec, decl);
	else if (with_defaults && decl->def != NULL)
		v = mxp_config_value_from_text(decl->type, decl->def, decl->choices, NULL);
	else if (with_defaults && decl->type == MXP_OPT_LIST)
		v = mxp_config_value_from_text(MXP_OPT_LIST, NULL, NULL, NULL);
	if (v != NULL && (decl->type == MXP_OPT_FILE || decl->type == MXP_OPT_PATH)) {
		v->written = v->text;
		v->text = resolve_path(v->written);
	}
	if (v != NULL)
		mxp_config_put(mc, decl->name, v);
}

/* fill_config - the core's options, then the module's own */
static void
fill_config(struct mxp_config *mc, cfg_t *sec, bool with_defaults)
{
	for (const struct mxp_option *c = mxp_core_module_options; c->name != NULL; c++)
		fill_one(mc, sec, c, with_defaults);
	for (const struct mxp_option *d = mc->mod->options; d != NULL && d->name != NULL; d++)
		fill_one(mc, sec, d, with_defaults);
}

/* build_hosts - the MX map; own_host must be in it */
static int
build_hosts(struct mxp_policy *pol, cfg_t *cfg, const char *own_host)
{
	cfg_t *mx = cfg_size(cfg, "mx") > 0 ? cfg_getsec(cfg, "mx") : NULL;
	unsigned n = mx != NULL ? cfg_size(mx, "host") : 0;

	if (n == 0)
		return fail_at(parse_ctx->mx_line > 0 ? parse_ctx->mx_line : 1,
			       "the mx map lists no hosts: add mx { host \"NAME\" "
			       "{ tier = primary addresses = {...} } }");
	pol->hosts = g_new0(struct mxp_mx_host, n);
	pol->nhosts = n;
	pol->host_names = g_new0(const char *, n + 1);
	for (unsigned i = 0; i < n; i++) {
		cfg_t *h = cfg_getnsec(mx, "host", i);
		struct mxp_mx_host *host = &pol->hosts[i];

		host->name = g_ascii_strdown(cfg_title(h), -1);
		pol->host_names[i] = host->name;
		host->tier = g_strdup(cfg_getstr(h, "tier"));
		host->naddrs = cfg_size(h, "addresses");
		host->addrs = g_new0(struct mxp_cidr, host->naddrs);
		for (size_t a = 0; a < host->naddrs; a++)
			mxp_cidr_parse(cfg_getnstr(h, "addresses", (unsigned)a), &host->addrs[a],
				       NULL); /* validated by validate_cidr */
		for (unsigned j = 0; j < i; j++)
			if (strcmp(pol->hosts[j].name, host->name) == 0)
				return fail_at(parse_ctx->mx_line, "mx host \"%s\" is listed twice",
					       host->name);
		if (own_host != NULL && g_ascii_strcasecmp(own_host, host->name) == 0)
			pol->self = host;
	}
	if (own_host == NULL)
		return 0;
	if (pol->self == NULL)
		return fail_at(parse_ctx->mx_line,
			       "this host \"%s\" is not in the mx map; add it, or name this host "
			       "with -n NAME",
			       own_host);
	return 0;
}

/* line_of - the recorded line of the i-th value, or fallback */
static int
line_of(const GArray *lines, size_t i, int fallback)
{
	return lines != NULL && i < lines->len && g_array_index(lines, int, i) > 0
		       ? g_array_index(lines, int, i)
		       : fallback;
}

/* address_line - where address a of host h is written */
static int
address_line(const struct mxp_mx_host *h, size_t a)
{
	return line_of(g_hash_table_lookup(parse_ctx->addr_lines, h->name), a, parse_ctx->mx_line);
}

/* check_host_overlaps - each address belongs to one mx host: the first match would win */
static int
check_host_overlaps(const struct mxp_policy *pol)
{
	for (size_t i = 0; i < pol->nhosts; i++)
		for (size_t a = 0; a < pol->hosts[i].naddrs; a++)
			for (size_t j = 0; j < i; j++)
				for (size_t b = 0; b < pol->hosts[j].naddrs; b++) {
					char mine[64], theirs[64], where[1100];

					if (!mxp_cidr_overlap(&pol->hosts[i].addrs[a],
							      &pol->hosts[j].addrs[b]))
						continue;
					mxp_cidr_format(&pol->hosts[i].addrs[a], mine,
							sizeof(mine));
					mxp_cidr_format(&pol->hosts[j].addrs[b], theirs,
							sizeof(theirs));
					/* The other one's FILE:LINE: it may be in another include.
					 */
					mxp_policy_source_where(parse_ctx->src,
								address_line(&pol->hosts[j], b),
								where, sizeof(where));
					return fail_at(
						address_line(&pol->hosts[i], a),
						"mx host \"%s\": address %s overlaps %s of mx "
						"host \"%s\" (%s): a relay from one would "
						"be taken for the other",
						pol->hosts[i].name, mine, theirs,
						pol->hosts[j].name, where);
				}
	return 0;
}

/*
 * check_trusted_peers - a trusted network that covers an mx host makes every
 * relay from it hop=trusted: its stamp is never verified and the checks are
 * skipped, so an unfiltered backup goes unnoticed.  Refused unless the policy
 * says trusted_networks_cover_peers = true.
 */
static int
check_trusted_peers(const struct mxp_policy *pol, bool allowed)
{
	if (allowed)
		return 0;
	for (size_t t = 0; t < pol->ntrusted; t++)
		for (size_t i = 0; i < pol->nhosts; i++)
			for (size_t a = 0; a < pol->hosts[i].naddrs; a++) {
				char net[64], addr[64];

				if (!mxp_cidr_overlap(&pol->trusted[t], &pol->hosts[i].addrs[a]))
					continue;
				mxp_cidr_format(&pol->trusted[t], net, sizeof(net));
				mxp_cidr_format(&pol->hosts[i].addrs[a], addr, sizeof(addr));
				return fail_at(
					line_of(parse_ctx->trusted_lines, t, 1),
					"trusted_networks: %s covers %s of mx host \"%s\": "
					"relays from it would skip every check and its stamp "
					"(hop=trusted); remove it, or set "
					"trusted_networks_cover_peers = true if that is meant",
					net, addr, pol->hosts[i].name);
			}
	return 0;
}

/* build_modules - one entry per top-level module section, in file order */
static int
build_modules(struct mxp_policy *pol, cfg_t *cfg)
{
	unsigned n = cfg_size(cfg, "module");

	pol->modules = g_new0(struct mxp_policy_module, n);
	pol->module_names = g_new0(const char *, n + 1);
	for (unsigned i = 0; i < n; i++) {
		cfg_t *sec = cfg_getnsec(cfg, "module", i);
		struct mxp_policy_module *pm = &pol->modules[pol->nmodules];
		const struct mxp_modreg_entry *e = mxp_modreg_find(cfg_title(sec));
		const char *word;

		pm->mod = e->mod;
		pm->cfg = mxp_config_new(e->mod, NULL);
		fill_config(pm->cfg, sec, true);
		word = mxp_cfg_string(pm->cfg, "on_error");
		pm->on_error = strcmp(word, "accept") == 0   ? MXP_CONTINUE
			       : strcmp(word, "reject") == 0 ? MXP_REJECT
							     : MXP_TEMPFAIL;
		pm->check_trusted = mxp_cfg_bool(pm->cfg, "check_trusted");
		pm->check_authenticated = mxp_cfg_bool(pm->cfg, "check_authenticated");
		pol->module_names[pol->nmodules] = pm->mod->name;
		pol->nmodules++;
	}
	return 0;
}

/* find_module - the policy's entry for a module name */
static struct mxp_policy_module *
find_module(struct mxp_policy *pol, const char *name)
{
	for (size_t i = 0; i < pol->nmodules; i++)
		if (strcmp(pol->modules[i].mod->name, name) == 0)
			return &pol->modules[i];
	return NULL;
}

/* check_per_domain - only options the module applies per domain may be set there */
static int
check_per_domain(const struct mxp_module *mod, cfg_t *sec, const char *domain, int line)
{
	for (const struct mxp_option *c = mxp_core_module_options; c->name != NULL; c++)
		if (cfg_size(sec, c->name) > 0)
			return fail_at(line,
				       "domain \"%s\": %s of module %s cannot be set per domain",
				       domain, c->name, mod->name);
	for (const struct mxp_option *d = mod->options; d != NULL && d->name != NULL; d++)
		if (cfg_size(sec, d->name) > 0 && !(d->flags & MXP_OPTF_PER_DOMAIN))
			return fail_at(line,
				       "domain \"%s\": option %s of module %s cannot be set per "
				       "domain",
				       domain, d->name, mod->name);
	return 0;
}

/* build_domains - sparse overrides hung under each module's base config */
static int
build_domains(struct mxp_policy *pol, cfg_t *cfg)
{
	for (unsigned i = 0; i < cfg_size(cfg, "domain"); i++) {
		cfg_t *dom = cfg_getnsec(cfg, "domain", i);
		char *name = g_ascii_strdown(cfg_title(dom), -1);
		int line = GPOINTER_TO_INT(g_hash_table_lookup(parse_ctx->domain_lines, name));

		for (unsigned j = 0; j < cfg_size(dom, "module"); j++) {
			cfg_t *sec = cfg_getnsec(dom, "module", j);
			struct mxp_policy_module *pm = find_module(pol, cfg_title(sec));
			struct mxp_config *over;

			if (pm == NULL) {
				fail_at(line,
					"domain \"%s\": module %s is not enabled at the top "
					"level, so it cannot be overridden",
					name, cfg_title(sec));
				g_free(name);
				return -1;
			}
			if (check_per_domain(pm->mod, sec, name, line) < 0) {
				g_free(name);
				return -1;
			}
			over = mxp_config_new(pm->mod, pm->cfg);
			fill_config(over, sec, false);
			g_hash_table_replace(pm->cfg->domains, g_strdup(name), over);
		}
		g_free(name);
	}
	return 0;
}

/* check_host_local - only options the module marks host-local may be set per host */
static int
check_host_local(const struct mxp_module *mod, cfg_t *sec, const char *host, int line)
{
	for (const struct mxp_option *c = mxp_core_module_options; c->name != NULL; c++)
		if (cfg_size(sec, c->name) > 0)
			return fail_at(line, "host \"%s\": %s of module %s cannot be set per host",
				       host, c->name, mod->name);
	for (const struct mxp_option *d = mod->options; d != NULL && d->name != NULL; d++)
		if (cfg_size(sec, d->name) > 0 && !(d->flags & MXP_OPTF_HOST_LOCAL))
			return fail_at(line,
				       "host \"%s\": option %s of module %s cannot be set per host "
				       "(only where a host does its work may differ, not what it "
				       "decides)",
				       host, d->name, mod->name);
	return 0;
}

/*
 * build_host_local - every host section is checked (a host of the map, a
 * module enabled at the top, host-local options only); the own host's
 * settings replace the module's base values.
 */
static int
build_host_local(struct mxp_policy *pol, cfg_t *cfg, const char *own_host)
{
	for (unsigned i = 0; i < cfg_size(cfg, "host"); i++) {
		cfg_t *hs = cfg_getnsec(cfg, "host", i);
		char *name = g_ascii_strdown(cfg_title(hs), -1);
		int line = GPOINTER_TO_INT(g_hash_table_lookup(parse_ctx->host_lines, name));
		bool known = false,
		     own = own_host != NULL && g_ascii_strcasecmp(name, own_host) == 0;

		for (size_t h = 0; h < pol->nhosts; h++)
			known = known || strcmp(pol->hosts[h].name, name) == 0;
		if (!known) {
			fail_at(line, "host \"%s\": not a host of the mx map", name);
			g_free(name);
			return -1;
		}
		for (unsigned j = 0; j < cfg_size(hs, "module"); j++) {
			cfg_t *sec = cfg_getnsec(hs, "module", j);
			struct mxp_policy_module *pm = find_module(pol, cfg_title(sec));

			if (pm == NULL) {
				fail_at(line,
					"host \"%s\": module %s is not enabled at the top level, "
					"so "
					"it cannot be set per host",
					name, cfg_title(sec));
				g_free(name);
				return -1;
			}
			if (check_host_local(pm->mod, sec, name, line) < 0) {
				g_free(name);
				return -1;
			}
			if (own)
				fill_config(pm->cfg, sec, false);
		}
		g_free(name);
	}
	return 0;
}

/* audit_address - an audit address option, which must look like local@domain */
static int
audit_address(cfg_t *sec, const char *key, char **out_r)
{
	const char *v = cfg_size(sec, key) > 0 ? cfg_getstr(sec, key) : NULL;
	const char *at = v != NULL ? strrchr(v, '@') : NULL;

	if (v == NULL)
		return 0;
	if (at == NULL || at == v || at[1] == '\0' || strlen(v) > 254 ||
	    strpbrk(v, " \t<>\r\n") != NULL)
		return fail_at(sec->line, "audit %s = \"%s\": not an address local@domain", key, v);
	*out_r = g_strdup(v);
	return 0;
}

/* build_audit - the addresses mxparity audit's probes use */
static int
build_audit(struct mxp_policy *pol, cfg_t *sec)
{
	if (audit_address(sec, "known_recipient", &pol->audit.known_recipient) < 0 ||
	    audit_address(sec, "unknown_recipient", &pol->audit.unknown_recipient) < 0 ||
	    audit_address(sec, "sender", &pol->audit.sender) < 0 ||
	    audit_address(sec, "spf_fail_sender", &pol->audit.spf_fail_sender) < 0)
		return -1;
	if (pol->audit.known_recipient == NULL)
		return fail_at(sec->line, "audit: known_recipient is required (a real mailbox the "
					  "probes may address)");
	if (cfg_size(sec, "helo") > 0) {
		const char *h = cfg_getstr(sec, "helo");

		/* It goes into an EHLO line: no spaces or control characters, a host's length. */
		for (const char *c = h; *c != '\0'; c++)
			if (!g_ascii_isgraph(*c))
				return fail_at(sec->line, "audit helo = \"%s\": not a host name",
					       h);
		if (h[0] == '\0' || strlen(h) > 255)
			return fail_at(sec->line, "audit helo = \"%s\": not a host name", h);
		pol->audit.helo = g_strdup(h);
	}
	return 0;
}

/* build_policy - copy the parsed tree into our own structures */
static int
build_policy(struct mxp_policy *pol, cfg_t *cfg, const char *own_host)
{
	cfg_t *limits = cfg_getsec(cfg, "limits");

	if (cfg_size(cfg, "version") == 0)
		return fail_at(1, "version is required, e.g. version = \"2026-11-26.1\"");
	pol->version = g_strdup(cfg_getstr(cfg, "version"));
	if (build_hosts(pol, cfg, own_host) < 0)
		return -1;
	pol->ntrusted = cfg_size(cfg, "trusted_networks");
	pol->trusted = g_new0(struct mxp_cidr, pol->ntrusted ? pol->ntrusted : 1);
	for (size_t i = 0; i < pol->ntrusted; i++)
		mxp_cidr_parse(cfg_getnstr(cfg, "trusted_networks", (unsigned)i), &pol->trusted[i],
			       NULL); /* validated by validate_cidr */
	pol->trusted_covers_peers = cfg_getbool(cfg, "trusted_networks_cover_peers");
	if (check_host_overlaps(pol) < 0 || check_trusted_peers(pol, pol->trusted_covers_peers) < 0)
		return -1;
	pol->counters_interval = cfg_getint(cfg, "counters_interval");
	/* Both validated by validate_size. */
	mxp_parse_size(cfg_getstr(limits, "max_message_size"), &pol->limits.max_message_size, NULL);
	mxp_parse_size(cfg_getstr(limits, "max_header_length"), &pol->limits.max_header_length,
		       NULL);
	pol->limits.max_headers = cfg_getint(limits, "max_headers");
	pol->limits.max_recipients = cfg_getint(limits, "max_recipients");
	if (cfg_size(cfg, "parity") > 0) {
		cfg_t *parity = cfg_getsec(cfg, "parity");
		size_t nverify = parse_ctx->verify_keys != NULL ? parse_ctx->verify_keys->len : 0;

		pol->parity_key_file = g_strdup(cfg_getstr(parity, "key_file"));
		pol->parity_key = parse_ctx->parity_key;
		pol->parity_key_len = parse_ctx->parity_key_len;
		parse_ctx->parity_key = NULL;
		pol->parity_max_age = cfg_getint(parity, "max_age");
		pol->parity_keys = g_new0(struct mxp_parity_key, 1 + nverify);
		pol->parity_keys[0].key = pol->parity_key; /* not owned twice: see policy_free */
		pol->parity_keys[0].len = pol->parity_key_len;
		for (size_t i = 0; i < nverify; i++)
			pol->parity_keys[1 + i] =
				g_array_index(parse_ctx->verify_keys, struct mxp_parity_key, i);
		if (parse_ctx->verify_keys != NULL)
			g_array_set_size(parse_ctx->verify_keys, 0); /* the policy owns them now */
		pol->nparity_keys = 1 + nverify;
		for (size_t i = 0; i < pol->nparity_keys; i++)
			mxp_parity_key_id(pol->parity_keys[i].key, pol->parity_keys[i].len,
					  pol->parity_keys[i].kid);
	}
	if (cfg_size(cfg, "audit") > 0 && build_audit(pol, cfg_getsec(cfg, "audit")) < 0)
		return -1;
	if (build_modules(pol, cfg) < 0 || build_host_local(pol, cfg, own_host) < 0)
		return -1;
	return build_domains(pol, cfg);
}

/* file_sha256 - the SHA-256 of a regular file of at most 1 MB (what a policy file may be) */
static bool
file_sha256(const char *path, char *hex)
{
	struct stat st;
	gchar *contents = NULL;
	gsize len = 0;
	bool ok;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > 1024 * 1024 ||
	    !g_file_get_contents(path, &contents, &len, NULL))
		return false;
	ok = mxp_sha256_hex(contents, len, hex);
	g_free(contents);
	return ok;
}

/* record_sources - the files read for this policy and what they held, each once */
static void
record_sources(struct mxp_policy *pol, const struct mxp_policy_source *src)
{
	pol->source_files = g_new0(char *, src->files->len + 1);
	pol->source_sha256 = g_malloc0_n(src->files->len + 1, sizeof(*pol->source_sha256));
	for (guint i = 0; i < src->files->len; i++) {
		const char *path = g_ptr_array_index(src->files, i);
		bool seen = false;

		/* A diamond of includes reads a file more than once. */
		for (size_t k = 0; k < pol->nsources && !seen; k++)
			seen = strcmp(pol->source_files[k], path) == 0;
		if (seen)
			continue;
		pol->source_files[pol->nsources] = g_strdup(path);
		snprintf(pol->source_sha256[pol->nsources], sizeof(pol->source_sha256[0]), "%s",
			 (const char *)g_ptr_array_index(src->sha256, i));
		pol->nsources++;
	}
}

int
mxp_policy_sources_changed(const struct mxp_policy *pol, char *what, size_t len)
{
	snprintf(what, len, "same");
	for (size_t i = 0; i < pol->nsources; i++) {
		char now[65];

		if (!file_sha256(pol->source_files[i], now)) {
			snprintf(what, len, "changed: %s cannot be read", pol->source_files[i]);
			return 1;
		}
		if (strcmp(now, pol->source_sha256[i]) != 0) {
			snprintf(what, len, "changed: %s", pol->source_files[i]);
			return 1;
		}
	}
	return 0;
}

/* init_modules - instances for this snapshot; any failure refuses it */
static int
init_modules(struct mxp_policy *pol, char **error_r)
{
	for (size_t i = 0; i < pol->nmodules; i++) {
		struct mxp_policy_module *pm = &pol->modules[i];
		char why[512] = "";

		if (pm->mod->init(mxp_modreg_host(), pm->cfg, &pm->instance, why, sizeof(why)) <
		    0) {
			mxp_error_set(error_r, "%s: module %s: %s", pol->path, pm->mod->name,
				      why[0] ? why : "initialisation failed");
			pm->instance = NULL; /* policy_free destroys only those that initialised */
			return -1;
		}
	}
	return 0;
}

/* policy_free - everything, including module instances */
static void
policy_free(struct mxp_policy *pol)
{
	for (size_t i = 0; i < pol->nmodules; i++) {
		if (pol->modules[i].instance != NULL)
			pol->modules[i].mod->destroy(pol->modules[i].instance);
		mxp_config_free(pol->modules[i].cfg);
	}
	g_free(pol->modules);
	for (size_t i = 0; i < pol->nhosts; i++) {
		g_free(pol->hosts[i].name);
		g_free(pol->hosts[i].tier);
		g_free(pol->hosts[i].addrs);
	}
	g_free(pol->hosts);
	g_free(pol->host_names);
	g_free(pol->module_names);
	g_free(pol->trusted);
	for (size_t i = 1; i < pol->nparity_keys; i++)
		mxp_parity_key_free(pol->parity_keys[i].key, pol->parity_keys[i].len);
	g_free(pol->parity_keys);
	mxp_parity_key_free(pol->parity_key, pol->parity_key_len);
	g_free(pol->parity_key_file);
	g_free(pol->version);
	g_free(pol->canonical);
	g_free(pol->path);
	g_free(pol->audit.known_recipient);
	g_free(pol->audit.unknown_recipient);
	g_free(pol->audit.sender);
	g_free(pol->audit.spf_fail_sender);
	g_free(pol->audit.helo);
	for (size_t i = 0; i < pol->nsources; i++)
		g_free(pol->source_files[i]);
	g_free(pol->source_files);
	g_free(pol->source_sha256);
	g_free(pol);
}

/* mxp_policy_load - the whole load; nothing is half-built on failure */
int
mxp_policy_load(const char *path, const char *own_host, struct mxp_policy **pol_r, char **error_r)
{
	char err[1536] = "";
	size_t errlen = sizeof(err);
	char *why = NULL;
	struct mxp_policy_source src = { 0 };
	struct parse_ctx ctx = { .err = err, .errlen = errlen };
	struct mxp_policy *pol = NULL;
	cfg_opt_t *module_opts = NULL;
	cfg_t *cfg = NULL;
	int rc = -1;

	*pol_r = NULL;
	if (mxp_policy_source_read(path, &src, &why) < 0)
		goto out;
	module_opts = build_module_opts(&why);
	if (module_opts == NULL)
		goto out;
	ctx.src = &src;
	ctx.policy_dir = g_path_get_dirname(path);
	ctx.domain_lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	ctx.host_lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	ctx.addr_lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, free_lines);
	ctx.trusted_lines = g_array_new(FALSE, TRUE, sizeof(int));
	parse_ctx = &ctx;
	cfg = parse_policy_text(&src, module_opts);
	if (cfg == NULL)
		goto out;
	pol = g_new0(struct mxp_policy, 1);
	atomic_init(&pol->refs, 1);
	pol->path = g_strdup(path);
	if (build_policy(pol, cfg, own_host) < 0)
		goto out;
	if (mxp_policy_digest(pol, &why) < 0)
		goto out;
	if (init_modules(pol, &why) < 0)
		goto out;
	record_sources(pol, &src);
	*pol_r = pol;
	pol = NULL;
	rc = 0;
out:
	parse_ctx = NULL;
	if (rc < 0)
		mxp_error_set(error_r, "%s", why != NULL ? why : err);
	g_free(why);
	if (pol != NULL)
		policy_free(pol);
	if (cfg != NULL)
		cfg_free(cfg);
	g_free(module_opts);
	g_free(ctx.policy_dir);
	mxp_parity_key_free(ctx.parity_key, ctx.parity_key_len);
	free_key_array(ctx.verify_keys);
	if (ctx.domain_lines != NULL)
		g_hash_table_destroy(ctx.domain_lines);
	if (ctx.host_lines != NULL)
		g_hash_table_destroy(ctx.host_lines);
	if (ctx.addr_lines != NULL)
		g_hash_table_destroy(ctx.addr_lines);
	if (ctx.trusted_lines != NULL)
		g_array_free(ctx.trusted_lines, TRUE);
	mxp_policy_source_free(&src);
	return rc;
}

/* mxp_policy_key_ids - "key=kid:HEX[ verify=kid:HEX,...]" or "key=none": never the key */
void
mxp_policy_key_ids(const struct mxp_policy *pol, char *buf, size_t len)
{
	size_t off;

	if (pol->parity_key == NULL || pol->nparity_keys == 0) {
		snprintf(buf, len, "key=none");
		return;
	}
	off = (size_t)snprintf(buf, len, "key=kid:%s", pol->parity_keys[0].kid);
	for (size_t i = 1; i < pol->nparity_keys && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%skid:%s", i == 1 ? " verify=" : ",",
					pol->parity_keys[i].kid);
}

struct mxp_policy *
mxp_policy_ref(struct mxp_policy *pol)
{
	atomic_fetch_add(&pol->refs, 1);
	return pol;
}

void
mxp_policy_unref(struct mxp_policy *pol)
{
	if (pol != NULL && atomic_fetch_sub(&pol->refs, 1) == 1)
		policy_free(pol);
}

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mxp_policy *current;

/* mxp_policy_install - swap under the lock, release the old outside it */
void
mxp_policy_install(struct mxp_policy *pol)
{
	struct mxp_policy *old;

	pthread_mutex_lock(&current_lock);
	old = current;
	current = pol;
	pthread_mutex_unlock(&current_lock);
	mxp_policy_unref(old);
}

struct mxp_policy *
mxp_policy_acquire(void)
{
	struct mxp_policy *pol;

	pthread_mutex_lock(&current_lock);
	pol = current != NULL ? mxp_policy_ref(current) : NULL;
	pthread_mutex_unlock(&current_lock);
	return pol;
}

/* mxp_policy_peer_by_addr - another host of the map that owns addr */
const struct mxp_mx_host *
mxp_policy_peer_by_addr(const struct mxp_policy *pol, const char *addr)
{
	for (size_t i = 0; i < pol->nhosts; i++) {
		const struct mxp_mx_host *h = &pol->hosts[i];

		if (h != pol->self && mxp_cidr_match_any(h->addrs, h->naddrs, addr))
			return h;
	}
	return NULL;
}

void
mxp_policy_module_details(const struct mxp_policy *pol, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < pol->nmodules && off < len; i++) {
		const struct mxp_policy_module *pm = &pol->modules[i];
		char what[512] = "";

		if (pm->mod->describe == NULL)
			continue;
		pm->mod->describe(pm->instance, what, sizeof(what));
		if (what[0] != '\0')
			off += (size_t)snprintf(buf + off, len - off, " %s", what);
	}
}

void
mxp_policy_module_names(const struct mxp_policy *pol, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < pol->nmodules && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "," : "",
					pol->modules[i].mod->name);
	if (pol->nmodules == 0)
		snprintf(buf, len, "none");
}
