/*
 * test_rt_pool_events.c - what pools and sequences tell liblooptrace (docs/runtime.md, the
 * contract with the analysis). This executable defines the lt_* functions the runtime calls;
 * they take precedence over liblooptrace's, so every call is recorded here, in one global
 * order, and checked:
 *  - pool_declare once, worker_begin/worker_end once per worker thread;
 *  - a pooled component: seq_begin(name, pool, 0) and seq_end, never component_begin/end or
 *    wait_begin/wait_end;
 *  - a sequence runs only after a seq_ready (none lost), never on two workers at once, and a
 *    worker runs one sequence at a time (run_begin .. run_end);
 *  - exactly one seq_ready per time a sequence becomes runnable: never while it runs (a
 *    wake during a run is written after its run_end), never twice before a run, never after
 *    its seq_end;
 *  - no handler end is kept pending by a worker when a run ends (flushed before run_end);
 *  - an await: block_begin(chan_recv, the channel) inside a run, the run ends with the block
 *    open, a later run of the same sequence ends the block;
 *  - a spawned task: seq_begin(.., LT_SEQ_TASK), handle_begin(0, name) .. handle_end(0),
 *    seq_end.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <looptrace/rt/rt.h>
#include <looptrace/trace.h>

#include "lt_test.h"

enum ev_type {
	EV_POOL_DECLARE,
	EV_WORKER_BEGIN,
	EV_WORKER_END,
	EV_SEQ_BEGIN,
	EV_SEQ_END,
	EV_READY,
	EV_RUN_BEGIN,
	EV_RUN_END,
	EV_COMP_BEGIN,
	EV_WAIT,
	EV_HANDLE_BEGIN,
	EV_HANDLE_END,
	EV_BLOCK_BEGIN,
	EV_BLOCK_END,
	EV_PENDING_AT_RUN_END,
};

struct ev {
	enum ev_type type;
	pthread_t thread;
	uint64_t a, b, c;
	char s[32];
};

#define MAX_EVENTS 200000
static struct ev events[MAX_EVENTS];
static size_t nevents;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint32_t next_id32 = 1;
static _Atomic uint64_t next_msg = 1;

static void record(enum ev_type t, uint64_t a, uint64_t b, uint64_t c, const char *s)
{
	pthread_mutex_lock(&mu);
	if (nevents < MAX_EVENTS) {
		struct ev *e = &events[nevents++];

		e->type = t;
		e->thread = pthread_self();
		e->a = a;
		e->b = b;
		e->c = c;
		snprintf(e->s, sizeof(e->s), "%s", s ? s : "");
	}
	pthread_mutex_unlock(&mu);
}

/* ---- the interposed API ---------------------------------------------------------------- */

/* A handler end kept by lt__handle_end_later on this thread, not yet written. */
static _Thread_local uint64_t pending;

uint32_t lt_pool_declare(const char *name, uint32_t threads)
{
	uint32_t id = atomic_fetch_add(&next_id32, 1);

	record(EV_POOL_DECLARE, id, threads, 0, name);
	return id;
}

void lt_pool_worker_begin(uint32_t pool)
{
	record(EV_WORKER_BEGIN, pool, 0, 0, NULL);
}

void lt_pool_worker_end(void)
{
	record(EV_WORKER_END, 0, 0, 0, NULL);
}

uint32_t lt_seq_begin(const char *name, uint32_t pool, uint32_t flags)
{
	uint32_t id = atomic_fetch_add(&next_id32, 1);

	record(EV_SEQ_BEGIN, id, pool, flags, name);
	return id;
}

void lt_seq_end(uint32_t comp)
{
	record(EV_SEQ_END, comp, 0, 0, NULL);
}

void lt_seq_ready(uint32_t comp)
{
	record(EV_READY, comp, 0, 0, NULL);
}

void lt_seq_run_begin(uint32_t comp)
{
	record(EV_RUN_BEGIN, comp, 0, 0, NULL);
}

void lt_seq_run_end(uint32_t comp)
{
	if (pending)
		record(EV_PENDING_AT_RUN_END, comp, pending, 0, NULL);
	record(EV_RUN_END, comp, 0, 0, NULL);
}

uint32_t lt_component_begin(const char *name)
{
	record(EV_COMP_BEGIN, 0, 0, 0, name);
	return atomic_fetch_add(&next_id32, 1);
}

void lt_component_end(void)
{
	record(EV_COMP_BEGIN, 1, 0, 0, NULL);
}

