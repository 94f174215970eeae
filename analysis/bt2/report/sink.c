/*
 * sink.c - sink.looptrace.report: a thin babeltrace2 adapter around the analysis core.
 *
 * For every event message the sink finds the event class in a small open-addressing cache
 * (keyed by the event-class pointer, filled once per class): the event kind and where each
 * payload and context field sits (structure member index, signedness). The per-event path
 * then reads fields by index, fills a `struct lt_event` on the stack and feeds the core: no
 * allocation and no string comparison per event. Discarded-events messages become lost
 * events and loss windows. When the input ends, the JSON report is written to `output`.
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
 * Ownership: the sink owns its message iterator, the analysis and the output stream; every
 * message it receives is put as soon as it is processed. Event-class pointers in the cache
 * are weak: an event class lives as long as its trace, which outlives its messages.
 */
#define _GNU_SOURCE
#include "sink.h"

#include "looptrace/analysis.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	F_COUNT
};

static const char *const fld_names[F_COUNT] = {
    "comp", "chan",   "capacity", "route", "owner",    "reason", "depth", "msg",
    "flow", "object", "where",    "name",  "begin_ts", "end_ts", "prev",
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
	int object_info; /* lttng_ust_statedump:bin_info or lttng_ust_dl:dlopen: a loaded object */
	int build_id_info; /* lttng_ust_statedump:build_id or lttng_ust_dl:build_id */
	struct fref baddr, memsz, path, is_pic, build_id;
	int has_clock;
	int exact_clock; /* the clock counts ns of LTTng-UST's CLOCK_MONOTONIC: *_ts fields usable
			  */
	struct fref vtid, vpid;
	struct fref f[F_COUNT];
};

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
	char *out_path;               /* owned */
	int out_created;              /* this sink created `out_path` (removed on failure) */
	int progress;
	struct ec_info *ecs; /* owned, open addressing, ecs_cap slots */
	size_t ecs_cap, ecs_len;
	struct ec_info *last; /* weak, cache of the last class */
	uint64_t messages;    /* event messages seen */
	struct timespec t0, last_progress;
	int progress_shown;
	int64_t last_ts;
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
};

/* ---------------------------------------------------------------------------------------- */
/* event-class cache */

static enum lt_ev_kind kind_of(const char *name)
{
	static const struct {
		const char *n;
		enum lt_ev_kind k;
	} tab[] = {
	    {"component_begin", LT_EV_COMPONENT_BEGIN},
	    {"component_end", LT_EV_COMPONENT_END},
	    {"channel_declare", LT_EV_CHANNEL_DECLARE},
	    {"wait_begin", LT_EV_WAIT_BEGIN},
	    {"wait_end", LT_EV_WAIT_END},
	    {"handle_begin", LT_EV_HANDLE_BEGIN},
	    {"handle_end", LT_EV_HANDLE_END},
	    {"handle_next", LT_EV_HANDLE_NEXT},
	    {"block_begin", LT_EV_BLOCK_BEGIN},
	    {"block_end", LT_EV_BLOCK_END},
	    {"send", LT_EV_SEND},
	    {"recv", LT_EV_RECV},
	    {"route_add", LT_EV_ROUTE_ADD},
	    {"route_remove", LT_EV_ROUTE_REMOVE},
	    {"route_dispatch_begin", LT_EV_ROUTE_DISPATCH_BEGIN},
	    {"route_dispatch_end", LT_EV_ROUTE_DISPATCH_END},
	};
	if (!name)
		return LT_EV_OTHER;
	if (strncmp(name, "looptrace:", 10) == 0) {
		for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
			if (strcmp(name + 10, tab[i].n) == 0)
				return tab[i].k;
		return LT_EV_UNKNOWN;
	}
	if (strncmp(name, "looptrace_preload:", 18) == 0) {
		if (strcmp(name + 18, "block_begin") == 0)
			return LT_EV_BLOCK_BEGIN;
		if (strcmp(name + 18, "block_end") == 0)
			return LT_EV_BLOCK_END;
		if (strcmp(name + 18, "component_begin") == 0)
			return LT_EV_COMPONENT_BEGIN;
		if (strcmp(name + 18, "component_end") == 0)
			return LT_EV_COMPONENT_END;
		if (strcmp(name + 18, "component_rename") == 0)
			return LT_EV_COMPONENT_RENAME;
		return LT_EV_UNKNOWN;
	}
	return LT_EV_OTHER;
}

