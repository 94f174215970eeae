/*
 * gt_pool.c - ground truth for sequences on a one-thread liblooptrace-rt pool.
 *
 * Every mode runs two components, "seq-a" and "seq-b", as sequences on one pool "gt-pool" of
 * ONE worker thread, and measures with its own clock (CLOCK_MONOTONIC) what the report must
 * find. It prints one JSON line: pid, pool, and per sequence its id, messages handled, the sum
 * of its handler durations (entry to exit), the time from its lt_comp_start to its last
 * handler's exit (`span_ns`), and the worker tids its handlers ran on.
 *
 *   sat MESSAGES WORK_NS
 *	Both inboxes (unbounded) are filled with MESSAGES messages before either sequence
 *	starts; each handler spins WORK_NS ns. The one worker alternates between the two
 *	saturated sequences: each is busy about half the time and runnable the other half.
 *
 *   await AWAITS AWAIT_NS B_WORK_NS B_PACE_NS
 *	seq-a gets AWAITS messages; its handler sends a request to a replier thread and awaits
 *	the reply (lt_chan_recv inside the handler), which the replier sends AWAIT_NS after the
 *	request by its own clock. Meanwhile a producer sends seq-b a message every B_PACE_NS
 *	(until seq-a is done), and seq-b's handler spins B_WORK_NS on the same worker. The
 *	program records each await's interval (just before the lt_chan_recv to just after it)
 *	and counts seq-b's handler entries that fall inside one (`b_during_await`). The
 *	replier sends each reply just as seq-b enters a handler, and notes when (`replied`,
 *	from the await's beginning): from then to the await's end seq-a had its reply but no
 *	thread.
 *
 *   mutex HOLDS HOLD_NS
 *	seq-a gets HOLDS messages; its handler takes a mutex a holder thread keeps for HOLD_NS
 *	(lt_block_begin(LT_BLOCK_MUTEX) around pthread_mutex_lock): not an await, the worker is
 *	held. `blocked_ns` is the sum of its own waits for the mutex. seq-b gets one message per
 *	hold, handled after it.
 *
 * Usage: gt_pool sat MESSAGES WORK_NS | await AWAITS AWAIT_NS B_WORK_NS B_PACE_NS |
 *        mutex HOLDS HOLD_NS
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <looptrace/rt/chan.h>
#include <looptrace/rt/comp.h>
#include <looptrace/rt/pool.h>
#include <looptrace/trace.h>

#define MAX_AWAITS  64
#define MAX_TIDS    4
#define MAX_ENTRIES 100000

struct seq {
	const char *name;
	struct lt_chan *inbox; /* owned */
	struct lt_comp *comp;  /* owned */
	uint64_t work_ns;      /* spin per message */
	uint64_t start_ns;     /* just before lt_comp_start */
	/* written by the sequence only (one at a time, whichever worker runs it) */
	uint64_t handled;
	uint64_t handle_ns; /* sum of handler durations */
	uint64_t last_exit_ns;
	uint64_t blocked_ns; /* mutex mode: own waits for the mutex */
	pid_t tids[MAX_TIDS];
	unsigned ntids;
	uint64_t b_during_await; /* seq-b: handler entries inside one of seq-a's awaits */
};

static struct {
	struct seq a, b;
	struct lt_chan *req, *reply; /* await mode, owned */
	uint64_t await_ns;
	uint64_t await_begin[MAX_AWAITS], await_end[MAX_AWAITS]; /* seq-a's awaits */
	unsigned awaits;
	uint64_t reply_at[MAX_AWAITS]; /* replier: just before send */
	uint64_t b_entry[MAX_ENTRIES]; /* seq-b's handler entries */
	_Atomic uint64_t b_entries;
	_Atomic int a_done;
	pthread_mutex_t mutex;
	uint64_t hold_ns;
	_Atomic unsigned hold_go, hold_taken;
} g = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};

	while (nanosleep(&ts, &ts) != 0)
		;
}

static void spin_until(uint64_t t0, uint64_t ns)
{
	while (now_ns() - t0 < ns)
		;
}

static void note_tid(struct seq *s)
{
	pid_t tid = gettid();

	for (unsigned i = 0; i < s->ntids; i++)
		if (s->tids[i] == tid)
			return;
	if (s->ntids < MAX_TIDS)
		s->tids[s->ntids++] = tid;
}

/* seq-a in await mode: request, await the reply inside the handler. */
static void await_reply(struct seq *s)
{
	unsigned i = g.awaits;
	void *msg;

	g.await_begin[i] = now_ns();
	if (lt_chan_send(g.req, (void *)(uintptr_t)(i + 1)) != LT_OK ||
	    lt_chan_recv(g.reply, &msg) != LT_OK) {
		fprintf(stderr, "gt_pool: request/reply failed\n");
		exit(1);
	}
	g.await_end[i] = now_ns();
	g.awaits++;
	note_tid(s);
}

