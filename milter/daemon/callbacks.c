/*
 * callbacks.c - thin libmilter handlers.  They turn milter events into
 * pipeline calls and pipeline outcomes into SMTP replies and header
 * edits; no policy logic lives here.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmilter/mfapi.h>

#include "daemon/callbacks.h"
#include "daemon/negotiate.h"
#include "util/counters.h"
#include "util/log.h"
#include "core/pipeline.h"
#include "policy/policy.h"

/* The actions libmilter may use without asking (negotiate.c narrows them). */
#define MILTER_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST)

static atomic_int active_connections;
static atomic_bool draining;
static atomic_int max_connections;   /* 0: no bound */
static atomic_llong busy_logged_at;  /* when the cap was last logged (s) */
static atomic_bool told_no_symlist;  /* "cannot ask for macros" logged */
static atomic_bool told_no_queue_id; /* "no macro i" logged */
/* The private data of a connection over the cap: it has no session. */
static char busy_marker;

int
mxp_callbacks_active(void)
{
	return atomic_load(&active_connections);
}

/*
 * mxp_callbacks_drain - refuse new connections with a tempfail and let the
 * open ones finish.  libmilter's own smfi_stop stops serving open sessions
 * too, so the daemon drains first and stops libmilter afterwards.
 */
void
mxp_callbacks_drain(void)
{
	atomic_store(&draining, true);
}

void
mxp_callbacks_set_max(int max)
{
	atomic_store(&max_connections, max);
}

/* priv_session - the connection's session, or NULL (none, or over the cap) */
static struct mxp_session *
priv_session(SMFICTX *ctx)
{
	void *p = smfi_getpriv(ctx);

	return p == &busy_marker ? NULL : p;
}

/* session_of - the connection's session, with the log prefix brought up to date */
static struct mxp_session *
session_of(SMFICTX *ctx)
{
	struct mxp_session *s = priv_session(ctx);
	const char *qid;

	if (s == NULL)
		return NULL;
	qid = smfi_getsymval(ctx, "i");
	if (qid != NULL)
		mxp_session_set_queue_id(s, qid);
	mxp_log_set_queue_id(mxp_session_queue_id(s));
	return s;
}

/* set_reply - smfi_setreply treats % as a format character */
static void
set_reply(SMFICTX *ctx, const struct mxp_outcome *out)
{
	char text[sizeof(out->text) * 2];
	size_t o = 0;

	for (const char *p = out->text; *p != '\0' && o + 2 < sizeof(text); p++) {
		if (*p == '%')
			text[o++] = '%';
		text[o++] = *p;
	}
	text[o] = '\0';
	if (out->rcode[0] != '\0' &&
	    smfi_setreply(ctx, (char *)out->rcode, out->xcode[0] ? (char *)out->xcode : NULL,
			  text) != MI_SUCCESS)
		mxp_log(LOG_WARNING, "MTA refused reply %s %s %s", out->rcode, out->xcode, text);
}

/* to_status - a pipeline outcome as a milter status */
static sfsistat
to_status(SMFICTX *ctx, const struct mxp_outcome *out)
{
	switch (out->verdict) {
	case MXP_TEMPFAIL: set_reply(ctx, out); return SMFIS_TEMPFAIL;
	case MXP_REJECT: set_reply(ctx, out); return SMFIS_REJECT;
	case MXP_DISCARD: return SMFIS_DISCARD;
	case MXP_ERROR: return SMFIS_TEMPFAIL;
	default: return SMFIS_CONTINUE;
	}
}

/* sockaddr_text - the client's address as text, "unknown" for none */
static void
sockaddr_text(const struct sockaddr *sa, char *buf, size_t len, int *family_r)
{
	*family_r = AF_UNSPEC;
	snprintf(buf, len, "unknown");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
			  (socklen_t)len);
		*family_r = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  buf, (socklen_t)len);
		*family_r = AF_INET6;
	}
}

/* without_session - no session was opened at connect: refuse at MAIL, saying why */
static sfsistat
without_session(SMFICTX *ctx)
{
	if (smfi_getpriv(ctx) == &busy_marker)
		smfi_setreply(ctx, "451", "4.3.2", "Mail filter busy, try again later");
	else if (atomic_load(&draining))
		smfi_setreply(ctx, "451", "4.3.2", "Mail filter restarting, try again later");
	else
		smfi_setreply(ctx, "451", "4.3.0", "Mail filter unavailable, try again later");
	return SMFIS_TEMPFAIL;
}

/* progress - a module is still working: keep the MTA from timing out */
static void
progress(void *arg)
{
	smfi_progress(arg);
}

/* log_once - a line about the MTA's configuration, the first time only */
static void
log_once(atomic_bool *told, int priority, const char *text)
{
	if (!atomic_exchange(told, true))
		mxp_log(priority, "%s", text);
}

