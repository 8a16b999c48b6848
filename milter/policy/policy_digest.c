/*
 * policy_digest.c - the canonical dump of a parsed policy and its SHA-256.
 *
 * Every tier compares digests, so the dump holds meaning only: values
 * after parsing, defaults included, sets sorted, and the contents (by
 * hash) of data files the policy names.  It leaves out this host's own
 * name, which is the one thing that differs between tiers.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <openssl/evp.h>

#include "policy/modcfg.h"
#include "policy/policy.h"
#include "util/error.h"
#include "util/digest.h"

/* append_quoted - a string in double quotes with C escapes */
static void
append_quoted(GString *out, const char *s)
{
	g_string_append_c(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_printf(out, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			g_string_append_printf(out, "\\x%02x", *p);
		else
			g_string_append_c(out, (char)*p);
	}
	g_string_append_c(out, '"');
}

/* compare_strings - for g_ptr_array_sort over char * */
static gint
compare_strings(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* append_networks - sorted, deduplicated canonical CIDRs */
static void
append_networks(GString *out, const struct mxp_cidr *nets, size_t n)
{
	GPtrArray *texts = g_ptr_array_new_with_free_func(g_free);
	const char *prev = NULL;

	for (size_t i = 0; i < n; i++) {
		char buf[64];
		mxp_cidr_format(&nets[i], buf, sizeof(buf));
		g_ptr_array_add(texts, g_strdup(buf));
	}
	g_ptr_array_sort(texts, compare_strings);
	g_string_append_c(out, '{');
	for (guint i = 0; i < texts->len; i++) {
		const char *t = g_ptr_array_index(texts, i);
		if (prev != NULL && strcmp(prev, t) == 0)
			continue;
		g_string_append_printf(out, "%s%s", prev != NULL ? "," : "", t);
		prev = t;
	}
	g_string_append(out, "}\n");
	g_ptr_array_free(texts, TRUE);
}

/* append_value - one option value; files by content hash */
static int
append_value(GString *out, const struct mxp_cfg_value *v, char **error_r)
{
	char *contents = NULL;
	gsize len = 0;
	GError *gerr = NULL;
	char hex[65];

	switch (v->type) {
	case MXP_OPT_LIST:
		g_string_append_c(out, '{');
		for (guint i = 0; i < v->list->len; i++) {
			if (i > 0)
				g_string_append_c(out, ',');
			append_quoted(out, g_ptr_array_index(v->list, i));
		}
		g_string_append_c(out, '}');
		return 0;
	case MXP_OPT_FILE:
		if (!g_file_get_contents(v->text, &contents, &len, &gerr)) {
			mxp_error_set(error_r, "%s", gerr->message);
			g_error_free(gerr);
			return -1;
		}
		/* The contents carry the meaning; the path may differ between hosts. */
		mxp_sha256_hex(contents, len, hex);
		g_free(contents);
		g_string_append_printf(out, "file sha256:%s", hex);
		return 0;
	case MXP_OPT_PATH:
		/* As written: hosts may keep the policy in different directories. */
		append_quoted(out, v->written);
		return 0;
	default: append_quoted(out, v->text); return 0;
	}
}

/* host_local - the module marks key as where a host works (MXP_OPTF_HOST_LOCAL) */
static bool
host_local(const struct mxp_config *cfg, const char *key)
{
	for (const struct mxp_option *d = cfg->mod->options; d != NULL && d->name != NULL; d++)
		if (strcmp(d->name, key) == 0)
			return (d->flags & MXP_OPTF_HOST_LOCAL) != 0;
	return false;
}

/* append_config - "key value" lines in sorted key order, host-local options left out */
static int
append_config(GString *out, const char *prefix, const struct mxp_config *cfg, char **error_r)
{
	GList *keys = g_list_sort(g_hash_table_get_keys(cfg->values), (GCompareFunc)strcmp);
	int rc = 0;

	for (GList *k = keys; k != NULL && rc == 0; k = k->next) {
		if (host_local(cfg, k->data))
			continue;
		g_string_append_printf(out, "%s %s ", prefix, (const char *)k->data);
		rc = append_value(out, g_hash_table_lookup(cfg->values, k->data), error_r);
		g_string_append_c(out, '\n');
	}
	g_list_free(keys);
	return rc;
}

/* compare_hosts - mx hosts by name */
static gint
compare_hosts(gconstpointer a, gconstpointer b)
{
	const struct mxp_mx_host *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

/* mxp_policy_digest - fill pol->canonical and pol->digest */
int
mxp_policy_digest(struct mxp_policy *pol, char **error_r)
{
	GString *out = g_string_new("mxparity-policy 1\n");
	GPtrArray *hosts = g_ptr_array_new();
	int rc = -1;

	g_string_append(out, "version ");
	append_quoted(out, pol->version);
	g_string_append_printf(out, "\ncounters_interval %lld\n", pol->counters_interval);
	g_string_append_printf(out,
			       "limits max_message_size=%lld max_header_length=%lld "
			       "max_headers=%lld max_recipients=%lld\n",
			       pol->limits.max_message_size, pol->limits.max_header_length,
			       pol->limits.max_headers, pol->limits.max_recipients);
	/*
	 * Neither the keys nor their file names: which keys a host holds is not
	 * how it filters, and a key rotation done host by host must not look
	 * like policy drift.  Whether stamps are made at all, and how long they
	 * hold, is.
	 */
	if (pol->parity_key_file != NULL)
		g_string_append_printf(out, "parity max_age=%lld\n", pol->parity_max_age);
	for (size_t i = 0; i < pol->nhosts; i++)
		g_ptr_array_add(hosts, &pol->hosts[i]);
	g_ptr_array_sort(hosts, compare_hosts);
	for (guint i = 0; i < hosts->len; i++) {
		const struct mxp_mx_host *h = g_ptr_array_index(hosts, i);

		g_string_append(out, "mx host ");
		append_quoted(out, h->name);
		g_string_append_printf(out, " tier %s addresses ", h->tier);
		append_networks(out, h->addrs, h->naddrs);
	}
	g_string_append(out, "trusted_networks ");
	append_networks(out, pol->trusted, pol->ntrusted);
	/* Only when set, so that the digests of policies without it stay as they were. */
	if (pol->trusted_covers_peers)
		g_string_append(out, "trusted_networks_cover_peers true\n");
	/* Module order is the pipeline order, so it is part of the meaning. */
	for (size_t i = 0; i < pol->nmodules; i++) {
		const struct mxp_config *cfg = pol->modules[i].cfg;
		GList *domains =
			g_list_sort(g_hash_table_get_keys(cfg->domains), (GCompareFunc)strcmp);
		char *prefix = g_strdup_printf("module %s", pol->modules[i].mod->name);
		int failed = append_config(out, prefix, cfg, error_r);

		g_free(prefix);
		for (GList *d = domains; d != NULL && failed == 0; d = d->next) {
			prefix = g_strdup_printf("domain %s module %s", (const char *)d->data,
						 pol->modules[i].mod->name);
			failed = append_config(out, prefix,
					       g_hash_table_lookup(cfg->domains, d->data), error_r);
			g_free(prefix);
		}
		g_list_free(domains);
		if (failed)
			goto out;
	}
	if (!mxp_sha256_hex(out->str, out->len, pol->digest)) {
		mxp_error_set(error_r, "SHA-256 failed");
		goto out;
	}
	g_free(pol->canonical);
	pol->canonical = g_strdup(out->str);
	rc = 0;
out:
	g_ptr_array_free(hosts, TRUE);
	g_string_free(out, TRUE);
	return rc;
}
