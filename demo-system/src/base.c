/*
 * base.c - the small pieces every runtime module uses: error strings, the monotonic clock,
 * futexes, waiters, the spin-then-park policy and thread names.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "rt_internal.h"

const char *lt_strerror(enum lt_err err)
{
	switch (err) {
	case LT_OK:
		return "success";
	case LT_ECLOSED:
		return "channel closed";
	case LT_EAGAIN:
		return "operation would block";
	case LT_ETIMEDOUT:
		return "deadline passed";
	case LT_ENOMEM:
		return "out of memory";
	case LT_EINVAL:
		return "invalid argument";
	case LT_EINTR:
		return "wait interrupted";
	case LT_EBUSY:
		return "object busy";
	case LT_ESYS:
		return "system call failed";
	case LT_EPROTO:
		return "IPC framing error";
	case LT_EMSGSIZE:
		return "IPC frame too large";
	}
	return "unknown error";
}

uint64_t lt_rt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t lt_rt_deadline(uint64_t timeout_ns)
{
	uint64_t now;

	if (timeout_ns == LT_FOREVER)
		return LT_FOREVER;
	now = lt_rt_now_ns();
	return timeout_ns >= LT_FOREVER - now ? LT_FOREVER : now + timeout_ns;
}

void lt__futex_wait(_Atomic uint32_t *addr, uint32_t val, uint64_t deadline_ns)
{
	struct timespec ts, *tp = NULL;

	if (deadline_ns != LT_FOREVER) {
		ts.tv_sec = (time_t)(deadline_ns / 1000000000u);
		ts.tv_nsec = (long)(deadline_ns % 1000000000u);
		tp = &ts;
	}
	/* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline. */
	syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, val, tp, NULL,
		FUTEX_BITSET_MATCH_ANY);
}

void lt__futex_wake(_Atomic uint32_t *addr, int n)
{
	syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, n, NULL, NULL, 0);
}

int lt__asym_fence_fast;

static pthread_once_t asym_once = PTHREAD_ONCE_INIT;

static void asym_register(void)
{
	long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED))
		return;
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0)
		return;
	__atomic_store_n(&lt__asym_fence_fast, 1, __ATOMIC_RELEASE);
}

void lt__asym_fence_init(void)
{
	/*
	 * pthread_once publishes lt__asym_fence_fast to every thread that later uses a channel
	 * created after this call (the channel itself is handed over with synchronization).
	 */
	pthread_once(&asym_once, asym_register);
}

void lt__asym_fence_heavy(void)
{
	if (__atomic_load_n(&lt__asym_fence_fast, __ATOMIC_RELAXED))
		syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

void lt__waiter_init(struct lt__waiter *w, int efd)
{
	atomic_init(&w->word, LT__W_NOTIFIED);
	w->efd = efd;
	atomic_init(&w->seq, NULL);
}

void lt__waiter_wake(struct lt__waiter *w)
{
	lt__waiter_wake_from(w, atomic_exchange(&w->word, LT__W_NOTIFIED));
}

void lt__waiter_wake_from(struct lt__waiter *w, uint32_t old)
{
	if (old == LT__W_SEQ) {
		/* A suspended sequence: only the waker that saw SEQ schedules it. */
		lt__seq_wake(atomic_load_explicit(&w->seq, memory_order_relaxed));
	} else if (w->efd >= 0) {
		if (old != LT__W_NOTIFIED) {
			uint64_t one = 1;
			ssize_t n;

			do
				n = write(w->efd, &one, sizeof(one));
			while (n < 0 && errno == EINTR);
		}
	} else if (old == LT__W_SLEEPING) {
		/*
		 * The wake may reach a waiter that already left (it saw NOTIFIED after a
		 * spurious wakeup): a futex wake on such an address is harmless.
		 */
		lt__futex_wake(&w->word, 1);
	}
}

void lt__waiter_park(struct lt__waiter *w, uint64_t deadline_ns)
{
	uint32_t expected = LT__W_ARMED;
	struct lt__seq *s = lt__seq_current();

	if (s) {
		lt__seq_park(s, w, deadline_ns);
		return;
	}
	if (!atomic_compare_exchange_strong(&w->word, &expected, LT__W_SLEEPING))
		return; /* already woken */
	lt__futex_wait(&w->word, LT__W_SLEEPING, deadline_ns);
	expected = LT__W_SLEEPING;
	/* Timed out or spurious: back to ARMED unless a wake came in meanwhile. */
	atomic_compare_exchange_strong(&w->word, &expected, LT__W_ARMED);
}

int lt__spin_step(unsigned *step, unsigned spin, unsigned yields)
{
	unsigned s = (*step)++;

	if (s < spin) {
		/* Every LT__SPIN_YIELD_EVERY rounds, let a thread that shares this core run. */
		if (s % LT__SPIN_YIELD_EVERY == LT__SPIN_YIELD_EVERY - 1) {
			sched_yield();
			return 1;
		}
		for (int i = 0; i < 4; i++)
			lt__cpu_relax();
		return 1;
	}
	if (s < spin + yields) {
		sched_yield();
		return 1;
	}
	return 0;
}

void lt__set_thread_name(const char *name)
{
	char tname[16];

	strncpy(tname, name, sizeof(tname) - 1);
	tname[sizeof(tname) - 1] = '\0';
	pthread_setname_np(pthread_self(), tname);
}
