/*
 * trace.c - liblooptrace: id allocation and one record per lt_* call: appended to the thread's
 * ring while a session enables `looptrace:batch` (format 2.0, batch.c), else one LTTng-UST
 * tracepoint per call (formats 1.x).
 *
 * This is the only translation unit of liblooptrace that defines the tracepoints: it includes
 * the provider header with LTTNG_UST_TRACEPOINT_DEFINE and
 * LTTNG_UST_TRACEPOINT_PROBE_DYNAMIC_LINKAGE, so the library links only -ldl and finds
 * LTTng-UST at run time. Until a probe provider (liblooptrace-probes) is loaded and a session
 * enables an event, each call tests one word and branches past the event (the id allocators
 * still run). Built with LOOPTRACE_WITH_LTTNG=OFF (LT_WITH_LTTNG undefined) no LTTng header is
 * used at all and the calls only allocate ids.
 */
#define _GNU_SOURCE
#define LT_BUILDING_LIBLOOPTRACE /* the exported lt_send/lt_recv, not the inline fast path */
#include "looptrace/trace.h"
#include "looptrace/events.h"
#include "looptrace/reasons.h"

#include "flight.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>
#include <time.h>

static uint64_t msg_tag; /* the process's message tag: see msg_base */

#ifdef LT_WITH_LTTNG
#define LTTNG_UST_TRACEPOINT_DEFINE
#define LTTNG_UST_TRACEPOINT_PROBE_DYNAMIC_LINKAGE
#define LTTNG_UST_TRACEPOINT_HIDDEN_DEFINITION /* tracepoint state: direct, not via the GOT */
#include "looptrace/probes/looptrace-tp.h"
#include "registry.h" /* probes/src: shared with the provider copies */
#include "batch.h"

#include <dlfcn.h>

#define LT_EVENT(...)    lttng_ust_tracepoint(looptrace, __VA_ARGS__)
#define LT_ENABLED(name) lttng_ust_tracepoint_enabled(looptrace, name)

/*
 * ring - the calling thread's record ring while a session enables `looptrace:batch` (format
 * 2.0: each call appends a record, see batch.h), else NULL: the call writes its own event.
 */
static inline struct lt_ring *ring(void)
{
	struct lt_ring *r;

	if (__builtin_expect(!LT_ENABLED(batch), 1))
		return NULL;
	r = lt__ring;
	if (__builtin_expect(r == NULL, 0))
		r = lt__ring_new();
	return r;
}

void lt__emit_batch(uint32_t tid, uint32_t seq, uint64_t first, uint32_t clock, uint64_t base,
		    const uint64_t cal[5], const uint64_t *words, uint32_t n)
{
	/* c[4]: msg_hi, the tag of the process's message ids (short HNEXT records omit it);
	 * c[5]: the process's bracket (batch.c) */
	const uint64_t c[6] = {cal[0], cal[1], cal[2], cal[3], msg_tag, cal[4]};

	LT_EVENT(batch, tid, seq, first, clock, base, c, words, n);
}
#else
struct lt_ring;
static inline struct lt_ring *ring(void)
{
	return NULL;
}
/* Arguments are evaluated (and optimised away) so builds with and without LTTng see them used. */
static inline void lt_discard(int unused, ...)
{
	(void)unused;
}
#define LT_EVENT(name, ...) lt_discard(0, ##__VA_ARGS__)
#define LT_ENABLED(name)    0
#endif

#define LT_API __attribute__((visibility("default")))

#ifdef LT_WITH_LTTNG
/* Every kind looptrace/events.h lists is a tracepoint of this provider (else: no such member). */
#define LT__KIND_IS_TRACEPOINT(K, name, preload, fields) +LT_ENABLED(name)
static __attribute__((unused)) int lt__kinds_are_tracepoints(void)
{
	return 0 LT_EVENT_KINDS(LT__KIND_IS_TRACEPOINT);
}
#endif

/*
 * The id counters. They live in a page mapped MAP_SHARED at load time, so a child made by
 * fork() without exec shares them with its parent (and its own children): ids taken on either
 * side after the fork are distinct, as if one process took them all. Until the constructor
 * has run (or if the mapping fails) they are the static copy below; exec starts afresh.
 *
 * Message ids (and so flow ids) must also stay apart from other processes' and hosts', with no
 * coordination: next_message starts at a random base drawn once per fork family (msg_base),
 * whose top LT_MSG_TAG_BITS bits (the tag, never 0) are the same for every id the family
 * takes. docs/distributed.md ("Ids across processes") gives the collision odds.
 */
struct lt_ids {
	_Atomic uint32_t next_component;
	_Atomic uint32_t next_channel;
	_Atomic uint32_t next_route;
	_Atomic uint64_t next_message; /* 0: the base is not drawn yet */
};
static struct lt_ids ids_static = {1, 1, 1, 0};
static struct lt_ids *ids = &ids_static; /* weak: ids_static or the shared page */

