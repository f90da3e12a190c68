/*
 * migrate.h: the migration from Connect Sync group writeback v2, as an ordered set of checkpointed steps.
 *
 * Each step has a state in the state database (table migration_steps): pending, running, waiting (a gate or an
 * operator step: `migrate confirm STEP` moves it on), done, failed, or rolled-back. `migrate run` runs the steps in
 * order from the first that is not done, and stops at a gate, an operator step, a failure, or --until. A step's
 * changes are planned first (the same gb_plan as provisioning), applied by the same engine (apply.h) operation by
 * operation with an audit record each, and verified; the step is done only when its verification passes. A step interrupted at any point (kill -9)
 * is run again from its plan, which is computed from the directory as it is then: operations already done are found
 * done and not repeated.
 *
 * Steps (their names are part of the interface): import, inventory, stamp-anchors, connect-sync-coexistence,
 * disable-writeback, convert-soa, match, handoff, verify. This build implements import, inventory, stamp-anchors,
 * connect-sync-coexistence, disable-writeback, convert-soa, match, handoff (to groupbridge provisioning) and verify.
 */
#ifndef GROUPBRIDGE_MIGRATE_H
#define GROUPBRIDGE_MIGRATE_H

#include <stdbool.h>
#include <stdio.h>

#include "groupbridge/apply.h"
#include "groupbridge/config.h"
#include "groupbridge/directory.h"
#include "groupbridge/error.h"
#include "groupbridge/graph.h"
#include "groupbridge/plan.h"
#include "groupbridge/store.h"

typedef enum gb_step_state {
	GB_STEP_PENDING,
	GB_STEP_RUNNING,
	GB_STEP_WAITING,   /* needs `migrate confirm STEP` */
	GB_STEP_DONE,
	GB_STEP_FAILED,
	GB_STEP_ROLLED_BACK,
	GB_STEP_ROLLING_BACK /* an operator's rollback script was written: `migrate confirm STEP` checks it was run */
} gb_step_state;

/* "pending", "running", "waiting", "done", "failed", "rolled-back", "rolling-back"; "unknown" outside the enum. */
const char *gb_step_state_name(gb_step_state s);

/* A step state as the audit log records it in before and after of step.state: {"state":"done"}. */
int gb_step_state_json(gb_step_state s, char *dst, size_t n);

/* What a step works with. Graph and the directory are opened on first use (gb_migrate_graph/gb_migrate_dir), so that
 * a step that needs neither works offline. */
typedef struct gb_migrate_ctx {
	const gb_config *cfg;
	gb_store *st;
	const char *run_id;
	gb_graph *graph;
	gb_directory *dir;
	FILE *out;         /* where steps print what a person should read */
	bool irreversible_ok; /* --i-understand-this-is-irreversible was given */
	bool make_universal;  /* --make-universal: convert-soa changes a global or domain local group's scope */
	bool recording;       /* set by the runner: a step's plan may record what it plans in the store (migrate run);
			       * false for `migrate plan`, which changes nothing */
	char confirmed[256];  /* set by a confirm hook: what the confirmation established, for the step's record ("" for
			       * the step's static text) */
} gb_migrate_ctx;

/* The Graph client and the directory of the context, opened on first use. *out is BORROWED: it belongs to c and
 * lives until gb_migrate_ctx_close. Errors as gb_graph_new and gb_directory_open_config. */
int gb_migrate_graph(gb_migrate_ctx *c, gb_graph **out, gb_error *err);
int gb_migrate_dir(gb_migrate_ctx *c, gb_directory **out, gb_error *err);

/* Closes what gb_migrate_graph and gb_migrate_dir opened (the context itself is the caller's). */
void gb_migrate_ctx_close(gb_migrate_ctx *c);

/* What a later step that has run (not pending, not rolled back) means for the rollback of an earlier one (review D2):
 * a rollback of step N is allowed when every later step that has run is rolled back, or harmless to it. */
typedef enum gb_step_later {
	GB_LATER_ROLL_BACK_FIRST = 0, /* it changed something that rests on the earlier steps: roll it back first */
	GB_LATER_HARMLESS,            /* it changed nothing the earlier steps' rollbacks touch or depend on */
	GB_LATER_FORGOTTEN,           /* it only recorded what it read of the earlier steps' outcome: that record is
				       * forgotten with the earlier step's rollback (the step runs again) */
	GB_LATER_IRREVERSIBLE         /* once started (running, waiting or done), no earlier step can be rolled back */
} gb_step_later;

