/* Unit tests of the configuration reader: every problem names FILE:LINE, secrets never live in the file. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "groupbridge/config.h"

static const char *good =
	"; a complete configuration for one forest\n"
	"[graph]\n"
	"tenant_id = 11111111-2222-3333-4444-555555555555\n"
	"client_id = 66666666-7777-8888-9999-000000000000\n"
	"client_secret_file = /etc/groupbridge/graph.secret\n"
	"\n"
	"[directory]\n"
	"uri = ldaps://dc1.contoso.com\n"
	"bind_dn = svc-groupbridge@contoso.com\n"
	"bind_password_env = GB_BIND_PASSWORD\n"
	"base_dn = DC=contoso,DC=com\n"
	"member_batch = 500\n"
	"\n"
	"[provisioning]\n"
	"target_container = Switch([displayName], \"OU=Default,DC=contoso,DC=com\",\n"
	"    \"Marketing\", \"OU=Marketing,DC=contoso,DC=com\")\n"
	"delete_threshold = 50\n"
	"move_on_container_change = yes\n";

static gb_config *parse_ok(const char *text)
{
	gb_config *c = NULL;
	gb_error err;

	cr_assert_eq(gb_config_parse("t.ini", text, &c, &err), 0, "%s", err.msg);
	return c;
}

static void parse_fails(const char *text, const char *expect)
{
	gb_config *c = NULL;
	gb_error err;

	cr_assert_eq(gb_config_parse("t.ini", text, &c, &err), GB_ECONFIG, "expected failure for: %s", text);
	cr_assert_null(c);
	cr_assert(strstr(err.msg, expect) != NULL, "message \"%s\" lacks \"%s\"", err.msg, expect);
}

Test(config, complete_file_loads_with_defaults)
{
	gb_config *c = parse_ok(good);

	cr_assert(c->graph.present && c->directory.present && c->provisioning.present && !c->migration.present);
	cr_assert_str_eq(c->graph.authority_url, GB_DEFAULT_AUTHORITY_URL);
	cr_assert_str_eq(c->graph.graph_url, GB_DEFAULT_GRAPH_URL);
	cr_assert_eq(c->graph.timeout, 60);
	cr_assert_eq(c->directory.member_batch, 500);
	cr_assert_eq(c->directory.timeout, 30);
	cr_assert_str_eq(c->provisioning.scope, "selected");
	cr_assert_str_eq(c->provisioning.membership, "authoritative");
	cr_assert_eq(c->provisioning.delete_threshold, 50);
	cr_assert(c->provisioning.move_on_container_change);
	/* a value continued on an indented line is joined with one space */
	cr_assert_str_eq(c->provisioning.target_container,
			 "Switch([displayName], \"OU=Default,DC=contoso,DC=com\", \"Marketing\", "
			 "\"OU=Marketing,DC=contoso,DC=com\")");
	gb_config_free(c);
	gb_config_free(NULL);
}

Test(config, unknown_key_names_its_line)
{
	parse_fails("[graph]\ntenant_id = t\nclient_id = c\nclient_secret_env = X\ncolour = blue\n",
		    "t.ini:5: unknown key colour in [graph]");
}

Test(config, unknown_section_names_its_line_even_when_empty)
{
	parse_fails("[migration]\n\n[provisionning]\n", "t.ini:3: unknown section [provisionning]");
}

Test(config, missing_required_key_names_the_section_line)
{
	parse_fails("\n[directory]\nuri = ldaps://dc\nbind_dn = x\nbind_password_env = P\n",
		    "t.ini:2: [directory] needs base_dn");
	parse_fails("[graph]\ntenant_id = t\nclient_id = c\n", "t.ini:1: [graph] needs a credential");
}

Test(config, secrets_in_the_file_are_refused)
{
	parse_fails("[graph]\ntenant_id = t\nclient_id = c\nclient_secret = abc\n",
		    "t.ini:4: [graph] client_secret: secrets are not kept in the configuration file");
	parse_fails("[directory]\nbind_password = pw\n", "t.ini:2: [directory] bind_password");
}

Test(config, bad_values_say_what_is_allowed)
{
	parse_fails("[directory]\nstart_tls = perhaps\n", "t.ini:2: [directory] start_tls must be yes or no");
	parse_fails("[provisioning]\ndelete_threshold = -1\n",
		    "t.ini:2: [provisioning] delete_threshold must be a whole number from 0 to 1000000");
	parse_fails("[provisioning]\nmembership = sometimes\n", "t.ini:2: [provisioning] membership must be");
	parse_fails("[migration]\nhandoff_target = mim\n", "t.ini:2: [migration] handoff_target must be");
	parse_fails("[provisioning]\ncn = a\ncn = b\n", "t.ini:3: [provisioning] cn is set twice");
	parse_fails("[provisioning]\ncn =\n", "t.ini:2: [provisioning] cn is empty");
}

