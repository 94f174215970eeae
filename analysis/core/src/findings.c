/*
 * findings.c - every decision the report shows: the findings about each component and the
 * warnings, with their thresholds (docs/reports.md, "Findings", says why these ones). The
 * JSON writer prints what these functions fill in; the renderers only render the JSON.
 */
#include "view.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The rules. Handler time is busy + blocked in a handler: how long the handlers took.
 *  - blocks-in-handler: blocked in a handler > LT_BIH_SHARE of handler time; severity "bad"
 *    above LT_BIH_SHARE_BAD, else "warn".
 *  - blocked-outside / blocked-no-messages: blocked outside any handler >= LT_BO_SHARE of wall
 *    time; "blocked-no-messages" (severity "info") when the component handled no message, so
 *    idle waiting cannot be told from blocking, else "blocked-outside" ("warn").
 *  - saturated: see comp_saturated ("warn").
 *  - cut-short: see comp_cut_short ("warn").
 *  - holds-pool-thread: a sequence blocked holding its pool's worker (a blocking call that is
 *    not an await: the worker can run no other sequence meanwhile) >= LT_HELD_SHARE of its
 *    wall time; "bad" above LT_HELD_SHARE_BAD, else "warn".
 */
#define LT_BIH_SHARE      0.10
#define LT_BIH_SHARE_BAD  0.50
#define LT_BO_SHARE       0.20
#define LT_SATURATED_IDLE 0.02
#define LT_HELD_SHARE     0.01
#define LT_HELD_SHARE_BAD 0.10
#define LT_SLOW_ROUTE_NS  1000000u /* route callback p99 */
#define LT_GROWTH_MIN     4.0      /* queue growth over the trace, messages */

static const char *const code_names[LT_F_COUNT] = {
    [LT_F_BLOCKS_IN_HANDLER] = "blocks-in-handler",
    [LT_F_BLOCKED_OUTSIDE] = "blocked-outside",
    [LT_F_BLOCKED_NO_MESSAGES] = "blocked-no-messages",
    [LT_F_SATURATED] = "saturated",
    [LT_F_CUT_SHORT] = "cut-short",
    [LT_F_HOLDS_POOL_THREAD] = "holds-pool-thread",
};

const char *lt__finding_code_name(enum lt_finding_code code)
{
	return (unsigned)code < LT_F_COUNT ? code_names[code] : "unknown";
}

const char *lt__severity_name(enum lt_severity sev)
{
	return sev == LT_SEV_BAD ? "bad" : sev == LT_SEV_WARN ? "warn" : "info";
}

static double frac(uint64_t x, uint64_t of)
{
	return of ? (double)x / (double)of : 0.0;
}

static struct lt_num num_dbl(double d)
{
	struct lt_num n = {.kind = LT_NUM_DBL, .d = d};
	return n;
}

/*
 * comp_saturated - the component never waited for work: idle at most LT_SATURATED_IDLE of its
 * wall time (a sequence's runnable time is not idle: it had work and waited for a worker),
 * while it was not mostly blocked (a loop that spends its time blocked inside its
 * handlers waits for something else than CPU: blocks-in-handler says so). Busy alone would
 * not do: what tracing costs between two handlers lands outside them, so a saturated loop
 * can show busy well under 90 %; a loop that never waited is saturated whatever the split.
 */
static int comp_saturated(const struct lt_comp_view *v)
{
	uint64_t blocked = v->time[LT_T_BIH] + v->time[LT_T_BO];

	if (!v->wall || !v->time[LT_T_BUSY] || 2 * blocked >= v->wall)
		return 0;
	return (double)v->time[LT_T_IDLE] <= LT_SATURATED_IDLE * (double)v->wall;
}

/*
 * comp_cut_short - still bound when the trace ends (not because an --end bound cut the
 * window): its thread never reached component_end, so the program was probably killed.
 * Implicit components never announce an end; the interposer's threads alive at exit() do not
 * either.
 */
static int comp_cut_short(const struct lt_analysis *a, const struct lt_an_comp *c,
			  const struct lt_comp_view *v)
{
	return v->t && !c->ended && !c->implicit && !c->preload && !a->end_hit;
}

static struct lt_finding *add(struct lt_finding *out, uint32_t *n, enum lt_finding_code code,
			      enum lt_severity sev, int warning)
{
	struct lt_finding *f = &out[(*n)++];
	memset(f, 0, sizeof(*f));
	f->code = code;
	f->severity = sev;
	f->warning = warning;
	f->wall_frac = f->busy_frac = f->idle_frac = f->site_share = NAN;
	f->site = -1;
	return f;
}

