/*
 * main.c - mxparityd: options, the milter socket, privileges, signals.
 *
 * Startup order follows clamav-milter: load policy, umask, open the
 * socket, chown/chmod it, drop privileges, then serve.  libmilter's own
 * signal thread stops the milter on SIGHUP, so that thread is parked
 * (see sigwait below), every thread blocks the signals, and the main
 * thread alone takes them with sigtimedwait.  Reloads, counters and the
 * graceful stop run on a control thread; the main thread only turns
 * signals into requests.
 */
#include "config.h"
#include "build_paths.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <libmilter/mfapi.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "daemon/callbacks.h"
#include "daemon/control.h"
#include "daemon/status.h"
#include "util/counters.h"
#include "core/host.h"
#include "util/log.h"
#include "policy/modreg.h"
#include "policy/policy.h"
#include "util/thread_stack.h"

struct options {
	const char *policy;
	const char *socket;
	const char *user;
	const char *hostname;
	const char *module_dir;
	const char *socket_group;
	const char *control_socket; /* -S: mxparity status asks here; "none" for no socket */
	bool control_socket_given;
	mode_t socket_mode;
	int grace_seconds;
	int milter_timeout;  /* seconds libmilter waits for the MTA's next command */
	int max_connections; /* concurrent milter connections with a session; 0: no bound */
	bool foreground;
	bool check_only;
	bool allow_root; /* -R: keep serving as root, on purpose */
};

static atomic_bool milter_finished;
static pthread_t milter;

/* Requests from the signal loop to the control thread. */
enum { REQ_RELOAD = 1, REQ_COUNTERS = 2, REQ_STOP = 4 };
static pthread_mutex_t req_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t req_cond = PTHREAD_COND_INITIALIZER;
static unsigned requests;
static atomic_bool stopping, stopped;

/* notify - sd_notify when built with systemd, else nothing */
static void
notify(const char *state)
{
#ifdef HAVE_SYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}

/* usage - to stdout and exit 0 when asked for (-h, --help), else to stderr and exit 2 */
static void __attribute__((noreturn)) usage(FILE *out, int status)
{
	fprintf(out,
		"usage: mxparityd [-fC] [-c POLICY] [-p SOCKET] [-u USER[:GROUP]] [-n HOSTNAME]\n"
		"                 [-M MODULE_DIR] [-m SOCKET_MODE] [-g SOCKET_GROUP] [-S "
		"CONTROL_SOCKET]\n"
		"                 [-t GRACE] [-T MILTER_TIMEOUT] [-N MAX_CONNECTIONS] [-R]\n"
		"  -c POLICY     policy file (default %s)\n"
		"  -p SOCKET     unix:PATH or inet:PORT@ADDR (default %s)\n"
		"  -f            log to stderr as well as syslog (the daemon never forks)\n"
		"  -C            load the policy as the daemon would, report, and exit\n"
		"  -u USER[:GROUP]  drop to this user after opening the socket\n"
		"  -R            keep serving as root (without -u as root it refuses to start)\n"
		"  -n HOSTNAME   this host's name in the policy's mx map (default: gethostname)\n"
		"  -M DIR        module directory (default %s)\n"
		"  -m MODE       octal mode of a unix socket (default 0660)\n"
		"  -g GROUP      group of a unix socket\n"
		"  -S PATH       control socket for mxparity status (default %s; none: no socket)\n"
		"  -t SECONDS    how long SIGTERM waits for open transactions (default 30)\n"
		"  -T SECONDS    how long a connection may wait for the MTA's next command\n"
		"                (default 600)\n"
		"  -N COUNT      concurrent connections served; more get 451 4.3.2 (default 1000,\n"
		"                0: no bound)\n"
		"  -h, --help    this help\n"
		"  --version     the version, and the module ABI modules must be built for\n",
		DEFAULT_POLICY, DEFAULT_SOCKET, MODULEDIR, DEFAULT_CONTROL_SOCKET);
	exit(status);
}

/* version - --version, to stdout */
static void __attribute__((noreturn)) version(void)
{
	printf("mxparityd (%s) %s\nmodule ABI %u.%u; policy %s; modules %s\n", PACKAGE_NAME,
	       PACKAGE_VERSION, MXP_MODULE_ABI_MAJOR, MXP_MODULE_ABI_MINOR, DEFAULT_POLICY,
	       MODULEDIR);
	exit(0);
}

/* parse_options - argv into opts */
static void
parse_options(int argc, char **argv, struct options *opts)
{
	int c;

	*opts = (struct options){
		.policy = DEFAULT_POLICY,
		.socket = DEFAULT_SOCKET,
		.module_dir = MODULEDIR,
		.control_socket = DEFAULT_CONTROL_SOCKET,
		.socket_mode = 0660,
		.grace_seconds = 30,
		.milter_timeout = 600,
		.max_connections = 1000,
	};
	static const struct option long_options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};

	while ((c = getopt_long(argc, argv, "c:p:fCu:n:M:m:g:S:t:T:N:Rh", long_options, NULL)) !=
	       -1) {
		char *end;

		switch (c) {
		case 'c': opts->policy = optarg; break;
		case 'p': opts->socket = optarg; break;
		case 'f': opts->foreground = true; break;
		case 'C': opts->check_only = true; break;
		case 'R': opts->allow_root = true; break;
		case 'u': opts->user = optarg; break;
		case 'n': opts->hostname = optarg; break;
		case 'M': opts->module_dir = optarg; break;
		case 'g': opts->socket_group = optarg; break;
		case 'S':
			opts->control_socket = optarg;
			opts->control_socket_given = true;
			break;
		case 'm':
			opts->socket_mode = (mode_t)strtoul(optarg, &end, 8);
			if (*end != '\0' || opts->socket_mode > 0777)
				usage(stderr, 2);
			break;
		case 't':
			opts->grace_seconds = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || opts->grace_seconds < 0)
				usage(stderr, 2);
			break;
		case 'T':
			opts->milter_timeout = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || opts->milter_timeout < 1)
				usage(stderr, 2);
			break;
		case 'N':
			opts->max_connections = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || opts->max_connections < 0)
				usage(stderr, 2);
			break;
		case 'h': usage(stdout, 0);
		case 'V': version();
		default: usage(stderr, 2);
		}
	}
	if (optind != argc)
		usage(stderr, 2);
}

