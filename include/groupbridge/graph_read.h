/*
 * graph_read.h: reading groups, members and users from Microsoft Graph into model objects (model.h), one at a time
 * or many at once.
 *
 * Every object id Graph gives is a GUID; one that is not is refused where it enters (GB_EPARSE naming the object),
 * so that nothing downstream (anchors, URLs, SQL) ever holds a malformed id.
 */
#ifndef GROUPBRIDGE_GRAPH_READ_H
#define GROUPBRIDGE_GRAPH_READ_H

#include "groupbridge/graph_client.h"
#include "groupbridge/model.h"

/* Properties read for groups (the configured extension is added). */
#define GB_GRAPH_GROUP_SELECT                                                                                      \
	"id,displayName,description,securityEnabled,mailEnabled,groupTypes,onPremisesSyncEnabled,"                 \
	"onPremisesSecurityIdentifier"
/* Properties read for users. onPremisesObjectIdentifier (the AD objectGUID that Cloud Sync matches members by) is
 * not in the v1.0 $metadata, but user is an open type and the property is returned on v1.0 when selected; Cloud
 * Sync's documentation names it as the attribute it relies on. */
#define GB_GRAPH_USER_SELECT                                                                                       \
	"id,displayName,userPrincipalName,onPremisesObjectIdentifier,onPremisesSecurityIdentifier,"                \
	"onPremisesSyncEnabled"
#define GB_GRAPH_PAGE_MAX 999

/* Fill a model object from Graph JSON (out is cleared first; absent properties stay NULL / GB_TRI_UNKNOWN; wrong
 * types and an id that is not a GUID are GB_EPARSE naming the object). ext_name (may be NULL) is the extension
 * copied into group_dn_ext. @removed sets deleted (reason "deleted") or changed_out (other reasons; users: deleted
 * either way). On failure out holds nothing. */
int gb_graph_group_from_json(const json_t *o, const char *ext_name, gb_cloud_group *out, gb_error *err);
int gb_graph_user_from_json(const json_t *o, gb_cloud_user *out, gb_error *err);
/* A member reference from {"@odata.type", "id"}; GB_EPARSE without an id. out->id is the caller's (free). */
int gb_graph_member_from_json(const json_t *o, gb_member_ref *out, gb_error *err);

/* Streaming reads: the callbacks get borrowed objects valid for the call only; returning non-zero stops and is
 * returned. top is the page size (1..999; 0 means 999). filter is an OData $filter or NULL. After an expired page
 * token the listing starts over (gb_graph_each): a callback may then see an object again. */
typedef int (*gb_graph_group_fn)(const gb_cloud_group *grp, void *ud, gb_error *err);
typedef int (*gb_graph_member_fn)(const gb_member_ref *m, void *ud, gb_error *err);
typedef int (*gb_graph_user_fn)(const gb_cloud_user *u, void *ud, gb_error *err);

/* Every group (GB_GRAPH_GROUP_SELECT and the configured extension) matching filter. */
int gb_graph_list_groups(gb_graph *g, const char *filter, int top, gb_graph_group_fn fn, void *ud, gb_error *err);
/* Direct members of a group with their @odata.type. */
int gb_graph_list_members(gb_graph *g, const char *group_id, int top, gb_graph_member_fn fn, void *ud,
			  gb_error *err);
/* Every user (GB_GRAPH_USER_SELECT) matching filter. */
int gb_graph_list_users(gb_graph *g, const char *filter, int top, gb_graph_user_fn fn, void *ud, gb_error *err);

/* One group or user by id; GB_ENOTFOUND when absent. *out is the caller's (gb_cloud_group_free /
 * gb_cloud_user_free). */
int gb_graph_get_group(gb_graph *g, const char *id, gb_cloud_group **out, gb_error *err);
int gb_graph_get_user(gb_graph *g, const char *id, gb_cloud_user **out, gb_error *err);

/* Convenience: reads all of a group's direct members into grp->members (replacing what was there; grp keeps
 * owning them) and sets members_read. grp->id names the group. On failure grp is unchanged. */
int gb_graph_read_members(gb_graph *g, gb_cloud_group *grp, int top, gb_error *err);

/* Convenience: reads all groups matching filter into an allocated array (*out, *n; free with gb_graph_groups_free),
 * with members when with_members. */
int gb_graph_read_groups(gb_graph *g, const char *filter, bool with_members, gb_cloud_group **out, size_t *n,
			 gb_error *err);
/* Frees such an array (each group's fields, then the array); NULL is fine. */
void gb_graph_groups_free(gb_cloud_group *groups, size_t n);

/* ---- Many at once ---------------------------------------------------------------------------------------- */

/* Reads the direct members of groups[0..n) as gb_graph_read_members does for each, with requests for different
 * groups in flight together: first pages and next pages of many groups go out 20 to a $batch (each part's status
 * and Retry-After on its own), several $batch requests at once within the client's window (graph_client.h). Each
 * group's pages are read in order, one after the other, and its members replace grp->members only once its last
 * page is in, so that what a group holds is exactly what gb_graph_read_members would have given.
 *
 * Errors are those of gb_graph_read_members and name the group's request ("GET /v1.0/groups/ID/members?...:
 * 404 ..."). On failure, *failed (may be NULL) is the index of the first group in list order that failed: the groups
 * before it were all read, it and the groups after it are unchanged, just as a loop calling gb_graph_read_members
 * that stops at the first error would leave them. */
int gb_graph_read_members_many(gb_graph *g, gb_cloud_group *const *groups, size_t n, int top, size_t *failed,
			       gb_error *err);

/* Reads the groups ids[0..n) as gb_graph_get_group does, concurrently as above: out[i] (an array of n slots the
 * caller provides) gets the group, or NULL when Graph answers 404 for it (that is not an error). Other errors as
 * gb_graph_read_members_many (*failed, the groups before it read, out[failed..n) NULL). Every out[i] is the
 * caller's (gb_cloud_group_free), also on failure. */
int gb_graph_get_groups_many(gb_graph *g, const char *const *ids, size_t n, gb_cloud_group **out, size_t *failed,
			     gb_error *err);

#endif
