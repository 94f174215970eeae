/*
 * preload.c - liblooptrace-preload.so: the interposer that traces where unmodified pthread
 * programs block.
 *
 * Loaded with LD_PRELOAD (`looptrace record --interpose -- CMD`), it defines the blocking
 * functions of libc (pthread mutex/condvar/rwlock/join, semaphores, sleeps, poll/select/epoll,
 * read/recv/accept/connect, waits for children and for signals), forwards each call to the next
 * definition (dlsym(RTLD_NEXT)) and, while a session enables the `looptrace_preload` events,
 * brackets the calls that actually wait with block_begin {reason, object, where} / block_end. Every
 * thread is a component named by its thread name: component_begin at start (again with the same id
 * after pthread_setname_np), component_end at exit. docs/interposer.md describes the events and the
 * limits.
 *
 * Rules that keep it safe in any process:
 *  - Calls made while no session enables the events, calls made by LTTng-UST itself and calls
 *    made while this library is already working on the thread (thread-local guard) go straight
 *    to the real function: no extra system call, no allocation, no lock.
 *  - errno is what the real function left (the library's own work saves and restores it).
 *  - A lock is counted as a block only when it would wait: the try variant runs first. A read
 *    is counted only when the descriptor has nothing to read and is in blocking mode (a poll
 *    with a zero timeout first), so regular files never count.
 *  - Real symbols are resolved lazily with dlsym(RTLD_NEXT) (so other interposers chain); the
 *    system-call wrappers fall back to the raw system call if they are re-entered while dlsym
 *    itself runs.
 *  - fork: the child keeps running with the forking thread's component, re-announced in the
 *    new process; LTTng-UST is told about the fork (as liblttng-ust-fork.so does) so thread and
 *    process ids in the child's events are re-read.
 */
#define _GNU_SOURCE
#include "looptrace-preload-tp.h"
#include "recording.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <lttng/ust-fork.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <looptrace/probes/preload-calls.h>
#include <looptrace/trace.h>

/*
 * The block reasons this interposer records: enum lt_block_reason's values, taken from the
 * header only (the library still links nothing of looptrace).
 */
enum {
	LT_PRE_MUTEX = LT_BLOCK_MUTEX,
	LT_PRE_CONDVAR = LT_BLOCK_CONDVAR,
	LT_PRE_RWLOCK = LT_BLOCK_RWLOCK,
	LT_PRE_SEM = LT_BLOCK_SEM,
	LT_PRE_SLEEP = LT_BLOCK_SLEEP,
	LT_PRE_IO = LT_BLOCK_IO,
	LT_PRE_JOIN = LT_BLOCK_JOIN,
	LT_PRE_CALL = LT_BLOCK_CALL,
};

#define LT_PRE_COMP_BIT   0x80000000u /* interposer component ids: 0x80000000 | n */
#define LT_PRE_NAME_MAX   64          /* bytes, with the terminating NUL */
#define LT_PRE_UST_RANGES 32          /* executable segments of LTTng-UST libraries */

#define LT_TLS    __thread __attribute__((tls_model("initial-exec")))
#define LT_EXPORT __attribute__((visibility("default")))

/* ---------------------------------------------------------------------------------------- */
/* per-thread state */

/* One per thread that this library has seen. */
struct lt_thr {
	pthread_t self;             /* the thread */
	uint32_t comp;              /* its component id */
	int announced;              /* atomic: component_begin emitted in this process (written
				       by the owner only) */
	int pending;                /* atomic: name changed since the last component_begin */
	int64_t said_ns;            /* CLOCK_MONOTONIC of its last component_begin (owner only) */
	int64_t say_every_ns;       /* forked child: announce again after so long (owner only) */
	char name[LT_PRE_NAME_MAX]; /* protected by reg_lock */
	struct lt_thr *next;        /* registry list, protected by reg_lock */
};

static LT_TLS int lt_guard;           /* > 0 while this library works on the thread */
static LT_TLS int lt_depth;           /* block_begin emitted and not yet ended */
static LT_TLS struct lt_thr *lt_self; /* weak: this thread's entry (owned by the registry) */
static LT_TLS int lt_exiting;         /* its entry was destroyed: make no other */
static LT_TLS int lt_resolving;       /* inside dlsym on this thread */

static struct lt_thr lt_main_thr; /* the main thread's entry (never freed) */
static struct lt_thr *reg_head;   /* every live entry */
static int reg_lock;              /* spin lock over reg_head and the names */
static uint32_t comp_counter;     /* atomic: last id handed out (low 31 bits) */
static pthread_key_t thr_key;     /* its destructor ends the thread's component */
static int lt_ready;              /* atomic: the constructor has run */
static int64_t lt_forked_ns; /* atomic: CLOCK_MONOTONIC of the fork that made this process, 0 */
static int ust_fork_wrapped; /* liblttng-ust-fork.so already tells LTTng-UST */

/* Executable segments of the LTTng-UST libraries: calls from there are never traced. */
static struct {
	uintptr_t lo, hi;
} ust_ranges[LT_PRE_UST_RANGES];
static int ust_nranges;

/* ---------------------------------------------------------------------------------------- */
/* real symbols */

/*
 * lt_sym - the next definition of `name` (version `ver` when not NULL), cached in `*slot`.
 * Returns NULL only while dlsym itself re-enters this library on this thread (bootstrap).
 */
static void *__attribute__((noinline, cold))
lt_sym_slow(void **slot, const char *name, const char *ver);

static inline void *lt_sym(void **slot, const char *name, const char *ver)
{
	void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (__builtin_expect(p != NULL, 1))
		return p;
	return lt_sym_slow(slot, name, ver);
}

/* lt_sym_slow - lt_sym's first call for a symbol: resolve it (out of line, rarely run). */
static void *lt_sym_slow(void **slot, const char *name, const char *ver)
{
	void *p;

	if (lt_resolving) /* dlsym called a wrapped function: no recursion */
		return NULL;
	int saved = errno;
	lt_guard++;
	lt_resolving = 1;
	p = ver ? dlvsym(RTLD_NEXT, name, ver) : NULL;
	if (!p)
		p = dlsym(RTLD_NEXT, name);
	lt_resolving = 0;
	lt_guard--;
	errno = saved;
	if (p)
		__atomic_store_n(slot, p, __ATOMIC_RELEASE);
	return p;
}

