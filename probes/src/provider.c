/*
 * provider.c - the `looptrace` LTTng-UST tracepoint provider (the probe callbacks).
 *
 * Built twice from this one file: liblooptrace-probes.so (preload, or dlopen) and
 * liblooptrace-probes.a (linked into a program so tracing is always available). When both are
 * in one process, the copy that loads first registers with LTTng-UST and the others stand down
 * with one warning on stderr, so each event is recorded once (see registry.h).
 * Setting LOOPTRACE_PROBES_ALLOW_DUPLICATES=1 disables that guard (to show the doubling).
 */
#define _GNU_SOURCE
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#include "looptrace/probes/looptrace-tp.h"

#include "registry.h"
#include "recording.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

/* Every copy exports a registry; all copies use the first one found in the global scope. */
__attribute__((visibility("default"))) struct lt__probes_registry lt__probes_registry;

static struct lt__probes_registry *registry; /* weak: the one this copy counts in */
static int stood_down;                       /* this copy did not register */

static struct lt__probes_registry *find_registry(void)
{
	struct lt__probes_registry *r = dlsym(RTLD_DEFAULT, LT_PROBES_REGISTRY_SYMBOL);

	/* A program that links this copy statically does not export it: count in our own. */
	return r ? r : &lt__probes_registry;
}

/*
 * loaded_count - adds `delta` to liblooptrace's count of registered providers (the inline
 * fast path of lt_send/lt_recv reads it), when liblooptrace is in the process.
 */
static void loaded_count(int delta)
{
	int *n = dlsym(RTLD_DEFAULT, "lt__probes_loaded");

	if (n)
		__atomic_fetch_add(n, delta, __ATOMIC_RELAXED);
}

/*
 * lt_probes_claim - runs before the generated registration constructor of this object (priority
 * constructors run before plain ones). If another copy already counted itself, raise this copy's
 * generated registration refcount so the generated constructor and destructor do nothing.
 */
static void lt_probes_claim(void) __attribute__((constructor(101)));
static void lt_probes_claim(void)
{
	const char *allow = getenv("LOOPTRACE_PROBES_ALLOW_DUPLICATES");

	lt__recording_register();
	registry = find_registry();
	if (atomic_fetch_add(&registry->instances, 1) == 0 || (allow && allow[0] == '1')) {
		atomic_fetch_add(&registry->registered, 1);
		loaded_count(1);
		return;
	}
	stood_down = 1;
	lttng_ust__probe_register_refcount___looptrace++;
	if (!atomic_exchange(&registry->warned, 1))
		fprintf(stderr,
			"looptrace: warning: the looptrace probes are both linked into this "
			"program and preloaded; using one copy (each event is recorded "
			"once)\n");
}

static void lt_probes_release(void) __attribute__((destructor(101)));
static void lt_probes_release(void)
{
	if (!registry)
		return;
	if (stood_down) {
		lttng_ust__probe_register_refcount___looptrace--;
	} else {
		atomic_fetch_sub(&registry->registered, 1);
		loaded_count(-1);
	}
	atomic_fetch_sub(&registry->instances, 1);
}

/*
 * lt_probes_flush_records - at exit, liblooptrace's per-thread records (format 2.0) must reach
 * LTTng before this provider unregisters, which its generated destructor does before
 * liblooptrace's destructors run: flush them here. Defined after the provider header's
 * generated destructor, so it runs first (.fini_array runs in reverse order of definition).
 */
static void lt_probes_flush_records(void) __attribute__((destructor));
static void lt_probes_flush_records(void)
{
	void (*flush)(void);

	if (stood_down)
		return;
	*(void **)&flush = dlsym(RTLD_DEFAULT, "lt__flush_all");
	if (flush)
		flush();
}
