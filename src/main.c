/* main.c: global options and dispatch to the commands; nothing else lives here. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "groupbridge/log.h"

typedef int (*command_fn)(gb_cli *, int, char **);

static const struct {
	const char *name;
	command_fn fn;
	const char *summary;
} commands[] = {
	{"audit", gb_cmd_audit, "verify the audit log's hash chain, export it, or add an operator's note"},
	{"config", gb_cmd_config, "check the configuration file and probe the directory and the tenant"},
	{"import", gb_cmd_import, "read the Connect Sync configuration export and say what group writeback does"},
	{"migrate", gb_cmd_migrate, "move group writeback v2 to cloud provisioning, step by step (status, plan, run, confirm)"},
	{"provision", gb_cmd_provision, "provision cloud security groups to AD with Cloud Sync's rules (--dry-run shows the plan)"},
	{"report", gb_cmd_report, "write a report (run, ...) as HTML, Markdown, JSON or CSV"},
	{"status", gb_cmd_status, "the last provisioning pass, its outcome and its age (--max-age: exit 1 when too old)"},
	{"version", gb_cmd_version, "print the version of groupbridge and of its libraries"},
};

static void usage(FILE *f)
{
	size_t i;

	fputs("usage: groupbridge [--config FILE] [--state FILE] [-v | -q] [--log-format text|json] COMMAND [ARGS]\n"
	      "\n"
	      "groupbridge moves Entra Connect Sync group writeback v2 to cloud-authoritative group provisioning to\n"
	      "Active Directory, step by step, and then keeps cloud security groups provisioned to AD.\n"
	      "\n"
	      "Commands:\n", f);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\n"
	      "Every command has its own help: groupbridge COMMAND --help.\n"
	      "\n"
	      "Options:\n"
	      "  -c, --config FILE     the forest's configuration (default: $GROUPBRIDGE_CONFIG, else groupbridge.ini)\n"
	      "  -s, --state FILE      the state database (default: the configuration's name with .state.db)\n"
	      "  -v, --verbose         say more: every request and directory operation (secrets are never logged)\n"
	      "  -q, --quiet           say only errors\n"
	      "      --log-format F    text (default) or json, one object per line on standard error\n"
	      "      --version         print the version (as the version command)\n"
	      "  -h, --help            this help\n"
	      "\n"
	      "Exit codes, for scripts:\n"
	      "  0  success\n"
	      "  1  failure\n"
	      "  2  usage or configuration error\n"
	      "  3  partial: some objects failed, the rest were done (see the run report)\n"
	      "  4  stopped by a safety gate: a confirmation or a threshold override is needed\n"
	      "\n"
	      "Start with: groupbridge --config contoso.ini config check\n", f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'}, {"state", required_argument, NULL, 's'},
		{"verbose", no_argument, NULL, 'v'},      {"quiet", no_argument, NULL, 'q'},
		{"log-format", required_argument, NULL, 'L'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0},
	};
	gb_cli cli;
	gb_log_level level = GB_LOG_INFO;
	int json = 0, c, rc;
	size_t i;

	memset(&cli, 0, sizeof(cli));
	cli.config_path = getenv("GROUPBRIDGE_CONFIG");
	if (!cli.config_path || !*cli.config_path)
		cli.config_path = "groupbridge.ini";
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+c:s:vqh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cli.config_path = optarg; break;
		case 's': cli.state_path = optarg; break;
		case 'v': level = GB_LOG_DEBUG; break;
		case 'q': level = GB_LOG_QUIET; break;
		case 'L':
			if (strcmp(optarg, "json") == 0)
				json = 1;
			else if (strcmp(optarg, "text") != 0) {
				fprintf(stderr, "groupbridge: --log-format takes text or json, not \"%s\"\n", optarg);
				return GB_EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return GB_EXIT_OK;
		case 'V': return gb_cmd_version(&cli, 1, (char *[]){"version", NULL});
		default:
			fprintf(stderr, "groupbridge: unknown or incomplete option %s\n\n", argv[optind - 1]);
			usage(stderr);
			return GB_EXIT_USAGE;
		}
	}
	gb_log_setup(level, json, NULL);
	if (optind >= argc) {
		usage(stderr);
		return GB_EXIT_USAGE;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			int cargc = argc - optind;
			char **cargv = argv + optind;

			optind = 0; /* glibc: reinitialise getopt for the command, which sees its name as argv[0] */
			rc = commands[i].fn(&cli, cargc, cargv);
			gb_config_free(cli.cfg);
			gb_log_clear_secrets();
			return rc;
		}
	}
	fprintf(stderr, "groupbridge: unknown command \"%s\"; see groupbridge --help\n", argv[optind]);
	return GB_EXIT_USAGE;
}
