/*
 * test_rt_pool.c - pools and sequences: a pooled component handles its messages in order and
 * never concurrently with itself; an await (receive, select, send on a full channel) inside a
 * pooled handler releases the worker (on a one-thread pool another sequence runs on that very
 * thread meanwhile, then the handler resumes); spawned tasks; stop in both modes with exact
 * counts; ticks; a router route delivering to a pooled component; fairness (two saturated
 * sequences on one thread both progress); the API's errors.
 *
 * Every wait that a broken await would turn into a deadlock is a timed one (10 s), so such a
 * bug fails the test instead of hanging it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <looptrace/rt/rt.h>

#include "lt_test.h"

#define SECONDS(n) ((uint64_t)(n)*1000000000u)

static long *cell(long v)
{
	long *p = malloc(sizeof(*p));

	LT_ASSERT(p != NULL);
	*p = v;
	return p;
}

/* wait_until - polls `*v >= want` for up to 10 s; returns the last value seen. */
static long wait_until(_Atomic long *v, long want)
{
	uint64_t end = lt_rt_deadline(SECONDS(10));

	while (atomic_load(v) < want && lt_rt_now_ns() < end)
		usleep(1000);
	return atomic_load(v);
}

/* ---- order, never concurrent with itself ------------------------------------------------------
 */

#define ORDER_PRODUCERS 4
#define ORDER_MSGS      20000

struct order {
	_Atomic int inside;
	_Atomic int overlap;
	_Atomic int disorder;
	long last[ORDER_PRODUCERS];
	_Atomic long handled;
	struct lt_chan *ch;
};

static void order_handler(struct lt_comp *comp, void *msg, const struct lt_msg_info *info,
			  void *arg)
{
	struct order *o = arg;
	long v = *(long *)msg, prod = v / ORDER_MSGS, n = v % ORDER_MSGS;

	(void)comp;
	(void)info;
	if (atomic_exchange(&o->inside, 1) != 0)
		atomic_store(&o->overlap, 1);
	if (o->last[prod] != n - 1)
		atomic_store(&o->disorder, 1);
	o->last[prod] = n;
	if ((n & 63) == 0)
		sched_yield(); /* give a second worker time to (wrongly) run us too */
	atomic_store(&o->inside, 0);
	atomic_fetch_add(&o->handled, 1);
	free(msg);
}

static void *order_producer(void *arg)
{
	struct order *o = *(struct order **)arg;
	long prod = (long)((struct order **)arg)[1];

	for (long i = 0; i < ORDER_MSGS; i++)
		LT_ASSERT_EQ_I(lt_chan_send(o->ch, cell(prod * ORDER_MSGS + i)), LT_OK);
	return NULL;
}

static void test_order(void)
{
	struct lt_pool *pool;
	struct lt_comp *comp;
	struct order o;
	pthread_t th[ORDER_PRODUCERS];
	void *args[ORDER_PRODUCERS][2];

	memset(&o, 0, sizeof(o));
	for (int i = 0; i < ORDER_PRODUCERS; i++)
		o.last[i] = -1;
	LT_ASSERT_EQ_I(lt_pool_create("order", 4, &pool), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("order.in", 16, free, &o.ch), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_create("order", &comp), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_add_handler(comp, o.ch, NULL, order_handler, &o), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_set_pool(comp, pool), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_start(comp), LT_OK);
	LT_ASSERT(lt_comp_id(comp) >= 1);
	LT_ASSERT_EQ_I(lt_comp_set_pool(comp, NULL), LT_EINVAL);
	for (long i = 0; i < ORDER_PRODUCERS; i++) {
		args[i][0] = &o;
		args[i][1] = (void *)i;
		LT_ASSERT_EQ_I(pthread_create(&th[i], NULL, order_producer, args[i]), 0);
	}
	for (int i = 0; i < ORDER_PRODUCERS; i++)
		pthread_join(th[i], NULL);
	LT_ASSERT_EQ_I(lt_pool_destroy(pool), LT_EBUSY); /* its component still runs */
	LT_ASSERT_EQ_I(lt_comp_stop(comp, LT_COMP_STOP_DRAIN, NULL, NULL, NULL), LT_OK);
	LT_ASSERT_EQ_I(atomic_load(&o.handled), ORDER_PRODUCERS * ORDER_MSGS);
	LT_ASSERT_EQ_U(lt_comp_handled(comp), ORDER_PRODUCERS * ORDER_MSGS);
	LT_ASSERT_EQ_I(atomic_load(&o.overlap), 0);
	LT_ASSERT_EQ_I(atomic_load(&o.disorder), 0);
	lt_comp_destroy(comp);
	lt_chan_destroy(o.ch);
	LT_ASSERT_EQ_I(lt_pool_destroy(pool), LT_OK);
}

