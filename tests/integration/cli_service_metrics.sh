#!/bin/sh
# Metrics and health of provisioning passes (issue 15): the Prometheus file a pass writes, parsed with Debian's
# python3-prometheus-client and checked against that pass (AD, the Graph fake's log and fault counters, the runs
# table); `status` and --max-age; the back-off of a failing --watch (read from its log, no timing), its reset after a
# pass that works, and the delete threshold ending a watch.
. "$(dirname "$0")/lib.sh"
: "${GB_TEST_DC1_LDAPS_URI:?run under tests/testbed/with-testbed.sh}"
. "$(dirname "$0")/lib_ad.sh"
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3 # Debian's, which has python3-prometheus-client
OU="OU=gbmetrics-$$,$GB_TEST_DC1_BASE_DN"
G1=5e7a1c01-2222-4222-8222-5e7a1c000001
G2=5e7a1c02-2222-4222-8222-5e7a1c000002
# Graph's object ids are GUIDs (groupbridge refuses others): the users are ua, ub and ucloud
UA=0000eeee-0000-4000-8000-000000000061
UB=0000eeee-0000-4000-8000-000000000062
UCLOUD=0000eeee-0000-4000-8000-00636c6f7564
ad_ou_users DC1 "$OU" ma mb
cat >"$T/tenant.json" <<JSON
{"tenant_id": "5e7a1c0f-2222-4333-8444-555555555555",
 "clients": [{"client_id": "5e7a1c0e-2222-4333-8444-555555555555", "secret": "metrics-secret"}],
 "users": [{"id": "$UA", "onPremisesObjectIdentifier": "$ma"}, {"id": "$UB", "onPremisesObjectIdentifier": "$mb"},
           {"id": "$UCLOUD"}],
 "groups": [{"id": "$G1", "displayName": "Metrics One", "securityEnabled": true, "mailEnabled": false,
             "groupTypes": [], "members": ["$UA", "$UB", "$UCLOUD"]},
            {"id": "$G2", "displayName": "Metrics Mail", "securityEnabled": true, "mailEnabled": true,
             "groupTypes": [], "members": ["$UA"]}]}
JSON
fake_start "$T/tenant.json"
gb_config "$T/gb.ini" DC1 "$OU" "groups = $G1, $G2" "delete_threshold = 0" "metrics_file = $T/prom/gb.prom"
mkdir "$T/prom"
GB="$GB_BIN --config $T/gb.ini --state $T/gb.db"

values() { # parses the metrics file with the real parser into $T/values
	"$PY" "$here/prom_values.py" "$T/prom/gb.prom" gb >"$T/values" 2>"$T/values.err"
}
val() { awk -v k="$1" '$1 == k {print $2}' "$T/values"; }
is() { # NAME SAMPLE EXPECTED
	v=$(val "$2")
	if [ "$v" = "$3" ]; then _ok "$1"; else _no "$1" "$2 is '$v', expected '$3'"; fi
}
fake_log_count() { fake_control GET /log | "$PY" -c 'import json, sys; print(len(json.load(sys.stdin)["value"]))'; }
fired() { fake_control GET /faults | "$PY" -c 'import json, sys; print(sum(r.get("fired", 0) for r in json.load(sys.stdin)["rules"]))'; }
members() {
	ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$OU" "(cn=Metrics One_5e7a1c000001)" member 2>/dev/null |
		grep -c '^member:'
}
db() { sqlite3 "$T/gb.db" "$1"; }

