/*
 * msg.c - messages and flows in flight. A send creates the message's record (keyed by
 * (vpid, id)) and joins it to its flow; its first receipt closes its queue wait; the end of
 * its handler (or route dispatch) accounts the hop and the flow and releases the record.
 * A message received before its send was traced is remembered, and parked once handled,
 * for a late send (park). Records and flows live in pools with free lists.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static struct lt_msg *msg_find(struct lt_analysis *a, int64_t vpid, uint64_t id, uint32_t *idx)
{
	vpid = lt__msg_space(vpid, id);
	uint32_t i = lt__map_get(&a->msg_map, (uint64_t)vpid, id, 0);
	if (idx)
		*idx = i;
	return i == NONE32 ? NULL : &a->msgs.v[i];
}

/*
 * msg_lookup - message (vpid, id): the record at index *mi when it is that live message (a
 * hint from an earlier event), else a map lookup; *mi is set to the record's index.
 */
static struct lt_msg *msg_lookup(struct lt_analysis *a, int64_t vpid, uint64_t id, uint32_t *mi)
{
	if (*mi < a->msgs.n && a->msgs.v[*mi].live && a->msgs.v[*mi].id == id &&
	    a->msgs.v[*mi].vpid == lt__msg_space(vpid, id))
		return &a->msgs.v[*mi];
	return msg_find(a, vpid, id, mi);
}

static void msg_free(struct lt_analysis *a, uint32_t i)
{
	struct lt_msg *m = &a->msgs.v[i];
	lt__map_del(&a->msg_map, (uint64_t)m->vpid, m->id, 0);
	m->live = 0;
	m->next_free = a->msg_free;
	a->msg_free = i;
	a->msgs_in_flight--;
}

/* msg_alloc - a fresh, zeroed in-flight record for message (vpid, id); UINT32_MAX on failure. */
static uint32_t msg_alloc(struct lt_analysis *a, int64_t vpid, uint64_t id)
{
	uint32_t mi;

	vpid = lt__msg_space(vpid, id);
	if (a->msg_free != NONE32) {
		mi = a->msg_free;
		a->msg_free = a->msgs.v[mi].next_free;
	} else {
		int32_t k = lt__vec_push(a->msgs);
		if (k < 0)
			return NONE32;
		mi = (uint32_t)k;
	}
	if (lt__map_put(&a->msg_map, (uint64_t)vpid, id, 0, mi)) {
		a->msgs.v[mi].next_free = a->msg_free;
		a->msg_free = mi;
		return NONE32;
	}
	a->msgs_in_flight++;
	struct lt_msg *m = &a->msgs.v[mi];
	memset(m, 0, sizeof(*m));
	m->vpid = vpid;
	m->id = id;
	m->chan = -1;
	m->from = -1;
	m->flow = -1;
	m->to = -1;
	m->live = 1;
	return mi;
}

static int32_t flow_get(struct lt_analysis *a, int64_t pid, uint64_t id, int64_t ts)
{
	int64_t vpid = lt__msg_space(pid, id);
	uint32_t i = lt__map_get(&a->flow_map, (uint64_t)vpid, id, 0);
	if (i != NONE32)
		return (int32_t)i;
	if (a->flow_free != NONE32) {
		i = a->flow_free;
		a->flow_free = a->flows.v[i].next_free;
	} else {
		int32_t k = lt__vec_push(a->flows);
		if (k < 0)
			return -1;
		i = (uint32_t)k;
	}
	if (lt__map_put(&a->flow_map, (uint64_t)vpid, id, 0, i)) {
		a->flows.v[i].next_free = a->flow_free;
		a->flow_free = i;
		return -1;
	}
	struct lt_flow *f = &a->flows.v[i];
	f->vpid = vpid;
	f->pid = pid;
	f->id = id;
	f->first_send = ts;
	f->last_end = ts;
	f->outstanding = 0;
	f->nhops = 0;
	f->hops_dropped = 0;
	a->flows_in_flight++;
	return (int32_t)i;
}

static void flow_release(struct lt_analysis *a, uint32_t i)
{
	struct lt_flow *f = &a->flows.v[i];
	lt__map_del(&a->flow_map, (uint64_t)f->vpid, f->id, 0);
	f->next_free = a->flow_free;
	a->flow_free = i;
	a->flows_in_flight--;
}

