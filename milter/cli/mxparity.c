/*
 * mxparity.c - the operator's tool: `check` validates a policy the way
 * the daemon loads it, `scan` runs message files through the daemon's
 * own pipeline offline.
 *
 * Exit codes: 0 accept or tag, 1 reject, discard or quarantine,
 * 2 usage or policy error, 3 tempfail.
 */
#include "config.h"
#include "build_paths.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "core/host.h"
#include "util/log.h"
#include "policy/modreg.h"
#include "policy/policy.h"
#include "cli/audit.h"
#include "cli/scan.h"
#include "cli/status.h"
#include "util/verdict.h"

enum { EXIT_PASS = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_TEMPFAIL = 3 };

/* usage - to stdout and exit 0 when asked for (--help), else to stderr and exit 2 */
static void __attribute__((noreturn)) usage(FILE *out, int status)
{
	fprintf(out,
		"usage: mxparity check [-c POLICY] [-n HOSTNAME] [-M MODULE_DIR] [-v]\n"
		"       mxparity scan [-c POLICY] [-n HOSTNAME] [-M MODULE_DIR] [--client-ip IP]\n"
		"                     [--client-name NAME] [--helo NAME] [--from ADDR] [--auth "
		"USER]\n"
		"                     [--rcpt ADDR]... [--as-host NAME] [-o OUT] [--repeat N] "
		"FILE...\n"
		"       mxparity status [-S CONTROL_SOCKET] [--prometheus]\n"
		"       mxparity audit [-c POLICY] [-M MODULE_DIR] [--no-policy] [--resolver "
		"ADDR]\n"
		"                      [--json] [--probe [--port N] [--timeout S] "
		"[--allow-private]]\n"
		"                      DOMAIN\n"
		"       mxparity --help | --version\n"
		"exit: 0 accept/tag, 1 reject/discard/quarantine, 2 usage or policy error, 3 "
		"tempfail\n");
	exit(status);
}

/* version - --version, to stdout */
static void __attribute__((noreturn)) version(void)
{
	printf("mxparity (%s) %s\nmodule ABI %u.%u; policy %s; modules %s\n", PACKAGE_NAME,
	       PACKAGE_VERSION, MXP_MODULE_ABI_MAJOR, MXP_MODULE_ABI_MINOR, DEFAULT_POLICY,
	       MODULEDIR);
	exit(EXIT_PASS);
}

/* load - the module directory and the policy, or exit 2 with FILE:LINE */
static struct mxp_policy *
load(const char *policy, const char *hostname, const char *module_dir)
{
	char name[256], *why = NULL;
	struct mxp_policy *pol;

	if (hostname == NULL) {
		if (gethostname(name, sizeof(name) - 1) < 0)
			snprintf(name, sizeof(name), "localhost");
		name[sizeof(name) - 1] = '\0';
		hostname = name;
	}
	mxp_modreg_set_host(&mxp_host_api);
	if (mxp_modreg_load_dir(module_dir, &why) < 0) {
		fprintf(stderr, "mxparity: %s\n", why);
		exit(EXIT_USAGE);
	}
	if (mxp_policy_load(policy, hostname, &pol, &why) < 0) {
		fprintf(stderr, "%s\n", why);
		exit(EXIT_USAGE);
	}
	return pol;
}