uint32_t lt_channel_declare_object(const char *name, uint32_t capacity, const void *object)
{
	(void)name;
	(void)capacity;
	(void)object;
	return atomic_fetch_add(&next_id32, 1);
}

uint32_t lt_channel_declare(const char *name, uint32_t capacity)
{
	return lt_channel_declare_object(name, capacity, NULL);
}

uint64_t lt_message_new(void)
{
	return atomic_fetch_add(&next_msg, 1);
}

uint64_t lt_message_reserve(uint64_t n)
{
	return n ? atomic_fetch_add(&next_msg, n) : 0;
}

static void flush(void)
{
	if (pending) {
		record(EV_HANDLE_END, pending, 0, 0, NULL);
		pending = 0;
	}
}

void lt_wait_begin(void)
{
	flush();
	record(EV_WAIT, 0, 0, 0, NULL);
}

void lt_wait_end(uint32_t chan, uint64_t msg)
{
	(void)chan;
	(void)msg;
	record(EV_WAIT, 1, 0, 0, NULL);
}

void lt_handle_begin(uint64_t msg, const char *kind)
{
	flush();
	record(EV_HANDLE_BEGIN, msg, 0, 0, kind);
}

void lt_handle_end(uint64_t msg)
{
	flush();
	record(EV_HANDLE_END, msg, 0, 0, NULL);
}

void lt__handle_end_later(uint64_t msg)
{
	flush();
	pending = msg;
}

void lt__handle_next(uint32_t chan, uint64_t msg, uint32_t depth, const char *kind)
{
	(void)chan;
	(void)depth;
	flush();
	record(EV_HANDLE_BEGIN, msg, 0, 0, kind);
}

void lt__handle_flush(void)
{
	flush();
}

void lt_block_begin(enum lt_block_reason reason, const void *object)
{
	flush();
	record(EV_BLOCK_BEGIN, (uint64_t)reason, (uint64_t)(uintptr_t)object, 0, NULL);
}

void lt_block_begin_at(enum lt_block_reason reason, const void *object, const void *where)
{
	LT_ASSERT(where != NULL);
	lt_block_begin(reason, object);
}

void lt_block_end(void)
{
	record(EV_BLOCK_END, 0, 0, 0, NULL);
}

void lt__send_event(uint32_t chan, uint64_t msg, uint64_t flow, uint32_t depth)
{
	(void)chan;
	(void)msg;
	(void)flow;
	(void)depth;
}

void lt__recv_event(uint32_t chan, uint64_t msg, uint32_t depth)
{
	(void)chan;
	(void)msg;
	(void)depth;
}

void lt_send(uint32_t chan, uint64_t msg, uint64_t flow, uint32_t depth)
{
	lt__send_event(chan, msg, flow, depth);
}

void lt_recv(uint32_t chan, uint64_t msg, uint32_t depth)
{
	lt__recv_event(chan, msg, depth);
}

/* ---- checks ------------------------------------------------------------------------------ */

#define MAX_SEQ 64

/*
 * check_runs - replays the recorded order: each sequence's state (idle, runnable, running,
 * ended), each worker's running sequence. Fails on a run without a ready before it, a ready
 * while the sequence runs, twice before a run or after its end, a sequence run twice at
 * once, a worker running two sequences, a pending handler end at a run's end, and on
 * component/wait events (pooled components have none).
 */
static void check_runs(void)
{
	enum { IDLE, RUNNABLE, RUNNING, ENDED } st[MAX_SEQ] = {0};
	pthread_t on[MAX_SEQ];
	size_t runs = 0;

	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < nevents; i++) {
		struct ev *e = &events[i];
		uint64_t c = e->a;

		switch (e->type) {
		case EV_READY:
			LT_ASSERT(c < MAX_SEQ);
			LT_ASSERT_EQ_I(st[c], IDLE); /* not running, not ready already, not ended */
			st[c] = RUNNABLE;
			break;
		case EV_SEQ_END:
			LT_ASSERT(c < MAX_SEQ);
			LT_ASSERT_EQ_I(st[c], IDLE); /* after its last run_end */
			st[c] = ENDED;
			break;
		case EV_RUN_BEGIN:
			LT_ASSERT(c < MAX_SEQ);
			LT_ASSERT_EQ_I(st[c], RUNNABLE); /* ready came first, not running */
			/* This worker runs nothing else now. */
			for (size_t k = 0; k < MAX_SEQ; k++)
				if (st[k] == RUNNING)
					LT_ASSERT(!pthread_equal(on[k], e->thread));
			st[c] = RUNNING;
			on[c] = e->thread;
			runs++;
			break;
		case EV_RUN_END:
			LT_ASSERT_EQ_I(st[c], RUNNING);
			LT_ASSERT(pthread_equal(on[c], e->thread));
			st[c] = IDLE;
			break;
		case EV_PENDING_AT_RUN_END:
		case EV_COMP_BEGIN:
		case EV_WAIT:
			LT_ASSERT_EQ_I(e->type, -1);
			break;
		default:
			break;
		}
	}
	pthread_mutex_unlock(&mu);
	LT_ASSERT(runs > 0);
}

