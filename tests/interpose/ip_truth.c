/*
 * ip_truth.c - an unmodified pthread program (no looptrace header) that blocks in known ways
 * and prints how long each thread spent in each blocking call, measured around the calls with
 * CLOCK_MONOTONIC: the ground truth for the interposer tests.
 *
 * Threads (each named with pthread_setname_np):
 *   producer / consumer   a condition-variable queue; the producer sleeps between items
 *   locker-a / locker-b   contend for one mutex, each holding it while it sleeps
 *   reader / writer       a blocking pipe read; the writer sleeps between bytes
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
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { R_MUTEX, R_CONDVAR, R_SLEEP, R_IO, R_JOIN, R_COUNT };
static const char *const reason_names[R_COUNT] = {"mutex", "condvar", "sleep", "io", "join"};

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

int main(int argc, char **argv)
{
	struct truth tr[7];
	void *(*fn[6])(void *) = {producer, consumer, locker, locker, reader, writer};
	pthread_t th[6];

	if (argc > 1)
		scale = atoi(argv[1]) > 0 ? atoi(argv[1]) : 1;
	memset(tr, 0, sizeof tr);
	snprintf(tr[2].name, sizeof tr[2].name, "locker-a");
	snprintf(tr[3].name, sizeof tr[3].name, "locker-b");
	snprintf(tr[6].name, sizeof tr[6].name, "main");
	tr[6].tid = gettid();
	if (pipe(pipefd) != 0)
		return 1;
	for (int i = 0; i < 6; i++)
		if (pthread_create(&th[i], NULL, fn[i], &tr[i]) != 0)
			return 1;
	for (int i = 0; i < 6; i++) {
		uint64_t t0 = now_ns();
		pthread_join(th[i], NULL);
		add(&tr[6], R_JOIN, t0);
	}
	for (int i = 0; i < 7; i++)
		report(&tr[i]);
	printf("checksum %llu\n", (unsigned long long)(checksum + (uint64_t)hot_counter));
	return 0;
}
