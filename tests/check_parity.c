/*
 * check_parity.c - X-MXParity stamps: their format and HMAC, the shared
 * key's checks at policy load, and the tier protocol through the real
 * pipeline: a stamp added at the edge, verified on the relay hop, and
 * every way it can fail (tampered, other body, other policy, none, and
 * forged by a client that is not a peer).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <glib.h>

#include "check_mxparity.h"
#include "check_session.h"
#include "policy/parity_key.h"
#include "policy/policy.h"
#include "core/result.h"
#include "tier/stamp.h"

#define KEY "0123456789abcdef0123456789abcdef-test-key"

/* A message through mx2 (edge) and then mx1 (relay) share this policy text. */
#define TIER_POLICY POLICY_HEAD "parity { key_file = \"parity.key\" }\nmodule testmod { }\n"

/* sample_stamp - a stamp with every field set, two recipients and two findings */
static void
sample_stamp(struct mxp_stamp *st)
{
	static const char *const rcpts[] = { "alice@example.com", "Bob@Example.COM" };

	memset(st, 0, sizeof(*st));
	mxp_parity_key_id((const unsigned char *)KEY, strlen(KEY), st->kid);
	mxp_stamp_set(st->host, sizeof(st->host), "mx2.example.com");
	mxp_stamp_set(st->tier, sizeof(st->tier), "backup");
	mxp_stamp_set(st->policy, sizeof(st->policy),
		      "sha256:"
		      "00112233445566778899aabbccddeeff"
		      "00112233445566778899aabbccddeeff");
	mxp_stamp_set(st->ts, sizeof(st->ts), "1764633600");
	mxp_stamp_set(st->client, sizeof(st->client), "192.0.2.1");
	mxp_stamp_set(st->helo, sizeof(st->helo), "client.example");
	mxp_stamp_set(st->from, sizeof(st->from), "a@example.org");
	mxp_stamp_set_rcpts(st, (const unsigned char *)KEY, strlen(KEY), rcpts, 2);
	mxp_stamp_set(st->hdr, sizeof(st->hdr),
		      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	ck_assert(mxp_stamp_add_finding(st, "spf", "pass"));
	ck_assert(mxp_stamp_add_finding(st, "av", "clean"));
	mxp_stamp_set(st->bh, sizeof(st->bh),
		      "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100");
}

START_TEST(test_stamp_round_trip_and_tampering)
{
	struct mxp_stamp st, back;
	char *value, *folded, *tampered, tag[MXP_STAMP_TAG_LEN + 1];
	gchar **parts;

	sample_stamp(&st);
	value = mxp_stamp_format(&st, (const unsigned char *)KEY, strlen(KEY));
	ck_assert_ptr_nonnull(value);
	ck_assert_msg(g_str_has_prefix(value, "v=2; kid="), "%s", value);
	/* folded at term boundaries: short lines, but for a hash that fills one by itself */
	parts = g_strsplit(value, "\n", -1);
	ck_assert_uint_ge(g_strv_length(parts), 4);
	for (gchar **p = parts; *p != NULL; p++)
		ck_assert_msg(strlen(*p) + (p == parts ? strlen("X-MXParity: ") : 0) <= 80, "%s",
			      value);
	g_strfreev(parts);
	/* findings sorted by key, whatever order they were added in */
	ck_assert_msg(strstr(value, "f.av=clean;") != NULL && strstr(value, "f.spf=pass") != NULL &&
			      strstr(value, "f.av") < strstr(value, "f.spf"),
		      "%s", value);
	ck_assert_int_eq(mxp_stamp_parse(value, &back), MXP_STAMP_OK);
	ck_assert_str_eq(back.helo, "client.example");
	ck_assert_str_eq(back.kid, st.kid);
	ck_assert_str_eq(mxp_stamp_finding(&back, "av"), "clean");
	ck_assert_ptr_null(mxp_stamp_finding(&back, "dnsbl"));
	ck_assert(mxp_stamp_verify(&back, (const unsigned char *)KEY, strlen(KEY)));
	/* recipients are tags, case-insensitive, and only the stamped ones */
	mxp_stamp_rcpt_tag((const unsigned char *)KEY, strlen(KEY), "bob@example.com", tag);
	ck_assert(mxp_stamp_has_tag(&back, tag));
	mxp_stamp_rcpt_tag((const unsigned char *)KEY, strlen(KEY), "carol@example.com", tag);
	ck_assert(!mxp_stamp_has_tag(&back, tag));
	ck_assert_ptr_null(strstr(value, "alice"));
	/* another key */
	ck_assert(!mxp_stamp_verify(&back, (const unsigned char *)KEY "x", strlen(KEY) + 1));
	mxp_stamp_clear(&back);
	/* other folding added in transit does not matter */
	parts = g_strsplit(value, "; ", -1);
	folded = g_strjoinv(";\r\n\t", parts);
	g_strfreev(parts);
	ck_assert_int_eq(mxp_stamp_parse(folded, &back), MXP_STAMP_OK);
	ck_assert(mxp_stamp_verify(&back, (const unsigned char *)KEY, strlen(KEY)));
	mxp_stamp_clear(&back);
	/* any changed value does */
	tampered = g_strdup(value);
	memcpy(strstr(tampered, "f.spf=pass"), "f.spf=fail", 10);
	ck_assert_int_eq(mxp_stamp_parse(tampered, &back), MXP_STAMP_OK);
	ck_assert(!mxp_stamp_verify(&back, (const unsigned char *)KEY, strlen(KEY)));
	mxp_stamp_clear(&back);
	g_free(tampered);
	g_free(folded);
	g_free(value);
	mxp_stamp_clear(&st);
}
END_TEST

START_TEST(test_stamp_parse_refuses_malformed)
{
	struct mxp_stamp st, back;
	char *good;
	char *bad[] = {
		"",   "v=2; host=x", "v=3; host=x", NULL, NULL, NULL,
		NULL, NULL,	     NULL,	    NULL, NULL, NULL,
	};
	GString *longhost = g_string_new("v=2; host=");

	sample_stamp(&st);
	good = mxp_stamp_format(&st, (const unsigned char *)KEY, strlen(KEY));
	bad[3] = g_strconcat(good, "; host=again", NULL);		   /* a field twice */
	bad[4] = g_strconcat(good, "; colour=blue", NULL);		   /* unknown field */
	bad[5] = g_strconcat("v=2; host=; ", strchr(good, ';') + 2, NULL); /* empty value */
	bad[6] = g_strndup(good, strlen(good) - 10);			   /* mac cut short */
	bad[7] = g_strconcat(good, " trailing", NULL);
	bad[8] = g_strconcat(good, "; helo=\"quoted\"", NULL);
	bad[9] = g_strconcat(good, "; f.av=again", NULL); /* a finding twice */
	bad[10] = g_strconcat(good, "; f.Bad Key=x", NULL);
	bad[11] = g_strdup(good);
	memcpy(strstr(bad[11], "rcpt=") + 5, "XYZ", 3); /* not a tag */
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		ck_assert_msg(mxp_stamp_parse(bad[i], &back) == MXP_STAMP_BAD, "accepted: %s",
			      bad[i]);
		ck_assert_ptr_null(back.rcpt);
	}
	/* a value longer than its field */
	for (int i = 0; i < 300; i++)
		g_string_append_c(longhost, 'a');
	ck_assert_int_eq(mxp_stamp_parse(longhost->str, &back), MXP_STAMP_BAD);
	/* version 1 is recognised, to be refused as replayable */
	ck_assert_int_eq(mxp_stamp_parse("v=1; host=mx2.example.com; mac=00", &back), MXP_STAMP_V1);
	/* without the mac: refused, it is the one field that must be there */
	*strrchr(good, ';') = '\0';
	ck_assert_int_eq(mxp_stamp_parse(good, &back), MXP_STAMP_BAD);
	g_string_free(longhost, TRUE);
	for (size_t i = 3; i < G_N_ELEMENTS(bad); i++)
		g_free(bad[i]);
	g_free(good);
	mxp_stamp_clear(&st);
}
END_TEST

