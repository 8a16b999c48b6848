/*
 * fuzz_session.c - libFuzzer target for whole milter sessions driven
 * through the pipeline, as the daemon's callbacks drive them: a client
 * (an edge address, the backup peer, a trusted network, IPv6 or a
 * malformed address), then any sequence of HELO, MAIL, RCPT, headers,
 * end of headers, body chunks, end of message, abort and queue ids, with
 * any bytes in every field.  The policy has the MX map, a parity key and
 * the rcpt module (linked in), so stamp parsing and its refusals, Received
 * headers from a peer, forged trust headers and recipient checks are
 * reached (a verified stamp is not: the fuzzer cannot forge its MAC).  The
 * order is the one libmilter guarantees: RCPT to end of message only inside
 * a message, end of message only after a RCPT, end of headers before the
 * body.  FUZZ_VERBOSE=1 prints each
 * message's verdict and summary line (to check what a seed reaches).
 */
#include "config.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "core/host.h"
#include "core/pipeline.h"
#include "policy/modreg.h"
#include "policy/policy.h"
#include "util/log.h"

#define MAX_FIELD 8192 /* beyond what Postfix sends in one field */
#define MAX_EVENTS 2000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern const struct mxp_module *mxp_module_entry; /* rcpt.c's */

static const char policy_text[] =
	"version = \"fuzz.1\"\n"
	"mx {\n"
	"  host \"mx1.example.com\" { tier = primary addresses = {\"127.0.0.2\"} }\n"
	"  host \"mx2.example.com\" { tier = backup addresses = {\"127.0.0.3\", \"::3\"} }\n"
	"}\n"
	"trusted_networks = {\"127.0.0.9/32\", \"2001:db8::/32\"}\n"
	"parity { key_file = \"parity.key\" }\n"
	"module rcpt { recipients_file = \"recipients\" recipient_delimiter = \"+\" }\n";

static const struct {
	const char *addr;
	int family;
} clients[] = {
	{ "192.0.2.7", AF_INET }, { "127.0.0.3", AF_INET },
	{ "127.0.0.9", AF_INET }, { "2a00:1450:4864::5", AF_INET6 },
	{ "::3", AF_INET6 },	  { "not-an-address", AF_INET },
	{ "", AF_UNSPEC },	  { "127.0.0.2", AF_INET },
};

static struct mxp_policy *policy;
static char *work;

/* input - what is left of the fuzzer's bytes */
struct input {
	const uint8_t *p, *end;
};

static unsigned
take_byte(struct input *in)
{
	return in->p < in->end ? *in->p++ : 0;
}

/* take_field - a two-byte length (bounded), then that many bytes, NUL-terminated */
static char *
take_field(struct input *in, size_t *len_r)
{
	size_t len = take_byte(in);
	char *s;

	len |= (size_t)take_byte(in) << 8;
	len %= MAX_FIELD + 1;
	if (len > (size_t)(in->end - in->p))
		len = (size_t)(in->end - in->p);
	s = g_malloc(len + 1);
	memcpy(s, in->p, len);
	s[len] = '\0';
	in->p += len;
	if (len_r != NULL)
		*len_r = len;
	return s;
}

/* write_file - name in the work directory, mode 0600 */
static void
write_file(const char *name, const char *text)
{
	char *path = g_build_filename(work, name, NULL);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t len = strlen(text);

	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		abort();
	close(fd);
	g_free(path);
}

/* cleanup - at exit: the policy, then the work directory */
static void
cleanup(void)
{
	static const char *const names[] = { "policy.conf", "parity.key", "recipients" };

	if (policy != NULL)
		mxp_policy_unref(policy);
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		char *path = g_build_filename(work, names[i], NULL);

		unlink(path);
		g_free(path);
	}
	rmdir(work);
	g_free(work);
}

