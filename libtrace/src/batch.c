/*
 * batch.c - liblooptrace's per-thread record rings and their flushes (see batch.h and
 * docs/event-model.md, "Format 2.0: records").
 */
#define _GNU_SOURCE
#include "batch.h"
#define LT_BUILDING_LIBLOOPTRACE
#include "looptrace/trace.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

LT_HIDDEN LT_TLS struct lt_ring *lt__ring;
LT_HIDDEN int lt__clock_kind = LT_REC_CLOCK_NS;

static void install_fatal_handlers(void);
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct lt_ring *reg_head; /* every ring ever made: pushed under reg_mu, read atomically */
static pthread_key_t ring_key;
static int flusher_running; /* under reg_mu; 0 again in a fork child */
static uint64_t epoch[2];   /* (clock, CLOCK_MONOTONIC ns) read when the first ring was made */
/* The largest batch, in words: a quarter of LTTng's sub-buffer (LOOPTRACE_SUBBUF_SIZE, set by
 * `looptrace record`) less room for the event's header and fields, at most the ring. */
static uint32_t batch_max = LT_BATCH_WORDS;

/*
 * calibrate - the record clock and CLOCK_MONOTONIC read together: out[0] clock, out[1] ns. Of
 * three tries the tightest bracket is kept: an interrupt between the reads once put a pair
 * ~400 ns off, which tilts the decoder's mapping by 2 % over a short segment between two pairs
 * (the mean over a trace is not biased: the segments' errors cancel).
 */
static void calibrate(uint64_t out[2])
{
	uint64_t best = UINT64_MAX;

	if (lt__clock_kind == LT_REC_CLOCK_NS) {
		out[0] = out[1] = lt__mono_ns();
		return;
	}
	for (int i = 0; i < 3; i++) {
		uint64_t a = lt__now(), ns = lt__mono_ns(), b = lt__now();

		if (b - a < best) {
			best = b - a;
			out[0] = a + (b - a) / 2;
			out[1] = ns;
		}
	}
}

uint64_t lt__thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void ring_lock(struct lt_ring *r)
{
	while (atomic_exchange_explicit(&r->lock, 1, memory_order_acquire))
		sched_yield();
}

static int ring_trylock(struct lt_ring *r)
{
	return !atomic_exchange_explicit(&r->lock, 1, memory_order_acquire);
}

static void ring_unlock(struct lt_ring *r)
{
	atomic_store_explicit(&r->lock, 0, memory_order_release);
}

/*
 * The bracket: a handler's traced bounds are two record-clock reads around the runtime's call
 * of the handler, and the reads themselves, the begin record's stores, the returns and calls
 * between them fall inside, as an empty handler shows. bracket_ticks measures that on the
 * same kind of path (an ordered begin read and stores in one function, an indirect call of an
 * empty function, an end read in another; each noinline), the smallest of 256 tries, once per
 * process; every batch carries it (field `bracket`), and the decoder ends each handler
 * that much earlier (docs/event-model.md, "A handler's bounds"). The runtime's real path
 * (calls through the PLT between liblooptrace-rt and liblooptrace, its checks) costs a little
 * more: the figure errs on the side of the handler.
 */
static uint64_t bracket; /* ticks; 0 until measured (reg_mu) */

static __attribute__((noinline)) uint64_t bracket_begin(uint64_t *w)
{
	uint64_t t = lt__now_ordered(); /* as a handler's begin */

	w[0] = t;
	w[1] = t ^ 1;
	atomic_store_explicit((_Atomic uint64_t *)&w[2], t, memory_order_release);
	return t;
}

