/*
 * perfetto.c - sink.looptrace.perfetto: looptrace events to Chrome/Perfetto trace-event JSON.
 *
 * See perfetto.h for what the file holds. This file is one streaming pass: each event is
 * turned into zero or more JSON trace events and written at once, except a message's send,
 * which waits (in `pending`) until the message is consumed so that the arrow's two ends are
 * written together (a flow start without an end would be a dangling arrow).
 *
 * Nesting: every slice is a B/E pair on the thread's track, pushed on a per-thread stack. An
 * end event closes the innermost open slice of its kind and any slice opened inside it; an
 * end without a matching begin (the trace started in the middle, or events were lost) is
 * ignored. So the output always nests properly, whatever the input.
 */
#include "perfetto.h"
#include "decode.h"
#include <looptrace/analysis.h>
#include <looptrace/events.h>
#include <looptrace/reasons.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LT_PF_STACK_MAX       128
#define LT_PF_INITIAL_BUCKETS 64
#define LT_PF_LABELS          8 /* slices of a sequence re-opened after an await, at most */
/*
 * Tracks that are not a traced thread (a sequence, the threads of hosts after the first) and
 * processes of hosts after the first get ids from here: above any Linux pid (pid_max <= 2^22)
 * and within the 32 bits Perfetto reads.
 */
#define LT_PF_SYNTH_BASE 0x40000000
#define LT_PF_SEQ_TASK   1u /* seq_begin flags: LT_SEQ_TASK (looptrace/trace.h) */

/* ---------------------------------------------------------------------------------------- */
/* A small hash map keyed by two 64-bit integers, owning its values through `free_value`.   */

struct lt_pf_node {
	uint64_t k1, k2;
	void *value; /* owned */
	struct lt_pf_node *next;
};

struct lt_pf_map {
	struct lt_pf_node **buckets; /* owned */
	size_t nbuckets;             /* power of two */
	size_t count;
	void (*free_value)(void *);
};

static uint64_t lt_pf_hash(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull + (a << 6) + (a >> 2));
	h ^= h >> 33;
	h *= 0xFF51AFD7ED558CCDull;
	h ^= h >> 33;
	return h;
}

/* lt_pf_map_init - empty map; returns false when out of memory. */
static bool lt_pf_map_init(struct lt_pf_map *m, void (*free_value)(void *))
{
	m->nbuckets = LT_PF_INITIAL_BUCKETS;
	m->count = 0;
	m->free_value = free_value;
	m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
	return m->buckets != NULL;
}

static void lt_pf_map_fini(struct lt_pf_map *m)
{
	if (!m->buckets) {
		return;
	}
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct lt_pf_node *n = m->buckets[i];
		while (n) {
			struct lt_pf_node *next = n->next;
			if (m->free_value) {
				m->free_value(n->value);
			}
			free(n);
			n = next;
		}
	}
	free(m->buckets);
	m->buckets = NULL;
	m->count = 0;
}

static void *lt_pf_map_get(const struct lt_pf_map *m, uint64_t k1, uint64_t k2)
{
	struct lt_pf_node *n = m->buckets[lt_pf_hash(k1, k2) & (m->nbuckets - 1)];
	for (; n; n = n->next) {
		if (n->k1 == k1 && n->k2 == k2) {
			return n->value;
		}
	}
	return NULL;
}

/* lt_pf_map_take - removes (k1, k2) and returns its value (now the caller's), or NULL. */
static void *lt_pf_map_take(struct lt_pf_map *m, uint64_t k1, uint64_t k2)
{
	struct lt_pf_node **link = &m->buckets[lt_pf_hash(k1, k2) & (m->nbuckets - 1)];
	for (; *link; link = &(*link)->next) {
		struct lt_pf_node *n = *link;
		if (n->k1 == k1 && n->k2 == k2) {
			void *v = n->value;
			*link = n->next;
			free(n);
			m->count--;
			return v;
		}
	}
	return NULL;
}

