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
#include <strings.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/audit.h"
#include "groupbridge/expr.h"
#include "groupbridge/graph_sync.h"
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
		gb_step_ids_free(ids);
		*n = 0;
		return rc;
	}
	*out = ids;
	return 0;
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
#define HANDED_TO_NOBODY "none"
/* The state key that records the hand-over plan shown before the point of no return (review D5). */
#define PREVIEW_KEY "migration.handoff.preview"

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

/* A hand-over operation for group id, to whom ("none": taken back). */
static int add_handoff(gb_plan *plan, const char *id, const char *to, gb_error *err)
{
	gb_op *op;
	int rc = gb_plan_add_op(plan, GB_OP_HANDOFF, id, id,
				strcmp(to, HANDED_TO_NOBODY) == 0 ? "the hand-over is rolled back"
								  : "the match confirmed the group's AD group",
				&op, err);

	return rc ? rc : gb_op_add_attr(op, "handedTo", NULL, to, err);
}

/* ---- the groups a hand-over concerns ---- */

typedef struct ho_group {
	char *id, *name, *dn;
	int handed; /* handed_over */
} ho_group;

typedef struct ho_set {
	ho_group *g;
	size_t n;
	bool preview; /* before match: the inventory's ready groups and their AD DN (review D5) */
} ho_set;

static void set_clear(ho_set *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->g[i].id);
		free(s->g[i].name);
		free(s->g[i].dn);
	}
	free(s->g);
	memset(s, 0, sizeof(*s));
}

static int set_query(gb_migrate_ctx *c, const char *sql, ho_set *out, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc = gb_store_prepare(c->st, sql, &s, err);

	while (!rc && sqlite3_step(s) == SQLITE_ROW) {
		ho_group *more = realloc(out->g, (out->n + 1) * sizeof(*more)), *g;
		if (!more) {
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
			break;
		}
		out->g = more;
		g = &out->g[out->n++];
		g->id = gb_strdup((const char *)sqlite3_column_text(s, 0));
		g->name = gb_strdup(sqlite3_column_text(s, 1) ? (const char *)sqlite3_column_text(s, 1) : "");
		g->dn = gb_strdup(sqlite3_column_text(s, 2) ? (const char *)sqlite3_column_text(s, 2) : "");
		g->handed = sqlite3_column_int(s, 3);
		if (!g->id || !g->name || !g->dn)
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	sqlite3_finalize(s);
	return rc;
}

/* The matched groups; with preview, when none is matched yet (the match step comes after disable-writeback), the
 * inventory's ready groups. GB_ECONFLICT when there is none. */
static int load_set(gb_migrate_ctx *c, bool preview, ho_set *out, gb_error *err)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = set_query(c, "SELECT object_id, display_name, matched_dn, handed_over FROM migration_groups WHERE "
			  "match_result = 'matched' ORDER BY object_id", out, err);
	if (!rc && !out->n && preview) {
		out->preview = true;
		rc = set_query(c, "SELECT object_id, display_name, ad_dn, handed_over FROM migration_groups WHERE "
				  "class = 'ready' ORDER BY object_id", out, err);
	}
	if (!rc && !out->n)
		rc = gb_error_set(err, GB_ECONFLICT, "no group is %s: nothing to hand over (see migrate status)",
				  preview ? "matched or ready" : "matched");
	if (rc)
		set_clear(out);
	return rc;
}

/* ---- what the Cloud Sync job will do (review D1, D7, D8) ---- */

/* The value of the first RDN of dn (escapes removed), into dst. */
static void first_rdn(const char *dn, char *dst, size_t n)
{
	const char *p = strchr(dn, '=');
	size_t k = 0;

	for (p = p ? p + 1 : dn; *p && *p != ',' && k + 1 < n; p++) {
		if (*p == '\\' && p[1])
			p++;
		dst[k++] = *p;
	}
	dst[k] = '\0';
}

static int cn_lookup(const char *name, void *user, gb_expr_attr *out, gb_error *err)
{
	const ho_group *g = user;

	(void)err;
	if (strcmp(name, "objectId") == 0)
		out->value = g->id;
	else if (strcmp(name, "displayName") == 0)
		out->value = g->name;
	return 0;
}

/* Counts the groups whose AD name the job's cn mapping would change (MIG-2025 "naming convention"), printing the
 * first few. A mapping groupbridge cannot evaluate counts every group (GB_EUNSUPPORTED is not an answer). */
