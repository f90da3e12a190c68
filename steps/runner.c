/* runner.c: the migration's steps in order, their states, and the commands that move them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "groupbridge/audit.h"
#include "groupbridge/log.h"
#include "groupbridge/migrate.h"
#include "groupbridge/util.h"
#include "steps_int.h"

const gb_step gb_migrate_steps[] = {
    {.name = "import",
     .summary = "read the Connect Sync configuration export ([migration] connect_sync_export)",
     .plan = gb_step_no_changes,
     .collect = gb_step_import_collect,
     .verify = gb_step_import_verify,
     .rollback_refusal = "the import changes nothing outside the state database; import another export instead",
     .later = GB_LATER_HARMLESS,
     .later_why = "it changes nothing outside the state database"},
    {.name = "inventory",
     .summary = "pair written-back AD groups with their cloud groups and classify them (the assessment)",
     .gate = true,
     .plan = gb_step_no_changes,
     .collect = gb_step_inventory_collect,
     .verify = gb_step_inventory_verify,
     .rollback_refusal = "the inventory changes nothing; run it again instead",
     .later = GB_LATER_HARMLESS,
     .later_why = "it changes nothing outside the state database"},
    {.name = "stamp-anchors",
     .summary = "copy adminDescription into " GB_DIRECTORY_ANCHOR_ATTR " on every ready group",
     .plan = gb_step_stamp_plan,
     .applies = true,
     .fence = gb_step_writeback_ou,
     .hook = gb_step_stamp_hook,
     .verify = gb_step_stamp_verify,
     .rollback_plan = gb_step_stamp_rollback_plan,
     .later_why = "the anchors it wrote are what the later steps find the groups by"},
    {.name = "connect-sync-coexistence",
     .summary = "the operator adds the coexistence rules on the Connect Sync server (a script)",
     .gate = true,
     .plan = gb_step_no_changes,
     .collect = gb_step_coexist_collect,
     .rollback_script = gb_step_coexist_rollback_script,
     .rollback_confirm = gb_step_coexist_rollback_confirm,
     .confirm = gb_step_coexist_confirm,
     /* The rules key on cloudMastered and cloudNoFlow, never on msDS-ExternalDirectoryObjectId: removing the anchors
      * under them changes nothing Connect Sync does. */
     .later = GB_LATER_HARMLESS,
     .later_why = "its rules do not read the anchors"},
    {.name = "disable-writeback",
     .summary = "the operator disables group writeback v2 (irreversible; a script, after a snapshot)",
     .gate = true,
     .plan = gb_step_no_changes,
     .collect = gb_step_disable_collect,
     .rollback_refusal = "disabling group writeback v2 cannot be undone (Set-ADSyncAADCompanyFeature -GroupWritebackV2 "
			 "$false)",
     .confirm = gb_step_disable_confirm,
     .confirmed = "verified: every group as in the snapshot taken before",
     .later = GB_LATER_IRREVERSIBLE,
     .later_why = "its script was written, so group writeback v2 may be disabled already, which cannot be undone; from "
		  "then on the groups depend on their anchors and the coexistence rules until the hand-over"},
    {.name = "convert-soa",
     .summary = "convert the listed groups' source of authority to the cloud (and remember their AD DN)",
     .plan = gb_step_convert_plan,
     .applies = true,
     .fence = gb_step_convert_fence,
     .check = gb_step_convert_check,
     .verify = gb_step_convert_verify,
     .rollback_plan = gb_step_convert_rollback_plan,
     .later_why = "the converted groups are cloud-managed"},
    {.name = "match",
     .summary = "find each group's AD group (anchor or GroupDN) and confirm it (anchor or SID); a gate",
     .gate = true,
     .plan = gb_step_no_changes,
     .collect = gb_step_match_collect,
     .rollback_state = gb_step_match_forget,
     .later = GB_LATER_FORGOTTEN,
     .later_why = "it only recorded the AD group each cloud group will keep"},
    {.name = "handoff",
     .summary = "hand the matched groups to provisioning (the plan first; a gate, applied on confirm)",
     .gate = true,
     .plan = gb_step_handoff_plan,
     .hook = gb_step_handoff_hook,
     .rollback_plan = gb_step_handoff_rollback_plan,
     .confirm = gb_step_handoff_confirm},
    {.name = "verify",
     .summary = "compare each handed-over group with what the rules expect: no drift",
     .plan = gb_step_no_changes,
     .collect = gb_step_verify_collect,
     .rollback_refusal = "verify changes nothing",
     .later = GB_LATER_FORGOTTEN,
     .later_why = "it only recorded the drift it measured"},
};
const size_t gb_migrate_step_count = sizeof(gb_migrate_steps) / sizeof(gb_migrate_steps[0]);

