/*
 * entity.c - the named things of a traced process: components, channels and routes (by
 * (vpid, id), with their default names and the names the program gives them), blocking
 * sites, and the folding of removed routes into one entry per owner, so that routes made
 * per request keep memory bounded.
 */
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *fmt_name(const char *prefix, int64_t id)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s-%" PRId64, prefix, id);
	return lt__dup_name(buf);
}

void lt__take_name(struct lt_analysis *a, char **dst, const char *name)
{
	char *nn;

	if (!name || !name[0] || strcmp(name, "(unnamed)") == 0)
		return;
	nn = lt__dup_name(name);
	if (!nn) {
		lt__oom(a);
		return;
	}
	free(*dst);
	*dst = nn;
}

int32_t lt__comp_get(struct lt_analysis *a, int64_t vpid, uint64_t id, int implicit, int create)
{
	uint32_t i = lt__map_get(&a->comp_map, (uint64_t)vpid, id, (uint64_t)implicit);
	if (i != NONE32 || !create)
		return i == NONE32 ? -1 : (int32_t)i;
	int32_t k = lt__vec_push(a->comps);
	if (k < 0)
		return -1;
	struct lt_an_comp *c = &a->comps.v[k];
	c->vpid = vpid;
	c->tid = implicit ? (int64_t)id : -1;
	c->id = implicit ? 0 : (uint32_t)id;
	c->implicit = implicit;
	c->thread = -1;
	c->pool = -1;
	c->first_task = -1;
	c->first_site = -1;
	c->first_ns = INT64_MIN;
	c->name = implicit ? fmt_name("thread", (int64_t)id) : fmt_name("comp", (int64_t)id);
	if (!c->name ||
	    lt__map_put(&a->comp_map, (uint64_t)vpid, id, (uint64_t)implicit, (uint32_t)k)) {
		free(c->name);
		a->comps.n--;
		return -1;
	}
	lt__hist_init(&c->handle);
	lt__hist_init(&c->qwait);
	return k;
}

int32_t lt__chan_get(struct lt_analysis *a, int64_t vpid, uint32_t id, int64_t ts)
{
	uint32_t i = lt__map_get(&a->chan_map, (uint64_t)vpid, id, 0);
	if (i != NONE32)
		return (int32_t)i;
	int32_t k = lt__vec_push(a->chans);
	if (k < 0)
		return -1;
	struct lt_an_chan *ch = &a->chans.v[k];
	ch->vpid = vpid;
	ch->id = id;
	ch->start_ns = ts;
	ch->depth_since = ts;
	ch->ipc_up = -1;
	ch->name = fmt_name("chan", id);
	if (!ch->name || lt__map_put(&a->chan_map, (uint64_t)vpid, id, 0, (uint32_t)k)) {
		free(ch->name);
		a->chans.n--;
		return -1;
	}
	lt__hist_init(&ch->qwait);
	return k;
}

/* Slots of folded routes are reused. */
int32_t lt__route_get(struct lt_analysis *a, int64_t vpid, uint32_t id, int aggregate)
{
	uint32_t i = lt__map_get(&a->route_map, (uint64_t)vpid, id, (uint64_t)aggregate);
	if (i != NONE32)
		return (int32_t)i;
	int32_t k;
	if (a->route_free != NONE32) {
		k = (int32_t)a->route_free;
		a->route_free = a->routes.v[k].next_free;
	} else {
		k = lt__vec_push(a->routes);
		if (k < 0)
			return -1;
	}
	if (lt__map_put(&a->route_map, (uint64_t)vpid, id, (uint64_t)aggregate, (uint32_t)k)) {
		a->routes.v[k].dead = 1;
		a->routes.v[k].next_free = a->route_free;
		a->route_free = (uint32_t)k;
		return -1;
	}
	struct lt_an_route *r = &a->routes.v[k];
	memset(r, 0, sizeof(*r));
	r->vpid = vpid;
	r->nroutes = 1;
	if (aggregate) {
		r->aggregate = 1;
		r->owner = id;
		r->declared = 1;
		r->removed = 1;
		r->nroutes = 0;
	} else {
		r->id = id;
		a->routes_created++;
	}
	lt__hist_init(&r->dispatch);
	return k;
}

/*
 * lt__route_fold - moves the statistics of removed route ri into its owner's aggregate entry and
 * frees its slot, so that routes made per request keep memory bounded. Only for a route no
 * thread dispatches.
 */
