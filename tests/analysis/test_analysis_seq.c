/*
 * test_analysis_seq.c - sequences on pools (docs/analysis.md, "Sequences and pools") fed as
 * synthetic events whose answers follow from the constructed times: two saturated sequences
 * sharing a one-thread pool, an await while another sequence runs on the same worker, a
 * ready that comes while the sequence runs, a blocking call that holds the worker, spawned
 * tasks aggregated by name (and their memory bounded by the tasks alive).
 */
#include "lt_test.h"
#include "internal.h"
#include "view.h"
#include "json_check.h"

#include <stdlib.h>

#define PID    100
#define MAIN   1  /* declares pools and sequences */
#define WORKER 10 /* the pool's one worker thread */
#define SENDER 20 /* makes sequences ready */
#define POOL   1
#define SEQ_A  11
#define SEQ_B  12

#define FEED(a, ts_, tid_, kind_, ...)                                                             \
	do {                                                                                       \
		struct lt_event e_ = {                                                             \
		    .ts_ns = (ts_), .vpid = PID, .vtid = (tid_), .kind = (kind_), __VA_ARGS__};    \
		LT_ASSERT_EQ_I(lt_analysis_feed((a), &e_), 0);                                     \
	} while (0)

static char *report(const struct lt_analysis *a)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	LT_ASSERT(f != NULL);
	LT_ASSERT_EQ_I(lt_analysis_write_json(a, f), 0);
	fclose(f);
	size_t bad = json_check(buf, len);
	if (bad)
		lt_test_fail(__FILE__, __LINE__, "invalid JSON at offset %zu", bad - 1);
	return buf;
}

static void expect_in(const char *json, const char *needle)
{
	if (!strstr(json, needle))
		lt_test_fail(__FILE__, __LINE__, "report lacks %s\n%s", needle, json);
}

static int32_t comp_named(const struct lt_analysis *a, const char *name)
{
	for (uint32_t i = 0; i < a->comps.n; i++)
		if (strcmp(a->comps.v[i].name, name) == 0)
			return (int32_t)i;
	lt_test_fail(__FILE__, __LINE__, "component %s not found", name);
}

/* expect_seq - component ci's times, each category and its wall: the identity is checked too. */
static void expect_seq(const struct lt_analysis *a, int32_t ci, uint64_t busy, uint64_t idle,
		       uint64_t bih, uint64_t runnable, uint64_t wall)
{
	uint64_t t[LT_T_COUNT], w, sum = 0;
	lt__comp_effective(a, (uint32_t)ci, t, &w);
	LT_ASSERT_EQ_U(t[LT_T_BUSY], busy);
	LT_ASSERT_EQ_U(t[LT_T_IDLE], idle);
	LT_ASSERT_EQ_U(t[LT_T_BIH], bih);
	LT_ASSERT_EQ_U(t[LT_T_BO], 0);
	LT_ASSERT_EQ_U(t[LT_T_OUTSIDE], 0);
	LT_ASSERT_EQ_U(t[LT_T_RUNNABLE], runnable);
	LT_ASSERT_EQ_U(w, wall);
	for (int k = 0; k < LT_T_COUNT; k++)
		sum += t[k];
	LT_ASSERT_EQ_U(sum, w);
}

static void expect_pool(const struct lt_analysis *a, uint64_t busy, uint64_t idle, uint64_t blocked)
{
	uint64_t t[LT_W_COUNT];
	LT_ASSERT_EQ_U(a->pools.n, 1);
	lt__pool_view(a, 0, lt__report_now(a), t);
	LT_ASSERT_EQ_U(t[LT_W_BUSY], busy);
	LT_ASSERT_EQ_U(t[LT_W_IDLE], idle);
	LT_ASSERT_EQ_U(t[LT_W_BLOCKED], blocked);
}

/* has_finding - whether component ci has a finding of `code`; its value in *value. */
static int has_finding(const struct lt_analysis *a, int32_t ci, enum lt_finding_code code,
		       double *value, enum lt_severity *sev)
{
	struct lt_comp_view v;
	struct lt_finding f[LT_FINDINGS_MAX];
	lt__comp_view(a, &a->comps.v[ci], lt__report_now(a), &v);
	uint32_t n = lt__comp_findings(a, &a->comps.v[ci], &v, NULL, 0, f);
	for (uint32_t k = 0; k < n; k++)
		if (f[k].code == code) {
			if (value)
				*value = f[k].value.d;
			if (sev)
				*sev = f[k].severity;
			return 1;
		}
	return 0;
}

