/*
 * audit.h: the tamper-evident audit log of every change groupbridge makes.
 *
 * Each change to AD or to Graph (and each step state and operator note) is appended as one record of one shape:
 * time, run id, step or command, operation (from the vocabulary below), target, before, after, outcome and message.
 * before and after hold JSON text (every attribute the change concerns: what it was, what it became; a note's after
 * is the operator's text as given). outcome is
 * "ok", "failed" or "skipped", and message says why it failed or was skipped, or carries a detail (a step's "2
 * changes applied"); reports count from outcome, never from message. Every string passes through gb_log_redact
 * before it is stored, so a registered secret is recorded as "[secret]", never in clear.
 *
 * Operations: one vocabulary, shared by provisioning and every migration step; gb_audit_append refuses any other
 * name. The list below is the documentation and the contract (tests read it between the two markers):
 *
 *   vocabulary-begin
 *   group.create            an AD group added (with its members when they went in the same add)
 *   group.set               attributes of an AD group replaced (LDAP replace)
 *   group.rename            an AD group's RDN changed
 *   group.move              an AD group moved to another container
 *   group.delete            an AD group deleted (only groups that carry our anchor)
 *   group.unmanage          provisioning stopped managing a group (state only, AD unchanged)
 *   group.handoff           the migration handed a group over: after names to whom (state, or with a Graph change)
 *   member.add              member values added to an AD group
 *   member.remove           member values removed from an AD group
 *   attribute.add           a value added to an attribute that had none (fails when another value is there)
 *   attribute.remove        exactly that value removed (fails when the attribute holds another)
 *   graph.app.create        the CloudSyncCustomExtensionsApp application created
 *   graph.sp.create         its service principal created
 *   graph.extension.create  a directory extension property created on that application
 *   graph.extension.set     a group's directory extension value set (GroupDN)
 *   graph.soa.set           a group's onPremisesSyncBehavior isCloudManaged set (its source of authority)
 *   graph.approle.assign    a group assigned an app role of a service principal (a Cloud Sync job's)
 *   graph.approle.remove    that assignment removed
 *   step.state              a migration step's state changed (before and after: {"state": ...})
 *   note                    an operator's note (`groupbridge audit note`)
 *   vocabulary-end
 *
 * Records live in the state database (table audit_log, schema migrations 2 and 13) and are numbered 1, 2, 3...
 * (seq) in the order they were appended. Each record carries the hash of the record before it and its own hash:
 *
 *     hash(n) = SHA-256( hash(n-1) || canonical(n) )     as 64 lower-case hex digits
 *     hash(0) = "0000...0000" (64 zeros), the genesis value before record 1
 *
 * where hash(n-1) enters as its 64 ASCII hex digits and canonical(n) is, for the records groupbridge writes now
 * (form 2, column form = 2),
 *
 *     "gb-audit-v2\n" F(seq) F(time) F(run_id) F(step) F(operation) F(target) F(before) F(after) F(outcome) F(message)
 *
 * and for records written before schema migration 13 (form 1), which keep their hashes,
 *
 *     "gb-audit-v1\n" F(seq) F(time) F(run_id) F(step) F(operation) F(target) F(before) F(after) F(result)
 *
 * in which F(v) is a netstring: the decimal byte length of v, ':', the bytes of v, ',' (so "5:hello,"), and an
 * absent (NULL) before, after or message value is the two bytes "-," (a present value always starts with a digit).
 * seq is written in decimal without leading zeros. Because each field states its length, no two different records
 * share a canonical form by moving bytes across field boundaries, and "" stays distinct from absent.
 *
 * The result column: a form 1 record's free-text result ("ok", "failed: why", "skipped: why", or a step's detail),
 * which its hash covers; migration 13 filled its outcome and message from it by this rule: a result that starts
 * with "ok", "skipped" or "failed" has that outcome, the rest after ": " being the message; any other result is the
 * message of a step.state record (outcome failed when its after is "failed", else ok) or of a failure. A form 2
 * record's result is derived: its outcome, or "outcome: message". gb_audit_verify checks that each record's three
 * fields agree by these rules, so the fields its hash does not cover cannot be edited unseen either.
 *
 * The head of the chain (the last seq and its hash, "SEQ:HASH") is also kept in kv key "audit.head", updated in
 * the same transaction as each append.
 *
 * What gb_audit_verify detects, when whoever changed the database did not recompute the chain:
 *   - a record whose fields were edited (its hash no longer matches, or its result, outcome and message disagree),
 *     or edited with its own hash recomputed but not the hashes after it (the next record's link no longer
 *     matches): "edited";
 *   - a record removed from the middle (a gap in seq, or a broken link): "deleted";
 *   - records moved or swapped (a record's link points at a record that is not its predecessor): "out of order";
 *   - records removed from the end, or the last record edited (the table no longer matches "audit.head").
 * What it cannot detect on its own: someone with write access to the database who recomputes every hash and
 * rewrites "audit.head" too (SHA-256 here is a checksum chain, not a signature). Against that, copy the head that
 * `groupbridge audit verify` prints into the change ticket after each run; `audit verify --expect-head HASH` then
 * proves that the log still contains that head, i.e. that nothing up to it was rewritten.
 */
