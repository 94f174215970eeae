"""Notifications of an LTTng 2.13 trigger, for `looptrace record --flight-recorder`.

The `lttng` client can add a trigger (`lttng add-trigger ... --action=notify`) but cannot
receive what it notifies: that takes liblttng-ctl's notification channel, used here through
ctypes (the library ships with lttng-tools; nothing is compiled). Only what the flight recorder
needs: find the trigger by name, subscribe to its condition, and poll without blocking for its
notifications, each returned as the list of the values its `--capture` descriptors captured
(int, str, or None when a field was not there).

Every failure is raised as errors.UserError with a one-line reason.
"""

import ctypes
import ctypes.util

from .errors import UserError

_OK = 0
_DROPPED = 1
_INTERRUPTED = 2
_CLOSED = -2
_LTTNG_OK = 10  # enum lttng_error_code

_UINT, _SINT, _UENUM, _SENUM, _REAL, _STRING = 0, 1, 2, 3, 4, 5

_lib = None


def _load():
    """liblttng-ctl with the prototypes used here; UserError when it is missing or too old."""
    global _lib
    if _lib is not None:
        return _lib
    name = ctypes.util.find_library("lttng-ctl") or "liblttng-ctl.so.0"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        raise UserError("--flight-recorder needs liblttng-ctl (lttng-tools 2.13 or later): "
                        "cannot load %s" % name) from None
    vp, cp, ci = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    protos = {
        "lttng_notification_channel_create": (vp, [vp]),
        "lttng_notification_channel_destroy": (None, [vp]),
        "lttng_notification_channel_subscribe": (ci, [vp, vp]),
        "lttng_notification_channel_has_pending_notification": (
            ci, [vp, ctypes.POINTER(ctypes.c_bool)]),
        "lttng_notification_channel_get_next_notification": (ci, [vp, ctypes.POINTER(vp)]),
        "lttng_notification_destroy": (None, [vp]),
        "lttng_notification_get_evaluation": (vp, [vp]),
        "lttng_notification_get_trigger": (vp, [vp]),
        "lttng_evaluation_event_rule_matches_get_captured_values": (
            ci, [vp, ctypes.POINTER(vp)]),
        "lttng_event_field_value_get_type": (ci, [vp]),
        "lttng_event_field_value_unsigned_int_get_value": (
            ci, [vp, ctypes.POINTER(ctypes.c_uint64)]),
        "lttng_event_field_value_signed_int_get_value": (
            ci, [vp, ctypes.POINTER(ctypes.c_int64)]),
        "lttng_event_field_value_string_get_value": (ci, [vp, ctypes.POINTER(cp)]),
        "lttng_event_field_value_array_get_length": (
            ci, [vp, ctypes.POINTER(ctypes.c_uint)]),
        "lttng_event_field_value_array_get_element_at_index": (
            ci, [vp, ctypes.c_uint, ctypes.POINTER(vp)]),
        "lttng_list_triggers": (ci, [ctypes.POINTER(vp)]),
        "lttng_triggers_get_count": (ci, [vp, ctypes.POINTER(ctypes.c_uint)]),
        "lttng_triggers_get_at_index": (vp, [vp, ctypes.c_uint]),
        "lttng_triggers_destroy": (None, [vp]),
        "lttng_trigger_get_name": (ci, [vp, ctypes.POINTER(cp)]),
        "lttng_trigger_get_const_condition": (vp, [vp]),
    }
    for fn, (res, argtypes) in protos.items():
        try:
            f = getattr(lib, fn)
        except AttributeError:
            raise UserError("--flight-recorder needs LTTng 2.13 or later (triggers): %s has no "
                            "%s" % (name, fn)) from None
        f.restype = res
        f.argtypes = argtypes
    _lib = lib
    return lib


