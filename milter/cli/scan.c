/*
 * scan.c - feeds an RFC 5322 file to a pipeline session the way an MTA
 * would over the milter protocol: envelope, header fields one by one
 * (continuation lines kept), end of headers, the body with CRLF line
 * ends, end of message.  Then optionally writes the edited message.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <glib.h>

#include "util/log.h"
#include "cli/scan.h"
#include "util/verdict.h"

/* Header fields as split from the file, kept for writing the output copy. */
struct parsed_header {
	char *name;
	char *value; /* without the leading space, continuation lines kept */
};

/* split_headers - header fields up to the blank line; returns body offset */
static size_t
split_headers(const char *text, size_t len, GArray *headers)
{
	size_t pos = 0;

	while (pos < len) {
		size_t eol = pos;
		struct parsed_header h;
		const char *colon;

		while (eol < len && text[eol] != '\n')
			eol++;
		if (eol == pos || (eol == pos + 1 && text[pos] == '\r'))
			return eol < len ? eol + 1 : len; /* the blank line */
		if ((text[pos] == ' ' || text[pos] == '\t') && headers->len > 0) {
			struct parsed_header *last =
				&g_array_index(headers, struct parsed_header, headers->len - 1);
			size_t l = eol > pos && text[eol - 1] == '\r' ? eol - 1 : eol;
			char *joined = g_strdup_printf("%s\n%.*s", last->value, (int)(l - pos),
						       text + pos);
			g_free(last->value);
			last->value = joined;
			pos = eol + 1;
			continue;
		}
		colon = memchr(text + pos, ':', eol - pos);
		if (colon == NULL)
			return pos; /* not a header: the body starts here, as MTAs do */
		h.name = g_strndup(text + pos, (gsize)(colon - (text + pos)));
		colon++;
		if (colon < text + eol && (*colon == ' ' || *colon == '\t'))
			colon++;
		h.value = g_strndup(colon,
				    (gsize)(text + eol - colon -
					    (text[eol - 1] == '\r' && text + eol > colon ? 1 : 0)));
		g_array_append_val(headers, h);
		pos = eol + 1;
	}
	return len;
}

/* crlf_body - the body with bare LF turned into CRLF, as SMTP carries it */
static GString *
crlf_body(const char *text, size_t len)
{
	GString *out = g_string_sized_new(len + len / 40);

	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
			g_string_append_c(out, '\r');
		g_string_append_c(out, text[i]);
	}
	return out;
}

/* removed - is the index-th header named name dropped by a removal */
static bool
removed(const struct mxp_final *fin, const char *name, unsigned index)
{
	for (guint i = 0; fin->removals != NULL && i < fin->removals->len; i++) {
		const struct mxp_header_edit *e = g_ptr_array_index(fin->removals, i);
		if (e->index == index && g_ascii_strcasecmp(e->name, name) == 0)
			return true;
	}
	return false;
}

/* write_output - added headers on top, removed ones left out, body as read */
static int
write_output(const char *out_path, const struct mxp_final *fin, GArray *headers, const char *body,
	     size_t body_len, char *err, size_t errlen)
{
	GString *out = g_string_new(NULL);
	GHashTable *counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GError *gerr = NULL;
	int rc = 0;

	for (guint i = 0; fin->additions != NULL && i < fin->additions->len; i++) {
		const struct mxp_header_edit *e = g_ptr_array_index(fin->additions, i);
		g_string_append_printf(out, "%s: %s\n", e->name, e->value);
	}
	for (guint i = 0; i < headers->len; i++) {
		const struct parsed_header *h = &g_array_index(headers, struct parsed_header, i);
		char *lower = g_ascii_strdown(h->name, -1);
		unsigned n = GPOINTER_TO_UINT(g_hash_table_lookup(counts, lower)) + 1;

		g_hash_table_replace(counts, lower, GUINT_TO_POINTER(n));
		if (!removed(fin, h->name, n))
			g_string_append_printf(out, "%s: %s\n", h->name, h->value);
	}
	g_string_append_c(out, '\n');
	g_string_append_len(out, body, (gssize)body_len);
	if (!g_file_set_contents(out_path, out->str, (gssize)out->len, &gerr)) {
		snprintf(err, errlen, "%s", gerr->message);
		g_error_free(gerr);
		rc = -1;
	}
	g_hash_table_destroy(counts);
	g_string_free(out, TRUE);
	return rc;
}

