/*
 * perfetto.h - sink.looptrace.perfetto: looptrace events as a Chrome/Perfetto trace-event
 * JSON file (opens in ui.perfetto.dev and chrome://tracing).
 *
 * What the file holds: one track per traced thread, named after the component it runs
 * (thread_name metadata; process_name from the procname context); a slice per component
 * lifetime, per handler (named by message kind), per top-of-loop wait ("idle"), per block
 * (named by reason: chan_recv, mutex, ...) and per route dispatch; a counter per channel
 * depth ("<channel> depth"); and a flow arrow for every message, from a zero-length "send"
 * slice on the sender's track to the handler (or route dispatch) that consumed it, or to a
 * zero-length "recv" slice when a handler received it directly. Flows use the v2 form
 * (bind_id with flow_out/flow_in on the slices themselves) so each end is bound to its
 * slice, never to whatever happens to be open at a timestamp.
 *
 * Sequences (components on a pool): a track per sequence in its process, named after the
 * component (the tasks of one name share "name (tasks)" tracks, one per task alive at once),
 * with a "run" slice per run (seq_run_begin..end; args worker_tid, worker, pool), the
 * handler, block and send slices of the run inside it (a worker's events inside a run are
 * the sequence's), "runnable" slices (seq_ready to the next run) and "await <reason> (thread
 * released)" slices (a run that ended inside a block, to its seq_ready); a handler or block
 * that goes on in a later run is re-opened there (args continued: true). The worker's track
 * shows a slice per run named after the sequence; a counter "<pool> busy threads" per pool.
 * Tracks that are not a thread have tids from 0x40000000 up.
 *
 * Hosts: traces of several hosts (decode.h) keep the first host's pids; each process of a
 * later host gets a pid (and its threads tids) of its own from 0x40000000 up, and with
 * several hosts every process is named "procname @host".
 *
 * Streaming: the JSON is written as messages arrive. Memory is O(threads + channels +
 * messages in flight): a send is kept until the message is consumed, then both ends are
 * written; sends never consumed are written without an arrow when the stream ends.
 * Timestamps are microseconds (float) after the first event; pid = vpid, tid = vtid.
 *
 * Parameters: `output` (string, required): the file to write ("-" = standard output).
 * One input port, "in". The events come from the plugin's one decoder (decode.h), like the
 * report sink's: every trace format, providers `looptrace` and `looptrace_preload`; others,
 * unknown event names and missing fields are skipped.
 */
#ifndef LOOPTRACE_BT2_PERFETTO_H
#define LOOPTRACE_BT2_PERFETTO_H

#include <babeltrace2/babeltrace.h>

/* lt_perfetto_init - component initialization: checks params, opens `output`, adds "in". */
bt_component_class_initialize_method_status
lt_perfetto_init(bt_self_component_sink *self, bt_self_component_sink_configuration *config,
		 const bt_value *params, void *init_method_data);

/* lt_perfetto_finalize - closes the JSON document if the run did not, frees everything. */
void lt_perfetto_finalize(bt_self_component_sink *self);

/* lt_perfetto_graph_is_configured - creates the upstream message iterator. */
bt_component_class_sink_graph_is_configured_method_status
lt_perfetto_graph_is_configured(bt_self_component_sink *self);

/* lt_perfetto_consume - converts one batch of messages; END once the input is exhausted and
 * the document is complete; ERROR when the output cannot be written. */
bt_component_class_sink_consume_method_status lt_perfetto_consume(bt_self_component_sink *self);

#endif /* LOOPTRACE_BT2_PERFETTO_H */
