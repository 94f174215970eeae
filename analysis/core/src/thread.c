/*
 * thread.c - the per-thread state machine of the streaming analysis, and the handlers of the
 * events that drive it (component, wait, handle, block, route dispatch); the interposer's
 * thread state before a --begin window.
 *
 * Each event updates the state of its thread (outside / waiting / handling / blocked) and
 * the component the thread runs. Time is accounted lazily: a thread remembers since when it
 * is in its current state, and every state change first charges the elapsed interval to
 * the component (th_advance), so the five time categories of a component always add up to
 * its wall time, to the ns. See docs/analysis.md for the definitions.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int32_t lt__thread_get(struct lt_analysis *a, int64_t vpid, int64_t vtid)
{
	int32_t *slot = &a->thread_cache[(uint64_t)vtid & 63u];
	int32_t c = *slot - 1;
	if (c >= 0 && a->threads.v[c].vtid == vtid && a->threads.v[c].vpid == vpid)
		return c;
	uint32_t i = lt__map_get(&a->thread_map, (uint64_t)vpid, (uint64_t)vtid, 0);
	if (i == NONE32) {
		int32_t k = lt__vec_push(a->threads);
		if (k < 0)
			return -1;
		if (lt__map_put(&a->thread_map, (uint64_t)vpid, (uint64_t)vtid, 0, (uint32_t)k)) {
			a->threads.n--;
			return -1;
		}
		struct lt_thread *t = &a->threads.v[k];
		t->vpid = vpid;
		t->vtid = vtid;
		t->comp = -1;
		t->site = -1;
		t->route = -1;
		t->handle_mi = NONE32;
		t->recv_mi = NONE32;
		t->worker = t->pool = t->run = -1;
		t->next_task = t->next_free = -1;
		t->state = LT_T_OUTSIDE;
		t->last_ts = INT64_MIN;
		i = (uint32_t)k;
	}
	*slot = (int32_t)i + 1;
	return (int32_t)i;
}

/* ---------------------------------------------------------------------------------------- */
/* the state machine */

/* th_handling - in a handler, or running a route's callback (the router's handler). */
static inline int th_handling(const struct lt_thread *t)
{
	return t->in_handler || t->route >= 0;
}

/* th_drop_wait_site - the thread's wait no longer counts as a block on a channel receive. */
static void th_drop_wait_site(struct lt_thread *t)
{
	if (t->wait_site) {
		t->wait_site = 0;
		if (t->block_depth == 0)
			t->site = -1;
	}
}

static enum lt_tcat th_derive(const struct lt_thread *t)
{
	int h = th_handling(t);
	if (t->seq && !t->running) {
		/* no worker: ready, awaiting (the worker released), or idle */
		if (t->ready)
			return LT_T_RUNNABLE;
		if (t->block_depth > 0)
			return h ? LT_T_BIH : LT_T_BO;
		return LT_T_IDLE;
	}
	if (t->waiting)
		return h ? LT_T_BIH : LT_T_IDLE;
	if (t->block_depth > 0)
		return h ? LT_T_BIH : LT_T_BO;
	return h ? LT_T_BUSY : LT_T_OUTSIDE;
}

/* th_advance - charges [since, ts) to the thread's component in its current state. */
static void th_advance(struct lt_analysis *a, struct lt_thread *t, int64_t ts)
{
	if (ts <= t->since)
		return;
	if (t->comp >= 0) {
		struct lt_an_comp *c = &a->comps.v[t->comp];
		uint64_t d = (uint64_t)(ts - t->since);
		c->time[t->state] += d;
		if (t->state == LT_T_BUSY)
			lt__series_span(a, c, LT_S_BUSY, t->since, ts, 0);
		else if (t->state == LT_T_RUNNABLE)
			lt__series_span(a, c, LT_S_RUNNABLE, t->since, ts, 0);
		else if (t->state == LT_T_BIH || t->state == LT_T_BO) {
			lt__series_span(a, c, LT_S_BLOCKED, t->since, ts, 0);
			if (t->site >= 0) {
				a->sites.v[t->site].ns += d;
				if (t->state == LT_T_BIH)
					a->sites.v[t->site].in_handler_ns += d;
				if (t->seq && !t->running)
					a->sites.v[t->site].released_ns += d;
			}
			if (t->seq && !t->running)
				c->released_ns += d;
		}
	}
	t->since = ts;
}

