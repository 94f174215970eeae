/*
 * many_rec.c - bench-analysis-many-rec: a program to record with `looptrace record`, for what
 * `looptrace report` (babeltrace2 + the looptrace sink + the analysis core, then the Python
 * CLI) costs per component on a real trace.
 *
 *   bench-analysis-many-rec [N [M [EVENTS_PER_S]]]
 *
 * One thread runs N components (default 100,000) one after the other; each declares its own
 * channel (capacity 64), waits, and handles M messages (default 10) it sends itself: per
 * message send, recv, wait_end, handle_begin, handle_end, wait_begin, as the core-only
 * bench-analysis-many feeds (many_components.c), but the components live one after the other,
 * so each spans one or two series intervals. 4 + 6 M events per component.
 *
 * EVENTS_PER_S (default 1.5e6; 0 = unpaced) paces the thread so that the session's consumer
 * daemon keeps up and no event is lost. Prints one JSON line at the end: {"pid", "components",
 * "messages", "events", "seconds"}. bench/analysis/many_rec.sh records and measures it.
 */
#include <looptrace/trace.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 100000u;
	uint32_t m = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 10u;
	double rate = argc > 3 ? strtod(argv[3], NULL) : 1.5e6;
	const uint64_t per_comp = 4 + 6 * (uint64_t)m;
	char name[32];
	double start;

	if (n == 0 || rate < 0) {
		fprintf(stderr, "usage: bench-analysis-many-rec [N [M [EVENTS_PER_S]]]\n");
		return 2;
	}
	start = now_s();
	for (uint32_t c = 0; c < n; c++) {
		uint32_t chan;

		snprintf(name, sizeof(name), "comp-%u", c);
		lt_component_begin(name);
		snprintf(name, sizeof(name), "chan-%u", c);
		chan = lt_channel_declare(name, 64);
		lt_wait_begin();
		for (uint32_t r = 0; r < m; r++) {
			uint64_t msg = lt_message_new();

			lt_send(chan, msg, 0, 1);
			lt_recv(chan, msg, 0);
			lt_wait_end(chan, msg);
			lt_handle_begin(msg, "work");
			lt_handle_end(msg);
			lt_wait_begin();
		}
		lt_component_end();
		if (rate > 0 && c % 256 == 255) {
			double ahead =
			    (double)(c + 1) * (double)per_comp / rate - (now_s() - start);

			if (ahead > 0) {
				struct timespec ts = {
				    (time_t)ahead, (long)((ahead - (double)(time_t)ahead) * 1e9)};
				nanosleep(&ts, NULL);
			}
		}
	}
	printf("{\"pid\": %ld, \"components\": %u, \"messages\": %llu, \"events\": %llu, "
	       "\"seconds\": %.3f}\n",
	       (long)getpid(), n, (unsigned long long)n * m, (unsigned long long)n * per_comp,
	       now_s() - start);
	return 0;
}
