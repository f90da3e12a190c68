/*
 * provision_state.h: what provisioning keeps between passes, behind typed functions. This module owns four tables
 * of the state database; nothing else reads or writes them:
 *
 *   managed_groups   the groups provisioning manages (schema migration 4). Only a group listed here as managed may
 *                    ever be deleted, and only while its AD object carries the anchor Group_<object_id>.
 *   managed_members  each provisioned cloud group's direct members with their kind, as last read or built
 *                    (migrations 6, 12): an incremental pass builds a changed group from them.
 *   member_state     the groups whose managed_members rows are their complete membership as of the saved delta link
 *                    (migration 12).
 *   cloud_users      the tenant's users as the last full pass listed them, kept current by users delta (12).
 *
 * Errors: GB_EIO with SQLite's words for database errors, GB_ENOMEM.
 */
#ifndef GROUPBRIDGE_PROVISION_STATE_H
#define GROUPBRIDGE_PROVISION_STATE_H

#include <stdbool.h>

#include "groupbridge/error.h"
#include "groupbridge/map.h"
#include "groupbridge/model.h"
#include "groupbridge/store.h"

/* ---- managed_groups ---- */

typedef enum gb_managed_state { GB_MANAGED, GB_UNMANAGED, GB_DELETED } gb_managed_state;

/* Records group id as state, at dn (guid NULL keeps the objectGUID recorded before), changed by run_id. */
int gb_pstate_set_managed(gb_store *st, const char *id, const char *dn, const char *guid, gb_managed_state state,
			  const char *run_id, gb_error *err);

/* Moves the DN of an already recorded group (a rename or move); its state is left as it is. */
int gb_pstate_set_dn(gb_store *st, const char *id, const char *dn, gb_error *err);

/* Calls cb for each group managed now, in object id order, with its objectGUID text (NULL when not known); both
 * strings are borrowed for the call. A non-zero return stops and is returned. */
typedef int (*gb_pstate_managed_cb)(void *ctx, const char *id, const char *guid, gb_error *err);
int gb_pstate_each_managed(gb_store *st, gb_pstate_managed_cb cb, void *ctx, gb_error *err);

/* ---- managed_members and member_state ---- */

/* Forgets the stored membership of groups that are no longer managed (their changes stopped being applied, so the
 * membership may be stale by the time they are managed again). */
int gb_pstate_forget_unmanaged_members(gb_store *st, gb_error *err);

/* Adds to into (id -> (void *)1) the groups that hold member_id, as last recorded. */
int gb_pstate_groups_of_member(gb_store *st, const char *member_id, gb_map *into, gb_error *err);

/* Appends to grp the stored direct membership of group id when it is complete (member_state): *complete says. */
int gb_pstate_members(gb_store *st, const char *id, gb_cloud_group *grp, bool *complete, gb_error *err);

/* ---- ad_membership: the uSNChanged guard ---- */

/* The DC a uSNChanged comes from: rootDSE dsServiceName and the invocationId of that NTDS Settings object (text). */
typedef struct gb_pstate_dc {
	const char *dsa;
	const char *invocation_id;
} gb_pstate_dc;

/* When the stored AD membership of group id was recorded from dc (same dsa and invocationId) at uSNChanged usn,
 * appends its member objectGUIDs to a (gb_ad_group_add_member), sets a->members_read and *trusted; otherwise a is
 * unchanged and *trusted false. GB_ENOMEM / store errors with a message (a may then hold part of the members). */
int gb_pstate_ad_members_get(gb_store *st, const char *id, const gb_pstate_dc *dc, long long usn, gb_ad_group *a,
			     bool *trusted, gb_error *err);

/* Records that group id held exactly guids[0..n) (objectGUID text, 36 characters each) in AD when dc reported
 * uSNChanged usn. A GUID that is not 36 characters records nothing and forgets the group instead. */
int gb_pstate_ad_members_put(gb_store *st, const char *id, const gb_pstate_dc *dc, long long usn,
			     const char *const *guids, size_t n, gb_error *err);

/* Forgets the stored AD membership of group id (the next pass reads it in full). */
int gb_pstate_ad_members_forget(gb_store *st, const char *id, gb_error *err);

/* Records memberships in one transaction: begin (replace_all: forget every stored membership first), then any of
 * the calls below, then end with the outcome so far (commit when rc is 0, else roll back; returns rc or the commit's
 * error). The writer is freed by end. */
typedef struct gb_pstate_writer gb_pstate_writer;
int gb_pstate_writer_begin(gb_store *st, bool replace_all, gb_pstate_writer **out, gb_error *err);
/* Forgets group id's stored membership. */
int gb_pstate_writer_forget(gb_pstate_writer *w, const char *id, gb_error *err);
/* Records grp's members as its complete membership (after forgetting the old one). */
int gb_pstate_writer_members(gb_pstate_writer *w, const gb_cloud_group *grp, gb_error *err);
/* Records that the stored members of group_id changed by exactly these rows, as the caller knows from having read
 * them (an incremental pass builds a changed group from its stored members and its delta records): put (members
 * with their kinds) are inserted or replaced, drop deleted, and nothing is read. The members count as complete. */
int gb_pstate_writer_changes(gb_pstate_writer *w, const char *group_id, const gb_member_ref *put, size_t nput,
			     const char *const *drop, size_t ndrop, gb_error *err);
/* Records a user from users delta in cloud_users (a deleted user is removed). */
int gb_pstate_writer_user(gb_pstate_writer *w, const gb_cloud_user *u, gb_error *err);
int gb_pstate_writer_end(gb_pstate_writer *w, int rc, gb_error *err);

/* ---- the member batch a DC taught ---- */

/* The most member values DC dsa (its rootDSE dsServiceName) took in one request after it refused more
 * (adminLimitExceeded), as an earlier pass learned it, into *out; 0 when none is stored or the stored text is not a
 * number. Kept in the kv table under "directory.member_batch:" followed by dsa. Errors: the store's (GB_EIO). */
int gb_pstate_dc_batch_get(gb_store *st, const char *dsa, long *out, gb_error *err);
/* Stores n for dsa; n <= 0 forgets it. Errors as gb_pstate_dc_batch_get, GB_ENOMEM. */
int gb_pstate_dc_batch_put(gb_store *st, const char *dsa, long n, gb_error *err);

/* ---- cloud_users ---- */

/* Reads stored users, one statement and one read transaction (a savepoint) for many lookups; write nothing to the
 * store between open and close. */
typedef struct gb_pstate_users gb_pstate_users;
int gb_pstate_users_open(gb_store *st, gb_pstate_users **out, gb_error *err);
/* User id as stored into *out (gb_cloud_user_free); GB_ENOTFOUND when it is not stored. */
int gb_pstate_users_get(gb_pstate_users *u, const char *id, gb_cloud_user **out, gb_error *err);
void gb_pstate_users_close(gb_pstate_users *u);

/* Replaces the stored users with a new listing: begin (a transaction; every stored user forgotten), put each user
 * listed, end as gb_pstate_writer_end. */
typedef struct gb_pstate_listing gb_pstate_listing;
int gb_pstate_listing_begin(gb_store *st, gb_pstate_listing **out, gb_error *err);
int gb_pstate_listing_put(gb_pstate_listing *l, const gb_cloud_user *u, gb_error *err);
int gb_pstate_listing_end(gb_pstate_listing *l, int rc, gb_error *err);

#endif
