/* connect_sync_json.c: the Connect Sync model as JSON (jansson), and its place in the state database. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/util.h"

#include "connect_sync_int.h"

#define JSON_FORMAT "groupbridge.connect-sync/1"

/* Every insertion goes through put/append, which clear *ok when a value could not be made or inserted (memory
 * exhausted): the caller then reports GB_ENOMEM instead of writing a model with members missing. */
static void put(bool *ok, json_t *o, const char *key, json_t *v)
{
	if (!v || !o || json_object_set_new(o, key, v) != 0) {
		if (v && !o)
			json_decref(v);
		*ok = false;
	}
}

static void append(bool *ok, json_t *a, json_t *v)
{
	if (!v || !a || json_array_append_new(a, v) != 0) {
		if (v && !a)
			json_decref(v);
		*ok = false;
	}
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *jtri(gb_cs_tristate t)
{
	return t == GB_CS_UNKNOWN ? json_null() : json_boolean(t == GB_CS_YES);
}

static json_t *jlist(bool *ok, const gb_cs_strlist *l)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < l->count; i++)
		append(ok, a, jstr(l->items[i]));
	return a;
}

static json_t *jparams(bool *ok, const gb_cs_params *ps)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; o && i < ps->count; i++)
		if (ps->items[i].name && !json_object_get(o, ps->items[i].name))
			put(ok, o, ps->items[i].name, jstr(ps->items[i].value));
	return o;
}

static const char *kind_name(gb_cs_connector_kind k)
{
	return k == GB_CS_CONNECTOR_AD ? "ad" : k == GB_CS_CONNECTOR_ENTRA ? "entra" : "other";
}

static const char *flow_name(gb_cs_flow f)
{
	return f == GB_CS_FLOW_EXPRESSION ? "expression" : f == GB_CS_FLOW_DIRECT ? "direct" : "constant";
}

static json_t *jroles(bool *ok, unsigned roles)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
	    {GB_CS_ROLE_GROUP, "group"},
	    {GB_CS_ROLE_SOAINAAD, "soainaad"},
	    {GB_CS_ROLE_MEMBER_LIMIT, "member-limit"},
	    {GB_CS_ROLE_GROUP_JOIN, "group-join"},
	    {GB_CS_ROLE_CUSTOM_GROUP, "custom-group"},
	    {GB_CS_ROLE_COEX_INBOUND, "coexistence-inbound"},
	    {GB_CS_ROLE_COEX_OUTBOUND, "coexistence-outbound"},
	    {GB_CS_ROLE_DELETE_OUT_OF_SCOPE, "delete-out-of-scope"},
	    {GB_CS_ROLE_WRITEBACK_DN, "writeback-dn"},
	};
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < sizeof(names) / sizeof(names[0]); i++)
		if (roles & names[i].bit)
			append(ok, a, json_string(names[i].name));
	return a;
}

static json_t *jconnector(bool *ok, const gb_cs_connector *c)
{
	json_t *o = json_object(), *parts = json_array();
	size_t i;

	for (i = 0; parts && i < c->partition_count; i++) {
		const gb_cs_partition *p = &c->partitions[i];
		append(ok, parts,
		       json_pack("{s:o, s:o, s:b, s:o, s:o, s:o}", "name", jstr(p->name), "display_name",
		                 jstr(p->display_name), "selected", p->selected, "object_classes",
		                 jlist(ok, &p->object_classes), "inclusions", jlist(ok, &p->inclusions), "exclusions",
		                 jlist(ok, &p->exclusions)));
	}
	put(ok, o, "id", jstr(c->id));
	put(ok, o, "name", jstr(c->name));
	put(ok, o, "kind", json_string(kind_name(c->kind)));
	put(ok, o, "category", jstr(c->category));
	put(ok, o, "subtype", jstr(c->subtype));
	put(ok, o, "forest", jstr(c->forest));
	put(ok, o, "writeback_container", jstr(c->writeback_container));
	put(ok, o, "file", jstr(c->file));
	put(ok, o, "partitions", parts);
	put(ok, o, "parameters", jparams(ok, &c->params));
	put(ok, o, "extension_attributes", jlist(ok, &c->extension_attributes));
	return o;
}