# ---- a first pass, with one 429 on the way ----
fake_control POST /log/clear >/dev/null
fake_control POST /faults '{"rules": [{"method": "GET", "path_regex": "/groups", "status": 429, "retry_after": "1", "count": 1}]}' >/dev/null
run $GB provision
expect_rc "the first pass succeeds" 0
expect "the metrics file is written" test -f "$T/prom/gb.prom"
expect "the metrics file parses with python3-prometheus-client (HELP, TYPE, _total, config label)" values
[ -s "$T/values.err" ] && cat "$T/values.err"
expect "it is readable by node_exporter (0644)" test "$(stat -c %a "$T/prom/gb.prom")" = 644
expect "no temporary file is left beside it" test "$(ls "$T/prom")" = gb.prom
version=$($GB_BIN version | sed -n 's/^groupbridge //p')
is "build_info carries the version" "groupbridge_build_info{version=$version}" 1
is "one successful pass" "groupbridge_passes_total{outcome=success}" 1
is "no failed pass" "groupbridge_passes_total{outcome=failure}" 0
is "last pass outcome is success" "groupbridge_last_pass_outcome{outcome=success}" 1
is "last pass exit code 0" "groupbridge_last_pass_exit_code{}" 0
is "a full read" "groupbridge_last_pass_incremental{}" 0
is "two groups in scope" "groupbridge_groups_in_scope{}" 2
is "two groups read" "groupbridge_last_pass_groups_read{}" 2
is "one group provisioned" "groupbridge_last_pass_groups{outcome=provisioned}" 1
is "no group failed" "groupbridge_last_pass_groups{outcome=failed}" 0
is "the mail-enabled group is skipped with its reason" "groupbridge_last_pass_groups_skipped{reason=mail-enabled}" 1
is "the cloud-only member is skipped with its reason" "groupbridge_last_pass_members_skipped{reason=cloud-only-user}" 1
expect "AD holds the two members" test "$(members)" = 2
is "members added = the members AD holds" "groupbridge_members_added_total{}" "$(members)"
is "no member removed" "groupbridge_members_removed_total{}" 0
is "the group went to AD as one add" "groupbridge_ldap_writes_total{kind=add}" 1
is "and no modify" "groupbridge_ldap_writes_total{kind=modify}" 0
is "no delete" "groupbridge_ldap_writes_total{kind=delete}" 0
is "Graph requests = the requests the fake served" "groupbridge_graph_requests_total{}" "$(fake_log_count)"
is "the 429 the fake sent is counted" "groupbridge_graph_throttled_responses_total{}" "$(fired)"
is "operations applied: the create and its members" "groupbridge_operations_total{result=applied}" 2
is "no threshold trip" "groupbridge_delete_threshold_trips_total{}" 0
start=$(val "groupbridge_last_pass_start_timestamp_seconds{}")
end=$(val "groupbridge_last_pass_end_timestamp_seconds{}")
dur=$(val "groupbridge_last_pass_duration_seconds{}")
expect "duration = end - start" "$PY" -c "import sys; sys.exit(abs(($end - $start) - $dur) > 0.0015)"
is "last success = the end of this pass" "groupbridge_last_success_timestamp_seconds{}" "$end"
runs_started=$(db "SELECT strftime('%s', started) FROM runs ORDER BY started DESC LIMIT 1")
expect "the pass's start is the runs table's (same second, give or take one)" \
	"$PY" -c "import sys; sys.exit(abs($start - $runs_started) > 1.5)"

# ---- a second pass: one member removed in the cloud; counters grow, the scope is remembered ----
fake_control DELETE /faults >/dev/null
fake_mutate "{\"changes\": [{\"op\": \"remove_members\", \"group\": \"$G1\", \"members\": [\"$UB\"]}]}"
fake_control POST /log/clear >/dev/null
graph_before=$(val "groupbridge_graph_requests_total{}")
run $GB provision
expect_rc "the second pass succeeds" 0
values
is "two successful passes" "groupbridge_passes_total{outcome=success}" 2
is "an incremental read" "groupbridge_last_pass_incremental{}" 1
expect "AD holds one member" test "$(members)" = 1
is "one member removed" "groupbridge_members_removed_total{}" 1
is "members added unchanged" "groupbridge_members_added_total{}" 2
is "one modify" "groupbridge_ldap_writes_total{kind=modify}" 1
is "Graph requests grew by what the fake served" "groupbridge_graph_requests_total{}" "$((graph_before + $(fake_log_count)))"
is "the scope of the last full read is kept" "groupbridge_groups_in_scope{}" 2
end2=$(val "groupbridge_last_pass_end_timestamp_seconds{}")

