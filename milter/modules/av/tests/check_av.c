/*
 * check_av.c - the av module: its spool, its actions through the real
 * pipeline with the real libclamav engine, and engine reloads under
 * concurrent scans.  Databases are written by the tests themselves.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <clamav.h>
#include <glib.h>

#include "engine.h"
#include "leftovers.h"
#include "spool.h"
#include "check_mxparity.h"
#include "check_session.h"
#include "core/host.h"

/* The EICAR test string, assembled so this source file is not "infected". */
static char eicar[80];

static void
make_eicar(void)
{
	snprintf(eicar, sizeof(eicar), "X5O!P%%@AP[4\\PZX54(P^)7CC)7}$%s-%s-%s!$H+H*", "EICAR",
		 "STANDARD-ANTIVIRUS", "TEST-FILE");
}

/* write_db - a database directory holding the EICAR body signature, plus extra lines */
static char *
write_db(const char *name, const char *extra_ndb)
{
	char *dir = g_build_filename(fixture_dir(), name, NULL);
	char *path;
	GString *ndb = g_string_new("Mxparity.Test.EICAR:0:*:");

	g_mkdir_with_parents(dir, 0755);
	for (const char *p = eicar; *p != '\0'; p++)
		g_string_append_printf(ndb, "%02x", (unsigned char)*p);
	g_string_append_c(ndb, '\n');
	if (extra_ndb != NULL)
		g_string_append(ndb, extra_ndb);
	path = g_build_filename(dir, "mxparity-test.ndb", NULL);
	ck_assert(g_file_set_contents(path, ndb->str, -1, NULL));
	g_free(path);
	g_string_free(ndb, TRUE);
	return dir;
}

START_TEST(test_spool_memory_then_file)
{
	struct av_spool sp;
	char err[256];
	unsigned char buf[3000];
	char back[6001];

	memset(buf, 'a', sizeof(buf));
	av_spool_init(&sp, 4096, fixture_dir());
	ck_assert_int_eq(av_spool_write(&sp, buf, sizeof(buf), err, sizeof(err)), 0);
	ck_assert(av_spool_in_memory(&sp));
	ck_assert_uint_eq(sp.len, 3000);
	/* Past the bound: the message moves to an unlinked file, nothing lost. */
	memset(buf, 'b', sizeof(buf));
	ck_assert_int_eq(av_spool_write(&sp, buf, sizeof(buf), err, sizeof(err)), 0);
	ck_assert(!av_spool_in_memory(&sp));
	ck_assert_uint_eq(sp.len, 6000);
	ck_assert_int_eq(pread(sp.fd, back, 6000, 0), 6000);
	ck_assert_int_eq(back[0], 'a');
	ck_assert_int_eq(back[2999], 'a');
	ck_assert_int_eq(back[3000], 'b');
	ck_assert_int_eq(back[5999], 'b');
	av_spool_free(&sp);
	ck_assert_int_eq(sp.fd, -1);

	/* A spool directory that cannot take the file is an error, not a pass. */
	av_spool_init(&sp, 10, "/nonexistent/mxparity");
	ck_assert_int_lt(av_spool_write(&sp, buf, 100, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "/nonexistent/mxparity") != NULL, "%s", err);
	av_spool_free(&sp);
}
END_TEST

/* touch - an empty file at dir/name */
static void
touch(const char *dir, const char *name)
{
	char *path = g_build_filename(dir, name, NULL);

	ck_assert(g_file_set_contents(path, "x", -1, NULL));
	g_free(path);
}

/* exists - whether dir/name is there, without following a link */
static bool
exists(const char *dir, const char *name)
{
	char *path = g_build_filename(dir, name, NULL);
	bool yes = g_file_test(path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK);

	g_free(path);
	return yes;
}

