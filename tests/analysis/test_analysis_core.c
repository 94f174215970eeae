/*
 * test_analysis_core.c - the analysis core on synthetic event sequences whose answers are
 * computed by hand: the time split and its identity, nesting, unmatched and missing events,
 * traces cut mid-handler, flows over three hops, channels and Little's law, lost-event
 * windows, JSON escaping, windows, and snapshots taken mid-stream.
 */
#include "lt_test.h"
#include "internal.h"
#include "json_check.h"

#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
/* From the sanitizer runtime (its header is not installed with gcc). */
size_t __sanitizer_get_current_allocated_bytes(void);
#else
#include <malloc.h>
#endif

#define PID 100

#define FEED(a, ts_, tid_, kind_, ...)                                                             \
	do {                                                                                       \
		struct lt_event e_ = {                                                             \
		    .ts_ns = (ts_), .vpid = PID, .vtid = (tid_), .kind = (kind_), __VA_ARGS__};    \
		LT_ASSERT_EQ_I(lt_analysis_feed((a), &e_), 0);                                     \
	} while (0)

/* report - the JSON report of a, checked for syntax; caller frees. */
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
		lt_test_fail(__FILE__, __LINE__, "invalid JSON at offset %zu: ...%.60s", bad - 1,
			     buf + (bad > 20 ? bad - 20 : 0));
	return buf;
}

static void expect_in(const char *json, const char *needle)
{
	if (!strstr(json, needle))
		lt_test_fail(__FILE__, __LINE__, "report lacks %s\n%s", needle, json);
}

static int32_t comp_index(const struct lt_analysis *a, uint32_t id, int implicit, int64_t tid)
{
	for (uint32_t i = 0; i < a->comps.n; i++) {
		const struct lt_an_comp *c = &a->comps.v[i];
		if (c->implicit == implicit && (implicit ? c->tid == tid : c->id == id))
			return (int32_t)i;
	}
	lt_test_fail(__FILE__, __LINE__, "component %u (implicit %d tid %lld) not found", id,
		     implicit, (long long)tid);
}

/* check_identity - busy + idle + bih + bo + outside == wall for every component. */
static void check_identity(const struct lt_analysis *a)
{
	for (uint32_t i = 0; i < a->comps.n; i++) {
		uint64_t t[LT_T_COUNT], wall, sum = 0;
		lt__comp_effective(a, i, t, &wall);
		for (int k = 0; k < LT_T_COUNT; k++)
			sum += t[k];
		LT_ASSERT_EQ_U(sum, wall);
	}
}

static void expect_times(const struct lt_analysis *a, int32_t ci, uint64_t busy, uint64_t idle,
			 uint64_t bih, uint64_t bo, uint64_t outside, uint64_t wall)
{
	uint64_t t[LT_T_COUNT], w;
	lt__comp_effective(a, (uint32_t)ci, t, &w);
	LT_ASSERT_EQ_U(t[LT_T_BUSY], busy);
	LT_ASSERT_EQ_U(t[LT_T_IDLE], idle);
	LT_ASSERT_EQ_U(t[LT_T_BIH], bih);
	LT_ASSERT_EQ_U(t[LT_T_BO], bo);
	LT_ASSERT_EQ_U(t[LT_T_OUTSIDE], outside);
	LT_ASSERT_EQ_U(w, wall);
}

static const struct lt_site *find_site(const struct lt_analysis *a, int32_t ci, uint32_t reason)
{
	for (int32_t s = a->comps.v[ci].first_site; s >= 0; s = a->sites.v[s].next)
		if (a->sites.v[s].reason == reason)
			return &a->sites.v[s];
	return NULL;
}

static void test_intervals(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 1000, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "A");
	FEED(a, 1000, 1, LT_EV_WAIT_BEGIN);
	FEED(a, 2000, 1, LT_EV_WAIT_END);
	FEED(a, 2100, 1, LT_EV_HANDLE_BEGIN, .name = "tick");
	FEED(a, 2300, 1, LT_EV_BLOCK_BEGIN, .reason = 2, .object = 0xdead, .where = 0xbeef);
	FEED(a, 2600, 1, LT_EV_BLOCK_END);
	FEED(a, 3000, 1, LT_EV_HANDLE_END);
	FEED(a, 3100, 1, LT_EV_BLOCK_BEGIN, .reason = 6);
	FEED(a, 3400, 1, LT_EV_BLOCK_END);
	FEED(a, 3500, 1, LT_EV_WAIT_BEGIN);
	FEED(a, 4000, 1, LT_EV_COMPONENT_END, .comp = 1);
	FEED(a, 5000, 2, LT_EV_BLOCK_BEGIN, .reason = 8);
	int32_t ci = comp_index(a, 1, 0, 0);
	expect_times(a, ci, 600, 1500, 300, 300, 300, 3000);
	check_identity(a);
	const struct lt_an_comp *c = &a->comps.v[ci];
	LT_ASSERT_EQ_U(c->messages, 1);
	LT_ASSERT_EQ_U(c->handle.max, 900);
	const struct lt_site *s = find_site(a, ci, 2);
	LT_ASSERT(s && s->ns == 300 && s->count == 1 && s->object == 0xdead && s->where == 0xbeef);
	s = find_site(a, ci, 6);
	LT_ASSERT(s && s->ns == 300 && s->count == 1);
	char *j = report(a);
	expect_in(j, "\"schema\": \"looptrace-report/1\"");
	expect_in(j, "\"time_ns\": {\"busy\": 600, \"idle\": 1500, \"blocked_in_handler\": 300, "
		     "\"blocked_outside\": 300, \"outside\": 300, \"runnable\": 0}");
	expect_in(j, "\"begin_ns\": 1000, \"end_ns\": 4000, \"wall_ns\": 3000");
	expect_in(j, "\"reason\": \"mutex\", \"reason_code\": 2, \"object\": \"0xdead\", "
		     "\"where\": \"0xbeef\", \"ns\": 300, \"count\": 1, \"in_handler_ns\": 300}");
	expect_in(j, "\"reason\": \"sleep\", \"reason_code\": 6, \"object\": \"0x0\", "
		     "\"where\": \"0x0\", \"ns\": 300, \"count\": 1, \"in_handler_ns\": 0}");
	expect_in(j, "\"utilization\": 0.2,");
	expect_in(j, "\"blocks_outside_components\": 1");
	expect_in(j, "\"events\": 12,");
	/* 300 blocked of 900 handler time: blocks-in-handler; not saturated */
	expect_in(j, "\"kind\": \"blocks-in-handler\", \"component\": 1");
	LT_ASSERT(!strstr(j, "saturated"));
	free(j);
	lt_analysis_destroy(a);
}

static void test_nesting(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "N");
	FEED(a, 100, 1, LT_EV_HANDLE_BEGIN); /* a handler without a wait before it */
	FEED(a, 200, 1, LT_EV_BLOCK_BEGIN, .reason = 9);
	FEED(a, 250, 1, LT_EV_BLOCK_BEGIN, .reason = 2); /* nested: time stays with `call` */
	FEED(a, 300, 1, LT_EV_BLOCK_END);
	FEED(a, 400, 1, LT_EV_BLOCK_END);
	FEED(a, 500, 1, LT_EV_WAIT_BEGIN); /* a wait inside a handler blocks the handler */
	FEED(a, 700, 1, LT_EV_WAIT_END, .chan = 3);
	FEED(a, 800, 1, LT_EV_HANDLE_END);
	FEED(a, 900, 1, LT_EV_WAIT_BEGIN);
	FEED(a, 1000, 1, LT_EV_BLOCK_BEGIN, .reason = 2); /* inside the loop wait: still idle */
	FEED(a, 1100, 1, LT_EV_BLOCK_END);
	FEED(a, 1200, 1, LT_EV_WAIT_END);
	FEED(a, 1200, 1, LT_EV_COMPONENT_END, .comp = 1);
	int32_t ci = comp_index(a, 1, 0, 0);
	expect_times(a, ci, 300, 300, 400, 0, 200, 1200);
	const struct lt_site *s = find_site(a, ci, 9);
	LT_ASSERT(s && s->ns == 200 && s->count == 1);
	s = find_site(a, ci, 0);
	LT_ASSERT(s && s->ns == 200 && s->count == 1);
	LT_ASSERT(find_site(a, ci, 2) == NULL);
	char *j = report(a);
	expect_in(j, "\"unmatched_block_end\": 0");
	expect_in(j, "\"nested_handle\": 0");
	free(j);
	lt_analysis_destroy(a);
}

static void test_unmatched_and_names(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "U");
	FEED(a, 10, 1, LT_EV_BLOCK_END);
	FEED(a, 20, 1, LT_EV_HANDLE_END, .msg = 9);
	FEED(a, 30, 1, LT_EV_WAIT_END);
	FEED(a, 40, 1, LT_EV_HANDLE_BEGIN, .msg = 5);
	FEED(a, 50, 1, LT_EV_HANDLE_END, .msg = 6);
	FEED(a, 60, 1, LT_EV_COMPONENT_END, .comp = 2);
	FEED(a, 70, 1, LT_EV_COMPONENT_END, .comp = 1);
	FEED(a, 80, 1, LT_EV_ROUTE_DISPATCH_END, .route = 1);
	FEED(a, 90, 2, LT_EV_COMPONENT_BEGIN, .comp = 7, .name = "a\"b\\c\n\x01\xff\xc3\xa9/");
	FEED(a, 100, 3, LT_EV_HANDLE_BEGIN, .msg = 0);
	FEED(a, 150, 3, LT_EV_SEND, .chan = 9, .msg = 77, .depth = 1);
	FEED(a, 200, 3, LT_EV_HANDLE_END, .msg = 0);
	FEED(a, 210, 3, LT_EV_UNKNOWN);
	FEED(a, 220, 3, LT_EV_OTHER);
	FEED(a, 230, 3, (enum lt_ev_kind)999);
	FEED(a, 240, 4, LT_EV_RECV, .chan = 9, .msg = 1234, .depth = 0);
	check_identity(a);
	int32_t ci = comp_index(a, 1, 0, 0);
	expect_times(a, ci, 10, 0, 0, 0, 50, 60);
	LT_ASSERT_EQ_U(a->comps.v[ci].messages, 1);
	int32_t ti = comp_index(a, 0, 1, 3);
	expect_times(a, ti, 100, 0, 0, 0, 40, 140);
	LT_ASSERT_EQ_U(a->comps.v[ti].messages, 1);
	char *j = report(a);
	expect_in(j, "\"unmatched_block_end\": 1");
	expect_in(j, "\"unmatched_handle_end\": 1");
	expect_in(j, "\"unmatched_wait_end\": 1");
	expect_in(j, "\"handle_end_mismatch\": 1");
	expect_in(j, "\"component_end_mismatch\": 1");
	expect_in(j, "\"unmatched_component_end\": 1");
	expect_in(j, "\"unmatched_dispatch_end\": 1");
	expect_in(j, "\"undeclared_channels\": 1");
	expect_in(j, "\"implicit_components\": 1");
	expect_in(j, "\"unknown_messages\": 1"); /* msg 5, handled but never sent */
	expect_in(j, "\"unknown_events\": 2, \"other_events\": 1");
	expect_in(j, "\"events\": 14,");
	expect_in(j, "\"name\": \"a\\\"b\\\\c\\n\\u0001\\ufffd\xc3\xa9/\"");
	expect_in(j, "\"name\": \"chan-9\"");
	expect_in(j, "\"name\": \"thread-3\"");
	/* msg 77 (sent, never received) and msg 1234 (received, never sent) */
	expect_in(j, "\"in_flight\": 1, \"messages_in_flight\": 2");
	free(j);
	lt_analysis_destroy(a);
}

