/*
 * test_rt_pool_model.c - randomized configurations checked against a model of what must hold:
 * each round builds a pool (1-3 workers) and a mix of pooled and thread components (bounded
 * or unbounded channels, some with ticks) whose handlers, at random, forward a message to
 * another component (try_send), await a timed receive that must time out, or spawn a task
 * that awaits one; the main thread sends random amounts and stops every component in a random
 * mode. The model: for each component, handled + handed back == messages successfully sent to
 * it (by the main thread and by other handlers); every timed await returns LT_ETIMEDOUT, not
 * earlier than its deadline; every spawned task returns. The seed is printed (LT_MODEL_SEED
 * replays one).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <looptrace/rt/rt.h>

#include "lt_test.h"

#define MAX_COMPS 6

struct mcomp {
	struct lt_comp *comp;
	struct lt_chan *in[2];
	struct lt_chan *never; /* nobody sends here: awaits on it time out */
	int nin;
	uint64_t rng;      /* handler only */
	_Atomic long sent; /* successfully sent to this component */
	_Atomic long handled;
	_Atomic long back; /* handed back at stop */
	_Atomic long ticks;
};

struct world {
	struct lt_pool *pool;
	struct mcomp c[MAX_COMPS];
	int n;
	_Atomic long bad, awaits, spawned, tasks_done;
};

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* timed_await - a receive on a channel nobody feeds, 50-300 us: must time out, not early. */
static void timed_await(struct world *w, struct lt_chan *never, uint64_t r)
{
	uint64_t dl = lt_rt_deadline(50000 + r % 250000);
	void *m;

	if (lt_chan_recv_timed(never, &m, dl) != LT_ETIMEDOUT || lt_rt_now_ns() < dl)
		atomic_fetch_add(&w->bad, 1);
	atomic_fetch_add(&w->awaits, 1);
}

struct task_arg {
	struct world *w;
	uint64_t r;
};

static void task_fn(void *arg)
{
	struct task_arg *t = arg;
	struct lt_chan *never; /* its own: a channel has one receiver */

	LT_ASSERT_EQ_I(lt_chan_create("task.never", 1, free, &never), LT_OK);
	timed_await(t->w, never, t->r);
	lt_chan_destroy(never);
	atomic_fetch_add(&t->w->tasks_done, 1);
	free(t);
}

static long *cell(long v)
{
	long *p = malloc(sizeof(*p));

	LT_ASSERT(p != NULL);
	*p = v;
	return p;
}

static void handler(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct mcomp *mc = arg;
	struct world *w = (struct world *)(uintptr_t)(*(long *)msg);
	uint64_t r = next_rand(&mc->rng);

	(void)comp;
	(void)info;
	atomic_fetch_add(&mc->handled, 1);
	switch (r % 16) {
	case 0:
	case 1: {
		/* Forward to another component; a full or closed channel keeps it here. */
		struct mcomp *to = &w->c[(r >> 8) % (uint64_t)w->n];

		if (lt_chan_try_send(to->in[(r >> 16) % (uint64_t)to->nin], msg) == LT_OK) {
			atomic_fetch_add(&to->sent, 1);
			return;
		}
		break;
	}
	case 2:
		timed_await(w, mc->never, r >> 20);
		break;
	case 3: {
		struct task_arg *t = malloc(sizeof(*t));

		LT_ASSERT(t != NULL);
		t->w = w;
		t->r = r >> 20;
		atomic_fetch_add(&w->spawned, 1);
		if (lt_pool_spawn(w->pool, "model.task", task_fn, t) != LT_OK) {
			atomic_fetch_add(&w->bad, 1);
			free(t);
		}
		break;
	}
	default:
		break;
	}
	free(msg);
}

static void on_tick(struct lt_comp *comp, void *arg)
{
	(void)comp;
	atomic_fetch_add(&((struct mcomp *)arg)->ticks, 1);
}

static void count_back(void *msg, const struct lt_msg_info *info, void *arg)
{
	(void)info;
	free(msg);
	atomic_fetch_add((_Atomic long *)arg, 1);
}

