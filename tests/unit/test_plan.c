/* Unit tests of plans: building, JSON round trip (the apply checkpoint), text for people, bad JSON refused. */
#include <criterion/criterion.h>
#include <jansson.h>
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

/* The plan is written as a stream; its text must be exactly what jansson writes for the same JSON (the format the
 * stored plans and `provision --json` always had), hostile strings included. */
Test(plan, streamed_json_is_what_jansson_writes)
{
	static const char *const hostile[] = {
	    "quote \" backslash \\ slash / tab \t newline \n cr \r bs \b ff \f bell \a esc \x1b del \x7f",
	    "Ünïcödé Grüppe, Ñandú, 日本語のグループ, emoji \xf0\x9f\x98\x80 and \xe2\x80\xa8 line separator",
	    "", ")(|(cn=*))", "CN=a\\,b+c=d,OU=\"x\";<y>#z"};
	gb_plan *p = sample(), *empty = NULL;
	gb_op *op;
	gb_error err;
	json_error_t jerr;
	json_t *tree;
	char *mine, *theirs;
	size_t i;

	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		cr_assert_eq(gb_plan_add_op(p, GB_OP_SET_ATTRS, hostile[i], hostile[i], hostile[i], &op, &err), 0);
		cr_assert_eq(gb_op_add_attr(op, hostile[i], hostile[i], NULL, &err), 0);
		cr_assert_eq(gb_op_add_value(op, hostile[i], &err), 0);
		cr_assert_eq(gb_plan_note(p, GB_NOTE_WARNING, hostile[i], NULL, hostile[i], &err, "%s", hostile[i]), 0);
	}
	cr_assert_eq(gb_plan_new(&empty, &err), 0);
	for (i = 0; i < 2; i++) {
		cr_assert_eq(gb_plan_to_json(i ? empty : p, &mine, &err), 0, "%s", err.msg);
		tree = json_loads(mine, 0, &jerr);
		cr_assert_not_null(tree, "not JSON: %s at line %d", jerr.text, jerr.line);
		theirs = json_dumps(tree, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
		cr_assert_str_eq(mine, theirs);
		free(theirs);
		json_decref(tree);
		free(mine);
	}
	gb_plan_free(p);
	gb_plan_free(empty);
}

/* A value that is not UTF-8 (a byte from a broken source) still gives valid JSON: the byte becomes U+FFFD. */
Test(plan, bytes_that_are_not_utf8_become_replacement_characters)
{
	gb_plan *p = NULL;
	gb_op *op;
	gb_error err;
	json_error_t jerr;
	json_t *tree;
	char *text;

	cr_assert_eq(gb_plan_new(&p, &err), 0);
	cr_assert_eq(gb_plan_add_op(p, GB_OP_ADD_MEMBERS, "g", "CN=a\xff\xc3(,DC=t", "r", &op, &err), 0);
	cr_assert_eq(gb_op_add_value(op, "\xed\xa0\x80 surrogate, \xc0\xaf overlong, \xe2\x82 cut", &err), 0);
	cr_assert_eq(gb_plan_to_json(p, &text, &err), 0, "%s", err.msg);
	tree = json_loads(text, 0, &jerr);
	cr_assert_not_null(tree, "not JSON: %s", jerr.text);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(tree, "operations"), 0),
							   "target")),
			 "CN=a\xef\xbf\xbd\xef\xbf\xbd(,DC=t");
	json_decref(tree);
	free(text);
	gb_plan_free(p);
}

/* A plan stored by an earlier version (before the explicit kinds) still reads: its kinds kept their names and
 * meanings. The Graph change whose meaning hung on its attribute's name is refused with the reason. */
