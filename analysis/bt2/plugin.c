/*
 * plugin.c - declares the babeltrace2 plugin `looptrace` and its component classes. The
 * classes live in their own folders; this file only declares them.
 *
 *   sink.looptrace.report   feeds the analysis core with the muxed trace and writes the
 *                           schema-v1 JSON report (report/sink.c)
 *   sink.looptrace.perfetto writes Chrome/Perfetto trace-event JSON (perfetto/perfetto.c)
 */
#include <babeltrace2/babeltrace.h>

#include "report/sink.h"
#include "perfetto/perfetto.h"

BT_PLUGIN_MODULE();

BT_PLUGIN(looptrace);
BT_PLUGIN_DESCRIPTION("looptrace: event-loop component analysis of looptrace LTTng traces");
BT_PLUGIN_LICENSE("MIT");

BT_PLUGIN_SINK_COMPONENT_CLASS(report, lt_bt2_report_consume);
BT_PLUGIN_SINK_COMPONENT_CLASS_DESCRIPTION(
    report, "Analyse looptrace events and write the looptrace-report/1 JSON report");
BT_PLUGIN_SINK_COMPONENT_CLASS_HELP(
    report, "Parameters: output (string, required; \"-\" = stdout), trace-path (string), begin-ns, "
	    "end-ns (absolute ns), begin-offset-ns, end-offset-ns (ns from the first event), "
	    "progress (bool), series-interval-ns (integer), snapshot-interval-ms (integer) and "
	    "snapshot-output (string; \"-\" = stdout): one JSON report per line every interval "
	    "(live view; `output` is then optional); graph-output (string): also write the "
	    "message graph there (looptrace whatif).");
BT_PLUGIN_SINK_COMPONENT_CLASS_INITIALIZE_METHOD(report, lt_bt2_report_initialize);
BT_PLUGIN_SINK_COMPONENT_CLASS_FINALIZE_METHOD(report, lt_bt2_report_finalize);
BT_PLUGIN_SINK_COMPONENT_CLASS_GRAPH_IS_CONFIGURED_METHOD(report,
							  lt_bt2_report_graph_is_configured);

/* sink.looptrace.perfetto (perfetto/perfetto.c) */
BT_PLUGIN_SINK_COMPONENT_CLASS(perfetto, lt_perfetto_consume);
BT_PLUGIN_SINK_COMPONENT_CLASS_DESCRIPTION(
    perfetto, "Write looptrace events as Chrome/Perfetto trace-event JSON (ui.perfetto.dev)");
BT_PLUGIN_SINK_COMPONENT_CLASS_HELP(
    perfetto, "Parameters: output (string, required: the JSON file to write; \"-\" = stdout).");
BT_PLUGIN_SINK_COMPONENT_CLASS_INITIALIZE_METHOD(perfetto, lt_perfetto_init);
BT_PLUGIN_SINK_COMPONENT_CLASS_FINALIZE_METHOD(perfetto, lt_perfetto_finalize);
BT_PLUGIN_SINK_COMPONENT_CLASS_GRAPH_IS_CONFIGURED_METHOD(perfetto,
							  lt_perfetto_graph_is_configured);
