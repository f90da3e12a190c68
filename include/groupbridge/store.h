/*
 * store.h: the state database (SQLite).
 *
 * One file per forest holds checkpoints, imports, delta links, the audit log and run history. It is opened in WAL
 * mode with foreign keys on, created with mode 0600, and migrated to the current schema version on open (the
 * migrations are a list in src/store/schema.c; a database newer than this build is refused). Only one process at a
 * time may use a state file: gb_store_open takes an exclusive lock on "<path>.lock" and writes the holder's
 * description into it, and a second opener gets GB_ELOCKED with a message naming that holder.
 */
#ifndef GROUPBRIDGE_STORE_H
#define GROUPBRIDGE_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "groupbridge/error.h"

typedef struct gb_store gb_store;

/* Opens (creating when absent) the state database at path, takes the run lock, and applies schema migrations.
 * holder describes this run for a second process's message, such as "provision (pid 42)"; NULL means the command
 * line is not known. GB_ELOCKED when another process holds the lock; GB_ESTATE when the file is not a groupbridge
 * database or is newer than this build; GB_EIO otherwise. *out belongs to the caller (gb_store_free). */
int gb_store_open(const char *path, const char *holder, gb_store **out, gb_error *err);

/* Opens read-only without taking the run lock (reports and status may read while a run works). The file must
 * exist and be at the current schema version. */
int gb_store_open_readonly(const char *path, gb_store **out, gb_error *err);

/* Closes the database and releases the lock; NULL is fine. */
void gb_store_free(gb_store *st);

/* The SQLite handle, borrowed for as long as st lives. */
sqlite3 *gb_store_db(gb_store *st);

/* The path the store was opened with (borrowed). */
const char *gb_store_path(const gb_store *st);

/* The schema version of the open database. */
int gb_store_schema_version(gb_store *st);

/* Transactions. begin uses BEGIN IMMEDIATE so that the write lock is taken up front. rollback never fails
 * visibly (it is the cleanup path). */
int gb_store_begin(gb_store *st, gb_error *err);
int gb_store_commit(gb_store *st, gb_error *err);
void gb_store_rollback(gb_store *st);

/* Runs SQL that returns no rows (schema statements, simple updates). */
int gb_store_exec(gb_store *st, const char *sql, gb_error *err);

/* Prepares a statement; *out belongs to the caller (sqlite3_finalize). The message names the SQL's first words. */
int gb_store_prepare(gb_store *st, const char *sql, sqlite3_stmt **out, gb_error *err);

/* Wraps the last SQLite error of st into err with code GB_EIO (GB_EIO for a full disk too, with SQLite's words),
 * prefixed by what. Returns the code. */
int gb_store_error(gb_store *st, gb_error *err, const char *what);

/* Steps s, a statement that returns no rows, to its end and finalizes it (s is consumed either way). 0, or
 * gb_store_error(what) when it did not end with SQLITE_DONE (the error read before s is finalized). */
int gb_store_step_done(gb_store *st, sqlite3_stmt *s, const char *what, gb_error *err);

/* A small key-value table for run state (delta links, cursors): get gives an allocated copy (GB_ENOTFOUND when
 * absent), set replaces, del removes (absent is fine). Namespaced keys such as "graph.delta.groups". */
int gb_store_kv_get(gb_store *st, const char *key, char **out, gb_error *err);
int gb_store_kv_set(gb_store *st, const char *key, const char *value, gb_error *err);
int gb_store_kv_del(gb_store *st, const char *key, gb_error *err);

/* Records the start of a run (command line without secrets) and returns its id (a UUID) in out (37 bytes). */
int gb_store_run_begin(gb_store *st, const char *command, char *out, size_t n, gb_error *err);
/* Records the end of a run with its exit code and a one-line summary. */
int gb_store_run_end(gb_store *st, const char *run_id, int exit_code, const char *summary, gb_error *err);

#endif
