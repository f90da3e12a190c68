/* model.c: building a report document (the writers are html.c, md.c, json.c, csv.c). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "groupbridge/log.h"
#include "groupbridge/utf8.h"
#include "groupbridge/util.h"

#include "report/internal.h"

const char *const gb_report_member_outcomes[GB_MEMBER_OUTCOME_COUNT] = {
    "included",
    "skipped: cloud-only",
    "skipped: other forest",
    "skipped: synced nested group",
};

static int nomem(gb_error *err)
{
	return gb_error_set(err, GB_ENOMEM, "out of memory");
}


char *gb_report_clean_text(const char *s)
{
	return s ? gb_utf8_clean(s, strlen(s), GB_UTF8_CONTROLS, NULL) : NULL;
}

/* The model's copy of a caller's string: redacted, then cleaned. NULL stays NULL; *ok is cleared on failure. */
static char *take(const char *s, int *ok)
{
	char *red, *clean;
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s) * 2 + 16;
	red = malloc(n);
	if (!red) {
		*ok = 0;
		return NULL;
	}
	gb_log_redact(s, red, n);
	clean = gb_report_clean_text(red);
	free(red);
	if (!clean)
		*ok = 0;
	return clean;
}

double gb_report_parse_time(const char *s)
{
	struct tm tm;
	int y, mo, d, h, mi, sec, used = 0;
	double frac = 0;
	time_t t;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 || used != 19)
		return -1;
	s += used;
	if (*s == '.') {
		double scale = 0.1;
		s++;
		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9') {
			frac += (*s - '0') * scale;
			scale /= 10;
			s++;
		}
	}
	if (strcmp(s, "Z") != 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	return (double)t + frac;
}

void gb_report_format_number(double v, char *dst, size_t n)
{
	size_t l;

	if (fabs(v - round(v)) < 1e-9 && fabs(v) < 1e15) {
		snprintf(dst, n, "%.0f", round(v));
		return;
	}
	snprintf(dst, n, "%.2f", v);
	l = strlen(dst);
	while (l > 0 && dst[l - 1] == '0')
		dst[--l] = '\0';
	if (l > 0 && dst[l - 1] == '.')
		dst[--l] = '\0';
}

char *gb_report_short_label(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0, bytes = 0;
	char *d;

	while (p[bytes] && chars < max) {
		bytes++;
		while ((p[bytes] & 0xc0) == 0x80)
			bytes++;
		chars++;
	}
	if (!p[bytes])
		return gb_strdup(s);
	/* cut one character earlier to make room for the ellipsis */
	while (bytes > 0) {
		bytes--;
		if ((p[bytes] & 0xc0) != 0x80)
			break;
	}
	d = malloc(bytes + 4);
	if (!d)
		return NULL;
	memcpy(d, s, bytes);
	memcpy(d + bytes, "\xe2\x80\xa6", 4);
	return d;
}

int gb_report_format_parse(const char *s, gb_report_format *out, gb_error *err)
{
	if (s && strcmp(s, "html") == 0)
		*out = GB_REPORT_HTML;
	else if (s && (strcmp(s, "md") == 0 || strcmp(s, "markdown") == 0))
		*out = GB_REPORT_MD;
	else if (s && strcmp(s, "json") == 0)
		*out = GB_REPORT_JSON;
	else if (s && strcmp(s, "csv") == 0)
		*out = GB_REPORT_CSV;
	else
		return gb_error_set(err, GB_EINVAL, "unknown report format \"%s\" (html, md, json or csv)", s ? s : "");
	return 0;
}

int gb_report_format_from_path(const char *path, gb_report_format *out, gb_error *err)
{
	const char *dot = path ? strrchr(path, '.') : NULL;

	if (dot && !strchr(dot, '/')) {
		if (gb_str_iequal(dot, ".html") || gb_str_iequal(dot, ".htm"))
			return (*out = GB_REPORT_HTML), 0;
		if (gb_str_iequal(dot, ".md") || gb_str_iequal(dot, ".markdown"))
			return (*out = GB_REPORT_MD), 0;
		if (gb_str_iequal(dot, ".json"))
			return (*out = GB_REPORT_JSON), 0;
		if (gb_str_iequal(dot, ".csv"))
			return (*out = GB_REPORT_CSV), 0;
	}
	return gb_error_set(err, GB_EINVAL, "cannot tell the report format from the name %s; give --format",
	                    path ? path : "(none)");
}

