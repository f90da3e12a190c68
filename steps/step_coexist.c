/* step_coexist.c: step 4, connect-sync-coexistence, carried out by the operator on the Connect Sync server.
 *
 * groupbridge fills runbooks/templates/connect-sync-coexistence.ps1.in (the inbound cloudNoFlow rule and the
 * outbound JoinNoFlow rule with Microsoft's identifiers, the scheduler off, a full sync, a fresh export) and waits.
 * `migrate confirm connect-sync-coexistence --export DIR` imports the fresh export and verifies that both rules exist,
 * are enabled, and that staging mode is on; only then is the step done. A confirmation without an export is
 * recorded as attested by the operator, not verified, and says so wherever the step's state is shown.
 *
 * The rollback is the operator's too: connect-sync-coexistence-rollback.ps1.in removes both rules (only while group
 * writeback v2 is still on), and `migrate confirm connect-sync-coexistence --export DIR` checks that neither is left.
 */
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/buf.h"
#include "groupbridge/connect_sync.h"
#include "groupbridge/util.h"
#include "groupbridge/version.h"
#include "steps_int.h"

#define COEX_IN "e4eae1c9-b9bc-4328-ade9-df871cdd3027"
#define COEX_OUT "419fda18-75bb-4e23-b947-8b06e7246551"

int gb_step_fill_template(const char *name, const char *const *pairs, char **out, gb_error *err)
{
	const char *text = NULL, *p;
	gb_buf b;
	size_t i;
	int rc = 0;

	*out = NULL;
	for (i = 0; i < gb_template_count; i++)
		if (strcmp(gb_templates[i].name, name) == 0)
			text = gb_templates[i].text;
	if (!text)
		return gb_error_set(err, GB_ENOTFOUND, "no template named %s", name);
	for (i = 0; pairs[i]; i += 2)
		for (p = pairs[i + 1]; *p; p++)
			if (*p < 0x20 || *p > 0x7e)
				return gb_error_set(err, GB_EINVAL, "template %s: the value of %s holds a character that is not "
								    "printable ASCII", name, pairs[i]);
	gb_buf_init(&b, 1024 * 1024);
	for (p = text; *p && !rc;) {
		const char *end;
		if (p[0] == '@' && p[1] == '@' && (end = strstr(p + 2, "@@")) != NULL && end - p < 64) {
			size_t klen = (size_t)(end - p - 2);
			bool found = false;
			for (i = 0; pairs[i] && !found; i += 2) {
				if (strlen(pairs[i]) == klen && strncmp(pairs[i], p + 2, klen) == 0) {
					const char *v;
					found = true;
					for (v = pairs[i + 1]; *v && !rc; v++)
						rc = *v == '\'' ? gb_buf_puts(&b, "''", err) : gb_buf_putc(&b, *v, err);
				}
			}
			if (found) {
				p = end + 2;
				continue;
			}
			/* a placeholder without a value, or just two at-signs in the text */
			if (klen && strspn(p + 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == klen) {
				gb_buf_free(&b);
				return gb_error_set(err, GB_EINVAL, "template %s: no value for @@%.*s@@", name, (int)klen, p + 2);
			}
		}
		rc = gb_buf_putc(&b, *p++, err);
	}
	if (rc) {
		gb_buf_free(&b);
		return rc;
	}
	*out = gb_buf_detach(&b);
	return *out ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
}

int gb_step_write_script(gb_migrate_ctx *c, const char *name, const char *const *pairs, char *path, size_t n,
			 gb_error *err)
{
	const char *all[2 * 20 + 5];
	char dir[PATH_MAX], ts[32], *script = NULL;
	size_t i;
	int rc;

	for (i = 0; pairs[i] && i < 2 * 20; i++)
		all[i] = pairs[i];
	if (pairs[i])
		return gb_error_set(err, GB_EINVAL, "template %s: more than 20 values", name);
	gb_time_iso8601(ts, sizeof(ts));
	all[i++] = "GENERATED_AT";
	all[i++] = ts;
	all[i++] = "GROUPBRIDGE_VERSION";
	all[i++] = GB_VERSION;
	all[i] = NULL;
	rc = gb_step_fill_template(name, all, &script, err);
	if (!rc) {
		snprintf(dir, sizeof(dir), "%s", gb_store_path(c->st));
		snprintf(path, n, "%s/%s.ps1", dirname(dir), name);
		rc = gb_write_file_atomic(path, script, strlen(script), 0644, err);
	}
	free(script);
	return rc;
}

void gb_step_print_whatif(gb_migrate_ctx *c, const char *name)
{
	fprintf(c->out,
		"  powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\\%s.ps1 -WhatIf\n"
		"  (every check, and each change printed, none made), then the same without -WhatIf:\n"
		"  powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\\%s.ps1\n",
		name, name);
}

/* The folder the scripts export the configuration to, on the Connect Sync server: named by the time, so that an
 * older export is never taken for the new one. */
static void export_dir_name(char *out, size_t n)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, n, "C:\\groupbridge\\export-%Y%m%dT%H%MZ", &tm);
}