# ---- status ----
run $GB status
expect_rc "status exits 0" 0
expect_out "status names the last pass's outcome" "last pass: success (exit 0)"
expect_out "status gives the last success" "last success: "
run $GB status --max-age 1d --json
expect_rc "status --max-age 1d: healthy" 0
expect "status --json says healthy, with the last pass's run id" "$PY" -c "
import json, sys
d = json.load(open('$T/.out'))
sys.exit(not (d['healthy'] and d['last_pass']['exit_code'] == 0 and d['max_age_seconds'] == 86400
              and d['last_pass']['run_id'] == '$(db "SELECT id FROM runs ORDER BY started DESC LIMIT 1")'))"
run $GB status --max-age 1x
expect_rc "a bad duration is a usage error" 2
run $GB provision --max-backoff 60
expect_rc "--max-backoff without --watch is a usage error" 2
run $GB provision --watch 0
expect_rc "--watch 0 is a usage error" 2

# ---- a failing pass ----
fake_control POST /faults '{"rules": [{"method": "GET", "path_regex": "/groups", "status": 400, "count": -1}]}' >/dev/null
run $GB provision --full
expect_rc "a pass that Graph refuses fails" 1
values
is "one failed pass" "groupbridge_passes_total{outcome=failure}" 1
is "last pass outcome is failure" "groupbridge_last_pass_outcome{outcome=failure}" 1
is "last pass exit code 1" "groupbridge_last_pass_exit_code{}" 1
is "last success stays at the second pass" "groupbridge_last_success_timestamp_seconds{}" "$end2"
run $GB status
expect_out "status shows the failure and its message" "last pass: failure (exit 1)"
# make the successes old: --max-age then fails, without waiting for time to pass
db "UPDATE runs SET ended = '2020-01-01T00:00:00.000Z', started = '2020-01-01T00:00:00.000Z' WHERE exit_code = 0"
run $GB status --max-age 1d
expect_rc "status --max-age 1d: stale when the last success is older" 1
expect_out "it says STALE" "health: STALE"

# ---- back-off of a failing watch, and its reset ----
$GB provision --watch 1 --max-backoff 4 >"$T/watch.out" 2>"$T/watch.err" &
pid=$!
wait_log() { # PATTERN: wait (at most 60 s) until the watch's log has a line matching PATTERN
	i=0
	while ! grep -q "$1" "$T/watch.err" && [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -q "$1" "$T/watch.err"
}
expect "the watch backs off after three failed passes" wait_log "pass failed (3 in a row)"
fake_control DELETE /faults >/dev/null
expect "a pass that works resets the wait to the interval" wait_log "next pass in 1 s (SIGTERM"
kill -TERM $pid
wait $pid
rc=$?
expect "SIGTERM still stops the watch with exit 0" test "$rc" = 0
grep -E "pass failed|next pass in" "$T/watch.err" | sed -n 's/.*\(pass failed ([0-9]* in a row); next pass in [0-9]* s\).*/\1/p' >"$T/waits"
expect "the waits double up to --max-backoff: 2, 4, 4" test "$(head -n 3 "$T/waits" | sed 's/.*next pass in //' | tr '\n' ' ')" = "2 s 4 s 4 s "
expect "passes are counted, none hidden: the failures are in the runs table" \
	test "$(db "SELECT count(*) FROM runs WHERE exit_code = 1")" -ge 4
values
expect "the metrics count the watch's failed passes too" test "$(val "groupbridge_passes_total{outcome=failure}")" -ge 4

# ---- the delete threshold ends a watch, and is counted ----
fake_mutate "{\"changes\": [{\"op\": \"hard_delete_group\", \"id\": \"$G1\"}]}"
run $GB provision --watch 1
expect_rc "a watch stops at delete_threshold with exit 4" 4
values
is "the trip is counted" "groupbridge_delete_threshold_trips_total{}" 1
is "the pass's outcome is gate" "groupbridge_last_pass_outcome{outcome=gate}" 1
is "exit code 4" "groupbridge_last_pass_exit_code{}" 4
finish
