/*
 * pool.c - worker pools running sequences: pooled components and spawned tasks.
 *
 * Each sequence is a fiber (fiber.c) with a scheduling state:
 *
 *   RUNNING  --park-->  PARKED  --wake-->  QUEUED  --worker pops-->  RUNNING
 *   RUNNING  --wake-->  NOTIFIED (the worker requeues it when its turn ends)
 *   RUNNING  --yield--> QUEUED (fairness: work left, others waiting)
 *
 * A sequence that waits (lt__waiter_park on a select's or a channel's waiter, or a sender on
 * a full channel) switches its word ARMED -> SEQ and suspends: the fiber switches back to its
 * worker, which then publishes it PARKED (and files its deadline in the pool's timer list).
 * A waker that exchanges SEQ for NOTIFIED owns the wake: it moves PARKED -> QUEUED with a CAS,
 * emits seq_ready, then appends the sequence to the run queue. A wake that finds the sequence
 * still RUNNING (the fiber is on its way out) turns it NOTIFIED and writes nothing: the worker
 * requeues it instead of parking it, and it emits the seq_ready, after the run_end the fiber
 * wrote -- the trace keeps run_end before ready, one ready per transition, and none after a
 * sequence's seq_end (a late wake of a sequence that ended is dropped). No wake is lost. Only the
 * worker that popped a sequence runs it, so a sequence never runs twice at once, and its messages
 * keep their order.
 *
 * The run queue and the timer list are under the pool's mutex; workers sleep on a condition
 * variable until work comes or the earliest deadline falls due. The mutex is held for list
 * operations only, never across a fiber's run.
 *
 * Thread-locals: cur_worker (which worker this thread is) is read only through
 * lt__seq_current(), never inlined, because a fiber resumed on another worker must not use a
 * thread-local address computed before it suspended. The component runtime's own (comp.c's
 * current component) is set by the worker around each run.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <looptrace/rt/pool.h>
#include <looptrace/trace.h>

#include "rt_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define LT__POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LT__POOL_ASAN 1
#endif
#endif
#ifdef LT__POOL_ASAN
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#endif

enum seq_state { SEQ_RUNNING, SEQ_NOTIFIED, SEQ_PARKED, SEQ_QUEUED };
enum seq_exit { EXIT_PARK = 1, EXIT_YIELD, EXIT_DONE };

struct lt__seq {
	struct lt_pool *pool; /* weak */
	struct lt__fiber fiber;
	struct lt_comp *comp; /* weak; NULL for a task */
	void (*task_fn)(void *);
	void *task_arg;
	char *name; /* owned (tasks) */
	uint32_t id;
	_Atomic uint32_t state; /* enum seq_state */
	/* Written by the fiber before it switches out, read by its worker after. */
	int exit_how;         /* enum seq_exit */
	uint64_t deadline;    /* of a park, ns; LT_FOREVER: none */
	uint64_t slice_start; /* ns, when this turn began */
	unsigned batch;       /* messages in this turn */
	unsigned long turns;  /* turns begun (written by the worker before it resumes the fiber) */
	/* Under pool->mu. */
	struct lt__seq *next;          /* run queue */
	struct lt__seq *tprev, *tnext; /* timer list */
	int in_timer;
	int done; /* the fiber returned (components: lt_comp_stop waits for it) */
};

struct worker {
	struct lt_pool *pool; /* weak */
	pthread_t thread;
	unsigned index;
	struct lt__fiber_host host;
	struct lt__seq *running; /* the sequence this thread runs now, or NULL */
};

struct lt_pool {
	char *name; /* owned */
	unsigned nthreads;
	struct worker *workers; /* owned array */
	uint32_t id;            /* trace id */
	pthread_mutex_t mu;
	pthread_cond_t work_cv; /* workers wait for work (CLOCK_MONOTONIC) */
	pthread_cond_t done_cv; /* sequences ending: lt_comp_stop, wait_tasks, destroy */
	/* Under mu. */
	struct lt__seq *qhead, *qtail;
	struct lt__seq *timers;
	unsigned sleepers; /* workers waiting on work_cv */
	int destroying;    /* lt_pool_destroy began: only the pool's own tasks may spawn */
	int stop;
	size_t comps;          /* components set to the pool, not stopped/destroyed */
	size_t stack_size;     /* bytes */
	_Atomic size_t queued; /* sequences in the run queue (read without mu) */
	_Atomic size_t tasks;  /* tasks alive */
};