START_TEST(test_stamp_set_keeps_field_characters_only)
{
	char f[16];

	mxp_stamp_set(f, sizeof(f), "a b;c\"d\\e\r\nf");
	ck_assert_str_eq(f, "abcdef");
	mxp_stamp_set(f, sizeof(f), "0123456789abcdefXYZ");
	ck_assert_str_eq(f, "0123456789abcde");
}
END_TEST

/* write_key - the shared key with the given mode */
static void
write_key(const char *text, mode_t mode)
{
	ck_assert_int_eq(chmod(fixture_write("parity.key", text), mode), 0);
}

START_TEST(test_key_file_checked_at_load)
{
	const char *err;

	err = fixture_policy_error(POLICY_HEAD "parity { key_file = \"nokey\" }\n");
	ck_assert_msg(strstr(err, "policy.conf:6: parity key_file = \"nokey\": No such file") !=
			      NULL,
		      "%s", err);
	write_key("short", 0600);
	err = fixture_policy_error(POLICY_HEAD "parity {\n  key_file = \"parity.key\"\n}\n");
	ck_assert_msg(strstr(err, "policy.conf:7: parity key_file = \"parity.key\": 5 bytes; a key "
				  "must have 32") != NULL,
		      "%s", err);
	write_key(KEY, 0644);
	err = fixture_policy_error(POLICY_HEAD "parity { key_file = \"parity.key\" }\n");
	ck_assert_msg(strstr(err, "readable or writable by others (mode 0644)") != NULL, "%s", err);
	err = fixture_policy_error(POLICY_HEAD "parity { }\n");
	ck_assert_msg(strstr(err, "parity: key_file is required") != NULL, "%s", err);
	write_key(KEY, 0600);
	err = fixture_policy_error(POLICY_HEAD "parity {\n  key_file = \"parity.key\"\n"
					       "  verify_key_files = { \"old.key\" }\n}\n");
	ck_assert_msg(strstr(err, "policy.conf:8: parity verify_key_files \"old.key\": No such "
				  "file") != NULL,
		      "%s", err);
	err = fixture_policy_error(POLICY_HEAD "parity {\n  key_file = \"parity.key\"\n"
					       "  max_age = 0\n}\n");
	ck_assert_msg(strstr(err, "max_age must be positive") != NULL, "%s", err);
}
END_TEST

