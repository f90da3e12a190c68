/*
 * plan.h: a plan is the list of operations a run will make, as data.
 *
 * Everything that changes a directory is first a plan (../shared/design.md): `--dry-run` prints it, apply executes
 * it operation by operation, the audit log records each, and the checkpoint advances past it. An operation carries
 * what it changes (the target and the values), why (the rule that produced it), and the before and after that a
 * reviewer needs. Notes carry what a run decided not to do, with the reason (a skipped member, an unsupported group),
 * so that reports can say why a member is missing.
 *
 * Member values are either "<GUID=hex-text>" (an existing object, addressed by objectGUID) or a DN (an object this
 * same plan creates, whose GUID is not known until then). Both are valid values of AD's member attribute.
 */
#ifndef GROUPBRIDGE_PLAN_H
#define GROUPBRIDGE_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "groupbridge/error.h"

/* Operation kinds: each has one meaning, whoever plans it (provisioning or a migration step), and one executor in
 * the apply engine (apply.h). attrs name the attributes (or, for Graph, the properties) an operation concerns, with
 * their values before and after; the audit record of the operation carries all of them. */
typedef enum gb_op_kind {
	/* LDAP: target is the group's DN */
	GB_OP_CREATE_GROUP,   /* add the group entry: attrs hold every attribute written (apply refuses one it does
			       * not know: cn, groupType, description, displayName, msDS-ExternalDirectoryObjectId,
			       * adminDescription, sAMAccountName) */
	GB_OP_SET_ATTRS,      /* an LDAP replace of each attribute: after is the new value, NULL clears it */
	GB_OP_RENAME,         /* modrdn: new_rdn, same parent */
	GB_OP_MOVE,           /* modrdn: new_parent (and perhaps a new_rdn) */
	GB_OP_ADD_MEMBERS,    /* values: member values to add, in batches */
	GB_OP_REMOVE_MEMBERS, /* values: member values to delete, in batches */
	GB_OP_DELETE_GROUP,   /* delete the entry; only groups that carry our anchor */
	/* state only: no directory or Graph change; the caller's hook records it */
	GB_OP_UNMANAGE,       /* stop managing a group */
	/* LDAP, continued */
	GB_OP_ADD_VALUE,      /* add-if-absent: an LDAP add of each attribute's after value, which fails when the
			       * (single-valued) attribute already holds a value: a value written by someone else in
			       * the meantime is never overwritten */
	GB_OP_DELETE_VALUE,   /* delete-if-equal: an LDAP delete of exactly each attribute's before value, which fails
			       * when the attribute holds another value */
	/* state only */
	GB_OP_HANDOFF,        /* the migration hands a group over: attr handedTo names to whom */
	/* Graph: target is the Graph object the request addresses (a group id, or the application's name) */
	GB_OP_GRAPH_CREATE_APP,       /* create CloudSyncCustomExtensionsApp (attr displayName) */
	GB_OP_GRAPH_CREATE_SP,        /* create that application's service principal */
	GB_OP_GRAPH_CREATE_EXTENSION, /* create a String extension for groups on it (attr name: "GroupDN") */
	GB_OP_GRAPH_SET_EXTENSION,    /* set group target's extension value: attr name is the extension's short name
				       * ("GroupDN"), resolved to extension_<appId>_GroupDN when applied */
	GB_OP_GRAPH_SET_SOA,          /* set onPremisesSyncBehavior isCloudManaged of group target (attr
				       * isCloudManaged, "true" or "false"), read back to confirm */
	GB_OP_GRAPH_ASSIGN_ROLE,      /* assign group target an app role: attrs resourceId (the service principal),
				       * appRoleId, and jobId (the Cloud Sync job it serves, for the record) */
	GB_OP_GRAPH_REMOVE_ROLE,      /* remove that assignment: attrs resourceId and appRoleId hold what is removed as
				       * their before values */
	GB_OP_KIND_COUNT
} gb_op_kind;

/* "create-group", "set-attributes", "add-value", "graph-set-source-of-authority", ... (stable names used in JSON,
 * plan texts and reports); "unknown" outside the enum. */
const char *gb_op_kind_name(gb_op_kind kind);

/* The audit vocabulary's name of an operation of kind (audit.h): "group.create", "attribute.add", "graph.soa.set"... */
const char *gb_op_kind_operation(gb_op_kind kind);

/* Whether kind is sent to Graph (else it is an LDAP or a state-only operation). */
bool gb_op_kind_is_graph(gb_op_kind kind);

/* Whether kind writes to the directory (LDAP). */
bool gb_op_kind_is_ldap(gb_op_kind kind);

typedef struct gb_attr_change {
	char *name;
	char *before; /* NULL: absent before */
	char *after;  /* NULL: removed */
} gb_attr_change;

typedef struct gb_op {
	gb_op_kind kind;
	char *object_id;   /* the cloud object the operation serves, or NULL */
	char *target;      /* the DN the operation addresses (Graph kinds: the object, see above) */
	char *guid;        /* the target's objectGUID as text when it exists already, else NULL */
	char *new_rdn;     /* GB_OP_RENAME, GB_OP_MOVE */
	char *new_parent;  /* GB_OP_MOVE */
	gb_attr_change *attrs;
	size_t nattrs;
	char **values;     /* GB_OP_ADD_MEMBERS, GB_OP_REMOVE_MEMBERS */
	size_t nvalues;
	char *reason;      /* the rule that produced this operation, in words */
} gb_op;

