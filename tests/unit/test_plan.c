/* Unit tests of plans: building, JSON round trip (the apply checkpoint), text for people, bad JSON refused. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/plan.h"

static gb_plan *sample(void)
{
	gb_plan *p;
	gb_op *op;
	gb_error err;

	cr_assert_eq(gb_plan_new(&p, &err), 0);
	cr_assert_eq(gb_plan_add_op(p, GB_OP_CREATE_GROUP, "g1", "CN=Sales\\, EMEA_0123456789ab,OU=G,DC=t", "in scope",
				    &op, &err),
		     0);
	cr_assert_eq(gb_op_add_attr(op, "description", NULL, "Line1 \"quoted\"", &err), 0);
	cr_assert_eq(gb_plan_add_op(p, GB_OP_ADD_MEMBERS, "g1", "CN=Sales\\, EMEA_0123456789ab,OU=G,DC=t",
				    "cloud members", &op, &err),
		     0);
	for (int i = 0; i < 5; i++) {
		char v[64];
		snprintf(v, sizeof(v), "<GUID=0000000%d-0000-0000-0000-000000000000>", i);
		cr_assert_eq(gb_op_add_value(op, v, &err), 0);
	}
	cr_assert_eq(gb_plan_add_op(p, GB_OP_MOVE, "g2", "CN=x,OU=A,DC=t", "container changed", &op, &err), 0);
	cr_assert_eq(gb_op_set_guid(op, "7ddabd6a-bb4b-4560-9a76-b1f20de3b347", &err), 0);
	cr_assert_eq(gb_op_set_rdn(op, "CN=x", "OU=B,DC=t", &err), 0);
	cr_assert_eq(gb_plan_add_group(p, "g1", "CN=Sales\\, EMEA_0123456789ab,OU=G,DC=t", NULL, &err), 0);
	cr_assert_eq(gb_plan_note(p, GB_NOTE_MEMBER_SKIPPED, "g1", "u9", "cloud-only-user", &err,
				  "user %s has no AD account in this forest", "u9"),
		     0);
	return p;
}

Test(plan, counts_and_names)
{
	gb_plan *p = sample();

	cr_assert_eq(p->nops, 3);
	cr_assert_eq(gb_plan_count(p, GB_OP_ADD_MEMBERS), 1);
	cr_assert_eq(gb_plan_count(p, GB_OP_DELETE_GROUP), 0);
	cr_assert_str_eq(gb_op_kind_name(GB_OP_REMOVE_MEMBERS), "remove-members");
	cr_assert_str_eq(gb_note_kind_name(GB_NOTE_GROUP_UNSUPPORTED), "group-unsupported");
	cr_assert_eq(p->ops[1].nvalues, 5);
	gb_plan_free(p);
	gb_plan_free(NULL);
}

Test(plan, json_round_trip_is_lossless)
{
	gb_plan *p = sample(), *q;
	char *a, *b;
	gb_error err;

	cr_assert_eq(gb_plan_to_json(p, &a, &err), 0);
	cr_assert_eq(gb_plan_from_json(a, &q, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_plan_to_json(q, &b, &err), 0);
	cr_assert_str_eq(a, b);
	cr_assert_null(q->ops[0].attrs[0].before);
	cr_assert_str_eq(q->ops[2].new_parent, "OU=B,DC=t");
	cr_assert_str_eq(q->notes[0].code, "cloud-only-user");
	cr_assert_eq(q->ngroups, 1);
	cr_assert_null(q->groups[0].guid);
	free(a);
	free(b);
	gb_plan_free(p);
	gb_plan_free(q);
}

Test(plan, bad_json_is_refused_with_a_reason)
{
	gb_plan *q;
	gb_error err;

	cr_assert_eq(gb_plan_from_json("{", &q, &err), GB_EPARSE);
	cr_assert_null(q);
	cr_assert_eq(gb_plan_from_json("{\"schema_version\":2,\"operations\":[],\"notes\":[]}", &q, &err), GB_EPARSE);
	cr_assert(strstr(err.msg, "schema_version") != NULL);
	cr_assert_eq(gb_plan_from_json("{\"schema_version\":1,\"operations\":[{\"kind\":\"explode\"}],\"notes\":[]}",
				       &q, &err),
		     GB_EPARSE);
	cr_assert(strstr(err.msg, "operation 0") != NULL, "%s", err.msg);
	cr_assert_eq(gb_plan_from_json("{\"schema_version\":1,\"operations\":[{\"kind\":\"add-members\",\"values\":[1]}],"
				       "\"notes\":[]}",
				       &q, &err),
		     GB_EPARSE);
}

Test(plan, text_lists_reasons_and_limits_values)
{
	gb_plan *p = sample(), *empty;
	char *t;
	gb_error err;

	cr_assert_eq(gb_plan_to_text(p, 2, &t, &err), 0);
	cr_assert(strstr(t, "create-group") && strstr(t, "because: in scope"), "%s", t);
	cr_assert(strstr(t, "5 member values") && strstr(t, "... and 3 more"), "%s", t);
	cr_assert(strstr(t, "new parent: OU=B,DC=t"), "%s", t);
	cr_assert(strstr(t, "cloud-only-user"), "%s", t);
	free(t);
	gb_plan_free(p);
	cr_assert_eq(gb_plan_new(&empty, &err), 0);
	cr_assert_eq(gb_plan_to_text(empty, 0, &t, &err), 0);
	cr_assert_str_eq(t, "No changes.\n");
	free(t);
	gb_plan_free(empty);
}
