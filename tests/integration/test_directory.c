/* Integration tests of the directory client against the test bed's Samba AD DC (GB_TEST_DC1_*). Every test works
 * in an OU of its own (tests run in parallel processes against the same DC). OUs are not removed afterwards: a
 * tree delete of thousands of objects takes Samba minutes, and with-testbed.sh discards the whole DC anyway.
 * The code under test binds as the delegated account and reaches the DC through GB_TEST_DC1_GB_* (the DC itself, or
 * the Windows personality proxy in the test bed's second pass); fixtures are made as Administrator, directly. Tests
 * of a Windows behaviour Samba lacks start a proxy of their own (tests/support/ldapproxy.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/directory.h"
#include "groupbridge/util.h"
#include "support/ldapproxy.h"

static const char *env(const char *name)
{
	const char *v = getenv(name);

	cr_assert(v && *v, "%s is not set: run under tests/testbed/with-testbed.sh", name);
	return v;
}

static char *read_password(const char *var)
{
	char *pw = NULL;
	gb_error err;

	cr_assert_eq(gb_secret_read_file(env(var), &pw, &err), 0, "%s", err.msg);
	return pw;
}

/* Administrator's password (fixtures) */
static char *password(void)
{
	return read_password("GB_TEST_DC1_BIND_PASSWORD_FILE");
}

/* The MaxValRange the DC applies: the proxy's in the Windows pass, else none (Samba honours any range asked). */
static unsigned long max_val_range(void)
{
	const char *w = getenv("GB_TEST_WINDOWS"), *n = getenv("GB_TEST_MAX_VAL_RANGE");

	return w && *w && n && *n ? strtoul(n, NULL, 10) : 0;
}

static char *ca_file(void)
{
	static char path[512];

	snprintf(path, sizeof path, "%s/ca.pem", env("GB_TEST_CA_DIR"));
	return path;
}

/* ---- a raw libldap connection for fixtures (creating OUs, users, cleanup), independent of the code under test */

static LDAP *raw_connect(void)
{
	LDAP *ld = NULL;
	int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
	struct berval cred;
	char *pw = password();

	cr_assert_eq(ldap_initialize(&ld, env("GB_TEST_DC1_LDAPS_URI")), LDAP_SUCCESS);
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
	ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
	ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, ca_file());
	ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
	cred.bv_val = pw;
	cred.bv_len = strlen(pw);
	cr_assert_eq(ldap_sasl_bind_s(ld, env("GB_TEST_DC1_BIND_DN"), LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL),
		     LDAP_SUCCESS);
	gb_secret_free(pw);
	return ld;
}

static int raw_add(LDAP *ld, const char *dn, const char *oc, const char *attr, const char *value)
{
	char *ocv[] = {(char *)oc, NULL}, *vv[] = {(char *)value, NULL};
	LDAPMod m1 = {LDAP_MOD_ADD, "objectClass", {ocv}}, m2 = {LDAP_MOD_ADD, (char *)attr, {vv}};
	LDAPMod *mods[] = {&m1, attr ? &m2 : NULL, NULL};

	return ldap_add_ext_s(ld, dn, mods, NULL, NULL);
}

/* Creates "OU=gbtest-NAME-PID-N,BASE" and returns its DN (static storage per test process). */
static const char *make_ou(LDAP *ld, const char *name)
{
	static char dn[256];
	static int n;
	char value[128], *built = NULL;

	snprintf(value, sizeof value, "gbtest-%s-%ld-%d", name, (long)getpid(), n++);
	cr_assert_eq(gb_ad_dn_build("OU", value, env("GB_TEST_DC1_BASE_DN"), &built, NULL), 0);
	snprintf(dn, sizeof dn, "%s", built);
	free(built);
	cr_assert_eq(raw_add(ld, dn, "organizationalUnit", NULL, NULL), LDAP_SUCCESS, "creating %s", dn);
	return dn;
}

static bool raw_exists(LDAP *ld, const char *dn)
{
	LDAPMessage *res = NULL;
	char *attrs[] = {"1.1", NULL};
	int rc = ldap_search_ext_s(ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL, NULL, 1, &res);

	ldap_msgfree(res);
	return rc == LDAP_SUCCESS;
}

/* n contacts CN=PREFIX-i,OU: asynchronous adds, 64 outstanding at a time. Returns their DNs (caller frees). */
static char **bulk_contacts(LDAP *ld, const char *ou, const char *prefix, size_t n)
{
	char **dns = calloc(n, sizeof *dns);
	size_t sent = 0, done = 0;
	int outstanding = 0;

	cr_assert_not_null(dns);
	while (done < n) {
		while (sent < n && outstanding < 64) {
			char *ocv[] = {"contact", NULL};
			LDAPMod m1 = {LDAP_MOD_ADD, "objectClass", {ocv}}, *mods[] = {&m1, NULL};
			int msgid;
			char buf[256];

			snprintf(buf, sizeof buf, "CN=%s-%zu,%s", prefix, sent, ou);
			dns[sent] = strdup(buf);
			cr_assert_eq(ldap_add_ext(ld, dns[sent], mods, NULL, NULL, &msgid), LDAP_SUCCESS);
			sent++;
			outstanding++;
		}
		LDAPMessage *res = NULL;
		int err = 0;
		cr_assert_gt(ldap_result(ld, LDAP_RES_ANY, LDAP_MSG_ONE, NULL, &res), 0);
		cr_assert_eq(ldap_parse_result(ld, res, &err, NULL, NULL, NULL, NULL, 1), LDAP_SUCCESS);
		cr_assert_eq(err, LDAP_SUCCESS, "adding a contact: %s", ldap_err2string(err));
		outstanding--;
		done++;
	}
	return dns;
}

static void free_list(char **list, size_t n)
{
	size_t i;

	for (i = 0; list && i < n; i++)
		free(list[i]);
	free(list);
}

/* ---- the code under test ---- */

/* The code under test, as the delegated account (bind: NULL for its DN, or its UPN). */
static int open_dir(const char *uri, bool start_tls, const char *ca, const char *bind, const char *fence,
		    gb_directory **out, gb_error *err)
{
	gb_directory_params p;
	char *pw = read_password("GB_TEST_DC1_GB_PASSWORD_FILE");
	int rc;

	memset(&p, 0, sizeof p);
	p.uri = uri;
	p.bind_dn = bind ? bind : env("GB_TEST_DC1_GB_BIND_DN");
	p.password = pw;
	p.base_dn = env("GB_TEST_DC1_BASE_DN");
	p.ca_file = ca;
	p.start_tls = start_tls;
	p.allowed_containers = fence;
	p.timeout = 60;
	rc = gb_directory_open(&p, out, err);
	gb_secret_free(pw);
	return rc;
}

static gb_directory *dir_for(const char *fence)
{
	gb_directory *d = NULL;
	gb_error err;

	cr_assert_eq(open_dir(env("GB_TEST_DC1_GB_LDAPS_URI"), false, ca_file(), NULL, fence, &d, &err), 0, "%s",
		     err.msg);
	return d;
}

/* Declares ld (the raw client), ou (a new OU named name, made with it) and d (groupbridge's client fenced to ou);
 * OU_END frees d and ld. */
#define OU_START(name)                                                                                            \
	LDAP *ld = raw_connect();                                                                                  \
	char ou[256];                                                                                              \
	snprintf(ou, sizeof ou, "%s", make_ou(ld, name));                                                          \
	gb_directory *d = dir_for(ou)
#define OU_END()                                                                                                   \
	do {                                                                                                       \
		gb_directory_free(d);                                                                              \
		ldap_unbind_ext_s(ld, NULL, NULL);                                                                 \
	} while (0)

/* Creates the group dn with the first n of members (the create must succeed); the adds and modifies it took go to
 * *adds and *modifies. */
static void create_with_members(gb_directory *d, const char *dn, char **members, size_t n, unsigned long *adds,
				unsigned long *modifies)
{
	gb_directory_group_spec spec = {.dn = dn, .members = (const char *const *)members, .nmembers = n};
	unsigned long a = gb_directory_get_stats(d)->adds, m = gb_directory_get_stats(d)->modifies;
	gb_error err;

	cr_assert_eq(gb_directory_create_group(d, &spec, &err), 0, "%s", err.msg);
	*adds = gb_directory_get_stats(d)->adds - a;
	*modifies = gb_directory_get_stats(d)->modifies - m;
}

/* The code under test as Administrator, directly on the DC: for what the delegated account may not do (the
 * classification of server refusals on users, for one). */
static gb_directory *admin_dir_for(const char *fence)
{
	gb_directory_params p;
	gb_directory *d = NULL;
	char *pw = password();
	gb_error err;

	memset(&p, 0, sizeof p);
	p.uri = env("GB_TEST_DC1_LDAPS_URI");
	p.bind_dn = env("GB_TEST_DC1_BIND_DN");
	p.password = pw;
	p.base_dn = env("GB_TEST_DC1_BASE_DN");
	p.ca_file = ca_file();
	p.allowed_containers = fence;
	p.timeout = 60;
	cr_assert_eq(gb_directory_open(&p, &d, &err), 0, "%s", err.msg);
	gb_secret_free(pw);
	return d;
}

static void create_group(gb_directory *d, const char *dn, const char *anchor)
{
	gb_directory_group_spec g;
	gb_error err;

	memset(&g, 0, sizeof g);
	g.dn = dn;
	g.anchor = anchor;
	cr_assert_eq(gb_directory_create_group(d, &g, &err), 0, "%s", err.msg);
}

static char *child(const char *value, const char *parent)
{
	char *dn = NULL;
	gb_error err;

	cr_assert_eq(gb_ad_dn_build("CN", value, parent, &dn, &err), 0);
	return dn;
}

static int count_cb(const char *value, size_t len, void *ctx, gb_error *err)
{
	(void)value;
	(void)len;
	(void)err;
	(*(size_t *)ctx)++;
	return 0;
}

struct found {
	size_t n;
	char cn[256];
};

static int found_cb(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	struct found *f = ctx;
	const char *cn = gb_dir_entry_str(e, "cn");

	(void)err;
	f->n++;
	snprintf(f->cn, sizeof f->cn, "%s", cn ? cn : "");
	return 0;
}

static int stop_at_1500(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	struct found *f = ctx;

	(void)e;
	if (++f->n == 1500)
		return gb_error_set(err, GB_EINTERRUPTED, "stopped at 1500");
	return 0;
}

/* generous: on a shared, loaded 2-core machine the bulk fixtures alone take minutes; no test asserts a time */
TestSuite(directory, .timeout = 900);

