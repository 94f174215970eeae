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

static int hist_grow(struct lt_hist *h, uint32_t need)
{
	uint32_t n = h->nbuckets ? h->nbuckets : 256u;
	while (n < need)
		n *= 2u;
	if (n > LT_HIST_MAX_BUCKETS)
		n = LT_HIST_MAX_BUCKETS;
	uint64_t *c = realloc(h->counts, (size_t)n * sizeof(*c));
	if (!c)
		return -1;
	memset(c + h->nbuckets, 0, (size_t)(n - h->nbuckets) * sizeof(*c));
	h->counts = c;
	h->nbuckets = n;
	return 0;
}

int lt__hist_add(struct lt_hist *h, uint64_t v)
{
	uint32_t b = lt__hist_bucket(v);
	if (b >= h->nbuckets && hist_grow(h, b + 1u) != 0)
		return -1;
	h->counts[b]++;
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
	if (src->nbuckets > dst->nbuckets && hist_grow(dst, src->nbuckets) != 0)
		return -1;
	for (uint32_t i = 0; i < src->nbuckets; i++)
		dst->counts[i] += src->counts[i];
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
	for (uint32_t b = 0; b < h->nbuckets; b++) {
		seen += h->counts[b];
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
