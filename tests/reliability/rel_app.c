/*
 * rel_app.c - a small liblooptrace-rt program for the reliability tests: recorded by
 * `looptrace record` and damaged on purpose. It prints its own counts so a test can check
 * what the report says against what really happened.
 *
 *   rel_app crash segv|abort|kill N   producers send to one component ("rel.worker"); the
 *                                      handler of message N crashes the process with that
 *                                      signal (after printing how many messages it handled)
 *   rel_app steady MS                  a client/server pair exchanging messages for MS ms,
 *                                      then a clean stop; prints "rel_app: handled N"
 *   rel_app names HEX...               one component and one channel per name (each given as
 *                                      hex bytes, any content), a few messages each
 *   rel_app flood P N CAP              P producers x N messages into "rel.sink" over a
 *                                      channel of capacity CAP; prints its counts as JSON
 *
 * Exit status 0, or 2 on bad arguments; crash mode dies by the signal.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include <looptrace/rt/rt.h>

static void die(const char *why)
{
	fprintf(stderr, "rel_app: %s\n", why);
	exit(2);
}

static void check(enum lt_err err, const char *what)
{
	if (err != LT_OK) {
		fprintf(stderr, "rel_app: %s: %s\n", what, lt_strerror(err));
		exit(2);
	}
}

/* ---- crash --------------------------------------------------------------------------------- */

struct crash_state {
	long crash_at;
	int sig;
	_Atomic long handled;
};

static void crash_handler(struct lt_comp *comp, void *msg, const struct lt_msg_info *info,
			  void *arg)
{
	struct crash_state *s = arg;
	long n = atomic_fetch_add(&s->handled, 1) + 1;

	(void)comp;
	(void)msg;
	(void)info;
	if (n < s->crash_at)
		return;
	printf("{\"handled_before_crash\": %ld, \"signal\": %d}\n", n - 1, s->sig);
	fflush(stdout);
	if (s->sig == SIGSEGV) {
		volatile int *volatile p = NULL;

		*p = 1; /* a real invalid access, not raise() */
	}
	if (s->sig == SIGKILL)
		kill(getpid(), SIGKILL);
	raise(s->sig);
	abort();
}

static int run_crash(int argc, char **argv)
{
	static struct crash_state s;
	struct lt_chan *ch;
	struct lt_comp *worker;

	if (argc != 2)
		die("usage: rel_app crash segv|abort|kill N");
	if (strcmp(argv[0], "segv") == 0)
		s.sig = SIGSEGV;
	else if (strcmp(argv[0], "abort") == 0)
		s.sig = SIGABRT;
	else if (strcmp(argv[0], "kill") == 0)
		s.sig = SIGKILL;
	else
		die("crash: unknown signal");
	s.crash_at = atol(argv[1]);
	if (s.crash_at < 1)
		die("crash: N must be >= 1");
	check(lt_chan_create("rel.requests", 64, NULL, &ch), "chan");
	check(lt_comp_create("rel.worker", &worker), "comp");
	check(lt_comp_add_handler(worker, ch, "request", crash_handler, &s), "handler");
	check(lt_comp_start(worker), "start");
	for (long i = 0; i <= s.crash_at + 1000; i++) {
		if (lt_chan_send(ch, (void *)(uintptr_t)(i + 1)) != LT_OK)
			break;
		if (i % 64 == 0) {
			struct timespec ts = {0, 200000};

			nanosleep(&ts, NULL);
		}
	}
	/* The handler kills the process before the producer gets here. */
	sleep(60);
	return 1;
}

/* ---- steady -------------------------------------------------------------------------------- */

struct pair {
	struct lt_chan *replies;
	_Atomic long replies_got;
};

static void serve(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct pair *p = arg;

	(void)comp;
	if (lt_chan_send_flow(p->replies, msg, lt_msg_reply_flow(info)) != LT_OK)
		return; /* closed while stopping: the message is a number, nothing to free */
}

static void on_reply(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	struct pair *p = arg;

	(void)comp;
	(void)msg;
	(void)info;
	atomic_fetch_add(&p->replies_got, 1);
}

static int run_steady(int argc, char **argv)
{
	static struct pair p;
	struct lt_chan *requests;
	struct lt_comp *server, *client;
	uint64_t end;
	long sent = 0;

	if (argc != 1)
		die("usage: rel_app steady MS");
	end = lt_rt_deadline((uint64_t)atol(argv[0]) * 1000000u);
	check(lt_chan_create("rel.requests", 64, NULL, &requests), "chan");
	check(lt_chan_create("rel.replies", 0, NULL, &p.replies), "chan");
	check(lt_comp_create("rel.server", &server), "comp");
	check(lt_comp_create("rel.client", &client), "comp");
	check(lt_comp_add_handler(server, requests, "request", serve, &p), "handler");
	check(lt_comp_add_handler(client, p.replies, "reply", on_reply, &p), "handler");
	check(lt_comp_start(server), "start");
	check(lt_comp_start(client), "start");
	while (lt_rt_now_ns() < end) {
		struct timespec ts = {0, 100000};

		check(lt_chan_send(requests, (void *)(uintptr_t)(sent + 1)), "send");
		sent++;
		nanosleep(&ts, NULL);
	}
	check(lt_comp_stop(server, LT_COMP_STOP_DRAIN, NULL, NULL, NULL), "stop");
	check(lt_comp_stop(client, LT_COMP_STOP_DRAIN, NULL, NULL, NULL), "stop");
	if (atomic_load(&p.replies_got) != sent) {
		fprintf(stderr, "rel_app: sent %ld, replies %ld\n", sent,
			atomic_load(&p.replies_got));
		return 1;
	}
	printf("rel_app: handled %ld\n", sent);
	lt_comp_destroy(server);
	lt_comp_destroy(client);
	lt_chan_destroy(requests);
	lt_chan_destroy(p.replies);
	return 0;
}