static const char *state_names[] = {"pending", "running", "waiting", "done", "failed", "rolled-back", "rolling-back"};

const char *gb_step_state_name(gb_step_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "unknown";
}

int gb_step_state_json(gb_step_state s, char *dst, size_t n)
{
	int w = snprintf(dst, n, "{\"state\":\"%s\"}", gb_step_state_name(s));

	return w < 0 || (size_t)w >= n ? GB_EINVAL : 0;
}

const gb_step *gb_migrate_find_step(const char *name)
{
	size_t i;

	for (i = 0; name && i < gb_migrate_step_count; i++)
		if (strcmp(gb_migrate_steps[i].name, name) == 0)
			return &gb_migrate_steps[i];
	return NULL;
}

void gb_step_ids_free(char **ids)
{
	size_t i;

	for (i = 0; ids && ids[i]; i++)
		free(ids[i]);
	free(ids);
}

int gb_migrate_graph(gb_migrate_ctx *c, gb_graph **out, gb_error *err)
{
	int rc = 0;

	if (!c->graph)
		rc = gb_graph_new(c->cfg, &c->graph, err);
	*out = c->graph;
	return rc;
}

int gb_migrate_dir(gb_migrate_ctx *c, gb_directory **out, gb_error *err)
{
	int rc = 0;

	if (!c->dir)
		rc = gb_directory_open_config(c->cfg, &c->dir, err);
	*out = c->dir;
	return rc;
}

void gb_migrate_ctx_close(gb_migrate_ctx *c)
{
	gb_graph_free(c->graph);
	gb_directory_free(c->dir);
	c->graph = NULL;
	c->dir = NULL;
}

int gb_step_no_changes(gb_migrate_ctx *c, gb_plan **out, gb_error *err)
{
	(void)c;
	return gb_plan_new(out, err);
}

/* ---- states ---- */

typedef struct step_row {
	gb_step_state state;
	char started[40], ended[40], detail[512];
} step_row;

static int load_state(gb_store *st, const char *name, step_row *row, gb_error *err)
{
	sqlite3_stmt *s;
	int rc, i;

	memset(row, 0, sizeof(*row));
	row->state = GB_STEP_PENDING;
	rc = gb_store_prepare(st, "SELECT state, started, ended, detail FROM migration_steps WHERE name = ?1", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(s) == SQLITE_ROW) {
		for (i = 0; i < (int)(sizeof(state_names) / sizeof(state_names[0])); i++)
			if (strcmp((const char *)sqlite3_column_text(s, 0), state_names[i]) == 0)
				row->state = (gb_step_state)i;
		snprintf(row->started, sizeof(row->started), "%s",
			 sqlite3_column_text(s, 1) ? (const char *)sqlite3_column_text(s, 1) : "");
		snprintf(row->ended, sizeof(row->ended), "%s",
			 sqlite3_column_text(s, 2) ? (const char *)sqlite3_column_text(s, 2) : "");
		snprintf(row->detail, sizeof(row->detail), "%s",
			 sqlite3_column_text(s, 3) ? (const char *)sqlite3_column_text(s, 3) : "");
	}
	sqlite3_finalize(s);
	return 0;
}

/* The step the operator named, for confirm and rollback, and its state: GB_EINVAL when no step has that name. */
static int named_step(gb_migrate_ctx *c, const char *name, const gb_step **s, step_row *row, gb_error *err)
{
	*s = gb_migrate_find_step(name);
	if (!*s)
		return gb_error_set(err, GB_EINVAL, "no step named %s", name);
	return load_state(c->st, name, row, err);
}

