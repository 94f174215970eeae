/*
 * options.c - the demo's command line: defaults, ranges, --help.
 *
 * Every bad value ends the program with one line on stderr naming the option, what it
 * accepts and what it got, and exit status 2 (the caller prints nothing else).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"

#define PROG "looptrace-demo"

static const struct demo_opts defaults = {
    .mode = DEMO_ROUTED,
    .duration_s = 10.0,
    .rate = 400.0,
    .task_us = 500.0,
    .fetch_share = 0.5,
    .latency_ms = 20.0,
    .jitter_ms = 5.0,
    .seed = 1,
    .reflow_share = 0.25,
    .reflow_us = 1000.0,
    .response_us = 100.0,
    .paint_us = 300.0,
    .inbox = 32,
    .workers = 0, /* set after parsing: DEMO_DEFAULT_WORKERS in await and spawn modes */
    .processes = 0,
    .net_child = 0,
    .child_fds = {-1, -1, -1},
};

const char *demo_mode_name(enum demo_mode mode)
{
	switch (mode) {
	case DEMO_ROUTED:
		return "routed";
	case DEMO_BLOCKING:
		return "blocking";
	case DEMO_THREAD:
		return "thread";
	case DEMO_AWAIT:
		return "await";
	case DEMO_SPAWN:
		return "spawn";
	}
	return "unknown";
}

static void usage(FILE *f)
{
	const struct demo_opts *d = &defaults;

	fprintf(
	    f,
	    "usage: " PROG " [options]\n"
	    "\n"
	    "A Servo-like page on the looptrace runtime: script handles input events, some of\n"
	    "which fetch a resource from net (answered after a simulated latency, over a pipe\n"
	    "watched by the router) or ask layout for a reflow; the compositor paints at 60 Hz.\n"
	    "The modes differ only in how script waits for a fetch response. At exit the\n"
	    "program prints its own counts (ground truth) as one JSON object on stdout.\n"
	    "\n"
	    "options (default in brackets):\n"
	    "  --mode MODE          routed: add a route, send the request, keep running; the\n"
	    "                       response is a message handled later [%s]\n"
	    "                       blocking: wait for the response inside the input handler\n"
	    "                       thread: a helper thread per fetch waits, then posts it back\n"
	    "                       await: as blocking, every component a sequence on a pool:\n"
	    "                       the wait inside the handler is an await (thread released)\n"
	    "                       spawn: on that pool, a task per fetch awaits the response\n"
	    "                       and posts it back to script\n"
	    "  --duration SECONDS   how long input events arrive, > 0 [%g]\n"
	    "  --rate N             input events per second (Poisson arrivals), > 0 [%g]\n"
	    "  --task-us US         CPU time per input event in script, >= 0 [%g]\n"
	    "  --fetch-share F      share of input events that start a fetch, 0..1 [%g]\n"
	    "  --latency-ms MS      mean simulated network latency of a fetch, >= 0 [%g]\n"
	    "  --jitter-ms MS       latency varies uniformly by +-MS (never below 0), >= 0 [%g]\n"
	    "  --seed N             random seed: arrivals, choices, jitter (integer) [%" PRIu64
	    "]\n"
	    "  --reflow-share F     share of input events that ask layout for a reflow, 0..1 [%g]\n"
	    "  --reflow-us US       CPU time per reflow in layout, >= 0 [%g]\n"
	    "  --response-us US     CPU time for script to use one fetch response, >= 0 [%g]\n"
	    "  --paint-us US        CPU time per frame in the compositor, 0..16000 [%g]\n"
	    "  --inbox N            capacity of script's input channel; when it is full the\n"
	    "                       input generator waits (back-pressure), >= 1 [%" PRIu32 "]\n"
	    "  --workers N          run every component as a sequence on one pool of N worker\n"
	    "                       threads, 1..1024 [%u in await and spawn modes; the other\n"
	    "                       modes run a thread per component without it]\n"
	    "  --processes          run net in a process of its own (this program, started\n"
	    "                       again), talking to the page over Unix sockets through the\n"
	    "                       runtime's IPC routes; works with every mode [off]\n"
	    "  -h, --help           show this help and exit\n"
	    "\n"
	    "SIGINT/SIGTERM end the input early; the page drains and the ground truth is\n"
	    "printed as usual (a second signal stops waiting for the drain).\n"
	    "\n"
	    "exit status: 0 when every message sent was handled, 1 on a runtime failure or\n"
	    "when shutdown had to drop messages, 2 on a bad option, 128+N after signal N.\n",
	    demo_mode_name(d->mode), d->duration_s, d->rate, d->task_us, d->fetch_share,
	    d->latency_ms, d->jitter_ms, d->seed, d->reflow_share, d->reflow_us, d->response_us,
	    d->paint_us, d->inbox, DEMO_DEFAULT_WORKERS);
}

