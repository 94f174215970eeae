/*
 * pool_example.c - sequences on a pool: awaiting each fetch inside a handler against spawning
 * a task per fetch (the essay's second and third examples), in one page.
 *
 *   main --pages--> script (sequence on the pool) --fetches--> net (a thread component)
 *                     ^                                          | replies about 1 ms later
 *                     +---- results <-- task (spawned, awaits) <-+  (spawn mode)
 *
 * In `await` mode the script's handler sends a fetch and awaits its reply (lt_chan_recv): the
 * pool's worker is released meanwhile, but the script handles one page per round trip. In
 * `spawn` mode the handler spawns a task per fetch; each task awaits its reply and posts the
 * result back to the script, so many fetches are in flight at once. The program prints pages
 * per second with its own clock.
 *
 * Reply channels are reused from a free list rather than destroyed after each reply: the
 * net's send may still be on its way out of lt_chan_send when the task has the reply, and a
 * channel is destroyed only once nothing uses it.
 *
 * Usage: looptrace-pool-example [await|spawn] [pages] [workers]   (default: spawn 1000 2)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <looptrace/rt/rt.h>

#define LATENCY_NS 1000000u /* the net's answer time */
#define MAX_HELD   4096

struct fetch {
	struct lt_chan *reply;
	uint64_t due_ns;
	long page;
};

struct app {
	struct lt_pool *pool;
	struct lt_chan *pages, *results, *net_in, *script_reply;
	int spawn;
	_Atomic long done;
	/* net: requests held until due (net thread only) */
	struct fetch *held[MAX_HELD];
	size_t nheld;
	/* free reply channels for tasks */
	pthread_mutex_t free_mu;
	struct lt_chan *free_chans[MAX_HELD];
	size_t nfree;
};

/* ---- net: answers each fetch LATENCY_NS after it came ---------------------------------------- */

static void net_flush(struct app *a)
{
	uint64_t now = lt_rt_now_ns();
	size_t k = 0;

	for (size_t i = 0; i < a->nheld; i++) {
		struct fetch *f = a->held[i];

		if (f->due_ns <= now)
			lt_chan_send(f->reply, f); /* the fetch travels back as the reply */
		else
			a->held[k++] = f;
	}
	a->nheld = k;
}

static void net_on_fetch(struct lt_comp *c, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct app *a = arg;
	struct fetch *f = msg;

	(void)c;
	(void)info;
	f->due_ns = lt_rt_now_ns() + LATENCY_NS;
	if (a->nheld == MAX_HELD)
		net_flush(a);
	if (a->nheld < MAX_HELD)
		a->held[a->nheld++] = f;
	else
		lt_chan_send(f->reply, f);
	net_flush(a);
}

static void net_tick(struct lt_comp *c, void *arg)
{
	(void)c;
	net_flush(arg);
}

/* ---- the script and its tasks ------------------------------------------------------------------
 */

static struct lt_chan *get_reply_chan(struct app *a)
{
	struct lt_chan *ch = NULL;

	pthread_mutex_lock(&a->free_mu);
	if (a->nfree)
		ch = a->free_chans[--a->nfree];
	pthread_mutex_unlock(&a->free_mu);
	if (!ch && lt_chan_create("task.reply", 1, free, &ch) != LT_OK)
		abort();
	return ch;
}

static void put_reply_chan(struct app *a, struct lt_chan *ch)
{
	pthread_mutex_lock(&a->free_mu);
	if (a->nfree < MAX_HELD) {
		a->free_chans[a->nfree++] = ch;
		ch = NULL;
	}
	pthread_mutex_unlock(&a->free_mu);
	if (ch)
		lt_chan_destroy(ch); /* not reached with fewer than MAX_HELD tasks alive */
}

struct task {
	struct app *a;
	long page;
};

