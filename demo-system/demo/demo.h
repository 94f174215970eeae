/*
 * demo.h - the looptrace demo: a Servo-like page built on liblooptrace-rt.
 *
 *   input thread --input--> [script] --requests--> [net] ..pipe per fetch..> (router)
 *                              ^  \--reflow--> [layout] --display-list--> [compositor]
 *                              |                                               (60 Hz tick)
 *                              +------- responses (route callback, per fetch) ---(router)
 *
 * `script` handles input events (CPU work each); some start a fetch and later use the
 * response, some ask `layout` for a reflow. `net` answers each fetch after a simulated
 * latency without blocking its loop (a timer heap served by its tick) by writing a response
 * record into the fetch's pipe, as another process would over IPC. The `router` watches each
 * fetch's pipe through a route added for that fetch and forwards the response to whoever
 * waits for it. The modes differ only in how script waits for a response (see enum
 * demo_mode); with a pool (--workers, always in await and spawn modes) every component runs as
 * a sequence on it. At exit the program prints its own counts (ground truth) as JSON.
 */
#ifndef LOOPTRACE_DEMO_H
#define LOOPTRACE_DEMO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <looptrace/rt/rt.h>

enum demo_mode {
	DEMO_ROUTED = 0,   /* add a route, send the request, return; a second handler uses it */
	DEMO_BLOCKING = 1, /* wait for the response inside the input handler */
	DEMO_THREAD = 2,   /* a helper thread per fetch waits, then posts the response back */
	DEMO_AWAIT = 3, /* blocking's handler on a pool: the wait is an await (thread released) */
	DEMO_SPAWN = 4, /* a task per fetch on the pool awaits it, then posts it back */
};

/* Worker threads of the pool in await and spawn modes when --workers is not given. */
#define DEMO_DEFAULT_WORKERS 2u

/* Settings, all from the command line (see demo_usage for defaults and ranges). */
struct demo_opts {
	enum demo_mode mode;
	double duration_s;   /* s the input generator runs */
	double rate;         /* input events per s offered to script */
	double task_us;      /* us of CPU per input event */
	double fetch_share;  /* share of input events that start a fetch, 0..1 */
	double latency_ms;   /* ms mean simulated network latency */
	double jitter_ms;    /* ms: latency is uniform in [latency - jitter, latency + jitter] */
	uint64_t seed;       /* random seed (arrivals, choices, jitter) */
	double reflow_share; /* share of input events that ask layout for a reflow, 0..1 */
	double reflow_us;    /* us of CPU per reflow (layout) */
	double response_us;  /* us of CPU to use one fetch response (script) */
	double paint_us;     /* us of CPU per frame (compositor, 60 Hz) */
	uint32_t inbox;      /* capacity of script's input channel (messages) */
	unsigned workers;    /* threads of the pool every component runs on; 0: a thread each */
	int processes;       /* net runs in a process of its own (IPC routes) */
	int net_child;       /* internal: this is that process (--net-child) */
	int child_fds[3];    /* internal: its request socket, response socket, stats pipe */
};

/* demo_mode_name - "routed", "blocking", "thread", "await" or "spawn". */
const char *demo_mode_name(enum demo_mode mode);

/*
 * demo_parse_options - fills *o from argv (defaults first). Returns 0 to run, 1 when --help
 * was printed (exit 0), 2 after printing a one-line error on stderr (exit 2).
 */
int demo_parse_options(int argc, char **argv, struct demo_opts *o);

/* An input event: what the user did. Owned by whoever holds it; freed by script. */
struct input_event {
	uint64_t seq;
	uint64_t created_ns; /* ns, CLOCK_MONOTONIC: when the user did it */
	int fetch;           /* starts a fetch */
	int reflow;          /* asks layout for a reflow */
};

/* What net writes into a fetch's pipe: one record, then it closes its end. */
struct net_response {
	uint64_t fetch_id;
	uint64_t flow;   /* the request's flow */
	uint32_t status; /* 200 */
	uint32_t bytes;  /* simulated body size */
};