static json_t *jrule(bool *ok, const gb_cs_rule *r)
{
	json_t *o = json_object();
	size_t i, j;

	put(ok, o, "id", jstr(r->id));
	put(ok, o, "name", jstr(r->name));
	put(ok, o, "description", jstr(r->description));
	put(ok, o, "immutable_tag", jstr(r->immutable_tag));
	put(ok, o, "custom", json_boolean(r->immutable_tag == NULL));
	put(ok, o, "direction", jstr(r->direction));
	put(ok, o, "disabled", json_boolean(r->disabled));
	put(ok, o, "connector", jstr(r->connector));
	put(ok, o, "source_type", jstr(r->source_type));
	put(ok, o, "target_type", jstr(r->target_type));
	put(ok, o, "link_type", jstr(r->link_type));
	put(ok, o, "precedence", r->precedence >= 0 ? json_integer(r->precedence) : json_null());
	put(ok, o, "roles", jroles(ok, r->roles));
	put(ok, o, "file", jstr(r->file));
	if (r->detailed) {
		json_t *scope = json_array(), *join = json_array(), *maps = json_array();
		for (i = 0; i < r->scope_count; i++) {
			json_t *g = json_array();
			for (j = 0; j < r->scope[i].count; j++) {
				const gb_cs_scope *s = &r->scope[i].items[j];
				append(ok, g,
				       json_pack("{s:o, s:o, s:o}", "attribute", jstr(s->attribute), "operator",
				                 jstr(s->op), "value", jstr(s->value)));
			}
			append(ok, scope, g);
		}
		for (i = 0; i < r->join_count; i++) {
			json_t *g = json_array();
			for (j = 0; j < r->join[i].count; j++) {
				const gb_cs_join *c = &r->join[i].items[j];
				append(ok, g,
				       json_pack("{s:o, s:o, s:b}", "cs_attribute", jstr(c->cs_attribute),
				                 "mv_attribute", jstr(c->mv_attribute), "case_sensitive",
				                 c->case_sensitive));
			}
			append(ok, join, g);
		}
		for (i = 0; i < r->mapping_count; i++) {
			const gb_cs_mapping *m = &r->mappings[i];
			append(ok, maps,
			       json_pack("{s:o, s:s, s:o, s:o, s:o, s:o, s:b}", "destination", jstr(m->dest), "flow",
			                 flow_name(m->flow), "sources", jlist(ok, &m->sources), "expression",
			                 jstr(m->expression), "constant", jstr(m->constant), "merge", jstr(m->merge),
			                 "execute_once", m->execute_once));
		}
		put(ok, o, "scope", scope);
		put(ok, o, "join", join);
		put(ok, o, "mappings", maps);
	}
	return o;
}

static json_t *jmodel(bool *ok, const gb_cs_export *exp)
{
	json_t *o = json_object(), *a;
	size_t i, group_rules = 0;

	put(ok, o, "format", json_string(JSON_FORMAT));
	put(ok, o, "dir", jstr(exp->dir));
	put(ok, o, "server", jstr(exp->server));
	put(ok, o, "export_date", jstr(exp->export_date));
	put(ok, o, "version", jstr(exp->version));
	put(ok, o, "files", json_integer((json_int_t)exp->file_count));
	put(ok, o, "bytes", json_integer((json_int_t)exp->byte_count));
	put(ok, o, "staging_mode", jtri(exp->staging_mode));
	put(ok, o, "staging_mode_source", jstr(exp->staging_mode_source));
	put(ok, o, "scheduler_suspended", jtri(exp->scheduler_suspended));
	put(ok, o, "delete_threshold",
	    json_pack("{s:o, s:o}", "enabled", jtri(exp->delete_threshold_enabled), "value",
	              exp->delete_threshold >= 0 ? json_integer(exp->delete_threshold) : json_null()));
	put(ok, o, "writeback",
	    json_pack("{s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "enabled", exp->writeback_enabled, "flag",
	              jtri(exp->writeback_flag), "forest", jstr(exp->writeback_forest), "container",
	              jstr(exp->writeback_container), "connector_container", jstr(exp->writeback_connector_container),
	              "ou_override", jstr(exp->writeback_ou_override), "ou_in_scope", jtri(exp->writeback_ou_in_scope),
	              "group_join_filter", exp->group_join_filter));
	a = json_array();
	for (i = 0; i < exp->extension_count; i++) {
		const gb_cs_extension *e = &exp->extensions[i];
		append(ok, a,
		       json_pack("{s:o, s:o, s:o, s:o, s:o, s:s}", "source", jstr(e->source), "object_class",
		                 jstr(e->object_class), "type", jstr(e->type), "flag", jstr(e->flag), "target",
		                 jstr(e->target), "group_dn", e->group_dn ? e->group_dn : "no"));
	}
	put(ok, o, "directory_extensions",
	    json_pack("{s:o, s:o}", "enabled", jtri(exp->dirext_enabled), "extensions", a));
	a = json_array();
	for (i = 0; i < exp->finding_count; i++)
		append(ok, a,
		       json_pack("{s:s, s:s, s:s}", "severity", gb_cs_severity_name(exp->findings[i].severity), "code",
		                 exp->findings[i].code, "message", exp->findings[i].message));
	put(ok, o, "findings", a);
	a = json_array();
	for (i = 0; i < exp->connector_count; i++)
		append(ok, a, jconnector(ok, &exp->connectors[i]));
	put(ok, o, "connectors", a);
	a = json_array();
	for (i = 0; i < exp->rule_count; i++) {
		append(ok, a, jrule(ok, &exp->rules[i]));
		if (exp->rules[i].roles & GB_CS_ROLE_GROUP)
			group_rules++;
	}
	put(ok, o, "rules", a);
	put(ok, o, "counts",
	    json_pack("{s:I, s:I, s:I, s:I}", "connectors", (json_int_t)exp->connector_count, "rules",
	              (json_int_t)exp->rule_count, "group_rules", (json_int_t)group_rules, "findings",
	              (json_int_t)exp->finding_count));
	a = json_object();
	for (i = 0; gb_cs_source_fields[i]; i++)
		put(ok, a, gb_cs_source_fields[i], json_string(gb_cs_source_of(gb_cs_source_fields[i])));
	put(ok, o, "sources", a);
	put(ok, o, "global_settings", jparams(ok, &exp->global_params));
	put(ok, o, "persisted_state", exp->has_persisted_state ? jparams(ok, &exp->persisted) : json_null());
	return o;
}

