/*
 * test_rt_router.c - the router: channel routes (dispatch, ids, closed notice), fd routes over
 * a pipe (data, hang-up), removal from a route's own callback, and many threads adding and
 * removing routes while messages flow: after lt_router_remove returns the callback is not
 * running and never runs again, and every message sent is dispatched or left in the channel.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <looptrace/rt/rt.h>

#include "lt_test.h"

#ifdef LT_TEST_SANITIZED
#define CHURN_ROUNDS 150
#else
#define CHURN_ROUNDS 600
#endif

struct chan_state {
	_Atomic long got, sum, closed_notices, bad;
	uint32_t chan_id;
};

static void on_chan(struct lt_route *route, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct chan_state *s = arg;

	if (!msg) {
		atomic_fetch_add(&s->closed_notices, 1);
		return;
	}
	if (info->chan != s->chan_id || info->id == 0)
		atomic_fetch_add(&s->bad, 1);
	atomic_fetch_add(&s->sum, *(long *)msg);
	atomic_fetch_add(&s->got, 1);
	free(msg);
}

static long *cell(long v)
{
	long *p = malloc(sizeof(*p));

	LT_ASSERT(p != NULL);
	*p = v;
	return p;
}

static void test_chan_route(void)
{
	struct lt_router *r;
	struct lt_chan *ch;
	struct lt_route *route;
	struct chan_state s = {0};

	LT_ASSERT_EQ_I(lt_router_create("router", &r), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("routed", 8, free, &ch), LT_OK);
	s.chan_id = lt_chan_id(ch);
	/* Queued before the route exists and before the router runs: still delivered. */
	for (long i = 1; i <= 5; i++)
		LT_ASSERT_EQ_I(lt_chan_send(ch, cell(i)), LT_OK);
	LT_ASSERT_EQ_I(lt_router_add_chan(r, ch, 7, on_chan, &s, &route), LT_OK);
	LT_ASSERT(lt_route_id(route) >= 1);
	LT_ASSERT_EQ_I(lt_router_add_chan(r, ch, 7, on_chan, &s, NULL), LT_EBUSY);
	LT_ASSERT_EQ_I(lt_router_start(r), LT_OK);
	LT_ASSERT(lt_router_id(r) >= 1);
	LT_ASSERT_EQ_I(lt_router_start(r), LT_EBUSY);
	for (long i = 6; i <= 1000; i++)
		LT_ASSERT_EQ_I(lt_chan_send(ch, cell(i)), LT_OK);
	lt_chan_close(ch);
	while (atomic_load(&s.closed_notices) == 0)
		usleep(1000);
	LT_ASSERT_EQ_I(atomic_load(&s.got), 1000);
	LT_ASSERT_EQ_I(atomic_load(&s.sum), 1000 * 1001 / 2);
	LT_ASSERT_EQ_I(atomic_load(&s.bad), 0);
	LT_ASSERT_EQ_I(lt_router_remove(r, route), LT_OK);
	LT_ASSERT_EQ_I(atomic_load(&s.closed_notices), 1);
	/* Stop, restart, stop again. */
	LT_ASSERT_EQ_I(lt_router_stop(r), LT_OK);
	LT_ASSERT_EQ_I(lt_router_stop(r), LT_OK);
	LT_ASSERT_EQ_I(lt_router_start(r), LT_OK);
	lt_router_destroy(r);
	lt_chan_destroy(ch);
}

struct fd_state {
	_Atomic long bytes, calls, hups, bad;
	_Atomic int removed;
};

static void on_fd(struct lt_route *route, int fd, uint32_t events, const struct lt_msg_info *info,
		  void *arg)
{
	struct fd_state *s = arg;
	char buf[64];

	if (atomic_load(&s->removed))
		atomic_fetch_add(&s->bad, 1);
	if (info->id == 0 || info->chan != 0)
		atomic_fetch_add(&s->bad, 1);
	atomic_fetch_add(&s->calls, 1);
	if (events & LT_ROUTE_IN) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0)
			atomic_fetch_add(&s->bytes, n);
	}
	if ((events & (LT_ROUTE_HUP | LT_ROUTE_IN)) == LT_ROUTE_HUP)
		atomic_fetch_add(&s->hups, 1);
}

