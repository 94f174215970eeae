/*
 * test_libtrace.c - liblooptrace without probes: ids, reason names, and every call safe from
 * any thread (label `unit`; also runs under the ASan/UBSan and TSan builds).
 */
#include "looptrace/trace.h"

#include "lt_test.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define THREADS    4
#define PER_THREAD 10000

static void test_reason_names(void)
{
	static const char *const names[LT_BLOCK_REASON_COUNT] = {
	    "chan_recv", "chan_send", "mutex", "condvar", "rwlock",
	    "sem",       "sleep",     "io",    "join",    "call",
	};

	for (int r = 0; r < LT_BLOCK_REASON_COUNT; r++)
		LT_ASSERT_STREQ(lt_block_reason_name((enum lt_block_reason)r), names[r]);
	LT_ASSERT_STREQ(lt_block_reason_name((enum lt_block_reason)LT_BLOCK_REASON_COUNT),
			"unknown");
	LT_ASSERT_STREQ(lt_block_reason_name((enum lt_block_reason) - 1), "unknown");
	LT_ASSERT_EQ_I(LT_BLOCK_CALL, 9);
}

static void test_ids_start_at_one_and_increase(void)
{
	uint32_t c1 = lt_channel_declare("a", 4), c2 = lt_channel_declare(NULL, 0);
	uint64_t m1 = lt_message_new(), m2 = lt_message_new();
	uint32_t r1 = lt_route_add(c1, 0), r2 = lt_route_add(0, 0);

	LT_ASSERT_EQ_U(c1, 1);
	LT_ASSERT_EQ_U(c2, 2);
	LT_ASSERT_EQ_U(m1, 1);
	LT_ASSERT_EQ_U(m2, 2);
	LT_ASSERT_EQ_U(r1, 1);
	LT_ASSERT_EQ_U(r2, 2);
	lt_route_remove(r1);
	lt_route_remove(r2);
}

/* Every call, with NULL strings and odd values: none may crash without probes. */
static void test_every_call(void)
{
	uint32_t comp = lt_component_begin(NULL);
	uint64_t msg = lt_message_new();

	LT_ASSERT_CMP_U(comp, >=, 1);
	lt_wait_begin();
	lt_wait_end(0, 0);
	lt_handle_begin(msg, NULL);
	lt_block_begin(LT_BLOCK_MUTEX, &comp);
	lt_block_end();
	lt_block_begin((enum lt_block_reason)99, NULL);
	lt_block_end();
	lt_send(1, msg, 0, 1);
	lt_recv(1, msg, 0);
	lt_route_dispatch_begin(1, msg);
	lt_route_dispatch_end(1);
	lt_handle_end(msg);
	lt_component_end();
	lt_component_end(); /* twice: still safe */
	LT_ASSERT_EQ_I(lt_tracing_available(), 0);
}

struct ids {
	uint64_t msgs[PER_THREAD];
	uint32_t comp;
};

static void *alloc_ids(void *arg)
{
	struct ids *ids = arg;

	ids->comp = lt_component_begin("worker");
	for (int i = 0; i < PER_THREAD; i++) {
		ids->msgs[i] = lt_message_new();
		lt_send(1, ids->msgs[i], 0, 0);
	}
	lt_component_end();
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Ids allocated concurrently are all distinct. */
static void test_ids_unique_across_threads(void)
{
	static struct ids ids[THREADS];
	static uint64_t all[THREADS * PER_THREAD];
	pthread_t t[THREADS];

	for (int i = 0; i < THREADS; i++)
		LT_ASSERT_EQ_I(pthread_create(&t[i], NULL, alloc_ids, &ids[i]), 0);
	for (int i = 0; i < THREADS; i++)
		LT_ASSERT_EQ_I(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < THREADS; i++) {
		memcpy(&all[i * PER_THREAD], ids[i].msgs, sizeof(ids[i].msgs));
		for (int j = i + 1; j < THREADS; j++)
			LT_ASSERT(ids[i].comp != ids[j].comp);
	}
	qsort(all, THREADS * PER_THREAD, sizeof(all[0]), cmp_u64);
	for (int i = 1; i < THREADS * PER_THREAD; i++)
		LT_ASSERT_CMP_U(all[i - 1], <, all[i]);
}

/* A reservation is a range no other allocation touches; count 0 reserves nothing. */
static void test_message_reserve(void)
{
	uint64_t before = lt_message_new();
	uint64_t first = lt_message_reserve(1000);
	uint64_t again = lt_message_reserve(1);

	LT_ASSERT_EQ_U(lt_message_reserve(0), 0);
	LT_ASSERT_CMP_U(first, >, before);
	LT_ASSERT(again >= first + 1000);
	/* lt_message_new hands out ids from blocks taken before or after the range only. */
	for (int i = 0; i < 3000; i++) {
		uint64_t id = lt_message_new();

		LT_ASSERT(id < first || id >= first + 1000);
		LT_ASSERT(id != again);
	}
}

int main(void)
{
	/* Order matters: the first test checks that the counters start at 1. */
	LT_RUN(test_ids_start_at_one_and_increase);
	LT_RUN(test_reason_names);
	LT_RUN(test_every_call);
	LT_RUN(test_ids_unique_across_threads);
	LT_RUN(test_message_reserve);
	return 0;
}
