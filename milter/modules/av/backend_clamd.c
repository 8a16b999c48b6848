/*
 * backend_clamd.c - the av module's scans on a pool of clamd servers
 * (backend = clamd): each scan is one zINSTREAM on a connection of its
 * own, sent to the next live server (clamd_pool.c).  A server that fails
 * at any step (connect, the stream, the reply, a reply that is not
 * clamd's) does not end the scan: it is tried again on the next server,
 * within the message's scan_budget.  Only when every server has failed,
 * or the budget is spent, is the result an error (on_error).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <mxparity/module.h>

#include "backend.h"
#include "clamd_client.h"
#include "clamd_pool.h"

/* Stream chunks: clamd reads up to StreamMaxLength in any chunking. */
#define CHUNK (64 * 1024)
/* How long a version or ping question may take at start-up and in mxparity check. */
#define ASK_TIMEOUT 3000

struct cd_state {
	const struct mxp_host *host;
	size_t n;
	struct clamd_addr addrs[CLAMD_POOL_MAX_SERVERS];
	char versions[CLAMD_POOL_MAX_SERVERS][96]; /* zVERSION at start-up, "" if none */
	struct clamd_pool *pool;
	int64_t budget, step; /* ms: the whole scan, one server's attempt */
	int64_t fail_window, revive;
	unsigned fail_count;
};

/* engine_of - "ClamAV 1.4.6" out of "ClamAV 1.4.6/27000/Tue Dec  1 ..." */
static void
engine_of(const char *version, char *buf, size_t len)
{
	size_t n = strcspn(version, "/");

	if (strncmp(version, "ClamAV ", 7) != 0 || n <= 7 || n >= len) {
		snprintf(buf, len, "clamd");
		return;
	}
	memcpy(buf, version, n);
	buf[n] = '\0';
}

/* ask_versions - zVERSION of every server; a server that does not answer is logged, not fatal */
static unsigned
ask_versions(struct cd_state *cd)
{
	unsigned answered = 0;

	for (size_t i = 0; i < cd->n; i++) {
		char err[300];

		if (clamd_command(&cd->addrs[i], "zVERSION", clamd_now_ms() + ASK_TIMEOUT,
				  cd->versions[i], sizeof(cd->versions[i]), err,
				  sizeof(err)) == 0 &&
		    strncmp(cd->versions[i], "ClamAV ", 7) == 0) {
			answered++;
			cd->host->log(LOG_INFO, "av: clamd %s: %s", cd->addrs[i].text,
				      cd->versions[i]);
			continue;
		}
		if (cd->versions[i][0] != '\0')
			snprintf(err, sizeof(err), "%s: not a version: %s", cd->addrs[i].text,
				 cd->versions[i]);
		cd->versions[i][0] = '\0';
		cd->host->log(LOG_WARNING,
			      "av: clamd %s does not answer (%s); scans go to the other servers, "
			      "and tempfail (on_error) while none answers",
			      cd->addrs[i].text, err);
	}
	return answered;
}

static void cd_destroy(void *state);

