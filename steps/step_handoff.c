/* step_handoff.c: steps 8 and 9, handoff and verify.
 *
 * With [migration] handoff_target = cloudsync the groups go to an existing Cloud Sync job instead: each is assigned
 * to the job's service principal (appRoleAssignedTo) and provisionOnDemand runs for one of them, with at most five
 * members, as a smoke test; verify then checks AD against the same rules.
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

#define HANDED_TO_GROUPBRIDGE "groupbridge"

static bool cloudsync(gb_migrate_ctx *c)
{
	return c->cfg->migration.handoff_target && strcmp(c->cfg->migration.handoff_target, "cloudsync") == 0;
}

static int cloudsync_config(gb_migrate_ctx *c, gb_error *err)
{
	const gb_config_migration *m = &c->cfg->migration;

	if (!m->cloudsync_service_principal || !m->cloudsync_job_id || !m->cloudsync_rule_id)
		return gb_error_set(err, GB_ECONFIG,
				    "%s: handoff_target = cloudsync needs [migration] cloudsync_service_principal (the "
				    "object id of the Cloud Sync job's service principal), cloudsync_job_id, and "
				    "cloudsync_rule_id (GET /servicePrincipals/{sp}/synchronization/jobs/{job}/schema: "
				    "synchronizationRules[].id)", c->cfg->path);
	return 0;
}

/* A hand-over operation for group id, to whom. */
static int add_handoff(gb_plan *plan, const char *id, const char *to, gb_error *err)
{
	gb_op *op;
	int rc = gb_plan_add_op(plan, GB_OP_HANDOFF, id, id, "the match confirmed the group's AD group", &op, err);

	return rc ? rc : gb_op_add_attr(op, "handedTo", NULL, to, err);
}

/* Handing the groups to a Cloud Sync job: one app-role assignment per group not assigned yet, then the hand-over of
 * every matched group not handed to the job yet (its record names the job). */
static int cloudsync_plan(gb_migrate_ctx *c, gb_plan **out, gb_error *err)
{
	const gb_config_migration *m = &c->cfg->migration;
	gb_graph_role_assignment_list *have = NULL;
	gb_graph *graph = NULL;
	gb_plan *plan = NULL;
	char **ids = NULL, **pending = NULL, *role = NULL, to[300];
	size_t n = 0, npending = 0, i, j;
	int rc;

	*out = NULL;
	rc = cloudsync_config(c, err);
	if (!rc)
		rc = group_ids(c, "match_result = 'matched'", &ids, &n, err);
	if (!rc && !ids)
		rc = gb_error_set(err, GB_ECONFLICT, "no group is matched: nothing to hand over (see migrate status)");
	if (!rc)
		rc = group_ids(c, "match_result = 'matched' AND handed_over <> 2", &pending, &npending, err);
	if (!rc)
		rc = gb_migrate_graph(c, &graph, err);
	if (!rc)
		rc = gb_graph_cloudsync_group_role(graph, m->cloudsync_service_principal, &role, err); /* differs by cloud */
	if (!rc)
		rc = gb_graph_list_app_role_assigned_to(graph, m->cloudsync_service_principal, &have, err);
	if (!rc)
		rc = gb_plan_new(&plan, err);
	snprintf(to, sizeof(to), "cloudsync job %s", m->cloudsync_job_id ? m->cloudsync_job_id : "");
	for (i = 0; !rc && i < n; i++) {
		bool assigned = false;
		gb_op *op;

		for (j = 0; j < have->n && !assigned; j++)
			assigned = have->items[j].principal_id && gb_str_iequal(have->items[j].principal_id, ids[i]);
		if (assigned)
			continue;
		rc = gb_plan_add_op(plan, GB_OP_GRAPH_ASSIGN_ROLE, ids[i], ids[i],
				    "assign the group to the Cloud Sync job (appRoleAssignedTo)", &op, err);
		if (!rc)
			rc = gb_op_add_attr(op, "resourceId", NULL, m->cloudsync_service_principal, err);
		if (!rc)
			rc = gb_op_add_attr(op, "appRoleId", NULL, role, err);
		if (!rc)
			rc = gb_op_add_attr(op, "jobId", NULL, m->cloudsync_job_id, err);
	}
	for (i = 0; !rc && i < npending; i++)
		rc = add_handoff(plan, pending[i], to, err);
	if (!rc)
		fprintf(c->out, "handing %zu groups to the Cloud Sync job %s (service principal %s); on confirm, "
				"provisionOnDemand runs for one of them as a smoke test\n",
			n, m->cloudsync_job_id, m->cloudsync_service_principal);
	gb_graph_role_assignment_list_free(have);
	ids_free(ids);
	free(role);
	ids_free(pending);
	if (rc) {
		gb_plan_free(plan);
		return rc;
	}
	*out = plan;
	return 0;
}

