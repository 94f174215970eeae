/*
 * trace.c - liblooptrace: id allocation and one tracepoint per lt_* call.
 * (Provisional: the tracepoints are wired in by the probes work.)
 */
#include "looptrace/trace.h"

#include <stdatomic.h>

#define LT_API __attribute__((visibility("default")))

static _Atomic uint32_t next_component = 1;
static _Atomic uint32_t next_channel = 1;
static _Atomic uint32_t next_route = 1;
static _Atomic uint64_t next_message = 1;

static const char *const reason_names[LT_BLOCK_REASON_COUNT] = {
    "chan_recv", "chan_send", "mutex", "condvar", "rwlock", "sem", "sleep", "io", "join", "call",
};

LT_API const char *lt_block_reason_name(enum lt_block_reason reason)
{
	unsigned r = (unsigned)reason;
	return r < LT_BLOCK_REASON_COUNT ? reason_names[r] : "unknown";
}

LT_API uint32_t lt_component_begin(const char *name)
{
	(void)name;
	return atomic_fetch_add_explicit(&next_component, 1, memory_order_relaxed);
}

LT_API void lt_component_end(void)
{
}

LT_API uint32_t lt_channel_declare(const char *name, uint32_t capacity)
{
	(void)name;
	(void)capacity;
	return atomic_fetch_add_explicit(&next_channel, 1, memory_order_relaxed);
}

LT_API uint64_t lt_message_new(void)
{
	return atomic_fetch_add_explicit(&next_message, 1, memory_order_relaxed);
}

LT_API void lt_wait_begin(void)
{
}

LT_API void lt_wait_end(uint32_t chan, uint64_t msg)
{
}

LT_API void lt_handle_begin(uint64_t msg, const char *kind)
{
}

LT_API void lt_handle_end(uint64_t msg)
{
}

LT_API void lt_block_begin(enum lt_block_reason reason, const void *object)
{
}

LT_API void lt_block_end(void)
{
}

LT_API void lt_send(uint32_t chan, uint64_t msg, uint64_t flow, uint32_t depth)
{
}

LT_API void lt_recv(uint32_t chan, uint64_t msg, uint32_t depth)
{
}

LT_API uint32_t lt_route_add(uint32_t chan, uint32_t owner)
{
	return atomic_fetch_add_explicit(&next_route, 1, memory_order_relaxed);
}

LT_API void lt_route_remove(uint32_t route)
{
}

LT_API void lt_route_dispatch_begin(uint32_t route, uint64_t msg)
{
}

LT_API void lt_route_dispatch_end(uint32_t route)
{
}

LT_API int lt_tracing_available(void)
{
	return 0;
}
