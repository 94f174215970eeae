/*
 * test_rt_comp.c - components: lifecycle, handlers and their message ids, ticks, a
 * request/reply exchange on one flow, and stop with messages queued in both modes (nothing
 * lost: handled + handed back == sent).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include <looptrace/rt/rt.h>

#include "lt_test.h"

struct counter {
	_Atomic long handled;
	_Atomic long sum;
	_Atomic int slow; /* handler sleeps a little, so messages queue up */
	struct lt_comp *expect_comp;
	_Atomic int bad;
};

static void on_msg(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct counter *c = arg;

	if (lt_comp_self() != comp || comp != c->expect_comp)
		atomic_store(&c->bad, 1);
	if (lt_comp_current_msg() == NULL || lt_comp_current_msg()->id != info->id)
		atomic_store(&c->bad, 2);
	atomic_fetch_add(&c->sum, *(long *)msg);
	atomic_fetch_add(&c->handled, 1);
	free(msg);
	if (atomic_load(&c->slow))
		usleep(100);
}

static long *cell(long v)
{
	long *p = malloc(sizeof(*p));

	LT_ASSERT(p != NULL);
	*p = v;
	return p;
}

static void test_lifecycle(void)
{
	struct lt_comp *comp;
	struct lt_chan *ch;
	struct counter c = {0};

	LT_ASSERT_EQ_I(lt_comp_create("life", &comp), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("life.in", 8, free, &ch), LT_OK);
	c.expect_comp = comp;
	LT_ASSERT_EQ_I(lt_comp_add_handler(comp, ch, NULL, on_msg, &c), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_add_handler(comp, ch, NULL, on_msg, &c), LT_EBUSY);
	LT_ASSERT_EQ_U(lt_comp_id(comp), 0);
	LT_ASSERT_EQ_I(lt_comp_start(comp), LT_OK);
	LT_ASSERT(lt_comp_id(comp) >= 1);
	LT_ASSERT_STREQ(lt_comp_name(comp), "life");
	LT_ASSERT_EQ_I(lt_comp_start(comp), LT_EBUSY);
	LT_ASSERT_EQ_I(lt_comp_add_handler(comp, ch, NULL, on_msg, &c), LT_EINVAL);
	for (long i = 1; i <= 1000; i++)
		LT_ASSERT_EQ_I(lt_chan_send(ch, cell(i)), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_stop(comp, LT_COMP_STOP_DRAIN, NULL, NULL, NULL), LT_OK);
	LT_ASSERT_EQ_I(atomic_load(&c.handled), 1000);
	LT_ASSERT_EQ_I(atomic_load(&c.sum), 1000 * 1001 / 2);
	LT_ASSERT_EQ_U(lt_comp_handled(comp), 1000);
	LT_ASSERT_EQ_I(atomic_load(&c.bad), 0);
	LT_ASSERT(lt_chan_is_closed(ch));
	LT_ASSERT_EQ_I(lt_comp_stop(comp, LT_COMP_STOP_DRAIN, NULL, NULL, NULL), LT_OK);
	lt_comp_destroy(comp);
	lt_chan_destroy(ch);

	/* Created, never started: destroy is fine. */
	LT_ASSERT_EQ_I(lt_comp_create("never", &comp), LT_OK);
	lt_comp_destroy(comp);
}

struct handback {
	long count, sum;
};

static void take_back(void *msg, const struct lt_msg_info *info, void *arg)
{
	struct handback *h = arg;

	h->count++;
	h->sum += *(long *)msg;
	free(msg);
}

/* Senders keep sending while the component stops; count what they got accepted. */
struct sender {
	struct lt_chan *ch;
	long base;
	long sent, sum;
};

static void *send_many(void *p)
{
	struct sender *s = p;

	for (long i = 1; i <= 5000; i++) {
		long *m = cell(s->base + i);

		if (lt_chan_send(s->ch, m) != LT_OK) {
			free(m); /* closed: still ours */
			break;
		}
		s->sent++;
		s->sum += s->base + i;
	}
	return NULL;
}

