/*
 * ip_truth.c - an unmodified pthread program (no looptrace header) that blocks in known ways
 * and prints how long each thread spent in each blocking call, measured around the calls with
 * CLOCK_MONOTONIC: the ground truth for the interposer tests.
 *
 * Threads (each named with pthread_setname_np):
 *   producer / consumer   a condition-variable queue; the producer sleeps between items
 *   locker-a / locker-b   contend for one mutex, each holding it while it sleeps
 *   reader / writer       a blocking pipe read; the writer sleeps between bytes
 *   sigwaiter             sigwait / sigwaitinfo / sigtimedwait for queued real-time signals
 *                         (and zero-timeout probes, not counted: they never wait)
 *   pauser                sigsuspend, then pause, until a SIGUSR2 handler ran
 *   signaller             sends them, sleeping between signals
 *   reaper                forks children that sleep 20 ms and reaps them with waitpid, wait,
 *                         wait4, waitid (and WNOHANG probes, not counted)
 *   main                  joins them all
 * Output: one line per thread and reason with time > 0,
 *   truth <tid> <thread name> <reason> <ns> <calls>
 * followed by "checksum <n>" (the same whatever the timing; used to compare runs).
 * Usage: ip_truth [scale]   (scale multiplies the iteration counts; default 1)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Every failed check names its line (a bare abort() under load says nothing). */
#define abort() (fprintf(stderr, "ip_truth: check failed at line %d\n", __LINE__), (abort)())

enum { R_MUTEX, R_CONDVAR, R_SLEEP, R_IO, R_JOIN, R_CALL, R_COUNT };
static const char *const reason_names[R_COUNT] = {"mutex", "condvar", "sleep",
						  "io",    "join",    "call"};

struct truth {
	char name[16];
	pid_t tid;
	uint64_t ns[R_COUNT]; /* ns, CLOCK_MONOTONIC, inside the calls */
	uint64_t calls[R_COUNT];
};

static int scale = 1;
static uint64_t checksum;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void add(struct truth *t, int r, uint64_t t0)
{
	t->ns[r] += now_ns() - t0;
	t->calls[r]++;
}

static void start(struct truth *t, const char *name)
{
	char copy[sizeof t->name];
	snprintf(copy, sizeof copy, "%s", name); /* name may be t->name */
	memcpy(t->name, copy, sizeof copy);
	t->tid = gettid();
	pthread_setname_np(pthread_self(), name);
}

static void t_lock(struct truth *t, pthread_mutex_t *m)
{
	uint64_t t0 = now_ns();
	pthread_mutex_lock(m);
	add(t, R_MUTEX, t0);
}

static void t_usleep(struct truth *t, unsigned us)
{
	uint64_t t0 = now_ns();
	usleep(us);
	add(t, R_SLEEP, t0);
}

static void t_nanosleep(struct truth *t, long ns)
{
	struct timespec ts = {0, ns};
	uint64_t t0 = now_ns();
	nanosleep(&ts, NULL);
	add(t, R_SLEEP, t0);
}

static void report(const struct truth *t)
{
	pthread_mutex_lock(&out_lock);
	for (int r = 0; r < R_COUNT; r++)
		if (t->calls[r])
			printf("truth %d %s %s %llu %llu\n", (int)t->tid, t->name, reason_names[r],
			       (unsigned long long)t->ns[r], (unsigned long long)t->calls[r]);
	pthread_mutex_unlock(&out_lock);
}

/* condition-variable queue */
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
static int q_items, q_done;

static void *producer(void *arg)
{
	struct truth *t = arg;
	start(t, "producer");
	for (int i = 0; i < 60 * scale; i++) {
		t_usleep(t, 2000);
		t_lock(t, &q_lock);
		q_items++;
		pthread_cond_signal(&q_cond);
		pthread_mutex_unlock(&q_lock);
	}
	t_lock(t, &q_lock);
	q_done = 1;
	pthread_cond_broadcast(&q_cond);
	pthread_mutex_unlock(&q_lock);
	return NULL;
}

