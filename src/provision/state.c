/* state.c: provisioning's tables (provision_state.h); the only SQL on managed_groups, managed_members, member_state,
 * cloud_users and ad_membership, and the only user of the kv keys "directory.member_batch:*". */
#include "groupbridge/provision_state.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/util.h"

static const char *const state_names[] = {"managed", "unmanaged", "deleted"};

#define USER_UPSERT                                                                                                \
	"INSERT OR REPLACE INTO cloud_users(id, display_name, user_principal_name, on_prem_object_id, on_prem_sid, "   \
	"on_prem_sync_enabled) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"

/* Runs s (bound to id) to its end. */
static int step_id(gb_store *st, sqlite3_stmt *s, const char *id, const char *what, gb_error *err)
{
	sqlite3_reset(s);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	return sqlite3_step(s) == SQLITE_DONE ? 0 : gb_store_error(st, err, what);
}

/* ---- managed_groups ---- */

int gb_pstate_set_managed(gb_store *st, const char *id, const char *dn, const char *guid, gb_managed_state state,
			  const char *run_id, gb_error *err)
{
	sqlite3_stmt *s;
	int rc;

	rc = gb_store_prepare(st,
			      "INSERT INTO managed_groups(object_id, dn, guid, state, last_run) VALUES (?1, ?2, ?3, ?4, ?5) "
			      "ON CONFLICT(object_id) DO UPDATE SET dn = excluded.dn, guid = COALESCE(excluded.guid, guid), "
			      "state = excluded.state, last_run = excluded.last_run, "
			      "updated = strftime('%Y-%m-%dT%H:%M:%fZ','now')",
			      &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, dn, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, guid, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, state_names[state], -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, run_id, -1, SQLITE_STATIC);
	return gb_store_step_done(st, s, "recording a managed group", err);
}

int gb_pstate_set_dn(gb_store *st, const char *id, const char *dn, gb_error *err)
{
	sqlite3_stmt *s;
	int rc;

	rc = gb_store_prepare(st, "UPDATE managed_groups SET dn = ?2, updated = strftime('%Y-%m-%dT%H:%M:%fZ','now') "
				  "WHERE object_id = ?1",
			      &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, dn, -1, SQLITE_STATIC);
	return gb_store_step_done(st, s, "recording a managed group", err);
}

int gb_pstate_each_managed(gb_store *st, gb_pstate_managed_cb cb, void *ctx, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc, step = SQLITE_DONE;

	rc = gb_store_prepare(st, "SELECT object_id, guid FROM managed_groups WHERE state = 'managed' ORDER BY object_id",
			      &s, err);
	while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW)
		rc = cb(ctx, (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1), err);
	if (s && !rc && step != SQLITE_DONE)
		rc = gb_store_error(st, err, "reading managed groups");
	sqlite3_finalize(s);
	return rc;
}

/* ---- managed_members and member_state ---- */

int gb_pstate_forget_unmanaged_members(gb_store *st, gb_error *err)
{
	return gb_store_exec(st, "DELETE FROM member_state WHERE group_id NOT IN "
				 "(SELECT object_id FROM managed_groups WHERE state = 'managed')",
			     err);
}

int gb_pstate_groups_of_member(gb_store *st, const char *member_id, gb_map *into, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = gb_store_prepare(st, "SELECT group_id FROM managed_members WHERE member_id = ?1", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, member_id, -1, SQLITE_STATIC);
	while (!rc && sqlite3_step(s) == SQLITE_ROW)
		rc = gb_map_set(into, (const char *)sqlite3_column_text(s, 0), (void *)1, err);
	sqlite3_finalize(s);
	return rc;
}

static gb_object_kind kind_from_name(const char *name)
{
	int k;

	for (k = GB_KIND_USER; k < GB_KIND_OTHER; k++)
		if (name && strcmp(name, gb_object_kind_name((gb_object_kind)k)) == 0)
			return (gb_object_kind)k;
	return GB_KIND_OTHER;
}

#define MEMBERS_SELECT "SELECT member_id, kind FROM managed_members WHERE group_id = ?1"

typedef int (*stored_member_fn)(void *ctx, const char *member_id, gb_object_kind kind, gb_error *err);

