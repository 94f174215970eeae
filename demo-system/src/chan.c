/*
 * chan.c - bounded and unbounded MPSC channels.
 *
 * Bounded: crossbeam's array channel (after Vyukov's bounded queue) with a single receiver.
 * `tail` and `head` are (lap | index) words: any capacity works without division; one lap is
 * the next power of two above cap, times two, and the bit just below the lap (`mark`) is the
 * closed bit, set in `tail`. Each slot has a stamp: the position word it is free for (a
 * sender may write it when stamp == tail) or, once written, that word + 1 (the receiver may
 * read it when stamp == head + 1). A sender claims a position with one CAS on tail, writes
 * the message and publishes it by storing the stamp; the receiver reads it and frees the slot
 * for the next lap by storing stamp = head + one lap. A sender finds the ring full from the
 * stamp of the very slot it would write (a lap behind), so senders never read the receiver's
 * head on the way: a message costs the slot's line, which a sender needs anyway. No lock
 * anywhere.
 *
 * A slot is 16 bytes, four to a cache line: the stamp and the message pointer. Nothing else
 * travels with a message, because cache lines moving between cores are what a channel costs:
 *  - Message ids are derived from the position. The channel numbers its positions in
 *    epochs of `epoch_len` (a power of two >= 2 * cap) and reserves one block of ids from
 *    liblooptrace per epoch (lt_message_reserve, by whichever thread first needs it): the
 *    message at position p has id base[p's epoch] + p % epoch_len. Ids stay unique in the
 *    process and never reused, exactly as with lt_message_new, and the receiver computes the
 *    same id from its head. Two epochs are live at most (everything queued lies within cap <
 *    epoch_len positions), so two base words suffice.
 *  - A flow id other than 0 goes to a side array (`flows`, one word per slot) and a stamp
 *    bit tells the receiver to read it; a message without a flow touches no other line.
 *  - The stamp's top 16 bits carry the CPU the sender ran on (read from glibc's rseq area,
 *    one load): a receiver about to spin for the next message yields at once instead when
 *    the last sender ran on its own CPU (that sender cannot run while the receiver spins).
 *
 * Unbounded: linked blocks of LT__BLK_CAP slots (crossbeam's list channel, single
 * receiver). `tail` counts slots << 1 with bit 0 the closed bit; the sender that claims a
 * block's last slot links the next block (allocated before the CAS) and skips the tail past
 * the block end; the receiver frees a block when it leaves it. Its slots carry the message id
 * (from lt_message_new) and flow.
 *
 * Because the closed bit lives in the same word senders CAS, close is linearizable: a send
 * either claimed its slot before the close (and will be received or drained) or fails.
 */
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__) && __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#if defined(RSEQ_SIG) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define LT__HAVE_RSEQ 1
#endif
#endif

#include <looptrace/trace.h>

#include "rt_internal.h"

#define LT__CLAIMED ((struct lt__waiter *)(uintptr_t)1)

#define LT__LAP     64
#define LT__BLK_CAP (LT__LAP - 1)

/*
 * Bounded slot stamp: the low 47 bits are a position word (free: the tail it may be written
 * at; written: that tail + 1), bit 47 says a flow id waits in ch->flows, the top 16 bits are
 * the CPU of the sender that wrote it.
 */
#define LT__STAMP_MASK ((UINT64_C(1) << 47) - 1)
#define LT__STAMP_FLOW (UINT64_C(1) << 47)
#define LT__CPU_SHIFT  48
#define LT__CPU_NONE   0xffffu

/* Bounded: the shortest epoch of message ids (positions per reserved block of ids). */
#define LT__EPOCH_MIN (UINT64_C(1) << 16)

struct lt__slot {
	_Atomic uint64_t stamp; /* see LT__STAMP_* */
	void *msg;              /* owned while queued */
};

struct lt__uslot {
	void *msg;
	uint64_t id;
	uint64_t flow;
	_Atomic uint32_t written; /* 1 once msg/id/flow are valid */
};

struct lt__block {
	_Atomic(struct lt__block *) next;
	struct lt__uslot slots[LT__BLK_CAP];
};

struct lt_chan {
	/* Read-only after create. */
	uint32_t id;          /* trace id */
	int bounded;          /* cap > 0 */
	int want_depth;       /* a probe provider is loaded: anchor sends read their depth
				 (depth_anchor); other sends and every receive record
				 LT_DEPTH_UNKNOWN (docs/event-model.md) */
	uint64_t anchor_mask; /* depth_anchor: LT__DEPTH_ANCHOR - 1, or 0 (every send) */
	size_t cap;           /* capacity, 0: unbounded */
	uint64_t mark;        /* bounded: closed bit in tail */
	uint64_t one_lap;     /* bounded: one lap of the ring */
	unsigned lap_shift;   /* bounded: log2(one_lap) */
	unsigned epoch_shift; /* bounded: log2(positions per epoch of message ids) */
	struct lt__slot *buf; /* bounded: owned ring of cap slots */
	uint64_t *flows;      /* bounded: owned, flow id per slot (valid when the stamp says so) */
	lt_free_fn free_fn;
	char *name; /* owned */

	/* Senders' side. */
	alignas(LT__CACHELINE) _Atomic uint64_t tail;
	_Atomic(struct lt__block *) tail_block; /* unbounded */

	/* Receiver's side (written by the receiver only; senders read head only for depths). */
	alignas(LT__CACHELINE) _Atomic uint64_t head;
	struct lt__block *head_block;  /* unbounded; owned */
	uint64_t recv_id;              /* bounded: id of the message at head, when recv_left > 0 */
	uint64_t recv_left;            /* bounded: positions left in head's epoch (0: look up) */
	_Atomic uint32_t recv_cpu;     /* bounded: CPU of the sender of the last message received */
	_Atomic uint32_t streak;       /* bounded: receives in a row that found a message at once */
	_Atomic uint32_t send_waiters; /* bounded: senders parked or about to park */
	_Atomic uint32_t send_woken;   /* bounded: a wake was sent since a sender last parked */

