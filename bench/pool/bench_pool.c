/*
 * bench_pool.c - the cost of sequences: (1) one fiber switch (resume + suspend, fiber.c's own
 * code, compiled in), (2) a ping-pong round trip between two components over bounded channels,
 * as two sequences on a one-thread pool (every hop is a suspend and a resume on the same
 * worker) and as two thread components (futex wakeups, or spinning when both have a CPU).
 * Prints `figure <name> <value> <unit>` lines.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <looptrace/rt/rt.h>

#include "rt_internal.h"

static struct lt__fiber fib;
static struct lt__fiber_host host;
static volatile long switches;

static void fiber_body(void *arg)
{
	(void)arg;
	for (;;) {
		switches++;
		lt__fiber_suspend(&fib);
	}
}

static double bench_switch(long n)
{
	uint64_t t0, t1;

	if (lt__fiber_init(&fib, 64 * 1024, fiber_body, NULL) != LT_OK)
		exit(1);
	lt__fiber_resume(&host, &fib); /* warm */
	t0 = lt_rt_now_ns();
	for (long i = 0; i < n; i++)
		lt__fiber_resume(&host, &fib);
	t1 = lt_rt_now_ns();
	/* Each iteration is two switches: into the fiber and back. */
	return (double)(t1 - t0) / (2.0 * (double)n);
}

struct pp {
	struct lt_chan *ping, *pong;
	long rounds;
	_Atomic long done;
};

static void on_ping(struct lt_comp *c, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct pp *p = arg;

	(void)c;
	(void)info;
	lt_chan_send(p->pong, msg);
}

static void on_pong(struct lt_comp *c, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct pp *p = arg;
	long v = (long)(intptr_t)msg;

	(void)c;
	(void)info;
	if (v + 1 < p->rounds)
		lt_chan_send(p->ping, (void *)(intptr_t)(v + 1));
	else
		atomic_store(&p->done, 1);
}

static double bench_pingpong(long rounds, struct lt_pool *pool)
{
	struct lt_comp *a, *b;
	struct pp p = {.rounds = rounds};
	uint64_t t0, t1;

	lt_chan_create("ping", 16, NULL, &p.ping);
	lt_chan_create("pong", 16, NULL, &p.pong);
	lt_comp_create("pinger", &a);
	lt_comp_create("ponger", &b);
	lt_comp_add_handler(a, p.pong, NULL, on_pong, &p);
	lt_comp_add_handler(b, p.ping, NULL, on_ping, &p);
	lt_comp_set_pool(a, pool);
	lt_comp_set_pool(b, pool);
	lt_comp_start(a);
	lt_comp_start(b);
	t0 = lt_rt_now_ns();
	lt_chan_send(p.ping, (void *)(intptr_t)0);
	while (!atomic_load(&p.done))
		;
	t1 = lt_rt_now_ns();
	lt_comp_destroy(a);
	lt_comp_destroy(b);
	lt_chan_destroy(p.ping);
	lt_chan_destroy(p.pong);
	return (double)(t1 - t0) / (double)rounds;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000000;
	long rounds = argc > 2 ? atol(argv[2]) : 200000;
	struct lt_pool *pool;

	printf("figure fiber_switch %.2f ns\n", bench_switch(n));
	if (lt_pool_create("bench", 1, &pool) != LT_OK)
		return 1;
	printf("figure pingpong_pool1 %.0f ns/round-trip\n", bench_pingpong(rounds, pool));
	lt_pool_destroy(pool);
	printf("figure pingpong_threads %.0f ns/round-trip\n", bench_pingpong(rounds, NULL));
	return 0;
}
