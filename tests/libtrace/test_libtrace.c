/*
 * test_libtrace.c - liblooptrace without probes: ids, reason names, and every call safe from
 * any thread (label `unit`; also runs under the ASan/UBSan and TSan builds).
 */
#define _GNU_SOURCE /* gettid, SIGEV_THREAD_ID */
#include "looptrace/trace.h"

#include "lt_test.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define THREADS    4
#define PER_THREAD 10000

static void test_reason_names(void)
{
	static const char *const names[LT_BLOCK_REASON_COUNT] = {
	    "chan_recv", "chan_send", "mutex", "condvar", "rwlock",
	    "sem",       "sleep",     "io",    "join",    "call",
	};

	for (int r = 0; r < LT_BLOCK_REASON_COUNT; r++)
		LT_ASSERT_STREQ(lt_block_reason_name((enum lt_block_reason)r), names[r]);
	LT_ASSERT_STREQ(lt_block_reason_name((enum lt_block_reason)LT_BLOCK_REASON_COUNT),
			"unknown");
	LT_ASSERT_STREQ(lt_block_reason_name((enum lt_block_reason) - 1), "unknown");
	LT_ASSERT_EQ_I(LT_BLOCK_CALL, 9);
}

/*
 * Component, channel and route ids start at 1; message ids start at the process's random base,
 * whose top 16 bits (its tag) are never 0, and increase by 1.
 */
static void test_ids_start_at_one_and_increase(void)
{
	uint32_t c1 = lt_channel_declare("a", 4), c2 = lt_channel_declare(NULL, 0);
	uint64_t m1 = lt_message_new(), m2 = lt_message_new();
	uint32_t r1 = lt_route_add(c1, 0), r2 = lt_route_add(0, 0);

	LT_ASSERT_EQ_U(c1, 1);
	LT_ASSERT_EQ_U(c2, 2);
	LT_ASSERT_CMP_U(m1 >> 48, !=, 0);
	LT_ASSERT_CMP_U(m1 & ((UINT64_C(1) << 48) - 1), <, UINT64_C(1) << 47);
	LT_ASSERT_EQ_U(m2, m1 + 1);
	LT_ASSERT_EQ_U(r1, 1);
	LT_ASSERT_EQ_U(r2, 2);
	lt_route_remove(r1);
	lt_route_remove(r2);
}

/* Every call, with NULL strings and odd values: none may crash without probes. */
static void test_every_call(void)
{
	uint32_t comp = lt_component_begin(NULL);
	uint64_t msg = lt_message_new();

	LT_ASSERT_CMP_U(comp, >=, 1);
	lt_wait_begin();
	lt_wait_end(0, 0);
	lt_handle_begin(msg, NULL);
	lt_block_begin(LT_BLOCK_MUTEX, &comp);
	lt_block_end();
	lt_block_begin((enum lt_block_reason)99, NULL);
	lt_block_end();
	lt_send(1, msg, 0, 1);
	lt_recv(1, msg, 0);
	lt_route_dispatch_begin(1, msg);
	lt_route_dispatch_end(1);
	lt_handle_end(msg);
	lt_component_end();
	lt_component_end(); /* twice: still safe */
	LT_ASSERT_EQ_I(lt_tracing_available(), 0);
}

struct ids {
	uint64_t msgs[PER_THREAD];
	uint32_t comp;
};

