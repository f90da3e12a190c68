/* Unit tests of the report model and writers: golden files for every format (a sample document and a run report
 * built from a known state database), hostile values coming out inert, CSV neutralisation, sorting, redaction.
 *
 * Golden files live in tests/data/golden/report/ (or $GB_GOLDEN_DIR). To regenerate them after an intended change:
 *   GB_UPDATE_GOLDEN=1 ./build/tests/unit/test_report
 * and review the diff. A mismatch writes the actual output beside the golden file as NAME.actual. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "groupbridge/audit.h"
#include "groupbridge/log.h"
#include "groupbridge/plan.h"
#include "groupbridge/report.h"
#include "groupbridge/store.h"
#include "groupbridge/util.h"
#include "support/testfs.h"

#define HOSTILE_SCRIPT "<script>alert(1)</script>"
#define HOSTILE_FORMULA "=HYPERLINK(\"http://x\")"
/* one group name with everything at once: a formula first, markup, quotes, commas and a newline */
#define HOSTILE_NAME HOSTILE_FORMULA " " HOSTILE_SCRIPT ", \"Sales, EMEA\"\nsecond line"

static const char *golden_dir(void)
{
	const char *d = getenv("GB_GOLDEN_DIR");

	return d && *d ? d : "tests/data/golden/report";
}

static void golden(const char *name, const gb_buf *got)
{
	char path[512], apath[560];
	gb_buf want;
	gb_error err;
	const char *upd = getenv("GB_UPDATE_GOLDEN");

	snprintf(path, sizeof(path), "%s/%s", golden_dir(), name);
	snprintf(apath, sizeof(apath), "%s.actual", path);
	if (upd && strcmp(upd, "1") == 0) {
		cr_assert_eq(gb_write_file_atomic(path, got->data, got->len, 0644, &err), 0, "%s", err.msg);
		return;
	}
	gb_buf_init(&want, GB_BUF_DEFAULT_MAX);
	cr_assert_eq(gb_read_file(path, &want, &err), 0, "%s (regenerate with GB_UPDATE_GOLDEN=1)", err.msg);
	if (want.len != got->len || memcmp(want.data, got->data, got->len) != 0) {
		gb_write_file_atomic(apath, got->data, got->len, 0644, &err);
		cr_assert(
		    0, "%s differs from its golden file; the actual output is in %s (GB_UPDATE_GOLDEN=1 regenerates)",
		    name, apath);
	}
	unlink(apath);
	gb_buf_free(&want);
}

/* A report that uses every part of the model, with hostile values in every kind of place. */
static gb_report *sample(void)
{
	static const gb_report_column cols[] = {
	    {"Group", GB_COL_TEXT}, {"Members", GB_COL_NUMBER}, {"Class", GB_COL_TEXT}};
	static const char *const series[] = {"created", "updated"};
	gb_report *r;
	gb_report_section *s;
	gb_report_table *t;
	gb_report_chart *c;
	gb_error err;
	const double mo1[] = {120, 3, 0, 2}, mo2[] = {40, 0, 7, 0}, mo3[] = {0, 0, 0, 1}, st1[] = {2, 5};

	cr_assert_eq(gb_report_new("assessment", "Assessment of contoso.example", "2026-11-24T08:30:00Z", &r, &err), 0,
	             "%s", err.msg);
	cr_assert_eq(gb_report_add_fact(r, "Connect Sync export", "/srv/export (2026-11-20)", &err), 0);
	cr_assert_eq(gb_report_add_fact(r, "Forest", HOSTILE_NAME, &err), 0);
	cr_assert_eq(gb_report_add_figure_int(r, "Groups in scope", 3, &err), 0);
	cr_assert_eq(gb_report_add_figure(r, "Members dropped", "13", &err), 0);
	cr_assert_eq(gb_report_add_figure(r, HOSTILE_SCRIPT, HOSTILE_FORMULA, &err), 0);

	cr_assert_eq(gb_report_add_section(r, "Groups", &s, &err), 0);
	cr_assert_eq(gb_report_section_add_text(s,
	                                        "Groups written back by Connect Sync, largest first.\n"
	                                        "# not a heading, - not a list, 1. not a list",
	                                        &err),
	             0);
	cr_assert_eq(gb_report_section_add_table(s, "Groups by size", cols, 3, &t, &err), 0);
	cr_assert_eq(gb_report_table_add_row(t, (const char *[]){"Sales | EMEA", "120", "security"}, 3, &err), 0);
	cr_assert_eq(gb_report_table_add_row(t, (const char *[]){HOSTILE_NAME, "9", "mail-enabled security"}, 3, &err),
	             0);
	cr_assert_eq(gb_report_table_add_row(t, (const char *[]){"+cmd|' /C calc'!A0", "40", NULL}, 3, &err), 0);
	cr_assert_eq(gb_report_table_add_row(t, (const char *[]){"@SUM(1+1)", "", "-2+3"}, 3, &err), 0);
	cr_assert_eq(
	    gb_report_table_add_row(t, (const char *[]){"[link](http://x) *bold* `code` &amp;", "1", "\tTab"}, 3, &err),
	    0);
	cr_assert_eq(gb_report_table_sort(t, 1, true, &err), 0);

	cr_assert_eq(gb_report_add_section(r, "Members", &s, &err), 0);
	cr_assert_eq(gb_report_add_member_outcomes(s, "Member outcomes per group", &c, &err), 0);
	cr_assert_eq(gb_report_chart_add_stack(c, "Sales | EMEA", mo1, 4, &err), 0);
	cr_assert_eq(gb_report_chart_add_stack(c, HOSTILE_NAME, mo2, 4, &err), 0);
	cr_assert_eq(gb_report_chart_add_stack(c, "Empty nesting group", mo3, 4, &err), 0);
	cr_assert_eq(gb_report_section_add_chart(s, GB_CHART_BAR, "Changes by kind", "changes", NULL, 0, &c, &err), 0);
	cr_assert_eq(gb_report_chart_add_bar(c, "member.add", 163, &err), 0);
	cr_assert_eq(gb_report_chart_add_bar(c, "group.create", 3, &err), 0);
	cr_assert_eq(gb_report_chart_add_bar(c, HOSTILE_SCRIPT, 0.5, &err), 0);
	cr_assert_eq(gb_report_section_add_chart(s, GB_CHART_STACKED, "Objects", NULL, series, 2, &c, &err), 0);
	cr_assert_eq(gb_report_chart_add_stack(c, "groups", st1, 2, &err), 0);

	cr_assert_eq(gb_report_add_section(r, "Migration steps", &s, &err), 0);
	cr_assert_eq(gb_report_section_add_chart(s, GB_CHART_TIMELINE, "Steps", NULL, NULL, 0, &c, &err), 0);
	cr_assert_eq(
	    gb_report_chart_add_span(c, "1 preflight", "2026-11-24T08:00:00Z", "2026-11-24T08:02:30Z", "done", &err),
	    0);
	cr_assert_eq(
	    gb_report_chart_add_span(c, "2 import", "2026-11-24T08:03:00.250Z", "2026-11-24T08:10:00Z", "failed", &err),
	    0);
	cr_assert_eq(gb_report_chart_add_span(c, HOSTILE_NAME, "2026-11-24T08:12:00Z", NULL, "running", &err), 0);
	cr_assert_eq(gb_report_add_section(r, "Empty things", &s, &err), 0);
	cr_assert_eq(gb_report_section_add_text(s, "- not a list item", &err), 0);
	cr_assert_eq(gb_report_section_add_text(s, "2) not a list either", &err), 0);
	cr_assert_eq(gb_report_section_add_table(s, "Blockers", cols, 1, &t, &err), 0);
	cr_assert_eq(gb_report_section_add_chart(s, GB_CHART_BAR, "Nothing", NULL, NULL, 0, &c, &err), 0);
	return r;
}

