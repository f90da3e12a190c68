#!/bin/sh
# Graph faults end to end, through `groupbridge provision` (the client's own tests are in test_graph.c): 429 storms
# with and without Retry-After, 503 and 504, connection resets, malformed and truncated JSON on the members read, and
# a storm longer than [graph] max_throttle_wait. Each run either finishes correctly or stops cleanly (exit 1, a
# message naming the request), and a rerun without the fault converges: every group once, every member, nothing
# left to do, and an intact audit log. Each scenario starts from an empty OU and a new state database.
. "$(dirname "$0")/lib_ad.sh"
OU="OU=gbgfault-$$,$GB_TEST_DC1_BASE_DN"
ad_numbered_users DC1 "$OU" gu 8
tenant_of_groups "$T/tenant.json" "$T/guids" 00000d00 "Fault %d" 6 3
provision_start DC1 "$OU"
short_ini
reset() { # an empty OU, a new state database, no faults
	reset_ad
	fake_control DELETE /faults >/dev/null
}

converges() { # NAME: a rerun without faults reaches the expected state
	fake_control DELETE /faults >/dev/null
	expect_converged "$1" 6 48
}

# scenario NAME RULES: the run with the fault finishes correctly (exit 0, complete AD state)
finishes() {
	reset
	fake_faults "$2"
	s=$(date +%s)
	run $GB provision
	expect_rc "$1: the run finishes (exit 0)" 0
	n=$(fired)
	expect "$1: the fault fired ($n times)" test "$n" -ge 1
	echo "     $1: $(($(date +%s) - s)) s, $n faults"
	expect "$1: six groups, 48 members" test "$(groups_in_ad)" = 6 -a "$(members_in_ad)" = 48
	converges "$1"
}

# stops NAME RULES TEXT [CONFIG]: the run stops cleanly (exit 1, TEXT and the request in the message), then converges
stops() {
	reset
	fake_faults "$2"
	run $GB_BIN --config "${4:-$T/gb.ini}" --state "$T/gb.db" provision
	expect_rc "$1: the run stops cleanly (exit 1)" 1
	expect_err "$1: the message says why" "$3"
	expect "$1: the message names the request" grep -q -e 'GET .*members' -e 'POST .*\$batch' "$T/.err"
	expect_not "$1: no crash" "Segmentation"
	expect "$1: no duplicate group" one_group_per_anchor
	run $GB audit verify
	expect_rc "$1: audit verify passes after the stop" 0
	converges "$1"
}

# The members are read concurrently, in $batch requests (issue 14): status faults hit their parts (each answered on
# its own); faults of the transport (a reset, a body malformed or cut short) hit the $batch request that carries them
# (the first $batch reads the groups, the second the members' first pages).
finishes "429 with Retry-After" '{"path_regex": "/members", "status": 429, "retry_after": "1", "count": 3}'
finishes "429 without Retry-After" '{"path_regex": "/members", "status": 429, "count": 2}'
finishes "503 and 504" '{"path_regex": "/members", "status": 503, "retry_after": "1", "count": 1}, {"path_regex": "/members", "status": 504, "count": 1, "skip": 2}'
finishes "connection reset" '{"method": "POST", "path_regex": "\\$batch", "where": "request", "reset_connection": true, "count": 2, "skip": 1}'
stops "malformed JSON" '{"method": "POST", "path_regex": "\\$batch", "where": "request", "body": "malformed", "count": 1, "skip": 1}' "malformed JSON in the response"
# a body cut short of its Content-Length is a network failure: retried, and the run finishes
finishes "truncated JSON once" '{"method": "POST", "path_regex": "\\$batch", "where": "request", "body": "truncated", "count": 1, "skip": 1}'
# cut short every time: the retries run out and the run stops
stops "truncated JSON always" '{"method": "POST", "path_regex": "\\$batch", "where": "request", "body": "truncated", "count": -1, "skip": 1}' "transfer closed"
# resets that outlast the waiting budget: the network failure is what is reported, not "still throttled"
reset
fake_faults '{"method": "POST", "path_regex": "\\$batch", "where": "request", "reset_connection": true, "count": -1, "skip": 1}'
run $GB_BIN --config "$T/short.ini" --state "$T/gb.db" provision
expect_rc "resets beyond max_throttle_wait: the run stops cleanly (exit 1)" 1
expect "resets beyond max_throttle_wait: the message names the request" grep -q -e 'GET .*members' -e 'POST .*\$batch' "$T/.err"
expect_not "resets beyond max_throttle_wait: not reported as throttling" "still throttled"
converges "resets beyond max_throttle_wait"
stops "429 storm beyond max_throttle_wait" '{"path_regex": "/members", "status": 429, "retry_after": "1", "count": -1}' \
	"max_throttle_wait" "$T/short.ini"
finish