/* Which blocking of a site top_site weighs. */
enum site_measure {
	SITE_OUTSIDE = 0, /* outside handlers */
	SITE_IN_HANDLER,  /* inside handlers */
	SITE_HELD,        /* not awaited: a pool worker was held */
};

static uint64_t site_ns(const struct lt_site_ref *r, enum site_measure m)
{
	switch (m) {
	case SITE_IN_HANDLER:
		return r->in_handler_ns;
	case SITE_HELD:
		return r->ns > r->released_ns ? r->ns - r->released_ns : 0;
	default:
		return r->ns > r->in_handler_ns ? r->ns - r->in_handler_ns : 0;
	}
}

/* top_site - the site with the most blocking of measure `m`, and its share of all sites'. */
static void top_site(struct lt_finding *f, const struct lt_site_ref *refs, size_t nref,
		     enum site_measure m)
{
	uint64_t best = 0, total = 0;
	for (size_t k = 0; k < nref; k++) {
		uint64_t ns = site_ns(&refs[k], m);
		total += ns;
		if (ns > best) {
			best = ns;
			f->site = (int32_t)k;
		}
	}
	if (f->site >= 0)
		f->site_share = (double)best / (double)total;
}

static void blocking_findings(const struct lt_an_comp *c, const struct lt_comp_view *v,
			      const struct lt_site_ref *refs, size_t nref, struct lt_finding *out,
			      uint32_t *n)
{
	uint64_t bih = v->time[LT_T_BIH], bo = v->time[LT_T_BO];
	uint64_t hb = v->time[LT_T_BUSY] + bih;
	double share = frac(bih, hb);
	if (hb && share > LT_BIH_SHARE) {
		struct lt_finding *f = add(out, n, LT_F_BLOCKS_IN_HANDLER,
					   share > LT_BIH_SHARE_BAD ? LT_SEV_BAD : LT_SEV_WARN, 1);
		double rel = frac(v->released, bih);
		if (rel > 0.0)
			snprintf(
			    f->message, sizeof(f->message),
			    "%.1f%% of handler time is spent blocked inside handlers (%.1f%% of "
			    "it awaiting with its thread released: the sequence still waits)",
			    share * 100.0, rel * 100.0);
		else
			snprintf(f->message, sizeof(f->message),
				 "%.1f%% of handler time is spent blocked inside handlers",
				 share * 100.0);
		f->value = num_dbl(share);
		f->wall_frac = frac(bih, v->wall);
		f->busy_frac = frac(v->time[LT_T_BUSY], v->wall);
		top_site(f, refs, nref, SITE_IN_HANDLER);
	}
	double bo_share = frac(bo, v->wall);
	if (v->wall && bo_share >= LT_BO_SHARE) {
		int none = c->messages == 0;
		struct lt_finding *f =
		    add(out, n, none ? LT_F_BLOCKED_NO_MESSAGES : LT_F_BLOCKED_OUTSIDE,
			none ? LT_SEV_INFO : LT_SEV_WARN, 0);
		snprintf(f->message, sizeof(f->message),
			 none ? "blocked %.1f%% of its wall time and handled no messages: without "
				"loop events idle waiting cannot be told from blocking"
			      : "blocked outside its handlers for %.1f%% of its wall time",
			 bo_share * 100.0);
		f->value = num_dbl(bo_share);
		f->wall_frac = bo_share;
		f->busy_frac = frac(v->time[LT_T_BUSY], v->wall);
		top_site(f, refs, nref, SITE_OUTSIDE);
	}
}

