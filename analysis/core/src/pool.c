/*
 * pool.c - pools and sequences (docs/analysis.md, "Sequences and pools"): a component that
 * runs as a sequence on a pool's worker threads gets a *virtual thread*, the state machine its
 * own thread would have (thread.c); a worker's events between seq_run_begin and seq_run_end
 * are fed to it (lt__seq_redirect), and seq_ready makes it runnable from any thread. The
 * workers' own time (idle between runs, busy in a run, held by a blocking call that is not
 * an await) goes to their pool.
 *
 * Spawned tasks (LT_SEQ_TASK) of one name share one component row; each task has its own
 * virtual thread while it lives, returned to a free list at seq_end, so memory follows the
 * tasks alive, not the tasks ever spawned.
 */
#include "view.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LT_TASK_KEY 2u /* comp_map's third key of a task aggregate: (vpid, name hash, 2) */

/* A sequence's virtual thread id: negative, never a real thread's (-1 is "no vtid"). */
static inline int64_t seq_vtid(uint32_t comp)
{
	return -2 - (int64_t)comp;
}

int32_t lt__pool_get(struct lt_analysis *a, int64_t vpid, uint32_t id)
{
	uint32_t i = lt__map_get(&a->pool_map, (uint64_t)vpid, id, 0);
	if (i != NONE32)
		return (int32_t)i;
	int32_t k = lt__vec_push(a->pools);
	if (k < 0)
		return -1;
	struct lt_an_pool *p = &a->pools.v[k];
	char buf[32];
	snprintf(buf, sizeof(buf), "pool-%" PRIu32, id);
	p->vpid = vpid;
	p->id = id;
	p->name = lt__dup_name(buf);
	if (!p->name || lt__map_put(&a->pool_map, (uint64_t)vpid, id, 0, (uint32_t)k)) {
		free(p->name);
		a->pools.n--;
		return -1;
	}
	return k;
}

/* wk_state - what worker w does now: idle, busy in a run, or held by its sequence's block. */
static enum lt_wcat wk_state(const struct lt_analysis *a, const struct lt_thread *w)
{
	if (!w->run_comp)
		return LT_W_IDLE;
	if (w->run >= 0) {
		const struct lt_thread *v = &a->threads.v[w->run];
		if (v->block_depth > 0 && v->block_in_run)
			return LT_W_BLOCKED;
	}
	return LT_W_BUSY; /* in a run (also of a sequence that ended inside it) */
}

/* wk_advance - charges [wsince, ts) of worker w to its pool (and a held worker's sequence). */
static void wk_advance(struct lt_analysis *a, struct lt_thread *w, int64_t ts)
{
	if (w->pool >= 0 && ts > w->wsince) {
		uint64_t d = (uint64_t)(ts - w->wsince);
		a->pools.v[w->pool].time[w->wstate] += d;
		if (w->wstate == LT_W_BLOCKED && w->run >= 0 && a->threads.v[w->run].comp >= 0)
			a->comps.v[a->threads.v[w->run].comp].held_ns += d;
	}
	if (ts > w->wsince)
		w->wsince = ts;
}

void lt__worker_sync(struct lt_analysis *a, int32_t wi, int64_t ts)
{
	struct lt_thread *w = &a->threads.v[wi];
	enum lt_wcat s = wk_state(a, w);
	if (s != w->wstate) {
		wk_advance(a, w, ts);
		w->wstate = s;
	}
}

void lt__pool_view(const struct lt_analysis *a, uint32_t pi, int64_t now, uint64_t time[LT_W_COUNT])
{
	memcpy(time, a->pools.v[pi].time, sizeof(a->pools.v[pi].time));
	for (uint32_t i = 0; i < a->threads.n; i++) {
		const struct lt_thread *w = &a->threads.v[i];
		if (w->pool == (int32_t)pi && now > w->wsince)
			time[w->wstate] += (uint64_t)(now - w->wsince);
	}
}

/* ---------------------------------------------------------------------------------------- */
/* virtual threads */

/* vthread_new - a virtual thread for sequence (vpid, comp), reusing an ended task's. */
static int32_t vthread_new(struct lt_analysis *a, int64_t vpid, uint32_t comp)
{
	int32_t ti = a->vthread_free;
	if (ti < 0)
		return lt__thread_get(a, vpid, seq_vtid(comp));
	if (lt__map_put(&a->thread_map, (uint64_t)vpid, (uint64_t)seq_vtid(comp), 0, (uint32_t)ti))
		return -1;
	struct lt_thread *t = &a->threads.v[ti];
	a->vthread_free = t->next_free;
	memset(t, 0, sizeof(*t));
	t->vpid = vpid;
	t->vtid = seq_vtid(comp);
	t->comp = t->site = t->route = -1;
	t->handle_mi = t->recv_mi = NONE32;
	t->worker = t->pool = t->run = -1;
	t->next_task = t->next_free = -1;
	t->state = LT_T_OUTSIDE;
	t->last_ts = INT64_MIN;
	return ti;
}

