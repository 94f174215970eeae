/*
 * test_rel_runtime.c - liblooptrace-rt under faults (see docs/runtime.md, "Faults"):
 *
 *   - a handler that calls exit(): the whole process ends promptly with that status;
 *   - a handler that crashes (an invalid access): the process dies by SIGSEGV (a sanitizer
 *     build reports the access and exits non-zero instead);
 *   - a handler that calls pthread_exit(): only the component's thread ends; lt_comp_stop
 *     still joins it and hands back everything queued (handled + 1 + handed back == sent);
 *   - an fd route whose peer closes: the callback sees the remaining data, then exactly one
 *     hang-up call, and is never called again; with no data pending, hang-up alone;
 *   - a channel route whose channel is closed with messages queued: every message, then one
 *     NULL call;
 *   - a channel closed while many senders are blocked on it (plain, timed and ex sends): each
 *     wakes with LT_ECLOSED and keeps its message; what was queued is drained exactly once.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <looptrace/rt/rt.h>

#include "lt_test.h"

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Waits for `pid` (killing it after `limit_s` seconds so a hang fails the test). */
static int wait_child(pid_t pid, int limit_s)
{
	int status = 0;

	for (int i = 0; i < limit_s * 100; i++) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			return status;
		LT_ASSERT(w == 0);
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	lt_test_fail(__FILE__, __LINE__,
		     "child %d still running after %d s: a handler fault hung "
		     "the process",
		     (int)pid, limit_s);
}

/* ---- handler faults in a child process ----------------------------------------------------- */

enum fault { FAULT_EXIT, FAULT_SEGV };

static enum fault child_fault;

static void faulty(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	(void)comp;
	(void)info;
	(void)arg;
	if ((uintptr_t)msg != 3)
		return;
	if (child_fault == FAULT_EXIT)
		exit(7);
	{
		volatile int *volatile p = NULL;

		*p = 1;
	}
}

static void idle_handler(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	(void)comp;
	(void)msg;
	(void)info;
	(void)arg;
}

/* The child: a faulty component next to a healthy one, a router, producers still sending. */
static void child_main(enum fault f)
{
	struct lt_chan *a, *b;
	struct lt_comp *bad, *good;
	struct lt_router *router;

	alarm(30);
	child_fault = f;
	if (lt_chan_create("faulty.in", 4, NULL, &a) != LT_OK ||
	    lt_chan_create("good.in", 4, NULL, &b) != LT_OK ||
	    lt_comp_create("faulty", &bad) != LT_OK || lt_comp_create("good", &good) != LT_OK ||
	    lt_comp_add_handler(bad, a, NULL, faulty, NULL) != LT_OK ||
	    lt_comp_add_handler(good, b, NULL, idle_handler, NULL) != LT_OK ||
	    lt_router_create("router", &router) != LT_OK || lt_router_start(router) != LT_OK ||
	    lt_comp_start(bad) != LT_OK || lt_comp_start(good) != LT_OK)
		_exit(90);
	for (uintptr_t i = 1;; i++) {
		if (lt_chan_send(a, (void *)i) != LT_OK)
			_exit(91);
		if (lt_chan_send(b, (void *)i) != LT_OK)
			_exit(92);
	}
}

static pid_t spawn(enum fault f)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	LT_ASSERT(pid >= 0);
	if (pid == 0)
		child_main(f);
	return pid;
}

static void test_handler_exit(void)
{
	int status = wait_child(spawn(FAULT_EXIT), 20);

	LT_ASSERT(WIFEXITED(status));
	LT_ASSERT_EQ_I(WEXITSTATUS(status), 7);
}

static void test_handler_crash(void)
{
	int status = wait_child(spawn(FAULT_SEGV), 20);

#ifdef LT_TEST_SANITIZED
	/* The sanitizer catches the access, reports it and exits non-zero. */
	LT_ASSERT((WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) ||
		  (WIFEXITED(status) && WEXITSTATUS(status) != 0));
#else
	LT_ASSERT(WIFSIGNALED(status));
	LT_ASSERT_EQ_I(WTERMSIG(status), SIGSEGV);
#endif
}

/* ---- pthread_exit in a handler --------------------------------------------------------------- */

static _Atomic long quit_handled;

static void quitter(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	(void)comp;
	(void)info;
	(void)arg;
	if ((uintptr_t)msg == 5)
		pthread_exit(NULL);
	atomic_fetch_add(&quit_handled, 1);
}

static _Atomic long handed;

static void count_back(void *msg, const struct lt_msg_info *info, void *arg)
{
	(void)msg;
	(void)info;
	(void)arg;
	atomic_fetch_add(&handed, 1);
}

