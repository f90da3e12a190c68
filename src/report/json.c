/* json.c: the JSON writer (schema in report.h), with jansson. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "report/internal.h"

/* Builders that tolerate a NULL child (out of memory), so that one check at the end catches every failure. */
static void set(json_t *o, const char *k, json_t *v, int *ok)
{
	if (!o || !v || json_object_set_new(o, k, v) != 0) {
		json_decref(v);
		*ok = 0;
	}
}

static void push(json_t *a, json_t *v, int *ok)
{
	if (!a || !v || json_array_append_new(a, v) != 0) {
		json_decref(v);
		*ok = 0;
	}
}

static json_t *str(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *num(double v)
{
	if (fabs(v - round(v)) < 1e-9 && fabs(v) < 9e15)
		return json_integer((json_int_t)round(v));
	return json_real(v);
}

static json_t *pairs(const gb_rpair *p, size_t n, int *ok)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *o = json_object();
		set(o, "label", str(p[i].label), ok);
		set(o, "value", str(p[i].value), ok);
		push(a, o, ok);
	}
	return a;
}

static json_t *table(const gb_report_table *t, int *ok)
{
	json_t *o = json_object(), *cols = json_array(), *rows = json_array();
	size_t i, j;

	set(o, "type", json_string("table"), ok);
	set(o, "title", str(t->title), ok);
	for (j = 0; j < t->ncols; j++) {
		json_t *c = json_object();
		set(c, "name", str(t->colnames[j]), ok);
		set(c, "type",
		    json_string(t->types[j] == GB_COL_NUMBER ? "number"
		                : t->types[j] == GB_COL_TIME ? "time"
		                                             : "text"),
		    ok);
		push(cols, c, ok);
	}
	for (i = 0; i < t->nrows; i++) {
		json_t *row = json_array();
		for (j = 0; j < t->ncols; j++)
			push(row, str(t->rows[i][j]), ok);
		push(rows, row, ok);
	}
	set(o, "columns", cols, ok);
	set(o, "rows", rows, ok);
	return o;
}

static json_t *chart(const gb_report_chart *c, int *ok)
{
	static const char *const names[] = {"bar", "stacked", "timeline"};
	json_t *o = json_object(), *items = json_array();
	size_t i, j;

	set(o, "type", json_string("chart"), ok);
	set(o, "chart", json_string(names[c->type]), ok);
	set(o, "title", str(c->title), ok);
	if (c->type != GB_CHART_TIMELINE)
		set(o, "unit", str(c->unit), ok);
	if (c->type == GB_CHART_STACKED) {
		json_t *series = json_array();
		for (j = 0; j < c->nseries; j++)
			push(series, str(c->series[j]), ok);
		set(o, "series", series, ok);
	}
	for (i = 0; i < c->n; i++) {
		const gb_rchart_item *it = &c->items[i];
		json_t *io = json_object();
		set(io, "label", str(it->label), ok);
		if (c->type == GB_CHART_BAR) {
			set(io, "value", num(it->values[0]), ok);
		} else if (c->type == GB_CHART_STACKED) {
			json_t *vals = json_array();
			for (j = 0; j < c->nseries; j++)
				push(vals, num(it->values[j]), ok);
			set(io, "values", vals, ok);
		} else {
			set(io, "start", str(it->start), ok);
			set(io, "end", str(it->end), ok);
			set(io, "status", str(it->status), ok);
		}
		push(items, io, ok);
	}
	set(o, "items", items, ok);
	return o;
}

int gb_report_render_json(const gb_report *r, gb_buf *out, gb_error *err)
{
	json_t *root = json_object(), *sections = json_array();
	char *text = NULL;
	size_t i, j;
	int ok = 1, rc;

	set(root, "schema_version", json_integer(GB_REPORT_SCHEMA_VERSION), &ok);
	set(root, "kind", str(r->kind), &ok);
	set(root, "title", str(r->title), &ok);
	set(root, "generated", str(r->generated), &ok);
	set(root, "facts", pairs(r->facts, r->nfacts, &ok), &ok);
	set(root, "summary", pairs(r->figures, r->nfigures, &ok), &ok);
	for (i = 0; i < r->nsections; i++) {
		const gb_report_section *s = r->sections[i];
		json_t *so = json_object(), *blocks = json_array();
		set(so, "title", str(s->title), &ok);
		for (j = 0; j < s->n; j++) {
			const gb_rblock *b = &s->blocks[j];
			if (b->type == GB_BLOCK_TEXT) {
				json_t *t = json_object();
				set(t, "type", json_string("text"), &ok);
				set(t, "text", str(b->text), &ok);
				push(blocks, t, &ok);
			} else if (b->type == GB_BLOCK_TABLE) {
				push(blocks, table(b->table, &ok), &ok);
			} else {
				push(blocks, chart(b->chart, &ok), &ok);
			}
		}
		set(so, "blocks", blocks, &ok);
		push(sections, so, &ok);
	}
	set(root, "sections", sections, &ok);
	if (ok)
		text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(10) | JSON_ESCAPE_SLASH);
	json_decref(root);
	if (!ok || !text)
		return gb_error_set(err, GB_ENOMEM, "building the json report: out of memory");
	rc = gb_buf_puts(out, text, err);
	if (!rc)
		rc = gb_buf_putc(out, '\n', err);
	free(text);
	return rc;
}
