#!/bin/sh
# groupbridge killed with SIGKILL at ten random points of a provisioning run (after a random number of audit
# records; the seed is printed, GB_KILL_SEED=N repeats a run): after each kill no group exists twice, and a rerun
# converges to the expected AD state with an intact audit log. Each round starts from an empty OU and a new state
# database, so that every kill lands in a run with work to do.
. "$(dirname "$0")/lib_ad.sh"
kill_seed
OU="OU=gbkill-$$,$GB_TEST_DC1_BASE_DN"
ad_numbered_users DC1 "$OU" k 30
tenant_of_groups "$T/tenant.json" "$T/guids" 00000e00 "Kill %02d" 40 999 5
expected_members=$($GBTEST tenant count-links "$T/tenant.json")
provision_start DC1 "$OU"

# --- one clean run to learn how many audit records a run writes ---
run $GB provision
expect_rc "a clean run exits 0" 0
total=$(audit_count)
expect "a clean run writes audit records ($total)" test "$total" -gt 10
expect "and the expected members ($expected_members)" test "$(members_in_ad)" = "$expected_members"

# --- ten kills after a random number of records in 1..total-1 ---
one_round() {
	reset_ad
	kill_at_audit "$at" $GB provision
	got=$(audit_count)
	echo "     round $round: killed at $got audit records (aimed at $at)"
	expect "round $round (kill at $at): no duplicate group" one_group_per_anchor
	run $GB audit verify
	expect_rc "round $round: the audit log is intact right after the kill" 0
	expect_converged "round $round" 40 "$expected_members"
}
kill_rounds "$total" "audit record" one_round
finish
