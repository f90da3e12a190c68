/* step_stamp.c: step 3, copy adminDescription into msDS-ExternalDirectoryObjectId on every ready group.
 *
 * Microsoft's procedure (migration guide, step 1) adds the value with PowerShell; this does the same over LDAP, as an
 * add-if-absent operation (GB_OP_ADD_VALUE: an LDAP add of the value), so that a value written by someone else in the
 * meantime makes the operation fail instead of being overwritten. An equal value is skipped; a different one is that
 * group's conflict. The rollback deletes only the values this step wrote, and only while they are still the value it
 * wrote (GB_OP_DELETE_VALUE: delete-if-equal). Which values it wrote is migration_groups.stamped, changed by the
 * engine's hook in the transaction of each operation's audit record.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/audit.h"
#include "groupbridge/util.h"
#include "steps_int.h"

#define ANCHOR GB_DIRECTORY_ANCHOR_ATTR

typedef struct row {
	char *id, *guid, *admin_description, *anchor_before;
	int stamped;
} row;

static void rows_free(row *rows, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(rows[i].id);
		free(rows[i].guid);
		free(rows[i].admin_description);
		free(rows[i].anchor_before);
	}
	free(rows);
}

static int load_rows(gb_migrate_ctx *c, const char *where, row **out, size_t *n, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	char sql[256];
	row *rows = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	snprintf(sql, sizeof(sql), "SELECT object_id, ad_guid, admin_description, anchor_before, stamped FROM "
				   "migration_groups WHERE %s ORDER BY object_id", where);
	rc = gb_store_prepare(c->st, sql, &s, err);
	while (!rc && sqlite3_step(s) == SQLITE_ROW) {
		row *r = realloc(rows, (*n + 1) * sizeof(*r));
		if (!r) {
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
			break;
		}
		rows = r;
		rows[*n].id = gb_strdup((const char *)sqlite3_column_text(s, 0));
		rows[*n].guid = gb_strdup((const char *)sqlite3_column_text(s, 1));
		rows[*n].admin_description = gb_strdup((const char *)sqlite3_column_text(s, 2));
		rows[*n].anchor_before = gb_strdup((const char *)sqlite3_column_text(s, 3));
		rows[*n].stamped = sqlite3_column_int(s, 4);
		(*n)++;
	}
	sqlite3_finalize(s);
	if (rc) {
		rows_free(rows, *n);
		*n = 0;
		return rc;
	}
	*out = rows;
	return 0;
}

/* The directory to read, once the writeback OU (the step's write fence, runner.c) is known: this step writes
 * nowhere else, and says so before it plans anything. */
static int step_dir(gb_migrate_ctx *c, gb_directory **out, gb_error *err)
{
	char *ou = NULL;
	int rc = gb_step_writeback_ou(c, &ou, err);

	free(ou);
	return rc ? rc : gb_migrate_dir(c, out, err);
}

/* The AD group of a row, by its objectGUID (a rename does not lose it); GB_ENOTFOUND when it is gone. */
static int read_row_group(gb_directory *dir, const row *r, gb_ad_group **out, gb_error *err)
{
	char target[64];

	snprintf(target, sizeof(target), "<GUID=%s>", r->guid);
	return gb_directory_read_group(dir, target, false, out, err);
}

/* One change of the anchor of group a (before and after as gb_op_add_attr), addressed by its GUID. */
static int anchor_op(gb_plan *plan, gb_op_kind kind, const row *r, const gb_ad_group *a, const char *why,
		     const char *before, const char *after, gb_error *err)
{
	gb_op *op;
	int rc = gb_plan_add_op(plan, kind, r->id, a->dn, why, &op, err);

	if (!rc)
		rc = gb_op_set_guid(op, a->guid, err);
	if (!rc)
		rc = gb_op_add_attr(op, ANCHOR, before, after, err);
	return rc;
}

/* The end of a plan: the rows freed, and the plan the caller's (*out) on success or freed on failure. */
static int plan_done(gb_plan *plan, row *rows, size_t n, int rc, gb_plan **out)
{
	rows_free(rows, n);
	if (rc) {
		gb_plan_free(plan);
		return rc;
	}
	*out = plan;
	return 0;
}