static void test_fd_route(void)
{
	struct lt_router *r;
	struct lt_route *route;
	struct fd_state s = {0};
	int fds[2];

	LT_ASSERT_EQ_I(pipe(fds), 0);
	LT_ASSERT_EQ_I(lt_router_create("fd-router", &r), LT_OK);
	LT_ASSERT_EQ_I(lt_router_start(r), LT_OK);
	LT_ASSERT_EQ_I(lt_router_add_fd(r, fds[0], 0, on_fd, &s, &route), LT_OK);
	LT_ASSERT_EQ_I(lt_router_add_fd(r, -1, 0, on_fd, &s, NULL), LT_EINVAL);
	for (int i = 0; i < 100; i++) {
		LT_ASSERT_EQ_I(write(fds[1], "abcdefghij", 10), 10);
		if (i % 10 == 0)
			usleep(1000);
	}
	while (atomic_load(&s.bytes) < 1000)
		usleep(1000);
	close(fds[1]); /* hang up: one last call, then the router stops watching */
	while (atomic_load(&s.hups) == 0)
		usleep(1000);
	usleep(20000);
	LT_ASSERT_EQ_I(atomic_load(&s.hups), 1);
	LT_ASSERT_EQ_I(lt_router_remove(r, route), LT_OK);
	atomic_store(&s.removed, 1);
	LT_ASSERT_EQ_I(atomic_load(&s.bytes), 1000);
	LT_ASSERT_EQ_I(atomic_load(&s.bad), 0);
	lt_router_destroy(r);
	close(fds[0]);
}

/* A route that removes itself from its own callback after `limit` messages. */
struct self_state {
	struct lt_router *r;
	_Atomic long got;
	long limit;
	_Atomic int after_remove;
};

static void self_remove(struct lt_route *route, void *msg, const struct lt_msg_info *info,
			void *arg)
{
	struct self_state *s = arg;

	if (atomic_load(&s->after_remove))
		atomic_fetch_add(&s->got, 1000000); /* must never happen */
	free(msg);
	if (atomic_fetch_add(&s->got, 1) + 1 == s->limit) {
		LT_ASSERT_EQ_I(lt_router_remove(s->r, route), LT_OK);
		atomic_store(&s->after_remove, 1);
	}
}

static void test_remove_from_own_callback(void)
{
	struct lt_router *r;
	struct lt_chan *ch;
	struct self_state s;

	LT_ASSERT_EQ_I(lt_router_create("self", &r), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("self.in", 0, free, &ch), LT_OK);
	s.r = r;
	atomic_init(&s.got, 0);
	s.limit = 10;
	atomic_init(&s.after_remove, 0);
	for (long i = 0; i < 50; i++)
		LT_ASSERT_EQ_I(lt_chan_send(ch, cell(i)), LT_OK);
	LT_ASSERT_EQ_I(lt_router_add_chan(r, ch, 0, self_remove, &s, NULL), LT_OK);
	LT_ASSERT_EQ_I(lt_router_start(r), LT_OK);
	while (!atomic_load(&s.after_remove))
		usleep(1000);
	for (long i = 0; i < 50; i++)
		LT_ASSERT_EQ_I(lt_chan_send(ch, cell(i)), LT_OK);
	usleep(20000);
	LT_ASSERT_EQ_I(atomic_load(&s.got), 10);
	LT_ASSERT_EQ_U(lt_chan_depth(ch), 90);
	lt_router_destroy(r);
	lt_chan_destroy(ch); /* frees the 90 */
}

/*
 * Destroy, stop and start from a route callback (the router thread) are refused: LT_EINVAL,
 * nothing freed, the router keeps serving. Under ASan a destroy that freed anyway is a
 * heap-use-after-free when the callback returns into the router loop.
 */
struct self_destroy_state {
	struct lt_router *r;
	_Atomic int destroy_rc;
	_Atomic int stop_rc;
	_Atomic int start_rc;
	_Atomic long got;
};

static void destroy_from_callback(struct lt_route *route, void *msg, const struct lt_msg_info *info,
				  void *arg)
{
	struct self_destroy_state *s = arg;

	(void)route;
	(void)info;
	free(msg);
	atomic_store(&s->destroy_rc, (int)lt_router_destroy(s->r));
	atomic_store(&s->stop_rc, (int)lt_router_stop(s->r));
	atomic_store(&s->start_rc, (int)lt_router_start(s->r));
	atomic_fetch_add(&s->got, 1);
}

