/* provision_int.h: what the files of a provisioning pass share (private to src/provision):
 *   gather.c       reading the tenant and the forest (a full read, and the pieces an incremental read reuses)
 *   incremental.c  Graph delta: what changed, building changed groups from the stored state, recording it after
 *   state.c        the tables provisioning keeps (provision_state.h)
 *   pass.c         the pass in named phases, apply through the engine (apply.h), the entry points
 *   rules.c        the rules, from what was read to a plan (provision.h)
 */
#ifndef GROUPBRIDGE_PROVISION_INT_H
#define GROUPBRIDGE_PROVISION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "groupbridge/map.h"
#include "groupbridge/provision_state.h"
#include "groupbridge/provisioner.h"
#include "groupbridge/scope.h"

/* A growable array of pointers. It does not own its elements: whoever fills it frees them (gb_gather_clear). */
typedef struct gb_ptrs {
	void **items;
	size_t n, cap;
} gb_ptrs;

int gb_ptrs_push(gb_ptrs *p, void *item, gb_error *err);
/* Pushes a copy of s (the array's owner frees it). */
int gb_ptrs_push_copy(gb_ptrs *p, const char *s, gb_error *err);
/* Makes items a NULL-terminated array (the terminator is not counted in n). */
int gb_ptrs_terminate(gb_ptrs *p, gb_error *err);

/* What a pass reads: the cloud groups in scope with their members, the users they name, the forest's users and the
 * AD groups that may match, and the groups that left management. */
typedef struct gb_gather {
	const gb_config *cfg;
	const char *only_group;           /* on-demand: the one group */
	const char *const *only_members;  /* on-demand: the chosen members */
	size_t nonly;
	gb_ptrs not_members;              /* on-demand: chosen ids that are not members of the cloud group (char*) */
	gb_graph *graph;
	gb_directory *dir;
	gb_store *st;
	gb_scope *scope;
	gb_ptrs groups;       /* gb_cloud_group*: in scope (owned) */
	gb_ptrs extra_groups; /* gb_cloud_group*: member groups outside the scope (owned) */
	gb_ptrs users;        /* gb_cloud_user* (owned) */
	gb_ptrs ad;           /* gb_ad_group* (owned) */
	gb_ptrs hard_deleted; /* char* (owned) */
	gb_ptrs left_scope;   /* char* (owned) */
	gb_map *cloud_groups; /* id -> gb_cloud_group* */
	gb_map *cloud_users;  /* id -> gb_cloud_user* */
	gb_map *wanted_users; /* user ids named as members -> 1 */
	gb_map *forest_users; /* objectGUID -> the user's domain (borrowed from domains; "" when not known) */
	gb_map *domains;      /* a domain's DN as read (any case) -> owned copy: the values of forest_users */
	gb_map *ad_by_anchor;
	gb_map *anchor_dups;  /* anchor -> another live gb_ad_group* carrying it (a Recycle Bin restore): AD review D6 */
	gb_map *ad_by_sid;
	gb_map *ad_by_dn;
	gb_map *in_scope;     /* id -> 1 */
	gb_map *extra;        /* ids in scope besides [provisioning]: the groups the migration handed over */
	const char *const *only_ids; /* restrict the pass to these groups */
	gb_map *managed;      /* incremental: id -> objectGUID text (owned strings) of managed groups */
	gb_map *provisioned;  /* incremental: managed groups not re-read, id -> objectGUID (borrowed from managed) */
	gb_map *provisioned_types; /* incremental: those a group of the pass nests, id -> the groupType AD holds (text,
				    * borrowed from pre) when one AD group carries the anchor */
	bool incremental;     /* gather_changes: managed groups are named by their objectGUID (provisioned) */
	bool record_users;    /* a full pass that keeps the tenant's users in cloud_users (the delta passes' source) */
	gb_pstate_listing *listing; /* while listing the users of such a pass */
	size_t built, props_read, reread; /* incremental: groups built from the store, of them with properties read,
					   * and groups read again in full */
	bool usn_guard;       /* record each AD group's members with its uSNChanged (passes that apply) */
	bool usn_trust;       /* and trust them while uSNChanged is unchanged (not --full) */
	bool dc_read;         /* dc was read (its fields NULL when the DC's identity could not be read) */
	gb_pstate_dc dc;      /* the DC's identity (owned strings) */
	gb_map *usn;          /* object id -> uSNChanged (long long*, owned) of the AD groups whose members were read
			       * or trusted in this pass */
	gb_map *usn_trusted;  /* object id -> 1: members trusted from the store */
	gb_map *pre;          /* DN key -> gb_dir_entry* (owned): AD groups a search already returned with
			       * gb_directory_group_attrs, so that loading them costs no round trip of its own */
	gb_map *pre_anchor;   /* anchor -> owned string: the DN of the one group carrying it, "" for none, "\n" for
			       * several (prefetched anchors only) */
	/* anchors read ahead while Graph is read (gb_provision__ahead_*) */
	gb_ptrs ahead_ids;        /* ids (owned) marked "" in pre_anchor, their search not sent yet */
	gb_dir_ahead *ahead;      /* their searches sent (a tag a search: struct ahead_ids) */
} gb_gather;