static int write_state(gb_store *st, const char *name, gb_step_state state, const char *detail, gb_error *err)
{
	sqlite3_stmt *s;
	char ts[32];
	/* the columns in order: name, state, started (when it starts running), ended (when it reaches a final state),
	 * detail */
	const char *v[] = {name, gb_step_state_name(state), state == GB_STEP_RUNNING ? ts : NULL,
			   state == GB_STEP_RUNNING || state == GB_STEP_PENDING ? NULL : ts, detail};
	int rc, i;

	gb_time_iso8601(ts, sizeof(ts));
	rc = gb_store_prepare(st,
			      "INSERT INTO migration_steps(name, state, started, ended, detail) VALUES (?1, ?2, ?3, ?4, ?5) "
			      "ON CONFLICT(name) DO UPDATE SET state = excluded.state, "
			      "started = COALESCE(excluded.started, started), ended = excluded.ended, detail = excluded.detail",
			      &s, err);
	if (rc)
		return rc;
	for (i = 0; i < 5; i++)
		sqlite3_bind_text(s, i + 1, v[i], -1, SQLITE_STATIC);
	return gb_store_step_done(st, s, "recording a step's state", err);
}

/* Records a state; "running" sets the start time, final states the end time. The change and its audit record
 * (before and after {"state": ...}, the detail as its message; outcome failed for a failed step) are committed
 * together, with undo's state rollback when undo is given (its detail replaces detail). */
static int set_state_undo(gb_migrate_ctx *c, const char *name, gb_step_state state, const char *detail,
			  const gb_step *undo, gb_error *err)
{
	gb_audit_entry e;
	step_row old;
	char before[64], after[64], undone[256];
	int rc;

	rc = load_state(c->st, name, &old, err);
	if (!rc)
		rc = gb_step_state_json(old.state, before, sizeof(before));
	if (!rc)
		rc = gb_step_state_json(state, after, sizeof(after));
	if (!rc)
		rc = gb_store_begin(c->st, err);
	if (rc)
		return rc;
	if (undo && undo->rollback_state) {
		snprintf(undone, sizeof(undone), "%s", detail ? detail : "");
		rc = undo->rollback_state(c, undone, sizeof(undone), err);
		detail = undone;
	}
	if (!rc)
		rc = write_state(c->st, name, state, detail, err);
	memset(&e, 0, sizeof(e));
	e.run_id = c->run_id;
	e.step = name;
	e.operation = "step.state";
	e.target = name;
	e.before = before;
	e.after = after;
	e.outcome = state == GB_STEP_FAILED ? GB_OUTCOME_FAILED : GB_OUTCOME_OK;
	e.message = detail && *detail ? detail : NULL;
	if (!rc)
		rc = gb_audit_append(c->st, &e, NULL, err);
	if (!rc)
		return gb_store_commit(c->st, err);
	gb_store_rollback(c->st);
	return rc;
}

static int set_state(gb_migrate_ctx *c, const char *name, gb_step_state state, const char *detail, gb_error *err)
{
	return set_state_undo(c, name, state, detail, NULL, err);
}

int gb_step_detail(gb_migrate_ctx *c, const char *step, char **out, gb_error *err)
{
	step_row row;
	int rc = load_state(c->st, step, &row, err);

	*out = rc ? NULL : gb_strdup(row.detail);
	return rc ? rc : *out ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
}

/* ---- status ---- */

static const gb_step *next_step(gb_migrate_ctx *c, step_row *row, gb_error *err)
{
	size_t i;

	for (i = 0; i < gb_migrate_step_count; i++) {
		if (load_state(c->st, gb_migrate_steps[i].name, row, err))
			return NULL;
		if (row->state != GB_STEP_DONE)
			return &gb_migrate_steps[i];
	}
	return NULL;
}

