/* run.c: the run report, from the runs table and the audit log. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/audit.h"
#include "groupbridge/util.h"

#include "report/internal.h"

/* Records are counted by their outcome field (audit.h), never by their message. */
#define IS_OK "(outcome = 'ok')"
#define IS_SKIPPED "(outcome = 'skipped')"
#define IS_FAILED "(outcome = 'failed')"

typedef struct run_row {
	char *id, *command, *started, *ended, *summary;
	int has_exit;
	int exit_code;
} run_row;

static void run_row_clear(run_row *r)
{
	free(r->id);
	free(r->command);
	free(r->started);
	free(r->ended);
	free(r->summary);
	memset(r, 0, sizeof(*r));
}

static char *col(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? gb_strdup((const char *)t) : NULL;
}

/* Finds the run: the latest when id is NULL, else the one whose id is or starts with id (it must be unique). */
static int find_run(gb_store *st, const char *id, run_row *out, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc, n = 0;

	memset(out, 0, sizeof(*out));
	rc = gb_store_prepare(
	    st,
	    id ? "SELECT id, command, started, ended, exit_code, summary FROM runs WHERE "
	         "substr(id, 1, length(?1)) = ?1 ORDER BY started DESC, rowid DESC LIMIT 2"
	       : "SELECT id, command, started, ended, exit_code, summary FROM runs ORDER BY started DESC, "
	         "rowid DESC LIMIT 1",
	    &s, err);
	if (rc)
		return rc;
	if (id)
		sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (++n == 2)
			break;
		out->id = col(s, 0);
		out->command = col(s, 1);
		out->started = col(s, 2);
		out->ended = col(s, 3);
		out->has_exit = sqlite3_column_type(s, 4) != SQLITE_NULL;
		out->exit_code = sqlite3_column_int(s, 4);
		out->summary = col(s, 5);
		if (!out->id || !out->command || !out->started) {
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
			goto done;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = gb_store_error(st, err, "reading the run history");
		goto done;
	}
	if (n == 0)
		rc = id ? gb_error_set(err, GB_ENOTFOUND, "state %s has no run %s", gb_store_path(st), id)
		        : gb_error_set(err, GB_ENOTFOUND, "state %s has no runs yet", gb_store_path(st));
	else if (n == 2)
		rc = gb_error_set(err, GB_EINVAL, "run id prefix %s matches several runs in state %s; give more of it",
		                  id, gb_store_path(st));
	else
		rc = 0;
done:
	sqlite3_finalize(s);
	if (rc)
		run_row_clear(out);
	return rc;
}

static const char *outcome(const run_row *r)
{
	if (!r->ended || !r->has_exit)
		return "running or interrupted";
	switch (r->exit_code) {
	case 0: return "succeeded";
	case 2: return "usage or configuration error";
	case 3: return "partial";
	case 4: return "stopped by a safety gate";
	default: return "failed";
	}
}

static void duration(const run_row *r, char *dst, size_t n)
{
	double a = gb_report_parse_time(r->started), b = gb_report_parse_time(r->ended);

	if (a < 0 || b < 0 || b < a) {
		snprintf(dst, n, "unknown");
		return;
	}
	gb_report_format_duration(b - a, dst, n);
}

static int prep(gb_store *st, const char *sql, const char *run, sqlite3_stmt **s, gb_error *err)
{
	int rc = gb_store_prepare(st, sql, s, err);

	if (!rc)
		sqlite3_bind_text(*s, 1, run, -1, SQLITE_STATIC);
	return rc;
}

static const char *ctext(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? (const char *)t : "";
}

/* Columns first .. first + k - 1 of the row as decimal text in n, pointed to by cells[0 .. k-1]. */
static void counts(sqlite3_stmt *s, int first, int k, char n[][24], const char **cells)
{
	int i;

	for (i = 0; i < k; i++) {
		snprintf(n[i], sizeof(n[i]), "%lld", (long long)sqlite3_column_int64(s, first + i));
		cells[i] = n[i];
	}
}

