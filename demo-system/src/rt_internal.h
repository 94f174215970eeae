/*
 * rt_internal.h - what the modules of liblooptrace-rt share and never install: the waiter
 * (how a receiver parks on one or many channels), the channel's receiver-side primitives
 * used by select and the router, futex helpers and spinning.
 *
 * The wakeup protocol. A receiver that found nothing sets its waiter's word to ARMED and
 * registers the waiter in each channel it waits on (ch->waiter), then looks again; only if
 * everything is still empty does it park (word ARMED -> SLEEPING, futex wait). A sender, after
 * publishing a message, loads ch->waiter; if a waiter is registered it claims the slot
 * (waiter -> CLAIMED), wakes the waiter and clears the slot. Registration and the sender's
 * publication are both sequentially consistent, so either the receiver's second look sees
 * the message or the sender sees the registration. Unregistering waits while a sender holds
 * the slot CLAIMED, so once a receiver unregistered, no sender touches its waiter any more:
 * the waiter may live on the receiver's stack. A sender only wakes a registered (waiting)
 * receiver, and only the first sender after the receiver armed does the system call.
 */
#ifndef LT_RT_INTERNAL_H
#define LT_RT_INTERNAL_H

#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <looptrace/rt/chan.h>
#include <looptrace/rt/clock.h>
#include <looptrace/rt/err.h>
#include <looptrace/rt/pool.h>

/* Fibers switch with a few instructions of assembly on x86_64, with ucontext elsewhere (or
 * when built with -DLT_FIBER_UCONTEXT). */
#if defined(__x86_64__) && !defined(LT_FIBER_UCONTEXT)
#define LT__FIBER_ASM 1
#else
#include <ucontext.h>
#endif

#define LT__CACHELINE 64

/* Everything declared here stays inside the library: direct calls, no PLT. */
#pragma GCC visibility push(hidden)

/*
 * Thread-locals of the runtime: initial-exec TLS (the library is linked at startup, never
 * dlopen'ed), one %fs-relative access instead of a __tls_get_addr call.
 */
#define LT__TLS _Thread_local __attribute__((tls_model("initial-exec")))

/* Waiter word states. */
#define LT__W_ARMED    0u /* about to park; a wake turns it NOTIFIED */
#define LT__W_NOTIFIED 1u /* woken (or never armed) */
#define LT__W_SLEEPING 2u /* parked in futex_wait: a wake must call futex_wake */
#define LT__W_SEQ      3u /* a suspended sequence: a wake schedules `seq` on its pool */

struct lt__seq;

/*
 * Something a receiver parks on; channels hold a weak pointer to it while it is registered.
 * Its kind is decided when it parks: a thread parks on the futex (or, for the router, its
 * eventfd is polled); a pooled sequence suspends (word SEQ, `seq` set), and a wake schedules
 * it instead of calling futex_wake.
 */
struct lt__waiter {
	_Atomic uint32_t word;         /* LT__W_* */
	int efd;                       /* -1: futex on word; >= 0: eventfd written on wake */
	_Atomic(struct lt__seq *) seq; /* weak: the sequence suspended on it (word SEQ) */
};

/* lt__waiter_init - a futex waiter (efd -1) or an eventfd waiter, in state NOTIFIED. */
void lt__waiter_init(struct lt__waiter *w, int efd);

/*
 * lt__waiter_wake - wakes `w` (any thread). The waker must keep the waiter's owner from
 * leaving until it returns: a sequence it saw parked (word SEQ) is touched after the word
 * changed. Channel senders do it by holding the slot CLAIMED; a select's interrupter by its
 * in-wake count (select.c).
 */
void lt__waiter_wake(struct lt__waiter *w);

/* lt__waiter_wake_from - the second half of lt__waiter_wake: `old` is the word it exchanged. */
void lt__waiter_wake_from(struct lt__waiter *w, uint32_t old);

/*
 * lt__waiter_park - parks a futex waiter until woken or `deadline_ns`. Returns at once if the
 * word is no longer ARMED. May return spuriously; the caller re-checks its condition. Leaves
 * the word NOTIFIED or ARMED. Called by a pooled sequence it suspends the sequence instead
 * (lt__seq_park) and releases the worker.
 */
