/* Unit tests of the directory client's pure logic: range arithmetic (including the shape Windows forces, which
 * Samba never produces), the write fence, the delete rule, and the classification of LDAP result codes. */
#include <limits.h>

#include <criterion/criterion.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "groupbridge/directory.h"

static gb_dir_range_step step(unsigned long low, const char *const *names, const size_t *counts, size_t n, int *rc)
{
	gb_dir_range_step s;
	gb_error err;

	*rc = gb_directory_range_step("member", low, names, counts, n, &s, &err);
	return s;
}

#define ANY_NEXT ((unsigned long)-1)

/* A step that must succeed and give take and done, and next unless it is ANY_NEXT. */
static void expect_step(unsigned long low, const char *const *names, const size_t *counts, size_t n, int take,
			bool done, unsigned long next)
{
	int rc;
	gb_dir_range_step s = step(low, names, counts, n, &rc);

	cr_assert_eq(rc, 0, "from %lu", low);
	cr_assert_eq(s.take, take, "from %lu", low);
	cr_assert_eq(s.done, done, "from %lu", low);
	if (next != ANY_NEXT)
		cr_assert_eq(s.next, next, "from %lu", low);
}

Test(range, explicit_chunks_are_followed_to_the_star)
{
	const char *n1[] = {"member;range=0-999"};
	const char *n2[] = {"member;range=1000-1999"};
	const char *n3[] = {"member;range=2000-*"};
	size_t c1[] = {1000}, c3[] = {1000};
	gb_dir_range_step s;
	int rc;

	expect_step(0, n1, c1, 1, 0, false, 1000);
	s = step(1000, n2, c1, 1, &rc);
	cr_assert_eq(s.next, 2000);
	expect_step(2000, n3, c3, 1, 0, true, ANY_NEXT);
}

Test(range, a_server_cap_below_the_request_moves_next_to_what_it_sent)
{
	/* asked 0-4999, Windows capped at MaxValRange */
	const char *n[] = {"cn", "member;range=0-1499"};
	size_t c[] = {1, 1500};

	expect_step(0, n, c, 2, 1, false, 1500);
}

Test(range, windows_forced_shape_empty_plain_plus_ranged)
{
	/* a plain read of member on Windows beyond MaxValRange: "member" with no values and "member;range=0-1499" */
	const char *n[] = {"member", "member;range=0-1499", "objectGUID"};
	size_t c[] = {0, 1500, 1};
	gb_dir_range_step s;
	int rc;

	expect_step(0, n, c, 3, 1, false, 1500);
	/* and the case-insensitive spelling a server may use */
	const char *m[] = {"Member", "MEMBER;Range=0-1499"};
	s = step(0, m, c, 2, &rc);
	cr_assert_eq(rc, 0);
	cr_assert_eq(s.take, 1);
}

Test(range, a_server_that_ignores_ranges_sends_everything_once)
{
	const char *n[] = {"member"};
	size_t c[] = {3000};
	int rc;

	expect_step(0, n, c, 1, 0, true, ANY_NEXT);
	/* the same after the first chunk would repeat values: refused */
	step(1000, n, c, 1, &rc);
	cr_assert_eq(rc, GB_EPARSE);
}

Test(range, no_attribute_means_no_more_values)
{
	const char *n[] = {"cn"};
	size_t c[] = {1};
	const char *e[] = {"member"};
	size_t z[] = {0};

	expect_step(0, n, c, 1, -1, true, ANY_NEXT);
	expect_step(3000, NULL, NULL, 0, -1, true, ANY_NEXT);
	/* an empty plain attribute alone (Windows, an empty group) */
	expect_step(0, e, z, 1, -1, true, ANY_NEXT);
}

