/* status.c: `groupbridge status`: the last provisioning pass, its outcome and its age, for a person, a monitoring
 * check or a systemd ExecCondition. Reads the state database only (no configuration, no network). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "groupbridge/metrics.h"
#include "groupbridge/store.h"
#include "groupbridge/util.h"

static void help(void)
{
	puts("usage: groupbridge [--config FILE] [--state FILE] status [--json] [--max-age DURATION]\n"
	     "\n"
	     "Prints the last provisioning pass (provision, or a pass of provision --watch) from the state database:\n"
	     "its outcome, when it ended and how long ago, how long it took and what it did; the last successful\n"
	     "pass; and a pass that has started but not ended (running now, or killed). Reads nothing but the state\n"
	     "database, so it works while the service runs and without the secrets.\n"
	     "\n"
	     "Options:\n"
	     "  --json              print the same as JSON (schema_version 1) for scripts\n"
	     "  --max-age DURATION  exit 1 unless a pass succeeded within DURATION: seconds, or a number with s, m, h\n"
	     "                      or d, such as 90, 45m, 2h or 1d12h (for a monitoring check or ExecCondition=)\n"
	     "\n"
	     "A pass succeeds when it applied everything it planned (exit 0); a partial pass (exit 3), a failure and\n"
	     "a stop at delete_threshold do not count as a success.\n"
	     "\n"
	     "Exit codes: 0 the state was read (and, with --max-age, the last success is recent enough); 1 the last\n"
	     "success is older than --max-age, there is none, or the state database cannot be read; 2 usage error.\n"
	     "\n"
	     "Example:\n"
	     "  groupbridge --config /etc/groupbridge/contoso.ini --state /var/lib/groupbridge/contoso.state.db \\\n"
	     "      status --max-age 1h");
}

/* "90", "90s", "45m", "2h", "1d12h": seconds into *out. GB_EINVAL for anything else, or beyond a year. A bare
 * number is seconds only on its own: "5m3" is refused (3 seconds or 3 minutes? say which). */
static int parse_duration(const char *s, long *out)
{
	long total = 0;
	bool after_unit = false;

	*out = 0;
	if (!s || !*s)
		return GB_EINVAL;
	while (*s) {
		long n = 0, unit;
		int digits = 0;

		for (; *s >= '0' && *s <= '9' && digits < 9; s++, digits++)
			n = n * 10 + (*s - '0');
		if (!digits)
			return GB_EINVAL;
		switch (*s) {
		case '\0':
			if (after_unit)
				return GB_EINVAL;
			unit = 1;
			break;
		case 's': unit = 1; s++; break;
		case 'm': unit = 60; s++; break;
		case 'h': unit = 3600; s++; break;
		case 'd': unit = 86400; s++; break;
		default: return GB_EINVAL;
		}
		after_unit = true;
		total += n * unit;
		if (total > 366L * 86400)
			return GB_EINVAL;
	}
	if (total <= 0)
		return GB_EINVAL;
	*out = total;
	return 0;
}

/* "45 s", "12 min", "3 h 2 min", "2 d 4 h". */
static void human_age(int64_t ms, char *dst, size_t n)
{
	long long s = ms > 0 ? ms / 1000 : 0;

	if (s < 60)
		snprintf(dst, n, "%lld s", s);
	else if (s < 3600)
		snprintf(dst, n, "%lld min", s / 60);
	else if (s < 86400)
		snprintf(dst, n, "%lld h %lld min", s / 3600, s % 3600 / 60);
	else
		snprintf(dst, n, "%lld d %lld h", s / 86400, s % 86400 / 3600);
}

static const char *outcome(int exit_code)
{
	switch (exit_code) {
	case -1: return "unfinished";
	case 0: return "success";
	case 2: return "configuration error";
	case 3: return "partial";
	case 4: return "stopped by delete_threshold";
	default: return "failure";
	}
}

static void iso(int64_t ms, char *dst, size_t n)
{
	gb_time_format((time_t)(ms / 1000), dst, n);
}

