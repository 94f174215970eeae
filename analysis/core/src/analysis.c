/*
 * analysis.c - the per-thread state machine of the streaming analysis.
 *
 * Each event updates the state of its thread (outside / waiting / handling / blocked) and
 * the component the thread runs. Time is accounted lazily: a thread remembers since when it
 * is in its current state, and every state change first charges the elapsed interval to
 * the component (th_advance), so the five time categories of a component always add up to
 * its wall time, to the ns. Messages and flows in flight sit in pools keyed by id and are
 * released when their handler ends. See docs/analysis.md for the definitions.
 */
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE32    UINT32_MAX
#define LT_TS_MAX ((int64_t)1 << 62) /* ns, about 146 years */

static const char *const reason_names[LT_REASON_COUNT] = {
    "chan_recv", "chan_send", "mutex", "condvar", "rwlock", "sem", "sleep", "io", "join", "call",
};

const char *lt__reason_name(uint32_t reason)
{
	return reason < LT_REASON_COUNT ? reason_names[reason] : "unknown";
}

/* vec_push - appends a zeroed element to a vector; returns its index or -1. */
#define vec_push(vec) vec_push_((void **)&(vec).v, &(vec).n, &(vec).cap, sizeof(*(vec).v))

static int32_t vec_push_(void **v, uint32_t *n, uint32_t *cap, size_t esz)
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

static char *dup_name(const char *s)
{
	if (!s)
		s = "";
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

static char *fmt_name(const char *prefix, int64_t id)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s-%" PRId64, prefix, id);
	return dup_name(buf);
}

static void oom(struct lt_analysis *a)
{
	a->an.out_of_memory++;
}

/*
 * take_name - a non-empty `name` (copied) replaces *dst; "", NULL or "(unnamed)" (what
 * liblooptrace records for no name, LT_UNNAMED) keeps the default one.
 */
static void take_name(struct lt_analysis *a, char **dst, const char *name)
{
	char *nn;

	if (!name || !name[0] || strcmp(name, "(unnamed)") == 0)
		return;
	nn = dup_name(name);
	if (!nn) {
		oom(a);
		return;
	}
	free(*dst);
	*dst = nn;
}

/* ---------------------------------------------------------------------------------------- */
/* creation and lookup */

struct lt_analysis *lt_analysis_create(const struct lt_analysis_config *cfg)
{
	struct lt_analysis *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	if (cfg)
		a->cfg = *cfg;
	a->cfg.trace_path = NULL;
	a->trace_path = dup_name(cfg && cfg->trace_path ? cfg->trace_path : "");
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
	lt__map_fini(&a->comp_map);
	lt__map_fini(&a->chan_map);
	lt__map_fini(&a->route_map);
	lt__map_fini(&a->site_map);
	lt__map_fini(&a->thread_map);
	lt__map_fini(&a->hop_map);
	lt__map_fini(&a->msg_map);
	lt__map_fini(&a->flow_map);
	lt__hist_fini(&a->flow_latency);
	free(a->crit_hops);
	free(a->lost_windows);
	free(a->trace_path);
	free(a);
}

uint64_t lt_analysis_events(const struct lt_analysis *a)
{
	return a->events;
}

static int32_t thread_get(struct lt_analysis *a, int64_t vpid, int64_t vtid)
{
	int32_t *slot = &a->thread_cache[(uint64_t)vtid & 63u];
	int32_t c = *slot - 1;
	if (c >= 0 && a->threads.v[c].vtid == vtid && a->threads.v[c].vpid == vpid)
		return c;
	uint32_t i = lt__map_get(&a->thread_map, (uint64_t)vpid, (uint64_t)vtid, 0);
	if (i == NONE32) {
		int32_t k = vec_push(a->threads);
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
		t->state = LT_T_OUTSIDE;
		t->last_ts = INT64_MIN;
		i = (uint32_t)k;
	}
	*slot = (int32_t)i + 1;
	return (int32_t)i;
}

/* comp_get - the component (vpid, id) (implicit: per-thread component of tid `id`). */
static int32_t comp_get(struct lt_analysis *a, int64_t vpid, uint64_t id, int implicit, int create)
{
	uint32_t i = lt__map_get(&a->comp_map, (uint64_t)vpid, id, (uint64_t)implicit);
	if (i != NONE32 || !create)
		return i == NONE32 ? -1 : (int32_t)i;
	int32_t k = vec_push(a->comps);
	if (k < 0)
		return -1;
	struct lt_an_comp *c = &a->comps.v[k];
	c->vpid = vpid;
	c->tid = implicit ? (int64_t)id : -1;
	c->id = implicit ? 0 : (uint32_t)id;
	c->implicit = implicit;
	c->thread = -1;
	c->first_site = -1;
	c->first_ns = INT64_MIN;
	c->name = implicit ? fmt_name("thread", (int64_t)id) : fmt_name("comp", (int64_t)id);
	if (!c->name ||
	    lt__map_put(&a->comp_map, (uint64_t)vpid, id, (uint64_t)implicit, (uint32_t)k)) {
		free(c->name);
		a->comps.n--;
		return -1;
	}
	lt__hist_init(&c->handle);
	lt__hist_init(&c->qwait);
	return k;
}

static int32_t chan_get(struct lt_analysis *a, int64_t vpid, uint32_t id, int64_t ts)
{
	uint32_t i = lt__map_get(&a->chan_map, (uint64_t)vpid, id, 0);
	if (i != NONE32)
		return (int32_t)i;
	int32_t k = vec_push(a->chans);
	if (k < 0)
		return -1;
	struct lt_an_chan *ch = &a->chans.v[k];
	ch->vpid = vpid;
	ch->id = id;
	ch->start_ns = ts;
	ch->depth_since = ts;
	ch->name = fmt_name("chan", id);
	if (!ch->name || lt__map_put(&a->chan_map, (uint64_t)vpid, id, 0, (uint32_t)k)) {
		free(ch->name);
		a->chans.n--;
		return -1;
	}
	lt__hist_init(&ch->qwait);
	return k;
}

