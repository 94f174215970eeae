/*
 * looptrace-preload-tp.h - the LTTng-UST tracepoint provider `looptrace_preload`, fired by the
 * interposer (liblooptrace-preload.so) in unmodified pthread programs.
 *
 * The events carry the same names and fields as their counterparts of provider `looptrace`
 * (probes/include/looptrace/probes/looptrace-tp.h), so the analysis reads both alike:
 *   component_begin {comp, name}  a thread started, or was renamed (same comp, same thread)
 *   component_end   {comp}        the thread exits
 *   component_rename {comp, name} another thread renamed `comp`'s thread (no API counterpart)
 *   block_begin     {reason, object, where}
 *   block_end       {}
 * Component ids are 0x80000000 | n so they never collide with liblooptrace's (1, 2, ...).
 * tp.c includes this header with LTTNG_UST_TRACEPOINT_CREATE_PROBES and
 * LTTNG_UST_TRACEPOINT_DEFINE; preload.c includes it plainly.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER looptrace_preload

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "looptrace-preload-tp.h"

#if !defined(LOOPTRACE_PRELOAD_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define LOOPTRACE_PRELOAD_TP_H

#include <lttng/tracepoint.h>
#include <stdint.h>

/* clang-format off */

/* component_begin: this thread runs component `comp` named `name` (again: a rename). */
LTTNG_UST_TRACEPOINT_EVENT(looptrace_preload, component_begin,
	LTTNG_UST_TP_ARGS(uint32_t, comp, const char *, name),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, comp, comp)
		lttng_ust_field_string(name, name)))

/*
 * component_rename: the component `comp` of this process, another thread's, is now named
 * `name` (pthread_setname_np on another thread; that thread may be blocked for long).
 */
LTTNG_UST_TRACEPOINT_EVENT(looptrace_preload, component_rename,
	LTTNG_UST_TP_ARGS(uint32_t, comp, const char *, name),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, comp, comp)
		lttng_ust_field_string(name, name)))

/* component_end: the thread that ran `comp` exits. */
LTTNG_UST_TRACEPOINT_EVENT(looptrace_preload, component_end,
	LTTNG_UST_TP_ARGS(uint32_t, comp),
	LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(uint32_t, comp, comp)))

/* block_begin: blocked for `reason` (enum lt_block_reason) on `object`, called from `where`. */
LTTNG_UST_TRACEPOINT_EVENT(looptrace_preload, block_begin,
	LTTNG_UST_TP_ARGS(uint32_t, reason, uint64_t, object, uint64_t, where),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, reason, reason)
		lttng_ust_field_integer_hex(uint64_t, object, object)
		lttng_ust_field_integer_hex(uint64_t, where, where)))

/* block_end: the block that began last on this thread ended. */
LTTNG_UST_TRACEPOINT_EVENT(looptrace_preload, block_end,
	LTTNG_UST_TP_ARGS(),
	LTTNG_UST_TP_FIELDS())

/* clang-format on */

#endif /* LOOPTRACE_PRELOAD_TP_H */

#include <lttng/tracepoint-event.h>
