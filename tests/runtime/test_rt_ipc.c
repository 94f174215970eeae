/*
 * test_rt_ipc.c - IPC endpoints and routes: frames with their ids over a Unix socket.
 *
 * Round trips of many sizes (empty, and larger than the socket buffer, so writes and reads are
 * partial) arrive whole, in order, once, with the sender's message id and flow; a frame
 * written one byte at a time arrives once; the stream's end is reported once with the right
 * reason (clean EOF, EOF inside a frame, bad magic, oversized header); a send to a peer that is
 * gone fails with LT_ECLOSED; and a request from another process (fork) is handled by a
 * component here whose reply, sent on the request's foreign flow, is routed back to it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <looptrace/rt/rt.h>

#include "lt_test.h"

#define MAXLOG 4096

struct rx {
	pthread_mutex_t mu;
	long frames;     /* frames delivered */
	long ends;       /* end calls */
	enum lt_err end; /* reason of the last end call */
	long after_end;  /* calls after the end call (must stay 0) */
	uint64_t ids[MAXLOG], flows[MAXLOG];
	uint32_t lens[MAXLOG];
	uint32_t chan; /* expected info->chan */
	long bad;      /* payload or info mismatches */
};

static void rx_init(struct rx *x)
{
	memset(x, 0, sizeof(*x));
	pthread_mutex_init(&x->mu, NULL);
}

/* payload byte i of frame k: anything that differs between frames and positions */
static unsigned char pbyte(long k, uint32_t i)
{
	return (unsigned char)(k * 31 + i * 7 + (i >> 8));
}

static void on_frame(struct lt_route *route, void *data, uint32_t len,
		     const struct lt_msg_info *info, enum lt_err end, void *arg)
{
	struct rx *x = arg;

	(void)route;
	pthread_mutex_lock(&x->mu);
	if (x->ends)
		x->after_end++;
	if (end != LT_OK) {
		x->ends++;
		x->end = end;
		if (data || info || len)
			x->bad++;
	} else {
		long k = x->frames++;

		if (!data || info->chan != x->chan || info->id == 0)
			x->bad++;
		for (uint32_t i = 0; data && i < len; i++)
			if (((unsigned char *)data)[i] != pbyte(k, i)) {
				x->bad++;
				break;
			}
		if (k < MAXLOG) {
			x->ids[k] = info->id;
			x->flows[k] = info->flow;
			x->lens[k] = len;
		}
		free(data);
	}
	pthread_mutex_unlock(&x->mu);
}

static long rx_get(struct rx *x, long *ends)
{
	long n;

	pthread_mutex_lock(&x->mu);
	n = x->frames;
	if (ends)
		*ends = x->ends;
	pthread_mutex_unlock(&x->mu);
	return n;
}

static void wait_end(struct rx *x)
{
	long ends = 0;

	for (int i = 0; i < 20000; i++) {
		rx_get(x, &ends);
		if (ends)
			break;
		usleep(1000);
	}
	usleep(20000); /* a second end call would come now */
}

static unsigned char *payload(long k, uint32_t len)
{
	unsigned char *p = malloc(len ? len : 1);

	LT_ASSERT(p != NULL);
	for (uint32_t i = 0; i < len; i++)
		p[i] = pbyte(k, i);
	return p;
}

static uint32_t size_of(long k)
{
	static const uint32_t sizes[] = {0, 1, 23, 24, 25, 4096, 65536, 300000, 7};

	return sizes[k % (long)(sizeof(sizes) / sizeof(sizes[0]))];
}