uint32_t lt__comp_findings(const struct lt_analysis *a, const struct lt_an_comp *c,
			   const struct lt_comp_view *v, const struct lt_site_ref *refs,
			   size_t nref, struct lt_finding out[LT_FINDINGS_MAX])
{
	uint32_t n = 0;
	blocking_findings(c, v, refs, nref, out, &n);
	if (comp_saturated(v) && !c->task) { /* a task is never idle: it lives to run once */
		struct lt_finding *f = add(out, &n, LT_F_SATURATED, LT_SEV_WARN, 1);
		double util = frac(v->time[LT_T_BUSY], v->wall);
		f->idle_frac = frac(v->time[LT_T_IDLE], v->wall);
		f->busy_frac = util;
		snprintf(f->message, sizeof(f->message),
			 "never waited for work: idle %.1f%% of its wall time (busy %.1f%%)",
			 f->idle_frac * 100.0, util * 100.0);
		f->value = num_dbl(util);
	}
	double held = frac(v->held, v->wall);
	if (c->seq && v->wall && held >= LT_HELD_SHARE) {
		struct lt_finding *f = add(out, &n, LT_F_HOLDS_POOL_THREAD,
					   held >= LT_HELD_SHARE_BAD ? LT_SEV_BAD : LT_SEV_WARN, 1);
		const char *pool = c->pool >= 0 ? a->pools.v[c->pool].name : "its pool";
		snprintf(f->message, sizeof(f->message),
			 "blocked %.1f%% of its wall time holding a thread of %s (a blocking call, "
			 "not an await): it starves every sequence on the pool",
			 held * 100.0, pool);
		f->value = num_dbl(held);
		f->wall_frac = held;
		f->busy_frac = frac(v->time[LT_T_BUSY], v->wall);
		top_site(f, refs, nref, SITE_HELD);
	}
	if (comp_cut_short(a, c, v)) {
		struct lt_finding *f = add(out, &n, LT_F_CUT_SHORT, LT_SEV_WARN, 1);
		snprintf(f->message, sizeof(f->message), "%s",
			 "still running when the trace ends: the program was probably killed; "
			 "figures cover the recorded part only");
		f->value.kind = LT_NUM_I64;
		f->value.i = v->t->last_ts; /* its last event */
	}
	return n;
}

/* ---------------------------------------------------------------------------------------- */
/* warnings */

enum { ST_COMPONENTS = 0, ST_CHANNELS, ST_ROUTES, ST_CLOCK, ST_LOST, ST_DONE };

static void wset(struct lt_warning *w, const char *kind, enum lt_subject subject)
{
	memset(w, 0, sizeof(*w));
	w->kind = kind;
	w->subject = subject;
}

/* component_warning - the next finding of a component that is also a warning. */
static int component_warning(struct lt_warn_iter *it, struct lt_warning *w)
{
	const struct lt_analysis *a = it->a;
	for (;;) {
		while (it->k < it->nf) {
			const struct lt_finding *f = &it->f[it->k++];
			if (!f->warning)
				continue;
			wset(w, lt__finding_code_name(f->code), LT_SUBJ_COMPONENT);
			w->id = it->c->id;
			w->pid = it->c->vpid;
			w->name = it->c->name;
			memcpy(w->message, f->message, sizeof(w->message));
			w->value = f->value;
			return 1;
		}
		if (it->i >= a->comps.n)
			return 0;
		struct lt_comp_view v;
		it->c = &a->comps.v[it->i++];
		lt__comp_view(a, it->c, it->now, &v);
		it->nf = lt__comp_findings(a, it->c, &v, NULL, 0, it->f);
		it->k = 0;
	}
}

/* chan_growth - fitted depth growth over the channel's life (messages), NAN when unknown. */
static double chan_growth(const struct lt_an_chan *ch, int64_t now, double *slope)
{
	double den = ch->rn * ch->rtt - ch->rt * ch->rt;
	*slope = NAN;
	if (ch->rn < 16.0 || den <= 0.0)
		return NAN;
	*slope = (ch->rn * ch->rtd - ch->rt * ch->rd) / den;
	return *slope * (double)(now - ch->start_ns) / 1e9;
}

/* queue-growth: the fitted depth grew by half the maximum depth (at least 4) and stays up. */
static int channel_warning(struct lt_warn_iter *it, struct lt_warning *w)
{
	while (it->i < it->a->chans.n) {
		const struct lt_an_chan *ch = &it->a->chans.v[it->i++];
		double slope, growth = chan_growth(ch, it->now, &slope);
		double need =
		    ch->max_depth / 2.0 > LT_GROWTH_MIN ? ch->max_depth / 2.0 : LT_GROWTH_MIN;
		if (!(isfinite(growth) && growth >= need && ch->depth >= ch->max_depth / 2u))
			continue;
		wset(w, "queue-growth", LT_SUBJ_CHANNEL);
		w->id = ch->id;
		w->pid = ch->vpid;
		w->name = ch->name;
		snprintf(w->message, sizeof(w->message),
			 "depth rises by %.1f messages/s (%.0f over the trace, max %u)", slope,
			 growth, ch->max_depth);
		w->value = num_dbl(slope);
		return 1;
	}
	return 0;
}

