/* config.c: `groupbridge config check`: validate the file, then probe what it points at. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/probe.h"
#include "groupbridge/directory.h"
#include "groupbridge/mapping.h"
#include "groupbridge/util.h"

#define MAX_CONTAINERS 64

static int ldap_failed; /* the ldap probe failed: the directory checks that need a bind are not run */

static void help(void)
{
	puts("usage: groupbridge [--config FILE] config check [--offline]\n"
	     "\n"
	     "Validates the configuration file, then probes what it points at and prints one line per check:\n"
	     "  config    the file's sections and keys (unknown keys, missing keys and bad values name FILE:LINE)\n"
	     "  secrets   the secret files are private (mode 0600) and readable, or the variables are set\n"
	     "  ldap      a TLS connection and a bind to [directory] uri as bind_dn (or as principal with kerberos)\n"
	     "  schema    the forest's schema has " GB_DIRECTORY_ANCHOR_ATTR " (Windows Server 2016 schema)\n"
	     "  gc        with gc_uri set, it is a Global Catalog that answers\n"
	     "  writable  the DC is not a read-only DC (an RODC refers every write elsewhere)\n"
	     "  containers  target_container (when a constant) and allowed_containers lie in base_dn and exist\n"
	     "  rights    the bind account may create groups in each container and write every attribute a run writes\n"
	     "            on a group there, as AD computes it (allowedChildClassesEffective, allowedAttributesEffective)\n"
	     "  soa       with AD group enforcement configured, its allow-list names the bind account\n"
	     "  graph     an access token can be had from the tenant with the configured credential\n"
	     "\n"
	     "  --offline   check the file and the secrets only, contact nothing\n"
	     "\n"
	     "Exit code 0 when every check passes, 2 when the file itself is wrong, 1 when a probe fails.\n"
	     "Secrets are never printed: a check names the file or variable a secret came from, never its value.");
}

static void line(const char *check, int ok, const char *detail)
{
	printf("%-8s %s  %s\n", check, ok ? "pass" : "FAIL", detail);
	if (!ok && strcmp(check, "ldap") == 0)
		ldap_failed = 1;
}

static void check_line(void *ctx, const char *check, int ok, const char *detail)
{
	(void)ctx;
	line(check, ok, detail);
}

/* The containers groupbridge writes in: the constant target container and every allowed_containers entry (copies in
 * buf, pointers in list, NULL-terminated). */
static void containers_of(const gb_config *cfg, char *buf, size_t n, const char **list, size_t max)
{
	gb_mappings *m = NULL;
	gb_error err;
	size_t k = 0, used = 0;
	const char *c;

	list[0] = NULL;
	if (!cfg->provisioning.present)
		return;
	if (gb_mappings_new(&cfg->provisioning, &m, &err) == 0 && (c = gb_mappings_constant_container(m)) != NULL) {
		used = (size_t)snprintf(buf, n, "%s", c) + 1;
		if (used <= n)
			list[k++] = buf;
	}
	gb_mappings_free(m);
	for (c = cfg->provisioning.allowed_containers; c && *c && k + 1 < max && used < n;) {
		size_t len = strcspn(c, ";");
		char *dst = buf + used;

		while (len && (*c == ' ' || *c == '\t'))
			c++, len--;
		if (len && used + len + 1 <= n) {
			memcpy(dst, c, len);
			while (len && dst[len - 1] == ' ')
				len--;
			dst[len] = '\0';
			if (len && !(k == 1 && gb_str_iequal(list[0], dst)))
				list[k++] = dst;
			used += len + 1;
		}
		c += strcspn(c, ";");
		if (*c == ';')
			c++;
	}
	list[k] = NULL;
}

/* The "secrets" line of one secret: the error, or where it was read from (detail); 1 when it failed. */
static int secret_line(int rc, const gb_error *err, const char *detail)
{
	line("secrets", rc == 0, rc ? err->msg : detail);
	return rc != 0;
}