/* start - a pool of one worker (from 0) and sequences A and B, idle from 0. */
static struct lt_analysis *start(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	LT_ASSERT(a != NULL);
	FEED(a, 0, MAIN, LT_EV_POOL_DECLARE, .pool = POOL, .name = "pool-x", .threads = 1);
	FEED(a, 0, WORKER, LT_EV_POOL_WORKER_BEGIN, .pool = POOL);
	FEED(a, 0, MAIN, LT_EV_SEQ_BEGIN, .comp = SEQ_A, .name = "A", .pool = POOL);
	FEED(a, 0, MAIN, LT_EV_SEQ_BEGIN, .comp = SEQ_B, .name = "B", .pool = POOL);
	return a;
}

/* slice - the worker runs sequence comp over [b, e): one message handled. */
static void slice(struct lt_analysis *a, uint32_t comp, uint64_t msg, int64_t b, int64_t e)
{
	FEED(a, b, WORKER, LT_EV_SEQ_RUN_BEGIN, .comp = comp);
	FEED(a, b, WORKER, LT_EV_HANDLE_BEGIN, .msg = msg, .name = "work");
	FEED(a, e, WORKER, LT_EV_HANDLE_END, .msg = msg);
	FEED(a, e, WORKER, LT_EV_SEQ_RUN_END, .comp = comp);
}

/*
 * Two sequences that always have work share one worker: each runs 500 ns slices in turn and
 * is ready again at once (a fairness yield). Each is busy 1000 of 2010 ns and runnable 1000
 * (half its life, waiting for the worker the other holds), idle only its first 10 ns.
 */
static void test_two_saturated(void)
{
	struct lt_analysis *a = start();
	FEED(a, 10, SENDER, LT_EV_SEQ_READY, .comp = SEQ_A);
	FEED(a, 10, SENDER, LT_EV_SEQ_READY, .comp = SEQ_B);
	slice(a, SEQ_A, 1, 10, 510);
	FEED(a, 510, WORKER, LT_EV_SEQ_READY, .comp = SEQ_A);
	slice(a, SEQ_B, 2, 510, 1010);
	FEED(a, 1010, WORKER, LT_EV_SEQ_READY, .comp = SEQ_B);
	slice(a, SEQ_A, 3, 1010, 1510);
	FEED(a, 1510, WORKER, LT_EV_SEQ_READY, .comp = SEQ_A);
	slice(a, SEQ_B, 4, 1510, 2010);
	FEED(a, 2010, MAIN, LT_EV_SEQ_END, .comp = SEQ_A);
	FEED(a, 2010, MAIN, LT_EV_SEQ_END, .comp = SEQ_B);
	FEED(a, 2010, WORKER, LT_EV_POOL_WORKER_END, .pool = POOL);

	int32_t ca = comp_named(a, "A"), cb = comp_named(a, "B");
	expect_seq(a, ca, 1000, 10, 0, 1000, 2010);
	expect_seq(a, cb, 1000, 10, 0, 1000, 2010);
	LT_ASSERT_EQ_U(a->comps.v[ca].messages, 2);
	LT_ASSERT_EQ_U(a->comps.v[cb].messages, 2);
	LT_ASSERT_EQ_U(a->comps.v[ca].runs, 2);
	LT_ASSERT_EQ_U(a->comps.v[cb].runs, 2);
	LT_ASSERT_EQ_U(a->pools.v[0].runs, 4);
	LT_ASSERT_EQ_U(a->comps.n, 2); /* the worker is no component */
	expect_pool(a, 2000, 10, 0);
	/* never idle: saturated, although busy only half the time */
	LT_ASSERT(has_finding(a, ca, LT_F_SATURATED, NULL, NULL));
	LT_ASSERT(has_finding(a, cb, LT_F_SATURATED, NULL, NULL));
	LT_ASSERT(!has_finding(a, ca, LT_F_HOLDS_POOL_THREAD, NULL, NULL));
	char *j = report(a);
	expect_in(j, "\"time_ns\": {\"busy\": 1000, \"idle\": 10, \"blocked_in_handler\": 0, "
		     "\"blocked_outside\": 0, \"outside\": 0, \"runnable\": 1000}");
	expect_in(j, "\"pool\": \"pool-x\", \"sequence\": true, \"task\": false, \"tasks\": 0, "
		     "\"runs\": 2, \"released_ns\": 0, \"held_ns\": 0");
	expect_in(j, "\"name\": \"pool-x\", \"threads\": 1, \"workers\": 1, \"busy_ns\": 2000, "
		     "\"idle_ns\": 10, \"blocked_ns\": 0");
	expect_in(j, "\"runs\": 4, \"components\": 2, \"tasks\": 0, \"runnable_ns\": 2000, "
		     "\"released_ns\": 0}");
	free(j);
	lt_analysis_destroy(a);
}