static json_t *run_json(const gb_metrics_run *r, int64_t now)
{
	char started[32], ended[32];

	if (!r->present)
		return json_null();
	iso(r->started_ms, started, sizeof(started));
	iso(r->ended_ms, ended, sizeof(ended));
	return json_pack("{s:s, s:s, s:s, s:s?, s:o, s:s, s:s, s:f, s:o}", "run_id", r->id, "command", r->command,
			 "started", started, "ended", r->ended_ms ? ended : NULL,
			 "exit_code", r->ended_ms ? json_integer(r->exit_code) : json_null(), "outcome", outcome(r->exit_code),
			 "summary", r->summary, "age_seconds", (double)(now - (r->ended_ms ? r->ended_ms : r->started_ms)) / 1000.0,
			 "duration_seconds", r->ended_ms ? json_real((double)(r->ended_ms - r->started_ms) / 1000.0) : json_null());
}

static int print_json(const char *state, const gb_metrics_health *h, int64_t now, long max_age, bool healthy)
{
	json_t *root = json_pack("{s:i, s:s, s:o, s:o, s:o, s:o, s:b}", "schema_version", 1, "state", state, "last_pass",
				 run_json(&h->last, now), "last_success", run_json(&h->last_success, now), "unfinished",
				 run_json(&h->unfinished, now), "max_age_seconds",
				 max_age ? json_integer(max_age) : json_null(), "healthy", healthy);
	char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

	json_decref(root);
	if (!text)
		return gb_cli_usage_error("status", "out of memory");
	puts(text);
	free(text);
	return 0;
}

static void print_text(const char *state, const gb_metrics_health *h, int64_t now, long max_age, bool healthy)
{
	char when[32], age[32];

	printf("state: %s\n", state);
	if (!h->last.present) {
		printf("last pass: none recorded\n");
	} else {
		iso(h->last.ended_ms, when, sizeof(when));
		human_age(now - h->last.ended_ms, age, sizeof(age));
		printf("last pass: %s (exit %d), ended %s, %s ago, took %.1f s: %s (run %s)\n", outcome(h->last.exit_code),
		       h->last.exit_code, when, age, (double)(h->last.ended_ms - h->last.started_ms) / 1000.0, h->last.summary,
		       h->last.id);
	}
	if (h->last_success.present) {
		iso(h->last_success.ended_ms, when, sizeof(when));
		human_age(now - h->last_success.ended_ms, age, sizeof(age));
		printf("last success: %s, %s ago\n", when, age);
	} else {
		printf("last success: none recorded\n");
	}
	if (h->unfinished.present) {
		iso(h->unfinished.started_ms, when, sizeof(when));
		human_age(now - h->unfinished.started_ms, age, sizeof(age));
		printf("unfinished: a pass started %s, %s ago, has not ended (running now, or killed) (run %s)\n", when, age,
		       h->unfinished.id);
	}
	if (max_age) {
		human_age((int64_t)max_age * 1000, age, sizeof(age));
		printf("health: %s (a successful pass within %s)\n", healthy ? "ok" : "STALE", age);
	}
}

int gb_cmd_status(gb_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"max-age", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	gb_metrics_health h;
	gb_store *st = NULL;
	gb_error err;
	long max_age = 0;
	int c, json = 0, rc;
	int64_t now;
	bool healthy;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'a':
			if (parse_duration(optarg, &max_age))
				return gb_cli_usage_error("status", "--max-age takes a duration such as 90, 45m, 2h or 1d, not "
								    "\"%s\"", optarg);
			break;
		case 'h': help(); return GB_EXIT_OK;
		default: return gb_cli_usage_error("status", "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return gb_cli_usage_error("status", "unexpected argument \"%s\"", argv[optind]);
	memset(&h, 0, sizeof(h));
	gb_error_clear(&err);
	rc = gb_store_open_readonly(gb_cli_state_path(cli), &st, &err);
	if (rc == GB_ENOTFOUND) /* nothing has run yet: no pass, no success */
		rc = 0;
	else if (!rc)
		rc = gb_metrics_health_read(st, &h, &err);
	gb_store_free(st);
	if (rc) {
		gb_cli_report("status", &err);
		return GB_EXIT_FAIL;
	}
	now = gb_metrics_now_ms();
	healthy = !max_age || (h.last_success.present && now - h.last_success.ended_ms <= (int64_t)max_age * 1000);
	if (json)
		rc = print_json(gb_cli_state_path(cli), &h, now, max_age, healthy);
	else
		print_text(gb_cli_state_path(cli), &h, now, max_age, healthy);
	return rc ? rc : healthy ? GB_EXIT_OK : GB_EXIT_FAIL;
}
