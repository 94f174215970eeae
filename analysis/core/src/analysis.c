/*
 * analysis.c - the analysis object (create/destroy), its window and origin, lost events,
 * loaded objects, and lt_analysis_feed: the checks every event goes through before the
 * handler of its kind (thread.c, entity.c, msg.c) runs.
 *
 * Messages and flows in flight sit in pools keyed by id and are released when their
 * handler ends (msg.c); the time series live in series.c. See docs/analysis.md for the
 * definitions.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LT_TS_MAX ((int64_t)1 << 62) /* ns, about 146 years */

static const char *const reason_names[LT_REASON_COUNT] = LT_BLOCK_REASON_NAMES;

const char *lt__reason_name(uint32_t reason)
{
	return reason < LT_REASON_COUNT ? reason_names[reason] : "unknown";
}

int32_t lt__vec_push_(void **v, uint32_t *n, uint32_t *cap, size_t esz)
{
	if (*n >= (uint32_t)INT32_MAX)
		return -1;
	if (*n == *cap) {
		uint32_t nc = *cap ? *cap * 2u : 16u;
		void *nv = realloc(*v, (size_t)nc * esz);
		if (!nv)
			return -1;
		*v = nv;
		*cap = nc;
	}
	memset((char *)*v + (size_t)*n * esz, 0, esz);
	return (int32_t)(*n)++;
}