static void render(const gb_report *r, gb_report_format f, gb_buf *out)
{
	gb_error err;

	gb_buf_init(out, GB_BUF_DEFAULT_MAX);
	cr_assert_eq(gb_report_render(r, f, out, &err), 0, "%s", err.msg);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (hay = strstr(hay, needle); hay; hay = strstr(hay + 1, needle))
		n++;
	return n;
}

/* The sample document in format f equals its golden file name. */
static void sample_golden(gb_report_format f, const char *name)
{
	gb_report *r = sample();
	gb_buf b;

	render(r, f, &b);
	golden(name, &b);
	gb_buf_free(&b);
	gb_report_free(r);
}

Test(report, sample_golden_html)
{
	sample_golden(GB_REPORT_HTML, "sample.html");
}

Test(report, sample_golden_md)
{
	sample_golden(GB_REPORT_MD, "sample.md");
}

Test(report, sample_golden_json)
{
	sample_golden(GB_REPORT_JSON, "sample.json");
}

Test(report, sample_golden_csv)
{
	sample_golden(GB_REPORT_CSV, "sample.csv");
}

Test(report, hostile_name_is_text_in_html)
{
	gb_report *r = sample();
	gb_buf b;

	render(r, GB_REPORT_HTML, &b);
	cr_assert_null(strstr(b.data, HOSTILE_SCRIPT), "raw markup in the page");
	cr_assert_eq(count(b.data, "<script"), 1, "only the page's own sorting script");
	cr_assert(count(b.data, "&lt;script&gt;alert(1)&lt;/script&gt;") >= 6,
	          "the name is escaped wherever it appears");
	cr_assert(strstr(b.data, "=HYPERLINK(&quot;http://x&quot;)") || strstr(b.data, "=HYPERLINK(\"http://x\")"));
	cr_assert_null(strstr(b.data, "href="), "no links");
	cr_assert_null(strstr(b.data, "src="), "no external resources");
	cr_assert(strncmp(b.data, "<!DOCTYPE html>", 15) == 0, "%.40s", b.data);
	cr_assert(strstr(b.data, "<svg"), "inline svg charts");
	cr_assert(strstr(b.data, "@media print"), "a print stylesheet");
	gb_buf_free(&b);
	gb_report_free(r);
}

/* Splits RFC 4180 text into fields, calling back per field with its record and column numbers. */
static void csv_fields(const char *s, void (*cb)(const char *field, size_t rec, size_t col, void *), void *arg)
{
	char field[4096];
	size_t n = 0, rec = 0, col = 0;
	int quoted = 0;

	while (*s) {
		if (quoted) {
			if (*s == '"' && s[1] == '"') {
				field[n++] = '"';
				s += 2;
			} else if (*s == '"') {
				quoted = 0;
				s++;
			} else {
				field[n++] = *s++;
			}
			continue;
		}
		if (*s == '"' && n == 0) {
			quoted = 1;
			s++;
		} else if (*s == ',') {
			field[n] = '\0';
			cb(field, rec, col++, arg);
			n = 0;
			s++;
		} else if (*s == '\r' && s[1] == '\n') {
			field[n] = '\0';
			cb(field, rec++, col, arg);
			col = 0;
			n = 0;
			s += 2;
		} else {
			cr_assert(*s != '"' && *s != '\n' && *s != '\r', "bare quote or line break outside quotes");
			field[n++] = *s++;
		}
		cr_assert(n < sizeof(field) - 1);
	}
	cr_assert_eq(quoted, 0, "unterminated quoted field");
	cr_assert_eq(n, 0, "last record without CRLF");
}

static void no_formula(const char *field, size_t rec, size_t col, void *arg)
{
	int *found = arg;

	(void)rec;
	(void)col;
	cr_assert(!*field || !strchr("=+-@\t\r", field[0]), "field %zu:%zu starts with a formula character: %s", rec,
	          col, field);
	if (strcmp(field, "'" HOSTILE_NAME) == 0)
		(*found)++;
}

Test(report, hostile_name_is_inert_in_csv)
{
	gb_report *r = sample();
	gb_buf b;
	int found = 0;

	render(r, GB_REPORT_CSV, &b);
	csv_fields(b.data, no_formula, &found);
	cr_assert(found >= 3, "the whole name, neutralised, round-trips as one field (%d)", found);
	gb_buf_free(&b);
	gb_report_free(r);
}