/* cmd_check - validate and print the digest line, this host and its peers */
static int
cmd_check(int argc, char **argv)
{
	const char *policy = DEFAULT_POLICY, *hostname = NULL, *module_dir = MODULEDIR;
	bool verbose = false;
	struct mxp_policy *pol;
	char modules[256], keys[256];
	int c;

	while ((c = getopt(argc, argv, "c:n:M:v")) != -1) {
		switch (c) {
		case 'c': policy = optarg; break;
		case 'n': hostname = optarg; break;
		case 'M': module_dir = optarg; break;
		case 'v': verbose = true; break;
		default: usage(stderr, EXIT_USAGE);
		}
	}
	if (optind != argc)
		usage(stderr, EXIT_USAGE);
	mxp_host_set_checking(true);
	pol = load(policy, hostname, module_dir);
	mxp_policy_module_names(pol, modules, sizeof(modules));
	mxp_policy_key_ids(pol, keys, sizeof(keys));
	printf("policy ok: version=%s digest=sha256:%s %s\n", pol->version, pol->digest, keys);
	printf("this host: %s tier=%s modules=%s\n", pol->self->name, pol->self->tier, modules);
	for (size_t i = 0; i < pol->nhosts; i++)
		if (&pol->hosts[i] != pol->self)
			printf("peer: %s tier=%s\n", pol->hosts[i].name, pol->hosts[i].tier);
	if (verbose)
		printf("--- canonical form ---\n%s", pol->canonical);
	mxp_policy_unref(pol);
	return EXIT_PASS;
}

/* exit_code - the documented mapping from verdict to status */
static int
exit_code(enum mxp_verdict v)
{
	switch (v) {
	case MXP_TEMPFAIL: return EXIT_TEMPFAIL;
	case MXP_REJECT:
	case MXP_DISCARD:
	case MXP_QUARANTINE: return EXIT_REFUSED;
	case MXP_ERROR: return EXIT_USAGE;
	default: return EXIT_PASS;
	}
}

/* worse - the worst status: usage error, tempfail, then reject */
static int
worse(int worst, int code)
{
	if (code == EXIT_USAGE || (worst != EXIT_USAGE && code > worst))
		return code;
	return worst;
}

/*
 * scan_repeated - --repeat N: every file read once, then the whole list run
 * N times through the pipeline (a new session each time, as the daemon
 * makes one per connection).  Only the first round prints; then one line
 * with the rate, the in-process upper bound for what the daemon can do on
 * one core.
 */
static int
scan_repeated(struct mxp_policy *pol, const struct mxp_scan_envelope *env, char **files, int nfiles,
	      long repeat)
{
	char **texts = g_new0(char *, nfiles);
	gsize *lens = g_new0(gsize, nfiles);
	double bytes = 0, secs;
	gint64 t0;
	int worst = EXIT_PASS;
	long n = 0;

	for (int i = 0; i < nfiles; i++) {
		GError *gerr = NULL;

		if (!g_file_get_contents(files[i], &texts[i], &lens[i], &gerr)) {
			fprintf(stderr, "mxparity: %s: %s\n", files[i], gerr->message);
			g_error_free(gerr);
			worst = EXIT_USAGE;
			goto out;
		}
	}
	t0 = g_get_monotonic_time();
	for (long r = 0; r < repeat; r++) {
		for (int i = 0; i < nfiles; i++) {
			char *err = NULL;
			enum mxp_verdict v = mxp_scan_text(pol, env, files[i], texts[i], lens[i],
							   NULL, r > 0, &err);

			if (v == MXP_ERROR && r == 0)
				fprintf(stderr, "mxparity: %s: %s\n", files[i],
					err != NULL ? err : "scan failed");
			g_free(err);
			worst = worse(worst, exit_code(v));
			bytes += (double)lens[i];
			n++;
		}
	}
	secs = (double)(g_get_monotonic_time() - t0) / 1e6;
	printf("repeat: %ld messages (%d files x %ld) in %.3f s: %.1f msg/s, %.2f MB/s, "
	       "%.1f us/msg\n",
	       n, nfiles, repeat, secs, (double)n / secs, bytes / secs / 1e6,
	       secs * 1e6 / (double)n);
out:
	for (int i = 0; i < nfiles; i++)
		g_free(texts[i]);
	g_free(texts);
	g_free(lens);
	return worst;
}