	/* Written rarely, read by every send. */
	alignas(LT__CACHELINE) _Atomic(struct lt__waiter *) waiter; /* weak; NULL, w, CLAIMED */
	_Atomic uint32_t send_seq; /* futex word parked senders wait on */
	/*
	 * Bounded: the id blocks of the two live epochs, epoch e in id_base[e & 1] as
	 * (low 48 bits of the first id << 8) | (e & 0xff); written once per epoch_len messages.
	 */
	_Atomic uint64_t id_base[2];
	/* the top 16 bits of every id liblooptrace hands this process (its tag), which do not fit
	 * in id_base beside the epoch: stored before a block is published */
	_Atomic uint64_t id_hi;
	_Atomic int closed;
	_Atomic int attached;      /* taken by a select or router route */
	_Atomic uint32_t self_cpu; /* bounded: CPU the receiver ran on lately (senders read it) */

	/*
	 * Pooled sequences suspended on a full channel (see send_await): they cannot sleep on
	 * send_seq's futex, so the receiver's wake (and close) also wakes this list.
	 */
	pthread_mutex_t seq_mu;
	struct lt__send_waiter *seq_senders; /* under seq_mu; weak: on the senders' stacks */
};

/* A suspended pooled sender, linked in ch->seq_senders while it waits. */
struct lt__send_waiter {
	struct lt__waiter w;
	struct lt__send_waiter *next; /* under seq_mu */
	int linked;                   /* under seq_mu */
};

/* ---- counting ---------------------------------------------------------------------------- */

/* Bounded: how many slots a (lap | index) word stands for since the start. */
static inline uint64_t b_count(const struct lt_chan *ch, uint64_t x)
{
	return (x >> ch->lap_shift) * ch->cap + (x & (ch->mark - 1));
}

/* Unbounded: how many slots a tail/head word stands for (block ends are skipped). */
static inline uint64_t u_count(uint64_t x)
{
	uint64_t i = x >> 1;

	return i - i / LT__LAP;
}

