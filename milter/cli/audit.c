/*
 * audit.c - `mxparity audit DOMAIN`: reads the domain's MX records, their
 * targets, addresses, reverse names, SPF and DMARC records through the
 * core's resolver and sets them against the policy's MX map; with --probe
 * it also sends every MX the same test mail (audit_probe.c) and shows the
 * answers side by side, marking those that differ from the primary's.  A
 * table for people, --json for programs, a verdict per MX.
 */
#include "config.h"
#include "build_paths.h"

#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "cli/audit.h"
#include "cli/audit_dns.h"
#include "cli/audit_probe.h"
#ifdef HAVE_SPF_AUDIT
#include "cli/audit_spf.h"
#endif
#include "core/dns.h"
#include "core/host.h"
#include "policy/modreg.h"
#include "policy/policy.h"

enum { EXIT_OK = 0, EXIT_FOUND = 1, EXIT_USAGE = 2, EXIT_DNS = 3 };

/* What one run found: DNS, and what each MX answered when probed. */
struct audit_run {
	struct audit_domain d;
	bool with_policy;
	bool probed;
	bool allow_private; /* --allow-private: probe loopback and private addresses (tests) */
	struct audit_probe_result *results; /* one per MX, when probed */
	int reference;			    /* the MX the others are compared with, or -1 */
};

/* result_of - the probe result of MX i, or NULL when it was not probed */
static const struct audit_probe_result *
result_of(const struct audit_run *run, guint i)
{
	return run->probed && run->results[i].address[0] != '\0' ? &run->results[i] : NULL;
}

/* differs - MX i's probe k got another class of answer than the reference */
static bool
differs(const struct audit_run *run, guint i, enum audit_probe_kind k)
{
	const struct audit_probe_result *r = result_of(run, i), *ref;

	if (run->reference < 0 || (guint)run->reference == i || r == NULL)
		return false;
	ref = result_of(run, (guint)run->reference);
	return ref != NULL && ref->ran[k] && r->ran[k] &&
	       ref->probe[k].code / 100 != r->probe[k].code / 100;
}

/* verdict - the words for MX i: parity gaps first, then other problems */
static char *
verdict(const struct audit_run *run, guint i)
{
	const struct audit_mx *mx = g_ptr_array_index(run->d.mx, i);
	const struct audit_probe_result *r = result_of(run, i);
	GString *v = g_string_new(NULL);

	if (run->with_policy && mx->tier == NULL)
		g_string_append(v, mx->fallback
					   ? "GAP: the domain's own address is not in the policy"
					   : "GAP: not in the policy");
	if (r != NULL && !r->connected)
		g_string_append_printf(v, "%sNO ANSWER: %s", v->len ? "; " : "",
				       r->connect_error[0] ? r->connect_error : "no SMTP banner");
	if (r != NULL && audit_probe_accepted(r, PROBE_UNKNOWN_RCPT))
		g_string_append_printf(v, "%sGAP: accepted unknown recipient", v->len ? "; " : "");
	if (r != NULL && audit_probe_accepted(r, PROBE_EICAR))
		g_string_append_printf(v, "%sGAP: accepted EICAR", v->len ? "; " : "");
	if (r != NULL && audit_probe_accepted(r, PROBE_SPF_FAIL))
		g_string_append_printf(v, "%sGAP: accepted an SPF-failing sender",
				       v->len ? "; " : "");
	for (int k = 0; r != NULL && k < PROBE_COUNT; k++)
		if (audit_probe_untested(r, (enum audit_probe_kind)k))
			g_string_append_printf(v, "%sNOT TESTED: %s refused at %s (%d)",
					       v->len ? "; " : "",
					       audit_probe_name((enum audit_probe_kind)k),
					       r->probe[k].stage, r->probe[k].code);
	if (r != NULL && audit_probe_refused(r, PROBE_CLEAN))
		g_string_append_printf(v, "%sPROBLEM: refused the clean probe", v->len ? "; " : "");
	/* No reply is no evidence either way: said as such, never taken as accepted. */
	for (int k = 0; r != NULL && r->connected && k < PROBE_COUNT; k++)
		if (r->ran[k] && r->probe[k].code == 0)
			g_string_append_printf(
				v, "%sNO ANSWER to the %s probe: %s", v->len ? "; " : "",
				audit_probe_name((enum audit_probe_kind)k), r->probe[k].text);
	for (int k = 0; k < PROBE_COUNT && v->len == 0; k++)
		if (differs(run, i, (enum audit_probe_kind)k))
			g_string_append_printf(v, "DIFFERS from the primary: %s",
					       audit_probe_name((enum audit_probe_kind)k));
	if (v->len == 0 && mx->problems->len > 0)
		g_string_append_printf(v, "DNS: %s",
				       (const char *)g_ptr_array_index(mx->problems, 0));
	if (v->len == 0)
		g_string_append(v, run->probed ? "parity ok" : "ok");
	return g_string_free(v, FALSE);
}

