/* step_disable.c: step 5, disable-writeback: irreversible, carried out by the operator.
 *
 * Before: refused while the current import holds an enabled rule that deletes groups leaving writeback scope
 * (disabling writeback would delete AD groups), or while the coexistence step is attested rather than verified from
 * an export; prepared only with --i-understand-this-is-irreversible. Then every ready group is snapshotted (objectGUID
 * and members) and the operator gets the script. On confirmation every snapshotted group must still exist with the
 * same objectGUID and the same members.
 */
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/buf.h"
#include "groupbridge/connect_sync.h"
#include "groupbridge/util.h"
#include "groupbridge/version.h"
#include "steps_int.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The group's members as one sorted, comma-separated string of objectGUIDs. */
static int member_list(const gb_ad_group *a, char **out, gb_error *err)
{
	char **sorted = NULL;
	gb_buf b;
	size_t i;
	int rc = 0;

	*out = NULL;
	if (a->nmembers && !(sorted = malloc(a->nmembers * sizeof(char *))))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	for (i = 0; i < a->nmembers; i++)
		sorted[i] = a->member_guids[i];
	if (a->nmembers)
		qsort(sorted, a->nmembers, sizeof(char *), cmp_str);
	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	for (i = 0; !rc && i < a->nmembers; i++)
		rc = gb_buf_printf(&b, err, "%s%s", i ? "," : "", sorted[i]);
	free(sorted);
	if (rc) {
		gb_buf_free(&b);
		return rc;
	}
	*out = gb_buf_detach(&b);
	return *out ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
}

static int refuse_delete_rule(gb_migrate_ctx *c, const char **connector_out, json_t **root_out, gb_error *err)
{
	json_error_t jerr;
	json_t *root, *r;
	char *json = NULL;
	size_t i, j;
	int rc;

	*root_out = NULL;
	rc = gb_cs_load_current(c->st, &json, NULL, err);
	if (rc)
		return rc;
	root = json_loads(json, 0, &jerr);
	free(json);
	if (!root)
		return gb_error_set(err, GB_ESTATE, "the stored import cannot be read: %s", jerr.text);
	json_array_foreach(json_object_get(root, "rules"), i, r)
	{
		json_t *role;
		json_array_foreach(json_object_get(r, "roles"), j, role)
		{
			if (json_is_string(role) && strcmp(json_string_value(role), "delete-out-of-scope") == 0 &&
			    !json_is_true(json_object_get(r, "disabled"))) {
				rc = gb_error_set(err, GB_EGATE,
						  "the Connect Sync export holds the rule \"%s\", which deletes AD groups that leave "
						  "writeback scope: disabling writeback now would delete them. Remove the rule, "
						  "import a fresh export, and run again (runbooks/disable-writeback.md)",
						  json_string_value(json_object_get(r, "name")));
				json_decref(root);
				return rc;
			}
		}
	}
	*connector_out = NULL;
	json_array_foreach(json_object_get(root, "connectors"), i, r)
	{
		const char *kind = json_string_value(json_object_get(r, "kind"));
		if (kind && strcmp(kind, "ad") == 0 && !*connector_out)
			*connector_out = json_string_value(json_object_get(r, "name"));
	}
	*root_out = root;
	return 0;
}

