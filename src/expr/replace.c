/* replace.c: Replace in its five forms, with PCRE2 for the regex forms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr/expr_int.h"
#include "groupbridge/util.h"

enum { A_SRC, A_OLD, A_RE, A_GROUP, A_REPL, A_ATTR, A_TEMPLATE };

static bool has(const node *n, size_t i)
{
	return i < n->nargs && n->args[i]->kind != N_EMPTY;
}

pcre2_code *gb_expr__regex_compile(const char *pat, size_t len, char *msg, size_t msgn, size_t *erroff)
{
	pcre2_compile_context *cc;
	pcre2_code *re;
	PCRE2_SIZE off = 0;
	int ec = 0;

	*erroff = 0;
	if (len > GB_EXPR_MAX_PATTERN) {
		snprintf(msg, msgn, "regex pattern longer than %zu bytes", GB_EXPR_MAX_PATTERN);
		return NULL;
	}
	cc = pcre2_compile_context_create(NULL);
	if (!cc) {
		snprintf(msg, msgn, "out of memory");
		return NULL;
	}
	pcre2_set_parens_nest_limit(cc, 64);
	pcre2_set_max_pattern_length(cc, GB_EXPR_MAX_PATTERN);
	re = pcre2_compile((PCRE2_SPTR)pat, len, PCRE2_UTF | PCRE2_DUPNAMES | PCRE2_NEVER_BACKSLASH_C, &ec, &off, cc);
	pcre2_compile_context_free(cc);
	if (!re) {
		PCRE2_UCHAR m[200];

		pcre2_get_error_message(ec, m, sizeof(m));
		snprintf(msg, msgn, "invalid regex at offset %zu: %s", (size_t)off, (const char *)m);
		*erroff = off;
	}
	return re;
}

/* Whether name is a group of re. */
static bool group_exists(const pcre2_code *re, const char *name)
{
	PCRE2_SPTR first, last;

	return pcre2_substring_nametable_scan(re, (PCRE2_SPTR)name, &first, &last) > 0;
}

const char *gb_expr__replace_prepare(node *n, char *msg, size_t msgn, size_t *errcol)
{
	bool old = has(n, A_OLD), re = has(n, A_RE), group = has(n, A_GROUP), repl = has(n, A_REPL),
	     attr = has(n, A_ATTR), tmpl = has(n, A_TEMPLATE);

	if (old && re)
		return "give either oldValue or regexPattern, not both";
	if (old) {
		if (group || attr)
			return "regexGroupName and replacementAttributeName need regexPattern, not oldValue";
		if (repl && !tmpl)
			n->mode = REPL_LITERAL;
		else if (tmpl && !repl)
			n->mode = REPL_TEMPLATE;
		else
			return "with oldValue give either replacementValue or template";
	} else if (re) {
		if (tmpl)
			return "template needs oldValue, not regexPattern";
		if (group && attr && !repl)
			n->mode = REPL_REGEX_ATTR;
		else if (group && repl && !attr)
			n->mode = REPL_REGEX_GROUP;
		else if (!group && repl && !attr)
			n->mode = REPL_REGEX;
		else
			return "with regexPattern give replacementValue, regexGroupName and replacementValue, or "
			       "regexGroupName and replacementAttributeName";
	} else {
		return "give oldValue or regexPattern";
	}
	if (re && n->args[A_RE]->kind == N_STR) {
		size_t off;

		n->re = gb_expr__regex_compile(n->args[A_RE]->text, n->args[A_RE]->len, msg, msgn, &off);
		if (!n->re) {
			*errcol = n->args[A_RE]->off;
			return msg;
		}
		if (group && n->args[A_GROUP]->kind == N_STR && !group_exists(n->re, n->args[A_GROUP]->text)) {
			snprintf(msg, msgn, "regexGroupName \"%.60s\" is not a named group of the pattern",
			         n->args[A_GROUP]->text);
			*errcol = n->args[A_GROUP]->off;
			return msg;
		}
	}
	return NULL;
}

