/*
 * apply.h: the one apply engine. Provisioning and every migration step hand it their plans (plan.h); it executes
 * each operation with the executor of its kind (LDAP, Graph, or none for state-only kinds), records each outcome in
 * the audit log (audit.h) and lets the caller change its own state in the same transaction.
 *
 * For each operation, in plan order, three stages:
 *   gate      a stop was requested (gb_stop_requested): nothing more is sent, GB_EINTERRUPTED. An operation this one
 *             depends on as the same object's did not succeed: this one is skipped (not sent).
 *   dispatch  its executor sends it; the caller's check (if any) may refuse it first. A new group and its members
 *             (when they fit one member batch) go to AD as one add, and a group's added and removed members as one
 *             modify: two operations, one request, each with its own outcome (when an add with members fails for a
 *             reason of its own, the group is added alone and its members follow, so that each still gets the
 *             outcome it earned). The outcome (ok or failed, the message, where the object is afterwards, a new
 *             group's objectGUID, a new Graph object's id) is kept with the operation.
 *   record    the outcomes of the operations sent as one request are recorded together, in plan order, in one
 *             transaction: for each its audit record and the caller's hook (its state changes), so that a kill
 *             never keeps a record without its state change or the reverse. A recording that fails rolls the whole
 *             transaction back and stops the apply.
 * The directory that stopped answering (GB_ERETRY once the client's reconnects failed) stops the apply after that
 * operation's record: every later operation would wait for the same reconnect. So does running out of memory.
 *
 * The write fence lives here: before anything is sent, the directory's fence becomes opts->fence, so that every
 * LDAP write of the plan lands below those containers or is refused (directory.h).
 *
 * Ordering is data (gb_apply_order): an operation depends on the previous operation on the same object (object_id,
 * else target: it runs after it, and is skipped when that one did not succeed), on the create of every group
 * whose DN it names as a member value or target, and on the previous operation of another object on the same DN or
 * creating the same sAMAccountName (it runs after them).
 *
 * Writes in flight (opts->in_flight > 1): the operations that add, modify or change the members or values of one
 * group (create-group, set-attributes, add-members, remove-members, add-value, delete-value) go out in plan order,
 * each as soon as every operation it depends on is recorded, on up to in_flight connections of their own to the DC
 * opts->dir reaches (twins, made when needed; one that cannot connect or reaches another DC ends the growth, with a
 * warning). Every other kind (rename, move, delete, state-only and Graph kinds) waits until everything before it is
 * recorded and goes alone, on opts->dir; so does everything when a check is given. Outcomes are recorded in plan
 * order on the caller's thread, exactly as one at a time would record them: the same operations are sent and the
 * same outcomes recorded whatever the number in flight. A stop (signal, directory gone) sends nothing more and
 * records what was in flight before returning. A kill may leave up to in_flight writes done and not recorded (one
 * at a time: one); the next pass plans from what AD holds.
 */
#ifndef GROUPBRIDGE_APPLY_H
#define GROUPBRIDGE_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "groupbridge/audit.h"
#include "groupbridge/directory.h"
#include "groupbridge/error.h"
#include "groupbridge/graph.h"
#include "groupbridge/plan.h"
#include "groupbridge/store.h"

/* What became of one operation. Strings are borrowed: valid during the hook call only. */
typedef struct gb_apply_outcome {
	gb_audit_outcome outcome; /* GB_OUTCOME_OK, _FAILED or _SKIPPED */
	int code;                 /* 0, or the GB_E* code of the failure */
	const char *message;      /* why it failed or was skipped, else NULL */
	const char *target;       /* where it was sent: its target, or where an earlier rename of the object left it */
	const char *dn_after;     /* create, rename, move that succeeded: the object's DN afterwards; else NULL */
	const char *guid;         /* create that succeeded: the new group's objectGUID as read back (NULL if not read) */
	const char *created_id;   /* a Graph create that succeeded: the new object's id (or the extension's name) */
} gb_apply_outcome;

/* The caller's state changes for one operation, called for every operation (whatever its outcome) inside the
 * transaction that holds its audit record. Non-zero stops the apply; that transaction is rolled back. */
typedef int (*gb_apply_hook_fn)(void *ctx, gb_store *st, const gb_op *op, const gb_apply_outcome *o, gb_error *err);

