/*
 * ip_semantics.c - the wrapped functions keep their behaviour with liblooptrace-preload.so
 * preloaded, traced or not: return values, errno, the try-first paths (recursive and
 * error-checking mutexes, a busy semaphore, a non-blocking descriptor), thread names, join
 * results, fork from a multi-threaded process, waits for children (WNOHANG probes, exit
 * statuses, EINTR) and for signals (zero timeouts, pending signals, sigsuspend's mask), and no
 * deadlock.
 *
 * Run it with LD_PRELOAD=liblooptrace-preload.so (it fails when the interposer is not
 * loaded, unless LT_IP_EXPECT_PLAIN=1), plain, or under `looptrace record --interpose`.
 */
#define _GNU_SOURCE
#include "lt_test.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void test_loaded(void)
{
	void *p = dlsym(RTLD_DEFAULT, "lttng_ust_tracepoint_provider_looptrace_preload");
	const char *plain = getenv("LT_IP_EXPECT_PLAIN");
	if (plain && strcmp(plain, "1") == 0)
		LT_ASSERT(p == NULL);
	else
		LT_ASSERT(p != NULL);
}

static void test_mutex_kinds(void)
{
	pthread_mutexattr_t a;
	pthread_mutex_t rec, chk;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&rec, &a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&chk, &a);
	pthread_mutexattr_destroy(&a);

	errno = 1234;
	LT_ASSERT_EQ_I(pthread_mutex_lock(&rec), 0);
	LT_ASSERT_EQ_I(pthread_mutex_lock(&rec), 0); /* recursive: trylock path succeeds */
	LT_ASSERT_EQ_I(errno, 1234);
	pthread_mutex_unlock(&rec);
	pthread_mutex_unlock(&rec);

	LT_ASSERT_EQ_I(pthread_mutex_lock(&chk), 0);
	LT_ASSERT_EQ_I(pthread_mutex_lock(&chk), EDEADLK); /* owned by us: error, no wait */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	LT_ASSERT_EQ_I(pthread_mutex_timedlock(&chk, &ts), EDEADLK);
	LT_ASSERT_EQ_I(errno, 1234);
	pthread_mutex_unlock(&chk);
	pthread_mutex_destroy(&rec);
	pthread_mutex_destroy(&chk);
}

struct held {
	pthread_mutex_t m;
	pthread_rwlock_t rw;
	sem_t ready, sem;
};

static void *hold_then_release(void *arg)
{
	struct held *h = arg;
	struct timespec d = {0, 20000000};

	pthread_setname_np(pthread_self(), "holder");
	pthread_mutex_lock(&h->m);
	pthread_rwlock_wrlock(&h->rw);
	sem_post(&h->ready);
	nanosleep(&d, NULL);
	pthread_mutex_unlock(&h->m);
	nanosleep(&d, NULL);
	pthread_rwlock_unlock(&h->rw);
	nanosleep(&d, NULL);
	sem_post(&h->sem);
	nanosleep(&d, NULL); /* so that the join waits */
	return (void *)(uintptr_t)42;
}

