/*
 * report.c - writes the analysis state as a schema-v1 JSON report ("looptrace-report/1").
 *
 * The writer never changes the analysis: intervals still open (a handler running, a thread
 * blocked, a queue holding messages) are added on the fly up to the time of the latest
 * event, so a snapshot taken mid-stream equals the final report of the stream cut there.
 * Key by key documentation: docs/report-schema.md.
 */
#include "internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------- */
/* JSON primitives */

static int utf8_seq_len(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	int n;
	uint32_t cp;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		cp = c & 0x1Fu;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		cp = c & 0x0Fu;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		cp = c & 0x07u;
	} else {
		return 0;
	}
	if ((size_t)n > left)
		return 0;
	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xC0u) != 0x80u)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3Fu);
	}
	/* reject overlong forms, surrogates and values above U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

void lt_json_write_string(FILE *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	if (!s)
		len = 0;
	putc('"', out);
	size_t i = 0;
	while (i < len) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			putc('\\', out);
			putc(c, out);
			i++;
		} else if (c < 0x20 || c == 0x7F) {
			switch (c) {
			case '\n':
				fputs("\\n", out);
				break;
			case '\r':
				fputs("\\r", out);
				break;
			case '\t':
				fputs("\\t", out);
				break;
			case '\b':
				fputs("\\b", out);
				break;
			case '\f':
				fputs("\\f", out);
				break;
			default:
				fprintf(out, "\\u%04x", c);
			}
			i++;
		} else if (c < 0x80) {
			putc(c, out);
			i++;
		} else {
			int n = utf8_seq_len(p + i, len - i);
			if (n == 0) {
				fputs("\\ufffd", out);
				i++;
			} else {
				fwrite(p + i, 1, (size_t)n, out);
				i += (size_t)n;
			}
		}
	}
	putc('"', out);
}

static void jstr(FILE *f, const char *s)
{
	lt_json_write_string(f, s, s ? strlen(s) : 0);
}

static void jdbl(FILE *f, double x)
{
	if (!isfinite(x))
		fputs("null", f);
	else
		fprintf(f, "%.9g", x);
}

static void jhex(FILE *f, uint64_t x)
{
	fprintf(f, "\"0x%" PRIx64 "\"", x);
}

/* put_u64 - writes v in decimal at p (no NUL); returns the end. */
static char *put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10u);
		v /= 10u;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

/* put_str - copies the literal s at p; returns the end. */
static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

/*
 * jseries_point - one point of a component's series, exactly as printf would write it
 * ("%s{\"t_ns\": %" PRId64 ", ...}"): written by hand because a report of many components
 * holds millions of points and printf's format parsing was most of the time spent.
 */
static void jseries_point(FILE *f, int first, int64_t t_ns, const uint64_t col[LT_S_COLS])
{
	char buf[160], *p = buf;

	if (!first)
		p = put_str(p, ", ");
	p = put_str(p, "{\"t_ns\": ");
	if (t_ns < 0) {
		*p++ = '-';
		p = put_u64(p, (uint64_t)0 - (uint64_t)t_ns);
	} else {
		p = put_u64(p, (uint64_t)t_ns);
	}
	p = put_str(p, ", \"messages\": ");
	p = put_u64(p, col[LT_S_MSGS]);
	p = put_str(p, ", \"busy_ns\": ");
	p = put_u64(p, col[LT_S_BUSY]);
	p = put_str(p, ", \"blocked_ns\": ");
	p = put_u64(p, col[LT_S_BLOCKED]);
	*p++ = '}';
	fwrite(buf, 1, (size_t)(p - buf), f);
}

static void jhist(FILE *f, const struct lt_hist *h)
{
	fprintf(f,
		"{\"p50\": %" PRIu64 ", \"p90\": %" PRIu64 ", \"p99\": %" PRIu64
		", \"max\": %" PRIu64 ", \"count\": %" PRIu64 ", \"mean\": ",
		lt__hist_quantile(h, 0.50), lt__hist_quantile(h, 0.90), lt__hist_quantile(h, 0.99),
		h->max, h->count);
	jdbl(f, h->count ? h->sum / (double)h->count : 0.0);
	fputs("}", f);
}

/* ---------------------------------------------------------------------------------------- */
/* effective values at `now` (closed part + the open interval) */

