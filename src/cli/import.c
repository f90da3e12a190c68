/* import.c: `groupbridge import connect-sync DIR [--json]`: read the Connect Sync configuration export, store it as
 * the current import in the state database, and say what group writeback does today. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "groupbridge/connect_sync.h"
#include "groupbridge/store.h"
#include "groupbridge/util.h"

#include "cli/cli.h"

static const char import_help[] =
    "usage: groupbridge import connect-sync [DIR] [--json]\n"
    "\n"
    "Reads the configuration export of a Microsoft Entra Connect Sync server and records what matters for the\n"
    "migration: whether group writeback is on, where it writes groups, the connectors and their container\n"
    "filters, the sync rules that touch groups, and the directory extensions. The result is stored in the state\n"
    "database as the current import (earlier imports stay as history) and summarised, most serious findings\n"
    "first.\n"
    "\n"
    "Make the export on the Connect Sync server, in PowerShell:\n"
    "  Import-Module ADSync\n"
    "  Get-ADSyncServerConfiguration -Path C:\\export\\contoso\n"
    "and copy the whole folder (Connectors, GlobalSettings, SynchronizationRules; PersistedState.xml too if the\n"
    "folder came from MigrateSettings.ps1). Nothing in it is secret: passwords are never exported.\n"
    "\n"
    "Arguments:\n"
    "  DIR        the export folder; default: connect_sync_export in the [migration] section of the configuration\n"
    "  --json     print the whole imported model as JSON instead of the summary (scripts, reports)\n"
    "  -h, --help this help\n"
    "\n"
    "Findings have a severity: danger (acting now would lose groups in AD), warning (the migration must deal\n"
    "with it) and info. For example \"delete-rule.present\" means that disabling writeback would delete the\n"
    "written-back groups in AD; \"coexistence.present\" means the Connect Sync side of the hand-over is done.\n"
    "\n"
    "No configuration is needed to read an export: when no file is named (--config, $GROUPBRIDGE_CONFIG) and\n"
    "groupbridge.ini does not exist here, give DIR; the import is stored in groupbridge.state.db in the current\n"
    "directory (or --state FILE), the state database that a groupbridge.ini written here later uses too.\n"
    "\n"
    "Exit codes: 0 imported; 2 the folder is missing or incomplete, a file is unreadable, too big or not\n"
    "well-formed XML (the message names the file and line; nothing is stored); 1 the state database failed.\n"
    "\n"
    "Example:\n"
    "  groupbridge --config contoso.ini import connect-sync ./contoso-export\n"
    "  groupbridge --config contoso.ini import connect-sync ./contoso-export --json | jq .writeback\n"
    "  groupbridge import connect-sync ./contoso-export      # no configuration yet: into ./groupbridge.state.db\n";

static void print_list(const char *label, const gb_cs_strlist *l)
{
	size_t i;

	if (!l->count)
		return;
	printf("      %s: ", label);
	for (i = 0; i < l->count; i++)
		printf("%s%s", i ? "; " : "", l->items[i]);
	putchar('\n');
}

static const char *dash(const char *s)
{
	return s && *s ? s : "-";
}

static const char *role_label(unsigned roles)
{
	if (roles & GB_CS_ROLE_DELETE_OUT_OF_SCOPE)
		return "  [deletes groups leaving writeback scope]";
	if (roles & GB_CS_ROLE_COEX_INBOUND)
		return "  [coexistence, inbound]";
	if (roles & GB_CS_ROLE_COEX_OUTBOUND)
		return "  [coexistence, outbound]";
	if (roles & GB_CS_ROLE_SOAINAAD)
		return "  [group writeback]";
	if (roles & GB_CS_ROLE_MEMBER_LIMIT)
		return "  [writeback member limit]";
	if (roles & GB_CS_ROLE_GROUP_JOIN)
		return "  [keeps written-back groups out of Entra ID]";
	if (roles & GB_CS_ROLE_CUSTOM_GROUP)
		return "  [custom]";
	if (roles & GB_CS_ROLE_WRITEBACK_DN)
		return "  [uses the writeback container]";
	return "";
}

static int by_precedence(const void *a, const void *b)
{
	long x = (*(const gb_cs_rule *const *)a)->precedence, y = (*(const gb_cs_rule *const *)b)->precedence;

	return x < y ? -1 : x > y;
}

static void print_summary(const gb_cs_export *exp, const char *state, int64_t id)
{
	size_t i, group_rules = 0, custom = 0, soa = 0;
	const gb_cs_rule **sorted;
	const char *container = exp->writeback_ou_override           ? exp->writeback_ou_override
	                        : exp->writeback_connector_container ? exp->writeback_connector_container
	                                                             : exp->writeback_container;

	printf("Connect Sync export %s\n", dash(exp->dir));
	printf("  server %s, exported %s, Connect Sync %s; %zu files, %zu bytes\n\n", dash(exp->server),
	       dash(exp->export_date), dash(exp->version), exp->file_count, exp->byte_count);
	printf("Findings (most serious first):\n");
	for (i = 0; i < exp->finding_count; i++) {
		const gb_cs_finding *f = &exp->findings[i];
		printf("  %-7s %s\n          [%s]\n",
		       f->severity == GB_CS_DANGER    ? "DANGER"
		       : f->severity == GB_CS_WARNING ? "WARNING"
		                                      : "info",
		       f->message, f->code);
	}
	printf("\nServer state (unknown: the export does not say):\n");
	printf("  staging mode          %-8s from %s\n", gb_cs_tristate_name(exp->staging_mode),
	       exp->staging_mode_source && strcmp(exp->staging_mode_source, "PersistedState.xml") == 0
	           ? "PersistedState.xml (a key naming StagingMode)"
	           : gb_cs_source_of("staging_mode"));
	printf("  scheduler suspended   %-8s from %s\n", gb_cs_tristate_name(exp->scheduler_suspended),
	       gb_cs_source_of("scheduler_suspended"));
	printf("  delete threshold      %-8s from %s\n", gb_cs_tristate_name(exp->delete_threshold_enabled),
	       gb_cs_source_of("delete_threshold.enabled"));
	if (exp->delete_threshold >= 0)
		printf("    objects             %-8ld from %s\n", exp->delete_threshold,
		       gb_cs_source_of("delete_threshold.value"));
	else
		printf("    objects             %-8s from %s\n", "unknown", gb_cs_source_of("delete_threshold.value"));
	printf("\nGroup writeback:\n");
	printf("  enabled               %-8s feature flag %s, from %s\n", exp->writeback_enabled ? "yes" : "no",
	       gb_cs_tristate_name(exp->writeback_flag), gb_cs_source_of("writeback.flag"));
	printf("  forest                %s\n", dash(exp->writeback_forest));
	printf("  container (MV.xml)    %s\n", dash(exp->writeback_container));
	printf("  container (connector) %s\n", dash(exp->writeback_connector_container));
	if (exp->writeback_ou_override)
		printf("  OU (configuration)    %s  (overrides the export)\n", exp->writeback_ou_override);
	if (container)
		printf("  OU in connector scope %s\n", gb_cs_tristate_name(exp->writeback_ou_in_scope));
	printf("  Group Join filter     %s\n",
	       exp->group_join_filter ? "adminDescription NOTSTARTSWITH Group_ found" : "not found");
	printf("\nConnectors (%zu):\n", exp->connector_count);
	for (i = 0; i < exp->connector_count; i++) {
		const gb_cs_connector *c = &exp->connectors[i];
		printf("  %s  [%s, id %s]\n", dash(c->name),
		       c->kind == GB_CS_CONNECTOR_AD      ? "Active Directory"
		       : c->kind == GB_CS_CONNECTOR_ENTRA ? "Entra ID"
		                                          : dash(c->category),
		       dash(c->id));
		for (size_t j = 0; j < c->partition_count; j++) {
			const gb_cs_partition *p = &c->partitions[j];
			if (c->kind == GB_CS_CONNECTOR_ENTRA)
				continue;
			printf("    partition %s%s\n", dash(p->name), p->selected ? "" : " (not selected)");
			print_list("included", &p->inclusions);
			print_list("excluded", &p->exclusions);
		}
	}
	for (i = 0; i < exp->rule_count; i++) {
		unsigned r = exp->rules[i].roles;
		group_rules += (r & GB_CS_ROLE_GROUP) != 0;
		custom += (r & GB_CS_ROLE_CUSTOM_GROUP) != 0;
		soa += (r & GB_CS_ROLE_SOAINAAD) != 0;
	}
	printf("\nSync rules: %zu, of which %zu act on groups (%zu SOAInAAD, %zu custom)\n", exp->rule_count,
	       group_rules, soa, custom);
	sorted = calloc(exp->rule_count ? exp->rule_count : 1, sizeof(*sorted));
	for (i = 0; sorted && i < exp->rule_count; i++)
		sorted[i] = &exp->rules[i];
	if (sorted)
		qsort(sorted, exp->rule_count, sizeof(*sorted), by_precedence);
	for (i = 0; i < exp->rule_count; i++) {
		const gb_cs_rule *r = sorted ? sorted[i] : &exp->rules[i];
		if (!r->detailed)
			continue;
		printf("  %4ld %-8s %-10s %s%s%s\n", r->precedence, dash(r->direction), dash(r->link_type),
		       dash(r->name), r->disabled ? " (disabled)" : "", role_label(r->roles));
	}
	free(sorted);
	printf("\nDirectory extensions: %s, %zu configured\n", gb_cs_tristate_name(exp->dirext_enabled),
	       exp->extension_count);
	for (i = 0; i < exp->extension_count; i++)
		printf("  %s.%s -> %s%s\n", dash(exp->extensions[i].object_class), dash(exp->extensions[i].source),
		       dash(exp->extensions[i].target),
		       strcmp(exp->extensions[i].group_dn, "no") ? " (could carry a group DN)" : "");
	printf("\nStored as import %lld in %s.\n", (long long)id, state);
}

/* True when no configuration file was named and the default one (groupbridge.ini) does not exist: reading an export
 * needs none. A file named with --config or $GROUPBRIDGE_CONFIG must exist (a typo must not import into a database
 * nobody will look at); so must a default file that exists but cannot be read. */