START_TEST(test_digest_leaves_the_keys_out)
{
	struct mxp_policy *a, *b, *c, *d, *e;
	char da[65];

	write_key(KEY, 0600);
	a = fixture_policy(TIER_POLICY);
	g_strlcpy(da, a->digest, sizeof(da));
	ck_assert_ptr_nonnull(a->parity_key);
	ck_assert_uint_eq(a->parity_key_len, strlen(KEY));
	ck_assert_uint_eq(a->nparity_keys, 1);
	/* another key, another key file, keys that only verify: a rotation is no drift */
	write_key(KEY "-another", 0640);
	b = fixture_policy(TIER_POLICY);
	ck_assert_str_eq(b->digest, da);
	ck_assert_str_ne(b->parity_keys[0].kid, a->parity_keys[0].kid);
	ck_assert_int_eq(chmod(fixture_write("new.key", KEY "-new"), 0600), 0);
	d = fixture_policy(POLICY_HEAD "parity {\n  key_file = \"new.key\"\n"
				       "  verify_key_files = { \"parity.key\" }\n}\n"
				       "module testmod { }\n");
	ck_assert_str_eq(d->digest, da);
	ck_assert_uint_eq(d->nparity_keys, 2);
	/* but whether stamps are made, and how long they hold, is policy */
	c = fixture_policy(POLICY_HEAD "module testmod { }\n");
	ck_assert_str_ne(c->digest, da);
	e = fixture_policy(POLICY_HEAD "parity {\n  key_file = \"new.key\"\n  max_age = 3600\n}\n"
				       "module testmod { }\n");
	ck_assert_str_ne(e->digest, da);
	mxp_policy_unref(a);
	mxp_policy_unref(b);
	mxp_policy_unref(c);
	mxp_policy_unref(d);
	mxp_policy_unref(e);
}
END_TEST

/* load_as - the tier policy as host own (mx1 or mx2) */
static struct mxp_policy *
load_as(const char *text, const char *own)
{
	struct mxp_policy *pol = NULL;
	char *err = NULL;

	fixture_load_modules();
	ck_assert_msg(mxp_policy_load(fixture_write("policy.conf", text), own, &pol, &err) == 0,
		      "%s", err);
	return pol;
}

/* stamp_of - the X-MXParity value among a transaction's additions, or NULL */
static const char *
stamp_of(const struct test_txn *t)
{
	for (unsigned i = 0; i < t->additions && i < 4; i++)
		if (g_str_has_prefix(t->added[i], "X-MXParity: "))
			return t->added[i] + strlen("X-MXParity: ");
	return NULL;
}

/* edge_stamp - what mx2 stamps on a message from 192.0.2.1 */
static char *
edge_stamp(const char *policy_text, const char *body)
{
	struct mxp_policy *mx2 = load_as(policy_text, "mx2.example.com");
	struct test_txn t = { .client_ip = "192.0.2.1", .body = body };
	struct mxp_stamp st;
	char *value;

	run_txn(mx2, &t);
	ck_assert_int_eq(t.verdict, MXP_CONTINUE);
	ck_assert_msg(stamp_of(&t) != NULL, "no stamp: %s", t.summary);
	value = g_strdup(stamp_of(&t));
	ck_assert_msg(mxp_stamp_parse(value, &st) == MXP_STAMP_OK, "%s", value);
	ck_assert_str_eq(st.host, "mx2.example.com");
	ck_assert_str_eq(st.tier, "backup");
	ck_assert_str_eq(st.client, "192.0.2.1");
	ck_assert_str_eq(st.helo, "client.example");
	ck_assert_str_eq(st.from, "sender@example.org");
	ck_assert(mxp_stamp_verify(&st, mx2->parity_key, mx2->parity_key_len));
	/* what the modules found travels: testmod's finding among them */
	ck_assert_msg(mxp_stamp_finding(&st, "test") != NULL, "%s", value);
	mxp_stamp_clear(&st);
	mxp_policy_unref(mx2);
	return value;
}