const char *gb_report_format_name(gb_report_format f)
{
	switch (f) {
	case GB_REPORT_HTML: return "html";
	case GB_REPORT_MD: return "md";
	case GB_REPORT_JSON: return "json";
	case GB_REPORT_CSV: return "csv";
	}
	return "unknown";
}

int gb_report_new(const char *kind, const char *title, const char *generated, gb_report **out, gb_error *err)
{
	gb_report *r;
	char now[32];
	int ok = 1;

	*out = NULL;
	if (!kind || !*kind || !title || !*title)
		return gb_error_set(err, GB_EINVAL, "a report needs a kind and a title");
	if (!generated) {
		gb_time_iso8601(now, sizeof(now));
		generated = now;
	}
	if (gb_report_parse_time(generated) < 0)
		return gb_error_set(err, GB_EINVAL, "report generation time \"%.40s\" is not UTC ISO 8601", generated);
	r = calloc(1, sizeof(*r));
	if (!r)
		return nomem(err);
	r->kind = take(kind, &ok);
	r->title = take(title, &ok);
	r->generated = take(generated, &ok);
	r->generated_t = gb_report_parse_time(generated);
	if (!ok) {
		gb_report_free(r);
		return nomem(err);
	}
	*out = r;
	return 0;
}

/* Frees the n strings of v and v itself. */
static void strs_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void pairs_free(gb_rpair *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].label);
		free(v[i].value);
	}
	free(v);
}

static void table_free(gb_report_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nrows; i++)
		strs_free(t->rows[i], t->ncols);
	free(t->rows);
	strs_free(t->colnames, t->ncols);
	free(t->types);
	free(t->title);
	free(t);
}

static void chart_free(gb_report_chart *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++) {
		free(c->items[i].label);
		free(c->items[i].values);
		free(c->items[i].start);
		free(c->items[i].end);
		free(c->items[i].status);
	}
	strs_free(c->series, c->nseries);
	free(c->items);
	free(c->title);
	free(c->unit);
	free(c);
}

static void section_free(gb_report_section *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->blocks[i].text);
		table_free(s->blocks[i].table);
		chart_free(s->blocks[i].chart);
	}
	free(s->blocks);
	free(s->title);
	free(s);
}

void gb_report_free(gb_report *r)
{
	size_t i;

	if (!r)
		return;
	pairs_free(r->facts, r->nfacts);
	pairs_free(r->figures, r->nfigures);
	for (i = 0; i < r->nsections; i++)
		section_free(r->sections[i]);
	free(r->sections);
	free(r->kind);
	free(r->title);
	free(r->generated);
	free(r);
}