/*
 * The series' runnable column: the two saturated sequences above with 500 ns intervals. Each
 * interval holds its share of the runnable time, and they sum to time_ns.runnable; a state
 * still open when the trace ends (A ready at 2100, never run) is counted up to then.
 */
static void test_series_runnable(void)
{
	struct lt_analysis_config cfg = {0};
	cfg.series_interval_ns = 500;
	struct lt_analysis *a = lt_analysis_create(&cfg);
	LT_ASSERT(a != NULL);
	FEED(a, 0, MAIN, LT_EV_POOL_DECLARE, .pool = POOL, .name = "pool-x", .threads = 1);
	FEED(a, 0, WORKER, LT_EV_POOL_WORKER_BEGIN, .pool = POOL);
	FEED(a, 0, MAIN, LT_EV_SEQ_BEGIN, .comp = SEQ_A, .name = "A", .pool = POOL);
	FEED(a, 0, MAIN, LT_EV_SEQ_BEGIN, .comp = SEQ_B, .name = "B", .pool = POOL);
	FEED(a, 10, SENDER, LT_EV_SEQ_READY, .comp = SEQ_A);
	FEED(a, 10, SENDER, LT_EV_SEQ_READY, .comp = SEQ_B);
	slice(a, SEQ_A, 1, 10, 510);
	FEED(a, 510, WORKER, LT_EV_SEQ_READY, .comp = SEQ_A);
	slice(a, SEQ_B, 2, 510, 1010);
	FEED(a, 1010, WORKER, LT_EV_SEQ_READY, .comp = SEQ_B);
	slice(a, SEQ_A, 3, 1010, 1510); /* A's work is done: idle */
	slice(a, SEQ_B, 4, 1510, 2010);
	FEED(a, 2100, SENDER, LT_EV_SEQ_READY, .comp = SEQ_A);
	FEED(a, 2300, SENDER, LT_EV_SEQ_END, .comp = SEQ_B);

	int32_t ca = comp_named(a, "A"), cb = comp_named(a, "B");
	expect_seq(a, ca, 1000, 600, 0, 700, 2300);
	expect_seq(a, cb, 1000, 300, 0, 1000, 2300);
	char *j = report(a);
	/* A: runnable [510, 1010), then [2100, 2300) still open */
	expect_in(j, "\"series\": [{\"t_ns\": 0, \"messages\": 0, \"busy_ns\": 490, "
		     "\"blocked_ns\": 0, \"runnable_ns\": 0}, "
		     "{\"t_ns\": 500, \"messages\": 1, \"busy_ns\": 10, \"blocked_ns\": 0, "
		     "\"runnable_ns\": 490}, "
		     "{\"t_ns\": 1000, \"messages\": 0, \"busy_ns\": 490, \"blocked_ns\": 0, "
		     "\"runnable_ns\": 10}, "
		     "{\"t_ns\": 1500, \"messages\": 1, \"busy_ns\": 10, \"blocked_ns\": 0, "
		     "\"runnable_ns\": 0}, "
		     "{\"t_ns\": 2000, \"messages\": 0, \"busy_ns\": 0, \"blocked_ns\": 0, "
		     "\"runnable_ns\": 200}]");
	/* B: runnable [10, 510), [1010, 1510) */
	expect_in(j, "\"series\": [{\"t_ns\": 0, \"messages\": 0, \"busy_ns\": 0, "
		     "\"blocked_ns\": 0, \"runnable_ns\": 490}, "
		     "{\"t_ns\": 500, \"messages\": 0, \"busy_ns\": 490, \"blocked_ns\": 0, "
		     "\"runnable_ns\": 10}, "
		     "{\"t_ns\": 1000, \"messages\": 1, \"busy_ns\": 10, \"blocked_ns\": 0, "
		     "\"runnable_ns\": 490}, "
		     "{\"t_ns\": 1500, \"messages\": 0, \"busy_ns\": 490, \"blocked_ns\": 0, "
		     "\"runnable_ns\": 10}, "
		     "{\"t_ns\": 2000, \"messages\": 1, \"busy_ns\": 10, \"blocked_ns\": 0, "
		     "\"runnable_ns\": 0}]");
	/* the closed part, bucket by bucket, sums to the runnable time (A's open 200 aside) */
	for (int32_t ci = 0; ci < (int32_t)a->comps.n; ci++) {
		uint64_t t[LT_T_COUNT], w, sum = 0, col[LT_S_COLS];
		lt__comp_effective(a, (uint32_t)ci, t, &w);
		for (uint32_t b = 0; b < a->series_cap; b++) {
			lt__series_get(a, &a->comps.v[ci], b, col);
			sum += col[LT_S_RUNNABLE];
		}
		LT_ASSERT_EQ_U(sum + (ci == ca ? 200u : 0u), t[LT_T_RUNNABLE]);
	}
	free(j);
	lt_analysis_destroy(a);
}

