/* Unit tests of the apply engine without servers: ordering as data, the gate (a failed operation skips the later
 * operations of its object), the record stage (one audit shape, the caller's hook in the same transaction), the stop
 * between operations, and the executors' refusals that need no server (an attribute a group add does not write).
 * tests/integration/test_apply.c runs the LDAP executors against the test bed's DC. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/apply.h"
#include "groupbridge/audit.h"
#include "groupbridge/log.h"
#include "groupbridge/store.h"
#include "groupbridge/util.h"
#include "support/testfs.h"

static char dir[64];
static gb_store *st;
static gb_plan *p; /* each test's plan, empty at its start */

static void setup(void)
{
	gb_error err;

	gb_testfs_mkdtemp(dir, sizeof(dir), "apply");
	st = gb_testfs_store(dir);
	gb_log_setup(GB_LOG_QUIET, 0, stderr);
	cr_assert_eq(gb_plan_new(&p, &err), 0, "%s", err.msg);
}

static void teardown(void)
{
	gb_plan_free(p);
	p = NULL;
	gb_store_free(st);
	gb_testfs_rmtree(dir);
}

TestSuite(apply, .init = setup, .fini = teardown);

static gb_apply_opts opts(void)
{
	gb_apply_opts o;

	memset(&o, 0, sizeof(o));
	o.st = st;
	o.run_id = "run-1";
	o.step = "provision";
	return o;
}

/* The records of the log, one line each: "operation target outcome[: message]". */
static char *records(void)
{
	gb_audit_iter *it;
	const gb_audit_record *r;
	gb_buf b;
	gb_error err;

	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	cr_assert_eq(gb_audit_iter_new(st, NULL, &it, &err), 0);
	while (gb_audit_iter_next(it, &r, &err) == 0 && r)
		cr_assert_eq(gb_buf_printf(&b, &err, "%s %s %s\n", r->operation, r->target, r->result), 0);
	gb_audit_iter_free(it);
	gb_buf_puts(&b, "", &err);
	return gb_buf_detach(&b);
}

Test(apply, ordering_is_data_same_object_and_created_groups)
{
	gb_apply_order *ord;
	gb_op *o;
	gb_error err;

	gb_testfs_op(p, GB_OP_CREATE_GROUP, "g1", "CN=One,OU=G,DC=t");            /* 0 */
	gb_testfs_op(p, GB_OP_CREATE_GROUP, "g2", "CN=Two,OU=G,DC=t");            /* 1 */
	o = gb_testfs_op(p, GB_OP_ADD_MEMBERS, "g2", "CN=Two,OU=G,DC=t");         /* 2: same object as 1, names 0 */
	cr_assert_eq(gb_op_add_value(o, "CN=One,OU=G,DC=t", &err), 0);
	cr_assert_eq(gb_op_add_value(o, "<GUID=00000000-0000-0000-0000-000000000001>", &err), 0);
	gb_testfs_op(p, GB_OP_ADD_MEMBERS, "G1", "CN=One,OU=G,DC=t");             /* 3: object ids compare in any case */
	gb_testfs_op(p, GB_OP_GRAPH_CREATE_APP, NULL, "CloudSyncCustomExtensionsApp"); /* 4: no object id: the target */
	gb_testfs_op(p, GB_OP_GRAPH_CREATE_SP, NULL, "CloudSyncCustomExtensionsApp");  /* 5 */
	cr_assert_eq(gb_apply_order_new(p, &ord, &err), 0, "%s", err.msg);
	cr_assert_eq(ord->ndeps[0], 0);
	cr_assert_eq(ord->ndeps[1], 0);
	cr_assert_eq(ord->ndeps[2], 2);
	cr_assert_eq(ord->deps[2][0].op, 1);
	cr_assert_eq(ord->deps[2][0].kind, GB_DEP_SAME_OBJECT);
	cr_assert_eq(ord->deps[2][1].op, 0);
	cr_assert_eq(ord->deps[2][1].kind, GB_DEP_CREATED);
	cr_assert_eq(ord->ndeps[3], 1, "the create of its own group is the same object, not a second dependency");
	cr_assert_eq(ord->deps[3][0].op, 0);
	cr_assert_eq(ord->deps[3][0].kind, GB_DEP_SAME_OBJECT);
	cr_assert_eq(ord->ndeps[5], 1);
	cr_assert_eq(ord->deps[5][0].op, 4);
	gb_apply_order_free(ord);
	gb_apply_order_free(NULL);
}

