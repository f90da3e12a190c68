/* scope.c: selected ids and Cloud Sync's attribute filters. */
#include "groupbridge/scope.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/buf.h"
#include "groupbridge/util.h"

#define MAX_CLAUSES 32
#define MAX_IDS 100000
#define MATCH_LIMIT 100000

typedef enum {
	OP_EQUALS,
	OP_NOT_EQUALS,
	OP_IS_TRUE,
	OP_IS_FALSE,
	OP_IS_NULL,
	OP_IS_NOT_NULL,
	OP_REGEX,
	OP_NOT_REGEX,
	OP_GT,
	OP_GE
} op_t;

static const struct {
	const char *text; /* longest first, so "NOT REGEX MATCH" wins over shorter prefixes */
	op_t op;
	bool takes_value;
} ops[] = {
	{"GREATER_THAN_OR_EQUALS", OP_GE, true}, {"GREATER_THAN", OP_GT, true},
	{"NOT REGEX MATCH", OP_NOT_REGEX, true},   {"REGEX MATCH", OP_REGEX, true},
	{"NOT EQUALS", OP_NOT_EQUALS, true},       {"EQUALS", OP_EQUALS, true},
	{"IS NOT NULL", OP_IS_NOT_NULL, false},    {"IS NULL", OP_IS_NULL, false},
	{"IS TRUE", OP_IS_TRUE, false},            {"IS FALSE", OP_IS_FALSE, false},
};

typedef struct clause {
	char *attr;
	op_t op;
	char *value;
	long number;
	pcre2_code *re;
} clause;

typedef struct filter {
	clause clauses[MAX_CLAUSES];
	int n;
} filter;

struct gb_scope {
	bool selected;
	char **ids;      /* NULL-terminated */
	size_t nids;
	filter *filters;
	size_t nfilters;
	char *group_dn_extension;
	pcre2_match_context *mctx;
};

void gb_scope_free(gb_scope *s)
{
	size_t i;
	int j;

	if (!s)
		return;
	for (i = 0; i < s->nids; i++)
		free(s->ids[i]);
	free(s->ids);
	for (i = 0; i < s->nfilters; i++) {
		for (j = 0; j < s->filters[i].n; j++) {
			free(s->filters[i].clauses[j].attr);
			free(s->filters[i].clauses[j].value);
			pcre2_code_free(s->filters[i].clauses[j].re);
		}
	}
	free(s->filters);
	free(s->group_dn_extension);
	pcre2_match_context_free(s->mctx);
	free(s);
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Case-insensitive keyword at p followed by a space or the end. */
static size_t keyword(const char *p, const char *kw)
{
	size_t n = strlen(kw);

	if (!gb_str_ihas_prefix(p, kw))
		return 0;
	if (p[n] && p[n] != ' ' && p[n] != '\t')
		return 0;
	return n;
}

static int parse_error(gb_error *err, int fno, const char *line, const char *at, const char *what)
{
	return gb_error_set(err, GB_ECONFIG, "[provisioning] filter %d: column %d: %s", fno, (int)(at - line) + 1, what);
}

/* Parses a quoted string ("..." with \" and \\ escapes) or a bare word; *out allocated. */
static int parse_value(const char **pp, char **out)
{
	const char *p = *pp;
	gb_buf b;

	gb_buf_init(&b, 4096);
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			if (gb_buf_putc(&b, *p, NULL))
				goto fail;
		}
		if (*p != '"')
			goto fail;
		p++;
	} else {
		for (; *p && *p != ' ' && *p != '\t'; p++)
			if (gb_buf_putc(&b, *p, NULL))
				goto fail;
		if (b.len == 0)
			goto fail;
	}
	*out = gb_buf_detach(&b);
	*pp = p;
	return *out ? 0 : -1;
fail:
	gb_buf_free(&b);
	return -1;
}

static bool known_attr(const gb_scope *s, const char *name);

