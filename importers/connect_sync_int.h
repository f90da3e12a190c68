/* connect_sync_int.h: helpers shared by the Connect Sync importer's files (private to importers/). */
#ifndef GROUPBRIDGE_IMPORTERS_CONNECT_SYNC_INT_H
#define GROUPBRIDGE_IMPORTERS_CONNECT_SYNC_INT_H

#include "groupbridge/connect_sync.h"

/* Makes room for element count of an array of elem-sized items whose capacity is the next power of two; the new
 * element is zeroed. Returns the (possibly moved) array, or NULL on allocation failure (arr is then unchanged). */
void *gb_cs_grow(void *arr, size_t count, size_t elem);

int gb_cs_strlist_add(gb_cs_strlist *l, const char *s);
bool gb_cs_strlist_has(const gb_cs_strlist *l, const char *s);
void gb_cs_strlist_free(gb_cs_strlist *l);
void gb_cs_params_free(gb_cs_params *p);
bool gb_cs_has_param(const gb_cs_params *params, const char *name);

/* A GUID without braces, in lower case (allocated); NULL for NULL input or on allocation failure. */
char *gb_cs_guid_norm(const char *s);

void gb_cs_findings_clear(gb_cs_export *exp);
void gb_cs_extensions_clear(gb_cs_export *exp);

#endif