Test(range, inconsistent_replies_are_errors_not_loops)
{
	const char *wrong_low[] = {"member;range=5-999"};
	const char *backwards[] = {"member;range=1000-999"};
	const char *garbage[] = {"member;range=abc"};
	const char *no_high[] = {"member;range=0-"};
	const char *two[] = {"member;range=0-999", "member;range=0-*"};
	size_t c[] = {1, 1};
	int rc;

	step(0, wrong_low, c, 1, &rc);
	cr_assert_eq(rc, GB_EPARSE);
	step(1000, backwards, c, 1, &rc);
	cr_assert_eq(rc, GB_EPARSE);
	step(0, garbage, c, 1, &rc);
	cr_assert_eq(rc, GB_EPARSE);
	step(0, no_high, c, 1, &rc);
	cr_assert_eq(rc, GB_EPARSE);
	step(0, two, c, 2, &rc);
	cr_assert_eq(rc, GB_EPARSE);
}

/* A bound that does not fit in an unsigned long (found by fuzz_adcodec): strtoul saturates, and the next range
 * would start at HIGH + 1 = 0 again, so a reader would ask for the same values for ever. */
Test(range, bounds_that_overflow_are_errors_not_loops)
{
	const char *huge_high[] = {"member;range=0-14666666666666666666696"};
	const char *max_high[] = {"member;range=0-18446744073709551615"};
	const char *huge_low[] = {"member;range=99999999999999999999999-*"};
	size_t c[] = {1};
	int rc;

	step(0, huge_high, c, 1, &rc);
	cr_assert_eq(rc, GB_EPARSE);
	step(0, max_high, c, 1, &rc);
	cr_assert_eq(rc, GB_EPARSE);
	step(ULONG_MAX, huge_low, c, 1, &rc);
	cr_assert_eq(rc, GB_EPARSE);
}

Test(range, other_attributes_with_the_same_prefix_are_not_confused)
{
	const char *n[] = {"memberOf", "memberOf;range=0-*"};
	size_t c[] = {3, 3};

	expect_step(0, n, c, 2, -1, true, ANY_NEXT);
}

