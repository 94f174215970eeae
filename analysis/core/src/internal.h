/*
 * internal.h - the state of the streaming analysis and the lt__ functions its files share:
 * analysis.c (create/destroy, the analysis window, lost events, loaded objects, the feed
 * dispatch), thread.c (the per-thread state machine), entity.c (components, channels,
 * routes and their folding, blocking sites), msg.c (messages, flows and parking), series.c
 * (time series and the handler accounting that feeds them), view.c and findings.c (what the
 * report shows and decides, declared in view.h), report.c (the schema-v1 JSON writer) and
 * graph.c (the message graph `looptrace whatif` replays). Nothing here is installed; every
 * lt__ function has hidden visibility.
 *
 * Every object lives in a growable array and is named by its index (int32_t, -1 = none);
 * hash maps (map.h) translate trace ids into indexes. Messages and flows in flight live in
 * pools with free lists, so memory follows what is in flight, not the trace length.
 */
#ifndef LT_ANALYSIS_INTERNAL_H
#define LT_ANALYSIS_INTERNAL_H

#include "looptrace/analysis.h"
#include "looptrace/events.h"
#include "looptrace/reasons.h"
#include "hist.h"
#include "map.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Time categories of a component, in the order of the report's time_ns keys. RUNNABLE: a
 * sequence with work and no worker running it (0 for thread components).
 */
enum lt_tcat {
	LT_T_BUSY = 0,
	LT_T_IDLE,
	LT_T_BIH,
	LT_T_BO,
	LT_T_OUTSIDE,
	LT_T_RUNNABLE,
	LT_T_COUNT
};

/* What a pool's worker thread does (pool.c): the pool's time_ns keys. */
enum lt_wcat { LT_W_IDLE = 0, LT_W_BUSY, LT_W_BLOCKED, LT_W_COUNT };

/* Series columns (per bucket). */
enum { LT_S_MSGS = 0, LT_S_BUSY, LT_S_BLOCKED, LT_S_RUNNABLE, LT_S_COLS };

#define LT_SITE_CAP        65536u /* distinct (component, reason, object, where) sites */
#define LT_FLOW_HOP_CAP    64u    /* hops kept per open flow for the critical path */
#define LT_CHAN_SIDES      8      /* senders and receivers named per channel */
#define LT_LOST_WINDOW_CAP 1024u
#define LT_BLOCK_DEPTH_CAP 64
#define LT_REASON_COUNT    ((uint32_t)LT_BLOCK_REASON_COUNT)
#define LT_PARK_CAP        256u /* handled-before-sent messages kept for a late send */
#define LT_ROUTE_KEEP      256u /* beyond this many routes, removed ones fold per owner */

struct lt_an_comp {
	int64_t vpid, tid;
	uint32_t id;               /* 0 for an implicit (per-thread) component */
	int implicit;              /* created for a thread that never announced its component */
	int declared;              /* a component_begin named it */
	int preload;               /* named by the interposer, not by the program's own calls */
	int ended;                 /* its last binding ended with component_end */
	char *name;                /* owned */
	int64_t first_ns;          /* ns, start of its first binding */
	int64_t last_ns;           /* ns, end of its last closed binding */
	uint64_t wall_ns;          /* ns, closed bindings only */
	uint64_t time[LT_T_COUNT]; /* ns, closed intervals only */
	int32_t thread;            /* weak: bound thread index, -1 when none */
	int64_t bound_since;       /* ns */
	uint64_t messages;         /* completed handlers */
	struct lt_hist handle;     /* ns per completed handler */
	struct lt_hist qwait;      /* ns send->receipt for messages it received */
	/*
	 * Its series: sparse (the buckets touched, sorted) until they are more than a quarter
	 * of series_cap, then dense. Untouched buckets are zero.
	 */
	uint64_t *series;          /* owned, dense: LT_S_COLS * series_cap, or NULL */
	struct lt_spoint *spoints; /* owned, sparse (while series is NULL), sorted by bucket */
	uint32_t nspoints, spcap;  /* used and allocated entries of spoints */
	int32_t first_site;        /* head of its list of blocking sites */
	uint64_t cpu_ns;           /* CPU time of its thread while bound (looptop.c) */
	int cpu_known;             /* a CPU time reading was seen while bound */
	uint32_t loop;             /* its thread's loop-top record + 1 (looptop.c), 0 none */
	/* sequences (pool.c) */
	int seq;              /* runs as a sequence (seq_begin), not on a thread of its own */
	int task;             /* the aggregate of the spawned tasks of one name (LT_SEQ_TASK) */
	int32_t pool;         /* its pool's index, -1 none */
	uint64_t tasks;       /* task: tasks begun */
	uint32_t live;        /* task: tasks alive now */
	int32_t first_task;   /* task: first live task's virtual thread, -1 none */
	uint64_t runs;        /* slices a worker ran it */
	uint64_t released_ns; /* closed: blocked with no worker held (an await), ns */
	uint64_t held_ns;     /* closed: a worker held blocked by it (not an await), ns */
};

