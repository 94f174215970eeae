/*
 * looptrace/rt/router.h - one thread that multiplexes many receivers ("routes").
 *
 * A router owns one thread (itself a component, named after the router) that waits with
 * epoll on every route at once and runs the route's callback on that thread for each thing
 * that arrives. A route is a receiver plus a callback:
 *   - a channel route: the router becomes the channel's receiver and calls
 *     fn(route, msg, info, arg) for each message (the callback owns msg); once the channel is
 *     closed and drained it calls fn(route, NULL, NULL, arg) once and stops watching it;
 *   - a file-descriptor route (a pipe, a socket: messages from another process, like
 *     ipc-channel's ROUTER): the router calls fd_fn(route, fd, events, info, arg) whenever
 *     the fd is readable (level-triggered: the callback must read, or remove the route). When
 *     the fd reports only hang-up or error (LT_ROUTE_HUP/LT_ROUTE_ERR without LT_ROUTE_IN)
 *     the callback runs once more and the router stops watching the fd.
 * The router never closes the fd or destroys the channel; the route's creator keeps them and
 * may release them once lt_router_remove() returned.
 *
 * Who may call what:
 *
 *   call                                  | who
 *   --------------------------------------+---------------------------------------------------
 *   lt_router_add_chan/add_fd, _remove    | any thread, any time (running or not), including
 *                                         | a route callback on the router thread
 *   lt_route_id, lt_router_id             | any thread
 *   lt_router_create/start/stop/destroy   | the owner (never the router thread)
 *
 * Removal is safe against a concurrent dispatch: when lt_router_remove() returns, the route's
 * callback is not running and will never run again. The one exception: called from within
 * the route's own callback, remove returns at once (waiting would deadlock); the running call
 * finishes, no later call is made, and the router frees the route after it returns -- so the
 * channel or fd may only be destroyed/closed once that callback has returned (not inside it).
 * Calling remove from within another route's callback is fine.
 *
 * Instrumentation: route_add(chan id or 0 for an fd, owner) when a route is added,
 * route_remove when removed, route_dispatch_begin(route, msg)/route_dispatch_end around each
 * callback (an fd dispatch gets a fresh message id), component_begin/end on the router thread
 * and wait_begin/wait_end around its epoll wait.
 */
#ifndef LOOPTRACE_RT_ROUTER_H
#define LOOPTRACE_RT_ROUTER_H

#include <stdint.h>

#include <looptrace/rt/chan.h>
#include <looptrace/rt/err.h>

#ifdef __cplusplus
extern "C" {
#endif

struct lt_router;
struct lt_route;

/* Readiness bits passed to an fd route's callback. */
#define LT_ROUTE_IN  0x1u /* readable */
#define LT_ROUTE_HUP 0x2u /* peer hung up */
#define LT_ROUTE_ERR 0x4u /* error condition */

/* A channel route callback: owns msg. msg and info are NULL once: "closed and drained". */
typedef void (*lt_route_fn)(struct lt_route *route, void *msg, const struct lt_msg_info *info,
			    void *arg);

/* An fd route callback: `fd` is ready with `events` (LT_ROUTE_*); info->id is a fresh id. */
typedef void (*lt_route_fd_fn)(struct lt_route *route, int fd, uint32_t events,
			       const struct lt_msg_info *info, void *arg);

/*
 * lt_router_create - a router named `name` (copied; the name of its thread and component) in
 * *out, not yet running. Errors: LT_EINVAL, LT_ENOMEM, LT_ESYS (epoll/eventfd failed).
 */
enum lt_err lt_router_create(const char *name, struct lt_router **out);

/*
 * lt_router_start - starts the router thread; returns once it runs. Routes added before start
 * are served from then on. Errors: LT_EBUSY (running), LT_ESYS. Owner only.
 */
enum lt_err lt_router_start(struct lt_router *r);

/*
 * lt_router_stop - ends the router loop after the running callback and joins the thread.
 * Routes stay registered (messages stay queued in their channels); start may be called
 * again. Not running: LT_OK. Errors: LT_EINVAL (from the router thread). Owner only.
 */
enum lt_err lt_router_stop(struct lt_router *r);

/*
 * lt_router_destroy - stops the router if needed, removes every remaining route (emitting
 * route_remove) and frees it. Channels and fds are left to their owners. NULL is ignored
 * (LT_OK). Errors: LT_EINVAL (called from the router thread, i.e. a route callback: nothing
 * is stopped or freed). Owner only.
 */
enum lt_err lt_router_destroy(struct lt_router *r);

/*
 * lt_router_add_chan - routes channel `ch` to `fn(route, msg, info, arg)` on the router
 * thread, on behalf of component `owner` (a trace id from lt_comp_id, or 0). The router
 * becomes the channel's receiver until the route is removed. *out (may be NULL) receives the
 * route. If this fails, fn is never called. Errors: LT_EINVAL, LT_ENOMEM, LT_ESYS. Any
 * thread.
 */
enum lt_err lt_router_add_chan(struct lt_router *r, struct lt_chan *ch, uint32_t owner,
			       lt_route_fn fn, void *arg, struct lt_route **out);

/*
 * lt_router_add_fd - routes readiness of file descriptor `fd` (not owned) to
 * `fd_fn(route, fd, events, info, arg)` on the router thread, for component `owner`.
 * Errors: LT_EINVAL, LT_ENOMEM, LT_ESYS (epoll refused the fd). Any thread.
 */
enum lt_err lt_router_add_fd(struct lt_router *r, int fd, uint32_t owner, lt_route_fd_fn fd_fn,
			     void *arg, struct lt_route **out);

/*
 * lt_router_remove - removes `route` (emits route_remove). Unless called from the route's own
 * callback, waits until a running dispatch of this route finished: afterwards the callback
 * never runs again and `route` is freed (do not use it). Messages still queued in a channel
 * route stay in the channel. Errors: LT_EINVAL (NULL). Any thread.
 */
enum lt_err lt_router_remove(struct lt_router *r, struct lt_route *route);

/* lt_route_id - the route's trace id (from route_add). Any thread while the route exists. */
uint32_t lt_route_id(const struct lt_route *route);

/* lt_router_id - the router thread's component id (0 before the first start). Any thread. */
uint32_t lt_router_id(const struct lt_router *r);

#ifdef __cplusplus
}
#endif

#endif /* LOOPTRACE_RT_ROUTER_H */