/* The span of the first set group called name in the last match; false when none is set. */
static bool named_span(const pcre2_code *re, const PCRE2_SIZE *ov, int rc, const char *name, size_t *s, size_t *e)
{
	PCRE2_SPTR first, last, p;
	int size = pcre2_substring_nametable_scan(re, (PCRE2_SPTR)name, &first, &last);

	if (size <= 0)
		return false;
	for (p = first; p <= last; p += size) {
		int g = (p[0] << 8) | p[1];

		if (g < rc && ov[2 * g] != PCRE2_UNSET) {
			*s = ov[2 * g];
			*e = ov[2 * g + 1];
			return true;
		}
	}
	return false;
}

static bool number_span(const PCRE2_SIZE *ov, int rc, long g, size_t *s, size_t *e)
{
	if (g < 0 || g >= rc || ov[2 * g] == PCRE2_UNSET)
		return false;
	*s = ov[2 * g];
	*e = ov[2 * g + 1];
	return true;
}

/* Appends replacement r with .NET's substitutions: $n ${n} ${name} $$ $& $` $' $_; anything else is literal. */
static int expand(ctx *c, const node *n, sb *b, const pcre2_code *re, const PCRE2_SIZE *ov, int rc, const char *subj,
                  size_t slen, const char *r, size_t rlen)
{
	uint32_t ngroups = 0;
	size_t i = 0, s, e;
	int x;

	pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, &ngroups);
	while (i < rlen) {
		if (r[i] != '$' || i + 1 >= rlen) {
			if ((x = gb_expr__sb_addc(c, n, b, r[i++])) < 0)
				return x;
			continue;
		}
		if (r[i + 1] == '$') {
			x = gb_expr__sb_addc(c, n, b, '$');
			i += 2;
		} else if (r[i + 1] == '&') {
			x = gb_expr__sb_add(c, n, b, subj + ov[0], ov[1] - ov[0]);
			i += 2;
		} else if (r[i + 1] == '`') {
			x = gb_expr__sb_add(c, n, b, subj, ov[0]);
			i += 2;
		} else if (r[i + 1] == '\'') {
			x = gb_expr__sb_add(c, n, b, subj + ov[1], slen - ov[1]);
			i += 2;
		} else if (r[i + 1] == '_') {
			x = gb_expr__sb_add(c, n, b, subj, slen);
			i += 2;
		} else if (r[i + 1] >= '0' && r[i + 1] <= '9') {
			long g = 0;
			size_t j = i + 1;

			while (j < rlen && r[j] >= '0' && r[j] <= '9' && g * 10 + (r[j] - '0') <= (long)ngroups)
				g = g * 10 + (r[j++] - '0');
			if (j == i + 1) { /* $9 with fewer groups: literal, as .NET */
				x = gb_expr__sb_add(c, n, b, r + i, 2);
				i += 2;
			} else {
				x = number_span(ov, rc, g, &s, &e) ? gb_expr__sb_add(c, n, b, subj + s, e - s) : 0;
				i = j;
			}
		} else if (r[i + 1] == '{') {
			const char *close = memchr(r + i + 2, '}', rlen - i - 2);
			char name[64];
			size_t nl = close ? (size_t)(close - (r + i + 2)) : 0;

			if (!close || nl == 0 || nl >= sizeof(name)) {
				x = gb_expr__sb_addc(c, n, b, '$');
				i++;
			} else {
				bool digits = true, known;
				size_t j;

				memcpy(name, r + i + 2, nl);
				name[nl] = '\0';
				for (j = 0; j < nl; j++)
					digits = digits && name[j] >= '0' && name[j] <= '9';
				if (digits) {
					long g = nl < 6 ? strtol(name, NULL, 10) : -1;

					known = g >= 0 && g <= (long)ngroups;
					x = known && number_span(ov, rc, g, &s, &e)
					        ? gb_expr__sb_add(c, n, b, subj + s, e - s)
					        : 0;
				} else {
					known = group_exists(re, name);
					x = known && named_span(re, ov, rc, name, &s, &e)
					        ? gb_expr__sb_add(c, n, b, subj + s, e - s)
					        : 0;
				}
				if (x == 0 && !known) /* an unknown group stays literal, as .NET leaves it */
					x = gb_expr__sb_add(c, n, b, r + i, nl + 3);
				i += nl + 3;
			}
		} else {
			x = gb_expr__sb_addc(c, n, b, '$');
			i++;
		}
		if (x < 0)
			return x;
	}
	return 0;
}

