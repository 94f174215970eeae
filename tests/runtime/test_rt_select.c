/*
 * test_rt_select.c - select over many channels: fairness (a channel that is always full cannot
 * starve another), closed channels, timeouts, interrupts, index bookkeeping, and a wait that
 * parks and is woken by a sender on any of its channels.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <looptrace/rt/rt.h>

#include "lt_test.h"

static int dummy;

static void test_add_remove(void)
{
	struct lt_select *sel;
	struct lt_chan *a, *b, *c;
	size_t ia, ib, ic;

	LT_ASSERT_EQ_I(lt_select_create(&sel), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("a", 4, NULL, &a), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("b", 4, NULL, &b), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("c", 0, NULL, &c), LT_OK);
	LT_ASSERT_EQ_I(lt_select_add(sel, a, &ia), LT_OK);
	LT_ASSERT_EQ_I(lt_select_add(sel, b, &ib), LT_OK);
	LT_ASSERT_EQ_I(lt_select_add(sel, a, NULL), LT_EBUSY);
	LT_ASSERT_EQ_U(ia, 0);
	LT_ASSERT_EQ_U(ib, 1);
	LT_ASSERT_EQ_U(lt_select_count(sel), 2);
	LT_ASSERT_EQ_I(lt_select_remove(sel, a), LT_OK);
	LT_ASSERT_EQ_I(lt_select_remove(sel, a), LT_EINVAL);
	LT_ASSERT_EQ_I(lt_select_add(sel, c, &ic), LT_OK);
	LT_ASSERT_EQ_U(ic, 0); /* reused */
	LT_ASSERT_EQ_U(lt_select_count(sel), 2);

	size_t idx = 99;
	void *m;
	LT_ASSERT_EQ_I(lt_chan_send(c, &dummy), LT_OK);
	LT_ASSERT_EQ_I(lt_select_try(sel, &idx, &m, NULL), LT_OK);
	LT_ASSERT_EQ_U(idx, 0);
	LT_ASSERT(m == &dummy);
	LT_ASSERT_EQ_I(lt_select_try(sel, &idx, &m, NULL), LT_EAGAIN);
	LT_ASSERT_EQ_I(lt_select_wait(sel, lt_rt_deadline(1000000), &idx, &m, NULL), LT_ETIMEDOUT);
	lt_select_destroy(sel);
	/* Destroying the select released the channels: another select may take them. */
	LT_ASSERT_EQ_I(lt_select_create(&sel), LT_OK);
	LT_ASSERT_EQ_I(lt_select_add(sel, b, NULL), LT_OK);
	LT_ASSERT_EQ_I(lt_select_add(sel, c, NULL), LT_OK);
	lt_select_destroy(sel);
	lt_chan_destroy(a);
	lt_chan_destroy(b);
	lt_chan_destroy(c);
}

/* A producer keeps `busy` full; `quiet` gets one message now and then. */
struct fair_arg {
	struct lt_chan *busy;
	_Atomic int stop;
	long sent;
};

static void *flood(void *p)
{
	struct fair_arg *a = p;

	while (!atomic_load(&a->stop)) {
		if (lt_chan_send_timed(a->busy, &dummy, lt_rt_deadline(1000000)) == LT_OK)
			a->sent++;
	}
	return NULL;
}

