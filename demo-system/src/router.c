/*
 * router.c - one thread serving many routes (channels, file descriptors, IPC streams).
 *
 * The router thread waits in epoll_wait on: a control eventfd (stop), one eventfd per
 * channel route (the waiter the channel wakes, see rt_internal.h) and the fd of each fd
 * route. Each epoll entry carries (generation << 32 | slot) rather than a pointer, so an event
 * for a route removed meanwhile is recognized and dropped.
 *
 * Removal versus dispatch: the router marks the route it is dispatching under `mu`; a remover
 * unlinks the route under `mu` and, unless it is that very callback, waits on `cv` until the
 * dispatch is over. A channel route serves at most LT__ROUTE_BATCH messages per turn, then
 * re-signals its own eventfd, so one busy channel cannot starve the other routes.
 *
 * An IPC route is an fd route that does the reading itself: one read() per turn (at most the
 * reader's buffer), then every whole frame in the buffer is dispatched with the sender's ids
 * (ipc.c cuts the frames). A turn never leaves a whole frame in the buffer, so waiting on the
 * fd again cannot miss one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <looptrace/rt/router.h>
#include <looptrace/trace.h>

#include "rt_internal.h"

#define LT__ROUTE_BATCH   64
#define LT__ROUTER_EVENTS 64
#define CTL_KEY           UINT64_MAX

enum route_kind { ROUTE_CHAN, ROUTE_FD, ROUTE_IPC };

struct lt_route {
	struct lt_router *r; /* weak */
	enum route_kind kind;
	uint32_t id;        /* trace id */
	uint32_t slot;      /* index in r->slots */
	uint32_t gen;       /* generation of the slot when added */
	struct lt_chan *ch; /* weak (channel routes) */
	int fd;             /* not owned (fd routes) */
	lt_route_fn fn;
	lt_route_fd_fn fd_fn;
	lt_route_ipc_fn ipc_fn;
	uint32_t ipc_chan;            /* IPC routes: the endpoint's channel id */
	struct lt__ipc_reader reader; /* IPC routes: bytes not yet cut into frames */
	void *arg;
	struct lt__waiter w; /* channel routes: eventfd waiter, efd owned */
	int watching;        /* fd still in epoll / channel not yet reported closed */
	_Atomic int removed; /* written under r->mu; read without it by still_live */
	int router_frees;    /* under r->mu: removed from its own callback; the router frees it */
};

struct lt_router {
	char *name;  /* owned */
	int epfd;    /* owned */
	int ctl_efd; /* owned: wakes the thread for stop */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct lt_route **slots; /* under mu; NULL = free */
	uint32_t *gens;          /* under mu */
	size_t nslots;
	struct lt_route *dispatching; /* under mu: the route whose callback may be running */
	pthread_t thread;
	int running; /* owner thread only */
	int started; /* under mu: start handshake */
	_Atomic int stop;
	_Atomic uint32_t id; /* component id of the router thread */
	int waiting;         /* router thread only: wait_begin emitted, wait_end not yet */
};

static LT__TLS struct lt_router *current_router;

static uint64_t key_of(const struct lt_route *rt)
{
	return ((uint64_t)rt->gen << 32) | rt->slot;
}

enum lt_err lt_router_create(const char *name, struct lt_router **out)
{
	struct lt_router *r;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = CTL_KEY};

	if (!out || !name)
		return LT_EINVAL;
	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return LT_ENOMEM;
	r->epfd = r->ctl_efd = -1;
	r->name = strdup(name);
	if (!r->name)
		goto nomem;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->ctl_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->epfd < 0 || r->ctl_efd < 0 || epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->ctl_efd, &ev) < 0)
		goto sys;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	atomic_init(&r->stop, 0);
	atomic_init(&r->id, 0);
	*out = r;
	return LT_OK;
sys:
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->ctl_efd >= 0)
		close(r->ctl_efd);
	free(r->name);
	free(r);
	return LT_ESYS;
