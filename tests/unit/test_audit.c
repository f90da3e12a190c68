/* Unit tests of the audit log: the canonical form and hash, appends, and verify naming edited, deleted, moved and
 * truncated records. Tampering is done with SQL on the database, as someone with the file would. */
#include <criterion/criterion.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "groupbridge/audit.h"
#include "groupbridge/log.h"
#include "groupbridge/report.h"
#include "groupbridge/store.h"
#include "groupbridge/util.h"
#include "support/testfs.h"

static char dir[64];
static char path[128];
static gb_store *st;

static void setup(void)
{
	gb_testfs_mkdtemp_db(dir, sizeof(dir), path, sizeof(path), "audit");
	st = gb_testfs_store(dir);
}

static void teardown(void)
{
	gb_store_free(st);
	st = NULL;
	gb_log_clear_secrets();
	gb_testfs_rmtree(dir);
}

TestSuite(audit, .init = setup, .fini = teardown);

/* Appends n records at fixed times: "group.create" of CN=G<i>. */
static void append_n(int n, const char *run)
{
	char target[64], tm[32], after[64];
	gb_audit_entry e;
	gb_error err;
	int64_t seq;
	int i;

	for (i = 1; i <= n; i++) {
		snprintf(target, sizeof(target), "CN=G%d,OU=Groups,DC=test,DC=example", i);
		snprintf(tm, sizeof(tm), "2026-11-24T08:%02d:00.000Z", i);
		snprintf(after, sizeof(after), "{\"member\":%d}", i);
		memset(&e, 0, sizeof(e));
		e.run_id = run;
		e.step = "provision";
		e.operation = i % 2 ? "group.create" : "member.add";
		e.target = target;
		e.after = after;
		e.outcome = GB_OUTCOME_OK;
		cr_assert_eq(gb_audit_append_at(st, tm, &e, &seq, &err), 0, "%s", err.msg);
		cr_assert_eq(seq, i);
	}
}

static void sql(const char *q)
{
	char *msg = NULL;

	cr_assert_eq(sqlite3_exec(gb_store_db(st), q, NULL, NULL, &msg), SQLITE_OK, "%s: %s", q, msg ? msg : "");
}

static gb_audit_verdict verify(const char *expect)
{
	gb_audit_verdict v;
	gb_error err;

	cr_assert_eq(gb_audit_verify(st, expect, &v, &err), 0, "%s", err.msg);
	return v;
}

/* Appends n records (append_n), tampers with the log by the SQL q, as someone with the file would, and verifies. */
static gb_audit_verdict tampered(int n, const char *q)
{
	append_n(n, "run-1");
	sql(q);
	return verify(NULL);
}

/* Checks the problem a verdict found and, when seq > 0, the record it names first. */
static void expect_verdict(gb_audit_verdict v, gb_audit_problem problem, int64_t seq)
{
	cr_assert_eq(v.problem, problem, "%s", v.message);
	if (seq > 0)
		cr_assert_eq(v.seq, seq, "%s", v.message);
}

/* Rewrites record seq as an attacker who recomputes its hash would: edit changes a copy, set is the same change in
 * SQL assignments; the hash written is the edited copy's. */
static void rewrite(int64_t seq, void (*edit)(gb_audit_record *), const char *set)
{
	gb_audit_iter *it;
	const gb_audit_record *r;
	gb_audit_record copy;
	char h[GB_AUDIT_HASH_LEN + 1], q[400];
	gb_error err;

	cr_assert_eq(gb_audit_iter_new(st, NULL, &it, &err), 0);
	do
		cr_assert_eq(gb_audit_iter_next(it, &r, &err), 0);
	while (r && r->seq != seq);
	cr_assert_not_null(r);
	copy = *r;
	edit(&copy);
	cr_assert_eq(gb_audit_hash(copy.prev_hash, &copy, h, &err), 0);
	gb_audit_iter_free(it);
	snprintf(q, sizeof(q), "UPDATE audit_log SET %s, hash = '%s' WHERE seq = %lld", set, h, (long long)seq);
	sql(q);
}