START_TEST(test_leftovers_removed_once_under_lock)
{
	char *spool = g_build_filename(fixture_dir(), "spool-left", NULL);
	char *busy = g_build_filename(fixture_dir(), "spool-busy", NULL);
	char *scan = g_build_filename(spool, "20261203_101010-scantemp.Ab12Cd", NULL);
	char *deep = g_build_filename(scan, "20261203_101011-zip.x", "layer", NULL);
	char *target = g_build_filename(fixture_dir(), "outside", NULL);
	char *link = g_build_filename(scan, "link", NULL);
	char err[512];
	unsigned removed = 99;
	int other;

	/* What a kill -9 leaves: a nested scan directory with a planted link, a spool file. */
	ck_assert_int_eq(g_mkdir_with_parents(deep, 0700), 0);
	touch(deep, "member");
	touch(fixture_dir(), "outside");
	ck_assert_int_eq(symlink(target, link), 0);
	touch(spool, "mxparity-av.Q1w2E3");
	touch(spool, "unrelated");
	ck_assert_int_eq(g_mkdir_with_parents(busy, 0700), 0);
	touch(busy, "mxparity-av.busy");

	ck_assert_int_eq(av_leftovers_remove(spool, &removed, err, sizeof(err)),
			 AV_LEFTOVERS_REMOVED);
	ck_assert_uint_eq(removed, 2);
	ck_assert(!exists(spool, "20261203_101010-scantemp.Ab12Cd"));
	ck_assert(!exists(spool, "mxparity-av.Q1w2E3"));
	ck_assert(exists(spool, "unrelated"));
	/* The link was removed, not followed. */
	ck_assert(exists(fixture_dir(), "outside"));

	/* Once per process: a reload must not remove this process's live scans. */
	touch(spool, "mxparity-av.live");
	ck_assert_int_eq(av_leftovers_remove(spool, &removed, err, sizeof(err)), AV_LEFTOVERS_DONE);
	ck_assert(exists(spool, "mxparity-av.live"));

	/* Another process scans there (its shared lock, another open file description). */
	other = open(busy, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(other, 0);
	ck_assert_int_eq(flock(other, LOCK_SH | LOCK_NB), 0);
	ck_assert_int_eq(av_leftovers_remove(busy, &removed, err, sizeof(err)),
			 AV_LEFTOVERS_IN_USE);
	ck_assert(exists(busy, "mxparity-av.busy"));
	/* It stops; this process now scans there too, so a reload must not clean. */
	close(other);
	ck_assert_int_eq(av_leftovers_remove(busy, &removed, err, sizeof(err)), AV_LEFTOVERS_DONE);
	ck_assert(exists(busy, "mxparity-av.busy"));
	/* And a process that starts now cannot take the directory from us. */
	other = open(busy, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(other, 0);
	ck_assert_int_ne(flock(other, LOCK_EX | LOCK_NB), 0);
	close(other);

	ck_assert_int_eq(av_leftovers_remove("/nonexistent/mxparity", &removed, err, sizeof(err)),
			 AV_LEFTOVERS_ERROR);
	ck_assert_msg(strstr(err, "/nonexistent/mxparity") != NULL, "%s", err);
	g_free(spool);
	g_free(busy);
	g_free(scan);
	g_free(deep);
	g_free(target);
	g_free(link);
}
END_TEST

/* av_policy - a policy with the av module and extra av options */
static struct mxp_policy *
av_policy(const char *db, const char *options)
{
	char *text = g_strdup_printf(POLICY_HEAD "module av {\n  database = \"%s\"\n  spool_dir = "
						 "\"%s\"\n  %s\n}\n",
				     db, fixture_dir(), options);
	struct mxp_policy *pol = fixture_policy(text);

	g_free(text);
	return pol;
}

START_TEST(test_actions)
{
	char *db = write_db("db-actions", NULL);
	static const struct {
		const char *options;
		enum mxp_verdict verdict;
		const char *rcode;
	} cases[] = {
		{ "on_infected = reject", MXP_REJECT, "554" },
		{ "on_infected = tempfail", MXP_TEMPFAIL, "451" },
		{ "on_infected = discard", MXP_DISCARD, "" },
		{ "on_infected = quarantine", MXP_QUARANTINE, "" },
		{ "on_infected = tag", MXP_TAG, "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mxp_policy *pol = av_policy(db, cases[i].options);
		struct test_txn t = { .headers = { { "Subject", "x" },
						   { "X-Virus-Status", "Clean" } },
				      .body = eicar };

		run_txn(pol, &t);
		ck_assert_msg(t.verdict == cases[i].verdict, "%s: verdict %d", cases[i].options,
			      t.verdict);
		ck_assert_str_eq(t.rcode, cases[i].rcode);
		ck_assert_msg(strstr(t.summary, "av=infected:Mxparity.Test.EICAR") != NULL, "%s",
			      t.summary);
		if (cases[i].verdict == MXP_REJECT)
			ck_assert_msg(strstr(t.text, "Virus found: Mxparity.Test.EICAR") != NULL,
				      "%s", t.text);
		if (cases[i].verdict == MXP_TAG) {
			/* The forged header goes, ours says what was found. */
			ck_assert_uint_eq(t.removals, 1);
			ck_assert_msg(strstr(t.added[1],
					     "X-Virus-Status: Infected (Mxparity.Test.EICAR") ==
					      t.added[1],
				      "%s", t.added[1]);
		}
		mxp_policy_unref(pol);
	}
	g_free(db);
}
END_TEST

START_TEST(test_clean_and_limits)
{
	char *db = write_db("db-limits", NULL);
	struct mxp_policy *pol = av_policy(db, "max_scan_size = 1K");
	char big[4096];
	struct test_txn clean = { .body = "just words\r\n" };
	struct test_txn over;

	run_txn(pol, &clean);
	ck_assert_int_eq(clean.verdict, MXP_CONTINUE);
	ck_assert_msg(strstr(clean.summary, " av=clean ") != NULL, "%s", clean.summary);
	ck_assert_str_eq(clean.added[1], "X-Virus-Status: Clean");

	/* By default what could not be scanned is not delivered. */
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	over = (struct test_txn){ .body = big };
	run_txn(pol, &over);
	ck_assert_int_eq(over.verdict, MXP_REJECT);
	ck_assert_str_eq(over.rcode, "552");
	ck_assert_str_eq(over.xcode, "5.3.4");
	ck_assert_msg(strstr(over.summary, "av=skipped:size") != NULL, "%s", over.summary);
	mxp_policy_unref(pol);

	/* A site may deliver mere size misses, tagged, and keep refusing the rest. */
	pol = av_policy(db, "max_scan_size = 1K on_size_limits = tag");
	over = (struct test_txn){ .body = big };
	run_txn(pol, &over);
	ck_assert_int_eq(over.verdict, MXP_TAG);
	ck_assert_msg(strstr(over.summary, "av=skipped:size") != NULL, "%s", over.summary);
	ck_assert_str_eq(over.added[1], "X-Virus-Status: Unscanned (limits)");
	mxp_policy_unref(pol);

	pol = av_policy(db, "max_scan_size = 1K on_limits = tag");
	over = (struct test_txn){ .body = big };
	run_txn(pol, &over);
	ck_assert_int_eq(over.verdict, MXP_TAG);
	ck_assert_str_eq(over.added[1], "X-Virus-Status: Unscanned (limits)");
	mxp_policy_unref(pol);

	pol = av_policy(db, "max_scan_size = 1K on_limits = tag on_size_limits = tempfail");
	over = (struct test_txn){ .body = big };
	run_txn(pol, &over);
	ck_assert_int_eq(over.verdict, MXP_TEMPFAIL);
	ck_assert_str_eq(over.rcode, "452");
	mxp_policy_unref(pol);
	g_free(db);
}
END_TEST

START_TEST(test_spilled_message_is_scanned)
{
	char *db = write_db("db-spill", NULL);
	struct mxp_policy *pol = av_policy(db, "spool_memory_max = 1K");
	GString *body = g_string_new(NULL);
	struct test_txn t;

	for (int i = 0; i < 200; i++)
		g_string_append(body, "filler line to push the message out of memory\r\n");
	g_string_append(body, eicar);
	g_string_append(body, "\r\n");
	t = (struct test_txn){ .body = body->str };
	run_txn(pol, &t);
	ck_assert_int_eq(t.verdict, MXP_REJECT);
	mxp_policy_unref(pol);
	g_string_free(body, TRUE);
	g_free(db);
}
END_TEST

START_TEST(test_bad_database_refuses_policy)
{
	char *empty = g_build_filename(fixture_dir(), "db-empty", NULL);
	char *text;
	const char *err;

	g_mkdir_with_parents(empty, 0755);
	text = g_strdup_printf(POLICY_HEAD "module av { database = \"%s\" spool_dir = \"%s\" }\n",
			       empty, fixture_dir());
	err = fixture_policy_error(text);
	ck_assert_msg(strstr(err, "module av") != NULL, "%s", err);
	g_free(text);
	g_free(empty);
}
END_TEST

/* What the scanning threads of the reload test share. */
struct reload_run {
	struct av_slot *slot;
	bool blocking;
	atomic_bool stop;
	unsigned scans, no_engine, wrong;
	pthread_mutex_t lock;
};

/* scanner - scan EICAR in a loop; every scan must find it or find no engine */
static void *
scanner(void *arg)
{
	struct reload_run *run = arg;
	struct cl_scan_options opts = { .parse = ~0u };

	while (!atomic_load(&run->stop)) {
		struct cl_engine *engine = av_slot_acquire(run->slot, NULL, NULL);
		const char *virname = NULL;
		unsigned long scanned = 0;
		cl_fmap_t *map;
		cl_error_t rc = CL_ERROR;

		if (engine != NULL) {
			map = cl_fmap_open_memory(eicar, strlen(eicar));
			rc = cl_scanmap_callback(map, "t", &virname, &scanned, engine, &opts, NULL);
			cl_fmap_close(map);
			av_slot_release(run->slot, engine);
		}
		if (engine == NULL)
			usleep(200); /* blocking reload in progress */
		pthread_mutex_lock(&run->lock);
		if (engine == NULL)
			run->no_engine++;
		else if (rc != CL_VIRUS)
			run->wrong++;
		else
			run->scans++;
		pthread_mutex_unlock(&run->lock);
	}
	return NULL;
}

/* reload_under_scans - 4 scanning threads while the engine is rebuilt 5 times */
static void
reload_under_scans(bool blocking)
{
	char *db = write_db(blocking ? "db-reload-b" : "db-reload-c", NULL);
	struct av_settings st = {
		.database = db,
		.tmpdir = fixture_dir(),
		.max_scan_size = 1 << 20,
		.max_file_size = 1 << 20,
		.max_recursion = 8,
		.max_files = 100,
		.max_scan_time = 10000,
		.blocking = blocking,
		.check_interval = 0,
		.max_concurrent = 2,
	};
	struct reload_run run = { .blocking = blocking };
	pthread_t threads[4];
	char err[512];

	pthread_mutex_init(&run.lock, NULL);
	run.slot = av_slot_get(&st, &mxp_host_api, err, sizeof(err));
	ck_assert_msg(run.slot != NULL, "%s", err);
	for (int i = 0; i < 4; i++)
		pthread_create(&threads[i], NULL, scanner, &run);
	for (int i = 0; i < 5; i++) {
		char extra[128];

		/* A new signature each round, so every engine differs from the last. */
		snprintf(extra, sizeof(extra), "Mxparity.Test.Round%d:0:*:6d78706172697479%02x\n",
			 i, i);
		g_free(write_db(blocking ? "db-reload-b" : "db-reload-c", extra));
		ck_assert_int_eq(av_slot_reload_now(run.slot), 0);
	}
	atomic_store(&run.stop, true);
	for (int i = 0; i < 4; i++)
		pthread_join(threads[i], NULL);
	ck_assert_uint_eq(av_slot_generation(run.slot), 6);
	/* Every scan that got an engine found EICAR; none ran without one. */
	ck_assert_uint_eq(run.wrong, 0);
	ck_assert_uint_gt(run.scans, 0);
	if (!blocking)
		ck_assert_uint_eq(run.no_engine, 0);
	fprintf(stderr, "reload %s: %u scans, %u found no engine during reload\n",
		blocking ? "blocking" : "concurrent", run.scans, run.no_engine);
	av_slot_put(run.slot);
	pthread_mutex_destroy(&run.lock);
	g_free(db);
}

START_TEST(test_reload_concurrent_under_scans)
{
	reload_under_scans(false);
}
END_TEST

START_TEST(test_reload_blocking_under_scans)
{
	reload_under_scans(true);
}
END_TEST

static Suite *
suite_av(void)
{
	Suite *s = suite_create("av");
	TCase *tc = tcase_create("scan");

	make_eicar();
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_spool_memory_then_file);
	tcase_add_test(tc, test_leftovers_removed_once_under_lock);
	tcase_add_test(tc, test_actions);
	tcase_add_test(tc, test_clean_and_limits);
	tcase_add_test(tc, test_spilled_message_is_scanned);
	tcase_add_test(tc, test_bad_database_refuses_policy);
	tcase_add_test(tc, test_reload_concurrent_under_scans);
	tcase_add_test(tc, test_reload_blocking_under_scans);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	static Suite *(*const suites[])(void) = { suite_av, NULL };

	return mxp_check_main("check_av", suites);
}