nomem:
	free(r);
	return LT_ENOMEM;
}

/* ---- route table --------------------------------------------------------------------------- */

/* insert - gives rt a slot (under mu). */
static enum lt_err insert(struct lt_router *r, struct lt_route *rt)
{
	size_t i;

	for (i = 0; i < r->nslots; i++)
		if (!r->slots[i])
			break;
	if (i == r->nslots) {
		size_t n = r->nslots ? r->nslots * 2 : 16;
		struct lt_route **s = realloc(r->slots, n * sizeof(*s));
		uint32_t *g;

		if (!s)
			return LT_ENOMEM;
		r->slots = s;
		g = realloc(r->gens, n * sizeof(*g));
		if (!g)
			return LT_ENOMEM;
		r->gens = g;
		for (size_t k = r->nslots; k < n; k++) {
			r->slots[k] = NULL;
			r->gens[k] = 0;
		}
		r->nslots = n;
	}
	r->slots[i] = rt;
	rt->slot = (uint32_t)i;
	rt->gen = ++r->gens[i];
	return LT_OK;
}

/* lookup - the live route for an epoll key, or NULL (under mu). */
static struct lt_route *lookup(struct lt_router *r, uint64_t key)
{
	uint32_t slot = (uint32_t)key, gen = (uint32_t)(key >> 32);

	if (slot >= r->nslots || r->gens[slot] != gen)
		return NULL;
	return r->slots[slot];
}

/* unlink - takes rt out of the table and emits route_remove (under mu). */
static void unlink_route(struct lt_router *r, struct lt_route *rt)
{
	rt->removed = 1;
	r->slots[rt->slot] = NULL;
	r->gens[rt->slot]++;
	lt_route_remove(rt->id);
}

/* release - stops watching rt and frees it; nobody dispatches it any more. */
static void release(struct lt_router *r, struct lt_route *rt)
{
	if (rt->kind == ROUTE_CHAN) {
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, rt->w.efd, NULL);
		lt__chan_unregister(rt->ch, &rt->w);
		lt__chan_detach(rt->ch);
		close(rt->w.efd);
	} else if (rt->watching) {
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, rt->fd, NULL);
	}
	lt__ipc_reader_fini(&rt->reader);
	free(rt);
}

static enum lt_err add_route(struct lt_router *r, struct lt_route *rt, uint32_t chan_id,
			     uint32_t owner, struct lt_route **out)
{
	struct epoll_event ev;
	enum lt_err err;
	int fd = rt->kind == ROUTE_CHAN ? rt->w.efd : rt->fd;

	pthread_mutex_lock(&r->mu);
	err = insert(r, rt);
	if (err == LT_OK) {
		rt->id = lt_route_add(chan_id, owner);
		ev.events = EPOLLIN;
		ev.data.u64 = key_of(rt);
		if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			unlink_route(r, rt);
			err = LT_ESYS;
		}
	}
	pthread_mutex_unlock(&r->mu);
	if (err != LT_OK)
		return err;
	if (out)
		*out = rt;
	return LT_OK;
}

enum lt_err lt_router_add_chan(struct lt_router *r, struct lt_chan *ch, uint32_t owner,
			       lt_route_fn fn, void *arg, struct lt_route **out)
{
	struct lt_route *rt;
	enum lt_err err;
	uint64_t one = 1;
	int efd;

	if (!r || !ch || !fn)
		return LT_EINVAL;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return LT_ENOMEM;
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0) {
		free(rt);
		return LT_ESYS;
	}
	err = lt__chan_attach(ch);
	if (err != LT_OK) {
		close(efd);
		free(rt);
		return err;
	}
	rt->r = r;
	rt->kind = ROUTE_CHAN;
	rt->ch = ch;
	rt->fd = -1;
	rt->fn = fn;
	rt->arg = arg;
	rt->watching = 1;
	lt__waiter_init(&rt->w, efd);
	err = add_route(r, rt, lt_chan_id(ch), owner, out);
	if (err != LT_OK) {
		lt__chan_detach(ch);
		close(efd);
		free(rt);
		return err;
	}
	/* First turn: serve what is already queued and arm the waiter. */
	if (write(efd, &one, sizeof(one)) < 0) {
		/* An eventfd write of 1 cannot overflow here; nothing to do. */
	}
	return LT_OK;
}

