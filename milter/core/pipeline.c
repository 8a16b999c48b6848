/*
 * pipeline.c - dispatches every SMTP event to every active module of the
 * session's policy snapshot, merges verdicts by severity, enforces the
 * core's input bounds, and builds the end-of-message decision.
 *
 * A session is one connection; a message is one MAIL transaction, with
 * its own struct, freed as a whole when it ends.  A module that says
 * ACCEPT is done for the rest of the message; a module that fails gets
 * its on_error action, never a silent pass.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/authres.h"
#include "util/counters.h"
#include "core/host.h"
#include "util/log.h"
#include "policy/modcfg.h"
#include "tier/parity.h"
#include "tier/stamp.h"
#include "core/pipeline.h"
#include "policy/policy.h"
#include "util/verdict.h"

/* Bounds on what the client names itself; longer text is cut, never copied whole. */
#define MAX_CLIENT_NAME 255
#define MAX_HELO 255
#define MAX_ADDRESS 512
#define MAX_AUTH_NAME 255
#define MAX_QUEUE_ID 63

/* One MAIL transaction. */
struct mxp_message {
	bool decided;	      /* rejected before EOM: ignore further events */
	bool envelope_cut;    /* an address was longer than MAX_ADDRESS: a stamp cannot bind it */
	const char **skipped; /* per module: why it does not check this message, or NULL */
	char *queue_id;
	char *mail_from;
	GPtrArray *rcpts; /* char * */
	struct mxp_msg view;
	void **state; /* per module */
	bool *done;   /* module said ACCEPT, or failed */
	struct mxp_result *results;
	struct mxp_parity *parity; /* the stamps of this message */
	struct mxp_result core; /* the core's own header edits (stamps, Authentication-Results) */
	GHashTable *header_counts; /* lower-case name -> count */
	size_t nheaders;
	struct mxp_outcome decided_outcome; /* what ended the message before EOM */
	struct timespec started;
	struct mxp_final fin;
};

/* One connection. */
struct mxp_session {
	struct mxp_host_session hooks; /* first: an event's core pointer is its address */
	struct mxp_policy *pol;
	struct mxp_conn conn;
	char *client_name, *client_addr, *helo, *auth_authen;
	bool trusted_net;		/* client address in trusted_networks */
	const struct mxp_mx_host *peer; /* the map host the client is, unless trusted */
	/* A connect/HELO verdict that ended the session (TEMPFAIL or worse), given at every MAIL */
	struct mxp_outcome conn_outcome;
	void **conn_state;		 /* per module */
	struct mxp_result *conn_results; /* per module, for connect and helo */
	void (*progress)(void *arg);	 /* keeps the MTA waiting, or NULL */
	void *progress_arg;
	struct mxp_message *msg; /* the current message, or NULL */
};

static void final_clear(struct mxp_final *fin);

/* module_count - modules of the pinned snapshot */
static size_t
module_count(const struct mxp_session *s)
{
	return s->pol->nmodules;
}

/* module_name - module i's name */
static const char *
module_name(const struct mxp_session *s, size_t i)
{
	return s->pol->modules[i].mod->name;
}

/* result_of - the message's result for module i, or the connection's outside a message */
static struct mxp_result *
result_of(struct mxp_session *s, size_t i)
{
	return s->msg != NULL ? &s->msg->results[i] : &s->conn_results[i];
}

/* make_event - the per-call view a module gets */
static struct mxp_event
make_event(struct mxp_session *s, size_t i)
{
	struct mxp_event ev = {
		.host = &mxp_host_api,
		.instance = s->pol->modules[i].instance,
		.conn_state = s->conn_state[i],
		.msg_state = s->msg != NULL ? s->msg->state[i] : NULL,
		.conn = &s->conn,
		.msg = s->msg != NULL ? &s->msg->view : NULL,
		.result = result_of(s, i),
		.core = &s->hooks,
	};
	return ev;
}

/* hop_text - "edge", "trusted" or "relay:PEER", for log lines */
static const char *
hop_text(const struct mxp_session *s, char *buf, size_t len)
{
	switch (s->conn.hop) {
	case MXP_HOP_TRUSTED: return "trusted";
	case MXP_HOP_RELAY: snprintf(buf, len, "relay:%s", s->conn.peer); return buf;
	case MXP_HOP_EDGE: break;
	}
	return "edge";
}

/* outcome_set - a decisive reply from the core itself */
static void
outcome_set(struct mxp_outcome *out, enum mxp_verdict v, const char *rcode, const char *xcode,
	    const char *text)
{
	out->verdict = v;
	snprintf(out->rcode, sizeof(out->rcode), "%s", rcode);
	snprintf(out->xcode, sizeof(out->xcode), "%s", xcode);
	snprintf(out->text, sizeof(out->text), "%s", text);
}

