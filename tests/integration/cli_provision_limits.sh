#!/bin/sh
# Limits and interruptions: a 50,001-member group is that group's error while the others are provisioned; a run
# killed with SIGKILL in the middle of applying converges when run again, with no duplicate group and an intact
# audit log. Incremental passes go on reporting the group's error until the group changes in the cloud.
. "$(dirname "$0")/lib_ad.sh"
OU="OU=gblimits-$$,$GB_TEST_DC1_BASE_DN"
ad_numbered_users DC1 "$OU" u 30

tenant_of_groups "$T/tenant.json" "$T/guids" 00000b00 "Team %02d" 40
tenant_group "$T/tenant.json" 00000b00-0000-4000-8000-000000099999 Everybody \
	'generate_members:={"count": 50001, "id_prefix": "00000c00-0000-4000-8000-", "type": "user", "on_premises": false}'
provision_start DC1 "$OU"

# --- the 50,000-member limit: the dry run says so, the others go on ---
run $GB provision --dry-run
expect_rc "a group over the limit makes the plan partial" 3
expect_out "the over-limit group is named" "over-member-limit"
expect_out "it says how many members" "50001 members"

# --- kill -9 in the middle of applying, three times at different points, then converge ---
# each run is killed a few records into its own work (5, 10, then 15 records after the last run's), so that every
# kill lands while work remains even though writes in flight finish some operations the log has not recorded yet
for n in 5 10 15; do
	at=$(($(audit_count) + n))
	kill_at_audit "$at" $GB provision
	expect "killed at about $at audit records: no duplicate group" one_group_per_anchor
done
run $GB provision
expect_rc "the rerun finishes (partial: the over-limit group)" 3
expect "forty groups, each once" test "$(groups_in_ad)" = 40
expect "forty distinct anchors" test "$(anchors_in_ad)" = 40
expect "every group holds its thirty members (1200 references)" test "$(members_in_ad)" = 1200
run $GB audit verify
expect_rc "the audit log survived the kills intact" 0
run $GB provision --dry-run
expect_out "converged: nothing left to do" "No changes."
# --- the next passes read only the changes (Graph delta): the group is still over the limit, and says so ---
# (an incremental pass that does not read the group used to drop its error and exit 0, as if all were provisioned)
for k in 1 2; do
	run $GB provision
	expect "incremental pass $k reads only the changes" grep -q "delta: 0 groups and 0 users changed" "$T/.err"
	expect_rc "incremental pass $k is still partial" 3
	expect_out "it still counts the group's error" "1 group errors"
	run $GB report plan --format md
	expect_out "its plan names the group and why" "00000b00-0000-4000-8000-000000099999 (Everybody): it has 50001 members"
done
# once the group is back under the limit, delta reports it, the pass reads it again, and the error is gone
fake_mutate '{"changes": [{"op": "remove_members", "group": "00000b00-0000-4000-8000-000000099999", "members": ["00000c00-0000-4000-8000-000000000000", "00000c00-0000-4000-8000-000000000001"]}]}'
run $GB provision
expect_rc "with 49,999 members the group is provisioned (exit 0)" 0
expect_out "and no error is left" "0 group errors"
expect "forty-one groups" test "$(groups_in_ad)" = 41
finish