Test(config, plain_ldap_needs_tls_or_an_explicit_insecure_flag)
{
	const char *base = "[directory]\nuri = ldap://dc\nbind_dn = x\nbind_password_env = P\nbase_dn = DC=x\n";
	char text[512];
	gb_config *c;

	parse_fails(base, "t.ini:2: [directory] uri ldap://dc sends the password unencrypted");
	snprintf(text, sizeof(text), "%sstart_tls = yes\n", base);
	c = parse_ok(text);
	cr_assert(c->directory.start_tls);
	gb_config_free(c);
	snprintf(text, sizeof(text), "%sallow_insecure = yes\n", base);
	c = parse_ok(text);
	gb_config_free(c);
	parse_fails("[directory]\nuri = http://dc\nbind_dn = x\nbind_password_env = P\nbase_dn = DC=x\n",
		    "must start with ldaps:// or ldap://");
}

Test(config, graph_urls_must_be_https_and_credentials_unique)
{
	parse_fails("[graph]\ntenant_id = t\nclient_id = c\nclient_secret_env = X\ngraph_url = http://127.0.0.1:1\n",
		    "t.ini:5: [graph] graph_url must start with https://");
	parse_fails("[graph]\ntenant_id = t\nclient_id = c\nclient_secret_env = X\ncertificate_file = a\n"
		    "private_key_file = b\n",
		    "more than one credential");
	parse_fails("[graph]\ntenant_id = t\nclient_id = c\ncertificate_file = a\n", "go together");
}

Test(config, over_long_line_is_a_clear_error_not_a_split_value)
{
	char value[301];
	char text[600];

	memset(value, 'x', 300);
	value[300] = '\0';
	snprintf(text, sizeof(text), "[provisioning]\ncn = %s\n", value);
	parse_fails(text, "t.ini:2: line is longer than 199 characters");
}

Test(config, filters_repeat_and_need_scope_all)
{
	gb_config *c = parse_ok("[provisioning]\nscope = all\nfilter = securityEnabled IS TRUE\n"
				"filter = displayName REGEX MATCH \"^Sales\"\n");

	cr_assert_str_eq(c->provisioning.filters[0], "securityEnabled IS TRUE");
	cr_assert_str_eq(c->provisioning.filters[1], "displayName REGEX MATCH \"^Sales\"");
	cr_assert_null(c->provisioning.filters[2]);
	gb_config_free(c);
	parse_fails("[provisioning]\nfilter = x IS TRUE\n", "filter needs scope = all");
}

Test(config, key_outside_section_and_garbage_lines)
{
	parse_fails("tenant_id = x\n", "t.ini:1: tenant_id is outside any section");
	parse_fails("[graph]\nthis is not a key value line\n", "t.ini:2: cannot parse this line");
	parse_fails("[graph\n", "t.ini:1: malformed section header");
	parse_fails("[migration]\n[migration]\n", "t.ini:2: section [migration] appears twice");
}

Test(config, load_names_missing_file)
{
	gb_config *c;
	gb_error err;

	cr_assert_eq(gb_config_load("/nonexistent/gb.ini", &c, &err), GB_ENOTFOUND);
	cr_assert(strstr(err.msg, "/nonexistent/gb.ini") != NULL);
}

Test(config, utf8_bom_and_crlf_are_accepted)
{
	gb_config *c = parse_ok("\xEF\xBB\xBF[migration]\r\nconnect_sync_export = /srv/export\r\n");

	cr_assert_str_eq(c->migration.connect_sync_export, "/srv/export");
	gb_config_free(c);
}

Test(config, an_empty_first_line_continues_below)
{
	gb_config *c = parse_ok("[provisioning]\ngroups =\n    id-1,\n    id-2\ncn = x\n");

	cr_assert_str_eq(c->provisioning.groups, "id-1, id-2");
	gb_config_free(c);
	parse_fails("[provisioning]\ngroups =\ncn = x\n", "t.ini:2: [provisioning] groups is empty");
}

Test(config, jwt_alg_is_ps256_or_rs256_for_certificates_only)
{
	gb_config *c = parse_ok("[graph]\ntenant_id = t\nclient_id = c\ncertificate_file = a\nprivate_key_file = b\n"
				"jwt_alg = RS256\n");

	cr_assert_str_eq(c->graph.jwt_alg, "RS256");
	gb_config_free(c);
	parse_fails("[graph]\ntenant_id = t\nclient_id = c\ncertificate_file = a\nprivate_key_file = b\njwt_alg = HS256\n",
		    "t.ini:6: [graph] jwt_alg must be PS256 or RS256");
	parse_fails("[graph]\ntenant_id = t\nclient_id = c\nclient_secret_env = X\njwt_alg = RS256\n",
		    "jwt_alg is for certificate credentials");
}

/* Issue 16: bind_method = gssapi binds as principal with the keys in keytab; no password key may sit next to it,
 * and each missing or misplaced key is named. */