static int
cd_init(const struct mxp_host *host, const struct mxp_config *cfg, void **state_r, char *err,
	size_t errlen)
{
	struct cd_state *cd = g_new0(struct cd_state, 1);
	struct clamd_pool_settings ps;
	long long budget = host->cfg_int(cfg, "scan_budget"),
		  step = host->cfg_int(cfg, "server_timeout"),
		  count = host->cfg_int(cfg, "server_fail_count"),
		  window = host->cfg_int(cfg, "server_fail_window"),
		  revive = host->cfg_int(cfg, "server_revive"),
		  per_host = host->cfg_int(cfg, "max_connections_per_server");

	cd->host = host;
	cd->n = host->cfg_list_count(cfg, "servers");
	if (cd->n == 0 || cd->n > CLAMD_POOL_MAX_SERVERS) {
		snprintf(err, errlen,
			 "backend = clamd needs servers = {\"unix:/PATH\" or \"tcp:ADDRESS:PORT\", "
			 "...} (1 to %d)",
			 CLAMD_POOL_MAX_SERVERS);
		goto fail;
	}
	for (size_t i = 0; i < cd->n; i++)
		if (clamd_addr_parse(host->cfg_list_item(cfg, "servers", i), &cd->addrs[i], err,
				     errlen) < 0)
			goto fail;
	if (budget < 1000 || step < 100 || count < 1 || count > CLAMD_POOL_MAX_FAIL_COUNT ||
	    window < 1 || revive < 1 || per_host < 0) {
		snprintf(err, errlen,
			 "scan_budget must be at least 1000 ms, server_timeout 100 ms, "
			 "server_fail_count 1..%d, server_fail_window and server_revive at least "
			 "1 s, max_connections_per_server not negative",
			 CLAMD_POOL_MAX_FAIL_COUNT);
		goto fail;
	}
	cd->budget = budget;
	cd->step = step;
	cd->fail_count = (unsigned)count;
	cd->fail_window = window * 1000;
	cd->revive = revive * 1000;
	ps = (struct clamd_pool_settings){ .fail_count = cd->fail_count,
					   .fail_window = cd->fail_window,
					   .revive = cd->revive,
					   .max_per_host = (unsigned)per_host };
	cd->pool = clamd_pool_new(cd->n, &ps);
	if (cd->pool == NULL) {
		snprintf(err, errlen, "cannot set up the clamd pool");
		goto fail;
	}
	/* Both the daemon and mxparity check ask: a server that is down is a warning. */
	ask_versions(cd);
	*state_r = cd;
	return 0;
fail:
	cd_destroy(cd);
	return -1;
}

static void
cd_destroy(void *state)
{
	struct cd_state *cd = state;

	if (cd == NULL)
		return;
	clamd_pool_free(cd->pool);
	g_free(cd);
}

static void
cd_describe(void *state, char *buf, size_t len)
{
	struct cd_state *cd = state;
	GString *s = g_string_new("av=clamd:");

	for (size_t i = 0; i < cd->n; i++) {
		char engine[64];
		const char *v = cd->versions[i], *slash = strchr(v, '/');

		engine_of(v, engine, sizeof(engine));
		if (i > 0)
			g_string_append_c(s, ',');
		/* "ClamAV 1.4.6/27000/date": the engine and the database version, if any */
		if (v[0] == '\0')
			g_string_append_printf(s, "%s=no-answer", cd->addrs[i].text);
		else if (strncmp(engine, "ClamAV ", 7) != 0)
			g_string_append_printf(s, "%s=%s", cd->addrs[i].text, engine);
		else if (slash == NULL)
			g_string_append_printf(s, "%s=clamav-%s", cd->addrs[i].text, engine + 7);
		else
			g_string_append_printf(s, "%s=clamav-%s/db-%.*s", cd->addrs[i].text,
					       engine + 7, (int)strcspn(slash + 1, "/"), slash + 1);
	}
	snprintf(buf, len, "%s", s->str);
	g_string_free(s, TRUE);
}

static void
cd_engine(void *state, char *buf, size_t len)
{
	struct cd_state *cd = state;

	for (size_t i = 0; i < cd->n; i++)
		if (cd->versions[i][0] != '\0') {
			engine_of(cd->versions[i], buf, len);
			return;
		}
	snprintf(buf, len, "clamd");
}

/* alive - zPING answered PONG by the deadline */
static bool
alive(const struct cd_state *cd, int i, int64_t deadline, char *err, size_t errlen)
{
	char pong[16];
	int64_t d = clamd_now_ms() + ASK_TIMEOUT;

	if (clamd_command(&cd->addrs[i], "zPING", d < deadline ? d : deadline, pong, sizeof(pong),
			  err, errlen) < 0)
		return false;
	if (strcmp(pong, "PONG") == 0)
		return true;
	snprintf(err, errlen, "%s: answered \"%s\" to zPING", cd->addrs[i].text, pong);
	return false;
}

/* keepalive - while a server streams or scans */
static void
keepalive(void *arg)
{
	struct mxp_event *ev = arg;

	ev->host->progress(ev);
}

/* note - log what a result changed about server i */
static void
note(struct cd_state *cd, const struct mxp_event *ev, int i, enum clamd_transition t)
{
	if (t == CLAMD_WENT_DOWN)
		ev->host->log(LOG_WARNING,
			      "av: clamd %s marked down after %u failures within %lld s; tried "
			      "again in %lld s",
			      cd->addrs[i].text, cd->fail_count,
			      (long long)(cd->fail_window / 1000), (long long)(cd->revive / 1000));
	else if (t == CLAMD_CAME_BACK)
		ev->host->log(LOG_NOTICE, "av: clamd %s answers again", cd->addrs[i].text);
}