/* count - events of type t with a == a_val (UINT64_MAX: any). */
static size_t count(enum ev_type t, uint64_t a_val)
{
	size_t n = 0;

	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < nevents; i++)
		if (events[i].type == t && (a_val == UINT64_MAX || events[i].a == a_val))
			n++;
	pthread_mutex_unlock(&mu);
	return n;
}

static long *cell(long v)
{
	long *p = malloc(sizeof(*p));

	LT_ASSERT(p != NULL);
	*p = v;
	return p;
}

/* ---- scenario: A awaits B's reply on a one-thread pool, a task, a second pool --------------- */

struct sc {
	struct lt_chan *a_in, *reply, *b_in;
	_Atomic int awaiting;
	_Atomic long a_done, b_done, task_done;
};

static void a_handler(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct sc *s = arg;
	void *r;

	(void)comp;
	(void)info;
	free(msg);
	atomic_store(&s->awaiting, 1);
	LT_ASSERT_EQ_I(lt_chan_recv_timed(s->reply, &r, lt_rt_deadline(10000000000u)), LT_OK);
	atomic_store(&s->awaiting, 0);
	free(r);
	atomic_fetch_add(&s->a_done, 1);
}

static void b_handler(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct sc *s = arg;

	(void)comp;
	(void)info;
	free(msg);
	LT_ASSERT_EQ_I(lt_chan_send(s->reply, cell(1)), LT_OK);
	atomic_fetch_add(&s->b_done, 1);
}

static void task(void *arg)
{
	struct sc *s = arg;

	atomic_fetch_add(&s->task_done, 1);
}

static void wait_for(_Atomic long *v, long want)
{
	uint64_t end = lt_rt_deadline(10000000000u);

	while (atomic_load(v) < want && lt_rt_now_ns() < end)
		usleep(100);
	LT_ASSERT_EQ_I(atomic_load(v), want);
}