/* relay_setup - a message from mx2 (127.0.0.3) to mx1 with the given stamp and body */
static void
relay_setup(struct test_txn *t, const char *stamp, const char *body)
{
	*t = (struct test_txn){ .client_ip = "127.0.0.3", .body = body };
	t->headers[0][0] = "Received";
	t->headers[0][1] = "from mx2.example.com (mx2.example.com [127.0.0.3])\r\n\tby "
			   "mx1.example.com (Postfix) with ESMTP id 1A2B3C";
	t->headers[1][0] = "Received";
	t->headers[1][1] = "from client.example (unknown [192.0.2.1])\r\n\tby mx2.example.com "
			   "(Postfix) with ESMTP id 4D5E6F";
	t->headers[2][0] = "Subject";
	t->headers[2][1] = "hello"; /* as mx2 saw it */
	if (stamp != NULL) {
		t->headers[3][0] = "X-MXParity";
		t->headers[3][1] = stamp;
	}
}

/* relay - mx1 receives from mx2 a message with the given stamp and body */
static void
relay(struct mxp_policy *mx1, const char *stamp, const char *body, struct test_txn *t)
{
	relay_setup(t, stamp, body);
	run_txn(mx1, t);
}

/* resign - stamp with ts replaced, signed with key (another key gives another kid) */
static char *
resign(const char *stamp, const char *ts, const char *key)
{
	struct mxp_stamp st;
	char *value;

	ck_assert_int_eq(mxp_stamp_parse(stamp, &st), MXP_STAMP_OK);
	if (ts != NULL)
		g_strlcpy(st.ts, ts, sizeof(st.ts));
	mxp_parity_key_id((const unsigned char *)key, strlen(key), st.kid);
	value = mxp_stamp_format(&st, (const unsigned char *)key, strlen(key));
	mxp_stamp_clear(&st);
	return value;
}

/* assert_refused - the summary names outcome and the modules saw an unverified relay */
static void
assert_refused(const struct test_txn *t, const char *outcome)
{
	char want[64];

	snprintf(want, sizeof(want), " parity=%s ", outcome);
	ck_assert_msg(strstr(t->summary, want) != NULL, "want%s: %s", want, t->summary);
	ck_assert_msg(strstr(t->added[0], "relay=unverified client=192.0.2.1") != NULL, "%s",
		      t->added[0]);
	ck_assert_msg(strstr(t->added[0], "peer_test=-") != NULL, "%s", t->added[0]);
}

START_TEST(test_relay_hop_verifies_the_peers_stamp)
{
	struct mxp_policy *mx1;
	struct test_txn t;
	char *stamp;

	write_key(KEY, 0600);
	stamp = edge_stamp(TIER_POLICY, "the body\r\n");
	mx1 = load_as(TIER_POLICY, "mx1.example.com");
	relay(mx1, stamp, "the body\r\n", &t);
	ck_assert_msg(strstr(t.summary, "hop=relay:mx2.example.com") != NULL, "%s", t.summary);
	ck_assert_msg(strstr(t.summary, " parity=verified ") != NULL, "%s", t.summary);
	/* modules see the original client, taken from the stamp */
	ck_assert_msg(strstr(t.added[0], "relay=verified client=192.0.2.1 helo=client.example") !=
			      NULL,
		      "%s", t.added[0]);
	/* a finding of the peer's testmod, read by name from its stamp, with no core support */
	ck_assert_msg(strstr(t.added[0], "peer_test=ok:") != NULL, "%s", t.added[0]);
	/* the peer's stamp removed, ours added: one stamp leaves, naming the original client */
	ck_assert_uint_eq(t.removals, 1);
	ck_assert_msg(stamp_of(&t) != NULL &&
			      strstr(stamp_of(&t), "host=mx1.example.com; "
						   "tier=primary") != NULL &&
			      strstr(stamp_of(&t), "client=192.0.2.1;") != NULL,
		      "%s", stamp_of(&t) ? stamp_of(&t) : t.summary);
	mxp_policy_unref(mx1);
	g_free(stamp);
}
END_TEST

