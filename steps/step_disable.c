/* step_disable.c: step 5, disable-writeback: irreversible, carried out by the operator.
 *
 * Before: refused while the current import (the newest export) holds a rule that deletes groups leaving writeback
 * scope, enabled or not (disabling writeback would delete AD groups), or does not show both coexistence rules
 * enabled and staging mode on (an attested confirmation of step 4 is not enough); prepared only with
 * --i-understand-this-is-irreversible. Then every ready group is snapshotted (objectGUID and members) and the
 * operator gets the script, generated for the writeback forest's AD connector (the one the coexistence script used).
 * Both the script and the confirmation need the hand-over plan shown first (`migrate plan handoff`, review D5).
 * On confirmation the tenant must not report group writeback through Graph (groupWriteBackEnabled; when Graph does
 * not give the flag, that is said and AD decides alone), and every snapshotted group must still exist with the same
 * objectGUID and the same members.
 */
#include <jansson.h>
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

/* Whether the current import holds a rule with this role (disabled rules count). Its name, else NULL. */
static const char *rule_with_role(json_t *root, const char *role)
{
	json_t *r, *v;
	size_t i, j;

	json_array_foreach(json_object_get(root, "rules"), i, r)
	{
		json_array_foreach(json_object_get(r, "roles"), j, v)
		{
			if (json_is_string(v) && strcmp(json_string_value(v), role) == 0) {
				const char *name = json_string_value(json_object_get(r, "name"));
				return name ? name : "(no name)";
			}
		}
	}
	return NULL;
}

/* Whether the current import holds the coexistence rule with this identifier, enabled. */
static bool rule_enabled(json_t *root, const char *id)
{
	json_t *r;
	size_t i;

	json_array_foreach(json_object_get(root, "rules"), i, r)
	{
		const char *rid = json_string_value(json_object_get(r, "id"));
		if (rid && gb_cs_guid_equal(rid, id) && !json_is_true(json_object_get(r, "disabled")))
			return true;
	}
	return false;
}

/* What the newest export must show before the script may be written (GB_EGATE otherwise):
 * - no rule that deletes groups leaving writeback scope, enabled or not (review D18). The script refuses such a rule
 *   whether or not it is enabled, and so does groupbridge: a disabled rule is one click in the Synchronization Rules
 *   Editor away from deleting every written-back group once writeback is off, and removing it costs nothing (it is
 *   optional, GWB-MODIFY);
 * - both coexistence rules enabled and staging mode on: step 4 in place on the server, as a fresh export shows it.
 *   This is judged from the current import (the export `migrate confirm connect-sync-coexistence --export` verified,
 *   or one imported since), not from the words of the step's record, so that an attested confirmation never passes
 *   for a verified one and a newer export always counts. */
static int check_import(gb_migrate_ctx *c, gb_error *err)
{
	json_t *root;
	const char *del;
	int64_t id = 0;
	gb_buf why;
	int rc;

	rc = gb_step_current_import(c, &root, &id, err);
	if (rc)
		return rc;
	if ((del = rule_with_role(root, "delete-out-of-scope")) != NULL) {
		rc = gb_error_set(
		    err, GB_EGATE,
		    "the Connect Sync export holds the rule \"%s\", which deletes AD groups that leave "
		    "writeback scope: disabling writeback now would delete them (a disabled rule counts too: it "
		    "is one click from active). Remove the rule, import a fresh export (groupbridge import "
		    "connect-sync DIR), and run again (runbooks/disable-writeback.md)",
		    del);
		json_decref(root);
		return rc;
	}
	gb_buf_init(&why, 1024);
	if (!rule_enabled(root, GB_CS_COEX_INBOUND_ID))
		gb_buf_puts(&why, "; no enabled inbound coexistence rule " GB_CS_COEX_INBOUND_ID, NULL);
	if (!rule_enabled(root, GB_CS_COEX_OUTBOUND_ID))
		gb_buf_puts(&why, "; no enabled outbound coexistence rule " GB_CS_COEX_OUTBOUND_ID, NULL);
	if (!json_is_true(json_object_get(root, "staging_mode")))
		gb_buf_puts(&why, "; staging mode is not on", NULL);
	if (why.len)
		rc = gb_error_set(
		    err, GB_EGATE,
		    "the newest Connect Sync export (import %lld, %s) does not show step 4 in place%s. Give "
		    "groupbridge the export the coexistence script wrote: groupbridge migrate confirm "
		    "connect-sync-coexistence --export DIR (or, once that step is confirmed, groupbridge "
		    "import connect-sync DIR), then run again",
		    (long long)id,
		    json_string_value(json_object_get(root, "dir")) ? json_string_value(json_object_get(root, "dir"))
		                                                    : "no folder",
		    gb_buf_cstr(&why));
	gb_buf_free(&why);
	json_decref(root);
	return rc;
}