/* null_target - the "." of a null MX: not a host, never a row */
static bool
null_target(const struct audit_run *run, guint i)
{
	return strcmp(((struct audit_mx *)g_ptr_array_index(run->d.mx, i))->name, ".") == 0;
}

/* bad - MX i's verdict is not "ok" */
static bool
bad(const struct audit_run *run, guint i)
{
	char *v;

	if (null_target(run, i))
		return false;
	v = verdict(run, i);
	bool b = strcmp(v, "ok") != 0 && strcmp(v, "parity ok") != 0;

	g_free(v);
	return b;
}

/* addresses_cell - "ADDR (ptr NAME)" for each address of a target */
static char *
addresses_cell(const struct audit_mx *mx)
{
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < mx->addrs->len; i++) {
		const struct audit_addr *a = &g_array_index(mx->addrs, struct audit_addr, i);

		g_string_append_printf(out, "%s%s (ptr %s%s%s%s)", i > 0 ? ", " : "", a->text,
				       a->ptr[0] != '\0' ? a->ptr : "none",
				       a->ptr[0] != '\0' && !a->ptr_confirms ? ", not confirmed"
									     : "",
				       a->spf[0] != '\0' ? ", spf " : "", a->spf);
	}
	if (out->len == 0)
		g_string_append(out, "-");
	return g_string_free(out, FALSE);
}

/* probed_ptr - the PTR name of the address MX i was probed on, or "" */
static const char *
probed_ptr(const struct audit_run *run, guint i)
{
	const struct audit_mx *mx = g_ptr_array_index(run->d.mx, i);

	return mx->addrs->len > 0 ? g_array_index(mx->addrs, struct audit_addr, 0).ptr : "";
}

/* name_note - " (the PTR says NAME)" when an announced name is not the address's PTR */
static const char *
name_note(const char *announced, const char *ptr, char *buf, size_t len)
{
	if (ptr[0] == '\0' || g_ascii_strcasecmp(announced, ptr) == 0)
		return "";
	snprintf(buf, len, " (the PTR says %s)", ptr);
	return buf;
}

/* print_probe - the probe lines of one MX in the table */
static void
print_probe(const struct audit_run *run, guint i)
{
	const struct audit_probe_result *r = result_of(run, i);
	char expires[32] = "", note1[300], note2[300];

	if (r == NULL)
		return;
	if (((struct audit_mx *)g_ptr_array_index(run->d.mx, i))->addrs->len > 1)
		printf("      (probed on %s only: %u more address(es) not probed)\n", r->address,
		       ((struct audit_mx *)g_ptr_array_index(run->d.mx, i))->addrs->len - 1);
	if (!r->connected) {
		printf("      smtp %s: %s\n", r->address,
		       r->connect_error[0] ? r->connect_error : "no SMTP banner");
		return;
	}
	printf("      smtp %s: banner %d %s%s\n", r->address, r->banner.code, r->banner_name,
	       name_note(r->banner_name, probed_ptr(run, i), note1, sizeof(note1)));
	printf("      ehlo %d %s%s, STARTTLS %s\n", r->ehlo.code, r->ehlo_name,
	       name_note(r->ehlo_name, probed_ptr(run, i), note2, sizeof(note2)),
	       !r->starttls ? "not offered"
	       : r->tls_ok  ? "ok"
			    : r->tls_error);
	if (r->tls_ok) {
		if (r->tls_not_after > 0)
			strftime(expires, sizeof(expires), "%Y-%m-%d",
				 gmtime(&(time_t){ r->tls_not_after }));
		printf("      certificate: %s, expires %s\n", r->tls_names[0] ? r->tls_names : "-",
		       expires[0] ? expires : "?");
	}
	for (int k = 0; k < PROBE_COUNT; k++) {
		const struct audit_reply *p = &r->probe[k];

		if (!r->ran[k])
			continue;
		printf("    %s %-18s %-4s %3d %-7s %s\n",
		       differs(run, i, (enum audit_probe_kind)k) ? "*" : " ",
		       audit_probe_name((enum audit_probe_kind)k), p->stage, p->code,
		       p->xcode[0] ? p->xcode : "-", p->text);
	}
}

