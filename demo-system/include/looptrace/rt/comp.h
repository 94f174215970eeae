/*
 * looptrace/rt/comp.h - components: named event loops, each on its own thread.
 *
 * A component owns one thread that runs a loop: it blocks only at the top, in a select over
 * the component's channels (and an optional tick deadline), then runs the handler registered
 * for the channel the message came from. Handlers run one at a time on that thread, so the
 * component's data needs no locks. A handler may send anywhere; it should not block (that is
 * what looptrace measures: a blocking receive or full send inside a handler is recorded as
 * blocked-in-handler time).
 *
 * Lifecycle: lt_comp_create -> lt_comp_add_handler... (-> lt_comp_set_tick) -> lt_comp_start
 * -> lt_comp_stop (closes the channels, drains or hands back what is queued, joins) ->
 * lt_comp_destroy. The loop also ends by itself once every one of its channels is closed and
 * drained (then lt_comp_stop only joins). Channels stay owned by the caller: destroy them
 * after lt_comp_stop.
 *
 * Who may call what:
 *
 *   call                                       | who
 *   -------------------------------------------+-----------------------------------------------
 *   lt_comp_create, lt_comp_add_handler,       | the creating thread, before lt_comp_start
 *   lt_comp_set_tick                           |
 *   lt_comp_start, lt_comp_stop,               | the owning thread (never the component's own
 *   lt_comp_destroy                            | thread: stop or destroy from a handler or tick
 *                                              | returns LT_EINVAL and changes nothing)
 *   lt_comp_id/name/handled                    | any thread (id is valid once start returned)
 *   lt_comp_self, lt_comp_current_msg          | any thread (about the calling thread)
 *
 * Stop with messages queued: nothing is lost. LT_COMP_STOP_DRAIN handles every queued
 * message before the loop ends; LT_COMP_STOP_HANDBACK ends the loop after the running
 * handler and hands each remaining message to the hand-back function (or frees it through
 * its channel's free function); the count is reported. Either way
 * handled + handed back == successfully sent.
 *
 * A component given a pool before start (lt_comp_set_pool, pool.h) runs the same loop as a
 * sequence on the pool's worker threads instead of a thread of its own; what a handler waits
 * for on a channel then suspends only the sequence (see pool.h). lt_comp_stop/destroy of a
 * pooled component from a worker of its own pool return LT_EINVAL (waiting there could hold
 * the very worker the component needs).
 *
 * Instrumentation: the thread emits component_begin(name)/component_end; around the select at
 * the top of the loop wait_begin/wait_end(chan, msg) when it has to wait (a message already
 * queued is taken without the pair: the loop did not wait); around each handler
 * handle_begin(msg, kind)/handle_end(msg), kind being the handler's registered name (or the
 * channel's name); a tick runs as handle_begin(0, "tick"). A pooled component emits
 * seq_begin/seq_end instead of component_begin/end and no wait_begin/wait_end (pool.h).
 */
#ifndef LOOPTRACE_RT_COMP_H
#define LOOPTRACE_RT_COMP_H

#include <stddef.h>
#include <stdint.h>

#include <looptrace/rt/chan.h>
#include <looptrace/rt/err.h>

#ifdef __cplusplus
extern "C" {
#endif

struct lt_comp;

/*
 * A handler: runs on the component's thread for one message `msg` (owned by the handler:
 * free it or pass it on) received from the channel it was registered for; `info` gives the
 * message and flow ids (reply with lt_chan_send_flow(reply, r, lt_msg_reply_flow(info))).
 */
typedef void (*lt_comp_handler_fn)(struct lt_comp *comp, void *msg, const struct lt_msg_info *info,
				   void *arg);

/* A tick: runs on the component's thread every interval (see lt_comp_set_tick). */
typedef void (*lt_comp_tick_fn)(struct lt_comp *comp, void *arg);

/*
 * lt_comp_create - a component named `name` (copied) in *out, not yet running.
 * Errors: LT_EINVAL, LT_ENOMEM.
 */
enum lt_err lt_comp_create(const char *name, struct lt_comp **out);

/*
 * lt_comp_add_handler - the component will receive from `ch` and run `fn(comp, msg, info,
 * arg)` for each message. `kind` (copied; NULL: the channel's name) names the messages in
 * handle_begin events. The component becomes the channel's receiver.
 * Errors: LT_EINVAL (NULLs, already started), LT_EBUSY (channel already added), LT_ENOMEM.
 */
enum lt_err lt_comp_add_handler(struct lt_comp *comp, struct lt_chan *ch, const char *kind,
				lt_comp_handler_fn fn, void *arg);

/*
 * lt_comp_set_tick - run `fn(comp, arg)` on the component's thread about every
 * `interval_ns` ns (0 or fn NULL: no tick). Errors: LT_EINVAL (already started).
 */
enum lt_err lt_comp_set_tick(struct lt_comp *comp, uint64_t interval_ns, lt_comp_tick_fn fn,
			     void *arg);

/*
 * lt_comp_start - starts the component's thread (named after the component) and returns
 * once it runs (lt_comp_id is then valid). Errors: LT_EBUSY (already started), LT_ESYS
 * (thread creation failed), LT_ENOMEM.
 */
enum lt_err lt_comp_start(struct lt_comp *comp);

enum lt_comp_stop_mode {
	LT_COMP_STOP_DRAIN = 0, /* close the channels, handle everything queued, then end */
	LT_COMP_STOP_HANDBACK =
	    1, /* close the channels, end after the running handler, hand back */
};

/*
 * lt_comp_stop - closes every channel of the component, ends its loop as `mode` says and
 * joins its thread. In LT_COMP_STOP_HANDBACK mode each message still queued goes to
 * `handback(msg, info, arg)` (NULL: freed through its channel's free function); the count
 * is added to *handed_back (may be NULL). A component never started, or already stopped,
 * returns LT_OK with nothing handed back. Errors: LT_EINVAL (called on the component's own
 * thread). Blocks until the thread ended. Owner only.
 */
enum lt_err lt_comp_stop(struct lt_comp *comp, enum lt_comp_stop_mode mode, lt_handback_fn handback,
			 void *arg, size_t *handed_back);

/*
 * lt_comp_destroy - stops (LT_COMP_STOP_HANDBACK, freeing) if needed, then frees. NULL ok
 * (LT_OK). Errors: LT_EINVAL (called on the component's own thread, i.e. from one of its
 * handlers or its tick: nothing is stopped or freed). Owner only.
 */
enum lt_err lt_comp_destroy(struct lt_comp *comp);

/* lt_comp_id - the component's trace id (0 before start). Any thread. */
uint32_t lt_comp_id(const struct lt_comp *comp);

/* lt_comp_name - the component's name. Any thread. */
const char *lt_comp_name(const struct lt_comp *comp);

/* lt_comp_handled - how many messages its handlers ran for so far. Any thread. */
uint64_t lt_comp_handled(const struct lt_comp *comp);

/* lt_comp_self - the component whose loop runs on the calling thread, or NULL. */
struct lt_comp *lt_comp_self(void);

/*
 * lt_comp_current_msg - the ids of the message whose handler runs on the calling thread, or
 * NULL outside a handler (valid until the handler returns).
 */
const struct lt_msg_info *lt_comp_current_msg(void);

#ifdef __cplusplus
}
#endif

#endif /* LOOPTRACE_RT_COMP_H */