/* lt_missing - a pthread function could not be resolved: nothing sane is left to do. */
static void __attribute__((noreturn)) lt_missing(const char *name)
{
	static const char msg[] = "liblooptrace-preload: cannot resolve ";
	ssize_t rc = write(2, msg, sizeof msg - 1);
	rc += write(2, name, strlen(name));
	rc += write(2, "\n", 1);
	(void)rc;
	abort();
}

/*
 * LT_REAL(var, type, name, version) - a local `var` pointing at the next definition of `name`
 * (of symbol version `version` when not NULL); NULL only during the dlsym bootstrap.
 * LT_REAL_OR_DIE - the same, for functions without a system-call fallback.
 */
#define LT_REAL(var, type, name, ver)                                                              \
	static void *var##_slot;                                                                   \
	__typeof__(type) var = (type)lt_sym(&var##_slot, #name, ver)
#define LT_REAL_OR_DIE(var, type, name, ver)                                                       \
	LT_REAL(var, type, name, ver);                                                             \
	if (__builtin_expect(var == NULL, 0))                                                      \
	lt_missing(#name)

/* The real poll, used by the would-block checks (raw system call while unresolved). */
static int lt_poll0(struct pollfd *p)
{
	LT_REAL(real, int (*)(struct pollfd *, nfds_t, int), poll, NULL);
	return real ? real(p, 1, 0) : (int)syscall(SYS_poll, p, 1, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* LTTng-UST's own code */

static int ust_range_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	if (!info->dlpi_name || !strstr(info->dlpi_name, "liblttng-ust"))
		return 0;
	if (strstr(info->dlpi_name, "liblttng-ust-fork"))
		ust_fork_wrapped = 1; /* its fork() tells LTTng-UST, wherever it is in the order */
	for (int i = 0; i < info->dlpi_phnum && ust_nranges < LT_PRE_UST_RANGES; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		ust_ranges[ust_nranges].lo = info->dlpi_addr + ph->p_vaddr;
		ust_ranges[ust_nranges].hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		ust_nranges++;
	}
	return 0;
}

static int from_ust(const void *where)
{
	uintptr_t a = (uintptr_t)where;
	for (int i = 0; i < ust_nranges; i++)
		if (a >= ust_ranges[i].lo && a < ust_ranges[i].hi)
			return 1;
	return 0;
}

/*
 * lt_on - should the call made from `where` be traced? Cheap tests first: the event enabled
 * by a session, then the guard, then who calls.
 */
static inline int lt_on(const void *where)
{
	return lttng_ust_tracepoint_enabled(looptrace_preload, block_begin) && lt_guard == 0 &&
	       __atomic_load_n(&lt_ready, __ATOMIC_ACQUIRE) && !from_ust(where);
}

/* ---------------------------------------------------------------------------------------- */
/* registry */

static void reg_acquire(void)
{
	while (__atomic_exchange_n(&reg_lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void reg_release(void)
{
	__atomic_store_n(&reg_lock, 0, __ATOMIC_RELEASE);
}

static uint32_t comp_next(void)
{
	uint32_t n = __atomic_add_fetch(&comp_counter, 1, __ATOMIC_RELAXED);
	return LT_PRE_COMP_BIT | (n & ~LT_PRE_COMP_BIT);
}

static void reg_add(struct lt_thr *t)
{
	reg_acquire();
	t->next = reg_head;
	reg_head = t;
	reg_release();
}

static void reg_remove(struct lt_thr *t)
{
	reg_acquire();
	for (struct lt_thr **pp = &reg_head; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	reg_release();
}

/*
 * thr_self - this thread's entry, created on first use (NULL when out of memory). Call with
 * the guard held.
 */
static struct lt_thr *thr_self(void)
{
	if (lt_self)
		return lt_self;
	if (lt_exiting)
		return NULL;
	struct lt_thr *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->self = pthread_self();
	t->comp = comp_next();
	char comm[17] = {0};
	if (prctl(PR_GET_NAME, comm, 0, 0, 0) == 0)
		memcpy(t->name, comm, sizeof comm);
	reg_add(t);
	lt_self = t;
	pthread_setspecific(thr_key, t);
	return t;
}

#define LT_NS_PER_MS 1000000LL
#define LT_NS_PER_S  1000000000LL

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * LT_NS_PER_S + ts.tv_nsec;
}

/*
 * thread_cpu_ns - the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID, ns; 0 when it
 * cannot be read: 0 means unknown in the events).
 */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	return ns ? ns : 1;
}

/* announce - emit component_begin for `t` (this thread) if not done or if it was renamed. */
static void announce(struct lt_thr *t)
{
	if (t->announced && !__atomic_load_n(&t->pending, __ATOMIC_ACQUIRE))
		return;
	if (!lttng_ust_tracepoint_enabled(looptrace_preload, component_begin))
		return;
	char name[LT_PRE_NAME_MAX];
	reg_acquire();
	memcpy(name, t->name, sizeof name);
	__atomic_store_n(&t->pending, 0, __ATOMIC_RELEASE);
	reg_release();
	/* Never an empty string: LT_UNNAMED of looptrace/trace.h (babeltrace2 2.0 misreads it). */
	lttng_ust_tracepoint(looptrace_preload, component_begin, t->comp,
			     name[0] ? name : "(unnamed)", thread_cpu_ns());
	__atomic_store_n(&t->announced, 1, __ATOMIC_RELEASE);
	if (__atomic_load_n(&lt_forked_ns, __ATOMIC_RELAXED))
		t->said_ns = mono_ns();
}

/*
 * reannounce - in a forked child, say the component again now and then. LTTng-UST registers a
 * forked child with the session daemon in the background and drops what the child emits
 * before that: an nginx worker that blocked in epoll_wait at once lost its component_begin
 * (and was then invisible to the analysis). So a forked child's thread repeats it at the end
 * of a block, 1 ms after the last one, then 2, 4, ... up to every second, for the first
 * minute after the fork: the name lands soon after registration whenever that is, at a cost
 * of about 70 events per thread. (A repeated component_begin of the same id is a rename.)
 */
static void reannounce(struct lt_thr *t)
{
	int64_t now = mono_ns();
	if (now - __atomic_load_n(&lt_forked_ns, __ATOMIC_RELAXED) > 60 * LT_NS_PER_S) {
		__atomic_store_n(&lt_forked_ns, 0, __ATOMIC_RELAXED);
		return;
	}
	if (t->say_every_ns == 0)
		t->say_every_ns = LT_NS_PER_MS;
	if (now - t->said_ns < t->say_every_ns)
		return;
	if (t->say_every_ns < LT_NS_PER_S)
		t->say_every_ns *= 2;
	__atomic_store_n(&t->pending, 1, __ATOMIC_RELEASE);
	announce(t);
}

/* thr_end - the thread exits (key destructor): close open blocks, end its component. */
static void thr_end(void *p)
{
	struct lt_thr *t = p;
	int saved = errno;

	lt_guard++;
	for (; lt_depth > 0; lt_depth--) /* cancelled or exited while blocked */
		lttng_ust_tracepoint(looptrace_preload, block_end, thread_cpu_ns());
	if (t->announced)
		lttng_ust_tracepoint(looptrace_preload, component_end, t->comp, thread_cpu_ns());
	__atomic_store_n(&t->announced, 0, __ATOMIC_RELEASE);
	if (lt_self == t)
		lt_self = NULL;
	lt_exiting = 1; /* later key destructors may still lock: no new component */
	if (t != &lt_main_thr) {
		reg_remove(t);
		free(t);
	}
	lt_guard--;
	errno = saved;
}

/* ---------------------------------------------------------------------------------------- */
/* block events */

/*
 * block_begin - the call `call` (enum lt_preload_call) made from `where` waits for `reason` on
 * `object`. The thread's CPU time is read at block_end, not here: what runs before an
 * event's time stamp counts on its earlier side, so a reading here (one system call, a point
 * where a loaded machine preempts) would count as running what the program's own clock
 * counts as waiting; after the wait both count it as waiting.
 */
static void block_begin(uint32_t call, uint32_t reason, uint64_t object, const void *where)
{
	int saved = errno;

	lt_guard++;
	struct lt_thr *t = thr_self();
	if (t)
		announce(t);
	lt_depth++;
	lttng_ust_tracepoint(looptrace_preload, block_begin, reason, object,
			     (uint64_t)(uintptr_t)where, (uint8_t)call);
	lt_guard--;
	errno = saved;
}

static void block_end(void)
{
	int saved = errno;

	lt_guard++;
	if (__builtin_expect(__atomic_load_n(&lt_forked_ns, __ATOMIC_RELAXED) != 0, 0) && lt_self)
		reannounce(lt_self);
	if (lt_depth > 0)
		lt_depth--;
	lttng_ust_tracepoint(looptrace_preload, block_end, thread_cpu_ns());
	lt_guard--;
	errno = saved;
}

/* would_block_in - would a blocking read/accept on `fd` wait now? (no for files, errors) */
static int would_block_in(int fd)
{
	int saved = errno;
	struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
	int wait = 0;

	if (lt_poll0(&p) == 0) {
		int fl = fcntl(fd, F_GETFL);
		wait = fl >= 0 && !(fl & O_NONBLOCK);
	}
	errno = saved;
	return wait;
}

static int blocking_fd(int fd)
{
	int saved = errno;
	int fl = fcntl(fd, F_GETFL);
	errno = saved;
	return fl >= 0 && !(fl & O_NONBLOCK);
}

static int ts_nonzero(const struct timespec *ts)
{
	return !ts || ts->tv_sec != 0 || ts->tv_nsec != 0;
}

/* ---------------------------------------------------------------------------------------- */
/* threads */

struct lt_start {
	void *(*fn)(void *); /* the application's start routine */
	void *arg;
};

static void *thread_start(void *p)
{
	struct lt_start s = *(struct lt_start *)p;

	free(p);
	lt_guard++;
	struct lt_thr *t = thr_self();
	if (t)
		announce(t);
	lt_guard--;
	return s.fn(s.arg);
}

LT_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *),
			     void *arg)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real,
		       int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *),
		       pthread_create, NULL);

	if (!lttng_ust_tracepoint_enabled(looptrace_preload, component_begin) || lt_guard ||
	    !__atomic_load_n(&lt_ready, __ATOMIC_ACQUIRE) || from_ust(where))
		return real(thread, attr, start, arg);
	int saved = errno;
	struct lt_start *s = malloc(sizeof *s);
	errno = saved;
	if (!s)
		return real(thread, attr, start, arg);
	s->fn = start;
	s->arg = arg;
	int rc = real(thread, attr, thread_start, s);
	if (rc != 0)
		free(s);
	return rc;
}

