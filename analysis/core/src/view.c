/*
 * view.c - a component's figures as the report shows them at a time `now`: the closed part
 * plus the interval still open (a handler running, a thread blocked), its blocking sites
 * sorted, its series. Nothing here changes the analysis.
 */
#include "view.h"

#include <stdlib.h>
#include <string.h>

int64_t lt__report_now(const struct lt_analysis *a)
{
	int64_t now = a->now;
	if (a->end_hit && a->has_hi && a->hi > now && a->started)
		now = a->hi;
	return now;
}

/* open_seq - a sequence's virtual thread t: its open released or held interval up to now. */
static void open_seq(const struct lt_analysis *a, const struct lt_thread *t, int64_t now,
		     struct lt_comp_view *v)
{
	if (!t->seq)
		return;
	if (!t->running && (t->state == LT_T_BIH || t->state == LT_T_BO) && now > t->since)
		v->released += (uint64_t)(now - t->since);
	if (t->running && t->worker >= 0) {
		const struct lt_thread *w = &a->threads.v[t->worker];
		if (w->wstate == LT_W_BLOCKED && now > w->wsince)
			v->held += (uint64_t)(now - w->wsince);
	}
}

void lt__comp_view(const struct lt_analysis *a, const struct lt_an_comp *c, int64_t now,
		   struct lt_comp_view *v)
{
	memcpy(v->time, c->time, sizeof(v->time));
	v->wall = c->wall_ns;
	v->released = c->released_ns;
	v->held = c->held_ns;
	v->begin = c->first_ns == INT64_MIN ? now : c->first_ns;
	v->end = c->first_ns == INT64_MIN ? now : c->last_ns; /* never ran: an empty life */
	v->t = NULL;
	if (c->thread >= 0) {
		const struct lt_thread *t = &a->threads.v[c->thread];
		v->t = t;
		if (now > t->since)
			v->time[t->state] += (uint64_t)(now - t->since);
		v->wall += (uint64_t)(now - c->bound_since);
		v->end = now;
		open_seq(a, t, now, v);
	}
	for (int32_t ti = c->task ? c->first_task : -1; ti >= 0; ti = a->threads.v[ti].next_task) {
		const struct lt_thread *t = &a->threads.v[ti]; /* a live task */
		if (now > t->since)
			v->time[t->state] += (uint64_t)(now - t->since);
		v->wall += (uint64_t)(now - t->bound_since);
		v->end = now;
		open_seq(a, t, now, v);
	}
}

void lt__comp_effective(const struct lt_analysis *a, uint32_t ci, uint64_t time[LT_T_COUNT],
			uint64_t *wall)
{
	struct lt_comp_view v;
	lt__comp_view(a, &a->comps.v[ci], lt__report_now(a), &v);
	memcpy(time, v.time, sizeof(v.time));
	*wall = v.wall;
}

uint64_t lt__busy_sum(const struct lt_analysis *a, int64_t now)
{
	uint64_t sum = 0;
	for (uint32_t ci = 0; ci < a->comps.n; ci++) {
		struct lt_comp_view v;
		lt__comp_view(a, &a->comps.v[ci], now, &v);
		sum += v.time[LT_T_BUSY];
	}
	return sum;
}

void lt__view_fini(struct lt_view_bufs *b)
{
	free(b->refs);
	free(b->col);
	memset(b, 0, sizeof(*b));
}

/* grow - makes *p hold at least n elements of esz bytes (*cap counts them); -1 on ENOMEM. */
static int grow(void **p, size_t *cap, size_t n, size_t esz)
{
	if (n <= *cap)
		return 0;
	size_t nc = *cap ? *cap : 64;
	while (nc < n)
		nc *= 2;
	void *np = realloc(*p, nc * esz);
	if (!np)
		return -1;
	*p = np;
	*cap = nc;
	return 0;
}

static uint64_t site_ns(const struct lt_analysis *a, int32_t si, const struct lt_comp_view *v,
			int64_t now, uint64_t *in_handler, uint64_t *released)
{
	uint64_t ns = a->sites.v[si].ns;
	*in_handler = a->sites.v[si].in_handler_ns;
	*released = a->sites.v[si].released_ns;
	const struct lt_thread *t = v->t;
	if (t && t->site == si && (t->state == LT_T_BIH || t->state == LT_T_BO) && now > t->since) {
		ns += (uint64_t)(now - t->since);
		if (t->state == LT_T_BIH)
			*in_handler += (uint64_t)(now - t->since);
		if (t->seq && !t->running)
			*released += (uint64_t)(now - t->since);
	}
	return ns;
}

static int site_ref_cmp(const void *x, const void *y)
{
	const struct lt_site_ref *p = x, *q = y;
	if (p->ns != q->ns)
		return p->ns < q->ns ? 1 : -1;
	return p->si < q->si ? -1 : p->si > q->si;
}

long lt__comp_sites(const struct lt_analysis *a, const struct lt_an_comp *c,
		    const struct lt_comp_view *v, int64_t now, struct lt_view_bufs *b)
{
	size_t n = 0;
	for (int32_t si = c->first_site; si >= 0; si = a->sites.v[si].next) {
		if (grow((void **)&b->refs, &b->refs_cap, n + 1, sizeof(*b->refs)) != 0)
			return -1;
		b->refs[n].si = si;
		b->refs[n].ns =
		    site_ns(a, si, v, now, &b->refs[n].in_handler_ns, &b->refs[n].released_ns);
		n++;
	}
	if (n > 1)
		qsort(b->refs, n, sizeof(*b->refs), site_ref_cmp);
	return (long)n;
}

long lt__comp_series(const struct lt_analysis *a, const struct lt_an_comp *c,
		     const struct lt_comp_view *v, int64_t now, struct lt_view_bufs *b,
		     uint32_t *b0)
{
	uint64_t iv = a->series_interval;
	*b0 = (uint32_t)((uint64_t)(v->begin - a->begin_ns) / iv);
	uint32_t b1 = (uint32_t)((uint64_t)(v->end - a->begin_ns) / iv);
	if (b1 >= a->series_cap)
		b1 = a->series_cap - 1;
	if (c->first_ns == INT64_MIN || b1 < *b0)
		return 0;
	size_t n = (size_t)(b1 - *b0) + 1u;
	if (grow((void **)&b->col, &b->col_cap, n, sizeof(*b->col)) != 0)
		return -1;
	int open_col = -1;
	if (v->t && v->t->state == LT_T_BUSY)
		open_col = LT_S_BUSY;
	else if (v->t && (v->t->state == LT_T_BIH || v->t->state == LT_T_BO))
		open_col = LT_S_BLOCKED;
	else if (v->t && v->t->state == LT_T_RUNNABLE)
		open_col = LT_S_RUNNABLE;
	for (size_t k = 0; k < n; k++) {
		uint32_t bk = *b0 + (uint32_t)k;
		lt__series_get(a, c, bk, b->col[k]);
		if (open_col < 0)
			continue;
		int64_t bs = a->begin_ns + (int64_t)((uint64_t)bk * iv);
		int64_t be = bs + (int64_t)iv;
		int64_t lo = v->t->since > bs ? v->t->since : bs;
		int64_t hi = now < be ? now : be;
		if (hi > lo)
			b->col[k][open_col] += (uint64_t)(hi - lo);
	}
	return (long)n;
}
