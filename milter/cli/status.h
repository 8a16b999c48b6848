/*
 * status.h - `mxparity status`: ask the running daemon what it serves.
 */
#ifndef MXP_CLI_STATUS_H
#define MXP_CLI_STATUS_H

/* mxp_cli_status - the subcommand; its exit status (0, 2 usage, 3 no daemon answered) */
int mxp_cli_status(int argc, char **argv);

#endif