/*
 * A awaits a message inside its handler (blocked from 100, its worker released); B runs on
 * that same worker [100, 400) during the await; the message comes at 500 (A runnable), a
 * worker resumes A at 600 and its handler ends at 700.
 */
static void test_await_releases_worker(void)
{
	struct lt_analysis *a = start();
	FEED(a, 0, SENDER, LT_EV_SEQ_READY, .comp = SEQ_A);
	FEED(a, 0, WORKER, LT_EV_SEQ_RUN_BEGIN, .comp = SEQ_A);
	FEED(a, 0, WORKER, LT_EV_HANDLE_BEGIN, .msg = 1, .name = "input");
	FEED(a, 100, WORKER, LT_EV_BLOCK_BEGIN, .reason = 0, .object = 0xc0, .where = 0x5);
	FEED(a, 100, WORKER, LT_EV_SEQ_RUN_END, .comp = SEQ_A);
	FEED(a, 100, SENDER, LT_EV_SEQ_READY, .comp = SEQ_B);
	slice(a, SEQ_B, 2, 100, 400);
	FEED(a, 500, SENDER, LT_EV_SEQ_READY, .comp = SEQ_A);
	FEED(a, 600, WORKER, LT_EV_SEQ_RUN_BEGIN, .comp = SEQ_A);
	FEED(a, 600, WORKER, LT_EV_BLOCK_END);
	FEED(a, 700, WORKER, LT_EV_HANDLE_END, .msg = 1);
	FEED(a, 700, WORKER, LT_EV_SEQ_RUN_END, .comp = SEQ_A);
	FEED(a, 1000, MAIN, LT_EV_SEQ_END, .comp = SEQ_A);
	FEED(a, 1000, MAIN, LT_EV_SEQ_END, .comp = SEQ_B);
	FEED(a, 1000, WORKER, LT_EV_POOL_WORKER_END);

	int32_t ca = comp_named(a, "A"), cb = comp_named(a, "B");
	expect_seq(a, ca, 200, 300, 400, 100, 1000);
	expect_seq(a, cb, 300, 700, 0, 0, 1000);
	LT_ASSERT_EQ_U(a->comps.v[ca].released_ns, 400);
	LT_ASSERT_EQ_U(a->comps.v[ca].held_ns, 0);
	LT_ASSERT_EQ_U(a->comps.v[ca].messages, 1);
	LT_ASSERT_EQ_U(a->comps.v[cb].messages, 1);
	LT_ASSERT_EQ_U(a->comps.v[ca].runs, 2);
	const struct lt_site *s = &a->sites.v[a->comps.v[ca].first_site];
	LT_ASSERT_EQ_U(s->reason, 0);
	LT_ASSERT_EQ_U(s->object, 0xc0);
	LT_ASSERT_EQ_U(s->where, 0x5);
	LT_ASSERT_EQ_U(s->count, 1);
	LT_ASSERT_EQ_U(s->ns, 400);
	LT_ASSERT_EQ_U(s->in_handler_ns, 400);
	LT_ASSERT_EQ_U(s->released_ns, 400);
	/* the worker ran B during A's await, and was never held */
	expect_pool(a, 500, 500, 0);
	double v = 0;
	LT_ASSERT(has_finding(a, ca, LT_F_BLOCKS_IN_HANDLER, &v, NULL));
	LT_ASSERT_EQ_DBL(v, 400.0 / 600.0, 1e-9);
	LT_ASSERT(!has_finding(a, ca, LT_F_HOLDS_POOL_THREAD, NULL, NULL));
	char *j = report(a);
	expect_in(j, "\"ns\": 400, \"count\": 1, \"in_handler_ns\": 400, \"released_ns\": 400}");
	expect_in(j, "awaiting with its thread released");
	free(j);
	lt_analysis_destroy(a);
}