/* Runs s (MEMBERS_SELECT) for group id and calls fn for each stored member; the one reading of those rows. */
static int each_stored_member(gb_store *st, sqlite3_stmt *s, const char *id, stored_member_fn fn, void *ctx,
			      gb_error *err)
{
	int rc = 0, step;

	sqlite3_reset(s);
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW)
		rc = fn(ctx, (const char *)sqlite3_column_text(s, 0),
			kind_from_name((const char *)sqlite3_column_text(s, 1)), err);
	if (!rc && step != SQLITE_DONE)
		rc = gb_store_error(st, err, "reading the stored membership");
	return rc;
}

static int add_to_group(void *ctx, const char *member_id, gb_object_kind kind, gb_error *err)
{
	return gb_cloud_group_add_member(ctx, kind, member_id, err);
}

int gb_pstate_members(gb_store *st, const char *id, gb_cloud_group *grp, bool *complete, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc, step;

	*complete = false;
	rc = gb_store_prepare(st, "SELECT 1 FROM member_state WHERE group_id = ?1", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	step = sqlite3_step(s);
	sqlite3_finalize(s);
	if (step == SQLITE_DONE)
		return 0;
	if (step != SQLITE_ROW)
		return gb_store_error(st, err, "reading the stored membership");
	rc = gb_store_prepare(st, MEMBERS_SELECT, &s, err);
	if (rc)
		return rc;
	rc = each_stored_member(st, s, id, add_to_group, grp, err);
	sqlite3_finalize(s);
	if (!rc)
		*complete = true;
	return rc;
}

struct gb_pstate_writer {
	gb_store *st;
	sqlite3_stmt *del, *ins, *del_state, *ins_state, *user_del, *user_ins, *sel, *del_one;
};

/* Binds u into s (USER_UPSERT) and runs it. */
static int put_user(gb_store *st, sqlite3_stmt *s, const gb_cloud_user *u, gb_error *err)
{
	sqlite3_reset(s);
	sqlite3_bind_text(s, 1, u->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, u->display_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, u->user_principal_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, u->on_prem_object_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, u->on_prem_sid, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 6, (int)u->on_prem_sync_enabled);
	return sqlite3_step(s) == SQLITE_DONE ? 0 : gb_store_error(st, err, "recording the tenant's users");
}

static void writer_free(gb_pstate_writer *w)
{
	sqlite3_finalize(w->del);
	sqlite3_finalize(w->ins);
	sqlite3_finalize(w->del_state);
	sqlite3_finalize(w->ins_state);
	sqlite3_finalize(w->user_del);
	sqlite3_finalize(w->user_ins);
	sqlite3_finalize(w->sel);
	sqlite3_finalize(w->del_one);
	free(w);
}

int gb_pstate_writer_begin(gb_store *st, bool replace_all, gb_pstate_writer **out, gb_error *err)
{
	gb_pstate_writer *w = calloc(1, sizeof(*w));
	int rc;

	*out = NULL;
	if (!w)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	w->st = st;
	rc = gb_store_begin(st, err);
	if (rc) {
		free(w);
		return rc;
	}
	if (replace_all)
		rc = gb_store_exec(st, "DELETE FROM managed_members; DELETE FROM member_state", err);
	if (!rc)
		rc = gb_store_prepare(st, "DELETE FROM managed_members WHERE group_id = ?1", &w->del, err);
	if (!rc)
		rc = gb_store_prepare(st, "DELETE FROM member_state WHERE group_id = ?1", &w->del_state, err);
	if (!rc)
		rc = gb_store_prepare(st, "INSERT OR REPLACE INTO managed_members(group_id, member_id, kind) VALUES (?1, ?2, "
					  "?3)",
				      &w->ins, err);
	if (!rc)
		rc = gb_store_prepare(st, MEMBERS_SELECT, &w->sel, err);
	if (!rc)
		rc = gb_store_prepare(st, "DELETE FROM managed_members WHERE group_id = ?1 AND member_id = ?2", &w->del_one,
				      err);
	if (!rc)
		rc = gb_store_prepare(st, "INSERT OR IGNORE INTO member_state(group_id) VALUES (?1)", &w->ins_state, err);
	if (!rc)
		rc = gb_store_prepare(st, "DELETE FROM cloud_users WHERE id = ?1", &w->user_del, err);
	if (!rc)
		rc = gb_store_prepare(st, USER_UPSERT, &w->user_ins, err);
	if (rc) {
		gb_store_rollback(st);
		writer_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

int gb_pstate_writer_forget(gb_pstate_writer *w, const char *id, gb_error *err)
{
	int rc = step_id(w->st, w->del, id, "recording members", err);

	return rc ? rc : step_id(w->st, w->del_state, id, "recording members", err);
}

/* A row in the writer's map: its kind (low byte), that it is stored, that the group still has it. */
#define ROW_STORED ((uintptr_t)1 << 8)
#define ROW_KEPT ((uintptr_t)1 << 9)

static int remember_row(void *ctx, const char *member_id, gb_object_kind kind, gb_error *err)
{
	return gb_map_set(ctx, member_id, (void *)(ROW_STORED | (uintptr_t)kind), err);
}

static int run_pair(gb_pstate_writer *w, sqlite3_stmt *s, const char *group, const char *member, const char *kind,
		    gb_error *err)
{
	sqlite3_reset(s);
	sqlite3_bind_text(s, 1, group, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, member, -1, SQLITE_STATIC);
	if (kind)
		sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
	return sqlite3_step(s) == SQLITE_DONE ? 0 : gb_store_error(w->st, err, "recording members");
}

/* Writes only what differs from the stored rows: a one-member change of a 50,000-member group rewrote all 50,000
 * rows and both their indexes (8,000 page writes at 10,000 members) and now writes one. */
int gb_pstate_writer_members(gb_pstate_writer *w, const gb_cloud_group *grp, gb_error *err)
{
	gb_map *stored = NULL;
	size_t j, pos = 0;
	const char *key;
	void *v;
	int rc = gb_map_new(GB_MAP_ICASE, &stored, err);

	if (!rc)
		rc = each_stored_member(w->st, w->sel, grp->id, remember_row, stored, err);
	for (j = 0; !rc && j < grp->nmembers; j++) {
		const gb_member_ref *m = &grp->members[j];
		uintptr_t row = (uintptr_t)gb_map_get(stored, m->id);

		if (row & ROW_KEPT)
			continue; /* listed twice */
		if (!(row & ROW_STORED) || (gb_object_kind)(row & 0xff) != m->kind)
			rc = run_pair(w, w->ins, grp->id, m->id, gb_object_kind_name(m->kind), err);
		if (!rc)
			rc = gb_map_set(stored, m->id, (void *)(ROW_KEPT | (uintptr_t)m->kind), err);
	}
	while (!rc && gb_map_next(stored, &pos, &key, &v))
		if (!((uintptr_t)v & ROW_KEPT))
			rc = run_pair(w, w->del_one, grp->id, key, NULL, err);
	gb_map_free(stored);
	return rc ? rc : step_id(w->st, w->ins_state, grp->id, "recording members", err);
}

int gb_pstate_writer_changes(gb_pstate_writer *w, const char *group_id, const gb_member_ref *put, size_t nput,
			     const char *const *drop, size_t ndrop, gb_error *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < ndrop; i++)
		rc = run_pair(w, w->del_one, group_id, drop[i], NULL, err);
	for (i = 0; !rc && i < nput; i++)
		rc = run_pair(w, w->ins, group_id, put[i].id, gb_object_kind_name(put[i].kind), err);
	return rc ? rc : step_id(w->st, w->ins_state, group_id, "recording members", err);
}

int gb_pstate_writer_user(gb_pstate_writer *w, const gb_cloud_user *u, gb_error *err)
{
	return u->deleted ? step_id(w->st, w->user_del, u->id, "recording the tenant's users", err)
			  : put_user(w->st, w->user_ins, u, err);
}

int gb_pstate_writer_end(gb_pstate_writer *w, int rc, gb_error *err)
{
	gb_store *st = w->st;

	writer_free(w);
	if (!rc)
		return gb_store_commit(st, err);
	gb_store_rollback(st);
	return rc;
}

/* ---- cloud_users ---- */

struct gb_pstate_users {
	gb_store *st;
	sqlite3_stmt *get;
};

int gb_pstate_users_open(gb_store *st, gb_pstate_users **out, gb_error *err)
{
	gb_pstate_users *u = calloc(1, sizeof(*u));
	int rc;

	*out = NULL;
	if (!u)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	u->st = st;
	rc = gb_store_prepare(st, "SELECT display_name, user_principal_name, on_prem_object_id, on_prem_sid, "
				  "on_prem_sync_enabled FROM cloud_users WHERE id = ?1",
			      &u->get, err);
	/* one read transaction for all the lookups: outside one, each statement takes and drops WAL's read lock on
	 * its own (10,000 lookups: 90 ms instead of 19); a savepoint, since a caller may hold a transaction */
	if (!rc && (rc = gb_store_exec(st, "SAVEPOINT users_read", err)) != 0)
		sqlite3_finalize(u->get);
	if (rc) {
		free(u);
		return rc;
	}
	*out = u;
	return 0;
}

static char *col_dup(sqlite3_stmt *s, int i, bool *nomem)
{
	const unsigned char *t = sqlite3_column_text(s, i);
	char *d = t ? gb_strdup((const char *)t) : NULL;

	*nomem |= t && !d;
	return d;
}

int gb_pstate_users_get(gb_pstate_users *u, const char *id, gb_cloud_user **out, gb_error *err)
{
	gb_cloud_user *c;
	bool nomem = false;
	int step;

	*out = NULL;
	sqlite3_reset(u->get);
	sqlite3_bind_text(u->get, 1, id, -1, SQLITE_TRANSIENT);
	step = sqlite3_step(u->get);
	if (step == SQLITE_DONE)
		return gb_error_set(err, GB_ENOTFOUND, "user %s is not stored", id);
	if (step != SQLITE_ROW)
		return gb_store_error(u->st, err, "reading the stored users");
	c = calloc(1, sizeof(*c));
	if (!c)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	c->id = gb_strdup(id);
	c->display_name = col_dup(u->get, 0, &nomem);
	c->user_principal_name = col_dup(u->get, 1, &nomem);
	c->on_prem_object_id = col_dup(u->get, 2, &nomem);
	c->on_prem_sid = col_dup(u->get, 3, &nomem);
	c->on_prem_sync_enabled = (gb_tri)sqlite3_column_int(u->get, 4);
	if (nomem || !c->id) {
		gb_cloud_user_free(c);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	*out = c;
	return 0;
}

void gb_pstate_users_close(gb_pstate_users *u)
{
	if (!u)
		return;
	sqlite3_finalize(u->get);
	gb_store_exec(u->st, "RELEASE users_read", NULL); /* it only read: nothing to lose if it fails */
	free(u);
}

struct gb_pstate_listing {
	gb_store *st;
	sqlite3_stmt *ins;
};

int gb_pstate_listing_begin(gb_store *st, gb_pstate_listing **out, gb_error *err)
{
	gb_pstate_listing *l = calloc(1, sizeof(*l));
	int rc;

	*out = NULL;
	if (!l)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	l->st = st;
	rc = gb_store_begin(st, err);
	if (!rc)
		rc = gb_store_exec(st, "DELETE FROM cloud_users", err);
	if (!rc)
		rc = gb_store_prepare(st, USER_UPSERT, &l->ins, err);
	if (rc) {
		gb_store_rollback(st);
		sqlite3_finalize(l->ins);
		free(l);
		return rc;
	}
	*out = l;
	return 0;
}

int gb_pstate_listing_put(gb_pstate_listing *l, const gb_cloud_user *u, gb_error *err)
{
	return u->id ? put_user(l->st, l->ins, u, err) : 0;
}

int gb_pstate_listing_end(gb_pstate_listing *l, int rc, gb_error *err)
{
	gb_store *st = l->st;

	sqlite3_finalize(l->ins);
	free(l);
	if (!rc)
		return gb_store_commit(st, err);
	gb_store_rollback(st);
	return rc;
}

/* ---- ad_membership ---- */

#define GUID_LEN 36

int gb_pstate_ad_members_get(gb_store *st, const char *id, const gb_pstate_dc *dc, long long usn, gb_ad_group *a,
			     bool *trusted, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	char guid[GUID_LEN + 1];
	const char *m;
	size_t len, i;
	int rc, step;

	*trusted = false;
	if (!dc || !dc->dsa || !dc->invocation_id)
		return 0;
	rc = gb_store_prepare(st, "SELECT members FROM ad_membership WHERE object_id = ?1 AND dsa = ?2 AND "
				  "invocation_id = ?3 AND usn = ?4",
			      &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, dc->dsa, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, dc->invocation_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, usn);
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		m = (const char *)sqlite3_column_text(s, 0);
		len = (size_t)sqlite3_column_bytes(s, 0);
		if (len % GUID_LEN) {
			sqlite3_finalize(s);
			return 0; /* not what put writes: read the group instead */
		}
		for (i = 0; !rc && i < len; i += GUID_LEN) {
			memcpy(guid, m + i, GUID_LEN);
			guid[GUID_LEN] = '\0';
			rc = gb_ad_group_add_member(a, guid, err);
		}
		if (!rc)
			*trusted = a->members_read = true;
	} else if (step != SQLITE_DONE) {
		rc = gb_store_error(st, err, "reading the stored AD membership");
	}
	sqlite3_finalize(s);
	return rc;
}

int gb_pstate_ad_members_put(gb_store *st, const char *id, const gb_pstate_dc *dc, long long usn,
			     const char *const *guids, size_t n, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	char *all;
	size_t i;
	int rc;

	if (!dc || !dc->dsa || !dc->invocation_id)
		return gb_pstate_ad_members_forget(st, id, err);
	for (i = 0; i < n; i++)
		if (strlen(guids[i]) != GUID_LEN)
			return gb_pstate_ad_members_forget(st, id, err);
	all = malloc(n * GUID_LEN + 1);
	if (!all)
		return gb_error_set(err, GB_ENOMEM, "out of memory recording the AD membership of group %s", id);
	for (i = 0; i < n; i++)
		memcpy(all + i * GUID_LEN, guids[i], GUID_LEN);
	all[n * GUID_LEN] = '\0';
	rc = gb_store_prepare(st, "INSERT OR REPLACE INTO ad_membership(object_id, dsa, invocation_id, usn, members) "
				  "VALUES (?1, ?2, ?3, ?4, ?5)",
			      &s, err);
	if (!rc) {
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, dc->dsa, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, dc->invocation_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 4, usn);
		sqlite3_bind_text(s, 5, all, (int)(n * GUID_LEN), SQLITE_STATIC);
		rc = sqlite3_step(s) == SQLITE_DONE ? 0 : gb_store_error(st, err, "recording the AD membership");
	}
	sqlite3_finalize(s);
	free(all);
	return rc;
}

int gb_pstate_ad_members_forget(gb_store *st, const char *id, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc = gb_store_prepare(st, "DELETE FROM ad_membership WHERE object_id = ?1", &s, err);

	if (!rc)
		rc = step_id(st, s, id, "forgetting the AD membership", err);
	sqlite3_finalize(s);
	return rc;
}

/* ---- the member batch a DC taught ---- */

#define DC_BATCH_KEY "directory.member_batch:"

static char *dc_batch_key(const char *dsa, gb_error *err)
{
	size_t n = strlen(DC_BATCH_KEY) + strlen(dsa) + 1;
	char *key = malloc(n);

	if (!key)
		gb_error_set(err, GB_ENOMEM, "out of memory");
	else
		snprintf(key, n, "%s%s", DC_BATCH_KEY, dsa);
	return key;
}

int gb_pstate_dc_batch_get(gb_store *st, const char *dsa, long *out, gb_error *err)
{
	char *key, *v = NULL, *end;
	int rc;

	*out = 0;
	if (!(key = dc_batch_key(dsa, err)))
		return GB_ENOMEM;
	rc = gb_store_kv_get(st, key, &v, err);
	if (rc == GB_ENOTFOUND) {
		gb_error_clear(err);
		rc = 0;
	} else if (!rc) {
		long n = strtol(v, &end, 10);
		*out = *v && !*end && n > 0 ? n : 0;
	}
	free(v);
	free(key);
	return rc;
}

int gb_pstate_dc_batch_put(gb_store *st, const char *dsa, long n, gb_error *err)
{
	char *key, text[24];
	int rc;

	if (!(key = dc_batch_key(dsa, err)))
		return GB_ENOMEM;
	snprintf(text, sizeof text, "%ld", n);
	rc = n > 0 ? gb_store_kv_set(st, key, text, err) : gb_store_kv_del(st, key, err);
	free(key);
	return rc;
}
