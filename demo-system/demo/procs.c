/*
 * procs.c - looptrace-demo --processes: net in a process of its own.
 *
 * The page starts the net process before any of its threads (fork, then exec of this very
 * program with --net-child, so that the child is a fresh process: its own pid, its own
 * LTTng-UST registration and per-process buffers). Two socketpairs join them, one stream per
 * direction, each with the same trace channel name in both processes: `net.ipc` (requests,
 * page -> net) and `script.ipc` (responses, net -> page). A third pipe carries the net
 * process's own counts back at its end, since its stdout is the page's ground truth.
 *
 * End of a run: the page shuts down the write side of `net.ipc`; the net process's route
 * reports the end, net drains, the net process writes its counts, closes `script.ipc` and
 * exits; the page's response route then reports its end too. The net process ignores SIGINT
 * and SIGTERM: it ends when the page's stream ends (also when the page dies).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo.h"

#define WAIT_STEP_US 1000
#define CHILD_WAIT_S 60 /* the net process ends within this after its stream ended */

/* child_argv - this program's argv for the net process (its settings and fds). */
static char **child_argv(const struct demo_opts *o, const int fds[3])
{
	char **v = calloc(12, sizeof(*v));
	char buf[64];
	int n = 0;

	if (!v)
		return NULL;
	v[n++] = strdup("looptrace-demo");
	v[n++] = strdup("--net-child");
	snprintf(buf, sizeof(buf), "%d,%d,%d", fds[0], fds[1], fds[2]);
	v[n++] = strdup(buf);
	v[n++] = strdup("--latency-ms");
	snprintf(buf, sizeof(buf), "%.17g", o->latency_ms);
	v[n++] = strdup(buf);
	v[n++] = strdup("--jitter-ms");
	snprintf(buf, sizeof(buf), "%.17g", o->jitter_ms);
	v[n++] = strdup(buf);
	v[n++] = strdup("--seed");
	snprintf(buf, sizeof(buf), "%" PRIu64, o->seed);
	v[n++] = strdup(buf);
	for (int i = 0; i < n; i++)
		if (!v[i])
			return NULL; /* the process exits on this failure: no cleanup */
	return v;
}

static void free_argv(char **v)
{
	for (int i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

enum lt_err demo_procs_spawn(struct demo *d, const char **what)
{
	int req[2], resp[2], st[2], child[3];
	char **argv, self[4096];
	enum lt_err err;
	ssize_t n;
	pid_t pid;

	*what = "net process";
	d->stats_fd = -1;
	/* This program's real path: exec'ed as /proc/self/exe its process would be named "exe". */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || n >= (ssize_t)sizeof(self) - 1)
		return LT_ESYS;
	self[n] = '\0';
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, req) < 0)
		return LT_ESYS;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, resp) < 0 ||
	    pipe2(st, O_CLOEXEC) < 0)
		return LT_ESYS; /* the process exits on this failure: no cleanup */
	child[0] = req[1];
	child[1] = resp[1];
	child[2] = st[1];
	argv = child_argv(&d->o, child);
	if (!argv)
		return LT_ENOMEM;
	pid = fork();
	if (pid < 0) {
		free_argv(argv);
		return LT_ESYS;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls from here to exec. */
		for (int i = 0; i < 3; i++)
			fcntl(child[i], F_SETFD, 0);
		execv(self, argv);
		_exit(127);
	}
	free_argv(argv);
	close(req[1]);
	close(resp[1]);
	close(st[1]);
	d->net_pid = pid;
	d->stats_fd = st[0];
	*what = "IPC endpoint";
	if ((err = lt_ipc_create(req[0], "net.ipc", &d->ipc_req)) ||
	    (err = lt_ipc_create(resp[0], "script.ipc", &d->ipc_resp)))
		return err;
	return LT_OK;
}