/* Ends a loop over a statement's rows: SQLITE_DONE is success, another SQLite code a read error. Frees s. */
static int rows_done(gb_store *st, sqlite3_stmt *s, int rc, gb_error *err)
{
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc > 0)
		rc = gb_store_error(st, err, "reading the audit log");
	sqlite3_finalize(s);
	return rc;
}


/* Totals over the run's records. */
static int totals(gb_store *st, const char *run, long long out[5], gb_error *err)
{
	sqlite3_stmt *s;
	int rc, i;

	memset(out, 0, 5 * sizeof(out[0]));
	rc = prep(st,
	          "SELECT count(*), coalesce(sum(" IS_OK "), 0), coalesce(sum(" IS_FAILED
	          "), 0), coalesce(sum(" IS_SKIPPED "), 0), count(DISTINCT target) FROM audit_log WHERE run_id = ?1",
	          run, &s, err);
	if (rc)
		return rc;
	if (sqlite3_step(s) == SQLITE_ROW) {
		for (i = 0; i < 5; i++)
			out[i] = sqlite3_column_int64(s, i);
	} else {
		rc = gb_store_error(st, err, "reading the audit log");
	}
	sqlite3_finalize(s);
	return rc;
}

/* A section filled from one query over the run's records (?1 is the run id): a table with a row per result row, whose
 * ncols cells fill sets (numbers written into n), and, when chart is set, a chart to which chart adds each row. */
typedef struct query_section {
	const char *title;
	gb_report_chart_type type;
	const char *chart_title, *unit, *text, *table_title;
	const gb_report_column *cols;
	size_t ncols;
	const char *sql;
	void (*fill)(sqlite3_stmt *s, char n[][24], const char **cells);
	int (*chart)(gb_report_chart *ch, sqlite3_stmt *s, const char **cells, gb_error *err);
} query_section;

static int add_query_section(gb_report *rep, gb_store *st, const char *run, const query_section *q, gb_error *err)
{
	gb_report_chart *ch = NULL;
	gb_report_table *t;
	sqlite3_stmt *s = NULL;
	char n[8][24];
	const char *cells[8];
	int rc;

	rc = gb_report_add_block_section(rep, q->title, q->type, q->chart_title, q->unit, q->chart ? &ch : NULL,
	                                 q->text, q->table_title, q->cols, q->ncols, &t, NULL, err);
	if (!rc)
		rc = prep(st, q->sql, run, &s, err);
	while (!rc && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		q->fill(s, n, cells);
		rc = q->chart ? q->chart(ch, s, cells, err) : 0;
		if (!rc)
			rc = gb_report_table_add_row(t, cells, q->ncols, err);
	}
	return rows_done(st, s, rc, err);
}

static void kind_cells(sqlite3_stmt *s, char n[][24], const char **cells)
{
	cells[0] = ctext(s, 0);
	counts(s, 1, 4, n, cells + 1);
}

static int kind_bar(gb_report_chart *ch, sqlite3_stmt *s, const char **cells, gb_error *err)
{
	return gb_report_chart_add_bar(ch, cells[0], (double)sqlite3_column_int64(s, 4), err);
}

static const gb_report_column kind_cols[] = {{"Operation", GB_COL_TEXT},
                                             {"Succeeded", GB_COL_NUMBER},
                                             {"Failed", GB_COL_NUMBER},
                                             {"Skipped", GB_COL_NUMBER},
                                             {"Total", GB_COL_NUMBER}};

static const query_section by_kind = {
    .title = "Changes by kind",
    .type = GB_CHART_BAR,
    .chart_title = "Changes by kind",
    .unit = "changes",
    .table_title = "Operations",
    .cols = kind_cols,
    .ncols = 5,
    .sql = "SELECT operation, sum(" IS_OK "), sum(" IS_FAILED "), sum(" IS_SKIPPED "), count(*) FROM audit_log "
           "WHERE run_id = ?1 GROUP BY operation ORDER BY count(*) DESC, operation",
    .fill = kind_cells,
    .chart = kind_bar};

