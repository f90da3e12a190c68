/* Unit tests of what provisioning keeps between passes (provision_state.h): managed groups, stored memberships and
 * the stored users, each only through the module that owns their tables. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/map.h"
#include "groupbridge/provision_state.h"
#include "groupbridge/store.h"
#include "support/testfs.h"

static char dir[64];
static gb_store *st;

static void setup(void)
{
	gb_testfs_mkdtemp(dir, sizeof(dir), "pstate");
	st = gb_testfs_store(dir);
}

static void teardown(void)
{
	gb_store_free(st);
	gb_testfs_rmtree(dir);
}

TestSuite(pstate, .init = setup, .fini = teardown);

static int collect(void *ctx, const char *id, const char *guid, gb_error *err)
{
	char *buf = ctx;
	size_t n = strlen(buf);

	(void)err;
	snprintf(buf + n, 512 - n, "%s=%s;", id, guid ? guid : "-");
	return 0;
}

/* Makes g an empty group with the borrowed id (g holds nothing: new, or after group_end). */
static void group_start(gb_cloud_group *g, char *id)
{
	memset(g, 0, sizeof(*g));
	gb_cloud_group_clear(g);
	g->id = id;
}

/* Frees what a group made by group_start holds, but not its borrowed id. */
static void group_end(gb_cloud_group *g)
{
	g->id = NULL;
	gb_cloud_group_clear(g);
}

Test(pstate, managed_groups_keep_their_guid_and_change_state)
{
	char seen[512] = "";
	gb_error err;

	cr_assert_eq(gb_pstate_set_managed(st, "b", "CN=B,DC=t", "guid-b", GB_MANAGED, "r1", &err), 0, "%s", err.msg);
	cr_assert_eq(gb_pstate_set_managed(st, "a", "CN=A,DC=t", NULL, GB_MANAGED, "r1", &err), 0);
	cr_assert_eq(gb_pstate_set_managed(st, "c", "CN=C,DC=t", "guid-c", GB_MANAGED, "r1", &err), 0);
	/* a later record without a GUID keeps the one known; a state change takes the group out */
	cr_assert_eq(gb_pstate_set_managed(st, "b", "CN=B2,DC=t", NULL, GB_MANAGED, "r2", &err), 0);
	cr_assert_eq(gb_pstate_set_managed(st, "c", "CN=C,DC=t", NULL, GB_UNMANAGED, "r2", &err), 0);
	cr_assert_eq(gb_pstate_set_dn(st, "a", "CN=A2,DC=t", &err), 0);
	cr_assert_eq(gb_pstate_each_managed(st, collect, seen, &err), 0);
	cr_assert_str_eq(seen, "a=-;b=guid-b;", "in object id order, the unmanaged one left out");
}

