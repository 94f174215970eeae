/*
 * gt_prog.c - a component with a known time budget, for checking the analysis against ground
 * truth. It prints what it measured itself as one JSON object on stdout.
 *
 * Usage: gt_prog [MESSAGES]     accuracy run (default 100 messages)
 *        gt_prog --flood TURNS  emit events as fast as possible (lost-events tests)
 *
 * Accuracy run: a producer thread sends one message every 10 ms (lt_send) on a plain
 * mutex/condvar queue; the component "gt.worker" waits at the top of its loop
 * (lt_wait_begin/lt_wait_end), and per message runs 2 ms of CPU in its handler then blocks
 * 3 ms on a condition variable inside the handler (lt_block_begin(LT_BLOCK_CONDVAR)). The
 * program reads CLOCK_MONOTONIC right after each lt_* call, so its sums of busy, idle and
 * blocked-in-handler time are measured at the same instants as the trace's events:
 *
 *   {"component":"gt.worker","pid":P,"tid":T,"messages":M,"wall_ns":W,"busy_ns":B,
 *    "idle_ns":I,"blocked_in_handler_ns":H,"blocked_outside_ns":0,"outside_ns":O}
 *
 * busy = handler time minus the blocks inside it; wall = component_begin..component_end.
 * Flood run: "gt.flood" turns TURNS times through wait/handle with no work and prints
 * {"component":"gt.flood","messages":TURNS}.
 */
#define _GNU_SOURCE
#include "looptrace/trace.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define GT_INTERVAL_NS 10000000LL /* between two sends */
#define GT_CPU_NS      2000000LL  /* CPU per handler */
#define GT_BLOCK_NS    3000000LL  /* condvar block per handler */
#define GT_QUEUE_MAX   1024

struct gt_queue {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	uint64_t items[GT_QUEUE_MAX]; /* ring of message ids */
	unsigned head, len;
	int done; /* producer finished */
	uint32_t chan;
};

static struct gt_queue queue = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .nonempty = PTHREAD_COND_INITIALIZER,
};

static long messages_wanted = 100;

static int64_t now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct timespec ts_of(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
	return ts;
}

/* Spin until this thread has used `ns` more nanoseconds of CPU. */
static void burn_cpu(int64_t ns)
{
	int64_t end = now_ns(CLOCK_THREAD_CPUTIME_ID) + ns;
	volatile uint64_t x = 0;
	while (now_ns(CLOCK_THREAD_CPUTIME_ID) < end)
		for (int i = 0; i < 1000; i++)
			x += (uint64_t)i;
}

static void *producer(void *arg)
{
	(void)arg;
	int64_t next = now_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < messages_wanted; i++) {
		next += GT_INTERVAL_NS;
		struct timespec ts = ts_of(next);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		uint64_t msg = lt_message_new();
		pthread_mutex_lock(&queue.lock);
		if (queue.len == GT_QUEUE_MAX) {
			pthread_mutex_unlock(&queue.lock);
			fprintf(stderr, "gt_prog: queue overflow\n");
			exit(1);
		}
		queue.items[(queue.head + queue.len) % GT_QUEUE_MAX] = msg;
		queue.len++;
		lt_send(queue.chan, msg, 0, queue.len);
		pthread_cond_signal(&queue.nonempty);
		pthread_mutex_unlock(&queue.lock);
	}
	pthread_mutex_lock(&queue.lock);
	queue.done = 1;
	pthread_cond_signal(&queue.nonempty);
	pthread_mutex_unlock(&queue.lock);
	return NULL;
}

static pthread_mutex_t block_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t block_cond; /* never signalled; CLOCK_MONOTONIC deadlines */

/* Block on a condition variable nobody signals for `ns`, inside the handler. */
static void block_in_handler(int64_t ns, int64_t *blocked)
{
	pthread_mutex_t *m = &block_lock;
	pthread_cond_t *cond = &block_cond;

	pthread_mutex_lock(m);
	lt_block_begin(LT_BLOCK_CONDVAR, cond);
	int64_t t0 = now_ns(CLOCK_MONOTONIC);
	struct timespec deadline = ts_of(t0 + ns);
	while (now_ns(CLOCK_MONOTONIC) < t0 + ns)
		(void)pthread_cond_timedwait(cond, m, &deadline);
	lt_block_end();
	int64_t t1 = now_ns(CLOCK_MONOTONIC);
	pthread_mutex_unlock(m);
	*blocked += t1 - t0;
}