static int count_renames(gb_migrate_ctx *c, const gb_graph_sync_job *job, const ho_set *set, size_t *out,
			 gb_error *err)
{
	gb_expr *e = NULL;
	gb_error pe;
	size_t i;

	*out = 0;
	if (!job->cn_expression)
		return 0; /* no cn mapping: the job does not write cn */
	if (gb_expr_parse(job->cn_expression, &e, &pe) != 0) {
		fprintf(c->out, "  the job's cn mapping cannot be evaluated here (%s): every group counts as renamed\n",
			pe.msg);
		*out = set->n;
		return 0;
	}
	for (i = 0; i < set->n; i++) {
		char now[256], *cn = NULL;
		int rc = gb_expr_eval_string(e, cn_lookup, &set->g[i], &cn, err);

		if (rc == GB_ENOMEM) {
			gb_expr_free(e);
			return rc;
		}
		first_rdn(set->g[i].dn, now, sizeof(now));
		if (rc || !cn || strcasecmp(cn, now) != 0) {
			if (++*out <= 3)
				fprintf(c->out, "  renamed: %s -> %s\n", now, rc ? "(the mapping fails)" : cn ? cn : "(no cn)");
		}
		free(cn);
	}
	gb_expr_free(e);
	return 0;
}

/* The groups the migration leaves out (not matched, or not ready before match). */
static int count_left_out(gb_migrate_ctx *c, const ho_set *set, size_t *out, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc = gb_store_prepare(c->st, "SELECT count(*) FROM migration_groups", &s, err);

	*out = 0;
	if (!rc && sqlite3_step(s) == SQLITE_ROW)
		*out = (size_t)sqlite3_column_int64(s, 0) - set->n;
	sqlite3_finalize(s);
	return rc;
}

/* Reads the job and refuses, before any assignment, what would hurt: membership to on-premises users off (D1), the
 * scope "all security groups" while groups are left out (D8), renames not accepted (D7). *renames: the count. */
static int cloudsync_review(gb_migrate_ctx *c, gb_graph *graph, const ho_set *set, size_t *renames, gb_error *err)
{
	const gb_config_migration *m = &c->cfg->migration;
	gb_graph_sync_job *job = NULL;
	size_t left_out = 0;
	int rc;

	*renames = 0;
	rc = gb_graph_sync_job_read(graph, m->cloudsync_service_principal, m->cloudsync_job_id, m->cloudsync_rule_id,
				    &job, err);
	if (rc)
		return gb_error_prefix(err, "reading the Cloud Sync job (the hand-over target)");
	fprintf(c->out, "Cloud Sync job %s: scope %s; membership to on-premises users %s; target container %s; cn %s\n",
		job->job_id, gb_graph_sync_scope_name(job->scope),
		job->membership == GB_TRI_TRUE ? "on" : job->membership == GB_TRI_FALSE ? "OFF" : "not reported",
		job->container ? job->container : "(not mapped)", job->cn_expression ? job->cn_expression : "(not mapped)");
	if (job->membership == GB_TRI_FALSE)
		rc = gb_error_set(err, GB_ECONFLICT, "refused before any assignment: the Cloud Sync job %s does not provision "
				  "membership to on-premises users (job setting ProvisionMembershipToOnPremisesUsers = "
				  "False, Microsoft's default), so it would empty every handed-over group whose members "
				  "are synced users. Turn on \"Provision membership to on-premises users\" in the job's "
				  "scoping (Configure group membership), check that the setting reads True, and plan again",
				  job->job_id);
	else if (job->membership == GB_TRI_UNKNOWN)
		fprintf(c->out, "WARNING: the job does not report ProvisionMembershipToOnPremisesUsers: check \"Provision "
				"membership to on-premises users\" in the portal; each wave's smoke test is the guard\n");
	if (!rc)
		rc = count_left_out(c, set, &left_out, err);
	if (!rc && job->scope == GB_SYNC_SCOPE_ALL && left_out)
		rc = gb_error_set(err, GB_ECONFLICT, "refused before any assignment: the job's scope is all security groups "
				  "(job setting SyncAll = true), and the %zu groups the migration leaves out would be "
				  "created again as new AD groups (Cloud Sync creates a group where no anchor matches). "
				  "Set the job's scope to \"Selected security groups\", then plan again", left_out);
	else if (!rc && job->scope != GB_SYNC_SCOPE_SELECTED)
		fprintf(c->out, "WARNING: the job's scope is %s: every cloud security group its filters let through is "
				"provisioned, not only these (Microsoft recommends Selected security groups)\n",
			gb_graph_sync_scope_name(job->scope));
	if (!rc)
		rc = count_renames(c, job, set, renames, err);
	if (!rc && *renames)
		fprintf(c->out, "%zu of %zu groups would be renamed by the job's cn mapping; to keep Connect Sync's names "
				"map cn to %s in the job (runbooks/handoff.md)\n", *renames, set->n, GB_GRAPH_SYNC_KEEP_CN);
	if (!rc && *renames && !m->handoff_accept_renames)
		rc = gb_error_set(err, GB_ECONFLICT, "refused before any assignment: the job would rename %zu groups. Map "
				  "cn to %s in the job, or accept the renames with [migration] handoff_accept_renames = "
				  "yes", *renames, GB_GRAPH_SYNC_KEEP_CN);
	gb_graph_sync_job_free(job);
	return rc;
}

