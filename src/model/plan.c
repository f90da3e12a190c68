/* plan.c: the plan's operations and notes, and their JSON and text forms. */
#include "groupbridge/plan.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/buf.h"
#include "groupbridge/util.h"

#define PLAN_SCHEMA_VERSION 1

static const char *op_names[] = {"create-group",   "set-attributes", "rename",       "move",        "add-members",
				 "remove-members", "delete-group",   "stop-managing", "graph-patch"};
static const char *note_names[] = {"member-skipped", "group-unsupported", "group-error", "group-unmanaged",
				   "warning"};

const char *gb_op_kind_name(gb_op_kind kind)
{
	return (unsigned)kind < sizeof(op_names) / sizeof(op_names[0]) ? op_names[kind] : "unknown";
}

const char *gb_note_kind_name(gb_note_kind kind)
{
	return (unsigned)kind < sizeof(note_names) / sizeof(note_names[0]) ? note_names[kind] : "unknown";
}

int gb_plan_new(gb_plan **out, gb_error *err)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
}

static void op_clear(gb_op *op)
{
	size_t i;

	free(op->object_id);
	free(op->target);
	free(op->guid);
	free(op->new_rdn);
	free(op->new_parent);
	for (i = 0; i < op->nattrs; i++) {
		free(op->attrs[i].name);
		free(op->attrs[i].before);
		free(op->attrs[i].after);
	}
	free(op->attrs);
	for (i = 0; i < op->nvalues; i++)
		free(op->values[i]);
	free(op->values);
	free(op->reason);
}

void gb_plan_free(gb_plan *plan)
{
	size_t i;

	if (!plan)
		return;
	for (i = 0; i < plan->ngroups; i++) {
		free(plan->groups[i].object_id);
		free(plan->groups[i].dn);
		free(plan->groups[i].guid);
	}
	free(plan->groups);
	for (i = 0; i < plan->nops; i++)
		op_clear(&plan->ops[i]);
	free(plan->ops);
	for (i = 0; i < plan->nnotes; i++) {
		free(plan->notes[i].object_id);
		free(plan->notes[i].subject_id);
		free(plan->notes[i].code);
		free(plan->notes[i].message);
	}
	free(plan->notes);
	free(plan);
}

/* Grows an array of elem-sized items to hold one more. */
static int grow(void **items, size_t n, size_t *cap, size_t elem)
{
	void *p;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	p = realloc(*items, ncap * elem);
	if (!p)
		return GB_ENOMEM;
	*items = p;
	*cap = ncap;
	return 0;
}

/* Copies s into *slot; NULL stays NULL. */
static int dup_into(char **slot, const char *s)
{
	*slot = NULL;
	if (!s)
		return 0;
	*slot = gb_strdup(s);
	return *slot ? 0 : GB_ENOMEM;
}

int gb_plan_add_op(gb_plan *plan, gb_op_kind kind, const char *object_id, const char *target, const char *reason,
		   gb_op **out, gb_error *err)
{
	gb_op *op;

	if (out)
		*out = NULL;
	if (grow((void **)&plan->ops, plan->nops, &plan->ops_cap, sizeof(gb_op)))
		return gb_error_set(err, GB_ENOMEM, "out of memory growing the plan");
	op = &plan->ops[plan->nops];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	if (dup_into(&op->object_id, object_id) || dup_into(&op->target, target) || dup_into(&op->reason, reason)) {
		op_clear(op);
		return gb_error_set(err, GB_ENOMEM, "out of memory growing the plan");
	}
	plan->nops++;
	if (out)
		*out = op;
	return 0;
}

int gb_op_set_guid(gb_op *op, const char *guid, gb_error *err)
{
	free(op->guid);
	return dup_into(&op->guid, guid) ? gb_error_set(err, GB_ENOMEM, "out of memory") : 0;
}

int gb_op_set_rdn(gb_op *op, const char *new_rdn, const char *new_parent, gb_error *err)
{
	free(op->new_rdn);
	free(op->new_parent);
	op->new_parent = NULL;
	if (dup_into(&op->new_rdn, new_rdn) || dup_into(&op->new_parent, new_parent))
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	return 0;
}