#ifndef GROUPBRIDGE_AUDIT_H
#define GROUPBRIDGE_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "groupbridge/buf.h"
#include "groupbridge/error.h"
#include "groupbridge/store.h"

#define GB_AUDIT_HASH_LEN 64
#define GB_AUDIT_HEAD_KEY "audit.head"

#define GB_AUDIT_FORM_V1 1 /* records written before schema migration 13 */
#define GB_AUDIT_FORM_V2 2 /* records written now */

/* A record's outcome. 0 is no outcome at all, which gb_audit_append refuses. */
typedef enum gb_audit_outcome {
	GB_OUTCOME_NONE = 0,
	GB_OUTCOME_OK,
	GB_OUTCOME_FAILED,
	GB_OUTCOME_SKIPPED
} gb_audit_outcome;

/* "ok", "failed", "skipped" ("" for GB_OUTCOME_NONE). */
const char *gb_audit_outcome_name(gb_audit_outcome o);

/* The operation names of the vocabulary above, in its order, NULL-terminated (static). */
const char *const *gb_audit_operations(void);

/* Whether name is an operation of the vocabulary. */
bool gb_audit_operation_known(const char *name);

/* What a caller appends. run_id and step may be NULL (stored as ""); operation (from the vocabulary), target and
 * outcome are required; before, after and message may be NULL (no value, distinct from ""). */
typedef struct gb_audit_entry {
	const char *run_id;
	const char *step;      /* the migration step or the command, such as "provision" or "convert-soa" */
	const char *operation; /* such as "group.create", "member.add", "graph.soa.set", "step.state", "note" */
	const char *target;    /* the object: a DN, "<GUID=...>", a Graph object id, a step's name */
	const char *before;    /* JSON text */
	const char *after;     /* JSON text (a note: its text) */
	gb_audit_outcome outcome;
	const char *message;   /* why it failed or was skipped, or a detail; NULL when there is nothing to say */
} gb_audit_entry;

/* One stored record, as read back. Strings belong to the record. */
typedef struct gb_audit_record {
	int64_t seq;
	int form;   /* GB_AUDIT_FORM_V1 or GB_AUDIT_FORM_V2 (gb_audit_canonical takes 0 as form 1) */
	char *time; /* UTC ISO 8601 with milliseconds */
	char *run_id;
	char *step;
	char *operation;
	char *target;
	char *before; /* NULL when absent */
	char *after;
	char *outcome; /* "ok", "failed" or "skipped" */
	char *message; /* NULL when absent */
	char *result;  /* form 1: the free-text result its hash covers; form 2: derived (see above) */
	char prev_hash[GB_AUDIT_HASH_LEN + 1];
	char hash[GB_AUDIT_HASH_LEN + 1];
} gb_audit_record;

/* Appends one record (form 2) with the current time, chained to the current head, and moves "audit.head" to it, in
 * one transaction (a savepoint, so it also works inside a caller's transaction). The strings are redacted before
 * they are stored. seq_out (may be NULL) receives the new record's seq. GB_EINVAL when a required field is missing
 * or the operation is not in the vocabulary;
 * GB_ESTATE when the table's last record and "audit.head" disagree (the log was damaged: nothing is appended, so
 * the evidence is kept; run `groupbridge audit verify`); GB_EIO for database errors. */