/* cmd_scan - every file through one policy snapshot */
static int
cmd_scan(int argc, char **argv)
{
	enum {
		OPT_CLIENT_IP = 256,
		OPT_CLIENT_NAME,
		OPT_HELO,
		OPT_FROM,
		OPT_RCPT,
		OPT_AUTH,
		OPT_AS_HOST,
		OPT_REPEAT
	};
	static const struct option longopts[] = {
		{ "client-ip", required_argument, NULL, OPT_CLIENT_IP },
		{ "client-name", required_argument, NULL, OPT_CLIENT_NAME },
		{ "helo", required_argument, NULL, OPT_HELO },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "rcpt", required_argument, NULL, OPT_RCPT },
		{ "auth", required_argument, NULL, OPT_AUTH },
		{ "as-host", required_argument, NULL, OPT_AS_HOST },
		{ "repeat", required_argument, NULL, OPT_REPEAT },
		{ NULL, 0, NULL, 0 },
	};
	const char *policy = DEFAULT_POLICY, *hostname = NULL, *module_dir = MODULEDIR;
	const char *out_path = NULL;
	struct mxp_scan_envelope env = {
		.client_ip = "192.0.2.1",
		.client_name = "unknown",
		.helo = "client.example",
		.from = "<>",
	};
	GPtrArray *rcpts = g_ptr_array_new();
	struct mxp_policy *pol;
	long repeat = 1;
	char *end;
	int c, worst = EXIT_PASS;

	while ((c = getopt_long(argc, argv, "c:n:M:o:", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': policy = optarg; break;
		case 'n':
		case OPT_AS_HOST: hostname = optarg; break;
		case 'M': module_dir = optarg; break;
		case 'o': out_path = optarg; break;
		case OPT_CLIENT_IP: env.client_ip = optarg; break;
		case OPT_CLIENT_NAME: env.client_name = optarg; break;
		case OPT_HELO: env.helo = optarg; break;
		case OPT_FROM: env.from = optarg; break;
		case OPT_AUTH: env.auth = optarg; break;
		case OPT_RCPT: g_ptr_array_add(rcpts, optarg); break;
		case OPT_REPEAT:
			repeat = strtol(optarg, &end, 10);
			if (*end != '\0' || repeat < 1 || repeat > 100000000)
				usage(stderr, EXIT_USAGE);
			break;
		default: usage(stderr, EXIT_USAGE);
		}
	}
	if (optind == argc || (out_path != NULL && (argc - optind != 1 || repeat > 1)))
		usage(stderr, EXIT_USAGE);
	if (rcpts->len == 0)
		g_ptr_array_add(rcpts, "postmaster@example.com");
	env.rcpts = (const char *const *)rcpts->pdata;
	env.nrcpts = rcpts->len;
	pol = load(policy, hostname, module_dir);
	if (repeat > 1) {
		worst = scan_repeated(pol, &env, argv + optind, argc - optind, repeat);
		goto out;
	}
	for (int i = optind; i < argc; i++) {
		char *err = NULL;
		enum mxp_verdict v = mxp_scan_file(pol, &env, argv[i], out_path, &err);
		int code = exit_code(v);

		if (v == MXP_ERROR)
			fprintf(stderr, "mxparity: %s: %s\n", argv[i],
				err != NULL ? err : "scan failed");
		g_free(err);
		/* The worst outcome wins: usage error, tempfail, then reject. */
		worst = worse(worst, code);
	}
out:
	mxp_policy_unref(pol);
	g_ptr_array_free(rcpts, TRUE);
	return worst;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage(stderr, EXIT_USAGE);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0)
		usage(stdout, EXIT_PASS);
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)
		version();
	/* Module and rejection notes go to stderr; the summary lines to stdout. */
	mxp_log_open("mxparity", true, false);
	optind = 2;
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc, argv);
	if (strcmp(argv[1], "scan") == 0)
		return cmd_scan(argc, argv);
	if (strcmp(argv[1], "status") == 0)
		return mxp_cli_status(argc, argv);
	if (strcmp(argv[1], "audit") == 0)
		return mxp_cli_audit(argc, argv);
	usage(stderr, EXIT_USAGE);
}