static void lt_pf_map_grow(struct lt_pf_map *m)
{
	size_t nb = m->nbuckets * 2;
	struct lt_pf_node **b = calloc(nb, sizeof(*b));
	if (!b) {
		return; /* keep working with longer chains */
	}
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct lt_pf_node *n = m->buckets[i];
		while (n) {
			struct lt_pf_node *next = n->next;
			size_t j = lt_pf_hash(n->k1, n->k2) & (nb - 1);
			n->next = b[j];
			b[j] = n;
			n = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = nb;
}

/* lt_pf_map_put - inserts (k1, k2) -> value (the key must be absent); the map owns value
 * on success. Returns false when out of memory (value still the caller's). */
static bool lt_pf_map_put(struct lt_pf_map *m, uint64_t k1, uint64_t k2, void *value)
{
	struct lt_pf_node *n = malloc(sizeof(*n));
	if (!n) {
		return false;
	}
	if (m->count >= m->nbuckets) {
		lt_pf_map_grow(m);
	}
	size_t i = lt_pf_hash(k1, k2) & (m->nbuckets - 1);
	n->k1 = k1;
	n->k2 = k2;
	n->value = value;
	n->next = m->buckets[i];
	m->buckets[i] = n;
	m->count++;
	return true;
}

/* ---------------------------------------------------------------------------------------- */
/* State                                                                                    */

/* Fields of a decoded event the writers read (lt_pf_u). */
enum lt_pf_field {
	LT_PF_F_COMP,
	LT_PF_F_NAME,
	LT_PF_F_CHAN,
	LT_PF_F_CAPACITY,
	LT_PF_F_MSG,
	LT_PF_F_KIND,
	LT_PF_F_REASON,
	LT_PF_F_OBJECT,
	LT_PF_F_WHERE,
	LT_PF_F_FLOW,
	LT_PF_F_DEPTH,
	LT_PF_F_ROUTE,
	LT_PF_F_PREV,
	LT_PF_F_COUNT,
};

/* Kinds of open slices on a thread's stack. */
enum lt_pf_slice {
	LT_PF_S_COMPONENT,
	LT_PF_S_WAIT,
	LT_PF_S_HANDLE,
	LT_PF_S_BLOCK,
	LT_PF_S_DISPATCH,
	LT_PF_S_RUN,      /* a worker runs a sequence (on both their tracks) */
	LT_PF_S_RUNNABLE, /* a sequence's track: work, no pool thread runs it */
	LT_PF_S_AWAIT,    /* a sequence's track: an await, its thread released */
	LT_PF_S_COUNT
};

/*
 * A track: a traced thread, or a sequence's virtual thread (`seq`). A worker's events between
 * seq_run_begin and seq_run_end are drawn on the sequence's track (`running`), as the
 * analysis applies them to the sequence. pid is the process key (LT_PROC_KEY), otid the tid
 * written (the vtid, or LT_PF_SYNTH_BASE + n for sequences and other hosts' threads).
 */
struct lt_pf_thread {
	int64_t pid, tid, otid;
	unsigned char stack[LT_PF_STACK_MAX]; /* enum lt_pf_slice, innermost last */
	unsigned depth;
	unsigned dropped[LT_PF_S_COUNT]; /* begins not pushed because the stack was full */
	char *name;                      /* owned: last thread_name written, NULL = none */
	bool proc_done; /* its process is in s->processes (process_name written if known) */
	bool in_comp;   /* a component_begin of `comp` is open on the thread */
	uint64_t comp;
	struct lt_pf_thread *running; /* weak: the sequence this worker runs now, or NULL */
	/* a sequence's track only */
	bool seq, task, ready;       /* ready: a seq_ready came during the current run */
	bool ended;                  /* seq_end came during its run: closed at the run's end */
	uint32_t pool;               /* its pool's id in its process */
	struct lt_pf_thread *worker; /* weak: the worker running it now, or NULL */
	char *label[LT_PF_LABELS];   /* owned: names of its open slices (stack[i] for i < 8) */
	uint64_t label_msg[LT_PF_LABELS];
	/* slices open inside its run when it ended (an await): re-opened by the next run */
	unsigned char saved[LT_PF_LABELS];
	char *saved_label[LT_PF_LABELS]; /* owned */
	uint64_t saved_msg[LT_PF_LABELS];
	unsigned nsaved;
};

/* A pool: its name and how many of its workers run a sequence now (a counter track). */
struct lt_pf_pool {
	char *name; /* owned */
	int64_t busy;
};

/* A process: the pid written for it and its name (process_name). */
struct lt_pf_proc {
	int64_t opid;
	char *name; /* owned, NULL until known */
};

/* The task tracks of one (pid, pool, name): one per task alive at once, reused. */
struct lt_pf_lanes {
	int64_t *free_tids; /* owned */
	size_t nfree, cap, made;
};

/* A message sent and not consumed yet. */
struct lt_pf_send {
	uint64_t ts;    /* ns from origin */
	int64_t tid;    /* sender thread */
	uint64_t chan;  /* channel id */
	uint64_t flow;  /* flow id from the send event */
	uint64_t msg;   /* message id */
	uint32_t depth; /* queue depth after the send */
	int64_t pid;    /* sender process */
};

/*
 * lt_pf_msg_space - the key space of message id msg sent or received in process pid: ids with
 * a tag (bits 48-63, docs/distributed.md) are unique across processes, so an arrow may cross
 * from one process to another; others are per process.
 */
static inline uint64_t lt_pf_msg_space(int64_t pid, uint64_t msg)
{
	return msg >> 48 ? UINT64_MAX : (uint64_t)pid;
}

struct lt_pf_sink {
	bt_self_component *self;       /* weak */
	bt_message_iterator *iterator; /* owned */
	FILE *out;                     /* owned unless it is stdout */
	char *path;                    /* owned */
	bool first_event;              /* no trace event written yet */
	bool have_origin;
	bool finished;                /* document closed */
	int64_t origin_ns;            /* first event's time, ns from the clock origin */
	int64_t last_ns;              /* latest event time seen */
	uint64_t next_bind_id;        /* flow ids, from 1 */
	uint64_t events, flows, lost; /* statistics for otherData */
	struct lt_decoder *dec;       /* owned: the plugin's one decoder (decode.h) */
	struct lt_pf_map threads;     /* (pid, tid) -> struct lt_pf_thread */
	struct lt_pf_map channels;    /* (pid, chan) -> char *name */
	struct lt_pf_map chan_names;  /* (pid, hash of a declared name) -> non-NULL marker */
	struct lt_pf_map depths;      /* (pid, chan) -> struct lt_pf_depth */
	struct lt_pf_map processes;   /* (pid, 0) -> struct lt_pf_proc */
	struct lt_pf_map pending;     /* (lt_pf_msg_space, msg) -> struct lt_pf_send */
	struct lt_pf_map comps;       /* (pid, comp) -> struct lt_pf_thread running it (weak) */
	struct lt_pf_map seqs;        /* (pid, comp) -> struct lt_pf_thread of a sequence */
	struct lt_pf_map pools;       /* (pid, pool) -> struct lt_pf_pool */
	struct lt_pf_map lanes;       /* (pid, hash of pool and task name) -> struct lt_pf_lanes */
	char **hosts;                 /* owned: host names by number (decoder's numbering) */
	uint32_t nhosts;
	int64_t next_synth; /* next synthetic id (LT_PF_SYNTH_BASE + n) */
};

static void lt_pf_thread_free(void *p)
{
	struct lt_pf_thread *t = p;
	if (t) {
		for (unsigned i = 0; i < LT_PF_LABELS; i++) {
			free(t->label[i]);
			free(t->saved_label[i]);
		}
		free(t->name);
		free(t);
	}
}

static void lt_pf_pool_free(void *p)
{
	struct lt_pf_pool *pool = p;
	if (pool) {
		free(pool->name);
		free(pool);
	}
}

static void lt_pf_proc_free(void *p)
{
	struct lt_pf_proc *proc = p;
	if (proc) {
		free(proc->name);
		free(proc);
	}
}

static void lt_pf_lanes_free(void *p)
{
	struct lt_pf_lanes *l = p;
	if (l) {
		free(l->free_tids);
		free(l);
	}
}

/* lt_pf_host_of - the host number of process key `pid` (LT_PROC_KEY). */
static uint32_t lt_pf_host_of(int64_t pid)
{
	return pid < 0 ? 0 : (uint32_t)((uint64_t)pid >> LT_HOST_SHIFT);
}

/* lt_pf_proc - process `pid`'s record, made on first use (NULL when out of memory). A process
 * of a host after the first is written with a pid of its own (LT_PF_SYNTH_BASE + n): its
 * key would not fit Perfetto's 32-bit pids and its vpid may be another host's too. */
static struct lt_pf_proc *lt_pf_proc(struct lt_pf_sink *s, int64_t pid)
{
	struct lt_pf_proc *p = lt_pf_map_get(&s->processes, (uint64_t)pid, 0);
	if (p) {
		return p;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		return NULL;
	}
	p->opid = lt_pf_host_of(pid) ? LT_PF_SYNTH_BASE + s->next_synth++ : pid;
	if (!lt_pf_map_put(&s->processes, (uint64_t)pid, 0, p)) {
		free(p);
		return NULL;
	}
	return p;
}

/* lt_pf_opid - the pid written for process key `pid`. */
static int64_t lt_pf_opid(struct lt_pf_sink *s, int64_t pid)
{
	if (!lt_pf_host_of(pid)) {
		return pid;
	}
	struct lt_pf_proc *p = lt_pf_proc(s, pid);
	return p ? p->opid : (pid & 0xffffffff);
}

/* ---------------------------------------------------------------------------------------- */
/* JSON output                                                                              */

/* lt_pf_json_string - writes `s` (NUL-terminated, any bytes) as a JSON string literal, with
 * the analysis core's escaping: controls escaped, invalid UTF-8 replaced by U+FFFD. */
static void lt_pf_json_string(FILE *f, const char *s)
{
	lt_json_write_string(f, s, s ? strlen(s) : 0);
}

/* lt_pf_begin_event - starts a trace event object: separator, phase, pid (a process key,
 * written as lt_pf_opid), tid (as written) and, when with_ts, the timestamp in µs after the
 * origin. The caller adds fields and the '}'. */
static void lt_pf_begin_event(struct lt_pf_sink *s, char ph, int64_t pid, int64_t tid, bool with_ts,
			      int64_t ns)
{
	FILE *f = s->out;
	fputs(s->first_event ? "\n" : ",\n", f);
	s->first_event = false;
	fprintf(f, "{\"ph\":\"%c\",\"pid\":%" PRId64 ",\"tid\":%" PRId64, ph, lt_pf_opid(s, pid),
		tid);
	if (with_ts) {
		int64_t rel = ns - s->origin_ns;
		if (rel < 0) {
			rel = 0;
		}
		fprintf(f, ",\"ts\":%" PRId64 ".%03" PRId64, rel / 1000, rel % 1000);
	}
}

static void lt_pf_metadata(struct lt_pf_sink *s, const char *what, int64_t pid, int64_t tid,
			   const char *name)
{
	lt_pf_begin_event(s, 'M', pid, tid, false, 0);
	fprintf(s->out, ",\"name\":\"%s\",\"args\":{\"name\":", what);
	lt_pf_json_string(s->out, name);
	fputs("}}", s->out);
}

static const char *lt_pf_reason_name(uint64_t reason)
{
	static const char *const names[LT_BLOCK_REASON_COUNT] = LT_BLOCK_REASON_NAMES;
	return reason < LT_BLOCK_REASON_COUNT ? names[reason] : "blocked";
}

/* ---------------------------------------------------------------------------------------- */
/* Threads and slices                                                                       */

static struct lt_pf_thread *lt_pf_thread_get(struct lt_pf_sink *s, int64_t pid, int64_t tid)
{
	struct lt_pf_thread *t = lt_pf_map_get(&s->threads, (uint64_t)pid, (uint64_t)tid);
	if (t) {
		return t;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		return NULL;
	}
	t->pid = pid;
	t->tid = tid;
	t->otid = lt_pf_host_of(pid) ? LT_PF_SYNTH_BASE + s->next_synth++ : tid;
	if (!lt_pf_map_put(&s->threads, (uint64_t)pid, (uint64_t)tid, t)) {
		free(t);
		return NULL;
	}
	return t;
}

/* lt_pf_push - records that a slice of `kind` named `name` (message `msg`) was opened (its
 * B event is already written, or is about to be: returns false when the stack is full and the
 * caller must not write). A sequence's track keeps the names of its first slices, to re-open
 * them in its next run when an await suspends it. */
static bool lt_pf_push(struct lt_pf_thread *t, enum lt_pf_slice kind, const char *name,
		       uint64_t msg)
{
	if (t->depth >= LT_PF_STACK_MAX) {
		t->dropped[kind]++;
		return false;
	}
	if (t->seq && t->depth < LT_PF_LABELS) {
		free(t->label[t->depth]);
		t->label[t->depth] = name ? strdup(name) : NULL;
		t->label_msg[t->depth] = msg;
	}
	t->stack[t->depth++] = (unsigned char)kind;
	return true;
}

static void lt_pf_write_end(struct lt_pf_sink *s, struct lt_pf_thread *t, int64_t ns)
{
	lt_pf_begin_event(s, 'E', t->pid, t->otid, true, ns);
	fputs("}", s->out);
}

/* lt_pf_pop - closes the innermost open slice of `kind` and everything opened inside it. */
static void lt_pf_pop(struct lt_pf_sink *s, struct lt_pf_thread *t, enum lt_pf_slice kind,
		      int64_t ns)
{
	if (t->dropped[kind]) {
		t->dropped[kind]--;
		return;
	}
	unsigned i = t->depth;
	while (i > 0 && t->stack[i - 1] != kind) {
		i--;
	}
	if (i == 0) {
		return; /* no such slice open: its begin is not in the trace */
	}
	while (t->depth >= i) {
		lt_pf_write_end(s, t, ns);
		t->depth--;
	}
}

static bool lt_pf_in_slice(const struct lt_pf_thread *t, enum lt_pf_slice kind)
{
	for (unsigned i = 0; i < t->depth; i++) {
		if (t->stack[i] == kind) {
			return true;
		}
	}
	return false;
}

static const char *lt_pf_channel_name(struct lt_pf_sink *s, int64_t pid, uint64_t chan, char *buf,
				      size_t len)
{
	const char *name = lt_pf_map_get(&s->channels, (uint64_t)pid, chan);
	if (name) {
		return name;
	}
	snprintf(buf, len, "channel %" PRIu64, chan);
	return buf;
}

/* lt_pf_write_send - the zero-length "send" slice of `snd` on its sender's track; with an
 * arrow starting there when bind_id is non-zero. */
static void lt_pf_write_send(struct lt_pf_sink *s, int64_t pid, const struct lt_pf_send *snd,
			     uint64_t bind_id)
{
	char buf[48];
	lt_pf_begin_event(s, 'X', pid, snd->tid, true, (int64_t)snd->ts);
	fputs(",\"dur\":0,\"cat\":\"send\",\"name\":", s->out);
	lt_pf_json_string(s->out, "send");
	fputs(",\"args\":{\"channel\":", s->out);
	lt_pf_json_string(s->out, lt_pf_channel_name(s, pid, snd->chan, buf, sizeof(buf)));
	fprintf(s->out, ",\"msg\":%" PRIu64 ",\"flow\":%" PRIu64 ",\"depth\":%" PRIu32 "}",
		snd->msg, snd->flow, snd->depth);
	if (bind_id) {
		fprintf(s->out, ",\"bind_id\":%" PRIu64 ",\"flow_out\":true", bind_id);
	}
	fputs("}", s->out);
}

/* lt_pf_consume_msg - if message (pid, msg) has a pending send, writes its send slice with
 * an arrow and returns the arrow's id for the consuming slice's flow_in; else 0. */
static uint64_t lt_pf_consume_msg(struct lt_pf_sink *s, int64_t pid, uint64_t msg)
{
	if (msg == 0) {
		return 0;
	}
	struct lt_pf_send *snd = lt_pf_map_take(&s->pending, lt_pf_msg_space(pid, msg), msg);
	if (!snd) {
		return 0;
	}
	uint64_t id = s->next_bind_id++;
	lt_pf_write_send(s, snd->pid, snd, id);
	free(snd);
	s->flows++;
	return id;
}

static void lt_pf_flow_in(struct lt_pf_sink *s, uint64_t bind_id)
{
	if (bind_id) {
		fprintf(s->out, ",\"bind_id\":%" PRIu64 ",\"flow_in\":true", bind_id);
	}
}

/* A channel's depth counter: its last depth and its capacity (0: unbounded or not declared). */
struct lt_pf_depth {
	uint64_t last;
	uint64_t capacity;
};

/* lt_pf_depth_of - (pid, chan)'s depth counter, made on first use; NULL when out of memory. */
static struct lt_pf_depth *lt_pf_depth_of(struct lt_pf_sink *s, int64_t pid, uint64_t chan)
{
	struct lt_pf_depth *d = lt_pf_map_get(&s->depths, (uint64_t)pid, chan);
	if (!d && (d = calloc(1, sizeof(*d))) != NULL &&
	    !lt_pf_map_put(&s->depths, (uint64_t)pid, chan, d)) {
		free(d);
		d = NULL;
	}
	return d;
}

/* lt_pf_counter - the depth counter of (pid, chan) after a send (step +1) or a receive (-1);
 * an unknown depth (LT_DEPTH_UNKNOWN) is the last one plus step, never above the declared
 * capacity, as the report takes it (lt__chan_set_depth). */
static void lt_pf_counter(struct lt_pf_sink *s, int64_t pid, int64_t tid, uint64_t chan,
			  uint64_t depth, int step, int64_t ns)
{
	char buf[48];
	struct lt_pf_depth *d = lt_pf_depth_of(s, pid, chan);
	depth = lt_depth_after((unsigned)depth, d ? (unsigned)d->last : 0, step,
			       d ? (unsigned)d->capacity : 0);
	if (d) {
		d->last = depth;
	}
	lt_pf_begin_event(s, 'C', pid, tid, true, ns);
	fputs(",\"name\":", s->out);
	lt_pf_json_string(s->out, lt_pf_channel_name(s, pid, chan, buf, sizeof(buf)));
	fprintf(s->out, ",\"args\":{\"depth\":%" PRIu64 "}}", depth);
}

/* lt_pf_unique_channel_name - a heap copy of `name`, or of "name #chan" when the process
 * already declared a channel of that name (each channel keeps its own depth counter, which
 * Perfetto identifies by name). NULL when out of memory. */
static char *lt_pf_unique_channel_name(struct lt_pf_sink *s, int64_t pid, uint64_t chan,
				       const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h = (h ^ *p) * 0x100000001b3ull;
	}
	if (!lt_pf_map_get(&s->chan_names, (uint64_t)pid, h)) {
		lt_pf_map_put(&s->chan_names, (uint64_t)pid, h, s);
		return strdup(name);
	}
	size_t len = strlen(name) + 32;
	char *out = malloc(len);
	if (out) {
		snprintf(out, len, "%s #%" PRIu64, name, chan);
	}
	return out;
}

