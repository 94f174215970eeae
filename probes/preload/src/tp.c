/*
 * tp.c - the probe callbacks of provider `looptrace_preload` and its tracepoint definitions.
 * Linked before preload.c so that its registration constructor runs first.
 */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "looptrace-preload-tp.h"
