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
#include "groupbridge/metrics.h"
#include "groupbridge/migrate.h"
#include "groupbridge/provision.h"
#include "groupbridge/provisioner.h"
#include "groupbridge/store.h"
#include "groupbridge/util.h"

static void help(void)
{
	puts("usage: groupbridge [--config FILE] provision [--dry-run] [--json] [--full] [--allow-deletes]\n"
	     "                                             [--watch SECONDS [--max-backoff SECONDS]] [--metrics-file FILE]\n"
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
	     "  --full           read every group in scope again, not only what changed since the last run, and\n"
	     "                   send the configured member_batch again to a DC that refused it in an earlier pass\n"
	     "  --allow-deletes  go on when the run would delete more groups than delete_threshold\n"
	     "  --watch SECONDS  run again and again, SECONDS after each pass ends (Cloud Sync runs every 10 to 20\n"
	     "                   minutes: --watch 900 is similar); SIGTERM or Ctrl-C finishes the operation under way,\n"
	     "                   records its place and exits 0. A failed pass backs off: the wait doubles after each\n"
	     "                   failed pass in a row, up to --max-backoff, and is SECONDS again after a pass that did\n"
	     "                   not fail. A configuration error or a delete_threshold stop ends the watch (exit 2, 4)\n"
	     "  --max-backoff SECONDS  the longest wait after failed passes (default 3600; never less than --watch)\n"
	     "  --metrics-file FILE    after every pass, write Prometheus metrics to FILE (node_exporter's textfile\n"
	     "                   collector: written beside it, then renamed); default [provisioning] metrics_file\n"
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

/* Loads the configuration and opens the store and Graph, and the directory when dir is not NULL, for a provisioning
 * command. */
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
	if (!rc)
		rc = gb_migrate_scope_check(cli->cfg, *st, "provision", err);
	if (!rc && record_run)
		rc = gb_store_run_begin(*st, command, run_id, n, err);
	if (!rc)
		rc = gb_graph_new(cli->cfg, graph, err);
	if (!rc && dir)
		rc = gb_directory_open_config(cli->cfg, dir, err);
	return rc;
}

/* Records the end of the run: the counts, or what stopped it (redacted) when it failed. */
static void end_run(gb_store *st, const char *run_id, int exit_code, const gb_provision_result *res, int rc,
		    const gb_error *err)
{
	gb_error e2;
	char summary[256];

	if (!st || !run_id[0])
		return;
	if (rc && rc != GB_EPARTIAL)
		gb_log_redact(err->msg[0] ? err->msg : gb_error_name(rc), summary, sizeof(summary));
	else
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
	end_run(st, run_id, exit_code, &res, rc, &err);
	gb_provision_result_clear(&res);
	gb_directory_free(dir);
	gb_graph_free(graph);
	gb_store_free(st);
	return exit_code;
}

long gb_cli_watch_delay(long interval, unsigned failures, long max_backoff)
{
	long wait = interval;
	unsigned i;

	if (max_backoff < interval)
		max_backoff = interval;
	for (i = 0; i < failures && wait < max_backoff; i++)
		wait = wait > max_backoff / 2 ? max_backoff : wait * 2;
	return wait < max_backoff ? wait : max_backoff;
}

/* What one `provision` command keeps across the passes of a watch. */
typedef struct pass_ctx {
	gb_cli *cli;
	gb_store *st;
	gb_graph *graph;
	gb_directory *dir;           /* opened by the first pass that needs it; dropped after a failed pass */
	gb_provision_opts po;
	int json;
	const char *metrics_file;    /* --metrics-file, else [provisioning] metrics_file, else NULL */
} pass_ctx;

static gb_metrics_outcome outcome_of(int rc)
{
	switch (rc) {
	case 0: return GB_METRICS_SUCCESS;
	case GB_EPARTIAL: return GB_METRICS_PARTIAL;
	case GB_EGATE: return GB_METRICS_GATE;
	case GB_EINTERRUPTED: return GB_METRICS_INTERRUPTED;
	default: return GB_METRICS_FAILURE;
	}
}

/* The pass's numbers from its result, its plan and the clients' counters (g0, d0: the counters before the pass).
 * Members added and removed are counted from the plan's operations only when no operation failed or was skipped:
 * then the applied operations are exactly the plan's first `applied` ones. */
static void fill_metrics(gb_metrics_pass *m, const gb_provision_result *r, int rc, const gb_graph_stats *g0,
			 const gb_graph_stats *g1, const gb_directory_stats *d0, const gb_directory_stats *d1)
{
	size_t i;

	m->outcome = outcome_of(rc);
	m->incremental = r->incremental;
	m->scope_known = r->plan && !r->incremental;
	m->groups_in_scope = r->groups_read;
	m->groups_read = r->groups_read;
	m->groups_failed = r->failed; /* a failed operation fails its group; the group's later ones are skipped */
	if (r->plan && (rc == 0 || rc == GB_EPARTIAL))
		m->groups_provisioned = r->plan->ngroups > r->failed ? r->plan->ngroups - r->failed : 0;
	for (i = 0; r->plan && i < r->plan->nnotes; i++) {
		const gb_note *n = &r->plan->notes[i];
		if (n->kind == GB_NOTE_GROUP_UNSUPPORTED || n->kind == GB_NOTE_GROUP_ERROR)
			gb_metrics_labelled_add(&m->groups_skipped, n->code, 1);
		else if (n->kind == GB_NOTE_MEMBER_SKIPPED)
			gb_metrics_labelled_add(&m->members_skipped, n->code, 1);
	}
	m->members_counted = r->failed == 0 && r->skipped == 0;
	for (i = 0; m->members_counted && r->plan && i < r->applied && i < r->plan->nops; i++) {
		if (r->plan->ops[i].kind == GB_OP_ADD_MEMBERS)
			m->members_added += r->plan->ops[i].nvalues;
		else if (r->plan->ops[i].kind == GB_OP_REMOVE_MEMBERS)
			m->members_removed += r->plan->ops[i].nvalues;
	}
	m->ops_applied = r->applied;
	m->ops_failed = r->failed;
	m->ops_skipped = r->skipped;
	m->graph_requests = g1->requests - g0->requests;
	m->graph_throttled = g1->throttled - g0->throttled;
	m->ldap_adds = d1->adds - d0->adds;
	m->ldap_modifies = d1->modifies - d0->modifies;
	m->ldap_renames = d1->renames - d0->renames;
	m->ldap_deletes = d1->deletes - d0->deletes;
	m->delete_threshold_tripped = rc == GB_EGATE;
}

/* Folds the pass into the stored totals and writes the metrics file. A failure here is logged, never the pass's. */
static void write_metrics(pass_ctx *c, const gb_metrics_pass *m)
{
	gb_metrics_totals totals;
	gb_metrics_verify verify;
	gb_error err;
	char label[GB_METRICS_LABEL_MAX];
	int rc;

	gb_error_clear(&err);
	rc = gb_metrics_totals_load(c->st, &totals, &err);
	if (rc == GB_EPARSE) {
		gb_warn("metrics", "%s; counting again from zero", err.msg);
		memset(&totals, 0, sizeof(totals));
		rc = 0;
	}
	if (!rc) {
		gb_metrics_totals_add(&totals, m);
		rc = gb_metrics_totals_save(c->st, &totals, &err);
	}
	if (!rc && c->metrics_file) {
		if (gb_metrics_verify_read(c->st, &verify, &err) != 0) {
			gb_warn("metrics", "%s; the drift gauges are left out", err.msg);
			verify.present = false;
		}
		gb_metrics_config_label(c->cli->config_path, label, sizeof(label));
		rc = gb_metrics_write(c->metrics_file, label, m, &totals, &verify, &err);
	}
	if (rc)
		gb_warn("metrics", "%s", err.msg);
}

static void print_plan(const gb_provision_result *res, int json)
{
	char *text = NULL;
	gb_error perr;

	if ((json ? gb_plan_to_json(res->plan, &text, &perr) : gb_plan_to_text(res->plan, 10, &text, &perr)) == 0)
		fputs(text, stdout);
	if (json)
		fputc('\n', stdout);
	free(text);
}

/* One pass: a run of its own (unless a dry run), the directory opened when needed, the plan or the summary printed,
 * and (unless a dry run) the metrics. Returns the pass's code; *exit_code gets its exit code. */
static int one_pass(pass_ctx *c, int *exit_code)
{
	static const gb_directory_stats no_writes;
	gb_provision_result res;
	gb_graph_stats g0 = *gb_graph_get_stats(c->graph);
	gb_directory_stats d0 = no_writes;
	gb_metrics_pass m;
	gb_error err;
	char run_id[40] = "";
	int rc = 0;

	memset(&res, 0, sizeof(res));
	memset(&m, 0, sizeof(m));
	gb_error_clear(&err);
	m.start_ms = gb_metrics_now_ms();
	if (!c->po.dry_run)
		rc = gb_store_run_begin(c->st, c->po.allow_deletes ? "provision --allow-deletes" : "provision", run_id,
					sizeof(run_id), &err);
	c->po.run_id = run_id;
	if (!rc && !c->dir)
		rc = gb_directory_open_config(c->cli->cfg, &c->dir, &err);
	if (c->dir)
		d0 = *gb_directory_get_stats(c->dir);
	if (!rc)
		rc = gb_provisioner_run(c->cli->cfg, c->st, c->graph, c->dir, &c->po, &res, &err);
	if (res.plan && c->po.dry_run)
		print_plan(&res, c->json);
	if (res.plan && !c->json)
		print_summary(&res, run_id, c->po.dry_run);
	fflush(stdout);
	*exit_code = rc ? gb_cli_report("provision", &err) : GB_EXIT_OK;
	m.end_ms = gb_metrics_now_ms();
	m.exit_code = *exit_code;
	end_run(c->st, run_id, *exit_code, &res, rc, &err);
	if (!c->po.dry_run && run_id[0]) {
		fill_metrics(&m, &res, rc, &g0, gb_graph_get_stats(c->graph), &d0,
			     c->dir ? gb_directory_get_stats(c->dir) : &no_writes);
		write_metrics(c, &m);
	}
	gb_provision_result_clear(&res);
	/* After a failure the connection may be in any state: the next pass opens a new one. */
	if (rc && rc != GB_EPARTIAL && rc != GB_EGATE) {
		gb_directory_free(c->dir);
		c->dir = NULL;
	}
	return rc;
}

/* A failure that another pass cannot mend ends a watch: the configuration, a delete threshold trip (a person must
 * look at the plan), a damaged state database. */
static bool ends_watch(int rc)
{
	return rc == GB_ECONFIG || rc == GB_EINVAL || rc == GB_EGATE || rc == GB_ESTATE || rc == GB_ENOMEM;
}

/* Runs passes until a stop is requested: the interval after a pass that did not fail, a growing wait after
 * failed ones (gb_cli_watch_delay). Returns the exit code of the last pass. */
static int watch_loop(pass_ctx *c, long interval, long max_backoff)
{
	unsigned failures = 0;
	int exit_code = GB_EXIT_OK, rc;
	long wait;

	for (;;) {
		rc = one_pass(c, &exit_code);
		if (gb_stop_requested() || ends_watch(rc))
			break;
		failures = rc && rc != GB_EPARTIAL ? failures + 1 : 0;
		wait = gb_cli_watch_delay(interval, failures, max_backoff);
		if (failures)
			gb_warn("provision", "pass failed (%u in a row); next pass in %ld s (back-off, at most %ld s)", failures,
				wait, max_backoff > interval ? max_backoff : interval);
		else
			gb_info("provision", "next pass in %ld s (SIGTERM or Ctrl-C stops)", wait);
		if (gb_stop_sleep(wait * 1000L))
			break;
	}
	/* stopping between passes is the documented outcome of SIGTERM, whatever the pass before it did */
	if (gb_stop_requested() && !ends_watch(rc))
		exit_code = GB_EXIT_OK;
	return exit_code;
}

int gb_cmd_provision(gb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"dry-run", no_argument, NULL, 'n'},       {"json", no_argument, NULL, 'j'},
		{"allow-deletes", no_argument, NULL, 'D'}, {"full", no_argument, NULL, 'F'},
		{"watch", required_argument, NULL, 'w'},   {"max-backoff", required_argument, NULL, 'b'},
		{"metrics-file", required_argument, NULL, 'm'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	long watch = 0, max_backoff = GB_WATCH_MAX_BACKOFF;
	pass_ctx c;
	gb_error err;
	char holder[64], unused[8];
	int ch, exit_code = GB_EXIT_OK;
	bool backoff_given = false; /* the default's value given by hand still needs --watch */

	if (argc > 1 && strcmp(argv[1], "on-demand") == 0)
		return on_demand(cli, argc - 1, argv + 1);
	memset(&c, 0, sizeof(c));
	c.cli = cli;
	gb_error_clear(&err);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': c.po.dry_run = true; break;
		case 'j': c.json = 1; break;
		case 'D': c.po.allow_deletes = true; break;
		case 'F': c.po.full = true; break;
		case 'w':
			if (gb_parse_long(optarg, 1, 86400, &watch))
				return gb_cli_usage_error("provision", "--watch takes seconds from 1 to 86400, not \"%s\"",
							  optarg);
			break;
		case 'b':
			if (gb_parse_long(optarg, 1, 86400, &max_backoff))
				return gb_cli_usage_error("provision", "--max-backoff takes seconds from 1 to 86400, not \"%s\"",
							  optarg);
			backoff_given = true;
			break;
		case 'm': c.metrics_file = optarg; break;
		case 'h': help(); return GB_EXIT_OK;
		default: return gb_cli_usage_error("provision", "unknown option %s", argv[optind - 1]);
		}
	}
	if (watch && c.po.dry_run)
		return gb_cli_usage_error("provision", "--watch applies changes; it does not go with --dry-run");
	if (!watch && backoff_given)
		return gb_cli_usage_error("provision", "--max-backoff goes with --watch (it bounds the wait between "
		                                       "watched passes)");
	if (optind < argc)
		return gb_cli_usage_error("provision", "unexpected argument \"%s\"", argv[optind]);

	gb_stop_install();
	snprintf(holder, sizeof(holder), "provision%s (pid %ld)", watch ? " --watch" : c.po.dry_run ? " --dry-run" : "",
		 (long)getpid());
	if (open_all(cli, holder, NULL, false, unused, sizeof(unused), &c.st, &c.graph, NULL, &err) != 0)
		exit_code = gb_cli_report("provision", &err);
	else {
		if (!c.metrics_file)
			c.metrics_file = cli->cfg->provisioning.metrics_file;
		if (watch)
			exit_code = watch_loop(&c, watch, max_backoff);
		else
			one_pass(&c, &exit_code);
	}
	if (gb_stop_requested() && exit_code == GB_EXIT_OK)
		gb_info("provision", "stopped on request");
	gb_directory_free(c.dir);
	gb_graph_free(c.graph);
	gb_store_free(c.st);
	return exit_code;
}
