/*
 * syntax.c - a strict check of an SPF record against the ABNF of
 * RFC 7208 section 12, run before libspf2 compiles the record: libspf2
 * accepts many records that the RFC calls a syntax error, and a syntax
 * error must give permerror.
 *
 * The record comes from DNS, so it is hostile: the check reads it once
 * from left to right, never past len, allocates nothing and does not
 * recurse.  Every check returns NULL when its piece is fine, or a static
 * string saying what is wrong with it.
 */
#define _POSIX_C_SOURCE 200809L /* inet_pton */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "syntax.h"

/* A piece of the record; never NUL-terminated. */
struct span {
	const char *p;
	size_t len;
};

/* The modifiers that may appear at most once (RFC 7208 6). */
struct seen {
	unsigned redirect;
	unsigned exp;
};

/* At most this much of a bad term is quoted in the reason. */
#define QUOTE_MAX 60

/* The character classes of RFC 5234, for ASCII only: <ctype.h> follows the locale. */
static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alnum(char c)
{
	return is_alpha(c) || is_digit(c);
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* char_in - c is one of set (never the terminator, as strchr would have it) */
static bool
char_in(char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/* same_word - p[0..n) is word, ignoring ASCII case (ABNF strings are case-insensitive) */
static bool
same_word(const char *p, size_t n, const char *word)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (word[i] == '\0' || lower(p[i]) != word[i])
			return false;
	return word[i] == '\0';
}

/* rest - s without its first n bytes */
static struct span
rest(struct span s, size_t n)
{
	return (struct span){ s.p + n, s.len - n };
}

/* trailing_digits - how many digits end s */
static size_t
trailing_digits(struct span s)
{
	size_t n = 0;

	while (n < s.len && is_digit(s.p[s.len - 1 - n]))
		n++;
	return n;
}

/* fail - write the reason to why (which may be NULL) and say false */
static bool fail(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool
fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return false;
}

/*
 * check_cidr_length - the digits of an ip4-cidr-length (at most 32) or an
 * ip6-cidr-length (at most 128); the ABNF allows no leading zero.
 */
static const char *
check_cidr_length(const char *p, size_t n, bool ip6)
{
	unsigned value = 0;

	if (n == 0)
		return "cidr length has no digits";
	if (n > 1 && p[0] == '0')
		return "cidr length has a leading zero";
	if (n > 3)
		return ip6 ? "ip6 cidr length above 128" : "ip4 cidr length above 32";
	for (size_t i = 0; i < n; i++)
		value = value * 10 + (unsigned)(p[i] - '0');
	if (value > (ip6 ? 128u : 32u))
		return ip6 ? "ip6 cidr length above 128" : "ip4 cidr length above 32";
	return NULL;
}

/*
 * strip_dual_cidr - check and cut a dual-cidr-length ("/N", "//N" or
 * "/N//M") off the end of an a or mx argument.  A domain-spec cannot end
 * in "/" and digits, so whatever ends that way is meant as a cidr length.
 */
static const char *
strip_dual_cidr(struct span *s)
{
	const char *reason;
	size_t n = trailing_digits(*s);

	if (n > 0 && s->len >= n + 2 && s->p[s->len - n - 1] == '/' &&
	    s->p[s->len - n - 2] == '/') {
		if ((reason = check_cidr_length(s->p + s->len - n, n, true)) != NULL)
			return reason;
		s->len -= n + 2;
	}
	n = trailing_digits(*s);
	if (n > 0 && s->len >= n + 1 && s->p[s->len - n - 1] == '/') {
		if ((reason = check_cidr_length(s->p + s->len - n, n, false)) != NULL)
			return reason;
		s->len -= n + 1;
	}
	return NULL;
}

/*
 * macro_expand_len - the length of the macro-expand at the start of s:
 * "%%", "%_", "%-", or "%{" letter *DIGIT ["r"] *delimiter "}".
 * c, r and t expand only in an explanation fetched from DNS, never in
 * the record itself (RFC 7208 7.1).
 */
static const char *
macro_expand_len(struct span s, size_t *len_r)
{
	size_t i = 2, digits = 0, nonzero = 0;

	if (s.len < 2)
		return "'%' at the end";
	if (char_in(s.p[1], "%_-")) {
		*len_r = 2;
		return NULL;
	}
	if (s.p[1] != '{')
		return "'%' not followed by '{', '%', '_' or '-'";
	if (i == s.len)
		return "unterminated macro";
	if (char_in(lower(s.p[i]), "crt"))
		return "macro letters c, r and t are for explanation text only";
	if (!char_in(lower(s.p[i]), "slodiphv"))
		return "unknown macro letter";
	i++;
	for (; i < s.len && is_digit(s.p[i]); i++) {
		digits++;
		nonzero += s.p[i] != '0';
	}
	/* "If a DIGIT is specified, the value MUST be nonzero" (7.3) */
	if (digits > 0 && nonzero == 0)
		return "macro keeps zero labels";
	if (i < s.len && lower(s.p[i]) == 'r')
		i++;
	while (i < s.len && char_in(s.p[i], ".-+,/_="))
		i++;
	if (i == s.len || s.p[i] != '}')
		return "malformed macro: want %{letter digits r delimiters}";
	*len_r = i + 1;
	return NULL;
}

/*
 * scan_macro_string - s is a run of macro-literals and macro-expands;
 * *last_is_macro_r says which one ends it.  In a domain-spec (labels),
 * a literal '.' that starts s or follows another one is an empty label.
 */
static const char *
scan_macro_string(struct span s, bool labels, bool *last_is_macro_r)
{
	bool after_dot = true;
	size_t i = 0, n;
	const char *reason;

	*last_is_macro_r = false;
	while (i < s.len) {
		if (s.p[i] == '%') {
			if ((reason = macro_expand_len(rest(s, i), &n)) != NULL)
				return reason;
			i += n;
			*last_is_macro_r = true;
			after_dot = false;
			continue;
		}
		/* macro-literal = %x21-24 / %x26-7E */
		if (s.p[i] < 0x21 || s.p[i] > 0x7e)
			return "character not allowed in a macro-string";
		if (labels && s.p[i] == '.' && after_dot)
			return "empty label";
		after_dot = s.p[i] == '.';
		*last_is_macro_r = false;
		i++;
	}
	return NULL;
}

/*
 * check_toplabel - ( *alphanum ALPHA *alphanum ) /
 * ( 1*alphanum "-" *( alphanum / "-" ) alphanum ): not all digits, and
 * no '-' at either end.
 */
static const char *
check_toplabel(const char *p, size_t n)
{
	bool alpha = false, dash = false;

	if (n == 0)
		return "domain-spec must end in '.' and a top label, or in a macro";
	if (p[0] == '-' || p[n - 1] == '-')
		return "top label begins or ends with '-'";
	for (size_t i = 0; i < n; i++) {
		alpha |= is_alpha(p[i]);
		dash |= p[i] == '-';
	}
	if (!alpha && !dash)
		return "top label is numeric";
	return NULL;
}

/*
 * check_domain_end - d ends in a literal: domain-end = "." toplabel ["."].
 * The top label is the run of alphanum and '-' before the optional final
 * dot, and a '.' must come right before it.
 */
static const char *
check_domain_end(struct span d)
{
	size_t end = d.len, start;

	if (end > 0 && d.p[end - 1] == '.')
		end--;
	start = end;
	while (start > 0 && (is_alnum(d.p[start - 1]) || d.p[start - 1] == '-'))
		start--;
	if (start == 0 || d.p[start - 1] != '.')
		return start == end ? "domain-spec must end in '.' and a top label, or in a macro"
				    : "domain-spec has no '.' before its top label";
	return check_toplabel(d.p + start, end - start);
}

/* check_domain_spec - domain-spec = macro-string domain-end, not empty, no empty label */
static const char *
check_domain_spec(struct span d)
{
	bool last_is_macro;
	const char *reason;

	if (d.len == 0)
		return "empty domain-spec";
	if ((reason = scan_macro_string(d, true, &last_is_macro)) != NULL)
		return reason;
	return last_is_macro ? NULL : check_domain_end(d);
}

/*
 * check_ip4_address - ip4-network: four qnums 0..255 in decimal, no
 * leading zero (so "01" is refused, as inet_aton would read it as octal).
 */
static const char *
check_ip4_address(struct span a)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start = i;
		unsigned value = 0;

		if (part > 0) {
			if (i == a.len || a.p[i] != '.')
				return "not an IPv4 address";
			start = ++i;
		}
		while (i < a.len && is_digit(a.p[i]) && i - start < 3)
			value = value * 10 + (unsigned)(a.p[i++] - '0');
		if (i == start || value > 255 || (i - start > 1 && a.p[start] == '0'))
			return "not an IPv4 address";
	}
	return i == a.len ? NULL : "not an IPv4 address";
}

