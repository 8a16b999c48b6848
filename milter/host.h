/*
 * host.h - the table of core services handed to modules.
 */
#ifndef MXP_HOST_H
#define MXP_HOST_H

#include <mxparity/module.h>

extern const struct mxp_host mxp_host_api;

#endif
