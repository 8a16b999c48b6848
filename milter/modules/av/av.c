/*
 * av.c - the av module: every message spooled and scanned whole, by
 * libclamav in process or by a pool of clamd servers (backend.h), with the
 * same actions, headers and findings whatever scanned it.  Every tier
 * loads the same signatures and applies the same actions.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <glib.h>
#include <mxparity/module.h>

#include "backend.h"
#include "leftovers.h"
#include "spool.h"

static const char *const infected_words[] = { "reject",	    "tempfail", "discard",
					      "quarantine", "tag",	NULL };
static const char *const limits_words[] = { "tag", "tempfail", "reject", NULL };
static const char *const reload_words[] = { "concurrent", "blocking", NULL };
static const char *const backend_words[] = { "libclamav", "clamd", NULL };

static const struct mxp_option av_options[] = {
	{ .name = "database",
	  .type = MXP_OPT_PATH,
	  .def = "/var/lib/clamav",
	  .help = "directory of ClamAV signature databases" },
	{ .name = "on_infected",
	  .type = MXP_OPT_CHOICE,
	  .def = "reject",
	  .choices = infected_words,
	  .flags = MXP_OPTF_PER_DOMAIN,
	  .help = "reject (554 5.7.1), tempfail, discard, quarantine or tag" },
	{ .name = "reply",
	  .type = MXP_OPT_STRING,
	  .def = "Virus found: %v",
	  .help = "reply text for reject and tempfail; %v is the virus name" },
	/* Unscanned mail is not delivered unless the policy says so (issue 13). */
	{ .name = "on_limits",
	  .type = MXP_OPT_CHOICE,
	  .def = "reject",
	  .choices = limits_words,
	  .help = "a message that could not be scanned in full: reject (552 5.3.4), tempfail or "
		  "tag it unscanned" },
	{ .name = "on_size_limits",
	  .type = MXP_OPT_CHOICE,
	  .def = NULL,
	  .choices = limits_words,
	  .help = "the same for a size limit only (max_scan_size, max_file_size, "
		  "max_decoded_size); unset: as on_limits" },
	{ .name = "max_scan_size",
	  .type = MXP_OPT_SIZE,
	  .def = "25M",
	  .help = "bytes scanned per message (also the spool bound)" },
	{ .name = "max_file_size",
	  .type = MXP_OPT_SIZE,
	  .def = "25M",
	  .help = "largest single file (attachment, archive member) scanned" },
	{ .name = "max_recursion",
	  .type = MXP_OPT_INT,
	  .def = "16",
	  .help = "nesting depth of archives and attachments" },
	{ .name = "max_files",
	  .type = MXP_OPT_INT,
	  .def = "10000",
	  .help = "files scanned inside one message" },
	{ .name = "max_scan_time",
	  .type = MXP_OPT_INT,
	  .def = "120000",
	  .help = "milliseconds one scan may take" },
	{ .name = "max_decoded_size",
	  .type = MXP_OPT_SIZE,
	  .def = "100M",
	  .help = "bytes libclamav may scan in all, decoded parts included (its MaxScanSize)" },
	{ .name = "heuristics",
	  .type = MXP_OPT_BOOL,
	  .def = "false",
	  .help = "extra alerts: broken executables, encrypted archives and documents, OLE2 "
		  "macros, phishing SSL mismatches and cloaked URLs" },
	{ .name = "pua",
	  .type = MXP_OPT_BOOL,
	  .def = "false",
	  .help = "load potentially-unwanted-application signatures" },
	{ .name = "reload",
	  .type = MXP_OPT_CHOICE,
	  .def = "concurrent",
	  .choices = reload_words,
	  .help = "concurrent: swap after the new engine compiled; blocking: free first" },
	{ .name = "reload_check_interval",
	  .type = MXP_OPT_INT,
	  .def = "60",
	  .help = "seconds between database checks (0: only on SIGHUP)" },
	{ .name = "spool_memory_max",
	  .type = MXP_OPT_SIZE,
	  .def = "1M",
	  .help = "messages larger than this are spooled to an unlinked file" },
	{ .name = "spool_dir",
	  .type = MXP_OPT_PATH,
	  .def = "/var/tmp",
	  .help = "directory for spooled messages and libclamav's temporary files" },
	{ .name = "max_concurrent_scans",
	  .type = MXP_OPT_INT,
	  .def = "4",
	  .help = "scans running at once; others wait (0: no bound)" },
	{ .name = "relay_rescan",
	  .type = MXP_OPT_BOOL,
	  .def = "false",
	  .help = "scan mail that a peer relays with a verified stamp again" },
	/*
	 * Where this host scans, not what it finds (host-local: a tier with
	 * clamd and one with libclamav share the policy and its digest).
	 */
	{ .name = "backend",
	  .type = MXP_OPT_CHOICE,
	  .def = "libclamav",
	  .choices = backend_words,
	  .flags = MXP_OPTF_HOST_LOCAL,
	  .help = "libclamav: scan in process; clamd: on the servers listed in servers" },
	{ .name = "servers",
	  .type = MXP_OPT_LIST,
	  .flags = MXP_OPTF_HOST_LOCAL,
	  .help = "clamd servers, unix:/PATH or tcp:ADDRESS:PORT (backend = clamd)" },
	{ .name = "scan_budget",
	  .type = MXP_OPT_INT,
	  .def = "240000",
	  .flags = MXP_OPTF_HOST_LOCAL,
	  .help = "milliseconds a message may take on all clamd servers together; keep it below "
		  "the MTA's milter_content_timeout" },
	{ .name = "server_timeout",
	  .type = MXP_OPT_INT,
	  .def = "150000",
	  .flags = MXP_OPTF_HOST_LOCAL,
	  .help = "milliseconds one clamd server may take for one message before the next is "
		  "tried" },
	{ .name = "server_fail_count",
	  .type = MXP_OPT_INT,
	  .def = "3",
	  .flags = MXP_OPTF_HOST_LOCAL,
	  .help = "failures within server_fail_window that mark a clamd server down" },
	{ .name = "server_fail_window",
	  .type = MXP_OPT_INT,
	  .def = "30",
	  .flags = MXP_OPTF_HOST_LOCAL,
	  .help = "seconds in which server_fail_count failures mark a server down" },
	{ .name = "server_revive",
	  .type = MXP_OPT_INT,
	  .def = "30",
	  .flags = MXP_OPTF_HOST_LOCAL,
	  .help = "seconds a down clamd server waits before it is tried again" },
	{ .name = "max_connections_per_server",
	  .type = MXP_OPT_INT,
	  .def = "10",
	  .flags = MXP_OPTF_HOST_LOCAL,
	  .help = "scans at once on one clamd server (0: no bound); more go to the next" },
	{ .name = NULL },
};

