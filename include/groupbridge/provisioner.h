/*
 * provisioner.h: one provisioning pass: read the tenant and the forest, plan with the rules (provision.h), stop at
 * the delete threshold, apply operation by operation with an audit record for each, and record which groups are
 * managed.
 *
 * Reading: the groups in scope and their direct members (Graph), the users they name (onPremisesObjectIdentifier),
 * the member groups outside the scope (to tell synced groups apart); the forest's users by objectGUID (the Global
 * Catalog when [directory] gc_uri is set, else the domain), the AD groups that carry a Group_ anchor, and for
 * converted groups the AD group with their SID or GroupDN. Groups this state database manages but that are no longer
 * in scope are looked up again: present in the tenant means they left scope, absent and in the tenant's deleted
 * items means soft-deleted (both: management stops, nothing is deleted), absent from both means deleted for good
 * (the AD group is deleted, if it still carries our anchor).
 *
 * Incremental passes: a pass that applies starts with Graph delta (/groups/delta and /users/delta). The first
 * pass, --full, a changed [provisioning] section or an expired delta link read everything. Otherwise only the
 * groups delta names, the groups that hold a user delta names, and newly selected groups are read again, in full,
 * from Graph and AD; with no change at all, AD is not read and nothing is written. The delta links of the previous
 * pass are kept until a pass has applied everything, so a pass that fails or is killed is replayed by the next.
 *
 * Groups the migration handed over (migrate handoff) are in scope in addition to what [provisioning] selects.
 *
 * Applying: the shared apply engine (apply.h) runs the operations in plan order. A failed operation fails its group:
 * the group's later operations are skipped (and audited as skipped), the other groups go on, and the run ends
 * GB_EPARTIAL. Every write passes the fence the engine sets ([provisioning] allowed_containers, by default the
 * constant target_container; an expression container needs allowed_containers). Which groups are managed changes
 * in the transaction of the audit record of the operation that made it so (a create, a delete, a stop), and every
 * group the plan provisions whose operations all succeeded is managed at the end. A rerun after an interruption
 * plans from what is in AD then, so completed operations are not repeated and no group is created twice (the anchor
 * finds it).
 *
 * The code: src/provision/gather.c reads, incremental.c handles delta, state.c owns the tables provisioning keeps
 * (provision_state.h), rules.c plans (provision.h), pass.c runs the phases; the plan is kept with plan_store.h.
 */
#ifndef GROUPBRIDGE_PROVISIONER_H
#define GROUPBRIDGE_PROVISIONER_H

#include <stdbool.h>
#include <stddef.h>

#include "groupbridge/config.h"
#include "groupbridge/directory.h"
#include "groupbridge/error.h"
#include "groupbridge/graph.h"
#include "groupbridge/plan.h"
#include "groupbridge/store.h"

typedef struct gb_provision_opts {
	bool dry_run;          /* plan only (always a full read; the delta state is left alone) */
	bool full;             /* read everything, not only what Graph delta reports as changed */
	bool allow_deletes;    /* go past delete_threshold */
	const char *run_id;    /* recorded with every audit record */
	const char *const *only_ids; /* restrict the pass to these groups (NULL-terminated): nothing else is read or
				      * planned, delta is not used and nothing is deleted (the migration's handoff and
				      * verify steps) */
} gb_provision_opts;

typedef struct gb_provision_result {
	gb_plan *plan;         /* owned; NULL until planning succeeded */
	size_t groups_read;    /* cloud groups in scope */
	size_t applied;        /* operations done */
	size_t failed;         /* operations that failed */
	size_t skipped;        /* operations skipped because an earlier one of the same group failed */
	size_t group_errors;   /* groups noted as errors by the rules */
	bool incremental;      /* this pass read only what delta reported (else a full read) */
	char **not_members;    /* on-demand: chosen ids that are not members of the cloud group (owned) */
	size_t nnot_members;
} gb_provision_result;

/* The fence for a configuration: allowed_containers, else the constant target_container; GB_ECONFIG when neither
 * (an expression container without allowed_containers). *out: free(). */
int gb_provisioner_fence(const gb_config *cfg, char **out, gb_error *err);

/* Runs one pass (see above). Returns 0 when everything planned was applied (or, for a dry run, planned), GB_EGATE
 * when the plan deletes more groups than delete_threshold and deletes are not allowed (nothing was changed),
 * GB_EPARTIAL when some groups failed and the rest were done, or the error that stopped reading or planning (nothing
 * was changed). res is filled in every case; clear it with gb_provision_result_clear. */
int gb_provisioner_run(const gb_config *cfg, gb_store *st, gb_graph *graph, gb_directory *dir,
		       const gb_provision_opts *opts, gb_provision_result *res, gb_error *err);

/* On-demand provisioning: the one group group_id (which must be in scope) and only the n chosen members (1 to
 * GB_ONDEMAND_MAX_MEMBERS); other members are neither added nor removed, and nothing is deleted. GB_EINVAL for a
 * wrong count or a group out of scope; otherwise as gb_provisioner_run. A chosen id that is not a member of the
 * cloud group is reported by gb_provision_member_outcome as "not a member". */
int gb_provisioner_on_demand(const gb_config *cfg, gb_store *st, gb_graph *graph, gb_directory *dir,
			     const gb_provision_opts *opts, const char *group_id, const char *const *members, size_t n,
			     gb_provision_result *res, gb_error *err);

/* What happened to one member in an on-demand result: "added", "already a member", "skipped" (with *why, borrowed
 * from the plan), "not a member" (of the cloud group), "not provisioned" (the group itself was not, *why says
 * why). */
const char *gb_provision_member_outcome(const gb_provision_result *res, const char *group_id, const char *member_id,
					const char **why);

/* Frees what res holds (the plan, the on-demand ids) and zeroes it; NULL is fine. */
void gb_provision_result_clear(gb_provision_result *res);

#endif
