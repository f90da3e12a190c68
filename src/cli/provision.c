/* provision.c: `groupbridge provision`: one provisioning pass, or its plan. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "groupbridge/anchor.h"
#include "groupbridge/directory.h"
#include "groupbridge/graph.h"
#include "groupbridge/log.h"
#include "groupbridge/provision.h"
#include "groupbridge/provisioner.h"
#include "groupbridge/store.h"
#include "groupbridge/util.h"

static void help(void)
{
	puts("usage: groupbridge [--config FILE] provision [--dry-run] [--json] [--full] [--allow-deletes] [--watch SECONDS]\n"
	     "       groupbridge [--config FILE] provision on-demand GROUP_ID --member ID [--member ID ...] [--dry-run]\n"
	     "\n"
	     "Makes the cloud security groups in [provisioning] scope exist in Active Directory with Cloud Sync's\n"
	     "rules, and keeps their members right. Nothing is changed without a plan: --dry-run prints the plan and\n"
	     "changes nothing; a run applies the same plan operation by operation, each recorded in the audit log.\n"
	     "\n"
	     "What is provisioned:\n"
	     "  groups   security-enabled, not mail-enabled, not Microsoft 365, not synced from AD (converted groups\n"
	     "           qualify); more than 50,000 members is that group's error, the other groups go on\n"
	     "  members  users whose onPremisesObjectIdentifier is the objectGUID of a user of this forest, and groups\n"
	     "           this configuration provisions too (referenced, never expanded); anything else is skipped, and\n"
	     "           the plan says why (cloud-only-user, other-forest, synced-group, group-not-in-scope, device...)\n"
	     "  names    cn, description and the container from the [provisioning] mappings; the anchor\n"
	     "           " GB_DIRECTORY_ANCHOR_ATTR " = adminDescription = " GB_ANCHOR_PREFIX "<objectId>\n"
	     "\n"
	     "Options:\n"
	     "  --dry-run        print the plan and change nothing (a dry run always reads everything)\n"
	     "  --json           print the plan as JSON (schema_version 1: groups, operations, notes)\n"
	     "  --full           read every group in scope again, not only what changed since the last run\n"
	     "  --allow-deletes  go on when the run would delete more groups than delete_threshold\n"
	     "  --watch SECONDS  run again and again, SECONDS after each pass ends (Cloud Sync runs every 10 to 20\n"
	     "                   minutes: --watch 900 is similar); SIGTERM or Ctrl-C finishes the operation under way,\n"
	     "                   records its place and exits 0\n"
	     "\n"
	     "On demand (to try the rules on one group before a full run, as Cloud Sync's provision on demand):\n"
	     "  provision on-demand GROUP_ID --member ID ...   provisions the group (which must be in scope) and only\n"
	     "                   the chosen members, one to five; other members are neither added nor removed and\n"
	     "                   nothing is deleted. Prints each member's outcome: added, already a member, skipped\n"
	     "                   (and why), or not a member of the cloud group.\n"
	     "\n"
	     "Runs after the first read only what changed (Microsoft Graph delta): the groups that changed, the groups\n"
	     "of users that changed, and groups newly in scope; with no change in the cloud nothing is read from AD and\n"
	     "nothing is written. A changed [provisioning] section, an expired delta link, or --full read everything.\n"
	     "\n"
	     "Safety: only groups that this state database manages and that still carry the anchor are ever deleted,\n"
	     "and only when their cloud group is deleted for good; a soft-deleted group or one that leaves scope stops\n"
	     "being managed and is kept. Every write must fall under allowed_containers (by default the constant\n"
	     "target_container). A run that is interrupted can simply be run again: it plans from what AD holds then.\n"
	     "\n"
	     "Exit codes: 0 done; 1 failed (nothing changed unless the log says so); 2 usage or configuration;\n"
	     "3 some groups failed, the rest were done; 4 stopped by delete_threshold before any change.");
}

static void print_summary(const gb_provision_result *r, const char *run_id, int dry_run)
{
	size_t i, skipped_members = 0, unsupported = 0;

	for (i = 0; r->plan && i < r->plan->nnotes; i++) {
		skipped_members += r->plan->notes[i].kind == GB_NOTE_MEMBER_SKIPPED;
		unsupported += r->plan->notes[i].kind == GB_NOTE_GROUP_UNSUPPORTED;
	}
	if (dry_run)
		printf("plan: %zu groups in scope, %zu provisioned, %zu operations, %zu members skipped, %zu groups "
		       "unsupported, %zu group errors (dry run: nothing was changed)\n",
		       r->groups_read, r->plan ? r->plan->ngroups : 0, r->plan ? r->plan->nops : 0, skipped_members,
		       unsupported, r->group_errors);
	else
		printf("provision: %zu groups in scope, %zu provisioned; %zu operations applied, %zu failed, %zu skipped; "
		       "%zu members skipped, %zu groups unsupported, %zu group errors; run %s\n",
		       r->groups_read, r->plan ? r->plan->ngroups : 0, r->applied, r->failed, r->skipped, skipped_members,
		       unsupported, r->group_errors, run_id);
}

/* Loads the configuration and opens the store, Graph and the directory for a provisioning command. */
static int open_all(gb_cli *cli, const char *holder, const char *command, bool record_run, char *run_id, size_t n,
		    gb_store **st, gb_graph **graph, gb_directory **dir, gb_error *err)
{
	int rc = gb_cli_config(cli, err);

	if (!rc)
		rc = gb_config_require_graph(cli->cfg, err);
	if (!rc)
		rc = gb_config_require_directory(cli->cfg, err);
	if (!rc && !cli->cfg->provisioning.present)
		rc = gb_error_set(err, GB_ECONFIG, "%s: provisioning needs a [provisioning] section", cli->config_path);
	if (!rc)
		rc = gb_store_open(gb_cli_state_path(cli), holder, st, err);
	if (!rc && record_run)
		rc = gb_store_run_begin(*st, command, run_id, n, err);
	if (!rc)
		rc = gb_graph_new(cli->cfg, graph, err);
	if (!rc)
		rc = gb_directory_open_config(cli->cfg, dir, err);
	return rc;
}

