/*
 * syntax.h - a strict RFC 7208 syntax check of an SPF record, for
 * the records libspf2's compiler accepts although the RFC makes them a
 * syntax error (and so a permerror).
 */
#ifndef SPF_SYNTAX_H
#define SPF_SYNTAX_H

#include <stdbool.h>
#include <stddef.h>

/*
 * spf_record_is_spf1 - txt is an SPF record by RFC 7208 4.5: "v=spf1"
 * (any case) followed by a space or the end.  "v=spf10" and "v=spf1mx"
 * are not SPF records at all, so they are not a syntax error either.
 */
bool spf_record_is_spf1(const char *txt, size_t len);

/*
 * spf_record_syntax_ok_len - the record (len bytes, character-strings
 * already joined; NUL bytes count as bytes) conforms to the ABNF of RFC
 * 7208 section 12 and the rules of section 6 and 7.1 that can be checked
 * without DNS.  On false, why gets a short reason such as
 * "term 3 'a:foo.1': top label is numeric" (why may be NULL).
 * A record that is not spf_record_is_spf1 gives false too.
 */
bool spf_record_syntax_ok_len(const char *record, size_t len, char *why, size_t whylen);

/* spf_record_syntax_ok - the same for a NUL-terminated record */
bool spf_record_syntax_ok(const char *record, char *why, size_t whylen);

#endif
