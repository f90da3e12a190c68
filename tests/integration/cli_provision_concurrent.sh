#!/bin/sh
# Provisioning reads the tenant concurrently (issue 14): the selected groups and every kept group's members go out
# in $batch requests, several in flight. A 429 on one part of a $batch, or on one of several requests in flight,
# leaves a pass that finishes (or, throttled past [graph] max_throttle_wait, stops cleanly naming the request) and a
# rerun that converges; a budget-limited fake is never asked for more than one window's worth beyond its budget.
# scope = selected and scope = all both read this way.
. "$(dirname "$0")/lib_ad.sh"
stat() { fake_control GET /stats | python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
OU="OU=gbconc-$$,$GB_TEST_DC1_BASE_DN"
ad_numbered_users DC1 "$OU" cu 8
# 45 groups of 8 members, 3 to a member page: 45 group reads and 135 member pages, more than two $batch requests
tenant_of_groups "$T/tenant.json" "$T/guids" 00000c00 "Conc %d" 45 3
provision_start DC1 "$OU"
short_ini
reset() { # an empty OU, a new state database, no faults, fresh statistics
	reset_ad
	fake_control DELETE /faults >/dev/null
	fake_control POST /stats/reset >/dev/null
}
converges() { # NAME: a rerun without faults reaches the expected state
	fake_control DELETE /faults >/dev/null
	expect_converged "$1" 45 360
}
finishes() { # NAME RULES
	reset
	fake_faults "$2"
	run $GB provision
	expect_rc "$1: the run finishes (exit 0)" 0
	n=$(fired)
	expect "$1: the fault fired ($n times)" test "$n" -ge 1
	expect "$1: 45 groups, 360 members" test "$(groups_in_ad)" = 45 -a "$(members_in_ad)" = 360
	converges "$1"
}
stops() { # NAME RULES TEXT PATH_RE: stops cleanly past max_throttle_wait, then converges
	reset
	fake_faults "$2"
	run $GB_BIN --config "$T/short.ini" --state "$GB_DB" provision
	expect_rc "$1: the run stops cleanly (exit 1)" 1
	expect_err "$1: the message says why" "$3"
	expect "$1: the message names the request" grep -q "$4" "$T/.err"
	expect_not "$1: no crash" "Segmentation"
	expect "$1: nothing written" test "$(groups_in_ad)" = 0
	converges "$1"
}

# a plain first pass reads concurrently: the first $batch requests are held 1.5 s each at the fake, so that a client
# that sends the next one without waiting has two in flight there, and one that waits never does
hold='{"method": "POST", "path_regex": "\\$batch", "delay_ms": 1500, "count": 3}'
reset
fake_faults "$hold"
run $GB provision
expect_rc "first pass exits 0" 0
peak=$(stat peak_in_flight)
expect "several requests were in flight at once (peak $peak)" test "$peak" -ge 2
graph_paths >"$T/paths"
expect "the reads went out as \$batch requests" grep -q '\$batch' "$T/paths"
expect "45 groups, 360 members" test "$(groups_in_ad)" = 45 -a "$(members_in_ad)" = 360
converges "plain"

finishes "429 on one \$batch part (members)" \
	'{"path_regex": "/members", "status": 429, "retry_after": "1", "count": 1, "skip": 5, "where": "batch_part"}'
finishes "429 on one \$batch part (group read)" \
	'{"path_regex": "/groups/[0-9a-f-]+\\?", "status": 429, "retry_after": "1", "count": 1, "skip": 3, "where": "batch_part"}'
finishes "429 on one of several requests in flight" \
	'{"method": "POST", "path_regex": "\\$batch", "status": 429, "retry_after": "1", "count": 1, "skip": 1, "where": "request"}'
stops "429 storm on one group's members past max_throttle_wait" \
	'{"path_regex": "/groups/00000c00-0000-4000-8000-000000000007/members", "status": 429, "retry_after": "1", "count": -1}' \
	"max_throttle_wait" 'GET .*00000c00-0000-4000-8000-000000000007/members'

# a budget of 40 units per 2 s window: the pass finishes, and no window is asked for more than twice its budget
reset
fake_control POST /config '{"ru_budget": 40, "ru_window_seconds": 2}' >/dev/null
run $GB provision
expect_rc "budget-limited: the pass finishes" 0
fake_control GET /stats >"$T/stats.json"
expect "budget-limited: the budget was reached (429s: $(stat throttled_429))" test "$(stat throttled_429)" -ge 1
over=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))
print(max(w["units"] + w["throttled"] - s["ru_budget"] for w in s["windows"]))' "$T/stats.json")
expect "budget-limited: no window asked for more than one window's worth over the budget (worst: $over over)" \
	test "$over" -le 40
converges "budget-limited"
fake_control POST /config '{"ru_budget": null}' >/dev/null

# scope = all reads the members of every matching group the same way (44 of the 45 groups: several $batch requests)
reset
gb_config "$T/all.ini" DC1 "$OU" "scope = all" 'filter = displayName REGEX MATCH "^Conc ([1-9]|[1-3][0-9]|4[0-4])$"'
fake_faults "$hold"
run "$GB_BIN" --config "$T/all.ini" --state "$GB_DB" provision
expect_rc "scope = all: exits 0" 0
# Conc 1 to 44: 44 groups of 8 members
expect "scope = all: the 44 matching groups with their members" test "$(groups_in_ad)" = 44 -a "$(members_in_ad)" = 352
expect "scope = all: several requests in flight (peak $(stat peak_in_flight))" test "$(stat peak_in_flight)" -ge 2
reset
fake_faults '{"path_regex": "/members", "status": 429, "retry_after": "1", "count": 1, "skip": 2, "where": "batch_part"}'
run "$GB_BIN" --config "$T/all.ini" --state "$GB_DB" provision
expect_rc "scope = all with a 429 on one part: exits 0" 0
expect "scope = all: the fault fired" test "$(fired)" -ge 1
expect "scope = all after the 429: the 44 groups with their members" test "$(groups_in_ad)" = 44 -a "$(members_in_ad)" = 352
finish
