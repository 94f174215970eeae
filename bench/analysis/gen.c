/*
 * gen.c - bench-analysis-gen: writes a large, loss-free looptrace trace for the analysis
 * benchmark (bench/analysis/run.sh records it with `looptrace record`).
 *
 *   bench-analysis-gen MESSAGES [EVENTS_PER_S]
 *
 * A "source" component sends MESSAGES messages, alternately to two "worker" components, each
 * over its own bounded channel (a lock-free ring of 256 slots); every message starts its own
 * flow. Per message the source traces handle_begin/handle_end of a fresh "tick" around the
 * send, and the worker wait_begin, wait_end, recv, handle_begin, handle_end, with a mutex
 * block (block_begin/block_end) in one handler out of 8 and a blocked send whenever a ring
 * is full: about 8.25 events per message, every kind the analysis handles on its hot path.
 *
 * EVENTS_PER_S (default 1.5e6; 0 = unpaced) paces the source so that the session's consumer
 * daemon keeps up and no event is lost. At the end it prints one JSON line with its own
 * counts: {"pid", "messages", "handled", "blocks", "send_blocks", "events"} (`events`: the
 * looptrace events it emitted, component and channel declarations included).
 */
#include <looptrace/trace.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define RING           256
#define WORKERS        2
#define EVENTS_PER_MSG 8.25

struct worker {
	const char *name;
	uint32_t chan;
	_Atomic uint64_t slots[RING];
	_Atomic uint64_t head, tail; /* head: next slot the source writes; tail: next to read */
	uint64_t count;              /* messages for this worker */
	uint64_t handled, blocks;    /* its own counts */
	pthread_t thread;
	char pad[64];
};

static struct worker workers[WORKERS];

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int mutex = 0; /* the address blocks name */

	lt_component_begin(w->name);
	for (uint64_t i = 0; i < w->count; i++) {
		uint64_t t = atomic_load_explicit(&w->tail, memory_order_relaxed), m;

		lt_wait_begin();
		while (atomic_load_explicit(&w->head, memory_order_acquire) == t)
			sched_yield();
		m = atomic_load_explicit(&w->slots[t % RING], memory_order_relaxed);
		atomic_store_explicit(&w->tail, t + 1, memory_order_release);
		lt_wait_end(w->chan, m);
		lt_recv(w->chan, m,
			(uint32_t)(atomic_load_explicit(&w->head, memory_order_relaxed) - t - 1));
		lt_handle_begin(m, "work");
		if (i % 8 == 0) {
			lt_block_begin(LT_BLOCK_MUTEX, &mutex);
			w->blocks++;
			lt_block_end();
		}
		lt_handle_end(m);
		w->handled++;
	}
	lt_component_end();
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: bench-analysis-gen MESSAGES [EVENTS_PER_S]\n");
		return 2;
	}
	uint64_t n = strtoull(argv[1], NULL, 0);
	double rate = argc > 2 ? strtod(argv[2], NULL) : 1.5e6;
	uint64_t send_blocks = 0;
	static const char *const names[WORKERS] = {"worker-0", "worker-1"};
	static const char *const chans[WORKERS] = {"worker-0.inbox", "worker-1.inbox"};

	if (n == 0 || rate < 0) {
		fprintf(stderr, "bench-analysis-gen: bad MESSAGES or EVENTS_PER_S\n");
		return 2;
	}
	for (int k = 0; k < WORKERS; k++) {
		struct worker *w = &workers[k];
		w->name = names[k];
		w->chan = lt_channel_declare_object(chans[k], RING, w);
		w->count = n / WORKERS + ((uint64_t)k < n % WORKERS);
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			perror("pthread_create");
			return 1;
		}
	}
	lt_component_begin("source");
	double start = now_s();
	for (uint64_t i = 0; i < n; i++) {
		struct worker *w = &workers[i % WORKERS];
		uint64_t tick = lt_message_new(), m = lt_message_new();
		uint64_t h = atomic_load_explicit(&w->head, memory_order_relaxed);

		lt_handle_begin(tick, "tick");
		if (h - atomic_load_explicit(&w->tail, memory_order_acquire) >= RING) {
			lt_block_begin(LT_BLOCK_CHAN_SEND, w);
			while (h - atomic_load_explicit(&w->tail, memory_order_acquire) >= RING)
				sched_yield();
			lt_block_end();
			send_blocks++;
		}
		atomic_store_explicit(&w->slots[h % RING], m, memory_order_relaxed);
		atomic_store_explicit(&w->head, h + 1, memory_order_release);
		lt_send(w->chan, m, 0,
			(uint32_t)(h + 1 - atomic_load_explicit(&w->tail, memory_order_relaxed)));
		lt_handle_end(tick);
		if (rate > 0 && i % 1024 == 1023) {
			double ahead = (double)(i + 1) * EVENTS_PER_MSG / rate - (now_s() - start);
			if (ahead > 0) {
				struct timespec ts = {
				    (time_t)ahead, (long)((ahead - (double)(time_t)ahead) * 1e9)};
				nanosleep(&ts, NULL);
			}
		}
	}
	lt_component_end();
	uint64_t handled = 0, blocks = 0;
	for (int k = 0; k < WORKERS; k++) {
		pthread_join(workers[k].thread, NULL);
		handled += workers[k].handled;
		blocks += workers[k].blocks;
	}
	/* declarations and begin/end of 3 components; 3 per source message (+2 per blocked
	 * send); 5 per worker message (+2 per block) */
	uint64_t events =
	    WORKERS + 2 * (WORKERS + 1) + 3 * n + 2 * send_blocks + 5 * handled + 2 * blocks;
	printf("{\"pid\": %ld, \"messages\": %llu, \"handled\": %llu, \"blocks\": %llu, "
	       "\"send_blocks\": %llu, \"events\": %llu, \"seconds\": %.3f}\n",
	       (long)getpid(), (unsigned long long)n, (unsigned long long)handled,
	       (unsigned long long)blocks, (unsigned long long)send_blocks,
	       (unsigned long long)events, now_s() - start);
	return handled == n ? 0 : 1;
}