enum lt_err lt_router_add_fd(struct lt_router *r, int fd, uint32_t owner, lt_route_fd_fn fd_fn,
			     void *arg, struct lt_route **out)
{
	struct lt_route *rt;
	enum lt_err err;

	if (!r || fd < 0 || !fd_fn)
		return LT_EINVAL;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return LT_ENOMEM;
	rt->r = r;
	rt->kind = ROUTE_FD;
	rt->fd = fd;
	rt->fd_fn = fd_fn;
	rt->arg = arg;
	rt->watching = 1;
	lt__waiter_init(&rt->w, -1);
	err = add_route(r, rt, 0, owner, out);
	if (err != LT_OK)
		free(rt);
	return err;
}

enum lt_err lt_router_add_ipc(struct lt_router *r, struct lt_ipc *ep, uint32_t owner,
			      lt_route_ipc_fn ipc_fn, void *arg, struct lt_route **out)
{
	struct lt_route *rt;
	enum lt_err err;

	if (!r || !ep || !ipc_fn)
		return LT_EINVAL;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return LT_ENOMEM;
	rt->r = r;
	rt->kind = ROUTE_IPC;
	rt->fd = lt_ipc_fd(ep);
	rt->ipc_fn = ipc_fn;
	rt->ipc_chan = lt_ipc_chan(ep);
	rt->arg = arg;
	rt->watching = 1;
	lt__waiter_init(&rt->w, -1);
	err = add_route(r, rt, rt->ipc_chan, owner, out);
	if (err != LT_OK)
		free(rt);
	return err;
}

enum lt_err lt_router_remove(struct lt_router *r, struct lt_route *rt)
{
	if (!r || !rt || rt->r != r)
		return LT_EINVAL;
	pthread_mutex_lock(&r->mu);
	if (rt->removed) {
		pthread_mutex_unlock(&r->mu);
		return LT_EINVAL;
	}
	unlink_route(r, rt);
	if (r->dispatching == rt) {
		if (current_router == r) {
			/* From its own callback: the router frees it after the callback. */
			rt->router_frees = 1;
			pthread_mutex_unlock(&r->mu);
			return LT_OK;
		}
		while (r->dispatching == rt)
			pthread_cond_wait(&r->cv, &r->mu);
	}
	pthread_mutex_unlock(&r->mu);
	release(r, rt);
	return LT_OK;
}

uint32_t lt_route_id(const struct lt_route *rt)
{
	return rt ? rt->id : 0;
}

uint32_t lt_router_id(const struct lt_router *r)
{
	return r ? atomic_load(&((struct lt_router *)r)->id) : 0;
}

/* ---- the router thread ------------------------------------------------------------------- */

/*
 * still_live - non-zero while rt was not removed (possibly by its own callback). One atomic
 * load instead of the router's mutex after every dispatch: a removal from another thread can
 * come right after the check either way, and it waits until this dispatch is over.
 */
static int still_live(struct lt_route *rt)
{
	return !atomic_load_explicit(&rt->removed, memory_order_acquire);
}

static void end_wait(struct lt_router *r, uint32_t chan, uint64_t msg)
{
	if (r->waiting) {
		lt_wait_end(chan, msg);
		r->waiting = 0;
	}
}

