/*
 * check_clamd.c - the clamd backend's parts that need no clamd: the reply
 * parser (every reply shape clamd writes, and what it never writes), the
 * server pool's state machine on a clock of the test's own, and the
 * protocol client against fake servers on loopback (a clean reply, a
 * garbage one, a stall, a close mid-reply, a StreamMaxLength refusal),
 * and against a real clamd (Debian's clamav-daemon) that the test starts
 * on a private socket with a database it writes.
 */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "clamd_client.h"
#include "clamd_pool.h"
#include "clamd_reply.h"
#include "check_mxparity.h"

/* parse - clamd_reply_parse on a C string */
static struct clamd_reply
parse(const char *text)
{
	struct clamd_reply r;

	clamd_reply_parse(text, strlen(text), &r);
	return r;
}

START_TEST(test_reply_shapes)
{
	struct clamd_reply r;

	r = parse("stream: OK");
	ck_assert_int_eq(r.verdict, CLAMD_CLEAN);
	r = parse("stream: Eicar-Test-Signature FOUND");
	ck_assert_int_eq(r.verdict, CLAMD_FOUND);
	ck_assert_str_eq(r.name, "Eicar-Test-Signature");
	r = parse("stream: Win.Test.EICAR_HDB-1 FOUND");
	ck_assert_int_eq(r.verdict, CLAMD_FOUND);
	ck_assert_str_eq(r.name, "Win.Test.EICAR_HDB-1");
	r = parse("stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND");
	ck_assert_int_eq(r.verdict, CLAMD_LIMITS);
	ck_assert_str_eq(r.name, "MaxFileSize");
	r = parse("INSTREAM size limit exceeded. ERROR");
	ck_assert_int_eq(r.verdict, CLAMD_LIMITS);
	ck_assert_str_eq(r.name, "StreamMaxLength");
	r = parse("stream: Can't allocate memory ERROR");
	ck_assert_int_eq(r.verdict, CLAMD_ERROR);
	ck_assert_str_eq(r.name, "Can't allocate memory ERROR");
	r = parse("COMMAND READ TIMED OUT");
	ck_assert_int_eq(r.verdict, CLAMD_ERROR);
	/* ExtendedDetectionInfo (Debian's default): the name without the detail */
	r = parse("stream: Eicar-Test-Signature(44d88612fea8a8f36de82e1278abb02f:68) FOUND");
	ck_assert_int_eq(r.verdict, CLAMD_FOUND);
	ck_assert_str_eq(r.name, "Eicar-Test-Signature");
	r = parse("stream: Heuristics.Limits.Exceeded.MaxFileSize(0:0) FOUND");
	ck_assert_int_eq(r.verdict, CLAMD_LIMITS);
	ck_assert_str_eq(r.name, "MaxFileSize");
	/* limits without AlertExceedsMax: libclamav's own words, as the libclamav backend says */
	r = parse("stream: Exceeded max recursion depth ERROR");
	ck_assert_int_eq(r.verdict, CLAMD_LIMITS);
	ck_assert_str_eq(r.name, "Exceeded max recursion depth");
	r = parse("stream: Exceeded time limit ERROR");
	ck_assert_int_eq(r.verdict, CLAMD_LIMITS);
}
END_TEST

/* Nothing but those shapes is clean, and nothing unreadable is a virus either. */
START_TEST(test_reply_never_clean_by_accident)
{
	static const char *const bad[] = {
		"",
		"stream: ",
		"stream: OK ",
		"stream:OK",
		"STREAM: OK",
		"stream: OKAY",
		"stream: OK\n",
		"other: OK",
		"stream: two words FOUND",
		"stream:  FOUND",
		"stream: FOUND",
		"stream: Name\tX FOUND",
		"stream: Name\x01 FOUND",
		"stream: two words(x:1) FOUND",
		"stream: (x:1) FOUND",
		"stream: Exceeded max recursion depth",
		"PONG",
		"stream: Eicar-Test-Signature FOUN",
		"INSTREAM size limit exceeded.",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		struct clamd_reply r = parse(bad[i]);

		ck_assert_msg(r.verdict == CLAMD_ERROR, "\"%s\" read as %d", bad[i], r.verdict);
	}
	/* a NUL inside, and a reply beyond the bound */
	{
		struct clamd_reply r;
		char big[CLAMD_REPLY_MAX + 2];

		clamd_reply_parse("stream: OK\0x", 12, &r);
		ck_assert_int_eq(r.verdict, CLAMD_ERROR);
		memset(big, 'A', sizeof(big));
		memcpy(big, "stream: ", 8);
		memcpy(big + sizeof(big) - 6, " FOUND", 6);
		clamd_reply_parse(big, sizeof(big), &r);
		ck_assert_int_eq(r.verdict, CLAMD_ERROR);
		clamd_reply_parse(NULL, 0, &r);
		ck_assert_int_eq(r.verdict, CLAMD_ERROR);
	}
}
END_TEST

