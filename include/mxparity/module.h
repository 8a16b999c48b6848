/*
 * mxparity/module.h - the filter module ABI.
 *
 * A module is a shared object that exports one symbol, MXP_MODULE_SYMBOL,
 * pointing at a struct mxp_module.  Modules never talk to the MTA: they
 * return verdicts, report findings and fill in results, and the core
 * applies them.
 *
 * Versions.  The ABI is MAJOR.MINOR.  The loader refuses a module whose
 * abi_major differs from MXP_MODULE_ABI_MAJOR, and one whose abi_minor is
 * newer than the daemon's (it may call services this daemon lacks).  A
 * module built for an older minor loads.  The rules that make this safe:
 *  - a minor release only appends: new members go at the end of struct
 *    mxp_host, struct mxp_module, struct mxp_conn, struct mxp_msg and
 *    struct mxp_relay, and no member changes its type or meaning;
 *  - the core reads a struct mxp_module member added in minor N only when
 *    the module's abi_minor >= N (an older module's struct is shorter);
 *  - a module may use a struct mxp_host member added in minor N only when
 *    host->abi_minor >= N;
 *  - anything else (removing, reordering or retyping a member, changing
 *    what a call means) is a new major version.
 *
 * Threading: one connection's events arrive on one thread at a time, but
 * many connections run at once, so instance data must be read-only after
 * init() or protected by the module itself.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef MXPARITY_MODULE_H
#define MXPARITY_MODULE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <syslog.h> /* LOG_* priorities for mxp_host.log */