static bool without_configuration(const gb_cli *cli)
{
	const char *env = getenv("GROUPBRIDGE_CONFIG");
	struct stat sb;

	if (env && *env && strcmp(env, cli->config_path) == 0)
		return false;
	return strcmp(cli->config_path, "groupbridge.ini") == 0 && lstat(cli->config_path, &sb) != 0 && errno == ENOENT;
}

/* Input problems (folder, files, XML) are the operator's to fix: exit 2, as for usage and configuration. */
static int input_error(int code)
{
	return code == GB_ENOTFOUND || code == GB_EIO || code == GB_EPARSE || code == GB_ETOOBIG || code == GB_EINVAL ||
	       code == GB_EUNSUPPORTED;
}

/* Loads the configuration when there is one and settles the export folder: DIR, else the configuration's
 * connect_sync_export. The configuration names the default folder and may override the writeback OU; it is checked
 * when there is one, and reading an export needs none. GB_EXIT_OK, or the exit code of a problem already reported. */
static int settle_folder(gb_cli *cli, const char **dir)
{
	gb_error err = {0};
	int code;

	if (without_configuration(cli)) {
		if (!*dir)
			return gb_cli_usage_error("import",
			                          "no export folder: give DIR (there is no configuration file %s "
			                          "to name connect_sync_export)",
			                          cli->config_path);
		fprintf(stderr, "groupbridge: import: no configuration file %s: importing into %s\n", cli->config_path,
		        gb_cli_state_path(cli));
		return GB_EXIT_OK;
	}
	if (gb_cli_config(cli, &err) != 0) { /* an unreadable or invalid configuration is a configuration error too */
		code = gb_cli_report("import", &err);
		return code == GB_EXIT_FAIL ? GB_EXIT_USAGE : code;
	}
	if (!*dir)
		*dir = cli->cfg->migration.connect_sync_export;
	if (!*dir || !**dir)
		return gb_cli_usage_error("import",
		                          "no export folder: give DIR, or set connect_sync_export in the [migration] "
		                          "section of %s",
		                          cli->config_path);
	return GB_EXIT_OK;
}

