/* step_import.c: step 1, the Connect Sync configuration export. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/connect_sync.h"
#include "groupbridge/util.h"
#include "steps_int.h"

int gb_step_import_collect(gb_migrate_ctx *c, gb_error *err)
{
	const char *dir = c->cfg->migration.connect_sync_export;
	gb_cs_export *exp = NULL;
	size_t i, danger = 0;
	int rc;

	if (!dir)
		return gb_error_set(err, GB_ECONFIG, "%s: set [migration] connect_sync_export to the folder that "
						     "Get-ADSyncServerConfiguration wrote", c->cfg->path);
	rc = gb_cs_import_dir(dir, &exp, err);
	if (!rc && c->cfg->migration.writeback_ou) {
		exp->writeback_ou_override = gb_strdup(c->cfg->migration.writeback_ou);
		rc = exp->writeback_ou_override ? gb_cs_analyze(exp, err) : gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	if (!rc)
		rc = gb_cs_save(c->st, exp, NULL, err);
	if (!rc) {
		for (i = 0; i < exp->finding_count; i++)
			danger += exp->findings[i].severity == GB_CS_DANGER;
		fprintf(c->out, "imported %s: server %s, %zu connectors, %zu rules, %zu findings (%zu dangerous)\n", dir,
			exp->server ? exp->server : "unknown", exp->connector_count, exp->rule_count, exp->finding_count,
			danger);
		for (i = 0; i < exp->finding_count; i++)
			if (exp->findings[i].severity >= GB_CS_WARNING)
				fprintf(c->out, "  %s: %s\n", gb_cs_severity_name(exp->findings[i].severity),
					exp->findings[i].message);
	}
	gb_cs_export_free(exp);
	return rc;
}

int gb_step_current_import(gb_migrate_ctx *c, json_t **out, int64_t *id, gb_error *err)
{
	json_error_t jerr;
	char *json = NULL;
	int rc;

	*out = NULL;
	rc = gb_cs_load_current(c->st, &json, id, err);
	if (rc)
		return rc;
	*out = json_loads(json, 0, &jerr);
	free(json);
	return *out ? 0 : gb_error_set(err, GB_ESTATE, "the stored import cannot be read: %s", jerr.text);
}

int gb_step_import_verify(gb_migrate_ctx *c, gb_error *err)
{
	char *json = NULL;
	int rc = gb_cs_load_current(c->st, &json, NULL, err);

	free(json);
	return rc;
}

int gb_step_writeback_ou(gb_migrate_ctx *c, char **out, gb_error *err)
{
	json_t *root = NULL, *wb;
	json_error_t jerr;
	char *json = NULL;
	const char *ou = NULL;
	int rc;

	*out = NULL;
	if (c->cfg->migration.writeback_ou) {
		*out = gb_strdup(c->cfg->migration.writeback_ou);
		return *out ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	rc = gb_cs_load_current(c->st, &json, NULL, err);
	if (rc == GB_ENOTFOUND)
		return gb_error_set(err, GB_ECONFIG, "no Connect Sync export is imported yet: run the import step first");
	if (rc)
		return rc;
	root = json_loads(json, 0, &jerr);
	wb = json_object_get(root, "writeback");
	ou = json_string_value(json_object_get(wb, "connector_container"));
	if (!ou || !*ou)
		ou = json_string_value(json_object_get(wb, "container"));
	if (ou && *ou)
		*out = gb_strdup(ou);
	else
		rc = gb_error_set(err, GB_ECONFIG, "the imported export names no group writeback container; set "
						   "[migration] writeback_ou to the OU that Connect Sync writes groups to");
	if (!rc && !*out)
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	json_decref(root);
	free(json);
	return rc;
}