/* "(unnamed)" (what liblooptrace records for no name) and "" keep the default names. */
/*
 * A depth of LT_DEPTH_UNKNOWN (liblooptrace-rt's receives) is the channel's last depth less one
 * (a receive) or plus one (a send): never below 0 nor above the capacity. Known depths (the
 * senders') anchor it.
 */
static void test_unknown_depths(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 0, 1, LT_EV_CHANNEL_DECLARE, .chan = 1, .name = "q", .capacity = 4);
	FEED(a, 0, 2, LT_EV_COMPONENT_BEGIN, .comp = 2, .name = "R");
	FEED(a, 0, 1, LT_EV_SEND, .chan = 1, .msg = 1, .depth = 3); /* 3 over [0,10) */
	FEED(a, 10, 2, LT_EV_RECV, .chan = 1, .msg = 1, .depth = LT_DEPTH_UNKNOWN); /* 2: [10,20) */
	FEED(a, 20, 2, LT_EV_RECV, .chan = 1, .msg = 2, .depth = LT_DEPTH_UNKNOWN); /* 1: [20,30) */
	FEED(a, 30, 2, LT_EV_RECV, .chan = 1, .msg = 3, .depth = LT_DEPTH_UNKNOWN); /* 0: [30,40) */
	FEED(a, 40, 2, LT_EV_RECV, .chan = 1, .msg = 4, .depth = LT_DEPTH_UNKNOWN); /* still 0 */
	FEED(a, 50, 1, LT_EV_SEND, .chan = 1, .msg = 5, .depth = LT_DEPTH_UNKNOWN); /* 1: [50,60) */
	FEED(a, 60, 1, LT_EV_SEND, .chan = 1, .msg = 6, .depth = 4);                /* 4: [60,70) */
	FEED(a, 70, 1, LT_EV_SEND, .chan = 1, .msg = 7, .depth = LT_DEPTH_UNKNOWN); /* full: 4 */
	FEED(a, 80, 2, LT_EV_RECV, .chan = 1, .msg = 5,
	     .depth = LT_DEPTH_UNKNOWN); /* 3: [80,100] */
	FEED(a, 100, 2, LT_EV_COMPONENT_END, .comp = 2);
	char *j = report(a);
	/* area 30 + 20 + 10 + 0 + 0 + 10 + 40 + 40 + 60 = 210 over 100 ns */
	expect_in(j, "\"name\": \"q\", \"pid\": 100, \"declared\": true, \"capacity\": 4, "
		     "\"sends\": 4, \"recvs\": 5, \"depth\": 3, \"max_depth\": 4, "
		     "\"mean_depth\": 2.1,");
	free(j);
	lt_analysis_destroy(a);
}

static void test_unnamed(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 3, .name = "(unnamed)");
	FEED(a, 0, 1, LT_EV_CHANNEL_DECLARE, .chan = 4, .name = "(unnamed)");
	FEED(a, 5, 2, LT_EV_COMPONENT_BEGIN, .comp = 5, .name = "");
	FEED(a, 5, 2, LT_EV_CHANNEL_DECLARE, .chan = 6, .name = "");
	FEED(a, 9, 2, LT_EV_COMPONENT_BEGIN, .comp = 8, .name = "(unnamed) but named");
	char *j = report(a);
	expect_in(j, "\"name\": \"comp-3\"");
	expect_in(j, "\"name\": \"chan-4\"");
	expect_in(j, "\"name\": \"comp-5\"");
	expect_in(j, "\"name\": \"chan-6\"");
	expect_in(j, "\"name\": \"(unnamed) but named\"");
	LT_ASSERT(strstr(j, "\"(unnamed)\"") == NULL);
	free(j);
	lt_analysis_destroy(a);
}

static void test_mid_handler(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 100, 9, LT_EV_SEND, .chan = 1, .msg = 1, .depth = 1); /* trace begins at 100 */
	FEED(a, 500, 1, LT_EV_SEND, .chan = 2, .msg = 50, .depth = 1);
	FEED(a, 500, 1, LT_EV_HANDLE_END, .msg = 42); /* began before the trace */
	FEED(a, 600, 1, LT_EV_WAIT_BEGIN);
	FEED(a, 700, 1, LT_EV_WAIT_END, .chan = 1, .msg = 1);
	FEED(a, 800, 1, LT_EV_HANDLE_BEGIN, .msg = 1);
	FEED(a, 900, 5, LT_EV_WAIT_END); /* waited since before the trace */
	FEED(a, 1000, 9, LT_EV_ROUTE_ADD, .route = 1, .chan = 1);
	check_identity(a);
	int32_t c1 = comp_index(a, 0, 1, 1);
	expect_times(a, c1, 600, 100, 0, 0, 200, 900);
	const struct lt_an_comp *c = &a->comps.v[c1];
	LT_ASSERT_EQ_U(c->messages, 0);
	LT_ASSERT_EQ_U(c->qwait.count, 1);
	LT_ASSERT_EQ_U(c->qwait.max, 600);
	int32_t c5 = comp_index(a, 0, 1, 5);
	expect_times(a, c5, 0, 800, 0, 0, 100, 900);
	char *j = report(a);
	expect_in(j, "\"handlers_cut\": 1");
	expect_in(j, "\"open_handlers\": 1");
	expect_in(j, "\"begin_ns\": 100, \"end_ns\": 1000");
	free(j);
	lt_analysis_destroy(a);
}

static void test_flows_three_hops(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "A");
	FEED(a, 0, 1, LT_EV_CHANNEL_DECLARE, .chan = 1, .name = "a.in", .capacity = 8);
	FEED(a, 0, 1, LT_EV_CHANNEL_DECLARE, .chan = 2, .name = "b.in", .capacity = 8);
	FEED(a, 0, 1, LT_EV_CHANNEL_DECLARE, .chan = 3, .name = "c.in");
	FEED(a, 0, 2, LT_EV_COMPONENT_BEGIN, .comp = 2, .name = "B");
	FEED(a, 0, 2, LT_EV_WAIT_BEGIN);
	FEED(a, 0, 3, LT_EV_COMPONENT_BEGIN, .comp = 3, .name = "C");
	FEED(a, 0, 3, LT_EV_WAIT_BEGIN);
	FEED(a, 10, 1, LT_EV_SEND, .chan = 2, .msg = 1, .flow = 0, .depth = 1);
	FEED(a, 30, 2, LT_EV_WAIT_END, .chan = 2, .msg = 1);
	FEED(a, 30, 2, LT_EV_RECV, .chan = 2, .msg = 1, .depth = 0);
	FEED(a, 40, 2, LT_EV_HANDLE_BEGIN, .msg = 1, .name = "req");
	FEED(a, 50, 2, LT_EV_SEND, .chan = 3, .msg = 2, .flow = 1, .depth = 1);
	FEED(a, 60, 2, LT_EV_HANDLE_END, .msg = 1);
	FEED(a, 70, 3, LT_EV_RECV, .chan = 3, .msg = 2, .depth = 0);
	FEED(a, 70, 3, LT_EV_WAIT_END, .chan = 3, .msg = 2);
	FEED(a, 80, 3, LT_EV_HANDLE_BEGIN, .msg = 2);
	FEED(a, 90, 3, LT_EV_SEND, .chan = 1, .msg = 3, .flow = 1, .depth = 1);
	FEED(a, 120, 3, LT_EV_HANDLE_END, .msg = 2);
	FEED(a, 130, 1, LT_EV_RECV, .chan = 1, .msg = 3, .depth = 0);
	FEED(a, 140, 1, LT_EV_HANDLE_BEGIN, .msg = 3, .name = "reply");
	FEED(a, 200, 1, LT_EV_HANDLE_END, .msg = 3);
	check_identity(a);
	LT_ASSERT_EQ_U(a->flows_done, 1);
	LT_ASSERT_EQ_U(a->flow_latency.max, 190);
	LT_ASSERT_EQ_U(a->flows_in_flight, 0);
	LT_ASSERT_EQ_U(a->msgs_in_flight, 0);
	LT_ASSERT_EQ_U(a->crit_nhops, 3);
	LT_ASSERT_EQ_U(a->hops.n, 3);
	char *j = report(a);
	expect_in(j, "\"flows\": {\"count\": 1, \"in_flight\": 0, \"messages_in_flight\": 0, "
		     "\"latency_ns\": {\"p50\": 190, \"p90\": 190, \"p99\": 190, \"max\": 190");
	expect_in(
	    j,
	    "\"from\": \"A\", \"from_id\": 1, \"from_pid\": 100, \"from_key\": \"100:1\", \"to\": "
	    "\"B\", "
	    "\"to_id\": 2, \"to_pid\": 100, \"to_key\": \"100:2\", \"count\": 1, \"queue_ns\": 20, "
	    "\"handle_ns\": 20");
	expect_in(
	    j,
	    "\"from\": \"B\", \"from_id\": 2, \"from_pid\": 100, \"from_key\": \"100:2\", \"to\": "
	    "\"C\", "
	    "\"to_id\": 3, \"to_pid\": 100, \"to_key\": \"100:3\", \"count\": 1, \"queue_ns\": 20, "
	    "\"handle_ns\": 40");
	expect_in(
	    j,
	    "\"from\": \"C\", \"from_id\": 3, \"from_pid\": 100, \"from_key\": \"100:3\", \"to\": "
	    "\"A\", "
	    "\"to_id\": 1, \"to_pid\": 100, \"to_key\": \"100:1\", \"count\": 1, \"queue_ns\": 40, "
	    "\"handle_ns\": 60");
	expect_in(j, "\"critical_flow\": {\"id\": 1, \"pid\": 100, \"latency_ns\": 190");
	expect_in(j, "{\"msg\": 3, \"from\": \"C\"");
	/* channel b.in: depth 1 during [10,30) of [0,200]: L = 0.1; lambda = 1/200ns; W = 20ns */
	expect_in(j, "\"name\": \"b.in\", \"pid\": 100, \"declared\": true, \"capacity\": 8, "
		     "\"sends\": 1, \"recvs\": 1, \"depth\": 0, \"max_depth\": 1, "
		     "\"mean_depth\": 0.1,");
	expect_in(j, "\"littles_law\": {\"L\": 0.1, \"lambda\": 5000000, \"W\": 2e-08, "
		     "\"ratio\": 1}");
	/* handle_ns and queue_wait_ns of B */
	const struct lt_an_comp *b = &a->comps.v[comp_index(a, 2, 0, 0)];
	LT_ASSERT_EQ_U(b->qwait.max, 20);
	LT_ASSERT_EQ_U(b->handle.max, 20);
	free(j);
	lt_analysis_destroy(a);
}

