/*
 * main.c - looptrace-demo: runs the page for --duration seconds in one --mode, shuts it
 * down without losing a message and prints the ground truth (schema looptrace-demo/1, see
 * docs/demo.md) as one JSON object on stdout.
 *
 * Shutdown: the input generator stops; main waits until script has handled every input
 * sent and every fetch started came back (the system is then quiescent: nothing queued,
 * nothing in flight), then stops the components in dependency order (script, layout,
 * compositor, net, router), each draining its channels. If quiescence does not come within
 * a generous limit, the components are stopped anyway and whatever they had not handled is
 * counted (and the exit status is 1). SIGINT or SIGTERM ends the input early and drains the
 * same way (a second one stops waiting); the ground truth is still printed and the exit
 * status is then 128 + the signal number.
 *
 * With --processes net runs in a process of its own (procs.c); the page stops it in net's
 * place in the order above and reports its counts with its pid. With a pool (--workers; await
 * and spawn modes) the components are sequences on it; spawn mode's tasks count as in flight
 * until they return, and the pool is destroyed after the components.
 *
 * Cost: the process's CPU time and context switches from the kernel's own accounting
 * (getrusage RUSAGE_SELF: every thread of the process, also those that already exited, such
 * as thread mode's helpers) over the run, from the start of the input to the last component
 * stopped, per message handled and per fetch.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "demo.h"

struct pct {
	uint64_t p50, p99, max; /* ns */
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* percentiles - nearest-rank percentiles of s (sorted in place); zeros when empty. */
static struct pct percentiles(struct demo_samples *s)
{
	struct pct p = {0, 0, 0};

	if (!s->n)
		return p;
	qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
	p.p50 = s->v[(s->n * 50 + 99) / 100 - 1];
	p.p99 = s->v[(s->n * 99 + 99) / 100 - 1];
	p.max = s->v[s->n - 1];
	return p;
}

static void print_pct(const char *key, struct pct p, const char *tail)
{
	printf("  \"%s\": {\"p50\": %.1f, \"p99\": %.1f, \"max\": %.1f}%s\n", key,
	       (double)p.p50 / 1e3, (double)p.p99 / 1e3, (double)p.max / 1e3, tail);
}

/*
 * quiescent - non-zero when every input sent was handled and every fetch came back. The order
 * of the loads matters: script counts a fetch (attempts, started) before it counts the input
 * that started it as handled, so once all inputs are seen handled the fetch counts read next
 * are final except for fetches still on their way (started > completed) or helpers that have
 * not sent their request yet (attempts > started + failed).
 */
static int quiescent(struct demo *d)
{
	uint64_t attempts, started, failed, completed;

	if (atomic_load(&d->inputs_handled) != atomic_load(&d->inputs_sent))
		return 0;
	attempts = atomic_load(&d->fetch_attempts);
	started = atomic_load(&d->fetch_started);
	failed = atomic_load(&d->fetch_failed);
	completed = atomic_load(&d->fetch_completed);
	return attempts == started + failed && completed == started &&
	       atomic_load(&d->helpers_live) == 0;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	/* Each fetch in flight holds two fds; let many be in flight at once. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* wait_signal - waits up to timeout_ns for one of `set`; returns it, or 0. */
static int wait_signal(const sigset_t *set, long timeout_ns)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = timeout_ns};
	int sig = sigtimedwait(set, NULL, &ts);

	return sig > 0 ? sig : 0;
}

static void fail(const char *what, enum lt_err err)
{
	fprintf(stderr, "looptrace-demo: %s: %s\n", what, lt_strerror(err));
	exit(1);
}

/* What one run measured about itself, besides the counters in struct demo. */
struct run {
	sigset_t stop_signals;
	uint64_t t_start, t_quiet,
	    t_end;              /* ns: input starts, quiescence (or give up), script stops */
	int interrupted;        /* the stop signal received, 0 none */
	int drained;            /* quiescent before the components stopped */
	struct rusage ru0, ru1; /* the process at t_start and once every component stopped */
	uint64_t dropped_msgs;  /* messages the components had not handled */
	uint64_t net_pending;   /* responses net never sent */
};