static LT__TLS struct worker *cur_worker;

__attribute__((noinline)) struct lt__seq *lt__seq_current(void)
{
	struct worker *w = cur_worker;

	return w ? w->running : NULL;
}

struct lt_pool *lt__seq_pool(const struct lt__seq *s)
{
	return s->pool;
}

/* ---- run queue and timers (under mu) ------------------------------------------------------- */

static void timer_remove(struct lt_pool *p, struct lt__seq *s)
{
	if (!s->in_timer)
		return;
	if (s->tprev)
		s->tprev->tnext = s->tnext;
	else
		p->timers = s->tnext;
	if (s->tnext)
		s->tnext->tprev = s->tprev;
	s->tprev = s->tnext = NULL;
	s->in_timer = 0;
}

static void timer_add(struct lt_pool *p, struct lt__seq *s)
{
	s->tprev = NULL;
	s->tnext = p->timers;
	if (p->timers)
		p->timers->tprev = s;
	p->timers = s;
	s->in_timer = 1;
}

/* push - appends a QUEUED sequence to the run queue and wakes a sleeping worker. */
static void push(struct lt_pool *p, struct lt__seq *s)
{
	timer_remove(p, s);
	s->next = NULL;
	if (p->qtail)
		p->qtail->next = s;
	else
		p->qhead = s;
	p->qtail = s;
	atomic_fetch_add_explicit(&p->queued, 1, memory_order_relaxed);
	if (p->sleepers)
		pthread_cond_signal(&p->work_cv);
}

static struct lt__seq *pop(struct lt_pool *p)
{
	struct lt__seq *s = p->qhead;

	if (!s)
		return NULL;
	p->qhead = s->next;
	if (!p->qhead)
		p->qtail = NULL;
	atomic_fetch_sub_explicit(&p->queued, 1, memory_order_relaxed);
	return s;
}

/*
 * fire_timers - makes every sequence whose deadline passed runnable; returns the earliest
 * deadline still pending (LT_FOREVER: none).
 */
static uint64_t fire_timers(struct lt_pool *p)
{
	uint64_t now, next = LT_FOREVER;
	struct lt__seq *s, *n;

	if (!p->timers)
		return LT_FOREVER;
	now = lt_rt_now_ns();
	for (s = p->timers; s; s = n) {
		uint32_t st = SEQ_PARKED;

		n = s->tnext;
		if (s->deadline > now) {
			if (s->deadline < next)
				next = s->deadline;
			continue;
		}
		timer_remove(p, s);
		/* A waker may have claimed it meanwhile: then it pushes it. */
		if (atomic_compare_exchange_strong(&s->state, &st, SEQ_QUEUED)) {
			lt_seq_ready(s->id);
			push(p, s);
		}
	}
	return next;
}

/* ---- waking, parking, yielding ----------------------------------------------------------------
 */

void lt__seq_wake(struct lt__seq *s)
{
	struct lt_pool *p = s->pool;
	uint32_t st = atomic_load(&s->state);

	for (;;) {
		if (st == SEQ_RUNNING) {
			/* The worker requeues it (and emits ready) at the end of its turn. */
			if (atomic_compare_exchange_strong(&s->state, &st, SEQ_NOTIFIED))
				return;
		} else if (st == SEQ_PARKED) {
			if (atomic_compare_exchange_strong(&s->state, &st, SEQ_QUEUED)) {
				/* Emit first: no worker can run it before the push. */
				lt_seq_ready(s->id);
				pthread_mutex_lock(&p->mu);
				push(p, s);
				pthread_mutex_unlock(&p->mu);
				return;
			}
		} else {
			return; /* already queued or notified */
		}
	}
}

/* suspend - ends this turn of `s` (from its fiber): flush, run_end, back to the worker. */
static void suspend(struct lt__seq *s, int how, uint64_t deadline_ns)
{
	/* A kept handler end must be written by this worker now, not by the next sequence. */
	lt__handle_flush();
	lt_seq_run_end(s->id);
	if (how == EXIT_YIELD)
		lt_seq_ready(s->id);
	s->exit_how = how;
	s->deadline = deadline_ns;
	lt__fiber_suspend(&s->fiber);
}

