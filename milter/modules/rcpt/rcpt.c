/*
 * rcpt.c - the rcpt module: recipient validation shared by every tier.
 *
 * A backup MX that accepts mail for unknown users must later bounce it,
 * usually to a forged sender (backscatter).  With one recipient list in
 * the shared policy, every tier refuses unknown users at RCPT time.
 *
 * recipients_file: one address a line, "@domain" to accept a whole
 * domain, "#" comments.  The list is read into a hash set when the policy
 * loads, so a reload re-reads it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <mxparity/module.h>

#include "rcptlist.h"

struct rcpt_instance {
	const struct mxp_host *host;
	const struct mxp_config *cfg;
	GHashTable *known;   /* lower-case "user@domain" and "@domain" */
	GHashTable *domains; /* lower-case domains whose users are checked */
	char *delimiter;     /* recipient_delimiter characters, "" for none */
};

struct rcpt_message {
	unsigned unknown; /* recipients refused this message */
};

static const char *const on_unknown_words[] = { "reject", "tempfail", "accept", NULL };

static const struct mxp_option rcpt_options[] = {
	{ .name = "recipients_file", .type = MXP_OPT_FILE, .help = "the list of valid recipients" },
	{ .name = "domains",
	  .type = MXP_OPT_LIST,
	  .help = "domains to check; empty means every domain named in the file" },
	{ .name = "on_unknown",
	  .type = MXP_OPT_CHOICE,
	  .def = "reject",
	  .choices = on_unknown_words,
	  .help = "reject (550 5.1.1), tempfail (450 4.1.1) or accept an unknown recipient",
	  .flags = MXP_OPTF_PER_DOMAIN },
	{ .name = "recipient_delimiter",
	  .type = MXP_OPT_STRING,
	  .def = "",
	  .help = "characters that start an address extension, as in Postfix (e.g. \"+\")" },
	{ .name = NULL },
};

/* load_list - read the file into inst->known; err names file:line */
static int
load_list(struct rcpt_instance *inst, const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	int rc;

	if (fp == NULL) {
		snprintf(err, errlen, "recipients_file %s: %s", path, strerror(errno));
		return -1;
	}
	rc = rcpt_list_read(inst->known, fp, path, err, errlen);
	fclose(fp);
	return rc;
}

/* add_file_domains - with no `domains` option, check what the file names */
static void
add_file_domains(struct rcpt_instance *inst)
{
	GHashTableIter it;
	gpointer key;

	g_hash_table_iter_init(&it, inst->known);
	while (g_hash_table_iter_next(&it, &key, NULL))
		g_hash_table_add(inst->domains, g_strdup(strrchr(key, '@') + 1));
}

static void rcpt_destroy(void *instance);

static int
rcpt_init(const struct mxp_host *host, const struct mxp_config *cfg, void **instance_r, char *err,
	  size_t errlen)
{
	struct rcpt_instance *inst = g_new0(struct rcpt_instance, 1);
	const char *path = host->cfg_string(cfg, "recipients_file");
	size_t ndomains = host->cfg_list_count(cfg, "domains");

	inst->host = host;
	inst->cfg = cfg;
	inst->known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	inst->domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	inst->delimiter = g_strdup(host->cfg_string(cfg, "recipient_delimiter"));
	if (path == NULL) {
		snprintf(err, errlen, "recipients_file is required");
		goto fail;
	}
	if (load_list(inst, path, err, errlen) < 0)
		goto fail;
	for (size_t i = 0; i < ndomains; i++)
		g_hash_table_add(inst->domains,
				 g_ascii_strdown(host->cfg_list_item(cfg, "domains", i), -1));
	if (ndomains == 0)
		add_file_domains(inst);
	host->log(LOG_INFO, "rcpt: %u entries for %u domains from %s",
		  g_hash_table_size(inst->known), g_hash_table_size(inst->domains), path);
	*instance_r = inst;
	return 0;
fail:
	rcpt_destroy(inst);
	return -1;
}

static void
rcpt_destroy(void *instance)
{
	struct rcpt_instance *inst = instance;

	g_hash_table_destroy(inst->known);
	g_hash_table_destroy(inst->domains);
	g_free(inst->delimiter);
	g_free(inst);
}

static int
rcpt_msg_begin(struct mxp_event *ev, void **msg_state_r)
{
	(void)ev;
	*msg_state_r = g_new0(struct rcpt_message, 1);
	return 0;
}

static void
rcpt_msg_end(struct mxp_event *ev, bool aborted)
{
	(void)aborted;
	g_free(ev->msg_state);
}

static enum mxp_verdict
rcpt_rcpt(struct mxp_event *ev, const char *rcpt)
{
	const struct rcpt_instance *inst = ev->instance;
	struct rcpt_message *msg = ev->msg_state;
	const struct mxp_config *cfg;
	const char *at = strrchr(rcpt, '@');
	const char *action;
	char *addr;
	bool known;

	/* Bare "postmaster" (RFC 5321 4.5.1) and other local forms are not ours to judge. */
	if (at == NULL || strlen(rcpt) > RCPT_MAX_ADDRESS)
		return MXP_CONTINUE;
	addr = g_ascii_strdown(rcpt, -1);
	if (!g_hash_table_contains(inst->domains, addr + (at - rcpt) + 1)) {
		g_free(addr);
		return MXP_CONTINUE;
	}
	cfg = ev->host->cfg_for_domain(inst->cfg, strrchr(addr, '@') + 1);
	known = rcpt_list_knows(inst->known, inst->delimiter, addr);
	g_free(addr);
	if (known)
		return MXP_CONTINUE;
	msg->unknown++;
	action = ev->host->cfg_string(cfg, "on_unknown");
	if (strcmp(action, "accept") == 0) {
		ev->host->log(LOG_NOTICE, "rcpt: unknown recipient <%s> accepted by policy", rcpt);
		return MXP_CONTINUE;
	}
	if (strcmp(action, "tempfail") == 0) {
		ev->host->set_reply(ev->result, "450", "4.1.1",
				    "<%s>: Recipient address rejected: User unknown", rcpt);
		return MXP_TEMPFAIL;
	}
	ev->host->set_reply(ev->result, "550", "5.1.1",
			    "<%s>: Recipient address rejected: User unknown", rcpt);
	return MXP_REJECT;
}

static enum mxp_verdict
rcpt_eom(struct mxp_event *ev)
{
	const struct rcpt_message *msg = ev->msg_state;

	if (msg->unknown > 0)
		ev->host->add_finding(ev->result, "rcpt", 0, "unknown:%u", msg->unknown);
	else
		ev->host->add_finding(ev->result, "rcpt", 0, "ok");
	return MXP_CONTINUE;
}

static const struct mxp_module rcpt_module = {
	MXP_MODULE_ABI_VERSION,
	.name = "rcpt",
	.description = "recipient validation against a shared list",
	.options = rcpt_options,
	.init = rcpt_init,
	.destroy = rcpt_destroy,
	.msg_begin = rcpt_msg_begin,
	.msg_end = rcpt_msg_end,
	.rcpt = rcpt_rcpt,
	.eom = rcpt_eom,
};

MXP_MODULE_DEFINE(rcpt_module);