/* The engine's hook: a group handed over is marked (1: groupbridge provisioning, 2: the Cloud Sync job) with the
 * audit record that says so. */
int gb_step_handoff_hook(void *ctx, gb_store *st, const gb_op *op, const gb_apply_outcome *o, gb_error *err)
{
	const gb_attr_change *to = gb_op_find_attr(op, "handedTo");
	sqlite3_stmt *s = NULL;
	int rc;

	(void)ctx;
	if (op->kind != GB_OP_HANDOFF || o->outcome != GB_OUTCOME_OK || !to || !to->after)
		return 0;
	rc = gb_store_prepare(st, "UPDATE migration_groups SET handed_over = ?2 WHERE object_id = ?1", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, op->object_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, strcmp(to->after, HANDED_TO_GROUPBRIDGE) == 0 ? 1 : 2);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : gb_store_error(st, err, "recording a hand-over");
	sqlite3_finalize(s);
	return rc;
}

/* Applies a hand-over plan as the handoff step. GB_EPARTIAL when an operation failed. */
static int apply_handoff(gb_migrate_ctx *c, const gb_plan *plan, gb_error *err)
{
	gb_apply_result res;
	int rc = gb_step_apply(c, gb_migrate_find_step("handoff"), plan, &res, err);

	if (!rc && res.failed)
		rc = gb_error_set(err, GB_EPARTIAL, "%zu of %zu hand-over operations failed (see the audit log); fix the "
						    "cause and confirm again",
				  res.failed, plan->nops);
	return rc;
}

