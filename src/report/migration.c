/* migration.c: the status and assessment reports, from the migration's state (steps/). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/connect_sync.h"
#include "groupbridge/report.h"
#include "groupbridge/util.h"

#include "report/internal.h"

static const char *const step_names[] = {"import",   "inventory",   "stamp-anchors", "connect-sync-coexistence",
					 "disable-writeback", "convert-soa", "match", "handoff", "verify"};
#define NSTEPS (sizeof(step_names) / sizeof(step_names[0]))

int gb_report_build_status(gb_store *st, const char *generated, gb_report **out, gb_error *err)
{
	static const gb_report_column cols[] = {{"#", GB_COL_NUMBER}, {"step", GB_COL_TEXT}, {"state", GB_COL_TEXT},
						{"started", GB_COL_TIME}, {"ended", GB_COL_TIME}, {"detail", GB_COL_TEXT}};
	gb_report *r = NULL;
	gb_report_section *sec;
	gb_report_table *t;
	gb_report_chart *chart;
	sqlite3_stmt *s = NULL;
	size_t i, done = 0, seen = 0, attested = 0;
	int rc;

	*out = NULL;
	rc = gb_report_new("status", "Migration status", generated, &r, err);
	if (!rc)
		rc = gb_report_add_fact(r, "state", gb_store_path(st), err);
	if (!rc)
		rc = gb_report_add_block_section(r, "Steps", GB_CHART_TIMELINE, "Steps on a timeline", NULL, &chart, NULL,
						 NULL, cols, 6, &t, &sec, err);
	if (!rc)
		rc = gb_store_prepare(st, "SELECT state, started, ended, detail FROM migration_steps WHERE name = ?1", &s, err);
	for (i = 0; !rc && i < NSTEPS; i++) {
		char num[8];
		const char *state = "pending", *started = NULL, *ended = NULL, *detail = NULL;
		const char *cells[6];

		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, step_names[i], -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW) {
			seen++;
			state = (const char *)sqlite3_column_text(s, 0);
			started = (const char *)sqlite3_column_text(s, 1);
			ended = (const char *)sqlite3_column_text(s, 2);
			detail = (const char *)sqlite3_column_text(s, 3);
		}
		done += strcmp(state, "done") == 0;
		attested += detail && strstr(detail, "ATTESTED") != NULL;
		snprintf(num, sizeof(num), "%zu", i + 1);
		cells[0] = num;
		cells[1] = step_names[i];
		cells[2] = state;
		cells[3] = started;
		cells[4] = ended;
		cells[5] = detail;
		rc = gb_report_table_add_row(t, cells, 6, err);
		if (!rc && started)
			rc = gb_report_chart_add_span(chart, step_names[i], started,
						      strcmp(state, "running") == 0 ? NULL : ended ? ended : started, state, err);
	}
	sqlite3_finalize(s);
	if (!rc && !seen)
		rc = gb_error_set(err, GB_ENOTFOUND, "there is no status data yet in state database %s; run `groupbridge "
						     "migrate run` first", gb_store_path(st));
	if (!rc)
		rc = gb_report_add_figure_int(r, "steps done", (long long)done, err);
	if (!rc)
		rc = gb_report_add_figure_int(r, "steps to go", (long long)(NSTEPS - done), err);
	if (!rc && attested)
		rc = gb_report_section_add_text(sec, "WARNING: a step was confirmed by the operator's word (ATTESTED), not "
						     "verified from a Connect Sync export.", err);
	return gb_report_hand_over(r, rc, out);
}

/* The chart of written-back groups by class; counts the groups, the ready ones and the others. */
static int assessment_classes(gb_store *st, gb_report *r, size_t *n, size_t *ready, size_t *blockers, gb_error *err)
{
	gb_report_chart *chart;
	sqlite3_stmt *s = NULL;
	int rc;

	rc = gb_report_add_block_section(r, "Written-back groups by class", GB_CHART_BAR, "Groups by class", "groups",
					 &chart, NULL, NULL, NULL, 0, NULL, NULL, err);
	if (!rc)
		rc = gb_store_prepare(st, "SELECT class, count(*) FROM migration_groups WHERE class <> 'converted' GROUP BY "
					  "class ORDER BY count(*) DESC",
				      &s, err);
	while (!rc && sqlite3_step(s) == SQLITE_ROW) {
		const char *cls = (const char *)sqlite3_column_text(s, 0);
		long long k = sqlite3_column_int64(s, 1);
		*n += (size_t)k;
		if (strcmp(cls, "ready") == 0)
			*ready += (size_t)k;
		else
			*blockers += (size_t)k;
		rc = gb_report_chart_add_bar(chart, cls, (double)k, err);
	}
	sqlite3_finalize(s);
	if (!rc && *n == 0)
		rc = gb_error_set(err, GB_ENOTFOUND, "there is no assessment data yet in state database %s; run the "
						     "inventory step (groupbridge migrate run) first", gb_store_path(st));
	return rc;
}