void lt__waiter_park(struct lt__waiter *w, uint64_t deadline_ns);

/* ---- fibers (fiber.c) ------------------------------------------------------------------------ */

/* The thread side of fiber switches: where a worker's own stack is saved while a fiber runs. */
struct lt__fiber_host {
	void *sp; /* x86_64: saved stack pointer */
#ifndef LT__FIBER_ASM
	ucontext_t uc;
#endif
	void *tsan; /* ThreadSanitizer's fiber of the thread */
};

/* A fiber: a stack and a saved context; runs fn(arg) when first resumed. */
struct lt__fiber {
	void *sp; /* x86_64: saved stack pointer while suspended */
#ifndef LT__FIBER_ASM
	ucontext_t uc;
#endif
	void *map; /* owned mapping: guard page + stack */
	size_t map_size;
	void *stack;                 /* lowest usable byte */
	size_t stack_size;           /* bytes */
	struct lt__fiber_host *host; /* weak: the thread running it now */
	void (*fn)(void *);
	void *arg;
	const void *from_bottom; /* ASan: the host stack it was resumed from */
	size_t from_size;
	void *tsan; /* ThreadSanitizer's fiber */
};

/* lt__fiber_default_stack - LT_POOL_DEFAULT_STACK, larger in sanitizer builds. */
size_t lt__fiber_default_stack(void);

/*
 * lt__fiber_init - maps a stack of `stack_size` bytes (+ guard). LT_EINVAL (0, or so large
 * that page rounding wraps), LT_ENOMEM, LT_ESYS.
 */
enum lt_err lt__fiber_init(struct lt__fiber *f, size_t stack_size, void (*fn)(void *), void *arg);

/* lt__fiber_fini - unmaps the stack of a fiber that exited or never ran. */
void lt__fiber_fini(struct lt__fiber *f);

/* lt__fiber_resume - runs `f` on the calling thread until it suspends or exits. */
void lt__fiber_resume(struct lt__fiber_host *h, struct lt__fiber *f);

/* lt__fiber_suspend - from inside `f`: back to the thread that resumed it. */
void lt__fiber_suspend(struct lt__fiber *f);

/* lt__fiber_exit - from inside `f`: back to its host for good (the host frees the stack). */
__attribute__((noreturn)) void lt__fiber_exit(struct lt__fiber *f);

/* ---- sequences (pool.c) ---------------------------------------------------------------------- */

/*
 * lt__seq_current - the sequence running on the calling thread (a pool worker inside a
 * fiber), or NULL. Not inlined on purpose: a fiber may resume on another worker, so no
 * caller may keep a thread-local address across a suspension; every look goes through here.
 */
struct lt__seq *lt__seq_current(void);

/*
 * lt__seq_park - suspends the current sequence `s` on waiter `w` (word ARMED -> SEQ) until a
 * wake or `deadline_ns`; returns at once if `w` was woken already. Flushes libtrace's kept
 * handler end and emits seq_run_end before the sequence can be woken; the worker is free
 * meanwhile. Leaves the word NOTIFIED or ARMED, like lt__waiter_park.
 */
void lt__seq_park(struct lt__seq *s, struct lt__waiter *w, uint64_t deadline_ns);

/*
 * lt__seq_wake - makes `s` runnable; any thread. A parked `s` is queued after its seq_ready;
 * a running one is marked NOTIFIED and its worker requeues it (and emits the ready) when the
 * turn ends, or drops the mark if the sequence ended.
 */
void lt__seq_wake(struct lt__seq *s);

/* lt__seq_pool - the pool `s` runs on. */
struct lt_pool *lt__seq_pool(const struct lt__seq *s);

/*
 * lt__seq_should_yield - non-zero when `s` ran its batch (LT_POOL_BATCH messages or
 * LT_POOL_SLICE_NS) in this turn and another sequence waits for a worker of its pool.
 * Counts one message.
 */
int lt__seq_should_yield(struct lt__seq *s);

/*
 * lt__seq_turns - how many turns (runs on a worker) `s` has begun. A handler that sees it
 * change across its call was suspended inside (an await): it resumed on a run, maybe on
 * another worker, whose trace does not hold the handler's begin. The sequence's fiber only.
 */
