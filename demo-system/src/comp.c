/*
 * comp.c - components: one thread, one loop, one handler per channel.
 *
 * The loop blocks only in the select at its top (reported as wait_begin/wait_end, and only
 * when nothing was queued: a message already waiting is taken without a wait pair, so a
 * saturated loop reports no idle time); each message then runs its channel's handler between
 * handle_begin/handle_end. Stopping closes
 * the component's channels first, so no send can slip in after the last receive: what was
 * sent is either handled by the loop or handed back by lt_comp_stop.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <looptrace/rt/comp.h>
#include <looptrace/rt/pool.h>
#include <looptrace/rt/select.h>
#include <looptrace/trace.h>

#include "rt_internal.h"

struct lt__handler {
	struct lt_chan *ch; /* weak */
	char *kind;         /* owned */
	lt_comp_handler_fn fn;
	void *arg;
};

enum comp_state { COMP_NEW, COMP_RUNNING, COMP_STOPPED };

enum { STOP_NONE = 0, STOP_DRAIN = 1, STOP_HANDBACK = 2 };

struct lt_comp {
	char *name;                   /* owned */
	struct lt__handler *handlers; /* owned array, indexed like the select */
	size_t nhandlers;
	struct lt_select *sel; /* owned */
	uint64_t tick_ns;      /* tick interval, 0: none */
	lt_comp_tick_fn tick_fn;
	void *tick_arg;
	enum comp_state state; /* owner thread only */
	pthread_t thread;
	_Atomic uint32_t id;      /* trace id, set by the thread */
	_Atomic uint64_t handled; /* messages handled */
	_Atomic int stop;         /* STOP_* */
	pthread_mutex_t start_mu; /* start handshake */
	pthread_cond_t start_cv;
	int started; /* under start_mu */
	/*
	 * The message whose handler runs (NULL outside handlers); written by the loop only. A
	 * field rather than a thread-local: a pooled component's handler may resume on another
	 * worker thread.
	 */
	const struct lt_msg_info *cur_msg;
	struct lt_pool *pool; /* weak; NULL: a thread of its own */
	struct lt__seq *seq;  /* owned: the sequence of a pooled component once started */
};

/*
 * The component whose loop runs on this thread: set once by a component's thread, and by a
 * pool worker around each run of a pooled component (lt__comp_set_self).
 */
static LT__TLS struct lt_comp *current_comp;

void lt__comp_set_self(struct lt_comp *c)
{
	current_comp = c;
}

enum lt_err lt_comp_create(const char *name, struct lt_comp **out)
{
	struct lt_comp *c;
	enum lt_err err;

	if (!out || !name)
		return LT_EINVAL;
	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return LT_ENOMEM;
	c->name = strdup(name);
	if (!c->name) {
		free(c);
		return LT_ENOMEM;
	}
	err = lt_select_create(&c->sel);
	if (err != LT_OK) {
		free(c->name);
		free(c);
		return err;
	}
	atomic_init(&c->id, 0);
	atomic_init(&c->handled, 0);
	atomic_init(&c->stop, STOP_NONE);
	pthread_mutex_init(&c->start_mu, NULL);
	pthread_cond_init(&c->start_cv, NULL);
	*out = c;
	return LT_OK;
}

enum lt_err lt_comp_add_handler(struct lt_comp *c, struct lt_chan *ch, const char *kind,
				lt_comp_handler_fn fn, void *arg)
{
	struct lt__handler *h;
	size_t index;
	char *k;
	enum lt_err err;

	if (!c || !ch || !fn || c->state != COMP_NEW)
		return LT_EINVAL;
	k = strdup(kind ? kind : lt_chan_name(ch));
	if (!k)
		return LT_ENOMEM;
	err = lt_select_add(c->sel, ch, &index);
	if (err != LT_OK) {
		free(k);
		return err;
	}
	/* Indexes of a select that never had a removal are 0, 1, 2, ... */
	h = realloc(c->handlers, (c->nhandlers + 1) * sizeof(*h));
	if (!h) {
		lt_select_remove(c->sel, ch);
		free(k);
		return LT_ENOMEM;
	}
	c->handlers = h;
	h[index] = (struct lt__handler){.ch = ch, .kind = k, .fn = fn, .arg = arg};
	c->nhandlers++;
	return LT_OK;
}

enum lt_err lt_comp_set_tick(struct lt_comp *c, uint64_t interval_ns, lt_comp_tick_fn fn, void *arg)
{
	if (!c || c->state != COMP_NEW)
		return LT_EINVAL;
	c->tick_ns = fn ? interval_ns : 0;
	c->tick_fn = interval_ns ? fn : NULL;
	c->tick_arg = arg;
	return LT_OK;
}

