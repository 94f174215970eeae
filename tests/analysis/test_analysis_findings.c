/*
 * test_analysis_findings.c - the findings of each component (components[].findings) on
 * synthetic components whose time split is built to sit exactly on each threshold of the
 * rules in docs/reports.md ("Findings") and one nanosecond across it:
 *   blocks-in-handler    blocked in handler > 10 % of handler time (busy + blocked in
 *                        handler); severity "bad" above 50 %, else "warn"; also a warning
 *   blocked-outside      blocked outside handlers >= 20 % of wall time, messages handled
 *   blocked-no-messages  the same, no message handled (severity "info")
 *   saturated            busy > 0, idle <= 2 % of wall, blocked < half of wall; a warning
 * Expected values come from the rule and the built split, never from the report.
 */
#include "lt_test.h"
#include "internal.h"
#include "json_check.h"

#include <stdlib.h>

#define PID 100

#define FEED(a, ts_, tid_, kind_, ...)                                                             \
	do {                                                                                       \
		struct lt_event e_ = {                                                             \
		    .ts_ns = (ts_), .vpid = PID, .vtid = (tid_), .kind = (kind_), __VA_ARGS__};    \
		LT_ASSERT_EQ_I(lt_analysis_feed((a), &e_), 0);                                     \
	} while (0)

/* The time split of a synthetic component, in the order it is fed. */
struct split {
	int64_t outside, idle, busy, bih, bo;
	int handler; /* one handler (busy, then bih blocked inside it) */
};

/*
 * feed_comp - component `id` on thread `tid` from time t: `outside`, a wait of `idle`, a
 * handler (busy then a mutex block of bih) and a sleep block of bo outside it. Returns the
 * time it ended.
 */
static int64_t feed_comp(struct lt_analysis *a, int64_t t, uint32_t id, const char *name,
			 struct split s)
{
	int64_t tid = 10 + id;
	FEED(a, t, tid, LT_EV_COMPONENT_BEGIN, .comp = id, .name = name);
	t += s.outside;
	if (s.idle) {
		FEED(a, t, tid, LT_EV_WAIT_BEGIN);
		t += s.idle;
		FEED(a, t, tid, LT_EV_WAIT_END);
	}
	if (s.handler) {
		FEED(a, t, tid, LT_EV_HANDLE_BEGIN, .msg = id);
		t += s.busy;
		if (s.bih) {
			FEED(a, t, tid, LT_EV_BLOCK_BEGIN, .reason = 2, .object = 0x10,
			     .where = 0x20);
			t += s.bih;
			FEED(a, t, tid, LT_EV_BLOCK_END);
		}
		FEED(a, t, tid, LT_EV_HANDLE_END, .msg = id);
	}
	if (s.bo) {
		FEED(a, t, tid, LT_EV_BLOCK_BEGIN, .reason = 6, .object = 0, .where = 0x30);
		t += s.bo;
		FEED(a, t, tid, LT_EV_BLOCK_END);
	}
	FEED(a, t, tid, LT_EV_COMPONENT_END, .comp = id);
	return t;
}

/* check_split - the component got the split it was built with (the ground truth). */
static void check_split(const struct lt_analysis *a, uint32_t id, struct split s)
{
	for (uint32_t i = 0; i < a->comps.n; i++) {
		if (a->comps.v[i].id != id)
			continue;
		uint64_t t[LT_T_COUNT], wall;
		lt__comp_effective(a, i, t, &wall);
		LT_ASSERT_EQ_U(t[LT_T_BUSY], (uint64_t)s.busy);
		LT_ASSERT_EQ_U(t[LT_T_IDLE], (uint64_t)s.idle);
		LT_ASSERT_EQ_U(t[LT_T_BIH], (uint64_t)s.bih);
		LT_ASSERT_EQ_U(t[LT_T_BO], (uint64_t)s.bo);
		LT_ASSERT_EQ_U(t[LT_T_OUTSIDE], (uint64_t)s.outside);
		LT_ASSERT_EQ_U(wall, (uint64_t)(s.outside + s.idle + s.busy + s.bih + s.bo));
		return;
	}
	lt_test_fail(__FILE__, __LINE__, "component %u not found", id);
}

static char *report(const struct lt_analysis *a)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	LT_ASSERT(f != NULL);
	LT_ASSERT_EQ_I(lt_analysis_write_json(a, f), 0);
	fclose(f);
	LT_ASSERT_EQ_U(json_check(buf, len), 0);
	return buf;
}

/* findings_of - the text of component `name`'s findings array (caller frees). */
static char *findings_of(const char *json, const char *name)
{
	char key[128];
	snprintf(key, sizeof(key), "\"name\": \"%s\", \"pid\"", name);
	const char *c = strstr(json, key);
	if (!c)
		lt_test_fail(__FILE__, __LINE__, "no component %s", name);
	const char *f = strstr(c, "\"findings\": [");
	LT_ASSERT(f != NULL);
	const char *end = strstr(f, "],\n");
	LT_ASSERT(end != NULL);
	return strndup(f, (size_t)(end - f + 1));
}