static void test_contended(void)
{
	struct held h;
	pthread_t t;
	void *ret = NULL;

	memset(&h, 0, sizeof h);
	pthread_mutex_init(&h.m, NULL);
	pthread_rwlock_init(&h.rw, NULL);
	sem_init(&h.ready, 0, 0);
	sem_init(&h.sem, 0, 0);
	LT_ASSERT_EQ_I(pthread_create(&t, NULL, hold_then_release, &h), 0);
	LT_ASSERT_EQ_I(sem_wait(&h.ready), 0);
	errno = 77;
	LT_ASSERT_EQ_I(pthread_mutex_lock(&h.m), 0); /* waits ~20 ms */
	LT_ASSERT_EQ_I(errno, 77);
	pthread_mutex_unlock(&h.m);
	LT_ASSERT_EQ_I(pthread_rwlock_rdlock(&h.rw), 0); /* waits ~20 ms more */
	LT_ASSERT_EQ_I(errno, 77);
	pthread_rwlock_unlock(&h.rw);
	LT_ASSERT_EQ_I(sem_wait(&h.sem), 0); /* trywait fails with EAGAIN, then waits */
	LT_ASSERT_EQ_I(errno, 77);
	LT_ASSERT_EQ_I(pthread_join(t, &ret), 0);
	LT_ASSERT(ret == (void *)(uintptr_t)42);
	LT_ASSERT_EQ_I(errno, 77);
	sem_destroy(&h.sem);
	sem_destroy(&h.ready);

	/* A semaphore wait that times out reports ETIMEDOUT through errno. */
	sem_init(&h.sem, 0, 0);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 5000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	LT_ASSERT_EQ_I(sem_timedwait(&h.sem, &ts), -1);
	LT_ASSERT_EQ_I(errno, ETIMEDOUT);
	sem_destroy(&h.sem);
	pthread_rwlock_destroy(&h.rw);
	pthread_mutex_destroy(&h.m);
}

static void test_condvar_timeout(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c = PTHREAD_COND_INITIALIZER;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 2000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&m);
	errno = 5;
	LT_ASSERT_EQ_I(pthread_cond_timedwait(&c, &m, &ts), ETIMEDOUT);
	LT_ASSERT_EQ_I(errno, 5);
	pthread_mutex_unlock(&m);
}

static void test_fds(void)
{
	int p[2];
	char c = 'x';

	LT_ASSERT_EQ_I(pipe(p), 0);
	/* non-blocking and empty: EAGAIN at once */
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	errno = 0;
	LT_ASSERT_EQ_I((int)read(p[0], &c, 1), -1);
	LT_ASSERT_EQ_I(errno, EAGAIN);
	fcntl(p[0], F_SETFL, 0);
	/* data ready: read returns it */
	LT_ASSERT_EQ_I((int)write(p[1], "y", 1), 1);
	errno = 9;
	LT_ASSERT_EQ_I((int)read(p[0], &c, 1), 1);
	LT_ASSERT_EQ_I(c, 'y');
	LT_ASSERT_EQ_I(errno, 9);
	/* a bad descriptor is still EBADF */
	errno = 0;
	LT_ASSERT_EQ_I((int)read(-1, &c, 1), -1);
	LT_ASSERT_EQ_I(errno, EBADF);
	/* poll and select with timeouts */
	struct pollfd pf = {.fd = p[0], .events = POLLIN, .revents = 0};
	LT_ASSERT_EQ_I(poll(&pf, 1, 0), 0);
	LT_ASSERT_EQ_I(poll(&pf, 1, 5), 0);
	LT_ASSERT_EQ_I(poll(NULL, 0, 2), 0);
	struct timeval tv = {0, 2000};
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	LT_ASSERT_EQ_I(select(p[0] + 1, &rs, NULL, NULL, &tv), 0);
	/* recv on a socket pair, blocking until the peer writes */
	int sv[2];
	LT_ASSERT_EQ_I(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	LT_ASSERT_EQ_I((int)send(sv[1], "z", 1, 0), 1);
	LT_ASSERT_EQ_I((int)recv(sv[0], &c, 1, 0), 1);
	LT_ASSERT_EQ_I(c, 'z');
	errno = 0;
	LT_ASSERT_EQ_I((int)recv(sv[0], &c, 1, MSG_DONTWAIT), -1);
	LT_ASSERT_EQ_I(errno, EAGAIN);
	close(sv[0]);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	/* a regular file read */
	int fd = open("/proc/self/exe", O_RDONLY);
	LT_ASSERT(fd >= 0);
	char hdr[4];
	LT_ASSERT_EQ_I((int)read(fd, hdr, 4), 4);
	LT_ASSERT(memcmp(hdr, "\177ELF", 4) == 0);
	close(fd);
}

static void test_sleeps(void)
{
	struct timespec d = {0, 1000000};
	errno = 3;
	LT_ASSERT_EQ_I(nanosleep(&d, NULL), 0);
	LT_ASSERT_EQ_I(clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL), 0);
	LT_ASSERT_EQ_I(usleep(1000), 0);
	LT_ASSERT_EQ_I((int)sleep(0), 0);
	LT_ASSERT_EQ_I(errno, 3);
}

