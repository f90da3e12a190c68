/* md.c: the Markdown writer: GitHub-style tables that also read well as plain text in a terminal. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/internal.h"

#define BAR_WIDTH 24

/* Appends s as inline Markdown that renders as exactly its text: characters that start markup are escaped with a
 * backslash (CommonMark allows it before any ASCII punctuation), and line breaks become the two characters "\n" so
 * that a value never ends a table row or starts a block. At the start of a line, characters that would start a
 * heading, list, quote or rule are escaped too. */
static int esc(gb_buf *out, const char *s, int line_start, gb_error *err)
{
	const char *p;
	int rc = 0;

	if (!s)
		return 0;
	if (line_start) {
		p = s;
		while (*p >= '0' && *p <= '9')
			p++;
		if (p > s && (*p == '.' || *p == ')')) {
			rc = gb_buf_append(out, s, (size_t)(p - s), err);
			s = p;
			if (!rc)
				rc = gb_buf_putc(out, '\\', err);
		} else if (strchr("#+-=>", *s) && *s) {
			rc = gb_buf_putc(out, '\\', err);
		}
	}
	for (; !rc && *s; s++) {
		if (*s == '\r' && s[1] == '\n')
			continue;
		if (*s == '\n' || *s == '\r')
			rc = gb_buf_puts(out, "\\n", err);
		else if (strchr("\\`*_[]<>|~&!", *s))
			rc = gb_buf_printf(out, err, "\\%c", *s);
		else if (*s == '\t')
			rc = gb_buf_putc(out, ' ', err);
		else
			rc = gb_buf_putc(out, *s, err);
	}
	return rc;
}

/* One table row: "| a | b |". */
static int row(gb_buf *out, const char *const *cells, size_t n, gb_error *err)
{
	size_t i;
	int rc = gb_buf_puts(out, "|", err);

	for (i = 0; !rc && i < n; i++) {
		rc = gb_buf_putc(out, ' ', err);
		if (!rc)
			rc = esc(out, cells[i], 0, err);
		if (!rc)
			rc = gb_buf_puts(out, " |", err);
	}
	return rc ? rc : gb_buf_putc(out, '\n', err);
}

/* The delimiter row; numeric columns align right. */
static int rule(gb_buf *out, const gb_report_coltype *types, size_t n, gb_error *err)
{
	size_t i;
	int rc = gb_buf_puts(out, "|", err);

	for (i = 0; !rc && i < n; i++)
		rc = gb_buf_puts(out, types[i] == GB_COL_NUMBER ? " ---: |" : " --- |", err);
	return rc ? rc : gb_buf_putc(out, '\n', err);
}

static int caption(gb_buf *out, const char *title, const char *unit, gb_error *err)
{
	int rc;

	if (!title || !*title)
		return 0;
	rc = gb_buf_puts(out, "**", err);
	if (!rc)
		rc = esc(out, title, 0, err);
	if (!rc)
		rc = gb_buf_puts(out, "**", err);
	if (!rc && unit && *unit) {
		rc = gb_buf_puts(out, " (", err);
		if (!rc)
			rc = esc(out, unit, 0, err);
		if (!rc)
			rc = gb_buf_putc(out, ')', err);
	}
	return rc ? rc : gb_buf_puts(out, "\n\n", err);
}

/* A bar of block characters proportional to v / max. */
static void bar(double v, double max, char *dst, size_t n)
{
	size_t w = max > 0 ? (size_t)(v / max * BAR_WIDTH + 0.5) : 0, o = 0, i;

	if (v > 0 && w == 0)
		w = 1;
	for (i = 0; i < w && o + 4 < n; i++) {
		memcpy(dst + o, "\xe2\x96\x88", 3); /* U+2588 FULL BLOCK */
		o += 3;
	}
	dst[o] = '\0';
}

/* A stacked chart as a table: one column per series and a total. */
static int stacked(gb_buf *out, const gb_report_chart *c, gb_error *err)
{
	size_t i, j, ns = c->nseries, n = ns + 2;
	const char **cells = calloc(n, sizeof(*cells));
	gb_report_coltype *types = calloc(n, sizeof(*types));
	char(*nums)[32] = calloc(n, sizeof(*nums));
	double tot;
	int rc = 0;

	if (!cells || !types || !nums) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto done;
	}
	cells[0] = "";
	types[0] = GB_COL_TEXT;
	for (j = 0; j < ns; j++) {
		cells[j + 1] = c->series[j];
		types[j + 1] = GB_COL_NUMBER;
	}
	cells[ns + 1] = "total";
	types[ns + 1] = GB_COL_NUMBER;
	rc = row(out, cells, n, err);
	if (!rc)
		rc = rule(out, types, n, err);
	for (i = 0; !rc && i < c->n; i++) {
		cells[0] = c->items[i].label;
		tot = 0;
		for (j = 0; j < ns; j++) {
			gb_report_format_number(c->items[i].values[j], nums[j], sizeof(nums[j]));
			cells[j + 1] = nums[j];
			tot += c->items[i].values[j];
		}
		gb_report_format_number(tot, nums[ns], sizeof(nums[ns]));
		cells[ns + 1] = nums[ns];
		rc = row(out, cells, n, err);
	}
done:
	free(cells);
	free(types);
	free(nums);
	return rc;
}

