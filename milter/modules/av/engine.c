/*
 * engine.c - libclamav engines and their reload.
 *
 * One compiled engine serves every scanning thread: a scan takes a
 * reference with cl_engine_addref and drops it with cl_engine_free, so
 * the last scan on an old engine frees it.  A watcher thread per slot
 * checks the database directory (cl_statchkdir) and rebuilds the engine
 * in the background:
 *   concurrent - build the new engine, then swap; peak RAM is two engines;
 *   blocking   - drop the old engine first, then build; peak RAM is one
 *                engine, and scans in between find no engine and get the
 *                module's on_error action (never a pass).
 * A database that fails to load leaves the old engine in place
 * (concurrent) and the log says why.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <clamav.h>
#include <glib.h>

#include "engine.h"

/* How far above the policy's size bounds the engine's sit (unzip cuts in 8 KiB steps). */
#define LIMIT_SLACK (1024 * 1024)

struct av_slot {
	char *key;	       /* the settings as text */
	struct av_settings st; /* strings owned below */
	char *database, *tmpdir;
	const struct mxp_host *host;
	unsigned users; /* instances holding the slot */

	pthread_mutex_t lock;
	pthread_cond_t wake;	  /* watcher: reload request or stop */
	pthread_cond_t slot_free; /* scans waiting for a slot */
	struct cl_engine *engine; /* current, or NULL */
	unsigned sigs;		  /* signatures in the current engine */
	unsigned db_version;
	time_t db_time; /* when the daily database was built, 0 when unknown */
	unsigned generation;
	unsigned scanning;
	bool reload_requested, stopping;
	struct cl_stat dbstat;
	bool dbstat_ok;
	pthread_t watcher;
	bool watcher_started;
};

static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static GPtrArray *slots;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static cl_error_t init_result;
static const struct mxp_host *log_host;
/* Errors libclamav logged on this thread: a scan with any is not clean. */
static _Thread_local unsigned thread_errors;

unsigned
av_engine_errors(void)
{
	return thread_errors;
}

void
av_engine_errors_reset(void)
{
	thread_errors = 0;
}

/* clamav_message - libclamav's warnings and errors go to our log, not stderr */
static void
clamav_message(enum cl_msg severity, const char *fullmsg, const char *msg, void *context)
{
	struct av_scan_limits *limits = context;

	(void)fullmsg;
	if (severity == CL_MSG_ERROR)
		thread_errors++;
	/* A bytecode signature that ran out of time did not finish looking: a limit. */
	if (limits != NULL && limits->hit == NULL && strstr(msg, "Bytecode") != NULL &&
	    strstr(msg, "failed to run") != NULL)
		limits->hit = "BytecodeTimeout";
	if (severity >= CL_MSG_WARN && log_host != NULL)
		log_host->log(severity == CL_MSG_ERROR ? LOG_ERR : LOG_WARNING, "libclamav: %.*s",
			      (int)strcspn(msg, "\n"), msg);
}

/* clamav_init - cl_init once per process, before any engine or thread */
static void
clamav_init(void)
{
	cl_set_clcb_msg(clamav_message);
	init_result = cl_init(CL_INIT_DEFAULT);
}

/* settings_key - equal keys can share an engine */
static char *
settings_key(const struct av_settings *st)
{
	return g_strdup_printf("%s|%s|%llu|%llu|%u|%u|%u|%d|%d|%u|%u", st->database, st->tmpdir,
			       (unsigned long long)st->max_scan_size,
			       (unsigned long long)st->max_file_size, st->max_recursion,
			       st->max_files, st->max_scan_time, st->pua, st->blocking,
			       st->check_interval, st->max_concurrent);
}

/*
 * inspect_layer - every file libclamav is about to scan (the message, each
 * part, each archive member), with its size as extracted.  libclamav cuts
 * some layers short without a limit alert (a zip member at MaxFileSize,
 * CAB and CHM members at MaxScanSize): the engine's own bounds are set a
 * little above the policy's, so any layer over the policy's bound is seen
 * here whole enough to tell, and becomes av=skipped, never av=clean.
 */
static cl_error_t
inspect_layer(int fd, const char *type, const char **ancestors, size_t parent_file_size,
	      const char *file_name, size_t file_size, const char *file_buffer,
	      uint32_t recursion_level, uint32_t layer_attributes, void *context)
{
	struct av_scan_limits *limits = context;

	(void)fd;
	(void)type;
	(void)ancestors;
	(void)parent_file_size;
	(void)file_name;
	(void)file_buffer;
	(void)recursion_level;
	if (limits == NULL)
		return CL_CLEAN;
	if (!(layer_attributes & LAYER_ATTRIBUTES_NORMALIZED))
		limits->scanned += file_size;
	if (limits->hit == NULL && limits->max_file_size > 0 && file_size > limits->max_file_size)
		limits->hit = "MaxFileSize";
	if (limits->hit == NULL && limits->max_decoded_size > 0 &&
	    limits->scanned > limits->max_decoded_size)
		limits->hit = "MaxScanSize";
	return CL_CLEAN;
}

