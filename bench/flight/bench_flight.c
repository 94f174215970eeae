/*
 * bench_flight.c - what the flight recorder's in-process checks cost per handler, armed and
 * silent (nothing fires), measured in one process so that the settings share the CPU, the
 * caches and the session.
 *
 * liblooptrace's sources (trace.c, flight.c) are compiled into this program (CMakeLists.txt),
 * so it can set the thresholds (struct lt__flight_config, flight.h) between repetitions, as
 * LOOPTRACE_FLIGHT would at load:
 *   unarmed   every threshold at its maximum (what a program gets without --on): a branch
 *             on a flag per handler and block, a compare per send
 *   depth     depth>2^32-2: the same compare, another threshold
 *   blocked   blocked>1h: handler begin/end store a flag, block begin/end read
 *             CLOCK_MONOTONIC and compare
 *   handler   handler>1h: handler begin/end read CLOCK_MONOTONIC and compare
 *   latency   latency>1h: lt_route_add reads CLOCK_MONOTONIC into the route table,
 *             lt_route_dispatch_begin reads it again, claims the slot and compares
 * A second unarmed repetition per round (`unarmed2`) gives the noise floor.
 *
 * One handler is what a component does per message: lt_handle_begin, lt_send, one block
 * (lt_block_begin/lt_block_end), one request through a route (lt_route_add, then
 * lt_route_dispatch_begin/_end and lt_route_remove, as a router would) and lt_handle_end, every
 * event enabled and recorded (run it under `looptrace record --flight-recorder`:
 * bench/flight/run.sh). Prints figure lines: the median ns per handler of each setting over ROUNDS
 * (default 15) rounds of N handlers (default 100000), settings interleaved within a round, and the
 * median of the per-round differences to `unarmed`. Time is the thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID).
 *
 * Usage: bench-flight [N [ROUNDS]]
 */
#define _GNU_SOURCE
#include "flight.h"
#include "looptrace/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_ROUNDS 101

enum { UNARMED, DEPTH, BLOCKED, HANDLER, LATENCY, UNARMED2, SETTINGS };
static const char *const names[SETTINGS] = {"unarmed", "depth",   "blocked",
					    "handler", "latency", "unarmed2"};

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

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void set(int setting)
{
	const uint64_t hour = UINT64_C(3600000000000);

	lt__flight.depth = setting == DEPTH ? UINT32_MAX - 1 : UINT32_MAX;
	lt__flight.blocked_ns = setting == BLOCKED ? hour : UINT64_MAX;
	lt__flight.handler_ns = setting == HANDLER ? hour : UINT64_MAX;
	lt__flight.latency_ns = setting == LATENCY ? hour : UINT64_MAX;
	lt__flight.latency = setting == LATENCY;
	lt__flight.armed = setting == BLOCKED || setting == HANDLER;
	lt__flight.any = setting != UNARMED && setting != UNARMED2;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	int rounds = argc > 2 ? atoi(argv[2]) : 15;
	static double v[SETTINGS][MAX_ROUNDS], d[SETTINGS][MAX_ROUNDS];
	uint32_t chan, route;
	uint64_t msg = 1;

	if (n <= 0 || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: bench-flight [N [ROUNDS (1..%d)]]\n", MAX_ROUNDS);
		return 2;
	}
	if (!lt_tracing_available())
		fprintf(stderr, "bench-flight: no probes loaded: run it under looptrace record\n");
	lt_component_begin("bench");
	chan = lt_channel_declare("bench", 0);
	for (int r = 0; r < rounds; r++) {
		for (int s = 0; s < SETTINGS; s++) {
			int setting = (s + r) % SETTINGS; /* rotate the order each round */
			double t0;

			set(setting);
			t0 = cpu_ns();
			for (long i = 0; i < n; i++, msg++) {
				lt_handle_begin(msg, "work");
				lt_send(chan, msg, 0, (uint32_t)(i & 7));
				lt_block_begin(LT_BLOCK_CALL, NULL);
				lt_block_end();
				route = lt_route_add(chan, 0);
				lt_route_dispatch_begin(route, msg);
				lt_route_dispatch_end(route);
				lt_route_remove(route);
				lt_handle_end(msg);
			}
			v[setting][r] = (cpu_ns() - t0) / (double)n;
		}
		for (int s = 0; s < SETTINGS; s++)
			d[s][r] = v[s][r] - v[UNARMED][r];
	}
	set(UNARMED);
	lt_component_end();
	for (int s = 0; s < SETTINGS; s++)
		printf("figure handler_ns_%s %.1f ns\n", names[s], median(v[s], rounds));
	for (int s = DEPTH; s < SETTINGS; s++)
		printf("figure %s_minus_unarmed %.1f ns\n", names[s], median(d[s], rounds));
	return 0;
}
