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

const char *const gb_report_audit_field_names[GB_RAF_COUNT] = {
    "seq",  "time",      "run_id", "step", "operation", "target",  "before",
    "after", "result", "prev_hash", "hash", "form", "outcome", "message"};

void gb_report_audit_texts(const gb_audit_record *r, gb_report_audit_numbers *num, const char *vals[GB_RAF_COUNT])
{
	snprintf(num->seq, sizeof(num->seq), "%" PRId64, r->seq);
	snprintf(num->form, sizeof(num->form), "%d", r->form);
	vals[GB_RAF_SEQ] = num->seq;
	vals[GB_RAF_TIME] = r->time;
	vals[GB_RAF_RUN_ID] = r->run_id;
	vals[GB_RAF_STEP] = r->step;
	vals[GB_RAF_OPERATION] = r->operation;
	vals[GB_RAF_TARGET] = r->target;
	vals[GB_RAF_BEFORE] = r->before;
	vals[GB_RAF_AFTER] = r->after;
	vals[GB_RAF_RESULT] = r->result;
	vals[GB_RAF_PREV_HASH] = r->prev_hash;
	vals[GB_RAF_HASH] = r->hash;
	vals[GB_RAF_FORM] = num->form;
	vals[GB_RAF_OUTCOME] = r->outcome;
	vals[GB_RAF_MESSAGE] = r->message;
}

/* One record as a JSON object on a line: seq and form as numbers, the other fields as strings (or null). */
static int jsonl(const gb_audit_record *r, gb_buf *b, gb_error *err)
{
	gb_report_audit_numbers num;
	const char *vals[GB_RAF_COUNT];
	json_t *o = json_object(), *v;
	char *text = NULL;
	size_t i;
	int ok = o != NULL, rc;

	gb_report_audit_texts(r, &num, vals);
	for (i = 0; ok && i < GB_RAF_COUNT; i++) {
		if (i == GB_RAF_SEQ)
			v = json_integer((json_int_t)r->seq);
		else if (i == GB_RAF_FORM)
			v = json_integer(r->form);
		else
			v = jstr(vals[i], &ok);
		if (json_object_set_new(o, gb_report_audit_field_names[i], v) != 0)
			ok = 0;
	}
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
	gb_report_audit_numbers num;
	const char *vals[GB_RAF_COUNT];

	gb_report_audit_texts(r, &num, vals);
	return gb_report_csv_record(b, vals, GB_RAF_COUNT, err);
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
		rc = gb_report_csv_record(&b, gb_report_audit_field_names, GB_RAF_COUNT, err);
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