struct av_instance {
	const struct mxp_host *host;
	const struct mxp_config *cfg;
	const struct av_backend *backend;
	void *state; /* the backend's */
	size_t max_scan_size;
	size_t spool_memory_max;
	const char *spool_dir;
};

struct av_message {
	struct av_spool spool;
	bool over_limit; /* stopped spooling: the message is beyond max_scan_size */
	bool spool_failed;
	char spool_error[256];
};

/* The backends' one shared helper (backend.h). */
void
av_scan_set(struct av_scan *out, enum av_outcome outcome, const char *fmt, ...)
{
	va_list ap;

	out->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(out->name, sizeof(out->name), fmt, ap);
	va_end(ap);
}

static void av_destroy(void *instance);

/* remove_leftovers - what an earlier process killed mid-scan left in spool_dir */
static void
remove_leftovers(const struct mxp_host *host, const char *dir)
{
	char why[512];
	unsigned removed = 0;

	switch (av_leftovers_remove(dir, &removed, why, sizeof(why))) {
	case AV_LEFTOVERS_REMOVED:
		if (removed > 0)
			host->log(LOG_NOTICE,
				  "av: removed %u scan leftovers from spool_dir %s (an earlier "
				  "process stopped mid-scan)",
				  removed, dir);
		break;
	case AV_LEFTOVERS_IN_USE:
		host->log(LOG_NOTICE,
			  "av: spool_dir %s is in use by another process: its leftovers are not "
			  "removed",
			  dir);
		break;
	case AV_LEFTOVERS_ERROR:
		host->log(LOG_WARNING, "av: removed %u scan leftovers, but not all: %s", removed,
			  why);
		break;
	case AV_LEFTOVERS_DONE: break;
	}
}