/* Whether group id holds role of the job's service principal. */
static bool assigned(const gb_graph_role_assignment_list *have, const char *id)
{
	size_t j;

	for (j = 0; have && j < have->n; j++)
		if (have->items[j].principal_id && gb_str_iequal(have->items[j].principal_id, id))
			return true;
	return false;
}

/* Adds the assignment of groups [from, to) not assigned yet, and (unless preview) their hand-over records. */
static int wave_ops(gb_migrate_ctx *c, const ho_set *set, size_t from, size_t to, const char *role,
		    const gb_graph_role_assignment_list *have, bool handoffs, gb_plan *plan, gb_error *err)
{
	const gb_config_migration *m = &c->cfg->migration;
	char whom[300];
	size_t i;
	int rc = 0;

	snprintf(whom, sizeof(whom), "cloudsync job %s", m->cloudsync_job_id);
	for (i = from; !rc && i < to; i++) {
		gb_op *op;
		if (assigned(have, set->g[i].id))
			continue;
		rc = gb_plan_add_op(plan, GB_OP_GRAPH_ASSIGN_ROLE, set->g[i].id, set->g[i].id,
				    "assign the group to the Cloud Sync job (appRoleAssignedTo)", &op, err);
		if (!rc)
			rc = gb_op_add_attr(op, "resourceId", NULL, m->cloudsync_service_principal, err);
		if (!rc)
			rc = gb_op_add_attr(op, "appRoleId", NULL, role, err);
		if (!rc)
			rc = gb_op_add_attr(op, "jobId", NULL, m->cloudsync_job_id, err);
	}
	for (i = from; !rc && handoffs && i < to; i++)
		if (set->g[i].handed != 2)
			rc = add_handoff(plan, set->g[i].id, whom, err);
	return rc;
}

/* The job's app role and its assignments now. */
static int job_roles(gb_migrate_ctx *c, gb_graph *graph, char **role, gb_graph_role_assignment_list **have,
		     gb_error *err)
{
	const char *sp = c->cfg->migration.cloudsync_service_principal;
	int rc = gb_graph_cloudsync_group_role(graph, sp, role, err); /* differs by cloud */

	return rc ? rc : gb_graph_list_app_role_assigned_to(graph, sp, have, err);
}

/* What the hand-over's plan and its confirmation both start from: the configuration checked, the groups (load_set;
 * planning as there), the Graph client, the job reviewed, the job's app role and the assignments it holds. On failure
 * some may be set: free with cs_close either way. */
typedef struct {
	gb_graph *graph; /* borrowed from the context */
	ho_set set;
	char *role;
	gb_graph_role_assignment_list *have;
} cs_job;

static int cs_open(gb_migrate_ctx *c, bool planning, cs_job *j, gb_error *err)
{
	size_t renames = 0;
	int rc;

	memset(j, 0, sizeof(*j));
	rc = cloudsync_config(c, err);
	if (!rc)
		rc = load_set(c, planning, &j->set, err);
	if (!rc)
		rc = gb_migrate_graph(c, &j->graph, err);
	if (!rc)
		rc = cloudsync_review(c, j->graph, &j->set, &renames, err);
	if (!rc)
		rc = job_roles(c, j->graph, &j->role, &j->have, err);
	return rc;
}

