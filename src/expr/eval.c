/* eval.c: evaluating a parsed expression for one object, with an arena that bounds its memory. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr/expr_int.h"
#include "groupbridge/util.h"

struct gb_expr_value {
	gb_expr_type type;
	char *s;       /* STRING, BOOL and INT as text */
	bool b;
	int64_t n;
	char **items;  /* LIST */
	size_t count;
	bool redacted;
	uint64_t work;
};

void *gb_expr__alloc(ctx *c, size_t n)
{
	arena_block *b = c->blocks;
	size_t a = sizeof(max_align_t), need = (n + a - 1) / a * a;

	if (need < n || need > GB_EXPR_MAX_WORK || c->total + need > GB_EXPR_MAX_WORK)
		return NULL;
	if (!b || b->cap - b->used < need) {
		size_t cap = need > 16384 ? need : 16384;

		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = c->blocks;
		b->used = 0;
		b->cap = cap;
		c->blocks = b;
	}
	c->total += need;
	b->used += need;
	return (char *)b->data + b->used - need;
}

int gb_expr__err(ctx *c, const node *n, int code, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return gb_error_set(c->err, code, "expression:%zu: %s", gb_expr__column(c->e->text, n ? n->off : 0), msg);
}

int gb_expr__oom(ctx *c)
{
	if (c->total >= GB_EXPR_MAX_WORK / 2)
		return gb_error_set(c->err, GB_ETOOBIG, "expression: evaluation used more than %zu bytes",
		                    GB_EXPR_MAX_WORK);
	return gb_error_set(c->err, GB_ENOMEM, "expression: out of memory");
}

int gb_expr__check_time(ctx *c, const node *n)
{
	if (gb_time_mono_ms() > c->deadline_ms)
		return gb_expr__err(c, n, GB_ETOOBIG, "evaluation took longer than %d ms", GB_EXPR_MAX_TIME_MS);
	return 0;
}

bool gb_expr__is_null(const val *v)
{
	return v->type == V_NULL || v->type == V_IGNORE || (v->type == V_LIST && v->count == 0);
}

int gb_expr__set_str(ctx *c, const node *n, val *out, const char *s, size_t len)
{
	char *p;

	if (len > GB_EXPR_MAX_STRING)
		return gb_expr__err(c, n, GB_ETOOBIG, "%s: result longer than %zu bytes",
		                    n && n->fn ? n->fn->name : "value", GB_EXPR_MAX_STRING);
	p = gb_expr__alloc(c, len + 1);
	if (!p)
		return gb_expr__oom(c);
	memcpy(p, s, len);
	p[len] = '\0';
	return gb_expr__set_strbuf(c, n, out, p, len);
}

int gb_expr__set_strbuf(ctx *c, const node *n, val *out, char *s, size_t len)
{
	if (len > GB_EXPR_MAX_STRING)
		return gb_expr__err(c, n, GB_ETOOBIG, "%s: result longer than %zu bytes",
		                    n && n->fn ? n->fn->name : "value", GB_EXPR_MAX_STRING);
	if (memchr(s, '\0', len))
		return gb_expr__err(c, n, GB_EINVAL, "%s: result contains a NUL character",
		                    n && n->fn ? n->fn->name : "value");
	memset(out, 0, sizeof(*out));
	out->type = V_STR;
	out->s = s;
	out->len = len;
	return 0;
}

int gb_expr__set_null(val *out)
{
	memset(out, 0, sizeof(*out));
	return 0;
}

void gb_expr__set_bool(val *out, bool b)
{
	memset(out, 0, sizeof(*out));
	out->type = V_BOOL;
	out->b = b;
}

void gb_expr__set_int(val *out, int64_t i)
{
	memset(out, 0, sizeof(*out));
	out->type = V_INT;
	out->n = i;
}

int gb_expr__sb_add(ctx *c, const node *n, sb *b, const char *s, size_t len)
{
	if (len > GB_EXPR_MAX_STRING || b->len + len > GB_EXPR_MAX_STRING)
		return gb_expr__err(c, n, GB_ETOOBIG, "%s: result longer than %zu bytes",
		                    n && n->fn ? n->fn->name : "value", GB_EXPR_MAX_STRING);
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + len + 1)
			cap *= 2;
		p = gb_expr__alloc(c, cap);
		if (!p)
			return gb_expr__oom(c);
		if (b->len)
			memcpy(p, b->p, b->len);
		b->p = p;
		b->cap = cap;
	}
	if (len)
		memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
	return 0;
}

