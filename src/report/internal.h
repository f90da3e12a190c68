/* internal.h: the report document model's structures, shared by the model and the writers (private to src/report). */
#ifndef GROUPBRIDGE_REPORT_INTERNAL_H
#define GROUPBRIDGE_REPORT_INTERNAL_H

#include <stddef.h>

#include "groupbridge/audit.h"
#include "groupbridge/report.h"

typedef struct gb_rpair {
	char *label;
	char *value;
} gb_rpair;

struct gb_report_table {
	char *title;
	size_t ncols;
	char **colnames;
	gb_report_coltype *types;
	char ***rows; /* nrows arrays of ncols strings (NULL = empty cell) */
	size_t nrows, caprows;
};

typedef struct gb_rchart_item {
	char *label;
	double *values; /* bar: 1 value; stacked: nseries values; timeline: none */
	char *start, *end, *status;
	double t0, t1; /* timeline: seconds since the epoch; t1 < 0 when still running */
} gb_rchart_item;

struct gb_report_chart {
	gb_report_chart_type type;
	char *title;
	char *unit;
	char **series;
	size_t nseries;
	gb_rchart_item *items;
	size_t n, cap;
};

typedef enum gb_rblock_type { GB_BLOCK_TEXT, GB_BLOCK_TABLE, GB_BLOCK_CHART } gb_rblock_type;

typedef struct gb_rblock {
	gb_rblock_type type;
	char *text;
	gb_report_table *table;
	gb_report_chart *chart;
} gb_rblock;

struct gb_report_section {
	char *title;
	gb_rblock *blocks;
	size_t n, cap;
};

struct gb_report {
	char *kind;
	char *title;
	char *generated;
	double generated_t;
	gb_rpair *facts;
	size_t nfacts, capfacts;
	gb_rpair *figures;
	size_t nfigures, capfigures;
	gb_report_section **sections;
	size_t nsections, capsections;
};

/* The writers: each appends the whole document to out. */
int gb_report_render_html(const gb_report *r, gb_buf *out, gb_error *err);
int gb_report_render_md(const gb_report *r, gb_buf *out, gb_error *err);
int gb_report_render_json(const gb_report *r, gb_buf *out, gb_error *err);
int gb_report_render_csv(const gb_report *r, gb_buf *out, gb_error *err);

/* One CSV record of the n cells (each as gb_report_csv_cell writes it, separated by commas) and its CRLF. 0, or the
 * buffer's error. */
int gb_report_csv_record(gb_buf *out, const char *const *cells, size_t n, gb_error *err);

/* A section titled title holding, in this order: a chart when chart is not NULL (type, chart_title, unit; *chart is
 * borrowed), the text when it is not NULL, and a table of ncols columns when table is not NULL (table_title may be
 * NULL; *table is borrowed). The section itself in *out when out is not NULL (borrowed), for more blocks. Errors
 * as gb_report_add_section and the gb_report_section_add_* functions. */
int gb_report_add_block_section(gb_report *r, const char *title, gb_report_chart_type type, const char *chart_title,
				const char *unit, gb_report_chart **chart, const char *text, const char *table_title,
				const gb_report_column *cols, size_t ncols, gb_report_table **table,
				gb_report_section **out, gb_error *err);

/* The end of a report builder: on success (rc 0) hands r to the caller through *out, else frees it. Returns rc. */
int gb_report_hand_over(gb_report *r, int rc, gb_report **out);

/* A copy of s that is valid UTF-8 without control characters other than tab, CR and LF (others become U+FFFD);
 * NULL for NULL or when out of memory. */
char *gb_report_clean_text(const char *s);

/* Parses UTC ISO 8601 "YYYY-MM-DDTHH:MM:SS[.fff]Z" into seconds since the epoch; -1 when it does not parse. */
double gb_report_parse_time(const char *s);

/* Formats a chart value: integers without decimals, others with up to two. */
void gb_report_format_number(double v, char *dst, size_t n);

/* A duration for people: "850 ms", "42 s", "3 min 5 s", "2 h 10 min" (rounded to the unit shown). */
void gb_report_format_duration(double secs, char *dst, size_t n);

/* A chart's long label cut to at most max characters (not bytes), with "…" when cut; allocated. */
char *gb_report_short_label(const char *s, size_t max);

/* The fields of an audit record in the order the audit exports give them (audit_export.c). */
typedef enum gb_report_audit_field {
	GB_RAF_SEQ,
	GB_RAF_TIME,
	GB_RAF_RUN_ID,
	GB_RAF_STEP,
	GB_RAF_OPERATION,
	GB_RAF_TARGET,
	GB_RAF_BEFORE,
	GB_RAF_AFTER,
	GB_RAF_RESULT,
	GB_RAF_PREV_HASH,
	GB_RAF_HASH,
	GB_RAF_FORM,
	GB_RAF_OUTCOME,
	GB_RAF_MESSAGE,
	GB_RAF_COUNT
} gb_report_audit_field;

/* The fields' names, as the exports' CSV header and JSON keys spell them. */
extern const char *const gb_report_audit_field_names[GB_RAF_COUNT];

/* The numeric fields of a record written as text, for gb_report_audit_texts. */
typedef struct gb_report_audit_numbers {
	char seq[24], form[8];
} gb_report_audit_numbers;

/* Points vals[f] at the text of r's field f, for every field (NULL where r has none): seq and form are written into
 * num, the others are borrowed from r, so vals lives as long as both. */
void gb_report_audit_texts(const gb_audit_record *r, gb_report_audit_numbers *num, const char *vals[GB_RAF_COUNT]);

#endif
