/*
 * bench_util.h - small helpers shared by the channel benchmark's workloads.
 */
#ifndef LT_BENCH_UTIL_H
#define LT_BENCH_UTIL_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#define BENCH_MAX_PRODUCERS     8
#define BENCH_STOP              UINT64_MAX /* value that ends the ping-pong echo thread */
#define BENCH_PINGPONG_BUDGET_S 3.0        /* s: a ping-pong measurement stops after this */

/* bench_now_s - CLOCK_MONOTONIC in seconds. */
static inline double bench_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* What one measurement gives. */
struct bench_result {
	double value;         /* msg/s (throughput) or ns per round trip (ping-pong) */
	double cpu_ns_per_op; /* process CPU time, all threads, per message / round trip */
};

/* bench_cpu_s - CPU time (user + system) of the whole process so far, in seconds. */
static inline double bench_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* bench_thread_create - pthread_create, exiting the program when it fails. */
static inline void bench_thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
	if (pthread_create(t, NULL, fn, arg) != 0) {
		fprintf(stderr, "bench-channel: pthread_create failed\n");
		exit(1);
	}
}

#endif /* LT_BENCH_UTIL_H */