#define LT_MSG_TAG_SHIFT 48
#define LT_MSG_LOW_MASK  ((UINT64_C(1) << LT_MSG_TAG_SHIFT) - 1)

/*
 * The calling process's message tag (next_message >> 48), cached for the hot path (the short
 * HNEXT record stores the low 48 bits of an id that carries it) and for each batch's
 * `msg_hi`. 0 until the base is drawn: no id carries tag 0, so nothing is taken for local.
 */
static uint64_t msg_tag;

/*
 * msg_draw - a random base for next_message: a non-zero 16-bit tag in bits 48-63 and a start
 * in [1, 2^47) below it, so at least 2^47 ids follow before the low bits would reach the tag.
 * Async-signal-safe (getrandom, or the clock and pid when it fails).
 */
static uint64_t msg_draw(void)
{
	uint64_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = (uint64_t)ts.tv_nsec * UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)getpid() << 32 ^
		    (uint64_t)(uintptr_t)&r ^ (uint64_t)ts.tv_sec;
		r ^= r >> 29;
		r *= UINT64_C(0xbf58476d1ce4e5b9);
		r ^= r >> 32;
	}
	uint64_t tag = r >> LT_MSG_TAG_SHIFT;
	uint64_t start = (r & ((UINT64_C(1) << 47) - 1)) | 1;

	if (tag == 0)
		tag = 1;
	return tag << LT_MSG_TAG_SHIFT | start;
}

/*
 * msg_base - makes sure the message counter of `d` holds a drawn base (slow paths only: block
 * refills and reservations). Async-signal-safe.
 */
static void msg_base(struct lt_ids *d)
{
	uint64_t zero = 0;

	if (__builtin_expect(atomic_load_explicit(&d->next_message, memory_order_relaxed) == 0, 0))
		atomic_compare_exchange_strong(&d->next_message, &zero, msg_draw());
	__atomic_store_n(&msg_tag,
			 atomic_load_explicit(&d->next_message, memory_order_relaxed) >>
			     LT_MSG_TAG_SHIFT,
			 __ATOMIC_RELAXED);
}

/*
 * Thread-locals use the initial-exec TLS model: liblooptrace is linked at startup (never
 * dlopen'ed), so each access is one %fs-relative load instead of a __tls_get_addr call (the
 * default model of a shared library), which matters on the send path (lt_message_new).
 */
#ifndef LT_TLS
#define LT_TLS __thread __attribute__((tls_model("initial-exec")))
#endif

/* The component the calling thread runs (0: none), for component_end. */
static LT_TLS uint32_t current_component;

/*
 * The handler's exact bounds: the trace clock read as lt_handle_begin returns (after its event
 * is written) and as lt_handle_end is entered (before its event), carried by handle_end. The
 * analysis counts the handler from the first to the second, and what writing the events
 * costs as time outside the handler: a traced handler is not reported longer than it ran.
 * LTTng-UST's default trace clock is CLOCK_MONOTONIC, read the same way here.
 */
static LT_TLS uint64_t handle_begin_ts;

static inline uint64_t trace_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * A handler end kept by lt__handle_end_later (pending_msg 0: none), written later. In record
 * mode (pending_rec) pending_end is the record clock and the end becomes an HEND record.
 */
static LT_TLS uint64_t pending_msg, pending_begin, pending_end;
static LT_TLS int pending_rec;

static __attribute__((noinline)) void flush_pending_slow(void)
{
#ifdef LT_WITH_LTTNG
	if (pending_rec) {
		struct lt_ring *r = lt__ring;

		if (r) {
			uint64_t *p = lt__rec(r, 2, LT_REC_HEND, 0, pending_end);

			p[1] = pending_msg;
			lt__rec_commit(r, 2);
		}
	} else {
		LT_EVENT(handle_end, pending_msg, pending_begin, pending_end);
	}
#endif
	pending_msg = 0;
}

static inline void flush_pending(void)
{
	if (__builtin_expect(pending_msg != 0, 0))
		flush_pending_slow();
}

#ifdef LT_WITH_LTTNG
/*
 * rec_named - appends a record of `kind`: word 0, w1, w2, then `name`; and flushes the ring,
 * so that names travel at once (component_begin and channel_declare: rare calls, each its own
 * small batch).
 */
static void rec_named(struct lt_ring *r, unsigned kind, const char *name, uint64_t w1, uint64_t w2)
{
	size_t len = strlen(name);

	if (len > LT_REC_STR_MAX)
		len = LT_REC_STR_MAX;
	unsigned n = 3 + lt_rec_str_words((uint32_t)len);
	uint64_t *p = lt__rec(r, n, kind, (uint32_t)len, lt__now());

	p[1] = w1;
	p[2] = w2;
	if (len) {
		p[n - 1] = 0;
		memcpy(p + 3, name, len);
	}
	lt__rec_commit(r, n);
	lt__ring_flush(r);
}
#endif

