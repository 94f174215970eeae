/*
 * rt_example.c - liblooptrace-rt in one page: two components and a router exchanging
 * messages for about a second.
 *
 *   client --requests--> server --replies--> router --inbox--> client
 *   client --pipe bytes------------------------> router (fd route)
 *
 * The client's tick sends a request (a new flow); the server answers on the request's flow;
 * the router forwards each reply to the client's inbox, as Servo's ROUTER delivers fetch
 * replies to the component that asked. At the end the program prints its own counts, which
 * a trace of the run must reproduce.
 *
 * Usage: looptrace-rt-example [seconds]   (default 1)
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <looptrace/rt/rt.h>

struct msg {
	uint64_t seq;
	uint64_t value;
};

struct ctx {
	struct lt_chan *requests, *replies, *inbox;
	int pipe_rd, pipe_wr;
	uint64_t seq;                /* client thread */
	uint64_t sent, refused;      /* client thread */
	uint64_t received, checksum; /* client thread */
	uint64_t served;             /* server thread */
	_Atomic uint64_t routed, route_failed, pipe_bytes;
	_Atomic int replies_done;
};

static void die(const char *what, enum lt_err err)
{
	fprintf(stderr, "looptrace-rt-example: %s: %s\n", what, lt_strerror(err));
	exit(1);
}

static void client_tick(struct lt_comp *comp, void *arg)
{
	struct ctx *c = arg;
	struct msg *m = malloc(sizeof(*m));

	if (!m)
		return;
	m->seq = ++c->seq;
	m->value = m->seq * 3;
	if (lt_chan_try_send(c->requests, m) == LT_OK) {
		c->sent++;
	} else {
		free(m);
		c->refused++;
	}
	if (c->seq % 64 == 0) {
		char b = 'x';

		if (write(c->pipe_wr, &b, 1) < 0)
			c->refused++;
	}
}

static void client_on_reply(struct lt_comp *comp, void *msg, const struct lt_msg_info *info,
			    void *arg)
{
	struct ctx *c = arg;
	struct msg *m = msg;

	c->received++;
	c->checksum += m->value;
	free(m);
}

static void server_on_request(struct lt_comp *comp, void *msg, const struct lt_msg_info *info,
			      void *arg)
{
	struct ctx *c = arg;
	struct msg *m = msg;

	m->value += 1; /* the "work" */
	c->served++;
	/* Reply on the request's flow; blocks (backpressure) if the replies channel is full. */
	if (lt_chan_send_flow(c->replies, m, lt_msg_reply_flow(info)) != LT_OK)
		free(m);
}

static void route_reply(struct lt_route *route, void *msg, const struct lt_msg_info *info,
			void *arg)
{
	struct ctx *c = arg;

	if (!msg) {
		atomic_store(&c->replies_done, 1);
		return;
	}
	if (lt_chan_send_flow(c->inbox, msg, lt_msg_reply_flow(info)) == LT_OK) {
		atomic_fetch_add(&c->routed, 1);
	} else {
		atomic_fetch_add(&c->route_failed, 1);
		free(msg);
	}
}

static void route_pipe(struct lt_route *route, int fd, uint32_t events,
		       const struct lt_msg_info *info, void *arg)
{
	struct ctx *c = arg;
	char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n > 0)
		atomic_fetch_add(&c->pipe_bytes, (uint64_t)n);
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 1.0;
	struct lt_comp *client, *server;
	struct lt_router *router;
	struct lt_route *pipe_route;
	struct ctx c = {0};
	size_t handed_back = 0;
	enum lt_err err;
	int fds[2];

	if (seconds <= 0 || pipe(fds) < 0) {
		fprintf(stderr, "usage: looptrace-rt-example [seconds]\n");
		return 2;
	}
	c.pipe_rd = fds[0];
	c.pipe_wr = fds[1];
	if ((err = lt_chan_create("requests", 64, free, &c.requests)) ||
	    (err = lt_chan_create("replies", 64, free, &c.replies)) ||
	    (err = lt_chan_create("inbox", 0, free, &c.inbox)))
		die("lt_chan_create", err);
	if ((err = lt_comp_create("client", &client)) ||
	    (err = lt_comp_create("server", &server)) ||
	    (err = lt_router_create("router", &router)))
		die("create", err);
	if ((err = lt_comp_add_handler(client, c.inbox, "reply", client_on_reply, &c)) ||
	    (err = lt_comp_set_tick(client, 100000, client_tick, &c)) ||
	    (err = lt_comp_add_handler(server, c.requests, "request", server_on_request, &c)))
		die("lt_comp_add_handler", err);
	if ((err = lt_router_start(router)) || (err = lt_comp_start(server)) ||
	    (err = lt_comp_start(client)))
		die("start", err);
	if ((err = lt_router_add_chan(router, c.replies, lt_comp_id(client), route_reply, &c,
				      NULL)) ||
	    (err = lt_router_add_fd(router, c.pipe_rd, lt_comp_id(client), route_pipe, &c,
				    &pipe_route)))
		die("lt_router_add", err);

	struct timespec ts = {.tv_sec = (time_t)seconds,
			      .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9)};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;

	/* Shut down in dependency order; nothing is lost on the way. */
	lt_comp_stop(server, LT_COMP_STOP_DRAIN, NULL, NULL, NULL); /* handles what is queued */
	lt_chan_close(c.replies);
	for (int i = 0; i < 2000 && !atomic_load(&c.replies_done); i++)
		usleep(1000);
	lt_comp_stop(client, LT_COMP_STOP_HANDBACK, NULL, NULL, &handed_back);
	lt_router_remove(router, pipe_route);
	lt_router_stop(router);

	printf("requests sent %llu (refused %llu)\n", (unsigned long long)c.sent,
	       (unsigned long long)c.refused);
	printf("server handled %llu\n", (unsigned long long)c.served);
	printf("router routed %llu (failed %llu), pipe bytes %llu\n",
	       (unsigned long long)atomic_load(&c.routed),
	       (unsigned long long)atomic_load(&c.route_failed),
	       (unsigned long long)atomic_load(&c.pipe_bytes));
	printf("client received %llu replies (handed back %zu), checksum %llu\n",
	       (unsigned long long)c.received, handed_back, (unsigned long long)c.checksum);
	printf("messages handled: client %llu, server %llu\n",
	       (unsigned long long)lt_comp_handled(client),
	       (unsigned long long)lt_comp_handled(server));

	lt_router_destroy(router);
	lt_comp_destroy(client);
	lt_comp_destroy(server);
	lt_chan_destroy(c.requests);
	lt_chan_destroy(c.replies);
	lt_chan_destroy(c.inbox);
	close(fds[0]);
	close(fds[1]);
	return c.sent == c.served && c.served == c.received + handed_back ? 0 : 1;
}
