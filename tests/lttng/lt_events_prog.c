/*
 * lt_events_prog.c - calls every lt_* function a known number of times and prints, as one JSON
 * object on stdout, how many events of each kind it caused and the sums of their integer
 * fields, so a test can compare a recorded trace with the program's own counts.
 *
 * Usage: lt_events_prog [ITERATIONS]   (default 1000)
 * A main component "tester" and a thread running component "worker" each run ITERATIONS
 * loop turns: wait, handle (with a block, a send, a recv and a routed dispatch inside).
 * With LT_EVENTS_PROG_SLEEP_MS set, each turn also sleeps that long (for signal tests).
 */
#define _GNU_SOURCE
#include "looptrace/trace.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

enum ev {
	EV_COMPONENT_BEGIN,
	EV_COMPONENT_END,
	EV_CHANNEL_DECLARE,
	EV_WAIT_BEGIN,
	EV_WAIT_END,
	EV_HANDLE_BEGIN,
	EV_HANDLE_END,
	EV_BLOCK_BEGIN,
	EV_BLOCK_END,
	EV_SEND,
	EV_RECV,
	EV_ROUTE_ADD,
	EV_ROUTE_REMOVE,
	EV_ROUTE_DISPATCH_BEGIN,
	EV_ROUTE_DISPATCH_END,
	EV_POOL_DECLARE,
	EV_POOL_WORKER_BEGIN,
	EV_POOL_WORKER_END,
	EV_SEQ_BEGIN,
	EV_SEQ_END,
	EV_SEQ_READY,
	EV_SEQ_RUN_BEGIN,
	EV_SEQ_RUN_END,
	EV_COUNT
};

static const char *const ev_names[EV_COUNT] = {
    "component_begin",
    "component_end",
    "channel_declare",
    "wait_begin",
    "wait_end",
    "handle_begin",
    "handle_end",
    "block_begin",
    "block_end",
    "send",
    "recv",
    "route_add",
    "route_remove",
    "route_dispatch_begin",
    "route_dispatch_end",
    "pool_declare",
    "pool_worker_begin",
    "pool_worker_end",
    "seq_begin",
    "seq_end",
    "seq_ready",
    "seq_run_begin",
    "seq_run_end",
};

/* Per-thread tallies, merged at the end. */
struct tally {
	uint64_t count[EV_COUNT];
	uint64_t sum_chan_send, sum_msg_send, sum_flow_send, sum_depth_send;
	uint64_t sum_chan_recv, sum_msg_recv, sum_depth_recv;
	uint64_t sum_msg_wait_end, sum_chan_wait_end;
	uint64_t sum_msg_handle;
	uint64_t sum_reason, sum_object;
	uint64_t sum_route_add_chan, sum_route_add_owner, sum_route_dispatch_msg;
	uint64_t sum_pool_threads, sum_seq_pool, sum_seq_flags, sum_seq_comp;
};

static long iterations = 1000;
static long sleep_ms;
static uint32_t chan_a, chan_b;
static int lock_object;