static void end_run(gb_store *st, const char *run_id, int exit_code, const gb_provision_result *res)
{
	gb_error e2;
	char summary[256];

	if (!st || !run_id[0])
		return;
	snprintf(summary, sizeof(summary), "%zu applied, %zu failed, %zu skipped", res->applied, res->failed,
		 res->skipped);
	gb_store_run_end(st, run_id, exit_code, summary, &e2);
}

static int on_demand(gb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"member", required_argument, NULL, 'm'},
		{"dry-run", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *members[GB_ONDEMAND_MAX_MEMBERS + 1];
	size_t n = 0, i;
	gb_provision_opts po;
	gb_provision_result res;
	gb_graph *graph = NULL;
	gb_directory *dir = NULL;
	gb_store *st = NULL;
	gb_error err;
	char run_id[40] = "", holder[64];
	const char *group;
	int c, rc, exit_code;

	memset(&po, 0, sizeof(po));
	memset(&res, 0, sizeof(res));
	gb_error_clear(&err);
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (n == GB_ONDEMAND_MAX_MEMBERS)
				return gb_cli_usage_error("provision", "on-demand takes at most %d members (as Cloud Sync's "
								       "provision on demand)", GB_ONDEMAND_MAX_MEMBERS);
			members[n++] = optarg;
			break;
		case 'n': po.dry_run = true; break;
		case 'h': help(); return GB_EXIT_OK;
		default: return gb_cli_usage_error("provision", "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind + 1 != argc)
		return gb_cli_usage_error("provision", "on-demand needs exactly one GROUP_ID");
	if (n == 0)
		return gb_cli_usage_error("provision", "on-demand needs at least one --member ID");
	group = argv[optind];
	snprintf(holder, sizeof(holder), "provision on-demand (pid %ld)", (long)getpid());
	rc = open_all(cli, holder, "provision on-demand", !po.dry_run, run_id, sizeof(run_id), &st, &graph, &dir, &err);
	po.run_id = run_id;
	if (!rc)
		rc = gb_provisioner_on_demand(cli->cfg, st, graph, dir, &po, group, members, n, &res, &err);
	for (i = 0; res.plan && i < n; i++) {
		const char *why = NULL;
		const char *outcome = gb_provision_member_outcome(&res, group, members[i], &why);
		printf("member %s: %s%s%s\n", members[i], outcome, why ? ": " : "", why ? why : "");
	}
	exit_code = rc ? gb_cli_report("provision", &err) : GB_EXIT_OK;
	end_run(st, run_id, exit_code, &res);
	gb_provision_result_clear(&res);
	gb_directory_free(dir);
	gb_graph_free(graph);
	gb_store_free(st);
	return exit_code;
}

int gb_cmd_provision(gb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"dry-run", no_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"allow-deletes", no_argument, NULL, 'D'},
		{"full", no_argument, NULL, 'F'},
		{"watch", required_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	long watch = 0;
	gb_provision_opts po;
	gb_provision_result res;
	gb_graph *graph = NULL;
	gb_directory *dir = NULL;
	gb_store *st = NULL;
	gb_error err;
	char run_id[40] = "", holder[64];
	int c, json = 0, rc, exit_code = GB_EXIT_OK;

	if (argc > 1 && strcmp(argv[1], "on-demand") == 0)
		return on_demand(cli, argc - 1, argv + 1);
	memset(&po, 0, sizeof(po));
	memset(&res, 0, sizeof(res));
	gb_error_clear(&err);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': po.dry_run = true; break;
		case 'j': json = 1; break;
		case 'D': po.allow_deletes = true; break;
		case 'F': po.full = true; break;
		case 'w':
			if (gb_parse_long(optarg, 1, 86400, &watch))
				return gb_cli_usage_error("provision", "--watch takes seconds from 1 to 86400, not \"%s\"",
							  optarg);
			break;
		case 'h': help(); return GB_EXIT_OK;
		default: return gb_cli_usage_error("provision", "unknown option %s", argv[optind - 1]);
		}
	}
	if (watch && po.dry_run)
		return gb_cli_usage_error("provision", "--watch applies changes; it does not go with --dry-run");
	if (optind < argc)
		return gb_cli_usage_error("provision", "unexpected argument \"%s\"", argv[optind]);

	gb_stop_install();
	snprintf(holder, sizeof(holder), "provision%s (pid %ld)", watch ? " --watch" : po.dry_run ? " --dry-run" : "",
		 (long)getpid());
	rc = open_all(cli, holder, po.allow_deletes ? "provision --allow-deletes" : "provision", false, run_id,
		      sizeof(run_id), &st, &graph, &dir, &err);
	if (rc)
		exit_code = gb_cli_report("provision", &err);
	/* One pass, or (with --watch) passes until a stop is requested. Each pass is a run of its own. */
	while (!rc) {
		run_id[0] = '\0';
		if (!po.dry_run)
			rc = gb_store_run_begin(st, po.allow_deletes ? "provision --allow-deletes" : "provision", run_id,
						sizeof(run_id), &err);
		po.run_id = run_id;
		if (!rc)
			rc = gb_provisioner_run(cli->cfg, st, graph, dir, &po, &res, &err);
		if (res.plan && po.dry_run) {
			char *text = NULL;
			gb_error perr;
			if ((json ? gb_plan_to_json(res.plan, &text, &perr) : gb_plan_to_text(res.plan, 10, &text, &perr)) ==
			    0)
				fputs(text, stdout);
			if (json)
				fputc('\n', stdout);
			free(text);
		}
		if (res.plan && !json)
			print_summary(&res, run_id, po.dry_run);
		fflush(stdout);
		exit_code = rc ? gb_cli_report("provision", &err) : GB_EXIT_OK;
		end_run(st, run_id, exit_code, &res);
		gb_provision_result_clear(&res);
		/* A watch goes on after a partial pass (the next pass retries), not after a failure or a gate. */
		if (!watch || gb_stop_requested() || (rc && rc != GB_EPARTIAL))
			break;
		rc = 0;
		gb_info("provision", "next pass in %ld s (SIGTERM or Ctrl-C stops)", watch);
		if (gb_stop_sleep(watch * 1000L))
			break;
	}
	if (gb_stop_requested() && exit_code == GB_EXIT_OK)
		gb_info("provision", "stopped on request");
	gb_provision_result_clear(&res);
	gb_directory_free(dir);
	gb_graph_free(graph);
	gb_store_free(st);
	return exit_code;
}