/* A note appended to run. */
static void append_note(const char *run)
{
	gb_audit_entry e = {.run_id = run, .operation = "note", .target = "y", .outcome = GB_OUTCOME_OK};
	gb_error err;

	cr_assert_eq(gb_audit_append(st, &e, NULL, &err), 0, "%s", err.msg);
}

/* A record with the fields of the canonical form examples: seq 42, run r-1, member.add of CN=G, after "". */
static gb_audit_record example_record(void)
{
	gb_audit_record r;

	memset(&r, 0, sizeof(r));
	r.seq = 42;
	r.time = "2026-11-24T08:31:54.123Z";
	r.run_id = "r-1";
	r.step = "provision";
	r.operation = "member.add";
	r.target = "CN=G";
	r.after = "";
	return r;
}

/* A record of operation on target at time: seq 1, no run, no step, result ok. */
static gb_audit_record plain_record(char *time, char *operation, char *target)
{
	gb_audit_record r;

	memset(&r, 0, sizeof(r));
	r.seq = 1;
	r.time = time;
	r.run_id = "";
	r.step = "";
	r.operation = operation;
	r.target = target;
	r.result = "ok";
	return r;
}

/* An entry of run "r" on CN=G. */
static gb_audit_entry entry_on_g(const char *operation, gb_audit_outcome outcome, const char *message)
{
	gb_audit_entry e = {.run_id = "r", .operation = operation, .target = "CN=G", .outcome = outcome};

	e.message = message;
	return e;
}

/* What the export of run (NULL: all) in format holds; free(). */
static char *exported(const char *run, const char *format)
{
	char *text = NULL;
	size_t len = 0;
	gb_error err;
	FILE *f = open_memstream(&text, &len);

	cr_assert_eq(gb_report_audit_export(st, run, format, f, &err), 0, "%s", err.msg);
	fclose(f);
	return text;
}

/* Checks the canonical form of r against want. */
static void expect_canonical(const gb_audit_record *r, const char *want)
{
	gb_buf b;
	gb_error err;

	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	cr_assert_eq(gb_audit_canonical(r, &b, &err), 0);
	cr_assert_eq(b.len, strlen(want), "got %s", b.data);
	cr_assert_eq(memcmp(b.data, want, b.len), 0, "got %s", b.data);
	gb_buf_free(&b);
}

Test(audit, canonical_form_is_the_documented_netstring_list)
{
	gb_audit_record r = example_record();

	r.result = "ok";
	expect_canonical(&r, "gb-audit-v1\n2:42,24:2026-11-24T08:31:54.123Z,3:r-1,9:provision,10:member.add,4:CN=G,-,"
	                     "0:,2:ok,");
}

