/*
 * fuzz_analysis.c - libFuzzer target for the analysis core (analysis/core): arbitrary event
 * sequences in, invariants checked on every report.
 *
 * Input format (every byte string is a valid input; missing bytes read as 0):
 *
 *   4 config bytes: flags, a, b, c
 *     flags & 1   begin_offset_ns = a * 1000        flags & 8   begin_ns = BASE + a * 500
 *     flags & 2   end_offset_ns = b * 100000        flags & 16  end_ns = BASE + b * 50000
 *     flags & 4   series_interval_ns = (c + 1) * 1000
 *   then records of 6 bytes: op, thr, dt, id, arg, x
 *     op & 31 (mod 20): 0..16 an event of kind op (LT_EV_UNKNOWN .. LT_EV_OTHER),
 *                       17 snapshot (write the report and check it), 18 lost events
 *                       (count arg, a window around now when x & 1), 19 a handle_next
 *                       (prev = id & 7)
 *   handle_end and handle_next carry exact bounds when x & 1: begin_ns = now - (x >> 1) * 10,
 *   end_ns = now - (x >> 5) (in or out of the handler's span)
 *     op >> 5:          time step: 0 dt ns, 1 dt us, 2 dt ms, 3 dt ns backwards (the core
 *                       must clamp), 4..7 dt ns
 *     thr:              vtid 100 + (thr & 3); pid 2 when thr & 4 (else 1); no vtid when
 *                       thr & 8; procname from thr >> 4
 *     id:               comp/chan/route = id & 3, owner = (id >> 2) & 3, capacity from
 *                       (id >> 4) & 3 in {0, 1, 4, 64}
 *     arg:              msg = arg & 7, flow = (arg >> 3) & 3, depth = arg >> 5, reason =
 *                       arg % 12 (10 and 11 are not valid reasons)
 *     x:                name = names[x % NNAMES], object = ((x >> 4) & 3) * 0x1000,
 *                       where = ((x >> 6) & 3) * 0x10
 *   Small id ranges make states interact: the same message sent twice, handled on another
 *   thread, components rebound, routes dispatched after removal, and so on.
 *
 * Invariants, on every snapshot and on the final report:
 *   - lt_analysis_feed never fails (nothing here runs out of memory), nothing crashes (ASan,
 *     UBSan);
 *   - the output is one valid JSON value (strict: UTF-8 strings, escaped controls, no NaN);
 *   - schema "looptrace-report/1"; trace.events == lt_analysis_events(); trace.lost_events ==
 *     the sum of the counts fed; duration_ns == end_ns - begin_ns >= 0;
 *   - per component: busy + idle + blocked_in_handler + blocked_outside + outside == wall_ns,
 *     each >= 0, utilization in [0, 1];
 *   - no negative duration or count anywhere (every *_ns duration, pct field, count);
 *   - every name that went in comes out whole (a 2,000-byte name is not cut).
 * A violation prints the report and aborts (libFuzzer saves the input).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <looptrace/analysis.h>

#include "json_tree.h"

#define BASE          1000000000LL
#define MAX_SNAPSHOTS 32
#define LONG_NAME_LEN 2000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char long_name[LONG_NAME_LEN + 1];

static const char *const names[] = {
    NULL,
    "",
    "worker",
    "chan \"quoted\" \\ back,slash",
    "\x01\x1b[31mred\x7f\t\n",
    "\xce\xba\xcf\x8c\xce\xbc\xce\xb2\xce\xbf\xcf\x82-\xf0\x9f\x98\x80",
    "\xff\xfe\x80 bad utf-8 \xc3",
    "<script>alert(1)</script>&amp;",
    long_name,
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

struct run {
	struct lt_analysis *a;
	uint64_t lost_fed;
	const uint8_t *input;
	size_t input_size;
};

static void die(const struct run *r, const char *buf, size_t len, const char *what, double v1,
		double v2)
{
	fprintf(stderr, "fuzz_analysis: invariant broken: %s (%.17g vs %.17g)\n", what, v1, v2);
	if (buf && len < 200000)
		fprintf(stderr, "report:\n%.*s\n", (int)len, buf);
	(void)r;
	abort();
}

/* Keys whose numbers are absolute times (may be anything) or ids; all others >= 0. */
static int signed_key(const char *key)
{
	static const char *const keys[] = {
	    "begin_ns",    "end_ns",    "t_ns",    "send_ns",  "recv_ns", "id",    "pid",
	    "tid",         "from_id",   "to_id",   "from_pid", "to_pid",  "owner", "chan",
	    "reason_code", "component", "channel", "route",    "value",   "ratio"};

	if (!key)
		return 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(key, keys[i]) == 0)
			return 1;
	return 0;
}

