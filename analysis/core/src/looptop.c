/*
 * looptop.c - the loop top of threads seen only by the interposer, and CPU time.
 *
 * A thread of an unmodified program (provider looptrace_preload, no lt_* calls) has no
 * wait/handle events: only its blocking calls. Its loop is found from them (docs/interposer.md,
 * "Loop tops"): per thread, the analysis holds the thread's first interposer events (at most
 * LT_LOOP_HOLD) while it counts its waits per call site; then it picks the loop top -- the
 * call site given by the user (lt_analysis_loop_top), else the candidate of the highest class
 * (preload-calls.h: multiplexers, then waits for work or signals, then single-descriptor and
 * child waits, then sleeps; locks and joins never), most waits, most time -- and replays the
 * held events. From then on a wait at the loop top is fed as wait_begin/wait_end (idle), the
 * time from its return to the next one as a handler (one iteration: busy, one message), and
 * the other waits as blocks, inside the iteration (blocked in handler) or before the first
 * loop-top wait (blocked outside). Memory per thread is bounded (LT_LOOP_HOLD held events,
 * LT_LOOP_CANDS candidate sites), whatever the trace length.
 *
 * CPU time: events that carry the thread's CPU time (cpu_ns) charge the difference between
 * two readings taken while the thread runs the same component to that component.
 */
#include "internal.h"

#include <looptrace/probes/preload-calls.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LT_LOOP_HOLD  512u /* interposer events held per thread until its loop top is known */
#define LT_LOOP_CANDS 32u  /* call sites counted per thread as loop-top candidates */
#define LT_LOOP_MIN   2u   /* waits at a call site before it can be a detected loop top */

enum { LOOP_LEARN = 0, LOOP_SET, LOOP_NONE };
/* enum lt_block_reason values (looptrace/trace.h) */
enum { R_CONDVAR = 3, R_SEM = 5, R_SLEEP = 6, R_IO = 7, R_JOIN = 8, R_CALL = 9 };
enum { HOW_DETECTED = 1, HOW_GIVEN = 2 };

/* An interposer block event held while the thread's loop top is unknown. */
struct held {
	int64_t ts;
	uint64_t object, where;
	uint32_t reason, call;
	int begin; /* block_begin (1) or block_end (0) */
};

/* A call site the thread waited at, outside any other wait. */
struct cand {
	uint64_t where;
	uint32_t call, reason;
	uint64_t count, ns;
	int given; /* matches a --loop-top: 1 yes, 0 no, -1 not known yet (object not loaded) */
};

struct loop {
	int32_t ti;   /* its thread */
	int32_t comp; /* the component it was decided for, -1 none */
	int state;    /* LOOP_* */
	int how;      /* HOW_* once LOOP_SET */
	uint64_t where;
	uint32_t call, reason;
	uint64_t waits; /* waits at the loop top */
	int depth;      /* interposer blocks open (fed) */
	int top_open;   /* the outermost open block is the loop-top wait */
	int ldepth;     /* interposer blocks open (held) */
	int32_t open_cand;
	int64_t open_ts;
	struct held *held; /* owned, LT_LOOP_HOLD entries once allocated */
	uint32_t nheld;
	struct cand cands[LT_LOOP_CANDS];
	uint32_t ncands;
	const char *spec; /* weak: the --loop-top that matched */
};

struct spec {
	char *text; /* owned: as given */
	char *obj;  /* owned: object path or file name */
	uint64_t lo, hi;
};

struct lt_looptop {
	LT_VEC(struct loop) loops;
	LT_VEC(struct spec) specs;
};

/* ---------------------------------------------------------------------------------------- */
/* calls */

#define LT_CALL_NAME(id, name, cls) [id] = #name,
static const char *const call_names[LT_CALL_COUNT] = {LT_PRELOAD_CALLS(LT_CALL_NAME)};
#undef LT_CALL_NAME
#define LT_CALL_CLASS(id, name, cls) [id] = cls,
static const unsigned char call_classes[LT_CALL_COUNT] = {LT_PRELOAD_CALLS(LT_CALL_CLASS)};
#undef LT_CALL_CLASS