enum {
	OPT_MODE = 256,
	OPT_DURATION,
	OPT_RATE,
	OPT_TASK_US,
	OPT_FETCH_SHARE,
	OPT_LATENCY_MS,
	OPT_JITTER_MS,
	OPT_SEED,
	OPT_REFLOW_SHARE,
	OPT_REFLOW_US,
	OPT_RESPONSE_US,
	OPT_PAINT_US,
	OPT_INBOX,
	OPT_WORKERS,
	OPT_PROCESSES,
	OPT_NET_CHILD,
};

static const struct option longopts[] = {
    {"mode", required_argument, NULL, OPT_MODE},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"rate", required_argument, NULL, OPT_RATE},
    {"task-us", required_argument, NULL, OPT_TASK_US},
    {"fetch-share", required_argument, NULL, OPT_FETCH_SHARE},
    {"latency-ms", required_argument, NULL, OPT_LATENCY_MS},
    {"jitter-ms", required_argument, NULL, OPT_JITTER_MS},
    {"seed", required_argument, NULL, OPT_SEED},
    {"reflow-share", required_argument, NULL, OPT_REFLOW_SHARE},
    {"reflow-us", required_argument, NULL, OPT_REFLOW_US},
    {"response-us", required_argument, NULL, OPT_RESPONSE_US},
    {"paint-us", required_argument, NULL, OPT_PAINT_US},
    {"inbox", required_argument, NULL, OPT_INBOX},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"processes", no_argument, NULL, OPT_PROCESSES},
    /* internal: this process is the net process of a --processes run (see procs.c) */
    {"net-child", required_argument, NULL, OPT_NET_CHILD},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *opt_name(int code)
{
	for (const struct option *o = longopts; o->name; o++)
		if (o->val == code)
			return o->name;
	return "?";
}

/* A number in [lo, hi] (hi_open: hi excluded) or an error line; returns 0 or 2. */
static int parse_double(int code, const char *text, double lo, int lo_open, double hi,
			const char *accepts, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v) ||
	    (lo_open ? v <= lo : v < lo) || v > hi) {
		fprintf(stderr, PROG ": --%s: expected %s, got '%s'\n", opt_name(code), accepts,
			text);
		return 2;
	}
	*out = v;
	return 0;
}

static int parse_u64(int code, const char *text, uint64_t lo, uint64_t hi, const char *accepts,
		     uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (text[0] == '-' || text[0] == '\0') {
		end = (char *)text;
		v = 0;
	} else {
		v = strtoull(text, &end, 10);
	}
	if (end == text || *end != '\0' || errno == ERANGE || v < lo || v > hi) {
		fprintf(stderr, PROG ": --%s: expected %s, got '%s'\n", opt_name(code), accepts,
			text);
		return 2;
	}
	*out = v;
	return 0;
}

