/*
 * backend_libclamav.c - the av module's scans in process: every message
 * as one RFC 5322 message with libclamav's mail parser on, so libclamav
 * itself unpacks attachments, transfer encodings and archives, on the
 * shared engine of engine.c.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <clamav.h>
#include <glib.h>
#include <mxparity/module.h>

#include "backend.h"
#include "engine.h"

#define TEST_DB_MARKER "mxparity-test.ndb"

struct lc_state {
	const struct mxp_host *host;
	struct av_slot *slot; /* NULL in check mode */
	struct cl_scan_options scan_opts;
	uint64_t max_file_size, max_decoded_size; /* what a layer may be, what all may be */
	const char *spool_dir;
	bool test_signatures;
	unsigned checked_sigs; /* check mode: counted, not loaded */
};

/* is_test_database - the generated test database carries a marker file */
static bool
is_test_database(const char *dir)
{
	char *marker = g_build_filename(dir, TEST_DB_MARKER, NULL);
	bool yes = g_file_test(marker, G_FILE_TEST_EXISTS);

	g_free(marker);
	return yes;
}

static void lc_destroy(void *state);

static int
lc_init(const struct mxp_host *host, const struct mxp_config *cfg, void **state_r, char *err,
	size_t errlen)
{
	struct lc_state *lc = g_new0(struct lc_state, 1);
	struct av_settings st = {
		.database = host->cfg_string(cfg, "database"),
		.tmpdir = host->cfg_string(cfg, "spool_dir"),
		.max_scan_size = (uint64_t)host->cfg_int(cfg, "max_decoded_size"),
		.max_file_size = (uint64_t)host->cfg_int(cfg, "max_file_size"),
		.max_recursion = (uint32_t)host->cfg_int(cfg, "max_recursion"),
		.max_files = (uint32_t)host->cfg_int(cfg, "max_files"),
		.max_scan_time = (uint32_t)host->cfg_int(cfg, "max_scan_time"),
		.pua = host->cfg_bool(cfg, "pua"),
		.blocking = strcmp(host->cfg_string(cfg, "reload"), "blocking") == 0,
		.check_interval = (unsigned)host->cfg_int(cfg, "reload_check_interval"),
		.max_concurrent = (unsigned)host->cfg_int(cfg, "max_concurrent_scans"),
	};

	lc->host = host;
	lc->max_file_size = st.max_file_size;
	lc->max_decoded_size = st.max_scan_size;
	lc->spool_dir = st.tmpdir;
	/* The whole message as one mail: every parser on, so libclamav unpacks it all. */
	lc->scan_opts.parse = ~0u;
	/*
	 * Always on: a part beyond a limit must come back as
	 * Heuristics.Limits.Exceeded (on_limits), not as a silent CL_CLEAN.
	 */
	lc->scan_opts.general = CL_SCAN_GENERAL_HEURISTICS;
	lc->scan_opts.heuristic = CL_SCAN_HEURISTIC_EXCEEDS_MAX;
	if (host->cfg_bool(cfg, "heuristics"))
		lc->scan_opts.heuristic |=
			CL_SCAN_HEURISTIC_BROKEN | CL_SCAN_HEURISTIC_ENCRYPTED_ARCHIVE |
			CL_SCAN_HEURISTIC_ENCRYPTED_DOC | CL_SCAN_HEURISTIC_MACROS |
			CL_SCAN_HEURISTIC_PHISHING_SSL_MISMATCH | CL_SCAN_HEURISTIC_PHISHING_CLOAK;
	if (host->cfg_int(cfg, "max_recursion") < 1 || host->cfg_int(cfg, "max_files") < 1 ||
	    host->cfg_int(cfg, "max_scan_time") < 1 || st.max_scan_size == 0) {
		snprintf(err, errlen, "scan limits must be positive");
		goto fail;
	}
	if (host->cfg_int(cfg, "max_concurrent_scans") < 0 ||
	    host->cfg_int(cfg, "reload_check_interval") < 0) {
		snprintf(err, errlen,
			 "max_concurrent_scans and reload_check_interval must not be negative");
		goto fail;
	}
	lc->test_signatures = is_test_database(st.database);
	if (host->checking()) {
		/* A check counts the signatures instead of compiling them (clamd-sized RAM). */
		unsigned sigs = 0;

		if (cl_countsigs(st.database, CL_COUNTSIGS_ALL, &sigs) != CL_SUCCESS || sigs == 0) {
			snprintf(err, errlen, "no signatures in %s", st.database);
			goto fail;
		}
		lc->checked_sigs = sigs;
		*state_r = lc;
		return 0;
	}
	lc->slot = av_slot_get(&st, host, err, errlen);
	if (lc->slot == NULL)
		goto fail;
	if (lc->test_signatures)
		host->log(LOG_WARNING,
			  "av: ONLY TEST SIGNATURES are loaded (%s): this host does not "
			  "really scan for viruses",
			  st.database);
	*state_r = lc;
	return 0;
fail:
	lc_destroy(lc);
	return -1;
}

static void
lc_destroy(void *state)
{
	struct lc_state *lc = state;

	if (lc == NULL)
		return;
	if (lc->slot != NULL)
		av_slot_put(lc->slot);
	g_free(lc);
}

static void
lc_describe(void *state, char *buf, size_t len)
{
	struct lc_state *lc = state;
	char what[256];

	if (lc->slot == NULL)
		snprintf(what, sizeof(what), "av=clamav-%s/sigs-%u(counted)", cl_retver(),
			 lc->checked_sigs);
	else
		av_slot_describe(lc->slot, what, sizeof(what));
	snprintf(buf, len, "%s%s", what, lc->test_signatures ? "/TEST-SIGNATURES-ONLY" : "");
}