static void check_non_negative(const struct run *r, const struct jt_node *n, const char *key,
			       const char *buf, size_t len)
{
	for (; n; n = n->next) {
		const char *k = n->key ? n->key : key;

		if ((n->type == JT_INT || n->type == JT_DOUBLE) && !signed_key(k) && n->d < 0)
			die(r, buf, len, k ? k : "(array element)", n->d, 0);
		/* lost_windows hold pairs of absolute times. */
		if (n->type == JT_ARRAY && !(k && strcmp(k, "lost_windows") == 0))
			check_non_negative(r, n->child, k, buf, len); /* elements inherit the key */
		else if (n->type == JT_OBJECT)
			check_non_negative(r, n->child, NULL, buf, len);
	}
}

static void check_names(const struct run *r, const struct jt_node *arr, const char *buf, size_t len)
{
	for (const struct jt_node *c = arr ? arr->child : NULL; c; c = c->next) {
		const struct jt_node *name = jt_get(c, "name");

		if (name && name->type == JT_STRING && name->len >= 10 &&
		    memcmp(name->str, long_name, 10) == 0 && name->len != LONG_NAME_LEN)
			die(r, buf, len, "long name cut", (double)name->len, LONG_NAME_LEN);
	}
}

static void check_report(const struct run *r)
{
	char *buf = NULL;
	size_t len = 0, err_off = 0;
	FILE *f = open_memstream(&buf, &len);
	struct jt_node *root;
	const struct jt_node *trace, *comps, *t;

	if (!f)
		abort();
	if (lt_analysis_write_json(r->a, f) != 0)
		die(r, NULL, 0, "lt_analysis_write_json failed", 0, 0);
	fclose(f);
	root = jt_parse(buf, len, &err_off);
	if (!root)
		die(r, buf, len, "report is not valid JSON at offset", (double)err_off, 0);
	t = jt_get(root, "schema");
	if (!t || t->type != JT_STRING || strcmp(t->str, "looptrace-report/1") != 0)
		die(r, buf, len, "schema", 0, 0);
	trace = jt_get(root, "trace");
	if (!trace || trace->type != JT_OBJECT)
		die(r, buf, len, "no trace object", 0, 0);
	if (jt_num(jt_get(trace, "events"), -1) != (double)lt_analysis_events(r->a))
		die(r, buf, len, "trace.events", jt_num(jt_get(trace, "events"), -1),
		    (double)lt_analysis_events(r->a));
	if (jt_num(jt_get(trace, "lost_events"), -1) != (double)r->lost_fed)
		die(r, buf, len, "trace.lost_events", jt_num(jt_get(trace, "lost_events"), -1),
		    (double)r->lost_fed);
	if (jt_get(trace, "duration_ns")) {
		double b = jt_num(jt_get(trace, "begin_ns"), 0),
		       e = jt_num(jt_get(trace, "end_ns"), 0);
		double d = jt_num(jt_get(trace, "duration_ns"), -1);

		if (d < 0 || d != e - b)
			die(r, buf, len, "trace.duration_ns", d, e - b);
	}
	comps = jt_get(root, "components");
	if (!comps || comps->type != JT_ARRAY)
		die(r, buf, len, "no components array", 0, 0);
	for (const struct jt_node *c = comps->child; c; c = c->next) {
		const struct jt_node *tn = jt_get(c, "time_ns");
		static const char *const parts[] = {"busy", "idle", "blocked_in_handler",
						    "blocked_outside", "outside"};
		long long sum = 0, wall;
		const struct jt_node *w = jt_get(c, "wall_ns"), *u = jt_get(c, "utilization");

		if (!tn || !w || w->type != JT_INT)
			die(r, buf, len, "component without time_ns/wall_ns", 0, 0);
		wall = w->i;
		for (size_t i = 0; i < 5; i++) {
			const struct jt_node *p = jt_get(tn, parts[i]);

			if (!p || p->type != JT_INT || p->i < 0)
				die(r, buf, len, parts[i], p ? p->d : -1, 0);
			sum += p->i;
		}
		if (sum != wall)
			die(r, buf, len,
			    "busy+idle+blocked_in_handler+blocked_outside+outside == wall",
			    (double)sum, (double)wall);
		if (u && u->type != JT_NULL && (jt_num(u, -1) < 0 || jt_num(u, 2) > 1.0 + 1e-9))
			die(r, buf, len, "utilization in [0, 1]", jt_num(u, -1), 1);
	}
	check_non_negative(r, root->child, NULL, buf, len);
	check_names(r, comps, buf, len);
	check_names(r, jt_get(root, "channels"), buf, len);
	jt_free(root);
	free(buf);
}

