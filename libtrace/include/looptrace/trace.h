/*
 * looptrace/trace.h - the instrumentation API of liblooptrace.
 *
 * Any component system, not only looptrace's runtime, calls these functions to describe
 * what its threads do: which component a thread runs, when it waits at the top of its loop
 * (idle), when it handles a message (busy), when it blocks anywhere else, and which messages
 * cross which channels. Each call records at most one record (see docs/event-model.md);
 * nothing else is recorded. While a session enables `looptrace:batch` (what `looptrace record`
 * does: trace format 2.0) the record is a few 64-bit words appended to the calling thread's
 * ring, handed to LTTng-UST in batches (when the ring fills, when the thread parks, at
 * component and thread end, at exit, and by a flusher thread every few ms); otherwise it is
 * one LTTng-UST event of provider `looptrace`. A handler's record carries its exact bounds, so
 * what recording costs is not counted as handler time.
 *
 * Cost: liblooptrace is built with dynamic probe linkage. When the probe provider
 * (liblooptrace-probes.so, preloaded or linked) is not in the process, or no session enables
 * the event, each call is one predictable branch. The id allocators (lt_component_begin,
 * lt_channel_declare, lt_message_new, lt_route_add) always run: ids stay valid whether or not
 * a trace is being recorded.
 *
 * Thread safety: every function may be called from any thread at any time, including before
 * main() and after the probes are unloaded. None blocks. Ids are process-wide, allocated by
 * atomic counters, never reused within a process; 0 means "none". Component, channel and route
 * ids start at 1; message ids start at a random base whose top 16 bits (a tag drawn per fork
 * family, never 0) every id of the process carries, so that they are also unique across
 * processes and hosts (docs/distributed.md).
 */
#ifndef LOOPTRACE_TRACE_H
#define LOOPTRACE_TRACE_H

#include <stdint.h>

#include "looptrace/events.h" /* LT_DEPTH_UNKNOWN */

