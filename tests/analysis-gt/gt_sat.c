/*
 * gt_sat.c - ground truth for a saturated runtime component at microsecond handlers.
 *
 * A producer thread sends MESSAGES messages through a bounded liblooptrace-rt channel
 * (capacity 1024) to a component "sat" whose handler spins WORK_NS ns by CLOCK_MONOTONIC. The
 * channel is filled before the component starts, and the producer sends far faster than the
 * handler works, so in the default mode the component never waits for work: each handler
 * entry sees messages still queued (the program checks it: `empties` counts handler entries
 * that found the channel empty while the producer was still sending; 0 means the loop never
 * had to wait). In `paced` mode the producer sleeps PACE_NS between sends, so the component
 * waits for each message. The program measures its handlers with its own clock (entry to
 * exit) and prints, as one JSON line: pid, component id, messages handled, mean handle time,
 * empties. `capacity N` sets the channel's capacity (default 1024): at 1 us handlers a deeper
 * channel lets the producer stay ahead across its own preemptions on a loaded machine.
 *
 * Usage: gt_sat MESSAGES WORK_NS [paced PACE_NS | capacity N]
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <looptrace/rt/chan.h>
#include <looptrace/rt/comp.h>

#define CAPACITY 1024 /* default */

struct run {
	struct lt_chan *ch; /* weak */
	uint64_t msgs;
	uint64_t work_ns;
	uint64_t pace_ns; /* 0: send as fast as the channel takes them */
	/* The producer's (its own cache line: the handler's counters below must not share a
	 * line the producer writes at every send, whose miss the handler would take after its
	 * last clock read, outside its own clock but inside its traced bounds). */
	_Alignas(64) _Atomic int producing; /* 1 until the producer's last send returned */
	_Atomic uint64_t sent;
	_Alignas(64) uint64_t handled; /* component thread only, from here */
	uint64_t handle_ns;            /* sum, by the program's clock */
	uint64_t empties;   /* handler entries that found the channel empty while producing */
	uint64_t depth_sum; /* of the channel's depth at each handler's entry */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void handle(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct run *r = arg;
	uint64_t t0 = now_ns(), t1;

	(void)comp;
	(void)msg;
	(void)info;
	size_t depth = lt_chan_depth(r->ch);

	if (depth == 0 && atomic_load(&r->producing))
		r->empties++;
	r->depth_sum += depth;
	do
		t1 = now_ns();
	while (t1 - t0 < r->work_ns);
	r->handled++;
	r->handle_ns += t1 - t0;
}

static void *produce(void *arg)
{
	struct run *r = arg;

	for (uint64_t i = 0; i < r->msgs; i++) {
		if (r->pace_ns) {
			struct timespec ts = {0, (long)r->pace_ns};

			nanosleep(&ts, NULL);
		}
		if (lt_chan_send(r->ch, (void *)(uintptr_t)(i + 1)) != LT_OK)
			break;
		atomic_fetch_add(&r->sent, 1);
	}
	atomic_store(&r->producing, 0);
	return NULL;
}

int main(int argc, char **argv)
{
	struct run r = {0};
	struct lt_comp *comp;
	pthread_t producer;
	uint64_t prefill, capacity = CAPACITY;

	if (argc != 3 &&
	    !(argc == 5 && (strcmp(argv[3], "paced") == 0 || strcmp(argv[3], "capacity") == 0))) {
		fprintf(stderr, "usage: %s MESSAGES WORK_NS [paced PACE_NS | capacity N]\n",
			argv[0]);
		return 2;
	}
	r.msgs = strtoull(argv[1], NULL, 10);
	r.work_ns = strtoull(argv[2], NULL, 10);
	if (argc == 5 && strcmp(argv[3], "paced") == 0)
		r.pace_ns = strtoull(argv[4], NULL, 10);
	else if (argc == 5)
		capacity = strtoull(argv[4], NULL, 10);
	atomic_init(&r.producing, 1);
	if (lt_chan_create("sat-inbox", (uint32_t)capacity, NULL, &r.ch) != LT_OK ||
	    lt_comp_create("sat", &comp) != LT_OK ||
	    lt_comp_add_handler(comp, r.ch, "job", handle, &r) != LT_OK) {
		fprintf(stderr, "gt_sat: cannot set up the component\n");
		return 1;
	}
	if (pthread_create(&producer, NULL, produce, &r) != 0) {
		fprintf(stderr, "gt_sat: cannot start the producer\n");
		return 1;
	}
	/* Saturated mode: the channel is full before the component starts. */
	prefill = r.pace_ns ? 0 : (r.msgs < capacity ? r.msgs : capacity);
	while (atomic_load(&r.sent) < prefill)
		sched_yield();
	if (lt_comp_start(comp) != LT_OK) {
		fprintf(stderr, "gt_sat: cannot start the component\n");
		return 1;
	}
	pthread_join(producer, NULL);
	lt_comp_stop(comp, LT_COMP_STOP_DRAIN, NULL, NULL, NULL);
	printf("{\"pid\": %ld, \"component\": %" PRIu32 ", \"messages\": %" PRIu64
	       ", \"handled\": %" PRIu64 ", \"work_ns\": %" PRIu64 ", \"handle_mean_ns\": %.1f"
	       ", \"empties\": %" PRIu64 ", \"mean_depth\": %.1f, \"capacity\": %" PRIu64 "}\n",
	       (long)getpid(), lt_comp_id(comp), r.msgs, r.handled, r.work_ns,
	       r.handled ? (double)r.handle_ns / (double)r.handled : 0.0, r.empties,
	       r.handled ? (double)r.depth_sum / (double)r.handled : 0.0, capacity);
	lt_comp_destroy(comp);
	lt_chan_destroy(r.ch);
	return r.handled == r.msgs ? 0 : 1;
}
