/* audit.c: the hash-chained audit log: append, read back, verify (the chain is described in audit.h). */
#include "groupbridge/audit.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/log.h"
#include "groupbridge/util.h"

#define CANON_V1 "gb-audit-v1\n"
#define CANON_V2 "gb-audit-v2\n"

/* The vocabulary of audit.h, in its order (tests/unit/test_audit.c compares the two). */
static const char *const operations[] = {
    "group.create",     "group.set",        "group.rename",           "group.move",          "group.delete",
    "group.unmanage",   "group.handoff",    "member.add",             "member.remove",       "attribute.add",
    "attribute.remove", "graph.app.create", "graph.sp.create",        "graph.extension.create",
    "graph.extension.set", "graph.soa.set", "graph.approle.assign",   "graph.approle.remove", "step.state",
    "note",             NULL};

static const char *const outcome_names[] = {"", "ok", "failed", "skipped"};

static const char genesis[GB_AUDIT_HASH_LEN + 1] = "0000000000000000000000000000000000000000000000000000000000000000";

struct gb_audit_iter {
	gb_store *st;
	sqlite3_stmt *stmt;
	gb_audit_record rec;
};

static int nomem(gb_error *err)
{
	return gb_error_set(err, GB_ENOMEM, "out of memory");
}

const char *gb_audit_outcome_name(gb_audit_outcome o)
{
	return (unsigned)o < sizeof(outcome_names) / sizeof(outcome_names[0]) ? outcome_names[o] : "";
}

const char *const *gb_audit_operations(void)
{
	return operations;
}

bool gb_audit_operation_known(const char *name)
{
	size_t i;

	for (i = 0; name && operations[i]; i++)
		if (strcmp(operations[i], name) == 0)
			return true;
	return false;
}

/* A form 1 record's outcome and message as schema migration 13 derived them from its result (the rule in audit.h;
 * store/schema.c runs the same rule in SQL). *msg points into result, or is NULL. */
