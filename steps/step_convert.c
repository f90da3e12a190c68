/* step_convert.c: step 6, convert-soa: the listed AD-synced groups become cloud-managed.
 *
 * For each group in [migration] convert_groups / convert_groups_file: its AD group is found by objectSid =
 * onPremisesSecurityIdentifier and must be universal (Cloud Sync provisions universal groups); then
 * onPremisesSyncBehavior isCloudManaged is set to true (and read back), and the group's GroupDN directory extension
 * (on the CloudSyncCustomExtensionsApp application, created with its service principal and the extension when
 * missing) is set to the AD group's DN, so that provisioning puts the group back where it was. The rollback sets
 * isCloudManaged back to false, after checking Microsoft's precondition that no cloud-only user is a member; the AD
 * group is kept and provisioning stops managing it.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/buf.h"
#include "groupbridge/util.h"
#include "steps_int.h"

#define ATTR_SOA "isCloudManaged"
#define ATTR_DN "GroupDN"
#define ATTR_GROUP_TYPE "groupType"
#define GROUP_TYPE_UNIVERSAL 0x8L

/* The ids listed for conversion: convert_groups, then convert_groups_file (one or more a line, separated by commas
 * or white space, '#' starting a comment). *out is NULL-terminated, or NULL when none; free with gb_step_ids_free. */
static int listed(gb_migrate_ctx *c, char ***out, gb_error *err)
{
	const gb_config_migration *m = &c->cfg->migration;
	char **ids = NULL, *line, *next;
	size_t n = 0;
	gb_buf b;
	int rc = 0;

	*out = NULL;
	gb_buf_init(&b, 16 * 1024 * 1024);
	if (m->convert_groups)
		rc = gb_buf_printf(&b, err, "%s\n", m->convert_groups);
	if (!rc && m->convert_groups_file)
		rc = gb_read_file(m->convert_groups_file, &b, err);
	for (line = b.data; !rc && line && *line; line = next) {
		char *p, *hash;

		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		for (p = line; !rc && *p;) {
			size_t len = strcspn(p, ", \t\r");
			if (len) {
				char **more = realloc(ids, (n + 2) * sizeof(char *));
				if (!more) {
					rc = gb_error_set(err, GB_ENOMEM, "out of memory");
					break;
				}
				ids = more;
				ids[n] = gb_strndup(p, len);
				ids[n + 1] = NULL;
				if (!ids[n++])
					rc = gb_error_set(err, GB_ENOMEM, "out of memory");
			}
			p += len;
			p += strspn(p, ", \t\r");
		}
	}
	gb_buf_free(&b);
	if (rc) {
		gb_step_ids_free(ids);
		return rc;
	}
	*out = ids;
	return 0;
}

/* One operation of kind on target, with at most one attribute (name NULL: none). */
static int add_op(gb_plan *plan, gb_op_kind kind, const char *id, const char *target, const char *attr,
		  const char *before, const char *after, const char *reason, gb_error *err)
{
	gb_op *op;
	int rc = gb_plan_add_op(plan, kind, id, target, reason, &op, err);

	return rc || !attr ? rc : gb_op_add_attr(op, attr, before, after, err);
}

static const char *scope_name(long group_type)
{
	return group_type & 0x2 ? "global" : group_type & 0x4 ? "domain local" : "of no known scope";
}

/* --make-universal: the AD group's scope becomes universal, its security flag kept. AD refuses where its rules
 * forbid it (a global group that is a member of another global group; a domain local group that holds another
 * domain local group), and the step reports that group. */
static int universal_op(gb_plan *plan, const char *id, const gb_ad_group *a, gb_error *err)
{
	char before[24], after[24];
	gb_op *op;
	int rc;

	snprintf(before, sizeof(before), "%ld", a->group_type);
	snprintf(after, sizeof(after), "%ld", (long)(int32_t)(((uint32_t)a->group_type & ~0xEu) | GROUP_TYPE_UNIVERSAL));
	rc = gb_plan_add_op(plan, GB_OP_SET_ATTRS, id, a->dn, "Cloud Sync provisions universal groups (--make-universal)",
			    &op, err);
	return rc ? rc : gb_op_add_attr(op, ATTR_GROUP_TYPE, before, after, err);
}

