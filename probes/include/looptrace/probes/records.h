/*
 * looptrace/probes/records.h - the compact per-thread records of trace format 2.0: what the
 * `words` of a `looptrace:batch` event hold. One header for the producer (liblooptrace,
 * libtrace/src/trace.c) and the decoder (analysis/bt2/decode.c); docs/event-model.md
 * explains the layout.
 *
 * A record is 1 or more 64-bit words. Word 0:
 *   bits  0..7   kind (enum lt_rec_kind)
 *   bits  8..31  time delta from the thread's previous record, in clock ticks (TSC cycles or
 *                ns, the batch's `clock`); a delta that does not fit is preceded by SYNC
 *   bits 32..63  a: a small argument, per kind
 * The words that follow are per kind (below). Strings (names, kinds) are packed into words,
 * little-endian, NUL-padded; their byte length is in `a` (low 16 bits).
 */
#ifndef LOOPTRACE_PROBES_RECORDS_H
#define LOOPTRACE_PROBES_RECORDS_H

#include <stdint.h>

#define LT_REC_FORMAT_MAJOR 2
#define LT_REC_FORMAT_MINOR                                                                        \
	2 /* 2.1: pool and sequence records (23..30); batch field msg_hi;                          \
	     2.2: the depth LT_REC_DEPTH_UNKNOWN */

#define LT_REC_DELTA_BITS 24
#define LT_REC_DELTA_MAX  ((UINT64_C(1) << LT_REC_DELTA_BITS) - 1)
#define LT_REC_STR_MAX    12000 /* longer names are cut */

/* `a` of the short SEND/RECV/HANDLE forms: a 12-bit channel or handler key, a 20-bit depth. */
#define LT_REC_KEY_BITS  12
#define LT_REC_KEY_MAX   ((1u << LT_REC_KEY_BITS) - 1)
#define LT_REC_DEPTH_MAX ((1u << 20) - 1)
/* A short form's depth LT_REC_DEPTH_MAX means LT_DEPTH_UNKNOWN (format 2.2; a depth of exactly
 * LT_REC_DEPTH_MAX takes the long form). lt_rec_depth_short(d): whether depth d (a 32-bit
 * depth or LT_DEPTH_UNKNOWN, 0xffffffff) has a short form, which is then d & LT_REC_DEPTH_MAX. */
#define LT_REC_DEPTH_UNKNOWN  LT_REC_DEPTH_MAX
#define lt_rec_depth_short(d) ((uint32_t)((d) + 1u) <= LT_REC_DEPTH_MAX)
#define LT_REC_MSG48_MAX      ((UINT64_C(1) << 48) - 1) /* low bits of an HNEXT's msg */
#define LT_REC_EDELTA_MAX     0xffffu

/* Record kinds and their words after word 0 (w1, w2, ...). */
enum lt_rec_kind {
	LT_REC_PAD = 0,          /* a = words in this record including word 0: skip them */
	LT_REC_SYNC = 1,         /* w1 = absolute clock value; the delta of word 0 is 0 */
	LT_REC_DEF_KEY = 2,      /* a = key (12 bits) | string length << 12 (bytes); w1 = chan;
				    then the kind string: handler key `key` is (chan, kind) */
	LT_REC_SEND = 3,         /* a = chan (12) | depth << 12 (20, see LT_REC_DEPTH_UNKNOWN);
				    w1 = msg; flow 0 */
	LT_REC_SEND_LONG = 4,    /* a = depth; w1 = chan; w2 = msg; w3 = flow */
	LT_REC_RECV = 5,         /* a = chan (12) | depth << 12 (20); w1 = msg */
	LT_REC_RECV_LONG = 6,    /* a = depth; w1 = chan; w2 = msg */
	LT_REC_HNEXT = 7,        /* a = key (12) | depth << 12 (20); w1 = msg (48) | edelta << 48,
				    msg's top 16 bits being the batch's msg_hi (format 2.1; else
				    HNEXT_LONG):
				    the open handler ended edelta ticks before this record; then
				    recv(chan of key, msg, depth) and handle_begin(msg, kind of key)
				    at this record's time */
	LT_REC_HNEXT0 = 8,       /* as HNEXT, no handler ended (edelta 0) */
	LT_REC_HNEXT_LONG = 9,   /* a = key; w1 = depth; w2 = msg; w3 = edelta (ticks, ~0: none
				    ended) */
	LT_REC_HBEGIN = 10,      /* a = key; w1 = msg */
	LT_REC_HEND = 11,        /* w1 = msg: the open handler ended at this record's time */
	LT_REC_WAIT_BEGIN = 12,  /* w1 = thread CPU time, ns (CLOCK_THREAD_CPUTIME_ID; 0 unknown) */
	LT_REC_WAIT_END = 13,    /* a = chan; w1 = msg */
	LT_REC_BLOCK_BEGIN = 14, /* a = reason; w1 = object; w2 = where */
	LT_REC_BLOCK_END = 15,   /* (no words) */
	LT_REC_COMP_BEGIN = 16,  /* a = name length; w1 = comp; w2 = CPU time ns; then the name */
	LT_REC_COMP_END = 17,    /* a = comp; w1 = CPU time ns */
	LT_REC_CHAN_DECLARE = 18,   /* a = name length; w1 = chan | capacity << 32; w2 = object;
				       then the name */
	LT_REC_ROUTE_ADD = 19,      /* a = route; w1 = chan | owner << 32 */
	LT_REC_ROUTE_REMOVE = 20,   /* a = route */
	LT_REC_DISPATCH_BEGIN = 21, /* a = route; w1 = msg */
	LT_REC_DISPATCH_END = 22,   /* a = route */
	/* format 2.1: pools and sequences (a 2.0 reader stops at them: unknown kind) */
	LT_REC_POOL_DECLARE = 23,  /* a = name length; w1 = pool | threads << 32; w2 = 0; then
				      the name */
	LT_REC_WORKER_BEGIN = 24,  /* a = pool: this thread is a worker of `pool` */
	LT_REC_WORKER_END = 25,    /* a = pool */
	LT_REC_SEQ_BEGIN = 26,     /* a = name length; w1 = comp | pool << 32; w2 = flags; then
				      the name */
	LT_REC_SEQ_END = 27,       /* a = comp */
	LT_REC_SEQ_READY = 28,     /* a = comp (any thread: usually not the sequence's worker) */
	LT_REC_SEQ_RUN_BEGIN = 29, /* a = comp: this worker runs `comp` from now */
	LT_REC_SEQ_RUN_END = 30,   /* a = comp */
	LT_REC_KIND_COUNT
};

