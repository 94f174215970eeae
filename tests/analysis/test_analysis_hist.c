/*
 * test_analysis_hist.c - the containers of the analysis: the log-bucket histogram (bucket
 * layout, percentiles of known distributions within the documented error of 1/64) and the
 * open-addressing hash map (against a reference array, with deletions).
 */
#include "lt_test.h"
#include "hist.h"
#include "map.h"

#include <math.h>
#include <stdlib.h>

#define REL_ERR (1.0 / 64.0)

static void check_close(uint64_t got, double want)
{
	double err = fabs((double)got - want);
	if (err > want * REL_ERR + 0.5)
		lt_test_fail(__FILE__, __LINE__, "quantile %llu vs %.1f (rel err %.4f)",
			     (unsigned long long)got, want, err / want);
}

static void test_buckets(void)
{
	/* every value lies in its bucket, buckets are contiguous and width <= low/32 */
	uint64_t prev_high = 0;
	for (uint32_t b = 0; b < LT_HIST_MAX_BUCKETS; b++) {
		uint64_t lo = lt__hist_bucket_low(b), hi = lt__hist_bucket_high(b);
		LT_ASSERT_CMP_U(lo, <=, hi);
		if (b > 0)
			LT_ASSERT_EQ_U(lo, prev_high + 1);
		if (lo >= 64)
			LT_ASSERT_CMP_U(hi - lo + 1, <=, lo / 32);
		LT_ASSERT_EQ_U(lt__hist_bucket(lo), b);
		LT_ASSERT_EQ_U(lt__hist_bucket(hi), b);
		prev_high = hi;
	}
	LT_ASSERT_EQ_U(prev_high, UINT64_MAX);
	for (uint64_t v = 1; v < (1ull << 62); v = v * 3 + 1)
		LT_ASSERT(lt__hist_bucket_low(lt__hist_bucket(v)) <= v &&
			  v <= lt__hist_bucket_high(lt__hist_bucket(v)));
}

static void test_uniform(void)
{
	struct lt_hist h;
	lt__hist_init(&h);
	for (uint64_t v = 1; v <= 100000; v++)
		LT_ASSERT_EQ_I(lt__hist_add(&h, v), 0);
	LT_ASSERT_EQ_U(h.count, 100000);
	LT_ASSERT_EQ_U(h.min, 1);
	LT_ASSERT_EQ_U(h.max, 100000);
	check_close(lt__hist_quantile(&h, 0.50), 50000);
	check_close(lt__hist_quantile(&h, 0.90), 90000);
	check_close(lt__hist_quantile(&h, 0.99), 99000);
	LT_ASSERT_EQ_U(lt__hist_quantile(&h, 1.0), 100000);
	LT_ASSERT_EQ_DBL(h.sum / (double)h.count, 50000.5, 1e-6);
	lt__hist_fini(&h);
}

static void test_exponential(void)
{
	/* deterministic inverse-CDF samples of an exponential with mean 1 ms */
	struct lt_hist h;
	lt__hist_init(&h);
	const int n = 200000;
	for (int i = 0; i < n; i++) {
		double u = (i + 0.5) / n;
		lt__hist_add(&h, (uint64_t)llround(-1e6 * log(1.0 - u)));
	}
	check_close(lt__hist_quantile(&h, 0.50), 1e6 * log(2.0));
	check_close(lt__hist_quantile(&h, 0.90), 1e6 * log(10.0));
	check_close(lt__hist_quantile(&h, 0.99), 1e6 * log(100.0));
	lt__hist_fini(&h);
}

static void test_small_and_constant(void)
{
	struct lt_hist h;
	lt__hist_init(&h);
	LT_ASSERT_EQ_U(lt__hist_quantile(&h, 0.5), 0); /* empty */
	for (int i = 0; i < 10; i++)
		lt__hist_add(&h, 7);
	LT_ASSERT_EQ_U(lt__hist_quantile(&h, 0.5), 7);
	LT_ASSERT_EQ_U(lt__hist_quantile(&h, 0.99), 7);
	lt__hist_fini(&h);
	lt__hist_init(&h);
	for (int i = 0; i < 1000; i++)
		lt__hist_add(&h, 123456789);
	/* clamped to the exact min/max */
	LT_ASSERT_EQ_U(lt__hist_quantile(&h, 0.5), 123456789);
	lt__hist_add(&h, UINT64_MAX);
	LT_ASSERT_EQ_U(h.max, UINT64_MAX);
	LT_ASSERT_EQ_U(lt__hist_quantile(&h, 1.0), UINT64_MAX);
	/* exact below 64: values 0..63 */
	lt__hist_fini(&h);
	lt__hist_init(&h);
	for (uint64_t v = 0; v < 64; v++)
		lt__hist_add(&h, v);
	LT_ASSERT_EQ_U(lt__hist_quantile(&h, 0.5), 31);
	lt__hist_fini(&h);
}

