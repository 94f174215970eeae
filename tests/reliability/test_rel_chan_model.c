/*
 * test_rel_chan_model.c - a randomized, model-based test of the channel API.
 *
 * Each round makes a channel of a random capacity (unbounded, 1, 2, 3, 7 or 64), starts 1-4
 * producers and one consumer, and lets every thread pick random operations: producers send
 * an increasing sequence with send / try_send / send_timed (short deadlines) / send_ex (with
 * a flow id); the consumer uses recv / try_recv / recv_timed / recv_ex, sometimes drains,
 * sometimes stops early and leaves the rest to lt_chan_destroy. The channel is closed at a
 * random moment by the consumer, a producer or a separate thread (or only once the producers
 * are done). The model every round is checked against:
 *
 *   - per producer, messages arrive in the order they were sent (FIFO), none twice;
 *   - every message received or handed back was sent successfully, and every successful send
 *     is received, drained or freed by lt_chan_destroy exactly once (no loss);
 *   - a send that started after lt_chan_close() returned fails with LT_ECLOSED, and the
 *     caller keeps its message; once a producer saw LT_ECLOSED every later send fails too;
 *   - after LT_ECLOSED from a receive, every later receive reports LT_ECLOSED;
 *   - each received message carries the flow its sender gave and a fresh message id.
 *
 * Seeded: LT_SEED=<n> replays a run; the seed is printed first. LT_STRESS_SCALE scales the
 * number of rounds; sanitized builds run fewer.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <looptrace/rt/rt.h>

#include "lt_test.h"

#define MAX_PRODUCERS 4
#define SEQ_BITS      32

/* A message is (producer + 1) << 32 | seq, never NULL. */
static void *encode(int producer, uint32_t seq)
{
	return (void *)(uintptr_t)(((uint64_t)(producer + 1) << SEQ_BITS) | seq);
}

static void decode(void *m, int *producer, uint32_t *seq)
{
	uint64_t v = (uint64_t)(uintptr_t)m;

	*producer = (int)(v >> SEQ_BITS) - 1;
	*seq = (uint32_t)v;
}

/* xorshift: a private, reproducible random stream per thread. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

enum fate { NOT_SENT = 0, SENT = 1, DELIVERED = 2 };

struct round;

struct producer {
	struct round *r;
	int index;
	uint64_t rng;
	uint32_t n;                  /* sequence numbers 1..n */
	_Atomic unsigned char *fate; /* per seq: NOT_SENT / SENT (producer), DELIVERED (consumer) */
	uint64_t *flow;              /* per seq: flow it was sent with */
	pthread_t thread;
	long sent;
};

struct round {
	struct lt_chan *ch;
	int nprod;
	struct producer prod[MAX_PRODUCERS];
	_Atomic int close_done; /* lt_chan_close() has returned */
	_Atomic int producers_done;
	int closer;       /* 0: consumer, 1: producer 0, 2: closer thread, 3: never */
	long close_after; /* messages received (or sent by producer 0) before closing */
	_Atomic long received;
};

/* Messages handed back by destroy's free function (one round at a time). */
static struct round *current_round;
static _Atomic long freed_at_destroy;
static long rounds_freeing; /* rounds in which destroy freed something */