#define FEEDP(a, pid_, ts_, tid_, kind_, ...)                                                      \
	do {                                                                                       \
		struct lt_event e_ = {                                                             \
		    .ts_ns = (ts_), .vpid = (pid_), .vtid = (tid_), .kind = (kind_), __VA_ARGS__}; \
		LT_ASSERT_EQ_I(lt_analysis_feed((a), &e_), 0);                                     \
	} while (0)

/*
 * One request and its reply across two processes (client pid 100, server pid 200), each with
 * its own "rpc" channel (id 1 in both): the client's message ids carry tag T, the server's
 * tag U, both in the top 16 bits. The server receives the client's id (a foreign msg), answers
 * with the client's flow (a foreign flow); the client handles the reply. With `tagged` 0 the
 * same events carry untagged ids, which stay per process: nothing links.
 */
static void cross_process(int tagged)
{
	uint64_t T = tagged ? UINT64_C(0x1234) << 48 : 0, U = tagged ? UINT64_C(0xbeef) << 48 : 0;
	uint64_t req = T | 5, rep = U | 9;
	struct lt_analysis *a = lt_analysis_create(NULL);

	FEEDP(a, 100, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "client");
	FEEDP(a, 100, 0, 1, LT_EV_CHANNEL_DECLARE, .chan = 1, .name = "rpc");
	FEEDP(a, 200, 0, 7, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "server");
	FEEDP(a, 200, 0, 7, LT_EV_CHANNEL_DECLARE, .chan = 1, .name = "rpc");
	FEEDP(a, 200, 0, 7, LT_EV_WAIT_BEGIN);
	FEEDP(a, 100, 100, 1, LT_EV_SEND, .chan = 1, .msg = req, .flow = 0, .depth = 1);
	FEEDP(a, 100, 110, 1, LT_EV_WAIT_BEGIN);
	FEEDP(a, 200, 400, 7, LT_EV_WAIT_END, .chan = 1, .msg = req);
	FEEDP(a, 200, 400, 7, LT_EV_RECV, .chan = 1, .msg = req, .depth = 0);
	FEEDP(a, 200, 410, 7, LT_EV_HANDLE_BEGIN, .msg = req, .name = "req");
	FEEDP(a, 200, 900, 7, LT_EV_SEND, .chan = 1, .msg = rep, .flow = req, .depth = 1);
	FEEDP(a, 200, 910, 7, LT_EV_HANDLE_END, .msg = req);
	FEEDP(a, 200, 920, 7, LT_EV_WAIT_BEGIN);
	FEEDP(a, 100, 1200, 1, LT_EV_WAIT_END, .chan = 1, .msg = rep);
	FEEDP(a, 100, 1200, 1, LT_EV_RECV, .chan = 1, .msg = rep, .depth = 0);
	FEEDP(a, 100, 1210, 1, LT_EV_HANDLE_BEGIN, .msg = rep, .name = "reply");
	FEEDP(a, 100, 1500, 1, LT_EV_HANDLE_END, .msg = rep);
	char *j = report(a);
	if (!tagged) {
		/* per-process ids: each receipt is an unknown message, no flow ends */
		LT_ASSERT_EQ_U(a->flows_done, 0);
		expect_in(j, "\"ipc\": false");
		LT_ASSERT(strstr(j, "\"ipc\": true") == NULL);
		free(j);
		lt_analysis_destroy(a);
		return;
	}
	/* the flow: sent at 100 in the client, its reply handled until 1500 in the client */
	LT_ASSERT_EQ_U(a->flows_done, 1);
	LT_ASSERT_EQ_U(a->flow_latency.max, 1400);
	LT_ASSERT_EQ_U(a->flows_in_flight, 0);
	LT_ASSERT_EQ_U(a->msgs_in_flight, 0);
	LT_ASSERT_EQ_U(a->crit_nhops, 2);
	/* queue waits across the boundary: 300 ns into the server, 300 ns back */
	LT_ASSERT_EQ_U(a->comps.v[comp_index(a, 1, 0, 0)].qwait.max, 300);
	expect_in(j, "\"from\": \"client\", \"from_id\": 1, \"from_pid\": 100, \"from_key\": "
		     "\"100:1\", \"to\": \"server\", \"to_id\": 1, \"to_pid\": 200, "
		     "\"to_key\": \"200:1\", \"count\": 1, \"queue_ns\": 300, \"handle_ns\": 500");
	expect_in(j, "\"from\": \"server\", \"from_id\": 1, \"from_pid\": 200, \"from_key\": "
		     "\"200:1\", \"to\": \"client\", \"to_id\": 1, \"to_pid\": 100, "
		     "\"to_key\": \"100:1\", \"count\": 1, \"queue_ns\": 300, \"handle_ns\": 290");
	char crit[128];
	snprintf(crit, sizeof(crit),
		 "\"critical_flow\": {\"id\": %llu, \"pid\": 100, "
		 "\"latency_ns\": 1400",
		 (unsigned long long)req);
	expect_in(j, crit);
	/* one IPC channel "rpc" with both ends, summed: 2 sends, 2 receipts */
	expect_in(j, "\"name\": \"rpc\", \"pid\": 100, \"declared\": true, \"capacity\": 0, "
		     "\"sends\": 2, \"recvs\": 2,");
	expect_in(j,
		  "\"senders\": [{\"name\": \"client\", \"pid\": 100, \"key\": \"100:1\"}, "
		  "{\"name\": \"server\", \"pid\": 200, \"key\": \"200:1\"}], "
		  "\"receivers\": [{\"name\": \"client\", \"pid\": 100, \"key\": \"100:1\"}, "
		  "{\"name\": \"server\", \"pid\": 200, \"key\": \"200:1\"}], \"ipc\": true, "
		  "\"ends\": [{\"id\": 1, \"pid\": 100, \"sends\": 1, \"recvs\": 1}, "
		  "{\"id\": 1, \"pid\": 200, \"sends\": 1, \"recvs\": 1}], \"pids\": [100, 200]}");
	LT_ASSERT(strstr(strstr(j, "\"name\": \"rpc\"") + 1, "\"name\": \"rpc\"") == NULL);
	free(j);
	lt_analysis_destroy(a);
}

static void test_cross_process(void)
{
	cross_process(1);
	cross_process(0);
}

/* Channels of the same name in two processes that no message crosses stay two channels. */
static void test_same_name_not_ipc(void)
{
	uint64_t T = UINT64_C(0x1234) << 48, U = UINT64_C(0x4321) << 48;
	struct lt_analysis *a = lt_analysis_create(NULL);

	for (int p = 0; p < 2; p++) {
		int64_t pid = p ? 200 : 100;
		uint64_t m = (p ? U : T) | 1;
		FEEDP(a, pid, 0, pid, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "side");
		FEEDP(a, pid, 0, pid, LT_EV_CHANNEL_DECLARE, .chan = 1, .name = "work");
		FEEDP(a, pid, 10, pid, LT_EV_SEND, .chan = 1, .msg = m, .depth = 1);
		FEEDP(a, pid, 20, pid, LT_EV_RECV, .chan = 1, .msg = m, .depth = 0);
		FEEDP(a, pid, 20, pid, LT_EV_HANDLE_BEGIN, .msg = m);
		FEEDP(a, pid, 30, pid, LT_EV_HANDLE_END, .msg = m);
	}
	char *j = report(a);
	LT_ASSERT_EQ_U(a->flows_done, 2);
	LT_ASSERT(strstr(j, "\"ipc\": true") == NULL);
	LT_ASSERT(strstr(strstr(j, "\"name\": \"work\"") + 1, "\"name\": \"work\"") != NULL);
	free(j);
	lt_analysis_destroy(a);
}

/* count_of - occurrences of needle in s. */
static int count_of(const char *s, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/*
 * Per-request reply channels: three channels "reply" of capacity 2 in pid 100 (ids 1-3) make
 * one channel group: counts summed, queue waits merged from the members' histograms (waits 10,
 * 20, 30 and 1000 ns: p50 20, where the members' p50s are 10, 20 and 1000), max depth the
 * largest, mean depth per instance weighted by life. A "reply" of another capacity and one of
 * another process are not in it.
 */
static void test_channel_groups(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);

	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "c");
	for (uint32_t id = 1; id <= 3; id++)
		FEED(a, 0, 1, LT_EV_CHANNEL_DECLARE, .chan = id, .name = "reply", .capacity = 2);
	FEED(a, 0, 1, LT_EV_CHANNEL_DECLARE, .chan = 4, .name = "reply", .capacity = 8);
	FEEDP(a, 200, 0, 7, LT_EV_CHANNEL_DECLARE, .chan = 1, .name = "reply", .capacity = 2);
	FEED(a, 100, 1, LT_EV_SEND, .chan = 1, .msg = 1, .depth = 1);
	FEED(a, 110, 1, LT_EV_RECV, .chan = 1, .msg = 1, .depth = 0);
	FEED(a, 200, 1, LT_EV_SEND, .chan = 2, .msg = 2, .depth = 1);
	FEED(a, 210, 1, LT_EV_SEND, .chan = 2, .msg = 3, .depth = 2);
	FEED(a, 220, 1, LT_EV_RECV, .chan = 2, .msg = 2, .depth = 1);
	FEED(a, 240, 1, LT_EV_RECV, .chan = 2, .msg = 3, .depth = 0);
	FEED(a, 300, 1, LT_EV_SEND, .chan = 3, .msg = 4, .depth = 1);
	FEED(a, 1300, 1, LT_EV_RECV, .chan = 3, .msg = 4, .depth = 0);
	FEED(a, 400, 1, LT_EV_SEND, .chan = 4, .msg = 5, .depth = 1);
	FEEDP(a, 200, 1500, 7, LT_EV_SEND, .chan = 1, .msg = 1, .depth = 1);
	FEEDP(a, 200, 1510, 7, LT_EV_RECV, .chan = 1, .msg = 1, .depth = 0);
	FEED(a, 2000, 1, LT_EV_RECV, .chan = 4, .msg = 5, .depth = 0);
	char *j = report(a);
	/* channels[] still lists every channel object */
	LT_ASSERT_EQ_I(count_of(j, "\"name\": \"reply\", \"pid\": 100, \"declared\""), 4);
	LT_ASSERT_EQ_I(count_of(j, "\"name\": \"reply\", \"pid\": 200, \"declared\""), 1);
	LT_ASSERT_EQ_I(count_of(j, "\"group\": 1}"), 3);
	LT_ASSERT_EQ_I(count_of(j, "\"group\": "), 3);
	/*
	 * One group. Areas (depth x ns): 10, 10 + 20 + 20 = 50, 1000 over lives of 2000 ns each:
	 * mean depth of one instance 1060 / 6000; the group's L = 1060 / 2000 = 0.53, lambda 4
	 * receipts in 2000 ns, W the mean wait 265 ns: ratio 1.
	 */
	expect_in(j, "\"channel_groups\": [\n    {\"id\": 1, \"name\": \"reply\", \"pid\": 100, "
		     "\"instances\": 3, \"ipc\": false, \"declared\": true, \"capacity\": 2, "
		     "\"sends\": 4, \"recvs\": 4, \"depth\": 0, \"max_depth\": 2, "
		     "\"mean_depth\": 0.176666667,\n     \"queue_wait_ns\": {\"p50\": 20, \"p90\": "
		     "999, \"p99\": 999, \"max\": 1000, \"count\": 4, \"mean\": 265}");
	expect_in(j, "\"littles_law\": {\"L\": 0.53, \"lambda\": 2000000, \"W\": 2.65e-07, "
		     "\"ratio\": 1}, \"lost_overlap\": false}\n  ],");
	LT_ASSERT_EQ_I(count_of(j, "\"instances\": "), 1);
	free(j);
	lt_analysis_destroy(a);
}

