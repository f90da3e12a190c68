/* state.c: what the metrics and `status` read from the state database: the persisted totals (kv
 * "metrics.totals"), the migration's verify results (migration_verify, as the verification report reads them) and
 * the provisioning passes in the runs table. */
#include "groupbridge/metrics.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "groupbridge/util.h"

#define TOTALS_KEY "metrics.totals"
#define TOTALS_VERSION 1

/* The counters kept as numbers, by name (the kv value is a JSON object of these). */
static const struct {
	const char *name;
	size_t offset;
} counters[] = {
	{"passes_success", offsetof(gb_metrics_totals, passes) + GB_METRICS_SUCCESS * sizeof(uint64_t)},
	{"passes_partial", offsetof(gb_metrics_totals, passes) + GB_METRICS_PARTIAL * sizeof(uint64_t)},
	{"passes_failure", offsetof(gb_metrics_totals, passes) + GB_METRICS_FAILURE * sizeof(uint64_t)},
	{"passes_gate", offsetof(gb_metrics_totals, passes) + GB_METRICS_GATE * sizeof(uint64_t)},
	{"passes_interrupted", offsetof(gb_metrics_totals, passes) + GB_METRICS_INTERRUPTED * sizeof(uint64_t)},
	{"members_added", offsetof(gb_metrics_totals, members_added)},
	{"members_removed", offsetof(gb_metrics_totals, members_removed)},
	{"ops_applied", offsetof(gb_metrics_totals, ops_applied)},
	{"ops_failed", offsetof(gb_metrics_totals, ops_failed)},
	{"ops_skipped", offsetof(gb_metrics_totals, ops_skipped)},
	{"graph_requests", offsetof(gb_metrics_totals, graph_requests)},
	{"graph_throttled", offsetof(gb_metrics_totals, graph_throttled)},
	{"ldap_adds", offsetof(gb_metrics_totals, ldap_adds)},
	{"ldap_modifies", offsetof(gb_metrics_totals, ldap_modifies)},
	{"ldap_renames", offsetof(gb_metrics_totals, ldap_renames)},
	{"ldap_deletes", offsetof(gb_metrics_totals, ldap_deletes)},
	{"delete_threshold_trips", offsetof(gb_metrics_totals, delete_threshold_trips)},
	{"groups_in_scope", offsetof(gb_metrics_totals, groups_in_scope)},
};

#define FIELD(t, i) ((uint64_t *)((char *)(t) + counters[i].offset))

int gb_metrics_totals_load(gb_store *st, gb_metrics_totals *out, gb_error *err)
{
	char *text = NULL;
	json_t *root, *v;
	json_error_t jerr;
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = gb_store_kv_get(st, TOTALS_KEY, &text, err);
	if (rc == GB_ENOTFOUND) {
		gb_error_clear(err);
		return 0;
	}
	if (rc)
		return rc;
	root = json_loads(text, 0, &jerr);
	free(text);
	v = root ? json_object_get(root, "version") : NULL;
	if (!json_is_object(root) || !json_is_integer(v) || json_integer_value(v) != TOTALS_VERSION) {
		json_decref(root);
		return gb_error_set(err, GB_EPARSE, "state kv %s is not metrics totals of version %d", TOTALS_KEY,
				    TOTALS_VERSION);
	}
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		v = json_object_get(root, counters[i].name);
		if (json_is_integer(v) && json_integer_value(v) >= 0)
			*FIELD(out, i) = (uint64_t)json_integer_value(v);
	}
	out->scope_known = json_is_true(json_object_get(root, "scope_known"));
	v = json_object_get(root, "last_success_ms");
	if (json_is_integer(v))
		out->last_success_ms = json_integer_value(v);
	json_decref(root);
	return 0;
}

int gb_metrics_totals_save(gb_store *st, const gb_metrics_totals *t, gb_error *err)
{
	json_t *root = json_object();
	char *text;
	size_t i;
	int ok = root != NULL, rc;

	ok = ok && json_object_set_new(root, "version", json_integer(TOTALS_VERSION)) == 0;
	for (i = 0; ok && i < sizeof(counters) / sizeof(counters[0]); i++)
		ok = json_object_set_new(root, counters[i].name, json_integer((json_int_t)*FIELD(t, i))) == 0;
	ok = ok && json_object_set_new(root, "scope_known", json_boolean(t->scope_known)) == 0;
	ok = ok && json_object_set_new(root, "last_success_ms", json_integer(t->last_success_ms)) == 0;
	text = ok ? json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(root);
	if (!text)
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	rc = gb_store_kv_set(st, TOTALS_KEY, text, err);
	free(text);
	return rc;
}

