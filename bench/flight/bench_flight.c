/*
 * bench_flight.c - what the flight recorder's in-process checks cost per handler when armed
 * and nothing fires (bench/flight/run.sh runs it under `looptrace record --flight-recorder`
 * without and with conditions whose thresholds are never reached).
 *
 * One handler here is what a component does per message: lt_handle_begin, lt_send (the
 * depth>N check), one block (lt_block_begin/lt_block_end: the blocked>DUR check), and
 * lt_handle_end (the handler>DUR check), every event enabled and recorded. Prints
 *   figure handler_ns <ns per handler> ns
 * the median over BENCH_REPS (default 9) repetitions of N handlers (default 200000), in the
 * thread's CPU time (CLOCK_THREAD_CPUTIME_ID: not inflated by preemption).
 *
 * Usage: bench-flight [N]
 */
#define _GNU_SOURCE
#include "looptrace/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	int reps = getenv("BENCH_REPS") ? atoi(getenv("BENCH_REPS")) : 9;
	double v[64];
	uint32_t chan;
	uint64_t msg = 1;

	if (n <= 0 || reps < 1 || reps > 64) {
		fprintf(stderr, "usage: bench-flight [N] (BENCH_REPS 1..64)\n");
		return 2;
	}
	lt_component_begin("bench");
	chan = lt_channel_declare("bench", 0);
	for (int r = 0; r < reps; r++) {
		double t0 = cpu_ns();

		for (long i = 0; i < n; i++, msg++) {
			lt_handle_begin(msg, "work");
			lt_send(chan, msg, 0, (uint32_t)(i & 7));
			lt_block_begin(LT_BLOCK_CALL, NULL);
			lt_block_end();
			lt_handle_end(msg);
		}
		v[r] = (cpu_ns() - t0) / (double)n;
	}
	lt_component_end();
	qsort(v, (size_t)reps, sizeof(v[0]), cmp_double);
	printf("figure handler_ns %.1f ns\n", v[reps / 2]);
	return 0;
}
