/* Unit tests of the metrics module (the Prometheus text, the persisted totals, the runs and verify readers), of the
 * watch's back-off, and of the systemd credential form of secret files (issue 15). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "groupbridge/config.h"
#include "groupbridge/metrics.h"
#include "groupbridge/store.h"
#include "groupbridge/util.h"
#include "groupbridge/version.h"
#include "support/testfs.h"

static char dir[64];
static char path[128];

static void setup(void)
{
	gb_testfs_mkdtemp_db(dir, sizeof(dir), path, sizeof(path), "metrics");
}

static void teardown(void)
{
	gb_testfs_rmtree(dir);
	unsetenv("CREDENTIALS_DIRECTORY");
}

TestSuite(metrics, .init = setup, .fini = teardown);

static gb_metrics_pass a_pass(void)
{
	gb_metrics_pass p;

	memset(&p, 0, sizeof(p));
	p.start_ms = 1764000000123;
	p.end_ms = 1764000004567;
	p.outcome = GB_METRICS_PARTIAL;
	p.exit_code = 3;
	p.scope_known = true;
	p.groups_in_scope = 7;
	p.groups_read = 7;
	p.groups_provisioned = 5;
	p.groups_failed = 1;
	gb_metrics_labelled_add(&p.groups_skipped, "mail-enabled", 1);
	gb_metrics_labelled_add(&p.members_skipped, "cloud-only-user", 2);
	gb_metrics_labelled_add(&p.members_skipped, "cloud-only-user", 1);
	p.members_counted = true;
	p.members_added = 12;
	p.members_removed = 3;
	p.ops_applied = 9;
	p.ops_failed = 1;
	p.ops_skipped = 2;
	p.graph_requests = 40;
	p.graph_throttled = 2;
	p.ldap_adds = 5;
	p.ldap_modifies = 4;
	return p;
}

static char *render(const char *config, const gb_metrics_pass *p, const gb_metrics_totals *t,
		    const gb_metrics_verify *v)
{
	gb_buf b;
	gb_error err;

	gb_buf_init(&b, GB_BUF_DEFAULT_MAX);
	cr_assert_eq(gb_metrics_render(config, p, t, v, &b, &err), 0, "%s", err.msg);
	return gb_buf_detach(&b);
}

static void has_line(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return;
		p += n;
	}
	cr_assert_fail("no line \"%s\" in:\n%s", line, text);
}

Test(metrics, labelled_counts_add_up_and_overflow_into_other)
{
	gb_metrics_labelled l;
	char name[16];
	int i;

	memset(&l, 0, sizeof(l));
	gb_metrics_labelled_add(&l, "a", 1);
	gb_metrics_labelled_add(&l, "a", 2);
	gb_metrics_labelled_add(&l, "", 1);
	gb_metrics_labelled_add(&l, NULL, 1);
	cr_assert_eq(l.n, 2);
	cr_assert_str_eq(l.items[0].label, "a");
	cr_assert_eq(l.items[0].value, 3);
	cr_assert_str_eq(l.items[1].label, "other");
	cr_assert_eq(l.items[1].value, 2);
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		gb_metrics_labelled_add(&l, name, 1);
	}
	cr_assert_eq(l.n, GB_METRICS_MAX_LABELS);
	cr_assert_str_eq(l.items[GB_METRICS_MAX_LABELS - 1].label, "other");
	{
		uint64_t sum = 0;
		size_t k;
		for (k = 0; k < l.n; k++)
			sum += l.items[k].value;
		cr_assert_eq(sum, 3 + 2 + 40, "no count is lost");
	}
}

Test(metrics, renders_the_pass_and_the_totals_in_the_text_format)
{
	gb_metrics_pass p = a_pass();
	gb_metrics_totals t;
	char *text, line[128];

	memset(&t, 0, sizeof(t));
	gb_metrics_totals_add(&t, &p);
	text = render("contoso", &p, &t, NULL);
	snprintf(line, sizeof(line), "groupbridge_build_info{config=\"contoso\",version=\"%s\"} 1", GB_VERSION);
	has_line(text, line);
	has_line(text, "# TYPE groupbridge_build_info gauge");
	has_line(text, "groupbridge_last_pass_start_timestamp_seconds{config=\"contoso\"} 1764000000.123");
	has_line(text, "groupbridge_last_pass_end_timestamp_seconds{config=\"contoso\"} 1764000004.567");
	has_line(text, "groupbridge_last_pass_duration_seconds{config=\"contoso\"} 4.444");
	has_line(text, "groupbridge_last_pass_exit_code{config=\"contoso\"} 3");
	has_line(text, "groupbridge_last_pass_outcome{config=\"contoso\",outcome=\"partial\"} 1");
	has_line(text, "groupbridge_last_pass_outcome{config=\"contoso\",outcome=\"success\"} 0");
	has_line(text, "groupbridge_last_success_timestamp_seconds{config=\"contoso\"} 0.000");
	has_line(text, "groupbridge_groups_in_scope{config=\"contoso\"} 7");
	has_line(text, "groupbridge_last_pass_groups{config=\"contoso\",outcome=\"provisioned\"} 5");
	has_line(text, "groupbridge_last_pass_groups{config=\"contoso\",outcome=\"failed\"} 1");
	has_line(text, "groupbridge_last_pass_groups_skipped{config=\"contoso\",reason=\"mail-enabled\"} 1");
	has_line(text, "groupbridge_last_pass_members_skipped{config=\"contoso\",reason=\"cloud-only-user\"} 3");
	has_line(text, "# TYPE groupbridge_passes_total counter");
	has_line(text, "groupbridge_passes_total{config=\"contoso\",outcome=\"partial\"} 1");
	has_line(text, "groupbridge_members_added_total{config=\"contoso\"} 12");
	has_line(text, "groupbridge_members_removed_total{config=\"contoso\"} 3");
	has_line(text, "groupbridge_operations_total{config=\"contoso\",result=\"skipped\"} 2");
	has_line(text, "groupbridge_graph_requests_total{config=\"contoso\"} 40");
	has_line(text, "groupbridge_graph_throttled_responses_total{config=\"contoso\"} 2");
	has_line(text, "groupbridge_ldap_writes_total{config=\"contoso\",kind=\"add\"} 5");
	has_line(text, "groupbridge_ldap_writes_total{config=\"contoso\",kind=\"modify\"} 4");
	has_line(text, "groupbridge_delete_threshold_trips_total{config=\"contoso\"} 0");
	cr_assert_null(strstr(text, "groupbridge_verify_"), "no verify gauges before a verify ran");
	free(text);
}

Test(metrics, label_values_are_escaped)
{
	gb_metrics_pass p = a_pass();
	gb_metrics_totals t;
	char *text;

	memset(&t, 0, sizeof(t));
	gb_metrics_labelled_add(&p.groups_skipped, "a\"b\\c\nd", 1);
	text = render("we\"ird", &p, &t, NULL);
	has_line(text, "groupbridge_last_pass_groups_skipped{config=\"we\\\"ird\",reason=\"a\\\"b\\\\c\\nd\"} 1");
	free(text);
}

Test(metrics, unknown_scope_is_left_out_and_empty_reasons_write_no_family)
{
	gb_metrics_pass p;
	gb_metrics_totals t;
	char *text;

	memset(&p, 0, sizeof(p));
	memset(&t, 0, sizeof(t));
	text = render("c", &p, &t, NULL);
	cr_assert_null(strstr(text, "groupbridge_groups_in_scope"));
	cr_assert_null(strstr(text, "groupbridge_last_pass_groups_skipped"));
	free(text);
}

Test(metrics, verify_drift_is_rendered_when_present)
{
	gb_metrics_pass p = a_pass();
	gb_metrics_totals t;
	gb_metrics_verify v = {true, 10, 2, 3, 1, 0, 1764000000000};
	char *text;

	memset(&t, 0, sizeof(t));
	text = render("c", &p, &t, &v);
	has_line(text, "groupbridge_verify_groups_checked{config=\"c\"} 10");
	has_line(text, "groupbridge_verify_groups_drifted{config=\"c\"} 2");
	has_line(text, "groupbridge_verify_members_missing{config=\"c\"} 3");
	has_line(text, "groupbridge_verify_members_extra{config=\"c\"} 1");
	has_line(text, "groupbridge_verify_timestamp_seconds{config=\"c\"} 1764000000.000");
	free(text);
}

Test(metrics, totals_grow_and_remember_what_a_pass_does_not_tell)
{
	gb_metrics_pass p = a_pass();
	gb_metrics_totals t;

	memset(&t, 0, sizeof(t));
	gb_metrics_totals_add(&t, &p);
	cr_assert_eq(t.last_success_ms, 0, "a partial pass is not a success");
	p.outcome = GB_METRICS_SUCCESS;
	gb_metrics_totals_add(&t, &p);
	cr_assert_eq(t.last_success_ms, p.end_ms);
	p.outcome = GB_METRICS_FAILURE;
	p.scope_known = false;
	p.groups_in_scope = 0;
	p.members_counted = false;
	p.end_ms += 1000;
	gb_metrics_totals_add(&t, &p);
	cr_assert_eq(t.last_success_ms, p.end_ms - 1000, "a failure leaves the last success alone");
	cr_assert_eq(t.groups_in_scope, 7, "an incremental pass keeps the scope of the last full read");
	cr_assert_eq(t.members_added, 24, "members of a pass whose count is unknown are not added");
	cr_assert_eq(t.passes[GB_METRICS_PARTIAL], 1);
	cr_assert_eq(t.passes[GB_METRICS_SUCCESS], 1);
	cr_assert_eq(t.passes[GB_METRICS_FAILURE], 1);
	cr_assert_eq(t.graph_requests, 120);
}

Test(metrics, totals_survive_in_the_state_database)
{
	gb_store *st;
	gb_error err;
	gb_metrics_pass p = a_pass();
	gb_metrics_totals t, back;

	cr_assert_eq(gb_store_open(path, "test", &st, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_metrics_totals_load(st, &t, &err), 0, "absent totals are zeros: %s", err.msg);
	cr_assert_eq(t.passes[GB_METRICS_SUCCESS] + t.members_added + t.last_success_ms, 0);
	p.outcome = GB_METRICS_SUCCESS;
	p.delete_threshold_tripped = true;
	gb_metrics_totals_add(&t, &p);
	cr_assert_eq(gb_metrics_totals_save(st, &t, &err), 0, "%s", err.msg);
	gb_store_free(st);
	cr_assert_eq(gb_store_open(path, "test", &st, &err), 0, "%s", err.msg);
	cr_assert_eq(gb_metrics_totals_load(st, &back, &err), 0, "%s", err.msg);
	cr_assert_eq(memcmp(&t, &back, sizeof(t)), 0, "every field comes back");
	cr_assert_eq(gb_store_kv_set(st, "metrics.totals", "{\"version\": 99}", &err), 0);
	cr_assert_eq(gb_metrics_totals_load(st, &back, &err), GB_EPARSE);
	cr_assert(strstr(err.msg, "metrics.totals"), "%s", err.msg);
	gb_store_free(st);
}

Test(metrics, written_atomically_for_node_exporter)
{
	gb_metrics_pass p = a_pass();
	gb_metrics_totals t;
	gb_error err;
	char file[192], bad[192];
	struct stat sb;

	memset(&t, 0, sizeof(t));
	snprintf(file, sizeof(file), "%s/gb.prom", dir);
	umask(077);
	cr_assert_eq(gb_metrics_write(file, "c", &p, &t, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(stat(file, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0644, "node_exporter's user must be able to read it");
	snprintf(bad, sizeof(bad), "%s/missing/gb.prom", dir);
	cr_assert_eq(gb_metrics_write(bad, "c", &p, &t, NULL, &err), GB_EIO);
	cr_assert(strstr(err.msg, bad), "the message names the file: %s", err.msg);
	umask(022);
}

Test(metrics, config_label_is_the_file_name_without_ini)
{
	char l[64];

	gb_metrics_config_label("/etc/groupbridge/contoso.ini", l, sizeof(l));
	cr_assert_str_eq(l, "contoso");
	gb_metrics_config_label("fabrikam.conf", l, sizeof(l));
	cr_assert_str_eq(l, "fabrikam.conf");
	gb_metrics_config_label(".ini", l, sizeof(l));
	cr_assert_str_eq(l, ".ini");
}

Test(metrics, parses_the_runs_table_times)
{
	int64_t ms;

	cr_assert_eq(gb_metrics_parse_time("2026-11-24T08:31:54.123Z", &ms), 0);
	cr_assert_eq(ms, 1795509114123LL);
	cr_assert_eq(gb_metrics_parse_time("1970-01-01T00:00:01Z", &ms), 0);
	cr_assert_eq(ms, 1000);
	cr_assert_eq(gb_metrics_parse_time("1970-01-01T00:00:01.5Z", &ms), 0);
	cr_assert_eq(ms, 1500);
	cr_assert_eq(gb_metrics_parse_time("2026-11-24 08:31:54", &ms), GB_EPARSE);
	cr_assert_eq(gb_metrics_parse_time("2026-13-24T08:31:54Z", &ms), GB_EPARSE);
	cr_assert_eq(gb_metrics_parse_time("2026-11-24T08:31:54.Z", &ms), GB_EPARSE);
	cr_assert_eq(gb_metrics_parse_time(NULL, &ms), GB_EPARSE);
}

/* The state database of the test, opened. */
static gb_store *open_store(void)
{
	gb_store *st;
	gb_error err;

	cr_assert_eq(gb_store_open(path, "test", &st, &err), 0, "%s", err.msg);
	return st;
}