static void *consumer(void *arg)
{
	struct truth *t = arg;
	uint64_t got = 0;
	start(t, "consumer");
	t_lock(t, &q_lock);
	for (;;) {
		while (q_items == 0 && !q_done) {
			uint64_t t0 = now_ns();
			pthread_cond_wait(&q_cond, &q_lock);
			add(t, R_CONDVAR, t0);
		}
		if (q_items == 0 && q_done)
			break;
		q_items--;
		got++;
	}
	pthread_mutex_unlock(&q_lock);
	pthread_mutex_lock(&out_lock);
	checksum += got;
	pthread_mutex_unlock(&out_lock);
	return NULL;
}

/* contended mutex */
static pthread_mutex_t hot = PTHREAD_MUTEX_INITIALIZER;
static int hot_counter;

static void *locker(void *arg)
{
	struct truth *t = arg;
	start(t, t->name);
	for (int i = 0; i < 40 * scale; i++) {
		t_lock(t, &hot);
		hot_counter++;
		t_nanosleep(t, 1000000);
		pthread_mutex_unlock(&hot);
		t_nanosleep(t, 100000); /* let the other one in */
	}
	return NULL;
}

/* blocking pipe */
static int pipefd[2];

static void *writer(void *arg)
{
	struct truth *t = arg;
	start(t, "writer");
	for (int i = 0; i < 40 * scale; i++) {
		char c = (char)('a' + i % 26);
		t_usleep(t, 3000);
		if (write(pipefd[1], &c, 1) != 1)
			abort();
	}
	close(pipefd[1]);
	return NULL;
}

static void *reader(void *arg)
{
	struct truth *t = arg;
	uint64_t sum = 0;
	start(t, "reader");
	for (;;) {
		char c;
		uint64_t t0 = now_ns();
		ssize_t n = read(pipefd[0], &c, 1);
		add(t, R_IO, t0);
		if (n <= 0)
			break;
		sum += (unsigned char)c;
	}
	pthread_mutex_lock(&out_lock);
	checksum += sum;
	pthread_mutex_unlock(&out_lock);
	return NULL;
}

/* signals: SIGRTMIN (queued, blocked in every thread) for sigwaiter, SIGUSR2 for pauser */
static pthread_t sigwaiter_th, pauser_th;
static int sigwaiter_ready, pauser_done;
static uint64_t usr2_seen;

static void on_usr2(int sig)
{
	(void)sig;
	__atomic_add_fetch(&usr2_seen, 1, __ATOMIC_RELAXED);
}

static void *sigwaiter(void *arg)
{
	struct truth *t = arg;
	sigset_t set;
	struct timespec zero = {0, 0}, far = {30, 0};
	uint64_t sum = 0;
	start(t, "sigwaiter");
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	__atomic_store_n(&sigwaiter_ready, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 30 * scale; i++) {
		siginfo_t si;
		int sig = 0;
		/* A probe: never a block. Under load it may find this signal already queued and
		 * take it: then it is this iteration's signal (waiting for it again would wait for
		 * one the signaller never sends). */
		if (sigtimedwait(&set, &si, &zero) == SIGRTMIN) {
			sum++;
			continue;
		}
		uint64_t t0 = now_ns();
		if (i % 3 == 0) {
			if (sigwait(&set, &sig) != 0 || sig != SIGRTMIN)
				abort();
		} else if (i % 3 == 1) {
			sig = sigwaitinfo(&set, &si);
		} else {
			sig = sigtimedwait(&set, &si, &far);
		}
		add(t, R_CALL, t0);
		if (sig != SIGRTMIN)
			abort();
		sum++;
	}
	pthread_mutex_lock(&out_lock);
	checksum += sum;
	pthread_mutex_unlock(&out_lock);
	return NULL;
}

