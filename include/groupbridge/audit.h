/*
 * audit.h: the tamper-evident audit log of every change groupbridge makes.
 *
 * Each change to AD or to Graph (and each operator note) is appended as one record: time, run id, step or command,
 * operation, target, value before, value after, result. Values are strings (JSON text is fine). Every string passes
 * through gb_log_redact before it is stored, so a registered secret is recorded as "[secret]", never in clear.
 *
 * Records live in the state database (table audit_log, schema migration 2) and are numbered 1, 2, 3... (seq) in the
 * order they were appended. Each record carries the hash of the record before it and its own hash:
 *
 *     hash(n) = SHA-256( hash(n-1) || canonical(n) )     as 64 lower-case hex digits
 *     hash(0) = "0000...0000" (64 zeros), the genesis value before record 1
 *
 * where hash(n-1) enters as its 64 ASCII hex digits and canonical(n) is the byte string
 *
 *     "gb-audit-v1\n" F(seq) F(time) F(run_id) F(step) F(operation) F(target) F(before) F(after) F(result)
 *
 * in which F(v) is a netstring: the decimal byte length of v, ':', the bytes of v, ',' (so "5:hello,"), and an
 * absent (NULL) before or after value is the two bytes "-," (a present value always starts with a digit). seq is
 * written in decimal without leading zeros. Because each field states its length, no two different records share a
 * canonical form by moving bytes across field boundaries, and "" stays distinct from absent.
 *
 * The head of the chain (the last seq and its hash, "SEQ:HASH") is also kept in kv key "audit.head", updated in
 * the same transaction as each append.
 *
 * What gb_audit_verify detects, when whoever changed the database did not recompute the chain:
 *   - a record whose fields were edited (its hash no longer matches), or edited with its own hash recomputed but
 *     not the hashes after it (the next record's link no longer matches): "edited";
 *   - a record removed from the middle (a gap in seq, or a broken link): "deleted";
 *   - records moved or swapped (a record's link points at a record that is not its predecessor): "out of order";
 *   - records removed from the end, or the last record edited (the table no longer matches "audit.head").
 * What it cannot detect on its own: someone with write access to the database who recomputes every hash and
 * rewrites "audit.head" too (SHA-256 here is a checksum chain, not a signature). Against that, copy the head that
 * `groupbridge audit verify` prints into the change ticket after each run; `audit verify --expect-head HASH` then
 * proves that the log still contains that head, i.e. that nothing up to it was rewritten.
 *
 * Result strings by convention start with "ok", "failed" or "skipped" (then ": reason"); reports classify records
 * by that first word.
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

/* What a caller appends. run_id and step may be NULL (stored as ""); operation, target and result are required;
 * before and after may be NULL (no value, distinct from ""). */
typedef struct gb_audit_entry {
	const char *run_id;
	const char *step;      /* the migration step or the command, such as "provision" or "convert-soa" */
	const char *operation; /* such as "group.create", "member.add", "graph.patch", "note" */
	const char *target;    /* the object: a DN, "<GUID=...>", a Graph object id and display name */
	const char *before;
	const char *after;
	const char *result; /* "ok", "failed: <why>", "skipped: <why>" */
} gb_audit_entry;

/* One stored record, as read back. Strings belong to the record. */
typedef struct gb_audit_record {
	int64_t seq;
	char *time; /* UTC ISO 8601 with milliseconds */
	char *run_id;
	char *step;
	char *operation;
	char *target;
	char *before; /* NULL when absent */
	char *after;
	char *result;
	char prev_hash[GB_AUDIT_HASH_LEN + 1];
	char hash[GB_AUDIT_HASH_LEN + 1];
} gb_audit_record;

/* Appends one record with the current time, chained to the current head, and moves "audit.head" to it, in one
 * transaction (a savepoint, so it also works inside a caller's transaction). The strings are redacted before they
 * are stored. seq_out (may be NULL) receives the new record's seq. GB_EINVAL when a required field is NULL;
 * GB_ESTATE when the table's last record and "audit.head" disagree (the log was damaged: nothing is appended, so
 * the evidence is kept; run `groupbridge audit verify`); GB_EIO for database errors. */
int gb_audit_append(gb_store *st, const gb_audit_entry *e, int64_t *seq_out, gb_error *err);

/* Same, with an explicit time (tests and importers of history); time must be non-empty. */
int gb_audit_append_at(gb_store *st, const char *time, const gb_audit_entry *e, int64_t *seq_out, gb_error *err);

/* Writes canonical(rec) (see above) into out, which the caller initialised. Errors as gb_buf_append. */
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