void lt__th_advance(struct lt_analysis *a, struct lt_thread *t, int64_t ts)
{
	th_advance(a, t, ts);
}

/* th_settle - recomputes the thread's state after its flags changed. */
static void th_settle(struct lt_analysis *a, struct lt_thread *t)
{
	t->state = th_derive(t);
	int busy = t->comp >= 0 && t->state == LT_T_BUSY;
	if (busy != t->counted_busy) {
		if (busy) {
			a->busy_now++;
			if (a->busy_now > a->busy_max)
				a->busy_max = a->busy_now;
		} else if (a->busy_now > 0) {
			a->busy_now--;
		}
		t->counted_busy = busy;
	}
}

void lt__th_settle(struct lt_analysis *a, struct lt_thread *t)
{
	th_settle(a, t);
}

/*
 * th_bind - the thread starts running component ci at ts (its state flags kept). A task
 * aggregate has one binding per live task (the task's virtual thread), its wall their sum.
 */
static void th_bind(struct lt_analysis *a, int32_t ti, int32_t ci, int64_t ts)
{
	struct lt_thread *t = &a->threads.v[ti];
	struct lt_an_comp *c = &a->comps.v[ci];
	if (c->task) {
		if (c->first_ns == INT64_MIN)
			c->first_ns = ts;
		t->bound_since = ts;
		t->next_task = c->first_task;
		c->first_task = ti;
		t->comp = ci;
		t->since = ts;
		th_settle(a, t);
		return;
	}
	if (c->thread >= 0 && c->thread != ti) {
		/* the same component announced on another thread: move it */
		a->an.component_rebound++;
		struct lt_thread *o = &a->threads.v[c->thread];
		th_advance(a, o, ts > o->since ? ts : o->since);
		int64_t e = o->since;
		c->wall_ns += (uint64_t)(e - c->bound_since);
		c->last_ns = e;
		o->comp = -1;
		th_settle(a, o);
	}
	if (c->first_ns == INT64_MIN)
		c->first_ns = ts;
	c->thread = ti;
	c->bound_since = ts;
	c->tid = c->seq ? 0 : t->vtid; /* a sequence has no thread of its own */
	t->comp = ci;
	t->since = ts;
	th_settle(a, t);
}

/* th_unbind - the thread stops running its component at ts; flags cleared. */
static void th_unbind(struct lt_analysis *a, struct lt_thread *t, int64_t ts)
{
	th_advance(a, t, ts);
	if (t->comp >= 0 && a->comps.v[t->comp].task) {
		struct lt_an_comp *c = &a->comps.v[t->comp];
		int32_t *p = &c->first_task;
		while (*p >= 0 && *p != (int32_t)(t - a->threads.v))
			p = &a->threads.v[*p].next_task;
		if (*p >= 0)
			*p = t->next_task;
		t->next_task = -1;
		c->wall_ns += (uint64_t)(t->since - t->bound_since);
		if (t->since > c->last_ns)
			c->last_ns = t->since;
	} else if (t->comp >= 0) {
		struct lt_an_comp *c = &a->comps.v[t->comp];
		c->wall_ns += (uint64_t)(t->since - c->bound_since);
		c->last_ns = t->since;
		c->thread = -1;
	}
	if (t->in_handler)
		a->an.handlers_cut++;
	t->comp = -1;
	t->in_handler = 0;
	t->waiting = 0;
	t->wait_site = 0;
	t->block_depth = 0;
	t->site = -1;
	th_settle(a, t);
}

void lt__th_bind(struct lt_analysis *a, int32_t ti, int32_t ci, int64_t ts)
{
	th_bind(a, ti, ci, ts);
}

void lt__th_unbind(struct lt_analysis *a, struct lt_thread *t, int64_t ts)
{
	th_unbind(a, t, ts);
}