int gb_step_disable_collect(gb_migrate_ctx *c, gb_error *err)
{
	gb_directory *dir = NULL;
	json_t *root = NULL;
	sqlite3_stmt *s = NULL, *ins = NULL;
	const char *connector = NULL;
	char *detail = NULL, *script = NULL, path[PATH_MAX], sdir[PATH_MAX], ts[32];
	size_t n = 0;
	int rc;

	rc = refuse_delete_rule(c, &connector, &root, err);
	if (!rc)
		rc = gb_step_detail(c, "connect-sync-coexistence", &detail, err);
	if (!rc && !strstr(detail, "verified from"))
		rc = gb_error_set(err, GB_EGATE, "the coexistence rules are not verified from an export (%s); confirm "
						 "connect-sync-coexistence with --export first",
				  detail[0] ? detail : "not confirmed");
	if (!rc && !c->irreversible_ok)
		rc = gb_error_set(err, GB_EGATE, "disabling group writeback v2 cannot be undone; read "
						 "runbooks/disable-writeback.md, then run again with "
						 "--i-understand-this-is-irreversible");
	if (!rc && !c->cfg->migration.tenant_domain)
		rc = gb_error_set(err, GB_ECONFIG, "set [migration] tenant_domain to the tenant's primary domain: the "
						   "script asks the operator to type it before the irreversible change");
	if (!rc && !connector)
		rc = gb_error_set(err, GB_ECONFIG, "the imported export names no AD connector");
	/* The snapshot: every ready group, its objectGUID and its members. */
	if (!rc)
		rc = gb_migrate_dir(c, &dir, err);
	if (!rc)
		rc = gb_store_begin(c->st, err);
	if (!rc)
		rc = gb_store_exec(c->st, "DELETE FROM migration_snapshot", err);
	if (!rc)
		rc = gb_store_prepare(c->st, "SELECT object_id, ad_guid FROM migration_groups WHERE class = 'ready'", &s, err);
	if (!rc)
		rc = gb_store_prepare(c->st, "INSERT INTO migration_snapshot(object_id, ad_guid, dn, members) VALUES "
					     "(?1, ?2, ?3, ?4)",
				      &ins, err);
	while (!rc && sqlite3_step(s) == SQLITE_ROW) {
		char target[64], *members = NULL;
		gb_ad_group *a = NULL;

		snprintf(target, sizeof(target), "<GUID=%s>", (const char *)sqlite3_column_text(s, 1));
		rc = gb_directory_read_group(dir, target, true, &a, err);
		if (!rc)
			rc = member_list(a, &members, err);
		if (!rc) {
			sqlite3_reset(ins);
			sqlite3_bind_text(ins, 1, (const char *)sqlite3_column_text(s, 0), -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(ins, 2, a->guid, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 3, a->dn, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 4, members, -1, SQLITE_STATIC);
			if (sqlite3_step(ins) != SQLITE_DONE)
				rc = gb_store_error(c->st, err, "recording the snapshot");
			n++;
		}
		free(members);
		gb_ad_group_free(a);
	}
	sqlite3_finalize(s);
	sqlite3_finalize(ins);
	if (!rc)
		rc = gb_store_commit(c->st, err);
	else
		gb_store_rollback(c->st);
	if (!rc) {
		const char *pairs[] = {"AD_CONNECTOR_NAME", connector, "TENANT_DOMAIN", c->cfg->migration.tenant_domain,
				       "GENERATED_AT", ts, "GROUPBRIDGE_VERSION", GB_VERSION, NULL};
		gb_time_iso8601(ts, sizeof(ts));
		rc = gb_step_fill_template("disable-writeback", pairs, &script, err);
	}
	if (!rc) {
		snprintf(sdir, sizeof(sdir), "%s", gb_store_path(c->st));
		snprintf(path, sizeof(path), "%s/disable-writeback.ps1", dirname(sdir));
		rc = gb_write_file_atomic(path, script, strlen(script), 0644, err);
	}
	if (!rc)
		fprintf(c->out,
			"snapshot of %zu ready groups taken (objectGUID and members)\n"
			"wrote %s: IRREVERSIBLE. On the Connect Sync server (runbooks/disable-writeback.md):\n"
			"  powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\\disable-writeback.ps1\n"
			"Then: groupbridge migrate confirm disable-writeback   (it checks every group against the snapshot)\n",
			n, path);
	free(detail);
	free(script);
	json_decref(root);
	return rc;
}

int gb_step_disable_confirm(gb_migrate_ctx *c, const char *export_dir, gb_error *err)
{
	gb_directory *dir = NULL;
	sqlite3_stmt *s = NULL;
	size_t n = 0, bad = 0;
	int rc;

	(void)export_dir;
	rc = gb_migrate_dir(c, &dir, err);
	if (!rc)
		rc = gb_store_prepare(c->st, "SELECT object_id, ad_guid, dn, members FROM migration_snapshot ORDER BY object_id",
				      &s, err);
	while (!rc && sqlite3_step(s) == SQLITE_ROW) {
		const char *guid = (const char *)sqlite3_column_text(s, 1), *dn = (const char *)sqlite3_column_text(s, 2);
		const char *before = (const char *)sqlite3_column_text(s, 3);
		char target[64], *now = NULL;
		gb_ad_group *a = NULL;
		int r;

		n++;
		snprintf(target, sizeof(target), "<GUID=%s>", guid);
		r = gb_directory_read_group(dir, target, true, &a, err);
		if (r == GB_ENOTFOUND) {
			if (bad++ == 0)
				gb_error_set(err, GB_ECONFLICT, "group %s (%s) no longer exists", guid, dn);
			continue;
		}
		if (r) {
			rc = r;
			break;
		}
		rc = member_list(a, &now, err);
		if (!rc && strcmp(now, before) != 0 && bad++ == 0)
			gb_error_set(err, GB_ECONFLICT, "group %s: its members changed (%zu now)", a->dn, a->nmembers);
		free(now);
		gb_ad_group_free(a);
	}
	sqlite3_finalize(s);
	if (!rc && bad)
		return gb_error_prefix(err, "%zu of %zu groups differ from the snapshot taken before disabling writeback; "
					    "look before going on (runbooks/disable-writeback.md)",
				       bad, n);
	if (!rc)
		fprintf(c->out, "verified: all %zu groups exist with the same objectGUID and the same members\n", n);
	return rc;
}