/* seq-a in mutex mode: wait for the mutex the holder keeps HOLD_NS. */
static void take_mutex(struct seq *s)
{
	uint64_t t0;

	atomic_fetch_add(&g.hold_go, 1);
	while (atomic_load(&g.hold_taken) < atomic_load(&g.hold_go))
		sched_yield();
	t0 = now_ns();
	lt_block_begin(LT_BLOCK_MUTEX, &g.mutex);
	pthread_mutex_lock(&g.mutex);
	lt_block_end();
	s->blocked_ns += now_ns() - t0;
	pthread_mutex_unlock(&g.mutex);
}

static void handle(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct seq *s = arg;
	uint64_t t0 = now_ns(), t1;

	(void)comp;
	(void)info;
	note_tid(s);
	if (s == &g.b && s->handled < MAX_ENTRIES)
		g.b_entry[s->handled] = t0;
	if (s == &g.b)
		atomic_fetch_add(&g.b_entries, 1);
	if (s == &g.a && g.await_ns)
		await_reply(s);
	else if (s == &g.a && g.hold_ns)
		take_mutex(s);
	spin_until(t0, s->work_ns);
	t1 = now_ns();
	s->handled++;
	s->handle_ns += t1 - t0;
	s->last_exit_ns = t1;
	(void)msg;
}

/*
 * await mode: answers each request AWAIT_NS after it by its own clock, just as seq-b enters
 * a handler: seq-a is then runnable (its reply is there, the one worker runs seq-b) for about
 * B_WORK_NS before it resumes.
 */
static void *replier(void *arg)
{
	void *msg;

	(void)arg;
	while (lt_chan_recv(g.req, &msg) == LT_OK) {
		unsigned i = (unsigned)(uintptr_t)msg - 1;
		uint64_t due = g.await_begin[i] + g.await_ns, t = now_ns(), entries;

		if (due > t)
			sleep_ns(due - t);
		entries = atomic_load(&g.b_entries);
		while (atomic_load(&g.b_entries) == entries)
			sleep_ns(20000);
		g.reply_at[i] = now_ns();
		lt_chan_send(g.reply, msg);
	}
	return NULL;
}

/* await mode: feeds seq-b every B_PACE_NS until seq-a has handled all its messages. */
static void *pacer(void *arg)
{
	uint64_t pace = *(uint64_t *)arg, n = 0;

	while (!atomic_load(&g.a_done)) {
		sleep_ns(pace);
		if (lt_chan_send(g.b.inbox, (void *)(uintptr_t)++n) != LT_OK)
			break;
	}
	return (void *)(uintptr_t)n;
}

/* mutex mode: takes the mutex before seq-a asks for it, keeps it HOLD_NS. */
static void *holder(void *arg)
{
	unsigned n = *(unsigned *)arg;

	for (unsigned i = 0; i < n; i++) {
		while (atomic_load(&g.hold_go) <= i)
			sched_yield();
		pthread_mutex_lock(&g.mutex);
		atomic_fetch_add(&g.hold_taken, 1);
		sleep_ns(g.hold_ns);
		pthread_mutex_unlock(&g.mutex);
	}
	return NULL;
}

static void setup(struct seq *s, const char *name, struct lt_pool *pool)
{
	s->name = name;
	if (lt_chan_create(name, 0, NULL, &s->inbox) != LT_OK ||
	    lt_comp_create(name, &s->comp) != LT_OK ||
	    lt_comp_add_handler(s->comp, s->inbox, "job", handle, s) != LT_OK ||
	    lt_comp_set_pool(s->comp, pool) != LT_OK) {
		fprintf(stderr, "gt_pool: cannot set up %s\n", name);
		exit(1);
	}
}

static void start(struct seq *s)
{
	s->start_ns = now_ns();
	if (lt_comp_start(s->comp) != LT_OK) {
		fprintf(stderr, "gt_pool: cannot start %s\n", s->name);
		exit(1);
	}
}

static void fill(struct seq *s, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		lt_chan_send(s->inbox, (void *)(uintptr_t)(i + 1));
}

static void print_seq(const struct seq *s, const char *tail)
{
	printf("\"%s\": {\"id\": %" PRIu32 ", \"handled\": %" PRIu64 ", \"handle_ns\": %" PRIu64
	       ", \"span_ns\": %" PRIu64 ", \"blocked_ns\": %" PRIu64
	       ", \"b_during_await\": %" PRIu64 ", \"tids\": [",
	       s->name, lt_comp_id(s->comp), s->handled, s->handle_ns,
	       s->last_exit_ns - s->start_ns, s->blocked_ns, s->b_during_await);
	for (unsigned i = 0; i < s->ntids; i++)
		printf("%s%ld", i ? ", " : "", (long)s->tids[i]);
	printf("]}%s", tail);
}

