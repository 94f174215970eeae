/*
 * ip_bench.c - a mutex- and condvar-heavy pthread program (no looptrace header) to measure
 * what liblooptrace-preload.so costs: run plain, preloaded without a session, and under
 * `looptrace record --interpose` (bench/interpose/run.sh).
 *
 * Two workloads, one after the other:
 *   ping-pong  two threads hand a token back and forth through one mutex and two condition
 *              variables (every hand-off is a condvar wait: a block event pair when traced)
 *   contended  N threads increment a shared counter under one mutex, with a little work
 *              outside it (lock calls that find the mutex taken become block events)
 * Prints `elapsed_ns <n>` (CLOCK_MONOTONIC, both workloads), then `lock_ns <x>`: one
 * uncontended pthread_mutex_lock + unlock pair on one thread (the wrapper's fixed cost; not in
 * elapsed_ns), and `checksum <n>`.
 * Usage: ip_bench [round_trips [lock_iterations [threads]]]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long round_trips = 20000, lock_iters = 200000;
static int nthreads = 2;

static pthread_mutex_t pp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pp_cond[2] = {PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER};
static int pp_turn;

static pthread_mutex_t hot = PTHREAD_MUTEX_INITIALIZER;
static volatile uint64_t counter;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *pinger(void *arg)
{
	int me = (int)(intptr_t)arg;
	pthread_mutex_lock(&pp_lock);
	for (long i = 0; i < round_trips; i++) {
		while (pp_turn != me)
			pthread_cond_wait(&pp_cond[me], &pp_lock);
		pp_turn = !me;
		pthread_cond_signal(&pp_cond[!me]);
	}
	pthread_mutex_unlock(&pp_lock);
	return NULL;
}

static void *hammer(void *arg)
{
	unsigned x = (unsigned)(uintptr_t)arg;
	for (long i = 0; i < lock_iters; i++) {
		pthread_mutex_lock(&hot);
		counter++;
		pthread_mutex_unlock(&hot);
		for (int k = 0; k < 50; k++) /* work outside the lock */
			x = x * 1103515245u + 12345u;
	}
	return (void *)(uintptr_t)(x & 1);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		round_trips = atol(argv[1]);
	if (argc > 2)
		lock_iters = atol(argv[2]);
	if (argc > 3)
		nthreads = atoi(argv[3]);
	if (round_trips < 1 || lock_iters < 1 || nthreads < 1 || nthreads > 64) {
		fprintf(stderr, "usage: ip_bench [round_trips [lock_iterations [threads]]]\n");
		return 2;
	}
	uint64_t t0 = now_ns();
	pthread_t t[64];
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, pinger, (void *)(intptr_t)i) != 0)
			return 1;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&t[i], NULL, hammer, (void *)(uintptr_t)(i + 1)) != 0)
			return 1;
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	uint64_t t1 = now_ns();
	printf("elapsed_ns %llu\n", (unsigned long long)(t1 - t0));
	pthread_mutex_t solo = PTHREAD_MUTEX_INITIALIZER;
	const long solo_n = 2000000;
	uint64_t t2 = now_ns();
	for (long i = 0; i < solo_n; i++) {
		pthread_mutex_lock(&solo);
		pthread_mutex_unlock(&solo);
	}
	printf("lock_ns %.2f\n", (double)(now_ns() - t2) / (double)solo_n);
	printf("checksum %llu\n", (unsigned long long)counter);
	return counter == (uint64_t)lock_iters * (uint64_t)nthreads ? 0 : 1;
}
