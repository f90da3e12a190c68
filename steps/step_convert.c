/* step_convert.c: step 6, convert-soa: the listed AD-synced groups become cloud-managed.
 *
 * For each group in [migration] convert_groups / convert_groups_file: its AD group is found by objectSid =
 * onPremisesSecurityIdentifier and must be universal (Cloud Sync provisions universal groups); then
 * onPremisesSyncBehavior isCloudManaged is set to true (and read back), and the group's GroupDN directory extension
 * (on the CloudSyncCustomExtensionsApp application, created with its service principal and the extension when
 * missing) is set to the AD group's DN, so that provisioning puts the group back where it was. The rollback sets
 * isCloudManaged back to false; the AD group is kept and provisioning stops managing it.
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

#define ATTR_APP "application"
#define ATTR_SP "servicePrincipal"
#define ATTR_EXT "extensionProperty"
#define ATTR_SOA "isCloudManaged"
#define ATTR_DN "GroupDN"
#define ATTR_GROUP_TYPE "groupType"
#define GROUP_TYPE_UNIVERSAL 0x8L

static void ids_free(char **ids);

/* The ids listed for conversion: convert_groups, then convert_groups_file (one or more a line, separated by commas
 * or white space, '#' starting a comment). *out is NULL-terminated, or NULL when none; free with ids_free. */
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
		ids_free(ids);
		return rc;
	}
	*out = ids;
	return 0;
}

static void ids_free(char **ids)
{
	size_t i;

	for (i = 0; ids && ids[i]; i++)
		free(ids[i]);
	free(ids);
}