/* engine_bound - a limit of the engine: the policy's plus slack, or 0 for none */
static long long
engine_bound(uint64_t policy, uint64_t plus)
{
	return policy == 0 ? 0 : (long long)(policy + plus + LIMIT_SLACK);
}

/* at_least - a parser's own bound, never below a layer the engine lets through */
static long long
at_least(long long dflt, long long layer)
{
	return layer > dflt ? layer : dflt;
}

/* build_engine - load, limit and compile one engine; NULL with err on failure */
static struct cl_engine *
build_engine(const struct av_settings *st, unsigned *sigs_r, unsigned *version_r, char *err,
	     size_t errlen)
{
	struct cl_engine *engine = cl_engine_new();
	unsigned sigs = 0;
	unsigned dbopts = CL_DB_STDOPT | (st->pua ? CL_DB_PUA : 0);
	cl_error_t rc;

	if (engine == NULL) {
		snprintf(err, errlen, "cl_engine_new failed");
		return NULL;
	}
	/*
	 * Limits are set before compiling and never changed while in use.  The
	 * size bounds sit above the policy's (inspect_layer decides at the
	 * policy's), and the parsers' own bounds at least as high as the largest
	 * layer let through, so that none of them can skip a layer silently.
	 * No clean cache: a layer cut short once would be "clean" from then on.
	 */
	long long file_bound = engine_bound(st->max_file_size, 0);
	long long scan_bound = engine_bound(st->max_scan_size, st->max_file_size);
	long long layer = file_bound != 0 ? file_bound : (long long)st->max_scan_size;

	if (cl_engine_set_num(engine, CL_ENGINE_MAX_SCANSIZE, scan_bound) ||
	    cl_engine_set_num(engine, CL_ENGINE_MAX_FILESIZE, file_bound) ||
	    cl_engine_set_num(engine, CL_ENGINE_MAX_RECURSION, st->max_recursion) ||
	    cl_engine_set_num(engine, CL_ENGINE_MAX_FILES, st->max_files) ||
	    cl_engine_set_num(engine, CL_ENGINE_MAX_SCANTIME, st->max_scan_time) ||
	    cl_engine_set_num(engine, CL_ENGINE_DISABLE_CACHE, 1) ||
	    cl_engine_set_num(
		    engine, CL_ENGINE_MAX_EMBEDDEDPE,
		    at_least(cl_engine_get_num(engine, CL_ENGINE_MAX_EMBEDDEDPE, NULL), layer)) ||
	    cl_engine_set_num(engine, CL_ENGINE_MAX_HTMLNORMALIZE,
			      at_least(cl_engine_get_num(engine, CL_ENGINE_MAX_HTMLNORMALIZE, NULL),
				       layer)) ||
	    cl_engine_set_num(
		    engine, CL_ENGINE_MAX_HTMLNOTAGS,
		    at_least(cl_engine_get_num(engine, CL_ENGINE_MAX_HTMLNOTAGS, NULL), layer)) ||
	    cl_engine_set_num(
		    engine, CL_ENGINE_MAX_SCRIPTNORMALIZE,
		    at_least(cl_engine_get_num(engine, CL_ENGINE_MAX_SCRIPTNORMALIZE, NULL),
			     layer)) ||
	    cl_engine_set_num(
		    engine, CL_ENGINE_MAX_ZIPTYPERCG,
		    at_least(cl_engine_get_num(engine, CL_ENGINE_MAX_ZIPTYPERCG, NULL), layer)) ||
	    cl_engine_set_num(engine, CL_ENGINE_PCRE_MAX_FILESIZE,
			      at_least(cl_engine_get_num(engine, CL_ENGINE_PCRE_MAX_FILESIZE, NULL),
				       layer)) ||
	    cl_engine_set_str(engine, CL_ENGINE_TMPDIR, st->tmpdir)) {
		snprintf(err, errlen, "cannot set engine limits");
		goto fail;
	}
	rc = cl_load(st->database, engine, &sigs, dbopts);
	if (rc != CL_SUCCESS) {
		snprintf(err, errlen, "cannot load %s: %s", st->database, cl_strerror(rc));
		goto fail;
	}
	if (sigs == 0) {
		snprintf(err, errlen, "no signatures in %s", st->database);
		goto fail;
	}
	cl_engine_set_clcb_file_inspection(engine, inspect_layer);
	rc = cl_engine_compile(engine);
	if (rc != CL_SUCCESS) {
		snprintf(err, errlen, "cannot compile the engine: %s", cl_strerror(rc));
		goto fail;
	}
	*sigs_r = sigs;
	*version_r = (unsigned)cl_engine_get_num(engine, CL_ENGINE_DB_VERSION, NULL);
	return engine;
fail:
	cl_engine_free(engine);
	return NULL;
}