static void cs_close(cs_job *j)
{
	gb_graph_role_assignment_list_free(j->have);
	free(j->role);
	set_clear(&j->set);
}

/* Handing the groups to a Cloud Sync job: the job is read and checked first; then one app-role assignment per group
 * not assigned yet, and the hand-over of every group not handed to the job yet (its record names the job). */
static int cloudsync_plan(gb_migrate_ctx *c, gb_plan **out, gb_error *err)
{
	const gb_config_migration *m = &c->cfg->migration;
	gb_plan *plan = NULL;
	cs_job j;
	int rc;

	*out = NULL;
	rc = cs_open(c, true, &j, err);
	if (!rc)
		rc = gb_plan_new(&plan, err);
	if (!rc)
		rc = wave_ops(c, &j.set, 0, j.set.n, j.role, j.have, !j.set.preview, plan, err);
	if (!rc)
		fprintf(c->out, "%shanding %zu groups to the Cloud Sync job %s (service principal %s) in waves of %ld; "
				"after each wave provisionOnDemand runs for one of its groups with synced members and "
				"its AD membership is read back: the first wave whose group loses members stops the "
				"hand-over\n",
			j.set.preview ? "PREVIEW (before match, the inventory's ready groups): " : "", j.set.n,
			m->cloudsync_job_id, m->cloudsync_service_principal, m->handoff_wave_size);
	cs_close(&j);
	if (rc) {
		gb_plan_free(plan);
		return rc;
	}
	*out = plan;
	return 0;
}

/* The engine's hook: a group handed over is marked (1: groupbridge provisioning, 2: the Cloud Sync job, 0: taken
 * back by a rollback) with the audit record that says so. */
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
	sqlite3_bind_int(s, 2, strcmp(to->after, HANDED_TO_GROUPBRIDGE) == 0 ? 1
			       : strcmp(to->after, HANDED_TO_NOBODY) == 0    ? 0
									     : 2);
	return gb_store_step_done(st, s, "recording a hand-over", err);
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

/* ---- the waves and their smoke tests ---- */

typedef struct smoke {
	const ho_group *g;     /* the group tested; NULL: none in the wave qualifies */
	gb_ad_group *before;   /* its AD group before the wave */
	gb_cloud_group *cloud; /* its cloud group (owns the member ids below) */
	const char *members[5];
	size_t k;
} smoke;

static void smoke_clear(smoke *s)
{
	gb_ad_group_free(s->before);
	gb_cloud_group_free(s->cloud);
	memset(s, 0, sizeof(*s));
}

/* Up to five user members of g that are synced from AD (onPremisesSyncEnabled, or an onPremisesObjectIdentifier):
 * the members whose AD references the job must keep. At most 20 users are looked up. */
static int synced_members(gb_graph *graph, smoke *s, gb_error *err)
{
	size_t i, looked = 0;
	int rc = gb_graph_read_members(graph, s->cloud, 999, err);

	for (i = 0; !rc && i < s->cloud->nmembers && s->k < 5 && looked < 20; i++) {
		gb_cloud_user *u = NULL;
		if (s->cloud->members[i].kind != GB_KIND_USER)
			continue;
		looked++;
		rc = gb_graph_get_user(graph, s->cloud->members[i].id, &u, err);
		if (!rc && (u->on_prem_sync_enabled == GB_TRI_TRUE || u->on_prem_object_id))
			s->members[s->k++] = s->cloud->members[i].id;
		if (rc == GB_ENOTFOUND) /* deleted since the members were listed */
			rc = 0;
		gb_cloud_user_free(u);
	}
	return rc;
}

/* The first group of [from, to) whose AD group has members and whose cloud group has synced user members. */
static int smoke_pick(gb_migrate_ctx *c, gb_graph *graph, const ho_set *set, size_t from, size_t to, smoke *s,
		      gb_error *err)
{
	gb_directory *dir = NULL;
	size_t i;
	int rc = gb_migrate_dir(c, &dir, err);

	memset(s, 0, sizeof(*s));
	for (i = from; !rc && i < to && !s->g; i++) {
		rc = gb_directory_read_group(dir, set->g[i].dn, true, &s->before, err);
		if (!rc && s->before->nmembers)
			rc = gb_graph_get_group(graph, set->g[i].id, &s->cloud, err);
		if (!rc && s->cloud)
			rc = synced_members(graph, s, err);
		if (!rc && s->k)
			s->g = &set->g[i];
		else if (!rc)
			smoke_clear(s);
	}
	if (rc)
		smoke_clear(s);
	return rc;
}

