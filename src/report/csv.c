/* csv.c: the CSV writer (RFC 4180, CRLF line ends; layout in report.h). */
#include <stdlib.h>
#include <string.h>

#include "report/internal.h"

int gb_report_csv_cell(gb_buf *out, const char *s, gb_error *err)
{
	int quote, rc = 0;

	if (!s || !*s)
		return 0;
	quote = strpbrk(s, ",\"\r\n") != NULL;
	if (quote)
		rc = gb_buf_putc(out, '"', err);
	/* a spreadsheet runs a cell that starts with these as a formula (or strips the tab/CR and then runs it) */
	if (!rc && strchr("=+-@\t\r", s[0]))
		rc = gb_buf_putc(out, '\'', err);
	for (; !rc && *s; s++)
		rc = *s == '"' ? gb_buf_puts(out, "\"\"", err) : gb_buf_putc(out, *s, err);
	if (!rc && quote)
		rc = gb_buf_putc(out, '"', err);
	return rc;
}

int gb_report_csv_record(gb_buf *out, const char *const *cells, size_t n, gb_error *err)
{
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < n; i++) {
		if (i)
			rc = gb_buf_putc(out, ',', err);
		if (!rc)
			rc = gb_report_csv_cell(out, cells[i], err);
	}
	return rc ? rc : gb_buf_puts(out, "\r\n", err);
}

static int block_head(gb_buf *out, int *first, const char *section, const char *title, gb_error *err)
{
	const char *cells[2] = {section, title};
	int rc = 0;

	if (!*first)
		rc = gb_buf_puts(out, "\r\n", err);
	*first = 0;
	return rc ? rc : gb_report_csv_record(out, cells, title && *title ? 2 : 1, err);
}

static int stacked(gb_buf *out, const gb_report_chart *c, gb_error *err)
{
	size_t i, j, ncols = c->nseries + 1;
	const char **cells = calloc(ncols, sizeof(*cells));
	char(*nums)[32] = calloc(ncols, sizeof(*nums));
	int rc = 0;

	if (!cells || !nums) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto done;
	}
	cells[0] = "Label";
	for (j = 1; j < ncols; j++)
		cells[j] = c->series[j - 1];
	rc = gb_report_csv_record(out, cells, ncols, err);
	for (i = 0; !rc && i < c->n; i++) {
		cells[0] = c->items[i].label;
		for (j = 1; j < ncols; j++) {
			gb_report_format_number(c->items[i].values[j - 1], nums[j], sizeof(nums[j]));
			cells[j] = nums[j];
		}
		rc = gb_report_csv_record(out, cells, ncols, err);
	}
done:
	free(cells);
	free(nums);
	return rc;
}

static int chart(gb_buf *out, const char *section, const gb_report_chart *c, int *first, gb_error *err)
{
	const char *cells[4];
	char num[32];
	size_t i;
	int rc;

	rc = block_head(out, first, section, c->title, err);
	if (rc)
		return rc;
	switch (c->type) {
	case GB_CHART_BAR:
		cells[0] = "Label";
		cells[1] = c->unit && *c->unit ? c->unit : "Value";
		rc = gb_report_csv_record(out, cells, 2, err);
		for (i = 0; !rc && i < c->n; i++) {
			gb_report_format_number(c->items[i].values[0], num, sizeof(num));
			cells[0] = c->items[i].label;
			cells[1] = num;
			rc = gb_report_csv_record(out, cells, 2, err);
		}
		return rc;
	case GB_CHART_STACKED: return stacked(out, c, err);
	case GB_CHART_TIMELINE:
		cells[0] = "Label";
		cells[1] = "Start";
		cells[2] = "End";
		cells[3] = "Status";
		rc = gb_report_csv_record(out, cells, 4, err);
		for (i = 0; !rc && i < c->n; i++) {
			cells[0] = c->items[i].label;
			cells[1] = c->items[i].start;
			cells[2] = c->items[i].end;
			cells[3] = c->items[i].status;
			rc = gb_report_csv_record(out, cells, 4, err);
		}
		return rc;
	}
	return 0;
}

int gb_report_render_csv(const gb_report *r, gb_buf *out, gb_error *err)
{
	const char *cells[2];
	size_t i, j, k;
	int first = 1, rc = 0;

	if (r->nfigures)
		rc = block_head(out, &first, "Summary", r->title, err);
	cells[0] = "Figure";
	cells[1] = "Value";
	if (!rc && r->nfigures)
		rc = gb_report_csv_record(out, cells, 2, err);
	for (i = 0; !rc && i < r->nfigures; i++) {
		cells[0] = r->figures[i].label;
		cells[1] = r->figures[i].value;
		rc = gb_report_csv_record(out, cells, 2, err);
	}
	for (i = 0; !rc && i < r->nsections; i++) {
		const gb_report_section *s = r->sections[i];
		for (j = 0; !rc && j < s->n; j++) {
			const gb_rblock *b = &s->blocks[j];
			if (b->type == GB_BLOCK_CHART) {
				rc = chart(out, s->title, b->chart, &first, err);
			} else if (b->type == GB_BLOCK_TABLE) {
				const gb_report_table *t = b->table;
				rc = block_head(out, &first, s->title, t->title, err);
				if (!rc)
					rc = gb_report_csv_record(out, (const char *const *)t->colnames, t->ncols, err);
				for (k = 0; !rc && k < t->nrows; k++)
					rc = gb_report_csv_record(out, (const char *const *)t->rows[k], t->ncols, err);
			}
		}
	}
	return rc;
}