/* A request to net: the fetch and the write end of its reply pipe (owned by net after send). */
struct net_request {
	uint64_t fetch_id;
	int wr; /* owned: net writes the response and closes it; -1 with --processes */
};

/* What a request frame carries with --processes (the flow travels in the frame header). */
struct ipc_request {
	uint64_t fetch_id;
};

/* What the net process tells the page at its end (--processes), on the stats pipe. */
struct net_stats {
	int ok; /* the numbers arrived */
	long pid;
	uint64_t handled, ticks, requests, served, write_failed, pending, dispatches;
	int exit_status; /* from waitpid: exit status, or 128 + signal */
};

#define DEMO_INFLIGHT_BUCKETS 256

struct demo;

/*
 * One fetch, from the handler that starts it to the handler that uses the response. Owned by
 * script; in flight it is owned by its route (router thread), which hands it back over a
 * channel (routed, blocking, await), to the waiting helper thread (thread) or over the reply
 * channel its task awaits (spawn).
 */
struct fetch {
	struct demo *d;      /* weak */
	uint64_t id;         /* >= 1 */
	uint64_t flow;       /* flow of the input event that started it */
	uint64_t started_ns; /* ns, CLOCK_MONOTONIC */
	int rd;              /* read end of the reply pipe (closed by the router graveyard) */
	struct lt_route *route;
	int ok; /* a whole response record arrived */
	struct net_response resp;
	/* thread mode: the helper waits on done */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	struct lt_chan *reply; /* spawn mode: the task awaits here (borrowed from the free list) */
	struct fetch *next;    /* --processes: chain in demo.inflight, under inflight_mu */
};

/* A growable array of durations (ns) for percentiles. Owner thread only. */
struct demo_samples {
	uint64_t *v; /* owned */
	size_t n, cap;
};

struct demo {
	struct demo_opts o;
	struct lt_router *router;
	struct lt_comp *script, *net, *layout, *compositor;
	/* channels, owned */
	struct lt_chan *input;     /* input thread -> script */
	struct lt_chan *responses; /* router / helpers -> script (routed, thread) */
	struct lt_chan *reply;     /* router -> script's handler (blocking, await) */
	struct lt_chan *requests;  /* script / helpers -> net */
	struct lt_chan *reflow;    /* script -> layout */
	struct lt_chan *display;   /* layout -> compositor */

	/* input thread */
	uint64_t inputs_unsent;    /* generated but not sent before the end (inbox full) */
	uint64_t input_blocked_ns; /* ns the generator waited for room in script's inbox */
	_Atomic uint64_t inputs_sent;
	_Atomic int stop_requested; /* main: SIGINT/SIGTERM arrived, end the input early */
	_Atomic int input_done;     /* input thread: finished */

	/* script thread (atomics are also read by main while running) */
	_Atomic uint64_t inputs_handled;
	_Atomic uint64_t fetch_attempts;  /* fetches script decided to start */
	_Atomic uint64_t fetch_started;   /* request sent to net */
	_Atomic uint64_t fetch_failed;    /* could not be started (pipe, route, send) */
	_Atomic uint64_t fetch_completed; /* response used by script */
	uint64_t fetch_errors;            /* responses without a whole record */
	uint64_t next_fetch_id;
	uint64_t reflows_sent;
	uint64_t reflow_send_failed;
	struct demo_samples input_latency; /* created -> end of its handler */
	struct demo_samples input_delay;   /* created -> start of its handler */
	struct demo_samples fetch_latency; /* started -> response used */

	/* thread mode: helper threads alive; spawn mode: tasks alive */
	_Atomic uint64_t helpers_live;

	/* the pool (--workers; await and spawn modes) and spawn mode's reply channels */
	struct lt_pool *pool;
	uint64_t tasks_spawned; /* script */
	pthread_mutex_t chans_mu;
	struct lt_chan **chans; /* owned: every reply channel made, [0, nchans) */
	size_t nchans, cap_chans;
	struct lt_chan **free_chans; /* those not in use, [0, nfree); capacity cap_chans */
	size_t nfree;

