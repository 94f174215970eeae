/*
 * test_rt_events.c - what liblooptrace-rt tells liblooptrace. This executable defines the
 * lt_* functions itself; they take precedence over liblooptrace's (the runtime calls them
 * through the dynamic linker), so every call is recorded here and checked: send/recv with
 * ids, flows and depths, block events only around real waits, the component loop's
 * wait/handle events, blocking receives inside handlers, and the router's route events.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <looptrace/rt/rt.h>
#include <looptrace/trace.h>

#include "lt_test.h"

enum ev_type {
	EV_COMP_BEGIN,
	EV_COMP_END,
	EV_DECLARE,
	EV_WAIT_BEGIN,
	EV_WAIT_END,
	EV_HANDLE_BEGIN,
	EV_HANDLE_END,
	EV_BLOCK_BEGIN,
	EV_BLOCK_END,
	EV_SEND,
	EV_RECV,
	EV_ROUTE_ADD,
	EV_ROUTE_REMOVE,
	EV_DISPATCH_BEGIN,
	EV_DISPATCH_END,
};

struct ev {
	enum ev_type type;
	pthread_t thread;
	uint64_t a, b, c, d;
	char s[32];
};

#define MAX_EVENTS 100000
static struct ev events[MAX_EVENTS];
static size_t nevents;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint32_t next_id32 = 1;
static _Atomic uint64_t next_msg = 1;

static void record(enum ev_type t, uint64_t a, uint64_t b, uint64_t c, uint64_t d, const char *s)
{
	pthread_mutex_lock(&mu);
	if (nevents < MAX_EVENTS) {
		struct ev *e = &events[nevents++];

		e->type = t;
		e->thread = pthread_self();
		e->a = a;
		e->b = b;
		e->c = c;
		e->d = d;
		snprintf(e->s, sizeof(e->s), "%s", s ? s : "");
	}
	pthread_mutex_unlock(&mu);
}

/* ---- the interposed API ---------------------------------------------------------------- */

const char *lt_block_reason_name(enum lt_block_reason reason)
{
	return "x";
}

uint32_t lt_component_begin(const char *name)
{
	uint32_t id = atomic_fetch_add(&next_id32, 1);

	record(EV_COMP_BEGIN, id, 0, 0, 0, name);
	return id;
}

void lt_component_end(void)
{
	record(EV_COMP_END, 0, 0, 0, 0, NULL);
}