static void serve_chan(struct lt_router *r, struct lt_route *rt)
{
	struct lt_msg_info info;
	uint64_t cnt;
	uint32_t depth;
	int served = 0;
	void *msg;

	if (read(rt->w.efd, &cnt, sizeof(cnt)) < 0) {
		/* EAGAIN: a spurious turn; serve anyway. */
	}
	if (!rt->watching)
		return;
	for (;;) {
		enum lt_err err = lt__chan_pop(rt->ch, &msg, &info, &depth);

		if (err == LT_OK) {
			lt_recv(info.chan, info.id, depth);
			end_wait(r, info.chan, info.id);
			lt_route_dispatch_begin(rt->id, info.id);
			rt->fn(rt, msg, &info, rt->arg);
			lt_route_dispatch_end(rt->id);
			if (!still_live(rt))
				return;
			if (++served >= LT__ROUTE_BATCH) {
				uint64_t one = 1;

				/* Let the other routes have a turn; come back next round. */
				if (write(rt->w.efd, &one, sizeof(one)) < 0) {
					/* cannot overflow */
				}
				return;
			}
			continue;
		}
		if (err == LT_ECLOSED) {
			rt->watching = 0;
			end_wait(r, lt_chan_id(rt->ch), 0);
			lt_route_dispatch_begin(rt->id, 0);
			rt->fn(rt, NULL, NULL, rt->arg);
			lt_route_dispatch_end(rt->id);
			return;
		}
		/* Empty: arm the waiter, look once more. */
		atomic_store(&rt->w.word, LT__W_ARMED);
		lt__chan_register(rt->ch, &rt->w);
		if (!lt__chan_poll(rt->ch))
			return;
		lt__chan_unregister(rt->ch, &rt->w);
		atomic_store(&rt->w.word, LT__W_NOTIFIED);
	}
}

/* stop_watching - takes a route's fd out of epoll (router thread; the route may be removed). */
static void stop_watching(struct lt_router *r, struct lt_route *rt)
{
	pthread_mutex_lock(&r->mu);
	if (!rt->removed) {
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, rt->fd, NULL);
		rt->watching = 0;
	}
	pthread_mutex_unlock(&r->mu);
}

static void serve_fd(struct lt_router *r, struct lt_route *rt, uint32_t ev)
{
	struct lt_msg_info info = {.id = lt_message_new(), .flow = 0, .chan = 0};
	uint32_t events = 0;

	if (!rt->watching)
		return;
	if (ev & EPOLLIN)
		events |= LT_ROUTE_IN;
	if (ev & (EPOLLHUP | EPOLLRDHUP))
		events |= LT_ROUTE_HUP;
	if (ev & EPOLLERR)
		events |= LT_ROUTE_ERR;
	end_wait(r, 0, info.id);
	lt_route_dispatch_begin(rt->id, info.id);
	rt->fd_fn(rt, rt->fd, events, &info, rt->arg);
	lt_route_dispatch_end(rt->id);
	if (!(events & LT_ROUTE_IN)) {
		/* Only hang-up or error left: stop watching (level-triggered would spin). */
		stop_watching(r, rt);
	}
}

/*
 * serve_ipc - one read, then every whole frame, each as its own dispatch with the sender's
 * ids; at the end of the stream (EOF, framing error) the closing call, once.
 */
static void serve_ipc(struct lt_router *r, struct lt_route *rt)
{
	enum lt_err got, end = LT_OK;
	struct lt__ipc_frame f;

	if (!rt->watching)
		return;
	got = lt__ipc_fill(&rt->reader, rt->fd);
	for (;;) {
		struct lt_msg_info info;
		enum lt_err e = lt__ipc_next(&rt->reader, &f);

		if (e == LT_EAGAIN)
			break;
		if (e != LT_OK) {
			end = e;
			break;
		}
		info.id = f.msg;
		info.flow = f.flow;
		info.chan = rt->ipc_chan;
		lt_recv(rt->ipc_chan, f.msg, 0);
		end_wait(r, rt->ipc_chan, f.msg);
		lt_route_dispatch_begin(rt->id, f.msg);
		rt->ipc_fn(rt, f.data, f.len, &info, LT_OK, rt->arg);
		lt_route_dispatch_end(rt->id);
		if (!still_live(rt))
			return;
	}
	if (end == LT_OK && got != LT_OK)
		end = got == LT_ECLOSED && rt->reader.len ? LT_EPROTO : got;
	if (end == LT_OK)
		return;
	stop_watching(r, rt);
	end_wait(r, rt->ipc_chan, 0);
	lt_route_dispatch_begin(rt->id, 0);
	rt->ipc_fn(rt, NULL, 0, NULL, end, rt->arg);
	lt_route_dispatch_end(rt->id);
}

