/*
 * map.h: a hash map from strings to pointers (open addressing, linear probing).
 *
 * Keys are copied and owned by the map; values are borrowed (the map never frees them). Lookups of object ids,
 * GUIDs and DNs at the scale of a tenant (hundreds of thousands of keys) are O(1). A map created with
 * GB_MAP_ICASE compares and hashes keys ASCII case-insensitively (GUIDs and DNs from different sources differ in
 * case).
 */
#ifndef GROUPBRIDGE_MAP_H
#define GROUPBRIDGE_MAP_H

#include <stddef.h>

#include "groupbridge/error.h"

#define GB_MAP_ICASE 1

typedef struct gb_map gb_map;

/* A new empty map; flags 0 or GB_MAP_ICASE. *out belongs to the caller (gb_map_free). */
int gb_map_new(int flags, gb_map **out, gb_error *err);
void gb_map_free(gb_map *m);

/* Sets key to value (replacing an existing value). GB_ENOMEM on failure, the map unchanged. */
int gb_map_set(gb_map *m, const char *key, void *value, gb_error *err);

/* The value for key, or NULL when absent (store non-NULL values to tell the two apart). */
void *gb_map_get(const gb_map *m, const char *key);

/* Removes key; returns 1 when it was there, 0 when not. */
int gb_map_del(gb_map *m, const char *key);

size_t gb_map_count(const gb_map *m);

/* Diagnostics, for tests: the longest distance (in slots) between a key and the slot its probe starts at; 0 for an
 * empty map. A lookup of an absent key walks at least that far in the worst case. */
size_t gb_map_longest_probe(const gb_map *m);

/* Iteration: start with *pos = 0; returns 1 and fills key/value while entries remain, 0 at the end. The map must
 * not change during an iteration. Order is unspecified. */
int gb_map_next(const gb_map *m, size_t *pos, const char **key, void **value);

#endif