/* AD's rules for a scope change to universal, checked here so that the plan says why before anything is tried (and
 * so that a DC that does not enforce them, as Samba does not, is not used to break them): a global group must not be
 * a member of another global group, and a domain local group must not hold another domain local group, nor members
 * of another forest (foreign security principals: [SCOPE-CHANGE], AD review D2). gb_directory_read_group found what
 * stands in the way (a->scope_blocker), from the root of the group's domain. *why is empty when the change is
 * allowed. */
static void universal_blocker(const gb_ad_group *a, char why[512])
{
	bool global = a->group_type & 0x2;

	why[0] = '\0';
	if ((!global && !(a->group_type & 0x4)) || !a->scope_blocker)
		return;
	if (global)
		snprintf(why, 512, "it is a member of the global group %s", a->scope_blocker);
	else if (gb_directory_is_foreign_principal(a->scope_blocker))
		snprintf(why, 512, "it holds the foreign security principal %s (a member from another forest)",
			 a->scope_blocker);
	else
		snprintf(why, 512, "it holds the domain local group %s", a->scope_blocker);
}

/* The engine's check: isCloudManaged becomes true only while the group's AD group (as recorded by the plan) is
 * universal. */
int gb_step_convert_check(void *ctx, const gb_op *op, gb_error *err)
{
	gb_migrate_ctx *c = ctx;
	const gb_attr_change *soa = gb_op_find_attr(op, ATTR_SOA);
	sqlite3_stmt *s = NULL;
	gb_directory *dir = NULL;
	gb_ad_group *a = NULL;
	int rc;

	if (op->kind != GB_OP_GRAPH_SET_SOA || !soa || !soa->after || strcmp(soa->after, "true") != 0)
		return 0;
	rc = gb_store_prepare(c->st, "SELECT ad_dn FROM migration_groups WHERE object_id = ?1 AND ad_dn IS NOT NULL", &s,
			      err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, op->target, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		rc = gb_migrate_dir(c, &dir, err);
		if (!rc)
			rc = gb_directory_read_group(dir, (const char *)sqlite3_column_text(s, 0), false, &a, err);
		if (!rc && !(a->group_type & GROUP_TYPE_UNIVERSAL))
			rc = gb_error_set(err, GB_ECONFLICT, "group %s: AD group %s is %s, not universal; the source of "
							     "authority stays in AD", op->target, a->dn, scope_name(a->group_type));
	}
	sqlite3_finalize(s);
	gb_ad_group_free(a);
	return rc;
}

int gb_step_convert_fence(gb_migrate_ctx *c, char **out, gb_error *err)
{
	const char *allowed = c->cfg->provisioning.allowed_containers;

	*out = allowed ? gb_strdup(allowed) : NULL;
	return allowed && !*out ? gb_error_set(err, GB_ENOMEM, "out of memory") : 0;
}

/* The extension application, its service principal and the GroupDN property, when missing. */
static int plan_extension(gb_graph *graph, gb_plan *plan, gb_error *err)
{
	gb_graph_app *app = NULL;
	char *sp = NULL, *name = NULL;
	int rc;

	rc = gb_graph_find_extension_app(graph, &app, err);
	if (rc == GB_ENOTFOUND) {
		gb_error_clear(err);
		rc = add_op(plan, GB_OP_GRAPH_CREATE_APP, NULL, GB_GRAPH_EXT_APP_NAME, "displayName", NULL,
			    GB_GRAPH_EXT_APP_NAME, "the GroupDN extension lives on this application", err);
		if (!rc)
			rc = add_op(plan, GB_OP_GRAPH_CREATE_SP, NULL, GB_GRAPH_EXT_APP_NAME, NULL, NULL, NULL,
				    "its service principal", err);
	} else if (!rc) {
		rc = gb_graph_find_service_principal(graph, app->app_id, &sp, err);
		if (rc == GB_ENOTFOUND) {
			gb_error_clear(err);
			rc = add_op(plan, GB_OP_GRAPH_CREATE_SP, NULL, GB_GRAPH_EXT_APP_NAME, NULL, NULL, NULL,
				    "its service principal", err);
		}
	}
	if (!rc && app) {
		gb_graph_extension_list *exts = NULL;
		size_t j;

		rc = gb_graph_list_extension_properties(graph, app->id, &exts, err);
		for (j = 0; !rc && exts && j < exts->n && !name; j++) {
			size_t len = strlen(exts->items[j].name);
			if (len > 8 && strcmp(exts->items[j].name + len - 8, "_" ATTR_DN) == 0)
				name = gb_strdup(exts->items[j].name);
		}
		gb_graph_extension_list_free(exts);
	}
	if (!rc && (!app || !name))
		rc = add_op(plan, GB_OP_GRAPH_CREATE_EXTENSION, NULL, GB_GRAPH_EXT_APP_NAME, "name", NULL, ATTR_DN,
			    "the extension that keeps each group's original DN", err);
	gb_graph_app_free(app);
	free(sp);
	free(name);
	return rc;
}