void lt__route_fold(struct lt_analysis *a, int32_t ri)
{
	struct lt_an_route *r = &a->routes.v[ri];
	if (r->aggregate || r->dead || r->active || !r->removed ||
	    a->routes_created <= LT_ROUTE_KEEP)
		return;
	int32_t gi = lt__route_get(a, r->vpid, r->owner, 1);
	if (gi < 0) {
		lt__oom(a);
		return;
	}
	r = &a->routes.v[ri];
	struct lt_an_route *g = &a->routes.v[gi];
	if (lt__hist_merge(&g->dispatch, &r->dispatch)) {
		lt__oom(a);
		return;
	}
	g->dispatches += r->dispatches;
	g->nroutes++;
	lt__map_del(&a->route_map, (uint64_t)r->vpid, r->id, 0);
	lt__hist_fini(&r->dispatch);
	r->dead = 1;
	r->next_free = a->route_free;
	a->route_free = (uint32_t)ri;
}

/* route_fold_all - folds every removed idle route (when the route count crosses the limit). */
static void route_fold_all(struct lt_analysis *a)
{
	for (uint32_t i = 0; i < a->routes.n; i++)
		lt__route_fold(a, (int32_t)i);
}

int32_t lt__site_get(struct lt_analysis *a, int32_t comp, uint32_t reason, uint64_t object,
		     uint64_t where)
{
	uint64_t k0 = ((uint64_t)(uint32_t)comp << 32) | reason;
	uint32_t i = lt__map_get(&a->site_map, k0, object, where);
	if (i != NONE32)
		return (int32_t)i;
	if (a->sites.n >= LT_SITE_CAP && (object || where)) {
		/* too many distinct sites: fold into the reason's aggregate site */
		a->an.sites_overflow++;
		return lt__site_get(a, comp, reason, 0, 0);
	}
	int32_t k = lt__vec_push(a->sites);
	if (k < 0)
		return -1;
	if (lt__map_put(&a->site_map, k0, object, where, (uint32_t)k)) {
		a->sites.n--;
		return -1;
	}
	struct lt_site *s = &a->sites.v[k];
	s->comp = comp;
	s->reason = reason;
	s->object = object;
	s->where = where;
	s->next = a->comps.v[comp].first_site;
	a->comps.v[comp].first_site = k;
	return k;
}

void lt__chan_set_depth(struct lt_an_chan *ch, uint32_t depth, int step, int64_t ts)
{
	depth = lt_depth_after(depth, ch->depth, step, ch->capacity);
	if (ts > ch->depth_since) {
		ch->depth_area += (unsigned __int128)ch->depth * (uint64_t)(ts - ch->depth_since);
		ch->depth_since = ts;
	}
	ch->depth = depth;
	if (depth > ch->max_depth)
		ch->max_depth = depth;
	double x = (double)(ts - ch->start_ns) / 1e9, y = depth;
	ch->rn += 1.0;
	ch->rt += x;
	ch->rd += y;
	ch->rtt += x * x;
	ch->rtd += x * y;
}

void lt__on_channel_declare(struct lt_analysis *a, int32_t ti, const struct lt_event *ev,
			    int64_t ts)
{
	int32_t ci = lt__chan_get(a, ev->vpid, ev->chan, ts);

	(void)ti;
	if (ci < 0) {
		lt__oom(a);
		return;
	}
	struct lt_an_chan *ch = &a->chans.v[ci];
	lt__take_name(a, &ch->name, ev->name); /* "" keeps chan-N */
	ch->capacity = ev->capacity;
	ch->object = ev->object;
	ch->declared = 1;
}

void lt__on_route_add(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts)
{
	int32_t ri = lt__route_get(a, ev->vpid, ev->route, 0);

	(void)ti;
	(void)ts;
	if (ri < 0) {
		lt__oom(a);
		return;
	}
	struct lt_an_route *r = &a->routes.v[ri];
	r->chan = ev->chan;
	r->owner = ev->owner;
	r->declared = 1;
	r->removed = 0;
}

void lt__on_route_remove(struct lt_analysis *a, int32_t ti, const struct lt_event *ev, int64_t ts)
{
	int32_t ri = lt__route_get(a, ev->vpid, ev->route, 0);

	(void)ti;
	(void)ts;
	if (ri < 0) {
		lt__oom(a);
		return;
	}
	a->routes.v[ri].removed = 1;
	if (a->routes_created > LT_ROUTE_KEEP && !a->routes_folded) {
		route_fold_all(a); /* the first time: fold those removed so far */
		a->routes_folded = 1;
	} else {
		lt__route_fold(a, ri);
	}
}
