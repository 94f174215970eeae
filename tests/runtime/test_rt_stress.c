/*
 * test_rt_stress.c - 4 producers x 1,000,000 messages into one consumer, bounded (1024) and
 * unbounded, with the channel closed at a random moment: by another thread while the
 * consumer keeps receiving, or by the consumer itself, which then hands back what is queued.
 * Producers count only their successful sends; received + handed back must equal sent, in
 * count and in sum, and no message may arrive twice.
 *
 * Size: 1,000,000 per producer; a tenth of that in sanitized builds; LT_STRESS_SCALE
 * (a factor such as 0.1) scales it further.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include <looptrace/rt/rt.h>

#include "lt_test.h"

#define PRODUCERS 4

static _Atomic int producers_done;
static _Atomic long received;

struct producer {
	struct lt_chan *ch;
	int index;
	long n;
	long sent;
	unsigned long long sum;
};

static void *produce(void *p)
{
	struct producer *a = p;

	for (long i = 0; i < a->n; i++) {
		/* Values are unique across producers and never 0 (a NULL message). */
		unsigned long long v =
		    (unsigned long long)a->index * 100000000ull + (unsigned long long)i + 1;
		void *m = (void *)(uintptr_t)v;
		enum lt_err err;

		switch (a->index % 3) {
		case 0:
			err = lt_chan_send(a->ch, m);
			break;
		case 1:
			while ((err = lt_chan_try_send(a->ch, m)) == LT_EAGAIN)
				;
			break;
		default:
			while ((err = lt_chan_send_timed(a->ch, m, lt_rt_deadline(1000000))) ==
			       LT_ETIMEDOUT)
				;
			break;
		}
		if (err == LT_ECLOSED)
			break;
		LT_ASSERT_EQ_I(err, LT_OK);
		a->sent++;
		a->sum += v;
	}
	atomic_fetch_add(&producers_done, 1);
	return NULL;
}

/* Closes the channel once the consumer got `target` messages or the producers are done. */
struct closer {
	struct lt_chan *ch;
	long target;
};

static void *close_later(void *p)
{
	struct closer *c = p;

	while (atomic_load(&received) < c->target && atomic_load(&producers_done) < PRODUCERS)
		usleep(200);
	lt_chan_close(c->ch);
	return NULL;
}

struct tally {
	long count;
	unsigned long long sum;
	unsigned char *seen; /* per value: delivered already? */
	long n;
};

static void see(struct tally *t, void *m)
{
	unsigned long long v = (unsigned long long)(uintptr_t)m;
	unsigned long long p = v / 100000000ull, i = v % 100000000ull - 1;

	LT_ASSERT(p < PRODUCERS && (long)i < t->n);
	LT_ASSERT_EQ_I(t->seen[p * (unsigned long long)t->n + i], 0);
	t->seen[p * (unsigned long long)t->n + i] = 1;
	t->count++;
	t->sum += v;
}

static void take_back(void *msg, const struct lt_msg_info *info, void *arg)
{
	see(arg, msg);
}

static void run(size_t capacity, long n, int self_close, unsigned seed)
{
	struct lt_chan *ch;
	struct producer prod[PRODUCERS];
	pthread_t th[PRODUCERS], closer_th;
	struct closer closer;
	struct tally got = {0}, back = {0};
	long sent = 0;
	unsigned long long sum = 0;
	long total = n * PRODUCERS;
	/* Close somewhere between a quarter of the way and never (producers finish first). */
	long close_after = total / 4 + (long)(rand_r(&seed) % (unsigned)total);

	LT_ASSERT_EQ_I(lt_chan_create("stress", capacity, NULL, &ch), LT_OK);
	got.n = back.n = n;
	got.seen = calloc((size_t)(n * PRODUCERS), 1);
	LT_ASSERT(got.seen != NULL);
	atomic_store(&producers_done, 0);
	atomic_store(&received, 0);
	back.seen = got.seen;
	for (int i = 0; i < PRODUCERS; i++) {
		prod[i] = (struct producer){.ch = ch, .index = i, .n = n};
		pthread_create(&th[i], NULL, produce, &prod[i]);
	}
	if (!self_close) {
		closer.ch = ch;
		closer.target = close_after;
		pthread_create(&closer_th, NULL, close_later, &closer);
	}
	for (;;) {
		void *m;
		enum lt_err err;

		if (self_close && got.count == close_after) {
			lt_chan_close(ch);
			break;
		}
		err = lt_chan_recv_timed(ch, &m, lt_rt_deadline(10000000));
		if (err == LT_ECLOSED)
			break;
		if (err == LT_ETIMEDOUT) {
			if (self_close && atomic_load(&producers_done) == PRODUCERS)
				lt_chan_close(ch); /* never reached close_after: end here */
			continue;
		}
		LT_ASSERT_EQ_I(err, LT_OK);
		see(&got, m);
		atomic_store_explicit(&received, got.count, memory_order_relaxed);
	}
	for (int i = 0; i < PRODUCERS; i++) {
		pthread_join(th[i], NULL);
		sent += prod[i].sent;
		sum += prod[i].sum;
	}
	if (!self_close)
		pthread_join(closer_th, NULL);
	lt_chan_drain(ch, take_back, &back);
	fprintf(stderr, "   cap %zu %s: sent %ld, received %ld, handed back %ld\n", capacity,
		self_close ? "self-close" : "close-by-thread", sent, got.count, back.count);
	LT_ASSERT_EQ_I(got.count + back.count, sent);
	LT_ASSERT_EQ_U(got.sum + back.sum, sum);
	if (!self_close)
		LT_ASSERT_EQ_I(back.count, 0);
	free(got.seen);
	lt_chan_destroy(ch);
}

int main(void)
{
	long n = 1000000;
	const char *scale = getenv("LT_STRESS_SCALE");
	unsigned seed = (unsigned)getpid();

#ifdef LT_TEST_SANITIZED
	n /= 10;
#endif
	if (scale && atof(scale) > 0)
		n = (long)((double)n * atof(scale));
	if (n < 100)
		n = 100;
	fprintf(stderr, "stress: %d producers x %ld messages, seed %u\n", PRODUCERS, n, seed);
	run(1024, n, 0, seed);
	run(1024, n, 1, seed + 1);
	run(0, n, 0, seed + 2);
	run(0, n, 1, seed + 3);
	run(1, n / 10, 1, seed + 4);
	return 0;
}
