/*
 * bench_tracepoint.c - what one lt_send costs.
 *
 * Phase 1 (probes not loaded): lt_send through liblooptrace with no provider in the process:
 * the cost of the disabled branch plus the call. Phase 2, when --dlopen LIB is given (LIB =
 * liblooptrace-probes.so) or the probes are already loaded (preloaded/linked): lt_send with
 * the event enabled by a session, and, in the same run and interleaved with it, a bare
 * lttng_ust_tracepoint(looptrace, send, ...) with the same fields issued from this file.
 * Phase 2 needs a session enabling looptrace:send (see README.md; run.sh sets one up).
 *
 * Prints `figure <name> <value> <unit>` lines:
 *   lt_send_unloaded_ns    ns per lt_send, probes not loaded (phase 1)
 *   empty_call_ns          ns per call of an empty function through a pointer (phase 1):
 *                          the floor for any out-of-line call on this machine
 *   lt_send_over_empty_call_ns  what the disabled branch adds to that call (median of
 *                          per-repetition differences)
 *   lt_send_enabled_ns     ns per lt_send, event enabled and recorded
 *   bare_tracepoint_ns     ns per bare tracepoint with the same fields
 *   enabled_vs_bare        lt_send enabled / bare tracepoint (median of per-repetition ratios)
 * Each is the median of BENCH_REPS (default 7) repetitions. Times are the thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID), so time spent descheduled on a busy machine is not counted.
 *
 * Usage: bench-tracepoint [--dlopen LIB] [--calls N] [--events N]
 */
#define _GNU_SOURCE
#define LTTNG_UST_TRACEPOINT_DEFINE
#define LTTNG_UST_TRACEPOINT_PROBE_DYNAMIC_LINKAGE
#define LTTNG_UST_TRACEPOINT_HIDDEN_DEFINITION
#include "looptrace/probes/looptrace-tp.h"
#include "looptrace/trace.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_REPS 64

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: not inflated by preemption */
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ns per lt_send over `n` calls. */
static double time_lt_send(long n)
{
	double t0 = now_ns();

	for (long i = 0; i < n; i++)
		lt_send(1, (uint64_t)i, 0, 3);
	return (now_ns() - t0) / (double)n;
}

/* An empty function reached through a pointer: the cost of a call that does nothing. */
static __attribute__((noinline)) void empty_send(uint32_t chan, uint64_t msg, uint64_t flow,
						 uint32_t depth)
{
	__asm__ volatile("" ::"r"(chan), "r"(msg), "r"(flow), "r"(depth));
}
static void (*volatile empty_send_ptr)(uint32_t, uint64_t, uint64_t, uint32_t) = empty_send;

/* ns per call of an empty function over `n` calls (the floor for any out-of-line API). */
static double time_empty_call(long n)
{
	void (*fn)(uint32_t, uint64_t, uint64_t, uint32_t) = empty_send_ptr;
	double t0 = now_ns();

	for (long i = 0; i < n; i++)
		fn(1, (uint64_t)i, 0, 3);
	return (now_ns() - t0) / (double)n;
}

/* ns per bare tracepoint with lt_send's fields over `n` calls. */
static __attribute__((noinline)) double time_bare(long n)
{
	double t0 = now_ns();

	for (long i = 0; i < n; i++)
		lttng_ust_tracepoint(looptrace, send, 1, (uint64_t)i, 0, 3);
	return (now_ns() - t0) / (double)n;
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	const char *dlopen_lib = NULL;
	long calls = 20000000; /* phase 1, per repetition */
	long events = 100000;  /* phase 2, per repetition: fits the default 4M x 8 buffers */
	int reps = 7;
	const char *env = getenv("BENCH_REPS");
	double a[MAX_REPS], b[MAX_REPS];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dlopen") && i + 1 < argc)
			dlopen_lib = argv[++i];
		else if (!strcmp(argv[i], "--calls") && i + 1 < argc)
			calls = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--events") && i + 1 < argc)
			events = strtol(argv[++i], NULL, 10);
		else {
			fprintf(
			    stderr,
			    "usage: bench-tracepoint [--dlopen LIB] [--calls N] [--events N]\n");
			return 2;
		}
	}
	if (env && atoi(env) > 0)
		reps = atoi(env) < MAX_REPS ? atoi(env) : MAX_REPS;
	if (calls < 1 || events < 1)
		return 2;

	if (!lt_tracing_available()) {
		double d[MAX_REPS];

		time_lt_send(calls / 10); /* warm up */
		for (int r = 0; r < reps; r++) {
			a[r] = time_lt_send(calls);
			b[r] = time_empty_call(calls);
			d[r] = a[r] - b[r];
		}
		printf("figure lt_send_unloaded_ns %.3f ns\n", median(a, reps));
		printf("figure empty_call_ns %.3f ns\n", median(b, reps));
		printf("figure lt_send_over_empty_call_ns %.3f ns\n", median(d, reps));
		fflush(stdout);
	}

	if (dlopen_lib && !dlopen(dlopen_lib, RTLD_NOW | RTLD_GLOBAL)) {
		fprintf(stderr, "bench-tracepoint: dlopen %s: %s\n", dlopen_lib, dlerror());
		return 1;
	}
	if (!lt_tracing_available())
		return 0;
	/* The session's enablers reach the new provider asynchronously: wait up to 5 s. */
	for (int i = 0; i < 500 && !lttng_ust_tracepoint_enabled(looptrace, send); i++)
		pause_ms(10);
	if (!lttng_ust_tracepoint_enabled(looptrace, send)) {
		fprintf(stderr, "bench-tracepoint: looptrace:send is not enabled by any session; "
				"run under `looptrace record` (see bench/tracepoint/README.md)\n");
		return 3;
	}
	time_lt_send(events / 10);
	time_bare(events / 10);
	for (int r = 0; r < reps; r++) {
		/* Alternate the order (ABBA) so neither side always runs on fuller buffers; pause
		 * so the consumer daemon drains them. */
		pause_ms(300);
		if (r % 2)
			b[r] = time_bare(events);
		else
			a[r] = time_lt_send(events);
		pause_ms(300);
		if (r % 2)
			a[r] = time_lt_send(events);
		else
			b[r] = time_bare(events);
	}
	/* The ratio is the median of the per-repetition ratios: each pair ran back to back, so
	 * a change of machine load between repetitions cancels out. */
	double ratio[MAX_REPS];
	for (int r = 0; r < reps; r++)
		ratio[r] = a[r] / b[r];
	printf("figure lt_send_enabled_ns %.1f ns\n", median(a, reps));
	printf("figure bare_tracepoint_ns %.1f ns\n", median(b, reps));
	printf("figure enabled_vs_bare %.3f x\n", median(ratio, reps));
	return 0;
}
