/*
 * decode.c - babeltrace2 messages to time-ordered `struct lt_event`s (see decode.h).
 *
 * Event classes are resolved once (kind from the name, index of every field, cached by class
 * pointer). Ordinary events are read by field index into a struct lt_event. A
 * `looptrace:batch` event is expanded record by record (looptrace/probes/records.h), each
 * record's clock mapped to ns from the clock's origin. While the input holds batches, events go
 * through per-thread queues (each sorted by time) and a heap over the threads, released when
 * the input has moved `horizon` past them.
 */
#define _GNU_SOURCE
#include "decode.h"

#include "looptrace/events.h"
#include "looptrace/probes/records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Payload fields the core may need, by name. */
enum fld {
	F_COMP,
	F_CHAN,
	F_CAPACITY,
	F_ROUTE,
	F_OWNER,
	F_REASON,
	F_DEPTH,
	F_MSG,
	F_FLOW,
	F_OBJECT,
	F_WHERE,
	F_NAME,     /* "name" (component_begin, channel_declare) or "kind" (handle_begin) */
	F_BEGIN_TS, /* handle_end: the handler's entry, trace clock cycles */
	F_END_TS,   /* handle_end: the handler's return, trace clock cycles */
	F_PREV,     /* handle_next: the message whose handler ended */
	F_CALL,     /* the interposer's block_begin: the wrapped call */
	F_CPU_NS,   /* the thread's CPU time at the event (the interposer's events) */
	F_POOL,     /* pool_declare, pool_worker_*, seq_begin */
	F_THREADS,  /* pool_declare */
	F_FLAGS,    /* seq_begin */
	/* batch (format 2.0) */
	F_TID,
	F_SEQ,
	F_FIRST,
	F_CLOCK,
	F_BASE,
	F_CAL_TSC,
	F_CAL_NS,
	F_EPOCH_TSC,
	F_EPOCH_NS,
	F_MSG_HI,
	F_BRACKET,
	F_COUNT
};

static const char *const fld_names[F_COUNT] = {
    "comp",   "chan",    "capacity", "route",     "owner",    "reason", "depth",   "msg",
    "flow",   "object",  "where",    "name",      "begin_ts", "end_ts", "prev",    "call",
    "cpu_ns", "pool",    "threads",  "flags",     "tid",      "seq",    "first",   "clock",
    "base",   "cal_tsc", "cal_ns",   "epoch_tsc", "epoch_ns", "msg_hi", "bracket",
};

enum ftype { FT_NONE = 0, FT_UINT, FT_SINT, FT_STRING, FT_ARRAY };
enum fscope { SC_NONE = 0, SC_PAYLOAD, SC_COMMON_CTX, SC_SPECIFIC_CTX };

struct fref {
	uint8_t scope; /* enum fscope */
	uint8_t type;  /* enum ftype */
	uint32_t idx;  /* member index in its structure */
};

struct ec_info {
	const bt_event_class *ec; /* weak; NULL = free slot */
	enum lt_ev_kind kind;
	int preload;     /* provider looptrace_preload */
	int batch;       /* looptrace:batch */
	int procname;    /* lttng_ust_statedump:procname */
	int object_info; /* lttng_ust_statedump:bin_info or lttng_ust_dl:dlopen: a loaded object */
	int build_id_info; /* lttng_ust_statedump:build_id or lttng_ust_dl:build_id */
	struct fref baddr, memsz, path, is_pic, build_id, words, pname;
	int has_clock;
	int exact_clock; /* the clock counts ns of LTTng-UST's CLOCK_MONOTONIC: *_ts fields usable
			  */
	struct fref vtid, vpid, procname_ctx;
	struct fref f[F_COUNT];
	uint32_t host; /* the host of the event class's trace (decoder's numbering) */
};

/* A calibration pair: the record clock and CLOCK_MONOTONIC ns, read together. */
struct pair {
	uint64_t tsc, ns;
};

#define PAIRS_MAX 64

struct dproc {
	int64_t vpid;
	int used;
	struct pair p[PAIRS_MAX]; /* sorted by tsc */
	unsigned n;
	struct pair epoch;
	unsigned seg; /* last segment used: p[seg] .. p[seg + 1] */
};

struct hkey {
	uint32_t chan;
	const char *name; /* interned */
};

/*
 * An event held back, packed: about half a struct lt_event (vpid and vtid are the queue's
 * thread's; fields no kind uses together share a slot; see pack/unpack).
 */
struct qev {
	int64_t ts_ns;
	uint64_t msg;
	uint64_t w1;      /* flow | object | prev | cpu_ns | route (route_add) | flags */
	int64_t begin_ns; /* | where (block_begin) */
	int64_t end_ns;
	const char *name; /* interned */
	uint32_t chan;    /* chan | comp | route | pool */
	uint32_t depth;   /* depth | capacity | reason | owner | pool (seq_begin) | threads */
	uint8_t kind, preload;
};

struct dthread {
	int64_t vpid, vtid;
	int used;
	/* queue of events held back, sorted by ts: a ring of cap entries */
	struct qev *q;
	size_t qcap, qhead, qlen;
	size_t heap_at; /* index in the heap + 1, 0 = not in it */
	/* record decoding state */
	uint64_t records; /* records decoded (the next batch's `first` when none is lost) */
	int64_t last_ts;  /* ns from origin of the last record */
	int64_t prev_ts;  /* ns from origin of the record before the last */
	uint64_t cur_msg; /* the open handler (records) */
	int64_t cur_begin;
	uint64_t bracket;      /* ticks: its batches' `bracket` (0: none, before format 2.2, raw) */
	uint64_t bracket_seen; /* the last `bracket` told to ops.bracket */
	struct hkey *keys;     /* LT_REC_KEY_MAX + 1 entries, allocated on first use */
};

struct lt_decoder {
	struct lt_decode_ops ops;
	struct ec_info *ecs; /* open addressing, ecs_cap slots */
	size_t ecs_cap, ecs_len;
	struct ec_info *last;
	int64_t last_ts;
	int raw_bounds; /* LOOPTRACE_RAW_BOUNDS set: handlers keep their read ends */
	/* merging (on once a batch event class is seen) */
	int merge;
	int64_t in_ts;   /* latest input time */
	int64_t horizon; /* ns */
	struct dthread *th;
	size_t th_cap, th_len;
	struct dthread **heap;
	size_t heap_len, heap_cap;
	size_t pending;
	struct dproc *pr;
	size_t pr_cap, pr_len;
	/* interned strings */
	char **strs;
	size_t strs_cap, strs_len;
	int64_t max_late; /* the largest delay seen between a batch and its first record */
	uint64_t *words;  /* scratch for a batch's words */
	size_t words_cap;
	/* hosts: the traces seen (weak) with their host number, the hosts' names (owned) */
	struct dtrace *traces;
	size_t traces_len, traces_cap;
	char **hosts;
	size_t hosts_len, hosts_cap;
};

struct dtrace {
	const bt_trace *trace; /* weak */
	uint32_t host;
};

#define HORIZON_MIN_NS 20000000
#define HORIZON_MAX_NS 1000000000

/* ---------------------------------------------------------------------------------------- */
/* small hash helpers */

static inline size_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (size_t)x;
}

static size_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return mix(h);
}

/* intern - a copy of s that lives as long as the decoder (NULL stays NULL, or on OOM). */
static const char *intern(struct lt_decoder *d, const char *s)
{
	if (!s)
		return NULL;
	if ((d->strs_len + 1) * 2 > d->strs_cap) {
		size_t ncap = d->strs_cap ? d->strs_cap * 2 : 64;
		char **n = calloc(ncap, sizeof(*n));
		if (!n)
			return NULL;
		for (size_t k = 0; k < d->strs_cap; k++) {
			if (!d->strs[k])
				continue;
			size_t j = str_hash(d->strs[k]) & (ncap - 1);
			while (n[j])
				j = (j + 1) & (ncap - 1);
			n[j] = d->strs[k];
		}
		free(d->strs);
		d->strs = n;
		d->strs_cap = ncap;
	}
	size_t mask = d->strs_cap - 1, i = str_hash(s) & mask;
	while (d->strs[i]) {
		if (strcmp(d->strs[i], s) == 0)
			return d->strs[i];
		i = (i + 1) & mask;
	}
	d->strs[i] = strdup(s);
	if (d->strs[i])
		d->strs_len++;
	return d->strs[i];
}