/*
 * A channel of the same name on two hosts (both pid 100), two messages crossing from host 0 to
 * host 1: one queued 300 ns, one 5 ms. The hosts' clocks are different machines (uuids), synced
 * to 1 ms as assumed: the 300 ns wait is shorter than the uncertainty and flagged, the 5 ms one
 * is not.
 */
static void test_cross_host_short_waits(void)
{
	uint64_t T = UINT64_C(0x1234) << 48;
	struct lt_analysis_config cfg = {.clock_sync_ns = 1000000};
	struct lt_analysis *a = lt_analysis_create(&cfg);
	int64_t h0 = LT_PROC_KEY(0, 100), h1 = LT_PROC_KEY(1, 100);

	LT_ASSERT_EQ_I(lt_analysis_host(a, 0, "web1"), 0);
	LT_ASSERT_EQ_I(lt_analysis_host(a, 1, "app2"), 0);
	LT_ASSERT_EQ_I(lt_analysis_clock(a, 0, "11111111-1111-1111-1111-111111111111", 0), 0);
	LT_ASSERT_EQ_I(lt_analysis_clock(a, 1, "22222222-2222-2222-2222-222222222222", 0), 0);
	FEEDP(a, h0, 0, h0, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "client");
	FEEDP(a, h1, 0, h1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "server");
	FEEDP(a, h0, 0, h0, LT_EV_CHANNEL_DECLARE, .chan = 1, .name = "rpc");
	FEEDP(a, h1, 0, h1, LT_EV_CHANNEL_DECLARE, .chan = 1, .name = "rpc");
	FEEDP(a, h0, 1000, h0, LT_EV_SEND, .chan = 1, .msg = T | 1, .depth = 1);
	FEEDP(a, h1, 1300, h1, LT_EV_RECV, .chan = 1, .msg = T | 1, .depth = 0);
	FEEDP(a, h1, 1300, h1, LT_EV_HANDLE_BEGIN, .msg = T | 1);
	FEEDP(a, h1, 1400, h1, LT_EV_HANDLE_END, .msg = T | 1);
	FEEDP(a, h0, 2000, h0, LT_EV_SEND, .chan = 1, .msg = T | 2, .depth = 1);
	FEEDP(a, h1, 5002000, h1, LT_EV_RECV, .chan = 1, .msg = T | 2, .depth = 0);
	FEEDP(a, h1, 5002000, h1, LT_EV_HANDLE_BEGIN, .msg = T | 2);
	FEEDP(a, h1, 5002100, h1, LT_EV_HANDLE_END, .msg = T | 2);
	char *j = report(a);
	expect_in(j, "\"cross_host_waits\": 2, \"cross_host_short\": 1");
	expect_in(j, "{\"kind\": \"clock-uncertain\", \"channel\": 1");
	expect_in(j, "\"uncertainty_ns\": 1000000");
	free(j);
	lt_analysis_destroy(a);
}

/*
 * The naive await: a handler sends a request and receives the reply inside itself (recv, no
 * handler of its own for the reply). The reply is done at its receipt, so the flow completes.
 *   A (tid 1) handles msg 1 (flow 1) from 100, sends request 2 (flow 1) to B at 110;
 *   B (tid 2) handles 2 from 120 to 150, sends reply 3 (flow 1) at 140;
 *   A receives 3 inside its handler at 170, its handler ends at 200.
 * And a request started inside a tick (msg 10 starts flow 10), whose reply 11 is received in
 * the same tick at 400: that flow ends at the receipt (latency 400 - 300).
 */
static void test_reply_received_in_handler(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "A");
	FEED(a, 0, 2, LT_EV_COMPONENT_BEGIN, .comp = 2, .name = "B");
	FEED(a, 50, 9, LT_EV_SEND, .chan = 1, .msg = 1, .depth = 1);
	FEED(a, 100, 1, LT_EV_RECV, .chan = 1, .msg = 1, .depth = 0);
	FEED(a, 100, 1, LT_EV_HANDLE_BEGIN, .msg = 1, .name = "input");
	FEED(a, 110, 1, LT_EV_SEND, .chan = 2, .msg = 2, .flow = 1, .depth = 1);
	FEED(a, 120, 2, LT_EV_RECV, .chan = 2, .msg = 2, .depth = 0);
	FEED(a, 120, 2, LT_EV_HANDLE_BEGIN, .msg = 2, .name = "request");
	FEED(a, 140, 2, LT_EV_SEND, .chan = 3, .msg = 3, .flow = 1, .depth = 1);
	FEED(a, 150, 2, LT_EV_HANDLE_END, .msg = 2);
	FEED(a, 170, 1, LT_EV_RECV, .chan = 3, .msg = 3, .depth = 0);
	LT_ASSERT_EQ_U(a->flows_done, 0); /* msg 1's handler still runs */
	FEED(a, 200, 1, LT_EV_HANDLE_END, .msg = 1);
	LT_ASSERT_EQ_U(a->flows_done, 1);
	LT_ASSERT_EQ_U(a->msgs_in_flight, 0);
	LT_ASSERT_EQ_U(a->flow_latency.max, 150); /* 200 - 50 */

	FEED(a, 300, 1, LT_EV_HANDLE_BEGIN, .msg = 0, .name = "tick");
	FEED(a, 300, 1, LT_EV_SEND, .chan = 2, .msg = 10, .depth = 1);
	FEED(a, 320, 2, LT_EV_RECV, .chan = 2, .msg = 10, .depth = 0);
	FEED(a, 320, 2, LT_EV_HANDLE_BEGIN, .msg = 10, .name = "request");
	FEED(a, 340, 2, LT_EV_SEND, .chan = 3, .msg = 11, .flow = 10, .depth = 1);
	FEED(a, 350, 2, LT_EV_HANDLE_END, .msg = 10);
	FEED(a, 400, 1, LT_EV_RECV, .chan = 3, .msg = 11, .depth = 0);
	LT_ASSERT_EQ_U(a->flows_done, 2);
	LT_ASSERT_EQ_U(a->msgs_in_flight, 0);
	LT_ASSERT_EQ_U(a->flow_latency.max, 150);
	LT_ASSERT_EQ_U(a->flow_latency.min, 100); /* 400 - 300 */
	FEED(a, 410, 1, LT_EV_HANDLE_END, .msg = 0);
	LT_ASSERT_EQ_U(a->flows_done, 2);
	lt_analysis_destroy(a);
}

static void test_recv_before_send(void)
{
	/* the sender traces `send` after enqueuing; the receiver was faster */
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "A");
	FEED(a, 0, 2, LT_EV_COMPONENT_BEGIN, .comp = 2, .name = "C");
	FEED(a, 100, 2, LT_EV_RECV, .chan = 5, .msg = 9, .depth = 0);
	FEED(a, 105, 2, LT_EV_HANDLE_BEGIN, .msg = 9);
	FEED(a, 110, 1, LT_EV_SEND, .chan = 5, .msg = 9, .depth = 1);
	FEED(a, 150, 2, LT_EV_HANDLE_END, .msg = 9);
	LT_ASSERT_EQ_U(a->msgs_in_flight, 0);
	LT_ASSERT_EQ_U(a->flows_done, 1);
	LT_ASSERT_EQ_U(a->flow_latency.max, 50); /* it was sent by the time it was received */
	char *j = report(a);
	expect_in(j, "\"recv_before_send\": 1");
	expect_in(j, "\"unknown_messages\": 0");
	expect_in(
	    j,
	    "\"from\": \"A\", \"from_id\": 1, \"from_pid\": 100, \"from_key\": \"100:1\", \"to\": "
	    "\"C\", "
	    "\"to_id\": 2, \"to_pid\": 100, \"to_key\": \"100:2\", \"count\": 1, \"queue_ns\": 0, "
	    "\"handle_ns\": 45");
	const struct lt_an_comp *c = &a->comps.v[comp_index(a, 2, 0, 0)];
	LT_ASSERT_EQ_U(c->qwait.count, 1);
	LT_ASSERT_EQ_U(c->qwait.max, 0);
	free(j);
	lt_analysis_destroy(a);
}

static void test_handled_before_send(void)
{
	/* the sender is preempted between enqueuing and tracing `send` */
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "A");
	FEED(a, 0, 2, LT_EV_COMPONENT_BEGIN, .comp = 2, .name = "C");
	FEED(a, 100, 2, LT_EV_RECV, .chan = 5, .msg = 9, .depth = 0);
	FEED(a, 100, 2, LT_EV_HANDLE_BEGIN, .msg = 9);
	FEED(a, 120, 2, LT_EV_HANDLE_END, .msg = 9);
	FEED(a, 125, 2, LT_EV_HANDLE_BEGIN, .msg = 77); /* a tick: never sent */
	FEED(a, 126, 2, LT_EV_HANDLE_END, .msg = 77);
	char *j = report(a);
	expect_in(j, "\"unknown_messages\": 2"); /* for now */
	expect_in(j, "\"messages_in_flight\": 0");
	free(j);
	FEED(a, 130, 1, LT_EV_SEND, .chan = 5, .msg = 9, .depth = 1);
	LT_ASSERT_EQ_U(a->flows_done, 1);
	LT_ASSERT_EQ_U(a->flow_latency.max, 20);
	j = report(a);
	expect_in(j, "\"unknown_messages\": 1");
	expect_in(j, "\"in_flight\": 0, \"messages_in_flight\": 0");
	expect_in(j, "\"to\": \"C\", \"to_id\": 2, \"to_pid\": 100, \"to_key\": \"100:2\", "
		     "\"count\": 1, \"queue_ns\": 0, \"handle_ns\": 20");
	free(j);
	/* parked messages are bounded: old ones count as never sent */
	for (uint64_t m = 1000; m < 1000 + 2 * LT_PARK_CAP; m++) {
		FEED(a, 200 + (int64_t)m, 2, LT_EV_HANDLE_BEGIN, .msg = m);
		FEED(a, 200 + (int64_t)m, 2, LT_EV_HANDLE_END, .msg = m);
	}
	LT_ASSERT_CMP_U(a->msgs_in_flight, <=, LT_PARK_CAP);
	j = report(a);
	expect_in(j, "\"unknown_messages\": 513");
	free(j);
	lt_analysis_destroy(a);
}

