/* Integration tests of the apply engine's LDAP executors against the test bed's Samba AD DC (GB_TEST_DC1_*): a group
 * add driven by the plan's attributes (its groupType included), a replace of more than 16 attributes, the
 * add-if-absent and delete-if-equal kinds of stamp-anchors, and the write fence the engine sets. Each test works in
 * an OU of its own. */
#include <criterion/criterion.h>
#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "groupbridge/adcodec.h"
#include "groupbridge/apply.h"
#include "groupbridge/directory.h"
#include "groupbridge/log.h"
#include "groupbridge/store.h"
#include "groupbridge/util.h"
#include "support/testfs.h"

static const char *env(const char *name)
{
	const char *v = getenv(name);

	cr_assert(v && *v, "%s is not set: run under tests/testbed/with-testbed.sh", name);
	return v;
}

static char tmp[64];
static gb_store *st;
static gb_directory *dir;

static void setup(void)
{
	gb_directory_params p;
	char path[128], ca[512], *pw = NULL;
	gb_error err;

	gb_log_setup(GB_LOG_QUIET, 0, stderr);
	snprintf(tmp, sizeof(tmp), "%s", "/tmp/gb-test-apply-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
	snprintf(path, sizeof(path), "%s/state.db", tmp);
	cr_assert_eq(gb_store_open(path, "test", &st, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_secret_read_file(env("GB_TEST_DC1_BIND_PASSWORD_FILE"), &pw, &err), 0, "%s", err.msg);
	snprintf(ca, sizeof(ca), "%s/ca.pem", env("GB_TEST_CA_DIR"));
	memset(&p, 0, sizeof(p));
	p.uri = env("GB_TEST_DC1_LDAPS_URI");
	p.bind_dn = env("GB_TEST_DC1_BIND_DN");
	p.password = pw;
	p.base_dn = env("GB_TEST_DC1_BASE_DN");
	p.ca_file = ca;
	p.timeout = 60;
	cr_assert_eq(gb_directory_open(&p, &dir, &err), 0, "%s", err.msg);
	gb_secret_free(pw);
}

static void teardown(void)
{
	gb_directory_free(dir);
	gb_store_free(st);
	gb_testfs_rmtree(tmp);
}

TestSuite(apply_ldap, .init = setup, .fini = teardown, .timeout = 120);

/* "OU=gbapply-NAME-PID,BASE", created with the raw client (the code under test cannot create OUs). */
static const char *make_ou(const char *name)
{
	static char dn[256];
	LDAP *ld = NULL;
	int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
	char ca[512], *pw = NULL, *ocv[] = {"organizationalUnit", NULL};
	LDAPMod m = {LDAP_MOD_ADD, "objectClass", {ocv}}, *mods[] = {&m, NULL};
	struct berval cred;
	gb_error err;

	snprintf(dn, sizeof(dn), "OU=gbapply-%s-%ld,%s", name, (long)getpid(), env("GB_TEST_DC1_BASE_DN"));
	snprintf(ca, sizeof(ca), "%s/ca.pem", env("GB_TEST_CA_DIR"));
	cr_assert_eq(gb_secret_read_file(env("GB_TEST_DC1_BIND_PASSWORD_FILE"), &pw, &err), 0);
	cr_assert_eq(ldap_initialize(&ld, env("GB_TEST_DC1_LDAPS_URI")), LDAP_SUCCESS);
	ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
	ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
	ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, ca);
	ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
	cred.bv_val = pw;
	cred.bv_len = strlen(pw);
	cr_assert_eq(ldap_sasl_bind_s(ld, env("GB_TEST_DC1_BIND_DN"), LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL),
		     LDAP_SUCCESS);
	cr_assert_eq(ldap_add_ext_s(ld, dn, mods, NULL, NULL), LDAP_SUCCESS, "creating %s", dn);
	ldap_unbind_ext_s(ld, NULL, NULL);
	gb_secret_free(pw);
	return dn;
}

static gb_apply_result apply(const gb_plan *p, const char *fence, int want_rc)
{
	gb_apply_opts o;
	gb_apply_result res;
	gb_error err;

	memset(&o, 0, sizeof(o));
	o.st = st;
	o.step = "provision";
	o.dir = dir;
	o.fence = fence;
	cr_assert_eq(gb_apply(p, &o, &res, &err), want_rc, "%s", err.msg);
	return res;
}

static gb_ad_group *read_group(const char *dn)
{
	gb_ad_group *g = NULL;
	gb_error err;

	cr_assert_eq(gb_directory_read_group(dir, dn, false, &g, &err), 0, "%s", err.msg);
	return g;
}

static gb_plan *new_plan(void)
{
	gb_plan *p;
	gb_error err;

	cr_assert_eq(gb_plan_new(&p, &err), 0);
	return p;
}

/* Adds to p the creation of group id as CN=cn,ou (written to dn, 300 bytes) with its cn; returns the operation. */
static gb_op *create_op(gb_plan *p, const char *id, const char *ou, const char *cn, char *dn)
{
	gb_op *x;

	snprintf(dn, 300, "CN=%s,%s", cn, ou);
	x = gb_testfs_op(p, GB_OP_CREATE_GROUP, id, dn);
	gb_testfs_attr(x, "cn", NULL, cn);
	return x;
}

/* Checks the anchor of the group at dn (want NULL: none). */
static void expect_anchor(const char *dn, const char *want)
{
	gb_ad_group *g = read_group(dn);

	if (want)
		cr_assert_str_eq(g->anchor, want, "%s", dn);
	else
		cr_assert_null(g->anchor, "%s", dn);
	gb_ad_group_free(g);
}

Test(apply_ldap, a_group_is_added_with_the_attributes_of_its_plan_its_group_type_included)
{
	const char *ou = make_ou("create");
	char dn[300];
	gb_plan *p = new_plan();
	gb_op *x = create_op(p, "00000077-0000-4000-8000-000000000001", ou, "Global One", dn);
	gb_ad_group *g;
	gb_apply_result res;

	gb_testfs_attr(x, "groupType", NULL, "-2147483646"); /* global security: before, every add was universal */
	gb_testfs_attr(x, "description", NULL, "from the plan");
	gb_testfs_attr(x, GB_DIRECTORY_ANCHOR_ATTR, NULL, "Group_00000077-0000-4000-8000-000000000001");
	res = apply(p, ou, 0);
	cr_assert_eq(res.applied, 1);
	g = read_group(dn);
	cr_assert_eq(g->group_type, GB_GROUP_TYPE_GLOBAL_SECURITY);
	cr_assert_str_eq(g->description, "from the plan");
	gb_ad_group_free(g);
	expect_anchor(dn, "Group_00000077-0000-4000-8000-000000000001");
	gb_plan_free(p);
}

Test(apply_ldap, a_replace_of_more_than_sixteen_attributes_is_sent_whole)
{
	const char *ou = make_ou("many");
	char dn[300], v[32];
	int i;
	gb_plan *p = new_plan();
	gb_op *x;
	gb_ad_group *g;

	create_op(p, "g1", ou, "Many", dn);
	x = gb_testfs_op(p, GB_OP_SET_ATTRS, "g1", dn);
	/* sixteen replaces, then the seventeenth: before, everything after the sixteenth was dropped unsaid */
	for (i = 0; i < 16; i++) {
		snprintf(v, sizeof(v), "value %d", i);
		gb_testfs_attr(x, i % 2 ? "description" : "displayName", NULL, v);
	}
	gb_testfs_attr(x, "adminDescription", NULL, "the seventeenth");
	cr_assert_eq(apply(p, ou, 0).applied, 2);
	g = read_group(dn);
	cr_assert_str_eq(g->admin_description, "the seventeenth");
	cr_assert_str_eq(g->description, "value 15");
	gb_ad_group_free(g);
	gb_plan_free(p);
}

Test(apply_ldap, add_if_absent_and_delete_if_equal_never_touch_another_value)
{
	const char *ou = make_ou("values");
	char a[300], b[300];
	gb_plan *p = new_plan();
	gb_op *x;
	gb_apply_result res;

	create_op(p, "a", ou, "Stamped", a);
	x = create_op(p, "b", ou, "Taken", b);
	gb_testfs_attr(x, GB_DIRECTORY_ANCHOR_ATTR, NULL, "Group_somebody-else");
	x = gb_testfs_op(p, GB_OP_ADD_VALUE, "a", a);
	gb_testfs_attr(x, GB_DIRECTORY_ANCHOR_ATTR, NULL, "Group_a");
	x = gb_testfs_op(p, GB_OP_ADD_VALUE, "b", b); /* a value is there: fails, the value stays */
	gb_testfs_attr(x, GB_DIRECTORY_ANCHOR_ATTR, NULL, "Group_b");
	res = apply(p, ou, 0);
	cr_assert_eq(res.applied, 3);
	cr_assert_eq(res.failed, 1);
	expect_anchor(a, "Group_a");
	expect_anchor(b, "Group_somebody-else");
	gb_plan_free(p);

	p = new_plan();
	x = gb_testfs_op(p, GB_OP_DELETE_VALUE, "b", b); /* not the value there: fails, the value stays */
	gb_testfs_attr(x, GB_DIRECTORY_ANCHOR_ATTR, "Group_b", NULL);
	x = gb_testfs_op(p, GB_OP_DELETE_VALUE, "a", a);
	gb_testfs_attr(x, GB_DIRECTORY_ANCHOR_ATTR, "Group_a", NULL);
	res = apply(p, ou, 0);
	cr_assert_eq(res.applied, 1);
	cr_assert_eq(res.failed, 1);
	expect_anchor(a, NULL);
	expect_anchor(b, "Group_somebody-else");
	gb_plan_free(p);
}

Test(apply_ldap, the_engine_sets_the_fence_before_anything_is_sent)
{
	const char *ou = make_ou("fence");
	char dn[300], elsewhere[300], cn[64];
	gb_plan *p;
	gb_op *x;
	gb_apply_result res;
	gb_audit_iter *it;
	const gb_audit_record *r;
	gb_error err;

	snprintf(cn, sizeof(cn), "Outside-%ld", (long)getpid());
	cr_assert_eq(gb_directory_set_fence(dir, env("GB_TEST_DC1_BASE_DN"), &err), 0);
	p = new_plan();
	create_op(p, "in", ou, "Inside", dn);
	create_op(p, "out", env("GB_TEST_DC1_BASE_DN"), cn, elsewhere);
	res = apply(p, ou, 0);
	cr_assert_eq(res.applied, 1);
	cr_assert_eq(res.failed, 1, "the fence given to the engine replaced the wider one the directory had");
	cr_assert_eq(gb_audit_iter_new(st, NULL, &it, &err), 0);
	while (gb_audit_iter_next(it, &r, &err) == 0 && r && strcmp(r->outcome, "failed") != 0)
		;
	cr_assert_not_null(r);
	cr_assert(strstr(r->message, "refused"), "the fence refused it: %s", r->message);
	gb_audit_iter_free(it);
	gb_plan_free(p);
	/* no fence: no LDAP write at all */
	p = new_plan();
	x = gb_testfs_op(p, GB_OP_SET_ATTRS, "in", dn);
	gb_testfs_attr(x, "description", NULL, "x");
	res = apply(p, NULL, 0);
	cr_assert_eq(res.failed, 1);
	gb_plan_free(p);
}
