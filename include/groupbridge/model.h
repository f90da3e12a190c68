/*
 * model.h: plain data that the Graph and directory clients fill and the provisioning engine, migration steps and
 * reports read. No I/O here. Every struct owns its strings (heap copies); every type has a NULL-safe _free.
 *
 * Cloud objects mirror Microsoft Graph's properties by meaning, not by spelling; absent (null) properties are
 * NULL pointers or GB_TRI_UNKNOWN, never empty strings, because "not set" and "set to empty" lead to different
 * decisions (IsPresent in expressions, onPremisesSyncEnabled null vs false in the source-of-authority rules).
 */
#ifndef GROUPBRIDGE_MODEL_H
#define GROUPBRIDGE_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "groupbridge/error.h"

/* A Graph boolean that may be null. */
typedef enum gb_tri { GB_TRI_UNKNOWN = -1, GB_TRI_FALSE = 0, GB_TRI_TRUE = 1 } gb_tri;

/* The kinds of directory object that can be a group member (from @odata.type). */
typedef enum gb_object_kind {
	GB_KIND_USER,
	GB_KIND_GROUP,
	GB_KIND_DEVICE,
	GB_KIND_CONTACT,           /* #microsoft.graph.orgContact */
	GB_KIND_SERVICE_PRINCIPAL,
	GB_KIND_OTHER
} gb_object_kind;

/* Maps "#microsoft.graph.user" etc. to a kind (GB_KIND_OTHER for anything else, including NULL). */
gb_object_kind gb_object_kind_from_odata(const char *odata_type);
/* "user", "group", "device", "contact", "servicePrincipal", "other". */
const char *gb_object_kind_name(gb_object_kind kind);

/* A member reference as Graph returns it: the kind and the object id. */
typedef struct gb_member_ref {
	gb_object_kind kind;
	char *id;
} gb_member_ref;

typedef struct gb_cloud_user {
	char *id;
	char *display_name;
	char *user_principal_name;
	char *on_prem_object_id;  /* onPremisesObjectIdentifier: the AD objectGUID as text, or NULL (cloud-only) */
	char *on_prem_sid;        /* onPremisesSecurityIdentifier */
	gb_tri on_prem_sync_enabled;
	bool deleted;             /* from delta: @removed */
} gb_cloud_user;

typedef struct gb_cloud_group {
	char *id;
	char *display_name;
	char *description;
	gb_tri security_enabled;
	gb_tri mail_enabled;
	bool unified;             /* groupTypes contains "Unified" (a Microsoft 365 group) */
	bool dynamic;             /* groupTypes contains "DynamicMembership" */
	gb_tri on_prem_sync_enabled;
	char *on_prem_sid;        /* onPremisesSecurityIdentifier (SOA-converted and synced groups) */
	char *group_dn_ext;       /* the configured GroupDN directory extension's value, or NULL */
	gb_tri is_cloud_managed;  /* onPremisesSyncBehavior.isCloudManaged (beta), when read */
	gb_tri writeback_enabled; /* writebackConfiguration.isEnabled (beta), when read */
	char *writeback_group_type; /* writebackConfiguration.onPremisesGroupType, when read */
	gb_member_ref *members;   /* direct members only */
	size_t nmembers;
	size_t members_cap;
	bool members_read;        /* members holds the complete direct membership */
	bool deleted;             /* from delta: @removed with reason "deleted" (hard delete) */
	bool changed_out;         /* from delta: @removed with reason "changed" (soft delete or out of scope) */
} gb_cloud_group;

/* An AD group as the directory client reads it. Members are kept by objectGUID (lower-case text, read with the
 * extended-DN control), because a GUID survives renames and moves, and because cloud users name their AD account by
 * objectGUID (onPremisesObjectIdentifier). */
typedef struct gb_ad_group {
	char *dn;
	char *guid;               /* objectGUID, lower-case text */
	char *sid;                /* objectSid, S-1-5-... */
	char *cn;
	char *anchor;             /* msDS-ExternalDirectoryObjectId */
	char *admin_description;
	char *description;
	char *display_name;
	char *sam_account_name;
	long group_type;
	int admin_count;          /* 1: protected by AdminSDHolder */
	char **member_guids;
	size_t nmembers;
	size_t members_cap;
	bool members_read;        /* member_guids is complete (every range read) */
	size_t nforeign;          /* members that are foreign security principals (CN=ForeignSecurityPrincipals):
				   * a domain local group holding one cannot become universal */
	char *scope_blocker;      /* the DN of an object that keeps AD from making this group universal (Microsoft's
				   * "Changing a group's scope"): for a global group, a global group that holds it; for a
				   * domain local group, a domain local group or a foreign security principal it holds
				   * (gb_directory_is_foreign_principal tells which). NULL when there is none (or not read) */
} gb_ad_group;

/* Appends a member GUID (copied, lower-cased). GB_ENOMEM on failure, the group unchanged. */
int gb_ad_group_add_member(gb_ad_group *g, const char *guid, gb_error *err);
void gb_ad_group_clear(gb_ad_group *g);
void gb_ad_group_free(gb_ad_group *g);

/* Appends a member (the id is copied). GB_ENOMEM on failure, the group unchanged. */
int gb_cloud_group_add_member(gb_cloud_group *g, gb_object_kind kind, const char *id, gb_error *err);

void gb_cloud_user_free(gb_cloud_user *u);
void gb_cloud_group_free(gb_cloud_group *g);
/* Frees the contents of a struct that lives elsewhere (an array element), leaving it zeroed. */
void gb_cloud_user_clear(gb_cloud_user *u);
void gb_cloud_group_clear(gb_cloud_group *g);

#endif