Test(report, hostile_name_is_inert_in_markdown)
{
	gb_report *r = sample();
	gb_buf b;
	const char *line;

	render(r, GB_REPORT_MD, &b);
	for (line = b.data; (line = strchr(line, '<')) != NULL; line++)
		cr_assert(line > b.data && line[-1] == '\\', "an unescaped < in markdown: %.40s", line);
	cr_assert(strstr(b.data, "\\<script\\>alert(1)\\</script\\>"));
	cr_assert(strstr(b.data, "Sales \\| EMEA"), "a pipe never ends a cell");
	cr_assert(strstr(b.data, "EMEA\"\\nsecond line"), "a newline never ends a row");
	cr_assert(strstr(b.data, "\\[link\\](http://x) \\*bold\\* \\`code\\` \\&amp;"));
	cr_assert(strstr(b.data, "largest first.\\n# not a heading"), "a newline in a paragraph starts no block");
	cr_assert(strstr(b.data, "\n\\- not a list item\n"), "a paragraph never starts a list");
	cr_assert(strstr(b.data, "\n2\\) not a list either\n"), "a paragraph never starts an ordered list");
	/* every table line has the same number of unescaped pipes as its header */
	for (line = b.data; (line = strstr(line, "\n| Group |")) != NULL; line++) {
		const char *p = line + 1, *end;
		int pipes, first = -1;
		while (*p == '|') {
			end = strchr(p, '\n');
			pipes = 0;
			for (const char *q = p; q < end; q++)
				if (*q == '|' && q[-1] != '\\')
					pipes++;
			if (first < 0)
				first = pipes;
			cr_assert_eq(pipes, first, "row %.60s", p);
			p = end + 1;
		}
	}
	gb_buf_free(&b);
	gb_report_free(r);
}

Test(report, hostile_name_round_trips_in_json)
{
	gb_report *r = sample();
	json_error_t je;
	json_t *root, *rows;
	gb_buf b;

	render(r, GB_REPORT_JSON, &b);
	root = json_loads(b.data, 0, &je);
	cr_assert_not_null(root, "%s", je.text);
	cr_assert_eq(json_integer_value(json_object_get(root, "schema_version")), GB_REPORT_SCHEMA_VERSION);
	cr_assert_str_eq(json_string_value(json_object_get(root, "kind")), "assessment");
	rows = json_object_get(
	    json_array_get(json_object_get(json_array_get(json_object_get(root, "sections"), 0), "blocks"), 1), "rows");
	cr_assert_str_eq(json_string_value(json_array_get(json_array_get(rows, 2), 0)), HOSTILE_NAME);
	json_decref(root);
	gb_buf_free(&b);
	gb_report_free(r);
}

Test(report, csv_cells_are_quoted_and_neutralised)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"plain", "plain"},
	    {"a,b", "\"a,b\""},
	    {"say \"hi\"", "\"say \"\"hi\"\"\""},
	    {"two\nlines", "\"two\nlines\""},
	    {"=1+1", "'=1+1"},
	    {"+1", "'+1"},
	    {"-1", "'-1"},
	    {"@SUM(A1)", "'@SUM(A1)"},
	    {"\t=1", "'\t=1"},
	    {"\r=1", "\"'\r=1\""},
	    {"=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\""},
	    {"a=b", "a=b"},
	    {"", ""},
	};
	gb_error err;
	gb_buf b;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
		cr_assert_eq(gb_report_csv_cell(&b, cases[i].in, &err), 0);
		cr_assert_str_eq(gb_buf_cstr(&b), cases[i].out, "case %zu", i);
		gb_buf_free(&b);
	}
	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	cr_assert_eq(gb_report_csv_cell(&b, NULL, &err), 0);
	cr_assert_eq(b.len, 0);
}

Test(report, tables_sort_numbers_numerically_with_empty_cells_last)
{
	static const gb_report_column cols[] = {{"Name", GB_COL_TEXT}, {"N", GB_COL_NUMBER}};
	gb_report *r;
	gb_report_section *s;
	gb_report_table *t;
	gb_error err;
	gb_buf b;

	cr_assert_eq(gb_report_new("run", "t", "2026-01-01T00:00:00Z", &r, &err), 0);
	cr_assert_eq(gb_report_add_section(r, "s", &s, &err), 0);
	cr_assert_eq(gb_report_section_add_table(s, "", cols, 2, &t, &err), 0);
	cr_assert_eq(gb_report_table_add_row(t, (const char *[]){"b", "10"}, 2, &err), 0);
	cr_assert_eq(gb_report_table_add_row(t, (const char *[]){"a", "9"}, 2, &err), 0);
	cr_assert_eq(gb_report_table_add_row(t, (const char *[]){"c", NULL}, 2, &err), 0);
	cr_assert_eq(gb_report_table_add_row(t, (const char *[]){"d", "100"}, 2, &err), 0);
	cr_assert_eq(gb_report_table_add_row(t, (const char *[]){"x"}, 1, &err), GB_EINVAL);
	cr_assert_eq(gb_report_table_rows(t), 4);
	cr_assert_eq(gb_report_table_sort(t, 1, false, &err), 0);
	render(r, GB_REPORT_CSV, &b);
	cr_assert(strstr(b.data, "a,9\r\nb,10\r\nd,100\r\nc,\r\n"), "%s", b.data);
	gb_buf_free(&b);
	cr_assert_eq(gb_report_table_sort(t, 1, true, &err), 0);
	render(r, GB_REPORT_CSV, &b);
	cr_assert(strstr(b.data, "d,100\r\nb,10\r\na,9\r\nc,\r\n"), "%s", b.data);
	gb_buf_free(&b);
	cr_assert_eq(gb_report_table_sort(t, 0, true, &err), 0);
	render(r, GB_REPORT_CSV, &b);
	cr_assert(strstr(b.data, "d,100\r\nc,\r\nb,10\r\na,9\r\n"), "%s", b.data);
	gb_buf_free(&b);
	cr_assert_eq(gb_report_table_sort(t, 2, false, &err), GB_EINVAL);
	gb_report_free(r);
}

