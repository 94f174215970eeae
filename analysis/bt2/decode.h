/*
 * decode.h - the one babeltrace2 decoder of looptrace traces: babeltrace2 messages in, the
 * analysis core's `struct lt_event`s out, in time order. Used by every sink of the plugin
 * (sink.looptrace.report, sink.looptrace.perfetto).
 *
 * It reads every trace format: the per-call events of formats 1.0/1.1 (`looptrace:send`, ...,
 * and the interposer's `looptrace_preload:*`) and the `looptrace:batch` events of format 2.0,
 * whose per-thread records (looptrace/probes/records.h) it expands, maps from the record clock
 * to the trace clock (interpolating between the calibration pairs the batches carry) and
 * merges by time with each other and with the ordinary events. A batch reaches the trace when
 * its thread flushes, after its records happened: so while a trace holds batches, every event
 * is held back in a per-thread queue until the input has moved `horizon` past it (adaptive:
 * at least 20 ms, twice the largest flush delay seen), then released in time order. A record
 * that still arrives after its time was released is fed anyway (the core counts it in
 * trace.anomalies.time_backwards). Traces without batches are passed through unchanged.
 *
 * Callbacks: `event` for each decoded event (struct lt_event, strings valid during the call);
 * `lost` for discarded events (LTTng's count: a lost batch counts as one) and for the records
 * of lost batches, found from gaps in a thread's record numbering (exact count, time window);
 * `object`, `build_id`, `procname` for statedump events, at once; `host` and `clock` when
 * an event class of a new host or trace clock is first seen.
 *
 * Hosts: traces of several machines (their `hostname` environment entries) are decoded
 * together; every vpid the callbacks get is a process key LT_PROC_KEY(host, vpid), host 0
 * being the first host seen (its keys are plain pids).
 */
#ifndef LT_BT2_DECODE_H
#define LT_BT2_DECODE_H

#include "looptrace/analysis.h"

#include <babeltrace2/babeltrace.h>
#include <stddef.h>
#include <stdint.h>

struct lt_decode_ops {
	void *ctx;
	void (*event)(void *ctx, const struct lt_event *e);
	void (*lost)(void *ctx, uint64_t count, int has_window, int64_t begin_ns, int64_t end_ns);
	void (*object)(void *ctx, int64_t vpid, uint64_t baddr, uint64_t memsz, const char *path,
		       int is_pic); /* may be NULL */
	void (*build_id)(void *ctx, int64_t vpid, uint64_t baddr, const uint8_t *id,
			 size_t len);                                /* may be NULL */
	void (*procname)(void *ctx, int64_t vpid, const char *name); /* may be NULL */
	/* host number `host` is named `name` (the trace's `hostname`, "" when it has none) */
	void (*host)(void *ctx, uint32_t host, const char *name); /* may be NULL */
	/* a trace of host `host` has the clock `uuid` (NULL: unknown) of offset `offset_ns` */
	void (*clock)(void *ctx, uint32_t host, const char *uuid,
		      int64_t offset_ns); /* may be NULL */
	/* a thread of process `vpid` reads handler bounds with a bracket of `ns` (its BRACKET
	 * record, format 2.2), which its handlers' ends are moved back by (unless
	 * LOOPTRACE_RAW_BOUNDS is set: then `ns` is still reported, not applied) */
	void (*bracket)(void *ctx, int64_t vpid, int64_t ns); /* may be NULL */
};

struct lt_decoder;

/* lt_decoder_create - NULL when out of memory. `ops` is copied. */
struct lt_decoder *lt_decoder_create(const struct lt_decode_ops *ops);
void lt_decoder_destroy(struct lt_decoder *d);

/* lt_decoder_message - one babeltrace2 message (event, discarded events, inactivity). */
void lt_decoder_message(struct lt_decoder *d, const bt_message *m);

/* lt_decoder_finish - end of input: releases every event held back. */
void lt_decoder_finish(struct lt_decoder *d);

/* lt_decoder_pending - events held back now (for tests and the live view's bound). */
size_t lt_decoder_pending(const struct lt_decoder *d);

#endif /* LT_BT2_DECODE_H */