/*
 * route_get - the route (vpid, id), created if new; aggregate: the entry that collects the
 * removed routes of owner `id`. Slots of folded routes are reused.
 */
static int32_t route_get(struct lt_analysis *a, int64_t vpid, uint32_t id, int aggregate)
{
	uint32_t i = lt__map_get(&a->route_map, (uint64_t)vpid, id, (uint64_t)aggregate);
	if (i != NONE32)
		return (int32_t)i;
	int32_t k;
	if (a->route_free != NONE32) {
		k = (int32_t)a->route_free;
		a->route_free = a->routes.v[k].next_free;
	} else {
		k = vec_push(a->routes);
		if (k < 0)
			return -1;
	}
	if (lt__map_put(&a->route_map, (uint64_t)vpid, id, (uint64_t)aggregate, (uint32_t)k)) {
		a->routes.v[k].dead = 1;
		a->routes.v[k].next_free = a->route_free;
		a->route_free = (uint32_t)k;
		return -1;
	}
	struct lt_an_route *r = &a->routes.v[k];
	memset(r, 0, sizeof(*r));
	r->vpid = vpid;
	r->nroutes = 1;
	if (aggregate) {
		r->aggregate = 1;
		r->owner = id;
		r->declared = 1;
		r->removed = 1;
		r->nroutes = 0;
	} else {
		r->id = id;
		a->routes_created++;
	}
	lt__hist_init(&r->dispatch);
	return k;
}

/*
 * route_fold - moves the statistics of removed route ri into its owner's aggregate entry and
 * frees its slot, so that routes made per request keep memory bounded. Only for a route no
 * thread dispatches.
 */
static void route_fold(struct lt_analysis *a, int32_t ri)
{
	struct lt_an_route *r = &a->routes.v[ri];
	if (r->aggregate || r->dead || r->active || !r->removed ||
	    a->routes_created <= LT_ROUTE_KEEP)
		return;
	int32_t gi = route_get(a, r->vpid, r->owner, 1);
	if (gi < 0) {
		oom(a);
		return;
	}
	r = &a->routes.v[ri];
	struct lt_an_route *g = &a->routes.v[gi];
	if (lt__hist_merge(&g->dispatch, &r->dispatch)) {
		oom(a);
		return;
	}
	g->dispatches += r->dispatches;
	g->nroutes++;
	lt__map_del(&a->route_map, (uint64_t)r->vpid, r->id, 0);
	lt__hist_fini(&r->dispatch);
	r->dead = 1;
	r->next_free = a->route_free;
	a->route_free = (uint32_t)ri;
}

/* route_fold_all - folds every removed idle route (when the route count crosses the limit). */
static void route_fold_all(struct lt_analysis *a)
{
	for (uint32_t i = 0; i < a->routes.n; i++)
		route_fold(a, (int32_t)i);
}

static int32_t site_get(struct lt_analysis *a, int32_t comp, uint32_t reason, uint64_t object,
			uint64_t where)
{
	uint64_t k0 = ((uint64_t)(uint32_t)comp << 32) | reason;
	uint32_t i = lt__map_get(&a->site_map, k0, object, where);
	if (i != NONE32)
		return (int32_t)i;
	if (a->sites.n >= LT_SITE_CAP && (object || where)) {
		/* too many distinct sites: fold into the reason's aggregate site */
		a->an.sites_overflow++;
		return site_get(a, comp, reason, 0, 0);
	}
	int32_t k = vec_push(a->sites);
	if (k < 0)
		return -1;
	if (lt__map_put(&a->site_map, k0, object, where, (uint32_t)k)) {
		a->sites.n--;
		return -1;
	}
	struct lt_site *s = &a->sites.v[k];
	s->comp = comp;
	s->reason = reason;
	s->object = object;
	s->where = where;
	s->next = a->comps.v[comp].first_site;
	a->comps.v[comp].first_site = k;
	return k;
}

/*
 * th_enter_site - thread `t` starts blocking at site (its component, reason, object, where):
 * its blocked time goes there from now on, and the site counts one more block. Out of
 * memory: no site (the time still counts as blocked) and anomalies.out_of_memory.
 */
static void th_enter_site(struct lt_analysis *a, struct lt_thread *t, uint32_t reason,
			  uint64_t object, uint64_t where)
{
	t->site = site_get(a, t->comp, reason, object, where);
	if (t->site >= 0)
		a->sites.v[t->site].count++;
	else
		oom(a);
}

/* ---------------------------------------------------------------------------------------- */
/* series */

/* series_halve - bucket i of c's series becomes buckets 2i and 2i + 1 added. */
static void series_halve(struct lt_analysis *a, struct lt_an_comp *c)
{
	uint32_t half = a->series_cap / 2u;
	uint64_t *s = c->series;

	if (s) {
		for (uint32_t i = 0; i < half; i++)
			for (int k = 0; k < LT_S_COLS; k++)
				s[i * LT_S_COLS + k] =
				    s[2 * i * LT_S_COLS + k] + s[(2 * i + 1) * LT_S_COLS + k];
		memset(s + (size_t)half * LT_S_COLS, 0, (size_t)half * LT_S_COLS * sizeof(*s));
		return;
	}
	uint32_t n = 0;
	for (uint32_t i = 0; i < c->nspoints; i++) {
		struct lt_spoint p = c->spoints[i];

		p.b /= 2u;
		if (n && c->spoints[n - 1].b == p.b) {
			for (int k = 0; k < LT_S_COLS; k++)
				c->spoints[n - 1].v[k] += p.v[k];
		} else {
			c->spoints[n++] = p;
		}
	}
	c->nspoints = n;
}

