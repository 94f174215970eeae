/*
 * flight_prog.c - a program for the flight-recorder test (test_flight.py): a client component
 * ticks every 200 us and sends a request to a server component on the runtime
 * (liblooptrace-rt, real threads and channels); the server's handler does a little work and,
 * once at a random moment of the run (unless BLOCK_MS is 0), blocks BLOCK_MS ms in nanosleep
 * inside the handler, announced with lt_block_begin/lt_block_end. Blocks that must not fire a
 * `blocked>10ms` condition happen in every run: every 64th request the handler blocks for
 * 200 us, spinning (reason io; on a loaded machine preemption may stretch one, so the program
 * reports the longest), and the main thread blocks for the whole run outside any handler.
 *
 * Usage: flight_prog SECONDS BLOCK_MS [SEED]   (BLOCK_MS 0: never block)
 *
 * With FLIGHT_PROG_BURST=N in the environment, the main thread sends N requests before the
 * server starts: the channel's depth after each is 1, 2, ..., N (positions 0..N-1 of the
 * channel), a known spike for `depth>K`.
 *
 * Prints its own measurement of the block as one JSON line on stdout:
 *   {"blocked_ns": N, "block_at_ns": T, "max_short_ns": M, "handled": H, "sent": S}
 * blocked_ns is CLOCK_MONOTONIC (the trace clock) read just inside lt_block_begin /
 * lt_block_end (0: no block); the block's call site is in function `stall`.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <looptrace/rt/rt.h>
#include <looptrace/trace.h>

struct ctx {
	struct lt_chan *requests;
	uint64_t sent, refused, handled;
	uint64_t block_ms, block_time; /* block in the first handler after block_time */
	uint64_t blocked_ns, block_at_ns;
	uint64_t max_short_ns; /* the longest of the short blocks */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
			      .tv_nsec = (long)(ns % 1000000000u)};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void client_tick(struct lt_comp *comp, void *arg)
{
	struct ctx *c = arg;
	uint64_t *m = malloc(sizeof(*m));

	(void)comp;
	if (!m)
		return;
	*m = c->sent;
	if (lt_chan_try_send(c->requests, m) == LT_OK) {
		c->sent++;
	} else {
		free(m);
		c->refused++;
	}
}

/* Not inlined: the block's call site is this function's, at one known place. */
static __attribute__((noinline)) void stall(struct ctx *c)
{
	uint64_t t0, t1;

	lt_block_begin(LT_BLOCK_SLEEP, c);
	t0 = now_ns();
	sleep_ns(c->block_ms * 1000000u);
	t1 = now_ns();
	lt_block_end();
	c->blocked_ns = t1 - t0;
	c->block_at_ns = t0;
}

static void server_on_request(struct lt_comp *comp, void *msg, const struct lt_msg_info *info,
			      void *arg)
{
	struct ctx *c = arg;
	volatile uint64_t x = *(uint64_t *)msg;

	(void)comp;
	(void)info;
	for (int i = 0; i < 200; i++)
		x = x * 31 + 7; /* a little work */
	free(msg);
	c->handled++;
	if (c->block_ms && !c->blocked_ns && now_ns() >= c->block_time) {
		stall(c);
	} else if (c->handled % 64 == 0) {
		uint64_t t0, t1;

		lt_block_begin(LT_BLOCK_IO, c); /* short: under the threshold */
		t0 = now_ns();
		do
			t1 = now_ns();
		while (t1 - t0 < 200000);
		lt_block_end();
		if (t1 - t0 > c->max_short_ns)
			c->max_short_ns = t1 - t0;
	}
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	struct ctx c = {0};
	struct lt_comp *client, *server;
	enum lt_err err;

	if (argc < 3 || seconds <= 0) {
		fprintf(stderr, "usage: flight_prog SECONDS BLOCK_MS [SEED]\n");
		return 2;
	}
	c.block_ms = strtoull(argv[2], NULL, 10);
	srand(argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : (unsigned)now_ns());
	/* Block once, at a random moment in [20 %, 80 %] of the run. */
	c.block_time =
	    now_ns() + (uint64_t)(seconds * 1e9 * (0.2 + 0.6 * rand() / (double)RAND_MAX));
	if ((err = lt_chan_create("requests", 1024, free, &c.requests)) ||
	    (err = lt_comp_create("client", &client)) ||
	    (err = lt_comp_create("server", &server)) ||
	    (err = lt_comp_add_handler(server, c.requests, "request", server_on_request, &c)) ||
	    (err = lt_comp_set_tick(client, 200000, client_tick, &c))) {
		fprintf(stderr, "flight_prog: %s\n", lt_strerror(err));
		return 1;
	}
	const char *burst = getenv("FLIGHT_PROG_BURST");

	for (unsigned long i = 0, n = burst ? strtoul(burst, NULL, 10) : 0; i < n; i++) {
		uint64_t *m = malloc(sizeof(*m));

		if (m)
			*m = i;
		if (!m || lt_chan_try_send(c.requests, m) != LT_OK) {
			fprintf(stderr, "flight_prog: the burst's send %lu failed\n", i);
			return 1;
		}
		c.sent++;
	}
	if ((err = lt_comp_start(server)) || (err = lt_comp_start(client))) {
		fprintf(stderr, "flight_prog: %s\n", lt_strerror(err));
		return 1;
	}
	lt_block_begin(LT_BLOCK_JOIN, &c); /* long, but outside any handler */
	sleep_ns((uint64_t)(seconds * 1e9));
	lt_block_end();
	lt_comp_stop(client, LT_COMP_STOP_DRAIN, NULL, NULL, NULL);
	lt_comp_stop(server, LT_COMP_STOP_DRAIN, NULL, NULL, NULL);
	printf("{\"blocked_ns\": %llu, \"block_at_ns\": %llu, \"max_short_ns\": %llu, "
	       "\"handled\": %llu, \"sent\": %llu}\n",
	       (unsigned long long)c.blocked_ns, (unsigned long long)c.block_at_ns,
	       (unsigned long long)c.max_short_ns, (unsigned long long)c.handled,
	       (unsigned long long)c.sent);
	lt_comp_destroy(client);
	lt_comp_destroy(server);
	lt_chan_destroy(c.requests);
	return 0;
}
