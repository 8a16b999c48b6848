/*
 * clamd_pool.c - the clamd servers' states (clamd_pool.h).  One mutex: a
 * pick and a result are a few comparisons each.
 */
#include "config.h"

#include <pthread.h>

#include <glib.h>

#include "clamd_pool.h"

struct server {
	bool down;
	bool probing;	    /* the one scan a down server gets after revive is running */
	int64_t down_until; /* when a down server may be probed */
	int64_t fails[CLAMD_POOL_MAX_FAIL_COUNT]; /* when the recent failures were, a ring */
	unsigned nfails, next_fail;
	unsigned in_flight;
};

struct clamd_pool {
	pthread_mutex_t lock;
	struct clamd_pool_settings st;
	size_t n;
	size_t next; /* round robin */
	struct server servers[CLAMD_POOL_MAX_SERVERS];
};

struct clamd_pool *
clamd_pool_new(size_t n, const struct clamd_pool_settings *st)
{
	struct clamd_pool *pool;

	if (n == 0 || n > CLAMD_POOL_MAX_SERVERS || st->fail_count == 0 ||
	    st->fail_count > CLAMD_POOL_MAX_FAIL_COUNT)
		return NULL;
	pool = g_new0(struct clamd_pool, 1);
	pthread_mutex_init(&pool->lock, NULL);
	pool->st = *st;
	pool->n = n;
	return pool;
}

void
clamd_pool_free(struct clamd_pool *pool)
{
	if (pool == NULL)
		return;
	pthread_mutex_destroy(&pool->lock);
	g_free(pool);
}

/* eligible - server s may take a scan at now (a down one: its probe, once revive passed) */
static bool
eligible(const struct clamd_pool *pool, const struct server *s, int64_t now)
{
	if (pool->st.max_per_host > 0 && s->in_flight >= pool->st.max_per_host)
		return false;
	if (!s->down)
		return true;
	return !s->probing && now >= s->down_until;
}

int
clamd_pool_pick(struct clamd_pool *pool, int64_t now, uint32_t tried, bool *full_r, bool *probe_r)
{
	int pick = -1;

	*full_r = *probe_r = false;
	pthread_mutex_lock(&pool->lock);
	/*
	 * A down server whose revive time came gets its probe first, so that it
	 * comes back even while the others answer; then the up ones, in turn.
	 */
	for (int pass = 0; pass < 2 && pick < 0; pass++)
		for (size_t k = 0; k < pool->n; k++) {
			size_t i = (pool->next + k) % pool->n;
			struct server *s = &pool->servers[i];

			if ((tried & (1u << i)) != 0 || s->down != (pass == 0) ||
			    !eligible(pool, s, now))
				continue;
			pick = (int)i;
			break;
		}
	for (size_t i = 0; pick < 0 && i < pool->n && !*full_r; i++) {
		const struct server *s = &pool->servers[i];

		if ((tried & (1u << i)) != 0)
			continue;
		/* busy, or being probed: either may be free in a moment */
		*full_r = (!s->down && pool->st.max_per_host > 0 &&
			   s->in_flight >= pool->st.max_per_host) ||
			  (s->down && s->probing);
	}
	if (pick >= 0) {
		struct server *s = &pool->servers[pick];

		s->in_flight++;
		if (s->down) {
			s->probing = true;
			*probe_r = true;
		}
		pool->next = ((size_t)pick + 1) % pool->n;
	}
	pthread_mutex_unlock(&pool->lock);
	return pick;
}

enum clamd_transition
clamd_pool_result(struct clamd_pool *pool, int i, bool ok, bool probe, int64_t now)
{
	enum clamd_transition t = CLAMD_SAME;
	struct server *s;
	unsigned recent = 0;

	if (i < 0 || (size_t)i >= pool->n)
		return t;
	pthread_mutex_lock(&pool->lock);
	s = &pool->servers[i];
	if (s->in_flight > 0)
		s->in_flight--;
	if (s->down) {
		/* only the probe decides; scans that were in flight when it went down do not */
		if (probe && ok) {
			s->down = s->probing = false;
			s->nfails = s->next_fail = 0;
			t = CLAMD_CAME_BACK;
		} else if (probe) {
			s->probing = false;
			s->down_until = now + pool->st.revive;
		}
	} else if (!ok) {
		/* failures in a sliding window: a success in between does not forgive them */
		s->fails[s->next_fail] = now;
		s->next_fail = (s->next_fail + 1) % pool->st.fail_count;
		if (s->nfails < pool->st.fail_count)
			s->nfails++;
		for (unsigned k = 0; k < s->nfails; k++)
			if (now - s->fails[k] <= pool->st.fail_window)
				recent++;
		if (recent >= pool->st.fail_count) {
			s->down = true;
			s->probing = false;
			s->down_until = now + pool->st.revive;
			t = CLAMD_WENT_DOWN;
		}
	}
	pthread_mutex_unlock(&pool->lock);
	return t;
}

enum clamd_server_state
clamd_pool_state(struct clamd_pool *pool, int i, int64_t now)
{
	enum clamd_server_state st = CLAMD_UP;

	if (i < 0 || (size_t)i >= pool->n)
		return CLAMD_DOWN;
	pthread_mutex_lock(&pool->lock);
	if (pool->servers[i].probing)
		st = CLAMD_PROBING;
	else if (pool->servers[i].down)
		st = now >= pool->servers[i].down_until ? CLAMD_PROBING : CLAMD_DOWN;
	pthread_mutex_unlock(&pool->lock);
	return st;
}
