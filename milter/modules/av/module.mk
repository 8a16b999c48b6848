## milter/modules/av/module.mk - the av module: virus scanning in process
## with libclamav, or on clamd servers (configure --with-clamav).  Included
## by Makefile.am.
if HAVE_CLAMAV
module_LTLIBRARIES += milter/modules/av/av.la
milter_modules_av_av_la_SOURCES = milter/modules/av/av.c milter/modules/av/backend.h \
	milter/modules/av/backend_libclamav.c milter/modules/av/backend_clamd.c \
	milter/modules/av/clamd_client.c milter/modules/av/clamd_client.h \
	milter/modules/av/clamd_reply.c milter/modules/av/clamd_reply.h \
	milter/modules/av/clamd_pool.c milter/modules/av/clamd_pool.h \
	milter/modules/av/engine.c milter/modules/av/engine.h \
	milter/modules/av/spool.c milter/modules/av/spool.h \
	milter/modules/av/leftovers.c milter/modules/av/leftovers.h
milter_modules_av_av_la_CPPFLAGS = $(MODULE_CPPFLAGS)
milter_modules_av_av_la_CFLAGS = $(MODULE_CFLAGS) $(CLAMAV_CFLAGS)
milter_modules_av_av_la_LDFLAGS = $(MODULE_LDFLAGS)
milter_modules_av_av_la_LIBADD = $(GLIB_LIBS) $(CLAMAV_LIBS)

# A small test database (EICAR and clamav-testfiles hashes), built with the
# program so `./bootstrap run` and the tests need nothing downloaded.
BUILT_LOCAL += testdb/mxparity-test.ndb
testdb/mxparity-test.ndb: $(srcdir)/milter/modules/av/make-testdb.sh
	$(AM_V_GEN)sh $(srcdir)/milter/modules/av/make-testdb.sh testdb

# The suite drives the engine and the spool directly, as well as the module.
MODULE_CHECKS += milter/modules/av/tests/check_av
milter_modules_av_tests_check_av_SOURCES = milter/modules/av/tests/check_av.c \
	milter/modules/av/engine.c milter/modules/av/spool.c milter/modules/av/leftovers.c
milter_modules_av_tests_check_av_CPPFLAGS = $(MODULE_CHECK_CPPFLAGS) -I$(srcdir)/milter/modules/av
milter_modules_av_tests_check_av_CFLAGS = $(MODULE_CHECK_CFLAGS) $(CLAMAV_CFLAGS)
milter_modules_av_tests_check_av_LDADD = $(MODULE_CHECK_LDADD) $(CLAMAV_LIBS)

# The clamd backend's protocol client, reply parser and server pool, against
# fake servers and a private real clamd (skipped without clamav-daemon).
MODULE_CHECKS += milter/modules/av/tests/check_clamd
milter_modules_av_tests_check_clamd_SOURCES = milter/modules/av/tests/check_clamd.c \
	milter/modules/av/clamd_client.c milter/modules/av/clamd_client.h \
	milter/modules/av/clamd_reply.c milter/modules/av/clamd_reply.h \
	milter/modules/av/clamd_pool.c milter/modules/av/clamd_pool.h \
	milter/modules/av/spool.c milter/modules/av/spool.h
milter_modules_av_tests_check_clamd_CPPFLAGS = $(MODULE_CHECK_CPPFLAGS) -I$(srcdir)/milter/modules/av
milter_modules_av_tests_check_clamd_CFLAGS = $(MODULE_CHECK_CFLAGS)
milter_modules_av_tests_check_clamd_LDADD = $(MODULE_CHECK_LDADD)

MODULE_TESTS += \
	milter/modules/av/tests/t-av-samples.sh \
	milter/modules/av/tests/t-av-corpus.sh \
	milter/modules/av/tests/t-av-limits.sh \
	milter/modules/av/tests/t-av-reload.sh \
	milter/modules/av/tests/t-av-failsafe.sh \
	milter/modules/av/tests/t-av-clamd.sh
if HAVE_SPF
# The soak harness (tests/soak) and the tiers (tier.sh) need the spf module too.
MODULE_TESTS += milter/modules/av/tests/t-av-clamd-failover.sh \
	milter/modules/av/tests/t-av-clamd-tiers.sh
endif
endif
EXTRA_DIST += milter/modules/av/make-testdb.sh milter/modules/av/tests/av-corpus.sh \
	milter/modules/av/tests/measure-memory.sh \
	milter/modules/av/tests/t-av-samples.sh milter/modules/av/tests/t-av-corpus.sh \
	milter/modules/av/tests/t-av-limits.sh milter/modules/av/tests/t-av-reload.sh \
	milter/modules/av/tests/t-av-failsafe.sh milter/modules/av/tests/t-av-clamd.sh \
	milter/modules/av/tests/t-av-clamd-failover.sh milter/modules/av/tests/t-av-clamd-tiers.sh \
	tests/integration/fake_clamd.py
