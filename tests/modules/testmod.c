/*
 * testmod.c - a third-party-style module used by the test suite.
 *
 * It includes only the installed header <mxparity/module.h>, and it
 * exercises every event and every host service so the tests can prove
 * that an outside module loads, sees the whole transaction and has its
 * verdicts, replies and header edits applied by the core.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mxparity/module.h>

static const char *const fail_points[] = { "none",   "connect", "helo", "mail", "rcpt",
					   "header", "body",	"eom",	NULL };

static const struct mxp_option testmod_options[] = {
	{ .name = "stamp_header",
	  .type = MXP_OPT_STRING,
	  .def = "X-Test-Module",
	  .help = "header added to every message" },
	{ .name = "reject_subject",
	  .type = MXP_OPT_STRING,
	  .def = "",
	  .help = "reject when the Subject contains this (per domain of the first recipient)",
	  .flags = MXP_OPTF_PER_DOMAIN },
	{ .name = "reject_helo",
	  .type = MXP_OPT_STRING,
	  .def = "",
	  .help = "reject the session when HELO is this name" },
	{ .name = "tag_subject",
	  .type = MXP_OPT_STRING,
	  .def = "",
	  .help = "tag when the Subject contains this" },
	{ .name = "quarantine_subject",
	  .type = MXP_OPT_STRING,
	  .def = "",
	  .help = "quarantine on this Subject text" },
	{ .name = "remove_header",
	  .type = MXP_OPT_STRING,
	  .def = "",
	  .help = "remove every instance of this header" },
	{ .name = "fail_at",
	  .type = MXP_OPT_CHOICE,
	  .def = "none",
	  .choices = fail_points,
	  .help = "simulate an internal failure" },
	{ .name = "max_body",
	  .type = MXP_OPT_SIZE,
	  .def = "0",
	  .help = "tempfail bodies larger than this (0: off)" },
	{ .name = "worker",
	  .type = MXP_OPT_STRING,
	  .def = "local",
	  .flags = MXP_OPTF_HOST_LOCAL,
	  .help = "where this host would do the work (host-local: not in the digest)" },
	{ .name = NULL },
};

struct testmod {
	const struct mxp_host *host;
	const struct mxp_config *cfg;
	const char *fail_at;
};

struct testmod_msg {
	unsigned headers;
	size_t body;
	char subject[256];
	unsigned removals;
};

static int
testmod_init(const struct mxp_host *host, const struct mxp_config *cfg, void **instance_r,
	     char *err, size_t errlen)
{
	struct testmod *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->host = host;
	t->cfg = cfg;
	t->fail_at = host->cfg_string(cfg, "fail_at");
	*instance_r = t;
	return 0;
}

static void
testmod_destroy(void *instance)
{
	free(instance);
}

static int
testmod_msg_begin(struct mxp_event *ev, void **msg_state_r)
{
	(void)ev;
	*msg_state_r = calloc(1, sizeof(struct testmod_msg));
	return *msg_state_r == NULL ? -1 : 0;
}

static void
testmod_msg_end(struct mxp_event *ev, bool aborted)
{
	(void)aborted;
	free(ev->msg_state);
}

/* failing - simulate an internal error at this event */
static bool
failing(const struct mxp_event *ev, const char *event)
{
	const struct testmod *t = ev->instance;
	return strcmp(t->fail_at, event) == 0;
}

static enum mxp_verdict
testmod_connect(struct mxp_event *ev)
{
	return failing(ev, "connect") ? MXP_ERROR : MXP_CONTINUE;
}

static enum mxp_verdict
testmod_helo(struct mxp_event *ev, const char *helo)
{
	const struct testmod *t = ev->instance;
	const char *bad = t->host->cfg_string(t->cfg, "reject_helo");

	if (failing(ev, "helo"))
		return MXP_ERROR;
	if (bad[0] != '\0' && strcasecmp(helo, bad) == 0) {
		ev->host->set_reply(ev->result, "550", "5.7.1", "test module refuses HELO %s",
				    helo);
		return MXP_REJECT;
	}
	return MXP_CONTINUE;
}

static enum mxp_verdict
testmod_mail(struct mxp_event *ev, const char *from)
{
	(void)from;
	return failing(ev, "mail") ? MXP_ERROR : MXP_CONTINUE;
}

static enum mxp_verdict
testmod_rcpt(struct mxp_event *ev, const char *rcpt)
{
	(void)rcpt;
	return failing(ev, "rcpt") ? MXP_ERROR : MXP_CONTINUE;
}

static enum mxp_verdict
testmod_header(struct mxp_event *ev, const char *name, const char *value, unsigned index)
{
	const struct testmod *t = ev->instance;
	struct testmod_msg *m = ev->msg_state;
	const char *remove = t->host->cfg_string(t->cfg, "remove_header");

	if (failing(ev, "header"))
		return MXP_ERROR;
	m->headers++;
	if (strcasecmp(name, "Subject") == 0)
		snprintf(m->subject, sizeof(m->subject), "%s", value);
	if (remove[0] != '\0' && strcasecmp(name, remove) == 0) {
		ev->host->remove_header(ev->result, name, index);
		m->removals++;
	}
	return MXP_CONTINUE;
}

