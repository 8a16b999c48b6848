## milter/modules/rcpt/module.mk - the rcpt module: recipients checked
## against a list every tier shares.  Included by Makefile.am.
module_LTLIBRARIES += milter/modules/rcpt/rcpt.la
milter_modules_rcpt_rcpt_la_SOURCES = milter/modules/rcpt/rcpt.c \
	milter/modules/rcpt/rcptlist.c milter/modules/rcpt/rcptlist.h
milter_modules_rcpt_rcpt_la_CPPFLAGS = $(MODULE_CPPFLAGS)
milter_modules_rcpt_rcpt_la_CFLAGS = $(MODULE_CFLAGS)
milter_modules_rcpt_rcpt_la_LDFLAGS = $(MODULE_LDFLAGS)
milter_modules_rcpt_rcpt_la_LIBADD = $(GLIB_LIBS)

MODULE_CHECKS += milter/modules/rcpt/tests/check_rcpt
milter_modules_rcpt_tests_check_rcpt_SOURCES = milter/modules/rcpt/tests/check_rcpt.c
milter_modules_rcpt_tests_check_rcpt_CPPFLAGS = $(MODULE_CHECK_CPPFLAGS)
milter_modules_rcpt_tests_check_rcpt_CFLAGS = $(MODULE_CHECK_CFLAGS)
milter_modules_rcpt_tests_check_rcpt_LDADD = $(MODULE_CHECK_LDADD)