Test(apply, ordering_another_object_under_the_same_name_goes_after_it)
{
	gb_apply_order *ord;
	gb_op *o;
	gb_error err;

	/* with writes in flight, two objects that want one DN or one sAMAccountName must still meet AD in plan order,
	 * so that the first gets the name as it would one at a time */
	o = gb_testfs_op(p, GB_OP_CREATE_GROUP, "g1", "CN=A,OU=G,DC=t");            /* 0 */
	cr_assert_eq(gb_op_add_attr(o, "sAMAccountName", NULL, "a1", &err), 0);
	gb_testfs_op(p, GB_OP_CREATE_GROUP, "g2", "cn=a,ou=g,dc=t");                /* 1: g1's DN, in another case */
	o = gb_testfs_op(p, GB_OP_CREATE_GROUP, "g3", "CN=B,OU=G,DC=t");            /* 2: g1's sAMAccountName */
	cr_assert_eq(gb_op_add_attr(o, "sAMAccountName", NULL, "A1", &err), 0);
	gb_testfs_op(p, GB_OP_ADD_MEMBERS, "g1", "CN=A,OU=G,DC=t");                 /* 3: g1 again, after g2 */
	gb_testfs_op(p, GB_OP_ADD_MEMBERS, "g4", "CN=C,OU=G,DC=t");                 /* 4: nothing in common */
	cr_assert_eq(gb_apply_order_new(p, &ord, &err), 0, "%s", err.msg);
	cr_assert_eq(ord->ndeps[1], 1);
	cr_assert_eq(ord->deps[1][0].op, 0);
	cr_assert_eq(ord->deps[1][0].kind, GB_DEP_SAME_NAME);
	cr_assert_eq(ord->ndeps[2], 1);
	cr_assert_eq(ord->deps[2][0].op, 0);
	cr_assert_eq(ord->deps[2][0].kind, GB_DEP_SAME_NAME);
	cr_assert_eq(ord->ndeps[3], 2);
	cr_assert_eq(ord->deps[3][0].op, 0);
	cr_assert_eq(ord->deps[3][0].kind, GB_DEP_SAME_OBJECT);
	cr_assert_eq(ord->deps[3][1].op, 1);
	cr_assert_eq(ord->deps[3][1].kind, GB_DEP_SAME_NAME);
	cr_assert_eq(ord->ndeps[4], 0);
	gb_apply_order_free(ord);
}

Test(apply, every_kind_has_a_name_an_audited_operation_and_an_executor)
{
	gb_apply_opts o = opts();
	gb_apply_result res;
	gb_error err;
	int k;

	for (k = 0; k < GB_OP_KIND_COUNT; k++) {
		char id[16];
		cr_assert_str_neq(gb_op_kind_name((gb_op_kind)k), "unknown");
		cr_assert(gb_audit_operation_known(gb_op_kind_operation((gb_op_kind)k)), "%s",
			  gb_op_kind_operation((gb_op_kind)k));
		cr_assert_not(gb_op_kind_is_ldap((gb_op_kind)k) && gb_op_kind_is_graph((gb_op_kind)k));
		snprintf(id, sizeof(id), "g%d", k);
		gb_testfs_op(p, (gb_op_kind)k, id, "CN=X,OU=G,DC=t");
	}
	/* without a directory or a Graph client every LDAP and Graph operation fails (its executor says why), and the
	 * state-only ones succeed: each kind reached an executor, none crashed */
	cr_assert_eq(gb_apply(p, &o, &res, &err), 0, "%s", err.msg);
	cr_assert_eq(res.recorded, GB_OP_KIND_COUNT);
	cr_assert_eq(res.applied, 2, "unmanage and hand-over");
	cr_assert_eq(res.failed, GB_OP_KIND_COUNT - 2);
	cr_assert_str_eq(gb_op_kind_name(GB_OP_KIND_COUNT), "unknown");
}