Test(pstate, memberships_are_complete_or_absent_and_forgotten_with_management)
{
	gb_cloud_group g, got;
	gb_pstate_writer *w;
	gb_map *holders;
	bool complete = true;
	gb_error err;

	group_start(&g, "g1");
	cr_assert_eq(gb_cloud_group_add_member(&g, GB_KIND_USER, "u1", &err), 0);
	cr_assert_eq(gb_cloud_group_add_member(&g, GB_KIND_GROUP, "g2", &err), 0);
	cr_assert_eq(gb_pstate_writer_begin(st, true, &w, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_pstate_writer_members(w, &g, &err), 0);
	cr_assert_eq(gb_pstate_writer_end(w, 0, &err), 0);
	memset(&got, 0, sizeof(got));
	gb_cloud_group_clear(&got);
	cr_assert_eq(gb_pstate_members(st, "g1", &got, &complete, &err), 0);
	cr_assert(complete);
	cr_assert_eq(got.nmembers, 2);
	cr_assert_eq(gb_pstate_members(st, "unknown", &got, &complete, &err), 0);
	cr_assert_not(complete, "never recorded");
	cr_assert_eq(gb_map_new(GB_MAP_ICASE, &holders, &err), 0);
	cr_assert_eq(gb_pstate_groups_of_member(st, "U1", holders, &err), 0);
	cr_assert_not_null(gb_map_get(holders, "g1"));
	gb_map_free(holders);
	/* g1 is not managed: its stored membership cannot be trusted any more */
	cr_assert_eq(gb_pstate_forget_unmanaged_members(st, &err), 0);
	cr_assert_eq(gb_pstate_members(st, "g1", &got, &complete, &err), 0);
	cr_assert_not(complete);
	/* a writer that ends with an error keeps nothing */
	cr_assert_eq(gb_pstate_set_managed(st, "g1", "CN=G1,DC=t", NULL, GB_MANAGED, "r", &err), 0);
	cr_assert_eq(gb_pstate_writer_begin(st, false, &w, &err), 0);
	cr_assert_eq(gb_pstate_writer_members(w, &g, &err), 0);
	cr_assert_eq(gb_pstate_writer_end(w, GB_EIO, &err), GB_EIO);
	cr_assert_eq(gb_pstate_members(st, "g1", &got, &complete, &err), 0);
	cr_assert_not(complete);
	gb_cloud_group_clear(&got);
	group_end(&g);
}

/* The member ids of a group as stored, sorted, "id:kind;" each. */
static void stored_rows(const char *group, char *out, size_t n)
{
	sqlite3_stmt *s;
	size_t o = 0;

	out[0] = '\0';
	cr_assert_eq(sqlite3_prepare_v2(gb_store_db(st), "SELECT member_id, kind FROM managed_members WHERE group_id = ?1 "
							 "ORDER BY member_id",
					-1, &s, NULL),
		     SQLITE_OK);
	sqlite3_bind_text(s, 1, group, -1, SQLITE_STATIC);
	while (sqlite3_step(s) == SQLITE_ROW && o < n)
		o += (size_t)snprintf(out + o, n - o, "%s:%s;", sqlite3_column_text(s, 0), sqlite3_column_text(s, 1));
	sqlite3_finalize(s);
}

/* A stored membership is rewritten by its difference only: a one-member change of a 50,000-member group used to
 * delete and insert every row (and both indexes). What is stored afterwards is exactly the group's members. */
Test(pstate, a_membership_change_writes_only_the_rows_that_differ)
{
	gb_cloud_group g;
	gb_pstate_writer *w;
	char rows[2048], id[16];
	int before;
	gb_error err;

	group_start(&g, "g1");
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "u%03d", i);
		cr_assert_eq(gb_cloud_group_add_member(&g, GB_KIND_USER, id, &err), 0);
	}
	cr_assert_eq(gb_pstate_writer_begin(st, true, &w, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_pstate_writer_members(w, &g, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_pstate_writer_end(w, 0, &err), 0);
	/* the same group with u000 gone, U001 in another case (the same member), u100 new, u050 listed twice and
	 * u099 become a group (its kind changes) */
	group_end(&g);
	group_start(&g, "g1");
	cr_assert_eq(gb_cloud_group_add_member(&g, GB_KIND_USER, "U001", &err), 0);
	for (int i = 2; i < 99; i++) {
		snprintf(id, sizeof(id), "u%03d", i);
		cr_assert_eq(gb_cloud_group_add_member(&g, GB_KIND_USER, id, &err), 0);
	}
	cr_assert_eq(gb_cloud_group_add_member(&g, GB_KIND_USER, "u050", &err), 0);
	cr_assert_eq(gb_cloud_group_add_member(&g, GB_KIND_GROUP, "u099", &err), 0);
	cr_assert_eq(gb_cloud_group_add_member(&g, GB_KIND_USER, "u100", &err), 0);
	before = sqlite3_total_changes(gb_store_db(st));
	cr_assert_eq(gb_pstate_writer_begin(st, false, &w, &err), 0);
	cr_assert_eq(gb_pstate_writer_members(w, &g, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_pstate_writer_end(w, 0, &err), 0);
	/* u000 deleted, u099 replaced, u100 inserted, the member_state row (ignored when there): 3 or 4 changes, where
	 * the rewrite made 200 */
	cr_assert_leq(sqlite3_total_changes(gb_store_db(st)) - before, 4, "%d rows written",
		      sqlite3_total_changes(gb_store_db(st)) - before);
	stored_rows("g1", rows, sizeof(rows));
	cr_assert_eq(strncmp(rows, "u001:user;u002:user;", 20), 0, "%s", rows);
	cr_assert_not_null(strstr(rows, "u098:user;u099:group;u100:user;"), "%s", rows);
	cr_assert_null(strstr(rows, "u000"), "%s", rows);
	group_end(&g);
}

Test(pstate, changes_known_to_the_caller_write_exactly_those_rows)
{
	gb_cloud_group g;
	gb_pstate_writer *w;
	gb_member_ref put[2] = {{.kind = GB_KIND_USER, .id = "u9"}, {.kind = GB_KIND_GROUP, .id = "u2"}};
	const char *drop[] = {"u1"};
	char rows[256];
	int before;
	gb_error err;

	group_start(&g, "g2");
	cr_assert_eq(gb_cloud_group_add_member(&g, GB_KIND_USER, "u1", &err), 0);
	cr_assert_eq(gb_cloud_group_add_member(&g, GB_KIND_USER, "u2", &err), 0);
	cr_assert_eq(gb_cloud_group_add_member(&g, GB_KIND_USER, "u3", &err), 0);
	cr_assert_eq(gb_pstate_writer_begin(st, true, &w, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_pstate_writer_members(w, &g, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_pstate_writer_end(w, 0, &err), 0);
	/* u1 leaves, u9 comes, u2 becomes a group: three rows written, u3 untouched */
	before = sqlite3_total_changes(gb_store_db(st));
	cr_assert_eq(gb_pstate_writer_begin(st, false, &w, &err), 0);
	cr_assert_eq(gb_pstate_writer_changes(w, "g2", put, 2, drop, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_pstate_writer_end(w, 0, &err), 0);
	cr_assert_leq(sqlite3_total_changes(gb_store_db(st)) - before, 4);
	stored_rows("g2", rows, sizeof(rows));
	cr_assert_str_eq(rows, "u2:group;u3:user;u9:user;");
	group_end(&g);
}

Test(pstate, users_are_listed_read_and_kept_current)
{
	gb_cloud_user u = {.id = "u1", .display_name = "Alice", .on_prem_object_id = "6f1c", .on_prem_sync_enabled = 1};
	gb_cloud_user gone = {.id = "u1", .deleted = true};
	gb_pstate_listing *l;
	gb_pstate_users *r;
	gb_pstate_writer *w;
	gb_cloud_user *got = NULL;
	gb_error err;

	cr_assert_eq(gb_pstate_listing_begin(st, &l, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_pstate_listing_put(l, &u, &err), 0);
	cr_assert_eq(gb_pstate_listing_end(l, 0, &err), 0);
	cr_assert_eq(gb_pstate_users_open(st, &r, &err), 0);
	cr_assert_eq(gb_pstate_users_get(r, "U1", &got, &err), 0, "%s", err.msg);
	cr_assert_str_eq(got->display_name, "Alice");
	cr_assert_str_eq(got->on_prem_object_id, "6f1c");
	cr_assert_null(got->on_prem_sid);
	gb_cloud_user_free(got);
	cr_assert_eq(gb_pstate_users_get(r, "u2", &got, &err), GB_ENOTFOUND);
	gb_pstate_users_close(r);
	/* users delta removes a deleted user */
	cr_assert_eq(gb_pstate_writer_begin(st, false, &w, &err), 0);
	cr_assert_eq(gb_pstate_writer_user(w, &gone, &err), 0);
	cr_assert_eq(gb_pstate_writer_end(w, 0, &err), 0);
	cr_assert_eq(gb_pstate_users_open(st, &r, &err), 0);
	cr_assert_eq(gb_pstate_users_get(r, "u1", &got, &err), GB_ENOTFOUND);
	gb_pstate_users_close(r);
	gb_pstate_users_close(NULL);
}

/* The uSNChanged guard's row: trusted only for the same DC (dsServiceName and invocationId) and the same uSNChanged;
 * a value that is not a GUID forgets the group instead of recording it. */
Test(pstate, ad_membership_is_trusted_only_for_the_same_dc_and_usn)
{
	static const char *const guids[] = {"0be0c500-0000-4000-8000-000000000001",
					    "0be0c500-0000-4000-8000-000000000002"};
	const char *bad[] = {"not-a-guid"};
	gb_pstate_dc dc = {"CN=NTDS Settings,CN=DC1", "11111111-2222-3333-4444-555555555555"};
	gb_pstate_dc other = {"CN=NTDS Settings,CN=DC1", "99999999-2222-3333-4444-555555555555"};
	gb_ad_group *a = calloc(1, sizeof(*a));
	bool trusted = true;
	gb_error err;

	cr_assert_not_null(a);
	cr_assert_eq(gb_pstate_ad_members_get(st, "g", &dc, 42, a, &trusted, &err), 0, "%s", err.msg);
	cr_assert(!trusted, "nothing stored yet");
	cr_assert_eq(gb_pstate_ad_members_put(st, "g", &dc, 42, guids, 2, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_pstate_ad_members_get(st, "g", &dc, 43, a, &trusted, &err), 0);
	cr_assert(!trusted && a->nmembers == 0 && !a->members_read, "another uSNChanged");
	cr_assert_eq(gb_pstate_ad_members_get(st, "g", &other, 42, a, &trusted, &err), 0);
	cr_assert(!trusted && a->nmembers == 0, "another DC (invocationId)");
	cr_assert_eq(gb_pstate_ad_members_get(st, "G", &dc, 42, a, &trusted, &err), 0);
	cr_assert(trusted && a->members_read, "the same DC and uSNChanged (object id in any case)");
	cr_assert_eq(a->nmembers, 2);
	cr_assert_str_eq(a->member_guids[0], guids[0]);
	cr_assert_str_eq(a->member_guids[1], guids[1]);
	cr_assert_eq(gb_pstate_ad_members_put(st, "g", &dc, 44, bad, 1, &err), 0, "%s", err.msg);
	gb_ad_group_clear(a);
	cr_assert_eq(gb_pstate_ad_members_get(st, "g", &dc, 42, a, &trusted, &err), 0);
	cr_assert(!trusted, "a value that is not a GUID forgot the group");
	cr_assert_eq(gb_pstate_ad_members_put(st, "g", &dc, 45, guids, 2, &err), 0);
	cr_assert_eq(gb_pstate_ad_members_forget(st, "g", &err), 0);
	cr_assert_eq(gb_pstate_ad_members_get(st, "g", &dc, 45, a, &trusted, &err), 0);
	cr_assert(!trusted, "forgotten");
	gb_ad_group_free(a);
}
