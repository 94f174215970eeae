/*
 * pingpong.c - the program behind the stored trace pingpong-30 (not built by CMake).
 *
 * A producer component sends N messages over a 1024-slot ring, declared as channel
 * "work-queue", to a consumer component on another thread; the consumer blocks on a mutex
 * in one handler out of 8, the producer blocks (chan_send) when the ring is full. Each
 * producer handler handles a fresh "tick" message that was never sent.
 *
 * pingpong-30 was recorded with `pingpong 30` under LD_PRELOAD=liblooptrace-probes.so in a
 * per-UID session with 4 KiB sub-buffers, events `looptrace:*` and the contexts vtid, vpid
 * and procname. Larger runs of the same program serve as the sink's speed benchmark.
 */
#include <looptrace/trace.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define RING 1024
static _Atomic uint64_t ring[RING];
static _Atomic uint64_t head, tail;
static long N;
static uint32_t chan;

static void *consumer(void *arg)
{
	(void)arg;
	lt_component_begin("consumer");
	int mtx = 0;
	for (long i = 0; i < N; i++) {
		lt_wait_begin();
		uint64_t t;
		while ((t = atomic_load(&tail)) == atomic_load(&head))
			;
		uint64_t m = ring[t % RING];
		atomic_store(&tail, t + 1);
		lt_wait_end(chan, m);
		lt_recv(chan, m, (uint32_t)(atomic_load(&head) - t - 1));
		lt_handle_begin(m, "work");
		if (i % 8 == 0) {
			lt_block_begin(LT_BLOCK_MUTEX, &mtx);
			lt_block_end();
		}
		lt_handle_end(m);
	}
	lt_component_end();
	return NULL;
}

int main(int argc, char **argv)
{
	N = argc > 1 ? atol(argv[1]) : 1000000;
	chan = lt_channel_declare("work-queue", RING);
	pthread_t th;
	pthread_create(&th, NULL, consumer, NULL);
	lt_component_begin("producer");
	for (long i = 0; i < N; i++) {
		uint64_t tk = lt_message_new();
		uint64_t m = lt_message_new();
		lt_handle_begin(tk, "tick");
		uint64_t h = atomic_load(&head);
		if (h - atomic_load(&tail) >= RING) {
			lt_block_begin(LT_BLOCK_CHAN_SEND, &chan);
			while (h - atomic_load(&tail) >= RING)
				;
			lt_block_end();
		}
		ring[h % RING] = m;
		atomic_store(&head, h + 1);
		lt_send(chan, m, 0, (uint32_t)(h + 1 - atomic_load(&tail)));
		lt_handle_end(tk);
	}
	lt_component_end();
	pthread_join(th, NULL);
	return 0;
}