/* ---------------------------------------------------------------------------------------- */
/* event-class cache */

/* The per-call event kinds by name (looptrace/events.h). */
static const struct {
	const char *n;
	enum lt_ev_kind k;
	int preload; /* looptrace_preload has it too */
} kind_tab[] = {
#define KIND_ENTRY(K, name, preload, fields) {#name, LT_EV_##K, preload},
    LT_EVENT_KINDS(KIND_ENTRY)
#undef KIND_ENTRY
};

static enum lt_ev_kind kind_of(const char *name)
{
	int preload;

	if (!name)
		return LT_EV_OTHER;
	if (strncmp(name, "looptrace:", 10) == 0) {
		name += 10;
		preload = 0;
	} else if (strncmp(name, "looptrace_preload:", 18) == 0) {
		name += 18;
		preload = 1;
	} else {
		return LT_EV_OTHER;
	}
	for (size_t i = 0; i < sizeof(kind_tab) / sizeof(kind_tab[0]); i++)
		if ((!preload || kind_tab[i].preload) && strcmp(name, kind_tab[i].n) == 0)
			return kind_tab[i].k;
	if (preload && strcmp(name, "component_rename") == 0)
		return LT_EV_COMPONENT_RENAME; /* the interposer's only: no `looptrace` counterpart
						*/
	return LT_EV_UNKNOWN;
}

/* member_name_is - whether a member called mn answers to name (also as `_name`, the way
 * LTTng escapes field names). */
static int member_name_is(const char *mn, const char *name)
{
	return strcmp(mn, name) == 0 || (mn[0] == '_' && strcmp(mn + 1, name) == 0);
}

static uint64_t struct_member_count(const bt_field_class *st)
{
	if (!st || bt_field_class_get_type(st) != BT_FIELD_CLASS_TYPE_STRUCTURE)
		return 0;
	return bt_field_class_structure_get_member_count(st);
}

static const bt_field_class *named_member_class(const bt_field_class *st, uint64_t i,
						const char *name)
{
	const bt_field_class_structure_member *m =
	    bt_field_class_structure_borrow_member_by_index_const(st, i);
	const char *mn = bt_field_class_structure_member_get_name(m);

	if (!mn || !member_name_is(mn, name))
		return NULL;
	return bt_field_class_structure_member_borrow_field_class_const(m);
}

/* find_member - the index and type of member `name` (or `_name`) of a structure class. */
static int find_member(const bt_field_class *st, const char *name, struct fref *r, uint8_t scope)
{
	uint64_t n = struct_member_count(st);
	for (uint64_t i = 0; i < n; i++) {
		const bt_field_class *fc = named_member_class(st, i, name);
		if (!fc)
			continue;
		bt_field_class_type t = bt_field_class_get_type(fc);
		if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER))
			r->type = FT_UINT;
		else if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER))
			r->type = FT_SINT;
		else if (t == BT_FIELD_CLASS_TYPE_STRING)
			r->type = FT_STRING;
		else
			continue; /* a field of an unexpected type is ignored */
		r->scope = scope;
		r->idx = (uint32_t)i;
		return 1;
	}
	return 0;
}

/* find_array - a member `name` that is an array (static or dynamic) of unsigned integers. */
static int find_array(const bt_field_class *st, const char *name, struct fref *r)
{
	memset(r, 0, sizeof(*r));
	uint64_t n = struct_member_count(st);
	for (uint64_t i = 0; i < n; i++) {
		const bt_field_class *fc = named_member_class(st, i, name);
		if (!fc ||
		    !bt_field_class_type_is(bt_field_class_get_type(fc), BT_FIELD_CLASS_TYPE_ARRAY))
			continue;
		const bt_field_class *el =
		    bt_field_class_array_borrow_element_field_class_const(fc);
		if (!bt_field_class_type_is(bt_field_class_get_type(el),
					    BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER))
			continue;
		r->scope = SC_PAYLOAD;
		r->type = FT_ARRAY;
		r->idx = (uint32_t)i;
		return 1;
	}
	return 0;
}

static void resolve_ctx(const bt_event_class *ec, const bt_stream_class *sc, const char *name,
			struct fref *r)
{
	memset(r, 0, sizeof(*r));
	if (find_member(bt_stream_class_borrow_event_common_context_field_class_const(sc), name, r,
			SC_COMMON_CTX))
		return;
	find_member(bt_event_class_borrow_specific_context_field_class_const(ec), name, r,
		    SC_SPECIFIC_CTX);
}

static void ec_fill(struct ec_info *e, const bt_event_class *ec)
{
	memset(e, 0, sizeof(*e));
	e->ec = ec;
	const char *name = bt_event_class_get_name(ec);
	e->kind = kind_of(name);
	e->preload = name && strncmp(name, "looptrace_preload:", 18) == 0;
	const bt_stream_class *sc = bt_event_class_borrow_stream_class_const(ec);
	const bt_clock_class *cc = bt_stream_class_borrow_default_clock_class_const(sc);
	const bt_field_class *pl = bt_event_class_borrow_payload_field_class_const(ec);
	e->has_clock = cc != NULL;
	e->exact_clock = cc && bt_clock_class_get_frequency(cc) == 1000000000u &&
			 bt_clock_class_get_name(cc) &&
			 strcmp(bt_clock_class_get_name(cc), "monotonic") == 0;
	if (name && (strcmp(name, "lttng_ust_statedump:bin_info") == 0 ||
		     strcmp(name, "lttng_ust_dl:dlopen") == 0)) {
		resolve_ctx(ec, sc, "vpid", &e->vpid);
		find_member(pl, "baddr", &e->baddr, SC_PAYLOAD);
		find_member(pl, "memsz", &e->memsz, SC_PAYLOAD);
		find_member(pl, "path", &e->path, SC_PAYLOAD);
		find_member(pl, "is_pic", &e->is_pic, SC_PAYLOAD);
		e->object_info = e->baddr.scope == SC_PAYLOAD && e->path.scope == SC_PAYLOAD;
	}
	if (name && (strcmp(name, "lttng_ust_statedump:build_id") == 0 ||
		     strcmp(name, "lttng_ust_dl:build_id") == 0)) {
		resolve_ctx(ec, sc, "vpid", &e->vpid);
		find_member(pl, "baddr", &e->baddr, SC_PAYLOAD);
		find_array(pl, "build_id", &e->build_id);
		e->build_id_info = e->baddr.scope == SC_PAYLOAD && e->build_id.scope == SC_PAYLOAD;
	}
	if (name && strcmp(name, "lttng_ust_statedump:procname") == 0) {
		resolve_ctx(ec, sc, "vpid", &e->vpid);
		find_member(pl, "procname", &e->pname, SC_PAYLOAD);
		e->procname = e->pname.type == FT_STRING;
	}
	if (e->kind == LT_EV_OTHER)
		return;
	resolve_ctx(ec, sc, "vtid", &e->vtid);
	resolve_ctx(ec, sc, "vpid", &e->vpid);
	resolve_ctx(ec, sc, "procname", &e->procname_ctx); /* format 1.0 traces only */
	for (int i = 0; i < F_COUNT; i++)
		find_member(pl, fld_names[i], &e->f[i], SC_PAYLOAD);
	if (e->f[F_NAME].scope == SC_NONE)
		find_member(pl, "kind", &e->f[F_NAME], SC_PAYLOAD);
	if (name && strcmp(name, "looptrace:batch") == 0 && find_array(pl, "words", &e->words))
		e->batch = 1;
}

/* host_number - the number of host `name`, numbered (and announced) if new; 0 on failure. */
static uint32_t host_number(struct lt_decoder *d, const char *name)
{
	for (size_t i = 0; i < d->hosts_len; i++)
		if (strcmp(d->hosts[i], name) == 0)
			return (uint32_t)i;
	if (d->hosts_len >= LT_ANALYSIS_MAX_HOSTS)
		return 0;
	if (d->hosts_len == d->hosts_cap) {
		size_t ncap = d->hosts_cap ? 2 * d->hosts_cap : 4;
		char **n = realloc(d->hosts, ncap * sizeof(*n));
		if (!n)
			return 0;
		d->hosts = n;
		d->hosts_cap = ncap;
	}
	char *copy = strdup(name);
	if (!copy)
		return 0;
	d->hosts[d->hosts_len] = copy;
	uint32_t h = (uint32_t)d->hosts_len++;
	if (d->ops.host)
		d->ops.host(d->ops.ctx, h, name);
	return h;
}

