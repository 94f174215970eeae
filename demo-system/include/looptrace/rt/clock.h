/*
 * looptrace/rt/clock.h - time as liblooptrace-rt sees it.
 *
 * All deadlines in the runtime are absolute times in nanoseconds on CLOCK_MONOTONIC.
 * LT_FOREVER means "no deadline"; a deadline already in the past (0 included) makes a
 * blocking call behave like its try_ variant, except that it reports LT_ETIMEDOUT instead of
 * LT_EAGAIN.
 *
 * Thread safety: any thread.
 */
#ifndef LOOPTRACE_RT_CLOCK_H
#define LOOPTRACE_RT_CLOCK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* No deadline: wait as long as it takes. */
#define LT_FOREVER UINT64_MAX

/* lt_rt_now_ns - the current CLOCK_MONOTONIC time in ns. */
uint64_t lt_rt_now_ns(void);

/*
 * lt_rt_deadline - the deadline `timeout_ns` ns from now (saturates at LT_FOREVER;
 * LT_FOREVER in gives LT_FOREVER out).
 */
uint64_t lt_rt_deadline(uint64_t timeout_ns);

#ifdef __cplusplus
}
#endif

#endif /* LOOPTRACE_RT_CLOCK_H */
