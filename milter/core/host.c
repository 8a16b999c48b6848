/*
 * host.c - binds struct mxp_host to the core's config, result, log and
 * DNS code.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "core/dns.h"
#include "core/host.h"
#include "util/log.h"
#include "policy/modcfg.h"
#include "core/result.h"

/* host_set_reply - varargs trampoline */
static void __attribute__((format(printf, 4, 5)))
host_set_reply(struct mxp_result *res, const char *rcode, const char *xcode, const char *fmt, ...)
{
	char text[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	mxp_result_set_reply(res, rcode, xcode, "%s", text);
}

/* host_add_finding - varargs trampoline */
static int __attribute__((format(printf, 4, 5)))
host_add_finding(struct mxp_result *res, const char *key, unsigned flags, const char *fmt, ...)
{
	char text[MXP_FINDING_VALUE_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return mxp_result_add_finding(res, key, flags, text);
}

/* host_peer_finding - the event's session knows the verified stamp */
static const char *
host_peer_finding(const struct mxp_event *ev, const char *key)
{
	const struct mxp_host_session *hs;

	if (ev == NULL || ev->core == NULL || key == NULL)
		return NULL;
	hs = ev->core;
	return hs->peer_finding(hs, key);
}

/* host_log - varargs trampoline */
static void __attribute__((format(printf, 2, 3))) host_log(int priority, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	mxp_log(priority, "%s", text);
}

static bool check_only;

void
mxp_host_set_checking(bool on)
{
	check_only = on;
}

/* host_checking - is this a policy check rather than a daemon or a scan */
static bool
host_checking(void)
{
	return check_only;
}

/* host_progress - the event's session knows how to reach the MTA */
static void
host_progress(struct mxp_event *ev)
{
	struct mxp_host_session *hs;

	if (ev == NULL || ev->core == NULL)
		return;
	hs = ev->core;
	hs->progress(hs);
}

const struct mxp_host mxp_host_api = {
	.abi_major = MXP_MODULE_ABI_MAJOR,
	.abi_minor = MXP_MODULE_ABI_MINOR,
	.cfg_string = mxp_cfg_string,
	.cfg_int = mxp_cfg_int,
	.cfg_bool = mxp_cfg_bool,
	.cfg_list_count = mxp_cfg_list_count,
	.cfg_list_item = mxp_cfg_list_item,
	.cfg_for_domain = mxp_cfg_for_domain,
	.set_reply = host_set_reply,
	.add_finding = host_add_finding,
	.peer_finding = host_peer_finding,
	.add_auth_result = mxp_result_add_auth_result,
	.add_header = mxp_result_add_header,
	.remove_header = mxp_result_remove_header,
	.set_quarantine = mxp_result_set_quarantine,
	.log = host_log,
	.progress = host_progress,
	.checking = host_checking,
	.dns_get = mxp_dns_get,
	.dns_put = mxp_dns_put,
	.dns_query = mxp_dns_query,
	.dns_answer_free = mxp_dns_answer_free,
};