/* ---- gather.c ---- */

/* Frees m and, with fn, each value it holds (m may be NULL). */
void gb_provision__map_free_values(gb_map *m, void (*fn)(void *));
/* Sets up g's maps and scope (cfg, st, graph, dir and the on-demand fields set by the caller). */
int gb_provision__gather_init(gb_gather *g, gb_error *err);
void gb_provision__gather_clear(gb_gather *g);
/* A full read: the groups in scope and their members, the users they name, the forest, the groups that left. */
int gb_provision__gather_all(gb_gather *g, gb_error *err);
/* Whether grp is in scope: selected or matched by [provisioning], or handed over by the migration. */
int gb_provision__scope_has(gb_gather *g, const gb_cloud_group *grp, bool *out, gb_error *err);
/* Takes grp (members known) into the groups in scope; frees it on failure. */
int gb_provision__add_group(gb_gather *g, gb_cloud_group *grp, gb_error *err);
/* Reads grp's members (on demand: keeps the chosen ones) and takes it in; frees it on failure. */
int gb_provision__keep_group(gb_gather *g, gb_cloud_group *grp, gb_error *err);
/* A user listed or found: recorded in the listing when one is open; kept when a member names it. */
int gb_provision__on_user(const gb_cloud_user *u, void *ud, gb_error *err);
int gb_provision__copy_user(const gb_cloud_user *u, gb_cloud_user **out);
/* The users named as members (into wanted_users; *wanted counts them), and member groups outside the scope. */
int gb_provision__collect_referenced(gb_gather *g, size_t *wanted, gb_error *err);
/* A user of the forest found by a search: its objectGUID into forest_users, with the domain of its DN (the trailing
 * DC= RDNs), which decides whether a group that stays global may hold it. */
int gb_provision__on_forest_user(const gb_dir_entry *e, void *ctx, gb_error *err);
/* Appends "(msDS-ExternalDirectoryObjectId=ANCHOR)" to f, the anchor escaped for a filter. */
int gb_provision__anchor_term(const char *anchor, gb_buf *f, gb_error *err);
/* Reads, in searches of GB_DIRECTORY_GUID_BATCH anchors each, the AD groups that carry the anchors of the object ids
 * (with gb_directory_group_attrs), so that gb_provision__load_ad_group and gb_provision__prefetched_anchor answer
 * without a round trip per group. */
