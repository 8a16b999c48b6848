/*
 * policy_source.h - reads a policy file and its include()s into one
 * buffer for libconfuse, with a map back to each file and line.
 */
#ifndef MXP_POLICY_SOURCE_H
#define MXP_POLICY_SOURCE_H

#include <stddef.h>

#include <glib.h>

struct mxp_policy_source {
	GString *text;	     /* comments blanked, includes expanded */
	GPtrArray *files;    /* char *: every file read, the main one first */
	GPtrArray *sha256;   /* char *: the hex SHA-256 of what was read, per files entry */
	GArray *line_file;   /* guint index into files, per output line (0-based) */
	GArray *line_no;     /* guint line number in that file, per output line */
	GPtrArray *chain;    /* char *: the files being read, outermost first */
	GArray *open_braces; /* guint output line of each { not yet closed */
};

/* mxp_policy_source_read - 0, or -1 with "FILE:LINE: why" in error_r */
int mxp_policy_source_read(const char *path, struct mxp_policy_source *src, char **error_r);
void mxp_policy_source_free(struct mxp_policy_source *src);
/* mxp_policy_source_where - "FILE:LINE" for a 1-based line of text */
void mxp_policy_source_where(const struct mxp_policy_source *src, int line, char *buf, size_t len);

#endif