static uint8_t byte_at(const uint8_t *data, size_t size, size_t i)
{
	return i < size ? data[i] : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t caps[] = {0, 1, 4, 64};
	static const char *const procnames[] = {NULL, "app", "\xff\x01proc", ""};
	struct lt_analysis_config cfg;
	struct run r = {.input = data, .input_size = size};
	uint8_t flags = byte_at(data, size, 0), a = byte_at(data, size, 1),
		b = byte_at(data, size, 2), c = byte_at(data, size, 3);
	int64_t now = BASE;
	int snapshots = 0;

	if (!long_name[0]) {
		for (size_t i = 0; i < LONG_NAME_LEN; i++)
			long_name[i] = (char)('a' + i % 26);
		memcpy(long_name, "LONG-NAME:", 10);
		memcpy(long_name + LONG_NAME_LEN - 4, ":END", 4);
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.trace_path = "fuzz \"trace\"\n";
	if (flags & 1) {
		cfg.has_begin_offset_ns = 1;
		cfg.begin_offset_ns = (int64_t)a * 1000;
	}
	if (flags & 2) {
		cfg.has_end_offset_ns = 1;
		cfg.end_offset_ns = (int64_t)b * 100000;
	}
	if (flags & 4)
		cfg.series_interval_ns = ((uint64_t)c + 1) * 1000;
	if (flags & 8) {
		cfg.has_begin_ns = 1;
		cfg.begin_ns = BASE + (int64_t)a * 500;
	}
	if (flags & 16) {
		cfg.has_end_ns = 1;
		cfg.end_ns = BASE + (int64_t)b * 50000;
	}
	r.a = lt_analysis_create(&cfg);
	if (!r.a)
		abort();

	for (size_t off = 4; off < size; off += 6) {
		uint8_t op = byte_at(data, size, off), thr = byte_at(data, size, off + 1),
			dt = byte_at(data, size, off + 2), id = byte_at(data, size, off + 3),
			arg = byte_at(data, size, off + 4), x = byte_at(data, size, off + 5);
		unsigned code = (op & 31u) % 20u;
		struct lt_event ev;

		switch (op >> 5) {
		case 1:
			now += (int64_t)dt * 1000;
			break;
		case 2:
			now += (int64_t)dt * 1000000;
			break;
		case 3:
			now -= dt;
			break;
		default:
			now += dt;
			break;
		}
		if (code == 17) {
			if (snapshots++ < MAX_SNAPSHOTS)
				check_report(&r);
			continue;
		}
		if (code == 18) {
			r.lost_fed += arg;
			lt_analysis_lost(r.a, arg, x & 1, now - (int64_t)id * 100,
					 now + (int64_t)arg * 10);
			continue;
		}
		memset(&ev, 0, sizeof(ev));
		ev.ts_ns = now;
		ev.vpid = thr & 4 ? 2 : 1;
		ev.vtid = thr & 8 ? -1 : 100 + (thr & 3);
		ev.procname = procnames[(thr >> 4) & 3];
		ev.kind = code == 19 ? LT_EV_HANDLE_NEXT : (enum lt_ev_kind)code;
		ev.prev = id & 7u;
		if (x & 1) {
			ev.begin_ns = now - (int64_t)(x >> 1) * 10;
			ev.end_ns = now - (int64_t)(x >> 5);
		}
		ev.comp = ev.chan = ev.route = id & 3u;
		ev.owner = (id >> 2) & 3u;
		ev.capacity = caps[(id >> 4) & 3];
		ev.msg = arg & 7u;
		ev.flow = (arg >> 3) & 3u;
		ev.depth = arg >> 5;
		ev.reason = arg % 12u;
		ev.object = (uint64_t)((x >> 4) & 3) * 0x1000;
		ev.where = (uint64_t)((x >> 6) & 3) * 0x10;
		ev.name = names[x % NNAMES];
		ev.preload = (thr >> 6) & 1; /* the interposer's events (loop tops) */
		ev.call = id % 48u;
		ev.cpu_ns = thr >> 7 ? (uint64_t)now : 0;
		if (lt_analysis_feed(r.a, &ev) != 0)
			die(&r, NULL, 0, "lt_analysis_feed failed", 0, 0);
	}
	check_report(&r);
	lt_analysis_settle(r.a, 1); /* every held interposer event replayed */
	check_report(&r);
	lt_analysis_destroy(r.a);
	return 0;
}
