/* schema.h: the ordered list of schema migrations (private to src/store). */
#ifndef GROUPBRIDGE_STORE_SCHEMA_H
#define GROUPBRIDGE_STORE_SCHEMA_H

#include <stddef.h>

/* Migration i (0-based) brings the schema from version i to version i + 1. Append only: never edit a migration
 * that has shipped, add a new one. */
extern const char *const gb_schema_migrations[];
extern const size_t gb_schema_migration_count;

#endif