	/* net thread */
	uint64_t net_requests, net_ticks, net_served, net_write_failed;
	void *net_heap; /* struct timer heap, owned by net */
	uint64_t net_rng;

	/* router thread (route callbacks) */
	uint64_t router_dispatches;
	uint64_t router_forward_failed;
	int graveyard_fd; /* fd whose route is gone, closed on the next dispatch (-1: none) */

	/* --processes: the net process and the IPC endpoints (page side / net side) */
	struct lt_ipc *ipc_req;     /* requests: page sends, net process receives */
	struct lt_ipc *ipc_resp;    /* responses: net process sends, page receives */
	struct lt_route *ipc_route; /* the route receiving on this side */
	_Atomic int ipc_ended;      /* the route's end call came (router thread sets it) */
	enum lt_err ipc_end;        /* why (written before ipc_ended) */
	long net_pid;               /* page: the net process */
	int stats_fd;               /* page: read end of the stats pipe (-1: none) */
	struct net_stats net_stats;
	pthread_mutex_t inflight_mu;
	struct fetch *inflight[DEMO_INFLIGHT_BUCKETS]; /* fetches waiting for a response */
	uint64_t ipc_bad_frames; /* router thread: frames that were not a known response */

	/* layout, compositor threads */
	uint64_t layout_reflows, layout_send_failed;
	uint64_t comp_lists, comp_frames;
};

/* demo_now_ns - CLOCK_MONOTONIC in ns. */
uint64_t demo_now_ns(void);

/* demo_spin_us - burns `us` microseconds of the calling thread's CPU time. */
void demo_spin_us(double us);

/* demo_rng_next / demo_rng_unit - splitmix64; a uniform double in [0, 1). */
uint64_t demo_rng_next(uint64_t *state);
double demo_rng_unit(uint64_t *state);

/* demo_samples_add - appends v (drops it silently when out of memory). */
void demo_samples_add(struct demo_samples *s, uint64_t v);

/*
 * demo_components_setup - creates the channels, components and router of `d` and registers
 * the handlers for d->o.mode. Returns LT_OK or the first error (with *what naming the step).
 */
enum lt_err demo_components_setup(struct demo *d, const char **what);

/* demo_input_thread - the input generator (pthread entry, arg = struct demo). */
void *demo_input_thread(void *arg);

/* demo_net_drop_pending - closes the pipes of responses net never sent; returns how many. */
uint64_t demo_net_drop_pending(struct demo *d);

/* demo_graveyard_close - closes the fd left in the router graveyard (router stopped). */
void demo_graveyard_close(struct demo *d);

/*
 * demo_reply_chans_close - spawn mode, shutdown that gave up: closes every reply channel so
 * tasks still awaiting a response return. demo_reply_chans_destroy - destroys them (every
 * task returned).
 */
void demo_reply_chans_close(struct demo *d);
void demo_reply_chans_destroy(struct demo *d);

/*
 * --processes (procs.c, components.c). demo_procs_spawn - starts the net process (this
 * program again, --net-child) with two socketpairs and a stats pipe, and makes the page's
 * endpoints; call before any thread starts. demo_ipc_route_add - routes responses to script
 * (after script started). demo_procs_stop - ends the request stream, waits for the net
 * process and its numbers and for the response stream's end. demo_net_child_main - the net
 * process's main. demo_net_setup - the net process's channel, component and router.
 */
enum lt_err demo_procs_spawn(struct demo *d, const char **what);
enum lt_err demo_ipc_route_add(struct demo *d);
void demo_procs_stop(struct demo *d);
int demo_net_child_main(const struct demo_opts *o);
enum lt_err demo_net_setup(struct demo *d, const char **what);

#endif /* LOOPTRACE_DEMO_H */
