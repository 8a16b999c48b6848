/*
 * rewrite.h - an equivalent spelling of a valid SPF record that
 * libspf2's compiler accepts.
 */
#ifndef SPF_REWRITE_H
#define SPF_REWRITE_H

/*
 * spf_record_rewrite - record (already checked by spf_record_syntax_ok)
 * with unknown modifiers dropped, redirect= and exp= after the
 * mechanisms, and ip4/ip6 prefixes of length 0 split into two halves.
 * Returns a g_malloc'd string.
 */
char *spf_record_rewrite(const char *record);

#endif