static void deliver(struct round *r, void *m, const struct lt_msg_info *info, uint32_t *last,
		    const char *how)
{
	int p;
	uint32_t seq;
	unsigned char expect = SENT;

	decode(m, &p, &seq);
	if (p < 0 || p >= r->nprod || seq == 0 || seq > r->prod[p].n)
		lt_test_fail(__FILE__, __LINE__, "%s: foreign message %p", how, m);
	if (last) {
		if (seq <= last[p])
			lt_test_fail(__FILE__, __LINE__,
				     "%s: producer %d: seq %u after %u (FIFO order broken)", how, p,
				     seq, last[p]);
		last[p] = seq;
	}
	/* The producer marks SENT right after its send returned LT_OK; the consumer may get
	 * the message before that, so it waits for the mark (the send did succeed). */
	while (!atomic_compare_exchange_weak(&r->prod[p].fate[seq], &expect, DELIVERED)) {
		if (expect == DELIVERED)
			lt_test_fail(__FILE__, __LINE__, "%s: producer %d seq %u delivered twice",
				     how, p, seq);
		expect = SENT;
		sched_yield();
	}
	if (info && info->flow != r->prod[p].flow[seq])
		lt_test_fail(__FILE__, __LINE__, "%s: producer %d seq %u: flow %llu, sent %llu",
			     how, p, seq, (unsigned long long)info->flow,
			     (unsigned long long)r->prod[p].flow[seq]);
	if (info && info->id == 0)
		lt_test_fail(__FILE__, __LINE__, "%s: message id 0", how);
}

static void free_at_destroy(void *m)
{
	deliver(current_round, m, NULL, NULL, "destroy");
	atomic_fetch_add(&freed_at_destroy, 1);
}

struct drain_ctx {
	struct round *r;
	uint32_t *last;
	long n;
};

static void handback(void *m, const struct lt_msg_info *info, void *arg)
{
	struct drain_ctx *d = arg;

	deliver(d->r, m, info, d->last, "drain");
	d->n++;
}

static void *produce(void *arg)
{
	struct producer *p = arg;
	struct round *r = p->r;
	int saw_closed = 0;

	for (uint32_t seq = 1; seq <= p->n; seq++) {
		void *m = encode(p->index, seq);
		int closed_before = atomic_load(&r->close_done);
		uint64_t flow = 0, id = 0;
		enum lt_err err;

		switch (rnd(&p->rng) % 5) {
		case 0:
			err = lt_chan_send(r->ch, m);
			break;
		case 1:
			err = lt_chan_try_send(r->ch, m);
			break;
		case 2:
			err = lt_chan_send_timed(r->ch, m, lt_rt_deadline(rnd(&p->rng) % 200000));
			break;
		case 3:
			flow = 1 + rnd(&p->rng) % 1000;
			p->flow[seq] = flow;
			err = lt_chan_send_ex(r->ch, m, flow, lt_rt_deadline(rnd(&p->rng) % 50000),
					      &id);
			break;
		default:
			/* A past deadline: never waits. */
			err = lt_chan_send_timed(r->ch, m, 0);
			break;
		}
		if (err == LT_OK) {
			if (closed_before)
				lt_test_fail(__FILE__, __LINE__,
					     "producer %d: send succeeded after close returned",
					     p->index);
			if (saw_closed)
				lt_test_fail(__FILE__, __LINE__,
					     "producer %d: send succeeded after LT_ECLOSED",
					     p->index);
			atomic_store(&p->fate[seq], SENT);
			p->sent++;
		} else {
			/* Failed: the caller keeps the message; it must never show up. */
			p->flow[seq] = 0;
			if (err == LT_ECLOSED)
				saw_closed = 1;
			else if (err != LT_EAGAIN && err != LT_ETIMEDOUT)
				lt_test_fail(__FILE__, __LINE__, "producer %d: send: %s", p->index,
					     lt_strerror(err));
			if (closed_before && err != LT_ECLOSED)
				lt_test_fail(__FILE__, __LINE__, "producer %d: %s after close",
					     p->index, lt_strerror(err));
		}
		if (p->index == 0 && r->closer == 1 && seq == (uint32_t)r->close_after) {
			lt_chan_close(r->ch);
			atomic_store(&r->close_done, 1);
		}
	}
	atomic_fetch_add(&r->producers_done, 1);
	return NULL;
}

static void *close_later(void *arg)
{
	struct round *r = arg;

	while (atomic_load(&r->received) < r->close_after &&
	       atomic_load(&r->producers_done) < r->nprod)
		sched_yield();
	lt_chan_close(r->ch);
	atomic_store(&r->close_done, 1);
	return NULL;
}

