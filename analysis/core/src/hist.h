/*
 * hist.h - a bounded log-bucket histogram of non-negative integer values (ns).
 *
 * HDR-style layout: values below 64 have a bucket each (exact); above, every power of two is
 * split into 32 equal sub-buckets, so a bucket's width is at most 1/32 of its lower bound.
 * A percentile is reported as the middle of its bucket, clamped to the exact min and max:
 * the relative error is at most 1/64 (1.6 %). 64-bit values need at most 1920 buckets; the
 * counts array covers only the window of buckets used so far, [base, base + nbuckets), and
 * grows on demand (at least doubling) to either side: a histogram of durations that vary
 * little takes a few dozen bytes, one spanning ns to s about 8 KiB. Recording never
 * allocates once the range is known.
 */
#ifndef LT_ANALYSIS_HIST_H
#define LT_ANALYSIS_HIST_H

#include <stdint.h>

#define LT_HIST_SUB_BITS    5
#define LT_HIST_SUB         (1u << LT_HIST_SUB_BITS)
#define LT_HIST_MAX_BUCKETS (2u * LT_HIST_SUB + (64u - LT_HIST_SUB_BITS - 1u) * LT_HIST_SUB)

struct lt_hist {
	uint64_t *counts;  /* owned; nbuckets entries: counts[i] is bucket base + i */
	uint32_t base;     /* first bucket held */
	uint32_t nbuckets; /* buckets held (0: none allocated yet) */
	uint64_t count;
	uint64_t min, max; /* exact, ns */
	double sum;        /* for the mean */
};

/* lt__hist_init - an empty histogram in caller memory. */
void lt__hist_init(struct lt_hist *h);
/* lt__hist_fini - frees the counts. */
void lt__hist_fini(struct lt_hist *h);
/* lt__hist_add - records `v`. Returns 0, or -1 when growing the counts failed (v lost). */
int lt__hist_add(struct lt_hist *h, uint64_t v);
/* lt__hist_merge - adds every value of `src` into `dst`. Returns 0 or -1 (out of memory). */
int lt__hist_merge(struct lt_hist *dst, const struct lt_hist *src);
/* lt__hist_quantile - the value at quantile q in [0,1] (0 for an empty histogram). */
uint64_t lt__hist_quantile(const struct lt_hist *h, double q);
/* lt__hist_bucket - the bucket index of v; lt__hist_bucket_low/high its bounds [low, high]. */
uint32_t lt__hist_bucket(uint64_t v);
uint64_t lt__hist_bucket_low(uint32_t b);
uint64_t lt__hist_bucket_high(uint32_t b);

#endif /* LT_ANALYSIS_HIST_H */
