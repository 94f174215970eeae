/*
 * flight.c - the flight recorder's conditions, checked inside the traced process.
 *
 * `looptrace record --flight-recorder SIZE --on COND` passes the thresholds in the environment
 * variable LOOPTRACE_FLIGHT, read once when liblooptrace is loaded:
 *
 *     LOOPTRACE_FLIGHT=blocked=10000000,depth=64,gap=1000000000,max=10
 *
 * (durations in ns; a key absent: that condition is not armed). Unarmed, trace.c's hooks
 * cost a predictable branch on a flag (handlers, blocks) or a compare against a threshold
 * that cannot be passed (depth); armed `blocked` or `handler` make each handler's and block's
 * begin and end read CLOCK_MONOTONIC (format 2.0's record clock may be the TSC, and format
 * 1.x reads its own), armed `latency` each lt_route_add and each route's first
 * lt_route_dispatch_begin (the route table below). A match (rate-limited per process: at most
 * `max` triggers, at least `gap` ns apart) hands the thread's records to LTTng (lt__flush_thread)
 * and emits one `looptrace:trigger` event. See docs/flight-recorder.md.
 */
#define _GNU_SOURCE
#include "flight.h"
#include "looptrace/events.h"
#include "looptrace/trace.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

LT_HIDDEN struct lt__flight_config lt__flight = {UINT64_MAX, UINT64_MAX, UINT32_MAX, 0,
						 UINT64_MAX, 0,          0};

LT_HIDDEN uint64_t lt__flight_record;    /* LOOPTRACE_RECORD_ID: the trigger's filter */
static uint64_t gap_ns = 1000000000u;    /* at least this long between two triggers */
static uint32_t max_triggers = 10;       /* per process */
static _Atomic uint64_t last_trigger_ns; /* 0: none yet */
static _Atomic uint32_t triggers;        /* fired so far */

#define LT_TLS __thread __attribute__((tls_model("initial-exec")))

/* The handler running on this thread (handler_ts 0: none), for handler>DUR and blocked>DUR. */
static LT_TLS uint64_t handler_ts;
/* The block in progress on this thread (block_ts 0: none), for blocked>DUR. */
static LT_TLS uint64_t block_ts;
static LT_TLS const void *block_where, *block_object;
static LT_TLS uint32_t block_reason;
/* The component's name, copied at lt_component_begin (the caller's string may go away). */
static LT_TLS char component_name[64];

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* take - whether a trigger may fire now (the rate limit). */
static int take(void)
{
	uint64_t now = now_ns();
	uint64_t last = atomic_load_explicit(&last_trigger_ns, memory_order_relaxed);
	uint32_t n;

	if (last && now - last < gap_ns)
		return 0;
	if (!atomic_compare_exchange_strong(&last_trigger_ns, &last, now))
		return 0; /* another thread fired meanwhile */
	n = atomic_fetch_add_explicit(&triggers, 1, memory_order_relaxed);
	return n < max_triggers;
}

void lt__flight_component(const char *name)
{
	size_t n = name ? strnlen(name, sizeof(component_name) - 1) : 0;

	memcpy(component_name, name ? name : "", n);
	component_name[n] = '\0';
}

const char *lt__flight_component_name(void)
{
	return component_name;
}

/* Without handler>DUR only whether a handler runs matters (for blocked>DUR): no clock. */
void lt__flight_handler_begin(void)
{
	handler_ts = lt__flight.handler_ns != UINT64_MAX ? now_ns() : 1;
}

void lt__flight_handler_end(void)
{
	uint64_t begin = handler_ts, end;

	handler_ts = 0;
	if (begin <= 1)
		return;
	end = now_ns();
	if (end - begin > lt__flight.handler_ns && take())
		lt__flight_emit(LT_FLIGHT_COND_HANDLER, end - begin, begin, end, NULL, 0, 0);
}

void lt__flight_block_begin(uint32_t reason, const void *object, const void *where)
{
	if (lt__flight.blocked_ns == UINT64_MAX)
		return;
	block_reason = reason;
	block_object = object;
	block_where = where;
	block_ts = now_ns();
}

void lt__flight_block_end(void)
{
	uint64_t begin = block_ts, end, len;

	if (!begin)
		return;
	block_ts = 0;
	if (!handler_ts) /* a block outside a handler: not this condition */
		return;
	end = now_ns();
	len = end - begin;
	if (len <= lt__flight.blocked_ns || !take())
		return;
	lt__flight_emit(LT_FLIGHT_COND_BLOCKED, len, begin, end, block_where,
			(uint64_t)(uintptr_t)block_object, block_reason);
}