static __attribute__((noinline)) void bracket_empty(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

static __attribute__((noinline)) uint64_t bracket_end(void)
{
	return lt__now();
}

static void (*volatile bracket_call)(void *) = bracket_empty;

static uint64_t bracket_ticks(void)
{
	uint64_t w[3], best = UINT64_MAX;

	for (int i = 0; i < 256; i++) {
		uint64_t t0 = bracket_begin(w);

		bracket_call(w);
		uint64_t t1 = bracket_end();
		if (t1 - t0 < best)
			best = t1 - t0;
	}
	return best == UINT64_MAX ? 0 : best;
}

/*
 * flush_locked - hands the ring's complete records to LTTng, as one batch event per
 * contiguous run of words (records never straddle the ring's end: see PAD). Lock held.
 * `owner`: the ring's own thread flushes, and knows the clock and count of its records (last,
 * nrec; wrap_last, wrap_nrec at the end of a lap) without walking them; another thread walks
 * them.
 */
static void flush_locked(struct lt_ring *r, int owner)
{
	uint64_t h = atomic_load_explicit(&r->head_pub, memory_order_acquire);
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t cal[5];

	if (t == h)
		return;
	calibrate(cal);
	cal[2] = epoch[0];
	cal[3] = epoch[1];
	cal[4] = bracket;
	while (t < h) {
		uint32_t off = (uint32_t)(t & (LT_BATCH_WORDS - 1));
		uint32_t n =
		    (uint32_t)(h - t < LT_BATCH_WORDS - off ? h - t : LT_BATCH_WORDS - off);
		uint64_t clk = r->base, count = 0;
		uint32_t i = 0;

		if (owner && n <= batch_max) {
			/* to the head, or to the end of the lap (its PAD) */
			clk = t + n == h ? r->last : r->wrap_last;
			count = (t + n == h ? r->nrec : r->wrap_nrec) - r->records;
			i = n;
		}
		while (i < n) {
			uint64_t w0 = r->w[off + i];
			unsigned len = lt_rec_words(w0);

			if (len == 0 || i + len > n) { /* cannot happen: our own records */
				i = n;
				break;
			}
			if (i > 0 && i + len > batch_max)
				break; /* the batch is full: the rest goes in the next one */
			if (lt_rec_kind(w0) == LT_REC_SYNC)
				clk = r->w[off + i + 1];
			else
				clk += lt_rec_delta(w0);
			if (lt_rec_kind(w0) != LT_REC_PAD)
				count++;
			i += len;
		}
		n = i;
		lt__emit_batch(r->tid, r->seq++, r->records, (uint32_t)lt__clock_kind, r->base, cal,
			       &r->w[off], n);
		r->records += count;
		r->base = clk;
		t += n;
		atomic_store_explicit(&r->tail, t, memory_order_release);
	}
	atomic_store_explicit(&r->flushed_ns, cal[1], memory_order_relaxed);
}

void lt__ring_flush(struct lt_ring *r)
{
	ring_lock(r);
	flush_locked(r, 1);
	ring_unlock(r);
	r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
}

/* ------------------------------------------------------------------------------------ */
/* the flusher thread */

static void *flusher_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec d = {0, LT_BATCH_FLUSH_MS * 1000000L / 2};

		nanosleep(&d, NULL);
		uint64_t now = lt__mono_ns();

		pthread_mutex_lock(&reg_mu);
		for (struct lt_ring *r = reg_head; r; r = r->next) {
			if (r->dead)
				continue;
			if (atomic_load_explicit(&r->head_pub, memory_order_acquire) ==
			    atomic_load_explicit(&r->tail, memory_order_relaxed))
				continue;
			if (now - atomic_load_explicit(&r->flushed_ns, memory_order_relaxed) <
			    LT_BATCH_FLUSH_MS * 1000000ull)
				continue;
			if (ring_trylock(r)) {
				flush_locked(r, 0);
				ring_unlock(r);
			}
		}
		pthread_mutex_unlock(&reg_mu);
	}
	return NULL;
}

