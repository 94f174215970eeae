/*
 * looptrace/analysis.h - the streaming analysis core: decoded events in, report schema v1 out.
 *
 * The core knows nothing about CTF or babeltrace2. A driver (the babeltrace2 sink, a live
 * view, a fuzzer, a unit test) decodes events, fills a `struct lt_event` and feeds it with
 * lt_analysis_feed(), in timestamp order (babeltrace2's muxer order). At any point the driver
 * may write a report (lt_analysis_write_json): open intervals are counted up to the time of
 * the latest event, nothing in the stream state changes, so the live view can call it every
 * second and keep feeding.
 *
 * Memory is bounded by the number of threads, components, channels, routes, blocking sites
 * and messages/flows in flight -- never by the length of the trace. No call allocates per
 * event in the steady state. Definitions of every number are in docs/analysis.md, the JSON
 * keys in docs/report-schema.md.
 *
 * Thread safety: one analysis object must be used by one thread at a time (no internal
 * locking). Distinct objects are independent.
 */
#ifndef LOOPTRACE_ANALYSIS_H
#define LOOPTRACE_ANALYSIS_H

#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The kind of a decoded event. Values are stable only within one build. */
enum lt_ev_kind {
	LT_EV_UNKNOWN = 0, /* a `looptrace*` event this core does not know: counted, skipped */
	LT_EV_COMPONENT_BEGIN,
	LT_EV_COMPONENT_END,
	LT_EV_CHANNEL_DECLARE,
	LT_EV_WAIT_BEGIN,
	LT_EV_WAIT_END,
	LT_EV_HANDLE_BEGIN,
	LT_EV_HANDLE_END,
	LT_EV_BLOCK_BEGIN,
	LT_EV_BLOCK_END,
	LT_EV_SEND,
	LT_EV_RECV,
	LT_EV_ROUTE_ADD,
	LT_EV_ROUTE_REMOVE,
	LT_EV_ROUTE_DISPATCH_BEGIN,
	LT_EV_ROUTE_DISPATCH_END,
	LT_EV_OTHER,       /* an event of another provider: counted, skipped */
	LT_EV_HANDLE_NEXT, /* handle_end(prev) if prev, recv(chan, msg, depth), handle_begin(msg) */
	LT_EV_COMPONENT_RENAME, /* the interposer's: component `comp` of the process is now `name`
				 */
	/* pools and sequences (docs/event-model.md, "Sequences") */
	LT_EV_POOL_DECLARE,      /* pool, name, threads */
	LT_EV_POOL_WORKER_BEGIN, /* pool: this thread is a worker of it */
	LT_EV_POOL_WORKER_END,   /* pool */
	LT_EV_SEQ_BEGIN,         /* comp, name, pool, flags */
	LT_EV_SEQ_END,           /* comp */
	LT_EV_SEQ_READY,         /* comp (any thread) */
	LT_EV_SEQ_RUN_BEGIN,     /* comp: this worker runs it from now */
	LT_EV_SEQ_RUN_END,       /* comp */
	LT_EV_KIND_COUNT
};

/*
 * One decoded event. Only the fields of the event's kind are read (see the table in
 * docs/analysis.md); the others may hold anything. Strings are weak references valid during
 * the lt_analysis_feed() call only; NULL is read as "". Any bytes are accepted.
 */
struct lt_event {
	int64_t ts_ns;        /* ns from the clock's origin */
	int64_t vpid;         /* context vpid (-1 when absent) */
	int64_t vtid;         /* context vtid (-1 when absent) */
	const char *procname; /* context procname, weak, may be NULL */
	enum lt_ev_kind kind;
	uint32_t comp;     /* component_begin/end */
	uint32_t chan;     /* channel_declare, wait_end, send, recv, route_add */
	uint32_t capacity; /* channel_declare; 0 = unbounded */
	uint32_t route;    /* route_* */
	uint32_t owner;    /* route_add */
	uint32_t reason;   /* block_begin: enum lt_block_reason value */
	uint32_t depth;    /* send/recv: queue length after the operation */
	uint64_t msg;      /* wait_end, handle_*, send, recv, route_dispatch_begin */
	uint64_t flow;     /* send; 0 = msg starts its own flow */
	uint64_t object;   /* block_begin: address of the object waited on */
	uint64_t where;    /* block_begin: caller's return address */
	const char *name;  /* component_begin/channel_declare name, handle_begin kind; weak */
	int64_t begin_ns;  /* handle_end (handle_next: of prev): exact entry (ns from origin), 0 =
			      unknown */
	int64_t end_ns;    /* handle_end (handle_next: of prev): exact return, 0 = unknown */
	uint64_t prev;     /* handle_next: the message whose handler ended (0: none) */
	int preload;       /* from the interposer (provider looptrace_preload): yields to the API */
	uint64_t cpu_ns;   /* the thread's CPU time (CLOCK_THREAD_CPUTIME_ID, ns) at the event: the
			      interposer's block_begin and component_begin/end, format 2.0 records'
			      wait_begin and component_begin/end; 0 = unknown */
	uint32_t call;     /* block_begin of the interposer: the wrapped call (0: unknown) */
	uint32_t pool;     /* pool_declare, pool_worker_begin/end, seq_begin */
	uint32_t threads;  /* pool_declare: its worker threads */
	uint32_t flags;    /* seq_begin: LT_SEQ_* (looptrace/trace.h) */
};

