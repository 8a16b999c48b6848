/*
 * parity.c - the tier protocol for one message.  Every X-MXParity header
 * that arrives is removed: only the one a peer adds on a relay hop may be
 * believed, and only once its mac, its key, its body hash, its age, the
 * envelope and header fields it was made for, and its policy digest check
 * out.  Otherwise the message is filtered again in full, for the original
 * client named in the Received header the peer added.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <glib.h>
#include <openssl/evp.h>

#include "util/counters.h"
#include "util/log.h"
#include "tier/parity.h"
#include "tier/received.h"
#include "tier/stamp.h"
#include "util/digest.h"
#include "util/hex.h"

/* Our own MTA's Received header and the peer's: nothing below them counts. */
#define KEPT_RECEIVED 2
#define MAX_KEPT_VALUE (64 * 1024)
/* A stamp from the future by more than this is not believed either. */
#define MAX_CLOCK_AHEAD 300

/*
 * The header fields that decide how the body is read and shown: a stamp
 * made for one set of them says nothing about a message with another.
 * The relay hop itself leaves them alone.
 */
static const char *const bound_fields[] = {
	"content-type", "content-transfer-encoding",
	"mime-version", "from",
	"sender",	"reply-to",
	"to",		"cc",
	"subject",	"date",
	"message-id",
};
#define NBOUND G_N_ELEMENTS(bound_fields)

/*
 * Bound fields a relaying MTA adds when the message has none: sendmail adds
 * Date and Message-Id as it sends (after its filter saw the headers), and
 * so does Postfix with always_add_missing_headers = yes.  A stamp made
 * while one or both were missing still binds the message when one of each
 * missing field is all that was added.  The bit of field i in a skip mask.
 */
static unsigned
added_on_relay(size_t field)
{
	if (strcmp(bound_fields[field], "date") == 0)
		return 1u;
	if (strcmp(bound_fields[field], "message-id") == 0)
		return 2u;
	return 0;
}

struct mxp_parity {
	const struct mxp_policy *pol;
	const struct mxp_mx_host *peer; /* NULL unless a relay hop */
	char client_addr[64];
	EVP_MD_CTX *body; /* NULL without a key */
	char bh[65];
	GPtrArray *bound[NBOUND]; /* canonical values of each bound field, in order */
	char *stamp_value;	  /* the first stamp of a relay hop */
	char *received[KEPT_RECEIVED];
	unsigned nreceived;
	const char *outcome;
	struct mxp_stamp stamp;
	struct mxp_received orig;
	struct mxp_relay relay;
};

struct mxp_parity *
mxp_parity_new(const struct mxp_policy *pol, const struct mxp_mx_host *peer,
	       const char *client_addr)
{
	struct mxp_parity *p = g_new0(struct mxp_parity, 1);

	p->pol = pol;
	p->peer = peer;
	g_strlcpy(p->client_addr, client_addr != NULL ? client_addr : "", sizeof(p->client_addr));
	if (pol->parity_key != NULL) {
		p->body = EVP_MD_CTX_new();
		if (p->body != NULL && EVP_DigestInit_ex(p->body, EVP_sha256(), NULL) != 1) {
			EVP_MD_CTX_free(p->body);
			p->body = NULL;
		}
	}
	return p;
}

void
mxp_parity_free(struct mxp_parity *p)
{
	if (p == NULL)
		return;
	EVP_MD_CTX_free(p->body);
	g_free(p->stamp_value);
	for (unsigned i = 0; i < p->nreceived; i++)
		g_free(p->received[i]);
	for (size_t i = 0; i < NBOUND; i++)
		if (p->bound[i] != NULL)
			g_ptr_array_free(p->bound[i], TRUE);
	mxp_stamp_clear(&p->stamp);
	g_free(p);
}

/*
 * canon_value - unfolded (CR and LF gone) and trimmed.  The blanks inside
 * stay: inside a quoted string (a MIME boundary, a file name) they are
 * part of the value, and "a b" must not hash like "a  b".
 */