/* start_flusher - starts the process's flusher thread (reg_mu held), signals blocked. */
static void start_flusher(void)
{
	pthread_t t;
	pthread_attr_t attr;
	sigset_t all, old;

	if (flusher_running)
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	if (pthread_create(&t, &attr, flusher_main, NULL) == 0) {
		flusher_running = 1;
		pthread_setname_np(t, "looptrace-flush");
	}
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* ------------------------------------------------------------------------------------ */
/* rings */

static void ring_forget_keys(struct lt_ring *r)
{
	for (unsigned i = 0; i < LT_BATCH_KEYS; i++) {
		free(r->keys[i].copy);
		r->keys[i] = (struct lt_key_slot){0};
	}
	r->nkeys = 0;
}

/* ring_reset - an empty ring for thread `tid` (its lock held, or no other thread about). */
static void ring_reset(struct lt_ring *r, uint32_t tid)
{
	r->head = r->tail_cache = 0;
	atomic_store(&r->head_pub, 0);
	atomic_store(&r->tail, 0);
	r->records = r->nrec = r->wrap_nrec = 0;
	r->seq = 0;
	r->tid = tid;
	r->last = r->base = r->wrap_last = lt__now();
	atomic_store(&r->flushed_ns, lt__mono_ns());
}

/* thread exit: flush; the ring goes back to the registry for the next thread. */
static void ring_destroy(void *p)
{
	struct lt_ring *r = p;

	if (lt__ring == r)
		lt__ring = NULL;
	lt__ring_flush(r);
	ring_forget_keys(r);
	pthread_mutex_lock(&reg_mu);
	r->dead = 1;
	pthread_mutex_unlock(&reg_mu);
}

struct lt_ring *lt__ring_new(void)
{
	struct lt_ring *r;
	uint32_t tid = (uint32_t)gettid();

	pthread_mutex_lock(&reg_mu);
	if (!epoch[1]) {
		calibrate(epoch);
		bracket = bracket_ticks();
	}
	for (r = reg_head; r && !r->dead; r = r->next)
		;
	if (r) { /* a dead thread's ring: empty, flushed */
		ring_lock(r);
		ring_reset(r, tid);
		ring_unlock(r);
		r->dead = 0;
	} else {
		r = calloc(1, sizeof(*r));
		if (r)
			r->w = malloc(LT_BATCH_WORDS * sizeof(uint64_t));
		if (!r || !r->w) {
			pthread_mutex_unlock(&reg_mu);
			free(r);
			return NULL;
		}
		ring_reset(r, tid);
		r->next = reg_head;
		__atomic_store_n(&reg_head, r, __ATOMIC_RELEASE);
	}
	if (!flusher_running)
		install_fatal_handlers(); /* once per process (and again in a fork child) */
	start_flusher();
	pthread_mutex_unlock(&reg_mu);
	pthread_setspecific(ring_key, r);
	lt__ring = r;
	return r;
}

void lt__ring_reserve(struct lt_ring *r, unsigned need)
{
	for (;;) {
		uint32_t off = (uint32_t)(r->head & (LT_BATCH_WORDS - 1));

		if (r->head + need - r->tail_cache > LT_BATCH_WORDS)
			r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (r->head + need - r->tail_cache > LT_BATCH_WORDS) {
			lt__ring_flush(r); /* full: drain it */
			continue;
		}
		if (off + need >= LT_BATCH_WORDS) { /* pad to the end: records never wrap */
			uint32_t pad = LT_BATCH_WORDS - off;

			if (r->head + pad - r->tail_cache > LT_BATCH_WORDS) {
				lt__ring_flush(r);
				continue;
			}
			r->w[off] = lt_rec_w0(LT_REC_PAD, 0, pad);
			r->wrap_last = r->last;
			r->wrap_nrec = r->nrec;
			r->head += pad; /* not a record: nrec stays */
			atomic_store_explicit(&r->head_pub, r->head, memory_order_release);
			continue;
		}
		return;
	}
}

uint64_t *lt__rec_slow(struct lt_ring *r, unsigned n, unsigned kind, uint32_t a, uint64_t now)
{
	uint64_t d;
	uint32_t off;

	if ((int64_t)(now - r->last) < 0)
		now = r->last; /* a clock read on another CPU, a hair behind: keep order */
	d = now - r->last;
	lt__ring_reserve(r, n + (d > LT_REC_DELTA_MAX ? 2 : 0));
	off = (uint32_t)(r->head & (LT_BATCH_WORDS - 1));
	if (d > LT_REC_DELTA_MAX) {
		r->w[off] = lt_rec_w0(LT_REC_SYNC, 0, 0);
		r->w[off + 1] = now;
		lt__rec_commit(r, 2);
		off += 2;
		d = 0;
	}
	r->last = now;
	r->w[off] = lt_rec_w0(kind, d, a);
	return &r->w[off];
}

/* put_str - packs s (len bytes) into words at p, NUL-padded. */
static void put_str(uint64_t *p, const char *s, uint32_t len)
{
	unsigned nw = lt_rec_str_words(len);

	if (nw)
		p[nw - 1] = 0;
	memcpy(p, s, len);
}

uint32_t lt__key_slow(struct lt_ring *r, uint32_t chan, const char *kind)
{
	uint64_t h =
	    ((uint64_t)(uintptr_t)kind ^ chan * 0x9e3779b97f4a7c15ull) * 0xff51afd7ed558ccdull;
	struct lt_key_slot *s = &r->keys[(h >> 40) & (LT_BATCH_KEYS - 1)];
	size_t len = strlen(kind);
	char *copy;

	if (len > LT_REC_STR_MAX)
		len = LT_REC_STR_MAX;
	if (r->nkeys >= LT_BATCH_KEYS_USED) /* keys are reused: forget every slot */
		ring_forget_keys(r);
	copy = strndup(kind, len);
	free(s->copy);
	*s = (struct lt_key_slot){
	    .ptr = copy ? kind : NULL, .copy = copy, .chan = chan, .key = r->nkeys++};
	if (!copy)
		s->copy = NULL;

	unsigned n = 2 + lt_rec_str_words((uint32_t)len);
	uint64_t *p = lt__rec(r, n, LT_REC_DEF_KEY, s->key | (uint32_t)len << 12, lt__now());

	p[1] = chan;
	put_str(p + 2, kind, (uint32_t)len);
	lt__rec_commit(r, n);
	return s->key;
}

void lt__ring_park(struct lt_ring *r)
{
	uint64_t used = r->head - atomic_load_explicit(&r->tail, memory_order_relaxed);

	/* Cheap enough to do at most ~1000 times a second per thread, or when a quarter full. */
	if (used >= LT_BATCH_WORDS / 4 ||
	    lt__mono_ns() - atomic_load_explicit(&r->flushed_ns, memory_order_relaxed) >= 1000000u)
		lt__ring_flush(r);
	if (!__atomic_load_n(&flusher_running, __ATOMIC_RELAXED)) { /* after a fork */
		pthread_mutex_lock(&reg_mu);
		start_flusher();
		pthread_mutex_unlock(&reg_mu);
	}
}

/* lt__flush_thread - see trace.h. */
__attribute__((visibility("default"))) void lt__flush_thread(void)
{
	if (lt__ring)
		lt__ring_flush(lt__ring);
}

/* ------------------------------------------------------------------------------------ */
/* process life */

static void atfork_prepare(void)
{
	pthread_mutex_lock(&reg_mu);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&reg_mu);
}

