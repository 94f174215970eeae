/*
 * sink.c - sink.looptrace.report: a thin babeltrace2 adapter around the analysis core.
 *
 * The plugin's one decoder (decode.c) turns babeltrace2 messages into time-ordered `struct
 * lt_event`s (per-call events and the per-thread records of `looptrace:batch` events alike);
 * the sink feeds each to the core, discarded events and lost batches become lost events. When
 * the input ends, the JSON report is written to `output`. With `events-output`, every event fed
 * is also written there as one JSON line (tests, debugging).
 *
 * Snapshot mode (parameter `snapshot-interval-ms`, for `looptrace top` reading a live
 * session through src.ctf.lttng-live): every interval of wall-clock time the sink writes the
 * report of the stream so far as ONE line of JSON to `snapshot-output`, with a `snapshot`
 * object added ({"seq", "final", "monotonic_ns", "realtime_ns", "messages"}), and a last line
 * with "final": true when the input ends. A live source answers "try again" while no data is
 * ready, so consume() keeps being called and the timer is checked on every call, data or not.
 * Snapshots also carry `inboxes`: for each channel, the thread that last received from it
 * ({"pid", "chan", "tid"}), which the live view uses to show a component's inbox depth.
 *
 * With `graph-output`, the core also writes the message graph there (`looptrace whatif`).
 *
 * Ownership: the sink owns its message iterator, the analysis and the output stream; every
 * message it receives is put as soon as it is processed. Event-class pointers in the cache
 * are weak: an event class lives as long as its trace, which outlives its messages.
 */
#define _GNU_SOURCE
#include "sink.h"

#include "decode.h"
#include "looptrace/analysis.h"
#include "looptrace/events.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The receiving thread of a channel (snapshot mode). */
struct inbox {
	int64_t vpid, vtid;
	uint32_t chan;
	int used;
};

struct sink {
	bt_self_component *self;      /* weak */
	bt_message_iterator *iter;    /* owned */
	struct lt_analysis *analysis; /* owned */
	FILE *out;                    /* owned (stdout: weak) */
	FILE *graph;                  /* owned: `graph-output`, the message graph, or NULL */
	char *out_path;               /* owned */
	int out_created;              /* this sink created `out_path` (removed on failure) */
	int progress;
	struct lt_decoder *dec; /* owned */
	FILE *events_out;       /* owned: `events-output`, the decoded events as JSON lines */
	uint64_t messages;      /* event messages seen */
	struct timespec t0, last_progress;
	int progress_shown;
	/* snapshot mode (snapshot_ns == 0: off) */
	uint64_t snapshot_ns;      /* interval, wall clock */
	uint64_t snapshot_seq;     /* snapshots written */
	struct timespec next_snap; /* CLOCK_MONOTONIC time of the next snapshot */
	FILE *snap;                /* owned (stdout: weak) */
	char *snap_path;           /* owned */
	char *snap_buf;            /* owned, open_memstream buffer */
	size_t snap_len;
	FILE *snap_mem;      /* owned, memory stream over snap_buf */
	struct inbox *inbox; /* owned, open addressing, inbox_cap slots */
	size_t inbox_cap, inbox_len;
	char **loop_tops; /* owned: the `loop-top` parameter's call sites */
	size_t nloop_tops;
};

/* ---------------------------------------------------------------------------------------- */
/* decoded events */

static size_t inbox_hash(int64_t vpid, uint32_t chan)
{
	uint64_t x = (uint64_t)vpid * 0x9e3779b97f4a7c15ull ^ chan;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (size_t)x;
}

/* inbox_note - remembers that thread `vtid` received from channel `chan` of `vpid`. Out of
 * memory only loses this note. */
