/* plan.c: the plan's operations and notes, and their JSON and text forms. */
#include "groupbridge/plan.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/buf.h"
#include "groupbridge/utf8.h"
#include "groupbridge/util.h"

#define PLAN_SCHEMA_VERSION 1

/* Per kind: its name in JSON and texts, and its operation in the audit vocabulary (audit.h). */
static const struct {
	const char *name, *operation;
	char where; /* 'l' LDAP, 'g' Graph, 's' state only */
} kinds[GB_OP_KIND_COUNT] = {
    [GB_OP_CREATE_GROUP] = {"create-group", "group.create", 'l'},
    [GB_OP_SET_ATTRS] = {"set-attributes", "group.set", 'l'},
    [GB_OP_RENAME] = {"rename", "group.rename", 'l'},
    [GB_OP_MOVE] = {"move", "group.move", 'l'},
    [GB_OP_ADD_MEMBERS] = {"add-members", "member.add", 'l'},
    [GB_OP_REMOVE_MEMBERS] = {"remove-members", "member.remove", 'l'},
    [GB_OP_DELETE_GROUP] = {"delete-group", "group.delete", 'l'},
    [GB_OP_UNMANAGE] = {"stop-managing", "group.unmanage", 's'},
    [GB_OP_ADD_VALUE] = {"add-value", "attribute.add", 'l'},
    [GB_OP_DELETE_VALUE] = {"delete-value", "attribute.remove", 'l'},
    [GB_OP_HANDOFF] = {"hand-over", "group.handoff", 's'},
    [GB_OP_GRAPH_CREATE_APP] = {"graph-create-application", "graph.app.create", 'g'},
    [GB_OP_GRAPH_CREATE_SP] = {"graph-create-service-principal", "graph.sp.create", 'g'},
    [GB_OP_GRAPH_CREATE_EXTENSION] = {"graph-create-extension", "graph.extension.create", 'g'},
    [GB_OP_GRAPH_SET_EXTENSION] = {"graph-set-extension", "graph.extension.set", 'g'},
    [GB_OP_GRAPH_SET_SOA] = {"graph-set-source-of-authority", "graph.soa.set", 'g'},
    [GB_OP_GRAPH_ASSIGN_ROLE] = {"graph-assign-app-role", "graph.approle.assign", 'g'},
    [GB_OP_GRAPH_REMOVE_ROLE] = {"graph-remove-app-role", "graph.approle.remove", 'g'},
};
static const char *note_names[] = {"member-skipped", "group-unsupported", "group-error", "group-unmanaged",
				   "warning"};

const char *gb_op_kind_name(gb_op_kind kind)
{
	return (unsigned)kind < GB_OP_KIND_COUNT ? kinds[kind].name : "unknown";
}

const char *gb_op_kind_operation(gb_op_kind kind)
{
	return (unsigned)kind < GB_OP_KIND_COUNT ? kinds[kind].operation : "unknown";
}

bool gb_op_kind_is_graph(gb_op_kind kind)
{
	return (unsigned)kind < GB_OP_KIND_COUNT && kinds[kind].where == 'g';
}