/* A ready that comes while A runs makes A runnable, not idle, when that run ends. */
static void test_ready_while_running(void)
{
	struct lt_analysis *a = start();
	FEED(a, 0, SENDER, LT_EV_SEQ_READY, .comp = SEQ_A);
	FEED(a, 0, WORKER, LT_EV_SEQ_RUN_BEGIN, .comp = SEQ_A);
	FEED(a, 0, WORKER, LT_EV_HANDLE_BEGIN, .msg = 1, .name = "work");
	FEED(a, 200, SENDER, LT_EV_SEQ_READY, .comp = SEQ_A);
	FEED(a, 300, WORKER, LT_EV_HANDLE_END, .msg = 1);
	FEED(a, 300, WORKER, LT_EV_SEQ_RUN_END, .comp = SEQ_A);
	slice(a, SEQ_A, 2, 350, 450);
	FEED(a, 500, MAIN, LT_EV_SEQ_END, .comp = SEQ_A);
	int32_t ca = comp_named(a, "A");
	expect_seq(a, ca, 400, 50, 0, 50, 500);
	LT_ASSERT_EQ_U(a->comps.v[ca].messages, 2);
	lt_analysis_destroy(a);
}

/*
 * A blocks on a mutex inside its handler, in its run: the worker is held [100, 400) and B,
 * ready from 0, waits runnable until A's run ends at 500.
 */
static void test_held_worker(void)
{
	struct lt_analysis *a = start();
	FEED(a, 0, SENDER, LT_EV_SEQ_READY, .comp = SEQ_A);
	FEED(a, 0, SENDER, LT_EV_SEQ_READY, .comp = SEQ_B);
	FEED(a, 0, WORKER, LT_EV_SEQ_RUN_BEGIN, .comp = SEQ_A);
	FEED(a, 0, WORKER, LT_EV_HANDLE_BEGIN, .msg = 1, .name = "work");
	FEED(a, 100, WORKER, LT_EV_BLOCK_BEGIN, .reason = 2, .object = 0xa0, .where = 0x7);
	FEED(a, 400, WORKER, LT_EV_BLOCK_END);
	FEED(a, 500, WORKER, LT_EV_HANDLE_END, .msg = 1);
	FEED(a, 500, WORKER, LT_EV_SEQ_RUN_END, .comp = SEQ_A);
	slice(a, SEQ_B, 2, 500, 600);
	FEED(a, 600, MAIN, LT_EV_SEQ_END, .comp = SEQ_A);
	FEED(a, 600, MAIN, LT_EV_SEQ_END, .comp = SEQ_B);
	FEED(a, 600, WORKER, LT_EV_POOL_WORKER_END);

	int32_t ca = comp_named(a, "A"), cb = comp_named(a, "B");
	expect_seq(a, ca, 200, 100, 300, 0, 600);
	expect_seq(a, cb, 100, 0, 0, 500, 600);
	LT_ASSERT_EQ_U(a->comps.v[ca].held_ns, 300);
	LT_ASSERT_EQ_U(a->comps.v[ca].released_ns, 0);
	expect_pool(a, 300, 0, 300);
	double v = 0;
	enum lt_severity sev = LT_SEV_INFO;
	LT_ASSERT(has_finding(a, ca, LT_F_HOLDS_POOL_THREAD, &v, &sev));
	LT_ASSERT_EQ_DBL(v, 0.5, 1e-9);
	LT_ASSERT_EQ_I(sev, LT_SEV_BAD);
	LT_ASSERT(!has_finding(a, cb, LT_F_HOLDS_POOL_THREAD, NULL, NULL));
	char *j = report(a);
	expect_in(j, "\"kind\": \"holds-pool-thread\"");
	expect_in(j, "holding a thread of pool-x");
	expect_in(j, "\"busy_ns\": 300, \"idle_ns\": 0, \"blocked_ns\": 300");
	free(j);
	lt_analysis_destroy(a);
}