static struct timespec in_ms(clockid_t clk, long ms)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	ts.tv_nsec += ms * 1000000;
	while (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return ts;
}

static void *sleep_20ms(void *arg)
{
	struct timespec d = {0, 20000000};
	nanosleep(&d, NULL);
	return arg;
}

/* The clock/timed variants and the less common descriptor calls. */
static void test_variants(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c = PTHREAD_COND_INITIALIZER;
	pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
	sem_t sem;
	struct timespec ts;

	errno = 11;
	pthread_mutex_lock(&m);
	ts = in_ms(CLOCK_MONOTONIC, 2);
	LT_ASSERT_EQ_I(pthread_cond_clockwait(&c, &m, CLOCK_MONOTONIC, &ts), ETIMEDOUT);
	pthread_mutex_unlock(&m);
	ts = in_ms(CLOCK_MONOTONIC, 2);
	LT_ASSERT_EQ_I(pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &ts), 0);
	pthread_mutex_unlock(&m);
	LT_ASSERT_EQ_I(pthread_rwlock_wrlock(&rw), 0);
	ts = in_ms(CLOCK_REALTIME, 2);
	LT_ASSERT_EQ_I(pthread_rwlock_timedrdlock(&rw, &ts), EDEADLK);
	pthread_rwlock_unlock(&rw);
	ts = in_ms(CLOCK_MONOTONIC, 2);
	LT_ASSERT_EQ_I(pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC, &ts), 0);
	pthread_rwlock_unlock(&rw);
	LT_ASSERT_EQ_I(errno, 11);
	sem_init(&sem, 0, 0);
	ts = in_ms(CLOCK_MONOTONIC, 2);
	LT_ASSERT_EQ_I(sem_clockwait(&sem, CLOCK_MONOTONIC, &ts), -1);
	LT_ASSERT_EQ_I(errno, ETIMEDOUT);
	sem_post(&sem);
	errno = 11;
	LT_ASSERT_EQ_I(sem_clockwait(&sem, CLOCK_MONOTONIC, &ts), 0);
	LT_ASSERT_EQ_I(errno, 11);
	sem_destroy(&sem);

	pthread_t t;
	void *ret = NULL;
	LT_ASSERT_EQ_I(pthread_create(&t, NULL, sleep_20ms, (void *)&sem), 0);
	ts = in_ms(CLOCK_REALTIME, 1);
	LT_ASSERT_EQ_I(pthread_timedjoin_np(t, &ret, &ts), ETIMEDOUT);
	ts = in_ms(CLOCK_MONOTONIC, 5000);
	LT_ASSERT_EQ_I(pthread_clockjoin_np(t, &ret, CLOCK_MONOTONIC, &ts), 0);
	LT_ASSERT(ret == (void *)&sem);

	int ep = epoll_create1(0);
	LT_ASSERT(ep >= 0);
	struct epoll_event ev;
	LT_ASSERT_EQ_I(epoll_pwait(ep, &ev, 1, 2, NULL), 0);
	LT_ASSERT_EQ_I(epoll_wait(ep, &ev, 1, 0), 0);
	close(ep);
	struct timespec zero = {0, 2000000};
	LT_ASSERT_EQ_I(pselect(0, NULL, NULL, NULL, &zero, NULL), 0);

	int sv[2];
	char b[4];
	LT_ASSERT_EQ_I(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	LT_ASSERT_EQ_I((int)send(sv[1], "ab", 2, 0), 2);
	LT_ASSERT_EQ_I((int)recvfrom(sv[0], b, sizeof b, 0, NULL, NULL), 2);
	LT_ASSERT_EQ_I((int)send(sv[1], "cde", 3, 0), 3);
	struct iovec iov = {.iov_base = b, .iov_len = sizeof b};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	LT_ASSERT_EQ_I((int)recvmsg(sv[0], &mh, 0), 3);
	LT_ASSERT(memcmp(b, "cde", 3) == 0);
	errno = 0;
	LT_ASSERT_EQ_I((int)recvmsg(sv[0], &mh, MSG_DONTWAIT), -1);
	LT_ASSERT_EQ_I(errno, EAGAIN);
	close(sv[0]);
	close(sv[1]);
}

