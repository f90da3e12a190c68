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

#define CANON_MAGIC "gb-audit-v1\n"

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
	const char *fields[9];
	size_t i;
	int rc;

	snprintf(seq, sizeof(seq), "%" PRId64, rec->seq);
	fields[0] = seq;
	fields[1] = rec->time ? rec->time : "";
	fields[2] = rec->run_id ? rec->run_id : "";
	fields[3] = rec->step ? rec->step : "";
	fields[4] = rec->operation ? rec->operation : "";
	fields[5] = rec->target ? rec->target : "";
	fields[6] = rec->before;
	fields[7] = rec->after;
	fields[8] = rec->result ? rec->result : "";
	rc = gb_buf_puts(out, CANON_MAGIC, err);
	for (i = 0; !rc && i < 9; i++)
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

/* Fills rec from a row of "SELECT seq, time, run_id, step, operation, target, before, after, result, prev_hash,
 * hash". */
static int record_from_row(sqlite3_stmt *s, gb_audit_record *rec, gb_error *err)
{
	const unsigned char *h;

	record_clear(rec);
	rec->seq = sqlite3_column_int64(s, 0);
	rec->time = col_dup(s, 1);
	rec->run_id = col_dup(s, 2);
	rec->step = col_dup(s, 3);
	rec->operation = col_dup(s, 4);
	rec->target = col_dup(s, 5);
	rec->before = col_dup(s, 6);
	rec->after = col_dup(s, 7);
	rec->result = col_dup(s, 8);
	if (!rec->time || !rec->run_id || !rec->step || !rec->operation || !rec->target || !rec->result ||
	    (!rec->before && sqlite3_column_type(s, 6) != SQLITE_NULL) ||
	    (!rec->after && sqlite3_column_type(s, 7) != SQLITE_NULL)) {
		record_clear(rec);
		return nomem(err);
	}
	h = sqlite3_column_text(s, 9);
	snprintf(rec->prev_hash, sizeof(rec->prev_hash), "%s", h ? (const char *)h : "");
	h = sqlite3_column_text(s, 10);
	snprintf(rec->hash, sizeof(rec->hash), "%s", h ? (const char *)h : "");
	return 0;
}

#define RECORD_COLUMNS "seq, time, run_id, step, operation, target, before, after, result, prev_hash, hash"

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

int gb_audit_append_at(gb_store *st, const char *time, const gb_audit_entry *e, int64_t *seq_out, gb_error *err)
{
	gb_audit_record rec;
	sqlite3_stmt *s = NULL;
	int64_t last_seq, anchor_seq = 0;
	char last_hash[GB_AUDIT_HASH_LEN + 1], anchor_hash[GB_AUDIT_HASH_LEN + 1], head[GB_AUDIT_HASH_LEN + 32];
	int rc, have, in_savepoint = 0;

	memset(&rec, 0, sizeof(rec));
	if (!e || !e->operation || !e->target || !e->result || !time || !*time)
		return gb_error_set(err, GB_EINVAL, "audit record without %s",
		                    !e              ? "an entry"
		                    : !e->operation ? "an operation"
		                    : !e->target    ? "a target"
		                    : !e->result    ? "a result"
		                                    : "a time");
	rec.time = redact_dup(time);
	rec.run_id = redact_dup(e->run_id ? e->run_id : "");
	rec.step = redact_dup(e->step ? e->step : "");
	rec.operation = redact_dup(e->operation);
	rec.target = redact_dup(e->target);
	rec.before = redact_dup(e->before);
	rec.after = redact_dup(e->after);
	rec.result = redact_dup(e->result);
	if (!rec.time || !rec.run_id || !rec.step || !rec.operation || !rec.target || !rec.result ||
	    (e->before && !rec.before) || (e->after && !rec.after)) {
		rc = nomem(err);
		goto done;
	}
	rc = gb_store_exec(st, "SAVEPOINT gb_audit_append", err);
	if (rc)
		goto done;
	in_savepoint = 1;
	rc = table_head(st, &last_seq, last_hash, err);
	if (rc)
		goto done;
	have = anchor_head(st, &anchor_seq, anchor_hash, err, &rc);
	if (rc)
		goto done;
	if ((have == 0 && last_seq != 0) || have < 0 ||
	    (have == 1 && (anchor_seq != last_seq || strcmp(anchor_hash, last_hash) != 0))) {
		rc = gb_error_set(err, GB_ESTATE,
		                  "appending to the audit log of %s: the log ends at record %" PRId64
		                  " but its head anchor (kv %s) %s; nothing was appended, run groupbridge audit verify",
		                  gb_store_path(st), last_seq, GB_AUDIT_HEAD_KEY,
		                  have == 0  ? "is missing"
		                  : have < 0 ? "is unreadable"
		                             : "disagrees");
		goto done;
	}
	rec.seq = last_seq + 1;
	memcpy(rec.prev_hash, last_hash, sizeof(rec.prev_hash));
	rc = gb_audit_hash(rec.prev_hash, &rec, rec.hash, err);
	if (rc)
		goto done;
	rc = gb_store_prepare(st,
	                      "INSERT INTO audit_log(" RECORD_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
	                      "?10, ?11)",
	                      &s, err);
	if (rc)
		goto done;
	sqlite3_bind_int64(s, 1, rec.seq);
	sqlite3_bind_text(s, 2, rec.time, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, rec.run_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, rec.step, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, rec.operation, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, rec.target, -1, SQLITE_STATIC);
	if (rec.before)
		sqlite3_bind_text(s, 7, rec.before, -1, SQLITE_STATIC);
	if (rec.after)
		sqlite3_bind_text(s, 8, rec.after, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, rec.result, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 10, rec.prev_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 11, rec.hash, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE) {
		rc = gb_store_error(st, err, "appending to the audit log");
		goto done;
	}
	snprintf(head, sizeof(head), "%" PRId64 ":%s", rec.seq, rec.hash);
	rc = gb_store_kv_set(st, GB_AUDIT_HEAD_KEY, head, err);
	if (rc)
		goto done;
	rc = gb_store_exec(st, "RELEASE gb_audit_append", err);
	if (rc)
		goto done;
	in_savepoint = 0;
	if (seq_out)
		*seq_out = rec.seq;
done:
	if (in_savepoint) {
		sqlite3_exec(gb_store_db(st), "ROLLBACK TO gb_audit_append; RELEASE gb_audit_append", NULL, NULL, NULL);
	}
	sqlite3_finalize(s);
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
