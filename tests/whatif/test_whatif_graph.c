/*
 * test_whatif_graph.c - the message graph the analysis core writes for `looptrace whatif`
 * (lt_analysis_graph_output), on a synthetic event sequence whose graph is written out by
 * hand: a source thread back-pressured on a bounded channel, a handler that sends a request
 * and waits inside for the reply, the request's handler, a route dispatch (of a route the
 * handler added) that sends the reply, a timer tick, and a handler cut by its component's end.
 */
#include "lt_test.h"
#include "looptrace/analysis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PID 7

#define FEED(a, ts_, tid_, kind_, ...)                                                             \
	do {                                                                                       \
		struct lt_event e_ = {                                                             \
		    .ts_ns = (ts_), .vpid = PID, .vtid = (tid_), .kind = (kind_), __VA_ARGS__};    \
		LT_ASSERT_EQ_I(lt_analysis_feed((a), &e_), 0);                                     \
	} while (0)

static const char expected[] = "G looptrace-graph/1\n"
			       "T 0 7 1\n"
			       "N 0 7 1 \"in\"\n"
			       "N 1 7 0 \"req\"\n"
			       "N 2 7 0 \"reply\"\n"
			       "C 0 7 7:1 \"script\"\n"
			       "K 0 0 5\n"
			       "T 1 7 2\n"
			       "C 1 7 7:2 \"net\"\n"
			       "K 1 1 5\n"
			       "T 2 7 3\n"
			       "C 2 7 7:3 \"router\"\n"
			       "K 2 2 5\n"
			       "T 3 7 9\n"
			       "s 3 10 10 0 1 0\n"
			       "B 0 0 20 1 0 0 20 \"input\"\n"
			       "a 0 25 4 0 1\n"
			       "b 3 12 30 1\n"
			       "s 3 32 12 0 11 0\n"
			       "s 0 40 40 1 2 1\n"
			       "B 1 1 50 2 0 1 50 \"fetch\"\n"
			       "E 1 60 52 58\n"
			       "B 2 2 80 99 4 -1 0 \"(route)\"\n"
			       "s 2 85 85 2 3 1\n"
			       "E 2 88 0 0\n"
			       "w 0 45 90 0\n"
			       "r 0 91 2 3\n"
			       "E 0 100 21 99\n"
			       "B 1 1 110 0 0 -1 0 \"tick\"\n"
			       "E 1 112 0 0\n"
			       "B 0 0 120 11 0 0 120 \"input\"\n"
			       "X 0 130\n"
			       "k 0 130\n";

static void test_graph_lines(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *g = open_memstream(&buf, &len);
	LT_ASSERT(g != NULL);
	struct lt_analysis *a = lt_analysis_create(NULL);
	LT_ASSERT(a != NULL);
	LT_ASSERT_EQ_I(lt_analysis_graph_output(a, g), 0);
	FEED(a, 1, 1, LT_EV_CHANNEL_DECLARE, .chan = 1, .name = "in", .capacity = 1);
	FEED(a, 1, 1, LT_EV_CHANNEL_DECLARE, .chan = 2, .name = "req");
	FEED(a, 1, 1, LT_EV_CHANNEL_DECLARE, .chan = 3, .name = "reply");
	FEED(a, 5, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "script");
	FEED(a, 5, 2, LT_EV_COMPONENT_BEGIN, .comp = 2, .name = "net");
	FEED(a, 5, 3, LT_EV_COMPONENT_BEGIN, .comp = 3, .name = "router");
	/* the source (thread 9, no component) sends 1, then waits for room to send 11 */
	FEED(a, 10, 9, LT_EV_SEND, .chan = 1, .msg = 1, .depth = 1);
	FEED(a, 12, 9, LT_EV_BLOCK_BEGIN, .reason = 1 /* chan_send */);
	/* script takes 1 at once (handle_next): route 4, request 2 on 1's flow, waits */
	FEED(a, 20, 1, LT_EV_HANDLE_NEXT, .chan = 1, .msg = 1, .depth = 0, .name = "input");
	FEED(a, 25, 1, LT_EV_ROUTE_ADD, .route = 4, .chan = 0, .owner = 1);
	FEED(a, 30, 9, LT_EV_BLOCK_END);
	FEED(a, 32, 9, LT_EV_SEND, .chan = 1, .msg = 11, .depth = 1);
	FEED(a, 40, 1, LT_EV_SEND, .chan = 2, .msg = 2, .flow = 1, .depth = 1);
	FEED(a, 45, 1, LT_EV_BLOCK_BEGIN, .reason = 0 /* chan_recv */, .object = 0x99);
	/* net handles the request */
	FEED(a, 50, 2, LT_EV_HANDLE_NEXT, .chan = 2, .msg = 2, .depth = 0, .name = "fetch");
	FEED(a, 60, 2, LT_EV_HANDLE_END, .msg = 2, .begin_ns = 52, .end_ns = 58);
	/* the router dispatches fd message 99 on route 4 and sends the reply 3 on flow 1 */
	FEED(a, 78, 3, LT_EV_WAIT_BEGIN);
	FEED(a, 79, 3, LT_EV_WAIT_END, .chan = 0, .msg = 0);
	FEED(a, 80, 3, LT_EV_ROUTE_DISPATCH_BEGIN, .route = 4, .msg = 99);
	FEED(a, 85, 3, LT_EV_SEND, .chan = 3, .msg = 3, .flow = 1, .depth = 1);
	FEED(a, 88, 3, LT_EV_ROUTE_DISPATCH_END, .route = 4);
	/* script wakes, receives the reply, finishes */
	FEED(a, 90, 1, LT_EV_BLOCK_END);
	FEED(a, 91, 1, LT_EV_RECV, .chan = 3, .msg = 3, .depth = 0);
	FEED(a, 100, 1, LT_EV_HANDLE_END, .msg = 1, .begin_ns = 21, .end_ns = 99);
	/* a tick of net, without exact bounds */
	FEED(a, 110, 2, LT_EV_HANDLE_BEGIN, .msg = 0, .name = "tick");
	FEED(a, 112, 2, LT_EV_HANDLE_END, .msg = 0);
	/* script starts 11 and stops before its end */
	FEED(a, 120, 1, LT_EV_HANDLE_NEXT, .chan = 1, .msg = 11, .depth = 0, .name = "input");
	FEED(a, 130, 1, LT_EV_COMPONENT_END, .comp = 1);
	LT_ASSERT_EQ_I(lt_analysis_graph_output(a, NULL), 0);
	/* no more lines once stopped */
	FEED(a, 140, 2, LT_EV_HANDLE_BEGIN, .msg = 0, .name = "tick");
	fclose(g);
	if (strcmp(buf, expected) != 0)
		lt_test_fail(__FILE__, __LINE__, "graph differs:\n%s\nexpected:\n%s", buf,
			     expected);
	free(buf);
	lt_analysis_destroy(a);
}

/* Without graph output nothing is written and the analysis is the same. */
static void test_no_graph(void)
{
	struct lt_analysis *a = lt_analysis_create(NULL);
	FEED(a, 5, 1, LT_EV_COMPONENT_BEGIN, .comp = 1, .name = "x");
	FEED(a, 6, 1, LT_EV_HANDLE_BEGIN, .msg = 3);
	FEED(a, 9, 1, LT_EV_HANDLE_END, .msg = 3);
	LT_ASSERT_EQ_U(lt_analysis_events(a), 3);
	lt_analysis_destroy(a);
}

int main(void)
{
	LT_RUN(test_graph_lines);
	LT_RUN(test_no_graph);
	return 0;
}