/* finding - the object of finding `code` in a findings array text, or NULL (caller frees). */
static char *finding(const char *findings, const char *code)
{
	char key[96];
	snprintf(key, sizeof(key), "{\"code\": \"%s\"", code);
	const char *f = strstr(findings, key);
	if (!f)
		return NULL;
	const char *end = strchr(f, '}');
	LT_ASSERT(end != NULL);
	return strndup(f, (size_t)(end - f + 1));
}

/* number - the value of `"key": ` in text (a finding object); fails when absent. */
static double number(const char *text, const char *key)
{
	char k[64];
	snprintf(k, sizeof(k), "\"%s\": ", key);
	const char *p = strstr(text, k);
	if (!p)
		lt_test_fail(__FILE__, __LINE__, "no %s in %s", key, text);
	return strtod(p + strlen(k), NULL);
}

/* expect - component `name` has finding `code` with `severity` (NULL: has no such finding). */
static void expect(const char *json, const char *name, const char *code, const char *severity)
{
	char *fs = findings_of(json, name);
	char *f = finding(fs, code);
	if (!severity) {
		if (f)
			lt_test_fail(__FILE__, __LINE__, "%s: unexpected %s", name, f);
	} else {
		char sev[64];
		snprintf(sev, sizeof(sev), "\"severity\": \"%s\"", severity);
		if (!f || !strstr(f, sev))
			lt_test_fail(__FILE__, __LINE__, "%s: want %s %s in %s", name, code,
				     severity, fs);
	}
	free(f);
	free(fs);
}

/* value - the number `key` of component `name`'s finding `code`. */
static double value(const char *json, const char *name, const char *code, const char *key)
{
	char *fs = findings_of(json, name);
	char *f = finding(fs, code);
	if (!f)
		lt_test_fail(__FILE__, __LINE__, "%s: no %s in %s", name, code, fs);
	double x = number(f, key);
	free(f);
	free(fs);
	return x;
}

/* Handler time 1000 ns (+ 1000 idle): blocked share 100/1000 is on the limit, not above. */
static void test_blocks_in_handler(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	struct split s[] = {
	    {.idle = 1000, .busy = 900, .bih = 100, .handler = 1}, /* 10.0 %: none */
	    {.idle = 1000, .busy = 899, .bih = 101, .handler = 1}, /* 10.1 %: warn */
	    {.idle = 1000, .busy = 500, .bih = 500, .handler = 1}, /* 50.0 %: warn */
	    {.idle = 1000, .busy = 499, .bih = 501, .handler = 1}, /* 50.1 %: bad */
	};
	const char *names[] = {"bih-at", "bih-above", "bad-at", "bad-above"};
	int64_t t = 0;
	for (uint32_t i = 0; i < 4; i++)
		t = feed_comp(a, t + 10, i + 1, names[i], s[i]);
	for (uint32_t i = 0; i < 4; i++)
		check_split(a, i + 1, s[i]);
	char *j = report(a);
	expect(j, "bih-at", "blocks-in-handler", NULL);
	expect(j, "bih-above", "blocks-in-handler", "warn");
	expect(j, "bad-at", "blocks-in-handler", "warn");
	expect(j, "bad-above", "blocks-in-handler", "bad");
	LT_ASSERT_EQ_DBL(value(j, "bih-above", "blocks-in-handler", "value"), 101.0 / 1000.0, 1e-9);
	LT_ASSERT_EQ_DBL(value(j, "bih-above", "blocks-in-handler", "wall_frac"), 101.0 / 2000.0,
			 1e-9);
	LT_ASSERT_EQ_DBL(value(j, "bih-above", "blocks-in-handler", "busy_frac"), 899.0 / 2000.0,
			 1e-9);
	/* its one site, the mutex: blocked_by[0], all of that blocking */
	LT_ASSERT_EQ_DBL(value(j, "bad-above", "blocks-in-handler", "site"), 0.0, 0.0);
	LT_ASSERT_EQ_DBL(value(j, "bad-above", "blocks-in-handler", "site_share"), 1.0, 1e-12);
	/* the same decision is a warning, with the same value */
	LT_ASSERT(strstr(j,
			 "{\"code\": \"blocks-in-handler\", \"severity\": \"warn\", \"warning\": "
			 "true, \"message\": \"10.1% of handler time is spent blocked inside "
			 "handlers\", \"value\": 0.101"));
	LT_ASSERT(strstr(j, "\"kind\": \"blocks-in-handler\", \"component\": 2,"));
	LT_ASSERT(!strstr(j, "\"kind\": \"blocks-in-handler\", \"component\": 1,"));
	free(j);
	lt_analysis_destroy(a);
}

