"""A stand-in for the looptrace babeltrace2 plugin, for testing how the CLI drives babeltrace2.

Plugin `looptrace`, sink `report`, like the real one (analysis/bt2), but it only counts the
`looptrace:*` events it receives and echoes its parameters into the report under "params",
so a test can check that paths and times reach the sink unchanged through babeltrace2's own
parameter parser. Loaded by the babeltrace2 CLI's Python plugin provider.
"""

import json
import os

import bt2

bt2.register_plugin(__name__, "looptrace")


@bt2.plugin_component_class
class report(bt2._UserSinkComponent):
    def __init__(self, config, params, obj):
        self._port = self._add_input_port("in")
        self._params = {}
        for key, value in params.items():
            if isinstance(value, bt2._StringValueConst):
                self._params[key] = str(value)
            elif isinstance(value, bt2._BoolValueConst):
                self._params[key] = bool(value)
            else:
                self._params[key] = int(value)
        self._events = 0
        self._it = None

    def _user_graph_is_configured(self):
        self._it = self._create_message_iterator(self._port)

    def _user_consume(self):
        try:
            msg = next(self._it)
        except StopIteration:
            self._write()
            raise
        if type(msg) is bt2._EventMessageConst and msg.event.name.startswith("looptrace:"):
            self._events += 1

    def _write(self):
        rep = {
            "schema": "looptrace-report/1",
            "trace": {"path": self._params.get("trace-path", ""), "begin_ns": 0, "end_ns": 0,
                      "events": self._events, "lost_events": 0, "lost_windows": []},
            "components": [], "channels": [], "routes": [],
            "flows": {"count": 0, "latency_ns": {}, "hops": [], "critical_path": []},
            "parallelism": {"mean_busy_components": 0.0, "max_busy_components": 0},
            "warnings": [],
            "params": self._params,
        }
        data = json.dumps(rep).encode()
        if self._params["output"] == "-":
            os.write(1, data)  # standard output, unbuffered: as the real sink's "-"
        else:
            with open(self._params["output"], "wb") as f:
                f.write(data)