START_TEST(test_relay_hop_refuses_bad_stamps)
{
	struct mxp_policy *mx1, *changed;
	struct test_txn t;
	char *stamp, *tampered, *drifted;

	write_key(KEY, 0600);
	stamp = edge_stamp(TIER_POLICY, "the body\r\n");
	drifted = edge_stamp(TIER_POLICY "limits { max_headers = 999 }\n", "the body\r\n");
	mx1 = load_as(TIER_POLICY, "mx1.example.com");

	/* no stamp: the original client comes from mx2's Received header, below mx1's own */
	relay(mx1, NULL, "the body\r\n", &t);
	ck_assert_msg(strstr(t.summary, " parity=no-stamp ") != NULL, "%s", t.summary);
	ck_assert_msg(strstr(t.added[0], "relay=unverified client=192.0.2.1 helo=client.example") !=
			      NULL,
		      "%s", t.added[0]);
	/* a real stamp on another body */
	relay(mx1, stamp, "another body\r\n", &t);
	ck_assert_msg(strstr(t.summary, " parity=body-mismatch ") != NULL, "%s", t.summary);
	/* a changed field */
	tampered = g_strdup(stamp);
	memcpy(strstr(tampered, "client=192.0.2.1"), "client=192.0.2.9", 16);
	relay(mx1, tampered, "the body\r\n", &t);
	ck_assert_msg(strstr(t.summary, " parity=bad-mac ") != NULL, "%s", t.summary);
	/* garbage */
	relay(mx1, "v=2; host=mx2.example.com; mac=00", "the body\r\n", &t);
	ck_assert_msg(strstr(t.summary, " parity=bad-mac ") != NULL, "%s", t.summary);
	/* version 1 stamps are replayable: never trusted */
	relay(mx1, "v=1; host=mx2.example.com; mac=00", "the body\r\n", &t);
	assert_refused(&t, "v1-stamp");
	/* another policy on mx2 */
	relay(mx1, drifted, "the body\r\n", &t);
	ck_assert_msg(strstr(t.summary, " parity=drift ") != NULL, "%s", t.summary);
	ck_assert_msg(strstr(t.added[0], "relay=unverified client=192.0.2.1") != NULL, "%s",
		      t.added[0]);
	/* the same stamp, verified by a host running the drifted policy, is fine */
	changed = load_as(TIER_POLICY "limits { max_headers = 999 }\n", "mx1.example.com");
	relay(changed, drifted, "the body\r\n", &t);
	ck_assert_msg(strstr(t.summary, " parity=verified ") != NULL, "%s", t.summary);
	mxp_policy_unref(changed);
	mxp_policy_unref(mx1);
	g_free(tampered);
	g_free(drifted);
	g_free(stamp);
}
END_TEST

START_TEST(test_relay_hop_refuses_replayed_stamps)
{
	struct mxp_policy *mx1, *mx2;
	struct test_txn t, e;
	char *stamp, *two, *old, *future, *other, ts[32];

	write_key(KEY, 0600);
	stamp = edge_stamp(TIER_POLICY, "the body\r\n");
	mx1 = load_as(TIER_POLICY, "mx1.example.com");

	/* another sender */
	relay_setup(&t, stamp, "the body\r\n");
	t.from = "<other@example.org>";
	run_txn(mx1, &t);
	assert_refused(&t, "sender-differs");
	/* another recipient */
	relay_setup(&t, stamp, "the body\r\n");
	t.rcpts[0] = "<mallory@example.com>";
	run_txn(mx1, &t);
	assert_refused(&t, "recipients-differ");
	/* one more recipient than stamped */
	relay_setup(&t, stamp, "the body\r\n");
	t.rcpts[0] = "<alice@example.com>";
	t.rcpts[1] = "<mallory@example.com>";
	run_txn(mx1, &t);
	assert_refused(&t, "recipients-differ");
	/* a header that changes how the body is read */
	relay_setup(&t, stamp, "the body\r\n");
	t.headers[4][0] = "Content-Transfer-Encoding";
	t.headers[4][1] = "base64";
	run_txn(mx1, &t);
	assert_refused(&t, "headers-differ");
	/* the same bound field refolded by the relay is the same field */
	relay_setup(&t, stamp, "the body\r\n");
	t.headers[2][1] = " hello\r\n ";
	run_txn(mx1, &t);
	ck_assert_msg(strstr(t.summary, " parity=verified ") != NULL, "%s", t.summary);
	/* too old, or from the future */
	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL) - 435601);
	old = resign(stamp, ts, KEY);
	relay(mx1, old, "the body\r\n", &t);
	assert_refused(&t, "stale");
	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL) + 3600);
	future = resign(stamp, ts, KEY);
	relay(mx1, future, "the body\r\n", &t);
	assert_refused(&t, "stale");
	/* signed by a key the policy does not hold (a retired one) */
	other = resign(stamp, NULL, KEY "-retired");
	relay(mx1, other, "the body\r\n", &t);
	assert_refused(&t, "unknown-key");

	/* split across transactions: each recipient of this one was stamped */
	mx2 = load_as(TIER_POLICY, "mx2.example.com");
	e = (struct test_txn){ .client_ip = "192.0.2.1", .body = "the body\r\n" };
	e.rcpts[0] = "<alice@example.com>";
	e.rcpts[1] = "<bob@example.com>";
	run_txn(mx2, &e);
	two = g_strdup(stamp_of(&e));
	relay_setup(&t, two, "the body\r\n");
	t.rcpts[0] = "<BOB@example.com>";
	run_txn(mx1, &t);
	ck_assert_msg(strstr(t.summary, " parity=verified ") != NULL, "%s", t.summary);

	mxp_policy_unref(mx2);
	mxp_policy_unref(mx1);
	g_free(two);
	g_free(other);
	g_free(future);
	g_free(old);
	g_free(stamp);
}
END_TEST