int gb_cmd_import(gb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	gb_error err = {0};
	gb_cs_export *exp = NULL;
	gb_store *st = NULL;
	const char *dir = NULL, *state;
	char *json = NULL;
	int64_t id = 0;
	char command[4200], run_id[40] = "", summary[256];
	int c, json_out = 0, rc, code = GB_EXIT_OK;

	if (gb_cli_wants_help(argc, argv)) {
		fputs(import_help, stdout);
		return GB_EXIT_OK;
	}
	if (argc < 2)
		return gb_cli_usage_error("import", "say what to import: connect-sync DIR");
	if (strcmp(argv[1], "connect-sync") != 0)
		return gb_cli_usage_error("import", "unknown source \"%s\"; the only source is connect-sync", argv[1]);
	argc--;
	argv++;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json_out = 1; break;
		default: return gb_cli_usage_error("import", "unknown option %s", argv[optind - 1]);
		}
	}
	for (; optind < argc; optind++) {
		if (strcmp(argv[optind], "--json") == 0) { /* options may follow the folder */
			json_out = 1;
			continue;
		}
		if (dir)
			return gb_cli_usage_error("import", "one export folder at a time, not also \"%s\"",
			                          argv[optind]);
		dir = argv[optind];
	}
	code = settle_folder(cli, &dir);
	if (code != GB_EXIT_OK)
		return code;
	rc = gb_cs_import_dir(dir, &exp, &err);
	if (rc) {
		gb_cli_report("import", &err);
		return input_error(rc) ? GB_EXIT_USAGE : gb_error_exit_code(rc);
	}
	if (cli->cfg && cli->cfg->migration.writeback_ou && *cli->cfg->migration.writeback_ou) {
		exp->writeback_ou_override = gb_strdup(cli->cfg->migration.writeback_ou);
		rc = exp->writeback_ou_override ? gb_cs_analyze(exp, &err)
		                                : gb_error_set(&err, GB_ENOMEM, "out of memory");
		if (rc) {
			code = gb_cli_report("import", &err);
			goto done;
		}
	}
	state = gb_cli_state_path(cli);
	rc = gb_store_open(state, "import connect-sync", &st, &err);
	if (rc) {
		code = gb_cli_report("import", &err);
		goto done;
	}
	/* the run history records the attempt; the import itself is stored in one transaction or not at all */
	snprintf(command, sizeof(command), "import connect-sync %s", dir);
	if (gb_store_run_begin(st, command, run_id, sizeof(run_id), &err) != 0)
		run_id[0] = '\0'; /* history is a convenience: its failure does not stop the import */
	rc = gb_cs_save(st, exp, &id, &err);
	if (rc) {
		code = gb_cli_report("import", &err);
		if (code == GB_EXIT_OK)
			code = GB_EXIT_FAIL;
		if (run_id[0])
			gb_store_run_end(st, run_id, code, err.msg, NULL);
		goto done;
	}
	if (run_id[0]) {
		size_t i, danger = 0, warning = 0;
		for (i = 0; i < exp->finding_count; i++) {
			danger += exp->findings[i].severity == GB_CS_DANGER;
			warning += exp->findings[i].severity == GB_CS_WARNING;
		}
		snprintf(summary, sizeof(summary),
		         "import %lld: group writeback %s, %zu rules, %zu danger, %zu warning", (long long)id,
		         exp->writeback_enabled ? "on" : "off", exp->rule_count, danger, warning);
		gb_store_run_end(st, run_id, GB_EXIT_OK, summary, NULL);
	}
	if (json_out) {
		rc = gb_cs_to_json(exp, true, &json, &err);
		if (rc) {
			code = gb_cli_report("import", &err);
			goto done;
		}
		puts(json);
	} else {
		print_summary(exp, state, id);
	}
done:
	free(json);
	gb_store_free(st);
	gb_cs_export_free(exp);
	return code;
}
