/*
 * looptrace/rt/chan.h - channels: multi-producer, single-consumer message queues.
 *
 * A channel carries owned `void *` messages from any number of sender threads to one
 * receiver. It is bounded (capacity >= 1: senders block, or fail with LT_EAGAIN, while it is
 * full) or unbounded (capacity 0: sends never block). Every message has an id (unique in
 * the process, allocated by liblooptrace; a bounded channel derives it from the message's
 * position, so only the pointer travels) and a flow id, so the receiver learns both (struct
 * lt_msg_info) and can reply on the same flow (lt_msg_reply_flow()).
 *
 * Ownership moves only when a call succeeds: a failed send leaves the message with the
 * caller; a successful receive hands it to the caller. No message is lost or delivered
 * twice. The channel owns what is queued; lt_chan_destroy() frees it with the channel's
 * free function.
 *
 * Who may call what:
 *
 *   call                                          | who
 *   ----------------------------------------------+--------------------------------------------
 *   lt_chan_send*, lt_chan_try_send               | any thread, concurrently
 *   lt_chan_close                                 | any thread, any number of times
 *   lt_chan_id/name/capacity/depth/is_closed      | any thread
 *   lt_chan_recv*, lt_chan_try_recv, lt_chan_drain| the receiver only: one thread at a time (the
 *                                                 | channel's owner, its component, its select
 *                                                 | or its router route -- never two of these)
 *   lt_chan_destroy                               | the owner, once nothing else uses the channel
 *
 * After close: every send fails with LT_ECLOSED (the caller keeps the message); senders
 * blocked on a full channel wake and fail the same way; the receiver still gets every
 * message queued before the close, then LT_ECLOSED. Close is linearizable: a send either
 * completes before it (and will be received or drained) or fails.
 *
 * Waiting: a receiver with nothing to do spins briefly, then parks on a futex; senders wake
 * it only when it is parked. A blocked sender parks the same way; the receiver wakes senders
 * only when one is parked. A pooled sequence (pool.h) that would wait -- receiving or sending
 * -- suspends instead, without spinning, and releases its worker thread.
 *
 * Instrumentation (liblooptrace): lt_chan_create declares the channel (channel_declare); every
 * successful send emits `send` (msg, flow, depth after) and every successful receive or drain
 * emits `recv`. A send that really waits on a full channel is wrapped in
 * block_begin(LT_BLOCK_CHAN_SEND, ch)/block_end; a receive that really waits is wrapped in
 * block_begin(LT_BLOCK_CHAN_RECV, ch)/block_end (the component loop's own top-of-loop wait is
 * reported as wait_begin/wait_end instead). Depths cost a look at the other side's cache line,
 * so they are computed only when a looptrace probe provider was registered when the channel
 * was created (lt_tracing_available(); providers register before main); otherwise events
 * carry depth 0 -- and are not recorded anyway.
 */
#ifndef LOOPTRACE_RT_CHAN_H
#define LOOPTRACE_RT_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include <looptrace/rt/clock.h>
#include <looptrace/rt/err.h>