/* A pool of worker threads (pool.c). */
struct lt_an_pool {
	int64_t vpid;
	uint32_t id;
	char *name;                /* owned */
	uint32_t threads;          /* declared */
	uint32_t workers;          /* threads that were its workers */
	uint64_t runs;             /* slices its workers ran */
	uint64_t time[LT_W_COUNT]; /* ns over its workers, closed intervals */
};

/* One touched bucket of a sparse series. */
struct lt_spoint {
	uint32_t b;            /* bucket index */
	uint64_t v[LT_S_COLS]; /* LT_S_* columns */
};

struct lt_an_chan {
	int64_t vpid;
	uint32_t id;
	int declared;
	char *name; /* owned */
	uint32_t capacity;
	uint64_t object;              /* its address in the process (0: not declared with one) */
	int64_t start_ns;             /* declare or first event */
	uint32_t depth;               /* last depth reported */
	int64_t depth_since;          /* ns */
	unsigned __int128 depth_area; /* depth x ns since start_ns */
	uint32_t max_depth;
	uint64_t sends, recvs;
	struct lt_hist qwait;
	uint64_t send_blocked_ns, send_blocked_count;
	double rn, rt, rd, rtt, rtd; /* least-squares sums of (t s since start, depth) */
	/* queue waits whose send and receipt are on different hosts, and how many of them were
	 * shorter than the clock uncertainty when measured */
	uint64_t cross_host_waits, cross_host_short;
	/* the components that sent on it / took messages from it (indexes, first LT_CHAN_SIDES) */
	int32_t senders[LT_CHAN_SIDES], receivers[LT_CHAN_SIDES];
	uint8_t nsenders, nreceivers;
	/*
	 * IPC: a channel of the same name in another process received messages sent on this one
	 * (or the reverse): the ends of one channel across processes. ipc_up is the next end
	 * towards the group's first end (index, -1: this is the first or it has no other end);
	 * ipc marks every end of a group.
	 */
	int32_t ipc_up;
	int ipc;
};

struct lt_an_route {
	int64_t vpid;
	uint32_t id, chan, owner;
	int declared, removed;
	int aggregate;    /* the folded removed routes of one owner (id 0) */
	uint64_t nroutes; /* routes folded into an aggregate (1 for a plain route) */
	int active;       /* threads dispatching it now */
	int dead;         /* folded; slot free */
	uint32_t next_free;
	uint64_t dispatches;
	struct lt_hist dispatch;
};

struct lt_site {
	int32_t comp;
	uint32_t reason;
	uint64_t object, where;
	uint64_t ns, count;     /* ns closed only */
	uint64_t in_handler_ns; /* part of ns spent inside a handler */
	uint64_t released_ns;   /* part of ns a sequence awaited with no worker held */
	int32_t next;           /* next site of the same component */
	uint32_t call;          /* the interposer's wrapped call (preload-calls.h), 0 unknown */
};

