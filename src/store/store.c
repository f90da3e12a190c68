/* store.c: the SQLite state database, its schema migrations and the one-run-at-a-time lock. */
#include "groupbridge/store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "groupbridge/util.h"
#include "schema.h"

struct gb_store {
	sqlite3 *db;
	char *path;
	int lock_fd; /* -1 for read-only opens */
	int version;
};

/* SQLite's message, or plain words when the real cause is a full disk (SQLite reports ENOSPC while creating its
 * WAL or journal as a generic "disk I/O error"). */
static const char *describe(sqlite3 *db)
{
	if (!db)
		return "cannot open";
	if (sqlite3_errcode(db) == SQLITE_FULL || sqlite3_system_errno(db) == ENOSPC)
		return "no space left on the device: the disk is full (nothing was written)";
	return sqlite3_errmsg(db);
}

static int sql_fail(sqlite3 *db, gb_error *err, int code, const char *what, const char *path)
{
	return gb_error_set(err, code, "%s %s: %s", what, path, describe(db));
}

/* Takes an exclusive, non-blocking lock on PATH.lock; on contention reads who holds it. */
static int take_lock(const char *path, const char *holder, int *out_fd, gb_error *err)
{
	char lpath[PATH_MAX], who[512], ts[32];
	int fd, n;

	*out_fd = -1;
	if (snprintf(lpath, sizeof(lpath), "%s.lock", path) >= (int)sizeof(lpath))
		return gb_error_set(err, GB_EINVAL, "state path too long: %s", path);
	fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return gb_error_set(err, GB_EIO, "opening lock file %s: %s", lpath, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		ssize_t r = pread(fd, who, sizeof(who) - 1, 0);
		close(fd);
		if (e != EWOULDBLOCK)
			return gb_error_set(err, GB_EIO, "locking %s: %s", lpath, strerror(e));
		who[r > 0 ? r : 0] = '\0';
		who[strcspn(who, "\n")] = '\0';
		return gb_error_set(err, GB_ELOCKED, "state %s is in use by another groupbridge run (%s); wait for it to "
						     "finish, or stop it",
				    path, who[0] ? who : "holder unknown");
	}
	gb_time_iso8601(ts, sizeof(ts));
	n = snprintf(who, sizeof(who), "pid %ld, %s, since %s\n", (long)getpid(), holder ? holder : "groupbridge",
		     ts);
	if (ftruncate(fd, 0) != 0 || pwrite(fd, who, (size_t)n, 0) != n) {
		close(fd);
		return gb_error_set(err, GB_EIO, "writing lock file %s: %s", lpath, strerror(errno));
	}
	*out_fd = fd;
	return 0;
}

static int read_version(sqlite3 *db, int *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = 0;
	rc = sqlite3_prepare_v2(db,
				"SELECT count(*) FROM sqlite_master WHERE type='table' AND name='schema_version'",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_int(st, 0) == 0) {
		sqlite3_finalize(st);
		return SQLITE_OK;
	}
	sqlite3_finalize(st);
	rc = sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return SQLITE_OK;
}

static int migrate(gb_store *s, gb_error *err)
{
	char sql[64];
	size_t v;
	int rc;

	if (read_version(s->db, &s->version) != SQLITE_OK)
		return gb_error_set(err, GB_ESTATE, "%s is not a groupbridge state database: %s", s->path,
				    sqlite3_errmsg(s->db));
	if (s->version > (int)gb_schema_migration_count)
		return gb_error_set(err, GB_ESTATE, "%s has schema version %d, newer than this groupbridge knows (%zu); "
						    "use a newer groupbridge",
				    s->path, s->version, gb_schema_migration_count);
	for (v = (size_t)s->version; v < gb_schema_migration_count; v++) {
		rc = gb_store_begin(s, err);
		if (rc)
			return rc;
		if (v == 0 && sqlite3_exec(s->db, "CREATE TABLE schema_version (version INTEGER NOT NULL);"
						  "INSERT INTO schema_version VALUES (0);",
					   NULL, NULL, NULL) != SQLITE_OK)
			goto fail;
		if (sqlite3_exec(s->db, gb_schema_migrations[v], NULL, NULL, NULL) != SQLITE_OK)
			goto fail;
		snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %zu", v + 1);
		if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
			goto fail;
		rc = gb_store_commit(s, err);
		if (rc)
			return rc;
		s->version = (int)v + 1;
	}
	return 0;
fail:
	gb_error_set(err, GB_ESTATE, "migrating %s to schema version %zu: %s", s->path, v + 1, describe(s->db));
	gb_store_rollback(s);
	return GB_ESTATE;
}