int gb_expr__sb_addc(ctx *c, const node *n, sb *b, char ch)
{
	return gb_expr__sb_add(c, n, b, &ch, 1);
}

int gb_expr__sb_done(ctx *c, const node *n, sb *b, val *out)
{
	int rc;

	if (!b->p && (rc = gb_expr__sb_add(c, n, b, "", 0)) < 0)
		return rc;
	return gb_expr__set_strbuf(c, n, out, b->p, b->len);
}

static const char *fname(const node *n)
{
	return n->kind == N_CALL ? n->fn->name : "expression";
}

int gb_expr__to_str(ctx *c, const node *n, const val *v, const char **s, size_t *len)
{
	char num[32], *p;
	int k;

	*s = NULL;
	*len = 0;
	switch (v->type) {
	case V_NULL:
	case V_IGNORE:
		return 0;
	case V_STR:
		*s = v->s;
		*len = v->len;
		return 0;
	case V_BOOL:
		*s = v->b ? "True" : "False";
		*len = strlen(*s);
		return 0;
	case V_INT:
		k = snprintf(num, sizeof(num), "%" PRId64, v->n);
		p = gb_expr__alloc(c, (size_t)k + 1);
		if (!p)
			return gb_expr__oom(c);
		memcpy(p, num, (size_t)k + 1);
		*s = p;
		*len = (size_t)k;
		return 0;
	case V_LIST:
		if (v->count == 0)
			return 0;
		if (v->count == 1) {
			*s = v->items[0];
			*len = strlen(v->items[0]);
			return 0;
		}
		return gb_expr__err(c, n, GB_EINVAL, "%s: expects a single value, not a list of %zu values", fname(n),
		                    v->count);
	}
	return 0;
}

int gb_expr__arg(ctx *c, const node *n, size_t i, val *out, bool *present)
{
	memset(out, 0, sizeof(*out));
	if (present)
		*present = false;
	if (i >= n->nargs || n->args[i]->kind == N_EMPTY)
		return 0;
	if (present)
		*present = true;
	return gb_expr__eval(c, n->args[i], out);
}

int gb_expr__arg_str(ctx *c, const node *n, size_t i, const char **s, size_t *len)
{
	val v;
	int rc;

	*s = NULL;
	*len = 0;
	if ((rc = gb_expr__arg(c, n, i, &v, NULL)) < 0)
		return rc;
	return gb_expr__to_str(c, n, &v, s, len);
}