/* Wall 1000 ns: blocked outside 199 is below 20 %, 200 is on it (>=). */
static void test_blocked_outside(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	struct split s[] = {
	    {.outside = 201, .idle = 500, .busy = 100, .bo = 199, .handler = 1},
	    {.outside = 200, .idle = 500, .busy = 100, .bo = 200, .handler = 1},
	    {.outside = 801, .bo = 199}, /* no handler: no messages */
	    {.outside = 800, .bo = 200},
	};
	const char *names[] = {"bo-below", "bo-at", "nomsg-below", "nomsg-at"};
	int64_t t = 0;
	for (uint32_t i = 0; i < 4; i++)
		t = feed_comp(a, t + 10, i + 1, names[i], s[i]);
	for (uint32_t i = 0; i < 4; i++)
		check_split(a, i + 1, s[i]);
	char *j = report(a);
	expect(j, "bo-below", "blocked-outside", NULL);
	expect(j, "bo-at", "blocked-outside", "warn");
	expect(j, "bo-at", "blocked-no-messages", NULL);
	expect(j, "nomsg-below", "blocked-no-messages", NULL);
	expect(j, "nomsg-at", "blocked-no-messages", "info");
	expect(j, "nomsg-at", "blocked-outside", NULL);
	LT_ASSERT_EQ_DBL(value(j, "bo-at", "blocked-outside", "value"), 0.2, 1e-12);
	LT_ASSERT_EQ_DBL(value(j, "nomsg-at", "blocked-no-messages", "site_share"), 1.0, 1e-12);
	/* not warnings: the warnings list is unchanged by them */
	LT_ASSERT(strstr(j, "{\"code\": \"blocked-outside\", \"severity\": \"warn\", \"warning\": "
			    "false"));
	LT_ASSERT(!strstr(j, "\"kind\": \"blocked-"));
	free(j);
	lt_analysis_destroy(a);
}

/* Wall 1000 ns: idle 20 (2 %) is saturated, 21 is not; blocked 500 (half) is not, 499 is. */
static void test_saturated(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	struct split s[] = {
	    {.idle = 20, .busy = 980, .handler = 1},
	    {.idle = 21, .busy = 979, .handler = 1},
	    {.idle = 10, .busy = 491, .bo = 499, .handler = 1},
	    {.idle = 10, .busy = 490, .bo = 500, .handler = 1},
	};
	const char *names[] = {"idle-at", "idle-above", "blocked-below", "blocked-at"};
	int64_t t = 0;
	for (uint32_t i = 0; i < 4; i++)
		t = feed_comp(a, t + 10, i + 1, names[i], s[i]);
	for (uint32_t i = 0; i < 4; i++)
		check_split(a, i + 1, s[i]);
	char *j = report(a);
	expect(j, "idle-at", "saturated", "warn");
	expect(j, "idle-above", "saturated", NULL);
	expect(j, "blocked-below", "saturated", "warn");
	expect(j, "blocked-at", "saturated", NULL);
	LT_ASSERT_EQ_DBL(value(j, "idle-at", "saturated", "idle_frac"), 0.02, 1e-12);
	LT_ASSERT_EQ_DBL(value(j, "idle-at", "saturated", "value"), 0.98, 1e-12);
	LT_ASSERT(strstr(j, "\"kind\": \"saturated\", \"component\": 1,"));
	LT_ASSERT(!strstr(j, "\"kind\": \"saturated\", \"component\": 2,"));
	free(j);
	lt_analysis_destroy(a);
}

/* The largest of two in-handler sites is named, with its share of the in-handler blocking. */
static void test_site(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "two-sites");
	FEED(a, 0, 1, LT_EV_HANDLE_BEGIN, .msg = 1);
	FEED(a, 100, 1, LT_EV_BLOCK_BEGIN, .reason = 6, .object = 0, .where = 0x40);
	FEED(a, 200, 1, LT_EV_BLOCK_END); /* sleep 100 */
	FEED(a, 200, 1, LT_EV_BLOCK_BEGIN, .reason = 2, .object = 0x10, .where = 0x20);
	FEED(a, 500, 1, LT_EV_BLOCK_END); /* mutex 300 */
	FEED(a, 600, 1, LT_EV_HANDLE_END, .msg = 1);
	FEED(a, 600, 1, LT_EV_COMPONENT_END, .comp = 1);
	char *j = report(a);
	/* sorted blocked_by: the mutex first */
	const char *bb = strstr(j, "\"blocked_by\": [{\"reason\": \"mutex\"");
	LT_ASSERT(bb != NULL);
	LT_ASSERT_EQ_DBL(value(j, "two-sites", "blocks-in-handler", "site"), 0.0, 0.0);
	LT_ASSERT_EQ_DBL(value(j, "two-sites", "blocks-in-handler", "site_share"), 0.75, 1e-12);
	LT_ASSERT_EQ_DBL(value(j, "two-sites", "blocks-in-handler", "value"), 400.0 / 600.0, 1e-9);
	expect(j, "two-sites", "blocks-in-handler", "bad");
	free(j);
	lt_analysis_destroy(a);
}

int main(void)
{
	LT_RUN(test_blocks_in_handler);
	LT_RUN(test_blocked_outside);
	LT_RUN(test_saturated);
	LT_RUN(test_site);
	return 0;
}