/* series_reach - makes the series cover time ts, halving resolution as needed. */
static void series_reach(struct lt_analysis *a, int64_t ts)
{
	uint64_t idx = (uint64_t)(ts - a->begin_ns) / a->series_interval;
	while (idx >= a->series_cap) {
		for (uint32_t c = 0; c < a->comps.n; c++)
			series_halve(a, &a->comps.v[c]);
		a->series_interval *= 2u;
		a->series_used = (a->series_used + 1u) / 2u;
		idx = (uint64_t)(ts - a->begin_ns) / a->series_interval;
	}
	if (idx + 1u > a->series_used)
		a->series_used = (uint32_t)idx + 1u;
}

/* series_densify - c's sparse series becomes dense. Returns 0, or -1 when out of memory. */
static int series_densify(struct lt_analysis *a, struct lt_an_comp *c)
{
	uint64_t *s = calloc((size_t)a->series_cap * LT_S_COLS, sizeof(uint64_t));

	if (!s)
		return -1;
	for (uint32_t i = 0; i < c->nspoints; i++)
		memcpy(s + (size_t)c->spoints[i].b * LT_S_COLS, c->spoints[i].v,
		       sizeof(c->spoints[i].v));
	free(c->spoints);
	c->spoints = NULL;
	c->nspoints = c->spcap = 0;
	c->series = s;
	return 0;
}

/* spoint_lower_bound - index of the first sparse series point of c at or after bucket b. */
static uint32_t spoint_lower_bound(const struct lt_an_comp *c, uint32_t b)
{
	uint32_t lo = 0, hi = c->nspoints;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2u;

		if (c->spoints[mid].b < b)
			lo = mid + 1u;
		else
			hi = mid;
	}
	return lo;
}

/*
 * series_cell - the LT_S_COLS columns of bucket b (< series_cap) of c's series, created
 * (zero) if untouched; NULL when out of memory (counted).
 */
static uint64_t *series_cell(struct lt_analysis *a, struct lt_an_comp *c, uint32_t b)
{
	uint32_t lo, hi = c->nspoints;

	if (c->series)
		return c->series + (size_t)b * LT_S_COLS;
	/* Time moves forward: the bucket is almost always the last one or a new last one. */
	if (hi && c->spoints[hi - 1].b <= b)
		lo = c->spoints[hi - 1].b == b ? hi - 1 : hi;
	else
		lo = spoint_lower_bound(c, b);
	if (lo < c->nspoints && c->spoints[lo].b == b)
		return c->spoints[lo].v;
	if (c->nspoints >= a->series_cap / 4u) {
		if (series_densify(a, c) != 0) {
			oom(a);
			return NULL;
		}
		return c->series + (size_t)b * LT_S_COLS;
	}
	if (c->nspoints == c->spcap) {
		uint32_t ncap = c->spcap ? 2u * c->spcap : 4u;
		struct lt_spoint *p = realloc(c->spoints, (size_t)ncap * sizeof(*p));

		if (!p) {
			oom(a);
			return NULL;
		}
		c->spoints = p;
		c->spcap = ncap;
	}
	memmove(c->spoints + lo + 1, c->spoints + lo,
		(size_t)(c->nspoints - lo) * sizeof(*c->spoints));
	memset(&c->spoints[lo], 0, sizeof(c->spoints[lo]));
	c->spoints[lo].b = b;
	c->nspoints++;
	return c->spoints[lo].v;
}

void lt__series_get(const struct lt_analysis *a, const struct lt_an_comp *c, uint32_t b,
		    uint64_t col[LT_S_COLS])
{
	uint32_t lo;

	if (c->series) {
		memcpy(col, c->series + (size_t)b * LT_S_COLS, LT_S_COLS * sizeof(*col));
		return;
	}
	(void)a;
	lo = spoint_lower_bound(c, b);
	if (lo < c->nspoints && c->spoints[lo].b == b)
		memcpy(col, c->spoints[lo].v, LT_S_COLS * sizeof(*col));
	else
		memset(col, 0, LT_S_COLS * sizeof(*col));
}

/*
 * series_span - adds (sub = 0) or removes (sub = 1) the interval [t0, t1) to or from column
 * col of c's series, bucket by bucket; a removal never takes a cell below 0.
 */
static void series_span(struct lt_analysis *a, struct lt_an_comp *c, int col, int64_t t0,
			int64_t t1, int sub)
{
	if (t1 <= t0 || t0 < a->begin_ns)
		return;
	uint64_t iv = a->series_interval;
	uint64_t rel = (uint64_t)(t0 - a->begin_ns), end = (uint64_t)(t1 - a->begin_ns);
	uint64_t i = rel / iv;
	while (rel < end && i < a->series_cap) {
		uint64_t bend = (i + 1u) * iv;
		uint64_t chunk = (end < bend ? end : bend) - rel;
		uint64_t *cell = series_cell(a, c, (uint32_t)i);
		if (!cell)
			return;
		if (!sub)
			cell[col] += chunk;
		else
			cell[col] = cell[col] > chunk ? cell[col] - chunk : 0;
		rel += chunk;
		i++;
	}
}

/*
 * comp_trim_handler - a handler counted busy from hb (its handle_begin event) to he (its
 * handle_end event) really ran from pb to pe (the bounds the program read, handle_end's
 * begin_ns/end_ns): [hb, pb) and [pe, he) are what writing the two events cost, time outside
 * the handler. Nothing else happens on the thread in those two spans (pb is read as
 * handle_begin's call returns, pe as handle_end's starts), so they were counted busy.
 */
static void comp_trim_handler(struct lt_analysis *a, struct lt_an_comp *c, int64_t hb, int64_t pb,
			      int64_t pe, int64_t he)
{
	uint64_t cut = (uint64_t)(pb - hb) + (uint64_t)(he - pe);

	if (cut > c->time[LT_T_BUSY])
		return;
	c->time[LT_T_BUSY] -= cut;
	c->time[LT_T_OUTSIDE] += cut;
	series_span(a, c, LT_S_BUSY, hb, pb, 1);
	series_span(a, c, LT_S_BUSY, pe, he, 1);
}