/* ---------------------------------------------------------------------------------------- */
/* Decoding                                                                                 */

/* lt_pf_set_thread_name - writes thread_name metadata when the name changes. */
static void lt_pf_set_thread_name(struct lt_pf_sink *s, struct lt_pf_thread *t, const char *name)
{
	if (!name || (t->name && strcmp(t->name, name) == 0)) {
		return;
	}
	char *copy = strdup(name);
	if (!copy) {
		return;
	}
	free(t->name);
	t->name = copy;
	lt_pf_metadata(s, "thread_name", t->pid, t->otid, name);
}

/* One decoded looptrace event: what every per-kind writer below needs. */
struct lt_pf_ev {
	struct lt_pf_sink *s;
	const struct lt_event *ev; /* from the decoder */
	struct lt_pf_thread *t;
	int64_t pid, tid, ns;
};

/* lt_pf_u - unsigned field `which` of e. */
static uint64_t lt_pf_u(const struct lt_pf_ev *e, enum lt_pf_field which)
{
	const struct lt_event *v = e->ev;
	switch (which) {
	case LT_PF_F_COMP:
		return v->comp;
	case LT_PF_F_CHAN:
		return v->chan;
	case LT_PF_F_CAPACITY:
		return v->capacity;
	case LT_PF_F_MSG:
		return v->msg;
	case LT_PF_F_REASON:
		return v->reason;
	case LT_PF_F_OBJECT:
		return v->object;
	case LT_PF_F_WHERE:
		return v->where;
	case LT_PF_F_FLOW:
		return v->flow;
	case LT_PF_F_DEPTH:
		return v->depth;
	case LT_PF_F_ROUTE:
		return v->route;
	case LT_PF_F_PREV:
		return v->prev;
	default:
		return 0;
	}
}

