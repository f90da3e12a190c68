/*
 * graph_delta.h: Graph delta queries for groups and users: change tracking between runs, with the deltaLink kept in
 * the state store.
 */
#ifndef GROUPBRIDGE_GRAPH_DELTA_H
#define GROUPBRIDGE_GRAPH_DELTA_H

#include "groupbridge/graph_read.h"
#include "groupbridge/store.h"

/* State store keys holding the deltaLinks between runs. */
#define GB_GRAPH_DELTA_KEY_GROUPS "graph.delta.groups"
#define GB_GRAPH_DELTA_KEY_USERS "graph.delta.users"

/* One group record of a delta page. group holds the properties the record carries (group.deleted or
 * group.changed_out for removed groups); added and removed are this record's members@delta entries (a large
 * group's members are spread across several records and pages: merge them). members_delta is true when the record
 * carries a members@delta array at all (possibly empty).
 *
 * complete is true when the record tells every property of GB_GRAPH_GROUP_SELECT. Microsoft's rule for the
 * default replies that groupbridge asks for (no "Prefer: return=minimal"; group-delta.md, "Default: return the same
 * properties as initial delta request"): a record carries every selected property, changed or not, and "if the
 * property has never been set before it will not be included in the response at all". So a record that is not
 * @removed is complete, and a selected property it omits is null (a cloud group's onPremisesSecurityIdentifier and
 * onPremisesSyncEnabled, an empty description). The properties every group has from its creation (displayName,
 * securityEnabled, mailEnabled) must be there: a record without them is not a default reply and is not complete. */
typedef struct gb_graph_group_delta {
	gb_cloud_group group;
	gb_member_ref *added;
	size_t nadded;
	gb_member_ref *removed;
	size_t nremoved;
	bool members_delta;
	bool complete;
} gb_graph_group_delta;

/* d == NULL announces a reset: the saved state is void and the records that follow are a full enumeration (on a
 * first run, or after an expired delta link with GB_GRAPH_DELTA_FALLBACK). */
typedef int (*gb_graph_group_delta_fn)(const gb_graph_group_delta *d, void *ud, gb_error *err);
typedef int (*gb_graph_user_delta_fn)(const gb_cloud_user *u, void *ud, gb_error *err);

#define GB_GRAPH_DELTA_FALLBACK 1u /* on an expired link, start over with a full enumeration by itself */
/* "Sync from now": ignore the saved link and ask for a new one with $deltatoken=latest (one request, no records:
 * the caller reads the current state itself, and the changes made from then on are what the link reports). */
#define GB_GRAPH_DELTA_LATEST 2u

typedef struct gb_graph_delta_info {
	bool full;             /* this run enumerated everything (first run or fallback) */
	bool expired;          /* the saved link had expired */
	unsigned long pages;
	unsigned long records;
} gb_graph_delta_info;

/* Parses one delta page (pure): calls fn for each record and returns the page's @odata.nextLink or
 * @odata.deltaLink (exactly one of them is set on success; each allocated, caller frees). GB_EPARSE for a page
 * with neither, or a malformed record. */
int gb_graph_delta_parse_groups(const json_t *page, const char *ext_name, gb_graph_group_delta_fn fn, void *ud,
				char **next_link, char **delta_link, gb_error *err);
int gb_graph_delta_parse_users(const json_t *page, gb_graph_user_delta_fn fn, void *ud, char **next_link,
			       char **delta_link, gb_error *err);

/* True when a reply means the delta link is no longer usable and a full read is needed: gb_graph_page_expired
 * (410 Gone, syncStateNotFound, resyncRequired, Directory_ExpiredPageToken and the like). */
bool gb_graph_delta_is_expired(long status, const char *body, size_t len);

/* Runs /groups/delta ($select = the group properties, the extension and members). Starts from the deltaLink saved
 * under GB_GRAPH_DELTA_KEY_GROUPS in st (st may be NULL: always a full enumeration, nothing saved), follows every
 * nextLink, and saves the new deltaLink only after the last page was delivered and fn accepted every record; a
 * run that stops early leaves the old link, and the next run replays from it (records are idempotent).
 *
 * A link that no longer works is expired: any shape of gb_graph_delta_is_expired on any page, and for the saved
 * link (the first request of a run) any other 4xx as well except 401 and 403 (a permission problem, not a link
 * problem: the link is kept for when the permission is granted). An expired saved link is deleted from the store;
 * then, with GB_GRAPH_DELTA_FALLBACK, the client restarts from scratch (fn first gets d == NULL), and without it
 * the call fails with GB_ERETRY ("a full read is needed"), which tells the caller to read everything; it is never
 * tried again. With GB_GRAPH_DELTA_LATEST the saved link is not used: one request with $deltatoken=latest (and the
 * same $select) saves a link that reports the changes made from now on (info->full stays false, fn gets no record
 * unless the server sends some). info may be NULL. */
int gb_graph_delta_groups(gb_graph *g, gb_store *st, unsigned flags, gb_graph_group_delta_fn fn, void *ud,
			  gb_graph_delta_info *info, gb_error *err);

/* The same for /users/delta (GB_GRAPH_USER_SELECT; key GB_GRAPH_DELTA_KEY_USERS): onPremisesObjectIdentifier
 * changes and removed users (u->deleted). The reset is announced as u == NULL. */
int gb_graph_delta_users(gb_graph *g, gb_store *st, unsigned flags, gb_graph_user_delta_fn fn, void *ud,
			 gb_graph_delta_info *info, gb_error *err);

/* Both listings at once: each read exactly as gb_graph_delta_groups and gb_graph_delta_users read it (same flags,
 * same saved links, same restarts), with one request of each in flight together, so that a pass waits for the
 * longer listing instead of both. fn calls of the two kinds interleave; each listing's pages stay in order. A
 * listing's failure ends that listing only; the groups' error is returned first, then the users' (as if read one
 * after the other), so that ginfo and uinfo (each may be NULL) say which expired. GB_ENOMEM ends both. */
int gb_graph_delta_both(gb_graph *g, gb_store *st, unsigned flags, gb_graph_group_delta_fn gfn,
			gb_graph_user_delta_fn ufn, void *ud, gb_graph_delta_info *ginfo, gb_graph_delta_info *uinfo,
			gb_error *err);

#endif
