/*
 * sink.h - the methods of the sink component class `report` (sink.looptrace.report).
 */
#ifndef LT_BT2_REPORT_SINK_H
#define LT_BT2_REPORT_SINK_H

#include <babeltrace2/babeltrace.h>

bt_component_class_initialize_method_status
lt_bt2_report_initialize(bt_self_component_sink *self, bt_self_component_sink_configuration *config,
			 const bt_value *params, void *init_data);

void lt_bt2_report_finalize(bt_self_component_sink *self);

bt_component_class_sink_graph_is_configured_method_status
lt_bt2_report_graph_is_configured(bt_self_component_sink *self);

bt_component_class_sink_consume_method_status lt_bt2_report_consume(bt_self_component_sink *self);

#endif /* LT_BT2_REPORT_SINK_H */