/* lt_pf_s - the string of e (a name, or a handler's kind; NULL when absent). */
static const char *lt_pf_s(const struct lt_pf_ev *e, enum lt_pf_field which)
{
	(void)which;
	return e->ev->name;
}

/*
 * lt_pf_write_procname - process_name metadata for `proc` (key `pid`): its name, and with
 * several hosts the host's (`name @host`), so that two hosts' processes are told apart.
 */
static void lt_pf_write_procname(struct lt_pf_sink *s, int64_t pid, const struct lt_pf_proc *proc)
{
	uint32_t h = lt_pf_host_of(pid);
	if (s->nhosts < 2 || h >= s->nhosts || !s->hosts[h] || !*s->hosts[h]) {
		lt_pf_metadata(s, "process_name", pid, proc->opid, proc->name);
		return;
	}
	size_t len = strlen(proc->name) + strlen(s->hosts[h]) + 3;
	char *text = malloc(len);
	if (text) {
		snprintf(text, len, "%s @%s", proc->name, s->hosts[h]);
	}
	lt_pf_metadata(s, "process_name", pid, proc->opid, text ? text : proc->name);
	free(text);
}

/* lt_pf_name_process - names process `pid` `name` unless it is named; false when it could
 * not be recorded (out of memory: a later event tries again). */
static bool lt_pf_name_process(struct lt_pf_sink *s, int64_t pid, const char *name)
{
	struct lt_pf_proc *proc = lt_pf_proc(s, pid);
	if (!proc) {
		return false;
	}
	if (proc->name) {
		return true;
	}
	proc->name = strdup(name);
	if (!proc->name) {
		return false;
	}
	lt_pf_write_procname(s, pid, proc);
	return true;
}

/*
 * lt_pf_statedump_procname - the statedump names the process once, at its registration:
 * traces recorded without the procname context (record since format 1.1) name processes
 * this way. A decoder callback.
 */
static void lt_pf_statedump_procname(void *ctx, int64_t pid, const char *proc)
{
	struct lt_pf_sink *s = ctx;
	if (pid < 0) {
		pid = 0;
	}
	if (proc) {
		lt_pf_name_process(s, pid, proc);
	}
}

/* lt_pf_context_procname - names thread t's process from the procname context, once. */
static void lt_pf_context_procname(struct lt_pf_sink *s, const struct lt_event *ev,
				   struct lt_pf_thread *t, int64_t pid)
{
	if (t->proc_done) { /* once per thread, not per event */
		return;
	}
	/* no context: the statedump names the process */
	t->proc_done = !ev->procname || lt_pf_name_process(s, pid, ev->procname);
}

/*
 * lt_pf_host - host number `host` is named `name` (a decoder callback; hosts are numbered 0,
 * 1, ... as they appear). When a second host appears, the first host's processes, named
 * already, are named again with their host.
 */
static void lt_pf_host(void *ctx, uint32_t host, const char *name)
{
	struct lt_pf_sink *s = ctx;
	if (host >= LT_ANALYSIS_MAX_HOSTS) {
		return;
	}
	if (host >= s->nhosts) {
		char **n = realloc(s->hosts, (host + 1) * sizeof(*n));
		if (!n) {
			return;
		}
		memset(n + s->nhosts, 0, (host + 1 - s->nhosts) * sizeof(*n));
		s->hosts = n;
		s->nhosts = host + 1;
	}
	free(s->hosts[host]);
	s->hosts[host] = strdup(name ? name : "");
	if (host != 1) {
		return;
	}
	for (size_t i = 0; i < s->processes.nbuckets; i++) {
		for (struct lt_pf_node *n = s->processes.buckets[i]; n; n = n->next) {
			struct lt_pf_proc *proc = n->value;
			if (proc->name && lt_pf_host_of((int64_t)n->k1) == 0) {
				lt_pf_write_procname(s, (int64_t)n->k1, proc);
			}
		}
	}
}

static void lt_pf_on_component_begin(const struct lt_pf_ev *e)
{
	FILE *f = e->s->out;
	const char *name = lt_pf_s(e, LT_PF_F_NAME);
	lt_pf_set_thread_name(e->s, e->t, name && *name ? name : "component");
	uint64_t comp = lt_pf_u(e, LT_PF_F_COMP);
	if (e->t->in_comp && e->t->comp == comp) {
		return; /* the same component again: a rename (the track's name changed) */
	}
	if (e->t->in_comp) {
		lt_pf_map_take(&e->s->comps, (uint64_t)e->pid, e->t->comp);
	}
	e->t->in_comp = true;
	e->t->comp = comp;
	lt_pf_map_take(&e->s->comps, (uint64_t)e->pid, comp);
	lt_pf_map_put(&e->s->comps, (uint64_t)e->pid, comp, e->t); /* renames find the thread */
	if (lt_pf_push(e->t, LT_PF_S_COMPONENT, name, 0)) {
		lt_pf_begin_event(e->s, 'B', e->pid, e->tid, true, e->ns);
		fputs(",\"cat\":\"component\",\"name\":", f);
		lt_pf_json_string(f, name && *name ? name : "component");
		fprintf(f, ",\"args\":{\"comp\":%" PRIu64 "}}", lt_pf_u(e, LT_PF_F_COMP));
	}
}

static void lt_pf_on_channel_declare(const struct lt_pf_ev *e)
{
	struct lt_pf_sink *s = e->s;
	const char *name = lt_pf_s(e, LT_PF_F_NAME);
	uint64_t chan = lt_pf_u(e, LT_PF_F_CHAN);
	char *copy = lt_pf_unique_channel_name(s, e->pid, chan, name && *name ? name : "channel");
	struct lt_pf_depth *d = lt_pf_depth_of(s, e->pid, chan);
	if (d) {
		d->capacity = lt_pf_u(e, LT_PF_F_CAPACITY);
	}
	if (copy) {
		free(lt_pf_map_take(&s->channels, (uint64_t)e->pid, chan));
		if (!lt_pf_map_put(&s->channels, (uint64_t)e->pid, chan, copy)) {
			free(copy);
		}
	}
}

static void lt_pf_on_wait_begin(const struct lt_pf_ev *e)
{
	if (lt_pf_push(e->t, LT_PF_S_WAIT, "idle", 0)) {
		lt_pf_begin_event(e->s, 'B', e->pid, e->tid, true, e->ns);
		fputs(",\"cat\":\"idle\",\"name\":\"idle\"}", e->s->out);
	}
}

static void lt_pf_on_handle_begin(const struct lt_pf_ev *e)
{
	FILE *f = e->s->out;
	const char *kind = lt_pf_s(e, LT_PF_F_KIND);
	uint64_t msg = lt_pf_u(e, LT_PF_F_MSG);
	if (!lt_pf_push(e->t, LT_PF_S_HANDLE, kind && *kind ? kind : "handle", msg)) {
		return;
	}
	uint64_t bind = lt_pf_consume_msg(e->s, e->pid, msg);
	lt_pf_begin_event(e->s, 'B', e->pid, e->tid, true, e->ns);
	fputs(",\"cat\":\"handler\",\"name\":", f);
	lt_pf_json_string(f, kind && *kind ? kind : "handle");
	fprintf(f, ",\"args\":{\"msg\":%" PRIu64 "}", msg);
	lt_pf_flow_in(e->s, bind);
	fputs("}", f);
}

