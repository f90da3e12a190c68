/* parse.c: the expression text into a tree, checked once so that evaluation meets no syntax surprise. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr/expr_int.h"
#include "groupbridge/util.h"

typedef struct parser {
	const char *s;
	size_t len, pos;
	gb_error *err;
	int depth;
	bool nondet;
} parser;

size_t gb_expr__column(const char *text, size_t off)
{
	return gb_expr__u8_count(text, off) + 1;
}

static int perr(parser *p, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(parser *p, size_t off, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return gb_error_set(p->err, GB_EPARSE, "expression:%zu: %s", gb_expr__column(p->s, off), msg);
}

static void node_free(node *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->nargs; i++)
		node_free(n->args[i]);
	free(n->args);
	free(n->text);
	pcre2_code_free(n->re);
	free(n);
}

static node *node_new(parser *p, node_kind kind, size_t off)
{
	node *n = calloc(1, sizeof(*n));

	if (!n) {
		gb_error_set(p->err, GB_ENOMEM, "out of memory");
		return NULL;
	}
	n->kind = kind;
	n->off = off;
	return n;
}

static int node_push(parser *p, node *parent, node *child, size_t *cap)
{
	if (gb_grow(&parent->args, parent->nargs, cap, sizeof(*parent->args), 4)) {
		node_free(child);
		return gb_error_set(p->err, GB_ENOMEM, "out of memory");
	}
	parent->args[parent->nargs++] = child;
	return 0;
}

static void skip_ws(parser *p)
{
	while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]) && p->s[p->pos])
		p->pos++;
}

static bool is_ident_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_ident_char(char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int parse_expr(parser *p, node **out);

static int parse_string(parser *p, node **out)
{
	size_t start = p->pos, i = p->pos + 1, w = 0;
	node *n;
	char *buf;

	/* find the closing quote first, so that the buffer is the literal's size, not the rest of the text's */
	while (i < p->len && p->s[i] != '"')
		i += (p->s[i] == '\\' && i + 1 < p->len && (p->s[i + 1] == '\\' || p->s[i + 1] == '"')) ? 2 : 1;
	if (i >= p->len)
		return perr(p, start, "string not terminated (a \" inside a string is written \\\")");
	buf = malloc(i - start);
	if (!buf)
		return gb_error_set(p->err, GB_ENOMEM, "out of memory");
	i = start + 1;
	for (;;) {
		if (i >= p->len) {
			free(buf);
			return perr(p, start, "string not terminated (a \" inside a string is written \\\")");
		}
		if (p->s[i] == '"')
			break;
		if (p->s[i] == '\\' && i + 1 < p->len && (p->s[i + 1] == '\\' || p->s[i + 1] == '"')) {
			buf[w++] = p->s[i + 1];
			i += 2;
			continue;
		}
		buf[w++] = p->s[i++];
	}
	buf[w] = '\0';
	p->pos = i + 1;
	n = node_new(p, N_STR, start);
	if (!n) {
		free(buf);
		return GB_ENOMEM;
	}
	n->text = buf;
	n->len = w;
	*out = n;
	return 0;
}

static int parse_attr(parser *p, node **out)
{
	size_t start = p->pos, i = p->pos + 1;
	node *n;

	while (i < p->len && p->s[i] != ']') {
		if (p->s[i] == '[' || p->s[i] == '\n' || p->s[i] == '\r')
			return perr(p, i, "unexpected character inside an attribute name");
		i++;
	}
	if (i >= p->len)
		return perr(p, start, "attribute name not closed with ']'");
	if (i == start + 1)
		return perr(p, start, "empty attribute name");
	if (i - start - 1 > 256)
		return perr(p, start, "attribute name longer than 256 bytes");
	n = node_new(p, N_ATTR, start);
	if (!n)
		return GB_ENOMEM;
	n->text = gb_strndup(p->s + start + 1, i - start - 1);
	if (!n->text) {
		node_free(n);
		return gb_error_set(p->err, GB_ENOMEM, "out of memory");
	}
	n->len = i - start - 1;
	p->pos = i + 1;
	*out = n;
	return 0;
}