static char *
canon_value(const char *value)
{
	GString *out = g_string_new(NULL);
	const char *start = value, *end;

	while (*start == ' ' || *start == '\t' || *start == '\r' || *start == '\n')
		start++;
	end = start + strlen(start);
	while (end > start &&
	       (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	for (const char *v = start; v < end; v++)
		if (*v != '\r' && *v != '\n')
			g_string_append_c(out, *v);
	return g_string_free(out, FALSE);
}

/* note_bound - keep the canonical value of a bound field */
static void
note_bound(struct mxp_parity *p, const char *name, const char *value)
{
	for (size_t i = 0; i < NBOUND; i++) {
		if (g_ascii_strcasecmp(name, bound_fields[i]) != 0)
			continue;
		if (p->bound[i] == NULL)
			p->bound[i] = g_ptr_array_new_with_free_func(g_free);
		/* Every instance: one left out would let a replay add a last one. */
		g_ptr_array_add(p->bound[i], canon_value(value));
		return;
	}
}

bool
mxp_parity_header(struct mxp_parity *p, const char *name, const char *value)
{
	if (p->body != NULL)
		note_bound(p, name, value);
	if (g_ascii_strcasecmp(name, "Received") == 0) {
		if (p->peer != NULL && p->nreceived < KEPT_RECEIVED)
			p->received[p->nreceived++] = g_strndup(value, MXP_RECEIVED_MAX_LEN);
		return false;
	}
	if (g_ascii_strcasecmp(name, MXP_STAMP_HEADER) != 0)
		return false;
	if (p->peer == NULL)
		mxp_log(LOG_NOTICE, "parity: removed %s from non-peer client %s", MXP_STAMP_HEADER,
			p->client_addr);
	else if (p->stamp_value == NULL)
		p->stamp_value = g_strndup(value, MAX_KEPT_VALUE);
	return true;
}

void
mxp_parity_body(struct mxp_parity *p, const unsigned char *chunk, size_t len)
{
	if (p->body != NULL && p->bh[0] == '\0')
		EVP_DigestUpdate(p->body, chunk, len);
}

/* body_hash - the hex SHA-256 of the body, finished once */
static const char *
body_hash(struct mxp_parity *p)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (p->bh[0] == '\0' && p->body != NULL && EVP_DigestFinal_ex(p->body, md, &n) == 1 &&
	    n == 32)
		mxp_hex_encode(md, n, p->bh);
	return p->bh;
}

/*
 * header_hash - the hex SHA-256 of the bound fields (stamp.h) into out[65],
 * as if the fields whose bits skip holds (added_on_relay) were missing
 */
static void
header_hash(const struct mxp_parity *p, unsigned skip, char *out)
{
	GString *text = g_string_new(NULL);

	for (size_t i = 0; i < NBOUND; i++)
		for (guint j = 0;
		     p->bound[i] != NULL && j < p->bound[i]->len && (added_on_relay(i) & skip) == 0;
		     j++)
			g_string_append_printf(text, "%s:%s\r\n", bound_fields[i],
					       (const char *)p->bound[i]->pdata[j]);
	mxp_sha256_hex(text->str, text->len, out);
	g_string_free(text, TRUE);
}

/*
 * relay_message_id - a Message-Id the peer's MTA made: its id is at the
 * peer's own name (sendmail's <ID@$j>, Postfix's <ID@myhostname>)
 */
static bool
relay_message_id(const struct mxp_parity *p, const char *value)
{
	size_t vl = strlen(value), nl = strlen(p->peer->name);
	const char *at;

	if (vl < nl + 4 || value[0] != '<' || value[vl - 1] != '>')
		return false;
	at = value + vl - 1 - nl - 1;
	return *at == '@' && g_ascii_strncasecmp(at + 1, p->peer->name, nl) == 0;
}

/*
 * headers_match - the bound fields are those stamped, or differ only by one
 * Date and one Message-Id (at the peer's name) that the peer's MTA added
 * after its filter (added_on_relay); *added_r: the bits of those it added
 */
static bool
headers_match(const struct mxp_parity *p, unsigned *added_r)
{
	unsigned once = 0; /* the fields the relay may have added */
	char hdr[65];

	*added_r = 0;
	for (size_t i = 0; i < NBOUND; i++) {
		unsigned bit = added_on_relay(i);

		if (bit == 0 || p->bound[i] == NULL || p->bound[i]->len != 1)
			continue;
		if (bit == 2u && !relay_message_id(p, p->bound[i]->pdata[0]))
			continue;
		once |= bit;
	}
	/* every subset of them, the empty one (nothing added) first */
	for (unsigned skip = 0; skip <= once; skip++) {
		if ((skip & ~once) != 0)
			continue;
		header_hash(p, skip, hdr);
		if (strcmp(p->stamp.hdr, hdr) == 0) {
			*added_r = skip;
			return true;
		}
	}
	return false;
}

/* same_address - two textual addresses name the same host */
static bool
same_address(const char *a, const char *b)
{
	unsigned char x[16], y[16];

	if (inet_pton(AF_INET, a, x) == 1)
		return inet_pton(AF_INET, b, y) == 1 && memcmp(x, y, 4) == 0;
	return inet_pton(AF_INET6, a, x) == 1 && inet_pton(AF_INET6, b, y) == 1 &&
	       memcmp(x, y, 16) == 0;
}

/*
 * find_original_client - from the peer's own Received header: the first
 * one, unless the first is our MTA's record of the peer itself.
 */
static void
find_original_client(struct mxp_parity *p)
{
	unsigned i = 0;

	if (p->nreceived > 1 && mxp_received_parse(p->received[0], &p->orig) &&
	    same_address(p->orig.client_addr, p->client_addr))
		i = 1;
	memset(&p->orig, 0, sizeof(p->orig));
	if (i < p->nreceived && mxp_received_parse(p->received[i], &p->orig)) {
		p->relay.client_addr = p->orig.client_addr;
		p->relay.client_family = strchr(p->orig.client_addr, ':') ? AF_INET6 : AF_INET;
		p->relay.helo = p->orig.helo[0] != '\0' ? p->orig.helo : NULL;
	} else {
		mxp_log(LOG_WARNING, "parity: no Received header of %s names the original client",
			p->peer->name);
	}
}

/* key_by_id - the policy's key with this id, or NULL */
static const struct mxp_parity_key *
key_by_id(const struct mxp_policy *pol, const char *kid)
{
	for (size_t i = 0; i < pol->nparity_keys; i++)
		if (strcmp(pol->parity_keys[i].kid, kid) == 0)
			return &pol->parity_keys[i];
	return NULL;
}

/* stamp_from - the envelope sender as a stamp field; false when it cannot be bound exactly */
static bool
stamp_from(char *field, size_t size, const char *mail_from)
{
	bool exact = mxp_stamp_field_ok(mail_from, size);

	mxp_stamp_set(field, size, mail_from);
	if (field[0] == '\0')
		g_strlcpy(field, "<>", size);
	return exact;
}

/*
 * bindable - an envelope a stamp can bind exactly: no address cut by the
 * core, and a sender of field characters only.  Two senders that differed
 * only in what a field drops would otherwise look the same.
 */
static bool
bindable(const struct mxp_parity_envelope *env)
{
	char from[sizeof(((struct mxp_stamp *)0)->from)];

	return !env->cut && stamp_from(from, sizeof(from), env->mail_from);
}

/* stale - older than max_age, or from too far in the future */
static bool
stale(const struct mxp_parity *p)
{
	long long ts = strtoll(p->stamp.ts, NULL, 10), now = (long long)time(NULL);

	return now - ts > p->pol->parity_max_age || ts - now > MAX_CLOCK_AHEAD;
}

/* recipients_stamped - every recipient of this transaction is one the stamp was made for */
static bool
recipients_stamped(const struct mxp_parity *p, const struct mxp_parity_key *k,
		   const struct mxp_parity_envelope *env)
{
	char tag[MXP_STAMP_TAG_LEN + 1];

	for (size_t i = 0; i < env->nrcpts; i++) {
		mxp_stamp_rcpt_tag(k->key, k->len, env->rcpts[i], tag);
		if (!mxp_stamp_has_tag(&p->stamp, tag))
			return false;
	}
	return true;
}

/* unfiltered - log why the peer's stamp is not believed, and say so */
static const char *
unfiltered(const struct mxp_parity *p, const char *outcome, const char *why)
{
	mxp_log(LOG_WARNING, "parity: unfiltered relay from %s (%s)", p->peer->name, why);
	return outcome;
}

/* verify_stamp - the outcome for the peer's stamp, logged */
static const char *
verify_stamp(struct mxp_parity *p, const struct mxp_parity_envelope *env)
{
	const struct mxp_parity_key *k;
	char ours[72], from[sizeof(p->stamp.from)], why[300];
	unsigned added = 0;
	enum mxp_stamp_parsed parsed;

	if (p->pol->parity_key == NULL)
		return unfiltered(p, "no-key", "no parity key in the policy");
	if (p->stamp_value == NULL)
		return unfiltered(p, "no-stamp", "no stamp");
	parsed = mxp_stamp_parse(p->stamp_value, &p->stamp);
	if (parsed == MXP_STAMP_V1)
		return unfiltered(p, "v1-stamp", "v=1 stamp");
	if (parsed != MXP_STAMP_OK)
		return unfiltered(p, "bad-mac", "bad mac");
	k = key_by_id(p->pol, p->stamp.kid);
	if (k == NULL) {
		/* Say which key we have: differing key files are the usual cause. */
		snprintf(why, sizeof(why),
			 "unknown key kid:%s, ours is kid:%s: the hosts' key files differ",
			 p->stamp.kid, p->pol->parity_keys[0].kid);
		return unfiltered(p, "unknown-key", why);
	}
	if (!mxp_stamp_verify(&p->stamp, k->key, k->len))
		return unfiltered(p, "bad-mac", "bad mac");
	if (g_ascii_strcasecmp(p->stamp.host, p->peer->name) != 0) {
		snprintf(why, sizeof(why), "stamp of %s", p->stamp.host);
		return unfiltered(p, "other-host", why);
	}
	if (strcmp(p->stamp.bh, body_hash(p)) != 0)
		return unfiltered(p, "body-mismatch", "body hash mismatch");
	if (stale(p))
		return unfiltered(p, "stale", "stale stamp");
	if (!bindable(env))
		return unfiltered(p, "unbound", "envelope too long or odd to bind");
	stamp_from(from, sizeof(from), env->mail_from);
	if (strcmp(p->stamp.from, from) != 0)
		return unfiltered(p, "sender-differs", "sender differs");
	if (!recipients_stamped(p, k, env))
		return unfiltered(p, "recipients-differ", "recipients differ");
	if (!headers_match(p, &added))
		return unfiltered(p, "headers-differ", "headers differ");
	snprintf(ours, sizeof(ours), "sha256:%s", p->pol->digest);
	if (strcmp(p->stamp.policy, ours) != 0) {
		mxp_log(LOG_WARNING, "parity: policy drift %s %s != ours %s", p->peer->name,
			p->stamp.policy, ours);
		return "drift";
	}
	mxp_log(LOG_INFO, "parity: verified stamp from %s%s", p->peer->name,
		added == 3u   ? " (Date and Message-Id added by its MTA)"
		: added == 1u ? " (Date added by its MTA)"
		: added == 2u ? " (Message-Id added by its MTA)"
			      : "");
	return "verified";
}

/* count_outcome - the counters of a relay hop's outcome */
static void
count_outcome(const char *outcome)
{
	if (strcmp(outcome, "verified") == 0) {
		mxp_counter_add(MXP_CNT_RELAY_VERIFIED, 1);
		return;
	}
	if (strcmp(outcome, "drift") == 0) {
		mxp_counter_add(MXP_CNT_DRIFT, 1);
		return;
	}
	mxp_counter_add(MXP_CNT_UNFILTERED_RELAY, 1);
	if (strcmp(outcome, "stale") == 0)
		mxp_counter_add(MXP_CNT_STAMP_STALE, 1);
	else if (strcmp(outcome, "sender-differs") == 0 ||
		 strcmp(outcome, "recipients-differ") == 0 ||
		 strcmp(outcome, "headers-differ") == 0)
		mxp_counter_add(MXP_CNT_STAMP_REPLAYED, 1);
	else if (strcmp(outcome, "no-stamp") == 0)
		mxp_counter_add(MXP_CNT_STAMP_MISSING, 1);
	else if (strcmp(outcome, "bad-mac") == 0)
		mxp_counter_add(MXP_CNT_STAMP_BAD_MAC, 1);
	else if (strcmp(outcome, "unknown-key") == 0)
		mxp_counter_add(MXP_CNT_STAMP_UNKNOWN_KEY, 1);
	else
		mxp_counter_add(MXP_CNT_STAMP_OTHER, 1);
}

const struct mxp_relay *
mxp_parity_check(struct mxp_parity *p, const struct mxp_parity_envelope *env)
{
	if (p->peer == NULL)
		return NULL;
	if (p->outcome != NULL)
		return &p->relay;
	p->outcome = verify_stamp(p, env);
	count_outcome(p->outcome);
	if (strcmp(p->outcome, "verified") == 0) {
		p->relay.verified = true;
		p->relay.stamp_host = p->stamp.host;
		p->relay.client_addr = p->stamp.client;
		p->relay.client_family = strchr(p->stamp.client, ':') ? AF_INET6 : AF_INET;
		p->relay.helo = p->stamp.helo;
		return &p->relay;
	}
	find_original_client(p);
	return &p->relay;
}

const char *
mxp_parity_peer_finding(const struct mxp_parity *p, const char *key)
{
	if (p == NULL || !p->relay.verified)
		return NULL;
	return mxp_stamp_finding(&p->stamp, key);
}

char *
mxp_parity_stamp(struct mxp_parity *p, const struct mxp_parity_findings *f)
{
	struct mxp_stamp st = { 0 };
	char *value;

	if (p->pol->parity_key == NULL || p->body == NULL || body_hash(p)[0] == '\0')
		return NULL;
	if (!bindable(&f->env)) {
		mxp_log(LOG_NOTICE,
			"parity: an envelope address too long or with characters a stamp "
			"cannot hold: no stamp, the next tier filters the message again");
		return NULL;
	}
	if (f->env.nrcpts > MXP_STAMP_MAX_RCPTS) {
		mxp_log(LOG_NOTICE,
			"parity: %zu recipients are more than a stamp holds (%d): "
			"the next tier filters the message again",
			f->env.nrcpts, MXP_STAMP_MAX_RCPTS);
		return NULL;
	}
	g_strlcpy(st.kid, p->pol->parity_keys[0].kid, sizeof(st.kid));
	mxp_stamp_set(st.host, sizeof(st.host), f->own_host);
	mxp_stamp_set(st.tier, sizeof(st.tier), f->own_tier);
	snprintf(st.policy, sizeof(st.policy), "sha256:%s", p->pol->digest);
	snprintf(st.ts, sizeof(st.ts), "%lld", (long long)time(NULL));
	/* On a relay hop the message's client is the original one, as far as known. */
	if (p->peer != NULL) {
		mxp_stamp_set(st.client, sizeof(st.client),
			      p->relay.client_addr ? p->relay.client_addr : "unknown");
		mxp_stamp_set(st.helo, sizeof(st.helo), p->relay.helo ? p->relay.helo : "unknown");
	} else {
		mxp_stamp_set(st.client, sizeof(st.client), f->client_addr);
		mxp_stamp_set(st.helo, sizeof(st.helo), f->helo);
	}
	stamp_from(st.from, sizeof(st.from), f->env.mail_from);
	mxp_stamp_set_rcpts(&st, p->pol->parity_key, p->pol->parity_key_len, f->env.rcpts,
			    f->env.nrcpts);
	header_hash(p, 0, st.hdr);
	for (size_t i = 0; i < f->nfindings; i++)
		if (!mxp_stamp_add_finding(&st, f->findings[i]->key, f->findings[i]->value))
			mxp_log(LOG_WARNING,
				"parity: finding %s not stamped (repeated, or more "
				"than %d findings)",
				f->findings[i]->key, MXP_STAMP_MAX_FINDINGS);
	/* Every field must say something: an empty one would not parse. */
	if (st.client[0] == '\0')
		g_strlcpy(st.client, "unknown", sizeof(st.client));
	if (st.helo[0] == '\0')
		g_strlcpy(st.helo, "unknown", sizeof(st.helo));
	g_strlcpy(st.bh, p->bh, sizeof(st.bh));
	value = mxp_stamp_format(&st, p->pol->parity_key, p->pol->parity_key_len);
	mxp_stamp_clear(&st);
	return value;
}

const char *
mxp_parity_outcome(const struct mxp_parity *p)
{
	return p->outcome;
}
