/*
 * audit.c - `mxparity audit DOMAIN`: reads the domain's MX records, their
 * targets, addresses, reverse names, SPF and DMARC records through the
 * core's resolver, sets them against the policy's MX map, and prints a
 * table (or JSON) with a verdict per MX.  It sends nothing to the MX hosts.
 */
#include "config.h"
#include "build_paths.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "cli/audit.h"
#include "cli/audit_dns.h"
#include "core/dns.h"
#include "core/host.h"
#include "policy/modreg.h"
#include "policy/policy.h"
#include "util/cidr.h"

enum { EXIT_OK = 0, EXIT_FOUND = 1, EXIT_USAGE = 2, EXIT_DNS = 3 };

/* verdict - one MX's verdict: ok, a gap in parity, or its first DNS problem */
static char *
verdict(const struct audit_mx *mx, bool with_policy)
{
	if (with_policy && mx->tier == NULL && !mx->fallback)
		return g_strdup("GAP: not in the policy");
	if (with_policy && mx->tier == NULL)
		return g_strdup("GAP: the domain's own address is not in the policy");
	if (mx->problems->len > 0)
		return g_strdup_printf("DNS: %s", (const char *)g_ptr_array_index(mx->problems, 0));
	return g_strdup("ok");
}

/* addresses_cell - "ADDR (ptr NAME)" for each address of a target */
static char *
addresses_cell(const struct audit_mx *mx)
{
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < mx->addrs->len; i++) {
		const struct audit_addr *a = &g_array_index(mx->addrs, struct audit_addr, i);

		g_string_append_printf(out, "%s%s (ptr %s%s)", i > 0 ? ", " : "", a->text,
				       a->ptr[0] != '\0' ? a->ptr : "none",
				       a->ptr[0] != '\0' && !a->ptr_confirms ? ", not confirmed"
									     : "");
	}
	if (out->len == 0)
		g_string_append(out, "-");
	return g_string_free(out, FALSE);
}

/* print_table - the report a postmaster reads */
static void
print_table(const struct audit_domain *d, bool with_policy)
{
	unsigned groups = 0;

	for (guint i = 0; i < d->mx->len; i++) {
		unsigned g = ((struct audit_mx *)g_ptr_array_index(d->mx, i))->group;

		groups = g > groups ? g : groups;
	}
	if (d->null_mx)
		printf("%s: null MX (\"0 .\", RFC 7505): this domain accepts no mail\n", d->name);
	else if (d->nxdomain)
		printf("%s: the domain does not exist\n", d->name);
	else
		printf("%s: %u MX in %u preference group%s, in the order senders try them\n",
		       d->name, d->mx->len, groups, groups == 1 ? "" : "s");
	if (!d->null_mx && d->mx->len > 0) {
		printf("%-5s %-5s %-28s %-8s %s\n", "PREF", "GROUP", "HOST", "TIER", "VERDICT");
		for (guint i = 0; i < d->mx->len; i++) {
			const struct audit_mx *mx = g_ptr_array_index(d->mx, i);
			char *v = verdict(mx, with_policy), *cell = addresses_cell(mx);
			char group[16];

			/* "rr": targets of one preference, which senders pick from at random. */
			snprintf(group, sizeof(group), "%u%s", mx->group,
				 mx->round_robin ? "rr" : "");
			printf("%-5u %-5s %-28s %-8s %s\n", mx->pref, group, mx->name,
			       mx->tier != NULL ? mx->tier : "-", v);
			printf("      addresses: %s\n", cell);
			g_free(v);
			g_free(cell);
		}
	}
	for (guint i = 0; i < d->spf->len; i++)
		printf("SPF: %s\n", (const char *)g_ptr_array_index(d->spf, i));
	for (guint i = 0; i < d->dmarc->len; i++)
		printf("DMARC: %s\n", (const char *)g_ptr_array_index(d->dmarc, i));
	if (audit_dns_problems(d) == 0) {
		printf("no problems found\n");
		return;
	}
	printf("problems (%u):\n", audit_dns_problems(d));
	for (guint i = 0; i < d->problems->len; i++)
		printf("  %s: %s\n", d->name, (const char *)g_ptr_array_index(d->problems, i));
	for (guint i = 0; i < d->mx->len; i++) {
		const struct audit_mx *mx = g_ptr_array_index(d->mx, i);

		for (guint k = 0; k < mx->problems->len; k++)
			printf("  %s: %s\n", mx->name,
			       (const char *)g_ptr_array_index(mx->problems, k));
	}
}

/* add_strings - a JSON array of the strings in list */
static void
add_strings(JsonBuilder *b, const char *member, const GPtrArray *list)
{
	json_builder_set_member_name(b, member);
	json_builder_begin_array(b);
	for (guint i = 0; i < list->len; i++)
		json_builder_add_string_value(b, g_ptr_array_index(list, i));
	json_builder_end_array(b);
}