static int add_op(gb_plan *plan, const char *id, const char *target, const char *attr, const char *before,
		  const char *after, const char *reason, gb_error *err)
{
	gb_op *op;
	int rc = gb_plan_add_op(plan, GB_OP_GRAPH_PATCH, id, target, reason, &op, err);

	return rc ? rc : gb_op_add_attr(op, attr, before, after, err);
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

static int first_dn_cb(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	char *dn = ctx;

	(void)err;
	if (!dn[0])
		snprintf(dn, 512, "%s", e->dn);
	return 0;
}

/* AD's rules for a scope change to universal, checked here so that the plan says why before anything is tried (and
 * so that a DC that does not enforce them, as Samba does not, is not used to break them): a global group must not be
 * a member of another global group, and a domain local group must not hold another domain local group. *why is
 * empty when the change is allowed. */
static int universal_blocker(gb_directory *dir, const gb_ad_group *a, char why[512], gb_error *err)
{
	static const char *const dn_attr[] = {"distinguishedName", NULL};
	bool global = a->group_type & 0x2;
	char found[512] = "";
	gb_buf f;
	int rc;

	why[0] = '\0';
	if (!global && !(a->group_type & 0x4))
		return 0;
	gb_buf_init(&f, 4096);
	rc = gb_buf_puts(&f, global ? "(&(objectClass=group)(groupType:1.2.840.113556.1.4.803:=2)(member="
				    : "(&(objectClass=group)(groupType:1.2.840.113556.1.4.803:=4)(memberOf=",
			 err);
	if (!rc)
		rc = gb_ad_filter_escape(a->dn, strlen(a->dn), &f, err);
	if (!rc)
		rc = gb_buf_puts(&f, "))", err);
	if (!rc)
		rc = gb_directory_search(dir, NULL, GB_DIR_SUBTREE, gb_buf_cstr(&f), dn_attr, 0, first_dn_cb, found, err);
	gb_buf_free(&f);
	if (!rc && found[0])
		snprintf(why, 512, global ? "it is a member of the global group %s" : "it holds the domain local group %s",
			 found);
	return rc;
}

/* Whether group id's AD group (as recorded by the plan) is universal now: isCloudManaged is set only then. */
static int check_universal(gb_migrate_ctx *c, const char *id, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	gb_directory *dir = NULL;
	gb_ad_group *a = NULL;
	int rc;

	rc = gb_store_prepare(c->st, "SELECT ad_dn FROM migration_groups WHERE object_id = ?1 AND ad_dn IS NOT NULL", &s,
			      err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		rc = gb_migrate_dir(c, &dir, err);
		if (!rc)
			rc = gb_directory_read_group(dir, (const char *)sqlite3_column_text(s, 0), false, &a, err);
		if (!rc && !(a->group_type & GROUP_TYPE_UNIVERSAL))
			rc = gb_error_set(err, GB_ECONFLICT, "group %s: AD group %s is %s, not universal; the source of "
							     "authority stays in AD", id, a->dn, scope_name(a->group_type));
	}
	sqlite3_finalize(s);
	gb_ad_group_free(a);
	return rc;
}

int gb_step_convert_plan(gb_migrate_ctx *c, gb_plan **out, gb_error *err)
{
	gb_graph *graph = NULL;
	gb_directory *dir = NULL;
	gb_graph_app *app = NULL;
	gb_plan *plan = NULL;
	char **ids = NULL, *sp = NULL;
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
	/* The extension application, its service principal and the GroupDN property, when missing. */
	if (!rc) {
		rc = gb_graph_find_extension_app(graph, &app, err);
		if (rc == GB_ENOTFOUND) {
			rc = add_op(plan, NULL, GB_GRAPH_EXT_APP_NAME, ATTR_APP, NULL, GB_GRAPH_EXT_APP_NAME,
				    "the GroupDN extension lives on this application", err);
			if (!rc)
				rc = add_op(plan, NULL, GB_GRAPH_EXT_APP_NAME, ATTR_SP, NULL, "created",
					    "its service principal", err);
			if (!rc)
				rc = add_op(plan, NULL, GB_GRAPH_EXT_APP_NAME, ATTR_EXT, NULL, ATTR_DN,
					    "the extension that keeps each group's original DN", err);
		} else if (!rc) {
			gb_graph_extension_list *exts = NULL;
			bool has = false;
			size_t j;

			rc = gb_graph_find_service_principal(graph, app->app_id, &sp, err);
			if (rc == GB_ENOTFOUND)
				rc = add_op(plan, NULL, GB_GRAPH_EXT_APP_NAME, ATTR_SP, NULL, "created", "its service principal",
					    err);
			if (!rc)
				rc = gb_graph_list_extension_properties(graph, app->id, &exts, err);
			for (j = 0; !rc && exts && j < exts->n; j++) {
				size_t len = strlen(exts->items[j].name);
				has |= len > 8 && strcmp(exts->items[j].name + len - 8, "_" ATTR_DN) == 0;
			}
			gb_graph_extension_list_free(exts);
			if (!rc && !has)
				rc = add_op(plan, NULL, GB_GRAPH_EXT_APP_NAME, ATTR_EXT, NULL, ATTR_DN,
					    "the extension that keeps each group's original DN", err);
		}
	}
	for (i = 0; !rc && ids[i]; i++) {
		gb_cloud_group *g = NULL;
		gb_dir_entry *e = NULL;
		gb_ad_group *a = NULL;
		bool managed = false;
		static const char *const dn_attr[] = {"distinguishedName", NULL};
		char why[512];

		rc = gb_graph_get_group(graph, ids[i], &g, err);
		if (rc == GB_ENOTFOUND) {
			rc = gb_plan_note(plan, GB_NOTE_GROUP_ERROR, ids[i], NULL, "not-found", err,
					  "group %s does not exist in the tenant", ids[i]);
			continue;
		}
		if (!rc && !g->on_prem_sid)
			rc = gb_plan_note(plan, GB_NOTE_GROUP_ERROR, ids[i], NULL, "not-synced", err,
					  "group %s has no onPremisesSecurityIdentifier: it is not a group synced from AD", ids[i]);
		else if (!rc) {
			int r = gb_directory_find_by_sid(dir, g->on_prem_sid, dn_attr, 0, &e, err);
			if (r == GB_ENOTFOUND)
				rc = gb_plan_note(plan, GB_NOTE_GROUP_ERROR, ids[i], NULL, "ad-group-not-found", err,
						  "group %s: no AD group in this forest has its SID %s", ids[i], g->on_prem_sid);
			else if (r)
				rc = r;
			else
				rc = gb_directory_read_group(dir, e->dn, false, &a, err);
			if (!rc && a && !(a->group_type & GROUP_TYPE_UNIVERSAL) && !c->make_universal)
				rc = gb_plan_note(plan, GB_NOTE_GROUP_ERROR, ids[i], NULL, "not-universal", err,
						  "group %s: AD group %s is %s, not universal; convert its scope in AD first, "
						  "or run with --make-universal (runbooks/convert-soa.md)",
						  ids[i], a->dn, scope_name(a->group_type));
			else if (!rc && a && !(a->group_type & GROUP_TYPE_UNIVERSAL) &&
				 (rc = universal_blocker(dir, a, why, err)) == 0 && why[0])
				rc = gb_plan_note(plan, GB_NOTE_GROUP_ERROR, ids[i], NULL, "cannot-be-universal", err,
						  "group %s: AD group %s cannot become universal: %s (AD forbids it); change "
						  "that first (runbooks/convert-soa.md)", ids[i], a->dn, why);
			else if (!rc && a) {
				if (!(a->group_type & GROUP_TYPE_UNIVERSAL))
					rc = universal_op(plan, ids[i], a, err);
				if (!rc)
					rc = gb_graph_get_sync_behavior(graph, ids[i], &managed, err);
				if (!rc && !managed)
					rc = add_op(plan, ids[i], ids[i], ATTR_SOA, "false", "true",
						    "move the group's source of authority to the cloud", err);
				if (!rc && (!g->group_dn_ext || strcmp(g->group_dn_ext, a->dn) != 0))
					rc = add_op(plan, ids[i], ids[i], ATTR_DN, g->group_dn_ext, a->dn,
						    "remember the AD DN so that provisioning keeps the group in place", err);
				if (!rc)
					rc = gb_store_begin(c->st, err);
				if (!rc) {
					sqlite3_stmt *s = NULL;
					rc = gb_store_prepare(c->st,
							      "INSERT INTO migration_groups(object_id, display_name, ad_dn, ad_guid, "
							      "class, reason) VALUES (?1, ?2, ?3, ?4, 'converted', 'listed for "
							      "conversion') ON CONFLICT(object_id) DO UPDATE SET ad_dn = excluded.ad_dn, "
							      "ad_guid = excluded.ad_guid, class = 'converted'",
							      &s, err);
					if (!rc) {
						sqlite3_bind_text(s, 1, ids[i], -1, SQLITE_STATIC);
						sqlite3_bind_text(s, 2, g->display_name, -1, SQLITE_STATIC);
						sqlite3_bind_text(s, 3, a->dn, -1, SQLITE_STATIC);
						sqlite3_bind_text(s, 4, a->guid, -1, SQLITE_STATIC);
						if (sqlite3_step(s) != SQLITE_DONE)
							rc = gb_store_error(c->st, err, "recording a group to convert");
					}
					sqlite3_finalize(s);
					if (!rc)
						rc = gb_store_commit(c->st, err);
					else
						gb_store_rollback(c->st);
				}
			}
		}
		gb_dir_entry_free(e);
		gb_ad_group_free(a);
		gb_cloud_group_free(g);
	}
	gb_graph_app_free(app);
	free(sp);
	ids_free(ids);
	if (rc) {
		gb_plan_free(plan);
		return rc;
	}
	*out = plan;
	return 0;
}

int gb_step_groupdn_name(gb_graph *graph, char **out, gb_error *err)
{
	gb_graph_app *app = NULL;
	gb_graph_extension_list *exts = NULL;
	size_t j;
	int rc;

	*out = NULL;
	rc = gb_graph_find_extension_app(graph, &app, err);
	if (!rc)
		rc = gb_graph_list_extension_properties(graph, app->id, &exts, err);
	for (j = 0; !rc && j < exts->n && !*out; j++) {
		size_t len = strlen(exts->items[j].name);
		if (len > 8 && strcmp(exts->items[j].name + len - 8, "_" ATTR_DN) == 0)
			*out = gb_strdup(exts->items[j].name);
	}
	if (!rc && !*out)
		rc = gb_error_set(err, GB_ENOTFOUND, "the GroupDN extension does not exist on %s", GB_GRAPH_EXT_APP_NAME);
	gb_graph_extension_list_free(exts);
	gb_graph_app_free(app);
	return rc;
}

int gb_step_convert_apply(gb_migrate_ctx *c, const gb_op *op, gb_error *err)
{
	const char *attr = op->attrs[0].name, *after = op->attrs[0].after;
	gb_graph *graph = NULL;
	gb_graph_app *app = NULL;
	char *sp = NULL, *name = NULL;
	bool managed = false;
	int rc;

	if (op->kind == GB_OP_SET_ATTRS && strcmp(attr, ATTR_GROUP_TYPE) == 0) {
		gb_directory *dir = NULL;
		const char *values[2] = {after, NULL};
		gb_dir_change change = {GB_DIR_MOD_REPLACE, ATTR_GROUP_TYPE, values};

		rc = gb_migrate_dir(c, &dir, err);
		return rc ? rc : gb_directory_modify(dir, op->target, &change, 1, err);
	}
	rc = gb_migrate_graph(c, &graph, err);
	if (rc)
		return rc;
	if (strcmp(attr, ATTR_APP) == 0) {
		rc = gb_graph_create_extension_app(graph, &app, err);
	} else if (strcmp(attr, ATTR_SP) == 0) {
		rc = gb_graph_find_extension_app(graph, &app, err);
		if (!rc)
			rc = gb_graph_create_service_principal(graph, app->app_id, &sp, err);
	} else if (strcmp(attr, ATTR_EXT) == 0) {
		rc = gb_graph_find_extension_app(graph, &app, err);
		if (!rc)
			rc = gb_graph_create_extension_property(graph, app->id, ATTR_DN, &name, err);
	} else if (strcmp(attr, ATTR_SOA) == 0) {
		bool want = after && strcmp(after, "true") == 0;
		rc = want ? check_universal(c, op->target, err) : 0;
		if (!rc)
			rc = gb_graph_set_sync_behavior(graph, op->target, want, err);
		if (!rc)
			rc = gb_graph_get_sync_behavior(graph, op->target, &managed, err);
		if (!rc && managed != want)
			rc = gb_error_set(err, GB_ECONFLICT, "group %s: isCloudManaged reads %s after the change", op->target,
					  managed ? "true" : "false");
	} else if (strcmp(attr, ATTR_DN) == 0) {
		rc = gb_step_groupdn_name(graph, &name, err);
		if (!rc)
			rc = gb_graph_set_group_extension_value(graph, op->target, name, after, err);
	} else {
		rc = gb_error_set(err, GB_EINVAL, "unknown convert-soa operation %s", attr);
	}
	gb_graph_app_free(app);
	free(sp);
	free(name);
	return rc;
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
		rc = add_op(plan, id, id, ATTR_SOA, "true", "false",
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