#ifdef LT_WITH_LTTNG
/*
 * A handler's bounds in format 2.0 are two record-clock reads, and nothing that the handler's
 * own clock cannot see should fall between them (docs/event-model.md, "A handler's bounds"):
 *  - its begin (lt__handle_next, lt_handle_begin) is read last, after the key lookup and after
 *    room is made in the ring (a flush); only the record's own stores follow it;
 *  - its end (lt__handle_end_later, lt_handle_end) is read first, before any check. A thread
 *    that never had a ring (nothing recorded it) skips the read; 0 then means "read it later".
 * The begin waits for the loads before it (lt__now_ordered: the channel slot's cross-core miss
 * would otherwise fall inside the handler) while the thread's handlers are long enough for
 * that to matter, the end is a plain read. The decoder takes the tracer's own bracket off
 * each handler (the batch field `bracket`, batch.c).
 */
static inline uint64_t handler_end_now(void)
{
	return __builtin_expect(lt__ring != NULL, 1) ? lt__now() : 0;
}

/* The begin of the thread's open handler (record clock), and whether the next begin is read
 * ordered: the last handler took LT_ORDER_MIN_TICKS or more (batch.h, lt__now_ordered). */
static LT_TLS uint64_t rec_begin;
static LT_TLS int order_begin = 1;

static inline uint64_t handler_begin_now(void)
{
	rec_begin = order_begin ? lt__now_ordered() : lt__now();
	return rec_begin;
}

/* handler_ended - the open handler ended at `end` (0: not read): decides the next order. */
static inline void handler_ended(uint64_t end)
{
	if (end)
		order_begin = end - rec_begin >= LT_ORDER_MIN_TICKS;
}
#endif

static const char *const reason_names[LT_BLOCK_REASON_COUNT] = LT_BLOCK_REASON_NAMES;

/* nonnull - a string to record for `s`: never "" (see LT_UNNAMED in trace.h). */
static inline const char *nonnull(const char *s)
{
	return s && s[0] ? s : LT_UNNAMED;
}

LT_API const char *lt_block_reason_name(enum lt_block_reason reason)
{
	unsigned r = (unsigned)reason;
	return r < LT_BLOCK_REASON_COUNT ? reason_names[r] : "unknown";
}

LT_API uint32_t lt_component_begin(const char *name)
{
	uint32_t comp = atomic_fetch_add_explicit(&ids->next_component, 1, memory_order_relaxed);

	current_component = comp;
	LT_FLIGHT_COMPONENT(name);
#ifdef LT_WITH_LTTNG
	struct lt_ring *r = ring();
	if (r) {
		flush_pending();
		rec_named(r, LT_REC_COMP_BEGIN, nonnull(name), comp, lt__thread_cpu_ns());
		return comp;
	}
#endif
	LT_EVENT(component_begin, comp, nonnull(name));
	return comp;
}

LT_API void lt_component_end(void)
{
	flush_pending();
#ifdef LT_WITH_LTTNG
	struct lt_ring *r = ring();
	if (r) {
		uint64_t *p = lt__rec(r, 2, LT_REC_COMP_END, current_component, lt__now());

		p[1] = lt__thread_cpu_ns();
		lt__rec_commit(r, 2);
		lt__ring_flush(r);
		current_component = 0;
		return;
	}
#endif
	LT_EVENT(component_end, current_component);
	current_component = 0;
}

LT_API uint32_t lt_channel_declare_object(const char *name, uint32_t capacity, const void *object)
{
	uint32_t chan = atomic_fetch_add_explicit(&ids->next_channel, 1, memory_order_relaxed);

#ifdef LT_WITH_LTTNG
	struct lt_ring *r = ring();
	if (r) {
		flush_pending();
		rec_named(r, LT_REC_CHAN_DECLARE, nonnull(name), chan | (uint64_t)capacity << 32,
			  (uint64_t)(uintptr_t)object);
		return chan;
	}
#endif
	LT_EVENT(channel_declare, chan, nonnull(name), capacity, (uint64_t)(uintptr_t)object);
	return chan;
}

LT_API uint32_t lt_channel_declare(const char *name, uint32_t capacity)
{
	return lt_channel_declare_object(name, capacity, NULL);
}