/* A caller's last check before an operation is sent (convert-soa: the AD group is universal); non-zero fails the
 * operation with err's message, and nothing is sent. */
typedef int (*gb_apply_check_fn)(void *ctx, const gb_op *op, gb_error *err);

typedef struct gb_apply_opts {
	gb_store *st;            /* the audit log and the caller's state (required) */
	const char *run_id;      /* recorded with every audit record */
	const char *step;        /* the audit records' step: "provision", "stamp-anchors", ... (required) */
	const char *log_tag;     /* the tag of log lines ("provision", "migrate"); NULL: step */
	gb_directory *dir;       /* for LDAP kinds; NULL: they fail */
	gb_graph *graph;         /* for Graph kinds; NULL: they fail */
	const char *fence;       /* ';'-separated containers below which LDAP writes may land; set on dir before
				  * anything is sent. NULL or "": every LDAP write is refused */
	size_t member_batch;     /* member values per request (0: GB_DIRECTORY_MEMBER_BATCH; dir's own batch is
				  * lowered to it when smaller); a create carries its members only when they fit one
				  * batch */
	FILE *progress;          /* one "[i/n] kind target" line per operation sent; NULL: info log lines */
	size_t in_flight;        /* LDAP writes in flight at once (see above); 0 or 1: one at a time */
	bool guid_later;         /* a create does not read the new group's objectGUID back (its outcome's guid is NULL):
				  * the caller reads the groups it created after the apply, many in one search */
	gb_apply_check_fn check; /* may be NULL */
	gb_apply_hook_fn hook;   /* may be NULL */
	void *ctx;               /* given to check and hook */
} gb_apply_opts;

typedef struct gb_apply_result {
	size_t applied;  /* operations that succeeded */
	size_t failed;   /* operations that failed */
	size_t skipped;  /* operations not sent: an earlier operation on the same object did not succeed */
	size_t recorded; /* operations recorded (applied + failed + skipped) */
	size_t peak;     /* the most requests that were in flight at once (0 when nothing was sent) */
	size_t member_batch; /* the most member values a request may carry at the end (0 without dir): less than the
			      * batch it started with when the DC refused a batch (adminLimitExceeded) */
} gb_apply_result;

/* Applies plan (see above). res is set in every case. Returns 0 when every operation was recorded, whatever its
 * outcome (look at res->failed); GB_EINTERRUPTED when a stop was requested (the message says after how many);
 * GB_ERETRY when the directory stopped answering (the message names the operation and where it stopped); GB_ENOMEM;
 * GB_EINVAL for missing options, GB_EPARSE for a fence that does not parse (nothing was sent then); or the error of
 * the audit log or the hook that stopped recording (that operation's transaction was rolled back). */
int gb_apply(const gb_plan *plan, const gb_apply_opts *opts, gb_apply_result *res, gb_error *err);

/* ---- ordering as data ---- */

typedef enum gb_apply_dep_kind {
	GB_DEP_SAME_OBJECT, /* the previous operation on the same object: in order; not done means skipped */
	GB_DEP_CREATED,     /* the create of a group this operation names by DN: in order */
	GB_DEP_SAME_NAME    /* another object's operation on the same DN, or its create of the same
			     * sAMAccountName: in order */
} gb_apply_dep_kind;

typedef struct gb_apply_dep {
	size_t op; /* index in the plan, always lower than the dependent operation's */
	gb_apply_dep_kind kind;
} gb_apply_dep;

typedef struct gb_apply_order {
	size_t nops;
	gb_apply_dep **deps; /* deps[i]: what operation i depends on, ndeps[i] of them */
	size_t *ndeps;
} gb_apply_order;

/* The dependencies of every operation of plan. *out: gb_apply_order_free. GB_ENOMEM. */
int gb_apply_order_new(const gb_plan *plan, gb_apply_order **out, gb_error *err);
void gb_apply_order_free(gb_apply_order *order);

/* ---- for the executors' callers ---- */

/* The full name (extension_<appId>_<short_name>) of a directory extension on CloudSyncCustomExtensionsApp;
 * GB_ENOTFOUND when the application or the extension does not exist. *out: free(). */
int gb_apply_extension_name(gb_graph *graph, const char *short_name, char **out, gb_error *err);

#endif