static enum mxp_verdict
testmod_body(struct mxp_event *ev, const unsigned char *chunk, size_t len)
{
	const struct testmod *t = ev->instance;
	struct testmod_msg *m = ev->msg_state;
	long long max = t->host->cfg_int(t->cfg, "max_body");

	(void)chunk;
	if (failing(ev, "body"))
		return MXP_ERROR;
	m->body += len;
	if (max > 0 && (long long)m->body > max) {
		ev->host->set_reply(ev->result, "452", "4.3.1", "test module: body over %lld bytes",
				    max);
		return MXP_TEMPFAIL;
	}
	return MXP_CONTINUE;
}

/* domain_cfg - the options for the first recipient's domain */
static const struct mxp_config *
domain_cfg(const struct mxp_event *ev)
{
	const struct testmod *t = ev->instance;
	const char *at = ev->msg->nrcpt > 0 ? strrchr(ev->msg->rcpts[0], '@') : NULL;

	return t->host->cfg_for_domain(t->cfg, at != NULL ? at + 1 : NULL);
}

/* contains - non-empty needle found in hay */
static bool
contains(const char *hay, const char *needle)
{
	return needle[0] != '\0' && strstr(hay, needle) != NULL;
}

/* hop_text - the hop as the summary line writes it */
static const char *
hop_text(const struct mxp_conn *conn, char *buf, size_t len)
{
	if (conn->hop == MXP_HOP_TRUSTED)
		return "trusted";
	if (conn->hop == MXP_HOP_RELAY) {
		snprintf(buf, len, "relay:%s", conn->peer);
		return buf;
	}
	return "edge";
}

static enum mxp_verdict
testmod_eom(struct mxp_event *ev)
{
	const struct testmod *t = ev->instance;
	const struct testmod_msg *m = ev->msg_state;
	const char *peer = ev->host->peer_finding(ev, "test");
	char value[768], hop[300];

	if (failing(ev, "eom"))
		return MXP_ERROR;
	/* What the peer's testmod found arrives in its verified stamp. */
	snprintf(value, sizeof(value),
		 "host=%s tier=%s hop=%s rcpts=%zu headers=%u body=%zu relay=%s client=%s helo=%s "
		 "peer_test=%s",
		 ev->conn->own_host, ev->conn->own_tier, hop_text(ev->conn, hop, sizeof(hop)),
		 ev->msg->nrcpt, m->headers, m->body,
		 ev->msg->relay == NULL	    ? "none"
		 : ev->msg->relay->verified ? "verified"
					    : "unverified",
		 ev->msg->relay && ev->msg->relay->client_addr ? ev->msg->relay->client_addr : "-",
		 ev->msg->relay && ev->msg->relay->helo ? ev->msg->relay->helo : "-",
		 peer != NULL ? peer : "-");
	ev->host->add_header(ev->result, t->host->cfg_string(t->cfg, "stamp_header"), value);
	if (contains(m->subject, t->host->cfg_string(domain_cfg(ev), "reject_subject"))) {
		ev->host->set_reply(ev->result, "554", "5.7.1", "test module rejects \"%s\"",
				    m->subject);
		ev->host->add_finding(ev->result, "test", 0, "reject");
		return MXP_REJECT;
	}
	if (contains(m->subject, t->host->cfg_string(t->cfg, "quarantine_subject"))) {
		ev->host->set_quarantine(ev->result, "test module quarantine");
		ev->host->add_finding(ev->result, "test", 0, "quarantine");
		return MXP_QUARANTINE;
	}
	if (contains(m->subject, t->host->cfg_string(t->cfg, "tag_subject"))) {
		ev->host->add_header(ev->result, "X-Test-Tag", "yes");
		ev->host->add_finding(ev->result, "test", 0, "tag");
		return MXP_TAG;
	}
	ev->host->add_finding(ev->result, "test", 0, "ok:%u:%zu:%u", m->headers, m->body,
			      m->removals);
	return MXP_CONTINUE;
}

static const struct mxp_module testmod_module = {
	MXP_MODULE_ABI_VERSION,
	.name = "testmod",
	.description = "test-suite module: exercises every event",
	.options = testmod_options,
	.init = testmod_init,
	.destroy = testmod_destroy,
	.msg_begin = testmod_msg_begin,
	.msg_end = testmod_msg_end,
	.connect = testmod_connect,
	.helo = testmod_helo,
	.mail = testmod_mail,
	.rcpt = testmod_rcpt,
	.header = testmod_header,
	.body = testmod_body,
	.eom = testmod_eom,
};

MXP_MODULE_DEFINE(testmod_module);
