/*
 * gt_qwait.c - ground truth for an interval measured across threads: how long each message
 * waited in its channel, from its send on the producer's thread to the start of its handler on
 * the component's thread, by the program's own clock (CLOCK_MONOTONIC).
 *
 * A producer sends bursts of BURST messages through a liblooptrace-rt channel to a component
 * whose handler spins HANDLE_NS, so messages queue for up to a few ms. The producer reads the
 * clock just before each send and just after it returns; the handler reads it at its entry.
 * The send's own record lies between the two producer reads, so the true queue wait of a
 * message lies between (entry - after) and (entry - before): the bracket is a few hundred ns
 * wide, or wider where the producer was preempted inside the send (the wake-up of the
 * component's thread is a likely place on a loaded machine). The program prints one JSON line:
 * {"pid", "messages", "qwait_lo_sum_ns", "qwait_hi_sum_ns", "qwait_lo_max_ns",
 * "qwait_hi_max_ns"}. Format 2.0 records take
 * their times from the TSC, mapped to the trace clock by calibration (docs/event-model.md):
 * the report's queue wait must match these within a few µs.
 *
 * Usage: gt_qwait [MESSAGES=300]
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <looptrace/rt/chan.h>
#include <looptrace/rt/comp.h>

#define BURST     6
#define HANDLE_NS 700000  /* 0.7 ms handlers */
#define PERIOD_NS 5000000 /* a burst every 5 ms */

struct run {
	struct lt_chan *ch;
	long msgs;
	uint64_t *sent_at;   /* by message index: read just before the send */
	uint64_t *sent_done; /* read just after the send returned */
	uint64_t *entered;   /* the handler's entry */
	long handled;
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
	uint64_t t = now_ns();
	long i = (long)(uintptr_t)msg - 1;

	(void)comp;
	(void)info;
	r->entered[i] = t;
	r->handled++;
	while (now_ns() - t < HANDLE_NS)
		;
}

static void *produce(void *arg)
{
	struct run *r = arg;

	for (long i = 0; i < r->msgs; i++) {
		if (i % BURST == 0 && i > 0) {
			struct timespec d = {0, PERIOD_NS};
			nanosleep(&d, NULL);
		}
		__atomic_store_n(&r->sent_at[i], now_ns(), __ATOMIC_RELEASE);
		if (lt_chan_send(r->ch, (void *)(uintptr_t)(i + 1)) != LT_OK) {
			fprintf(stderr, "gt_qwait: send failed\n");
			exit(1);
		}
		__atomic_store_n(&r->sent_done[i], now_ns(), __ATOMIC_RELEASE);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct run r = {0};
	struct lt_comp *comp;
	pthread_t producer;

	r.msgs = argc > 1 ? atol(argv[1]) : 300;
	if (r.msgs < 1)
		return 2;
	r.sent_at = calloc((size_t)r.msgs, sizeof(*r.sent_at));
	r.sent_done = calloc((size_t)r.msgs, sizeof(*r.sent_done));
	r.entered = calloc((size_t)r.msgs, sizeof(*r.entered));
	if (!r.sent_at || !r.sent_done || !r.entered ||
	    lt_chan_create("qwait", 1024, NULL, &r.ch) != LT_OK ||
	    lt_comp_create("qwait.worker", &comp) != LT_OK ||
	    lt_comp_add_handler(comp, r.ch, "job", handle, &r) != LT_OK ||
	    lt_comp_start(comp) != LT_OK) {
		fprintf(stderr, "gt_qwait: cannot set up the component\n");
		return 1;
	}
	if (pthread_create(&producer, NULL, produce, &r) != 0)
		return 1;
	pthread_join(producer, NULL);
	lt_comp_stop(comp, LT_COMP_STOP_DRAIN, NULL, NULL, NULL);
	lt_comp_destroy(comp);
	lt_chan_destroy(r.ch);
	/* the component has stopped: every store above is visible */
	uint64_t lo_sum = 0, hi_sum = 0, lo_max = 0, hi_max = 0;
	for (long i = 0; i < r.handled; i++) {
		uint64_t hi = r.entered[i] - r.sent_at[i];
		uint64_t lo = r.entered[i] > r.sent_done[i] ? r.entered[i] - r.sent_done[i] : 0;
		lo_sum += lo;
		hi_sum += hi;
		lo_max = lo > lo_max ? lo : lo_max;
		hi_max = hi > hi_max ? hi : hi_max;
	}
	printf("{\"pid\": %ld, \"messages\": %ld, \"qwait_lo_sum_ns\": %" PRIu64
	       ", \"qwait_hi_sum_ns\": %" PRIu64 ", \"qwait_lo_max_ns\": %" PRIu64
	       ", \"qwait_hi_max_ns\": %" PRIu64 "}\n",
	       (long)getpid(), r.handled, lo_sum, hi_sum, lo_max, hi_max);
	free(r.sent_at);
	free(r.sent_done);
	free(r.entered);
	return r.handled == r.msgs ? 0 : 1;
}