int gb_step_disable_collect(gb_migrate_ctx *c, gb_error *err)
{
	gb_directory *dir = NULL;
	sqlite3_stmt *s = NULL, *ins = NULL;
	char *connector = NULL, path[PATH_MAX];
	size_t n = 0;
	int rc;

	rc = check_import(c, err);
	if (!rc && !c->irreversible_ok)
		rc = gb_error_set(err, GB_EGATE, "disabling group writeback v2 cannot be undone; read "
						 "runbooks/disable-writeback.md, then run again with "
						 "--i-understand-this-is-irreversible");
	if (!rc && !c->cfg->migration.tenant_domain)
		rc = gb_error_set(err, GB_ECONFIG, "set [migration] tenant_domain to the tenant's primary domain: the "
						   "script asks the operator to type it before the irreversible change");
	if (!rc) /* the coexistence script's connector: the writeback forest's (review D3) */
		rc = gb_step_writeback_connector(c, &connector, err);
	if (!rc) /* the hand-over target reachable and its plan shown before the point of no return (review D5) */
		rc = gb_step_handoff_previewed(c, err);
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
				       NULL};
		rc = gb_step_write_script(c, "disable-writeback", pairs, path, sizeof(path), err);
	}
	if (!rc) {
		fprintf(c->out,
			"snapshot of %zu ready groups taken (objectGUID and members)\n"
			"wrote %s: IRREVERSIBLE. On the Connect Sync server (runbooks/disable-writeback.md):\n",
			n, path);
		gb_step_print_whatif(c, "disable-writeback");
		fputs("Then: groupbridge migrate confirm disable-writeback   (it checks the tenant's writeback flag and every group against the snapshot)\n",
		      c->out);
	}
	free(connector);
	return rc;
}

/* The tenant's group writeback flag through Graph (review D4): GET /directory/onPremisesSynchronization, features.
 * groupWriteBackEnabled, which Graph documents as "used to enable object-level group writeback feature for additional
 * group types", the description of group writeback v2 (v1 is unifiedGroupWritebackEnabled). That it is the switch
 * Set-ADSyncAADCompanyFeature -GroupWritebackV2 turns off is not confirmed by Microsoft (UNCONFIRMED); groupbridge
 * treats true as "v2 may still write to these groups" and refuses, since a second writer is what the step prevents.
 * A flag Graph does not give (refused: Microsoft lists no application permission for this GET; not reported; not
 * found) cannot be checked: that is printed and the AD check decides alone. A transient failure is an error: the step
 * stays waiting and the confirmation can be repeated. */
static int check_tenant_flag(gb_migrate_ctx *c, gb_error *err)
{
	gb_graph_sync_features *f = NULL;
	gb_graph *g = NULL;
	gb_error e;
	int rc;

	rc = gb_migrate_graph(c, &g, err);
	if (rc)
		return rc;
	gb_error_clear(&e);
	rc = gb_graph_get_sync_features(g, &f, &e);
	if (rc == GB_EAUTH || rc == GB_ENOTFOUND || rc == GB_EGRAPH || rc == GB_EUNSUPPORTED) {
		fprintf(c->out,
		        "the tenant's group writeback flag could not be read through Graph (%s); NOT checked: read "
		        "(Get-ADSyncAADCompanyFeature).GroupWritebackV2 on the Connect Sync server yourself, it must "
		        "be False "
		        "(runbooks/disable-writeback.md)\n",
		        e.msg);
		return 0;
	}
	if (rc) {
		if (err)
			*err = e;
		return gb_error_prefix(
		    err, "reading the tenant's group writeback flag (GET /directory/onPremisesSynchronization)");
	}
	if (f->group_writeback_enabled == GB_TRI_TRUE)
		rc = gb_error_set(
		    err, GB_ECONFLICT,
		    "the tenant still reports group writeback on (Graph: directory/onPremisesSynchronization "
		    "features.groupWriteBackEnabled = true): the script has not disabled group writeback v2, or "
		    "it stopped before Set-ADSyncAADCompanyFeature. Read (Get-ADSyncAADCompanyFeature)."
		    "GroupWritebackV2 on the Connect Sync server: if it is True, run the script (again); if it is "
		    "False, wait a few minutes and confirm again. That Graph's flag is the same switch is not "
		    "confirmed by Microsoft: if the two keep disagreeing, stop and open a support case "
		    "(runbooks/disable-writeback.md)");
	else if (f->group_writeback_enabled == GB_TRI_FALSE)
		fprintf(c->out, "verified through Graph: the tenant reports groupWriteBackEnabled = false\n");
	else
		fprintf(
		    c->out,
		    "Graph reports no groupWriteBackEnabled flag for the tenant; NOT checked: read "
		    "(Get-ADSyncAADCompanyFeature).GroupWritebackV2 on the Connect Sync server yourself, it must be "
		    "False (runbooks/disable-writeback.md)\n");
	gb_graph_sync_features_free(f);
	return rc;
}

int gb_step_disable_confirm(gb_migrate_ctx *c, const char *export_dir, gb_error *err)
{
	gb_directory *dir = NULL;
	sqlite3_stmt *s = NULL;
	size_t n = 0, bad = 0;
	int rc;

	(void)export_dir;
	rc = gb_step_handoff_previewed(c, err); /* review D5 */
	if (!rc)
		rc = check_tenant_flag(c, err);
	if (!rc)
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