/* fetch_task - a task per fetch: send it, await the reply, post the result to the script. */
static void fetch_task(void *arg)
{
	struct task *t = arg;
	struct app *a = t->a;
	struct fetch *f = malloc(sizeof(*f));
	void *r;

	f->reply = get_reply_chan(a);
	f->page = t->page;
	lt_chan_send(a->net_in, f);
	if (lt_chan_recv(f->reply, &r) == LT_OK) {
		put_reply_chan(a, ((struct fetch *)r)->reply);
		lt_chan_send(a->results, r);
	}
	free(t);
}

static void script_on_page(struct lt_comp *c, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct app *a = arg;
	long page = *(long *)msg;

	(void)c;
	(void)info;
	free(msg);
	if (a->spawn) {
		struct task *t = malloc(sizeof(*t));

		t->a = a;
		t->page = page;
		lt_pool_spawn(a->pool, "fetch", fetch_task, t);
	} else {
		struct fetch *f = malloc(sizeof(*f));
		void *r;

		f->reply = a->script_reply;
		f->page = page;
		lt_chan_send(a->net_in, f);
		/* The await: the sequence is suspended, the worker runs others meanwhile. */
		if (lt_chan_recv(a->script_reply, &r) == LT_OK) {
			free(r);
			atomic_fetch_add(&a->done, 1);
		}
	}
}

static void script_on_result(struct lt_comp *c, void *msg, const struct lt_msg_info *info,
			     void *arg)
{
	struct app *a = arg;

	(void)c;
	(void)info;
	free(msg);
	atomic_fetch_add(&a->done, 1);
}

int main(int argc, char **argv)
{
	struct app a;
	struct lt_comp *net, *script;
	long pages = argc > 2 ? atol(argv[2]) : 1000;
	unsigned workers = argc > 3 ? (unsigned)atoi(argv[3]) : 2;
	uint64_t t0, t1;

	memset(&a, 0, sizeof(a));
	a.spawn = !(argc > 1 && strcmp(argv[1], "await") == 0);
	pthread_mutex_init(&a.free_mu, NULL);
	if (lt_pool_create("app", workers ? workers : 1, &a.pool) != LT_OK ||
	    lt_chan_create("pages", 64, free, &a.pages) != LT_OK ||
	    lt_chan_create("results", 0, free, &a.results) != LT_OK ||
	    lt_chan_create("net.in", 0, free, &a.net_in) != LT_OK ||
	    lt_chan_create("script.reply", 1, free, &a.script_reply) != LT_OK ||
	    lt_comp_create("net", &net) != LT_OK || lt_comp_create("script", &script) != LT_OK)
		return 1;
	lt_comp_add_handler(net, a.net_in, "fetch", net_on_fetch, &a);
	lt_comp_set_tick(net, 100000, net_tick, &a);
	lt_comp_add_handler(script, a.pages, "page", script_on_page, &a);
	lt_comp_add_handler(script, a.results, "result", script_on_result, &a);
	lt_comp_set_pool(script, a.pool);
	lt_comp_start(net);
	lt_comp_start(script);

	t0 = lt_rt_now_ns();
	for (long i = 0; i < pages; i++) {
		long *p = malloc(sizeof(*p));

		*p = i;
		lt_chan_send(a.pages, p);
	}
	while (atomic_load(&a.done) < pages) {
		struct timespec nap = {0, 1000000};

		nanosleep(&nap, NULL);
	}
	t1 = lt_rt_now_ns();
	printf("%s: %ld pages in %.3f s: %.0f pages/s (%u workers, fetch latency %.1f ms)\n",
	       a.spawn ? "spawn" : "await", pages, (double)(t1 - t0) / 1e9,
	       (double)pages * 1e9 / (double)(t1 - t0), workers, LATENCY_NS / 1e6);

	lt_comp_destroy(script);
	lt_pool_wait_tasks(a.pool, LT_FOREVER);
	lt_comp_destroy(net);
	lt_pool_destroy(a.pool);
	lt_chan_destroy(a.pages);
	lt_chan_destroy(a.results);
	lt_chan_destroy(a.net_in);
	lt_chan_destroy(a.script_reply);
	for (size_t i = 0; i < a.nfree; i++)
		lt_chan_destroy(a.free_chans[i]);
	pthread_mutex_destroy(&a.free_mu);
	return 0;
}