static int parse_number(parser *p, node **out)
{
	size_t start = p->pos, i = p->pos;
	bool neg = false, hex = false;
	uint64_t v = 0, lim;
	node *n;

	if (p->s[i] == '-') {
		neg = true;
		i++;
	} else if (p->s[i] == '&') {
		hex = true;
		i += 2;
	}
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	if (hex) {
		if (i >= p->len || gb_hex_digit((unsigned char)p->s[i]) < 0)
			return perr(p, start, "hexadecimal number without digits");
		while (i < p->len && gb_hex_digit((unsigned char)p->s[i]) >= 0) {
			if (v > (UINT64_MAX >> 4))
				return perr(p, start, "number out of range");
			v = v * 16 + (uint64_t)gb_hex_digit((unsigned char)p->s[i++]);
		}
		lim = UINT64_MAX; /* &HFFFFFFFFFFFFFFFF is -1 as in VBA's two's complement */
	} else {
		while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9') {
			unsigned d = (unsigned)(p->s[i++] - '0');

			if (v > (lim - d) / 10)
				return perr(p, start, "number out of range");
			v = v * 10 + d;
		}
	}
	if (i < p->len && (is_ident_char(p->s[i]) || p->s[i] == '.'))
		return perr(p, i, "malformed number (only whole numbers are supported)");
	n = node_new(p, N_INT, start);
	if (!n)
		return GB_ENOMEM;
	if (neg)
		n->num = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		n->num = (int64_t)v;
	p->pos = i;
	*out = n;
	return 0;
}

static const char *const enums[] = {"vbTextCompare", "vbBinaryCompare", "Unicode", "UTF8", "ASCII"};

/* Functions Microsoft lists that this evaluator refuses, with the reason. */
static const struct {
	const char *name;
	const char *why;
} refused[] = {
	{"SelectUniqueValue", "needs uniqueness queries against the target and Microsoft supports it only for "
	                      "HR-to-AD user provisioning, not for groups"},
	{"AppRoleAssignmentsComplex", "applies to application role assignments, which groups provisioned to AD do "
	                              "not have"},
	{"SingleAppRoleAssignment", "applies to application role assignments, which groups provisioned to AD do "
	                            "not have"},
	{"StringFromSid", "takes a binary SID, and attributes reach expressions as text"},
};

static int check_call(parser *p, node *n, size_t name_off, const char *name)
{
	const func_def *f = n->fn;
	size_t i;

	if ((int)n->nargs < f->min || (f->max >= 0 && (int)n->nargs > f->max)) {
		if (f->min == f->max)
			return perr(p, name_off, "%s takes %d argument%s, not %zu", name, f->min, f->min == 1 ? "" : "s",
			            n->nargs);
		if (f->max < 0)
			return perr(p, name_off, "%s takes at least %d arguments, not %zu", name, f->min, n->nargs);
		return perr(p, name_off, "%s takes %d to %d arguments, not %zu", name, f->min, f->max, n->nargs);
	}
	for (i = 0; i < n->nargs; i++)
		if (n->args[i]->kind == N_EMPTY && (i >= 32 || !(f->optional & (1u << i))))
			return perr(p, n->args[i]->off, "%s: argument %zu is required and cannot be left empty", name,
			            i + 1);
	if (f->impl == gb_expr__fn_switch && n->nargs % 2 != 0)
		return perr(p, name_off, "Switch takes a source, a default and key/value pairs (an even number of "
		                         "arguments), not %zu", n->nargs);
	if (f->impl == gb_expr__fn_replace) {
		char msg[400];
		size_t errcol = name_off;
		const char *m = gb_expr__replace_prepare(n, msg, sizeof(msg), &errcol);

		if (m)
			return perr(p, errcol, "Replace: %s", m);
	}
	if (f->flags & F_NONDET)
		p->nondet = true;
	return 0;
}