LT_EXPORT int pthread_setname_np(pthread_t thread, const char *name)
{
	LT_REAL_OR_DIE(real, int (*)(pthread_t, const char *), pthread_setname_np, NULL);
	int rc = real(thread, name);

	if (rc != 0 || lt_guard || !__atomic_load_n(&lt_ready, __ATOMIC_ACQUIRE))
		return rc;
	int saved = errno;
	lt_guard++;
	int self = pthread_equal(thread, pthread_self());
	uint32_t comp = 0;
	int other_announced = 0;
	char copy[LT_PRE_NAME_MAX];
	reg_acquire();
	for (struct lt_thr *t = reg_head; t; t = t->next) {
		if (pthread_equal(t->self, thread)) {
			strncpy(t->name, name, sizeof t->name - 1);
			t->name[sizeof t->name - 1] = '\0';
			memcpy(copy, t->name, sizeof copy);
			comp = t->comp;
			other_announced = !self && __atomic_load_n(&t->announced, __ATOMIC_ACQUIRE);
			__atomic_store_n(&t->pending, 1, __ATOMIC_RELEASE);
			break;
		}
	}
	reg_release();
	if (self && lttng_ust_tracepoint_enabled(looptrace_preload, component_begin)) {
		/* Renaming itself: say so now. */
		struct lt_thr *t = thr_self();
		if (t)
			announce(t);
	} else if (other_announced) {
		/*
		 * Another thread, perhaps blocked until it exits: say it now for that thread's
		 * component. It also says it again at its next event (pending), which settles a
		 * race with its own announce.
		 */
		lttng_ust_tracepoint(looptrace_preload, component_rename, comp,
				     copy[0] ? copy : "(unnamed)");
	}
	lt_guard--;
	errno = saved;
	return rc;
}