#ifdef __cplusplus
extern "C" {
#endif

/* See "Versions" above. */
#define MXP_MODULE_ABI_MAJOR 4
#define MXP_MODULE_ABI_MINOR 2
#define MXP_MODULE_SYMBOL "mxp_module_entry"

/*
 * Verdicts, ordered by severity: merging keeps the most severe.
 * MXP_ERROR is not a verdict but a report that the module failed; the
 * core replaces it with the module's on_error action.
 */
enum mxp_verdict {
	MXP_ERROR = -1,
	MXP_CONTINUE = 0,
	MXP_ACCEPT,
	MXP_TAG,
	MXP_QUARANTINE,
	MXP_TEMPFAIL,
	MXP_REJECT,
	MXP_DISCARD,
};

/* Option types a module may declare; the core parses and validates them. */
enum mxp_opt_type {
	MXP_OPT_STRING, /* free text */
	MXP_OPT_INT,	/* signed integer */
	MXP_OPT_BOOL,	/* true/false, yes/no, on/off */
	MXP_OPT_SIZE,	/* byte count with optional K/M/G suffix */
	MXP_OPT_CHOICE, /* one word out of choices[] */
	MXP_OPT_LIST,	/* list of strings */
	MXP_OPT_FILE,	/* path whose contents are part of the policy digest */
	MXP_OPT_PATH,	/* file or directory that must exist; contents not digested */
	/* Since ABI 4.1: "system" or a forwarder ADDR, IPv4:PORT or [IPv6]:PORT. */
	MXP_OPT_RESOLVER,
};

/* Option flags. */
#define MXP_OPTF_PER_DOMAIN 0x1 /* may be overridden in a domain "NAME" { } section */
/*
 * Where this host does the work, not what it decides (ABI 4.2): left out of
 * the policy digest, so hosts may differ in it without drift, and it may be
 * set for one host in a host "NAME" { module M { } } section of the shared
 * policy.  An older daemon digests it like any other option.
 */
#define MXP_OPTF_HOST_LOCAL 0x2

struct mxp_option {
	const char *name;
	enum mxp_opt_type type;
	const char *def;	    /* default as text, NULL = unset */
	const char *const *choices; /* NULL-terminated, MXP_OPT_CHOICE only */
	const char *help;	    /* one line for documentation */
	unsigned flags;		    /* MXP_OPTF_* */
};

/* The parsed, validated options of one module section (opaque). */
struct mxp_config;

/* Where a connection comes from. */
enum mxp_hop {
	MXP_HOP_EDGE,	 /* an internet client */
	MXP_HOP_RELAY,	 /* another host of the MX map (mxp_conn.peer names it) */
	MXP_HOP_TRUSTED, /* trusted_networks, or SMTP AUTH for the message */
};

/* What the core knows about the SMTP client. */
struct mxp_conn {
	const char *client_name; /* reverse DNS name as the MTA saw it */
	const char *client_addr; /* textual IPv4 or IPv6 address */
	int client_family;	 /* AF_INET, AF_INET6 or AF_UNSPEC */
	const char *helo;	 /* NULL until HELO */
	const char *auth_authen; /* SASL login name, NULL when none */
	enum mxp_hop hop;
	const char *peer;	     /* the map host's name when hop is MXP_HOP_RELAY, else NULL */
	const char *own_host;	     /* this host's name in the MX map */
	const char *own_tier;	     /* "primary" or "backup" */
	const char *const *mx_hosts; /* every host name in the MX map, NULL-terminated */
};

/*
 * What the core found out about a message relayed by another host of the
 * MX map (MXP_HOP_RELAY), ready at end of message.  The peer's findings
 * are read with host->peer_finding.
 */
struct mxp_relay {
	/* The peer's X-MXParity stamp verified with a key of ours, was made
	 * for this message (sender, recipients, headers, body, age) and
	 * carries our policy digest: the peer filtered it as we would. */
	bool verified;
	const char *stamp_host; /* the stamp's host=, when verified */
	/* The original client: from the verified stamp, otherwise from the
	 * Received header the peer added; NULL when neither says. */
	const char *client_addr;
	int client_family; /* AF_INET or AF_INET6 with client_addr */
	const char *helo;  /* its HELO name, or NULL */
};

/* What the core knows about the message so far. */
struct mxp_msg {
	const char *queue_id;  /* "NOQUEUE" until the MTA names it */
	const char *mail_from; /* envelope sender without <>, "" for null */
	size_t nrcpt;	       /* accepted recipients so far */
	const char *const *rcpts;
	size_t size; /* header plus body bytes seen so far */
	/* On a relay hop, from the end of message on; NULL otherwise. */
	const struct mxp_relay *relay;
};

/*
 * The result a module fills in.  Use the host functions below to set
 * it; the core owns the memory.
 */
struct mxp_result;
struct mxp_event;

/* Finding flags. */
#define MXP_FINDING_FROM_PEER 0x1 /* the value is the verified peer's: logged as VALUE:stamp */

/* A shared DNS resolver of the core (libunbound), and one answer. */
struct mxp_dns;
struct mxp_dns_answer {
	int rcode;			  /* DNS RCODE: 0 NOERROR, 3 NXDOMAIN, ... */
	bool havedata;			  /* at least one record of the asked type */
	bool nxdomain;			  /* the name does not exist */
	int ttl;			  /* seconds */
	size_t count;			  /* records in data/len */
	const unsigned char *const *data; /* each record's rdata, in wire format */
	const int *len;
	const char *canonname; /* after CNAMEs, or NULL */
};

/* Services the core offers to modules. */
struct mxp_host {
	unsigned abi_major, abi_minor; /* the daemon's MXP_MODULE_ABI_* */
	/* Options: a missing or unset key yields def / 0 / false / NULL. */
	const char *(*cfg_string)(const struct mxp_config *cfg, const char *key);
	long long (*cfg_int)(const struct mxp_config *cfg, const char *key);
	bool (*cfg_bool)(const struct mxp_config *cfg, const char *key);
	size_t (*cfg_list_count)(const struct mxp_config *cfg, const char *key);
	const char *(*cfg_list_item)(const struct mxp_config *cfg, const char *key, size_t i);
	/* The config for a recipient domain: its overrides of MXP_OPTF_PER_DOMAIN
	 * options, falling back to cfg. */
	const struct mxp_config *(*cfg_for_domain)(const struct mxp_config *cfg,
						   const char *domain);

	/* SMTP reply for a REJECT/TEMPFAIL verdict; fmt is printf-style. */
	void (*set_reply)(struct mxp_result *res, const char *rcode, const char *xcode,
			  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
	/*
	 * A finding: what the module found, as key=value ("av", "clean";
	 * "spf", "pass").  Findings make the summary line (in module order,
	 * " key=value"), and every finding of a message that goes on travels
	 * in this host's stamp to the next tier, where host->peer_finding
	 * reads it.  key: 1-32 of [a-z0-9_-]; the value is cleaned (printable,
	 * spaces as "_", no ';', '"' or '\\') and bounded (128 bytes).
	 * Setting a key again replaces its value.  -1 for a bad key.
	 */
	int (*add_finding)(struct mxp_result *res, const char *key, unsigned flags, const char *fmt,
			   ...) __attribute__((format(printf, 4, 5)));
	/* The verified peer's finding for key on a relay hop, or NULL. */
	const char *(*peer_finding)(const struct mxp_event *ev, const char *key);
	/*
	 * An Authentication-Results method result (RFC 8601): the core writes
	 * one header per message in this host's name, with every module's
	 * results, e.g. add_auth_result(res, "spf", "pass",
	 * "smtp.mailfrom=a@b smtp.helo=c").  props may be NULL.
	 */
	int (*add_auth_result)(struct mxp_result *res, const char *method, const char *result,
			       const char *props);
	/* Headers to add, and header instances (1-based among that name) to remove. */
	int (*add_header)(struct mxp_result *res, const char *name, const char *value);
	int (*remove_header)(struct mxp_result *res, const char *name, unsigned index);
	/* The quarantine reason for MXP_QUARANTINE. */
	void (*set_quarantine)(struct mxp_result *res, const char *reason);

	/* Log through the daemon's syslog, prefixed with the queue id if any. */
	void (*log)(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
	/* Tell the MTA that a long step (waiting for a scan slot) is alive. */
	void (*progress)(struct mxp_event *ev);
	/* True in `mxparity check` and `mxparityd -C`: init should validate
	 * its configuration but not load heavy data it would only throw away. */
	bool (*checking)(void);

	/*
	 * DNS.  dns_get returns the core's resolver for these settings
	 * (upstream "system" for resolv.conf, or "ADDR[:PORT]" of a forwarder;
	 * the timeout of one query), shared by every module that asks for the
	 * same settings and kept, with its cache, across policy reloads while
	 * some snapshot uses it.  Call it from init; dns_put in destroy.
	 * dns_query blocks for at most timeout_ms (0: the resolver's own) and
	 * is safe from any thread: 0 with *answer_r (free it with
	 * dns_answer_free), or -1 on a timeout or a failure.
	 */
	struct mxp_dns *(*dns_get)(const char *upstream, unsigned query_timeout_ms, char *err,
				   size_t errlen);
	void (*dns_put)(struct mxp_dns *dns);
	int (*dns_query)(struct mxp_dns *dns, const char *name, int rrtype, unsigned timeout_ms,
			 struct mxp_dns_answer **answer_r);
	void (*dns_answer_free)(struct mxp_dns_answer *answer);
};

/* The state passed to every per-connection and per-message event. */
struct mxp_event {
	const struct mxp_host *host;
	void *instance;	  /* what init() returned */
	void *conn_state; /* what conn_begin() stored */
	void *msg_state;  /* what msg_begin() stored */
	const struct mxp_conn *conn;
	const struct mxp_msg *msg;
	struct mxp_result *result; /* reply, findings and headers; never NULL.  At
				    * connect and helo only the reply counts: there
				    * is no message yet to add headers to. */
	void *core;		   /* the core's own, for host->progress */
};

struct mxp_module {
	unsigned abi_major; /* MXP_MODULE_ABI_MAJOR */
	unsigned abi_minor; /* MXP_MODULE_ABI_MINOR of the header it was built with */
	const char *name;   /* the word after `module` in the policy */
	const char *description;
	const struct mxp_option *options; /* terminated by { NULL } */

	/*
	 * Once per policy snapshot.  Return 0 and set *instance_r, or -1
	 * with a message in err; a failure refuses the whole policy.
	 */
	int (*init)(const struct mxp_host *host, const struct mxp_config *cfg, void **instance_r,
		    char *err, size_t errlen);
	void (*destroy)(void *instance);

	/* Optional begin/end hooks; the *_state_r pointers start NULL. */
	int (*conn_begin)(struct mxp_event *ev, void **conn_state_r);
	void (*conn_end)(struct mxp_event *ev);
	int (*msg_begin)(struct mxp_event *ev, void **msg_state_r);
	void (*msg_end)(struct mxp_event *ev, bool aborted);

	/* Optional events; a NULL event counts as MXP_CONTINUE. */
	enum mxp_verdict (*connect)(struct mxp_event *ev);
	enum mxp_verdict (*helo)(struct mxp_event *ev, const char *helo);
	enum mxp_verdict (*mail)(struct mxp_event *ev, const char *from);
	enum mxp_verdict (*rcpt)(struct mxp_event *ev, const char *rcpt);
	enum mxp_verdict (*header)(struct mxp_event *ev, const char *name, const char *value,
				   unsigned index);
	enum mxp_verdict (*eoh)(struct mxp_event *ev);
	enum mxp_verdict (*body)(struct mxp_event *ev, const unsigned char *chunk, size_t len);
	enum mxp_verdict (*eom)(struct mxp_event *ev);

	/* Optional: a few words for the `policy loaded:` line. */
	void (*describe)(void *instance, char *buf, size_t len);
};

/* The version fields of a struct mxp_module, for its initialiser. */
#define MXP_MODULE_ABI_VERSION .abi_major = MXP_MODULE_ABI_MAJOR, .abi_minor = MXP_MODULE_ABI_MINOR

/* Modules define their entry with this macro. */
#define MXP_MODULE_DEFINE(var) const struct mxp_module *mxp_module_entry = &(var)

#ifdef __cplusplus
}
#endif
#endif /* MXPARITY_MODULE_H */