bool gb_op_kind_is_ldap(gb_op_kind kind)
{
	return (unsigned)kind < GB_OP_KIND_COUNT && kinds[kind].where == 'l';
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
	if (gb_grow(&plan->ops, plan->nops, &plan->ops_cap, sizeof(gb_op), 16))
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

const gb_attr_change *gb_op_find_attr(const gb_op *op, const char *name)
{
	size_t i;

	for (i = 0; i < op->nattrs; i++)
		if (strcmp(op->attrs[i].name, name) == 0)
			return &op->attrs[i];
	return NULL;
}

int gb_plan_add_group(gb_plan *plan, const char *object_id, const char *dn, const char *guid, gb_error *err)
{
	gb_plan_group *g;

	if (gb_grow(&plan->groups, plan->ngroups, &plan->groups_cap, sizeof(gb_plan_group), 16))
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
	if (gb_grow(&plan->notes, plan->nnotes, &plan->notes_cap, sizeof(gb_note), 16))
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

/* ---- the JSON form, written as a stream ----
 * The plan is written in chunks to a sink, never built as a tree of JSON values: a plan over a million member links
 * would otherwise hold the tree, the text and a copy at once. The output is what jansson's json_dumps gives with
 * JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII (tests/unit/test_plan.c compares the two), so that the
 * stored plan reads back with gb_plan_from_json. */

#define JW_CHUNK (64 * 1024)

typedef struct jw {
	gb_buf b;   /* text not yet handed to the sink */
	int depth;
	bool first; /* no member written yet at this depth */
	int rc;
	gb_error *err;
	gb_plan_sink sink;
	void *ctx;
} jw;

static void jw_flush(jw *w)
{
	if (!w->rc && w->b.len)
		w->rc = w->sink(w->ctx, w->b.data, w->b.len, w->err);
	gb_buf_clear(&w->b);
}

static void jw_put(jw *w, const char *s, size_t n)
{
	if (!w->rc)
		w->rc = gb_buf_append(&w->b, s, n, w->err);
	if (w->b.len >= JW_CHUNK)
		jw_flush(w);
}

static void jw_puts(jw *w, const char *s)
{
	jw_put(w, s, strlen(s));
}

static void jw_newline(jw *w)
{
	static const char spaces[] = "                                ";
	int n = w->depth * 2;

	jw_put(w, "\n", 1);
	while (n > 0) {
		int k = n < (int)sizeof(spaces) - 1 ? n : (int)sizeof(spaces) - 1;
		jw_put(w, spaces, (size_t)k);
		n -= k;
	}
}

static int jw_dumped(const char *buffer, size_t size, void *data)
{
	jw *w = data;

	jw_put(w, buffer, size);
	return w->rc ? -1 : 0;
}

/* True when jansson would write s as it is: printable ASCII without a quotation mark or a backslash. */
static bool needs_no_escape(const char *s, size_t *n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++)
		if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
			break;
	*n = (size_t)(p - (const unsigned char *)s);
	return *p == '\0';
}

/* A JSON string as jansson escapes it (ASCII only, as the rest of the plan); NULL is null. Most strings (GUIDs,
 * DNs, ASCII names) need no escape and are copied as they are, which keeps a plan of a million member links fast
 * (jansson's json_dump_callback sets up its own state for each string). jansson takes only valid UTF-8, so a
 * byte that is not (from a broken source) becomes U+FFFD first. */
static void jw_string(jw *w, const char *s)
{
	char *clean = NULL;
	json_t *j;
	size_t n;

	if (!s) {
		jw_puts(w, "null");
		return;
	}
	if (needs_no_escape(s, &n)) {
		jw_put(w, "\"", 1);
		jw_put(w, s, n);
		jw_put(w, "\"", 1);
		return;
	}
	n += strlen(s + n);
	if (!gb_utf8_valid(s, n) && !(clean = gb_utf8_clean(s, n, 0, &n))) {
		if (!w->rc)
			w->rc = gb_error_set(w->err, GB_ENOMEM, "writing the plan: out of memory");
		return;
	}
	j = json_stringn_nocheck(clean ? clean : s, n);
	if ((!j || json_dump_callback(j, jw_dumped, w, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) != 0) && !w->rc)
		w->rc = gb_error_set(w->err, GB_ENOMEM, "writing the plan: out of memory");
	json_decref(j);
	free(clean);
}

/* Opens an object or array member (key NULL in an array): the separator, the indentation and the key. */
static void jw_member(jw *w, const char *key)
{
	if (!w->first)
		jw_put(w, ",", 1);
	w->first = false;
	jw_newline(w);
	if (key) {
		jw_string(w, key);
		jw_put(w, ": ", 2);
	}
}

static void jw_open(jw *w, const char *key, char bracket)
{
	jw_member(w, key);
	jw_put(w, &bracket, 1);
	w->depth++;
	w->first = true;
}

/* Closes what jw_open opened: "[]" or "{}" when it stayed empty. */
static void jw_close(jw *w, char bracket)
{
	w->depth--;
	if (!w->first)
		jw_newline(w);
	jw_put(w, &bracket, 1);
	w->first = false;
}

static void jw_str_member(jw *w, const char *key, const char *value)
{
	jw_member(w, key);
	jw_string(w, value);
}

int gb_plan_write_json(const gb_plan *plan, gb_plan_sink sink, void *ctx, gb_error *err)
{
	jw w;
	size_t i, j;
	char num[32];

	memset(&w, 0, sizeof(w));
	gb_buf_init(&w.b, 2 * JW_CHUNK);
	w.err = err;
	w.sink = sink;
	w.ctx = ctx;
	w.first = true;
	jw_put(&w, "{", 1);
	w.depth = 1;
	jw_member(&w, "schema_version");
	snprintf(num, sizeof(num), "%d", PLAN_SCHEMA_VERSION);
	jw_puts(&w, num);
	jw_open(&w, "groups", '[');
	for (i = 0; i < plan->ngroups; i++) {
		jw_open(&w, NULL, '{');
		jw_str_member(&w, "object_id", plan->groups[i].object_id);
		jw_str_member(&w, "dn", plan->groups[i].dn);
		jw_str_member(&w, "guid", plan->groups[i].guid);
		jw_member(&w, "members");
		snprintf(num, sizeof(num), "%zu", plan->groups[i].nmembers);
		jw_puts(&w, num);
		jw_close(&w, '}');
	}
	jw_close(&w, ']');
	jw_open(&w, "operations", '[');
	for (i = 0; i < plan->nops; i++) {
		const gb_op *op = &plan->ops[i];

		jw_open(&w, NULL, '{');
		jw_str_member(&w, "kind", gb_op_kind_name(op->kind));
		jw_str_member(&w, "object_id", op->object_id);
		jw_str_member(&w, "target", op->target);
		jw_str_member(&w, "guid", op->guid);
		jw_str_member(&w, "new_rdn", op->new_rdn);
		jw_str_member(&w, "new_parent", op->new_parent);
		jw_open(&w, "attributes", '[');
		for (j = 0; j < op->nattrs; j++) {
			jw_open(&w, NULL, '{');
			jw_str_member(&w, "name", op->attrs[j].name);
			jw_str_member(&w, "before", op->attrs[j].before);
			jw_str_member(&w, "after", op->attrs[j].after);
			jw_close(&w, '}');
		}
		jw_close(&w, ']');
		jw_open(&w, "values", '[');
		for (j = 0; j < op->nvalues; j++)
			jw_str_member(&w, NULL, op->values[j]);
		jw_close(&w, ']');
		jw_str_member(&w, "reason", op->reason);
		jw_close(&w, '}');
	}
	jw_close(&w, ']');
	jw_open(&w, "notes", '[');
	for (i = 0; i < plan->nnotes; i++) {
		const gb_note *n = &plan->notes[i];

		jw_open(&w, NULL, '{');
		jw_str_member(&w, "kind", gb_note_kind_name(n->kind));
		jw_str_member(&w, "object_id", n->object_id);
		jw_str_member(&w, "subject_id", n->subject_id);
		jw_str_member(&w, "code", n->code);
		jw_str_member(&w, "message", n->message);
		jw_close(&w, '}');
	}
	jw_close(&w, ']');
	w.depth = 0;
	jw_newline(&w);
	jw_put(&w, "}", 1);
	jw_flush(&w);
	gb_buf_free(&w.b);
	return w.rc ? gb_error_prefix(err, "writing the plan") : 0;
}

static int to_buf(void *ctx, const char *data, size_t n, gb_error *err)
{
	return gb_buf_append(ctx, data, n, err);
}

int gb_plan_to_json(const gb_plan *plan, char **out, gb_error *err)
{
	gb_buf b;
	int rc;

	*out = NULL;
	gb_buf_init(&b, SIZE_MAX / 2); /* our own data, sized by the plan: no limit below memory */
	rc = gb_plan_write_json(plan, to_buf, &b, err);
	if (!rc && !b.data)
		rc = gb_buf_append(&b, "", 0, err);
	if (rc) {
		gb_buf_free(&b);
		return rc;
	}
	*out = gb_buf_detach(&b);
	return 0;
}

static int op_kind_from_name(const char *name)
{
	int i;

	for (i = 0; name && i < GB_OP_KIND_COUNT; i++)
		if (strcmp(name, kinds[i].name) == 0)
			return i;
	return -1;
}

static int note_kind_from_name(const char *name)
{
	size_t i;

	for (i = 0; name && i < sizeof(note_names) / sizeof(note_names[0]); i++)
		if (strcmp(name, note_names[i]) == 0)
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
		int k = op_kind_from_name(opt_str(o, "kind"));

		if (k < 0 && opt_str(o, "kind") && strcmp(opt_str(o, "kind"), "graph-patch") == 0) {
			rc = gb_error_set(err, GB_EPARSE, "plan: operation %zu is a graph-patch, a Graph change of a plan made "
							  "before operations had explicit kinds (its meaning hung on its attribute's "
							  "name); plan again",
					  i);
			goto done;
		}
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
		int k = note_kind_from_name(opt_str(o, "kind"));

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
	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
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