/*
 * prctl - PR_SET_NAME renames the calling thread, as pthread_setname_np(pthread_self(), ...)
 * does: its component is renamed now. Every other option is passed through.
 */
LT_EXPORT int prctl(int option, ...)
{
	va_list ap;
	va_start(ap, option);
	unsigned long a2 = va_arg(ap, unsigned long), a3 = va_arg(ap, unsigned long);
	unsigned long a4 = va_arg(ap, unsigned long), a5 = va_arg(ap, unsigned long);
	va_end(ap);
	LT_REAL(real, int (*)(int, ...), prctl, NULL);
	int rc =
	    real ? real(option, a2, a3, a4, a5) : (int)syscall(SYS_prctl, option, a2, a3, a4, a5);

	if (option != PR_SET_NAME || rc != 0 || lt_guard ||
	    !__atomic_load_n(&lt_ready, __ATOMIC_ACQUIRE))
		return rc;
	int saved = errno;
	lt_guard++;
	struct lt_thr *t = thr_self();
	char comm[17] = {0};
	if (t && real && real(PR_GET_NAME, (unsigned long)comm, 0UL, 0UL, 0UL) == 0) {
		reg_acquire();
		memcpy(t->name, comm, sizeof comm);
		__atomic_store_n(&t->pending, 1, __ATOMIC_RELEASE);
		reg_release();
		if (lttng_ust_tracepoint_enabled(looptrace_preload, component_begin))
			announce(t);
	}
	lt_guard--;
	errno = saved;
	return rc;
}

LT_EXPORT int pthread_join(pthread_t thread, void **ret)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(pthread_t, void **), pthread_join, NULL);

	if (!lt_on(where))
		return real(thread, ret);
	LT_REAL_OR_DIE(try, int (*)(pthread_t, void **), pthread_tryjoin_np, NULL);
	int rc = try(thread, ret);
	if (rc != EBUSY)
		return rc;
	block_begin(LT_CALL_pthread_join, LT_PRE_JOIN, (uint64_t)thread, where);
	rc = real(thread, ret);
	block_end();
	return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* locks */

/*
 * LT_TRY_THEN_BLOCK - try first (try_type/try_name: the real try function, resolved only
 * once the call is traced, so an untraced call costs the enabled test alone); a block only
 * when the try reports EBUSY.
 */
#define LT_TRY_THEN_BLOCK(callid, reason, obj, try_type, try_name, try_call, call)                 \
	do {                                                                                       \
		if (!lt_on(where))                                                                 \
			return call;                                                               \
		LT_REAL_OR_DIE(try, try_type, try_name, NULL);                                     \
		int rc_ = try_call;                                                                \
		if (rc_ != EBUSY)                                                                  \
			return rc_;                                                                \
		block_begin(callid, reason, (uint64_t)(uintptr_t)(obj), where);                    \
		rc_ = call;                                                                        \
		block_end();                                                                       \
		return rc_;                                                                        \
	} while (0)

LT_EXPORT int pthread_timedjoin_np(pthread_t thread, void **ret, const struct timespec *abstime)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(pthread_t, void **, const struct timespec *),
		       pthread_timedjoin_np, NULL);
	LT_TRY_THEN_BLOCK(LT_CALL_pthread_timedjoin_np, LT_PRE_JOIN, thread,
			  int (*)(pthread_t, void **), pthread_tryjoin_np, try(thread, ret),
			  real(thread, ret, abstime));
}

LT_EXPORT int pthread_clockjoin_np(pthread_t thread, void **ret, clockid_t clk,
				   const struct timespec *abstime)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(pthread_t, void **, clockid_t, const struct timespec *),
		       pthread_clockjoin_np, NULL);
	LT_TRY_THEN_BLOCK(LT_CALL_pthread_clockjoin_np, LT_PRE_JOIN, thread,
			  int (*)(pthread_t, void **), pthread_tryjoin_np, try(thread, ret),
			  real(thread, ret, clk, abstime));
}

LT_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(pthread_mutex_t *), pthread_mutex_lock, NULL);
	LT_TRY_THEN_BLOCK(LT_CALL_pthread_mutex_lock, LT_PRE_MUTEX, m, int (*)(pthread_mutex_t *),
			  pthread_mutex_trylock, try(m), real(m));
}

LT_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(pthread_mutex_t *, const struct timespec *),
		       pthread_mutex_timedlock, NULL);
	LT_TRY_THEN_BLOCK(LT_CALL_pthread_mutex_timedlock, LT_PRE_MUTEX, m,
			  int (*)(pthread_mutex_t *), pthread_mutex_trylock, try(m),
			  real(m, abstime));
}

LT_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk,
				      const struct timespec *abstime)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(pthread_mutex_t *, clockid_t, const struct timespec *),
		       pthread_mutex_clocklock, NULL);
	LT_TRY_THEN_BLOCK(LT_CALL_pthread_mutex_clocklock, LT_PRE_MUTEX, m,
			  int (*)(pthread_mutex_t *), pthread_mutex_trylock, try(m),
			  real(m, clk, abstime));
}