struct comp_view {
	uint64_t time[LT_T_COUNT];
	uint64_t wall;
	int64_t begin, end;
	const struct lt_thread *t; /* bound thread or NULL */
};

static void comp_view(const struct lt_analysis *a, const struct lt_an_comp *c, int64_t now,
		      struct comp_view *v)
{
	memcpy(v->time, c->time, sizeof(v->time));
	v->wall = c->wall_ns;
	v->begin = c->first_ns == INT64_MIN ? now : c->first_ns;
	v->end = c->first_ns == INT64_MIN ? now : c->last_ns; /* never ran: an empty life */
	v->t = NULL;
	if (c->thread >= 0) {
		const struct lt_thread *t = &a->threads.v[c->thread];
		v->t = t;
		if (now > t->since)
			v->time[t->state] += (uint64_t)(now - t->since);
		v->wall += (uint64_t)(now - c->bound_since);
		v->end = now;
	}
}

void lt__comp_effective(const struct lt_analysis *a, uint32_t ci, uint64_t time[LT_T_COUNT],
			uint64_t *wall)
{
	struct comp_view v;
	int64_t now = a->now;
	if (a->end_hit && a->has_hi && a->hi > now && a->started)
		now = a->hi;
	comp_view(a, &a->comps.v[ci], now, &v);
	memcpy(time, v.time, sizeof(v.time));
	*wall = v.wall;
}

static uint64_t site_ns(const struct lt_analysis *a, int32_t si, const struct comp_view *v,
			int64_t now, uint64_t *in_handler)
{
	uint64_t ns = a->sites.v[si].ns;
	*in_handler = a->sites.v[si].in_handler_ns;
	const struct lt_thread *t = v->t;
	if (t && t->site == si && (t->state == LT_T_BIH || t->state == LT_T_BO) && now > t->since) {
		ns += (uint64_t)(now - t->since);
		if (t->state == LT_T_BIH)
			*in_handler += (uint64_t)(now - t->since);
	}
	return ns;
}

static int overlaps_loss(const struct lt_analysis *a, int64_t b, int64_t e)
{
	if (a->lost_no_window)
		return 1;
	for (uint32_t i = 0; i < a->nlost_windows; i++)
		if (a->lost_windows[i][0] <= e && a->lost_windows[i][1] >= b)
			return 1;
	return 0;
}

static double safe_div(double x, double y)
{
	return y != 0.0 ? x / y : NAN;
}

struct site_ref {
	int32_t si;
	uint64_t ns, in_handler_ns;
};

static int site_ref_cmp(const void *x, const void *y)
{
	const struct site_ref *p = x, *q = y;
	if (p->ns != q->ns)
		return p->ns < q->ns ? 1 : -1;
	return p->si < q->si ? -1 : p->si > q->si;
}

/* comp_key - the unique key of a component: "pid:id", or "pid:t<tid>" when implicit. */
static void comp_key(FILE *f, const struct lt_an_comp *c)
{
	if (c->implicit)
		fprintf(f, "\"%" PRId64 ":t%" PRId64 "\"", c->vpid, c->tid);
	else
		fprintf(f, "\"%" PRId64 ":%" PRIu32 "\"", c->vpid, c->id);
}

static void write_comp_ref(FILE *f, const struct lt_analysis *a, const char *key, int32_t ci)
{
	/* "from": name, "from_id": id, "from_pid": pid, "from_key": key */
	fprintf(f, "\"%s\": ", key);
	if (ci < 0) {
		fprintf(f, "null, \"%s_id\": 0, \"%s_pid\": null, \"%s_key\": null", key, key, key);
		return;
	}
	const struct lt_an_comp *c = &a->comps.v[ci];
	jstr(f, c->name);
	fprintf(f, ", \"%s_id\": %" PRIu32 ", \"%s_pid\": %" PRId64 ", \"%s_key\": ", key, c->id,
		key, c->vpid, key);
	comp_key(f, c);
}

/* ---------------------------------------------------------------------------------------- */
/* sections */

/*
 * chan_at - the channel of process `vpid` declared at address `object` (the object of a
 * block on it), or NULL. An address reused by a later channel names the later one.
 */
static const struct lt_an_chan *chan_at(const struct lt_analysis *a, int64_t vpid, uint64_t object)
{
	if (!object)
		return NULL;
	for (uint32_t i = a->chans.n; i-- > 0;)
		if (a->chans.v[i].object == object && a->chans.v[i].vpid == vpid)
			return &a->chans.v[i];
	return NULL;
}

