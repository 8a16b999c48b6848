/*
 * policy_source.c - the policy text that libconfuse parses.
 *
 * Why not hand the file to libconfuse directly: libconfuse 3.3 counts
 * every comment's line twice, so its error lines drift after the first
 * comment, and a postmaster must be told the exact line.  We blank the
 * comments (keeping newlines) and expand include("file") ourselves, and
 * keep a map from each line of the result back to its file and line.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/policy_source.h"
#include "util/digest.h"
#include "util/error.h"

#define MAX_INCLUDE_DEPTH 8
/* Bounds on what a policy may pull in: a file, every file together, and how many reads. */
#define MAX_FILE_BYTES (1024 * 1024)
#define MAX_TOTAL_BYTES (8 * 1024 * 1024)
#define MAX_FILE_READS 256

/*
 * read_bounded - the contents of a regular file of at most MAX_FILE_BYTES,
 * NUL-terminated.  Opened without blocking (a FIFO would hang a reload),
 * refused unless regular (/dev/zero would never end), and read once.
 */
static char *
read_bounded(const char *path, char **error_r)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;

	if (fd < 0) {
		mxp_error_set(error_r, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		mxp_error_set(error_r, "not a regular file");
		goto out;
	}
	if (st.st_size > MAX_FILE_BYTES) {
		mxp_error_set(error_r, "%lld bytes, more than a policy file may have (%d)",
			      (long long)st.st_size, MAX_FILE_BYTES);
		goto out;
	}
	buf = g_malloc((size_t)st.st_size + 2);
	for (;;) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mxp_error_set(error_r, "%s", strerror(errno));
			g_free(buf);
			buf = NULL;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > (size_t)st.st_size) { /* it grew while we read */
			mxp_error_set(error_r, "changed while it was read");
			g_free(buf);
			buf = NULL;
			goto out;
		}
	}
	buf[got] = '\0';
	if (strlen(buf) != got) {
		mxp_error_set(error_r, "holds a NUL byte");
		g_free(buf);
		buf = NULL;
	}
out:
	close(fd);
	return buf;
}

/* add_line - end an output line that came from file:line */
static void
add_line(struct mxp_policy_source *src, guint file, guint line)
{
	g_array_append_val(src->line_file, file);
	g_array_append_val(src->line_no, line);
}

/* skip_space - advance over blanks (not newlines) */
static const char *
skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static int read_file(const char *path, struct mxp_policy_source *src, int depth, const char *from,
		     char **error_r);

/*
 * try_include - if p starts `include("name")`, read that file in its
 * place and return the position after it; NULL when p is something else.
 */
static const char *
try_include(const char *p, const char *dir, struct mxp_policy_source *src, int depth,
	    const char *where, char **error_r, int *failed)
{
	const char *q;
	char *name, *path;
	int rc;

	if (strncmp(p, "include", 7) != 0)
		return NULL;
	q = skip_space(p + 7);
	if (*q != '(')
		return NULL;
	q = skip_space(q + 1);
	if (*q != '"')
		return NULL;
	p = ++q;
	while (*q != '\0' && *q != '"' && *q != '\n')
		q++;
	if (*q != '"') {
		mxp_error_set(error_r, "%s: unterminated file name in include()", where);
		*failed = 1;
		return p;
	}
	name = g_strndup(p, (gsize)(q - p));
	q = skip_space(q + 1);
	if (*q != ')') {
		mxp_error_set(error_r, "%s: expected ) after the file name in include()", where);
		g_free(name);
		*failed = 1;
		return q;
	}
	path = g_path_is_absolute(name) ? g_strdup(name) : g_build_filename(dir, name, NULL);
	rc = read_file(path, src, depth + 1, where, error_r);
	g_free(name);
	g_free(path);
	if (rc < 0)
		*failed = 1;
	return q + 1;
}

