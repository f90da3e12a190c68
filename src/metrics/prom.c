/* prom.c: the Prometheus text format (exposition format 0.0.4) of a pass and the totals, written for node_exporter's
 * textfile collector. */
#include "groupbridge/metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "groupbridge/util.h"
#include "groupbridge/version.h"

#define METRICS_MAX_BYTES ((size_t)1024 * 1024)

void gb_metrics_labelled_add(gb_metrics_labelled *l, const char *label, uint64_t by)
{
	size_t i;

	if (!label || !*label)
		label = "other";
	for (i = 0; i < l->n; i++)
		if (strncmp(l->items[i].label, label, GB_METRICS_LABEL_MAX - 1) == 0) {
			l->items[i].value += by;
			return;
		}
	if (l->n == GB_METRICS_MAX_LABELS) {
		/* full: the last slot becomes (or already is) "other" */
		snprintf(l->items[l->n - 1].label, GB_METRICS_LABEL_MAX, "other");
		l->items[l->n - 1].value += by;
		return;
	}
	snprintf(l->items[l->n].label, GB_METRICS_LABEL_MAX, "%s", label);
	l->items[l->n].value = by;
	l->n++;
}

const char *gb_metrics_outcome_name(gb_metrics_outcome o)
{
	switch (o) {
	case GB_METRICS_SUCCESS: return "success";
	case GB_METRICS_PARTIAL: return "partial";
	case GB_METRICS_FAILURE: return "failure";
	case GB_METRICS_GATE: return "gate";
	case GB_METRICS_INTERRUPTED: return "interrupted";
	}
	return "failure";
}

void gb_metrics_config_label(const char *config_path, char *dst, size_t n)
{
	const char *base = config_path ? strrchr(config_path, '/') : NULL;
	size_t len;

	base = base ? base + 1 : config_path ? config_path : "";
	len = strlen(base);
	if (len > 4 && strcmp(base + len - 4, ".ini") == 0)
		len -= 4;
	snprintf(dst, n, "%.*s", (int)len, base);
}

int64_t gb_metrics_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the writer ---- */

typedef struct writer {
	gb_buf *b;
	const char *config; /* already escaped */
	gb_error *err;
	int rc;
} writer;

/* A label value with backslash, double quote and line feed escaped, as the text format requires. */
static void escape_label(const char *s, char *dst, size_t n)
{
	size_t o = 0;

	for (; *s && o + 3 < n; s++) {
		if (*s == '\\' || *s == '"') {
			dst[o++] = '\\';
			dst[o++] = *s;
		} else if (*s == '\n') {
			dst[o++] = '\\';
			dst[o++] = 'n';
		} else {
			dst[o++] = *s;
		}
	}
	dst[o] = '\0';
}

