/*
 * test_rt_chan.c - channel semantics: send/recv and their try_/timed variants, message and
 * flow ids, close (idempotent, senders fail and keep the message, the receiver drains then
 * sees closed, blocked senders wake), drain and destroy (every queued message freed exactly
 * once), bounded and unbounded (across many blocks). Never asserts how long anything took.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <looptrace/rt/rt.h>
#include <looptrace/trace.h>

#include "lt_test.h"

/* Messages are small heap cells whose frees are counted. */
static _Atomic long freed;
static _Atomic long freed_sum;

static void count_free(void *p)
{
	atomic_fetch_add(&freed, 1);
	atomic_fetch_add(&freed_sum, *(long *)p);
	free(p);
}

static long *cell(long v)
{
	long *p = malloc(sizeof(*p));

	LT_ASSERT(p != NULL);
	*p = v;
	return p;
}

static void test_basic_bounded(void)
{
	struct lt_chan *ch;
	struct lt_msg_info info;
	void *m;

	LT_ASSERT_EQ_I(lt_chan_create("basic", 4, count_free, &ch), LT_OK);
	LT_ASSERT(lt_chan_id(ch) >= 1);
	LT_ASSERT_STREQ(lt_chan_name(ch), "basic");
	LT_ASSERT_EQ_U(lt_chan_capacity(ch), 4);
	for (long i = 0; i < 4; i++)
		LT_ASSERT_EQ_I(lt_chan_try_send(ch, cell(i)), LT_OK);
	LT_ASSERT_EQ_U(lt_chan_depth(ch), 4);
	long *extra = cell(99);
	LT_ASSERT_EQ_I(lt_chan_try_send(ch, extra), LT_EAGAIN);
	LT_ASSERT_EQ_I(lt_chan_send_timed(ch, extra, lt_rt_deadline(1000000)), LT_ETIMEDOUT);
	LT_ASSERT_EQ_I(lt_chan_send_timed(ch, extra, 0), LT_ETIMEDOUT);
	for (long i = 0; i < 4; i++) {
		LT_ASSERT_EQ_I(lt_chan_recv_ex(ch, &m, &info, LT_FOREVER), LT_OK);
		LT_ASSERT_EQ_I(*(long *)m, i);
		LT_ASSERT(info.id >= 1);
		LT_ASSERT_EQ_U(info.flow, 0);
		LT_ASSERT_EQ_U(info.chan, lt_chan_id(ch));
		free(m);
	}
	LT_ASSERT_EQ_I(lt_chan_try_recv(ch, &m), LT_EAGAIN);
	LT_ASSERT_EQ_I(lt_chan_recv_timed(ch, &m, lt_rt_deadline(1000000)), LT_ETIMEDOUT);
	LT_ASSERT_EQ_I(lt_chan_recv_timed(ch, &m, 0), LT_ETIMEDOUT);
	LT_ASSERT_EQ_I(lt_chan_try_send(ch, extra), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_recv(ch, &m), LT_OK);
	LT_ASSERT(m == extra);
	free(m);
	lt_chan_destroy(ch);
}

static void test_capacity_one_and_odd(void)
{
	size_t caps[] = {1, 3, 5, 1000};

	for (size_t k = 0; k < sizeof(caps) / sizeof(caps[0]); k++) {
		struct lt_chan *ch;
		void *m;

		LT_ASSERT_EQ_I(lt_chan_create("cap", caps[k], count_free, &ch), LT_OK);
		/* Many laps around the ring, filling it each time. */
		for (long round = 0; round < 20; round++) {
			for (size_t i = 0; i < caps[k]; i++)
				LT_ASSERT_EQ_I(lt_chan_try_send(ch, cell((long)i)), LT_OK);
			long *x = cell(-1);
			LT_ASSERT_EQ_I(lt_chan_try_send(ch, x), LT_EAGAIN);
			free(x);
			LT_ASSERT_EQ_U(lt_chan_depth(ch), caps[k]);
			for (size_t i = 0; i < caps[k]; i++) {
				LT_ASSERT_EQ_I(lt_chan_try_recv(ch, &m), LT_OK);
				LT_ASSERT_EQ_I(*(long *)m, (long)i);
				free(m);
			}
			LT_ASSERT_EQ_I(lt_chan_try_recv(ch, &m), LT_EAGAIN);
		}
		lt_chan_destroy(ch);
	}
	LT_ASSERT_EQ_I(lt_chan_create("bad", 0, NULL, NULL), LT_EINVAL);
}