/* count_routes - per process, its routes that dispatched (an aggregate counts as two). */
static void count_routes(struct lt_warn_iter *it)
{
	for (uint32_t i = 0; i < it->a->routes.n; i++) {
		const struct lt_an_route *r = &it->a->routes.v[i];
		if (r->dead || !r->dispatches)
			continue;
		uint32_t n = lt__map_get(&it->per_pid, (uint64_t)r->vpid, 0, 0);
		n = n == UINT32_MAX ? 0 : n;
		n += r->nroutes > 1 ? 2u : 1u;
		(void)lt__map_put(&it->per_pid, (uint64_t)r->vpid, 0, 0, n);
	}
}

/* slow-route: a route's callback p99 above 1 ms while other routes of its process dispatch. */
static int route_warning(struct lt_warn_iter *it, struct lt_warning *w)
{
	while (it->i < it->a->routes.n) {
		const struct lt_an_route *r = &it->a->routes.v[it->i++];
		if (r->dead)
			continue;
		uint64_t p99 = lt__hist_quantile(&r->dispatch, 0.99);
		uint32_t n = lt__map_get(&it->per_pid, (uint64_t)r->vpid, 0, 0);
		int others = n != UINT32_MAX && n > 1;
		if (!(r->dispatches && p99 > LT_SLOW_ROUTE_NS && others))
			continue;
		wset(w, "slow-route", LT_SUBJ_ROUTE);
		w->id = r->id;
		w->pid = r->vpid;
		w->owner = r->owner;
		w->aggregate = r->aggregate;
		snprintf(w->message, sizeof(w->message),
			 "route callback p99 %.3f ms holds up the other routes of the router",
			 (double)p99 / 1e6);
		w->value.kind = LT_NUM_U64;
		w->value.u = p99;
		return 1;
	}
	return 0;
}

/*
 * clock-uncertain: queue waits across hosts shorter than the clocks' uncertainty: their
 * length, even their sign, depends on how far apart the two machines' clocks are.
 */
static int clock_warning(struct lt_warn_iter *it, struct lt_warning *w)
{
	while (it->i < it->a->chans.n) {
		const struct lt_an_chan *ch = &it->a->chans.v[it->i++];
		if (!ch->cross_host_short)
			continue;
		wset(w, "clock-uncertain", LT_SUBJ_CHANNEL);
		w->id = ch->id;
		w->pid = ch->vpid;
		w->name = ch->name;
		snprintf(w->message, sizeof(w->message),
			 "%" PRIu64 " of %" PRIu64 " queue waits across hosts are shorter than the "
			 "clock uncertainty (%.3f ms): their lengths are not known",
			 ch->cross_host_short, ch->cross_host_waits,
			 (double)it->a->clock_uncertainty_ns / 1e6);
		w->value.kind = LT_NUM_U64;
		w->value.u = ch->cross_host_short;
		return 1;
	}
	return 0;
}

static int lost_warning(struct lt_warn_iter *it, struct lt_warning *w)
{
	const struct lt_analysis *a = it->a;
	if (!a->lost_events)
		return 0;
	wset(w, "lost-events", LT_SUBJ_NONE);
	snprintf(w->message, sizeof(w->message),
		 "%" PRIu64 " events lost in %" PRIu32
		 " windows: numbers flagged lost_overlap are not exact",
		 a->lost_events, a->nlost_windows);
	w->value.kind = LT_NUM_U64;
	w->value.u = a->lost_events;
	return 1;
}

void lt__warn_iter_init(struct lt_warn_iter *it, const struct lt_analysis *a, int64_t now)
{
	memset(it, 0, sizeof(*it));
	it->a = a;
	it->now = now;
	lt__map_init(&it->per_pid);
}

int lt__warn_next(struct lt_warn_iter *it, struct lt_warning *w)
{
	while (it->stage != ST_DONE) {
		int got = 0;
		if (it->stage == ST_COMPONENTS)
			got = component_warning(it, w);
		else if (it->stage == ST_CHANNELS)
			got = channel_warning(it, w);
		else if (it->stage == ST_ROUTES)
			got = route_warning(it, w);
		else if (it->stage == ST_CLOCK)
			got = clock_warning(it, w);
		else
			got = lost_warning(it, w);
		if (got && it->stage != ST_LOST)
			return 1;
		it->stage++;
		it->i = 0;
		if (it->stage == ST_ROUTES)
			count_routes(it);
		if (got)
			return 1;
	}
	return 0;
}

void lt__warn_iter_fini(struct lt_warn_iter *it)
{
	lt__map_fini(&it->per_pid);
}