/* trace_clock - announces the default clock of the stream class of `ev` (host h). */
static void trace_clock(struct lt_decoder *d, const bt_event *ev, uint32_t h)
{
	const bt_stream_class *sc = bt_stream_borrow_class_const(bt_event_borrow_stream_const(ev));
	const bt_clock_class *cc = bt_stream_class_borrow_default_clock_class_const(sc);
	int64_t offset = 0;
	if (!cc || !d->ops.clock ||
	    bt_clock_class_cycles_to_ns_from_origin(cc, 0, &offset) !=
		BT_CLOCK_CLASS_CYCLES_TO_NS_FROM_ORIGIN_STATUS_OK)
		return;
	bt_uuid u = bt_clock_class_get_uuid(cc);
	char text[40];
	if (u)
		snprintf(text, sizeof(text),
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
			 u[12], u[13], u[14], u[15]);
	d->ops.clock(d->ops.ctx, h, u ? text : NULL, offset);
}

/*
 * trace_host - the host number of the trace `ev` belongs to, from its `hostname` environment
 * entry ("" when none); a new trace's clock is announced. 0 when memory runs out.
 */
static uint32_t trace_host(struct lt_decoder *d, const bt_event *ev)
{
	const bt_trace *t = bt_stream_borrow_trace_const(bt_event_borrow_stream_const(ev));
	for (size_t i = 0; i < d->traces_len; i++)
		if (d->traces[i].trace == t)
			return d->traces[i].host;
	const bt_value *v = bt_trace_borrow_environment_entry_value_by_name_const(t, "hostname");
	const char *name = v && bt_value_is_string(v) ? bt_value_string_get(v) : "";
	uint32_t h = host_number(d, name);
	if (d->traces_len == d->traces_cap) {
		size_t ncap = d->traces_cap ? 2 * d->traces_cap : 4;
		struct dtrace *n = realloc(d->traces, ncap * sizeof(*n));
		if (!n)
			return h;
		d->traces = n;
		d->traces_cap = ncap;
	}
	d->traces[d->traces_len].trace = t;
	d->traces[d->traces_len++].host = h;
	trace_clock(d, ev, h);
	return h;
}

static struct ec_info *ec_lookup(struct lt_decoder *d, const bt_event *ev)
{
	const bt_event_class *ec = bt_event_borrow_class_const(ev);
	if (d->last && d->last->ec == ec)
		return d->last;
	size_t mask = d->ecs_cap - 1, i = mix((uint64_t)(uintptr_t)ec) & mask;
	while (d->ecs[i].ec) {
		if (d->ecs[i].ec == ec)
			return d->last = &d->ecs[i];
		i = (i + 1) & mask;
	}
	if ((d->ecs_len + 1) * 2 > d->ecs_cap) {
		size_t ncap = d->ecs_cap * 2;
		struct ec_info *n = calloc(ncap, sizeof(*n));
		if (!n)
			return NULL;
		for (size_t k = 0; k < d->ecs_cap; k++) {
			if (!d->ecs[k].ec)
				continue;
			size_t j = mix((uint64_t)(uintptr_t)d->ecs[k].ec) & (ncap - 1);
			while (n[j].ec)
				j = (j + 1) & (ncap - 1);
			n[j] = d->ecs[k];
		}
		free(d->ecs);
		d->ecs = n;
		d->ecs_cap = ncap;
		mask = ncap - 1;
		i = mix((uint64_t)(uintptr_t)ec) & mask;
		while (d->ecs[i].ec)
			i = (i + 1) & mask;
	}
	ec_fill(&d->ecs[i], ec);
	d->ecs[i].host = trace_host(d, ev);
	d->ecs_len++;
	/* A trace whose provider declares the batch event holds records: merge from now on. */
	if (!d->merge) {
		const bt_stream_class *sc = bt_event_class_borrow_stream_class_const(ec);
		uint64_t n = bt_stream_class_get_event_class_count(sc);
		for (uint64_t k = 0; k < n; k++) {
			const char *nm = bt_event_class_get_name(
			    bt_stream_class_borrow_event_class_by_index_const(sc, k));
			if (nm && strcmp(nm, "looptrace:batch") == 0)
				d->merge = 1;
		}
	}
	return d->last = &d->ecs[i];
}

/* ---------------------------------------------------------------------------------------- */
/* field reading */

static inline const bt_field *member(const bt_field *st, const struct fref *r)
{
	return bt_field_structure_borrow_member_field_by_index_const(st, r->idx);
}

static inline uint64_t read_u(const bt_field *st, const struct fref *r)
{
	if (!st || r->scope == SC_NONE)
		return 0;
	const bt_field *f = member(st, r);
	if (r->type == FT_UINT)
		return bt_field_integer_unsigned_get_value(f);
	if (r->type == FT_SINT)
		return (uint64_t)bt_field_integer_signed_get_value(f);
	return 0;
}

static inline int64_t read_i(const bt_field *st, const struct fref *r, int64_t dflt)
{
	if (!st || r->scope == SC_NONE)
		return dflt;
	const bt_field *f = member(st, r);
	if (r->type == FT_SINT)
		return bt_field_integer_signed_get_value(f);
	if (r->type == FT_UINT)
		return (int64_t)bt_field_integer_unsigned_get_value(f);
	return dflt;
}

static inline const char *read_s(const bt_field *st, const struct fref *r)
{
	if (!st || r->scope == SC_NONE || r->type != FT_STRING)
		return NULL;
	return bt_field_string_get_value(member(st, r));
}

static inline const bt_field *scope_field(const struct fref *r, const bt_field *common,
					  const bt_field *specific)
{
	return r->scope == SC_COMMON_CTX ? common : r->scope == SC_SPECIFIC_CTX ? specific : NULL;
}

static int64_t event_vpid(const bt_event *ev, const struct ec_info *ei)
{
	const bt_field *common = NULL, *specific = NULL;

	if (ei->vpid.scope == SC_COMMON_CTX)
		common = bt_event_borrow_common_context_field_const(ev);
	else if (ei->vpid.scope == SC_SPECIFIC_CTX)
		specific = bt_event_borrow_specific_context_field_const(ev);
	return LT_PROC_KEY(ei->host,
			   read_i(scope_field(&ei->vpid, common, specific), &ei->vpid, -1));
}

/* ---------------------------------------------------------------------------------------- */
/* threads, processes, the merge */

static struct dthread *thread_get(struct lt_decoder *d, int64_t vpid, int64_t vtid)
{
	if ((d->th_len + 1) * 2 > d->th_cap) {
		size_t ncap = d->th_cap ? d->th_cap * 2 : 64;
		struct dthread *n = calloc(ncap, sizeof(*n));
		if (!n)
			return NULL;
		for (size_t k = 0; k < d->th_cap; k++) {
			if (!d->th[k].used)
				continue;
			size_t j = mix((uint64_t)d->th[k].vpid * 0x9e3779b97f4a7c15ull ^
				       (uint64_t)d->th[k].vtid) &
				   (ncap - 1);
			while (n[j].used)
				j = (j + 1) & (ncap - 1);
			n[j] = d->th[k];
			if (n[j].heap_at)
				d->heap[n[j].heap_at - 1] = &n[j];
		}
		free(d->th);
		d->th = n;
		d->th_cap = ncap;
	}
	size_t mask = d->th_cap - 1,
	       i = mix((uint64_t)vpid * 0x9e3779b97f4a7c15ull ^ (uint64_t)vtid) & mask;
	while (d->th[i].used) {
		if (d->th[i].vpid == vpid && d->th[i].vtid == vtid)
			return &d->th[i];
		i = (i + 1) & mask;
	}
	struct dthread *t = &d->th[i];
	memset(t, 0, sizeof(*t));
	t->used = 1;
	t->vpid = vpid;
	t->vtid = vtid;
	t->last_ts = INT64_MIN;
	d->th_len++;
	return t;
}

