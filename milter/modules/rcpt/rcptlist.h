/*
 * rcptlist.h - the recipients list: one address a line, "@domain" for a
 * whole domain, "#" comments; and the lookup of one recipient in it.
 */
#ifndef RCPT_LIST_H
#define RCPT_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <glib.h>

#define RCPT_MAX_LINE 1024
#define RCPT_MAX_ADDRESS 320

/*
 * rcpt_list_read - add every entry of fp (named path in errors) to known,
 * lower-cased; 0, or -1 with "PATH:LINE: why" in err.
 */
int rcpt_list_read(GHashTable *known, FILE *fp, const char *path, char *err, size_t errlen);

/*
 * rcpt_list_knows - addr (lower case, at most RCPT_MAX_ADDRESS bytes, with
 * an '@') is in known: exactly, without its extension (the part from the
 * first of delimiters to the '@'), or through "@domain".  addr may be
 * shortened in place.
 */
bool rcpt_list_knows(GHashTable *known, const char *delimiters, char *addr);

#endif