static void test_pool_events(void)
{
	struct lt_pool *pool;
	struct lt_comp *a, *b;
	struct sc s;
	uint32_t pid, aid, bid;
	const long rounds = 200;

	memset(&s, 0, sizeof(s));
	LT_ASSERT_EQ_I(lt_pool_create("evpool", 1, &pool), LT_OK);
	pid = lt_pool_id(pool);
	LT_ASSERT_EQ_I(lt_chan_create("a.in", 4, free, &s.a_in), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("a.reply", 4, free, &s.reply), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("b.in", 4, free, &s.b_in), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_create("a", &a), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_create("b", &b), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_add_handler(a, s.a_in, "a.msg", a_handler, &s), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_add_handler(b, s.b_in, "b.msg", b_handler, &s), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_set_pool(a, pool), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_set_pool(b, pool), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_start(a), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_start(b), LT_OK);
	aid = lt_comp_id(a);
	bid = lt_comp_id(b);
	for (long i = 0; i < rounds; i++) {
		uint64_t end = lt_rt_deadline(10000000000u);

		LT_ASSERT_EQ_I(lt_chan_send(s.a_in, cell(i)), LT_OK);
		while (!atomic_load(&s.awaiting) && lt_rt_now_ns() < end)
			usleep(10);
		LT_ASSERT_EQ_I(lt_chan_send(s.b_in, cell(i)), LT_OK);
		wait_for(&s.a_done, i + 1);
	}
	LT_ASSERT_EQ_I(lt_pool_spawn(pool, "evtask", task, &s), LT_OK);
	LT_ASSERT_EQ_I(lt_pool_wait_tasks(pool, LT_FOREVER), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_stop(a, LT_COMP_STOP_DRAIN, NULL, NULL, NULL), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_stop(b, LT_COMP_STOP_DRAIN, NULL, NULL, NULL), LT_OK);
	lt_comp_destroy(a);
	lt_comp_destroy(b);
	LT_ASSERT_EQ_I(lt_pool_destroy(pool), LT_OK);

	check_runs();
	LT_ASSERT_EQ_U(count(EV_POOL_DECLARE, pid), 1);
	LT_ASSERT_EQ_U(count(EV_WORKER_BEGIN, pid), 1);
	LT_ASSERT_EQ_U(count(EV_WORKER_END, UINT64_MAX), 1);
	LT_ASSERT_EQ_U(count(EV_SEQ_END, aid), 1);
	LT_ASSERT_EQ_U(count(EV_SEQ_END, bid), 1);
	LT_ASSERT_EQ_U(count(EV_HANDLE_BEGIN, 0), 1); /* the task's body */
	/*
	 * Per sequence in order: seq_begin; for A, each of its `rounds` awaits is a
	 * block_begin(chan_recv) in a run that then ends with the block open, and a block_end in
	 * a later run of A; the task's events; seq_end after its last run.
	 */
	{
		uint64_t cur = 0; /* the sequence whose run the single worker is in */
		int a_block_open = 0, a_block_run_ended = 0, seen_task = 0;
		long a_blocks = 0;
		uint64_t task_id = 0;

		pthread_mutex_lock(&mu);
		for (size_t i = 0; i < nevents; i++) {
			struct ev *e = &events[i];

			switch (e->type) {
			case EV_SEQ_BEGIN:
				LT_ASSERT_EQ_U(e->b, pid);
				if (strcmp(e->s, "evtask") == 0) {
					LT_ASSERT_EQ_U(e->c, LT_SEQ_TASK);
					task_id = e->a;
				} else {
					LT_ASSERT_EQ_U(e->c, 0);
				}
				break;
			case EV_RUN_BEGIN:
				cur = e->a;
				break;
			case EV_RUN_END:
				if (e->a == aid && a_block_open)
					a_block_run_ended = 1;
				cur = 0;
				break;
			case EV_BLOCK_BEGIN:
				LT_ASSERT_EQ_U(cur, aid);
				LT_ASSERT_EQ_U(e->a, LT_BLOCK_CHAN_RECV);
				LT_ASSERT_EQ_U(e->b, (uint64_t)(uintptr_t)s.reply);
				a_block_open = 1;
				a_block_run_ended = 0;
				break;
			case EV_BLOCK_END:
				LT_ASSERT_EQ_U(cur, aid);
				LT_ASSERT(a_block_open);
				/* The worker was released during the await. */
				LT_ASSERT(a_block_run_ended);
				a_block_open = 0;
				a_blocks++;
				break;
			case EV_HANDLE_BEGIN:
				if (e->a == 0) {
					LT_ASSERT_EQ_U(cur, task_id);
					LT_ASSERT_STREQ(e->s, "evtask");
					seen_task = 1;
				}
				break;
			case EV_SEQ_END:
				LT_ASSERT(cur == 0); /* after the sequence's last run ended */
				break;
			default:
				break;
			}
		}
		pthread_mutex_unlock(&mu);
		LT_ASSERT_EQ_I(a_blocks, rounds);
		LT_ASSERT(seen_task);
	}
	lt_chan_destroy(s.a_in);
	lt_chan_destroy(s.reply);
	lt_chan_destroy(s.b_in);
}

/* ---- many sequences, two workers: the run/ready invariants under load ----------------------- */

struct spin {
	struct lt_chan *self;
	_Atomic long n;
};

static void spin_handler(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct spin *sp = arg;

	(void)comp;
	(void)info;
	if (atomic_fetch_add(&sp->n, 1) < 2000 && lt_chan_try_send(sp->self, msg) == LT_OK)
		return;
	free(msg);
}