static void family(writer *w, const char *name, const char *type, const char *help)
{
	if (!w->rc)
		w->rc = gb_buf_printf(w->b, w->err, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample: name{config="...",lname="lval"} value. lname NULL: the config label only. */
static void sample(writer *w, const char *name, const char *lname, const char *lval, const char *value)
{
	char esc[2 * GB_METRICS_LABEL_MAX + 8];

	if (w->rc)
		return;
	if (lname) {
		escape_label(lval, esc, sizeof(esc));
		w->rc = gb_buf_printf(w->b, w->err, "%s{config=\"%s\",%s=\"%s\"} %s\n", name, w->config, lname, esc, value);
	} else {
		w->rc = gb_buf_printf(w->b, w->err, "%s{config=\"%s\"} %s\n", name, w->config, value);
	}
}

static void sample_u(writer *w, const char *name, const char *lname, const char *lval, uint64_t v)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	sample(w, name, lname, lval, num);
}

/* Milliseconds as seconds with three decimals (a float in the text format). */
static void sample_ms(writer *w, const char *name, int64_t ms)
{
	char num[40];

	if (ms < 0)
		ms = 0;
	snprintf(num, sizeof(num), "%" PRId64 ".%03" PRId64, ms / 1000, ms % 1000);
	sample(w, name, NULL, NULL, num);
}

static void gauge_u(writer *w, const char *name, const char *help, uint64_t v)
{
	family(w, name, "gauge", help);
	sample_u(w, name, NULL, NULL, v);
}

static void counter_u(writer *w, const char *name, const char *help, uint64_t v)
{
	family(w, name, "counter", help);
	sample_u(w, name, NULL, NULL, v);
}

static void labelled(writer *w, const char *name, const char *help, const char *lname, const gb_metrics_labelled *l)
{
	size_t i;

	if (!l->n)
		return;
	family(w, name, "gauge", help);
	for (i = 0; i < l->n; i++)
		sample_u(w, name, lname, l->items[i].label, l->items[i].value);
}

static void render_pass(writer *w, const gb_metrics_pass *p, const gb_metrics_totals *t)
{
	int o;

	family(w, "groupbridge_last_pass_start_timestamp_seconds", "gauge", "When the last provisioning pass started.");
	sample_ms(w, "groupbridge_last_pass_start_timestamp_seconds", p->start_ms);
	family(w, "groupbridge_last_pass_end_timestamp_seconds", "gauge", "When the last provisioning pass ended.");
	sample_ms(w, "groupbridge_last_pass_end_timestamp_seconds", p->end_ms);
	family(w, "groupbridge_last_pass_duration_seconds", "gauge", "How long the last provisioning pass took.");
	sample_ms(w, "groupbridge_last_pass_duration_seconds", p->end_ms - p->start_ms);
	gauge_u(w, "groupbridge_last_pass_exit_code", "The exit code of the last pass (0 success, 1 failure, 2 "
						      "configuration, 3 partial, 4 delete threshold).",
		(uint64_t)(p->exit_code < 0 ? 1 : p->exit_code));
	family(w, "groupbridge_last_pass_outcome", "gauge", "How the last pass ended: 1 for its outcome, 0 for the others.");
	for (o = GB_METRICS_SUCCESS; o <= GB_METRICS_INTERRUPTED; o++)
		sample_u(w, "groupbridge_last_pass_outcome", "outcome", gb_metrics_outcome_name((gb_metrics_outcome)o),
			 (int)p->outcome == o);
	gauge_u(w, "groupbridge_last_pass_incremental", "1 when the last pass read only what Graph delta reported, 0 "
							"for a full read.",
		p->incremental);
	family(w, "groupbridge_last_success_timestamp_seconds", "gauge",
	       "When the last successful pass ended (0: none yet).");
	sample_ms(w, "groupbridge_last_success_timestamp_seconds", t->last_success_ms);
	if (t->scope_known)
		gauge_u(w, "groupbridge_groups_in_scope", "Cloud groups in provisioning scope, as of the last full read.",
			t->groups_in_scope);
	gauge_u(w, "groupbridge_last_pass_groups_read", "Cloud groups the last pass read and planned (all in scope in a "
							"full read, the changed ones in an incremental pass).",
		p->groups_read);
	family(w, "groupbridge_last_pass_groups", "gauge",
	       "Groups of the last pass that were provisioned (their operations applied) or failed.");
	sample_u(w, "groupbridge_last_pass_groups", "outcome", "provisioned", p->groups_provisioned);
	sample_u(w, "groupbridge_last_pass_groups", "outcome", "failed", p->groups_failed);
	labelled(w, "groupbridge_last_pass_groups_skipped", "Groups in scope the rules did not provision in the last "
							    "pass, by reason.",
		 "reason", &p->groups_skipped);
	labelled(w, "groupbridge_last_pass_members_skipped", "Members the rules did not write in the last pass, by "
							     "reason.",
		 "reason", &p->members_skipped);
}

static void render_totals(writer *w, const gb_metrics_totals *t)
{
	int o;

	family(w, "groupbridge_passes_total", "counter", "Provisioning passes, by outcome.");
	for (o = GB_METRICS_SUCCESS; o <= GB_METRICS_INTERRUPTED; o++)
		sample_u(w, "groupbridge_passes_total", "outcome", gb_metrics_outcome_name((gb_metrics_outcome)o),
			 t->passes[o]);
	counter_u(w, "groupbridge_members_added_total", "Member values added to AD groups.", t->members_added);
	counter_u(w, "groupbridge_members_removed_total", "Member values removed from AD groups.", t->members_removed);
	family(w, "groupbridge_operations_total", "counter", "Plan operations, by result.");
	sample_u(w, "groupbridge_operations_total", "result", "applied", t->ops_applied);
	sample_u(w, "groupbridge_operations_total", "result", "failed", t->ops_failed);
	sample_u(w, "groupbridge_operations_total", "result", "skipped", t->ops_skipped);
	counter_u(w, "groupbridge_graph_requests_total", "HTTP requests to Microsoft Graph and its token endpoint, "
							 "retries included.",
		  t->graph_requests);
	counter_u(w, "groupbridge_graph_throttled_responses_total", "Microsoft Graph replies that asked to slow down "
								    "(429, and 503 or 504), $batch parts included.",
		  t->graph_throttled);
	family(w, "groupbridge_ldap_writes_total", "counter", "LDAP write requests sent to the domain controller, by kind.");
	sample_u(w, "groupbridge_ldap_writes_total", "kind", "add", t->ldap_adds);
	sample_u(w, "groupbridge_ldap_writes_total", "kind", "modify", t->ldap_modifies);
	sample_u(w, "groupbridge_ldap_writes_total", "kind", "rename", t->ldap_renames);
	sample_u(w, "groupbridge_ldap_writes_total", "kind", "delete", t->ldap_deletes);
	counter_u(w, "groupbridge_delete_threshold_trips_total", "Passes stopped by delete_threshold before any change.",
		  t->delete_threshold_trips);
}

static void render_verify(writer *w, const gb_metrics_verify *v)
{
	size_t i;

	if (!v || !v->present)
		return;
	{
		const struct {
			const char *name, *help;
			uint64_t value;
		} gauges[] = {
			{"groupbridge_verify_groups_checked", "Handed-over groups the migration's verify step compared.",
			 v->groups_checked},
			{"groupbridge_verify_groups_drifted",
			 "Handed-over groups whose AD group differs from what the rules expect (drift).", v->groups_drifted},
			{"groupbridge_verify_members_missing", "Members the verify step found missing in AD.",
			 v->members_missing},
			{"groupbridge_verify_members_extra", "Members the verify step found in AD that should not be there.",
			 v->members_extra},
			{"groupbridge_verify_other_changes", "Attribute differences the verify step found.", v->other_changes},
		};

		for (i = 0; i < sizeof(gauges) / sizeof(gauges[0]); i++)
			gauge_u(w, gauges[i].name, gauges[i].help, gauges[i].value);
	}
	family(w, "groupbridge_verify_timestamp_seconds", "gauge", "When the verify step last compared.");
	sample_ms(w, "groupbridge_verify_timestamp_seconds", v->checked_ms);
}

int gb_metrics_render(const char *config, const gb_metrics_pass *p, const gb_metrics_totals *t,
		      const gb_metrics_verify *verify, gb_buf *out, gb_error *err)
{
	char cfg[2 * GB_METRICS_LABEL_MAX + 8], version[64];
	writer w = {out, cfg, err, 0};

	escape_label(config ? config : "", cfg, sizeof(cfg));
	escape_label(GB_VERSION, version, sizeof(version));
	family(&w, "groupbridge_build_info", "gauge", "groupbridge's version, as a label; the value is always 1.");
	sample(&w, "groupbridge_build_info", "version", version, "1");
	render_pass(&w, p, t);
	render_totals(&w, t);
	render_verify(&w, verify);
	return w.rc;
}

int gb_metrics_write(const char *path, const char *config, const gb_metrics_pass *p, const gb_metrics_totals *t,
		     const gb_metrics_verify *verify, gb_error *err)
{
	gb_buf b;
	int rc;

	gb_buf_init(&b, METRICS_MAX_BYTES);
	rc = gb_metrics_render(config, p, t, verify, &b, err);
	if (!rc)
		rc = gb_write_file_atomic(path, b.data ? b.data : "", b.len, 0644, err);
	if (rc)
		gb_error_prefix(err, "metrics");
	gb_buf_free(&b);
	return rc;
}
