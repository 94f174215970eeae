/*
 * graph.c - the message graph, written while the analysis is fed (lt_analysis_graph_output):
 * one text line per fact `looptrace whatif` needs to replay the recorded system -- the runs
 * of handlers and route dispatches (jobs) with their exact bounds, what each job sent,
 * received and waited for inside, the sends of threads outside any job and their
 * back-pressure, the routes added -- with components, channels and threads named by the
 * core's own indexes. The lines come in feed order; nothing is buffered here beyond one
 * small record per thread, so memory does not grow with the trace (the file does).
 *
 * Format `looptrace-graph/1` (docs/whatif.md): one record per line, fields separated by one
 * space, times in ns from the trace clock's origin; a name is the last field, as a JSON
 * string.
 *   G looptrace-graph/1
 *   T ti vpid vtid                 a thread (before its first record)
 *   C ci vpid key name             a component (again when renamed); key as in the report
 *   N chi vpid capacity name       a channel (again when declared)
 *   K ti ci t / k ti t             thread ti starts / stops running a component
 *   B ti ci t msg route rchan rts kind   a job begins: a handler (route 0) or a route
 *                                  dispatch; msg was last received from rchan at rts
 *   E ti t b e                     the thread's job ends at t (exact bounds b, e; 0 0: none)
 *   X ti t                         the thread's job was cut (no end will come)
 *   s ti t attempt chan msg flow   a send at t, tried since `attempt` (back-pressure)
 *   r ti t chan msg                a receive inside a job
 *   w ti t0 t1 reason              a block (or an in-handler wait) inside a job
 *   b ti t0 t1 reason              a block outside any job
 *   a ti t route chan owner        a route added
 */
#include "internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct lt_gthread {
	int seen;            /* its T line was written */
	int job;             /* 1: a handler runs, 2: a route dispatch runs */
	int depth;           /* nesting of blocks */
	int waiting;         /* a wait inside a job is open */
	int64_t blk_begin;   /* ns, start of the outermost open block */
	uint32_t blk_reason; /* its reason */
	int64_t wait_begin;  /* ns, start of the open wait inside a job */
	int64_t attempt;     /* ns, first chan_send block since the last send; 0 none */
	uint32_t rchan;      /* last receipt outside a job */
	uint64_t rmsg;
	int64_t rts;
};

struct lt_graph {
	FILE *out;
	LT_VEC(struct lt_gthread) th; /* by thread index */
	LT_VEC(uint8_t) comp_seen;    /* by component index */
	LT_VEC(uint8_t) chan_seen;    /* by channel index */
};

int lt_analysis_graph_output(struct lt_analysis *a, FILE *out)
{
	if (!out) {
		lt__graph_free(a);
		return 0;
	}
	if (!a->graph) {
		a->graph = calloc(1, sizeof(*a->graph));
		if (!a->graph)
			return -1;
	}
	a->graph->out = out;
	fputs("G looptrace-graph/1\n", out);
	return 0;
}

void lt__graph_free(struct lt_analysis *a)
{
	if (!a->graph)
		return;
	free(a->graph->th.v);
	free(a->graph->comp_seen.v);
	free(a->graph->chan_seen.v);
	free(a->graph);
	a->graph = NULL;
}

/* seen - the flag of entry i of a byte vector, grown as needed; NULL when out of memory. */
#define seen(a, vec, i) seen_((a), (void **)&(vec).v, &(vec).n, &(vec).cap, (i))
static uint8_t *seen_(struct lt_analysis *a, void **v, uint32_t *n, uint32_t *cap, uint32_t i)
{
	while (*n <= i) {
		if (lt__vec_push_(v, n, cap, 1) < 0) {
			lt__oom(a);
			return NULL;
		}
	}
	return (uint8_t *)*v + i;
}

static void put_name(FILE *out, const char *name)
{
	fputc(' ', out);
	lt_json_write_string(out, name ? name : "", name ? strlen(name) : 0);
	fputc('\n', out);
}