/* ---- await releases the worker ------------------------------------------------------------------
 */

struct await {
	struct lt_chan *a_in, *reply, *b_in;
	_Atomic long b_handled;      /* messages B handled */
	_Atomic long b_during_await; /* of which while A awaited */
	_Atomic int awaiting;
	_Atomic long a_done;
	_Atomic int bad;
	pid_t a_tid_before, a_tid_after;
	_Atomic pid_t b_tid;
	int mode; /* 0: lt_chan_recv_ex, 1: select, 2: send on a full channel */
	struct lt_chan *full;
};

static void b_handler(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct await *w = arg;
	long v = *(long *)msg;

	(void)comp;
	(void)info;
	free(msg);
	atomic_store(&w->b_tid, gettid());
	if (atomic_load(&w->awaiting))
		atomic_fetch_add(&w->b_during_await, 1);
	atomic_fetch_add(&w->b_handled, 1);
	if (w->mode == 2) {
		/* On 99, B drains the full channel A's send waits on. */
		void *m;

		while (v == 99 && lt_chan_try_recv(w->full, &m) == LT_OK)
			free(m);
		return;
	}
	if (v == 99)
		LT_ASSERT_EQ_I(lt_chan_send(w->reply, cell(7)), LT_OK);
}

static void a_handler(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct await *w = arg;
	uint64_t dl = lt_rt_deadline(SECONDS(10));
	void *r = NULL;
	enum lt_err err;

	(void)info;
	free(msg);
	w->a_tid_before = gettid();
	atomic_store(&w->awaiting, 1);
	if (w->mode == 0) {
		struct lt_msg_info ri;

		err = lt_chan_recv_ex(w->reply, &r, &ri, dl);
	} else if (w->mode == 1) {
		struct lt_select *sel;
		size_t idx = 9;

		LT_ASSERT_EQ_I(lt_select_create(&sel), LT_OK);
		LT_ASSERT_EQ_I(lt_select_add(sel, w->reply, NULL), LT_OK);
		err = lt_select_wait(sel, dl, &idx, &r, NULL);
		if (err == LT_OK && idx != 0)
			atomic_store(&w->bad, 1);
		lt_select_destroy(sel);
	} else {
		/* The channel is full; B (same one-thread pool) empties it. */
		err = lt_chan_send_timed(w->full, cell(1), dl);
		r = cell(7);
	}
	atomic_store(&w->awaiting, 0);
	w->a_tid_after = gettid();
	if (err != LT_OK || *(long *)r != 7)
		atomic_store(&w->bad, 2);
	if (lt_comp_self() != comp)
		atomic_store(&w->bad, 3);
	free(r);
	atomic_fetch_add(&w->a_done, 1);
}

static void run_await(int mode)
{
	struct lt_pool *pool;
	struct lt_comp *a, *b;
	struct await w;

	memset(&w, 0, sizeof(w));
	w.mode = mode;
	LT_ASSERT_EQ_I(lt_pool_create("await", 1, &pool), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("a.in", 4, free, &w.a_in), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("a.reply", 4, free, &w.reply), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("b.in", 64, free, &w.b_in), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("full", 2, free, &w.full), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_send(w.full, cell(0)), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_send(w.full, cell(0)), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_create("a", &a), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_create("b", &b), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_add_handler(a, w.a_in, NULL, a_handler, &w), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_add_handler(b, w.b_in, NULL, b_handler, &w), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_set_pool(a, pool), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_set_pool(b, pool), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_start(a), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_start(b), LT_OK);

	LT_ASSERT_EQ_I(lt_chan_send(w.a_in, cell(1)), LT_OK);
	/* A awaits; B must get the only worker meanwhile, several times. */
	{
		uint64_t end = lt_rt_deadline(SECONDS(10));

		while (!atomic_load(&w.awaiting) && lt_rt_now_ns() < end)
			usleep(100);
	}
	LT_ASSERT_EQ_I(atomic_load(&w.awaiting), 1);
	for (long i = 0; i < 10; i++) {
		LT_ASSERT_EQ_I(lt_chan_send(w.b_in, cell(i)), LT_OK);
		LT_ASSERT_EQ_I(wait_until(&w.b_handled, i + 1), i + 1);
	}
	LT_ASSERT_EQ_I(atomic_load(&w.a_done), 0);
	LT_ASSERT_EQ_I(lt_chan_send(w.b_in, cell(99)), LT_OK); /* B replies (or drains) */
	LT_ASSERT_EQ_I(wait_until(&w.a_done, 1), 1);
	LT_ASSERT_EQ_I(atomic_load(&w.bad), 0);
	LT_ASSERT(atomic_load(&w.b_during_await) >= 10);
	/* One worker: A before and after its await, and B, all ran on that same thread. */
	LT_ASSERT_EQ_I(w.a_tid_before, w.a_tid_after);
	LT_ASSERT_EQ_I(w.a_tid_before, atomic_load(&w.b_tid));

	LT_ASSERT_EQ_I(lt_comp_stop(a, LT_COMP_STOP_DRAIN, NULL, NULL, NULL), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_stop(b, LT_COMP_STOP_DRAIN, NULL, NULL, NULL), LT_OK);
	lt_comp_destroy(a);
	lt_comp_destroy(b);
	LT_ASSERT_EQ_I(lt_pool_destroy(pool), LT_OK);
	lt_chan_destroy(w.a_in);
	lt_chan_destroy(w.reply);
	lt_chan_destroy(w.b_in);
	lt_chan_destroy(w.full);
}