static int
av_init(const struct mxp_host *host, const struct mxp_config *cfg, void **instance_r, char *err,
	size_t errlen)
{
	struct av_instance *inst = g_new0(struct av_instance, 1);

	inst->host = host;
	inst->cfg = cfg;
	inst->backend = strcmp(host->cfg_string(cfg, "backend"), "clamd") == 0
				? &av_backend_clamd
				: &av_backend_libclamav;
	inst->max_scan_size = (size_t)host->cfg_int(cfg, "max_scan_size");
	inst->spool_memory_max = (size_t)host->cfg_int(cfg, "spool_memory_max");
	inst->spool_dir = host->cfg_string(cfg, "spool_dir");
	if (inst->max_scan_size == 0) {
		snprintf(err, errlen, "scan limits must be positive");
		goto fail;
	}
	if (access(inst->spool_dir, W_OK | X_OK) < 0) {
		snprintf(err, errlen, "spool_dir %s is not writable", inst->spool_dir);
		goto fail;
	}
	if (!host->checking())
		remove_leftovers(host, inst->spool_dir);
	if (inst->backend->init(host, cfg, &inst->state, err, errlen) < 0)
		goto fail;
	*instance_r = inst;
	return 0;
fail:
	av_destroy(inst);
	return -1;
}

static void
av_destroy(void *instance)
{
	struct av_instance *inst = instance;

	if (inst->state != NULL)
		inst->backend->destroy(inst->state);
	g_free(inst);
}

static void
av_describe(void *instance, char *buf, size_t len)
{
	struct av_instance *inst = instance;

	inst->backend->describe(inst->state, buf, len);
}

static int
av_msg_begin(struct mxp_event *ev, void **msg_state_r)
{
	const struct av_instance *inst = ev->instance;
	struct av_message *m = g_new0(struct av_message, 1);

	av_spool_init(&m->spool, inst->spool_memory_max, inst->spool_dir);
	*msg_state_r = m;
	return 0;
}

static void
av_msg_end(struct mxp_event *ev, bool aborted)
{
	struct av_message *m = ev->msg_state;

	(void)aborted;
	if (m == NULL)
		return;
	av_spool_free(&m->spool);
	g_free(m);
}

/* spool - append unless the message is already beyond the scan bound */
static void
spool(const struct av_instance *inst, struct av_message *m, const void *data, size_t len)
{
	if (m->over_limit || m->spool_failed)
		return;
	if (m->spool.len + len > inst->max_scan_size) {
		m->over_limit = true;
		av_spool_free(&m->spool); /* nothing more will be scanned */
		return;
	}
	if (av_spool_write(&m->spool, data, len, m->spool_error, sizeof(m->spool_error)) < 0)
		m->spool_failed = true;
}

/* is_virus_header - the headers we own and replace */
static bool
is_virus_header(const char *name)
{
	return strcasecmp(name, "X-Virus-Scanned") == 0 || strcasecmp(name, "X-Virus-Status") == 0;
}

static enum mxp_verdict
av_header(struct mxp_event *ev, const char *name, const char *value, unsigned index)
{
	const struct av_instance *inst = ev->instance;
	struct av_message *m = ev->msg_state;

	/* Replace mode: whatever a sender or an earlier hop claimed is removed. */
	if (is_virus_header(name))
		ev->host->remove_header(ev->result, name, index);
	spool(inst, m, name, strlen(name));
	spool(inst, m, ": ", 2);
	spool(inst, m, value, strlen(value));
	spool(inst, m, "\r\n", 2);
	return MXP_CONTINUE;
}

static enum mxp_verdict
av_eoh(struct mxp_event *ev)
{
	spool(ev->instance, ev->msg_state, "\r\n", 2);
	return MXP_CONTINUE;
}

static enum mxp_verdict
av_body(struct mxp_event *ev, const unsigned char *chunk, size_t len)
{
	spool(ev->instance, ev->msg_state, chunk, len);
	return MXP_CONTINUE;
}

