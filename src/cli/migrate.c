/* migrate.c: `groupbridge migrate`: the migration's steps, one command each way they move. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "groupbridge/migrate.h"
#include "groupbridge/util.h"

static void help(void)
{
	size_t i;

	puts("usage: groupbridge [--config FILE] migrate status\n"
	     "       groupbridge [--config FILE] migrate plan [STEP]\n"
	     "       groupbridge [--config FILE] migrate run [--until STEP] [--yes] [--i-understand-this-is-irreversible]\n"
	     "                                                    [--make-universal]\n"
	     "       groupbridge [--config FILE] migrate confirm STEP [--export DIR]\n"
	     "       groupbridge [--config FILE] migrate rollback STEP\n"
	     "\n"
	     "Moves group writeback v2 to cloud provisioning step by step. Every step's state is kept in the state\n"
	     "database: stop at any point (even kill -9) and `migrate run` goes on from there, repeating nothing that\n"
	     "was done. Every change is planned first (`migrate plan`), applied only with --yes (or a yes typed at the\n"
	     "terminal), recorded in the audit log, and verified before the step counts as done.\n"
	     "\n"
	     "The steps, in order (runbooks/STEP.md explains each one):");
	for (i = 0; i < gb_migrate_step_count; i++)
		printf("  %-26s %s%s%s\n", gb_migrate_steps[i].name, gb_migrate_steps[i].summary,
		       gb_migrate_steps[i].gate ? " [then: migrate confirm]" : "",
		       gb_migrate_steps[i].plan ? "" : " [not carried out by this version]");
	puts("\n"
	     "  status        every step with its state, and the exact next command\n"
	     "  plan [STEP]   what the next (or the named) step will do; changes nothing\n"
	     "  run           runs the steps in order; stops at a gate, at a step this version does not carry out,\n"
	     "                after --until STEP, or at the first failure\n"
	     "  confirm STEP  after reviewing a gate step's result (the inventory), lets the next step run; for an\n"
	     "                operator step, --export DIR is the fresh Connect Sync export that proves the work (without\n"
	     "                it the step is recorded as attested by the operator, not verified)\n"
	     "  rollback STEP undoes a step when every later step that ran is rolled back or harmless to it (else\n"
	     "                refused, with the reason); connect-sync-coexistence gets a script to run, then confirm\n"
	     "                STEP --export DIR records the rollback (runbooks/rollback.md)\n"
	     "\n"
	     "disable-writeback is irreversible: groupbridge prepares it (a snapshot of every group, the script) only with\n"
	     "--i-understand-this-is-irreversible, and refuses while the export holds the rule that deletes groups leaving\n"
	     "writeback scope, or while the coexistence step is attested but not verified from an export.\n"
	     "\n"
	     "convert-soa converts only universal AD groups (Cloud Sync provisions universal groups); it reports a\n"
	     "global or domain local one, and with --make-universal changes its scope to universal first, where AD\n"
	     "allows it (not for a global group that is a member of another global group).\n"
	     "\n"
	     "Exit codes: 0 done; 1 failed; 2 usage or configuration; 3 some changes failed; 4 stopped at a gate\n"
	     "(a confirmation, or --yes, is needed).");
}

int gb_cmd_migrate(gb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"until", required_argument, NULL, 'u'},
		{"yes", no_argument, NULL, 'y'},
		{"export", required_argument, NULL, 'e'},
		{"i-understand-this-is-irreversible", no_argument, NULL, 'I'},
		{"make-universal", no_argument, NULL, 'U'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *sub, *until = NULL, *step = NULL, *export_dir = NULL;
	gb_migrate_ctx ctx;
	gb_error err;
	char run_id[40] = "", holder[80];
	bool yes = false, writes, irreversible = false, make_universal = false;
	int c, rc, exit_code;

	if (gb_cli_wants_help(argc, argv) || argc < 2) {
		help();
		return argc < 2 ? GB_EXIT_USAGE : GB_EXIT_OK;
	}
	sub = argv[1];
	optind = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'u': until = optarg; break;
		case 'y': yes = true; break;
		case 'e': export_dir = optarg; break;
		case 'I': irreversible = true; break;
		case 'U': make_universal = true; break;
		default: return gb_cli_usage_error("migrate", "unknown option %s", argv[optind]);
		}
	}
	if (optind < argc - 1)
		step = argv[optind + 1];
	if (strcmp(sub, "status") && strcmp(sub, "plan") && strcmp(sub, "run") && strcmp(sub, "confirm") &&
	    strcmp(sub, "rollback"))
		return gb_cli_usage_error("migrate", "unknown subcommand \"%s\"", sub);
	if ((!strcmp(sub, "confirm") || !strcmp(sub, "rollback")) && !step)
		return gb_cli_usage_error("migrate", "%s needs a STEP", sub);
	if (step && !gb_migrate_find_step(step))
		return gb_cli_usage_error("migrate", "no step named \"%s\" (see groupbridge migrate --help)", step);
	gb_error_clear(&err);
	memset(&ctx, 0, sizeof(ctx));
	ctx.out = stdout;
	ctx.irreversible_ok = irreversible;
	ctx.make_universal = make_universal;
	rc = gb_cli_config(cli, &err);
	if (rc)
		return gb_cli_report("migrate", &err);
	ctx.cfg = cli->cfg;
	gb_stop_install();
	snprintf(holder, sizeof(holder), "migrate %s (pid %ld)", sub, (long)getpid());
	rc = gb_store_open(gb_cli_state_path(cli), holder, &ctx.st, &err);
	writes = strcmp(sub, "status") != 0 && strcmp(sub, "plan") != 0;
	if (!rc && writes) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "migrate %s%s%s", sub, step ? " " : "", step ? step : "");
		rc = gb_store_run_begin(ctx.st, cmd, run_id, sizeof(run_id), &err);
	}
	ctx.run_id = run_id;
	if (!rc) {
		if (!strcmp(sub, "status"))
			rc = gb_migrate_status(&ctx, &err);
		else if (!strcmp(sub, "plan"))
			rc = gb_migrate_plan(&ctx, step, &err);
		else if (!strcmp(sub, "run"))
			rc = gb_migrate_run(&ctx, until, yes, &err);
		else if (!strcmp(sub, "confirm"))
			rc = gb_migrate_confirm(&ctx, step, export_dir, &err);
		else
			rc = gb_migrate_rollback(&ctx, step, &err);
	}
	exit_code = rc ? gb_cli_report("migrate", &err) : GB_EXIT_OK;
	if (rc == GB_EUNSUPPORTED)
		exit_code = GB_EXIT_FAIL;
	if (ctx.st && run_id[0]) {
		gb_error e2;
		gb_store_run_end(ctx.st, run_id, exit_code, rc ? err.msg : "ok", &e2);
	}
	gb_migrate_ctx_close(&ctx);
	gb_store_free(ctx.st);
	return exit_code;
}