/*
 * comp_has_work - a message (or a close) waits on one of c's channels. A pooled component at
 * the end of its turn yields its worker only then (it is runnable); without work it goes on to
 * its select and suspends idle, rather than being queued as ready with nothing to do.
 */
static int comp_has_work(const struct lt_comp *c)
{
	for (size_t i = 0; i < c->nhandlers; i++)
		if (lt__chan_poll(c->handlers[i].ch))
			return 1;
	return 0;
}

/*
 * run_loop - the component's loop, on its thread or (pooled) on its sequence's fiber. A
 * pooled loop does not emit wait_begin/wait_end (between runs the sequence is idle: the park
 * ends the run), and after each handler it yields when it used up its turn.
 */
static void run_loop(struct lt_comp *c)
{
	uint64_t next_tick = c->tick_ns ? lt_rt_deadline(c->tick_ns) : LT_FOREVER;
	struct lt__seq *seq = c->seq;

	for (;;) {
		struct lt_msg_info info;
		size_t index = 0;
		void *msg = NULL;
		enum lt_err err;
		uint32_t depth = 0;
		unsigned long turns;
		int waited;
		int stop = atomic_load(&c->stop);

		if (stop == STOP_HANDBACK || (stop == STOP_DRAIN && c->nhandlers == 0))
			break;
		/*
		 * Work already queued is taken without a wait_begin/wait_end pair: the loop did
		 * not wait for it, so none of this is idle time. It is recorded as one handle_next
		 * record (the previous handler's end, kept by lt__handle_end_later, the recv and
		 * the new handler's begin). Only when nothing is queued does the loop wait,
		 * traced as before (the kept end is written first).
		 */
		err = lt__select_wait(c->sel, 0, &index, &msg, &info, NULL, &depth);
		waited = err == LT_EAGAIN;
		if (waited) {
			if (!seq)
				lt_wait_begin(); /* writes the previous handler's end first */
			err = lt__select_wait(c->sel, next_tick, &index, &msg, &info, NULL, NULL);
		}
		if (err == LT_OK) {
			struct lt__handler *h = &c->handlers[index];
			lt_comp_handler_fn fn = h->fn;
			void *arg = h->arg, *m = msg;

			/*
			 * The handler's traced bounds are the clock reads at the end of the begin
			 * call and at the start of the end call: nothing else runs between them
			 * and the handler (docs/event-model.md, "A handler's bounds").
			 */
			c->cur_msg = &info;
			if (waited) {
				if (!seq)
					lt_wait_end(info.chan, info.id);
				lt_handle_begin(info.id, h->kind);
			} else {
				/* One record: the previous handler's end, recv, this handler's
				 * begin. */
				lt__handle_next(info.chan, info.id, depth, h->kind);
			}
			turns = seq ? lt__seq_turns(seq) : 0;
			fn(c, m, &info, arg);
			/*
			 * A handler that awaited ends on a later turn, whose worker's trace holds
			 * no begin for it: a kept end would travel in the next handle_next record,
			 * which names the ended message only by the begin before it on the same
			 * thread. Its end is written at once, with its message id.
			 */
			if (__builtin_expect(seq != NULL, 0) && lt__seq_turns(seq) != turns)
				lt_handle_end(info.id);
			else
				lt__handle_end_later(info.id);
			c->cur_msg = NULL;
			atomic_fetch_add_explicit(&c->handled, 1, memory_order_relaxed);
			if (__builtin_expect(seq != NULL, 0) && lt__seq_should_yield(seq) &&
			    comp_has_work(c))
				lt__seq_yield(seq);
			continue;
		}
		if (waited && !seq)
			lt_wait_end(0, 0);
		if (err == LT_ECLOSED)
			break; /* every channel closed and drained */
		if (err == LT_ETIMEDOUT && c->tick_fn) {
			lt_handle_begin(0, "tick");
			c->tick_fn(c, c->tick_arg);
			lt_handle_end(0);
			next_tick = lt_rt_deadline(c->tick_ns);
		}
		/* LT_EINTR: look at the stop request again. */
	}
}

void lt__comp_seq_main(struct lt_comp *c)
{
	run_loop(c);
}

static void *comp_thread(void *arg)
{
	struct lt_comp *c = arg;

	lt__set_thread_name(c->name);
	current_comp = c;
	atomic_store(&c->id, lt_component_begin(c->name));
	pthread_mutex_lock(&c->start_mu);
	c->started = 1;
	pthread_cond_broadcast(&c->start_cv);
	pthread_mutex_unlock(&c->start_mu);

	run_loop(c);

	lt_component_end();
	current_comp = NULL;
	return NULL;
}

