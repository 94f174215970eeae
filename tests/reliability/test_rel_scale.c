/*
 * test_rel_scale.c - liblooptrace-rt at scale, untraced (label `stress`):
 *
 *   many   1,000 components with 10 channels each (10,000 channels) in one process, plus a
 *          router with 200 channel routes; every channel gets messages from 4 sender
 *          threads; every component and route must handle exactly what was sent, and stop
 *          cleanly.
 *   volume 50,000,000 messages through the runtime: 4 producers -> 2 components (two
 *          producers each, bounded channels of 4096), counted and summed per component.
 *
 * Sanitized builds (LT_TEST_SANITIZED) run a tenth of the components and a fiftieth of the
 * messages; LT_STRESS_SCALE (a factor such as 0.1) scales both further.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <looptrace/rt/rt.h>

#include "lt_test.h"

#define CHANS_PER_COMP 10
#define SENDERS        4
#define ROUTES         200

static double scale = 1.0;

static long scaled(long n, long min)
{
	long v = (long)((double)n * scale);

	return v < min ? min : v;
}

/* ---- many components and channels -------------------------------------------------------- */

struct node {
	struct lt_comp *comp;
	struct lt_chan *chans[CHANS_PER_COMP];
	_Atomic long handled;
	_Atomic unsigned long long sum;
};

static void on_msg(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct node *n = arg;

	(void)comp;
	(void)info;
	atomic_fetch_add_explicit(&n->handled, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&n->sum, (uintptr_t)msg, memory_order_relaxed);
}

struct route_count {
	_Atomic long msgs;
	_Atomic long closed;
};

static void on_route(struct lt_route *route, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct route_count *c = arg;

	(void)route;
	(void)info;
	if (msg)
		atomic_fetch_add_explicit(&c->msgs, 1, memory_order_relaxed);
	else
		atomic_fetch_add(&c->closed, 1);
}

struct many {
	struct node *nodes;
	long ncomp;
	struct lt_chan **routed;
	long per_chan;
};

struct many_sender {
	struct many *m;
	int index;
	pthread_t thread;
};

static void *many_send(void *arg)
{
	struct many_sender *s = arg;
	struct many *m = s->m;

	/* Each sender covers every channel, each with a different stride: interleaved. */
	for (long k = 0; k < m->per_chan; k++)
		for (long c = s->index; c < m->ncomp * CHANS_PER_COMP; c += SENDERS) {
			struct node *n = &m->nodes[c / CHANS_PER_COMP];

			LT_ASSERT_EQ_I(
			    lt_chan_send(n->chans[c % CHANS_PER_COMP], (void *)(uintptr_t)(c + 1)),
			    LT_OK);
		}
	for (long k = 0; k < m->per_chan; k++)
		for (long r = s->index; r < ROUTES; r += SENDERS)
			LT_ASSERT_EQ_I(lt_chan_send(m->routed[r], (void *)(uintptr_t)(r + 1)),
				       LT_OK);
	return NULL;
}