struct lt_thread {
	int64_t vpid, vtid;
	int64_t last_ts; /* ns, latest (clamped) timestamp of the thread */
	uint64_t nevents;
	int loop_seen; /* a component/wait/handle event was seen */
	int32_t comp;  /* bound component, -1 none */
	enum lt_tcat state;
	int64_t since; /* ns, start of the current state interval */
	int counted_busy;
	int in_handler, handle_partial;
	uint64_t handle_msg;
	int64_t handle_start;
	int waiting, wait_site; /* wait_site: a wait inside a handler counts as a block */
	int block_depth;
	int preload_skip; /* interposer blocks ignored inside an API wait/block, still open */
	uint32_t block_reason;
	int64_t block_start;
	int32_t site; /* site the blocked time goes to, -1 none */
	uint64_t pending_send_block_ns, pending_send_block_count;
	int32_t route;      /* route being dispatched, -1 none */
	uint32_t handle_mi; /* in-flight record of the handled message, UINT32_MAX none */
	uint32_t recv_mi;   /* in-flight record of the last message it received (a hint) */
	int64_t dispatch_start;
	uint64_t dispatch_msg;
	uint32_t loop;     /* loop-top record + 1 (looptop.c), 0 none */
	uint64_t cpu_last; /* its latest CPU time reading (ns), 0 none */
	int32_t cpu_comp1; /* component index + 1 that reading was taken in, 0 none */
	/*
	 * Before the --begin window, the interposer's events only set this state; the thread
	 * starts the window in it (lt__pre_start): its component, still blocked or not.
	 */
	int pre_api;   /* an API component_begin came first: the interposer yields */
	int pre_bound; /* runs the interposer's component pre_comp */
	uint32_t pre_comp;
	int pre_depth; /* blocks open */
	uint32_t pre_reason;
	uint64_t pre_object, pre_where; /* of the outermost open block */
	char *pre_name;                 /* owned; NULL once the window started */
	/*
	 * A sequence's virtual thread (seq: pool.c): the state machine of the thread a
	 * component would have, while workers lend it their time.
	 */
	int seq;
	int running;         /* a worker runs it now */
	int ready;           /* runnable (or a seq_ready came while running) */
	int block_in_run;    /* its outermost open block began in the current run: held */
	int32_t worker;      /* the worker running it, -1 none */
	int64_t bound_since; /* ns: a task's start (its component's wall is per task) */
	int32_t next_task;   /* next live task of its component, -1 none */
	int32_t next_free;   /* free list of virtual threads, -1 none */
	/* A pool's worker thread (pool >= 0). */
	int32_t pool;      /* its pool's index, -1 none */
	int32_t run;       /* the virtual thread it runs, -1 none */
	uint32_t run_comp; /* the id of the sequence of the current run, 0 none */
	enum lt_wcat wstate;
	int64_t wsince; /* ns */
};

struct lt_msg {
	int64_t vpid;
	uint64_t id;
	int64_t send_ns, recv_ns;
	int32_t chan, from, flow;
	int32_t to; /* component that received it (for a receipt seen before the send) */
	int received;
	int unsent; /* received, but its send event has not been seen (yet) */
	int live;   /* in use (not on the free list) */
	int parked; /* unsent, its handler already ended: waits for a late send (see park) */
	int park_partial;
	int32_t park_to;
	int64_t park_begin, park_end; /* ns, its handler */
	uint32_t next_free;
};

struct lt_hop_rec {
	uint64_t msg;
	int32_t from, to;
	int64_t send_ns, recv_ns, begin_ns, end_ns;
};

struct lt_flow {
	int64_t vpid; /* its key's space: lt__msg_space */
	int64_t pid;  /* the process of its first send (or receipt) */
	uint64_t id;
	int64_t first_send, last_end;
	uint32_t outstanding;
	struct lt_hop_rec *hops; /* owned, LT_FLOW_HOP_CAP entries once allocated */
	uint32_t nhops, hops_dropped;
	uint32_t next_free;
};

struct lt_hopagg {
	int32_t from, to;
	uint64_t count;
	double sum_queue, sum_handle;
	uint64_t max_queue, max_handle;
};

struct lt_anomalies {
	uint64_t preload_yielded; /* interposer events ignored where the API already speaks */
	uint64_t objects_dropped; /* loaded objects beyond LT_ANALYSIS_MAX_OBJECTS */
	uint64_t time_backwards, events_without_vtid, nested_component_begin,
	    unmatched_component_end, component_end_mismatch, component_rebound, unmatched_wait_end,
	    nested_wait, nested_handle, handle_while_waiting, unmatched_handle_end,
	    handle_end_mismatch, unmatched_block_end, block_depth_overflow, unmatched_dispatch_end,
	    nested_dispatch, undeclared_components, undeclared_channels, undeclared_routes,
	    unknown_messages, duplicate_sends, recv_before_send, handlers_cut, implicit_components,
	    blocks_outside_components, sites_overflow, flow_hops_dropped, out_of_memory,
	    unknown_sequences, unmatched_run_end, nested_run;
};