/* die - startup failures only: say why and exit */
static void __attribute__((noreturn, format(printf, 2, 3))) die(int status, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mxp_log(LOG_ERR, "fatal: %s", msg);
	if (!mxp_log_to_stderr())
		fprintf(stderr, "mxparityd: %s\n", msg);
	notify("STATUS=startup failed");
	exit(status);
}

/* check_socket_dir - a unix socket's directory must exist and be writable: say which */
static void
check_socket_dir(const char *socket)
{
	const char *path = NULL;
	char *dir;
	struct stat st;

	if (strncmp(socket, "unix:", 5) == 0)
		path = socket + 5;
	else if (strncmp(socket, "local:", 6) == 0)
		path = socket + 6;
	else if (strchr(socket, ':') == NULL)
		path = socket; /* libmilter takes a bare path as a unix socket */
	if (path == NULL)
		return;
	dir = g_path_get_dirname(path);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		die(1,
		    "cannot open socket %s: directory %s does not exist (the systemd unit creates "
		    "/run/mxparity; by hand: install -d -o mxparity -g mxparity -m 0750 %s)",
		    socket, dir, dir);
	if (access(dir, W_OK | X_OK) != 0)
		die(1, "cannot open socket %s: directory %s is not writable by uid %u", socket, dir,
		    (unsigned)geteuid());
	g_free(dir);
}

/* own_hostname - -n, else gethostname */
static const char *
own_hostname(const struct options *opts)
{
	static char name[256];

	if (opts->hostname != NULL)
		return opts->hostname;
	if (gethostname(name, sizeof(name) - 1) < 0)
		die(1, "gethostname: %s", strerror(errno));
	return name;
}

/* log_policy - the line at startup and after every reload */
static void
log_policy(const struct mxp_policy *pol)
{
	char modules[256], details[1024], keys[256];

	mxp_policy_module_names(pol, modules, sizeof(modules));
	mxp_policy_module_details(pol, details, sizeof(details));
	mxp_policy_key_ids(pol, keys, sizeof(keys));
	mxp_log(LOG_INFO,
		"policy loaded: version=%s digest=sha256:%s host=%s tier=%s modules=%s%s %s",
		pol->version, pol->digest, pol->self->name, pol->self->tier, modules, details,
		keys);
	/* Legal, but the tiers cannot vouch for one another: say so at every load. */
	if (pol->parity_key == NULL && pol->nhosts > 1)
		mxp_log(LOG_WARNING,
			"parity: no parity section in the policy: no stamps are added, "
			"and all mail from peers is filtered again in full");
}

