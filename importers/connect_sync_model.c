/* connect_sync_model.c: the Connect Sync export as data: growable arrays, parameters and GUIDs, the export's
 * constructor and destructor, and the lookups. The parser (connect_sync.c) fills it, the analysis
 * (connect_sync_analyze.c) reads it; neither calls the other. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/connect_sync.h"
#include "groupbridge/util.h"

#include "connect_sync_int.h"

/* ---- growable arrays and strings ------------------------------------------------------------------------- */

void *gb_cs_grow(void *arr, size_t count, size_t elem)
{
	size_t cap;
	void *n;

	/* capacity is implicit: the next power of two, so a push reallocates only when count is 0 or a power of two */
	if (count != 0 && (count & (count - 1)) != 0) {
		memset((char *)arr + count * elem, 0, elem);
		return arr;
	}
	cap = count ? count * 2 : 1;
	if (cap > SIZE_MAX / elem)
		return NULL;
	n = realloc(arr, cap * elem);
	if (!n)
		return NULL;
	memset((char *)n + count * elem, 0, elem);
	return n;
}

int gb_cs_strlist_add(gb_cs_strlist *l, const char *s)
{
	char **n;
	char *d = gb_strdup(s);

	if (!d)
		return GB_ENOMEM;
	n = gb_cs_grow(l->items, l->count, sizeof(*l->items));
	if (!n) {
		free(d);
		return GB_ENOMEM;
	}
	l->items = n;
	l->items[l->count++] = d;
	return 0;
}

bool gb_cs_strlist_has(const gb_cs_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		if (gb_str_iequal(l->items[i], s))
			return true;
	return false;
}

void gb_cs_strlist_free(gb_cs_strlist *l)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->count = 0;
}

void gb_cs_params_free(gb_cs_params *p)
{
	size_t i;

	for (i = 0; i < p->count; i++) {
		free(p->items[i].name);
		free(p->items[i].use);
		free(p->items[i].value);
	}
	free(p->items);
	p->items = NULL;
	p->count = 0;
}

const char *gb_cs_param_get(const gb_cs_params *params, const char *name)
{
	size_t i;

	if (!params)
		return NULL;
	for (i = 0; i < params->count; i++)
		if (params->items[i].name && strcmp(params->items[i].name, name) == 0)
			return params->items[i].value;
	return NULL;
}

static bool param_present(const gb_cs_params *params, const char *name)
{
	size_t i;

	for (i = 0; i < params->count; i++)
		if (params->items[i].name && strcmp(params->items[i].name, name) == 0)
			return true;
	return false;
}

bool gb_cs_has_param(const gb_cs_params *params, const char *name)
{
	return param_present(params, name);
}

/* A GUID without braces and in lower case; NULL on allocation failure or NULL input. */
char *gb_cs_guid_norm(const char *s)
{
	size_t n, i;
	char *d;

	if (!s)
		return NULL;
	while (*s == ' ' || *s == '{')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == '}' || s[n - 1] == ' '))
		n--;
	d = gb_strndup(s, n);
	if (!d)
		return NULL;
	for (i = 0; d[i]; i++)
		if (d[i] >= 'A' && d[i] <= 'Z')
			d[i] = (char)(d[i] - 'A' + 'a');
	return d;
}