uint32_t lt_channel_declare_object(const char *name, uint32_t capacity, const void *object)
{
	uint32_t id = atomic_fetch_add(&next_id32, 1);

	record(EV_DECLARE, id, capacity, (uint64_t)(uintptr_t)object, 0, name);
	return id;
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

void lt_wait_begin(void)
{
	record(EV_WAIT_BEGIN, 0, 0, 0, 0, NULL);
}

void lt_wait_end(uint32_t chan, uint64_t msg)
{
	record(EV_WAIT_END, chan, msg, 0, 0, NULL);
}

void lt_handle_begin(uint64_t msg, const char *kind)
{
	record(EV_HANDLE_BEGIN, msg, 0, 0, 0, kind);
}

void lt_handle_end(uint64_t msg)
{
	record(EV_HANDLE_END, msg, 0, 0, 0, NULL);
}

void lt_block_begin(enum lt_block_reason reason, const void *object)
{
	record(EV_BLOCK_BEGIN, (uint64_t)reason, (uint64_t)(uintptr_t)object, 0, 0, NULL);
}

void lt_block_begin_at(enum lt_block_reason reason, const void *object, const void *where)
{
	LT_ASSERT(where != NULL); /* the runtime always names its caller's call site */
	record(EV_BLOCK_BEGIN, (uint64_t)reason, (uint64_t)(uintptr_t)object, 0, 0, NULL);
}

void lt_block_end(void)
{
	record(EV_BLOCK_END, 0, 0, 0, 0, NULL);
}

/* The runtime reaches lt_send/lt_recv through their inline fast path (trace.h): main() says
 * a provider is there (lt__probes_loaded), and these take the calls it makes. */
/*
 * A send on channel `hold_chan` (when not 0) stops inside its send event -- after it claimed
 * its slot, before it publishes the message -- until hold_chan is cleared: a sender preempted
 * at the worst moment, on demand.
 */
static _Atomic uint32_t hold_chan;
static _Atomic int holding;

void lt__send_event(uint32_t chan, uint64_t msg, uint64_t flow, uint32_t depth)
{
	record(EV_SEND, chan, msg, flow, depth, NULL);
	if (chan != 0 && chan == atomic_load(&hold_chan)) {
		atomic_store(&holding, 1);
		while (atomic_load(&hold_chan) == chan)
			usleep(100);
		atomic_store(&holding, 0);
	}
}

void lt__recv_event(uint32_t chan, uint64_t msg, uint32_t depth)
{
	record(EV_RECV, chan, msg, depth, 0, NULL);
}

void lt_send(uint32_t chan, uint64_t msg, uint64_t flow, uint32_t depth)
{
	record(EV_SEND, chan, msg, flow, depth, NULL);
}

void lt_recv(uint32_t chan, uint64_t msg, uint32_t depth)
{
	record(EV_RECV, chan, msg, depth, 0, NULL);
}

uint32_t lt_route_add(uint32_t chan, uint32_t owner)
{
	uint32_t id = atomic_fetch_add(&next_id32, 1);

	record(EV_ROUTE_ADD, id, chan, owner, 0, NULL);
	return id;
}

void lt_route_remove(uint32_t route)
{
	record(EV_ROUTE_REMOVE, route, 0, 0, 0, NULL);
}

void lt_route_dispatch_begin(uint32_t route, uint64_t msg)
{
	record(EV_DISPATCH_BEGIN, route, msg, 0, 0, NULL);
}

void lt_route_dispatch_end(uint32_t route)
{
	record(EV_DISPATCH_END, route, 0, 0, 0, NULL);
}

int lt_tracing_available(void)
{
	return 1; /* so that channels compute depths */
}

/* ---- helpers ------------------------------------------------------------------------------ */

static void reset(void)
{
	pthread_mutex_lock(&mu);
	nevents = 0;
	pthread_mutex_unlock(&mu);
}

/* count - events of type t (with a == a_val unless a_val is UINT64_MAX). */
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

/* find - index of the first event of type t at or after `from`, or -1. */
static long find(enum ev_type t, size_t from)
{
	long r = -1;

	pthread_mutex_lock(&mu);
	for (size_t i = from; i < nevents; i++) {
		if (events[i].type == t) {
			r = (long)i;
			break;
		}
	}
	pthread_mutex_unlock(&mu);
	return r;
}

/*
 * timed_until_block - calls fn (a timed send or receive that must time out) with deadlines of
 * 2 ms, 20 ms, 200 ms and 2 s until one records a block_begin: a timed call spins before it
 * parks, and on a loaded machine the spin alone (it yields now and then) can outlast a short
 * deadline, in which case the call times out without having blocked, rightly without a block
 * event. Returns the index of the first block_begin (-1 if none ever came).
 */
static long timed_until_block(enum lt_err (*fn)(void *arg, uint64_t deadline), void *arg)
{
	for (uint64_t ns = 2000000; ns <= 2000000000u; ns *= 10) {
		long b;

		reset();
		LT_ASSERT_EQ_I(fn(arg, lt_rt_deadline(ns)), LT_ETIMEDOUT);
		b = find(EV_BLOCK_BEGIN, 0);
		if (b >= 0)
			return b;
	}
	return -1;
}

static enum lt_err timed_send(void *arg, uint64_t deadline)
{
	static int x;

	return lt_chan_send_timed(arg, &x, deadline);
}

static enum lt_err timed_recv(void *arg, uint64_t deadline)
{
	void *m;

	return lt_chan_recv_timed(arg, &m, deadline);
}

/* ---- tests ------------------------------------------------------------------------------------
 */

static void test_chan_events(void)
{
	struct lt_chan *ch;
	struct lt_msg_info info;
	uint64_t id;
	void *m;
	int x;

	reset();
	LT_ASSERT_EQ_I(lt_chan_create("ev.chan", 2, NULL, &ch), LT_OK);
	LT_ASSERT_EQ_U(count(EV_DECLARE, lt_chan_id(ch)), 1);
	LT_ASSERT_STREQ(events[0].s, "ev.chan");
	LT_ASSERT_EQ_U(events[0].b, 2);
	LT_ASSERT_EQ_U(events[0].c, (uint64_t)(uintptr_t)ch); /* blocks on it name this object */
	LT_ASSERT_EQ_I(lt_chan_send_ex(ch, &x, 42, LT_FOREVER, &id), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_send(ch, &x), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_try_send(ch, &x), LT_EAGAIN); /* full: no event, no block */
	LT_ASSERT_EQ_U(count(EV_SEND, lt_chan_id(ch)), 2);
	LT_ASSERT_EQ_U(count(EV_BLOCK_BEGIN, UINT64_MAX), 0);
	long s = find(EV_SEND, 0);
	LT_ASSERT(s >= 0);
	LT_ASSERT_EQ_U(events[s].b, id);
	LT_ASSERT_EQ_U(events[s].c, 42); /* flow */
	LT_ASSERT_EQ_U(events[s].d, 1);  /* depth after: position 0 reads it (an anchor) */
	/* position 1 does not: the analysis derives it (test_send_depth_anchors) */
	LT_ASSERT_EQ_U(events[find(EV_SEND, (size_t)s + 1)].d, LT_DEPTH_UNKNOWN);
	/* A timed send that really waits is a block on the channel. */
	long b = timed_until_block(timed_send, ch);
	LT_ASSERT(b >= 0);
	LT_ASSERT_EQ_U(events[b].a, LT_BLOCK_CHAN_SEND);
	LT_ASSERT_EQ_U(events[b].b, (uint64_t)(uintptr_t)ch);
	LT_ASSERT(find(EV_BLOCK_END, (size_t)b) > b);
	LT_ASSERT_EQ_I(lt_chan_recv_ex(ch, &m, &info, 0), LT_OK);
	long r = find(EV_RECV, 0);
	LT_ASSERT(r >= 0);
	LT_ASSERT_EQ_U(events[r].a, lt_chan_id(ch));
	LT_ASSERT_EQ_U(events[r].b, id);
	/* not read: the senders' depths anchor the count (LT_DEPTH_UNKNOWN) */
	LT_ASSERT_EQ_U(events[r].c, LT_DEPTH_UNKNOWN);
	LT_ASSERT_EQ_I(lt_chan_recv(ch, &m), LT_OK);
	/* A receive that really waits is a block too; one that does not, is not. */
	b = timed_until_block(timed_recv, ch);
	LT_ASSERT(b >= 0);
	LT_ASSERT_EQ_U(events[b].a, LT_BLOCK_CHAN_RECV);
	LT_ASSERT_EQ_U(count(EV_BLOCK_END, UINT64_MAX), 1);
	lt_chan_destroy(ch);
}

/*
 * A send reads its depth at channel positions 0, 64, 128, ... only (chan.c, depth_anchor): the
 * receiver's head is its line, written at every pop. Bounded and unbounded alike. While the
 * flight recorder watches depths (lt__send_depths), every send reads it.
 */
static void test_send_depth_anchors(void)
{
	for (int every = 0; every < 2; every++)
		for (int bounded = 0; bounded < 2; bounded++) {
			struct lt_chan *ch;
			long s = 0;
			int x;

			reset();
			__atomic_store_n(&lt__send_depths, every, __ATOMIC_RELAXED);
			LT_ASSERT_EQ_I(lt_chan_create("ev.anchor", bounded ? 256 : 0, NULL, &ch),
				       LT_OK);
			for (int i = 0; i < 130; i++)
				LT_ASSERT_EQ_I(lt_chan_send(ch, &x), LT_OK);
			LT_ASSERT_EQ_U(count(EV_SEND, lt_chan_id(ch)), 130);
			for (uint64_t pos = 0; pos < 130; pos++) {
				s = find(EV_SEND, (size_t)s);
				LT_ASSERT(s >= 0);
				if (every || pos % 64 == 0)
					LT_ASSERT_EQ_U(events[s].d, pos + 1);
				else
					LT_ASSERT_EQ_U(events[s].d, LT_DEPTH_UNKNOWN);
				s++;
			}
			lt_chan_destroy(ch);
			__atomic_store_n(&lt__send_depths, 0, __ATOMIC_RELAXED);
		}
}

struct comp_ctx {
	struct lt_chan *aux;
	_Atomic int handled;
};

static void blocking_handler(struct lt_comp *comp, void *msg, const struct lt_msg_info *info,
			     void *arg)
{
	struct comp_ctx *c = arg;
	void *m;

	/* Waits inside the handler: blocked-in-handler, reason chan_recv. */
	LT_ASSERT_EQ_I(lt_chan_recv(c->aux, &m), LT_OK);
	atomic_fetch_add(&c->handled, 1);
}

static void *send_aux_later(void *p)
{
	struct comp_ctx *c = p;
	static int y;

	/*
	 * Send once the handler has really blocked (its block_begin is recorded; up to 10 s): a
	 * fixed delay can be outlasted by the receiver's spin phase on a loaded machine.
	 */
	for (int i = 0; i < 10000 && count(EV_BLOCK_BEGIN, LT_BLOCK_CHAN_RECV) == 0; i++)
		usleep(1000);
	LT_ASSERT_EQ_I(lt_chan_send(c->aux, &y), LT_OK);
	return NULL;
}

static void test_comp_events(void)
{
	struct lt_comp *comp;
	struct lt_chan *in;
	struct comp_ctx c;
	pthread_t th;
	uint64_t id;
	int x;

	LT_ASSERT_EQ_I(lt_chan_create("ev.in", 4, NULL, &in), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("ev.aux", 4, NULL, &c.aux), LT_OK);
	atomic_init(&c.handled, 0);
	LT_ASSERT_EQ_I(lt_comp_create("ev.comp", &comp), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_add_handler(comp, in, "ev.kind", blocking_handler, &c), LT_OK);
	reset();
	LT_ASSERT_EQ_I(lt_comp_start(comp), LT_OK);
	usleep(20000); /* let the loop reach its wait (events do not depend on it) */
	pthread_create(&th, NULL, send_aux_later, &c);
	LT_ASSERT_EQ_I(lt_chan_send_ex(in, &x, 0, LT_FOREVER, &id), LT_OK);
	pthread_join(th, NULL);
	LT_ASSERT_EQ_I(lt_comp_stop(comp, LT_COMP_STOP_DRAIN, NULL, NULL, NULL), LT_OK);
	LT_ASSERT_EQ_I(atomic_load(&c.handled), 1);

	long cb = find(EV_COMP_BEGIN, 0);
	LT_ASSERT(cb >= 0);
	LT_ASSERT_STREQ(events[cb].s, "ev.comp");
	LT_ASSERT_EQ_U(events[cb].a, lt_comp_id(comp));
	pthread_t ct = events[cb].thread;
	/* On the component thread: wait_begin, wait_end(in, id), handle_begin(id, kind),
	 * block_begin(chan_recv, aux), block_end, handle_end(id) ... component_end. */
	long wb = find(EV_WAIT_BEGIN, (size_t)cb);
	long we = find(EV_WAIT_END, (size_t)wb);
	long hb = find(EV_HANDLE_BEGIN, (size_t)we);
	long bb = find(EV_BLOCK_BEGIN, (size_t)hb);
	long be = find(EV_BLOCK_END, (size_t)bb);
	long he = find(EV_HANDLE_END, (size_t)be);
	long ce = find(EV_COMP_END, (size_t)he);
	LT_ASSERT(wb > cb && we > wb && hb > we && bb > hb && be > bb && he > be && ce > he);
	LT_ASSERT(pthread_equal(events[we].thread, ct) && pthread_equal(events[hb].thread, ct));
	LT_ASSERT(pthread_equal(events[bb].thread, ct) && pthread_equal(events[ce].thread, ct));
	LT_ASSERT_EQ_U(events[we].a, lt_chan_id(in));
	LT_ASSERT_EQ_U(events[we].b, id);
	LT_ASSERT_EQ_U(events[hb].a, id);
	LT_ASSERT_STREQ(events[hb].s, "ev.kind");
	LT_ASSERT_EQ_U(events[bb].a, LT_BLOCK_CHAN_RECV);
	LT_ASSERT_EQ_U(events[bb].b, (uint64_t)(uintptr_t)c.aux);
	LT_ASSERT_EQ_U(events[he].a, id);
	/* The top-of-loop wait never shows up as a block: exactly one block on this thread. */
	size_t blocks = 0;
	for (size_t i = 0; i < nevents; i++)
		if (events[i].type == EV_BLOCK_BEGIN && pthread_equal(events[i].thread, ct))
			blocks++;
	LT_ASSERT_EQ_U(blocks, 1);
	/* The send precedes its recv. */
	long snd = -1, rcv = -1;
	for (size_t i = 0; i < nevents; i++) {
		if (events[i].type == EV_SEND && events[i].b == id && snd < 0)
			snd = (long)i;
		if (events[i].type == EV_RECV && events[i].b == id && rcv < 0)
			rcv = (long)i;
	}
	LT_ASSERT(snd >= 0 && rcv > snd);
	lt_comp_destroy(comp);
	lt_chan_destroy(in);
	lt_chan_destroy(c.aux);
}

static _Atomic int routed;

static void on_route(struct lt_route *route, void *msg, const struct lt_msg_info *info, void *arg)
{
	if (msg)
		atomic_fetch_add(&routed, 1);
}

static void test_router_events(void)
{
	struct lt_router *r;
	struct lt_route *route;
	struct lt_chan *ch;
	uint64_t id;
	int x;

	LT_ASSERT_EQ_I(lt_chan_create("ev.routed", 0, NULL, &ch), LT_OK);
	reset();
	LT_ASSERT_EQ_I(lt_router_create("ev.router", &r), LT_OK);
	LT_ASSERT_EQ_I(lt_router_start(r), LT_OK);
	LT_ASSERT_EQ_I(lt_router_add_chan(r, ch, 99, on_route, NULL, &route), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_send_ex(ch, &x, 0, LT_FOREVER, &id), LT_OK);
	while (atomic_load(&routed) < 1)
		usleep(1000);
	LT_ASSERT_EQ_I(lt_router_remove(r, route), LT_OK);
	lt_router_destroy(r);

	long cb = find(EV_COMP_BEGIN, 0);
	LT_ASSERT(cb >= 0);
	LT_ASSERT_STREQ(events[cb].s, "ev.router");
	long ra = find(EV_ROUTE_ADD, 0);
	LT_ASSERT(ra >= 0);
	LT_ASSERT_EQ_U(events[ra].b, lt_chan_id(ch));
	LT_ASSERT_EQ_U(events[ra].c, 99);
	uint64_t rid = events[ra].a;
	long db = find(EV_DISPATCH_BEGIN, (size_t)ra);
	LT_ASSERT(db > ra);
	LT_ASSERT_EQ_U(events[db].a, rid);
	LT_ASSERT_EQ_U(events[db].b, id);
	LT_ASSERT(pthread_equal(events[db].thread, events[cb].thread));
	long de = find(EV_DISPATCH_END, (size_t)db);
	LT_ASSERT(de > db);
	LT_ASSERT_EQ_U(events[de].a, rid);
	long rr = find(EV_ROUTE_REMOVE, (size_t)de);
	LT_ASSERT(rr > de);
	LT_ASSERT_EQ_U(events[rr].a, rid);
	/* The router thread waits at the top of its loop: a wait_end names the message. */
	int named = 0;
	for (size_t i = 0; i < nevents; i++)
		if (events[i].type == EV_WAIT_END && events[i].b == id)
			named = 1;
	LT_ASSERT(named);
	LT_ASSERT(find(EV_COMP_END, (size_t)de) > de);
	lt_chan_destroy(ch);
}

static void *send_one(void *p)
{
	static int z;

	LT_ASSERT_EQ_I(lt_chan_send(p, &z), LT_OK);
	return NULL;
}

/*
 * A sender that claimed the only slot of a channel but has not published its message yet:
 * the channel is full, so try_send fails at once and a timed send times out -- neither may
 * wait for the stalled sender (a busy loop there would hang this test). Then the stalled send
 * completes and both the receiver and a new send go through.
 */
static void test_send_while_a_sender_stalls(void)
{
	struct lt_chan *ch;
	pthread_t th;
	void *m;
	int y;

	LT_ASSERT_EQ_I(lt_chan_create("ev.stall", 1, NULL, &ch), LT_OK);
	atomic_store(&hold_chan, lt_chan_id(ch));
	LT_ASSERT_EQ_I(pthread_create(&th, NULL, send_one, ch), 0);
	while (!atomic_load(&holding))
		usleep(100);
	LT_ASSERT_EQ_I(lt_chan_try_send(ch, &y), LT_EAGAIN);
	LT_ASSERT_EQ_I(lt_chan_send_timed(ch, &y, lt_rt_deadline(1000000)), LT_ETIMEDOUT);
	atomic_store(&hold_chan, 0);
	LT_ASSERT_EQ_I(pthread_join(th, NULL), 0);
	LT_ASSERT_EQ_I(lt_chan_recv(ch, &m), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_try_send(ch, &y), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_recv(ch, &m), LT_OK);
	LT_ASSERT(m == &y);
	lt_chan_destroy(ch);
}

int main(void)
{
	__atomic_store_n(&lt__probes_loaded, 1, __ATOMIC_RELAXED); /* see lt__send_event */
	LT_RUN(test_chan_events);
	LT_RUN(test_send_depth_anchors);
	LT_RUN(test_comp_events);
	LT_RUN(test_router_events);
	LT_RUN(test_send_while_a_sender_stalls);
	return 0;
}