/* lt_pf_on_handle_next - the previous handler's end (if any), the recv, then this begin. */
static void lt_pf_on_handle_next(const struct lt_pf_ev *e)
{
	if (lt_pf_u(e, LT_PF_F_PREV)) {
		/* The previous handler returned at its recorded end (end_ns), before this record.
		 */
		int64_t end = e->ev->end_ns;
		lt_pf_pop(e->s, e->t, LT_PF_S_HANDLE, end > 0 && end <= e->ns ? end : e->ns);
	}
	lt_pf_counter(e->s, e->pid, e->tid, lt_pf_u(e, LT_PF_F_CHAN), lt_pf_u(e, LT_PF_F_DEPTH), -1,
		      e->ns);
	lt_pf_on_handle_begin(e);
}

static void lt_pf_on_block_begin(const struct lt_pf_ev *e)
{
	FILE *f = e->s->out;
	if (lt_pf_push(e->t, LT_PF_S_BLOCK, lt_pf_reason_name(lt_pf_u(e, LT_PF_F_REASON)),
		       lt_pf_u(e, LT_PF_F_OBJECT))) {
		lt_pf_begin_event(e->s, 'B', e->pid, e->tid, true, e->ns);
		fputs(",\"cat\":\"blocked\",\"name\":", f);
		lt_pf_json_string(f, lt_pf_reason_name(lt_pf_u(e, LT_PF_F_REASON)));
		fprintf(f, ",\"args\":{\"object\":\"0x%" PRIx64 "\",\"where\":\"0x%" PRIx64 "\"}}",
			lt_pf_u(e, LT_PF_F_OBJECT), lt_pf_u(e, LT_PF_F_WHERE));
	}
}

static void lt_pf_on_send(const struct lt_pf_ev *e)
{
	struct lt_pf_sink *s = e->s;
	uint64_t msg = lt_pf_u(e, LT_PF_F_MSG);
	uint64_t chan = lt_pf_u(e, LT_PF_F_CHAN);
	uint64_t depth = lt_pf_u(e, LT_PF_F_DEPTH);
	lt_pf_counter(s, e->pid, e->tid, chan, depth, +1, e->ns);
	struct lt_pf_send *snd = calloc(1, sizeof(*snd));
	if (!snd) {
		return;
	}
	snd->ts = (uint64_t)e->ns;
	snd->tid = e->tid;
	snd->chan = chan;
	snd->flow = lt_pf_u(e, LT_PF_F_FLOW);
	snd->msg = msg;
	snd->depth = (uint32_t)depth;
	snd->pid = e->pid;
	/* The same id sent again before being consumed: the first send has no arrow. */
	struct lt_pf_send *old = lt_pf_map_take(&s->pending, lt_pf_msg_space(e->pid, msg), msg);
	if (old) {
		lt_pf_write_send(s, old->pid, old, 0);
		free(old);
	}
	if (!lt_pf_map_put(&s->pending, lt_pf_msg_space(e->pid, msg), msg, snd)) {
		lt_pf_write_send(s, e->pid, snd, 0);
		free(snd);
	}
}

static void lt_pf_on_recv(const struct lt_pf_ev *e)
{
	struct lt_pf_sink *s = e->s;
	FILE *f = s->out;
	uint64_t msg = lt_pf_u(e, LT_PF_F_MSG);
	uint64_t chan = lt_pf_u(e, LT_PF_F_CHAN);
	lt_pf_counter(s, e->pid, e->tid, chan, lt_pf_u(e, LT_PF_F_DEPTH), -1, e->ns);
	/* Received inside a handler: that handler consumes it (a blocking call's reply).
	 * Otherwise the handler that follows does (handle_begin). */
	if (!lt_pf_in_slice(e->t, LT_PF_S_HANDLE) && !lt_pf_in_slice(e->t, LT_PF_S_DISPATCH)) {
		return;
	}
	uint64_t bind = lt_pf_consume_msg(s, e->pid, msg);
	if (bind) {
		char buf[48];
		lt_pf_begin_event(s, 'X', e->pid, e->tid, true, e->ns);
		fputs(",\"dur\":0,\"cat\":\"recv\",\"name\":\"recv\",\"args\":{"
		      "\"channel\":",
		      f);
		lt_pf_json_string(f, lt_pf_channel_name(s, e->pid, chan, buf, sizeof(buf)));
		fprintf(f, ",\"msg\":%" PRIu64 "}", msg);
		lt_pf_flow_in(s, bind);
		fputs("}", f);
	}
}

static void lt_pf_on_dispatch_begin(const struct lt_pf_ev *e)
{
	FILE *f = e->s->out;
	uint64_t route = lt_pf_u(e, LT_PF_F_ROUTE);
	uint64_t msg = lt_pf_u(e, LT_PF_F_MSG);
	if (!lt_pf_push(e->t, LT_PF_S_DISPATCH, NULL, msg)) {
		return;
	}
	uint64_t bind = lt_pf_consume_msg(e->s, e->pid, msg);
	char name[48];
	snprintf(name, sizeof(name), "route %" PRIu64, route);
	lt_pf_begin_event(e->s, 'B', e->pid, e->tid, true, e->ns);
	fputs(",\"cat\":\"route\",\"name\":", f);
	lt_pf_json_string(f, name);
	fprintf(f, ",\"args\":{\"route\":%" PRIu64 ",\"msg\":%" PRIu64 "}", route, msg);
	lt_pf_flow_in(e->s, bind);
	fputs("}", f);
}

/* ---------------------------------------------------------------------------------------- */
/* Sequences and pools: a track per sequence, its runs showing the worker that ran them     */

static struct lt_pf_pool *lt_pf_pool_get(struct lt_pf_sink *s, int64_t pid, uint32_t pool)
{
	struct lt_pf_pool *p = lt_pf_map_get(&s->pools, (uint64_t)pid, pool);
	if (p) {
		return p;
	}
	p = calloc(1, sizeof(*p));
	if (p && !lt_pf_map_put(&s->pools, (uint64_t)pid, pool, p)) {
		free(p);
		p = NULL;
	}
	return p;
}

/* lt_pf_pool_busy - the pool's count of busy workers moves by `delta`: a counter sample on
 * the process's "<pool> busy threads" track. */
static void lt_pf_pool_busy(struct lt_pf_sink *s, int64_t pid, int64_t tid, uint32_t id, int delta,
			    int64_t ns)
{
	struct lt_pf_pool *p = lt_pf_pool_get(s, pid, id);
	if (!p) {
		return;
	}
	p->busy += delta;
	if (p->busy < 0) {
		p->busy = 0;
	}
	char name[96];
	if (p->name) {
		snprintf(name, sizeof(name), "%.80s busy threads", p->name);
	} else {
		snprintf(name, sizeof(name), "pool-%" PRIu32 " busy threads", id);
	}
	lt_pf_begin_event(s, 'C', pid, tid, true, ns);
	fputs(",\"name\":", s->out);
	lt_pf_json_string(s->out, name);
	fprintf(s->out, ",\"args\":{\"busy\":%" PRId64 "}}", p->busy);
}

/* lt_pf_lane_key - the lanes key of the tasks named `name` on pool `pool`. */
static uint64_t lt_pf_lane_key(uint32_t pool, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull ^ pool; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h = (h ^ *p) * 0x100000001b3ull;
	}
	return h;
}

/* lt_pf_lane_take - a track for a new task of (pid, pool, name): a free one of that name, or
 * a new one (named "name (tasks)"). Tasks of a name share few tracks: as many as ran at once. */