char *lt__dup_name(const char *s)
{
	if (!s)
		s = "";
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

/* ---------------------------------------------------------------------------------------- */
/* creation */

struct lt_analysis *lt_analysis_create(const struct lt_analysis_config *cfg)
{
	struct lt_analysis *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	if (cfg)
		a->cfg = *cfg;
	a->cfg.trace_path = NULL;
	if (a->cfg.clock_sync_ns <= 0)
		a->cfg.clock_sync_ns = LT_ANALYSIS_CLOCK_SYNC_NS;
	a->trace_path = lt__dup_name(cfg && cfg->trace_path ? cfg->trace_path : "");
	a->lost_windows = calloc(LT_LOST_WINDOW_CAP, sizeof(*a->lost_windows));
	if (!a->trace_path || !a->lost_windows) {
		lt_analysis_destroy(a);
		return NULL;
	}
	lt__map_init(&a->comp_map);
	lt__map_init(&a->chan_map);
	lt__map_init(&a->route_map);
	lt__map_init(&a->site_map);
	lt__map_init(&a->thread_map);
	lt__map_init(&a->hop_map);
	lt__map_init(&a->msg_map);
	lt__map_init(&a->flow_map);
	lt__map_init(&a->pool_map);
	a->vthread_free = -1;
	lt__hist_init(&a->flow_latency);
	a->msg_free = NONE32;
	a->flow_free = NONE32;
	a->route_free = NONE32;
	a->hop_cache = -1;
	if (a->cfg.series_interval_ns) {
		a->series_interval = a->cfg.series_interval_ns;
		a->series_cap = 4096;
	} else {
		a->series_interval = 10000000; /* 10 ms, doubles as the trace grows */
		a->series_cap = 512;
	}
	return a;
}

void lt_analysis_destroy(struct lt_analysis *a)
{
	if (!a)
		return;
	for (uint32_t i = 0; i < a->comps.n; i++) {
		free(a->comps.v[i].name);
		free(a->comps.v[i].series);
		free(a->comps.v[i].spoints);
		lt__hist_fini(&a->comps.v[i].handle);
		lt__hist_fini(&a->comps.v[i].qwait);
	}
	for (uint32_t i = 0; i < a->chans.n; i++) {
		free(a->chans.v[i].name);
		lt__hist_fini(&a->chans.v[i].qwait);
	}
	for (uint32_t i = 0; i < a->routes.n; i++)
		lt__hist_fini(&a->routes.v[i].dispatch);
	for (uint32_t i = 0; i < a->flows.n; i++)
		free(a->flows.v[i].hops);
	for (uint32_t i = 0; i < a->objects.n; i++)
		free(a->objects.v[i].path);
	free(a->objects.v);
	for (uint32_t i = 0; i < a->hosts.n; i++)
		free(a->hosts.v[i]);
	free(a->hosts.v);
	free(a->clocks.v);
	free(a->comps.v);
	free(a->chans.v);
	free(a->routes.v);
	free(a->sites.v);
	for (uint32_t i = 0; i < a->threads.n; i++)
		free(a->threads.v[i].pre_name);
	free(a->threads.v);
	free(a->hops.v);
	free(a->msgs.v);
	free(a->flows.v);
	for (uint32_t i = 0; i < a->pools.n; i++)
		free(a->pools.v[i].name);
	free(a->pools.v);
	lt__map_fini(&a->pool_map);
	lt__map_fini(&a->comp_map);
	lt__map_fini(&a->chan_map);
	lt__map_fini(&a->route_map);
	lt__map_fini(&a->site_map);
	lt__map_fini(&a->thread_map);
	lt__map_fini(&a->hop_map);
	lt__map_fini(&a->msg_map);
	lt__map_fini(&a->flow_map);
	lt__hist_fini(&a->flow_latency);
	lt__looptop_free(a);
	lt__graph_free(a);
	free(a->crit_hops);
	free(a->lost_windows);
	free(a->trace_path);
	free(a);
}

uint64_t lt_analysis_events(const struct lt_analysis *a)
{
	return a->events;
}

/* ---------------------------------------------------------------------------------------- */
/* lost events, the window, loaded objects */

void lt_analysis_lost(struct lt_analysis *a, uint64_t count, int has_window, int64_t begin_ns,
		      int64_t end_ns)
{
	a->lost_events += count;
	if (!has_window) {
		a->lost_no_window++;
		return;
	}
	if (end_ns < begin_ns) {
		int64_t x = begin_ns;
		begin_ns = end_ns;
		end_ns = x;
	}
	if (a->nlost_windows < LT_LOST_WINDOW_CAP) {
		a->lost_windows[a->nlost_windows][0] = begin_ns;
		a->lost_windows[a->nlost_windows][1] = end_ns;
		a->nlost_windows++;
	} else {
		/* bounded: widen the last window */
		int64_t(*w)[2] = &a->lost_windows[LT_LOST_WINDOW_CAP - 1];
		if (begin_ns < (*w)[0])
			(*w)[0] = begin_ns;
		if (end_ns > (*w)[1])
			(*w)[1] = end_ns;
	}
}

static int64_t sat_add(int64_t x, int64_t y)
{
	int64_t r;
	if (__builtin_add_overflow(x, y, &r))
		return y > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static void start_window(struct lt_analysis *a, int64_t ts)
{
	a->seen_any = 1;
	a->first_seen = ts;
	if (a->cfg.has_begin_ns) {
		a->has_lo = 1;
		a->lo = a->cfg.begin_ns;
	}
	if (a->cfg.has_begin_offset_ns) {
		int64_t lo = sat_add(ts, a->cfg.begin_offset_ns);
		if (!a->has_lo || lo > a->lo)
			a->lo = lo;
		a->has_lo = 1;
	}
	if (a->cfg.has_end_ns) {
		a->has_hi = 1;
		a->hi = a->cfg.end_ns;
	}
	if (a->cfg.has_end_offset_ns) {
		int64_t hi = sat_add(ts, a->cfg.end_offset_ns);
		if (!a->has_hi || hi < a->hi)
			a->hi = hi;
		a->has_hi = 1;
	}
}

/*
 * preload_yields - whether an event of the interposer (provider looptrace_preload) must be
 * ignored because the program's own instrumentation already describes the thread: its
 * thread naming never takes a thread away from an API component, and a pthread wait inside
 * an API wait or block (the runtime's select parks in epoll or a futex) is already counted.
 * A skipped block_begin skips its block_end too (they nest).
 */
static int preload_yields(struct lt_analysis *a, struct lt_thread *t, const struct lt_event *ev)
{
	switch (ev->kind) {
	case LT_EV_COMPONENT_BEGIN:
	case LT_EV_COMPONENT_END:
		if (t->comp >= 0 && !a->comps.v[t->comp].preload) {
			a->an.preload_yielded++;
			return 1;
		}
		return 0;
	case LT_EV_BLOCK_BEGIN:
		if (t->preload_skip > 0 || t->waiting || t->block_depth > 0) {
			t->preload_skip++;
			a->an.preload_yielded++;
			return 1;
		}
		return 0;
	case LT_EV_BLOCK_END:
		if (t->preload_skip > 0) {
			t->preload_skip--;
			return 1;
		}
		return 0;
	default:
		return 0;
	}
}

int lt_analysis_host(struct lt_analysis *a, uint32_t host, const char *name)
{
	if (host >= LT_ANALYSIS_MAX_HOSTS)
		return -1;
	while (a->hosts.n <= host) {
		if (lt__vec_push(a->hosts) < 0) {
			lt__oom(a);
			return -1;
		}
	}
	char *copy = lt__dup_name(name);
	if (!copy) {
		lt__oom(a);
		return -1;
	}
	free(a->hosts.v[host]);
	a->hosts.v[host] = copy;
	return 0;
}

const char *lt__host_name(const struct lt_analysis *a, uint32_t h)
{
	return h < a->hosts.n && a->hosts.v[h] ? a->hosts.v[h] : "";
}

/*
 * clock_update - the uncertainty between the times of the clocks seen so far: 0 for one
 * clock; the spread of the offsets within each uuid (one machine's clock measured by several
 * sessions: a step of its realtime clock between them shows there); plus the assumed sync
 * when two uuids (machines) differ.
 */
static void clock_update(struct lt_analysis *a)
{
	int64_t spread = 0;
	uint32_t machines = 0; /* distinct uuids; a clock of unknown uuid is a machine of its own */
	for (uint32_t i = 0; i < a->clocks.n; i++) {
		const struct lt_clock *c = &a->clocks.v[i];
		int first = 1;
		for (uint32_t j = 0; c->uuid[0] && j < a->clocks.n; j++) {
			const struct lt_clock *o = &a->clocks.v[j];
			if (strcmp(c->uuid, o->uuid) != 0)
				continue;
			first &= j >= i;
			int64_t d = c->offset_ns > o->offset_ns ? c->offset_ns - o->offset_ns
								: o->offset_ns - c->offset_ns;
			if (d > spread)
				spread = d;
		}
		machines += (uint32_t)first;
	}
	if (machines > 1) {
		a->clock_basis = LT_CLOCK_ASSUMED;
		a->clock_uncertainty_ns = a->cfg.clock_sync_ns + spread;
	} else {
		a->clock_basis = a->clocks.n > 1 ? LT_CLOCK_ONE_MACHINE : LT_CLOCK_ONE;
		a->clock_uncertainty_ns = spread;
	}
}

void lt_analysis_bracket(struct lt_analysis *a, int64_t vpid, int64_t ns)
{
	(void)vpid;
	if (ns > a->bracket_ns)
		a->bracket_ns = ns;
}

int lt_analysis_clock(struct lt_analysis *a, uint32_t host, const char *uuid, int64_t offset_ns)
{
	char id[sizeof(a->clocks.v[0].uuid)];
	snprintf(id, sizeof(id), "%s", uuid ? uuid : "");
	for (uint32_t i = 0; i < a->clocks.n; i++) {
		const struct lt_clock *c = &a->clocks.v[i];
		if (c->host == host && c->offset_ns == offset_ns && strcmp(c->uuid, id) == 0)
			return 0;
	}
	if (a->clocks.n >= 4096)
		return 0;
	int32_t i = lt__vec_push(a->clocks);
	if (i < 0) {
		lt__oom(a);
		return -1;
	}
	a->clocks.v[i].host = host;
	memcpy(a->clocks.v[i].uuid, id, sizeof(id));
	a->clocks.v[i].offset_ns = offset_ns;
	clock_update(a);
	return 0;
}

int lt_analysis_object(struct lt_analysis *a, int64_t vpid, uint64_t baddr, uint64_t memsz,
		       const char *path, int is_pic)
{
	for (uint32_t i = 0; i < a->objects.n; i++) {
		const struct lt_object *o = &a->objects.v[i];
		if (o->vpid == vpid && o->baddr == baddr)
			return 0;
	}
	if (a->objects.n >= LT_ANALYSIS_MAX_OBJECTS) {
		a->an.objects_dropped++;
		return 0;
	}
	char *p = lt__dup_name(path ? path : "");
	int32_t i = p ? lt__vec_push(a->objects) : -1;
	if (i < 0) {
		free(p);
		lt__oom(a);
		return -1;
	}
	a->objects.v[i] = (struct lt_object){
	    .vpid = vpid, .baddr = baddr, .memsz = memsz, .path = p, .is_pic = !!is_pic};
	return 0;
}

void lt_analysis_object_build_id(struct lt_analysis *a, int64_t vpid, uint64_t baddr,
				 const uint8_t *id, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	if (!id || len == 0 || len > LT_ANALYSIS_MAX_BUILD_ID)
		return;
	for (uint32_t i = 0; i < a->objects.n; i++) {
		struct lt_object *o = &a->objects.v[i];
		if (o->vpid != vpid || o->baddr != baddr)
			continue;
		for (size_t k = 0; k < len; k++) {
			o->build_id[2 * k] = hex[id[k] >> 4];
			o->build_id[2 * k + 1] = hex[id[k] & 15];
		}
		o->build_id[2 * len] = '\0';
		return;
	}
}

/* ---------------------------------------------------------------------------------------- */
/* feeding */

/*
 * feed_handle_next - a handle_next record is the events it fuses, fed in order at its time:
 * handle_end(prev) with the exact bounds (when prev is not 0), recv(chan, msg, depth),
 * handle_begin(msg, kind). It counts as one event (trace.events counts records).
 */
static int feed_handle_next(struct lt_analysis *a, const struct lt_event *ev)
{
	uint64_t events = a->events, filtered = a->filtered_events;
	struct lt_event x = *ev;
	int rc = 0;

	if (ev->prev) {
		x.kind = LT_EV_HANDLE_END;
		x.msg = ev->prev;
		rc |= lt_analysis_feed(a, &x);
	}
	x = *ev;
	x.begin_ns = x.end_ns = 0;
	x.kind = LT_EV_RECV;
	rc |= lt_analysis_feed(a, &x);
	x.kind = LT_EV_HANDLE_BEGIN;
	rc |= lt_analysis_feed(a, &x);
	if (a->events > events + 1)
		a->events = events + 1;
	if (a->filtered_events > filtered + 1)
		a->filtered_events = filtered + 1;
	return rc;
}

/*
 * on_event - the handler of each event kind; LT_EV_UNKNOWN, LT_EV_OTHER and
 * LT_EV_HANDLE_NEXT never reach the table.
 */
static lt__on_event_fn *const on_event[LT_EV_KIND_COUNT] = {
    [LT_EV_COMPONENT_BEGIN] = lt__on_component_begin,
    [LT_EV_COMPONENT_END] = lt__on_component_end,
    [LT_EV_COMPONENT_RENAME] = lt__on_component_rename,
    [LT_EV_CHANNEL_DECLARE] = lt__on_channel_declare,
    [LT_EV_WAIT_BEGIN] = lt__on_wait_begin,
    [LT_EV_WAIT_END] = lt__on_wait_end,
    [LT_EV_HANDLE_BEGIN] = lt__on_handle_begin,
    [LT_EV_HANDLE_END] = lt__on_handle_end,
    [LT_EV_BLOCK_BEGIN] = lt__on_block_begin,
    [LT_EV_BLOCK_END] = lt__on_block_end,
    [LT_EV_SEND] = lt__on_send,
    [LT_EV_RECV] = lt__on_recv,
    [LT_EV_ROUTE_ADD] = lt__on_route_add,
    [LT_EV_ROUTE_REMOVE] = lt__on_route_remove,
    [LT_EV_ROUTE_DISPATCH_BEGIN] = lt__on_route_dispatch_begin,
    [LT_EV_ROUTE_DISPATCH_END] = lt__on_route_dispatch_end,
    [LT_EV_POOL_DECLARE] = lt__on_pool_declare,
    [LT_EV_POOL_WORKER_BEGIN] = lt__on_pool_worker_begin,
    [LT_EV_POOL_WORKER_END] = lt__on_pool_worker_end,
    [LT_EV_SEQ_BEGIN] = lt__on_seq_begin,
    [LT_EV_SEQ_END] = lt__on_seq_end,
    [LT_EV_SEQ_READY] = lt__on_seq_ready,
    [LT_EV_SEQ_RUN_BEGIN] = lt__on_seq_run_begin,
    [LT_EV_SEQ_RUN_END] = lt__on_seq_run_end,
};

/* is_loop_kind - the kinds that show the thread runs a loop (thread.loop_seen). */
static int is_loop_kind(enum lt_ev_kind kind)
{
	return kind == LT_EV_COMPONENT_BEGIN || kind == LT_EV_COMPONENT_END ||
	       kind == LT_EV_WAIT_BEGIN || kind == LT_EV_WAIT_END || kind == LT_EV_HANDLE_BEGIN ||
	       kind == LT_EV_HANDLE_END;
}

/*
 * admit - the time of event ev once it passed the window and kind checks (counted as an
 * event, clamped to the latest time), or -1 when it is counted and skipped.
 */
static int64_t admit(struct lt_analysis *a, const struct lt_event *ev)
{
	enum lt_ev_kind kind = ev->kind;
	/* keep every difference of two times far from overflow, whatever the input */
	int64_t ts = ev->ts_ns < 0 ? 0 : ev->ts_ns > LT_TS_MAX ? LT_TS_MAX : ev->ts_ns;
	if (!a->seen_any)
		start_window(a, ts);
	if ((a->has_lo && ts < a->lo) || (a->has_hi && ts > a->hi)) {
		if (a->has_hi && ts > a->hi)
			a->end_hit = 1;
		else if (!a->started && (unsigned)kind < LT_EV_KIND_COUNT)
			lt__pre_window(a, ev);
		a->filtered_events++;
		return -1;
	}
	if ((unsigned)kind == LT_EV_UNKNOWN || (unsigned)kind >= LT_EV_KIND_COUNT) {
		a->unknown_events++;
		return -1;
	}
	if (!a->started) {
		a->started = 1;
		a->begin_ns = a->has_lo && a->lo < ts ? a->lo : ts;
		a->now = a->begin_ns;
		lt__pre_start(a);
	}
	a->events++;
	/*
	 * Time never goes backwards, across threads too (a->now >= a->begin_ns): an event older
	 * than the latest one (outside the muxed order the feed contract promises) is clamped,
	 * so no interval -- a queue wait from another thread's send -- can be negative.
	 */
	if (ts < a->now) {
		a->an.time_backwards++;
		ts = a->now;
	}
	return ts;
}

int lt_analysis_feed(struct lt_analysis *a, const struct lt_event *ev)
{
	uint64_t oom_before = a->an.out_of_memory;
	enum lt_ev_kind kind = ev->kind;
	if (kind == LT_EV_HANDLE_NEXT)
		return feed_handle_next(a, ev);
	if (kind == LT_EV_OTHER) {
		a->other_events++;
		return 0;
	}
	int64_t ts = admit(a, ev);
	if (ts < 0)
		return 0;
	if (ev->vtid < 0)
		a->an.events_without_vtid++; /* recorded without the vtid context */
	int32_t ti = lt__thread_get(a, ev->vpid, ev->vtid);
	if (ti < 0) {
		lt__oom(a);
		return -1;
	}
	struct lt_thread *t = &a->threads.v[ti];
	t->last_ts = ts; /* >= its previous events: ts >= a->now */
	t->nevents++;
	if (ts > a->now)
		a->now = ts;
	lt__series_reach(a, ts);

	lt__cpu_note(a, t, ev);
	/* a worker's events inside a run are its sequence's (docs/analysis.md, Sequences) */
	int32_t vi = lt__seq_redirect(a, ti, kind);
	if (vi != ti) {
		a->threads.v[vi].last_ts = ts;
		a->threads.v[vi].nevents++;
		if (!(ev->preload && lt__looptop_feed(a, vi, ev, ts)))
			lt__feed_thread(a, vi, ev, ts);
		lt__worker_sync(a, ti, ts);
	} else if (!(ev->preload && lt__looptop_feed(a, ti, ev, ts))) {
		lt__feed_thread(a, ti, ev, ts);
	}
	lt__cpu_after(a, &a->threads.v[ti]);
	return a->an.out_of_memory != oom_before ? -1 : 0;
}

/*
 * lt__feed_thread - the state machine's step for event `ev` of thread ti at (clamped) time ts:
 * the event is in the window and counted. looptop.c also calls it with the events it makes of
 * an interposed thread's waits (its loop top's wait and iterations).
 */
void lt__feed_thread(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts)
{
	enum lt_ev_kind kind = ev->kind;

	if (ev->preload && preload_yields(a, &a->threads.v[ti], ev))
		return;
	if (on_event[kind])
		on_event[kind](a, ti, ev, ts);
	if (a->graph)
		lt__graph_event(a, ti, ev, ts);
	if (is_loop_kind(kind))
		a->threads.v[ti].loop_seen = 1;
}