static void test_round_trip(void)
{
	struct lt_router *r;
	struct lt_route *route;
	struct lt_ipc *a, *b;
	struct rx x;
	uint64_t sent_ids[200];
	int sv[2];
	long ends;

	rx_init(&x);
	LT_ASSERT_EQ_I(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	LT_ASSERT_EQ_I(lt_ipc_create(sv[0], "test.ipc", &a), LT_OK);
	LT_ASSERT_EQ_I(lt_ipc_create(sv[1], "test.ipc", &b), LT_OK);
	LT_ASSERT(lt_ipc_chan(a) != 0 && lt_ipc_chan(b) != 0 && lt_ipc_chan(a) != lt_ipc_chan(b));
	LT_ASSERT_EQ_I(lt_ipc_fd(b), sv[1]);
	LT_ASSERT_EQ_I(lt_ipc_create(-1, "x", &a), LT_EINVAL);
	x.chan = lt_ipc_chan(b);
	LT_ASSERT_EQ_I(lt_router_create("ipc-router", &r), LT_OK);
	LT_ASSERT_EQ_I(lt_router_add_ipc(r, NULL, 0, on_frame, &x, NULL), LT_EINVAL);
	LT_ASSERT_EQ_I(lt_router_add_ipc(r, b, 5, on_frame, &x, &route), LT_OK);
	LT_ASSERT_EQ_I(lt_router_start(r), LT_OK);
	for (long k = 0; k < 200; k++) {
		uint32_t len = size_of(k);
		unsigned char *p = payload(k, len);

		/* flow 0 starts a flow; the others are arbitrary foreign flows */
		LT_ASSERT_EQ_I(lt_ipc_send(a, p, len, k % 3 ? (uint64_t)k << 40 : 0, &sent_ids[k]),
			       LT_OK);
		free(p);
	}
	LT_ASSERT_EQ_I(lt_ipc_send(a, NULL, 5, 0, NULL), LT_EINVAL);
	for (int i = 0; i < 20000 && rx_get(&x, NULL) < 200; i++)
		usleep(1000);
	close(sv[0]); /* the peer goes away between frames: a clean end */
	wait_end(&x);
	rx_get(&x, &ends);
	LT_ASSERT_EQ_I(x.frames, 200);
	LT_ASSERT_EQ_I(ends, 1);
	LT_ASSERT_EQ_I(x.end, LT_ECLOSED);
	LT_ASSERT_EQ_I(x.after_end, 0);
	LT_ASSERT_EQ_I(x.bad, 0);
	for (long k = 0; k < 200; k++) {
		LT_ASSERT_EQ_U(x.ids[k], sent_ids[k]);
		LT_ASSERT_EQ_U(x.flows[k], k % 3 ? (uint64_t)k << 40 : 0);
		LT_ASSERT_EQ_U(x.lens[k], size_of(k));
	}
	LT_ASSERT_EQ_I(lt_router_remove(r, route), LT_OK);
	lt_router_destroy(r);
	lt_ipc_destroy(a);
	lt_ipc_destroy(b);
	close(sv[1]);
}

struct wire {
	uint32_t magic, len;
	uint64_t msg, flow;
};

/* raw - writes n bytes with a plain blocking write (the socket may be non-blocking: retry). */
static void raw(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0) {
			usleep(100);
			continue;
		}
		c += w;
		n -= (size_t)w;
	}
}

/*
 * run_raw - writes `bytes` (frames built by hand) to a fresh IPC route, `step` bytes at a
 * time, closes the writer and returns the receiver's record.
 */
