/*
 * audit_dns.c - reading a domain's mail setup from DNS through the core's
 * resolver (libunbound); ldns takes the records apart, so no DNS wire
 * format is parsed here.  Every answer is hostile: names are bounded,
 * records counted, and a name that cannot be a host name is reported, not
 * followed.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "cli/audit_dns.h"
#include "core/dns.h"
#include "policy/policy.h"
#include "util/error.h"

#define QUERY_TIMEOUT_MS 5000
#define MAX_TARGETS 32 /* MX records looked at; more is a problem of its own */
#define MAX_ADDRS 16   /* addresses of one target */
#define MAX_RECORDS 16 /* TXT records of one name */
#define MAX_TXT 4096   /* bytes of one TXT record, joined */
#define T_A 1
#define T_CNAME 5
#define T_PTR 12
#define T_MX 15
#define T_TXT 16
#define T_AAAA 28

/* problem - append a printf-formatted problem to list */
static void __attribute__((format(printf, 2, 3))) problem(GPtrArray *list, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_ptr_array_add(list, g_strdup_vprintf(fmt, ap));
	va_end(ap);
}

/* rr_of - one record's rdata as an ldns record, for ldns to take apart; NULL if malformed */
static ldns_rr *
rr_of(int type, const unsigned char *data, int len)
{
	size_t n = 11 + (size_t)len, pos = 0;
	uint8_t *wire = g_malloc(n);
	ldns_rr *rr = NULL;

	/* Owner "." (one zero byte), type, class IN, TTL 0, rdlength, rdata. */
	wire[0] = 0;
	wire[1] = (uint8_t)(type >> 8);
	wire[2] = (uint8_t)type;
	wire[3] = 0;
	wire[4] = 1;
	memset(wire + 5, 0, 4);
	wire[9] = (uint8_t)(len >> 8);
	wire[10] = (uint8_t)len;
	memcpy(wire + 11, data, (size_t)len);
	if (ldns_wire2rr(&rr, wire, n, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK || pos != n) {
		if (rr != NULL)
			ldns_rr_free(rr);
		rr = NULL;
	}
	g_free(wire);
	return rr;
}

/* name_text - a domain name in lower case without its final dot ("." for the root) */
static void
name_text(const ldns_rdf *rdf, char *out, size_t len)
{
	char *s = rdf != NULL ? ldns_rdf2str(rdf) : NULL;
	size_t n;

	snprintf(out, len, "%s", s != NULL ? s : "");
	free(s);
	n = strlen(out);
	if (n > 1 && out[n - 1] == '.')
		out[n - 1] = '\0';
	for (char *c = out; *c != '\0'; c++)
		*c = g_ascii_tolower(*c);
}

/* query - one question; -1 with why when DNS gave no usable answer (temporary) */
static int
query(struct mxp_dns *dns, const char *name, int type, struct mxp_dns_answer **ans_r,
      char **error_r)
{
	if (mxp_dns_query(dns, name, type, QUERY_TIMEOUT_MS, ans_r) < 0) {
		mxp_error_set(error_r, "%s type %d: no answer from the resolver", name, type);
		return -1;
	}
	if ((*ans_r)->rcode != 0 && (*ans_r)->rcode != 3) {
		mxp_error_set(error_r, "%s type %d: DNS error (rcode %d)", name, type,
			      (*ans_r)->rcode);
		mxp_dns_answer_free(*ans_r);
		return -1;
	}
	return 0;
}

/* txt_records - the TXT records of name, joined (character-strings concatenated) */
static int
txt_records(struct mxp_dns *dns, const char *name, GPtrArray *out, char **error_r)
{
	struct mxp_dns_answer *ans;

	if (query(dns, name, T_TXT, &ans, error_r) < 0)
		return -1;
	for (size_t i = 0; ans->havedata && i < ans->count && i < MAX_RECORDS; i++) {
		ldns_rr *rr = rr_of(T_TXT, ans->data[i], ans->len[i]);
		GString *txt = g_string_new(NULL);

		for (size_t k = 0; rr != NULL && k < ldns_rr_rd_count(rr); k++) {
			const ldns_rdf *rdf = ldns_rr_rdf(rr, k);
			const uint8_t *p = ldns_rdf_data(rdf);

			/* A character-string: a length byte, then the bytes. */
			if (ldns_rdf_size(rdf) >= 1 && (size_t)p[0] + 1 <= ldns_rdf_size(rdf) &&
			    txt->len + p[0] <= MAX_TXT)
				g_string_append_len(txt, (const char *)p + 1, p[0]);
		}
		if (rr != NULL)
			ldns_rr_free(rr);
		g_ptr_array_add(out, g_string_free(txt, FALSE));
	}
	mxp_dns_answer_free(ans);
	return 0;
}

/* starts_tag - the record starts with tag ("v=spf1"), any case, then a space, ';' or the end */
static bool
starts_tag(const char *txt, const char *tag)
{
	size_t n = strlen(tag);

	return g_ascii_strncasecmp(txt, tag, n) == 0 &&
	       (txt[n] == '\0' || txt[n] == ' ' || txt[n] == ';');
}

/* dmarc_policy_ok - "v=DMARC1; p=none|quarantine|reject..." (RFC 7489 6.4: p comes second) */
static bool
dmarc_policy_ok(const char *txt)
{
	char **tags = g_strsplit(txt, ";", 3);
	bool ok = false;

	if (tags[0] != NULL && tags[1] != NULL) {
		char *p = g_strstrip(tags[1]);

		ok = g_ascii_strncasecmp(p, "p", 1) == 0 && (p = g_strchug(p + 1))[0] == '=' &&
		     (g_ascii_strcasecmp(g_strstrip(p + 1), "none") == 0 ||
		      g_ascii_strcasecmp(p + 1, "quarantine") == 0 ||
		      g_ascii_strcasecmp(p + 1, "reject") == 0);
	}
	g_strfreev(tags);
	return ok;
}

/* ip_literal - the name is an address, as some zones wrongly write an MX target */
static bool
ip_literal(const char *name)
{
	char bare[256];
	unsigned char buf[16];
	size_t n = strlen(name);

	snprintf(bare, sizeof(bare), "%s", name);
	if (n >= 2 && bare[0] == '[' && bare[n - 1] == ']') {
		memmove(bare, bare + 1, n - 2);
		bare[n - 2] = '\0';
	}
	if (g_ascii_strncasecmp(bare, "ipv6:", 5) == 0)
		memmove(bare, bare + 5, strlen(bare + 5) + 1);
	return inet_pton(AF_INET, bare, buf) == 1 || inet_pton(AF_INET6, bare, buf) == 1;
}

/* addresses_of - the A or AAAA addresses of name, appended as text; the CNAME it went through */
static int
addresses_of(struct mxp_dns *dns, const char *name, int type, GPtrArray *out, char *cname,
	     size_t cname_len, char **error_r)
{
	struct mxp_dns_answer *ans;

	if (query(dns, name, type, &ans, error_r) < 0)
		return -1;
	if (ans->canonname != NULL && cname != NULL) {
		char canon[256];
		size_t n;

		snprintf(canon, sizeof(canon), "%s", ans->canonname);
		n = strlen(canon);
		if (n > 1 && canon[n - 1] == '.')
			canon[n - 1] = '\0';
		if (g_ascii_strcasecmp(canon, name) != 0 && cname[0] == '\0')
			snprintf(cname, cname_len, "%s", canon);
	}
	for (size_t i = 0; ans->havedata && i < ans->count && out->len < MAX_ADDRS; i++) {
		char text[64];

		if ((type == T_A && ans->len[i] == 4 &&
		     inet_ntop(AF_INET, ans->data[i], text, sizeof(text)) != NULL) ||
		    (type == T_AAAA && ans->len[i] == 16 &&
		     inet_ntop(AF_INET6, ans->data[i], text, sizeof(text)) != NULL))
			g_ptr_array_add(out, g_strdup(text));
	}
	mxp_dns_answer_free(ans);
	return 0;
}

/* reverse_name - "4.3.2.1.in-addr.arpa" (or ip6.arpa) for an address */
static bool
reverse_name(const char *addr, char *out, size_t len)
{
	ldns_rdf *a = ldns_rdf_new_frm_str(strchr(addr, ':') ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A,
					   addr);
	ldns_rdf *rev = a != NULL ? ldns_rdf_address_reverse(a) : NULL;

	if (rev != NULL)
		name_text(rev, out, len);
	if (a != NULL)
		ldns_rdf_deep_free(a);
	if (rev != NULL)
		ldns_rdf_deep_free(rev);
	return rev != NULL;
}

/* check_ptr - the address's PTR, and whether that name resolves back to the address */
static int
check_ptr(struct mxp_dns *dns, struct audit_addr *a, GPtrArray *problems, char **error_r)
{
	struct mxp_dns_answer *ans;
	char rev[256];
	GPtrArray *back;

	if (!reverse_name(a->text, rev, sizeof(rev)) || query(dns, rev, T_PTR, &ans, error_r) < 0)
		return -1;
	for (size_t i = 0; ans->havedata && i < ans->count && a->ptr[0] == '\0'; i++) {
		ldns_rr *rr = rr_of(T_PTR, ans->data[i], ans->len[i]);

		if (rr != NULL && ldns_rr_rd_count(rr) == 1)
			name_text(ldns_rr_rdf(rr, 0), a->ptr, sizeof(a->ptr));
		if (rr != NULL)
			ldns_rr_free(rr);
	}
	mxp_dns_answer_free(ans);
	if (a->ptr[0] == '\0') {
		problem(problems, "%s has no PTR record", a->text);
		return 0;
	}
	back = g_ptr_array_new_with_free_func(g_free);
	if (addresses_of(dns, a->ptr, strchr(a->text, ':') ? T_AAAA : T_A, back, NULL, 0, error_r) <
	    0) {
		g_ptr_array_free(back, TRUE);
		return -1;
	}
	for (guint i = 0; i < back->len; i++)
		if (strcmp(g_ptr_array_index(back, i), a->text) == 0)
			a->ptr_confirms = true;
	g_ptr_array_free(back, TRUE);
	if (!a->ptr_confirms)
		problem(problems,
			"%s: its PTR %s does not resolve back to it (no forward-confirmed "
			"reverse DNS)",
			a->text, a->ptr);
	return 0;
}

/* map_host - the policy's host of this name, or NULL */
static const struct mxp_mx_host *
map_host(const struct mxp_policy *pol, const char *name)
{
	for (size_t i = 0; pol != NULL && i < pol->nhosts; i++)
		if (g_ascii_strcasecmp(pol->hosts[i].name, name) == 0)
			return &pol->hosts[i];
	return NULL;
}

/* read_target - the addresses of one MX target and what is wrong with them */
static int
read_target(struct mxp_dns *dns, struct audit_mx *mx, const struct mxp_policy *pol, char **error_r)
{
	GPtrArray *addrs = g_ptr_array_new_with_free_func(g_free);
	const struct mxp_mx_host *host = map_host(pol, mx->name);
	char cname[256] = "";
	int rc = -1;

	if (host != NULL)
		mx->tier = host->tier;
	if (ip_literal(mx->name)) {
		problem(mx->problems,
			"the target is an IP address, not a host name (RFC 5321 5.1)");
		rc = 0;
		goto out;
	}
	if (addresses_of(dns, mx->name, T_A, addrs, cname, sizeof(cname), error_r) < 0 ||
	    addresses_of(dns, mx->name, T_AAAA, addrs, cname, sizeof(cname), error_r) < 0)
		goto out;
	if (cname[0] != '\0')
		problem(mx->problems,
			"the target is a CNAME (to %s): it must be a host name with its own "
			"A/AAAA records (RFC 2181 10.3, RFC 5321 5.1)",
			cname);
	if (addrs->len == 0)
		problem(mx->problems, "the target has no A or AAAA record");
	for (guint i = 0; i < addrs->len; i++) {
		struct audit_addr a = { 0 };

		snprintf(a.text, sizeof(a.text), "%s", (const char *)g_ptr_array_index(addrs, i));
		char *why = NULL;

		/* A broken reverse zone is the address's problem, not a reason to stop. */
		if (check_ptr(dns, &a, mx->problems, &why) < 0)
			problem(mx->problems, "%s: its PTR could not be checked: %s", a.text,
				why != NULL ? why : "DNS error");
		g_free(why);
		a.in_map = host != NULL && mxp_cidr_match_any(host->addrs, host->naddrs, a.text);
		if (host != NULL && !a.in_map)
			problem(mx->problems,
				"%s is not among the addresses the policy's MX map gives this host",
				a.text);
		g_array_append_val(mx->addrs, a);
	}
	rc = 0;
out:
	if (rc == 0 && pol != NULL && host == NULL)
		problem(mx->problems, "not in the policy's MX map: an unprotected host");
	g_ptr_array_free(addrs, TRUE);
	return rc;
}

/* mx_new - an empty target */
static struct audit_mx *
mx_new(unsigned pref, const char *name, bool fallback)
{
	struct audit_mx *mx = g_new0(struct audit_mx, 1);

	mx->pref = pref;
	snprintf(mx->name, sizeof(mx->name), "%s", name);
	mx->fallback = fallback;
	mx->addrs = g_array_new(FALSE, TRUE, sizeof(struct audit_addr));
	mx->problems = g_ptr_array_new_with_free_func(g_free);
	return mx;
}

/* mx_free - for the array */
static void
mx_free(gpointer p)
{
	struct audit_mx *mx = p;

	g_array_free(mx->addrs, TRUE);
	g_ptr_array_free(mx->problems, TRUE);
	g_free(mx);
}

/* by_preference - the order senders try: lowest preference first, ties in DNS order */
static gint
by_preference(gconstpointer a, gconstpointer b)
{
	const struct audit_mx *x = *(struct audit_mx *const *)a, *y = *(struct audit_mx *const *)b;

	return x->pref < y->pref ? -1 : x->pref > y->pref;
}

/* read_mx - the MX records in preference order; a null MX or none at all noted */
static int
read_mx(struct mxp_dns *dns, struct audit_domain *d, char **error_r)
{
	struct mxp_dns_answer *ans;

	if (query(dns, d->name, T_MX, &ans, error_r) < 0)
		return -1;
	if (ans->nxdomain) {
		d->nxdomain = true;
		problem(d->problems, "%s does not exist (NXDOMAIN)", d->name);
		mxp_dns_answer_free(ans);
		return 0;
	}
	for (size_t i = 0; ans->havedata && i < ans->count; i++) {
		ldns_rr *rr = rr_of(T_MX, ans->data[i], ans->len[i]);
		char name[256];

		if (i >= MAX_TARGETS) {
			problem(d->problems, "%zu MX records: only the first %d are looked at",
				ans->count, MAX_TARGETS);
			if (rr != NULL)
				ldns_rr_free(rr);
			break;
		}
		if (rr == NULL || ldns_rr_mx_exchange(rr) == NULL) {
			problem(d->problems, "an MX record that cannot be parsed");
			if (rr != NULL)
				ldns_rr_free(rr);
			continue;
		}
		name_text(ldns_rr_mx_exchange(rr), name, sizeof(name));
		g_ptr_array_add(d->mx, mx_new(ldns_rdf2native_int16(ldns_rr_mx_preference(rr)),
					      name, false));
		ldns_rr_free(rr);
	}
	mxp_dns_answer_free(ans);
	g_ptr_array_sort(d->mx, by_preference);
	return 0;
}

/* mark_groups - preference groups, round-robin targets, and duplicates */
static void
mark_groups(struct audit_domain *d)
{
	unsigned group = 0;

	for (guint i = 0; i < d->mx->len; i++) {
		struct audit_mx *mx = g_ptr_array_index(d->mx, i);

		if (i == 0 ||
		    mx->pref != ((struct audit_mx *)g_ptr_array_index(d->mx, i - 1))->pref)
			group++;
		mx->group = group;
		for (guint j = 0; j < d->mx->len; j++) {
			struct audit_mx *other = g_ptr_array_index(d->mx, j);

			if (j != i && other->pref == mx->pref)
				mx->round_robin = true;
			if (j < i && strcmp(other->name, mx->name) == 0)
				problem(mx->problems, "listed twice (preferences %u and %u)",
					other->pref, mx->pref);
		}
	}
}

/* check_spf_dmarc - the domain's SPF and DMARC records: there, and one of each */
static int
check_spf_dmarc(struct mxp_dns *dns, struct audit_domain *d, char **error_r)
{
	GPtrArray *txt = g_ptr_array_new_with_free_func(g_free);
	char *dmarc_name = g_strdup_printf("_dmarc.%s", d->name);
	int rc = -1;

	if (txt_records(dns, d->name, txt, error_r) < 0)
		goto out;
	for (guint i = 0; i < txt->len; i++)
		if (starts_tag(g_ptr_array_index(txt, i), "v=spf1"))
			g_ptr_array_add(d->spf, g_strdup(g_ptr_array_index(txt, i)));
	if (d->spf->len == 0)
		problem(d->problems, "no SPF record (TXT \"v=spf1 ...\") at %s", d->name);
	else if (d->spf->len > 1)
		problem(d->problems, "%u SPF records at %s: RFC 7208 4.5 makes that a permerror",
			d->spf->len, d->name);
	g_ptr_array_set_size(txt, 0);
	if (txt_records(dns, dmarc_name, txt, error_r) < 0)
		goto out;
	for (guint i = 0; i < txt->len; i++)
		if (starts_tag(g_ptr_array_index(txt, i), "v=DMARC1"))
			g_ptr_array_add(d->dmarc, g_strdup(g_ptr_array_index(txt, i)));
	if (d->dmarc->len == 0)
		problem(d->problems, "no DMARC record (TXT \"v=DMARC1; p=...\") at %s", dmarc_name);
	else if (d->dmarc->len > 1)
		problem(d->problems, "%u DMARC records at %s: RFC 7489 6.6.3 then applies none",
			d->dmarc->len, dmarc_name);
	else if (!dmarc_policy_ok(g_ptr_array_index(d->dmarc, 0)))
		problem(d->problems,
			"the DMARC record at %s has no valid p= tag (none, quarantine or reject) "
			"right after v=DMARC1 (RFC 7489 6.4)",
			dmarc_name);
	rc = 0;
out:
	g_ptr_array_free(txt, TRUE);
	g_free(dmarc_name);
	return rc;
}

int
audit_dns_read(struct mxp_dns *dns, const char *domain, const struct mxp_policy *pol,
	       struct audit_domain *d, char **error_r)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", domain);
	for (char *c = d->name; *c != '\0'; c++)
		*c = g_ascii_tolower(*c);
	d->mx = g_ptr_array_new_with_free_func(mx_free);
	d->problems = g_ptr_array_new_with_free_func(g_free);
	d->spf = g_ptr_array_new_with_free_func(g_free);
	d->dmarc = g_ptr_array_new_with_free_func(g_free);
	d->unpublished = g_ptr_array_new_with_free_func(g_free);
	if (read_mx(dns, d, error_r) < 0)
		return -1;
	if (d->nxdomain)
		return 0;
	if (d->mx->len == 1 &&
	    strcmp(((struct audit_mx *)g_ptr_array_index(d->mx, 0))->name, ".") == 0) {
		d->null_mx = true;
		return check_spf_dmarc(dns, d, error_r);
	}
	for (guint i = 0; i < d->mx->len; i++)
		if (strcmp(((struct audit_mx *)g_ptr_array_index(d->mx, i))->name, ".") == 0)
			problem(d->problems, "a null MX (\"0 .\") beside other MX records (RFC "
					     "7505 3: it must be the only one)");
	if (d->mx->len == 0 && d->problems->len == 0) {
		problem(d->problems, "no MX records: senders fall back to the domain's own A/AAAA "
				     "records (RFC 5321 5.1)");
		g_ptr_array_add(d->mx, mx_new(0, d->name, true));
	}
	mark_groups(d);
	for (guint i = 0; i < d->mx->len; i++) {
		struct audit_mx *mx = g_ptr_array_index(d->mx, i);

		if (strcmp(mx->name, ".") != 0 && read_target(dns, mx, pol, error_r) < 0)
			return -1;
	}
	for (size_t i = 0; pol != NULL && i < pol->nhosts; i++) {
		bool published = false;

		for (guint k = 0; k < d->mx->len; k++)
			if (g_ascii_strcasecmp(
				    ((struct audit_mx *)g_ptr_array_index(d->mx, k))->name,
				    pol->hosts[i].name) == 0)
				published = true;
		if (!published) {
			g_ptr_array_add(d->unpublished, g_strdup(pol->hosts[i].name));
			problem(d->problems, "mx host %s of the policy is not an MX of %s in DNS",
				pol->hosts[i].name, d->name);
		}
	}
	return check_spf_dmarc(dns, d, error_r);
}

unsigned
audit_dns_problems(const struct audit_domain *d)
{
	unsigned n = d->problems != NULL ? d->problems->len : 0;

	for (guint i = 0; d->mx != NULL && i < d->mx->len; i++)
		n += ((struct audit_mx *)g_ptr_array_index(d->mx, i))->problems->len;
	return n;
}

void
audit_dns_free(struct audit_domain *d)
{
	if (d->mx != NULL)
		g_ptr_array_free(d->mx, TRUE);
	if (d->problems != NULL)
		g_ptr_array_free(d->problems, TRUE);
	if (d->spf != NULL)
		g_ptr_array_free(d->spf, TRUE);
	if (d->dmarc != NULL)
		g_ptr_array_free(d->dmarc, TRUE);
	if (d->unpublished != NULL)
		g_ptr_array_free(d->unpublished, TRUE);
	memset(d, 0, sizeof(*d));
}