/* comp_count_handled - c handled one message whose handler ran `dur` ns and ended at ts. */
static void comp_count_handled(struct lt_analysis *a, struct lt_an_comp *c, uint64_t dur,
			       int64_t ts)
{
	uint64_t *s;

	c->messages++;
	if (lt__hist_add(&c->handle, dur))
		oom(a);
	s = series_cell(a, c, (uint32_t)((uint64_t)(ts - a->begin_ns) / a->series_interval));
	if (s)
		s[LT_S_MSGS]++;
}

/* ---------------------------------------------------------------------------------------- */
/* the thread state machine */

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
			series_span(a, c, LT_S_BUSY, t->since, ts, 0);
		else if (t->state == LT_T_BIH || t->state == LT_T_BO) {
			series_span(a, c, LT_S_BLOCKED, t->since, ts, 0);
			if (t->site >= 0) {
				a->sites.v[t->site].ns += d;
				if (t->state == LT_T_BIH)
					a->sites.v[t->site].in_handler_ns += d;
			}
		}
	}
	t->since = ts;
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

/* th_bind - the thread starts running component ci at ts (its state flags kept). */
static void th_bind(struct lt_analysis *a, int32_t ti, int32_t ci, int64_t ts)
{
	struct lt_thread *t = &a->threads.v[ti];
	struct lt_an_comp *c = &a->comps.v[ci];
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
	c->tid = t->vtid;
	t->comp = ci;
	t->since = ts;
	th_settle(a, t);
}

/* th_unbind - the thread stops running its component at ts; flags cleared. */
static void th_unbind(struct lt_analysis *a, struct lt_thread *t, int64_t ts)
{
	th_advance(a, t, ts);
	if (t->comp >= 0) {
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

/*
 * th_need_comp - a loop event (wait/handle) on a thread with no component: bind it to its
 * implicit per-thread component. On the thread's first event the component starts at the
 * analysis origin (when `backdate`) in the state the caller's flags say: the trace began
 * while the thread waited or handled.
 */
static int th_need_comp(struct lt_analysis *a, int32_t ti, int64_t ts, int backdate, int *backdated)
{
	struct lt_thread *t = &a->threads.v[ti];
	*backdated = 0;
	if (t->comp >= 0)
		return 0;
	int32_t ci = comp_get(a, t->vpid, (uint64_t)t->vtid, 1, 1);
	if (ci < 0) {
		oom(a);
		return -1;
	}
	t = &a->threads.v[ti];
	if (a->comps.v[ci].first_ns == INT64_MIN)
		a->an.implicit_components++;
	int64_t start = ts;
	if (backdate && !t->loop_seen && a->begin_ns < ts) {
		start = a->begin_ns;
		*backdated = 1;
	}
	th_bind(a, ti, ci, start);
	return 0;
}

/*
 * th_loop_event - the start of every loop event (wait/handle) on thread ti: binds the thread to
 * a component if it has none (th_need_comp) and accounts its time up to ts. Returns the
 * thread, or NULL when out of memory (the event is dropped).
 */
static struct lt_thread *th_loop_event(struct lt_analysis *a, int32_t ti, int64_t ts, int backdate,
				       int *backdated)
{
	struct lt_thread *t;

	if (th_need_comp(a, ti, ts, backdate, backdated))
		return NULL;
	t = &a->threads.v[ti];
	th_advance(a, t, ts);
	return t;
}

/* ---------------------------------------------------------------------------------------- */
/* messages and flows */

static struct lt_msg *msg_find(struct lt_analysis *a, int64_t vpid, uint64_t id, uint32_t *idx)
{
	uint32_t i = lt__map_get(&a->msg_map, (uint64_t)vpid, id, 0);
	if (idx)
		*idx = i;
	return i == NONE32 ? NULL : &a->msgs.v[i];
}

/*
 * msg_lookup - message (vpid, id): the record at index *mi when it is that live message (a
 * hint from an earlier event), else a map lookup; *mi is set to the record's index.
 */
static struct lt_msg *msg_lookup(struct lt_analysis *a, int64_t vpid, uint64_t id, uint32_t *mi)
{
	if (*mi < a->msgs.n && a->msgs.v[*mi].live && a->msgs.v[*mi].id == id &&
	    a->msgs.v[*mi].vpid == vpid)
		return &a->msgs.v[*mi];
	return msg_find(a, vpid, id, mi);
}

static void msg_free(struct lt_analysis *a, uint32_t i)
{
	struct lt_msg *m = &a->msgs.v[i];
	lt__map_del(&a->msg_map, (uint64_t)m->vpid, m->id, 0);
	m->live = 0;
	m->next_free = a->msg_free;
	a->msg_free = i;
	a->msgs_in_flight--;
}

/* msg_alloc - a fresh, zeroed in-flight record for message (vpid, id); UINT32_MAX on failure. */
static uint32_t msg_alloc(struct lt_analysis *a, int64_t vpid, uint64_t id)
{
	uint32_t mi;
	if (a->msg_free != NONE32) {
		mi = a->msg_free;
		a->msg_free = a->msgs.v[mi].next_free;
	} else {
		int32_t k = vec_push(a->msgs);
		if (k < 0)
			return NONE32;
		mi = (uint32_t)k;
	}
	if (lt__map_put(&a->msg_map, (uint64_t)vpid, id, 0, mi)) {
		a->msgs.v[mi].next_free = a->msg_free;
		a->msg_free = mi;
		return NONE32;
	}
	a->msgs_in_flight++;
	struct lt_msg *m = &a->msgs.v[mi];
	memset(m, 0, sizeof(*m));
	m->vpid = vpid;
	m->id = id;
	m->chan = -1;
	m->from = -1;
	m->flow = -1;
	m->to = -1;
	m->live = 1;
	return mi;
}

static int32_t flow_get(struct lt_analysis *a, int64_t vpid, uint64_t id, int64_t ts)
{
	uint32_t i = lt__map_get(&a->flow_map, (uint64_t)vpid, id, 0);
	if (i != NONE32)
		return (int32_t)i;
	if (a->flow_free != NONE32) {
		i = a->flow_free;
		a->flow_free = a->flows.v[i].next_free;
	} else {
		int32_t k = vec_push(a->flows);
		if (k < 0)
			return -1;
		i = (uint32_t)k;
	}
	if (lt__map_put(&a->flow_map, (uint64_t)vpid, id, 0, i)) {
		a->flows.v[i].next_free = a->flow_free;
		a->flow_free = i;
		return -1;
	}
	struct lt_flow *f = &a->flows.v[i];
	f->vpid = vpid;
	f->id = id;
	f->first_send = ts;
	f->last_end = ts;
	f->outstanding = 0;
	f->nhops = 0;
	f->hops_dropped = 0;
	a->flows_in_flight++;
	return (int32_t)i;
}

static void flow_release(struct lt_analysis *a, uint32_t i)
{
	struct lt_flow *f = &a->flows.v[i];
	lt__map_del(&a->flow_map, (uint64_t)f->vpid, f->id, 0);
	f->next_free = a->flow_free;
	a->flow_free = i;
	a->flows_in_flight--;
}

static void hop_add(struct lt_analysis *a, int32_t from, int32_t to, uint64_t q, uint64_t h)
{
	uint32_t i;
	int32_t hc = a->hop_cache;
	if (hc >= 0 && a->hops.v[hc].from == from && a->hops.v[hc].to == to)
		i = (uint32_t)hc;
	else
		i = lt__map_get(&a->hop_map, (uint64_t)(int64_t)from, (uint64_t)(int64_t)to, 0);
	if (i == NONE32) {
		int32_t k = vec_push(a->hops);
		if (k < 0 || lt__map_put(&a->hop_map, (uint64_t)(int64_t)from,
					 (uint64_t)(int64_t)to, 0, (uint32_t)k)) {
			if (k >= 0)
				a->hops.n--;
			oom(a);
			return;
		}
		a->hops.v[k].from = from;
		a->hops.v[k].to = to;
		i = (uint32_t)k;
	}
	a->hop_cache = (int32_t)i;
	struct lt_hopagg *g = &a->hops.v[i];
	g->count++;
	g->sum_queue += (double)q;
	g->sum_handle += (double)h;
	if (q > g->max_queue)
		g->max_queue = q;
	if (h > g->max_handle)
		g->max_handle = h;
}

/*
 * msg_receipt - the message left its queue at ts on thread t (first receipt only counts).
 * Returns the index of its in-flight record, UINT32_MAX when none.
 */
static uint32_t msg_receipt(struct lt_analysis *a, struct lt_thread *t, uint64_t id, int64_t ts)
{
	if (id == 0)
		return NONE32;
	uint32_t mi = t->recv_mi; /* wait_end, recv and handle_begin name the same message */
	struct lt_msg *m = msg_lookup(a, t->vpid, id, &mi);
	t->recv_mi = mi;
	if (!m) {
		/*
		 * Not sent yet: either never sent on a traced channel (a timer tick, external
		 * input) or its sender traces `send` after enqueuing and the receiver was
		 * faster. Remember the receipt; a later send completes it.
		 */
		mi = msg_alloc(a, t->vpid, id);
		if (mi == NONE32) {
			oom(a);
			return NONE32;
		}
		t->recv_mi = mi;
		m = &a->msgs.v[mi];
		m->send_ns = ts;
		m->recv_ns = ts;
		m->received = 1;
		m->unsent = 1;
		m->to = t->comp;
		return mi;
	}
	if (m->received)
		return mi;
	m->received = 1;
	m->recv_ns = ts;
	uint64_t q = ts > m->send_ns ? (uint64_t)(ts - m->send_ns) : 0;
	if (m->chan >= 0 && lt__hist_add(&a->chans.v[m->chan].qwait, q))
		oom(a);
	if (t->comp >= 0 && lt__hist_add(&a->comps.v[t->comp].qwait, q))
		oom(a);
	return mi;
}

/*
 * msg_done - the handler (or route dispatch) of message id ran [begin, end) on behalf of
 * component `to`; partial: its begin was not seen. Releases the message, advances its flow.
 */
static int park_valid(const struct lt_analysis *a, uint32_t k)
{
	uint32_t mi = a->park[k].mi;
	return mi < a->msgs.n && a->msgs.v[mi].live && a->msgs.v[mi].parked &&
	       a->msgs.v[mi].id == a->park[k].id;
}

uint32_t lt__parked_count(const struct lt_analysis *a)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < a->park_len; i++)
		n += (uint32_t)park_valid(a, (a->park_head + i) % LT_PARK_CAP);
	return n;
}