static int parse_filter(gb_scope *s, int fno, const char *line, filter *f, gb_error *err)
{
	const char *p = skip_ws(line);

	for (;;) {
		clause *c;
		const char *start = p;
		size_t i, n = 0;

		if (f->n == MAX_CLAUSES)
			return parse_error(err, fno, line, p, "too many clauses (at most 32)");
		c = &f->clauses[f->n];
		while (*p && (isalnum((unsigned char)*p) || *p == '_'))
			p++;
		if (p == start)
			return parse_error(err, fno, line, start, "expected an attribute name");
		c->attr = gb_strndup(start, (size_t)(p - start));
		f->n++;
		if (!c->attr)
			return gb_error_set(err, GB_ENOMEM, "out of memory");
		if (!known_attr(s, c->attr))
			return parse_error(err, fno, line, start,
					   "unknown attribute (id, displayName, description, securityEnabled, mailEnabled, "
					   "onPremisesSyncEnabled, isCloudManaged, or the group_dn_extension)");
		p = skip_ws(p);
		for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			if ((n = keyword(p, ops[i].text)) > 0)
				break;
		if (i == sizeof(ops) / sizeof(ops[0]))
			return parse_error(err, fno, line, p,
					   "expected an operator (EQUALS, NOT EQUALS, IS TRUE, IS FALSE, IS NULL, IS NOT NULL, "
					   "REGEX MATCH, NOT REGEX MATCH, GREATER_THAN, GREATER_THAN_OR_EQUALS)");
		c->op = ops[i].op;
		p = skip_ws(p + n);
		if (ops[i].takes_value) {
			const char *vstart = p;
			if (parse_value(&p, &c->value))
				return parse_error(err, fno, line, vstart, "expected a value (a \"quoted string\" or a word)");
			if (c->op == OP_GT || c->op == OP_GE) {
				char *end;
				errno = 0;
				c->number = strtol(c->value, &end, 10);
				if (errno || *end || !*c->value)
					return parse_error(err, fno, line, vstart, "GREATER_THAN takes a whole number");
			}
			if (c->op == OP_REGEX || c->op == OP_NOT_REGEX) {
				int ecode;
				PCRE2_SIZE eoff;
				c->re = pcre2_compile((PCRE2_SPTR)c->value, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ecode, &eoff,
						      NULL);
				if (!c->re) {
					char msg[256], full[400];
					pcre2_get_error_message(ecode, (PCRE2_UCHAR *)msg, sizeof(msg));
					snprintf(full, sizeof(full), "bad regular expression at its offset %zu: %s", (size_t)eoff,
						 msg);
					return parse_error(err, fno, line, vstart, full);
				}
			}
		}
		p = skip_ws(p);
		if (!*p)
			return 0;
		if ((n = keyword(p, "AND")) == 0)
			return parse_error(err, fno, line, p, "expected AND or the end of the filter");
		p = skip_ws(p + n);
	}
}

static int add_id(gb_scope *s, const char *start, size_t len, gb_error *err)
{
	char **ids;

	while (len && (start[len - 1] == ' ' || start[len - 1] == '\t' || start[len - 1] == '\r'))
		len--;
	while (len && (*start == ' ' || *start == '\t')) {
		start++;
		len--;
	}
	if (!len)
		return 0;
	if (s->nids == MAX_IDS)
		return gb_error_set(err, GB_ECONFIG, "[provisioning] more than %d selected groups", MAX_IDS);
	ids = realloc(s->ids, (s->nids + 2) * sizeof(char *));
	if (!ids)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	s->ids = ids;
	s->ids[s->nids] = gb_strndup(start, len);
	if (!s->ids[s->nids])
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	s->ids[++s->nids] = NULL;
	return 0;
}

static int read_ids(gb_scope *s, const gb_config_provisioning *cfg, gb_error *err)
{
	const char *p, *q;
	int rc = 0;

	/* Ids are separated by commas or white space, so that a long list continues on indented lines. */
	for (p = cfg->groups; p && *p && !rc; p = *q ? q + 1 : q) {
		q = p + strcspn(p, ", \t");
		rc = add_id(s, p, (size_t)(q - p), err);
	}
	if (!rc && cfg->groups_file) {
		gb_buf b;
		int line = 0;

		gb_buf_init(&b, 16 * 1024 * 1024);
		rc = gb_read_file(cfg->groups_file, &b, err);
		if (rc) {
			gb_buf_free(&b);
			gb_error_prefix(err, "[provisioning] groups_file");
			if (err)
				err->code = GB_ECONFIG;
			return GB_ECONFIG;
		}
		for (p = gb_buf_cstr(&b); *p && !rc; p = *q ? q + 1 : q) {
			const char *hash;
			line++;
			q = strchr(p, '\n');
			if (!q)
				q = p + strlen(p);
			hash = memchr(p, '#', (size_t)(q - p));
			rc = add_id(s, p, (size_t)((hash ? hash : q) - p), err);
		}
		gb_buf_free(&b);
	}
	if (!rc && s->nids == 0)
		rc = gb_error_set(err, GB_ECONFIG, "[provisioning] scope = selected needs groups or groups_file with at "
						   "least one group id");
	return rc;
}

static int new_scope(gb_scope **out, gb_error *err)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	(*out)->mctx = pcre2_match_context_create(NULL);
	if (!(*out)->mctx)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	pcre2_set_match_limit((*out)->mctx, MATCH_LIMIT);
	pcre2_set_depth_limit((*out)->mctx, 1000);
	return 0;
}