static const char *v1_outcome(const char *operation, const char *after, const char *result, const char **msg)
{
	static const char *const words[] = {"ok", "skipped", "failed"};
	size_t i, n;

	for (i = 0; i < 3; i++) {
		n = strlen(words[i]);
		if (strncmp(result, words[i], n) != 0)
			continue;
		*msg = result[n] == '\0' ? NULL : strncmp(result + n, ": ", 2) == 0 ? result + n + 2 : result;
		return words[i];
	}
	*msg = result;
	if (strcmp(operation, "step.state") == 0)
		return after && strcmp(after, "failed") == 0 ? "failed" : "ok";
	return "failed";
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Whether a record's result, outcome and message agree (see audit.h). */
static bool fields_agree(const gb_audit_record *r)
{
	const char *msg = NULL, *want;
	size_t n;

	if (!r->outcome || !r->result)
		return false;
	if (r->form == GB_AUDIT_FORM_V1) {
		want = v1_outcome(r->operation ? r->operation : "", r->after, r->result, &msg);
		return strcmp(want, r->outcome) == 0 && same(msg, r->message);
	}
	if (r->form != GB_AUDIT_FORM_V2 || (strcmp(r->outcome, "ok") && strcmp(r->outcome, "failed") &&
					    strcmp(r->outcome, "skipped")))
		return false;
	n = strlen(r->outcome);
	if (!r->message)
		return strcmp(r->result, r->outcome) == 0;
	return strncmp(r->result, r->outcome, n) == 0 && strncmp(r->result + n, ": ", 2) == 0 &&
	       strcmp(r->result + n + 2, r->message) == 0;
}

/* A redacted copy: a secret (at least 4 bytes) becomes "[secret]" (8), so twice the length always suffices. */
static char *redact_dup(const char *s)
{
	size_t n;
	char *d;

	if (!s)
		return NULL;
	n = strlen(s) * 2 + 16;
	d = malloc(n);
	if (d)
		gb_log_redact(s, d, n);
	return d;
}

static int put_field(gb_buf *b, const char *v, gb_error *err)
{
	size_t n;
	int rc;

	if (!v)
		return gb_buf_puts(b, "-,", err);
	n = strlen(v);
	rc = gb_buf_printf(b, err, "%zu:", n);
	if (!rc)
		rc = gb_buf_append(b, v, n, err);
	if (!rc)
		rc = gb_buf_putc(b, ',', err);
	return rc;
}

int gb_audit_canonical(const gb_audit_record *rec, gb_buf *out, gb_error *err)
{
	char seq[32];
	const char *fields[10];
	size_t i, n = 0;
	bool v2 = rec->form == GB_AUDIT_FORM_V2;
	int rc;

	snprintf(seq, sizeof(seq), "%" PRId64, rec->seq);
	fields[n++] = seq;
	fields[n++] = rec->time ? rec->time : "";
	fields[n++] = rec->run_id ? rec->run_id : "";
	fields[n++] = rec->step ? rec->step : "";
	fields[n++] = rec->operation ? rec->operation : "";
	fields[n++] = rec->target ? rec->target : "";
	fields[n++] = rec->before;
	fields[n++] = rec->after;
	if (v2) {
		fields[n++] = rec->outcome ? rec->outcome : "";
		fields[n++] = rec->message;
	} else {
		fields[n++] = rec->result ? rec->result : "";
	}
	rc = gb_buf_puts(out, v2 ? CANON_V2 : CANON_V1, err);
	for (i = 0; !rc && i < n; i++)
		rc = put_field(out, fields[i], err);
	return rc;
}

int gb_audit_hash(const char *prev_hash, const gb_audit_record *rec, char out[GB_AUDIT_HASH_LEN + 1], gb_error *err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx = NULL;
	gb_buf canon;
	int rc;

	gb_buf_init(&canon, GB_BUF_DEFAULT_MAX);
	rc = gb_audit_canonical(rec, &canon, err);
	if (rc)
		goto done;
	ctx = EVP_MD_CTX_new();
	if (!ctx) {
		rc = nomem(err);
		goto done;
	}
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, prev_hash, strlen(prev_hash)) != 1 ||
	    EVP_DigestUpdate(ctx, canon.data, canon.len) != 1 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 ||
	    mdlen * 2 != GB_AUDIT_HASH_LEN) {
		rc = gb_error_set(err, GB_ERROR,
		                  "computing the audit hash of record %" PRId64 ": openssl sha-256 failed", rec->seq);
		goto done;
	}
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[GB_AUDIT_HASH_LEN] = '\0';
done:
	EVP_MD_CTX_free(ctx);
	gb_buf_free(&canon);
	return rc;
}

static void record_clear(gb_audit_record *rec)
{
	free(rec->time);
	free(rec->run_id);
	free(rec->step);
	free(rec->operation);
	free(rec->target);
	free(rec->before);
	free(rec->after);
	free(rec->outcome);
	free(rec->message);
	free(rec->result);
	memset(rec, 0, sizeof(*rec));
}

void gb_audit_record_free(gb_audit_record *rec)
{
	if (!rec)
		return;
	record_clear(rec);
	free(rec);
}

static char *col_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? gb_strdup((const char *)t) : NULL;
}

#define RECORD_COLUMNS                                                                                             \
	"seq, time, run_id, step, operation, target, before, after, result, prev_hash, hash, form, outcome, message"

/* Fills rec from a row of "SELECT " RECORD_COLUMNS. */
static int record_from_row(sqlite3_stmt *s, gb_audit_record *rec, gb_error *err)
{
	/* text[i] receives a copy of column i + 1 (NULL: not a text column copied here); before, after, outcome and
	 * message may be NULL in the table, the others may not */
	char **const text[] = {&rec->time,   &rec->run_id, &rec->step, &rec->operation, &rec->target,
			       &rec->before, &rec->after,  &rec->result, NULL, NULL, NULL, &rec->outcome,
			       &rec->message};
	static const bool nullable[] = {false, false, false, false, false, true, true,
					false, false, false, false, true, true};
	const unsigned char *h;
	size_t i;

	record_clear(rec);
	rec->seq = sqlite3_column_int64(s, 0);
	rec->form = sqlite3_column_int(s, 11);
	for (i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
		int c = (int)i + 1;

		if (!text[i])
			continue;
		*text[i] = col_dup(s, c);
		/* a NULL copy of a column that holds a value is out of memory; so is a NULL where none is allowed */
		if (!*text[i] && (!nullable[i] || sqlite3_column_type(s, c) != SQLITE_NULL)) {
			record_clear(rec);
			return nomem(err);
		}
	}
	h = sqlite3_column_text(s, 9);
	snprintf(rec->prev_hash, sizeof(rec->prev_hash), "%s", h ? (const char *)h : "");
	h = sqlite3_column_text(s, 10);
	snprintf(rec->hash, sizeof(rec->hash), "%s", h ? (const char *)h : "");
	return 0;
}