Test(config, gssapi_bind_takes_a_keytab_and_a_principal_instead_of_a_password)
{
	const char *head = "[directory]\nuri = ldaps://dc1.contoso.com\nbase_dn = DC=contoso,DC=com\n";
	char text[512];
	gb_config *c;

	snprintf(text, sizeof text, "%sbind_method = gssapi\nkeytab = /etc/groupbridge/svc.keytab\n"
		 "principal = svc-groupbridge@CONTOSO.COM\n", head);
	c = parse_ok(text);
	cr_assert_str_eq(c->directory.bind_method, "gssapi");
	cr_assert_str_eq(c->directory.keytab, "/etc/groupbridge/svc.keytab");
	cr_assert_str_eq(c->directory.principal, "svc-groupbridge@CONTOSO.COM");
	cr_assert_null(c->directory.bind_dn);
	gb_config_free(c);

	c = parse_ok("[directory]\nuri = ldaps://dc\nbind_dn = x\nbind_password_env = P\nbase_dn = DC=x\n");
	cr_assert_str_eq(c->directory.bind_method, "simple", "simple is the default");
	gb_config_free(c);

	snprintf(text, sizeof text, "%sbind_method = gssapi\nkeytab = /k\nprincipal = p@R\nbind_password_file = /pw\n",
		 head);
	parse_fails(text, "t.ini:7: [directory] bind_password_file is for bind_method = simple");
	snprintf(text, sizeof text, "%sbind_method = gssapi\nbind_dn = x\nkeytab = /k\nprincipal = p@R\n", head);
	parse_fails(text, "t.ini:5: [directory] bind_dn is for bind_method = simple");
	snprintf(text, sizeof text, "%sbind_method = gssapi\nprincipal = p@R\n", head);
	parse_fails(text, "t.ini:1: [directory] bind_method = gssapi needs keytab");
	snprintf(text, sizeof text, "%sbind_method = gssapi\nkeytab = /k\n", head);
	parse_fails(text, "t.ini:1: [directory] bind_method = gssapi needs principal");
	snprintf(text, sizeof text, "%sbind_dn = x\nbind_password_env = P\nkeytab = /k\n", head);
	parse_fails(text, "t.ini:6: [directory] keytab is for bind_method = gssapi");
	snprintf(text, sizeof text, "%sbind_method = kerberos\n", head);
	parse_fails(text, "t.ini:4: [directory] bind_method must be simple or gssapi, not \"kerberos\"");
	/* ldap:// without TLS: the message does not speak of a password that a Kerberos bind does not send */
	parse_fails("[directory]\nuri = ldap://dc\nbase_dn = DC=x\nbind_method = gssapi\nkeytab = /k\nprincipal = p@R\n",
		    "t.ini:2: [directory] uri ldap://dc would bind and read unencrypted");
}

/* The keytab holds the account's keys: it is checked as a secret file is (mode, regular file), and may be a systemd
 * credential. */
Test(config, the_keytab_is_private_and_may_be_a_credential)
{
	char dir[] = "/tmp/gb-keytab-XXXXXX", path[256], link[256], text[768];
	gb_config *c;
	char *out = (char *)1;
	gb_error err;
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/svc.keytab", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("\x05\x02", f);
	fclose(f);
	chmod(path, 0644);
	snprintf(text, sizeof text, "[directory]\nuri = ldaps://dc\nbase_dn = DC=x\nbind_method = gssapi\nkeytab = %s\n"
		 "principal = p@R\n", path);
	c = parse_ok(text);
	cr_assert_eq(gb_config_keytab(c, &out, &err), GB_ECONFIG);
	cr_assert_null(out);
	cr_assert(strstr(err.msg, "is accessible by group or others (mode 644)") != NULL, "%s", err.msg);
	chmod(path, 0600);
	cr_assert_eq(gb_config_keytab(c, &out, &err), 0, "%s", err.msg);
	cr_assert_str_eq(out, path);
	free(out);
	gb_config_free(c);

	snprintf(link, sizeof link, "%s/link.keytab", dir);
	cr_assert_eq(symlink(path, link), 0);
	snprintf(text, sizeof text, "[directory]\nuri = ldaps://dc\nbase_dn = DC=x\nbind_method = gssapi\nkeytab = %s\n"
		 "principal = p@R\n", link);
	c = parse_ok(text);
	cr_assert_eq(gb_config_keytab(c, &out, &err), GB_ECONFIG);
	cr_assert(strstr(err.msg, "not a regular file") != NULL, "%s", err.msg);
	gb_config_free(c);

	c = parse_ok("[directory]\nuri = ldaps://dc\nbase_dn = DC=x\nbind_method = gssapi\nkeytab = credential:svc.keytab\n"
		     "principal = p@R\n");
	unsetenv("CREDENTIALS_DIRECTORY");
	cr_assert_eq(gb_config_keytab(c, &out, &err), GB_ECONFIG);
	cr_assert(strstr(err.msg, "CREDENTIALS_DIRECTORY") != NULL, "%s", err.msg);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	cr_assert_eq(gb_config_keytab(c, &out, &err), 0, "%s", err.msg);
	cr_assert_str_eq(out, path);
	free(out);
	gb_config_free(c);
	unlink(link);
	unlink(path);
	rmdir(dir);
}