/* start - sets up and starts the components; every thread blocks the stop signals. */
static void start(struct demo *d, struct run *r)
{
	const char *what = "";
	enum lt_err err;

	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	/* Every thread inherits this mask: SIGINT/SIGTERM reach main only, through sigtimedwait. */
	sigemptyset(&r->stop_signals);
	sigaddset(&r->stop_signals, SIGINT);
	sigaddset(&r->stop_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &r->stop_signals, NULL);

	pthread_mutex_init(&d->inflight_mu, NULL);
	d->stats_fd = -1;
	if (d->o.processes && (err = demo_procs_spawn(d, &what)))
		fail(what, err);
	err = demo_components_setup(d, &what);
	if (err)
		fail(what, err);
	if ((err = lt_router_start(d->router)) || (err = lt_comp_start(d->compositor)) ||
	    (err = lt_comp_start(d->layout)) || (d->net && (err = lt_comp_start(d->net))) ||
	    (err = lt_comp_start(d->script)))
		fail("start", err);
	if (d->o.processes && (err = demo_ipc_route_add(d)))
		fail("IPC route", err);
}

/* run_input - runs the input generator to its end (or a stop signal). */
static void run_input(struct demo *d, struct run *r)
{
	pthread_t input;

	fprintf(stderr,
		"looptrace-demo: mode %s, %g s, %g input events/s, fetch share %g, "
		"latency %g+-%g ms%s\n",
		demo_mode_name(d->o.mode), d->o.duration_s, d->o.rate, d->o.fetch_share,
		d->o.latency_ms, d->o.jitter_ms, d->pool ? ", components on a pool" : "");
	getrusage(RUSAGE_SELF, &r->ru0);
	r->t_start = demo_now_ns();
	if (pthread_create(&input, NULL, demo_input_thread, d) != 0)
		fail("input thread", LT_ESYS);
	while (!atomic_load(&d->input_done)) {
		int sig = wait_signal(&r->stop_signals, 20000000);

		if (sig > 0 && !r->interrupted) {
			r->interrupted = sig;
			atomic_store(&d->stop_requested, 1);
			fprintf(stderr, "looptrace-demo: %s: stopping the input and draining\n",
				strsignal(sig));
		}
	}
	pthread_join(input, NULL);
}

/* wait_quiescent - waits for quiescence, within a limit (a second stop signal ends it). */
static void wait_quiescent(struct demo *d, struct run *r)
{
	/* Quiescence: every input handled, every fetch back. Worst case a full inbox of
	 * fetches waited one by one (blocking mode), plus slack for a loaded machine. */
	uint64_t limit_ns =
	    30000000000ull + (uint64_t)(2.0 * d->o.inbox *
					((d->o.latency_ms + d->o.jitter_ms) * 1e6 +
					 d->o.task_us * 1e3 + d->o.response_us * 1e3));
	while (!quiescent(d) &&
	       demo_now_ns() - r->t_start < (uint64_t)(d->o.duration_s * 1e9) + limit_ns) {
		int sig = wait_signal(&r->stop_signals, 1000000);

		if (sig > 0 && r->interrupted) {
			fprintf(stderr, "looptrace-demo: %s again: not waiting any longer\n",
				strsignal(sig));
			break;
		}
		if (sig > 0)
			r->interrupted = sig;
	}
	r->drained = quiescent(d);
	r->t_quiet = demo_now_ns();
	if (!r->drained) {
		fprintf(stderr, "looptrace-demo: shutdown: the system did not become quiescent; "
				"stopping anyway and counting what is dropped\n");
		if (d->reply)
			lt_chan_close(d->reply); /* a handler waiting for a response gives up */
		demo_reply_chans_close(d);       /* so do spawn mode's tasks */
	}
}

/* stop - stops the components in dependency order and counts what they dropped. */
static void stop(struct demo *d, struct run *r)
{
	size_t dropped_script = 0, dropped_layout = 0, dropped_comp = 0, dropped_net = 0;

	lt_comp_stop(d->script, r->drained ? LT_COMP_STOP_DRAIN : LT_COMP_STOP_HANDBACK, NULL, NULL,
		     &dropped_script);
	r->t_end = demo_now_ns();
	lt_comp_stop(d->layout, LT_COMP_STOP_DRAIN, NULL, NULL, &dropped_layout);
	lt_comp_stop(d->compositor, LT_COMP_STOP_DRAIN, NULL, NULL, &dropped_comp);
	if (d->o.processes) {
		demo_procs_stop(d);
		r->net_pending = d->net_stats.pending;
	} else {
		lt_comp_stop(d->net, r->drained ? LT_COMP_STOP_DRAIN : LT_COMP_STOP_HANDBACK, NULL,
			     NULL, &dropped_net);
		r->net_pending = demo_net_drop_pending(d);
	}
	lt_router_stop(d->router);
	while (atomic_load(&d->helpers_live) != 0) /* only when not drained */
		usleep(1000);
	if (d->pool)
		lt_pool_wait_tasks(d->pool, LT_FOREVER); /* returned: now off their stacks too */
	getrusage(RUSAGE_SELF, &r->ru1);
	lt_router_destroy(d->router);
	demo_graveyard_close(d);
	r->dropped_msgs = dropped_script + dropped_layout + dropped_comp + dropped_net;
}

