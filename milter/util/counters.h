/*
 * counters.h - process-wide message counters for the periodic log line.
 */
#ifndef MXP_COUNTERS_H
#define MXP_COUNTERS_H

#include <stddef.h>

#include <mxparity/module.h>

enum mxp_counter {
	MXP_CNT_CONNECTIONS,
	MXP_CNT_MESSAGES,
	MXP_CNT_ACCEPT,
	MXP_CNT_TAG,
	MXP_CNT_QUARANTINE,
	MXP_CNT_TEMPFAIL,
	MXP_CNT_REJECT,
	MXP_CNT_DISCARD,
	MXP_CNT_RCPT_REJECTED,
	MXP_CNT_MODULE_ERRORS,
	MXP_CNT_TRUSTED,
	MXP_CNT_RELAY_VERIFIED,	  /* relayed by a peer whose stamp verified */
	MXP_CNT_UNFILTERED_RELAY, /* relayed by a peer without a valid stamp */
	MXP_CNT_DRIFT,		  /* relayed by a peer running another policy */
	MXP_CNT_STAMP_STALE,	  /* a peer's stamp older than max_age */
	MXP_CNT_STAMP_REPLAYED, /* a peer's stamp made for another sender, recipients or headers */
	MXP_CNT_REFUSED_BUSY,	/* connections over mxparityd -N, refused at MAIL */
	/* Why a relay was unfiltered, apart (each is also in unfiltered_relay): */
	MXP_CNT_STAMP_MISSING,	   /* no stamp at all: the peer runs no mxparityd */
	MXP_CNT_STAMP_BAD_MAC,	   /* a stamp that does not verify: forged or damaged */
	MXP_CNT_STAMP_UNKNOWN_KEY, /* signed with a key we lack: the key files differ */
	MXP_CNT_STAMP_OTHER,	   /* any other reason (other host, body, old format, ...) */
	MXP_CNT_MAX
};

void mxp_counter_add(enum mxp_counter c, unsigned long n);
/* mxp_counter_action - count a final message verdict */
void mxp_counter_action(enum mxp_verdict v);
/* mxp_counters_format - "counters: connections=... " since start */
void mxp_counters_format(char *buf, size_t len);

#endif