/* The audit record of a failed smoke test: the hand-over of the group tested failed. */
static void audit_smoke_failure(gb_migrate_ctx *c, const char *group, const char *msg)
{
	gb_audit_entry e;
	gb_error e2;

	memset(&e, 0, sizeof(e));
	e.run_id = c->run_id;
	e.step = "handoff";
	e.operation = "group.handoff";
	e.target = group;
	e.after = "{\"smokeTest\":\"failed\"}";
	e.outcome = GB_OUTCOME_FAILED;
	e.message = msg;
	if (gb_store_begin(c->st, &e2) == 0) {
		if (gb_audit_append(c->st, &e, NULL, &e2) == 0)
			gb_store_commit(c->st, &e2);
		else
			gb_store_rollback(c->st);
	}
}

/* How many of before's members AD no longer holds. */
static size_t members_lost(const gb_ad_group *before, const gb_ad_group *after)
{
	size_t i, j, lost = 0;

	for (i = 0; i < before->nmembers; i++) {
		bool kept = false;
		for (j = 0; after && j < after->nmembers && !kept; j++)
			kept = gb_str_iequal(before->member_guids[i], after->member_guids[j]);
		lost += !kept;
	}
	return lost;
}

/* provisionOnDemand for the wave's group with its synced members, then its AD membership read back through LDAP: a
 * failure, a group out of the job's scope, or a member lost fails the wave (audited). */
static int smoke_run(gb_migrate_ctx *c, gb_graph *graph, size_t wave, const smoke *s, gb_error *err)
{
	const gb_config_migration *m = &c->cfg->migration;
	gb_directory *dir = NULL;
	gb_ad_group *after = NULL;
	char *result = NULL, *details = NULL;
	size_t lost = 0;
	int rc;

	rc = gb_graph_provision_on_demand(graph, m->cloudsync_service_principal, m->cloudsync_job_id,
					  m->cloudsync_rule_id, s->g->id, s->members, s->k, &result, &details, err);
	if (!rc)
		rc = gb_migrate_dir(c, &dir, err);
	if (!rc)
		rc = gb_directory_read_group(dir, s->before->dn, true, &after, err);
	if (rc == GB_ENOTFOUND)
		rc = gb_error_set(err, GB_ECONFLICT, "wave %zu: group %s: its AD group %s is gone after provisionOnDemand",
				  wave, s->g->id, s->before->dn);
	if (!rc)
		lost = members_lost(s->before, after);
	if (!rc)
		fprintf(c->out, "wave %zu: provisionOnDemand for %s with %zu synced members: %s; AD holds %zu members "
				"(%zu before, %zu lost)\n",
			wave, s->g->id, s->k, result ? result : "no result", after->nmembers, s->before->nmembers, lost);
	if (!rc && (lost || !result || (strcmp(result, "Success") != 0 && strcmp(result, "Skipped") != 0) ||
		    (details && strstr(details, "NotEffectivelyEntitled")))) {
		rc = gb_error_set(err, GB_ECONFLICT, "wave %zu failed its smoke test: group %s (%s) %s%zu of its %zu AD "
				  "members lost after provisionOnDemand (%s %s). The hand-over stopped: later waves were "
				  "not assigned; this wave's groups are assigned to the job. Fix the job and confirm again, "
				  "or roll back (groupbridge migrate rollback handoff)",
				  wave, s->g->id, s->before->dn, lost ? "" : "was not provisioned as expected; ", lost,
				  s->before->nmembers, result ? result : "no result", details ? details : "");
		audit_smoke_failure(c, s->g->id, err->msg);
	}
	gb_ad_group_free(after);
	free(result);
	free(details);
	return rc;
}

/* One wave: groups [from, to) are assigned to the job, one of them is smoke-tested, and only then are they recorded
 * as handed over. A wave with nothing left to do (a confirmation repeated) is skipped. */
