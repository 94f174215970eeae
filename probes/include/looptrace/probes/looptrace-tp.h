/*
 * looptrace-tp.h - the LTTng-UST tracepoint provider `looptrace`: one event per lt_* call
 * (formats 1.x), or `batch` events carrying per-thread records (format 2.0, records.h).
 *
 * The field names and types below are the contract with the analysis (docs/event-model.md).
 * Integers are unsigned; addresses (`object`, `where`) are 64-bit, shown in hexadecimal.
 * liblooptrace includes this header with LTTNG_UST_TRACEPOINT_DEFINE and
 * LTTNG_UST_TRACEPOINT_PROBE_DYNAMIC_LINKAGE (tracepoint call sites); probes/src/provider.c
 * includes it with LTTNG_UST_TRACEPOINT_CREATE_PROBES (the probe callbacks).
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER looptrace

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "looptrace/probes/looptrace-tp.h"

#if !defined(LOOPTRACE_PROBES_LOOPTRACE_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define LOOPTRACE_PROBES_LOOPTRACE_TP_H

#include <lttng/tracepoint.h>
#include <stdint.h>

/* clang-format off */

/* component_begin: this thread now runs component `comp` named `name`. */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, component_begin,
	LTTNG_UST_TP_ARGS(uint32_t, comp, const char *, name),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, comp, comp)
		lttng_ust_field_string(name, name)))

/* component_end: component `comp`'s loop on this thread returned. */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, component_end,
	LTTNG_UST_TP_ARGS(uint32_t, comp),
	LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(uint32_t, comp, comp)))

/*
 * channel_declare: channel `chan` named `name` holds `capacity` messages (0: unbounded);
 * `object` is its address in the process (0: not given), the `object` of block events on it.
 */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, channel_declare,
	LTTNG_UST_TP_ARGS(uint32_t, chan, const char *, name, uint32_t, capacity, uint64_t, object),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, chan, chan)
		lttng_ust_field_string(name, name)
		lttng_ust_field_integer(uint32_t, capacity, capacity)
		lttng_ust_field_integer_hex(uint64_t, object, object)))

/* wait_begin: blocked at the top of the loop, waiting for work (idle). */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, wait_begin,
	LTTNG_UST_TP_ARGS(),
	LTTNG_UST_TP_FIELDS())

/* wait_end: woke with message `msg` from `chan` (0/0: woke without a message). */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, wait_end,
	LTTNG_UST_TP_ARGS(uint32_t, chan, uint64_t, msg),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, chan, chan)
		lttng_ust_field_integer(uint64_t, msg, msg)))

/* handle_begin: running the handler for message `msg` of kind `kind` (busy). */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, handle_begin,
	LTTNG_UST_TP_ARGS(uint64_t, msg, const char *, kind),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, msg, msg)
		lttng_ust_field_string(kind, kind)))

/*
 * handle_end: the handler for `msg` returned. `begin_ts` and `end_ts` are the trace clock's
 * values (CLOCK_MONOTONIC, ns: LTTng-UST's default clock) read when the handler was entered
 * (after handle_begin was written) and when it returned (before this event): the handler's
 * exact bounds, without what writing the two events costs (0: not known).
 */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, handle_end,
	LTTNG_UST_TP_ARGS(uint64_t, msg, uint64_t, begin_ts, uint64_t, end_ts),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, msg, msg)
		lttng_ust_field_integer(uint64_t, begin_ts, begin_ts)
		lttng_ust_field_integer(uint64_t, end_ts, end_ts)))

/*
 * handle_next (format 1.1): one record for a loop that took message `msg` from `chan` without
 * waiting: the handler of `prev` (0: none) ended, exactly [begin_ts, end_ts) by the trace
 * clock (as handle_end's); `msg` was dequeued from `chan` leaving `depth` (recv); its handler
 * of kind `kind` starts (handle_begin).
 */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, handle_next,
	LTTNG_UST_TP_ARGS(uint64_t, prev, uint64_t, begin_ts, uint64_t, end_ts, uint32_t, chan,
		uint64_t, msg, uint32_t, depth, const char *, kind),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, prev, prev)
		lttng_ust_field_integer(uint64_t, begin_ts, begin_ts)
		lttng_ust_field_integer(uint64_t, end_ts, end_ts)
		lttng_ust_field_integer(uint32_t, chan, chan)
		lttng_ust_field_integer(uint64_t, msg, msg)
		lttng_ust_field_integer(uint32_t, depth, depth)
		lttng_ust_field_string(kind, kind)))