Test(report, bad_input_is_refused)
{
	gb_report *r;
	gb_report_section *s;
	gb_report_chart *c;
	gb_report_table *t;
	gb_error err;
	const double v[] = {1, 2};

	cr_assert_eq(gb_report_new("run", "", NULL, &r, &err), GB_EINVAL);
	cr_assert_null(r);
	cr_assert_eq(gb_report_new("run", "t", "yesterday", &r, &err), GB_EINVAL);
	cr_assert_eq(gb_report_new("run", "t", NULL, &r, &err), 0);
	cr_assert_eq(gb_report_add_section(r, "s", &s, &err), 0);
	cr_assert_eq(gb_report_section_add_table(s, "t", NULL, 0, &t, &err), GB_EINVAL);
	cr_assert_eq(gb_report_section_add_chart(s, GB_CHART_BAR, "b", NULL, NULL, 0, &c, &err), 0);
	cr_assert_eq(gb_report_chart_add_bar(c, "x", -1, &err), GB_EINVAL);
	cr_assert_eq(gb_report_chart_add_bar(c, "x", 0.0 / 0.0, &err), GB_EINVAL);
	cr_assert_eq(gb_report_chart_add_stack(c, "x", v, 2, &err), GB_EINVAL);
	cr_assert_eq(gb_report_section_add_chart(s, GB_CHART_STACKED, "s", NULL, NULL, 0, &c, &err), GB_EINVAL);
	cr_assert_eq(gb_report_section_add_chart(s, GB_CHART_TIMELINE, "t", NULL, NULL, 0, &c, &err), 0);
	cr_assert_eq(gb_report_chart_add_span(c, "x", "2026-01-01T10:00:00Z", "2026-01-01T09:00:00Z", "done", &err),
	             GB_EINVAL);
	cr_assert_eq(gb_report_chart_add_span(c, "x", "10:00", NULL, "done", &err), GB_EINVAL);
	gb_report_free(r);
	gb_report_free(NULL);
}

Test(report, secrets_and_bad_bytes_never_reach_the_output)
{
	gb_report *r;
	gb_error err;
	gb_buf b;

	cr_assert_eq(gb_log_add_secret("S3cret-Token-Value"), 0);
	cr_assert_eq(gb_report_new("run", "t", "2026-01-01T00:00:00Z", &r, &err), 0);
	cr_assert_eq(gb_report_add_figure(r, "token", "Bearer S3cret-Token-Value", &err), 0);
	cr_assert_eq(gb_report_add_figure(r, "bytes", "a\xff\x01z\xe2\x82", &err), 0);
	render(r, GB_REPORT_JSON, &b);
	cr_assert_null(strstr(b.data, "S3cret"));
	cr_assert(strstr(b.data, "Bearer [secret]"));
	cr_assert(strstr(b.data, "a\xef\xbf\xbd\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd"), "%s", b.data);
	gb_buf_free(&b);
	render(r, GB_REPORT_HTML, &b);
	cr_assert_null(strstr(b.data, "S3cret"));
	gb_buf_free(&b);
	gb_report_free(r);
	gb_log_clear_secrets();
}

Test(report, formats_parse_and_files_are_owner_only)
{
	char dir[] = "/tmp/gb-test-report-XXXXXX", path[96];
	gb_report_format f;
	gb_report *r;
	gb_error err;
	struct stat sb;

	cr_assert_eq(gb_report_format_parse("markdown", &f, &err), 0);
	cr_assert_eq(f, GB_REPORT_MD);
	cr_assert_eq(gb_report_format_parse("pdf", &f, &err), GB_EINVAL);
	cr_assert_eq(gb_report_format_from_path("/x/run.HTML", &f, &err), 0);
	cr_assert_eq(f, GB_REPORT_HTML);
	cr_assert_eq(gb_report_format_from_path("/x.d/run", &f, &err), GB_EINVAL);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.html", dir);
	umask(022);
	cr_assert_eq(gb_report_new("run", "t", NULL, &r, &err), 0);
	cr_assert_eq(gb_report_write(r, GB_REPORT_HTML, path, &err), 0, "%s", err.msg);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	chmod(path, 0644);
	cr_assert_eq(gb_report_write(r, GB_REPORT_MD, path, &err), 0, "%s", err.msg);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600, "a replaced report is owner-only too");
	snprintf(path, sizeof(path), "%s/missing/r.html", dir);
	cr_assert_eq(gb_report_write(r, GB_REPORT_HTML, path, &err), GB_EIO);
	cr_assert(strstr(err.msg, path), "%s", err.msg);
	gb_report_free(r);
	gb_testfs_rmtree(dir);
}

/* Frees st and removes its directory dir. */
static void drop_state(gb_store *st, const char *dir)
{
	gb_store_free(st);
	gb_testfs_rmtree(dir);
}