static void hop_add(struct lt_analysis *a, int32_t from, int32_t to, uint64_t q, uint64_t h)
{
	uint32_t i;
	int32_t hc = a->hop_cache;
	if (hc >= 0 && a->hops.v[hc].from == from && a->hops.v[hc].to == to)
		i = (uint32_t)hc;
	else
		i = lt__map_get(&a->hop_map, (uint64_t)(int64_t)from, (uint64_t)(int64_t)to, 0);
	if (i == NONE32) {
		int32_t k = lt__vec_push(a->hops);
		if (k < 0 || lt__map_put(&a->hop_map, (uint64_t)(int64_t)from,
					 (uint64_t)(int64_t)to, 0, (uint32_t)k)) {
			if (k >= 0)
				a->hops.n--;
			lt__oom(a);
			return;
		}
		a->hops.v[k].from = from;
		a->hops.v[k].to = to;
		i = (uint32_t)k;
	}
	a->hop_cache = (int32_t)i;
	struct lt_hopagg *g = &a->hops.v[i];
	g->count++;
	g->sum_queue += (double)q;
	g->sum_handle += (double)h;
	if (q > g->max_queue)
		g->max_queue = q;
	if (h > g->max_handle)
		g->max_handle = h;
}

uint32_t lt__msg_receipt(struct lt_analysis *a, int32_t ti, uint64_t id, int64_t ts)
{
	struct lt_thread *t = &a->threads.v[ti];

	if (id == 0)
		return NONE32;
	uint32_t mi = t->recv_mi; /* wait_end, recv and handle_begin name the same message */
	struct lt_msg *m = msg_lookup(a, t->vpid, id, &mi);
	t->recv_mi = mi;
	if (!m) {
		/*
		 * Not sent yet: either never sent on a traced channel (a timer tick, external
		 * input) or its sender traces `send` after enqueuing and the receiver was
		 * faster. Remember the receipt; a later send completes it.
		 */
		mi = msg_alloc(a, t->vpid, id);
		if (mi == NONE32) {
			lt__oom(a);
			return NONE32;
		}
		t->recv_mi = mi;
		m = &a->msgs.v[mi];
		m->send_ns = ts;
		m->recv_ns = ts;
		m->received = 1;
		m->unsent = 1;
		m->to = t->comp;
		return mi;
	}
	if (m->received)
		return mi;
	m->received = 1;
	m->recv_ns = ts;
	uint64_t q = ts > m->send_ns ? (uint64_t)(ts - m->send_ns) : 0;
	if (m->chan >= 0 && lt__hist_add(&a->chans.v[m->chan].qwait, q))
		lt__oom(a);
	if (t->comp >= 0 && lt__hist_add(&a->comps.v[t->comp].qwait, q))
		lt__oom(a);
	if (m->chan >= 0 && m->from >= 0 &&
	    lt__host_of(a->comps.v[m->from].vpid) != lt__host_of(t->vpid)) {
		/* Send and receipt read two machines' clocks: shorter than their uncertainty,
		 * the wait (even its sign) is not known. */
		struct lt_an_chan *ch = &a->chans.v[m->chan];
		ch->cross_host_waits++;
		ch->cross_host_short += (int64_t)q < a->clock_uncertainty_ns;
	}
	return mi;
}

/* park_valid - FIFO slot k still names a parked record. */
static int park_valid(const struct lt_analysis *a, uint32_t k)
{
	uint32_t mi = a->park[k].mi;
	return mi < a->msgs.n && a->msgs.v[mi].live && a->msgs.v[mi].parked &&
	       a->msgs.v[mi].id == a->park[k].id;
}

uint32_t lt__parked_count(const struct lt_analysis *a)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < a->park_len; i++)
		n += (uint32_t)park_valid(a, (a->park_head + i) % LT_PARK_CAP);
	return n;
}

/*
 * park - message mi was handled but its send was not traced (yet): keep it a while, since
 * a sender that traces `send` after enqueuing may be preempted until the receiver has
 * handled the message. The oldest parked message leaves when the FIFO is full: it counts
 * as never sent (a timer tick, external input).
 */
static void park(struct lt_analysis *a, uint32_t mi, int32_t to, int64_t begin, int64_t end,
		 int partial)
{
	if (a->park_len == LT_PARK_CAP) {
		uint32_t k = a->park_head;
		if (park_valid(a, k)) {
			a->an.unknown_messages++;
			a->msgs.v[a->park[k].mi].parked = 0;
			msg_free(a, a->park[k].mi);
		}
		a->park_head = (a->park_head + 1) % LT_PARK_CAP;
		a->park_len--;
	}
	struct lt_msg *m = &a->msgs.v[mi];
	m->parked = 1;
	m->park_to = to;
	m->park_begin = begin;
	m->park_end = end;
	m->park_partial = partial;
	uint32_t k = (a->park_head + a->park_len) % LT_PARK_CAP;
	a->park[k].mi = mi;
	a->park[k].id = m->id;
	a->park_len++;
}