/*
 * sendmail adds Date and Message-Id to a message without them as it relays
 * it, after its filter stamped it: one Date and one Message-Id at the
 * peer's name added are still the stamped message; any other change to
 * them is not.
 */
START_TEST(test_relay_may_add_date_and_message_id)
{
	struct mxp_policy *mx1, *mx2;
	struct test_txn t, e;
	char *stamp, *dated;

	write_key(KEY, 0600);
	stamp = edge_stamp(TIER_POLICY, "the body\r\n");
	mx1 = load_as(TIER_POLICY, "mx1.example.com");
	/* both added by the relay */
	relay_setup(&t, stamp, "the body\r\n");
	t.headers[4][0] = "Date";
	t.headers[4][1] = "Thu, 3 Dec 2026 18:33:21 GMT";
	t.headers[5][0] = "Message-Id";
	t.headers[5][1] = "<202612031833.6B3IXLkl022847@mx2.example.com>";
	run_txn(mx1, &t);
	ck_assert_msg(strstr(t.summary, " parity=verified ") != NULL, "%s", t.summary);
	/* one only */
	relay_setup(&t, stamp, "the body\r\n");
	t.headers[4][0] = "Message-Id";
	t.headers[4][1] = "<1@mx2.example.com>";
	run_txn(mx1, &t);
	ck_assert_msg(strstr(t.summary, " parity=verified ") != NULL, "%s", t.summary);
	/* a Message-Id at another name is not the peer's MTA's */
	relay_setup(&t, stamp, "the body\r\n");
	t.headers[4][0] = "Message-Id";
	t.headers[4][1] = "<1@mallory.example.net>";
	run_txn(mx1, &t);
	assert_refused(&t, "headers-differ");
	/* two Dates is no MTA's doing */
	relay_setup(&t, stamp, "the body\r\n");
	t.headers[4][0] = "Date";
	t.headers[4][1] = "Thu, 3 Dec 2026 18:33:21 GMT";
	t.headers[5][0] = "Date";
	t.headers[5][1] = "Fri, 4 Dec 2026 00:00:00 GMT";
	run_txn(mx1, &t);
	assert_refused(&t, "headers-differ");
	/* nor another field added with them */
	relay_setup(&t, stamp, "the body\r\n");
	t.headers[4][0] = "Date";
	t.headers[4][1] = "Thu, 3 Dec 2026 18:33:21 GMT";
	t.headers[5][0] = "Reply-To";
	t.headers[5][1] = "<mallory@example.net>";
	run_txn(mx1, &t);
	assert_refused(&t, "headers-differ");

	/* a Date the edge saw and stamped may not change on the way */
	mx2 = load_as(TIER_POLICY, "mx2.example.com");
	e = (struct test_txn){ .client_ip = "192.0.2.1", .body = "the body\r\n" };
	e.headers[0][0] = "Subject";
	e.headers[0][1] = "hello";
	e.headers[1][0] = "Date";
	e.headers[1][1] = "Thu, 3 Dec 2026 18:00:00 GMT";
	run_txn(mx2, &e);
	ck_assert_ptr_nonnull(stamp_of(&e));
	dated = g_strdup(stamp_of(&e));
	relay_setup(&t, dated, "the body\r\n");
	t.headers[4][0] = "Date";
	t.headers[4][1] = "Thu, 3 Dec 2026 18:00:00 GMT";
	run_txn(mx1, &t);
	ck_assert_msg(strstr(t.summary, " parity=verified ") != NULL, "%s", t.summary);
	relay_setup(&t, dated, "the body\r\n");
	t.headers[4][0] = "Date";
	t.headers[4][1] = "Mon, 1 Jan 2024 00:00:00 GMT";
	run_txn(mx1, &t);
	assert_refused(&t, "headers-differ");
	relay_setup(&t, dated, "the body\r\n");
	run_txn(mx1, &t); /* removed on the way */
	assert_refused(&t, "headers-differ");
	/* the stamped Date kept, a Message-Id added */
	relay_setup(&t, dated, "the body\r\n");
	t.headers[4][0] = "Date";
	t.headers[4][1] = "Thu, 3 Dec 2026 18:00:00 GMT";
	t.headers[5][0] = "Message-Id";
	t.headers[5][1] = "<2@mx2.example.com>";
	run_txn(mx1, &t);
	ck_assert_msg(strstr(t.summary, " parity=verified ") != NULL, "%s", t.summary);
	mxp_policy_unref(mx1);
	mxp_policy_unref(mx2);
	g_free(stamp);
	g_free(dated);
}
END_TEST

