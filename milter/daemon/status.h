/*
 * status.h - what the running daemon reports about itself on its control
 * socket: version, uptime, the policy served and how it compares with the
 * files on disk, the last reload, each module's state and the counters.
 */
#ifndef MXP_STATUS_H
#define MXP_STATUS_H

#include <stdbool.h>

#include <glib.h>

/* mxp_status_started - at startup: the time uptime counts from, and the policy path */
void mxp_status_started(const char *policy_path);
/* mxp_status_policy_loaded - a policy was installed, at startup or by a reload */
void mxp_status_policy_loaded(bool by_reload);
/* mxp_status_reload_failed - a reload was refused, and why */
void mxp_status_reload_failed(const char *why);
/*
 * mxp_status_text - "name=value" lines, one fact each, for mxparity status;
 * the caller frees it with g_string_free.
 */
GString *mxp_status_text(void);

#endif