struct gt_truth {
	long messages;
	int64_t wall, busy, idle, blocked_in_handler;
	int64_t cpu; /* the worker's run time at its end (/proc schedstat, ns), -1 unknown */
	pid_t tid;
};

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

static void *worker(void *arg)
{
	struct gt_truth *truth = arg;
	truth->tid = (pid_t)syscall(SYS_gettid);
	lt_component_begin("gt.worker");
	int64_t t_begin = now_ns(CLOCK_MONOTONIC);
	int64_t handling = 0;

	for (;;) {
		lt_wait_begin();
		int64_t w0 = now_ns(CLOCK_MONOTONIC);
		pthread_mutex_lock(&queue.lock);
		while (queue.len == 0 && !queue.done)
			pthread_cond_wait(&queue.nonempty, &queue.lock);
		if (queue.len == 0) {
			pthread_mutex_unlock(&queue.lock);
			lt_wait_end(0, 0);
			truth->idle += now_ns(CLOCK_MONOTONIC) - w0;
			break;
		}
		uint64_t msg = queue.items[queue.head];
		queue.head = (queue.head + 1) % GT_QUEUE_MAX;
		queue.len--;
		lt_recv(queue.chan, msg, queue.len);
		pthread_mutex_unlock(&queue.lock);
		lt_wait_end(queue.chan, msg);
		truth->idle += now_ns(CLOCK_MONOTONIC) - w0;

		lt_handle_begin(msg, "tick");
		int64_t h0 = now_ns(CLOCK_MONOTONIC);
		burn_cpu(GT_CPU_NS);
		block_in_handler(GT_BLOCK_NS, &truth->blocked_in_handler);
		lt_handle_end(msg);
		handling += now_ns(CLOCK_MONOTONIC) - h0;
		truth->messages++;
	}
	lt_component_end();
	truth->cpu = sched_cpu_ns();
	truth->wall = now_ns(CLOCK_MONOTONIC) - t_begin;
	truth->busy = handling - truth->blocked_in_handler;
	return NULL;
}

static int run_accuracy(void)
{
	struct gt_truth truth;
	memset(&truth, 0, sizeof(truth));
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&block_cond, &attr);
	pthread_condattr_destroy(&attr);
	queue.chan = lt_channel_declare("gt.queue", 0);

	pthread_t wt, pt;
	if (pthread_create(&wt, NULL, worker, &truth) != 0 ||
	    pthread_create(&pt, NULL, producer, NULL) != 0) {
		fprintf(stderr, "gt_prog: cannot create threads\n");
		return 1;
	}
	pthread_join(pt, NULL);
	pthread_join(wt, NULL);

	int64_t outside = truth.wall - truth.busy - truth.idle - truth.blocked_in_handler;
	printf("{\"component\":\"gt.worker\",\"pid\":%d,\"tid\":%d,\"messages\":%ld,"
	       "\"wall_ns\":%" PRId64 ",\"busy_ns\":%" PRId64 ",\"idle_ns\":%" PRId64
	       ",\"blocked_in_handler_ns\":%" PRId64 ",\"blocked_outside_ns\":0,"
	       "\"outside_ns\":%" PRId64 ",\"cpu_sched_ns\":%" PRId64 "}\n",
	       (int)getpid(), (int)truth.tid, truth.messages, truth.wall, truth.busy, truth.idle,
	       truth.blocked_in_handler, outside, truth.cpu);
	return 0;
}

static int run_flood(long turns)
{
	uint32_t chan = lt_channel_declare("gt.flood.in", 0);
	lt_component_begin("gt.flood");
	for (long i = 0; i < turns; i++) {
		uint64_t msg = lt_message_new();
		lt_wait_begin();
		lt_send(chan, msg, 0, 1);
		lt_recv(chan, msg, 0);
		lt_wait_end(chan, msg);
		lt_handle_begin(msg, "flood");
		lt_handle_end(msg);
	}
	lt_component_end();
	printf("{\"component\":\"gt.flood\",\"messages\":%ld}\n", turns);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--flood") == 0) {
		long turns = strtol(argv[2], NULL, 10);
		return run_flood(turns > 0 ? turns : 1);
	}
	if (argc == 2) {
		messages_wanted = strtol(argv[1], NULL, 10);
		if (messages_wanted <= 0 || messages_wanted > 100000) {
			fprintf(stderr, "usage: gt_prog [MESSAGES] | --flood TURNS\n");
			return 2;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: gt_prog [MESSAGES] | --flood TURNS\n");
		return 2;
	}
	return run_accuracy();
}