static void emit_comp(struct lt_analysis *a, int32_t ci, int force)
{
	struct lt_graph *g = a->graph;
	if (ci < 0)
		return;
	uint8_t *f = seen(a, g->comp_seen, (uint32_t)ci);
	if (!f || (*f && !force))
		return;
	*f = 1;
	const struct lt_an_comp *c = &a->comps.v[ci];
	if (c->implicit)
		fprintf(g->out, "C %" PRId32 " %" PRId64 " %" PRId64 ":t%" PRId64, ci, c->vpid,
			c->vpid, c->tid);
	else
		fprintf(g->out, "C %" PRId32 " %" PRId64 " %" PRId64 ":%" PRIu32, ci, c->vpid,
			c->vpid, c->id);
	put_name(g->out, c->name);
}

/* chan_index - the channel (vpid, id) written out if new; -1 for none (id 0 or no memory). */
static int32_t chan_index(struct lt_analysis *a, int64_t vpid, uint32_t id, int64_t ts, int force)
{
	struct lt_graph *g = a->graph;
	if (id == 0)
		return -1;
	int32_t chi = lt__chan_get(a, vpid, id, ts);
	if (chi < 0)
		return -1;
	uint8_t *f = seen(a, g->chan_seen, (uint32_t)chi);
	if (f && (!*f || force)) {
		*f = 1;
		const struct lt_an_chan *ch = &a->chans.v[chi];
		fprintf(g->out, "N %" PRId32 " %" PRId64 " %" PRIu32, chi, ch->vpid, ch->capacity);
		put_name(g->out, ch->name);
	}
	return chi;
}

static struct lt_gthread *gthread(struct lt_analysis *a, int32_t ti)
{
	struct lt_graph *g = a->graph;
	while (g->th.n <= (uint32_t)ti) {
		if (lt__vec_push(g->th) < 0) {
			lt__oom(a);
			return NULL;
		}
	}
	struct lt_gthread *gt = &g->th.v[ti];
	if (!gt->seen) {
		gt->seen = 1;
		fprintf(g->out, "T %" PRId32 " %" PRId64 " %" PRId64 "\n", ti,
			a->threads.v[ti].vpid, a->threads.v[ti].vtid);
	}
	return gt;
}

/* cut - the thread's open job will not end (its component stopped, a handler nested). */
static void cut(struct lt_analysis *a, int32_t ti, struct lt_gthread *gt, int64_t ts)
{
	if (gt->job)
		fprintf(a->graph->out, "X %" PRId32 " %" PRId64 "\n", ti, ts);
	gt->job = 0;
	gt->waiting = 0;
}

static void job_begin(struct lt_analysis *a, int32_t ti, struct lt_gthread *gt, int64_t ts,
		      uint64_t msg, uint32_t route, const char *kind)
{
	const struct lt_thread *t = &a->threads.v[ti];
	cut(a, ti, gt, ts);
	emit_comp(a, t->comp, 0);
	int32_t rchan = -1;
	int64_t rts = 0;
	if (msg && gt->rmsg == msg) {
		rchan = chan_index(a, t->vpid, gt->rchan, ts, 0);
		rts = gt->rts;
	}
	fprintf(a->graph->out,
		"B %" PRId32 " %" PRId32 " %" PRId64 " %" PRIu64 " %" PRIu32 " %" PRId32
		" %" PRId64,
		ti, t->comp, ts, msg, route, rchan, rts);
	put_name(a->graph->out, kind);
	gt->job = route ? 2 : 1;
	gt->waiting = 0;
	gt->depth = 0;
}

static void on_block(struct lt_analysis *a, int32_t ti, struct lt_gthread *gt,
		     const struct lt_event *ev, int64_t ts)
{
	FILE *out = a->graph->out;
	if (ev->kind == LT_EV_BLOCK_BEGIN) {
		if (gt->depth++ == 0) {
			gt->blk_begin = ts;
			gt->blk_reason = ev->reason;
			if (ev->reason == 1 /* chan_send */ && !gt->attempt)
				gt->attempt = ts;
		}
		return;
	}
	if (gt->depth == 0 || --gt->depth > 0)
		return;
	fprintf(out, "%c %" PRId32 " %" PRId64 " %" PRId64 " %" PRIu32 "\n", gt->job ? 'w' : 'b',
		ti, gt->blk_begin, ts, gt->blk_reason);
}