#define LT_VEC(T)                                                                                  \
	struct {                                                                                   \
		T *v;                                                                              \
		uint32_t n, cap;                                                                   \
	}

/* A loaded object file of a process, from the statedump (for symbolizing call sites). */
struct lt_object {
	int64_t vpid;
	uint64_t baddr, memsz;
	char *path; /* owned */
	int is_pic;
	char build_id[2 * LT_ANALYSIS_MAX_BUILD_ID + 1]; /* lowercase hex; "" = unknown */
};

/* A trace clock of a host (lt_analysis_clock). */
struct lt_clock {
	uint32_t host;
	char uuid[40]; /* "" = unknown */
	int64_t offset_ns;
};

struct lt_analysis {
	struct lt_analysis_config cfg;
	char *trace_path; /* owned */

	int seen_any, started, end_hit;
	int64_t first_seen;
	int has_lo, has_hi;
	int64_t lo, hi;   /* effective window, ns */
	int64_t begin_ns; /* analysis origin */
	int64_t now;      /* ns, latest accepted time */

	uint64_t events, unknown_events, other_events, filtered_events;
	uint64_t lost_events, lost_no_window;
	int64_t (*lost_windows)[2]; /* owned, LT_LOST_WINDOW_CAP */
	uint32_t nlost_windows;

	struct lt_anomalies an;

	LT_VEC(struct lt_object) objects;
	LT_VEC(char *) hosts; /* owned names, by host number (NULL: unnamed) */
	LT_VEC(struct lt_clock) clocks;
	int64_t clock_uncertainty_ns; /* from the clocks seen so far (lt__clock_update) */
	int64_t bracket_ns;           /* largest handler bracket (lt_analysis_bracket) */
	int clock_basis;              /* enum lt_clock_basis */
	LT_VEC(struct lt_an_comp) comps;
	LT_VEC(struct lt_an_chan) chans;
	LT_VEC(struct lt_an_route) routes;
	LT_VEC(struct lt_site) sites;
	LT_VEC(struct lt_thread) threads;
	LT_VEC(struct lt_an_pool) pools;
	int32_t vthread_free; /* free virtual threads (ended tasks), -1 none */
	LT_VEC(struct lt_hopagg) hops;
	LT_VEC(struct lt_msg) msgs;
	LT_VEC(struct lt_flow) flows;
	uint32_t msg_free, flow_free, route_free; /* free-list heads, UINT32_MAX = empty */
	uint64_t routes_created;                  /* plain routes ever created */
	int routes_folded;                        /* removed routes fold per owner now */
	uint64_t msgs_in_flight, flows_in_flight;
	struct {
		uint32_t mi;
		uint64_t id;
	} park[LT_PARK_CAP]; /* FIFO of parked records (lazily invalidated) */
	uint32_t park_head, park_len;

	struct lt_map comp_map, chan_map, route_map, site_map, thread_map, hop_map, msg_map,
	    flow_map, pool_map;
	int32_t thread_cache[64]; /* direct-mapped by vtid: index + 1, 0 = empty */
	int32_t hop_cache;        /* last hop aggregate used, -1 none */

	struct lt_looptop *looptop; /* owned: loop tops of interposed threads (looptop.c) */

	/* parallelism */
	uint32_t busy_now, busy_max;

	/* flows */
	uint64_t flows_done;
	struct lt_hist flow_latency;
	uint64_t crit_flow;
	int64_t crit_vpid, crit_latency;
	int has_crit;
	struct lt_hop_rec *crit_hops; /* owned */
	uint32_t crit_nhops, crit_dropped;

	/* the message graph (graph.c), NULL unless lt_analysis_graph_output asked for it */
	struct lt_graph *graph; /* owned */

	/* series */
	uint64_t series_interval; /* ns */
	uint32_t series_cap;      /* buckets per component */
	uint32_t series_used;     /* buckets touched so far */
};

#pragma GCC visibility push(hidden)

/* How trace.clock.uncertainty_ns was found. */
enum lt_clock_basis {
	LT_CLOCK_ONE = 0,     /* one clock (or none): times compare exactly */
	LT_CLOCK_ONE_MACHINE, /* several traces of one clock (same uuid): their offsets' spread */
	LT_CLOCK_ASSUMED,     /* clocks of different machines: the assumed sync, plus spread */
};

