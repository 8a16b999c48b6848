/*
 * spf.c - the spf module: RFC 7208 checks of the HELO and MAIL FROM
 * identities with libspf2, over the core's resolver (resolver.c), with an
 * action per result and identity, and the spf method of the core's RFC
 * 8601 Authentication-Results header.
 */
#define _DEFAULT_SOURCE /* netdb and resolver constants used by libspf2's headers */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <glib.h>
#include <mxparity/module.h>

#include "evaluate.h"
#include "resolver.h"

/* Bounds applied before libspf2 sees anything (its macro expander has had CVEs). */
#define SPF_MAX_HELO 255
#define SPF_MAX_SENDER 320

static const char *const result_names[R_COUNT] = { "pass", "fail",	"softfail", "neutral",
						   "none", "permerror", "temperror" };
/* The header a tag action adds, and removes from incoming mail. */
#define SPF_TAG_HEADER "X-SPF-Status"

static const char *const action_words[] = { "accept", "tag", "reject", "tempfail", NULL };

#define ACTION(id, result, dflt)                                                                   \
	{                                                                                          \
		.name = id "on_" result, .type = MXP_OPT_CHOICE, .def = dflt,                      \
		.choices = action_words, .flags = MXP_OPTF_PER_DOMAIN,                             \
		.help = "action for " result                                                       \
	}

static const struct mxp_option spf_options[] = {
	{ .name = "resolver",
	  .type = MXP_OPT_RESOLVER,
	  .def = "system",
	  .help = "\"system\" (resolv.conf) or a forwarder ADDR, IPv4:PORT or [IPv6]:PORT" },
	{ .name = "query_timeout",
	  .type = MXP_OPT_INT,
	  .def = "3",
	  .help = "seconds one DNS query may take" },
	{ .name = "eval_timeout",
	  .type = MXP_OPT_INT,
	  .def = "20",
	  .help = "seconds the checks of one MAIL FROM (both identities) may take in all" },
	{ .name = "explanation",
	  .type = MXP_OPT_STRING,
	  .def = "%{d} does not allow %{i} to send mail for %{s}",
	  .help = "explanation for fail without an exp= of the domain's own: SPF macros, "
		  "spaces as written" },
	{ .name = "received_spf",
	  .type = MXP_OPT_BOOL,
	  .def = "false",
	  .help = "also add a Received-SPF header" },
	ACTION("", "pass", "accept"),
	ACTION("", "fail", "reject"),
	ACTION("", "softfail", "tag"),
	ACTION("", "neutral", "accept"),
	ACTION("", "none", "accept"),
	ACTION("", "permerror", "tag"),
	ACTION("", "temperror", "tempfail"),
	ACTION("helo_", "pass", "accept"),
	ACTION("helo_", "fail", "reject"),
	ACTION("helo_", "softfail", "tag"),
	ACTION("helo_", "neutral", "accept"),
	ACTION("helo_", "none", "accept"),
	ACTION("helo_", "permerror", "tag"),
	ACTION("helo_", "temperror", "tempfail"),
	{ .name = NULL },
};

struct spf_instance {
	const struct mxp_host *host;
	const struct mxp_config *cfg;
	struct spf_resolver *resolver;
	unsigned eval_budget_ms;
	char *explanation; /* the policy's text with spaces as %_, as libspf2 parses it */
};

struct spf_message {
	bool checked;
	bool deferred;	      /* a relay hop: decided at end of message, for the original client */
	char client_addr[64]; /* the client checked */
	struct spf_check helo, mailfrom;
	char *helo_name; /* as checked, bounded */
	char *sender;	 /* as checked; postmaster@HELO for the null sender */
	unsigned rejected;
	bool tagged;	     /* some recipient's domain wants the message tagged */
	char tag_status[48]; /* X-SPF-Status of a tagged message: "softfail (MAIL FROM)" */
};

static void spf_destroy(void *instance);

/* macro_spaces - a macro-string takes a space as %_ (RFC 7208 7.1) */
static char *
macro_spaces(const char *text)
{
	GString *out = g_string_new(NULL);

	for (; *text != '\0'; text++) {
		if (*text == ' ')
			g_string_append(out, "%_");
		else
			g_string_append_c(out, *text);
	}
	return g_string_free(out, FALSE);
}