/* A state database with a known run and audit records: fixed ids and times, so the run report is golden. */
static gb_store *run_state(char *dir, size_t n)
{
	static const struct {
		const char *time, *step, *op, *target, *before, *after;
		gb_audit_outcome outcome;
		const char *message;
	} recs[] = {
	    {"2026-11-24T09:00:01.000Z", "provision", "group.create", "CN=Sales EMEA,OU=Groups,DC=test,DC=example",
	     NULL, "{\"sAMAccountName\":\"SalesEMEA\"}", GB_OUTCOME_OK, NULL},
	    {"2026-11-24T09:00:02.000Z", "provision", "member.add", "CN=Sales EMEA,OU=Groups,DC=test,DC=example", "[]",
	     "[\"CN=Alice,OU=Users,DC=test,DC=example\"]", GB_OUTCOME_OK, NULL},
	    {"2026-11-24T09:00:03.000Z", "provision", "group.create",
	     "CN=" HOSTILE_NAME ",OU=Groups,DC=test,DC=example", NULL, HOSTILE_NAME, GB_OUTCOME_FAILED,
	     "constraint violation (LDAP 19)"},
	    {"2026-11-24T09:00:40.000Z", "convert-soa", "graph.soa.set", "group 6f1c...: Sales EMEA",
	     "{\"isCloudManaged\":false}", "{\"isCloudManaged\":true}", GB_OUTCOME_OK, NULL},
	    {"2026-11-24T09:01:10.000Z", "convert-soa", "member.remove", "CN=Sales EMEA,OU=Groups,DC=test,DC=example",
	     NULL, NULL, GB_OUTCOME_SKIPPED, "member is cloud-only"},
	};
	gb_store *st;
	gb_error err;
	size_t i;

	snprintf(dir, n, "%s", "/tmp/gb-test-runrep-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	st = gb_testfs_store(dir);
	cr_assert_eq(gb_store_exec(st,
	                           "INSERT INTO runs(id, command, started, ended, exit_code, summary) VALUES "
	                           "('0a1b2c3d-0000-4000-8000-000000000001', 'provision --dry-run', "
	                           "'2026-11-24T08:00:00.000Z', '2026-11-24T08:00:05.000Z', 0, 'nothing to do'),"
	                           "('0a1b2c3d-0000-4000-8000-000000000002', 'provision', '2026-11-24T09:00:00.000Z', "
	                           "'2026-11-24T09:01:15.500Z', 3, '4 changes, 1 failed')",
	                           &err),
	             0, "%s", err.msg);
	for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		gb_audit_entry e = {.run_id = "0a1b2c3d-0000-4000-8000-000000000002",
		                    .step = recs[i].step,
		                    .operation = recs[i].op,
		                    .target = recs[i].target,
		                    .before = recs[i].before,
		                    .after = recs[i].after,
		                    .outcome = recs[i].outcome,
		                    .message = recs[i].message};
		cr_assert_eq(gb_audit_append_at(st, recs[i].time, &e, NULL, &err), 0, "%s", err.msg);
	}
	return st;
}

static void run_golden(gb_report_format f, const char *name)
{
	char dir[64];
	gb_store *st = run_state(dir, sizeof(dir));
	gb_report *r;
	gb_error err;
	gb_buf b;

	cr_assert_eq(gb_report_build_run(st, NULL, "2026-11-24T10:00:00Z", &r, &err), 0, "%s", err.msg);
	render(r, f, &b);
	golden(name, &b);
	gb_buf_free(&b);
	gb_report_free(r);
	drop_state(st, dir);
}

Test(report, run_golden_html)
{
	run_golden(GB_REPORT_HTML, "run.html");
}

Test(report, run_golden_md)
{
	run_golden(GB_REPORT_MD, "run.md");
}

Test(report, run_golden_json)
{
	run_golden(GB_REPORT_JSON, "run.json");
}

Test(report, run_golden_csv)
{
	run_golden(GB_REPORT_CSV, "run.csv");
}