static inline uint64_t lt_rec_w0(unsigned kind, uint64_t delta, uint32_t a)
{
	return (uint64_t)kind | delta << 8 | (uint64_t)a << 32;
}

static inline unsigned lt_rec_kind(uint64_t w0)
{
	return (unsigned)(w0 & 0xff);
}

static inline uint64_t lt_rec_delta(uint64_t w0)
{
	return (w0 >> 8) & LT_REC_DELTA_MAX;
}

static inline uint32_t lt_rec_a(uint64_t w0)
{
	return (uint32_t)(w0 >> 32);
}

static inline unsigned lt_rec_str_words(uint32_t len)
{
	return (len + 7) / 8;
}

/*
 * lt_rec_words - the number of words of the record whose word 0 is w0 (word 0 included); 0
 * for an unknown kind (the rest of the batch cannot be read).
 */
static inline unsigned lt_rec_words(uint64_t w0)
{
	uint32_t a = lt_rec_a(w0);

	switch (lt_rec_kind(w0)) {
	case LT_REC_PAD:
		return a ? a : 1;
	case LT_REC_SYNC:
		return 2;
	case LT_REC_DEF_KEY:
		return 2 + lt_rec_str_words(a >> 12);
	case LT_REC_SEND:
		return 2;
	case LT_REC_SEND_LONG:
		return 4;
	case LT_REC_RECV:
		return 2;
	case LT_REC_RECV_LONG:
		return 3;
	case LT_REC_HNEXT:
	case LT_REC_HNEXT0:
		return 2;
	case LT_REC_HNEXT_LONG:
		return 4;
	case LT_REC_HBEGIN:
	case LT_REC_HEND:
	case LT_REC_WAIT_BEGIN:
	case LT_REC_WAIT_END:
		return 2;
	case LT_REC_BLOCK_BEGIN:
		return 3;
	case LT_REC_BLOCK_END:
		return 1;
	case LT_REC_COMP_BEGIN:
		return 3 + lt_rec_str_words(a & 0xffff);
	case LT_REC_COMP_END:
		return 2;
	case LT_REC_CHAN_DECLARE:
		return 3 + lt_rec_str_words(a & 0xffff);
	case LT_REC_ROUTE_ADD:
		return 2;
	case LT_REC_ROUTE_REMOVE:
		return 1;
	case LT_REC_DISPATCH_BEGIN:
		return 2;
	case LT_REC_DISPATCH_END:
		return 1;
	case LT_REC_POOL_DECLARE:
	case LT_REC_SEQ_BEGIN:
		return 3 + lt_rec_str_words(a & 0xffff);
	case LT_REC_WORKER_BEGIN:
	case LT_REC_WORKER_END:
	case LT_REC_SEQ_END:
	case LT_REC_SEQ_READY:
	case LT_REC_SEQ_RUN_BEGIN:
	case LT_REC_SEQ_RUN_END:
		return 1;
	default:
		return 0;
	}
}

/* Values of the batch's `clock` field. */
#define LT_REC_CLOCK_TSC 0 /* x86 TSC cycles (invariant TSC), mapped to ns by calibration */
#define LT_REC_CLOCK_NS  1 /* CLOCK_MONOTONIC ns: LTTng-UST's clock itself */

#endif /* LOOPTRACE_PROBES_RECORDS_H */
