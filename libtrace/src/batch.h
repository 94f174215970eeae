/*
 * batch.h - internal to liblooptrace: per-thread record rings (trace format 2.0).
 *
 * While a session enables `looptrace:batch`, each lt_* call appends a compact record
 * (looptrace/probes/records.h) to its thread's ring instead of writing an LTTng event. The
 * ring is single-producer (its thread); it is drained (flushed: its records handed to LTTng
 * as `looptrace:batch` events) by its own thread when the ring fills, when the thread parks
 * (lt_wait_begin) and at component_end, thread exit and process exit, and by the process's
 * flusher thread for any ring holding records not flushed for LT_BATCH_FLUSH_MS. Flushes of
 * one ring are serialized by its lock; appends never take it.
 */
#ifndef LT_BATCH_H
#define LT_BATCH_H

#include "looptrace/probes/records.h"

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#define LT_HIDDEN __attribute__((visibility("hidden")))
#define LT_TLS    __thread __attribute__((tls_model("initial-exec")))

#define LT_BATCH_WORDS     2048 /* ring capacity: 16 KiB, also the largest batch event */
#define LT_BATCH_FLUSH_MS  10   /* the flusher drains records older than this */
#define LT_BATCH_KEYS      512  /* handler-key cache slots (keys 0..LT_BATCH_KEYS_USED-1) */
#define LT_BATCH_KEYS_USED 384

struct lt_key_slot {
	const char *ptr; /* weak: the caller's kind pointer (NULL: free slot) */
	char *copy;      /* owned: its content when interned */
	uint32_t chan;
	uint32_t key;
};

struct lt_ring {
	/* owner (the thread) */
	uint64_t *w;         /* owned, LT_BATCH_WORDS words */
	uint64_t head;       /* words written */
	uint64_t tail_cache; /* a recent value of tail */
	uint64_t last;       /* clock of the last record written */
	uint64_t nrec;       /* records written (PAD excluded) */
	uint64_t wrap_last;  /* last and nrec when the latest PAD closed a lap of the ring */
	uint64_t wrap_nrec;
	uint32_t nkeys;
	struct lt_key_slot keys[LT_BATCH_KEYS];
	/* shared */
	_Atomic uint64_t head_pub;   /* head, published (release) after a record is complete */
	_Atomic uint64_t tail;       /* words flushed (release after the event is written) */
	_Atomic int lock;            /* flushes of this ring */
	_Atomic uint64_t flushed_ns; /* CLOCK_MONOTONIC of the last flush */
	/* consumer (under lock) */
	uint64_t base;    /* clock of the last flushed record */
	uint64_t records; /* records flushed */
	uint32_t seq;     /* batches flushed */
	uint32_t tid;
	/* registry: rings are never freed while the process lives; a ring whose thread ended
	 * (dead, under the registry mutex) is taken again by the next thread that records, so
	 * the list can be walked without the mutex (a fatal-signal handler does) */
	struct lt_ring *next; /* set once, before the ring is published */
	int dead;
};

extern LT_HIDDEN LT_TLS struct lt_ring *lt__ring;
extern LT_HIDDEN int lt__clock_kind; /* LT_REC_CLOCK_TSC or LT_REC_CLOCK_NS */

static inline uint64_t lt__mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* lt__now - the record clock: the TSC when it is invariant, else CLOCK_MONOTONIC ns. */
static inline uint64_t lt__now(void)
{
#if defined(__x86_64__) || defined(__i386__)
	if (__builtin_expect(lt__clock_kind == LT_REC_CLOCK_TSC, 1))
		return __rdtsc();
#endif
	return lt__mono_ns();
}

/*
 * lt__now_ordered - the record clock read after every load before it has completed: a
 * handler's begin (the runtime's dequeue may still wait for a cross-core miss, which a plain
 * rdtsc would run ahead of; docs/event-model.md, "A handler's bounds"). The order costs a
 * pipeline drain (~15 ns here): a thread's begins are ordered only while its last handler took
 * at least LT_ORDER_MIN_TICKS (trace.c), where that cost is small beside the handler and the
 * few tens of ns it corrects matter.
 */