/* load_policy - fresh snapshot; NULL with error_r on failure */
static struct mxp_policy *
load_policy(const struct options *opts, char **error_r)
{
	struct mxp_policy *pol;

	/* Modules installed since the last load become available on reload. */
	mxp_modreg_set_host(&mxp_host_api);
	if (mxp_modreg_load_dir(opts->module_dir, error_r) < 0)
		return NULL;
	if (mxp_policy_load(opts->policy, own_hostname(opts), &pol, error_r) < 0)
		return NULL;
	return pol;
}

/* fix_socket - mode and group of a unix socket, before dropping root */
static void
fix_socket(const struct options *opts)
{
	const char *path;

	if (strncmp(opts->socket, "unix:", 5) == 0)
		path = opts->socket + 5;
	else if (strncmp(opts->socket, "local:", 6) == 0)
		path = opts->socket + 6;
	else if (opts->socket[0] == '/')
		path = opts->socket;
	else
		return;
	/* As root, in a directory its user may write: never follow a link put there. */
	if (opts->socket_group != NULL) {
		struct group *gr = getgrnam(opts->socket_group);

		if (gr == NULL)
			die(1, "socket group %s does not exist", opts->socket_group);
		if (fchownat(AT_FDCWD, path, (uid_t)-1, gr->gr_gid, AT_SYMLINK_NOFOLLOW) < 0)
			die(1, "chown %s: %s", path, strerror(errno));
	}
	if (fchmodat(AT_FDCWD, path, opts->socket_mode, AT_SYMLINK_NOFOLLOW) < 0)
		die(1, "chmod %s: %s", path, strerror(errno));
}

/*
 * nodelay_listener - TCP_NODELAY on libmilter's listening TCP socket; the
 * connections it accepts inherit it (Linux, the BSDs).  libmilter writes
 * every reply packet on its own, at the end of a message one per header
 * change and then the verdict.  With Nagle's algorithm on, each packet after
 * the first waits until the MTA acknowledges the first, and the MTA, which
 * is only reading, delays that ACK: about 40 ms added to every message that
 * gets a header (measured with make bench; see doc/benchmarks.md).
 * libmilter does not hand out its socket, so it is found among our
 * descriptors: the listening sockets of family inet or inet6.
 */
static void
nodelay_listener(void)
{
	long max = sysconf(_SC_OPEN_MAX);

	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 0; fd < max; fd++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(int), sslen = sizeof(ss);
		int listening = 0, one = 1;

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 || !listening)
			continue;
		if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
			mxp_log(LOG_WARNING, "cannot set TCP_NODELAY on the milter socket: %s",
				strerror(errno));
	}
}

/* drop_privileges - -u USER[:GROUP]; verified, because a half drop is worse than none */
static void
drop_privileges(const char *spec)
{
	char user[128];
	const char *colon = strchr(spec, ':');
	struct passwd *pw;
	gid_t gid;

	snprintf(user, sizeof(user), "%.*s", colon ? (int)(colon - spec) : (int)strlen(spec), spec);
	pw = getpwnam(user);
	if (pw == NULL)
		die(1, "user %s does not exist", user);
	gid = pw->pw_gid;
	if (colon != NULL) {
		struct group *gr = getgrnam(colon + 1);
		if (gr == NULL)
			die(1, "group %s does not exist", colon + 1);
		gid = gr->gr_gid;
	}
	if (initgroups(pw->pw_name, gid) < 0 || setgid(gid) < 0 || setuid(pw->pw_uid) < 0)
		die(1, "cannot become %s: %s", spec, strerror(errno));
	if (setuid(0) == 0 && pw->pw_uid != 0)
		die(1, "privileges were not dropped: setuid(0) still works");
}

/* milter_thread - libmilter's accept loop */
static void *
milter_thread(void *arg)
{
	(void)arg;
	if (smfi_main() != MI_SUCCESS)
		mxp_log(LOG_ERR, "milter main loop failed");
	atomic_store(&milter_finished, true);
	return NULL;
}

/* reload - SIGHUP: a bad policy is refused and the old one keeps serving */
static void
reload(const struct options *opts)
{
	char *err = NULL;
	struct mxp_policy *pol, *old;

	notify("RELOADING=1");
	pol = load_policy(opts, &err);
	if (pol == NULL) {
		old = mxp_policy_acquire();
		mxp_log(LOG_ERR,
			"policy reload refused: %s; still serving version=%s digest=sha256:%s", err,
			old->version, old->digest);
		mxp_status_reload_failed(err);
		mxp_policy_unref(old);
		g_free(err);
	} else {
		mxp_policy_install(pol);
		mxp_status_policy_loaded(true);
		log_policy(pol);
	}
	notify("READY=1");
}