static int cloudsync_confirm(gb_migrate_ctx *c, gb_error *err)
{
	const gb_config_migration *m = &c->cfg->migration;
	gb_graph *graph = NULL;
	gb_plan *plan = NULL;
	gb_cloud_group *g = NULL;
	char *result = NULL, *details = NULL;
	const char *members[5];
	size_t i, k = 0;
	int rc;

	rc = cloudsync_plan(c, &plan, err);
	if (!rc)
		rc = gb_migrate_graph(c, &graph, err);
	if (!rc)
		rc = apply_handoff(c, plan, err);
	/* the smoke test: one group and at most five of its user members */
	if (!rc) {
		sqlite3_stmt *s = NULL;
		rc = gb_store_prepare(c->st, "SELECT object_id FROM migration_groups WHERE handed_over = 2 ORDER BY object_id "
					     "LIMIT 1",
				      &s, err);
		if (!rc && sqlite3_step(s) == SQLITE_ROW)
			rc = gb_graph_get_group(graph, (const char *)sqlite3_column_text(s, 0), &g, err);
		sqlite3_finalize(s);
	}
	if (!rc && g)
		rc = gb_graph_read_members(graph, g, 999, err);
	for (i = 0; !rc && g && i < g->nmembers && k < 5; i++)
		if (g->members[i].kind == GB_KIND_USER)
			members[k++] = g->members[i].id;
	if (!rc && g)
		rc = gb_graph_provision_on_demand(graph, m->cloudsync_service_principal, m->cloudsync_job_id,
						  m->cloudsync_rule_id, g->id, members, k, &result, &details, err);
	if (!rc && result && strcmp(result, "Success") != 0 && strcmp(result, "Skipped") != 0)
		rc = gb_error_set(err, GB_ECONFLICT, "provisionOnDemand for group %s reported %s: %s", g->id, result,
				  details ? details : "");
	if (!rc) {
		fprintf(c->out, "handed over to Cloud Sync: %zu new assignments; provisionOnDemand for %s with %zu members: "
				"%s\n",
			gb_plan_count(plan, GB_OP_GRAPH_ASSIGN_ROLE), g ? g->id : "no group", k, result ? result : "no result");
		snprintf(c->confirmed, sizeof(c->confirmed), "handed over to the Cloud Sync job %s", m->cloudsync_job_id);
	}
	free(result);
	free(details);
	gb_cloud_group_free(g);
	gb_plan_free(plan);
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
	if (cloudsync(c))
		return cloudsync_plan(c, out, err);
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
	gb_plan *plan = NULL;
	char **ids = NULL;
	size_t n = 0, i;
	int rc;

	(void)evidence;
	memset(&res, 0, sizeof(res));
	if (cloudsync(c))
		return cloudsync_confirm(c, err);
	/* Each matched group is handed over with its own record (to groupbridge); then one provisioning pass. */
	rc = group_ids(c, "match_result = 'matched' AND handed_over <> 1", &ids, &n, err);
	if (!rc)
		rc = gb_plan_new(&plan, err);
	for (i = 0; !rc && i < n; i++)
		rc = add_handoff(plan, ids[i], HANDED_TO_GROUPBRIDGE, err);
	if (!rc && plan->nops)
		rc = apply_handoff(c, plan, err);
	ids_free(ids);
	ids = NULL;
	if (!rc)
		rc = group_ids(c, "handed_over = 1", &ids, &n, err);
	if (!rc)
		rc = pass(c, ids, false, &res, err);
	if (!rc) {
		fprintf(c->out, "handed over %zu groups: %zu provisioning operations applied\n", n, res.applied);
		snprintf(c->confirmed, sizeof(c->confirmed), "handed over to groupbridge provisioning (%zu groups)", n);
	}
	gb_plan_free(plan);
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

	rc = group_ids(c, "handed_over >= 1", &ids, &n, err);
	if (!rc && !ids)
		return gb_error_set(err, GB_ECONFLICT, "no group was handed over");
	if (!rc)
		rc = pass(c, ids, true, &res, err);
	if (!rc && res.plan)
		rc = record_verification(c, res.plan, err);
	if (!rc && res.plan && res.plan->nops) {
		/* Drift is membership: members AD lacks or holds beyond the rules. Other differences (attributes the
		 * provisioner would set) are listed, not counted. */
		size_t i, member_ops = 0;
		char *text = NULL;

		for (i = 0; i < res.plan->nops; i++)
			member_ops += res.plan->ops[i].kind == GB_OP_ADD_MEMBERS || res.plan->ops[i].kind == GB_OP_REMOVE_MEMBERS;
		if (gb_plan_to_text(res.plan, 10, &text, NULL) == 0)
			fputs(text, c->out);
		free(text);
		if (member_ops)
			rc = gb_error_set(err, GB_ECONFLICT, "drift: the membership of the handed-over groups differs from what the "
							     "rules expect in %zu changes (listed above)",
					  member_ops);
		else
			fprintf(c->out, "(%zu attribute changes are pending; they are not membership drift)\n", res.plan->nops);
	}
	if (!rc)
		fprintf(c->out, "verified: the %zu handed-over groups hold exactly the members the rules expect\n", n);
	gb_provision_result_clear(&res);
	ids_free(ids);
	return rc;
}
