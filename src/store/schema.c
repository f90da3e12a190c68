/* schema.c: the state database's schema, as an append-only list of migrations.
 *
 * Each module that keeps state adds its tables in a new entry at the end. A database is migrated forward inside one
 * transaction per step; a database whose version is above the end of this list was written by a newer groupbridge
 * and is refused rather than misread.
 */
#include "schema.h"

const char *const gb_schema_migrations[] = {
	/* 1: run history and a key-value table for cursors (delta links, checkpoints of simple kinds). */
	"CREATE TABLE kv ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL,"
	"  updated TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))"
	");"
	"CREATE TABLE runs ("
	"  id TEXT PRIMARY KEY,"
	"  command TEXT NOT NULL,"
	"  started TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),"
	"  ended TEXT,"
	"  exit_code INTEGER,"
	"  summary TEXT"
	");",
	/* 2: the hash-chained audit log (src/audit; see include/groupbridge/audit.h for the chain). seq is assigned by
	 * gb_audit_append, 1, 2, 3... without gaps; the head (last seq and hash) is also kept in kv "audit.head". */
	"CREATE TABLE audit_log ("
	"  seq INTEGER PRIMARY KEY,"
	"  time TEXT NOT NULL,"
	"  run_id TEXT NOT NULL,"
	"  step TEXT NOT NULL,"
	"  operation TEXT NOT NULL,"
	"  target TEXT NOT NULL,"
	"  before TEXT,"
	"  after TEXT,"
	"  result TEXT NOT NULL,"
	"  prev_hash TEXT NOT NULL,"
	"  hash TEXT NOT NULL"
	");"
	"CREATE INDEX audit_log_run ON audit_log(run_id);",
};

const size_t gb_schema_migration_count = sizeof(gb_schema_migrations) / sizeof(gb_schema_migrations[0]);
