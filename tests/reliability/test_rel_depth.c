/*
 * test_rel_depth.c - the queue depths a bounded channel reports in its `send`/`recv` events
 * never exceed its capacity, however senders and the receiver race (a depth above capacity
 * in a trace is a wrong number: the report's max_depth would exceed the channel's size).
 *
 * Like tests/runtime/test_rt_events.c, this executable defines the calls the runtime makes
 * through the dynamic linker (lt__send_event, lt__recv_event: the inline fast path of
 * lt_send/lt_recv, enabled by lt__probes_loaded; and lt_tracing_available), so depths are
 * computed as under tracing and every one is checked. 4 producers, one receiver, small
 * capacities (the channel is full most of the time). LT_STRESS_SCALE scales the count.
 *
 * A send reads its depth only at one channel position in 64 (an anchor; chan.c, depth_anchor)
 * and records LT_DEPTH_UNKNOWN at the others: exactly ceil(n / 64) known send depths.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include <looptrace/rt/rt.h>
#include <looptrace/trace.h>

#include "lt_test.h"

#define PRODUCERS 4

static _Atomic uint32_t max_send_depth, max_recv_depth;
static _Atomic uint64_t sends_seen, sends_known;

static void atomic_max(_Atomic uint32_t *m, uint32_t v)
{
	uint32_t cur = atomic_load(m);

	while (v > cur && !atomic_compare_exchange_weak(m, &cur, v))
		;
}

int lt_tracing_available(void)
{
	return 1;
}

void lt__send_event(uint32_t chan, uint64_t msg, uint64_t flow, uint32_t depth)
{
	(void)chan;
	(void)msg;
	(void)flow;
	if (depth != LT_DEPTH_UNKNOWN) {
		atomic_max(&max_send_depth, depth);
		atomic_fetch_add_explicit(&sends_known, 1, memory_order_relaxed);
	}
	atomic_fetch_add_explicit(&sends_seen, 1, memory_order_relaxed);
}

void lt__recv_event(uint32_t chan, uint64_t msg, uint32_t depth)
{
	(void)chan;
	(void)msg;
	/* The runtime's receives leave the depth to the analysis (LT_DEPTH_UNKNOWN). */
	if (depth != LT_DEPTH_UNKNOWN)
		atomic_max(&max_recv_depth, depth);
}

struct producer {
	struct lt_chan *ch;
	long n;
};

static void *produce(void *arg)
{
	struct producer *p = arg;

	for (long i = 0; i < p->n; i++)
		LT_ASSERT_EQ_I(lt_chan_send(p->ch, (void *)(uintptr_t)(i + 1)), LT_OK);
	return NULL;
}

static void run(size_t cap, long per)
{
	struct lt_chan *ch;
	struct producer p = {.n = per};
	pthread_t th[PRODUCERS];
	long got = 0;

	atomic_store(&max_send_depth, 0);
	atomic_store(&max_recv_depth, 0);
	atomic_store(&sends_seen, 0);
	atomic_store(&sends_known, 0);
	LT_ASSERT_EQ_I(lt_chan_create("depth", cap, NULL, &ch), LT_OK);
	p.ch = ch;
	for (int i = 0; i < PRODUCERS; i++)
		LT_ASSERT_EQ_I(pthread_create(&th[i], NULL, produce, &p), 0);
	while (got < per * PRODUCERS) {
		void *m;

		LT_ASSERT_EQ_I(lt_chan_recv(ch, &m), LT_OK);
		got++;
		LT_ASSERT_CMP_U(lt_chan_depth(ch), <=, cap);
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(th[i], NULL);
	fprintf(stderr,
		"   capacity %zu: %ld messages, %llu send depths read, max depth in send %u, in "
		"recv %u\n",
		cap, got, (unsigned long long)atomic_load(&sends_known),
		atomic_load(&max_send_depth), atomic_load(&max_recv_depth));
	LT_ASSERT_EQ_U(atomic_load(&sends_seen), (uint64_t)got);
	LT_ASSERT_EQ_U(atomic_load(&sends_known), (uint64_t)(got + 63) / 64);
	LT_ASSERT_CMP_U(atomic_load(&max_send_depth), <=, cap);
	LT_ASSERT_CMP_U(atomic_load(&max_recv_depth), <=, cap);
	lt_chan_destroy(ch);
}

int main(void)
{
	__atomic_store_n(&lt__probes_loaded, 1, __ATOMIC_RELAXED); /* see lt__send_event */
	const char *s = getenv("LT_STRESS_SCALE");
	long per = 250000;

#ifdef LT_TEST_SANITIZED
	per = 25000;
#endif
	if (s && atof(s) > 0)
		per = (long)((double)per * atof(s));
	if (per < 1000)
		per = 1000;
	run(1, per);
	run(2, per);
	run(4, per);
	run(64, per);
	return 0;
}
