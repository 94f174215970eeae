/*
 * report.c - writes the analysis state as a schema-v1 JSON report ("looptrace-report/1").
 *
 * The writer never changes the analysis: intervals still open (a handler running, a thread
 * blocked, a queue holding messages) are added on the fly up to the time of the latest
 * event, so a snapshot taken mid-stream equals the final report of the stream cut there.
 * Key by key documentation: docs/report-schema.md.
 */
#include "view.h"

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
	char buf[224], *p = buf;

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
	p = put_str(p, ", \"runnable_ns\": ");
	p = put_u64(p, col[LT_S_RUNNABLE]);
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

/*
 * comp_key - the unique key of a component: "pid:id", or "pid:t<tid>" when implicit; with
 * traces of several hosts, "HOST/pid:id" (pids repeat across machines).
 */
static void comp_key(FILE *f, const struct lt_analysis *a, const struct lt_an_comp *c)
{
	char key[64];
	int64_t pid = lt__pid_of(c->vpid);
	if (c->implicit)
		snprintf(key, sizeof(key), "%" PRId64 ":t%" PRId64, pid, c->tid);
	else
		snprintf(key, sizeof(key), "%" PRId64 ":%" PRIu32, pid, c->id);
	if (a->hosts.n < 2) {
		fprintf(f, "\"%s\"", key);
		return;
	}
	const char *host = lt__host_name(a, lt__host_of(c->vpid));
	size_t hl = strlen(host), kl = strlen(key);
	char *full = malloc(hl + kl + 2);
	if (!full) {
		fprintf(f, "\"%s\"", key);
		return;
	}
	memcpy(full, host, hl);
	full[hl] = '/';
	memcpy(full + hl + 1, key, kl + 1);
	jstr(f, full);
	free(full);
}

/* write_chan_waits - a channel's (or channel group's) queue waits, send-blocked time, Little's
 * law (L, lambda, W) and lost_overlap, after its counts. */
static void write_chan_waits(FILE *f, const struct lt_hist *qwait, uint64_t blocked_ns,
			     uint64_t blocked_count, double L, double lambda, double W, int lost)
{
	fputs(",\n     \"queue_wait_ns\": ", f);
	jhist(f, qwait);
	fprintf(f,
		",\n     \"send_blocked_ns\": %" PRIu64 ", \"send_blocked_count\": %" PRIu64
		", \"littles_law\": {\"L\": ",
		blocked_ns, blocked_count);
	jdbl(f, L);
	fputs(", \"lambda\": ", f);
	jdbl(f, lambda);
	fputs(", \"W\": ", f);
	jdbl(f, W);
	fputs(", \"ratio\": ", f);
	jdbl(f, safe_div(L, lambda * W));
	fprintf(f, "}, \"lost_overlap\": %s", lost ? "true" : "false");
}

/* write_host - `, "host": NAME` of process key `key` when the trace names its hosts. */
static void write_host(FILE *f, const struct lt_analysis *a, int64_t key)
{
	if (!a->hosts.n)
		return;
	fputs(", \"host\": ", f);
	jstr(f, lt__host_name(a, lt__host_of(key)));
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
		key, lt__pid_of(c->vpid), key);
	comp_key(f, a, c);
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

/* jnum - a number of the report as its kind says. */
static void jnum(FILE *f, const struct lt_num *n)
{
	if (n->kind == LT_NUM_I64)
		fprintf(f, "%" PRId64, n->i);
	else if (n->kind == LT_NUM_U64)
		fprintf(f, "%" PRIu64, n->u);
	else
		jdbl(f, n->d);
}