static void inbox_note(struct sink *s, int64_t vpid, uint32_t chan, int64_t vtid)
{
	if ((s->inbox_len + 1) * 2 > s->inbox_cap) {
		size_t ncap = s->inbox_cap ? s->inbox_cap * 2 : 64;
		struct inbox *n = calloc(ncap, sizeof(*n));
		if (!n)
			return;
		for (size_t k = 0; k < s->inbox_cap; k++) {
			if (!s->inbox[k].used)
				continue;
			size_t j = inbox_hash(s->inbox[k].vpid, s->inbox[k].chan) & (ncap - 1);
			while (n[j].used)
				j = (j + 1) & (ncap - 1);
			n[j] = s->inbox[k];
		}
		free(s->inbox);
		s->inbox = n;
		s->inbox_cap = ncap;
	}
	size_t mask = s->inbox_cap - 1, i = inbox_hash(vpid, chan) & mask;
	while (s->inbox[i].used && (s->inbox[i].vpid != vpid || s->inbox[i].chan != chan))
		i = (i + 1) & mask;
	if (!s->inbox[i].used) {
		s->inbox[i].used = 1;
		s->inbox[i].vpid = vpid;
		s->inbox[i].chan = chan;
		s->inbox_len++;
	}
	s->inbox[i].vtid = vtid;
}

/* The event names of the per-call events (format 1.x), by kind (looptrace/events.h). */
static const char *const kind_names[LT_EV_KIND_COUNT] = {
#define KIND_NAME(K, name, preload, fields) [LT_EV_##K] = #name,
    LT_EVENT_KINDS(KIND_NAME)
#undef KIND_NAME
	[LT_EV_UNKNOWN] = "unknown",
    [LT_EV_OTHER] = "other", [LT_EV_COMPONENT_RENAME] = "component_rename", /* the interposer's only
									     */
};
_Static_assert(LT_EVENT_KIND_LISTED == LT_EV_KIND_COUNT - 3,
	       "looptrace/events.h lists every kind but unknown, other and component_rename");

/*
 * dump_event - one decoded event as a line of JSON (parameter `events-output`): what the
 * analysis core is fed, under the per-call event names and field names of
 * docs/event-model.md, whichever format the trace holds. For tests and debugging.
 */