/* read_stats - the net process's counts from the stats pipe (until its end). */
static void read_stats(struct demo *d)
{
	struct net_stats *s = &d->net_stats;
	char buf[512];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof(buf) - 1) {
		r = read(d->stats_fd, buf + n, sizeof(buf) - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	s->ok = sscanf(buf,
		       "pid %ld handled %" SCNu64 " ticks %" SCNu64 " requests %" SCNu64
		       " served %" SCNu64 " write_failed %" SCNu64 " pending %" SCNu64
		       " dispatches %" SCNu64,
		       &s->pid, &s->handled, &s->ticks, &s->requests, &s->served, &s->write_failed,
		       &s->pending, &s->dispatches) == 8;
	close(d->stats_fd);
	d->stats_fd = -1;
}

void demo_procs_stop(struct demo *d)
{
	int status = 0, waited = 0;
	pid_t got = 0;

	/* End of requests: the net process drains, reports and exits. */
	shutdown(lt_ipc_fd(d->ipc_req), SHUT_WR);
	read_stats(d);
	for (int i = 0; i < CHILD_WAIT_S * 1000000 / WAIT_STEP_US; i++) {
		got = waitpid((pid_t)d->net_pid, &status, WNOHANG);
		if (got != 0)
			break;
		usleep(WAIT_STEP_US);
	}
	if (got == 0) {
		fprintf(stderr, "looptrace-demo: the net process did not end; killing it\n");
		kill((pid_t)d->net_pid, SIGKILL);
		got = waitpid((pid_t)d->net_pid, &status, 0);
	}
	if (got > 0)
		waited = 1;
	d->net_stats.exit_status = !waited             ? -1
				   : WIFEXITED(status) ? WEXITSTATUS(status)
						       : 128 + WTERMSIG(status);
	/* Its side of the response stream closed when it exited: the route's end call comes. */
	for (int i = 0; i < 10 * 1000000 / WAIT_STEP_US && !atomic_load(&d->ipc_ended); i++)
		usleep(WAIT_STEP_US);
}

/* ---- the net process ---------------------------------------------------------------------- */

static void child_fail(const char *what, enum lt_err err)
{
	fprintf(stderr, "looptrace-demo (net process): %s: %s\n", what, lt_strerror(err));
	exit(1);
}

int demo_net_child_main(const struct demo_opts *o)
{
	struct demo *d = calloc(1, sizeof(*d));
	const char *what = "start";
	sigset_t stop;
	size_t dropped = 0;
	enum lt_err err;
	FILE *st;

	if (!d)
		child_fail(what, LT_ENOMEM);
	d->o = *o;
	d->graveyard_fd = -1;
	signal(SIGPIPE, SIG_IGN);
	/* The page handles Ctrl-C; this process ends when the page's request stream ends. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	if ((err = lt_ipc_create(o->child_fds[0], "net.ipc", &d->ipc_req)) ||
	    (err = lt_ipc_create(o->child_fds[1], "script.ipc", &d->ipc_resp)))
		child_fail("IPC endpoint", err);
	err = demo_net_setup(d, &what);
	if (err)
		child_fail(what, err);
	while (!atomic_load(&d->ipc_ended))
		usleep(WAIT_STEP_US);
	lt_comp_stop(d->net, LT_COMP_STOP_DRAIN, NULL, NULL, &dropped);
	lt_router_remove(d->router, d->ipc_route);
	lt_router_destroy(d->router);
	st = fdopen(o->child_fds[2], "w");
	if (st) {
		fprintf(st,
			"pid %ld handled %" PRIu64 " ticks %" PRIu64 " requests %" PRIu64
			" served %" PRIu64 " write_failed %" PRIu64 " pending %" PRIu64
			" dispatches %" PRIu64 "\n",
			(long)getpid(), lt_comp_handled(d->net), d->net_ticks, d->net_requests,
			d->net_served, d->net_write_failed, demo_net_drop_pending(d) + dropped,
			d->router_dispatches);
		fclose(st);
	}
	if (d->ipc_end != LT_ECLOSED)
		fprintf(stderr, "looptrace-demo (net process): request stream: %s\n",
			lt_strerror(d->ipc_end));
	lt_comp_destroy(d->net);
	lt_chan_destroy(d->requests);
	lt_ipc_destroy(d->ipc_req);
	lt_ipc_destroy(d->ipc_resp);
	close(o->child_fds[0]);
	close(o->child_fds[1]);
	err = d->ipc_end;
	free(d);
	return err == LT_ECLOSED && !dropped ? 0 : 1;
}