Test(fence, writes_below_allowed_containers_only)
{
	gb_dir_fence *f = NULL;
	gb_error err;

	cr_assert_eq(gb_dir_fence_new("OU=Groups,DC=test,DC=example; OU=Cloud\\;Sync,DC=test,DC=example", &f, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(gb_dir_fence_check(f, "add", "CN=g,OU=Groups,DC=test,DC=example", &err), 0);
	cr_assert_eq(gb_dir_fence_check(f, "add", "cn=g,ou=GROUPS,dc=test,dc=example", &err), 0);
	cr_assert_eq(gb_dir_fence_check(f, "add", "CN=g,OU=sub,OU=Groups,DC=test,DC=example", &err), 0);
	cr_assert_eq(gb_dir_fence_check(f, "add", "CN=g,OU=Cloud\\;Sync,DC=test,DC=example", &err), 0);
	cr_assert_eq(gb_dir_fence_check(f, "add", "CN=g,OU=Cloud\\3BSync,DC=test,DC=example", &err), 0);

	cr_assert_eq(gb_dir_fence_check(f, "add", "CN=g,OU=Users,DC=test,DC=example", &err), GB_EFENCE);
	cr_assert(strstr(err.msg, "ldap add CN=g,OU=Users,DC=test,DC=example refused") != NULL, "%s", err.msg);
	/* string suffix is not enough */
	cr_assert_eq(gb_dir_fence_check(f, "add", "CN=g,OU=MyGroups,DC=test,DC=example", &err), GB_EFENCE);
	cr_assert_eq(gb_dir_fence_check(f, "add", "CN=x\\,OU=Groups,DC=test,DC=example", &err), GB_EFENCE);
	/* the container itself, and above it */
	cr_assert_eq(gb_dir_fence_check(f, "delete", "OU=Groups,DC=test,DC=example", &err), GB_EFENCE);
	cr_assert_eq(gb_dir_fence_check(f, "delete", "DC=test,DC=example", &err), GB_EFENCE);
	/* another forest with the same OU name */
	cr_assert_eq(gb_dir_fence_check(f, "add", "CN=g,OU=Groups,DC=forest2,DC=example", &err), GB_EFENCE);
	/* GUID-addressed objects must be resolved first */
	cr_assert_eq(gb_dir_fence_check(f, "modify", "<GUID=7ddabd6a-bb4b-4560-9a76-b1f20de3b347>", &err), GB_EFENCE);
	cr_assert_eq(gb_dir_fence_check(f, "modify", "CN=a,,OU=Groups,DC=test,DC=example", &err), GB_EPARSE);
	gb_dir_fence_free(f);
}

Test(fence, empty_fence_refuses_everything)
{
	gb_dir_fence *f = NULL;
	gb_error err;

	cr_assert_eq(gb_dir_fence_new(NULL, &f, &err), 0);
	cr_assert_eq(gb_dir_fence_check(f, "add", "CN=g,OU=Groups,DC=test,DC=example", &err), GB_EFENCE);
	cr_assert(strstr(err.msg, "no allowed containers") != NULL);
	gb_dir_fence_free(f);
	cr_assert_eq(gb_dir_fence_new(" ; ", &f, &err), 0);
	cr_assert_eq(gb_dir_fence_check(f, "add", "CN=g,DC=x", &err), GB_EFENCE);
	gb_dir_fence_free(f);
	cr_assert_eq(gb_dir_fence_check(NULL, "add", "CN=g,DC=x", &err), GB_EFENCE);
	cr_assert_eq(gb_dir_fence_new("OU=ok,DC=x;broken", &f, &err), GB_EPARSE);
	cr_assert_null(f);
}

Test(anchor, delete_needs_groupbridges_anchor)
{
	gb_error err;

	cr_assert_eq(gb_dir_anchor_check("CN=g,DC=x", "Group_0f6e4c9a-1111-2222-3333-444455556666",
					 "0f6e4c9a-1111-2222-3333-444455556666", &err), 0);
	cr_assert_eq(gb_dir_anchor_check("CN=g,DC=x", "Group_0F6E4C9A-1111-2222-3333-444455556666",
					 "0f6e4c9a-1111-2222-3333-444455556666", &err), 0);
	cr_assert_eq(gb_dir_anchor_check("CN=g,DC=x", "Group_abc", NULL, &err), 0);
	cr_assert_eq(gb_dir_anchor_check("CN=g,DC=x", "Group_abc", "abd", &err), GB_EFENCE);
	cr_assert(strstr(err.msg, "\"Group_abc\"") != NULL, "%s", err.msg);
	cr_assert_eq(gb_dir_anchor_check("CN=g,DC=x", NULL, NULL, &err), GB_EFENCE);
	cr_assert(strstr(err.msg, "unset") != NULL);
	cr_assert_eq(gb_dir_anchor_check("CN=g,DC=x", "User_abc", NULL, &err), GB_EFENCE);
	cr_assert_eq(gb_dir_anchor_check("CN=g,DC=x", "Group_", NULL, &err), GB_EFENCE);
	cr_assert_eq(gb_dir_anchor_check("CN=g,DC=x", "group_abc", "abc", &err), GB_EFENCE);
}

Test(errors, classification)
{
	const int retry[] = {LDAP_BUSY, LDAP_UNAVAILABLE, LDAP_SERVER_DOWN, LDAP_TIMEOUT, LDAP_CONNECT_ERROR,
			     LDAP_TIMELIMIT_EXCEEDED};
	size_t i;

	for (i = 0; i < sizeof retry / sizeof retry[0]; i++) {
		cr_assert(gb_directory_ldap_code_is_retryable(retry[i]), "%d", retry[i]);
		cr_assert_eq(gb_directory_ldap_code_to_error(retry[i]), GB_ERETRY);
	}
	/* the test bed document's table: all permanent */
	cr_assert_eq(gb_directory_ldap_code_to_error(LDAP_NO_SUCH_OBJECT), GB_ENOTFOUND);
	cr_assert_eq(gb_directory_ldap_code_to_error(LDAP_ALREADY_EXISTS), GB_EEXISTS);
	cr_assert_eq(gb_directory_ldap_code_to_error(LDAP_UNWILLING_TO_PERFORM), GB_ELDAP);
	cr_assert_eq(gb_directory_ldap_code_to_error(LDAP_CONSTRAINT_VIOLATION), GB_ELDAP);
	cr_assert_eq(gb_directory_ldap_code_to_error(LDAP_NO_SUCH_ATTRIBUTE), GB_ELDAP);
	cr_assert_eq(gb_directory_ldap_code_to_error(LDAP_UNDEFINED_TYPE), GB_ELDAP);
	cr_assert_eq(gb_directory_ldap_code_to_error(LDAP_NOT_ALLOWED_ON_NONLEAF), GB_ELDAP);
	cr_assert_eq(gb_directory_ldap_code_to_error(LDAP_INVALID_CREDENTIALS), GB_EAUTH);
	cr_assert_eq(gb_directory_ldap_code_to_error(LDAP_OPERATIONS_ERROR), GB_ELDAP);
	cr_assert_eq(gb_directory_ldap_code_to_error(LDAP_ADMINLIMIT_EXCEEDED), GB_ELDAP);
	cr_assert_eq(gb_directory_ldap_code_to_error(LDAP_SUCCESS), 0);
	cr_assert_not(gb_directory_ldap_code_is_retryable(LDAP_UNWILLING_TO_PERFORM));
	cr_assert_not(gb_directory_ldap_code_is_retryable(LDAP_ALREADY_EXISTS));
}

/* Parameters of a simple bind as CN=a,DC=x with a password, base DC=x, to uri. */
static gb_directory_params params(const char *uri)
{
	gb_directory_params p = {.uri = uri, .bind_dn = "CN=a,DC=x", .password = "secret", .base_dn = "DC=x"};

	return p;
}

Test(open, refuses_insecure_and_empty_passwords_before_connecting)
{
	gb_directory *d = (gb_directory *)1;
	gb_directory_params p = params("ldap://127.0.0.1:1");
	gb_error err;

	cr_assert_eq(gb_directory_open(&p, &d, &err), GB_EINVAL);
	cr_assert_null(d);
	cr_assert(strstr(err.msg, "unencrypted") != NULL, "%s", err.msg);
	p.uri = "ldaps://127.0.0.1:1";
	p.start_tls = true;
	cr_assert_eq(gb_directory_open(&p, &d, &err), GB_EINVAL);
	p.start_tls = false;
	p.password = "";
	cr_assert_eq(gb_directory_open(&p, &d, &err), GB_EINVAL);
	cr_assert(strstr(err.msg, "empty") != NULL);
	p.password = "secret";
	p.uri = "http://x";
	cr_assert_eq(gb_directory_open(&p, &d, &err), GB_EINVAL);
}

/* AD review D14: the DC and the Global Catalog each have their own TLS mode (LDAPS on 636/3269, StartTLS on
 * 389/3268): a DC on ldap:// with StartTLS and a GC on ldaps://, or the other way round, pass the parameter checks
 * (and then fail to connect, nothing listens there), while start_tls with no ldap:// URI at all, or a plain ldap://
 * GC without StartTLS, is still refused before connecting. */
Test(open, dc_and_gc_tls_modes_may_differ)
{
	gb_directory *d = NULL;
	gb_directory_params p = params("ldap://127.0.0.1:1");
	gb_error err;

	p.connect_timeout = 2;
	p.start_tls = true;
	p.gc_uri = "ldaps://127.0.0.1:2";
	cr_assert_eq(gb_directory_open(&p, &d, &err), GB_ERETRY, "StartTLS DC, LDAPS GC: %s", err.msg);
	p.uri = "ldaps://127.0.0.1:1";
	p.gc_uri = "ldap://127.0.0.1:2";
	cr_assert_eq(gb_directory_open(&p, &d, &err), GB_ERETRY, "LDAPS DC, StartTLS GC: %s", err.msg);
	p.gc_uri = "ldaps://127.0.0.1:2";
	cr_assert_eq(gb_directory_open(&p, &d, &err), GB_EINVAL, "start_tls and no ldap:// uri");
	cr_assert(strstr(err.msg, "start_tls is for ldap://") != NULL, "%s", err.msg);
	p.start_tls = false;
	p.gc_uri = "ldap://127.0.0.1:2";
	cr_assert_eq(gb_directory_open(&p, &d, &err), GB_EINVAL, "a plain GC");
	cr_assert(strstr(err.msg, "gc_uri") != NULL && strstr(err.msg, "unencrypted") != NULL, "%s", err.msg);
	cr_assert_null(d);
}

/* Issue 16: a Kerberos bind needs keytab and principal (checked before connecting), and a Kerberos failure names
 * both, never a key: here the KDC of the realm does not answer (a closed port). */
Test(open, gssapi_needs_keytab_and_principal_and_its_errors_name_them)
{
	char dir[] = "/tmp/gb-krb5-XXXXXX", conf[256];
	gb_directory *d = (gb_directory *)1;
	gb_directory_params p;
	gb_error err;
	FILE *f;
	int rc;

	memset(&p, 0, sizeof p);
	p.bind_method = GB_DIR_BIND_GSSAPI;
	p.uri = "ldaps://127.0.0.1:1";
	p.base_dn = "DC=x";
	p.principal = "svc-groupbridge@TEST.INVALID";
	cr_assert_eq(gb_directory_open(&p, &d, &err), GB_EINVAL);
	cr_assert_null(d);
	cr_assert(strstr(err.msg, "needs keytab and principal") != NULL, "%s", err.msg);
	p.principal = NULL;
	p.keytab = "/nonexistent/svc.keytab";
	cr_assert_eq(gb_directory_open(&p, &d, &err), GB_EINVAL);

	cr_assert_not_null(mkdtemp(dir));
	snprintf(conf, sizeof conf, "%s/krb5.conf", dir);
	f = fopen(conf, "w");
	cr_assert_not_null(f);
	fputs("[libdefaults]\n default_realm = TEST.INVALID\n dns_lookup_kdc = false\n dns_lookup_realm = false\n"
	      "[realms]\n TEST.INVALID = {\n  kdc = 127.0.0.1:1\n }\n", f);
	fclose(f);
	setenv("KRB5_CONFIG", conf, 1);
	p.principal = "svc-groupbridge@TEST.INVALID";
	p.connect_timeout = 2;
	rc = gb_directory_open(&p, &d, &err);
	cr_assert(rc == GB_ERETRY || rc == GB_ECONFIG || rc == GB_EAUTH, "rc %d: %s", rc, err.msg);
	cr_assert_null(d);
	cr_assert(strstr(err.msg, "kerberos login as svc-groupbridge@TEST.INVALID with keytab /nonexistent/svc.keytab") !=
		  NULL, "%s", err.msg);
	unsetenv("KRB5_CONFIG");
	unlink(conf);
	rmdir(dir);
}

/* AD review D1: a referral is its own class, so that callers can tell "in another domain of this forest" from a
 * failure. */
Test(errors, a_referral_is_another_domain_not_a_failure)
{
	cr_assert_eq(gb_directory_ldap_code_to_error(LDAP_REFERRAL), GB_EREFERRAL);
	cr_assert_not(gb_directory_ldap_code_is_retryable(LDAP_REFERRAL));
	cr_assert_str_eq(gb_error_name(GB_EREFERRAL), "EREFERRAL");
}

/* AD review D15: Windows' extended error texts, as captured from Windows Server DCs (peer clients' reports), say
 * what went wrong in words. */
Test(errors, windows_extended_error_texts_are_explained)
{
	static const struct {
		const char *text, *meaning;
	} cases[] = {
		{"80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 52e, v4563",
		 "the password is wrong"},
		{"80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 775, v4563",
		 "the account is locked out"},
		{"80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 532, v4563",
		 "the password has expired"},
		{"80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 533, v4563",
		 "the account is disabled"},
		{"80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 701, v4563",
		 "the account has expired"},
		{"80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 773, v4563",
		 "the password must be changed"},
		{"80090308: LdapErr: DSID-0C090446, comment: AcceptSecurityContext error, data 525, v2580", "no such user"},
		{"80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 530, v4563",
		 "at this time"},
		{"80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 531, v4563",
		 "from this workstation"},
		{"0000202B: RefErr: DSID-0310082F, data 0, 1 access points\tref 1: 'child.contoso.com'", "a referral"},
		{"00002024: SvcErr: DSID-031A1217, problem 5008 (ADMIN_LIMIT_EXCEEDED), data 0",
		 "administrative limit"},
		{"00002028: LdapErr: DSID-0C090259, comment: The server requires binds to turn on integrity checking if "
		 "SSL\\TLS are not already active on the connection, data 0, v4563",
		 "requires TLS or signing"},
		{"00000005: SecErr: DSID-03152857, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0", "access denied"},
		{"00000525: NameErr: DSID-031A1262, problem 2001 (NO_OBJECT), data 0, best match of:",
		 "does not exist (for a member change: a member value)"},
		{"0000208D: NameErr: DSID-03100241, problem 2001 (NO_OBJECT), data 0, best match of:",
		 "the object does not exist"},
		{"00000523: SysErr: DSID-031A1256, problem 22 (Invalid argument), data 0", "does not accept the value"},
		{"00000524: UpdErr: DSID-031A11E0, problem 6005 (ENTRY_EXISTS), data 0", "in use"},
		{"00002071: samldb: member CN=u,OU=x,DC=test,DC=example already set via primaryGroupID 1896",
		 "primary group"},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *m = gb_directory_explain_diagnostic(cases[i].text);

		cr_assert_not_null(m, "no meaning for %s", cases[i].text);
		cr_assert(strstr(m, cases[i].meaning) != NULL, "%s: %s", cases[i].text, m);
	}
	cr_assert_null(gb_directory_explain_diagnostic(NULL));
	cr_assert_null(gb_directory_explain_diagnostic(""));
	cr_assert_null(gb_directory_explain_diagnostic("Invalid DN syntax"));
	cr_assert_null(gb_directory_explain_diagnostic("000020EF: SvcErr: DSID-0208058F, problem 5012 (DIR_ERROR)"));
	/* "data 52e" outside a bind refusal is no password verdict */
	cr_assert_null(gb_directory_explain_diagnostic("0000052E: something, data 52e"));
}

/* ---- config check's pure decisions (AD review D9, issue 16) ---- */

static gb_dir_entry *entry_with(const char *attr, const char *const *values, size_t n)
{
	gb_dir_entry *e = calloc(1, sizeof(*e));

	e->dn = strdup("");
	e->attrs = calloc(1, sizeof(gb_dir_attr));
	e->nattrs = 1;
	e->attrs[0].name = strdup(attr);
	e->attrs[0].values = calloc(n + 1, sizeof(gb_dir_value));
	e->attrs[0].nvalues = n;
	for (size_t i = 0; i < n; i++) {
		e->attrs[0].values[i].data = strdup(values[i]);
		e->attrs[0].values[i].len = strlen(values[i]);
	}
	return e;
}

Test(preflight, a_read_only_dc_is_told_by_its_capabilities)
{
	const char *rwdc[] = {"1.2.840.113556.1.4.800", "1.2.840.113556.1.4.1670"};
	const char *rodc[] = {"1.2.840.113556.1.4.800", "1.2.840.113556.1.4.1920"};
	gb_dir_entry *a = entry_with("supportedCapabilities", rwdc, 2), *b = entry_with("supportedCapabilities", rodc, 2);

	cr_assert_not(gb_directory_rootdse_is_rodc(a));
	cr_assert(gb_directory_rootdse_is_rodc(b));
	gb_dir_entry_free(a);
	gb_dir_entry_free(b);
}

Test(preflight, the_enforcement_allow_list_names_whole_sids)
{
	const char *settings[] = {"S-1-5-21-1-2-3-1105", "s-1-5-21-1-2-3-512"};
	const char *mine[] = {"S-1-5-21-1-2-3-1105"}, *group[] = {"S-1-5-21-1-2-3-9999", "S-1-5-21-1-2-3-512"},
		   *prefix[] = {"S-1-5-21-1-2-3-110"}, *other[] = {"S-1-5-21-1-2-3-1106"};
	gb_dir_entry *p = entry_with("msDS-Settings", settings, 2);

	cr_assert(gb_directory_soa_allows(p, mine, 1));
	cr_assert(gb_directory_soa_allows(p, group, 2), "one of the account's groups is enough");
	cr_assert_not(gb_directory_soa_allows(p, prefix, 1), "a SID is not the prefix of a longer one");
	cr_assert_not(gb_directory_soa_allows(p, other, 1));
	gb_dir_entry_free(p);
}