static void write_comp_head(FILE *f, const struct lt_analysis *a, const struct lt_an_comp *c,
			    const struct lt_comp_view *v, int first)
{
	fprintf(f, "%s\n    {\"id\": %" PRIu32 ", \"key\": ", first ? "" : ",", c->id);
	comp_key(f, a, c);
	write_host(f, a, c->vpid);
	fputs(", \"name\": ", f);
	jstr(f, c->name);
	fprintf(f,
		", \"pid\": %" PRId64 ", \"tid\": %" PRId64
		", \"implicit\": %s, \"ended\": %s, \"begin_ns\": %" PRId64 ", \"end_ns\": %" PRId64
		", \"wall_ns\": %" PRIu64 ",\n",
		lt__pid_of(c->vpid), c->tid, c->implicit ? "true" : "false",
		c->ended && !v->t ? "true" : "false", v->begin, v->end, v->wall);
	fprintf(f,
		"     \"time_ns\": {\"busy\": %" PRIu64 ", \"idle\": %" PRIu64
		", \"blocked_in_handler\": %" PRIu64 ", \"blocked_outside\": %" PRIu64
		", \"outside\": %" PRIu64 ", \"runnable\": %" PRIu64 "},\n",
		v->time[LT_T_BUSY], v->time[LT_T_IDLE], v->time[LT_T_BIH], v->time[LT_T_BO],
		v->time[LT_T_OUTSIDE], v->time[LT_T_RUNNABLE]);
	/* sequences (docs/analysis.md, "Sequences and pools"): null / 0 for thread components */
	fputs("     \"pool\": ", f);
	if (c->pool >= 0)
		jstr(f, a->pools.v[c->pool].name);
	else
		fputs("null", f);
	fprintf(f,
		", \"sequence\": %s, \"task\": %s, \"tasks\": %" PRIu64 ", \"runs\": %" PRIu64
		", \"released_ns\": %" PRIu64 ", \"held_ns\": %" PRIu64 ",\n",
		c->seq ? "true" : "false", c->task ? "true" : "false", c->tasks, c->runs,
		v->released, v->held);
}

static void write_blocked_by(FILE *f, const struct lt_analysis *a, const struct lt_an_comp *c,
			     const struct lt_site_ref *refs, size_t nref)
{
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
		fprintf(
		    f, ", \"ns\": %" PRIu64 ", \"count\": %" PRIu64 ", \"in_handler_ns\": %" PRIu64,
		    refs[k].ns, s->count, refs[k].in_handler_ns);
		if (c->seq) /* a sequence's awaits released its worker */
			fprintf(f, ", \"released_ns\": %" PRIu64, refs[k].released_ns);
		fputc('}', f);
	}
	fputs("],\n", f);
}

/* jopt - `, "key": x` when x is a number (absent figures are left out). */
static void jopt(FILE *f, const char *key, double x)
{
	if (isfinite(x)) {
		fprintf(f, ", \"%s\": ", key);
		jdbl(f, x);
	}
}

static void write_findings(FILE *f, const struct lt_finding *fd, uint32_t n)
{
	fputs(",\n     \"findings\": [", f);
	for (uint32_t k = 0; k < n; k++) {
		fprintf(f,
			"%s{\"code\": \"%s\", \"severity\": \"%s\", \"warning\": %s, \"message\": ",
			k ? ", " : "", lt__finding_code_name(fd[k].code),
			lt__severity_name(fd[k].severity), fd[k].warning ? "true" : "false");
		jstr(f, fd[k].message);
		fputs(", \"value\": ", f);
		jnum(f, &fd[k].value);
		jopt(f, "wall_frac", fd[k].wall_frac);
		jopt(f, "busy_frac", fd[k].busy_frac);
		jopt(f, "idle_frac", fd[k].idle_frac);
		if (fd[k].site >= 0)
			fprintf(f, ", \"site\": %" PRId32, fd[k].site);
		jopt(f, "site_share", fd[k].site_share);
		fputc('}', f);
	}
	fputc(']', f);
}

static void write_series(FILE *f, const struct lt_analysis *a, uint32_t b0,
			 const uint64_t (*col)[LT_S_COLS], size_t n)
{
	uint64_t iv = a->series_interval;
	fputs(",\n     \"series\": [", f);
	for (size_t k = 0; k < n; k++)
		jseries_point(f, k == 0, a->begin_ns + (int64_t)((uint64_t)(b0 + k) * iv), col[k]);
	fputs("]}", f);
}

