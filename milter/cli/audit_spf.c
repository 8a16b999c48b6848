/*
 * audit_spf.c - the SPF part of the audit, through the spf module's own
 * check_host() (modules/spf/evaluate.c) and grammar (modules/spf/syntax.c),
 * so that the audit and the MXs judge the record alike.  Each MX address is
 * checked as the sender postmaster@DOMAIN with its own name as HELO, as when
 * one MX relays or bounces for the domain to another.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <glib.h>

#include "cli/audit_spf.h"
#include "core/host.h"
#include "modules/spf/evaluate.h"
#include "modules/spf/syntax.h"
#include "util/error.h"

#define QUERY_TIMEOUT_MS 5000
#define EVAL_BUDGET_MS 20000

/* result_word - the RFC 7208 name of a result */
static const char *
result_word(enum spf_res r)
{
	static const char *const words[R_COUNT] = { "pass", "fail",	 "softfail", "neutral",
						    "none", "permerror", "temperror" };

	return r < R_COUNT ? words[r] : "permerror";
}

int
audit_spf_check(struct audit_domain *d, const char *resolver, char **error_r)
{
	char why[300] = "", err[300] = "", *sender;
	struct spf_resolver *r;
	bool over_terms = false, over_voids = false;

	if (d->spf->len != 1)
		return 0; /* none, or several: reported already, and a permerror for all */
	if (!spf_record_syntax_ok(g_ptr_array_index(d->spf, 0), why, sizeof(why)))
		g_ptr_array_add(
			d->problems,
			g_strdup_printf("the SPF record of %s does not parse: %s (RFC 7208 12)",
					d->name, why));
	r = spf_resolver_new(&mxp_host_api, resolver, QUERY_TIMEOUT_MS, err, sizeof(err));
	if (r == NULL) {
		mxp_error_set(error_r, "%s", err);
		return -1;
	}
	sender = g_strdup_printf("postmaster@%s", d->name);
	for (guint i = 0; i < d->mx->len; i++) {
		struct audit_mx *mx = g_ptr_array_index(d->mx, i);

		for (guint k = 0; k < mx->addrs->len; k++) {
			struct audit_addr *a = &g_array_index(mx->addrs, struct audit_addr, k);
			struct spf_check c = { 0 };
			const struct spf_question q = {
				.resolver = r,
				.client_addr = a->text,
				.client_family = strchr(a->text, ':') ? AF_INET6 : AF_INET,
				.helo = mx->name,
				.sender = sender,
				.deadline_ms = spf_clock_ms() + EVAL_BUDGET_MS,
			};

			spf_evaluate(&q, &c);
			snprintf(a->spf, sizeof(a->spf), "%s", result_word(c.result));
			over_terms |= c.terms > SPF_MAX_DNS_TERMS;
			over_voids |= c.voids > 2;
			if (c.result != R_PASS)
				g_ptr_array_add(
					mx->problems,
					g_strdup_printf("the SPF record of %s gives %s for %s "
							"(sender %s): the MXs cannot relay "
							"or bounce for the domain",
							d->name, a->spf, a->text, sender));
			spf_check_free(&c);
		}
	}
	{
		/* An address no record names (TEST-NET-1) walks every include: the limits are
		 * those of the whole record, not of the path an MX's address took. */
		struct spf_check c = { 0 };
		const struct spf_question q = {
			.resolver = r,
			.client_addr = "192.0.2.1",
			.client_family = AF_INET,
			.helo = d->name,
			.sender = sender,
			.deadline_ms = spf_clock_ms() + EVAL_BUDGET_MS,
		};

		spf_evaluate(&q, &c);
		over_terms |= c.terms > SPF_MAX_DNS_TERMS;
		over_voids |= c.voids > 2;
		spf_check_free(&c);
	}
	if (over_terms)
		g_ptr_array_add(
			d->problems,
			g_strdup_printf("the SPF record of %s needs more than %d DNS-querying "
					"terms (include, a, mx, ptr, exists, redirect): a "
					"permerror (RFC 7208 4.6.4)",
					d->name, SPF_MAX_DNS_TERMS));
	if (over_voids)
		g_ptr_array_add(d->problems,
				g_strdup_printf("the SPF record of %s makes more than 2 "
						"void lookups: a permerror (RFC 7208 "
						"4.6.4)",
						d->name));
	g_free(sender);
	spf_resolver_free(r);
	return 0;
}