/* member_name_is - whether a member called mn answers to name (also as `_name`, the way
 * LTTng escapes field names). */
static int member_name_is(const char *mn, const char *name)
{
	return strcmp(mn, name) == 0 || (mn[0] == '_' && strcmp(mn + 1, name) == 0);
}

/* struct_member_count - the number of members of st, 0 when st is not a structure class. */
static uint64_t struct_member_count(const bt_field_class *st)
{
	if (!st || bt_field_class_get_type(st) != BT_FIELD_CLASS_TYPE_STRUCTURE)
		return 0;
	return bt_field_class_structure_get_member_count(st);
}

/* named_member_class - the class of member i of structure class st when that member answers to
 * name (member_name_is), else NULL. */
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

static int find_array(const bt_field_class *st, const char *name, struct fref *r);

static void ec_fill(struct ec_info *e, const bt_event_class *ec)
{
	memset(e, 0, sizeof(*e));
	e->ec = ec;
	e->kind = kind_of(bt_event_class_get_name(ec));
	e->preload = strncmp(bt_event_class_get_name(ec), "looptrace_preload:", 18) == 0;
	const bt_stream_class *sc = bt_event_class_borrow_stream_class_const(ec);
	const bt_clock_class *cc = bt_stream_class_borrow_default_clock_class_const(sc);
	e->has_clock = cc != NULL;
	e->exact_clock = cc && bt_clock_class_get_frequency(cc) == 1000000000u &&
			 bt_clock_class_get_name(cc) &&
			 strcmp(bt_clock_class_get_name(cc), "monotonic") == 0;
	const char *name = bt_event_class_get_name(ec);
	if (name && (strcmp(name, "lttng_ust_statedump:bin_info") == 0 ||
		     strcmp(name, "lttng_ust_dl:dlopen") == 0)) {
		const bt_field_class *pl = bt_event_class_borrow_payload_field_class_const(ec);
		resolve_ctx(ec, sc, "vpid", &e->vpid);
		find_member(pl, "baddr", &e->baddr, SC_PAYLOAD);
		find_member(pl, "memsz", &e->memsz, SC_PAYLOAD);
		find_member(pl, "path", &e->path, SC_PAYLOAD);
		find_member(pl, "is_pic", &e->is_pic, SC_PAYLOAD);
		e->object_info = e->baddr.scope == SC_PAYLOAD && e->path.scope == SC_PAYLOAD;
	}
	if (name && (strcmp(name, "lttng_ust_statedump:build_id") == 0 ||
		     strcmp(name, "lttng_ust_dl:build_id") == 0)) {
		const bt_field_class *pl = bt_event_class_borrow_payload_field_class_const(ec);
		resolve_ctx(ec, sc, "vpid", &e->vpid);
		find_member(pl, "baddr", &e->baddr, SC_PAYLOAD);
		find_array(pl, "build_id", &e->build_id);
		e->build_id_info = e->baddr.scope == SC_PAYLOAD && e->build_id.scope == SC_PAYLOAD;
	}
	if (e->kind == LT_EV_OTHER)
		return;
	resolve_ctx(ec, sc, "vtid", &e->vtid);
	resolve_ctx(ec, sc, "vpid", &e->vpid);
	const bt_field_class *pl = bt_event_class_borrow_payload_field_class_const(ec);
	for (int i = 0; i < F_COUNT; i++)
		find_member(pl, fld_names[i], &e->f[i], SC_PAYLOAD);
	if (e->f[F_NAME].scope == SC_NONE)
		find_member(pl, "kind", &e->f[F_NAME], SC_PAYLOAD);
}

static inline size_t ptr_hash(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (size_t)x;
}

