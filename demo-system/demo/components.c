/*
 * components.c - the demo's components and the router callbacks that connect them.
 *
 * Each component is an lt_comp: its handlers run one at a time on its own thread (or, with a
 * pool, as a sequence on the pool's threads) and it blocks only at the top of its loop --
 * except script in blocking and await modes, whose input handler waits for a fetch response on
 * a channel (the runtime records that receive as chan_recv blocked-in-handler; on a pool it is
 * an await: the sequence is suspended and its worker released). Counters named in struct demo
 * are written by one component (or thread) each.
 *
 * A fetch, in every mode:
 *   1. a pipe is made for the response (the fetch's "IPC receiver") and a route for its read
 *      end is added to the router on behalf of script (Servo's ROUTER.add_route);
 *   2. the request goes to net on the input event's flow, carrying the pipe's write end;
 *   3. net keeps it in a timer heap; its tick writes the response record when it is due and
 *      closes the write end -- net never blocks;
 *   4. the route's callback (router thread) reads the record, removes its own route and
 *      forwards the response: routed -> script.responses (handled later by script),
 *      blocking, await -> script.reply (where the input handler is waiting), thread -> the
 *      helper thread waiting for it, spawn -> the reply channel its task awaits; helper and
 *      task post it to script.responses.
 * The read end is closed only after the router released the route (see graveyard_push): an
 * fd number closed too early could be reused by a new fetch's pipe while the router still
 * deletes the old one from its epoll set.
 *
 * With --processes net lives in another process and the pipe per fetch gives way to the
 * runtime's IPC routes: script sends the request as a frame on `net.ipc` (on the input's
 * flow) and keeps the fetch in the in-flight table; the net process's router receives it and
 * passes it to net on the frame's (foreign) flow; net's tick sends the response as a frame on
 * `script.ipc`, where one IPC route here finds the fetch by id and forwards it as in step 4.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <looptrace/trace.h>

#include "demo.h"

#define NET_TICK_NS  1000000ull  /* net's timer resolution: 1 ms */
#define FRAME_NS     16666667ull /* compositor: 60 Hz */
#define RESPONSE_LEN 4096u       /* simulated body size */

/* ---- helpers ------------------------------------------------------------------------------ */

uint64_t demo_now_ns(void)
{
	return lt_rt_now_ns();
}

static uint64_t cpu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void demo_spin_us(double us)
{
	volatile uint64_t sink = 0;
	uint64_t end;

	if (us <= 0)
		return;
	end = cpu_now_ns() + (uint64_t)(us * 1000.0);
	while (cpu_now_ns() < end)
		for (int i = 0; i < 64; i++)
			sink += (uint64_t)i;
	(void)sink;
}

uint64_t demo_rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