Test(plan, plans_stored_before_the_explicit_kinds_still_read)
{
	static const char old[] =
	    "{\"schema_version\":1,\"groups\":[{\"object_id\":\"g1\",\"dn\":\"CN=A,OU=G,DC=t\",\"guid\":null,\"members\":1}],"
	    "\"operations\":[{\"kind\":\"create-group\",\"object_id\":\"g1\",\"target\":\"CN=A,OU=G,DC=t\",\"guid\":null,"
	    "\"new_rdn\":null,\"new_parent\":null,\"attributes\":[{\"name\":\"cn\",\"before\":null,\"after\":\"A\"}],"
	    "\"values\":[],\"reason\":\"r\"},{\"kind\":\"set-attributes\",\"object_id\":\"g2\",\"target\":\"CN=B,OU=G,DC=t\","
	    "\"guid\":\"7ddabd6a-bb4b-4560-9a76-b1f20de3b347\",\"new_rdn\":null,\"new_parent\":null,\"attributes\":[{\"name\":"
	    "\"description\",\"before\":\"x\",\"after\":\"y\"}],\"values\":[],\"reason\":\"r\"},{\"kind\":\"stop-managing\","
	    "\"object_id\":\"g3\",\"target\":\"CN=C,OU=G,DC=t\",\"guid\":null,\"new_rdn\":null,\"new_parent\":null,"
	    "\"attributes\":[],\"values\":[],\"reason\":\"r\"}],\"notes\":[]}";
	static const char patch[] = "{\"schema_version\":1,\"operations\":[{\"kind\":\"graph-patch\",\"target\":\"g1\","
				    "\"attributes\":[{\"name\":\"isCloudManaged\",\"before\":\"false\",\"after\":\"true\"}]}],"
				    "\"notes\":[]}";
	gb_plan *q;
	gb_error err;

	cr_assert_eq(gb_plan_from_json(old, &q, &err), 0, "%s", err.msg);
	cr_assert_eq(q->nops, 3);
	cr_assert_eq(q->ops[0].kind, GB_OP_CREATE_GROUP);
	cr_assert_eq(q->ops[1].kind, GB_OP_SET_ATTRS);
	cr_assert_str_eq(gb_op_kind_operation(q->ops[1].kind), "group.set");
	cr_assert_eq(q->ops[2].kind, GB_OP_UNMANAGE);
	gb_plan_free(q);
	cr_assert_eq(gb_plan_from_json(patch, &q, &err), GB_EPARSE);
	cr_assert_null(q);
	cr_assert(strstr(err.msg, "operation 0 is a graph-patch") && strstr(err.msg, "plan again"), "%s", err.msg);
}

Test(plan, the_new_kinds_round_trip_and_say_where_they_go)
{
	gb_plan *p, *q;
	gb_op *op;
	char *a, *b;
	gb_error err;

	cr_assert_eq(gb_plan_new(&p, &err), 0);
	cr_assert_eq(gb_plan_add_op(p, GB_OP_ADD_VALUE, "g1", "CN=A,DC=t", "stamp", &op, &err), 0);
	cr_assert_eq(gb_op_add_attr(op, "msDS-ExternalDirectoryObjectId", NULL, "Group_g1", &err), 0);
	cr_assert_eq(gb_plan_add_op(p, GB_OP_GRAPH_SET_SOA, "g1", "g1", "soa", &op, &err), 0);
	cr_assert_eq(gb_op_add_attr(op, "isCloudManaged", "false", "true", &err), 0);
	cr_assert_eq(gb_plan_add_op(p, GB_OP_HANDOFF, "g1", "g1", "handoff", &op, &err), 0);
	cr_assert_eq(gb_plan_to_json(p, &a, &err), 0);
	cr_assert(strstr(a, "\"kind\": \"add-value\"") && strstr(a, "\"kind\": \"graph-set-source-of-authority\"") &&
		      strstr(a, "\"kind\": \"hand-over\""),
		  "%s", a);
	cr_assert_eq(gb_plan_from_json(a, &q, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_plan_to_json(q, &b, &err), 0);
	cr_assert_str_eq(a, b);
	cr_assert(gb_op_kind_is_ldap(GB_OP_ADD_VALUE) && !gb_op_kind_is_graph(GB_OP_ADD_VALUE));
	cr_assert(gb_op_kind_is_graph(GB_OP_GRAPH_SET_SOA) && !gb_op_kind_is_ldap(GB_OP_GRAPH_SET_SOA));
	cr_assert(!gb_op_kind_is_ldap(GB_OP_HANDOFF) && !gb_op_kind_is_graph(GB_OP_HANDOFF));
	cr_assert_not_null(gb_op_find_attr(&q->ops[1], "isCloudManaged"));
	cr_assert_null(gb_op_find_attr(&q->ops[1], "GroupDN"));
	free(a);
	free(b);
	gb_plan_free(p);
	gb_plan_free(q);
}