/*
 * Message ids are handed out in blocks of LT_MSG_ID_BLOCK per thread: one shared atomic add
 * per block instead of per message, so senders on many threads do not all contend on one
 * cache line (this is on the hot path of every channel send). Ids stay unique and never
 * reused; within a thread they increase (except that an id taken by a signal handler comes
 * from the same block).
 *
 * Async-signal-safe: a signal handler may take ids while its thread is inside lt_message_new.
 *  - The fast path reads the block end, then takes `next` with one read-modify-write that a
 *    signal cannot split (an unlocked xadd on x86-64, a relaxed atomic add elsewhere): each
 *    value of `next` goes to exactly one caller, and a caller keeps it only if it lies below
 *    the end it read before taking it. Blocks come from a counter that only grows, so a
 *    handler that refilled meanwhile cannot make a stale value look valid.
 *  - The refill sets `msg_id_refill`, takes a block from the shared counter, stores `next`
 *    (one past the id it returns) and only then the new end. A handler that finds the block
 *    used up while a refill is in progress takes one id from the shared counter and leaves
 *    the thread's block alone.
 * The fast path costs the same loads and one store as before, fused into one instruction.
 */
#define LT_MSG_ID_BLOCK 256
static LT_TLS uint64_t msg_id_next, msg_id_end;
static LT_TLS volatile int msg_id_refill;

/* take_next - returns msg_id_next and adds one, in one instruction no signal can split. */
static inline uint64_t take_next(void)
{
#if defined(__x86_64__)
	uint64_t v = 1;

	__asm__ volatile("xaddq %0, %1" : "+r"(v), "+m"(msg_id_next) : : "memory");
	return v;
#else
	return __atomic_fetch_add(&msg_id_next, 1, __ATOMIC_RELAXED);
#endif
}

/*
 * take_ids - takes up to `want` ids from the shared counter (exactly `want` when `exact`)
 * without running past the tag's low bits: the counter never advances into the next tag, so
 * a refusal changes nothing. Returns the first id and *got the number taken; 0 (and *got 0)
 * when not that many remain.
 */
static uint64_t take_ids(uint64_t want, int exact, uint64_t *got)
{
	uint64_t cur = atomic_load_explicit(&ids->next_message, memory_order_relaxed), n;

	do {
		uint64_t left = LT_MSG_LOW_MASK - (cur & LT_MSG_LOW_MASK);

		n = want < left ? want : left;
		if (n == 0 || (exact && n < want)) {
			*got = 0;
			return 0;
		}
	} while (!atomic_compare_exchange_weak_explicit(
	    &ids->next_message, &cur, cur + n, memory_order_relaxed, memory_order_relaxed));
	*got = n;
	return cur;
}

static __attribute__((noinline)) uint64_t message_refill(void)
{
	uint64_t first, n;

	msg_base(ids);
	if (msg_id_refill) /* a signal handler interrupting a refill on this thread */
		return take_ids(1, 1, &n);
	msg_id_refill = 1;
	atomic_signal_fence(memory_order_seq_cst);
	first = take_ids(LT_MSG_ID_BLOCK, 0, &n);
	if (n == 0) { /* the tag's ids are used up (see lt_message_new) */
		atomic_signal_fence(memory_order_seq_cst);
		msg_id_refill = 0;
		return 0;
	}
	__atomic_store_n(&msg_id_next, first + 1, __ATOMIC_RELAXED);
	atomic_signal_fence(memory_order_seq_cst);
	__atomic_store_n(&msg_id_end, first + n, __ATOMIC_RELAXED);
	atomic_signal_fence(memory_order_seq_cst);
	msg_id_refill = 0;
	return first;
}

/*
 * In the child of fork(), the forking thread's block is also the parent's: drop it (the next
 * lt_message_new refills from the shared counter). A child that does not share the counters
 * (the page could not be mapped) would take the parent's ids again: it draws its own base.
 */
static void ids_atfork_child(void)
{
	msg_id_next = msg_id_end = 0;
	msg_id_refill = 0;
	if (ids == &ids_static) {
		atomic_store(&ids_static.next_message, msg_draw());
		msg_base(ids);
	}
}

__attribute__((constructor)) static void ids_init(void)
{
	struct lt_ids *shared =
	    mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	msg_base(&ids_static); /* the base this fork family's ids are drawn from */
	if (shared != MAP_FAILED) {
		/* Ids already taken by other constructors stay taken. */
		atomic_init(&shared->next_component, atomic_load(&ids_static.next_component));
		atomic_init(&shared->next_channel, atomic_load(&ids_static.next_channel));
		atomic_init(&shared->next_route, atomic_load(&ids_static.next_route));
		atomic_init(&shared->next_message, atomic_load(&ids_static.next_message));
		ids = shared;
	}
	pthread_atfork(NULL, NULL, ids_atfork_child);
}

LT_API uint64_t lt_message_new(void)
{
	uint64_t end = __atomic_load_n(&msg_id_end, __ATOMIC_RELAXED);
	uint64_t id;

	atomic_signal_fence(memory_order_seq_cst);
	id = take_next();
	if (__builtin_expect(id < end, 1))
		return id;
	return message_refill();
}

LT_API uint64_t lt_message_reserve(uint64_t count)
{
	uint64_t n;

	if (count == 0 || count > (UINT64_C(1) << 46))
		return 0;
	msg_base(ids);
	/* A refusal leaves the counter alone: later ids keep the process's tag. */
	return take_ids(count, 1, &n);
}