static void
lc_engine(void *state, char *buf, size_t len)
{
	(void)state;
	snprintf(buf, len, "ClamAV %s", cl_retver());
}

/*
 * spool_room - whether spool_dir has room for what libclamav may unpack
 * there.  With the file system full, libclamav cannot write an archive's
 * members and says nothing: a zip with EICAR came back clean.  So a scan
 * needs room for the largest member it may write (max_file_size, or the
 * whole decoded budget when that is unbounded), else it does not start.
 */
static bool
spool_room(const struct lc_state *lc, unsigned long long *free_r)
{
	struct statvfs sv;
	unsigned long long need = lc->max_file_size != 0 ? lc->max_file_size : lc->max_decoded_size;

	if (statvfs(lc->spool_dir, &sv) != 0) {
		*free_r = 0;
		return false;
	}
	*free_r = (unsigned long long)sv.f_bavail * sv.f_frsize;
	return *free_r >= need;
}

/* keepalive - while waiting for a scan slot */
static void
keepalive(void *arg)
{
	struct mxp_event *ev = arg;

	ev->host->progress(ev);
}

/* scan_spool - CL_CLEAN, CL_VIRUS (virname set) or an error */
static cl_error_t
scan_spool(const struct lc_state *lc, const struct av_spool *sp, struct cl_engine *engine,
	   const char **virname, struct av_scan_limits *limits)
{
	struct cl_scan_options opts = lc->scan_opts;
	unsigned long scanned = 0;
	cl_error_t rc;

	if (av_spool_in_memory(sp)) {
		cl_fmap_t *map = cl_fmap_open_memory(sp->mem, sp->len);

		if (map == NULL)
			return CL_EMEM;
		rc = cl_scanmap_callback(map, "message.eml", virname, &scanned, engine, &opts,
					 limits);
		cl_fmap_close(map);
		return rc;
	}
	if (lseek(sp->fd, 0, SEEK_SET) < 0)
		return CL_ESEEK;
	return cl_scandesc_callback(sp->fd, "message.eml", virname, &scanned, engine, &opts,
				    limits);
}

/* limits - out says a limit; a size one when why names one */
static void
limits(struct av_scan *out, const char *why, bool size)
{
	static const char *const sizes[] = { "MaxFileSize", "MaxScanSize", "limits", NULL };

	av_scan_set(out, AV_LIMITS, "%s", why);
	out->size_limit = size;
	for (size_t i = 0; sizes[i] != NULL; i++)
		out->size_limit = out->size_limit || strcmp(why, sizes[i]) == 0;
}

static void
lc_scan(void *state, struct mxp_event *ev, const struct av_spool *sp, struct av_scan *out)
{
	struct lc_state *lc = state;
	struct av_scan_limits lim = {
		.max_file_size = lc->max_file_size,
		.max_decoded_size = lc->max_decoded_size,
	};
	const char *virname = NULL;
	struct cl_engine *engine;
	unsigned long long room;
	cl_error_t rc;

	out->engine[0] = '\0';
	if (!spool_room(lc, &room)) {
		ev->host->log(
			LOG_ERR,
			"av: spool_dir %s has %llu bytes free, less than one part may need: not "
			"scanning (on_error)",
			lc->spool_dir, room);
		av_scan_set(out, AV_FAILED, "spool-full");
		return;
	}
	engine = av_slot_acquire(lc->slot, keepalive, ev);
	if (engine == NULL) {
		/* reloading (blocking) or no database loaded: on_error */
		av_scan_set(out, AV_FAILED, "no-engine");
		return;
	}
	av_engine_errors_reset();
	rc = scan_spool(lc, sp, engine, &virname, &lim);
	av_slot_release(lc->slot, engine);
	/* libclamav reports some failures (no temporary directory) only as log lines. */
	if (rc == CL_CLEAN && av_engine_errors() > 0) {
		av_scan_set(out, AV_FAILED, "incomplete-scan");
		return;
	}
	/* A virus found outranks a limit; a limit, seen by libclamav or by us, outranks clean. */
	if (rc == CL_VIRUS && virname != NULL &&
	    strncmp(virname, "Heuristics.Limits.Exceeded.", 27) != 0) {
		av_scan_set(out, AV_INFECTED, "%s", virname);
		return;
	}
	if ((rc == CL_CLEAN || rc == CL_VIRUS) && lim.hit != NULL) {
		limits(out, lim.hit, false);
		return;
	}
	if (rc == CL_CLEAN) {
		av_scan_set(out, AV_CLEAN, "%s", "");
		return;
	}
	if (rc == CL_VIRUS && virname != NULL) {
		limits(out, virname + 27, false);
		return;
	}
	/* A limit hit on the message itself (max_file_size) comes back unnamed. */
	if (rc == CL_VIRUS) {
		limits(out, "limits", true);
		return;
	}
	if (rc == CL_ETIMEOUT || rc == CL_EMAXSIZE || rc == CL_EMAXREC || rc == CL_EMAXFILES) {
		limits(out, cl_strerror(rc), rc == CL_EMAXSIZE);
		return;
	}
	ev->host->log(LOG_ERR, "av: scan failed: %s", cl_strerror(rc));
	av_scan_set(out, AV_FAILED, "%s", cl_strerror(rc));
}

const struct av_backend av_backend_libclamav = {
	.name = "libclamav",
	.init = lc_init,
	.destroy = lc_destroy,
	.describe = lc_describe,
	.engine = lc_engine,
	.scan = lc_scan,
};
