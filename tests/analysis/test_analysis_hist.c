/*
 * test_analysis_hist.c - the log-bucket histogram of the analysis: bucket layout and
 * percentiles of known distributions within the documented error (1/64 relative).
 */
#include "lt_test.h"
#include "hist.h"

#include <math.h>

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

int main(void)
{
	LT_RUN(test_buckets);
	LT_RUN(test_uniform);
	LT_RUN(test_exponential);
	LT_RUN(test_small_and_constant);
	LT_RUN(test_merge);
	return 0;
}