LT_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(pthread_rwlock_t *), pthread_rwlock_rdlock, NULL);
	LT_TRY_THEN_BLOCK(LT_CALL_pthread_rwlock_rdlock, LT_PRE_RWLOCK, l,
			  int (*)(pthread_rwlock_t *), pthread_rwlock_tryrdlock, try(l), real(l));
}

LT_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(pthread_rwlock_t *), pthread_rwlock_wrlock, NULL);
	LT_TRY_THEN_BLOCK(LT_CALL_pthread_rwlock_wrlock, LT_PRE_RWLOCK, l,
			  int (*)(pthread_rwlock_t *), pthread_rwlock_trywrlock, try(l), real(l));
}

LT_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *abstime)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(pthread_rwlock_t *, const struct timespec *),
		       pthread_rwlock_timedrdlock, NULL);
	LT_TRY_THEN_BLOCK(LT_CALL_pthread_rwlock_timedrdlock, LT_PRE_RWLOCK, l,
			  int (*)(pthread_rwlock_t *), pthread_rwlock_tryrdlock, try(l),
			  real(l, abstime));
}

LT_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *abstime)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(pthread_rwlock_t *, const struct timespec *),
		       pthread_rwlock_timedwrlock, NULL);
	LT_TRY_THEN_BLOCK(LT_CALL_pthread_rwlock_timedwrlock, LT_PRE_RWLOCK, l,
			  int (*)(pthread_rwlock_t *), pthread_rwlock_trywrlock, try(l),
			  real(l, abstime));
}

LT_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t clk,
					 const struct timespec *abstime)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(pthread_rwlock_t *, clockid_t, const struct timespec *),
		       pthread_rwlock_clockrdlock, NULL);
	LT_TRY_THEN_BLOCK(LT_CALL_pthread_rwlock_clockrdlock, LT_PRE_RWLOCK, l,
			  int (*)(pthread_rwlock_t *), pthread_rwlock_tryrdlock, try(l),
			  real(l, clk, abstime));
}

LT_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t clk,
					 const struct timespec *abstime)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(pthread_rwlock_t *, clockid_t, const struct timespec *),
		       pthread_rwlock_clockwrlock, NULL);
	LT_TRY_THEN_BLOCK(LT_CALL_pthread_rwlock_clockwrlock, LT_PRE_RWLOCK, l,
			  int (*)(pthread_rwlock_t *), pthread_rwlock_trywrlock, try(l),
			  real(l, clk, abstime));
}

/* Condition variables: the default version, not the pre-NPTL compatibility one. */
LT_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(pthread_cond_t *, pthread_mutex_t *), pthread_cond_wait,
		       "GLIBC_2.3.2");

	if (!lt_on(where))
		return real(c, m);
	block_begin(LT_CALL_pthread_cond_wait, LT_PRE_CONDVAR, (uint64_t)(uintptr_t)c, where);
	int rc = real(c, m);
	block_end();
	return rc;
}

LT_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
				     const struct timespec *abstime)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *),
		       pthread_cond_timedwait, "GLIBC_2.3.2");

	if (!lt_on(where))
		return real(c, m, abstime);
	block_begin(LT_CALL_pthread_cond_timedwait, LT_PRE_CONDVAR, (uint64_t)(uintptr_t)c, where);
	int rc = real(c, m, abstime);
	block_end();
	return rc;
}

LT_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
				     const struct timespec *abstime)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(
	    real, int (*)(pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *),
	    pthread_cond_clockwait, NULL);

	if (!lt_on(where))
		return real(c, m, clk, abstime);
	block_begin(LT_CALL_pthread_cond_clockwait, LT_PRE_CONDVAR, (uint64_t)(uintptr_t)c, where);
	int rc = real(c, m, clk, abstime);
	block_end();
	return rc;
}

/* Semaphores: sem_trywait first; a block only when it fails with EAGAIN. */
#define LT_SEM_WRAPPER(callid, call)                                                               \
	do {                                                                                       \
		if (!lt_on(where))                                                                 \
			return call;                                                               \
		LT_REAL_OR_DIE(try, int (*)(sem_t *), sem_trywait, NULL);                          \
		int saved_ = errno;                                                                \
		if (try(s) == 0)                                                                   \
			return 0;                                                                  \
		if (errno != EAGAIN)                                                               \
			return -1;                                                                 \
		errno = saved_;                                                                    \
		block_begin(callid, LT_PRE_SEM, (uint64_t)(uintptr_t)s, where);                    \
		int rc_ = call;                                                                    \
		block_end();                                                                       \
		return rc_;                                                                        \
	} while (0)

LT_EXPORT int sem_wait(sem_t *s)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(sem_t *), sem_wait, NULL);
	LT_SEM_WRAPPER(LT_CALL_sem_wait, real(s));
}

LT_EXPORT int sem_timedwait(sem_t *s, const struct timespec *abstime)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(sem_t *, const struct timespec *), sem_timedwait, NULL);
	LT_SEM_WRAPPER(LT_CALL_sem_timedwait, real(s, abstime));
}

LT_EXPORT int sem_clockwait(sem_t *s, clockid_t clk, const struct timespec *abstime)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(sem_t *, clockid_t, const struct timespec *), sem_clockwait,
		       NULL);
	LT_SEM_WRAPPER(LT_CALL_sem_clockwait, real(s, clk, abstime));
}

/* ---------------------------------------------------------------------------------------- */
/* sleeps */

LT_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
	const void *where = __builtin_return_address(0);
	LT_REAL(real, int (*)(const struct timespec *, struct timespec *), nanosleep, NULL);

	if (!real)
		return (int)syscall(SYS_nanosleep, req, rem);
	if (!req || !ts_nonzero(req) || !lt_on(where))
		return real(req, rem);
	block_begin(LT_CALL_nanosleep, LT_PRE_SLEEP, 0, where);
	int rc = real(req, rem);
	block_end();
	return rc;
}