/* What the health reader finds in st now. */
static gb_metrics_health health(gb_store *st)
{
	gb_metrics_health h;
	gb_error err;

	cr_assert_eq(gb_metrics_health_read(st, &h, &err), 0, "%s", err.msg);
	return h;
}

static void add_run(gb_store *st, const char *id, const char *command, const char *started, const char *ended,
		    int exit_code)
{
	char sql[512];
	gb_error err;

	if (ended)
		snprintf(sql, sizeof(sql),
			 "INSERT INTO runs(id, command, started, ended, exit_code, summary) VALUES ('%s', '%s', '%s', '%s', "
			 "%d, 'sum %s')",
			 id, command, started, ended, exit_code, id);
	else
		snprintf(sql, sizeof(sql), "INSERT INTO runs(id, command, started) VALUES ('%s', '%s', '%s')", id, command,
			 started);
	cr_assert_eq(gb_store_exec(st, sql, &err), 0, "%s", err.msg);
}

Test(metrics, health_reads_provisioning_passes_only)
{
	gb_store *st = open_store();
	gb_metrics_health h = health(st);

	cr_assert(!h.last.present && !h.last_success.present && !h.unfinished.present);
	add_run(st, "r1", "provision", "2026-11-24T08:00:00.000Z", "2026-11-24T08:00:05.000Z", 0);
	add_run(st, "r2", "provision --allow-deletes", "2026-11-24T09:00:00.000Z", "2026-11-24T09:00:02.500Z", 1);
	add_run(st, "r3", "provision on-demand", "2026-11-24T10:00:00.000Z", "2026-11-24T10:00:01.000Z", 0);
	add_run(st, "r4", "migrate run", "2026-11-24T10:30:00.000Z", "2026-11-24T10:31:00.000Z", 0);
	h = health(st);
	cr_assert_str_eq(h.last.id, "r2");
	cr_assert_eq(h.last.exit_code, 1);
	cr_assert_eq(h.last.ended_ms - h.last.started_ms, 2500);
	cr_assert_str_eq(h.last.summary, "sum r2");
	cr_assert_str_eq(h.last_success.id, "r1", "on-demand and migration runs are not passes");
	cr_assert(!h.unfinished.present);
	add_run(st, "r5", "provision", "2026-11-24T11:00:00.000Z", NULL, 0);
	h = health(st);
	cr_assert_str_eq(h.unfinished.id, "r5");
	cr_assert_eq(h.unfinished.exit_code, -1);
	cr_assert_str_eq(h.last.id, "r2");
	gb_store_free(st);
}