/* Configuration; zero-initialise it (all fields 0 = defaults / no limit). */
struct lt_analysis_config {
	const char *trace_path; /* copied into trace.path; copied by create; may be NULL */
	int has_begin_ns, has_end_ns;
	int64_t begin_ns, end_ns; /* absolute window (ns from origin): events outside dropped */
	int has_begin_offset_ns, has_end_offset_ns;
	int64_t begin_offset_ns, end_offset_ns; /* window relative to the first event */
	uint64_t series_interval_ns; /* 0 = adaptive (starts at 10 ms, doubles, <= 512 points) */
	/* ns: how far apart the clocks of two different machines are assumed to be at most (their
	 * sync, NTP or PTP); 0 = LT_ANALYSIS_CLOCK_SYNC_NS. Used only for traces from several
	 * machines (see lt_analysis_clock). */
	int64_t clock_sync_ns;
};

#define LT_ANALYSIS_CLOCK_SYNC_NS 1000000 /* 1 ms: NTP on a local network, with margin */

struct lt_analysis;

/*
 * lt_analysis_create - a new, empty analysis configured by `cfg` (NULL = defaults). Returns
 * NULL when out of memory.
 */
struct lt_analysis *lt_analysis_create(const struct lt_analysis_config *cfg);

/*
 * lt_analysis_object - process `vpid` has the object file `path` (copied) loaded at `baddr`
 * spanning `memsz` bytes (`is_pic`: addresses inside are offsets from baddr), as the LTTng-UST
 * statedump (lttng_ust_statedump:bin_info, lttng_ust_dl:dlopen) says. Listed in the report's
 * `objects` key so call sites (`where`) can be symbolized. Repeats are ignored; at most
 * LT_ANALYSIS_MAX_OBJECTS are kept (then counted in anomalies.objects_dropped). Returns -1
 * when out of memory, else 0.
 */
#define LT_ANALYSIS_MAX_OBJECTS 4096
int lt_analysis_object(struct lt_analysis *a, int64_t vpid, uint64_t baddr, uint64_t memsz,
		       const char *path, int is_pic);

/*
 * lt_analysis_object_build_id - the object process `vpid` has loaded at `baddr` has the GNU
 * build id `id` (`len` bytes; lttng_ust_statedump:build_id, lttng_ust_dl:build_id), listed as
 * `build_id` (hex) in its `objects` entry so a call site is never named from a different
 * file. Ignored when no such object was declared, or when `len` is 0 or above
 * LT_ANALYSIS_MAX_BUILD_ID. Never fails.
 */
#define LT_ANALYSIS_MAX_BUILD_ID 64
void lt_analysis_object_build_id(struct lt_analysis *a, int64_t vpid, uint64_t baddr,
				 const uint8_t *id, size_t len);

/*
 * Hosts. Traces of several machines are analysed together; a process is known by its host
 * and its pid. The driver numbers the hosts 0, 1, ... in order of appearance, names each with
 * lt_analysis_host, and passes every event's (and statedump call's) vpid as a process key,
 * LT_PROC_KEY(host, vpid): host 0's keys are the plain pids, so a single-host trace is as
 * before. The report prints pid and host apart (`pid`, `host`) and, with several hosts,
 * prefixes component keys with "HOST/".
 */
#define LT_HOST_SHIFT         32
#define LT_ANALYSIS_MAX_HOSTS 4096
#define LT_PROC_KEY(host, vpid)                                                                    \
	((vpid) < 0 ? (int64_t)(vpid) : (int64_t)(vpid) + ((int64_t)(host) << LT_HOST_SHIFT))

/*
 * lt_analysis_host - host number `host` (< LT_ANALYSIS_MAX_HOSTS) is named `name` (the
 * trace's `hostname`; copied). Returns 0, or -1 when `host` is out of range or memory ran out.
 */
int lt_analysis_host(struct lt_analysis *a, uint32_t host, const char *name);