/* check_ip6_address - ip6-network: RFC 4291 2.2 text, as inet_pton reads it */
static const char *
check_ip6_address(struct span a)
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr addr;

	if (a.len == 0 || a.len >= sizeof(text))
		return "not an IPv6 address";
	for (size_t i = 0; i < a.len; i++)
		if (!is_digit(a.p[i]) && !char_in(lower(a.p[i]), "abcdef:."))
			return "not an IPv6 address";
	memcpy(text, a.p, a.len);
	text[a.len] = '\0';
	return inet_pton(AF_INET6, text, &addr) == 1 ? NULL : "not an IPv6 address";
}

/* check_ip - "ip4:" ip4-network [ip4-cidr-length], "ip6:" ip6-network [ip6-cidr-length] */
static const char *
check_ip(struct span arg, bool ip6)
{
	struct span addr;
	const char *slash, *reason;

	if (arg.len == 0 || arg.p[0] != ':')
		return ip6 ? "ip6 needs ':' and an address" : "ip4 needs ':' and an address";
	addr = rest(arg, 1);
	slash = memchr(addr.p, '/', addr.len);
	if (slash != NULL) {
		struct span cidr = rest(addr, (size_t)(slash - addr.p) + 1);

		if (trailing_digits(cidr) != cidr.len)
			return "malformed cidr length (no dual-cidr-length on ip4 or ip6)";
		if ((reason = check_cidr_length(cidr.p, cidr.len, ip6)) != NULL)
			return reason;
		addr.len = (size_t)(slash - addr.p);
	}
	return ip6 ? check_ip6_address(addr) : check_ip4_address(addr);
}