static void test_await_recv(void)
{
	run_await(0);
}

static void test_await_select(void)
{
	run_await(1);
}

static void test_await_send(void)
{
	run_await(2);
}

/* ---- backpressure between two sequences on one thread --------------------------------------- */

#define BP_MSGS 2000

struct bp {
	struct lt_chan *go, *pipe;
	_Atomic long received;
	_Atomic long sent_ok;
};

static void bp_sender(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct bp *b = arg;

	(void)comp;
	(void)info;
	free(msg);
	for (long i = 0; i < BP_MSGS; i++)
		if (lt_chan_send_timed(b->pipe, cell(i), lt_rt_deadline(SECONDS(10))) == LT_OK)
			atomic_fetch_add(&b->sent_ok, 1);
}

static void bp_receiver(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct bp *b = arg;

	(void)comp;
	(void)info;
	if (*(long *)msg != atomic_load(&b->received))
		atomic_store(&b->received, -1000000);
	atomic_fetch_add(&b->received, 1);
	free(msg);
}

static void test_backpressure(void)
{
	struct lt_pool *pool;
	struct lt_comp *s, *r;
	struct bp b;

	memset(&b, 0, sizeof(b));
	LT_ASSERT_EQ_I(lt_pool_create("bp", 1, &pool), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("bp.go", 1, free, &b.go), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("bp.pipe", 2, free, &b.pipe), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_create("bp.s", &s), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_create("bp.r", &r), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_add_handler(s, b.go, NULL, bp_sender, &b), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_add_handler(r, b.pipe, NULL, bp_receiver, &b), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_set_pool(s, pool), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_set_pool(r, pool), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_start(s), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_start(r), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_send(b.go, cell(0)), LT_OK);
	LT_ASSERT_EQ_I(wait_until(&b.received, BP_MSGS), BP_MSGS);
	LT_ASSERT_EQ_I(atomic_load(&b.sent_ok), BP_MSGS);
	lt_comp_destroy(s);
	lt_comp_destroy(r);
	LT_ASSERT_EQ_I(lt_pool_destroy(pool), LT_OK);
	lt_chan_destroy(b.go);
	lt_chan_destroy(b.pipe);
}

/* ---- spawn ------------------------------------------------------------------------------------
 */

#define TASKS 200

struct spawn {
	struct lt_chan *server_in; /* requests: a reply channel per task */
	_Atomic long done;
	_Atomic long sum;
	_Atomic int bad;
};

struct task_arg {
	struct spawn *sp;
	long n;
	struct lt_chan *reply; /* destroyed by the test once every task is done */
};

struct request {
	struct lt_chan *reply;
	long n;
};

static void server_handler(struct lt_comp *comp, void *msg, const struct lt_msg_info *info,
			   void *arg)
{
	struct request *rq = msg;

	(void)comp;
	(void)info;
	(void)arg;
	LT_ASSERT_EQ_I(lt_chan_send(rq->reply, cell(rq->n * 2)), LT_OK);
	free(rq);
}