/* default_reply - the core's words when a module gave a verdict without a reply */
static void
default_reply(struct mxp_outcome *out, enum mxp_verdict v, const char *module, bool failed)
{
	char text[200];

	if (v == MXP_TEMPFAIL) {
		snprintf(text, sizeof(text),
			 failed ? "Temporary failure in mail filter (%s)" : "Try again later (%s)",
			 module);
		outcome_set(out, v, "451", failed ? "4.3.0" : "4.7.1", text);
	} else if (v == MXP_REJECT) {
		snprintf(text, sizeof(text),
			 failed ? "Mail filter failure (%s)" : "Message rejected by policy (%s)",
			 module);
		outcome_set(out, v, "550", failed ? "5.3.0" : "5.7.1", text);
	} else {
		outcome_set(out, v, "", "", "");
	}
}

/* apply_module_verdict - map errors, remember the worst, keep the reply */
static void
apply_module_verdict(struct mxp_session *s, size_t i, enum mxp_verdict v, const char *event,
		     struct mxp_outcome *out, bool sticky)
{
	const struct mxp_policy_module *pm = &s->pol->modules[i];
	struct mxp_result *res = result_of(s, i);
	bool failed = false;

	if (v == MXP_ERROR) {
		failed = true;
		v = pm->on_error;
		mxp_counter_add(MXP_CNT_MODULE_ERRORS, 1);
		mxp_log(LOG_ERR, "module %s failed at %s; on_error=%s", pm->mod->name, event,
			mxp_verdict_name(v == MXP_CONTINUE ? MXP_ACCEPT : v));
		if (res->findings->len == 0)
			mxp_result_add_finding(res, pm->mod->name, 0, "error");
		/* A failing module's own reply is not trusted. */
		mxp_result_clear_reply(res);
		if (s->msg != NULL)
			s->msg->done[i] =
				true; /* its state is suspect: out for the rest of the message */
	}
	if (v < MXP_CONTINUE || v > MXP_DISCARD)
		v = MXP_TEMPFAIL; /* a module returned garbage: fail safe */
	if (sticky)
		res->verdict = mxp_verdict_merge(res->verdict, v);
	if (v == MXP_ACCEPT && s->msg != NULL)
		s->msg->done[i] = true;
	if (v > out->verdict) {
		if (res->has_reply && !failed)
			outcome_set(out, v, res->rcode, res->xcode, res->text);
		else
			default_reply(out, v, pm->mod->name, failed);
	}
}

/* conn_skipped - module i leaves this trusted_networks client alone */
static bool
conn_skipped(const struct mxp_session *s, size_t i)
{
	return s->trusted_net && !s->pol->modules[i].check_trusted;
}

/* skip_reason - why module i does not check the current message, or NULL */
static const char *
skip_reason(const struct mxp_session *s, size_t i)
{
	if (conn_skipped(s, i))
		return "trusted_network";
	if (s->auth_authen != NULL && !s->pol->modules[i].check_authenticated)
		return "authenticated";
	return NULL;
}

/* active - should module i see events now */
static bool
active(const struct mxp_session *s, size_t i)
{
	if (s->msg == NULL) /* between messages */
		return !conn_skipped(s, i);
	return s->msg->skipped[i] == NULL && !s->msg->done[i];
}

enum event_kind { EV_CONNECT, EV_HELO, EV_MAIL, EV_RCPT, EV_HEADER, EV_EOH, EV_BODY, EV_EOM };

static const char *const event_names[] = { "connect", "helo", "mail", "rcpt",
					   "header",  "eoh",  "body", "eom" };

/* Arguments of the event being dispatched; each kind uses a few. */
struct event_args {
	const char *text;  /* helo, sender, recipient or header name */
	const char *value; /* header value */
	unsigned index;	   /* header index among its name */
	const unsigned char *chunk;
	size_t len;
};

/* call_event - one module's handler for kind; a missing one continues */
static enum mxp_verdict
call_event(const struct mxp_module *m, struct mxp_event *ev, enum event_kind kind,
	   const struct event_args *a)
{
	switch (kind) {
	case EV_CONNECT: return m->connect ? m->connect(ev) : MXP_CONTINUE;
	case EV_HELO: return m->helo ? m->helo(ev, a->text) : MXP_CONTINUE;
	case EV_MAIL: return m->mail ? m->mail(ev, a->text) : MXP_CONTINUE;
	case EV_RCPT: return m->rcpt ? m->rcpt(ev, a->text) : MXP_CONTINUE;
	case EV_HEADER:
		return m->header ? m->header(ev, a->text, a->value, a->index) : MXP_CONTINUE;
	case EV_EOH: return m->eoh ? m->eoh(ev) : MXP_CONTINUE;
	case EV_BODY: return m->body ? m->body(ev, a->chunk, a->len) : MXP_CONTINUE;
	case EV_EOM: return m->eom ? m->eom(ev) : MXP_CONTINUE;
	}
	return MXP_ERROR;
}