static int open_db(const char *path, int flags, gb_store **out, gb_error *err)
{
	gb_store *s;

	s = calloc(1, sizeof(*s));
	if (!s)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	s->lock_fd = -1;
	s->path = gb_strdup(path);
	if (!s->path) {
		free(s);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
		sql_fail(s->db, err, GB_EIO, "opening state", path);
		gb_store_free(s);
		return GB_EIO;
	}
	sqlite3_busy_timeout(s->db, 5000);
	sqlite3_extended_result_codes(s->db, 1);
	*out = s;
	return 0;
}

int gb_store_open(const char *path, const char *holder, gb_store **out, gb_error *err)
{
	gb_store *s = NULL;
	mode_t old;
	int fd, rc;

	*out = NULL;
	rc = take_lock(path, holder, &fd, err);
	if (rc)
		return rc;
	/* Create the file owner-only: SQLite honours the umask, and the WAL and SHM files copy the main file's mode. */
	old = umask(077);
	rc = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, &s, err);
	if (rc == 0 && chmod(path, 0600) != 0)
		rc = gb_error_set(err, GB_EIO, "setting mode 0600 on %s: %s", path, strerror(errno));
	if (rc == 0 && (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;",
				     NULL, NULL, NULL) != SQLITE_OK))
		rc = sql_fail(s->db, err, GB_ESTATE, "configuring state", path);
	if (rc == 0) {
		s->lock_fd = fd;
		fd = -1;
		rc = migrate(s, err);
	}
	umask(old);
	if (fd >= 0)
		close(fd);
	if (rc) {
		gb_store_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int gb_store_open_readonly(const char *path, gb_store **out, gb_error *err)
{
	gb_store *s = NULL;
	int rc;

	*out = NULL;
	if (access(path, R_OK) != 0)
		return gb_error_set(err, errno == ENOENT ? GB_ENOTFOUND : GB_EIO, "state %s: %s", path, strerror(errno));
	rc = open_db(path, SQLITE_OPEN_READONLY, &s, err);
	if (rc)
		return rc;
	if (read_version(s->db, &s->version) != SQLITE_OK || s->version != (int)gb_schema_migration_count) {
		rc = gb_error_set(err, GB_ESTATE, "state %s is at schema version %d, this groupbridge needs %zu; run a "
						  "command that writes state first",
				  path, s->version, gb_schema_migration_count);
		gb_store_free(s);
		return rc;
	}
	sqlite3_exec(s->db, "PRAGMA foreign_keys=ON;", NULL, NULL, NULL);
	*out = s;
	return 0;
}

void gb_store_free(gb_store *st)
{
	if (!st)
		return;
	if (st->db)
		sqlite3_close_v2(st->db);
	if (st->lock_fd >= 0)
		close(st->lock_fd); /* releases the flock; the lock file stays, harmlessly */
	free(st->path);
	free(st);
}

sqlite3 *gb_store_db(gb_store *st)
{
	return st->db;
}

const char *gb_store_path(const gb_store *st)
{
	return st->path;
}

int gb_store_schema_version(gb_store *st)
{
	return st->version;
}

int gb_store_error(gb_store *st, gb_error *err, const char *what)
{
	return gb_error_set(err, GB_EIO, "%s (state %s): %s", what, st->path, describe(st->db));
}

int gb_store_step_done(gb_store *st, sqlite3_stmt *s, const char *what, gb_error *err)
{
	int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : gb_store_error(st, err, what);

	sqlite3_finalize(s);
	return rc;
}

int gb_store_exec(gb_store *st, const char *sql, gb_error *err)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		gb_error_set(err, GB_EIO, "state %s: %.60s...: %s", st->path, sql,
			     sqlite3_system_errno(st->db) == ENOSPC || sqlite3_errcode(st->db) == SQLITE_FULL
				     ? describe(st->db)
				     : msg ? msg : "failed");
		sqlite3_free(msg);
		return GB_EIO;
	}
	return 0;
}

