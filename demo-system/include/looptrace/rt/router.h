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
 *   - an IPC route: an fd route that speaks a framing (below) over a Unix stream socket (or a
 *     pipe) to another process: the router reads whole frames and calls
 *     ipc_fn(route, data, len, info, LT_OK, arg) for each, with the ids the *sending*
 *     process gave the message (info->id, info->flow), so a component there can send to a
 *     component here and the reply goes back on the same flow; when the stream ends it calls
 *     ipc_fn(route, NULL, 0, NULL, reason, arg) once and stops watching the fd.
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
 *   lt_router_add_ipc                     | as add_fd; one route per endpoint (it is the only
 *                                         | reader of the fd)
 *   lt_ipc_send                           | any thread, concurrently (frames never interleave)
 *   lt_ipc_chan, lt_ipc_fd                | any thread
 *   lt_ipc_create/destroy                 | the owner; destroy once no send runs and the
 *                                         | endpoint's route was removed
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

/*
 * ---- IPC: messages with their ids between processes ----------------------------------------
 *
 * An IPC endpoint (struct lt_ipc) is one end of a byte stream to another process -- one side
 * of a socketpair(AF_UNIX, SOCK_STREAM), a connected Unix socket, or a pipe -- plus the trace
 * channel the messages cross. Both processes create their endpoint with the same channel name
 * (lt_channel_declare(name, 0) in each), so the analysis can show one IPC channel whose send
 * end is in one process and whose receive end is in the other.
 *
 * Wire format: each message is one frame, a 24-byte header in host byte order (both ends are on
 * one host) followed by the payload:
 *     uint32 magic (LT_IPC_MAGIC) | uint32 len (payload bytes) | uint64 msg | uint64 flow
 * `msg` is the message id the sender allocated (lt_message_new) and `flow` the flow it gave
 * (0: the message starts a flow). The receiver records the frame with the *sender's* ids:
 * recv(chan, msg), wait_end(chan, msg) when the router was idle, route_dispatch_begin(route,
 * msg); a reply sent on lt_msg_reply_flow(info) therefore carries the foreign flow.
 *
 * Framing guarantees: the sender writes a frame whole under the endpoint's lock, resuming
 * after partial writes and EINTR; the router reassembles frames across partial reads. A frame
 * is delivered exactly once, whole, in the order it was written; nothing after a framing error
 * is delivered. How a stream ends (the `end` argument of the last callback):
 *
 *   end         | cause
 *   ------------+----------------------------------------------------------------------------
 *   LT_ECLOSED  | the peer closed (or exited) between two frames: a clean end
 *   LT_EPROTO   | EOF inside a frame (the peer died mid-write), or a header with a bad magic
 *   LT_EMSGSIZE | a header announced more than LT_IPC_MAX_PAYLOAD bytes
 *   LT_ESYS     | read() failed (errno other than EINTR/EAGAIN)
 *   LT_ENOMEM   | no memory for a frame's payload (that frame and the rest are not delivered)
 *
 * Frames already complete before the end are delivered first.
 */
#define LT_IPC_MAGIC       0x3146544cu /* "LTF1" */
#define LT_IPC_HEADER      24u         /* bytes */
#define LT_IPC_MAX_PAYLOAD (1u << 20)  /* bytes: 1 MiB */

struct lt_ipc;

/*
 * An IPC route callback (router thread). For a frame: `data` (malloc'ed, owned by the
 * callback: free() it; non-NULL even when len is 0), `len` payload bytes, `info` = {sender's
 * msg id, sender's flow, this endpoint's channel id}, end = LT_OK. Once at the end: data NULL,
 * len 0, info NULL, end = why (table above); the fd is no longer watched afterwards.
 */
typedef void (*lt_route_ipc_fn)(struct lt_route *route, void *data, uint32_t len,
				const struct lt_msg_info *info, enum lt_err end, void *arg);

/*
 * lt_ipc_create - an endpoint for `fd` (not owned: close it yourself after lt_ipc_destroy),
 * carrying trace channel `chan_name` (copied; declared here with capacity 0). Sets O_NONBLOCK
 * on the fd (a full socket is waited for with poll, recorded as an LT_BLOCK_IO block). A pipe
 * works too (one direction per pipe); with a pipe a write to a closed reader raises SIGPIPE
 * unless the program ignores it (sockets use MSG_NOSIGNAL). Errors: LT_EINVAL, LT_ENOMEM,
 * LT_ESYS (fcntl failed).
 */
enum lt_err lt_ipc_create(int fd, const char *chan_name, struct lt_ipc **out);

/*
 * lt_ipc_send - sends `len` bytes at `data` (copied into the stream; the caller keeps
 * `data`) as one frame with a fresh message id (in *id_out if not NULL) on flow `flow`
 * (0: starts a flow; a reply passes lt_msg_reply_flow(info)). Records send(chan, msg, flow,
 * 0) before the first byte is written, so it precedes the peer's recv. Blocks while the
 * socket is full (an LT_BLOCK_IO block) or another thread is sending on the endpoint (an
 * LT_BLOCK_MUTEX block); never blocks forever on a live reader, but a peer that does not read
 * blocks it forever (two routers sending to each other from their callbacks can deadlock).
 * Errors: LT_EINVAL, LT_EMSGSIZE (len > LT_IPC_MAX_PAYLOAD: nothing sent), LT_ECLOSED (the
 * peer closed or exited: EPIPE/ECONNRESET), LT_ESYS. After an error in the middle of a frame
 * the stream is unusable and every later send fails with the same error. Any thread.
 */
enum lt_err lt_ipc_send(struct lt_ipc *ep, const void *data, uint32_t len, uint64_t flow,
			uint64_t *id_out);

/* lt_ipc_chan - the endpoint's trace channel id. lt_ipc_fd - its fd. Any thread. */
uint32_t lt_ipc_chan(const struct lt_ipc *ep);
int lt_ipc_fd(const struct lt_ipc *ep);

/* lt_ipc_destroy - frees the endpoint (not the fd). NULL is ignored. Owner only. */
void lt_ipc_destroy(struct lt_ipc *ep);

/*
 * lt_router_add_ipc - routes the frames arriving on endpoint `ep` (not owned; keep it until
 * the route is removed) to `ipc_fn(route, data, len, info, end, arg)` on the router thread,
 * for component `owner`. The route is the fd's only reader. Records route_add(chan of ep,
 * owner). If this fails, ipc_fn is never called. Errors: LT_EINVAL, LT_ENOMEM, LT_ESYS. Any
 * thread.
 */
enum lt_err lt_router_add_ipc(struct lt_router *r, struct lt_ipc *ep, uint32_t owner,
			      lt_route_ipc_fn ipc_fn, void *arg, struct lt_route **out);

/* lt_route_id - the route's trace id (from route_add). Any thread while the route exists. */
uint32_t lt_route_id(const struct lt_route *route);

/* lt_router_id - the router thread's component id (0 before the first start). Any thread. */
uint32_t lt_router_id(const struct lt_router *r);

#ifdef __cplusplus
}
#endif

#endif /* LOOPTRACE_RT_ROUTER_H */