static int
spf_init(const struct mxp_host *host, const struct mxp_config *cfg, void **instance_r, char *err,
	 size_t errlen)
{
	struct spf_instance *inst = g_new0(struct spf_instance, 1);
	long long qt = host->cfg_int(cfg, "query_timeout");
	long long et = host->cfg_int(cfg, "eval_timeout");

	inst->host = host;
	inst->cfg = cfg;
	if (qt < 1 || et < 1 || qt > 60 || et > 300) {
		snprintf(err, errlen,
			 "query_timeout must be 1..60 and eval_timeout 1..300 seconds");
		goto fail;
	}
	inst->eval_budget_ms = (unsigned)et * 1000;
	inst->explanation = macro_spaces(host->cfg_string(cfg, "explanation"));
	if (!host->checking()) {
		inst->resolver = spf_resolver_new(host, host->cfg_string(cfg, "resolver"),
						  (unsigned)qt * 1000, err, errlen);
		if (inst->resolver == NULL)
			goto fail;
	}
	*instance_r = inst;
	return 0;
fail:
	spf_destroy(inst);
	return -1;
}

static void
spf_destroy(void *instance)
{
	struct spf_instance *inst = instance;

	spf_resolver_free(inst->resolver);
	g_free(inst->explanation);
	g_free(inst);
}

/* evaluate - check_host() for one identity of this connection; sender NULL checks the HELO */
static void
evaluate(const struct spf_instance *inst, const struct mxp_conn *conn, const char *helo,
	 const char *sender, long long deadline_ms, struct spf_check *out)
{
	const struct spf_question q = {
		.resolver = inst->resolver,
		.explanation = inst->explanation,
		.receiver = conn->own_host,
		.client_addr = conn->client_addr,
		.client_family = conn->client_family,
		.helo = helo,
		.sender = sender,
		.deadline_ms = deadline_ms,
	};

	spf_evaluate(&q, out);
}

/* is_domain_like - a HELO worth checking: dotted, no brackets, bounded */
static bool
is_domain_like(const char *s)
{
	return s != NULL && s[0] != '[' && strchr(s, '.') != NULL && strlen(s) <= SPF_MAX_HELO;
}

/* clean_copy - printable, no spaces or quotes, bounded: safe for headers and libspf2 */
static char *
clean_copy(const char *s, size_t max)
{
	GString *out = g_string_new(NULL);

	for (; s != NULL && *s != '\0' && out->len < max; s++)
		if (isgraph((unsigned char)*s) && *s != '"' && *s != ';' && *s != '\\')
			g_string_append_c(out, *s);
	return g_string_free(out, FALSE);
}

static int
spf_msg_begin(struct mxp_event *ev, void **msg_state_r)
{
	(void)ev;
	*msg_state_r = g_new0(struct spf_message, 1);
	return 0;
}

static void
spf_msg_end(struct mxp_event *ev, bool aborted)
{
	struct spf_message *m = ev->msg_state;

	(void)aborted;
	spf_check_free(&m->helo);
	spf_check_free(&m->mailfrom);
	g_free(m->helo_name);
	g_free(m->sender);
	g_free(m);
}

static void check_identities(const struct spf_instance *inst, const struct mxp_conn *conn,
			     const char *helo, const char *from, struct spf_message *m);

static enum mxp_verdict
spf_mail(struct mxp_event *ev, const char *from)
{
	const struct spf_instance *inst = ev->instance;
	struct spf_message *m = ev->msg_state;
	const char *helo = ev->conn->helo != NULL ? ev->conn->helo : "";

	/*
	 * A peer of the MX map relays mail it received from someone else:
	 * checking the peer would say nothing.  The original client is known
	 * at end of message, from the peer's stamp or Received header.
	 */
	if (ev->conn->hop == MXP_HOP_RELAY) {
		m->deferred = true;
		return MXP_CONTINUE;
	}
	check_identities(inst, ev->conn, helo, from, m);
	return MXP_CONTINUE;
}

/* check_identities - both identities of one message for the client in conn */
static void
check_identities(const struct spf_instance *inst, const struct mxp_conn *conn, const char *helo,
		 const char *from, struct spf_message *m)
{
	/* One bound for both identities: the MTA waits for MAIL as a whole. */
	long long deadline_ms = spf_clock_ms() + inst->eval_budget_ms;

	g_strlcpy(m->client_addr, conn->client_addr, sizeof(m->client_addr));
	m->helo_name = clean_copy(helo, SPF_MAX_HELO);
	if (strlen(from) > SPF_MAX_SENDER) {
		m->sender = clean_copy(from, SPF_MAX_SENDER);
		m->mailfrom.result = R_PERMERROR; /* no sane sender is that long */
	} else {
		m->sender = from[0] != '\0' ? clean_copy(from, SPF_MAX_SENDER)
					    : g_strdup_printf("postmaster@%s", m->helo_name);
		evaluate(inst, conn, m->helo_name, from[0] != '\0' ? m->sender : NULL, deadline_ms,
			 &m->mailfrom);
	}
	if (is_domain_like(m->helo_name))
		evaluate(inst, conn, m->helo_name, NULL, deadline_ms, &m->helo);
	else
		m->helo.result = R_NONE;
	m->checked = true;
}