int gb_migrate_status(gb_migrate_ctx *c, gb_error *err)
{
	const gb_step *next;
	step_row row;
	size_t i;
	int rc;

	fprintf(c->out, "%-26s %-12s %-25s %s\n", "step", "state", "ended", "detail");
	for (i = 0; i < gb_migrate_step_count; i++) {
		rc = load_state(c->st, gb_migrate_steps[i].name, &row, err);
		if (rc)
			return rc;
		fprintf(c->out, "%-26s %-12s %-25s %s\n", gb_migrate_steps[i].name, gb_step_state_name(row.state),
			row.ended[0] ? row.ended : "-", row.detail[0] ? row.detail : gb_migrate_steps[i].summary);
	}
	next = next_step(c, &row, err);
	if (!next)
		fprintf(c->out, "\nThe migration is complete.\n");
	else if (row.state == GB_STEP_WAITING)
		fprintf(c->out, "\nNext: review, then  groupbridge migrate confirm %s\n", next->name);
	else if (row.state == GB_STEP_ROLLING_BACK)
		fprintf(c->out, "\nNext: run the rollback script of %s (runbooks/rollback.md), then  groupbridge migrate "
				"confirm %s --export DIR\n", next->name, next->name);
	else if (!next->plan)
		fprintf(c->out, "\nNext: step %s, which this version of groupbridge does not carry out yet (see the runbook "
				"runbooks/%s.md)\n", next->name, next->name);
	else
		fprintf(c->out, "\nNext:  groupbridge migrate plan %s   then   groupbridge migrate run --until %s --yes\n",
			next->name, next->name);
	return 0;
}

/* ---- preconditions ---- */

