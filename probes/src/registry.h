/*
 * registry.h - internal (probes/src, also used by liblooptrace): the process-wide record of loaded
 * `looptrace` probe providers. Not part of the public API; not installed.
 *
 * A process can hold two copies of the provider: one linked into the program
 * (liblooptrace-probes.a) and one preloaded (liblooptrace-probes.so). LTTng-UST 2.13 keys its
 * events by the provider's descriptor address, so two copies register two descriptors of the
 * same provider name and every tracepoint then calls both copies' probes: each event would be
 * recorded twice. To prevent that, every copy (and liblooptrace) exports a registry with the
 * name LT_PROBES_REGISTRY_SYMBOL, and every user looks it up with dlsym(RTLD_DEFAULT): the
 * first definition in the global lookup scope wins, so all copies count in the same place.
 * The first copy to load registers with LTTng-UST; later copies stand down and warn once.
 */
#ifndef LOOPTRACE_PROBES_REGISTRY_H
#define LOOPTRACE_PROBES_REGISTRY_H

#define LT_PROBES_REGISTRY_SYMBOL "lt__probes_registry"

struct lt__probes_registry {
	_Atomic unsigned instances;  /* provider copies loaded in the process */
	_Atomic unsigned registered; /* copies registered with LTTng-UST: 0 or 1 */
	_Atomic int warned;          /* the duplicate warning was printed */
};

#endif /* LOOPTRACE_PROBES_REGISTRY_H */
