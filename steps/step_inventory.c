/* step_inventory.c: step 2, the written-back groups paired with their cloud groups, and classified.
 *
 * Every AD group under the writeback OU whose adminDescription is Group_<objectId> is paired with cloud group
 * <objectId> and given one class, the first that applies: orphan (the cloud group is gone), unsupported-type
 * (mail-enabled, Microsoft 365 or not a security group: these stay with writeback v1), over-member-limit (over
 * 50,000), not-universal, protected (adminCount = 1, AdminSDHolder), nested-domain-local (a domain-local group is a
 * member, which a universal group cannot hold), or ready. Members that provisioning will not write (cloud-only users,
 * users of another forest) are counted per group; members are looked up in the Global Catalog when [directory]
 * gc_uri is set, so that users of the forest's other domains count as this forest's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/anchor.h"
#include "groupbridge/buf.h"
#include "groupbridge/map.h"
#include "groupbridge/provision.h"
#include "groupbridge/util.h"
#include "steps_int.h"

#define GROUP_TYPE_UNIVERSAL 0x8L
#define GROUP_TYPE_DOMAIN_LOCAL 0x4L

typedef struct inv {
	gb_migrate_ctx *c;
	gb_map *cloud_users;   /* id -> on-prem GUID text or "" (cloud-only); the strings are owned */
	gb_map *forest_users;  /* GUID -> 1 */
	gb_map *domain_local;  /* GUID of a domain-local group -> 1 */
	char **dns;
	size_t ndns;
	gb_ad_group **ad;       /* per DN: the AD group, with members */
	gb_cloud_group **cloud; /* per DN: the cloud group its adminDescription names, or NULL */
	char **guids;           /* GUIDs named (borrowed) */
	size_t nguids, guids_cap;
} inv;

static int on_group_dn(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	inv *v = ctx;
	char **dns = realloc(v->dns, (v->ndns + 1) * sizeof(char *));

	if (!dns)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	v->dns = dns;
	v->dns[v->ndns] = gb_strdup(e->dn);
	if (!v->dns[v->ndns])
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	v->ndns++;
	return 0;
}

static int on_user(const gb_cloud_user *u, void *ud, gb_error *err)
{
	inv *v = ud;
	char *guid = gb_strdup(u->on_prem_object_id ? u->on_prem_object_id : "");

	if (!guid || !u->id)
		return guid ? (free(guid), 0) : gb_error_set(err, GB_ENOMEM, "out of memory");
	free(gb_map_get(v->cloud_users, u->id));
	return gb_map_set(v->cloud_users, u->id, guid, err);
}

/* Users of this forest (user, not computer) and domain-local groups, among the GUIDs named. */
static int on_object(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	inv *v = ctx;
	const gb_dir_attr *oc = gb_dir_entry_attr(e, "objectClass");
	const char *gt = gb_dir_entry_str(e, "groupType");
	char guid[GB_AD_GUID_TEXT_SIZE];
	bool user = false, computer = false, group = false;
	size_t i;

	if (!gb_dir_entry_guid(e, guid))
		return 0;
	for (i = 0; oc && i < oc->nvalues; i++) {
		user |= gb_str_iequal(oc->values[i].data, "user");
		computer |= gb_str_iequal(oc->values[i].data, "computer");
		group |= gb_str_iequal(oc->values[i].data, "group");
	}
	if (user && !computer)
		return gb_map_set(v->forest_users, guid, (void *)1, err);
	if (group && gt && (strtol(gt, NULL, 10) & GROUP_TYPE_DOMAIN_LOCAL))
		return gb_map_set(v->domain_local, guid, (void *)1, err);
	return 0;
}