/* The last record's seq and hash, or 0 and the genesis value. */
static int table_head(gb_store *st, int64_t *seq, char hash[GB_AUDIT_HASH_LEN + 1], gb_error *err)
{
	sqlite3_stmt *s;
	int rc;

	*seq = 0;
	memcpy(hash, genesis, sizeof(genesis));
	rc = gb_store_prepare(st, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", &s, err);
	if (rc)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const unsigned char *h = sqlite3_column_text(s, 1);
		*seq = sqlite3_column_int64(s, 0);
		snprintf(hash, GB_AUDIT_HASH_LEN + 1, "%s", h ? (const char *)h : "");
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? 0 : gb_store_error(st, err, "reading the audit log");
	}
	sqlite3_finalize(s);
	return rc;
}

/* The anchored head from kv: 1 when present and well formed, 0 when absent, -1 when unreadable. */
static int anchor_head(gb_store *st, int64_t *seq, char hash[GB_AUDIT_HASH_LEN + 1], gb_error *err, int *rc)
{
	char *v = NULL, *colon, *end;
	long long n;
	int found;

	*rc = gb_store_kv_get(st, GB_AUDIT_HEAD_KEY, &v, err);
	if (*rc == GB_ENOTFOUND) {
		*rc = 0;
		gb_error_clear(err);
		return 0;
	}
	if (*rc)
		return -1;
	found = -1;
	colon = strchr(v, ':');
	if (colon && strlen(colon + 1) == GB_AUDIT_HASH_LEN) {
		n = strtoll(v, &end, 10);
		if (end == colon && n >= 0) {
			*seq = n;
			memcpy(hash, colon + 1, GB_AUDIT_HASH_LEN + 1);
			found = 1;
		}
	}
	free(v);
	return found;
}

/* rec from e, as it will be stored: validated, redacted, with its derived result. */
static int record_from_entry(const char *time, const gb_audit_entry *e, gb_audit_record *rec, gb_error *err)
{
	const char *outcome;
	size_t n;

	memset(rec, 0, sizeof(*rec));
	if (!e || !e->operation || !e->target || e->outcome == GB_OUTCOME_NONE || !time || !*time)
		return gb_error_set(err, GB_EINVAL, "audit record without %s",
		                    !e                                ? "an entry"
		                    : !e->operation                   ? "an operation"
		                    : !e->target                      ? "a target"
		                    : e->outcome == GB_OUTCOME_NONE ? "a result (an outcome: ok, failed or skipped)"
		                                                      : "a time");
	outcome = gb_audit_outcome_name(e->outcome);
	if (!*outcome)
		return gb_error_set(err, GB_EINVAL, "audit record of %s: outcome %d is not ok, failed or skipped",
		                    e->operation, (int)e->outcome);
	if (!gb_audit_operation_known(e->operation))
		return gb_error_set(err, GB_EINVAL,
		                    "audit record of \"%.80s\": not an operation of the audit vocabulary (audit.h)",
		                    e->operation);
	rec->form = GB_AUDIT_FORM_V2;
	rec->time = redact_dup(time);
	rec->run_id = redact_dup(e->run_id ? e->run_id : "");
	rec->step = redact_dup(e->step ? e->step : "");
	rec->operation = redact_dup(e->operation);
	rec->target = redact_dup(e->target);
	rec->before = redact_dup(e->before);
	rec->after = redact_dup(e->after);
	rec->outcome = gb_strdup(outcome);
	rec->message = redact_dup(e->message);
	n = strlen(outcome) + (rec->message ? strlen(rec->message) + 2 : 0) + 1;
	rec->result = malloc(n);
	if (rec->result)
		snprintf(rec->result, n, "%s%s%s", outcome, rec->message ? ": " : "", rec->message ? rec->message : "");
	if (!rec->time || !rec->run_id || !rec->step || !rec->operation || !rec->target || !rec->outcome ||
	    !rec->result || (e->before && !rec->before) || (e->after && !rec->after) || (e->message && !rec->message)) {
		record_clear(rec);
		return nomem(err);
	}
	return 0;
}

