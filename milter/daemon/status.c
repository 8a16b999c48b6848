/*
 * status.c - the facts `mxparity status` shows.  Reloads run on the control
 * thread and the status requests on the control socket's thread, so the
 * little state kept here is under a lock.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/status.h"
#include "policy/policy.h"
#include "util/counters.h"

static pthread_mutex_t status_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t started, policy_loaded_at, last_reload_at;
static struct timespec started_mono; /* uptime: the wall clock may step */
static char *policy_path;
static char *last_reload_error; /* NULL after a successful reload */
static unsigned reloads_ok, reloads_failed;

/* iso_time - UTC, to the second */
static void
iso_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL)
		snprintf(buf, len, "never");
	else
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
mxp_status_started(const char *path)
{
	pthread_mutex_lock(&status_lock);
	started = time(NULL);
	clock_gettime(CLOCK_MONOTONIC, &started_mono);
	g_free(policy_path);
	policy_path = g_strdup(path);
	pthread_mutex_unlock(&status_lock);
}

void
mxp_status_policy_loaded(bool by_reload)
{
	pthread_mutex_lock(&status_lock);
	policy_loaded_at = time(NULL);
	if (by_reload) {
		last_reload_at = policy_loaded_at;
		reloads_ok++;
		g_free(last_reload_error);
		last_reload_error = NULL;
	}
	pthread_mutex_unlock(&status_lock);
}

void
mxp_status_reload_failed(const char *why)
{
	pthread_mutex_lock(&status_lock);
	last_reload_at = time(NULL);
	reloads_failed++;
	g_free(last_reload_error);
	last_reload_error = g_strdup(why);
	pthread_mutex_unlock(&status_lock);
}

/* append_value - name=value with the value on one line: control characters become spaces */
static void
append_value(GString *out, const char *name, const char *value)
{
	g_string_append_printf(out, "%s=", name);
	for (const char *c = value; *c != '\0'; c++)
		g_string_append_c(out, (unsigned char)*c < 0x20 || *c == 0x7f ? ' ' : *c);
	g_string_append_c(out, '\n');
}

/* append_modules - one module.NAME=DETAILS line per module that describes itself */
static void
append_modules(GString *out, const struct mxp_policy *pol)
{
	for (size_t i = 0; i < pol->nmodules; i++) {
		char what[512] = "", name[64];

		if (pol->modules[i].mod->describe != NULL)
			pol->modules[i].mod->describe(pol->modules[i].instance, what, sizeof(what));
		snprintf(name, sizeof(name), "module.%s", pol->modules[i].mod->name);
		append_value(out, name, what[0] != '\0' ? what : "loaded");
	}
}

/* append_counters - counter.NAME=N from the counters line */
static void
append_counters(GString *out)
{
	char line[1024];
	char **words;

	mxp_counters_format(line, sizeof(line));
	words = g_strsplit(line, " ", -1);
	for (char **w = words; *w != NULL; w++)
		if (strchr(*w, '=') != NULL)
			g_string_append_printf(out, "counter.%s\n", *w);
	g_strfreev(words);
}

GString *
mxp_status_text(void)
{
	GString *out = g_string_new(NULL);
	struct mxp_policy *pol = mxp_policy_acquire();
	char when[32], keys[256], disk[1100];
	struct timespec mono;

	g_string_append_printf(out, "program=mxparityd\nversion=%s\npid=%ld\n", PACKAGE_VERSION,
			       (long)getpid());
	pthread_mutex_lock(&status_lock);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	g_string_append_printf(out, "uptime_seconds=%lld\n",
			       (long long)(mono.tv_sec - started_mono.tv_sec));
	append_value(out, "policy_file", policy_path != NULL ? policy_path : "");
	iso_time(policy_loaded_at, when, sizeof(when));
	g_string_append_printf(out, "policy_loaded_at=%s\n", when);
	iso_time(last_reload_at, when, sizeof(when));
	g_string_append_printf(out, "last_reload_at=%s\n", when);
	if (last_reload_at == 0)
		g_string_append(out, "last_reload=none\n");
	else if (last_reload_error == NULL)
		g_string_append(out, "last_reload=ok\n");
	else
		append_value(out, "last_reload", last_reload_error);
	g_string_append_printf(out, "reloads_ok=%u\nreloads_failed=%u\n", reloads_ok,
			       reloads_failed);
	pthread_mutex_unlock(&status_lock);
	if (pol != NULL) {
		append_value(out, "policy_version", pol->version);
		g_string_append_printf(out, "policy_digest=sha256:%s\n", pol->digest);
		mxp_policy_key_ids(pol, keys, sizeof(keys));
		append_value(out, "policy_keys", keys);
		append_value(out, "host", pol->self->name);
		append_value(out, "tier", pol->self->tier);
		mxp_policy_sources_changed(pol, disk, sizeof(disk));
		append_value(out, "policy_on_disk", disk);
		append_modules(out, pol);
		mxp_policy_unref(pol);
	}
	append_counters(out);
	return out;
}