static void dump_event(FILE *f, const struct lt_event *e)
{
	if (e->kind == LT_EV_OTHER || (unsigned)e->kind >= LT_EV_KIND_COUNT)
		return;
	fprintf(f,
		"{\"provider\": \"%s\", \"name\": \"%s\", \"ts\": %" PRId64 ", \"vpid\": %" PRId64
		", \"vtid\": %" PRId64 ", \"payload\": {",
		e->preload ? "looptrace_preload" : "looptrace", kind_names[e->kind], e->ts_ns,
		e->vpid, e->vtid);
#define U(n, v) fprintf(f, "%s\"" n "\": %" PRIu64, first ? "" : ", ", (uint64_t)(v)), first = 0
#define S(n, v)                                                                                    \
	do {                                                                                       \
		fprintf(f, "%s\"" n "\": ", first ? "" : ", ");                                    \
		lt_json_write_string(f, (v) ? (v) : "", (v) ? strlen(v) : 0);                      \
		first = 0;                                                                         \
	} while (0)
	int first = 1;
	switch (e->kind) {
	case LT_EV_COMPONENT_BEGIN:
		U("comp", e->comp);
		S("name", e->name);
		if (e->cpu_ns)
			U("cpu_ns", e->cpu_ns);
		break;
	case LT_EV_COMPONENT_END:
		U("comp", e->comp);
		if (e->cpu_ns)
			U("cpu_ns", e->cpu_ns);
		break;
	case LT_EV_CHANNEL_DECLARE:
		U("chan", e->chan);
		S("name", e->name);
		U("capacity", e->capacity);
		U("object", e->object);
		break;
	case LT_EV_WAIT_BEGIN:
		if (e->cpu_ns)
			U("cpu_ns", e->cpu_ns);
		break;
	case LT_EV_WAIT_END:
		U("chan", e->chan);
		U("msg", e->msg);
		break;
	case LT_EV_HANDLE_BEGIN:
		U("msg", e->msg);
		S("kind", e->name);
		break;
	case LT_EV_HANDLE_END:
		U("msg", e->msg);
		U("begin_ns", e->begin_ns);
		U("end_ns", e->end_ns);
		break;
	case LT_EV_HANDLE_NEXT:
		U("prev", e->prev);
		U("begin_ns", e->begin_ns);
		U("end_ns", e->end_ns);
		U("chan", e->chan);
		U("msg", e->msg);
		U("depth", e->depth);
		S("kind", e->name);
		break;
	case LT_EV_BLOCK_BEGIN:
		U("reason", e->reason);
		U("object", e->object);
		U("where", e->where);
		break;
	case LT_EV_SEND:
		U("chan", e->chan);
		U("msg", e->msg);
		U("flow", e->flow);
		U("depth", e->depth);
		break;
	case LT_EV_RECV:
		U("chan", e->chan);
		U("msg", e->msg);
		U("depth", e->depth);
		break;
	case LT_EV_ROUTE_ADD:
		U("route", e->route);
		U("chan", e->chan);
		U("owner", e->owner);
		break;
	case LT_EV_ROUTE_REMOVE:
	case LT_EV_ROUTE_DISPATCH_END:
		U("route", e->route);
		break;
	case LT_EV_ROUTE_DISPATCH_BEGIN:
		U("route", e->route);
		U("msg", e->msg);
		break;
	case LT_EV_POOL_DECLARE:
		U("pool", e->pool);
		S("name", e->name);
		U("threads", e->threads);
		break;
	case LT_EV_POOL_WORKER_BEGIN:
	case LT_EV_POOL_WORKER_END:
		U("pool", e->pool);
		break;
	case LT_EV_SEQ_BEGIN:
		U("comp", e->comp);
		S("name", e->name);
		U("pool", e->pool);
		U("flags", e->flags);
		break;
	case LT_EV_SEQ_END:
	case LT_EV_SEQ_READY:
	case LT_EV_SEQ_RUN_BEGIN:
	case LT_EV_SEQ_RUN_END:
		U("comp", e->comp);
		break;
	default:
		break;
	}
#undef U
#undef S
	fputs("}}\n", f);
}

static void dec_event(void *ctx, const struct lt_event *e)
{
	struct sink *s = ctx;
	if (s->events_out)
		dump_event(s->events_out, e);
	if (s->snapshot_ns && (e->kind == LT_EV_RECV || e->kind == LT_EV_HANDLE_NEXT))
		inbox_note(s, e->vpid, e->chan, e->vtid);
	lt_analysis_feed(s->analysis, e);
}

static void dec_lost(void *ctx, uint64_t count, int has_window, int64_t b, int64_t e)
{
	struct sink *s = ctx;
	lt_analysis_lost(s->analysis, count, has_window, b, e);
}

static void dec_object(void *ctx, int64_t vpid, uint64_t baddr, uint64_t memsz, const char *path,
		       int is_pic)
{
	struct sink *s = ctx;
	lt_analysis_object(s->analysis, vpid, baddr, memsz, path, is_pic);
}

static void dec_build_id(void *ctx, int64_t vpid, uint64_t baddr, const uint8_t *id, size_t len)
{
	struct sink *s = ctx;
	lt_analysis_object_build_id(s->analysis, vpid, baddr, id, len);
}

static void dec_host(void *ctx, uint32_t host, const char *name)
{
	struct sink *s = ctx;
	lt_analysis_host(s->analysis, host, name);
}

static void dec_clock(void *ctx, uint32_t host, const char *uuid, int64_t offset_ns)
{
	struct sink *s = ctx;
	lt_analysis_clock(s->analysis, host, uuid, offset_ns);
}

static void dec_bracket(void *ctx, int64_t vpid, int64_t ns)
{
	struct sink *s = ctx;
	lt_analysis_bracket(s->analysis, vpid, ns);
}