unsigned long lt__seq_turns(const struct lt__seq *s);

/* lt__seq_yield - ends the current turn of `s` with work left (run_end, ready, requeued). */
void lt__seq_yield(struct lt__seq *s);

/*
 * Components as sequences (comp.c <-> pool.c): lt__pool_start_comp creates the sequence of
 * component `c` (its loop lt__comp_seq_main(c) on a fiber), emits seq_begin and makes it
 * ready; *id_out gets the id. lt__pool_comp_done is called when a component stops being the
 * pool's (stopped or destroyed).
 */
enum lt_err lt__pool_start_comp(struct lt_pool *p, struct lt_comp *c, const char *name,
				struct lt__seq **out, uint32_t *id_out);
void lt__pool_comp_attach(struct lt_pool *p);
void lt__pool_comp_detach(struct lt_pool *p);
void lt__seq_free(struct lt__seq *s);
/* lt__seq_wait_done - blocks until the fiber of `s` returned (its loop ended). */
void lt__seq_wait_done(struct lt__seq *s);
void lt__comp_seq_main(struct lt_comp *c);
void lt__comp_set_self(struct lt_comp *c);

/*
 * Asymmetric fence: a Dekker pair "A: store x; load y" against "B: store y; load x" where A
 * runs all the time (the receiver freeing slots) and B rarely (a sender about to park). A puts
 * lt__asym_fence_light between its store and its load -- a compiler barrier only -- and B calls
 * lt__asym_fence_heavy, which makes every running thread of the process execute a full memory
 * barrier (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)) before it returns: either A's store is
 * visible to B's load, or A's load comes after that barrier and sees B's store. Where the
 * kernel lacks membarrier, the light half falls back to a sequentially consistent
 * read-modify-write and the heavy half does nothing.
 *
 * lt__asym_fence_init - registers the process for expedited membarrier (once; called before
 * the first channel that needs it is used).
 * lt__asym_fence_light - the light half, reading `y`: returns its value.
 * lt__asym_fence_heavy - the heavy half (after B's store, before B's load).
 */
void lt__asym_fence_init(void);
void lt__asym_fence_heavy(void);
extern int lt__asym_fence_fast; /* 1: membarrier is registered (set once by init) */

static inline uint32_t lt__asym_fence_light(_Atomic uint32_t *y)
{
	if (__builtin_expect(lt__asym_fence_fast, 1)) {
		atomic_signal_fence(memory_order_seq_cst);
		return atomic_load_explicit(y, memory_order_relaxed);
	}
	return atomic_fetch_add(y, 0);
}

/* lt__futex_wait - futex wait while *addr == val, until deadline_ns (absolute, monotonic). */
void lt__futex_wait(_Atomic uint32_t *addr, uint32_t val, uint64_t deadline_ns);

/* lt__futex_wake - wakes up to n threads waiting on addr. */
void lt__futex_wake(_Atomic uint32_t *addr, int n);

/* lt__cpu_relax - a pause instruction (or a compiler barrier where there is none). */
static inline void lt__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/*
 * lt__backoff - one step of a short wait for another thread that is in the middle of an
 * update (a sender writing a claimed slot, linking a block, or waking a waiter): pause for
 * the first 64 steps, then yield (that thread may have been preempted on this CPU).
 */
static inline void lt__backoff(unsigned *spins)
{
	if (++*spins > 64)
		sched_yield();
	else
		lt__cpu_relax();
}

/* lt__set_thread_name - names the calling thread (truncated to the kernel's 15 bytes). */
void lt__set_thread_name(const char *name);

/*
 * Spinning before parking. A receiver that found its channels empty spins up to
 * LT__RECV_SPIN rounds of four pause instructions (about 25 us here: longer than a futex
 * wakeup of a parked partner, so a ping-pong that parked once returns to spinning), calling
 * sched_yield every LT__SPIN_YIELD_EVERY rounds so that a sender sharing this core (more busy
 * threads than cores) gets to run -- every round when the last sender ran on its own CPU --
 * then parks. A sender that found the channel full waits LT__SEND_SPIN rounds of
 * LT__SEND_BACKOFF pauses between looks at the slot it waits for (each look takes that line
 * from the receiver) -- or yields at once when the receiver shares its CPU -- and yields
 * LT__SEND_YIELDS times before parking. A select (and so every component loop) spins only
 * LT__SELECT_SPIN rounds: an idle component should not burn a core after each message.
 */