/* "WHAT from file PATH", or "WHAT from variable NAME" when no file is configured */
static void secret_source(char *out, size_t n, const char *what, const char *file, const char *env)
{
	snprintf(out, n, "%s from %s %s", what, file ? "file" : "variable", file ? file : env);
}

static int check(gb_cli *cli, int offline)
{
	gb_error err;
	char *secret = NULL, detail[GB_ERROR_MSG_MAX + 64];
	int failed = 0, rc;

	gb_error_clear(&err);
	rc = gb_cli_config(cli, &err);
	if (rc) {
		line("config", 0, err.msg);
		return gb_error_exit_code(rc) == GB_EXIT_FAIL ? GB_EXIT_USAGE : gb_error_exit_code(rc);
	}
	snprintf(detail, sizeof(detail), "%s is valid (%s%s%s%s)", cli->config_path,
		 cli->cfg->graph.present ? "[graph] " : "", cli->cfg->directory.present ? "[directory] " : "",
		 cli->cfg->provisioning.present ? "[provisioning] " : "", cli->cfg->migration.present ? "[migration]" : "");
	line("config", 1, detail);

	if (cli->cfg->directory.present && cli->cfg->directory.keytab) {
		rc = gb_config_keytab(cli->cfg, &secret, &err); /* bind_method = gssapi: the keytab's path and mode */
		snprintf(detail, sizeof(detail), "keytab %s for %s", secret ? secret : "", cli->cfg->directory.principal);
		free(secret);
		secret = NULL;
		failed |= secret_line(rc, &err, detail);
	} else if (cli->cfg->directory.present) {
		rc = gb_config_bind_password(cli->cfg, &secret, &err);
		gb_secret_free(secret);
		secret = NULL;
		secret_source(detail, sizeof(detail), "bind password", cli->cfg->directory.bind_password_file,
			      cli->cfg->directory.bind_password_env);
		failed |= secret_line(rc, &err, detail);
	}
	if (cli->cfg->graph.present) {
		if (cli->cfg->graph.certificate_file) {
			rc = gb_secret_read_file(cli->cfg->graph.private_key_file, &secret, &err);
			snprintf(detail, sizeof(detail), "private key file %s", cli->cfg->graph.private_key_file);
		} else {
			rc = gb_config_graph_secret(cli->cfg, &secret, &err);
			secret_source(detail, sizeof(detail), "client secret", cli->cfg->graph.client_secret_file,
				      cli->cfg->graph.client_secret_env);
		}
		gb_secret_free(secret);
		secret = NULL;
		failed |= secret_line(rc, &err, detail);
	}
	if (offline || failed)
		return failed ? GB_EXIT_FAIL : GB_EXIT_OK;
	ldap_failed = 0;
	failed = gb_probe_all(cli->cfg, line);
	if (cli->cfg->directory.present && !ldap_failed) {
		char buf[8192];
		const char *list[MAX_CONTAINERS];

		containers_of(cli->cfg, buf, sizeof buf, list, MAX_CONTAINERS);
		failed += gb_directory_preflight(cli->cfg, list, check_line, NULL);
	}
	return failed ? GB_EXIT_FAIL : GB_EXIT_OK;
}

int gb_cmd_config(gb_cli *cli, int argc, char **argv)
{
	int i, offline = 0;

	if (gb_cli_wants_help(argc, argv)) {
		help();
		return GB_EXIT_OK;
	}
	if (argc < 2)
		return gb_cli_usage_error("config", "missing subcommand (check)");
	if (strcmp(argv[1], "check") != 0)
		return gb_cli_usage_error("config", "unknown subcommand \"%s\"", argv[1]);
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--offline") == 0)
			offline = 1;
		else
			return gb_cli_usage_error("config", "unknown argument \"%s\"", argv[i]);
	}
	return check(cli, offline);
}