START_TEST(test_addr_parse)
{
	struct clamd_addr a;
	char err[256];

	ck_assert_int_eq(clamd_addr_parse("unix:/run/clamav/clamd.ctl", &a, err, sizeof(err)), 0);
	ck_assert(a.is_unix);
	ck_assert_str_eq(a.path, "/run/clamav/clamd.ctl");
	ck_assert_int_eq(clamd_addr_parse("tcp:10.0.0.5:3310", &a, err, sizeof(err)), 0);
	ck_assert(!a.is_unix);
	ck_assert_str_eq(a.host, "10.0.0.5");
	ck_assert_str_eq(a.port, "3310");
	ck_assert_int_eq(clamd_addr_parse("tcp:[2001:db8::5]:3310", &a, err, sizeof(err)), 0);
	ck_assert_str_eq(a.host, "2001:db8::5");
	static const char *const bad[] = {
		"clamd.example.com:3310",
		"tcp:clamd.example.com:3310",
		"tcp:10.0.0.5",
		"tcp:10.0.0.5:0",
		"tcp:10.0.0.5:65536",
		"tcp:10.0.0.5:33x",
		"tcp:[2001:db8::5]3310",
		"tcp:2001:db8::5:3310",
		"unix:relative",
		"unix:",
		"tcp::3310",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		ck_assert_msg(clamd_addr_parse(bad[i], &a, err, sizeof(err)) < 0, "%s accepted",
			      bad[i]);
}
END_TEST

static const struct clamd_pool_settings pool_st = {
	.fail_count = 3, .fail_window = 10000, .revive = 30000, .max_per_host = 2
};

START_TEST(test_pool_round_robin_and_tried)
{
	struct clamd_pool *p = clamd_pool_new(3, &pool_st);
	bool full, probe;
	int a, b, c;

	a = clamd_pool_pick(p, 0, 0, &full, &probe);
	b = clamd_pool_pick(p, 0, 0, &full, &probe);
	c = clamd_pool_pick(p, 0, 0, &full, &probe);
	ck_assert_int_eq(a, 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(c, 2);
	ck_assert(!probe);
	clamd_pool_result(p, a, true, false, 1);
	clamd_pool_result(p, b, true, false, 1);
	clamd_pool_result(p, c, true, false, 1);
	/* the servers a message already tried are skipped */
	ck_assert_int_eq(clamd_pool_pick(p, 2, 1u << 0 | 1u << 1, &full, &probe), 2);
	clamd_pool_result(p, 2, true, false, 2);
	ck_assert_int_eq(clamd_pool_pick(p, 2, 7u, &full, &probe), -1);
	ck_assert(!full);
	clamd_pool_free(p);
	/* at most max_per_host scans at once on one server; a full one is worth waiting for */
	p = clamd_pool_new(1, &pool_st);
	ck_assert_int_eq(clamd_pool_pick(p, 0, 0, &full, &probe), 0);
	ck_assert_int_eq(clamd_pool_pick(p, 0, 0, &full, &probe), 0);
	ck_assert_int_eq(clamd_pool_pick(p, 0, 0, &full, &probe), -1);
	ck_assert(full);
	ck_assert_int_eq(clamd_pool_pick(p, 0, 1u, &full, &probe), -1);
	ck_assert(!full); /* already tried: not */
	clamd_pool_result(p, 0, true, false, 1);
	ck_assert_int_eq(clamd_pool_pick(p, 1, 0, &full, &probe), 0);
	clamd_pool_free(p);
	/* bounds */
	ck_assert_ptr_null(clamd_pool_new(0, &pool_st));
	ck_assert_ptr_null(clamd_pool_new(CLAMD_POOL_MAX_SERVERS + 1, &pool_st));
}
END_TEST

START_TEST(test_pool_down_probe_and_back)
{
	struct clamd_pool *p = clamd_pool_new(2, &pool_st);
	bool full, probe;

	/* two failures, then one outside the window: still up */
	ck_assert_int_eq(clamd_pool_result(p, 0, false, false, 0), CLAMD_SAME);
	ck_assert_int_eq(clamd_pool_result(p, 0, false, false, 1000), CLAMD_SAME);
	ck_assert_int_eq(clamd_pool_result(p, 0, false, false, 20000), CLAMD_SAME);
	ck_assert_int_eq(clamd_pool_state(p, 0, 20000), CLAMD_UP);
	/* a success in between does not forgive: three within ten seconds mark it down */
	ck_assert_int_eq(clamd_pool_result(p, 0, false, false, 21000), CLAMD_SAME);
	ck_assert_int_eq(clamd_pool_result(p, 0, true, false, 21500), CLAMD_SAME);
	ck_assert_int_eq(clamd_pool_result(p, 0, false, false, 22000), CLAMD_WENT_DOWN);
	ck_assert_int_eq(clamd_pool_state(p, 0, 22000), CLAMD_DOWN);
	/* a scan that was in flight when it went down decides nothing */
	ck_assert_int_eq(clamd_pool_result(p, 0, true, false, 22100), CLAMD_SAME);
	ck_assert_int_eq(clamd_pool_state(p, 0, 22100), CLAMD_DOWN);
	/* every pick goes to the other server until revive */
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(clamd_pool_pick(p, 23000, 0, &full, &probe), 1);
		ck_assert(!probe);
		clamd_pool_result(p, 1, true, false, 23000);
	}
	/* with only the down one left to try, nothing before revive, and no waiting */
	ck_assert_int_eq(clamd_pool_pick(p, 23000, 1u << 1, &full, &probe), -1);
	ck_assert(!full);
	/* after revive the down one gets its probe first, even with the other up */
	ck_assert_int_eq(clamd_pool_state(p, 0, 52000), CLAMD_PROBING);
	ck_assert_int_eq(clamd_pool_pick(p, 52000, 0, &full, &probe), 0);
	ck_assert(probe);
	/* one probe at a time; meanwhile the others take the scans, and with none left: wait */
	ck_assert_int_eq(clamd_pool_pick(p, 52000, 0, &full, &probe), 1);
	ck_assert(!probe);
	clamd_pool_result(p, 1, true, false, 52000);
	ck_assert_int_eq(clamd_pool_pick(p, 52000, 1u << 1, &full, &probe), -1);
	ck_assert(full);
	/* a failed probe waits another revive */
	ck_assert_int_eq(clamd_pool_result(p, 0, false, true, 53000), CLAMD_SAME);
	ck_assert_int_eq(clamd_pool_state(p, 0, 60000), CLAMD_DOWN);
	ck_assert_int_eq(clamd_pool_pick(p, 60000, 1u << 1, &full, &probe), -1);
	/* a good probe brings it back, its count reset */
	ck_assert_int_eq(clamd_pool_pick(p, 83000, 1u << 1, &full, &probe), 0);
	ck_assert(probe);
	ck_assert_int_eq(clamd_pool_result(p, 0, true, true, 83000), CLAMD_CAME_BACK);
	ck_assert_int_eq(clamd_pool_state(p, 0, 83000), CLAMD_UP);
	ck_assert_int_eq(clamd_pool_result(p, 0, false, false, 84000), CLAMD_SAME);
	ck_assert_int_eq(clamd_pool_state(p, 0, 84000), CLAMD_UP);
	clamd_pool_free(p);
}
END_TEST

/* --- the client against fake servers ------------------------------------------------ */

enum fake_mode {
	FAKE_CLEAN,
	FAKE_FOUND,
	FAKE_GARBAGE,
	FAKE_STALL,
	FAKE_CLOSE_MID,
	FAKE_LIMIT,
	FAKE_EARLY_OK, /* "stream: OK" before reading the stream, then close */
};

struct fake {
	int listen_fd;
	enum fake_mode mode;
	size_t got; /* stream bytes read */
	char command[32];
};

/* read_n - n bytes, or false */
static bool
read_n(int fd, void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

static void *
fake_serve(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->listen_fd, NULL, NULL);
	size_t o = 0;
	char c;

	if (fd < 0)
		return NULL;
	while (o + 1 < sizeof(f->command) && read(fd, &c, 1) == 1 && c != '\0')
		f->command[o++] = c;
	f->command[o] = '\0';
	if (f->mode == FAKE_EARLY_OK) {
		(void)!write(fd, "stream: OK", 11);
		close(fd);
		return NULL;
	}
	for (;;) {
		uint32_t be;
		unsigned char buf[4096];
		size_t len;

		if (f->mode == FAKE_LIMIT && f->got >= 1000)
			break;
		if (!read_n(fd, &be, 4))
			break;
		len = ntohl(be);
		if (len == 0)
			break;
		while (len > 0) {
			size_t n = len < sizeof(buf) ? len : sizeof(buf);

			if (!read_n(fd, buf, n))
				goto out;
			f->got += n;
			len -= n;
		}
	}
	switch (f->mode) {
	case FAKE_CLEAN: (void)!write(fd, "stream: OK", 11); break;
	case FAKE_FOUND: (void)!write(fd, "stream: Eicar-Test-Signature FOUND", 35); break;
	case FAKE_GARBAGE: (void)!write(fd, "stream: all good, trust me", 27); break;
	case FAKE_STALL: sleep(3); break;
	case FAKE_CLOSE_MID: (void)!write(fd, "stream: O", 9); break;
	case FAKE_LIMIT: (void)!write(fd, "INSTREAM size limit exceeded. ERROR", 36); break;
	case FAKE_EARLY_OK: break;
	}
out:
	close(fd);
	return NULL;
}

/* fake_start - a listener on 127.0.0.1, its address in a */
static pthread_t
fake_start(struct fake *f, enum fake_mode mode, struct clamd_addr *a)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	char spec[64], err[256];
	pthread_t t;

	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(f->listen_fd, 0);
	ck_assert_int_eq(bind(f->listen_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(f->listen_fd, 1), 0);
	ck_assert_int_eq(getsockname(f->listen_fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%u", ntohs(sin.sin_port));
	ck_assert_int_eq(clamd_addr_parse(spec, a, err, sizeof(err)), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, fake_serve, f), 0);
	return t;
}

/* scan_sized - one clamd_scan of a size-byte message in memory against a fake in mode */
static int
scan_sized(enum fake_mode mode, size_t size, int64_t budget_ms, struct clamd_reply *r, char *err,
	   size_t len, struct fake *f)
{
	static unsigned char body[16 * 1024 * 1024];
	struct av_spool sp;
	struct clamd_addr a;
	pthread_t t;
	char serr[128];
	int rc;

	memset(body, 'x', size);
	av_spool_init(&sp, size * 2, "/tmp");
	ck_assert_int_eq(av_spool_write(&sp, body, size, serr, sizeof(serr)), 0);
	t = fake_start(f, mode, &a);
	rc = clamd_scan(&a, &sp, 8192, clamd_now_ms() + budget_ms, NULL, NULL, r, err, len);
	pthread_join(t, NULL);
	close(f->listen_fd);
	av_spool_free(&sp);
	return rc;
}

/* scan_with - the same with a 200 KB message */
static int
scan_with(enum fake_mode mode, int64_t budget_ms, struct clamd_reply *r, char *err, size_t len,
	  struct fake *f)
{
	return scan_sized(mode, 200000, budget_ms, r, err, len, f);
}

START_TEST(test_client_against_fakes)
{
	struct clamd_reply r;
	struct fake f;
	char err[256];
	int64_t t0;

	ck_assert_int_eq(scan_with(FAKE_CLEAN, 5000, &r, err, sizeof(err), &f), 0);
	ck_assert_str_eq(f.command, "zINSTREAM");
	ck_assert_uint_eq(f.got, 200000); /* every byte, in 8 KB chunks */
	ck_assert_int_eq(r.verdict, CLAMD_CLEAN);
	ck_assert_int_eq(scan_with(FAKE_FOUND, 5000, &r, err, sizeof(err), &f), 0);
	ck_assert_int_eq(r.verdict, CLAMD_FOUND);
	ck_assert_str_eq(r.name, "Eicar-Test-Signature");
	/* garbage: answered, but an error, never clean */
	ck_assert_int_eq(scan_with(FAKE_GARBAGE, 5000, &r, err, sizeof(err), &f), 0);
	ck_assert_int_eq(r.verdict, CLAMD_ERROR);
	/* StreamMaxLength: the server stops reading and says so */
	ck_assert_int_eq(scan_with(FAKE_LIMIT, 5000, &r, err, sizeof(err), &f), 0);
	ck_assert_int_eq(r.verdict, CLAMD_LIMITS);
	/* a close mid-reply and a stall: the server could not be used */
	ck_assert_int_eq(scan_with(FAKE_CLOSE_MID, 5000, &r, err, sizeof(err), &f), -1);
	ck_assert_msg(strstr(err, "closed mid-reply") != NULL, "%s", err);
	t0 = clamd_now_ms();
	ck_assert_int_eq(scan_with(FAKE_STALL, 1000, &r, err, sizeof(err), &f), -1);
	ck_assert_msg(strstr(err, "no reply in time") != NULL, "%s", err);
	ck_assert_int_lt(clamd_now_ms() - t0, 3000 + 500);
	/* "OK" before the stream was read (16 MB, beyond the socket buffers): never clean */
	ck_assert_int_eq(scan_sized(FAKE_EARLY_OK, sizeof(((struct clamd_reply *)0)->name) * 65536,
				    5000, &r, err, sizeof(err), &f),
			 -1);
	ck_assert_msg(strstr(err, "before the whole message was sent") != NULL ||
			      strstr(err, "closed while the message was sent") != NULL,
		      "%s", err);
}
END_TEST

/* Nobody listening: refused at once, with the address in the reason */
START_TEST(test_client_refused)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	struct clamd_addr a;
	char spec[64], err[256], buf[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* a port just bound and let go: nothing listens there */
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	close(fd);
	snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%u", ntohs(sin.sin_port));
	ck_assert_int_eq(clamd_addr_parse(spec, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(clamd_command(&a, "zPING", clamd_now_ms() + 2000, buf, sizeof(buf), err,
				       sizeof(err)),
			 -1);
	ck_assert_msg(strstr(err, a.text) != NULL && strstr(err, "connect") != NULL, "%s", err);
}
END_TEST

/* --- a real clamd ---------------------------------------------------------------------- */

#define CLAMD "/usr/sbin/clamd"

/* scan_text - clamd_scan of text (in memory, or spilled to a file) */
static int
scan_text(const struct clamd_addr *a, const void *text, size_t len, bool spill,
	  struct clamd_reply *r, char *err, size_t errlen)
{
	struct av_spool sp;
	char serr[128];
	int rc;

	av_spool_init(&sp, spill ? 16 : len + 1, fixture_dir());
	ck_assert_int_eq(av_spool_write(&sp, text, len, serr, sizeof(serr)), 0);
	ck_assert(av_spool_in_memory(&sp) == !spill);
	rc = clamd_scan(a, &sp, 65536, clamd_now_ms() + 30000, NULL, NULL, r, err, errlen);
	av_spool_free(&sp);
	return rc;
}

START_TEST(test_real_clamd)
{
	char eicar[80], conf[4096], err[256], buf[256], spec[200];
	const char *dir = fixture_dir();
	struct clamd_addr a;
	struct clamd_reply r;
	char *big, *db;
	pid_t pid;
	int status;

	if (access(CLAMD, X_OK) != 0) {
		fprintf(stderr, "check_clamd: %s not installed, the real-clamd case is skipped\n",
			CLAMD);
		return;
	}
	snprintf(eicar, sizeof(eicar), "X5O!P%%@AP[4\\PZX54(P^)7CC)7}$%s-%s-%s!$H+H*", "EICAR",
		 "STANDARD-ANTIVIRUS", "TEST-FILE");
	db = g_build_filename(dir, "db", NULL);
	ck_assert_int_eq(g_mkdir_with_parents(db, 0755), 0);
	{
		/* the EICAR string as a hex body signature */
		GString *hex = g_string_new("Mxparity.Test.EICAR:0:*:");
		char *path = g_build_filename(db, "test.ndb", NULL);

		for (const char *p = eicar; *p != '\0'; p++)
			g_string_append_printf(hex, "%02x", (unsigned char)*p);
		g_string_append_c(hex, '\n');
		ck_assert(g_file_set_contents(path, hex->str, -1, NULL));
		g_string_free(hex, TRUE);
		g_free(path);
	}
	snprintf(spec, sizeof(spec), "unix:%s/clamd.sock", dir);
	snprintf(conf, sizeof(conf),
		 "LocalSocket %s/clamd.sock\nPidFile %s/clamd.pid\nDatabaseDirectory %s\n"
		 "TemporaryDirectory %s\nLogFile %s/clamd.log\nForeground yes\nSelfCheck 0\n"
		 "StreamMaxLength 1M\nAlertExceedsMax yes\nMaxThreads 2\n",
		 dir, dir, db, dir, dir);
	fixture_write("clamd.conf", conf);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char *cf = g_build_filename(dir, "clamd.conf", NULL);
		char *out = g_build_filename(dir, "clamd.out", NULL);
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execl(CLAMD, CLAMD, "-c", cf, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(clamd_addr_parse(spec, &a, err, sizeof(err)), 0);
	/* up when it answers PING; bounded (a small database loads in a second or two) */
	for (int i = 0; i < 300; i++) {
		if (clamd_command(&a, "zPING", clamd_now_ms() + 1000, buf, sizeof(buf), err,
				  sizeof(err)) == 0)
			break;
		ck_assert_msg(waitpid(pid, &status, WNOHANG) == 0, "clamd exited");
		usleep(100000);
	}
	ck_assert_str_eq(buf, "PONG");
	ck_assert_int_eq(clamd_command(&a, "zVERSION", clamd_now_ms() + 5000, buf, sizeof(buf), err,
				       sizeof(err)),
			 0);
	ck_assert_msg(g_str_has_prefix(buf, "ClamAV 1."), "%s", buf);
	/* clean and infected, from memory and from a spilled file */
	ck_assert_int_eq(
		scan_text(&a, "Subject: hi\r\n\r\nclean\r\n", 22, false, &r, err, sizeof(err)), 0);
	ck_assert_int_eq(r.verdict, CLAMD_CLEAN);
	ck_assert_int_eq(scan_text(&a, eicar, strlen(eicar), false, &r, err, sizeof(err)), 0);
	ck_assert_int_eq(r.verdict, CLAMD_FOUND);
	ck_assert_str_eq(r.name, "Mxparity.Test.EICAR.UNOFFICIAL");
	ck_assert_int_eq(scan_text(&a, eicar, strlen(eicar), true, &r, err, sizeof(err)), 0);
	ck_assert_int_eq(r.verdict, CLAMD_FOUND);
	/* beyond StreamMaxLength: a limits result, never clean, never a failed server */
	big = g_malloc(3 * 1024 * 1024);
	memset(big, 'a', 3 * 1024 * 1024);
	ck_assert_msg(scan_text(&a, big, 3 * 1024 * 1024, false, &r, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_msg(r.verdict == CLAMD_LIMITS, "verdict %d %s", r.verdict, r.name);
	g_free(big);
	kill(pid, SIGTERM);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	g_free(db);
}
END_TEST

static Suite *
suite_clamd(void)
{
	Suite *s = suite_create("clamd");
	TCase *tc = tcase_create("reply");

	tcase_add_test(tc, test_reply_shapes);
	tcase_add_test(tc, test_reply_never_clean_by_accident);
	tcase_add_test(tc, test_addr_parse);
	suite_add_tcase(s, tc);
	tc = tcase_create("pool");
	tcase_add_test(tc, test_pool_round_robin_and_tried);
	tcase_add_test(tc, test_pool_down_probe_and_back);
	suite_add_tcase(s, tc);
	tc = tcase_create("client");
	tcase_add_test(tc, test_client_against_fakes);
	tcase_add_test(tc, test_client_refused);
	suite_add_tcase(s, tc);
	tc = tcase_create("real clamd");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_real_clamd);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	static Suite *(*const suites[])(void) = { suite_clamd, NULL };

	return mxp_check_main("check_clamd", suites);
}
