/*
 * select.c - one receiver waiting on many channels.
 *
 * The select keeps its channels in an array and one waiter. A wait scans the channels
 * starting one after the channel that delivered last (round robin: a channel that always has
 * messages gets at most one turn per round), spins briefly, then registers its waiter with
 * every open channel, scans once more and parks. Whichever channel gets a message first
 * wakes it (see rt_internal.h for the protocol).
 */
#include <stdlib.h>

#include <looptrace/rt/select.h>
#include <looptrace/trace.h>

#include "rt_internal.h"

struct lt_select {
	struct lt_chan **chans; /* weak; NULL in a removed slot */
	size_t n;               /* used slots (including removed ones) */
	size_t cap;             /* allocated slots */
	size_t count;           /* channels in the set */
	size_t next;            /* where the next scan starts */
	struct lt__waiter w;
	_Atomic int interrupted; /* set by lt_select_interrupt */
	_Atomic unsigned waking; /* interrupters inside their wake of w */
};

#ifdef LT_RT_TEST_HOOKS
/*
 * Test builds only: called by lt_select_interrupt between taking the waiter's word and waking
 * the sequence it found there, so that a test can widen that window.
 */
__attribute__((visibility("default"))) void (*lt__test_interrupt_hook)(void);
#endif

enum lt_err lt_select_create(struct lt_select **out)
{
	struct lt_select *sel;

	if (!out)
		return LT_EINVAL;
	sel = calloc(1, sizeof(*sel));
	if (!sel)
		return LT_ENOMEM;
	lt__waiter_init(&sel->w, -1);
	atomic_init(&sel->interrupted, 0);
	atomic_init(&sel->waking, 0);
	*out = sel;
	return LT_OK;
}

void lt_select_destroy(struct lt_select *sel)
{
	if (!sel)
		return;
	for (size_t i = 0; i < sel->n; i++)
		if (sel->chans[i])
			lt__chan_detach(sel->chans[i]);
	free(sel->chans);
	free(sel);
}

enum lt_err lt_select_add(struct lt_select *sel, struct lt_chan *ch, size_t *index_out)
{
	size_t i;

	if (!sel || !ch)
		return LT_EINVAL;
	for (i = 0; i < sel->n; i++)
		if (sel->chans[i] == ch)
			return LT_EBUSY;
	for (i = 0; i < sel->n; i++)
		if (!sel->chans[i])
			break;
	if (i == sel->cap) {
		size_t cap = sel->cap ? sel->cap * 2 : 8;
		struct lt_chan **c = realloc(sel->chans, cap * sizeof(*c));

		if (!c)
			return LT_ENOMEM;
		sel->chans = c;
		sel->cap = cap;
	}
	if (lt__chan_attach(ch) != LT_OK)
		return LT_EBUSY;
	sel->chans[i] = ch;
	if (i == sel->n)
		sel->n++;
	sel->count++;
	if (index_out)
		*index_out = i;
	return LT_OK;
}

enum lt_err lt_select_remove(struct lt_select *sel, struct lt_chan *ch)
{
	if (!sel || !ch)
		return LT_EINVAL;
	for (size_t i = 0; i < sel->n; i++) {
		if (sel->chans[i] == ch) {
			sel->chans[i] = NULL;
			sel->count--;
			lt__chan_detach(ch);
			while (sel->n > 0 && !sel->chans[sel->n - 1])
				sel->n--;
			return LT_OK;
		}
	}
	return LT_EINVAL;
}

size_t lt_select_count(const struct lt_select *sel)
{
	return sel ? sel->count : 0;
}

/*
 * A channel's sender wakes the waiter while it holds the channel's slot CLAIMED, and the
 * receiver's unregister waits for it; an interrupter holds no slot. It counts itself in
 * `waking` instead, before it takes the word, and lt__select_wait waits for the count to drop
 * after a park: a pooled sequence whose deadline resumed it meanwhile cannot return (and a
 * task be freed) while the interrupter still holds it to schedule it.
 */
void lt_select_interrupt(struct lt_select *sel)
{
	uint32_t old;

	if (!sel)
		return;
	atomic_fetch_add(&sel->waking, 1);
	atomic_store(&sel->interrupted, 1);
	old = atomic_exchange(&sel->w.word, LT__W_NOTIFIED);
#ifdef LT_RT_TEST_HOOKS
	if (old == LT__W_SEQ && lt__test_interrupt_hook)
		lt__test_interrupt_hook();
#endif
	lt__waiter_wake_from(&sel->w, old);
	atomic_fetch_sub_explicit(&sel->waking, 1, memory_order_release);
}