/* add_mx - one MX as a JSON object */
static void
add_mx(JsonBuilder *b, const struct audit_mx *mx, bool with_policy)
{
	char *v = verdict(mx, with_policy);

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "preference");
	json_builder_add_int_value(b, mx->pref);
	json_builder_set_member_name(b, "group");
	json_builder_add_int_value(b, mx->group);
	json_builder_set_member_name(b, "round_robin");
	json_builder_add_boolean_value(b, mx->round_robin);
	json_builder_set_member_name(b, "host");
	json_builder_add_string_value(b, mx->name);
	json_builder_set_member_name(b, "fallback");
	json_builder_add_boolean_value(b, mx->fallback);
	json_builder_set_member_name(b, "tier");
	if (mx->tier != NULL)
		json_builder_add_string_value(b, mx->tier);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "addresses");
	json_builder_begin_array(b);
	for (guint i = 0; i < mx->addrs->len; i++) {
		const struct audit_addr *a = &g_array_index(mx->addrs, struct audit_addr, i);

		json_builder_begin_object(b);
		json_builder_set_member_name(b, "address");
		json_builder_add_string_value(b, a->text);
		json_builder_set_member_name(b, "ptr");
		if (a->ptr[0] != '\0')
			json_builder_add_string_value(b, a->ptr);
		else
			json_builder_add_null_value(b);
		json_builder_set_member_name(b, "ptr_confirms");
		json_builder_add_boolean_value(b, a->ptr_confirms);
		json_builder_set_member_name(b, "in_policy");
		json_builder_add_boolean_value(b, a->in_map);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	add_strings(b, "problems", mx->problems);
	json_builder_set_member_name(b, "verdict");
	json_builder_add_string_value(b, v);
	json_builder_end_object(b);
	g_free(v);
}

/* print_json - the same report for programs (schema in mxparity(1)) */
static void
print_json(const struct audit_domain *d, bool with_policy)
{
	JsonBuilder *b = json_builder_new();
	JsonGenerator *gen = json_generator_new();
	JsonNode *root;
	char *text;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "domain");
	json_builder_add_string_value(b, d->name);
	json_builder_set_member_name(b, "null_mx");
	json_builder_add_boolean_value(b, d->null_mx);
	json_builder_set_member_name(b, "exists");
	json_builder_add_boolean_value(b, !d->nxdomain);
	json_builder_set_member_name(b, "mx");
	json_builder_begin_array(b);
	for (guint i = 0; i < d->mx->len && !d->null_mx; i++)
		add_mx(b, g_ptr_array_index(d->mx, i), with_policy);
	json_builder_end_array(b);
	add_strings(b, "spf", d->spf);
	add_strings(b, "dmarc", d->dmarc);
	add_strings(b, "not_published", d->unpublished);
	add_strings(b, "problems", d->problems);
	json_builder_set_member_name(b, "problem_count");
	json_builder_add_int_value(b, audit_dns_problems(d));
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	json_generator_set_pretty(gen, TRUE);
	text = json_generator_to_data(gen, NULL);
	printf("%s\n", text);
	g_free(text);
	json_node_unref(root);
	g_object_unref(gen);
	g_object_unref(b);
}

/* usage_error - the synopsis on stderr */
static int
usage_error(void)
{
	fprintf(stderr, "usage: mxparity audit [-c POLICY] [-M MODULE_DIR] [--no-policy] "
			"[--resolver ADDR] [--json] DOMAIN\n");
	return EXIT_USAGE;
}

int
mxp_cli_audit(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "resolver", required_argument, NULL, 'r' },
		{ "no-policy", no_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	const char *policy = DEFAULT_POLICY, *module_dir = MODULEDIR, *resolver = "system";
	bool json = false, with_policy = true;
	struct mxp_policy *pol = NULL;
	struct mxp_dns *dns;
	struct audit_domain d;
	char *why = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:M:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': policy = optarg; break;
		case 'M': module_dir = optarg; break;
		case 'j': json = true; break;
		case 'r': resolver = optarg; break;
		case 'N': with_policy = false; break;
		default: return usage_error();
		}
	}
	if (optind != argc - 1 || strlen(argv[optind]) == 0 || strlen(argv[optind]) > 253)
		return usage_error();
	if (with_policy) {
		/* The map is all the audit needs: modules are checked, not started. */
		mxp_host_set_checking(true);
		mxp_modreg_set_host(&mxp_host_api);
		if (mxp_modreg_load_dir(module_dir, &why) < 0 ||
		    mxp_policy_load(policy, NULL, &pol, &why) < 0) {
			fprintf(stderr, "mxparity: %s\n", why);
			g_free(why);
			return EXIT_USAGE;
		}
	}
	dns = mxp_dns_get(resolver, 5000, &why);
	if (dns == NULL) {
		fprintf(stderr, "mxparity: %s\n", why);
		g_free(why);
		if (pol != NULL)
			mxp_policy_unref(pol);
		return EXIT_USAGE;
	}
	if (audit_dns_read(dns, argv[optind], pol, &d, &why) < 0) {
		fprintf(stderr, "mxparity: DNS could not be read: %s\n", why);
		g_free(why);
		rc = EXIT_DNS;
	} else {
		if (json)
			print_json(&d, with_policy);
		else
			print_table(&d, with_policy);
		rc = audit_dns_problems(&d) > 0 ? EXIT_FOUND : EXIT_OK;
	}
	audit_dns_free(&d);
	mxp_dns_put(dns);
	if (pol != NULL)
		mxp_policy_unref(pol);
	return rc;
}