/* block_begin: blocked for `reason` (enum lt_block_reason) on `object`, called from `where`. */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, block_begin,
	LTTNG_UST_TP_ARGS(uint32_t, reason, uint64_t, object, uint64_t, where),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, reason, reason)
		lttng_ust_field_integer_hex(uint64_t, object, object)
		lttng_ust_field_integer_hex(uint64_t, where, where)))

/* block_end: the block that began last on this thread ended. */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, block_end,
	LTTNG_UST_TP_ARGS(),
	LTTNG_UST_TP_FIELDS())

/* send: `msg` enqueued on `chan`, answering flow `flow` (0: starts one); `depth` after. */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, send,
	LTTNG_UST_TP_ARGS(uint32_t, chan, uint64_t, msg, uint64_t, flow, uint32_t, depth),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, chan, chan)
		lttng_ust_field_integer(uint64_t, msg, msg)
		lttng_ust_field_integer(uint64_t, flow, flow)
		lttng_ust_field_integer(uint32_t, depth, depth)))

/* recv: `msg` dequeued from `chan`; `depth` after. */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, recv,
	LTTNG_UST_TP_ARGS(uint32_t, chan, uint64_t, msg, uint32_t, depth),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, chan, chan)
		lttng_ust_field_integer(uint64_t, msg, msg)
		lttng_ust_field_integer(uint32_t, depth, depth)))

/* route_add: route `route` delivers what arrives on `chan` for component `owner`. */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, route_add,
	LTTNG_UST_TP_ARGS(uint32_t, route, uint32_t, chan, uint32_t, owner),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, route, route)
		lttng_ust_field_integer(uint32_t, chan, chan)
		lttng_ust_field_integer(uint32_t, owner, owner)))

/* route_remove: the router forgot route `route`. */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, route_remove,
	LTTNG_UST_TP_ARGS(uint32_t, route),
	LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(uint32_t, route, route)))

/* route_dispatch_begin: the router thread runs route `route`'s callback for `msg`. */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, route_dispatch_begin,
	LTTNG_UST_TP_ARGS(uint32_t, route, uint64_t, msg),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, route, route)
		lttng_ust_field_integer(uint64_t, msg, msg)))

/* route_dispatch_end: route `route`'s callback returned. */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, route_dispatch_end,
	LTTNG_UST_TP_ARGS(uint32_t, route),
	LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(uint32_t, route, route)))

/* pool_declare: pool `pool` named `name` has `threads` worker threads. */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, pool_declare,
	LTTNG_UST_TP_ARGS(uint32_t, pool, const char *, name, uint32_t, threads),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, pool, pool)
		lttng_ust_field_string(name, name)
		lttng_ust_field_integer(uint32_t, threads, threads)))

/* pool_worker_begin / pool_worker_end: this thread is (no longer) a worker of `pool`. */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, pool_worker_begin,
	LTTNG_UST_TP_ARGS(uint32_t, pool),
	LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(uint32_t, pool, pool)))

LTTNG_UST_TRACEPOINT_EVENT(looptrace, pool_worker_end,
	LTTNG_UST_TP_ARGS(uint32_t, pool),
	LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(uint32_t, pool, pool)))

/* seq_begin: component `comp` named `name` runs as a sequence on pool `pool` (LT_SEQ_* flags). */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, seq_begin,
	LTTNG_UST_TP_ARGS(uint32_t, comp, const char *, name, uint32_t, pool, uint32_t, flags),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, comp, comp)
		lttng_ust_field_string(name, name)
		lttng_ust_field_integer(uint32_t, pool, pool)
		lttng_ust_field_integer(uint32_t, flags, flags)))

/* seq_end: sequence `comp` ended. */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, seq_end,
	LTTNG_UST_TP_ARGS(uint32_t, comp),
	LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(uint32_t, comp, comp)))

/* seq_ready: sequence `comp` has work and waits for a worker (written by any thread). */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, seq_ready,
	LTTNG_UST_TP_ARGS(uint32_t, comp),
	LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(uint32_t, comp, comp)))