/*
 * park - message mi was handled but its send was not traced (yet): keep it a while, since
 * a sender that traces `send` after enqueuing may be preempted until the receiver has
 * handled the message. The oldest parked message leaves when the FIFO is full: it counts
 * as never sent (a timer tick, external input).
 */
static void park(struct lt_analysis *a, uint32_t mi, int32_t to, int64_t begin, int64_t end,
		 int partial)
{
	if (a->park_len == LT_PARK_CAP) {
		uint32_t k = a->park_head;
		if (park_valid(a, k)) {
			a->an.unknown_messages++;
			a->msgs.v[a->park[k].mi].parked = 0;
			msg_free(a, a->park[k].mi);
		}
		a->park_head = (a->park_head + 1) % LT_PARK_CAP;
		a->park_len--;
	}
	struct lt_msg *m = &a->msgs.v[mi];
	m->parked = 1;
	m->park_to = to;
	m->park_begin = begin;
	m->park_end = end;
	m->park_partial = partial;
	uint32_t k = (a->park_head + a->park_len) % LT_PARK_CAP;
	a->park[k].mi = mi;
	a->park[k].id = m->id;
	a->park_len++;
}

static void msg_complete(struct lt_analysis *a, uint32_t mi, int32_t to, int64_t begin, int64_t end,
			 int partial);

