/*
 * plan_store.h: the plans the runs made, kept in the state database (table plans, schema migration 5), newest last,
 * for `report plan`. This module owns the table: nothing else reads or writes it.
 *
 * A plan is stored as the JSON text of gb_plan_write_json: measured first, then streamed into a row of that size,
 * so that a plan over millions of member values is never held as text in memory. The 20 newest plans are kept.
 */
#ifndef GROUPBRIDGE_PLAN_STORE_H
#define GROUPBRIDGE_PLAN_STORE_H

#include <stdbool.h>

#include "groupbridge/error.h"
#include "groupbridge/plan.h"
#include "groupbridge/store.h"

/* What a stored plan was made for. */
typedef struct gb_plan_info {
	char created[40]; /* UTC ISO 8601 */
	char command[64]; /* "provision", "provision on-demand" */
	char run_id[40];  /* "" when none */
	bool dry_run;
} gb_plan_info;

/* Stores plan (in its own transaction) for command (run_id may be NULL). GB_ETOOBIG for a text over 1 GB; GB_EIO
 * for database errors (nothing is stored then). */
int gb_plan_store_save(gb_store *st, const gb_plan *plan, const char *command, const char *run_id, bool dry_run,
		       gb_error *err);

/* The newest stored plan into *out (gb_plan_free) and what it was made for into info. GB_ENOTFOUND when none is
 * stored; GB_EPARSE when its text does not read back (gb_plan_from_json says why); GB_EIO. */
int gb_plan_store_latest(gb_store *st, gb_plan **out, gb_plan_info *info, gb_error *err);

#endif