/* wait_wakers - after a park: until no interrupter is inside its wake of the waiter. */
static void wait_wakers(struct lt_select *sel)
{
	unsigned spins = 0;

	while (atomic_load_explicit(&sel->waking, memory_order_acquire) != 0)
		lt__backoff(&spins);
}

/*
 * scan - one round-robin pass: LT_OK (a message, *index_out and the pop's outputs set),
 * LT_ECLOSED (every channel closed and drained, set non-empty) or LT_EAGAIN.
 */
static enum lt_err scan(struct lt_select *sel, size_t *index_out, void **msg,
			struct lt_msg_info *info, uint32_t *depth)
{
	size_t n = sel->n, closed = 0;

	for (size_t k = 0; k < n; k++) {
		size_t i = (sel->next + k) % n;
		struct lt_chan *ch = sel->chans[i];
		enum lt_err err;

		if (!ch)
			continue;
		err = lt__chan_pop(ch, msg, info, depth);
		if (err == LT_OK) {
			sel->next = (i + 1) % n;
			*index_out = i;
			return LT_OK;
		}
		if (err == LT_ECLOSED)
			closed++;
	}
	return sel->count > 0 && closed == sel->count ? LT_ECLOSED : LT_EAGAIN;
}

static void register_all(struct lt_select *sel)
{
	for (size_t i = 0; i < sel->n; i++)
		if (sel->chans[i])
			lt__chan_register(sel->chans[i], &sel->w);
}

static void unregister_all(struct lt_select *sel)
{
	for (size_t i = 0; i < sel->n; i++)
		if (sel->chans[i])
			lt__chan_unregister(sel->chans[i], &sel->w);
}

enum lt_err lt__select_wait(struct lt_select *sel, uint64_t deadline_ns, size_t *index_out,
			    void **msg, struct lt_msg_info *info, const void *where,
			    uint32_t *depth_out)
{
	struct lt_msg_info local;
	size_t index = 0;
	uint32_t depth = 0;
	unsigned step = 0;
	int blocked = 0;
	enum lt_err err;
	void *m = NULL;

	if (!sel || !msg)
		return LT_EINVAL;
	if (!info)
		info = &local;
	err = scan(sel, &index, &m, info, &depth);
	if (err != LT_EAGAIN)
		goto out;
	if (atomic_exchange(&sel->interrupted, 0)) {
		err = LT_EINTR;
		goto out;
	}
	if (deadline_ns == 0)
		goto out;
	/* A pooled sequence does not spin: it would hold its worker; it suspends at once. */
	if (lt__seq_current())
		step = LT__SELECT_SPIN + LT__RECV_YIELDS;
	while (err == LT_EAGAIN && lt__spin_step(&step, LT__SELECT_SPIN, LT__RECV_YIELDS)) {
		err = scan(sel, &index, &m, info, &depth);
		if (err == LT_EAGAIN &&
		    atomic_load_explicit(&sel->interrupted, memory_order_relaxed))
			break;
	}
	while (err == LT_EAGAIN) {
		atomic_store(&sel->w.word, LT__W_ARMED);
		register_all(sel);
		err = scan(sel, &index, &m, info, &depth);
		if (err != LT_EAGAIN) {
			unregister_all(sel);
			break;
		}
		if (atomic_exchange(&sel->interrupted, 0)) {
			unregister_all(sel);
			err = LT_EINTR;
			break;
		}
		if (deadline_ns != LT_FOREVER && lt_rt_now_ns() >= deadline_ns) {
			unregister_all(sel);
			err = LT_ETIMEDOUT;
			break;
		}
		if (!blocked && where) {
			lt_block_begin_at(LT_BLOCK_CHAN_RECV, sel, where);
			blocked = 1;
		}
		lt__waiter_park(&sel->w, deadline_ns);
		wait_wakers(sel);
		unregister_all(sel);
		err = scan(sel, &index, &m, info, &depth);
	}
	if (blocked)
		lt_block_end();
out:
	if (err != LT_OK)
		return err;
	if (depth_out)
		*depth_out = depth;
	else
		lt_recv(info->chan, info->id, depth);
	*msg = m;
	if (index_out)
		*index_out = index;
	return LT_OK;
}

enum lt_err lt_select_wait(struct lt_select *sel, uint64_t deadline_ns, size_t *index_out,
			   void **msg, struct lt_msg_info *info)
{
	return lt__select_wait(sel, deadline_ns, index_out, msg, info, __builtin_return_address(0),
			       NULL);
}

enum lt_err lt_select_try(struct lt_select *sel, size_t *index_out, void **msg,
			  struct lt_msg_info *info)
{
	return lt__select_wait(sel, 0, index_out, msg, info, __builtin_return_address(0), NULL);
}