Test(metrics, verify_drift_is_summed_from_migration_verify)
{
	gb_store *st = open_store();
	gb_error err;
	gb_metrics_verify v;

	cr_assert_eq(gb_metrics_verify_read(st, &v, &err), 0, "%s", err.msg);
	cr_assert(!v.present);
	cr_assert_eq(gb_store_exec(st,
				   "INSERT INTO migration_verify(object_id, dn, expected, actual, missing, extra, other_changes, "
				   "checked) VALUES ('a', 'CN=a', 3, 3, 0, 0, 0, '2026-11-24T08:00:00.000Z'), "
				   "('b', 'CN=b', 5, 4, 2, 1, 0, '2026-11-24T09:00:00.000Z'), "
				   "('c', 'CN=c', 1, 1, 0, 0, 1, '2026-11-24T07:00:00.000Z')",
				   &err),
		     0, "%s", err.msg);
	cr_assert_eq(gb_metrics_verify_read(st, &v, &err), 0, "%s", err.msg);
	cr_assert(v.present);
	cr_assert_eq(v.groups_checked, 3);
	cr_assert_eq(v.groups_drifted, 2);
	cr_assert_eq(v.members_missing, 2);
	cr_assert_eq(v.members_extra, 1);
	cr_assert_eq(v.other_changes, 1);
	cr_assert_eq(v.checked_ms, 1795510800000LL, "the newest check");
	gb_store_free(st);
}

