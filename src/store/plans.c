/* plans.c: the plans table (plan_store.h). */
#include "groupbridge/plan_store.h"

#include <stdio.h>
#include <string.h>

#define PLANS_KEPT 20
#define PLAN_TEXT_MAX 1000000000

static int count_bytes(void *ctx, const char *data, size_t n, gb_error *err)
{
	(void)data;
	(void)err;
	*(sqlite3_int64 *)ctx += (sqlite3_int64)n;
	return 0;
}

struct blob_sink {
	sqlite3_blob *blob;
	int offset;
	gb_store *st;
};

static int to_blob(void *ctx, const char *data, size_t n, gb_error *err)
{
	struct blob_sink *b = ctx;

	if (sqlite3_blob_write(b->blob, data, (int)n, b->offset) != SQLITE_OK)
		return gb_store_error(b->st, err, "recording the plan");
	b->offset += (int)n;
	return 0;
}

/* A row of size bytes for the plan's text (zeros, filled by streaming). */
static int insert_row(gb_store *st, const char *command, const char *run_id, bool dry_run, sqlite3_int64 size,
		      gb_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = gb_store_prepare(st, "INSERT INTO plans(command, run_id, dry_run, json) VALUES (?1, ?2, ?3, zeroblob(?4))", &s,
			      err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, command, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, run_id && *run_id ? run_id : NULL, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, dry_run);
	sqlite3_bind_int64(s, 4, size);
	return gb_store_step_done(st, s, "recording the plan", err);
}

int gb_plan_store_save(gb_store *st, const gb_plan *plan, const char *command, const char *run_id, bool dry_run,
		       gb_error *err)
{
	struct blob_sink sink = {NULL, 0, st};
	sqlite3_int64 size = 0;
	char trim[96];
	int rc;

	rc = gb_plan_write_json(plan, count_bytes, &size, err);
	if (!rc && size > PLAN_TEXT_MAX)
		rc = gb_error_set(err, GB_ETOOBIG, "the plan's text (%lld bytes) is too big to record", (long long)size);
	if (!rc)
		rc = gb_store_begin(st, err);
	if (rc)
		return rc;
	rc = insert_row(st, command, run_id, dry_run, size, err);
	if (!rc && sqlite3_blob_open(gb_store_db(st), "main", "plans", "json", sqlite3_last_insert_rowid(gb_store_db(st)),
				     1, &sink.blob) != SQLITE_OK)
		rc = gb_store_error(st, err, "recording the plan");
	if (!rc)
		rc = gb_plan_write_json(plan, to_blob, &sink, err);
	if (!rc && sink.offset != size)
		rc = gb_error_set(err, GB_EINVAL, "recording the plan: %d bytes written of %lld", sink.offset,
				  (long long)size);
	sqlite3_blob_close(sink.blob);
	snprintf(trim, sizeof(trim), "DELETE FROM plans WHERE id <= (SELECT max(id) - %d FROM plans)", PLANS_KEPT);
	if (!rc)
		rc = gb_store_exec(st, trim, err);
	if (!rc)
		return gb_store_commit(st, err);
	gb_store_rollback(st);
	return rc;
}

static void copy_col(sqlite3_stmt *s, int i, char *dst, size_t n)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	snprintf(dst, n, "%s", t ? (const char *)t : "");
}

int gb_plan_store_latest(gb_store *st, gb_plan **out, gb_plan_info *info, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*out = NULL;
	memset(info, 0, sizeof(*info));
	rc = gb_store_prepare(st, "SELECT created, command, run_id, dry_run, json FROM plans ORDER BY id DESC LIMIT 1", &s,
			      err);
	if (rc)
		return rc;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? gb_error_set(err, GB_ENOTFOUND, "no plan is stored in %s", gb_store_path(st))
				       : gb_store_error(st, err, "reading the stored plan");
		sqlite3_finalize(s);
		return rc;
	}
	copy_col(s, 0, info->created, sizeof(info->created));
	copy_col(s, 1, info->command, sizeof(info->command));
	copy_col(s, 2, info->run_id, sizeof(info->run_id));
	info->dry_run = sqlite3_column_int(s, 3) != 0;
	rc = gb_plan_from_json((const char *)sqlite3_column_text(s, 4), out, err);
	sqlite3_finalize(s);
	return rc;
}
