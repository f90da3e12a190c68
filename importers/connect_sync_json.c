/* connect_sync_json.c: the Connect Sync model as JSON (jansson), and its place in the state database. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/util.h"

#include "connect_sync_int.h"

#define JSON_FORMAT "groupbridge.connect-sync/1"

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *jtri(gb_cs_tristate t)
{
	return t == GB_CS_UNKNOWN ? json_null() : json_boolean(t == GB_CS_YES);
}

static json_t *jlist(const gb_cs_strlist *l)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < l->count; i++)
		json_array_append_new(a, jstr(l->items[i]));
	return a;
}

static json_t *jparams(const gb_cs_params *ps)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; o && i < ps->count; i++)
		if (ps->items[i].name && !json_object_get(o, ps->items[i].name))
			json_object_set_new(o, ps->items[i].name, jstr(ps->items[i].value));
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

static json_t *jroles(unsigned roles)
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
			json_array_append_new(a, json_string(names[i].name));
	return a;
}

static json_t *jconnector(const gb_cs_connector *c)
{
	json_t *o = json_object(), *parts = json_array();
	size_t i;

	for (i = 0; parts && i < c->partition_count; i++) {
		const gb_cs_partition *p = &c->partitions[i];
		json_array_append_new(parts, json_pack("{s:o, s:o, s:b, s:o, s:o, s:o}", "name", jstr(p->name),
		                                       "display_name", jstr(p->display_name), "selected", p->selected,
		                                       "object_classes", jlist(&p->object_classes), "inclusions",
		                                       jlist(&p->inclusions), "exclusions", jlist(&p->exclusions)));
	}
	json_object_set_new(o, "id", jstr(c->id));
	json_object_set_new(o, "name", jstr(c->name));
	json_object_set_new(o, "kind", json_string(kind_name(c->kind)));
	json_object_set_new(o, "category", jstr(c->category));
	json_object_set_new(o, "subtype", jstr(c->subtype));
	json_object_set_new(o, "forest", jstr(c->forest));
	json_object_set_new(o, "writeback_container", jstr(c->writeback_container));
	json_object_set_new(o, "file", jstr(c->file));
	json_object_set_new(o, "partitions", parts);
	json_object_set_new(o, "parameters", jparams(&c->params));
	json_object_set_new(o, "extension_attributes", jlist(&c->extension_attributes));
	return o;
}

static json_t *jrule(const gb_cs_rule *r)
{
	json_t *o = json_object();
	size_t i, j;

	json_object_set_new(o, "id", jstr(r->id));
	json_object_set_new(o, "name", jstr(r->name));
	json_object_set_new(o, "description", jstr(r->description));
	json_object_set_new(o, "immutable_tag", jstr(r->immutable_tag));
	json_object_set_new(o, "custom", json_boolean(r->immutable_tag == NULL));
	json_object_set_new(o, "direction", jstr(r->direction));
	json_object_set_new(o, "disabled", json_boolean(r->disabled));
	json_object_set_new(o, "connector", jstr(r->connector));
	json_object_set_new(o, "source_type", jstr(r->source_type));
	json_object_set_new(o, "target_type", jstr(r->target_type));
	json_object_set_new(o, "link_type", jstr(r->link_type));
	json_object_set_new(o, "precedence", r->precedence >= 0 ? json_integer(r->precedence) : json_null());
	json_object_set_new(o, "roles", jroles(r->roles));
	json_object_set_new(o, "file", jstr(r->file));
	if (r->detailed) {
		json_t *scope = json_array(), *join = json_array(), *maps = json_array();
		for (i = 0; i < r->scope_count; i++) {
			json_t *g = json_array();
			for (j = 0; j < r->scope[i].count; j++) {
				const gb_cs_scope *s = &r->scope[i].items[j];
				json_array_append_new(g, json_pack("{s:o, s:o, s:o}", "attribute", jstr(s->attribute),
				                                   "operator", jstr(s->op), "value", jstr(s->value)));
			}
			json_array_append_new(scope, g);
		}
		for (i = 0; i < r->join_count; i++) {
			json_t *g = json_array();
			for (j = 0; j < r->join[i].count; j++) {
				const gb_cs_join *c = &r->join[i].items[j];
				json_array_append_new(g, json_pack("{s:o, s:o, s:b}", "cs_attribute",
				                                   jstr(c->cs_attribute), "mv_attribute",
				                                   jstr(c->mv_attribute), "case_sensitive",
				                                   c->case_sensitive));
			}
			json_array_append_new(join, g);
		}
		for (i = 0; i < r->mapping_count; i++) {
			const gb_cs_mapping *m = &r->mappings[i];
			json_array_append_new(maps, json_pack("{s:o, s:s, s:o, s:o, s:o, s:o, s:b}", "destination",
			                                      jstr(m->dest), "flow", flow_name(m->flow), "sources",
			                                      jlist(&m->sources), "expression", jstr(m->expression),
			                                      "constant", jstr(m->constant), "merge", jstr(m->merge),
			                                      "execute_once", m->execute_once));
		}
		json_object_set_new(o, "scope", scope);
		json_object_set_new(o, "join", join);
		json_object_set_new(o, "mappings", maps);
	}
	return o;
}

static json_t *jmodel(const gb_cs_export *exp)
{
	json_t *o = json_object(), *a;
	size_t i, group_rules = 0;

	json_object_set_new(o, "format", json_string(JSON_FORMAT));
	json_object_set_new(o, "dir", jstr(exp->dir));
	json_object_set_new(o, "server", jstr(exp->server));
	json_object_set_new(o, "export_date", jstr(exp->export_date));
	json_object_set_new(o, "version", jstr(exp->version));
	json_object_set_new(o, "files", json_integer((json_int_t)exp->file_count));
	json_object_set_new(o, "bytes", json_integer((json_int_t)exp->byte_count));
	json_object_set_new(o, "staging_mode", jtri(exp->staging_mode));
	json_object_set_new(o, "staging_mode_source", jstr(exp->staging_mode_source));
	json_object_set_new(o, "scheduler_suspended", jtri(exp->scheduler_suspended));
	json_object_set_new(o, "delete_threshold",
	                    json_pack("{s:o, s:o}", "enabled", jtri(exp->delete_threshold_enabled), "value",
	                              exp->delete_threshold >= 0 ? json_integer(exp->delete_threshold) : json_null()));
	json_object_set_new(o, "writeback",
	                    json_pack("{s:b, s:o, s:o, s:o, s:o, s:o, s:b}", "enabled", exp->writeback_enabled, "flag",
	                              jtri(exp->writeback_flag), "forest", jstr(exp->writeback_forest), "container",
	                              jstr(exp->writeback_container), "connector_container",
	                              jstr(exp->writeback_connector_container), "ou_in_scope",
	                              jtri(exp->writeback_ou_in_scope), "group_join_filter", exp->group_join_filter));
	a = json_array();
	for (i = 0; i < exp->extension_count; i++) {
		const gb_cs_extension *e = &exp->extensions[i];
		json_array_append_new(a, json_pack("{s:o, s:o, s:o, s:o, s:o, s:s}", "source", jstr(e->source),
		                                   "object_class", jstr(e->object_class), "type", jstr(e->type), "flag",
		                                   jstr(e->flag), "target", jstr(e->target), "group_dn",
		                                   e->group_dn ? e->group_dn : "no"));
	}
	json_object_set_new(o, "directory_extensions",
	                    json_pack("{s:o, s:o}", "enabled", jtri(exp->dirext_enabled), "extensions", a));
	a = json_array();
	for (i = 0; i < exp->finding_count; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "severity",
		                                   gb_cs_severity_name(exp->findings[i].severity), "code",
		                                   exp->findings[i].code, "message", exp->findings[i].message));
	json_object_set_new(o, "findings", a);
	a = json_array();
	for (i = 0; i < exp->connector_count; i++)
		json_array_append_new(a, jconnector(&exp->connectors[i]));
	json_object_set_new(o, "connectors", a);
	a = json_array();
	for (i = 0; i < exp->rule_count; i++) {
		json_array_append_new(a, jrule(&exp->rules[i]));
		if (exp->rules[i].roles & GB_CS_ROLE_GROUP)
			group_rules++;
	}
	json_object_set_new(o, "rules", a);
	json_object_set_new(o, "counts",
	                    json_pack("{s:I, s:I, s:I, s:I}", "connectors", (json_int_t)exp->connector_count, "rules",
	                              (json_int_t)exp->rule_count, "group_rules", (json_int_t)group_rules, "findings",
	                              (json_int_t)exp->finding_count));
	json_object_set_new(o, "global_settings", jparams(&exp->global_params));
	json_object_set_new(o, "persisted_state", exp->has_persisted_state ? jparams(&exp->persisted) : json_null());
	return o;
}

int gb_cs_to_json(const gb_cs_export *exp, bool pretty, char **out, gb_error *err)
{
	json_t *o;
	char *s;

	*out = NULL;
	o = jmodel(exp);
	if (!o)
		return gb_error_set(err, GB_ENOMEM, "writing the export as json: out of memory");
	/* json_pack yields NULL for a failed member, which json_object_set_new then drops: check the whole once */
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
	json_t *a = jroles(roles);
	char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;

	json_decref(a);
	return s;
}