START_TEST(test_stamp_binds_blanks_and_the_whole_envelope)
{
	struct mxp_policy *mx1, *mx2;
	struct test_txn e, t;
	char *stamp, *value;
	struct mxp_stamp st;

	write_key(KEY, 0600);
	mx2 = load_as(TIER_POLICY, "mx2.example.com");
	mx1 = load_as(TIER_POLICY, "mx1.example.com");
	/* A quoted boundary with two blanks is not the one with one blank. */
	e = (struct test_txn){ .client_ip = "192.0.2.1", .body = "the body\r\n" };
	e.headers[0][0] = "Subject";
	e.headers[0][1] = "hello";
	e.headers[1][0] = "Content-Type";
	e.headers[1][1] = "multipart/mixed; boundary=\"a  b\"";
	run_txn(mx2, &e);
	stamp = g_strdup(stamp_of(&e));
	ck_assert_ptr_nonnull(stamp);
	relay_setup(&t, stamp, "the body\r\n");
	t.headers[4][0] = "Content-Type";
	t.headers[4][1] = "multipart/mixed; boundary=\"a  b\"";
	run_txn(mx1, &t);
	ck_assert_msg(strstr(t.summary, " parity=verified ") != NULL, "%s", t.summary);
	relay_setup(&t, stamp, "the body\r\n");
	t.headers[4][0] = "Content-Type";
	t.headers[4][1] = "multipart/mixed; boundary=\"a b\"";
	run_txn(mx1, &t);
	assert_refused(&t, "headers-differ");
	/* A sender a stamp field cannot hold as it is: no stamp, and no belief on a relay. */
	e = (struct test_txn){ .client_ip = "192.0.2.1", .from = "<\"a b\"@example.org>" };
	run_txn(mx2, &e);
	ck_assert_msg(stamp_of(&e) == NULL, "stamped: %s", stamp_of(&e));
	relay_setup(&t, stamp, "the body\r\n");
	t.from = "<\"a b\"@example.org>";
	run_txn(mx1, &t);
	assert_refused(&t, "unbound");
	/* A client that authenticated from a peer's address is not a relay hop. */
	relay_setup(&t, stamp, "the body\r\n");
	t.auth = "someone";
	run_txn(mx1, &t);
	ck_assert_msg(strstr(t.summary, "hop=trusted") != NULL &&
			      strstr(t.summary, "parity=") == NULL,
		      "%s", t.summary);
	/* A comma in a HELO folded past the fold column stays in its value. */
	ck_assert_int_eq(mxp_stamp_parse(stamp, &st), MXP_STAMP_OK);
	mxp_stamp_set(st.helo, sizeof(st.helo),
		      "a,very,long,helo,name,with,commas,that,goes,past,the,fold,column,x,y,z");
	value = mxp_stamp_format(&st, (const unsigned char *)KEY, strlen(KEY));
	mxp_stamp_clear(&st);
	ck_assert_int_eq(mxp_stamp_parse(value, &st), MXP_STAMP_OK);
	ck_assert_str_eq(st.helo,
			 "a,very,long,helo,name,with,commas,that,goes,past,the,fold,column,x,y,z");
	ck_assert(mxp_stamp_verify(&st, (const unsigned char *)KEY, strlen(KEY)));
	mxp_stamp_clear(&st);
	g_free(value);
	g_free(stamp);
	mxp_policy_unref(mx1);
	mxp_policy_unref(mx2);
}
END_TEST

START_TEST(test_no_module_speaks_for_another)
{
	static const char *const names[] = { "av", "spf", "testmod", NULL };
	struct mxp_result res;

	mxp_result_init(&res);
	res.owner = "testmod";
	res.module_names = names;
	ck_assert_int_eq(mxp_result_add_finding(&res, "av", 0, "clean"), -1);
	ck_assert_int_eq(mxp_result_add_finding(&res, "spf", 0, "pass"), -1);
	ck_assert_int_eq(mxp_result_add_finding(&res, "testmod", 0, "ok"), 0);
	ck_assert_int_eq(mxp_result_add_finding(&res, "test", 0, "ok"), 0);
	ck_assert_uint_eq(res.findings->len, 2);
	res.owner = "av";
	ck_assert_int_eq(mxp_result_add_finding(&res, "av", 0, "clean"), 0);
	mxp_result_release(&res);
}
END_TEST