#define LT__RECV_SPIN        256
#define LT__RECV_YIELDS      0
#define LT__SELECT_SPIN      32
#define LT__SPIN_YIELD_EVERY 8
#define LT__SEND_SPIN        32
#define LT__SEND_BACKOFF     16
#define LT__SEND_YIELDS      4

/* lt__spin_step - one step of a spin phase; returns 0 once the caller should park. */
int lt__spin_step(unsigned *step, unsigned spin, unsigned yields);

/*
 * lt__chan_pop - the receiver's dequeue without events: LT_OK with *msg and *info (chan
 * filled) and *depth (queue length after), LT_EAGAIN (empty, open) or LT_ECLOSED (closed and
 * empty). Wakes a parked sender when there is one. Receiver only.
 */
enum lt_err lt__chan_pop(struct lt_chan *ch, void **msg, struct lt_msg_info *info, uint32_t *depth);

/* lt__chan_poll - non-zero if a pop would not return LT_EAGAIN (data, a send in flight, closed). */
int lt__chan_poll(struct lt_chan *ch);

/*
 * lt__chan_register / lt__chan_unregister - makes `w` the waiter senders wake / withdraws it
 * (waiting while a sender is waking it). Receiver only.
 */
void lt__chan_register(struct lt_chan *ch, struct lt__waiter *w);
void lt__chan_unregister(struct lt_chan *ch, struct lt__waiter *w);

/*
 * lt__chan_attach / lt__chan_detach - marks the channel as taken by one select or router
 * route (LT_EBUSY if already taken) / releases it.
 */
enum lt_err lt__chan_attach(struct lt_chan *ch);
void lt__chan_detach(struct lt_chan *ch);

/*
 * lt__select_wait - lt_select_wait; a wait is recorded as a chan_recv block at call site
 * `where`, or, with `where` NULL, not at all (a component's top-of-loop wait, reported as
 * wait_begin/wait_end by the caller). With `depth_out` not NULL the receive is not recorded
 * either: *depth_out gets the depth after it, and the caller records it (lt__handle_next).
 */
struct lt_select;
enum lt_err lt__select_wait(struct lt_select *sel, uint64_t deadline_ns, size_t *index_out,
			    void **msg, struct lt_msg_info *info, const void *where,
			    uint32_t *depth_out);

/*
 * The receiving side of IPC frames (ipc.c, used by the router's IPC routes). A reader holds
 * the bytes read but not yet cut into frames: buf[off .. off + len).
 */
struct lt__ipc_reader {
	unsigned char *buf; /* owned; grows to the largest frame seen */
	size_t cap;         /* bytes allocated */
	size_t off, len;    /* bytes: start and length of the unparsed data */
};

struct lt__ipc_frame {
	uint64_t msg, flow; /* the sender's ids */
	uint32_t len;       /* payload bytes */
	void *data;         /* owned by the receiver of the frame (malloc'ed, never NULL) */
};

/*
 * lt__ipc_fill - one read() from fd into rd (retried on EINTR). LT_OK: bytes read, or none
 * ready (EAGAIN); LT_ECLOSED: end of file; LT_ESYS; LT_ENOMEM (first buffer).
 */
enum lt_err lt__ipc_fill(struct lt__ipc_reader *rd, int fd);

/*
 * lt__ipc_next - cuts the next whole frame out of rd into *f. LT_EAGAIN: not whole yet (the
 * buffer is grown to hold it); LT_EPROTO (bad magic), LT_EMSGSIZE (too large), LT_ENOMEM.
 */
enum lt_err lt__ipc_next(struct lt__ipc_reader *rd, struct lt__ipc_frame *f);

/* lt__ipc_reader_fini - frees rd's buffer. */
void lt__ipc_reader_fini(struct lt__ipc_reader *rd);

#pragma GCC visibility pop

#endif /* LT_RT_INTERNAL_H */