static int chart(gb_buf *out, const gb_report_chart *c, double now, gb_error *err)
{
	static const gb_report_coltype bar_types[] = {GB_COL_TEXT, GB_COL_NUMBER, GB_COL_TEXT};
	static const gb_report_coltype tl_types[] = {GB_COL_TEXT, GB_COL_TEXT, GB_COL_TEXT, GB_COL_NUMBER, GB_COL_TEXT};
	const char *cells[5];
	char num[32], bars[BAR_WIDTH * 3 + 4];
	double max = 0;
	size_t i;
	int rc;

	rc = caption(out, c->title, c->unit, err);
	if (rc)
		return rc;
	if (c->n == 0)
		return gb_buf_puts(out, "(no data)\n\n", err);
	if (c->type == GB_CHART_BAR) {
		for (i = 0; i < c->n; i++)
			if (c->items[i].values[0] > max)
				max = c->items[i].values[0];
		cells[0] = "";
		cells[1] = c->unit && *c->unit ? c->unit : "value";
		cells[2] = "";
		rc = row(out, cells, 3, err);
		if (!rc)
			rc = rule(out, bar_types, 3, err);
		for (i = 0; !rc && i < c->n; i++) {
			gb_report_format_number(c->items[i].values[0], num, sizeof(num));
			bar(c->items[i].values[0], max, bars, sizeof(bars));
			cells[0] = c->items[i].label;
			cells[1] = num;
			cells[2] = bars;
			rc = row(out, cells, 3, err);
		}
	} else if (c->type == GB_CHART_STACKED) {
		rc = stacked(out, c, err);
	} else {
		cells[0] = "";
		cells[1] = "start";
		cells[2] = "end";
		cells[3] = "duration";
		cells[4] = "status";
		rc = row(out, cells, 5, err);
		if (!rc)
			rc = rule(out, tl_types, 5, err);
		for (i = 0; !rc && i < c->n; i++) {
			const gb_rchart_item *it = &c->items[i];
			gb_report_format_duration((it->t1 >= 0 ? it->t1 : now) - it->t0, num, sizeof(num));
			cells[0] = it->label;
			cells[1] = it->start;
			cells[2] = it->end ? it->end : "(running)";
			cells[3] = num;
			cells[4] = it->status;
			rc = row(out, cells, 5, err);
		}
	}
	return rc ? rc : gb_buf_putc(out, '\n', err);
}

int gb_report_render_md(const gb_report *r, gb_buf *out, gb_error *err)
{
	static const gb_report_coltype fig_types[] = {GB_COL_TEXT, GB_COL_TEXT};
	const char *cells[2];
	size_t i, j, k;
	int rc;

	rc = gb_buf_puts(out, "# ", err);
	if (!rc)
		rc = esc(out, r->title, 0, err);
	if (!rc)
		rc = gb_buf_puts(out, "\n\n", err);
	if (!rc)
		rc = gb_buf_puts(out, "Report: ", err);
	if (!rc)
		rc = esc(out, r->kind, 0, err);
	if (!rc)
		rc = gb_buf_puts(out, ", generated ", err);
	if (!rc)
		rc = esc(out, r->generated, 0, err);
	if (!rc)
		rc = gb_buf_puts(out, " by groupbridge\n\n", err);
	for (i = 0; !rc && i < r->nfacts; i++) {
		rc = gb_buf_puts(out, "- ", err);
		if (!rc)
			rc = esc(out, r->facts[i].label, 0, err);
		if (!rc)
			rc = gb_buf_puts(out, ": ", err);
		if (!rc)
			rc = esc(out, r->facts[i].value, 0, err);
		if (!rc)
			rc = gb_buf_putc(out, '\n', err);
	}
	if (!rc && r->nfacts)
		rc = gb_buf_putc(out, '\n', err);
	if (!rc && r->nfigures) {
		cells[0] = "Figure";
		cells[1] = "Value";
		rc = gb_buf_puts(out, "## Summary\n\n", err);
		if (!rc)
			rc = row(out, cells, 2, err);
		if (!rc)
			rc = rule(out, fig_types, 2, err);
		for (i = 0; !rc && i < r->nfigures; i++) {
			cells[0] = r->figures[i].label;
			cells[1] = r->figures[i].value;
			rc = row(out, cells, 2, err);
		}
		if (!rc)
			rc = gb_buf_putc(out, '\n', err);
	}
	for (i = 0; !rc && i < r->nsections; i++) {
		const gb_report_section *s = r->sections[i];
		rc = gb_buf_puts(out, "## ", err);
		if (!rc)
			rc = esc(out, s->title, 0, err);
		if (!rc)
			rc = gb_buf_puts(out, "\n\n", err);
		for (j = 0; !rc && j < s->n; j++) {
			const gb_rblock *b = &s->blocks[j];
			if (b->type == GB_BLOCK_TEXT) {
				rc = esc(out, b->text, 1, err);
				if (!rc)
					rc = gb_buf_puts(out, "\n\n", err);
			} else if (b->type == GB_BLOCK_CHART) {
				rc = chart(out, b->chart, r->generated_t, err);
			} else {
				const gb_report_table *t = b->table;
				rc = caption(out, t->title, NULL, err);
				if (!rc)
					rc = row(out, (const char *const *)t->colnames, t->ncols, err);
				if (!rc)
					rc = rule(out, t->types, t->ncols, err);
				for (k = 0; !rc && k < t->nrows; k++)
					rc = row(out, (const char *const *)t->rows[k], t->ncols, err);
				if (!rc && t->nrows == 0) {
					rc = gb_buf_puts(out, "\n(no rows)\n", err);
				}
				if (!rc)
					rc = gb_buf_putc(out, '\n', err);
			}
		}
	}
	return rc;
}