/* seq_find - the virtual thread of sequence (vpid, comp), -1 when it never began. */
static int32_t seq_find(const struct lt_analysis *a, int64_t vpid, uint32_t comp)
{
	uint32_t i = lt__map_get(&a->thread_map, (uint64_t)vpid, (uint64_t)seq_vtid(comp), 0);
	return i == NONE32 ? -1 : (int32_t)i;
}

/* task_comp - the component row of the tasks named `name` of process vpid on pool pi. */
static int32_t task_comp(struct lt_analysis *a, int64_t vpid, const char *name, int32_t pi)
{
	uint64_t h = 1469598103934665603u; /* FNV-1a of the name, with the pool */
	for (const char *p = name ? name : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211u;
	h ^= (uint64_t)(uint32_t)pi << 1;
	uint32_t i = lt__map_get(&a->comp_map, (uint64_t)vpid, h, LT_TASK_KEY);
	if (i != NONE32)
		return (int32_t)i;
	int32_t ci = lt__comp_get(a, vpid, h, LT_TASK_KEY, 1);
	if (ci < 0)
		return -1;
	struct lt_an_comp *c = &a->comps.v[ci];
	c->implicit = 0;
	c->id = 0;
	c->tid = 0;
	c->task = 1;
	free(c->name);
	c->name = lt__dup_name("(task)");
	if (!c->name)
		lt__oom(a);
	lt__take_name(a, &c->name, name);
	return ci;
}

/*
 * seq_start - sequence (vpid, comp) begins at ts as component ci: its virtual thread, idle.
 * Returns the thread's index or -1 (out of memory).
 */
static int32_t seq_start(struct lt_analysis *a, int64_t vpid, uint32_t comp, int32_t ci, int64_t ts)
{
	int32_t vi = vthread_new(a, vpid, comp);
	if (vi < 0)
		return -1;
	struct lt_thread *v = &a->threads.v[vi];
	v->seq = 1;
	v->loop_seen = 1;
	lt__th_bind(a, vi, ci, ts);
	return vi;
}

/* seq_get - the virtual thread of (vpid, comp); one is made (pool unknown) for a sequence
 * whose seq_begin the trace does not hold. */
static int32_t seq_get(struct lt_analysis *a, int64_t vpid, uint32_t comp, int64_t ts)
{
	int32_t vi = seq_find(a, vpid, comp);
	if (vi >= 0)
		return vi;
	int32_t ci = lt__comp_get(a, vpid, comp, 0, 1);
	if (ci < 0)
		return -1;
	a->an.unknown_sequences++;
	a->comps.v[ci].seq = 1;
	return seq_start(a, vpid, comp, ci, ts);
}

/* ---------------------------------------------------------------------------------------- */
/* runs */

/* run_stop - worker wi's run ends at ts: its sequence (if it still lives) leaves the worker. */
static void run_stop(struct lt_analysis *a, int32_t wi, int64_t ts)
{
	struct lt_thread *w = &a->threads.v[wi];
	wk_advance(a, w, ts);
	if (w->run >= 0) {
		struct lt_thread *v = &a->threads.v[w->run];
		lt__th_advance(a, v, ts);
		v->running = 0;
		v->worker = -1;
		v->block_in_run = 0;
		lt__th_settle(a, v); /* awaiting (block open), runnable (ready came) or idle */
	}
	w->run = -1;
	w->run_comp = 0;
	w->wstate = LT_W_IDLE;
}

void lt__on_seq_run_begin(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts)
{
	if (a->threads.v[ti].run_comp) {
		a->an.nested_run++;
		run_stop(a, ti, ts);
	}
	int32_t vi = seq_get(a, ev->vpid, ev->comp, ts);
	if (vi < 0) {
		lt__oom(a);
		return;
	}
	struct lt_thread *w = &a->threads.v[ti], *v = &a->threads.v[vi];
	if (v->running && v->worker >= 0 && v->worker != ti) {
		a->an.nested_run++; /* its previous run's end is missing */
		run_stop(a, v->worker, ts);
	}
	struct lt_an_comp *c = v->comp >= 0 ? &a->comps.v[v->comp] : NULL;
	if (w->pool < 0 && c && c->pool >= 0) { /* a worker that never said so */
		w->pool = c->pool;
		w->wsince = ts;
		a->pools.v[c->pool].workers++;
	}
	wk_advance(a, w, ts);
	lt__th_advance(a, v, ts);
	v->running = 1;
	v->ready = 0;
	v->worker = ti;
	v->block_in_run = 0; /* a block still open is a resumed await: it ends at once */
	lt__th_settle(a, v);
	w->run = vi;
	w->run_comp = ev->comp;
	w->wstate = wk_state(a, w);
	if (c)
		c->runs++;
	if (w->pool >= 0)
		a->pools.v[w->pool].runs++;
}

void lt__on_seq_run_end(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts)
{
	struct lt_thread *w = &a->threads.v[ti];
	if (!w->run_comp || w->run_comp != ev->comp) {
		a->an.unmatched_run_end++;
		if (!w->run_comp)
			return;
	}
	run_stop(a, ti, ts);
}

void lt__on_seq_ready(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts)
{
	(void)ti;
	int32_t vi = seq_get(a, ev->vpid, ev->comp, ts);
	if (vi < 0) {
		lt__oom(a);
		return;
	}
	struct lt_thread *v = &a->threads.v[vi];
	if (v->running) {
		v->ready = 1; /* remembered: runnable, not idle, when this run ends */
		return;
	}
	lt__th_advance(a, v, ts);
	v->ready = 1;
	lt__th_settle(a, v);
}

/* ---------------------------------------------------------------------------------------- */
/* sequences and pools */

void lt__on_seq_begin(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts)
{
	(void)ti;
	int32_t pi = ev->pool ? lt__pool_get(a, ev->vpid, ev->pool) : -1;
	int32_t known = seq_find(a, ev->vpid, ev->comp);
	if (known >= 0) { /* made by a ready or run seen first: name it */
		int32_t kc = a->threads.v[known].comp;
		if (kc >= 0 && !a->comps.v[kc].task) {
			lt__take_name(a, &a->comps.v[kc].name, ev->name);
			a->comps.v[kc].pool = pi;
			a->comps.v[kc].declared = 1;
		}
		return;
	}
	int task = (ev->flags & 1u) != 0; /* LT_SEQ_TASK */
	int32_t ci =
	    task ? task_comp(a, ev->vpid, ev->name, pi) : lt__comp_get(a, ev->vpid, ev->comp, 0, 1);
	if (ci < 0 || (ev->pool && pi < 0)) {
		lt__oom(a);
		return;
	}
	struct lt_an_comp *c = &a->comps.v[ci];
	if (!task)
		lt__take_name(a, &c->name, ev->name);
	c->declared = 1;
	c->seq = 1;
	c->ended = 0;
	c->pool = pi;
	if (task) {
		if (!c->id)
			c->id = ev->comp; /* its key: the first task's id (ids are never reused) */
		c->tasks++;
		c->live++;
	}
	if (seq_start(a, ev->vpid, ev->comp, ci, ts) < 0)
		lt__oom(a);
}

void lt__on_seq_end(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts)
{
	(void)ti;
	int32_t vi = seq_find(a, ev->vpid, ev->comp);
	if (vi < 0) {
		a->an.unknown_sequences++;
		return;
	}
	struct lt_thread *v = &a->threads.v[vi];
	if (v->running && v->worker >= 0) {
		/* it ended inside its run (a task returning): the worker stays busy to run_end */
		struct lt_thread *w = &a->threads.v[v->worker];
		wk_advance(a, w, ts);
		w->run = -1;
		w->wstate = LT_W_BUSY;
		v = &a->threads.v[vi];
	}
	int32_t ci = v->comp;
	v->running = 0;
	v->ready = 0;
	lt__th_unbind(a, v, ts);
	if (ci >= 0) {
		struct lt_an_comp *c = &a->comps.v[ci];
		if (c->task && c->live)
			c->live--;
		c->ended = !c->task || c->live == 0;
	}
	/* the virtual thread is free for the next sequence (tasks come and go) */
	lt__map_del(&a->thread_map, (uint64_t)v->vpid, (uint64_t)v->vtid, 0);
	a->thread_cache[(uint64_t)v->vtid & 63u] = 0;
	v->seq = 0;
	v->vtid = -1;
	v->next_free = a->vthread_free;
	a->vthread_free = vi;
}

void lt__on_pool_declare(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts)
{
	(void)ti;
	(void)ts;
	int32_t pi = lt__pool_get(a, ev->vpid, ev->pool);
	if (pi < 0) {
		lt__oom(a);
		return;
	}
	lt__take_name(a, &a->pools.v[pi].name, ev->name);
	a->pools.v[pi].threads = ev->threads;
}

void lt__on_pool_worker_begin(struct lt_analysis *a, int32_t ti, const struct lt_event *ev,
			      int64_t ts)
{
	int32_t pi = lt__pool_get(a, ev->vpid, ev->pool);
	if (pi < 0) {
		lt__oom(a);
		return;
	}
	struct lt_thread *w = &a->threads.v[ti];
	if (w->run_comp)
		run_stop(a, ti, ts);
	wk_advance(a, w, ts);
	if (w->pool != pi)
		a->pools.v[pi].workers++;
	w->pool = pi;
	w->wsince = ts;
	w->wstate = LT_W_IDLE;
}

void lt__on_pool_worker_end(struct lt_analysis *a, int32_t ti, const struct lt_event *ev,
			    int64_t ts)
{
	(void)ev;
	struct lt_thread *w = &a->threads.v[ti];
	if (w->run_comp)
		run_stop(a, ti, ts);
	wk_advance(a, w, ts);
	w->pool = -1;
}