/* lt__host_of - the host number of process key `key` (LT_PROC_KEY). */
static inline uint32_t lt__host_of(int64_t key)
{
	return key < 0 ? 0 : (uint32_t)((uint64_t)key >> LT_HOST_SHIFT);
}

/* lt__pid_of - the pid of process key `key` (-1 stays -1). */
static inline int64_t lt__pid_of(int64_t key)
{
	return key < 0 ? key : (int64_t)((uint64_t)key & 0xffffffffu);
}

/* lt__host_name - the name of host number `h` ("" when unnamed). */
const char *lt__host_name(const struct lt_analysis *a, uint32_t h);

#define NONE32 UINT32_MAX /* no index */

/*
 * Message and flow ids of liblooptrace carry their process's random tag in their top 16 bits
 * (docs/distributed.md): they are unique across processes and hosts and are keyed by id alone
 * (space LT_MSG_SPACE_GLOBAL), so a message sent in one process links to its receipt in
 * another. Ids without a tag (older producers, ids a program makes up) are per process:
 * keyed by (vpid, id).
 */
#define LT_MSG_SPACE_GLOBAL INT64_MIN

static inline int64_t lt__msg_space(int64_t vpid, uint64_t id)
{
	return id >> 48 ? LT_MSG_SPACE_GLOBAL : vpid;
}

/* lt__oom - one more allocation failed (trace.anomalies.out_of_memory). */
static inline void lt__oom(struct lt_analysis *a)
{
	a->an.out_of_memory++;
}

/* lt__vec_push - appends a zeroed element to an LT_VEC; returns its index or -1. */
#define lt__vec_push(vec) lt__vec_push_((void **)&(vec).v, &(vec).n, &(vec).cap, sizeof(*(vec).v))
int32_t lt__vec_push_(void **v, uint32_t *n, uint32_t *cap, size_t esz);

/* lt__dup_name - a malloc'd copy of s (NULL: ""); NULL when out of memory. */
char *lt__dup_name(const char *s);

/*
 * Event handlers, one per event kind, called by lt_analysis_feed once the event is in the
 * window, its time clamped (ts) and its thread known (index ti). The threads vector grows
 * only in lt__thread_get, before the handler runs, so a handler may hold its thread's
 * pointer; pointers into the other vectors are re-fetched after calls that may grow them.
 * Out of memory is counted (lt__oom), never returned.
 */
typedef void lt__on_event_fn(struct lt_analysis *a, int32_t ti, const struct lt_event *ev,
			     int64_t ts);
lt__on_event_fn lt__on_component_begin, lt__on_component_end, lt__on_component_rename,
    lt__on_wait_begin, lt__on_wait_end, lt__on_handle_begin, lt__on_handle_end, lt__on_block_begin,
    lt__on_block_end, lt__on_route_dispatch_begin, lt__on_route_dispatch_end;  /* thread.c */
lt__on_event_fn lt__on_channel_declare, lt__on_route_add, lt__on_route_remove; /* entity.c */
lt__on_event_fn lt__on_send, lt__on_recv;                                      /* msg.c */
lt__on_event_fn lt__on_pool_declare, lt__on_pool_worker_begin, lt__on_pool_worker_end,
    lt__on_seq_begin, lt__on_seq_end, lt__on_seq_ready, lt__on_seq_run_begin,
    lt__on_seq_run_end; /* pool.c */

/* thread.c */

/* lt__thread_get - the index of thread (vpid, vtid), created if new; -1 when out of memory. */
int32_t lt__thread_get(struct lt_analysis *a, int64_t vpid, int64_t vtid);

/*
 * lt__pre_window - an event before the --begin window: only the interposer's thread state is
 * kept (component, name, open blocks). lt__pre_start - the window starts at a->begin_ns: the
 * threads it kept start it in that state.
 */
void lt__pre_window(struct lt_analysis *a, const struct lt_event *ev);
void lt__pre_start(struct lt_analysis *a);

/*
 * lt__th_advance / lt__th_settle / lt__th_bind / lt__th_unbind - the state machine's steps
 * (thread.c) pool.c drives a sequence's virtual thread with: charge [since, ts) to the
 * component; recompute the state from the flags; bind thread ti to component ci at ts; unbind.
 */