/* read_file - append path's text to src, blanking comments */
static int
read_file(const char *path, struct mxp_policy_source *src, int depth, const char *from,
	  char **error_r)
{
	char *contents = NULL, *dir = NULL, *why = NULL;
	guint file_index, line = 1, string_line = 0;
	const char *p;
	char where[1024];
	int failed = 0;
	enum { CODE, DQUOTE, SQUOTE, LINE_COMMENT, BLOCK_COMMENT } state = CODE;

	if (depth > MAX_INCLUDE_DEPTH) {
		mxp_error_set(error_r, "%s: includes nested deeper than %d", from,
			      MAX_INCLUDE_DEPTH);
		return -1;
	}
	/* Including a file twice is fine; including it from inside itself loops. */
	for (guint i = 0; i < src->chain->len; i++) {
		if (strcmp(g_ptr_array_index(src->chain, i), path) == 0) {
			mxp_error_set(error_r, "%s: %s includes itself", from, path);
			return -1;
		}
	}
	/* A diamond of includes multiplies: bound the reads and the text, not only the depth. */
	if (src->files->len >= MAX_FILE_READS || src->text->len > MAX_TOTAL_BYTES) {
		mxp_error_set(error_r, "%s: includes expand to more than %d files or %d bytes",
			      from != NULL ? from : path, MAX_FILE_READS, MAX_TOTAL_BYTES);
		return -1;
	}
	contents = read_bounded(path, &why);
	if (contents == NULL) {
		if (from != NULL)
			mxp_error_set(error_r, "%s: cannot include %s: %s", from, path, why);
		else
			mxp_error_set(error_r, "%s: %s", path, why);
		g_free(why);
		return -1;
	}
	file_index = src->files->len;
	g_ptr_array_add(src->files, g_strdup(path));
	{
		/* The bytes parsed, not the file as it is later: mxparity status compares them. */
		char hex[65] = "";

		mxp_sha256_hex(contents, strlen(contents), hex);
		g_ptr_array_add(src->sha256, g_strdup(hex));
	}
	g_ptr_array_add(src->chain, g_strdup(path));
	dir = g_path_get_dirname(path);

	for (p = contents; *p != '\0' && !failed; p++) {
		char c = *p;

		switch (state) {
		case CODE:
			if (c == '#' || (c == '/' && p[1] == '/')) {
				state = LINE_COMMENT;
				continue;
			}
			if (c == '/' && p[1] == '*') {
				state = BLOCK_COMMENT;
				g_string_append_c(src->text, ' ');
				p++;
				continue;
			}
			if (c == '"' || c == '\'') {
				state = c == '"' ? DQUOTE : SQUOTE;
				string_line = line;
			} else if (c == '{') {
				guint here = src->line_file->len + 1;
				g_array_append_val(src->open_braces, here);
			} else if (c == '}' && src->open_braces->len > 0) {
				g_array_set_size(src->open_braces, src->open_braces->len - 1);
			} else if (c == 'i' &&
				   (p == contents || (!g_ascii_isalnum(p[-1]) && p[-1] != '_'))) {
				const char *next;

				snprintf(where, sizeof(where), "%s:%u", path, line);
				next = try_include(p, dir, src, depth, where, error_r, &failed);
				if (next != NULL) {
					/* The included text ended a line of its own; keep going on
					 * ours. */
					p = next - 1;
					continue;
				}
			}
			break;
		case DQUOTE:
		case SQUOTE:
			/* No value spans lines: a quote left open is reported where it opened,
			 * not where libconfuse would find the next quote. */
			if (c == '\n') {
				mxp_error_set(
					error_r,
					"%s:%u: unterminated string: the %c opened here is not "
					"closed on this line",
					path, string_line, state == DQUOTE ? '"' : '\'');
				failed = 1;
				continue;
			}
			if (state == SQUOTE) {
				if (c == '\'')
					state = CODE;
				break;
			}
			if (c == '\\' && p[1] != '\0' && p[1] != '\n') {
				g_string_append_c(src->text, c);
				c = *++p;
			} else if (c == '"') {
				state = CODE;
			}
			break;
		case LINE_COMMENT:
			if (c != '\n')
				continue;
			state = CODE;
			break;
		case BLOCK_COMMENT:
			if (c == '*' && p[1] == '/') {
				state = CODE;
				p++;
			}
			if (c != '\n')
				continue;
			break;
		}
		g_string_append_c(src->text, c);
		if (c == '\n')
			add_line(src, file_index, line++);
	}
	if (!failed && state == BLOCK_COMMENT) {
		mxp_error_set(error_r, "%s:%u: unterminated /* comment", path, line);
		failed = 1;
	}
	if (!failed && (state == DQUOTE || state == SQUOTE)) {
		mxp_error_set(error_r, "%s:%u: unterminated string", path, string_line);
		failed = 1;
	}
	/* Every file ends its last line, so the map stays one entry per line. */
	if (!failed) {
		g_string_append_c(src->text, '\n');
		add_line(src, file_index, line);
	}
	g_ptr_array_set_size(src->chain, src->chain->len - 1);
	g_free(contents);
	g_free(dir);
	return failed ? -1 : 0;
}

/* mxp_policy_source_read - the main policy file and everything it includes */
int
mxp_policy_source_read(const char *path, struct mxp_policy_source *src, char **error_r)
{
	src->text = g_string_new(NULL);
	src->files = g_ptr_array_new_with_free_func(g_free);
	src->sha256 = g_ptr_array_new_with_free_func(g_free);
	src->line_file = g_array_new(FALSE, FALSE, sizeof(guint));
	src->line_no = g_array_new(FALSE, FALSE, sizeof(guint));
	src->chain = g_ptr_array_new_with_free_func(g_free);
	src->open_braces = g_array_new(FALSE, FALSE, sizeof(guint));
	if (read_file(path, src, 0, NULL, error_r) < 0)
		return -1;
	/* libconfuse accepts a section left open at the end of the text. */
	if (src->open_braces->len > 0) {
		char where[1024];

		mxp_policy_source_where(
			src, (int)g_array_index(src->open_braces, guint, src->open_braces->len - 1),
			where, sizeof(where));
		mxp_error_set(error_r, "%s: this { is never closed", where);
		return -1;
	}
	return 0;
}

void
mxp_policy_source_free(struct mxp_policy_source *src)
{
	if (src->text != NULL)
		g_string_free(src->text, TRUE);
	if (src->files != NULL)
		g_ptr_array_free(src->files, TRUE);
	if (src->sha256 != NULL)
		g_ptr_array_free(src->sha256, TRUE);
	if (src->line_file != NULL)
		g_array_free(src->line_file, TRUE);
	if (src->line_no != NULL)
		g_array_free(src->line_no, TRUE);
	if (src->chain != NULL)
		g_ptr_array_free(src->chain, TRUE);
	if (src->open_braces != NULL)
		g_array_free(src->open_braces, TRUE);
	memset(src, 0, sizeof(*src));
}

/* mxp_policy_source_where - map a line of the joined text back */
void
mxp_policy_source_where(const struct mxp_policy_source *src, int line, char *buf, size_t len)
{
	guint n = src->line_file->len;
	guint i;

	if (n == 0) {
		snprintf(buf, len, "?");
		return;
	}
	i = line < 1 ? 0 : (guint)line - 1;
	if (i >= n)
		i = n - 1;
	snprintf(buf, len, "%s:%u",
		 (const char *)g_ptr_array_index(src->files,
						 g_array_index(src->line_file, guint, i)),
		 g_array_index(src->line_no, guint, i));
}