static void
cd_scan(void *state, struct mxp_event *ev, const struct av_spool *sp, struct av_scan *out)
{
	struct cd_state *cd = state;
	int64_t start = clamd_now_ms(), deadline = start + cd->budget;
	char last[400] = "every server is marked down until its server_revive";
	unsigned tried_count = 0;
	uint32_t tried = 0;
	int64_t last_progress = start;
	bool full = false, waited = false, probe = false;

	out->engine[0] = '\0';
	for (;;) {
		int64_t now = clamd_now_ms(), step_end;
		struct clamd_reply reply;
		char err[300];
		int i, rc;

		if (now >= deadline) {
			snprintf(last + strlen(last), sizeof(last) - strlen(last),
				 "; scan_budget of %lld ms spent", (long long)cd->budget);
			break;
		}
		i = clamd_pool_pick(cd->pool, now, tried, &full, &probe);
		if (i < 0 && full) {
			/* every untried server is busy or being probed: wait for one */
			struct timespec pause = { 0, 20 * 1000 * 1000 };

			if (now - last_progress >= 1000) {
				ev->host->progress(ev);
				last_progress = now;
			}
			if (!waited)
				snprintf(last, sizeof(last),
					 "every server was busy (max_connections_per_server) or "
					 "being probed");
			waited = true;
			nanosleep(&pause, NULL);
			continue;
		}
		if (i < 0)
			break;
		tried |= 1u << i;
		tried_count++;
		step_end = now + cd->step < deadline ? now + cd->step : deadline;
		err[0] = '\0';
		/* A down server's probe: is it alive at all, before the message goes there? */
		if (probe && !alive(cd, i, step_end, err, sizeof(err))) {
			snprintf(last, sizeof(last), "%s", err);
			note(cd, ev, i,
			     clamd_pool_result(cd->pool, i, false, true, clamd_now_ms()));
			continue;
		}
		rc = clamd_scan(&cd->addrs[i], sp, CHUNK, step_end, keepalive, ev, &reply, err,
				sizeof(err));
		if (rc == 0 && reply.verdict != CLAMD_ERROR) {
			note(cd, ev, i,
			     clamd_pool_result(cd->pool, i, true, probe, clamd_now_ms()));
			if (cd->versions[i][0] != '\0')
				engine_of(cd->versions[i], out->engine, sizeof(out->engine));
			switch (reply.verdict) {
			case CLAMD_CLEAN: av_scan_set(out, AV_CLEAN, "%s", ""); return;
			case CLAMD_FOUND: av_scan_set(out, AV_INFECTED, "%s", reply.name); return;
			default:
				av_scan_set(out, AV_LIMITS, "%s", reply.name);
				out->size_limit = strcmp(reply.name, "StreamMaxLength") == 0 ||
						  strcmp(reply.name, "MaxFileSize") == 0 ||
						  strcmp(reply.name, "MaxScanSize") == 0;
				return;
			}
		}
		/*
		 * clamd answered with an error of its own (this message's, maybe: it
		 * does not count against the server), or could not be used (it does):
		 * either way the next server tries.
		 */
		if (rc == 0)
			snprintf(err, sizeof(err), "%s: answered \"%s\"", cd->addrs[i].text,
				 reply.name);
		snprintf(last, sizeof(last), "%s", err);
		ev->host->log(LOG_WARNING, "av: clamd %s; trying the next server", err);
		note(cd, ev, i, clamd_pool_result(cd->pool, i, rc == 0, probe, clamd_now_ms()));
	}
	ev->host->log(LOG_ERR,
		      "av: no clamd server could scan the message (%u of %zu tried, %lld ms): %s",
		      tried_count, cd->n, (long long)(clamd_now_ms() - start), last);
	av_scan_set(out, AV_FAILED, "clamd");
}

const struct av_backend av_backend_clamd = {
	.name = "clamd",
	.init = cd_init,
	.destroy = cd_destroy,
	.describe = cd_describe,
	.engine = cd_engine,
	.scan = cd_scan,
};