static int parse_call(parser *p, size_t name_off, const char *name, size_t name_len, node **out)
{
	node *n = NULL, *arg = NULL;
	size_t cap = 0;
	const func_def *f = gb_expr__func_find(name, name_len);
	char nm[64];
	size_t i;
	int rc;

	snprintf(nm, sizeof(nm), "%.*s", (int)(name_len < 60 ? name_len : 60), name);
	if (!f) {
		for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
			if (strlen(refused[i].name) == name_len && gb_strcasecmp(refused[i].name, nm) == 0)
				return perr(p, name_off, "%s is not supported: it %s", refused[i].name, refused[i].why);
		return perr(p, name_off, "unknown function \"%s\"", nm);
	}
	n = node_new(p, N_CALL, name_off);
	if (!n)
		return GB_ENOMEM;
	n->fn = f;
	p->pos++; /* '(' */
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == ')') {
		p->pos++;
		goto done;
	}
	for (;;) {
		skip_ws(p);
		if (p->pos < p->len && (p->s[p->pos] == ',' || p->s[p->pos] == ')')) {
			arg = node_new(p, N_EMPTY, p->pos);
			if (!arg) {
				rc = GB_ENOMEM;
				goto fail;
			}
		} else if ((rc = parse_expr(p, &arg)) < 0) {
			goto fail;
		}
		if ((rc = node_push(p, n, arg, &cap)) < 0)
			goto fail;
		skip_ws(p);
		if (p->pos >= p->len) {
			rc = perr(p, name_off, "%s: missing ')'", f->name);
			goto fail;
		}
		if (p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->s[p->pos] == ')') {
			p->pos++;
			break;
		}
		rc = perr(p, p->pos, "expected ',' or ')' in the arguments of %s", f->name);
		goto fail;
	}
done:
	if ((rc = check_call(p, n, name_off, f->name)) < 0)
		goto fail;
	*out = n;
	return 0;
fail:
	node_free(n);
	return rc;
}

static int parse_primary(parser *p, node **out)
{
	size_t start;
	char c;

	skip_ws(p);
	start = p->pos;
	if (p->pos >= p->len)
		return perr(p, p->pos, "unexpected end of expression");
	c = p->s[p->pos];
	if (c == '[')
		return parse_attr(p, out);
	if (c == '"')
		return parse_string(p, out);
	if ((c >= '0' && c <= '9') || (c == '-' && p->pos + 1 < p->len && p->s[p->pos + 1] >= '0' &&
	                               p->s[p->pos + 1] <= '9'))
		return parse_number(p, out);
	if (c == '&' && p->pos + 1 < p->len && (p->s[p->pos + 1] == 'H' || p->s[p->pos + 1] == 'h'))
		return parse_number(p, out);
	if (is_ident_start(c)) {
		size_t i = p->pos, nlen;
		const char *name = p->s + p->pos;
		node *n;
		size_t k;

		while (i < p->len && is_ident_char(p->s[i]))
			i++;
		nlen = i - p->pos;
		p->pos = i;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == '(')
			return parse_call(p, start, name, nlen, out);
		if ((nlen == 4 && gb_str_ihas_prefix(name, "true")) || (nlen == 5 && gb_str_ihas_prefix(name, "false"))) {
			n = node_new(p, N_BOOL, start);
			if (!n)
				return GB_ENOMEM;
			n->num = nlen == 4;
			*out = n;
			return 0;
		}
		for (k = 0; k < sizeof(enums) / sizeof(enums[0]); k++) {
			if (strlen(enums[k]) == nlen && gb_str_ihas_prefix(name, enums[k])) {
				n = node_new(p, N_ENUM, start);
				if (!n)
					return GB_ENOMEM;
				n->text = gb_strdup(enums[k]);
				if (!n->text) {
					node_free(n);
					return gb_error_set(p->err, GB_ENOMEM, "out of memory");
				}
				n->len = strlen(enums[k]);
				*out = n;
				return 0;
			}
		}
		return perr(p, start, "unknown name \"%.*s\" (a function needs '(', an attribute '[...]', a string "
		                      "\"...\")", (int)(nlen < 60 ? nlen : 60), name);
	}
	if (c == '(')
		return perr(p, start, "unexpected '(' (parentheses only follow a function name)");
	return perr(p, start, "expected an attribute, a string, a number or a function");
}

