/*
 * status.c - `mxparity status`: one "status" request on the daemon's control
 * socket, printed as it comes ("name=value" lines) or, with --prometheus,
 * in the Prometheus text format for node_exporter's textfile collector.
 */
#include "config.h"
#include "build_paths.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>

#include "cli/status.h"

#define MAX_ANSWER (1024 * 1024)
#define TIMEOUT_S 5

enum { EXIT_OK = 0, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

/* ask - the daemon's answer to one request, or NULL with why */
static GString *
ask(const char *path, const char *request, char *why, size_t whylen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { TIMEOUT_S, 0 };
	GString *answer;
	char buf[4096];
	ssize_t n;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(why, whylen, "%s: path too long", path);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	/* Before connect: a unix connect to a full backlog waits up to the send timeout. */
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(why, whylen, "cannot reach mxparityd at %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (send(fd, request, strlen(request), MSG_NOSIGNAL) != (ssize_t)strlen(request)) {
		snprintf(why, whylen, "%s: cannot send the request: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	answer = g_string_new(NULL);
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0 && answer->len < MAX_ANSWER)
		g_string_append_len(answer, buf, n);
	close(fd);
	if (n < 0 || answer->len == 0 || strncmp(answer->str, "error:", 6) == 0) {
		snprintf(why, whylen, "%s: %s", path,
			 answer->len > 0 ? g_strchomp(answer->str)
			 : n < 0	 ? strerror(errno)
					 : "no answer");
		g_string_free(answer, TRUE);
		return NULL;
	}
	return answer;
}

/* value_of - the value of name= in the answer, or "" */
static const char *
value_of(GHashTable *facts, const char *name)
{
	const char *v = g_hash_table_lookup(facts, name);

	return v != NULL ? v : "";
}

/* label - a label value with \\, " and newlines escaped */
static void
label(GString *out, const char *name, const char *value, bool last)
{
	g_string_append_printf(out, "%s=\"", name);
	for (const char *c = value; *c != '\0'; c++) {
		if (*c == '\\' || *c == '"')
			g_string_append_c(out, '\\');
		if (*c == '\n')
			g_string_append(out, "\\n");
		else
			g_string_append_c(out, *c);
	}
	g_string_append(out, last ? "\"" : "\",");
}

/* metric - HELP, TYPE and one sample */
static void
metric(GString *out, const char *name, const char *type, const char *help, const char *value)
{
	g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", name, help, name, type,
			       name, value);
}

/* prometheus - the answer's facts as metrics */
static void
prometheus(const char *answer)
{
	GHashTable *facts = g_hash_table_new(g_str_hash, g_str_equal);
	char **lines = g_strsplit(answer, "\n", -1);
	GString *out = g_string_new(NULL);

	for (char **l = lines; *l != NULL; l++) {
		char *eq = strchr(*l, '=');

		if (eq != NULL) {
			*eq = '\0';
			g_hash_table_insert(facts, *l, eq + 1);
		}
	}
	metric(out, "mxparity_up", "gauge", "1 when mxparityd answered on its control socket", "1");
	g_string_append(out, "# HELP mxparity_info the daemon and the policy it serves\n"
			     "# TYPE mxparity_info gauge\nmxparity_info{");
	label(out, "version", value_of(facts, "version"), false);
	label(out, "policy_version", value_of(facts, "policy_version"), false);
	label(out, "policy_digest", value_of(facts, "policy_digest"), false);
	label(out, "policy_keys", value_of(facts, "policy_keys"), false);
	label(out, "host", value_of(facts, "host"), false);
	label(out, "tier", value_of(facts, "tier"), true);
	g_string_append(out, "} 1\n");
	metric(out, "mxparity_uptime_seconds", "gauge", "seconds since mxparityd started",
	       value_of(facts, "uptime_seconds"));
	metric(out, "mxparity_policy_on_disk_changed", "gauge",
	       "1 when the policy files differ from the policy served",
	       strcmp(value_of(facts, "policy_on_disk"), "same") == 0 ? "0" : "1");
	metric(out, "mxparity_last_reload_failed", "gauge", "1 when the last reload was refused",
	       strcmp(value_of(facts, "last_reload"), "ok") == 0 ||
			       strcmp(value_of(facts, "last_reload"), "none") == 0
		       ? "0"
		       : "1");
	g_string_append_printf(out,
			       "# HELP mxparity_reloads_total policy reloads, by result\n"
			       "# TYPE mxparity_reloads_total counter\n"
			       "mxparity_reloads_total{result=\"ok\"} %s\n"
			       "mxparity_reloads_total{result=\"failed\"} %s\n",
			       value_of(facts, "reloads_ok"), value_of(facts, "reloads_failed"));
	for (char **l = lines; *l != NULL; l++) {
		char name[128], help[160];

		if (strncmp(*l, "counter.", 8) != 0)
			continue;
		snprintf(name, sizeof(name), "mxparity_%s_total", *l + 8);
		snprintf(help, sizeof(help), "the %s counter of mxparityd's counters line", *l + 8);
		metric(out, name, "counter", help, value_of(facts, *l));
	}
	fputs(out->str, stdout);
	g_string_free(out, TRUE);
	g_strfreev(lines);
	g_hash_table_destroy(facts);
}

int
mxp_cli_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "prometheus", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = DEFAULT_CONTROL_SOCKET;
	bool as_prometheus = false;
	char why[1200];
	GString *answer;
	int c;

	while ((c = getopt_long(argc, argv, "S:", longopts, NULL)) != -1) {
		switch (c) {
		case 'S': path = optarg; break;
		case 'P': as_prometheus = true; break;
		default:
			fprintf(stderr,
				"usage: mxparity status [-S CONTROL_SOCKET] [--prometheus]\n");
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: mxparity status [-S CONTROL_SOCKET] [--prometheus]\n");
		return EXIT_USAGE;
	}
	answer = ask(path, "status\n", why, sizeof(why));
	if (answer == NULL) {
		fprintf(stderr, "mxparity: %s\n", why);
		/* For the textfile collector a complete answer is mxparity_up 0: exit 0, so
		 * that "... > FILE.tmp && mv FILE.tmp FILE" replaces a stale mxparity_up 1. */
		if (as_prometheus) {
			printf("# HELP mxparity_up 1 when mxparityd answered on its control "
			       "socket\n"
			       "# TYPE mxparity_up gauge\nmxparity_up 0\n");
			return EXIT_OK;
		}
		return EXIT_UNREACHABLE;
	}
	if (as_prometheus)
		prometheus(answer->str);
	else
		fputs(answer->str, stdout);
	g_string_free(answer, TRUE);
	return EXIT_OK;
}
