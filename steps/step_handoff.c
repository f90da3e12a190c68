/* step_handoff.c: steps 8 and 9, handoff and verify.
 *
 * handoff shows the provisioning plan that takes over the matched groups, and warns when Cloud Sync's default cn
 * mapping would rename groups Connect Sync named Group_<objectId> (offering the mapping that keeps them). It is a
 * gate: `migrate confirm handoff` hands the groups over (provisioning manages them from then on) and runs a
 * provisioning pass for them. verify plans provisioning for the handed-over groups again: any change it would make
 * is drift, and the migration is complete only when there is none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/provisioner.h"
#include "groupbridge/util.h"
#include "steps_int.h"

/* The ids of the groups in a state ("matched" or "handed-over"), NULL-terminated, allocated; NULL when none. */
static int group_ids(gb_migrate_ctx *c, const char *where, char ***out, size_t *n, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	char sql[256], **ids = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	snprintf(sql, sizeof(sql), "SELECT object_id FROM migration_groups WHERE %s ORDER BY object_id", where);
	rc = gb_store_prepare(c->st, sql, &s, err);
	while (!rc && sqlite3_step(s) == SQLITE_ROW) {
		char **more = realloc(ids, (*n + 2) * sizeof(char *));
		if (!more) {
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
			break;
		}
		ids = more;
		ids[*n] = gb_strdup((const char *)sqlite3_column_text(s, 0));
		ids[++*n] = NULL;
	}
	sqlite3_finalize(s);
	if (rc) {
		size_t i;
		for (i = 0; i < *n; i++)
			free(ids[i]);
		free(ids);
		*n = 0;
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

/* One provisioning pass restricted to ids. */
static int pass(gb_migrate_ctx *c, char **ids, bool dry_run, gb_provision_result *res, gb_error *err)
{
	gb_graph *graph = NULL;
	gb_directory *dir = NULL;
	gb_provision_opts po;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!c->cfg->provisioning.present)
		return gb_error_set(err, GB_ECONFIG, "%s: handing groups to provisioning needs a [provisioning] section "
						     "(target_container, and cn as the warning below says)", c->cfg->path);
	rc = gb_migrate_graph(c, &graph, err);
	if (!rc)
		rc = gb_migrate_dir(c, &dir, err);
	memset(&po, 0, sizeof(po));
	po.dry_run = dry_run;
	po.run_id = c->run_id;
	po.only_ids = (const char *const *)ids;
	if (!rc)
		rc = gb_provisioner_run(c->cfg, c->st, graph, dir, &po, res, err);
	return rc;
}

int gb_step_handoff_plan(gb_migrate_ctx *c, gb_plan **out, gb_error *err)
{
	gb_provision_result res;
	sqlite3_stmt *s = NULL;
	char **ids = NULL;
	size_t n = 0, connect_named = 0;
	int rc;

	*out = NULL;
	memset(&res, 0, sizeof(res));
	if (c->cfg->migration.handoff_target && strcmp(c->cfg->migration.handoff_target, "cloudsync") == 0)
		return gb_error_set(err, GB_EUNSUPPORTED, "handoff_target = cloudsync (assigning the groups to a Cloud Sync "
							  "job) is not carried out by this version of groupbridge; follow "
							  "runbooks/handoff.md");
	rc = group_ids(c, "match_result = 'matched'", &ids, &n, err);
	if (!rc && !ids)
		return gb_error_set(err, GB_ECONFLICT, "no group is matched: nothing to hand over (see migrate status)");
	/* Connect Sync named written-back groups Group_<objectId>; Cloud Sync's default cn renames them. */
	if (!rc && !c->cfg->provisioning.cn &&
	    gb_store_prepare(c->st, "SELECT count(*) FROM migration_groups WHERE match_result = 'matched' AND "
				    "matched_dn LIKE 'CN=Group\\_%' ESCAPE '\\'",
			     &s, err) == 0) {
		if (sqlite3_step(s) == SQLITE_ROW)
			connect_named = (size_t)sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	}
	if (!rc && connect_named)
		fprintf(c->out,
			"WARNING: %zu groups are named Group_<objectId>, as Connect Sync named them. The default cn mapping "
			"would rename each to <displayName>_<last 12 of objectId>. To keep the names, add to [provisioning]:\n"
			"  cn = Append(\"Group_\", [objectId])\n",
			connect_named);
	if (!rc)
		rc = pass(c, ids, true, &res, err);
	if (rc == GB_EPARTIAL)
		rc = 0; /* groups the rules refuse are in the plan's notes, for the review */
	if (!rc) {
		fprintf(c->out, "the provisioning plan that takes over %zu groups (applied by migrate confirm handoff):\n",
			n);
		*out = res.plan;
		res.plan = NULL;
	}
	gb_provision_result_clear(&res);
	ids_free(ids);
	return rc;
}

int gb_step_handoff_confirm(gb_migrate_ctx *c, const char *evidence, gb_error *err)
{
	gb_provision_result res;
	char **ids = NULL;
	size_t n = 0;
	int rc;

	(void)evidence;
	rc = gb_store_exec(c->st, "UPDATE migration_groups SET handed_over = 1 WHERE match_result = 'matched'", err);
	if (!rc)
		rc = group_ids(c, "handed_over = 1", &ids, &n, err);
	if (!rc)
		rc = pass(c, ids, false, &res, err);
	if (!rc)
		fprintf(c->out, "handed over %zu groups: %zu provisioning operations applied\n", n, res.applied);
	gb_provision_result_clear(&res);
	ids_free(ids);
	return rc;
}

/* Per group: the members the rules expect, the members AD holds (expected - missing + extra), and other changes. */
static int record_verification(gb_migrate_ctx *c, const gb_plan *plan, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	size_t i, j;
	int rc;

	rc = gb_store_begin(c->st, err);
	if (!rc)
		rc = gb_store_exec(c->st, "DELETE FROM migration_verify", err);
	if (!rc)
		rc = gb_store_prepare(c->st, "INSERT INTO migration_verify(object_id, dn, expected, actual, missing, extra, "
					     "other_changes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
				      &s, err);
	for (i = 0; !rc && i < plan->ngroups; i++) {
		const gb_plan_group *pg = &plan->groups[i];
		size_t missing = 0, extra = 0, other = 0;

		for (j = 0; j < plan->nops; j++) {
			const gb_op *op = &plan->ops[j];
			if (!op->object_id || !gb_str_iequal(op->object_id, pg->object_id))
				continue;
			if (op->kind == GB_OP_ADD_MEMBERS)
				missing += op->nvalues;
			else if (op->kind == GB_OP_REMOVE_MEMBERS)
				extra += op->nvalues;
			else
				other++;
		}
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, pg->object_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, pg->dn, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)pg->nmembers);
		sqlite3_bind_int64(s, 4, (sqlite3_int64)(pg->nmembers - missing + extra));
		sqlite3_bind_int64(s, 5, (sqlite3_int64)missing);
		sqlite3_bind_int64(s, 6, (sqlite3_int64)extra);
		sqlite3_bind_int64(s, 7, (sqlite3_int64)other);
		if (sqlite3_step(s) != SQLITE_DONE)
			rc = gb_store_error(c->st, err, "recording the verification");
	}
	sqlite3_finalize(s);
	if (!rc)
		rc = gb_store_commit(c->st, err);
	else
		gb_store_rollback(c->st);
	return rc;
}

int gb_step_verify_collect(gb_migrate_ctx *c, gb_error *err)
{
	gb_provision_result res;
	char **ids = NULL;
	size_t n = 0;
	int rc;

	rc = group_ids(c, "handed_over = 1", &ids, &n, err);
	if (!rc && !ids)
		return gb_error_set(err, GB_ECONFLICT, "no group was handed over");
	if (!rc)
		rc = pass(c, ids, true, &res, err);
	if (!rc && res.plan)
		rc = record_verification(c, res.plan, err);
	if (!rc && res.plan && res.plan->nops) {
		char *text = NULL;
		if (gb_plan_to_text(res.plan, 10, &text, NULL) == 0)
			fputs(text, c->out);
		free(text);
		rc = gb_error_set(err, GB_ECONFLICT, "drift: provisioning would still make %zu changes to the %zu handed-over "
						     "groups (listed above)",
				  res.plan->nops, n);
	}
	if (!rc)
		fprintf(c->out, "verified: the %zu handed-over groups hold exactly what the rules expect\n", n);
	gb_provision_result_clear(&res);
	ids_free(ids);
	return rc;
}