double demo_rng_unit(uint64_t *state)
{
	return (double)(demo_rng_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

void demo_samples_add(struct demo_samples *s, uint64_t v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		uint64_t *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			return;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = v;
}

/* ---- router side: the per-fetch route ------------------------------------------------------ */

/*
 * graveyard_push - closes the fd of the route released before this one and keeps `fd` for
 * later. Runs on the router thread only: a route removed from its own callback is released by
 * the router right after that callback returns, so by the next callback it is gone and one
 * deferred fd is all there ever is.
 */
static void graveyard_push(struct demo *d, int fd)
{
	if (d->graveyard_fd >= 0)
		close(d->graveyard_fd);
	d->graveyard_fd = fd;
}

void demo_graveyard_close(struct demo *d)
{
	if (d->graveyard_fd >= 0)
		close(d->graveyard_fd);
	d->graveyard_fd = -1;
}

/*
 * forward_response - step 4 (router thread): hands the fetch with its response to whoever
 * waits for it, on `flow`.
 */
static void forward_response(struct demo *d, struct fetch *f, uint64_t flow)
{
	switch (d->o.mode) {
	case DEMO_ROUTED:
	case DEMO_BLOCKING:
	case DEMO_AWAIT:
		/* routed: to script's response handler; blocking, await: to the handler waiting */
		if (lt_chan_send_flow(d->o.mode == DEMO_ROUTED ? d->responses : d->reply, f,
				      flow) != LT_OK) {
			d->router_forward_failed++;
			free(f);
		}
		break;
	case DEMO_SPAWN:
		/* Capacity 1, one response per fetch: never blocks the router. On failure (closed
		 * at a shutdown that gave up) the task owns f and frees it. */
		if (lt_chan_send_flow(f->reply, f, flow) != LT_OK)
			d->router_forward_failed++;
		break;
	case DEMO_THREAD:
		pthread_mutex_lock(&f->mu);
		f->done = 1;
		pthread_cond_signal(&f->cv);
		pthread_mutex_unlock(&f->mu);
		break;
	}
}

/* on_fetch_pipe - the route callback of one fetch (router thread). */
static void on_fetch_pipe(struct lt_route *route, int fd, uint32_t events,
			  const struct lt_msg_info *info, void *arg)
{
	struct fetch *f = arg;
	struct demo *d = f->d;
	ssize_t n;

	(void)events;
	(void)info;
	d->router_dispatches++;
	n = read(fd, &f->resp, sizeof(f->resp));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return; /* spurious wakeup: the record is not there yet */
	f->ok = n == (ssize_t)sizeof(f->resp) && f->resp.fetch_id == f->id;
	/* One response per fetch: the route is done (like an IpcReceiver dropped after use). */
	lt_router_remove(d->router, route);
	f->route = NULL;
	graveyard_push(d, fd);
	f->rd = -1;
	forward_response(d, f, f->flow);
}

/* ---- router side with --processes: one IPC route for every response ----------------------- */

static void inflight_add(struct demo *d, struct fetch *f)
{
	struct fetch **b = &d->inflight[f->id % DEMO_INFLIGHT_BUCKETS];

	pthread_mutex_lock(&d->inflight_mu);
	f->next = *b;
	*b = f;
	pthread_mutex_unlock(&d->inflight_mu);
}

/* inflight_take - the fetch with `id`, taken out of the table, or NULL. */
static struct fetch *inflight_take(struct demo *d, uint64_t id)
{
	struct fetch **p, *f;

	pthread_mutex_lock(&d->inflight_mu);
	for (p = &d->inflight[id % DEMO_INFLIGHT_BUCKETS]; (f = *p); p = &f->next)
		if (f->id == id) {
			*p = f->next;
			break;
		}
	pthread_mutex_unlock(&d->inflight_mu);
	return f;
}

/*
 * ipc_frame_ended - counts one call of an IPC route's callback (a dispatch); returns 1 when it
 * is the route's end call (`end` not LT_OK: the peer closed its side), noted in d.
 */
static int ipc_frame_ended(struct demo *d, enum lt_err end)
{
	d->router_dispatches++;
	if (end == LT_OK)
		return 0;
	d->ipc_end = end;
	atomic_store(&d->ipc_ended, 1);
	return 1;
}

/*
 * on_ipc_response - the route callback of the response stream (router thread): each frame is
 * one response, forwarded on the frame's flow (the request's, carried through the net
 * process); the end call says the net process closed its side.
 */
static void on_ipc_response(struct lt_route *route, void *data, uint32_t len,
			    const struct lt_msg_info *info, enum lt_err end, void *arg)
{
	struct demo *d = arg;
	struct net_response resp;
	struct fetch *f = NULL;

	(void)route;
	if (ipc_frame_ended(d, end))
		return;
	if (len == sizeof(resp)) {
		memcpy(&resp, data, sizeof(resp));
		f = inflight_take(d, resp.fetch_id);
	}
	free(data);
	if (!f) {
		d->ipc_bad_frames++;
		return;
	}
	f->resp = resp;
	f->ok = 1;
	forward_response(d, f, info->flow);
}

enum lt_err demo_ipc_route_add(struct demo *d)
{
	return lt_router_add_ipc(d->router, d->ipc_resp, lt_comp_id(d->script), on_ipc_response, d,
				 &d->ipc_route);
}

/*
 * fetch_send_ipc - step 2 with --processes: the fetch waits in the in-flight table, the
 * request leaves as a frame on the input's flow. On failure the caller still owns f.
 */
static int fetch_send_ipc(struct demo *d, struct fetch *f)
{
	struct ipc_request req = {.fetch_id = f->id};

	inflight_add(d, f);
	f->started_ns = demo_now_ns();
	if (lt_ipc_send(d->ipc_req, &req, sizeof(req), f->flow, NULL) != LT_OK) {
		inflight_take(d, f->id);
		atomic_fetch_add(&d->fetch_failed, 1);
		return -1;
	}
	atomic_fetch_add(&d->fetch_started, 1);
	return 0;
}

/*
 * fetch_open - steps 1 and 2 of a fetch: pipe, route, request to net. On failure nothing is
 * left behind (route removed, fds closed) and the caller still owns f. Any thread.
 */
static int fetch_open(struct demo *d, struct fetch *f)
{
	struct net_request *req;
	int fds[2];

	if (d->o.processes)
		return fetch_send_ipc(d, f);
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	f->rd = fds[0];
	req = malloc(sizeof(*req));
	if (!req)
		goto fail_pipe;
	req->fetch_id = f->id;
	req->wr = fds[1];
	if (lt_router_add_fd(d->router, fds[0], lt_comp_id(d->script), on_fetch_pipe, f,
			     &f->route) != LT_OK)
		goto fail_req;
	f->started_ns = demo_now_ns();
	/* The route exists before the request leaves: the response cannot arrive unrouted. */
	if (lt_chan_send_flow(d->requests, req, f->flow) != LT_OK) {
		lt_router_remove(d->router, f->route);
		f->route = NULL;
		goto fail_req;
	}
	atomic_fetch_add(&d->fetch_started, 1);
	return 0;

fail_req:
	free(req);
fail_pipe:
	close(fds[0]);
	close(fds[1]);
	f->rd = -1;
	atomic_fetch_add(&d->fetch_failed, 1);
	return -1;
}

static struct fetch *fetch_new(struct demo *d, uint64_t flow)
{
	struct fetch *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->d = d;
	f->id = ++d->next_fetch_id;
	f->flow = flow;
	f->rd = -1;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	return f;
}

static void fetch_free(struct fetch *f)
{
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f);
}

/* ---- script ------------------------------------------------------------------------------- */

/* use_response - script uses a fetch's response (on script's thread), then frees it. */
static void use_response(struct demo *d, struct fetch *f)
{
	demo_spin_us(d->o.response_us);
	if (!f->ok)
		d->fetch_errors++;
	demo_samples_add(&d->fetch_latency, demo_now_ns() - f->started_ns);
	atomic_fetch_add(&d->fetch_completed, 1);
	fetch_free(f);
}

/* helper_main - thread mode: one thread per fetch does the waiting script must not do. */
static void *helper_main(void *arg)
{
	struct fetch *f = arg;
	struct demo *d = f->d;

	pthread_setname_np(pthread_self(), "fetch-helper"); /* not "script", its creator */
	if (fetch_open(d, f) == 0) {
		pthread_mutex_lock(&f->mu);
		if (!f->done) {
			lt_block_begin(LT_BLOCK_CONDVAR, f);
			while (!f->done)
				pthread_cond_wait(&f->cv, &f->mu);
			lt_block_end();
		}
		pthread_mutex_unlock(&f->mu);
		if (lt_chan_send_flow(d->responses, f, f->flow) != LT_OK)
			fetch_free(f); /* counted as started but not completed */
	} else {
		fetch_free(f);
	}
	atomic_fetch_sub(&d->helpers_live, 1);
	return NULL;
}

/*
 * reply_chan_get / reply_chan_put - spawn mode's reply channels (capacity 1), reused from a
 * free list: a channel is never destroyed while the router may still be inside its
 * lt_chan_send on it (the task can have the response before that call returned). Any thread.
 */
/* reply_chans_grow - room for one more reply channel (under chans_mu). Returns 0 or -1. */
static int reply_chans_grow(struct demo *d)
{
	size_t cap = d->cap_chans ? 2 * d->cap_chans : 64;
	struct lt_chan **all, **spare;

	if (d->nchans < d->cap_chans)
		return 0;
	all = realloc(d->chans, cap * sizeof(*all));
	if (!all)
		return -1;
	d->chans = all;
	spare = realloc(d->free_chans, cap * sizeof(*spare));
	if (!spare)
		return -1;
	d->free_chans = spare;
	d->cap_chans = cap;
	return 0;
}

static struct lt_chan *reply_chan_get(struct demo *d)
{
	struct lt_chan *ch = NULL;

	pthread_mutex_lock(&d->chans_mu);
	if (d->nfree)
		ch = d->free_chans[--d->nfree];
	else if (reply_chans_grow(d) == 0 && lt_chan_create("task.reply", 1, NULL, &ch) == LT_OK)
		d->chans[d->nchans++] = ch;
	pthread_mutex_unlock(&d->chans_mu);
	return ch;
}

static void reply_chan_put(struct demo *d, struct lt_chan *ch)
{
	pthread_mutex_lock(&d->chans_mu);
	d->free_chans[d->nfree++] = ch; /* room: every channel made fits */
	pthread_mutex_unlock(&d->chans_mu);
}

void demo_reply_chans_close(struct demo *d)
{
	pthread_mutex_lock(&d->chans_mu);
	for (size_t i = 0; i < d->nchans; i++)
		lt_chan_close(d->chans[i]);
	pthread_mutex_unlock(&d->chans_mu);
}

void demo_reply_chans_destroy(struct demo *d)
{
	for (size_t i = 0; i < d->nchans; i++)
		lt_chan_destroy(d->chans[i]);
	free(d->chans);
	free(d->free_chans);
	d->chans = d->free_chans = NULL;
	d->nchans = d->nfree = d->cap_chans = 0;
}

/*
 * fetch_task - spawn mode: a task per fetch (a sequence of its own on the pool) sends the
 * request, awaits the response -- suspending the task, not script -- and posts it back to
 * script, which uses it in its fetch-response handler.
 */
static void fetch_task(void *arg)
{
	struct fetch *f = arg;
	struct demo *d = f->d;
	void *msg;

	f->reply = reply_chan_get(d);
	if (!f->reply) {
		atomic_fetch_add(&d->fetch_failed, 1);
		fetch_free(f);
	} else if (fetch_open(d, f) != 0) {
		reply_chan_put(d, f->reply);
		fetch_free(f);
	} else if (lt_chan_recv(f->reply, &msg) == LT_OK) {
		reply_chan_put(d, f->reply);
		if (lt_chan_send_flow(d->responses, f, f->flow) != LT_OK)
			fetch_free(f); /* counted as started but not completed */
	} else {
		fetch_free(f); /* closed: shutdown gave up, the fetch is counted lost */
	}
	atomic_fetch_sub(&d->helpers_live, 1);
}

/* start_thread_helper - thread mode: a detached helper thread for f. */
static void start_thread_helper(struct demo *d, struct fetch *f)
{
	pthread_attr_t attr;
	pthread_t t;

	atomic_fetch_add(&d->helpers_live, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (pthread_create(&t, &attr, helper_main, f) != 0) {
		atomic_fetch_sub(&d->helpers_live, 1);
		atomic_fetch_add(&d->fetch_failed, 1);
		fetch_free(f);
	}
	pthread_attr_destroy(&attr);
}

static void start_fetch(struct demo *d, uint64_t flow)
{
	struct fetch *f = fetch_new(d, flow);
	void *msg;

	atomic_fetch_add(&d->fetch_attempts, 1);
	if (!f) {
		atomic_fetch_add(&d->fetch_failed, 1);
		return;
	}
	switch (d->o.mode) {
	case DEMO_ROUTED:
		/* Fire and forget: the response comes back as a message on script.responses. */
		if (fetch_open(d, f) != 0)
			fetch_free(f);
		break;
	case DEMO_BLOCKING:
	case DEMO_AWAIT:
		/* A naive await: this handler (and so script) waits for the response. On a pool the
		 * receive suspends script's sequence and releases its worker -- script still waits.
		 */
		if (fetch_open(d, f) != 0) {
			fetch_free(f);
			break;
		}
		if (lt_chan_recv(d->reply, &msg) == LT_OK)
			use_response(d, msg);
		/* LT_ECLOSED only when shutdown gave up waiting: the fetch is counted dropped. */
		break;
	case DEMO_THREAD:
		start_thread_helper(d, f);
		break;
	case DEMO_SPAWN:
		atomic_fetch_add(&d->helpers_live, 1);
		if (lt_pool_spawn(d->pool, "fetch", fetch_task, f) != LT_OK) {
			atomic_fetch_sub(&d->helpers_live, 1);
			atomic_fetch_add(&d->fetch_failed, 1);
			fetch_free(f);
		} else {
			d->tasks_spawned++;
		}
		break;
	}
}

static void script_on_input(struct lt_comp *comp, void *msg, const struct lt_msg_info *info,
			    void *arg)
{
	struct demo *d = arg;
	struct input_event *ev = msg;
	uint64_t flow = lt_msg_reply_flow(info);

	(void)comp;
	demo_samples_add(&d->input_delay, demo_now_ns() - ev->created_ns);
	demo_spin_us(d->o.task_us);
	if (ev->reflow) {
		uint64_t *gen = malloc(sizeof(*gen));

		if (gen && (*gen = ev->seq, lt_chan_send_flow(d->reflow, gen, flow) == LT_OK)) {
			d->reflows_sent++;
		} else {
			free(gen);
			d->reflow_send_failed++;
		}
	}
	if (ev->fetch)
		start_fetch(d, flow);
	demo_samples_add(&d->input_latency, demo_now_ns() - ev->created_ns);
	free(ev);
	atomic_fetch_add(&d->inputs_handled, 1);
}

static void script_on_response(struct lt_comp *comp, void *msg, const struct lt_msg_info *info,
			       void *arg)
{
	(void)comp;
	(void)info;
	use_response(arg, msg);
}

/* ---- net ---------------------------------------------------------------------------------- */

struct timer {
	uint64_t due_ns; /* ns, CLOCK_MONOTONIC */
	uint64_t fetch_id, flow;
	int wr; /* owned */
};

struct timer_heap {
	struct timer *v; /* owned, min-heap on due_ns */
	size_t n, cap;
};

static int heap_push(struct timer_heap *h, struct timer t)
{
	size_t i;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;
		struct timer *v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return -1;
		h->v = v;
		h->cap = cap;
	}
	i = h->n++;
	while (i > 0 && h->v[(i - 1) / 2].due_ns > t.due_ns) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = t;
	return 0;
}

static struct timer heap_pop(struct timer_heap *h)
{
	struct timer top = h->v[0], last = h->v[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1].due_ns < h->v[c].due_ns)
			c++;
		if (last.due_ns <= h->v[c].due_ns)
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = last;
	return top;
}