static double secs_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void show_progress(struct sink *s, int final)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double total = secs_between(&s->t0, &now);
	if (!final && (total < 2.0 || secs_between(&s->last_progress, &now) < 1.0))
		return;
	if (final && !s->progress_shown)
		return;
	s->last_progress = now;
	s->progress_shown = 1;
	fprintf(stderr, "looptrace: %.1f M events read, %.2f M events/s, %.1f s%s\n",
		(double)s->messages / 1e6, total > 0 ? (double)s->messages / total / 1e6 : 0.0,
		total, final ? ", done" : "");
}

/* ---------------------------------------------------------------------------------------- */
/* parameters */

static int param_i64(struct sink *s, const bt_value *v, const char *key, int64_t *out)
{
	switch (bt_value_get_type(v)) {
	case BT_VALUE_TYPE_SIGNED_INTEGER:
		*out = bt_value_integer_signed_get(v);
		return 0;
	case BT_VALUE_TYPE_UNSIGNED_INTEGER: {
		uint64_t u = bt_value_integer_unsigned_get(v);
		if (u > (uint64_t)INT64_MAX)
			break;
		*out = (int64_t)u;
		return 0;
	}
	default:
		break;
	}
	BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
	    s->self, "parameter `%s` must be an integer (ns) below 2^63", key);
	return -1;
}

/*
 * param_loop_top - `loop-top`: a string or an array of strings, each a call site
 * "OBJECT+0xOFFSET" or range "OBJECT+0xLO-0xHI" (lt_analysis_loop_top). Kept until the
 * analysis exists. Returns 0, or -1 with an error cause appended.
 */
static int param_loop_top(struct sink *s, const bt_value *v)
{
	uint64_t n = 1;
	int array = bt_value_get_type(v) == BT_VALUE_TYPE_ARRAY;

	if (array)
		n = bt_value_array_get_length(v);
	for (uint64_t i = 0; i < n; i++) {
		const bt_value *e = array ? bt_value_array_borrow_element_by_index_const(v, i) : v;
		char **nv;
		if (bt_value_get_type(e) != BT_VALUE_TYPE_STRING) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
			    s->self,
			    "parameter `loop-top` must be a string or an array of strings");
			return -1;
		}
		nv = realloc(s->loop_tops, (s->nloop_tops + 1) * sizeof(*nv));
		if (!nv)
			return -1;
		s->loop_tops = nv;
		s->loop_tops[s->nloop_tops] = strdup(bt_value_string_get(e));
		if (!s->loop_tops[s->nloop_tops])
			return -1;
		s->nloop_tops++;
	}
	return 0;
}

struct param_ctx {
	struct sink *s;
	struct lt_analysis_config *cfg;
	const char *output, *trace_path, *snapshot_output, *events_output, *graph_output;
	int err;
};

