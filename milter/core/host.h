/*
 * host.h - the table of core services handed to modules.
 */
#ifndef MXP_HOST_H
#define MXP_HOST_H

#include <mxparity/module.h>

#include <stdbool.h>

extern const struct mxp_host mxp_host_api;

/*
 * What the host services need of the session an event belongs to: an
 * event's core pointer points at one, so host.c needs no session code.
 */
struct mxp_host_session {
	void (*progress)(struct mxp_host_session *hs);
	const char *(*peer_finding)(const struct mxp_host_session *hs, const char *key);
};

/* mxp_host_set_checking - modules' init only validates from now on */
void mxp_host_set_checking(bool on);

#endif