/* print_net - the net process's components (--processes), with its pid. */
static void print_net_process(const struct demo *d)
{
	const struct net_stats *s = &d->net_stats;

	printf("    \"net\": {\"messages\": %" PRIu64 ", \"handled\": %" PRIu64
	       ", \"ticks\": %" PRIu64 ", \"pid\": %ld},\n",
	       s->handled + s->ticks, s->handled, s->ticks, d->net_pid);
	printf("    \"net-router\": {\"messages\": %" PRIu64 ", \"handled\": %" PRIu64
	       ", \"ticks\": 0, \"dispatches\": %" PRIu64 ", \"pid\": %ld},\n",
	       s->dispatches, s->dispatches, s->dispatches, d->net_pid);
}

/* print_components - the "components" key: each component's own message counts. */
static void print_components(const struct demo *d)
{
	uint64_t script_handled = lt_comp_handled(d->script);

	printf("  \"components\": {\n");
	printf("    \"script\": {\"messages\": %" PRIu64 ", \"handled\": %" PRIu64
	       ", \"ticks\": 0},\n",
	       script_handled, script_handled);
	if (d->o.processes)
		print_net_process(d);
	else
		printf("    \"net\": {\"messages\": %" PRIu64 ", \"handled\": %" PRIu64
		       ", \"ticks\": %" PRIu64 "},\n",
		       lt_comp_handled(d->net) + d->net_ticks, lt_comp_handled(d->net),
		       d->net_ticks);
	printf("    \"layout\": {\"messages\": %" PRIu64 ", \"handled\": %" PRIu64
	       ", \"ticks\": 0},\n",
	       lt_comp_handled(d->layout), lt_comp_handled(d->layout));
	printf("    \"compositor\": {\"messages\": %" PRIu64 ", \"handled\": %" PRIu64
	       ", \"ticks\": %" PRIu64 "},\n",
	       lt_comp_handled(d->compositor) + d->comp_frames, lt_comp_handled(d->compositor),
	       d->comp_frames);
	/* The router's handlers are its route callbacks: each dispatch is one message. */
	printf("    \"router\": {\"messages\": %" PRIu64 ", \"handled\": %" PRIu64
	       ", \"ticks\": 0, \"dispatches\": %" PRIu64 "}\n",
	       d->router_dispatches, d->router_dispatches, d->router_dispatches);
	printf("  },\n");
}

/*
 * print_header - schema, mode, pid, settings, the pool (with `reply_chans`, the reply channels
 * spawn mode made), interruption and times.
 */