static int write_components(FILE *f, const struct lt_analysis *a, int64_t now)
{
	struct lt_view_bufs bufs = {0};
	fputs("  \"components\": [", f);
	for (uint32_t ci = 0; ci < a->comps.n; ci++) {
		const struct lt_an_comp *c = &a->comps.v[ci];
		struct lt_comp_view v;
		struct lt_finding fd[LT_FINDINGS_MAX];
		uint32_t b0;
		lt__comp_view(a, c, now, &v);
		long nref = lt__comp_sites(a, c, &v, now, &bufs);
		long npts = nref < 0 ? -1 : lt__comp_series(a, c, &v, now, &bufs, &b0);
		if (npts < 0) {
			lt__view_fini(&bufs);
			return -1;
		}
		uint32_t nf = lt__comp_findings(a, c, &v, bufs.refs, (size_t)nref, fd);

		write_comp_head(f, a, c, &v, ci == 0);
		fputs("     \"interposed\": ", f);
		fputs(c->preload ? "true" : "false", f);
		lt__looptop_write_comp(f, a, c); /* cpu_ns, loop_top */
		fputs(",\n", f);
		write_blocked_by(f, a, c, bufs.refs, (size_t)nref);
		fprintf(f, "     \"messages\": %" PRIu64 ", \"throughput_per_s\": ", c->messages);
		/* a task row's tasks overlap or leave gaps: per second of the span they cover */
		uint64_t per = c->task ? (uint64_t)(v.end - v.begin) : v.wall;
		jdbl(f, per ? (double)c->messages / ((double)per / 1e9) : 0.0);
		fputs(",\n     \"handle_ns\": ", f);
		jhist(f, &c->handle);
		fputs(",\n     \"queue_wait_ns\": ", f);
		jhist(f, &c->qwait);
		fputs(",\n     \"utilization\": ", f);
		jdbl(f, v.wall ? (double)v.time[LT_T_BUSY] / (double)v.wall : 0.0);
		fprintf(f, ", \"lost_overlap\": %s",
			(a->lost_events && overlaps_loss(a, v.begin, v.end)) ? "true" : "false");
		write_findings(f, fd, nf);
		write_series(f, a, b0, (const uint64_t(*)[LT_S_COLS])bufs.col, (size_t)npts);
	}
	fputs(a->comps.n ? "\n  ],\n" : "],\n", f);
	lt__view_fini(&bufs);
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

/*
 * struct chan_sum - what the report shows of a channel: one channel, or the ends of an IPC
 * channel (the same name in several processes, linked by the messages that crossed) summed.
 */
struct chan_sum {
	uint64_t sends, recvs, send_blocked_ns, send_blocked_count;
	uint32_t depth, max_depth, capacity;
	int declared;
	int64_t start_ns;
	double L; /* mean depth: of both queues together for an IPC channel */
	struct lt_hist qwait;
};

/* chan_sum - the figures of channel ci and of every other end of its IPC channel; -1 on OOM. */
static int chan_sum(const struct lt_analysis *a, uint32_t ci, int64_t now, struct chan_sum *s)
{
	memset(s, 0, sizeof(*s));
	lt__hist_init(&s->qwait);
	s->start_ns = INT64_MAX;
	for (uint32_t j = ci; j < a->chans.n; j++) {
		const struct lt_an_chan *ch = &a->chans.v[j];
		if (j != ci && (!ch->ipc || lt__chan_ipc_root(a, (int32_t)j) != (int32_t)ci))
			continue;
		s->sends += ch->sends;
		s->recvs += ch->recvs;
		s->send_blocked_ns += ch->send_blocked_ns;
		s->send_blocked_count += ch->send_blocked_count;
		s->depth += ch->depth;
		s->max_depth = ch->max_depth > s->max_depth ? ch->max_depth : s->max_depth;
		s->capacity = ch->capacity > s->capacity ? ch->capacity : s->capacity;
		s->declared |= ch->declared;
		s->start_ns = ch->start_ns < s->start_ns ? ch->start_ns : s->start_ns;
		s->L += chan_mean_depth(ch, now);
		if (lt__hist_merge(&s->qwait, &ch->qwait))
			return -1;
		if (!ch->ipc)
			break;
	}
	return 0;
}

/* write_sides - "senders" and "receivers" of channel ci (with the other ends' of its group). */
static void write_sides(FILE *f, const struct lt_analysis *a, uint32_t ci)
{
	for (int side = 0; side < 2; side++) {
		int first = 1;
		fprintf(f, "%s\"%s\": [", side ? ", " : "", side ? "receivers" : "senders");
		for (uint32_t j = ci; j < a->chans.n; j++) {
			const struct lt_an_chan *ch = &a->chans.v[j];
			if (j != ci &&
			    (!ch->ipc || lt__chan_ipc_root(a, (int32_t)j) != (int32_t)ci))
				continue;
			const int32_t *v = side ? ch->receivers : ch->senders;
			unsigned n = side ? ch->nreceivers : ch->nsenders;
			for (unsigned k = 0; k < n; k++) {
				const struct lt_an_comp *c = &a->comps.v[v[k]];
				fprintf(f, "%s{\"name\": ", first ? "" : ", ");
				jstr(f, c->name);
				fprintf(f, ", \"pid\": %" PRId64, lt__pid_of(c->vpid));
				write_host(f, a, c->vpid);
				fputs(", \"key\": ", f);
				comp_key(f, a, c);
				fputc('}', f);
				first = 0;
			}
			if (!ch->ipc)
				break;
		}
		fputc(']', f);
	}
}

/* write_ipc - "ipc" and, for an IPC channel, "pids" and "ends" (each process's own channel). */
static void write_ipc(FILE *f, const struct lt_analysis *a, uint32_t ci)
{
	const struct lt_an_chan *root = &a->chans.v[ci];
	if (!root->ipc) {
		fputs(", \"ipc\": false", f);
		return;
	}
	fputs(", \"ipc\": true, \"ends\": [", f);
	for (uint32_t j = ci; j < a->chans.n; j++) {
		const struct lt_an_chan *ch = &a->chans.v[j];
		if (!ch->ipc || lt__chan_ipc_root(a, (int32_t)j) != (int32_t)ci)
			continue;
		fprintf(f,
			"%s{\"id\": %" PRIu32 ", \"pid\": %" PRId64 ", \"sends\": %" PRIu64
			", \"recvs\": %" PRIu64,
			j == ci ? "" : ", ", ch->id, lt__pid_of(ch->vpid), ch->sends, ch->recvs);
		write_host(f, a, ch->vpid);
		fputc('}', f);
	}
	fputs("], \"pids\": [", f);
	int first = 1;
	for (uint32_t j = ci; j < a->chans.n; j++) {
		const struct lt_an_chan *ch = &a->chans.v[j];
		if (!ch->ipc || lt__chan_ipc_root(a, (int32_t)j) != (int32_t)ci)
			continue;
		int seen = 0;
		for (uint32_t k = ci; k < j && !seen; k++)
			seen = a->chans.v[k].ipc && a->chans.v[k].vpid == ch->vpid &&
			       lt__chan_ipc_root(a, (int32_t)k) == (int32_t)ci;
		if (!seen)
			fprintf(f, "%s%" PRId64, first ? "" : ", ", lt__pid_of(ch->vpid));
		first &= seen;
	}
	fputc(']', f);
}

/*
 * Channel groups: the channels[] entries of one process with the same name and the same kind
 * (IPC or not, declared or not, capacity) -- a free list of per-request reply channels, each
 * made with the same name. Reports list each channel object; a group of two or more also gets
 * one "channel_groups" entry summing its members, with their queue waits merged from the
 * members' histograms (so its percentiles are those of every message of the group).
 */
struct chan_group {
	uint32_t first;     /* index in chans of its first member */
	uint32_t instances; /* channels[] entries in it */
	struct chan_sum
	    s;          /* members summed: s.L is sum of L x life (ns), s.max_depth the largest */
	double life_ns; /* sum of the members' lives: L / life_ns is the mean depth of one */
	int lost;       /* a member overlaps a loss window */
};

struct chan_groups {
	uint32_t *of;         /* owned; per chans index: group ordinal, UINT32_MAX none */
	struct chan_group *v; /* owned; groups of two or more, by first member */
	uint32_t n;
};

static void chan_groups_fini(struct chan_groups *g)
{
	for (uint32_t i = 0; i < g->n; i++)
		lt__hist_fini(&g->v[i].s.qwait);
	free(g->v);
	free(g->of);
	memset(g, 0, sizeof(*g));
}

static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/*
 * chan_groups_find - fills g->of for every channels[] entry of a (the first end of an IPC
 * channel stands for it) and allocates g->v for the groups of two or more, accumulators
 * empty. Returns 0, or -1 out of memory (g then holds nothing).
 */
static int chan_groups_find(const struct lt_analysis *a, struct chan_groups *g)
{
	uint32_t n = a->chans.n, *first = NULL, *count = NULL;
	struct lt_map m;
	int rc = -1;

	memset(g, 0, sizeof(*g));
	lt__map_init(&m);
	if (!n)
		return 0;
	first = malloc(n * sizeof(*first));
	count = calloc(n, sizeof(*count));
	g->of = malloc(n * sizeof(*g->of));
	if (!first || !count || !g->of)
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		const struct lt_an_chan *ch = &a->chans.v[i];
		first[i] = g->of[i] = UINT32_MAX;
		if (ch->ipc && lt__chan_ipc_root(a, (int32_t)i) != (int32_t)i)
			continue; /* summed into its first end's entry */
		uint64_t k1 = (uint64_t)ch->capacity | (uint64_t)(ch->declared != 0) << 32 |
			      (uint64_t)(ch->ipc != 0) << 33;
		/* k2: the name's hash, plus a probe step when two names share a hash */
		for (uint64_t k2 = name_hash(ch->name);; k2++) {
			uint32_t f = lt__map_get(&m, (uint64_t)ch->vpid, k1, k2);
			if (f == UINT32_MAX) {
				if (lt__map_put(&m, (uint64_t)ch->vpid, k1, k2, i))
					goto out;
				f = i;
			} else if (strcmp(a->chans.v[f].name, ch->name) != 0) {
				continue;
			}
			first[i] = f;
			count[f]++;
			break;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		if (first[i] == i && count[i] > 1)
			g->n++;
	if (g->n && !(g->v = calloc(g->n, sizeof(*g->v))))
		goto out;
	uint32_t k = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (first[i] == UINT32_MAX || count[first[i]] < 2)
			continue;
		if (first[i] == i) {
			struct chan_group *grp = &g->v[k];
			grp->first = i;
			lt__hist_init(&grp->s.qwait);
			grp->s.start_ns = INT64_MAX;
			g->of[i] = k++;
		} else {
			g->of[i] = g->of[first[i]];
		}
	}
	rc = 0;
out:
	free(first);
	free(count);
	lt__map_fini(&m);
	if (rc)
		chan_groups_fini(g);
	return rc;
}

/* chan_group_add - adds the figures `cs` of a channels[] entry to its group; -1 on OOM. */
static int chan_group_add(struct chan_group *grp, const struct chan_sum *cs, int64_t now, int lost)
{
	double life = now > cs->start_ns ? (double)(now - cs->start_ns) : 0.0;
	grp->instances++;
	grp->s.sends += cs->sends;
	grp->s.recvs += cs->recvs;
	grp->s.send_blocked_ns += cs->send_blocked_ns;
	grp->s.send_blocked_count += cs->send_blocked_count;
	grp->s.depth += cs->depth;
	grp->s.max_depth = cs->max_depth > grp->s.max_depth ? cs->max_depth : grp->s.max_depth;
	grp->s.capacity = cs->capacity;
	grp->s.declared |= cs->declared;
	grp->s.start_ns = cs->start_ns < grp->s.start_ns ? cs->start_ns : grp->s.start_ns;
	grp->s.L += cs->L * life;
	grp->life_ns += life;
	grp->lost |= lost;
	return lt__hist_merge(&grp->s.qwait, &cs->qwait);
}

static int write_channels(FILE *f, const struct lt_analysis *a, int64_t now, struct chan_groups *g)
{
	int first = 1;
	fputs("  \"channels\": [", f);
	for (uint32_t i = 0; i < a->chans.n; i++) {
		const struct lt_an_chan *ch = &a->chans.v[i];
		struct chan_sum cs;
		if (ch->ipc && lt__chan_ipc_root(a, (int32_t)i) != (int32_t)i)
			continue; /* written with its group's first end */
		if (chan_sum(a, i, now, &cs)) {
			lt__hist_fini(&cs.qwait);
			continue;
		}
		fprintf(f, "%s\n    {\"id\": %" PRIu32 ", \"name\": ", first ? "" : ",", ch->id);
		first = 0;
		jstr(f, ch->name);
		double L = cs.L;
		double span_s = (double)(now - cs.start_ns) / 1e9;
		double lambda = span_s > 0 ? (double)cs.recvs / span_s : NAN;
		double W = cs.qwait.count ? cs.qwait.sum / (double)cs.qwait.count / 1e9 : NAN;
		int lost = a->lost_events && overlaps_loss(a, cs.start_ns, now);
		fprintf(f,
			", \"pid\": %" PRId64 ", \"declared\": %s, \"capacity\": %" PRIu32
			", \"sends\": %" PRIu64 ", \"recvs\": %" PRIu64 ", \"depth\": %" PRIu32
			", \"max_depth\": %" PRIu32 ", \"mean_depth\": ",
			lt__pid_of(ch->vpid), cs.declared ? "true" : "false", cs.capacity, cs.sends,
			cs.recvs, cs.depth, cs.max_depth);
		jdbl(f, L);
		write_chan_waits(f, &cs.qwait, cs.send_blocked_ns, cs.send_blocked_count, L, lambda,
				 W, lost);
		write_host(f, a, ch->vpid);
		fprintf(f, ", \"cross_host_waits\": %" PRIu64 ", \"cross_host_short\": %" PRIu64,
			ch->cross_host_waits, ch->cross_host_short);
		fputs(",\n     ", f);
		write_sides(f, a, i);
		write_ipc(f, a, i);
		if (g->of && g->of[i] != UINT32_MAX) {
			struct chan_group *grp = &g->v[g->of[i]];
			fprintf(f, ", \"group\": %" PRIu32, a->chans.v[grp->first].id);
			if (chan_group_add(grp, &cs, now, lost)) {
				lt__hist_fini(&cs.qwait);
				return -1;
			}
		}
		fputc('}', f);
		lt__hist_fini(&cs.qwait);
	}
	fputs(first ? "],\n" : "\n  ],\n", f);
	return 0;
}

/*
 * write_channel_groups - "channel_groups": one entry per group of two or more channels[]
 * entries (see struct chan_group), in order of their first member.
 */
static void write_channel_groups(FILE *f, const struct lt_analysis *a, int64_t now,
				 const struct chan_groups *g)
{
	fputs("  \"channel_groups\": [", f);
	for (uint32_t k = 0; k < g->n; k++) {
		const struct chan_group *grp = &g->v[k];
		const struct lt_an_chan *ch = &a->chans.v[grp->first];
		const struct chan_sum *s = &grp->s;
		double span = (double)(now - s->start_ns);
		double L = span > 0 ? s->L / span : NAN; /* messages queued in the whole group */
		double lambda = span > 0 ? (double)s->recvs / (span / 1e9) : NAN;
		double W = s->qwait.count ? s->qwait.sum / (double)s->qwait.count / 1e9 : NAN;
		fprintf(f, "%s\n    {\"id\": %" PRIu32 ", \"name\": ", k ? "," : "", ch->id);
		jstr(f, ch->name);
		fprintf(f,
			", \"pid\": %" PRId64 ", \"instances\": %" PRIu32 ", \"ipc\": %s"
			", \"declared\": %s, \"capacity\": %" PRIu32 ", \"sends\": %" PRIu64
			", \"recvs\": %" PRIu64 ", \"depth\": %" PRIu32 ", \"max_depth\": %" PRIu32
			", \"mean_depth\": ",
			lt__pid_of(ch->vpid), grp->instances, ch->ipc ? "true" : "false",
			s->declared ? "true" : "false", s->capacity, s->sends, s->recvs, s->depth,
			s->max_depth);
		jdbl(f, grp->life_ns > 0 ? s->L / grp->life_ns : 0.0);
		write_chan_waits(f, &s->qwait, s->send_blocked_ns, s->send_blocked_count, L, lambda,
				 W, grp->lost);
		write_host(f, a, ch->vpid);
		fputc('}', f);
	}
	fputs(g->n ? "\n  ],\n" : "],\n", f);
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
			first ? "" : ",", r->id, lt__pid_of(r->vpid), r->owner, r->chan,
			r->declared ? "true" : "false", r->removed ? "true" : "false",
			r->aggregate ? "true" : "false", r->nroutes, r->dispatches);
		first = 0;
		jhist(f, &r->dispatch);
		write_host(f, a, r->vpid);
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
			a->crit_flow, lt__pid_of(a->crit_vpid), a->crit_latency, a->crit_dropped);
	else
		fputs("null", f);
	fputs("},\n", f);
}