static void msg_done(struct lt_analysis *a, int64_t vpid, uint64_t id, uint32_t hint, int32_t to,
		     int64_t begin, int64_t end, int partial)
{
	uint32_t mi = hint; /* the record found at handle_begin: usually no lookup */
	struct lt_msg *m = msg_lookup(a, vpid, id, &mi);
	if (!m || !m->received || m->parked)
		return; /* not this handler's input (e.g. sent by the handler itself) */
	if (m->unsent) {
		park(a, mi, to, begin, end, partial);
		return;
	}
	msg_complete(a, mi, to, begin, end, partial);
}

/* msg_complete - hop and flow accounting of handled message mi, then its release. */
static void msg_complete(struct lt_analysis *a, uint32_t mi, int32_t to, int64_t begin, int64_t end,
			 int partial)
{
	struct lt_msg *m = &a->msgs.v[mi];
	uint64_t id = m->id;
	int64_t rcv = m->received ? m->recv_ns : begin;
	uint64_t q = rcv > m->send_ns ? (uint64_t)(rcv - m->send_ns) : 0;
	uint64_t h = end > begin ? (uint64_t)(end - begin) : 0;
	if (!partial)
		hop_add(a, m->from, to, q, h);
	if (m->flow >= 0) {
		struct lt_flow *f = &a->flows.v[m->flow];
		if (end > f->last_end)
			f->last_end = end;
		if (!partial) {
			if (!f->hops) {
				f->hops = malloc(LT_FLOW_HOP_CAP * sizeof(*f->hops));
				if (!f->hops)
					oom(a);
			}
			if (f->hops && f->nhops < LT_FLOW_HOP_CAP) {
				struct lt_hop_rec *r = &f->hops[f->nhops++];
				r->msg = id;
				r->from = m->from;
				r->to = to;
				r->send_ns = m->send_ns;
				r->recv_ns = rcv;
				r->begin_ns = begin;
				r->end_ns = end;
			} else {
				f->hops_dropped++;
				a->an.flow_hops_dropped++;
			}
		}
		if (f->outstanding > 0)
			f->outstanding--;
		if (f->outstanding == 0) {
			int64_t lat = f->last_end - f->first_send;
			if (lat < 0)
				lat = 0;
			if (lt__hist_add(&a->flow_latency, (uint64_t)lat))
				oom(a);
			a->flows_done++;
			if (!a->has_crit || lat > a->crit_latency) {
				struct lt_hop_rec *tmp = a->crit_hops;
				a->crit_hops = f->hops;
				f->hops = tmp;
				a->crit_nhops = f->nhops;
				a->crit_dropped = f->hops_dropped;
				a->crit_flow = f->id;
				a->crit_vpid = f->vpid;
				a->crit_latency = lat;
				a->has_crit = 1;
			}
			flow_release(a, (uint32_t)m->flow);
		}
	}
	msg_free(a, mi);
}

static void chan_set_depth(struct lt_an_chan *ch, uint32_t depth, int64_t ts);

static void on_send(struct lt_analysis *a, struct lt_thread *t, const struct lt_event *ev,
		    int64_t ts)
{
	int32_t ci = chan_get(a, t->vpid, ev->chan, ts);
	if (ci >= 0) {
		struct lt_an_chan *ch = &a->chans.v[ci];
		ch->sends++;
		chan_set_depth(ch, ev->depth, ts);
		if (t->pending_send_block_count) {
			ch->send_blocked_ns += t->pending_send_block_ns;
			ch->send_blocked_count += t->pending_send_block_count;
			t->pending_send_block_ns = 0;
			t->pending_send_block_count = 0;
		}
	} else {
		oom(a);
	}
	if (ev->msg == 0)
		return;
	uint32_t mi;
	struct lt_msg *m = msg_find(a, t->vpid, ev->msg, &mi);
	if (m && m->unsent) {
		/*
		 * Its receipt came first (the sender traced after enqueuing): it was sent by
		 * the time it was received; queue wait 0.
		 */
		a->an.recv_before_send++;
		m->unsent = 0;
		m->send_ns = m->recv_ns;
		m->chan = ci;
		m->from = t->comp;
		if (ci >= 0 && lt__hist_add(&a->chans.v[ci].qwait, 0))
			oom(a);
		if (m->to >= 0 && lt__hist_add(&a->comps.v[m->to].qwait, 0))
			oom(a);
		int32_t fi = flow_get(a, t->vpid, ev->flow ? ev->flow : ev->msg, m->recv_ns);
		m = &a->msgs.v[mi];
		m->flow = fi;
		if (fi >= 0)
			a->flows.v[fi].outstanding++;
		else
			oom(a);
		if (m->parked) {
			/* its handler already ran: account it now (its FIFO slot goes stale) */
			m->parked = 0;
			msg_complete(a, mi, m->park_to, m->park_begin, m->park_end,
				     m->park_partial);
		}
		return;
	}
	if (m) {
		/* the same message sent again (forwarded): restart its queue time */
		a->an.duplicate_sends++;
		m->send_ns = ts;
		m->received = 0;
		m->chan = ci;
		m->from = t->comp;
		return;
	}
	mi = msg_alloc(a, t->vpid, ev->msg);
	if (mi == NONE32) {
		oom(a);
		return;
	}
	m = &a->msgs.v[mi];
	m->send_ns = ts;
	m->chan = ci;
	m->from = t->comp;
	uint64_t fid = ev->flow ? ev->flow : ev->msg;
	int32_t fi = flow_get(a, t->vpid, fid, ts);
	m = &a->msgs.v[mi];
	m->flow = fi;
	if (fi >= 0)
		a->flows.v[fi].outstanding++;
	else
		oom(a);
}

static void chan_set_depth(struct lt_an_chan *ch, uint32_t depth, int64_t ts)
{
	if (ts > ch->depth_since) {
		ch->depth_area += (unsigned __int128)ch->depth * (uint64_t)(ts - ch->depth_since);
		ch->depth_since = ts;
	}
	ch->depth = depth;
	if (depth > ch->max_depth)
		ch->max_depth = depth;
	double x = (double)(ts - ch->start_ns) / 1e9, y = depth;
	ch->rn += 1.0;
	ch->rt += x;
	ch->rd += y;
	ch->rtt += x * x;
	ch->rtd += x * y;
}