/* swap_in - install engine as current; the old one lives on in scans that hold it */
static void
swap_in(struct av_slot *slot, struct cl_engine *engine, unsigned sigs, unsigned version)
{
	struct cl_engine *old;

	pthread_mutex_lock(&slot->lock);
	old = slot->engine;
	slot->engine = engine;
	slot->sigs = sigs;
	slot->db_version = version;
	slot->db_time = (time_t)cl_engine_get_num(engine, CL_ENGINE_DB_TIME, NULL);
	slot->generation++;
	pthread_mutex_unlock(&slot->lock);
	if (old != NULL)
		cl_engine_free(old);
}

/* reload - one rebuild as the slot's reload mode says */
static int
reload(struct av_slot *slot)
{
	char err[512];
	unsigned sigs = 0, version = 0;
	struct cl_engine *engine;
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (slot->st.blocking) {
		struct cl_engine *old;

		pthread_mutex_lock(&slot->lock);
		old = slot->engine;
		slot->engine = NULL;
		pthread_mutex_unlock(&slot->lock);
		if (old != NULL)
			cl_engine_free(old); /* freed now, or by the last scan still using it */
	}
	engine = build_engine(&slot->st, &sigs, &version, err, sizeof(err));
	if (engine == NULL) {
		slot->host->log(LOG_ERR, "av: reload of %s failed: %s; %s", slot->st.database, err,
				slot->st.blocking ? "no engine until a load succeeds (messages get "
						    "on_error)"
						  : "the previous engine stays in use");
		return -1;
	}
	swap_in(slot, engine, sigs, version);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	slot->host->log(LOG_INFO,
			"av: engine reloaded (%s): %u signatures, database version %u, %.1f s",
			slot->st.blocking ? "blocking" : "concurrent", sigs, version,
			(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}

/* database_changed - cl_statchkdir, re-armed after a change */
static bool
database_changed(struct av_slot *slot)
{
	bool changed;

	if (!slot->dbstat_ok)
		return false;
	changed = cl_statchkdir(&slot->dbstat) == 1;
	if (changed) {
		cl_statfree(&slot->dbstat);
		slot->dbstat_ok = cl_statinidir(slot->st.database, &slot->dbstat) == CL_SUCCESS;
	}
	return changed;
}

/* watcher - reload on request or when the database directory changes */
static void *
watcher(void *arg)
{
	struct av_slot *slot = arg;

	pthread_mutex_lock(&slot->lock);
	while (!slot->stopping) {
		struct timespec until;
		bool requested;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += slot->st.check_interval > 0 ? slot->st.check_interval : 3600;
		if (!slot->reload_requested)
			pthread_cond_timedwait(&slot->wake, &slot->lock, &until);
		if (slot->stopping)
			break;
		requested = slot->reload_requested;
		slot->reload_requested = false;
		pthread_mutex_unlock(&slot->lock);
		if (requested || (slot->st.check_interval > 0 && database_changed(slot)))
			reload(slot);
		pthread_mutex_lock(&slot->lock);
	}
	pthread_mutex_unlock(&slot->lock);
	return NULL;
}

/* slot_free - after the last user */
static void
slot_free(struct av_slot *slot)
{
	if (slot->watcher_started) {
		pthread_mutex_lock(&slot->lock);
		slot->stopping = true;
		pthread_cond_signal(&slot->wake);
		pthread_mutex_unlock(&slot->lock);
		pthread_join(slot->watcher, NULL);
	}
	if (slot->engine != NULL)
		cl_engine_free(slot->engine);
	if (slot->dbstat_ok)
		cl_statfree(&slot->dbstat);
	pthread_mutex_destroy(&slot->lock);
	pthread_cond_destroy(&slot->wake);
	pthread_cond_destroy(&slot->slot_free);
	g_free(slot->key);
	g_free(slot->database);
	g_free(slot->tmpdir);
	g_free(slot);
}

/* slot_new - load the first engine synchronously: a policy that cannot scan is refused */
static struct av_slot *
slot_new(const struct av_settings *st, const struct mxp_host *host, char *key, char *err,
	 size_t errlen)
{
	struct av_slot *slot = g_new0(struct av_slot, 1);
	struct cl_engine *engine;
	unsigned sigs = 0, version = 0;

	slot->key = key;
	slot->st = *st;
	slot->database = g_strdup(st->database);
	slot->tmpdir = g_strdup(st->tmpdir);
	slot->st.database = slot->database;
	slot->st.tmpdir = slot->tmpdir;
	slot->host = host;
	pthread_mutex_init(&slot->lock, NULL);
	pthread_cond_init(&slot->wake, NULL);
	pthread_cond_init(&slot->slot_free, NULL);
	/* Watch from before the load, so a change during the load is seen. */
	slot->dbstat_ok = cl_statinidir(st->database, &slot->dbstat) == CL_SUCCESS;
	engine = build_engine(&slot->st, &sigs, &version, err, errlen);
	if (engine == NULL) {
		slot_free(slot);
		return NULL;
	}
	swap_in(slot, engine, sigs, version);
	if (pthread_create(&slot->watcher, NULL, watcher, slot) != 0) {
		snprintf(err, errlen, "cannot start the database watcher");
		slot_free(slot);
		return NULL;
	}
	slot->watcher_started = true;
	return slot;
}

struct av_slot *
av_slot_get(const struct av_settings *st, const struct mxp_host *host, char *err, size_t errlen)
{
	char *key = settings_key(st);
	struct av_slot *slot = NULL;

	log_host = host;
	pthread_once(&init_once, clamav_init);
	if (init_result != CL_SUCCESS) {
		snprintf(err, errlen, "cl_init: %s", cl_strerror(init_result));
		g_free(key);
		return NULL;
	}
	pthread_mutex_lock(&slots_lock);
	if (slots == NULL)
		slots = g_ptr_array_new();
	for (guint i = 0; i < slots->len && slot == NULL; i++)
		if (strcmp(((struct av_slot *)g_ptr_array_index(slots, i))->key, key) == 0)
			slot = g_ptr_array_index(slots, i);
	if (slot != NULL) {
		/* A policy reload (SIGHUP) also reloads the signatures, in the background. */
		g_free(key);
		slot->users++;
		pthread_mutex_lock(&slot->lock);
		slot->reload_requested = true;
		pthread_cond_signal(&slot->wake);
		pthread_mutex_unlock(&slot->lock);
	} else {
		slot = slot_new(st, host, key, err, errlen);
		if (slot != NULL) {
			slot->users = 1;
			g_ptr_array_add(slots, slot);
		}
	}
	pthread_mutex_unlock(&slots_lock);
	return slot;
}

void
av_slot_put(struct av_slot *slot)
{
	bool last;

	pthread_mutex_lock(&slots_lock);
	last = --slot->users == 0;
	if (last)
		g_ptr_array_remove(slots, slot);
	pthread_mutex_unlock(&slots_lock);
	if (last)
		slot_free(slot);
}

struct cl_engine *
av_slot_acquire(struct av_slot *slot, void (*keepalive)(void *arg), void *arg)
{
	struct cl_engine *engine;

	pthread_mutex_lock(&slot->lock);
	while (slot->st.max_concurrent > 0 && slot->scanning >= slot->st.max_concurrent) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 5;
		if (pthread_cond_timedwait(&slot->slot_free, &slot->lock, &until) == ETIMEDOUT &&
		    keepalive != NULL) {
			pthread_mutex_unlock(&slot->lock);
			keepalive(arg);
			pthread_mutex_lock(&slot->lock);
		}
	}
	engine = slot->engine;
	if (engine != NULL) {
		cl_engine_addref(engine);
		slot->scanning++;
	}
	pthread_mutex_unlock(&slot->lock);
	return engine;
}

void
av_slot_release(struct av_slot *slot, struct cl_engine *engine)
{
	pthread_mutex_lock(&slot->lock);
	slot->scanning--;
	pthread_cond_signal(&slot->slot_free);
	pthread_mutex_unlock(&slot->lock);
	cl_engine_free(engine); /* the last holder of a replaced engine frees it */
}

void
av_slot_describe(struct av_slot *slot, char *buf, size_t len)
{
	char built[32] = "";
	struct tm tm;

	pthread_mutex_lock(&slot->lock);
	/* The database's build time, so its age shows (the test database has none). */
	if (slot->db_time > 0 && gmtime_r(&slot->db_time, &tm) != NULL)
		strftime(built, sizeof(built), "@%Y-%m-%dT%H:%MZ", &tm);
	snprintf(buf, len, "av=clamav-%s/db-%u%s/sigs-%u%s", cl_retver(), slot->db_version, built,
		 slot->sigs, slot->engine == NULL ? "/no-engine" : "");
	pthread_mutex_unlock(&slot->lock);
}

int
av_slot_reload_now(struct av_slot *slot)
{
	return reload(slot);
}

unsigned
av_slot_generation(struct av_slot *slot)
{
	unsigned g;

	pthread_mutex_lock(&slot->lock);
	g = slot->generation;
	pthread_mutex_unlock(&slot->lock);
	return g;
}