int gb_op_add_attr(gb_op *op, const char *name, const char *before, const char *after, gb_error *err)
{
	gb_attr_change *a = realloc(op->attrs, (op->nattrs + 1) * sizeof(*a));

	if (!a)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	op->attrs = a;
	a = &op->attrs[op->nattrs];
	if (dup_into(&a->name, name) || dup_into(&a->before, before) || dup_into(&a->after, after)) {
		free(a->name);
		free(a->before);
		free(a->after);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	op->nattrs++;
	return 0;
}

int gb_op_add_value(gb_op *op, const char *value, gb_error *err)
{
	char **v;
	char *copy = gb_strdup(value);

	if (!copy)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	/* Grow by doubling at powers of two: member lists reach 50,000 values. */
	if ((op->nvalues & (op->nvalues - 1)) == 0) {
		size_t cap = op->nvalues ? op->nvalues * 2 : 1;
		v = realloc(op->values, cap * sizeof(*v));
		if (!v) {
			free(copy);
			return gb_error_set(err, GB_ENOMEM, "out of memory");
		}
		op->values = v;
	}
	op->values[op->nvalues++] = copy;
	return 0;
}

int gb_plan_add_group(gb_plan *plan, const char *object_id, const char *dn, const char *guid, gb_error *err)
{
	gb_plan_group *g;

	if (grow((void **)&plan->groups, plan->ngroups, &plan->groups_cap, sizeof(gb_plan_group)))
		return gb_error_set(err, GB_ENOMEM, "out of memory growing the plan");
	g = &plan->groups[plan->ngroups];
	memset(g, 0, sizeof(*g));
	if (dup_into(&g->object_id, object_id) || dup_into(&g->dn, dn) || dup_into(&g->guid, guid)) {
		free(g->object_id);
		free(g->dn);
		free(g->guid);
		return gb_error_set(err, GB_ENOMEM, "out of memory growing the plan");
	}
	plan->ngroups++;
	return 0;
}

int gb_plan_note(gb_plan *plan, gb_note_kind kind, const char *object_id, const char *subject_id, const char *code,
		 gb_error *err, const char *fmt, ...)
{
	gb_note *n;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (grow((void **)&plan->notes, plan->nnotes, &plan->notes_cap, sizeof(gb_note)))
		return gb_error_set(err, GB_ENOMEM, "out of memory growing the plan");
	n = &plan->notes[plan->nnotes];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	if (dup_into(&n->object_id, object_id) || dup_into(&n->subject_id, subject_id) || dup_into(&n->code, code) ||
	    dup_into(&n->message, msg)) {
		free(n->object_id);
		free(n->subject_id);
		free(n->code);
		free(n->message);
		return gb_error_set(err, GB_ENOMEM, "out of memory growing the plan");
	}
	plan->nnotes++;
	return 0;
}

size_t gb_plan_count(const gb_plan *plan, gb_op_kind kind)
{
	size_t i, n = 0;

	for (i = 0; i < plan->nops; i++)
		n += plan->ops[i].kind == kind;
	return n;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

int gb_plan_to_json(const gb_plan *plan, char **out, gb_error *err)
{
	json_t *root, *ops, *notes, *groups;
	size_t i, j;

	*out = NULL;
	root = json_object();
	ops = json_array();
	notes = json_array();
	groups = json_array();
	if (!root || !ops || !notes || !groups) {
		json_decref(groups);
		goto oom;
	}
	json_object_set_new(root, "schema_version", json_integer(PLAN_SCHEMA_VERSION));
	json_object_set_new(root, "groups", groups);
	for (i = 0; i < plan->ngroups; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "object_id", str_or_null(plan->groups[i].object_id));
		json_object_set_new(o, "dn", str_or_null(plan->groups[i].dn));
		json_object_set_new(o, "guid", str_or_null(plan->groups[i].guid));
		json_object_set_new(o, "members", json_integer((json_int_t)plan->groups[i].nmembers));
		json_array_append_new(groups, o);
	}
	json_object_set_new(root, "operations", ops);
	json_object_set_new(root, "notes", notes);
	for (i = 0; i < plan->nops; i++) {
		const gb_op *op = &plan->ops[i];
		json_t *o = json_object(), *attrs = json_array(), *values = json_array();

		if (!o || !attrs || !values) {
			json_decref(o);
			json_decref(attrs);
			json_decref(values);
			goto oom;
		}
		json_object_set_new(o, "kind", json_string(gb_op_kind_name(op->kind)));
		json_object_set_new(o, "object_id", str_or_null(op->object_id));
		json_object_set_new(o, "target", str_or_null(op->target));
		json_object_set_new(o, "guid", str_or_null(op->guid));
		json_object_set_new(o, "new_rdn", str_or_null(op->new_rdn));
		json_object_set_new(o, "new_parent", str_or_null(op->new_parent));
		for (j = 0; j < op->nattrs; j++) {
			json_t *a = json_object();
			json_object_set_new(a, "name", json_string(op->attrs[j].name));
			json_object_set_new(a, "before", str_or_null(op->attrs[j].before));
			json_object_set_new(a, "after", str_or_null(op->attrs[j].after));
			json_array_append_new(attrs, a);
		}
		json_object_set_new(o, "attributes", attrs);
		for (j = 0; j < op->nvalues; j++)
			json_array_append_new(values, json_string(op->values[j]));
		json_object_set_new(o, "values", values);
		json_object_set_new(o, "reason", str_or_null(op->reason));
		json_array_append_new(ops, o);
	}
	for (i = 0; i < plan->nnotes; i++) {
		const gb_note *n = &plan->notes[i];
		json_t *o = json_object();

		json_object_set_new(o, "kind", json_string(gb_note_kind_name(n->kind)));
		json_object_set_new(o, "object_id", str_or_null(n->object_id));
		json_object_set_new(o, "subject_id", str_or_null(n->subject_id));
		json_object_set_new(o, "code", str_or_null(n->code));
		json_object_set_new(o, "message", str_or_null(n->message));
		json_array_append_new(notes, o);
	}
	*out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	json_decref(root);
	return *out ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory writing the plan");
oom:
	json_decref(root);
	json_decref(ops);
	json_decref(notes);
	return gb_error_set(err, GB_ENOMEM, "out of memory writing the plan");
}

static int kind_from_name(const char *name, const char **names, size_t n)
{
	size_t i;

	for (i = 0; name && i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

static const char *opt_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

int gb_plan_from_json(const char *json, gb_plan **out, gb_error *err)
{
	json_error_t jerr;
	json_t *root, *ops, *notes, *o;
	gb_plan *plan = NULL;
	size_t i, j;
	int rc;

	*out = NULL;
	root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return gb_error_set(err, GB_EPARSE, "plan: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
	if (json_integer_value(json_object_get(root, "schema_version")) != PLAN_SCHEMA_VERSION) {
		rc = gb_error_set(err, GB_EPARSE, "plan: schema_version is not %d", PLAN_SCHEMA_VERSION);
		goto done;
	}
	ops = json_object_get(root, "operations");
	notes = json_object_get(root, "notes");
	if (!json_is_array(ops) || !json_is_array(notes)) {
		rc = gb_error_set(err, GB_EPARSE, "plan: operations and notes must be arrays");
		goto done;
	}
	rc = gb_plan_new(&plan, err);
	if (rc)
		goto done;
	json_array_foreach(json_object_get(root, "groups"), i, o)
	{
		json_int_t members = json_integer_value(json_object_get(o, "members"));
		rc = gb_plan_add_group(plan, opt_str(o, "object_id"), opt_str(o, "dn"), opt_str(o, "guid"), err);
		if (rc)
			goto done;
		plan->groups[plan->ngroups - 1].nmembers = members > 0 ? (size_t)members : 0;
	}
	json_array_foreach(ops, i, o)
	{
		gb_op *op;
		json_t *a, *v;
		int k = kind_from_name(opt_str(o, "kind"), op_names, sizeof(op_names) / sizeof(op_names[0]));

		if (k < 0) {
			rc = gb_error_set(err, GB_EPARSE, "plan: operation %zu has an unknown kind", i);
			goto done;
		}
		rc = gb_plan_add_op(plan, (gb_op_kind)k, opt_str(o, "object_id"), opt_str(o, "target"),
				    opt_str(o, "reason"), &op, err);
		if (!rc)
			rc = gb_op_set_guid(op, opt_str(o, "guid"), err);
		if (!rc)
			rc = gb_op_set_rdn(op, opt_str(o, "new_rdn"), opt_str(o, "new_parent"), err);
		json_array_foreach(json_object_get(o, "attributes"), j, a)
		{
			if (!rc && !opt_str(a, "name"))
				rc = gb_error_set(err, GB_EPARSE, "plan: operation %zu: an attribute without a name", i);
			if (!rc)
				rc = gb_op_add_attr(op, opt_str(a, "name"), opt_str(a, "before"), opt_str(a, "after"), err);
		}
		json_array_foreach(json_object_get(o, "values"), j, v)
		{
			if (!rc && !json_is_string(v))
				rc = gb_error_set(err, GB_EPARSE, "plan: operation %zu: value %zu is not a string", i, j);
			if (!rc)
				rc = gb_op_add_value(op, json_string_value(v), err);
		}
		if (rc)
			goto done;
	}
	json_array_foreach(notes, i, o)
	{
		int k = kind_from_name(opt_str(o, "kind"), note_names, sizeof(note_names) / sizeof(note_names[0]));

		if (k < 0) {
			rc = gb_error_set(err, GB_EPARSE, "plan: note %zu has an unknown kind", i);
			goto done;
		}
		rc = gb_plan_note(plan, (gb_note_kind)k, opt_str(o, "object_id"), opt_str(o, "subject_id"),
				  opt_str(o, "code"), err, "%s", opt_str(o, "message") ? opt_str(o, "message") : "");
		if (rc)
			goto done;
	}
	*out = plan;
	plan = NULL;
	rc = 0;
done:
	gb_plan_free(plan);
	json_decref(root);
	return rc;
}

int gb_plan_to_text(const gb_plan *plan, size_t max_values, char **out, gb_error *err)
{
	gb_buf b;
	size_t i, j;
	int rc = 0;

	*out = NULL;
	gb_buf_init(&b, 0);
	if (plan->nops == 0)
		rc = gb_buf_puts(&b, "No changes.\n", err);
	for (i = 0; !rc && i < plan->nops; i++) {
		const gb_op *op = &plan->ops[i];

		rc = gb_buf_printf(&b, err, "%4zu. %-15s %s\n", i + 1, gb_op_kind_name(op->kind),
				   op->target ? op->target : "");
		if (!rc && op->new_rdn)
			rc = gb_buf_printf(&b, err, "      new name: %s\n", op->new_rdn);
		if (!rc && op->new_parent)
			rc = gb_buf_printf(&b, err, "      new parent: %s\n", op->new_parent);
		for (j = 0; !rc && j < op->nattrs; j++)
			rc = gb_buf_printf(&b, err, "      %s: %s -> %s\n", op->attrs[j].name,
					   op->attrs[j].before ? op->attrs[j].before : "(none)",
					   op->attrs[j].after ? op->attrs[j].after : "(none)");
		if (!rc && op->nvalues)
			rc = gb_buf_printf(&b, err, "      %zu member value%s\n", op->nvalues, op->nvalues == 1 ? "" : "s");
		for (j = 0; !rc && j < op->nvalues && (!max_values || j < max_values); j++)
			rc = gb_buf_printf(&b, err, "        %s\n", op->values[j]);
		if (!rc && max_values && op->nvalues > max_values)
			rc = gb_buf_printf(&b, err, "        ... and %zu more\n", op->nvalues - max_values);
		if (!rc && op->reason)
			rc = gb_buf_printf(&b, err, "      because: %s\n", op->reason);
	}
	if (!rc && plan->nnotes)
		rc = gb_buf_printf(&b, err, "\nNotes (%zu):\n", plan->nnotes);
	for (i = 0; !rc && i < plan->nnotes; i++)
		rc = gb_buf_printf(&b, err, "  %-20s %s\n", plan->notes[i].code ? plan->notes[i].code : "",
				   plan->notes[i].message);
	if (rc) {
		gb_buf_free(&b);
		return rc;
	}
	*out = gb_buf_detach(&b);
	return *out ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
}