static int write_components(FILE *f, const struct lt_analysis *a, int64_t now, uint64_t *busy_sum)
{
	struct site_ref *refs = NULL;
	size_t refs_cap = 0;
	fputs("  \"components\": [", f);
	for (uint32_t ci = 0; ci < a->comps.n; ci++) {
		const struct lt_an_comp *c = &a->comps.v[ci];
		struct comp_view v;
		comp_view(a, c, now, &v);
		*busy_sum += v.time[LT_T_BUSY];
		fprintf(f, "%s\n    {\"id\": %" PRIu32 ", \"key\": ", ci ? "," : "", c->id);
		comp_key(f, c);
		fputs(", \"name\": ", f);
		jstr(f, c->name);
		fprintf(f,
			", \"pid\": %" PRId64 ", \"tid\": %" PRId64
			", \"implicit\": %s, \"ended\": %s, \"begin_ns\": %" PRId64
			", \"end_ns\": %" PRId64 ", \"wall_ns\": %" PRIu64 ",\n",
			c->vpid, c->tid, c->implicit ? "true" : "false",
			c->ended && !v.t ? "true" : "false", v.begin, v.end, v.wall);
		fprintf(f,
			"     \"time_ns\": {\"busy\": %" PRIu64 ", \"idle\": %" PRIu64
			", \"blocked_in_handler\": %" PRIu64 ", \"blocked_outside\": %" PRIu64
			", \"outside\": %" PRIu64 "},\n",
			v.time[LT_T_BUSY], v.time[LT_T_IDLE], v.time[LT_T_BIH], v.time[LT_T_BO],
			v.time[LT_T_OUTSIDE]);
		fputs("     \"interposed\": ", f);
		fputs(c->preload ? "true" : "false", f);
		lt__looptop_write_comp(f, a, c); /* cpu_ns, loop_top */
		fputs(",\n", f);
		/* blocked_by, largest first */
		size_t nref = 0;
		for (int32_t si = c->first_site; si >= 0; si = a->sites.v[si].next) {
			if (nref == refs_cap) {
				size_t nc = refs_cap ? refs_cap * 2 : 64;
				struct site_ref *nr = realloc(refs, nc * sizeof(*nr));
				if (!nr) {
					free(refs);
					return -1;
				}
				refs = nr;
				refs_cap = nc;
			}
			refs[nref].si = si;
			refs[nref].ns = site_ns(a, si, &v, now, &refs[nref].in_handler_ns);
			nref++;
		}
		if (nref > 1)
			qsort(refs, nref, sizeof(*refs), site_ref_cmp);
		fputs("     \"blocked_by\": [", f);
		for (size_t k = 0; k < nref; k++) {
			const struct lt_site *s = &a->sites.v[refs[k].si];
			fprintf(f, "%s{\"reason\": ", k ? ", " : "");
			jstr(f, lt__reason_name(s->reason));
			fprintf(f, ", \"reason_code\": %" PRIu32 ", \"object\": ", s->reason);
			jhex(f, s->object);
			const struct lt_an_chan *och = chan_at(a, c->vpid, s->object);
			if (och) {
				fputs(", \"object_name\": ", f);
				jstr(f, och->name);
			}
			fputs(", \"where\": ", f);
			jhex(f, s->where);
			if (lt__call_name(s->call))
				fprintf(f, ", \"call\": \"%s\"", lt__call_name(s->call));
			fprintf(f,
				", \"ns\": %" PRIu64 ", \"count\": %" PRIu64
				", \"in_handler_ns\": %" PRIu64 "}",
				refs[k].ns, s->count, refs[k].in_handler_ns);
		}
		fputs("],\n", f);
		double wall_s = (double)v.wall / 1e9;
		fprintf(f, "     \"messages\": %" PRIu64 ", \"throughput_per_s\": ", c->messages);
		jdbl(f, v.wall ? (double)c->messages / wall_s : 0.0);
		fputs(",\n     \"handle_ns\": ", f);
		jhist(f, &c->handle);
		fputs(",\n     \"queue_wait_ns\": ", f);
		jhist(f, &c->qwait);
		fputs(",\n     \"utilization\": ", f);
		jdbl(f, v.wall ? (double)v.time[LT_T_BUSY] / (double)v.wall : 0.0);
		fprintf(f, ", \"lost_overlap\": %s",
			(a->lost_events && overlaps_loss(a, v.begin, v.end)) ? "true" : "false");
		/* series: the buckets overlapping its lifetime */
		fputs(",\n     \"series\": [", f);
		uint64_t iv = a->series_interval;
		uint32_t b0 = (uint32_t)((uint64_t)(v.begin - a->begin_ns) / iv);
		uint32_t b1 = (uint32_t)((uint64_t)(v.end - a->begin_ns) / iv);
		if (b1 >= a->series_cap)
			b1 = a->series_cap - 1;
		int open_col = -1;
		if (v.t && v.t->state == LT_T_BUSY)
			open_col = LT_S_BUSY;
		else if (v.t && (v.t->state == LT_T_BIH || v.t->state == LT_T_BO))
			open_col = LT_S_BLOCKED;
		for (uint32_t b = b0; b <= b1 && c->first_ns != INT64_MIN; b++) {
			uint64_t col[LT_S_COLS];
			lt__series_get(a, c, b, col);
			if (open_col >= 0) {
				int64_t bs = a->begin_ns + (int64_t)((uint64_t)b * iv);
				int64_t be = bs + (int64_t)iv;
				int64_t lo = v.t->since > bs ? v.t->since : bs;
				int64_t hi = now < be ? now : be;
				if (hi > lo)
					col[open_col] += (uint64_t)(hi - lo);
			}
			jseries_point(f, b == b0, a->begin_ns + (int64_t)((uint64_t)b * iv), col);
		}
		fputs("]}", f);
	}
	fputs(a->comps.n ? "\n  ],\n" : "],\n", f);
	free(refs);
	return 0;
}