void lt__seq_park(struct lt__seq *s, struct lt__waiter *w, uint64_t deadline_ns)
{
	uint32_t expected = LT__W_ARMED;

	atomic_store_explicit(&w->seq, s, memory_order_relaxed);
	if (!atomic_compare_exchange_strong(&w->word, &expected, LT__W_SEQ))
		return; /* woken already */
	suspend(s, EXIT_PARK, deadline_ns);
	/* Timed out or resumed by another wake: back to ARMED unless this waiter was woken. */
	expected = LT__W_SEQ;
	atomic_compare_exchange_strong(&w->word, &expected, LT__W_ARMED);
}

int lt__seq_should_yield(struct lt__seq *s)
{
	unsigned b = ++s->batch;

	if (b < LT_POOL_BATCH &&
	    ((b & 7u) != 0 || lt_rt_now_ns() - s->slice_start < LT_POOL_SLICE_NS))
		return 0;
	return atomic_load_explicit(&s->pool->queued, memory_order_relaxed) != 0;
}

unsigned long lt__seq_turns(const struct lt__seq *s)
{
	return s->turns;
}

void lt__seq_yield(struct lt__seq *s)
{
	suspend(s, EXIT_YIELD, LT_FOREVER);
}

/* ---- sequences' bodies ----------------------------------------------------------------------- */

static __attribute__((noreturn)) void seq_main(void *arg)
{
	struct lt__seq *s = arg;

	if (s->comp) {
		lt__comp_seq_main(s->comp);
	} else {
		lt_handle_begin(0, s->name);
		s->task_fn(s->task_arg);
		lt_handle_end(0);
	}
	lt__handle_flush();
	lt_seq_run_end(s->id);
	lt_seq_end(s->id);
	s->exit_how = EXIT_DONE;
	lt__fiber_exit(&s->fiber);
}

static void free_stack(struct lt__seq *s)
{
#ifdef LT__POOL_ASAN
	/* Stale poison of the fiber's frames must not outlive the mapping. */
	if (s->fiber.map)
		__asan_unpoison_memory_region(s->fiber.map, s->fiber.map_size);
#endif
	lt__fiber_fini(&s->fiber);
}

static struct lt__seq *seq_new(struct lt_pool *p, size_t stack)
{
	struct lt__seq *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (lt__fiber_init(&s->fiber, stack, seq_main, s) != LT_OK) {
		free(s);
		return NULL;
	}
	s->pool = p;
	s->deadline = LT_FOREVER;
	atomic_init(&s->state, SEQ_QUEUED);
	return s;
}

void lt__seq_free(struct lt__seq *s)
{
	if (!s)
		return;
	free_stack(s);
	free(s->name);
	free(s);
}

/* ---- workers --------------------------------------------------------------------------------- */

/* after_run - what the worker does once the fiber of `s` switched back (mu not held). */
static void after_run(struct lt_pool *p, struct lt__seq *s)
{
	uint32_t st = SEQ_RUNNING;

	pthread_mutex_lock(&p->mu);
	switch (s->exit_how) {
	case EXIT_PARK:
		if (s->deadline != LT_FOREVER) {
			timer_add(p, s);
			/* A sleeping worker may sleep past this deadline: let it look again. */
			if (p->sleepers)
				pthread_cond_signal(&p->work_cv);
		}
		if (!atomic_compare_exchange_strong(&s->state, &st, SEQ_PARKED)) {
			/* NOTIFIED while it was on its way out: ready after its run_end. */
			lt_seq_ready(s->id);
			atomic_store(&s->state, SEQ_QUEUED);
			push(p, s);
		}
		break;
	case EXIT_YIELD:
		atomic_store(&s->state, SEQ_QUEUED);
		push(p, s);
		break;
	case EXIT_DONE:
		free_stack(s);
		if (s->comp) {
			s->done = 1; /* lt_comp_destroy frees it */
		} else {
			lt__seq_free(s);
			atomic_fetch_sub(&p->tasks, 1);
		}
		pthread_cond_broadcast(&p->done_cv);
		break;
	}
	pthread_mutex_unlock(&p->mu);
}