static void test_routes(void)
{
	/* B replies on a routed channel; the router component dispatches it to A's channel */
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "A");
	FEED(a, 0, 2, LT_EV_COMPONENT_BEGIN, .comp = 2, .name = "B");
	FEED(a, 0, 4, LT_EV_COMPONENT_BEGIN, .comp = 9, .name = "router");
	FEED(a, 0, 4, LT_EV_WAIT_BEGIN);
	FEED(a, 10, 1, LT_EV_ROUTE_ADD, .route = 1, .chan = 7, .owner = 1);
	FEED(a, 10, 1, LT_EV_SEND, .chan = 2, .msg = 1, .depth = 1);
	FEED(a, 20, 2, LT_EV_HANDLE_BEGIN, .msg = 1);
	FEED(a, 30, 2, LT_EV_SEND, .chan = 7, .msg = 2, .flow = 1, .depth = 1);
	FEED(a, 40, 2, LT_EV_HANDLE_END, .msg = 1);
	FEED(a, 50, 4, LT_EV_WAIT_END, .chan = 7, .msg = 2);
	FEED(a, 50, 4, LT_EV_RECV, .chan = 7, .msg = 2, .depth = 0);
	FEED(a, 60, 4, LT_EV_ROUTE_DISPATCH_BEGIN, .route = 1, .msg = 2);
	FEED(a, 70, 4, LT_EV_BLOCK_BEGIN, .reason = 2);
	FEED(a, 80, 4, LT_EV_BLOCK_END);
	FEED(a, 85, 4, LT_EV_SEND, .chan = 1, .msg = 3, .flow = 1, .depth = 1);
	FEED(a, 90, 4, LT_EV_ROUTE_REMOVE, .route = 1); /* from its own callback */
	FEED(a, 100, 4, LT_EV_ROUTE_DISPATCH_END, .route = 1);
	FEED(a, 100, 4, LT_EV_WAIT_BEGIN);
	FEED(a, 120, 1, LT_EV_RECV, .chan = 1, .msg = 3, .depth = 0);
	FEED(a, 130, 1, LT_EV_HANDLE_BEGIN, .msg = 3);
	FEED(a, 150, 1, LT_EV_HANDLE_END, .msg = 3);
	check_identity(a);
	int32_t ri = comp_index(a, 9, 0, 0);
	/* idle [0,50) + [100,150); outside [50,60); dispatch busy 30, blocked 10 */
	expect_times(a, ri, 30, 100, 10, 0, 10, 150);
	LT_ASSERT_EQ_U(a->comps.v[ri].messages, 1);
	LT_ASSERT_EQ_U(a->flows_done, 1);
	LT_ASSERT_EQ_U(a->flow_latency.max, 140);
	char *j = report(a);
	expect_in(j, "{\"id\": 1, \"pid\": 100, \"owner\": 1, \"chan\": 7, \"declared\": true, "
		     "\"removed\": true, \"aggregate\": false, \"routes\": 1, \"dispatches\": 1, "
		     "\"dispatch_ns\": {\"p50\": 40,");
	expect_in(j, "\"from\": \"B\", \"from_id\": 2, \"from_pid\": 100, \"from_key\": \"100:2\", "
		     "\"to\": \"router\"");
	expect_in(j, "\"from\": \"router\", \"from_id\": 9, \"from_pid\": 100, \"from_key\": "
		     "\"100:9\", \"to\": \"A\"");
	free(j);
	lt_analysis_destroy(a);

	/* a route per request: beyond 256 routes, removed ones fold into their owner's entry */
	a = lt_analysis_create(NULL);
	FEED(a, 0, 4, LT_EV_COMPONENT_BEGIN, .comp = 9, .name = "router");
	int64_t ts = 10;
	for (uint32_t r = 1; r <= 1000; r++) {
		FEED(a, ts, 1, LT_EV_ROUTE_ADD, .route = r, .chan = 0, .owner = 1 + r % 2);
		FEED(a, ts + 1, 4, LT_EV_ROUTE_DISPATCH_BEGIN, .route = r);
		FEED(a, ts + 2, 4, LT_EV_ROUTE_REMOVE, .route = r);
		FEED(a, ts + 5, 4, LT_EV_ROUTE_DISPATCH_END, .route = r);
		ts += 10;
	}
	FEED(a, ts, 1, LT_EV_ROUTE_ADD, .route = 5000, .owner = 1); /* still live */
	uint32_t live = 0;
	for (uint32_t i = 0; i < a->routes.n; i++)
		live += !a->routes.v[i].dead;
	LT_ASSERT_EQ_U(live, 3); /* two aggregates and route 5000 */
	LT_ASSERT_CMP_U(a->routes.n, <=, LT_ROUTE_KEEP + 8);
	j = report(a);
	expect_in(j, "\"owner\": 1, \"chan\": 0, \"declared\": true, \"removed\": true, "
		     "\"aggregate\": true, \"routes\": 500, \"dispatches\": 500, \"dispatch_ns\": "
		     "{\"p50\": 4, \"p90\": 4, \"p99\": 4, \"max\": 4, \"count\": 500");
	expect_in(j, "\"owner\": 2, \"chan\": 0, \"declared\": true, \"removed\": true, "
		     "\"aggregate\": true, \"routes\": 500, \"dispatches\": 500");
	expect_in(j, "{\"id\": 5000, \"pid\": 100, \"owner\": 1, \"chan\": 0, \"declared\": true, "
		     "\"removed\": false, \"aggregate\": false, \"routes\": 1, \"dispatches\": 0");
	free(j);
	lt_analysis_destroy(a);
}

static void test_send_blocked_and_parallelism(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "P");
	FEED(a, 0, 2, LT_EV_COMPONENT_BEGIN, .comp = 2, .name = "Q");
	FEED(a, 0, 1, LT_EV_HANDLE_BEGIN, .msg = 0);
	FEED(a, 10, 1, LT_EV_BLOCK_BEGIN, .reason = 1, .object = 0x1000);
	FEED(a, 40, 1, LT_EV_BLOCK_END);
	FEED(a, 45, 1, LT_EV_SEND, .chan = 4, .msg = 8, .depth = 4);
	FEED(a, 50, 2, LT_EV_HANDLE_BEGIN, .msg = 0);
	FEED(a, 100, 1, LT_EV_HANDLE_END);
	FEED(a, 150, 2, LT_EV_HANDLE_END);
	FEED(a, 200, 2, LT_EV_WAIT_BEGIN);
	check_identity(a);
	char *j = report(a);
	expect_in(j, "\"send_blocked_ns\": 30, \"send_blocked_count\": 1");
	/* busy: P 70 + Q 100 over 200 ns; at most 2 at once */
	expect_in(j,
		  "\"parallelism\": {\"mean_busy_components\": 0.85, \"max_busy_components\": 2");
	free(j);
	lt_analysis_destroy(a);
}

static void test_warnings(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	/* saturated: busy 95 of 100 ns */
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "hot");
	FEED(a, 5, 1, LT_EV_HANDLE_BEGIN);
	FEED(a, 100, 1, LT_EV_HANDLE_END);
	FEED(a, 100, 1, LT_EV_COMPONENT_END, .comp = 1);
	/* queue-growth: a producer fills a channel nobody drains */
	FEED(a, 0, 2, LT_EV_CHANNEL_DECLARE, .chan = 3, .name = "backlog", .capacity = 0);
	for (uint32_t i = 1; i <= 100; i++)
		FEED(a, 100 + i * 1000, 2, LT_EV_SEND, .chan = 3, .msg = 1000 + i, .depth = i);
	/* a steady channel: no warning */
	for (uint32_t i = 1; i <= 100; i++) {
		FEED(a, 100 + i * 1000, 3, LT_EV_SEND, .chan = 4, .msg = 5000 + i, .depth = 1);
		FEED(a, 100 + i * 1000 + 10, 3, LT_EV_RECV, .chan = 4, .msg = 5000 + i, .depth = 0);
	}
	/* slow-route: route 1 takes 2 ms per dispatch, route 2 shares the router */
	FEED(a, 200000, 4, LT_EV_ROUTE_ADD, .route = 1, .owner = 1);
	FEED(a, 200000, 4, LT_EV_ROUTE_ADD, .route = 2, .owner = 1);
	FEED(a, 200000, 4, LT_EV_ROUTE_DISPATCH_BEGIN, .route = 1);
	FEED(a, 2200000, 4, LT_EV_ROUTE_DISPATCH_END, .route = 1);
	FEED(a, 2200000, 4, LT_EV_ROUTE_DISPATCH_BEGIN, .route = 2);
	FEED(a, 2200100, 4, LT_EV_ROUTE_DISPATCH_END, .route = 2);
	char *j = report(a);
	expect_in(j, "\"kind\": \"saturated\", \"component\": 1");
	expect_in(j, "\"kind\": \"queue-growth\", \"channel\": 3");
	LT_ASSERT(!strstr(j, "\"kind\": \"queue-growth\", \"channel\": 4"));
	expect_in(j, "\"kind\": \"slow-route\", \"route\": 1");
	LT_ASSERT(!strstr(j, "\"kind\": \"slow-route\", \"route\": 2"));
	LT_ASSERT(!strstr(j, "lost-events"));
	free(j);
	lt_analysis_destroy(a);
}

/*
 * handle_next: one record is handle_end(prev, exact bounds), recv and handle_begin; it counts
 * as one event.
 */