static struct dproc *proc_get(struct lt_decoder *d, int64_t vpid)
{
	for (size_t i = 0; i < d->pr_len; i++)
		if (d->pr[i].vpid == vpid)
			return &d->pr[i];
	if (d->pr_len == d->pr_cap) {
		size_t ncap = d->pr_cap ? d->pr_cap * 2 : 8;
		struct dproc *n = realloc(d->pr, ncap * sizeof(*n));
		if (!n)
			return NULL;
		d->pr = n;
		d->pr_cap = ncap;
	}
	struct dproc *p = &d->pr[d->pr_len++];
	memset(p, 0, sizeof(*p));
	p->vpid = vpid;
	p->used = 1;
	return p;
}

/* pair_add - a calibration pair of process p, kept sorted by tsc (the oldest go first). */
static void pair_add(struct dproc *p, uint64_t tsc, uint64_t ns)
{
	unsigned i = p->n;
	while (i > 0 && p->p[i - 1].tsc > tsc)
		i--;
	if (i > 0 && p->p[i - 1].tsc == tsc)
		return;
	if (p->n == PAIRS_MAX) {
		if (i == 0)
			return; /* older than everything kept */
		memmove(&p->p[0], &p->p[1], (i - 1) * sizeof(p->p[0]));
		i--;
	} else {
		memmove(&p->p[i + 1], &p->p[i], (p->n - i) * sizeof(p->p[0]));
		p->n++;
	}
	p->p[i] = (struct pair){tsc, ns};
}

static inline int64_t lerp(const struct pair *a, const struct pair *b, uint64_t x)
{
	double slope = b->tsc != a->tsc ? (double)((int64_t)(b->ns - a->ns)) /
					      (double)((int64_t)(b->tsc - a->tsc))
					: 1.0;
	return (int64_t)a->ns + (int64_t)((double)(int64_t)(x - a->tsc) * slope);
}

/* tsc_to_mono - CLOCK_MONOTONIC ns of record clock value x in process p. */
static int64_t tsc_to_mono(struct dproc *p, uint64_t x)
{
	if (p->n == 0)
		return (int64_t)x;
	if (p->n == 1) {
		if (p->epoch.tsc && p->epoch.tsc != p->p[0].tsc)
			return lerp(&p->epoch, &p->p[0], x);
		return (int64_t)(p->p[0].ns + (x - p->p[0].tsc));
	}
	unsigned s = p->seg;
	if (s + 1 < p->n && p->p[s].tsc <= x && x < p->p[s + 1].tsc)
		return lerp(&p->p[s], &p->p[s + 1], x);
	if (x < p->p[0].tsc) {
		if (p->epoch.tsc && p->epoch.tsc < p->p[0].tsc)
			return lerp(&p->epoch, &p->p[0], x);
		return lerp(&p->p[0], &p->p[1], x);
	}
	unsigned lo = 0, hi = p->n - 1; /* p[lo].tsc <= x */
	if (x >= p->p[hi].tsc) {
		p->seg = p->n - 2;
		return lerp(&p->p[p->n - 2], &p->p[p->n - 1], x);
	}
	while (hi - lo > 1) {
		unsigned mid = (lo + hi) / 2;
		if (p->p[mid].tsc <= x)
			lo = mid;
		else
			hi = mid;
	}
	p->seg = lo;
	return lerp(&p->p[lo], &p->p[lo + 1], x);
}

static void pack(struct qev *q, const struct lt_event *e)
{
	memset(q, 0, sizeof(*q));
	q->ts_ns = e->ts_ns;
	q->kind = (uint8_t)e->kind;
	q->preload = (uint8_t)e->preload;
	q->msg = e->msg;
	q->name = e->name;
	q->begin_ns = e->begin_ns;
	q->end_ns = e->end_ns;
	q->chan = e->chan;
	q->depth = e->depth;
	switch (e->kind) {
	case LT_EV_COMPONENT_BEGIN:
	case LT_EV_COMPONENT_END:
	case LT_EV_COMPONENT_RENAME:
		q->chan = e->comp;
		q->w1 = e->cpu_ns;
		break;
	case LT_EV_CHANNEL_DECLARE:
		q->depth = e->capacity;
		q->w1 = e->object;
		break;
	case LT_EV_WAIT_BEGIN:
		q->w1 = e->cpu_ns;
		break;
	case LT_EV_BLOCK_BEGIN:
		q->depth = e->reason;
		q->w1 = e->object;
		q->begin_ns = (int64_t)e->where;
		q->msg = e->cpu_ns; /* the interposer's: its CPU time and wrapped call */
		q->chan = e->call;
		break;
	case LT_EV_BLOCK_END:
		q->w1 = e->cpu_ns; /* the interposer's */
		break;
	case LT_EV_SEND:
		q->w1 = e->flow;
		break;
	case LT_EV_HANDLE_NEXT:
		q->w1 = e->prev;
		break;
	case LT_EV_ROUTE_ADD:
		q->w1 = e->route;
		q->depth = e->owner;
		break;
	case LT_EV_ROUTE_REMOVE:
	case LT_EV_ROUTE_DISPATCH_BEGIN:
	case LT_EV_ROUTE_DISPATCH_END:
		q->chan = e->route;
		break;
	case LT_EV_POOL_DECLARE:
		q->chan = e->pool;
		q->depth = e->threads;
		break;
	case LT_EV_POOL_WORKER_BEGIN:
	case LT_EV_POOL_WORKER_END:
		q->chan = e->pool;
		break;
	case LT_EV_SEQ_BEGIN:
		q->chan = e->comp;
		q->depth = e->pool;
		q->w1 = e->flags;
		break;
	case LT_EV_SEQ_END:
	case LT_EV_SEQ_READY:
	case LT_EV_SEQ_RUN_BEGIN:
	case LT_EV_SEQ_RUN_END:
		q->chan = e->comp;
		break;
	default:
		break;
	}
}

static void unpack(struct lt_event *e, const struct qev *q, const struct dthread *t)
{
	memset(e, 0, sizeof(*e));
	e->ts_ns = q->ts_ns;
	e->vpid = t->vpid;
	e->vtid = t->vtid;
	e->kind = (enum lt_ev_kind)q->kind;
	e->preload = q->preload;
	e->msg = q->msg;
	e->name = q->name;
	e->begin_ns = q->begin_ns;
	e->end_ns = q->end_ns;
	e->chan = q->chan;
	e->depth = q->depth;
	switch (e->kind) {
	case LT_EV_COMPONENT_BEGIN:
	case LT_EV_COMPONENT_END:
	case LT_EV_COMPONENT_RENAME:
		e->comp = q->chan;
		e->chan = 0;
		e->cpu_ns = q->w1;
		break;
	case LT_EV_CHANNEL_DECLARE:
		e->capacity = q->depth;
		e->depth = 0;
		e->object = q->w1;
		break;
	case LT_EV_WAIT_BEGIN:
		e->cpu_ns = q->w1;
		break;
	case LT_EV_BLOCK_BEGIN:
		e->reason = q->depth;
		e->depth = 0;
		e->object = q->w1;
		e->where = (uint64_t)q->begin_ns;
		e->begin_ns = 0;
		e->cpu_ns = q->msg;
		e->msg = 0;
		e->call = q->chan;
		e->chan = 0;
		break;
	case LT_EV_BLOCK_END:
		e->cpu_ns = q->w1;
		break;
	case LT_EV_SEND:
		e->flow = q->w1;
		break;
	case LT_EV_HANDLE_NEXT:
		e->prev = q->w1;
		break;
	case LT_EV_ROUTE_ADD:
		e->route = (uint32_t)q->w1;
		e->owner = q->depth;
		e->depth = 0;
		break;
	case LT_EV_ROUTE_REMOVE:
	case LT_EV_ROUTE_DISPATCH_BEGIN:
	case LT_EV_ROUTE_DISPATCH_END:
		e->route = q->chan;
		e->chan = 0;
		break;
	case LT_EV_POOL_DECLARE:
		e->pool = q->chan;
		e->threads = q->depth;
		e->chan = e->depth = 0;
		break;
	case LT_EV_POOL_WORKER_BEGIN:
	case LT_EV_POOL_WORKER_END:
		e->pool = q->chan;
		e->chan = 0;
		break;
	case LT_EV_SEQ_BEGIN:
		e->comp = q->chan;
		e->pool = q->depth;
		e->flags = (uint32_t)q->w1;
		e->chan = e->depth = 0;
		break;
	case LT_EV_SEQ_END:
	case LT_EV_SEQ_READY:
	case LT_EV_SEQ_RUN_BEGIN:
	case LT_EV_SEQ_RUN_END:
		e->comp = q->chan;
		e->chan = 0;
		break;
	default:
		break;
	}
}