static void test_fairness(void)
{
	struct lt_select *sel;
	struct lt_chan *busy, *quiet;
	struct fair_arg a;
	pthread_t th;
	long got_busy = 0, got_quiet = 0;
	size_t ibusy, iquiet;

	LT_ASSERT_EQ_I(lt_select_create(&sel), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("busy", 16, NULL, &busy), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("quiet", 16, NULL, &quiet), LT_OK);
	LT_ASSERT_EQ_I(lt_select_add(sel, busy, &ibusy), LT_OK);
	LT_ASSERT_EQ_I(lt_select_add(sel, quiet, &iquiet), LT_OK);
	/* Fill busy first so it is full whenever the select looks. */
	for (int i = 0; i < 16; i++)
		LT_ASSERT_EQ_I(lt_chan_try_send(busy, &dummy), LT_OK);
	a.busy = busy;
	atomic_init(&a.stop, 0);
	a.sent = 16;
	pthread_create(&th, NULL, flood, &a);
	for (int i = 0; i < 100; i++) {
		int q = 0;

		LT_ASSERT_EQ_I(lt_chan_try_send(quiet, &q), LT_OK);
		/* The quiet message must arrive within two receives (round robin). */
		for (int k = 0; k < 2; k++) {
			size_t idx;
			void *m;

			LT_ASSERT_EQ_I(lt_select_wait(sel, LT_FOREVER, &idx, &m, NULL), LT_OK);
			if (idx == iquiet) {
				LT_ASSERT(m == &q);
				got_quiet++;
				break;
			}
			LT_ASSERT_EQ_U(idx, ibusy);
			got_busy++;
		}
	}
	atomic_store(&a.stop, 1);
	lt_chan_close(busy);
	pthread_join(th, NULL);
	LT_ASSERT_EQ_I(got_quiet, 100);
	LT_ASSERT(got_busy <= 100);
	/* The rest of busy drains, then the select reports closed once quiet closes too. */
	lt_chan_close(quiet);
	for (;;) {
		void *m;
		enum lt_err err = lt_select_wait(sel, LT_FOREVER, NULL, &m, NULL);

		if (err == LT_ECLOSED)
			break;
		LT_ASSERT_EQ_I(err, LT_OK);
		got_busy++;
	}
	LT_ASSERT_EQ_I(got_busy, a.sent);
	lt_select_destroy(sel);
	lt_chan_destroy(busy);
	lt_chan_destroy(quiet);
}

static void test_interrupt(void)
{
	struct lt_select *sel;
	void *m;

	LT_ASSERT_EQ_I(lt_select_create(&sel), LT_OK);
	lt_select_interrupt(sel);
	LT_ASSERT_EQ_I(lt_select_wait(sel, LT_FOREVER, NULL, &m, NULL), LT_EINTR);
	LT_ASSERT_EQ_I(lt_select_try(sel, NULL, &m, NULL), LT_EAGAIN);
	lt_select_destroy(sel);
}

struct waker {
	struct lt_select *sel;
	struct lt_chan *ch;
	int interrupt;
};

static void *wake_later(void *p)
{
	struct waker *w = p;

	usleep(10000);
	if (w->interrupt)
		lt_select_interrupt(w->sel);
	else
		LT_ASSERT_EQ_I(lt_chan_send(w->ch, &dummy), LT_OK);
	return NULL;
}

static void test_parked_wakeups(void)
{
	struct lt_select *sel;
	struct lt_chan *ch[8];
	pthread_t th;

	LT_ASSERT_EQ_I(lt_select_create(&sel), LT_OK);
	for (int i = 0; i < 8; i++) {
		LT_ASSERT_EQ_I(lt_chan_create("many", i % 2 ? 4 : 0, NULL, &ch[i]), LT_OK);
		LT_ASSERT_EQ_I(lt_select_add(sel, ch[i], NULL), LT_OK);
	}
	for (int i = 0; i < 8; i++) {
		struct waker w = {sel, ch[i], 0};
		size_t idx;
		struct lt_msg_info info;
		void *m;

		pthread_create(&th, NULL, wake_later, &w);
		LT_ASSERT_EQ_I(lt_select_wait(sel, LT_FOREVER, &idx, &m, &info), LT_OK);
		LT_ASSERT_EQ_U(idx, (size_t)i);
		LT_ASSERT_EQ_U(info.chan, lt_chan_id(ch[i]));
		pthread_join(th, NULL);
	}
	struct waker w = {sel, NULL, 1};
	void *m;
	pthread_create(&th, NULL, wake_later, &w);
	LT_ASSERT_EQ_I(lt_select_wait(sel, LT_FOREVER, NULL, &m, NULL), LT_EINTR);
	pthread_join(th, NULL);
	/* Closing every channel ends the wait. */
	for (int i = 0; i < 8; i++)
		lt_chan_close(ch[i]);
	LT_ASSERT_EQ_I(lt_select_wait(sel, LT_FOREVER, NULL, &m, NULL), LT_ECLOSED);
	lt_select_destroy(sel);
	for (int i = 0; i < 8; i++)
		lt_chan_destroy(ch[i]);
}

int main(void)
{
	LT_RUN(test_add_remove);
	LT_RUN(test_fairness);
	LT_RUN(test_interrupt);
	LT_RUN(test_parked_wakeups);
	return 0;
}