LT_API void lt_wait_begin(void)
{
	flush_pending();
#ifdef LT_WITH_LTTNG
	struct lt_ring *r = ring();
	if (r) {
		uint64_t *p = lt__rec(r, 2, LT_REC_WAIT_BEGIN, 0, lt__now());

		p[1] = lt__thread_cpu_ns();
		lt__rec_commit(r, 2);
		lt__ring_park(r);
		return;
	}
#endif
	LT_EVENT(wait_begin);
}

LT_API void lt_wait_end(uint32_t chan, uint64_t msg)
{
#ifdef LT_WITH_LTTNG
	struct lt_ring *r = ring();
	if (r) {
		uint64_t *p = lt__rec(r, 2, LT_REC_WAIT_END, chan, lt__now());

		p[1] = msg;
		lt__rec_commit(r, 2);
		return;
	}
#endif
	LT_EVENT(wait_end, chan, msg);
}

LT_API void lt__handle_flush(void)
{
	flush_pending();
}

LT_API void lt__handle_end_later(uint64_t msg)
{
#ifdef LT_WITH_LTTNG
	/* The handler's end: the first thing after it returned (see handler_end_now). */
	uint64_t end = handler_end_now();

	handler_ended(end);
#endif
	flush_pending();
	LT_FLIGHT_HANDLER_END();
#ifdef LT_WITH_LTTNG
	if (msg && lt__ring && LT_ENABLED(batch)) {
		pending_end = end;
		pending_msg = msg;
		pending_rec = 1;
		return;
	}
#endif
	if (msg && handle_begin_ts && LT_ENABLED(handle_next)) {
		pending_end = trace_clock_ns();
		pending_begin = handle_begin_ts;
		pending_msg = msg;
		pending_rec = 0;
		handle_begin_ts = 0;
		return;
	}
	lt_handle_end(msg);
}

LT_API void lt__handle_next(uint32_t chan, uint64_t msg, uint32_t depth, const char *kind)
{
	LT_FLIGHT_HANDLER_BEGIN();
#ifdef LT_WITH_LTTNG
	struct lt_ring *r = ring();
	if (r) {
		uint64_t now, ed = 0;
		unsigned k = LT_REC_HNEXT0;
		uint32_t key;
		uint64_t *p;

		if (pending_msg && !pending_rec)
			flush_pending();
		key = lt__key(r, chan, nonnull(kind));
		if (__builtin_expect(!lt__rec_fits(r, 6), 0))
			lt__ring_reserve(r, 6); /* a flush, if any, before the begin */
		now = handler_begin_now();      /* the handler begins: see handler_end_now */
		if (pending_msg) {
			k = LT_REC_HNEXT;
			ed = now - pending_end;
			pending_msg = 0;
		}
		/* short form: an id of this process (its tag is the batch's msg_hi) */
		if (__builtin_expect(lt_rec_depth_short(depth) &&
					 (msg >> LT_MSG_TAG_SHIFT) == msg_tag &&
					 ed <= LT_REC_EDELTA_MAX,
				     1)) {
			p = lt__rec(r, 2, k, key | (depth & LT_REC_DEPTH_MAX) << 12, now);
			p[1] = (msg & LT_REC_MSG48_MAX) | ed << 48;
			lt__rec_commit(r, 2);
		} else {
			p = lt__rec(r, 4, LT_REC_HNEXT_LONG, key, now);
			p[1] = depth;
			p[2] = msg;
			p[3] = k == LT_REC_HNEXT ? ed : ~(uint64_t)0;
			lt__rec_commit(r, 4);
		}
		return;
	}
#endif
	if (LT_ENABLED(handle_next)) {
		LT_EVENT(handle_next, pending_msg, pending_begin, pending_end, chan, msg, depth,
			 nonnull(kind));
		pending_msg = 0;
		handle_begin_ts = trace_clock_ns();
		return;
	}
	flush_pending();
	lt_recv(chan, msg, depth);
	lt_handle_begin(msg, kind);
}

LT_API void lt_handle_begin(uint64_t msg, const char *kind)
{
	flush_pending();
	LT_FLIGHT_HANDLER_BEGIN();
#ifdef LT_WITH_LTTNG
	struct lt_ring *r = ring();
	if (r) {
		uint32_t key = lt__key(r, 0, nonnull(kind));
		uint64_t *p;

		if (__builtin_expect(!lt__rec_fits(r, 4), 0))
			lt__ring_reserve(r, 4);
		p = lt__rec(r, 2, LT_REC_HBEGIN, key, handler_begin_now());

		p[1] = msg;
		lt__rec_commit(r, 2);
		return;
	}
#endif
	if (LT_ENABLED(handle_begin)) {
		LT_EVENT(handle_begin, msg, nonnull(kind));
		handle_begin_ts = trace_clock_ns();
	}
}

