/*
 * report.h: a small document model for reports, and its writers (HTML, Markdown, JSON, CSV).
 *
 * A module that reports (the run history here; later the assessment, the plan, verification and status) fills a
 * gb_report and hands it to gb_report_write; it never formats output itself. So every format escapes every value
 * the same way, whatever the report:
 *   - HTML is built with libxml2's tree API (every value is a text node or an attribute value, escaped by the
 *     serializer), one self-contained file: inline CSS with a print stylesheet, inline SVG charts, tables sortable
 *     by a small inline script (without script they stay readable in their given order);
 *   - CSV follows RFC 4180 and neutralises cells a spreadsheet would run as a formula (see gb_report_csv_cell);
 *   - Markdown escapes the characters that would make a value markup (so a value is never a link, an HTML tag, or
 *     a table border) and writes line breaks inside a cell as the two characters "\n";
 *   - JSON follows the schema below.
 * Every string entering the model passes through gb_log_redact, so a registered secret never reaches a report, and
 * bytes that are not UTF-8 or are control characters (other than tab, CR and LF) become U+FFFD, so every writer
 * gets text it can carry.
 *
 * The model: a report has a kind ("run", "assessment", ...), a title, a generation time, facts about the report
 * (label/value lines such as the run id), summary figures (label/value, shown first), and sections. A section has
 * a title and an ordered list of blocks: paragraphs of text, tables and charts. A table has typed columns (text or
 * number: numbers sort numerically and align right) and rows of cells. A chart is one of:
 *   - GB_CHART_BAR: one value per label (such as changes by kind);
 *   - GB_CHART_STACKED: several named series per label, drawn as one stacked bar per label (such as member outcomes
 *     per group, see gb_report_add_member_outcomes);
 *   - GB_CHART_TIMELINE: spans with a start time, an end time (or none: still running) and a status (such as the
 *     migration's steps).
 *
 * JSON schema (schema_version 1), one object:
 *   { "schema_version": 1,
 *     "kind": string, "title": string, "generated": string (UTC ISO 8601),
 *     "facts":   [ { "label": string, "value": string } ],
 *     "summary": [ { "label": string, "value": string } ],
 *     "sections": [ { "title": string,
 *                     "blocks": [ { "type": "text", "text": string }
 *                               | { "type": "table", "title": string,
 *                                   "columns": [ { "name": string, "type": "text" | "number" | "time" } ],
 *                                   "rows": [ [ string | null, ... ] ] }       (one string per column, null = empty)
 *                               | { "type": "chart", "chart": "bar", "title": string, "unit": string,
 *                                   "items": [ { "label": string, "value": number } ] }
 *                               | { "type": "chart", "chart": "stacked", "title": string, "unit": string,
 *                                   "series": [ string ],
 *                                   "items": [ { "label": string, "values": [ number, ... ] } ] }
 *                               | { "type": "chart", "chart": "timeline", "title": string,
 *                                   "items": [ { "label": string, "start": string, "end": string | null,
 *                                                "status": string } ] } ] } ] }
 * A later version only adds members; a reader ignores what it does not know and checks schema_version.
 *
 * CSV layout: one block per table, in document order, blocks separated by an empty line. A block is a record with
 * the section and table titles, the header record, then the rows. Summary figures (if any) come first as a block
 * "Summary" (Figure, Value); charts are written as tables of their data (bar: Label, Value; stacked: Label and one
 * column per series; timeline: Label, Start, End, Status).
 *
 * Ownership: gb_report_new returns the caller's report (gb_report_free). Sections, tables and charts returned
 * through out are borrowed: they belong to the report and live as long as it. All strings are copied.
 */
#ifndef GROUPBRIDGE_REPORT_H
#define GROUPBRIDGE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "groupbridge/buf.h"
#include "groupbridge/error.h"
#include "groupbridge/store.h"

#define GB_REPORT_SCHEMA_VERSION 1

typedef enum gb_report_format { GB_REPORT_HTML, GB_REPORT_MD, GB_REPORT_JSON, GB_REPORT_CSV } gb_report_format;

/* Column types: text; numbers (sorted numerically, aligned right); times (UTC ISO 8601, sorted as text, which is
 * chronological, and never wrapped in HTML). */