/* The table's last record and the head anchor must agree before anything is appended after them. */
static int check_head(gb_store *st, int64_t *last_seq, char last_hash[GB_AUDIT_HASH_LEN + 1], gb_error *err)
{
	char anchor_hash[GB_AUDIT_HASH_LEN + 1];
	int64_t anchor_seq = 0;
	int rc, have;

	rc = table_head(st, last_seq, last_hash, err);
	if (rc)
		return rc;
	have = anchor_head(st, &anchor_seq, anchor_hash, err, &rc);
	if (rc)
		return rc;
	if ((have == 0 && *last_seq != 0) || have < 0 ||
	    (have == 1 && (anchor_seq != *last_seq || strcmp(anchor_hash, last_hash) != 0)))
		return gb_error_set(err, GB_ESTATE,
		                    "appending to the audit log of %s: the log ends at record %" PRId64
		                    " but its head anchor (kv %s) %s; nothing was appended, run groupbridge audit verify",
		                    gb_store_path(st), *last_seq, GB_AUDIT_HEAD_KEY,
		                    have == 0  ? "is missing"
		                    : have < 0 ? "is unreadable"
		                               : "disagrees");
	return 0;
}

static void bind_opt(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

static int insert_record(gb_store *st, const gb_audit_record *rec, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = gb_store_prepare(st,
	                      "INSERT INTO audit_log(" RECORD_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
	                      "?10, ?11, ?12, ?13, ?14)",
	                      &s, err);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, rec->seq);
	sqlite3_bind_text(s, 2, rec->time, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, rec->run_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, rec->step, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, rec->operation, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, rec->target, -1, SQLITE_STATIC);
	bind_opt(s, 7, rec->before);
	bind_opt(s, 8, rec->after);
	sqlite3_bind_text(s, 9, rec->result, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 10, rec->prev_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 11, rec->hash, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 12, rec->form);
	sqlite3_bind_text(s, 13, rec->outcome, -1, SQLITE_STATIC);
	bind_opt(s, 14, rec->message);
	return gb_store_step_done(st, s, "appending to the audit log", err);
}

int gb_audit_append_at(gb_store *st, const char *time, const gb_audit_entry *e, int64_t *seq_out, gb_error *err)
{
	gb_audit_record rec;
	int64_t last_seq;
	char last_hash[GB_AUDIT_HASH_LEN + 1], head[GB_AUDIT_HASH_LEN + 32];
	int rc, in_savepoint = 0;

	rc = record_from_entry(time, e, &rec, err);
	if (rc)
		return rc;
	rc = gb_store_exec(st, "SAVEPOINT gb_audit_append", err);
	if (rc)
		goto done;
	in_savepoint = 1;
	rc = check_head(st, &last_seq, last_hash, err);
	if (rc)
		goto done;
	rec.seq = last_seq + 1;
	memcpy(rec.prev_hash, last_hash, sizeof(rec.prev_hash));
	rc = gb_audit_hash(rec.prev_hash, &rec, rec.hash, err);
	if (!rc)
		rc = insert_record(st, &rec, err);
	if (rc)
		goto done;
	snprintf(head, sizeof(head), "%" PRId64 ":%s", rec.seq, rec.hash);
	rc = gb_store_kv_set(st, GB_AUDIT_HEAD_KEY, head, err);
	if (!rc)
		rc = gb_store_exec(st, "RELEASE gb_audit_append", err);
	if (rc)
		goto done;
	in_savepoint = 0;
	if (seq_out)
		*seq_out = rec.seq;
done:
	if (in_savepoint)
		sqlite3_exec(gb_store_db(st), "ROLLBACK TO gb_audit_append; RELEASE gb_audit_append", NULL, NULL, NULL);
	record_clear(&rec);
	return rc;
}