static void test_handler_pthread_exit(void)
{
	struct lt_chan *ch;
	struct lt_comp *c;
	size_t back = 0;
	long sent = 0;

	LT_ASSERT_EQ_I(lt_chan_create("quit.in", 64, NULL, &ch), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_create("quitter", &c), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_add_handler(c, ch, NULL, quitter, NULL), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_start(c), LT_OK);
	for (uintptr_t i = 1; i <= 40; i++) {
		LT_ASSERT_EQ_I(lt_chan_send(ch, (void *)i), LT_OK);
		sent++;
	}
	/* The component thread is gone after message 5; the rest stays queued. */
	LT_ASSERT_EQ_I(lt_comp_stop(c, LT_COMP_STOP_DRAIN, count_back, NULL, &back), LT_OK);
	LT_ASSERT_EQ_I(atomic_load(&quit_handled), 4);
	LT_ASSERT_EQ_I((long)back, atomic_load(&handed));
	LT_ASSERT_EQ_I(atomic_load(&quit_handled) + 1 + (long)back, sent);
	LT_ASSERT_EQ_I(lt_chan_send(ch, (void *)1), LT_ECLOSED);
	lt_comp_destroy(c);
	lt_chan_destroy(ch);
}

/* ---- fd route whose peer closes ----------------------------------------------------------- */

struct fd_log {
	_Atomic long calls;
	_Atomic long hup_only_calls;
	_Atomic long bytes;
	_Atomic long after_hup; /* calls after the hang-up-only call */
};

static void on_fd(struct lt_route *route, int fd, uint32_t events, const struct lt_msg_info *info,
		  void *arg)
{
	struct fd_log *log = arg;
	char buf[4];
	ssize_t n;

	(void)route;
	(void)info;
	if (atomic_load(&log->hup_only_calls))
		atomic_fetch_add(&log->after_hup, 1);
	atomic_fetch_add(&log->calls, 1);
	if (events & LT_ROUTE_IN) {
		n = read(fd, buf, sizeof(buf)); /* small reads: several calls for the data */
		if (n > 0)
			atomic_fetch_add(&log->bytes, n);
	} else if (events & (LT_ROUTE_HUP | LT_ROUTE_ERR)) {
		atomic_fetch_add(&log->hup_only_calls, 1);
	}
}