#define LT_ORDER_MIN_TICKS 512 /* record-clock ticks: ~210 ns at a 2.4 GHz TSC, 512 ns */
static inline uint64_t lt__now_ordered(void)
{
#if defined(__x86_64__) || defined(__i386__)
	if (__builtin_expect(lt__clock_kind == LT_REC_CLOCK_TSC, 1)) {
		_mm_lfence();
		return __rdtsc();
	}
#endif
	return lt__mono_ns();
}

LT_HIDDEN struct lt_ring *lt__ring_new(void);
/* lt__ring_reserve - makes room for a record of up to n words at the head (pads the lap,
 * drains the ring when full) without writing one. */
LT_HIDDEN void lt__ring_reserve(struct lt_ring *r, unsigned n);
LT_HIDDEN uint64_t *lt__rec_slow(struct lt_ring *r, unsigned n, unsigned kind, uint32_t a,
				 uint64_t now);
LT_HIDDEN void lt__ring_flush(struct lt_ring *r); /* by its owner */
LT_HIDDEN void lt__ring_park(struct lt_ring *r);  /* the owner is about to sleep */
LT_HIDDEN uint32_t lt__key_slow(struct lt_ring *r, uint32_t chan, const char *kind);
LT_HIDDEN uint64_t lt__thread_cpu_ns(void);
/* lt__emit_batch - writes one looptrace:batch event (trace.c, where the tracepoints live). */
LT_HIDDEN void lt__emit_batch(uint32_t tid, uint32_t seq, uint64_t first, uint32_t clock,
			      uint64_t base, const uint64_t cal[5], const uint64_t *words,
			      uint32_t n);

/*
 * lt__rec - room for a record of n words of `kind` at time `now`, word 0 written; the caller
 * fills words 1..n-1 and calls lt__rec_commit(r, n). No record ends on the ring's last word:
 * each lap of the ring closes with a PAD (lt__rec_slow), where the owner notes the clock and
 * record count (wrap_last, wrap_nrec), so that its own flushes need not walk the records.
 */
static inline uint64_t *lt__rec(struct lt_ring *r, unsigned n, unsigned kind, uint32_t a,
				uint64_t now)
{
	uint64_t d = now - r->last;
	uint32_t off = (uint32_t)(r->head & (LT_BATCH_WORDS - 1));

	if (__builtin_expect(d > LT_REC_DELTA_MAX || off + n >= LT_BATCH_WORDS ||
				 r->head + n - r->tail_cache > LT_BATCH_WORDS,
			     0))
		return lt__rec_slow(r, n, kind, a, now);
	r->last = now;
	r->w[off] = lt_rec_w0(kind, d, a);
	return &r->w[off];
}

/* lt__rec_fits - whether a record of n words (a SYNC before it included) fits at the head as
 * it is: lt__rec then neither pads nor drains the ring. */
static inline int lt__rec_fits(const struct lt_ring *r, unsigned n)
{
	uint32_t off = (uint32_t)(r->head & (LT_BATCH_WORDS - 1));

	return off + n < LT_BATCH_WORDS && r->head + n - r->tail_cache <= LT_BATCH_WORDS;
}

static inline void lt__rec_commit(struct lt_ring *r, unsigned n)
{
	r->head += n;
	r->nrec++;
	atomic_store_explicit(&r->head_pub, r->head, memory_order_release);
}

/*
 * lt__key - the handler key (chan, kind) of this thread, defined (DEF_KEY, at the time of its
 * own clock read) on first use. Called before the clock read of the record that uses it, so
 * that a handler's begin is read after the lookup: its cost is not counted in the handler.
 */
static inline uint32_t lt__key(struct lt_ring *r, uint32_t chan, const char *kind)
{
	uint64_t h =
	    ((uint64_t)(uintptr_t)kind ^ chan * 0x9e3779b97f4a7c15ull) * 0xff51afd7ed558ccdull;
	struct lt_key_slot *s = &r->keys[(h >> 40) & (LT_BATCH_KEYS - 1)];

	if (__builtin_expect(s->ptr == kind && s->chan == chan, 1) &&
	    __builtin_strcmp(s->copy, kind) == 0)
		return s->key;
	return lt__key_slow(r, chan, kind);
}

#endif /* LT_BATCH_H */