static const char *
check_ip4(struct span arg)
{
	return check_ip(arg, false);
}

static const char *
check_ip6(struct span arg)
{
	return check_ip(arg, true);
}

/* check_all - "all" takes nothing */
static const char *
check_all(struct span arg)
{
	return arg.len == 0 ? NULL : "all takes no argument";
}

/* check_target - ":" domain-spec, with no cidr length (include, exists) */
static const char *
check_target(struct span arg, const char *no_target, const char *no_cidr)
{
	struct span d;
	size_t n;

	if (arg.len == 0 || arg.p[0] != ':')
		return no_target;
	d = rest(arg, 1);
	n = trailing_digits(d);
	if (n > 0 && n < d.len && d.p[d.len - n - 1] == '/')
		return no_cidr;
	return check_domain_spec(d);
}

static const char *
check_include(struct span arg)
{
	return check_target(arg, "include needs ':' and a domain-spec",
			    "include takes no cidr length");
}

static const char *
check_exists(struct span arg)
{
	return check_target(arg, "exists needs ':' and a domain-spec",
			    "exists takes no cidr length");
}

/* check_ptr - "ptr" [ ":" domain-spec ], no cidr length */
static const char *
check_ptr(struct span arg)
{
	if (arg.len == 0)
		return NULL;
	return check_target(arg, "ptr takes no cidr length", "ptr takes no cidr length");
}

/* check_a_mx - "a" / "mx" [ ":" domain-spec ] [ dual-cidr-length ] */
static const char *
check_a_mx(struct span arg)
{
	const char *reason;

	if ((reason = strip_dual_cidr(&arg)) != NULL)
		return reason;
	if (arg.len == 0)
		return NULL;
	if (arg.p[0] != ':')
		return "malformed dual-cidr-length: want /ip4, //ip6 or /ip4//ip6";
	return check_domain_spec(rest(arg, 1));
}