/*
 * dispatch - every active module in policy order.  Connection and
 * recipient events are not sticky: they decide now, for the session or
 * that recipient; message events also count toward the module's verdict
 * at end of message.
 */
static void
dispatch(struct mxp_session *s, enum event_kind kind, const struct event_args *a,
	 struct mxp_outcome *out)
{
	bool sticky = kind == EV_MAIL || kind >= EV_HEADER;

	for (size_t i = 0; i < module_count(s); i++) {
		struct mxp_event ev;

		if (!active(s, i))
			continue;
		ev = make_event(s, i);
		apply_module_verdict(s, i, call_event(s->pol->modules[i].mod, &ev, kind, a),
				     event_names[kind], out, sticky);
	}
}

/* result_init_for - an empty result of module i, which may use only its own module's name */
static void
result_init_for(struct mxp_session *s, struct mxp_result *res, size_t i)
{
	mxp_result_init(res);
	res->owner = module_name(s, i);
	res->module_names = s->pol->module_names;
}

/* reset_conn_results - a connection-level reply is used once; edits there have no message */
static void
reset_conn_results(struct mxp_session *s)
{
	for (size_t i = 0; i < module_count(s); i++) {
		mxp_result_release(&s->conn_results[i]);
		result_init_for(s, &s->conn_results[i], i);
	}
}

/* hook_progress - host->progress of an event of this session */
static void
hook_progress(struct mxp_host_session *hs)
{
	mxp_session_progress((struct mxp_session *)hs);
}

/* hook_peer_finding - host->peer_finding of an event of this session */
static const char *
hook_peer_finding(const struct mxp_host_session *hs, const char *key)
{
	return mxp_session_peer_finding((const struct mxp_session *)hs, key);
}

struct mxp_session *
mxp_session_new(struct mxp_policy *pol, const char *client_name, const char *client_addr,
		int family)
{
	struct mxp_session *s = g_new0(struct mxp_session, 1);
	const struct mxp_mx_host *peer;
	size_t n;

	s->hooks.progress = hook_progress;
	s->hooks.peer_finding = hook_peer_finding;
	s->pol = mxp_policy_ref(pol);
	n = module_count(s) ? module_count(s) : 1;
	/* Postfix passes "[addr]" when the client has no name; log it as Postfix does. */
	s->client_name =
		g_strndup(client_name != NULL && client_name[0] != '[' ? client_name : "unknown",
			  MAX_CLIENT_NAME);
	s->client_addr = g_strndup(client_addr != NULL ? client_addr : "unknown", 63);
	s->conn_state = g_new0(void *, n);
	s->conn_results = g_new0(struct mxp_result, n);
	for (size_t i = 0; i < module_count(s); i++)
		result_init_for(s, &s->conn_results[i], i);
	s->trusted_net = mxp_cidr_match_any(pol->trusted, pol->ntrusted, s->client_addr);
	peer = mxp_policy_peer_by_addr(pol, s->client_addr);
	s->peer = s->trusted_net ? NULL : peer;
	s->conn = (struct mxp_conn){
		.client_name = s->client_name,
		.client_addr = s->client_addr,
		.client_family = family,
		.hop = s->trusted_net	 ? MXP_HOP_TRUSTED
		       : s->peer != NULL ? MXP_HOP_RELAY
					 : MXP_HOP_EDGE,
		.peer = s->peer != NULL ? s->peer->name : NULL,
		.own_host = pol->self != NULL ? pol->self->name : "",
		.own_tier = pol->self != NULL ? pol->self->tier : "",
		.mx_hosts = pol->host_names,
	};
	mxp_counter_add(MXP_CNT_CONNECTIONS, 1);
	return s;
}

/* message_free - everything one message held */
static void
message_free(struct mxp_session *s, struct mxp_message *m)
{
	for (size_t i = 0; i < module_count(s); i++)
		mxp_result_release(&m->results[i]);
	g_free(m->results);
	g_free(m->state);
	g_free(m->done);
	g_free(m->skipped);
	mxp_parity_free(m->parity);
	mxp_result_release(&m->core);
	g_free(m->mail_from);
	g_free(m->queue_id);
	g_ptr_array_free(m->rcpts, TRUE);
	g_hash_table_destroy(m->header_counts);
	final_clear(&m->fin);
	g_free(m);
}

