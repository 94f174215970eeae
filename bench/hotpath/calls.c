/*
 * calls.c - the tracing calls of one traced message, on one thread: lt__handle_next and
 * lt__handle_end_later (the receiver's: a handler switch of a saturated liblooptrace-rt
 * component) around a handler that sends the next message (lt_send, the sender's record), so
 * that the records are those of a message through the runtime: SEND and HNEXT (the previous
 * handler's end carried in it), 4 words. Thread CPU time per message, the best of REPS runs of
 * N messages. Run untraced (no probe provider loaded: the calls' disabled path) and under
 * `looptrace record` (the records), the difference is what a traced message adds to the calls
 * themselves, without the runtime, the other thread or the spin-and-park of a real producer
 * and consumer (bench/hotpath/run.sh runs both). These handlers are short: their begins are
 * read unordered (lt__now_ordered is for handlers of 512 ticks or more). Prints one JSON line.
 *
 * Usage: bench-hotpath-calls [N [REPS]]   (defaults 200000, 20)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <looptrace/trace.h>

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000, reps = argc > 2 ? atol(argv[2]) : 20;
	double best = 1e30;
	uint64_t id = 1;
	uint32_t chan;

	if (n < 1 || reps < 1) {
		fprintf(stderr, "usage: %s [N [REPS]]\n", argv[0]);
		return 2;
	}
	lt_component_begin("calls");
	chan = lt_channel_declare("calls", 1024);
	for (long r = 0; r < reps; r++) {
		uint64_t c0 = thread_cpu_ns();

		for (long i = 0; i < n; i++, id++) {
			lt__handle_next(chan, id, LT_DEPTH_UNKNOWN, "work");
			lt_send(chan, id + 1, 0, 5); /* the handler */
			lt__handle_end_later(id);
		}
		double per = (double)(thread_cpu_ns() - c0) / (double)n;

		if (per < best)
			best = per;
	}
	lt__handle_flush();
	lt_component_end();
	printf("{\"calls_ns\": %.2f, \"messages\": %ld, \"reps\": %ld, \"probes_loaded\": %d}\n",
	       best, n, reps, lt_tracing_available());
	return 0;
}