static void run(struct worker *w, struct lt__seq *s)
{
	w->running = s;
	lt__comp_set_self(s->comp);
	atomic_store(&s->state, SEQ_RUNNING);
	s->batch = 0;
	s->turns++;
	s->slice_start = lt_rt_now_ns();
	lt_seq_run_begin(s->id);
	lt__fiber_resume(&w->host, &s->fiber);
	w->running = NULL;
	lt__comp_set_self(NULL);
	after_run(w->pool, s);
}

static void wait_work(struct lt_pool *p, uint64_t deadline_ns)
{
	p->sleepers++;
	if (deadline_ns == LT_FOREVER) {
		pthread_cond_wait(&p->work_cv, &p->mu);
	} else {
		struct timespec ts = {.tv_sec = (time_t)(deadline_ns / 1000000000u),
				      .tv_nsec = (long)(deadline_ns % 1000000000u)};

		pthread_cond_timedwait(&p->work_cv, &p->mu, &ts);
	}
	p->sleepers--;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct lt_pool *p = w->pool;
	char tname[32];

	snprintf(tname, sizeof(tname), "%s.%u", p->name, w->index);
	lt__set_thread_name(tname);
	cur_worker = w;
	lt_pool_worker_begin(p->id);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		uint64_t next = fire_timers(p);
		struct lt__seq *s = pop(p);

		if (s) {
			pthread_mutex_unlock(&p->mu);
			run(w, s);
			pthread_mutex_lock(&p->mu);
			continue;
		}
		if (p->stop)
			break;
		wait_work(p, next);
	}
	pthread_mutex_unlock(&p->mu);
	lt_pool_worker_end();
	cur_worker = NULL;
	return NULL;
}

/* ---- public ---------------------------------------------------------------------------------- */

static void stop_workers(struct lt_pool *p, unsigned started)
{
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < started; i++)
		pthread_join(p->workers[i].thread, NULL);
}

static void pool_free(struct lt_pool *p)
{
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work_cv);
	pthread_cond_destroy(&p->done_cv);
	free(p->workers);
	free(p->name);
	free(p);
}

enum lt_err lt_pool_create(const char *name, unsigned threads, struct lt_pool **out)
{
	pthread_condattr_t ca;
	struct lt_pool *p;

	if (!out || !name || threads == 0 || threads > 1024)
		return LT_EINVAL;
	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return LT_ENOMEM;
	p->name = strdup(name);
	p->workers = calloc(threads, sizeof(*p->workers));
	if (!p->name || !p->workers) {
		free(p->name);
		free(p->workers);
		free(p);
		return LT_ENOMEM;
	}
	p->nthreads = threads;
	p->stack_size = lt__fiber_default_stack();
	atomic_init(&p->queued, 0);
	atomic_init(&p->tasks, 0);
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->work_cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&p->done_cv, NULL);
	p->id = lt_pool_declare(name, threads);
	for (unsigned i = 0; i < threads; i++) {
		p->workers[i].pool = p;
		p->workers[i].index = i;
		if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0) {
			stop_workers(p, i);
			pool_free(p);
			return LT_ESYS;
		}
	}
	*out = p;
	return LT_OK;
}

/* on_own_worker - non-zero when the calling thread is a worker of `p`. */
static int on_own_worker(const struct lt_pool *p)
{
	struct lt__seq *s = lt__seq_current();

	return s && s->pool == p;
}

static enum lt_err wait_tasks(struct lt_pool *p, uint64_t deadline_ns)
{
	enum lt_err err = LT_OK;

	while (atomic_load(&p->tasks) != 0) {
		if (deadline_ns == LT_FOREVER) {
			pthread_cond_wait(&p->done_cv, &p->mu);
			continue;
		}
		if (lt_rt_now_ns() >= deadline_ns) {
			err = LT_ETIMEDOUT;
			break;
		}
		{
			/* done_cv runs on CLOCK_REALTIME: wait in short steps, check our clock. */
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 10000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&p->done_cv, &p->mu, &ts);
		}
	}
	return err;
}

enum lt_err lt_pool_wait_tasks(struct lt_pool *p, uint64_t deadline_ns)
{
	enum lt_err err;

	if (!p || on_own_worker(p))
		return LT_EINVAL;
	pthread_mutex_lock(&p->mu);
	err = wait_tasks(p, deadline_ns);
	pthread_mutex_unlock(&p->mu);
	return err;
}