def _value(lib, fv):
    kind = lib.lttng_event_field_value_get_type(fv)
    if kind in (_UINT, _UENUM):
        v = ctypes.c_uint64()
        if lib.lttng_event_field_value_unsigned_int_get_value(fv, ctypes.byref(v)) == 0:
            return v.value
    elif kind in (_SINT, _SENUM):
        v = ctypes.c_int64()
        if lib.lttng_event_field_value_signed_int_get_value(fv, ctypes.byref(v)) == 0:
            return v.value
    elif kind == _STRING:
        s = ctypes.c_char_p()
        if lib.lttng_event_field_value_string_get_value(fv, ctypes.byref(s)) == 0 and s.value:
            return s.value.decode("utf-8", "replace")
        return ""
    return None


class Notifications:
    """A subscription to the notifications of the trigger named `trigger_name` (which must
    exist, owned by this user); close() when done."""

    def __init__(self, trigger_name):
        lib = _load()
        self.lib = lib
        endpoint = ctypes.c_void_p.in_dll(lib, "lttng_session_daemon_notification_endpoint")
        self.chan = lib.lttng_notification_channel_create(endpoint)
        if not self.chan:
            raise UserError("cannot open a notification channel to the session daemon")
        self.dropped = 0
        self._triggers = ctypes.c_void_p()
        try:
            self._subscribe(trigger_name)
        except UserError:
            self.close()
            raise

    def _subscribe(self, trigger_name):
        lib = self.lib
        ret = lib.lttng_list_triggers(ctypes.byref(self._triggers))
        if ret != _LTTNG_OK or not self._triggers:
            raise UserError("cannot list the session daemon's triggers (lttng error %d)" % ret)
        count = ctypes.c_uint()
        lib.lttng_triggers_get_count(self._triggers, ctypes.byref(count))
        for i in range(count.value):
            trig = lib.lttng_triggers_get_at_index(self._triggers, i)
            name = ctypes.c_char_p()
            if lib.lttng_trigger_get_name(trig, ctypes.byref(name)) != 0 or not name.value:
                continue
            if name.value.decode("utf-8", "replace") != trigger_name:
                continue
            cond = lib.lttng_trigger_get_const_condition(trig)
            status = lib.lttng_notification_channel_subscribe(self.chan, cond)
            if status != _OK:
                raise UserError("the session daemon refused the subscription to trigger %s "
                                "(status %d)" % (trigger_name, status))
            return
        raise UserError("trigger %s not found in the session daemon" % trigger_name)

    def poll(self):
        """The notifications received so far, without blocking: a list of capture lists."""
        lib = self.lib
        out = []
        while self.chan:
            pending = ctypes.c_bool(False)
            if lib.lttng_notification_channel_has_pending_notification(
                    self.chan, ctypes.byref(pending)) != _OK or not pending.value:
                break
            notif = ctypes.c_void_p()
            status = lib.lttng_notification_channel_get_next_notification(
                self.chan, ctypes.byref(notif))
            if status == _DROPPED:
                self.dropped += 1
                continue
            if status == _INTERRUPTED:
                continue
            if status != _OK or not notif:
                break
            try:
                out.append(self._captures(notif))
            finally:
                lib.lttng_notification_destroy(notif)
        return out

    def _captures(self, notif):
        lib = self.lib
        evaluation = lib.lttng_notification_get_evaluation(notif)
        arr = ctypes.c_void_p()
        if not evaluation or lib.lttng_evaluation_event_rule_matches_get_captured_values(
                evaluation, ctypes.byref(arr)) != 0 or not arr:
            return []
        n = ctypes.c_uint()
        if lib.lttng_event_field_value_array_get_length(arr, ctypes.byref(n)) != 0:
            return []
        values = []
        for i in range(n.value):
            fv = ctypes.c_void_p()
            if lib.lttng_event_field_value_array_get_element_at_index(
                    arr, i, ctypes.byref(fv)) != 0 or not fv:
                values.append(None)
            else:
                values.append(_value(lib, fv))
        return values

    def close(self):
        if self.chan:
            self.lib.lttng_notification_channel_destroy(self.chan)
            self.chan = None
        if self._triggers:
            self.lib.lttng_triggers_destroy(self._triggers)
            self._triggers = ctypes.c_void_p()