#ifdef __cplusplus
extern "C" {
#endif

/*
 * LT_NOPLT: calls from position-independent code (PIE programs, shared objects) go through
 * the GOT rather than the PLT, which saves a jump on every instrumentation point. GCC only.
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__ELF__)
#define LT_NOPLT __attribute__((noplt))
#else
#define LT_NOPLT
#endif

/* Why a thread is blocked. Stored as an integer in the trace; names in docs/event-model.md. */
enum lt_block_reason {
	LT_BLOCK_CHAN_RECV = 0, /* receiving from a channel (inside a handler) */
	LT_BLOCK_CHAN_SEND = 1, /* sending on a full channel: backpressure */
	LT_BLOCK_MUTEX = 2,
	LT_BLOCK_CONDVAR = 3,
	LT_BLOCK_RWLOCK = 4,
	LT_BLOCK_SEM = 5,
	LT_BLOCK_SLEEP = 6,
	LT_BLOCK_IO = 7,
	LT_BLOCK_JOIN = 8,
	LT_BLOCK_CALL = 9, /* any other synchronous call */
};

/* Number of reasons; values are 0 .. LT_BLOCK_REASON_COUNT - 1. */
#define LT_BLOCK_REASON_COUNT 10

/*
 * lt_block_reason_name - the lower-case name of a reason ("chan_recv", ...), or "unknown"
 * for a value outside the enum. The string is static.
 */
const char *lt_block_reason_name(enum lt_block_reason reason);

/*
 * LT_UNNAMED - what a name or kind that is NULL or "" is recorded as. An empty string is never
 * recorded: babeltrace2 2.0 decodes an empty string field as the previous non-empty value of
 * that field in the stream (the bytes in the trace are right), so an unnamed component would
 * be read back with another component's name. The analysis reads LT_UNNAMED as "no name" and
 * shows its default (comp-<id>, chan-<id>).
 */
#define LT_UNNAMED "(unnamed)"

/*
 * lt_component_begin - the calling thread now runs the component `name` (copied into the
 * event; NULL or "" is recorded as LT_UNNAMED). Returns the component's new id (>= 1). Event
 * `component_begin {comp, name}`.
 */
LT_NOPLT uint32_t lt_component_begin(const char *name);

/* lt_component_end - the component's loop on this thread returned. Event `component_end`. */
LT_NOPLT void lt_component_end(void);

/*
 * lt_channel_declare - a channel named `name` (NULL or "": recorded as LT_UNNAMED) with room
 * for `capacity` messages (0 means unbounded) exists. Returns its new id (>= 1). Event
 * `channel_declare`.
 */
LT_NOPLT uint32_t lt_channel_declare(const char *name, uint32_t capacity);

/*
 * lt_channel_declare_object - lt_channel_declare for a channel at address `object`: the
 * same address given to lt_block_begin when a thread blocks on the channel, so the report
 * names the channel a thread waited on (and counts backpressure on it) rather than an
 * address. Event `channel_declare` with field `object`.
 */
LT_NOPLT uint32_t lt_channel_declare_object(const char *name, uint32_t capacity,
					    const void *object);

/*
 * lt_message_new - a fresh message id (non-zero, its top 16 bits the process's tag), unique in
 * the process and, with overwhelming odds, across processes (taken in blocks per thread). It
 * may travel to another process and be used there (lt_wait_end, lt_recv, lt_handle_begin, or
 * lt_send's flow). Async-signal-safe: a signal handler may call it, also while its thread is inside
 * lt_message_new; every id is still handed out once. Returns 0 only once the process's ids
 * (at least 2^47, docs/distributed.md) are used up.
 */
LT_NOPLT uint64_t lt_message_new(void);

/*
 * lt_message_reserve - reserves `count` consecutive fresh message ids and returns the first
 * (>= 1); 0 when count is 0 or the id space would overflow (then nothing is taken: later
 * ids keep the process's tag). The ids are never handed out by
 * lt_message_new or another reservation. For a runtime that numbers its messages itself
 * (a channel gives message k of a block the id first + k, so no id travels with the
 * message). Any thread; never blocks.
 */
LT_NOPLT uint64_t lt_message_reserve(uint64_t count);

/* lt_wait_begin - the thread blocks at the top of its loop waiting for work (idle). */
LT_NOPLT void lt_wait_begin(void);

/*
 * lt_wait_end - the wait ended because message `msg` arrived on channel `chan`; msg 0 (and
 * chan 0) when it woke without a message (deadline, stop request).
 */
LT_NOPLT void lt_wait_end(uint32_t chan, uint64_t msg);

/*
 * lt_handle_begin / lt_handle_end - the thread runs a handler for message `msg` (busy).
 * `kind` names the kind of message (copied; NULL or "" is recorded as LT_UNNAMED).
 */
LT_NOPLT void lt_handle_begin(uint64_t msg, const char *kind);
LT_NOPLT void lt_handle_end(uint64_t msg);

/*
 * lt_block_begin / lt_block_end - the thread blocks for `reason` on `object` (the address of
 * the thing waited on, or NULL), outside the top-of-loop wait. Inside a handler this is
 * blocked-in-handler time. The caller's return address is recorded as `where`.
 */
LT_NOPLT void lt_block_begin(enum lt_block_reason reason, const void *object);
LT_NOPLT void lt_block_end(void);

/*
 * lt_block_begin_at - lt_block_begin with the call site given: `where` is recorded instead of
 * the caller's return address (NULL: the caller's, as lt_block_begin). A library that blocks
 * on its user's behalf passes __builtin_return_address(0) of its public entry point, so the
 * report names the user's call site rather than the library's. Event `block_begin`.
 */
LT_NOPLT void lt_block_begin_at(enum lt_block_reason reason, const void *object, const void *where);

/*
 * lt_send - message `msg` was enqueued on channel `chan`; `depth` is the queue length after
 * the send (or LT_DEPTH_UNKNOWN). `flow` ties the message to the request it answers; 0 means
 * msg starts a new flow (its flow id is then msg itself).
 */
LT_NOPLT void lt_send(uint32_t chan, uint64_t msg, uint64_t flow, uint32_t depth);

/* lt_recv - message `msg` was dequeued from `chan`; `depth` is the queue length after (or
 * LT_DEPTH_UNKNOWN). */
LT_NOPLT void lt_recv(uint32_t chan, uint64_t msg, uint32_t depth);

/*
 * The per-message calls (lt_send, lt_recv) have an inline fast path: while no probe provider
 * is registered in the process, such a call is one load and one predictable branch in the
 * caller, with no function call. Otherwise it calls lt__send_event / lt__recv_event, which
 * record the event if a session enables it. The arguments are evaluated either way. Define
 * LT_NO_INLINE before including this header to call the library's lt_send/lt_recv instead
 * (they stay exported, for dlsym and other languages' bindings).
 *
 * lt__probes_loaded is internal: the number of registered providers, kept by the providers.
 *
 * lt__send_depths is internal too: nonzero when every send's depth is wanted (the flight
 * recorder watches `depth>N`, set when liblooptrace loads). liblooptrace-rt then reads the
 * depth at every traced send instead of one channel position in 64 (docs/event-model.md,
 * "Queue depths").
 */
extern int lt__probes_loaded;
extern int lt__send_depths;
LT_NOPLT void lt__send_event(uint32_t chan, uint64_t msg, uint64_t flow, uint32_t depth);
LT_NOPLT void lt__recv_event(uint32_t chan, uint64_t msg, uint32_t depth);

/*
 * Fused records for an event loop that takes work already queued without waiting (internal,
 * used by liblooptrace-rt's components; docs/event-model.md, `handle_next`):
 *   lt__handle_end_later(msg)   as lt_handle_end(msg), but while a session records, the end
 *                               is kept (its exact time read now) instead of written;
 *   lt__handle_next(chan, msg, depth, kind)
 *                               one record for: the kept handler end (if any), recv(chan,
 *                               msg, depth) and handle_begin(msg, kind);
 *   lt__handle_flush()          writes a kept end as handle_end (before the loop waits, or
 *                               any other lt_* call of the thread, which flush by themselves).
 * A program killed while an end is kept loses that end: the report shows the handler as
 * running when the trace was cut (cut-short).
 */
LT_NOPLT void lt__handle_end_later(uint64_t msg);
LT_NOPLT void lt__handle_next(uint32_t chan, uint64_t msg, uint32_t depth, const char *kind);
LT_NOPLT void lt__handle_flush(void);

/*
 * lt__flush_thread - internal: hands the calling thread's records written so far to LTTng now
 * (format 2.0 records are kept in a per-thread ring and flushed in batches, see
 * docs/event-model.md). Call it before writing an ordinary LTTng event that must follow them
 * in the trace (e.g. a trigger event); a no-op when the thread has no records.
 */
LT_NOPLT void lt__flush_thread(void);

#if defined(__GNUC__) && !defined(LT_NO_INLINE) && !defined(LT_BUILDING_LIBLOOPTRACE)
extern __inline__ __attribute__((gnu_inline, always_inline)) void
lt_send(uint32_t chan, uint64_t msg, uint64_t flow, uint32_t depth)
{
	if (__builtin_expect(__atomic_load_n(&lt__probes_loaded, __ATOMIC_RELAXED) != 0, 0))
		lt__send_event(chan, msg, flow, depth);
}

extern __inline__ __attribute__((gnu_inline, always_inline)) void
lt_recv(uint32_t chan, uint64_t msg, uint32_t depth)
{
	if (__builtin_expect(__atomic_load_n(&lt__probes_loaded, __ATOMIC_RELAXED) != 0, 0))
		lt__recv_event(chan, msg, depth);
}
#endif

/*
 * lt_route_add - the router learned a route that delivers what arrives on `chan` (0 for a
 * non-channel receiver such as a file descriptor) on behalf of component `owner`. Returns
 * the route's new id (>= 1).
 */
LT_NOPLT uint32_t lt_route_add(uint32_t chan, uint32_t owner);
LT_NOPLT void lt_route_remove(uint32_t route);

/* lt_route_dispatch_begin / end - the router thread runs route `route`'s callback for `msg`. */
LT_NOPLT void lt_route_dispatch_begin(uint32_t route, uint64_t msg);
LT_NOPLT void lt_route_dispatch_end(uint32_t route);

/*
 * Pools and sequences (docs/event-model.md, "Sequences"). A runtime that runs components as
 * *sequences* on a shared pool of worker threads (one message at a time, never concurrently
 * with itself, on whichever worker is free) describes them with these calls; a component on
 * a thread of its own uses lt_component_begin as before.
 *
 * lt_pool_declare - a pool named `name` (NULL or "": LT_UNNAMED) of `threads` worker threads
 * exists. Returns its new id (>= 1). Event `pool_declare {pool, name, threads}`.
 */
LT_NOPLT uint32_t lt_pool_declare(const char *name, uint32_t threads);

/*
 * lt_pool_worker_begin / lt_pool_worker_end - the calling thread is (no longer) a worker of
 * pool `pool`. Between runs (lt_seq_run_begin .. lt_seq_run_end) a worker is idle. Events
 * `pool_worker_begin {pool}` / `pool_worker_end {pool}`.
 */
LT_NOPLT void lt_pool_worker_begin(uint32_t pool);
LT_NOPLT void lt_pool_worker_end(void);

/* Flags of lt_seq_begin. */
#define LT_SEQ_TASK 1u /* a one-shot task (spawned): reported with the tasks of its name */

/*
 * lt_seq_begin - component `name` (NULL or "": LT_UNNAMED) runs as a sequence on pool `pool`
 * (`flags`: LT_SEQ_*). Returns the component's new id (>= 1; the id space of
 * lt_component_begin). The sequence starts idle (nothing to do). Any thread. Event
 * `seq_begin {comp, name, pool, flags}`.
 *
 * lt_seq_end - sequence `comp` ended (its loop returned, its task finished). Any thread.
 * Event `seq_end {comp}`.
 */
LT_NOPLT uint32_t lt_seq_begin(const char *name, uint32_t pool, uint32_t flags);
LT_NOPLT void lt_seq_end(uint32_t comp);

/*
 * lt_seq_ready - sequence `comp` has work (a message, a tick due, what an await waits for)
 * and waits for a worker: it is runnable from now until a worker runs it. Any thread (the
 * sender's, usually). Event `seq_ready {comp}`.
 */
LT_NOPLT void lt_seq_ready(uint32_t comp);

/*
 * lt_seq_run_begin / lt_seq_run_end - the calling worker runs sequence `comp` from now / stops
 * running it. Between the two, the thread's other lt_* calls describe the sequence, as a
 * component's own thread's calls describe the component. At the run's end the sequence is
 * blocked if a block (lt_block_begin) is open -- an await: its worker is released -- and idle
 * otherwise, until lt_seq_ready (a sequence that stops with work left, to let others run,
 * calls lt_seq_ready right after). Events `seq_run_begin {comp}` / `seq_run_end {comp}`.
 */
LT_NOPLT void lt_seq_run_begin(uint32_t comp);
LT_NOPLT void lt_seq_run_end(uint32_t comp);

/*
 * lt_tracing_available - non-zero when a looptrace probe provider is registered in this
 * process (events can be recorded if a session enables them). For diagnostics only.
 */
int lt_tracing_available(void);

#ifdef __cplusplus
}
#endif

#endif /* LOOPTRACE_TRACE_H */