static void test_runs_under_load(void)
{
	struct lt_pool *pool;
	struct lt_comp *c[8];
	struct spin sp[8];

	pthread_mutex_lock(&mu);
	nevents = 0;
	pthread_mutex_unlock(&mu);
	memset(sp, 0, sizeof(sp));
	LT_ASSERT_EQ_I(lt_pool_create("load", 2, &pool), LT_OK);
	for (int i = 0; i < 8; i++) {
		LT_ASSERT_EQ_I(lt_chan_create("spin", 2, free, &sp[i].self), LT_OK);
		LT_ASSERT_EQ_I(lt_comp_create("spin", &c[i]), LT_OK);
		LT_ASSERT_EQ_I(lt_comp_add_handler(c[i], sp[i].self, NULL, spin_handler, &sp[i]),
			       LT_OK);
		LT_ASSERT_EQ_I(lt_comp_set_pool(c[i], pool), LT_OK);
		LT_ASSERT_EQ_I(lt_comp_start(c[i]), LT_OK);
		LT_ASSERT_EQ_I(lt_chan_send(sp[i].self, cell(i)), LT_OK);
	}
	for (int i = 0; i < 8; i++)
		wait_for(&sp[i].n, 2001);
	for (int i = 0; i < 8; i++) {
		LT_ASSERT_EQ_I(lt_comp_stop(c[i], LT_COMP_STOP_DRAIN, NULL, NULL, NULL), LT_OK);
		lt_comp_destroy(c[i]);
		lt_chan_destroy(sp[i].self);
	}
	LT_ASSERT_EQ_I(lt_pool_destroy(pool), LT_OK);
	check_runs();
	LT_ASSERT_EQ_U(count(EV_WORKER_BEGIN, UINT64_MAX), 2);
	LT_ASSERT_EQ_U(count(EV_WORKER_END, UINT64_MAX), 2);
}

/* ---- wakes racing a park: a producer thread feeding pooled components ---------------------- */

/*
 * A thread sends each message as soon as the previous one was handled, so its wake often
 * lands while the component is on its way to park (word SEQ, run_end not written yet).
 * Before the fix the waker wrote seq_ready then, before the run's run_end, and a failed
 * RUNNING -> NOTIFIED swap wrote a second one. check_runs fails on both.
 */
#define FEED_COMPS 4
#define FEED_MSGS  3000

struct feed {
	struct lt_chan *in;
	_Atomic long n;
};

static void feed_handler(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct feed *f = arg;

	(void)comp;
	(void)info;
	free(msg);
	atomic_fetch_add(&f->n, 1);
}

static void test_ready_order(void)
{
	struct lt_pool *pool;
	struct lt_comp *c[FEED_COMPS];
	struct feed f[FEED_COMPS];
	long msgs = FEED_MSGS;

#ifdef LT_TEST_SANITIZED
	msgs /= 4;
#endif
	pthread_mutex_lock(&mu);
	nevents = 0;
	pthread_mutex_unlock(&mu);
	memset(f, 0, sizeof(f));
	LT_ASSERT_EQ_I(lt_pool_create("feed", 2, &pool), LT_OK);
	for (int i = 0; i < FEED_COMPS; i++) {
		LT_ASSERT_EQ_I(lt_chan_create("feed", 4, free, &f[i].in), LT_OK);
		LT_ASSERT_EQ_I(lt_comp_create("feed", &c[i]), LT_OK);
		LT_ASSERT_EQ_I(lt_comp_add_handler(c[i], f[i].in, NULL, feed_handler, &f[i]),
			       LT_OK);
		LT_ASSERT_EQ_I(lt_comp_set_pool(c[i], pool), LT_OK);
		LT_ASSERT_EQ_I(lt_comp_start(c[i]), LT_OK);
	}
	for (long k = 0; k < msgs; k++) {
		for (int i = 0; i < FEED_COMPS; i++)
			LT_ASSERT_EQ_I(lt_chan_send(f[i].in, cell(k)), LT_OK);
		for (int i = 0; i < FEED_COMPS; i++) {
			uint64_t end = lt_rt_deadline(10000000000u);

			while (atomic_load(&f[i].n) <= k && lt_rt_now_ns() < end)
				sched_yield();
		}
	}
	for (int i = 0; i < FEED_COMPS; i++) {
		LT_ASSERT_EQ_I(lt_comp_stop(c[i], LT_COMP_STOP_DRAIN, NULL, NULL, NULL), LT_OK);
		LT_ASSERT_EQ_I(atomic_load(&f[i].n), msgs);
		lt_comp_destroy(c[i]);
		lt_chan_destroy(f[i].in);
	}
	LT_ASSERT_EQ_I(lt_pool_destroy(pool), LT_OK);
	check_runs();
}

int main(void)
{
	__atomic_store_n(&lt__probes_loaded, 1, __ATOMIC_RELAXED);
	LT_RUN(test_pool_events);
	LT_RUN(test_runs_under_load);
	LT_RUN(test_ready_order);
	return 0;
}
