/*
 * test_rt_pool_stress.c - many sequences on a small pool, many messages, random awaits: producer
 * threads send numbered messages to pooled components through small bounded channels; each
 * handler checks per-producer order and that its component never runs twice at once, and at
 * random awaits a reply from a pooled echo server or spawns a task that does. Every count must
 * come out exact: messages handled == sent, replies == requests, tasks finished == spawned.
 *
 * Size: LT_STRESS_SCALE (a factor) shrinks it; sanitized builds run a tenth.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <looptrace/rt/rt.h>

#include "lt_test.h"

#define NSEQ      12
#define PRODUCERS 3
#define WORKERS   3

struct msg {
	int prod;
	long n;
};

struct request {
	struct lt_chan *reply;
	long v;
};

struct seq_state {
	struct lt_comp *comp;
	struct lt_chan *in, *reply;
	long last[PRODUCERS];
	uint64_t rng;
	_Atomic int inside;
};

static struct lt_pool *pool;
static struct lt_chan *echo_in;
static struct seq_state seqs[NSEQ];
static long msgs_per_producer;
static _Atomic long handled, bad, requests, replies, spawned, tasks_done;

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void echo_handler(struct lt_comp *comp, void *m, const struct lt_msg_info *info, void *arg)
{
	struct request *rq = m;
	long *r = malloc(sizeof(*r));

	(void)comp;
	(void)info;
	(void)arg;
	LT_ASSERT(r != NULL);
	*r = rq->v + 1;
	if (lt_chan_send(rq->reply, r) != LT_OK) {
		free(r);
		atomic_fetch_add(&bad, 1);
	}
	free(rq);
}

/* ask_echo - one request to the echo server, awaited on `reply`. */
static void ask_echo(struct lt_chan *reply, long v)
{
	struct request *rq = malloc(sizeof(*rq));
	void *r;

	LT_ASSERT(rq != NULL);
	rq->reply = reply;
	rq->v = v;
	atomic_fetch_add(&requests, 1);
	if (lt_chan_send(echo_in, rq) != LT_OK) {
		free(rq);
		atomic_fetch_add(&bad, 1);
		return;
	}
	if (lt_chan_recv_timed(reply, &r, lt_rt_deadline(UINT64_C(30000000000))) != LT_OK) {
		atomic_fetch_add(&bad, 1);
		return;
	}
	if (*(long *)r != v + 1)
		atomic_fetch_add(&bad, 1);
	free(r);
	atomic_fetch_add(&replies, 1);
}

/*
 * Reply channels of finished tasks: destroyed at the end, because the echo server's send may
 * still be on its way out of lt_chan_send when the task has its reply (a channel is destroyed
 * once nothing uses it).
 */
struct grave {
	struct lt_chan *ch;
	struct grave *next;
};
static pthread_mutex_t grave_mu = PTHREAD_MUTEX_INITIALIZER;
static struct grave *graves;

static void task_fn(void *arg)
{
	struct grave *g = malloc(sizeof(*g));

	LT_ASSERT(g != NULL);
	LT_ASSERT_EQ_I(lt_chan_create("task.reply", 1, free, &g->ch), LT_OK);
	ask_echo(g->ch, (long)(intptr_t)arg);
	pthread_mutex_lock(&grave_mu);
	g->next = graves;
	graves = g;
	pthread_mutex_unlock(&grave_mu);
	atomic_fetch_add(&tasks_done, 1);
}

static void seq_handler(struct lt_comp *comp, void *m, const struct lt_msg_info *info, void *arg)
{
	struct seq_state *s = arg;
	struct msg *msg = m;
	uint64_t r = next_rand(&s->rng);

	(void)comp;
	(void)info;
	if (atomic_exchange(&s->inside, 1) != 0)
		atomic_fetch_add(&bad, 1);
	if (msg->n <= s->last[msg->prod])
		atomic_fetch_add(&bad, 1);
	s->last[msg->prod] = msg->n;
	if (r % 4 == 0) {
		/* The await may resume on another worker: the checks above must still hold. */
		atomic_store(&s->inside, 0);
		ask_echo(s->reply, msg->n);
		if (atomic_exchange(&s->inside, 1) != 0)
			atomic_fetch_add(&bad, 1);
	}
	if (r % 16 == 1) {
		atomic_fetch_add(&spawned, 1);
		if (lt_pool_spawn(pool, "stress.task", task_fn, (void *)(intptr_t)msg->n) != LT_OK)
			atomic_fetch_add(&bad, 1);
	}
	atomic_store(&s->inside, 0);
	atomic_fetch_add(&handled, 1);
	free(msg);
}

