/*
 * hotpath.c - the workload of bench/hotpath: what tracing costs a runtime component, and
 * whether the report still tells the truth about it.
 *
 * A producer thread sends N messages through a bounded liblooptrace-rt channel (capacity
 * 1024) to a component whose handler spins W ns (by CLOCK_MONOTONIC). The program measures
 * its own figures with its own clock, at the handler's entry and exit: wall time from the
 * producer's start to the last message handled, CPU time of the process (getrusage, all
 * threads), the handler's mean duration and the channel's mean depth seen at each handler
 * entry, and how many handler entries found the channel empty while the producer was still
 * sending (`empties`: 0 means the component never had to wait for work), and of the CPU time,
 * the part LTTng-UST's own threads took (`cpu_lttng_ns`: the run time, /proc/self/task/T/
 * schedstat, of the threads named "*-ust", LTTng-UST's listeners, which map and populate the
 * session's buffers: a cost per session and buffer size, not per message). It prints them as one
 * JSON line on stdout, so bench/hotpath/run.sh can set them beside `looptrace report`'s figures of
 * the same run.
 *
 * Usage: bench-hotpath MESSAGES WORK_NS
 */
#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <looptrace/rt/chan.h>
#include <looptrace/rt/comp.h>
#include <looptrace/trace.h>

struct run {
	struct lt_chan *ch; /* weak */
	uint64_t msgs;      /* to send */
	uint64_t work_ns;   /* per handler */
	/* The handler's counters have their own cache line: a line the producer writes would
	 * cost the handler a miss after its last clock read, inside its traced bounds. */
	_Alignas(64) uint64_t handled; /* component thread only, to send_fails */
	uint64_t handle_ns;            /* sum of handler durations, program's clock */
	uint64_t depth_sum;            /* sum of depths seen at handler entry */
	uint64_t empties; /* handler entries that found the channel empty while producing */
	_Alignas(64) uint64_t send_fails; /* producer only */
	_Atomic int producing;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

/* lttng_threads_ns - run time (ns) of this process's threads named "*-ust"; 0 if unknown. */
static uint64_t lttng_threads_ns(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	uint64_t sum = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char path[300], comm[64] = "";
		unsigned long long run = 0;
		FILE *f;
		size_t len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		len = strcspn(comm, "\n");
		comm[len] = 0;
		if (len < 4 || strcmp(comm + len - 4, "-ust") != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fscanf(f, "%llu", &run) == 1)
			sum += run;
		fclose(f);
	}
	closedir(d);
	return sum;
}

static void handle(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct run *r = arg;
	uint64_t t0 = r->work_ns ? now_ns() : 0, t1; /* the whole handler body is timed */
	size_t depth = lt_chan_depth(r->ch);

	(void)comp;
	(void)msg;
	(void)info;
	r->depth_sum += depth;
	if (depth == 0 && atomic_load_explicit(&r->producing, memory_order_relaxed))
		r->empties++;
	if (r->work_ns) {
		do
			t1 = now_ns();
		while (t1 - t0 < r->work_ns);
		r->handle_ns += t1 - t0;
	}
	r->handled++;
}

static void *produce(void *arg)
{
	struct run *r = arg;

	for (uint64_t i = 0; i < r->msgs; i++)
		if (lt_chan_send(r->ch, (void *)(uintptr_t)(i + 1)) != LT_OK)
			r->send_fails++;
	atomic_store(&r->producing, 0);
	return NULL;
}

int main(int argc, char **argv)
{
	struct run r = {0};
	struct lt_comp *comp;
	pthread_t producer;
	uint64_t t0, t1, c0, c1, l0, l1;

	if (argc != 3) {
		fprintf(stderr, "usage: %s MESSAGES WORK_NS\n", argv[0]);
		return 2;
	}
	r.msgs = (uint64_t)strtod(argv[1], NULL);
	r.work_ns = (uint64_t)strtod(argv[2], NULL);
	atomic_init(&r.producing, 1);
	if (lt_chan_create("work", 1024, NULL, &r.ch) != LT_OK ||
	    lt_comp_create("worker", &comp) != LT_OK ||
	    lt_comp_add_handler(comp, r.ch, "work", handle, &r) != LT_OK ||
	    lt_comp_start(comp) != LT_OK) {
		fprintf(stderr, "hotpath: cannot set up the component\n");
		return 1;
	}
	l0 = lttng_threads_ns();
	c0 = cpu_ns();
	t0 = now_ns();
	if (pthread_create(&producer, NULL, produce, &r) != 0) {
		fprintf(stderr, "hotpath: cannot start the producer\n");
		return 1;
	}
	pthread_join(producer, NULL);
	lt_comp_stop(comp, LT_COMP_STOP_DRAIN, NULL, NULL, NULL);
	t1 = now_ns();
	c1 = cpu_ns();
	l1 = lttng_threads_ns();
	lt_comp_destroy(comp);
	lt_chan_destroy(r.ch);
	printf("{\"pid\": %ld, \"messages\": %" PRIu64 ", \"work_ns\": %" PRIu64
	       ", \"handled\": %" PRIu64 ", \"send_fails\": %" PRIu64 ", \"wall_ns\": %" PRIu64
	       ", \"cpu_ns\": %" PRIu64 ", \"cpu_lttng_ns\": %" PRIu64
	       ", \"handle_mean_ns\": %.1f, \"mean_depth\": %.1f"
	       ", \"empties\": %" PRIu64 ", \"probes_loaded\": %d}\n",
	       (long)getpid(), r.msgs, r.work_ns, r.handled, r.send_fails, t1 - t0, c1 - c0,
	       l1 - l0, r.handled ? (double)r.handle_ns / (double)r.handled : 0.0,
	       r.handled ? (double)r.depth_sum / (double)r.handled : 0.0, r.empties,
	       lt_tracing_available());
	return r.handled == r.msgs && r.send_fails == 0 ? 0 : 1;
}
