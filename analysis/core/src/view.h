/*
 * view.h - the report as values: what report.c prints, computed from the analysis state up to
 * a time `now` (closed intervals plus the open one) without changing it.
 *
 * Every decision the report shows is made here, once: the findings of each component and
 * the warnings (findings.c), with their thresholds; the effective times, blocking sites and
 * series of a component (view.c). The JSON writer only prints these values, and the Python
 * renderers only render the JSON (docs/reports.md, "Findings").
 */
#ifndef LT_ANALYSIS_VIEW_H
#define LT_ANALYSIS_VIEW_H

#include "internal.h"

#include <stddef.h>

#pragma GCC visibility push(hidden)

/* lt__report_now - the time a report is written at: the latest event, or the end bound. */
int64_t lt__report_now(const struct lt_analysis *a);

/* A component's figures at `now`: the closed part plus its open interval. */
struct lt_comp_view {
	uint64_t time[LT_T_COUNT];
	uint64_t wall;
	uint64_t released; /* a sequence's blocked time with no worker held (an await), ns */
	uint64_t held;     /* a sequence's blocked time holding its worker, ns */
	int64_t begin, end;
	const struct lt_thread *t; /* bound thread or NULL (a task aggregate: NULL) */
};

void lt__comp_view(const struct lt_analysis *a, const struct lt_an_comp *c, int64_t now,
		   struct lt_comp_view *v);

/* lt__busy_sum - the busy time of every component at `now`, summed (ns). */
uint64_t lt__busy_sum(const struct lt_analysis *a, int64_t now);

/* One blocking site of a component with its time at `now`. */
struct lt_site_ref {
	int32_t si;             /* index in a->sites */
	uint64_t ns;            /* blocked time */
	uint64_t in_handler_ns; /* the part inside handlers */
	uint64_t released_ns;   /* the part a sequence awaited with its worker released */
};

/* Growable arrays a writer reuses from one component to the next; free with lt__view_fini. */
struct lt_view_bufs {
	struct lt_site_ref *refs;
	size_t refs_cap;
	uint64_t (*col)[LT_S_COLS];
	size_t col_cap;
};

void lt__view_fini(struct lt_view_bufs *b);

/*
 * lt__comp_sites - component c's blocking sites at `now` into b->refs, largest ns first (ties:
 * first seen first). Returns how many, or -1 when out of memory.
 */
long lt__comp_sites(const struct lt_analysis *a, const struct lt_an_comp *c,
		    const struct lt_comp_view *v, int64_t now, struct lt_view_bufs *b);

/*
 * lt__comp_series - component c's series at `now`: the buckets overlapping its life, first
 * bucket *b0, into b->col (the open interval included). Returns how many, or -1 when out of
 * memory.
 */
long lt__comp_series(const struct lt_analysis *a, const struct lt_an_comp *c,
		     const struct lt_comp_view *v, int64_t now, struct lt_view_bufs *b,
		     uint32_t *b0);

/* A number of the report: a double (null when not finite), a signed or an unsigned integer. */
struct lt_num {
	enum { LT_NUM_DBL, LT_NUM_I64, LT_NUM_U64 } kind;
	double d;
	int64_t i;
	uint64_t u;
};

/* Findings about one component, in the order they are listed (docs/report-schema.md). */
enum lt_finding_code {
	LT_F_BLOCKS_IN_HANDLER = 0,
	LT_F_BLOCKED_OUTSIDE,
	LT_F_BLOCKED_NO_MESSAGES,
	LT_F_SATURATED,
	LT_F_CUT_SHORT,
	LT_F_HOLDS_POOL_THREAD,
	LT_F_COUNT
};

enum lt_severity { LT_SEV_INFO = 0, LT_SEV_WARN, LT_SEV_BAD };

/* lt__finding_code_name / lt__severity_name - their report spelling ("blocks-in-handler"). */
const char *lt__finding_code_name(enum lt_finding_code code);
const char *lt__severity_name(enum lt_severity sev);

#define LT_MESSAGE_MAX 256

/* One finding: what a renderer needs to say it in a sentence. Absent numbers are NAN / -1. */
struct lt_finding {
	enum lt_finding_code code;
	enum lt_severity severity;
	int warning; /* the same decision is listed in the report's warnings */
	char message[LT_MESSAGE_MAX];
	struct lt_num value; /* the figure the rule tests (as the warning's value) */
	double wall_frac;    /* the blocked time the finding is about / wall time */
	double busy_frac;    /* busy / wall time */
	double idle_frac;    /* idle / wall time */
	int32_t site;        /* index into the sorted blocked_by of its largest site, -1 none */
	double site_share;   /* that site's share of the blocking the finding is about */
};

/* At most one finding of each code. */
#define LT_FINDINGS_MAX LT_F_COUNT

/*
 * lt__comp_findings - the findings about component c (its view v and sorted sites refs[nref],
 * from lt__comp_sites; refs may be NULL, then no finding names a site) into out. Returns how
 * many.
 */
uint32_t lt__comp_findings(const struct lt_analysis *a, const struct lt_an_comp *c,
			   const struct lt_comp_view *v, const struct lt_site_ref *refs,
			   size_t nref, struct lt_finding out[LT_FINDINGS_MAX]);

/* What a warning is about. */
enum lt_subject { LT_SUBJ_NONE = 0, LT_SUBJ_COMPONENT, LT_SUBJ_CHANNEL, LT_SUBJ_ROUTE };

struct lt_warning {
	const char *kind; /* static */
	enum lt_subject subject;
	uint32_t id;      /* the component, channel or route id */
	int64_t pid;      /* LT_SUBJ_NONE: unused */
	const char *name; /* component or channel name, weak; NULL for routes */
	uint32_t owner;   /* route: owner component id */
	int aggregate;    /* route: an aggregate entry */
	char message[LT_MESSAGE_MAX];
	struct lt_num value;
};

/*
 * The report's warnings at `now`, one at a time in report order (memory stays bounded by
 * the processes with routes, not by the number of warnings):
 *
 *   struct lt_warn_iter it;
 *   struct lt_warning w;
 *   lt__warn_iter_init(&it, a, now);
 *   while (lt__warn_next(&it, &w))
 *           print(&w);
 *   lt__warn_iter_fini(&it);
 */
struct lt_warn_iter {
	const struct lt_analysis *a;
	int64_t now;
	int stage;  /* components, channels, routes, lost events, done */
	uint32_t i; /* next component, channel or route */
	struct lt_finding f[LT_FINDINGS_MAX];
	uint32_t nf, k;             /* findings of the latest component, next one to look at */
	struct lt_map per_pid;      /* routes that dispatched, per process */
	const struct lt_an_comp *c; /* the latest component */
};

void lt__warn_iter_init(struct lt_warn_iter *it, const struct lt_analysis *a, int64_t now);
int lt__warn_next(struct lt_warn_iter *it, struct lt_warning *w); /* 1: *w filled, 0: no more */
void lt__warn_iter_fini(struct lt_warn_iter *it);

#pragma GCC visibility pop

#endif /* LT_ANALYSIS_VIEW_H */