/*
 * th_need_comp - a loop event (wait/handle) on a thread with no component: bind it to its
 * implicit per-thread component. On the thread's first event the component starts at the
 * analysis origin (when `backdate`) in the state the caller's flags say: the trace began
 * while the thread waited or handled.
 */
static int th_need_comp(struct lt_analysis *a, int32_t ti, int64_t ts, int backdate)
{
	struct lt_thread *t = &a->threads.v[ti];
	if (t->comp >= 0)
		return 0;
	int32_t ci = lt__comp_get(a, t->vpid, (uint64_t)t->vtid, 1, 1);
	if (ci < 0) {
		lt__oom(a);
		return -1;
	}
	if (a->comps.v[ci].first_ns == INT64_MIN)
		a->an.implicit_components++;
	int64_t start = ts;
	if (backdate && !t->loop_seen && a->begin_ns < ts) {
		start = a->begin_ns;
	}
	th_bind(a, ti, ci, start);
	return 0;
}

/*
 * th_loop_event - the start of every loop event (wait/handle) on thread ti: binds the thread to
 * a component if it has none (th_need_comp) and accounts its time up to ts. Returns 0, or -1 when
 * out of memory (the event is dropped).
 */
static int th_loop_event(struct lt_analysis *a, int32_t ti, int64_t ts, int backdate)
{
	if (th_need_comp(a, ti, ts, backdate))
		return -1;
	th_advance(a, &a->threads.v[ti], ts);
	return 0;
}

/*
 * th_enter_site - thread `t` starts blocking at site (its component, reason, object, where):
 * its blocked time goes there from now on, and the site counts one more block. Out of
 * memory: no site (the time still counts as blocked) and anomalies.out_of_memory.
 */
static void th_enter_site(struct lt_analysis *a, struct lt_thread *t, uint32_t reason,
			  uint64_t object, uint64_t where)
{
	t->site = lt__site_get(a, t->comp, reason, object, where);
	if (t->site >= 0)
		a->sites.v[t->site].count++;
	else
		lt__oom(a);
}

/* ---------------------------------------------------------------------------------------- */
/* before the --begin window */

/*
 * lt__pre_window - an event before the --begin window: only the interposer's thread state is kept
 * (component and name, open blocks), for the thread to start the window in it (lt__pre_start).
 * The API's threads start it as implicit components (docs/analysis.md, Window).
 */
void lt__pre_window(struct lt_analysis *a, const struct lt_event *ev)
{
	enum lt_ev_kind k = ev->kind;
	if (k == LT_EV_COMPONENT_RENAME) {
		for (uint32_t i = 0; i < a->threads.n; i++) {
			struct lt_thread *o = &a->threads.v[i];
			if (o->vpid == ev->vpid && o->pre_bound && o->pre_comp == ev->comp &&
			    ev->name && ev->name[0] && strcmp(ev->name, "(unnamed)") != 0) {
				char *n = lt__dup_name(ev->name);
				if (!n) {
					lt__oom(a);
					return;
				}
				free(o->pre_name);
				o->pre_name = n;
			}
		}
		return;
	}
	if (k != LT_EV_COMPONENT_BEGIN && k != LT_EV_COMPONENT_END && k != LT_EV_BLOCK_BEGIN &&
	    k != LT_EV_BLOCK_END)
		return;
	int32_t ti = lt__thread_get(a, ev->vpid, ev->vtid);
	if (ti < 0) {
		lt__oom(a);
		return;
	}
	struct lt_thread *t = &a->threads.v[ti];
	if (!ev->preload) {
		if (k == LT_EV_COMPONENT_BEGIN || k == LT_EV_COMPONENT_END)
			t->pre_api = k == LT_EV_COMPONENT_BEGIN;
		return;
	}
	if (t->pre_api)
		return;
	switch (k) {
	case LT_EV_COMPONENT_BEGIN:
		t->pre_bound = 1;
		t->pre_comp = ev->comp;
		if (ev->name && ev->name[0] && strcmp(ev->name, "(unnamed)") != 0) {
			char *n = lt__dup_name(ev->name);
			if (!n) {
				lt__oom(a);
				break;
			}
			free(t->pre_name);
			t->pre_name = n;
		}
		break;
	case LT_EV_COMPONENT_END:
		t->pre_bound = 0;
		t->pre_depth = 0;
		free(t->pre_name);
		t->pre_name = NULL;
		break;
	case LT_EV_BLOCK_BEGIN:
		if (t->pre_depth == 0) {
			t->pre_reason = ev->reason;
			t->pre_object = ev->object;
			t->pre_where = ev->where;
		}
		if (t->pre_depth < LT_BLOCK_DEPTH_CAP)
			t->pre_depth++;
		break;
	default: /* LT_EV_BLOCK_END */
		if (t->pre_depth > 0)
			t->pre_depth--;
		break;
	}
}

