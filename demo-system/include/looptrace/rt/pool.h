/*
 * looptrace/rt/pool.h - worker pools: components as sequences, awaits, spawned tasks.
 *
 * A pool is a fixed number of worker threads. A component given a pool (lt_comp_set_pool,
 * before lt_comp_start) does not get a thread of its own: it runs as a *sequence* on the
 * pool's workers -- one message at a time, never concurrently with itself, in order, with the
 * same handlers, channels, select, ticks, router routes, stop modes and guarantees (nothing
 * lost or duplicated) as a thread component. Each sequence has its own stack (a fiber), so a
 * handler that waits -- lt_chan_recv and its _timed/_ex forms, lt_select_wait, or a send on a
 * full channel -- suspends the sequence and releases the worker to other sequences (an
 * *await*); the handler resumes where it was, possibly on another worker, when what it waits
 * for arrives. Anything else that blocks (a mutex, sleep, I/O) holds the worker: every other
 * sequence on the pool waits for it.
 *
 * Fairness: a sequence with messages queued runs up to LT_POOL_BATCH messages or about
 * LT_POOL_SLICE_NS per turn, then yields to the other ready sequences of its pool (only when
 * one is waiting), so one saturated sequence cannot starve the others.
 *
 * Spawned tasks (lt_pool_spawn): a function run once on the pool as a sequence of its own; it
 * may await like a handler. lt_pool_wait_tasks waits until every task spawned so far has
 * returned; lt_pool_destroy waits for them too.
 *
 * Stacks: each sequence and task gets an mmap'ed stack of the pool's stack size
 * (LT_POOL_DEFAULT_STACK, 64 KiB, four times that in sanitizer builds of the runtime) with a
 * guard page below it: an overflow faults at once. lt_pool_set_stack_size changes it for the
 * sequences started and tasks spawned afterwards.
 *
 * Lifecycle: lt_pool_create (starts the workers) -> lt_comp_set_pool / lt_pool_spawn ... ->
 * stop the pool's components (lt_comp_stop or lt_comp_destroy) -> lt_pool_destroy (waits for
 * the tasks, joins the workers, frees).
 *
 * Who may call what:
 *
 *   call                                   | who
 *   ---------------------------------------+--------------------------------------------------
 *   lt_pool_create, lt_pool_destroy,       | the owning thread (never a worker of the pool:
 *   lt_pool_wait_tasks                     | LT_EINVAL)
 *   lt_pool_set_stack_size                 | the owning thread
 *   lt_pool_spawn                          | any thread, including the pool's own sequences
 *   lt_comp_set_pool                       | the component's creating thread, before start
 *   lt_pool_id/name/threads/tasks          | any thread
 *
 * Ownership: the pool owns its workers and the stacks of its sequences; components stay owned
 * by their creator (stop them before destroying the pool); a task's `arg` stays the caller's
 * (the task may free it: nothing else touches it after fn returns).
 *
 * Instrumentation (liblooptrace): lt_pool_create declares the pool (lt_pool_declare); each
 * worker marks itself (lt_pool_worker_begin/end). A pooled component emits lt_seq_begin(name,
 * pool, 0) at start (no component_begin: the worker is not the component) and lt_seq_end when
 * its loop ends; a task lt_seq_begin(name, pool, LT_SEQ_TASK), its body between
 * handle_begin(0, name) and handle_end(0), then lt_seq_end. Whoever makes a sequence runnable
 * emits lt_seq_ready before the sequence can be picked up; a worker wraps each slice it runs
 * in lt_seq_run_begin/lt_seq_run_end (run_end before the sequence can be woken again). An
 * await is block_begin(chan_recv or chan_send, object, call site) .. run_end .. (ready) ..
 * run_begin .. block_end. Pooled components emit no wait_begin/wait_end: between runs they
 * are idle. See docs/runtime.md.
 */
#ifndef LOOPTRACE_RT_POOL_H
#define LOOPTRACE_RT_POOL_H

#include <stddef.h>
#include <stdint.h>

#include <looptrace/rt/comp.h>
#include <looptrace/rt/err.h>