Test(report, run_report_finds_runs_by_prefix_and_says_what_is_missing)
{
	char dir[64], path[128];
	gb_store *st = run_state(dir, sizeof(dir)), *empty;
	gb_report *r;
	gb_error err;
	gb_buf b;

	cr_assert_eq(gb_report_build_run(st, "0a1b2c3d-0000-4000-8000-000000000001", NULL, &r, &err), 0, "%s", err.msg);
	render(r, GB_REPORT_MD, &b);
	cr_assert(strstr(b.data, "# Run report: provision \\-\\-dry-run") ||
	              strstr(b.data, "# Run report: provision --dry-run"),
	          "%s", b.data);
	cr_assert(strstr(b.data, "This run recorded no changes in the audit log."), "%s", b.data);
	gb_buf_free(&b);
	gb_report_free(r);
	cr_assert_eq(gb_report_build_run(st, "0a1b2c3d", NULL, &r, &err), GB_EINVAL);
	cr_assert(strstr(err.msg, "matches several runs"), "%s", err.msg);
	cr_assert_eq(gb_report_build_run(st, "ffff", NULL, &r, &err), GB_ENOTFOUND);
	cr_assert(strstr(err.msg, "no run ffff"), "%s", err.msg);
	snprintf(path, sizeof(path), "%s/empty.db", dir);
	cr_assert_eq(gb_store_open(path, "test", &empty, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_report_build_run(empty, NULL, NULL, &r, &err), GB_ENOTFOUND);
	cr_assert(strstr(err.msg, "has no runs yet"), "%s", err.msg);
	gb_store_free(empty);
	drop_state(st, dir);
}

/* The run report of the newest run in st, as Markdown, into b (the caller frees it). */
static void run_md(gb_store *st, gb_buf *b)
{
	gb_report *r;
	gb_error err;

	cr_assert_eq(gb_report_build_run(st, NULL, NULL, &r, &err), 0, "%s", err.msg);
	render(r, GB_REPORT_MD, b);
	gb_report_free(r);
}

Test(report, run_report_says_when_the_audit_log_is_damaged)
{
	char dir[64];
	gb_store *st = run_state(dir, sizeof(dir));
	gb_error err;
	gb_buf b;

	cr_assert_eq(
	    gb_store_exec(st, "UPDATE audit_log SET result = 'ok', outcome = 'ok', message = NULL WHERE seq = 3", &err), 0);
	run_md(st, &b);
	cr_assert(strstr(b.data, "| Audit log | DAMAGED |"), "%s", b.data);
	cr_assert(strstr(b.data, "record 3 (seq 3, 2026-11-24T09:00:03.000Z): hash mismatch: edited"), "%s", b.data);
	gb_buf_free(&b);
	drop_state(st, dir);
}

/* A step that finished with a detail that reads like a failure ("0 changes planned" was counted as one before the
 * audit log had an outcome field) counts as what its outcome says. */
Test(report, run_report_counts_outcomes_not_messages)
{
	char dir[64];
	gb_store *st = run_state(dir, sizeof(dir));
	gb_audit_entry e = {.run_id = "0a1b2c3d-0000-4000-8000-000000000002",
	                    .step = "verify",
	                    .operation = "step.state",
	                    .target = "verify",
	                    .after = "{\"state\":\"done\"}",
	                    .outcome = GB_OUTCOME_OK,
	                    .message = "0 changes planned"};
	gb_error err;
	gb_buf b;

	cr_assert_eq(gb_audit_append_at(st, "2026-11-24T09:01:11.000Z", &e, NULL, &err), 0, "%s", err.msg);
	run_md(st, &b);
	cr_assert(strstr(b.data, "| Succeeded | 4 |"), "%s", b.data);
	cr_assert(strstr(b.data, "| Failed | 1 |"), "only the failed create: %s", b.data);
	cr_assert(strstr(b.data, "| verify | step.state | 1 | 0 | 0 | changed |"), "%s", b.data);
	cr_assert(strstr(b.data, "| ok | 0 changes planned |"), "the detail is the message: %s", b.data);
	gb_buf_free(&b);
	drop_state(st, dir);
}

Test(report, stacked_charts_take_any_number_of_series)
{
	char names[20][16];
	const char *series[20];
	double values[20];
	gb_report *r;
	gb_report_section *s;
	gb_report_chart *c;
	gb_error err;
	gb_buf b;
	size_t i;

	for (i = 0; i < 20; i++) {
		snprintf(names[i], sizeof(names[i]), "s%zu", i + 1);
		series[i] = names[i];
		values[i] = (double)i;
	}
	cr_assert_eq(gb_report_new("run", "t", "2026-01-01T00:00:00Z", &r, &err), 0);
	cr_assert_eq(gb_report_add_section(r, "s", &s, &err), 0);
	cr_assert_eq(gb_report_section_add_chart(s, GB_CHART_STACKED, "wide", NULL, series, 20, &c, &err), 0);
	cr_assert_eq(gb_report_chart_add_stack(c, "row", values, 20, &err), 0);
	render(r, GB_REPORT_CSV, &b);
	cr_assert(strstr(b.data, ",s19,s20\r\nrow,0,1,"), "%s", b.data);
	cr_assert(strstr(b.data, ",18,19\r\n"), "%s", b.data);
	gb_buf_free(&b);
	render(r, GB_REPORT_MD, &b);
	cr_assert(strstr(b.data, "| s20 | total |"), "%s", b.data);
	cr_assert(strstr(b.data, "| 19 | 190 |"), "%s", b.data);
	gb_buf_free(&b);
	render(r, GB_REPORT_HTML, &b);
	cr_assert(strstr(b.data, "row, s20: 19"), "every series has its bar");
	gb_buf_free(&b);
	gb_report_free(r);
}

Test(report, hostile_text_in_attributes_is_escaped)
{
	gb_report *r;
	gb_report_section *s;
	gb_report_chart *c;
	gb_error err;
	gb_buf b;

	cr_assert_eq(gb_report_new("run", HOSTILE_NAME, "2026-01-01T00:00:00Z", &r, &err), 0);
	cr_assert_eq(gb_report_add_section(r, HOSTILE_NAME, &s, &err), 0);
	cr_assert_eq(
	    gb_report_section_add_chart(s, GB_CHART_BAR, "\"><img src=x onerror=alert(1)>", NULL, NULL, 0, &c, &err),
	    0);
	cr_assert_eq(gb_report_chart_add_bar(c, "a", 1, &err), 0);
	cr_assert_eq(
	    gb_report_section_add_chart(s, GB_CHART_BAR, "\"'><img src=x onerror=alert(2)>", NULL, NULL, 0, &c, &err),
	    0);
	cr_assert_eq(gb_report_chart_add_bar(c, "a", 1, &err), 0);
	render(r, GB_REPORT_HTML, &b);
	/* libxml2 quotes with ' when the value holds only ", and escapes " when it holds both: safe either way */
	cr_assert(strstr(b.data, "aria-label='\"&gt;&lt;img src=x onerror=alert(1)&gt;'"), "%s", b.data);
	cr_assert(strstr(b.data, "aria-label=\"&quot;'&gt;&lt;img src=x onerror=alert(2)&gt;\""), "%s", b.data);
	cr_assert_null(strstr(b.data, "<img"));
	cr_assert(strstr(b.data, "<title>=HYPERLINK(\"http://x\") &lt;script&gt;alert(1)&lt;/script&gt;"), "%s",
	          b.data);
	cr_assert_eq(count(b.data, "<script"), 1);
	gb_buf_free(&b);
	gb_report_free(r);
}

/* Reads back the first data cell of the first table in each format and compares it to what went in: random
 * strings of markup, punctuation, control characters and invalid UTF-8 must survive every writer as plain text. */
#include <libxml/HTMLparser.h>

#include "report/internal.h"

static unsigned long rng_state = 12345;

static unsigned rnd(unsigned n)
{
	rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)((rng_state >> 33) % n);
}

static const char *const pieces[] = {
    "<", ">", "&", "\"",   "'", ",",    "|",    "\\",       "\n",       "\r\n",  "\r",  "\t", "=",
    "+", "-", "@", "`",    "*", "_",    "[",    "]",        "(",        ")",     "#",   "!",  "~",
    "a", "Z", "é", "日本", " ", "\xff", "\x01", "<script>", "</table>", "&amp;", "]]>", "{",  "\xe2\x82"};

static void first_csv_cell(const char *field, size_t rec, size_t col, void *arg)
{
	char **got = arg;

	if (rec == 2 && col == 0)
		*got = strdup(field);
}

static char *md_first_cell(const char *md)
{
	const char *p = strstr(md, "\n| --- |");
	gb_buf b;

	cr_assert_not_null(p);
	p = strchr(p + 1, '\n');
	cr_assert_not_null(p);
	p += 3; /* "\n| " */
	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	for (; *p && !(*p == ' ' && p[1] == '|'); p++) {
		cr_assert(*p != '\n' && *p != '\r', "a line break inside a markdown row");
		cr_assert(*p != '|', "an unescaped pipe inside a cell");
		if (*p == '\\' && p[1] == 'n') {
			gb_buf_putc(&b, '\n', NULL);
			p++;
		} else if (*p == '\\' && p[1]) {
			gb_buf_putc(&b, p[1], NULL);
			p++;
		} else {
			cr_assert(*p != '<' && *p != '`' && *p != '[', "unescaped markup in a markdown cell");
			gb_buf_putc(&b, *p, NULL);
		}
	}
	return gb_buf_detach(&b);
}

/* What the text formats can carry: CRLF and CR become LF in Markdown, a tab becomes a space there. */
static char *md_expect(const char *s)
{
	gb_buf b;

	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	for (; *s; s++) {
		if (*s == '\r' && s[1] == '\n')
			continue;
		gb_buf_putc(&b, *s == '\r' ? '\n' : *s == '\t' ? ' ' : *s, NULL);
	}
	return gb_buf_detach(&b);
}