/* Records a group to convert (its AD group) in the migration's inventory: by `migrate run` only, never by `migrate
 * plan` (a plan made with --make-universal would otherwise leave a group recorded as converted that a later run
 * without it does not convert, and verify would then fail on it). */
static int record_converted(gb_migrate_ctx *c, const gb_cloud_group *g, const gb_ad_group *a, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = gb_store_prepare(c->st,
			      "INSERT INTO migration_groups(object_id, display_name, ad_dn, ad_guid, class, reason) VALUES "
			      "(?1, ?2, ?3, ?4, 'converted', 'listed for conversion') ON CONFLICT(object_id) DO UPDATE SET "
			      "ad_dn = excluded.ad_dn, ad_guid = excluded.ad_guid, class = 'converted'",
			      &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, g->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, g->display_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, a->dn, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, a->guid, -1, SQLITE_STATIC);
	return gb_store_step_done(c->st, s, "recording a group to convert", err);
}

/* The operations that convert group g, whose AD group is a, or the note that says why it cannot be. */
static int plan_group(gb_migrate_ctx *c, gb_graph *graph, gb_plan *plan, const gb_cloud_group *g, const gb_ad_group *a,
		      gb_error *err)
{
	const char *id = g->id;
	bool managed = false;
	char why[512];
	int rc = 0;

	if (!(a->group_type & GROUP_TYPE_UNIVERSAL) && !c->make_universal)
		return gb_plan_note(plan, GB_NOTE_GROUP_ERROR, id, NULL, "not-universal", err,
				    "group %s: AD group %s is %s, not universal; convert its scope in AD first, or run with "
				    "--make-universal (runbooks/convert-soa.md)",
				    id, a->dn, scope_name(a->group_type));
	if (!(a->group_type & GROUP_TYPE_UNIVERSAL)) {
		universal_blocker(a, why);
		if (why[0])
			return gb_plan_note(plan, GB_NOTE_GROUP_ERROR, id, NULL, "cannot-be-universal", err,
					    "group %s: AD group %s cannot become universal: %s (AD forbids it); change that "
					    "first (runbooks/convert-soa.md)",
					    id, a->dn, why);
		if (!rc)
			rc = universal_op(plan, id, a, err);
	}
	if (!rc)
		rc = gb_graph_get_sync_behavior(graph, id, &managed, err);
	if (!rc && !managed)
		rc = add_op(plan, GB_OP_GRAPH_SET_SOA, id, id, ATTR_SOA, "false", "true",
			    "move the group's source of authority to the cloud", err);
	if (!rc && (!g->group_dn_ext || strcmp(g->group_dn_ext, a->dn) != 0))
		rc = add_op(plan, GB_OP_GRAPH_SET_EXTENSION, id, id, ATTR_DN, g->group_dn_ext, a->dn,
			    "remember the AD DN so that provisioning keeps the group in place", err);
	if (!rc && c->recording)
		rc = record_converted(c, g, a, err);
	return rc;
}

