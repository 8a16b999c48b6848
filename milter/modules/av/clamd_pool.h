/*
 * clamd_pool.h - which clamd server a scan goes to next: round robin over
 * the servers that are up, with error accounting per server.  A server
 * that fails fail_count times within fail_window is marked down; after
 * revive it gets one scan again (a probe), and a success brings it back.
 * No sockets here: the clock is the caller's, so the state machine is
 * tested on its own (tests/check_clamd.c).
 */
#ifndef AV_CLAMD_POOL_H
#define AV_CLAMD_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLAMD_POOL_MAX_SERVERS 32
#define CLAMD_POOL_MAX_FAIL_COUNT 64

struct clamd_pool_settings {
	unsigned fail_count;   /* failures that mark a server down, 1..64 */
	int64_t fail_window;   /* ms in which they must fall */
	int64_t revive;	       /* ms a down server waits before its probe */
	unsigned max_per_host; /* scans at once on one server (0: no bound) */
};

enum clamd_server_state { CLAMD_UP, CLAMD_DOWN, CLAMD_PROBING };

/* What a result changed, for the log. */
enum clamd_transition { CLAMD_SAME, CLAMD_WENT_DOWN, CLAMD_CAME_BACK };

struct clamd_pool;

/* clamd_pool_new - n servers (1..CLAMD_POOL_MAX_SERVERS), all up */
struct clamd_pool *clamd_pool_new(size_t n, const struct clamd_pool_settings *st);
void clamd_pool_free(struct clamd_pool *pool);

/*
 * clamd_pool_pick - the server for the next attempt at now (ms), not one
 * in tried (a bit per server), or -1 when none may be tried now; then
 * *full_r says whether one could be, but has max_per_host scans running or
 * its probe under way (worth waiting for).  *probe_r: the server picked is
 * down and this attempt is its probe (check it is alive first: zPING).
 * Taking a server counts a scan in flight on it until clamd_pool_result,
 * which must be told whether it was the probe.
 */
int clamd_pool_pick(struct clamd_pool *pool, int64_t now, uint32_t tried, bool *full_r,
		    bool *probe_r);

/*
 * clamd_pool_result - the attempt on server i ended; ok: clamd answered;
 * probe: it was the attempt clamd_pool_pick said was the probe
 */
enum clamd_transition clamd_pool_result(struct clamd_pool *pool, int i, bool ok, bool probe,
					int64_t now);

/* clamd_pool_state - server i's state at now */
enum clamd_server_state clamd_pool_state(struct clamd_pool *pool, int i, int64_t now);

#endif
