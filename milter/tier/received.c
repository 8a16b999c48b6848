/*
 * received.c - the original client in a peer's Received header.
 *
 * The value is read as RFC 5322 text: words, quoted strings and comments
 * that nest, with CR, LF, SP and HTAB all counted as white space.  Only the
 * from-clause and the host after "by" are looked at.  The client's address
 * must sit in the first comment after the first word (qmail: the second,
 * after a "(HELO x)" comment, which is never read as NAME [ADDR]), as its
 * first or second item: that comment is what the receiver wrote about the
 * connection, while the first word is the client's own HELO text.  Only
 * Exim's "from [ADDR] (port=P helo=H)" takes the address from the first
 * word, where Exim writes the peer's address.  Anything ambiguous is refused.
 *
 * Every scan moves forward over at most MXP_RECEIVED_MAX_LEN bytes, with no
 * recursion and no allocation.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include <glib.h>

#include "tier/received.h"

/* A piece of the value: not NUL-terminated. */
struct span {
	const char *p;
	size_t n;
};

enum item_kind { ITEM_NONE, ITEM_WORD, ITEM_QUOTED, ITEM_COMMENT, ITEM_OTHER };

/* One item inside a comment; a quoted string's text is without its quotes. */
struct item {
	enum item_kind kind;
	struct span text;
};

/* What one comment says about the connection. */
struct tcpinfo {
	struct item first, second;
	unsigned nitems;  /* counted up to 3 */
	struct span helo; /* Exim's helo=X or ZMailer's "EHLO X"; n == 0 if neither */
};

/* The result of reading a comment as TCP-info. */
enum addr_found { ADDR_NONE, ADDR_BAD, ADDR_OK };

static bool is_wsp(char c);
static bool is_ctl(unsigned char c);
static const char *skip_wsp(const char *p, const char *end);
static const char *comment_end(const char *p, const char *end);
static const char *next_item(const char *p, const char *end, struct item *it);
static void read_comment(const char *p, const char *end, struct tcpinfo *ti);
static bool span_ieq(struct span s, const char *lit);
static bool span_iprefix(struct span s, const char *lit);
static bool span_has_any(struct span s, const char *set);
static bool addr_text(struct span s, bool allow_v4, char *buf, size_t size);
static enum addr_found literal_addr(struct span word, char *buf, size_t size, bool *port_r);
static enum addr_found tcpinfo_addr(const struct tcpinfo *ti, char *buf, size_t size,
				    struct span *name_r, bool *port_r);
static bool exim_key(const struct item *it);
static void copy_span(char *dst, size_t size, struct span s);

/* is_wsp - white space, folding included */
static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* is_ctl - a control character no receiver writes into a header */
static bool
is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f;
}

/* skip_wsp - first byte at or after p that is not white space */
static const char *
skip_wsp(const char *p, const char *end)
{
	while (p < end && is_wsp(*p))
		p++;
	return p;
}

/* comment_end - p is at '(': just past the matching ')', or NULL if none before end */
static const char *
comment_end(const char *p, const char *end)
{
	size_t depth = 0;

	for (; p < end; p++) {
		if (*p == '\\') {
			if (++p == end)
				break;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')') {
			if (--depth == 0)
				return p + 1;
		}
	}
	return NULL;
}

/* next_item - lex one item of a comment's content [p, end); returns where the next starts */
static const char *
next_item(const char *p, const char *end, struct item *it)
{
	const char *start;

	p = skip_wsp(p, end);
	it->kind = ITEM_NONE;
	it->text.p = p;
	it->text.n = 0;
	if (p >= end)
		return p;
	if (*p == '(') {
		const char *ce = comment_end(p, end);

		it->kind = ITEM_COMMENT;
		if (ce == NULL)
			ce = end;
		it->text.n = (size_t)(ce - p);
		return ce;
	}
	if (*p == '"') {
		start = ++p;
		while (p < end && *p != '"') {
			if (*p == '\\' && p + 1 < end)
				p++;
			p++;
		}
		it->kind = ITEM_QUOTED;
		it->text.p = start;
		it->text.n = (size_t)(p - start);
		return p < end ? p + 1 : p;
	}
	if (*p == ')') {
		it->kind = ITEM_OTHER;
		it->text.n = 1;
		return p + 1;
	}
	start = p;
	while (p < end && !is_wsp(*p) && *p != '(' && *p != ')' && *p != '"')
		p++;
	it->kind = ITEM_WORD;
	it->text.n = (size_t)(p - start);
	return p;
}