int gb_cs_save(gb_store *s, const gb_cs_export *exp, int64_t *import_id, gb_error *err)
{
	sqlite3_stmt *st = NULL;
	char *model = NULL;
	int64_t id = 0;
	size_t i;
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
	rc = gb_store_exec(s, "UPDATE cs_imports SET is_current = 0 WHERE is_current = 1", err);
	if (rc)
		goto fail;
	rc = gb_store_prepare(s,
	                      "INSERT INTO cs_imports (is_current, source_dir, server, export_date, version, "
	                      "writeback_enabled, writeback_forest, writeback_container, staging_mode, model) "
	                      "VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	                      &st, err);
	if (rc)
		goto fail;
	bind_text(st, 1, exp->dir);
	bind_text(st, 2, exp->server);
	bind_text(st, 3, exp->export_date);
	bind_text(st, 4, exp->version);
	sqlite3_bind_int(st, 5, exp->writeback_enabled);
	bind_text(st, 6, exp->writeback_forest);
	bind_text(st, 7,
	          exp->writeback_connector_container ? exp->writeback_connector_container : exp->writeback_container);
	bind_tri(st, 8, exp->staging_mode);
	sqlite3_bind_text(st, 9, model, -1, SQLITE_STATIC);
	rc = step_done(s, st, err, "storing the connect sync import");
	if (rc)
		goto fail;
	id = sqlite3_last_insert_rowid(gb_store_db(s));
	sqlite3_finalize(st);
	st = NULL;

	rc = gb_store_prepare(s,
	                      "INSERT INTO cs_connectors (import_id, seq, connector_id, name, kind, forest, "
	                      "writeback_container) VALUES (?, ?, ?, ?, ?, ?, ?)",
	                      &st, err);
	for (i = 0; !rc && i < exp->connector_count; i++) {
		const gb_cs_connector *c = &exp->connectors[i];
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		bind_text(st, 3, c->id);
		bind_text(st, 4, c->name);
		bind_text(st, 5, kind_name(c->kind));
		bind_text(st, 6, c->forest);
		bind_text(st, 7, c->writeback_container);
		rc = step_done(s, st, err, "storing a connector of the connect sync import");
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc)
		goto fail;

	rc = gb_store_prepare(s,
	                      "INSERT INTO cs_rules (import_id, seq, rule_id, name, direction, connector_id, "
	                      "source_type, target_type, link_type, precedence, disabled, immutable_tag, roles) "
	                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	                      &st, err);
	for (i = 0; !rc && i < exp->rule_count; i++) {
		const gb_cs_rule *r = &exp->rules[i];
		char *roles = roles_text(r->roles);
		if (!roles) {
			rc = gb_error_set(err, GB_ENOMEM, "storing the connect sync import: out of memory");
			break;
		}
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		bind_text(st, 3, r->id);
		bind_text(st, 4, r->name);
		bind_text(st, 5, r->direction);
		bind_text(st, 6, r->connector);
		bind_text(st, 7, r->source_type);
		bind_text(st, 8, r->target_type);
		bind_text(st, 9, r->link_type);
		if (r->precedence >= 0)
			sqlite3_bind_int64(st, 10, r->precedence);
		sqlite3_bind_int(st, 11, r->disabled);
		bind_text(st, 12, r->immutable_tag);
		sqlite3_bind_text(st, 13, roles, -1, SQLITE_TRANSIENT);
		free(roles);
		rc = step_done(s, st, err, "storing a rule of the connect sync import");
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc)
		goto fail;

	rc = gb_store_prepare(
	    s, "INSERT INTO cs_findings (import_id, seq, severity, code, message) VALUES (?, ?, ?, ?, ?)", &st, err);
	for (i = 0; !rc && i < exp->finding_count; i++) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		bind_text(st, 3, gb_cs_severity_name(exp->findings[i].severity));
		bind_text(st, 4, exp->findings[i].code);
		bind_text(st, 5, exp->findings[i].message);
		rc = step_done(s, st, err, "storing a finding of the connect sync import");
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc)
		goto fail;
	rc = gb_store_commit(s, err);
	if (rc)
		goto fail;
	free(model);
	if (import_id)
		*import_id = id;
	return 0;
fail:
	sqlite3_finalize(st);
	gb_store_rollback(s);
	free(model);
	return rc;
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