static void fd_peer_close(long payload)
{
	struct lt_router *r;
	struct lt_route *route;
	struct fd_log log;
	int p[2];
	char data[64] = {0};

	atomic_init(&log.calls, 0);
	atomic_init(&log.hup_only_calls, 0);
	atomic_init(&log.bytes, 0);
	atomic_init(&log.after_hup, 0);
	LT_ASSERT_EQ_I(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	LT_ASSERT_EQ_I(lt_router_create("fd-router", &r), LT_OK);
	LT_ASSERT_EQ_I(lt_router_start(r), LT_OK);
	LT_ASSERT_EQ_I(lt_router_add_fd(r, p[0], 0, on_fd, &log, &route), LT_OK);
	if (payload)
		LT_ASSERT_EQ_I(write(p[1], data, (size_t)payload), payload);
	close(p[1]); /* the peer goes away */
	for (int i = 0; i < 2000 && !atomic_load(&log.hup_only_calls); i++)
		sleep_ms(5);
	LT_ASSERT_EQ_I(atomic_load(&log.hup_only_calls), 1);
	LT_ASSERT_EQ_I(atomic_load(&log.bytes), payload);
	/* No more calls: the router stopped watching the fd (it would spin otherwise). */
	sleep_ms(50);
	LT_ASSERT_EQ_I(atomic_load(&log.after_hup), 0);
	LT_ASSERT_EQ_I(atomic_load(&log.hup_only_calls), 1);
	LT_ASSERT_EQ_I(lt_router_remove(r, route), LT_OK);
	close(p[0]); /* allowed once remove returned */
	lt_router_destroy(r);
}

static void test_fd_route_peer_close_with_data(void)
{
	fd_peer_close(37);
}

static void test_fd_route_peer_close_no_data(void)
{
	fd_peer_close(0);
}

/* ---- channel route closed with messages queued ------------------------------------------ */

struct chan_log {
	_Atomic long msgs;
	_Atomic long nulls;
	_Atomic long after_null;
};

static void on_chan(struct lt_route *route, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct chan_log *log = arg;

	(void)route;
	(void)info;
	if (atomic_load(&log->nulls))
		atomic_fetch_add(&log->after_null, 1);
	if (msg)
		atomic_fetch_add(&log->msgs, 1);
	else
		atomic_fetch_add(&log->nulls, 1);
}

static void test_chan_route_closed_with_queue(void)
{
	struct lt_router *r;
	struct lt_chan *ch;
	struct chan_log log;

	atomic_init(&log.msgs, 0);
	atomic_init(&log.nulls, 0);
	atomic_init(&log.after_null, 0);
	LT_ASSERT_EQ_I(lt_chan_create("routed", 0, NULL, &ch), LT_OK);
	LT_ASSERT_EQ_I(lt_router_create("chan-router", &r), LT_OK);
	/* Queue first, route and close before the router even runs. */
	for (uintptr_t i = 1; i <= 300; i++)
		LT_ASSERT_EQ_I(lt_chan_send(ch, (void *)i), LT_OK);
	LT_ASSERT_EQ_I(lt_router_add_chan(r, ch, 0, on_chan, &log, NULL), LT_OK);
	lt_chan_close(ch);
	LT_ASSERT_EQ_I(lt_router_start(r), LT_OK);
	for (int i = 0; i < 2000 && !atomic_load(&log.nulls); i++)
		sleep_ms(5);
	sleep_ms(20);
	LT_ASSERT_EQ_I(atomic_load(&log.msgs), 300);
	LT_ASSERT_EQ_I(atomic_load(&log.nulls), 1);
	LT_ASSERT_EQ_I(atomic_load(&log.after_null), 0);
	lt_router_destroy(r);
	lt_chan_destroy(ch);
}

/* ---- close with many blocked senders ----------------------------------------------------- */

#define BLOCKED 12

static _Atomic long freed;

static void count_free(void *m)
{
	(void)m;
	atomic_fetch_add(&freed, 1);
}

struct sender {
	struct lt_chan *ch;
	int how;
	_Atomic int started;
	enum lt_err err;
};

static void *blocked_send(void *arg)
{
	struct sender *s = arg;
	void *m = (void *)(uintptr_t)(1000 + s->how);

	atomic_store(&s->started, 1);
	switch (s->how % 3) {
	case 0:
		s->err = lt_chan_send(s->ch, m);
		break;
	case 1:
		s->err = lt_chan_send_timed(s->ch, m, lt_rt_deadline(60ull * 1000000000ull));
		break;
	default:
		s->err = lt_chan_send_ex(s->ch, m, 9, LT_FOREVER, NULL);
		break;
	}
	return NULL;
}

static void close_with_blocked(size_t cap)
{
	struct lt_chan *ch;
	struct sender s[BLOCKED];
	pthread_t th[BLOCKED];
	size_t back;

	atomic_store(&freed, 0);
	LT_ASSERT_EQ_I(lt_chan_create("full", cap, count_free, &ch), LT_OK);
	for (size_t i = 0; i < cap; i++)
		LT_ASSERT_EQ_I(lt_chan_try_send(ch, (void *)(uintptr_t)(i + 1)), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_try_send(ch, (void *)99), LT_EAGAIN);
	for (int i = 0; i < BLOCKED; i++) {
		s[i].ch = ch;
		s[i].how = i;
		atomic_init(&s[i].started, 0);
		s[i].err = LT_OK;
		LT_ASSERT_EQ_I(pthread_create(&th[i], NULL, blocked_send, &s[i]), 0);
	}
	for (int i = 0; i < BLOCKED; i++)
		while (!atomic_load(&s[i].started))
			sleep_ms(1);
	sleep_ms(30); /* most of them parked by now; the result does not depend on it */
	lt_chan_close(ch);
	lt_chan_close(ch); /* idempotent */
	for (int i = 0; i < BLOCKED; i++) {
		pthread_join(th[i], NULL);
		LT_ASSERT_EQ_I(s[i].err, LT_ECLOSED);
	}
	LT_ASSERT_EQ_I(atomic_load(&freed), 0); /* failed senders kept their messages */
	back = lt_chan_drain(ch, NULL, NULL);
	LT_ASSERT_EQ_U(back, cap);
	LT_ASSERT_EQ_I(atomic_load(&freed), (long)cap);
	lt_chan_destroy(ch);
	LT_ASSERT_EQ_I(atomic_load(&freed), (long)cap); /* nothing freed twice */
}

static void test_close_blocked_senders_cap1(void)
{
	close_with_blocked(1);
}

static void test_close_blocked_senders_cap5(void)
{
	close_with_blocked(5);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	LT_RUN(test_handler_exit);
	LT_RUN(test_handler_crash);
	LT_RUN(test_handler_pthread_exit);
	LT_RUN(test_fd_route_peer_close_with_data);
	LT_RUN(test_fd_route_peer_close_no_data);
	LT_RUN(test_chan_route_closed_with_queue);
	LT_RUN(test_close_blocked_senders_cap1);
	LT_RUN(test_close_blocked_senders_cap5);
	return 0;
}
