/*
 * gt_ipc.c - ground truth across processes: a client and a server process that talk over a
 * socketpair, both instrumented with the lt_* API only.
 *
 * Usage: gt_ipc REQUESTS FIGURES [--exec]
 *
 * The client (this process, component "client", named before the fork) forks the server
 * (component "server"); with --exec the child first execs this program again (`gt_ipc
 * --server FD`), so the server runs in a fresh image of liblooptrace. Each request is a frame
 * {msg, flow} on the socket: the client takes a message id, traces lt_send on its "rpc"
 * channel and writes the frame; the server, at the top of its loop, reads it and traces
 * lt_wait_end / lt_recv / lt_handle_begin with the client's id (a foreign msg), works a
 * known time (spinning 200-1000 us by request), takes a reply id, traces lt_send on its own
 * "rpc" channel with the client's flow (a foreign flow), ends its handler and writes the reply
 * frame. The client handles the reply (lt_wait_end / lt_recv / lt_handle_begin /
 * lt_handle_end) and reads its clock.
 *
 * The client's own clock (CLOCK_MONOTONIC): each request's latency from just before its
 * lt_send to just after the reply's lt_handle_end. It writes them to FIGURES as one JSON
 * object: {"client_pid", "server_pid", "requests", "latency_ns": [...], "mean_ns"}.
 * Exit status 0 when every request got its reply.
 */
#define _GNU_SOURCE
#include "looptrace/trace.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct frame {
	uint64_t msg, flow; /* liblooptrace ids, carried across the process boundary */
	uint64_t seq;       /* request number */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void spin_ns(uint64_t ns)
{
	uint64_t end = now_ns() + ns;

	while (now_ns() < end)
		;
}

static int read_frame(int fd, struct frame *f)
{
	return read(fd, f, sizeof(*f)) == (ssize_t)sizeof(*f) ? 0 : -1;
}

static int write_frame(int fd, const struct frame *f)
{
	return write(fd, f, sizeof(*f)) == (ssize_t)sizeof(*f) ? 0 : -1;
}

/* server - the server's loop on socket fd until the client closes it. */
static int server(int fd)
{
	lt_component_begin("server");
	uint32_t chan = lt_channel_declare("rpc", 0);
	struct frame req, rep;

	for (;;) {
		lt_wait_begin();
		if (read_frame(fd, &req) < 0)
			break;
		lt_wait_end(chan, req.msg);
		lt_recv(chan, req.msg, 0);
		lt_handle_begin(req.msg, "request");
		spin_ns(200000 + (req.seq % 5) * 200000); /* 200-1000 us of work */
		rep.msg = lt_message_new();
		rep.flow = req.flow;
		rep.seq = req.seq;
		lt_send(chan, rep.msg, rep.flow, 1);
		/* the handler ends before the reply can reach the client: a flow ends with the last
		 * of its handlers, and the client's clock sees only its own */
		lt_handle_end(req.msg);
		if (write_frame(fd, &rep) < 0)
			return 1;
	}
	lt_wait_end(0, 0);
	lt_component_end();
	return 0;
}

/* client - n requests on socket fd, their latencies (client's clock) into lat. */
static int client(int fd, uint32_t chan, int n, uint64_t *lat)
{
	struct frame req, rep;

	for (int i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		req.msg = lt_message_new();
		req.flow = req.msg; /* it starts its flow */
		req.seq = (uint64_t)i;
		lt_send(chan, req.msg, 0, 1);
		if (write_frame(fd, &req) < 0)
			return 1;
		lt_wait_begin();
		if (read_frame(fd, &rep) < 0 || rep.flow != req.msg)
			return 1;
		lt_wait_end(chan, rep.msg);
		lt_recv(chan, rep.msg, 0);
		lt_handle_begin(rep.msg, "reply");
		lt_handle_end(rep.msg);
		lat[i] = now_ns() - t0;
	}
	return 0;
}

static int write_figures(const char *path, pid_t server_pid, int n, const uint64_t *lat)
{
	FILE *f = fopen(path, "w");
	double sum = 0;

	if (!f)
		return 1;
	fprintf(f, "{\"client_pid\": %ld, \"server_pid\": %ld, \"requests\": %d, \"latency_ns\": [",
		(long)getpid(), (long)server_pid, n);
	for (int i = 0; i < n; i++) {
		fprintf(f, "%s%" PRIu64, i ? ", " : "", lat[i]);
		sum += (double)lat[i];
	}
	fprintf(f, "], \"mean_ns\": %.1f}\n", n ? sum / n : 0.0);
	return fclose(f) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--server") == 0) /* the exec'd server */
		return server(atoi(argv[2]));
	if (argc < 3) {
		fprintf(stderr, "usage: gt_ipc REQUESTS FIGURES [--exec]\n");
		return 2;
	}
	int n = atoi(argv[1]), use_exec = argc > 3 && strcmp(argv[3], "--exec") == 0;
	uint64_t *lat = calloc((size_t)(n > 0 ? n : 1), sizeof(*lat));
	int sv[2];

	if (!lat || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0)
		return 1;
	/* named before the fork, as a program that forks its helpers would */
	lt_component_begin("client");
	uint32_t chan = lt_channel_declare("rpc", 0);
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		close(sv[0]);
		if (use_exec) {
			char fd[16];

			snprintf(fd, sizeof(fd), "%d", sv[1]);
			execl("/proc/self/exe", argv[0], "--server", fd, (char *)NULL);
			_exit(127);
		}
		_exit(server(sv[1]));
	}
	close(sv[1]);
	int rc = client(sv[0], chan, n, lat);
	lt_component_end();
	close(sv[0]);
	int status = 0;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		rc = 1;
	if (write_figures(argv[2], pid, n, lat))
		rc = 1;
	free(lat);
	return rc;
}