static sfsistat
on_negotiate(SMFICTX *ctx, unsigned long actions, unsigned long steps, unsigned long f2,
	     unsigned long f3, unsigned long *actions_r, unsigned long *steps_r,
	     unsigned long *f2_r, unsigned long *f3_r)
{
	struct mxp_negotiation neg;
	char why[256];

	(void)f2;
	(void)f3;
	if (!mxp_negotiate(actions, steps, &neg, why, sizeof(why))) {
		mxp_log(LOG_ERR, "%s; refusing the milter connection", why);
		return SMFIS_REJECT;
	}
	/* Each list replaces the MTA's own for this milter only. */
	if (neg.ask_macros &&
	    (smfi_setsymlist(ctx, SMFIM_ENVFROM, MXP_MACROS_ENVFROM) != MI_SUCCESS ||
	     smfi_setsymlist(ctx, SMFIM_EOH, MXP_MACROS_EOH) != MI_SUCCESS ||
	     smfi_setsymlist(ctx, SMFIM_EOM, MXP_MACROS_EOM) != MI_SUCCESS))
		neg.ask_macros = false;
	if (!neg.ask_macros) {
		neg.actions &= ~(unsigned long)SMFIF_SETSYMLIST;
		log_once(&told_no_symlist, LOG_WARNING,
			 "the MTA cannot be asked for macros (no SMFIF_SETSYMLIST): it must send "
			 "i and {auth_authen} at MAIL and i at end of message by its own lists "
			 "(see mxparityd(8), MTAS); without {auth_authen} an authenticated "
			 "client is checked as any other");
	}
	*actions_r = neg.actions;
	/* libmilter has already set the steps we have no callback for */
	*steps_r |= neg.steps;
	*f2_r = *f3_r = 0;
	return SMFIS_CONTINUE;
}

/*
 * over_the_cap - take a connection slot, or say there is none: the
 * connection then gets 451 4.3.2 at MAIL, counted, and logged at most once
 * a second (a flood must not flood the log too).
 */
static bool
over_the_cap(SMFICTX *ctx)
{
	int max = atomic_load(&max_connections);
	long long now = (long long)time(NULL), last;

	if (atomic_fetch_add(&active_connections, 1) < max || max == 0)
		return false;
	atomic_fetch_sub(&active_connections, 1);
	mxp_counter_add(MXP_CNT_REFUSED_BUSY, 1);
	last = atomic_load(&busy_logged_at);
	if (last != now && atomic_compare_exchange_strong(&busy_logged_at, &last, now))
		mxp_log(LOG_WARNING,
			"connection limit %d reached: new connections get 451 4.3.2 (mxparityd -N)",
			max);
	smfi_setpriv(ctx, &busy_marker);
	return true;
}

static sfsistat
on_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	struct mxp_policy *pol = mxp_policy_acquire();
	struct mxp_session *s;
	struct mxp_outcome out;
	char addr[INET6_ADDRSTRLEN];
	int family;

	mxp_log_set_queue_id(NULL);
	if (atomic_load(&draining)) {
		mxp_policy_unref(pol);
		return SMFIS_NOREPLY; /* refused at MAIL */
	}
	if (pol == NULL) {
		mxp_log(LOG_ERR, "no policy loaded; refusing connection");
		return SMFIS_NOREPLY;
	}
	if (over_the_cap(ctx)) {
		mxp_policy_unref(pol);
		return SMFIS_NOREPLY;
	}
	sockaddr_text(hostaddr, addr, sizeof(addr), &family);
	s = mxp_session_new(pol, hostname, addr, family);
	mxp_policy_unref(pol);
	mxp_session_set_progress(s, progress, ctx);
	/* Counted (by over_the_cap) only with a session, so on_close can tell what to uncount. */
	if (smfi_setpriv(ctx, s) != MI_SUCCESS) {
		mxp_session_free(s);
		atomic_fetch_sub(&active_connections, 1);
		return SMFIS_NOREPLY;
	}
	mxp_session_connect(s, &out); /* a verdict is kept for MAIL */
	return SMFIS_NOREPLY;
}

static sfsistat
on_helo(SMFICTX *ctx, char *helo)
{
	struct mxp_session *s = session_of(ctx);
	struct mxp_outcome out;

	if (s != NULL)
		mxp_session_helo(s, helo, &out); /* a verdict is kept for MAIL */
	return SMFIS_NOREPLY;
}

static sfsistat
on_envfrom(SMFICTX *ctx, char **argv)
{
	struct mxp_session *s = priv_session(ctx);
	struct mxp_outcome out;

	if (s == NULL)
		return without_session(ctx);
	/* The new message's id, not the previous one's, on lines logged during MAIL. */
	mxp_log_set_queue_id(smfi_getsymval(ctx, "i") != NULL ? smfi_getsymval(ctx, "i")
							      : "NOQUEUE");
	mxp_session_mail(s, argv[0], smfi_getsymval(ctx, "{auth_authen}"), &out);
	session_of(ctx);
	return to_status(ctx, &out);
}