static double chan_mean_depth(const struct lt_an_chan *ch, int64_t now)
{
	unsigned __int128 area = ch->depth_area;
	if (now > ch->depth_since)
		area += (unsigned __int128)ch->depth * (uint64_t)(now - ch->depth_since);
	int64_t span = now - ch->start_ns;
	return span > 0 ? (double)area / (double)span : (double)ch->depth;
}

/* chan_growth - fitted depth growth over the channel's life (messages), NAN when unknown. */
static double chan_growth(const struct lt_an_chan *ch, int64_t now, double *slope)
{
	double den = ch->rn * ch->rtt - ch->rt * ch->rt;
	*slope = NAN;
	if (ch->rn < 16.0 || den <= 0.0)
		return NAN;
	*slope = (ch->rn * ch->rtd - ch->rt * ch->rd) / den;
	return *slope * (double)(now - ch->start_ns) / 1e9;
}

static void write_channels(FILE *f, const struct lt_analysis *a, int64_t now)
{
	fputs("  \"channels\": [", f);
	for (uint32_t i = 0; i < a->chans.n; i++) {
		const struct lt_an_chan *ch = &a->chans.v[i];
		fprintf(f, "%s\n    {\"id\": %" PRIu32 ", \"name\": ", i ? "," : "", ch->id);
		jstr(f, ch->name);
		double L = chan_mean_depth(ch, now);
		double span_s = (double)(now - ch->start_ns) / 1e9;
		double lambda = span_s > 0 ? (double)ch->recvs / span_s : NAN;
		double W = ch->qwait.count ? ch->qwait.sum / (double)ch->qwait.count / 1e9 : NAN;
		fprintf(f,
			", \"pid\": %" PRId64 ", \"declared\": %s, \"capacity\": %" PRIu32
			", \"sends\": %" PRIu64 ", \"recvs\": %" PRIu64 ", \"depth\": %" PRIu32
			", \"max_depth\": %" PRIu32 ", \"mean_depth\": ",
			ch->vpid, ch->declared ? "true" : "false", ch->capacity, ch->sends,
			ch->recvs, ch->depth, ch->max_depth);
		jdbl(f, L);
		fputs(",\n     \"queue_wait_ns\": ", f);
		jhist(f, &ch->qwait);
		fprintf(f,
			",\n     \"send_blocked_ns\": %" PRIu64 ", \"send_blocked_count\": %" PRIu64
			", \"littles_law\": {\"L\": ",
			ch->send_blocked_ns, ch->send_blocked_count);
		jdbl(f, L);
		fputs(", \"lambda\": ", f);
		jdbl(f, lambda);
		fputs(", \"W\": ", f);
		jdbl(f, W);
		fputs(", \"ratio\": ", f);
		jdbl(f, safe_div(L, lambda * W));
		fprintf(f, "}, \"lost_overlap\": %s}",
			(a->lost_events && overlaps_loss(a, ch->start_ns, now)) ? "true" : "false");
	}
	fputs(a->chans.n ? "\n  ],\n" : "],\n", f);
}