START_TEST(test_key_rotation_host_by_host)
{
	struct mxp_policy *mx1;
	struct test_txn t;
	char *by_old, *by_new;
	const char *both =
		POLICY_HEAD "parity {\n  key_file = \"parity.key\"\n"
			    "  verify_key_files = { \"new.key\" }\n}\nmodule testmod { }\n";
	const char *switched = POLICY_HEAD "parity {\n  key_file = \"new.key\"\n"
					   "  verify_key_files = { \"parity.key\" }\n}\n"
					   "module testmod { }\n";
	const char *only_new =
		POLICY_HEAD "parity {\n  key_file = \"new.key\"\n}\nmodule testmod { }\n";

	write_key(KEY, 0600);
	ck_assert_int_eq(chmod(fixture_write("new.key", KEY "-new"), 0600), 0);
	/* 1. every host learns the new key; mx2 still signs with the old one */
	by_old = edge_stamp(TIER_POLICY, "the body\r\n");
	mx1 = load_as(both, "mx1.example.com");
	relay(mx1, by_old, "the body\r\n", &t);
	ck_assert_msg(strstr(t.summary, " parity=verified ") != NULL, "%s", t.summary);
	/* 2. mx2 signs with the new key; mx1 (step 1 or already switched) verifies it */
	by_new = edge_stamp(switched, "the body\r\n");
	relay(mx1, by_new, "the body\r\n", &t);
	ck_assert_msg(strstr(t.summary, " parity=verified ") != NULL, "%s", t.summary);
	mxp_policy_unref(mx1);
	mx1 = load_as(switched, "mx1.example.com");
	relay(mx1, by_old, "the body\r\n", &t);
	ck_assert_msg(strstr(t.summary, " parity=verified ") != NULL, "%s", t.summary);
	/* 3. the old key retired: what it signed is no longer believed */
	mxp_policy_unref(mx1);
	mx1 = load_as(only_new, "mx1.example.com");
	relay(mx1, by_new, "the body\r\n", &t);
	ck_assert_msg(strstr(t.summary, " parity=verified ") != NULL, "%s", t.summary);
	relay(mx1, by_old, "the body\r\n", &t);
	assert_refused(&t, "unknown-key");
	mxp_policy_unref(mx1);
	g_free(by_old);
	g_free(by_new);
}
END_TEST

START_TEST(test_stamp_from_a_non_peer_is_removed)
{
	struct mxp_policy *mx1;
	struct test_txn t = { .client_ip = "192.0.2.7" };
	char *stamp;

	write_key(KEY, 0600);
	stamp = edge_stamp(TIER_POLICY, "body\r\n");
	mx1 = load_as(TIER_POLICY, "mx1.example.com");
	t.headers[0][0] = "X-MXParity";
	t.headers[0][1] = stamp;
	t.headers[1][0] = "x-mxparity";
	t.headers[1][1] = "v=1; anything";
	run_txn(mx1, &t);
	ck_assert_msg(strstr(t.summary, "hop=edge") != NULL, "%s", t.summary);
	ck_assert_msg(strstr(t.summary, "parity=") == NULL, "%s", t.summary);
	ck_assert_msg(strstr(t.added[0], "relay=none") != NULL, "%s", t.added[0]);
	ck_assert_uint_eq(t.removals, 2);
	ck_assert_msg(stamp_of(&t) != NULL &&
			      strstr(stamp_of(&t), "host=mx1.example.com;") != NULL &&
			      strstr(stamp_of(&t), "client=192.0.2.7;") != NULL,
		      "%s", t.summary);
	mxp_policy_unref(mx1);
	g_free(stamp);
}
END_TEST

START_TEST(test_no_key_no_stamp_and_relays_filtered_again)
{
	struct mxp_policy *pol = fixture_policy(POLICY_HEAD "module testmod { }\n");
	struct test_txn edge = { .client_ip = "192.0.2.1" }, t;

	run_txn(pol, &edge);
	ck_assert_ptr_null(stamp_of(&edge));
	relay(pol, NULL, "b\r\n", &t);
	ck_assert_msg(strstr(t.summary, " parity=no-key ") != NULL, "%s", t.summary);
	ck_assert_msg(strstr(t.added[0], "relay=unverified client=192.0.2.1") != NULL, "%s",
		      t.added[0]);
	mxp_policy_unref(pol);
}
END_TEST

Suite *
suite_parity(void)
{
	Suite *s = suite_create("parity");
	TCase *tc = tcase_create("stamps");

	tcase_add_test(tc, test_stamp_round_trip_and_tampering);
	tcase_add_test(tc, test_stamp_parse_refuses_malformed);
	tcase_add_test(tc, test_stamp_set_keeps_field_characters_only);
	tcase_add_test(tc, test_key_file_checked_at_load);
	tcase_add_test(tc, test_digest_leaves_the_keys_out);
	tcase_add_test(tc, test_relay_hop_verifies_the_peers_stamp);
	tcase_add_test(tc, test_relay_hop_refuses_bad_stamps);
	tcase_add_test(tc, test_relay_hop_refuses_replayed_stamps);
	tcase_add_test(tc, test_relay_may_add_date_and_message_id);
	tcase_add_test(tc, test_key_rotation_host_by_host);
	tcase_add_test(tc, test_stamp_binds_blanks_and_the_whole_envelope);
	tcase_add_test(tc, test_no_module_speaks_for_another);
	tcase_add_test(tc, test_stamp_from_a_non_peer_is_removed);
	tcase_add_test(tc, test_no_key_no_stamp_and_relays_filtered_again);
	suite_add_tcase(s, tc);
	return s;
}
