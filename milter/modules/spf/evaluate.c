/*
 * evaluate.c - check_host() for one identity: libspf2 does the record
 * parsing and the mechanisms, resolver.c the DNS and the counts, and this
 * file the limits and failures libspf2 would let pass.
 */
#define _DEFAULT_SOURCE /* netdb and resolver constants used by libspf2's headers */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <glib.h>

#include "evaluate.h"

/* map_result - libspf2's result to ours; anything odd is a permerror */
static enum spf_res
map_result(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS: return R_PASS;
	case SPF_RESULT_FAIL: return R_FAIL;
	case SPF_RESULT_SOFTFAIL: return R_SOFTFAIL;
	case SPF_RESULT_NEUTRAL: return R_NEUTRAL;
	case SPF_RESULT_NONE: return R_NONE;
	case SPF_RESULT_TEMPERROR: return R_TEMPERROR;
	default: return R_PERMERROR;
	}
}

/*
 * query_identity - what SPF_request_query_mailfrom does, minus its
 * "localhost is always allowed": libspf2 passes every loopback client
 * (127/8, ::1) without a lookup, and a loopback path that the policy
 * does not trust must be checked like any other.
 */
static void
query_identity(SPF_server_t *server, SPF_request_t *req, SPF_response_t **resp_r)
{
	SPF_record_t *record = NULL;
	SPF_response_t *resp = SPF_response_new(req);
	SPF_errcode_t err;

	*resp_r = resp;
	if (resp == NULL)
		return;
	req->cur_dom = req->use_helo ? req->helo_dom : req->env_from_dp;
	err = SPF_server_get_record(server, req, resp, &record);
	if (err != SPF_E_SUCCESS) {
		if (record != NULL)
			SPF_record_free(record);
		SPF_i_done(resp, resp->result, resp->reason, resp->err);
		return;
	}
	resp->spf_record_exp = record; /* where exp= is looked up */
	SPF_record_interpret(record, req, resp, 0);
	SPF_record_free(record);
	resp->spf_record_exp = NULL;
}

/* set_client - the client address; an IPv4-mapped IPv6 one is checked as IPv4 (RFC 7208 5) */
static SPF_errcode_t
set_client(SPF_request_t *req, const char *addr, int family)
{
	struct in6_addr a6;

	if (family != AF_INET6)
		return SPF_request_set_ipv4_str(req, addr);
	if (inet_pton(AF_INET6, addr, &a6) == 1 && IN6_IS_ADDR_V4MAPPED(&a6)) {
		struct in_addr a4;

		memcpy(&a4, &a6.s6_addr[12], sizeof(a4));
		return SPF_request_set_ipv4(req, a4);
	}
	return SPF_request_set_ipv6_str(req, addr);
}

void
spf_evaluate(const struct spf_question *q, struct spf_check *out)
{
	SPF_server_t *server = NULL;
	SPF_request_t *req = NULL;
	SPF_response_t *resp = NULL, *resp_exp = NULL;
	struct spf_eval ev;
	SPF_errcode_t rc;
	bool exp_lookup;
	unsigned voids, failures;

	out->result = R_PERMERROR;
	/* A server per evaluation: libspf2's server holds per-query state we must not share. */
	server = SPF_server_new_dns(spf_resolver_layer(q->resolver), 0);
	if (server == NULL) {
		out->result = R_TEMPERROR;
		return;
	}
	/* The receiving host of %{r} and of the header comments is us, by the MX map. */
	if (q->receiver != NULL && q->receiver[0] != '\0')
		SPF_server_set_rec_dom(server, q->receiver);
	if (q->explanation != NULL)
		SPF_server_set_explanation(server, q->explanation, &resp_exp);
	req = SPF_request_new(server);
	rc = set_client(req, q->client_addr, q->client_family);
	if (rc != SPF_E_SUCCESS) {
		out->result = R_NONE; /* no IP address to check (local socket) */
		goto out;
	}
	SPF_request_set_helo_dom(req, q->helo);
	if (q->sender != NULL && SPF_request_set_env_from(req, q->sender) != 0)
		goto out; /* unusable sender: permerror */
	spf_eval_begin(&ev, q->deadline_ms);
	query_identity(server, req, &resp);
	spf_eval_end();
	if (resp == NULL) {
		out->result = R_TEMPERROR;
		goto out;
	}
	out->result = map_result(SPF_response_result(resp));
	/*
	 * For a fail, the last query is the exp= lookup, and RFC 7208 6.2
	 * says its failure or emptiness leaves the fail (with our default
	 * explanation): it counts neither as a void nor as a DNS failure.
	 */
	exp_lookup = out->result == R_FAIL && ev.last_type == ns_t_txt;
	voids = ev.void_lookups - (exp_lookup && ev.last_void ? 1 : 0);
	out->voids = voids;
	out->terms = ev.terms;
	failures = ev.failures - (exp_lookup && ev.last_failed ? 1 : 0);
	/* RFC 7208 4.6.4: more than two void lookups, or ten DNS terms, is a permerror. */
	if (voids > 2 || (ev.over_limit_at != 0 && !(exp_lookup && ev.over_limit_at == ev.queries)))
		out->result = R_PERMERROR;
	/* A DNS failure or timeout is a temperror, whatever libspf2 made of it; never a pass. */
	if (failures > 0)
		out->result = R_TEMPERROR;
	if (out->result == R_FAIL && SPF_response_get_explanation(resp) != NULL)
		out->explanation = g_strdup(SPF_response_get_explanation(resp));
	if (SPF_response_get_header_comment(resp) != NULL)
		out->comment = g_strdup(SPF_response_get_header_comment(resp));
out:
	if (resp != NULL)
		SPF_response_free(resp);
	if (resp_exp != NULL)
		SPF_response_free(resp_exp);
	if (req != NULL)
		SPF_request_free(req);
	SPF_server_free(server);
}

void
spf_check_free(struct spf_check *c)
{
	g_free(c->explanation);
	g_free(c->comment);
	c->explanation = c->comment = NULL;
}