static void test_merge(void)
{
	struct lt_hist a, b;
	lt__hist_init(&a);
	lt__hist_init(&b);
	for (uint64_t v = 1; v <= 1000; v++)
		lt__hist_add(v % 2 ? &a : &b, v * 1000);
	LT_ASSERT_EQ_I(lt__hist_merge(&a, &b), 0);
	LT_ASSERT_EQ_U(a.count, 1000);
	LT_ASSERT_EQ_U(a.min, 1000);
	LT_ASSERT_EQ_U(a.max, 1000000);
	check_close(lt__hist_quantile(&a, 0.5), 500000);
	lt__hist_fini(&a);
	lt__hist_fini(&b);
}

static uint64_t rng = 42;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/*
 * ref_quantile - the histogram's documented answer computed from the sorted values: the
 * middle of the bucket holding the value of rank ceil(q * n), clamped to [min, max]; q 0 and
 * 1 are min and max.
 */
static uint64_t ref_quantile(const uint64_t *sorted, size_t n, double q)
{
	double want = q * (double)n;
	size_t rank = (size_t)want;

	if (q <= 0.0)
		return sorted[0];
	if (q >= 1.0)
		return sorted[n - 1];

	if ((double)rank < want)
		rank++;
	if (rank == 0)
		rank = 1;
	uint32_t b = lt__hist_bucket(sorted[rank - 1]);
	uint64_t lo = lt__hist_bucket_low(b), hi = lt__hist_bucket_high(b);
	uint64_t mid = lo + (hi - lo) / 2u;
	if (mid < sorted[0])
		mid = sorted[0];
	if (mid > sorted[n - 1])
		mid = sorted[n - 1];
	return mid;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return (a > b) - (a < b);
}

/*
 * The counts cover only the buckets used: a constant takes the smallest window; values that
 * arrive below and above the window (descending, then ascending, then a merge of a far
 * window) give exactly the percentiles of the sorted values.
 */
static void test_window(void)
{
	static uint64_t vals[4000];
	static const double qs[] = {0.0, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0};
	struct lt_hist h, far;
	size_t n = 0;

	lt__hist_init(&h);
	for (int i = 0; i < 1000; i++)
		LT_ASSERT_EQ_I(lt__hist_add(&h, 250000), 0);
	LT_ASSERT_CMP_U(h.nbuckets, <=, 8);
	for (int i = 0; i < 1000; i++)
		vals[n++] = 250000;
	for (uint64_t v = 1000000; v >= 1000; v -= 997) { /* downwards */
		LT_ASSERT_EQ_I(lt__hist_add(&h, v), 0);
		vals[n++] = v;
	}
	for (uint64_t v = 3; v < 20000000000ull; v *= 3) { /* 3 ns .. 14 s, upwards */
		LT_ASSERT_EQ_I(lt__hist_add(&h, v), 0);
		vals[n++] = v;
	}
	lt__hist_init(&far);
	for (int i = 0; i < 50; i++) {
		LT_ASSERT_EQ_I(lt__hist_add(&far, UINT64_MAX - (uint64_t)i), 0);
		vals[n++] = UINT64_MAX - (uint64_t)i;
	}
	LT_ASSERT_EQ_I(lt__hist_merge(&h, &far), 0);
	LT_ASSERT_CMP_U(h.nbuckets, <=, LT_HIST_MAX_BUCKETS);
	LT_ASSERT_EQ_U(h.count, n);
	qsort(vals, n, sizeof(vals[0]), cmp_u64);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
		LT_ASSERT_EQ_U(lt__hist_quantile(&h, qs[i]), ref_quantile(vals, n, qs[i]));
	lt__hist_fini(&far);
	lt__hist_fini(&h);
}

static void map_round(uint64_t stride)
{
	enum { N = 4096 };
	static uint32_t ref[N]; /* value + 1 for key i, 0 = absent */
	memset(ref, 0, sizeof(ref));
	struct lt_map m;
	lt__map_init(&m);
	size_t len = 0;
	for (int step = 0; step < 200000; step++) {
		uint64_t i = next_rand() % N, k1 = i * stride;
		switch (next_rand() % 3) {
		case 0:
		case 1:
			LT_ASSERT_EQ_I(lt__map_put(&m, 7, k1, i & 1, (uint32_t)step), 0);
			len += ref[i] == 0;
			ref[i] = (uint32_t)step + 1;
			break;
		default:
			lt__map_del(&m, 7, k1, i & 1);
			len -= ref[i] != 0;
			ref[i] = 0;
		}
		if (step % 1000 == 0)
			for (uint64_t k = 0; k < N; k++)
				LT_ASSERT_EQ_U(lt__map_get(&m, 7, k * stride, k & 1),
					       ref[k] ? ref[k] - 1 : UINT32_MAX);
		LT_ASSERT_EQ_U(m.len, len);
	}
	LT_ASSERT_EQ_U(lt__map_get(&m, 8, 0, 0), UINT32_MAX);
	lt__map_fini(&m);
}

static void test_map(void)
{
	map_round(1);        /* consecutive keys */
	map_round(256);      /* keys sharing their low 8 bits */
	map_round(1u << 20); /* and more */
}

int main(void)
{
	LT_RUN(test_buckets);
	LT_RUN(test_uniform);
	LT_RUN(test_exponential);
	LT_RUN(test_small_and_constant);
	LT_RUN(test_merge);
	LT_RUN(test_window);
	LT_RUN(test_map);
	return 0;
}
