/*
 * provision.h: the rules of Cloud Sync's group provisioning to AD, as a pure function from data to a plan.
 *
 * gb_provision_plan reads what the clients have fetched (cloud groups in scope with their direct members, the
 * cloud users they name, and the forest's users and groups) and returns the operations that make AD match, plus a
 * note for everything it decided not to do. It performs no I/O, so every rule is unit-testable and a dry run is
 * exactly the plan an apply would execute. The rules, with their sources in ../shared/reference/microsoft-behavior.md:
 *
 * Which groups (3.4, 3.8): security-enabled, not mail-enabled, not Microsoft 365, and not synced from AD
 * (onPremisesSyncEnabled true: the source of authority is on premises). SOA-converted groups qualify. A group that
 * fails is noted "group-unsupported" and never written. A group with more than 50,000 direct members is noted
 * "group-error" (code over-member-limit) and not written; the others go on.
 *
 * Which members (3.6): a user only when its onPremisesObjectIdentifier is the objectGUID of a user of this forest
 * (else "cloud-only-user" or "other-forest"); a member group only when this configuration provisions it too
 * (cloud or SOA-converted; "synced-group" for groups synced from AD, "group-not-in-scope" otherwise); devices,
 * contacts and service principals never. Nested groups are referenced, never expanded.
 *
 * What is written (3.2): cn, description, displayName, groupType universal security, msDS-ExternalDirectoryObjectId
 * and adminDescription "Group_<objectId>", sAMAccountName (at creation only: an existing group's account name is
 * never changed), under the container the mapping gives.
 *
 * AD's own rules, checked before the write (each a "group-error" of that group): cn at most 64 UTF-16 units
 * (cn-too-long); a sAMAccountName valid by MS-SAMR (bad-samaccountname); no two groups created in one run whose DN or
 * sAMAccountName AD compares equal, ignoring case, accents and width (name-collision); a matched domain local group
 * holding foreign security principals is not made universal, which AD refuses (cannot-be-universal; its other
 * changes go on). A member AD would refuse given the scopes the plan leaves is skipped ("group-scope"; a reference AD
 * holds is kept): a universal group in a global one, a domain local group in a universal or global one, and a user of
 * another domain of the forest in a group that stays global. A group of provisioned is taken at the scope
 * provisioned_types gives, and is written only into a domain local group when that is not known.
 *
 * Matching (3.3, 2.8): by anchor "Group_<objectId>"; for a converted group also by objectSid =
 * onPremisesSecurityIdentifier, and by the DN in its GroupDN extension. Two sources that point at different AD
 * groups are a conflict for that group ("match-conflict"), not a guess. So are two live AD groups carrying one anchor
 * (ad_anchor_dups: a Recycle Bin restore next to a re-created group): that group is neither written nor deleted, and
 * the run goes on.
 *
 * Changes: attribute differences are set; a cn difference is a rename; a container difference is a move only
 * when move_on_container_change (else a warning); members are added and, when authoritative, removed: but only
 * members provisioning could have written (users of this forest, groups carrying a Group_ anchor). Any other AD
 * member (a contact, a computer, a foreign principal, a group synced from AD) is kept and noted "kept-member".
 *
 * Deletes (3.7): only for ids in hard_deleted whose AD group carries our anchor. Soft deletes, leaving scope and
 * SOA rollback (ids in left_scope) stop management and delete nothing. The delete threshold is the caller's gate:
 * count GB_OP_DELETE_GROUP in the plan.
 */
#ifndef GROUPBRIDGE_PROVISION_H
#define GROUPBRIDGE_PROVISION_H

#include <stdbool.h>
#include <stddef.h>

#include "groupbridge/error.h"
#include "groupbridge/map.h"
#include "groupbridge/model.h"
#include "groupbridge/plan.h"

#define GB_MAX_GROUP_MEMBERS 50000
#define GB_ONDEMAND_MAX_MEMBERS 5

/* The attributes a mapping produces. */
typedef enum gb_mapping_field {
	GB_MAPPING_CN,          /* the cn (unescaped value) */
	GB_MAPPING_DESCRIPTION, /* NULL: no description */
	GB_MAPPING_CONTAINER,   /* the parent DN */
	GB_MAPPING_SAM          /* NULL: sAMAccountName not mapped (AD generates one) */
} gb_mapping_field;

/* Evaluates one mapping for a group. *out is allocated (the caller frees) or NULL for "no value". An error is that
 * group's error (noted "group-error", code mapping-error), not the run's. */
typedef int (*gb_mapping_fn)(void *ctx, gb_mapping_field field, const gb_cloud_group *group, char **out,
			     gb_error *err);

typedef struct gb_provision_input {
	gb_cloud_group *const *groups; /* the groups in scope, members read */
	size_t ngroups;
	const gb_map *cloud_groups;    /* id -> gb_cloud_group*: every cloud group known (classifies nested members) */
	const gb_map *cloud_users;     /* id -> gb_cloud_user* */
	const gb_map *forest_users;    /* objectGUID (any case) -> the users of this forest, each to its domain: the DN
					* of its domain naming context (const char *, "DC=emea,DC=example"), "" when
					* not known (then it is not added to a group that stays global) */
	const gb_map *ad_by_anchor;    /* "Group_<id>" (any case) -> gb_ad_group* */
	const gb_map *ad_anchor_dups;  /* "Group_<id>" -> a second live gb_ad_group* with that anchor (may be NULL) */
	const gb_map *ad_by_sid;       /* objectSid text -> gb_ad_group* (may be NULL) */
	const gb_map *ad_by_dn;        /* gb_provision_dn_key(DN) -> gb_ad_group* (may be NULL) */
	const gb_map *provisioned;     /* id -> objectGUID text of groups provisioned earlier that this plan does not
					* re-plan (an incremental run): nested references to them stay (may be NULL) */
	const gb_map *provisioned_types; /* id -> the groupType AD holds (decimal text, as read) of a group in
					  * provisioned; absent when no single AD group carries its anchor (may be
					  * NULL: none known) */
	gb_mapping_fn map;
	void *map_ctx;
	bool authoritative;            /* remove AD members that the cloud does not have */
	bool move_on_container_change;
	const char *const *hard_deleted; /* NULL-terminated cloud ids deleted for good (may be NULL) */
	const char *const *left_scope;   /* NULL-terminated ids that left management (may be NULL) */
} gb_provision_input;

/* Computes the plan. *out belongs to the caller (gb_plan_free). Errors are GB_ENOMEM only: everything about a
 * single group becomes a note on that group. */
int gb_provision_plan(const gb_provision_input *in, gb_plan **out, gb_error *err);

/* The canonical form of a DN (gb_ad_dn_format, then folded as AD compares values: gb_ad_str_fold), so that `\,` and
 * `\2C` and differences of case (beyond ASCII), accents, width and spacing find the same group. *out: free().
 * GB_EPARSE for a malformed DN. */
int gb_provision_dn_key(const char *dn, char **out, gb_error *err);

/* The groupType of a universal security group (0x80000008), as AD stores it: a signed 32-bit integer. */
#define GB_GROUP_TYPE_UNIVERSAL_SECURITY (-2147483640L)
/* groupType's scope bit of a domain local group (GROUP_TYPE_RESOURCE_GROUP, MS-SAMR 2.2.1.11). */
#define GB_GROUP_TYPE_DOMAIN_LOCAL 0x4L
/* groupType's scope bit of a global group (GROUP_TYPE_ACCOUNT_GROUP, MS-SAMR 2.2.1.11). */
#define GB_GROUP_TYPE_GLOBAL 0x2L

#endif