/* The precedence a missing rule gets: preferred (Microsoft's 88 or 89) when free, else the highest free value below
 * 100; -1 when none is free. */
static long free_precedence(const bool used[100], long preferred)
{
	long p;

	if (!used[preferred])
		return preferred;
	for (p = 99; p >= 0; p--)
		if (!used[p])
			return p;
	return -1;
}

/* Precedences for the two rules (review D17). A coexistence rule the export already holds keeps its precedence when
 * it is below 100: the script leaves such a rule alone, and its value is taken. A rule at 100 or more is treated as
 * missing: it gets a free value, so that the script passes its 0-99 check and reaches the clearer message about
 * the rule (delete it and run the script again, which then adds it with this value). Every other rule's precedence
 * below 100 is taken. Microsoft's 88 and 89 when free, else the highest free values. */
static void precedences(json_t *rules, long *in, long *out)
{
	bool used[100] = {false};
	long ein = -1, eout = -1;
	json_t *r, *pv;
	size_t i;

	json_array_foreach(rules, i, r)
	{
		const char *id = json_string_value(json_object_get(r, "id"));
		long p = json_is_integer(pv = json_object_get(r, "precedence")) ? (long)json_integer_value(pv) : -1;
		if (id && gb_str_iequal(id, COEX_IN))
			ein = p;
		else if (id && gb_str_iequal(id, COEX_OUT))
			eout = p;
		else if (p >= 0 && p < 100)
			used[p] = true;
	}
	if (ein < 0 || ein > 99)
		ein = -1;
	/* two rules at one value: the outbound one is given another, as the script refuses equal values */
	if (eout < 0 || eout > 99 || eout == ein)
		eout = -1;
	if (ein >= 0)
		used[ein] = true;
	if (eout >= 0)
		used[eout] = true;
	*in = ein >= 0 ? ein : free_precedence(used, 88);
	if (*in >= 0)
		used[*in] = true;
	*out = eout >= 0 ? eout : free_precedence(used, 89);
}

/* Whether dn is at or below base (case-insensitive, as AD compares DNs; spaces after commas are not normalised). */
static bool dn_under(const char *dn, const char *base)
{
	size_t n = strlen(dn), m = strlen(base);

	if (!m || m > n)
		return false;
	return gb_str_iequal(dn + n - m, base) && (n == m || dn[n - m - 1] == ',');
}

/* The AD connector of the writeback forest; see gb_step_writeback_connector. NULL when the export does not tell. */
static const char *writeback_connector(json_t *root, const char *ou)
{
	json_t *conns = json_object_get(root, "connectors"), *cn, *part;
	const char *forest = json_string_value(json_object_get(json_object_get(root, "writeback"), "forest"));
	const char *only = NULL, *with_container = NULL, *holding_ou = NULL;
	size_t i, j, n = 0, ncontainer = 0, nou = 0;

	json_array_foreach(conns, i, cn)
	{
		const char *kind = json_string_value(json_object_get(cn, "kind"));
		const char *f = json_string_value(json_object_get(cn, "forest"));
		const char *name = json_string_value(json_object_get(cn, "name"));
		bool holds = false;
		if (!kind || strcmp(kind, "ad") != 0 || !name)
			continue;
		if (forest && f && gb_str_iequal(forest, f))
			return name;
		n++;
		only = name;
		if (json_string_value(json_object_get(cn, "writeback_container"))) {
			ncontainer++;
			with_container = name;
		}
		json_array_foreach(json_object_get(cn, "partitions"), j, part)
		{
			const char *pdn = json_string_value(json_object_get(part, "name"));
			holds = holds ||
			        (ou && pdn && json_is_true(json_object_get(part, "selected")) && dn_under(ou, pdn));
		}
		if (holds) {
			nou++;
			holding_ou = name;
		}
	}
	if (ncontainer == 1)
		return with_container;
	if (nou == 1)
		return holding_ou;
	return n == 1 ? only : NULL;
}