static inline int64_t q_head_ts(const struct dthread *t)
{
	return t->q[t->qhead].ts_ns;
}

static void heap_swap(struct lt_decoder *d, size_t i, size_t j)
{
	struct dthread *a = d->heap[i];
	d->heap[i] = d->heap[j];
	d->heap[j] = a;
	d->heap[i]->heap_at = i + 1;
	d->heap[j]->heap_at = j + 1;
}

static void heap_up(struct lt_decoder *d, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (q_head_ts(d->heap[p]) <= q_head_ts(d->heap[i]))
			break;
		heap_swap(d, i, p);
		i = p;
	}
}

static void heap_down(struct lt_decoder *d, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < d->heap_len && q_head_ts(d->heap[l]) < q_head_ts(d->heap[m]))
			m = l;
		if (r < d->heap_len && q_head_ts(d->heap[r]) < q_head_ts(d->heap[m]))
			m = r;
		if (m == i)
			return;
		heap_swap(d, i, m);
		i = m;
	}
}

/* push - holds e back in its thread's queue (sorted by time). 0, or -1 when out of memory
 * (then e is fed at once). */
static int push(struct lt_decoder *d, struct dthread *t, const struct lt_event *e)
{
	if (t->qlen == t->qcap) {
		size_t ncap = t->qcap ? t->qcap * 2 : 64;
		struct qev *n = malloc(ncap * sizeof(*n));
		if (!n)
			return -1;
		for (size_t k = 0; k < t->qlen; k++)
			n[k] = t->q[(t->qhead + k) & (t->qcap - 1)];
		free(t->q);
		t->q = n;
		t->qcap = ncap;
		t->qhead = 0;
	}
	if (!t->heap_at && d->heap_len == d->heap_cap) {
		size_t ncap = d->heap_cap ? d->heap_cap * 2 : 64;
		struct dthread **n = realloc(d->heap, ncap * sizeof(*n));
		if (!n)
			return -1;
		d->heap = n;
		d->heap_cap = ncap;
	}
	size_t mask = t->qcap - 1, at = t->qlen;
	/* usually at the end; an ordinary event of this thread may sort before records */
	while (at > 0 && t->q[(t->qhead + at - 1) & mask].ts_ns > e->ts_ns) {
		t->q[(t->qhead + at) & mask] = t->q[(t->qhead + at - 1) & mask];
		at--;
	}
	pack(&t->q[(t->qhead + at) & mask], e);
	t->qlen++;
	d->pending++;
	if (!t->heap_at) {
		d->heap[d->heap_len] = t;
		t->heap_at = ++d->heap_len;
		heap_up(d, d->heap_len - 1);
	} else if (at == 0) {
		heap_up(d, t->heap_at - 1);
	}
	return 0;
}

/* release - feeds every held event at or before `limit`, in time order. */
static void release(struct lt_decoder *d, int64_t limit)
{
	while (d->heap_len > 0) {
		struct dthread *t = d->heap[0];
		struct qev *q = &t->q[t->qhead];
		if (q->ts_ns > limit)
			return;
		struct lt_event x;
		unpack(&x, q, t);
		t->qhead = (t->qhead + 1) & (t->qcap - 1);
		t->qlen--;
		d->pending--;
		if (t->qlen == 0) {
			t->heap_at = 0;
			d->heap_len--;
			if (d->heap_len > 0) {
				d->heap[0] = d->heap[d->heap_len];
				d->heap[0]->heap_at = 1;
				heap_down(d, 0);
			}
		} else {
			heap_down(d, 0);
		}
		d->ops.event(d->ops.ctx, &x);
	}
}

/* emit - an event of thread t: held back while merging, else fed at once. */
static void emit(struct lt_decoder *d, struct dthread *t, const struct lt_event *e)
{
	if (d->merge && t && push(d, t, e) == 0)
		return;
	d->ops.event(d->ops.ctx, e);
}

/* advance - the input reached time ts: release what is older than the horizon. */
static void advance(struct lt_decoder *d, int64_t ts)
{
	if (ts > d->in_ts)
		d->in_ts = ts;
	if (d->merge && d->heap_len)
		release(d, d->in_ts - d->horizon);
}

/* ---------------------------------------------------------------------------------------- */
/* batches */

static void ev_init(struct lt_event *e, enum lt_ev_kind kind, const struct dthread *t, int64_t ts)
{
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->vpid = t->vpid;
	e->vtid = t->vtid;
	e->ts_ns = ts;
}

static const char *str_at(struct lt_decoder *d, const uint64_t *w, uint32_t len, char *buf,
			  size_t bufsz)
{
	if (len >= bufsz)
		len = (uint32_t)bufsz - 1;
	memcpy(buf, w, len);
	buf[len] = 0;
	return intern(d, buf);
}

/* struct batch - what the records of one batch are read against. */
struct batch {
	struct lt_decoder *d;
	struct dthread *t;
	struct dproc *p;
	int clock;       /* LT_REC_CLOCK_* of the records' clock values */
	int64_t offset;  /* ns from origin = CLOCK_MONOTONIC ns + offset */
	uint64_t msg_hi; /* the process's message tag << 48: short HNEXT records leave it out */
};

#define BATCH_STR_MAX (LT_REC_STR_MAX + 1) /* size of the string buffer of a batch */

/* batch_ts - ns from origin of record clock value x. */
static inline int64_t batch_ts(const struct batch *b, uint64_t x)
{
	return (b->clock == LT_REC_CLOCK_TSC ? tsc_to_mono(b->p, x) : (int64_t)x) + b->offset;
}

/* batch_owner - the thread (returned) and process (*p) of a batch; NULL if either is missing. */
static struct dthread *batch_owner(struct lt_decoder *d, const bt_event *ev,
				   const struct ec_info *ei, const bt_field *pl, struct dproc **p)
{
	const bt_field *common = NULL, *specific = NULL;
	if (ei->vtid.scope == SC_COMMON_CTX || ei->vpid.scope == SC_COMMON_CTX)
		common = bt_event_borrow_common_context_field_const(ev);
	if (ei->vtid.scope == SC_SPECIFIC_CTX || ei->vpid.scope == SC_SPECIFIC_CTX)
		specific = bt_event_borrow_specific_context_field_const(ev);
	int64_t vpid =
	    LT_PROC_KEY(ei->host, read_i(scope_field(&ei->vpid, common, specific), &ei->vpid, -1));
	int64_t vtid = (int64_t)read_u(pl, &ei->f[F_TID]);
	if (!vtid)
		vtid = read_i(scope_field(&ei->vtid, common, specific), &ei->vtid, -1);
	struct dthread *t = thread_get(d, vpid, vtid);
	*p = proc_get(d, vpid);
	return *p ? t : NULL;
}

/* batch_calibrate - a TSC batch's epoch and calibration pair, for its process. */
static void batch_calibrate(struct dproc *p, const bt_field *pl, const struct ec_info *ei)
{
	uint64_t et = read_u(pl, &ei->f[F_EPOCH_TSC]), en = read_u(pl, &ei->f[F_EPOCH_NS]);
	if (et && !p->epoch.tsc)
		p->epoch = (struct pair){et, en};
	pair_add(p, read_u(pl, &ei->f[F_CAL_TSC]), read_u(pl, &ei->f[F_CAL_NS]));
}

/* batch_words - copies the record words of a batch into d->words (*n of them); -1 if no memory. */
static int batch_words(struct lt_decoder *d, const bt_field *pl, const struct ec_info *ei,
		       uint64_t *n)
{
	const bt_field *arr = member(pl, &ei->words);
	uint64_t len = bt_field_array_get_length(arr);
	if (len > d->words_cap) {
		uint64_t *w = realloc(d->words, len * sizeof(*w));
		if (!w)
			return -1;
		d->words = w;
		d->words_cap = len;
	}
	for (uint64_t i = 0; i < len; i++)
		d->words[i] = bt_field_integer_unsigned_get_value(
		    bt_field_array_borrow_element_field_by_index_const(arr, i));
	*n = len;
	return 0;
}

/* batch_lost - at the first record (number `first`, time rts) of a batch: were batches of
 * this thread lost before it? */