/* Application permissions a step needs: each line is one need, met by any of its roles (the narrowest first). */
static const struct {
	const char *step;
	const char *any[4];
} needs[] = {
	{"inventory", {"Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}},
	{"inventory", {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}},
	{"convert-soa", {"Group-OnPremisesSyncBehavior.ReadWrite.All", NULL, NULL, NULL}},
	{"convert-soa", {"Application.ReadWrite.OwnedBy", "Application.ReadWrite.All", NULL, NULL}},
	{"convert-soa", {"Group.ReadWrite.All", "Directory.ReadWrite.All", NULL, NULL}},
	{"handoff", {"Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}},
};

/* Checks what a step needs before it starts: the Graph permissions granted to the app (from the token's roles),
 * Microsoft's prerequisites the imported export shows (gb_step_prereq_check), for handoff that no group left out
 * would be created again (gb_step_left_out_check), and for stamp-anchors the forest's schema. GB_ECONFIG naming what
 * is missing. */
static int preconditions(gb_migrate_ctx *c, const gb_step *s, gb_error *err)
{
	char **roles = NULL;
	size_t nroles = 0, i, j, k;
	bool read = false;
	int rc;

	/* What the state database and the configuration tell first: it needs no network. */
	rc = gb_step_prereq_check(c, s->name, err);
	if (!rc && strcmp(s->name, "handoff") == 0)
		rc = gb_step_left_out_check(c, err);
	for (i = 0; !rc && i < sizeof(needs) / sizeof(needs[0]); i++) {
		bool met = false;
		gb_graph *graph;

		if (strcmp(needs[i].step, s->name) != 0)
			continue;
		if (!read) {
			gb_error e;
			read = true;
			rc = gb_migrate_graph(c, &graph, err);
			if (!rc && gb_graph_token_roles(graph, &roles, &nroles, &e) != 0) {
				fprintf(c->out, "precondition: the Graph permissions granted cannot be read (%s); going on\n",
					e.msg);
				break;
			}
		}
		for (j = 0; !rc && j < 4 && needs[i].any[j] && !met; j++)
			for (k = 0; k < nroles && !met; k++)
				met = strcmp(roles[k], needs[i].any[j]) == 0;
		if (!rc && !met)
			rc = gb_error_set(err, GB_ECONFIG, "precondition of step %s: the app lacks the Microsoft Graph "
							   "application permission %s (or one that includes it); grant it "
							   "and consent (runbooks/preflight.md)",
					  s->name, needs[i].any[0]);
	}
	for (k = 0; k < nroles; k++)
		free(roles[k]);
	free(roles);
	if (!rc && strcmp(s->name, "stamp-anchors") == 0) {
		char detail[GB_ERROR_MSG_MAX];
		int has = 0;
		rc = gb_directory_probe(c->cfg, detail, sizeof(detail), &has, err);
		if (!rc && !has)
			rc = gb_error_set(err, GB_ECONFIG, "precondition of step stamp-anchors: the forest's schema has no "
							   GB_DIRECTORY_ANCHOR_ATTR " (Windows Server 2016 schema or later is "
							   "needed)");
	}
	return rc;
}

/* ---- plan, apply ---- */

/* collect: also run the step's reading phase, which records what it reads (not for `migrate plan`, which changes
 * nothing at all). */
static int step_plan(gb_migrate_ctx *c, const gb_step *s, bool collect, gb_plan **out, gb_error *err)
{
	int rc = 0;

	*out = NULL;
	if (!s->plan)
		return gb_error_set(err, GB_EUNSUPPORTED, "step %s is not carried out by this version of groupbridge; follow "
							  "runbooks/%s.md", s->name, s->name);
	if (collect && s->collect)
		rc = s->collect(c, err);
	else if (s->collect)
		fprintf(c->out, "(this step reads and records; it changes nothing in the directory or the tenant)\n");
	c->recording = collect;
	if (!rc)
		rc = s->plan(c, out, err);
	c->recording = false;
	return rc ? gb_error_prefix(err, "step %s", s->name) : 0;
}

int gb_migrate_plan(gb_migrate_ctx *c, const char *name, gb_error *err)
{
	const gb_step *s;
	step_row row;
	gb_plan *plan = NULL;
	char *text = NULL;
	int rc;

	s = name ? gb_migrate_find_step(name) : next_step(c, &row, err);
	if (!s)
		return name ? gb_error_set(err, GB_EINVAL, "no step named %s", name)
			    : (fprintf(c->out, "The migration is complete: nothing to plan.\n"), 0);
	fprintf(c->out, "Step %s: %s\n", s->name, s->summary);
	rc = step_plan(c, s, false, &plan, err);
	if (!rc)
		rc = gb_plan_to_text(plan, 10, &text, err);
	if (!rc)
		fputs(text, c->out);
	free(text);
	gb_plan_free(plan);
	return rc;
}

int gb_step_apply(gb_migrate_ctx *c, const gb_step *s, const gb_plan *plan, gb_apply_result *res, gb_error *err)
{
	gb_apply_opts o;
	char *fence = NULL;
	bool ldap = false, graph = false;
	size_t i;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	memset(&o, 0, sizeof(o));
	for (i = 0; i < plan->nops; i++) {
		ldap |= gb_op_kind_is_ldap(plan->ops[i].kind);
		graph |= gb_op_kind_is_graph(plan->ops[i].kind);
	}
	if (ldap && s->fence)
		rc = s->fence(c, &fence, err);
	if (!rc && ldap)
		rc = gb_migrate_dir(c, &o.dir, err);
	if (!rc && graph)
		rc = gb_migrate_graph(c, &o.graph, err);
	o.st = c->st;
	o.run_id = c->run_id;
	o.step = s->name;
	o.log_tag = "migrate";
	o.fence = fence;
	o.member_batch = c->cfg->directory.member_batch > 0 ? (size_t)c->cfg->directory.member_batch : 0;
	o.in_flight = c->cfg->directory.writes_in_flight > 0 ? (size_t)c->cfg->directory.writes_in_flight : 0;
	o.progress = c->out;
	o.check = s->check;
	o.hook = s->hook;
	o.ctx = c;
	if (!rc)
		rc = gb_apply(plan, &o, res, err);
	free(fence);
	return rc;
}

static int confirm_apply(gb_migrate_ctx *c, const gb_step *s, const gb_plan *plan, bool yes, gb_error *err)
{
	char answer[16];

	if (plan->nops == 0 || yes)
		return 0;
	if (!isatty(STDIN_FILENO))
		return gb_error_set(err, GB_EGATE, "step %s plans %zu changes; review them (migrate plan %s) and run again "
						   "with --yes to apply them",
				    s->name, plan->nops, s->name);
	fprintf(c->out, "Apply these %zu changes? [y/N] ", plan->nops);
	fflush(c->out);
	if (!fgets(answer, sizeof(answer), stdin) || (answer[0] != 'y' && answer[0] != 'Y'))
		return gb_error_set(err, GB_EGATE, "step %s: not applied (answer was not yes)", s->name);
	return 0;
}

static int run_step(gb_migrate_ctx *c, const gb_step *s, bool yes, gb_error *err)
{
	gb_apply_result res;
	gb_plan *plan = NULL;
	char *text = NULL, detail[256];
	size_t failed = 0;
	int rc;

	fprintf(c->out, "\n== step %s: %s\n", s->name, s->summary);
	rc = preconditions(c, s, err);
	if (!rc)
		rc = step_plan(c, s, true, &plan, err);
	if (!rc && plan->nops) {
		rc = gb_plan_to_text(plan, 10, &text, err);
		if (!rc)
			fputs(text, c->out);
		free(text);
	}
	/* A plan the step does not apply here is what its confirmation will apply (handoff): shown, not applied. */
	if (!rc && s->applies)
		rc = confirm_apply(c, s, plan, yes, err);
	if (!rc)
		rc = set_state(c, s->name, GB_STEP_RUNNING, NULL, err);
	if (!rc && plan->nops && s->applies) {
		rc = gb_step_apply(c, s, plan, &res, err);
		failed = res.failed;
	}
	if (!rc && failed)
		rc = gb_error_set(err, GB_EPARTIAL, "step %s: %zu of %zu changes failed (see the audit log); fix the cause "
						    "and run again", s->name, failed, plan->nops);
	if (!rc && s->verify) {
		rc = s->verify(c, err);
		if (rc)
			gb_error_prefix(err, "step %s: verification failed", s->name);
	}
	if (!rc) {
		snprintf(detail, sizeof(detail), "%zu changes %s%s", plan->nops, s->applies ? "applied" : "planned",
			 s->gate ? "; waiting for migrate confirm" : "");
		rc = set_state(c, s->name, s->gate ? GB_STEP_WAITING : GB_STEP_DONE, detail, err);
	} else if (rc != GB_EGATE && rc != GB_EINTERRUPTED) {
		gb_error e2;
		set_state(c, s->name, GB_STEP_FAILED, err ? err->msg : "failed", &e2);
	}
	gb_plan_free(plan);
	return rc;
}

int gb_migrate_run(gb_migrate_ctx *c, const char *until, bool yes, gb_error *err)
{
	const gb_step *s;
	step_row row;
	size_t ran = 0;
	int rc;

	if (until && !gb_migrate_find_step(until))
		return gb_error_set(err, GB_EINVAL, "no step named %s", until);
	for (;;) {
		s = next_step(c, &row, err);
		if (!s) {
			fprintf(c->out, "The migration is complete.\n");
			return 0;
		}
		if (row.state == GB_STEP_WAITING)
			return gb_error_set(err, GB_EGATE, "step %s is done and waits for your review: groupbridge migrate "
							   "confirm %s",
					    s->name, s->name);
		if (row.state == GB_STEP_ROLLING_BACK)
			return gb_error_set(err, GB_EGATE, "step %s is being rolled back: run its rollback script, then "
							   "groupbridge migrate confirm %s --export DIR (runbooks/rollback.md)",
					    s->name, s->name);
		if (!s->plan && ran) {
			/* The run went as far as it can: the rest is for the operator. */
			fprintf(c->out, "\nThe next step, %s, is not carried out by this version of groupbridge: follow "
					"runbooks/%s.md\n", s->name, s->name);
			return 0;
		}
		if (!s->plan)
			return gb_error_set(err, GB_EUNSUPPORTED, "the next step, %s, is not carried out by this version of "
								  "groupbridge; follow runbooks/%s.md",
					    s->name, s->name);
		rc = run_step(c, s, yes, err);
		if (rc)
			return rc;
		ran++;
		if (until && strcmp(until, s->name) == 0) {
			fprintf(c->out, "\nStopped after %s, as asked (--until).\n", s->name);
			return 0;
		}
	}
}

/* The confirmation of a rolling-back step: its rollback's evidence, then rolled-back. */
static int confirm_rollback(gb_migrate_ctx *c, const gb_step *s, const char *evidence, gb_error *err)
{
	int rc;

	c->confirmed[0] = '\0';
	rc = s->rollback_confirm ? s->rollback_confirm(c, evidence, err) : 0;
	if (rc)
		return gb_error_prefix(err, "step %s stays rolling-back", s->name);
	rc = set_state(c, s->name, GB_STEP_ROLLED_BACK,
		       c->confirmed[0] ? c->confirmed
		       : evidence     ? "rolled back: verified from the Connect Sync export given"
				      : "rolled back: ATTESTED by the operator, not verified from an export",
		       err);
	if (!rc)
		fprintf(c->out, "step %s rolled back%s\n", s->name,
			evidence || c->confirmed[0] ? "" : " (attested, not verified: every report says so)");
	return rc;
}

int gb_migrate_confirm(gb_migrate_ctx *c, const char *name, const char *evidence, gb_error *err)
{
	const gb_step *s;
	step_row row;
	int rc = named_step(c, name, &s, &row, err);

	if (rc)
		return rc;
	if (row.state == GB_STEP_ROLLING_BACK)
		return confirm_rollback(c, s, evidence, err);
	if (evidence && !s->confirm)
		return gb_error_set(err, GB_EINVAL, "step %s takes no --export", name);
	if (row.state == GB_STEP_DONE) {
		/* A confirmation repeated after an interruption: it went through the first time. */
		fprintf(c->out, "step %s is already confirmed (%s)\n", name, row.detail);
		return 0;
	}
	if (row.state != GB_STEP_WAITING)
		return gb_error_set(err, GB_EINVAL, "step %s is %s, not waiting for a confirmation", name,
				    gb_step_state_name(row.state));
	c->confirmed[0] = '\0';
	if (s->confirm) {
		rc = s->confirm(c, evidence, err);
		if (rc)
			return gb_error_prefix(err, "step %s stays waiting", name);
	}
	rc = set_state(c, name, GB_STEP_DONE,
		       !s->confirm     ? "confirmed by the operator"
		       : c->confirmed[0] ? c->confirmed
		       : s->confirmed  ? s->confirmed
		       : evidence     ? "verified from the Connect Sync export given"
				      : "ATTESTED by the operator, not verified from an export",
		       err);
	if (!rc)
		fprintf(c->out, "step %s confirmed%s\n", name,
			s->confirm && !s->confirmed && !c->confirmed[0] && !evidence
			    ? " (attested, not verified: every report says so)"
			    : "");
	return rc;
}

/* Whether a step in this state has run, for the rollback of the steps before it. */
static bool has_run(gb_step_state st)
{
	return st != GB_STEP_PENDING && st != GB_STEP_ROLLED_BACK;
}

/* The policy of review D2: a rollback of s is allowed when every later step that has run is rolled back or harmless
 * to it. An irreversible step blocks once started; a failed one wrote nothing (its script is written last).
 * GB_EINVAL naming the first later step that blocks, and why. *forget: how many later steps are forgotten with it. */
static int later_steps_allow(gb_migrate_ctx *c, const gb_step *s, size_t *forget, gb_error *err)
{
	size_t i;
	int rc;

	*forget = 0;
	for (i = (size_t)(s - gb_migrate_steps) + 1; i < gb_migrate_step_count; i++) {
		const gb_step *l = &gb_migrate_steps[i];
		step_row later;

		rc = load_state(c->st, l->name, &later, err);
		if (rc)
			return rc;
		if (!has_run(later.state) || l->later == GB_LATER_HARMLESS)
			continue;
		if (l->later == GB_LATER_FORGOTTEN) {
			(*forget)++;
			continue;
		}
		if (l->later == GB_LATER_IRREVERSIBLE && later.state != GB_STEP_FAILED)
			return gb_error_set(err, GB_EINVAL, "step %s cannot be rolled back: step %s is %s: %s "
							    "(runbooks/rollback.md)",
					    s->name, l->name, gb_step_state_name(later.state), l->later_why);
		if (l->later == GB_LATER_IRREVERSIBLE)
			continue;
		if (!l->rollback_plan && !l->rollback_state && !l->rollback_script)
			return gb_error_set(err, GB_EINVAL, "roll back %s first (%s), which this version cannot do: %s",
					    l->name, l->later_why ? l->later_why : "it has run", l->rollback_refusal);
		return gb_error_set(err, GB_EINVAL, "roll back %s first: it is %s, and %s", l->name,
				    gb_step_state_name(later.state), l->later_why ? l->later_why : "it has run");
	}
	return 0;
}

/* The later steps that only recorded what they read: forgotten (rolled-back, to run again), each with its own state
 * rollback in the transaction of its state change. */
static int forget_later(gb_migrate_ctx *c, const gb_step *s, gb_error *err)
{
	char detail[128];
	size_t i;
	int rc = 0;

	snprintf(detail, sizeof(detail), "forgotten with the rollback of %s; runs again", s->name);
	for (i = (size_t)(s - gb_migrate_steps) + 1; !rc && i < gb_migrate_step_count; i++) {
		const gb_step *l = &gb_migrate_steps[i];
		step_row later;

		rc = load_state(c->st, l->name, &later, err);
		if (rc || !has_run(later.state) || l->later != GB_LATER_FORGOTTEN)
			continue;
		rc = set_state_undo(c, l->name, GB_STEP_ROLLED_BACK, detail, l, err);
		if (!rc)
			fprintf(c->out, "step %s forgotten with it (it runs again)\n", l->name);
	}
	return rc;
}

/* Applies s's rollback plan; 0 with *n the number of changes. */
static int rollback_apply(gb_migrate_ctx *c, const gb_step *s, size_t *n, gb_error *err)
{
	gb_apply_result res;
	gb_plan *plan = NULL;
	int rc;

	*n = 0;
	rc = s->rollback_plan(c, &plan, err);
	if (!rc)
		rc = gb_step_apply(c, s, plan, &res, err);
	if (!rc && res.failed)
		rc = gb_error_set(err, GB_EPARTIAL, "rolling back %s: %zu of %zu changes failed", s->name, res.failed,
				  plan->nops);
	if (!rc)
		*n = plan->nops;
	gb_plan_free(plan);
	return rc;
}

int gb_migrate_rollback(gb_migrate_ctx *c, const char *name, gb_error *err)
{
	const gb_step *s;
	step_row row;
	size_t n = 0, forget = 0;
	int rc = named_step(c, name, &s, &row, err);

	if (rc)
		return rc;
	if (row.state != GB_STEP_DONE && row.state != GB_STEP_WAITING && row.state != GB_STEP_FAILED &&
	    !(row.state == GB_STEP_ROLLING_BACK && s->rollback_script))
		return gb_error_set(err, GB_EINVAL, "step %s is %s: there is nothing to roll back", name,
				    gb_step_state_name(row.state));
	if (!s->rollback_plan && !s->rollback_state && !s->rollback_script)
		return gb_error_set(err, GB_EUNSUPPORTED, "step %s cannot be rolled back: %s", name, s->rollback_refusal);
	rc = later_steps_allow(c, s, &forget, err);
	if (!rc && s->rollback_script) {
		rc = s->rollback_script(c, err);
		if (!rc)
			rc = set_state(c, name, GB_STEP_ROLLING_BACK, "rollback script written; waiting for migrate confirm",
				       err);
		if (!rc)
			fprintf(c->out, "step %s is rolling back: run the script, then  groupbridge migrate confirm %s "
					"--export DIR\n", name, name);
	} else if (!rc) {
		if (s->rollback_plan)
			rc = rollback_apply(c, s, &n, err);
		if (!rc)
			rc = set_state_undo(c, name, GB_STEP_ROLLED_BACK, "rolled back", s, err);
		if (!rc)
			fprintf(c->out, "step %s rolled back (%zu changes)\n", name, n);
	}
	if (!rc && forget)
		rc = forget_later(c, s, err);
	return rc;
}
