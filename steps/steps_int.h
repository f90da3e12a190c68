/* steps_int.h: what the step files share with the runner (private to steps/). */
#ifndef GROUPBRIDGE_STEPS_INT_H
#define GROUPBRIDGE_STEPS_INT_H

#include <jansson.h>

#include "groupbridge/migrate.h"

/* Step implementations (steps/step_*.c). */
int gb_step_import_collect(gb_migrate_ctx *c, gb_error *err);
int gb_step_import_verify(gb_migrate_ctx *c, gb_error *err);
int gb_step_inventory_collect(gb_migrate_ctx *c, gb_error *err);
int gb_step_inventory_verify(gb_migrate_ctx *c, gb_error *err);
/* gb_migrate_scope_check for the handoff to groupbridge (the cloudsync target: 0, its job's scope mode is in
 * runbooks/handoff.md and runbooks/rollback.md). */
int gb_step_left_out_check(gb_migrate_ctx *c, gb_error *err);
int gb_step_stamp_plan(gb_migrate_ctx *c, gb_plan **out, gb_error *err);
int gb_step_stamp_hook(void *ctx, gb_store *st, const gb_op *op, const gb_apply_outcome *o, gb_error *err);
int gb_step_stamp_verify(gb_migrate_ctx *c, gb_error *err);
int gb_step_stamp_rollback_plan(gb_migrate_ctx *c, gb_plan **out, gb_error *err);

/* Applies plan with the apply engine as step s: s's fence, check and hook, the directory and Graph opened as the
 * plan's kinds need them, progress lines on c->out. res is set in every case; errors as gb_apply. */
int gb_step_apply(gb_migrate_ctx *c, const gb_step *s, const gb_plan *plan, gb_apply_result *res, gb_error *err);

/* The PowerShell templates of runbooks/templates/, compiled in by the Makefile (runbooks/templates/embed.py). */
typedef struct gb_template {
	const char *name; /* "connect-sync-coexistence", "disable-writeback" */
	const char *text;
} gb_template;
extern const gb_template gb_templates[];
extern const size_t gb_template_count;

/* Fills template name: every @@KEY@@ is replaced by its value (keys and values NULL-terminated pairs). Values must
 * be printable ASCII; a ' is doubled (the placeholders stand in single-quoted strings). GB_EINVAL for a value that
 * is not, or a placeholder left without a value. *out: free(). */
int gb_step_fill_template(const char *name, const char *const *pairs, char **out, gb_error *err);

/* Fills template name with pairs, GENERATED_AT (now) and GROUPBRIDGE_VERSION added, and writes it as NAME.ps1 next
 * to the state database, where the runbooks look for it; path (n bytes) receives where it went, for the instructions
 * printed after. Errors as gb_step_fill_template (GB_EINVAL for more than 20 pairs) and gb_write_file_atomic. */
int gb_step_write_script(gb_migrate_ctx *c, const char *name, const char *const *pairs, char *path, size_t n,
			 gb_error *err);

/* Prints how to run script NAME.ps1 on the Connect Sync server: first with -WhatIf, then without. */
void gb_step_print_whatif(gb_migrate_ctx *c, const char *name);

/* The current import (gb_cs_load_current) as a JSON document; *id its import number when id is not NULL.
 * GB_ENOTFOUND when nothing is imported, GB_ESTATE when the stored document cannot be read. *out: json_decref. */
int gb_step_current_import(gb_migrate_ctx *c, json_t **out, int64_t *id, gb_error *err);

/* Step 4, connect-sync-coexistence. */
int gb_step_coexist_collect(gb_migrate_ctx *c, gb_error *err);
int gb_step_coexist_confirm(gb_migrate_ctx *c, const char *export_dir, gb_error *err);
/* Its rollback: writes connect-sync-coexistence-rollback.ps1 next to the state database (the script that removes
 * both coexistence rules, refusing once group writeback v2 is off), and prints how to run it. Errors as
 * gb_step_fill_template and gb_write_file_atomic. */
int gb_step_coexist_rollback_script(gb_migrate_ctx *c, gb_error *err);
/* Checks the export the rollback script wrote: neither coexistence rule may be left (GB_ECONFLICT naming the rules
 * found); the export becomes the current import. NULL export_dir: attested (0). */
int gb_step_coexist_rollback_confirm(gb_migrate_ctx *c, const char *export_dir, gb_error *err);

