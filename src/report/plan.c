/* plan.c: the plan report, from the newest plan provisioning stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/map.h"
#include "groupbridge/plan.h"
#include "groupbridge/plan_store.h"
#include "groupbridge/report.h"
#include "groupbridge/util.h"

#include "report/internal.h"

/* Counts of skipped members per group, by the codes the member-outcomes chart shows. */
typedef struct outcome {
	double cloud_only, other_forest, synced;
} outcome;

static int load_plan(gb_store *st, gb_plan **out, char *created, size_t cn, char *what, size_t wn, gb_error *err)
{
	gb_plan_info info;
	int rc;

	*out = NULL;
	rc = gb_plan_store_latest(st, out, &info, err);
	if (rc == GB_ENOTFOUND)
		return gb_error_set(err, GB_ENOTFOUND, "there is no plan in state %s yet; run `groupbridge provision "
						       "--dry-run` first",
				    gb_store_path(st));
	if (rc)
		return rc;
	snprintf(created, cn, "%s", info.created);
	if (info.dry_run)
		snprintf(what, wn, "%s --dry-run (nothing was changed)", info.command);
	else
		snprintf(what, wn, "%s, run %s", info.command, info.run_id[0] ? info.run_id : "?");
	return 0;
}

/* The group's name as people know it: the value of the first RDN of its DN. */
static char *group_label(const char *dn)
{
	gb_ad_dn *p = NULL;
	char *label = NULL;

	if (dn && gb_ad_dn_parse(dn, &p, NULL) == 0 && p->nrdns && p->rdns[0].navas)
		label = gb_strdup(p->rdns[0].avas[0].value);
	gb_ad_dn_free(p);
	return label ? label : gb_strdup(dn ? dn : "?");
}

static int figures(gb_report *r, const gb_plan *plan, gb_error *err)
{
	size_t i, adds = 0, removes = 0, skipped = 0, unsupported = 0, errors = 0;
	int rc = 0;

	for (i = 0; i < plan->nops; i++) {
		if (plan->ops[i].kind == GB_OP_ADD_MEMBERS)
			adds += plan->ops[i].nvalues;
		if (plan->ops[i].kind == GB_OP_REMOVE_MEMBERS)
			removes += plan->ops[i].nvalues;
	}
	for (i = 0; i < plan->nnotes; i++) {
		skipped += plan->notes[i].kind == GB_NOTE_MEMBER_SKIPPED;
		unsupported += plan->notes[i].kind == GB_NOTE_GROUP_UNSUPPORTED;
		errors += plan->notes[i].kind == GB_NOTE_GROUP_ERROR;
	}
	rc = gb_report_add_figure_int(r, "groups provisioned", (long long)plan->ngroups, err);
	if (!rc)
		rc = gb_report_add_figure_int(r, "operations", (long long)plan->nops, err);
	if (!rc)
		rc = gb_report_add_figure_int(r, "groups to create", (long long)gb_plan_count(plan, GB_OP_CREATE_GROUP), err);
	if (!rc)
		rc = gb_report_add_figure_int(r, "members to add", (long long)adds, err);
	if (!rc)
		rc = gb_report_add_figure_int(r, "members to remove", (long long)removes, err);
	if (!rc)
		rc = gb_report_add_figure_int(r, "groups to delete", (long long)gb_plan_count(plan, GB_OP_DELETE_GROUP), err);
	if (!rc)
		rc = gb_report_add_figure_int(r, "members skipped", (long long)skipped, err);
	if (!rc)
		rc = gb_report_add_figure_int(r, "groups not provisioned", (long long)(unsupported + errors), err);
	return rc;
}

static int by_kind(gb_report *r, const gb_plan *plan, gb_error *err)
{
	static const gb_op_kind kinds[] = {GB_OP_CREATE_GROUP,   GB_OP_SET_ATTRS,      GB_OP_RENAME,
					   GB_OP_MOVE,           GB_OP_ADD_MEMBERS,    GB_OP_REMOVE_MEMBERS,
					   GB_OP_DELETE_GROUP,   GB_OP_UNMANAGE};
	gb_report_section *sec;
	gb_report_chart *chart;
	size_t i;
	int rc;

	rc = gb_report_add_section(r, "Changes by kind", &sec, err);
	if (!rc && plan->nops == 0)
		return gb_report_section_add_text(sec, "No changes: AD already matches the cloud for every group in scope.",
						  err);
	if (!rc)
		rc = gb_report_section_add_chart(sec, GB_CHART_BAR, "Operations by kind", "operations", NULL, 0, &chart, err);
	for (i = 0; !rc && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = gb_plan_count(plan, kinds[i]);
		if (n)
			rc = gb_report_chart_add_bar(chart, gb_op_kind_name(kinds[i]), (double)n, err);
	}
	return rc;
}