Test(metrics, watch_waits_double_after_failures_up_to_the_cap)
{
	cr_assert_eq(gb_cli_watch_delay(900, 0, 3600), 900, "no failure: the interval");
	cr_assert_eq(gb_cli_watch_delay(900, 1, 3600), 1800);
	cr_assert_eq(gb_cli_watch_delay(900, 2, 3600), 3600);
	cr_assert_eq(gb_cli_watch_delay(900, 50, 3600), 3600, "capped, never overflowing");
	cr_assert_eq(gb_cli_watch_delay(1, 1, 4), 2);
	cr_assert_eq(gb_cli_watch_delay(1, 2, 4), 4);
	cr_assert_eq(gb_cli_watch_delay(1, 3, 4), 4);
	cr_assert_eq(gb_cli_watch_delay(7200, 3, 3600), 7200, "a cap below the interval is the interval");
	cr_assert_eq(gb_cli_watch_delay(3, 2, 10), 10, "12 is past the cap");
}

Test(metrics, metrics_file_is_a_provisioning_key)
{
	gb_config *c = NULL;
	gb_error err;

	cr_assert_eq(gb_config_parse("t.ini",
				     "[provisioning]\ntarget_container = OU=G,DC=x\n"
				     "metrics_file = /var/lib/prometheus/node-exporter/groupbridge-x.prom\n",
				     &c, &err),
		     0, "%s", err.msg);
	cr_assert_str_eq(c->provisioning.metrics_file, "/var/lib/prometheus/node-exporter/groupbridge-x.prom");
	gb_config_free(c);
}

