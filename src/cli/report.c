/* report.c: `groupbridge report KIND`. */
#include "groupbridge/report.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "groupbridge/store.h"

#include "cli/cli.h"

/* A kind's builder fills a report from the state database (generated NULL: the current time); the run report's also
 * takes the run (NULL: the latest). Neither is set while no module records that kind's data. */
typedef int (*builder_fn)(gb_store *st, const char *generated, gb_report **out, gb_error *err);
typedef int (*run_builder_fn)(gb_store *st, const char *run, const char *generated, gb_report **out, gb_error *err);

static const struct {
	const char *name;
	builder_fn build;
	run_builder_fn build_run;
	const char *data; /* what the kind is made of, for help and for the "no data" message */
} kinds[] = {
    {"assessment", gb_report_build_assessment, NULL,
     "the migration's inventory: groups by class, dropped members and why, blockers"},
    {"plan", gb_report_build_plan, NULL,
     "the changes the newest provisioning plan makes (provision --dry-run stores it)"},
    {"run", NULL, gb_report_build_run,
     "what a run changed, with its outcome per object (the run history and the audit log)"},
    {"verification", gb_report_build_verification, NULL,
     "expected versus actual membership of the handed-over groups, drift"},
    {"status", gb_report_build_status, NULL, "the migration's steps and where it stands"},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static void help(void)
{
	size_t i;

	puts("usage: groupbridge [--state FILE] report KIND [--format html|md|json|csv] [--output FILE] [--run ID]\n"
	     "\n"
	     "Writes a report from the state database (read-only: a report can be made while a run works).\n"
	     "\n"
	     "Kinds:");
	for (i = 0; i < NKINDS; i++)
		printf("  %-13s %s\n", kinds[i].name, kinds[i].data);
	puts("\n"
	     "Options:\n"
	     "  --format F    html: one self-contained page (no external files; prints well; sortable tables;\n"
	     "                charts); md: Markdown for a terminal or a ticket; json: for programs (schema_version 1,\n"
	     "                described in include/groupbridge/report.h); csv: for spreadsheets (formula-like cells\n"
	     "                are neutralised). Default: from the --output name's extension, else md.\n"
	     "  --output FILE write to FILE (created with mode 0600, replaced atomically) instead of standard output\n"
	     "  --run ID      for the run report: the run (its id, or the start of it); default the latest run\n"
	     "\n"
	     "Examples:\n"
	     "  groupbridge --config contoso.ini report run\n"
	     "  groupbridge --config contoso.ini report run --output last-run.html\n"
	     "  groupbridge --config contoso.ini report run --run 3f2a --format json\n"
	     "\n"
	     "Exit codes: 0 written, 1 no such data in this state database (or a failure), 2 usage error.");
}

int gb_cmd_report(gb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
	                                     {"output", required_argument, NULL, 'o'},
	                                     {"run", required_argument, NULL, 'r'},
	                                     {NULL, 0, NULL, 0}};
	const char *format = NULL, *output = NULL, *run = NULL, *kind;
	gb_report_format fmt = GB_REPORT_MD;
	gb_report *rep = NULL;
	gb_store *st = NULL;
	gb_error err;
	size_t k;
	int c, rc;

	if (gb_cli_wants_help(argc, argv)) {
		help();
		return GB_EXIT_OK;
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:o:r:", opts, NULL)) != -1) {
		switch (c) {
		case 'f': format = optarg; break;
		case 'o': output = optarg; break;
		case 'r': run = optarg; break;
		default: return gb_cli_usage_error("report", "unknown or incomplete option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return gb_cli_usage_error("report", "missing KIND (assessment, plan, run, verification or status)");
	if (optind + 1 < argc)
		return gb_cli_usage_error("report", "unexpected argument \"%s\"", argv[optind + 1]);
	kind = argv[optind];
	for (k = 0; k < NKINDS && strcmp(kinds[k].name, kind) != 0; k++)
		;
	if (k == NKINDS)
		return gb_cli_usage_error("report",
		                          "unknown kind \"%s\" (assessment, plan, run, verification or status)", kind);
	gb_error_clear(&err);
	if (format && gb_report_format_parse(format, &fmt, &err))
		return gb_cli_usage_error("report", "%s", err.msg);
	if (!format && output && strcmp(output, "-") != 0 && gb_report_format_from_path(output, &fmt, &err))
		return gb_cli_usage_error("report", "%s", err.msg);
	if (run && !kinds[k].build_run)
		return gb_cli_usage_error("report", "--run applies to the run report only");

	rc = gb_store_open_readonly(gb_cli_state_path(cli), &st, &err);
	if (!rc && !kinds[k].build && !kinds[k].build_run)
		rc =
		    gb_error_set(&err, GB_ENOTFOUND,
		                 "there is no %s data yet in state database %s (that report shows %s; this groupbridge "
		                 "does not record that data yet)",
		                 kind, gb_cli_state_path(cli), kinds[k].data);
	if (!rc)
		rc = kinds[k].build_run ? kinds[k].build_run(st, run, NULL, &rep, &err)
		                        : kinds[k].build(st, NULL, &rep, &err);
	if (!rc)
		rc = gb_report_write(rep, fmt, output, &err);
	gb_report_free(rep);
	gb_store_free(st);
	if (rc)
		return gb_cli_report("report", &err);
	if (output && strcmp(output, "-") != 0)
		fprintf(stderr, "groupbridge: report: wrote the %s report to %s (%s)\n", kind, output,
		        gb_report_format_name(fmt));
	return GB_EXIT_OK;
}
