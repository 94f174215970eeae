/*
 * rt_consumer.c - a tiny program built against an installed liblooptrace-rt (pkg-config
 * looptrace-rt and find_package's looptrace::rt), by tests/libtrace/install_test.sh.
 *
 * A producer thread sends N messages through a bounded channel smaller than N (so it blocks
 * on a full channel at least once) and closes it; the main thread receives until the channel
 * reports closed and checks it got every message, in order, with ids allocated by
 * liblooptrace. It also calls one lt_* function directly: `Requires: looptrace` must make
 * that link too.
 */
#include <looptrace/rt/rt.h>
#include <looptrace/trace.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define N        100
#define CAPACITY 4

static uintptr_t values[N];

static void *producer(void *arg)
{
	struct lt_chan *ch = arg;

	for (int i = 0; i < N; i++) {
		values[i] = (uintptr_t)i + 1;
		if (lt_chan_send(ch, &values[i]) != LT_OK)
			return (void *)1;
	}
	lt_chan_close(ch);
	return NULL;
}

int main(void)
{
	struct lt_chan *ch = NULL;
	pthread_t thread;
	void *thread_ret = NULL;
	void *msg;
	struct lt_msg_info info;
	uint64_t last_id = 0;
	int received = 0, bad = 0;
	enum lt_err err;

	if (lt_chan_create("rt-consumer", CAPACITY, NULL, &ch) != LT_OK)
		return 1;
	if (pthread_create(&thread, NULL, producer, ch) != 0)
		return 1;
	while ((err = lt_chan_recv_ex(ch, &msg, &info, LT_FOREVER)) == LT_OK) {
		if (*(uintptr_t *)msg != (uintptr_t)received + 1 || info.id <= last_id)
			bad++;
		last_id = info.id;
		received++;
	}
	pthread_join(thread, &thread_ret);
	lt_chan_destroy(ch);
	printf("rt consumer: received %d of %d, %d out of order, end: %s, block reason %s\n",
	       received, N, bad, lt_strerror(err), lt_block_reason_name(LT_BLOCK_CHAN_SEND));
	return received == N && bad == 0 && err == LT_ECLOSED && thread_ret == NULL ? 0 : 1;
}