/* print_record - a TXT record as one safe line: a zone may hold terminal escapes */
static void
print_record(const char *what, const char *txt)
{
	GString *out = g_string_new(NULL);

	for (const char *c = txt; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || (unsigned char)*c >= 0x80)
			g_string_append_printf(out, "\\x%02x", (unsigned char)*c);
		else
			g_string_append_c(out, *c);
	printf("%s: %s\n", what, out->str);
	g_string_free(out, TRUE);
}

/* print_table - the report a postmaster reads */
static void
print_table(const struct audit_run *run)
{
	const struct audit_domain *d = &run->d;
	unsigned groups = 0, problems = audit_dns_problems(d);

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
			char *v, *cell;

			if (null_target(run, i))
				continue;
			v = verdict(run, i);
			cell = addresses_cell(mx);
			char group[16];

			/* "rr": targets of one preference, which senders pick from at random. */
			snprintf(group, sizeof(group), "%u%s", mx->group,
				 mx->round_robin ? "rr" : "");
			printf("%-5u %-5s %-28s %-8s %s\n", mx->pref, group, mx->name,
			       mx->tier != NULL ? mx->tier : "-", v);
			printf("      addresses: %s\n", cell);
			print_probe(run, i);
			g_free(v);
			g_free(cell);
		}
		if (run->probed && run->reference >= 0)
			printf("(* differs from %s, the primary)\n",
			       ((struct audit_mx *)g_ptr_array_index(d->mx, (guint)run->reference))
				       ->name);
	}
	for (guint i = 0; i < d->spf->len; i++)
		print_record("SPF", g_ptr_array_index(d->spf, i));
	for (guint i = 0; i < d->dmarc->len; i++)
		print_record("DMARC", g_ptr_array_index(d->dmarc, i));
	if (problems == 0) {
		printf("no problems found in DNS\n");
		return;
	}
	printf("problems (%u):\n", problems);
	for (guint i = 0; i < d->problems->len; i++)
		printf("  %s: %s\n", d->name, (const char *)g_ptr_array_index(d->problems, i));
	for (guint i = 0; i < d->mx->len; i++) {
		const struct audit_mx *mx = g_ptr_array_index(d->mx, i);

		for (guint k = 0; k < mx->problems->len; k++)
			printf("  %s: %s\n", mx->name,
			       (const char *)g_ptr_array_index(mx->problems, k));
	}
}

/* add_string - a string value, made valid UTF-8 (a zone or an MX may send any bytes) */
static void
add_string(JsonBuilder *b, const char *value)
{
	char *valid = g_utf8_make_valid(value, -1);

	json_builder_add_string_value(b, valid);
	g_free(valid);
}

/* add_strings - a JSON array of the strings in list */
static void
add_strings(JsonBuilder *b, const char *member, const GPtrArray *list)
{
	json_builder_set_member_name(b, member);
	json_builder_begin_array(b);
	for (guint i = 0; i < list->len; i++)
		add_string(b, g_ptr_array_index(list, i));
	json_builder_end_array(b);
}

/* add_member - a string member, or null */
static void
add_member(JsonBuilder *b, const char *name, const char *value)
{
	json_builder_set_member_name(b, name);
	if (value != NULL)
		add_string(b, value);
	else
		json_builder_add_null_value(b);
}

/* add_reply - an SMTP reply as a JSON object */
static void
add_reply(JsonBuilder *b, const char *name, const struct audit_reply *r)
{
	json_builder_set_member_name(b, name);
	json_builder_begin_object(b);
	add_member(b, "stage", r->stage);
	json_builder_set_member_name(b, "code");
	json_builder_add_int_value(b, r->code);
	add_member(b, "enhanced_code", r->xcode[0] ? r->xcode : NULL);
	add_member(b, "text", r->text);
	json_builder_end_object(b);
}