static bt_value_map_foreach_entry_const_func_status param_entry(const char *key, const bt_value *v,
								void *data)
{
	struct param_ctx *p = data;
	struct lt_analysis_config *c = p->cfg;
	int64_t x = 0;
	if (strcmp(key, "output") == 0 || strcmp(key, "trace-path") == 0) {
		if (bt_value_get_type(v) != BT_VALUE_TYPE_STRING) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
			    p->s->self, "parameter `%s` must be a string", key);
			p->err = 1;
		} else if (key[0] == 'o') {
			p->output = bt_value_string_get(v);
		} else {
			p->trace_path = bt_value_string_get(v);
		}
	} else if (strcmp(key, "events-output") == 0) {
		if (bt_value_get_type(v) != BT_VALUE_TYPE_STRING) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
			    p->s->self, "parameter `%s` must be a string", key);
			p->err = 1;
		} else {
			p->events_output = bt_value_string_get(v);
		}
	} else if (strcmp(key, "graph-output") == 0) {
		if (bt_value_get_type(v) != BT_VALUE_TYPE_STRING) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
			    p->s->self, "parameter `%s` must be a string", key);
			p->err = 1;
		} else {
			p->graph_output = bt_value_string_get(v);
		}
	} else if (strcmp(key, "snapshot-output") == 0) {
		if (bt_value_get_type(v) != BT_VALUE_TYPE_STRING) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
			    p->s->self, "parameter `%s` must be a string", key);
			p->err = 1;
		} else {
			p->snapshot_output = bt_value_string_get(v);
		}
	} else if (strcmp(key, "snapshot-interval-ms") == 0) {
		p->err |= param_i64(p->s, v, key, &x) != 0;
		if (!p->err && (x <= 0 || x > 3600000)) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
			    p->s->self, "parameter `snapshot-interval-ms` must be in 1..3600000");
			p->err = 1;
		}
		p->s->snapshot_ns = (uint64_t)(x > 0 ? x : 0) * 1000000u;
	} else if (strcmp(key, "progress") == 0) {
		if (bt_value_get_type(v) != BT_VALUE_TYPE_BOOL) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
			    p->s->self, "parameter `progress` must be a boolean");
			p->err = 1;
		} else {
			p->s->progress = bt_value_bool_get(v) ? 1 : 0;
		}
	} else if (strcmp(key, "begin-ns") == 0) {
		p->err |= param_i64(p->s, v, key, &x) != 0;
		c->has_begin_ns = 1;
		c->begin_ns = x;
	} else if (strcmp(key, "end-ns") == 0) {
		p->err |= param_i64(p->s, v, key, &x) != 0;
		c->has_end_ns = 1;
		c->end_ns = x;
	} else if (strcmp(key, "begin-offset-ns") == 0) {
		p->err |= param_i64(p->s, v, key, &x) != 0;
		c->has_begin_offset_ns = 1;
		c->begin_offset_ns = x;
	} else if (strcmp(key, "end-offset-ns") == 0) {
		p->err |= param_i64(p->s, v, key, &x) != 0;
		c->has_end_offset_ns = 1;
		c->end_offset_ns = x;
	} else if (strcmp(key, "clock-sync-ns") == 0) {
		p->err |= param_i64(p->s, v, key, &x) != 0;
		if (x <= 0 && !p->err) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
			    p->s->self, "parameter `clock-sync-ns` must be positive");
			p->err = 1;
		}
		c->clock_sync_ns = x;
	} else if (strcmp(key, "loop-top") == 0) {
		p->err |= param_loop_top(p->s, v) != 0;
	} else if (strcmp(key, "series-interval-ns") == 0) {
		p->err |= param_i64(p->s, v, key, &x) != 0;
		if (x <= 0 && !p->err) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
			    p->s->self, "parameter `series-interval-ns` must be positive");
			p->err = 1;
		}
		c->series_interval_ns = (uint64_t)(x > 0 ? x : 0);
	} else {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
		    p->s->self,
		    "unknown parameter `%s` (known: output, trace-path, begin-ns, end-ns, "
		    "begin-offset-ns, end-offset-ns, clock-sync-ns, loop-top, progress, "
		    "series-interval-ns, "
		    "snapshot-interval-ms, snapshot-output, events-output, graph-output)",
		    key);
		p->err = 1;
	}
	return BT_VALUE_MAP_FOREACH_ENTRY_CONST_FUNC_STATUS_OK;
}

/* open_output - opens `path` for the report without truncating it: a new file is created
 * (*created = 1), an existing one is opened as it is and truncated only when the report is
 * written (finish), so a run that fails leaves it unchanged. NULL (errno set) on failure. */
static FILE *open_output(const char *path, int *created)
{
	*created = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd >= 0)
		*created = 1;
	else if (errno == EEXIST)
		fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "w");
	if (!f)
		close(fd);
	return f;
}