static void write_routes(FILE *f, const struct lt_analysis *a)
{
	fputs("  \"routes\": [", f);
	int first = 1;
	for (uint32_t i = 0; i < a->routes.n; i++) {
		const struct lt_an_route *r = &a->routes.v[i];
		if (r->dead)
			continue;
		fprintf(f,
			"%s\n    {\"id\": %" PRIu32 ", \"pid\": %" PRId64 ", \"owner\": %" PRIu32
			", \"chan\": %" PRIu32 ", \"declared\": %s, \"removed\": %s"
			", \"aggregate\": %s, \"routes\": %" PRIu64 ", \"dispatches\": %" PRIu64
			", \"dispatch_ns\": ",
			first ? "" : ",", r->id, r->vpid, r->owner, r->chan,
			r->declared ? "true" : "false", r->removed ? "true" : "false",
			r->aggregate ? "true" : "false", r->nroutes, r->dispatches);
		first = 0;
		jhist(f, &r->dispatch);
		fputs("}", f);
	}
	fputs(first ? "],\n" : "\n  ],\n", f);
}

static void write_flows(FILE *f, const struct lt_analysis *a)
{
	fprintf(f,
		"  \"flows\": {\"count\": %" PRIu64 ", \"in_flight\": %" PRIu64
		", \"messages_in_flight\": %" PRIu64 ", \"latency_ns\": ",
		a->flows_done, a->flows_in_flight, a->msgs_in_flight - lt__parked_count(a));
	jhist(f, &a->flow_latency);
	fputs(",\n    \"hops\": [", f);
	for (uint32_t i = 0; i < a->hops.n; i++) {
		const struct lt_hopagg *g = &a->hops.v[i];
		fputs(i ? ",\n      {" : "\n      {", f);
		write_comp_ref(f, a, "from", g->from);
		fputs(", ", f);
		write_comp_ref(f, a, "to", g->to);
		fprintf(f, ", \"count\": %" PRIu64 ", \"queue_ns\": ", g->count);
		jdbl(f, g->count ? g->sum_queue / (double)g->count : 0.0);
		fputs(", \"handle_ns\": ", f);
		jdbl(f, g->count ? g->sum_handle / (double)g->count : 0.0);
		fprintf(f, ", \"max_queue_ns\": %" PRIu64 ", \"max_handle_ns\": %" PRIu64 "}",
			g->max_queue, g->max_handle);
	}
	fputs("],\n    \"critical_path\": [", f);
	for (uint32_t i = 0; a->has_crit && i < a->crit_nhops; i++) {
		const struct lt_hop_rec *h = &a->crit_hops[i];
		fprintf(f, "%s{\"msg\": %" PRIu64 ", ", i ? ",\n      " : "\n      ", h->msg);
		write_comp_ref(f, a, "from", h->from);
		fputs(", ", f);
		write_comp_ref(f, a, "to", h->to);
		fprintf(f,
			", \"send_ns\": %" PRId64 ", \"recv_ns\": %" PRId64
			", \"begin_ns\": %" PRId64 ", \"end_ns\": %" PRId64
			", \"queue_ns\": %" PRId64 ", \"handle_ns\": %" PRId64 "}",
			h->send_ns, h->recv_ns, h->begin_ns, h->end_ns, h->recv_ns - h->send_ns,
			h->end_ns - h->begin_ns);
	}
	fputs("],\n    \"critical_flow\": ", f);
	if (a->has_crit)
		fprintf(f,
			"{\"id\": %" PRIu64 ", \"pid\": %" PRId64 ", \"latency_ns\": %" PRId64
			", \"hops_dropped\": %" PRIu32 "}",
			a->crit_flow, a->crit_vpid, a->crit_latency, a->crit_dropped);
	else
		fputs("null", f);
	fputs("},\n", f);
}

static void warn_head(FILE *f, int *nw, const char *kind)
{
	fprintf(f, "%s\n    {\"kind\": \"%s\"", *nw ? "," : "", kind);
	(*nw)++;
}

