/*
 * series.c - the per-component time series (messages handled, busy and blocked ns per
 * bucket) and the handler accounting that feeds them.
 *
 * A series starts sparse (only the buckets touched, sorted) and becomes dense past a quarter
 * of series_cap; when time runs past the last bucket every series halves its resolution
 * (series_reach), so the report has at most series_cap points whatever the trace length.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

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

void lt__series_reach(struct lt_analysis *a, int64_t ts)
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
			lt__oom(a);
			return NULL;
		}
		return c->series + (size_t)b * LT_S_COLS;
	}
	if (c->nspoints == c->spcap) {
		uint32_t ncap = c->spcap ? 2u * c->spcap : 4u;
		struct lt_spoint *p = realloc(c->spoints, (size_t)ncap * sizeof(*p));

		if (!p) {
			lt__oom(a);
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

void lt__series_span(struct lt_analysis *a, struct lt_an_comp *c, int col, int64_t t0, int64_t t1,
		     int sub)
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
 * lt__comp_trim_handler - a handler counted busy from hb (its handle_begin event) to he (its
 * handle_end event) really ran from pb to pe (the bounds the program read, handle_end's
 * begin_ns/end_ns): [hb, pb) and [pe, he) are what writing the two events cost, time outside
 * the handler. Nothing else happens on the thread in those two spans (pb is read as
 * handle_begin's call returns, pe as handle_end's starts), so they were counted busy.
 */
void lt__comp_trim_handler(struct lt_analysis *a, struct lt_an_comp *c, int64_t hb, int64_t pb,
			   int64_t pe, int64_t he)
{
	uint64_t cut = (uint64_t)(pb - hb) + (uint64_t)(he - pe);

	if (cut > c->time[LT_T_BUSY])
		return;
	c->time[LT_T_BUSY] -= cut;
	c->time[LT_T_OUTSIDE] += cut;
	lt__series_span(a, c, LT_S_BUSY, hb, pb, 1);
	lt__series_span(a, c, LT_S_BUSY, pe, he, 1);
}

void lt__comp_count_handled(struct lt_analysis *a, struct lt_an_comp *c, uint64_t dur, int64_t ts)
{
	uint64_t *s;

	c->messages++;
	if (lt__hist_add(&c->handle, dur))
		lt__oom(a);
	s = series_cell(a, c, (uint32_t)((uint64_t)(ts - a->begin_ns) / a->series_interval));
	if (s)
		s[LT_S_MSGS]++;
}