static void task_fn(void *arg)
{
	struct task_arg *ta = arg;
	struct lt_chan *reply = ta->reply;
	struct request *rq = malloc(sizeof(*rq));
	void *r;

	LT_ASSERT(rq != NULL);
	if (lt_comp_self() != NULL)
		atomic_store(&ta->sp->bad, 1);
	rq->reply = reply;
	rq->n = ta->n;
	LT_ASSERT_EQ_I(lt_chan_send(ta->sp->server_in, rq), LT_OK);
	if (lt_chan_recv_timed(reply, &r, lt_rt_deadline(SECONDS(10))) == LT_OK) {
		atomic_fetch_add(&ta->sp->sum, *(long *)r);
		free(r);
	} else {
		atomic_store(&ta->sp->bad, 2);
	}
	atomic_fetch_add(&ta->sp->done, 1);
}

static void test_spawn(void)
{
	struct lt_pool *pool;
	struct lt_comp *server;
	struct spawn sp;
	struct task_arg *tas = calloc(TASKS, sizeof(*tas));
	long want = 0;

	memset(&sp, 0, sizeof(sp));
	LT_ASSERT_EQ_I(lt_pool_create("spawn", 2, &pool), LT_OK);
	LT_ASSERT_EQ_I(lt_pool_threads(pool), 2);
	LT_ASSERT_STREQ(lt_pool_name(pool), "spawn");
	LT_ASSERT_EQ_I(lt_pool_set_stack_size(pool, 1024), LT_EINVAL);
	LT_ASSERT_EQ_I(lt_pool_set_stack_size(pool, 128 * 1024), LT_OK);
	LT_ASSERT_EQ_I(lt_pool_spawn(pool, "x", NULL, NULL), LT_EINVAL);
	LT_ASSERT_EQ_I(lt_chan_create("server.in", 8, free, &sp.server_in), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_create("server", &server), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_add_handler(server, sp.server_in, NULL, server_handler, NULL),
		       LT_OK);
	LT_ASSERT_EQ_I(lt_comp_set_pool(server, pool), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_start(server), LT_OK);
	LT_ASSERT(tas != NULL);
	for (long i = 0; i < TASKS; i++) {
		struct task_arg *ta = &tas[i];

		LT_ASSERT_EQ_I(lt_chan_create("task.reply", 1, free, &ta->reply), LT_OK);
		ta->sp = &sp;
		ta->n = i;
		want += 2 * i;
		LT_ASSERT_EQ_I(lt_pool_spawn(pool, "fetch", task_fn, ta), LT_OK);
	}
	LT_ASSERT_EQ_I(lt_pool_wait_tasks(pool, lt_rt_deadline(SECONDS(10))), LT_OK);
	LT_ASSERT_EQ_U(lt_pool_tasks(pool), 0);
	LT_ASSERT_EQ_I(atomic_load(&sp.done), TASKS);
	LT_ASSERT_EQ_I(atomic_load(&sp.sum), want);
	LT_ASSERT_EQ_I(atomic_load(&sp.bad), 0);
	lt_comp_destroy(server);
	lt_chan_destroy(sp.server_in);
	for (long i = 0; i < TASKS; i++)
		lt_chan_destroy(tas[i].reply);
	free(tas);
	LT_ASSERT_EQ_I(lt_pool_destroy(pool), LT_OK);
}

/* A task that is still awaiting: wait_tasks times out, destroy waits for it. */
struct late {
	struct lt_chan *ch;
	_Atomic long got;
};

static void late_task(void *arg)
{
	struct late *l = arg;
	void *m;

	if (lt_chan_recv(l->ch, &m) == LT_OK) {
		free(m);
		atomic_fetch_add(&l->got, 1);
	}
}

static void test_spawn_destroy_waits(void)
{
	struct lt_pool *pool;
	struct late l = {0};

	LT_ASSERT_EQ_I(lt_pool_create("late", 1, &pool), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("late", 1, free, &l.ch), LT_OK);
	LT_ASSERT_EQ_I(lt_pool_spawn(pool, NULL, late_task, &l), LT_OK);
	LT_ASSERT_EQ_I(lt_pool_wait_tasks(pool, lt_rt_deadline(20000000)), LT_ETIMEDOUT);
	LT_ASSERT_EQ_U(lt_pool_tasks(pool), 1);
	LT_ASSERT_EQ_I(lt_chan_send(l.ch, cell(1)), LT_OK);
	LT_ASSERT_EQ_I(lt_pool_destroy(pool), LT_OK);
	LT_ASSERT_EQ_I(atomic_load(&l.got), 1);
	lt_chan_destroy(l.ch);
}

/* ---- stop modes ---------------------------------------------------------------------------------
 */