static int64_t lt_pf_lane_take(struct lt_pf_sink *s, int64_t pid, uint32_t pool, const char *name)
{
	uint64_t key = lt_pf_lane_key(pool, name);
	struct lt_pf_lanes *l = lt_pf_map_get(&s->lanes, (uint64_t)pid, key);
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (l && !lt_pf_map_put(&s->lanes, (uint64_t)pid, key, l)) {
			free(l);
			l = NULL;
		}
	}
	if (l && l->nfree) {
		return l->free_tids[--l->nfree];
	}
	int64_t tid = LT_PF_SYNTH_BASE + s->next_synth++;
	size_t len = strlen(name) + 16;
	char *text = malloc(len);
	if (text) {
		snprintf(text, len, "%s (tasks)", name);
	}
	lt_pf_metadata(s, "thread_name", pid, tid, text ? text : name);
	free(text);
	if (l) {
		l->made++;
	}
	return tid;
}

/* lt_pf_lane_give - task track `tid` of (pid, pool, name) is free again. */
static void lt_pf_lane_give(struct lt_pf_sink *s, int64_t pid, uint32_t pool, const char *name,
			    int64_t tid)
{
	struct lt_pf_lanes *l = lt_pf_map_get(&s->lanes, (uint64_t)pid, lt_pf_lane_key(pool, name));
	if (!l) {
		return;
	}
	if (l->nfree == l->cap) {
		size_t ncap = l->cap ? 2 * l->cap : 4;
		int64_t *n = realloc(l->free_tids, ncap * sizeof(*n));
		if (!n) {
			return; /* that track is not reused */
		}
		l->free_tids = n;
		l->cap = ncap;
	}
	l->free_tids[l->nfree++] = tid;
}

/* lt_pf_seq_make - sequence `comp`'s track (seq_begin, or the first event naming it when the
 * trace lacks its seq_begin); NULL when out of memory. */
static struct lt_pf_thread *lt_pf_seq_make(struct lt_pf_sink *s, int64_t pid, uint32_t comp,
					   const char *name, uint32_t pool, uint32_t flags)
{
	struct lt_pf_thread *v = lt_pf_map_get(&s->seqs, (uint64_t)pid, comp);
	if (v) {
		return v;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		return NULL;
	}
	char buf[48];
	if (!name || !*name) {
		snprintf(buf, sizeof(buf), "sequence %" PRIu32, comp);
		name = buf;
	}
	v->pid = pid;
	v->tid = comp;
	v->comp = comp;
	v->seq = true;
	v->task = (flags & LT_PF_SEQ_TASK) != 0;
	v->pool = pool;
	v->proc_done = true;
	if (v->task) {
		v->name = strdup(name); /* the lane's name, kept to give the lane back */
		v->otid = lt_pf_lane_take(s, pid, pool, name);
	} else {
		v->otid = LT_PF_SYNTH_BASE + s->next_synth++;
	}
	if (!lt_pf_map_put(&s->seqs, (uint64_t)pid, comp, v)) {
		lt_pf_thread_free(v);
		return NULL;
	}
	if (!v->task) {
		lt_pf_set_thread_name(s, v, name);
	}
	return v;
}

/* lt_pf_seq_open - a slice of `kind` on sequence v's track: B event with `cat` and `name`. */
static void lt_pf_seq_open(struct lt_pf_sink *s, struct lt_pf_thread *v, enum lt_pf_slice kind,
			   const char *cat, const char *name, int64_t ns)
{
	if (lt_pf_push(v, kind, name, 0)) {
		lt_pf_begin_event(s, 'B', v->pid, v->otid, true, ns);
		fprintf(s->out, ",\"cat\":\"%s\",\"name\":", cat);
		lt_pf_json_string(s->out, name);
		fputs("}", s->out);
	}
}

/* lt_pf_seq_close - sequence v ended: its open slices end at ns, its track is freed (a task's
 * goes back to its lanes). */
static void lt_pf_seq_close(struct lt_pf_sink *s, struct lt_pf_thread *v, int64_t ns)
{
	while (v->depth > 0) {
		lt_pf_write_end(s, v, ns);
		v->depth--;
	}
	if (v->task) {
		lt_pf_lane_give(s, v->pid, v->pool, v->name, v->otid);
	}
	lt_pf_thread_free(lt_pf_map_take(&s->seqs, (uint64_t)v->pid, v->comp));
}

static void lt_pf_on_seq_ready(const struct lt_pf_ev *e)
{
	struct lt_pf_thread *v =
	    lt_pf_seq_make(e->s, e->pid, (uint32_t)lt_pf_u(e, LT_PF_F_COMP), NULL, 0, 0);
	if (!v) {
		return;
	}
	if (v->worker) {
		v->ready = true; /* runnable from the end of this run */
		return;
	}
	lt_pf_pop(e->s, v, LT_PF_S_AWAIT, e->ns);
	if (!lt_pf_in_slice(v, LT_PF_S_RUNNABLE)) {
		lt_pf_seq_open(e->s, v, LT_PF_S_RUNNABLE, "runnable", "runnable", e->ns);
	}
}

/* lt_pf_slice_cat - the category a slice of `kind` is written with. */
static const char *lt_pf_slice_cat(unsigned char kind)
{
	static const char *const cats[LT_PF_S_COUNT] = {
	    "component", "idle", "handler", "blocked", "route", "run", "runnable", "released"};
	return kind < LT_PF_S_COUNT ? cats[kind] : "slice";
}

/* lt_pf_seq_resume - re-opens the slices v had open when its last run ended (an await: the
 * handler and its block go on in this run), with "continued" in their args. */
static void lt_pf_seq_resume(struct lt_pf_sink *s, struct lt_pf_thread *v, int64_t ns)
{
	for (unsigned i = 0; i < v->nsaved; i++) {
		const char *name = v->saved_label[i] ? v->saved_label[i] : "slice";
		if (lt_pf_push(v, v->saved[i], name, v->saved_msg[i])) {
			lt_pf_begin_event(s, 'B', v->pid, v->otid, true, ns);
			fprintf(s->out, ",\"cat\":\"%s\",\"name\":", lt_pf_slice_cat(v->saved[i]));
			lt_pf_json_string(s->out, name);
			fputs(",\"args\":{\"continued\":true}}", s->out);
		}
		free(v->saved_label[i]);
		v->saved_label[i] = NULL;
	}
	v->nsaved = 0;
}

static void lt_pf_on_seq_run_end(const struct lt_pf_ev *e);

/* lt_pf_on_seq_run_begin - worker e->t runs sequence comp: a "run" slice on the sequence's
 * track naming the worker (args: its tid and name), one on the worker's naming the sequence. */
static void lt_pf_on_seq_run_begin(const struct lt_pf_ev *e)
{
	struct lt_pf_sink *s = e->s;
	struct lt_pf_thread *w = e->t;
	if (w->running) {
		lt_pf_on_seq_run_end(e); /* nested run: the analysis counts it; end the first */
	}
	struct lt_pf_thread *v =
	    lt_pf_seq_make(s, e->pid, (uint32_t)lt_pf_u(e, LT_PF_F_COMP), NULL, 0, 0);
	if (!v || v->worker) {
		return; /* out of memory, or already run by another worker (lost events) */
	}
	lt_pf_pop(s, v, LT_PF_S_AWAIT, e->ns);
	lt_pf_pop(s, v, LT_PF_S_RUNNABLE, e->ns);
	const char *wname = e->ev->procname ? e->ev->procname : w->name ? w->name : "worker";
	char label[96];
	snprintf(label, sizeof(label), "run on %.60s (%" PRId64 ")", wname, w->tid);
	if (lt_pf_push(v, LT_PF_S_RUN, label, 0)) {
		struct lt_pf_pool *pool = lt_pf_pool_get(s, e->pid, v->pool);
		lt_pf_begin_event(s, 'B', v->pid, v->otid, true, e->ns);
		fputs(",\"cat\":\"run\",\"name\":", s->out);
		lt_pf_json_string(s->out, label);
		fprintf(s->out, ",\"args\":{\"worker_tid\":%" PRId64 ",\"worker\":", w->tid);
		lt_pf_json_string(s->out, wname);
		fputs(",\"pool\":", s->out);
		lt_pf_json_string(s->out, pool && pool->name ? pool->name : "");
		fputs("}}", s->out);
	}
	lt_pf_seq_resume(s, v, e->ns);
	const char *vname = v->task ? v->name : v->name ? v->name : "sequence";
	if (lt_pf_push(w, LT_PF_S_RUN, vname, 0)) {
		lt_pf_begin_event(s, 'B', w->pid, w->otid, true, e->ns);
		fputs(",\"cat\":\"run\",\"name\":", s->out);
		lt_pf_json_string(s->out, vname);
		fprintf(s->out, ",\"args\":{\"comp\":%" PRIu64 "}}", v->comp);
	}
	w->running = v;
	v->worker = w;
	v->ready = false;
	lt_pf_pool_busy(s, e->pid, w->otid, v->pool, 1, e->ns);
}