LT_API void lt_handle_end(uint64_t msg)
{
#ifdef LT_WITH_LTTNG
	uint64_t end = handler_end_now();

	handler_ended(end);
#endif
	flush_pending();
	LT_FLIGHT_HANDLER_END();
#ifdef LT_WITH_LTTNG
	struct lt_ring *r = ring();
	if (r) {
		uint64_t *p = lt__rec(r, 2, LT_REC_HEND, 0, end ? end : lt__now());

		p[1] = msg;
		lt__rec_commit(r, 2);
		handle_begin_ts = 0;
		return;
	}
#endif
	if (LT_ENABLED(handle_end))
		LT_EVENT(handle_end, msg, handle_begin_ts, trace_clock_ns());
	handle_begin_ts = 0;
}

#ifdef LT_WITH_LTTNG
static void rec_block_begin(struct lt_ring *r, uint32_t reason, const void *object,
			    const void *where)
{
	uint64_t *p = lt__rec(r, 3, LT_REC_BLOCK_BEGIN, reason, lt__now());

	p[1] = (uint64_t)(uintptr_t)object;
	p[2] = (uint64_t)(uintptr_t)where;
	lt__rec_commit(r, 3);
}
#endif

LT_API void lt_block_begin(enum lt_block_reason reason, const void *object)
{
	flush_pending();
	LT_FLIGHT_BLOCK_BEGIN(reason, object, __builtin_return_address(0));
#ifdef LT_WITH_LTTNG
	struct lt_ring *r = ring();
	if (r) {
		rec_block_begin(r, (uint32_t)reason, object, __builtin_return_address(0));
		return;
	}
#endif
	if (LT_ENABLED(block_begin)) {
		uint64_t where = (uint64_t)(uintptr_t)__builtin_return_address(0);

		LT_EVENT(block_begin, (uint32_t)reason, (uint64_t)(uintptr_t)object, where);
	}
}

LT_API void lt_block_begin_at(enum lt_block_reason reason, const void *object, const void *where)
{
	flush_pending();
	LT_FLIGHT_BLOCK_BEGIN(reason, object, where ? where : __builtin_return_address(0));
#ifdef LT_WITH_LTTNG
	struct lt_ring *r = ring();
	if (r) {
		rec_block_begin(r, (uint32_t)reason, object,
				where ? where : __builtin_return_address(0));
		return;
	}
#endif
	if (LT_ENABLED(block_begin)) {
		if (!where)
			where = __builtin_return_address(0);
		LT_EVENT(block_begin, (uint32_t)reason, (uint64_t)(uintptr_t)object,
			 (uint64_t)(uintptr_t)where);
	}
}

LT_API void lt_block_end(void)
{
#ifdef LT_WITH_LTTNG
	struct lt_ring *r = ring();
	if (r) {
		lt__rec(r, 1, LT_REC_BLOCK_END, 0, lt__now());
		lt__rec_commit(r, 1);
		LT_FLIGHT_BLOCK_END();
		return;
	}
#endif
	LT_EVENT(block_end);
	LT_FLIGHT_BLOCK_END();
}

/*
 * Registered probe providers, for the inline fast path of lt_send/lt_recv (trace.h): each
 * provider adds itself when it registers with LTTng-UST and removes itself when it leaves.
 */
LT_API int lt__probes_loaded;
LT_API int lt__send_depths;

static inline void do_send(uint32_t chan, uint64_t msg, uint64_t flow, uint32_t depth)
{
	flush_pending();
#ifdef LT_WITH_LTTNG
	struct lt_ring *r = ring();
	if (r) {
		uint64_t *p;

		if (__builtin_expect(
			flow == 0 && chan <= LT_REC_KEY_MAX && lt_rec_depth_short(depth), 1)) {
			p = lt__rec(r, 2, LT_REC_SEND, chan | (depth & LT_REC_DEPTH_MAX) << 12,
				    lt__now());
			p[1] = msg;
			lt__rec_commit(r, 2);
		} else {
			p = lt__rec(r, 4, LT_REC_SEND_LONG, depth, lt__now());
			p[1] = chan;
			p[2] = msg;
			p[3] = flow;
			lt__rec_commit(r, 4);
		}
		return;
	}
#endif
	LT_EVENT(send, chan, msg, flow, depth);
}

static inline void do_recv(uint32_t chan, uint64_t msg, uint32_t depth)
{
	flush_pending();
#ifdef LT_WITH_LTTNG
	struct lt_ring *r = ring();
	if (r) {
		uint64_t *p;

		if (__builtin_expect(chan <= LT_REC_KEY_MAX && lt_rec_depth_short(depth), 1)) {
			p = lt__rec(r, 2, LT_REC_RECV, chan | (depth & LT_REC_DEPTH_MAX) << 12,
				    lt__now());
			p[1] = msg;
			lt__rec_commit(r, 2);
		} else {
			p = lt__rec(r, 3, LT_REC_RECV_LONG, depth, lt__now());
			p[1] = chan;
			p[2] = msg;
			lt__rec_commit(r, 3);
		}
		return;
	}
#endif
	LT_EVENT(recv, chan, msg, depth);
}

