/* audit.c: `groupbridge audit verify|export|note`. */
#include "groupbridge/audit.h"

#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "groupbridge/report.h"
#include "groupbridge/store.h"

#include "cli/cli.h"

static void help(void)
{
	puts(
	    "usage: groupbridge [--state FILE] audit verify [--expect-head HASH]\n"
	    "       groupbridge [--state FILE] audit export [--format jsonl|csv] [--run ID] [--output FILE]\n"
	    "       groupbridge [--state FILE] audit note TEXT\n"
	    "\n"
	    "Every change groupbridge makes to Active Directory or to Microsoft Graph is appended to the audit log in\n"
	    "the state database: time, run id, step or command, operation, target, value before, value after,\n"
	    "outcome (ok, failed or skipped) and message. Secrets are never recorded. Each record is chained to the one before it with SHA-256, so an\n"
	    "edited, deleted or moved record breaks the chain.\n"
	    "\n"
	    "  verify    check the whole chain and its head. Prints \"intact: N records, head seq N hash H\" and exits "
	    "0,\n"
	    "            or names the first damaged record and exits 1, for example:\n"
	    "              record 17 (seq 17, 2026-11-24T08:31:54.123Z): hash mismatch: edited\n"
	    "              sequence gap after 16: record 17 deleted\n"
	    "              records 5 and 6 out of order (...): moved\n"
	    "            --expect-head HASH   also require that the log still holds the record with this hash (a head\n"
	    "                                 you copied into a change ticket earlier). The chain alone cannot catch\n"
	    "                                 someone who rewrites the database and recomputes every hash; an outside\n"
	    "                                 copy of the head can.\n"
	    "  export    write the log (or one run's records with --run ID) as JSON lines (default) or CSV, to\n"
	    "            standard output or to --output FILE (created with mode 0600).\n"
	    "  note      append an operator's note (such as a change number or an approval) to the log, signed with\n"
	    "            the login name, as its own run.\n"
	    "\n"
	    "Examples:\n"
	    "  groupbridge --config contoso.ini audit verify\n"
	    "  groupbridge --config contoso.ini audit export --format csv --output audit.csv\n"
	    "  groupbridge --config contoso.ini audit note \"CHG0042 approved by the change board\"\n"
	    "\n"
	    "Exit codes: 0 intact or done, 1 damaged log or failure, 2 usage error.");
}

static int open_ro(gb_cli *cli, gb_store **st, gb_error *err)
{
	return gb_store_open_readonly(gb_cli_state_path(cli), st, err);
}

static int verify(gb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"expect-head", required_argument, NULL, 'e'}, {NULL, 0, NULL, 0}};
	const char *expect = NULL;
	gb_audit_verdict v;
	gb_store *st = NULL;
	gb_error err;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'e')
			expect = optarg;
		else
			return gb_cli_usage_error("audit", "verify: unknown or incomplete option %s", argv[optind - 1]);
	}
	if (optind < argc)
		return gb_cli_usage_error("audit", "verify: unexpected argument \"%s\"", argv[optind]);
	gb_error_clear(&err);
	rc = open_ro(cli, &st, &err);
	if (!rc)
		rc = gb_audit_verify(st, expect, &v, &err);
	gb_store_free(st);
	if (rc)
		return gb_cli_report("audit verify", &err);
	if (v.problem == GB_AUDIT_INTACT) {
		printf("audit log of %s: %s\n", gb_cli_state_path(cli), v.message);
		return GB_EXIT_OK;
	}
	printf("audit log of %s: DAMAGED: %s\n", gb_cli_state_path(cli), v.message);
	return GB_EXIT_FAIL;
}

static int export(gb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
	                                     {"run", required_argument, NULL, 'r'},
	                                     {"output", required_argument, NULL, 'o'},
	                                     {NULL, 0, NULL, 0}};
	const char *format = NULL, *run = NULL, *output = NULL;
	gb_report_file *f = NULL;
	gb_store *st = NULL;
	gb_error err;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:r:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'f': format = optarg; break;
		case 'r': run = optarg; break;
		case 'o': output = optarg; break;
		default:
			return gb_cli_usage_error("audit", "export: unknown or incomplete option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return gb_cli_usage_error("audit", "export: unexpected argument \"%s\"", argv[optind]);
	if (!format) {
		size_t n = output ? strlen(output) : 0;
		format = n > 4 && strcmp(output + n - 4, ".csv") == 0 ? "csv" : "jsonl";
	}
	if (strcmp(format, "jsonl") != 0 && strcmp(format, "csv") != 0)
		return gb_cli_usage_error("audit", "export: --format takes jsonl or csv, not \"%s\"", format);
	gb_error_clear(&err);
	rc = open_ro(cli, &st, &err);
	if (!rc)
		rc = gb_report_file_open(output, &f, &err);
	if (!rc) {
		rc = gb_report_audit_export(st, run, format, gb_report_file_stream(f), &err);
		if (rc)
			gb_report_file_abort(f);
		else
			rc = gb_report_file_commit(f, &err);
	}
	gb_store_free(st);
	if (rc)
		return gb_cli_report("audit export", &err);
	if (output && strcmp(output, "-") != 0)
		fprintf(stderr, "groupbridge: audit export: wrote %s\n", output);
	return GB_EXIT_OK;
}

static int note(gb_cli *cli, int argc, char **argv)
{
	char run[40], holder[64], summary[64];
	const struct passwd *pw;
	gb_audit_entry e;
	gb_store *st = NULL;
	int64_t seq = 0;
	gb_error err;
	int rc;

	if (argc != 2 || !*argv[1])
		return gb_cli_usage_error("audit", "note takes one argument: the text of the note");
	gb_error_clear(&err);
	snprintf(holder, sizeof(holder), "audit note (pid %ld)", (long)getpid());
	rc = gb_store_open(gb_cli_state_path(cli), holder, &st, &err);
	if (!rc)
		rc = gb_store_run_begin(st, "audit note", run, sizeof(run), &err);
	if (!rc) {
		pw = getpwuid(getuid());
		memset(&e, 0, sizeof(e));
		e.run_id = run;
		e.step = "audit note";
		e.operation = "note";
		e.target = pw && pw->pw_name ? pw->pw_name : "unknown user";
		e.after = argv[1];
		e.outcome = GB_OUTCOME_OK;
		rc = gb_audit_append(st, &e, &seq, &err);
		snprintf(summary, sizeof(summary), rc ? "note not recorded" : "note recorded as audit record %lld",
		         (long long)seq);
		if (gb_store_run_end(st, run, rc ? GB_EXIT_FAIL : GB_EXIT_OK, summary, rc ? NULL : &err) && !rc)
			rc = err.code;
	}
	gb_store_free(st);
	if (rc)
		return gb_cli_report("audit note", &err);
	printf("recorded the note as audit record %lld (run %s)\n", (long long)seq, run);
	return GB_EXIT_OK;
}

int gb_cmd_audit(gb_cli *cli, int argc, char **argv)
{
	if (gb_cli_wants_help(argc, argv)) {
		help();
		return GB_EXIT_OK;
	}
	if (argc < 2)
		return gb_cli_usage_error("audit", "missing subcommand (verify, export or note)");
	if (strcmp(argv[1], "verify") == 0)
		return verify(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "export") == 0)
		return export(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "note") == 0)
		return note(cli, argc - 1, argv + 1);
	return gb_cli_usage_error("audit", "unknown subcommand \"%s\" (verify, export or note)", argv[1]);
}