/* ---------------------------------------------------------------------------------------- */
/* feeding */

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
 * pre_window - an event before the --begin window: only the interposer's thread state is kept
 * (component and name, open blocks), for the thread to start the window in it (pre_start).
 * The API's threads start it as implicit components (docs/analysis.md, Window).
 */
static void pre_window(struct lt_analysis *a, const struct lt_event *ev)
{
	enum lt_ev_kind k = ev->kind;
	if (k == LT_EV_COMPONENT_RENAME) {
		for (uint32_t i = 0; i < a->threads.n; i++) {
			struct lt_thread *o = &a->threads.v[i];
			if (o->vpid == ev->vpid && o->pre_bound && o->pre_comp == ev->comp &&
			    ev->name && ev->name[0] && strcmp(ev->name, "(unnamed)") != 0) {
				char *n = dup_name(ev->name);
				if (!n) {
					oom(a);
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
	int32_t ti = thread_get(a, ev->vpid, ev->vtid);
	if (ti < 0) {
		oom(a);
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
			char *n = dup_name(ev->name);
			if (!n) {
				oom(a);
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
 * pre_start - the window starts (a->begin_ns): every thread that ran one of the interposer's
 * components before it runs it from the start, blocked where it was.
 */
static void pre_start(struct lt_analysis *a)
{
	for (uint32_t i = 0; i < a->threads.n; i++) {
		struct lt_thread *t = &a->threads.v[i];
		if (t->pre_bound && !t->pre_api) {
			int32_t ci = comp_get(a, t->vpid, t->pre_comp, 0, 1);
			if (ci < 0) {
				oom(a);
			} else {
				t = &a->threads.v[i];
				struct lt_an_comp *c = &a->comps.v[ci];
				take_name(a, &c->name, t->pre_name);
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
	char *p = dup_name(path ? path : "");
	int32_t i = p ? vec_push(a->objects) : -1;
	if (i < 0) {
		free(p);
		oom(a);
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
	/* keep every difference of two times far from overflow, whatever the input */
	int64_t ts = ev->ts_ns < 0 ? 0 : ev->ts_ns > LT_TS_MAX ? LT_TS_MAX : ev->ts_ns;
	if (!a->seen_any)
		start_window(a, ts);
	if ((a->has_lo && ts < a->lo) || (a->has_hi && ts > a->hi)) {
		if (a->has_hi && ts > a->hi)
			a->end_hit = 1;
		else if (!a->started)
			pre_window(a, ev);
		a->filtered_events++;
		return 0;
	}
	if ((unsigned)kind == LT_EV_UNKNOWN || (unsigned)kind >= LT_EV_KIND_COUNT) {
		a->unknown_events++;
		return 0;
	}
	if (!a->started) {
		a->started = 1;
		a->begin_ns = a->has_lo && a->lo < ts ? a->lo : ts;
		a->now = a->begin_ns;
		pre_start(a);
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
	if (ev->vtid < 0)
		a->an.events_without_vtid++; /* recorded without the vtid context */
	int32_t ti = thread_get(a, ev->vpid, ev->vtid);
	if (ti < 0) {
		oom(a);
		return -1;
	}
	struct lt_thread *t = &a->threads.v[ti];
	t->last_ts = ts; /* >= its previous events: ts >= a->now */
	t->nevents++;
	if (ts > a->now) {
		a->now = ts;
	}
	series_reach(a, ts);

	if (ev->preload && preload_yields(a, t, ev))
		return 0;

	int bd;
	switch (kind) {
	case LT_EV_COMPONENT_BEGIN: {
		int32_t ci = comp_get(a, ev->vpid, ev->comp, 0, 1);
		if (ci < 0) {
			oom(a);
			break;
		}
		t = &a->threads.v[ti];
		struct lt_an_comp *c = &a->comps.v[ci];
		take_name(a, &c->name, ev->name); /* "" keeps comp-N */
		c->declared = 1;
		c->ended = 0;
		c->preload = ev->preload;
		if (t->comp == ci)
			break; /* the same component again: a rename (the interposer's setname) */
		if (t->comp >= 0) {
			if (t->comp != ci && !a->comps.v[t->comp].preload)
				a->an.nested_component_begin++; /* the interposer's naming just
								   yields */
			th_unbind(a, t, ts);
		}
		th_bind(a, ti, ci, ts);
		break;
	}
	case LT_EV_COMPONENT_RENAME: {
		/* another thread renamed the thread of this component (it may be blocked) */
		int32_t ci = comp_get(a, ev->vpid, ev->comp, 0, 0);
		if (ci >= 0)
			take_name(a, &a->comps.v[ci].name, ev->name);
		break;
	}
	case LT_EV_COMPONENT_END:
		if (t->comp < 0) {
			a->an.unmatched_component_end++;
			break;
		}
		if (a->comps.v[t->comp].implicit || a->comps.v[t->comp].id != ev->comp)
			a->an.component_end_mismatch++;
		a->comps.v[t->comp].ended = 1;
		th_unbind(a, t, ts);
		break;
	case LT_EV_CHANNEL_DECLARE: {
		int32_t ci = chan_get(a, ev->vpid, ev->chan, ts);
		if (ci < 0) {
			oom(a);
			break;
		}
		struct lt_an_chan *ch = &a->chans.v[ci];
		take_name(a, &ch->name, ev->name); /* "" keeps chan-N */
		ch->capacity = ev->capacity;
		ch->object = ev->object;
		ch->declared = 1;
		break;
	}
	case LT_EV_WAIT_BEGIN:
		t = th_loop_event(a, ti, ts, 0, &bd);
		if (!t)
			break;
		if (t->waiting)
			a->an.nested_wait++;
		t->waiting = 1;
		if (th_handling(t) && t->block_depth == 0 && !t->wait_site) {
			/* a wait inside a handler is a block on a channel receive */
			th_enter_site(a, t, 0 /* chan_recv */, 0, 0);
			t->wait_site = 1;
		}
		th_settle(a, t);
		break;
	case LT_EV_WAIT_END:
		if (t->comp < 0 && !t->loop_seen)
			t->waiting = 1; /* the trace began while it waited */
		t = th_loop_event(a, ti, ts, 1, &bd);
		if (!t)
			break;
		if (!t->waiting)
			a->an.unmatched_wait_end++;
		t->waiting = 0;
		th_drop_wait_site(t);
		th_settle(a, t);
		msg_receipt(a, t, ev->msg, ts);
		break;
	case LT_EV_HANDLE_BEGIN:
		t = th_loop_event(a, ti, ts, 0, &bd);
		if (!t)
			break;
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
		t->handle_mi = msg_receipt(a, t, ev->msg, ts);
		break;
	case LT_EV_HANDLE_END: {
		if (t->comp < 0 && !t->loop_seen) {
			/* the trace began inside this handler */
			t->in_handler = 1;
			t->handle_partial = 1;
			t->handle_msg = ev->msg;
			t->handle_start = a->begin_ns;
		}
		t = th_loop_event(a, ti, ts, 1, &bd);
		if (!t)
			break;
		if (!t->in_handler) {
			a->an.unmatched_handle_end++;
			th_settle(a, t);
			break;
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
		struct lt_an_comp *c = &a->comps.v[ci];
		int64_t he = ts;
		if (!partial && ev->begin_ns && ev->end_ns && hb <= ev->begin_ns &&
		    ev->begin_ns <= ev->end_ns && ev->end_ns <= ts) {
			comp_trim_handler(a, c, hb, ev->begin_ns, ev->end_ns, ts);
			hb = ev->begin_ns;
			he = ev->end_ns;
		}
		if (!partial) {
			comp_count_handled(a, c, (uint64_t)(he - hb), ts);
		} else {
			a->an.handlers_cut++;
		}
		msg_done(a, t->vpid, hm, t->handle_mi, ci, hb, he, partial);
		break;
	}
	case LT_EV_BLOCK_BEGIN:
		th_advance(a, t, ts);
		if (t->block_depth >= LT_BLOCK_DEPTH_CAP) {
			a->an.block_depth_overflow++;
			break;
		}
		if (t->block_depth == 0) {
			t->block_reason = ev->reason;
			t->block_start = ts;
			if (t->comp < 0) {
				a->an.blocks_outside_components++;
			} else if (!t->waiting) {
				th_enter_site(a, t, ev->reason, ev->object, ev->where);
			}
		}
		t->block_depth++;
		th_settle(a, t);
		break;
	case LT_EV_BLOCK_END:
		if (t->block_depth == 0) {
			a->an.unmatched_block_end++;
			break;
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
		}
		th_settle(a, t);
		break;
	case LT_EV_SEND:
		on_send(a, t, ev, ts);
		break;
	case LT_EV_RECV: {
		int32_t ci = chan_get(a, ev->vpid, ev->chan, ts);
		if (ci < 0) {
			oom(a);
			break;
		}
		struct lt_an_chan *ch = &a->chans.v[ci];
		ch->recvs++;
		chan_set_depth(ch, ev->depth, ts);
		msg_receipt(a, &a->threads.v[ti], ev->msg, ts);
		break;
	}
	case LT_EV_ROUTE_ADD: {
		int32_t ri = route_get(a, ev->vpid, ev->route, 0);
		if (ri < 0) {
			oom(a);
			break;
		}
		struct lt_an_route *r = &a->routes.v[ri];
		r->chan = ev->chan;
		r->owner = ev->owner;
		r->declared = 1;
		r->removed = 0;
		break;
	}
	case LT_EV_ROUTE_REMOVE: {
		int32_t ri = route_get(a, ev->vpid, ev->route, 0);
		if (ri < 0) {
			oom(a);
			break;
		}
		a->routes.v[ri].removed = 1;
		if (a->routes_created > LT_ROUTE_KEEP && !a->routes_folded) {
			route_fold_all(a); /* the first time: fold those removed so far */
			a->routes_folded = 1;
		} else {
			route_fold(a, ri);
		}
		break;
	}
	case LT_EV_ROUTE_DISPATCH_BEGIN: {
		int32_t ri = route_get(a, ev->vpid, ev->route, 0);
		if (ri < 0) {
			oom(a);
			break;
		}
		t = &a->threads.v[ti];
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
		msg_receipt(a, t, ev->msg, ts);
		break;
	}
	case LT_EV_ROUTE_DISPATCH_END: {
		if (t->route < 0) {
			a->an.unmatched_dispatch_end++;
			break;
		}
		int32_t ri = t->route;
		struct lt_an_route *r = &a->routes.v[ri];
		uint64_t d = (uint64_t)(ts - t->dispatch_start);
		r->dispatches++;
		if (lt__hist_add(&r->dispatch, d))
			oom(a);
		/* the message went to the dispatching component (the router), else the owner */
		int32_t to = t->comp;
		if (to < 0 && r->owner)
			to = comp_get(a, t->vpid, r->owner, 0, 1);
		t = &a->threads.v[ti];
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
			comp_count_handled(a, &a->comps.v[t->comp], d, ts);
		}
		if (dm)
			msg_done(a, t->vpid, dm, NONE32, to, db, ts, 0);
		route_fold(a, ri);
		break;
	}
	default:
		break;
	}
	if (kind == LT_EV_COMPONENT_BEGIN || kind == LT_EV_COMPONENT_END ||
	    kind == LT_EV_WAIT_BEGIN || kind == LT_EV_WAIT_END || kind == LT_EV_HANDLE_BEGIN ||
	    kind == LT_EV_HANDLE_END)
		a->threads.v[ti].loop_seen = 1;
	return a->an.out_of_memory != oom_before ? -1 : 0;
}
