/*
 * looptrace/reasons.h - the names of the block reasons, spelled in one place.
 *
 * LT_BLOCK_REASONS(X) expands X(enumerator, "name") once per value of enum lt_block_reason
 * (trace.h), in value order. liblooptrace (lt_block_reason_name), the analysis report
 * (`blocked_by[].reason`) and the Perfetto export (block slice names) build their tables
 * from it; the assertions below keep it in step with the enum. The names are the ones
 * docs/event-model.md lists.
 */
#ifndef LOOPTRACE_REASONS_H
#define LOOPTRACE_REASONS_H

#include "looptrace/trace.h"

#define LT_BLOCK_REASONS(X)                                                                        \
	X(LT_BLOCK_CHAN_RECV, "chan_recv")                                                         \
	X(LT_BLOCK_CHAN_SEND, "chan_send")                                                         \
	X(LT_BLOCK_MUTEX, "mutex")                                                                 \
	X(LT_BLOCK_CONDVAR, "condvar")                                                             \
	X(LT_BLOCK_RWLOCK, "rwlock")                                                               \
	X(LT_BLOCK_SEM, "sem")                                                                     \
	X(LT_BLOCK_SLEEP, "sleep")                                                                 \
	X(LT_BLOCK_IO, "io")                                                                       \
	X(LT_BLOCK_JOIN, "join")                                                                   \
	X(LT_BLOCK_CALL, "call")

/*
 * LT_BLOCK_REASON_NAMES - initializer of a `const char *const [LT_BLOCK_REASON_COUNT]`
 * indexed by reason value.
 */
#define LT__BLOCK_REASON_NAME(e, name) name,
#define LT_BLOCK_REASON_NAMES                                                                      \
	{                                                                                          \
		LT_BLOCK_REASONS(LT__BLOCK_REASON_NAME)                                            \
	}

/* The table has one entry per reason, entry i for value i. */
#define LT__BLOCK_REASON_ONE(e, name)   +1
#define LT__BLOCK_REASON_ORDER(e, name) lt__order_##e,
enum lt__block_reason_order { LT_BLOCK_REASONS(LT__BLOCK_REASON_ORDER) };
#ifdef __cplusplus
#define LT__BLOCK_REASON_ASSERT static_assert
#else
#define LT__BLOCK_REASON_ASSERT _Static_assert
#endif
LT__BLOCK_REASON_ASSERT((0 LT_BLOCK_REASONS(LT__BLOCK_REASON_ONE)) == LT_BLOCK_REASON_COUNT,
			"LT_BLOCK_REASONS must name every enum lt_block_reason value");
#define LT__BLOCK_REASON_AT(e, name)                                                               \
	LT__BLOCK_REASON_ASSERT((int)lt__order_##e == (int)(e), #e " is out of value order");
LT_BLOCK_REASONS(LT__BLOCK_REASON_AT)

#endif /* LOOPTRACE_REASONS_H */