/*
 * lt__pre_start - the window starts (a->begin_ns): every thread that ran one of the interposer's
 * components before it runs it from the start, blocked where it was.
 */
void lt__pre_start(struct lt_analysis *a)
{
	for (uint32_t i = 0; i < a->threads.n; i++) {
		struct lt_thread *t = &a->threads.v[i];
		if (t->pre_bound && !t->pre_api) {
			int32_t ci = lt__comp_get(a, t->vpid, t->pre_comp, 0, 1);
			if (ci < 0) {
				lt__oom(a);
			} else {
				t = &a->threads.v[i];
				struct lt_an_comp *c = &a->comps.v[ci];
				lt__take_name(a, &c->name, t->pre_name);
				c->declared = 1;
				c->preload = 1;
				th_bind(a, (int32_t)i, ci, a->begin_ns);
				t->loop_seen = 1;
				if (t->pre_depth > 0) {
					t->block_depth = t->pre_depth;
					t->block_reason = t->pre_reason;
					t->block_start = a->begin_ns;
					th_enter_site(a, t, t->pre_reason, t->pre_object,
						      t->pre_where);
					th_settle(a, t);
				}
			}
		}
		free(t->pre_name);
		t->pre_name = NULL;
		t->pre_bound = 0;
		t->pre_depth = 0;
	}
}

/* ---------------------------------------------------------------------------------------- */
/* component events */

void lt__on_component_begin(struct lt_analysis *a, int32_t ti, const struct lt_event *ev,
			    int64_t ts)
{
	int32_t ci = lt__comp_get(a, ev->vpid, ev->comp, 0, 1);
	if (ci < 0) {
		lt__oom(a);
		return;
	}
	struct lt_thread *t = &a->threads.v[ti];
	struct lt_an_comp *c = &a->comps.v[ci];
	lt__take_name(a, &c->name, ev->name); /* "" keeps comp-N */
	c->declared = 1;
	c->ended = 0;
	c->preload = ev->preload;
	if (t->comp == ci)
		return; /* the same component again: a rename (the interposer's setname) */
	if (t->comp >= 0) {
		if (!a->comps.v[t->comp].preload)
			a->an.nested_component_begin++; /* the interposer's naming just yields */
		th_unbind(a, t, ts);
	}
	th_bind(a, ti, ci, ts);
}

/* the interposer's component_rename: another thread renamed the thread of component `comp` */
void lt__on_component_rename(struct lt_analysis *a, int32_t ti, const struct lt_event *ev,
			     int64_t ts)
{
	(void)ti;
	(void)ts;
	int32_t ci = lt__comp_get(a, ev->vpid, ev->comp, 0, 0);
	if (ci >= 0)
		lt__take_name(a, &a->comps.v[ci].name, ev->name);
}

void lt__on_component_end(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts)
{
	struct lt_thread *t = &a->threads.v[ti];
	if (t->comp < 0) {
		a->an.unmatched_component_end++;
		return;
	}
	if (a->comps.v[t->comp].implicit || a->comps.v[t->comp].id != ev->comp)
		a->an.component_end_mismatch++;
	a->comps.v[t->comp].ended = 1;
	th_unbind(a, t, ts);
}