static void net_respond(struct demo *d, const struct timer *t)
{
	struct net_response r = {
	    .fetch_id = t->fetch_id, .flow = t->flow, .status = 200, .bytes = RESPONSE_LEN};

	if (d->ipc_resp) {
		/* The net process: the response goes back as a frame, on the request's flow. */
		if (lt_ipc_send(d->ipc_resp, &r, sizeof(r), t->flow, NULL) != LT_OK)
			d->net_write_failed++;
		d->net_served++;
		return;
	}
	if (write(t->wr, &r, sizeof(r)) != (ssize_t)sizeof(r))
		d->net_write_failed++;
	close(t->wr);
	d->net_served++;
}

static void net_on_request(struct lt_comp *comp, void *msg, const struct lt_msg_info *info,
			   void *arg)
{
	struct demo *d = arg;
	struct net_request *req = msg;
	double ms = d->o.latency_ms + d->o.jitter_ms * (2.0 * demo_rng_unit(&d->net_rng) - 1.0);
	struct timer t = {
	    .due_ns = demo_now_ns() + (ms > 0 ? (uint64_t)(ms * 1e6) : 0),
	    .fetch_id = req->fetch_id,
	    .flow = lt_msg_reply_flow(info),
	    .wr = req->wr,
	};

	(void)comp;
	free(req);
	d->net_requests++;
	/* No room for the timer: answer at once rather than lose the fetch. */
	if (heap_push(d->net_heap, t) != 0)
		net_respond(d, &t);
}