typedef enum gb_report_coltype { GB_COL_TEXT, GB_COL_NUMBER, GB_COL_TIME } gb_report_coltype;

typedef enum gb_report_chart_type { GB_CHART_BAR, GB_CHART_STACKED, GB_CHART_TIMELINE } gb_report_chart_type;

typedef struct gb_report gb_report;
typedef struct gb_report_section gb_report_section;
typedef struct gb_report_table gb_report_table;
typedef struct gb_report_chart gb_report_chart;

typedef struct gb_report_column {
	const char *name;
	gb_report_coltype type;
} gb_report_column;

/* The four outcomes of a group's members when groups are provisioned to AD, in the order of the stacked bar. */
#define GB_MEMBER_OUTCOME_COUNT 4
extern const char *const gb_report_member_outcomes[GB_MEMBER_OUTCOME_COUNT];

/* Parses "html", "md" (or "markdown"), "json", "csv". GB_EINVAL otherwise. */
int gb_report_format_parse(const char *s, gb_report_format *out, gb_error *err);

/* The format a file name's extension implies (.html/.htm, .md, .json, .csv); GB_EINVAL when none does. */
int gb_report_format_from_path(const char *path, gb_report_format *out, gb_error *err);

const char *gb_report_format_name(gb_report_format f);

/* A new, empty report. generated may be NULL for the current time (tests pass a fixed one for golden files).
 * GB_EINVAL when kind or title is NULL or empty; GB_ENOMEM. */
int gb_report_new(const char *kind, const char *title, const char *generated, gb_report **out, gb_error *err);

void gb_report_free(gb_report *r);

/* A fact about the report itself (state database, run id, configuration), shown under the title. */
int gb_report_add_fact(gb_report *r, const char *label, const char *value, gb_error *err);

/* A summary figure (shown first, as a card in HTML). */
int gb_report_add_figure(gb_report *r, const char *label, const char *value, gb_error *err);
int gb_report_add_figure_int(gb_report *r, const char *label, long long value, gb_error *err);

/* A new section at the end; *out is borrowed. */
int gb_report_add_section(gb_report *r, const char *title, gb_report_section **out, gb_error *err);

/* A paragraph at the end of the section. */
int gb_report_section_add_text(gb_report_section *s, const char *text, gb_error *err);

/* A table at the end of the section with ncols (>= 1) columns; *out is borrowed. GB_EINVAL when ncols is 0 or a
 * column has no name. */
int gb_report_section_add_table(gb_report_section *s, const char *title, const gb_report_column *cols, size_t ncols,
                                gb_report_table **out, gb_error *err);

/* Appends a row of ncols cells (as many as the table's columns; NULL cells are empty). GB_EINVAL when ncols is not
 * the table's column count. */
int gb_report_table_add_row(gb_report_table *t, const char *const *cells, size_t ncols, gb_error *err);

/* Sorts the rows by column col (numbers numerically, text byte-wise; empty cells last), stable. GB_EINVAL when col
 * is out of range. The HTML page can re-sort in the browser; the other formats keep this order. */
int gb_report_table_sort(gb_report_table *t, size_t col, bool descending, gb_error *err);

size_t gb_report_table_rows(const gb_report_table *t);

/* A chart at the end of the section; *out is borrowed. unit (may be NULL) names what values count ("changes").
 * For GB_CHART_STACKED, series holds nseries (>= 1) names; other types take no series (nseries 0). */
int gb_report_section_add_chart(gb_report_section *s, gb_report_chart_type type, const char *title, const char *unit,
                                const char *const *series, size_t nseries, gb_report_chart **out, gb_error *err);

/* A stacked chart whose series are gb_report_member_outcomes (included, skipped cloud-only, skipped other forest,
 * skipped synced nested group); add one item per group with the four counts in that order. */
int gb_report_add_member_outcomes(gb_report_section *s, const char *title, gb_report_chart **out, gb_error *err);

/* A bar (GB_CHART_BAR). Values must be finite and >= 0. GB_EINVAL for another chart type or a bad value. */
int gb_report_chart_add_bar(gb_report_chart *c, const char *label, double value, gb_error *err);

/* A stacked bar (GB_CHART_STACKED): nvalues must equal the chart's series count; values finite and >= 0. */
int gb_report_chart_add_stack(gb_report_chart *c, const char *label, const double *values, size_t nvalues,
                              gb_error *err);

