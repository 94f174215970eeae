/*
 * preload-calls.h - the wrapped calls of the interposer (liblooptrace-preload.so), as the
 * `call` field of its block_begin event names them. One list shared by the interposer (which
 * writes the ids) and the analysis core (which names them and ranks them as loop tops); the
 * numbers are part of the trace format (docs/interposer.md): never renumber, only append.
 *
 * LT_PRELOAD_CALL(id, name, class): `class` ranks the call as the wait at the top of a loop
 * (docs/interposer.md, "Loop tops"): 4 a descriptor multiplexer (an event loop's wait),
 * 3 a wait for another thread's work or a signal (a worker's job queue), 2 a wait on one
 * descriptor or child (a reader, an acceptor, a reaper), 1 a sleep (a polling loop), 0 never
 * a loop top (locks, joins, connect). The `_chk` entry points record the plain call's id.
 */
#ifndef LOOPTRACE_PRELOAD_CALLS_H
#define LOOPTRACE_PRELOAD_CALLS_H

/* clang-format off */
#define LT_PRELOAD_CALLS(X)                                                                        \
	X(0, unknown, 0)                                                                           \
	X(1, pthread_mutex_lock, 0)                                                                \
	X(2, pthread_mutex_timedlock, 0)                                                           \
	X(3, pthread_mutex_clocklock, 0)                                                           \
	X(4, pthread_cond_wait, 3)                                                                 \
	X(5, pthread_cond_timedwait, 3)                                                            \
	X(6, pthread_cond_clockwait, 3)                                                            \
	X(7, pthread_rwlock_rdlock, 0)                                                             \
	X(8, pthread_rwlock_wrlock, 0)                                                             \
	X(9, pthread_rwlock_timedrdlock, 0)                                                        \
	X(10, pthread_rwlock_timedwrlock, 0)                                                       \
	X(11, pthread_rwlock_clockrdlock, 0)                                                       \
	X(12, pthread_rwlock_clockwrlock, 0)                                                       \
	X(13, sem_wait, 3)                                                                         \
	X(14, sem_timedwait, 3)                                                                    \
	X(15, sem_clockwait, 3)                                                                    \
	X(16, nanosleep, 1)                                                                        \
	X(17, clock_nanosleep, 1)                                                                  \
	X(18, usleep, 1)                                                                           \
	X(19, sleep, 1)                                                                            \
	X(20, poll, 4)                                                                             \
	X(21, ppoll, 4)                                                                            \
	X(22, select, 4)                                                                           \
	X(23, pselect, 4)                                                                          \
	X(24, epoll_wait, 4)                                                                       \
	X(25, epoll_pwait, 4)                                                                      \
	X(26, read, 2)                                                                             \
	X(27, recv, 2)                                                                             \
	X(28, recvfrom, 2)                                                                         \
	X(29, recvmsg, 2)                                                                          \
	X(30, accept, 2)                                                                           \
	X(31, accept4, 2)                                                                          \
	X(32, connect, 0)                                                                          \
	X(33, pthread_join, 0)                                                                     \
	X(34, pthread_timedjoin_np, 0)                                                             \
	X(35, pthread_clockjoin_np, 0)                                                             \
	X(36, waitpid, 2)                                                                          \
	X(37, wait, 2)                                                                             \
	X(38, wait4, 2)                                                                            \
	X(39, waitid, 2)                                                                           \
	X(40, sigwait, 3)                                                                          \
	X(41, sigwaitinfo, 3)                                                                      \
	X(42, sigtimedwait, 3)                                                                     \
	X(43, sigsuspend, 3)                                                                       \
	X(44, pause, 3)
/* clang-format on */

#define LT_PRELOAD_CALL_ENUM(id, name, cls) LT_CALL_##name = id,
enum lt_preload_call { LT_PRELOAD_CALLS(LT_PRELOAD_CALL_ENUM) LT_CALL_COUNT };
#undef LT_PRELOAD_CALL_ENUM

#endif /* LOOPTRACE_PRELOAD_CALLS_H */
