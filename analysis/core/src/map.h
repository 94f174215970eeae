/*
 * map.h - an open-addressing hash map from a key of three 64-bit words to a 32-bit value
 * (an index into one of the analysis' arrays). Linear probing, backward-shift deletion (no
 * tombstones), load factor <= 1/2; the table only grows.
 */
#ifndef LT_ANALYSIS_MAP_H
#define LT_ANALYSIS_MAP_H

#include <stddef.h>
#include <stdint.h>

struct lt_map_slot {
	uint64_t k0, k1, k2;
	uint32_t val;
	uint32_t used;
};

struct lt_map {
	struct lt_map_slot *slots; /* owned */
	size_t cap;                /* power of two */
	size_t len;
};

void lt__map_init(struct lt_map *m);
void lt__map_fini(struct lt_map *m);
/* lt__map_mix - the hash of a key. */
static inline uint64_t lt__map_mix_(uint64_t k0, uint64_t k1, uint64_t k2)
{
	uint64_t h = k0 * 0x9E3779B97F4A7C15ull;
	h ^= k1 + 0xC2B2AE3D27D4EB4Full + (h << 6) + (h >> 2);
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= k2 + 0x165667B19E3779F9ull + (h << 6) + (h >> 2);
	h ^= h >> 31;
	h *= 0x94D049BB133111EBull;
	h ^= h >> 29;
	return h;
}

/* lt__map_hash - the hash of a key in m (all three words mixed). */
static inline uint64_t lt__map_hash(const struct lt_map *m, uint64_t k0, uint64_t k1, uint64_t k2)
{
	(void)m;
	return lt__map_mix_(k0, k1, k2);
}

/* lt__map_get - the value for the key, or UINT32_MAX when absent (inline: the hot path). */
static inline uint32_t lt__map_get(const struct lt_map *m, uint64_t k0, uint64_t k1, uint64_t k2)
{
	if (m->cap == 0)
		return UINT32_MAX;
	size_t mask = m->cap - 1, i = (size_t)lt__map_hash(m, k0, k1, k2) & mask;
	for (;;) {
		const struct lt_map_slot *s = &m->slots[i];
		if (!s->used)
			return UINT32_MAX;
		if (s->k0 == k0 && s->k1 == k1 && s->k2 == k2)
			return s->val;
		i = (i + 1) & mask;
	}
}
/* lt__map_put - sets the value of the key (inserting it). Returns 0, or -1 out of memory. */
int lt__map_put(struct lt_map *m, uint64_t k0, uint64_t k1, uint64_t k2, uint32_t val);
/* lt__map_del - removes the key if present. */
void lt__map_del(struct lt_map *m, uint64_t k0, uint64_t k1, uint64_t k2);

#endif /* LT_ANALYSIS_MAP_H */