/* ---------------------------------------------------------------------------------------- */
/* loop events: wait and handle */

void lt__on_wait_begin(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts)
{
	(void)ev;
	if (th_loop_event(a, ti, ts, 0))
		return;
	struct lt_thread *t = &a->threads.v[ti];
	if (t->waiting)
		a->an.nested_wait++;
	t->waiting = 1;
	if (th_handling(t) && t->block_depth == 0 && !t->wait_site) {
		/* a wait inside a handler is a block on a channel receive */
		th_enter_site(a, t, 0 /* chan_recv */, 0, 0);
		t->wait_site = 1;
	}
	th_settle(a, t);
}

void lt__on_wait_end(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts)
{
	struct lt_thread *t = &a->threads.v[ti];
	if (t->comp < 0 && !t->loop_seen)
		t->waiting = 1; /* the trace began while it waited */
	if (th_loop_event(a, ti, ts, 1))
		return;
	if (!t->waiting)
		a->an.unmatched_wait_end++;
	t->waiting = 0;
	th_drop_wait_site(t);
	th_settle(a, t);
	uint32_t mi = lt__msg_receipt(a, ti, ev->msg, ts);
	if (ev->chan) { /* a channel it never saw named or used stays out of the report */
		uint32_t ci = lt__map_get(&a->chan_map, (uint64_t)ev->vpid, ev->chan, 0);
		lt__msg_arrived(a, ti, mi, ci == NONE32 ? -1 : (int32_t)ci);
	}
}

void lt__on_handle_begin(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts)
{
	if (th_loop_event(a, ti, ts, 0))
		return;
	struct lt_thread *t = &a->threads.v[ti];
	if (t->in_handler)
		a->an.nested_handle++;
	if (t->waiting) {
		a->an.handle_while_waiting++;
		t->waiting = 0;
		th_drop_wait_site(t);
	}
	t->in_handler = 1;
	t->handle_partial = 0;
	t->handle_msg = ev->msg;
	t->handle_start = ts;
	th_settle(a, t);
	t->handle_mi = lt__msg_receipt(a, ti, ev->msg, ts);
}

/*
 * handle_account - the handler of component ci that began at hb (its handle_begin event;
 * partial: the trace began inside it) ended at ts: its busy time loses what writing the two
 * events cost when the program read the exact bounds, and the component counts one message
 * handled. Returns the handler's end (exact when known); *hb becomes its exact start.
 */
static int64_t handle_account(struct lt_analysis *a, int32_t ci, const struct lt_event *ev,
			      int64_t ts, int partial, int64_t *hb)
{
	struct lt_an_comp *c = &a->comps.v[ci];
	int64_t he = ts;
	if (!partial && ev->begin_ns && ev->end_ns && *hb <= ev->begin_ns &&
	    ev->begin_ns <= ev->end_ns && ev->end_ns <= ts) {
		lt__comp_trim_handler(a, c, *hb, ev->begin_ns, ev->end_ns, ts);
		*hb = ev->begin_ns;
		he = ev->end_ns;
	}
	if (!partial)
		lt__comp_count_handled(a, c, (uint64_t)(he - *hb), ts);
	else
		a->an.handlers_cut++;
	return he;
}

void lt__on_handle_end(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts)
{
	struct lt_thread *t = &a->threads.v[ti];
	if (t->comp < 0 && !t->loop_seen) {
		/* the trace began inside this handler */
		t->in_handler = 1;
		t->handle_partial = 1;
		t->handle_msg = ev->msg;
		t->handle_start = a->begin_ns;
	}
	if (th_loop_event(a, ti, ts, 1))
		return;
	if (!t->in_handler) {
		a->an.unmatched_handle_end++;
		th_settle(a, t);
		return;
	}
	if (t->handle_msg != ev->msg)
		a->an.handle_end_mismatch++;
	int partial = t->handle_partial;
	int64_t hb = t->handle_start;
	uint64_t hm = t->handle_msg;
	int32_t ci = t->comp;
	t->in_handler = 0;
	t->handle_partial = 0;
	if (t->waiting && !th_handling(t))
		th_drop_wait_site(t);
	th_settle(a, t);
	int64_t he = handle_account(a, ci, ev, ts, partial, &hb);
	lt__msg_done(a, t->vpid, hm, t->handle_mi, ci, hb, he, partial);
}