/* strictest_action - on_infected over the recipients' domains, the most severe wins */
static const char *
strictest_action(const struct mxp_event *ev)
{
	const struct av_instance *inst = ev->instance;
	static const char *const order[] = { "tag", "quarantine", "tempfail", "reject", "discard" };
	const char *best = NULL;
	int best_rank = -1;

	for (size_t i = 0; i <= ev->msg->nrcpt; i++) {
		const char *at = i < ev->msg->nrcpt ? strrchr(ev->msg->rcpts[i], '@') : NULL;
		const struct mxp_config *cfg;
		const char *action;

		if (i == ev->msg->nrcpt && best != NULL)
			break;
		cfg = ev->host->cfg_for_domain(inst->cfg, at != NULL ? at + 1 : NULL);
		action = ev->host->cfg_string(cfg, "on_infected");
		for (int r = 0; r < 5; r++)
			if (strcmp(order[r], action) == 0 && r > best_rank) {
				best_rank = r;
				best = action;
			}
	}
	return best;
}

/* reply_text - the policy's template with %v replaced */
static void
reply_text(const struct av_instance *inst, const char *virname, char *buf, size_t len)
{
	const char *tpl = inst->host->cfg_string(inst->cfg, "reply");
	size_t o = 0;

	for (const char *p = tpl; *p != '\0' && o + 1 < len; p++) {
		if (p[0] == '%' && p[1] == 'v') {
			o += (size_t)snprintf(buf + o, len - o, "%s", virname);
			p++;
		} else {
			buf[o++] = *p;
		}
		if (o >= len)
			o = len - 1;
	}
	buf[o] = '\0';
}

/* add_status - our X-Virus-* headers for a message that is delivered; engine "": ours */
static void
add_status(struct mxp_event *ev, const char *status, const char *engine)
{
	const struct av_instance *inst = ev->instance;
	char scanned[256], ours[64];

	if (engine == NULL || engine[0] == '\0') {
		inst->backend->engine(inst->state, ours, sizeof(ours));
		engine = ours;
	}
	snprintf(scanned, sizeof(scanned), "mxparity av (%s) on %s", engine, ev->conn->own_host);
	ev->host->add_header(ev->result, "X-Virus-Scanned", scanned);
	ev->host->add_header(ev->result, "X-Virus-Status", status);
}

/*
 * act_on_limits - a message that could not be scanned in full.  size: the
 * limit is one of size, which a site may treat apart (on_size_limits);
 * nesting, file counts, time and anything unknown are structural, and a
 * structure deeper than the limit is how malware hides.
 */
static enum mxp_verdict
act_on_limits(struct mxp_event *ev, const char *why, bool size, const char *engine)
{
	const struct av_instance *inst = ev->instance;
	const char *action = inst->host->cfg_string(inst->cfg, "on_limits");
	const char *size_action = inst->host->cfg_string(inst->cfg, "on_size_limits");

	if (size && size_action != NULL)
		action = size_action;

	ev->host->add_finding(ev->result, "av", 0, "skipped:%s", why);
	if (strcmp(action, "reject") == 0) {
		ev->host->set_reply(ev->result, "552", "5.3.4",
				    "Message too large or complex to scan for viruses");
		return MXP_REJECT;
	}
	if (strcmp(action, "tempfail") == 0) {
		ev->host->set_reply(ev->result, "452", "4.3.4",
				    "Message too large or complex to scan now");
		return MXP_TEMPFAIL;
	}
	add_status(ev, "Unscanned (limits)", engine);
	return MXP_TAG;
}

/* act_on_infected - the policy's action for a virus */
static enum mxp_verdict
act_on_infected(struct mxp_event *ev, const char *virname, const char *engine)
{
	const struct av_instance *inst = ev->instance;
	const char *action = strictest_action(ev);
	char text[300], status[300];

	ev->host->add_finding(ev->result, "av", 0, "infected:%s", virname);
	reply_text(inst, virname, text, sizeof(text));
	if (strcmp(action, "reject") == 0) {
		ev->host->set_reply(ev->result, "554", "5.7.1", "%s", text);
		return MXP_REJECT;
	}
	if (strcmp(action, "tempfail") == 0) {
		ev->host->set_reply(ev->result, "451", "4.7.1", "%s", text);
		return MXP_TEMPFAIL;
	}
	if (strcmp(action, "discard") == 0)
		return MXP_DISCARD;
	snprintf(status, sizeof(status), "Infected (%s)", virname);
	add_status(ev, status, engine);
	if (strcmp(action, "quarantine") == 0) {
		snprintf(status, sizeof(status), "virus %s", virname);
		ev->host->set_quarantine(ev->result, status);
		return MXP_QUARANTINE;
	}
	return MXP_TAG;
}