static void sink_free(struct sink *s)
{
	if (!s)
		return;
	bt_message_iterator_put_ref(s->iter);
	lt_analysis_destroy(s->analysis);
	if (s->out && s->out != stdout) {
		/* The run did not finish: a file this sink created goes; anything that was there
		 * before (a report, /dev/null, a FIFO) is left as it was, since it was never
		 * truncated (see open_output). */
		fclose(s->out);
		if (s->out_created)
			unlink(s->out_path);
	}
	free(s->out_path);
	if (s->graph)
		fclose(s->graph);
	if (s->snap && s->snap != stdout)
		fclose(s->snap);
	free(s->snap_path);
	if (s->snap_mem)
		fclose(s->snap_mem);
	free(s->snap_buf);
	free(s->inbox);
	for (size_t i = 0; i < s->nloop_tops; i++)
		free(s->loop_tops[i]);
	free(s->loop_tops);
	lt_decoder_destroy(s->dec);
	if (s->events_out)
		fclose(s->events_out);
	free(s);
}

/* ---------------------------------------------------------------------------------------- */
/* snapshots */

/* snapshot_open - opens the snapshot output `path` ("-" = stdout) and the memory stream the
 * report is first written to. Returns 0, or -1 with an error cause appended. */
static int snapshot_open(struct sink *s, const char *path)
{
	s->snap_path = strdup(path);
	s->snap_mem = open_memstream(&s->snap_buf, &s->snap_len);
	if (!s->snap_path || !s->snap_mem) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(s->self, "out of memory");
		return -1;
	}
	if (strcmp(path, "-") == 0) {
		s->snap = stdout;
		return 0;
	}
	s->snap = fopen(path, "w");
	if (!s->snap) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
		    s->self, "cannot open `%s` for writing: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* snapshot_write - writes the report so far as one line, the `snapshot` object added.
 * The report's own line breaks are only whitespace (strings escape theirs), so they become
 * spaces. Returns 0, or -1 on an output error (error cause appended). */
static int snapshot_write(struct sink *s, int final)
{
	struct timespec mono, real;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	rewind(s->snap_mem);
	lt_analysis_settle(s->analysis, final);
	if (lt_analysis_write_json(s->analysis, s->snap_mem) != 0 || fflush(s->snap_mem) != 0)
		goto fail;
	size_t len = (size_t)ftello(s->snap_mem);
	char *b = s->snap_buf;
	while (len > 0 && (b[len - 1] == '\n' || b[len - 1] == ' '))
		len--;
	if (len == 0 || b[len - 1] != '}')
		goto fail;
	len--; /* the closing brace: the snapshot object goes before it */
	for (size_t i = 0; i < len; i++)
		if (b[i] == '\n')
			b[i] = ' ';
	if (fwrite(b, 1, len, s->snap) != len)
		goto fail;
	s->snapshot_seq++;
	fprintf(s->snap,
		", \"snapshot\": {\"seq\": %" PRIu64 ", \"final\": %s, \"monotonic_ns\": %" PRId64
		", \"realtime_ns\": %" PRId64 ", \"messages\": %" PRIu64 ", \"inboxes\": [",
		s->snapshot_seq, final ? "true" : "false", ts_ns(&mono), ts_ns(&real), s->messages);
	int first = 1;
	for (size_t i = 0; i < s->inbox_cap; i++) {
		const struct inbox *ib = &s->inbox[i];
		if (!ib->used)
			continue;
		fprintf(s->snap,
			"%s{\"pid\": %" PRId64 ", \"chan\": %" PRIu32 ", \"tid\": %" PRId64 "}",
			first ? "" : ", ", ib->vpid, ib->chan, ib->vtid);
		first = 0;
	}
	fputs("]}}\n", s->snap);
	if (fflush(s->snap) != 0 || ferror(s->snap))
		goto fail;
	return 0;
fail:
	BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
	    s->self, "cannot write a snapshot to `%s`: %s", s->snap_path, strerror(errno));
	return -1;
}