/* ---- names --------------------------------------------------------------------------------- */

static char *unhex(const char *hex)
{
	size_t n = strlen(hex);
	char *out;

	if (n % 2)
		die("names: odd hex length");
	out = malloc(n / 2 + 1);
	if (!out)
		die("out of memory");
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1 || v == 0)
			die("names: bad hex (or a NUL byte)");
		out[i] = (char)v;
	}
	out[n / 2] = '\0';
	return out;
}

static void count_msg(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	(void)comp;
	(void)msg;
	(void)info;
	(void)arg;
}

static int run_names(int argc, char **argv)
{
	struct lt_comp **comps = calloc((size_t)argc, sizeof(*comps));
	struct lt_chan **chans = calloc((size_t)argc, sizeof(*chans));

	if (!comps || !chans)
		die("out of memory");
	for (int i = 0; i < argc; i++) {
		char *name = unhex(argv[i]);

		check(lt_chan_create(name, 8, NULL, &chans[i]), "chan");
		check(lt_comp_create(name, &comps[i]), "comp");
		check(lt_comp_add_handler(comps[i], chans[i], name, count_msg, NULL), "handler");
		check(lt_comp_start(comps[i]), "start");
		free(name);
	}
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < argc; i++)
			check(lt_chan_send(chans[i], (void *)(uintptr_t)(k + 1)), "send");
	for (int i = 0; i < argc; i++) {
		check(lt_comp_stop(comps[i], LT_COMP_STOP_DRAIN, NULL, NULL, NULL), "stop");
		if (lt_comp_handled(comps[i]) != 3)
			die("names: a component lost messages");
		lt_comp_destroy(comps[i]);
		lt_chan_destroy(chans[i]);
	}
	free(comps);
	free(chans);
	printf("rel_app: %d components named\n", argc);
	return 0;
}

/* ---- flood --------------------------------------------------------------------------------- */

struct producer {
	struct lt_chan *ch;
	long n;
	long sent;
	pthread_t thread;
};

static void *produce(void *arg)
{
	struct producer *p = arg;

	for (long i = 0; i < p->n; i++) {
		if (lt_chan_send(p->ch, (void *)(uintptr_t)(i + 1)) != LT_OK)
			break;
		p->sent++;
	}
	return NULL;
}

static void sink(struct lt_comp *comp, void *msg, const struct lt_msg_info *info, void *arg)
{
	(void)comp;
	(void)msg;
	(void)info;
	(void)arg;
}

static int run_flood(int argc, char **argv)
{
	struct producer *ps;
	struct lt_chan *ch;
	struct lt_comp *c;
	long np, total = 0;
	size_t back = 0;

	if (argc != 3)
		die("usage: rel_app flood P N CAP");
	np = atol(argv[0]);
	if (np < 1 || np > 64)
		die("flood: P in 1..64");
	ps = calloc((size_t)np, sizeof(*ps));
	if (!ps)
		die("out of memory");
	check(lt_chan_create("rel.flood", (size_t)atol(argv[2]), NULL, &ch), "chan");
	check(lt_comp_create("rel.sink", &c), "comp");
	check(lt_comp_add_handler(c, ch, "item", sink, NULL), "handler");
	check(lt_comp_start(c), "start");
	for (long i = 0; i < np; i++) {
		ps[i].ch = ch;
		ps[i].n = atol(argv[1]);
		if (pthread_create(&ps[i].thread, NULL, produce, &ps[i]) != 0)
			die("pthread_create");
	}
	for (long i = 0; i < np; i++) {
		pthread_join(ps[i].thread, NULL);
		total += ps[i].sent;
	}
	check(lt_comp_stop(c, LT_COMP_STOP_DRAIN, NULL, NULL, &back), "stop");
	printf("{\"component\": \"rel.sink\", \"channel\": \"rel.flood\", \"sent\": %ld, "
	       "\"handled\": %llu, \"handed_back\": %zu, \"pid\": %d}\n",
	       total, (unsigned long long)lt_comp_handled(c), back, (int)getpid());
	lt_comp_destroy(c);
	lt_chan_destroy(ch);
	free(ps);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: rel_app crash|steady|names|flood ...");
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "crash") == 0)
		return run_crash(argc - 2, argv + 2);
	if (strcmp(argv[1], "steady") == 0)
		return run_steady(argc - 2, argv + 2);
	if (strcmp(argv[1], "names") == 0)
		return run_names(argc - 2, argv + 2);
	if (strcmp(argv[1], "flood") == 0)
		return run_flood(argc - 2, argv + 2);
	die("unknown mode");
	return 2;
}