int gb_audit_append(gb_store *st, const gb_audit_entry *e, int64_t *seq_out, gb_error *err)
{
	char now[32];

	gb_time_iso8601(now, sizeof(now));
	return gb_audit_append_at(st, now, e, seq_out, err);
}

int gb_audit_iter_new(gb_store *st, const char *run_id, gb_audit_iter **out, gb_error *err)
{
	gb_audit_iter *it;
	int rc;

	*out = NULL;
	it = calloc(1, sizeof(*it));
	if (!it)
		return nomem(err);
	it->st = st;
	rc = gb_store_prepare(st,
	                      run_id ? "SELECT " RECORD_COLUMNS " FROM audit_log WHERE run_id = ?1 ORDER BY seq"
	                             : "SELECT " RECORD_COLUMNS " FROM audit_log ORDER BY seq",
	                      &it->stmt, err);
	if (rc) {
		free(it);
		return rc;
	}
	if (run_id && sqlite3_bind_text(it->stmt, 1, run_id, -1, SQLITE_TRANSIENT) != SQLITE_OK) {
		gb_audit_iter_free(it);
		return nomem(err);
	}
	*out = it;
	return 0;
}

int gb_audit_iter_next(gb_audit_iter *it, const gb_audit_record **out, gb_error *err)
{
	int rc;

	*out = NULL;
	rc = sqlite3_step(it->stmt);
	if (rc == SQLITE_DONE) {
		record_clear(&it->rec);
		return 0;
	}
	if (rc != SQLITE_ROW)
		return gb_store_error(it->st, err, "reading the audit log");
	rc = record_from_row(it->stmt, &it->rec, err);
	if (rc)
		return rc;
	*out = &it->rec;
	return 0;
}

void gb_audit_iter_free(gb_audit_iter *it)
{
	if (!it)
		return;
	sqlite3_finalize(it->stmt);
	record_clear(&it->rec);
	free(it);
}

int gb_audit_last_seq(gb_store *st, const gb_audit_query *q, int64_t *out, gb_error *err)
{
	sqlite3_stmt *s;
	int rc;

	*out = 0;
	rc = gb_store_prepare(st,
	                      "SELECT max(seq) FROM audit_log WHERE (?1 IS NULL OR step = ?1) AND (?2 IS NULL OR "
	                      "operation = ?2) AND (?3 IS NULL OR target = ?3) AND (?4 IS NULL OR after = ?4) AND "
	                      "(?5 IS NULL OR outcome = ?5) AND seq > ?6",
	                      &s, err);
	if (rc)
		return rc;
	bind_opt(s, 1, q->step);
	bind_opt(s, 2, q->operation);
	bind_opt(s, 3, q->target);
	bind_opt(s, 4, q->after);
	bind_opt(s, 5, q->outcome != GB_OUTCOME_NONE ? gb_audit_outcome_name(q->outcome) : NULL);
	sqlite3_bind_int64(s, 6, q->since_seq);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : gb_store_error(st, err, "searching the audit log");
	sqlite3_finalize(s);
	return rc;
}

