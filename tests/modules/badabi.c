/*
 * badabi.c - a module built for a future ABI; the loader must refuse it.
 */
#include <mxparity/module.h>

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
	.abi = MXP_MODULE_ABI + 1,
	.name = "badabi",
	.init = badabi_init,
	.destroy = badabi_destroy,
};

MXP_MODULE_DEFINE(badabi_module);
