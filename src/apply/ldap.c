/* ldap.c: the executors of the LDAP operation kinds (see plan.h for what each means). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/buf.h"
#include "groupbridge/log.h"
#include "groupbridge/util.h"

#include "apply/apply_int.h"

static int no_dir(const gb_apply_opts *o, const gb_op *op, gb_error *err)
{
	if (o->dir)
		return 0;
	return gb_error_set(err, GB_EINVAL, "%s %s: no directory connection to send it to", gb_op_kind_name(op->kind),
			    op->target ? op->target : "");
}

/* ---- create: the add is driven by the plan's attributes ---- */

static int set_cn(gb_directory_group_spec *spec, const char *value, gb_error *err)
{
	gb_ad_dn *dn = NULL;
	bool same;
	int rc;

	/* AD takes cn from the RDN: the attribute must say the same, or the plan and the write disagree */
	rc = gb_ad_dn_parse(spec->dn, &dn, err);
	if (rc)
		return rc;
	same = dn->nrdns > 0 && dn->rdns[0].navas == 1 && gb_str_iequal(dn->rdns[0].avas[0].type, "CN") &&
	       strcmp(dn->rdns[0].avas[0].value, value) == 0;
	gb_ad_dn_free(dn);
	return same ? 0
		    : gb_error_set(err, GB_EINVAL, "create-group %s: cn \"%s\" is not the value of the DN's RDN", spec->dn,
				   value);
}

static int set_group_type(gb_directory_group_spec *spec, const char *value, gb_error *err)
{
	char *end = NULL;
	long v = strtol(value, &end, 10);

	if (!*value || *end || v == 0)
		return gb_error_set(err, GB_EINVAL, "create-group %s: groupType \"%s\" is not a group type", spec->dn,
				    value);
	spec->group_type = v;
	return 0;
}

/* The attributes a group add writes: a spec field each (or a check for cn, a conversion for groupType). Anything
 * else in a create operation is refused rather than silently left out of the add. */
static const struct {
	const char *attr;
	size_t field;                                                     /* offsetof a const char * field */
	int (*set)(gb_directory_group_spec *spec, const char *v, gb_error *err); /* or this */
} create_attrs[] = {
    {"cn", 0, set_cn},
    {"groupType", 0, set_group_type},
    {"description", offsetof(gb_directory_group_spec, description), NULL},
    {"displayName", offsetof(gb_directory_group_spec, display_name), NULL},
    {GB_DIRECTORY_ANCHOR_ATTR, offsetof(gb_directory_group_spec, anchor), NULL},
    {"adminDescription", offsetof(gb_directory_group_spec, admin_description), NULL},
    {"sAMAccountName", offsetof(gb_directory_group_spec, sam_account_name), NULL},
};

/* The group op adds at dn, with the members of add (the operation after it) when not NULL. */
static int create_spec(const gb_op *op, const char *dn, const gb_op *add, gb_directory_group_spec *spec,
		       gb_error *err)
{
	size_t i, k;
	int rc;

	memset(spec, 0, sizeof(*spec));
	spec->dn = dn;
	spec->group_type = GB_GROUP_TYPE_UNIVERSAL_SECURITY;
	for (i = 0; i < op->nattrs; i++) {
		const gb_attr_change *a = &op->attrs[i];

		for (k = 0; k < sizeof(create_attrs) / sizeof(create_attrs[0]); k++)
			if (strcmp(a->name, create_attrs[k].attr) == 0)
				break;
		if (k == sizeof(create_attrs) / sizeof(create_attrs[0]))
			return gb_error_set(err, GB_EINVAL, "create-group %s: attribute %s is not one a group add writes",
					    dn, a->name);
		if (!a->after)
			continue;
		if (create_attrs[k].set) {
			rc = create_attrs[k].set(spec, a->after, err);
			if (rc)
				return rc;
		} else {
			*(const char **)((char *)spec + create_attrs[k].field) = a->after;
		}
	}
	if (add) {
		spec->members = (const char *const *)add->values;
		spec->nmembers = add->nvalues;
	}
	return 0;
}