static bool parse_i64(const char *s, size_t len, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	uint64_t v = 0, lim;

	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	while (len > i && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (i < len && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	if (i >= len)
		return false;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned)(s[i] - '0');
		if (v > (lim - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
	return true;
}

static int to_int(ctx *c, const node *n, size_t i, const val *v, int64_t *out)
{
	const char *s;
	size_t len;
	int rc;

	if (v->type == V_INT) {
		*out = v->n;
		return 0;
	}
	if (v->type == V_BOOL)
		return gb_expr__err(c, n, GB_EINVAL, "%s: argument %zu is a boolean, not a number", fname(n), i + 1);
	if ((rc = gb_expr__to_str(c, n, v, &s, &len)) < 0)
		return rc;
	if (!s)
		return gb_expr__err(c, n, GB_EINVAL, "%s: argument %zu is null, not a number", fname(n), i + 1);
	if (!parse_i64(s, len, out))
		return gb_expr__err(c, n, GB_EINVAL, "%s: argument %zu \"%.40s\" is not a whole number", fname(n),
		                    i + 1, s);
	return 0;
}

int gb_expr__arg_int_opt(ctx *c, const node *n, size_t i, int64_t *out, bool *present)
{
	val v;
	int rc;

	*out = 0;
	if ((rc = gb_expr__arg(c, n, i, &v, present)) < 0)
		return rc;
	if (!*present)
		return 0;
	return to_int(c, n, i, &v, out);
}

int gb_expr__arg_int(ctx *c, const node *n, size_t i, int64_t *out)
{
	bool present;
	int rc = gb_expr__arg_int_opt(c, n, i, out, &present);

	if (rc == 0 && !present)
		return gb_expr__err(c, n, GB_EINVAL, "%s: argument %zu is missing", fname(n), i + 1);
	return rc;
}

int gb_expr__to_bool(ctx *c, const node *n, const val *v, const char *what, bool *out)
{
	const char *s;
	size_t len;
	int64_t i;
	int rc;

	if (v->type == V_BOOL) {
		*out = v->b;
		return 0;
	}
	if (v->type == V_INT) {
		*out = v->n != 0;
		return 0;
	}
	if (gb_expr__is_null(v))
		return gb_expr__err(c, n, GB_EINVAL, "%s: %s is null, not a boolean", fname(n), what);
	if ((rc = gb_expr__to_str(c, n, v, &s, &len)) < 0)
		return rc;
	if (gb_str_iequal(s, "true")) {
		*out = true;
		return 0;
	}
	if (gb_str_iequal(s, "false")) {
		*out = false;
		return 0;
	}
	if (parse_i64(s, len, &i)) {
		*out = i != 0;
		return 0;
	}
	return gb_expr__err(c, n, GB_EINVAL, "%s: %s \"%.40s\" is not a boolean", fname(n), what, s);
}

static int eval_attr(ctx *c, const node *n, val *out)
{
	gb_expr_attr a;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&a, 0, sizeof(a));
	if ((rc = c->lookup(n->text, c->user, &a, c->err)) < 0)
		return rc;
	if (a.value)
		return gb_expr__set_str(c, n, out, a.value, strlen(a.value));
	if (!a.values || a.count == 0)
		return 0;
	if (a.count > GB_EXPR_MAX_ITEMS)
		return gb_expr__err(c, n, GB_ETOOBIG, "[%s] has more than %zu values", n->text, GB_EXPR_MAX_ITEMS);
	out->items = gb_expr__alloc(c, a.count * sizeof(*out->items));
	if (!out->items)
		return gb_expr__oom(c);
	for (i = 0; i < a.count; i++) {
		val tmp;

		if (!a.values[i])
			return gb_expr__err(c, n, GB_EINVAL, "[%s]: value %zu is missing", n->text, i + 1);
		if ((rc = gb_expr__set_str(c, n, &tmp, a.values[i], strlen(a.values[i]))) < 0)
			return rc;
		out->items[i] = tmp.s;
	}
	out->type = V_LIST;
	out->count = a.count;
	return 0;
}

static int eval_concat(ctx *c, const node *n, val *out)
{
	sb b = {0};
	size_t i, len;
	const char *s;
	val v;
	int rc;

	for (i = 0; i < n->nargs; i++) {
		if ((rc = gb_expr__eval(c, n->args[i], &v)) < 0 || (rc = gb_expr__to_str(c, n, &v, &s, &len)) < 0)
			return rc;
		if (s && (rc = gb_expr__sb_add(c, n, &b, s, len)) < 0)
			return rc;
	}
	return gb_expr__sb_done(c, n, &b, out);
}

static int eval_cmp(ctx *c, const node *n, val *out)
{
	val a, b;
	const char *sa, *sb_;
	size_t la, lb;
	int64_t ia, ib;
	int rc, r;
	bool na, nb;

	if ((rc = gb_expr__eval(c, n->args[0], &a)) < 0 || (rc = gb_expr__eval(c, n->args[1], &b)) < 0)
		return rc;
	na = gb_expr__is_null(&a);
	nb = gb_expr__is_null(&b);
	if (na || nb) {
		/* null equals only null; ordering against null is false (never a guessed order) */
		bool eq = na && nb;

		gb_expr__set_bool(out, n->op == CMP_EQ ? eq : n->op == CMP_NE ? !eq : false);
		return 0;
	}
	if ((rc = gb_expr__to_str(c, n, &a, &sa, &la)) < 0 || (rc = gb_expr__to_str(c, n, &b, &sb_, &lb)) < 0)
		return rc;
	if (parse_i64(sa, la, &ia) && parse_i64(sb_, lb, &ib)) {
		r = ia < ib ? -1 : ia > ib;
	} else if ((a.type == V_BOOL || b.type == V_BOOL) && (gb_str_iequal(sa, "true") || gb_str_iequal(sa, "false")) &&
	           (gb_str_iequal(sb_, "true") || gb_str_iequal(sb_, "false"))) {
		r = gb_strcasecmp(sa, sb_) == 0 ? 0 : (gb_str_iequal(sa, "true") ? 1 : -1);
	} else {
		r = memcmp(sa, sb_, la < lb ? la : lb);
		if (r == 0)
			r = la < lb ? -1 : la > lb;
	}
	switch (n->op) {
	case CMP_EQ: gb_expr__set_bool(out, r == 0); break;
	case CMP_NE: gb_expr__set_bool(out, r != 0); break;
	case CMP_LT: gb_expr__set_bool(out, r < 0); break;
	case CMP_LE: gb_expr__set_bool(out, r <= 0); break;
	case CMP_GT: gb_expr__set_bool(out, r > 0); break;
	case CMP_GE: gb_expr__set_bool(out, r >= 0); break;
	}
	return 0;
}

int gb_expr__eval(ctx *c, const node *n, val *out)
{
	memset(out, 0, sizeof(*out));
	if ((++c->steps & 255) == 0) {
		int rc = gb_expr__check_time(c, n);

		if (rc < 0)
			return rc;
	}
	switch (n->kind) {
	case N_EMPTY:
		return 0;
	case N_ATTR:
		return eval_attr(c, n, out);
	case N_STR:
	case N_ENUM:
		out->type = V_STR;
		out->s = n->text;
		out->len = n->len;
		return 0;
	case N_INT: gb_expr__set_int(out, n->num); return 0;
	case N_BOOL: gb_expr__set_bool(out, n->num != 0); return 0;
	case N_CONCAT:
		return eval_concat(c, n, out);
	case N_CMP:
		return eval_cmp(c, n, out);
	case N_CALL: {
		int rc = n->fn->impl(c, n, out);

		/* IgnoreFlowIfNullOrEmpty means "do not write" only at the top; inside a function it is null */
		if (rc == 0 && out->type == V_IGNORE && n != c->e->root)
			out->type = V_NULL;
		return rc;
	}
	}
	return gb_expr__err(c, n, GB_ERROR, "internal error: unknown node");
}

/* ---- core functions: logic, null tests, conversions ---- */

int gb_expr__fn_iif(ctx *c, const node *n, val *out)
{
	val cond;
	bool b;
	int rc;

	if ((rc = gb_expr__arg(c, n, 0, &cond, NULL)) < 0 || (rc = gb_expr__to_bool(c, n, &cond, "condition", &b)) < 0)
		return rc;
	return gb_expr__arg(c, n, b ? 1 : 2, out, NULL);
}

int gb_expr__fn_switch(ctx *c, const node *n, val *out)
{
	const char *src, *key;
	size_t slen, klen, i;
	int rc;

	if ((rc = gb_expr__arg_str(c, n, 0, &src, &slen)) < 0)
		return rc;
	if (!src) /* a null source matches the key "" (Microsoft's workaround for empty values relies on it) */
		src = "", slen = 0;
	for (i = 2; i + 1 < n->nargs; i += 2) {
		if ((rc = gb_expr__arg_str(c, n, i, &key, &klen)) < 0)
			return rc;
		if (key && klen == slen && memcmp(key, src, slen) == 0)
			return gb_expr__arg(c, n, i + 1, out, NULL);
	}
	return gb_expr__arg(c, n, 1, out, NULL);
}

int gb_expr__fn_coalesce(ctx *c, const node *n, val *out)
{
	size_t i;
	int rc;

	for (i = 0; i < n->nargs; i++) {
		if ((rc = gb_expr__arg(c, n, i, out, NULL)) < 0)
			return rc;
		if (!gb_expr__is_null(out))
			return 0;
	}
	memset(out, 0, sizeof(*out));
	return 0;
}

static int null_or_empty(ctx *c, const node *n, bool *isnull, bool *empty)
{
	val v;
	const char *s;
	size_t len;
	int rc;

	if ((rc = gb_expr__arg(c, n, 0, &v, NULL)) < 0)
		return rc;
	*isnull = gb_expr__is_null(&v);
	*empty = false;
	if (!*isnull && v.type == V_STR)
		*empty = v.len == 0;
	else if (!*isnull && v.type == V_LIST) {
		/* a list is empty when all its values are */
		size_t i;

		*empty = true;
		for (i = 0; i < v.count; i++)
			if (v.items[i][0])
				*empty = false;
	}
	(void)s;
	(void)len;
	return 0;
}

int gb_expr__fn_isnull(ctx *c, const node *n, val *out)
{
	bool isnull, empty;
	int rc = null_or_empty(c, n, &isnull, &empty);

	if (rc == 0)
		gb_expr__set_bool(out, isnull);
	return rc;
}

int gb_expr__fn_isnullorempty(ctx *c, const node *n, val *out)
{
	bool isnull, empty;
	int rc = null_or_empty(c, n, &isnull, &empty);

	if (rc == 0)
		gb_expr__set_bool(out, isnull || empty);
	return rc;
}

int gb_expr__fn_ispresent(ctx *c, const node *n, val *out)
{
	bool isnull, empty;
	int rc = null_or_empty(c, n, &isnull, &empty);

	if (rc == 0)
		gb_expr__set_bool(out, !isnull && !empty);
	return rc;
}

int gb_expr__fn_isstring(ctx *c, const node *n, val *out)
{
	val v;
	int rc;

	if ((rc = gb_expr__arg(c, n, 0, &v, NULL)) < 0)
		return rc;
	gb_expr__set_bool(out, !gb_expr__is_null(&v) && !(v.type == V_LIST && v.count > 1));
	return 0;
}

int gb_expr__fn_not(ctx *c, const node *n, val *out)
{
	val v;
	const char *s;
	size_t len;
	bool t = false;
	int rc;

	if ((rc = gb_expr__arg(c, n, 0, &v, NULL)) < 0)
		return rc;
	if (v.type == V_BOOL)
		t = v.b;
	else if (v.type == V_STR || (v.type == V_LIST && v.count == 1)) {
		if ((rc = gb_expr__to_str(c, n, &v, &s, &len)) < 0)
			return rc;
		t = gb_str_iequal(s, "true");
	}
	gb_expr__set_bool(out, !t);
	return 0;
}

int gb_expr__fn_cbool(ctx *c, const node *n, val *out)
{
	val v;
	bool b;
	int rc;

	if ((rc = gb_expr__arg(c, n, 0, &v, NULL)) < 0 || (rc = gb_expr__to_bool(c, n, &v, "value", &b)) < 0)
		return rc;
	gb_expr__set_bool(out, b);
	return 0;
}

int gb_expr__fn_cstr(ctx *c, const node *n, val *out)
{
	val v;
	const char *s;
	size_t len;
	int rc;

	if ((rc = gb_expr__arg(c, n, 0, &v, NULL)) < 0 || (rc = gb_expr__to_str(c, n, &v, &s, &len)) < 0)
		return rc;
	memset(out, 0, sizeof(*out));
	if (!s)
		return 0;
	out->type = V_STR;
	out->s = s;
	out->len = len;
	out->redacted = v.redacted;
	return 0;
}

int gb_expr__fn_error(ctx *c, const node *n, val *out)
{
	const char *s;
	size_t len;
	int rc;

	(void)out;
	if ((rc = gb_expr__arg_str(c, n, 0, &s, &len)) < 0)
		return rc;
	return gb_expr__err(c, n, GB_EINVAL, "Error: %.400s", s ? s : "(null message)");
}

int gb_expr__fn_redact(ctx *c, const node *n, val *out)
{
	int rc = gb_expr__arg(c, n, 0, out, NULL);

	c->redacted = true; /* whatever the result is built from it, it is not logged */
	if (rc == 0)
		out->redacted = true;
	return rc;
}

int gb_expr__fn_ignoreflow(ctx *c, const node *n, val *out)
{
	bool isnull, empty;
	int rc;

	if ((rc = gb_expr__arg(c, n, 0, out, NULL)) < 0)
		return rc;
	isnull = gb_expr__is_null(out);
	empty = out->type == V_STR && out->len == 0;
	if (isnull || empty) {
		memset(out, 0, sizeof(*out));
		out->type = V_IGNORE;
	}
	return 0;
}

/* ---- the public evaluation entry points ---- */

static void arena_free(ctx *c)
{
	while (c->blocks) {
		arena_block *b = c->blocks;

		c->blocks = b->next;
		free(b);
	}
	pcre2_match_data_free(c->md);
	c->md = NULL;
}

static int export_value(ctx *c, const val *v, gb_expr_value **out)
{
	gb_expr_value *r = calloc(1, sizeof(*r));
	char num[32];
	size_t i;

	if (!r)
		return gb_error_set(c->err, GB_ENOMEM, "out of memory");
	r->redacted = v->redacted || c->redacted;
	r->work = c->work;
	switch (v->type) {
	case V_NULL:
		r->type = GB_EXPR_NULL;
		break;
	case V_IGNORE:
		r->type = GB_EXPR_IGNORE;
		break;
	case V_STR:
		r->type = GB_EXPR_STRING;
		r->s = gb_strndup(v->s, v->len);
		break;
	case V_BOOL:
		r->type = GB_EXPR_BOOL;
		r->b = v->b;
		r->s = gb_strdup(v->b ? "True" : "False");
		break;
	case V_INT:
		r->type = GB_EXPR_INT;
		r->n = v->n;
		snprintf(num, sizeof(num), "%" PRId64, v->n);
		r->s = gb_strdup(num);
		break;
	case V_LIST:
		if (v->count == 0) {
			r->type = GB_EXPR_NULL;
			break;
		}
		r->type = GB_EXPR_LIST;
		r->items = calloc(v->count, sizeof(*r->items));
		if (!r->items)
			goto oom;
		r->count = v->count;
		for (i = 0; i < v->count; i++)
			if (!(r->items[i] = gb_strdup(v->items[i])))
				goto oom;
		break;
	}
	if ((r->type == GB_EXPR_STRING || r->type == GB_EXPR_BOOL || r->type == GB_EXPR_INT) && !r->s)
		goto oom;
	*out = r;
	return 0;
oom:
	gb_expr_value_free(r);
	return gb_error_set(c->err, GB_ENOMEM, "out of memory");
}

int gb_expr_eval(const gb_expr *e, gb_expr_lookup_fn lookup, void *user, gb_expr_value **out, gb_error *err)
{
	ctx c;
	val v;
	int rc;

	*out = NULL;
	if (!e || !lookup)
		return gb_error_set(err, GB_EINVAL, "expression: nothing to evaluate");
	memset(&c, 0, sizeof(c));
	c.e = e;
	c.lookup = lookup;
	c.user = user;
	c.err = err;
	c.deadline_ms = gb_time_mono_ms() + GB_EXPR_MAX_TIME_MS;
	rc = gb_expr__eval(&c, e->root, &v);
	if (rc == 0)
		rc = export_value(&c, &v, out);
	arena_free(&c);
	return rc;
}

int gb_expr_eval_string(const gb_expr *e, gb_expr_lookup_fn lookup, void *user, char **out, gb_error *err)
{
	gb_expr_value *v = NULL;
	char *s = NULL;
	int rc;

	*out = NULL;
	if ((rc = gb_expr_eval(e, lookup, user, &v, err)) < 0)
		return rc;
	switch (v->type) {
	case GB_EXPR_NULL:
	case GB_EXPR_IGNORE:
		break;
	case GB_EXPR_LIST:
		if (v->count > 1) {
			rc = gb_error_set(err, GB_EINVAL, "expression: gives %zu values where one is expected", v->count);
			goto done;
		}
		s = gb_strdup(v->items[0]);
		break;
	default:
		s = gb_strdup(v->s);
		break;
	}
	if ((v->type != GB_EXPR_NULL && v->type != GB_EXPR_IGNORE) && !s) {
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		goto done;
	}
	*out = s;
done:
	gb_expr_value_free(v);
	return rc;
}

gb_expr_type gb_expr_value_type(const gb_expr_value *v)
{
	return v ? v->type : GB_EXPR_NULL;
}

const char *gb_expr_value_str(const gb_expr_value *v)
{
	if (!v)
		return NULL;
	if (v->type == GB_EXPR_STRING)
		return v->s;
	if (v->type == GB_EXPR_LIST && v->count == 1)
		return v->items[0];
	return NULL;
}

bool gb_expr_value_bool(const gb_expr_value *v)
{
	return v && v->type == GB_EXPR_BOOL && v->b;
}

int64_t gb_expr_value_int(const gb_expr_value *v)
{
	return v && v->type == GB_EXPR_INT ? v->n : 0;
}

size_t gb_expr_value_count(const gb_expr_value *v)
{
	if (!v || v->type == GB_EXPR_NULL || v->type == GB_EXPR_IGNORE)
		return 0;
	return v->type == GB_EXPR_LIST ? v->count : 1;
}

const char *gb_expr_value_item(const gb_expr_value *v, size_t i)
{
	if (i >= gb_expr_value_count(v))
		return NULL;
	return v->type == GB_EXPR_LIST ? v->items[i] : v->s;
}

bool gb_expr_value_redacted(const gb_expr_value *v)
{
	return v && v->redacted;
}

uint64_t gb_expr_value_work(const gb_expr_value *v)
{
	return v ? v->work : 0;
}

void gb_expr_value_free(gb_expr_value *v)
{
	size_t i;

	if (!v)
		return;
	free(v->s);
	if (v->items)
		for (i = 0; i < v->count; i++)
			free(v->items[i]);
	free(v->items);
	free(v);
}