/* snapshot_due - writes a snapshot when the wall-clock timer expired. Returns 0 or -1. */
static int snapshot_due(struct sink *s)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (ts_ns(&now) < ts_ns(&s->next_snap))
		return 0;
	int64_t next = ts_ns(&s->next_snap) + (int64_t)s->snapshot_ns;
	if (next <= ts_ns(&now)) /* late (a long batch): restart the period from now */
		next = ts_ns(&now) + (int64_t)s->snapshot_ns;
	s->next_snap.tv_sec = next / 1000000000;
	s->next_snap.tv_nsec = next % 1000000000;
	return snapshot_write(s, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* component class methods */

bt_component_class_initialize_method_status
lt_bt2_report_initialize(bt_self_component_sink *self, bt_self_component_sink_configuration *config,
			 const bt_value *params, void *init_data)
{
	(void)config;
	(void)init_data;
	bt_component_class_initialize_method_status st =
	    BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
	struct sink *s = calloc(1, sizeof(*s));
	if (!s)
		return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
	s->self = bt_self_component_sink_as_self_component(self);
	struct lt_decode_ops ops = {.ctx = s,
				    .event = dec_event,
				    .lost = dec_lost,
				    .object = dec_object,
				    .build_id = dec_build_id,
				    .host = dec_host,
				    .clock = dec_clock,
				    .bracket = dec_bracket};
	s->dec = lt_decoder_create(&ops);
	if (!s->dec) {
		st = BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
		goto fail;
	}

	struct lt_analysis_config cfg = {0};
	struct param_ctx p = {.s = s, .cfg = &cfg};
	if (params && bt_value_get_type(params) == BT_VALUE_TYPE_MAP)
		bt_value_map_foreach_entry_const(params, param_entry, &p);
	if (p.err)
		goto fail;
	if (!s->snapshot_ns != !p.snapshot_output) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
		    s->self, "parameters `snapshot-interval-ms` and `snapshot-output` go together");
		goto fail;
	}
	if ((!p.output || !p.output[0]) && !s->snapshot_ns) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
		    s->self, "missing parameter `output` (file path of the JSON report, or \"-\")");
		goto fail;
	}
	if (s->snapshot_ns && snapshot_open(s, p.snapshot_output) != 0)
		goto fail;
	if (p.events_output) {
		s->events_out = fopen(p.events_output, "w");
		if (!s->events_out) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
			    s->self, "cannot open `%s` for writing: %s", p.events_output,
			    strerror(errno));
			goto fail;
		}
	}
	s->out_path = strdup(p.output ? p.output : "");
	if (!s->out_path) {
		st = BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
		goto fail;
	}
	if (!p.output || !p.output[0]) {
		s->out = NULL; /* snapshot mode only */
	} else if (strcmp(p.output, "-") == 0) {
		s->out = stdout;
	} else {
		/* open now so that a bad path fails before the trace is read */
		s->out = open_output(p.output, &s->out_created);
		if (!s->out) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
			    s->self, "cannot open `%s` for writing: %s", p.output, strerror(errno));
			goto fail;
		}
	}
	cfg.trace_path = p.trace_path;
	s->analysis = lt_analysis_create(&cfg);
	if (!s->analysis) {
		st = BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
		goto fail;
	}
	for (size_t i = 0; i < s->nloop_tops; i++) {
		if (lt_analysis_loop_top(s->analysis, s->loop_tops[i]) != 0) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
			    s->self,
			    "parameter `loop-top`: `%s` is not OBJECT+0xOFFSET or OBJECT+0xLO-0xHI",
			    s->loop_tops[i]);
			goto fail;
		}
	}
	if (p.graph_output && (!(s->graph = fopen(p.graph_output, "w")) ||
			       lt_analysis_graph_output(s->analysis, s->graph) != 0)) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
		    s->self, "cannot write the graph to `%s`: %s", p.graph_output, strerror(errno));
		goto fail;
	}
	if (bt_self_component_sink_add_input_port(self, "in", NULL, NULL) !=
	    BT_SELF_COMPONENT_ADD_PORT_STATUS_OK) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(s->self,
								    "cannot add input port");
		goto fail;
	}
	bt_self_component_set_data(s->self, s);
	return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