static int record(gb_migrate_ctx *c, const char *id, const char *name, const gb_ad_group *a, const char *cls,
		  const char *reason, size_t members, size_t cloud_only, size_t other_forest, gb_error *err)
{
	sqlite3_stmt *s;
	int rc;

	rc = gb_store_prepare(c->st,
			      "INSERT INTO migration_groups(object_id, display_name, ad_dn, ad_guid, admin_description, class, "
			      "reason, members, cloud_only, other_forest, anchor_before) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
			      "?10, ?11) "
			      "ON CONFLICT(object_id) DO UPDATE SET display_name = excluded.display_name, ad_dn = excluded.ad_dn, "
			      "ad_guid = excluded.ad_guid, admin_description = excluded.admin_description, class = excluded.class, "
			      "reason = excluded.reason, members = excluded.members, cloud_only = excluded.cloud_only, "
			      "other_forest = excluded.other_forest",
			      &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, a->dn, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, a->guid, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, a->admin_description, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, cls, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)members);
	sqlite3_bind_int64(s, 9, (sqlite3_int64)cloud_only);
	sqlite3_bind_int64(s, 10, (sqlite3_int64)other_forest);
	sqlite3_bind_text(s, 11, a->anchor, -1, SQLITE_STATIC);
	return gb_store_step_done(c->st, s, "recording the inventory", err);
}

/* Classifies one AD group against its cloud group (NULL when it is gone). */
static int classify(inv *v, const gb_ad_group *a, const gb_cloud_group *g, gb_error *err)
{
	const char *id = gb_anchor_object_id(a->admin_description), *cls = "ready", *reason = "ready to hand over";
	size_t i, cloud_only = 0, other_forest = 0;
	char why[256];

	for (i = 0; g && i < g->nmembers; i++) {
		const char *guid;
		if (g->members[i].kind != GB_KIND_USER)
			continue;
		guid = gb_map_get(v->cloud_users, g->members[i].id);
		if (!guid || !*guid)
			cloud_only++;
		else if (!gb_map_get(v->forest_users, guid))
			other_forest++;
	}
	if (!g) {
		cls = "orphan";
		reason = "the cloud group no longer exists";
	} else if (g->mail_enabled == GB_TRI_TRUE || g->unified || g->security_enabled != GB_TRI_TRUE) {
		cls = "unsupported-type";
		reason = "mail-enabled, Microsoft 365 or distribution: stays with group writeback v1";
	} else if (g->nmembers > GB_MAX_GROUP_MEMBERS) {
		cls = "over-member-limit";
		snprintf(why, sizeof(why), "%zu members, more than %d", g->nmembers, GB_MAX_GROUP_MEMBERS);
		reason = why;
	} else if (!(a->group_type & GROUP_TYPE_UNIVERSAL)) {
		cls = "not-universal";
		reason = "the AD group is not universal; Cloud Sync provisions universal groups";
	} else if (a->admin_count == 1) {
		cls = "protected";
		reason = "adminCount = 1: AdminSDHolder protects it, and Cloud Sync's permissions do not apply";
	} else {
		for (i = 0; i < a->nmembers; i++)
			if (gb_map_get(v->domain_local, a->member_guids[i])) {
				cls = "nested-domain-local";
				reason = "a domain-local group is a member, which a universal group cannot keep";
				break;
			}
	}
	return record(v->c, id, g ? g->display_name : NULL, a, cls, reason, g ? g->nmembers : 0, cloud_only,
		      other_forest, err);
}

/* The cloud group a written-back group's adminDescription names (NULL for none). */
static const char *paired_id(const gb_ad_group *a)
{
	return a ? gb_anchor_object_id(a->admin_description) : NULL;
}

/* Each written-back group (members read), and the cloud group it names with its members. */
static int read_pairs(inv *v, gb_directory *dir, gb_graph *graph, gb_error *err)
{
	size_t i;
	int rc = 0;

	if (v->ndns && (!(v->ad = calloc(v->ndns, sizeof(*v->ad))) || !(v->cloud = calloc(v->ndns, sizeof(*v->cloud)))))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	for (i = 0; !rc && i < v->ndns; i++) {
		rc = gb_directory_read_group(dir, v->dns[i], true, &v->ad[i], err);
		if (rc || !paired_id(v->ad[i]))
			continue;
		rc = gb_graph_get_group(graph, paired_id(v->ad[i]), &v->cloud[i], err);
		if (rc == GB_ENOTFOUND)
			rc = 0;
		else if (!rc)
			rc = gb_graph_read_members(graph, v->cloud[i], 999, err);
	}
	return rc;
}