/* lt_pf_seq_save - remembers the slices open inside v's run (innermost last) to re-open them
 * in its next run; returns the block among them, if any (an await), as its stack index. */
static int lt_pf_seq_save(struct lt_pf_thread *v)
{
	unsigned r = v->depth;
	int block = -1;
	while (r > 0 && v->stack[r - 1] != LT_PF_S_RUN) {
		r--;
	}
	for (unsigned j = r; j < v->depth && j < LT_PF_LABELS; j++) {
		unsigned n = v->nsaved++;
		v->saved[n] = v->stack[j];
		v->saved_label[n] = v->label[j] ? strdup(v->label[j]) : NULL;
		v->saved_msg[n] = v->label_msg[j];
		if (v->stack[j] == LT_PF_S_BLOCK) {
			block = (int)n;
		}
	}
	return block;
}

/* lt_pf_on_seq_run_end - the run ends: a sequence with a block open awaits (thread released)
 * until its seq_ready, one with a ready pending is runnable; the worker is free. */
static void lt_pf_on_seq_run_end(const struct lt_pf_ev *e)
{
	struct lt_pf_sink *s = e->s;
	struct lt_pf_thread *w = e->t;
	struct lt_pf_thread *v = w->running;
	if (!v) {
		return; /* no run open on this worker: its begin is not in the trace */
	}
	int block = lt_pf_seq_save(v);
	lt_pf_pop(s, v, LT_PF_S_RUN, e->ns);
	if (v->ready) {
		lt_pf_seq_open(s, v, LT_PF_S_RUNNABLE, "runnable", "runnable", e->ns);
	} else if (block >= 0) {
		char name[96];
		snprintf(name, sizeof(name), "await %.60s (thread released)",
			 v->saved_label[block] ? v->saved_label[block] : "blocked");
		lt_pf_seq_open(s, v, LT_PF_S_AWAIT, "released", name, e->ns);
	}
	lt_pf_pop(s, w, LT_PF_S_RUN, e->ns);
	w->running = NULL;
	v->worker = NULL;
	v->ready = false;
	lt_pf_pool_busy(s, e->pid, w->otid, v->pool, -1, e->ns);
	if (v->ended) {
		lt_pf_seq_close(s, v, e->ns);
	}
}

static void lt_pf_on_seq_end(const struct lt_pf_ev *e)
{
	struct lt_pf_thread *v =
	    lt_pf_map_get(&e->s->seqs, (uint64_t)e->pid, (uint32_t)lt_pf_u(e, LT_PF_F_COMP));
	if (!v) {
		return;
	}
	if (v->worker) {
		v->ended = true; /* a task returning inside its run: closed at the run's end */
		return;
	}
	lt_pf_seq_close(e->s, v, e->ns);
}

static void lt_pf_on_pool_declare(const struct lt_pf_ev *e)
{
	struct lt_pf_pool *p = lt_pf_pool_get(e->s, e->pid, e->ev->pool);
	const char *name = lt_pf_s(e, LT_PF_F_NAME);
	if (p && name && *name) {
		free(p->name);
		p->name = strdup(name);
	}
}

/* lt_pf_dispatch - writes what event e of its class's kind shows. */
static void lt_pf_dispatch(const struct lt_pf_ev *e)
{
	switch (e->ev->kind) {
	case LT_EV_COMPONENT_BEGIN:
		lt_pf_on_component_begin(e);
		break;
	case LT_EV_COMPONENT_END:
		if (e->t->in_comp) {
			lt_pf_map_take(&e->s->comps, (uint64_t)e->pid, e->t->comp);
		}
		e->t->in_comp = false;
		lt_pf_pop(e->s, e->t, LT_PF_S_COMPONENT, e->ns);
		break;
	case LT_EV_COMPONENT_RENAME: {
		/* the interposer's: another thread renamed the thread running `comp` */
		struct lt_pf_thread *t =
		    lt_pf_map_get(&e->s->comps, (uint64_t)e->pid, lt_pf_u(e, LT_PF_F_COMP));
		const char *name = lt_pf_s(e, LT_PF_F_NAME);
		if (t && name && *name) {
			lt_pf_set_thread_name(e->s, t, name);
		}
		break;
	}
	case LT_EV_CHANNEL_DECLARE:
		lt_pf_on_channel_declare(e);
		break;
	case LT_EV_WAIT_BEGIN:
		lt_pf_on_wait_begin(e);
		break;
	case LT_EV_WAIT_END:
		lt_pf_pop(e->s, e->t, LT_PF_S_WAIT, e->ns);
		break;
	case LT_EV_HANDLE_NEXT:
		lt_pf_on_handle_next(e);
		break;
	case LT_EV_HANDLE_BEGIN:
		lt_pf_on_handle_begin(e);
		break;
	case LT_EV_HANDLE_END:
		lt_pf_pop(e->s, e->t, LT_PF_S_HANDLE, e->ns);
		break;
	case LT_EV_BLOCK_BEGIN:
		lt_pf_on_block_begin(e);
		break;
	case LT_EV_BLOCK_END:
		lt_pf_pop(e->s, e->t, LT_PF_S_BLOCK, e->ns);
		break;
	case LT_EV_SEND:
		lt_pf_on_send(e);
		break;
	case LT_EV_RECV:
		lt_pf_on_recv(e);
		break;
	case LT_EV_ROUTE_DISPATCH_BEGIN:
		lt_pf_on_dispatch_begin(e);
		break;
	case LT_EV_ROUTE_DISPATCH_END:
		lt_pf_pop(e->s, e->t, LT_PF_S_DISPATCH, e->ns);
		break;
	case LT_EV_POOL_DECLARE:
		lt_pf_on_pool_declare(e);
		break;
	case LT_EV_SEQ_BEGIN:
		lt_pf_seq_make(e->s, e->pid, (uint32_t)lt_pf_u(e, LT_PF_F_COMP),
			       lt_pf_s(e, LT_PF_F_NAME), e->ev->pool, e->ev->flags);
		break;
	case LT_EV_SEQ_END:
		lt_pf_on_seq_end(e);
		break;
	case LT_EV_SEQ_READY:
		lt_pf_on_seq_ready(e);
		break;
	case LT_EV_SEQ_RUN_BEGIN:
		lt_pf_on_seq_run_begin(e);
		break;
	case LT_EV_SEQ_RUN_END:
		lt_pf_on_seq_run_end(e);
		break;
	default: /* unknown, other providers, routes, pool workers: nothing to draw */
		break;
	}
}

/* lt_pf_event - one decoded looptrace event (a decoder callback). */
static void lt_pf_event(void *ctx, const struct lt_event *ev)
{
	struct lt_pf_sink *s = ctx;
	if (ev->kind == LT_EV_OTHER || ev->kind == LT_EV_UNKNOWN) {
		return;
	}
	int64_t ns = ev->ts_ns;
	int64_t pid = ev->vpid < 0 ? 0 : ev->vpid;
	int64_t tid = ev->vtid < 0 ? pid : ev->vtid;
	struct lt_pf_thread *t = lt_pf_thread_get(s, pid, tid);
	if (!t) {
		return;
	}
	if (!s->have_origin) {
		s->have_origin = true;
		s->origin_ns = ns;
	}
	if (ns > s->last_ns) {
		s->last_ns = ns;
	}
	s->events++;
	lt_pf_context_procname(s, ev, t, pid);
	/* a worker's events inside a run are the sequence's, but pool and sequence events */
	if (t->running && (ev->kind < LT_EV_POOL_DECLARE || ev->kind > LT_EV_SEQ_RUN_END)) {
		t = t->running;
	}
	struct lt_pf_ev e = {.s = s, .ev = ev, .t = t, .pid = pid, .tid = t->otid, .ns = ns};
	lt_pf_dispatch(&e);
}