/* msg_complete - hop and flow accounting of handled message mi, then its release. */
static void msg_complete(struct lt_analysis *a, uint32_t mi, int32_t to, int64_t begin, int64_t end,
			 int partial)
{
	struct lt_msg *m = &a->msgs.v[mi];
	uint64_t id = m->id;
	int64_t rcv = m->received ? m->recv_ns : begin;
	uint64_t q = rcv > m->send_ns ? (uint64_t)(rcv - m->send_ns) : 0;
	uint64_t h = end > begin ? (uint64_t)(end - begin) : 0;
	if (!partial)
		hop_add(a, m->from, to, q, h);
	if (m->flow >= 0) {
		struct lt_flow *f = &a->flows.v[m->flow];
		if (end > f->last_end)
			f->last_end = end;
		if (!partial) {
			if (!f->hops) {
				f->hops = malloc(LT_FLOW_HOP_CAP * sizeof(*f->hops));
				if (!f->hops)
					lt__oom(a);
			}
			if (f->hops && f->nhops < LT_FLOW_HOP_CAP) {
				struct lt_hop_rec *r = &f->hops[f->nhops++];
				r->msg = id;
				r->from = m->from;
				r->to = to;
				/* as q and h above: a receive read before its send, or an end
				 * before its begin (clocks of different threads, bounds carried
				 * by the event), count as no time, not negative time */
				r->send_ns = m->send_ns;
				r->recv_ns = rcv > m->send_ns ? rcv : m->send_ns;
				r->begin_ns = begin;
				r->end_ns = end > begin ? end : begin;
			} else {
				f->hops_dropped++;
				a->an.flow_hops_dropped++;
			}
		}
		if (f->outstanding > 0)
			f->outstanding--;
		if (f->outstanding == 0) {
			int64_t lat = f->last_end - f->first_send;
			if (lat < 0)
				lat = 0;
			if (lt__hist_add(&a->flow_latency, (uint64_t)lat))
				lt__oom(a);
			a->flows_done++;
			if (!a->has_crit || lat > a->crit_latency) {
				struct lt_hop_rec *tmp = a->crit_hops;
				a->crit_hops = f->hops;
				f->hops = tmp;
				a->crit_nhops = f->nhops;
				a->crit_dropped = f->hops_dropped;
				a->crit_flow = f->id;
				a->crit_vpid = f->pid;
				a->crit_latency = lat;
				a->has_crit = 1;
			}
			flow_release(a, (uint32_t)m->flow);
		}
	}
	msg_free(a, mi);
}

void lt__msg_done(struct lt_analysis *a, int64_t vpid, uint64_t id, uint32_t hint, int32_t to,
		  int64_t begin, int64_t end, int partial)
{
	uint32_t mi = hint; /* the record found at handle_begin: usually no lookup */
	struct lt_msg *m = msg_lookup(a, vpid, id, &mi);
	if (!m || !m->received || m->parked)
		return; /* not this handler's input (e.g. sent by the handler itself) */
	if (m->unsent) {
		park(a, mi, to, begin, end, partial);
		return;
	}
	msg_complete(a, mi, to, begin, end, partial);
}

/* msg_join_flow - message mi joins flow (vpid, fid), created at ts if new. */
static void msg_join_flow(struct lt_analysis *a, uint32_t mi, int64_t vpid, uint64_t fid,
			  int64_t ts)
{
	int32_t fi = flow_get(a, vpid, fid, ts);
	a->msgs.v[mi].flow = fi;
	if (fi >= 0)
		a->flows.v[fi].outstanding++;
	else
		lt__oom(a);
}

/*
 * send_after_receipt - the send of message mi, whose receipt came first (the sender traced
 * after enqueuing): it was sent by the time it was received; queue wait 0. A parked record
 * (its handler already ran) is accounted now; its FIFO slot goes stale.
 */
static void send_after_receipt(struct lt_analysis *a, const struct lt_thread *t, uint32_t mi,
			       int32_t ci, const struct lt_event *ev)
{
	struct lt_msg *m = &a->msgs.v[mi];
	a->an.recv_before_send++;
	m->unsent = 0;
	m->send_ns = m->recv_ns;
	m->chan = ci;
	m->from = t->comp;
	if (ci >= 0 && lt__hist_add(&a->chans.v[ci].qwait, 0))
		lt__oom(a);
	if (m->to >= 0 && lt__hist_add(&a->comps.v[m->to].qwait, 0))
		lt__oom(a);
	msg_join_flow(a, mi, t->vpid, ev->flow ? ev->flow : ev->msg, m->recv_ns);
	m = &a->msgs.v[mi];
	if (m->parked) {
		m->parked = 0;
		msg_complete(a, mi, m->park_to, m->park_begin, m->park_end, m->park_partial);
	}
}

/* side_add - component comp (if any) joins a channel's senders or receivers (v, *n). */
static void side_add(int32_t *v, uint8_t *n, int32_t comp)
{
	if (comp < 0)
		return;
	for (unsigned i = 0; i < *n; i++)
		if (v[i] == comp)
			return;
	if (*n < LT_CHAN_SIDES)
		v[(*n)++] = comp;
}