/* action_for - the configured action for an identity's result in cfg */
static const char *
action_for(const struct mxp_host *host, const struct mxp_config *cfg, const char *prefix,
	   enum spf_res r)
{
	char key[64];

	snprintf(key, sizeof(key), "%son_%s", prefix, result_names[r]);
	return host->cfg_string(cfg, key);
}

static int
action_rank(const char *a)
{
	return strcmp(a, "reject") == 0	    ? 3
	       : strcmp(a, "tempfail") == 0 ? 2
	       : strcmp(a, "tag") == 0	    ? 1
					    : 0;
}

/* action_rank_for - how severe the action for rcpt's domain is */
static int
action_rank_for(const struct mxp_event *ev, const char *rcpt)
{
	const struct spf_instance *inst = ev->instance;
	const struct spf_message *m = ev->msg_state;
	const char *at = strrchr(rcpt, '@');
	const struct mxp_config *cfg = ev->host->cfg_for_domain(inst->cfg, at ? at + 1 : NULL);
	int mf = action_rank(action_for(ev->host, cfg, "", m->mailfrom.result));
	int he = action_rank(action_for(ev->host, cfg, "helo_", m->helo.result));

	return mf > he ? mf : he;
}

/* decide - the verdict (and reply) for a recipient, by its domain's actions */
static enum mxp_verdict
decide(struct mxp_event *ev, const char *rcpt)
{
	const struct spf_instance *inst = ev->instance;
	struct spf_message *m = ev->msg_state;
	const char *at = strrchr(rcpt, '@');
	const struct mxp_config *cfg = ev->host->cfg_for_domain(inst->cfg, at ? at + 1 : NULL);
	const char *mf = action_for(ev->host, cfg, "", m->mailfrom.result);
	const char *he = action_for(ev->host, cfg, "helo_", m->helo.result);
	bool helo_decides = action_rank(he) > action_rank(mf);
	const struct spf_check *c = helo_decides ? &m->helo : &m->mailfrom;
	const char *action = helo_decides ? he : mf;
	const char *what = helo_decides ? "HELO" : "MAIL FROM";

	if (strcmp(action, "reject") == 0) {
		m->rejected++;
		if (c->result == R_FAIL)
			ev->host->set_reply(ev->result, "550", "5.7.23", "SPF %s check failed: %s",
					    what,
					    c->explanation ? c->explanation : "not permitted");
		else
			ev->host->set_reply(ev->result, "550", "5.7.24", "SPF %s check: %s", what,
					    result_names[c->result]);
		return MXP_REJECT;
	}
	if (strcmp(action, "tempfail") == 0) {
		m->rejected++;
		ev->host->set_reply(ev->result, "451", "4.7.24",
				    "SPF %s check: %s, try again later", what,
				    result_names[c->result]);
		return MXP_TEMPFAIL;
	}
	if (strcmp(action, "tag") == 0 && !m->tagged) {
		m->tagged = true;
		snprintf(m->tag_status, sizeof(m->tag_status), "%s (%s)", result_names[c->result],
			 what);
	}
	return MXP_CONTINUE;
}

/*
 * spf_header - X-SPF-Status is ours: it marks a message a tag action let
 * through, so whatever a sender or an earlier hop wrote is removed.
 */
static enum mxp_verdict
spf_header(struct mxp_event *ev, const char *name, const char *value, unsigned index)
{
	(void)value;
	if (g_ascii_strcasecmp(name, SPF_TAG_HEADER) == 0)
		ev->host->remove_header(ev->result, name, index);
	return MXP_CONTINUE;
}

/* Decisions are made per recipient, so each recipient domain's overrides count. */
static enum mxp_verdict
spf_rcpt(struct mxp_event *ev, const char *rcpt)
{
	struct spf_message *m = ev->msg_state;

	if (!m->checked)
		return MXP_CONTINUE;
	return decide(ev, rcpt);
}

/* result_named - a result word (from a peer's stamp) as ours; R_COUNT for anything else */
static enum spf_res
result_named(const char *word)
{
	for (int r = 0; word != NULL && r < R_COUNT; r++)
		if (strcmp(word, result_names[r]) == 0)
			return (enum spf_res)r;
	return R_COUNT;
}