/* add_probe - what one MX answered, as a JSON object */
static void
add_probe(JsonBuilder *b, const struct audit_run *run, guint i)
{
	const struct audit_probe_result *r = result_of(run, i);

	json_builder_set_member_name(b, "probe");
	if (r == NULL) {
		json_builder_add_null_value(b);
		return;
	}
	json_builder_begin_object(b);
	add_member(b, "address", r->address);
	json_builder_set_member_name(b, "connected");
	json_builder_add_boolean_value(b, r->connected);
	add_member(b, "connect_error", r->connect_error[0] ? r->connect_error : NULL);
	add_reply(b, "banner", &r->banner);
	add_reply(b, "ehlo", &r->ehlo);
	add_member(b, "banner_name", r->banner_name);
	add_member(b, "ehlo_name", r->ehlo_name);
	json_builder_set_member_name(b, "names_match_ptr");
	json_builder_add_boolean_value(
		b, g_ascii_strcasecmp(r->banner_name, probed_ptr(run, i)) == 0 &&
			   g_ascii_strcasecmp(r->ehlo_name, probed_ptr(run, i)) == 0);
	json_builder_set_member_name(b, "starttls");
	json_builder_add_boolean_value(b, r->starttls);
	json_builder_set_member_name(b, "tls_ok");
	json_builder_add_boolean_value(b, r->tls_ok);
	add_member(b, "tls_error", r->tls_error[0] ? r->tls_error : NULL);
	add_member(b, "certificate_names", r->tls_ok ? r->tls_names : NULL);
	json_builder_set_member_name(b, "certificate_not_after");
	if (r->tls_not_after > 0)
		json_builder_add_int_value(b, (gint64)r->tls_not_after);
	else
		json_builder_add_null_value(b);
	json_builder_set_member_name(b, "results");
	json_builder_begin_object(b);
	for (int k = 0; k < PROBE_COUNT; k++) {
		if (!r->ran[k])
			continue;
		add_reply(b, audit_probe_name((enum audit_probe_kind)k), &r->probe[k]);
	}
	json_builder_end_object(b);
	json_builder_set_member_name(b, "differs_from_primary");
	json_builder_begin_array(b);
	for (int k = 0; k < PROBE_COUNT; k++)
		if (differs(run, i, (enum audit_probe_kind)k))
			json_builder_add_string_value(b,
						      audit_probe_name((enum audit_probe_kind)k));
	json_builder_end_array(b);
	json_builder_end_object(b);
}

/* add_mx - one MX as a JSON object */
static void
add_mx(JsonBuilder *b, const struct audit_run *run, guint i)
{
	const struct audit_mx *mx = g_ptr_array_index(run->d.mx, i);
	char *v = verdict(run, i);

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "preference");
	json_builder_add_int_value(b, mx->pref);
	json_builder_set_member_name(b, "group");
	json_builder_add_int_value(b, mx->group);
	json_builder_set_member_name(b, "round_robin");
	json_builder_add_boolean_value(b, mx->round_robin);
	add_member(b, "host", mx->name);
	json_builder_set_member_name(b, "fallback");
	json_builder_add_boolean_value(b, mx->fallback);
	add_member(b, "tier", mx->tier);
	json_builder_set_member_name(b, "addresses");
	json_builder_begin_array(b);
	for (guint k = 0; k < mx->addrs->len; k++) {
		const struct audit_addr *a = &g_array_index(mx->addrs, struct audit_addr, k);

		json_builder_begin_object(b);
		add_member(b, "address", a->text);
		add_member(b, "ptr", a->ptr[0] != '\0' ? a->ptr : NULL);
		json_builder_set_member_name(b, "ptr_confirms");
		json_builder_add_boolean_value(b, a->ptr_confirms);
		json_builder_set_member_name(b, "in_policy");
		json_builder_add_boolean_value(b, a->in_map);
		add_member(b, "spf", a->spf[0] != '\0' ? a->spf : NULL);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	add_strings(b, "problems", mx->problems);
	add_probe(b, run, i);
	add_member(b, "verdict", v);
	json_builder_end_object(b);
	g_free(v);
}