static void *spin_locker(void *arg)
{
	pthread_mutex_t *m = arg;
	for (int i = 0; i < 2000; i++) {
		pthread_mutex_lock(m);
		pthread_mutex_unlock(m);
	}
	return NULL;
}

static void test_fork(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_t t;

	LT_ASSERT_EQ_I(pthread_create(&t, NULL, spin_locker, &m), 0);
	pid_t pid = fork();
	LT_ASSERT(pid >= 0);
	if (pid == 0) {
		/* the child keeps working: locks, sleeps, threads */
		pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
		pthread_t ct;
		pthread_mutex_lock(&cm);
		pthread_mutex_unlock(&cm);
		usleep(1000);
		if (pthread_create(&ct, NULL, spin_locker, &cm) != 0)
			_exit(1);
		if (pthread_join(ct, NULL) != 0)
			_exit(2);
		/* blocks after which a forked child says its component again */
		for (int i = 0; i < 6; i++)
			usleep(3000);
		_exit(7);
	}
	int st = 0;
	LT_ASSERT_EQ_I((int)waitpid(pid, &st, 0), (int)pid);
	LT_ASSERT(WIFEXITED(st));
	LT_ASSERT_EQ_I(WEXITSTATUS(st), 7);
	LT_ASSERT_EQ_I(pthread_join(t, NULL), 0);
}

static void *named_from_outside(void *arg)
{
	sem_t *go = arg;
	struct timespec d = {0, 5000000};

	sem_wait(go);
	nanosleep(&d, NULL); /* its first block after the rename carries the new name */
	return NULL;
}

/* Blocked until the end of its life: renamed meanwhile, it has no later event of its own. */
static void *renamed_while_blocked(void *arg)
{
	sem_wait(arg);
	return NULL;
}

/* Renames itself with prctl(PR_SET_NAME), then blocks once. */
static void *named_by_prctl(void *arg)
{
	struct timespec d = {0, 2000000};
	char got[17] = {0};

	(void)arg;
	LT_ASSERT_EQ_I(prctl(PR_SET_NAME, "prctl-named", 0, 0, 0), 0);
	LT_ASSERT_EQ_I(prctl(PR_GET_NAME, got, 0, 0, 0), 0);
	LT_ASSERT_STREQ(got, "prctl-named");
	nanosleep(&d, NULL);
	return NULL;
}

static void test_names(void)
{
	sem_t go;
	pthread_t t;
	char got[16];

	sem_init(&go, 0, 0);
	LT_ASSERT_EQ_I(pthread_create(&t, NULL, named_from_outside, &go), 0);
	LT_ASSERT_EQ_I(pthread_setname_np(t, "outside"), 0);
	LT_ASSERT_EQ_I(pthread_getname_np(t, got, sizeof got), 0);
	LT_ASSERT_STREQ(got, "outside");
	sem_post(&go);
	LT_ASSERT_EQ_I(pthread_join(t, NULL), 0);
	sem_destroy(&go);

	/* Renamed while blocked in sem_wait (give it time to get there; either way it is right). */
	struct timespec d = {0, 30000000};
	sem_init(&go, 0, 0);
	LT_ASSERT_EQ_I(pthread_create(&t, NULL, renamed_while_blocked, &go), 0);
	nanosleep(&d, NULL);
	LT_ASSERT_EQ_I(pthread_setname_np(t, "blk-renamed"), 0);
	LT_ASSERT_EQ_I(pthread_getname_np(t, got, sizeof got), 0);
	LT_ASSERT_STREQ(got, "blk-renamed");
	sem_post(&go);
	LT_ASSERT_EQ_I(pthread_join(t, NULL), 0);
	sem_destroy(&go);

	LT_ASSERT_EQ_I(pthread_create(&t, NULL, named_by_prctl, NULL), 0);
	LT_ASSERT_EQ_I(pthread_join(t, NULL), 0);

	char name[16];
	LT_ASSERT_EQ_I(pthread_setname_np(pthread_self(), "semantics"), 0);
	LT_ASSERT_EQ_I(pthread_getname_np(pthread_self(), name, sizeof name), 0);
	LT_ASSERT_STREQ(name, "semantics");
	LT_ASSERT_EQ_I(pthread_setname_np(pthread_self(), "a-name-that-is-far-too-long"), ERANGE);
}