static void pause_turn(void)
{
	if (sleep_ms > 0) {
		struct timespec ts = {sleep_ms / 1000, (sleep_ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
}

static void run_component(const char *name, struct tally *t)
{
	uint32_t comp = lt_component_begin(name);
	t->count[EV_COMPONENT_BEGIN]++;

	for (long i = 0; i < iterations; i++) {
		uint64_t msg = lt_message_new();
		uint64_t reply = lt_message_new();
		uint32_t depth = (uint32_t)(i % 7);
		uint32_t route;

		lt_wait_begin();
		t->count[EV_WAIT_BEGIN]++;
		pause_turn();
		lt_wait_end(chan_a, msg);
		t->count[EV_WAIT_END]++;
		t->sum_chan_wait_end += chan_a;
		t->sum_msg_wait_end += msg;

		lt_recv(chan_a, msg, depth);
		t->count[EV_RECV]++;
		t->sum_chan_recv += chan_a;
		t->sum_msg_recv += msg;
		t->sum_depth_recv += depth;

		lt_handle_begin(msg, "ping");
		t->count[EV_HANDLE_BEGIN]++;
		t->sum_msg_handle += msg;

		enum lt_block_reason reason = (enum lt_block_reason)(i % LT_BLOCK_REASON_COUNT);
		lt_block_begin(reason, &lock_object);
		t->count[EV_BLOCK_BEGIN]++;
		t->sum_reason += (uint64_t)reason;
		t->sum_object += (uint64_t)(uintptr_t)&lock_object;
		lt_block_end();
		t->count[EV_BLOCK_END]++;

		route = lt_route_add(chan_b, comp);
		t->count[EV_ROUTE_ADD]++;
		t->sum_route_add_chan += chan_b;
		t->sum_route_add_owner += comp;

		lt_send(chan_b, reply, msg, depth + 1);
		t->count[EV_SEND]++;
		t->sum_chan_send += chan_b;
		t->sum_msg_send += reply;
		t->sum_flow_send += msg;
		t->sum_depth_send += depth + 1;

		lt_route_dispatch_begin(route, reply);
		t->count[EV_ROUTE_DISPATCH_BEGIN]++;
		t->sum_route_dispatch_msg += reply;
		lt_route_dispatch_end(route);
		t->count[EV_ROUTE_DISPATCH_END]++;
		lt_route_remove(route);
		t->count[EV_ROUTE_REMOVE]++;

		lt_handle_end(msg);
		t->count[EV_HANDLE_END]++;
	}
	/* One wake-up without a message. */
	lt_wait_begin();
	t->count[EV_WAIT_BEGIN]++;
	lt_wait_end(0, 0);
	t->count[EV_WAIT_END]++;

	lt_component_end();
	t->count[EV_COMPONENT_END]++;
}

static struct tally worker_tally;

/*
 * run_pool - a pool of 2 threads whose worker (this thread) runs sequence "seq-a" 3 times
 * (ready from this thread, as a sender would) and one spawned task "task-x" once.
 */
static void run_pool(struct tally *t)
{
	uint32_t pool = lt_pool_declare("pool-a", 2);
	uint32_t seq, task;

	t->count[EV_POOL_DECLARE]++;
	t->sum_pool_threads += 2;
	lt_pool_worker_begin(pool);
	t->count[EV_POOL_WORKER_BEGIN]++;
	seq = lt_seq_begin("seq-a", pool, 0);
	task = lt_seq_begin("task-x", pool, LT_SEQ_TASK);
	t->count[EV_SEQ_BEGIN] += 2;
	t->sum_seq_pool += 2 * (uint64_t)pool;
	t->sum_seq_flags += LT_SEQ_TASK;
	for (int i = 0; i < 4; i++) {
		uint32_t c = i < 3 ? seq : task;

		lt_seq_ready(c);
		lt_seq_run_begin(c);
		lt_seq_run_end(c);
		t->count[EV_SEQ_READY]++;
		t->count[EV_SEQ_RUN_BEGIN]++;
		t->count[EV_SEQ_RUN_END]++;
		t->sum_seq_comp += c;
	}
	lt_seq_end(task);
	lt_seq_end(seq);
	t->count[EV_SEQ_END] += 2;
	lt_pool_worker_end();
	t->count[EV_POOL_WORKER_END]++;
}

static void *worker(void *arg)
{
	(void)arg;
	run_component("worker", &worker_tally);
	return NULL;
}

int main(int argc, char **argv)
{
	struct tally t = {0};
	pthread_t thread;
	const char *env = getenv("LT_EVENTS_PROG_SLEEP_MS");

	if (argc > 1)
		iterations = strtol(argv[1], NULL, 10);
	if (env)
		sleep_ms = strtol(env, NULL, 10);

	chan_a = lt_channel_declare("chan-a", 16);
	chan_b = lt_channel_declare("chan-b", 0);
	t.count[EV_CHANNEL_DECLARE] += 2;

	if (pthread_create(&thread, NULL, worker, NULL) != 0) {
		fprintf(stderr, "lt_events_prog: pthread_create failed\n");
		return 1;
	}
	run_component("tester", &t);
	pthread_join(thread, NULL);
	run_pool(&t);

	for (int e = 0; e < EV_COUNT; e++)
		t.count[e] += worker_tally.count[e];
#define MERGE(f) t.f += worker_tally.f
	MERGE(sum_chan_send);
	MERGE(sum_msg_send);
	MERGE(sum_flow_send);
	MERGE(sum_depth_send);
	MERGE(sum_chan_recv);
	MERGE(sum_msg_recv);
	MERGE(sum_depth_recv);
	MERGE(sum_msg_wait_end);
	MERGE(sum_chan_wait_end);
	MERGE(sum_msg_handle);
	MERGE(sum_reason);
	MERGE(sum_object);
	MERGE(sum_route_add_chan);
	MERGE(sum_route_add_owner);
	MERGE(sum_route_dispatch_msg);
#undef MERGE

	printf("{\"pid\": %ld, \"tracing_available\": %d, \"counts\": {", (long)getpid(),
	       lt_tracing_available());
	for (int e = 0; e < EV_COUNT; e++)
		printf("%s\"%s\": %" PRIu64, e ? ", " : "", ev_names[e], t.count[e]);
	printf("}, \"sums\": {");
	printf("\"send.chan\": %" PRIu64 ", \"send.msg\": %" PRIu64 ", \"send.flow\": %" PRIu64
	       ", \"send.depth\": %" PRIu64,
	       t.sum_chan_send, t.sum_msg_send, t.sum_flow_send, t.sum_depth_send);
	printf(", \"recv.chan\": %" PRIu64 ", \"recv.msg\": %" PRIu64 ", \"recv.depth\": %" PRIu64,
	       t.sum_chan_recv, t.sum_msg_recv, t.sum_depth_recv);
	printf(", \"wait_end.chan\": %" PRIu64 ", \"wait_end.msg\": %" PRIu64, t.sum_chan_wait_end,
	       t.sum_msg_wait_end);
	printf(", \"handle_begin.msg\": %" PRIu64 ", \"handle_end.msg\": %" PRIu64,
	       t.sum_msg_handle, t.sum_msg_handle);
	printf(", \"block_begin.reason\": %" PRIu64 ", \"block_begin.object\": %" PRIu64,
	       t.sum_reason, t.sum_object);
	printf(", \"route_add.chan\": %" PRIu64 ", \"route_add.owner\": %" PRIu64
	       ", \"route_dispatch_begin.msg\": %" PRIu64,
	       t.sum_route_add_chan, t.sum_route_add_owner, t.sum_route_dispatch_msg);
	printf(", \"pool_declare.threads\": %" PRIu64 ", \"seq_begin.pool\": %" PRIu64
	       ", \"seq_begin.flags\": %" PRIu64 ", \"seq_ready.comp\": %" PRIu64
	       ", \"seq_run_begin.comp\": %" PRIu64 ", \"seq_run_end.comp\": %" PRIu64,
	       t.sum_pool_threads, t.sum_seq_pool, t.sum_seq_flags, t.sum_seq_comp, t.sum_seq_comp,
	       t.sum_seq_comp);
	printf(", \"channel_declare.capacity\": 16, \"channel_declare.chan\": %" PRIu32,
	       chan_a + chan_b);
	printf("}, \"object\": %" PRIu64 ", \"names\": {\"component_begin\": [\"tester\", "
	       "\"worker\"], \"channel_declare\": [\"chan-a\", \"chan-b\"], \"handle_begin\": "
	       "[\"ping\"], \"pool_declare\": [\"pool-a\"], \"seq_begin\": [\"seq-a\", "
	       "\"task-x\"]}}\n",
	       (uint64_t)(uintptr_t)&lock_object);
	return 0;
}