LT_EXPORT int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
			      struct timespec *rem)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(clockid_t, int, const struct timespec *, struct timespec *),
		       clock_nanosleep, NULL);

	if (!req || (!(flags & TIMER_ABSTIME) && !ts_nonzero(req)) || !lt_on(where))
		return real(clk, flags, req, rem);
	block_begin(LT_CALL_clock_nanosleep, LT_PRE_SLEEP, 0, where);
	int rc = real(clk, flags, req, rem);
	block_end();
	return rc;
}

LT_EXPORT int usleep(useconds_t us)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(useconds_t), usleep, NULL);

	if (us == 0 || !lt_on(where))
		return real(us);
	block_begin(LT_CALL_usleep, LT_PRE_SLEEP, 0, where);
	int rc = real(us);
	block_end();
	return rc;
}

LT_EXPORT unsigned int sleep(unsigned int s)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, unsigned int (*)(unsigned int), sleep, NULL);

	if (s == 0 || !lt_on(where))
		return real(s);
	block_begin(LT_CALL_sleep, LT_PRE_SLEEP, 0, where);
	unsigned int rc = real(s);
	block_end();
	return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* descriptor waits: a block unless the timeout is zero; no descriptor at all is a sleep */

static int poll_common(const void *where, struct pollfd *fds, nfds_t n, int timeout,
		       int (*real)(struct pollfd *, nfds_t, int))
{
	if (timeout == 0 || !lt_on(where))
		return real(fds, n, timeout);
	block_begin(LT_CALL_poll, n ? LT_PRE_IO : LT_PRE_SLEEP,
		    n ? (uint64_t)(int64_t)fds[0].fd : 0, where);
	int rc = real(fds, n, timeout);
	block_end();
	return rc;
}

LT_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	const void *where = __builtin_return_address(0);
	LT_REAL(real, int (*)(struct pollfd *, nfds_t, int), poll, NULL);

	if (!real)
		return (int)syscall(SYS_poll, fds, n, timeout);
	return poll_common(where, fds, n, timeout, real);
}

/* The _FORTIFY_SOURCE entry point that programs built with it call instead of poll. */
LT_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);
LT_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(struct pollfd *, nfds_t, int, size_t), __poll_chk, NULL);

	if (timeout == 0 || !lt_on(where))
		return real(fds, n, timeout, fdslen);
	block_begin(LT_CALL_poll, n ? LT_PRE_IO : LT_PRE_SLEEP,
		    n ? (uint64_t)(int64_t)fds[0].fd : 0, where);
	int rc = real(fds, n, timeout, fdslen);
	block_end();
	return rc;
}

LT_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real,
		       int (*)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *),
		       ppoll, NULL);

	if (!ts_nonzero(ts) || !lt_on(where))
		return real(fds, n, ts, mask);
	block_begin(LT_CALL_ppoll, n ? LT_PRE_IO : LT_PRE_SLEEP,
		    n ? (uint64_t)(int64_t)fds[0].fd : 0, where);
	int rc = real(fds, n, ts, mask);
	block_end();
	return rc;
}

LT_EXPORT int select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	const void *where = __builtin_return_address(0);
	LT_REAL(real, int (*)(int, fd_set *, fd_set *, fd_set *, struct timeval *), select, NULL);

	if (!real)
		return (int)syscall(SYS_select, n, r, w, e, tv);
	if ((tv && tv->tv_sec == 0 && tv->tv_usec == 0) || !lt_on(where))
		return real(n, r, w, e, tv);
	block_begin(LT_CALL_select, n > 0 ? LT_PRE_IO : LT_PRE_SLEEP,
		    (uint64_t)(int64_t)(n > 0 ? n - 1 : 0), where);
	int rc = real(n, r, w, e, tv);
	block_end();
	return rc;
}

LT_EXPORT int pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts,
		      const sigset_t *mask)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(
	    real,
	    int (*)(int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *),
	    pselect, NULL);

	if (!ts_nonzero(ts) || !lt_on(where))
		return real(n, r, w, e, ts, mask);
	block_begin(LT_CALL_pselect, n > 0 ? LT_PRE_IO : LT_PRE_SLEEP,
		    (uint64_t)(int64_t)(n > 0 ? n - 1 : 0), where);
	int rc = real(n, r, w, e, ts, mask);
	block_end();
	return rc;
}

LT_EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout,
			  const sigset_t *mask)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(int, struct epoll_event *, int, int, const sigset_t *),
		       epoll_pwait, NULL);

	if (timeout == 0 || !lt_on(where))
		return real(epfd, ev, max, timeout, mask);
	block_begin(LT_CALL_epoll_pwait, LT_PRE_IO, (uint64_t)(int64_t)epfd, where);
	int rc = real(epfd, ev, max, timeout, mask);
	block_end();
	return rc;
}

LT_EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(int, struct epoll_event *, int, int), epoll_wait, NULL);

	if (timeout == 0 || !lt_on(where))
		return real(epfd, ev, max, timeout);
	block_begin(LT_CALL_epoll_wait, LT_PRE_IO, (uint64_t)(int64_t)epfd, where);
	int rc = real(epfd, ev, max, timeout);
	block_end();
	return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* descriptor I/O: a block only when the descriptor would make the call wait */

LT_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	const void *where = __builtin_return_address(0);
	LT_REAL(real, ssize_t(*)(int, void *, size_t), read, NULL);

	if (!real)
		return syscall(SYS_read, fd, buf, len);
	if (!lt_on(where) || !would_block_in(fd))
		return real(fd, buf, len);
	block_begin(LT_CALL_read, LT_PRE_IO, (uint64_t)(int64_t)fd, where);
	ssize_t rc = real(fd, buf, len);
	block_end();
	return rc;
}

LT_EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen);
LT_EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, ssize_t(*)(int, void *, size_t, size_t), __read_chk, NULL);

	if (!lt_on(where) || !would_block_in(fd))
		return real(fd, buf, len, buflen);
	block_begin(LT_CALL_read, LT_PRE_IO, (uint64_t)(int64_t)fd, where);
	ssize_t rc = real(fd, buf, len, buflen);
	block_end();
	return rc;
}