int gb_audit_append(gb_store *st, const gb_audit_entry *e, int64_t *seq_out, gb_error *err);

/* Same, with an explicit time (tests and importers of history); time must be non-empty. */
int gb_audit_append_at(gb_store *st, const char *time, const gb_audit_entry *e, int64_t *seq_out, gb_error *err);

/* Writes canonical(rec) (see above, in rec's form) into out, which the caller initialised. Errors as
 * gb_buf_append. */
int gb_audit_canonical(const gb_audit_record *rec, gb_buf *out, gb_error *err);

/* Computes hash = SHA-256(prev_hash || canonical(rec)) as 64 hex digits plus NUL into out (65 bytes).
 * GB_ENOMEM or GB_ERROR (OpenSSL failure). */
int gb_audit_hash(const char *prev_hash, const gb_audit_record *rec, char out[GB_AUDIT_HASH_LEN + 1], gb_error *err);

/* Frees a record and its strings; NULL is fine. */
void gb_audit_record_free(gb_audit_record *rec);

/* Reading records in seq order, all of them or those of one run (run_id non-NULL). */
typedef struct gb_audit_iter gb_audit_iter;

/* Starts a read; *out belongs to the caller (gb_audit_iter_free). GB_EIO on database errors. */
int gb_audit_iter_new(gb_store *st, const char *run_id, gb_audit_iter **out, gb_error *err);

/* Moves to the next record: *out is borrowed until the next call or the free, NULL at the end (return 0).
 * GB_EIO or GB_ENOMEM on failure. */
int gb_audit_iter_next(gb_audit_iter *it, const gb_audit_record **out, gb_error *err);

void gb_audit_iter_free(gb_audit_iter *it);

/* A search for the newest record that matches every field given (NULL or GB_OUTCOME_NONE: any). */
typedef struct gb_audit_query {
	const char *step;
	const char *operation;
	const char *target;
	const char *after;        /* exact JSON text */
	gb_audit_outcome outcome;
	int64_t since_seq;        /* only records with a greater seq */
} gb_audit_query;

/* The seq of the newest record matching q into *out, 0 when none. GB_EIO on database errors. */
int gb_audit_last_seq(gb_store *st, const gb_audit_query *q, int64_t *out, gb_error *err);

/* The kind of the first problem found. */
typedef enum gb_audit_problem {
	GB_AUDIT_INTACT = 0,
	GB_AUDIT_EDITED,    /* a record's content no longer matches its hash */
	GB_AUDIT_DELETED,   /* a record is missing in the middle (seq gap or broken link) */
	GB_AUDIT_MOVED,     /* a record is not where it was appended */
	GB_AUDIT_TRUNCATED, /* records are missing at the end (the table is shorter than the head) */
	GB_AUDIT_HEAD,      /* the last record or the head anchor itself was changed, or --expect-head not found */
} gb_audit_problem;

typedef struct gb_audit_verdict {
	gb_audit_problem problem;
	int64_t seq;                           /* the first record concerned (0 when none) */
	int64_t other_seq;                     /* GB_AUDIT_MOVED: the record it was swapped with or follows; else 0 */
	int64_t count;                         /* records read until the verdict (all of them when intact) */
	int64_t head_seq;                      /* the last record's seq (0 for an empty log) */
	char head_hash[GB_AUDIT_HASH_LEN + 1]; /* the last record's hash, or the genesis value */
	char message[768];                     /* one line: "intact: ..." or what was found, naming the record */
} gb_audit_verdict;

/* Checks the whole chain from record 1 and the head anchor, stopping at the first problem, which is described in
 * out (see the list at the top for what is and is not detected). expect_head (may be NULL) is a hash recorded
 * outside the database; the log must contain a record with that hash, else GB_AUDIT_HEAD. Returns 0 when the check
 * ran, whatever it found (look at out->problem); GB_EIO or GB_ENOMEM when it could not run. */
int gb_audit_verify(gb_store *st, const char *expect_head, gb_audit_verdict *out, gb_error *err);

#endif