struct slow {
	_Atomic long handled;
};

static void slow_handler(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct slow *s = arg;

	(void)comp;
	(void)info;
	free(msg);
	usleep(50);
	atomic_fetch_add(&s->handled, 1);
}

static void count_back(void *msg, const struct lt_msg_info *info, void *arg)
{
	(void)info;
	free(msg);
	atomic_fetch_add((_Atomic long *)arg, 1);
}

static void run_stop(enum lt_comp_stop_mode mode)
{
	struct lt_pool *pool;
	struct lt_comp *comp;
	struct lt_chan *ch;
	struct slow s = {0};
	_Atomic long back = 0;
	size_t handed = 0;
	const long n = 2000;

	LT_ASSERT_EQ_I(lt_pool_create("stop", 2, &pool), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("stop.in", 0, free, &ch), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_create("stop", &comp), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_add_handler(comp, ch, NULL, slow_handler, &s), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_set_pool(comp, pool), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_start(comp), LT_OK);
	for (long i = 0; i < n; i++)
		LT_ASSERT_EQ_I(lt_chan_send(ch, cell(i)), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_stop(comp, mode, count_back, &back, &handed), LT_OK);
	LT_ASSERT_EQ_I((long)handed, atomic_load(&back));
	if (mode == LT_COMP_STOP_DRAIN)
		LT_ASSERT_EQ_I(atomic_load(&s.handled), n);
	else
		LT_ASSERT(atomic_load(&back) > 0);
	LT_ASSERT_EQ_I(atomic_load(&s.handled) + atomic_load(&back), n);
	LT_ASSERT_EQ_U(lt_comp_handled(comp), (uint64_t)atomic_load(&s.handled));
	{
		long *late = cell(0);

		LT_ASSERT_EQ_I(lt_chan_send(ch, late), LT_ECLOSED); /* still ours */
		free(late);
	}
	lt_comp_destroy(comp);
	LT_ASSERT_EQ_I(lt_pool_destroy(pool), LT_OK);
	lt_chan_destroy(ch);
}

static void test_stop_drain(void)
{
	run_stop(LT_COMP_STOP_DRAIN);
}

static void test_stop_handback(void)
{
	run_stop(LT_COMP_STOP_HANDBACK);
}

/* ---- ticks ------------------------------------------------------------------------------------
 */

static void on_tick(struct lt_comp *comp, void *arg)
{
	(void)comp;
	atomic_fetch_add((_Atomic long *)arg, 1);
}

static void noop_handler(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	(void)comp;
	(void)info;
	(void)arg;
	free(msg);
}

static void test_ticks(void)
{
	struct lt_pool *pool;
	struct lt_comp *comp, *never;
	struct lt_chan *ch;
	_Atomic long ticks = 0;

	LT_ASSERT_EQ_I(lt_pool_create("tick", 1, &pool), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("tick.in", 4, free, &ch), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_create("tick", &comp), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_add_handler(comp, ch, NULL, noop_handler, NULL), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_set_tick(comp, 1000000, on_tick, &ticks), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_set_pool(comp, pool), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_start(comp), LT_OK);
	LT_ASSERT(wait_until(&ticks, 20) >= 20);
	LT_ASSERT_EQ_I(lt_comp_stop(comp, LT_COMP_STOP_DRAIN, NULL, NULL, NULL), LT_OK);
	lt_comp_destroy(comp);
	/* Set to the pool, never started: destroying it releases the pool. */
	LT_ASSERT_EQ_I(lt_comp_create("never", &never), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_set_pool(never, pool), LT_OK);
	LT_ASSERT_EQ_I(lt_pool_destroy(pool), LT_EBUSY);
	lt_comp_destroy(never);
	LT_ASSERT_EQ_I(lt_pool_destroy(pool), LT_OK);
	lt_chan_destroy(ch);
}

/* ---- router route into a pooled component
 * -------------------------------------------------------- */

struct routed {
	struct lt_chan *comp_in;
	_Atomic long handled;
	_Atomic long sum;
};

static void route_cb(struct lt_route *rt, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct routed *r = arg;

	(void)rt;
	if (!msg)
		return; /* channel closed */
	LT_ASSERT_EQ_I(lt_chan_send_flow(r->comp_in, msg, lt_msg_reply_flow(info)), LT_OK);
}

static void routed_handler(struct lt_comp *comp, void *msg, const struct lt_msg_info *info,
			   void *arg)
{
	struct routed *r = arg;

	(void)comp;
	(void)info;
	atomic_fetch_add(&r->sum, *(long *)msg);
	atomic_fetch_add(&r->handled, 1);
	free(msg);
}