/* msg_end - end the current message for every module, then free it */
static void
msg_end(struct mxp_session *s, bool aborted)
{
	struct mxp_message *m = s->msg;

	if (m == NULL)
		return;
	for (size_t i = 0; i < module_count(s); i++) {
		const struct mxp_module *mod = s->pol->modules[i].mod;
		struct mxp_event ev = make_event(s, i);

		if (mod->msg_end != NULL && m->skipped[i] == NULL)
			mod->msg_end(&ev, aborted);
	}
	s->msg = NULL;
	message_free(s, m);
}

void
mxp_session_free(struct mxp_session *s)
{
	if (s == NULL)
		return;
	msg_end(s, true);
	for (size_t i = 0; i < module_count(s); i++) {
		const struct mxp_module *m = s->pol->modules[i].mod;
		struct mxp_event ev = make_event(s, i);

		if (m->conn_end != NULL && !conn_skipped(s, i))
			m->conn_end(&ev);
	}
	for (size_t i = 0; i < module_count(s); i++)
		mxp_result_release(&s->conn_results[i]);
	g_free(s->conn_results);
	g_free(s->conn_state);
	mxp_policy_unref(s->pol); /* last: module_count reads the policy */
	g_free(s->client_name);
	g_free(s->client_addr);
	g_free(s->helo);
	g_free(s->auth_authen);
	g_free(s);
}

/*
 * decide_connection - a connect or HELO verdict holds for the whole session.
 * The daemon asks the MTA for no reply at those stages (fewer round trips),
 * so the verdict reaches the client at MAIL; an MTA that did get it at
 * connect or HELO and still sends MAIL gets it again.
 */
static void
decide_connection(struct mxp_session *s, const struct mxp_outcome *out)
{
	if (out->verdict >= MXP_TEMPFAIL)
		s->conn_outcome = *out;
}

/* conn_decided - a connect or HELO verdict ended the session */
static bool
conn_decided(const struct mxp_session *s)
{
	return s->conn_outcome.verdict >= MXP_TEMPFAIL;
}

void
mxp_session_connect(struct mxp_session *s, struct mxp_outcome *out)
{
	memset(out, 0, sizeof(*out));
	if (s->trusted_net)
		mxp_counter_add(MXP_CNT_TRUSTED, 1);
	for (size_t i = 0; i < module_count(s); i++) {
		const struct mxp_module *m = s->pol->modules[i].mod;
		struct mxp_event ev = make_event(s, i);

		if (conn_skipped(s, i))
			continue;
		if (m->conn_begin != NULL && m->conn_begin(&ev, &s->conn_state[i]) < 0)
			apply_module_verdict(s, i, MXP_ERROR, "conn_begin", out, false);
	}
	dispatch(s, EV_CONNECT, &(struct event_args){ 0 }, out);
	decide_connection(s, out);
	reset_conn_results(s);
}

void
mxp_session_helo(struct mxp_session *s, const char *helo, struct mxp_outcome *out)
{
	memset(out, 0, sizeof(*out));
	g_free(s->helo);
	s->helo = g_strndup(helo != NULL ? helo : "", MAX_HELO);
	s->conn.helo = s->helo;
	if (conn_decided(s))
		return;
	dispatch(s, EV_HELO, &(struct event_args){ .text = s->helo }, out);
	decide_connection(s, out);
	reset_conn_results(s);
}

/* msg_begin - a fresh message, and per-message state for every module */
static void
msg_begin(struct mxp_session *s, const char *from, struct mxp_outcome *out)
{
	size_t n = module_count(s) ? module_count(s) : 1;
	struct mxp_message *m = g_new0(struct mxp_message, 1);

	s->msg = m;
	clock_gettime(CLOCK_MONOTONIC, &m->started);
	m->mail_from = g_strndup(from, MAX_ADDRESS);
	m->queue_id = g_strdup("NOQUEUE");
	m->rcpts = g_ptr_array_new_with_free_func(g_free);
	m->header_counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	m->results = g_new0(struct mxp_result, n);
	m->state = g_new0(void *, n);
	m->done = g_new0(bool, n);
	/* A client that authenticated is not relaying for a peer, whatever its address. */
	m->parity = mxp_parity_new(s->pol, s->auth_authen != NULL ? NULL : s->peer, s->client_addr);
	mxp_result_init(&m->core);
	m->skipped = g_new0(const char *, n);
	for (size_t i = 0; i < module_count(s); i++) {
		m->skipped[i] = skip_reason(s, i);
		result_init_for(s, &m->results[i], i);
	}
	m->view = (struct mxp_msg){
		.queue_id = m->queue_id,
		.mail_from = m->mail_from,
		.rcpts = (const char *const *)m->rcpts->pdata,
	};
	for (size_t i = 0; i < module_count(s); i++) {
		const struct mxp_module *mod = s->pol->modules[i].mod;
		struct mxp_event ev = make_event(s, i);

		if (m->skipped[i] != NULL)
			continue;
		if (mod->msg_begin != NULL && mod->msg_begin(&ev, &m->state[i]) < 0)
			apply_module_verdict(s, i, MXP_ERROR, "msg_begin", out, true);
	}
}

