/*
 * badabi.c - a module built for another ABI (BADABI_MAJOR.BADABI_MINOR,
 * set by the build: an older or newer major, a newer minor); the loader
 * must refuse it with a reason.
 */
#include <mxparity/module.h>

#ifndef BADABI_MAJOR
#define BADABI_MAJOR (MXP_MODULE_ABI_MAJOR + 1)
#endif
#ifndef BADABI_NAME
#define BADABI_NAME "badabi"
#endif
#ifndef BADABI_MINOR
#define BADABI_MINOR 0
#endif

static int
badabi_init(const struct mxp_host *host, const struct mxp_config *cfg, void **instance_r, char *err,
	    size_t errlen)
{
	(void)host;
	(void)cfg;
	(void)err;
	(void)errlen;
	*instance_r = NULL;
	return 0;
}

static void
badabi_destroy(void *instance)
{
	(void)instance;
}

static const struct mxp_module badabi_module = {
	.abi_major = BADABI_MAJOR,
	.abi_minor = BADABI_MINOR,
	.name = BADABI_NAME,
	.init = badabi_init,
	.destroy = badabi_destroy,
};

MXP_MODULE_DEFINE(badabi_module);