/* A child that exits with `code` once `*gate` (a pipe's write end, kept by the parent) closes. */
static pid_t child_exiting_on_close(int code, int *gate)
{
	int p[2];
	LT_ASSERT_EQ_I(pipe(p), 0);
	pid_t pid = fork();
	LT_ASSERT(pid >= 0);
	if (pid == 0) {
		char c;
		close(p[1]);
		while (read(p[0], &c, 1) > 0)
			;
		_exit(code);
	}
	close(p[0]);
	*gate = p[1];
	return pid;
}

static void on_signal(int sig)
{
	(void)sig;
}

struct kick {
	pthread_t target;
	int sig;
	long delay_ns;
	volatile int *until; /* NULL: send once; else resend every 2 ms until *until != 0 */
};

static void *kick_later(void *arg)
{
	struct kick *k = arg;
	struct timespec d = {0, k->delay_ns};
	nanosleep(&d, NULL);
	pthread_kill(k->target, k->sig);
	while (k->until && !__atomic_load_n(k->until, __ATOMIC_ACQUIRE)) {
		struct timespec r = {0, 2000000};
		nanosleep(&r, NULL);
		pthread_kill(k->target, k->sig);
	}
	return NULL;
}

static void test_children(void)
{
	int st = 0, gate;
	struct rusage ru;
	siginfo_t si;

	errno = 1234;
	LT_ASSERT_EQ_I((int)waitpid(-1, &st, WNOHANG), -1); /* no child at all */
	LT_ASSERT_EQ_I(errno, ECHILD);
	errno = 1234;
	LT_ASSERT_EQ_I((int)wait(&st), -1);
	LT_ASSERT_EQ_I(errno, ECHILD);
	errno = 1234;
	LT_ASSERT_EQ_I((int)wait4(-1, &st, 0, NULL), -1);
	LT_ASSERT_EQ_I(errno, ECHILD);

	/* waitpid: a WNOHANG probe while the child runs, then a real wait */
	pid_t pid = child_exiting_on_close(3, &gate);
	errno = 1234;
	for (int i = 0; i < 20; i++)
		LT_ASSERT_EQ_I((int)waitpid(pid, &st, WNOHANG), 0);
	memset(&si, 0xff, sizeof si);
	LT_ASSERT_EQ_I(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT), 0);
	LT_ASSERT_EQ_I((int)si.si_pid, 0);
	LT_ASSERT_EQ_I(errno, 1234);
	close(gate);
	LT_ASSERT_EQ_I((int)waitpid(pid, &st, 0), (int)pid);
	LT_ASSERT(WIFEXITED(st));
	LT_ASSERT_EQ_I(WEXITSTATUS(st), 3);
	LT_ASSERT_EQ_I(errno, 1234);

	/* wait, wait4 (with rusage), waitid: statuses as the kernel gives them */
	pid = child_exiting_on_close(4, &gate);
	close(gate);
	LT_ASSERT_EQ_I((int)wait(&st), (int)pid);
	LT_ASSERT_EQ_I(WEXITSTATUS(st), 4);
	pid = child_exiting_on_close(5, &gate);
	close(gate);
	memset(&ru, 0xff, sizeof ru);
	LT_ASSERT_EQ_I((int)wait4(pid, &st, 0, &ru), (int)pid);
	LT_ASSERT_EQ_I(WEXITSTATUS(st), 5);
	LT_ASSERT(ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000);
	pid = child_exiting_on_close(6, &gate);
	close(gate);
	memset(&si, 0, sizeof si);
	LT_ASSERT_EQ_I(waitid(P_PID, (id_t)pid, &si, WEXITED), 0);
	LT_ASSERT_EQ_I((int)si.si_pid, (int)pid);
	LT_ASSERT_EQ_I(si.si_code, CLD_EXITED);
	LT_ASSERT_EQ_I(si.si_status, 6);
	LT_ASSERT_EQ_I(errno, 1234);

	/* A signal with a handler (no SA_RESTART) interrupts a blocked waitpid: EINTR. */
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	LT_ASSERT_EQ_I(sigaction(SIGUSR2, &sa, &old), 0);
	pid = child_exiting_on_close(7, &gate);
	struct kick k = {pthread_self(), SIGUSR2, 20000000, NULL};
	pthread_t t;
	LT_ASSERT_EQ_I(pthread_create(&t, NULL, kick_later, &k), 0);
	LT_ASSERT_EQ_I((int)waitpid(pid, &st, 0), -1);
	LT_ASSERT_EQ_I(errno, EINTR);
	LT_ASSERT_EQ_I(pthread_join(t, NULL), 0);
	close(gate);
	LT_ASSERT_EQ_I((int)waitpid(pid, &st, 0), (int)pid);
	LT_ASSERT_EQ_I(WEXITSTATUS(st), 7);
	sigaction(SIGUSR2, &old, NULL);
}