void lt__th_advance(struct lt_analysis *a, struct lt_thread *t, int64_t ts);
void lt__th_settle(struct lt_analysis *a, struct lt_thread *t);
void lt__th_bind(struct lt_analysis *a, int32_t ti, int32_t ci, int64_t ts);
void lt__th_unbind(struct lt_analysis *a, struct lt_thread *t, int64_t ts);

/* pool.c */

/*
 * lt__seq_redirect - the thread an event of worker ti applies to: the virtual thread of the
 * sequence it runs (not for the pool and sequence events themselves), else ti.
 */
static inline int32_t lt__seq_redirect(const struct lt_analysis *a, int32_t ti,
				       enum lt_ev_kind kind)
{
	int32_t r = a->threads.v[ti].run;
	return r >= 0 && (kind < LT_EV_POOL_DECLARE || kind > LT_EV_SEQ_RUN_END) ? r : ti;
}
/* lt__worker_sync - after an event of the sequence worker wi runs: held or busy from ts. */
void lt__worker_sync(struct lt_analysis *a, int32_t wi, int64_t ts);
/* lt__pool_get - the pool (vpid, id), created if new; -1 when out of memory. */
int32_t lt__pool_get(struct lt_analysis *a, int64_t vpid, uint32_t id);
/* lt__pool_view - pool pi's time at `now` (closed plus its workers' open intervals). */
void lt__pool_view(const struct lt_analysis *a, uint32_t pi, int64_t now,
		   uint64_t time[LT_W_COUNT]);

/* entity.c */

/*
 * lt__take_name - a non-empty `name` (copied) replaces *dst; "", NULL or "(unnamed)" (what
 * liblooptrace records for no name, LT_UNNAMED) keeps the default one.
 */
void lt__take_name(struct lt_analysis *a, char **dst, const char *name);
/*
 * lt__comp_get - the component (vpid, id) (implicit: per-thread component of tid `id`),
 * created if new when `create`; -1 when absent or out of memory.
 */
int32_t lt__comp_get(struct lt_analysis *a, int64_t vpid, uint64_t id, int implicit, int create);
/* lt__chan_get - the channel (vpid, id), created at ts if new; -1 when out of memory. */
int32_t lt__chan_get(struct lt_analysis *a, int64_t vpid, uint32_t id, int64_t ts);
/*
 * lt__chan_set_depth - channel ch holds `depth` messages from ts on, after a send (step +1) or
 * a receive (step -1). A depth of LT_DEPTH_UNKNOWN (the caller did not read it) is the
 * channel's last depth plus `step`: never below 0, nor above a bounded channel's capacity.
 */
void lt__chan_set_depth(struct lt_an_chan *ch, uint32_t depth, int step, int64_t ts);
/*
 * lt__route_get - the route (vpid, id), created if new; aggregate: the entry that collects
 * the removed routes of owner `id`. -1 when out of memory.
 */
int32_t lt__route_get(struct lt_analysis *a, int64_t vpid, uint32_t id, int aggregate);
/* lt__route_fold - folds removed, idle route ri into its owner's aggregate (past the limit). */
void lt__route_fold(struct lt_analysis *a, int32_t ri);
/* lt__site_get - the blocking site (comp, reason, object, where), created if new; -1: OOM. */
int32_t lt__site_get(struct lt_analysis *a, int32_t comp, uint32_t reason, uint64_t object,
		     uint64_t where);

/* msg.c */

/*
 * lt__msg_receipt - message id left its queue at ts on thread ti (first receipt only counts).
 * Returns the index of its in-flight record, UINT32_MAX when none.
 */
uint32_t lt__msg_receipt(struct lt_analysis *a, int32_t ti, uint64_t id, int64_t ts);

/*
 * lt__msg_arrived - message record mi (NONE32: none) left channel ci (-1: none) on thread ti:
 * names the thread's component a receiver of ci and, when mi was sent on a channel of the same
 * name in another process, joins the two as ends of one IPC channel.
 */
void lt__msg_arrived(struct lt_analysis *a, int32_t ti, uint32_t mi, int32_t ci);

