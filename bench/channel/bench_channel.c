/*
 * bench_channel.c - channel benchmark of looptrace's runtime (liblooptrace-rt) against a
 * plain mutex + condvar bounded queue, using the same workloads as the Go program in go/:
 *
 *   spsc_throughput  1 producer thread -> 1 consumer, capacity 1024, msg/s
 *   mpsc_throughput  2 producer threads -> 1 consumer, capacity 1024, msg/s
 *   pingpong_rtt     one message bounced between two threads over two channels, ns/round trip
 *
 * Usage: bench-channel [--impl rt|condvar|all] [--workload spsc|mpsc|pingpong|all]
 *                      [--msgs N] [--trips N] [--condvar-msgs N] [--condvar-trips N]
 *                      [--reps N]
 * Prints `sample <impl>_<workload> <value> <unit>` per repetition, and the process CPU time
 * spent per message or round trip as `sample <impl>_<spsc|mpsc|pingpong>_cpu <ns> cpu-ns/..`;
 * bench/channel/run.sh turns samples from several runs into figures. The runtime is measured as
 * shipped: liblooptrace is linked (instrumentation compiled in), no probe provider is loaded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "condvar_queue.h"

#define CAPACITY 1024

/* --- the mutex + condvar queue --- */
#define WL_PREFIX       cv
#define WL_NAME         "condvar"
#define WL_QUEUE        struct cq
#define WL_CREATE(cap)  cq_create(cap)
#define WL_DESTROY(q)   cq_destroy(q)
#define WL_SEND(q, v)   (cq_send((q), (v)), 0)
#define WL_RECV(q, out) (*(out) = cq_recv(q), 0)
#include "workload.h"
#undef WL_PREFIX
#undef WL_NAME
#undef WL_QUEUE
#undef WL_CREATE
#undef WL_DESTROY
#undef WL_SEND
#undef WL_RECV

#ifdef BENCH_HAVE_RT
#include <looptrace/trace.h>

#include "rt_adapter.h"
#define WL_PREFIX       rt
#define WL_NAME         "rt"
#define WL_QUEUE        RT_QUEUE
#define WL_CREATE(cap)  rt_queue_create(cap)
#define WL_DESTROY(q)   rt_queue_destroy(q)
#define WL_SEND(q, v)   rt_queue_send((q), (v))
#define WL_RECV(q, out) rt_queue_recv((q), (out))
#include "workload.h"
#undef WL_PREFIX
#undef WL_NAME
#undef WL_QUEUE
#undef WL_CREATE
#undef WL_DESTROY
#undef WL_SEND
#undef WL_RECV
#endif

struct impl {
	const char *name;
	int (*throughput)(unsigned producers, uint64_t msgs, uint32_t capacity,
			  struct bench_result *out);
	int (*pingpong)(uint64_t trips, uint32_t capacity, struct bench_result *out);
};

static const struct impl impls[] = {
#ifdef BENCH_HAVE_RT
    {"rt", rt_throughput, rt_pingpong},
#endif
    {"condvar", cv_throughput, cv_pingpong},
};

static int usage(void)
{
	fprintf(stderr, "usage: bench-channel [--impl rt|condvar|all] "
			"[--workload spsc|mpsc|pingpong|all]\n"
			"                     [--msgs N] [--trips N] [--condvar-msgs N] "
			"[--condvar-trips N] [--reps N]\n");
	return 2;
}

/* wants - whether the --workload choice `choice` includes `name`. */
static int wants(const char *choice, const char *name)
{
	return strcmp(choice, "all") == 0 || strcmp(choice, name) == 0;
}

/*
 * report - prints the sample lines of one measurement (`rc` is what the workload returned):
 * the figure itself and `<impl>_<cpu> <ns> cpu-ns/<per>`. Returns 1 when it failed.
 */
static int report(int rc, const struct bench_result *r, const char *impl, const char *what,
		  const char *unit, const char *cpu, const char *per)
{
	if (rc != 0)
		return 1;
	printf("sample %s_%s %.4g %s\n", impl, what, r->value, unit);
	printf("sample %s_%s %.4g cpu-ns/%s\n", impl, cpu, r->cpu_ns_per_op, per);
	fflush(stdout);
	return 0;
}

static int parse_count(const char *s, uint64_t *out)
{
	char *end;
	double d = strtod(s, &end); /* accepts 1e7 */
	if (end == s || *end != '\0' || d < 1 || d > 1e12)
		return -1;
	*out = (uint64_t)d;
	return 0;
}

int main(int argc, char **argv)
{
	const char *which = "all", *workload = "all";
	uint64_t msgs = 10000000, trips = 1000000, cv_msgs = 0, cv_trips = 0, reps = 1;
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		int bad = 0;
		if (val == NULL)
			return usage();
		if (strcmp(opt, "--impl") == 0)
			which = val;
		else if (strcmp(opt, "--workload") == 0)
			workload = val;
		else if (strcmp(opt, "--msgs") == 0)
			bad = parse_count(val, &msgs);
		else if (strcmp(opt, "--trips") == 0)
			bad = parse_count(val, &trips);
		else if (strcmp(opt, "--condvar-msgs") == 0)
			bad = parse_count(val, &cv_msgs);
		else if (strcmp(opt, "--condvar-trips") == 0)
			bad = parse_count(val, &cv_trips);
		else if (strcmp(opt, "--reps") == 0)
			bad = parse_count(val, &reps);
		else
			return usage();
		if (bad)
			return usage();
		i++;
	}
	if (msgs < 2 || (cv_msgs != 0 && cv_msgs < 2) ||
	    !(wants(workload, "spsc") || wants(workload, "mpsc") || wants(workload, "pingpong")))
		return usage();

#ifdef BENCH_HAVE_RT
	/* 0 is what the figures are meant for: instrumentation compiled in, no probes loaded. */
	printf("info probes_loaded %d\n", lt_tracing_available() != 0);
#endif
	int ran = 0, failed = 0;
	for (size_t k = 0; k < sizeof(impls) / sizeof(impls[0]); k++) {
		const struct impl *im = &impls[k];
		int is_cv = strcmp(im->name, "condvar") == 0;
		uint64_t m = is_cv && cv_msgs ? cv_msgs : msgs;
		uint64_t t = is_cv && cv_trips ? cv_trips : trips;
		if (strcmp(which, "all") != 0 && strcmp(which, im->name) != 0)
			continue;
		ran = 1;
		for (uint64_t r = 0; r < reps; r++) {
			struct bench_result res;
			if (wants(workload, "spsc"))
				failed |=
				    report(im->throughput(1, m, CAPACITY, &res), &res, im->name,
					   "spsc_throughput", "msg/s", "spsc_cpu", "msg");
			if (wants(workload, "mpsc"))
				failed |=
				    report(im->throughput(2, m, CAPACITY, &res), &res, im->name,
					   "mpsc_throughput", "msg/s", "mpsc_cpu", "msg");
			if (wants(workload, "pingpong"))
				failed |= report(im->pingpong(t, CAPACITY, &res), &res, im->name,
						 "pingpong_rtt", "ns", "pingpong_cpu", "trip");
		}
	}
	if (!ran) {
		fprintf(stderr, "bench-channel: no implementation named '%s' in this build\n",
			which);
		return 2;
	}
	return failed ? 1 : 0;
}