static int parse_concat(parser *p, node **out)
{
	node *first = NULL, *cat = NULL, *next = NULL;
	size_t cap = 0;
	int rc;

	if ((rc = parse_primary(p, &first)) < 0)
		return rc;
	for (;;) {
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != '&')
			break;
		if (!cat) {
			cat = node_new(p, N_CONCAT, first->off);
			if (!cat) {
				node_free(first);
				return GB_ENOMEM;
			}
			if ((rc = node_push(p, cat, first, &cap)) < 0) {
				node_free(cat);
				return rc;
			}
		}
		p->pos++;
		if ((rc = parse_primary(p, &next)) < 0 || (rc = node_push(p, cat, next, &cap)) < 0) {
			node_free(cat);
			return rc;
		}
	}
	*out = cat ? cat : first;
	return 0;
}

static bool read_cmp(parser *p, cmp_op *op, size_t *oplen)
{
	const char *s = p->s + p->pos;
	size_t left = p->len - p->pos;

	if (left >= 2 && s[0] == '<' && s[1] == '>')
		*op = CMP_NE, *oplen = 2;
	else if (left >= 2 && s[0] == '<' && s[1] == '=')
		*op = CMP_LE, *oplen = 2;
	else if (left >= 2 && s[0] == '>' && s[1] == '=')
		*op = CMP_GE, *oplen = 2;
	else if (left >= 1 && s[0] == '<')
		*op = CMP_LT, *oplen = 1;
	else if (left >= 1 && s[0] == '>')
		*op = CMP_GT, *oplen = 1;
	else if (left >= 1 && s[0] == '=')
		*op = CMP_EQ, *oplen = 1;
	else
		return false;
	return true;
}

static int parse_expr(parser *p, node **out)
{
	node *left = NULL, *right = NULL, *cmp = NULL;
	size_t cap = 0, oplen, at;
	cmp_op op;
	int rc;

	skip_ws(p);
	if (++p->depth > GB_EXPR_MAX_DEPTH) {
		rc = perr(p, p->pos, "nested deeper than %d levels", GB_EXPR_MAX_DEPTH);
		goto out;
	}
	if ((rc = parse_concat(p, &left)) < 0)
		goto out;
	skip_ws(p);
	if (!read_cmp(p, &op, &oplen)) {
		*out = left;
		goto out;
	}
	at = p->pos;
	p->pos += oplen;
	if ((rc = parse_concat(p, &right)) < 0) {
		node_free(left);
		goto out;
	}
	cmp = node_new(p, N_CMP, left->off);
	if (!cmp) {
		node_free(left);
		node_free(right);
		rc = GB_ENOMEM;
		goto out;
	}
	cmp->op = op;
	if ((rc = node_push(p, cmp, left, &cap)) < 0 || (rc = node_push(p, cmp, right, &cap)) < 0) {
		if (cmp->nargs == 0)
			node_free(right);
		node_free(cmp);
		goto out;
	}
	skip_ws(p);
	if (read_cmp(p, &op, &oplen)) {
		node_free(cmp);
		rc = perr(p, p->pos, "comparisons cannot be chained (the one at column %zu already compares; nest IIF)",
		          gb_expr__column(p->s, at));
		goto out;
	}
	*out = cmp;
out:
	p->depth--;
	return rc;
}