static struct ec_info *ec_lookup(struct sink *s, const bt_event_class *ec)
{
	if (s->last && s->last->ec == ec)
		return s->last;
	size_t mask = s->ecs_cap - 1, i = ptr_hash(ec) & mask;
	while (s->ecs[i].ec) {
		if (s->ecs[i].ec == ec)
			return s->last = &s->ecs[i];
		i = (i + 1) & mask;
	}
	if ((s->ecs_len + 1) * 2 > s->ecs_cap) {
		size_t ncap = s->ecs_cap * 2;
		struct ec_info *n = calloc(ncap, sizeof(*n));
		if (!n)
			return NULL;
		for (size_t k = 0; k < s->ecs_cap; k++) {
			if (!s->ecs[k].ec)
				continue;
			size_t j = ptr_hash(s->ecs[k].ec) & (ncap - 1);
			while (n[j].ec)
				j = (j + 1) & (ncap - 1);
			n[j] = s->ecs[k];
		}
		free(s->ecs);
		s->ecs = n;
		s->ecs_cap = ncap;
		mask = ncap - 1;
		i = ptr_hash(ec) & mask;
		while (s->ecs[i].ec)
			i = (i + 1) & mask;
	}
	ec_fill(&s->ecs[i], ec);
	s->ecs_len++;
	return s->last = &s->ecs[i];
}

/* ---------------------------------------------------------------------------------------- */
/* per-event path */

static inline const bt_field *member(const bt_field *st, const struct fref *r)
{
	return bt_field_structure_borrow_member_field_by_index_const(st, r->idx);
}

/* find_array - like find_member, for a member `name` (or `_name`) that is an array of
 * unsigned integers (a build id). Returns 1 when found. */
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

/* scope_field - the context structure a field lives in (NULL when absent). */
static inline const bt_field *scope_field(const struct fref *r, const bt_field *common,
					  const bt_field *specific)
{
	return r->scope == SC_COMMON_CTX ? common : r->scope == SC_SPECIFIC_CTX ? specific : NULL;
}

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

/* event_vpid - the vpid context of ev (-1 when its class has none). */
static int64_t event_vpid(const bt_event *ev, const struct ec_info *ei)
{
	const bt_field *common = NULL, *specific = NULL;

	if (ei->vpid.scope == SC_COMMON_CTX)
		common = bt_event_borrow_common_context_field_const(ev);
	else if (ei->vpid.scope == SC_SPECIFIC_CTX)
		specific = bt_event_borrow_specific_context_field_const(ev);
	return read_i(scope_field(&ei->vpid, common, specific), &ei->vpid, -1);
}

/* on_object - a statedump/dlopen event: a loaded object file, for symbolizing call sites. */
static void on_object(struct sink *s, const bt_event *ev, const struct ec_info *ei)
{
	const bt_field *pl = bt_event_borrow_payload_field_const(ev);
	int64_t vpid = event_vpid(ev, ei);
	int is_pic = ei->is_pic.scope == SC_NONE ? 1 : read_u(pl, &ei->is_pic) != 0;
	lt_analysis_object(s->analysis, vpid, read_u(pl, &ei->baddr), read_u(pl, &ei->memsz),
			   read_s(pl, &ei->path), is_pic);
}

/* on_build_id - a statedump/dl build_id event: the build id of a loaded object file. */
static void on_build_id(struct sink *s, const bt_event *ev, const struct ec_info *ei)
{
	const bt_field *pl = bt_event_borrow_payload_field_const(ev);
	int64_t vpid = event_vpid(ev, ei);
	const bt_field *arr = member(pl, &ei->build_id);
	uint64_t len = bt_field_array_get_length(arr);
	uint8_t id[LT_ANALYSIS_MAX_BUILD_ID];
	if (len == 0 || len > sizeof(id))
		return;
	for (uint64_t i = 0; i < len; i++)
		id[i] = (uint8_t)bt_field_integer_unsigned_get_value(
		    bt_field_array_borrow_element_field_by_index_const(arr, i));
	lt_analysis_object_build_id(s->analysis, vpid, read_u(pl, &ei->baddr), id, (size_t)len);
}