static void test_router(void)
{
	struct lt_pool *pool;
	struct lt_router *router;
	struct lt_comp *comp;
	struct lt_chan *src;
	struct routed r;
	const long n = 5000;

	memset(&r, 0, sizeof(r));
	LT_ASSERT_EQ_I(lt_pool_create("routed", 1, &pool), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("routed.src", 16, free, &src), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("routed.in", 16, free, &r.comp_in), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_create("routed", &comp), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_add_handler(comp, r.comp_in, NULL, routed_handler, &r), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_set_pool(comp, pool), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_start(comp), LT_OK);
	LT_ASSERT_EQ_I(lt_router_create("router", &router), LT_OK);
	LT_ASSERT_EQ_I(lt_router_start(router), LT_OK);
	LT_ASSERT_EQ_I(lt_router_add_chan(router, src, lt_comp_id(comp), route_cb, &r, NULL),
		       LT_OK);
	for (long i = 1; i <= n; i++)
		LT_ASSERT_EQ_I(lt_chan_send(src, cell(i)), LT_OK);
	LT_ASSERT_EQ_I(wait_until(&r.handled, n), n);
	LT_ASSERT_EQ_I(atomic_load(&r.sum), n * (n + 1) / 2);
	lt_router_destroy(router);
	lt_comp_destroy(comp);
	LT_ASSERT_EQ_I(lt_pool_destroy(pool), LT_OK);
	lt_chan_destroy(src);
	lt_chan_destroy(r.comp_in);
}

/* ---- fairness: two saturated sequences on one thread
 * --------------------------------------------- */

struct busy {
	struct lt_chan *self;
	_Atomic long handled;
};

static void busy_handler(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct busy *b = arg;

	(void)comp;
	(void)info;
	atomic_fetch_add(&b->handled, 1);
	/* Always work left: the message goes round again (fails once the channel closed). */
	if (lt_chan_try_send(b->self, msg) != LT_OK)
		free(msg);
}

static void test_fairness(void)
{
	struct lt_pool *pool;
	struct lt_comp *c[2];
	struct busy b[2];
	uint64_t end;

	memset(b, 0, sizeof(b));
	LT_ASSERT_EQ_I(lt_pool_create("fair", 1, &pool), LT_OK);
	for (int i = 0; i < 2; i++) {
		LT_ASSERT_EQ_I(lt_chan_create("fair.self", 4, free, &b[i].self), LT_OK);
		LT_ASSERT_EQ_I(lt_comp_create(i ? "fair.b" : "fair.a", &c[i]), LT_OK);
		LT_ASSERT_EQ_I(lt_comp_add_handler(c[i], b[i].self, NULL, busy_handler, &b[i]),
			       LT_OK);
		LT_ASSERT_EQ_I(lt_comp_set_pool(c[i], pool), LT_OK);
		LT_ASSERT_EQ_I(lt_chan_send(b[i].self, cell(i)), LT_OK);
	}
	for (int i = 0; i < 2; i++)
		LT_ASSERT_EQ_I(lt_comp_start(c[i]), LT_OK);
	/* Until one of them handled 50000 messages: then the other must have had turns. */
	end = lt_rt_deadline(SECONDS(10));
	while (atomic_load(&b[0].handled) < 50000 && atomic_load(&b[1].handled) < 50000 &&
	       lt_rt_now_ns() < end)
		usleep(1000);
	LT_ASSERT(atomic_load(&b[0].handled) >= 1000);
	LT_ASSERT(atomic_load(&b[1].handled) >= 1000);
	for (int i = 0; i < 2; i++) {
		LT_ASSERT_EQ_I(lt_comp_stop(c[i], LT_COMP_STOP_DRAIN, NULL, NULL, NULL), LT_OK);
		lt_comp_destroy(c[i]);
		lt_chan_destroy(b[i].self);
	}
	LT_ASSERT_EQ_I(lt_pool_destroy(pool), LT_OK);
}

/* ---- an interrupt racing a deadline -----------------------------------------------------------
 */

/*
 * A task awaits a select with a deadline; lt_select_interrupt takes the select's waiter
 * (parked sequence) and, held in the window by the test hook, schedules it only after the
 * deadline resumed it. The task must not return (and be freed by its worker) before the
 * interrupter let go of it: before the fix it did, and the interrupter then used the freed
 * sequence. The hook exists in builds with LOOPTRACE_TEST_HOOKS (not Release).
 */