static void batch_lost(struct lt_decoder *d, struct dthread *t, uint64_t first, int64_t rts)
{
	if (first <= t->records)
		return;
	if (d->ops.lost)
		d->ops.lost(d->ops.ctx, first - t->records, t->last_ts != INT64_MIN,
			    t->last_ts != INT64_MIN ? t->last_ts : rts, rts);
	t->cur_msg = 0;
}

/* batch_late - how late this batch came (at ts, first record at first_ts): the horizon must
 * cover it next time. */
static void batch_late(struct lt_decoder *d, int64_t ts, int64_t first_ts)
{
	if (first_ts == INT64_MIN)
		return;
	if (ts - first_ts > d->max_late)
		d->max_late = ts - first_ts;
	if (ts - first_ts > d->horizon / 2) {
		int64_t h = 2 * (ts - first_ts);
		d->horizon = h > HORIZON_MAX_NS ? HORIZON_MAX_NS : h;
	}
}

/* rec_def_key - a handle key definition: its channel and name, for the thread's later records. */
static inline void rec_def_key(struct lt_decoder *d, struct dthread *t, uint32_t a,
			       const uint64_t *r, char *buf)
{
	if (!t->keys) {
		t->keys = calloc(LT_REC_KEY_MAX + 1, sizeof(*t->keys));
		if (!t->keys)
			return;
	}
	struct hkey *k = &t->keys[a & LT_REC_KEY_MAX];
	k->chan = (uint32_t)r[1];
	k->name = str_at(d, r + 2, a >> 12, buf, BATCH_STR_MAX);
}

/* rec_depth - the depth of a short form's `a` (LT_DEPTH_UNKNOWN from format 2.2's marker). */
static inline uint32_t rec_depth(uint32_t a)
{
	uint32_t d = a >> 12;

	return d == LT_REC_DEPTH_UNKNOWN ? LT_DEPTH_UNKNOWN : d;
}

/*
 * handler_end - the end of the thread's open handler whose end was read at clock value clk:
 * the tracer's own bracket (the batch's `bracket`) taken off, but never before the handler's
 * begin nor before the thread's record preceding the end when that record lies inside the
 * handler (a key definition written between a kept end and the next begin does not), nor
 * after the end as read.
 */
static inline int64_t handler_end(const struct batch *b, uint64_t clk)
{
	const struct dthread *t = b->t;
	int64_t raw = batch_ts(b, clk);
	int64_t end = batch_ts(b, clk - (t->bracket < clk ? t->bracket : 0));
	int64_t floor = t->prev_ts > t->cur_begin && t->prev_ts <= raw ? t->prev_ts : t->cur_begin;

	if (floor > raw)
		floor = raw;
	return end > floor ? end : floor;
}

/* rec_hnext - a handle-next record (short, short with no end, or long) at clock value clk. */
static inline void rec_hnext(const struct batch *b, unsigned kind, uint32_t a, const uint64_t *r,
			     uint64_t clk, struct lt_event *e)
{
	struct dthread *t = b->t;
	uint32_t key = a & LT_REC_KEY_MAX;
	uint64_t ed;
	int ended;
	if (kind == LT_REC_HNEXT_LONG) {
		e->depth = (uint32_t)r[1];
		e->msg = r[2];
		ed = r[3];
		ended = ed != ~(uint64_t)0;
	} else {
		e->depth = rec_depth(a);
		e->msg = (r[1] & LT_REC_MSG48_MAX) | b->msg_hi;
		ed = r[1] >> 48;
		ended = kind == LT_REC_HNEXT;
	}
	e->kind = LT_EV_HANDLE_NEXT;
	if (t->keys) {
		e->chan = t->keys[key].chan;
		e->name = t->keys[key].name;
	}
	if (ended && t->cur_msg) {
		e->prev = t->cur_msg;
		e->begin_ns = t->cur_begin;
		e->end_ns = handler_end(b, clk - ed);
	}
	t->cur_msg = e->msg;
	t->cur_begin = e->ts_ns;
}

/* rec_hbegin, rec_hend - the explicit begin and end of a handled message. */
static inline void rec_hbegin(struct dthread *t, uint32_t a, const uint64_t *r, struct lt_event *e)
{
	e->kind = LT_EV_HANDLE_BEGIN;
	e->msg = r[1];
	if (t->keys)
		e->name = t->keys[a & LT_REC_KEY_MAX].name;
	t->cur_msg = e->msg;
	t->cur_begin = e->ts_ns;
}

static inline void rec_hend(const struct batch *b, const uint64_t *r, uint64_t clk,
			    struct lt_event *e)
{
	struct dthread *t = b->t;

	e->kind = LT_EV_HANDLE_END;
	e->msg = r[1];
	if (t->cur_msg && t->cur_msg == e->msg) {
		e->begin_ns = t->cur_begin;
		e->end_ns = handler_end(b, clk);
		if (e->end_ns > e->ts_ns)
			e->end_ns = e->ts_ns;
	}
	t->cur_msg = 0;
}

/* rec_seq - rec_expand for the records of pools and sequences (format 2.1). */
static inline void rec_seq(const struct batch *b, unsigned kind, uint32_t a, const uint64_t *r,
			   struct lt_event *e, char *buf)
{
	switch (kind) {
	case LT_REC_POOL_DECLARE:
		e->kind = LT_EV_POOL_DECLARE;
		e->pool = (uint32_t)r[1];
		e->threads = (uint32_t)(r[1] >> 32);
		e->name = str_at(b->d, r + 3, a & 0xffff, buf, BATCH_STR_MAX);
		break;
	case LT_REC_WORKER_BEGIN:
	case LT_REC_WORKER_END:
		e->kind =
		    kind == LT_REC_WORKER_BEGIN ? LT_EV_POOL_WORKER_BEGIN : LT_EV_POOL_WORKER_END;
		e->pool = a;
		b->t->cur_msg = 0;
		break;
	case LT_REC_SEQ_BEGIN:
		e->kind = LT_EV_SEQ_BEGIN;
		e->comp = (uint32_t)r[1];
		e->pool = (uint32_t)(r[1] >> 32);
		e->flags = (uint32_t)r[2];
		e->name = str_at(b->d, r + 3, a & 0xffff, buf, BATCH_STR_MAX);
		break;
	case LT_REC_SEQ_END:
		e->kind = LT_EV_SEQ_END;
		e->comp = a;
		break;
	case LT_REC_SEQ_READY:
		e->kind = LT_EV_SEQ_READY;
		e->comp = a;
		break;
	case LT_REC_SEQ_RUN_BEGIN:
	case LT_REC_SEQ_RUN_END:
		/* a handler open on the worker is the previous sequence's: never the next's */
		e->kind = kind == LT_REC_SEQ_RUN_BEGIN ? LT_EV_SEQ_RUN_BEGIN : LT_EV_SEQ_RUN_END;
		e->comp = a;
		b->t->cur_msg = 0;
		break;
	default:
		break; /* a kind of a newer minor version: counted as unknown */
	}
}

/* rec_structure - rec_expand for the records of the program's structure: components,
 * channels, routes. */
static inline void rec_structure(const struct batch *b, unsigned kind, uint32_t a,
				 const uint64_t *r, struct lt_event *e, char *buf)
{
	switch (kind) {
	case LT_REC_COMP_BEGIN:
		e->kind = LT_EV_COMPONENT_BEGIN;
		e->comp = (uint32_t)r[1];
		e->cpu_ns = r[2];
		e->name = str_at(b->d, r + 3, a & 0xffff, buf, BATCH_STR_MAX);
		b->t->cur_msg = 0;
		break;
	case LT_REC_COMP_END:
		e->kind = LT_EV_COMPONENT_END;
		e->comp = a;
		e->cpu_ns = r[1];
		b->t->cur_msg = 0;
		break;
	case LT_REC_CHAN_DECLARE:
		e->kind = LT_EV_CHANNEL_DECLARE;
		e->chan = (uint32_t)r[1];
		e->capacity = (uint32_t)(r[1] >> 32);
		e->object = r[2];
		e->name = str_at(b->d, r + 3, a & 0xffff, buf, BATCH_STR_MAX);
		break;
	case LT_REC_ROUTE_ADD:
		e->kind = LT_EV_ROUTE_ADD;
		e->route = a;
		e->chan = (uint32_t)r[1];
		e->owner = (uint32_t)(r[1] >> 32);
		break;
	case LT_REC_ROUTE_REMOVE:
		e->kind = LT_EV_ROUTE_REMOVE;
		e->route = a;
		break;
	case LT_REC_DISPATCH_BEGIN:
		e->kind = LT_EV_ROUTE_DISPATCH_BEGIN;
		e->route = a;
		e->msg = r[1];
		break;
	case LT_REC_DISPATCH_END:
		e->kind = LT_EV_ROUTE_DISPATCH_END;
		e->route = a;
		break;
	default:
		rec_seq(b, kind, a, r, e, buf);
		break;
	}
}