static sfsistat
on_envrcpt(SMFICTX *ctx, char **argv)
{
	struct mxp_session *s = session_of(ctx);
	struct mxp_outcome out;

	if (s == NULL)
		return without_session(ctx);
	mxp_session_rcpt(s, argv[0], &out);
	return to_status(ctx, &out);
}

static sfsistat
on_header(SMFICTX *ctx, char *name, char *value)
{
	struct mxp_session *s = session_of(ctx);
	struct mxp_outcome out;

	/* A verdict here is kept by the session and given at end of message. */
	if (s != NULL)
		mxp_session_header(s, name, value, &out);
	return SMFIS_NOREPLY;
}

static sfsistat
on_eoh(SMFICTX *ctx)
{
	struct mxp_session *s = session_of(ctx);
	struct mxp_outcome out;

	if (s != NULL)
		mxp_session_eoh(s, &out); /* a verdict is kept for end of message */
	return SMFIS_NOREPLY;
}

static sfsistat
on_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct mxp_session *s = session_of(ctx);
	struct mxp_outcome out;

	if (s != NULL)
		mxp_session_body(s, chunk, len, &out); /* a verdict is kept for end of message */
	return SMFIS_NOREPLY;
}

/* apply_edits - removals first (highest index first), then additions on top */
static int
apply_edits(SMFICTX *ctx, const struct mxp_final *fin)
{
	for (guint i = 0; i < fin->removals->len; i++) {
		const struct mxp_header_edit *e = g_ptr_array_index(fin->removals, i);

		if (smfi_chgheader(ctx, e->name, (int)e->index, NULL) != MI_SUCCESS)
			return -1;
	}
	/* Inserting each at the top in reverse keeps module order. */
	for (guint i = fin->additions->len; i > 0; i--) {
		const struct mxp_header_edit *e = g_ptr_array_index(fin->additions, i - 1);

		if (smfi_insheader(ctx, 0, e->name, e->value) != MI_SUCCESS)
			return -1;
	}
	if (fin->quarantine != NULL && fin->outcome.verdict == MXP_QUARANTINE &&
	    smfi_quarantine(ctx, (char *)fin->quarantine) != MI_SUCCESS)
		return -1;
	return 0;
}

static sfsistat
on_eom(SMFICTX *ctx)
{
	struct mxp_session *s = session_of(ctx);
	const struct mxp_final *fin;
	sfsistat status;

	if (s == NULL)
		return without_session(ctx);
	if (smfi_getsymval(ctx, "i") == NULL)
		log_once(&told_no_queue_id, LOG_WARNING,
			 "the MTA sent no queue id (macro i) by end of message: log lines say "
			 "NOQUEUE instead (see mxparityd(8), MTAS)");
	fin = mxp_session_eom(s);
	status = to_status(ctx, &fin->outcome);
	if (status == SMFIS_CONTINUE && fin->removals != NULL && apply_edits(ctx, fin) < 0) {
		/* The MTA would deliver the message without our headers: refuse instead. */
		mxp_log(LOG_ERR, "MTA refused a header change; deferring the message");
		smfi_setreply(ctx, "451", "4.3.0", "Temporary failure in mail filter");
		status = SMFIS_TEMPFAIL;
	}
	mxp_log(LOG_INFO, "%s%s", fin->summary,
		status == SMFIS_TEMPFAIL && fin->outcome.verdict < MXP_TEMPFAIL ? " (deferred)"
										: "");
	mxp_session_finish(s);
	return status;
}

static sfsistat
on_abort(SMFICTX *ctx)
{
	struct mxp_session *s = session_of(ctx);

	if (s != NULL)
		mxp_session_abort(s);
	return SMFIS_CONTINUE;
}

static sfsistat
on_close(SMFICTX *ctx)
{
	struct mxp_session *s = priv_session(ctx);

	if (smfi_getpriv(ctx) == &busy_marker)
		smfi_setpriv(ctx, NULL);
	if (s != NULL) {
		smfi_setpriv(ctx, NULL);
		mxp_session_free(s);
		atomic_fetch_sub(&active_connections, 1);
	}
	mxp_log_set_queue_id(NULL);
	return SMFIS_CONTINUE;
}

struct smfiDesc mxp_milter_desc = {
	.xxfi_name = "mxparityd",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = MILTER_ACTIONS,
	.xxfi_connect = on_connect,
	.xxfi_helo = on_helo,
	.xxfi_envfrom = on_envfrom,
	.xxfi_envrcpt = on_envrcpt,
	.xxfi_header = on_header,
	.xxfi_eoh = on_eoh,
	.xxfi_body = on_body,
	.xxfi_eom = on_eom,
	.xxfi_abort = on_abort,
	.xxfi_close = on_close,
	.xxfi_negotiate = on_negotiate,
	/* No xxfi_data: libmilter then asks the MTA not to send DATA at all. */
};
