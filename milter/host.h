/*
 * host.h - the table of core services handed to modules.
 */
#ifndef MXP_HOST_H
#define MXP_HOST_H

#include <mxparity/module.h>

#include <stdbool.h>

extern const struct mxp_host mxp_host_api;

/* mxp_host_set_checking - modules' init only validates from now on */
void mxp_host_set_checking(bool on);

#endif