/*
 * comp_saturated - the component never waited for work: idle at most LT_SATURATED_IDLE of its
 * wall time, while it was not mostly blocked (a loop that spends its time blocked inside its
 * handlers waits for something else than CPU: blocks-in-handler says so). Busy alone would
 * not do: what tracing costs between two handlers lands outside them, so a saturated loop
 * can show busy well under 90 %; a loop that never waited is saturated whatever the split.
 */
#define LT_SATURATED_IDLE 0.02
static int comp_saturated(const struct comp_view *v)
{
	uint64_t blocked = v->time[LT_T_BIH] + v->time[LT_T_BO];

	if (!v->wall || !v->time[LT_T_BUSY] || 2 * blocked >= v->wall)
		return 0;
	return (double)v->time[LT_T_IDLE] <= LT_SATURATED_IDLE * (double)v->wall;
}

static void write_warnings(FILE *f, const struct lt_analysis *a, int64_t now)
{
	char msg[256];
	int nw = 0;
	fputs("  \"warnings\": [", f);
	for (uint32_t ci = 0; ci < a->comps.n; ci++) {
		const struct lt_an_comp *c = &a->comps.v[ci];
		struct comp_view v;
		comp_view(a, c, now, &v);
		uint64_t hb = v.time[LT_T_BUSY] + v.time[LT_T_BIH];
		double frac = hb ? (double)v.time[LT_T_BIH] / (double)hb : 0.0;
		if (hb && frac > 0.10) {
			warn_head(f, &nw, "blocks-in-handler");
			snprintf(msg, sizeof(msg),
				 "%.1f%% of handler time is spent blocked inside handlers",
				 frac * 100.0);
			fprintf(f, ", \"component\": %" PRIu32 ", \"pid\": %" PRId64 ", \"name\": ",
				c->id, c->vpid);
			jstr(f, c->name);
			fputs(", \"message\": ", f);
			jstr(f, msg);
			fputs(", \"value\": ", f);
			jdbl(f, frac);
			fputs("}", f);
		}
		double util = v.wall ? (double)v.time[LT_T_BUSY] / (double)v.wall : 0.0;
		if (comp_saturated(&v)) {
			warn_head(f, &nw, "saturated");
			snprintf(
			    msg, sizeof(msg),
			    "never waited for work: idle %.1f%% of its wall time (busy %.1f%%)",
			    v.wall ? 100.0 * (double)v.time[LT_T_IDLE] / (double)v.wall : 0.0,
			    util * 100.0);
			fprintf(f, ", \"component\": %" PRIu32 ", \"pid\": %" PRId64 ", \"name\": ",
				c->id, c->vpid);
			jstr(f, c->name);
			fputs(", \"message\": ", f);
			jstr(f, msg);
			fputs(", \"value\": ", f);
			jdbl(f, util);
			fputs("}", f);
		}
		/*
		 * Still bound when the trace ends (not because an --end bound cut the window): its
		 * thread never reached component_end, so the program was probably killed. Implicit
		 * components never announce an end; the interposer's threads alive at exit() do
		 * not either.
		 */
		if (v.t && !c->ended && !c->implicit && !c->preload && !a->end_hit) {
			warn_head(f, &nw, "cut-short");
			fprintf(f, ", \"component\": %" PRIu32 ", \"pid\": %" PRId64 ", \"name\": ",
				c->id, c->vpid);
			jstr(f, c->name);
			fputs(", \"message\": ", f);
			jstr(f,
			     "still running when the trace ends: the program was probably killed; "
			     "figures cover the recorded part only");
			fprintf(f, ", \"value\": %" PRId64 "}", v.t->last_ts); /* its last event */
		}
	}
	for (uint32_t i = 0; i < a->chans.n; i++) {
		const struct lt_an_chan *ch = &a->chans.v[i];
		double slope, growth = chan_growth(ch, now, &slope);
		double need = ch->max_depth / 2.0 > 4.0 ? ch->max_depth / 2.0 : 4.0;
		if (isfinite(growth) && growth >= need && ch->depth >= ch->max_depth / 2u) {
			warn_head(f, &nw, "queue-growth");
			snprintf(msg, sizeof(msg),
				 "depth rises by %.1f messages/s (%.0f over the trace, max %u)",
				 slope, growth, ch->max_depth);
			fprintf(f, ", \"channel\": %" PRIu32 ", \"pid\": %" PRId64 ", \"name\": ",
				ch->id, ch->vpid);
			jstr(f, ch->name);
			fputs(", \"message\": ", f);
			jstr(f, msg);
			fputs(", \"value\": ", f);
			jdbl(f, slope);
			fputs("}", f);
		}
	}
	/* routes that dispatched, per process: a slow one delays the others */
	struct lt_map per_pid;
	lt__map_init(&per_pid);
	for (uint32_t i = 0; i < a->routes.n; i++) {
		const struct lt_an_route *r = &a->routes.v[i];
		if (r->dead || !r->dispatches)
			continue;
		uint32_t n = lt__map_get(&per_pid, (uint64_t)r->vpid, 0, 0);
		n = n == UINT32_MAX ? 0 : n;
		n += r->nroutes > 1 ? 2u : 1u;
		(void)lt__map_put(&per_pid, (uint64_t)r->vpid, 0, 0, n);
	}
	for (uint32_t i = 0; i < a->routes.n; i++) {
		const struct lt_an_route *r = &a->routes.v[i];
		if (r->dead)
			continue;
		uint64_t p99 = lt__hist_quantile(&r->dispatch, 0.99);
		uint32_t n = lt__map_get(&per_pid, (uint64_t)r->vpid, 0, 0);
		int others = n != UINT32_MAX && n > 1;
		if (r->dispatches && p99 > 1000000u && others) {
			warn_head(f, &nw, "slow-route");
			snprintf(
			    msg, sizeof(msg),
			    "route callback p99 %.3f ms holds up the other routes of the router",
			    (double)p99 / 1e6);
			fprintf(f,
				", \"route\": %" PRIu32 ", \"pid\": %" PRId64
				", \"owner\": %" PRIu32 ", \"aggregate\": %s, \"message\": ",
				r->id, r->vpid, r->owner, r->aggregate ? "true" : "false");
			jstr(f, msg);
			fprintf(f, ", \"value\": %" PRIu64 "}", p99);
		}
	}
	lt__map_fini(&per_pid);
	if (a->lost_events) {
		warn_head(f, &nw, "lost-events");
		snprintf(msg, sizeof(msg),
			 "%" PRIu64 " events lost in %" PRIu32
			 " windows: numbers flagged lost_overlap are not exact",
			 a->lost_events, a->nlost_windows);
		fputs(", \"message\": ", f);
		jstr(f, msg);
		fprintf(f, ", \"value\": %" PRIu64 "}", a->lost_events);
	}
	fputs(nw ? "\n  ]\n" : "]\n", f);
}