/* lt__chan_ipc_root - the first end of channel ci's IPC group (ci itself when it has none). */
int32_t lt__chan_ipc_root(const struct lt_analysis *a, int32_t ci);
/*
 * lt__msg_done - the handler (or route dispatch) of message id ran [begin, end) on behalf of
 * component `to`; partial: its begin was not seen; hint: its in-flight record if known.
 * Releases the message, advances its flow.
 */
void lt__msg_done(struct lt_analysis *a, int64_t vpid, uint64_t id, uint32_t hint, int32_t to,
		  int64_t begin, int64_t end, int partial);

/* series.c */

/* lt__series_reach - makes the series cover time ts, halving resolution as needed. */
void lt__series_reach(struct lt_analysis *a, int64_t ts);
/*
 * lt__series_span - adds (sub = 0) or removes (sub = 1) the interval [t0, t1) to or from
 * column col of c's series, bucket by bucket; a removal never takes a cell below 0.
 */
void lt__series_span(struct lt_analysis *a, struct lt_an_comp *c, int col, int64_t t0, int64_t t1,
		     int sub);
/* lt__comp_trim_handler - see series.c: [hb, pb) and [pe, he) of a handler move to outside. */
void lt__comp_trim_handler(struct lt_analysis *a, struct lt_an_comp *c, int64_t hb, int64_t pb,
			   int64_t pe, int64_t he);
/* lt__comp_count_handled - c handled one message whose handler ran `dur` ns and ended at ts. */
void lt__comp_count_handled(struct lt_analysis *a, struct lt_an_comp *c, uint64_t dur, int64_t ts);

/*
 * lt__feed_thread - one step of the state machine for event ev of thread ti at time ts
 * (analysis.c); looptop.c feeds the waits and iterations it derives through it.
 */
void lt__feed_thread(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts);

/* looptop.c: the loop top of interposed threads, their CPU time */

/*
 * lt__looptop_feed - an event of the interposer on thread ti: held while its loop top is
 * being found, or turned into wait/handle/block steps once it is known. Returns 1 when the
 * event was taken (the caller does not feed it), 0 to feed it as it is.
 */
int lt__looptop_feed(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts);
/* lt__looptop_free - frees what looptop.c owns (lt_analysis_destroy). */
void lt__looptop_free(struct lt_analysis *a);
/* lt__cpu_note - an event carrying the thread's CPU time: charge the time since the last. */
void lt__cpu_note(struct lt_analysis *a, struct lt_thread *t, const struct lt_event *ev);
/* lt__cpu_after - after the event: later readings belong to the thread's component now. */
static inline void lt__cpu_after(struct lt_analysis *a, struct lt_thread *t)
{
	(void)a;
	t->cpu_comp1 = t->comp + 1;
}
/*
 * lt__looptop_write_comp - writes `, "cpu_ns": ..., "loop_top": ...` of component c (report
 * writer).
 */
void lt__looptop_write_comp(FILE *f, const struct lt_analysis *a, const struct lt_an_comp *c);
/* lt__call_name - the name of a wrapped call id ("epoll_wait"), NULL for 0 or unknown. */
const char *lt__call_name(uint32_t call);

/* lt__reason_name - the report name of a block reason ("chan_recv", ...; "unknown"). */
const char *lt__reason_name(uint32_t reason);

/*
 * lt__comp_effective - component ci's time split and wall time as the report shows them
 * (open interval included up to the latest event). For tests.
 */
void lt__comp_effective(const struct lt_analysis *a, uint32_t ci, uint64_t time[LT_T_COUNT],
			uint64_t *wall);

/*
 * lt__series_get - the LT_S_COLS columns of component c's series bucket b (zeros when
 * untouched) into col.
 */
void lt__series_get(const struct lt_analysis *a, const struct lt_an_comp *c, uint32_t b,
		    uint64_t col[LT_S_COLS]);

/* lt__parked_count - parked records still waiting for their send. */
uint32_t lt__parked_count(const struct lt_analysis *a);

/* graph.c */

/* lt__graph_event - writes the message-graph lines of an event its handler just accounted. */
lt__on_event_fn lt__graph_event;
/* lt__graph_free - stops writing the graph and frees its state. */
void lt__graph_free(struct lt_analysis *a);

#pragma GCC visibility pop

#endif /* LT_ANALYSIS_INTERNAL_H */