#ifdef __cplusplus
extern "C" {
#endif

struct lt_chan;

/*
 * The largest capacity of a bounded channel: 2^24 messages. The ring is allocated and
 * initialized at create, 16 bytes per slot resident (256 MiB at this capacity), plus 8 bytes
 * per slot for flow ids, resident only where flows were sent.
 */
#define LT_CHAN_MAX_CAPACITY ((size_t)1 << 24)

/*
 * lt_chan_create - creates a channel named `name` (copied; shown in traces) holding at most
 * `capacity` messages, or unbounded when `capacity` is 0. `free_fn` (may be NULL: messages
 * are then not freed) frees messages still queued at destroy. Declares the channel to
 * liblooptrace. Stores the channel in *out.
 * Errors: LT_EINVAL (out NULL, capacity > LT_CHAN_MAX_CAPACITY), LT_ENOMEM. Any thread; never
 * blocks.
 */
enum lt_err lt_chan_create(const char *name, size_t capacity, lt_free_fn free_fn,
			   struct lt_chan **out);

/*
 * lt_chan_destroy - frees `ch`. Every message still queued is passed to the free function
 * exactly once. Nobody may use the channel any more (no sender, no receiver, no select or
 * router registration). NULL is ignored.
 */
void lt_chan_destroy(struct lt_chan *ch);

/*
 * lt_chan_close - closes `ch`: later sends fail with LT_ECLOSED, blocked senders wake and
 * fail, the receiver drains what is queued and then gets LT_ECLOSED. Idempotent; any thread;
 * never blocks (beyond a wakeup system call).
 */
void lt_chan_close(struct lt_chan *ch);

/*
 * lt_chan_send_ex - the general send. Enqueues `msg` with flow id `flow` (0: the message
 * starts its own flow), waiting while the channel is full until `deadline_ns`
 * (CLOCK_MONOTONIC; LT_FOREVER: no deadline; a past deadline such as 0: do not wait).
 * On success the channel owns `msg` and *id_out (if not NULL) receives the new message id.
 * Errors: LT_ECLOSED (closed before the send completed), LT_EAGAIN (deadline_ns == 0 and
 * full), LT_ETIMEDOUT (deadline passed while full), LT_ENOMEM (unbounded: no memory for a new
 * block of slots), LT_EINVAL (ch NULL). On any error the caller still owns `msg`. Any thread.
 */
enum lt_err lt_chan_send_ex(struct lt_chan *ch, void *msg, uint64_t flow, uint64_t deadline_ns,
			    uint64_t *id_out);

/* lt_chan_send - lt_chan_send_ex(ch, msg, 0, LT_FOREVER, NULL): blocks while full. */
enum lt_err lt_chan_send(struct lt_chan *ch, void *msg);

/* lt_chan_send_flow - lt_chan_send_ex(ch, msg, flow, LT_FOREVER, NULL): a reply on `flow`. */
enum lt_err lt_chan_send_flow(struct lt_chan *ch, void *msg, uint64_t flow);

/* lt_chan_try_send - never blocks: LT_EAGAIN when full, LT_ECLOSED when closed. */
enum lt_err lt_chan_try_send(struct lt_chan *ch, void *msg);

/* lt_chan_send_timed - blocks while full until deadline_ns: LT_ETIMEDOUT after it. */
enum lt_err lt_chan_send_timed(struct lt_chan *ch, void *msg, uint64_t deadline_ns);

/*
 * lt_chan_recv_ex - the general receive. Dequeues the oldest message into *msg (and its ids
 * into *info when not NULL), waiting until `deadline_ns` while the channel is empty.
 * Errors: LT_ECLOSED (closed and nothing left), LT_EAGAIN (deadline_ns == 0 and empty),
 * LT_ETIMEDOUT, LT_EINVAL. *msg is written only on success. Receiver only.
 */
enum lt_err lt_chan_recv_ex(struct lt_chan *ch, void **msg, struct lt_msg_info *info,
			    uint64_t deadline_ns);

/* lt_chan_recv - blocks until a message arrives or the channel is closed and empty. */
enum lt_err lt_chan_recv(struct lt_chan *ch, void **msg);

/*
 * lt_chan_try_recv - never parks: LT_EAGAIN when empty (and open). Like lt_chan_drain it may
 * spin (yielding) while a sender that has already claimed the head slot finishes writing it
 * -- nanoseconds, unless that sender is preempted in between.
 */
enum lt_err lt_chan_try_recv(struct lt_chan *ch, void **msg);

/* lt_chan_recv_timed - blocks until deadline_ns at most: LT_ETIMEDOUT after it. */
enum lt_err lt_chan_recv_timed(struct lt_chan *ch, void **msg, uint64_t deadline_ns);

/* A function that takes back one queued message (and its ids) from lt_chan_drain. */
typedef void (*lt_handback_fn)(void *msg, const struct lt_msg_info *info, void *arg);

/*
 * lt_chan_drain - hands every message queued now to `fn(msg, info, arg)` (ownership moves
 * to fn), oldest first, without waiting; with fn NULL they are freed through the free
 * function. Returns how many were handed back. Usually called after lt_chan_close() when a
 * consumer stops. Receiver only; never blocks for long (it waits for a send that has
 * claimed a slot to finish writing it).
 */
size_t lt_chan_drain(struct lt_chan *ch, lt_handback_fn fn, void *arg);

/* lt_chan_id - the channel's trace id (>= 1, from channel_declare). Any thread. */
uint32_t lt_chan_id(const struct lt_chan *ch);

/* lt_chan_name - the channel's name (owned by the channel). Any thread. */
const char *lt_chan_name(const struct lt_chan *ch);

/* lt_chan_capacity - the capacity given at create (0: unbounded). Any thread. */
size_t lt_chan_capacity(const struct lt_chan *ch);

/* lt_chan_depth - how many messages are queued (a snapshot; exact when quiescent). */
size_t lt_chan_depth(const struct lt_chan *ch);

/* lt_chan_is_closed - non-zero once lt_chan_close() was called. Any thread. */
int lt_chan_is_closed(const struct lt_chan *ch);

#ifdef __cplusplus
}
#endif

#endif /* LOOPTRACE_RT_CHAN_H */
