/*
 * error.h - the one error convention of the core: a function that can fail
 * returns 0 or -1 (or NULL) and says why through char **error_r, a string
 * it allocates and the caller frees with g_free.  *error_r must start NULL;
 * the first reason set stands.  error_r may be NULL when the caller does
 * not want to know.
 */
#ifndef MXP_ERROR_H
#define MXP_ERROR_H

/* mxp_error_set - *error_r = the formatted text, unless error_r is NULL or already set */
void mxp_error_set(char **error_r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