/* lt_pf_lost - events lost (a decoder callback): a global instant at their window's start. */
static void lt_pf_lost(void *ctx, uint64_t count, int has_window, int64_t begin_ns, int64_t end_ns)
{
	struct lt_pf_sink *s = ctx;
	(void)end_ns;
	s->lost += count;
	int64_t ns = has_window ? begin_ns : s->last_ns;
	if (!s->have_origin) {
		return; /* nothing to place it against yet; counted in otherData */
	}
	lt_pf_begin_event(s, 'i', 0, 0, true, ns);
	fputs(",\"s\":\"g\",\"cat\":\"lost\",\"name\":", s->out);
	char name[64];
	snprintf(name, sizeof(name), "%" PRIu64 " events lost", count);
	lt_pf_json_string(s->out, name);
	fputs("}", s->out);
}

/* lt_pf_finish - closes every open slice, writes the sends never consumed (no arrow) and
 * the end of the document. Returns false when writing failed. */
static bool lt_pf_finish(struct lt_pf_sink *s)
{
	if (s->finished || !s->out) {
		return true;
	}
	s->finished = true;
	for (size_t i = 0; i < s->pending.nbuckets; i++) {
		for (struct lt_pf_node *n = s->pending.buckets[i]; n; n = n->next) {
			const struct lt_pf_send *snd = n->value;
			lt_pf_write_send(s, snd->pid, snd, 0);
		}
	}
	struct lt_pf_map *tracks[] = {&s->threads, &s->seqs};
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < tracks[k]->nbuckets; i++) {
			for (struct lt_pf_node *n = tracks[k]->buckets[i]; n; n = n->next) {
				struct lt_pf_thread *t = n->value;
				while (t->depth > 0) {
					lt_pf_write_end(s, t, s->last_ns);
					t->depth--;
				}
			}
		}
	}
	fprintf(s->out,
		"\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"generator\":\"looptrace\","
		"\"events\":%" PRIu64 ",\"flows\":%" PRIu64 ",\"lost_events\":%" PRIu64
		",\"origin_ns\":%" PRId64 "}}\n",
		s->events, s->flows, s->lost, s->origin_ns);
	bool ok = fflush(s->out) == 0 && !ferror(s->out);
	if (s->out != stdout) {
		ok = fclose(s->out) == 0 && ok;
	}
	s->out = NULL;
	return ok;
}

/* ---------------------------------------------------------------------------------------- */
/* Component methods                                                                        */

static void lt_pf_destroy(struct lt_pf_sink *s)
{
	if (!s) {
		return;
	}
	lt_pf_finish(s);
	bt_message_iterator_put_ref(s->iterator);
	lt_decoder_destroy(s->dec);
	lt_pf_map_fini(&s->threads);
	lt_pf_map_fini(&s->channels);
	lt_pf_map_fini(&s->chan_names);
	lt_pf_map_fini(&s->depths);
	lt_pf_map_fini(&s->processes);
	lt_pf_map_fini(&s->seqs);
	lt_pf_map_fini(&s->pools);
	lt_pf_map_fini(&s->lanes);
	for (uint32_t i = 0; i < s->nhosts; i++) {
		free(s->hosts[i]);
	}
	free(s->hosts);
	lt_pf_map_fini(&s->pending);
	lt_pf_map_fini(&s->comps);
	free(s->path);
	free(s);
}

bt_component_class_initialize_method_status
lt_perfetto_init(bt_self_component_sink *self, bt_self_component_sink_configuration *config,
		 const bt_value *params, void *init_method_data)
{
	(void)config;
	(void)init_method_data;
	bt_self_component *comp = bt_self_component_sink_as_self_component(self);
	const bt_value *out =
	    params ? bt_value_map_borrow_entry_value_const(params, "output") : NULL;
	if (!out || !bt_value_is_string(out) || !*bt_value_string_get(out)) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
		    comp, "parameter `output` (string: the JSON file to write) is required");
		return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
	}
	struct lt_pf_sink *s = calloc(1, sizeof(*s));
	if (!s) {
		return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
	}
	s->self = comp;
	s->first_event = true;
	s->next_bind_id = 1;
	s->path = strdup(bt_value_string_get(out));
	struct lt_decode_ops ops = {.ctx = s,
				    .event = lt_pf_event,
				    .lost = lt_pf_lost,
				    .procname = lt_pf_statedump_procname,
				    .host = lt_pf_host};
	s->dec = lt_decoder_create(&ops);
	if (!s->path || !s->dec || !lt_pf_map_init(&s->threads, lt_pf_thread_free) ||
	    !lt_pf_map_init(&s->channels, free) || !lt_pf_map_init(&s->chan_names, NULL) ||
	    !lt_pf_map_init(&s->depths, free) || !lt_pf_map_init(&s->processes, lt_pf_proc_free) ||
	    !lt_pf_map_init(&s->pending, free) || !lt_pf_map_init(&s->comps, NULL) ||
	    !lt_pf_map_init(&s->seqs, lt_pf_thread_free) ||
	    !lt_pf_map_init(&s->pools, lt_pf_pool_free) ||
	    !lt_pf_map_init(&s->lanes, lt_pf_lanes_free)) {
		lt_pf_destroy(s);
		return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
	}
	if (strcmp(s->path, "-") == 0) {
		s->out = stdout;
	} else {
		s->out = fopen(s->path, "w");
		if (!s->out) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
			    comp, "cannot open output file `%s` for writing", s->path);
			lt_pf_destroy(s);
			return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
		}
		setvbuf(s->out, NULL, _IOFBF, 1 << 20);
	}
	fputs("{\"traceEvents\":[", s->out);
	if (bt_self_component_sink_add_input_port(self, "in", NULL, NULL) !=
	    BT_SELF_COMPONENT_ADD_PORT_STATUS_OK) {
		lt_pf_destroy(s);
		return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_ERROR;
	}
	bt_self_component_set_data(comp, s);
	return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
}

void lt_perfetto_finalize(bt_self_component_sink *self)
{
	lt_pf_destroy(bt_self_component_get_data(bt_self_component_sink_as_self_component(self)));
}

bt_component_class_sink_graph_is_configured_method_status
lt_perfetto_graph_is_configured(bt_self_component_sink *self)
{
	struct lt_pf_sink *s =
	    bt_self_component_get_data(bt_self_component_sink_as_self_component(self));
	bt_self_component_port_input *port =
	    bt_self_component_sink_borrow_input_port_by_name(self, "in");
	if (bt_message_iterator_create_from_sink_component(self, port, &s->iterator) !=
	    BT_MESSAGE_ITERATOR_CREATE_FROM_SINK_COMPONENT_STATUS_OK) {
		return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_ERROR;
	}
	return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_OK;
}

bt_component_class_sink_consume_method_status lt_perfetto_consume(bt_self_component_sink *self)
{
	struct lt_pf_sink *s =
	    bt_self_component_get_data(bt_self_component_sink_as_self_component(self));
	bt_message_array_const msgs;
	uint64_t count = 0;
	switch (bt_message_iterator_next(s->iterator, &msgs, &count)) {
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
		break;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
		bt_message_iterator_put_ref(s->iterator);
		s->iterator = NULL;
		lt_decoder_finish(s->dec);
		if (!lt_pf_finish(s)) {
			BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
			    s->self, "cannot write output file `%s`", s->path);
			return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
		}
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_AGAIN;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
	default:
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
	for (uint64_t i = 0; i < count; i++) {
		lt_decoder_message(s->dec, msgs[i]);
		bt_message_put_ref(msgs[i]);
	}
	if (s->out && ferror(s->out)) {
		BT_CURRENT_THREAD_ERROR_APPEND_CAUSE_FROM_COMPONENT(
		    s->self, "cannot write output file `%s`", s->path);
		return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
	}
	return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK;
}