/* print_json - the same report for programs (schema in mxparity(1)) */
static void
print_json(const struct audit_run *run)
{
	const struct audit_domain *d = &run->d;
	JsonBuilder *b = json_builder_new();
	JsonGenerator *gen = json_generator_new();
	JsonNode *root;
	char *text;

	json_builder_begin_object(b);
	add_member(b, "domain", d->name);
	json_builder_set_member_name(b, "exists");
	json_builder_add_boolean_value(b, !d->nxdomain);
	json_builder_set_member_name(b, "null_mx");
	json_builder_add_boolean_value(b, d->null_mx);
	json_builder_set_member_name(b, "probed");
	json_builder_add_boolean_value(b, run->probed);
	json_builder_set_member_name(b, "mx");
	json_builder_begin_array(b);
	for (guint i = 0; i < d->mx->len && !d->null_mx; i++)
		if (!null_target(run, i))
			add_mx(b, run, i);
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

/* probeable - a public address, or any when the caller allows private ones (tests) */
static bool
probeable(const char *addr, bool allow_private)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (allow_private)
		return true;
	if (inet_pton(AF_INET, addr, &a4) == 1) {
		uint32_t h = ntohl(a4.s_addr);

		return !((h >> 24) == 0 || (h >> 24) == 10 || (h >> 24) == 127 ||
			 (h >> 16) == 0xa9fe || (h >> 20) == 0xac1 || (h >> 16) == 0xc0a8 ||
			 (h >> 22) == (100u << 2 | 1) /* 100.64/10 */);
	}
	if (inet_pton(AF_INET6, addr, &a6) == 1)
		return !(IN6_IS_ADDR_LOOPBACK(&a6) || IN6_IS_ADDR_UNSPECIFIED(&a6) ||
			 IN6_IS_ADDR_LINKLOCAL(&a6) || IN6_IS_ADDR_V4MAPPED(&a6) ||
			 (a6.s6_addr[0] & 0xfe) == 0xfc);
	return false;
}

/* probe_all - every MX's first address, in preference order; the primary as reference */
static void
probe_all(struct audit_run *run, const struct audit_probe_plan *plan)
{
	run->probed = true;
	run->reference = -1;
	run->results = g_new0(struct audit_probe_result, run->d.mx->len + 1);
	for (guint i = 0; i < run->d.mx->len; i++) {
		const struct audit_mx *mx = g_ptr_array_index(run->d.mx, i);

		if (mx->addrs->len == 0)
			continue;
		if (!probeable(g_array_index(mx->addrs, struct audit_addr, 0).text,
			       run->allow_private)) {
			/* Reported as such: a zone must not steer the probes into the prober's
			 * own network (its MTA may trust it and relay the EICAR unscanned). */
			snprintf(run->results[i].address, sizeof(run->results[i].address), "%s",
				 g_array_index(mx->addrs, struct audit_addr, 0).text);
			snprintf(run->results[i].connect_error,
				 sizeof(run->results[i].connect_error),
				 "not probed: a loopback, private or link-local address "
				 "(--allow-private)");
			continue;
		}
		audit_probe_run(g_array_index(mx->addrs, struct audit_addr, 0).text, mx->name, plan,
				&run->results[i]);
		if (run->reference < 0 && mx->tier != NULL && strcmp(mx->tier, "primary") == 0 &&
		    run->results[i].connected)
			run->reference = (int)i;
	}
}

/* audit_spf - the SPF part, where the spf module is built; -1 when it cannot run */
static int
audit_spf(struct audit_domain *d, const char *resolver)
{
#ifdef HAVE_SPF_AUDIT
	char *why = NULL;

	if (d->null_mx || d->nxdomain)
		return 0;
	if (audit_spf_check(d, resolver, &why) < 0) {
		fprintf(stderr, "mxparity: SPF could not be evaluated: %s\n", why);
		g_free(why);
		return -1;
	}
#else
	(void)d;
	(void)resolver;
#endif
	return 0;
}

/* usage_error - the synopsis on stderr */
static int
usage_error(void)
{
	fprintf(stderr, "usage: mxparity audit [-c POLICY] [-M MODULE_DIR] [--no-policy] "
			"[--resolver ADDR] [--json] [--probe [--port N] [--timeout S] "
			"[--allow-private]] DOMAIN\n");
	return EXIT_USAGE;
}

/* plan_from - the probes' addresses from the policy's audit section */
static bool
plan_from(const struct mxp_policy *pol, struct audit_probe_plan *plan, char *unknown, size_t len,
	  char *host, size_t hostlen)
{
	const char *at;

	if (pol == NULL || pol->audit.known_recipient == NULL) {
		fprintf(stderr, "mxparity: --probe needs the policy's audit section with "
				"known_recipient (see mxparity.conf(5))\n");
		return false;
	}
	at = strrchr(pol->audit.known_recipient, '@');
	snprintf(unknown, len, "mxparity-audit-no-such-user-%ld%s", (long)getpid(), at);
	if (gethostname(host, hostlen - 1) < 0)
		snprintf(host, hostlen, "localhost");
	host[hostlen - 1] = '\0';
	plan->known_rcpt = pol->audit.known_recipient;
	plan->unknown_rcpt = pol->audit.unknown_recipient ? pol->audit.unknown_recipient : unknown;
	plan->sender = pol->audit.sender != NULL ? pol->audit.sender : "";
	plan->spf_fail_sender = pol->audit.spf_fail_sender;
	plan->helo = pol->audit.helo != NULL ? pol->audit.helo : host;
	return true;
}