static void run_round(uint64_t seed, int round_no)
{
	static const size_t caps[] = {0, 1, 2, 3, 7, 64};
	struct round *r = calloc(1, sizeof(*r));
	uint64_t rng = seed * 2654435761u + (uint64_t)round_no + 1;
	uint32_t last[MAX_PRODUCERS] = {0};
	pthread_t closer_th;
	int stop_early, saw_closed = 0, have_closer_thread;
	long total = 0, received = 0, drained = 0, sent = 0;
	size_t cap;

	LT_ASSERT(r != NULL);
	rnd(&rng);
	cap = caps[rnd(&rng) % (sizeof(caps) / sizeof(caps[0]))];
	r->nprod = 1 + (int)(rnd(&rng) % MAX_PRODUCERS);
	r->closer = (int)(rnd(&rng) % 4);
	stop_early = rnd(&rng) % 5 == 0;
	current_round = r;
	atomic_store(&freed_at_destroy, 0);
	LT_ASSERT_EQ_I(lt_chan_create("model", cap, free_at_destroy, &r->ch), LT_OK);
	for (int i = 0; i < r->nprod; i++) {
		struct producer *p = &r->prod[i];

		p->r = r;
		p->index = i;
		p->rng = rnd(&rng) | 1;
		p->n = 50 + (uint32_t)(rnd(&rng) % 2000);
		p->fate = calloc(p->n + 1, sizeof(*p->fate));
		p->flow = calloc(p->n + 1, sizeof(*p->flow));
		LT_ASSERT(p->fate != NULL && p->flow != NULL);
		total += p->n;
	}
	r->close_after = (long)(rnd(&rng) % (uint64_t)(total + total / 4 + 1));
	if (r->closer == 1) /* producer 0 closes after its send number close_after (1..n) */
		r->close_after = 1 + r->close_after % (long)r->prod[0].n;
	for (int i = 0; i < r->nprod; i++)
		LT_ASSERT_EQ_I(pthread_create(&r->prod[i].thread, NULL, produce, &r->prod[i]), 0);
	have_closer_thread = r->closer == 2;
	if (have_closer_thread)
		LT_ASSERT_EQ_I(pthread_create(&closer_th, NULL, close_later, r), 0);

	for (;;) {
		struct lt_msg_info info;
		void *m = NULL;
		enum lt_err err;
		int op = (int)(rnd(&rng) % 8);

		if (r->closer == 0 && received >= r->close_after && !atomic_load(&r->close_done)) {
			lt_chan_close(r->ch);
			atomic_store(&r->close_done, 1);
		}
		/* Closer 3 closes only once every producer is done; so does the consumer when
		 * its closing point lies beyond what the producers managed to send. */
		if ((r->closer == 3 || r->closer == 0) &&
		    atomic_load(&r->producers_done) == r->nprod && !atomic_load(&r->close_done)) {
			lt_chan_close(r->ch);
			atomic_store(&r->close_done, 1);
		}
		if (stop_early && received >= total / 3 && atomic_load(&r->close_done))
			break; /* leave the rest to drain/destroy */
		memset(&info, 0, sizeof(info));
		switch (op) {
		case 0:
		case 1:
			err = lt_chan_recv_ex(r->ch, &m, &info, lt_rt_deadline(2000000));
			break;
		case 2:
			err = lt_chan_try_recv(r->ch, &m);
			break;
		case 3:
			err = lt_chan_recv_timed(r->ch, &m, lt_rt_deadline(rnd(&rng) % 100000));
			break;
		case 4: {
			/* A bounded drain in the middle of the stream: handed back in order. */
			struct drain_ctx d = {.r = r, .last = last};

			if (rnd(&rng) % 64)
				continue;
			lt_chan_drain(r->ch, handback, &d);
			drained += d.n;
			continue;
		}
		default:
			err = lt_chan_recv_ex(r->ch, &m, &info, 0);
			break;
		}
		if (err == LT_OK) {
			if (saw_closed)
				lt_test_fail(__FILE__, __LINE__,
					     "receive succeeded after LT_ECLOSED");
			deliver(r, m, (op <= 1 || op >= 5) ? &info : NULL, last, "receive");
			received++;
			atomic_store(&r->received, received);
			continue;
		}
		if (err == LT_ECLOSED) {
			if (!atomic_load(&r->close_done) && r->closer != 1 && r->closer != 2)
				lt_test_fail(__FILE__, __LINE__, "LT_ECLOSED but nobody closed");
			saw_closed = 1;
			if (rnd(&rng) % 2)
				break;
			continue; /* must stay closed */
		}
		if (err != LT_EAGAIN && err != LT_ETIMEDOUT)
			lt_test_fail(__FILE__, __LINE__, "receive: %s", lt_strerror(err));
		/* Nothing queued: fine unless the channel is closed and producers are done. */
		if (r->closer == 1 && atomic_load(&r->producers_done) == r->nprod &&
		    !atomic_load(&r->close_done)) {
			/* Producer 0 never reached its closing point (it cannot: it did). */
			lt_test_fail(__FILE__, __LINE__, "producer 0 did not close");
		}
	}
	for (int i = 0; i < r->nprod; i++) {
		pthread_join(r->prod[i].thread, NULL);
		sent += r->prod[i].sent;
	}
	if (have_closer_thread)
		pthread_join(closer_th, NULL);
	if (rnd(&rng) % 3 == 0) {
		struct drain_ctx d = {.r = r, .last = last};

		lt_chan_drain(r->ch, handback, &d);
		drained += d.n;
	}
	lt_chan_destroy(r->ch);

	/* The model: every successful send delivered exactly once, nothing else. */
	for (int i = 0; i < r->nprod; i++)
		for (uint32_t s = 1; s <= r->prod[i].n; s++) {
			unsigned char f = atomic_load(&r->prod[i].fate[s]);

			if (f == SENT)
				lt_test_fail(__FILE__, __LINE__,
					     "round %d: producer %d seq %u sent but lost", round_no,
					     i, s);
		}
	if (received + drained + atomic_load(&freed_at_destroy) != sent)
		lt_test_fail(__FILE__, __LINE__,
			     "round %d: received %ld + drained %ld + freed %ld != sent %ld",
			     round_no, received, drained, (long)atomic_load(&freed_at_destroy),
			     sent);
	if (atomic_load(&freed_at_destroy))
		rounds_freeing++;
	if (round_no % 50 == 0)
		fprintf(stderr,
			"   round %d: cap %zu, %d producers, closer %d: sent %ld = received %ld + "
			"drained %ld + freed at destroy %ld\n",
			round_no, cap, r->nprod, r->closer, sent, received, drained,
			(long)atomic_load(&freed_at_destroy));
	for (int i = 0; i < r->nprod; i++) {
		free((void *)r->prod[i].fate);
		free(r->prod[i].flow);
	}
	free(r);
}

int main(void)
{
	const char *env = getenv("LT_SEED");
	const char *scale = getenv("LT_STRESS_SCALE");
	uint64_t seed = env ? strtoull(env, NULL, 0) : ((uint64_t)time(NULL) ^ (uint64_t)getpid());
	int rounds = 500;

#ifdef LT_TEST_SANITIZED
	rounds = 100;
#endif
	if (scale && atof(scale) > 0)
		rounds = (int)(rounds * atof(scale));
	if (rounds < 10)
		rounds = 10;
	fprintf(stderr, "chan model: seed %llu (replay with LT_SEED=%llu), %d rounds\n",
		(unsigned long long)seed, (unsigned long long)seed, rounds);
	for (int i = 0; i < rounds; i++)
		run_round(seed, i);
	fprintf(stderr, "chan model: %d rounds ok, %ld with messages left to destroy (seed %llu)\n",
		rounds, rounds_freeing, (unsigned long long)seed);
	return 0;
}