/* ---------------------------------------------------------------------------------------- */
/* blocks */

void lt__on_block_begin(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts)
{
	struct lt_thread *t = &a->threads.v[ti];
	th_advance(a, t, ts);
	if (t->block_depth >= LT_BLOCK_DEPTH_CAP) {
		a->an.block_depth_overflow++;
		return;
	}
	if (t->block_depth == 0) {
		t->block_reason = ev->reason;
		t->block_start = ts;
		t->block_in_run = t->seq && t->running; /* a worker held, not released */
		if (t->comp < 0)
			a->an.blocks_outside_components++;
		else if (!t->waiting) {
			th_enter_site(a, t, ev->reason, ev->object, ev->where);
			if (t->site >= 0 && ev->call) /* the interposer's wrapped call */
				a->sites.v[t->site].call = ev->call;
		}
	}
	t->block_depth++;
	th_settle(a, t);
}

void lt__on_block_end(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts)
{
	struct lt_thread *t = &a->threads.v[ti];
	(void)ev;
	if (t->block_depth == 0) {
		a->an.unmatched_block_end++;
		return;
	}
	th_advance(a, t, ts);
	t->block_depth--;
	if (t->block_depth == 0) {
		if (t->block_reason == 1 /* chan_send */) {
			t->pending_send_block_ns += (uint64_t)(ts - t->block_start);
			t->pending_send_block_count++;
		}
		if (!t->wait_site)
			t->site = -1;
		t->block_in_run = 0;
	}
	th_settle(a, t);
}

/* ---------------------------------------------------------------------------------------- */
/* route dispatch: the thread runs a route's callback */

void lt__on_route_dispatch_begin(struct lt_analysis *a, int32_t ti, const struct lt_event *ev,
				 int64_t ts)
{
	int32_t ri = lt__route_get(a, ev->vpid, ev->route, 0);
	if (ri < 0) {
		lt__oom(a);
		return;
	}
	struct lt_thread *t = &a->threads.v[ti];
	th_advance(a, t, ts);
	if (t->route >= 0) {
		a->an.nested_dispatch++;
		a->routes.v[t->route].active--;
	}
	t->route = ri;
	a->routes.v[ri].active++;
	t->dispatch_start = ts;
	t->dispatch_msg = ev->msg;
	th_settle(a, t);
	lt__msg_receipt(a, ti, ev->msg, ts);
}

void lt__on_route_dispatch_end(struct lt_analysis *a, int32_t ti, const struct lt_event *ev,
			       int64_t ts)
{
	struct lt_thread *t = &a->threads.v[ti];
	(void)ev;
	if (t->route < 0) {
		a->an.unmatched_dispatch_end++;
		return;
	}
	int32_t ri = t->route;
	struct lt_an_route *r = &a->routes.v[ri];
	uint64_t d = (uint64_t)(ts - t->dispatch_start);
	r->dispatches++;
	if (lt__hist_add(&r->dispatch, d))
		lt__oom(a);
	/* the message went to the dispatching component (the router), else the owner */
	int32_t to = t->comp;
	if (to < 0 && r->owner)
		to = lt__comp_get(a, t->vpid, r->owner, 0, 1);
	th_advance(a, t, ts);
	int64_t db = t->dispatch_start;
	uint64_t dm = t->dispatch_msg;
	t->route = -1;
	a->routes.v[ri].active--;
	if (t->waiting && !th_handling(t))
		th_drop_wait_site(t);
	th_settle(a, t);
	if (t->comp >= 0 && !t->in_handler) {
		/* a dispatch outside any handler is the router's handler */
		lt__comp_count_handled(a, &a->comps.v[t->comp], d, ts);
	}
	if (dm)
		lt__msg_done(a, t->vpid, dm, NONE32, to, db, ts, 0);
	lt__route_fold(a, ri);
}
