/*
 * verdict.c - verdict names and the severity merge of DESIGN.md:
 * CONTINUE < ACCEPT < TAG < QUARANTINE < TEMPFAIL < REJECT < DISCARD.
 */
#include "config.h"

#include <string.h>

#include "util/verdict.h"

static const char *const verdict_names[] = {
	[MXP_CONTINUE] = "continue",	 [MXP_ACCEPT] = "accept",     [MXP_TAG] = "tag",
	[MXP_QUARANTINE] = "quarantine", [MXP_TEMPFAIL] = "tempfail", [MXP_REJECT] = "reject",
	[MXP_DISCARD] = "discard",
};

/* mxp_verdict_name - lower-case word for logs */
const char *
mxp_verdict_name(enum mxp_verdict v)
{
	if (v == MXP_ERROR)
		return "error";
	if (v < MXP_CONTINUE || v > MXP_DISCARD)
		return "invalid";
	return verdict_names[v];
}

/* mxp_verdict_parse - word to verdict */
int
mxp_verdict_parse(const char *word, enum mxp_verdict *v_r)
{
	for (int v = MXP_CONTINUE; v <= MXP_DISCARD; v++) {
		if (strcmp(word, verdict_names[v]) == 0) {
			*v_r = (enum mxp_verdict)v;
			return 0;
		}
	}
	return -1;
}

/*
 * mxp_verdict_merge - the more severe one.  An MXP_ERROR that reaches
 * here was not mapped to on_error: treat it as a tempfail, never a pass.
 */
enum mxp_verdict
mxp_verdict_merge(enum mxp_verdict a, enum mxp_verdict b)
{
	if (a == MXP_ERROR)
		a = MXP_TEMPFAIL;
	if (b == MXP_ERROR)
		b = MXP_TEMPFAIL;
	return a > b ? a : b;
}