fail:
	sink_free(s);
	return st;
}

void lt_bt2_report_finalize(bt_self_component_sink *self)
{
	sink_free(bt_self_component_get_data(bt_self_component_sink_as_self_component(self)));
}

bt_component_class_sink_graph_is_configured_method_status
lt_bt2_report_graph_is_configured(bt_self_component_sink *self)
{
	struct sink *s = bt_self_component_get_data(bt_self_component_sink_as_self_component(self));
	bt_self_component_port_input *port =
	    bt_self_component_sink_borrow_input_port_by_name(self, "in");
	if (bt_message_iterator_create_from_sink_component(self, port, &s->iter) !=
	    BT_MESSAGE_ITERATOR_CREATE_FROM_SINK_COMPONENT_STATUS_OK) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
		    s->self, "cannot create the input message iterator");
		return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_ERROR;
	}
	clock_gettime(CLOCK_MONOTONIC, &s->t0);
	s->last_progress = s->t0;
	s->next_snap = s->t0; /* first snapshot at once: the reader learns the sink is up */
	return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_OK;
}

static bt_component_class_sink_consume_method_status finish(struct sink *s)
{
	lt_decoder_finish(s->dec);
	if (s->events_out && fflush(s->events_out) != 0) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
		    s->self, "cannot write the decoded events: %s", strerror(errno));
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
	if (s->progress)
		show_progress(s, 1);
	if (s->snapshot_ns && snapshot_write(s, 1) != 0)
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	if (s->graph) {
		FILE *g = s->graph;
		s->graph = NULL;
		lt_analysis_graph_output(s->analysis, NULL);
		if (fclose(g) != 0) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
			    s->self, "cannot write the graph: %s", strerror(errno));
			return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
		}
	}
	FILE *out = s->out;
	s->out = NULL;
	if (!out)
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
	struct stat st;
	if (out != stdout && fstat(fileno(out), &st) == 0 && S_ISREG(st.st_mode) &&
	    ftruncate(fileno(out), 0) != 0) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
		    s->self, "cannot write the report to `%s`: %s", s->out_path, strerror(errno));
		fclose(out);
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
	lt_analysis_settle(s->analysis, 1);
	int rc = lt_analysis_write_json(s->analysis, out);
	if (out == stdout)
		rc |= fflush(out) != 0 ? -1 : 0;
	else
		rc |= fclose(out) != 0 ? -1 : 0;
	if (rc != 0) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
		    s->self, "cannot write the report to `%s`: %s", s->out_path, strerror(errno));
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
	return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
}

bt_component_class_sink_consume_method_status lt_bt2_report_consume(bt_self_component_sink *self)
{
	struct sink *s = bt_self_component_get_data(bt_self_component_sink_as_self_component(self));
	bt_message_array_const msgs;
	uint64_t count = 0;
	switch (bt_message_iterator_next(s->iter, &msgs, &count)) {
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
		break;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
		return finish(s);
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN:
		if (s->snapshot_ns && snapshot_due(s) != 0)
			return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_AGAIN;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
	default:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
	for (uint64_t i = 0; i < count; i++) {
		const bt_message *m = msgs[i];
		if (bt_message_get_type(m) == BT_MESSAGE_TYPE_EVENT)
			s->messages++;
		lt_decoder_message(s->dec, m);
		bt_message_put_ref(m);
	}
	if (s->progress && (s->messages & 0xffff) < count)
		show_progress(s, 0);
	if (s->snapshot_ns && snapshot_due(s) != 0)
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK;
}