/* setup - once: the policy every session pins */
static void
setup(void)
{
	char *why = NULL, *path;

	mxp_log_open("fuzz_session", false, false);
	work = g_dir_make_tmp("mxparity-fuzz-session-XXXXXX", NULL);
	if (work == NULL)
		abort();
	write_file("parity.key", "0123456789abcdef0123456789abcdef");
	write_file("recipients", "alice@example.com\nbob@example.com\n@example.org\n");
	write_file("policy.conf", policy_text);
	mxp_modreg_set_host(&mxp_host_api);
	if (mxp_modreg_add_builtin(mxp_module_entry, &why) < 0)
		abort();
	path = g_build_filename(work, "policy.conf", NULL);
	if (mxp_policy_load(path, "mx1.example.com", &policy, &why) < 0) {
		fprintf(stderr, "fuzz_session: %s\n", why);
		abort();
	}
	g_free(path);
	atexit(cleanup);
}

/* check_final - what end of message gave must be whole */
static void
check_final(const struct mxp_final *fin)
{
	if (fin == NULL || fin->summary == NULL)
		__builtin_trap();
	if (getenv("FUZZ_VERBOSE") != NULL) /* what a seed reaches */
		fprintf(stderr, "fuzz_session: verdict %d %s %s: %s\n", fin->outcome.verdict,
			fin->outcome.rcode, fin->outcome.xcode, fin->summary);
	/* A header edit must be a whole header: a name and a value. */
	for (guint i = 0; fin->additions != NULL && i < fin->additions->len; i++) {
		const struct mxp_header_edit *e = g_ptr_array_index(fin->additions, i);

		if (e->name == NULL || e->name[0] == '\0' || e->value == NULL)
			__builtin_trap();
	}
}

/* LLVMFuzzerTestOneInput - one connection, then events until the input ends */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, data + size };
	struct mxp_outcome out;
	struct mxp_session *s;
	unsigned client, events = 0;
	bool in_msg = false, eoh = false, have_rcpt = false;
	char *name;

	if (policy == NULL)
		setup();
	client = take_byte(&in) % G_N_ELEMENTS(clients);
	name = take_field(&in, NULL);
	s = mxp_session_new(policy, name, clients[client].addr, clients[client].family);
	g_free(name);
	if (s == NULL)
		return 0;
	mxp_session_connect(s, &out);
	while (in.p < in.end && events++ < MAX_EVENTS) {
		unsigned op = take_byte(&in) % 10;
		char *a, *b;
		size_t len;

		switch (op) {
		case 0:
			a = take_field(&in, NULL);
			mxp_session_helo(s, a, &out);
			g_free(a);
			break;
		case 1:
			a = take_field(&in, NULL);
			b = take_byte(&in) & 1 ? take_field(&in, NULL) : NULL;
			if (in_msg)
				mxp_session_abort(s);
			mxp_session_mail(s, a, b, &out);
			g_free(a);
			g_free(b);
			in_msg = true;
			eoh = false;
			have_rcpt = false;
			break;
		case 2:
			a = take_field(&in, NULL);
			if (in_msg) {
				mxp_session_rcpt(s, a, &out);
				have_rcpt = true;
			}
			g_free(a);
			break;
		case 3:
			a = take_field(&in, NULL);
			b = take_field(&in, NULL);
			if (in_msg && !eoh)
				mxp_session_header(s, a, b, &out);
			g_free(a);
			g_free(b);
			break;
		case 4:
		case 5:
		case 6:
			a = op == 5 ? take_field(&in, &len) : NULL;
			if (in_msg && !eoh) {
				mxp_session_eoh(s, &out);
				eoh = true;
			}
			if (in_msg && op == 5)
				mxp_session_body(s, (const unsigned char *)a, len, &out);
			if (in_msg && op == 6 && have_rcpt) {
				check_final(mxp_session_eom(s));
				mxp_session_finish(s);
				in_msg = false;
			}
			g_free(a);
			break;
		case 7:
			if (in_msg)
				mxp_session_abort(s);
			in_msg = false;
			break;
		case 8:
			a = take_field(&in, NULL);
			mxp_session_set_queue_id(s, a);
			g_free(a);
			break;
		default:
			/* A Received header as a peer relays it, the commonest header to parse. */
			a = take_field(&in, NULL);
			if (in_msg && !eoh)
				mxp_session_header(s, "Received", a, &out);
			g_free(a);
			break;
		}
	}
	mxp_session_free(s); /* ends an open message as aborted */
	return 0;
}