/* report_early - print the outcome of a transaction that ended before EOM */
static enum mxp_verdict
report_early(const char *path, const char *stage, const struct mxp_outcome *out, bool quiet)
{
	if (!quiet)
		printf("%s: %s at %s: %s %s %s\n", path, mxp_verdict_name(out->verdict), stage,
		       out->rcode, out->xcode, out->text);
	return out->verdict;
}

/* clear_header - GArray element destructor */
static void
clear_header(gpointer p)
{
	struct parsed_header *h = p;

	g_free(h->name);
	g_free(h->value);
}

enum mxp_verdict
mxp_scan_file(struct mxp_policy *pol, const struct mxp_scan_envelope *env, const char *path,
	      const char *out_path, char *err, size_t errlen)
{
	GError *gerr = NULL;
	char *text = NULL;
	gsize len = 0;
	enum mxp_verdict v;

	if (!g_file_get_contents(path, &text, &len, &gerr)) {
		snprintf(err, errlen, "%s", gerr->message);
		g_error_free(gerr);
		return MXP_ERROR;
	}
	v = mxp_scan_text(pol, env, path, text, len, out_path, false, err, errlen);
	g_free(text);
	return v;
}

enum mxp_verdict
mxp_scan_text(struct mxp_policy *pol, const struct mxp_scan_envelope *env, const char *path,
	      const char *text, size_t len, const char *out_path, bool quiet, char *err,
	      size_t errlen)
{
	struct mxp_session *s = NULL;
	struct mxp_outcome out;
	const struct mxp_final *fin;
	GArray *headers = g_array_new(FALSE, TRUE, sizeof(struct parsed_header));
	GString *body = NULL;
	size_t body_off;
	size_t accepted = 0;
	enum mxp_verdict v = MXP_ERROR;

	g_array_set_clear_func(headers, clear_header);
	s = mxp_session_new(pol, env->client_name, env->client_ip,
			    strchr(env->client_ip, ':') ? AF_INET6 : AF_INET);
	mxp_session_connect(s, &out);
	if (out.verdict >= MXP_TEMPFAIL) {
		v = report_early(path, "CONNECT", &out, quiet);
		goto out;
	}
	mxp_session_helo(s, env->helo, &out);
	if (out.verdict >= MXP_TEMPFAIL) {
		v = report_early(path, "HELO", &out, quiet);
		goto out;
	}
	mxp_session_mail(s, env->from, env->auth, &out);
	if (out.verdict >= MXP_TEMPFAIL) {
		v = report_early(path, "MAIL", &out, quiet);
		goto out;
	}
	for (size_t i = 0; i < env->nrcpts; i++) {
		mxp_session_rcpt(s, env->rcpts[i], &out);
		if (out.verdict >= MXP_TEMPFAIL) {
			char stage[400];
			snprintf(stage, sizeof(stage), "RCPT <%s>", env->rcpts[i]);
			/* With every recipient refused, the most severe refusal stands. */
			v = mxp_verdict_merge(v == MXP_ERROR ? MXP_CONTINUE : v,
					      report_early(path, stage, &out, quiet));
		} else {
			accepted++;
		}
	}
	if (accepted == 0)
		goto out; /* no recipient left: the client never reaches DATA */
	body_off = split_headers(text, len, headers);
	for (guint i = 0; i < headers->len; i++) {
		const struct parsed_header *h = &g_array_index(headers, struct parsed_header, i);

		mxp_session_header(s, h->name, h->value, &out);
		if (out.verdict >= MXP_TEMPFAIL)
			break;
	}
	if (out.verdict < MXP_TEMPFAIL)
		mxp_session_eoh(s, &out);
	body = crlf_body(text + body_off, len - body_off);
	for (size_t off = 0; out.verdict < MXP_TEMPFAIL && off < body->len; off += 65536) {
		size_t n = body->len - off < 65536 ? body->len - off : 65536;
		mxp_session_body(s, (const unsigned char *)body->str + off, n, &out);
	}
	fin = mxp_session_eom(s);
	if (!quiet)
		printf("%s: %s\n", path, fin->summary);
	v = fin->outcome.verdict;
	if (v >= MXP_TEMPFAIL && !quiet)
		printf("%s: reply %s %s %s\n", path, fin->outcome.rcode, fin->outcome.xcode,
		       fin->outcome.text);
	if (out_path != NULL && v < MXP_TEMPFAIL &&
	    write_output(out_path, fin, headers, text + body_off, len - body_off, err, errlen) < 0)
		v = MXP_ERROR;
	mxp_session_finish(s);
out:
	mxp_session_free(s);
	if (body != NULL)
		g_string_free(body, TRUE);
	g_array_free(headers, TRUE);
	return v;
}