/* rec_expand - fills e (made by ev_init) from record r of kind `kind`, first-word argument a,
 * clock value clk. Returns 0 for a record that is no event (a key definition), else 1. */
static inline int rec_expand(const struct batch *b, unsigned kind, uint32_t a, const uint64_t *r,
			     uint64_t clk, struct lt_event *e, char *buf)
{
	switch (kind) {
	case LT_REC_DEF_KEY:
		rec_def_key(b->d, b->t, a, r, buf);
		return 0;
	case LT_REC_SEND:
		e->kind = LT_EV_SEND;
		e->chan = a & LT_REC_KEY_MAX;
		e->depth = rec_depth(a);
		e->msg = r[1];
		break;
	case LT_REC_SEND_LONG:
		e->kind = LT_EV_SEND;
		e->depth = a;
		e->chan = (uint32_t)r[1];
		e->msg = r[2];
		e->flow = r[3];
		break;
	case LT_REC_RECV:
		e->kind = LT_EV_RECV;
		e->chan = a & LT_REC_KEY_MAX;
		e->depth = rec_depth(a);
		e->msg = r[1];
		break;
	case LT_REC_RECV_LONG:
		e->kind = LT_EV_RECV;
		e->depth = a;
		e->chan = (uint32_t)r[1];
		e->msg = r[2];
		break;
	case LT_REC_HNEXT:
	case LT_REC_HNEXT0:
	case LT_REC_HNEXT_LONG:
		rec_hnext(b, kind, a, r, clk, e);
		break;
	case LT_REC_HBEGIN:
		rec_hbegin(b->t, a, r, e);
		break;
	case LT_REC_HEND:
		rec_hend(b, r, clk, e);
		break;
	case LT_REC_WAIT_BEGIN:
		e->kind = LT_EV_WAIT_BEGIN;
		e->cpu_ns = r[1];
		break;
	case LT_REC_WAIT_END:
		e->kind = LT_EV_WAIT_END;
		e->chan = a;
		e->msg = r[1];
		break;
	case LT_REC_BLOCK_BEGIN:
		e->kind = LT_EV_BLOCK_BEGIN;
		e->reason = a;
		e->object = r[1];
		e->where = r[2];
		break;
	case LT_REC_BLOCK_END:
		e->kind = LT_EV_BLOCK_END;
		break;
	default:
		rec_structure(b, kind, a, r, e, buf);
		break;
	}
	return 1;
}

/*
 * batch_bracket - the batch's `bracket` (ticks; 0: none): its thread's handlers end that much
 * earlier unless LOOPTRACE_RAW_BOUNDS is set; ops.bracket hears it in ns (at the batch's base
 * clk) when it changes.
 */
static void batch_bracket(const struct batch *b, uint64_t ticks, uint64_t clk)
{
	struct lt_decoder *d = b->d;
	struct dthread *t = b->t;
	uint64_t use = d->raw_bounds ? 0 : ticks;

	if (ticks && d->ops.bracket && t->bracket_seen != ticks)
		d->ops.bracket(d->ops.ctx, t->vpid, batch_ts(b, clk + ticks) - batch_ts(b, clk));
	t->bracket_seen = ticks;
	t->bracket = use;
}

/* on_batch - a batch event: expands its records, in order, into events of its thread. */
static void on_batch(struct lt_decoder *d, const bt_event *ev, const struct ec_info *ei, int64_t ts,
		     uint64_t cycles, int exact)
{
	const bt_field *pl = bt_event_borrow_payload_field_const(ev);
	struct batch b = {.d = d};
	b.t = batch_owner(d, ev, ei, pl, &b.p);
	if (!b.t)
		return;
	struct dthread *t = b.t;
	uint64_t first = read_u(pl, &ei->f[F_FIRST]);
	uint64_t clk = read_u(pl, &ei->f[F_BASE]);
	b.clock = (int)read_u(pl, &ei->f[F_CLOCK]);
	b.msg_hi = (read_u(pl, &ei->f[F_MSG_HI]) & 0xffff) << 48; /* 0 before format 2.1 */
	b.offset = exact ? ts - (int64_t)cycles : 0;
	if (b.clock == LT_REC_CLOCK_TSC)
		batch_calibrate(b.p, pl, ei);
	batch_bracket(&b, read_u(pl, &ei->f[F_BRACKET]), clk); /* 0 before format 2.2 */
	uint64_t n;
	if (batch_words(d, pl, ei, &n) < 0)
		return;
	const uint64_t *w = d->words;
	int64_t first_ts = INT64_MIN;
	uint64_t count = 0;
	char buf[BATCH_STR_MAX];
	for (uint64_t i = 0; i < n;) {
		uint64_t w0 = w[i];
		unsigned len = lt_rec_words(w0), kind = lt_rec_kind(w0);
		if (len == 0 || i + len > n)
			break; /* unknown or cut: the rest of the batch is unreadable */
		const uint64_t *r = &w[i];
		i += len;
		if (kind == LT_REC_PAD)
			continue;
		count++;
		if (kind == LT_REC_SYNC) {
			clk = r[1];
			continue;
		}
		clk += lt_rec_delta(w0);
		int64_t rts = batch_ts(&b, clk);
		if (rts < t->last_ts)
			rts = t->last_ts; /* a thread's records are in order */
		if (first_ts == INT64_MIN) {
			first_ts = rts;
			batch_lost(d, t, first, rts);
		}
		t->prev_ts = t->last_ts;
		t->last_ts = rts;
		struct lt_event e;
		ev_init(&e, LT_EV_UNKNOWN, t, rts);
		if (rec_expand(&b, kind, lt_rec_a(w0), r, clk, &e, buf))
			emit(d, t, &e);
	}
	t->records = first + count;
	batch_late(d, ts, first_ts);
}

/* ---------------------------------------------------------------------------------------- */
/* messages */

/* on_info - an event about a process: an object it loaded, its build id, or its name. */
static void on_info(struct lt_decoder *d, const bt_event *ev, const struct ec_info *ei)
{
	const bt_field *pl = bt_event_borrow_payload_field_const(ev);
	int64_t vpid = event_vpid(ev, ei);
	if (ei->object_info && d->ops.object) {
		int is_pic = ei->is_pic.scope == SC_NONE ? 1 : read_u(pl, &ei->is_pic) != 0;
		d->ops.object(d->ops.ctx, vpid, read_u(pl, &ei->baddr), read_u(pl, &ei->memsz),
			      read_s(pl, &ei->path), is_pic);
	} else if (ei->build_id_info && d->ops.build_id) {
		const bt_field *arr = member(pl, &ei->build_id);
		uint64_t len = bt_field_array_get_length(arr);
		uint8_t id[LT_ANALYSIS_MAX_BUILD_ID];
		if (len > 0 && len <= sizeof(id)) {
			for (uint64_t i = 0; i < len; i++)
				id[i] = (uint8_t)bt_field_integer_unsigned_get_value(
				    bt_field_array_borrow_element_field_by_index_const(arr, i));
			d->ops.build_id(d->ops.ctx, vpid, read_u(pl, &ei->baddr), id, (size_t)len);
		}
	} else if (ei->procname && d->ops.procname) {
		d->ops.procname(d->ops.ctx, vpid, read_s(pl, &ei->pname));
	}
}

/* event_clock - the time of an event with a clock, ns from origin, in *ts (the last event's when
 * it does not convert); 1 with the clock's raw value in *cycles when it counts exact ns, else 0. */
static int event_clock(const struct lt_decoder *d, const bt_message *msg, const struct ec_info *ei,
		       int64_t *ts, uint64_t *cycles)
{
	const bt_clock_snapshot *cs = bt_message_event_borrow_default_clock_snapshot_const(msg);
	if (bt_clock_snapshot_get_ns_from_origin(cs, ts) !=
	    BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK) {
		*ts = d->last_ts;
		return 0;
	}
	if (!ei->exact_clock)
		return 0;
	*cycles = bt_clock_snapshot_get_value(cs);
	return 1;
}