int gb_provision__prefetch_anchors(gb_gather *g, const char *const *ids, size_t n, gb_error *err);
/* Anchors read ahead, while the pass waits for Graph: ahead_add queues id (a managed group that delta reports) and
 * sends one search (gb_directory_search_send) for every GB_DIRECTORY_GUID_BATCH ids queued, with at most a few in
 * flight; ahead_take sends what is queued and takes every answer into pre_anchor and pre, as
 * gb_provision__prefetch_anchors would have read them; ahead_drop gives everything up. An anchor is marked asked in
 * pre_anchor from the moment it is queued until its answer came: a search that fails or is given up unmarks its
 * anchors, so that gb_provision__prefetch_anchors reads them the usual way and no anchor ever reads as "none" without
 * an answer that said so. */
int gb_provision__ahead_add(gb_gather *g, const char *id, gb_error *err);
int gb_provision__ahead_take(gb_gather *g, gb_error *err);
void gb_provision__ahead_drop(gb_gather *g);
/* After a prefetch of id: the DN of the one AD group that carries its anchor, "" when none does; NULL when id was
 * not prefetched or several groups carry the anchor (the caller searches). Borrowed. */
const char *gb_provision__prefetched_anchor(const gb_gather *g, const char *id);
/* After a prefetch of id: the value of attr (one of gb_directory_group_attrs) of the one AD group that carries its
 * anchor, NULL when it has none, or when no single group carries it. Borrowed from g->pre. */
const char *gb_provision__prefetched_attr(const gb_gather *g, const char *id, const char *attr);
/* Reads the AD group at dn unless it is loaded already (from a prefetched entry when there is one). */
int gb_provision__load_ad_group(gb_gather *g, const char *dn, bool with_members, gb_error *err);
/* The identity of the DC the directory connection talks to (rootDSE dsServiceName, its invocationId) into *out
 * (owned strings: free both); both NULL when it cannot be read (a warning says why: the guard is then off). */
int gb_provision__dc_identity(gb_directory *dir, gb_pstate_dc *out, gb_error *err);
/* Converted groups not anchored yet: their AD group by SID, or by the DN in the GroupDN extension. */
int gb_provision__load_unanchored(gb_gather *g, gb_error *err);

/* ---- incremental.c ---- */

/* What the delta records of one pass say (see incremental.c). */
typedef struct gb_delta_changes {
	gb_map *groups; /* id -> group change (owned) */
	gb_map *users;  /* id -> gb_cloud_user* (owned: the last record; deleted set for removed users) */
	gb_map *stored; /* id -> gb_cloud_group* (owned): a managed group's stored members, read while the delta pages
			 * came (members_read: member_state says they are complete); build_group takes them */
	gb_map *rows;   /* id -> struct gb_member_rows (owned): how build_group changed a group's stored members, so
			 * that recording them after the writes need not read them again */
	bool reset;     /* delta enumerated everything: a full pass is needed */
	bool incremental; /* this pass reads only what changed */
	char fingerprint[65]; /* of everything that decides scope and mappings */
} gb_delta_changes;

/* Starts the delta of a pass that applies: stashes the current links (or replays an unfinished pass's), decides
 * between an incremental and a full read (ch->incremental) and reads the delta records or takes links from now. */
int gb_provision__delta_open(gb_gather *g, const gb_provision_opts *opts, gb_delta_changes *ch, gb_error *err);
/* An incremental read: only the changed groups, their members, and the AD objects they name. */
int gb_provision__gather_changes(gb_gather *g, const gb_delta_changes *ch, gb_error *err);
/* An incremental pass: the group errors that hold until the group changes (over the member limit), from the last
 * pass that applied, as notes of plan for each such group this pass did not read again (delta reports no change of
 * it). 0 for a full pass; GB_ESTATE when the stored list is unreadable. */
int gb_provision__carry_errors(gb_gather *g, const gb_delta_changes *ch, gb_plan *plan, gb_error *err);
/* After a pass applied everything: the memberships read (for the next incremental pass), the fingerprint, and the
 * delta links move on. */
int gb_provision__delta_close(gb_gather *g, const gb_plan *plan, const gb_delta_changes *ch, gb_error *err);
void gb_provision__delta_clear(gb_delta_changes *ch);

#endif
