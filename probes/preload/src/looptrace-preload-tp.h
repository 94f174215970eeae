/*
 * looptrace-preload-tp.h - the LTTng-UST tracepoint provider `looptrace_preload`, fired by the
 * interposer (liblooptrace-preload.so) in unmodified pthread programs.
 *
 * The events carry the same names and fields as their counterparts of provider `looptrace`
 * (probes/include/looptrace/probes/looptrace-tp.h), so the analysis reads both alike:
 *   component_begin {comp, name, cpu_ns}  a thread started, or was renamed (same comp, thread)
 *   component_end   {comp, cpu_ns}        the thread exits
 *   component_rename {comp, name}         another thread renamed `comp`'s thread (no API
 *                                         counterpart)
 *   block_begin     {reason, object, where, call}
 *   block_end       {cpu_ns}
 * `call` (enum lt_preload_call, looptrace/probes/preload-calls.h) names the wrapped call that
 * blocked; `cpu_ns` is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID, 0 = unknown), read
 * as a wait returns and at the thread's start and end. Both were added after the first version: the
 * analysis reads traces without them (call unknown, no CPU time). Component ids are 0x80000000 | n
 * so they never collide with liblooptrace's (1, 2, ...). tp.c includes this header with
 * LTTNG_UST_TRACEPOINT_CREATE_PROBES and LTTNG_UST_TRACEPOINT_DEFINE; preload.c includes it
 * plainly.
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
	LTTNG_UST_TP_ARGS(uint32_t, comp, const char *, name, uint64_t, cpu_ns),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, comp, comp)
		lttng_ust_field_string(name, name)
		lttng_ust_field_integer(uint64_t, cpu_ns, cpu_ns)))

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
	LTTNG_UST_TP_ARGS(uint32_t, comp, uint64_t, cpu_ns),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, comp, comp)
		lttng_ust_field_integer(uint64_t, cpu_ns, cpu_ns)))

/*
 * block_begin: blocked for `reason` (enum lt_block_reason) on `object` in the wrapped call
 * `call` (enum lt_preload_call), called from `where`.
 */
LTTNG_UST_TRACEPOINT_EVENT(looptrace_preload, block_begin,
	LTTNG_UST_TP_ARGS(uint32_t, reason, uint64_t, object, uint64_t, where, uint8_t, call),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, reason, reason)
		lttng_ust_field_integer_hex(uint64_t, object, object)
		lttng_ust_field_integer_hex(uint64_t, where, where)
		lttng_ust_field_integer(uint8_t, call, call)))

/*
 * block_end: the block that began last on this thread ended; the thread had run `cpu_ns`.
 * The CPU time is read here, not at block_begin: work done before an event's time stamp is
 * counted on the event's earlier side, and after a wait it is counted as waiting by the
 * program's own clock too (a system call is also where a loaded machine preempts).
 */
LTTNG_UST_TRACEPOINT_EVENT(looptrace_preload, block_end,
	LTTNG_UST_TP_ARGS(uint64_t, cpu_ns),
	LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(uint64_t, cpu_ns, cpu_ns)))

/* clang-format on */

#endif /* LOOPTRACE_PRELOAD_TP_H */

#include <lttng/tracepoint-event.h>
