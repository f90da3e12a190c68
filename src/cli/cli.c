/* cli.c: shared plumbing of the command files. */
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "groupbridge/log.h"

int gb_cli_config(gb_cli *cli, gb_error *err)
{
	if (cli->cfg)
		return 0;
	return gb_config_load(cli->config_path, &cli->cfg, err);
}

const char *gb_cli_state_path(gb_cli *cli)
{
	size_t n;

	if (cli->state_path)
		return cli->state_path;
	n = strlen(cli->config_path);
	if (n > 4 && strcmp(cli->config_path + n - 4, ".ini") == 0)
		snprintf(cli->state_buf, sizeof(cli->state_buf), "%.*s.state.db", (int)(n - 4), cli->config_path);
	else
		snprintf(cli->state_buf, sizeof(cli->state_buf), "%s.state.db", cli->config_path);
	cli->state_path = cli->state_buf;
	return cli->state_path;
}

int gb_cli_report(const char *command, const gb_error *err)
{
	char line[GB_ERROR_MSG_MAX];

	gb_log_redact(err->msg[0] ? err->msg : gb_error_name(err->code), line, sizeof(line));
	fprintf(stderr, "groupbridge: %s: %s\n", command, line);
	return gb_error_exit_code(err->code);
}

int gb_cli_usage_error(const char *command, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "groupbridge: %s: ", command);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'groupbridge %s --help'.\n", command);
	return GB_EXIT_USAGE;
}

bool gb_cli_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}