static const char *const subject_keys[] = {
    [LT_SUBJ_NONE] = NULL,
    [LT_SUBJ_COMPONENT] = "component",
    [LT_SUBJ_CHANNEL] = "channel",
    [LT_SUBJ_ROUTE] = "route",
};

static void write_warning(FILE *f, const struct lt_analysis *a, const struct lt_warning *w)
{
	fprintf(f, "{\"kind\": \"%s\"", w->kind);
	if (w->subject != LT_SUBJ_NONE) {
		fprintf(f, ", \"%s\": %" PRIu32 ", \"pid\": %" PRId64, subject_keys[w->subject],
			w->id, lt__pid_of(w->pid));
		write_host(f, a, w->pid);
	}
	if (w->subject == LT_SUBJ_ROUTE) {
		fprintf(f, ", \"owner\": %" PRIu32 ", \"aggregate\": %s", w->owner,
			w->aggregate ? "true" : "false");
	} else if (w->subject != LT_SUBJ_NONE) {
		fputs(", \"name\": ", f);
		jstr(f, w->name);
	}
	fputs(", \"message\": ", f);
	jstr(f, w->message);
	fputs(", \"value\": ", f);
	jnum(f, &w->value);
	fputc('}', f);
}

static void write_warnings(FILE *f, const struct lt_analysis *a, int64_t now)
{
	struct lt_warn_iter it;
	struct lt_warning w;
	int n = 0;
	lt__warn_iter_init(&it, a, now);
	fputs("  \"warnings\": [", f);
	while (lt__warn_next(&it, &w)) {
		fputs(n++ ? ",\n    " : "\n    ", f);
		write_warning(f, a, &w);
	}
	fputs(n ? "\n  ]\n" : "]\n", f);
	lt__warn_iter_fini(&it);
}