static int push_guid(inv *v, const char *guid, gb_error *err)
{
	if (gb_grow(&v->guids, v->nguids, &v->guids_cap, sizeof(*v->guids), 64))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	v->guids[v->nguids++] = (char *)guid;
	return 0;
}

/* What the GUIDs named are: the cloud users' AD accounts, and the AD groups' members. */
static int classify_guids(inv *v, gb_directory *dir, gb_error *err)
{
	static const char *const obj_attrs[] = {"objectGUID", "objectClass", "groupType", NULL};
	size_t i, j;
	int rc = 0;

	for (i = 0; !rc && i < v->ndns; i++) {
		for (j = 0; !rc && v->cloud[i] && j < v->cloud[i]->nmembers; j++) {
			const gb_member_ref *m = &v->cloud[i]->members[j];
			const char *g = m->kind == GB_KIND_USER ? gb_map_get(v->cloud_users, m->id) : NULL;
			if (g && *g && gb_ad_guid_is_text(g))
				rc = push_guid(v, g, err);
		}
		for (j = 0; !rc && v->ad[i] && j < v->ad[i]->nmembers; j++)
			rc = push_guid(v, v->ad[i]->member_guids[j], err);
	}
	if (!rc && v->nguids)
		/* Through the Global Catalog when there is one, as provisioning reads members (review D9): users of the
		 * forest's other domains are of this forest, and provisioning writes them. */
		rc = gb_directory_find_by_guids(dir, (const char *const *)v->guids, v->nguids, obj_attrs,
						v->c->cfg->directory.gc_uri ? GB_DIR_GC : 0, on_object, v, err);
	return rc;
}

/* The inventory replaces the one before (keeping the rows of groups stamp-anchors wrote), in one transaction. */
static int record_inventory(inv *v, gb_error *err)
{
	size_t i;
	int rc = gb_store_begin(v->c->st, err);

	if (!rc)
		rc = gb_store_exec(v->c->st, "DELETE FROM migration_groups WHERE stamped = 0", err);
	for (i = 0; !rc && i < v->ndns; i++)
		if (paired_id(v->ad[i]))
			rc = classify(v, v->ad[i], v->cloud[i], err);
	if (!rc)
		return gb_store_commit(v->c->st, err);
	gb_store_rollback(v->c->st);
	return rc;
}

static void print_summary(inv *v)
{
	sqlite3_stmt *s = NULL;

	if (gb_store_prepare(v->c->st, "SELECT class, count(*), sum(cloud_only), sum(other_forest) FROM migration_groups "
				       "GROUP BY class ORDER BY class",
			     &s, NULL) != 0)
		return;
	fprintf(v->c->out, "inventory of %zu written-back groups:\n", v->ndns);
	while (sqlite3_step(s) == SQLITE_ROW)
		fprintf(v->c->out, "  %-20s %4d groups   members dropped: %d cloud-only, %d other forest\n",
			(const char *)sqlite3_column_text(s, 0), sqlite3_column_int(s, 1), sqlite3_column_int(s, 2),
			sqlite3_column_int(s, 3));
	sqlite3_finalize(s);
}