/* A span (GB_CHART_TIMELINE). start and end are UTC ISO 8601 ("2026-11-24T08:31:54Z", milliseconds allowed); end
 * NULL means still running. status is free text such as "done", "failed", "running", "pending". GB_EINVAL when a
 * time does not parse or end is before start. */
int gb_report_chart_add_span(gb_report_chart *c, const char *label, const char *start, const char *end,
                             const char *status, gb_error *err);

/* Renders the report in format f, appending to out (initialised by the caller, with its maximum). */
int gb_report_render(const gb_report *r, gb_report_format f, gb_buf *out, gb_error *err);

/* Renders and writes: to path (created or replaced atomically, mode 0600: reports name objects of the directory),
 * or to standard output when path is NULL or "-". GB_EIO with the path named. */
int gb_report_write(const gb_report *r, gb_report_format f, const char *path, gb_error *err);

/* Appends one CSV field: quoted when it holds a comma, a quote, CR or LF (quotes doubled, RFC 4180), and prefixed
 * with a single quote when it starts with '=', '+', '-', '@', a tab or a carriage return, so that a spreadsheet
 * shows it as text instead of running it. NULL is an empty field. */
int gb_report_csv_cell(gb_buf *out, const char *s, gb_error *err);

/* Opens path for writing a report or export: a temporary file beside it with mode 0600, renamed into place by
 * gb_report_file_commit (which also closes it); gb_report_file_abort removes it. NULL or "-" means standard output
 * (commit flushes, abort does nothing). */
typedef struct gb_report_file gb_report_file;
int gb_report_file_open(const char *path, gb_report_file **out, gb_error *err);
FILE *gb_report_file_stream(gb_report_file *f);
int gb_report_file_commit(gb_report_file *f, gb_error *err);
void gb_report_file_abort(gb_report_file *f);

/* The run report: what run run_id (a full id or a unique prefix; NULL for the latest run) changed, from the runs
 * table and the audit log: summary figures (outcome, duration, changes, failures, objects, the audit chain's
 * state), changes by kind (chart and table), the steps on a timeline, the outcome per object and every change.
 * Audit results are classified by their first word: "ok", "skipped", anything else counts as failed. generated may
 * be NULL for now. GB_ENOTFOUND when the state has no runs or no run matches; GB_EINVAL when a prefix matches
 * several runs; GB_EIO. */
int gb_report_build_run(gb_store *st, const char *run_id, const char *generated, gb_report **out, gb_error *err);

/* The plan report: the newest plan provisioning stored (a dry run's or a run's): summary figures, changes by kind,
 * member outcomes per group (included, skipped cloud-only, skipped other forest, skipped synced nested group),
 * every operation and every note. generated may be NULL for now. GB_ENOTFOUND when no plan was stored yet. */
int gb_report_build_plan(gb_store *st, const char *generated, gb_report **out, gb_error *err);

/* The migration's status: every step with its state and times, on a timeline; a warning when a step was attested
 * rather than verified. GB_ENOTFOUND when no step has run yet. */
int gb_report_build_status(gb_store *st, const char *generated, gb_report **out, gb_error *err);

/* The assessment: the inventory's written-back groups by class, the members each will lose (cloud-only, other
 * forest), blockers, and the Connect Sync export's findings. GB_ENOTFOUND before the inventory step. */
int gb_report_build_assessment(gb_store *st, const char *generated, gb_report **out, gb_error *err);

/* The verification: for every handed-over group, the members the rules expect against the members AD holds, what is
 * missing or extra, and other pending changes, as the verify step last compared them. GB_ENOTFOUND before it ran. */
int gb_report_build_verification(gb_store *st, const char *generated, gb_report **out, gb_error *err);

/* Exports the audit log (all records, or those of run_id) to out as JSON lines (one object per record with the
 * fields of gb_audit_record; before and after null when absent) or CSV (a header record, then one record per
 * audit record, cells as gb_report_csv_cell writes them). format is "jsonl" or "csv" (GB_EINVAL otherwise). */
int gb_report_audit_export(gb_store *st, const char *run_id, const char *format, FILE *out, gb_error *err);

#endif