LT_API void lt__send_event(uint32_t chan, uint64_t msg, uint64_t flow, uint32_t depth)
{
	do_send(chan, msg, flow, depth);
	LT_FLIGHT_DEPTH(chan, depth, __builtin_return_address(0));
}

LT_API void lt__recv_event(uint32_t chan, uint64_t msg, uint32_t depth)
{
	do_recv(chan, msg, depth);
}

LT_API void lt_send(uint32_t chan, uint64_t msg, uint64_t flow, uint32_t depth)
{
	do_send(chan, msg, flow, depth);
	LT_FLIGHT_DEPTH(chan, depth, __builtin_return_address(0));
}

LT_API void lt_recv(uint32_t chan, uint64_t msg, uint32_t depth)
{
	do_recv(chan, msg, depth);
}

LT_API uint32_t lt_route_add(uint32_t chan, uint32_t owner)
{
	uint32_t route = atomic_fetch_add_explicit(&ids->next_route, 1, memory_order_relaxed);

	LT_FLIGHT_ROUTE_ADD(route, owner);

#ifdef LT_WITH_LTTNG
	struct lt_ring *r = ring();
	if (r) {
		uint64_t *p;

		flush_pending();
		p = lt__rec(r, 2, LT_REC_ROUTE_ADD, route, lt__now());
		p[1] = chan | (uint64_t)owner << 32;
		lt__rec_commit(r, 2);
		return route;
	}
#endif
	LT_EVENT(route_add, route, chan, owner);
	return route;
}

LT_API void lt_route_remove(uint32_t route)
{
#ifdef LT_WITH_LTTNG
	struct lt_ring *r = ring();
	if (r) {
		flush_pending();
		lt__rec(r, 1, LT_REC_ROUTE_REMOVE, route, lt__now());
		lt__rec_commit(r, 1);
		return;
	}
#endif
	LT_EVENT(route_remove, route);
}

static void do_dispatch_begin(uint32_t route, uint64_t msg)
{
#ifdef LT_WITH_LTTNG
	struct lt_ring *r = ring();
	if (r) {
		uint64_t *p;

		flush_pending();
		p = lt__rec(r, 2, LT_REC_DISPATCH_BEGIN, route, lt__now());
		p[1] = msg;
		lt__rec_commit(r, 2);
		return;
	}
#endif
	LT_EVENT(route_dispatch_begin, route, msg);
}

/* The trigger (latency>DUR) follows the dispatch's record: the snapshot holds it. */
LT_API void lt_route_dispatch_begin(uint32_t route, uint64_t msg)
{
	do_dispatch_begin(route, msg);
	LT_FLIGHT_ROUTE_DISPATCH(route, __builtin_return_address(0));
}

LT_API void lt_route_dispatch_end(uint32_t route)
{
#ifdef LT_WITH_LTTNG
	struct lt_ring *r = ring();
	if (r) {
		flush_pending();
		lt__rec(r, 1, LT_REC_DISPATCH_END, route, lt__now());
		lt__rec_commit(r, 1);
		return;
	}
#endif
	LT_EVENT(route_dispatch_end, route);
}

/*
 * Pools and sequences (docs/event-model.md, "Sequences"): rare calls next to a message's, so
 * plain records, no fast path. Each flushes a kept handler end first: a sequence's records
 * must never be written under another sequence's run on the same worker.
 */

/* The pool the calling thread is a worker of (0: none), for pool_worker_end. */
static LT_TLS uint32_t current_pool;

#ifdef LT_WITH_LTTNG
/* rec_a - appends a one-word record of `kind` with argument a; 1 when recorded (format 2.x). */
static int rec_a(unsigned kind, uint32_t a)
{
	struct lt_ring *r = ring();

	if (!r)
		return 0;
	lt__rec(r, 1, kind, a, lt__now());
	lt__rec_commit(r, 1);
	return 1;
}
#else
#define rec_a(kind, a) ((void)(a), 0) /* the record kinds are not even declared */
#endif

LT_API uint32_t lt_pool_declare(const char *name, uint32_t threads)
{
	static _Atomic uint32_t next_pool = 1;
	uint32_t pool = atomic_fetch_add_explicit(&next_pool, 1, memory_order_relaxed);

	flush_pending();
#ifdef LT_WITH_LTTNG
	struct lt_ring *r = ring();
	if (r) {
		rec_named(r, LT_REC_POOL_DECLARE, nonnull(name), pool | (uint64_t)threads << 32, 0);
		return pool;
	}
#endif
	LT_EVENT(pool_declare, pool, nonnull(name), threads);
	return pool;
}

