/*
 * control.h - the daemon's control socket: a unix socket, never a network
 * one, that answers `mxparity status`.
 */
#ifndef MXP_CONTROL_H
#define MXP_CONTROL_H

/*
 * mxp_control_open - bind and listen on path (mode 0660, group gid unless
 * -1), before privileges are dropped; a stale socket file is replaced, a
 * live one (another daemon answers) is not.  The descriptor, or -1 with
 * why in error_r.
 */
int mxp_control_open(const char *path, long gid, char **error_r);
/* mxp_control_start - serve requests on fd on a thread of its own; -1 if it cannot start */
int mxp_control_start(int fd);
/* mxp_control_stop - stop serving and remove the socket file */
void mxp_control_stop(void);

#endif