bool gb_cs_guid_equal(const char *a, const char *b)
{
	size_t na, nb;

	if (!a || !b)
		return false;
	while (*a == '{' || *a == ' ')
		a++;
	while (*b == '{' || *b == ' ')
		b++;
	na = strlen(a);
	nb = strlen(b);
	while (na > 0 && (a[na - 1] == '}' || a[na - 1] == ' '))
		na--;
	while (nb > 0 && (b[nb - 1] == '}' || b[nb - 1] == ' '))
		nb--;
	if (na != nb || na == 0)
		return false;
	for (size_t i = 0; i < na; i++) {
		char x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

int gb_cs_export_new(gb_cs_export **out, gb_error *err)
{
	gb_cs_export *exp;

	*out = NULL;
	exp = calloc(1, sizeof(*exp));
	if (!exp)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	exp->staging_mode = GB_CS_UNKNOWN;
	exp->scheduler_suspended = GB_CS_UNKNOWN;
	exp->delete_threshold_enabled = GB_CS_UNKNOWN;
	exp->delete_threshold = -1;
	exp->writeback_flag = GB_CS_UNKNOWN;
	exp->writeback_ou_in_scope = GB_CS_UNKNOWN;
	exp->dirext_enabled = GB_CS_UNKNOWN;
	*out = exp;
	return 0;
}

/* ---- freeing and lookups -------------------------------------------------------------------------------- */

static void rule_free(gb_cs_rule *r)
{
	size_t i, j;

	free(r->file);
	free(r->id);
	free(r->name);
	free(r->description);
	free(r->immutable_tag);
	free(r->direction);
	free(r->connector);
	free(r->source_type);
	free(r->target_type);
	free(r->link_type);
	for (i = 0; i < r->scope_count; i++) {
		for (j = 0; j < r->scope[i].count; j++) {
			free(r->scope[i].items[j].attribute);
			free(r->scope[i].items[j].op);
			free(r->scope[i].items[j].value);
		}
		free(r->scope[i].items);
	}
	free(r->scope);
	for (i = 0; i < r->join_count; i++) {
		for (j = 0; j < r->join[i].count; j++) {
			free(r->join[i].items[j].cs_attribute);
			free(r->join[i].items[j].mv_attribute);
		}
		free(r->join[i].items);
	}
	free(r->join);
	for (i = 0; i < r->mapping_count; i++) {
		free(r->mappings[i].dest);
		gb_cs_strlist_free(&r->mappings[i].sources);
		free(r->mappings[i].expression);
		free(r->mappings[i].constant);
		free(r->mappings[i].merge);
	}
	free(r->mappings);
}

static void connector_free(gb_cs_connector *c)
{
	size_t i;

	free(c->file);
	free(c->id);
	free(c->name);
	free(c->category);
	free(c->subtype);
	free(c->forest);
	free(c->writeback_container);
	gb_cs_params_free(&c->params);
	for (i = 0; i < c->partition_count; i++) {
		free(c->partitions[i].name);
		free(c->partitions[i].display_name);
		gb_cs_strlist_free(&c->partitions[i].object_classes);
		gb_cs_strlist_free(&c->partitions[i].inclusions);
		gb_cs_strlist_free(&c->partitions[i].exclusions);
	}
	free(c->partitions);
	gb_cs_strlist_free(&c->extension_attributes);
}

void gb_cs_findings_clear(gb_cs_export *exp)
{
	size_t i;

	for (i = 0; i < exp->finding_count; i++) {
		free(exp->findings[i].code);
		free(exp->findings[i].message);
	}
	free(exp->findings);
	exp->findings = NULL;
	exp->finding_count = 0;
}

void gb_cs_extensions_clear(gb_cs_export *exp)
{
	size_t i;

	for (i = 0; i < exp->extension_count; i++) {
		free(exp->extensions[i].source);
		free(exp->extensions[i].object_class);
		free(exp->extensions[i].type);
		free(exp->extensions[i].flag);
		free(exp->extensions[i].target);
	}
	free(exp->extensions);
	exp->extensions = NULL;
	exp->extension_count = 0;
}

void gb_cs_export_free(gb_cs_export *exp)
{
	size_t i;

	if (!exp)
		return;
	free(exp->dir);
	free(exp->server);
	free(exp->export_date);
	free(exp->version);
	free(exp->writeback_forest);
	free(exp->writeback_container);
	free(exp->writeback_connector_container);
	free(exp->writeback_ou_override);
	gb_cs_extensions_clear(exp);
	gb_cs_params_free(&exp->global_params);
	gb_cs_params_free(&exp->persisted);
	for (i = 0; i < exp->connector_count; i++)
		connector_free(&exp->connectors[i]);
	free(exp->connectors);
	for (i = 0; i < exp->rule_count; i++)
		rule_free(&exp->rules[i]);
	free(exp->rules);
	gb_cs_findings_clear(exp);
	free(exp);
}

const gb_cs_connector *gb_cs_find_connector(const gb_cs_export *exp, const char *id)
{
	size_t i;

	for (i = 0; exp && i < exp->connector_count; i++)
		if (gb_cs_guid_equal(exp->connectors[i].id, id))
			return &exp->connectors[i];
	return NULL;
}

const gb_cs_rule *gb_cs_find_rule(const gb_cs_export *exp, const char *id)
{
	size_t i;

	for (i = 0; exp && i < exp->rule_count; i++)
		if (gb_cs_guid_equal(exp->rules[i].id, id))
			return &exp->rules[i];
	return NULL;
}

const gb_cs_rule *gb_cs_find_rule_by_name(const gb_cs_export *exp, const char *name)
{
	size_t i;

	for (i = 0; exp && name && i < exp->rule_count; i++)
		if (exp->rules[i].name && gb_str_iequal(exp->rules[i].name, name))
			return &exp->rules[i];
	return NULL;
}

const gb_cs_finding *gb_cs_find_finding(const gb_cs_export *exp, const char *code)
{
	size_t i;

	for (i = 0; exp && code && i < exp->finding_count; i++)
		if (strcmp(exp->findings[i].code, code) == 0)
			return &exp->findings[i];
	return NULL;
}

const char *gb_cs_severity_name(gb_cs_severity s)
{
	switch (s) {
	case GB_CS_DANGER: return "danger";
	case GB_CS_WARNING: return "warning";
	default: return "info";
	}
}

const char *gb_cs_tristate_name(gb_cs_tristate t)
{
	return t == GB_CS_YES ? "yes" : t == GB_CS_NO ? "no" : "unknown";
}
