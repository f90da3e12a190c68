#!/bin/sh
# LDAP writes in flight (issue 14): with [directory] writes_in_flight above 1, provisioning keeps several writes to
# different groups in flight, each on a connection of its own, here through a relay that delays every LDAP message
# by 30 ms each way (a DC across a site link). Concurrency changes nothing but the waiting: the pass records the same
# operations, targets and outcomes in the same (plan) order as one at a time, and leaves the same directory; SIGKILL
# while writes are in flight (at five random points; the seed is printed, GB_KILL_SEED=N repeats a run) leaves no
# group twice and an intact audit log, and the rerun converges.
. "$(dirname "$0")/lib_ad.sh"
kill_seed
OU="OU=gbpipe-$$,$GB_TEST_DC1_BASE_DN"
ad_numbered_users DC1 "$OU" pu 12
expect "twelve users created" test "$(wc -l <"$T/guids")" = 12
# 40 groups of 10 to 12 members
tenant_of_groups "$T/tenant.json" "$T/guids" 00000d40 "Pipe %02d" 40 999 3
expected_members=$($GBTEST tenant count-links "$T/tenant.json")

# the relay: the DC itself (not the Windows personality of the second pass) with 30 ms on every message
dc1_proxy relay --delay-ms 30
fake_start "$T/tenant.json"
proxy_config relay "$T/relay.ini" "$OU" "groups_file = $T/tenant.json.groups"
window() { # N: the configuration through the relay with N writes in flight
	awk -v n="$1" '/^\[directory\]/ { print; print "writes_in_flight = " n; next } { print }' "$T/relay.ini" >"$T/w$1.ini"
	GB="$GB_BIN --config $T/w$1.ini --state $GB_DB"
}
audit_rows() { sqlite3 "$GB_DB" "SELECT step, operation, target, result, before FROM audit_log ORDER BY seq"; }
ad_state() { _ad_search "OU=Groups,$OU" member msDS-ExternalDirectoryObjectId sAMAccountName groupType | sort; }

# --- one at a time, then eight at a time, each from an empty OU and a new state database ---
window 1
reset_ad
run $GB provision
expect_rc "one at a time: the pass exits 0" 0
expect_not "one at a time: never two writes in flight" "LDAP writes in flight"
expect "one at a time: 40 groups, $expected_members members" \
	test "$(groups_in_ad)" = 40 -a "$(members_in_ad)" = "$expected_members"
audit_rows >"$T/audit1"
ad_state >"$T/ad1"
total=$(audit_count)

window 8
reset_ad
run $GB provision
expect_rc "eight in flight: the pass exits 0" 0
peak=$(sed -n 's/.*LDAP writes in flight: at most \([0-9]*\) at once.*/\1/p' "$T/.err")
expect "eight in flight: several writes were in flight at once (at most ${peak:-none})" \
	test "${peak:-0}" -ge 2 -a "${peak:-0}" -le 8
audit_rows >"$T/audit8"
ad_state >"$T/ad8"
expect "the same operations, targets, outcomes and before-values, in the same order, in the audit log ($total)" \
	cmp -s "$T/audit1" "$T/audit8"
expect "the same groups, members, anchors, names and types in AD" cmp -s "$T/ad1" "$T/ad8"
run $GB audit verify
expect_rc "eight in flight: audit verify passes" 0
run $GB provision --dry-run --full
expect_out "eight in flight: nothing left to do" "No changes."

# --- SIGKILL while writes are in flight ---
points=$(kill_points "$total" | cut -d' ' -f1-5)
echo "kill after these audit record counts (of $total): $points"
round=0
for at in $points; do
	round=$((round + 1))
	reset_ad
	kill_at_audit "$at" $GB provision
	echo "     round $round: killed at $(audit_count) audit records (aimed at $at)"
	expect "round $round (kill at $at): no duplicate group" one_group_per_anchor
	run $GB audit verify
	expect_rc "round $round: the audit log is intact right after the kill" 0
	expect_converged "round $round" 40 "$expected_members"
done
finish