/*
 * check_relayed - a relay hop's SPF at end of message: the verified
 * stamp's result, or a check of the original client from the peer's
 * Received header; the strictest action among the recipients' domains
 * decides the whole message.
 */
static enum mxp_verdict
check_relayed(struct mxp_event *ev)
{
	const struct spf_instance *inst = ev->instance;
	struct spf_message *m = ev->msg_state;
	const struct mxp_relay *relay = ev->msg->relay;
	const char *from = ev->msg->mail_from;
	size_t strictest = 0;
	enum spf_res peer = relay != NULL && relay->verified
				    ? result_named(ev->host->peer_finding(ev, "spf"))
				    : R_COUNT;

	/* Only a result the peer reached stands; an error or no spf there is checked here. */
	if (peer != R_COUNT) {
		g_strlcpy(m->client_addr, relay->client_addr, sizeof(m->client_addr));
		m->helo_name = clean_copy(relay->helo, SPF_MAX_HELO);
		m->sender = from[0] != '\0' ? clean_copy(from, SPF_MAX_SENDER)
					    : g_strdup_printf("postmaster@%s", m->helo_name);
		m->mailfrom.result = peer;
		m->helo.result = R_NONE; /* the peer acted on it already */
		m->checked = true;
	} else if (relay != NULL && relay->client_addr != NULL) {
		struct mxp_conn orig = *ev->conn;

		orig.client_addr = relay->client_addr;
		orig.client_family = relay->client_family;
		check_identities(inst, &orig, relay->helo != NULL ? relay->helo : "", from, m);
	} else {
		ev->host->log(LOG_WARNING, "spf: relayed message with no known original client: "
					   "not checked");
		return MXP_CONTINUE;
	}
	for (size_t i = 1; i < ev->msg->nrcpt; i++)
		if (action_rank_for(ev, ev->msg->rcpts[i]) >
		    action_rank_for(ev, ev->msg->rcpts[strictest]))
			strictest = i;
	return ev->msg->nrcpt > 0 ? decide(ev, ev->msg->rcpts[strictest]) : MXP_CONTINUE;
}

static enum mxp_verdict
spf_eom(struct mxp_event *ev)
{
	const struct spf_instance *inst = ev->instance;
	struct spf_message *m = ev->msg_state;
	enum mxp_verdict v = m->deferred ? check_relayed(ev) : MXP_CONTINUE;
	char value[1024];

	if (!m->checked)
		return v;
	snprintf(value, sizeof(value), "smtp.mailfrom=%s smtp.helo=%s", m->sender, m->helo_name);
	ev->host->add_auth_result(ev->result, "spf", result_names[m->mailfrom.result], value);
	if (ev->host->cfg_bool(inst->cfg, "received_spf")) {
		snprintf(value, sizeof(value),
			 "%s (%s) client-ip=%s; envelope-from=\"%s\"; helo=%s;",
			 result_names[m->mailfrom.result],
			 m->mailfrom.comment ? m->mailfrom.comment : ev->conn->own_host,
			 m->client_addr, m->sender, m->helo_name);
		ev->host->add_header(ev->result, "Received-SPF", value);
	}
	ev->host->add_finding(ev->result, "spf", 0, "%s", result_names[m->mailfrom.result]);
	if (v != MXP_CONTINUE)
		return v;
	if (!m->tagged)
		return MXP_CONTINUE;
	/* A tag marks the message; Authentication-Results alone is information. */
	ev->host->add_header(ev->result, SPF_TAG_HEADER, m->tag_status);
	return MXP_TAG;
}

/* spf_describe - the resolver the checks go to, for the policy loaded: line and status */
static void
spf_describe(void *instance, char *buf, size_t len)
{
	const struct spf_instance *inst = instance;

	snprintf(buf, len, "spf=resolver:%s", inst->host->cfg_string(inst->cfg, "resolver"));
}

static const struct mxp_module spf_module = {
	MXP_MODULE_ABI_VERSION,
	.name = "spf",
	.description = "RFC 7208 SPF with libspf2 over libunbound",
	.options = spf_options,
	.init = spf_init,
	.destroy = spf_destroy,
	.describe = spf_describe,
	.msg_begin = spf_msg_begin,
	.msg_end = spf_msg_end,
	.mail = spf_mail,
	.rcpt = spf_rcpt,
	.header = spf_header,
	.eom = spf_eom,
};

MXP_MODULE_DEFINE(spf_module);