static void inv_clear(inv *v)
{
	size_t i, pos = 0;
	const char *k;
	void *val;

	for (i = 0; i < v->ndns; i++) {
		free(v->dns[i]);
		if (v->ad)
			gb_ad_group_free(v->ad[i]);
		if (v->cloud)
			gb_cloud_group_free(v->cloud[i]);
	}
	while (v->cloud_users && gb_map_next(v->cloud_users, &pos, &k, &val))
		free(val);
	free(v->dns);
	free(v->ad);
	free(v->cloud);
	free(v->guids);
	gb_map_free(v->cloud_users);
	gb_map_free(v->forest_users);
	gb_map_free(v->domain_local);
}

int gb_step_inventory_collect(gb_migrate_ctx *c, gb_error *err)
{
	static const char *const dn_attr[] = {"distinguishedName", NULL};
	gb_directory *dir = NULL;
	gb_graph *graph = NULL;
	char *ou = NULL;
	inv v;
	int rc;

	memset(&v, 0, sizeof(v));
	v.c = c;
	rc = gb_step_writeback_ou(c, &ou, err);
	if (!rc)
		rc = gb_migrate_dir(c, &dir, err);
	if (!rc)
		rc = gb_migrate_graph(c, &graph, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &v.cloud_users, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &v.forest_users, err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &v.domain_local, err);
	if (!rc) {
		fprintf(c->out, "reading written-back groups under %s\n", ou);
		rc = gb_directory_search(dir, ou, GB_DIR_SUBTREE, "(&(objectClass=group)(adminDescription=" GB_ANCHOR_PREFIX "*))",
					 dn_attr, 0, on_group_dn, &v, err);
	}
	if (!rc)
		rc = read_pairs(&v, dir, graph, err);
	if (!rc && v.ndns)
		rc = gb_graph_list_users(graph, NULL, 999, on_user, &v, err);
	if (!rc)
		rc = classify_guids(&v, dir, err);
	if (!rc)
		rc = record_inventory(&v, err);
	if (!rc)
		print_summary(&v);
	inv_clear(&v);
	free(ou);
	return rc;
}

int gb_step_inventory_verify(gb_migrate_ctx *c, gb_error *err)
{
	(void)c;
	(void)err;
	return 0; /* the inventory is what it read; the gate is a person's review of it */
}

int gb_migrate_scope_check(const gb_config *cfg, gb_store *st, const char *what, gb_error *err)
{
	const gb_config_provisioning *p = &cfg->provisioning;
	sqlite3_stmt *s = NULL;
	gb_buf some;
	size_t n = 0;
	int rc;

	if (!p->scope || strcmp(p->scope, "all") != 0)
		return 0;
	rc = gb_store_prepare(st, "SELECT object_id, class, COALESCE(match_result, reason) FROM migration_groups "
				  "WHERE class NOT IN ('ready', 'converted', 'orphan') OR match_result LIKE 'blocked%' "
				  "ORDER BY object_id",
			      &s, err);
	if (rc)
		return rc;
	gb_buf_init(&some, 4096);
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (n++ < 3)
			gb_buf_printf(&some, NULL, "%s%s (%s: %s)", some.len ? "; " : "", sqlite3_column_text(s, 0),
				      sqlite3_column_text(s, 1), sqlite3_column_text(s, 2));
	}
	sqlite3_finalize(s);
	if (n)
		rc = gb_error_set(err, GB_ECONFIG,
				  "%s: [provisioning] scope = all would create %zu groups the migration leaves out again, "
				  "beside their written-back AD groups, which carry no anchor (%s%s): a filter cannot tell "
				  "them apart, as their cloud groups match like any other; use scope = selected, to which "
				  "the hand-over adds the matched groups (runbooks/rollback.md, \"Groups left out\")",
				  what, n, gb_buf_cstr(&some), n > 3 ? "; ..." : "");
	gb_buf_free(&some);
	return rc;
}

int gb_step_left_out_check(gb_migrate_ctx *c, gb_error *err)
{
	const char *target = c->cfg->migration.handoff_target;

	if (target && strcmp(target, "groupbridge") != 0)
		return 0;
	return gb_migrate_scope_check(c->cfg, c->st, "precondition of step handoff", err);
}
