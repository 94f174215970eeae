/*
 * looptrace/rt/select.h - waiting on many channels at once.
 *
 * A select is a set of channels one receiver waits on together. lt_select_wait() returns the
 * next message from any of them, fairly: each wait starts scanning one channel after the one
 * that delivered last (round robin), so a channel that is always full cannot starve another.
 * While it waits, the select's one waiter is registered with every channel of the set;
 * whichever channel gets a message first wakes it.
 *
 * Who may call what:
 *
 *   call                                        | who
 *   --------------------------------------------+---------------------------------------------
 *   lt_select_interrupt                         | any thread (while the select exists)
 *   lt_select_add/remove, lt_select_wait,       | the receiver that owns the select (the
 *   lt_select_destroy                           | channels' receiver), never during a wait
 *
 * A channel belongs to at most one select, and while it does only that select receives
 * from it. Closed channels: a closed channel keeps delivering what it holds; once drained it
 * is skipped; when every channel of a non-empty set is closed and drained lt_select_wait()
 * returns LT_ECLOSED. The select never closes or destroys its channels.
 *
 * Instrumentation: lt_select_wait emits `recv` for the message it returns and, when it
 * really waits, block_begin(LT_BLOCK_CHAN_RECV, sel)/block_end (a component's top-of-loop
 * wait uses the same machinery but reports wait_begin/wait_end instead).
 */
#ifndef LOOPTRACE_RT_SELECT_H
#define LOOPTRACE_RT_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include <looptrace/rt/chan.h>
#include <looptrace/rt/clock.h>
#include <looptrace/rt/err.h>

#ifdef __cplusplus
extern "C" {
#endif

struct lt_select;

/* lt_select_create - an empty select in *out. Errors: LT_EINVAL, LT_ENOMEM. */
enum lt_err lt_select_create(struct lt_select **out);

/*
 * lt_select_destroy - frees `sel` (not its channels). No wait may be running and no thread
 * may call lt_select_interrupt on it any more. NULL is ignored.
 */
void lt_select_destroy(struct lt_select *sel);

/*
 * lt_select_add - adds `ch` to the set; *index_out (may be NULL) receives its index, the
 * value lt_select_wait reports for messages from it (stable until it is removed; a removed
 * index is reused by a later add). Errors: LT_EINVAL, LT_EBUSY (already in the set),
 * LT_ENOMEM. Owner only, not during a wait.
 */
enum lt_err lt_select_add(struct lt_select *sel, struct lt_chan *ch, size_t *index_out);

/* lt_select_remove - removes `ch` from the set. Errors: LT_EINVAL (not in it). Owner only. */
enum lt_err lt_select_remove(struct lt_select *sel, struct lt_chan *ch);

/*
 * lt_select_wait - receives one message from any channel of the set, waiting until
 * `deadline_ns` (CLOCK_MONOTONIC; LT_FOREVER; 0 = do not wait). On LT_OK: *msg (ownership
 * moves to the caller), *index_out (may be NULL) is the channel's index, *info (may be NULL)
 * its ids. Errors: LT_EAGAIN (deadline 0 and nothing ready), LT_ETIMEDOUT, LT_ECLOSED (all
 * channels closed and drained; an empty set never reports it), LT_EINTR (lt_select_interrupt
 * was called since the last wait returned LT_EINTR), LT_EINVAL. Owner only.
 */
enum lt_err lt_select_wait(struct lt_select *sel, uint64_t deadline_ns, size_t *index_out,
			   void **msg, struct lt_msg_info *info);

/* lt_select_try - lt_select_wait with deadline 0: never blocks. */
enum lt_err lt_select_try(struct lt_select *sel, size_t *index_out, void **msg,
			  struct lt_msg_info *info);

/*
 * lt_select_interrupt - makes the running (or else the next) lt_select_wait return LT_EINTR
 * once. Any thread; never blocks.
 */
void lt_select_interrupt(struct lt_select *sel);

/* lt_select_count - how many channels are in the set. Owner only. */
size_t lt_select_count(const struct lt_select *sel);

#ifdef __cplusplus
}
#endif

#endif /* LOOPTRACE_RT_SELECT_H */