static void test_destroy_from_callback(void)
{
	struct lt_router *r;
	struct lt_chan *ch;
	struct self_destroy_state s;

	LT_ASSERT_EQ_I(lt_router_create("selfdestroy", &r), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("selfdestroy.in", 0, free, &ch), LT_OK);
	s.r = r;
	atomic_init(&s.destroy_rc, -1);
	atomic_init(&s.stop_rc, -1);
	atomic_init(&s.start_rc, -1);
	atomic_init(&s.got, 0);
	LT_ASSERT_EQ_I(lt_router_add_chan(r, ch, 0, destroy_from_callback, &s, NULL), LT_OK);
	LT_ASSERT_EQ_I(lt_router_start(r), LT_OK);
	for (long i = 0; i < 3; i++)
		LT_ASSERT_EQ_I(lt_chan_send(ch, cell(i)), LT_OK);
	while (atomic_load(&s.got) < 3)
		usleep(1000);
	LT_ASSERT_EQ_I(atomic_load(&s.destroy_rc), LT_EINVAL);
	LT_ASSERT_EQ_I(atomic_load(&s.stop_rc), LT_EINVAL);
	LT_ASSERT_EQ_I(atomic_load(&s.start_rc), LT_EINVAL);
	/* Still serving. */
	LT_ASSERT_EQ_I(lt_chan_send(ch, cell(3)), LT_OK);
	while (atomic_load(&s.got) < 4)
		usleep(1000);
	LT_ASSERT_EQ_I(lt_router_destroy(r), LT_OK);
	lt_chan_destroy(ch);
	LT_ASSERT_EQ_I(lt_router_destroy(NULL), LT_OK);
}

/* ---- churn: add/remove from many threads while messages flow ------------------------------ */

struct churn_route {
	_Atomic int in_cb;
	_Atomic int removed;
	_Atomic long got;
	_Atomic long late; /* calls after remove returned: must stay 0 */
};

static void churn_cb(struct lt_route *route, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct churn_route *c = arg;

	if (!msg)
		return;
	atomic_store(&c->in_cb, 1);
	if (atomic_load(&c->removed))
		atomic_fetch_add(&c->late, 1);
	if ((*(long *)msg & 7) == 0)
		usleep(20); /* widen the window a remover may hit */
	free(msg);
	atomic_fetch_add(&c->got, 1);
	atomic_store(&c->in_cb, 0);
}

struct churn_arg {
	struct lt_router *r;
	unsigned seed;
	long sent, got, left, late, running_after;
};

static void *churn(void *p)
{
	struct churn_arg *a = p;

	for (int round = 0; round < CHURN_ROUNDS; round++) {
		struct churn_route *c = calloc(1, sizeof(*c));
		struct lt_chan *ch;
		struct lt_route *route;
		long n = rand_r(&a->seed) % 40;

		LT_ASSERT(c != NULL);
		LT_ASSERT_EQ_I(lt_chan_create("churn", round % 2 ? 16 : 0, free, &ch), LT_OK);
		LT_ASSERT_EQ_I(lt_router_add_chan(a->r, ch, 0, churn_cb, c, &route), LT_OK);
		for (long i = 0; i < n; i++) {
			long *m = cell(i);

			if (lt_chan_send_timed(ch, m, lt_rt_deadline(100000)) != LT_OK) {
				free(m); /* full and slow: fine, fewer messages */
				break;
			}
			a->sent++;
		}
		if (rand_r(&a->seed) % 2)
			usleep((useconds_t)(rand_r(&a->seed) % 200));
		LT_ASSERT_EQ_I(lt_router_remove(a->r, route), LT_OK);
		if (atomic_load(&c->in_cb))
			a->running_after++;
		atomic_store(&c->removed, 1);
		/* Give a buggy router the chance to call us late. */
		if (round % 16 == 0)
			usleep(200);
		a->late += atomic_load(&c->late);
		a->got += atomic_load(&c->got);
		a->left += (long)lt_chan_depth(ch);
		lt_chan_destroy(ch);
		/* c is leaked on purpose only until here: a late call would touch it. */
		usleep(50);
		a->late += atomic_load(&c->late);
		free(c);
	}
	return NULL;
}

static void test_add_remove_churn(void)
{
	struct lt_router *r;
	struct churn_arg args[4];
	pthread_t th[4];
	long sent = 0, got = 0, left = 0, late = 0, running_after = 0;

	LT_ASSERT_EQ_I(lt_router_create("churn", &r), LT_OK);
	LT_ASSERT_EQ_I(lt_router_start(r), LT_OK);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct churn_arg){.r = r, .seed = 1234u + (unsigned)i};
		pthread_create(&th[i], NULL, churn, &args[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		sent += args[i].sent;
		got += args[i].got;
		left += args[i].left;
		late += args[i].late;
		running_after += args[i].running_after;
	}
	fprintf(stderr, "   sent %ld dispatched %ld left in channels %ld\n", sent, got, left);
	LT_ASSERT_EQ_I(late, 0);
	LT_ASSERT_EQ_I(running_after, 0);
	LT_ASSERT_EQ_I(got + left, sent);
	lt_router_destroy(r);
}

int main(void)
{
	LT_RUN(test_chan_route);
	LT_RUN(test_fd_route);
	LT_RUN(test_remove_from_own_callback);
	LT_RUN(test_add_remove_churn);
	LT_RUN(test_destroy_from_callback);
	return 0;
}
