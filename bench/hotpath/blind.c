/*
 * blind.c - what a handler's own clock does not see of the handler, on this machine: the floor
 * of issue 15's "handle-time mean against the program's own clock" for any tracer that reads
 * its bounds outside the handler (docs/event-model.md, "The program's own clock is not the
 * handler").
 *
 * An indirect call of a handler that reads CLOCK_MONOTONIC twice, as bench-hotpath's handler
 * does at its entry and exit, between an ordered record-clock read (lfence; rdtsc, as
 * liblooptrace reads a long handler's begin) and a plain one (its end): per call, the outer
 * interval less the handler's own t1 - t0. Less the outer reads' own cost (the smallest outer
 * interval around an empty indirect call, what liblooptrace takes off as the bracket), the
 * mean of the middle 80 % of that (a trimmed mean: the TSC may count in steps of several ns,
 * which a median would show; interrupts fall in the top tail) is the time a perfect tracer
 * would still count and the handler's clock does not: the call, the first half of the first
 * clock read, the second half of the last, the return. Prints one JSON line; {"blind_ns":
 * null} where there is no TSC to read.
 *
 * Usage: bench-hotpath-blind [N]   (default 200000 calls)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t t0, t1;

static __attribute__((noinline)) void timed(void)
{
	t0 = now_ns();
	t1 = now_ns();
}

static __attribute__((noinline)) void empty(void)
{
	__asm__ volatile("" ::: "memory");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
#if defined(__x86_64__) || defined(__i386__)
	long n = argc > 1 ? atol(argv[1]) : 200000;
	void (*volatile call_timed)(void) = timed, (*volatile call_empty)(void) = empty;
	double *gap, ns_per_tick, bracket_ns = 1e30, trimmed = 0;
	uint64_t w0, c0, w1, c1;

	if (n < 1 || (gap = malloc((size_t)n * sizeof(*gap))) == NULL) {
		fprintf(stderr, "usage: %s [N]\n", argv[0]);
		return 2;
	}
	/* ticks to ns over 200 ms */
	w0 = now_ns();
	c0 = __rdtsc();
	while (now_ns() - w0 < 200000000u)
		;
	w1 = now_ns();
	c1 = __rdtsc();
	ns_per_tick = (double)(w1 - w0) / (double)(c1 - c0);
	for (long i = 0; i < n; i++) {
		uint64_t a, b;

		_mm_lfence();
		a = __rdtsc();
		call_empty();
		b = __rdtsc();
		if ((double)(b - a) * ns_per_tick < bracket_ns)
			bracket_ns = (double)(b - a) * ns_per_tick;
		_mm_lfence();
		a = __rdtsc();
		call_timed();
		b = __rdtsc();
		gap[i] = (double)(b - a) * ns_per_tick - (double)(t1 - t0);
	}
	qsort(gap, (size_t)n, sizeof(*gap), cmp_double);
	for (long i = n / 10; i < n - n / 10; i++)
		trimmed += gap[i];
	trimmed /= (double)(n - 2 * (n / 10));
	printf("{\"blind_ns\": %.1f, \"outer_less_inner_ns\": %.1f, \"bracket_ns\": %.1f, "
	       "\"calls\": %ld}\n",
	       trimmed - bracket_ns, trimmed, bracket_ns, n);
	free(gap);
#else
	(void)argc;
	(void)argv;
	printf("{\"blind_ns\": null}\n");
#endif
	return 0;
}