/*
 * strip_brackets - "<a@b>" to "a@b", bounded; *cut_r is set when the
 * address was longer than the bound.  The closing bracket is the last one:
 * a quoted local part may hold a '>' of its own.
 */
static char *
strip_brackets(const char *addr, bool *cut_r)
{
	const char *end;
	size_t len;

	if (addr == NULL)
		return g_strdup("");
	while (*addr == ' ')
		addr++;
	if (*addr == '<')
		addr++;
	end = strrchr(addr, '>');
	len = end != NULL ? (size_t)(end - addr) : strlen(addr);
	if (len > MAX_ADDRESS) {
		*cut_r = true;
		len = MAX_ADDRESS;
	}
	return g_strndup(addr, len);
}

/* decide_message - a verdict before EOM ends the message; log it */
static void
decide_message(struct mxp_session *s, const char *stage, const struct mxp_outcome *out)
{
	char hop[300];

	if (out->verdict < MXP_TEMPFAIL)
		return;
	s->msg->decided = true;
	s->msg->decided_outcome = *out;
	mxp_counter_action(out->verdict);
	mxp_log(LOG_INFO, "%s: %s from %s[%s]: %s %s %s; from=<%s> hop=%s",
		mxp_verdict_name(out->verdict), stage, s->client_name, s->client_addr, out->rcode,
		out->xcode, out->text, s->msg->mail_from, hop_text(s, hop, sizeof(hop)));
}

void
mxp_session_mail(struct mxp_session *s, const char *from, const char *auth_authen,
		 struct mxp_outcome *out)
{
	bool cut = false;
	char *bare = strip_brackets(from, &cut);

	memset(out, 0, sizeof(*out));
	msg_end(s, true); /* a new MAIL without an abort: the previous one is over */
	g_free(s->auth_authen);
	s->auth_authen = auth_authen != NULL && auth_authen[0] != '\0'
				 ? g_strndup(auth_authen, MAX_AUTH_NAME)
				 : NULL;
	s->conn.auth_authen = s->auth_authen;
	if (s->auth_authen != NULL && !s->trusted_net) {
		s->conn.hop = MXP_HOP_TRUSTED;
		s->conn.peer = NULL;
	}
	msg_begin(s, bare, out);
	s->msg->envelope_cut = cut;
	g_free(bare);
	if (conn_decided(s)) {
		*out = s->conn_outcome;
		decide_message(s, "MAIL", out);
		return;
	}
	dispatch(s, EV_MAIL, &(struct event_args){ .text = s->msg->mail_from }, out);
	decide_message(s, "MAIL", out);
}

/* open_message - the current message, unless there is none or it is decided */
static struct mxp_message *
open_message(struct mxp_session *s)
{
	return s->msg != NULL && !s->msg->decided ? s->msg : NULL;
}

void
mxp_session_rcpt(struct mxp_session *s, const char *rcpt, struct mxp_outcome *out)
{
	struct mxp_message *m = open_message(s);
	char *addr, hop[300];

	memset(out, 0, sizeof(*out));
	if (m == NULL)
		return;
	addr = strip_brackets(rcpt, &m->envelope_cut);
	if (s->pol->limits.max_recipients > 0 &&
	    (long long)m->rcpts->len >= s->pol->limits.max_recipients) {
		outcome_set(out, MXP_TEMPFAIL, "452", "4.5.3", "Too many recipients");
	} else {
		dispatch(s, EV_RCPT, &(struct event_args){ .text = addr }, out);
		/* A per-recipient reply must not leak into the next recipient or EOM. */
		for (size_t i = 0; i < module_count(s); i++)
			mxp_result_clear_reply(&m->results[i]);
	}
	if (out->verdict >= MXP_TEMPFAIL && out->verdict != MXP_DISCARD) {
		mxp_counter_add(MXP_CNT_RCPT_REJECTED, 1);
		mxp_log(LOG_INFO, "%s: RCPT from %s[%s]: %s %s %s; from=<%s> to=<%s> hop=%s",
			mxp_verdict_name(out->verdict), s->client_name, s->client_addr, out->rcode,
			out->xcode, out->text, m->mail_from, addr, hop_text(s, hop, sizeof(hop)));
		g_free(addr);
		return;
	}
	g_ptr_array_add(m->rcpts, addr);
	m->view.nrcpt = m->rcpts->len;
	m->view.rcpts = (const char *const *)m->rcpts->pdata;
	decide_message(s, "RCPT", out);
}

