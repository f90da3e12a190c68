/* html.c: the HTML writer: one self-contained page built with libxml2's tree API, so every value from the report
 * is a text node or an attribute value and the serializer escapes it. Only the constant stylesheet and script below
 * are written raw. */
#include <libxml/HTMLtree.h>
#include <libxml/tree.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "groupbridge/util.h"

#include "report/internal.h"

static const char css[] =
    ":root{--ink:#1c2433;--muted:#5a6376;--line:#d8dde6;--bg:#f4f6f9;--accent:#1f5fa8}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;font:14px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;"
    "color:var(--ink);background:var(--bg)}\n"
    "main{max-width:1120px;margin:0 auto;padding:32px 24px 48px}\n"
    "header.report{border-bottom:3px solid var(--accent);padding-bottom:16px;margin-bottom:24px}\n"
    ".kind{margin:0;text-transform:uppercase;letter-spacing:.08em;font-size:12px;font-weight:600;"
    "color:var(--accent)}\n"
    "h1{margin:4px 0 10px;font-size:26px;line-height:1.25;white-space:pre-wrap;overflow-wrap:anywhere}\n"
    "h2{font-size:18px;margin:0 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}\n"
    "dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0 0;color:var(--muted)}\n"
    "dl.facts dt{font-weight:600}dl.facts dd{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}\n"
    ".generated{color:var(--muted);font-size:12px;margin:10px 0 0}\n"
    ".card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:0 0 20px}\n"
    ".figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px}\n"
    ".figure{border:1px solid var(--line);border-left:4px solid var(--accent);border-radius:6px;padding:10px 14px;"
    "background:#fbfcfe}\n"
    ".figure .value{font-size:22px;font-weight:650;white-space:pre-wrap;overflow-wrap:anywhere}\n"
    ".figure .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}\n"
    "p{margin:0 0 12px;white-space:pre-wrap;overflow-wrap:anywhere}\n"
    "figure.chart{margin:8px 0 20px}\n"
    "figcaption{font-weight:600;margin-bottom:6px;white-space:pre-wrap}\n"
    "svg{max-width:100%;height:auto;font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;"
    "font-size:12px}\n"
    "svg .axis{stroke:#c3c9d4;stroke-width:1}svg .grid{stroke:#e6e9ef;stroke-width:1}\n"
    "svg text{fill:#1c2433}svg text.muted{fill:#5a6376}\n"
    ".table-wrap{overflow-x:auto;margin:8px 0 16px}\n"
    "table{border-collapse:collapse;width:100%;font-size:13px}\n"
    "caption{text-align:left;font-weight:600;padding:0 0 6px;white-space:pre-wrap}\n"
    "th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;"
    "white-space:pre-wrap;overflow-wrap:break-word}\n"
    "td.num,td.time{white-space:nowrap}td.long{overflow-wrap:anywhere;min-width:8em}\n"
    "th{background:#eef1f6;font-weight:600;white-space:nowrap}\n"
    "th.num,td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    "tbody tr:nth-child(even){background:#fafbfc}\n"
    "td.empty{color:var(--muted);font-style:italic}\n"
    "th button{all:inherit;cursor:pointer;padding:0}\n"
    "th button::after{content:' \\2195';color:#9aa3b2}\n"
    "th[aria-sort=ascending] button::after{content:' \\25B2';color:var(--accent)}\n"
    "th[aria-sort=descending] button::after{content:' \\25BC';color:var(--accent)}\n"
    "footer{color:var(--muted);font-size:12px;margin-top:24px}\n"
    "@media print{body{background:#fff;font-size:11px}main{max-width:none;padding:0}"
    ".card,.figure{break-inside:avoid;border-color:#bbb}tr,figure{break-inside:avoid}"
    "thead{display:table-header-group}th button::after{content:none!important}.table-wrap{overflow:visible}"
    "table{font-size:10px}th,td{padding:3px 6px}.card{padding:10px 12px;margin:0 0 12px}"
    ".figure .value{font-size:16px}h1{font-size:20px}}\n";

/* Sorting on a click of a column header. Without script the table stays in its given order. */
static const char script[] = "(function(){\n"
                             "function key(c,num){if(!c)return null;var t=c.textContent.trim();if(t==='')return null;"
                             "if(!num)return t;var v=parseFloat(t);return isNaN(v)?null:v;}\n"
                             "function cmp(a,b,num){return num?a-b:a.localeCompare(b);}\n"
                             "var tables=document.querySelectorAll('table.sortable');\n"
                             "for(var i=0;i!==tables.length;i++)(function(t){\n"
                             " var ths=t.tHead.rows[0].cells;\n"
                             " for(var j=0;j!==ths.length;j++)(function(th,col){\n"
                             "  var b=document.createElement('button');b.type='button';\n"
                             "  while(th.firstChild)b.appendChild(th.firstChild);\n"
                             "  th.appendChild(b);\n"
                             "  b.addEventListener('click',function(){\n"
                             "   var asc=th.getAttribute('aria-sort')!=='ascending';\n"
                             "   for(var k=0;k!==ths.length;k++)ths[k].removeAttribute('aria-sort');\n"
                             "   th.setAttribute('aria-sort',asc?'ascending':'descending');\n"
                             "   var num=th.getAttribute('data-type')==='number';\n"
                             "   var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);\n"
                             "   rows.sort(function(x,y){var a=key(x.cells[col],num),b=key(y.cells[col],num);\n"
                             "    if(a===null||b===null)return (a===null)-(b===null);\n"
                             "    var c=cmp(a,b,num);return asc?c:-c;});\n"
                             "   rows.forEach(function(r){body.appendChild(r);});\n"
                             "  });\n"
                             " })(ths[j],j);\n"
                             "})(tables[i]);\n"
                             "})();\n";

static const char *const palette[] = {"#2f7d4f", "#e0a100", "#7a5195", "#c0392b",
                                      "#1f5fa8", "#8c564b", "#17a2b8", "#6c757d"};
#define PALETTE_N (sizeof(palette) / sizeof(palette[0]))

/* Chart geometry (SVG user units). */
#define SVG_W 760
#define LABEL_W 220
#define BAR_X 232
#define BAR_MAX 430
#define ROW_H 26
#define LABEL_CHARS 30

typedef struct ctx {
	xmlDocPtr doc;
	int ok; /* cleared by the first failed allocation */
	double now;
	gb_buf tmp; /* composed strings (captions, tooltips): whole, never cut inside a UTF-8 sequence */
} ctx;

/* Formats into the context's scratch buffer; the result is borrowed until the next call. */
static const char *compose(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *compose(ctx *c, const char *fmt, ...)
{
	va_list ap;
	int rc;

	gb_buf_clear(&c->tmp);
	va_start(ap, fmt);
	rc = gb_buf_vprintf(&c->tmp, NULL, fmt, ap);
	va_end(ap);
	if (rc)
		c->ok = 0;
	return gb_buf_cstr(&c->tmp);
}

static xmlNodePtr el(ctx *c, xmlNodePtr parent, const char *name, const char *text)
{
	xmlNodePtr n;

	if (!parent) {
		c->ok = 0;
		return NULL;
	}
	n = xmlNewChild(parent, NULL, BAD_CAST name, NULL);
	if (!n) {
		c->ok = 0;
		return NULL;
	}
	if (text) {
		xmlNodePtr t = xmlNewDocText(c->doc, BAD_CAST text); /* a text node: never parsed as markup */
		if (!t || !xmlAddChild(n, t)) {
			xmlFreeNode(t);
			c->ok = 0;
		}
	}
	return n;
}

static void attr(ctx *c, xmlNodePtr n, const char *name, const char *value)
{
	if (!n || !xmlNewProp(n, BAD_CAST name, BAD_CAST value))
		c->ok = 0;
}

static void attrf(ctx *c, xmlNodePtr n, const char *name, double v)
{
	char b[32];

	snprintf(b, sizeof(b), "%.1f", v);
	attr(c, n, name, b);
}

/* An SVG text element; long labels are cut, with the whole label in a <title> (the tooltip). */
static xmlNodePtr svg_text(ctx *c, xmlNodePtr svg, double x, double y, const char *anchor, const char *cls,
                           const char *text, size_t max_chars)
{
	char *shortened = max_chars ? gb_report_short_label(text, max_chars) : NULL;
	xmlNodePtr t;

	if (max_chars && !shortened) {
		c->ok = 0;
		return NULL;
	}
	t = el(c, svg, "text", shortened ? shortened : text);
	attrf(c, t, "x", x);
	attrf(c, t, "y", y);
	if (anchor)
		attr(c, t, "text-anchor", anchor);
	if (cls)
		attr(c, t, "class", cls);
	if (shortened && strcmp(shortened, text) != 0)
		el(c, t, "title", text);
	free(shortened);
	return t;
}

static xmlNodePtr svg_rect(ctx *c, xmlNodePtr svg, double x, double y, double w, double h, const char *fill,
                           const char *tip)
{
	xmlNodePtr r = el(c, svg, "rect", NULL);

	attrf(c, r, "x", x);
	attrf(c, r, "y", y);
	attrf(c, r, "width", w);
	attrf(c, r, "height", h);
	attr(c, r, "rx", "2");
	attr(c, r, "fill", fill);
	if (tip)
		el(c, r, "title", tip);
	return r;
}

static xmlNodePtr svg_line(ctx *c, xmlNodePtr svg, double x1, double y1, double x2, double y2, const char *cls)
{
	xmlNodePtr l = el(c, svg, "line", NULL);

	attrf(c, l, "x1", x1);
	attrf(c, l, "y1", y1);
	attrf(c, l, "x2", x2);
	attrf(c, l, "y2", y2);
	attr(c, l, "class", cls);
	return l;
}

static xmlNodePtr svg_new(ctx *c, xmlNodePtr fig, const char *label, double h)
{
	char vb[64];
	xmlNodePtr svg = el(c, fig, "svg", NULL);

	snprintf(vb, sizeof(vb), "0 0 %d %.0f", SVG_W, h);
	attr(c, svg, "xmlns", "http://www.w3.org/2000/svg");
	attr(c, svg, "viewBox", vb);
	attr(c, svg, "width", "760");
	attrf(c, svg, "height", h);
	attr(c, svg, "role", "img");
	attr(c, svg, "aria-label", label);
	return svg;
}

/* The text a tooltip shows for a value: "label, series: 12 unit". */
static const char *tip_text(ctx *c, const char *label, const char *series, double v, const char *unit)
{
	char num[32];

	gb_report_format_number(v, num, sizeof(num));
	return compose(c, "%s%s%s: %s%s%s", label, series ? ", " : "", series ? series : "", num,
	               unit && *unit ? " " : "", unit ? unit : "");
}

static void chart_bar(ctx *c, xmlNodePtr fig, const gb_report_chart *ch)
{
	char num[32];
	double max = 0, h, w, y;
	xmlNodePtr svg;
	size_t i;

	for (i = 0; i < ch->n; i++)
		if (ch->items[i].values[0] > max)
			max = ch->items[i].values[0];
	h = 12 + (double)ch->n * ROW_H;
	svg = svg_new(c, fig, ch->title, h);
	svg_line(c, svg, BAR_X, 4, BAR_X, h - 4, "axis");
	for (i = 0; i < ch->n; i++) {
		const gb_rchart_item *it = &ch->items[i];
		y = 6 + (double)i * ROW_H;
		w = max > 0 ? it->values[0] / max * BAR_MAX : 0;
		if (it->values[0] > 0 && w < 2)
			w = 2;
		svg_text(c, svg, LABEL_W, y + 14, "end", NULL, it->label, LABEL_CHARS);
		svg_rect(c, svg, BAR_X, y + 2, w, ROW_H - 8, palette[4],
		         tip_text(c, it->label, NULL, it->values[0], ch->unit));
		gb_report_format_number(it->values[0], num, sizeof(num));
		svg_text(c, svg, BAR_X + w + 6, y + 14, NULL, "muted", num, 0);
	}
}

static void chart_stacked(ctx *c, xmlNodePtr fig, const gb_report_chart *ch)
{
	char num[32];
	double max = 0, tot, h, x, y, w, lx = 0, ly = 0, lw;
	xmlNodePtr svg;
	size_t i, j, legend_rows = 1;

	/* the legend wraps at the chart's width; measure with an average character width */
	for (j = 0; j < ch->nseries; j++) {
		lw = 22 + 7.0 * (double)strlen(ch->series[j]) + 18;
		if (lx > 0 && lx + lw > SVG_W) {
			lx = 0;
			legend_rows++;
		}
		lx += lw;
	}
	for (i = 0; i < ch->n; i++) {
		for (tot = 0, j = 0; j < ch->nseries; j++)
			tot += ch->items[i].values[j];
		if (tot > max)
			max = tot;
	}
	h = (double)legend_rows * 22 + 12 + (double)ch->n * ROW_H;
	svg = svg_new(c, fig, ch->title, h);
	lx = 0;
	for (j = 0; j < ch->nseries; j++) {
		lw = 22 + 7.0 * (double)strlen(ch->series[j]) + 18;
		if (lx > 0 && lx + lw > SVG_W) {
			lx = 0;
			ly += 22;
		}
		svg_rect(c, svg, lx, ly + 4, 14, 14, palette[j % PALETTE_N], NULL);
		svg_text(c, svg, lx + 20, ly + 15, NULL, NULL, ch->series[j], 0);
		lx += lw;
	}
	y = (double)legend_rows * 22 + 6;
	svg_line(c, svg, BAR_X, y - 2, BAR_X, h - 4, "axis");
	for (i = 0; i < ch->n; i++, y += ROW_H) {
		const gb_rchart_item *it = &ch->items[i];
		svg_text(c, svg, LABEL_W, y + 14, "end", NULL, it->label, LABEL_CHARS);
		x = BAR_X;
		for (tot = 0, j = 0; j < ch->nseries; j++) {
			tot += it->values[j];
			if (it->values[j] <= 0)
				continue;
			w = max > 0 ? it->values[j] / max * BAR_MAX : 0;
			if (w < 2)
				w = 2;
			svg_rect(c, svg, x, y + 2, w, ROW_H - 8, palette[j % PALETTE_N],
			         tip_text(c, it->label, ch->series[j], it->values[j], ch->unit));
			x += w;
		}
		gb_report_format_number(tot, num, sizeof(num));
		svg_text(c, svg, x + 6, y + 14, NULL, "muted", num, 0);
	}
}

static const char *status_colour(const char *s)
{
	if (gb_str_ihas_prefix(s, "done") || gb_str_ihas_prefix(s, "ok") || gb_str_ihas_prefix(s, "succeeded") ||
	    gb_str_ihas_prefix(s, "complete"))
		return "#2f7d4f";
	if (gb_str_ihas_prefix(s, "fail") || gb_str_ihas_prefix(s, "error") || gb_str_ihas_prefix(s, "rolled"))
		return "#c0392b";
	if (gb_str_ihas_prefix(s, "running") || gb_str_ihas_prefix(s, "in progress"))
		return "#1f5fa8";
	if (gb_str_ihas_prefix(s, "partial") || gb_str_ihas_prefix(s, "skipped"))
		return "#e0a100";
	return "#8a93a3";
}

static void time_label(double t, double span, char *dst, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	if (span < 120)
		strftime(dst, n, "%H:%M:%S", &tm);
	else if (span < 86400)
		strftime(dst, n, "%H:%M", &tm);
	else
		strftime(dst, n, "%m-%d %H:%M", &tm);
}

static void chart_timeline(ctx *c, xmlNodePtr fig, const gb_report_chart *ch)
{
	const char *tip;
	char lab[40];
	double t0 = 0, t1 = 0, span, h, x, w, y, end;
	xmlNodePtr svg;
	size_t i;
	int k;

	for (i = 0; i < ch->n; i++) {
		end = ch->items[i].t1 >= 0 ? ch->items[i].t1 : c->now;
		if (i == 0 || ch->items[i].t0 < t0)
			t0 = ch->items[i].t0;
		if (i == 0 || end > t1)
			t1 = end;
	}
	/* at least ten seconds, so that the axis labels of a quick run still differ */
	span = t1 - t0 > 10 ? t1 - t0 : 10;
	h = 34 + (double)ch->n * ROW_H;
	svg = svg_new(c, fig, ch->title, h);
	for (k = 0; k <= 4; k++) {
		x = BAR_X + BAR_MAX * k / 4.0;
		svg_line(c, svg, x, 4, x, h - 24, k == 0 ? "axis" : "grid");
		time_label(t0 + span * k / 4.0, span, lab, sizeof(lab));
		svg_text(c, svg, x, h - 8, k == 0 ? "start" : k == 4 ? "end" : "middle", "muted", lab, 0);
	}
	for (i = 0; i < ch->n; i++) {
		const gb_rchart_item *it = &ch->items[i];
		end = it->t1 >= 0 ? it->t1 : c->now;
		y = 6 + (double)i * ROW_H;
		x = BAR_X + (it->t0 - t0) / span * BAR_MAX;
		w = (end - it->t0) / span * BAR_MAX;
		if (w < 3)
			w = 3;
		svg_text(c, svg, LABEL_W, y + 14, "end", NULL, it->label, LABEL_CHARS);
		tip = compose(c, "%s: %s, %s to %s", it->label, it->status, it->start, it->end ? it->end : "(running)");
		svg_rect(c, svg, x, y + 2, w, ROW_H - 8, status_colour(it->status), tip);
		if (x + w + 6 + 7.0 * (double)strlen(it->status) <= SVG_W)
			svg_text(c, svg, x + w + 6, y + 14, NULL, "muted", it->status, 16);
		else
			svg_text(c, svg, x - 6, y + 14, "end", "muted", it->status, 16);
	}
}

static void chart(ctx *c, xmlNodePtr parent, const gb_report_chart *ch)
{
	xmlNodePtr fig = el(c, parent, "figure", NULL);

	attr(c, fig, "class", "chart");
	el(c, fig, "figcaption",
	   compose(c, "%s%s%s%s", ch->title, ch->unit && *ch->unit ? " (" : "", ch->unit ? ch->unit : "",
	           ch->unit && *ch->unit ? ")" : ""));
	if (ch->n == 0) {
		el(c, fig, "p", "(no data)");
		return;
	}
	if (ch->type == GB_CHART_BAR)
		chart_bar(c, fig, ch);
	else if (ch->type == GB_CHART_STACKED)
		chart_stacked(c, fig, ch);
	else
		chart_timeline(c, fig, ch);
}

/* A text cell: the text as text nodes, with a <wbr> (a line-break opportunity, no text) after each comma, slash and
 * semicolon, so that a long DN or path wraps at its components instead of widening the table. */
static xmlNodePtr text_cell(ctx *c, xmlNodePtr tr, const char *text)
{
	xmlNodePtr td = el(c, tr, "td", NULL), t;
	const char *p = text, *q;

	while (td && *p) {
		q = p + strcspn(p, ",/;");
		if (*q)
			q++;
		t = xmlNewDocTextLen(c->doc, BAD_CAST p, (int)(q - p));
		if (!t || !xmlAddChild(td, t)) {
			xmlFreeNode(t);
			c->ok = 0;
			break;
		}
		if (*q && (q - p) > 1)
			el(c, td, "wbr", NULL);
		p = q;
	}
	return td;
}

static void table(ctx *c, xmlNodePtr parent, const gb_report_table *t)
{
	xmlNodePtr wrap = el(c, parent, "div", NULL), tab, tr, cell;
	size_t i, j, *longest;
	char span[16];

	/* columns holding long values (DNs, JSON) may break anywhere; the others keep their words whole */
	longest = calloc(t->ncols, sizeof(*longest));
	if (!longest) {
		c->ok = 0;
		return;
	}
	for (i = 0; i < t->nrows; i++)
		for (j = 0; j < t->ncols; j++)
			if (t->rows[i][j] && strlen(t->rows[i][j]) > longest[j])
				longest[j] = strlen(t->rows[i][j]);

	attr(c, wrap, "class", "table-wrap");
	tab = el(c, wrap, "table", NULL);
	attr(c, tab, "class", "sortable");
	if (t->title && *t->title)
		el(c, tab, "caption", t->title);
	tr = el(c, el(c, tab, "thead", NULL), "tr", NULL);
	for (j = 0; j < t->ncols; j++) {
		cell = el(c, tr, "th", t->colnames[j]);
		attr(c, cell, "scope", "col");
		if (t->types[j] == GB_COL_NUMBER) {
			attr(c, cell, "class", "num");
			attr(c, cell, "data-type", "number");
		} else if (t->types[j] == GB_COL_TIME) {
			attr(c, cell, "class", "time");
		}
	}
	parent = el(c, tab, "tbody", NULL);
	for (i = 0; i < t->nrows; i++) {
		tr = el(c, parent, "tr", NULL);
		for (j = 0; j < t->ncols; j++) {
			if (t->types[j] == GB_COL_TEXT) {
				cell = text_cell(c, tr, t->rows[i][j] ? t->rows[i][j] : "");
				if (longest[j] > 40)
					attr(c, cell, "class", "long");
			} else
				cell = el(c, tr, "td", t->rows[i][j] ? t->rows[i][j] : "");
			if (t->types[j] == GB_COL_NUMBER)
				attr(c, cell, "class", "num");
			else if (t->types[j] == GB_COL_TIME)
				attr(c, cell, "class", "time");
		}
	}
	if (t->nrows == 0) {
		cell = el(c, el(c, parent, "tr", NULL), "td", "(no rows)");
		snprintf(span, sizeof(span), "%zu", t->ncols);
		attr(c, cell, "colspan", span);
		attr(c, cell, "class", "empty");
	}
	free(longest);
}

static void build(ctx *c, const gb_report *r, xmlNodePtr html)
{
	xmlNodePtr head, body, mn, n, card, figs, fig, dl;
	size_t i, j;

	attr(c, html, "lang", "en");
	head = el(c, html, "head", NULL);
	n = el(c, head, "meta", NULL);
	attr(c, n, "charset", "utf-8");
	n = el(c, head, "meta", NULL);
	attr(c, n, "name", "viewport");
	attr(c, n, "content", "width=device-width, initial-scale=1");
	n = el(c, head, "meta", NULL);
	attr(c, n, "name", "generator");
	attr(c, n, "content", "groupbridge");
	el(c, head, "title", r->title);
	el(c, head, "style", css);
	body = el(c, html, "body", NULL);
	mn = el(c, body, "main", NULL);

	n = el(c, mn, "header", NULL);
	attr(c, n, "class", "report");
	attr(c, el(c, n, "p", compose(c, "%s report", r->kind)), "class", "kind");
	el(c, n, "h1", r->title);
	if (r->nfacts) {
		dl = el(c, n, "dl", NULL);
		attr(c, dl, "class", "facts");
		for (i = 0; i < r->nfacts; i++) {
			el(c, dl, "dt", r->facts[i].label);
			el(c, dl, "dd", r->facts[i].value);
		}
	}
	attr(c, el(c, n, "p", compose(c, "Generated %s by groupbridge", r->generated)), "class", "generated");

	if (r->nfigures) {
		card = el(c, mn, "section", NULL);
		attr(c, card, "class", "card summary");
		el(c, card, "h2", "Summary");
		figs = el(c, card, "div", NULL);
		attr(c, figs, "class", "figures");
		for (i = 0; i < r->nfigures; i++) {
			fig = el(c, figs, "div", NULL);
			attr(c, fig, "class", "figure");
			attr(c, el(c, fig, "div", r->figures[i].value), "class", "value");
			attr(c, el(c, fig, "div", r->figures[i].label), "class", "label");
		}
	}
	for (i = 0; i < r->nsections; i++) {
		const gb_report_section *s = r->sections[i];
		card = el(c, mn, "section", NULL);
		attr(c, card, "class", "card");
		el(c, card, "h2", s->title);
		for (j = 0; j < s->n; j++) {
			const gb_rblock *b = &s->blocks[j];
			if (b->type == GB_BLOCK_TEXT)
				el(c, card, "p", b->text);
			else if (b->type == GB_BLOCK_TABLE)
				table(c, card, b->table);
			else
				chart(c, card, b->chart);
		}
	}
	el(c, mn, "footer",
	   "A self-contained report: it loads nothing from the network. Tables sort when a column "
	   "header is clicked.");
	el(c, body, "script", script);
}

int gb_report_render_html(const gb_report *r, gb_buf *out, gb_error *err)
{
	xmlChar *mem = NULL;
	xmlNodePtr html;
	int size = 0, rc;
	ctx c;

	memset(&c, 0, sizeof(c));
	c.ok = 1;
	c.now = r->generated_t;
	gb_buf_init(&c.tmp, GB_BUF_DEFAULT_MAX);
	c.doc = htmlNewDocNoDtD(NULL, NULL);
	if (!c.doc)
		return gb_error_set(err, GB_ENOMEM, "building the html report: out of memory");
	if (!xmlCreateIntSubset(c.doc, BAD_CAST "html", NULL, NULL))
		c.ok = 0;
	html = xmlNewDocNode(c.doc, NULL, BAD_CAST "html", NULL);
	if (!html)
		c.ok = 0;
	else
		xmlDocSetRootElement(c.doc, html);
	if (c.ok)
		build(&c, r, html);
	if (c.ok)
		htmlDocDumpMemoryFormat(c.doc, &mem, &size, 1);
	xmlFreeDoc(c.doc);
	gb_buf_free(&c.tmp);
	if (!c.ok || !mem || size <= 0) {
		xmlFree(mem);
		return gb_error_set(err, GB_ENOMEM, "building the html report: out of memory");
	}
	rc = gb_buf_append(out, mem, (size_t)size, err);
	xmlFree(mem);
	return rc;
}