int demo_parse_options(int argc, char **argv, struct demo_opts *o)
{
	int c, rc = 0;
	uint64_t u;

	*o = defaults;
	opterr = 0;
	optind = 1;
	while (rc == 0 && (c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 1;
		case OPT_MODE:
			if (strcmp(optarg, "routed") == 0) {
				o->mode = DEMO_ROUTED;
			} else if (strcmp(optarg, "blocking") == 0) {
				o->mode = DEMO_BLOCKING;
			} else if (strcmp(optarg, "thread") == 0) {
				o->mode = DEMO_THREAD;
			} else if (strcmp(optarg, "await") == 0) {
				o->mode = DEMO_AWAIT;
			} else if (strcmp(optarg, "spawn") == 0) {
				o->mode = DEMO_SPAWN;
			} else {
				fprintf(stderr,
					PROG
					": --mode: expected routed, blocking, thread, await or "
					"spawn, got '%s'\n",
					optarg);
				rc = 2;
			}
			break;
		case OPT_DURATION:
			rc = parse_double(c, optarg, 0, 1, 86400, "seconds > 0 (at most 86400)",
					  &o->duration_s);
			break;
		case OPT_RATE:
			rc = parse_double(c, optarg, 0, 1, 1e6,
					  "events per second > 0 (at most 1e6)", &o->rate);
			break;
		case OPT_TASK_US:
			rc = parse_double(c, optarg, 0, 0, 1e6, "microseconds >= 0 (at most 1e6)",
					  &o->task_us);
			break;
		case OPT_FETCH_SHARE:
			rc = parse_double(c, optarg, 0, 0, 1, "a share between 0 and 1",
					  &o->fetch_share);
			break;
		case OPT_LATENCY_MS:
			rc = parse_double(c, optarg, 0, 0, 60000,
					  "milliseconds >= 0 (at most 60000)", &o->latency_ms);
			break;
		case OPT_JITTER_MS:
			rc = parse_double(c, optarg, 0, 0, 60000,
					  "milliseconds >= 0 (at most 60000)", &o->jitter_ms);
			break;
		case OPT_SEED:
			rc =
			    parse_u64(c, optarg, 0, UINT64_MAX, "a non-negative integer", &o->seed);
			break;
		case OPT_REFLOW_SHARE:
			rc = parse_double(c, optarg, 0, 0, 1, "a share between 0 and 1",
					  &o->reflow_share);
			break;
		case OPT_REFLOW_US:
			rc = parse_double(c, optarg, 0, 0, 1e6, "microseconds >= 0 (at most 1e6)",
					  &o->reflow_us);
			break;
		case OPT_RESPONSE_US:
			rc = parse_double(c, optarg, 0, 0, 1e6, "microseconds >= 0 (at most 1e6)",
					  &o->response_us);
			break;
		case OPT_PAINT_US:
			rc = parse_double(c, optarg, 0, 0, 16000,
					  "microseconds between 0 and 16000", &o->paint_us);
			break;
		case OPT_INBOX:
			rc = parse_u64(c, optarg, 1, 1u << 20, "an integer between 1 and 1048576",
				       &u);
			o->inbox = (uint32_t)u;
			break;
		case OPT_WORKERS:
			rc = parse_u64(c, optarg, 1, 1024, "an integer between 1 and 1024", &u);
			o->workers = (unsigned)u;
			break;
		case OPT_PROCESSES:
			o->processes = 1;
			break;
		case OPT_NET_CHILD:
			if (sscanf(optarg, "%d,%d,%d", &o->child_fds[0], &o->child_fds[1],
				   &o->child_fds[2]) != 3 ||
			    o->child_fds[0] < 0 || o->child_fds[1] < 0 || o->child_fds[2] < 0) {
				fprintf(stderr,
					PROG ": --net-child: expected REQ,RESP,STATS fds, "
					     "got '%s'\n",
					optarg);
				rc = 2;
			}
			o->net_child = 1;
			break;
		case ':':
			fprintf(stderr, PROG ": %s needs a value (see --help)\n", argv[optind - 1]);
			rc = 2;
			break;
		default:
			if (optopt)
				fprintf(stderr, PROG ": unknown option '-%c' (see --help)\n",
					optopt);
			else
				fprintf(stderr, PROG ": unknown option '%s' (see --help)\n",
					argv[optind - 1]);
			rc = 2;
			break;
		}
	}
	if (rc == 0 && optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s' (see --help)\n", argv[optind]);
		rc = 2;
	}
	/* await and spawn need a pool: their waits are awaits, their tasks run on it. */
	if (rc == 0 && !o->workers && (o->mode == DEMO_AWAIT || o->mode == DEMO_SPAWN))
		o->workers = DEMO_DEFAULT_WORKERS;
	return rc;
}