/*
 * core_header - the core's own look at a header: stamps (never shown to
 * modules) and Authentication-Results in our name, which no client may
 * bring, trusted and authenticated ones included (RFC 8601 section 5).
 * True when the header goes no further.
 */
static bool
core_header(struct mxp_session *s, const char *name, const char *value, unsigned index)
{
	struct mxp_message *m = s->msg;

	if (g_ascii_strcasecmp(name, MXP_AUTHRES_HEADER) == 0) {
		char *id = mxp_authres_id(value);

		if (mxp_authres_is_ours(id, s->pol->host_names)) {
			mxp_result_remove_header(&m->core, name, index);
			mxp_log(LOG_NOTICE, "authres: removed %s claiming to be %s",
				MXP_AUTHRES_HEADER, id);
		}
		g_free(id);
		return false;
	}
	if (!mxp_parity_header(m->parity, name, value))
		return false;
	mxp_result_remove_header(&m->core, name, index);
	return true;
}

void
mxp_session_header(struct mxp_session *s, const char *name, const char *value,
		   struct mxp_outcome *out)
{
	struct mxp_message *m = open_message(s);
	size_t nlen, vlen;
	char *lower;
	unsigned index;

	memset(out, 0, sizeof(*out));
	if (m == NULL)
		return;
	nlen = strlen(name);
	vlen = strlen(value);
	m->view.size += nlen + vlen + 4; /* "Name: value\r\n" */
	if (s->pol->limits.max_header_length > 0 &&
	    (long long)(nlen + vlen) > s->pol->limits.max_header_length) {
		outcome_set(out, MXP_REJECT, "552", "5.3.4", "Message header field too long");
	} else if (s->pol->limits.max_headers > 0 &&
		   (long long)++m->nheaders > s->pol->limits.max_headers) {
		outcome_set(out, MXP_REJECT, "552", "5.3.4", "Too many message header fields");
	} else {
		/* Index among headers of this name, as the MTA counts for removals. */
		lower = g_ascii_strdown(name, -1);
		index = GPOINTER_TO_UINT(g_hash_table_lookup(m->header_counts, lower)) + 1;
		g_hash_table_replace(m->header_counts, lower, GUINT_TO_POINTER(index));
		if (!core_header(s, name, value, index))
			dispatch(s, EV_HEADER,
				 &(struct event_args){
					 .text = name, .value = value, .index = index },
				 out);
	}
	decide_message(s, "header", out);
}

void
mxp_session_eoh(struct mxp_session *s, struct mxp_outcome *out)
{
	struct mxp_message *m = open_message(s);

	memset(out, 0, sizeof(*out));
	if (m == NULL)
		return;
	m->view.size += 2;
	dispatch(s, EV_EOH, &(struct event_args){ 0 }, out);
	decide_message(s, "end of headers", out);
}

void
mxp_session_body(struct mxp_session *s, const unsigned char *chunk, size_t len,
		 struct mxp_outcome *out)
{
	struct mxp_message *m = open_message(s);

	memset(out, 0, sizeof(*out));
	if (m == NULL)
		return;
	m->view.size += len;
	if (s->pol->limits.max_message_size > 0 &&
	    (long long)m->view.size > s->pol->limits.max_message_size)
		outcome_set(out, MXP_REJECT, "552", "5.3.4", "Message size exceeds fixed limit");
	else {
		mxp_parity_body(m->parity, chunk, len);
		dispatch(s, EV_BODY, &(struct event_args){ .chunk = chunk, .len = len }, out);
	}
	decide_message(s, "body", out);
}

/* compare_removals - by name, then highest index first so indexes stay valid */
static gint
compare_removals(gconstpointer a, gconstpointer b)
{
	const struct mxp_header_edit *x = *(const struct mxp_header_edit *const *)a;
	const struct mxp_header_edit *y = *(const struct mxp_header_edit *const *)b;
	int c = g_ascii_strcasecmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->index < y->index ? 1 : x->index > y->index ? -1 : 0;
}

