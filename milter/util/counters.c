/*
 * counters.c - lock-free counters, read by the periodic counters line.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>

#include "util/counters.h"

static atomic_ulong counters[MXP_CNT_MAX];

static const char *const counter_names[MXP_CNT_MAX] = {
	[MXP_CNT_CONNECTIONS] = "connections",
	[MXP_CNT_MESSAGES] = "messages",
	[MXP_CNT_ACCEPT] = "accept",
	[MXP_CNT_TAG] = "tag",
	[MXP_CNT_QUARANTINE] = "quarantine",
	[MXP_CNT_TEMPFAIL] = "tempfail",
	[MXP_CNT_REJECT] = "reject",
	[MXP_CNT_DISCARD] = "discard",
	[MXP_CNT_RCPT_REJECTED] = "rcpt_rejected",
	[MXP_CNT_MODULE_ERRORS] = "module_errors",
	[MXP_CNT_TRUSTED] = "trusted",
	[MXP_CNT_RELAY_VERIFIED] = "relay_verified",
	[MXP_CNT_UNFILTERED_RELAY] = "unfiltered_relay",
	[MXP_CNT_DRIFT] = "drift",
	[MXP_CNT_STAMP_STALE] = "stamp_stale",
	[MXP_CNT_STAMP_REPLAYED] = "stamp_replayed",
	[MXP_CNT_REFUSED_BUSY] = "refused_busy",
	[MXP_CNT_STAMP_MISSING] = "stamp_missing",
	[MXP_CNT_STAMP_BAD_MAC] = "stamp_bad_mac",
	[MXP_CNT_STAMP_UNKNOWN_KEY] = "stamp_unknown_key",
	[MXP_CNT_STAMP_OTHER] = "stamp_other",
};

void
mxp_counter_add(enum mxp_counter c, unsigned long n)
{
	atomic_fetch_add_explicit(&counters[c], n, memory_order_relaxed);
}

/* mxp_counter_action - one final verdict */
void
mxp_counter_action(enum mxp_verdict v)
{
	switch (v) {
	case MXP_TAG: mxp_counter_add(MXP_CNT_TAG, 1); break;
	case MXP_QUARANTINE: mxp_counter_add(MXP_CNT_QUARANTINE, 1); break;
	case MXP_TEMPFAIL:
	case MXP_ERROR: mxp_counter_add(MXP_CNT_TEMPFAIL, 1); break;
	case MXP_REJECT: mxp_counter_add(MXP_CNT_REJECT, 1); break;
	case MXP_DISCARD: mxp_counter_add(MXP_CNT_DISCARD, 1); break;
	default: mxp_counter_add(MXP_CNT_ACCEPT, 1); break;
	}
}

/* mxp_counters_format - every counter as name=value */
void
mxp_counters_format(char *buf, size_t len)
{
	size_t off = (size_t)snprintf(buf, len, "counters:");

	for (int i = 0; i < MXP_CNT_MAX && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, " %s=%lu", counter_names[i],
					atomic_load_explicit(&counters[i], memory_order_relaxed));
}