LT_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, ssize_t(*)(int, void *, size_t, int), recv, NULL);

	if ((flags & MSG_DONTWAIT) || !lt_on(where) || !would_block_in(fd))
		return real(fd, buf, len, flags);
	block_begin(LT_CALL_recv, LT_PRE_IO, (uint64_t)(int64_t)fd, where);
	ssize_t rc = real(fd, buf, len, flags);
	block_end();
	return rc;
}

LT_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
LT_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, ssize_t(*)(int, void *, size_t, size_t, int), __recv_chk, NULL);

	if ((flags & MSG_DONTWAIT) || !lt_on(where) || !would_block_in(fd))
		return real(fd, buf, len, buflen, flags);
	block_begin(LT_CALL_recv, LT_PRE_IO, (uint64_t)(int64_t)fd, where);
	ssize_t rc = real(fd, buf, len, buflen, flags);
	block_end();
	return rc;
}

LT_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
			   socklen_t *fromlen)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, ssize_t(*)(int, void *, size_t, int, struct sockaddr *, socklen_t *),
		       recvfrom, NULL);

	if ((flags & MSG_DONTWAIT) || !lt_on(where) || !would_block_in(fd))
		return real(fd, buf, len, flags, from, fromlen);
	block_begin(LT_CALL_recvfrom, LT_PRE_IO, (uint64_t)(int64_t)fd, where);
	ssize_t rc = real(fd, buf, len, flags, from, fromlen);
	block_end();
	return rc;
}

LT_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, ssize_t(*)(int, struct msghdr *, int), recvmsg, NULL);

	if ((flags & MSG_DONTWAIT) || !lt_on(where) || !would_block_in(fd))
		return real(fd, msg, flags);
	block_begin(LT_CALL_recvmsg, LT_PRE_IO, (uint64_t)(int64_t)fd, where);
	ssize_t rc = real(fd, msg, flags);
	block_end();
	return rc;
}

LT_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *alen, int flags)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(int, struct sockaddr *, socklen_t *, int), accept4, NULL);

	if (!lt_on(where) || !would_block_in(fd))
		return real(fd, addr, alen, flags);
	block_begin(LT_CALL_accept4, LT_PRE_IO, (uint64_t)(int64_t)fd, where);
	int rc = real(fd, addr, alen, flags);
	block_end();
	return rc;
}

LT_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *alen)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(int, struct sockaddr *, socklen_t *), accept, NULL);

	if (!lt_on(where) || !would_block_in(fd))
		return real(fd, addr, alen);
	block_begin(LT_CALL_accept, LT_PRE_IO, (uint64_t)(int64_t)fd, where);
	int rc = real(fd, addr, alen);
	block_end();
	return rc;
}

LT_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t alen)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(int, const struct sockaddr *, socklen_t), connect, NULL);

	if (!lt_on(where) || !blocking_fd(fd))
		return real(fd, addr, alen);
	block_begin(LT_CALL_connect, LT_PRE_IO, (uint64_t)(int64_t)fd, where);
	int rc = real(fd, addr, alen);
	block_end();
	return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* children: reason `join` (a process's end, as pthread_join waits for a thread's), object the
 * pid argument. Try first with WNOHANG: a block only when a child exists and none has changed
 * state yet; WNOHANG calls are never blocks. */

/*
 * wait_try - the WNOHANG probe of a blocking waitpid/wait4: 1 when it must block (the probe
 * returned 0 and errno is restored), 0 when `*rc` is the call's result already (a reaped child
 * or an error, exactly what the blocking call would have returned).
 */
static int wait_try(pid_t pid, int *status, int options, struct rusage *ru, pid_t *rc)
{
	LT_REAL_OR_DIE(w4, pid_t(*)(pid_t, int *, int, struct rusage *), wait4, NULL);
	int saved = errno;
	*rc = w4(pid, status, options | WNOHANG, ru);
	if (*rc != 0)
		return 0;
	errno = saved;
	return 1;
}

LT_EXPORT pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, pid_t(*)(pid_t, int *, int, struct rusage *), wait4, NULL);
	pid_t rc;

	if ((options & WNOHANG) || !lt_on(where))
		return real(pid, status, options, ru);
	if (!wait_try(pid, status, options, ru, &rc))
		return rc;
	block_begin(LT_CALL_wait4, LT_PRE_JOIN, (uint64_t)(int64_t)pid, where);
	rc = real(pid, status, options, ru);
	block_end();
	return rc;
}

LT_EXPORT pid_t waitpid(pid_t pid, int *status, int options)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, pid_t(*)(pid_t, int *, int), waitpid, NULL);
	pid_t rc;

	if ((options & WNOHANG) || !lt_on(where))
		return real(pid, status, options);
	if (!wait_try(pid, status, options, NULL, &rc))
		return rc;
	block_begin(LT_CALL_waitpid, LT_PRE_JOIN, (uint64_t)(int64_t)pid, where);
	rc = real(pid, status, options);
	block_end();
	return rc;
}

LT_EXPORT pid_t wait(int *status)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, pid_t(*)(int *), wait, NULL);
	pid_t rc;

	if (!lt_on(where))
		return real(status);
	if (!wait_try(-1, status, 0, NULL, &rc))
		return rc;
	block_begin(LT_CALL_wait, LT_PRE_JOIN, (uint64_t)(int64_t)-1, where);
	rc = real(status);
	block_end();
	return rc;
}

LT_EXPORT int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(idtype_t, id_t, siginfo_t *, int), waitid, NULL);

	if ((options & WNOHANG) || !info || !lt_on(where))
		return real(idtype, id, info, options);
	/* The probe: with WNOHANG, si_pid stays 0 when no child has changed state. */
	int saved = errno;
	info->si_pid = 0;
	int rc = real(idtype, id, info, options | WNOHANG);
	if (rc != 0 || info->si_pid != 0)
		return rc;
	errno = saved;
	block_begin(LT_CALL_waitid, LT_PRE_JOIN,
		    idtype == P_ALL ? (uint64_t)(int64_t)-1 : (uint64_t)id, where);
	rc = real(idtype, id, info, options);
	block_end();
	return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* signals: reason `call` (no descriptor, no timer, no lock: a wait for another party), object
 * 0. The sigwait family tries first with a zero-timeout sigtimedwait, which takes a pending
 * signal exactly as the blocking call would: a block only when none is pending. A zero
 * timeout is never a block. pause and sigsuspend always wait (until a handled signal). */

