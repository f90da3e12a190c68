/* graph.c: the executors of the Graph operation kinds (see plan.h for what each means). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "groupbridge/util.h"

#include "apply/apply_int.h"

static int no_graph(const gb_apply_opts *o, const gb_op *op, const char *target, gb_error *err)
{
	if (o->graph)
		return 0;
	return gb_error_set(err, GB_EINVAL, "%s %s: no Graph client to send it to", gb_op_kind_name(op->kind),
			    target ? target : "");
}

int gb_exec_need(const gb_op *op, const char *name, bool after, const char **out, gb_error *err)
{
	const gb_attr_change *a = gb_op_find_attr(op, name);

	*out = a ? (after ? a->after : a->before) : NULL;
	if (*out)
		return 0;
	return gb_error_set(err, GB_EINVAL, "%s %s: the operation has no %s value of %s", gb_op_kind_name(op->kind),
			    op->target ? op->target : "", after ? "new" : "old", name);
}

int gb_apply_extension_name(gb_graph *graph, const char *short_name, char **out, gb_error *err)
{
	gb_graph_app *app = NULL;
	gb_graph_extension_list *exts = NULL;
	size_t j, slen = strlen(short_name);
	int rc;

	*out = NULL;
	rc = gb_graph_find_extension_app(graph, &app, err);
	if (!rc)
		rc = gb_graph_list_extension_properties(graph, app->id, &exts, err);
	for (j = 0; !rc && j < exts->n && !*out; j++) {
		const char *name = exts->items[j].name;
		size_t len = strlen(name);

		/* extension_<appId>_<short_name> */
		if (len > slen + 1 && name[len - slen - 1] == '_' && strcmp(name + len - slen, short_name) == 0) {
			*out = gb_strdup(name);
			if (!*out)
				rc = gb_error_set(err, GB_ENOMEM, "out of memory");
		}
	}
	if (!rc && !*out)
		rc = gb_error_set(err, GB_ENOTFOUND, "the %s extension does not exist on %s", short_name,
				  GB_GRAPH_EXT_APP_NAME);
	gb_graph_extension_list_free(exts);
	gb_graph_app_free(app);
	return rc;
}

int gb_exec_graph_create_app(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
			     gb_error *err)
{
	gb_graph_app *app = NULL;
	int rc = no_graph(o, op, target, err);

	if (!rc)
		rc = gb_graph_create_extension_app(o->graph, &app, err);
	if (!rc && app->id)
		x->created_id = gb_strdup(app->id);
	gb_graph_app_free(app);
	return rc;
}

int gb_exec_graph_create_sp(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
			    gb_error *err)
{
	gb_graph_app *app = NULL;
	int rc = no_graph(o, op, target, err);

	if (!rc)
		rc = gb_graph_find_extension_app(o->graph, &app, err);
	if (!rc)
		rc = gb_graph_create_service_principal(o->graph, app->app_id, &x->created_id, err);
	gb_graph_app_free(app);
	return rc;
}

int gb_exec_graph_create_extension(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
				   gb_error *err)
{
	gb_graph_app *app = NULL;
	const char *name = NULL;
	int rc = no_graph(o, op, target, err);

	if (!rc)
		rc = gb_exec_need(op, "name", true, &name, err);
	if (!rc)
		rc = gb_graph_find_extension_app(o->graph, &app, err);
	if (!rc)
		rc = gb_graph_create_extension_property(o->graph, app->id, name, &x->created_id, err);
	gb_graph_app_free(app);
	return rc;
}

int gb_exec_graph_set_extension(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
				gb_error *err)
{
	char *full = NULL;
	int rc = no_graph(o, op, target, err);

	(void)x;
	if (!rc && op->nattrs != 1)
		rc = gb_error_set(err, GB_EINVAL, "graph-set-extension %s: one extension per operation, not %zu", target,
				  op->nattrs);
	if (!rc)
		rc = gb_apply_extension_name(o->graph, op->attrs[0].name, &full, err);
	if (!rc)
		rc = gb_graph_set_group_extension_value(o->graph, target, full, op->attrs[0].after, err);
	free(full);
	return rc;
}

int gb_exec_graph_set_soa(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
			  gb_error *err)
{
	const char *value = NULL;
	bool want, managed = false;
	int rc = no_graph(o, op, target, err);

	(void)x;
	if (!rc)
		rc = gb_exec_need(op, "isCloudManaged", true, &value, err);
	if (!rc && strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
		rc = gb_error_set(err, GB_EINVAL, "graph-set-source-of-authority %s: isCloudManaged \"%s\" is not true or "
						  "false",
				  target, value);
	if (rc)
		return rc;
	want = strcmp(value, "true") == 0;
	rc = gb_graph_set_sync_behavior(o->graph, target, want, err);
	if (!rc)
		rc = gb_graph_get_sync_behavior(o->graph, target, &managed, err);
	if (!rc && managed != want)
		rc = gb_error_set(err, GB_ECONFLICT, "group %s: isCloudManaged reads %s after the change", target,
				  managed ? "true" : "false");
	return rc;
}

int gb_exec_graph_assign_role(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
			      gb_error *err)
{
	const char *sp = NULL, *role = NULL;
	int rc = no_graph(o, op, target, err);

	if (!rc)
		rc = gb_exec_need(op, "resourceId", true, &sp, err);
	if (!rc)
		rc = gb_exec_need(op, "appRoleId", true, &role, err);
	if (!rc)
		rc = gb_graph_assign_app_role(o->graph, sp, target, role, &x->created_id, err);
	return rc;
}

/* Whether s may stand in a URL path as it is (Graph ids: GUIDs, or base64url assignment ids). */
static bool path_safe(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_'))
			return false;
	return true;
}

int gb_exec_graph_remove_role(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
			      gb_error *err)
{
	gb_graph_role_assignment_list *have = NULL;
	const char *sp = NULL, *role = NULL;
	json_t *reply = NULL;
	char url[512];
	size_t i;
	int rc = no_graph(o, op, target, err);

	(void)x;
	if (!rc)
		rc = gb_exec_need(op, "resourceId", false, &sp, err);
	if (!rc)
		rc = gb_exec_need(op, "appRoleId", false, &role, err);
	if (!rc)
		rc = gb_graph_list_app_role_assigned_to(o->graph, sp, &have, err);
	for (i = 0; !rc && i < have->n; i++) {
		const gb_graph_role_assignment *a = &have->items[i];

		if (!a->id || !a->principal_id || !gb_str_iequal(a->principal_id, target) || !a->app_role_id ||
		    !gb_str_iequal(a->app_role_id, role))
			continue;
		if (!path_safe(sp) || !path_safe(a->id) ||
		    snprintf(url, sizeof(url), "/v1.0/servicePrincipals/%s/appRoleAssignedTo/%s", sp, a->id) >=
			(int)sizeof(url)) {
			rc = gb_error_set(err, GB_EINVAL, "graph-remove-app-role %s: service principal %.80s or assignment "
							  "%.80s is not a Graph id",
					  target, sp, a->id);
			break;
		}
		rc = gb_graph_call(o->graph, "DELETE", url, NULL, &reply, err);
		json_decref(reply);
		reply = NULL;
	}
	gb_graph_role_assignment_list_free(have);
	return rc;
}