Test(apply, a_failed_operation_skips_the_later_operations_of_its_object_only)
{
	gb_apply_opts o = opts();
	gb_apply_result res;
	gb_op *x;
	char *text;
	gb_error err;

	x = gb_testfs_op(p, GB_OP_SET_ATTRS, "g1", "CN=One,OU=G,DC=t"); /* fails: no directory */
	gb_testfs_attr(x, "description", "old", "new");
	gb_testfs_op(p, GB_OP_UNMANAGE, "g2", "CN=Two,OU=G,DC=t");
	gb_testfs_op(p, GB_OP_UNMANAGE, "g1", "CN=One,OU=G,DC=t");
	gb_testfs_op(p, GB_OP_HANDOFF, "g1", "CN=One,OU=G,DC=t");
	cr_assert_eq(gb_apply(p, &o, &res, &err), 0, "%s", err.msg);
	cr_assert_eq(res.failed, 1);
	cr_assert_eq(res.applied, 1);
	cr_assert_eq(res.skipped, 2);
	text = records();
	cr_assert_str_eq(text, "group.set CN=One,OU=G,DC=t failed: set-attributes CN=One,OU=G,DC=t: no directory "
			       "connection to send it to\n"
			       "group.unmanage CN=Two,OU=G,DC=t ok\n"
			       "group.unmanage CN=One,OU=G,DC=t skipped: an earlier operation on this group failed\n"
			       "group.handoff CN=One,OU=G,DC=t skipped: an earlier operation on this group failed\n");
	free(text);
}

Test(apply, the_record_holds_every_attribute_before_and_after)
{
	gb_apply_opts o = opts();
	gb_apply_result res;
	gb_audit_iter *it;
	const gb_audit_record *r;
	gb_op *x;
	gb_error err;
	char name[32], before[32], after[32];
	int i;

	x = gb_testfs_op(p, GB_OP_SET_ATTRS, "g1", "CN=One,OU=G,DC=t");
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "attr%02d", i);
		snprintf(before, sizeof(before), "b%d", i);
		snprintf(after, sizeof(after), "a%d", i);
		gb_testfs_attr(x, name, i == 19 ? NULL : before, after);
	}
	cr_assert_eq(gb_apply(p, &o, &res, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_audit_iter_new(st, NULL, &it, &err), 0);
	cr_assert_eq(gb_audit_iter_next(it, &r, &err), 0);
	cr_assert_not_null(r);
	cr_assert_str_eq(r->step, "provision");
	cr_assert_str_eq(r->run_id, "run-1");
	cr_assert(strstr(r->before, "\"attr00\":\"b0\"") && strstr(r->before, "\"attr18\":\"b18\"") &&
		      strstr(r->before, "\"attr19\":null"),
		  "%s", r->before);
	cr_assert(strstr(r->after, "\"attr00\":\"a0\"") && strstr(r->after, "\"attr19\":\"a19\""), "%s", r->after);
	cr_assert_str_eq(r->outcome, "failed");
	cr_assert(strstr(r->message, "no directory connection"), "%s", r->message);
	gb_audit_iter_free(it);
}

static int kv_hook(void *ctx, gb_store *s, const gb_op *o, const gb_apply_outcome *out, gb_error *err)
{
	int *calls = ctx;

	(*calls)++;
	if (o->object_id && strcmp(o->object_id, "boom") == 0)
		return gb_error_set(err, GB_EIO, "the hook failed");
	return gb_store_kv_set(s, o->object_id, gb_audit_outcome_name(out->outcome), err);
}