/* In the child only this thread exists: the other threads' rings are dead (their records
 * belong to the parent, which flushes them); this one restarts empty. */
static void atfork_child(void)
{
	struct lt_ring *me = lt__ring;

	for (struct lt_ring *r = reg_head; r; r = r->next) {
		atomic_store(&r->lock, 0); /* a parent thread may have been flushing it */
		ring_reset(r, r == me ? (uint32_t)gettid() : 0);
		if (r != me && !r->dead) {
			ring_forget_keys(r);
			r->dead = 1;
		}
	}
	flusher_running = 0;
	pthread_mutex_unlock(&reg_mu);
}

__attribute__((constructor)) static void batch_init(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;

	/* Invariant TSC (CPUID 0x80000007 EDX bit 8): constant rate, runs in every C-state. */
	if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000007 &&
	    __get_cpuid(0x80000007, &a, &b, &c, &d) && (d & (1u << 8))) {
		const char *env = getenv("LOOPTRACE_CLOCK");

		if (!env || strcmp(env, "monotonic") != 0)
			lt__clock_kind = LT_REC_CLOCK_TSC;
	}
#endif
	const char *sb = getenv("LOOPTRACE_SUBBUF_SIZE");
	if (sb) {
		long long bytes = atoll(sb);
		long long words = (bytes / 4 - 256) / 8;

		batch_max = words < 32               ? 32
			    : words > LT_BATCH_WORDS ? LT_BATCH_WORDS
						     : (uint32_t)words;
	}
	pthread_key_create(&ring_key, ring_destroy);
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/*
 * flush_all - hands every ring's records to LTTng. The registry is walked without its mutex
 * (rings are never unlinked nor freed). From a signal handler (`in_signal`) it takes no lock
 * it could wait for: a ring being flushed (by another thread, or by the interrupted code of
 * this one) is left as it is.
 */