/* log_counters - the counters line, now */
static void
log_counters(time_t *last)
{
	char line[1024];

	mxp_counters_format(line, sizeof(line));
	mxp_log(LOG_INFO, "%s", line);
	*last = time(NULL);
}

/* log_counters_if_due - every counters_interval minutes of the current policy */
static void
log_counters_if_due(time_t *last)
{
	struct mxp_policy *pol = mxp_policy_acquire();

	if (pol->counters_interval > 0 && time(NULL) - *last >= pol->counters_interval * 60)
		log_counters(last);
	mxp_policy_unref(pol);
}

/* wait_until - poll cond every 100 ms for at most seconds */
static bool
wait_until(bool (*cond)(void), int seconds)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };

	for (int i = 0; i < seconds * 10 && !cond(); i++)
		nanosleep(&pause, NULL);
	return cond();
}

static bool
no_connections(void)
{
	return mxp_callbacks_active() == 0;
}

static bool
milter_done(void)
{
	return atomic_load(&milter_finished);
}

/*
 * graceful_stop - new connections are tempfailed while open ones get up
 * to the grace time to finish; only then is libmilter stopped.
 */
static void
graceful_stop(const struct options *opts)
{
	notify("STOPPING=1");
	mxp_log(LOG_INFO, "stopping: %d connection(s) open, waiting up to %d s",
		mxp_callbacks_active(), opts->grace_seconds);
	mxp_callbacks_drain();
	wait_until(no_connections, opts->grace_seconds);
	smfi_stop();
	if (wait_until(milter_done, 5))
		pthread_join(milter, NULL);
	mxp_log(LOG_INFO, "stopped with %d connection(s) still open", mxp_callbacks_active());
}

/*
 * sigwait - libmilter's signal thread is the only caller in this program,
 * and it would stop the milter on SIGHUP.  Our definition takes its place
 * (the executable's symbol wins over libc's), parks that thread for good,
 * and leaves the main thread as the one reader of our signals.
 */
int
sigwait(const sigset_t *set, int *sig)
{
	(void)set;
	(void)sig;
	for (;;)
		pause(); /* every signal is blocked here: this never returns */
}

/* block_signals - before any thread starts, so every thread inherits the block */
static void
block_signals(sigset_t *sigs)
{
	sigemptyset(sigs);
	sigaddset(sigs, SIGHUP);
	sigaddset(sigs, SIGTERM);
	sigaddset(sigs, SIGINT);
	sigaddset(sigs, SIGUSR1);
	if (pthread_sigmask(SIG_BLOCK, sigs, NULL) != 0)
		die(1, "cannot block signals");
}

/* request - hand work to the control thread */
static void
request(unsigned what)
{
	pthread_mutex_lock(&req_lock);
	requests |= what;
	pthread_cond_signal(&req_cond);
	pthread_mutex_unlock(&req_lock);
}

/* control_thread - reloads, counters and the stop, one at a time */
static void *
control_thread(void *arg)
{
	const struct options *opts = arg;
	time_t last_counters = time(NULL);

	for (;;) {
		struct timespec until;
		unsigned todo;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_mutex_lock(&req_lock);
		if (requests == 0)
			pthread_cond_timedwait(&req_cond, &req_lock, &until);
		todo = requests;
		requests = 0;
		pthread_mutex_unlock(&req_lock);

		if (todo & REQ_STOP) {
			graceful_stop(opts);
			atomic_store(&stopped, true);
			return NULL;
		}
		if (todo & REQ_RELOAD)
			reload(opts);
		if (todo & REQ_COUNTERS)
			log_counters(&last_counters);
		log_counters_if_due(&last_counters);
	}
}

/* control_group - the group the daemon runs as after -u, for the control socket; -1 to keep */
static long
control_group(const struct options *opts)
{
	char *user, *colon;
	long gid = -1;

	if (opts->user == NULL)
		return -1; /* the daemon's own group already (systemd's User=/Group=) */
	user = g_strdup(opts->user);
	colon = strchr(user, ':');
	if (colon != NULL) {
		struct group *gr;

		*colon = '\0';
		gr = getgrnam(colon + 1);
		gid = gr != NULL ? (long)gr->gr_gid : -1;
	} else {
		struct passwd *pw = getpwnam(user);

		gid = pw != NULL ? (long)pw->pw_gid : -1;
	}
	g_free(user);
	return gid;
}

/*
 * open_control - the control socket, before privileges are dropped.  One
 * given with -S must open; the default one may be missing (a daemon started
 * by hand with no /run/mxparity), which only costs mxparity status.
 */
