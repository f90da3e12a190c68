/*
 * cli.h: what the command files share (private to the program): the global options, lazy loading of the
 * configuration, and the way errors become messages and exit codes.
 *
 * Each command is `int gb_cmd_<name>(gb_cli *cli, int argc, char **argv)`, where argv[0] is the command's name; it
 * returns the process exit code (0 success, 1 failure, 2 usage or configuration, 3 partial, 4 safety gate).
 */
#ifndef GROUPBRIDGE_CLI_H
#define GROUPBRIDGE_CLI_H

#include <limits.h>
#include <stdbool.h>

#include "groupbridge/config.h"
#include "groupbridge/error.h"

#include "groupbridge/version.h"

#define GB_EXIT_OK 0
#define GB_EXIT_FAIL 1
#define GB_EXIT_USAGE 2
#define GB_EXIT_PARTIAL 3
#define GB_EXIT_GATE 4

typedef struct gb_cli {
	const char *config_path;   /* --config, $GROUPBRIDGE_CONFIG, or "groupbridge.ini" */
	const char *state_path;    /* --state, or derived from the configuration path */
	char state_buf[PATH_MAX];
	gb_config *cfg;            /* loaded on first use by gb_cli_config */
} gb_cli;

/* Loads the configuration once; later calls return the same. GB_ECONFIG etc. with the message in err. */
int gb_cli_config(gb_cli *cli, gb_error *err);

/* The state database path: --state, or the configuration path with ".ini" replaced by ".state.db". */
const char *gb_cli_state_path(gb_cli *cli);

/* Prints "groupbridge: <command>: <message>" and returns the exit code for err's code. */
int gb_cli_report(const char *command, const gb_error *err);

/* Prints a usage error with a pointer to --help and returns GB_EXIT_USAGE. */
int gb_cli_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* provision --watch: the wait before the next pass, in seconds. interval after a pass that did not fail; after the
 * n-th failed pass in a row, interval * 2^n, at most max_backoff (which is raised to interval when below it). */
#define GB_WATCH_MAX_BACKOFF 3600
long gb_cli_watch_delay(long interval, unsigned failures, long max_backoff);

/* True when argv holds -h or --help. */
bool gb_cli_wants_help(int argc, char **argv);

int gb_cmd_audit(gb_cli *cli, int argc, char **argv);
int gb_cmd_config(gb_cli *cli, int argc, char **argv);
int gb_cmd_import(gb_cli *cli, int argc, char **argv);
int gb_cmd_migrate(gb_cli *cli, int argc, char **argv);
int gb_cmd_provision(gb_cli *cli, int argc, char **argv);
int gb_cmd_report(gb_cli *cli, int argc, char **argv);
int gb_cmd_status(gb_cli *cli, int argc, char **argv);
int gb_cmd_version(gb_cli *cli, int argc, char **argv);

#endif