/* One listed group: found in the tenant and in AD by its SID, then planned, or noted. */
static int plan_listed(gb_migrate_ctx *c, gb_graph *graph, gb_directory *dir, gb_plan *plan, const char *id,
		       gb_error *err)
{
	static const char *const dn_attr[] = {"distinguishedName", NULL};
	gb_cloud_group *g = NULL;
	gb_dir_entry *e = NULL;
	gb_ad_group *a = NULL;
	int rc;

	rc = gb_graph_get_group(graph, id, &g, err);
	if (rc == GB_ENOTFOUND)
		return gb_plan_note(plan, GB_NOTE_GROUP_ERROR, id, NULL, "not-found", err,
				    "group %s does not exist in the tenant", id);
	if (!rc && !g->on_prem_sid) {
		rc = gb_plan_note(plan, GB_NOTE_GROUP_ERROR, id, NULL, "not-synced", err,
				  "group %s has no onPremisesSecurityIdentifier: it is not a group synced from AD", id);
	} else if (!rc) {
		/* with gc_uri the SID is looked up in the whole forest (the Global Catalog), as provisioning does (D1) */
		unsigned gc = c->cfg && c->cfg->directory.gc_uri ? GB_DIR_GC : 0;

		rc = gb_directory_find_by_sid(dir, g->on_prem_sid, dn_attr, gc, &e, err);
		if (rc == GB_ENOTFOUND)
			rc = gb_plan_note(plan, GB_NOTE_GROUP_ERROR, id, NULL, "ad-group-not-found", err,
					  "group %s: no AD group in this %s has its SID %s%s", id, gc ? "forest" : "domain",
					  g->on_prem_sid, gc ? "" : " (set [directory] gc_uri to search the whole forest)");
		else if (!rc)
			rc = gb_directory_read_group(dir, e->dn, false, &a, err);
		if (rc == GB_EREFERRAL) /* the group is in another domain: that group's error, not the step's */
			rc = gb_plan_note(plan, GB_NOTE_GROUP_ERROR, id, NULL, "other-domain", err,
					  "group %s: AD group %s is in another domain of the forest; convert it with a "
					  "configuration bound to a DC of that domain", id, e ? e->dn : g->on_prem_sid);
		if (!rc && a)
			rc = plan_group(c, graph, plan, g, a, err);
	}
	gb_dir_entry_free(e);
	gb_ad_group_free(a);
	gb_cloud_group_free(g);
	return rc;
}

int gb_step_convert_plan(gb_migrate_ctx *c, gb_plan **out, gb_error *err)
{
	gb_graph *graph = NULL;
	gb_directory *dir = NULL;
	gb_plan *plan = NULL;
	char **ids = NULL;
	size_t i;
	int rc;

	*out = NULL;
	rc = listed(c, &ids, err);
	if (!rc)
		rc = gb_plan_new(&plan, err);
	if (!rc && !ids) {
		fprintf(c->out, "no groups are listed for conversion ([migration] convert_groups or convert_groups_file)\n");
		*out = plan;
		return 0;
	}
	if (!rc)
		rc = gb_migrate_graph(c, &graph, err);
	if (!rc)
		rc = gb_migrate_dir(c, &dir, err);
	if (!rc)
		rc = plan_extension(graph, plan, err);
	/* The inventory rows of the groups planned, in one transaction. */
	if (!rc)
		rc = gb_store_begin(c->st, err);
	for (i = 0; !rc && ids[i]; i++) {
		rc = plan_listed(c, graph, dir, plan, ids[i], err);
		if (rc) {
			gb_store_rollback(c->st);
			break;
		}
	}
	if (!rc)
		rc = gb_store_commit(c->st, err);
	gb_step_ids_free(ids);
	if (rc) {
		gb_plan_free(plan);
		return rc;
	}
	*out = plan;
	return 0;
}

int gb_step_groupdn_name(gb_graph *graph, char **out, gb_error *err)
{
	return gb_apply_extension_name(graph, ATTR_DN, out, err);
}