static void run_raw(const unsigned char *bytes, size_t n, size_t step, struct rx *x)
{
	struct lt_router *r;
	struct lt_route *route;
	struct lt_ipc *b;
	int sv[2];

	rx_init(x);
	LT_ASSERT_EQ_I(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	LT_ASSERT_EQ_I(lt_ipc_create(sv[1], "raw.ipc", &b), LT_OK);
	x->chan = lt_ipc_chan(b);
	LT_ASSERT_EQ_I(lt_router_create("raw-router", &r), LT_OK);
	LT_ASSERT_EQ_I(lt_router_start(r), LT_OK);
	LT_ASSERT_EQ_I(lt_router_add_ipc(r, b, 0, on_frame, x, &route), LT_OK);
	for (size_t off = 0; off < n; off += step) {
		raw(sv[0], bytes + off, off + step <= n ? step : n - off);
		if (step < n)
			usleep(200);
	}
	close(sv[0]);
	wait_end(x);
	LT_ASSERT_EQ_I(lt_router_remove(r, route), LT_OK);
	lt_router_destroy(r);
	lt_ipc_destroy(b);
	close(sv[1]);
}

/* frame_at - a hand-built frame k of `len` payload bytes at p; returns its size. */
static size_t frame_at(unsigned char *p, long k, uint32_t len, uint32_t magic)
{
	struct wire h = {magic, len, (uint64_t)k + 100, 7};

	memcpy(p, &h, sizeof(h));
	for (uint32_t i = 0; i < len; i++)
		p[sizeof(h) + i] = pbyte(k, i);
	return sizeof(h) + len;
}

static void test_partial_and_broken_frames(void)
{
	unsigned char buf[512];
	struct rx x;
	size_t n;

	/* two frames, one byte per write: each delivered once, whole */
	n = frame_at(buf, 0, 40, LT_IPC_MAGIC);
	n += frame_at(buf + n, 1, 3, LT_IPC_MAGIC);
	run_raw(buf, n, 1, &x);
	LT_ASSERT_EQ_I(x.frames, 2);
	LT_ASSERT_EQ_I(x.bad, 0);
	LT_ASSERT_EQ_U(x.ids[0], 100);
	LT_ASSERT_EQ_U(x.ids[1], 101);
	LT_ASSERT_EQ_U(x.flows[1], 7);
	LT_ASSERT_EQ_I(x.ends, 1);
	LT_ASSERT_EQ_I(x.end, LT_ECLOSED);

	/* a whole frame, then EOF inside the next one's payload, then inside a header */
	n = frame_at(buf, 0, 10, LT_IPC_MAGIC);
	n += frame_at(buf + n, 1, 50, LT_IPC_MAGIC);
	run_raw(buf, n - 20, 7, &x);
	LT_ASSERT_EQ_I(x.frames, 1);
	LT_ASSERT_EQ_I(x.ends, 1);
	LT_ASSERT_EQ_I(x.end, LT_EPROTO);
	LT_ASSERT_EQ_I(x.after_end, 0);
	run_raw(buf, 10, 10, &x);
	LT_ASSERT_EQ_I(x.frames, 0);
	LT_ASSERT_EQ_I(x.end, LT_EPROTO);

	/* bad magic after a good frame: the good one, then the end; nothing after it */
	n = frame_at(buf, 0, 10, LT_IPC_MAGIC);
	n += frame_at(buf + n, 1, 10, 0xdeadbeefu);
	n += frame_at(buf + n, 2, 10, LT_IPC_MAGIC);
	run_raw(buf, n, n, &x);
	LT_ASSERT_EQ_I(x.frames, 1);
	LT_ASSERT_EQ_I(x.ends, 1);
	LT_ASSERT_EQ_I(x.end, LT_EPROTO);

	/* a header announcing more than the limit */
	n = frame_at(buf, 0, 0, LT_IPC_MAGIC);
	((struct wire *)buf)->len = LT_IPC_MAX_PAYLOAD + 1;
	run_raw(buf, n, n, &x);
	LT_ASSERT_EQ_I(x.frames, 0);
	LT_ASSERT_EQ_I(x.ends, 1);
	LT_ASSERT_EQ_I(x.end, LT_EMSGSIZE);

	/* exactly the limit is fine (the reader's buffer grows to it) */
	{
		unsigned char *big = malloc(LT_IPC_HEADER + LT_IPC_MAX_PAYLOAD);
		struct wire h = {LT_IPC_MAGIC, LT_IPC_MAX_PAYLOAD, 1, 2};

		LT_ASSERT(big != NULL);
		memcpy(big, &h, sizeof(h));
		for (uint32_t i = 0; i < LT_IPC_MAX_PAYLOAD; i++)
			big[sizeof(h) + i] = pbyte(0, i);
		run_raw(big, LT_IPC_HEADER + LT_IPC_MAX_PAYLOAD, 100000, &x);
		free(big);
		LT_ASSERT_EQ_I(x.frames, 1);
		LT_ASSERT_EQ_U(x.lens[0], LT_IPC_MAX_PAYLOAD);
		LT_ASSERT_EQ_I(x.bad, 0);
		LT_ASSERT_EQ_I(x.end, LT_ECLOSED);
	}
}

static void test_send_errors(void)
{
	struct lt_ipc *a;
	char c = 0;
	int sv[2];

	LT_ASSERT_EQ_I(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	LT_ASSERT_EQ_I(lt_ipc_create(sv[0], "gone.ipc", &a), LT_OK);
	/* too large: refused before anything is written (the data is not even read) */
	LT_ASSERT_EQ_I(lt_ipc_send(a, &c, LT_IPC_MAX_PAYLOAD + 1, 0, NULL), LT_EMSGSIZE);
	LT_ASSERT_EQ_I(lt_ipc_send(a, &c, 1, 0, NULL), LT_OK);
	close(sv[1]); /* the peer exits */
	LT_ASSERT_EQ_I(lt_ipc_send(a, &c, 1, 0, NULL), LT_ECLOSED);
	LT_ASSERT_EQ_I(lt_ipc_send(a, &c, 1, 0, NULL), LT_ECLOSED);
	lt_ipc_destroy(a);
	close(sv[0]);
	lt_ipc_destroy(NULL);
	LT_ASSERT_EQ_I(lt_ipc_chan(NULL), 0);
}

/* ---- across a process boundary: request there, handled here, reply routed back ------------ */

#define XREQ 500

struct server {
	struct lt_ipc *ep;
	struct lt_chan *inbox;
	_Atomic long forwarded, ended;
};

/* the router here: a request frame becomes a message to the component, on the foreign flow */
static void server_route(struct lt_route *route, void *data, uint32_t len,
			 const struct lt_msg_info *info, enum lt_err end, void *arg)
{
	struct server *s = arg;

	(void)route;
	if (end != LT_OK) {
		atomic_fetch_add(&s->ended, 1);
		lt_chan_close(s->inbox);
		return;
	}
	if (len != sizeof(uint64_t) || lt_chan_send_flow(s->inbox, data, lt_msg_reply_flow(info)))
		free(data);
	else
		atomic_fetch_add(&s->forwarded, 1);
}

/* the component here: replies value + 1 on the request's flow */
static void server_handle(struct lt_comp *comp, void *msg, const struct lt_msg_info *info,
			  void *arg)
{
	struct server *s = arg;
	uint64_t v = *(uint64_t *)msg + 1;

	(void)comp;
	free(msg);
	if (lt_ipc_send(s->ep, &v, sizeof(v), lt_msg_reply_flow(info), NULL) != LT_OK)
		abort();
}

struct client {
	pthread_mutex_t mu;
	uint64_t req_ids[XREQ];    /* main thread only */
	uint64_t reply_flow[XREQ]; /* under mu */
	long replies, bad, ends;
	enum lt_err end;
};

static void client_route(struct lt_route *route, void *data, uint32_t len,
			 const struct lt_msg_info *info, enum lt_err end, void *arg)
{
	struct client *c = arg;
	uint64_t v;

	(void)route;
	pthread_mutex_lock(&c->mu);
	if (end != LT_OK) {
		c->ends++;
		c->end = end;
	} else {
		memcpy(&v, data, sizeof(v));
		/* the reply to request k carries k + 1; its flow is checked once all are in */
		if (len != sizeof(v) || v == 0 || v > XREQ || c->reply_flow[v - 1])
			c->bad++;
		else
			c->reply_flow[v - 1] = info->flow;
		c->replies++;
		free(data);
	}
	pthread_mutex_unlock(&c->mu);
}

/* client_main - the other process: XREQ requests, waits for every reply (exit status 0). */
static int client_main(int fd)
{
	struct client c = {.replies = 0};
	struct lt_router *r;
	struct lt_ipc *ep;
	long got = 0;

	pthread_mutex_init(&c.mu, NULL);
	if (lt_ipc_create(fd, "xproc.ipc", &ep) || lt_router_create("client-router", &r) ||
	    lt_router_add_ipc(r, ep, 0, client_route, &c, NULL) || lt_router_start(r))
		return 10;
	/* Even requests start a flow (the reply must come on the request's own id), odd ones
	 * continue a flow of this process (the reply must come on that flow). */
	for (uint64_t k = 0; k < XREQ; k++)
		if (lt_ipc_send(ep, &k, sizeof(k), k % 2 ? (k + 1) << 20 : 0, &c.req_ids[k]) !=
		    LT_OK)
			return 11;
	for (int i = 0; i < 30000 && got < XREQ; i++) {
		usleep(1000);
		pthread_mutex_lock(&c.mu);
		got = c.replies;
		pthread_mutex_unlock(&c.mu);
	}
	shutdown(fd, SHUT_WR); /* we are done: the server's route sees a clean end */
	for (int i = 0; i < 30000; i++) {
		usleep(1000);
		pthread_mutex_lock(&c.mu);
		got = c.ends;
		pthread_mutex_unlock(&c.mu);
		if (got)
			break;
	}
	lt_router_destroy(r);
	lt_ipc_destroy(ep);
	if (c.replies != XREQ)
		return 12;
	if (c.bad)
		return 13;
	for (uint64_t k = 0; k < XREQ; k++)
		if (c.reply_flow[k] != (k % 2 ? (k + 1) << 20 : c.req_ids[k]) || !c.req_ids[k])
			return 15;
	if (c.ends != 1 || c.end != LT_ECLOSED)
		return 14;
	return 0;
}

static pid_t client_pid = -1;
static int server_fd = -1;

static void test_cross_process_reply(void)
{
	struct server s = {.forwarded = 0};
	struct lt_router *r;
	struct lt_comp *comp;
	int status = -1;

	LT_ASSERT(client_pid > 0);
	LT_ASSERT_EQ_I(lt_ipc_create(server_fd, "xproc.ipc", &s.ep), LT_OK);
	LT_ASSERT_EQ_I(lt_chan_create("server.inbox", 64, free, &s.inbox), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_create("server", &comp), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_add_handler(comp, s.inbox, "request", server_handle, &s), LT_OK);
	LT_ASSERT_EQ_I(lt_comp_start(comp), LT_OK);
	LT_ASSERT_EQ_I(lt_router_create("server-router", &r), LT_OK);
	LT_ASSERT_EQ_I(lt_router_add_ipc(r, s.ep, lt_comp_id(comp), server_route, &s, NULL), LT_OK);
	LT_ASSERT_EQ_I(lt_router_start(r), LT_OK);
	/* the client ends its requests; the route's end call closes the inbox */
	while (atomic_load(&s.ended) == 0)
		usleep(1000);
	/* the component drains (every reply sent), then this side ends its stream too */
	LT_ASSERT_EQ_I(lt_comp_stop(comp, LT_COMP_STOP_DRAIN, NULL, NULL, NULL), LT_OK);
	shutdown(server_fd, SHUT_WR);
	LT_ASSERT_EQ_I(waitpid(client_pid, &status, 0), client_pid);
	LT_ASSERT(WIFEXITED(status));
	LT_ASSERT_EQ_I(WEXITSTATUS(status), 0);
	LT_ASSERT_EQ_I(atomic_load(&s.forwarded), XREQ);
	LT_ASSERT_EQ_U(lt_comp_handled(comp), XREQ);
	LT_ASSERT_EQ_I(atomic_load(&s.ended), 1);
	lt_router_destroy(r);
	lt_comp_destroy(comp);
	lt_chan_destroy(s.inbox);
	lt_ipc_destroy(s.ep);
	close(server_fd);
}

int main(void)
{
	int sv[2];

	signal(SIGPIPE, SIG_IGN);
	/* Fork first, while this process has one thread (what sanitizers support). */
	LT_ASSERT_EQ_I(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	client_pid = fork();
	LT_ASSERT(client_pid >= 0);
	if (client_pid == 0) {
		close(sv[0]);
		_exit(client_main(sv[1]));
	}
	close(sv[1]);
	server_fd = sv[0];
	LT_RUN(test_cross_process_reply);
	LT_RUN(test_round_trip);
	LT_RUN(test_partial_and_broken_frames);
	LT_RUN(test_send_errors);
	return 0;
}
