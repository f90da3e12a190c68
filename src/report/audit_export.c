/* audit_export.c: `audit export`: the audit log as JSON lines or CSV. Each record carries every stored field: the
 * result its form 1 hash covers (or, for form 2, the text derived from outcome and message) comes first, where it
 * always stood; form, outcome and message follow the hashes, so that readers of the older layout keep working. */
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/audit.h"

#include "report/internal.h"

/* A JSON string of s, made valid UTF-8 first (json_string refuses anything else). */
static json_t *jstr(const char *s, int *ok)
{
	char *clean;
	json_t *j;

	if (!s)
		return json_null();
	clean = gb_report_clean_text(s);
	j = clean ? json_string(clean) : NULL;
	free(clean);
	if (!j)
		*ok = 0;
	return j;
}

static int jsonl(const gb_audit_record *r, gb_buf *b, gb_error *err)
{
	static const char *const names[] = {"time",  "run_id", "step",      "operation", "target",  "before",
	                                    "after", "result", "prev_hash", "hash",      "outcome", "message"};
	const char *vals[12];
	json_t *o = json_object();
	char *text = NULL;
	size_t i;
	int ok = o != NULL, rc;

	vals[0] = r->time;
	vals[1] = r->run_id;
	vals[2] = r->step;
	vals[3] = r->operation;
	vals[4] = r->target;
	vals[5] = r->before;
	vals[6] = r->after;
	vals[7] = r->result;
	vals[8] = r->prev_hash;
	vals[9] = r->hash;
	vals[10] = r->outcome;
	vals[11] = r->message;
	if (ok && json_object_set_new(o, "seq", json_integer((json_int_t)r->seq)) != 0)
		ok = 0;
	for (i = 0; ok && i < 10; i++)
		if (json_object_set_new(o, names[i], jstr(vals[i], &ok)) != 0)
			ok = 0;
	if (ok && json_object_set_new(o, "form", json_integer(r->form)) != 0)
		ok = 0;
	for (; ok && i < 12; i++)
		if (json_object_set_new(o, names[i], jstr(vals[i], &ok)) != 0)
			ok = 0;
	if (ok)
		text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return gb_error_set(err, GB_ENOMEM, "exporting audit record %" PRId64 ": out of memory", r->seq);
	rc = gb_buf_puts(b, text, err);
	if (!rc)
		rc = gb_buf_putc(b, '\n', err);
	free(text);
	return rc;
}

static int csv(const gb_audit_record *r, gb_buf *b, gb_error *err)
{
	char seq[24], form[8];
	const char *vals[14];
	size_t i;
	int rc = 0;

	snprintf(seq, sizeof(seq), "%" PRId64, r->seq);
	vals[0] = seq;
	vals[1] = r->time;
	vals[2] = r->run_id;
	vals[3] = r->step;
	vals[4] = r->operation;
	vals[5] = r->target;
	vals[6] = r->before;
	vals[7] = r->after;
	vals[8] = r->result;
	vals[9] = r->prev_hash;
	vals[10] = r->hash;
	snprintf(form, sizeof(form), "%d", r->form);
	vals[11] = form;
	vals[12] = r->outcome;
	vals[13] = r->message;
	for (i = 0; !rc && i < 14; i++) {
		if (i)
			rc = gb_buf_putc(b, ',', err);
		if (!rc)
			rc = gb_report_csv_cell(b, vals[i], err);
	}
	return rc ? rc : gb_buf_puts(b, "\r\n", err);
}

int gb_report_audit_export(gb_store *st, const char *run_id, const char *format, FILE *out, gb_error *err)
{
	gb_audit_iter *it = NULL;
	const gb_audit_record *r;
	int is_csv, rc;
	gb_buf b;

	if (!format || (strcmp(format, "jsonl") != 0 && strcmp(format, "csv") != 0))
		return gb_error_set(err, GB_EINVAL, "unknown audit export format \"%s\" (jsonl or csv)",
		                    format ? format : "");
	is_csv = strcmp(format, "csv") == 0;
	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	rc = gb_audit_iter_new(st, run_id, &it, err);
	if (!rc && is_csv)
		rc = gb_buf_puts(&b, "seq,time,run_id,step,operation,target,before,after,result,prev_hash,hash,form,outcome,message\r\n",
		                 err);
	while (!rc) {
		rc = gb_audit_iter_next(it, &r, err);
		if (rc || !r)
			break;
		rc = is_csv ? csv(r, &b, err) : jsonl(r, &b, err);
		/* one record at a time: the log may be larger than memory should hold */
		if (!rc && b.len && fwrite(b.data, 1, b.len, out) != b.len)
			rc = gb_error_set(err, GB_EIO, "writing the audit export: short write");
		gb_buf_clear(&b);
	}
	if (!rc && b.len && fwrite(b.data, 1, b.len, out) != b.len)
		rc = gb_error_set(err, GB_EIO, "writing the audit export: short write");
	gb_audit_iter_free(it);
	gb_buf_free(&b);
	return rc;
}
