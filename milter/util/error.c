/*
 * error.c - setting an error_r (util/error.h).
 */
#include "config.h"

#include <stdarg.h>

#include <glib.h>

#include "util/error.h"

void
mxp_error_set(char **error_r, const char *fmt, ...)
{
	va_list ap;

	/* The first, innermost reason stands: callers above it add nothing new. */
	if (error_r == NULL || *error_r != NULL)
		return;
	va_start(ap, fmt);
	*error_r = g_strdup_vprintf(fmt, ap);
	va_end(ap);
}