Test(apply, the_hook_runs_in_the_transaction_of_the_record)
{
	gb_apply_opts o = opts();
	gb_apply_result res;
	gb_audit_verdict v;
	char *val = NULL;
	int calls = 0;
	gb_error err;

	o.hook = kv_hook;
	o.ctx = &calls;
	gb_testfs_op(p, GB_OP_HANDOFF, "g1", "g1");
	gb_testfs_op(p, GB_OP_HANDOFF, "boom", "boom");
	gb_testfs_op(p, GB_OP_HANDOFF, "g3", "g3");
	cr_assert_eq(gb_apply(p, &o, &res, &err), GB_EIO);
	cr_assert(strstr(err.msg, "the hook failed"), "%s", err.msg);
	cr_assert_eq(calls, 2, "the apply stops at the failed hook");
	cr_assert_eq(res.recorded, 1);
	cr_assert_eq(gb_store_kv_get(st, "g1", &val, &err), 0);
	cr_assert_str_eq(val, "ok");
	free(val);
	cr_assert_eq(gb_store_kv_get(st, "boom", &val, &err), GB_ENOTFOUND);
	cr_assert_eq(gb_audit_verify(st, NULL, &v, &err), 0);
	cr_assert_eq(v.count, 1, "the record of the operation whose hook failed was rolled back with it");
}

static int stop_after_first(void *ctx, gb_store *s, const gb_op *o, const gb_apply_outcome *out, gb_error *err)
{
	(void)ctx, (void)s, (void)o, (void)out, (void)err;
	raise(SIGTERM);
	return 0;
}

Test(apply, a_stop_request_ends_the_apply_between_operations)
{
	gb_apply_opts o = opts();
	gb_apply_result res;
	gb_error err;

	gb_stop_install();
	o.hook = stop_after_first;
	gb_testfs_op(p, GB_OP_UNMANAGE, "g1", "CN=One,OU=G,DC=t");
	gb_testfs_op(p, GB_OP_UNMANAGE, "g2", "CN=Two,OU=G,DC=t");
	cr_assert_eq(gb_apply(p, &o, &res, &err), GB_EINTERRUPTED);
	cr_assert_eq(res.recorded, 1);
	cr_assert(strstr(err.msg, "stopped on request after 1 of 2 operations"), "%s", err.msg);
}

Test(apply, a_group_add_refuses_an_attribute_it_does_not_write)
{
	gb_apply_opts o = opts();
	gb_apply_result res;
	gb_op *x;
	char *text;
	gb_error err;

	x = gb_testfs_op(p, GB_OP_CREATE_GROUP, "g1", "CN=One,OU=G,DC=t");
	gb_testfs_attr(x, "cn", NULL, "One");
	gb_testfs_attr(x, "mail", NULL, "one@example.com");
	x = gb_testfs_op(p, GB_OP_CREATE_GROUP, "g2", "CN=Two,OU=G,DC=t");
	gb_testfs_attr(x, "groupType", NULL, "universal");
	x = gb_testfs_op(p, GB_OP_CREATE_GROUP, "g3", "CN=Three,OU=G,DC=t");
	gb_testfs_attr(x, "cn", NULL, "Four");
	cr_assert_eq(gb_apply(p, &o, &res, &err), 0, "%s", err.msg);
	cr_assert_eq(res.failed, 3);
	text = records();
	cr_assert(strstr(text, "create-group CN=One,OU=G,DC=t: attribute mail is not one a group add writes"), "%s",
		  text);
	cr_assert(strstr(text, "groupType \"universal\" is not a group type"), "%s", text);
	cr_assert(strstr(text, "cn \"Four\" is not the value of the DN's RDN"), "%s", text);
	free(text);
}

Test(apply, options_are_checked)
{
	gb_apply_opts o = opts();
	gb_apply_result res;
	gb_error err;

	o.step = NULL;
	cr_assert_eq(gb_apply(p, &o, &res, &err), GB_EINVAL);
	cr_assert_eq(gb_apply(p, NULL, &res, &err), GB_EINVAL);
}