extern void (*lt__test_interrupt_hook)(void) __attribute__((weak));

static struct lt_select *intr_sel;
static _Atomic int intr_waiting, intr_hook_ran, intr_hook_done, intr_early;

static void intr_hook(void)
{
	atomic_store(&intr_hook_ran, 1);
	usleep(100000); /* well past the task's 20 ms deadline */
	atomic_store(&intr_hook_done, 1);
}

static void intr_task(void *arg)
{
	void *m;

	(void)arg;
	atomic_store(&intr_waiting, 1);
	lt_select_wait(intr_sel, lt_rt_deadline(20000000), NULL, &m, NULL);
	/* The interrupter took the parked task (hook ran) but has not finished its wake. */
	if (atomic_load(&intr_hook_ran) && !atomic_load(&intr_hook_done))
		atomic_store(&intr_early, 1);
}

static void test_interrupt_deadline(void)
{
	struct lt_pool *pool;
	struct lt_chan *ch;

	if (!&lt__test_interrupt_hook) {
		fprintf(stderr, "  (skipped: runtime built without LOOPTRACE_TEST_HOOKS)\n");
		return;
	}
	LT_ASSERT_EQ_I(lt_pool_create("intr", 1, &pool), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("intr", 4, NULL, &ch), LT_OK);
	LT_ASSERT_EQ_I(lt_select_create(&intr_sel), LT_OK);
	LT_ASSERT_EQ_I(lt_select_add(intr_sel, ch, NULL), LT_OK);
	lt__test_interrupt_hook = intr_hook;
	/* The interrupt may come before the task parked (no hook then): try again. */
	for (int i = 0; i < 20 && !atomic_load(&intr_hook_ran); i++) {
		atomic_store(&intr_waiting, 0);
		LT_ASSERT_EQ_I(lt_pool_spawn(pool, "intr", intr_task, NULL), LT_OK);
		while (!atomic_load(&intr_waiting))
			usleep(100);
		usleep(2000);
		lt_select_interrupt(intr_sel);
		LT_ASSERT_EQ_I(lt_pool_wait_tasks(pool, lt_rt_deadline(SECONDS(10))), LT_OK);
	}
	lt__test_interrupt_hook = NULL;
	LT_ASSERT(atomic_load(&intr_hook_ran));
	LT_ASSERT_EQ_I(atomic_load(&intr_early), 0);
	lt_select_destroy(intr_sel);
	lt_chan_destroy(ch);
	LT_ASSERT_EQ_I(lt_pool_destroy(pool), LT_OK);
}

/* ---- spawn while the pool is being destroyed ---------------------------------------------------
 */

/*
 * lt_pool_destroy waits for a task that awaits a channel. Meanwhile a spawn from another
 * thread must be refused (before the fix it was accepted until destroy had waited for the
 * tasks and let go of the mutex; here, until the awaiting task returned: the loop below ran
 * out of time), while the awaiting task, once released, may still spawn a follow-up that
 * destroy waits for.
 */
struct dspawn {
	struct lt_pool *pool;
	struct lt_chan *go;
	_Atomic int follow_err, follow_ran, destroy_err;
};

static void dspawn_noop(void *arg)
{
	(void)arg;
}

static void dspawn_follow(void *arg)
{
	struct dspawn *d = arg;

	atomic_store(&d->follow_ran, 1);
}

static void dspawn_blocker(void *arg)
{
	struct dspawn *d = arg;
	void *m;

	if (lt_chan_recv(d->go, &m) == LT_OK)
		free(m);
	atomic_store(&d->follow_err, lt_pool_spawn(d->pool, "follow", dspawn_follow, d));
}

static void *dspawn_destroy(void *arg)
{
	struct dspawn *d = arg;

	atomic_store(&d->destroy_err, lt_pool_destroy(d->pool));
	return NULL;
}