static void test_handle_next(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 0, 1, LT_EV_CHANNEL_DECLARE, .chan = 1, .name = "in", .capacity = 4);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "fused");
	FEED(a, 10, 2, LT_EV_SEND, .chan = 1, .msg = 1, .depth = 1);
	FEED(a, 20, 2, LT_EV_SEND, .chan = 1, .msg = 2, .depth = 2);
	FEED(a, 100, 1, LT_EV_HANDLE_NEXT, .chan = 1, .msg = 1, .depth = 1, .name = "job");
	FEED(a, 200, 1, LT_EV_HANDLE_NEXT, .prev = 1, .begin_ns = 105, .end_ns = 190, .chan = 1,
	     .msg = 2, .depth = 0, .name = "job");
	FEED(a, 300, 1, LT_EV_HANDLE_END, .msg = 2, .begin_ns = 205, .end_ns = 290);
	FEED(a, 400, 1, LT_EV_COMPONENT_END, .comp = 1);
	LT_ASSERT_EQ_U(lt_analysis_events(a), 8);
	char *j = report(a);
	expect_in(j, "\"time_ns\": {\"busy\": 170, \"idle\": 0, \"blocked_in_handler\": 0, "
		     "\"blocked_outside\": 0, \"outside\": 230, \"runnable\": 0}");
	expect_in(j, "\"messages\": 2,");
	expect_in(j, "\"sends\": 2, \"recvs\": 2");
	LT_ASSERT(!strstr(j, "\"unmatched_handle_end\": 1"));
	free(j);
	lt_analysis_destroy(a);
}

/*
 * handle_end's exact bounds: the handler ran [110, 190) of the [100, 200) its two events
 * span; the 20 ns the events cost count as outside, not busy, and the handler as 80 ns.
 * Bounds outside the events' span are ignored.
 */
static void test_handler_exact_bounds(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "exact");
	FEED(a, 100, 1, LT_EV_HANDLE_BEGIN, .msg = 5);
	FEED(a, 200, 1, LT_EV_HANDLE_END, .msg = 5, .begin_ns = 110, .end_ns = 190);
	FEED(a, 300, 1, LT_EV_HANDLE_BEGIN, .msg = 6);
	FEED(a, 400, 1, LT_EV_HANDLE_END, .msg = 6, .begin_ns = 290, .end_ns = 390); /* ignored */
	FEED(a, 500, 1, LT_EV_COMPONENT_END, .comp = 1);
	char *j = report(a);
	expect_in(j, "\"time_ns\": {\"busy\": 180, \"idle\": 0, \"blocked_in_handler\": 0, "
		     "\"blocked_outside\": 0, \"outside\": 320, \"runnable\": 0}");
	expect_in(j, "\"max\": 100");
	free(j);
	lt_analysis_destroy(a);
}

/*
 * saturated means "never waited for work": a loop whose time outside its handlers is not
 * idle is saturated even at busy 50 %; one that waited 10 % of its time is not, even at busy
 * 90 %; one that never waited but spent most of its time blocked in handlers is not either.
 */
static void test_saturated_never_waited(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	/* Fed in time order: per 100 ns, on three threads. */
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "never-waits");
	FEED(a, 0, 2, LT_EV_COMPONENT_BEGIN, .comp = 2, .name = "waits");
	FEED(a, 0, 3, LT_EV_COMPONENT_BEGIN, .comp = 3, .name = "blocked");
	for (int64_t t = 0; t < 10000; t += 100) {
		uint64_t m = (uint64_t)t + 1;
		/* comp 1: 1 idle, 49 outside, 50 busy; comp 2: 10 idle, 90 busy; comp 3: never
		 * idle, blocked in its handler 80 of 100 */
		FEED(a, t, 1, LT_EV_WAIT_BEGIN);
		FEED(a, t, 2, LT_EV_WAIT_BEGIN);
		FEED(a, t, 3, LT_EV_HANDLE_BEGIN, .msg = m + 200000);
		FEED(a, t + 1, 1, LT_EV_WAIT_END, .chan = 1, .msg = m);
		FEED(a, t + 10, 2, LT_EV_WAIT_END, .chan = 2, .msg = m + 100000);
		FEED(a, t + 10, 2, LT_EV_HANDLE_BEGIN, .msg = m + 100000);
		FEED(a, t + 10, 3, LT_EV_BLOCK_BEGIN, .reason = 0);
		FEED(a, t + 50, 1, LT_EV_HANDLE_BEGIN, .msg = m);
		FEED(a, t + 90, 3, LT_EV_BLOCK_END);
		FEED(a, t + 100, 1, LT_EV_HANDLE_END, .msg = m);
		FEED(a, t + 100, 2, LT_EV_HANDLE_END, .msg = m + 100000);
		FEED(a, t + 100, 3, LT_EV_HANDLE_END, .msg = m + 200000);
	}
	FEED(a, 10000, 1, LT_EV_COMPONENT_END, .comp = 1);
	FEED(a, 10000, 2, LT_EV_COMPONENT_END, .comp = 2);
	FEED(a, 10000, 3, LT_EV_COMPONENT_END, .comp = 3);
	char *j = report(a);
	expect_in(j, "\"kind\": \"saturated\", \"component\": 1");
	expect_in(j, "never waited for work: idle 1.0% of its wall time (busy 50.0%)");
	LT_ASSERT(!strstr(j, "\"kind\": \"saturated\", \"component\": 2"));
	LT_ASSERT(!strstr(j, "\"kind\": \"saturated\", \"component\": 3"));
	expect_in(j, "\"kind\": \"blocks-in-handler\", \"component\": 3");
	free(j);
	lt_analysis_destroy(a);
}

/* cut-short: a component still bound when the trace ends (its thread never ended it) */
static void test_cut_short(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "done");
	FEED(a, 0, 2, LT_EV_COMPONENT_BEGIN, .comp = 2, .name = "killed");
	FEED(a, 10, 3, LT_EV_HANDLE_BEGIN, .msg = 8); /* an implicit component: no end expected */
	FEED(a, 50, 2, LT_EV_HANDLE_BEGIN, .msg = 7);
	FEED(a, 100, 1, LT_EV_COMPONENT_END, .comp = 1);
	FEED(a, 150, 4, LT_EV_COMPONENT_BEGIN, .comp = 3, .name = "worker", .preload = 1);
	FEED(a, 200, 1, LT_EV_SEND, .chan = 1, .msg = 9, .depth = 1);
	char *j = report(a);
	expect_in(j,
		  "{\"kind\": \"cut-short\", \"component\": 2, \"pid\": 100, \"name\": "
		  "\"killed\", \"message\": \"still running when the trace ends: the program was "
		  "probably killed; figures cover the recorded part only\", \"value\": 50}");
	LT_ASSERT(!strstr(j, "\"cut-short\", \"component\": 1,"));
	LT_ASSERT(!strstr(j, "\"cut-short\", \"component\": 0,")); /* implicit */
	LT_ASSERT(!strstr(j, "\"cut-short\", \"component\": 3,")); /* the interposer's thread */
	free(j);
	/* once it ends, no warning */
	FEED(a, 300, 2, LT_EV_HANDLE_END, .msg = 7);
	FEED(a, 300, 2, LT_EV_COMPONENT_END, .comp = 2);
	j = report(a);
	LT_ASSERT(!strstr(j, "cut-short"));
	free(j);
	lt_analysis_destroy(a);

	/* an --end bound that the trace passes cuts the window, not the run: no warning */
	struct lt_analysis_config cfg = {0};
	cfg.has_end_offset_ns = 1;
	cfg.end_offset_ns = 100;
	a = lt_analysis_create(&cfg);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "long");
	FEED(a, 50, 1, LT_EV_HANDLE_BEGIN, .msg = 1);
	j = report(a);
	expect_in(j, "\"kind\": \"cut-short\", \"component\": 1"); /* the bound not reached */
	free(j);
	FEED(a, 500, 1, LT_EV_HANDLE_END, .msg = 1);
	j = report(a);
	LT_ASSERT(!strstr(j, "cut-short"));
	free(j);
	lt_analysis_destroy(a);
}

static void test_lost_windows(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "early");
	FEED(a, 100, 1, LT_EV_COMPONENT_END, .comp = 1);
	FEED(a, 200, 2, LT_EV_COMPONENT_BEGIN, .comp = 2, .name = "late");
	lt_analysis_lost(a, 3, 1, 150, 250);
	FEED(a, 400, 2, LT_EV_COMPONENT_END, .comp = 2);
	char *j = report(a);
	expect_in(j, "\"lost_events\": 3, \"lost_windows\": [[150, 250]]");
	expect_in(j, "\"name\": \"early\"");
	const char *early = strstr(j, "\"name\": \"early\"");
	const char *late = strstr(j, "\"name\": \"late\"");
	LT_ASSERT(early && late && early < late);
	const char *lo1 = strstr(early, "\"lost_overlap\": ");
	const char *lo2 = strstr(late, "\"lost_overlap\": ");
	LT_ASSERT(lo1 && lo2 && lo1 < late);
	LT_ASSERT(strncmp(lo1, "\"lost_overlap\": false", 21) == 0);
	LT_ASSERT(strncmp(lo2, "\"lost_overlap\": true", 20) == 0);
	expect_in(j, "\"kind\": \"lost-events\"");
	free(j);
	lt_analysis_destroy(a);

	/* a loss without a known window taints everything */
	a = lt_analysis_create(NULL);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "x");
	lt_analysis_lost(a, 2, 0, 0, 0);
	j = report(a);
	expect_in(j, "\"lost_without_window\": 1");
	expect_in(j, "\"lost_overlap\": true");
	free(j);
	lt_analysis_destroy(a);
}

static void test_backwards_and_window(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1);
	FEED(a, 100, 1, LT_EV_HANDLE_BEGIN);
	FEED(a, 50, 1, LT_EV_HANDLE_END); /* clamped to 100 */
	FEED(a, 200, 1, LT_EV_WAIT_BEGIN);
	check_identity(a);
	expect_times(a, 0, 0, 0, 0, 0, 200, 200);
	char *j = report(a);
	expect_in(j, "\"time_backwards\": 1");
	expect_in(j, "\"name\": \"comp-1\"");
	free(j);
	lt_analysis_destroy(a);

	/* across threads: thread 1 handles at 100 the message thread 2 sent at 200 (out of the
	 * muxed order): clamped to the latest time, never a negative queue wait */
	a = lt_analysis_create(NULL);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "rx");
	FEED(a, 0, 2, LT_EV_COMPONENT_BEGIN, .comp = 2, .name = "tx");
	FEED(a, 200, 2, LT_EV_SEND, .chan = 1, .msg = 4, .depth = 1);
	FEED(a, 100, 1, LT_EV_HANDLE_BEGIN, .msg = 4);
	FEED(a, 150, 1, LT_EV_HANDLE_END, .msg = 4);
	FEED(a, 300, 1, LT_EV_COMPONENT_END, .comp = 1);
	FEED(a, 300, 2, LT_EV_COMPONENT_END, .comp = 2);
	check_identity(a);
	expect_times(a, 0, 0, 0, 0, 0, 300, 300);
	LT_ASSERT_EQ_U(a->comps.v[0].qwait.count, 1);
	LT_ASSERT_EQ_U(a->comps.v[0].qwait.max, 0);
	LT_ASSERT_EQ_U(a->comps.v[0].handle.max, 0);
	j = report(a);
	expect_in(j, "\"time_backwards\": 2");
	expect_in(j, "\"queue_ns\": 0,");
	free(j);
	lt_analysis_destroy(a);

	struct lt_analysis_config cfg = {0};
	cfg.has_begin_offset_ns = 1;
	cfg.begin_offset_ns = 100;
	cfg.has_end_offset_ns = 1;
	cfg.end_offset_ns = 300;
	cfg.trace_path = "/tmp/t\"x";
	a = lt_analysis_create(&cfg);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1); /* before the window */
	FEED(a, 50, 1, LT_EV_HANDLE_BEGIN);
	FEED(a, 200, 1, LT_EV_HANDLE_END); /* first kept: handling since 100 */
	FEED(a, 250, 2, LT_EV_WAIT_BEGIN);
	FEED(a, 350, 1, LT_EV_WAIT_BEGIN); /* after */
	check_identity(a);
	expect_times(a, comp_index(a, 0, 1, 1), 100, 0, 0, 0, 100, 200);
	j = report(a);
	expect_in(j, "\"path\": \"/tmp/t\\\"x\", \"begin_ns\": 100, \"end_ns\": 300");
	expect_in(j, "\"filtered_events\": 3");
	free(j);
	lt_analysis_destroy(a);
}