static void print_header(const struct demo *d, const struct run *r, size_t reply_chans)
{
	printf("{\n");
	printf("  \"schema\": \"looptrace-demo/1\",\n");
	printf("  \"mode\": \"%s\",\n", demo_mode_name(d->o.mode));
	printf("  \"pid\": %ld,\n", (long)getpid());
	printf("  \"settings\": {\"duration_s\": %g, \"rate\": %g, \"task_us\": %g, "
	       "\"fetch_share\": %g, \"latency_ms\": %g, \"jitter_ms\": %g, \"seed\": %" PRIu64
	       ", \"reflow_share\": %g, \"reflow_us\": %g, \"response_us\": %g, \"paint_us\": %g, "
	       "\"inbox\": %" PRIu32 ", \"workers\": %u, \"processes\": %s},\n",
	       d->o.duration_s, d->o.rate, d->o.task_us, d->o.fetch_share, d->o.latency_ms,
	       d->o.jitter_ms, d->o.seed, d->o.reflow_share, d->o.reflow_us, d->o.response_us,
	       d->o.paint_us, d->o.inbox, d->o.workers, d->o.processes ? "true" : "false");
	if (d->pool)
		printf("  \"pool\": {\"name\": \"%s\", \"threads\": %u, \"tasks_spawned\": %" PRIu64
		       ", \"reply_channels\": %zu},\n",
		       lt_pool_name(d->pool), lt_pool_threads(d->pool), d->tasks_spawned,
		       reply_chans);
	else
		printf("  \"pool\": null,\n");
	if (d->o.processes)
		printf("  \"net_process\": {\"pid\": %ld, \"exit_status\": %d, \"reported\": %s, "
		       "\"requests\": %" PRIu64 ", \"write_failed\": %" PRIu64
		       ", \"response_stream_end\": \"%s\", \"bad_frames\": %" PRIu64 "},\n",
		       d->net_pid, d->net_stats.exit_status, d->net_stats.ok ? "true" : "false",
		       d->net_stats.requests, d->net_stats.write_failed,
		       atomic_load(&((struct demo *)d)->ipc_ended) ? lt_strerror(d->ipc_end)
								   : "none",
		       d->ipc_bad_frames);
	else
		printf("  \"net_process\": null,\n");
	printf("  \"interrupted\": %s%s%s,\n", r->interrupted ? "\"" : "",
	       r->interrupted == SIGINT ? "SIGINT"
	       : r->interrupted         ? "SIGTERM"
					: "null",
	       r->interrupted ? "\"" : "");
	printf("  \"elapsed_s\": %.3f,\n", (double)(demo_now_ns() - r->t_start) / 1e9);
	printf("  \"drain_s\": %.3f,\n",
	       (double)(r->t_quiet - r->t_start) / 1e9 - d->o.duration_s > 0
		   ? (double)(r->t_quiet - r->t_start) / 1e9 - d->o.duration_s
		   : 0.0);
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* page_messages - every handler run of the page's components (as in "components"). */
static uint64_t page_messages(const struct demo *d)
{
	uint64_t n = lt_comp_handled(d->script) + lt_comp_handled(d->layout) +
		     lt_comp_handled(d->compositor) + d->comp_frames + d->router_dispatches;

	if (d->o.processes)
		return n + d->net_stats.handled + d->net_stats.ticks + d->net_stats.dispatches;
	return n + lt_comp_handled(d->net) + d->net_ticks;
}

/*
 * print_cost - the "cost" key: the process's CPU time and context switches over the run
 * (kernel accounting, every thread, exited ones too), per message handled and per fetch.
 */
static void print_cost(const struct demo *d, const struct run *r)
{
	double user = tv_s(r->ru1.ru_utime) - tv_s(r->ru0.ru_utime);
	double sys = tv_s(r->ru1.ru_stime) - tv_s(r->ru0.ru_stime);
	long vol = r->ru1.ru_nvcsw - r->ru0.ru_nvcsw;
	long invol = r->ru1.ru_nivcsw - r->ru0.ru_nivcsw;
	uint64_t msgs = page_messages(d);
	uint64_t fetches = atomic_load(&((struct demo *)d)->fetch_completed);
	double m = msgs ? (double)msgs : 1.0, f = fetches ? (double)fetches : 1.0;

	printf("  \"cost\": {\"cpu_s\": %.4f, \"user_s\": %.4f, \"sys_s\": %.4f, "
	       "\"ctx_switches\": %ld, \"voluntary\": %ld, \"involuntary\": %ld, "
	       "\"messages\": %" PRIu64 ", \"fetches\": %" PRIu64 ", "
	       "\"cpu_us_per_message\": %.2f, \"ctx_switches_per_message\": %.3f, "
	       "\"cpu_us_per_fetch\": %.2f, \"ctx_switches_per_fetch\": %.3f},\n",
	       user + sys, user, sys, vol + invol, vol, invol, msgs, fetches,
	       msgs ? (user + sys) * 1e6 / m : 0.0, msgs ? (double)(vol + invol) / m : 0.0,
	       fetches ? (user + sys) * 1e6 / f : 0.0, fetches ? (double)(vol + invol) / f : 0.0);
}

/* print_truth - the ground truth (schema looptrace-demo/1) as one JSON object on stdout. */
static void print_truth(struct demo *d, const struct run *r)
{
	uint64_t started = atomic_load(&d->fetch_started);
	uint64_t completed = atomic_load(&d->fetch_completed);
	uint64_t script_handled = lt_comp_handled(d->script);
	struct pct lat = percentiles(&d->input_latency);
	struct pct delay = percentiles(&d->input_delay);
	struct pct flat = percentiles(&d->fetch_latency);
	double script_wall_s = (double)(r->t_end - r->t_start) / 1e9;

	pthread_mutex_lock(&d->chans_mu);
	size_t reply_chans = d->nchans;
	pthread_mutex_unlock(&d->chans_mu);
	print_header(d, r, reply_chans);
	print_components(d);
	printf("  \"script_throughput_per_s\": %.2f,\n",
	       script_wall_s > 0 ? (double)script_handled / script_wall_s : 0.0);
	printf("  \"inputs\": {\"sent\": %" PRIu64 ", \"handled\": %" PRIu64
	       ", \"unsent\": %" PRIu64 ", \"generator_blocked_ms\": %.1f},\n",
	       atomic_load(&d->inputs_sent), atomic_load(&d->inputs_handled), d->inputs_unsent,
	       (double)d->input_blocked_ns / 1e6);
	printf("  \"fetches\": {\"attempted\": %" PRIu64 ", \"started\": %" PRIu64
	       ", \"completed\": %" PRIu64 ", \"failed\": %" PRIu64 ", \"errors\": %" PRIu64
	       ", \"served_by_net\": %" PRIu64 "},\n",
	       atomic_load(&d->fetch_attempts), started, completed, atomic_load(&d->fetch_failed),
	       d->fetch_errors, d->o.processes ? d->net_stats.served : d->net_served);
	printf("  \"reflows\": {\"sent\": %" PRIu64 ", \"done\": %" PRIu64 "},\n", d->reflows_sent,
	       d->layout_reflows);
	printf("  \"frames\": %" PRIu64 ",\n", d->comp_frames);
	print_pct("input_latency_us", lat, ",");
	print_pct("input_delay_us", delay, ",");
	print_pct("fetch_latency_us", flat, ",");
	print_cost(d, r);
	printf("  \"shutdown\": {\"drained\": %s, \"dropped_messages\": %" PRIu64
	       ", \"fetches_lost\": %" PRIu64 ", \"responses_never_sent\": %" PRIu64 "}\n",
	       r->drained ? "true" : "false", r->dropped_msgs, started - completed, r->net_pending);
	printf("}\n");
	fflush(stdout);
}

static void destroy(struct demo *d)
{
	lt_comp_destroy(d->script);
	lt_comp_destroy(d->net);
	lt_comp_destroy(d->layout);
	lt_comp_destroy(d->compositor);
	lt_chan_destroy(d->input);
	lt_chan_destroy(d->responses);
	lt_chan_destroy(d->reply);
	lt_chan_destroy(d->requests);
	lt_chan_destroy(d->reflow);
	lt_chan_destroy(d->display);
	if (d->pool && lt_pool_destroy(d->pool) == LT_OK)
		demo_reply_chans_destroy(d); /* every task returned */
	pthread_mutex_destroy(&d->chans_mu);
	if (d->ipc_req) {
		close(lt_ipc_fd(d->ipc_req));
		close(lt_ipc_fd(d->ipc_resp));
		lt_ipc_destroy(d->ipc_req);
		lt_ipc_destroy(d->ipc_resp);
	}
	pthread_mutex_destroy(&d->inflight_mu);
	free(d->input_latency.v);
	free(d->input_delay.v);
	free(d->fetch_latency.v);
	free(d);
}

int main(int argc, char **argv)
{
	struct demo_opts opts;
	struct run r = {0};
	struct demo *d;
	int rc;

	rc = demo_parse_options(argc, argv, &opts);
	if (rc)
		return rc == 1 ? 0 : 2;
	if (opts.net_child)
		return demo_net_child_main(&opts);
	d = calloc(1, sizeof(*d));
	if (!d)
		fail("start", LT_ENOMEM);
	d->o = opts;
	start(d, &r);
	run_input(d, &r);
	wait_quiescent(d, &r);
	stop(d, &r);
	print_truth(d, &r);
	rc = r.drained && !d->router_forward_failed ? 0 : 1;
	if (d->o.processes &&
	    (!d->net_stats.ok || d->net_stats.exit_status != 0 || d->net_stats.write_failed ||
	     d->ipc_bad_frames || !atomic_load(&d->ipc_ended) || d->ipc_end != LT_ECLOSED))
		rc = 1;
	if (r.interrupted)
		rc = 128 + r.interrupted; /* the shell's convention, even after a clean drain */
	destroy(d);
	return rc;
}