static void write_trace(FILE *f, const struct lt_analysis *a, int64_t now)
{
	fputs("  \"trace\": {\"path\": ", f);
	jstr(f, a->trace_path);
	fprintf(f,
		", \"begin_ns\": %" PRId64 ", \"end_ns\": %" PRId64 ", \"duration_ns\": %" PRId64
		", \"events\": %" PRIu64 ", \"unknown_events\": %" PRIu64
		", \"other_events\": %" PRIu64 ", \"filtered_events\": %" PRIu64
		",\n    \"lost_events\": %" PRIu64 ", \"lost_windows\": [",
		a->begin_ns, now, now - a->begin_ns, a->events, a->unknown_events, a->other_events,
		a->filtered_events, a->lost_events);
	for (uint32_t i = 0; i < a->nlost_windows; i++)
		fprintf(f, "%s[%" PRId64 ", %" PRId64 "]", i ? ", " : "", a->lost_windows[i][0],
			a->lost_windows[i][1]);
	fprintf(f,
		"], \"lost_without_window\": %" PRIu64 ", \"series_interval_ns\": %" PRIu64
		", \"histogram_relative_error\": ",
		a->lost_no_window, a->series_interval);
	jdbl(f, 1.0 / (2.0 * LT_HIST_SUB));
	uint64_t undecl_c = 0, undecl_ch = 0, undecl_r = 0;
	for (uint32_t i = 0; i < a->comps.n; i++)
		undecl_c += !a->comps.v[i].declared && !a->comps.v[i].implicit;
	for (uint32_t i = 0; i < a->chans.n; i++)
		undecl_ch += !a->chans.v[i].declared;
	for (uint32_t i = 0; i < a->routes.n; i++)
		undecl_r += !a->routes.v[i].declared;
	uint64_t open_handlers = 0;
	for (uint32_t i = 0; i < a->threads.n; i++)
		open_handlers += a->threads.v[i].comp >= 0 && a->threads.v[i].in_handler;
	const struct lt_anomalies *n = &a->an;
	fputs(",\n    \"anomalies\": {", f);
#define AN(name, val)                                                                              \
	fprintf(f, "%s\"%s\": %" PRIu64, first ? "" : ", ", name, (uint64_t)(val)), first = 0
	int first = 1;
	AN("time_backwards", n->time_backwards);
	AN("preload_yielded", n->preload_yielded);
	AN("objects_dropped", n->objects_dropped);
	AN("events_without_vtid", n->events_without_vtid);
	AN("nested_component_begin", n->nested_component_begin);
	AN("unmatched_component_end", n->unmatched_component_end);
	AN("component_end_mismatch", n->component_end_mismatch);
	AN("component_rebound", n->component_rebound);
	AN("unmatched_wait_end", n->unmatched_wait_end);
	AN("nested_wait", n->nested_wait);
	AN("nested_handle", n->nested_handle);
	AN("handle_while_waiting", n->handle_while_waiting);
	AN("unmatched_handle_end", n->unmatched_handle_end);
	AN("handle_end_mismatch", n->handle_end_mismatch);
	AN("unmatched_block_end", n->unmatched_block_end);
	AN("block_depth_overflow", n->block_depth_overflow);
	AN("unmatched_dispatch_end", n->unmatched_dispatch_end);
	AN("nested_dispatch", n->nested_dispatch);
	AN("undeclared_components", undecl_c);
	AN("undeclared_channels", undecl_ch);
	AN("undeclared_routes", undecl_r);
	AN("implicit_components", n->implicit_components);
	AN("unknown_messages", n->unknown_messages + lt__parked_count(a));
	AN("duplicate_sends", n->duplicate_sends);
	AN("recv_before_send", n->recv_before_send);
	AN("handlers_cut", n->handlers_cut);
	AN("open_handlers", open_handlers);
	AN("blocks_outside_components", n->blocks_outside_components);
	AN("sites_overflow", n->sites_overflow);
	AN("flow_hops_dropped", n->flow_hops_dropped);
	AN("out_of_memory", n->out_of_memory);
#undef AN
	fputs("}},\n", f);
}

