/*
 * map.c - the open-addressing hash map behind every id lookup of the analysis (see map.h).
 */
#include "map.h"

#include <stdlib.h>

#define LT_MAP_NONE UINT32_MAX

void lt__map_init(struct lt_map *m)
{
	m->slots = NULL;
	m->cap = 0;
	m->len = 0;
}

void lt__map_fini(struct lt_map *m)
{
	free(m->slots);
	lt__map_init(m);
}

static void raw_insert(const struct lt_map *m, struct lt_map_slot *slots, size_t cap,
		       const struct lt_map_slot *e)
{
	size_t mask = cap - 1, i = (size_t)lt__map_hash(m, e->k0, e->k1, e->k2) & mask;
	while (slots[i].used)
		i = (i + 1) & mask;
	slots[i] = *e;
}

static int grow(struct lt_map *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 64;
	struct lt_map_slot *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -1;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].used)
			raw_insert(m, ns, ncap, &m->slots[i]);
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
	return 0;
}

int lt__map_put(struct lt_map *m, uint64_t k0, uint64_t k1, uint64_t k2, uint32_t val)
{
	if ((m->len + 1) * 2 > m->cap && grow(m) != 0)
		return -1;
	size_t mask = m->cap - 1, i = (size_t)lt__map_hash(m, k0, k1, k2) & mask;
	for (;;) {
		struct lt_map_slot *s = &m->slots[i];
		if (!s->used) {
			s->k0 = k0;
			s->k1 = k1;
			s->k2 = k2;
			s->val = val;
			s->used = 1;
			m->len++;
			return 0;
		}
		if (s->k0 == k0 && s->k1 == k1 && s->k2 == k2) {
			s->val = val;
			return 0;
		}
		i = (i + 1) & mask;
	}
}

void lt__map_del(struct lt_map *m, uint64_t k0, uint64_t k1, uint64_t k2)
{
	if (m->cap == 0)
		return;
	size_t mask = m->cap - 1, i = (size_t)lt__map_hash(m, k0, k1, k2) & mask;
	for (;;) {
		struct lt_map_slot *s = &m->slots[i];
		if (!s->used)
			return;
		if (s->k0 == k0 && s->k1 == k1 && s->k2 == k2)
			break;
		i = (i + 1) & mask;
	}
	/* backward-shift: pull later members of the probe run into the hole */
	size_t hole = i, j = i;
	for (;;) {
		j = (j + 1) & mask;
		struct lt_map_slot *s = &m->slots[j];
		if (!s->used)
			break;
		size_t home = (size_t)lt__map_hash(m, s->k0, s->k1, s->k2) & mask;
		/* s may move to the hole only if its home is not in (hole, j] cyclically */
		int in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (!in_range) {
			m->slots[hole] = *s;
			hole = j;
		}
	}
	m->slots[hole].used = 0;
	m->len--;
}