/*
 * trust_peer_scan - a peer of the MX map relays a message whose stamp
 * verified with our policy: it was scanned with the same signatures and
 * settings, so unless relay_rescan says otherwise its result stands.
 */
static bool
trust_peer_scan(struct mxp_event *ev)
{
	const struct av_instance *inst = ev->instance;
	const struct mxp_relay *relay = ev->msg->relay;
	const char *peer_av;
	char scanned[300];

	if (relay == NULL || !relay->verified || inst->host->cfg_bool(inst->cfg, "relay_rescan"))
		return false;
	peer_av = ev->host->peer_finding(ev, "av");
	/*
	 * Only a finished scan stands: clean or infected.  A peer that failed,
	 * had no av, or stopped at a limit (which may be one of load, like the
	 * scan time) leaves the scan to us.
	 */
	if (peer_av == NULL ||
	    (strcmp(peer_av, "clean") != 0 && strncmp(peer_av, "infected:", 9) != 0))
		return false;
	if (strcmp(peer_av, "clean") == 0) {
		snprintf(scanned, sizeof(scanned),
			 "mxparity av on %s (verified stamp, not scanned on %s)", relay->stamp_host,
			 ev->conn->own_host);
		ev->host->add_header(ev->result, "X-Virus-Scanned", scanned);
		ev->host->add_header(ev->result, "X-Virus-Status", "Clean");
	}
	return true;
}

/*
 * act_on_peer - what the peer found gets our policy's action, as if we
 * had found it: a peer's infected is rejected here when on_infected says
 * so, not merely tagged.
 */
static enum mxp_verdict
act_on_peer(struct mxp_event *ev)
{
	const char *peer_av = ev->host->peer_finding(ev, "av");
	enum mxp_verdict v = MXP_CONTINUE;

	if (strncmp(peer_av, "infected:", 9) == 0)
		v = act_on_infected(ev, peer_av + 9, NULL);
	ev->host->add_finding(ev->result, "av", MXP_FINDING_FROM_PEER, "%s", peer_av);
	return v;
}

static enum mxp_verdict
av_eom(struct mxp_event *ev)
{
	struct av_instance *inst = ev->instance;
	struct av_message *m = ev->msg_state;
	/* A backend that says nothing has failed: never clean by default. */
	struct av_scan out = { .outcome = AV_FAILED, .name = "no-result" };

	if (trust_peer_scan(ev))
		return act_on_peer(ev);
	if (m->spool_failed) {
		ev->host->log(LOG_ERR, "av: %s", m->spool_error);
		ev->host->add_finding(ev->result, "av", 0, "error:spool");
		return MXP_ERROR;
	}
	if (m->over_limit)
		return act_on_limits(ev, "size", true, NULL);
	inst->backend->scan(inst->state, ev, &m->spool, &out);
	switch (out.outcome) {
	case AV_CLEAN:
		ev->host->add_finding(ev->result, "av", 0, "clean");
		add_status(ev, "Clean", out.engine);
		return MXP_CONTINUE;
	case AV_INFECTED: return act_on_infected(ev, out.name, out.engine);
	case AV_LIMITS: return act_on_limits(ev, out.name, out.size_limit, out.engine);
	case AV_FAILED: break;
	}
	ev->host->add_finding(ev->result, "av", 0, "error:%s", out.name);
	return MXP_ERROR; /* on_error */
}

static const struct mxp_module av_module = {
	MXP_MODULE_ABI_VERSION,
	.name = "av",
	.description = "virus scanning with libclamav in process or on clamd servers",
	.options = av_options,
	.init = av_init,
	.destroy = av_destroy,
	.msg_begin = av_msg_begin,
	.msg_end = av_msg_end,
	.header = av_header,
	.eoh = av_eoh,
	.body = av_body,
	.eom = av_eom,
	.describe = av_describe,
};

MXP_MODULE_DEFINE(av_module);
