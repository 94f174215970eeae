/*
 * lt_test.h - the assertions every looptrace C test uses.
 *
 * Assertions print both operands and the location, then abort the test (exit 1). A test that
 * cannot run because a tool is missing calls LT_SKIP(): exit 77, which CTest reports as
 * skipped -- except under CI=true, where a skip is a failure (CI must have every tool).
 */
#ifndef LT_TEST_H
#define LT_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lt_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
void lt_test_skip(const char *file, int line, const char *why) __attribute__((noreturn));

#define LT_ASSERT(cond)                                                                            \
	do {                                                                                       \
		if (!(cond))                                                                       \
			lt_test_fail(__FILE__, __LINE__, "assertion failed: %s", #cond);           \
	} while (0)

/* Integer comparisons, printing both sides as signed or unsigned 64-bit values. */
#define LT_ASSERT_CMP_I(a, op, b)                                                                  \
	do {                                                                                       \
		long long lt_a_ = (long long)(a), lt_b_ = (long long)(b);                          \
		if (!(lt_a_ op lt_b_))                                                             \
			lt_test_fail(__FILE__, __LINE__, "%s %s %s: %lld vs %lld", #a, #op, #b,    \
				     lt_a_, lt_b_);                                                \
	} while (0)
#define LT_ASSERT_CMP_U(a, op, b)                                                                  \
	do {                                                                                       \
		unsigned long long lt_a_ = (unsigned long long)(a),                                \
				   lt_b_ = (unsigned long long)(b);                                \
		if (!(lt_a_ op lt_b_))                                                             \
			lt_test_fail(__FILE__, __LINE__, "%s %s %s: %llu vs %llu", #a, #op, #b,    \
				     lt_a_, lt_b_);                                                \
	} while (0)
#define LT_ASSERT_EQ_I(a, b) LT_ASSERT_CMP_I(a, ==, b)
#define LT_ASSERT_EQ_U(a, b) LT_ASSERT_CMP_U(a, ==, b)
#define LT_ASSERT_EQ_DBL(a, b, tol)                                                                \
	do {                                                                                       \
		double lt_a_ = (double)(a), lt_b_ = (double)(b);                                   \
		if (!(lt_a_ - lt_b_ <= (tol) && lt_b_ - lt_a_ <= (tol)))                           \
			lt_test_fail(__FILE__, __LINE__, "%s == %s (+-%g): %.9g vs %.9g", #a, #b,  \
				     (double)(tol), lt_a_, lt_b_);                                 \
	} while (0)
#define LT_ASSERT_STREQ(a, b)                                                                      \
	do {                                                                                       \
		const char *lt_a_ = (a), *lt_b_ = (b);                                             \
		if (!lt_a_ || !lt_b_ || strcmp(lt_a_, lt_b_) != 0)                                 \
			lt_test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" vs \"%s\"", #a, #b,     \
				     lt_a_ ? lt_a_ : "(null)", lt_b_ ? lt_b_ : "(null)");          \
	} while (0)

#define LT_SKIP(why) lt_test_skip(__FILE__, __LINE__, (why))

/* lt_test_run - runs one named test function, printing its name and result. */
#define LT_RUN(fn)                                                                                 \
	do {                                                                                       \
		fprintf(stderr, "-- %s\n", #fn);                                                   \
		fn();                                                                              \
		fprintf(stderr, "   ok %s\n", #fn);                                                \
	} while (0)

#endif /* LT_TEST_H */
