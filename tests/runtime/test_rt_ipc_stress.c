/*
 * test_rt_ipc_stress.c - IPC framing under pressure: 4 threads send frames of mixed sizes (16
 * bytes to 192 KiB) on one endpoint while an interval timer interrupts every thread with a
 * signal (EINTR in sendmsg, poll, read and epoll_wait), the socket buffers are small (many
 * partial writes and reads) and the receiving route stalls now and then (full socket: the
 * senders wait). Every frame must arrive exactly once, whole, in each sender's order, with
 * the flow it was sent on and a message id no other frame has; then the writer's close is
 * reported once as a clean end.
 *
 * Size: 40,000 frames per sender; a tenth in sanitized builds; LT_STRESS_SCALE scales it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <looptrace/rt/rt.h>

#include "lt_test.h"

#define SENDERS 4

struct head {
	uint32_t sender, len;
	uint64_t seq;
};

static long per_sender;
static struct lt_ipc *tx;

struct rx {
	uint64_t next[SENDERS]; /* router thread only */
	uint64_t *ids;          /* router thread only: every id received */
	long n, bad, ends;
	enum lt_err end;
	_Atomic long done;
};

static struct rx rx;

static unsigned char fill(const struct head *h, uint32_t i)
{
	return (unsigned char)(h->seq * 13 + h->sender * 101 + i);
}

static uint32_t frame_len(uint64_t *rng)
{
	uint64_t z = (*rng = *rng * 6364136223846793005ull + 1442695040888963407ull) >> 33;

	if (z % 97 == 0)
		return (uint32_t)(sizeof(struct head) + z % (192 * 1024));
	return (uint32_t)(sizeof(struct head) + z % 300);
}

static void on_frame(struct lt_route *route, void *data, uint32_t len,
		     const struct lt_msg_info *info, enum lt_err end, void *arg)
{
	struct head h;

	(void)route;
	(void)arg;
	if (end != LT_OK) {
		rx.ends++;
		rx.end = end;
		atomic_store(&rx.done, 1);
		return;
	}
	memcpy(&h, data, sizeof(h));
	if (len != h.len || h.sender >= SENDERS || h.seq != rx.next[h.sender] ||
	    info->flow != ((uint64_t)h.sender << 48 | (h.seq + 1)) || info->id == 0) {
		rx.bad++;
	} else {
		for (uint32_t i = sizeof(h); i < len; i++)
			if (((unsigned char *)data)[i] != fill(&h, i)) {
				rx.bad++;
				break;
			}
		rx.next[h.sender]++;
	}
	if (rx.n < per_sender * SENDERS)
		rx.ids[rx.n] = info->id;
	rx.n++;
	if (rx.n % 4096 == 0)
		usleep(2000); /* a slow reader now and then: the senders find the socket full */
	free(data);
}

static void *sender(void *arg)
{
	uint32_t me = (uint32_t)(uintptr_t)arg;
	uint64_t rng = me + 1;
	unsigned char *buf = malloc(sizeof(struct head) + 192 * 1024);

	LT_ASSERT(buf != NULL);
	for (long k = 0; k < per_sender; k++) {
		struct head h = {me, frame_len(&rng), (uint64_t)k};

		memcpy(buf, &h, sizeof(h));
		for (uint32_t i = sizeof(h); i < h.len; i++)
			buf[i] = fill(&h, i);
		LT_ASSERT_EQ_I(lt_ipc_send(tx, buf, h.len, (uint64_t)me << 48 | (h.seq + 1), NULL),
			       LT_OK);
	}
	free(buf);
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	struct sigaction sa;
	struct itimerval it = {{0, 200}, {0, 200}};
	const char *scale = getenv("LT_STRESS_SCALE");
	pthread_t th[SENDERS];
	struct lt_router *r;
	struct lt_route *route;
	struct lt_ipc *rxe;
	int sv[2], small = 4096;
	long total;

	per_sender = 40000;
#ifdef LT_TEST_SANITIZED
	per_sender /= 10;
#endif
	if (scale && atof(scale) > 0)
		per_sender = (long)((double)per_sender * atof(scale));
	if (per_sender < 100)
		per_sender = 100;
	total = per_sender * SENDERS;
	rx.ids = calloc((size_t)total, sizeof(*rx.ids));
	LT_ASSERT(rx.ids != NULL);

	/* A signal that interrupts system calls (no SA_RESTART), every 200 us. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	LT_ASSERT_EQ_I(sigaction(SIGALRM, &sa, NULL), 0);

	LT_ASSERT_EQ_I(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	LT_ASSERT_EQ_I(lt_ipc_create(sv[0], "stress.ipc", &tx), LT_OK);
	LT_ASSERT_EQ_I(lt_ipc_create(sv[1], "stress.ipc", &rxe), LT_OK);
	LT_ASSERT_EQ_I(lt_router_create("stress-router", &r), LT_OK);
	LT_ASSERT_EQ_I(lt_router_add_ipc(r, rxe, 0, on_frame, NULL, &route), LT_OK);
	LT_ASSERT_EQ_I(lt_router_start(r), LT_OK);
	LT_ASSERT_EQ_I(setitimer(ITIMER_REAL, &it, NULL), 0);
	for (uintptr_t i = 0; i < SENDERS; i++)
		LT_ASSERT_EQ_I(pthread_create(&th[i], NULL, sender, (void *)i), 0);
	for (int i = 0; i < SENDERS; i++)
		pthread_join(th[i], NULL);
	close(sv[0]); /* every frame is in the socket: the end comes after all of them */
	while (!atomic_load(&rx.done))
		usleep(1000);
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	usleep(20000);
	LT_ASSERT_EQ_I(lt_router_remove(r, route), LT_OK);
	lt_router_destroy(r);

	fprintf(stderr, "%ld frames from %d senders\n", rx.n, SENDERS);
	LT_ASSERT_EQ_I(rx.bad, 0);
	LT_ASSERT_EQ_I(rx.n, total);
	for (int i = 0; i < SENDERS; i++)
		LT_ASSERT_EQ_I(rx.next[i], per_sender);
	LT_ASSERT_EQ_I(rx.ends, 1);
	LT_ASSERT_EQ_I(rx.end, LT_ECLOSED);
	qsort(rx.ids, (size_t)total, sizeof(*rx.ids), cmp_u64);
	for (long i = 1; i < total; i++)
		LT_ASSERT(rx.ids[i] != rx.ids[i - 1]);
	lt_ipc_destroy(tx);
	lt_ipc_destroy(rxe);
	close(sv[1]);
	free(rx.ids);
	return 0;
}
