/*
 * parity.c - the tier protocol for one message.  Every X-MXParity header
 * that arrives is removed: only the one a peer adds on a relay hop may be
 * believed, and only once its HMAC, its body hash and its policy digest
 * check out.  Otherwise the message is filtered again in full, for the
 * original client named in the Received header the peer added.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <glib.h>
#include <openssl/evp.h>

#include "counters.h"
#include "log.h"
#include "parity.h"
#include "received.h"
#include "stamp.h"

/* Our own MTA's Received header and the peer's: nothing below them counts. */
#define KEPT_RECEIVED 2
#define MAX_KEPT_VALUE 4096

struct mxp_parity {
	const struct mxp_policy *pol;
	const struct mxp_mx_host *peer; /* NULL unless a relay hop */
	char client_addr[64];
	EVP_MD_CTX *body; /* NULL without a key */
	char bh[65];
	char *stamp_value; /* the first stamp of a relay hop */
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
	g_free(p);
}

bool
mxp_parity_header(struct mxp_parity *p, const char *name, const char *value, unsigned index,
		  struct mxp_result *core)
{
	if (g_ascii_strcasecmp(name, "Received") == 0) {
		if (p->peer != NULL && p->nreceived < KEPT_RECEIVED)
			p->received[p->nreceived++] = g_strndup(value, MXP_RECEIVED_MAX_LEN);
		return false;
	}
	if (g_ascii_strcasecmp(name, MXP_STAMP_HEADER) != 0)
		return false;
	mxp_result_remove_header(core, name, index);
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

	if (p->bh[0] == '\0' && p->body != NULL && EVP_DigestFinal_ex(p->body, md, &n) == 1) {
		for (unsigned i = 0; i < n && i < 32; i++)
			snprintf(p->bh + 2 * i, 3, "%02x", md[i]);
	}
	return p->bh;
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

/* verify_stamp - the outcome for the peer's stamp, logged */
static const char *
verify_stamp(struct mxp_parity *p)
{
	const char *peer = p->peer->name;
	char ours[72];

	if (p->pol->parity_key == NULL) {
		mxp_log(LOG_WARNING, "parity: unfiltered relay from %s (no parity key in the policy)",
			peer);
		return "no-key";
	}
	if (p->stamp_value == NULL) {
		mxp_log(LOG_WARNING, "parity: unfiltered relay from %s (no stamp)", peer);
		return "no-stamp";
	}
	if (!mxp_stamp_parse(p->stamp_value, &p->stamp) ||
	    !mxp_stamp_verify(&p->stamp, p->pol->parity_key, p->pol->parity_key_len)) {
		mxp_log(LOG_WARNING, "parity: unfiltered relay from %s (bad mac)", peer);
		return "bad-mac";
	}
	if (g_ascii_strcasecmp(p->stamp.host, peer) != 0) {
		mxp_log(LOG_WARNING, "parity: unfiltered relay from %s (stamp of %s)", peer,
			p->stamp.host);
		return "other-host";
	}
	if (strcmp(p->stamp.bh, body_hash(p)) != 0) {
		mxp_log(LOG_WARNING, "parity: unfiltered relay from %s (body hash mismatch)", peer);
		return "body-mismatch";
	}
	snprintf(ours, sizeof(ours), "sha256:%s", p->pol->digest);
	if (strcmp(p->stamp.policy, ours) != 0) {
		mxp_log(LOG_WARNING, "parity: policy drift %s %s != ours %s", peer, p->stamp.policy,
			ours);
		return "drift";
	}
	mxp_log(LOG_INFO, "parity: verified stamp from %s", peer);
	return "verified";
}

const struct mxp_relay *
mxp_parity_check(struct mxp_parity *p)
{
	if (p->peer == NULL)
		return NULL;
	if (p->outcome != NULL)
		return &p->relay;
	p->outcome = verify_stamp(p);
	if (strcmp(p->outcome, "verified") == 0) {
		mxp_counter_add(MXP_CNT_RELAY_VERIFIED, 1);
		p->relay.verified = true;
		p->relay.spf = p->stamp.spf;
		p->relay.av = p->stamp.av;
		p->relay.stamp_host = p->stamp.host;
		p->relay.client_addr = p->stamp.client;
		p->relay.client_family = strchr(p->stamp.client, ':') ? AF_INET6 : AF_INET;
		p->relay.helo = p->stamp.helo;
		return &p->relay;
	}
	mxp_counter_add(strcmp(p->outcome, "drift") == 0 ? MXP_CNT_DRIFT : MXP_CNT_UNFILTERED_RELAY,
			1);
	find_original_client(p);
	return &p->relay;
}

void
mxp_parity_stamp(struct mxp_parity *p, const struct mxp_parity_findings *f,
		 struct mxp_result *core)
{
	struct mxp_stamp st = { 0 };
	char *value;

	if (p->pol->parity_key == NULL || p->body == NULL || body_hash(p)[0] == '\0')
		return;
	mxp_stamp_set(st.host, sizeof(st.host), f->own_host);
	mxp_stamp_set(st.tier, sizeof(st.tier), f->own_tier);
	snprintf(st.policy, sizeof(st.policy), "sha256:%s", p->pol->digest);
	/* On a relay hop the message's client is the original one, as far as known. */
	if (p->peer != NULL) {
		mxp_stamp_set(st.client, sizeof(st.client),
			      p->relay.client_addr ? p->relay.client_addr : "unknown");
		mxp_stamp_set(st.helo, sizeof(st.helo), p->relay.helo ? p->relay.helo : "unknown");
	} else {
		mxp_stamp_set(st.client, sizeof(st.client), f->client_addr);
		mxp_stamp_set(st.helo, sizeof(st.helo), f->helo);
	}
	mxp_stamp_set(st.from, sizeof(st.from), f->mail_from);
	mxp_stamp_set(st.spf, sizeof(st.spf), f->spf);
	mxp_stamp_set(st.av, sizeof(st.av), f->av);
	/* Every field must say something: an empty one would not parse. */
	if (st.client[0] == '\0')
		g_strlcpy(st.client, "unknown", sizeof(st.client));
	if (st.helo[0] == '\0')
		g_strlcpy(st.helo, "unknown", sizeof(st.helo));
	if (st.from[0] == '\0')
		g_strlcpy(st.from, "<>", sizeof(st.from));
	if (st.spf[0] == '\0')
		g_strlcpy(st.spf, "none", sizeof(st.spf));
	if (st.av[0] == '\0')
		g_strlcpy(st.av, "none", sizeof(st.av));
	g_strlcpy(st.bh, p->bh, sizeof(st.bh));
	value = mxp_stamp_format(&st, p->pol->parity_key, p->pol->parity_key_len);
	if (value != NULL)
		mxp_result_add_header(core, MXP_STAMP_HEADER, value);
	g_free(value);
}

const char *
mxp_parity_outcome(const struct mxp_parity *p)
{
	return p->outcome;
}
