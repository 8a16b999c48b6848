/*
 * policy.h - the shared policy: loading, validation, and refcounted
 * snapshots.  A connection pins the snapshot that was current when it
 * connected, so a reload never changes policy in the middle of a message.
 */
#ifndef MXP_POLICY_H
#define MXP_POLICY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <mxparity/module.h>

#include "util/cidr.h"

struct mxp_config;

struct mxp_mx_host {
	char *name;
	char *tier; /* "primary" or "backup" */
	struct mxp_cidr *addrs;
	size_t naddrs;
};

struct mxp_policy_module {
	const struct mxp_module *mod;
	struct mxp_config *cfg;	   /* base section, with domain overrides */
	void *instance;		   /* what mod->init returned */
	enum mxp_verdict on_error; /* what a module failure turns into */
	bool check_trusted;	   /* runs for trusted_networks clients too */
	bool check_authenticated;  /* runs for SMTP AUTH clients too */
};

/* A stamp key: the signing one, or one that only verifies (key rotation). */
struct mxp_parity_key {
	unsigned char *key;
	size_t len;
	char kid[17]; /* its id in stamps (stamp.h) */
};

struct mxp_limits {
	long long max_message_size;
	long long max_header_length;
	long long max_headers;
	long long max_recipients;
};

struct mxp_policy {
	atomic_int refs;
	char *path;
	char *version;
	char digest[65]; /* hex SHA-256 of the canonical dump */
	char *canonical; /* the dump itself, for `mxparity check -v` */
	struct mxp_mx_host *hosts;
	size_t nhosts;
	const char **host_names; /* hosts[i].name, NULL-terminated, for modules */
	/* modules[i].mod->name, NULL-terminated: the finding keys they own */
	const char **module_names;
	const struct mxp_mx_host *self;
	struct mxp_cidr *trusted;
	size_t ntrusted;
	bool trusted_covers_peers; /* trusted_networks_cover_peers: said on purpose */
	struct mxp_limits limits;
	long long counters_interval; /* minutes; 0 disables */
	char *parity_key_file;	     /* as written; NULL without a parity section */
	unsigned char *parity_key;   /* its contents: the key our stamps are signed with */
	size_t parity_key_len;
	/* Every key a peer's stamp may be signed with: [0] is parity_key, then verify_key_files. */
	struct mxp_parity_key *parity_keys;
	size_t nparity_keys;
	long long parity_max_age; /* seconds a stamp stays valid */
	struct mxp_policy_module *modules;
	size_t nmodules;
	/* The audit section, for mxparity audit's probes (NULL when not set). */
	struct {
		char *known_recipient, *unknown_recipient, *sender, *spf_fail_sender, *helo;
	} audit;
	/* The policy file and the files it includes, with their SHA-256 when loaded. */
	char **source_files;
	char (*source_sha256)[65];
	size_t nsources;
};

/*
 * mxp_policy_load - parse, validate and initialise modules.  own_host is
 * this host's name in the MX map.  On failure error_r holds "FILE:LINE: why".
 */
int mxp_policy_load(const char *path, const char *own_host, struct mxp_policy **pol_r,
		    char **error_r);
struct mxp_policy *mxp_policy_ref(struct mxp_policy *pol);
/* mxp_policy_unref - the last reference destroys module instances */
void mxp_policy_unref(struct mxp_policy *pol);

/* mxp_policy_install - make pol current; the previous one is released */
void mxp_policy_install(struct mxp_policy *pol);
/* mxp_policy_acquire - a reference to the current snapshot, or NULL */
struct mxp_policy *mxp_policy_acquire(void);

/* mxp_policy_peer_by_addr - another MX host owning addr, or NULL */
const struct mxp_mx_host *mxp_policy_peer_by_addr(const struct mxp_policy *pol, const char *addr);

/* mxp_policy_module_names - "rcpt,av" into buf */
void mxp_policy_module_names(const struct mxp_policy *pol, char *buf, size_t len);
/* mxp_policy_module_details - " av=..." from each module's describe() */
void mxp_policy_module_details(const struct mxp_policy *pol, char *buf, size_t len);

/*
 * mxp_policy_key_ids - the parity keys' ids (a fingerprint: the first 8 bytes
 * of an HMAC with the key, never the key): hosts whose ids differ cannot
 * verify each other's stamps.
 */
void mxp_policy_key_ids(const struct mxp_policy *pol, char *buf, size_t len);

/*
 * mxp_policy_sources_changed - whether the policy file or a file it includes
 * now differs from what was loaded: 0 the same, 1 changed (what names the
 * first file and how).
 */
int mxp_policy_sources_changed(const struct mxp_policy *pol, char *what, size_t len);

/* mxp_policy_digest - canonical dump and hex SHA-256; policy_digest.c */
int mxp_policy_digest(struct mxp_policy *pol, char **error_r);

#endif