/* task - a task `comp` named fetch: begun and ready at b, run [rb, re) handling one message. */
static void task(struct lt_analysis *a, uint32_t comp, int64_t b, int64_t rb, int64_t re)
{
	FEED(a, b, MAIN, LT_EV_SEQ_BEGIN, .comp = comp, .name = "fetch", .pool = POOL, .flags = 1);
	FEED(a, b, MAIN, LT_EV_SEQ_READY, .comp = comp);
	FEED(a, rb, WORKER, LT_EV_SEQ_RUN_BEGIN, .comp = comp);
	FEED(a, rb, WORKER, LT_EV_HANDLE_BEGIN, .msg = 0, .name = "fetch");
	FEED(a, re, WORKER, LT_EV_HANDLE_END, .msg = 0);
	FEED(a, re, WORKER, LT_EV_SEQ_END, .comp = comp);
	FEED(a, re, WORKER, LT_EV_SEQ_RUN_END, .comp = comp);
}

/*
 * Spawned tasks of one name are one component row: their times add up (wall = the sum of
 * the tasks' lives), the row counts them, and the state of each is freed when it ends.
 */
static void test_tasks(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 0, MAIN, LT_EV_POOL_DECLARE, .pool = POOL, .name = "io", .threads = 1);
	FEED(a, 0, WORKER, LT_EV_POOL_WORKER_BEGIN, .pool = POOL);
	/* t1: [0, 100) busy; it ends inside its run, which ends at 110 */
	FEED(a, 0, MAIN, LT_EV_SEQ_BEGIN, .comp = 21, .name = "fetch", .pool = POOL, .flags = 1);
	FEED(a, 0, MAIN, LT_EV_SEQ_READY, .comp = 21);
	FEED(a, 0, WORKER, LT_EV_SEQ_RUN_BEGIN, .comp = 21);
	FEED(a, 0, WORKER, LT_EV_HANDLE_BEGIN, .msg = 0, .name = "fetch");
	/* t2 spawned while t1 runs: runnable [50, 110) */
	FEED(a, 50, MAIN, LT_EV_SEQ_BEGIN, .comp = 22, .name = "fetch", .pool = POOL, .flags = 1);
	FEED(a, 50, MAIN, LT_EV_SEQ_READY, .comp = 22);
	FEED(a, 100, WORKER, LT_EV_HANDLE_END, .msg = 0);
	FEED(a, 100, WORKER, LT_EV_SEQ_END, .comp = 21);
	FEED(a, 110, WORKER, LT_EV_SEQ_RUN_END, .comp = 21);
	FEED(a, 110, WORKER, LT_EV_SEQ_RUN_BEGIN, .comp = 22);
	FEED(a, 110, WORKER, LT_EV_HANDLE_BEGIN, .msg = 0, .name = "fetch");
	FEED(a, 210, WORKER, LT_EV_HANDLE_END, .msg = 0);
	FEED(a, 210, WORKER, LT_EV_SEQ_END, .comp = 22);
	FEED(a, 210, WORKER, LT_EV_SEQ_RUN_END, .comp = 22);
	/* t3 awaits its response [350, 450), runnable [450, 500) */
	FEED(a, 300, MAIN, LT_EV_SEQ_BEGIN, .comp = 23, .name = "fetch", .pool = POOL, .flags = 1);
	FEED(a, 300, MAIN, LT_EV_SEQ_READY, .comp = 23);
	FEED(a, 300, WORKER, LT_EV_SEQ_RUN_BEGIN, .comp = 23);
	FEED(a, 300, WORKER, LT_EV_HANDLE_BEGIN, .msg = 0, .name = "fetch");
	FEED(a, 350, WORKER, LT_EV_BLOCK_BEGIN, .reason = 0, .object = 0xc1);
	FEED(a, 350, WORKER, LT_EV_SEQ_RUN_END, .comp = 23);
	FEED(a, 450, SENDER, LT_EV_SEQ_READY, .comp = 23);
	FEED(a, 500, WORKER, LT_EV_SEQ_RUN_BEGIN, .comp = 23);
	FEED(a, 500, WORKER, LT_EV_BLOCK_END);
	FEED(a, 550, WORKER, LT_EV_HANDLE_END, .msg = 0);
	FEED(a, 550, WORKER, LT_EV_SEQ_END, .comp = 23);
	FEED(a, 560, WORKER, LT_EV_SEQ_RUN_END, .comp = 23);

	LT_ASSERT_EQ_U(a->comps.n, 1);
	int32_t ci = comp_named(a, "fetch");
	const struct lt_an_comp *c = &a->comps.v[ci];
	expect_seq(a, ci, 300, 0, 100, 110, 510);
	LT_ASSERT(c->task && c->ended);
	LT_ASSERT_EQ_U(c->tasks, 3);
	LT_ASSERT_EQ_U(c->live, 0);
	LT_ASSERT_EQ_U(c->messages, 3);
	LT_ASSERT_EQ_U(c->released_ns, 100);
	/* worker: runs [0, 210) (t1's run lasts to 110), [300, 350), [500, 560) */
	expect_pool(a, 320, 240, 0);
	char *j = report(a);
	expect_in(j, "\"pool\": \"io\", \"sequence\": true, \"task\": true, \"tasks\": 3");
	expect_in(j, "\"key\": \"100:21\", \"name\": \"fetch\"");
	/* 3 tasks over the span they cover, [0, 550): not over their summed lives (510 ns) */
	expect_in(j, "\"messages\": 3, \"throughput_per_s\": 5454545.45,");
	free(j);

	/* a thousand more, one after the other: one virtual thread serves them all */
	uint32_t threads = a->threads.n;
	for (uint32_t k = 0; k < 1000; k++) {
		int64_t t0 = 1000 + 100 * (int64_t)k;
		task(a, 100 + k, t0, t0 + 10, t0 + 50);
	}
	LT_ASSERT_EQ_U(a->threads.n, threads);
	c = &a->comps.v[ci];
	LT_ASSERT_EQ_U(c->tasks, 1003);
	LT_ASSERT_EQ_U(c->messages, 1003);
	expect_seq(a, ci, 300 + 1000 * 40, 0, 100, 110 + 1000 * 10, 510 + 1000 * 50);
	lt_analysis_destroy(a);
}