/* add_edits - one result's edits to the final lists */
static void
add_edits(const struct mxp_result *res, struct mxp_final *fin)
{
	for (guint j = 0; j < res->edits->len; j++) {
		const struct mxp_header_edit *e =
			&g_array_index(res->edits, struct mxp_header_edit, j);

		g_ptr_array_add(e->value != NULL ? fin->additions : fin->removals, (void *)e);
	}
}

/* collect_edits - every module's header edits, then the core's; removals deduplicated */
static void
collect_edits(struct mxp_message *m, size_t nmodules, struct mxp_final *fin)
{
	fin->removals = g_ptr_array_new();
	fin->additions = g_ptr_array_new();
	for (size_t i = 0; i < nmodules; i++) {
		add_edits(&m->results[i], fin);
		if (m->results[i].quarantine != NULL && fin->quarantine == NULL)
			fin->quarantine = m->results[i].quarantine;
	}
	add_edits(&m->core, fin);
	g_ptr_array_sort(fin->removals, compare_removals);
	for (guint j = 1; j < fin->removals->len;) {
		if (compare_removals(&fin->removals->pdata[j - 1], &fin->removals->pdata[j]) == 0)
			g_ptr_array_remove_index(fin->removals, j);
		else
			j++;
	}
}

/* all_skipped - no module checks this message (a trusted or authenticated client) */
static bool
all_skipped(const struct mxp_session *s)
{
	for (size_t i = 0; i < module_count(s); i++)
		if (s->msg->skipped[i] == NULL)
			return false;
	return module_count(s) > 0;
}

/* append_findings - module i's part of the summary line */
static void
append_findings(const struct mxp_session *s, size_t i, GString *line)
{
	const struct mxp_message *m = s->msg;
	const struct mxp_result *r = &m->results[i];

	if (m->skipped[i] != NULL) {
		g_string_append_printf(line, " %s=skipped:%s", module_name(s, i), m->skipped[i]);
		return;
	}
	if (r->findings->len == 0) {
		g_string_append_printf(line, " %s=%s", module_name(s, i),
				       m->done[i] ? "accept" : "none");
		return;
	}
	for (guint j = 0; j < r->findings->len; j++) {
		const struct mxp_finding *f = &g_array_index(r->findings, struct mxp_finding, j);

		g_string_append_printf(line, " %s=%s%s", f->key, f->value,
				       (f->flags & MXP_FINDING_FROM_PEER) ? ":stamp" : "");
	}
}

/* format_summary - the one line per message: the envelope, every module's findings, the action */
static void
format_summary(struct mxp_session *s, struct mxp_final *fin)
{
	struct mxp_message *m = s->msg;
	GString *line = g_string_new(NULL);
	struct timespec now;
	double ms;
	char hop[300];

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (double)(now.tv_sec - m->started.tv_sec) * 1e3 +
	     (double)(now.tv_nsec - m->started.tv_nsec) / 1e6;
	g_string_append_printf(line, "client=%s[%s] hop=%s from=<%s> rcpts=%u size=%zu",
			       s->client_name, s->client_addr, hop_text(s, hop, sizeof(hop)),
			       m->mail_from, m->rcpts->len, m->view.size);
	if (all_skipped(s))
		g_string_append_printf(line, " checks=skipped:%s", m->skipped[0]);
	else
		for (size_t i = 0; i < module_count(s); i++)
			append_findings(s, i, line);
	if (mxp_parity_outcome(m->parity) != NULL)
		g_string_append_printf(line, " parity=%s", mxp_parity_outcome(m->parity));
	g_string_append_printf(line, " action=%s policy=%.8s ms=%.1f",
			       fin->outcome.verdict == MXP_CONTINUE
				       ? "accept"
				       : mxp_verdict_name(fin->outcome.verdict),
			       s->pol->digest, ms);
	fin->summary = g_string_free(line, FALSE);
}

/* envelope_of - the message's envelope for the tier protocol */
static struct mxp_parity_envelope
envelope_of(const struct mxp_message *m)
{
	return (struct mxp_parity_envelope){
		.mail_from = m->mail_from,
		.rcpts = (const char *const *)m->rcpts->pdata,
		.nrcpts = m->rcpts->len,
		.cut = m->envelope_cut,
	};
}