static int outcomes(gb_report *r, const gb_plan *plan, gb_error *err)
{
	gb_report_section *sec;
	gb_report_chart *chart;
	outcome *o = NULL;
	gb_map *index = NULL;
	size_t i;
	int rc;

	rc = gb_report_add_section(r, "Member outcomes per group", &sec, err);
	if (!rc)
		rc = gb_report_section_add_text(sec, "Which members each group will hold in AD, and which are skipped: a "
						     "cloud-only user has no AD account; a user of another forest is not in "
						     "this one; a group synced from AD is not referenced by cloud "
						     "provisioning.", err);
	if (!rc && plan->ngroups == 0)
		return gb_report_section_add_text(sec, "No group is provisioned by this plan.", err);
	if (!rc)
		rc = gb_map_new(GB_MAP_ICASE, &index, err);
	if (!rc && !(o = calloc(plan->ngroups, sizeof(*o))))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	for (i = 0; !rc && i < plan->ngroups; i++)
		rc = gb_map_set(index, plan->groups[i].object_id, &o[i], err);
	for (i = 0; !rc && i < plan->nnotes; i++) {
		const gb_note *n = &plan->notes[i];
		outcome *g = n->object_id ? gb_map_get(index, n->object_id) : NULL;

		if (!g || n->kind != GB_NOTE_MEMBER_SKIPPED || !n->code)
			continue;
		if (strcmp(n->code, "cloud-only-user") == 0)
			g->cloud_only++;
		else if (strcmp(n->code, "other-forest") == 0)
			g->other_forest++;
		else if (strcmp(n->code, "synced-group") == 0)
			g->synced++;
	}
	if (!rc)
		rc = gb_report_add_member_outcomes(sec, "Members per group", &chart, err);
	for (i = 0; !rc && i < plan->ngroups; i++) {
		double v[GB_MEMBER_OUTCOME_COUNT] = {(double)plan->groups[i].nmembers, o[i].cloud_only, o[i].other_forest,
						     o[i].synced};
		char *label = group_label(plan->groups[i].dn);

		rc = label ? gb_report_chart_add_stack(chart, label, v, GB_MEMBER_OUTCOME_COUNT, err)
			   : gb_error_set(err, GB_ENOMEM, "out of memory");
		free(label);
	}
	free(o);
	gb_map_free(index);
	return rc;
}

static int operations(gb_report *r, const gb_plan *plan, gb_error *err)
{
	static const gb_report_column cols[] = {{"#", GB_COL_NUMBER},     {"operation", GB_COL_TEXT},
						{"target", GB_COL_TEXT},  {"values", GB_COL_NUMBER},
						{"change", GB_COL_TEXT},  {"because", GB_COL_TEXT}};
	gb_report_section *sec;
	gb_report_table *t;
	size_t i, j;
	int rc;

	rc = gb_report_add_section(r, "Operations", &sec, err);
	if (!rc)
		rc = gb_report_section_add_table(sec, NULL, cols, 6, &t, err);
	for (i = 0; !rc && i < plan->nops; i++) {
		const gb_op *op = &plan->ops[i];
		char num[24], nvals[24], change[1024] = "";
		size_t used = 0;
		const char *cells[6];

		snprintf(num, sizeof(num), "%zu", i + 1);
		snprintf(nvals, sizeof(nvals), "%zu", op->nvalues);
		for (j = 0; j < op->nattrs && used < sizeof(change); j++)
			used += (size_t)snprintf(change + used, sizeof(change) - used, "%s%s: %s -> %s", j ? "; " : "",
						 op->attrs[j].name, op->attrs[j].before ? op->attrs[j].before : "(none)",
						 op->attrs[j].after ? op->attrs[j].after : "(none)");
		if (op->new_rdn && used < sizeof(change))
			used += (size_t)snprintf(change + used, sizeof(change) - used, "%snew name %s", used ? "; " : "",
						 op->new_rdn);
		if (op->new_parent && used < sizeof(change))
			snprintf(change + used, sizeof(change) - used, "%snew parent %s", used ? "; " : "", op->new_parent);
		cells[0] = num;
		cells[1] = gb_op_kind_name(op->kind);
		cells[2] = op->target;
		cells[3] = nvals;
		cells[4] = change;
		cells[5] = op->reason;
		rc = gb_report_table_add_row(t, cells, 6, err);
	}
	return rc;
}

static int notes(gb_report *r, const gb_plan *plan, gb_error *err)
{
	static const gb_report_column cols[] = {{"kind", GB_COL_TEXT}, {"reason", GB_COL_TEXT},
						{"group", GB_COL_TEXT}, {"member", GB_COL_TEXT},
						{"explanation", GB_COL_TEXT}};
	gb_report_section *sec;
	gb_report_table *t;
	size_t i;
	int rc;

	rc = gb_report_add_section(r, "What is not done, and why", &sec, err);
	if (!rc && plan->nnotes == 0)
		return gb_report_section_add_text(sec, "Nothing: every member and every group in scope is provisioned.", err);
	if (!rc)
		rc = gb_report_section_add_table(sec, NULL, cols, 5, &t, err);
	for (i = 0; !rc && i < plan->nnotes; i++) {
		const gb_note *n = &plan->notes[i];
		const char *cells[5] = {gb_note_kind_name(n->kind), n->code, n->object_id, n->subject_id, n->message};
		rc = gb_report_table_add_row(t, cells, 5, err);
	}
	return rc;
}

int gb_report_build_plan(gb_store *st, const char *generated, gb_report **out, gb_error *err)
{
	gb_plan *plan = NULL;
	gb_report *r = NULL;
	char created[64], what[256];
	int rc;

	*out = NULL;
	rc = load_plan(st, &plan, created, sizeof(created), what, sizeof(what), err);
	if (!rc)
		rc = gb_report_new("plan", "Provisioning plan", generated, &r, err);
	if (!rc)
		rc = gb_report_add_fact(r, "planned", created, err);
	if (!rc)
		rc = gb_report_add_fact(r, "by", what, err);
	if (!rc)
		rc = gb_report_add_fact(r, "state", gb_store_path(st), err);
	if (!rc)
		rc = figures(r, plan, err);
	if (!rc)
		rc = by_kind(r, plan, err);
	if (!rc)
		rc = outcomes(r, plan, err);
	if (!rc)
		rc = operations(r, plan, err);
	if (!rc)
		rc = notes(r, plan, err);
	gb_plan_free(plan);
	return gb_report_hand_over(r, rc, out);
}