typedef struct gb_step {
	const char *name;
	const char *summary;
	bool gate;          /* after it is done, the next step waits for `migrate confirm` of this one */
	/* The plan of the step's changes (NULL plan ops for steps that only read). NULL: the step is not built. */
	int (*plan)(gb_migrate_ctx *c, gb_plan **out, gb_error *err);
	/* Whether `migrate run` applies the plan (with the apply engine, apply.h); false: the plan is shown, and the
	 * step's confirmation applies what it plans then (handoff). */
	bool applies;
	/* How the engine applies the step's plans and rollback plans: the write fence for their LDAP operations
	 * (';'-separated containers into *out, allocated; NULL allows none; this function NULL: the step writes no
	 * LDAP), a last check before each operation, and the step's own state changes per outcome, made in the
	 * transaction of the operation's audit record. check and hook get the gb_migrate_ctx as their ctx. */
	int (*fence)(gb_migrate_ctx *c, char **out, gb_error *err);
	gb_apply_check_fn check;
	gb_apply_hook_fn hook;
	/* Reads what the step needs to record (the import, the inventory); may be NULL. Called before the plan. */
	int (*collect)(gb_migrate_ctx *c, gb_error *err);
	/* 0 when the step's outcome holds; GB_ECONFLICT (with the reason) when not. */
	int (*verify)(gb_migrate_ctx *c, gb_error *err);
	/* The plan that undoes the step (NULL: rollback is refused, the reason in rollback_refusal). */
	int (*rollback_plan)(gb_migrate_ctx *c, gb_plan **out, gb_error *err);
	const char *rollback_refusal;
	/* Other ways to roll back (each NULL when unused): rollback_state undoes what the step recorded in the state
	 * database, in the transaction of the step's state change (and says what in *detail, n bytes); rollback_script
	 * writes the operator's script that undoes the step elsewhere (the step becomes rolling-back), and
	 * rollback_confirm checks its evidence on `migrate confirm STEP [--export DIR]` (NULL evidence: attested). */
	int (*rollback_state)(gb_migrate_ctx *c, char *detail, size_t n, gb_error *err);
	int (*rollback_script)(gb_migrate_ctx *c, gb_error *err);
	int (*rollback_confirm)(gb_migrate_ctx *c, const char *evidence, gb_error *err);
	/* What this step, once run, means for rolling back the steps before it, and why (for the refusal). */
	gb_step_later later;
	const char *later_why;
	/* Operator steps: checks the operator's work when confirmed; evidence is the export folder given to
	 * `migrate confirm STEP --export DIR` (NULL: the operator attests without evidence). It may say what it
	 * established in c->confirmed. */
	int (*confirm)(gb_migrate_ctx *c, const char *evidence, gb_error *err);
	/* What a successful confirm hook established, for the step's record, unless it said so in c->confirmed; NULL:
	 * the hook verifies evidence, and a confirmation without evidence is recorded as ATTESTED. */
	const char *confirmed;
} gb_step;

/* The steps in order (a static table) and their count. */
extern const gb_step gb_migrate_steps[];
extern const size_t gb_migrate_step_count;
const gb_step *gb_migrate_find_step(const char *name);

/* Prints every step with its state, times, counts, and the next command to run. */
int gb_migrate_status(gb_migrate_ctx *c, gb_error *err);

/* Prints the plan of the next step (or the named one), changing nothing in the directory or the tenant. The handoff
 * step's plan records in the state database that it was shown, for which target (review D5: disable-writeback waits
 * for it). */
int gb_migrate_plan(gb_migrate_ctx *c, const char *step, gb_error *err);

/* Runs steps in order until --until (inclusive), a gate, an operator step, a step not built, or a failure. A step
 * that plans changes applies them only with yes, or after a yes typed at a terminal (else GB_EGATE). Returns 0 when
 * it stopped after --until or at the end, GB_EGATE at a gate, GB_EUNSUPPORTED before a step not built, or the
 * error. */
int gb_migrate_run(gb_migrate_ctx *c, const char *until, bool yes, gb_error *err);

/* Confirms a waiting step (a gate, or an operator step with its evidence, which is verified first). Without evidence
 * an operator step is recorded as attested by the operator, not verified. A rolling-back step is confirmed the same
 * way: its rollback's evidence is checked, and it becomes rolled-back. GB_EINVAL when the step is neither waiting nor
 * rolling-back, or takes no evidence; the verification's error otherwise (the step stays as it was). */
int gb_migrate_confirm(gb_migrate_ctx *c, const char *step, const char *evidence, gb_error *err);

/* Review D8: the groups the migration leaves out (classes other than ready, converted and orphan, and the groups match
 * blocked) keep their written-back AD group without an anchor, so provisioning with [provisioning] scope = all would
 * create each again beside it. GB_ECONFIG (prefixed by what: the command or step) naming how many, the first ones
 * and why, while scope = all and any is recorded in st; 0 otherwise (and when no migration is recorded). */
int gb_migrate_scope_check(const gb_config *cfg, gb_store *st, const char *what, gb_error *err);

/* Rolls back a step that ran (done, waiting, failed, or rolling-back to write its script again). Allowed when every
 * later step that has run is rolled back, or harmless to it (gb_step_later); the later steps that only recorded what
 * they read are forgotten with it (rolled-back, to run again). A step with a plan applies its rollback plan; a step
 * with a state rollback forgets what it recorded; an operator step gets its rollback script and becomes
 * rolling-back until `migrate confirm`. GB_EINVAL (naming the later step and why) or GB_EUNSUPPORTED (the step's
 * reason) when refused; the apply's error otherwise. */
int gb_migrate_rollback(gb_migrate_ctx *c, const char *step, gb_error *err);

#endif
