/*
 * ip_loop.c - an unmodified event loop for the interposer's loop-top test (no looptrace
 * header): thread "looper" waits in epoll_wait on an eventfd that thread "feeder" writes to;
 * each event's handler takes a mutex that thread "holder" keeps busy part of the time, sleeps
 * and burns CPU. The looper measures its own time with CLOCK_MONOTONIC around its calls:
 *   idle     time inside epoll_wait (the loop top)
 *   blocked  time inside pthread_mutex_lock and nanosleep within an iteration
 *   busy     the rest of each iteration (from epoll_wait's return to its next call, and from
 *            the last return to the thread's end)
 * and reads its own CPU time at its end from /proc/self/task/TID/stat (utime + stime, each
 * truncated to 10 ms ticks: about 0.5 s of CPU keeps that under 4 %) and from
 * /proc/self/task/TID/schedstat (the scheduler's run time, in ns; -1 when absent).
 * Output (stdout): one line
 *   loop TID idle_ns busy_ns blocked_ns mutex_ns sleep_ns iterations cpu_proc_ns cpu_sched_ns
 * Usage: ip_loop [EVENTS]   (default 100)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FEED_GAP_NS 20000000 /* between two events */
#define HOLD_NS     3000000  /* the holder keeps the mutex this long ... */
#define HOLD_GAP_NS 2000000  /* ... then leaves it this long */
#define SLEEP_NS    2000000  /* the handler's sleep */
#define BURN_CPU_NS 5000000  /* the handler's CPU work */
#define STOP_VALUE  1000000  /* eventfd value that ends the loop */

static int efd;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int stopping;
static int events = 100;

static int64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void nap(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static volatile uint64_t sink;

static void burn_cpu(int64_t ns)
{
	int64_t end = now_ns(CLOCK_THREAD_CPUTIME_ID) + ns;
	while (now_ns(CLOCK_THREAD_CPUTIME_ID) < end)
		for (int i = 0; i < 1000; i++)
			sink += (uint64_t)i * 2654435761u;
}

static void *feeder(void *arg)
{
	(void)arg;
	for (int i = 0; i < events; i++) {
		uint64_t one = 1;
		nap(FEED_GAP_NS);
		if (write(efd, &one, sizeof one) != sizeof one)
			abort();
	}
	nap(FEED_GAP_NS);
	uint64_t stop = STOP_VALUE;
	if (write(efd, &stop, sizeof stop) != sizeof stop)
		abort();
	return NULL;
}

static void *holder(void *arg)
{
	(void)arg;
	while (!stopping) {
		pthread_mutex_lock(&lock);
		nap(HOLD_NS);
		pthread_mutex_unlock(&lock);
		nap(HOLD_GAP_NS);
	}
	return NULL;
}

/* proc_cpu_ns - this thread's utime + stime from /proc (ns). */
static int64_t proc_cpu_ns(void)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/self/task/%ld/stat", (long)syscall(SYS_gettid));
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the name may hold spaces */
	if (!p)
		return -1;
	unsigned long utime = 0, stime = 0;
	/* after ")": state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
	 * cmajflt utime(14) stime(15) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) !=
	    2)
		return -1;
	return (int64_t)(utime + stime) * (1000000000 / sysconf(_SC_CLK_TCK));
}

/* sched_cpu_ns - this thread's run time from /proc/self/task/TID/schedstat (ns), or -1. */
static int64_t sched_cpu_ns(void)
{
	char path[64];
	long long ns = -1;
	snprintf(path, sizeof path, "/proc/self/task/%ld/schedstat", (long)syscall(SYS_gettid));
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &ns) != 1)
		ns = -1;
	fclose(f);
	return ns;
}

/* looper_wait - the loop top: one epoll_wait (not inlined, no tail call: its own call site). */
static __attribute__((noinline)) int looper_wait(int ep, struct epoll_event *ev)
{
	int n = epoll_wait(ep, ev, 1, 5000);
	__asm__ volatile("" ::: "memory");
	return n;
}

/* looper_nap - the handler's sleep (not inlined: its own function, for --loop-top tests). */
static __attribute__((noinline)) void looper_nap(int64_t ns)
{
	nap(ns);
}

static void *looper(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "looper");
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = efd};
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) != 0)
		abort();
	int64_t idle = 0, busy = 0, mutex_ns = 0, sleep_ns = 0, iterations = 0;
	int64_t iter_start = -1;
	for (;;) {
		int64_t t0 = now_ns(CLOCK_MONOTONIC);
		if (iter_start >= 0) {
			busy += t0 - iter_start;
			iterations++;
		}
		int n = looper_wait(ep, &ev);
		int64_t t1 = now_ns(CLOCK_MONOTONIC);
		idle += t1 - t0;
		iter_start = t1;
		if (n < 0 && errno == EINTR)
			continue;
		if (n != 1)
			abort();
		uint64_t v;
		if (read(efd, &v, sizeof v) != sizeof v)
			abort();
		if (v >= STOP_VALUE)
			break;
		int64_t a = now_ns(CLOCK_MONOTONIC);
		pthread_mutex_lock(&lock);
		int64_t b = now_ns(CLOCK_MONOTONIC);
		burn_cpu(BURN_CPU_NS / 2);
		pthread_mutex_unlock(&lock);
		int64_t c = now_ns(CLOCK_MONOTONIC);
		looper_nap(SLEEP_NS);
		int64_t d = now_ns(CLOCK_MONOTONIC);
		burn_cpu(BURN_CPU_NS / 2);
		mutex_ns += b - a;
		sleep_ns += d - c;
	}
	stopping = 1;
	int64_t cpu = proc_cpu_ns(), sched = sched_cpu_ns();
	int64_t end = now_ns(CLOCK_MONOTONIC);
	busy += end - iter_start;
	busy -= mutex_ns + sleep_ns;
	printf("loop %ld %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64
	       " %" PRId64 " %" PRId64 "\n",
	       (long)syscall(SYS_gettid), idle, busy, mutex_ns + sleep_ns, mutex_ns, sleep_ns,
	       iterations, cpu, sched);
	fflush(stdout);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t f, h, l;

	if (argc > 1)
		events = atoi(argv[1]);
	efd = eventfd(0, EFD_NONBLOCK);
	if (efd < 0)
		abort();
	if (pthread_create(&l, NULL, looper, NULL) || pthread_create(&h, NULL, holder, NULL))
		abort();
	pthread_setname_np(h, "holder");
	nap(20000000); /* the loop waits before the first event */
	if (pthread_create(&f, NULL, feeder, NULL))
		abort();
	pthread_setname_np(f, "feeder");
	pthread_join(l, NULL);
	pthread_join(f, NULL);
	pthread_join(h, NULL);
	return 0;
}