static void step_cells(sqlite3_stmt *s, char n[][24], const char **cells)
{
	cells[0] = *ctext(s, 0) ? ctext(s, 0) : "(no step)";
	cells[1] = ctext(s, 1);
	cells[2] = ctext(s, 2);
	counts(s, 3, 2, n, cells + 3);
}

static int step_span(gb_report_chart *ch, sqlite3_stmt *s, const char **cells, gb_error *err)
{
	return gb_report_chart_add_span(ch, cells[0], cells[1], cells[2],
	                                sqlite3_column_int64(s, 4) ? "failed" : "done", err);
}

static const gb_report_column step_cols[] = {{"Step", GB_COL_TEXT},
                                             {"First change", GB_COL_TIME},
                                             {"Last change", GB_COL_TIME},
                                             {"Changes", GB_COL_NUMBER},
                                             {"Failed", GB_COL_NUMBER}};

static const query_section steps = {
    .title = "Steps",
    .type = GB_CHART_TIMELINE,
    .chart_title = "Steps of the run",
    .table_title = "Changes per step",
    .cols = step_cols,
    .ncols = 5,
    .sql = "SELECT step, min(time), max(time), count(*), sum(" IS_FAILED ") FROM audit_log WHERE run_id = ?1 "
           "GROUP BY step ORDER BY min(seq)",
    .fill = step_cells,
    .chart = step_span};

static void object_cells(sqlite3_stmt *s, char n[][24], const char **cells)
{
	long long ok = sqlite3_column_int64(s, 2), failed = sqlite3_column_int64(s, 3),
	          skipped = sqlite3_column_int64(s, 4);

	cells[0] = ctext(s, 0);
	cells[1] = ctext(s, 1);
	counts(s, 2, 3, n, cells + 2);
	cells[5] = failed    ? (ok ? "partly failed" : "failed")
	           : ok      ? "changed"
	           : skipped ? "skipped"
	                     : "unchanged";
}

static const gb_report_column object_cols[] = {{"Object", GB_COL_TEXT},      {"Operations", GB_COL_TEXT},
                                               {"Succeeded", GB_COL_NUMBER}, {"Failed", GB_COL_NUMBER},
                                               {"Skipped", GB_COL_NUMBER},   {"Outcome", GB_COL_TEXT}};

static const query_section objects = {
    .title = "Outcome per object",
    .type = GB_CHART_BAR,
    .text = "One row per object the run touched; objects with failures first.",
    .table_title = "Objects",
    .cols = object_cols,
    .ncols = 6,
    .sql = "SELECT target, group_concat(operation, ', '), sum(" IS_OK "), sum(" IS_FAILED "), sum(" IS_SKIPPED
           ") FROM (SELECT * FROM audit_log WHERE run_id = ?1 ORDER BY seq) GROUP BY target "
           "ORDER BY sum(" IS_FAILED ") > 0 DESC, target",
    .fill = object_cells};

static int changes(gb_report *rep, gb_store *st, const char *run, gb_error *err)
{
	static const gb_report_column cols[] = {
	    {"Seq", GB_COL_NUMBER},  {"Time", GB_COL_TIME},   {"Step", GB_COL_TEXT},  {"Operation", GB_COL_TEXT},
	    {"Object", GB_COL_TEXT}, {"Before", GB_COL_TEXT}, {"After", GB_COL_TEXT}, {"Outcome", GB_COL_TEXT},
	    {"Message", GB_COL_TEXT}};
	/* the record's field shown in each column */
	static const gb_report_audit_field shown[] = {GB_RAF_SEQ,    GB_RAF_TIME,  GB_RAF_STEP,
	                                              GB_RAF_OPERATION, GB_RAF_TARGET, GB_RAF_BEFORE,
	                                              GB_RAF_AFTER,  GB_RAF_OUTCOME, GB_RAF_MESSAGE};
	gb_report_table *t;
	gb_audit_iter *it = NULL;
	const gb_audit_record *r;
	gb_report_audit_numbers num;
	const char *vals[GB_RAF_COUNT], *cells[9];
	size_t k;
	int rc;

	rc = gb_report_add_block_section(rep, "Changes", GB_CHART_BAR, NULL, NULL, NULL,
	                                 "Every change of the run as the audit log recorded it, in order.",
	                                 "Audit records", cols, 9, &t, NULL, err);
	if (!rc)
		rc = gb_audit_iter_new(st, run, &it, err);
	while (!rc) {
		rc = gb_audit_iter_next(it, &r, err);
		if (rc || !r)
			break;
		gb_report_audit_texts(r, &num, vals);
		for (k = 0; k < 9; k++)
			cells[k] = vals[shown[k]];
		rc = gb_report_table_add_row(t, cells, 9, err);
	}
	gb_audit_iter_free(it);
	return rc;
}