/* A live task is in the report up to the latest event (its open interval), identity kept. */
static void test_task_open(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 0, WORKER, LT_EV_POOL_WORKER_BEGIN, .pool = POOL);
	FEED(a, 0, MAIN, LT_EV_SEQ_BEGIN, .comp = 31, .name = "t", .pool = POOL, .flags = 1);
	FEED(a, 0, MAIN, LT_EV_SEQ_READY, .comp = 31);
	FEED(a, 40, MAIN, LT_EV_SEQ_BEGIN, .comp = 32, .name = "t", .pool = POOL, .flags = 1);
	FEED(a, 40, MAIN, LT_EV_SEQ_READY, .comp = 32);
	FEED(a, 60, WORKER, LT_EV_SEQ_RUN_BEGIN, .comp = 31);
	FEED(a, 60, WORKER, LT_EV_HANDLE_BEGIN, .msg = 0, .name = "t");
	FEED(a, 100, SENDER, LT_EV_SEND, .chan = 1, .msg = 5);
	int32_t ci = comp_named(a, "t");
	/* 31: runnable [0, 60), busy [60, 100); 32: runnable [40, 100) */
	expect_seq(a, ci, 40, 0, 0, 120, 160);
	LT_ASSERT_EQ_U(a->comps.v[ci].live, 2);
	lt_analysis_destroy(a);
}

int main(void)
{
	LT_RUN(test_two_saturated);
	LT_RUN(test_series_runnable);
	LT_RUN(test_await_releases_worker);
	LT_RUN(test_ready_while_running);
	LT_RUN(test_held_worker);
	LT_RUN(test_tasks);
	LT_RUN(test_task_open);
	return 0;
}