static void *router_thread(void *arg)
{
	struct lt_router *r = arg;
	struct epoll_event evs[LT__ROUTER_EVENTS];

	lt__set_thread_name(r->name);
	current_router = r;
	atomic_store(&r->id, lt_component_begin(r->name));
	pthread_mutex_lock(&r->mu);
	r->started = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);

	while (!atomic_load(&r->stop)) {
		int n;

		lt_wait_begin();
		r->waiting = 1;
		n = epoll_wait(r->epfd, evs, LT__ROUTER_EVENTS, -1);
		for (int i = 0; i < n && !atomic_load(&r->stop); i++) {
			struct lt_route *rt;

			if (evs[i].data.u64 == CTL_KEY) {
				uint64_t cnt;

				if (read(r->ctl_efd, &cnt, sizeof(cnt)) < 0) {
					/* already consumed */
				}
				continue;
			}
			pthread_mutex_lock(&r->mu);
			rt = lookup(r, evs[i].data.u64);
			if (rt)
				r->dispatching = rt;
			pthread_mutex_unlock(&r->mu);
			if (!rt)
				continue;
			if (rt->kind == ROUTE_CHAN)
				serve_chan(r, rt);
			else if (rt->kind == ROUTE_IPC)
				serve_ipc(r, rt);
			else
				serve_fd(r, rt, evs[i].events);
			pthread_mutex_lock(&r->mu);
			r->dispatching = NULL;
			pthread_cond_broadcast(&r->cv);
			if (rt->router_frees) {
				/* Removed from its own callback: finish the removal here. */
				pthread_mutex_unlock(&r->mu);
				release(r, rt);
			} else {
				pthread_mutex_unlock(&r->mu);
			}
		}
		end_wait(r, 0, 0);
	}
	lt_component_end();
	current_router = NULL;
	return NULL;
}

enum lt_err lt_router_start(struct lt_router *r)
{
	if (!r || current_router == r)
		return LT_EINVAL;
	if (r->running)
		return LT_EBUSY;
	atomic_store(&r->stop, 0);
	r->started = 0;
	if (pthread_create(&r->thread, NULL, router_thread, r) != 0)
		return LT_ESYS;
	r->running = 1;
	pthread_mutex_lock(&r->mu);
	while (!r->started)
		pthread_cond_wait(&r->cv, &r->mu);
	pthread_mutex_unlock(&r->mu);
	return LT_OK;
}

enum lt_err lt_router_stop(struct lt_router *r)
{
	uint64_t one = 1;

	if (!r || current_router == r)
		return LT_EINVAL;
	if (!r->running)
		return LT_OK;
	atomic_store(&r->stop, 1);
	if (write(r->ctl_efd, &one, sizeof(one)) < 0) {
		/* cannot overflow */
	}
	pthread_join(r->thread, NULL);
	r->running = 0;
	return LT_OK;
}

enum lt_err lt_router_destroy(struct lt_router *r)
{
	if (!r)
		return LT_OK;
	/* From a route callback the router loop is still running above us: refuse. */
	if (current_router == r)
		return LT_EINVAL;
	lt_router_stop(r);
	for (size_t i = 0; i < r->nslots; i++) {
		struct lt_route *rt = r->slots[i];

		if (rt) {
			unlink_route(r, rt);
			release(r, rt);
		}
	}
	close(r->epfd);
	close(r->ctl_efd);
	free(r->slots);
	free(r->gens);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r->name);
	free(r);
	return LT_OK;
}
