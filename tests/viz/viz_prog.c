/*
 * viz_prog.c - a small instrumented program for the report tests: two components talking
 * over two queues, with <looptrace/trace.h> calls placed by hand.
 *
 *   main    sends N "load" messages to `script` (outside any handler)
 *   script  handles each "load": sends a "fetch" to `net`, then blocks (chan_recv) until the
 *           reply arrives and receives it inside the handler: blocked-in-handler time
 *   net     handles each "fetch" (about 200 us of work) and sends the reply
 *
 * Usage: viz_prog [N]  (default 50). Prints "handled script=N net=N pid=P" when done.
 */
#include <looptrace/trace.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define QCAP 64

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t items[QCAP]; /* message ids, 0 = stop */
	unsigned head, len;
	uint32_t chan;
};

static struct queue script_q, net_q, reply_q;
static unsigned handled_script, handled_net;

static void queue_init(struct queue *q, const char *name)
{
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	q->head = q->len = 0;
	q->chan = lt_channel_declare(name, QCAP);
}

static void queue_push(struct queue *q, uint64_t msg, uint64_t flow)
{
	pthread_mutex_lock(&q->lock);
	while (q->len == QCAP) {
		pthread_cond_wait(&q->cond, &q->lock);
	}
	q->items[(q->head + q->len) % QCAP] = msg;
	q->len++;
	if (msg) {
		lt_send(q->chan, msg, flow, q->len);
	}
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

static uint64_t queue_pop(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	while (q->len == 0) {
		pthread_cond_wait(&q->cond, &q->lock);
	}
	uint64_t msg = q->items[q->head];
	q->head = (q->head + 1) % QCAP;
	q->len--;
	if (msg) {
		lt_recv(q->chan, msg, q->len);
	}
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return msg;
}

static void spin_us(long us)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000 < us);
}

static void *net_main(void *arg)
{
	(void)arg;
	lt_component_begin("net");
	for (;;) {
		lt_wait_begin();
		uint64_t msg = queue_pop(&net_q);
		lt_wait_end(msg ? net_q.chan : 0, msg);
		if (!msg) {
			break;
		}
		lt_handle_begin(msg, "fetch");
		spin_us(200);
		queue_push(&reply_q, lt_message_new(), msg);
		handled_net++;
		lt_handle_end(msg);
	}
	lt_component_end();
	return NULL;
}

static void *script_main(void *arg)
{
	(void)arg;
	lt_component_begin("script");
	for (;;) {
		lt_wait_begin();
		uint64_t msg = queue_pop(&script_q);
		lt_wait_end(msg ? script_q.chan : 0, msg);
		if (!msg) {
			break;
		}
		lt_handle_begin(msg, "load");
		spin_us(50);
		queue_push(&net_q, lt_message_new(), msg);
		lt_block_begin(LT_BLOCK_CHAN_RECV, &reply_q);
		queue_pop(&reply_q);
		lt_block_end();
		handled_script++;
		lt_handle_end(msg);
	}
	queue_push(&net_q, 0, 0);
	lt_component_end();
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 50;
	pthread_t script, net;
	queue_init(&script_q, "script-in");
	queue_init(&net_q, "net-req");
	queue_init(&reply_q, "net-reply");
	pthread_create(&net, NULL, net_main, NULL);
	pthread_create(&script, NULL, script_main, NULL);
	for (int i = 0; i < n; i++) {
		queue_push(&script_q, lt_message_new(), 0);
		spin_us(100);
	}
	queue_push(&script_q, 0, 0);
	pthread_join(script, NULL);
	pthread_join(net, NULL);
	printf("handled script=%u net=%u pid=%d\n", handled_script, handled_net, (int)getpid());
	return 0;
}