int gb_step_writeback_connector(gb_migrate_ctx *c, char **out, gb_error *err)
{
	json_t *root = NULL, *cn;
	char *ou = NULL;
	const char *name;
	gb_buf names;
	size_t i;
	int rc;

	*out = NULL;
	rc = gb_step_current_import(c, &root, NULL, err);
	if (rc)
		return rc == GB_ENOTFOUND ? gb_error_set(err, GB_ECONFIG, "no Connect Sync export is imported") : rc;
	if (gb_step_writeback_ou(c, &ou, NULL) != 0)
		ou = NULL; /* only a clue here */
	name = writeback_connector(root, ou);
	if (name) {
		*out = gb_strdup(name);
		rc = *out ? 0 : gb_error_set(err, GB_ENOMEM, "out of memory");
	} else {
		gb_buf_init(&names, 4096);
		json_array_foreach(json_object_get(root, "connectors"), i, cn)
		{
			const char *kind = json_string_value(json_object_get(cn, "kind"));
			const char *cname = json_string_value(json_object_get(cn, "name"));
			if (kind && strcmp(kind, "ad") == 0)
				gb_buf_printf(&names, NULL, "%s\"%s\"", names.len ? ", " : "", cname ? cname : "?");
		}
		rc = gb_error_set(err, GB_ECONFIG,
		                  "the imported export does not say which AD connector serves the group "
		                  "writeback forest (AD connectors: %s; none matches MV.xml's "
		                  "Microsoft.GroupWriteBack.Forest, carries Connector.GroupWriteBackContainerDn "
		                  "alone, or alone holds the writeback OU %s); the scripts need its name",
		                  names.len ? gb_buf_cstr(&names) : "none", ou ? ou : "(unknown)");
		gb_buf_free(&names);
	}
	free(ou);
	json_decref(root);
	return rc;
}

int gb_step_coexist_collect(gb_migrate_ctx *c, gb_error *err)
{
	json_t *root = NULL;
	char *connector = NULL, path[PATH_MAX], export_dir[64];
	char pin[8], pout[8];
	long in, out;
	int rc;

	rc = gb_step_writeback_connector(c, &connector, err);
	if (rc)
		return rc;
	rc = gb_step_current_import(c, &root, NULL, err);
	if (rc)
		goto done;
	precedences(json_object_get(root, "rules"), &in, &out);
	if (in < 0 || out < 0) {
		rc = gb_error_set(err, GB_ECONFLICT, "no two free sync rule precedences below 100 are left");
		goto done;
	}
	export_dir_name(export_dir, sizeof(export_dir));
	snprintf(pin, sizeof(pin), "%ld", in);
	snprintf(pout, sizeof(pout), "%ld", out);
	{
		const char *pairs[] = {"AD_CONNECTOR_NAME", connector, "INBOUND_PRECEDENCE", pin, "OUTBOUND_PRECEDENCE",
				       pout, "EXPORT_DIR", export_dir, NULL};
		rc = gb_step_write_script(c, "connect-sync-coexistence", pairs, path, sizeof(path), err);
	}
	if (!rc) {
		fprintf(c->out,
			"wrote %s (AD connector %s, precedences %ld and %ld)\n"
			"On the Connect Sync server, with staging mode on (runbooks/connect-sync-coexistence.md):\n",
			path, connector, in, out);
		gb_step_print_whatif(c, "connect-sync-coexistence");
		fprintf(c->out,
			"Then copy the export folder it writes (%s) here and run:\n"
			"  groupbridge migrate confirm connect-sync-coexistence --export DIR\n",
			export_dir);
	}
done:
	json_decref(root);
	free(connector);
	return rc;
}

/* The export verified becomes the current import, read as the import step reads one (with the configuration's
 * writeback OU), so that every later check judges the server as it is now. *id: its import number. */