static void test_spawn_during_destroy(void)
{
	static struct dspawn d;
	uint64_t end;
	pthread_t th;
	enum lt_err err = LT_OK;

	atomic_store(&d.follow_err, -1);
	atomic_store(&d.destroy_err, -1);
	LT_ASSERT_EQ_I(lt_pool_create("dspawn", 2, &d.pool), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("dspawn", 4, free, &d.go), LT_OK);
	LT_ASSERT_EQ_I(lt_pool_spawn(d.pool, "blocker", dspawn_blocker, &d), LT_OK);
	LT_ASSERT_EQ_I(pthread_create(&th, NULL, dspawn_destroy, &d), 0);
	/* Until destroy has begun the spawns are accepted; then they must be refused. */
	end = lt_rt_deadline(SECONDS(10));
	while (err == LT_OK && lt_rt_now_ns() < end) {
		err = lt_pool_spawn(d.pool, "late", dspawn_noop, NULL);
		usleep(1000);
	}
	LT_ASSERT_EQ_I(err, LT_EINVAL);
	LT_ASSERT_EQ_I(atomic_load(&d.destroy_err), -1); /* still waiting for the blocker */
	LT_ASSERT_EQ_I(lt_chan_send(d.go, cell(1)), LT_OK);
	pthread_join(th, NULL);
	LT_ASSERT_EQ_I(atomic_load(&d.destroy_err), LT_OK);
	LT_ASSERT_EQ_I(atomic_load(&d.follow_err), LT_OK);
	LT_ASSERT_EQ_I(atomic_load(&d.follow_ran), 1);
	lt_chan_destroy(d.go);
}

/* ---- errors -----------------------------------------------------------------------------------
 */

static struct lt_pool *self_pool;
static _Atomic int self_err;

static void self_destroy_task(void *arg)
{
	(void)arg;
	atomic_store(&self_err,
		     lt_pool_destroy(self_pool) * 10 + lt_pool_wait_tasks(self_pool, LT_FOREVER));
}

static _Atomic int stack_task_ran;

static void stack_task(void *arg)
{
	(void)arg;
	atomic_store(&stack_task_ran, 1);
}

/* Stack sizes out of range are refused and change nothing (near SIZE_MAX rounding wrapped). */
static void test_stack_size(void)
{
	struct lt_pool *pool;

	LT_ASSERT_EQ_I(lt_pool_create("stack", 1, &pool), LT_OK);
	LT_ASSERT_EQ_I(lt_pool_set_stack_size(pool, LT_POOL_MIN_STACK - 1), LT_EINVAL);
	LT_ASSERT_EQ_I(lt_pool_set_stack_size(pool, SIZE_MAX - 100), LT_EINVAL);
	LT_ASSERT_EQ_I(lt_pool_set_stack_size(pool, LT_POOL_MAX_STACK + 1), LT_EINVAL);
	/* The pool's stack is still the default one. */
	LT_ASSERT_EQ_I(lt_pool_spawn(pool, "stack", stack_task, NULL), LT_OK);
	LT_ASSERT_EQ_I(lt_pool_wait_tasks(pool, lt_rt_deadline(SECONDS(10))), LT_OK);
	LT_ASSERT(atomic_load(&stack_task_ran));
	LT_ASSERT_EQ_I(lt_pool_set_stack_size(pool, LT_POOL_MAX_STACK), LT_OK);
	LT_ASSERT_EQ_I(lt_pool_destroy(pool), LT_OK);
}

static void test_errors(void)
{
	struct lt_pool *pool;

	LT_ASSERT_EQ_I(lt_pool_create("bad", 0, &pool), LT_EINVAL);
	LT_ASSERT_EQ_I(lt_pool_create(NULL, 1, &pool), LT_EINVAL);
	LT_ASSERT_EQ_I(lt_pool_destroy(NULL), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_set_pool(NULL, NULL), LT_EINVAL);
	LT_ASSERT_EQ_I(lt_pool_create("self", 1, &self_pool), LT_OK);
	LT_ASSERT_EQ_I(lt_pool_spawn(self_pool, "self", self_destroy_task, NULL), LT_OK);
	LT_ASSERT_EQ_I(lt_pool_wait_tasks(self_pool, LT_FOREVER), LT_OK);
	LT_ASSERT_EQ_I(atomic_load(&self_err), LT_EINVAL * 10 + LT_EINVAL);
	LT_ASSERT_EQ_I(lt_pool_destroy(self_pool), LT_OK);
}

int main(void)
{
	LT_RUN(test_errors);
	LT_RUN(test_stack_size);
	LT_RUN(test_order);
	LT_RUN(test_await_recv);
	LT_RUN(test_await_select);
	LT_RUN(test_await_send);
	LT_RUN(test_backpressure);
	LT_RUN(test_spawn);
	LT_RUN(test_spawn_destroy_waits);
	LT_RUN(test_stop_drain);
	LT_RUN(test_stop_handback);
	LT_RUN(test_ticks);
	LT_RUN(test_router);
	LT_RUN(test_fairness);
	LT_RUN(test_interrupt_deadline);
	LT_RUN(test_spawn_during_destroy);
	return 0;
}