static const struct timespec lt_zero_ts = {0, 0};

/*
 * sig_try - the zero-timeout probe of a blocking sigwait/sigwaitinfo/sigtimedwait: the signal
 * taken (> 0), 0 when none is pending (errno restored: block), -1 on another error (errno
 * set: the caller returns what the real call gives).
 */
static int sig_try(const sigset_t *set, siginfo_t *info)
{
	LT_REAL_OR_DIE(tw, int (*)(const sigset_t *, siginfo_t *, const struct timespec *),
		       sigtimedwait, NULL);
	int saved = errno;
	int rc = tw(set, info, &lt_zero_ts);
	if (rc > 0)
		return rc;
	if (errno == EAGAIN) {
		errno = saved;
		return 0;
	}
	errno = saved;
	return -1;
}

LT_EXPORT int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *ts)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(const sigset_t *, siginfo_t *, const struct timespec *),
		       sigtimedwait, NULL);

	if (!ts_nonzero(ts) || !lt_on(where))
		return real(set, info, ts);
	int rc = sig_try(set, info);
	if (rc > 0)
		return rc;
	if (rc < 0)
		return real(set, info, ts);
	block_begin(LT_CALL_sigtimedwait, LT_PRE_CALL, 0, where);
	rc = real(set, info, ts);
	block_end();
	return rc;
}

LT_EXPORT int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(const sigset_t *, siginfo_t *), sigwaitinfo, NULL);

	if (!lt_on(where))
		return real(set, info);
	int rc = sig_try(set, info);
	if (rc > 0)
		return rc;
	if (rc < 0)
		return real(set, info);
	block_begin(LT_CALL_sigwaitinfo, LT_PRE_CALL, 0, where);
	rc = real(set, info);
	block_end();
	return rc;
}

LT_EXPORT int sigwait(const sigset_t *set, int *sig)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(const sigset_t *, int *), sigwait, NULL);

	if (!lt_on(where))
		return real(set, sig);
	int rc = sig_try(set, NULL);
	if (rc > 0) {
		*sig = rc;
		return 0;
	}
	if (rc < 0)
		return real(set, sig);
	block_begin(LT_CALL_sigwait, LT_PRE_CALL, 0, where);
	rc = real(set, sig);
	block_end();
	return rc;
}

LT_EXPORT int sigsuspend(const sigset_t *mask)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(const sigset_t *), sigsuspend, NULL);

	if (!lt_on(where))
		return real(mask);
	block_begin(LT_CALL_sigsuspend, LT_PRE_CALL, 0, where);
	int rc = real(mask);
	block_end();
	return rc;
}

LT_EXPORT int pause(void)
{
	const void *where = __builtin_return_address(0);
	LT_REAL_OR_DIE(real, int (*)(void), pause, NULL);

	if (!lt_on(where))
		return real();
	block_begin(LT_CALL_pause, LT_PRE_CALL, 0, where);
	int rc = real();
	block_end();
	return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* fork */

/* In the child only the forking thread runs: forget the others, announce again. */
static void after_fork_child(void)
{
	reg_lock = 0;
	reg_head = NULL;
	if (lt_self) {
		lt_self->next = NULL;
		reg_head = lt_self;
		lt_self->self = pthread_self();
		lt_self->announced = 0;
	}
	lt_depth = 0;
	if (lt_self)
		lt_self->say_every_ns = 0;
	__atomic_store_n(&lt_forked_ns, mono_ns(), __ATOMIC_RELAXED);
}

LT_EXPORT pid_t fork(void)
{
	LT_REAL_OR_DIE(real, pid_t(*)(void), fork, NULL);
	int tell_ust = !ust_fork_wrapped && __atomic_load_n(&lt_ready, __ATOMIC_ACQUIRE);
	sigset_t sigset;

	if (tell_ust)
		lttng_ust_before_fork(&sigset);
	pid_t pid = real();
	int saved = errno;
	if (pid == 0) {
		after_fork_child();
		if (tell_ust)
			lttng_ust_after_fork_child(&sigset);
	} else if (tell_ust) {
		lttng_ust_after_fork_parent(&sigset);
	}
	errno = saved;
	return pid;
}

/* ---------------------------------------------------------------------------------------- */
/* load and unload */

/* Runs after tp.c's provider registration (link order), on the main thread. */
static void __attribute__((constructor)) lt_preload_init(void)
{
	int saved = errno;

	lt_guard++;
	lt__recording_register(); /* before the first event: `record`'s filter reads it */
	dl_iterate_phdr(ust_range_cb, NULL);
	pthread_key_create(&thr_key, thr_end);
	lt_main_thr.self = pthread_self();
	lt_main_thr.comp = comp_next();
	strncpy(lt_main_thr.name, program_invocation_short_name, sizeof lt_main_thr.name - 1);
	reg_add(&lt_main_thr);
	lt_self = &lt_main_thr;
	pthread_setspecific(thr_key, &lt_main_thr);
	__atomic_store_n(&lt_ready, 1, __ATOMIC_RELEASE);
	announce(&lt_main_thr);
	lt_guard--;
	errno = saved;
}

/* At exit, on the thread calling exit(): end the main thread's component. */
static void __attribute__((destructor)) lt_preload_fini(void)
{
	if (lt_self == &lt_main_thr && lt_main_thr.announced) {
		int saved = errno;
		lt_guard++;
		for (; lt_depth > 0; lt_depth--)
			lttng_ust_tracepoint(looptrace_preload, block_end, thread_cpu_ns());
		lttng_ust_tracepoint(looptrace_preload, component_end, lt_main_thr.comp,
				     thread_cpu_ns());
		lt_main_thr.announced = 0;
		lt_guard--;
		errno = saved;
	}
}