static void on_event(struct lt_decoder *d, const bt_message *msg)
{
	const bt_event *ev = bt_message_event_borrow_event_const(msg);
	struct ec_info *ei = ec_lookup(d, ev);
	struct lt_event e;
	memset(&e, 0, sizeof(e));
	if (!ei) {
		e.kind = LT_EV_OTHER;
		d->ops.event(d->ops.ctx, &e);
		return;
	}
	e.kind = ei->kind;
	e.preload = ei->preload;
	if (ei->object_info || ei->build_id_info || ei->procname)
		on_info(d, ev, ei);
	if (e.kind == LT_EV_OTHER) {
		d->ops.event(d->ops.ctx, &e);
		return;
	}
	int64_t ts = d->last_ts;
	uint64_t cycles = 0;
	int exact = ei->has_clock ? event_clock(d, msg, ei, &ts, &cycles) : 0;
	d->last_ts = ts;
	if (ei->batch) {
		on_batch(d, ev, ei, ts, cycles, exact);
		advance(d, ts);
		return;
	}
	e.ts_ns = ts;
	const bt_field *common = NULL, *specific = NULL;
	if (ei->vtid.scope == SC_COMMON_CTX || ei->vpid.scope == SC_COMMON_CTX ||
	    ei->procname_ctx.scope == SC_COMMON_CTX)
		common = bt_event_borrow_common_context_field_const(ev);
	if (ei->vtid.scope == SC_SPECIFIC_CTX || ei->vpid.scope == SC_SPECIFIC_CTX ||
	    ei->procname_ctx.scope == SC_SPECIFIC_CTX)
		specific = bt_event_borrow_specific_context_field_const(ev);
	e.vtid = read_i(scope_field(&ei->vtid, common, specific), &ei->vtid, -1);
	e.vpid =
	    LT_PROC_KEY(ei->host, read_i(scope_field(&ei->vpid, common, specific), &ei->vpid, -1));
	e.procname = read_s(scope_field(&ei->procname_ctx, common, specific), &ei->procname_ctx);
	const bt_field *pl = bt_event_borrow_payload_field_const(ev);
	e.comp = (uint32_t)read_u(pl, &ei->f[F_COMP]);
	e.chan = (uint32_t)read_u(pl, &ei->f[F_CHAN]);
	e.capacity = (uint32_t)read_u(pl, &ei->f[F_CAPACITY]);
	e.route = (uint32_t)read_u(pl, &ei->f[F_ROUTE]);
	e.owner = (uint32_t)read_u(pl, &ei->f[F_OWNER]);
	e.reason = (uint32_t)read_u(pl, &ei->f[F_REASON]);
	e.depth = (uint32_t)read_u(pl, &ei->f[F_DEPTH]);
	e.msg = read_u(pl, &ei->f[F_MSG]);
	e.flow = read_u(pl, &ei->f[F_FLOW]);
	e.object = read_u(pl, &ei->f[F_OBJECT]);
	e.where = read_u(pl, &ei->f[F_WHERE]);
	e.name = read_s(pl, &ei->f[F_NAME]);
	e.prev = read_u(pl, &ei->f[F_PREV]);
	e.call = (uint32_t)read_u(pl, &ei->f[F_CALL]);
	e.cpu_ns = read_u(pl, &ei->f[F_CPU_NS]);
	e.pool = (uint32_t)read_u(pl, &ei->f[F_POOL]);
	e.threads = (uint32_t)read_u(pl, &ei->f[F_THREADS]);
	e.flags = (uint32_t)read_u(pl, &ei->f[F_FLAGS]);
	if (exact && ei->f[F_END_TS].scope == SC_PAYLOAD) {
		/* 1 GHz clock: a value converts to ns from origin by its distance to the event's */
		uint64_t b = read_u(pl, &ei->f[F_BEGIN_TS]), x = read_u(pl, &ei->f[F_END_TS]);
		if (b && x) {
			e.begin_ns = ts + (int64_t)(b - cycles);
			e.end_ns = ts + (int64_t)(x - cycles);
		}
	}
	if (d->merge) {
		e.name = intern(d, e.name);
		emit(d, thread_get(d, e.vpid, e.vtid), &e);
		advance(d, ts);
		return;
	}
	d->ops.event(d->ops.ctx, &e);
}

static void on_discarded(struct lt_decoder *d, const bt_message *msg)
{
	uint64_t count = 0;
	if (bt_message_discarded_events_get_count(msg, &count) !=
	    BT_PROPERTY_AVAILABILITY_AVAILABLE)
		count = 0;
	const bt_stream *stream = bt_message_discarded_events_borrow_stream_const(msg);
	const bt_stream_class *sc = bt_stream_borrow_class_const(stream);
	int has_window = 0;
	int64_t b = 0, e = 0;
	if (bt_stream_class_borrow_default_clock_class_const(sc) &&
	    bt_stream_class_discarded_events_have_default_clock_snapshots(sc)) {
		const bt_clock_snapshot *cb =
		    bt_message_discarded_events_borrow_beginning_default_clock_snapshot_const(msg);
		const bt_clock_snapshot *ce =
		    bt_message_discarded_events_borrow_end_default_clock_snapshot_const(msg);
		has_window = bt_clock_snapshot_get_ns_from_origin(cb, &b) ==
				 BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK &&
			     bt_clock_snapshot_get_ns_from_origin(ce, &e) ==
				 BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK;
	}
	/* an unknown count is still a loss: count it as one event */
	if (d->ops.lost)
		d->ops.lost(d->ops.ctx, count ? count : 1, has_window, b, e);
}

void lt_decoder_message(struct lt_decoder *d, const bt_message *m)
{
	switch (bt_message_get_type(m)) {
	case BT_MESSAGE_TYPE_EVENT:
		on_event(d, m);
		break;
	case BT_MESSAGE_TYPE_DISCARDED_EVENTS:
		on_discarded(d, m);
		break;
	case BT_MESSAGE_TYPE_MESSAGE_ITERATOR_INACTIVITY: {
		/* a live source's "nothing before this time": lets held events go */
		const bt_clock_snapshot *cs =
		    bt_message_message_iterator_inactivity_borrow_clock_snapshot_const(m);
		int64_t ns;
		if (cs && bt_clock_snapshot_get_ns_from_origin(cs, &ns) ==
			      BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK)
			advance(d, ns);
		break;
	}
	default:
		break;
	}
}

void lt_decoder_finish(struct lt_decoder *d)
{
	release(d, INT64_MAX);
}

size_t lt_decoder_pending(const struct lt_decoder *d)
{
	return d->pending;
}

struct lt_decoder *lt_decoder_create(const struct lt_decode_ops *ops)
{
	struct lt_decoder *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->ops = *ops;
	const char *raw = getenv("LOOPTRACE_RAW_BOUNDS");
	d->raw_bounds = raw && raw[0] && strcmp(raw, "0") != 0;
	d->ecs_cap = 64;
	d->ecs = calloc(d->ecs_cap, sizeof(*d->ecs));
	if (!d->ecs) {
		free(d);
		return NULL;
	}
	d->horizon = HORIZON_MIN_NS;
	d->in_ts = INT64_MIN + HORIZON_MAX_NS;
	return d;
}

void lt_decoder_destroy(struct lt_decoder *d)
{
	if (!d)
		return;
	if (getenv("LOOPTRACE_DECODE_DEBUG"))
		fprintf(stderr, "decode: horizon %lld ns, largest batch delay %lld ns\n",
			(long long)d->horizon, (long long)d->max_late);
	for (size_t i = 0; i < d->th_cap; i++) {
		if (!d->th[i].used)
			continue;
		free(d->th[i].q);
		free(d->th[i].keys);
	}
	free(d->th);
	free(d->heap);
	free(d->pr);
	for (size_t i = 0; i < d->strs_cap; i++)
		free(d->strs[i]);
	free(d->strs);
	free(d->words);
	for (size_t i = 0; i < d->hosts_len; i++)
		free(d->hosts[i]);
	free(d->hosts);
	free(d->traces);
	free(d->ecs);
	free(d);
}