int gb_cs_to_json(const gb_cs_export *exp, bool pretty, char **out, gb_error *err)
{
	json_t *o;
	char *s = NULL;
	bool okay = true, *ok = &okay;

	*out = NULL;
	o = jmodel(ok, exp);
	if (o && okay)
		s = json_dumps(o, (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return gb_error_set(err, GB_ENOMEM, "writing the export as json: out of memory");
	*out = s;
	return 0;
}

/* ---- the state database ---------------------------------------------------------------------------------- */

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

/* Binds the n texts vals (NULL: SQL NULL) to the parameters first, first + 1, ... */
static void bind_texts(sqlite3_stmt *st, int first, const char *const *vals, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		bind_text(st, first + (int)k, vals[k]);
}

static int bind_tri(sqlite3_stmt *st, int i, gb_cs_tristate t)
{
	return t == GB_CS_UNKNOWN ? sqlite3_bind_null(st, i) : sqlite3_bind_int(st, i, t == GB_CS_YES);
}

static int step_done(gb_store *s, sqlite3_stmt *st, gb_error *err, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		return gb_store_error(s, err, what);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return 0;
}

static char *roles_text(unsigned roles)
{
	bool okay = true, *ok = &okay;
	json_t *a = jroles(ok, roles);
	char *s = a && okay ? json_dumps(a, JSON_COMPACT) : NULL;

	json_decref(a);
	return s;
}

static int save_import(gb_store *s, const gb_cs_export *exp, const char *model, int64_t *id, gb_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = gb_store_exec(s, "UPDATE cs_imports SET is_current = 0 WHERE is_current = 1", err);
	if (!rc)
		rc = gb_store_prepare(s,
		                      "INSERT INTO cs_imports (is_current, source_dir, server, export_date, version, "
		                      "writeback_enabled, writeback_forest, writeback_container, staging_mode, model) "
		                      "VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		                      &st, err);
	if (rc)
		return rc;
	bind_texts(st, 1, (const char *const[]){exp->dir, exp->server, exp->export_date, exp->version}, 4);
	sqlite3_bind_int(st, 5, exp->writeback_enabled);
	bind_text(st, 6, exp->writeback_forest);
	bind_text(st, 7,
	          exp->writeback_connector_container ? exp->writeback_connector_container : exp->writeback_container);
	bind_tri(st, 8, exp->staging_mode);
	sqlite3_bind_text(st, 9, model, -1, SQLITE_STATIC);
	rc = step_done(s, st, err, "storing the connect sync import");
	if (!rc)
		*id = sqlite3_last_insert_rowid(gb_store_db(s));
	sqlite3_finalize(st);
	return rc;
}

/* Binds the columns of row i after import_id and seq (parameters 3 and on); GB_ENOMEM with a message. */
typedef int (*bind_row)(sqlite3_stmt *st, const gb_cs_export *exp, size_t i, gb_error *err);

static int bind_connector(sqlite3_stmt *st, const gb_cs_export *exp, size_t i, gb_error *err)
{
	const gb_cs_connector *c = &exp->connectors[i];

	(void)err;
	bind_texts(st, 3, (const char *const[]){c->id, c->name, kind_name(c->kind), c->forest, c->writeback_container},
	           5);
	return 0;
}

static int bind_rule(sqlite3_stmt *st, const gb_cs_export *exp, size_t i, gb_error *err)
{
	const gb_cs_rule *r = &exp->rules[i];
	char *roles = roles_text(r->roles);

	if (!roles)
		return gb_error_set(err, GB_ENOMEM, "storing the connect sync import: out of memory");
	bind_texts(st, 3,
	           (const char *const[]){r->id, r->name, r->direction, r->connector, r->source_type, r->target_type,
	                                 r->link_type},
	           7);
	if (r->precedence >= 0)
		sqlite3_bind_int64(st, 10, r->precedence);
	sqlite3_bind_int(st, 11, r->disabled);
	bind_text(st, 12, r->immutable_tag);
	sqlite3_bind_text(st, 13, roles, -1, SQLITE_TRANSIENT);
	free(roles);
	return 0;
}

static int bind_finding(sqlite3_stmt *st, const gb_cs_export *exp, size_t i, gb_error *err)
{
	(void)err;
	bind_texts(st, 3,
	           (const char *const[]){gb_cs_severity_name(exp->findings[i].severity), exp->findings[i].code,
	                                 exp->findings[i].message},
	           3);
	return 0;
}

/* Inserts count rows with sql, whose first two parameters are the import's id and the row's position. */
static int save_rows(gb_store *s, const char *sql, const gb_cs_export *exp, size_t count, bind_row bind, int64_t id,
                     const char *what, gb_error *err)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc;

	rc = gb_store_prepare(s, sql, &st, err);
	for (i = 0; !rc && i < count; i++) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		rc = bind(st, exp, i, err);
		if (!rc)
			rc = step_done(s, st, err, what);
	}
	sqlite3_finalize(st);
	return rc;
}

int gb_cs_save(gb_store *s, const gb_cs_export *exp, int64_t *import_id, gb_error *err)
{
	char *model = NULL;
	int64_t id = 0;
	int rc;

	if (import_id)
		*import_id = 0;
	rc = gb_cs_to_json(exp, false, &model, err);
	if (rc)
		return rc;
	rc = gb_store_begin(s, err);
	if (rc) {
		free(model);
		return rc;
	}
	rc = save_import(s, exp, model, &id, err);
	if (!rc)
		rc = save_rows(s,
		               "INSERT INTO cs_connectors (import_id, seq, connector_id, name, kind, forest, "
		               "writeback_container) VALUES (?, ?, ?, ?, ?, ?, ?)",
		               exp, exp->connector_count, bind_connector, id, "storing a connector of the connect sync import",
		               err);
	if (!rc)
		rc = save_rows(s,
		               "INSERT INTO cs_rules (import_id, seq, rule_id, name, direction, connector_id, "
		               "source_type, target_type, link_type, precedence, disabled, immutable_tag, roles) "
		               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		               exp, exp->rule_count, bind_rule, id, "storing a rule of the connect sync import", err);
	if (!rc)
		rc = save_rows(s, "INSERT INTO cs_findings (import_id, seq, severity, code, message) VALUES (?, ?, ?, ?, ?)",
		               exp, exp->finding_count, bind_finding, id, "storing a finding of the connect sync import", err);
	if (!rc)
		rc = gb_store_commit(s, err);
	free(model);
	if (rc) {
		gb_store_rollback(s);
		return rc;
	}
	if (import_id)
		*import_id = id;
	return 0;
}

int gb_cs_load_current(gb_store *s, char **out, int64_t *import_id, gb_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = NULL;
	rc = gb_store_prepare(s, "SELECT id, model FROM cs_imports WHERE is_current = 1", &st, err);
	if (rc)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		char *m = gb_strdup((const char *)sqlite3_column_text(st, 1));
		if (!m) {
			rc = gb_error_set(err, GB_ENOMEM, "reading the connect sync import: out of memory");
		} else {
			if (import_id)
				*import_id = sqlite3_column_int64(st, 0);
			*out = m;
			rc = 0;
		}
	} else if (rc == SQLITE_DONE) {
		rc = gb_error_set(err, GB_ENOTFOUND,
		                  "no connect sync export has been imported into %s yet; run "
		                  "groupbridge import connect-sync DIR",
		                  gb_store_path(s));
	} else {
		rc = gb_store_error(s, err, "reading the connect sync import");
	}
	sqlite3_finalize(st);
	return rc;
}