/* Steps 8 and 9, handoff and verify. */
int gb_step_handoff_plan(gb_migrate_ctx *c, gb_plan **out, gb_error *err);
int gb_step_handoff_hook(void *ctx, gb_store *st, const gb_op *op, const gb_apply_outcome *o, gb_error *err);
int gb_step_handoff_confirm(gb_migrate_ctx *c, const char *evidence, gb_error *err);
int gb_step_verify_collect(gb_migrate_ctx *c, gb_error *err);
/* Undoes the hand-over: every handed-over group taken back (handed_over 0: provisioning no longer manages it), and
 * for handoff_target = cloudsync the removal of each app-role assignment to the job that groupbridge made (found in
 * the handoff step's audit records, still present). AD is left as it is. Errors as the Graph and store calls. */
int gb_step_handoff_rollback_plan(gb_migrate_ctx *c, gb_plan **out, gb_error *err);
/* Review D5: 0 when `migrate plan handoff` (or the run that reached handoff) computed and showed the hand-over plan
 * for the configured target (recorded in the state database); GB_EGATE saying to run it first otherwise. */
int gb_step_handoff_previewed(gb_migrate_ctx *c, gb_error *err);

/* Step 7, match (reads and records; blocked groups are reported, not an error). */
int gb_step_match_collect(gb_migrate_ctx *c, gb_error *err);
/* Its rollback: forgets every recorded match (matched_dn, match_result), in the caller's transaction; says how many in
 * detail (n bytes). State only: AD and the tenant are not touched. Errors from the store. */
int gb_step_match_forget(gb_migrate_ctx *c, char *detail, size_t n, gb_error *err);

/* The full name (extension_<appId>_GroupDN) of the GroupDN extension on CloudSyncCustomExtensionsApp; GB_ENOTFOUND
 * when the application or the extension is missing. *out: free(). (gb_apply_extension_name for "GroupDN".) */
int gb_step_groupdn_name(gb_graph *graph, char **out, gb_error *err);

/* Step 6, convert-soa. */
int gb_step_convert_plan(gb_migrate_ctx *c, gb_plan **out, gb_error *err);
/* Its write fence: [provisioning] allowed_containers (NULL when unset: no LDAP write is allowed). */
int gb_step_convert_fence(gb_migrate_ctx *c, char **out, gb_error *err);
/* isCloudManaged is set to true only while the group's AD group is universal. */
int gb_step_convert_check(void *ctx, const gb_op *op, gb_error *err);
int gb_step_convert_verify(gb_migrate_ctx *c, gb_error *err);
int gb_step_convert_rollback_plan(gb_migrate_ctx *c, gb_plan **out, gb_error *err);

/* The name of the Connect Sync AD connector that serves the group writeback forest, from the current import: the
 * connector of MV.xml's Microsoft.GroupWriteBack.Forest, else the only AD connector with a
 * Connector.GroupWriteBackContainerDn, else the only one whose partition holds the writeback OU, else the only AD
 * connector. Steps 4 and 5 generate their scripts for it. GB_ECONFIG naming the AD connectors when the export does
 * not say which one it is, or when nothing is imported. *out: free(). */
int gb_step_writeback_connector(gb_migrate_ctx *c, char **out, gb_error *err);

/* Step 5, disable-writeback. */
int gb_step_disable_collect(gb_migrate_ctx *c, gb_error *err);
int gb_step_disable_confirm(gb_migrate_ctx *c, const char *export_dir, gb_error *err);

/* Microsoft's prerequisites for a step that the current import shows (steps/step_prereq.c): before "inventory",
 * Connect Sync 2.2.8.0 or later (objectGUID -> onPremisesObjectIdentifier); before "convert-soa" with groups to
 * convert, 2.5.76.0 or later. Other steps: 0. GB_ECONFIG naming the version found and the one needed; an export that
 * states no readable version is reported on c->out and not refused. For the runner's preconditions. */
int gb_step_prereq_check(gb_migrate_ctx *c, const char *step, gb_error *err);

/* Compares versions of up to four dot-separated numbers ("2.2.8.0"; missing parts count as 0): *cmp < 0, 0 or > 0
 * as a is older than, the same as, or newer than b. GB_EINVAL when either is not such a version. */
int gb_step_version_compare(const char *a, const char *b, int *cmp, gb_error *err);

/* The detail recorded with a step's state ("" when none); *out: free(). */
int gb_step_detail(gb_migrate_ctx *c, const char *step, char **out, gb_error *err);

/* Frees a NULL-terminated array of group ids and its strings; NULL is allowed. */
void gb_step_ids_free(char **ids);

/* An empty plan, for steps that only read. */
int gb_step_no_changes(gb_migrate_ctx *c, gb_plan **out, gb_error *err);

/* The writeback OU: [migration] writeback_ou, else the current import's (the connector's container, else MV.xml's).
 * GB_ECONFIG with advice when none is known. *out: free(). */
int gb_step_writeback_ou(gb_migrate_ctx *c, char **out, gb_error *err);

#endif