void gb_metrics_totals_add(gb_metrics_totals *t, const gb_metrics_pass *p)
{
	t->passes[p->outcome]++;
	if (p->members_counted) {
		t->members_added += p->members_added;
		t->members_removed += p->members_removed;
	}
	t->ops_applied += p->ops_applied;
	t->ops_failed += p->ops_failed;
	t->ops_skipped += p->ops_skipped;
	t->graph_requests += p->graph_requests;
	t->graph_throttled += p->graph_throttled;
	t->ldap_adds += p->ldap_adds;
	t->ldap_modifies += p->ldap_modifies;
	t->ldap_renames += p->ldap_renames;
	t->ldap_deletes += p->ldap_deletes;
	t->delete_threshold_trips += p->delete_threshold_tripped;
	if (p->scope_known) {
		t->scope_known = true;
		t->groups_in_scope = p->groups_in_scope;
	}
	if (p->outcome == GB_METRICS_SUCCESS)
		t->last_success_ms = p->end_ms;
}

int gb_metrics_parse_time(const char *text, int64_t *out)
{
	struct tm tm;
	int ms = 0, n = 0, digits = 0;
	const char *p;
	time_t t;

	*out = 0;
	memset(&tm, 0, sizeof(tm));
	if (!text || sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
			    &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
		return GB_EPARSE;
	p = text + n;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				ms = ms * 10 + (*p - '0');
		if (!digits)
			return GB_EPARSE;
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (strcmp(p, "Z") != 0 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return GB_EPARSE;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	*out = (int64_t)t * 1000 + ms;
	return 0;
}

int gb_metrics_verify_read(gb_store *st, gb_metrics_verify *out, gb_error *err)
{
	sqlite3_stmt *s = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = gb_store_prepare(st,
			      "SELECT count(*), COALESCE(sum(missing + extra + other_changes > 0), 0), "
			      "COALESCE(sum(missing), 0), COALESCE(sum(extra), 0), COALESCE(sum(other_changes), 0), "
			      "max(checked) FROM migration_verify",
			      &s, err);
	if (rc)
		return rc;
	if (sqlite3_step(s) != SQLITE_ROW) {
		rc = gb_store_error(st, err, "reading migration_verify");
	} else if (sqlite3_column_int64(s, 0) > 0) {
		out->present = true;
		out->groups_checked = (uint64_t)sqlite3_column_int64(s, 0);
		out->groups_drifted = (uint64_t)sqlite3_column_int64(s, 1);
		out->members_missing = (uint64_t)sqlite3_column_int64(s, 2);
		out->members_extra = (uint64_t)sqlite3_column_int64(s, 3);
		out->other_changes = (uint64_t)sqlite3_column_int64(s, 4);
		gb_metrics_parse_time((const char *)sqlite3_column_text(s, 5), &out->checked_ms);
	}
	sqlite3_finalize(s);
	return rc;
}

/* The newest provisioning run matching where (a SQL condition of ours, never input). */
static int read_run(gb_store *st, const char *where, gb_metrics_run *out, gb_error *err)
{
	char sql[512];
	sqlite3_stmt *s = NULL;
	int rc, step;

	memset(out, 0, sizeof(*out));
	out->exit_code = -1;
	snprintf(sql, sizeof(sql),
		 "SELECT id, command, started, ended, exit_code, COALESCE(summary, '') FROM runs "
		 "WHERE command IN ('provision', 'provision --allow-deletes') AND %s ORDER BY started DESC, rowid DESC "
		 "LIMIT 1",
		 where);
	rc = gb_store_prepare(st, sql, &s, err);
	if (rc)
		return rc;
	step = sqlite3_step(s);
	if (step == SQLITE_ROW) {
		out->present = true;
		snprintf(out->id, sizeof(out->id), "%s", (const char *)sqlite3_column_text(s, 0));
		snprintf(out->command, sizeof(out->command), "%s", (const char *)sqlite3_column_text(s, 1));
		gb_metrics_parse_time((const char *)sqlite3_column_text(s, 2), &out->started_ms);
		if (sqlite3_column_type(s, 3) != SQLITE_NULL) {
			gb_metrics_parse_time((const char *)sqlite3_column_text(s, 3), &out->ended_ms);
			out->exit_code = sqlite3_column_int(s, 4);
		}
		snprintf(out->summary, sizeof(out->summary), "%s", (const char *)sqlite3_column_text(s, 5));
	} else if (step != SQLITE_DONE) {
		rc = gb_store_error(st, err, "reading the runs");
	}
	sqlite3_finalize(s);
	return rc;
}

int gb_metrics_health_read(gb_store *st, gb_metrics_health *out, gb_error *err)
{
	gb_metrics_run newest;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = read_run(st, "ended IS NOT NULL", &out->last, err);
	if (!rc)
		rc = read_run(st, "ended IS NOT NULL AND exit_code = 0", &out->last_success, err);
	if (!rc)
		rc = read_run(st, "1", &newest, err);
	if (!rc && newest.present && !newest.ended_ms && (!out->last.present || newest.started_ms >= out->last.started_ms) &&
	    strcmp(newest.id, out->last.id) != 0)
		out->unfinished = newest;
	return rc;
}