/* Members that will be dropped, and every group; sums the dropped members. */
static int assessment_groups(gb_store *st, gb_report *r, long long *cloud_only, long long *other_forest,
			     gb_error *err)
{
	static const gb_report_column gcols[] = {{"group", GB_COL_TEXT},         {"class", GB_COL_TEXT},
						 {"AD group", GB_COL_TEXT},      {"members", GB_COL_NUMBER},
						 {"cloud-only users", GB_COL_NUMBER}, {"other-forest users", GB_COL_NUMBER},
						 {"why", GB_COL_TEXT}};
	gb_report_section *sec;
	gb_report_table *t;
	gb_report_chart *drops;
	sqlite3_stmt *s = NULL;
	int rc;

	rc = gb_report_add_section(r, "Members that provisioning will not write, per group", &sec, err);
	if (!rc)
		rc = gb_report_section_add_text(sec, "Cloud Sync writes a member only when the user has an AD account in this "
						     "forest (onPremisesObjectIdentifier = objectGUID): cloud-only users and "
						     "users of another forest are dropped from the AD group.", err);
	if (!rc)
		rc = gb_report_add_member_outcomes(sec, "Members per group", &drops, err);
	if (!rc)
		rc = gb_report_section_add_table(sec, "Groups", gcols, 7, &t, err);
	if (!rc)
		rc = gb_store_prepare(st, "SELECT object_id, COALESCE(display_name, object_id), class, ad_dn, members, "
					  "cloud_only, other_forest, reason FROM migration_groups WHERE class <> 'converted' "
					  "ORDER BY class, display_name",
				      &s, err);
	while (!rc && sqlite3_step(s) == SQLITE_ROW) {
		char m[24], co[24], of[24];
		const char *cells[7];
		long long members = sqlite3_column_int64(s, 4), c1 = sqlite3_column_int64(s, 5),
			  c2 = sqlite3_column_int64(s, 6);
		double v[GB_MEMBER_OUTCOME_COUNT] = {(double)(members - c1 - c2 > 0 ? members - c1 - c2 : 0), (double)c1,
						     (double)c2, 0};

		*cloud_only += c1;
		*other_forest += c2;
		snprintf(m, sizeof(m), "%lld", members);
		snprintf(co, sizeof(co), "%lld", c1);
		snprintf(of, sizeof(of), "%lld", c2);
		cells[0] = (const char *)sqlite3_column_text(s, 1);
		cells[1] = (const char *)sqlite3_column_text(s, 2);
		cells[2] = (const char *)sqlite3_column_text(s, 3);
		cells[3] = m;
		cells[4] = co;
		cells[5] = of;
		cells[6] = (const char *)sqlite3_column_text(s, 7);
		rc = gb_report_table_add_row(t, cells, 7, err);
		if (!rc && (c1 || c2 || members))
			rc = gb_report_chart_add_stack(drops, cells[0], v, GB_MEMBER_OUTCOME_COUNT, err);
	}
	sqlite3_finalize(s);
	return rc;
}

/* The current import's findings, when there is an import. */
static int assessment_findings(gb_store *st, gb_report *r, gb_error *err)
{
	static const gb_report_column fcols[] = {{"severity", GB_COL_TEXT}, {"finding", GB_COL_TEXT},
						 {"what it means", GB_COL_TEXT}};
	gb_report_section *sec;
	gb_report_table *t;
	json_t *import = NULL, *f;
	json_error_t jerr;
	char *json = NULL;
	size_t i;
	int rc = 0;

	if (gb_cs_load_current(st, &json, NULL, NULL) == 0 && (import = json_loads(json, 0, &jerr)) != NULL) {
		rc = gb_report_add_section(r, "Findings from the Connect Sync export", &sec, err);
		if (!rc)
			rc = gb_report_section_add_table(sec, NULL, fcols, 3, &t, err);
		json_array_foreach(json_object_get(import, "findings"), i, f)
		{
			const char *cells[3] = {json_string_value(json_object_get(f, "severity")),
						json_string_value(json_object_get(f, "code")),
						json_string_value(json_object_get(f, "message"))};
			if (!rc)
				rc = gb_report_table_add_row(t, cells, 3, err);
		}
	}
	json_decref(import);
	free(json);
	return rc;
}