/* add_stamp - this host's X-MXParity for the next tier, from every module's findings */
static void
add_stamp(struct mxp_session *s)
{
	struct mxp_message *m = s->msg;
	GPtrArray *findings = g_ptr_array_new();
	char *value;
	struct mxp_parity_findings f = {
		.own_host = s->conn.own_host,
		.own_tier = s->conn.own_tier,
		.client_addr = s->client_addr,
		.helo = s->helo,
		.env = envelope_of(m),
	};

	for (size_t i = 0; i < module_count(s); i++)
		for (guint j = 0; m->skipped[i] == NULL && j < m->results[i].findings->len; j++)
			g_ptr_array_add(findings, &g_array_index(m->results[i].findings,
								 struct mxp_finding, j));
	f.findings = (const struct mxp_finding *const *)findings->pdata;
	f.nfindings = findings->len;
	value = mxp_parity_stamp(m->parity, &f);
	if (value != NULL)
		mxp_result_add_header_raw(&m->core, MXP_STAMP_HEADER, value);
	g_free(value);
	g_ptr_array_free(findings, TRUE);
}

/* add_authres - one Authentication-Results in our name with every module's methods */
static void
add_authres(struct mxp_session *s)
{
	struct mxp_message *m = s->msg;
	const GPtrArray **lists = g_new0(const GPtrArray *, module_count(s) + 1);
	char *value;

	for (size_t i = 0; i < module_count(s); i++)
		lists[i] = m->skipped[i] == NULL ? m->results[i].authres : NULL;
	value = mxp_authres_format(s->conn.own_host, lists, module_count(s));
	if (value != NULL)
		mxp_result_add_header(&m->core, MXP_AUTHRES_HEADER, value);
	g_free(value);
	g_free(lists);
}

const struct mxp_final *
mxp_session_eom(struct mxp_session *s)
{
	struct mxp_message *m = s->msg;
	static const struct mxp_final none = { .summary = (char *)"" };
	struct mxp_outcome *out;
	struct mxp_parity_envelope env;

	if (m == NULL)
		return &none;
	final_clear(&m->fin);
	out = &m->fin.outcome;
	if (!m->decided) {
		/* Modules decide a relayed message knowing what its stamp proved. */
		env = envelope_of(m);
		m->view.relay = mxp_parity_check(m->parity, &env);
		dispatch(s, EV_EOM, &(struct event_args){ 0 }, out);
		/* Sticky verdicts from earlier events (TAG, QUARANTINE) count now. */
		for (size_t i = 0; i < module_count(s); i++) {
			if (m->results[i].verdict > out->verdict) {
				struct mxp_outcome tmp = *out;

				apply_module_verdict(s, i, m->results[i].verdict, "eom", &tmp,
						     false);
				*out = tmp;
			}
		}
		if (out->verdict < MXP_TEMPFAIL && !all_skipped(s)) {
			add_authres(s);
			add_stamp(s);
		}
		collect_edits(m, module_count(s), &m->fin);
		mxp_counter_add(MXP_CNT_MESSAGES, 1);
		mxp_counter_action(out->verdict);
	} else {
		*out = m->decided_outcome;
	}
	format_summary(s, &m->fin);
	return &m->fin;
}

void
mxp_session_abort(struct mxp_session *s)
{
	msg_end(s, true);
}

void
mxp_session_finish(struct mxp_session *s)
{
	msg_end(s, false);
}

void
mxp_session_set_progress(struct mxp_session *s, void (*fn)(void *arg), void *arg)
{
	s->progress = fn;
	s->progress_arg = arg;
}

void
mxp_session_progress(struct mxp_session *s)
{
	if (s->progress != NULL)
		s->progress(s->progress_arg);
}

void
mxp_session_set_queue_id(struct mxp_session *s, const char *queue_id)
{
	if (s->msg == NULL || queue_id == NULL || queue_id[0] == '\0')
		return;
	g_free(s->msg->queue_id);
	s->msg->queue_id = g_strndup(queue_id, MAX_QUEUE_ID);
	s->msg->view.queue_id = s->msg->queue_id;
}

const char *
mxp_session_queue_id(const struct mxp_session *s)
{
	return s->msg != NULL ? s->msg->queue_id : "NOQUEUE";
}

const char *
mxp_session_peer_finding(const struct mxp_session *s, const char *key)
{
	return s->msg != NULL ? mxp_parity_peer_finding(s->msg->parity, key) : NULL;
}

/* final_clear - drop the last decision's arrays (the edits belong to results) */
static void
final_clear(struct mxp_final *fin)
{
	if (fin->removals != NULL)
		g_ptr_array_free(fin->removals, TRUE);
	if (fin->additions != NULL)
		g_ptr_array_free(fin->additions, TRUE);
	g_free(fin->summary);
	memset(fin, 0, sizeof(*fin));
}

const struct mxp_policy *
mxp_session_policy(const struct mxp_session *s)
{
	return s->pol;
}