/*
 * The largest capacity works (fills only what is sent); one more is refused with nothing
 * allocated. Before the limit was lowered to 2^24, 2^30 slots were accepted and made 16 GiB
 * resident at create.
 */
static void test_max_capacity(void)
{
	struct lt_chan *ch = (struct lt_chan *)&ch;
	void *m;

	LT_ASSERT_EQ_I(lt_chan_create("toobig", LT_CHAN_MAX_CAPACITY + 1, free, &ch), LT_EINVAL);
	LT_ASSERT(ch == NULL);
	LT_ASSERT_EQ_I(lt_chan_create("toobig", (size_t)1 << 30, free, &ch), LT_EINVAL);
	LT_ASSERT_EQ_I(lt_chan_create("max", LT_CHAN_MAX_CAPACITY, free, &ch), LT_OK);
	LT_ASSERT_EQ_U(lt_chan_capacity(ch), LT_CHAN_MAX_CAPACITY);
	for (long i = 0; i < 1000; i++) {
		long *p = malloc(sizeof(*p));

		LT_ASSERT(p != NULL);
		*p = i;
		LT_ASSERT_EQ_I(lt_chan_send_ex(ch, p, (uint64_t)i + 1, 0, NULL), LT_OK);
	}
	for (long i = 0; i < 500; i++) {
		struct lt_msg_info info;

		LT_ASSERT_EQ_I(lt_chan_recv_ex(ch, &m, &info, 0), LT_OK);
		LT_ASSERT_EQ_I(*(long *)m, i);
		LT_ASSERT_EQ_U(info.flow, (uint64_t)i + 1);
		free(m);
	}
	LT_ASSERT_EQ_U(lt_chan_depth(ch), 500);
	lt_chan_destroy(ch); /* frees the other 500 */
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void test_flow_ids(void)
{
	struct lt_chan *ch;
	struct lt_msg_info info;
	uint64_t id1 = 0, id2 = 0;
	void *m;
	int x;

	LT_ASSERT_EQ_I(lt_chan_create("flow", 2, NULL, &ch), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_send_ex(ch, &x, 0, 0, &id1), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_recv_ex(ch, &m, &info, 0), LT_OK);
	LT_ASSERT_EQ_U(info.id, id1);
	LT_ASSERT_EQ_U(lt_msg_reply_flow(&info), id1);
	LT_ASSERT_EQ_I(lt_chan_send_ex(ch, &x, lt_msg_reply_flow(&info), LT_FOREVER, &id2), LT_OK);
	LT_ASSERT(id2 != id1);
	LT_ASSERT_EQ_I(lt_chan_recv_ex(ch, &m, &info, 0), LT_OK);
	LT_ASSERT_EQ_U(info.id, id2);
	LT_ASSERT_EQ_U(info.flow, id1);
	LT_ASSERT_EQ_U(lt_msg_reply_flow(&info), id1);
	LT_ASSERT_EQ_I(lt_chan_send_flow(ch, &x, 77), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_recv_ex(ch, &m, &info, 0), LT_OK);
	LT_ASSERT_EQ_U(info.flow, 77);
	lt_chan_destroy(ch);
}

/*
 * Message ids across many epochs of a bounded channel (ids are derived from positions and
 * reserved in blocks of at least 65536): two producers race through the blocks, some sends
 * carry a flow. The receiver must see, for every message, the id its sender was given and the
 * flow it sent; all ids must be distinct, also from another channel's and lt_message_new's.
 */
#define IDS_PER_PRODUCER 150000
#define IDS_PRODUCERS    2

struct id_producer {
	struct lt_chan *ch;
	int who;
	uint64_t sent_id[IDS_PER_PRODUCER];
	uint64_t fresh[64]; /* lt_message_new ids taken meanwhile */
};

static void *id_produce(void *arg)
{
	struct id_producer *p = arg;

	for (long i = 0; i < IDS_PER_PRODUCER; i++) {
		long tag = p->who * IDS_PER_PRODUCER + i; /* travels as the message pointer */
		uint64_t flow = i % 3 == 0 ? (uint64_t)tag + 1 : 0;

		LT_ASSERT_EQ_I(lt_chan_send_ex(p->ch, (void *)(intptr_t)(tag + 1), flow, LT_FOREVER,
					       &p->sent_id[i]),
			       LT_OK);
		if (i % (IDS_PER_PRODUCER / 64) == 0 && i / (IDS_PER_PRODUCER / 64) < 64)
			p->fresh[i / (IDS_PER_PRODUCER / 64)] = lt_message_new();
	}
	return NULL;
}

static void test_ids_across_epochs(void)
{
	enum { N = IDS_PER_PRODUCER * IDS_PRODUCERS };
	static struct id_producer prod[IDS_PRODUCERS];
	static uint64_t got_id[N], got_flow[N], all[N + 64 * IDS_PRODUCERS + 8];
	struct lt_chan *ch, *other;
	pthread_t t[IDS_PRODUCERS];
	size_t n_all = 0;

	LT_ASSERT_EQ_I(lt_chan_create("ids", 7, NULL, &ch), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("other", 3, NULL, &other), LT_OK);
	for (int i = 0; i < IDS_PRODUCERS; i++) {
		prod[i].ch = ch;
		prod[i].who = i;
		LT_ASSERT_EQ_I(pthread_create(&t[i], NULL, id_produce, &prod[i]), 0);
	}
	for (long k = 0; k < N; k++) {
		struct lt_msg_info info;
		void *m;
		long tag;

		LT_ASSERT_EQ_I(lt_chan_recv_ex(ch, &m, &info, LT_FOREVER), LT_OK);
		tag = (long)(intptr_t)m - 1;
		LT_ASSERT(tag >= 0 && tag < N);
		LT_ASSERT_EQ_U(got_id[tag], 0); /* delivered once */
		LT_ASSERT(info.id != 0);
		got_id[tag] = info.id;
		got_flow[tag] = info.flow;
	}
	for (int i = 0; i < IDS_PRODUCERS; i++)
		LT_ASSERT_EQ_I(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < IDS_PRODUCERS; i++) {
		for (long j = 0; j < IDS_PER_PRODUCER; j++) {
			long tag = i * IDS_PER_PRODUCER + j;

			LT_ASSERT_EQ_U(got_id[tag], prod[i].sent_id[j]);
			LT_ASSERT_EQ_U(got_flow[tag], j % 3 == 0 ? (uint64_t)tag + 1 : 0);
			all[n_all++] = got_id[tag];
		}
		for (int j = 0; j < 64; j++)
			all[n_all++] = prod[i].fresh[j];
	}
	/* Another channel's ids, before and after a receive. */
	for (int i = 0; i < 4; i++) {
		struct lt_msg_info info;
		uint64_t id = 0;
		void *m;

		LT_ASSERT_EQ_I(lt_chan_send_ex(other, &n_all, 0, LT_FOREVER, &id), LT_OK);
		LT_ASSERT_EQ_I(lt_chan_recv_ex(other, &m, &info, 0), LT_OK);
		LT_ASSERT_EQ_U(info.id, id);
		all[n_all++] = id;
		all[n_all++] = lt_message_new();
	}
	qsort(all, n_all, sizeof(all[0]), cmp_u64);
	for (size_t i = 1; i < n_all; i++)
		LT_ASSERT_CMP_U(all[i - 1], <, all[i]);
	lt_chan_destroy(ch);
	lt_chan_destroy(other);
}

static void test_close_semantics(size_t cap)
{
	struct lt_chan *ch;
	void *m;

	LT_ASSERT_EQ_I(lt_chan_create("close", cap, count_free, &ch), LT_OK);
	for (long i = 0; i < 3; i++)
		LT_ASSERT_EQ_I(lt_chan_send(ch, cell(i)), LT_OK);
	LT_ASSERT(!lt_chan_is_closed(ch));
	lt_chan_close(ch);
	lt_chan_close(ch); /* idempotent */
	LT_ASSERT(lt_chan_is_closed(ch));
	long *late = cell(5);
	LT_ASSERT_EQ_I(lt_chan_send(ch, late), LT_ECLOSED);
	LT_ASSERT_EQ_I(lt_chan_try_send(ch, late), LT_ECLOSED);
	LT_ASSERT_EQ_I(lt_chan_send_timed(ch, late, lt_rt_deadline(1000)), LT_ECLOSED);
	LT_ASSERT_EQ_I(*late, 5); /* still ours */
	free(late);
	for (long i = 0; i < 3; i++) {
		LT_ASSERT_EQ_I(lt_chan_recv(ch, &m), LT_OK);
		LT_ASSERT_EQ_I(*(long *)m, i);
		free(m);
	}
	LT_ASSERT_EQ_I(lt_chan_recv(ch, &m), LT_ECLOSED);
	LT_ASSERT_EQ_I(lt_chan_try_recv(ch, &m), LT_ECLOSED);
	LT_ASSERT_EQ_I(lt_chan_recv_timed(ch, &m, lt_rt_deadline(1000)), LT_ECLOSED);
	lt_chan_destroy(ch);
}

static void test_close_bounded(void)
{
	test_close_semantics(8);
}

static void test_close_unbounded(void)
{
	test_close_semantics(0);
}

static void test_destroy_frees_each_once(void)
{
	size_t caps[] = {0, 1000};

	for (size_t k = 0; k < 2; k++) {
		struct lt_chan *ch;
		long n = 700, expect_sum = 0;
		void *m;

		atomic_store(&freed, 0);
		atomic_store(&freed_sum, 0);
		LT_ASSERT_EQ_I(lt_chan_create("destroy", caps[k], count_free, &ch), LT_OK);
		for (long i = 1; i <= n; i++)
			LT_ASSERT_EQ_I(lt_chan_send(ch, cell(i)), LT_OK);
		/* Take a few out so head is mid-block / mid-ring. */
		for (long i = 1; i <= 100; i++) {
			LT_ASSERT_EQ_I(lt_chan_try_recv(ch, &m), LT_OK);
			free(m);
		}
		for (long i = 101; i <= n; i++)
			expect_sum += i;
		lt_chan_destroy(ch);
		LT_ASSERT_EQ_I(atomic_load(&freed), n - 100);
		LT_ASSERT_EQ_I(atomic_load(&freed_sum), expect_sum);
	}
}

struct drained {
	long count, sum;
};

static void take_back(void *msg, const struct lt_msg_info *info, void *arg)
{
	struct drained *d = arg;

	LT_ASSERT(info->id >= 1);
	d->count++;
	d->sum += *(long *)msg;
	free(msg);
}

static void test_drain(void)
{
	struct lt_chan *ch;
	struct drained d = {0, 0};

	LT_ASSERT_EQ_I(lt_chan_create("drain", 0, count_free, &ch), LT_OK);
	for (long i = 1; i <= 200; i++)
		LT_ASSERT_EQ_I(lt_chan_send(ch, cell(i)), LT_OK);
	lt_chan_close(ch);
	LT_ASSERT_EQ_U(lt_chan_drain(ch, take_back, &d), 200);
	LT_ASSERT_EQ_I(d.count, 200);
	LT_ASSERT_EQ_I(d.sum, 200 * 201 / 2);
	LT_ASSERT_EQ_U(lt_chan_drain(ch, take_back, &d), 0);
	atomic_store(&freed, 0);
	lt_chan_destroy(ch);
	LT_ASSERT_EQ_I(atomic_load(&freed), 0);
}

/* ---- blocked senders and receivers ---------------------------------------------------------- */

struct sender_arg {
	struct lt_chan *ch;
	_Atomic int started;
	enum lt_err result;
	long *msg;
};

static void *blocked_sender(void *p)
{
	struct sender_arg *a = p;

	atomic_store(&a->started, 1);
	a->result = lt_chan_send(a->ch, a->msg);
	return NULL;
}

static void test_close_wakes_blocked_senders(void)
{
	struct lt_chan *ch;
	struct sender_arg args[3];
	pthread_t th[3];
	void *m;

	LT_ASSERT_EQ_I(lt_chan_create("full", 1, count_free, &ch), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_send(ch, cell(0)), LT_OK);
	for (int i = 0; i < 3; i++) {
		args[i].ch = ch;
		atomic_init(&args[i].started, 0);
		args[i].result = LT_OK;
		args[i].msg = cell(i + 1);
		pthread_create(&th[i], NULL, blocked_sender, &args[i]);
	}
	for (int i = 0; i < 3; i++)
		while (!atomic_load(&args[i].started))
			usleep(100);
	usleep(20000); /* let them block (the result does not depend on it) */
	lt_chan_close(ch);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	/* The queued message survives; every blocked sender failed and kept its message. */
	LT_ASSERT_EQ_I(lt_chan_recv(ch, &m), LT_OK);
	LT_ASSERT_EQ_I(*(long *)m, 0);
	free(m);
	LT_ASSERT_EQ_I(lt_chan_recv(ch, &m), LT_ECLOSED);
	for (int i = 0; i < 3; i++) {
		LT_ASSERT_EQ_I(args[i].result, LT_ECLOSED);
		free(args[i].msg);
	}
	lt_chan_destroy(ch);
}

static void test_blocked_sender_resumes(void)
{
	struct lt_chan *ch;
	struct sender_arg a;
	pthread_t th;
	void *m;

	LT_ASSERT_EQ_I(lt_chan_create("resume", 1, count_free, &ch), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_send(ch, cell(0)), LT_OK);
	a.ch = ch;
	atomic_init(&a.started, 0);
	a.msg = cell(1);
	pthread_create(&th, NULL, blocked_sender, &a);
	while (!atomic_load(&a.started))
		usleep(100);
	usleep(5000);
	LT_ASSERT_EQ_I(lt_chan_recv(ch, &m), LT_OK);
	LT_ASSERT_EQ_I(*(long *)m, 0);
	free(m);
	LT_ASSERT_EQ_I(lt_chan_recv(ch, &m), LT_OK);
	LT_ASSERT_EQ_I(*(long *)m, 1);
	free(m);
	pthread_join(th, NULL);
	LT_ASSERT_EQ_I(a.result, LT_OK);
	lt_chan_destroy(ch);
}

struct receiver_arg {
	struct lt_chan *ch;
	enum lt_err result;
	void *msg;
};

static void *blocked_receiver(void *p)
{
	struct receiver_arg *a = p;

	a->result = lt_chan_recv(a->ch, &a->msg);
	return NULL;
}

static void test_close_wakes_receiver(void)
{
	size_t caps[] = {0, 4};

	for (int k = 0; k < 2; k++) {
		struct lt_chan *ch;
		struct receiver_arg a = {0};
		pthread_t th;

		LT_ASSERT_EQ_I(lt_chan_create("wake", caps[k], NULL, &ch), LT_OK);
		a.ch = ch;
		pthread_create(&th, NULL, blocked_receiver, &a);
		usleep(10000);
		lt_chan_close(ch);
		pthread_join(th, NULL);
		LT_ASSERT_EQ_I(a.result, LT_ECLOSED);
		lt_chan_destroy(ch);
	}
}

/* Ping-pong across two threads: many park/wake cycles, nothing lost. */
struct pp {
	struct lt_chan *ping, *pong;
	long rounds;
};

static void *ponger(void *p)
{
	struct pp *a = p;
	void *m;

	while (lt_chan_recv(a->ping, &m) == LT_OK)
		LT_ASSERT_EQ_I(lt_chan_send(a->pong, m), LT_OK);
	return NULL;
}

static void test_ping_pong(void)
{
	struct pp a;
	pthread_t th;
	long v = 0;

	LT_ASSERT_EQ_I(lt_chan_create("ping", 1, NULL, &a.ping), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("pong", 0, NULL, &a.pong), LT_OK);
	pthread_create(&th, NULL, ponger, &a);
	for (long i = 0; i < 20000; i++) {
		void *m;

		v = i;
		LT_ASSERT_EQ_I(lt_chan_send(a.ping, &v), LT_OK);
		LT_ASSERT_EQ_I(lt_chan_recv(a.pong, &m), LT_OK);
		LT_ASSERT(m == &v);
		if (i % 1000 == 0)
			usleep(200); /* make the ponger park now and then */
	}
	lt_chan_close(a.ping);
	pthread_join(th, NULL);
	lt_chan_destroy(a.ping);
	lt_chan_destroy(a.pong);
}

int main(void)
{
	LT_RUN(test_max_capacity);
	LT_RUN(test_basic_bounded);
	LT_RUN(test_capacity_one_and_odd);
	LT_RUN(test_flow_ids);
	LT_RUN(test_ids_across_epochs);
	LT_RUN(test_close_bounded);
	LT_RUN(test_close_unbounded);
	LT_RUN(test_destroy_frees_each_once);
	LT_RUN(test_drain);
	LT_RUN(test_close_wakes_blocked_senders);
	LT_RUN(test_blocked_sender_resumes);
	LT_RUN(test_close_wakes_receiver);
	LT_RUN(test_ping_pong);
	return 0;
}