static int adopt(gb_migrate_ctx *c, gb_cs_export *exp, int64_t *id, gb_error *err)
{
	int rc = 0;

	if (c->cfg->migration.writeback_ou && *c->cfg->migration.writeback_ou) {
		exp->writeback_ou_override = gb_strdup(c->cfg->migration.writeback_ou);
		rc = exp->writeback_ou_override ? gb_cs_analyze(exp, err)
		                                : gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	return rc ? rc : gb_cs_save(c->st, exp, id, err);
}

/* What each confirmation requires of the export: err set (and its code returned) when the export does not show it.
 * rin and rout are the export's two coexistence rules, NULL where missing. */
typedef int (*judge_fn)(const char *export_dir, const gb_cs_export *exp, const gb_cs_rule *rin, const gb_cs_rule *rout,
			gb_error *err);

/* Both confirmations read the export the operator brought back, judge it and adopt it (the later steps judge it).
 * No export_dir: the operator attests, the runner records it as such, and *exp stays NULL. *exp is the caller's
 * (gb_cs_export_free) even on failure; *id: the import number. */
static int judge_and_adopt(gb_migrate_ctx *c, const char *export_dir, judge_fn judge, gb_cs_export **exp, int64_t *id,
			   gb_error *err)
{
	int rc;

	if (!export_dir)
		return 0;
	rc = gb_cs_import_dir(export_dir, exp, err);
	if (!rc)
		rc = judge(export_dir, *exp, gb_cs_find_rule(*exp, COEX_IN), gb_cs_find_rule(*exp, COEX_OUT), err);
	if (!rc)
		rc = adopt(c, *exp, id, err);
	return rc;
}

/* The coexistence in place: both rules present and enabled, staging mode on. */
static int in_place(const char *export_dir, const gb_cs_export *exp, const gb_cs_rule *rin, const gb_cs_rule *rout,
		    gb_error *err)
{
	gb_buf why;
	int rc = 0;

	gb_buf_init(&why, 4096);
	if (!rin)
		gb_buf_puts(&why, "; the inbound coexistence rule " COEX_IN " is missing", NULL);
	else if (rin->disabled)
		gb_buf_puts(&why, "; the inbound coexistence rule is disabled", NULL);
	if (!rout)
		gb_buf_puts(&why, "; the outbound coexistence rule " COEX_OUT " is missing", NULL);
	else if (rout->disabled)
		gb_buf_puts(&why, "; the outbound coexistence rule is disabled", NULL);
	if (exp->staging_mode != GB_CS_YES)
		gb_buf_puts(&why, "; staging mode is not on", NULL);
	if (why.len)
		rc = gb_error_set(err, GB_ECONFLICT, "the export %s does not show the coexistence in place%s", export_dir,
				  gb_buf_cstr(&why));
	gb_buf_free(&why);
	return rc;
}

/* The coexistence rolled back: neither rule left. */
static int removed(const char *export_dir, const gb_cs_export *exp, const gb_cs_rule *rin, const gb_cs_rule *rout,
		   gb_error *err)
{
	(void)exp;
	if (rin || rout)
		return gb_error_set(err, GB_ECONFLICT,
		                    "the export %s still holds the %s%s%s coexistence rule%s; run "
		                    "connect-sync-coexistence-rollback.ps1 on the server it came from, and export again",
		                    export_dir, rin ? "inbound " COEX_IN : "", rin && rout ? " and the " : "",
		                    rout ? "outbound " COEX_OUT : "", rin && rout ? "s" : "");
	return 0;
}

int gb_step_coexist_confirm(gb_migrate_ctx *c, const char *export_dir, gb_error *err)
{
	gb_cs_export *exp = NULL;
	int64_t id = 0;
	int rc = judge_and_adopt(c, export_dir, in_place, &exp, &id, err);

	if (!rc && exp)
		fprintf(c->out,
		        "verified from %s: both coexistence rules are present and enabled, staging mode is on\n"
		        "recorded as import %lld: the later steps judge this export\n",
		        export_dir, (long long)id);
	gb_cs_export_free(exp);
	return rc;
}

int gb_step_coexist_rollback_script(gb_migrate_ctx *c, gb_error *err)
{
	char path[PATH_MAX], export_dir[64];
	const char *pairs[] = {"EXPORT_DIR", export_dir, NULL};
	int rc;

	export_dir_name(export_dir, sizeof(export_dir));
	rc = gb_step_write_script(c, "connect-sync-coexistence-rollback", pairs, path, sizeof(path), err);
	if (!rc)
		fprintf(c->out,
		        "wrote %s\n"
		        "On every Connect Sync server where connect-sync-coexistence.ps1 ran (runbooks/rollback.md):\n"
		        "  powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\\connect-sync-coexistence-rollback.ps1 "
		        "-WhatIf\n"
		        "  then the same without -WhatIf. It removes both coexistence rules, runs a full sync, exports the\n"
		        "  configuration to %s and turns the scheduler back on; it refuses once group writeback v2 is off.\n"
		        "Then copy that export here and run:\n"
		        "  groupbridge migrate confirm connect-sync-coexistence --export DIR\n",
		        path, export_dir);
	return rc;
}

int gb_step_coexist_rollback_confirm(gb_migrate_ctx *c, const char *export_dir, gb_error *err)
{
	gb_cs_export *exp = NULL;
	int64_t id = 0;
	int rc = judge_and_adopt(c, export_dir, removed, &exp, &id, err);

	if (!rc && exp) {
		snprintf(c->confirmed, sizeof(c->confirmed),
		         "rolled back: verified from the export given, neither coexistence rule is left%s",
		         exp->staging_mode == GB_CS_YES ? " (staging mode still on)" : "");
		fprintf(c->out,
		        "verified from %s: neither coexistence rule is left%s\n"
		        "recorded as import %lld: the later steps judge this export\n",
		        export_dir,
		        exp->staging_mode == GB_CS_YES
		            ? "; staging mode is still on: turn it off in the wizard if this was the active server"
		            : "",
		        (long long)id);
	}
	gb_cs_export_free(exp);
	return rc;
}
