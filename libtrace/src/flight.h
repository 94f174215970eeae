/*
 * flight.h - liblooptrace's flight-recorder conditions (internal; see flight.c).
 *
 * `looptrace record --flight-recorder --on COND` puts the thresholds in LOOPTRACE_FLIGHT; they
 * are read once at load. Unarmed, the hooks below cost a predictable branch (an unarmed
 * threshold is its type's maximum, so `depth > threshold` is never true). A match emits one
 * `looptrace:trigger` event (trace.c, lt__flight_emit), which an LTTng trigger turns into a
 * snapshot of the session.
 */
#ifndef LOOPTRACE_FLIGHT_H
#define LOOPTRACE_FLIGHT_H

#include <stdint.h>

#define LT_HIDDEN __attribute__((visibility("hidden")))

struct lt__flight_config {
	uint64_t blocked_ns; /* blocked>DUR: a block inside a handler (UINT64_MAX: unarmed) */
	uint64_t handler_ns; /* handler>DUR: a handler's run (UINT64_MAX: unarmed) */
	uint32_t depth;      /* depth>N: a channel's depth after a send (UINT32_MAX: unarmed) */
	int latency;         /* latency>DUR armed: routes note their add time (latency_ns) */
	uint64_t latency_ns; /* latency>DUR: a route's add to its first dispatch */
	int armed;           /* blocked or handler armed: handlers and blocks note their times */
	int any;             /* any condition armed: component_begin notes the component's name */
};

extern LT_HIDDEN struct lt__flight_config lt__flight;
extern LT_HIDDEN uint64_t lt__flight_record; /* the process's LOOPTRACE_RECORD_ID (0: none) */

/* The condition names, as `--on` takes them and the trigger event carries them. */
#define LT_FLIGHT_COND_BLOCKED "blocked"
#define LT_FLIGHT_COND_HANDLER "handler"
#define LT_FLIGHT_COND_DEPTH   "depth"
#define LT_FLIGHT_COND_LATENCY "latency"

LT_HIDDEN void lt__flight_component(const char *name);
LT_HIDDEN const char *lt__flight_component_name(void);
LT_HIDDEN void lt__flight_handler_begin(void);
LT_HIDDEN void lt__flight_handler_end(void);
LT_HIDDEN void lt__flight_block_begin(uint32_t reason, const void *object, const void *where);
LT_HIDDEN void lt__flight_block_end(void);
LT_HIDDEN void lt__flight_depth(uint32_t chan, uint32_t depth, const void *where);
LT_HIDDEN void lt__flight_route_add(uint32_t route, uint32_t owner);
LT_HIDDEN void lt__flight_route_dispatch(uint32_t route, const void *where);

/*
 * The hooks trace.c calls, one per lt_* call concerned: unarmed, a predictable branch on a
 * flag (blocks, handlers) or a compare against a threshold that cannot be passed (depth).
 * Armed, blocks and handlers read CLOCK_MONOTONIC at their begin and end (the record clock
 * of format 2.0 may be the TSC), so the conditions hold whichever format records.
 */
#define LT_FLIGHT_COMPONENT(name)                                                                  \
	do {                                                                                       \
		if (__builtin_expect(lt__flight.any, 0))                                           \
			lt__flight_component(name);                                                \
	} while (0)
#define LT_FLIGHT_HANDLER_BEGIN()                                                                  \
	do {                                                                                       \
		if (__builtin_expect(lt__flight.armed, 0))                                         \
			lt__flight_handler_begin();                                                \
	} while (0)
#define LT_FLIGHT_HANDLER_END()                                                                    \
	do {                                                                                       \
		if (__builtin_expect(lt__flight.armed, 0))                                         \
			lt__flight_handler_end();                                                  \
	} while (0)
#define LT_FLIGHT_BLOCK_BEGIN(reason, object, where)                                               \
	do {                                                                                       \
		if (__builtin_expect(lt__flight.armed, 0))                                         \
			lt__flight_block_begin((uint32_t)(reason), (object), (where));             \
	} while (0)
#define LT_FLIGHT_BLOCK_END()                                                                      \
	do {                                                                                       \
		if (__builtin_expect(lt__flight.armed, 0))                                         \
			lt__flight_block_end();                                                    \
	} while (0)
#define LT_FLIGHT_DEPTH(chan, depth, where)                                                        \
	do {                                                                                       \
		if (__builtin_expect((depth) > lt__flight.depth, 0))                               \
			lt__flight_depth((chan), (depth), (where));                                \
	} while (0)

/*
 * latency>DUR: a route's add (the request is sent) to its first dispatch (its reply is
 * delivered by the router), through a table indexed by route id (flight.c). Unarmed, a
 * predictable branch on a flag.
 */
#define LT_FLIGHT_ROUTE_ADD(route, owner)                                                          \
	do {                                                                                       \
		if (__builtin_expect(lt__flight.latency, 0))                                       \
			lt__flight_route_add((route), (owner));                                    \
	} while (0)
#define LT_FLIGHT_ROUTE_DISPATCH(route, where)                                                     \
	do {                                                                                       \
		if (__builtin_expect(lt__flight.latency, 0))                                       \
			lt__flight_route_dispatch((route), (where));                               \
	} while (0)

/* trace.c: writes the `looptrace:trigger` event (after lt__flush_thread). */
LT_HIDDEN void lt__flight_emit(const char *condition, uint64_t value, uint64_t begin_ns,
			       uint64_t end_ns, const void *where, uint64_t object,
			       uint32_t reason);
/* The same for another component than the thread's (comp; its name is not known here). */
LT_HIDDEN void lt__flight_emit_for(uint32_t comp, const char *condition, uint64_t value,
				   uint64_t begin_ns, uint64_t end_ns, const void *where,
				   uint64_t object, uint32_t reason);

#endif /* LOOPTRACE_FLIGHT_H */