/* The seq of a record whose stored hash is h, or 0. */
static int seq_of_hash(gb_store *st, const char *h, int64_t *out, gb_error *err)
{
	sqlite3_stmt *s;
	int rc;

	*out = 0;
	rc = gb_store_prepare(st, "SELECT seq FROM audit_log WHERE hash = ?1 ORDER BY seq LIMIT 1", &s, err);
	if (rc)
		return rc;
	sqlite3_bind_text(s, 1, h, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	rc = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? 0 : gb_store_error(st, err, "searching the audit log");
	sqlite3_finalize(s);
	return rc;
}

static void verdict(gb_audit_verdict *v, gb_audit_problem p, int64_t seq, int64_t other, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void verdict(gb_audit_verdict *v, gb_audit_problem p, int64_t seq, int64_t other, const char *fmt, ...)
{
	va_list ap;

	v->problem = p;
	v->seq = seq;
	v->other_seq = other;
	va_start(ap, fmt);
	vsnprintf(v->message, sizeof(v->message), fmt, ap);
	va_end(ap);
}

/* Judges a record that does not chain onto running (the hash of the record before it, appended at prev_time). */
static int judge(gb_store *st, const gb_audit_record *r, const char *running, const char *prev_time,
                 gb_audit_verdict *v, gb_error *err)
{
	char self[GB_AUDIT_HASH_LEN + 1];
	int selfok, linkok, rc;
	int64_t q;

	rc = gb_audit_hash(r->prev_hash, r, self, err);
	if (rc)
		return rc;
	selfok = strcmp(self, r->hash) == 0;
	linkok = strcmp(r->prev_hash, running) == 0;
	rc = seq_of_hash(st, r->prev_hash, &q, err);
	if (rc)
		return rc;
	if (!linkok && q != 0 && q != r->seq - 1) {
		if (q == r->seq + 1)
			verdict(v, GB_AUDIT_MOVED, r->seq, q,
			        "records %" PRId64 " and %" PRId64 " out of order (record %" PRId64
			        ", %s, was appended "
			        "after the record now at %" PRId64 "): moved",
			        r->seq, q, r->seq, r->time, q);
		else
			verdict(v, GB_AUDIT_MOVED, r->seq, q,
			        "record %" PRId64 " (seq %" PRId64
			        ", %s) out of order: it was appended right after the "
			        "record now at %" PRId64 ": moved",
			        r->seq, r->seq, r->time, q);
	} else if (!selfok && linkok) {
		verdict(v, GB_AUDIT_EDITED, r->seq, 0,
		        "record %" PRId64 " (seq %" PRId64 ", %s): hash mismatch: edited", r->seq, r->seq, r->time);
	} else if (!selfok) {
		verdict(v, GB_AUDIT_EDITED, r->seq, 0,
		        "record %" PRId64 " (seq %" PRId64 ", %s): hash mismatch and no link to record %" PRId64
		        ": edited, or a record before it was deleted and the rest renumbered",
		        r->seq, r->seq, r->time, r->seq - 1);
	} else if (q == 0 && r->seq > 1) {
		/* record seq-1 verified on its own, but it is not the record this one was chained to */
		verdict(v, GB_AUDIT_EDITED, r->seq - 1, 0,
		        "record %" PRId64 " (seq %" PRId64 ", %s): replaced with a recomputed hash: record %" PRId64
		        " was chained to a different record %" PRId64 ": edited",
		        r->seq - 1, r->seq - 1, prev_time, r->seq, r->seq - 1);
	} else {
		verdict(v, GB_AUDIT_EDITED, r->seq, 0,
		        "record %" PRId64 " (seq %" PRId64 ", %s): its link to the previous record is wrong: edited",
		        r->seq, r->seq, r->time);
	}
	return 0;
}

static int is_hex_hash(const char *h)
{
	size_t i;

	if (strlen(h) != GB_AUDIT_HASH_LEN)
		return 0;
	for (i = 0; i < GB_AUDIT_HASH_LEN; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return 0;
	return 1;
}

int gb_audit_verify(gb_store *st, const char *expect_head, gb_audit_verdict *out, gb_error *err)
{
	gb_audit_iter *it = NULL;
	const gb_audit_record *r;
	char running[GB_AUDIT_HASH_LEN + 1], computed[GB_AUDIT_HASH_LEN + 1], anchor_hash[GB_AUDIT_HASH_LEN + 1];
	char last_time[40] = "";
	int64_t expect = 1, anchor_seq = 0, q;
	int rc, have;

	memset(out, 0, sizeof(*out));
	memcpy(running, genesis, sizeof(genesis));
	rc = gb_audit_iter_new(st, NULL, &it, err);
	if (rc)
		return rc;
	for (;;) {
		rc = gb_audit_iter_next(it, &r, err);
		if (rc)
			goto done;
		if (!r)
			break;
		out->count++;
		if (r->seq < expect) {
			verdict(out, GB_AUDIT_EDITED, expect, 0,
			        "a record at seq %" PRId64 " (%s) stands before record %" PRId64 ": renumbered", r->seq,
			        r->time, expect);
			goto done;
		}
		if (r->seq != expect) {
			if (r->seq == expect + 1)
				verdict(out, GB_AUDIT_DELETED, expect, 0,
				        "sequence gap after %" PRId64 ": record %" PRId64 " deleted", expect - 1,
				        expect);
			else
				verdict(out, GB_AUDIT_DELETED, expect, 0,
				        "sequence gap after %" PRId64 ": records %" PRId64 " to %" PRId64 " deleted",
				        expect - 1, expect, r->seq - 1);
			goto done;
		}
		rc = gb_audit_hash(running, r, computed, err);
		if (rc)
			goto done;
		if (strcmp(computed, r->hash) != 0 || strcmp(r->prev_hash, running) != 0) {
			rc = judge(st, r, running, last_time, out, err);
			goto done;
		}
		if (!fields_agree(r)) {
			verdict(out, GB_AUDIT_EDITED, r->seq, 0,
			        "record %" PRId64 " (seq %" PRId64 ", %s): its result, outcome and message disagree: edited",
			        r->seq, r->seq, r->time);
			goto done;
		}
		memcpy(running, r->hash, sizeof(running));
		snprintf(last_time, sizeof(last_time), "%s", r->time);
		expect++;
	}
	out->head_seq = expect - 1;
	memcpy(out->head_hash, running, sizeof(running));
	have = anchor_head(st, &anchor_seq, anchor_hash, err, &rc);
	if (rc)
		goto done;
	if (have == 0 && out->head_seq > 0) {
		verdict(out, GB_AUDIT_HEAD, out->head_seq, 0,
		        "the head anchor (kv %s) is missing while the log has %" PRId64 " records: deleted",
		        GB_AUDIT_HEAD_KEY, out->head_seq);
	} else if (have < 0) {
		verdict(out, GB_AUDIT_HEAD, out->head_seq, 0, "the head anchor (kv %s) is unreadable: edited",
		        GB_AUDIT_HEAD_KEY);
	} else if (have == 1 && anchor_seq > out->head_seq) {
		if (anchor_seq > out->head_seq + 1)
			verdict(out, GB_AUDIT_TRUNCATED, out->head_seq + 1, 0,
			        "the log ends at record %" PRId64 " but its head anchor says %" PRId64
			        ": records %" PRId64 " to %" PRId64 " deleted from the end",
			        out->head_seq, anchor_seq, out->head_seq + 1, anchor_seq);
		else
			verdict(out, GB_AUDIT_TRUNCATED, out->head_seq + 1, 0,
			        "the log ends at record %" PRId64 " but its head anchor says %" PRId64
			        ": record %" PRId64 " deleted from the end",
			        out->head_seq, anchor_seq, anchor_seq);
	} else if (have == 1 && anchor_seq < out->head_seq) {
		verdict(out, GB_AUDIT_HEAD, anchor_seq + 1, 0,
		        "records after %" PRId64
		        " are not covered by the head anchor (kv %s): added outside groupbridge, "
		        "or the anchor was rolled back",
		        anchor_seq, GB_AUDIT_HEAD_KEY);
	} else if (have == 1 && strcmp(anchor_hash, running) != 0) {
		verdict(out, GB_AUDIT_HEAD, out->head_seq, 0,
		        "record %" PRId64 " (seq %" PRId64 ", %s): hash differs from the head anchor (kv %s): the last "
		        "record was rewritten",
		        out->head_seq, out->head_seq, last_time, GB_AUDIT_HEAD_KEY);
	} else if (expect_head) {
		if (!is_hex_hash(expect_head)) {
			rc = gb_error_set(err, GB_EINVAL, "expected head \"%.80s\" is not 64 lower-case hex digits",
			                  expect_head);
			goto done;
		}
		rc = seq_of_hash(st, expect_head, &q, err);
		if (rc)
			goto done;
		if (q == 0 && !(out->head_seq == 0 && strcmp(expect_head, genesis) == 0))
			verdict(
			    out, GB_AUDIT_HEAD, 0, 0,
			    "the expected head %s is not in the log: the log was rewritten, or it is not the log that "
			    "head was taken from",
			    expect_head);
	}
	if (out->problem == GB_AUDIT_INTACT)
		snprintf(out->message, sizeof(out->message),
		         "intact: %" PRId64 " records, head seq %" PRId64 " hash %s", out->count, out->head_seq,
		         out->head_hash);
done:
	gb_audit_iter_free(it);
	return rc;
}