static char *strip_cr(const char *s)
{
	gb_buf b;

	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	for (; *s; s++)
		if (*s != '\r')
			gb_buf_putc(&b, *s, NULL);
	return gb_buf_detach(&b);
}

Test(report, random_hostile_cells_survive_every_writer_as_text)
{
	static const gb_report_column cols[] = {{"Value", GB_COL_TEXT}};
	int round;

	for (round = 0; round < 300; round++) {
		char in[512] = "";
		const char *cells[1];
		char *clean, *got = NULL, *want, *a, *b2;
		gb_report *r;
		gb_report_section *s;
		gb_report_table *t;
		gb_error err;
		gb_buf b;
		json_t *root;
		htmlDocPtr doc;
		xmlNodePtr n;
		int k, len = 1 + (int)rnd(12);

		for (k = 0; k < len; k++)
			snprintf(in + strlen(in), sizeof(in) - strlen(in), "%s",
			         pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))]);
		clean = gb_report_clean_text(in);
		cells[0] = in;
		cr_assert_eq(gb_report_new("run", "t", "2026-01-01T00:00:00Z", &r, &err), 0);
		cr_assert_eq(gb_report_add_section(r, "s", &s, &err), 0);
		cr_assert_eq(gb_report_section_add_table(s, "x", cols, 1, &t, &err), 0);
		cr_assert_eq(gb_report_table_add_row(t, cells, 1, &err), 0);

		render(r, GB_REPORT_JSON, &b);
		root = json_loads(b.data, 0, NULL);
		cr_assert_not_null(root, "round %d: json does not parse", round);
		a = (char *)json_string_value(json_array_get(
		    json_array_get(
		        json_object_get(
		            json_array_get(
		                json_object_get(json_array_get(json_object_get(root, "sections"), 0), "blocks"), 0),
		            "rows"),
		        0),
		    0));
		cr_assert_str_eq(a, clean, "round %d: json", round);
		json_decref(root);
		gb_buf_free(&b);

		render(r, GB_REPORT_CSV, &b);
		csv_fields(b.data, first_csv_cell, &got);
		cr_assert_not_null(got, "round %d: csv", round);
		cr_assert_str_eq(got + (strchr("=+-@\t\r", clean[0]) ? 1 : 0), clean, "round %d: csv", round);
		if (strchr("=+-@\t\r", clean[0]))
			cr_assert_eq(got[0], '\'', "round %d: csv formula not neutralised", round);
		free(got);
		gb_buf_free(&b);

		render(r, GB_REPORT_MD, &b);
		got = md_first_cell(b.data);
		want = md_expect(clean);
		cr_assert_str_eq(got, want, "round %d: markdown", round);
		free(got);
		free(want);
		gb_buf_free(&b);

		render(r, GB_REPORT_HTML, &b);
		cr_assert_eq(count(b.data, "<script"), 1, "round %d: a script element from data", round);
		doc = htmlReadMemory(b.data, (int)b.len, NULL, "UTF-8", HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING);
		cr_assert_not_null(doc);
		n = xmlDocGetRootElement(doc);
		/* html > body > main > section > div.table-wrap > table > tbody > tr > td */
		got = NULL;
		for (n = n ? n->children : NULL; n; n = n->next)
			if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, "body") == 0)
				break;
		cr_assert_not_null(n);
		{
			xmlNodePtr stack[64];
			int top = 0;
			stack[top++] = n;
			while (top && !got) {
				xmlNodePtr x = stack[--top];
				if (x->type == XML_ELEMENT_NODE && strcmp((const char *)x->name, "td") == 0) {
					xmlChar *content = xmlNodeGetContent(x);
					got = strdup((const char *)content);
					xmlFree(content);
					break;
				}
				for (xmlNodePtr ch = x->last; ch && top < 64; ch = ch->prev)
					stack[top++] = ch;
			}
		}
		cr_assert_not_null(got, "round %d: no td", round);
		a = strip_cr(got);
		b2 = strip_cr(clean);
		cr_assert_str_eq(a, b2, "round %d: html cell text", round);
		free(a);
		free(b2);
		free(got);
		xmlFreeDoc(doc);
		gb_buf_free(&b);
		gb_report_free(r);
		free(clean);
	}
}

/* ---- the plan, assessment, verification and status kinds, from a state database with fixed content ---- */

