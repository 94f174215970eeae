/*
 * workload.h - the three channel workloads, stamped out once per queue implementation so
 * that every implementation runs the same loops with its send/receive calls compiled in
 * directly (no function pointer between the loop and the queue).
 *
 * Before including, define:
 *   WL_PREFIX              prefix of the generated functions (an identifier)
 *   WL_NAME                the implementation's name, a string (for error messages)
 *   WL_QUEUE               the queue type (WL_QUEUE * is passed around)
 *   WL_CREATE(cap)         -> WL_QUEUE *, NULL on failure
 *   WL_DESTROY(q)
 *   WL_SEND(q, v)          blocking send of a uint64_t v (v is never 0); 0 = ok
 *   WL_RECV(q, out)        blocking receive into uint64_t *out; 0 = ok
 * It defines (static), both returning 0 on success and -1 on failure:
 *   int WL_PREFIX##_throughput(unsigned producers, uint64_t msgs, uint32_t capacity,
 *                              struct bench_result *out)   value: messages per second
 *   int WL_PREFIX##_pingpong(uint64_t trips, uint32_t capacity, struct bench_result *out)
 *                                                          value: mean round trip, ns
 * The consumer (throughput) and the pinger (ping-pong) are the calling thread; producers
 * and the echo side are threads created per measurement, as the Go program does with
 * goroutines. Thread creation is inside the timed region in both (microseconds against
 * hundreds of milliseconds). A ping-pong measurement stops early once it has run for
 * BENCH_PINGPONG_BUDGET_S (the mean is over the round trips done), so that a machine busy
 * with other work cannot stretch the run to minutes. Besides the wall-clock figure, each
 * measurement records the process CPU time (all threads, user + system) per message or round trip:
 * what spinning costs.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "bench_util.h"

#define WL_CAT2(a, b) a##_##b
#define WL_CAT(a, b)  WL_CAT2(a, b)
#define WL_FN(name)   WL_CAT(WL_PREFIX, name)

struct WL_FN(producer) {
	WL_QUEUE *q;
	uint64_t first; /* first value sent */
	uint64_t count; /* values sent: first .. first + count - 1 */
	int failed;
	pthread_t thread;
};

static void *WL_FN(produce)(void *arg)
{
	struct WL_FN(producer) *p = arg;
	for (uint64_t v = p->first; v < p->first + p->count; v++) {
		if (WL_SEND(p->q, v) != 0) {
			p->failed = 1;
			break;
		}
	}
	return NULL;
}

static int WL_FN(throughput)(unsigned producers, uint64_t msgs, uint32_t capacity,
			     struct bench_result *out)
{
	struct WL_FN(producer) prod[BENCH_MAX_PRODUCERS];
	WL_QUEUE *q = WL_CREATE(capacity);
	if (q == NULL || producers == 0 || producers > BENCH_MAX_PRODUCERS)
		return -1;
	uint64_t per = msgs / producers;
	uint64_t n = per * producers;
	double c0 = bench_cpu_s();
	double t0 = bench_now_s();
	for (unsigned i = 0; i < producers; i++) {
		prod[i] = (struct WL_FN(producer)){.q = q, .first = 1 + i * per, .count = per};
		bench_thread_create(&prod[i].thread, WL_FN(produce), &prod[i]);
	}
	uint64_t sum = 0;
	int failed = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t v;
		if (WL_RECV(q, &v) != 0) {
			failed = 1;
			break;
		}
		sum += v;
	}
	double t1 = bench_now_s();
	for (unsigned i = 0; i < producers; i++) {
		pthread_join(prod[i].thread, NULL);
		failed |= prod[i].failed;
	}
	double c1 = bench_cpu_s();
	WL_DESTROY(q);
	if (failed || sum != n * (n + 1) / 2) {
		fprintf(stderr, "bench-channel: %s throughput: %s\n", WL_NAME,
			failed ? "a send or receive failed" : "checksum mismatch (lost message)");
		return -1;
	}
	out->value = (double)n / (t1 - t0);
	out->cpu_ns_per_op = (c1 - c0) * 1e9 / (double)n;
	return 0;
}

struct WL_FN(echo) {
	WL_QUEUE *ping;
	WL_QUEUE *pong;
	int failed;
};

/* Sends back every value + 1 until it receives BENCH_STOP. */
static void *WL_FN(echo_main)(void *arg)
{
	struct WL_FN(echo) *e = arg;
	for (;;) {
		uint64_t v;
		if (WL_RECV(e->ping, &v) != 0) {
			e->failed = 1;
			break;
		}
		if (v == BENCH_STOP)
			break;
		if (WL_SEND(e->pong, v + 1) != 0) {
			e->failed = 1;
			break;
		}
	}
	return NULL;
}

static int WL_FN(pingpong)(uint64_t trips, uint32_t capacity, struct bench_result *out)
{
	struct WL_FN(echo) e = {.ping = WL_CREATE(capacity), .pong = WL_CREATE(capacity)};
	pthread_t thread;
	uint64_t warmup = trips / 100;
	uint64_t v = 1;
	double t0 = 0, c0 = 0;
	int failed = 0;
	if (e.ping == NULL || e.pong == NULL)
		return -1;
	bench_thread_create(&thread, WL_FN(echo_main), &e);
	uint64_t done = 0; /* timed round trips */
	for (uint64_t i = 0; i < warmup + trips; i++) {
		if (i == warmup) {
			c0 = bench_cpu_s();
			t0 = bench_now_s();
		}
		if (WL_SEND(e.ping, v) != 0 || WL_RECV(e.pong, &v) != 0) {
			failed = 1;
			break;
		}
		if (i >= warmup && ++done % 1024 == 0 &&
		    bench_now_s() - t0 > BENCH_PINGPONG_BUDGET_S)
			break;
	}
	double t1 = bench_now_s();
	double c1 = bench_cpu_s();
	if (WL_SEND(e.ping, BENCH_STOP) != 0)
		failed = 1;
	pthread_join(thread, NULL);
	WL_DESTROY(e.ping);
	WL_DESTROY(e.pong);
	if (failed || e.failed || done == 0 || v != 1 + warmup + done) {
		fprintf(stderr, "bench-channel: %s ping-pong: %s\n", WL_NAME,
			failed || e.failed ? "a send or receive failed" : "count mismatch");
		return -1;
	}
	out->value = (t1 - t0) * 1e9 / (double)done;
	out->cpu_ns_per_op = (c1 - c0) * 1e9 / (double)done;
	return 0;
}

#undef WL_CAT2
#undef WL_CAT
#undef WL_FN