#ifdef __cplusplus
extern "C" {
#endif

struct lt_pool;

/* Default fiber stack of a sequence or task, in bytes (plus one guard page). */
#define LT_POOL_DEFAULT_STACK (64u * 1024u)
/* Smallest stack lt_pool_set_stack_size accepts, in bytes. */
#define LT_POOL_MIN_STACK (16u * 1024u)
/* Largest stack lt_pool_set_stack_size accepts, in bytes (1 GiB). */
#define LT_POOL_MAX_STACK ((size_t)1 << 30)
/* Fairness: messages, and ns, a busy sequence runs per turn before it lets others run. */
#define LT_POOL_BATCH    32u
#define LT_POOL_SLICE_NS 100000u

/*
 * lt_pool_create - a pool named `name` (copied) with `threads` (>= 1) worker threads, started
 * before it returns. Errors: LT_EINVAL (NULLs, threads 0 or > 1024), LT_ENOMEM, LT_ESYS
 * (thread creation failed; nothing is left running).
 */
enum lt_err lt_pool_create(const char *name, unsigned threads, struct lt_pool **out);

/*
 * lt_pool_destroy - waits for every spawned task to return (tasks awaiting something that
 * never comes block it; tasks spawned by tasks meanwhile included; other threads' spawns are
 * refused from the start of the call), stops and joins the workers, frees the pool. NULL ok
 * (LT_OK). Errors: LT_EBUSY (a component set to this pool is not stopped or destroyed yet: nothing
 * changes), LT_EINVAL (called from a worker of the pool). Blocks. Owner only.
 */
enum lt_err lt_pool_destroy(struct lt_pool *pool);

/*
 * lt_pool_set_stack_size - the stack, in bytes (rounded up to pages), of sequences started
 * and tasks spawned from now on. Errors: LT_EINVAL (NULL, below LT_POOL_MIN_STACK or above
 * LT_POOL_MAX_STACK: nothing changes).
 */
enum lt_err lt_pool_set_stack_size(struct lt_pool *pool, size_t bytes);

/*
 * lt_comp_set_pool - run `comp` as a sequence on `pool` (NULL: on a thread of its own, the
 * default). Must come before lt_comp_start. The component counts as the pool's until it is
 * stopped (lt_comp_stop) or destroyed. Errors: LT_EINVAL (NULL comp, already started).
 */
enum lt_err lt_comp_set_pool(struct lt_comp *comp, struct lt_pool *pool);

/*
 * lt_pool_spawn - runs `fn(arg)` once on the pool as a task named `name` (copied; NULL:
 * "task"). The task may await (lt_chan_recv, select, sends on full channels) like a pooled
 * handler; it is done when fn returns. Errors: LT_EINVAL (NULL pool or fn; from a thread
 * other than the pool's own tasks once lt_pool_destroy has begun), LT_ENOMEM (then fn never
 * runs). A task may spawn while the pool is being destroyed: destroy waits for that task
 * too. Any thread, never blocks.
 */
enum lt_err lt_pool_spawn(struct lt_pool *pool, const char *name, void (*fn)(void *arg), void *arg);

/*
 * lt_pool_wait_tasks - blocks until every task spawned on the pool so far has returned, or
 * until `deadline_ns` (absolute, lt_rt_now_ns clock; LT_FOREVER: no limit). Errors:
 * LT_ETIMEDOUT, LT_EINVAL (NULL, called from a worker of the pool: it would hold the worker
 * a task may need). Owner.
 */
enum lt_err lt_pool_wait_tasks(struct lt_pool *pool, uint64_t deadline_ns);

/* lt_pool_id - the pool's trace id (lt_pool_declare). Any thread. */
uint32_t lt_pool_id(const struct lt_pool *pool);

/* lt_pool_name - the pool's name. Any thread. */
const char *lt_pool_name(const struct lt_pool *pool);

/* lt_pool_threads - the number of worker threads. Any thread. */
unsigned lt_pool_threads(const struct lt_pool *pool);

/* lt_pool_tasks - spawned tasks that have not returned yet. Any thread. */
size_t lt_pool_tasks(const struct lt_pool *pool);

#ifdef __cplusplus
}
#endif

#endif /* LOOPTRACE_RT_POOL_H */