int gb_store_begin(gb_store *st, gb_error *err)
{
	return gb_store_exec(st, "BEGIN IMMEDIATE", err);
}

int gb_store_commit(gb_store *st, gb_error *err)
{
	int rc = gb_store_exec(st, "COMMIT", err);

	if (rc)
		gb_store_rollback(st);
	return rc;
}

void gb_store_rollback(gb_store *st)
{
	if (st && st->db && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

int gb_store_prepare(gb_store *st, const char *sql, sqlite3_stmt **out, gb_error *err)
{
	*out = NULL;
	if (sqlite3_prepare_v2(st->db, sql, -1, out, NULL) != SQLITE_OK)
		return gb_error_set(err, GB_EIO, "state %s: preparing %.60s: %s", st->path, sql, describe(st->db));
	return 0;
}

int gb_store_kv_get(gb_store *st, const char *key, char **out, gb_error *err)
{
	sqlite3_stmt *s;
	int rc;

	*out = NULL;
	rc = gb_store_prepare(st, "SELECT value FROM kv WHERE key = ?1", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = gb_strdup((const char *)sqlite3_column_text(s, 0));
		rc = *out ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
	} else if (rc == SQLITE_DONE) {
		rc = gb_error_set(err, GB_ENOTFOUND, "no state value %s", key);
	} else {
		rc = gb_store_error(st, err, "reading state value");
	}
	sqlite3_finalize(s);
	return rc;
}

int gb_store_kv_set(gb_store *st, const char *key, const char *value, gb_error *err)
{
	sqlite3_stmt *s;
	int rc;

	rc = gb_store_prepare(st,
			      "INSERT INTO kv(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = "
			      "excluded.value, updated = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
			      &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	return gb_store_step_done(st, s, "writing state value", err);
}

int gb_store_kv_del(gb_store *st, const char *key, gb_error *err)
{
	sqlite3_stmt *s;
	int rc;

	rc = gb_store_prepare(st, "DELETE FROM kv WHERE key = ?1", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	return gb_store_step_done(st, s, "deleting state value", err);
}

int gb_store_run_begin(gb_store *st, const char *command, char *out, size_t n, gb_error *err)
{
	sqlite3_stmt *s;
	int rc;

	rc = gb_uuid_v4(out, n, err);
	if (rc)
		return rc;
	rc = gb_store_prepare(st, "INSERT INTO runs(id, command) VALUES (?1, ?2)", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, out, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, command, -1, SQLITE_STATIC);
	return gb_store_step_done(st, s, "recording the run", err);
}

int gb_store_run_end(gb_store *st, const char *run_id, int exit_code, const char *summary, gb_error *err)
{
	sqlite3_stmt *s;
	int rc;

	rc = gb_store_prepare(st,
			      "UPDATE runs SET ended = strftime('%Y-%m-%dT%H:%M:%fZ','now'), exit_code = ?2, summary = ?3 "
			      "WHERE id = ?1",
			      &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, run_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, exit_code);
	sqlite3_bind_text(s, 3, summary, -1, SQLITE_STATIC);
	return gb_store_step_done(st, s, "recording the end of the run", err);
}