/* read_comment - the first two items of a comment's content, and any HELO it names */
static void
read_comment(const char *p, const char *end, struct tcpinfo *ti)
{
	struct item it;

	memset(ti, 0, sizeof(*ti));
	for (;;) {
		p = next_item(p, end, &it);
		if (it.kind == ITEM_NONE)
			break;
		if (ti->nitems == 0)
			ti->first = it;
		else if (ti->nitems == 1)
			ti->second = it;
		if (ti->nitems < 3)
			ti->nitems++;
		if (ti->helo.n != 0)
			continue;
		if (it.kind == ITEM_WORD && span_iprefix(it.text, "helo=")) {
			ti->helo.p = it.text.p + 5;
			ti->helo.n = it.text.n - 5;
		} else if (it.kind == ITEM_QUOTED && it.text.n > 4 && is_wsp(it.text.p[4]) &&
			   (span_iprefix(it.text, "EHLO") || span_iprefix(it.text, "HELO"))) {
			const char *q = it.text.p + 4, *qend = it.text.p + it.text.n;
			const char *w;

			q = skip_wsp(q, qend);
			for (w = q; w < qend && !is_wsp(*w) && *w != '\\'; w++)
				;
			ti->helo.p = q;
			ti->helo.n = (size_t)(w - q);
		}
	}
}

/* span_ieq - s is lit, ignoring ASCII case */
static bool
span_ieq(struct span s, const char *lit)
{
	return s.n == strlen(lit) && g_ascii_strncasecmp(s.p, lit, s.n) == 0;
}

/* span_iprefix - s starts with lit, ignoring ASCII case */
static bool
span_iprefix(struct span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n >= n && g_ascii_strncasecmp(s.p, lit, n) == 0;
}

/* span_has_any - s holds one of the bytes in set */
static bool
span_has_any(struct span s, const char *set)
{
	for (size_t i = 0; i < s.n; i++)
		if (strchr(set, s.p[i]) != NULL)
			return true;
	return false;
}

/* addr_text - s is an address ("IPv6:" prefix allowed): its canonical text into buf */
static bool
addr_text(struct span s, bool allow_v4, char *buf, size_t size)
{
	char tmp[INET6_ADDRSTRLEN + 8];
	unsigned char bin[sizeof(struct in6_addr)];
	bool v6_only = false;

	if (span_iprefix(s, "IPv6:")) {
		s.p += 5;
		s.n -= 5;
		v6_only = true;
	}
	if (s.n == 0 || s.n >= sizeof(tmp))
		return false;
	memcpy(tmp, s.p, s.n);
	tmp[s.n] = '\0';
	if (!v6_only && allow_v4 && inet_pton(AF_INET, tmp, bin) == 1)
		return inet_ntop(AF_INET, bin, buf, (socklen_t)size) != NULL;
	if (inet_pton(AF_INET6, tmp, bin) == 1)
		return inet_ntop(AF_INET6, bin, buf, (socklen_t)size) != NULL;
	return false;
}

/* literal_addr - word "[ADDR]" or "[ADDR]:PORT": NONE if not a literal, BAD if it does not parse */
static enum addr_found
literal_addr(struct span word, char *buf, size_t size, bool *port_r)
{
	const char *close;
	struct span inner, rest;

	*port_r = false;
	if (word.n == 0 || word.p[0] != '[')
		return ADDR_NONE;
	close = memchr(word.p, ']', word.n);
	if (close == NULL)
		return ADDR_BAD;
	inner.p = word.p + 1;
	inner.n = (size_t)(close - inner.p);
	rest.p = close + 1;
	rest.n = word.n - (size_t)(rest.p - word.p);
	if (rest.n != 0) {
		if (rest.n < 2 || rest.n > 6 || rest.p[0] != ':')
			return ADDR_BAD;
		for (size_t i = 1; i < rest.n; i++)
			if (!g_ascii_isdigit(rest.p[i]))
				return ADDR_BAD;
		*port_r = true;
	}
	return addr_text(inner, true, buf, size) ? ADDR_OK : ADDR_BAD;
}

/*
 * tcpinfo_addr - the address in a comment: "([ADDR] ...)", "(NAME [ADDR] ...)"
 * or a lone "([info@]ADDR)"; name_r gets NAME (n == 0 if none).
 */
static enum addr_found
tcpinfo_addr(const struct tcpinfo *ti, char *buf, size_t size, struct span *name_r, bool *port_r)
{
	enum addr_found r;

	name_r->p = NULL;
	name_r->n = 0;
	*port_r = false;
	if (ti->first.kind != ITEM_WORD)
		return ADDR_NONE;
	r = literal_addr(ti->first.text, buf, size, port_r);
	if (r != ADDR_NONE)
		return r;
	if (ti->second.kind == ITEM_WORD && ti->second.text.p[0] == '[') {
		/* A name: no '=' (Exim's key=value), nothing a comment or literal uses. */
		if (span_has_any(ti->first.text, "=[]\\"))
			return ADDR_NONE;
		r = literal_addr(ti->second.text, buf, size, port_r);
		if (r == ADDR_OK) {
			/* Sendmail: "user@NAME" when ident answered. */
			const char *at = NULL;

			for (size_t i = 0; i < ti->first.text.n; i++)
				if (ti->first.text.p[i] == '@')
					at = ti->first.text.p + i;
			*name_r = ti->first.text;
			if (at != NULL) {
				name_r->n -= (size_t)(at + 1 - name_r->p);
				name_r->p = at + 1;
			}
		}
		return r;
	}
	if (ti->nitems == 1) {
		/* qmail "(info@ADDR)", Exchange "(ADDR)": no brackets, nothing else. */
		struct span a = ti->first.text;

		for (size_t i = a.n; i > 0; i--)
			if (a.p[i - 1] == '@') {
				a.p += i;
				a.n -= i;
				break;
			}
		if (addr_text(a, true, buf, size))
			return ADDR_OK;
	}
	return ADDR_NONE;
}