void lt__flight_depth(uint32_t chan, uint32_t depth, const void *where)
{
	uint64_t now;

	if (depth <= lt__flight.depth || depth == LT_DEPTH_UNKNOWN || !take())
		return;
	now = now_ns();
	lt__flight_emit(LT_FLIGHT_COND_DEPTH, depth, now, now, where, chan, 0);
}

/*
 * latency>DUR: the add time of the last ROUTE_SLOTS routes, slot = route id modulo
 * ROUTE_SLOTS. route_add (the requesting thread) and the first dispatch (the router thread)
 * meet here without a lock: the writer marks the slot busy (key 0), stores the time, then
 * publishes the key; the reader takes the key, reads the time, and claims the slot by
 * swapping the key back to 0 (so only the first dispatch of a route counts, and a slot
 * rewritten meanwhile by a newer route fails the swap). A key that does not match (the slot
 * reused by a route ROUTE_SLOTS or more later, a dispatch after the first) means unknown: no
 * trigger.
 */
#define ROUTE_SLOTS 4096u /* a power of two: 64 KiB, touched only when armed */

struct route_slot {
	_Atomic uint64_t key; /* (route + 1) | owner << 32; 0: free or being written */
	_Atomic uint64_t ts;  /* CLOCK_MONOTONIC at lt_route_add */
};

static struct route_slot routes[ROUTE_SLOTS];

void lt__flight_route_add(uint32_t route, uint32_t owner)
{
	struct route_slot *s = &routes[route & (ROUTE_SLOTS - 1)];
	uint32_t id = route + 1;

	if (!id)
		return; /* the one id whose key would read as free */
	atomic_store_explicit(&s->key, 0, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&s->ts, now_ns(), memory_order_relaxed);
	atomic_store_explicit(&s->key, id | (uint64_t)owner << 32, memory_order_release);
}

void lt__flight_route_dispatch(uint32_t route, const void *where)
{
	struct route_slot *s = &routes[route & (ROUTE_SLOTS - 1)];
	uint64_t key = atomic_load_explicit(&s->key, memory_order_acquire);
	uint64_t begin, end;

	if (!key || (uint32_t)key != route + 1)
		return;
	begin = atomic_load_explicit(&s->ts, memory_order_acquire);
	/* the key unchanged since it was read: `begin` is this route's (seqlock read side) */
	if (!atomic_compare_exchange_strong_explicit(&s->key, &key, 0, memory_order_acq_rel,
						     memory_order_relaxed))
		return;
	end = now_ns();
	if (end < begin || end - begin <= lt__flight.latency_ns || !take())
		return;
	if ((uint32_t)(key >> 32))
		lt__flight_emit_for((uint32_t)(key >> 32), LT_FLIGHT_COND_LATENCY, end - begin,
				    begin, end, where, route, 0);
	else
		lt__flight_emit(LT_FLIGHT_COND_LATENCY, end - begin, begin, end, where, route, 0);
}

/* parse - whether `key=N` is in the comma-separated `spec`, with N in *out. */
static int parse(const char *spec, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);
	const char *p = spec;

	while (p && *p) {
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			char *end;
			unsigned long long v;

			errno = 0;
			v = strtoull(p + klen + 1, &end, 10);
			if (errno || end == p + klen + 1 || (*end && *end != ','))
				return 0;
			*out = v;
			return 1;
		}
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return 0;
}

__attribute__((constructor)) static void lt_flight_init(void)
{
	const char *spec = getenv("LOOPTRACE_FLIGHT");
	const char *rec = getenv("LOOPTRACE_RECORD_ID");
	uint64_t v;

	if (!spec || !*spec)
		return;
	if (rec)
		lt__flight_record = strtoull(rec, NULL, 10);
	if (parse(spec, "blocked", &v) && v < UINT64_MAX)
		lt__flight.blocked_ns = v;
	if (parse(spec, "handler", &v) && v < UINT64_MAX)
		lt__flight.handler_ns = v;
	if (parse(spec, "depth", &v) && v < UINT32_MAX) {
		lt__flight.depth = (uint32_t)v;
		/* the condition needs every send's depth: liblooptrace-rt reads one in 64 else */
		__atomic_store_n(&lt__send_depths, 1, __ATOMIC_RELAXED);
	}
	if (parse(spec, "latency", &v) && v < UINT64_MAX) {
		lt__flight.latency_ns = v;
		lt__flight.latency = 1;
	}
	if (parse(spec, "gap", &v))
		gap_ns = v;
	if (parse(spec, "max", &v) && v < UINT32_MAX)
		max_triggers = (uint32_t)v;
	/* depth needs no state: its compare is armed by its threshold alone */
	lt__flight.armed =
	    lt__flight.blocked_ns != UINT64_MAX || lt__flight.handler_ns != UINT64_MAX;
	lt__flight.any = lt__flight.armed || lt__flight.depth != UINT32_MAX || lt__flight.latency;
}