static int
open_control(const struct options *opts)
{
	char *err = NULL;
	int fd;

	if (strcmp(opts->control_socket, "none") == 0)
		return -1;
	fd = mxp_control_open(opts->control_socket, control_group(opts), &err);
	if (fd < 0 && opts->control_socket_given)
		die(1, "%s", err);
	if (fd < 0)
		mxp_log(LOG_WARNING, "%s: mxparity status will not answer (give -S PATH)", err);
	g_free(err);
	return fd;
}

int
main(int argc, char **argv)
{
	struct options opts;
	struct mxp_policy *pol;
	char *err = NULL; /* startup only: die() reports it and exits */
	pthread_t control;
	sigset_t sigs;
	int control_fd;

	parse_options(argc, argv, &opts);
	mxp_log_open("mxparityd", opts.foreground, !opts.check_only);
	/* Before the policy load: modules may start threads of their own. */
	if (mxp_thread_stack_set(MXP_THREAD_STACK_SIZE, &err) < 0)
		die(1, "%s", err);

	mxp_host_set_checking(opts.check_only);
	pol = load_policy(&opts, &err);
	if (pol == NULL)
		die(2, "%s", err);
	if (opts.check_only) {
		/* For ExecStartPre/ExecReload: the same options, hostname included. */
		char keys[256];

		mxp_policy_key_ids(pol, keys, sizeof(keys));
		printf("policy ok: version=%s digest=sha256:%s host=%s tier=%s %s\n", pol->version,
		       pol->digest, pol->self->name, pol->self->tier, keys);
		mxp_policy_unref(pol);
		return 0;
	}
	mxp_policy_install(pol);
	mxp_status_started(opts.policy);
	mxp_status_policy_loaded(false);

	umask(0077);
	if (smfi_setconn((char *)opts.socket) != MI_SUCCESS)
		die(1, "invalid socket %s", opts.socket);
	if (smfi_register(mxp_milter_desc) != MI_SUCCESS)
		die(1, "smfi_register failed");
	/* libmilter's own default is 7210 s: a peer that stalls would hold a thread for two hours.
	 */
	if (smfi_settimeout(opts.milter_timeout) != MI_SUCCESS)
		die(1, "smfi_settimeout %d failed", opts.milter_timeout);
	mxp_callbacks_set_max(opts.max_connections);
	check_socket_dir(opts.socket);
	if (smfi_opensocket(true) != MI_SUCCESS)
		die(1, "cannot open socket %s (in use, or no permission?)", opts.socket);
	fix_socket(&opts);
	nodelay_listener();
	control_fd = open_control(&opts);
	if (opts.user != NULL)
		drop_privileges(opts.user);
	/* A filter of hostile input does not serve as root by accident. */
	if (geteuid() == 0 && !opts.allow_root)
		die(1, "refusing to serve as root: give -u USER[:GROUP] (the systemd unit runs as "
		       "User=mxparity), or -R to run as root on purpose");

	block_signals(&sigs);
	if (pthread_create(&milter, NULL, milter_thread, NULL) != 0 ||
	    pthread_create(&control, NULL, control_thread, &opts) != 0 ||
	    (control_fd >= 0 && mxp_control_start(control_fd) < 0))
		die(1, "cannot start threads");

	log_policy(pol);
	mxp_log(LOG_INFO, "mxparityd %s serving on %s as uid %d", PACKAGE_VERSION, opts.socket,
		(int)getuid());
	if (getuid() == 0)
		mxp_log(LOG_WARNING, "running as root: give -u USER to drop privileges");
	notify("READY=1");

	while (!atomic_load(&stopped)) {
		struct timespec tick = { 0, 200 * 1000 * 1000 };
		int sig = sigtimedwait(&sigs, NULL, &tick);

		if (sig == SIGHUP && !atomic_load(&stopping))
			request(REQ_RELOAD);
		else if (sig == SIGUSR1)
			request(REQ_COUNTERS);
		else if ((sig == SIGTERM || sig == SIGINT) && !atomic_exchange(&stopping, true))
			request(REQ_STOP);
		if (atomic_load(&milter_finished) && !atomic_load(&stopping)) {
			mxp_log(LOG_ERR, "milter loop ended unexpectedly; exiting");
			return 1;
		}
	}
	pthread_join(control, NULL);
	mxp_control_stop();
	/* Module instances (the av engine, its watcher) go only when no session can use them. */
	if (atomic_load(&milter_finished) && mxp_callbacks_active() == 0)
		mxp_policy_install(NULL);
	return 0;
}