static void print_awaits(void)
{
	printf(", \"awaits\": [");
	for (unsigned i = 0; i < g.awaits; i++)
		printf("%s%" PRIu64, i ? ", " : "", g.await_end[i] - g.await_begin[i]);
	printf("], \"replied\": [");
	for (unsigned i = 0; i < g.awaits; i++)
		printf("%s%" PRIu64, i ? ", " : "", g.reply_at[i] - g.await_begin[i]);
	printf("]");
}

static int usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s sat MESSAGES WORK_NS | await AWAITS AWAIT_NS B_WORK_NS B_PACE_NS |"
		" mutex HOLDS HOLD_NS\n",
		prog);
	return 2;
}

int main(int argc, char **argv)
{
	struct lt_pool *pool;
	pthread_t th[2];
	uint64_t n, pace = 0;
	unsigned holds = 0;
	void *sent = NULL;
	const char *mode = argc > 1 ? argv[1] : "";

	if (!((strcmp(mode, "sat") == 0 && argc == 4) ||
	      (strcmp(mode, "await") == 0 && argc == 6) ||
	      (strcmp(mode, "mutex") == 0 && argc == 4)))
		return usage(argv[0]);
	n = strtoull(argv[2], NULL, 10);
	if (lt_pool_create("gt-pool", 1, &pool) != LT_OK) {
		fprintf(stderr, "gt_pool: cannot create the pool\n");
		return 1;
	}
	setup(&g.a, "seq-a", pool);
	setup(&g.b, "seq-b", pool);
	if (strcmp(mode, "sat") == 0) {
		g.a.work_ns = g.b.work_ns = strtoull(argv[3], NULL, 10);
		fill(&g.a, n);
		fill(&g.b, n);
		start(&g.a);
		start(&g.b);
		while (__atomic_load_n(&g.a.handled, __ATOMIC_ACQUIRE) < n ||
		       __atomic_load_n(&g.b.handled, __ATOMIC_ACQUIRE) < n)
			sleep_ns(1000000);
	} else if (strcmp(mode, "await") == 0) {
		if (n > MAX_AWAITS)
			return usage(argv[0]);
		g.await_ns = strtoull(argv[3], NULL, 10);
		g.b.work_ns = strtoull(argv[4], NULL, 10);
		pace = strtoull(argv[5], NULL, 10);
		if (lt_chan_create("gt-req", 0, NULL, &g.req) != LT_OK ||
		    lt_chan_create("gt-reply", 0, NULL, &g.reply) != LT_OK) {
			fprintf(stderr, "gt_pool: cannot create the reply channels\n");
			return 1;
		}
		start(&g.a);
		start(&g.b);
		pthread_create(&th[0], NULL, replier, NULL);
		pthread_create(&th[1], NULL, pacer, &pace);
		/* seq-b gets going before the first await; then one await at a time */
		sleep_ns(10 * pace);
		for (uint64_t i = 0; i < n; i++) {
			lt_chan_send(g.a.inbox, (void *)(uintptr_t)(i + 1));
			while (__atomic_load_n(&g.a.handled, __ATOMIC_ACQUIRE) <= i)
				sleep_ns(1000000);
			sleep_ns(5 * pace);
		}
		atomic_store(&g.a_done, 1);
		pthread_join(th[1], &sent);
		lt_chan_close(g.req);
		pthread_join(th[0], NULL);
	} else {
		holds = (unsigned)n;
		g.hold_ns = strtoull(argv[3], NULL, 10);
		pthread_create(&th[0], NULL, holder, &holds);
		start(&g.a);
		start(&g.b);
		for (unsigned i = 0; i < holds; i++) {
			lt_chan_send(g.a.inbox, (void *)(uintptr_t)(i + 1));
			lt_chan_send(g.b.inbox, (void *)(uintptr_t)(i + 1));
			while (__atomic_load_n(&g.b.handled, __ATOMIC_ACQUIRE) <= i)
				sleep_ns(1000000);
		}
		pthread_join(th[0], NULL);
	}
	lt_comp_stop(g.a.comp, LT_COMP_STOP_DRAIN, NULL, NULL, NULL);
	lt_comp_stop(g.b.comp, LT_COMP_STOP_DRAIN, NULL, NULL, NULL);
	/* the drain-stops returned: every message sent was handled, the sequences are done */
	for (uint64_t k = 0; k < g.b.handled && k < MAX_ENTRIES; k++)
		for (unsigned i = 0; i < g.awaits; i++)
			g.b.b_during_await +=
			    g.b_entry[k] > g.await_begin[i] && g.b_entry[k] < g.await_end[i];
	printf("{\"pid\": %ld, \"mode\": \"%s\", \"pool_id\": %" PRIu32 ", \"b_sent\": %" PRIu64
	       ", ",
	       (long)getpid(), mode, lt_pool_id(pool), (uint64_t)(uintptr_t)sent);
	print_seq(&g.a, ", ");
	print_seq(&g.b, "");
	print_awaits();
	printf("}\n");
	lt_comp_destroy(g.a.comp);
	lt_comp_destroy(g.b.comp);
	if (lt_pool_destroy(pool) != LT_OK)
		return 1;
	return 0;
}