Test(audit, hash_is_sha256_of_previous_hash_and_canonical_form)
{
	static const char prev[] = "0000000000000000000000000000000000000000000000000000000000000000";
	unsigned char md[SHA256_DIGEST_LENGTH];
	char got[GB_AUDIT_HASH_LEN + 1], hex[GB_AUDIT_HASH_LEN + 1];
	gb_audit_record r = plain_record("2026-11-24T08:00:00.000Z", "note", "alice");
	gb_buf b;
	gb_error err;
	int i;

	r.after = "x";
	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	cr_assert_eq(gb_buf_puts(&b, prev, &err), 0);
	cr_assert_eq(gb_audit_canonical(&r, &b, &err), 0);
	SHA256((const unsigned char *)b.data, b.len, md);
	for (i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	cr_assert_eq(gb_audit_hash(prev, &r, got, &err), 0);
	cr_assert_str_eq(got, hex);
	gb_buf_free(&b);
}

Test(audit, field_boundaries_and_absent_values_change_the_hash)
{
	gb_audit_record a = plain_record("t", "ab", "c"), b = a;
	char ha[GB_AUDIT_HASH_LEN + 1], hb[GB_AUDIT_HASH_LEN + 1];
	const char *prev = "0000000000000000000000000000000000000000000000000000000000000000";
	gb_error err;


	b.operation = "a";
	b.target = "bc";
	cr_assert_eq(gb_audit_hash(prev, &a, ha, &err), 0);
	cr_assert_eq(gb_audit_hash(prev, &b, hb, &err), 0);
	cr_assert_str_neq(ha, hb);
	b = a;
	b.before = "";
	cr_assert_eq(gb_audit_hash(prev, &b, hb, &err), 0);
	cr_assert_str_neq(ha, hb, "an empty before value must differ from an absent one");
}

Test(audit, an_untouched_log_is_intact_and_anchored)
{
	gb_audit_verdict v;
	gb_error err;
	char *head = NULL, want[100];

	v = verify(NULL);
	cr_assert_eq(v.problem, GB_AUDIT_INTACT, "%s", v.message);
	cr_assert_eq(v.count, 0);
	append_n(5, "run-1");
	v = verify(NULL);
	cr_assert_eq(v.problem, GB_AUDIT_INTACT, "%s", v.message);
	cr_assert_eq(v.count, 5);
	cr_assert_eq(v.head_seq, 5);
	cr_assert_eq(gb_store_kv_get(st, GB_AUDIT_HEAD_KEY, &head, &err), 0);
	snprintf(want, sizeof(want), "5:%s", v.head_hash);
	cr_assert_str_eq(head, want);
	cr_assert(strstr(v.message, "intact: 5 records"), "%s", v.message);
	free(head);
}

Test(audit, an_edited_record_is_named)
{
	gb_audit_verdict v = tampered(6, "UPDATE audit_log SET target = 'CN=Domain Admins,CN=Users,DC=test,DC=example' "
	                                 "WHERE seq = 3");

	expect_verdict(v, GB_AUDIT_EDITED, 3);
	cr_assert_str_eq(v.message, "record 3 (seq 3, 2026-11-24T08:03:00.000Z): hash mismatch: edited");
}

Test(audit, an_edited_result_or_null_value_is_caught)
{
	expect_verdict(tampered(4, "UPDATE audit_log SET before = '' WHERE seq = 2"), GB_AUDIT_EDITED, 2);
}

Test(audit, a_deleted_record_is_named)
{
	gb_audit_verdict v = tampered(6, "DELETE FROM audit_log WHERE seq = 4");

	expect_verdict(v, GB_AUDIT_DELETED, 4);
	cr_assert_str_eq(v.message, "sequence gap after 3: record 4 deleted");
	sql("DELETE FROM audit_log WHERE seq = 5");
	v = verify(NULL);
	cr_assert_str_eq(v.message, "sequence gap after 3: records 4 to 5 deleted");
}

Test(audit, two_swapped_records_are_named)
{
	gb_audit_verdict v = tampered(6, "UPDATE audit_log SET seq = -1 WHERE seq = 3; UPDATE audit_log SET seq = 3 "
	                                 "WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = -1");

	expect_verdict(v, GB_AUDIT_MOVED, 3);
	cr_assert_eq(v.other_seq, 4);
	cr_assert(strstr(v.message, "records 3 and 4 out of order"), "%s", v.message);
}

Test(audit, swapped_contents_at_a_distance_are_named)
{
	/* swap every column of rows 2 and 6 (not just the numbers) */
	gb_audit_verdict v =
	    tampered(8, "CREATE TEMP TABLE t AS SELECT * FROM audit_log WHERE seq IN (2, 6);"
	                "DELETE FROM audit_log WHERE seq IN (2, 6);"
	                "INSERT INTO audit_log SELECT CASE seq WHEN 2 THEN 6 ELSE 2 END, time, run_id, step, operation, "
	                "target, before, after, result, prev_hash, hash, form, outcome, message FROM t");

	expect_verdict(v, GB_AUDIT_MOVED, 2);
	cr_assert_eq(v.other_seq, 5, "the record now at 2 was appended after record 5: %s", v.message);
	cr_assert(strstr(v.message, "record 2 (seq 2, 2026-11-24T08:06:00.000Z) out of order"), "%s", v.message);
}

Test(audit, a_record_renumbered_below_one_is_caught)
{
	gb_audit_verdict v = tampered(3, "UPDATE audit_log SET seq = 0 WHERE seq = 2");

	expect_verdict(v, GB_AUDIT_EDITED, 0);
	cr_assert_str_eq(v.message, "a record at seq 0 (2026-11-24T08:02:00.000Z) stands before record 1: renumbered");
}

Test(audit, a_deleted_and_renumbered_record_is_caught)
{
	gb_audit_verdict v = tampered(5, "DELETE FROM audit_log WHERE seq = 2; UPDATE audit_log SET seq = seq - 1 WHERE "
	                                 "seq > 2");

	expect_verdict(v, GB_AUDIT_EDITED, 2);
	cr_assert(strstr(v.message, "deleted and the rest renumbered"), "%s", v.message);
}

Test(audit, a_truncated_tail_is_caught_by_the_head_anchor)
{
	gb_audit_verdict v = tampered(5, "DELETE FROM audit_log WHERE seq >= 4");
	gb_audit_entry e = {.operation = "note", .target = "x", .outcome = GB_OUTCOME_OK};
	gb_error err;

	expect_verdict(v, GB_AUDIT_TRUNCATED, 4);
	cr_assert(strstr(v.message, "records 4 to 5 deleted from the end"), "%s", v.message);
	/* appending now would bury the evidence: refused */
	cr_assert_eq(gb_audit_append(st, &e, NULL, &err), GB_ESTATE);
	cr_assert(strstr(err.msg, "audit verify"), "%s", err.msg);
}

static void made_failed(gb_audit_record *r)
{
	r->outcome = "failed";
	r->message = "nothing happened here";
}

#define SOMEBODY_ELSE "CN=Somebody Else,DC=test,DC=example"

static void retargeted(gb_audit_record *r)
{
	r->target = SOMEBODY_ELSE;
}

Test(audit, a_rewritten_last_record_is_caught_by_the_head_anchor)
{
	gb_audit_verdict v;

	append_n(3, "run-1");
	/* an attacker edits the last record and recomputes its hash */
	rewrite(3, made_failed,
	        "result = 'failed: nothing happened here', outcome = 'failed', message = 'nothing happened here'");
	v = verify(NULL);
	expect_verdict(v, GB_AUDIT_HEAD, 3);
	cr_assert(strstr(v.message, "record 3 (seq 3, 2026-11-24T08:03:00.000Z): hash differs from the head anchor"),
	          "%s", v.message);
}

Test(audit, a_record_rewritten_with_its_own_hash_recomputed_is_named)
{
	gb_audit_verdict v;

	append_n(5, "run-1");
	rewrite(2, retargeted, "target = '" SOMEBODY_ELSE "'");
	v = verify(NULL);
	expect_verdict(v, GB_AUDIT_EDITED, 2);
	cr_assert_str_eq(v.message,
	                 "record 2 (seq 2, 2026-11-24T08:02:00.000Z): replaced with a recomputed hash: record 3 "
	                 "was chained to a different record 2: edited");
}

Test(audit, a_deleted_head_anchor_is_caught)
{
	expect_verdict(tampered(2, "DELETE FROM kv WHERE key = 'audit.head'"), GB_AUDIT_HEAD, 0);
}

Test(audit, an_expected_head_must_be_in_the_log)
{
	gb_audit_verdict v, first;
	gb_error err;

	append_n(2, "run-1");
	first = verify(NULL);
	append_note("run-2");
	v = verify(first.head_hash);
	cr_assert_eq(v.problem, GB_AUDIT_INTACT, "%s", v.message);
	v = verify("1111111111111111111111111111111111111111111111111111111111111111");
	cr_assert_eq(v.problem, GB_AUDIT_HEAD, "%s", v.message);
	cr_assert(strstr(v.message, "is not in the log"), "%s", v.message);
	cr_assert_eq(gb_audit_verify(st, "not-a-hash", &v, &err), GB_EINVAL);
}

Test(audit, secrets_are_redacted_before_storing)
{
	gb_audit_entry e = {.operation = "graph.app.create", .target = "app", .outcome = GB_OUTCOME_OK};
	gb_audit_iter *it;
	const gb_audit_record *r;
	gb_error err;

	cr_assert_eq(gb_log_add_secret("Hunter2-Secret-Value"), 0);
	e.before = "{\"password\":\"Hunter2-Secret-Value\"}";
	cr_assert_eq(gb_audit_append(st, &e, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_audit_iter_new(st, NULL, &it, &err), 0);
	cr_assert_eq(gb_audit_iter_next(it, &r, &err), 0);
	cr_assert_not_null(r);
	cr_assert_str_eq(r->before, "{\"password\":\"[secret]\"}");
	cr_assert_null(r->after);
	gb_audit_iter_free(it);
	cr_assert_eq(verify(NULL).problem, GB_AUDIT_INTACT);
}

Test(audit, required_fields_are_checked)
{
	gb_audit_entry e = {.operation = "note", .target = "x"};
	gb_error err;

	cr_assert_eq(gb_audit_append(st, &e, NULL, &err), GB_EINVAL);
	cr_assert(strstr(err.msg, "result"), "%s", err.msg);
	cr_assert_eq(gb_audit_append(st, NULL, NULL, &err), GB_EINVAL);
}

Test(audit, an_append_rolled_back_with_the_callers_transaction_leaves_no_trace)
{
	gb_audit_entry e = {.operation = "note", .target = "x", .outcome = GB_OUTCOME_OK};
	gb_audit_verdict v;
	gb_error err;
	int64_t seq;

	append_n(2, "run-1");
	cr_assert_eq(gb_store_begin(st, &err), 0);
	cr_assert_eq(gb_audit_append(st, &e, &seq, &err), 0, "%s", err.msg);
	cr_assert_eq(seq, 3);
	gb_store_rollback(st);
	v = verify(NULL);
	cr_assert_eq(v.problem, GB_AUDIT_INTACT, "%s", v.message);
	cr_assert_eq(v.count, 2);
	cr_assert_eq(gb_audit_append(st, &e, &seq, &err), 0, "%s", err.msg);
	cr_assert_eq(seq, 3);
}

Test(audit, records_are_read_back_per_run)
{
	gb_audit_iter *it;
	const gb_audit_record *r;
	gb_error err;
	int n = 0;

	append_n(3, "run-a");
	append_note("run-b");
	cr_assert_eq(gb_audit_iter_new(st, "run-a", &it, &err), 0);
	while (gb_audit_iter_next(it, &r, &err) == 0 && r) {
		cr_assert_str_eq(r->run_id, "run-a");
		cr_assert_eq(r->seq, ++n);
	}
	cr_assert_eq(n, 3);
	gb_audit_iter_free(it);
	gb_audit_iter_free(NULL);
	gb_audit_record_free(NULL);
}

Test(audit, export_writes_json_lines_and_neutralised_csv)
{
	gb_audit_entry e = {.run_id = "r",
	                    .step = "s",
	                    .operation = "group.rename",
	                    .target = "=HYPERLINK(\"http://x\")",
	                    .before = "a,b",
	                    .after = "line1\nline2",
	                    .outcome = GB_OUTCOME_OK};
	char *text = NULL;
	size_t len = 0;
	gb_error err;
	FILE *f;

	cr_assert_eq(gb_audit_append_at(st, "2026-11-24T09:00:00.000Z", &e, NULL, &err), 0, "%s", err.msg);
	text = exported(NULL, "jsonl");
	len = strlen(text);
	cr_assert(strstr(text, "\"seq\":1,\"time\":\"2026-11-24T09:00:00.000Z\",\"run_id\":\"r\""), "%s", text);
	cr_assert(strstr(text, "\"after\":\"line1\\nline2\""), "%s", text);
	cr_assert_eq(strchr(text, '\n'), text + len - 1, "one line per record");
	free(text);
	text = exported("r", "csv");
	cr_assert(strstr(text, ",group.rename,\"'=HYPERLINK(\"\"http://x\"\")\",\"a,b\",\"line1\nline2\",ok,"), "%s",
	          text);
	free(text);
	f = open_memstream(&text, &len);
	cr_assert_eq(gb_report_audit_export(st, NULL, "xml", f, &err), GB_EINVAL);
	fclose(f);
	free(text);
}

Test(audit, canonical_form_v2_carries_outcome_and_message)
{
	gb_error err;
	gb_buf b;
	gb_audit_record r = example_record();

	r.form = GB_AUDIT_FORM_V2;
	r.outcome = "failed";
	r.message = "no such user";
	r.result = "failed: no such user";
	expect_canonical(&r, "gb-audit-v2\n2:42,24:2026-11-24T08:31:54.123Z,3:r-1,9:provision,10:member.add,4:CN=G,-,"
	                     "0:,6:failed,12:no such user,");
	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	r.message = NULL;
	cr_assert_eq(gb_audit_canonical(&r, &b, &err), 0);
	cr_assert(strstr(b.data, "6:failed,-,"), "an absent message is \"-,\": %s", b.data);
	gb_buf_free(&b);
}

/* The vocabulary that audit.h documents between its markers, one name a line. */
static size_t documented_operations(char names[64][40])
{
	char line[256];
	size_t n = 0;
	int in = 0;
	FILE *f = fopen("include/groupbridge/audit.h", "r");

	cr_assert_not_null(f, "run from the repository's top directory");
	while (fgets(line, sizeof(line), f)) {
		char name[40];
		if (strstr(line, "vocabulary-begin")) {
			in = 1;
			continue;
		}
		if (strstr(line, "vocabulary-end"))
			break;
		if (in && n < 64 && sscanf(line, " * %39s", name) == 1)
			snprintf(names[n++], 40, "%s", name);
	}
	fclose(f);
	return n;
}

Test(audit, the_code_knows_exactly_the_documented_vocabulary)
{
	char names[64][40];
	const char *const *ops = gb_audit_operations();
	size_t n = documented_operations(names), i;

	cr_assert_gt(n, 10);
	for (i = 0; i < n; i++) {
		cr_assert_not_null(ops[i], "audit.h documents %s, the code stops before it", names[i]);
		cr_assert_str_eq(ops[i], names[i]);
		cr_assert(gb_audit_operation_known(names[i]));
	}
	cr_assert_null(ops[n], "the code knows %s, which audit.h does not document", ops[n]);
	cr_assert_not(gb_audit_operation_known("create-group"));
	cr_assert_not(gb_audit_operation_known(NULL));
}

Test(audit, an_operation_outside_the_vocabulary_is_refused)
{
	gb_audit_entry e = {.operation = "set-attributes", .target = "x", .outcome = GB_OUTCOME_OK};
	gb_error err;

	cr_assert_eq(gb_audit_append(st, &e, NULL, &err), GB_EINVAL);
	cr_assert(strstr(err.msg, "set-attributes") && strstr(err.msg, "vocabulary"), "%s", err.msg);
	e.operation = "note";
	e.outcome = (gb_audit_outcome)7;
	cr_assert_eq(gb_audit_append(st, &e, NULL, &err), GB_EINVAL);
	cr_assert_eq(verify(NULL).count, 0, "nothing was appended");
}

Test(audit, outcome_and_message_are_stored_apart_and_the_result_is_derived)
{
	gb_audit_entry e = entry_on_g("member.add", GB_OUTCOME_FAILED, "no such object (32)");
	gb_audit_iter *it;
	const gb_audit_record *r;
	gb_error err;

	cr_assert_eq(gb_audit_append(st, &e, NULL, &err), 0, "%s", err.msg);
	e.outcome = GB_OUTCOME_OK;
	e.message = NULL;
	cr_assert_eq(gb_audit_append(st, &e, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_audit_iter_new(st, NULL, &it, &err), 0);
	cr_assert_eq(gb_audit_iter_next(it, &r, &err), 0);
	cr_assert_eq(r->form, GB_AUDIT_FORM_V2);
	cr_assert_str_eq(r->outcome, "failed");
	cr_assert_str_eq(r->message, "no such object (32)");
	cr_assert_str_eq(r->result, "failed: no such object (32)");
	cr_assert_eq(gb_audit_iter_next(it, &r, &err), 0);
	cr_assert_str_eq(r->outcome, "ok");
	cr_assert_null(r->message);
	cr_assert_str_eq(r->result, "ok");
	gb_audit_iter_free(it);
	cr_assert_eq(verify(NULL).problem, GB_AUDIT_INTACT);
}

Test(audit, a_result_edited_apart_from_its_outcome_is_caught)
{
	/* the result of a form 2 record is not hashed: it must still agree with the outcome that is */
	gb_audit_verdict v = tampered(3, "UPDATE audit_log SET result = 'failed: the DC refused it' WHERE seq = 2");

	expect_verdict(v, GB_AUDIT_EDITED, 2);
	cr_assert(strstr(v.message, "record 2 (seq 2, 2026-11-24T08:02:00.000Z): its result, outcome and message "
	                            "disagree: edited"),
	          "%s", v.message);
	sql("UPDATE audit_log SET result = 'ok' WHERE seq = 2; UPDATE audit_log SET outcome = 'skipped', result = "
	    "'skipped' WHERE seq = 3");
	v = verify(NULL);
	cr_assert_eq(v.problem, GB_AUDIT_EDITED, "%s", v.message);
	cr_assert_eq(v.seq, 3, "the outcome is hashed: %s", v.message);
}

Test(audit, the_newest_record_matching_a_query_is_found)
{
	gb_audit_entry e = {.step = "stamp-anchors", .operation = "attribute.add", .target = "CN=A", .outcome = GB_OUTCOME_OK};
	gb_audit_query q;
	int64_t seq;
	gb_error err;

	cr_assert_eq(gb_audit_append(st, &e, NULL, &err), 0, "%s", err.msg);
	e.target = "CN=B";
	e.outcome = GB_OUTCOME_FAILED;
	cr_assert_eq(gb_audit_append(st, &e, NULL, &err), 0, "%s", err.msg);
	e.operation = "step.state";
	e.target = "stamp-anchors";
	e.after = "{\"state\":\"rolled-back\"}";
	e.outcome = GB_OUTCOME_OK;
	cr_assert_eq(gb_audit_append(st, &e, NULL, &err), 0, "%s", err.msg);
	memset(&q, 0, sizeof(q));
	q.step = "stamp-anchors";
	q.operation = "attribute.add";
	q.outcome = GB_OUTCOME_OK;
	cr_assert_eq(gb_audit_last_seq(st, &q, &seq, &err), 0, "%s", err.msg);
	cr_assert_eq(seq, 1);
	q.target = "CN=B";
	cr_assert_eq(gb_audit_last_seq(st, &q, &seq, &err), 0);
	cr_assert_eq(seq, 0, "CN=B failed");
	memset(&q, 0, sizeof(q));
	q.after = "{\"state\":\"rolled-back\"}";
	cr_assert_eq(gb_audit_last_seq(st, &q, &seq, &err), 0);
	cr_assert_eq(seq, 3);
	q.since_seq = 3;
	cr_assert_eq(gb_audit_last_seq(st, &q, &seq, &err), 0);
	cr_assert_eq(seq, 0);
}

/* Loads the state database that the code of commit a9a93fe wrote (schema 12, form 1 records) into path. */
static void old_state(const char *p)
{
	gb_buf sqltext;
	gb_error err;
	sqlite3 *db = NULL;
	char *msg = NULL;

	gb_buf_init(&sqltext, GB_BUF_DEFAULT_MAX);
	cr_assert_eq(gb_read_file("tests/data/state/schema12-audit.sql", &sqltext, &err), 0, "%s", err.msg);
	cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, gb_buf_cstr(&sqltext), NULL, NULL, &msg), SQLITE_OK, "%s", msg ? msg : "");
	sqlite3_close(db);
	gb_buf_free(&sqltext);
}

Test(audit, a_log_written_before_the_outcome_field_still_verifies_and_reads_its_outcomes)
{
	static const struct {
		int64_t seq;
		const char *outcome, *message;
	} want[] = {
	    {1, "ok", NULL},
	    {3, "failed", "ldap modify CN=Sales: no such object (32)"},
	    {4, "skipped", "an earlier operation on this group failed"},
	    {7, "ok", "found done after an interrupted run"},
	    {8, "ok", "2 changes applied"},
	    {10, "failed", "step verify: verification failed: drift"},
	    {11, "ok", "0 changes planned"},
	};
	char old[160];
	gb_store *o = NULL;
	gb_audit_iter *it;
	const gb_audit_record *r;
	gb_audit_verdict v;
	gb_audit_entry e = {.operation = "note", .target = "x", .outcome = GB_OUTCOME_OK};
	gb_error err;
	size_t k = 0;

	snprintf(old, sizeof(old), "%s/old.db", dir);
	old_state(old);
	cr_assert_eq(gb_store_open(old, "test", &o, &err), 0, "%s", err.msg);
	cr_assert_geq(gb_store_schema_version(o), 13);
	cr_assert_eq(gb_audit_verify(o, NULL, &v, &err), 0, "%s", err.msg);
	cr_assert_eq(v.problem, GB_AUDIT_INTACT, "%s", v.message);
	cr_assert_eq(v.count, 11);
	cr_assert_str_eq(v.head_hash, "abaf5bddfac9db84035b5341db401314ab012270e2a5fe3dbe627832c2263c02");
	cr_assert_eq(gb_audit_iter_new(o, NULL, &it, &err), 0);
	while (gb_audit_iter_next(it, &r, &err) == 0 && r) {
		cr_assert_eq(r->form, GB_AUDIT_FORM_V1);
		if (k < sizeof(want) / sizeof(want[0]) && r->seq == want[k].seq) {
			cr_assert_str_eq(r->outcome, want[k].outcome, "record %lld", (long long)r->seq);
			if (want[k].message)
				cr_assert_str_eq(r->message, want[k].message);
			else
				cr_assert_null(r->message);
			k++;
		}
	}
	gb_audit_iter_free(it);
	cr_assert_eq(k, sizeof(want) / sizeof(want[0]));
	/* new records chain onto the old ones in the new form */
	cr_assert_eq(gb_audit_append(o, &e, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_audit_verify(o, "abaf5bddfac9db84035b5341db401314ab012270e2a5fe3dbe627832c2263c02", &v, &err), 0);
	cr_assert_eq(v.problem, GB_AUDIT_INTACT, "%s", v.message);
	cr_assert_eq(v.count, 12);
	/* an old failure turned into a success is caught, though the old hash does not cover the outcome field */
	cr_assert_eq(sqlite3_exec(gb_store_db(o), "UPDATE audit_log SET outcome = 'ok' WHERE seq = 3", NULL, NULL, NULL),
	             SQLITE_OK);
	cr_assert_eq(gb_audit_verify(o, NULL, &v, &err), 0);
	cr_assert_eq(v.problem, GB_AUDIT_EDITED, "%s", v.message);
	cr_assert_eq(v.seq, 3);
	gb_store_free(o);
}

Test(audit, export_carries_form_outcome_and_message)
{
	gb_audit_entry e = entry_on_g("member.remove", GB_OUTCOME_SKIPPED, "an earlier operation on this group failed");
	char *text;
	gb_error err;

	cr_assert_eq(gb_audit_append_at(st, "2026-11-24T09:00:00.000Z", &e, NULL, &err), 0, "%s", err.msg);
	text = exported(NULL, "jsonl");
	cr_assert(strstr(text, "\"form\":2,\"outcome\":\"skipped\",\"message\":\"an earlier operation on this group "
	                       "failed\"}"),
	          "%s", text);
	free(text);
	text = exported(NULL, "csv");
	cr_assert(strstr(text, "prev_hash,hash,form,outcome,message\r\n"), "%s", text);
	cr_assert(strstr(text, ",2,skipped,an earlier operation on this group failed\r\n"), "%s", text);
	free(text);
}