static int match_error(ctx *c, const node *n, int rc)
{
	PCRE2_UCHAR m[200];

	pcre2_get_error_message(rc, m, sizeof(m));
	return gb_expr__err(c, n,
	                    rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT
	                        ? GB_ETOOBIG
	                        : GB_EINVAL,
	                    "Replace: regex match failed: %s", (const char *)m);
}

/* Replaces every match of re in s: the whole match by the expanded replacement (group NULL), or only the named
 * group's text by the literal replacement. */
static int regex_replace(ctx *c, const node *n, const pcre2_code *re, const char *s, size_t len, const char *repl,
                         size_t rlen, const char *group, val *out)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	size_t at = 0, start = 0;
	uint32_t opts = 0;
	sb b = {0};
	int rc, x;

	if (!md)
		return gb_expr__oom(c);
	for (;;) {
		PCRE2_SIZE *ov;

		if ((x = gb_expr__check_time(c, n)) < 0)
			goto done;
		rc = pcre2_match(re, (PCRE2_SPTR)s, len, start, opts, md, c->e->mctx);
		if (rc == PCRE2_ERROR_NOMATCH) {
			uint32_t cp;

			if (opts == 0 || start >= len)
				break;
			start = gb_expr__u8_next(s, len, start, &cp); /* after an empty match, move on one character */
			opts = 0;
			continue;
		}
		if (rc < 0) {
			x = match_error(c, n, rc);
			goto done;
		}
		ov = pcre2_get_ovector_pointer(md);
		if (ov[0] < at || ov[1] < ov[0] || ov[1] > len) {
			x = gb_expr__err(c, n, GB_EINVAL,
			                 "Replace: the pattern's match moves backwards (\\K in a lookaround)");
			goto done;
		}
		if ((x = gb_expr__sb_add(c, n, &b, s + at, ov[0] - at)) < 0)
			goto done;
		if (!group) {
			x = expand(c, n, &b, re, ov, rc, s, len, repl, rlen);
		} else {
			size_t gs, ge;

			if (named_span(re, ov, rc, group, &gs, &ge) && gs >= ov[0] && ge <= ov[1] && gs <= ge) {
				if ((x = gb_expr__sb_add(c, n, &b, s + ov[0], gs - ov[0])) == 0 &&
				    (x = gb_expr__sb_add(c, n, &b, repl, rlen)) == 0)
					x = gb_expr__sb_add(c, n, &b, s + ge, ov[1] - ge);
			} else {
				x = gb_expr__sb_add(c, n, &b, s + ov[0], ov[1] - ov[0]);
			}
		}
		if (x < 0)
			goto done;
		at = ov[1];
		start = ov[1];
		opts = ov[0] == ov[1] ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0;
	}
	if ((x = gb_expr__sb_add(c, n, &b, s + at, len - at)) == 0)
		x = gb_expr__sb_done(c, n, &b, out);
done:
	pcre2_match_data_free(md);
	return x;
}

/* REPL_REGEX_ATTR: the named group of the first match in subject; *found false when there is none. */
static int regex_extract(ctx *c, const node *n, const pcre2_code *re, const char *s, size_t len, const char *group,
                         val *out, bool *found)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	size_t gs, ge;
	int rc, x = 0;

	*found = false;
	if (!md)
		return gb_expr__oom(c);
	rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, md, c->e->mctx);
	if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
		x = match_error(c, n, rc);
	else if (rc > 0 && named_span(re, pcre2_get_ovector_pointer(md), rc, group, &gs, &ge) && gs <= ge && ge <= len) {
		*found = true;
		x = gb_expr__set_str(c, n, out, s + gs, ge - gs);
	}
	pcre2_match_data_free(md);
	return x;
}