static gb_store *kinds_state(const char *kind, gb_report_format f, char *dir, size_t n)
{
	static const char *const ext[] = {"html", "md", "json", "csv"};
	char sql[4096], *plan_json = NULL;
	gb_plan *plan;
	gb_op *op;
	gb_store *st;
	gb_error err;
	sqlite3_stmt *s;

	/* a fixed path: the reports name their state database, and golden files must not change from run to run */
	snprintf(dir, n, "/tmp/gb-test-golden-%s-%s", kind, ext[f]);
	snprintf(sql, sizeof(sql), "rm -rf %s && mkdir -p %s", dir, dir);
	cr_assert_eq(system(sql), 0);
	st = gb_testfs_store(dir);
	cr_assert_eq(gb_store_exec(st,
				   "INSERT INTO migration_steps(name, state, started, ended, detail) VALUES "
				   "('import', 'done', '2026-11-24T09:00:00.000Z', '2026-11-24T09:00:01.000Z', '0 changes planned'),"
				   "('inventory', 'done', '2026-11-24T09:00:02.000Z', '2026-11-24T09:00:05.000Z', 'confirmed by the operator'),"
				   "('stamp-anchors', 'done', '2026-11-24T09:10:00.000Z', '2026-11-24T09:10:30.000Z', '2 changes applied'),"
				   "('connect-sync-coexistence', 'waiting', '2026-11-24T09:20:00.000Z', NULL, "
				   "'ATTESTED by the operator, not verified from an export')",
				   &err),
		     0, "%s", err.msg);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO migration_groups(object_id, display_name, ad_dn, ad_guid, admin_description, class, reason, "
		 "members, cloud_only, other_forest) VALUES "
		 "('g1', 'Finance', 'CN=Group_g1,OU=WB,DC=test,DC=example', 'aaaa', 'Group_g1', 'ready', 'ready to hand over', 4, 1, 0),"
		 "('g2', '%s', 'CN=Group_g2,OU=WB,DC=test,DC=example', 'bbbb', 'Group_g2', 'ready', 'ready to hand over', 3, 0, 2),"
		 "('g3', 'Newsletter', 'CN=Group_g3,OU=WB,DC=test,DC=example', 'cccc', 'Group_g3', 'unsupported-type', "
		 "'mail-enabled, Microsoft 365 or distribution: stays with group writeback v1', 0, 0, 0)",
		 "=HYPERLINK(\"\"http://x\"\") <script>alert(1)</script>, \"\"a,b\"\"");
	cr_assert_eq(gb_store_exec(st, sql, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_store_exec(st,
				   "INSERT INTO migration_verify(object_id, dn, expected, actual, missing, extra, other_changes, "
				   "checked) VALUES "
				   "('g1', 'CN=Group_g1,OU=WB,DC=test,DC=example', 3, 3, 0, 0, 0, '2026-11-24T09:40:00.000Z'),"
				   "('g2', 'CN=Group_g2,OU=WB,DC=test,DC=example', 1, 2, 0, 1, 0, '2026-11-24T09:40:00.000Z')",
				   &err),
		     0, "%s", err.msg);
	/* a plan with an operation and skips on the hostile group */
	cr_assert_eq(gb_plan_new(&plan, &err), 0);
	cr_assert_eq(gb_plan_add_group(plan, "g2", "CN=" HOSTILE_NAME ",OU=G,DC=test,DC=example", NULL, &err), 0);
	plan->groups[0].nmembers = 2;
	cr_assert_eq(gb_plan_add_op(plan, GB_OP_CREATE_GROUP, "g2", "CN=" HOSTILE_NAME ",OU=G,DC=test,DC=example",
				    "cloud group in scope has no AD group", &op, &err),
		     0);
	cr_assert_eq(gb_op_add_attr(op, "displayName", NULL, HOSTILE_NAME, &err), 0);
	cr_assert_eq(gb_plan_add_op(plan, GB_OP_ADD_MEMBERS, "g2", "CN=" HOSTILE_NAME ",OU=G,DC=test,DC=example",
				    "members in the cloud group", &op, &err),
		     0);
	cr_assert_eq(gb_op_add_value(op, "<GUID=11111111-1111-1111-1111-111111111111>", &err), 0);
	cr_assert_eq(gb_op_add_value(op, "<GUID=22222222-2222-2222-2222-222222222222>", &err), 0);
	cr_assert_eq(gb_plan_note(plan, GB_NOTE_MEMBER_SKIPPED, "g2", "u9", "cloud-only-user", &err,
				  "user u9 in group g2: a cloud-only user has no AD account"),
		     0);
	cr_assert_eq(gb_plan_to_json(plan, &plan_json, &err), 0);
	cr_assert_eq(gb_store_prepare(st, "INSERT INTO plans(created, command, run_id, dry_run, json) VALUES "
					  "('2026-11-24T09:30:00.000Z', 'provision', NULL, 1, ?1)",
				      &s, &err),
		     0);
	sqlite3_bind_text(s, 1, plan_json, -1, SQLITE_STATIC);
	cr_assert_eq(sqlite3_step(s), SQLITE_DONE);
	sqlite3_finalize(s);
	free(plan_json);
	gb_plan_free(plan);
	return st;
}

static void kind_golden(const char *kind, gb_report_format f)
{
	static const char *const ext[] = {"html", "md", "json", "csv"};
	char dir[96], name[64];
	gb_store *st = kinds_state(kind, f, dir, sizeof(dir));
	gb_report *r = NULL;
	gb_error err;
	gb_buf b;
	int rc;

	if (strcmp(kind, "plan") == 0)
		rc = gb_report_build_plan(st, "2026-11-24T10:00:00Z", &r, &err);
	else if (strcmp(kind, "assessment") == 0)
		rc = gb_report_build_assessment(st, "2026-11-24T10:00:00Z", &r, &err);
	else if (strcmp(kind, "verification") == 0)
		rc = gb_report_build_verification(st, "2026-11-24T10:00:00Z", &r, &err);
	else
		rc = gb_report_build_status(st, "2026-11-24T10:00:00Z", &r, &err);
	cr_assert_eq(rc, 0, "%s", err.msg);
	render(r, f, &b);
	snprintf(name, sizeof(name), "%s.%s", kind, ext[f]);
	golden(name, &b);
	if (f == GB_REPORT_HTML)
		cr_assert(strstr(gb_buf_cstr(&b), "<script>alert") == NULL, "a hostile name became markup in %s", name);
	gb_buf_free(&b);
	gb_report_free(r);
	drop_state(st, dir);
}

#define KIND_GOLDEN(kind, fmt, f) \
	Test(report, kind##_golden_##fmt) { kind_golden(#kind, f); }
KIND_GOLDEN(plan, html, GB_REPORT_HTML)
KIND_GOLDEN(plan, md, GB_REPORT_MD)
KIND_GOLDEN(plan, json, GB_REPORT_JSON)
KIND_GOLDEN(plan, csv, GB_REPORT_CSV)
KIND_GOLDEN(assessment, html, GB_REPORT_HTML)
KIND_GOLDEN(assessment, md, GB_REPORT_MD)
KIND_GOLDEN(assessment, json, GB_REPORT_JSON)
KIND_GOLDEN(assessment, csv, GB_REPORT_CSV)
KIND_GOLDEN(verification, html, GB_REPORT_HTML)
KIND_GOLDEN(verification, md, GB_REPORT_MD)
KIND_GOLDEN(verification, json, GB_REPORT_JSON)
KIND_GOLDEN(verification, csv, GB_REPORT_CSV)
KIND_GOLDEN(status, html, GB_REPORT_HTML)
KIND_GOLDEN(status, md, GB_REPORT_MD)
KIND_GOLDEN(status, json, GB_REPORT_JSON)
KIND_GOLDEN(status, csv, GB_REPORT_CSV)
