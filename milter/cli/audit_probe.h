/*
 * audit_probe.h - `mxparity audit --probe`: the same SMTP test mail sent
 * to every MX, each probe in a transaction of its own, and the replies kept
 * side by side.  Nothing a well-behaved MX delivers: the EICAR probe must be
 * refused, the clean one stops before DATA.
 */
#ifndef MXP_AUDIT_PROBE_H
#define MXP_AUDIT_PROBE_H

#include <stdbool.h>
#include <time.h>

/* One SMTP reply: its code, enhanced code and text (first line). */
struct audit_reply {
	int code;	/* 0: none (connection failed or closed) */
	char xcode[16]; /* "5.1.1", or "" */
	char text[256];
	char stage[8]; /* where it came: CONNECT, EHLO, MAIL, RCPT, DATA, EOM */
};

enum audit_probe_kind {
	PROBE_UNKNOWN_RCPT, /* must be refused at RCPT */
	PROBE_EICAR,	    /* must be refused at the end of DATA */
	PROBE_SPF_FAIL,	    /* must be refused at MAIL or RCPT (DATA is never sent) */
	PROBE_CLEAN,	    /* must be accepted up to RCPT, then RSET */
	PROBE_COUNT
};

/* What was asked of the probes. */
struct audit_probe_plan {
	const char *helo;
	const char *sender;
	const char *known_rcpt;
	const char *unknown_rcpt;
	const char *spf_fail_sender; /* NULL: that probe is skipped */
	unsigned port;
	unsigned timeout_s; /* each network step */
};

/* What one MX answered. */
struct audit_probe_result {
	char address[64];
	bool connected;
	char connect_error[160];
	struct audit_reply banner, ehlo;
	char banner_name[256], ehlo_name[256]; /* the names they announce */
	bool starttls;			       /* offered in the EHLO reply */
	bool tls_ok;			       /* the handshake succeeded */
	char tls_error[160];
	char tls_names[512];  /* the certificate's DNS names, comma-separated */
	time_t tls_not_after; /* 0 when unknown */
	bool ran[PROBE_COUNT];
	struct audit_reply probe[PROBE_COUNT];
};

/* audit_probe_run - connect to address, look at it, and run every probe of plan */
void audit_probe_run(const char *address, const char *mx_name, const struct audit_probe_plan *plan,
		     struct audit_probe_result *r);
/*
 * audit_probe_refused - did probe k get a refusal (4xx or 5xx) where the check
 * it tests is made: RCPT for the unknown recipient, MAIL or RCPT for the SPF
 * fail, the end of DATA for EICAR; a refusal anywhere else tested nothing.
 */
bool audit_probe_refused(const struct audit_probe_result *r, enum audit_probe_kind k);
/* audit_probe_accepted - did probe k get a 2xx (no reply is neither) */
bool audit_probe_accepted(const struct audit_probe_result *r, enum audit_probe_kind k);
/* audit_probe_untested - probe k ran but was refused before what it tests */
bool audit_probe_untested(const struct audit_probe_result *r, enum audit_probe_kind k);
/* audit_probe_name - "unknown_recipient", "eicar", "spf_fail", "clean" */
const char *audit_probe_name(enum audit_probe_kind k);

#endif
