/*
 * recording.c - the LTTng-UST application context `$app.looptrace:record`: which `looptrace
 * record` run this process belongs to.
 *
 * `looptrace record` puts a random positive number in the environment variable
 * LOOPTRACE_RECORD_ID of the command it runs and enables its events with the filter
 * `$app.looptrace:record == <that number>`. Every process that inherits the variable (children,
 * grandchildren, daemons the command spawns, fork() without exec) and loads the probes answers
 * that number, so its events are recorded; every other process of the user answers nothing
 * (LTTng-UST's dummy provider when this file is not loaded, or no variable), and its events are
 * dropped in that process before they reach the ring buffer. See docs/cli.md.
 *
 * Compiled into the probes (liblooptrace-probes.so and .a) and the interposer: the first copy
 * to register in a process provides the context, the others find the name taken and do
 * nothing. The value is read once, when the copy is loaded.
 *
 * LTTng-UST 2.13 does not install the header of its context provider ABI
 * (src/common/ust-context-provider.h: "part of the ABI and used by the Java jni interface");
 * the structures below repeat that ABI of liblttng-ust.so.1 (fields are only ever appended,
 * the size is passed in `struct_size`).
 */
#define _GNU_SOURCE
#include "recording.h"

#include <lttng/ust-events.h>
#include <lttng/ust-ringbuffer-context.h>

#include <stdint.h>
#include <stdlib.h>

/* enum lttng_ust_dynamic_type (src/common/dynamic-type.h, 2.13) */
enum { UST_DYNAMIC_TYPE_NONE = 0, UST_DYNAMIC_TYPE_S64 = 4 };

/* struct lttng_ust_ctx_value (2.13) */
struct ust_ctx_value {
	int sel; /* enum lttng_ust_dynamic_type */
	union {
		int64_t s64;
		uint64_t u64;
		const char *str;
		double d;
	} u;
};

/* struct lttng_ust_context_provider (2.13) */
struct ust_context_provider {
	uint32_t struct_size;
	const char *name;
	size_t (*get_size)(void *priv, void *probe_ctx, size_t offset);
	void (*record)(void *priv, void *probe_ctx, struct lttng_ust_ring_buffer_ctx *ctx,
		       struct lttng_ust_channel_buffer *chan);
	void (*get_value)(void *priv, void *probe_ctx, struct ust_ctx_value *value);
	void *priv;
};

extern void *lttng_ust_context_provider_register(struct ust_context_provider *provider);

static int64_t record_id; /* LOOPTRACE_RECORD_ID, 0 when absent or malformed */

static size_t ctx_get_size(void *priv, void *probe_ctx, size_t offset)
{
	size_t size = 0;

	(void)priv;
	(void)probe_ctx;
	size += lttng_ust_ring_buffer_align(offset, lttng_ust_rb_alignof(char));
	size += sizeof(char); /* variant tag */
	if (record_id) {
		size += lttng_ust_ring_buffer_align(offset + size, lttng_ust_rb_alignof(int64_t));
		size += sizeof(int64_t);
	}
	return size;
}

/* ctx_record - writes the value when the context is added to a channel (lttng add-context
 * --type='$app.looptrace:record'); `looptrace record` only filters on it. */
static void ctx_record(void *priv, void *probe_ctx, struct lttng_ust_ring_buffer_ctx *ctx,
		       struct lttng_ust_channel_buffer *chan)
{
	char sel = record_id ? UST_DYNAMIC_TYPE_S64 : UST_DYNAMIC_TYPE_NONE;

	(void)priv;
	(void)probe_ctx;
	chan->ops->event_write(ctx, &sel, sizeof(sel), lttng_ust_rb_alignof(char));
	if (record_id)
		chan->ops->event_write(ctx, &record_id, sizeof(record_id),
				       lttng_ust_rb_alignof(int64_t));
}

static void ctx_get_value(void *priv, void *probe_ctx, struct ust_ctx_value *value)
{
	(void)priv;
	(void)probe_ctx;
	if (record_id) {
		value->sel = UST_DYNAMIC_TYPE_S64;
		value->u.s64 = record_id;
	} else {
		value->sel = UST_DYNAMIC_TYPE_NONE;
	}
}

static struct ust_context_provider provider = {
    .struct_size = sizeof(struct ust_context_provider),
    .name = "$app.looptrace",
    .get_size = ctx_get_size,
    .record = ctx_record,
    .get_value = ctx_get_value,
};

void lt__recording_register(void)
{
	const char *v = getenv("LOOPTRACE_RECORD_ID");
	char *end;

	if (!v || !*v)
		return;
	long long id = strtoll(v, &end, 10);
	if (*end || id <= 0)
		return;
	record_id = id;
	/* NULL when another copy registered the name first: that one answers. */
	(void)lttng_ust_context_provider_register(&provider);
}