static void one_round(uint64_t *rng, int round)
{
	struct world *w = calloc(1, sizeof(*w));
	long total = 0;

	LT_ASSERT(w != NULL);
	LT_ASSERT_EQ_I(lt_pool_create("model", 1 + (unsigned)(next_rand(rng) % 3), &w->pool),
		       LT_OK);
	w->n = 1 + (int)(next_rand(rng) % MAX_COMPS);
	for (int i = 0; i < w->n; i++) {
		struct mcomp *mc = &w->c[i];

		mc->rng = next_rand(rng) | 1;
		mc->nin = 1 + (int)(next_rand(rng) % 2);
		LT_ASSERT_EQ_I(lt_comp_create("model", &mc->comp), LT_OK);
		for (int k = 0; k < mc->nin; k++) {
			size_t cap = next_rand(rng) % 3 == 0 ? 0 : 1 + next_rand(rng) % 8;

			LT_ASSERT_EQ_I(lt_chan_create("model.in", cap, free, &mc->in[k]), LT_OK);
			LT_ASSERT_EQ_I(lt_comp_add_handler(mc->comp, mc->in[k], NULL, handler, mc),
				       LT_OK);
		}
		LT_ASSERT_EQ_I(lt_chan_create("model.never", 1, free, &mc->never), LT_OK);
		if (next_rand(rng) % 4 == 0)
			LT_ASSERT_EQ_I(lt_comp_set_tick(mc->comp, 200000, on_tick, mc), LT_OK);
		if (next_rand(rng) % 4 != 0) /* most are sequences, some threads */
			LT_ASSERT_EQ_I(lt_comp_set_pool(mc->comp, w->pool), LT_OK);
		LT_ASSERT_EQ_I(lt_comp_start(mc->comp), LT_OK);
	}
	for (int i = 0; i < w->n; i++) {
		struct mcomp *mc = &w->c[i];
		long k = (long)(next_rand(rng) % 400);

		for (long j = 0; j < k; j++) {
			long *m = cell((long)(uintptr_t)w);

			LT_ASSERT_EQ_I(lt_chan_send(mc->in[j % mc->nin], m), LT_OK);
			atomic_fetch_add(&mc->sent, 1);
			total++;
		}
	}
	for (int i = 0; i < w->n; i++) {
		struct mcomp *mc = &w->c[i];
		enum lt_comp_stop_mode mode =
		    next_rand(rng) % 2 ? LT_COMP_STOP_DRAIN : LT_COMP_STOP_HANDBACK;

		LT_ASSERT_EQ_I(lt_comp_stop(mc->comp, mode, count_back, &mc->back, NULL), LT_OK);
	}
	LT_ASSERT_EQ_I(lt_pool_wait_tasks(w->pool, LT_FOREVER), LT_OK);
	for (int i = 0; i < w->n; i++) {
		struct mcomp *mc = &w->c[i];

		if (atomic_load(&mc->handled) + atomic_load(&mc->back) != atomic_load(&mc->sent))
			fprintf(stderr, "round %d comp %d: handled %ld + back %ld != sent %ld\n",
				round, i, atomic_load(&mc->handled), atomic_load(&mc->back),
				atomic_load(&mc->sent));
		LT_ASSERT_EQ_I(atomic_load(&mc->handled) + atomic_load(&mc->back),
			       atomic_load(&mc->sent));
		lt_comp_destroy(mc->comp);
		for (int k = 0; k < mc->nin; k++)
			lt_chan_destroy(mc->in[k]);
		lt_chan_destroy(mc->never);
	}
	LT_ASSERT_EQ_I(atomic_load(&w->bad), 0);
	LT_ASSERT_EQ_I(atomic_load(&w->tasks_done), atomic_load(&w->spawned));
	LT_ASSERT_EQ_I(lt_pool_destroy(w->pool), LT_OK);
	(void)total;
	free(w);
}

int main(void)
{
	const char *env = getenv("LT_MODEL_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)lt_rt_now_ns();
	uint64_t rng = seed | 1;
	int rounds = 60;

#ifdef LT_TEST_SANITIZED
	rounds = 20;
#endif
	fprintf(stderr, "seed %llu (LT_MODEL_SEED replays it)\n", (unsigned long long)seed);
	for (int r = 0; r < rounds; r++)
		one_round(&rng, r);
	return 0;
}
