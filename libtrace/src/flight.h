/*
 * flight.h - liblooptrace's flight-recorder conditions (internal; see flight.c).
 *
 * `looptrace record --flight-recorder --on COND` puts the thresholds in LOOPTRACE_FLIGHT; they
 * are read once at load. An unarmed threshold is the type's maximum, so the check on the
 * existing path (a compare, `x > threshold`) is never true and calls nothing. A match emits one
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
	int armed;           /* any condition armed: component_begin notes the component's name */
	int blocked;         /* blocked>DUR armed: block begin/end read the clock */
};

extern LT_HIDDEN struct lt__flight_config lt__flight;
extern LT_HIDDEN uint64_t lt__flight_record; /* the process's LOOPTRACE_RECORD_ID (0: none) */

/* The condition names, as `--on` takes them and the trigger event carries them. */
#define LT_FLIGHT_BLOCKED "blocked"
#define LT_FLIGHT_HANDLER "handler"
#define LT_FLIGHT_DEPTH   "depth"

/* Called from trace.c when lt__flight.armed (block, component) or a threshold is passed. */
LT_HIDDEN void lt__flight_component(const char *name);
LT_HIDDEN const char *lt__flight_component_name(void);
LT_HIDDEN void lt__flight_block_begin(uint32_t reason, const void *object, const void *where);
LT_HIDDEN void lt__flight_block_end(int in_handler);
LT_HIDDEN void lt__flight_handler_end(uint64_t begin_ns, uint64_t end_ns);
LT_HIDDEN void lt__flight_depth(uint32_t chan, uint32_t depth, const void *where);

/* trace.c: writes the `looptrace:trigger` event (after lt__flush_thread). */
LT_HIDDEN void lt__flight_emit(const char *condition, uint64_t value, uint64_t begin_ns,
			       uint64_t end_ns, const void *where, uint64_t object,
			       uint32_t reason);

/*
 * lt__flush_thread - hands the calling thread's buffered records to LTTng-UST, so that a
 * snapshot taken on the trigger holds them. A weak no-op here until liblooptrace buffers
 * records per thread; the buffering's own definition replaces it.
 */
void lt__flush_thread(void);

#endif /* LOOPTRACE_FLIGHT_H */