static volatile int paused_done;

static void on_usr2_done(int sig)
{
	(void)sig;
	__atomic_store_n(&paused_done, 1, __ATOMIC_RELEASE);
}

static void test_signals(void)
{
	sigset_t usr1, old, cur;
	siginfo_t si;
	int sig = 0;
	pthread_t t;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	LT_ASSERT_EQ_I(pthread_sigmask(SIG_BLOCK, &usr1, &old), 0);

	/* zero timeout: a probe (EAGAIN); a short timeout: EAGAIN after waiting */
	struct timespec zero = {0, 0}, short_ts = {0, 5000000}, long_ts = {10, 0};
	errno = 1234;
	LT_ASSERT_EQ_I(sigtimedwait(&usr1, &si, &zero), -1);
	LT_ASSERT_EQ_I(errno, EAGAIN);
	errno = 1234;
	LT_ASSERT_EQ_I(sigtimedwait(&usr1, NULL, &short_ts), -1);
	LT_ASSERT_EQ_I(errno, EAGAIN);

	/* pending already: each call takes it at once (the try path) */
	errno = 1234;
	pthread_kill(pthread_self(), SIGUSR1);
	LT_ASSERT_EQ_I(sigwait(&usr1, &sig), 0);
	LT_ASSERT_EQ_I(sig, SIGUSR1);
	union sigval v = {.sival_int = 42};
	LT_ASSERT_EQ_I(sigqueue(getpid(), SIGUSR1, v), 0);
	memset(&si, 0, sizeof si);
	LT_ASSERT_EQ_I(sigwaitinfo(&usr1, &si), SIGUSR1);
	LT_ASSERT_EQ_I(si.si_signo, SIGUSR1);
	LT_ASSERT_EQ_I(si.si_code, SI_QUEUE);
	LT_ASSERT_EQ_I(si.si_value.sival_int, 42);
	pthread_kill(pthread_self(), SIGUSR1);
	LT_ASSERT_EQ_I(sigtimedwait(&usr1, NULL, &long_ts), SIGUSR1);
	/* taken: nothing left pending */
	LT_ASSERT_EQ_I(sigtimedwait(&usr1, NULL, &zero), -1);
	LT_ASSERT_EQ_I(errno, EAGAIN);
	errno = 1234;

	/* not pending yet: each call waits for another thread's signal */
	struct kick k = {pthread_self(), SIGUSR1, 10000000, NULL};
	LT_ASSERT_EQ_I(pthread_create(&t, NULL, kick_later, &k), 0);
	sig = 0;
	LT_ASSERT_EQ_I(sigwait(&usr1, &sig), 0);
	LT_ASSERT_EQ_I(sig, SIGUSR1);
	LT_ASSERT_EQ_I(pthread_join(t, NULL), 0);
	LT_ASSERT_EQ_I(pthread_create(&t, NULL, kick_later, &k), 0);
	memset(&si, 0, sizeof si);
	LT_ASSERT_EQ_I(sigwaitinfo(&usr1, &si), SIGUSR1);
	LT_ASSERT_EQ_I(si.si_signo, SIGUSR1);
	LT_ASSERT_EQ_I(pthread_join(t, NULL), 0);
	LT_ASSERT_EQ_I(pthread_create(&t, NULL, kick_later, &k), 0);
	LT_ASSERT_EQ_I(sigtimedwait(&usr1, &si, &long_ts), SIGUSR1);
	LT_ASSERT_EQ_I(pthread_join(t, NULL), 0);
	LT_ASSERT_EQ_I(errno, 1234);

	/* sigsuspend: EINTR after the handler ran, and the old mask is back */
	struct sigaction sa, olda;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr2_done;
	sigemptyset(&sa.sa_mask);
	LT_ASSERT_EQ_I(sigaction(SIGUSR2, &sa, &olda), 0);
	sigset_t usr2;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	LT_ASSERT_EQ_I(pthread_sigmask(SIG_BLOCK, &usr2, NULL), 0);
	sigset_t during;
	LT_ASSERT_EQ_I(pthread_sigmask(SIG_BLOCK, NULL, &during), 0);
	sigdelset(&during, SIGUSR2);
	paused_done = 0;
	k.sig = SIGUSR2;
	LT_ASSERT_EQ_I(pthread_create(&t, NULL, kick_later, &k), 0);
	LT_ASSERT_EQ_I(sigsuspend(&during), -1);
	LT_ASSERT_EQ_I(errno, EINTR);
	LT_ASSERT_EQ_I(paused_done, 1);
	LT_ASSERT_EQ_I(pthread_join(t, NULL), 0);
	LT_ASSERT_EQ_I(pthread_sigmask(SIG_BLOCK, NULL, &cur), 0);
	LT_ASSERT_EQ_I(sigismember(&cur, SIGUSR2), 1);

	/* pause: EINTR once a handled signal arrives (resent until it came after the unblock) */
	paused_done = 0;
	k.until = &paused_done;
	LT_ASSERT_EQ_I(pthread_create(&t, NULL, kick_later, &k), 0);
	LT_ASSERT_EQ_I(pthread_sigmask(SIG_UNBLOCK, &usr2, NULL), 0);
	errno = 1234;
	int rc = pause();
	LT_ASSERT_EQ_I(rc, -1);
	LT_ASSERT_EQ_I(errno, EINTR);
	LT_ASSERT_EQ_I(pthread_join(t, NULL), 0);
	sigaction(SIGUSR2, &olda, NULL);
	LT_ASSERT_EQ_I(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
}

int main(void)
{
	LT_RUN(test_loaded);
	LT_RUN(test_mutex_kinds);
	LT_RUN(test_contended);
	LT_RUN(test_condvar_timeout);
	LT_RUN(test_fds);
	LT_RUN(test_sleeps);
	LT_RUN(test_variants);
	LT_RUN(test_fork);
	LT_RUN(test_names);
	LT_RUN(test_children);
	LT_RUN(test_signals);
	return 0;
}