static void *pauser(void *arg)
{
	struct truth *t = arg;
	sigset_t during, usr2;
	start(t, "pauser");
	pthread_sigmask(SIG_BLOCK, NULL, &during);
	sigdelset(&during, SIGUSR2);
	for (int i = 0; i < 20 * scale; i++) {
		uint64_t t0 = now_ns();
		if (sigsuspend(&during) != -1 || errno != EINTR)
			abort();
		add(t, R_CALL, t0);
	}
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);
	for (int i = 0; i < 20 * scale; i++) {
		uint64_t t0 = now_ns();
		if (pause() != -1 || errno != EINTR)
			abort();
		add(t, R_CALL, t0);
	}
	pthread_sigmask(SIG_BLOCK, &usr2, NULL);
	__atomic_store_n(&pauser_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *signaller(void *arg)
{
	struct truth *t = arg;
	start(t, "signaller");
	while (!__atomic_load_n(&sigwaiter_ready, __ATOMIC_ACQUIRE))
		t_usleep(t, 1000);
	for (int i = 0; i < 30 * scale; i++) {
		union sigval v = {.sival_int = i};
		t_usleep(t, 3000);
		if (pthread_sigqueue(sigwaiter_th, SIGRTMIN, v) != 0)
			abort();
	}
	while (!__atomic_load_n(&pauser_done, __ATOMIC_ACQUIRE)) {
		t_usleep(t, 3000);
		pthread_kill(pauser_th, SIGUSR2);
	}
	return NULL;
}

/* children */
static void *reaper(void *arg)
{
	struct truth *t = arg;
	uint64_t sum = 0;
	start(t, "reaper");
	for (int i = 0; i < 8 * scale; i++) {
		/* The child starts its 20 ms only when the parent's WNOHANG probes are done (the
		 * gate's write end closed): under load the probes could otherwise see it exit. */
		int gate[2];
		if (pipe(gate) != 0)
			abort();
		pid_t pid = fork();
		if (pid < 0)
			abort();
		if (pid == 0) {
			struct timespec d = {0, 20000000};
			char c;
			close(gate[1]);
			/* the raw call: the child of a threaded parent stays clear of the wrappers
			 */
			while (syscall(SYS_read, gate[0], &c, 1) < 0 && errno == EINTR)
				;
			nanosleep(&d, NULL);
			_exit(i % 100);
		}
		close(gate[0]);
		int st = 0;
		siginfo_t si;
		struct timespec d = {0, 100000};
		for (int k = 0; k < 5; k++) { /* probes: never a block */
			if (waitpid(pid, &st, WNOHANG) != 0)
				abort();
			t_nanosleep(t, d.tv_nsec);
		}
		close(gate[1]);
		uint64_t t0 = now_ns();
		pid_t got;
		switch (i % 4) {
		case 0:
			got = waitpid(pid, &st, 0);
			break;
		case 1:
			got = wait(&st);
			break;
		case 2:
			got = wait4(pid, &st, 0, NULL);
			break;
		default:
			memset(&si, 0, sizeof si);
			got = waitid(P_PID, (id_t)pid, &si, WEXITED) == 0 ? si.si_pid : -1;
			st = si.si_status << 8;
			break;
		}
		add(t, R_JOIN, t0);
		if (got != pid || WEXITSTATUS(st) != i % 100)
			abort();
		sum += (uint64_t)WEXITSTATUS(st);
	}
	pthread_mutex_lock(&out_lock);
	checksum += sum;
	pthread_mutex_unlock(&out_lock);
	return NULL;
}

int main(int argc, char **argv)
{
	enum { NTH = 10 };
	struct truth tr[NTH + 1];
	void *(*fn[NTH])(void *) = {producer, consumer, locker,    locker,    reader,
				    writer,   reaper,   sigwaiter, signaller, pauser};
	pthread_t th[NTH];
	sigset_t set;
	struct sigaction sa;

	if (argc > 1)
		scale = atoi(argv[1]) > 0 ? atoi(argv[1]) : 1;
	memset(tr, 0, sizeof tr);
	snprintf(tr[2].name, sizeof tr[2].name, "locker-a");
	snprintf(tr[3].name, sizeof tr[3].name, "locker-b");
	snprintf(tr[NTH].name, sizeof tr[NTH].name, "main");
	tr[NTH].tid = gettid();
	if (pipe(pipefd) != 0)
		return 1;
	/* every thread inherits these blocked; SIGUSR2 reaches pauser only in its waits */
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	for (int i = 0; i < NTH; i++)
		if (pthread_create(&th[i], NULL, fn[i], &tr[i]) != 0)
			return 1;
		else if (fn[i] == sigwaiter)
			sigwaiter_th = th[i];
		else if (fn[i] == pauser)
			pauser_th = th[i];
	for (int i = 0; i < NTH; i++) {
		uint64_t t0 = now_ns();
		pthread_join(th[i], NULL);
		add(&tr[NTH], R_JOIN, t0);
	}
	for (int i = 0; i <= NTH; i++)
		report(&tr[i]);
	printf("checksum %llu\n", (unsigned long long)(checksum + (uint64_t)hot_counter));
	return 0;
}