static void net_tick(struct lt_comp *comp, void *arg)
{
	struct demo *d = arg;
	struct timer_heap *h = d->net_heap;
	uint64_t now = demo_now_ns();

	(void)comp;
	d->net_ticks++;
	while (h->n && h->v[0].due_ns <= now) {
		struct timer t = heap_pop(h);

		net_respond(d, &t);
	}
}

uint64_t demo_net_drop_pending(struct demo *d)
{
	struct timer_heap *h = d->net_heap;
	uint64_t n = 0;

	if (!h)
		return 0;
	while (h->n) {
		struct timer t = heap_pop(h);

		if (t.wr >= 0)
			close(t.wr);
		n++;
	}
	free(h->v);
	free(h);
	d->net_heap = NULL;
	return n;
}

/* ---- layout, compositor ------------------------------------------------------------------- */

static void layout_on_reflow(struct lt_comp *comp, void *msg, const struct lt_msg_info *info,
			     void *arg)
{
	struct demo *d = arg;

	(void)comp;
	demo_spin_us(d->o.reflow_us);
	d->layout_reflows++;
	/* The display list travels on, on the same flow; msg is reused as it. */
	if (lt_chan_send_flow(d->display, msg, lt_msg_reply_flow(info)) != LT_OK) {
		free(msg);
		d->layout_send_failed++;
	}
}

