/* map.c: string-keyed hash map with linear probing and tombstones.
 *
 * Each slot keeps its key's full hash, so a probe compares strings only when the hashes agree. The slot comes from
 * the hash mixed with the table's size: a map filled by walking another map (the usual way a pass narrows one
 * set of ids to another) would otherwise receive its keys in the first map's slot order, and with linear probing
 * and a smaller table that order builds long runs (with 11,100 ids copied that way, 15 times the probes of a
 * random order). Mixing in the size makes the two orders unrelated and keeps iteration deterministic. */
#include "groupbridge/map.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/util.h"

#define TOMBSTONE ((char *)&tombstone_mark)
static const char tombstone_mark = 0;

struct gb_map {
	char **keys;   /* NULL: empty slot; TOMBSTONE: deleted */
	void **values;
	uint64_t *hashes; /* hash(keys[i]) for a live slot */
	size_t cap;    /* a power of two */
	size_t count;  /* live keys */
	size_t used;   /* live keys and tombstones */
	int icase;
};

/* The invariants: the capacity is a power of two of at least 16, and at least one slot stays empty, so that a
 * probe always ends (set resizes before used reaches three quarters of cap). */
static void check(const gb_map *m)
{
	assert(m);
	assert(m->cap >= 16 && (m->cap & (m->cap - 1)) == 0);
	assert(m->count <= m->used && m->used < m->cap);
	(void)m;
}

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static uint64_t hash(const char *s, int icase)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)(icase ? lower((unsigned char)*s) : *s);
		h *= 1099511628211ULL;
	}
	return h;
}

static int same(const gb_map *m, const char *a, const char *b)
{
	return m->icase ? gb_strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

/* The first slot to probe for hash h in a table of cap slots: h and cap through a 64-bit finaliser (MurmurHash3's
 * fmix64), so that tables of different sizes order the same keys unrelatedly. */
static size_t home(uint64_t h, size_t cap)
{
	h ^= (uint64_t)cap * 0x9e3779b97f4a7c15ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (size_t)h & (cap - 1);
}

int gb_map_new(int flags, gb_map **out, gb_error *err)
{
	gb_map *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	m->icase = flags & GB_MAP_ICASE;
	m->cap = 16;
	m->keys = calloc(m->cap, sizeof(char *));
	m->values = calloc(m->cap, sizeof(void *));
	m->hashes = calloc(m->cap, sizeof(uint64_t));
	if (!m->keys || !m->values || !m->hashes) {
		gb_map_free(m);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	*out = m;
	return 0;
}

void gb_map_free(gb_map *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; m->keys && i < m->cap; i++)
		if (m->keys[i] && m->keys[i] != TOMBSTONE)
			free(m->keys[i]);
	free(m->keys);
	free(m->values);
	free(m->hashes);
	free(m);
}

/* The slot holding a key of hash h (key NULL: none is there, as while resizing), or (when absent) the slot where it
 * would go. */
static size_t find(const gb_map *m, const char *key, uint64_t h, int *found)
{
	size_t mask = m->cap - 1, i = home(h, m->cap), first_free = SIZE_MAX;

	for (;;) {
		char *k = m->keys[i];
		if (!k) {
			*found = 0;
			return first_free != SIZE_MAX ? first_free : i;
		}
		if (k == TOMBSTONE) {
			if (first_free == SIZE_MAX)
				first_free = i;
		} else if (key && m->hashes[i] == h && same(m, k, key)) {
			*found = 1;
			return i;
		}
		i = (i + 1) & mask;
	}
}

static int resize(gb_map *m, size_t cap)
{
	char **keys = calloc(cap, sizeof(char *)), **old_keys = m->keys;
	void **values = calloc(cap, sizeof(void *)), **old_values = m->values;
	uint64_t *hashes = calloc(cap, sizeof(uint64_t)), *old_hashes = m->hashes;
	size_t i, old_cap = m->cap;

	if (!keys || !values || !hashes) {
		free(keys);
		free(values);
		free(hashes);
		return GB_ENOMEM;
	}
	m->keys = keys;
	m->values = values;
	m->hashes = hashes;
	m->cap = cap;
	m->used = m->count;
	for (i = 0; i < old_cap; i++) {
		int found;
		size_t j;
		if (!old_keys[i] || old_keys[i] == TOMBSTONE)
			continue;
		j = find(m, NULL, old_hashes[i], &found);
		m->keys[j] = old_keys[i];
		m->values[j] = old_values[i];
		m->hashes[j] = old_hashes[i];
	}
	free(old_keys);
	free(old_values);
	free(old_hashes);
	return 0;
}

int gb_map_set(gb_map *m, const char *key, void *value, gb_error *err)
{
	size_t i;
	int found;
	char *copy;
	uint64_t h;

	check(m);
	assert(key);
	if ((m->used + 1) * 4 > m->cap * 3 && resize(m, m->count * 2 + 1 > m->cap / 2 ? m->cap * 2 : m->cap))
		return gb_error_set(err, GB_ENOMEM, "out of memory growing a map to %zu entries", m->cap * 2);
	h = hash(key, m->icase);
	i = find(m, key, h, &found);
	if (found) {
		m->values[i] = value;
		return 0;
	}
	copy = gb_strdup(key);
	if (!copy)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	if (m->keys[i] != TOMBSTONE)
		m->used++;
	m->keys[i] = copy;
	m->values[i] = value;
	m->hashes[i] = h;
	m->count++;
	return 0;
}

void *gb_map_get(const gb_map *m, const char *key)
{
	int found;
	size_t i;

	check(m);
	assert(key);
	i = find(m, key, hash(key, m->icase), &found);
	return found ? m->values[i] : NULL;
}

int gb_map_del(gb_map *m, const char *key)
{
	int found;
	size_t i;

	check(m);
	assert(key);
	i = find(m, key, hash(key, m->icase), &found);
	if (!found)
		return 0;
	free(m->keys[i]);
	m->keys[i] = TOMBSTONE;
	m->values[i] = NULL;
	m->count--;
	return 1;
}

size_t gb_map_count(const gb_map *m)
{
	return m->count;
}

size_t gb_map_longest_probe(const gb_map *m)
{
	size_t i, d, longest = 0;

	check(m);
	for (i = 0; i < m->cap; i++) {
		if (!m->keys[i] || m->keys[i] == TOMBSTONE)
			continue;
		d = (i - home(m->hashes[i], m->cap)) & (m->cap - 1);
		if (d > longest)
			longest = d;
	}
	return longest;
}

int gb_map_next(const gb_map *m, size_t *pos, const char **key, void **value)
{
	check(m);
	for (; *pos < m->cap; (*pos)++) {
		char *k = m->keys[*pos];
		if (k && k != TOMBSTONE) {
			*key = k;
			*value = m->values[*pos];
			(*pos)++;
			return 1;
		}
	}
	return 0;
}
