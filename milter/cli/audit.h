/*
 * audit.h - `mxparity audit DOMAIN`: the domain's MX setup as DNS publishes
 * it, against the policy's MX map.
 */
#ifndef MXP_CLI_AUDIT_H
#define MXP_CLI_AUDIT_H

/* mxp_cli_audit - the subcommand; 0 in order, 1 a problem found, 2 usage, 3 DNS unreadable */
int mxp_cli_audit(int argc, char **argv);

#endif