int32_t lt__chan_ipc_root(const struct lt_analysis *a, int32_t ci)
{
	while (a->chans.v[ci].ipc_up >= 0)
		ci = a->chans.v[ci].ipc_up;
	return ci;
}

/*
 * ipc_join - channels x and y (other processes, the same name) are ends of one IPC channel:
 * the group with the later first end hangs under the other's first end.
 */
static void ipc_join(struct lt_analysis *a, int32_t x, int32_t y)
{
	int32_t rx = lt__chan_ipc_root(a, x), ry = lt__chan_ipc_root(a, y);

	a->chans.v[x].ipc = a->chans.v[y].ipc = 1;
	if (rx == ry)
		return;
	if (rx < ry)
		a->chans.v[ry].ipc_up = rx;
	else
		a->chans.v[rx].ipc_up = ry;
}

void lt__msg_arrived(struct lt_analysis *a, int32_t ti, uint32_t mi, int32_t ci)
{
	if (ci < 0)
		return;
	struct lt_an_chan *ch = &a->chans.v[ci];
	side_add(ch->receivers, &ch->nreceivers, a->threads.v[ti].comp);
	if (mi == NONE32 || mi >= a->msgs.n || !a->msgs.v[mi].live)
		return;
	int32_t si = a->msgs.v[mi].chan;
	if (si < 0 || si == ci)
		return;
	const struct lt_an_chan *sc = &a->chans.v[si];
	if (sc->vpid == ch->vpid ||
	    (ch->ipc && sc->ipc && lt__chan_ipc_root(a, si) == lt__chan_ipc_root(a, ci)))
		return;
	if (ch->declared && sc->declared && strcmp(sc->name, ch->name) == 0)
		ipc_join(a, si, ci);
}

/* chan_count_send - channel ci (-1: none, out of memory) had a send by thread t at ts. */
static void chan_count_send(struct lt_analysis *a, struct lt_thread *t, int32_t ci, uint32_t depth,
			    int64_t ts)
{
	if (ci < 0) {
		lt__oom(a);
		return;
	}
	struct lt_an_chan *ch = &a->chans.v[ci];
	ch->sends++;
	side_add(ch->senders, &ch->nsenders, t->comp);
	lt__chan_set_depth(ch, depth, +1, ts);
	if (t->pending_send_block_count) {
		ch->send_blocked_ns += t->pending_send_block_ns;
		ch->send_blocked_count += t->pending_send_block_count;
		t->pending_send_block_ns = 0;
		t->pending_send_block_count = 0;
	}
}

void lt__on_send(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts)
{
	struct lt_thread *t = &a->threads.v[ti];
	int32_t ci = lt__chan_get(a, t->vpid, ev->chan, ts);
	chan_count_send(a, t, ci, ev->depth, ts);
	if (ev->msg == 0)
		return;
	uint32_t mi;
	struct lt_msg *m = msg_find(a, t->vpid, ev->msg, &mi);
	if (m && m->unsent) {
		send_after_receipt(a, t, mi, ci, ev);
		return;
	}
	if (m) {
		/* the same message sent again (forwarded): restart its queue time */
		a->an.duplicate_sends++;
		m->send_ns = ts;
		m->received = 0;
		m->chan = ci;
		m->from = t->comp;
		return;
	}
	mi = msg_alloc(a, t->vpid, ev->msg);
	if (mi == NONE32) {
		lt__oom(a);
		return;
	}
	m = &a->msgs.v[mi];
	m->send_ns = ts;
	m->chan = ci;
	m->from = t->comp;
	msg_join_flow(a, mi, t->vpid, ev->flow ? ev->flow : ev->msg, ts);
}

void lt__on_recv(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts)
{
	int32_t ci = lt__chan_get(a, ev->vpid, ev->chan, ts);

	if (ci < 0) {
		lt__oom(a);
		return;
	}
	struct lt_an_chan *ch = &a->chans.v[ci];
	ch->recvs++;
	lt__chan_set_depth(ch, ev->depth, -1, ts);
	uint32_t mi = lt__msg_receipt(a, ti, ev->msg, ts);
	lt__msg_arrived(a, ti, mi, ci);
	/*
	 * Taken inside a handler (a reply awaited in the handler, the naive await): no handler
	 * of its own will run for it, the running one consumes it. It is done at its receipt (a
	 * hop with no handle time), so its flow can complete; else it would stay in flight.
	 */
	const struct lt_thread *t = &a->threads.v[ti];
	if (t->in_handler && ev->msg && ev->msg != t->handle_msg && mi != UINT32_MAX)
		lt__msg_done(a, t->vpid, ev->msg, mi, t->comp, ts, ts, 0);
}