Test(directory, tls_verified_with_the_test_ca_and_refused_without_it)
{
	gb_directory *d = NULL;
	gb_dir_entry *root = NULL;
	gb_error err;
	static const char *const attrs[] = {"dnsHostName", NULL};

	unsetenv("LDAPTLS_CACERT");
	unsetenv("LDAPTLS_REQCERT");
	/* LDAPS, verified */
	cr_assert_eq(open_dir(env("GB_TEST_DC1_GB_LDAPS_URI"), false, ca_file(), NULL, NULL, &d, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(gb_directory_get(d, "", attrs, 0, &root, &err), 0, "%s", err.msg);
	cr_assert_not_null(gb_dir_entry_str(root, "dnsHostName"));
	gb_dir_entry_free(root);
	gb_directory_free(d);
	/* StartTLS, verified, bound by UPN */
	d = NULL;
	cr_assert_eq(open_dir(env("GB_TEST_DC1_GB_LDAP_URI"), true, ca_file(), env("GB_TEST_DC1_GB_BIND_UPN"), NULL, &d,
			      &err), 0, "%s", err.msg);
	gb_directory_free(d);
	/* without the test CA (the system trust store does not know it): refused as a TLS failure */
	d = NULL;
	cr_assert_eq(open_dir(env("GB_TEST_DC1_GB_LDAPS_URI"), false, NULL, NULL, NULL, &d, &err), GB_ETLS, "%s",
		     err.msg);
	cr_assert_null(d);
	cr_assert_eq(open_dir(env("GB_TEST_DC1_GB_LDAP_URI"), true, NULL, NULL, NULL, &d, &err), GB_ETLS, "%s",
		     err.msg);
	cr_assert_null(d);
	/* a CA that did not sign the server's certificate */
	char other[512], cmd[1200];
	snprintf(other, sizeof other, "%s/other-ca-%ld", env("GB_TEST_TMP"), (long)getpid());
	snprintf(cmd, sizeof cmd,
		 "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=other -keyout %s.key -out %s.pem "
		 ">/dev/null 2>&1", other, other);
	cr_assert_eq(system(cmd), 0);
	char other_pem[600];
	snprintf(other_pem, sizeof other_pem, "%s.pem", other);
	cr_assert_eq(open_dir(env("GB_TEST_DC1_GB_LDAPS_URI"), false, other_pem, NULL, NULL, &d, &err), GB_ETLS, "%s",
		     err.msg);
	cr_assert_null(d);
	/* plain LDAP without allow_insecure is refused before connecting */
	cr_assert_eq(open_dir(env("GB_TEST_DC1_GB_LDAP_URI"), false, ca_file(), NULL, NULL, &d, &err), GB_EINVAL);
}

/* AD review D10: the DC requires TLS for a simple bind (the test bed's "ldap server require strong auth = allow_sasl_over_tls", as
 * Windows with LDAPServerIntegrity 2): even with allow_insecure, a plain bind gets strongerAuthRequired (8), which is
 * an authentication error, and the server's reason is kept. */
Test(directory, a_plain_simple_bind_on_a_hardened_dc_is_an_authentication_error)
{
	gb_directory_params p;
	gb_directory *d = NULL;
	char *pw = read_password("GB_TEST_DC1_GB_PASSWORD_FILE");
	gb_error err;

	memset(&p, 0, sizeof p);
	p.uri = env("GB_TEST_DC1_GB_LDAP_URI");
	p.allow_insecure = true;
	p.bind_dn = env("GB_TEST_DC1_GB_BIND_DN");
	p.password = pw;
	p.base_dn = env("GB_TEST_DC1_BASE_DN");
	cr_assert_eq(gb_directory_open(&p, &d, &err), GB_EAUTH, "%s", err.msg);
	cr_assert_null(d);
	cr_assert(strstr(err.msg, "(8)") != NULL, "strongerAuthRequired: %s", err.msg);
	cr_assert(strstr(err.msg, pw) == NULL);
	gb_secret_free(pw);
}

Test(directory, wrong_password_is_an_authentication_error)
{
	gb_directory_params p;
	gb_directory *d = NULL;
	gb_error err;

	memset(&p, 0, sizeof p);
	p.uri = env("GB_TEST_DC1_GB_LDAPS_URI");
	p.bind_dn = env("GB_TEST_DC1_GB_BIND_DN");
	p.password = "Not-The-Password-1";
	p.base_dn = env("GB_TEST_DC1_BASE_DN");
	p.ca_file = ca_file();
	cr_assert_eq(gb_directory_open(&p, &d, &err), GB_EAUTH, "%s", err.msg);
	cr_assert(strstr(err.msg, "(49)") != NULL, "%s", err.msg);
	cr_assert(strstr(err.msg, "52e") != NULL, "server diagnostic kept: %s", err.msg);
	/* AD review D15: and said in words */
	cr_assert(strstr(err.msg, "(the password is wrong)") != NULL, "%s", err.msg);
	cr_assert(strstr(err.msg, "Not-The-Password") == NULL);
}

Test(directory, a_server_that_is_not_there_is_retryable)
{
	gb_directory_params p;
	gb_directory *d = NULL;
	gb_error err;

	memset(&p, 0, sizeof p);
	p.uri = "ldaps://127.0.0.1:9"; /* discard port: nothing listens */
	p.bind_dn = "CN=x,DC=y";
	p.password = "x";
	p.base_dn = "DC=y";
	p.ca_file = ca_file();
	p.connect_timeout = 2;
	cr_assert_eq(gb_directory_open(&p, &d, &err), GB_ERETRY, "%s", err.msg);
}

Test(directory, three_thousand_members_read_through_ranges_and_five_thousand_added_in_batches)
{
	OU_START("bulk");
	char **contacts;
	char *g5 = child("five thousand", ou), *g3 = child("three thousand", ou);
	size_t done = 0, count = 0, i;
	int64_t t0;
	gb_ad_group *group = NULL;
	gb_error err;

	t0 = gb_time_mono_ms();
	contacts = bulk_contacts(ld, ou, "member", 5000);
	fprintf(stderr, "directory: 5000 contacts created in %.2f s (fixture)\n", (gb_time_mono_ms() - t0) / 1000.0);
	create_group(d, g5, NULL);
	create_group(d, g3, NULL);

	t0 = gb_time_mono_ms();
	cr_assert_eq(gb_directory_add_members(d, g5, (const char *const *)contacts, 5000, &done, &err), 0, "%s",
		     err.msg);
	fprintf(stderr, "directory: 5000 members added in batches of %ld in %.2f s\n", gb_directory_member_batch(d),
		(gb_time_mono_ms() - t0) / 1000.0);
	cr_assert_eq(done, 5000);
	/* a retried batch is harmless (permissive modify): the first 1000 again */
	cr_assert_eq(gb_directory_add_members(d, g5, (const char *const *)contacts, 1000, &done, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(gb_directory_read_values(d, g5, "member", 0, count_cb, &count, &err), 0, "%s", err.msg);
	cr_assert_eq(count, 5000);

	/* a paged search of the OU: 5000 contacts and 2 groups in pages of 1000 (a lost cookie would stop at 1000) */
	struct found all = {0, ""};
	static const char *const cn_only[] = {"cn", NULL};
	t0 = gb_time_mono_ms();
	cr_assert_eq(gb_directory_search(d, ou, GB_DIR_ONELEVEL, "(objectClass=*)", cn_only, 0, found_cb, &all,
					 &err), 0, "%s", err.msg);
	fprintf(stderr, "directory: paged search of 5002 entries in %.2f s\n", (gb_time_mono_ms() - t0) / 1000.0);
	cr_assert_eq(all.n, 5002);
	/* a callback that stops the search in the second page: its code comes back, the connection stays usable */
	struct found some = {0, ""};
	cr_assert_eq(gb_directory_search(d, ou, GB_DIR_ONELEVEL, "(objectClass=*)", cn_only, 0, stop_at_1500, &some,
					 &err), GB_EINTERRUPTED);
	cr_assert_eq(some.n, 1500);
	cr_assert_str_eq(err.msg, "stopped at 1500");
	all.n = 0;
	cr_assert_eq(gb_directory_search(d, ou, GB_DIR_ONELEVEL, "(objectClass=*)", cn_only, 0, found_cb, &all,
					 &err), 0, "%s", err.msg);
	cr_assert_eq(all.n, 5002);

	cr_assert_eq(gb_directory_add_members(d, g3, (const char *const *)contacts, 3000, &done, &err), 0, "%s",
		     err.msg);
	/* Samba honours explicit ranges of 1000, so reading 3000 takes three chunks ending in -*; a DC with a smaller
	 * MaxValRange (the Windows pass) answers fewer values a chunk, under the name of the range it sent */
	static const char *const first[] = {"member;range=0-999", NULL};
	unsigned long cap = max_val_range() ? max_val_range() : 1000;
	char first_name[64];
	gb_dir_entry *e = NULL;
	snprintf(first_name, sizeof first_name, "member;range=0-%lu", cap - 1);
	cr_assert_eq(gb_directory_get(d, g3, first, 0, &e, &err), 0, "%s", err.msg);
	cr_assert_not_null(gb_dir_entry_attr(e, first_name), "no %s", first_name);
	cr_assert_eq(gb_dir_entry_attr(e, first_name)->nvalues, cap);
	gb_dir_entry_free(e);

	t0 = gb_time_mono_ms();
	cr_assert_eq(gb_directory_read_group(d, g3, true, &group, &err), 0, "%s", err.msg);
	fprintf(stderr, "directory: a 3000-member group read (ranges of 1000, extended dn) in %.2f s\n",
		(gb_time_mono_ms() - t0) / 1000.0);
	cr_assert(group->members_read);
	cr_assert_eq(group->nmembers, 3000);
	/* every member GUID is the GUID of one of the first 3000 contacts */
	for (i = 0; i < 3000; i += 499) {
		static const char *const ga[] = {"objectGUID", NULL};
		char guid[GB_AD_GUID_TEXT_SIZE];
		size_t j;
		bool found = false;

		cr_assert_eq(gb_directory_get(d, contacts[i], ga, 0, &e, &err), 0, "%s", err.msg);
		cr_assert(gb_dir_entry_guid(e, guid));
		gb_dir_entry_free(e);
		for (j = 0; j < group->nmembers && !found; j++)
			found = strcmp(group->member_guids[j], guid) == 0;
		cr_assert(found, "member %s (%s) not read", contacts[i], guid);
	}
	gb_ad_group_free(group);

	/* the same through a DC shaped like Windows (a proxy of this test's own): ranged answers of at most 7 values,
	 * a plain read of member answered with an empty member and member;range=0-6, pages of 50, and more than 300
	 * member values in one request refused with adminLimitExceeded (AD review D7): every member is read, and a
	 * group of 700 members is written in halved batches (the add of 700 refused, of 350 refused, of 175 taken) */
	{
		static const char *const limits[] = {"--max-val-range", "7", "--max-page-size", "50", "--member-limit",
						     "300", NULL};
		gb_ldap_proxy *px = NULL;
		gb_directory *w = NULL;
		char *gw = child("windows limits", ou);
		unsigned long adds, modifies;

		cr_assert_eq(gb_ldap_proxy_start(limits, &px), 0);
		cr_assert_eq(open_dir(px->ldaps_uri, false, ca_file(), NULL, ou, &w, &err), 0, "%s", err.msg);
		t0 = gb_time_mono_ms();
		cr_assert_eq(gb_directory_read_group(w, g3, true, &group, &err), 0, "%s", err.msg);
		fprintf(stderr, "directory: a 3000-member group read through a proxy capping ranges at 7 in %.2f s\n",
			(gb_time_mono_ms() - t0) / 1000.0);
		cr_assert_eq(group->nmembers, 3000, "read through ranges of 7: %zu", group->nmembers);
		gb_ad_group_free(group);
		/* a plain read of member gets Windows' forced shape: an empty member and member;range=0-6 */
		static const char *const plain_member[] = {"member", NULL};
		cr_assert_eq(gb_directory_get(w, g3, plain_member, 0, &e, &err), 0, "%s", err.msg);
		cr_assert_not_null(gb_dir_entry_attr(e, "member"));
		cr_assert_eq(gb_dir_entry_attr(e, "member")->nvalues, 0);
		cr_assert_not_null(gb_dir_entry_attr(e, "member;range=0-6"));
		cr_assert_eq(gb_dir_entry_attr(e, "member;range=0-6")->nvalues, 7);
		gb_dir_entry_free(e);
		all.n = 0;
		cr_assert_eq(gb_directory_search(w, ou, GB_DIR_ONELEVEL, "(objectClass=*)", cn_only, 0, found_cb,
						 &all, &err), 0, "%s", err.msg);
		cr_assert_eq(all.n, 5002, "pages of 50");
		create_with_members(w, gw, contacts, 700, &adds, &modifies);
		cr_assert_eq(adds, 3, "700, 350, then 175 in the add");
		cr_assert_eq(modifies, 3, "the other 525 in batches of 175");
		count = 0;
		cr_assert_eq(gb_directory_read_values(w, gw, "member", 0, count_cb, &count, &err), 0, "%s", err.msg);
		cr_assert_eq(count, 700);
		cr_assert_eq(gb_directory_remove_members(w, gw, (const char *const *)contacts, 500, &done, &err), 0, "%s",
			     err.msg);
		cr_assert_eq(done, 500);
		count = 0;
		cr_assert_eq(gb_directory_read_values(d, gw, "member", 0, count_cb, &count, &err), 0, "%s", err.msg);
		cr_assert_eq(count, 200);
		gb_directory_free(w);
		gb_ldap_proxy_free(px);
		free(gw);
	}

	/* removing in batches, again harmless when repeated */
	t0 = gb_time_mono_ms();
	cr_assert_eq(gb_directory_remove_members(d, g3, (const char *const *)contacts + 1000, 2000, &done, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(gb_directory_remove_members(d, g3, (const char *const *)contacts + 1000, 2000, &done, &err), 0,
		     "%s", err.msg);
	fprintf(stderr, "directory: 2000 members removed twice in %.2f s\n", (gb_time_mono_ms() - t0) / 1000.0);
	count = 0;
	cr_assert_eq(gb_directory_read_values(d, g3, "member", 0, count_cb, &count, &err), 0, "%s", err.msg);
	cr_assert_eq(count, 1000);

	free(g5);
	free(g3);
	free_list(contacts, 5000);
	OU_END();
}

/* An add sent again after a reconnect whose first attempt had landed: the entry carries this group's anchor, so the
 * add is done; an entry at that DN with another anchor, or none, stays "already exists". */
Test(directory, an_add_that_already_landed_with_its_own_anchor_is_done)
{
	OU_START("relanded");
	char *g = child("relanded group", ou), *h = child("plain group", ou);
	gb_directory_group_spec spec;
	gb_ad_group *a = NULL;
	gb_error err;

	create_group(d, g, "Group_00000a20-0000-4000-8000-000000000001");
	create_group(d, g, "Group_00000a20-0000-4000-8000-000000000001");
	cr_assert_eq(gb_directory_read_group(d, g, false, &a, &err), 0, "%s", err.msg);
	cr_assert_str_eq(a->anchor, "Group_00000a20-0000-4000-8000-000000000001");
	gb_ad_group_free(a);
	memset(&spec, 0, sizeof spec);
	spec.dn = g;
	spec.anchor = "Group_00000a20-0000-4000-8000-000000000002";
	cr_assert_eq(gb_directory_create_group(d, &spec, &err), GB_EEXISTS, "another anchor: %s", err.msg);
	create_group(d, h, NULL);
	spec.dn = h;
	cr_assert_eq(gb_directory_create_group(d, &spec, &err), GB_EEXISTS, "no anchor there: %s", err.msg);
	free(g);
	free(h);
	OU_END();
}

Test(directory, error_cases_are_classified)
{
	LDAP *ld = raw_connect();
	char ou[256];
	snprintf(ou, sizeof ou, "%s", make_ou(ld, "errors"));
	gb_directory *d = admin_dir_for(ou); /* it writes users, which the delegated account may not */
	char *g = child("errors group", ou), *g2 = child("errors group 2", ou), *c1 = child("c1", ou);
	char *missing = child("nobody", ou);
	gb_error err;

	create_group(d, g, NULL);
	cr_assert_eq(raw_add(ld, c1, "contact", NULL, NULL), LDAP_SUCCESS);

	/* add a member DN that does not exist: 32 */
	const char *v_missing[] = {missing, NULL}, *v_c1[] = {c1, NULL};
	gb_dir_change add_missing = {GB_DIR_MOD_ADD, "member", v_missing};
	cr_assert_eq(gb_directory_modify(d, g, &add_missing, 1, &err), GB_ENOTFOUND, "%s", err.msg);
	cr_assert_eq(gb_directory_last_ldap_code(d), 32);
	cr_assert(strstr(err.msg, "ldap modify ") != NULL && strstr(err.msg, "errors group") != NULL, "%s", err.msg);

	/* add a member that is already a member (without the permissive control): 68 */
	gb_dir_change add_c1 = {GB_DIR_MOD_ADD, "member", v_c1};
	cr_assert_eq(gb_directory_modify(d, g, &add_c1, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_modify(d, g, &add_c1, 1, &err), GB_EEXISTS, "%s", err.msg);
	cr_assert_eq(gb_directory_last_ldap_code(d), 68);

	/* delete a value that is not a member: 53 */
	gb_dir_change del_c1 = {GB_DIR_MOD_DELETE, "member", v_c1};
	cr_assert_eq(gb_directory_modify(d, g, &del_c1, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_modify(d, g, &del_c1, 1, &err), GB_ELDAP, "%s", err.msg);
	cr_assert_eq(gb_directory_last_ldap_code(d), 53);

	/* add an entry whose DN exists: 68 */
	gb_directory_group_spec spec;
	memset(&spec, 0, sizeof spec);
	spec.dn = g;
	cr_assert_eq(gb_directory_create_group(d, &spec, &err), GB_EEXISTS, "%s", err.msg);
	cr_assert(strstr(err.msg, "ldap add ") != NULL, "%s", err.msg);

	/* duplicate sAMAccountName, on add and on modify: 68 */
	char sam[64];
	snprintf(sam, sizeof sam, "gbdup%ld", (long)getpid());
	spec.dn = g2;
	spec.sam_account_name = sam;
	cr_assert_eq(gb_directory_create_group(d, &spec, &err), 0, "%s", err.msg);
	char *g3 = child("errors group 3", ou);
	spec.dn = g3;
	cr_assert_eq(gb_directory_create_group(d, &spec, &err), GB_EEXISTS, "%s", err.msg);
	const char *v_sam[] = {sam, NULL};
	gb_dir_change set_sam = {GB_DIR_MOD_REPLACE, "sAMAccountName", v_sam};
	cr_assert_eq(gb_directory_modify(d, g, &set_sam, 1, &err), GB_EEXISTS, "%s", err.msg);
	cr_assert_eq(gb_directory_last_ldap_code(d), 68);

	/* duplicate userPrincipalName: 19 */
	char upn[128], *u1 = child("u1", ou), *u2 = child("u2", ou);
	snprintf(upn, sizeof upn, "gbupn%ld@test.example", (long)getpid());
	cr_assert_eq(raw_add(ld, u1, "user", "userPrincipalName", upn), LDAP_SUCCESS);
	cr_assert_eq(raw_add(ld, u2, "user", NULL, NULL), LDAP_SUCCESS);
	const char *v_upn[] = {upn, NULL};
	gb_dir_change set_upn = {GB_DIR_MOD_REPLACE, "userPrincipalName", v_upn};
	cr_assert_eq(gb_directory_modify(d, u2, &set_upn, 1, &err), GB_ELDAP, "%s", err.msg);
	cr_assert_eq(gb_directory_last_ldap_code(d), 19);

	/* attribute not in schema */
	const char *v_x[] = {"x", NULL};
	gb_dir_change bogus = {GB_DIR_MOD_REPLACE, "gbNoSuchAttribute", v_x};
	cr_assert_eq(gb_directory_modify(d, g, &bogus, 1, &err), GB_ELDAP, "%s", err.msg);
	cr_assert(gb_directory_last_ldap_code(d) == 16 || gb_directory_last_ldap_code(d) == 17, "%d",
		  gb_directory_last_ldap_code(d));

	/* modify an entry that does not exist: 32 */
	gb_dir_change set_desc = {GB_DIR_MOD_REPLACE, "description", v_x};
	cr_assert_eq(gb_directory_modify(d, missing, &set_desc, 1, &err), GB_ENOTFOUND, "%s", err.msg);

	/* a modify with several changes where one fails: nothing applied */
	gb_dir_change two[] = {{GB_DIR_MOD_REPLACE, "description", v_x}, {GB_DIR_MOD_ADD, "member", v_missing}};
	cr_assert_eq(gb_directory_modify(d, g, two, 2, &err), GB_ENOTFOUND, "%s", err.msg);
	gb_dir_entry *e = NULL;
	static const char *const da[] = {"description", NULL};
	cr_assert_eq(gb_directory_get(d, g, da, 0, &e, &err), 0);
	cr_assert_null(gb_dir_entry_str(e, "description"));
	gb_dir_entry_free(e);

	/* a read of something that does not exist */
	cr_assert_eq(gb_directory_get(d, missing, da, 0, &e, &err), GB_ENOTFOUND, "%s", err.msg);
	cr_assert_null(e);

	/* no wholesale replace of member, ever */
	gb_dir_change repl = {GB_DIR_MOD_REPLACE, "member", v_c1};
	cr_assert_eq(gb_directory_modify(d, g, &repl, 1, &err), GB_EINVAL);

	free(g);
	free(g2);
	free(g3);
	free(c1);
	free(u1);
	free(u2);
	free(missing);
	OU_END();
}

Test(directory, dn_escaping_round_trips_through_the_dc)
{
	static const char *names[] = {"comma, here", "plus+sign", "quote\"d", "back\\slash", "<angle>", "semi;colon",
				      "equal=s", "#hash", " leading space", "trailing space ", "Ågren Zoë Jürgen ñ",
				      "all , + \" \\ < > ; = # of them", "  two leading and two trailing  "};
	OU_START("escape, me + \"you\"");
	size_t i;
	gb_error err;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		char *dn = child(names[i], ou);
		gb_dir_entry *e = NULL;
		static const char *const attrs[] = {"cn", "name", NULL};
		gb_buf f;

		create_group(d, dn, NULL);
		/* read back by DN */
		cr_assert_eq(gb_directory_get(d, dn, attrs, 0, &e, &err), 0, "%s: %s", names[i], err.msg);
		cr_assert_str_eq(gb_dir_entry_str(e, "cn"), names[i]);
		cr_assert_eq(gb_ad_dn_text_equal(e->dn, dn, &err), 1, "%s vs %s", e->dn, dn);
		gb_dir_entry_free(e);
		/* and by a filter on cn, escaped */
		gb_buf_init(&f, GB_BUF_DEFAULT_MAX);
		gb_buf_puts(&f, "(cn=", NULL);
		gb_ad_filter_escape(names[i], strlen(names[i]), &f, NULL);
		gb_buf_putc(&f, ')', NULL);
		struct found c = {0, ""};
		cr_assert_eq(gb_directory_search(d, ou, GB_DIR_ONELEVEL, gb_buf_cstr(&f), attrs, 0, found_cb, &c, &err), 0,
			     "%s", err.msg);
		cr_assert_eq(c.n, 1, "filter %s found %zu", gb_buf_cstr(&f), c.n);
		cr_assert_str_eq(c.cn, names[i]);
		gb_buf_free(&f);
		free(dn);
	}
	OU_END();
}

Test(directory, guid_and_sid_codecs_agree_with_the_extended_dn)
{
	OU_START("codecs");
	char *dn = child("codec group", ou);
	static const char *const attrs[] = {"objectGUID", "objectSid", NULL};
	char guid[GB_AD_GUID_TEXT_SIZE], sid[GB_AD_SID_TEXT_SIZE];
	char xguid[GB_AD_GUID_TEXT_SIZE], xsid[GB_AD_SID_TEXT_SIZE];
	const char *plain;
	gb_dir_entry *e = NULL;
	gb_error err;

	create_group(d, dn, NULL);
	cr_assert_eq(gb_directory_get(d, dn, attrs, GB_DIR_EXTENDED_DN, &e, &err), 0, "%s", err.msg);
	cr_assert(gb_dir_entry_guid(e, guid));
	cr_assert(gb_dir_entry_sid(e, sid));
	cr_assert(gb_str_has_prefix(e->dn, "<GUID="), "%s", e->dn);
	cr_assert_eq(gb_ad_extended_dn_split(e->dn, xguid, xsid, &plain, &err), 0, "%s", err.msg);
	cr_assert_str_eq(xguid, guid, "extended dn %s, objectGUID decoded %s", e->dn, guid);
	cr_assert_str_eq(xsid, sid);
	cr_assert(gb_str_has_prefix(sid, "S-1-5-21-"));
	cr_assert_eq(gb_ad_dn_text_equal(plain, dn, &err), 1);

	/* flag 0: the DC writes the GUID and SID as the hex of their wire bytes */
	char raw_attrs0[] = "objectGUID";
	char *ra[] = {raw_attrs0, NULL};
	char v0[] = {0x30, 0x03, 0x02, 0x01, 0x00};
	LDAPControl x0 = {"1.2.840.113556.1.4.529", {sizeof v0, v0}, 0}, *ctrls[] = {&x0, NULL};
	LDAPMessage *res = NULL;
	cr_assert_eq(ldap_search_ext_s(ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", ra, 0, ctrls, NULL, NULL, 1, &res),
		     LDAP_SUCCESS);
	char *xdn = ldap_get_dn(ld, ldap_first_entry(ld, res));
	const gb_dir_attr *ga = gb_dir_entry_attr(e, "objectGUID");
	char hex[64];
	size_t i;
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)ga->values[0].data[i]);
	cr_assert(strncasecmp(xdn + 6, hex, 32) == 0, "flag 0 dn %s, wire bytes %s", xdn, hex);
	cr_assert_eq(gb_ad_extended_dn_split(xdn, xguid, xsid, &plain, &err), 0, "%s", err.msg);
	cr_assert_str_eq(xguid, guid);
	cr_assert_str_eq(xsid, sid);
	ldap_memfree(xdn);
	ldap_msgfree(res);

	/* the lookups built on the codecs find the same object */
	gb_dir_entry *f = NULL;
	cr_assert_eq(gb_directory_find_by_guid(d, guid, attrs, 0, &f, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_ad_dn_text_equal(f->dn, dn, &err), 1);
	gb_dir_entry_free(f);
	cr_assert_eq(gb_directory_get_by_guid(d, guid, attrs, 0, &f, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_ad_dn_text_equal(f->dn, dn, &err), 1, "%s", f->dn);
	gb_dir_entry_free(f);
	cr_assert_eq(gb_directory_find_by_sid(d, sid, attrs, 0, &f, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_ad_dn_text_equal(f->dn, dn, &err), 1);
	gb_dir_entry_free(f);
	cr_assert_eq(gb_directory_find_by_guid(d, "00000000-0000-0000-0000-000000000001", attrs, 0, &f, &err),
		     GB_ENOTFOUND);
	gb_dir_entry_free(e);
	free(dn);
	OU_END();
}

struct guid_set {
	char **guids;
	size_t n;
	size_t found;
};

static int guid_set_cb(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	struct guid_set *s = ctx;
	char guid[GB_AD_GUID_TEXT_SIZE];
	size_t i;

	(void)err;
	cr_assert(gb_dir_entry_guid(e, guid));
	for (i = 0; i < s->n; i++)
		if (strcmp(s->guids[i], guid) == 0)
			s->found++;
	return 0;
}

Test(directory, lookups_by_anchor_many_guids_and_the_global_catalog)
{
	OU_START("lookups");
	char **contacts = bulk_contacts(ld, ou, "c", 150);
	struct guid_set set = {calloc(150, sizeof(char *)), 150, 0};
	static const char *const ga[] = {"objectGUID", NULL};
	char anchor[96], *dn = child("anchored", ou);
	gb_dir_entry *e = NULL;
	size_t i;
	gb_error err;

	for (i = 0; i < 150; i++) {
		char guid[GB_AD_GUID_TEXT_SIZE];
		cr_assert_eq(gb_directory_get(d, contacts[i], ga, 0, &e, &err), 0, "%s", err.msg);
		cr_assert(gb_dir_entry_guid(e, guid));
		set.guids[i] = strdup(guid);
		gb_dir_entry_free(e);
	}
	/* 150 GUIDs in two OR batches, plus one that does not exist */
	char *query[151];
	for (i = 0; i < 150; i++)
		query[i] = set.guids[i];
	query[150] = "00000000-0000-0000-0000-0000000000ff";
	cr_assert_eq(gb_directory_find_by_guids(d, (const char *const *)query, 151, ga, 0, guid_set_cb, &set, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(set.found, 150);

	/* by msDS-ExternalDirectoryObjectId, on the DC and on the Global Catalog (StartTLS on 3268) */
	snprintf(anchor, sizeof anchor, "Group_%ld-%s", (long)getpid(), set.guids[0]);
	create_group(d, dn, anchor);
	cr_assert_eq(gb_directory_find_by_anchor(d, anchor, ga, 0, &e, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_ad_dn_text_equal(e->dn, dn, &err), 1);
	gb_dir_entry_free(e);
	/* the Global Catalog: StartTLS on the test bed's GC URI (port 3268), and LDAPS on 3269 */
	gb_directory_params p;
	gb_directory *gc = NULL;
	char *pw = read_password("GB_TEST_DC1_GB_PASSWORD_FILE"), gcs[128];
	memset(&p, 0, sizeof p);
	p.uri = env("GB_TEST_DC1_GB_LDAP_URI");
	p.gc_uri = env("GB_TEST_DC1_GB_GC_URI");
	p.start_tls = true;
	p.bind_dn = env("GB_TEST_DC1_GB_BIND_DN");
	p.password = pw;
	p.base_dn = env("GB_TEST_DC1_BASE_DN");
	p.ca_file = ca_file();
	cr_assert_eq(gb_directory_open(&p, &gc, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_find_by_anchor(gc, anchor, ga, GB_DIR_GC, &e, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_ad_dn_text_equal(e->dn, dn, &err), 1);
	gb_dir_entry_free(e);
	gb_directory_free(gc);
	gc = NULL;
	snprintf(gcs, sizeof gcs, "%s", env("GB_TEST_DC1_GB_GCS_URI"));
	p.uri = env("GB_TEST_DC1_GB_LDAPS_URI");
	p.gc_uri = gcs;
	p.start_tls = false;
	cr_assert_eq(gb_directory_open(&p, &gc, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_find_by_anchor(gc, anchor, ga, GB_DIR_GC, &e, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_ad_dn_text_equal(e->dn, dn, &err), 1);
	gb_dir_entry_free(e);
	gb_directory_free(gc);
	gb_secret_free(pw);
	cr_assert_eq(gb_directory_find_by_anchor(d, "Group_nothing-like-this", ga, 0, &e, &err), GB_ENOTFOUND);
	/* a filter metacharacter in an anchor is escaped, not interpreted */
	cr_assert_eq(gb_directory_find_by_anchor(d, "Group_*", ga, 0, &e, &err), GB_ENOTFOUND);

	for (i = 0; i < 150; i++)
		free(set.guids[i]);
	free(set.guids);
	free(dn);
	free_list(contacts, 150);
	OU_END();
}

Test(directory, writes_outside_the_allowed_containers_are_refused_before_the_server)
{
	LDAP *ld = raw_connect();
	char ou[256], outside[256];
	snprintf(ou, sizeof ou, "%s", make_ou(ld, "fence-in"));
	snprintf(outside, sizeof outside, "%s", make_ou(ld, "fence-out"));
	gb_directory *d = dir_for(ou);
	char *out_dn = child("outside group", outside), *in_dn = child("inside group", ou);
	char *victim = child("victim", outside);
	const char *v[] = {"changed", NULL};
	gb_dir_change set_desc = {GB_DIR_MOD_REPLACE, "description", v};
	const char *members[] = {victim, NULL};
	char anchor[64];
	gb_error err;

	/* a group outside, made by the fixture, carrying an anchor: even so, nothing may touch it */
	snprintf(anchor, sizeof anchor, "Group_victim-%ld", (long)getpid());
	{
		char *ocv[] = {"group", NULL}, *av[] = {anchor, NULL};
		LDAPMod m1 = {LDAP_MOD_ADD, "objectClass", {ocv}}, m2 = {LDAP_MOD_ADD, GB_DIRECTORY_ANCHOR_ATTR, {av}};
		LDAPMod *mods[] = {&m1, &m2, NULL};
		cr_assert_eq(ldap_add_ext_s(ld, victim, mods, NULL, NULL), LDAP_SUCCESS);
	}
	gb_directory_group_spec spec;
	memset(&spec, 0, sizeof spec);
	spec.dn = out_dn;
	cr_assert_eq(gb_directory_create_group(d, &spec, &err), GB_EFENCE, "%s", err.msg);
	cr_assert(strstr(err.msg, "outside group") != NULL, "%s", err.msg);
	cr_assert_eq(gb_directory_last_ldap_code(d), 0, "nothing was sent");
	cr_assert_not(raw_exists(ld, out_dn));
	cr_assert_eq(gb_directory_modify(d, victim, &set_desc, 1, &err), GB_EFENCE, "%s", err.msg);
	cr_assert_eq(gb_directory_delete(d, victim, NULL, &err), GB_EFENCE, "%s", err.msg);
	cr_assert(raw_exists(ld, victim));
	cr_assert_eq(gb_directory_add_members(d, victim, members, 1, NULL, &err), GB_EFENCE, "%s", err.msg);
	/* the fence sees through <GUID=...>: the object is resolved to its DN first */
	static const char *const ga[] = {"objectGUID", NULL};
	gb_dir_entry *e = NULL;
	char guid[GB_AD_GUID_TEXT_SIZE], byguid[64];
	cr_assert_eq(gb_directory_get(d, victim, ga, 0, &e, &err), 0);
	cr_assert(gb_dir_entry_guid(e, guid));
	gb_dir_entry_free(e);
	snprintf(byguid, sizeof byguid, "<GUID=%s>", guid);
	cr_assert_eq(gb_directory_modify(d, byguid, &set_desc, 1, &err), GB_EFENCE, "%s", err.msg);
	cr_assert_eq(gb_directory_delete(d, byguid, NULL, &err), GB_EFENCE, "%s", err.msg);
	static const char *const da[] = {"description", NULL};
	cr_assert_eq(gb_directory_get(d, victim, da, 0, &e, &err), 0);
	cr_assert_null(gb_dir_entry_str(e, "description"));
	gb_dir_entry_free(e);

	/* moves: out of the fence, and into it from outside, are both refused */
	create_group(d, in_dn, NULL);
	cr_assert_eq(gb_directory_rename(d, in_dn, NULL, outside, &err), GB_EFENCE, "%s", err.msg);
	cr_assert(raw_exists(ld, in_dn));
	cr_assert_eq(gb_directory_rename(d, victim, NULL, ou, &err), GB_EFENCE, "%s", err.msg);
	cr_assert(raw_exists(ld, victim));

	free(out_dn);
	free(in_dn);
	free(victim);
	OU_END();
}

Test(directory, create_modify_rename_move_and_delete_inside_the_fence)
{
	LDAP *ld = raw_connect();
	char ou[256], sub1[300], sub2[300];
	snprintf(ou, sizeof ou, "%s", make_ou(ld, "lifecycle"));
	snprintf(sub1, sizeof sub1, "OU=one,%s", ou);
	snprintf(sub2, sizeof sub2, "OU=two,%s", ou);
	cr_assert_eq(raw_add(ld, sub1, "organizationalUnit", NULL, NULL), LDAP_SUCCESS);
	cr_assert_eq(raw_add(ld, sub2, "organizationalUnit", NULL, NULL), LDAP_SUCCESS);
	gb_directory *d = dir_for(ou);
	char *dn = child("Life, cycle", sub1), *plain = child("no anchor", sub1);
	char id[64], anchor[80], sam[32];
	gb_ad_group *g = NULL;
	gb_error err;

	snprintf(id, sizeof id, "5e1f0c3a-0000-4000-8000-%012ld", (long)getpid());
	snprintf(anchor, sizeof anchor, "Group_%s", id);
	snprintf(sam, sizeof sam, "gblife%ld", (long)getpid());
	gb_directory_group_spec spec;
	memset(&spec, 0, sizeof spec);
	spec.dn = dn;
	spec.sam_account_name = sam;
	spec.description = "a description";
	spec.display_name = "Life cycle";
	spec.anchor = anchor;
	spec.admin_description = "Group_legacy";
	cr_assert_eq(gb_directory_create_group(d, &spec, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_read_group(d, dn, true, &g, &err), 0, "%s", err.msg);
	cr_assert_str_eq(g->cn, "Life, cycle");
	cr_assert_str_eq(g->anchor, anchor);
	cr_assert_str_eq(g->sam_account_name, sam);
	cr_assert_str_eq(g->description, "a description");
	cr_assert_str_eq(g->display_name, "Life cycle");
	cr_assert_str_eq(g->admin_description, "Group_legacy");
	cr_assert_eq(g->group_type, GB_GROUP_TYPE_UNIVERSAL_SECURITY);
	cr_assert_eq(g->nmembers, 0);
	cr_assert(g->members_read);
	char guid[GB_AD_GUID_TEXT_SIZE];
	snprintf(guid, sizeof guid, "%s", g->guid);
	gb_ad_group_free(g);

	/* modify by <GUID=...>: convert to global security, change the description */
	char byguid[64], gt[24];
	snprintf(byguid, sizeof byguid, "<GUID=%s>", guid);
	snprintf(gt, sizeof gt, "%ld", GB_GROUP_TYPE_GLOBAL_SECURITY);
	const char *v_gt[] = {gt, NULL}, *v_d[] = {"new", NULL};
	gb_dir_change ch[] = {{GB_DIR_MOD_REPLACE, "groupType", v_gt}, {GB_DIR_MOD_REPLACE, "description", v_d}};
	cr_assert_eq(gb_directory_modify(d, byguid, ch, 2, &err), 0, "%s", err.msg);

	/* members addressed by <GUID=...>, and <SID=...>, added and removed twice each (the second time is a no-op) */
	char **contacts = bulk_contacts(ld, sub1, "m", 3), gm[3][64];
	static const char *const ga[] = {"objectGUID", "objectSid", NULL};
	for (int i = 0; i < 3; i++) {
		gb_dir_entry *me = NULL;
		char mg[GB_AD_GUID_TEXT_SIZE];
		cr_assert_eq(gb_directory_get(d, contacts[i], ga, 0, &me, &err), 0, "%s", err.msg);
		cr_assert(gb_dir_entry_guid(me, mg));
		snprintf(gm[i], sizeof gm[i], "<GUID=%s>", mg);
		gb_dir_entry_free(me);
	}
	const char *by_guid[] = {gm[0], gm[1], gm[2]}, *mixed[] = {contacts[0], gm[1]};
	size_t done = 0;
	cr_assert_eq(gb_directory_add_members(d, byguid, by_guid, 3, &done, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_add_members(d, byguid, by_guid, 3, &done, &err), 0, "%s", err.msg);
	cr_assert_eq(done, 3);
	cr_assert_eq(gb_directory_remove_members(d, dn, mixed, 2, &done, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_remove_members(d, dn, mixed, 2, &done, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_read_group(d, dn, true, &g, &err), 0, "%s", err.msg);
	cr_assert_eq(g->nmembers, 1);
	cr_assert_eq(strncmp(g->member_guids[0], gm[2] + 6, 36), 0, "%s vs %s", g->member_guids[0], gm[2]);
	gb_ad_group_free(g);
	/* a member that does not exist is an error even with the permissive control */
	char *ghost = child("ghost", sub1);
	const char *ghosts[] = {ghost};
	cr_assert_eq(gb_directory_add_members(d, dn, ghosts, 1, &done, &err), GB_ENOTFOUND, "%s", err.msg);
	cr_assert_eq(done, 0);
	free(ghost);
	free_list(contacts, 3);

	/* rename and move to the other OU: the GUID stays */
	cr_assert_eq(gb_directory_rename(d, dn, "CN=Renamed \\+ moved", sub2, &err), 0, "%s", err.msg);
	char *moved = child("Renamed + moved", sub2);
	cr_assert_eq(gb_directory_read_group(d, moved, false, &g, &err), 0, "%s", err.msg);
	cr_assert_str_eq(g->guid, guid);
	cr_assert_str_eq(g->description, "new");
	cr_assert_eq(g->group_type, GB_GROUP_TYPE_GLOBAL_SECURITY);
	gb_ad_group_free(g);
	/* a move that keeps the name */
	cr_assert_eq(gb_directory_rename(d, moved, NULL, sub1, &err), 0, "%s", err.msg);
	char *back = child("Renamed + moved", sub1);
	cr_assert(raw_exists(ld, back));

	/* delete: refused without groupbridge's anchor, and with someone else's id; done with ours */
	create_group(d, plain, NULL);
	cr_assert_eq(gb_directory_delete(d, plain, NULL, &err), GB_EFENCE, "%s", err.msg);
	cr_assert(raw_exists(ld, plain));
	cr_assert_eq(gb_directory_delete(d, back, "11111111-2222-3333-4444-555555555555", &err), GB_EFENCE, "%s",
		     err.msg);
	cr_assert(raw_exists(ld, back));
	cr_assert_eq(gb_directory_delete(d, byguid, id, &err), 0, "%s", err.msg);
	cr_assert_not(raw_exists(ld, back));
	cr_assert_eq(gb_directory_delete(d, back, id, &err), GB_ENOTFOUND, "%s", err.msg);

	free(dn);
	free(plain);
	free(moved);
	free(back);
	OU_END();
}

Test(directory, probe_reports_the_anchor_attribute_in_the_schema)
{
	char text[2048], detail[512];
	gb_config *cfg = NULL;
	int has = -1;
	gb_error err;

	snprintf(text, sizeof text,
		 "[directory]\nuri = %s\nbind_dn = %s\nbind_password_file = %s\nbase_dn = %s\nca_file = %s\n"
		 "start_tls = yes\n",
		 env("GB_TEST_DC1_GB_LDAP_URI"), env("GB_TEST_DC1_GB_BIND_UPN"), env("GB_TEST_DC1_GB_PASSWORD_FILE"),
		 env("GB_TEST_DC1_BASE_DN"), ca_file());
	cr_assert_eq(gb_config_parse("probe.ini", text, &cfg, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_probe(cfg, detail, sizeof detail, &has, &err), 0, "%s", err.msg);
	cr_assert_eq(has, 1, "the test bed extends the schema with msDS-ExternalDirectoryObjectId");
	cr_assert(strstr(detail, "starttls") != NULL && strstr(detail, env("GB_TEST_DC1_GB_BIND_UPN")) != NULL, "%s",
		  detail);
	gb_config_free(cfg);
}

/* ---- a TCP proxy in a child process, to make the server "go away" under an open connection ---- */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

static void relay(int a, int b)
{
	char buf[16384];
	struct pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};

	for (;;) {
		if (poll(p, 2, -1) < 0)
			_exit(0);
		for (int i = 0; i < 2; i++) {
			if (p[i].revents) {
				ssize_t n = read(p[i].fd, buf, sizeof buf);
				if (n <= 0 || write(p[1 - i].fd, buf, (size_t)n) != n)
					_exit(0);
			}
		}
	}
}

/* Listens on IP:port (0: any free port, returned in *port) and forwards each connection to IP:636. */
static pid_t start_proxy(const char *ip, int *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);
	pid_t pid;

	cr_assert_geq(ls, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)*port);
	inet_pton(AF_INET, ip, &sa.sin_addr);
	/* the same port again right after stop_proxy: a relay of the old proxy may still be exiting */
	for (int tries = 0; bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0; tries++) {
		cr_assert(errno == EADDRINUSE && tries < 100, "bind %s:%d: %s", ip, *port, strerror(errno));
		usleep(20000);
	}
	cr_assert_eq(listen(ls, 16), 0);
	getsockname(ls, (struct sockaddr *)&sa, &sl);
	*port = ntohs(sa.sin_port);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
		signal(SIGCHLD, SIG_IGN);
		for (;;) {
			int c = accept(ls, NULL, NULL);
			if (c < 0)
				continue;
			if (fork() == 0) {
				struct sockaddr_in up;
				prctl(PR_SET_PDEATHSIG, SIGKILL);
				close(ls);
				int s = socket(AF_INET, SOCK_STREAM, 0);
				memset(&up, 0, sizeof up);
				up.sin_family = AF_INET;
				up.sin_port = htons(636);
				inet_pton(AF_INET, ip, &up.sin_addr);
				if (connect(s, (struct sockaddr *)&up, sizeof up) != 0)
					_exit(0);
				relay(c, s);
			}
			close(c);
		}
	}
	setpgid(pid, pid);
	close(ls);
	return pid;
}

static void stop_proxy(pid_t pid)
{
	kill(-pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

Test(directory, reconnects_once_when_the_server_goes_away)
{
	static const char *const attrs[] = {"dnsHostName", NULL};
	const char *ip = env("GB_TEST_DC1_IP");
	int port = 0;
	pid_t proxy = start_proxy(ip, &port);
	char uri[64];
	gb_directory *d = NULL;
	gb_dir_entry *e = NULL;
	gb_error err;

	snprintf(uri, sizeof uri, "ldaps://%s:%d", ip, port);
	cr_assert_eq(open_dir(uri, false, ca_file(), NULL, NULL, &d, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_get(d, "", attrs, 0, &e, &err), 0, "%s", err.msg);
	gb_dir_entry_free(e);
	/* the connection drops; a server is back on the same address: one reconnect, the read succeeds */
	stop_proxy(proxy);
	proxy = start_proxy(ip, &port);
	cr_assert_eq(gb_directory_get(d, "", attrs, 0, &e, &err), 0, "%s", err.msg);
	cr_assert_not_null(gb_dir_entry_str(e, "dnsHostName"));
	gb_dir_entry_free(e);
	/* gone for good: after the backoff the failure is reported as retryable */
	stop_proxy(proxy);
	int64_t t0 = gb_time_mono_ms();
	cr_assert_eq(gb_directory_get(d, "", attrs, 0, &e, &err), GB_ERETRY, "%s", err.msg);
	cr_assert_geq(gb_time_mono_ms() - t0, 4000, "backoff 0.2 + 0.8 + 3.2 s");
	cr_assert(strstr(err.msg, "reconnecting") != NULL, "%s", err.msg);
	gb_directory_free(d);
}

/* ---- searches sent ahead ---- */

static const char *const ahead_attrs[] = {"cn", "objectGUID", NULL};

struct dn_sum {
	size_t n;
	unsigned long sum; /* of the DNs' bytes, position-weighted: the same entries give the same sum */
};

static int dn_sum_cb(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	struct dn_sum *s = ctx;
	size_t i;

	(void)err;
	s->n++;
	for (i = 0; e->dn[i]; i++)
		s->sum += (unsigned long)(unsigned char)e->dn[i] * (i + 1);
	return 0;
}

/* A search sent ahead and taken later gives what gb_directory_search gives, whatever runs on the handle meanwhile;
 * one that cannot give all of it (more entries than a page, an answer lost to a reconnect) delivers nothing. */
/* 40 contacts named NAME<pid>-n in ou (through ld), the filter that finds them all, one that finds none, and what a
 * plain search of them through d gives (*want). The list: free_list(.., 40). */
static char **ahead_contacts(LDAP *ld, gb_directory *d, const char *ou, const char *name, char *filter, size_t nf,
			     char *none, size_t nn, struct dn_sum *want)
{
	char prefix[32];
	char **contacts;
	gb_error err;

	snprintf(prefix, sizeof prefix, "%s%ld", name, (long)getpid());
	contacts = bulk_contacts(ld, ou, prefix, 40);
	snprintf(filter, nf, "(&(objectClass=contact)(cn=%s-*))", prefix);
	snprintf(none, nn, "(cn=%s-none)", prefix);
	cr_assert_eq(gb_directory_search(d, NULL, GB_DIR_SUBTREE, filter, ahead_attrs, 0, dn_sum_cb, want, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(want->n, 40);
	return contacts;
}

Test(directory, a_search_sent_ahead_answers_as_the_search_would)
{
	OU_START("ahead");
	const char *const *attrs = ahead_attrs;
	char filter[96], none[96];
	char **contacts;
	struct dn_sum want = {0, 0}, got = {0, 0}, nothing = {0, 0};
	gb_dir_pending *p1 = NULL, *p2 = NULL, *p3 = NULL;
	gb_dir_entry *e = NULL;
	gb_error err;

	contacts = ahead_contacts(ld, d, ou, "ahead", filter, sizeof filter, none, sizeof none, &want);
	/* two searches in flight, a read of its own between them and their answers */
	cr_assert_eq(gb_directory_search_send(d, filter, attrs, &p1, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_search_send(d, none, attrs, &p2, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_get(d, contacts[7], attrs, 0, &e, &err), 0, "%s", err.msg);
	gb_dir_entry_free(e);
	/* read without waiting until the whole answer is there; taking it then waits for nothing more */
	{
		int k;
		bool whole = false;

		for (k = 0; k < 1000 && !(whole = gb_directory_search_poll(p1)); k++)
			usleep(10 * 1000);
		cr_assert(whole, "the answer came within 10 s");
		cr_assert(gb_directory_search_poll(p1), "and stays whole");
	}
	cr_assert_eq(gb_directory_search_take(p2, dn_sum_cb, &nothing, &err), 0, "%s", err.msg);
	cr_assert_eq(nothing.n, 0);
	cr_assert_eq(gb_directory_search_take(p1, dn_sum_cb, &got, &err), 0, "%s", err.msg);
	cr_assert_eq(got.n, want.n);
	cr_assert_eq(got.sum, want.sum, "the same entries");
	/* one poll reads everything the DC has sent, not one message of it: libldap's ldap_result with a zero timeout
	 * reads one message a call, and a poll that stopped there left a 41-message answer unread across a whole delta
	 * listing (S8's profile). The DC has answered 40 contacts long before 3 s pass. */
	{
		struct dn_sum once = {0, 0};

		cr_assert_eq(gb_directory_search_send(d, filter, attrs, &p1, &err), 0, "%s", err.msg);
		sleep(3);
		cr_assert(gb_directory_search_poll(p1), "one poll took the whole answer");
		cr_assert_eq(gb_directory_search_take(p1, dn_sum_cb, &once, &err), 0, "%s", err.msg);
		cr_assert_eq(once.n, want.n);
		cr_assert_eq(once.sum, want.sum);
	}
	/* given up: abandoned, and the handle goes on */
	cr_assert_eq(gb_directory_search_send(d, filter, attrs, &p3, &err), 0, "%s", err.msg);
	gb_dir_pending_free(p3);
	gb_dir_pending_free(NULL);
	memset(&got, 0, sizeof(got));
	cr_assert_eq(gb_directory_search(d, NULL, GB_DIR_SUBTREE, filter, attrs, 0, dn_sum_cb, &got, &err), 0, "%s",
		     err.msg);
	cr_assert_eq(got.n, 40);

	/* a DC that limits an answer without paging (Windows' MaxPageSize; Samba sends everything): a size limit, and
	 * nothing delivered */
	{
		static const char *const limits[] = {"--max-page-size", "10", NULL};
		gb_ldap_proxy *px = NULL;
		gb_directory *w = NULL;

		cr_assert_eq(gb_ldap_proxy_start(limits, &px), 0);
		cr_assert_eq(open_dir(px->ldaps_uri, false, ca_file(), NULL, ou, &w, &err), 0, "%s", err.msg);
		memset(&got, 0, sizeof(got));
		cr_assert_eq(gb_directory_search_send(w, filter, attrs, &p1, &err), 0, "%s", err.msg);
		cr_assert_neq(gb_directory_search_take(p1, dn_sum_cb, &got, &err), 0);
		cr_assert_eq(got.n, 0, "a partial answer is not delivered");
		cr_assert_eq(gb_directory_last_ldap_code(w), LDAP_SIZELIMIT_EXCEEDED, "%s", err.msg);
		gb_directory_free(w);
		gb_ldap_proxy_free(px);
	}

	/* an answer lost to a reconnect: retryable, nothing delivered */
	{
		const char *ip = env("GB_TEST_DC1_IP");
		int port = 0;
		pid_t proxy = start_proxy(ip, &port);
		char uri[64];
		gb_directory *via = NULL;

		snprintf(uri, sizeof uri, "ldaps://%s:%d", ip, port);
		cr_assert_eq(open_dir(uri, false, ca_file(), NULL, NULL, &via, &err), 0, "%s", err.msg);
		cr_assert_eq(gb_directory_search_send(via, filter, attrs, &p1, &err), 0, "%s", err.msg);
		stop_proxy(proxy);
		proxy = start_proxy(ip, &port);
		cr_assert_eq(gb_directory_get(via, contacts[3], attrs, 0, &e, &err), 0, "%s", err.msg);
		gb_dir_entry_free(e);
		memset(&got, 0, sizeof(got));
		cr_assert_eq(gb_directory_search_take(p1, dn_sum_cb, &got, &err), GB_ERETRY);
		cr_assert_eq(got.n, 0);
		cr_assert(strstr(err.msg, "made again") != NULL, "%s", err.msg);
		gb_directory_free(via);
		stop_proxy(proxy);
	}
	free_list(contacts, 40);
	OU_END();
}

/* What a queue of searches sent ahead handed back: the entries taken, and each tag given to done, in order. */
struct ahead_log {
	struct dn_sum sum;
	int tag[8], rc[8];
	int n;
};

static int ahead_entry(const gb_dir_entry *e, void *ctx, gb_error *err)
{
	return dn_sum_cb(e, &((struct ahead_log *)ctx)->sum, err);
}

static void ahead_done(void *tag, int rc, const gb_error *why, void *ctx)
{
	struct ahead_log *l = ctx;

	(void)why;
	if (l->n < 8) {
		l->tag[l->n] = *(int *)tag;
		l->rc[l->n++] = rc;
	}
}

Test(directory, searches_sent_ahead_as_a_queue_wait_only_when_asked_and_hand_every_tag_back_once)
{
	OU_START("aheadq");
	const char *const *attrs = ahead_attrs;
	/* every message 300 ms late each way: an answer cannot be whole right after its search went out */
	static const char *const slow[] = {"--delay-ms", "300", NULL};
	static int tags[] = {1, 2, 3, 4, 5};
	char filter[96], none[96];
	char **contacts;
	struct dn_sum want = {0, 0};
	struct ahead_log log;
	gb_ldap_proxy *px = NULL;
	gb_directory *w = NULL;
	gb_dir_ahead *q = NULL;
	gb_error err;

	memset(&log, 0, sizeof(log));
	contacts = ahead_contacts(ld, d, ou, "aheadq", filter, sizeof filter, none, sizeof none, &want);
	cr_assert_eq(gb_ldap_proxy_start(slow, &px), 0);
	cr_assert_eq(open_dir(px->ldaps_uri, false, ca_file(), NULL, ou, &w, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_dir_ahead_new(w, 2, attrs, ahead_entry, ahead_done, &log, &q, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_dir_ahead_send(q, filter, &tags[0], false, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_dir_ahead_send(q, none, &tags[1], false, &err), 0, "%s", err.msg);
	cr_assert_eq(log.n, 0, "two searches out, nothing handed back yet");
	/* full, the oldest not answered, not asked to wait: not sent, its tag back at once */
	cr_assert_eq(gb_dir_ahead_send(q, filter, &tags[2], false, &err), 0, "%s", err.msg);
	cr_assert_eq(log.n, 1);
	cr_assert_eq(log.tag[0], 3);
	cr_assert_eq(log.rc[0], GB_ERETRY);
	cr_assert_eq(log.sum.n, 0);
	/* asked to wait: the oldest is taken first (its entries, then its tag), then the new one goes out */
	cr_assert_eq(gb_dir_ahead_send(q, filter, &tags[3], true, &err), 0, "%s", err.msg);
	cr_assert_eq(log.n, 2);
	cr_assert_eq(log.tag[1], 1);
	cr_assert_eq(log.rc[1], 0);
	cr_assert_eq(log.sum.n, want.n);
	cr_assert_eq(log.sum.sum, want.sum, "the same entries as the search");
	gb_dir_ahead_poll(q);
	cr_assert_eq(gb_dir_ahead_take_all(q, &err), 0, "%s", err.msg);
	cr_assert_eq(log.n, 4, "every search taken, oldest first");
	cr_assert(log.tag[2] == 2 && log.rc[2] == 0 && log.tag[3] == 4 && log.rc[3] == 0);
	cr_assert_eq(log.sum.n, 2 * want.n);
	/* given up: its tag back, nothing delivered; the handle goes on */
	cr_assert_eq(gb_dir_ahead_send(q, filter, &tags[4], false, &err), 0, "%s", err.msg);
	gb_dir_ahead_free(q);
	cr_assert_eq(log.n, 5);
	cr_assert(log.tag[4] == 5 && log.rc[4] != 0);
	cr_assert_eq(log.sum.n, 2 * want.n);
	gb_dir_ahead_free(NULL);
	memset(&log.sum, 0, sizeof(log.sum));
	cr_assert_eq(gb_directory_search(w, NULL, GB_DIR_SUBTREE, filter, attrs, 0, dn_sum_cb, &log.sum, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(log.sum.n, want.n);
	gb_directory_free(w);
	gb_ldap_proxy_free(px);
	free_list(contacts, 40);
	OU_END();
}

Test(directory, a_group_that_gains_and_loses_members_changes_in_one_modify_and_a_retry_is_harmless)
{
	OU_START("update");
	char **c = bulk_contacts(ld, ou, "upd", 6);
	char *g = child("gains and loses", ou);
	const char *start[] = {c[0], c[1], c[2]}, *adds[] = {c[3], c[4]}, *removes[] = {c[0], c[1]};
	gb_ad_group *group = NULL;
	unsigned long before;
	size_t count = 0;
	gb_error err;

	create_group(d, g, NULL);
	cr_assert_eq(gb_directory_add_members(d, g, start, 3, NULL, &err), 0, "%s", err.msg);
	before = gb_directory_get_stats(d)->modifies;
	cr_assert_eq(gb_directory_update_members(d, g, adds, 2, removes, 2, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_get_stats(d)->modifies - before, 1, "two adds and two removes take one modify");
	cr_assert_eq(gb_directory_read_group(d, g, true, &group, &err), 0, "%s", err.msg);
	cr_assert_eq(group->nmembers, 3, "c2, c3 and c4 remain");
	gb_ad_group_free(group);

	/* the same change again (a rerun after a kill): every value is done already, nothing fails */
	cr_assert_eq(gb_directory_update_members(d, g, adds, 2, removes, 2, &err), 0, "%s", err.msg);
	/* half done: c5 still to add, c2 still to remove, c3 already added, c0 already gone */
	const char *adds2[] = {c[3], c[5]}, *removes2[] = {c[0], c[2]};
	cr_assert_eq(gb_directory_update_members(d, g, adds2, 2, removes2, 2, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_read_values(d, g, "member", 0, count_cb, &count, &err), 0, "%s", err.msg);
	cr_assert_eq(count, 3, "c3, c4 and c5");
	free(g);
	free_list(c, 6);
	OU_END();
}

Test(directory, a_group_created_with_its_members_takes_one_add_and_the_rest_follow_in_batches)
{
	OU_START("withmembers");
	char **c = bulk_contacts(ld, ou, "wm", 2500);
	char *small = child("small with members", ou), *big = child("big with members", ou);
	gb_directory_group_spec spec;
	unsigned long adds, modifies;
	size_t count = 0;
	gb_error err;

	create_with_members(d, small, c, 3, &adds, &modifies);
	cr_assert_eq(adds, 1);
	cr_assert_eq(modifies, 0, "three members go in the add itself");
	cr_assert_eq(gb_directory_read_values(d, small, "member", 0, count_cb, &count, &err), 0, "%s", err.msg);
	cr_assert_eq(count, 3);

	/* 2500 members, 1000 a batch (this handle's, lowered from the default): the add carries 1000, two modifies
	 * carry the rest */
	cr_assert_eq(gb_directory_member_batch(d), GB_DIRECTORY_MEMBER_BATCH);
	gb_directory_lower_member_batch(d, 1000);
	gb_directory_lower_member_batch(d, 2000); /* lowers only */
	cr_assert_eq(gb_directory_member_batch(d), 1000);
	create_with_members(d, big, c, 2500, &adds, &modifies);
	cr_assert_eq(modifies, 2);
	count = 0;
	cr_assert_eq(gb_directory_read_values(d, big, "member", 0, count_cb, &count, &err), 0, "%s", err.msg);
	cr_assert_eq(count, 2500);

	/* a member that does not exist fails the whole add: no group is left half made */
	const char *ghost[] = {"CN=nobody here,DC=test,DC=example"};
	char *third = child("with a ghost", ou);
	memset(&spec, 0, sizeof spec);
	spec.dn = third;
	spec.members = ghost;
	spec.nmembers = 1;
	cr_assert_neq(gb_directory_create_group(d, &spec, &err), 0);
	cr_assert(!raw_exists(ld, third), "the add failed as a whole");
	free(third);
	free(small);
	free(big);
	free_list(c, 2500);
	OU_END();
}

/* AD review D1: a DC answers a read of an object in another domain of the forest with a referral (10, "0000202B:
 * RefErr ... ref 1: 'child.test.example'"): that is GB_EREFERRAL naming the domain, never a generic LDAP failure;
 * the continuation reference a subtree search from the domain root meets is skipped. */
Test(directory, an_object_of_another_domain_is_a_referral_naming_that_domain)
{
	char child_nc[256], dn[320];
	const char *argv[] = {"--referral", child_nc, "child.test.example", NULL};
	static const char *const attrs[] = {"cn", NULL};
	gb_ldap_proxy *px = NULL;
	gb_directory *d = NULL;
	gb_dir_entry *e = NULL;
	struct found f = {0, ""};
	size_t count = 0;
	gb_error err;

	snprintf(child_nc, sizeof child_nc, "DC=child,%s", env("GB_TEST_DC1_BASE_DN"));
	snprintf(dn, sizeof dn, "CN=Sales,OU=Groups,%s", child_nc);
	cr_assert_eq(gb_ldap_proxy_start(argv, &px), 0);
	cr_assert_eq(open_dir(px->ldaps_uri, false, ca_file(), NULL, NULL, &d, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_get(d, dn, attrs, 0, &e, &err), GB_EREFERRAL, "%s", err.msg);
	cr_assert_null(e);
	cr_assert(strstr(err.msg, "child.test.example") != NULL && strstr(err.msg, "another domain") == NULL &&
		  strstr(err.msg, "the domain child.test.example of this forest") != NULL, "%s", err.msg);
	cr_assert_str_eq(gb_directory_last_referral(d), "child.test.example");
	cr_assert_eq(gb_directory_last_ldap_code(d), 10);
	cr_assert_eq(gb_directory_read_values(d, dn, "member", GB_DIR_EXTENDED_DN, count_cb, &count, &err),
		     GB_EREFERRAL, "%s", err.msg);
	/* a subtree search from the domain root gets a continuation reference to the child domain: skipped */
	cr_assert_eq(gb_directory_search(d, NULL, GB_DIR_SUBTREE, "(cn=Domain Users)", attrs, 0, found_cb, &f, &err), 0,
		     "%s", err.msg);
	cr_assert_eq(f.n, 1);
	cr_assert_null(gb_directory_last_referral(d), "a success forgets the referral");
	gb_directory_free(d);
	gb_ldap_proxy_free(px);
}

/* The DC's invocationId (the uSNChanged guard's half of its identity) that a busy DC would not give once is read again
 * by the next call, not taken for unreadable for the connection's life: that would cost every later pass of a long
 * process the guard, and a one-shot pass its record of what it wrote. */
Test(directory, an_invocation_id_refused_once_by_a_busy_dc_is_read_again)
{
	const char *argv[] = {"--busy-base", "CN=NTDS Settings,", "1", NULL};
	const gb_directory_dc *dc = NULL;
	gb_ldap_proxy *px = NULL;
	gb_directory *d = NULL;
	gb_error err;
	char dsa[512];

	cr_assert_eq(gb_ldap_proxy_start(argv, &px), 0);
	cr_assert_eq(open_dir(px->ldaps_uri, false, ca_file(), NULL, NULL, &d, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_dc_info(d, &dc, &err), 0, "%s", err.msg);
	cr_assert_null(dc->invocation_id, "the proxy answered the NTDS Settings read with busy");
	snprintf(dsa, sizeof dsa, "%s", dc->dsa);
	cr_assert_eq(gb_directory_dc_info(d, &dc, &err), 0, "%s", err.msg);
	cr_assert_not_null(dc->invocation_id, "a busy answer is not kept for the connection");
	cr_assert(gb_ad_guid_is_text(dc->invocation_id), "%s", dc->invocation_id);
	cr_assert_str_eq(dc->dsa, dsa);
	gb_directory_free(d);
	gb_ldap_proxy_free(px);
}

/* AD review D8: a DC without a usable certificate refuses StartTLS with unavailable (52), "Error initializing
 * SSL/TLS": a TLS failure, not a retryable one. */
Test(directory, starttls_refused_by_the_dc_is_a_tls_error)
{
	static const char *const argv[] = {"--refuse-starttls", NULL};
	static const char *const root_attrs[] = {"dnsHostName", NULL};
	gb_dir_entry *root = NULL;
	gb_ldap_proxy *px = NULL;
	gb_directory *d = NULL;
	gb_error err;

	cr_assert_eq(gb_ldap_proxy_start(argv, &px), 0);
	cr_assert_eq(open_dir(px->ldap_uri, true, ca_file(), NULL, NULL, &d, &err), GB_ETLS, "%s", err.msg);
	cr_assert_null(d);
	cr_assert(strstr(err.msg, "(52)") != NULL && strstr(err.msg, "Error initializing SSL/TLS") != NULL &&
		  strstr(err.msg, "refused StartTLS") != NULL, "%s", err.msg);
	/* a proxy without the switch relays StartTLS on both legs, here with every message delayed 20 ms each way
	 * (issue 14's relay: a DC across a site link) */
	static const char *const delayed[] = {"--delay-ms", "20", NULL};
	gb_ldap_proxy_free(px);
	cr_assert_eq(gb_ldap_proxy_start(delayed, &px), 0);
	cr_assert_eq(open_dir(px->ldap_uri, true, ca_file(), NULL, NULL, &d, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_get(d, "", root_attrs, 0, &root, &err), 0, "%s", err.msg);
	cr_assert_not_null(gb_dir_entry_str(root, "dnsHostName"));
	gb_dir_entry_free(root);
	gb_directory_free(d);
	gb_ldap_proxy_free(px);
}

static int collect_cb(const char *value, size_t len, void *ctx, gb_error *err)
{
	char *dst = ctx;

	(void)err;
	snprintf(dst, GB_AD_GUID_TEXT_SIZE, "%.*s", (int)len, value);
	return 0;
}

/* AD review D12: a user whose primary group is the group is a member AD never lists in member, and AD refuses to
 * add it (Samba: 68 "already set via primaryGroupID"). The other values are written, the refused one is reported
 * once as such, and a second change with it fails nothing; the directory lists primary-group members. */
Test(directory, a_member_whose_primary_group_is_the_group_is_refused_once_and_reported)
{
	LDAP *ld = raw_connect();
	char ou[256], rid_value[16], guid[GB_AD_GUID_TEXT_SIZE] = "";
	snprintf(ou, sizeof ou, "%s", make_ou(ld, "primary"));
	gb_directory *d = dir_for(ou);
	char *g = child("primary group", ou), *u = child("primary user", ou), *c = child("other member", ou);
	static const char *const sa[] = {"objectSid", NULL};
	const gb_dir_refusal *refused = NULL;
	char sid[GB_AD_SID_TEXT_SIZE];
	gb_dir_entry *e = NULL;
	size_t count = 0;
	gb_error err;

	cr_assert_eq(raw_add(ld, u, "user", NULL, NULL), LDAP_SUCCESS);
	cr_assert_eq(raw_add(ld, c, "contact", NULL, NULL), LDAP_SUCCESS);
	create_group(d, g, NULL);
	const char *just_u[] = {u}, *both[] = {u, c};
	cr_assert_eq(gb_directory_add_members(d, g, just_u, 1, NULL, &err), 0, "%s", err.msg);
	/* the fixture makes the group the user's primary group (AD moves it out of member) */
	cr_assert_eq(gb_directory_get(d, g, sa, 0, &e, &err), 0, "%s", err.msg);
	cr_assert(gb_dir_entry_sid(e, sid));
	gb_dir_entry_free(e);
	snprintf(rid_value, sizeof rid_value, "%s", strrchr(sid, '-') + 1);
	{
		char *vv[] = {rid_value, NULL};
		LDAPMod m = {LDAP_MOD_REPLACE, "primaryGroupID", {vv}}, *mods[] = {&m, NULL};
		cr_assert_eq(ldap_modify_ext_s(ld, u, mods, NULL, NULL), LDAP_SUCCESS);
	}
	cr_assert_eq(gb_directory_read_values(d, g, "member", 0, count_cb, &count, &err), 0, "%s", err.msg);
	cr_assert_eq(count, 0, "a primary-group member is not listed in member");
	cr_assert_eq(gb_directory_primary_group_members(d, g, collect_cb, guid, &err), 0, "%s", err.msg);
	cr_assert(gb_ad_guid_is_text(guid), "the user is listed as a primary-group member: \"%s\"", guid);

	/* the user and another member: the other is added, the user left out and reported */
	cr_assert_eq(gb_directory_add_members(d, g, both, 2, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_refusals(d, &refused), 1);
	cr_assert_str_eq(refused[0].value, u);
	cr_assert_eq(refused[0].reason, GB_DIR_REFUSED_PRIMARY_GROUP);
	count = 0;
	cr_assert_eq(gb_directory_read_values(d, g, "member", 0, count_cb, &count, &err), 0, "%s", err.msg);
	cr_assert_eq(count, 1);
	/* in one modify with a removal too; and the removal of a primary-group membership is refused the same way */
	const char *rm_c[] = {c};
	cr_assert_eq(gb_directory_update_members(d, g, just_u, 1, rm_c, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_refusals(d, &refused), 1);
	cr_assert_eq(gb_directory_remove_members(d, g, just_u, 1, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_refusals(d, &refused), 1);
	cr_assert_eq(refused[0].reason, GB_DIR_REFUSED_PRIMARY_GROUP);
	cr_assert_eq(gb_directory_add_members(d, g, rm_c, 1, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_directory_refusals(d, &refused), 0, "a clean change leaves no refusal");
	free(g);
	free(u);
	free(c);
	OU_END();
}

/* AD review D10: a group protected by AdminSDHolder (adminCount 1, a DACL that does not inherit) is out of the
 * delegated account's reach: a write is refused by the DC (insufficientAccessRights, 50), while a group of a test
 * OU takes the same write. */
Test(directory, the_delegated_account_cannot_write_a_protected_group)
{
	LDAP *ld = raw_connect();
	char ou[256], users[256];
	snprintf(ou, sizeof ou, "%s", make_ou(ld, "protected"));
	snprintf(users, sizeof users, "CN=Users,%s;%s", env("GB_TEST_DC1_BASE_DN"), ou);
	gb_directory *d = dir_for(users);
	char *c = child("would-be member", ou), *g = child("ordinary group", ou);
	const char *v[] = {c};
	gb_error err;

	cr_assert_eq(raw_add(ld, c, "contact", NULL, NULL), LDAP_SUCCESS);
	cr_assert_eq(gb_directory_add_members(d, env("GB_TEST_DC1_PROTECTED_GROUP_DN"), v, 1, NULL, &err), GB_ELDAP,
		     "%s", err.msg);
	cr_assert_eq(gb_directory_last_ldap_code(d), LDAP_INSUFFICIENT_ACCESS, "%s", err.msg);
	create_group(d, g, NULL);
	cr_assert_eq(gb_directory_add_members(d, g, v, 1, NULL, &err), 0, "%s", err.msg);
	free(c);
	free(g);
	OU_END();
}