static const char *const clock_bases[] = {
    [LT_CLOCK_ONE] = "one-clock",
    [LT_CLOCK_ONE_MACHINE] = "one-machine",
    [LT_CLOCK_ASSUMED] = "assumed-sync",
};

/* write_clock - trace.hosts and trace.clock: the machines and how far their times agree. */
static void write_clock(FILE *f, const struct lt_analysis *a)
{
	fputs(",\n    \"hosts\": [", f);
	for (uint32_t i = 0; i < a->hosts.n; i++) {
		fputs(i ? ", " : "", f);
		jstr(f, lt__host_name(a, i));
	}
	fprintf(f, "],\n    \"handler_bracket_ns\": %" PRId64, a->bracket_ns);
	fprintf(f,
		",\n    \"clock\": {\"uncertainty_ns\": %" PRId64
		", \"basis\": \"%s\", \"assumed_sync_ns\": %" PRId64 ", \"clocks\": [",
		a->clock_uncertainty_ns, clock_bases[a->clock_basis], a->cfg.clock_sync_ns);
	for (uint32_t i = 0; i < a->clocks.n; i++) {
		const struct lt_clock *c = &a->clocks.v[i];
		fputs(i ? ", {\"host\": " : "{\"host\": ", f);
		jstr(f, lt__host_name(a, c->host));
		fputs(", \"uuid\": ", f);
		if (c->uuid[0])
			jstr(f, c->uuid);
		else
			fputs("null", f);
		fprintf(f, ", \"offset_ns\": %" PRId64 "}", c->offset_ns);
	}
	fputs("]}", f);
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
	AN("unknown_sequences", n->unknown_sequences);
	AN("unmatched_run_end", n->unmatched_run_end);
	AN("nested_run", n->nested_run);
#undef AN
	fputc('}', f);
	write_clock(f, a);
	fputs("},\n", f);
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
			i ? "," : "", lt__pid_of(o->vpid), o->baddr, o->memsz);
		lt_json_write_string(f, o->path, strlen(o->path));
		fprintf(f, ", \"is_pic\": %s", o->is_pic ? "true" : "false");
		write_host(f, a, o->vpid);
		if (o->build_id[0])
			fprintf(f, ", \"build_id\": \"%s\"", o->build_id);
		fputc('}', f);
	}
	fputs(a->objects.n ? "\n  ]\n" : "]\n", f);
}