static uint32_t depth_of(uint64_t tail_count, uint64_t head_count)
{
	uint64_t d = tail_count > head_count ? tail_count - head_count : 0;

	return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

/*
 * A traced send reads the receiver's head for its depth at one position in LT__DEPTH_ANCHOR
 * and records LT_DEPTH_UNKNOWN at the others, which the analysis derives (the last depth plus
 * one; docs/event-model.md, "Queue depths"). The head is the receiver's line, which it writes
 * at every pop: read at every send, the line crossed between the cores at every message, and
 * on a saturated channel the receiver's store to it waited behind the sender's read, a wait
 * that fell inside the next handler's traced bounds (bench/README.md, "Send depths"). A
 * position, not a count, picks the anchors: no state, and every channel gets one in
 * LT__DEPTH_ANCHOR of its sends whatever the number of senders. While the flight recorder
 * watches depths (lt__send_depths, set when liblooptrace loads, before any channel exists),
 * every send reads its depth: the condition is checked in the sender, on the depth it
 * records. The choice is made once per channel (anchor_mask), not per send.
 */
#define LT__DEPTH_ANCHOR 64

static inline int depth_anchor(const struct lt_chan *ch, uint64_t pos)
{
	return (pos & ch->anchor_mask) == 0;
}

/*
 * b_depth - depth of a bounded channel from a tail and a head read at different moments.
 * A sender reads the head after claiming a slot, and the receiver stores its new head only
 * after freeing the slot, so the head read may be one pop behind: tail - head can then be
 * capacity + 1. A bounded channel never holds more than its capacity: clamp.
 */
static uint32_t b_depth(const struct lt_chan *ch, uint64_t tail_count, uint64_t head_count)
{
	uint32_t d = depth_of(tail_count, head_count);

	return d > ch->cap ? (uint32_t)ch->cap : d;
}

/*
 * this_cpu - the CPU the caller runs on, as stored in a stamp (LT__CPU_NONE: unknown). With
 * glibc >= 2.35 it is one load from the thread's rseq area, which the kernel keeps current
 * (sched_getcpu reads the same field, but through a call: a few ns on every send); the value
 * is a hint, so a stale one is harmless. A thread whose rseq registration failed holds an
 * out-of-range value there: unknown.
 */
static inline uint32_t this_cpu(void)
{
#ifdef LT__HAVE_RSEQ
	if (__builtin_expect(__rseq_size >= 8, 1)) {
		const struct rseq *rs =
		    (const struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
		uint32_t cpu = __atomic_load_n(&rs->cpu_id, __ATOMIC_RELAXED);

		return cpu < LT__CPU_NONE ? cpu : LT__CPU_NONE;
	}
#endif
	int cpu = sched_getcpu();

	return cpu >= 0 && cpu < (int)LT__CPU_NONE ? (uint32_t)cpu : LT__CPU_NONE;
}

/* same_cpu - non-zero if `cpu` (from a stamp or a note) is known and is the caller's CPU. */
static inline int same_cpu(uint32_t cpu)
{
	return cpu != LT__CPU_NONE && cpu == this_cpu();
}

/*
 * msg_id_at - the message id of bounded position count `pos` (see the top of this file):
 * the epoch's base + the offset in the epoch. The first thread to need an epoch's base
 * reserves a block of ids and publishes it with a CAS; a thread that loses the race uses the
 * winner's block (its own block is skipped: ids stay unique). Returns 0 only when the id
 * space is exhausted.
 */
#define LT_ID_LOW_MASK ((UINT64_C(1) << 48) - 1) /* below the tag: lt_message_reserve's ranges */

static uint64_t msg_id_at(struct lt_chan *ch, uint64_t pos)
{
	uint64_t epoch = pos >> ch->epoch_shift;
	_Atomic uint64_t *w = &ch->id_base[epoch & 1];
	uint64_t tag = epoch & 0xff;
	uint64_t cur = atomic_load_explicit(w, memory_order_acquire);

	while ((cur & 0xff) != tag) {
		uint64_t first = lt_message_reserve(UINT64_C(1) << ch->epoch_shift);

		if (first == 0)
			return 0;
		atomic_store_explicit(&ch->id_hi, first & ~LT_ID_LOW_MASK, memory_order_relaxed);
		if (atomic_compare_exchange_strong(w, &cur, ((first & LT_ID_LOW_MASK) << 8) | tag))
			cur = ((first & LT_ID_LOW_MASK) << 8) | tag;
	}
	return (atomic_load_explicit(&ch->id_hi, memory_order_relaxed) | (cur >> 8)) +
	       (pos & ((UINT64_C(1) << ch->epoch_shift) - 1));
}

/*
 * note_self_cpu - the receiver records the CPU it runs on (once per lap of the ring and when
 * it starts waiting): a sender that finds the channel full yields at once instead of
 * spinning when the receiver it waits for shares its CPU.
 */
static inline void note_self_cpu(struct lt_chan *ch)
{
	uint32_t cpu = this_cpu();

	if (atomic_load_explicit(&ch->self_cpu, memory_order_relaxed) != cpu)
		atomic_store_explicit(&ch->self_cpu, cpu, memory_order_relaxed);
}

/* ---- create / destroy ---------------------------------------------------------------------- */

enum lt_err lt_chan_create(const char *name, size_t capacity, lt_free_fn free_fn,
			   struct lt_chan **out)
{
	struct lt_chan *ch;

	if (!out)
		return LT_EINVAL;
	*out = NULL;
	if (capacity > LT_CHAN_MAX_CAPACITY)
		return LT_EINVAL;
	ch = aligned_alloc(LT__CACHELINE,
			   (sizeof(*ch) + LT__CACHELINE - 1) & ~(size_t)(LT__CACHELINE - 1));
	if (!ch)
		return LT_ENOMEM;
	memset(ch, 0, sizeof(*ch));
	ch->name = strdup(name ? name : "");
	if (!ch->name)
		goto nomem;
	ch->cap = capacity;
	ch->bounded = capacity > 0;
	ch->free_fn = free_fn;
	atomic_init(&ch->head, 0);
	atomic_init(&ch->tail, 0);
	/* Tags no epoch can have: 0xff in the even word, 0xfe in the odd one. */
	atomic_init(&ch->id_base[0], 0xff);
	atomic_init(&ch->id_base[1], 0xfe);
	atomic_init(&ch->recv_cpu, LT__CPU_NONE);
	atomic_init(&ch->self_cpu, LT__CPU_NONE);
	atomic_init(&ch->streak, 0);
	atomic_init(&ch->waiter, NULL);
	atomic_init(&ch->send_waiters, 0);
	atomic_init(&ch->send_woken, 0);
	atomic_init(&ch->send_seq, 0);
	atomic_init(&ch->closed, 0);
	atomic_init(&ch->attached, 0);
	pthread_mutex_init(&ch->seq_mu, NULL);
	ch->seq_senders = NULL;
	if (ch->bounded) {
		uint64_t mark = 1;

		while (mark < capacity + 1)
			mark <<= 1;
		ch->mark = mark;
		ch->one_lap = mark << 1;
		ch->lap_shift = (unsigned)__builtin_ctzll(ch->one_lap);
		ch->epoch_shift = (unsigned)__builtin_ctzll(LT__EPOCH_MIN);
		while ((UINT64_C(1) << ch->epoch_shift) < 2 * (uint64_t)capacity)
			ch->epoch_shift++;
		ch->buf =
		    aligned_alloc(LT__CACHELINE, (capacity * sizeof(*ch->buf) + LT__CACHELINE - 1) &
						     ~(size_t)(LT__CACHELINE - 1));
		ch->flows = calloc(capacity, sizeof(*ch->flows));
		if (!ch->buf || !ch->flows)
			goto nomem;
		/* Slot i is free for position i of lap 0. */
		for (size_t i = 0; i < capacity; i++) {
			atomic_init(&ch->buf[i].stamp, i);
			ch->buf[i].msg = NULL;
		}
		lt__asym_fence_init();
		atomic_init(&ch->tail_block, NULL);
	} else {
		struct lt__block *b = calloc(1, sizeof(*b));

		if (!b)
			goto nomem;
		ch->head_block = b;
		atomic_init(&ch->tail_block, b);
	}
	/*
	 * Depths cost the sender a load of the receiver's cache line (and vice versa): compute
	 * them only when a probe provider is there to record them (it registers before main).
	 */
	ch->want_depth = lt_tracing_available();
	ch->anchor_mask =
	    __atomic_load_n(&lt__send_depths, __ATOMIC_RELAXED) ? 0 : LT__DEPTH_ANCHOR - 1;
	ch->id = lt_channel_declare_object(
	    ch->name, capacity > UINT32_MAX ? UINT32_MAX : (uint32_t)capacity, ch);
	*out = ch;
	return LT_OK;
nomem:
	free(ch->buf);
	free(ch->flows);
	free(ch->name);
	free(ch);
	return LT_ENOMEM;
}

/* drop_all - frees every queued message through the free function, without events. */
static void drop_all(struct lt_chan *ch)
{
	struct lt_msg_info info;
	uint32_t depth;
	void *m;

	while (lt__chan_pop(ch, &m, &info, &depth) == LT_OK)
		if (ch->free_fn)
			ch->free_fn(m);
}

void lt_chan_destroy(struct lt_chan *ch)
{
	if (!ch)
		return;
	lt_chan_close(ch);
	drop_all(ch);
	if (!ch->bounded)
		free(ch->head_block);
	free(ch->buf);
	free(ch->flows);
	free(ch->name);
	pthread_mutex_destroy(&ch->seq_mu);
	free(ch);
}

/* ---- waking -------------------------------------------------------------------------------- */

/* Called by a sender after publishing (and by close): wakes a registered receiver. */
static inline void notify_receiver(struct lt_chan *ch)
{
	struct lt__waiter *w = atomic_load(&ch->waiter);

	if (w == NULL || w == LT__CLAIMED)
		return;
	if (atomic_compare_exchange_strong(&ch->waiter, &w, LT__CLAIMED)) {
		lt__waiter_wake(w);
		atomic_store_explicit(&ch->waiter, NULL, memory_order_release);
	}
}

/*
 * wake_seq_senders - wakes every pooled sender suspended on the channel (after send_seq was
 * bumped: a sender links itself only if send_seq is unchanged, under the same mutex).
 */
static __attribute__((noinline, cold)) void wake_seq_senders(struct lt_chan *ch)
{
	pthread_mutex_lock(&ch->seq_mu);
	while (ch->seq_senders) {
		struct lt__send_waiter *sw = ch->seq_senders;

		ch->seq_senders = sw->next;
		sw->linked = 0;
		/* The sender relocks seq_mu before it leaves: sw stays valid until we unlock. */
		lt__waiter_wake(&sw->w);
	}
	pthread_mutex_unlock(&ch->seq_mu);
}

/*
 * Called by the receiver after freeing a bounded slot (its stamp, then head): wakes parked
 * senders. The stamp store and the load of send_waiters form a Dekker pair with a parking
 * sender's increment of send_waiters and its next look at the slot: the receiver's side is the
 * light half of an asymmetric fence (see lt__asym_fence_light), the parking sender pays for the
 * heavy half, so the common path -- nobody parked -- costs no barrier instruction.
 */
static inline void notify_senders(struct lt_chan *ch)
{
	if (lt__asym_fence_light(&ch->send_waiters) == 0)
		return;
	/*
	 * One wake per parking: every sender that parks clears send_woken after reading
	 * send_seq, so a sender that parks after this wake either saw the bump (and its futex
	 * wait returns at once) or clears the flag and gets the next pop's wake.
	 */
	if (atomic_load(&ch->send_woken))
		return;
	atomic_store(&ch->send_woken, 1);
	atomic_fetch_add(&ch->send_seq, 1);
	lt__futex_wake(&ch->send_seq, INT_MAX);
	wake_seq_senders(ch);
}

void lt__chan_register(struct lt_chan *ch, struct lt__waiter *w)
{
	struct lt__waiter *expected;

	for (;;) {
		expected = NULL;
		if (atomic_compare_exchange_strong(&ch->waiter, &expected, w))
			return;
		if (expected == w)
			return;
		lt__cpu_relax(); /* a sender is still waking our previous registration */
	}
}

void lt__chan_unregister(struct lt_chan *ch, struct lt__waiter *w)
{
	struct lt__waiter *expected = w;
	unsigned spins = 0;

	if (atomic_compare_exchange_strong(&ch->waiter, &expected, NULL))
		return;
	/* A sender claimed it: wait until it is done touching the waiter. */
	while (atomic_load(&ch->waiter) == LT__CLAIMED) {
		lt__backoff(&spins);
	}
}

enum lt_err lt__chan_attach(struct lt_chan *ch)
{
	int expected = 0;

	return atomic_compare_exchange_strong(&ch->attached, &expected, 1) ? LT_OK : LT_EBUSY;
}

void lt__chan_detach(struct lt_chan *ch)
{
	atomic_store(&ch->attached, 0);
}

void lt_chan_close(struct lt_chan *ch)
{
	if (!ch)
		return;
	atomic_store(&ch->closed, 1);
	atomic_fetch_or(&ch->tail, ch->bounded ? ch->mark : 1u);
	notify_receiver(ch);
	if (ch->bounded) {
		/* Parked senders recheck and see the closed bit. */
		atomic_fetch_add(&ch->send_seq, 1);
		if (atomic_load(&ch->send_waiters) != 0) {
			lt__futex_wake(&ch->send_seq, INT_MAX);
			wake_seq_senders(ch);
		}
	}
}

/* ---- push ------------------------------------------------------------------------------------ */

/*
 * Bounded push: LT_OK (*id set unless id is NULL), LT_EAGAIN (full) or LT_ECLOSED. Emits `send`
 * between claiming and publishing the slot, so the event precedes the receiver's `recv`.
 */
static inline __attribute__((always_inline)) enum lt_err b_push(struct lt_chan *ch, void *msg,
								uint64_t flow, uint64_t *id)
{
	/*
	 * Acquire on every tail load: the stamp load that follows must not see an older stamp
	 * than the tail it is compared with (free on x86).
	 */
	uint64_t tail = atomic_load_explicit(&ch->tail, memory_order_acquire);
	/* A probe provider is registered: record the send (lt_send's own test, done once). */
	int traced = __atomic_load_n(&lt__probes_loaded, __ATOMIC_RELAXED) != 0;

	for (;;) {
		uint64_t index, lap, next, stamp, t;
		struct lt__slot *slot;
		uint32_t depth = LT_DEPTH_UNKNOWN;

		if (tail & ch->mark)
			return LT_ECLOSED;
		index = tail & (ch->mark - 1);
		slot = &ch->buf[index];
		/* Acquire: the receiver's read of the slot's previous message is done. */
		stamp = atomic_load_explicit(&slot->stamp, memory_order_acquire) & LT__STAMP_MASK;
		t = tail & LT__STAMP_MASK;
		if (stamp == t) {
			lap = tail & ~(ch->one_lap - 1);
			next = index + 1 < ch->cap ? tail + 1 : lap + ch->one_lap;
			/*
			 * Sequentially consistent on success: this write of tail is the sender's
			 * half of the wakeup handshake with a registering receiver (which then
			 * re-reads tail); notify_receiver's load of the waiter follows it.
			 */
			if (!atomic_compare_exchange_weak_explicit(
				&ch->tail, &tail, next, memory_order_seq_cst, memory_order_acquire))
				continue;
			/* The position is ours. */
			slot->msg = msg;
			if (flow)
				ch->flows[index] = flow;
			/*
			 * The id only when someone wants it: the receiver derives it on its own
			 * (the first thread to need an epoch's block reserves it).
			 */
			if (id || traced) {
				uint64_t pos = b_count(ch, tail);
				uint64_t mid = msg_id_at(ch, pos);

				if (id)
					*id = mid;
				if (traced) {
					if (ch->want_depth && depth_anchor(ch, pos))
						depth =
						    b_depth(ch, pos + 1,
							    b_count(ch, atomic_load_explicit(
									    &ch->head,
									    memory_order_relaxed)));
					lt__send_event(ch->id, mid, flow, depth);
				}
			}
			/*
			 * Release is enough: the CAS on tail above is the sender's half of the
			 * wakeup handshake (receivers re-check tail).
			 */
			atomic_store_explicit(&slot->stamp,
					      ((tail + 1) & LT__STAMP_MASK) |
						  (flow ? LT__STAMP_FLOW : 0) |
						  ((uint64_t)this_cpu() << LT__CPU_SHIFT),
					      memory_order_release);
			return LT_OK;
		}
		/*
		 * The slot still holds the message of the previous lap, or a sender claimed that
		 * position a lap ago and has not written it yet: either way the ring is full. (Our
		 * tail cannot be stale then: whoever claimed this position found the slot free,
		 * and stamps only move forward. Crossbeam's channel also reads head here because
		 * its receivers claim head before they free the slot; the single receiver here
		 * frees the slot first, so the stamp alone decides, and senders leave the
		 * receiver's line alone. Returning at once matters for the second case: a sender
		 * preempted between its claim and its publish must not make others spin here.)
		 */
		if (((stamp + ch->one_lap) & LT__STAMP_MASK) == ((t + 1) & LT__STAMP_MASK) ||
		    ((stamp + ch->one_lap) & LT__STAMP_MASK) == t)
			return LT_EAGAIN;
		/* Our tail is stale: another sender claimed it meanwhile (progress); look again. */
		lt__cpu_relax();
		tail = atomic_load_explicit(&ch->tail, memory_order_acquire);
	}
}

/* Unbounded push: LT_OK, LT_ECLOSED or LT_ENOMEM; `id` is the message's (lt_message_new). */
static enum lt_err u_push(struct lt_chan *ch, void *msg, uint64_t id, uint64_t flow)
{
	uint64_t tail = atomic_load(&ch->tail);
	struct lt__block *block = atomic_load(&ch->tail_block);
	struct lt__block *next_block = NULL;
	unsigned spins = 0;

	for (;;) {
		uint64_t offset;

		if (tail & 1u) {
			free(next_block);
			return LT_ECLOSED;
		}
		offset = (tail >> 1) % LT__LAP;
		if (offset == LT__BLK_CAP) {
			/* Another sender is linking the next block. */
			lt__backoff(&spins);
			tail = atomic_load(&ch->tail);
			block = atomic_load(&ch->tail_block);
			continue;
		}
		if (offset + 1 == LT__BLK_CAP && !next_block) {
			next_block = calloc(1, sizeof(*next_block));
			if (!next_block)
				return LT_ENOMEM;
		}
		if (atomic_compare_exchange_weak(&ch->tail, &tail, tail + 2)) {
			struct lt__uslot *slot = &block->slots[offset];
			uint32_t depth = LT_DEPTH_UNKNOWN;

			if (offset + 1 == LT__BLK_CAP) {
				atomic_store(&ch->tail_block, next_block);
				atomic_fetch_add(&ch->tail, 2); /* skip the block end */
				atomic_store(&block->next, next_block);
				next_block = NULL;
			}
			slot->msg = msg;
			slot->id = id;
			slot->flow = flow;
			if (ch->want_depth && depth_anchor(ch, u_count(tail)))
				depth = depth_of(
				    u_count(tail + 2),
				    u_count(atomic_load_explicit(&ch->head, memory_order_relaxed)));
			lt_send(ch->id, id, flow, depth);
			atomic_store_explicit(&slot->written, 1, memory_order_release);
			free(next_block);
			return LT_OK;
		}
		block = atomic_load(&ch->tail_block);
	}
}

/* push - one attempt; on success *id is the message's id (unbounded: *id is passed in). */
static inline enum lt_err push(struct lt_chan *ch, void *msg, uint64_t flow, uint64_t *id)
{
	return ch->bounded ? b_push(ch, msg, flow, id) : u_push(ch, msg, *id, flow);
}

/* ---- pop --------------------------------------------------------------------------------- */

/* b_ready - non-zero if the slot at the receiver's head is written (a pop succeeds at once). */
static inline int b_ready(struct lt_chan *ch)
{
	uint64_t head = atomic_load_explicit(&ch->head, memory_order_relaxed);
	uint64_t stamp =
	    atomic_load_explicit(&ch->buf[head & (ch->mark - 1)].stamp, memory_order_relaxed);

	return (stamp & LT__STAMP_MASK) == ((head + 1) & LT__STAMP_MASK);
}

/*
 * b_take - the receiver takes the message at `head` from `slot`, whose stamp (`stamp`) says it
 * is written, and frees the slot for the next lap.
 */
static inline __attribute__((always_inline)) void b_take(struct lt_chan *ch, uint64_t head,
							 uint64_t stamp, void **msg,
							 struct lt_msg_info *info, uint32_t *depth)
{
	uint64_t index = head & (ch->mark - 1);
	struct lt__slot *slot = &ch->buf[index];
	uint64_t lap = head & ~(ch->one_lap - 1);
	uint64_t next = index + 1 < ch->cap ? head + 1 : lap + ch->one_lap;
	uint32_t cpu = (uint32_t)(stamp >> LT__CPU_SHIFT);

	*msg = slot->msg;
	info->flow = (stamp & LT__STAMP_FLOW) ? ch->flows[index] : 0;
	/* Ids run on within an epoch: look the base up only when a new epoch starts. */
	if (__builtin_expect(ch->recv_left == 0, 0)) {
		uint64_t pos = b_count(ch, head), len = UINT64_C(1) << ch->epoch_shift;

		ch->recv_id = msg_id_at(ch, pos);
		ch->recv_left = len - (pos & (len - 1));
	}
	info->id = ch->recv_id++;
	ch->recv_left--;
	/* Release: the slot is free for the next lap once a sender sees this. */
	atomic_store_explicit(&slot->stamp, (head + ch->one_lap) & LT__STAMP_MASK,
			      memory_order_release);
	info->chan = ch->id;
	if (index + 1 == ch->cap)
		note_self_cpu(ch);
	atomic_store_explicit(&ch->head, next, memory_order_release);
	if (atomic_load_explicit(&ch->recv_cpu, memory_order_relaxed) != cpu)
		atomic_store_explicit(&ch->recv_cpu, cpu, memory_order_relaxed);
	/* Not read: the senders' tail is a line they keep writing (LT_DEPTH_UNKNOWN). */
	*depth = LT_DEPTH_UNKNOWN;
	notify_senders(ch);
}

static enum lt_err b_pop(struct lt_chan *ch, void **msg, struct lt_msg_info *info, uint32_t *depth)
{
	uint64_t head = atomic_load_explicit(&ch->head, memory_order_relaxed);
	struct lt__slot *slot = &ch->buf[head & (ch->mark - 1)];
	unsigned spins = 0;

	for (;;) {
		uint64_t stamp = atomic_load_explicit(&slot->stamp, memory_order_acquire);

		if ((stamp & LT__STAMP_MASK) == ((head + 1) & LT__STAMP_MASK)) {
			b_take(ch, head, stamp, msg, info, depth);
			return LT_OK;
		}
		{
			uint64_t tail = atomic_load(&ch->tail);

			if ((tail & ~ch->mark) == head)
				return (tail & ch->mark) ? LT_ECLOSED : LT_EAGAIN;
		}
		/* A sender claimed the slot and is writing it. */
		lt__backoff(&spins);
	}
}

static enum lt_err u_pop(struct lt_chan *ch, void **msg, struct lt_msg_info *info, uint32_t *depth)
{
	uint64_t head = atomic_load_explicit(&ch->head, memory_order_relaxed);
	struct lt__block *block = ch->head_block;
	uint64_t offset = (head >> 1) % LT__LAP;
	struct lt__uslot *slot = &block->slots[offset];
	unsigned spins = 0;
	uint64_t next, tail;

	while (!atomic_load(&slot->written)) {
		tail = atomic_load(&ch->tail);
		if ((tail >> 1) == (head >> 1))
			return (tail & 1u) ? LT_ECLOSED : LT_EAGAIN;
		lt__backoff(&spins);
	}
	*msg = slot->msg;
	info->id = slot->id;
	info->flow = slot->flow;
	info->chan = ch->id;
	if (offset + 1 == LT__BLK_CAP) {
		struct lt__block *nb;

		while (!(nb = atomic_load(&block->next)))
			lt__cpu_relax();
		ch->head_block = nb;
		free(block);
		next = head + 4;
	} else {
		next = head + 2;
	}
	atomic_store_explicit(&ch->head, next, memory_order_relaxed);
	*depth = LT_DEPTH_UNKNOWN; /* as b_take */
	return LT_OK;
}

enum lt_err lt__chan_pop(struct lt_chan *ch, void **msg, struct lt_msg_info *info, uint32_t *depth)
{
	return ch->bounded ? b_pop(ch, msg, info, depth) : u_pop(ch, msg, info, depth);
}

int lt__chan_poll(struct lt_chan *ch)
{
	uint64_t tail = atomic_load(&ch->tail);
	uint64_t head = atomic_load_explicit(&ch->head, memory_order_relaxed);

	if (ch->bounded)
		return (tail & ch->mark) || tail != head;
	return (tail & 1u) || (tail >> 1) != (head >> 1);
}

/* ---- public send ------------------------------------------------------------------------------
 */

/*
 * send_spin - a sender's spin phase on a full channel (LT_EAGAIN: still full, park). Each of
 * LT__SEND_SPIN rounds waits LT__SEND_BACKOFF pause instructions before it looks again: each
 * look reads the slot the receiver is about to free, taking that cache line away from the
 * receiver, which is what slows it down when several senders poll. When the receiver runs on this
 * very CPU the sender yields instead (spinning would only delay the receiver); after the rounds it
 * yields LT__SEND_YIELDS times.
 */
static enum lt_err send_spin(struct lt_chan *ch, void *msg, uint64_t flow, uint64_t *id)
{
	enum lt_err err;

	for (unsigned round = 0; round < LT__SEND_SPIN + LT__SEND_YIELDS; round++) {
		if (round >= LT__SEND_SPIN ||
		    (ch->bounded &&
		     same_cpu(atomic_load_explicit(&ch->self_cpu, memory_order_relaxed))))
			sched_yield();
		else
			for (int i = 0; i < LT__SEND_BACKOFF; i++)
				lt__cpu_relax();
		err = push(ch, msg, flow, id);
		if (err != LT_EAGAIN)
			return err;
	}
	return LT_EAGAIN;
}

/* unlink_sender - takes `sw` out of ch->seq_senders if a wake did not already (seq_mu held). */
static void unlink_sender(struct lt_chan *ch, struct lt__send_waiter *sw)
{
	struct lt__send_waiter **pp = &ch->seq_senders;

	if (!sw->linked)
		return;
	while (*pp && *pp != sw)
		pp = &(*pp)->next;
	if (*pp)
		*pp = sw->next;
	sw->linked = 0;
}

/*
 * send_await - a pooled sequence's send on a full channel: no spinning (it would hold the
 * worker); it counts itself among the parked senders as a thread does (send_waiters, the
 * heavy half of the fence), links a waiter in ch->seq_senders unless send_seq moved, and
 * suspends until the receiver frees a slot, the channel closes or the deadline passes.
 * Returns what the last push returned, or LT_ETIMEDOUT.
 */
static enum lt_err send_await(struct lt_chan *ch, void *msg, uint64_t flow, uint64_t deadline_ns,
			      uint64_t *id, const void *where)
{
	struct lt__send_waiter sw = {.next = NULL, .linked = 0};
	enum lt_err err = LT_EAGAIN;
	int blocked = 0;

	lt__waiter_init(&sw.w, -1);
	while (err == LT_EAGAIN) {
		uint32_t seq;
		int linked;

		atomic_fetch_add(&ch->send_waiters, 1);
		seq = atomic_load(&ch->send_seq);
		atomic_store(&ch->send_woken, 0);
		lt__asym_fence_heavy();
		err = push(ch, msg, flow, id);
		if (err == LT_EAGAIN && deadline_ns != LT_FOREVER && lt_rt_now_ns() >= deadline_ns)
			err = LT_ETIMEDOUT;
		if (err != LT_EAGAIN) {
			atomic_fetch_sub(&ch->send_waiters, 1);
			break;
		}
		if (!blocked) {
			lt_block_begin_at(LT_BLOCK_CHAN_SEND, ch, where);
			blocked = 1;
		}
		atomic_store(&sw.w.word, LT__W_ARMED);
		pthread_mutex_lock(&ch->seq_mu);
		linked = atomic_load(&ch->send_seq) == seq;
		if (linked) {
			sw.next = ch->seq_senders;
			ch->seq_senders = &sw;
			sw.linked = 1;
		}
		pthread_mutex_unlock(&ch->seq_mu);
		/* A wake may unlink it meanwhile: then the park returns at once. */
		if (linked)
			lt__waiter_park(&sw.w, deadline_ns);
		pthread_mutex_lock(&ch->seq_mu);
		unlink_sender(ch, &sw);
		pthread_mutex_unlock(&ch->seq_mu);
		atomic_fetch_sub(&ch->send_waiters, 1);
		err = push(ch, msg, flow, id);
	}
	if (blocked)
		lt_block_end();
	return err;
}

/*
 * chan_send_at / chan_recv_at - the send and receive paths; `where` is the user's call site
 * (the return address of the public entry point), recorded on block_begin so the report
 * names the caller's line, not the runtime's.
 */
static enum lt_err chan_send_at(struct lt_chan *ch, void *msg, uint64_t flow, uint64_t deadline_ns,
				uint64_t *id_out, const void *where)
{
	uint64_t id;
	enum lt_err err;
	int blocked = 0;

	if (!ch)
		return LT_EINVAL;
	/* A bounded channel derives the id from the position it claims. */
	id = ch->bounded ? 0 : lt_message_new();
	err = push(ch, msg, flow, &id);
	if (err == LT_EAGAIN && deadline_ns != 0 && lt__seq_current()) {
		/* Full, in a pooled sequence: suspend, releasing the worker. */
		err = send_await(ch, msg, flow, deadline_ns, &id, where);
	} else if (err == LT_EAGAIN && deadline_ns != 0) {
		/* Full: spin a little, then park until the receiver frees a slot. */
		err = send_spin(ch, msg, flow, &id);
		while (err == LT_EAGAIN) {
			uint32_t seq;

			atomic_fetch_add(&ch->send_waiters, 1);
			seq = atomic_load(&ch->send_seq);
			atomic_store(&ch->send_woken, 0);
			/* The heavy half of the Dekker pair with notify_senders. */
			lt__asym_fence_heavy();
			err = push(ch, msg, flow, &id);
			if (err != LT_EAGAIN) {
				atomic_fetch_sub(&ch->send_waiters, 1);
				break;
			}
			if (deadline_ns != LT_FOREVER && lt_rt_now_ns() >= deadline_ns) {
				atomic_fetch_sub(&ch->send_waiters, 1);
				err = LT_ETIMEDOUT;
				break;
			}
			if (!blocked) {
				lt_block_begin_at(LT_BLOCK_CHAN_SEND, ch, where);
				blocked = 1;
			}
			lt__futex_wait(&ch->send_seq, seq, deadline_ns);
			atomic_fetch_sub(&ch->send_waiters, 1);
			err = push(ch, msg, flow, &id);
		}
		if (blocked)
			lt_block_end();
	}
	if (err != LT_OK)
		return err;
	notify_receiver(ch);
	if (id_out)
		*id_out = id;
	return LT_OK;
}

/*
 * send_entry - every public send: on a bounded channel the first attempt is inlined here (no
 * call below the entry point: at tens of millions of messages a second, calls and their
 * register saves are a good part of a message's cost); a full channel takes chan_send_at,
 * which tries again, spins and parks.
 */
static inline __attribute__((always_inline)) enum lt_err
send_entry(struct lt_chan *ch, void *msg, uint64_t flow, uint64_t deadline_ns, uint64_t *id_out,
	   const void *where)
{
	if (ch && ch->bounded) {
		enum lt_err err = b_push(ch, msg, flow, id_out);

		if (err == LT_OK) {
			notify_receiver(ch);
			return LT_OK;
		}
		if (err != LT_EAGAIN || deadline_ns == 0)
			return err;
	}
	return chan_send_at(ch, msg, flow, deadline_ns, id_out, where);
}

enum lt_err lt_chan_send_ex(struct lt_chan *ch, void *msg, uint64_t flow, uint64_t deadline_ns,
			    uint64_t *id_out)
{
	return send_entry(ch, msg, flow, deadline_ns, id_out, __builtin_return_address(0));
}

enum lt_err lt_chan_send(struct lt_chan *ch, void *msg)
{
	return send_entry(ch, msg, 0, LT_FOREVER, NULL, __builtin_return_address(0));
}

enum lt_err lt_chan_send_flow(struct lt_chan *ch, void *msg, uint64_t flow)
{
	return send_entry(ch, msg, flow, LT_FOREVER, NULL, __builtin_return_address(0));
}

enum lt_err lt_chan_try_send(struct lt_chan *ch, void *msg)
{
	return send_entry(ch, msg, 0, 0, NULL, NULL);
}

enum lt_err lt_chan_send_timed(struct lt_chan *ch, void *msg, uint64_t deadline_ns)
{
	enum lt_err err = send_entry(ch, msg, 0, deadline_ns ? deadline_ns : 1, NULL,
				     __builtin_return_address(0));

	return err == LT_EAGAIN ? LT_ETIMEDOUT : err;
}

/* ---- public receive ----------------------------------------------------------------------------
 */

/*
 * Streams. A receiver that keeps finding a message at once (LT__STREAM_STREAK receives in a
 * row) is draining a stream; when the ring runs dry it waits LT__STREAM_BACKOFF pauses
 * (about 1.6 us) before it looks again, so that the senders fill a few slot lines without
 * the receiver taking each line back after every message. A receive that had to wait ends
 * the streak: a ping-pong never backs off.
 */
#define LT__STREAM_STREAK  16
#define LT__STREAM_BACKOFF 64

/* note_streak - counts receives in a row that found a message at once (receiver only). */
static inline void note_streak(struct lt_chan *ch, int at_once)
{
	uint32_t st = atomic_load_explicit(&ch->streak, memory_order_relaxed);
	uint32_t nst = at_once ? (st < LT__STREAM_STREAK ? st + 1 : st) : 0;

	if (nst != st)
		atomic_store_explicit(&ch->streak, nst, memory_order_relaxed);
}

/*
 * recv_spin - the receiver's spin phase (LT_EAGAIN: nothing came, park). Up to LT__RECV_SPIN
 * rounds of four pause instructions. A bounded channel looks at the head slot's stamp after
 * each pause (one load of a line that stays in this core's cache until a sender writes it),
 * so a message is seen within one pause of its arrival; an unbounded one looks once per
 * round. Every LT__SPIN_YIELD_EVERY rounds it yields, so that a sender sharing this CPU runs,
 * and does a full pop (which notices a close); and when the sender of the last message ran on
 * this very CPU it yields every round instead: that sender cannot run while we spin.
 */
static enum lt_err recv_spin(struct lt_chan *ch, void **m, struct lt_msg_info *info,
			     uint32_t *depth)
{
	enum lt_err err = LT_EAGAIN;

	if (ch->bounded)
		note_self_cpu(ch);
	for (unsigned round = 0; round < LT__RECV_SPIN; round++) {
		if (round % LT__SPIN_YIELD_EVERY == LT__SPIN_YIELD_EVERY - 1 ||
		    (ch->bounded &&
		     same_cpu(atomic_load_explicit(&ch->recv_cpu, memory_order_relaxed)))) {
			sched_yield();
			err = lt__chan_pop(ch, m, info, depth);
			if (err != LT_EAGAIN)
				return err;
			continue;
		}
		for (int i = 0; i < 4; i++) {
			lt__cpu_relax();
			if (ch->bounded && b_ready(ch))
				return lt__chan_pop(ch, m, info, depth);
		}
		/* Unbounded: one look per round (it reads the senders' tail). */
		if (!ch->bounded && lt__chan_poll(ch))
			return lt__chan_pop(ch, m, info, depth);
	}
	return err;
}

static enum lt_err chan_recv_at(struct lt_chan *ch, void **msg, struct lt_msg_info *info,
				uint64_t deadline_ns, const void *where)
{
	struct lt_msg_info local;
	struct lt__waiter w;
	uint32_t depth = 0;
	int blocked = 0;
	enum lt_err err;
	void *m = NULL;

	if (!ch || !msg)
		return LT_EINVAL;
	if (!info)
		info = &local;
	/*
	 * A bounded channel whose head slot is not written yet and that is open: go straight to
	 * the spin phase, without the pop's look at tail (that would pull the senders' cache
	 * line here on every receive of a ping-pong). The spin phase looks at tail periodically.
	 */
	if (deadline_ns != 0 && ch->bounded && !b_ready(ch) &&
	    !atomic_load_explicit(&ch->closed, memory_order_relaxed)) {
		err = LT_EAGAIN;
		if (atomic_load_explicit(&ch->streak, memory_order_relaxed) >= LT__STREAM_STREAK) {
			/*
			 * A stream ran dry: the senders are busy writing the next slots. Looking
			 * now would pull the line they write to here after each message (two slots
			 * share a line); let them fill a few lines first.
			 */
			for (int i = 0; i < LT__STREAM_BACKOFF; i++)
				lt__cpu_relax();
			if (b_ready(ch))
				err = lt__chan_pop(ch, &m, info, &depth);
		}
	} else {
		err = lt__chan_pop(ch, &m, info, &depth);
	}
	if (ch->bounded)
		note_streak(ch, err == LT_OK);
	if (err == LT_EAGAIN && deadline_ns != 0) {
		/* A pooled sequence does not spin (it would hold its worker): it suspends. */
		if (!lt__seq_current())
			err = recv_spin(ch, &m, info, &depth);
		lt__waiter_init(&w, -1);
		while (err == LT_EAGAIN) {
			atomic_store(&w.word, LT__W_ARMED);
			lt__chan_register(ch, &w);
			if (lt__chan_poll(ch)) {
				lt__chan_unregister(ch, &w);
				err = lt__chan_pop(ch, &m, info, &depth);
				continue;
			}
			if (deadline_ns != LT_FOREVER && lt_rt_now_ns() >= deadline_ns) {
				lt__chan_unregister(ch, &w);
				err = LT_ETIMEDOUT;
				break;
			}
			if (!blocked) {
				lt_block_begin_at(LT_BLOCK_CHAN_RECV, ch, where);
				blocked = 1;
			}
			lt__waiter_park(&w, deadline_ns);
			lt__chan_unregister(ch, &w);
			err = lt__chan_pop(ch, &m, info, &depth);
		}
		if (blocked)
			lt_block_end();
	}
	if (err != LT_OK)
		return err;
	lt_recv(ch->id, info->id, depth);
	*msg = m;
	return LT_OK;
}

/*
 * recv_entry - every public receive: on a bounded channel whose head slot is written, the
 * receive is inlined here; otherwise chan_recv_at looks again, spins and parks.
 */
static inline __attribute__((always_inline)) enum lt_err recv_entry(struct lt_chan *ch, void **msg,
								    struct lt_msg_info *info,
								    uint64_t deadline_ns,
								    const void *where)
{
	if (ch && msg && ch->bounded) {
		uint64_t head = atomic_load_explicit(&ch->head, memory_order_relaxed);
		uint64_t stamp = atomic_load_explicit(&ch->buf[head & (ch->mark - 1)].stamp,
						      memory_order_acquire);

		if ((stamp & LT__STAMP_MASK) == ((head + 1) & LT__STAMP_MASK)) {
			struct lt_msg_info local;
			struct lt_msg_info *in = info ? info : &local;
			uint32_t depth;

			b_take(ch, head, stamp, msg, in, &depth);
			note_streak(ch, 1);
			lt_recv(ch->id, in->id, depth);
			return LT_OK;
		}
	}
	return chan_recv_at(ch, msg, info, deadline_ns, where);
}

enum lt_err lt_chan_recv_ex(struct lt_chan *ch, void **msg, struct lt_msg_info *info,
			    uint64_t deadline_ns)
{
	return recv_entry(ch, msg, info, deadline_ns, __builtin_return_address(0));
}

enum lt_err lt_chan_recv(struct lt_chan *ch, void **msg)
{
	return recv_entry(ch, msg, NULL, LT_FOREVER, __builtin_return_address(0));
}

enum lt_err lt_chan_try_recv(struct lt_chan *ch, void **msg)
{
	return recv_entry(ch, msg, NULL, 0, NULL);
}

enum lt_err lt_chan_recv_timed(struct lt_chan *ch, void **msg, uint64_t deadline_ns)
{
	enum lt_err err =
	    recv_entry(ch, msg, NULL, deadline_ns ? deadline_ns : 1, __builtin_return_address(0));

	return err == LT_EAGAIN ? LT_ETIMEDOUT : err;
}

size_t lt_chan_drain(struct lt_chan *ch, lt_handback_fn fn, void *arg)
{
	struct lt_msg_info info;
	uint32_t depth;
	size_t n = 0;
	void *m;

	if (!ch)
		return 0;
	while (lt__chan_pop(ch, &m, &info, &depth) == LT_OK) {
		n++;
		lt_recv(ch->id, info.id, depth);
		if (fn)
			fn(m, &info, arg);
		else if (ch->free_fn)
			ch->free_fn(m);
	}
	return n;
}

/* ---- properties ----------------------------------------------------------------------------- */

uint32_t lt_chan_id(const struct lt_chan *ch)
{
	return ch ? ch->id : 0;
}

const char *lt_chan_name(const struct lt_chan *ch)
{
	return ch ? ch->name : "";
}

size_t lt_chan_capacity(const struct lt_chan *ch)
{
	return ch ? ch->cap : 0;
}

size_t lt_chan_depth(const struct lt_chan *ch)
{
	uint64_t tail, head;

	if (!ch)
		return 0;
	head = atomic_load(&((struct lt_chan *)ch)->head);
	tail = atomic_load(&((struct lt_chan *)ch)->tail);
	if (ch->bounded)
		return b_depth(ch, b_count(ch, tail & ~ch->mark), b_count(ch, head));
	return depth_of(u_count(tail & ~(uint64_t)1), u_count(head));
}

int lt_chan_is_closed(const struct lt_chan *ch)
{
	return ch ? atomic_load(&((struct lt_chan *)ch)->closed) : 0;
}
