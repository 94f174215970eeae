/*
 * looptrace/events.h - the event kinds of the trace model, spelled in one place.
 *
 * LT_EVENT_KINDS(X) expands X(KIND, name, preload, "fields") once per per-call event of the
 * `looptrace` provider (docs/event-model.md): KIND names the analysis core's
 * LT_EV_<KIND> (enum lt_ev_kind, looptrace/analysis.h), `name` is the tracepoint's name (a
 * token: #name is the event name after "looptrace:"), `preload` is 1 when the interposer's
 * provider `looptrace_preload` has an event of that name too, and "fields" lists the event's
 * payload fields in order. Format 2.0 records (looptrace/probes/records.h) decode into these
 * kinds; `looptrace:batch`, the records' carrier, is not one of them.
 *
 * Who builds from it: liblooptrace checks at compile time that every kind is a tracepoint of
 * its provider (trace.c); the decoder maps event names to kinds (analysis/bt2/decode.c); the
 * report sink names decoded events (`events-output`, analysis/bt2/report/sink.c). Block
 * reasons have their own table, looptrace/reasons.h.
 */
#ifndef LOOPTRACE_EVENTS_H
#define LOOPTRACE_EVENTS_H

/*
 * LT_DEPTH_UNKNOWN - a `depth` for lt_send/lt_recv that the caller did not read: the analysis
 * takes the channel's last depth plus one (send) or less one (recv, never below 0). Reading a
 * queue's length costs a load of the other side's index, a cache line the other thread keeps
 * writing; liblooptrace-rt's receivers pass it, so that tracing adds no cross-core miss to a
 * receive (the senders' depths anchor the count). docs/event-model.md, "Queue depths".
 */
#define LT_DEPTH_UNKNOWN 0xffffffffu

/*
 * lt_depth_after - a channel's depth after a send (step +1) or a receive (step -1) that
 * reported `depth`: a known depth as it is; LT_DEPTH_UNKNOWN as the channel's `last` depth
 * plus step, never below 0 nor above `capacity` (0: no bound). The analysis and the Perfetto
 * export read depths through it.
 */
static inline unsigned lt_depth_after(unsigned depth, unsigned last, int step, unsigned capacity)
{
	if (depth != LT_DEPTH_UNKNOWN)
		return depth;
	if (step < 0)
		return last ? last - 1 : 0;
	return capacity && last >= capacity ? capacity : last + 1;
}

#define LT_EVENT_KINDS(X)                                                                          \
	X(COMPONENT_BEGIN, component_begin, 1, "comp name")                                        \
	X(COMPONENT_END, component_end, 1, "comp")                                                 \
	X(CHANNEL_DECLARE, channel_declare, 0, "chan name capacity object")                        \
	X(WAIT_BEGIN, wait_begin, 0, "")                                                           \
	X(WAIT_END, wait_end, 0, "chan msg")                                                       \
	X(HANDLE_BEGIN, handle_begin, 0, "msg kind")                                               \
	X(HANDLE_END, handle_end, 0, "msg begin_ts end_ts")                                        \
	X(HANDLE_NEXT, handle_next, 0, "prev begin_ts end_ts chan msg depth kind")                 \
	X(BLOCK_BEGIN, block_begin, 1, "reason object where")                                      \
	X(BLOCK_END, block_end, 1, "")                                                             \
	X(SEND, send, 0, "chan msg flow depth")                                                    \
	X(RECV, recv, 0, "chan msg depth")                                                         \
	X(ROUTE_ADD, route_add, 0, "route chan owner")                                             \
	X(ROUTE_REMOVE, route_remove, 0, "route")                                                  \
	X(ROUTE_DISPATCH_BEGIN, route_dispatch_begin, 0, "route msg")                              \
	X(ROUTE_DISPATCH_END, route_dispatch_end, 0, "route")                                      \
	X(POOL_DECLARE, pool_declare, 0, "pool name threads")                                      \
	X(POOL_WORKER_BEGIN, pool_worker_begin, 0, "pool")                                         \
	X(POOL_WORKER_END, pool_worker_end, 0, "pool")                                             \
	X(SEQ_BEGIN, seq_begin, 0, "comp name pool flags")                                         \
	X(SEQ_END, seq_end, 0, "comp")                                                             \
	X(SEQ_READY, seq_ready, 0, "comp")                                                         \
	X(SEQ_RUN_BEGIN, seq_run_begin, 0, "comp")                                                 \
	X(SEQ_RUN_END, seq_run_end, 0, "comp")

/* The number of kinds LT_EVENT_KINDS lists. */
#define LT__EVENT_KIND_ONE(K, name, preload, fields) +1
#define LT_EVENT_KIND_LISTED                         (0 LT_EVENT_KINDS(LT__EVENT_KIND_ONE))

#endif /* LOOPTRACE_EVENTS_H */