/*
 * write_pools - "pools": each pool's workers' time (idle, busy, held blocked) and what its
 * sequences spent runnable and awaiting.
 */
static void write_pools(FILE *f, const struct lt_analysis *a, int64_t now)
{
	fputs("  \"pools\": [", f);
	for (uint32_t pi = 0; pi < a->pools.n; pi++) {
		const struct lt_an_pool *p = &a->pools.v[pi];
		uint64_t t[LT_W_COUNT], runnable = 0, released = 0, tasks = 0;
		uint32_t seqs = 0;
		lt__pool_view(a, pi, now, t);
		for (uint32_t ci = 0; ci < a->comps.n; ci++) {
			const struct lt_an_comp *c = &a->comps.v[ci];
			if (c->pool != (int32_t)pi)
				continue;
			struct lt_comp_view v;
			lt__comp_view(a, c, now, &v);
			runnable += v.time[LT_T_RUNNABLE];
			released += v.released;
			tasks += c->tasks;
			seqs++;
		}
		uint64_t all = t[LT_W_IDLE] + t[LT_W_BUSY] + t[LT_W_BLOCKED];
		fprintf(f, "%s\n    {\"id\": %" PRIu32 ", \"pid\": %" PRId64 ", \"name\": ",
			pi ? "," : "", p->id, p->vpid);
		jstr(f, p->name);
		fprintf(f,
			", \"threads\": %" PRIu32 ", \"workers\": %" PRIu32
			", \"busy_ns\": %" PRIu64 ", \"idle_ns\": %" PRIu64
			", \"blocked_ns\": %" PRIu64 ", \"utilization\": ",
			p->threads, p->workers, t[LT_W_BUSY], t[LT_W_IDLE], t[LT_W_BLOCKED]);
		jdbl(f, all ? (double)t[LT_W_BUSY] / (double)all : 0.0);
		fputs(", \"blocked_frac\": ", f);
		jdbl(f, all ? (double)t[LT_W_BLOCKED] / (double)all : 0.0);
		fprintf(f,
			", \"runs\": %" PRIu64 ", \"components\": %" PRIu32 ", \"tasks\": %" PRIu64
			", \"runnable_ns\": %" PRIu64 ", \"released_ns\": %" PRIu64 "}",
			p->runs, seqs, tasks, runnable, released);
	}
	fputs(a->pools.n ? "\n  ],\n" : "],\n", f);
}

