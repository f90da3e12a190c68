/* step_prereq.c: Microsoft's prerequisites that the imported Connect Sync export shows, checked before the steps that
 * depend on them (review D6, D15).
 *
 * - Connect Sync 2.2.8.0 or later syncs the AD user's objectGUID to onPremisesObjectIdentifier, and provisioning to AD
 *   writes a synced member only when that attribute names its objectGUID (PREREQ-2026: "Required to synchronize
 *   AD DS:user:objectGUID to AAD DS:user:onPremisesObjectIdentifier"). Older servers leave every synced member out of
 *   the provisioned groups, and the inventory would count them all as dropped: checked before `inventory`.
 * - Connect Sync 2.5.76.0 or later is needed to convert a group's source of authority (SOA-CFG, "Sync client"):
 *   checked before `convert-soa` when the configuration lists groups to convert.
 *
 * The version is the export's Microsoft.Synchronize.ServerConfigurationVersion (MV.xml), which the importer keeps
 * as "version". An export that does not state it cannot be checked: that is said, not refused (the runbook's
 * preflight asks for the version read on every server).
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/connect_sync.h"
#include "groupbridge/util.h"

#include "steps_int.h"

#define GB_CS_MIN_OBJECT_IDENTIFIER "2.2.8.0" /* objectGUID -> onPremisesObjectIdentifier (PREREQ-2026) */
#define GB_CS_MIN_SOA "2.5.76.0"              /* group source-of-authority conversion (SOA-CFG) */

/* Up to four dot-separated decimal parts, each below 2^31; nothing else, not even spaces. */
static int parse_version(const char *s, long part[4])
{
	int n = 0;

	memset(part, 0, 4 * sizeof(long));
	if (!s || !*s)
		return -1;
	for (;;) {
		char *end;
		if (n == 4 || !isdigit((unsigned char)*s))
			return -1;
		errno = 0;
		part[n] = strtol(s, &end, 10);
		if (errno || part[n] > 0x7fffffffL || end - s > 10)
			return -1;
		n++;
		if (!*end)
			return 0;
		if (*end != '.')
			return -1;
		s = end + 1;
	}
}

int gb_step_version_compare(const char *a, const char *b, int *cmp, gb_error *err)
{
	long x[4], y[4];
	int i;

	*cmp = 0;
	if (parse_version(a, x))
		return gb_error_set(err, GB_EINVAL, "\"%s\" is not a version of up to four numbers (such as 2.2.8.0)",
		                    a ? a : "");
	if (parse_version(b, y))
		return gb_error_set(err, GB_EINVAL, "\"%s\" is not a version of up to four numbers (such as 2.2.8.0)",
		                    b ? b : "");
	for (i = 0; i < 4 && !*cmp; i++)
		*cmp = x[i] < y[i] ? -1 : x[i] > y[i];
	return 0;
}

/* The current import's Connect Sync version (NULL when the export does not state it) and server. */
static int export_version(gb_migrate_ctx *c, char **version, char **server, gb_error *err)
{
	json_t *root;
	const char *v, *s;
	int rc;

	*version = *server = NULL;
	rc = gb_step_current_import(c, &root, NULL, err);
	if (rc)
		return rc;
	v = json_string_value(json_object_get(root, "version"));
	s = json_string_value(json_object_get(root, "server"));
	if (v && *v && !(*version = gb_strdup(v)))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	if (!rc && s && *s && !(*server = gb_strdup(s)))
		rc = gb_error_set(err, GB_ENOMEM, "out of memory");
	json_decref(root);
	if (rc) {
		free(*version);
		*version = NULL;
	}
	return rc;
}

int gb_step_prereq_check(gb_migrate_ctx *c, const char *step, gb_error *err)
{
	const char *min = NULL, *why = NULL;
	char *version = NULL, *server = NULL;
	int rc, cmp = 0;
	gb_error e;

	if (strcmp(step, "inventory") == 0) {
		min = GB_CS_MIN_OBJECT_IDENTIFIER;
		why = "which syncs each user's objectGUID to onPremisesObjectIdentifier: without it provisioning to AD "
		      "writes no synced member (Microsoft, provisioning to AD prerequisites)";
	} else if (strcmp(step, "convert-soa") == 0 &&
	           ((c->cfg->migration.convert_groups && *c->cfg->migration.convert_groups) ||
	            (c->cfg->migration.convert_groups_file && *c->cfg->migration.convert_groups_file))) {
		min = GB_CS_MIN_SOA;
		why = "which Microsoft requires to convert a group's source of authority (Configure Group SOA)";
	}
	if (!min)
		return 0;
	rc = export_version(c, &version, &server, err);
	if (rc == GB_ENOTFOUND)
		rc = gb_error_set(err, GB_ECONFIG,
		                  "precondition of step %s: no Connect Sync export is imported; run the "
		                  "import step first",
		                  step);
	if (rc)
		return rc;
	gb_error_clear(&e);
	if (!version || gb_step_version_compare(version, min, &cmp, &e) != 0) {
		fprintf(c->out,
		        "precondition of step %s: the Connect Sync export%s%s does not state a version groupbridge can "
		        "read (%s); check by hand that every Connect Sync server runs %s or later "
		        "(runbooks/preflight.md)\n",
		        step, server ? " of " : "", server ? server : "",
		        version ? e.msg : "no ServerConfigurationVersion", min);
	} else if (cmp < 0) {
		rc = gb_error_set(err, GB_ECONFIG,
		                  "precondition of step %s: the Connect Sync export%s%s is version %s; "
		                  "%s or later is needed, %s. Upgrade Connect Sync, export its "
		                  "configuration again, import it (groupbridge import connect-sync DIR) "
		                  "and run again",
		                  step, server ? " of " : "", server ? server : "", version, min, why);
	}
	free(version);
	free(server);
	return rc;
}