enum lt_err lt_pool_destroy(struct lt_pool *p)
{
	if (!p)
		return LT_OK;
	if (on_own_worker(p))
		return LT_EINVAL;
	pthread_mutex_lock(&p->mu);
	if (p->comps != 0) {
		pthread_mutex_unlock(&p->mu);
		return LT_EBUSY;
	}
	/* From here on no other thread may spawn: wait_tasks lets go of mu while it waits. */
	p->destroying = 1;
	wait_tasks(p, LT_FOREVER);
	pthread_mutex_unlock(&p->mu);
	stop_workers(p, p->nthreads);
	pool_free(p);
	return LT_OK;
}

enum lt_err lt_pool_set_stack_size(struct lt_pool *p, size_t bytes)
{
	if (!p || bytes < LT_POOL_MIN_STACK || bytes > LT_POOL_MAX_STACK)
		return LT_EINVAL;
	pthread_mutex_lock(&p->mu);
	p->stack_size = bytes;
	pthread_mutex_unlock(&p->mu);
	return LT_OK;
}

static size_t stack_of(struct lt_pool *p)
{
	size_t sz;

	pthread_mutex_lock(&p->mu);
	sz = p->stack_size;
	pthread_mutex_unlock(&p->mu);
	return sz;
}

/* make_ready - a new sequence (state QUEUED) is announced and queued. */
static void make_ready(struct lt_pool *p, struct lt__seq *s)
{
	lt_seq_ready(s->id);
	pthread_mutex_lock(&p->mu);
	push(p, s);
	pthread_mutex_unlock(&p->mu);
}

enum lt_err lt_pool_spawn(struct lt_pool *p, const char *name, void (*fn)(void *), void *arg)
{
	struct lt__seq *s;

	if (!p || !fn)
		return LT_EINVAL;
	s = seq_new(p, stack_of(p));
	if (!s)
		return LT_ENOMEM;
	s->name = strdup(name ? name : "task");
	if (!s->name) {
		lt__seq_free(s);
		return LT_ENOMEM;
	}
	s->task_fn = fn;
	s->task_arg = arg;
	pthread_mutex_lock(&p->mu);
	/*
	 * While the pool is being destroyed its own tasks may still spawn (destroy waits for
	 * those too: the count never drops to 0 in between); other threads may not.
	 */
	if (p->stop || (p->destroying && !on_own_worker(p))) {
		pthread_mutex_unlock(&p->mu);
		lt__seq_free(s);
		return LT_EINVAL;
	}
	atomic_fetch_add(&p->tasks, 1);
	pthread_mutex_unlock(&p->mu);
	s->id = lt_seq_begin(s->name, p->id, LT_SEQ_TASK);
	make_ready(p, s);
	return LT_OK;
}

enum lt_err lt__pool_start_comp(struct lt_pool *p, struct lt_comp *c, const char *name,
				struct lt__seq **out, uint32_t *id_out)
{
	struct lt__seq *s = seq_new(p, stack_of(p));

	if (!s)
		return LT_ENOMEM;
	s->comp = c;
	s->id = lt_seq_begin(name, p->id, 0);
	*id_out = s->id;
	*out = s;
	make_ready(p, s);
	return LT_OK;
}

void lt__seq_wait_done(struct lt__seq *s)
{
	struct lt_pool *p = s->pool;

	pthread_mutex_lock(&p->mu);
	while (!s->done)
		pthread_cond_wait(&p->done_cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

void lt__pool_comp_attach(struct lt_pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->comps++;
	pthread_mutex_unlock(&p->mu);
}

void lt__pool_comp_detach(struct lt_pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->comps--;
	pthread_mutex_unlock(&p->mu);
}

uint32_t lt_pool_id(const struct lt_pool *p)
{
	return p ? p->id : 0;
}

const char *lt_pool_name(const struct lt_pool *p)
{
	return p ? p->name : "";
}

unsigned lt_pool_threads(const struct lt_pool *p)
{
	return p ? p->nthreads : 0;
}

size_t lt_pool_tasks(const struct lt_pool *p)
{
	return p ? atomic_load(&((struct lt_pool *)p)->tasks) : 0;
}