static void test_series(void)
{
	struct lt_analysis_config cfg = {0};
	cfg.series_interval_ns = 100;
	struct lt_analysis *a = lt_analysis_create(&cfg);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1);
	FEED(a, 50, 1, LT_EV_HANDLE_BEGIN);
	FEED(a, 250, 1, LT_EV_HANDLE_END);
	FEED(a, 260, 1, LT_EV_BLOCK_BEGIN, .reason = 7);
	FEED(a, 320, 1, LT_EV_BLOCK_END);
	FEED(a, 350, 1, LT_EV_HANDLE_BEGIN); /* open at the end: counted up to 380 */
	FEED(a, 380, 2, LT_EV_WAIT_BEGIN);
	char *j = report(a);
	expect_in(j, "\"series\": [{\"t_ns\": 0, \"messages\": 0, \"busy_ns\": 50, \"blocked_ns\": "
		     "0, \"runnable_ns\": 0}, "
		     "{\"t_ns\": 100, \"messages\": 0, \"busy_ns\": 100, \"blocked_ns\": 0, "
		     "\"runnable_ns\": 0}, "
		     "{\"t_ns\": 200, \"messages\": 1, \"busy_ns\": 50, \"blocked_ns\": 40, "
		     "\"runnable_ns\": 0}, "
		     "{\"t_ns\": 300, \"messages\": 0, \"busy_ns\": 30, \"blocked_ns\": 20, "
		     "\"runnable_ns\": 0}]");
	free(j);
	lt_analysis_destroy(a);

	/* adaptive interval: 10 ms doubling, never more than 512 points */
	a = lt_analysis_create(NULL);
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 1);
	FEED(a, 0, 1, LT_EV_HANDLE_BEGIN);
	FEED(a, 60000000000LL, 1, LT_EV_HANDLE_END); /* 60 s */
	LT_ASSERT_EQ_U(a->series_interval, 160000000u);
	LT_ASSERT_CMP_U(a->series_used, <=, 512);
	uint64_t sum = 0;
	for (uint32_t i = 0; i < a->series_cap; i++) {
		uint64_t col[LT_S_COLS];

		lt__series_get(a, &a->comps.v[0], i, col);
		sum += col[LT_S_BUSY];
	}
	LT_ASSERT_EQ_U(sum, 60000000000ULL);
	free(report(a));
	lt_analysis_destroy(a);
}

/* heap_bytes - bytes allocated on the heap now (the sanitizers' allocator or glibc's). */
static size_t heap_bytes(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
#endif
}

/*
 * Memory per component: 2,000 components, each on its own thread with its own channel,
 * handle 10 messages each (1-100 us) spread over 10 s. The analysis must hold them in a few
 * KiB each (it took about 20 KiB: a dense 512-point series and 2 KiB histograms up front),
 * and the report must still say what each one did.
 */
static void test_memory_per_component(void)
{
	enum { N = 2000, M = 10 };
	const int64_t t0 = 1000000000, span = 10000000000;
	size_t before = heap_bytes(), per_comp;
	struct lt_analysis *a = lt_analysis_create(NULL);
	char name[32];
	uint64_t msg = 1, busy_total = 0;

	LT_ASSERT(a != NULL);
	for (uint32_t c = 0; c < N; c++) {
		snprintf(name, sizeof(name), "comp-%u", c);
		FEED(a, t0 + c, 1000 + c, LT_EV_COMPONENT_BEGIN, .comp = c + 1, .name = name);
		snprintf(name, sizeof(name), "chan-%u", c);
		FEED(a, t0 + c, 1000 + c, LT_EV_CHANNEL_DECLARE, .chan = c + 1, .capacity = 64,
		     .name = name);
		FEED(a, t0 + c, 1000 + c, LT_EV_WAIT_BEGIN);
	}
	for (uint32_t r = 0; r < M; r++) {
		int64_t base = t0 + N + (int64_t)r * (span / M), step = span / M / N;

		for (uint32_t c = 0; c < N; c++) {
			int64_t t = base + (int64_t)c * step;
			int64_t busy = 1000 + (int64_t)((c * 7919u + r) % 100u) * 1000;

			FEED(a, t, 1000 + (c + N - 1) % N, LT_EV_SEND, .chan = c + 1, .msg = msg,
			     .depth = 1);
			FEED(a, t + 100, 1000 + c, LT_EV_RECV, .chan = c + 1, .msg = msg);
			FEED(a, t + 100, 1000 + c, LT_EV_WAIT_END, .chan = c + 1, .msg = msg);
			FEED(a, t + 200, 1000 + c, LT_EV_HANDLE_BEGIN, .msg = msg, .name = "work");
			FEED(a, t + 200 + busy, 1000 + c, LT_EV_HANDLE_END, .msg = msg);
			FEED(a, t + 200 + busy, 1000 + c, LT_EV_WAIT_BEGIN);
			busy_total += (uint64_t)busy;
			msg++;
		}
	}
	per_comp = (heap_bytes() - before) / N;
	fprintf(stderr, "   %zu bytes per component\n", per_comp);
	LT_ASSERT_CMP_U(per_comp, <=, 4096);
	/* Still every figure: each component's messages and busy time, in its series too. */
	uint64_t series_busy = 0, series_msgs = 0, busy = 0;
	for (uint32_t i = 0; i < a->comps.n; i++) {
		uint64_t t[LT_T_COUNT], wall;

		LT_ASSERT_EQ_U(a->comps.v[i].messages, M);
		lt__comp_effective(a, i, t, &wall);
		busy += t[LT_T_BUSY];
		for (uint32_t b = 0; b < a->series_cap; b++) {
			uint64_t col[LT_S_COLS];

			lt__series_get(a, &a->comps.v[i], b, col);
			series_busy += col[LT_S_BUSY];
			series_msgs += col[LT_S_MSGS];
		}
	}
	LT_ASSERT_EQ_U(busy, busy_total);
	LT_ASSERT_EQ_U(series_busy, busy_total);
	LT_ASSERT_EQ_U(series_msgs, (uint64_t)N * M);
	check_identity(a);
	lt_analysis_destroy(a);
}

/* ---------------------------------------------------------------------------------------- */
/* random streams: robustness, the identity, and snapshots */

static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)((rng_state >> 33) % n);
}

static void random_event(struct lt_event *e, int64_t *ts)
{
	static const char *names[] = {"alpha", "b\xff", "", "\x7f\x01z", NULL};
	memset(e, 0, sizeof(*e));
	*ts += rnd(4) == 0 ? 0 : rnd(1000);
	e->ts_ns = *ts - (rnd(200) == 0 ? 500 : 0);
	if (rnd(2000) == 0) /* absurd clocks must not break anything */
		e->ts_ns = rnd(2) ? INT64_MIN : INT64_MAX;
	e->vpid = 1 + rnd(2);
	e->vtid = 1 + rnd(6);
	e->kind = (enum lt_ev_kind)rnd(LT_EV_KIND_COUNT + 1);
	e->comp = rnd(5);
	e->chan = rnd(5);
	e->capacity = rnd(4);
	e->route = rnd(3);
	e->owner = rnd(5);
	e->reason = rnd(12);
	e->depth = rnd(10);
	e->msg = rnd(40);
	e->flow = rnd(3) ? 0 : rnd(40);
	e->object = rnd(3);
	e->where = rnd(3);
	e->name = names[rnd(5)];
	e->procname = "p";
	e->preload = rnd(3) == 0; /* the interposer's events: loop tops held and replayed */
	e->call = rnd(50);
	e->cpu_ns = rnd(3) ? 0 : (uint64_t)*ts;
}

static char *run_stream(uint64_t seed, int n, int snap_at, char **snap)
{
	rng_state = seed;
	int64_t ts = 1000;
	struct lt_analysis *a = lt_analysis_create(NULL);
	for (int i = 0; i < n; i++) {
		struct lt_event e;
		random_event(&e, &ts);
		if (rnd(300) == 0)
			lt_analysis_lost(a, 1 + rnd(5), rnd(2), ts - 100, ts);
		lt_analysis_feed(a, &e);
		if (i + 1 == snap_at && snap)
			*snap = report(a);
		if (i % 97 == 0)
			check_identity(a);
	}
	check_identity(a);
	char *j = report(a);
	lt_analysis_destroy(a);
	return j;
}

/*
 * The interposer's events (preload = 1) name threads and add blocks, but yield to the
 * program's own instrumentation: no rename of an API component, no block counted inside an
 * API wait or block; a repeated component_begin of the same component is a rename.
 */