/* seq_run_begin / seq_run_end: this worker runs sequence `comp` from now / stops running it. */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, seq_run_begin,
	LTTNG_UST_TP_ARGS(uint32_t, comp),
	LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(uint32_t, comp, comp)))

LTTNG_UST_TRACEPOINT_EVENT(looptrace, seq_run_end,
	LTTNG_UST_TP_ARGS(uint32_t, comp),
	LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(uint32_t, comp, comp)))

/*
 * batch (format 2.0): records of one thread (looptrace/probes/records.h), handed to LTTng as
 * one event. `tid` is the thread that wrote them (the event's vtid context is the thread that
 * flushed them: the same one, or the process's flusher thread); `seq` numbers the thread's
 * batches from 0; `first` is the index of the batch's first record in the thread's records;
 * `clock` says what record times count (LT_REC_CLOCK_*); `base` is the clock value of the
 * record before the first (delta origin); (`cal_tsc`, `cal_ns`) is the record clock and
 * CLOCK_MONOTONIC read together at the flush, (`epoch_tsc`, `epoch_ns`) the same read when the
 * process first recorded; `msg_hi` the top 16 bits (the tag) of the process's message ids,
 * which short HNEXT records leave out (added in format 2.1; 0: none); `bracket` the record
 * clock's smallest interval around an empty handler call in this process, which the decoder
 * takes off each handler's end (added in format 2.2; 0: none); `words` the records.
 */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, batch,
	LTTNG_UST_TP_ARGS(uint32_t, tid, uint32_t, seq, uint64_t, first, uint32_t, clock,
		uint64_t, base, const uint64_t *, cal, const uint64_t *, words, uint32_t, nwords),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, tid, tid)
		lttng_ust_field_integer(uint32_t, seq, seq)
		lttng_ust_field_integer(uint64_t, first, first)
		lttng_ust_field_integer(uint32_t, clock, clock)
		lttng_ust_field_integer(uint64_t, base, base)
		lttng_ust_field_integer(uint64_t, cal_tsc, cal[0])
		lttng_ust_field_integer(uint64_t, cal_ns, cal[1])
		lttng_ust_field_integer(uint64_t, epoch_tsc, cal[2])
		lttng_ust_field_integer(uint64_t, epoch_ns, cal[3])
		lttng_ust_field_integer(uint16_t, msg_hi, cal[4])
		lttng_ust_field_integer(uint32_t, bracket, cal[5])
		lttng_ust_field_sequence(uint64_t, words, words, uint32_t, nwords)))

/*
 * trigger: a flight-recorder condition matched in this process (docs/flight-recorder.md):
 * `condition` ("blocked", "handler" or "depth") measured `value` (ns, or a depth) above its
 * threshold, over [begin_ts, end_ts] by the trace clock, on the thread running component
 * `comp` named `comp_name`; `where` is the call site (blocked, depth), `object` the block's
 * object or the channel's id, `reason` the block's reason; `record` is the process's
 * LOOPTRACE_RECORD_ID (the LTTng trigger's filter). LTTng-UST takes at most 10 arguments.
 */
LTTNG_UST_TRACEPOINT_EVENT(looptrace, trigger,
	LTTNG_UST_TP_ARGS(const char *, condition, uint32_t, comp, const char *, comp_name,
		uint64_t, value, uint64_t, begin_ts, uint64_t, end_ts, uint64_t, where,
		uint64_t, object, uint32_t, reason, uint64_t, record),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_string(condition, condition)
		lttng_ust_field_integer(uint32_t, comp, comp)
		lttng_ust_field_string(comp_name, comp_name)
		lttng_ust_field_integer(uint64_t, value, value)
		lttng_ust_field_integer(uint64_t, begin_ts, begin_ts)
		lttng_ust_field_integer(uint64_t, end_ts, end_ts)
		lttng_ust_field_integer_hex(uint64_t, where, where)
		lttng_ust_field_integer_hex(uint64_t, object, object)
		lttng_ust_field_integer(uint32_t, reason, reason)
		lttng_ust_field_integer(uint64_t, record, record)))

/* clang-format on */

#endif /* LOOPTRACE_PROBES_LOOPTRACE_TP_H */

#include <lttng/tracepoint-event.h>