static void test_many(void)
{
	struct many m;
	struct many_sender senders[SENDERS];
	struct lt_router *router;
	struct route_count rc;
	long nchan;

	m.ncomp = scaled(1000, 10);
#ifdef LT_TEST_SANITIZED
	m.ncomp = scaled(100, 10);
#endif
	m.per_chan = 5;
	nchan = m.ncomp * CHANS_PER_COMP;
	fprintf(stderr, "   %ld components, %ld channels, %d routes, %ld messages per channel\n",
		m.ncomp, nchan, ROUTES, m.per_chan);
	m.nodes = calloc((size_t)m.ncomp, sizeof(*m.nodes));
	m.routed = calloc(ROUTES, sizeof(*m.routed));
	LT_ASSERT(m.nodes && m.routed);
	atomic_init(&rc.msgs, 0);
	atomic_init(&rc.closed, 0);
	for (long i = 0; i < m.ncomp; i++) {
		struct node *n = &m.nodes[i];
		char name[32];

		snprintf(name, sizeof(name), "node-%ld", i);
		LT_ASSERT_EQ_I(lt_comp_create(name, &n->comp), LT_OK);
		atomic_init(&n->handled, 0);
		atomic_init(&n->sum, 0);
		for (int c = 0; c < CHANS_PER_COMP; c++) {
			snprintf(name, sizeof(name), "node-%ld.%d", i, c);
			/* Alternate bounded (small: senders block) and unbounded channels. */
			LT_ASSERT_EQ_I(lt_chan_create(name, c % 2 ? 0 : 2, NULL, &n->chans[c]),
				       LT_OK);
			LT_ASSERT_EQ_I(lt_comp_add_handler(n->comp, n->chans[c], NULL, on_msg, n),
				       LT_OK);
		}
		LT_ASSERT_EQ_I(lt_comp_start(n->comp), LT_OK);
	}
	LT_ASSERT_EQ_I(lt_router_create("scale-router", &router), LT_OK);
	for (int r = 0; r < ROUTES; r++) {
		char name[32];

		snprintf(name, sizeof(name), "routed-%d", r);
		LT_ASSERT_EQ_I(lt_chan_create(name, 4, NULL, &m.routed[r]), LT_OK);
		LT_ASSERT_EQ_I(lt_router_add_chan(router, m.routed[r], 0, on_route, &rc, NULL),
			       LT_OK);
	}
	LT_ASSERT_EQ_I(lt_router_start(router), LT_OK);
	for (int i = 0; i < SENDERS; i++) {
		senders[i].m = &m;
		senders[i].index = i;
		LT_ASSERT_EQ_I(pthread_create(&senders[i].thread, NULL, many_send, &senders[i]), 0);
	}
	for (int i = 0; i < SENDERS; i++)
		pthread_join(senders[i].thread, NULL);
	for (long i = 0; i < m.ncomp; i++) {
		struct node *n = &m.nodes[i];
		unsigned long long want_sum = 0;
		size_t back = 0;

		LT_ASSERT_EQ_I(lt_comp_stop(n->comp, LT_COMP_STOP_DRAIN, NULL, NULL, &back), LT_OK);
		LT_ASSERT_EQ_U(back, 0);
		LT_ASSERT_EQ_I(atomic_load(&n->handled), CHANS_PER_COMP * m.per_chan);
		LT_ASSERT_EQ_U(lt_comp_handled(n->comp), (uint64_t)(CHANS_PER_COMP * m.per_chan));
		for (int c = 0; c < CHANS_PER_COMP; c++)
			want_sum += (unsigned long long)(i * CHANS_PER_COMP + c + 1) *
				    (unsigned long long)m.per_chan;
		LT_ASSERT_EQ_U(atomic_load(&n->sum), want_sum);
		lt_comp_destroy(n->comp);
		for (int c = 0; c < CHANS_PER_COMP; c++)
			lt_chan_destroy(n->chans[c]);
	}
	for (int r = 0; r < ROUTES; r++)
		lt_chan_close(m.routed[r]);
	for (int i = 0; i < 6000 && atomic_load(&rc.closed) < ROUTES; i++) {
		struct timespec ts = {0, 5000000};

		nanosleep(&ts, NULL);
	}
	LT_ASSERT_EQ_I(atomic_load(&rc.closed), ROUTES);
	LT_ASSERT_EQ_I(atomic_load(&rc.msgs), ROUTES * m.per_chan);
	lt_router_destroy(router);
	for (int r = 0; r < ROUTES; r++)
		lt_chan_destroy(m.routed[r]);
	free(m.routed);
	free(m.nodes);
}

/* ---- volume ------------------------------------------------------------------------------ */

struct sink {
	_Atomic long handled;
	_Atomic unsigned long long sum;
};