static void compositor_on_display_list(struct lt_comp *comp, void *msg,
				       const struct lt_msg_info *info, void *arg)
{
	struct demo *d = arg;

	(void)comp;
	(void)info;
	free(msg); /* the next frame paints the newest list */
	d->comp_lists++;
}

static void compositor_tick(struct lt_comp *comp, void *arg)
{
	struct demo *d = arg;

	(void)comp;
	demo_spin_us(d->o.paint_us);
	d->comp_frames++;
}

/* ---- input generator ---------------------------------------------------------------------- */

#define INPUT_POLL_NS 20000000ull /* the input thread looks at stop_requested this often */

/* sleep_until - sleeps until t_ns or until a stop is requested (checked every 20 ms). */
static void sleep_until(struct demo *d, uint64_t t_ns)
{
	for (;;) {
		uint64_t now = demo_now_ns();
		uint64_t until = t_ns - now > INPUT_POLL_NS ? now + INPUT_POLL_NS : t_ns;
		struct timespec ts = {.tv_sec = (time_t)(until / 1000000000ull),
				      .tv_nsec = (long)(until % 1000000000ull)};

		if (now >= t_ns || atomic_load(&d->stop_requested))
			return;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
}

/* send_input - sends ev, waiting for room until `end` or a stop request. */
static enum lt_err send_input(struct demo *d, struct input_event *ev, uint64_t end)
{
	for (;;) {
		uint64_t now = demo_now_ns();
		uint64_t until = end - now > INPUT_POLL_NS ? now + INPUT_POLL_NS : end;
		enum lt_err err;

		if (now >= end)
			until = 0; /* last chance: only if there is room right now */
		err = lt_chan_send_timed(d->input, ev, until);
		if (err != LT_ETIMEDOUT || until >= end || now >= end ||
		    atomic_load(&d->stop_requested))
			return err;
	}
}

/*
 * demo_input_thread - offers input events to script at o.rate per second (Poisson) for
 * o.duration_s. When script's inbox is full the generator waits (back-pressure) and then
 * carries on from the current time: it does not make up for the events it could not offer.
 * An event still waiting for room when the time is up is not sent (inputs_unsent). A stop
 * request (SIGINT/SIGTERM, see main.c) ends it early the same way.
 */
void *demo_input_thread(void *arg)
{
	struct demo *d = arg;
	uint64_t rng = d->o.seed ^ 0x696e707574ull; /* "input" */
	uint64_t start = demo_now_ns();
	uint64_t end = start + (uint64_t)(d->o.duration_s * 1e9);
	uint64_t next = start, seq = 0;

	for (;;) {
		double gap_s = -log(1.0 - demo_rng_unit(&rng)) / d->o.rate;
		struct input_event *ev;
		uint64_t t0, t1;
		enum lt_err err;

		next += (uint64_t)(gap_s * 1e9);
		if (next >= end)
			break;
		sleep_until(d, next);
		if (atomic_load(&d->stop_requested))
			break;
		ev = malloc(sizeof(*ev));
		if (!ev)
			break;
		ev->seq = ++seq;
		ev->fetch = demo_rng_unit(&rng) < d->o.fetch_share;
		ev->reflow = demo_rng_unit(&rng) < d->o.reflow_share;
		t0 = demo_now_ns();
		ev->created_ns = t0;
		err = send_input(d, ev, end);
		t1 = demo_now_ns();
		d->input_blocked_ns += t1 - t0;
		if (err != LT_OK) {
			free(ev);
			d->inputs_unsent++;
			break;
		}
		atomic_fetch_add(&d->inputs_sent, 1);
		if (t1 > next)
			next = t1; /* back-pressured: no catching up */
	}
	atomic_store(&d->input_done, 1);
	return NULL;
}

/* net_request_free - frees a request never handled (shutdown), closing its pipe end. */
static void net_request_free(void *msg)
{
	struct net_request *req = msg;

	if (req->wr >= 0)
		close(req->wr);
	free(req);
}

/* ---- setup -------------------------------------------------------------------------------- */

/* pool_setup - with --workers (await, spawn), every component becomes a sequence on a pool. */
static enum lt_err pool_setup(struct demo *d, const char **what)
{
	struct lt_comp *comps[] = {d->script, d->net, d->layout, d->compositor};
	enum lt_err err;

	pthread_mutex_init(&d->chans_mu, NULL);
	if (!d->o.workers)
		return LT_OK;
	*what = "pool";
	if ((err = lt_pool_create("page", d->o.workers, &d->pool)))
		return err;
	for (size_t i = 0; i < sizeof(comps) / sizeof(comps[0]); i++)
		if (comps[i] && (err = lt_comp_set_pool(comps[i], d->pool)))
			return err;
	return LT_OK;
}

enum lt_err demo_components_setup(struct demo *d, const char **what)
{
	enum lt_err err;

	d->graveyard_fd = -1;
	d->net_rng = d->o.seed ^ 0x6e6574ull; /* "net" */
	if (!d->o.processes) { /* else net (and its timer heap) lives in the net process */
		d->net_heap = calloc(1, sizeof(struct timer_heap));
		if (!d->net_heap) {
			*what = "timer heap";
			return LT_ENOMEM;
		}
	}
	*what = "channel";
	if ((err = lt_chan_create("script.input", d->o.inbox, free, &d->input)) ||
	    (!d->o.processes &&
	     (err = lt_chan_create("net.requests", 1024, net_request_free, &d->requests))) ||
	    (err = lt_chan_create("layout.reflow", 256, free, &d->reflow)) ||
	    (err = lt_chan_create("compositor.display-list", 256, free, &d->display)))
		return err;
	if (d->o.mode == DEMO_BLOCKING || d->o.mode == DEMO_AWAIT)
		err = lt_chan_create("script.reply", 0, free, &d->reply);
	else
		err = lt_chan_create("script.responses", 0, free, &d->responses);
	if (err)
		return err;

	*what = "component";
	if ((err = lt_router_create("router", &d->router)) ||
	    (err = lt_comp_create("script", &d->script)) ||
	    (!d->o.processes && (err = lt_comp_create("net", &d->net))) ||
	    (err = lt_comp_create("layout", &d->layout)) ||
	    (err = lt_comp_create("compositor", &d->compositor)))
		return err;

	*what = "handler";
	if ((err = lt_comp_add_handler(d->script, d->input, "input", script_on_input, d)))
		return err;
	if (d->responses && (err = lt_comp_add_handler(d->script, d->responses, "fetch-response",
						       script_on_response, d)))
		return err;
	if ((d->net &&
	     ((err = lt_comp_add_handler(d->net, d->requests, "fetch", net_on_request, d)) ||
	      (err = lt_comp_set_tick(d->net, NET_TICK_NS, net_tick, d)))) ||
	    (err = lt_comp_add_handler(d->layout, d->reflow, "reflow", layout_on_reflow, d)) ||
	    (err = lt_comp_add_handler(d->compositor, d->display, "display-list",
				       compositor_on_display_list, d)) ||
	    (err = lt_comp_set_tick(d->compositor, FRAME_NS, compositor_tick, d)))
		return err;
	return pool_setup(d, what);
}

/* ---- the net process (--processes) --------------------------------------------------------- */

/*
 * on_ipc_request - the net process's route callback: each request frame becomes a message to
 * net on the frame's flow (the page's input event's); the end call means the page is done.
 */
static void on_ipc_request(struct lt_route *route, void *data, uint32_t len,
			   const struct lt_msg_info *info, enum lt_err end, void *arg)
{
	struct demo *d = arg;
	struct ipc_request in;
	struct net_request *req;

	(void)route;
	if (ipc_frame_ended(d, end))
		return;
	req = len == sizeof(in) ? malloc(sizeof(*req)) : NULL;
	if (req) {
		memcpy(&in, data, sizeof(in));
		req->fetch_id = in.fetch_id;
		req->wr = -1;
		if (lt_chan_send_flow(d->requests, req, info->flow) != LT_OK) {
			free(req);
			req = NULL;
		}
	}
	if (!req)
		d->ipc_bad_frames++;
	free(data);
}

enum lt_err demo_net_setup(struct demo *d, const char **what)
{
	enum lt_err err;

	d->net_rng = d->o.seed ^ 0x6e6574ull; /* "net", as in one process */
	d->net_heap = calloc(1, sizeof(struct timer_heap));
	*what = "timer heap";
	if (!d->net_heap)
		return LT_ENOMEM;
	*what = "net process";
	if ((err = lt_chan_create("net.requests", 1024, net_request_free, &d->requests)) ||
	    (err = lt_router_create("net-router", &d->router)) ||
	    (err = lt_comp_create("net", &d->net)) ||
	    (err = lt_comp_add_handler(d->net, d->requests, "fetch", net_on_request, d)) ||
	    (err = lt_comp_set_tick(d->net, NET_TICK_NS, net_tick, d)) ||
	    (err = lt_router_start(d->router)) || (err = lt_comp_start(d->net)))
		return err;
	return lt_router_add_ipc(d->router, d->ipc_req, lt_comp_id(d->net), on_ipc_request, d,
				 &d->ipc_route);
}
