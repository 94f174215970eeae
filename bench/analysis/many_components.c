/*
 * many_components.c - what the analysis core costs per component: feeds a synthetic trace of
 * N components (default 100,000; argv[1]), each on its own thread with its own channel,
 * handling M messages each (default 10; argv[2]) spread over 10 s of trace time, then writes
 * the report to /dev/null (or to the file argv[3]). Prints `figure` lines: feed and report time,
 * peak RSS, and the peak RSS per component. No LTTng, no babeltrace2: the core alone.
 *
 *   build/bench/analysis/bench-analysis-many 100000 10 [report.json]
 */
#include <looptrace/analysis.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void feed(struct lt_analysis *a, struct lt_event *ev, enum lt_ev_kind kind, int64_t ts)
{
	ev->kind = kind;
	ev->ts_ns = ts;
	if (lt_analysis_feed(a, ev) != 0) {
		fprintf(stderr, "many_components: out of memory\n");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 100000u;
	uint32_t m = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 10u;
	const int64_t t0 = 1000000000, span = 10000000000; /* 10 s of trace */
	struct lt_analysis *a = lt_analysis_create(NULL);
	struct lt_event ev = {0};
	char name[32];
	long rss0 = peak_rss_kib();
	double s0, s1, s2;
	uint64_t msg = 1;

	if (!a || n == 0)
		return 1;
	ev.vpid = 42;
	ev.procname = "many";
	s0 = now_s();
	/* Every component starts, declares its channel and waits. */
	for (uint32_t c = 0; c < n; c++) {
		ev.vtid = 1000 + c;
		ev.comp = c + 1;
		snprintf(name, sizeof(name), "comp-%u", c);
		ev.name = name;
		feed(a, &ev, LT_EV_COMPONENT_BEGIN, t0 + c);
		ev.chan = c + 1;
		ev.capacity = 64;
		snprintf(name, sizeof(name), "chan-%u", c);
		feed(a, &ev, LT_EV_CHANNEL_DECLARE, t0 + c);
		feed(a, &ev, LT_EV_WAIT_BEGIN, t0 + c);
	}
	/*
	 * Round r: component c gets message (sent by component c - 1) at t0 + r * span / m + c *
	 * step, handles it for 1-100 us.
	 */
	for (uint32_t r = 0; r < m; r++) {
		int64_t base = t0 + (int64_t)n + (int64_t)r * (span / m);
		int64_t step = span / m / n;

		for (uint32_t c = 0; c < n; c++) {
			int64_t t = base + (int64_t)c * step;
			int64_t busy = 1000 + (int64_t)((c * 7919u + r) % 100u) * 1000;

			ev.vtid = 1000 + (c + n - 1) % n; /* the sender: the previous component */
			ev.chan = c + 1;
			ev.msg = msg;
			ev.flow = 0;
			ev.depth = 1;
			feed(a, &ev, LT_EV_SEND, t);
			ev.vtid = 1000 + c;
			ev.depth = 0;
			feed(a, &ev, LT_EV_RECV, t + 100);
			feed(a, &ev, LT_EV_WAIT_END, t + 100);
			ev.name = "work";
			feed(a, &ev, LT_EV_HANDLE_BEGIN, t + 200);
			feed(a, &ev, LT_EV_HANDLE_END, t + 200 + busy);
			feed(a, &ev, LT_EV_WAIT_BEGIN, t + 200 + busy);
			msg++;
		}
	}
	s1 = now_s();
	{
		FILE *out = fopen(argc > 3 ? argv[3] : "/dev/null", "w");

		if (!out || lt_analysis_write_json(a, out) != 0)
			return 1;
		fclose(out);
	}
	s2 = now_s();
	printf("figure components %u count\n", n);
	printf("figure events %llu count\n", (unsigned long long)lt_analysis_events(a));
	printf("figure feed_time %.2f s\n", s1 - s0);
	printf("figure report_time %.2f s\n", s2 - s1);
	printf("figure peak_rss %.1f MiB\n", (double)peak_rss_kib() / 1024.0);
	printf("figure peak_rss_per_component %.2f KiB\n",
	       (double)(peak_rss_kib() - rss0) / (double)n);
	lt_analysis_destroy(a);
	return 0;
}