static void write_parallelism(FILE *f, const struct lt_analysis *a, int64_t now)
{
	int64_t span = now - a->begin_ns;
	uint64_t busy_sum = lt__busy_sum(a, now);
	fputs("  \"parallelism\": {\"mean_busy_components\": ", f);
	jdbl(f, span > 0 ? (double)busy_sum / (double)span : 0.0);
	fprintf(f, ", \"max_busy_components\": %" PRIu32 ", \"busy_now\": %" PRIu32 "},\n",
		a->busy_max, a->busy_now);
}

int lt_analysis_write_json(const struct lt_analysis *a, FILE *f)
{
	int64_t now = lt__report_now(a);
	fputs("{\n  \"schema\": \"looptrace-report/1\",\n", f);
	write_trace(f, a, now);
	if (write_components(f, a, now) != 0)
		return -1;
	struct chan_groups groups;
	if (chan_groups_find(a, &groups))
		return -1;
	if (write_channels(f, a, now, &groups)) {
		chan_groups_fini(&groups);
		return -1;
	}
	write_channel_groups(f, a, now, &groups);
	chan_groups_fini(&groups);
	write_routes(f, a);
	write_flows(f, a);
	write_pools(f, a, now);
	write_parallelism(f, a, now);
	write_warnings(f, a, now);
	write_objects(f, a);
	fputs("}\n", f);
	return ferror(f) ? -1 : 0;
}