static void stop_with_queue(enum lt_comp_stop_mode mode)
{
	struct lt_comp *comp;
	struct lt_chan *a, *b;
	struct counter c = {0};
	struct handback h = {0, 0};
	struct sender s[2];
	pthread_t th[2];
	size_t handed = 0;

	LT_ASSERT_EQ_I(lt_comp_create("stopper", &comp), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("stop.a", 64, free, &a), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("stop.b", 0, free, &b), LT_OK);
	c.expect_comp = comp;
	atomic_store(&c.slow, 1);
	LT_ASSERT_EQ_I(lt_comp_add_handler(comp, a, "a", on_msg, &c), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_add_handler(comp, b, "b", on_msg, &c), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_start(comp), LT_OK);
	s[0] = (struct sender){a, 0, 0, 0};
	s[1] = (struct sender){b, 1000000000, 0, 0};
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, send_many, &s[i]);
	usleep(30000);
	LT_ASSERT_EQ_I(lt_comp_stop(comp, mode, take_back, &h, &handed), LT_OK);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	LT_ASSERT_EQ_I((long)handed, h.count);
	LT_ASSERT_EQ_I(atomic_load(&c.handled) + h.count, s[0].sent + s[1].sent);
	LT_ASSERT_EQ_I(atomic_load(&c.sum) + h.sum, s[0].sum + s[1].sum);
	if (mode == LT_COMP_STOP_DRAIN)
		LT_ASSERT_EQ_I(h.count, 0);
	fprintf(stderr, "   handled %ld, handed back %ld\n", atomic_load(&c.handled), h.count);
	LT_ASSERT_EQ_I(atomic_load(&c.bad), 0);
	lt_comp_destroy(comp);
	lt_chan_destroy(a);
	lt_chan_destroy(b);
}

static void test_stop_handback(void)
{
	stop_with_queue(LT_COMP_STOP_HANDBACK);
}

static void test_stop_drain(void)
{
	stop_with_queue(LT_COMP_STOP_DRAIN);
}

static void test_stop_handback_null_frees(void)
{
	struct lt_comp *comp;
	struct lt_chan *ch;
	struct counter c = {0};
	size_t handed = 0;

	LT_ASSERT_EQ_I(lt_comp_create("frees", &comp), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("frees.in", 0, free, &ch), LT_OK);
	c.expect_comp = comp;
	LT_ASSERT_EQ_I(lt_comp_add_handler(comp, ch, NULL, on_msg, &c), LT_OK);
	for (long i = 0; i < 50; i++)
		LT_ASSERT_EQ_I(lt_chan_send(ch, cell(i)), LT_OK);
	/* Not started yet: stop hands back nothing, the messages stay queued. */
	LT_ASSERT_EQ_I(lt_comp_stop(comp, LT_COMP_STOP_HANDBACK, NULL, NULL, &handed), LT_OK);
	LT_ASSERT_EQ_U(handed, 0);
	LT_ASSERT_EQ_U(lt_chan_depth(ch), 50);
	lt_comp_destroy(comp);
	lt_chan_destroy(ch); /* frees the 50 (ASan checks) */
}

/* Request/reply between two components on one flow. */
struct rr {
	struct lt_chan *req, *rep;
	_Atomic long replies, bad;
};

static void server(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct rr *r = arg;

	((long *)msg)[1] = (long)info->id; /* the request's id: the reply's flow */
	if (lt_chan_send_flow(r->rep, msg, lt_msg_reply_flow(info)) != LT_OK)
		free(msg);
}

static void client(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct rr *r = arg;
	long *m = msg;

	/* The request started its own flow; the reply carries the request's id as flow. */
	if (info->flow == 0 || info->flow != (uint64_t)m[1])
		atomic_fetch_add(&r->bad, 1);
	atomic_fetch_add(&r->replies, 1);
	free(msg);
}

static void test_request_reply(void)
{
	struct lt_comp *cs, *cc;
	struct rr r = {0};

	LT_ASSERT_EQ_I(lt_chan_create("req", 4, free, &r.req), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("rep", 4, free, &r.rep), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_create("server", &cs), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_create("client", &cc), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_add_handler(cs, r.req, "request", server, &r), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_add_handler(cc, r.rep, "reply", client, &r), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_start(cs), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_start(cc), LT_OK);
	for (long i = 0; i < 500; i++) {
		long *m = malloc(2 * sizeof(long));
		uint64_t id;

		m[0] = i;
		m[1] = 0;
		LT_ASSERT_EQ_I(lt_chan_send_ex(r.req, m, 0, LT_FOREVER, &id), LT_OK);
		LT_ASSERT(id >= 1);
	}
	LT_ASSERT_EQ_I(lt_comp_stop(cs, LT_COMP_STOP_DRAIN, NULL, NULL, NULL), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_stop(cc, LT_COMP_STOP_DRAIN, NULL, NULL, NULL), LT_OK);
	LT_ASSERT_EQ_I(atomic_load(&r.replies), 500);
	LT_ASSERT_EQ_I(atomic_load(&r.bad), 0);
	lt_comp_destroy(cs);
	lt_comp_destroy(cc);
	lt_chan_destroy(r.req);
	lt_chan_destroy(r.rep);
}