typedef enum gb_note_kind {
	GB_NOTE_MEMBER_SKIPPED,   /* a member that is not written, and why */
	GB_NOTE_GROUP_UNSUPPORTED,/* a group in scope that cannot be provisioned (mail-enabled, Microsoft 365, synced) */
	GB_NOTE_GROUP_ERROR,      /* a group that failed (an expression error, over 50,000 members, a name clash) */
	GB_NOTE_GROUP_UNMANAGED,  /* a group that left management without a delete */
	GB_NOTE_WARNING           /* anything else a person should read */
} gb_note_kind;

/* "member-skipped", "group-unsupported", ... */
const char *gb_note_kind_name(gb_note_kind kind);

typedef struct gb_note {
	gb_note_kind kind;
	char *object_id;   /* the group concerned */
	char *subject_id;  /* the member concerned (GB_NOTE_MEMBER_SKIPPED), else NULL */
	char *code;        /* a stable short code: "cloud-only-user", "other-forest", "synced-group", ... */
	char *message;     /* one plain sentence */
} gb_note;

/* A group the plan provisions (whether or not it has operations): where it is or will be. */
typedef struct gb_plan_group {
	char *object_id;
	char *dn;
	char *guid;        /* NULL when the plan creates it */
	size_t nmembers;   /* members the group will have in AD after the plan (provisioned members) */
} gb_plan_group;

typedef struct gb_plan {
	gb_plan_group *groups;
	size_t ngroups;
	size_t groups_cap;
	gb_op *ops;
	size_t nops;
	size_t ops_cap;
	gb_note *notes;
	size_t nnotes;
	size_t notes_cap;
} gb_plan;

/* A new, empty plan; *out belongs to the caller (gb_plan_free). */
int gb_plan_new(gb_plan **out, gb_error *err);
void gb_plan_free(gb_plan *plan);

/* Appends an operation and returns a pointer to it (borrowed, valid until the next append) through out. The strings
 * given are copied; NULL stays NULL. */
int gb_plan_add_op(gb_plan *plan, gb_op_kind kind, const char *object_id, const char *target, const char *reason,
		   gb_op **out, gb_error *err);

/* Setters for the optional parts of an operation; all copy their arguments. */
int gb_op_set_guid(gb_op *op, const char *guid, gb_error *err);
int gb_op_set_rdn(gb_op *op, const char *new_rdn, const char *new_parent, gb_error *err);
int gb_op_add_attr(gb_op *op, const char *name, const char *before, const char *after, gb_error *err);
int gb_op_add_value(gb_op *op, const char *value, gb_error *err);

/* The attribute named name (exactly) of op, or NULL. Borrowed. */
const gb_attr_change *gb_op_find_attr(const gb_op *op, const char *name);

/* Records a group the plan provisions (strings copied). */
int gb_plan_add_group(gb_plan *plan, const char *object_id, const char *dn, const char *guid, gb_error *err);

/* Appends a note; the message is formatted. */
int gb_plan_note(gb_plan *plan, gb_note_kind kind, const char *object_id, const char *subject_id, const char *code,
		 gb_error *err, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* Counts operations of one kind. */
size_t gb_plan_count(const gb_plan *plan, gb_op_kind kind);

/* The plan as JSON text (allocated; the caller frees):
 * {"schema_version":1,"groups":[{object_id,dn,guid,members}],"operations":[...],"notes":[...]}.
 * Operation fields: kind, object_id, target, guid, new_rdn, new_parent, attributes [{name,before,after}], values,
 * reason. */
int gb_plan_to_json(const gb_plan *plan, char **out, gb_error *err);

/* Receives the JSON text in pieces (64 KiB or so each, in order); non-zero stops the writing and is returned. */
typedef int (*gb_plan_sink)(void *ctx, const char *data, size_t n, gb_error *err);

/* Writes the same text as gb_plan_to_json to sink, holding at most a chunk of it in memory (for plans too big to
 * hold twice). Errors: the sink's, or GB_ENOMEM. */
int gb_plan_write_json(const gb_plan *plan, gb_plan_sink sink, void *ctx, gb_error *err);

/* Reads a plan back from gb_plan_to_json's text (the checkpoint of an apply), including plans stored by earlier
 * versions: their kinds kept their names and meanings. GB_EPARSE names what is wrong; an operation of the kind
 * "graph-patch" (a Graph change whose meaning hung on its attribute's name, which only migration steps planned and
 * never stored) is refused with that reason: plan again. */
int gb_plan_from_json(const char *json, gb_plan **out, gb_error *err);

/* The plan for a person: one line per operation with its reason, member values counted (the first few listed),
 * then the notes grouped by code. max_values limits the values listed per operation (0: all). */
int gb_plan_to_text(const gb_plan *plan, size_t max_values, char **out, gb_error *err);

#endif