/* exim_key - an Exim "port=", "helo=" or "ident=" item, as after a bare [ADDR] */
static bool
exim_key(const struct item *it)
{
	return it->kind == ITEM_WORD &&
	       (span_iprefix(it->text, "helo=") || span_iprefix(it->text, "port=") ||
		span_iprefix(it->text, "ident="));
}

/* copy_span - s into dst as a string; "" when it does not fit */
static void
copy_span(char *dst, size_t size, struct span s)
{
	if (s.n >= size) {
		dst[0] = '\0';
		return;
	}
	if (s.n != 0)
		memcpy(dst, s.p, s.n);
	dst[s.n] = '\0';
}

bool
mxp_received_parse(const char *value, struct mxp_received *out)
{
	const char *p, *end, *ce;
	struct span from = { NULL, 0 }, name = { NULL, 0 }, helo = { NULL, 0 }, by = { NULL, 0 };
	struct tcpinfo ti;
	char addr[sizeof(out->client_addr)];
	enum addr_found found;
	bool port = false, explicit_helo = false, from_literal, exim_bare = false;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (value == NULL)
		return false;
	len = strnlen(value, MXP_RECEIVED_MAX_LEN + 1);
	if (len > MXP_RECEIVED_MAX_LEN)
		return false;
	end = value + len;
	for (p = value; p < end; p++)
		if (is_ctl((unsigned char)*p))
			return false;

	/* "from" and the client's HELO, one word up to white space. */
	p = skip_wsp(value, end);
	if (end - p < 5 || g_ascii_strncasecmp(p, "from", 4) != 0 || !is_wsp(p[4]))
		return false;
	p = skip_wsp(p + 4, end);
	from.p = p;
	while (p < end && !is_wsp(*p))
		p++;
	from.n = (size_t)(p - from.p);
	if (from.n == 0 || span_has_any(from, "()\"\\"))
		return false;
	from_literal = from.p[0] == '[';

	/* The receiver's comment on the connection. */
	p = skip_wsp(p, end);
	if (p >= end || *p != '(' || (ce = comment_end(p, end)) == NULL)
		return false;
	read_comment(p + 1, ce - 1, &ti);
	if (ti.first.kind == ITEM_WORD &&
	    (span_ieq(ti.first.text, "HELO") || span_ieq(ti.first.text, "EHLO"))) {
		/* qmail: from NAME (HELO HELO) ([info@]ADDR); never read as NAME [ADDR]. */
		if (ti.nitems == 2 && ti.second.kind == ITEM_WORD)
			helo = ti.second.text;
		explicit_helo = true;
		p = skip_wsp(ce, end);
		if (p >= end || *p != '(' || (ce = comment_end(p, end)) == NULL)
			return false;
		read_comment(p + 1, ce - 1, &ti);
		found = tcpinfo_addr(&ti, addr, sizeof(addr), &name, &port);
	} else {
		found = tcpinfo_addr(&ti, addr, sizeof(addr), &name, &port);
		if (found == ADDR_NONE && from_literal && exim_key(&ti.first)) {
			/* Exim without reverse name: from [ADDR] (port=P helo=HELO) */
			found = literal_addr(from, addr, sizeof(addr), &port);
			exim_bare = true;
		}
	}
	if (found != ADDR_OK)
		return false;
	if (!explicit_helo && ti.helo.n != 0) {
		helo = ti.helo;
		explicit_helo = true;
	}

	/* Further comments (TLS, authentication), then "by HOST". */
	for (p = ce;;) {
		p = skip_wsp(p, end);
		if (p >= end)
			break;
		if (*p == '(') {
			if ((ce = comment_end(p, end)) == NULL)
				return false;
			p = ce;
			continue;
		}
		if (*p == ')')
			return false;
		if (end - p > 3 && g_ascii_strncasecmp(p, "by", 2) == 0 && is_wsp(p[2])) {
			p = skip_wsp(p + 2, end);
			by.p = p;
			while (p < end && !is_wsp(*p) && *p != '(' && *p != ')' && *p != ';')
				p++;
			by.n = (size_t)(p - by.p);
		}
		break;
	}

	/*
	 * Who said what.  The first word is the HELO unless the receiver wrote
	 * the HELO out (Exim, ZMailer, qmail) or marked itself by a port
	 * (Exim): then the first word is its name for the client.
	 */
	if (!explicit_helo && !exim_bare)
		helo = from;
	if (name.n == 0 && (explicit_helo || port || exim_bare) && !from_literal)
		name = from;
	copy_span(out->helo, sizeof(out->helo), helo);
	copy_span(out->client_name, sizeof(out->client_name), name);
	copy_span(out->by, sizeof(out->by), by);
	g_strlcpy(out->client_addr, addr, sizeof(out->client_addr));
	return true;
}