static int run_wave(gb_migrate_ctx *c, gb_graph *graph, const ho_set *set, size_t from, size_t to, const char *role,
		    const gb_graph_role_assignment_list *have, size_t wave, size_t *assigned_n, gb_error *err)
{
	gb_plan *plan = NULL, *marks = NULL;
	char whom[300];
	smoke sm;
	size_t i, pending = 0;
	int rc;

	memset(&sm, 0, sizeof(sm));
	for (i = from; i < to; i++)
		pending += set->g[i].handed != 2;
	if (!pending)
		return 0;
	rc = gb_plan_new(&plan, err);
	if (!rc)
		rc = wave_ops(c, set, from, to, role, have, false, plan, err);
	if (!rc)
		rc = smoke_pick(c, graph, set, from, to, &sm, err);
	if (!rc && plan->nops)
		rc = apply_handoff(c, plan, err);
	if (!rc)
		*assigned_n += plan->nops;
	if (!rc && sm.g)
		rc = smoke_run(c, graph, wave, &sm, err);
	else if (!rc)
		fprintf(c->out, "wave %zu: no group with AD members and synced cloud members: not smoke-tested\n", wave);
	if (!rc)
		rc = gb_plan_new(&marks, err);
	snprintf(whom, sizeof(whom), "cloudsync job %s", c->cfg->migration.cloudsync_job_id);
	for (i = from; !rc && i < to; i++)
		if (set->g[i].handed != 2)
			rc = add_handoff(marks, set->g[i].id, whom, err);
	if (!rc && marks->nops)
		rc = apply_handoff(c, marks, err);
	smoke_clear(&sm);
	gb_plan_free(plan);
	gb_plan_free(marks);
	return rc;
}

/* Hands the matched groups to the job in waves of [migration] handoff_wave_size, after the job's review. */
static int cloudsync_confirm(gb_migrate_ctx *c, gb_error *err)
{
	const gb_config_migration *m = &c->cfg->migration;
	size_t size = m->handoff_wave_size > 0 ? (size_t)m->handoff_wave_size : 10, from, wave = 0, assigned_n = 0;
	cs_job j;
	int rc;

	rc = cs_open(c, false, &j, err);
	for (from = 0; !rc && from < j.set.n; from += size)
		rc = run_wave(c, j.graph, &j.set, from, from + size < j.set.n ? from + size : j.set.n, j.role, j.have,
			      ++wave, &assigned_n, err);
	if (!rc) {
		fprintf(c->out, "handed over to Cloud Sync: %zu groups in %zu waves (%zu new assignments)\n", j.set.n,
			wave, assigned_n);
		snprintf(c->confirmed, sizeof(c->confirmed), "handed over to the Cloud Sync job %s (%zu groups, %zu waves "
			 "smoke-tested)", m->cloudsync_job_id, j.set.n, wave);
	}
	cs_close(&j);
	return rc;
}

/* ---- rollback ---- */

/* The groups whose assignment to the job groupbridge made (the hand-over's audit records), still assigned: each
 * gets the removal of exactly that assignment. */
static int unassign_ops(gb_migrate_ctx *c, gb_plan *plan, size_t *n, gb_error *err)
{
	const char *sp = c->cfg->migration.cloudsync_service_principal;
	gb_graph_role_assignment_list *have = NULL;
	sqlite3_stmt *s = NULL;
	gb_graph *graph = NULL;
	size_t j;
	int rc;

	*n = 0;
	rc = cloudsync_config(c, err);
	if (!rc)
		rc = gb_migrate_graph(c, &graph, err);
	if (!rc)
		rc = gb_graph_list_app_role_assigned_to(graph, sp, &have, err);
	if (!rc)
		rc = gb_store_prepare(c->st, "SELECT DISTINCT target FROM audit_log WHERE step = 'handoff' AND operation = "
					     "'graph.approle.assign' AND outcome = 'ok' ORDER BY target",
				      &s, err);
	while (!rc && sqlite3_step(s) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 0);
		for (j = 0; !rc && j < have->n; j++) {
			const gb_graph_role_assignment *a = &have->items[j];
			gb_op *op;
			if (!a->principal_id || !gb_str_iequal(a->principal_id, id) || !a->app_role_id)
				continue;
			rc = gb_plan_add_op(plan, GB_OP_GRAPH_REMOVE_ROLE, id, id, "groupbridge assigned the group to the "
					    "Cloud Sync job at the hand-over", &op, err);
			if (!rc)
				rc = gb_op_add_attr(op, "resourceId", sp, NULL, err);
			if (!rc)
				rc = gb_op_add_attr(op, "appRoleId", a->app_role_id, NULL, err);
			if (!rc)
				++*n;
		}
	}
	sqlite3_finalize(s);
	gb_graph_role_assignment_list_free(have);
	return rc;
}