struct ticks {
	_Atomic long n;
};

static void on_tick(struct lt_comp *comp, void *arg)
{
	struct ticks *t = arg;

	atomic_fetch_add(&t->n, 1);
}

static void test_tick(void)
{
	struct lt_comp *comp;
	struct ticks t;

	atomic_init(&t.n, 0);
	LT_ASSERT_EQ_I(lt_comp_create("ticker", &comp), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_set_tick(comp, 1000000, on_tick, &t), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_start(comp), LT_OK);
	while (atomic_load(&t.n) < 3)
		usleep(1000);
	LT_ASSERT_EQ_I(lt_comp_stop(comp, LT_COMP_STOP_DRAIN, NULL, NULL, NULL), LT_OK);
	lt_comp_destroy(comp);
}

/*
 * Stop and destroy from the component's own thread (handler and tick) are refused: LT_EINVAL,
 * nothing freed, the loop goes on. Under ASan a destroy that freed anyway is a
 * heap-use-after-free as soon as the handler returns into the loop.
 */
struct self_destroy {
	_Atomic int destroy_rc;
	_Atomic int stop_rc;
	_Atomic int tick_destroy_rc;
	_Atomic long handled;
	_Atomic long ticks;
};

static void destroy_from_handler(struct lt_comp *comp, void *msg, const struct lt_msg_info *info,
				 void *arg)
{
	struct self_destroy *s = arg;

	(void)info;
	free(msg);
	atomic_store(&s->destroy_rc, (int)lt_comp_destroy(comp));
	atomic_store(&s->stop_rc, (int)lt_comp_stop(comp, LT_COMP_STOP_DRAIN, NULL, NULL, NULL));
	/* The component must still be whole. */
	if (strcmp(lt_comp_name(comp), "selfdestroy") == 0)
		atomic_fetch_add(&s->handled, 1);
}

static void destroy_from_tick(struct lt_comp *comp, void *arg)
{
	struct self_destroy *s = arg;

	atomic_store(&s->tick_destroy_rc, (int)lt_comp_destroy(comp));
	atomic_fetch_add(&s->ticks, 1);
}

static void test_destroy_from_own_thread(void)
{
	struct lt_comp *comp;
	struct lt_chan *ch;
	struct self_destroy s;

	atomic_init(&s.destroy_rc, -1);
	atomic_init(&s.stop_rc, -1);
	atomic_init(&s.tick_destroy_rc, -1);
	atomic_init(&s.handled, 0);
	atomic_init(&s.ticks, 0);
	LT_ASSERT_EQ_I(lt_comp_create("selfdestroy", &comp), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("selfdestroy.in", 8, free, &ch), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_add_handler(comp, ch, NULL, destroy_from_handler, &s), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_set_tick(comp, 1000000, destroy_from_tick, &s), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_start(comp), LT_OK);
	for (long i = 0; i < 3; i++)
		LT_ASSERT_EQ_I(lt_chan_send(ch, cell(i)), LT_OK);
	while (atomic_load(&s.handled) < 3 || atomic_load(&s.ticks) < 2)
		usleep(1000);
	LT_ASSERT_EQ_I(atomic_load(&s.destroy_rc), LT_EINVAL);
	LT_ASSERT_EQ_I(atomic_load(&s.stop_rc), LT_EINVAL);
	LT_ASSERT_EQ_I(atomic_load(&s.tick_destroy_rc), LT_EINVAL);
	/* Still running: more messages are handled. */
	LT_ASSERT_EQ_I(lt_chan_send(ch, cell(4)), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_stop(comp, LT_COMP_STOP_DRAIN, NULL, NULL, NULL), LT_OK);
	LT_ASSERT_EQ_I(atomic_load(&s.handled), 4);
	LT_ASSERT_EQ_U(lt_comp_handled(comp), 4);
	LT_ASSERT_EQ_I(lt_comp_destroy(comp), LT_OK);
	lt_chan_destroy(ch);
	LT_ASSERT_EQ_I(lt_comp_destroy(NULL), LT_OK);
}

int main(void)
{
	LT_RUN(test_lifecycle);
	LT_RUN(test_stop_handback);
	LT_RUN(test_stop_drain);
	LT_RUN(test_stop_handback_null_frees);
	LT_RUN(test_request_reply);
	LT_RUN(test_tick);
	LT_RUN(test_destroy_from_own_thread);
	return 0;
}