/* What a plan does for one row whose AD group is a (NULL: the group is gone). */
typedef int (*row_plan)(gb_plan *plan, const row *r, const gb_ad_group *a, gb_error *err);

/* A plan (*out, the caller's) with what fn adds for each row that matches where, each row's AD group read from dir;
 * dir NULL: opened (step_dir) only when some row matches. */
static int plan_rows(gb_migrate_ctx *c, gb_directory *dir, const char *where, row_plan fn, gb_plan **out,
		     gb_error *err)
{
	gb_plan *plan = NULL;
	row *rows = NULL;
	size_t n = 0, i;
	int rc;

	*out = NULL;
	rc = load_rows(c, where, &rows, &n, err);
	if (!rc)
		rc = gb_plan_new(&plan, err);
	if (!rc && n && !dir)
		rc = step_dir(c, &dir, err);
	for (i = 0; !rc && i < n; i++) {
		gb_ad_group *a = NULL;

		rc = read_row_group(dir, &rows[i], &a, err);
		if (rc == GB_ENOTFOUND || !rc)
			rc = fn(plan, &rows[i], a, err);
		gb_ad_group_free(a);
	}
	return plan_done(plan, rows, n, rc, out);
}

static int stamp_row(gb_plan *plan, const row *r, const gb_ad_group *a, gb_error *err)
{
	if (!a)
		return gb_plan_note(plan, GB_NOTE_GROUP_ERROR, r->id, NULL, "ad-group-gone", err,
				    "group %s: its AD group %s no longer exists; run the inventory again", r->id, r->guid);
	if (a->anchor && strcmp(a->anchor, r->admin_description) == 0)
		return 0; /* already stamped: nothing to do */
	if (a->anchor)
		return gb_plan_note(plan, GB_NOTE_GROUP_ERROR, r->id, NULL, "anchor-conflict", err,
				    "group %s (%s): %s is %s, not %s; resolve by hand", r->id, a->dn, ANCHOR, a->anchor,
				    r->admin_description);
	return anchor_op(plan, GB_OP_ADD_VALUE, r, a, "copy adminDescription into the anchor (migration guide, step 1)",
			 NULL, r->admin_description, err);
}

int gb_step_stamp_plan(gb_migrate_ctx *c, gb_plan **out, gb_error *err)
{
	gb_directory *dir = NULL;
	int rc;

	*out = NULL;
	rc = step_dir(c, &dir, err);
	return rc ? rc : plan_rows(c, dir, "class = 'ready'", stamp_row, out, err);
}

static int mark(gb_store *st, const char *id, int stamped, gb_error *err)
{
	sqlite3_stmt *s;
	int rc = gb_store_prepare(st, "UPDATE migration_groups SET stamped = ?2 WHERE object_id = ?1", &s, err);

	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, stamped);
	return gb_store_step_done(st, s, "recording a stamped anchor", err);
}

/* The engine's hook: a stamp written (or, by the rollback, removed) is marked with its audit record. */
int gb_step_stamp_hook(void *ctx, gb_store *st, const gb_op *op, const gb_apply_outcome *o, gb_error *err)
{
	(void)ctx;
	if (o->outcome != GB_OUTCOME_OK || !op->object_id)
		return 0;
	if (op->kind == GB_OP_ADD_VALUE)
		return mark(st, op->object_id, 1, err);
	if (op->kind == GB_OP_DELETE_VALUE)
		return mark(st, op->object_id, 0, err);
	return 0;
}

/* Whether the audit log records a successful stamp of dn since the step was last rolled back. */
static int recorded_since_rollback(gb_migrate_ctx *c, const char *dn, bool *out, gb_error *err)
{
	gb_audit_query q;
	char rolled_back[64];
	int64_t since = 0, seq = 0;
	int rc;

	*out = false;
	gb_step_state_json(GB_STEP_ROLLED_BACK, rolled_back, sizeof(rolled_back));
	memset(&q, 0, sizeof(q));
	q.step = "stamp-anchors";
	q.operation = "step.state";
	q.after = rolled_back;
	rc = gb_audit_last_seq(c->st, &q, &since, err);
	memset(&q, 0, sizeof(q));
	q.step = "stamp-anchors";
	q.operation = gb_op_kind_operation(GB_OP_ADD_VALUE);
	q.target = dn;
	q.outcome = GB_OUTCOME_OK;
	q.since_seq = since;
	if (!rc)
		rc = gb_audit_last_seq(c->st, &q, &seq, err);
	*out = seq > 0;
	return rc;
}