static void *alloc_ids(void *arg)
{
	struct ids *ids = arg;

	ids->comp = lt_component_begin("worker");
	for (int i = 0; i < PER_THREAD; i++) {
		ids->msgs[i] = lt_message_new();
		lt_send(1, ids->msgs[i], 0, 0);
	}
	lt_component_end();
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Ids allocated concurrently are all distinct. */
static void test_ids_unique_across_threads(void)
{
	static struct ids ids[THREADS];
	static uint64_t all[THREADS * PER_THREAD];
	pthread_t t[THREADS];

	for (int i = 0; i < THREADS; i++)
		LT_ASSERT_EQ_I(pthread_create(&t[i], NULL, alloc_ids, &ids[i]), 0);
	for (int i = 0; i < THREADS; i++)
		LT_ASSERT_EQ_I(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		memcpy(&all[i * PER_THREAD], ids[i].msgs, sizeof(ids[i].msgs));
		for (int j = i + 1; j < THREADS; j++)
			LT_ASSERT(ids[i].comp != ids[j].comp);
	}
	qsort(all, THREADS * PER_THREAD, sizeof(all[0]), cmp_u64);
	for (int i = 1; i < THREADS * PER_THREAD; i++)
		LT_ASSERT_CMP_U(all[i - 1], <, all[i]);
}

/* A reservation is a range no other allocation touches; count 0 reserves nothing. */
static void test_message_reserve(void)
{
	uint64_t before = lt_message_new();
	uint64_t first = lt_message_reserve(1000);
	uint64_t again = lt_message_reserve(1);

	LT_ASSERT_EQ_U(lt_message_reserve(0), 0);
	LT_ASSERT_CMP_U(first, >, before);
	LT_ASSERT(again >= first + 1000);
	/* lt_message_new hands out ids from blocks taken before or after the range only. */
	for (int i = 0; i < 3000; i++) {
		uint64_t id = lt_message_new();

		LT_ASSERT(id < first || id >= first + 1000);
		LT_ASSERT(id != again);
	}
}

/*
 * lt_message_new is async-signal-safe: a timer signal aimed at one thread (every 10 us, so it
 * lands anywhere in the thread's loop, the block refill included) takes ids in its handler
 * while the thread takes ids; no id is handed out twice. The thread marks its ids in a
 * bitmap (a duplicate within the thread shows there); the handler's ids are checked against
 * the bitmap and each other at the end.
 */
#define SIG_ID_LIMIT (UINT64_C(1) << 28) /* bitmap of 32 MiB */
#ifdef __SANITIZE_THREAD__
#define SIG_HANDLER_RUNS 1000 /* TSan delivers signals slowly (at its own safe points) */
#else
#define SIG_HANDLER_RUNS 20000
#endif
#define SIG_PER_HANDLER 3

static uint64_t *sig_bitmap;
static uint64_t sig_handler_ids[SIG_HANDLER_RUNS * SIG_PER_HANDLER];
static volatile sig_atomic_t sig_handler_n; /* written by the handler only */

static void sig_take_ids(int sig)
{
	(void)sig;
	for (int i = 0; i < SIG_PER_HANDLER; i++) {
		uint64_t id = lt_message_new();

		if (sig_handler_n < (sig_atomic_t)(SIG_HANDLER_RUNS * SIG_PER_HANDLER))
			sig_handler_ids[sig_handler_n++] = id;
	}
}

struct sig_worker_result {
	uint64_t taken, dup;
};

static void *sig_worker(void *arg)
{
	struct sig_worker_result *res = arg;
	struct sigevent sev;
	struct itimerspec its = {.it_interval = {0, 10000}, .it_value = {0, 10000}};
	timer_t timer;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGUSR1;
	sev._sigev_un._tid = gettid();
	LT_ASSERT_EQ_I(timer_create(CLOCK_MONOTONIC, &sev, &timer), 0);
	LT_ASSERT_EQ_I(timer_settime(timer, 0, &its, NULL), 0);
	while (sig_handler_n < (sig_atomic_t)(SIG_HANDLER_RUNS * SIG_PER_HANDLER)) {
		uint64_t id = lt_message_new();

		if (id >= SIG_ID_LIMIT)
			break;
		if (sig_bitmap[id >> 6] & (UINT64_C(1) << (id & 63)))
			res->dup++;
		sig_bitmap[id >> 6] |= UINT64_C(1) << (id & 63);
		res->taken++;
	}
	LT_ASSERT_EQ_I(timer_delete(timer), 0);
	return NULL;
}

static void test_message_new_signal_safe(void)
{
	struct sigaction sa, old;
	struct sig_worker_result res = {0, 0};
	pthread_t worker;
	size_t n, clash = 0;

	sig_bitmap = calloc(SIG_ID_LIMIT / 64, sizeof(*sig_bitmap));
	LT_ASSERT(sig_bitmap != NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sig_take_ids;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	LT_ASSERT_EQ_I(sigaction(SIGUSR1, &sa, &old), 0);
	sig_handler_n = 0;
	LT_ASSERT_EQ_I(pthread_create(&worker, NULL, sig_worker, &res), 0);
	LT_ASSERT_EQ_I(pthread_join(worker, NULL), 0);
	LT_ASSERT_EQ_I(sigaction(SIGUSR1, &old, NULL), 0);
	n = (size_t)sig_handler_n;
	for (size_t i = 0; i < n; i++) {
		uint64_t id = sig_handler_ids[i];

		if (id < SIG_ID_LIMIT && (sig_bitmap[id >> 6] & (UINT64_C(1) << (id & 63))))
			clash++;
	}
	fprintf(stderr, "   %zu ids taken in handlers, %llu by the thread\n", n,
		(unsigned long long)res.taken);
	LT_ASSERT(n > 0);
	LT_ASSERT_EQ_U(res.dup, 0);
	LT_ASSERT_EQ_U(clash, 0);
	qsort(sig_handler_ids, n, sizeof(sig_handler_ids[0]), cmp_u64);
	for (size_t i = 1; i < n; i++)
		LT_ASSERT_CMP_U(sig_handler_ids[i - 1], <, sig_handler_ids[i]);
	free(sig_bitmap);
}

/*
 * Message ids across processes: a fork child shares its parent's counters (the same tag, ids
 * apart); a program started afresh (exec) draws its own base, so its ids are not the
 * parent's. Each child writes the ids it took to a pipe.
 */
static void child_ids(int exec_self, uint64_t out[2])
{
	int fd[2];

	LT_ASSERT_EQ_I(pipe(fd), 0);
	pid_t pid = fork();
	LT_ASSERT(pid >= 0);
	if (pid == 0) {
		close(fd[0]);
		if (exec_self) {
			char arg[16];

			snprintf(arg, sizeof(arg), "--ids=%d", fd[1]);
			execl("/proc/self/exe", "test_libtrace", arg, (char *)NULL);
			_exit(2);
		}
		uint64_t ids[2] = {lt_message_new(), lt_message_new()};
		_exit(write(fd[1], ids, sizeof(ids)) == (ssize_t)sizeof(ids) ? 0 : 1);
	}
	close(fd[1]);
	LT_ASSERT_EQ_I((int)read(fd[0], out, 2 * sizeof(uint64_t)), (int)(2 * sizeof(uint64_t)));
	close(fd[0]);
	int status = 0;
	LT_ASSERT_EQ_I((int)waitpid(pid, &status, 0), (int)pid);
	LT_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_ids_across_processes(void)
{
	uint64_t mine = lt_message_new(), forked[2], execed[2];

	child_ids(0, forked);
	child_ids(1, execed);
	uint64_t after = lt_message_new();
	/* fork: one counter for the family */
	LT_ASSERT_EQ_U(forked[0] >> 48, mine >> 48);
	LT_ASSERT(forked[0] != mine && forked[1] != mine && forked[0] != after &&
		  forked[1] != after);
	LT_ASSERT_EQ_U(forked[1], forked[0] + 1);
	/* exec: a base of its own (equal tags and overlapping ranges: odds ~2^-60) */
	LT_ASSERT_CMP_U(execed[0] >> 48, !=, 0);
	LT_ASSERT((execed[0] >> 48) != (mine >> 48) ||
		  (execed[0] > mine ? execed[0] - mine : mine - execed[0]) > 1000000);
}

/*
 * The end of the process's id space: a reservation that does not fit is refused without
 * taking ids (later ids keep the tag), a thread's block is cut short at the end, and then
 * lt_message_new returns 0 -- never an id with another tag. Uses the ids up: the last test.
 */
static void test_message_ids_end(void)
{
	const uint64_t low = (UINT64_C(1) << 48) - 1;
	uint64_t tag = lt_message_new() >> 48, r, left, id = 1;
	int refused = 0, taken = 0;

	for (int i = 0; i < 8 && !refused; i++)
		refused = lt_message_reserve(UINT64_C(1) << 46) == 0;
	LT_ASSERT(refused);
	r = lt_message_reserve(1);
	LT_ASSERT_EQ_U(r >> 48, tag);
	left = low - (r & low) - 1; /* ids after r */
	LT_ASSERT_CMP_U(left, <, UINT64_C(1) << 46);
	LT_ASSERT_EQ_U(lt_message_reserve(left + 1), 0);
	LT_ASSERT_EQ_U(lt_message_reserve(left - 100), r + 1);
	/* 100 ids left in the counter, at most 255 in this thread's block. */
	for (int i = 0; i < 1000 && id != 0; i++) {
		id = lt_message_new();
		if (id != 0) {
			LT_ASSERT_EQ_U(id >> 48, tag);
			taken++;
		}
	}
	LT_ASSERT_EQ_U(id, 0);
	LT_ASSERT_CMP_I(taken, >=, 100);
	LT_ASSERT_EQ_U(lt_message_reserve(1), 0);
	LT_ASSERT_EQ_U(lt_message_new(), 0);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strncmp(argv[1], "--ids=", 6) == 0) { /* child_ids after exec */
		uint64_t ids[2] = {lt_message_new(), lt_message_new()};
		return write(atoi(argv[1] + 6), ids, sizeof(ids)) == (ssize_t)sizeof(ids) ? 0 : 1;
	}
	/* Order matters: the first test checks that the counters start at 1. */
	LT_RUN(test_ids_start_at_one_and_increase);
	LT_RUN(test_reason_names);
	LT_RUN(test_every_call);
	LT_RUN(test_ids_unique_across_threads);
	LT_RUN(test_message_reserve);
	LT_RUN(test_message_new_signal_safe);
	LT_RUN(test_ids_across_processes);
	LT_RUN(test_message_ids_end);
	return 0;
}
