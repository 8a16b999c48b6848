## milter/modules/spf/module.mk - the spf module: RFC 7208 with libspf2 over
## the core's resolver (configure --with-spf).  Included by Makefile.am.
if HAVE_SPF
module_LTLIBRARIES += milter/modules/spf/spf.la
milter_modules_spf_spf_la_SOURCES = milter/modules/spf/spf.c \
	milter/modules/spf/evaluate.c milter/modules/spf/evaluate.h \
	milter/modules/spf/resolver.c milter/modules/spf/resolver.h \
	milter/modules/spf/syntax.c milter/modules/spf/syntax.h \
	milter/modules/spf/rewrite.c milter/modules/spf/rewrite.h
milter_modules_spf_spf_la_CPPFLAGS = $(MODULE_CPPFLAGS)
milter_modules_spf_spf_la_CFLAGS = $(MODULE_CFLAGS)
milter_modules_spf_spf_la_LDFLAGS = $(MODULE_LDFLAGS)
milter_modules_spf_spf_la_LIBADD = $(GLIB_LIBS) $(SPF2_LIBS)

# The suites check the record syntax checker and the respelling directly, and
# evaluations on many threads at once over the core's resolver.
MODULE_CHECKS += milter/modules/spf/tests/check_spf
milter_modules_spf_tests_check_spf_SOURCES = milter/modules/spf/tests/check_spf_syntax.c \
	milter/modules/spf/tests/check_spf_threads.c \
	milter/modules/spf/syntax.c milter/modules/spf/rewrite.c
milter_modules_spf_tests_check_spf_CPPFLAGS = $(MODULE_CHECK_CPPFLAGS) -I$(srcdir)/milter/modules/spf
milter_modules_spf_tests_check_spf_CFLAGS = $(MODULE_CHECK_CFLAGS)
milter_modules_spf_tests_check_spf_LDADD = $(MODULE_CHECK_LDADD)

MODULE_TESTS += \
	milter/modules/spf/tests/suite/t-spf-suite.sh \
	milter/modules/spf/tests/t-spf-basic.sh \
	milter/modules/spf/tests/t-spf-temperror.sh \
	milter/modules/spf/tests/t-spf-ipv6.sh
endif
EXTRA_DIST += milter/modules/spf/tests/suite/t-spf-suite.sh \
	milter/modules/spf/tests/suite/run-suite.py milter/modules/spf/tests/suite/zone.py \
	milter/modules/spf/tests/suite/known-failures.txt milter/modules/spf/tests/suite/README.md \
	milter/modules/spf/tests/t-spf-basic.sh milter/modules/spf/tests/t-spf-temperror.sh \
	milter/modules/spf/tests/t-spf-ipv6.sh