static void flush_all(int in_signal)
{
	for (struct lt_ring *r = __atomic_load_n(&reg_head, __ATOMIC_ACQUIRE); r; r = r->next) {
		if (in_signal) {
			if (!ring_trylock(r))
				continue;
		} else {
			ring_lock(r);
		}
		flush_locked(r, 0);
		ring_unlock(r);
	}
}

/*
 * lt__flush_all - every thread's records out now: called by the probe provider's destructor
 * (before it unregisters from LTTng-UST, which happens before liblooptrace's own destructor at
 * exit) and by liblooptrace's destructor.
 */
__attribute__((visibility("default"))) void lt__flush_all(void);
void lt__flush_all(void)
{
	flush_all(0);
}

/*
 * Fatal signals. A program killed by a signal whose default action ends it (a crash, abort(),
 * SIGTERM, SIGINT, ...) would lose the records not flushed yet. So, when the first ring is
 * made, each of these signals still at its default action (never one the program ignores or
 * handles itself, and none when LOOPTRACE_SIGNAL_HANDLERS=0) gets on_fatal: it flushes every
 * ring, puts the default action back and lets the signal end the program as it would have:
 *   - a fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE sent by the kernel for an instruction,
 *     si_code > 0): the handler returns, the instruction faults again under the default
 *     action, and the program dies with the fault's own siginfo and a core dump;
 *   - any other (sent by kill, raise, abort, the terminal): raised again in this thread, where
 *     it stays blocked until the handler returns, then ends the program (a core dump too for
 *     those whose default action makes one: SIGABRT, SIGQUIT, ...).
 * The handler is async-signal-safe: it takes no lock it could wait for (flush_all), calls
 * clock_gettime, LTTng-UST's tracepoint (lock-free, safe in signal handlers), sigaction and
 * raise; the other fatal signals are blocked while it runs; errno is kept. SIGKILL cannot be
 * caught: a program killed by it loses each thread's records of at most the last
 * LT_BATCH_FLUSH_MS (plus the flusher's own delay), docs/event-model.md.
 */
static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
				    SIGTERM, SIGINT, SIGHUP, SIGQUIT};

static void on_fatal(int sig, siginfo_t *info, void *uctx)
{
	int saved = errno;
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	int fault = (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) && info &&
		    info->si_code > 0;

	(void)uctx;
	flush_all(1);
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	if (!fault)
		raise(sig); /* delivered when this handler returns (it is blocked in it) */
	errno = saved;
}

static void install_fatal_handlers(void)
{
	const char *env = getenv("LOOPTRACE_SIGNAL_HANDLERS");
	struct sigaction sa = {.sa_sigaction = on_fatal};

	if (env && strcmp(env, "0") == 0)
		return;
	sigemptyset(&sa.sa_mask);
	for (unsigned i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
		sigaddset(&sa.sa_mask, fatal_signals[i]);
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	for (unsigned i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++) {
		struct sigaction old;

		if (sigaction(fatal_signals[i], NULL, &old) != 0 || (old.sa_flags & SA_SIGINFO) ||
		    old.sa_handler != SIG_DFL)
			continue; /* ignored (SIG_IGN) or handled by the program: left alone */
		sigaction(fatal_signals[i], &sa, NULL);
	}
}

/* Process exit: every ring's records go out (the main thread's has no key destructor). */
__attribute__((destructor)) static void batch_fini(void)
{
	flush_all(0);
}