static void *producer(void *arg)
{
	int prod = (int)(intptr_t)arg;
	uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(prod + 1);

	for (long i = 0; i < msgs_per_producer; i++) {
		struct msg *m = malloc(sizeof(*m));

		LT_ASSERT(m != NULL);
		m->prod = prod;
		m->n = i;
		LT_ASSERT_EQ_I(lt_chan_send(seqs[next_rand(&rng) % NSEQ].in, m), LT_OK);
	}
	return NULL;
}

int main(void)
{
	struct lt_comp *echo;
	pthread_t th[PRODUCERS];
	double scale = 1.0;
	const char *env = getenv("LT_STRESS_SCALE");

	if (env)
		scale = atof(env);
#ifdef LT_TEST_SANITIZED
	scale *= 0.1;
#endif
	msgs_per_producer = (long)(200000 * scale);
	if (msgs_per_producer < 100)
		msgs_per_producer = 100;

	LT_ASSERT_EQ_I(lt_pool_create("stress", WORKERS, &pool), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("echo.in", 4, free, &echo_in), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_create("echo", &echo), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_add_handler(echo, echo_in, NULL, echo_handler, NULL), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_set_pool(echo, pool), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_start(echo), LT_OK);
	for (int i = 0; i < NSEQ; i++) {
		struct seq_state *s = &seqs[i];

		for (int p = 0; p < PRODUCERS; p++)
			s->last[p] = -1;
		s->rng = 0x2545f4914f6cdd1dull * (uint64_t)(i + 1);
		LT_ASSERT_EQ_I(lt_chan_create("seq.in", 8, free, &s->in), LT_OK);
		LT_ASSERT_EQ_I(lt_chan_create("seq.reply", 1, free, &s->reply), LT_OK);
		LT_ASSERT_EQ_I(lt_comp_create("seq", &s->comp), LT_OK);
		LT_ASSERT_EQ_I(lt_comp_add_handler(s->comp, s->in, NULL, seq_handler, s), LT_OK);
		LT_ASSERT_EQ_I(lt_comp_set_pool(s->comp, pool), LT_OK);
		LT_ASSERT_EQ_I(lt_comp_start(s->comp), LT_OK);
	}
	for (int p = 0; p < PRODUCERS; p++)
		LT_ASSERT_EQ_I(pthread_create(&th[p], NULL, producer, (void *)(intptr_t)p), 0);
	for (int p = 0; p < PRODUCERS; p++)
		pthread_join(th[p], NULL);
	for (int i = 0; i < NSEQ; i++)
		LT_ASSERT_EQ_I(lt_comp_stop(seqs[i].comp, LT_COMP_STOP_DRAIN, NULL, NULL, NULL),
			       LT_OK);
	LT_ASSERT_EQ_I(lt_pool_wait_tasks(pool, LT_FOREVER), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_stop(echo, LT_COMP_STOP_DRAIN, NULL, NULL, NULL), LT_OK);

	fprintf(stderr, "handled %ld, awaits %ld, tasks %ld\n", atomic_load(&handled),
		atomic_load(&replies), atomic_load(&tasks_done));
	LT_ASSERT_EQ_I(atomic_load(&bad), 0);
	LT_ASSERT_EQ_I(atomic_load(&handled), PRODUCERS * msgs_per_producer);
	LT_ASSERT_EQ_I(atomic_load(&replies), atomic_load(&requests));
	LT_ASSERT_EQ_I(atomic_load(&tasks_done), atomic_load(&spawned));
	{
		uint64_t sum = 0;

		for (int i = 0; i < NSEQ; i++)
			sum += lt_comp_handled(seqs[i].comp);
		LT_ASSERT_EQ_U(sum, (uint64_t)(PRODUCERS * msgs_per_producer));
	}
	for (int i = 0; i < NSEQ; i++) {
		lt_comp_destroy(seqs[i].comp);
		lt_chan_destroy(seqs[i].in);
		lt_chan_destroy(seqs[i].reply);
	}
	lt_comp_destroy(echo);
	lt_chan_destroy(echo_in);
	while (graves) {
		struct grave *g = graves;

		graves = g->next;
		lt_chan_destroy(g->ch);
		free(g);
	}
	LT_ASSERT_EQ_I(lt_pool_destroy(pool), LT_OK);
	return 0;
}