int gb_report_hand_over(gb_report *r, int rc, gb_report **out)
{
	if (rc) {
		gb_report_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int gb_report_add_block_section(gb_report *r, const char *title, gb_report_chart_type type, const char *chart_title,
				const char *unit, gb_report_chart **chart, const char *text, const char *table_title,
				const gb_report_column *cols, size_t ncols, gb_report_table **table,
				gb_report_section **out, gb_error *err)
{
	gb_report_section *sec;
	int rc = gb_report_add_section(r, title, &sec, err);

	if (!rc && out)
		*out = sec;

	if (!rc && chart)
		rc = gb_report_section_add_chart(sec, type, chart_title, unit, NULL, 0, chart, err);
	if (!rc && text)
		rc = gb_report_section_add_text(sec, text, err);
	if (!rc && table)
		rc = gb_report_section_add_table(sec, table_title, cols, ncols, table, err);
	return rc;
}

static int add_pair(gb_rpair **arr, size_t *n, size_t *cap, const char *label, const char *value, gb_error *err)
{
	gb_rpair p;
	int ok = 1;

	if (!label || !*label)
		return gb_error_set(err, GB_EINVAL, "a report figure or fact needs a label");
	if (gb_grow(arr, *n, cap, sizeof(**arr), 8))
		return nomem(err);
	p.label = take(label, &ok);
	p.value = take(value ? value : "", &ok);
	if (!ok) {
		free(p.label);
		free(p.value);
		return nomem(err);
	}
	(*arr)[(*n)++] = p;
	return 0;
}

int gb_report_add_fact(gb_report *r, const char *label, const char *value, gb_error *err)
{
	return add_pair(&r->facts, &r->nfacts, &r->capfacts, label, value, err);
}

int gb_report_add_figure(gb_report *r, const char *label, const char *value, gb_error *err)
{
	return add_pair(&r->figures, &r->nfigures, &r->capfigures, label, value, err);
}

int gb_report_add_figure_int(gb_report *r, const char *label, long long value, gb_error *err)
{
	char v[32];

	snprintf(v, sizeof(v), "%lld", value);
	return gb_report_add_figure(r, label, v, err);
}

int gb_report_add_section(gb_report *r, const char *title, gb_report_section **out, gb_error *err)
{
	gb_report_section *s;
	int ok = 1;

	*out = NULL;
	if (!title || !*title)
		return gb_error_set(err, GB_EINVAL, "a report section needs a title");
	if (gb_grow(&r->sections, r->nsections, &r->capsections, sizeof(*r->sections), 8))
		return nomem(err);
	s = calloc(1, sizeof(*s));
	if (!s)
		return nomem(err);
	s->title = take(title, &ok);
	if (!ok) {
		free(s);
		return nomem(err);
	}
	r->sections[r->nsections++] = s;
	*out = s;
	return 0;
}

static gb_rblock *add_block(gb_report_section *s, gb_rblock_type type)
{
	gb_rblock *b;

	if (gb_grow(&s->blocks, s->n, &s->cap, sizeof(*s->blocks), 8))
		return NULL;
	b = &s->blocks[s->n];
	memset(b, 0, sizeof(*b));
	b->type = type;
	return b;
}

int gb_report_section_add_text(gb_report_section *s, const char *text, gb_error *err)
{
	gb_rblock *b;
	char *t;
	int ok = 1;

	if (!text)
		return gb_error_set(err, GB_EINVAL, "a report paragraph needs text");
	t = take(text, &ok);
	if (!ok)
		return nomem(err);
	b = add_block(s, GB_BLOCK_TEXT);
	if (!b) {
		free(t);
		return nomem(err);
	}
	b->text = t;
	s->n++;
	return 0;
}

int gb_report_section_add_table(gb_report_section *s, const char *title, const gb_report_column *cols, size_t ncols,
                                gb_report_table **out, gb_error *err)
{
	gb_report_table *t;
	gb_rblock *b;
	size_t i;
	int ok = 1;

	*out = NULL;
	if (ncols == 0 || !cols)
		return gb_error_set(err, GB_EINVAL, "report table \"%s\" needs at least one column",
		                    title ? title : "");
	for (i = 0; i < ncols; i++)
		if (!cols[i].name || !*cols[i].name)
			return gb_error_set(err, GB_EINVAL, "column %zu of report table \"%s\" has no name", i + 1,
			                    title ? title : "");
	t = calloc(1, sizeof(*t));
	if (!t)
		return nomem(err);
	t->title = take(title ? title : "", &ok);
	t->colnames = calloc(ncols, sizeof(*t->colnames));
	t->types = calloc(ncols, sizeof(*t->types));
	t->ncols = ncols;
	if (!t->colnames || !t->types)
		ok = 0;
	for (i = 0; ok && i < ncols; i++) {
		t->colnames[i] = take(cols[i].name, &ok);
		t->types[i] = cols[i].type;
	}
	if (!ok) {
		if (!t->colnames)
			t->ncols = 0;
		table_free(t);
		return nomem(err);
	}
	b = add_block(s, GB_BLOCK_TABLE);
	if (!b) {
		table_free(t);
		return nomem(err);
	}
	b->table = t;
	s->n++;
	*out = t;
	return 0;
}

int gb_report_table_add_row(gb_report_table *t, const char *const *cells, size_t ncols, gb_error *err)
{
	char **row;
	size_t i;
	int ok = 1;

	if (ncols != t->ncols)
		return gb_error_set(err, GB_EINVAL, "a row of %zu cells for report table \"%s\" of %zu columns", ncols,
		                    t->title, t->ncols);
	if (gb_grow(&t->rows, t->nrows, &t->caprows, sizeof(*t->rows), 8))
		return nomem(err);
	row = calloc(ncols, sizeof(*row));
	if (!row)
		return nomem(err);
	for (i = 0; i < ncols; i++)
		row[i] = cells ? take(cells[i], &ok) : NULL;
	if (!ok) {
		for (i = 0; i < ncols; i++)
			free(row[i]);
		free(row);
		return nomem(err);
	}
	t->rows[t->nrows++] = row;
	return 0;
}

size_t gb_report_table_rows(const gb_report_table *t)
{
	return t ? t->nrows : 0;
}

static int cmp_cells(const char *a, const char *b, gb_report_coltype type)
{
	int ea = !a || !*a, eb = !b || !*b;

	if (ea || eb)
		return ea - eb; /* empty cells last */
	if (type == GB_COL_NUMBER) {
		char *xa, *xb;
		double da = strtod(a, &xa), db = strtod(b, &xb);
		int na = xa != a, nb = xb != b;
		if (na && nb)
			return da < db ? -1 : da > db ? 1 : 0;
		if (na != nb)
			return nb - na; /* numbers before text */
	}
	return strcmp(a, b);
}

int gb_report_table_sort(gb_report_table *t, size_t col, bool descending, gb_error *err)
{
	size_t i, j;

	if (col >= t->ncols)
		return gb_error_set(err, GB_EINVAL, "sorting report table \"%s\" by column %zu of %zu", t->title,
		                    col + 1, t->ncols);
	/* insertion sort: stable, and tables are small enough */
	for (i = 1; i < t->nrows; i++) {
		char **row = t->rows[i];
		for (j = i; j > 0; j--) {
			int c = cmp_cells(t->rows[j - 1][col], row[col], t->types[col]);
			int ea = !t->rows[j - 1][col] || !*t->rows[j - 1][col], eb = !row[col] || !*row[col];
			if (descending && !(ea || eb))
				c = -c;
			if (c <= 0)
				break;
			t->rows[j] = t->rows[j - 1];
		}
		t->rows[j] = row;
	}
	return 0;
}

int gb_report_section_add_chart(gb_report_section *s, gb_report_chart_type type, const char *title, const char *unit,
                                const char *const *series, size_t nseries, gb_report_chart **out, gb_error *err)
{
	gb_report_chart *c;
	gb_rblock *b;
	size_t i;
	int ok = 1;

	*out = NULL;
	if (!title || !*title)
		return gb_error_set(err, GB_EINVAL, "a report chart needs a title");
	if ((type == GB_CHART_STACKED) != (nseries > 0) || (nseries > 0 && !series))
		return gb_error_set(err, GB_EINVAL, "report chart \"%s\": a stacked chart takes series, others none",
		                    title);
	c = calloc(1, sizeof(*c));
	if (!c)
		return nomem(err);
	c->type = type;
	c->title = take(title, &ok);
	c->unit = take(unit ? unit : "", &ok);
	if (nseries) {
		c->series = calloc(nseries, sizeof(*c->series));
		if (!c->series)
			ok = 0;
		else
			c->nseries = nseries;
		for (i = 0; ok && i < nseries; i++) {
			if (!series[i] || !*series[i]) {
				chart_free(c);
				return gb_error_set(err, GB_EINVAL, "report chart \"%s\": series %zu has no name",
				                    title, i + 1);
			}
			c->series[i] = take(series[i], &ok);
		}
	}
	if (!ok) {
		chart_free(c);
		return nomem(err);
	}
	b = add_block(s, GB_BLOCK_CHART);
	if (!b) {
		chart_free(c);
		return nomem(err);
	}
	b->chart = c;
	s->n++;
	*out = c;
	return 0;
}

int gb_report_add_member_outcomes(gb_report_section *s, const char *title, gb_report_chart **out, gb_error *err)
{
	return gb_report_section_add_chart(s, GB_CHART_STACKED, title, "members", gb_report_member_outcomes,
	                                   GB_MEMBER_OUTCOME_COUNT, out, err);
}

static int check_value(const gb_report_chart *c, double v, gb_error *err)
{
	if (!isfinite(v) || v < 0)
		return gb_error_set(err, GB_EINVAL, "report chart \"%s\": value %g is not a finite count >= 0",
		                    c->title, v);
	return 0;
}

static gb_rchart_item *add_item(gb_report_chart *c, const char *label, gb_error *err)
{
	gb_rchart_item *it;
	int ok = 1;

	if (!label) {
		gb_error_set(err, GB_EINVAL, "report chart \"%s\": an item without a label", c->title);
		return NULL;
	}
	if (gb_grow(&c->items, c->n, &c->cap, sizeof(*c->items), 8)) {
		nomem(err);
		return NULL;
	}
	it = &c->items[c->n];
	memset(it, 0, sizeof(*it));
	it->label = take(label, &ok);
	if (!ok) {
		nomem(err);
		return NULL;
	}
	return it;
}

int gb_report_chart_add_bar(gb_report_chart *c, const char *label, double value, gb_error *err)
{
	gb_rchart_item *it;
	int rc;

	if (c->type != GB_CHART_BAR)
		return gb_error_set(err, GB_EINVAL, "report chart \"%s\" is not a bar chart", c->title);
	rc = check_value(c, value, err);
	if (rc)
		return rc;
	it = add_item(c, label, err);
	if (!it)
		return err ? err->code : GB_ERROR;
	it->values = malloc(sizeof(double));
	if (!it->values) {
		free(it->label);
		return nomem(err);
	}
	it->values[0] = value;
	c->n++;
	return 0;
}

int gb_report_chart_add_stack(gb_report_chart *c, const char *label, const double *values, size_t nvalues,
                              gb_error *err)
{
	gb_rchart_item *it;
	size_t i;
	int rc;

	if (c->type != GB_CHART_STACKED)
		return gb_error_set(err, GB_EINVAL, "report chart \"%s\" is not a stacked chart", c->title);
	if (nvalues != c->nseries || !values)
		return gb_error_set(err, GB_EINVAL, "report chart \"%s\": %zu values for %zu series", c->title, nvalues,
		                    c->nseries);
	for (i = 0; i < nvalues; i++) {
		rc = check_value(c, values[i], err);
		if (rc)
			return rc;
	}
	it = add_item(c, label, err);
	if (!it)
		return err ? err->code : GB_ERROR;
	it->values = malloc(nvalues * sizeof(double));
	if (!it->values) {
		free(it->label);
		return nomem(err);
	}
	memcpy(it->values, values, nvalues * sizeof(double));
	c->n++;
	return 0;
}

int gb_report_chart_add_span(gb_report_chart *c, const char *label, const char *start, const char *end,
                             const char *status, gb_error *err)
{
	gb_rchart_item *it;
	double t0, t1 = -1;
	int ok = 1;

	if (c->type != GB_CHART_TIMELINE)
		return gb_error_set(err, GB_EINVAL, "report chart \"%s\" is not a timeline", c->title);
	t0 = gb_report_parse_time(start);
	if (t0 < 0)
		return gb_error_set(err, GB_EINVAL, "report timeline \"%s\": start \"%.40s\" is not UTC ISO 8601",
		                    c->title, start ? start : "");
	if (end) {
		t1 = gb_report_parse_time(end);
		if (t1 < 0)
			return gb_error_set(err, GB_EINVAL, "report timeline \"%s\": end \"%.40s\" is not UTC ISO 8601",
			                    c->title, end);
		if (t1 < t0)
			return gb_error_set(err, GB_EINVAL, "report timeline \"%s\": %s ends before it starts",
			                    c->title, label ? label : "");
	}
	it = add_item(c, label, err);
	if (!it)
		return err ? err->code : GB_ERROR;
	it->start = take(start, &ok);
	it->end = take(end, &ok);
	it->status = take(status ? status : "", &ok);
	if (!ok) {
		free(it->label);
		free(it->start);
		free(it->end);
		free(it->status);
		return nomem(err);
	}
	it->t0 = t0;
	it->t1 = t1;
	c->n++;
	return 0;
}

void gb_report_format_duration(double secs, char *dst, size_t n)
{
	long s = (long)(secs + 0.5);

	if (secs < 1)
		snprintf(dst, n, "%ld ms", (long)(secs * 1000 + 0.5));
	else if (s < 60)
		snprintf(dst, n, "%ld s", s);
	else if (s < 3600)
		snprintf(dst, n, "%ld min %ld s", s / 60, s % 60);
	else
		snprintf(dst, n, "%ld h %ld min", s / 3600, (s % 3600) / 60);
}