int gb_report_build_assessment(gb_store *st, const char *generated, gb_report **out, gb_error *err)
{
	gb_report *r = NULL;
	size_t n = 0, ready = 0, blockers = 0;
	long long cloud_only = 0, other_forest = 0;
	int rc;

	*out = NULL;
	rc = gb_report_new("assessment", "Migration assessment", generated, &r, err);
	if (!rc)
		rc = gb_report_add_fact(r, "state", gb_store_path(st), err);
	if (!rc)
		rc = assessment_classes(st, r, &n, &ready, &blockers, err);
	if (!rc)
		rc = assessment_groups(st, r, &cloud_only, &other_forest, err);
	if (!rc)
		rc = gb_report_add_figure_int(r, "written-back groups", (long long)n, err);
	if (!rc)
		rc = gb_report_add_figure_int(r, "ready", (long long)ready, err);
	if (!rc)
		rc = gb_report_add_figure_int(r, "blocked or out of scope", (long long)blockers, err);
	if (!rc)
		rc = gb_report_add_figure_int(r, "cloud-only members dropped", cloud_only, err);
	if (!rc)
		rc = gb_report_add_figure_int(r, "other-forest members dropped", other_forest, err);
	if (!rc)
		rc = assessment_findings(st, r, err);
	return gb_report_hand_over(r, rc, out);
}

int gb_report_build_verification(gb_store *st, const char *generated, gb_report **out, gb_error *err)
{
	static const gb_report_column cols[] = {{"AD group", GB_COL_TEXT},        {"expected members", GB_COL_NUMBER},
						{"members in AD", GB_COL_NUMBER},   {"missing", GB_COL_NUMBER},
						{"extra", GB_COL_NUMBER},           {"other changes", GB_COL_NUMBER},
						{"drift", GB_COL_TEXT},             {"checked", GB_COL_TIME}};
	gb_report *r = NULL;
	gb_report_section *sec;
	gb_report_table *t;
	gb_report_chart *chart;
	sqlite3_stmt *s = NULL;
	size_t n = 0, drift = 0;
	int rc;

	*out = NULL;
	rc = gb_report_new("verification", "Migration verification", generated, &r, err);
	if (!rc)
		rc = gb_report_add_fact(r, "state", gb_store_path(st), err);
	if (!rc)
		rc = gb_report_add_block_section(r, "Expected versus actual membership", GB_CHART_BAR,
						 "Groups with drift (missing + extra members)", "members", &chart, NULL, NULL,
						 cols, 8, &t, &sec, err);
	if (!rc)
		rc = gb_store_prepare(st, "SELECT COALESCE(dn, object_id), expected, actual, missing, extra, other_changes, "
					  "checked FROM migration_verify ORDER BY missing + extra + other_changes DESC, dn",
				      &s, err);
	while (!rc && sqlite3_step(s) == SQLITE_ROW) {
		char v[5][24];
		const char *cells[8];
		long long miss = sqlite3_column_int64(s, 3), extra = sqlite3_column_int64(s, 4),
			  other = sqlite3_column_int64(s, 5);
		int k;

		n++;
		for (k = 0; k < 5; k++)
			snprintf(v[k], sizeof(v[k]), "%lld", sqlite3_column_int64(s, k + 1));
		cells[0] = (const char *)sqlite3_column_text(s, 0);
		for (k = 0; k < 5; k++)
			cells[k + 1] = v[k];
		cells[6] = miss || extra ? "DRIFT" : other ? "none (attributes pending)" : "none";
		cells[7] = (const char *)sqlite3_column_text(s, 6);
		rc = gb_report_table_add_row(t, cells, 8, err);
		if (!rc && (miss || extra)) {
			drift++;
			rc = gb_report_chart_add_bar(chart, cells[0], (double)(miss + extra), err);
		}
	}
	sqlite3_finalize(s);
	if (!rc && n == 0)
		rc = gb_error_set(err, GB_ENOTFOUND, "there is no verification data yet in state database %s; run the "
						     "verify step (groupbridge migrate run) first", gb_store_path(st));
	if (!rc)
		rc = gb_report_add_figure_int(r, "groups checked", (long long)n, err);
	if (!rc)
		rc = gb_report_add_figure_int(r, "groups with drift", (long long)drift, err);
	if (!rc && drift == 0)
		rc = gb_report_section_add_text(sec, "No drift: every handed-over group holds exactly the members the rules "
						     "expect.", err);
	return gb_report_hand_over(r, rc, out);
}