/* The objectGUID of the group just added (best effort: NULL when it cannot be read, the caller copes). */
static char *read_guid(gb_directory *dir, const char *dn)
{
	static const char *const attrs[] = {"objectGUID", NULL};
	gb_dir_entry *e = NULL;
	char guid[GB_AD_GUID_TEXT_SIZE];
	char *out = NULL;
	gb_error err;

	if (gb_directory_get(dir, dn, attrs, 0, &e, &err) == 0 && gb_dir_entry_guid(e, guid))
		out = gb_strdup(guid);
	gb_dir_entry_free(e);
	return out;
}

static void created(const gb_apply_opts *o, const char *dn, gb_exec_out *x)
{
	x->dn_after = gb_strdup(dn);
	x->guid = o->guid_later ? NULL : read_guid(o->dir, dn);
}

int gb_exec_ldap_create(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x, gb_error *err)
{
	gb_directory_group_spec spec;
	int rc = create_spec(op, target, NULL, &spec, err);

	if (!rc)
		rc = no_dir(o, op, err);
	if (!rc)
		rc = gb_directory_create_group(o->dir, &spec, err);
	if (!rc)
		created(o, target, x);
	return rc;
}

/* ---- modifies ---- */

/* One modify of dn with a change per attribute of op: REPLACE with after, ADD of after, or DELETE of before. */
static int modify_each(const gb_apply_opts *o, const gb_op *op, const char *dn, int mod, gb_error *err)
{
	gb_dir_change *changes;
	const char **values;
	size_t i;
	int rc = no_dir(o, op, err);

	if (rc)
		return rc;
	if (op->nattrs == 0)
		return gb_error_set(err, GB_EINVAL, "%s %s: no attribute to change", gb_op_kind_name(op->kind), dn);
	changes = calloc(op->nattrs, sizeof(*changes));
	values = calloc(op->nattrs * 2, sizeof(*values));
	if (!changes || !values) {
		free(changes);
		free(values);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	for (i = 0; i < op->nattrs && !rc; i++) {
		const char *v = mod == GB_DIR_MOD_DELETE ? op->attrs[i].before : op->attrs[i].after;

		if (!v && mod != GB_DIR_MOD_REPLACE)
			rc = gb_error_set(err, GB_EINVAL, "%s %s: attribute %s has no value to %s", gb_op_kind_name(op->kind),
					  dn, op->attrs[i].name, mod == GB_DIR_MOD_ADD ? "add" : "delete");
		values[2 * i] = v;
		changes[i].op = mod;
		changes[i].attr = op->attrs[i].name;
		changes[i].values = v ? &values[2 * i] : NULL;
	}
	if (!rc)
		rc = gb_directory_modify(o->dir, dn, changes, op->nattrs, err);
	free(changes);
	free(values);
	return rc;
}

int gb_exec_ldap_set(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x, gb_error *err)
{
	(void)x;
	return modify_each(o, op, target, GB_DIR_MOD_REPLACE, err);
}

int gb_exec_ldap_add_value(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
			   gb_error *err)
{
	(void)x;
	return modify_each(o, op, target, GB_DIR_MOD_ADD, err);
}

int gb_exec_ldap_delete_value(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
			      gb_error *err)
{
	(void)x;
	return modify_each(o, op, target, GB_DIR_MOD_DELETE, err);
}

/* The DN a rename or move leaves the group at: the new (or current) RDN on the new (or current) parent. */
static char *dn_after_rename(const gb_op *op, const char *target)
{
	gb_ad_dn *dn = NULL;
	gb_buf b;
	size_t end;

	if (gb_ad_dn_parse(target, &dn, NULL) || dn->nrdns < 2) {
		gb_ad_dn_free(dn);
		return gb_strdup(target);
	}
	/* The current RDN's text ends before the separator that precedes the parent's first RDN. */
	end = dn->rdns[1].offset;
	while (end > 0 && target[end - 1] == ' ' && !(end > 1 && target[end - 2] == '\\'))
		end--;
	if (end > 0 && (target[end - 1] == ',' || target[end - 1] == ';'))
		end--;
	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	if (op->new_rdn)
		gb_buf_puts(&b, op->new_rdn, NULL);
	else
		gb_buf_append(&b, target, end, NULL);
	gb_buf_putc(&b, ',', NULL);
	gb_buf_puts(&b, op->new_parent ? op->new_parent : target + dn->rdns[1].offset, NULL);
	gb_ad_dn_free(dn);
	return gb_buf_detach(&b);
}

int gb_exec_ldap_rename(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x, gb_error *err)
{
	int rc = no_dir(o, op, err);

	if (!rc)
		rc = gb_directory_rename(o->dir, target, op->new_rdn, op->new_parent, err);
	if (!rc)
		x->dn_after = dn_after_rename(op, target);
	return rc;
}

int gb_exec_ldap_add_members(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
			     gb_error *err)
{
	size_t done = 0;
	int rc = no_dir(o, op, err);

	(void)x;
	return rc ? rc
		  : gb_directory_add_members(o->dir, target, (const char *const *)op->values, op->nvalues, &done, err);
}

int gb_exec_ldap_remove_members(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
				gb_error *err)
{
	size_t done = 0;
	int rc = no_dir(o, op, err);

	(void)x;
	return rc ? rc
		  : gb_directory_remove_members(o->dir, target, (const char *const *)op->values, op->nvalues, &done, err);
}

int gb_exec_ldap_delete(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x, gb_error *err)
{
	int rc = no_dir(o, op, err);

	(void)x;
	return rc ? rc : gb_directory_delete(o->dir, target, op->object_id, err);
}

/* ---- two operations, one request ---- */

bool gb_exec_ldap_pairs(const gb_op *op, const gb_op *next, size_t batch)
{
	return next && op->object_id && next->object_id && strcmp(op->object_id, next->object_id) == 0 &&
	       op->target && next->target && strcmp(op->target, next->target) == 0 &&
	       ((op->kind == GB_OP_CREATE_GROUP && next->kind == GB_OP_ADD_MEMBERS && next->nvalues <= batch) ||
		(op->kind == GB_OP_ADD_MEMBERS && next->kind == GB_OP_REMOVE_MEMBERS));
}

int gb_exec_ldap_pair(const gb_apply_opts *o, const gb_op *op, const char *target, const gb_op *next,
		      gb_exec_out *x, int *next_rc, bool *next_skipped, gb_error *next_err, gb_error *err)
{
	gb_directory_group_spec spec;
	int rc = no_dir(o, op, err);

	*next_skipped = false;
	if (!rc && op->kind == GB_OP_ADD_MEMBERS) {
		rc = gb_directory_update_members(o->dir, target, (const char *const *)op->values, op->nvalues,
						 (const char *const *)next->values, next->nvalues, err);
		*next_rc = rc;
		*next_err = *err;
		return rc;
	}
	if (!rc)
		rc = create_spec(op, target, next, &spec, err);
	if (!rc)
		rc = gb_directory_create_group(o->dir, &spec, err);
	if (rc && rc != GB_EEXISTS && rc != GB_ERETRY && rc != GB_EFENCE && rc != GB_ENOMEM && rc != GB_EINVAL) {
		/* A reason of the add's own (a member that no longer resolves, say): the group alone, then its
		 * members, so that each operation gets its own outcome. */
		gb_info(o->log_tag ? o->log_tag : o->step, "add %s with its members failed (%s); adding the group, then its "
							   "members",
			target, err->msg);
		gb_error_clear(err);
		rc = create_spec(op, target, NULL, &spec, err);
		if (!rc)
			rc = gb_directory_create_group(o->dir, &spec, err);
		if (!rc)
			created(o, target, x);
		*next_rc = rc ? rc
			      : gb_directory_add_members(o->dir, target, (const char *const *)next->values,
							 next->nvalues, NULL, next_err);
		*next_skipped = rc != 0;
		return rc;
	}
	if (!rc)
		created(o, target, x);
	*next_rc = rc;
	*next_skipped = rc != 0;
	*next_err = *err;
	return rc;
}