static void write_secret(const char *name, const char *text, mode_t mode)
{
	char p[192];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	cr_assert_eq(chmod(p, mode), 0);
}

Test(metrics, credential_names_a_file_in_the_credentials_directory)
{
	char *s = NULL, p[256];
	gb_error err;

	write_secret("graph.secret", "s3cret-value\n", 0400); /* as systemd's LoadCredential= leaves it */
	unsetenv("CREDENTIALS_DIRECTORY");
	cr_assert_eq(gb_secret_read_file("credential:graph.secret", &s, &err), GB_ECONFIG);
	cr_assert(strstr(err.msg, "$CREDENTIALS_DIRECTORY is not set"), "%s", err.msg);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	cr_assert_eq(gb_secret_read_file("credential:graph.secret", &s, &err), 0, "%s", err.msg);
	cr_assert_str_eq(s, "s3cret-value");
	gb_secret_free(s);
	cr_assert_eq(gb_credential_path("credential:graph.secret", p, sizeof(p), &err), 0);
	cr_assert(strstr(p, "/graph.secret") && strncmp(p, dir, strlen(dir)) == 0, "%s", p);
	cr_assert_eq(gb_secret_read_file("credential:../graph.secret", &s, &err), GB_ECONFIG, "no path in a name");
	cr_assert(strstr(err.msg, "plain file name"), "%s", err.msg);
	cr_assert_eq(gb_secret_read_file("credential:", &s, &err), GB_ECONFIG);
	cr_assert_eq(gb_secret_read_file("credential:..", &s, &err), GB_ECONFIG);
	cr_assert_eq(gb_secret_read_file("credential:absent", &s, &err), GB_ECONFIG);
	cr_assert(strstr(err.msg, "absent"), "%s", err.msg);
	write_secret("open.secret", "x-value", 0644);
	cr_assert_eq(gb_secret_read_file("credential:open.secret", &s, &err), GB_ECONFIG, "the mode check still holds");
	cr_assert_null(s);
}
