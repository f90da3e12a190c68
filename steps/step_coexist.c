/* step_coexist.c: step 4, connect-sync-coexistence, carried out by the operator on the Connect Sync server.
 *
 * groupbridge fills runbooks/templates/connect-sync-coexistence.ps1.in (the inbound cloudNoFlow rule and the
 * outbound JoinNoFlow rule with Microsoft's identifiers, the scheduler off, a full sync, a fresh export) and waits.
 * `migrate confirm connect-sync-coexistence --export DIR` imports the fresh export and verifies that both rules exist,
 * are enabled, and that staging mode is on; only then is the step done. A confirmation without an export is
 * recorded as attested by the operator, not verified, and says so wherever the step's state is shown.
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

/* Precedences for the two rules: the existing rule's when the export holds it, else Microsoft's 88 and 89 when free,
 * else the highest free values below 100. */
static void precedences(json_t *rules, long *in, long *out)
{
	bool used[100] = {false};
	json_t *r;
	size_t i;
	long p;

	*in = *out = -1;
	json_array_foreach(rules, i, r)
	{
		const char *id = json_string_value(json_object_get(r, "id"));
		p = (long)json_integer_value(json_object_get(r, "precedence"));
		if (id && gb_str_iequal(id, COEX_IN))
			*in = p;
		else if (id && gb_str_iequal(id, COEX_OUT))
			*out = p;
		else if (p >= 0 && p < 100)
			used[p] = true;
	}
	if (*in < 0)
		*in = !used[88] ? 88 : -1;
	for (p = 99; *in < 0 && p >= 0; p--)
		if (!used[p] && p != *out)
			*in = p;
	used[*in >= 0 ? *in : 0] = true;
	if (*out < 0)
		*out = !used[89] && *in != 89 ? 89 : -1;
	for (p = 99; *out < 0 && p >= 0; p--)
		if (!used[p] && p != *in)
			*out = p;
}

/* The AD connector of the writeback forest (else the only AD connector). */
static const char *ad_connector(json_t *root)
{
	json_t *conns = json_object_get(root, "connectors"), *cn;
	const char *forest = json_string_value(json_object_get(json_object_get(root, "writeback"), "forest")), *any = NULL;
	size_t i, n = 0;

	json_array_foreach(conns, i, cn)
	{
		const char *kind = json_string_value(json_object_get(cn, "kind"));
		const char *f = json_string_value(json_object_get(cn, "forest"));
		if (!kind || strcmp(kind, "ad") != 0)
			continue;
		n++;
		any = json_string_value(json_object_get(cn, "name"));
		if (forest && f && gb_str_iequal(forest, f))
			return any;
	}
	return n == 1 ? any : NULL;
}

int gb_step_coexist_collect(gb_migrate_ctx *c, gb_error *err)
{
	json_t *root = NULL;
	json_error_t jerr;
	char *json = NULL, *script = NULL, path[PATH_MAX], dir[PATH_MAX], ts[32], export_dir[64], pin[8], pout[8];
	const char *connector;
	long in, out;
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	rc = gb_cs_load_current(c->st, &json, NULL, err);
	if (rc)
		return rc == GB_ENOTFOUND ? gb_error_set(err, GB_ECONFIG, "no Connect Sync export is imported") : rc;
	root = json_loads(json, 0, &jerr);
	connector = root ? ad_connector(root) : NULL;
	if (!connector) {
		rc = gb_error_set(err, GB_ECONFIG, "the imported export does not say which AD connector serves the "
						   "writeback forest; the script needs its name");
		goto done;
	}
	precedences(json_object_get(root, "rules"), &in, &out);
	if (in < 0 || out < 0) {
		rc = gb_error_set(err, GB_ECONFLICT, "no two free sync rule precedences below 100 are left");
		goto done;
	}
	gmtime_r(&now, &tm);
	strftime(export_dir, sizeof(export_dir), "C:\\groupbridge\\export-%Y%m%dT%H%MZ", &tm);
	gb_time_iso8601(ts, sizeof(ts));
	snprintf(pin, sizeof(pin), "%ld", in);
	snprintf(pout, sizeof(pout), "%ld", out);
	{
		const char *pairs[] = {"AD_CONNECTOR_NAME", connector, "INBOUND_PRECEDENCE", pin, "OUTBOUND_PRECEDENCE",
				       pout, "EXPORT_DIR", export_dir, "GENERATED_AT", ts, "GROUPBRIDGE_VERSION",
				       GB_VERSION, NULL};
		rc = gb_step_fill_template("connect-sync-coexistence", pairs, &script, err);
	}
	if (rc)
		goto done;
	snprintf(dir, sizeof(dir), "%s", gb_store_path(c->st));
	snprintf(path, sizeof(path), "%s/connect-sync-coexistence.ps1", dirname(dir));
	rc = gb_write_file_atomic(path, script, strlen(script), 0644, err);
	if (!rc)
		fprintf(c->out,
			"wrote %s (AD connector %s, precedences %ld and %ld)\n"
			"On the Connect Sync server, with staging mode on (runbooks/connect-sync-coexistence.md):\n"
			"  powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\\connect-sync-coexistence.ps1\n"
			"Then copy the export folder it writes (%s) here and run:\n"
			"  groupbridge migrate confirm connect-sync-coexistence --export DIR\n",
			path, connector, in, out, export_dir);
done:
	json_decref(root);
	free(json);
	free(script);
	return rc;
}

int gb_step_coexist_confirm(gb_migrate_ctx *c, const char *export_dir, gb_error *err)
{
	gb_cs_export *exp = NULL;
	const gb_cs_rule *rin, *rout;
	gb_buf why;
	int rc;

	if (!export_dir)
		return 0; /* attested: the runner records it as such */
	rc = gb_cs_import_dir(export_dir, &exp, err);
	if (rc)
		return rc;
	gb_buf_init(&why, 4096);
	rin = gb_cs_find_rule(exp, COEX_IN);
	rout = gb_cs_find_rule(exp, COEX_OUT);
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
	else
		rc = gb_cs_save(c->st, exp, NULL, err);
	if (!rc)
		fprintf(c->out, "verified from %s: both coexistence rules are present and enabled, staging mode is on\n",
			export_dir);
	gb_buf_free(&why);
	gb_cs_export_free(exp);
	return rc;
}
