/*
 * looptrace/rt/rt.h - everything of liblooptrace-rt, the looptrace component runtime:
 * channels (chan.h), select (select.h), components (comp.h), the router (router.h), pools of
 * sequences (pool.h), errors (err.h) and time (clock.h). See docs/runtime.md.
 */
#ifndef LOOPTRACE_RT_RT_H
#define LOOPTRACE_RT_RT_H

#include <looptrace/rt/err.h>
#include <looptrace/rt/clock.h>
#include <looptrace/rt/chan.h>
#include <looptrace/rt/select.h>
#include <looptrace/rt/comp.h>
#include <looptrace/rt/router.h>
#include <looptrace/rt/pool.h>

#endif /* LOOPTRACE_RT_RT_H */
