/*
 * hist.c - the log-bucket histogram used for every percentile in the report (see hist.h for
 * the layout and its error bound).
 */
#include "hist.h"

#include <stdlib.h>
#include <string.h>

void lt__hist_init(struct lt_hist *h)
{
	memset(h, 0, sizeof(*h));
}

void lt__hist_fini(struct lt_hist *h)
{
	free(h->counts);
	memset(h, 0, sizeof(*h));
}

uint32_t lt__hist_bucket(uint64_t v)
{
	if (v < 2u * LT_HIST_SUB)
		return (uint32_t)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= SUB_BITS + 1 */
	unsigned shift = e - LT_HIST_SUB_BITS;
	uint64_t mant = v >> shift; /* in [SUB, 2*SUB) */
	return 2u * LT_HIST_SUB + (e - LT_HIST_SUB_BITS - 1u) * LT_HIST_SUB +
	       (uint32_t)(mant - LT_HIST_SUB);
}

uint64_t lt__hist_bucket_low(uint32_t b)
{
	if (b < 2u * LT_HIST_SUB)
		return b;
	uint32_t k = b - 2u * LT_HIST_SUB;
	unsigned e = k / LT_HIST_SUB + LT_HIST_SUB_BITS + 1u;
	uint64_t mant = LT_HIST_SUB + k % LT_HIST_SUB;
	return mant << (e - LT_HIST_SUB_BITS);
}

uint64_t lt__hist_bucket_high(uint32_t b)
{
	if (b < 2u * LT_HIST_SUB)
		return b;
	uint32_t k = b - 2u * LT_HIST_SUB;
	unsigned e = k / LT_HIST_SUB + LT_HIST_SUB_BITS + 1u;
	uint64_t width = (uint64_t)1 << (e - LT_HIST_SUB_BITS);
	return lt__hist_bucket_low(b) + (width - 1u);
}

#define LT_HIST_MIN_WINDOW 8u

/*
 * hist_cover - makes the window hold buckets lo..hi (lo <= hi < LT_HIST_MAX_BUCKETS), at
 * least doubling it when it grows, the slack on the side that grew. Returns 0, or -1 when
 * out of memory (the histogram is unchanged).
 */
static int hist_cover(struct lt_hist *h, uint32_t lo, uint32_t hi)
{
	uint32_t base, n, need;
	uint64_t *c;

	if (h->nbuckets) {
		if (lo >= h->base && hi < h->base + h->nbuckets)
			return 0;
		if (lo > h->base)
			lo = h->base;
		if (hi < h->base + h->nbuckets - 1u)
			hi = h->base + h->nbuckets - 1u;
	}
	need = hi - lo + 1u;
	n = h->nbuckets ? 2u * h->nbuckets : LT_HIST_MIN_WINDOW;
	while (n < need)
		n *= 2u;
	if (n > LT_HIST_MAX_BUCKETS)
		n = LT_HIST_MAX_BUCKETS;
	if (h->nbuckets && lo < h->base) /* grew downwards: the slack goes below */
		base = hi + 1u >= n ? hi + 1u - n : 0;
	else
		base = lo;
	if (base + n > LT_HIST_MAX_BUCKETS)
		base = LT_HIST_MAX_BUCKETS - n;
	c = calloc(n, sizeof(*c));
	if (!c)
		return -1;
	if (h->nbuckets)
		memcpy(c + (h->base - base), h->counts, (size_t)h->nbuckets * sizeof(*c));
	free(h->counts);
	h->counts = c;
	h->base = base;
	h->nbuckets = n;
	return 0;
}

int lt__hist_add(struct lt_hist *h, uint64_t v)
{
	uint32_t b = lt__hist_bucket(v);
	if ((b < h->base || b - h->base >= h->nbuckets) && hist_cover(h, b, b) != 0)
		return -1;
	h->counts[b - h->base]++;
	if (h->count == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->count++;
	h->sum += (double)v;
	return 0;
}

int lt__hist_merge(struct lt_hist *dst, const struct lt_hist *src)
{
	if (src->count == 0)
		return 0;
	if (hist_cover(dst, src->base, src->base + src->nbuckets - 1u) != 0)
		return -1;
	for (uint32_t i = 0; i < src->nbuckets; i++)
		dst->counts[src->base - dst->base + i] += src->counts[i];
	if (dst->count == 0 || src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
	return 0;
}

uint64_t lt__hist_quantile(const struct lt_hist *h, double q)
{
	if (h->count == 0)
		return 0;
	if (q <= 0.0)
		return h->min;
	if (q >= 1.0)
		return h->max;
	/* rank: the smallest r such that r >= q * count (1-based) */
	double want = q * (double)h->count;
	uint64_t rank = (uint64_t)want;
	if ((double)rank < want)
		rank++;
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (uint32_t i = 0; i < h->nbuckets; i++) {
		uint32_t b = h->base + i;

		seen += h->counts[i];
		if (seen >= rank) {
			uint64_t lo = lt__hist_bucket_low(b), hi = lt__hist_bucket_high(b);
			uint64_t mid = lo + (hi - lo) / 2u;
			if (mid < h->min)
				mid = h->min;
			if (mid > h->max)
				mid = h->max;
			return mid;
		}
	}
	return h->max;
}