const char *lt__call_name(uint32_t call)
{
	return call > 0 && call < LT_CALL_COUNT ? call_names[call] : NULL;
}

/*
 * call_class - how likely a wait is the top of a loop (preload-calls.h): from the call, or from
 * the block reason in traces recorded before the call was (io: a multiplexer).
 */
static unsigned call_class(uint32_t call, uint32_t reason)
{
	if (reason == R_SLEEP)
		return 1; /* poll/select without a descriptor too */
	if (call > 0 && call < LT_CALL_COUNT)
		return call_classes[call];
	switch (reason) {
	case R_IO:
		return 4;
	case R_CONDVAR:
	case R_SEM:
	case R_CALL:
		return 3;
	case R_JOIN:
		return 2;
	default:
		return 0;
	}
}

/* ---------------------------------------------------------------------------------------- */
/* --loop-top */

static struct lt_looptop *lt_get(struct lt_analysis *a)
{
	if (!a->looptop)
		a->looptop = calloc(1, sizeof(*a->looptop));
	return a->looptop;
}

static int parse_hex(const char *s, const char **end, uint64_t *v)
{
	char *e;
	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -1;
	unsigned long long x = strtoull(s + 2, &e, 16);
	if (e == s + 2)
		return -1;
	*v = (uint64_t)x;
	*end = e;
	return 0;
}