LT_API void lt_pool_worker_begin(uint32_t pool)
{
	flush_pending();
	current_pool = pool;
	if (!rec_a(LT_REC_WORKER_BEGIN, pool)) {
		LT_EVENT(pool_worker_begin, pool);
	}
}

LT_API void lt_pool_worker_end(void)
{
	flush_pending();
	if (!rec_a(LT_REC_WORKER_END, current_pool)) {
		LT_EVENT(pool_worker_end, current_pool);
	}
	current_pool = 0;
}

LT_API uint32_t lt_seq_begin(const char *name, uint32_t pool, uint32_t flags)
{
	uint32_t comp = atomic_fetch_add_explicit(&ids->next_component, 1, memory_order_relaxed);

	flush_pending();
#ifdef LT_WITH_LTTNG
	struct lt_ring *r = ring();
	if (r) {
		/* not flushed at once (rec_named does): a task is spawned per request */
		const char *n = nonnull(name);
		size_t len = strlen(n);

		if (len > LT_REC_STR_MAX)
			len = LT_REC_STR_MAX;
		unsigned nw = 3 + lt_rec_str_words((uint32_t)len);
		uint64_t *p = lt__rec(r, nw, LT_REC_SEQ_BEGIN, (uint32_t)len, lt__now());

		p[1] = comp | (uint64_t)pool << 32;
		p[2] = flags;
		p[nw - 1] = 0;
		memcpy(p + 3, n, len);
		lt__rec_commit(r, nw);
		return comp;
	}
#endif
	LT_EVENT(seq_begin, comp, nonnull(name), pool, flags);
	return comp;
}

LT_API void lt_seq_end(uint32_t comp)
{
	flush_pending();
	if (!rec_a(LT_REC_SEQ_END, comp)) {
		LT_EVENT(seq_end, comp);
	}
}

LT_API void lt_seq_ready(uint32_t comp)
{
	flush_pending();
	if (!rec_a(LT_REC_SEQ_READY, comp)) {
		LT_EVENT(seq_ready, comp);
	}
}

LT_API void lt_seq_run_begin(uint32_t comp)
{
	flush_pending();
	if (!rec_a(LT_REC_SEQ_RUN_BEGIN, comp)) {
		LT_EVENT(seq_run_begin, comp);
	}
}

LT_API void lt_seq_run_end(uint32_t comp)
{
	flush_pending();
	if (!rec_a(LT_REC_SEQ_RUN_END, comp)) {
		LT_EVENT(seq_run_end, comp);
	}
}

/*
 * lt__flight_emit - the flight recorder's trigger event (flight.h), after the thread's records
 * are handed to LTTng-UST (lt__flush_thread) so that the snapshot it triggers holds them.
 */
void lt__flight_emit(const char *condition, uint64_t value, uint64_t begin_ns, uint64_t end_ns,
		     const void *where, uint64_t object, uint32_t reason)
{
	flush_pending();
	lt__flush_thread();
	LT_EVENT(trigger, condition, current_component, lt__flight_component_name(), value,
		 begin_ns, end_ns, (uint64_t)(uintptr_t)where, object, reason, lt__flight_record);
}

void lt__flight_emit_for(uint32_t comp, const char *condition, uint64_t value, uint64_t begin_ns,
			 uint64_t end_ns, const void *where, uint64_t object, uint32_t reason)
{
	flush_pending();
	lt__flush_thread();
	LT_EVENT(trigger, condition, comp,
		 comp == current_component ? lt__flight_component_name() : "", value, begin_ns,
		 end_ns, (uint64_t)(uintptr_t)where, object, reason, lt__flight_record);
}

#ifdef LT_WITH_LTTNG
/*
 * The registry the probe providers count themselves in (probes/src/registry.h). A
 * provider copy found earlier in the global scope (a preloaded one) takes precedence; a copy
 * linked statically into the program counts in this one.
 */
LT_API struct lt__probes_registry lt__probes_registry;

LT_API int lt_tracing_available(void)
{
	struct lt__probes_registry *r = dlsym(RTLD_DEFAULT, LT_PROBES_REGISTRY_SYMBOL);

	if (!r)
		r = &lt__probes_registry;
	return atomic_load(&r->registered) > 0;
}

/*
 * A provider that registered before liblooptrace was loaded (liblooptrace dlopen()ed later)
 * could not count itself in lt__probes_loaded: take the registry's word at load time.
 */
__attribute__((constructor)) static void lt_probes_loaded_init(void)
{
	if (__atomic_load_n(&lt__probes_loaded, __ATOMIC_RELAXED) == 0 && lt_tracing_available())
		__atomic_store_n(&lt__probes_loaded, 1, __ATOMIC_RELAXED);
}
#else
LT_API int lt_tracing_available(void)
{
	return 0;
}

LT_API void lt__flush_thread(void)
{
}
#endif