static void test_preload_yields(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	/* thread 1: an API component; the interposer's thread naming and the epoll inside the
	 * top-of-loop wait are ignored, a mutex inside the handler counts. */
	FEED(a, 0, 1, LT_EV_COMPONENT_BEGIN, .comp = 0x80000001u, .name = "t1", .preload = 1);
	FEED(a, 100, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "api");
	FEED(a, 100, 1, LT_EV_WAIT_BEGIN);
	FEED(a, 200, 1, LT_EV_BLOCK_BEGIN, .reason = 7, .preload = 1);
	FEED(a, 500, 1, LT_EV_BLOCK_END, .preload = 1);
	FEED(a, 600, 1, LT_EV_WAIT_END, .chan = 1, .msg = 9);
	FEED(a, 600, 1, LT_EV_HANDLE_BEGIN, .msg = 9, .name = "m");
	FEED(a, 650, 1, LT_EV_COMPONENT_BEGIN, .comp = 0x80000001u, .name = "x", .preload = 1);
	FEED(a, 700, 1, LT_EV_BLOCK_BEGIN, .reason = 2, .preload = 1);
	FEED(a, 900, 1, LT_EV_BLOCK_END, .preload = 1);
	FEED(a, 1000, 1, LT_EV_HANDLE_END, .msg = 9);
	FEED(a, 1100, 1, LT_EV_COMPONENT_END, .comp = 1);
	int32_t ci = comp_index(a, 1, 0, 0);
	expect_times(a, ci, 200, 500, 200, 0, 100, 1000);
	LT_ASSERT_STREQ(a->comps.v[ci].name, "api");
	LT_ASSERT_EQ_U(a->an.preload_yielded, 2);
	/* thread 2 (later: events come in time order): only the interposer speaks; its rename
	 * keeps the binding and the block. Its two condvar waits at one call site are its loop
	 * top (docs/interposer.md): outside until the first, idle in them, an iteration (busy)
	 * from the first's return to the second, and busy again until the thread ends. */
	FEED(a, 2000, 2, LT_EV_COMPONENT_BEGIN, .comp = 0x80000002u, .name = "w", .preload = 1);
	FEED(a, 2100, 2, LT_EV_BLOCK_BEGIN, .reason = 3, .preload = 1);
	FEED(a, 2400, 2, LT_EV_BLOCK_END, .preload = 1);
	FEED(a, 2500, 2, LT_EV_COMPONENT_BEGIN, .comp = 0x80000002u, .name = "worker",
	     .preload = 1);
	FEED(a, 2600, 2, LT_EV_BLOCK_BEGIN, .reason = 3, .preload = 1);
	FEED(a, 2800, 2, LT_EV_BLOCK_END, .preload = 1);
	FEED(a, 3000, 2, LT_EV_COMPONENT_END, .comp = 0x80000002u, .preload = 1);
	int32_t cw = comp_index(a, 0x80000002u, 0, 0);
	expect_times(a, cw, 400, 500, 0, 0, 100, 1000);
	LT_ASSERT_EQ_U(a->comps.v[cw].messages, 1);
	LT_ASSERT_STREQ(a->comps.v[cw].name, "worker");
	LT_ASSERT_EQ_U(a->an.nested_component_begin, 0);
	check_identity(a);
	lt_analysis_destroy(a);
}

/*
 * loop_stream - an interposed thread (tid 5) whose loop waits in epoll_wait (where 0x11000);
 * its handler blocks on a mutex (0x12000) and a condvar (0x13000, more waits than the loop
 * top but a lower class); one condvar wait before the loop.
 */
static void loop_stream(struct lt_analysis *a)
{
	FEED(a, 0, 5, LT_EV_COMPONENT_BEGIN, .comp = 0x80000005u, .name = "loop", .preload = 1,
	     .cpu_ns = 1000);
#define BB(ts, r, c, w)                                                                            \
	FEED(a, ts, 5, LT_EV_BLOCK_BEGIN, .reason = r, .call = c, .where = w, .preload = 1)
#define BE(ts) FEED(a, ts, 5, LT_EV_BLOCK_END, .preload = 1)
	BB(100, 3, 4, 0x13000);
	BE(200);
	BB(300, 7, 24, 0x11000);
	FEED(a, 1300, 5, LT_EV_BLOCK_END, .preload = 1, .cpu_ns = 1100);
	BB(1400, 2, 1, 0x12000);
	BE(1600);
	BB(1650, 3, 4, 0x13000);
	BE(1700);
	BB(1800, 7, 24, 0x11000);
	BE(2800);
	BB(2900, 2, 1, 0x12000);
	BE(3000);
	BB(3050, 3, 4, 0x13000);
	BE(3100);
	BB(3150, 3, 4, 0x13000);
	BE(3200);
	BB(3300, 7, 24, 0x11000);
	BE(3500);
#undef BB
#undef BE
	FEED(a, 3600, 5, LT_EV_COMPONENT_END, .comp = 0x80000005u, .preload = 1, .cpu_ns = 2000);
}

/*
 * Loop tops of interposed threads (docs/interposer.md): detected by class before count, the
 * time split around it exact, iterations as messages, a given call site winning, the held
 * events bounded, CPU time between readings.
 */
static void test_loop_top(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	loop_stream(a);
	lt_analysis_settle(a, 1);
	int32_t ci = comp_index(a, 0x80000005u, 0, 0);
	/* outside 0-100, 200-300; blocked outside 100-200; idle in the three epoll waits;
	 * iterations 1300-1800 (250 blocked), 2800-3300 (200 blocked) and 3500-3600 */
	expect_times(a, ci, 650, 2200, 450, 100, 200, 3600);
	LT_ASSERT_EQ_U(a->comps.v[ci].messages, 2);
	LT_ASSERT_EQ_U(a->comps.v[ci].cpu_ns, 1000);
	char *json = report(a);
	expect_in(json, "\"loop_top\": {\"how\": \"detected\", \"call\": \"epoll_wait\", "
			"\"reason\": \"io\", \"where\": \"0x11000\"");
	expect_in(json, "\"cpu_ns\": 1000");
	expect_in(json, "\"call\": \"pthread_mutex_lock\"");
	free(json);
	check_identity(a);
	lt_analysis_destroy(a);

	/* given: the mutex's call site, named as the report prints it */
	a = lt_analysis_create(NULL);
	LT_ASSERT_EQ_I(lt_analysis_loop_top(a, "prog"), -1);
	LT_ASSERT_EQ_I(lt_analysis_loop_top(a, "prog+0x20-0x10"), -1);
	LT_ASSERT_EQ_I(lt_analysis_loop_top(a, "prog+0x1fff"), 0);
	LT_ASSERT_EQ_I(lt_analysis_object(a, PID, 0x10000, 0x10000, "/opt/prog", 1), 0);
	loop_stream(a);
	lt_analysis_settle(a, 1);
	ci = comp_index(a, 0x80000005u, 0, 0);
	LT_ASSERT_EQ_U(a->comps.v[ci].time[LT_T_IDLE], 300);
	json = report(a);
	expect_in(json, "\"loop_top\": {\"how\": \"given\", \"call\": \"pthread_mutex_lock\"");
	expect_in(json, "\"given\": \"prog+0x1fff\"");
	free(json);
	check_identity(a);
	lt_analysis_destroy(a);

	/* one wait is no loop (but a worker's one wait for work is, at the end); a thread that
	 * only locks keeps no more than its held events */
	a = lt_analysis_create(NULL);
	FEED(a, 0, 6, LT_EV_COMPONENT_BEGIN, .comp = 0x80000006u, .name = "once", .preload = 1);
	FEED(a, 10, 6, LT_EV_BLOCK_BEGIN, .reason = 6, .call = 16, .where = 0x20, .preload = 1);
	FEED(a, 20, 6, LT_EV_BLOCK_END, .preload = 1);
	FEED(a, 25, 8, LT_EV_COMPONENT_BEGIN, .comp = 0x80000008u, .name = "idle", .preload = 1);
	FEED(a, 26, 8, LT_EV_BLOCK_BEGIN, .reason = 3, .call = 4, .where = 0x40, .preload = 1);
	FEED(a, 30, 7, LT_EV_COMPONENT_BEGIN, .comp = 0x80000007u, .name = "locker", .preload = 1);
	for (int64_t i = 0; i < 5000; i++) {
		FEED(a, 100 + 10 * i, 7, LT_EV_BLOCK_BEGIN, .reason = 2, .call = 1, .where = 0x30,
		     .preload = 1);
		FEED(a, 105 + 10 * i, 7, LT_EV_BLOCK_END, .preload = 1);
	}
	lt_analysis_settle(a, 0);
	int32_t c6 = comp_index(a, 0x80000006u, 0, 0), c7 = comp_index(a, 0x80000007u, 0, 0);
	int32_t c8 = comp_index(a, 0x80000008u, 0, 0);
	LT_ASSERT_EQ_U(a->comps.v[c6].loop, 0); /* not decided by a snapshot */
	LT_ASSERT_EQ_U(a->comps.v[c8].loop, 0);
	LT_ASSERT(a->comps.v[c7].time[LT_T_BO] >= 5 * 4600); /* held events flushed */
	lt_analysis_settle(a, 1);
	LT_ASSERT_EQ_U(a->comps.v[c6].loop, 0);
	LT_ASSERT_EQ_U(a->comps.v[c6].time[LT_T_BO], 10);
	LT_ASSERT(a->comps.v[c8].loop != 0);
	uint64_t t8[LT_T_COUNT], w8;
	lt__comp_effective(a, (uint32_t)c8, t8, &w8);
	LT_ASSERT_EQ_U(t8[LT_T_IDLE], w8 - 1); /* waiting since 26, born at 25 */
	LT_ASSERT_EQ_U(a->comps.v[c7].time[LT_T_BO], 5 * 5000);
	check_identity(a);
	lt_analysis_destroy(a);
}

static void test_random_and_snapshots(void)
{
	for (uint64_t seed = 1; seed <= 30; seed++) {
		int n = 3000, cut = 1 + (int)(seed * 97 % 2999);
		char *snap = NULL;
		char *full_with_snap = run_stream(seed, n, cut, &snap);
		char *full = run_stream(seed, n, -1, NULL);
		char *truncated = run_stream(seed, cut, -1, NULL);
		LT_ASSERT(snap != NULL);
		/* the snapshot equals the final report of the stream cut there ... */
		if (strcmp(snap, truncated) != 0)
			lt_test_fail(__FILE__, __LINE__,
				     "seed %llu: snapshot differs from truncated",
				     (unsigned long long)seed);
		/* ... and did not disturb the rest of the stream */
		if (strcmp(full_with_snap, full) != 0)
			lt_test_fail(__FILE__, __LINE__, "seed %llu: snapshot disturbed the stream",
				     (unsigned long long)seed);
		free(snap);
		free(full_with_snap);
		free(full);
		free(truncated);
	}
}

int main(void)
{
	LT_RUN(test_intervals);
	LT_RUN(test_unknown_depths);
	LT_RUN(test_preload_yields);
	LT_RUN(test_loop_top);
	LT_RUN(test_nesting);
	LT_RUN(test_unmatched_and_names);
	LT_RUN(test_mid_handler);
	LT_RUN(test_flows_three_hops);
	LT_RUN(test_recv_before_send);
	LT_RUN(test_handled_before_send);
	LT_RUN(test_routes);
	LT_RUN(test_send_blocked_and_parallelism);
	LT_RUN(test_warnings);
	LT_RUN(test_handle_next);
	LT_RUN(test_handler_exact_bounds);
	LT_RUN(test_saturated_never_waited);
	LT_RUN(test_cut_short);
	LT_RUN(test_lost_windows);
	LT_RUN(test_backwards_and_window);
	LT_RUN(test_series);
	LT_RUN(test_unnamed);
	LT_RUN(test_memory_per_component);
	LT_RUN(test_random_and_snapshots);
	LT_RUN(test_cross_process);
	LT_RUN(test_same_name_not_ipc);
	LT_RUN(test_channel_groups);
	LT_RUN(test_cross_host_short_waits);
	LT_RUN(test_reply_received_in_handler);
	return 0;
}