int lt_analysis_loop_top(struct lt_analysis *a, const char *spec)
{
	const char *plus = spec ? strrchr(spec, '+') : NULL;
	const char *e;
	uint64_t lo, hi;

	if (!plus || plus == spec || parse_hex(plus + 1, &e, &lo))
		return -1;
	hi = lo + 1;
	if (*e == '-' && (parse_hex(e + 1, &e, &hi) || hi <= lo))
		return -1;
	if (*e)
		return -1;
	struct lt_looptop *L = lt_get(a);
	if (!L)
		return -1;
	int32_t k = lt__vec_push(L->specs);
	if (k < 0)
		return -1;
	struct spec *s = &L->specs.v[k];
	s->text = lt__dup_name(spec);
	s->obj = malloc((size_t)(plus - spec) + 1);
	if (!s->text || !s->obj) {
		free(s->text);
		free(s->obj);
		L->specs.n--;
		return -1;
	}
	memcpy(s->obj, spec, (size_t)(plus - spec));
	s->obj[plus - spec] = '\0';
	s->lo = lo;
	s->hi = hi;
	return 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/*
 * spec_match - whether call site `where` of process vpid is a given loop top: 1 (*spec set),
 * 0, or -1 when no loaded object holds it (yet).
 */
static int spec_match(const struct lt_analysis *a, int64_t vpid, uint64_t where, const char **spec)
{
	const struct lt_looptop *L = a->looptop;
	int found = 0;

	if (!L || !L->specs.n || !where)
		return 0;
	for (uint32_t i = 0; i < a->objects.n; i++) {
		const struct lt_object *o = &a->objects.v[i];
		if (o->vpid != vpid || where <= o->baddr || where - o->baddr > o->memsz)
			continue;
		found = 1;
		uint64_t off = where - 1 - (o->is_pic ? o->baddr : 0);
		for (uint32_t k = 0; k < L->specs.n; k++) {
			const struct spec *s = &L->specs.v[k];
			if (off < s->lo || off >= s->hi)
				continue;
			if (strcmp(s->obj, o->path) == 0 ||
			    strcmp(s->obj, base_name(o->path)) == 0) {
				*spec = s->text;
				return 1;
			}
		}
	}
	return found ? 0 : -1;
}

/* ---------------------------------------------------------------------------------------- */
/* the loop of one thread */

static struct loop *loop_of(struct lt_analysis *a, int32_t ti)
{
	struct lt_thread *t = &a->threads.v[ti];
	struct lt_looptop *L;

	if (t->loop)
		return &a->looptop->loops.v[t->loop - 1];
	L = lt_get(a);
	if (!L)
		return NULL;
	int32_t k = lt__vec_push(L->loops);
	if (k < 0)
		return NULL;
	struct loop *l = &L->loops.v[k];
	l->ti = ti;
	l->comp = -1;
	l->open_cand = -1;
	t->loop = (uint32_t)k + 1;
	return l;
}

static uint32_t loop_index(const struct lt_analysis *a, const struct loop *l)
{
	return (uint32_t)(l - a->looptop->loops.v);
}

/* feed_kind - feeds a wait/handle step made for thread l->ti at ts (message 0: no message). */
static void feed_kind(struct lt_analysis *a, const struct loop *l, enum lt_ev_kind kind, int64_t ts)
{
	const struct lt_thread *t = &a->threads.v[l->ti];
	struct lt_event x;

	memset(&x, 0, sizeof(x));
	x.ts_ns = ts;
	x.vpid = t->vpid;
	x.vtid = t->vtid;
	x.kind = kind;
	lt__feed_thread(a, l->ti, &x, ts);
}

/* is_top - whether a block_begin at depth 0 is a wait at the thread's loop top. */
static int is_top(const struct lt_analysis *a, struct loop *l, const struct lt_event *ev)
{
	const char *spec = NULL;

	if (l->how == HOW_DETECTED)
		return ev->where == l->where && ev->call == l->call;
	for (uint32_t i = 0; i < l->ncands; i++) {
		struct cand *c = &l->cands[i];
		if (c->where == ev->where && c->call == ev->call && c->given >= 0)
			return c->given;
	}
	return spec_match(a, a->threads.v[l->ti].vpid, ev->where, &spec) == 1;
}

/*
 * step - one interposer block event of a thread whose loop top is known (l->state LOOP_SET)
 * or known to have none (LOOP_NONE, or held events flushed while still looking).
 */
static void step(struct lt_analysis *a, struct loop *l, const struct lt_event *ev, int64_t ts)
{
	struct lt_thread *t = &a->threads.v[l->ti];

	if (ev->kind == LT_EV_BLOCK_BEGIN) {
		if (l->state == LOOP_SET && l->depth == 0 && is_top(a, l, ev)) {
			l->top_open = 1;
			l->depth = 1;
			l->waits++;
			if (t->in_handler)
				feed_kind(a, l, LT_EV_HANDLE_END, ts); /* an iteration ends */
			feed_kind(a, l, LT_EV_WAIT_BEGIN, ts);
			return;
		}
		l->depth++;
	} else if (ev->kind == LT_EV_BLOCK_END) {
		if (l->depth > 0)
			l->depth--;
		if (l->depth == 0 && l->top_open) {
			l->top_open = 0;
			feed_kind(a, l, LT_EV_WAIT_END, ts);
			feed_kind(a, l, LT_EV_HANDLE_BEGIN, ts); /* the next iteration */
			return;
		}
	}
	lt__feed_thread(a, l->ti, ev, ts);
}

/* replay - feeds the held events through step(), in order, and forgets them. */
static void replay(struct lt_analysis *a, struct loop *l)
{
	const struct lt_thread *t = &a->threads.v[l->ti];
	struct lt_event x;

	for (uint32_t i = 0; i < l->nheld; i++) {
		const struct held *h = &l->held[i];
		memset(&x, 0, sizeof(x));
		x.ts_ns = h->ts;
		x.vpid = t->vpid;
		x.vtid = t->vtid;
		x.kind = h->begin ? LT_EV_BLOCK_BEGIN : LT_EV_BLOCK_END;
		x.reason = h->reason;
		x.object = h->object;
		x.where = h->where;
		x.call = h->call;
		x.preload = 1;
		step(a, l, &x, h->ts);
		t = &a->threads.v[l->ti];
	}
	l->nheld = 0;
}

/*
 * best_cand - the candidate of the highest class, most waits, most time; -1 when none. A site
 * needs LT_LOOP_MIN waits (one wait is no loop), except at the end (`final`) for a wait for
 * work (class 3 or 4): a worker or event loop that waited once, for the whole trace, is idle.
 */
static int32_t best_cand(const struct loop *l, int final)
{
	int32_t best = -1;
	unsigned bc = 0;

	for (uint32_t i = 0; i < l->ncands; i++) {
		const struct cand *c = &l->cands[i];
		unsigned k = call_class(c->call, c->reason);
		if (!k || (c->count < LT_LOOP_MIN && !(final && k >= 3 && c->count)))
			continue; /* never a loop top, or not (yet) a loop */
		if (best >= 0) {
			const struct cand *b = &l->cands[best];
			if (k < bc || (k == bc && (c->count < b->count ||
						   (c->count == b->count && c->ns <= b->ns))))
				continue;
		}
		best = (int32_t)i;
		bc = k;
	}
	return best;
}

/*
 * decide - the loop top of thread l: candidate ci (how: HOW_GIVEN or HOW_DETECTED), or none
 * (ci < 0). Then the held events are replayed.
 */
static void decide(struct lt_analysis *a, struct loop *l, int32_t ci, int how)
{
	if (ci >= 0) {
		const struct cand *c = &l->cands[ci];
		l->state = LOOP_SET;
		l->how = how;
		l->where = c->where;
		l->call = c->call;
		l->reason = c->reason;
		l->comp = a->threads.v[l->ti].comp;
		if (l->comp >= 0)
			a->comps.v[l->comp].loop = loop_index(a, l) + 1;
	} else {
		l->state = LOOP_NONE;
	}
	replay(a, l);
	free(l->held);
	l->held = NULL;
}

/* cand_of - the candidate for a depth-0 wait of ev, created if new; -1 when the table is full. */
static int32_t cand_of(struct lt_analysis *a, struct loop *l, const struct lt_event *ev)
{
	for (uint32_t i = 0; i < l->ncands; i++) {
		struct cand *c = &l->cands[i];
		if (c->where == ev->where && c->call == ev->call && c->reason == ev->reason) {
			if (c->given < 0)
				c->given = spec_match(a, ev->vpid, ev->where, &l->spec);
			return (int32_t)i;
		}
	}
	if (l->ncands == LT_LOOP_CANDS)
		return -1;
	struct cand *c = &l->cands[l->ncands];
	memset(c, 0, sizeof(*c));
	c->where = ev->where;
	c->call = ev->call;
	c->reason = ev->reason;
	c->given = spec_match(a, ev->vpid, ev->where, &l->spec);
	return (int32_t)l->ncands++;
}

/* hold - an interposer block event of a thread still looking for its loop top. */
static void hold(struct lt_analysis *a, struct loop *l, const struct lt_event *ev, int64_t ts)
{
	int32_t ci = -1;

	if (!l->held) {
		l->held = malloc(LT_LOOP_HOLD * sizeof(*l->held));
		if (!l->held) {
			lt__oom(a);
			decide(a, l, best_cand(l, 0), HOW_DETECTED);
			step(a, l, ev, ts);
			return;
		}
	}
	if (ev->kind == LT_EV_BLOCK_BEGIN) {
		if (l->ldepth++ == 0) {
			ci = cand_of(a, l, ev);
			l->open_cand = ci;
			l->open_ts = ts;
			if (ci >= 0)
				l->cands[ci].count++;
		}
	} else if (l->ldepth > 0 && --l->ldepth == 0 && l->open_cand >= 0) {
		l->cands[l->open_cand].ns += (uint64_t)(ts - l->open_ts);
		l->open_cand = -1;
	}
	struct held *h = &l->held[l->nheld++];
	h->ts = ts;
	h->begin = ev->kind == LT_EV_BLOCK_BEGIN;
	h->reason = ev->reason;
	h->object = ev->object;
	h->where = ev->where;
	h->call = ev->call;
	if (ci >= 0 && l->cands[ci].given == 1) {
		decide(a, l, ci, HOW_GIVEN); /* the user named it: no need to look further */
		return;
	}
	if (l->nheld == LT_LOOP_HOLD) {
		int32_t b = best_cand(l, 0);
		if (b >= 0) {
			decide(a, l, b, HOW_DETECTED);
		} else {
			replay(a, l); /* no candidate yet: these waits are outside any loop */
		}
	}
}

int lt__looptop_feed(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts)
{
	struct lt_thread *t = &a->threads.v[ti];

	if (ev->kind != LT_EV_BLOCK_BEGIN && ev->kind != LT_EV_BLOCK_END &&
	    ev->kind != LT_EV_COMPONENT_END)
		return 0;
	if (t->comp < 0 || !a->comps.v[t->comp].preload)
		return 0; /* outside any component, or the program's own (API) component */
	struct loop *l = loop_of(a, ti);
	if (!l) {
		lt__oom(a);
		return 0;
	}
	if (ev->kind == LT_EV_COMPONENT_END) {
		if (l->state == LOOP_LEARN)
			decide(a, l, best_cand(l, 1), HOW_DETECTED);
		t = &a->threads.v[ti];
		/* the thread ends inside an iteration: not a message, not a handler cut short */
		t->in_handler = 0;
		t->handle_partial = 0;
		l->depth = 0;
		l->top_open = 0;
		return 0;
	}
	if (l->state == LOOP_LEARN) {
		hold(a, l, ev, ts);
		return 1;
	}
	step(a, l, ev, ts);
	return 1;
}

void lt_analysis_settle(struct lt_analysis *a, int final)
{
	struct lt_looptop *L = a->looptop;

	if (!L)
		return;
	for (uint32_t i = 0; i < L->loops.n; i++) {
		struct loop *l = &L->loops.v[i];
		if (l->state != LOOP_LEARN)
			continue;
		int32_t b = best_cand(l, final);
		if (b >= 0 || final)
			decide(a, l, b, HOW_DETECTED);
	}
}

void lt__looptop_free(struct lt_analysis *a)
{
	struct lt_looptop *L = a->looptop;

	if (!L)
		return;
	for (uint32_t i = 0; i < L->loops.n; i++)
		free(L->loops.v[i].held);
	for (uint32_t i = 0; i < L->specs.n; i++) {
		free(L->specs.v[i].text);
		free(L->specs.v[i].obj);
	}
	free(L->loops.v);
	free(L->specs.v);
	free(L);
	a->looptop = NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* CPU time */

void lt__cpu_note(struct lt_analysis *a, struct lt_thread *t, const struct lt_event *ev)
{
	if (!ev->cpu_ns)
		return;
	if (t->comp >= 0 && t->cpu_comp1 == t->comp + 1 && t->cpu_last) {
		struct lt_an_comp *c = &a->comps.v[t->comp];
		if (ev->cpu_ns > t->cpu_last)
			c->cpu_ns += ev->cpu_ns - t->cpu_last;
		c->cpu_known = 1;
	}
	t->cpu_last = ev->cpu_ns;
}

/* ---------------------------------------------------------------------------------------- */
/* report */

void lt__looptop_write_comp(FILE *f, const struct lt_analysis *a, const struct lt_an_comp *c)
{
	if (c->cpu_known)
		fprintf(f, ", \"cpu_ns\": %" PRIu64, c->cpu_ns);
	else
		fputs(", \"cpu_ns\": null", f);
	fputs(", \"loop_top\": ", f);
	if (!c->loop || !a->looptop) {
		fputs("null", f);
		return;
	}
	const struct loop *l = &a->looptop->loops.v[c->loop - 1];
	const char *call = lt__call_name(l->call);
	fprintf(f, "{\"how\": \"%s\", \"call\": ", l->how == HOW_GIVEN ? "given" : "detected");
	if (call)
		fprintf(f, "\"%s\"", call);
	else
		fputs("null", f);
	fprintf(f,
		", \"reason\": \"%s\", \"where\": \"0x%" PRIx64 "\", \"site\": \"0x%" PRIx64
		"\", \"waits\": %" PRIu64,
		lt__reason_name(l->reason), l->where, l->where, l->waits);
	if (l->how == HOW_GIVEN && l->spec) {
		fputs(", \"given\": ", f);
		lt_json_write_string(f, l->spec, strlen(l->spec));
	}
	fputc('}', f);
}