int
mxp_cli_audit(int argc, char **argv)
{
	/* An MX that resets in the middle of TLS must not end the run (OpenSSL writes plainly). */
	signal(SIGPIPE, SIG_IGN);
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "resolver", required_argument, NULL, 'r' },
		{ "no-policy", no_argument, NULL, 'N' },
		{ "probe", no_argument, NULL, 'P' },
		{ "port", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "allow-private", no_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	const char *policy = DEFAULT_POLICY, *module_dir = MODULEDIR, *resolver = "system";
	bool json = false, probe = false;
	struct audit_probe_plan plan = { .port = 25, .timeout_s = 10 };
	struct audit_run run = { .with_policy = true, .reference = -1 };
	struct mxp_policy *pol = NULL;
	struct mxp_dns *dns;
	char *why = NULL, *end, unknown[300], host[256];
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:M:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': policy = optarg; break;
		case 'M': module_dir = optarg; break;
		case 'j': json = true; break;
		case 'r': resolver = optarg; break;
		case 'N': run.with_policy = false; break;
		case 'P': probe = true; break;
		case 'A': run.allow_private = true; break;
		case 'p':
			plan.port = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0' || plan.port < 1 || plan.port > 65535)
				return usage_error();
			break;
		case 't':
			plan.timeout_s = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0' || plan.timeout_s < 1 || plan.timeout_s > 300)
				return usage_error();
			break;
		default: return usage_error();
		}
	}
	if (optind != argc - 1 || strlen(argv[optind]) == 0 || strlen(argv[optind]) > 253 ||
	    (probe && !run.with_policy))
		return usage_error();
	if (run.with_policy) {
		/* The map and the audit section are what it needs: modules are checked only. */
		mxp_host_set_checking(true);
		mxp_modreg_set_host(&mxp_host_api);
		if (mxp_modreg_load_dir(module_dir, &why) < 0 ||
		    mxp_policy_load(policy, NULL, &pol, &why) < 0) {
			fprintf(stderr, "mxparity: %s\n", why);
			g_free(why);
			return EXIT_USAGE;
		}
	}
	if (probe && !plan_from(pol, &plan, unknown, sizeof(unknown), host, sizeof(host))) {
		mxp_policy_unref(pol);
		return EXIT_USAGE;
	}
	/* The probes write to the audited domain's own mailboxes, never to another's. */
	if (probe && g_ascii_strcasecmp(strrchr(plan.known_rcpt, '@') + 1, argv[optind]) != 0) {
		fprintf(stderr,
			"mxparity: the audit section's known_recipient %s is not at %s: the probes "
			"would send mail for another domain\n",
			plan.known_rcpt, argv[optind]);
		mxp_policy_unref(pol);
		return EXIT_USAGE;
	}
	dns = mxp_dns_get(resolver, 5000, &why);
	if (dns == NULL) {
		fprintf(stderr, "mxparity: %s\n", why);
		g_free(why);
		if (pol != NULL)
			mxp_policy_unref(pol);
		return EXIT_USAGE;
	}
	if (audit_dns_read(dns, argv[optind], pol, &run.d, &why) < 0) {
		fprintf(stderr, "mxparity: DNS could not be read: %s\n", why);
		g_free(why);
		rc = EXIT_DNS;
	} else if (audit_spf(&run.d, resolver) < 0) {
		rc = EXIT_DNS;
	} else {
		/* Probes go only to the domain's own MX addresses, as DNS gave them. */
		if (probe && !run.d.null_mx && !run.d.nxdomain)
			probe_all(&run, &plan);
		if (json)
			print_json(&run);
		else
			print_table(&run);
		rc = audit_dns_problems(&run.d) > 0 ? EXIT_FOUND : EXIT_OK;
		for (guint i = 0; i < run.d.mx->len; i++)
			if (bad(&run, i))
				rc = EXIT_FOUND;
	}
	g_free(run.results);
	audit_dns_free(&run.d);
	mxp_dns_put(dns);
	if (pol != NULL)
		mxp_policy_unref(pol);
	return rc;
}