static void on_event(struct sink *s, const bt_message *msg)
{
	const bt_event *ev = bt_message_event_borrow_event_const(msg);
	struct ec_info *ei = ec_lookup(s, bt_event_borrow_class_const(ev));
	struct lt_event e;
	if (!ei) {
		e.kind = LT_EV_OTHER;
		lt_analysis_feed(s->analysis, &e);
		return;
	}
	e.kind = ei->kind;
	e.preload = ei->preload;
	if (ei->object_info)
		on_object(s, ev, ei);
	else if (ei->build_id_info)
		on_build_id(s, ev, ei);
	if (e.kind == LT_EV_OTHER) {
		lt_analysis_feed(s->analysis, &e);
		return;
	}
	int64_t ts = s->last_ts;
	uint64_t cycles = 0;
	int exact = 0;
	if (ei->has_clock) {
		const bt_clock_snapshot *cs =
		    bt_message_event_borrow_default_clock_snapshot_const(msg);
		if (bt_clock_snapshot_get_ns_from_origin(cs, &ts) !=
		    BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK) {
			ts = s->last_ts;
		} else if (ei->exact_clock) {
			cycles = bt_clock_snapshot_get_value(cs);
			exact = 1;
		}
	}
	s->last_ts = ts;
	e.ts_ns = ts;
	const bt_field *common = NULL, *specific = NULL;
	if (ei->vtid.scope == SC_COMMON_CTX || ei->vpid.scope == SC_COMMON_CTX)
		common = bt_event_borrow_common_context_field_const(ev);
	if (ei->vtid.scope == SC_SPECIFIC_CTX || ei->vpid.scope == SC_SPECIFIC_CTX)
		specific = bt_event_borrow_specific_context_field_const(ev);
	e.vtid = read_i(scope_field(&ei->vtid, common, specific), &ei->vtid, -1);
	e.vpid = read_i(scope_field(&ei->vpid, common, specific), &ei->vpid, -1);
	e.procname = NULL; /* not used by the analysis: one field less to read per event */
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
	e.begin_ns = e.end_ns = 0;
	e.prev = read_u(pl, &ei->f[F_PREV]);
	if (exact && ei->f[F_END_TS].scope == SC_PAYLOAD) {
		/* 1 GHz clock: a value converts to ns from origin by its distance to the event's */
		uint64_t b = read_u(pl, &ei->f[F_BEGIN_TS]), x = read_u(pl, &ei->f[F_END_TS]);
		if (b && x) {
			e.begin_ns = ts + (int64_t)(b - cycles);
			e.end_ns = ts + (int64_t)(x - cycles);
		}
	}
	if (s->snapshot_ns && (e.kind == LT_EV_RECV || e.kind == LT_EV_HANDLE_NEXT))
		inbox_note(s, e.vpid, e.chan, e.vtid);
	lt_analysis_feed(s->analysis, &e);
}

static void on_discarded(struct sink *s, const bt_message *msg)
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
	lt_analysis_lost(s->analysis, count ? count : 1, has_window, b, e);
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

struct param_ctx {
	struct sink *s;
	struct lt_analysis_config *cfg;
	const char *output, *trace_path, *snapshot_output;
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
		    "begin-offset-ns, end-offset-ns, progress, series-interval-ns, "
		    "snapshot-interval-ms, snapshot-output)",
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
	if (s->snap && s->snap != stdout)
		fclose(s->snap);
	free(s->snap_path);
	if (s->snap_mem)
		fclose(s->snap_mem);
	free(s->snap_buf);
	free(s->inbox);
	free(s->ecs);
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
	s->ecs_cap = 64;
	s->ecs = calloc(s->ecs_cap, sizeof(*s->ecs));
	if (!s->ecs) {
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
	if (s->progress)
		show_progress(s, 1);
	if (s->snapshot_ns && snapshot_write(s, 1) != 0)
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
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
		switch (bt_message_get_type(m)) {
		case BT_MESSAGE_TYPE_EVENT:
			s->messages++;
			on_event(s, m);
			break;
		case BT_MESSAGE_TYPE_DISCARDED_EVENTS:
			on_discarded(s, m);
			break;
		default:
			break;
		}
		bt_message_put_ref(m);
	}
	if (s->progress && (s->messages & 0xffff) < count)
		show_progress(s, 0);
	if (s->snapshot_ns && snapshot_due(s) != 0)
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK;
}