int gb_report_build_run(gb_store *st, const char *run_id, const char *generated, gb_report **out, gb_error *err)
{
	gb_report *rep = NULL;
	gb_report_section *sec;
	gb_audit_verdict v;
	run_row run;
	long long tot[5];
	char title[600], dur[64], code[16];
	int rc;

	*out = NULL;
	rc = find_run(st, run_id, &run, err);
	if (rc)
		return rc;
	snprintf(title, sizeof(title), "Run report: %s", run.command);
	rc = gb_report_new("run", title, generated, &rep, err);
	if (!rc)
		rc = gb_report_add_fact(rep, "Run id", run.id, err);
	if (!rc)
		rc = gb_report_add_fact(rep, "Command", run.command, err);
	if (!rc)
		rc = gb_report_add_fact(rep, "Started", run.started, err);
	if (!rc)
		rc = gb_report_add_fact(rep, "Ended", run.ended ? run.ended : "(not recorded)", err);
	if (!rc && run.summary && *run.summary)
		rc = gb_report_add_fact(rep, "Summary", run.summary, err);
	if (!rc)
		rc = totals(st, run.id, tot, err);
	if (!rc)
		rc = gb_audit_verify(st, NULL, &v, err);
	if (rc)
		goto done;
	duration(&run, dur, sizeof(dur));
	if (run.has_exit)
		snprintf(code, sizeof(code), " (exit %d)", run.exit_code);
	else
		code[0] = '\0';
	snprintf(title, sizeof(title), "%s%s", outcome(&run), code);
	rc = gb_report_add_figure(rep, "Outcome", title, err);
	if (!rc)
		rc = gb_report_add_figure(rep, "Duration", dur, err);
	if (!rc)
		rc = gb_report_add_figure_int(rep, "Changes recorded", tot[0], err);
	if (!rc)
		rc = gb_report_add_figure_int(rep, "Succeeded", tot[1], err);
	if (!rc)
		rc = gb_report_add_figure_int(rep, "Failed", tot[2], err);
	if (!rc)
		rc = gb_report_add_figure_int(rep, "Skipped", tot[3], err);
	if (!rc)
		rc = gb_report_add_figure_int(rep, "Objects touched", tot[4], err);
	if (!rc)
		rc = gb_report_add_figure(rep, "Audit log", v.problem == GB_AUDIT_INTACT ? "intact" : "DAMAGED", err);
	if (!rc)
		rc = gb_report_add_section(rep, "Audit log integrity", &sec, err);
	if (!rc) {
		snprintf(title, sizeof(title),
		         "The whole audit log of this state database was verified when this report "
		         "was generated: %s.",
		         v.message);
		rc = gb_report_section_add_text(sec, title, err);
	}
	if (!rc && tot[0] == 0) {
		rc = gb_report_section_add_text(sec, "This run recorded no changes in the audit log.", err);
	} else if (!rc) {
		rc = add_query_section(rep, st, run.id, &by_kind, err);
		if (!rc)
			rc = add_query_section(rep, st, run.id, &steps, err);
		if (!rc)
			rc = add_query_section(rep, st, run.id, &objects, err);
		if (!rc)
			rc = changes(rep, st, run.id, err);
	}
done:
	run_row_clear(&run);
	return gb_report_hand_over(rep, rc, out);
}