/* A stamp found in AD that a killed run wrote but did not record: marked, with its record, in one transaction. */
static int record_found(gb_migrate_ctx *c, const char *id, const gb_ad_group *a, gb_error *err)
{
	gb_audit_entry e;
	json_t *j = json_pack("{s:s}", ANCHOR, a->anchor);
	char *after = j ? json_dumps(j, JSON_COMPACT) : NULL;
	int rc;

	json_decref(j);
	rc = after ? gb_store_begin(c->st, err) : gb_error_set(err, GB_ENOMEM, "out of memory");
	if (rc) {
		free(after);
		return rc;
	}
	rc = mark(c->st, id, 1, err);
	memset(&e, 0, sizeof(e));
	e.run_id = c->run_id;
	e.step = "stamp-anchors";
	e.operation = gb_op_kind_operation(GB_OP_ADD_VALUE);
	e.target = a->dn;
	e.after = after;
	e.outcome = GB_OUTCOME_OK;
	e.message = "found done after an interrupted run";
	if (!rc)
		rc = gb_audit_append(c->st, &e, NULL, err);
	free(after);
	if (!rc)
		return gb_store_commit(c->st, err);
	gb_store_rollback(c->st);
	return rc;
}

int gb_step_stamp_verify(gb_migrate_ctx *c, gb_error *err)
{
	gb_directory *dir = NULL;
	row *rows = NULL;
	size_t n = 0, i, bad = 0;
	int rc;

	rc = step_dir(c, &dir, err);
	if (!rc)
		rc = load_rows(c, "class = 'ready'", &rows, &n, err);
	for (i = 0; !rc && i < n; i++) {
		gb_ad_group *a = NULL;

		rc = read_row_group(dir, &rows[i], &a, err);
		if (!rc && (!a->anchor || strcmp(a->anchor, rows[i].admin_description) != 0) && bad++ == 0)
			gb_error_set(err, GB_ECONFLICT, "group %s (%s): %s is %s, expected %s", rows[i].id, a->dn, ANCHOR,
				     a->anchor ? a->anchor : "not set", rows[i].admin_description);
		/* Stamped by a pass that was killed between the write and its record: the value is ours (there was
		 * none at the inventory), and the audit log must hold the change. */
		if (!rc && a->anchor && !rows[i].anchor_before && strcmp(a->anchor, rows[i].admin_description) == 0) {
			bool recorded = false;

			rc = recorded_since_rollback(c, a->dn, &recorded, err);
			if (!rc && !recorded)
				rc = record_found(c, rows[i].id, a, err);
			else if (!rc && !rows[i].stamped)
				rc = mark(c->st, rows[i].id, 1, err);
		}
		gb_ad_group_free(a);
	}
	rows_free(rows, n);
	if (!rc && bad)
		return gb_error_prefix(err, "%zu of %zu ready groups are not stamped", bad, n);
	if (!rc)
		fprintf(c->out, "verified: %zu ready groups carry their anchor\n", n);
	return rc;
}

static int unstamp_row(gb_plan *plan, const row *r, const gb_ad_group *a, gb_error *err)
{
	if (!a)
		return 0; /* gone: nothing to take back */
	if (a->anchor && strcmp(a->anchor, r->admin_description) == 0)
		return anchor_op(plan, GB_OP_DELETE_VALUE, r, a, "remove the anchor that stamp-anchors wrote", a->anchor,
				 NULL, err);
	return gb_plan_note(plan, GB_NOTE_WARNING, r->id, NULL, "anchor-changed", err,
			    "group %s: the anchor is no longer the value stamp-anchors wrote; it is left alone", r->id);
}

/* The directory is opened only when something is stamped: a run that stopped before its first write needs none. */
int gb_step_stamp_rollback_plan(gb_migrate_ctx *c, gb_plan **out, gb_error *err)
{
	return plan_rows(c, NULL, "stamped = 1", unstamp_row, out, err);
}