int gb_scope_new_filters(const char *const *filters, const char *group_dn_extension, gb_scope **out, gb_error *err)
{
	gb_scope *s = NULL;
	size_t n = 0, i;
	int rc;

	*out = NULL;
	rc = new_scope(&s, err);
	while (!rc && filters && filters[n])
		n++;
	if (!rc && n == 0)
		rc = gb_error_set(err, GB_ECONFIG, "[provisioning] scope = all needs at least one filter line "
						   "(Microsoft recommends an attribute filter for this mode)");
	if (!rc) {
		s->filters = calloc(n, sizeof(filter));
		if (!s->filters)
			rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	if (!rc && group_dn_extension && !(s->group_dn_extension = gb_strdup(group_dn_extension)))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	for (i = 0; !rc && i < n; i++) {
		s->nfilters++;
		rc = parse_filter(s, (int)i + 1, filters[i], &s->filters[i], err);
	}
	if (rc) {
		gb_scope_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int gb_scope_new(const gb_config_provisioning *cfg, gb_scope **out, gb_error *err)
{
	gb_scope *s = NULL;
	int rc;

	*out = NULL;
	if (cfg->scope && strcmp(cfg->scope, "all") == 0)
		return gb_scope_new_filters((const char *const *)cfg->filters, cfg->group_dn_extension, out, err);
	rc = new_scope(&s, err);
	if (!rc) {
		s->selected = true;
		rc = read_ids(s, cfg, err);
	}
	if (rc) {
		gb_scope_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

bool gb_scope_is_selected(const gb_scope *scope)
{
	return scope->selected;
}

const char *const *gb_scope_selected_ids(const gb_scope *scope)
{
	return scope->selected ? (const char *const *)scope->ids : NULL;
}

/* The attribute's value as text, or NULL for null; booleans as "true"/"false". */
static const char *attr_value(const gb_scope *s, const gb_cloud_group *g, const char *name)
{
	gb_tri t;

	if (gb_str_iequal(name, "id") || gb_str_iequal(name, "objectId"))
		return g->id;
	if (gb_str_iequal(name, "displayName"))
		return g->display_name;
	if (gb_str_iequal(name, "description"))
		return g->description;
	if (s->group_dn_extension && gb_str_iequal(name, s->group_dn_extension))
		return g->group_dn_ext;
	if (gb_str_iequal(name, "securityEnabled"))
		t = g->security_enabled;
	else if (gb_str_iequal(name, "mailEnabled"))
		t = g->mail_enabled;
	else if (gb_str_iequal(name, "onPremisesSyncEnabled") || gb_str_iequal(name, "dirSyncEnabled"))
		t = g->on_prem_sync_enabled;
	else if (gb_str_iequal(name, "isCloudManaged"))
		t = g->is_cloud_managed;
	else
		return NULL;
	return t == GB_TRI_UNKNOWN ? NULL : t == GB_TRI_TRUE ? "true" : "false";
}

static bool known_attr(const gb_scope *s, const char *name)
{
	static const char *names[] = {"id",          "objectId",      "displayName",           "description",
				      "securityEnabled", "mailEnabled", "onPremisesSyncEnabled", "dirSyncEnabled",
				      "isCloudManaged"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (gb_str_iequal(name, names[i]))
			return true;
	return s->group_dn_extension && gb_str_iequal(name, s->group_dn_extension);
}

static int regex_match(const gb_scope *s, const clause *c, const char *v, bool *out, int fno, gb_error *err)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(c->re, NULL);
	int r;

	if (!md)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	r = pcre2_match(c->re, (PCRE2_SPTR)v, strlen(v), 0, 0, md, s->mctx);
	pcre2_match_data_free(md);
	if (r >= 0 || r == PCRE2_ERROR_NOMATCH) {
		*out = r >= 0;
		return 0;
	}
	return gb_error_set(err, GB_EINVAL, "filter %d: matching %s against \"%s\" failed (code %d); simplify the "
					    "regular expression",
			    fno, c->attr, c->value, r);
}

int gb_scope_matches(const gb_scope *s, const gb_cloud_group *g, bool *out, gb_error *err)
{
	size_t i;
	int j, rc;

	*out = false;
	if (s->selected) {
		for (i = 0; i < s->nids; i++)
			if (g->id && gb_str_iequal(s->ids[i], g->id)) {
				*out = true;
				return 0;
			}
		return 0;
	}
	for (i = 0; i < s->nfilters; i++) {
		bool all = true;

		for (j = 0; all && j < s->filters[i].n; j++) {
			const clause *c = &s->filters[i].clauses[j];
			const char *v;
			bool m = false;
			char *end;
			long num;

			v = attr_value(s, g, c->attr);
			switch (c->op) {
			case OP_EQUALS: m = v && strcmp(v, c->value) == 0; break;
			case OP_NOT_EQUALS: m = !v || strcmp(v, c->value) != 0; break;
			case OP_IS_TRUE: m = v && strcmp(v, "true") == 0; break;
			case OP_IS_FALSE: m = v && strcmp(v, "false") == 0; break;
			case OP_IS_NULL: m = !v; break;
			case OP_IS_NOT_NULL: m = v != NULL; break;
			case OP_REGEX:
				if (v) {
					rc = regex_match(s, c, v, &m, (int)i + 1, err);
					if (rc)
						return rc;
				}
				break;
			case OP_NOT_REGEX:
				/* Cloud Sync: NOT REGEX MATCH is false for null or empty values. */
				if (v && *v) {
					rc = regex_match(s, c, v, &m, (int)i + 1, err);
					if (rc)
						return rc;
					m = !m;
				}
				break;
			case OP_GT:
			case OP_GE:
				if (v) {
					errno = 0;
					num = strtol(v, &end, 10);
					if (!errno && *v && !*end)
						m = c->op == OP_GT ? num > c->number : num >= c->number;
				}
				break;
			}
			all = m;
		}
		if (all) {
			*out = true;
			return 0;
		}
	}
	return 0;
}