/*
 * lt_analysis_clock - a trace of host `host` stamps its events with a clock whose identity is
 * `uuid` (36-char text; NULL = unknown) and whose value 0 is `offset_ns` ns after the origin
 * (the CTF clock offset: LTTng measures realtime - monotonic when the session starts). Clocks
 * of one uuid are one machine's clock since boot: the spread of their offsets is all that can
 * separate their times. Clocks of different uuids are different machines: their times are
 * apart by up to cfg.clock_sync_ns, assumed. The report states the resulting uncertainty
 * (trace.clock) and flags cross-host queue waits shorter than it. Repeats are ignored; at
 * most 4096 clocks are kept. Returns 0, or -1 when out of memory.
 */
int lt_analysis_clock(struct lt_analysis *a, uint32_t host, const char *uuid, int64_t offset_ns);

/*
 * lt_analysis_bracket - a thread of process `vpid` reads its handlers' bounds with a bracket of
 * `ns` (the record clock's smallest interval around an empty handler call), which the decoder
 * takes off each handler's end. The report states the largest (trace.handler_bracket_ns).
 */
void lt_analysis_bracket(struct lt_analysis *a, int64_t vpid, int64_t ns);

/*
 * lt_analysis_loop_top - the user names a loop top of interposed threads (`--loop-top`):
 * `spec` is "OBJECT+0xOFFSET" (a call site as the report prints it: OFFSET = return address
 * - 1 - load address of a position-independent object) or "OBJECT+0xLO-0xHI" (every call
 * site in [LO, HI), a function's range); OBJECT is the object's path or file name. Call it
 * before the first event. Returns 0, or -1 when `spec` cannot be parsed or memory ran out.
 */
int lt_analysis_loop_top(struct lt_analysis *a, const char *spec);

/*
 * lt_analysis_settle - decides the loop top of every interposed thread still collecting
 * evidence (docs/interposer.md, "Loop tops"): with `final`, all of them (a thread without a
 * candidate wait gets none); else only those that already waited at a candidate. A driver
 * calls it before writing a report; a decided thread stays decided.
 */
void lt_analysis_settle(struct lt_analysis *a, int final);

/* lt_analysis_destroy - frees `a` and everything it owns. NULL is accepted. */
void lt_analysis_destroy(struct lt_analysis *a);

/*
 * lt_analysis_feed - processes one event. Events must come in (muxed) timestamp order; an
 * event older than the latest one fed (of any thread) is counted
 * (trace.anomalies.time_backwards) and its timestamp clamped to the latest. Never fails on bad
 * input: every oddity is counted in the report. Returns 0, or -1 when memory ran out (the event is
 * then only partly accounted; the analysis stays usable and reports trace.anomalies.out_of_memory).
 */
int lt_analysis_feed(struct lt_analysis *a, const struct lt_event *ev);

/*
 * lt_analysis_lost - `count` events were discarded by the tracer. When `has_window` is
 * non-zero, [begin_ns, end_ns] is the time range in which they were lost (babeltrace2's
 * discarded-events message clock snapshots). Numbers that overlap a window are flagged.
 */
void lt_analysis_lost(struct lt_analysis *a, uint64_t count, int has_window, int64_t begin_ns,
		      int64_t end_ns);

/* lt_analysis_events - number of looptrace events accepted so far (trace.events). */
uint64_t lt_analysis_events(const struct lt_analysis *a);

/*
 * lt_analysis_write_json - writes the report (schema "looptrace-report/1") as of the latest
 * event to `out`. Does not change the analysis; may be called any number of times, between
 * feeds. Returns 0, or -1 on an output error (errno set by stdio) or when out of memory.
 */
int lt_analysis_write_json(const struct lt_analysis *a, FILE *out);

/*
 * lt_analysis_graph_output - from now on, also write the message graph (format
 * looptrace-graph/1, docs/whatif.md: every handler run and route dispatch with what it sent,
 * received and waited for, every send outside handlers) to `out` as the events are fed;
 * NULL stops. The caller owns `out`: it keeps it open while feeding, then flushes and closes
 * it (and checks ferror). Memory stays bounded by the number of threads, components and
 * channels. Returns 0, or -1 when out of memory.
 */
int lt_analysis_graph_output(struct lt_analysis *a, FILE *out);

/*
 * lt_json_write_string - writes `s` (`len` bytes, any content) as a JSON string literal,
 * quotes included: control characters and quotes are escaped, invalid UTF-8 bytes become
 * U+FFFD. Never truncates.
 */
void lt_json_write_string(FILE *out, const char *s, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* LOOPTRACE_ANALYSIS_H */