/* on_receipt - a wait_end or recv: inside a job, a receive; outside, the loop's receipt. */
static void on_receipt(struct lt_analysis *a, int32_t ti, struct lt_gthread *gt,
		       const struct lt_event *ev, int64_t ts)
{
	if (!ev->msg)
		return;
	if (!gt->job) {
		if (gt->rmsg == ev->msg)
			return; /* recv then wait_end of one message: the first receipt counts */
		gt->rchan = ev->chan;
		gt->rmsg = ev->msg;
		gt->rts = ts;
		return;
	}
	int32_t chi = chan_index(a, ev->vpid, ev->chan, ts, 0);
	fprintf(a->graph->out, "r %" PRId32 " %" PRId64 " %" PRId32 " %" PRIu64 "\n", ti, ts, chi,
		ev->msg);
}

void lt__graph_event(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts)
{
	struct lt_gthread *gt = gthread(a, ti);
	if (!gt)
		return;
	const struct lt_thread *t = &a->threads.v[ti];
	FILE *out = a->graph->out;

	switch (ev->kind) {
	case LT_EV_COMPONENT_BEGIN:
		cut(a, ti, gt, ts);
		emit_comp(a, t->comp, 1);
		if (t->comp >= 0)
			fprintf(out, "K %" PRId32 " %" PRId32 " %" PRId64 "\n", ti, t->comp, ts);
		break;
	case LT_EV_COMPONENT_END:
		cut(a, ti, gt, ts);
		fprintf(out, "k %" PRId32 " %" PRId64 "\n", ti, ts);
		break;
	case LT_EV_CHANNEL_DECLARE:
		chan_index(a, ev->vpid, ev->chan, ts, 1);
		break;
	case LT_EV_WAIT_BEGIN:
		if (gt->job && !gt->waiting) {
			gt->waiting = 1;
			gt->wait_begin = ts;
		}
		break;
	case LT_EV_WAIT_END:
		if (gt->job && gt->waiting) {
			fprintf(out, "w %" PRId32 " %" PRId64 " %" PRId64 " 0\n", ti,
				gt->wait_begin, ts);
			gt->waiting = 0;
		}
		on_receipt(a, ti, gt, ev, ts);
		break;
	case LT_EV_RECV:
		on_receipt(a, ti, gt, ev, ts);
		break;
	case LT_EV_HANDLE_BEGIN:
		if (t->in_handler && t->comp >= 0)
			job_begin(a, ti, gt, ts, ev->msg, 0, ev->name);
		break;
	case LT_EV_HANDLE_END:
		if (gt->job == 1) {
			int64_t b = 0, e = 0;
			if (ev->begin_ns && ev->end_ns && ev->begin_ns <= ev->end_ns &&
			    ev->end_ns <= ts) {
				b = ev->begin_ns;
				e = ev->end_ns;
			}
			fprintf(out, "E %" PRId32 " %" PRId64 " %" PRId64 " %" PRId64 "\n", ti, ts,
				b, e);
			gt->job = 0;
		}
		break;
	case LT_EV_ROUTE_DISPATCH_BEGIN:
		if (!gt->job && t->route >= 0)
			job_begin(a, ti, gt, ts, ev->msg, ev->route ? ev->route : UINT32_MAX,
				  "(route)");
		break;
	case LT_EV_ROUTE_DISPATCH_END:
		if (gt->job == 2) {
			fprintf(out, "E %" PRId32 " %" PRId64 " 0 0\n", ti, ts);
			gt->job = 0;
		}
		break;
	case LT_EV_BLOCK_BEGIN:
	case LT_EV_BLOCK_END:
		on_block(a, ti, gt, ev, ts);
		break;
	case LT_EV_SEND: {
		int32_t chi = chan_index(a, ev->vpid, ev->chan, ts, 0);
		fprintf(out,
			"s %" PRId32 " %" PRId64 " %" PRId64 " %" PRId32 " %" PRIu64 " %" PRIu64
			"\n",
			ti, ts, gt->attempt ? gt->attempt : ts, chi, ev->msg, ev->flow);
		gt->attempt = 0;
		break;
	}
	case LT_EV_ROUTE_ADD:
		fprintf(out, "a %" PRId32 " %" PRId64 " %" PRIu32 " %" PRIu32 " %" PRIu32 "\n", ti,
			ts, ev->route, ev->chan, ev->owner);
		break;
	default:
		break;
	}
}