int gb_step_handoff_rollback_plan(gb_migrate_ctx *c, gb_plan **out, gb_error *err)
{
	gb_plan *plan = NULL;
	char **ids = NULL;
	size_t n = 0, removed = 0, i;
	int rc;

	*out = NULL;
	rc = gb_plan_new(&plan, err);
	if (!rc && cloudsync(c))
		rc = unassign_ops(c, plan, &removed, err);
	if (!rc)
		rc = group_ids(c, "handed_over <> 0", &ids, &n, err);
	for (i = 0; !rc && i < n; i++)
		rc = add_handoff(plan, ids[i], HANDED_TO_NOBODY, err);
	gb_step_ids_free(ids);
	if (rc) {
		gb_plan_free(plan);
		return rc;
	}
	fprintf(c->out, "rolling back the hand-over: %zu groups taken back%s", n,
		cloudsync(c) ? ", " : " (groupbridge provisioning no longer manages them; AD is left as it is)\n");
	if (cloudsync(c))
		fprintf(c->out, "%zu of the job's app-role assignments groupbridge made removed (AD is left as it is)\n",
			removed);
	*out = plan;
	return 0;
}

/* ---- the plan shown before the point of no return (review D5) ---- */

int gb_step_handoff_previewed(gb_migrate_ctx *c, gb_error *err)
{
	const char *target = c->cfg->migration.handoff_target ? c->cfg->migration.handoff_target : "groupbridge";
	char *v = NULL;
	int rc = gb_store_kv_get(c->st, PREVIEW_KEY, &v, err);
	bool ok = !rc && v && strncmp(v, target, strlen(target)) == 0 && v[strlen(target)] == ' ';

	free(v);
	if (rc && rc != GB_ENOTFOUND)
		return rc;
	if (!ok)
		return gb_error_set(err, GB_EGATE, "before the irreversible step, the hand-over target (%s) must be reachable "
				  "and its plan (renames, member removals, groups created again) shown: run groupbridge "
				  "migrate plan handoff first, review it, then run again (runbooks/handoff.md)", target);
	return 0;
}

static int record_preview(gb_migrate_ctx *c, size_t n, bool preview, gb_error *err)
{
	char v[200], ts[32];

	gb_time_iso8601(ts, sizeof(ts));
	snprintf(v, sizeof(v), "%s %s: plan of %zu %s groups shown",
		 c->cfg->migration.handoff_target ? c->cfg->migration.handoff_target : "groupbridge", ts, n,
		 preview ? "ready" : "matched");
	return gb_store_kv_set(c->st, PREVIEW_KEY, v, err);
}

int gb_step_handoff_plan(gb_migrate_ctx *c, gb_plan **out, gb_error *err)
{
	gb_provision_result res;
	ho_set set = {0};
	char **ids = NULL;
	size_t connect_named = 0, i;
	int rc;

	*out = NULL;
	memset(&res, 0, sizeof(res));
	if (cloudsync(c)) {
		rc = cloudsync_plan(c, out, err);
		if (!rc && !load_set(c, true, &set, NULL))
			rc = record_preview(c, set.n, set.preview, err);
		set_clear(&set);
		return rc;
	}
	rc = load_set(c, true, &set, err);
	if (!rc && !(ids = calloc(set.n + 1, sizeof(char *))))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	for (i = 0; !rc && i < set.n; i++)
		ids[i] = set.g[i].id; /* borrowed */
	/* Connect Sync named written-back groups Group_<objectId>; Cloud Sync's default cn renames them. */
	for (i = 0; !rc && !c->cfg->provisioning.cn && i < set.n; i++)
		connect_named += strncasecmp(set.g[i].dn, "CN=Group_", 9) == 0;
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
	if (!rc)
		rc = record_preview(c, set.n, set.preview, err);
	if (!rc) {
		fprintf(c->out, "%sthe provisioning plan that takes over %zu groups (applied by migrate confirm handoff):\n",
			set.preview ? "PREVIEW (before match, the inventory's ready groups): " : "", set.n);
		*out = res.plan;
		res.plan = NULL;
	}
	gb_provision_result_clear(&res);
	free(ids);
	set_clear(&set);
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
	gb_step_ids_free(ids);
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
	gb_step_ids_free(ids);
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
	gb_step_ids_free(ids);
	return rc;
}