int gb_step_convert_verify(gb_migrate_ctx *c, gb_error *err)
{
	gb_graph *graph = NULL;
	sqlite3_stmt *s = NULL;
	char *name = NULL;
	size_t n = 0;
	int rc;

	rc = gb_migrate_graph(c, &graph, err);
	if (!rc)
		rc = gb_store_prepare(c->st, "SELECT object_id, ad_dn FROM migration_groups WHERE class = 'converted'", &s,
				      err);
	while (!rc && sqlite3_step(s) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 0), *dn = (const char *)sqlite3_column_text(s, 1);
		bool managed = false;
		char *g = NULL;

		if (!name)
			rc = gb_step_groupdn_name(graph, &name, err);
		if (!rc)
			rc = gb_graph_get_sync_behavior(graph, id, &managed, err);
		if (!rc && !managed)
			rc = gb_error_set(err, GB_ECONFLICT, "group %s is not cloud-managed", id);
		if (!rc)
			rc = gb_graph_get_group_extension_value(graph, id, name, &g, err);
		if (!rc && (!g || strcmp(g, dn) != 0))
			rc = gb_error_set(err, GB_ECONFLICT, "group %s: %s is not %s", id, name, dn);
		free(g);
		n++;
	}
	sqlite3_finalize(s);
	free(name);
	if (!rc)
		fprintf(c->out, "verified: %zu groups are cloud-managed and remember their AD DN\n", n);
	return rc;
}

/* The cloud-only users among a converted group's members (counted, the first named). */
typedef struct cloud_only {
	gb_graph *graph;
	size_t n;
	char first[64];
} cloud_only;

static int on_member(const gb_member_ref *m, void *ud, gb_error *err)
{
	cloud_only *k = ud;
	gb_cloud_user *u = NULL;
	int rc;

	if (m->kind != GB_KIND_USER)
		return 0;
	rc = gb_graph_get_user(k->graph, m->id, &u, err);
	if (rc == GB_ENOTFOUND)
		return 0;
	if (!rc && !u->on_prem_object_id && u->on_prem_sync_enabled != GB_TRI_TRUE && k->n++ == 0)
		snprintf(k->first, sizeof(k->first), "%s", m->id);
	gb_cloud_user_free(u);
	return rc;
}

/* SOA-CFG, "Roll back SOA update": before isCloudManaged goes back to false, the group must hold no cloud-only
 * user (AD cannot hold them, and the group would go back to AD's membership). GB_ECONFLICT naming the group and one
 * of them. Access-package assignments, which Microsoft names too, are not readable with groupbridge's permissions:
 * runbooks/rollback.md asks the operator to check them. */
static int soa_rollback_allowed(gb_migrate_ctx *c, const char *id, gb_error *err)
{
	cloud_only k;
	int rc;

	memset(&k, 0, sizeof(k));
	rc = gb_migrate_graph(c, &k.graph, err);
	if (!rc)
		rc = gb_graph_list_members(k.graph, id, 999, on_member, &k, err);
	if (!rc && k.n)
		rc = gb_error_set(err, GB_ECONFLICT,
				  "group %s holds %zu cloud-only users (%s%s), which AD cannot hold: Microsoft asks to "
				  "remove them before the source of authority goes back to AD (Configure Group SOA, "
				  "\"Roll back SOA update\"); remove them, then roll back again",
				  id, k.n, k.first, k.n > 1 ? ", ..." : "");
	return rc;
}

int gb_step_convert_rollback_plan(gb_migrate_ctx *c, gb_plan **out, gb_error *err)
{
	gb_plan *plan = NULL;
	sqlite3_stmt *s = NULL;
	int rc;

	*out = NULL;
	rc = gb_plan_new(&plan, err);
	if (!rc)
		rc = gb_store_prepare(c->st, "SELECT object_id FROM migration_groups WHERE class = 'converted'", &s, err);
	while (!rc && sqlite3_step(s) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 0);
		rc = soa_rollback_allowed(c, id, err);
		if (!rc)
			rc = add_op(plan, GB_OP_GRAPH_SET_SOA, id, id, ATTR_SOA, "true", "false",
				    "give the source of authority back to AD (the AD group is kept)", err);
	}
	sqlite3_finalize(s);
	if (rc) {
		gb_plan_free(plan);
		return rc;
	}
	*out = plan;
	return 0;
}
