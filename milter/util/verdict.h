/*
 * verdict.h - verdict names, parsing and merging by severity.
 */
#ifndef MXP_VERDICT_H
#define MXP_VERDICT_H

#include <mxparity/module.h>

/* mxp_verdict_name - lower-case word for logs: "accept", "reject", ... */
const char *mxp_verdict_name(enum mxp_verdict v);
/* mxp_verdict_parse - inverse of mxp_verdict_name; -1 when unknown */
int mxp_verdict_parse(const char *word, enum mxp_verdict *v_r);
/* mxp_verdict_merge - the more severe of two verdicts */
enum mxp_verdict mxp_verdict_merge(enum mxp_verdict a, enum mxp_verdict b);

#endif
