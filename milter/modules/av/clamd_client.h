/*
 * clamd_client.h - one command to one clamd server over a connection of
 * its own: zINSTREAM (the message in chunks), zPING, zVERSION.  Every step
 * is bounded by an absolute deadline on the monotonic clock; nothing here
 * retries (clamd_pool.h decides where the next attempt goes).
 */
#ifndef AV_CLAMD_CLIENT_H
#define AV_CLAMD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clamd_reply.h"
#include "spool.h"

struct clamd_addr {
	bool is_unix;
	char path[108]; /* unix: the socket */
	char host[64];	/* tcp: a numeric IPv4 or IPv6 address */
	char port[8];	/* tcp */
	char text[200]; /* as written in the policy, for the log */
};

/*
 * clamd_addr_parse - "unix:/run/clamav/clamd.ctl", "tcp:192.0.2.5:3310" or
 * "tcp:[2001:db8::5]:3310" (an address, not a name: no DNS lookup on the
 * scan path); -1 with the reason in err
 */
int clamd_addr_parse(const char *spec, struct clamd_addr *out, char *err, size_t errlen);

/* clamd_now_ms - the monotonic clock the deadlines are on */
int64_t clamd_now_ms(void);

/*
 * clamd_scan - zINSTREAM the spooled message in chunks of at most chunk
 * bytes and read the reply; 0 with reply set (which may say CLAMD_ERROR:
 * clamd answered), -1 with err when the server could not be used
 * (connect, write, read, deadline, a reply without its end).  A server
 * that closes while we still send (StreamMaxLength) is read for its reply.
 * keepalive(arg) is called about every second of waiting.
 */
int clamd_scan(const struct clamd_addr *addr, const struct av_spool *sp, size_t chunk,
	       int64_t deadline, void (*keepalive)(void *), void *arg, struct clamd_reply *reply,
	       char *err, size_t errlen);

/*
 * clamd_command - a one-line command ("zPING", "zVERSION") and its reply in
 * buf (printable, NUL-terminated); 0, or -1 with err
 */
int clamd_command(const struct clamd_addr *addr, const char *command, int64_t deadline, char *buf,
		  size_t len, char *err, size_t errlen);

#endif