static int replace_literal(ctx *c, const node *n, const char *s, size_t len, const char *old, size_t olen,
                           const char *repl, size_t rlen, val *out)
{
	size_t *pos, npos, i, at = 0;
	sb b = {0};
	int rc;

	if ((rc = gb_expr__find_all(c, n, s, len, old, olen, &pos, &npos)) < 0)
		return rc;
	for (i = 0; i < npos; i++) {
		if ((rc = gb_expr__sb_add(c, n, &b, s + at, pos[i] - at)) < 0 ||
		    (rc = gb_expr__sb_add(c, n, &b, repl, rlen)) < 0)
			return rc;
		at = pos[i] + olen;
	}
	if ((rc = gb_expr__sb_add(c, n, &b, s + at, len - at)) < 0)
		return rc;
	return gb_expr__sb_done(c, n, &b, out);
}

static int need(ctx *c, const node *n, const char *s, const char *what)
{
	if (!s)
		return gb_expr__err(c, n, GB_EINVAL, "Replace: %s is null", what);
	return 0;
}

int gb_expr__fn_replace(ctx *c, const node *n, val *out)
{
	const char *src, *old = NULL, *pat = NULL, *group = NULL, *repl = NULL;
	size_t slen, olen = 0, plen = 0, glen = 0, rlen = 0;
	pcre2_code *owned = NULL;
	const pcre2_code *re = n->re;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = gb_expr__arg_str(c, n, A_SRC, &src, &slen)) < 0)
		return rc;
	if (n->mode == REPL_LITERAL || n->mode == REPL_TEMPLATE) {
		if ((rc = gb_expr__arg_str(c, n, A_OLD, &old, &olen)) < 0 || (rc = need(c, n, old, "oldValue")) < 0)
			return rc;
		if (olen == 0)
			return gb_expr__err(c, n, GB_EINVAL, "Replace: oldValue is empty");
		/* literal: oldValue becomes replacementValue in source; template: oldValue becomes source in template */
		bool literal = n->mode == REPL_LITERAL;

		if ((rc = gb_expr__arg_str(c, n, literal ? A_REPL : A_TEMPLATE, &repl, &rlen)) < 0 ||
		    (rc = need(c, n, repl, literal ? "replacementValue" : "template")) < 0)
			return rc;
		if (!src)
			return 0;
		return literal ? replace_literal(c, n, src, slen, old, olen, repl, rlen, out)
		               : replace_literal(c, n, repl, rlen, old, olen, src, slen, out);
	}
	if (!re) {
		char msg[300];
		size_t off;

		if ((rc = gb_expr__arg_str(c, n, A_RE, &pat, &plen)) < 0 || (rc = need(c, n, pat, "regexPattern")) < 0)
			return rc;
		owned = gb_expr__regex_compile(pat, plen, msg, sizeof(msg), &off);
		if (!owned)
			return gb_expr__err(c, n, GB_EINVAL, "Replace: %s", msg);
		re = owned;
	}
	if (n->mode == REPL_REGEX_GROUP || n->mode == REPL_REGEX_ATTR) {
		if ((rc = gb_expr__arg_str(c, n, A_GROUP, &group, &glen)) < 0 ||
		    (rc = need(c, n, group, "regexGroupName")) < 0)
			goto done;
		if (!group_exists(re, group)) {
			rc = gb_expr__err(c, n, GB_EINVAL,
			                  "Replace: regexGroupName \"%.60s\" is not a named group of the pattern",
			                  group);
			goto done;
		}
	}
	if (n->mode == REPL_REGEX_ATTR) {
		const char *a;
		size_t alen;
		bool found;

		if (src && slen > 0) {
			rc = gb_expr__set_str(c, n, out, src, slen);
			goto done;
		}
		if ((rc = gb_expr__arg_str(c, n, A_ATTR, &a, &alen)) < 0)
			goto done;
		if (a && (rc = regex_extract(c, n, re, a, alen, group, out, &found)) == 0 && found)
			goto done;
		rc = src ? gb_expr__set_str(c, n, out, src, slen) : 0;
		goto done;
	}
	if ((rc = gb_expr__arg_str(c, n, A_REPL, &repl, &rlen)) < 0 || (rc = need(c, n, repl, "replacementValue")) < 0)
		goto done;
	if (src)
		rc = regex_replace(c, n, re, src, slen, repl, rlen, n->mode == REPL_REGEX_GROUP ? group : NULL, out);
done:
	pcre2_code_free(owned);
	return rc;
}