enum lt_err lt_comp_start(struct lt_comp *c)
{
	if (!c)
		return LT_EINVAL;
	if (c->state != COMP_NEW)
		return LT_EBUSY;
	if (c->pool) {
		uint32_t id = 0;
		enum lt_err err = lt__pool_start_comp(c->pool, c, c->name, &c->seq, &id);

		if (err != LT_OK)
			return err;
		atomic_store(&c->id, id);
		c->state = COMP_RUNNING;
		return LT_OK;
	}
	if (pthread_create(&c->thread, NULL, comp_thread, c) != 0)
		return LT_ESYS;
	c->state = COMP_RUNNING;
	pthread_mutex_lock(&c->start_mu);
	while (!c->started)
		pthread_cond_wait(&c->start_cv, &c->start_mu);
	pthread_mutex_unlock(&c->start_mu);
	return LT_OK;
}

enum lt_err lt_comp_stop(struct lt_comp *c, enum lt_comp_stop_mode mode, lt_handback_fn handback,
			 void *arg, size_t *handed_back)
{
	size_t n = 0;

	if (!c)
		return LT_EINVAL;
	if (current_comp == c)
		return LT_EINVAL;
	/* Waiting for a sequence from a worker of its own pool could hold the worker it needs. */
	if (c->pool && lt__seq_current() && lt__seq_pool(lt__seq_current()) == c->pool)
		return LT_EINVAL;
	if (c->state != COMP_RUNNING) {
		/* Never started: messages queued stay in the channels, nothing handed back. */
		return LT_OK;
	}
	atomic_store(&c->stop, mode == LT_COMP_STOP_HANDBACK ? STOP_HANDBACK : STOP_DRAIN);
	for (size_t i = 0; i < c->nhandlers; i++)
		lt_chan_close(c->handlers[i].ch);
	lt_select_interrupt(c->sel);
	if (c->seq) {
		lt__seq_wait_done(c->seq);
		lt__pool_comp_detach(c->pool);
	} else {
		pthread_join(c->thread, NULL);
	}
	c->state = COMP_STOPPED;
	/* The loop has ended: this thread is now the channels' receiver. */
	for (size_t i = 0; i < c->nhandlers; i++)
		n += lt_chan_drain(c->handlers[i].ch, handback, arg);
	if (handed_back)
		*handed_back += n;
	return LT_OK;
}

enum lt_err lt_comp_destroy(struct lt_comp *c)
{
	if (!c)
		return LT_OK;
	/*
	 * From the component's own thread (a handler or tick) the loop is still running on the
	 * stack above us and would touch the freed component when the callback returns: refuse.
	 */
	if (current_comp == c)
		return LT_EINVAL;
	if (lt_comp_stop(c, LT_COMP_STOP_HANDBACK, NULL, NULL, NULL) != LT_OK)
		return LT_EINVAL; /* from a worker of its pool */
	if (c->pool && c->state == COMP_NEW)
		lt__pool_comp_detach(c->pool); /* set to the pool, never started */
	lt__seq_free(c->seq);
	lt_select_destroy(c->sel);
	for (size_t i = 0; i < c->nhandlers; i++)
		free(c->handlers[i].kind);
	free(c->handlers);
	pthread_mutex_destroy(&c->start_mu);
	pthread_cond_destroy(&c->start_cv);
	free(c->name);
	free(c);
	return LT_OK;
}

uint32_t lt_comp_id(const struct lt_comp *c)
{
	return c ? atomic_load(&((struct lt_comp *)c)->id) : 0;
}

const char *lt_comp_name(const struct lt_comp *c)
{
	return c ? c->name : "";
}

uint64_t lt_comp_handled(const struct lt_comp *c)
{
	return c ? atomic_load(&((struct lt_comp *)c)->handled) : 0;
}

struct lt_comp *lt_comp_self(void)
{
	return current_comp;
}

const struct lt_msg_info *lt_comp_current_msg(void)
{
	struct lt_comp *c = current_comp;

	return c ? c->cur_msg : NULL;
}

enum lt_err lt_comp_set_pool(struct lt_comp *c, struct lt_pool *pool)
{
	if (!c || c->state != COMP_NEW)
		return LT_EINVAL;
	if (c->pool == pool)
		return LT_OK;
	if (c->pool)
		lt__pool_comp_detach(c->pool);
	if (pool)
		lt__pool_comp_attach(pool);
	c->pool = pool;
	return LT_OK;
}