static void on_item(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct sink *s = arg;

	(void)comp;
	(void)info;
	/* Only the component's thread writes: plain load + store is enough, and cheap. */
	atomic_store_explicit(&s->handled,
			      atomic_load_explicit(&s->handled, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&s->sum,
			      atomic_load_explicit(&s->sum, memory_order_relaxed) + (uintptr_t)msg,
			      memory_order_relaxed);
}

struct vol_producer {
	struct lt_chan *ch;
	long n;
	uintptr_t base;
	pthread_t thread;
};

static void *vol_produce(void *arg)
{
	struct vol_producer *p = arg;

	for (long i = 0; i < p->n; i++)
		if (lt_chan_send(p->ch, (void *)(p->base + (uintptr_t)i)) != LT_OK)
			lt_test_fail(__FILE__, __LINE__, "send %ld failed", i);
	return NULL;
}

static void test_volume(void)
{
	enum { COMPS = 2, PRODUCERS = 4 };
	struct lt_chan *ch[COMPS];
	struct lt_comp *comp[COMPS];
	struct sink sinks[COMPS];
	struct vol_producer prod[PRODUCERS];
	long total = scaled(50000000, 10000);
	long per;
	struct timespec t0, t1;

#ifdef LT_TEST_SANITIZED
	total = scaled(1000000, 10000);
#endif
	per = total / PRODUCERS;
	total = per * PRODUCERS;
	fprintf(stderr, "   %ld messages: %d producers -> %d components\n", total, PRODUCERS,
		COMPS);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int c = 0; c < COMPS; c++) {
		char name[16];

		snprintf(name, sizeof(name), "sink-%d", c);
		atomic_init(&sinks[c].handled, 0);
		atomic_init(&sinks[c].sum, 0);
		LT_ASSERT_EQ_I(lt_chan_create(name, 4096, NULL, &ch[c]), LT_OK);
		LT_ASSERT_EQ_I(lt_comp_create(name, &comp[c]), LT_OK);
		LT_ASSERT_EQ_I(lt_comp_add_handler(comp[c], ch[c], NULL, on_item, &sinks[c]),
			       LT_OK);
		LT_ASSERT_EQ_I(lt_comp_start(comp[c]), LT_OK);
	}
	for (int i = 0; i < PRODUCERS; i++) {
		prod[i].ch = ch[i % COMPS];
		prod[i].n = per;
		prod[i].base = (uintptr_t)i * 1000000000u + 1;
		LT_ASSERT_EQ_I(pthread_create(&prod[i].thread, NULL, vol_produce, &prod[i]), 0);
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(prod[i].thread, NULL);
	for (int c = 0; c < COMPS; c++) {
		unsigned long long want = 0;
		size_t back = 0;

		LT_ASSERT_EQ_I(lt_comp_stop(comp[c], LT_COMP_STOP_DRAIN, NULL, NULL, &back), LT_OK);
		LT_ASSERT_EQ_U(back, 0);
		for (int i = c; i < PRODUCERS; i += COMPS)
			want += (unsigned long long)per * prod[i].base +
				(unsigned long long)per * (unsigned long long)(per - 1) / 2;
		LT_ASSERT_EQ_I(atomic_load(&sinks[c].handled), per * (PRODUCERS / COMPS));
		LT_ASSERT_EQ_U(lt_comp_handled(comp[c]), (uint64_t)(per * (PRODUCERS / COMPS)));
		LT_ASSERT_EQ_U(atomic_load(&sinks[c].sum), want);
		lt_comp_destroy(comp[c]);
		lt_chan_destroy(ch[c]);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "   %ld messages handled in %.1f s (for information only)\n", total,
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
}

int main(void)
{
	const char *s = getenv("LT_STRESS_SCALE");

	if (s && atof(s) > 0)
		scale = atof(s);
	LT_RUN(test_many);
	LT_RUN(test_volume);
	return 0;
}