static const struct mechanism {
	const char *name;
	const char *(*check)(struct span arg);
} mechanisms[] = {
	{ "all", check_all }, { "include", check_include }, { "a", check_a_mx },
	{ "mx", check_a_mx }, { "ptr", check_ptr },	    { "ip4", check_ip4 },
	{ "ip6", check_ip6 }, { "exists", check_exists },
};

/* check_directive - [ qualifier ] mechanism; the name ends at ':', '/' or the term's end */
static const char *
check_directive(struct span t)
{
	size_t start = 0, end;

	if (t.len > 0 && char_in(t.p[0], "+-?~"))
		start = 1;
	for (end = start; end < t.len && t.p[end] != ':' && t.p[end] != '/'; end++)
		;
	for (size_t i = 0; i < sizeof(mechanisms) / sizeof(mechanisms[0]); i++)
		if (same_word(t.p + start, end - start, mechanisms[i].name))
			return mechanisms[i].check(rest(t, end));
	return "unknown mechanism";
}

/* modifier_name_len - the length of name in a term that begins with name "=", else 0 */
static size_t
modifier_name_len(struct span t)
{
	size_t i = 1;

	if (t.len == 0 || !is_alpha(t.p[0]))
		return 0;
	while (i < t.len && (is_alnum(t.p[i]) || char_in(t.p[i], "-_.")))
		i++;
	return i < t.len && t.p[i] == '=' ? i : 0;
}

/* check_modifier - redirect= and exp= take a domain-spec, once each; others a macro-string */
static const char *
check_modifier(struct span t, size_t name_len, struct seen *seen)
{
	struct span value = rest(t, name_len + 1);
	bool last_is_macro;

	if (same_word(t.p, name_len, "redirect"))
		return seen->redirect++ > 0 ? "redirect= appears twice" : check_domain_spec(value);
	if (same_word(t.p, name_len, "exp"))
		return seen->exp++ > 0 ? "exp= appears twice" : check_domain_spec(value);
	return scan_macro_string(value, false, &last_is_macro);
}

/* check_term - a directive or a modifier; a name followed by '=' makes a modifier */
static const char *
check_term(struct span t, struct seen *seen)
{
	size_t name_len = modifier_name_len(t);

	return name_len > 0 ? check_modifier(t, name_len, seen) : check_directive(t);
}

/* find_bad_byte - the first byte that is not printable ASCII or a space, as *at_r */
static bool
find_bad_byte(const char *p, size_t len, size_t *at_r)
{
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e) {
			*at_r = i;
			return true;
		}
	}
	return false;
}

bool
spf_record_is_spf1(const char *txt, size_t len)
{
	return len >= 6 && same_word(txt, 6, "v=spf1") && (len == 6 || txt[6] == ' ');
}

bool
spf_record_syntax_ok_len(const char *record, size_t len, char *why, size_t whylen)
{
	struct seen seen = { 0, 0 };
	unsigned count = 0;
	size_t i = 6, bad;

	if (!spf_record_is_spf1(record, len))
		return fail(why, whylen,
			    "not an SPF record: want \"v=spf1\" then a space or the end");
	if (find_bad_byte(record, len, &bad))
		return fail(why, whylen, "byte 0x%02x at offset %zu is not printable ASCII",
			    (unsigned char)record[bad], bad);
	/* record = version terms *SP; terms = *( 1*SP ( directive / modifier ) ) */
	while (i < len) {
		struct span term;
		const char *reason;

		while (i < len && record[i] == ' ')
			i++;
		if (i == len)
			break;
		term.p = record + i;
		while (i < len && record[i] != ' ')
			i++;
		term.len = (size_t)(record + i - term.p);
		count++;
		if ((reason = check_term(term, &seen)) != NULL)
			return fail(why, whylen, "term %u '%.*s%s': %s", count,
				    (int)(term.len > QUOTE_MAX ? QUOTE_MAX : term.len), term.p,
				    term.len > QUOTE_MAX ? "..." : "", reason);
	}
	return true;
}

bool
spf_record_syntax_ok(const char *record, char *why, size_t whylen)
{
	return spf_record_syntax_ok_len(record, strlen(record), why, whylen);
}