int gb_expr_parse(const char *text, gb_expr **out, gb_error *err)
{
	parser p;
	gb_expr *e = NULL;
	node *root = NULL;
	int rc;

	*out = NULL;
	if (!text)
		return gb_error_set(err, GB_EINVAL, "expression: no text");
	memset(&p, 0, sizeof(p));
	p.s = text;
	p.len = strnlen(text, GB_EXPR_MAX_TEXT + 1);
	p.err = err;
	if (p.len > GB_EXPR_MAX_TEXT)
		return gb_error_set(err, GB_ETOOBIG, "expression: longer than %zu bytes", GB_EXPR_MAX_TEXT);
	skip_ws(&p);
	if (p.pos >= p.len)
		return gb_error_set(err, GB_EPARSE, "expression:1: empty expression");
	if ((rc = parse_expr(&p, &root)) < 0)
		return rc;
	skip_ws(&p);
	if (p.pos < p.len) {
		rc = perr(&p, p.pos, "unexpected text after the end of the expression");
		goto fail;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->text = gb_strndup(text, p.len)) || !(e->mctx = pcre2_match_context_create(NULL))) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto fail;
	}
	pcre2_set_match_limit(e->mctx, 100000);
	pcre2_set_depth_limit(e->mctx, 1000);
	pcre2_set_heap_limit(e->mctx, 16 * 1024); /* KiB */
	e->root = root;
	e->deterministic = !p.nondet;
	*out = e;
	return 0;
fail:
	node_free(root);
	if (e) {
		free(e->text);
		free(e);
	}
	return rc;
}

void gb_expr_free(gb_expr *e)
{
	if (!e)
		return;
	node_free(e->root);
	pcre2_match_context_free(e->mctx);
	free(e->text);
	free(e);
}

const char *gb_expr_text(const gb_expr *e)
{
	return e ? e->text : NULL;
}

bool gb_expr_is_deterministic(const gb_expr *e)
{
	return e && e->deterministic;
}

bool gb_expr_is_constant(const gb_expr *e, const char **out)
{
	if (!e || e->root->kind != N_STR)
		return false;
	if (out)
		*out = e->root->text;
	return true;
}

size_t gb_expr_error_column(const gb_error *err)
{
	const char *m;
	size_t col = 0;

	if (!err || !(m = strstr(err->msg, "expression:")))
		return 0;
	m += strlen("expression:");
	while (*m >= '0' && *m <= '9' && col < (size_t)1 << 40)
		col = col * 10 + (size_t)(*m++ - '0');
	return *m == ':' ? col : 0;
}

int gb_expr_caret(const char *text, size_t col, gb_buf *out, gb_error *err)
{
	size_t len, off, ls, le, i;
	int rc;

	if (!text || col == 0)
		return gb_error_set(err, GB_EINVAL, "expression caret: no column");
	len = strlen(text);
	if (col - 1 > gb_expr__u8_count(text, len))
		return gb_error_set(err, GB_EINVAL, "expression caret: column %zu is past the end", col);
	off = gb_expr__u8_offset(text, len, col - 1);
	ls = off;
	while (ls > 0 && text[ls - 1] != '\n')
		ls--;
	le = off;
	while (le < len && text[le] != '\n')
		le++;
	if (le > ls && text[le - 1] == '\r')
		le--;
	if ((rc = gb_buf_append(out, text + ls, le - ls, err)) < 0 || (rc = gb_buf_putc(out, '\n', err)) < 0)
		return rc;
	for (i = ls; i < off;) {
		uint32_t cp;
		size_t nx = gb_expr__u8_next(text, len, i, &cp);

		if ((rc = gb_buf_putc(out, text[i] == '\t' ? '\t' : ' ', err)) < 0)
			return rc;
		i = nx;
	}
	return gb_buf_putc(out, '^', err);
}