/* write_objects - "objects": the loaded object files of each process (for symbolizing). */
static void write_objects(FILE *f, const struct lt_analysis *a)
{
	fputs(",\n  \"objects\": [", f);
	for (uint32_t i = 0; i < a->objects.n; i++) {
		const struct lt_object *o = &a->objects.v[i];
		fprintf(f,
			"%s\n    {\"pid\": %" PRId64 ", \"baddr\": \"0x%" PRIx64
			"\", \"memsz\": %" PRIu64 ", \"path\": ",
			i ? "," : "", o->vpid, o->baddr, o->memsz);
		lt_json_write_string(f, o->path, strlen(o->path));
		fprintf(f, ", \"is_pic\": %s", o->is_pic ? "true" : "false");
		if (o->build_id[0])
			fprintf(f, ", \"build_id\": \"%s\"", o->build_id);
		fputc('}', f);
	}
	fputs(a->objects.n ? "\n  ]\n" : "]\n", f);
}

int lt_analysis_write_json(const struct lt_analysis *a, FILE *f)
{
	int64_t now = a->now;
	if (a->end_hit && a->has_hi && a->hi > now && a->started)
		now = a->hi;
	fputs("{\n  \"schema\": \"looptrace-report/1\",\n", f);
	write_trace(f, a, now);
	uint64_t busy_sum = 0;
	if (write_components(f, a, now, &busy_sum) != 0)
		return -1;
	write_channels(f, a, now);
	write_routes(f, a);
	write_flows(f, a);
	int64_t span = now - a->begin_ns;
	fputs("  \"parallelism\": {\"mean_busy_components\": ", f);
	jdbl(f, span > 0 ? (double)busy_sum / (double)span : 0.0);
	fprintf(f, ", \"max_busy_components\": %" PRIu32 ", \"busy_now\": %" PRIu32 "},\n",
		a->busy_max, a->busy_now);
	write_warnings(f, a, now);
	write_objects(f, a);
	fputs("}\n", f);
	return ferror(f) ? -1 : 0;
}
