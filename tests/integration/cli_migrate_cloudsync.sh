#!/bin/sh
# The migration handing its groups to an existing Cloud Sync job ([migration] handoff_target = cloudsync). Before the
# irreversible step the hand-over plan must have been shown (review D5); that plan reads the job's settings and
# schema and refuses, before any assignment, a job that does not provision membership to on-premises users (D1) or
# that would rename the groups (D7). The confirmed hand-over assigns the groups in waves, each smoke-tested with
# provisionOnDemand and a read of the AD group's membership; it can be rolled back (the assignments groupbridge made
# are removed) and done again; verify then checks AD against the same rules.
. "$(dirname "$0")/lib_cloudsync.sh"
cs_init gbwbc 00000015 00000016 fff03 ca
# The job as Microsoft ships it (membership to on-premises users off, the default cn), writing to the test DC as
# the provisioning agent would.
tenant_new "$T/tenant.json" 'servicePrincipals:=[{"id": "'"$SP"'", "appId": "00000016-0000-4000-8000-0000000000aa",
  "displayName": "contoso.com (Cloud Sync)",
  "appRoles": [{"id": "1a0abf4d-b9fa-4512-a3a2-51ee82c6fd9f", "value": "Group", "displayName": "Group", "allowedMemberTypes": ["User"]}],
  "appRoleAssignedTo": [{"principalId": "'"$(id 3)"'", "appRoleId": "1a0abf4d-b9fa-4512-a3a2-51ee82c6fd9f"}],
  "synchronization": {"jobs": ['"$(cs_job '')"']}}]'
cs_start u-a "$ca" Team
cs_config
cs_to_coexistence

# D5: no point of no return before the hand-over plan was shown
run_irreversible "disable-writeback waits for the hand-over plan" 4
expect_err "it says to run the hand-over plan first" "migrate plan handoff"
expect "no disable script yet" test ! -f "$T/disable-writeback.ps1"
plan_handoff "without the rule id the hand-over plan is a configuration error" 2
expect_err "it says where to find the rule id" "cloudsync_rule_id"
printf 'cloudsync_rule_id = 33f7c90d-bf71-41b1-bda6-aaf0ddbee5d8#V2\n' >>"$T/gb.ini"

# D1: membership to on-premises users off is refused before any assignment, naming the setting
plan_handoff "a job that would empty the groups is refused" 1
expect_err "the refusal names the setting to change" "ProvisionMembershipToOnPremisesUsers = False"
expect_err "and what to turn on" "Provision membership to on-premises users"
expect_assigned "nothing was assigned" 1
run_irreversible "a refused hand-over plan does not open the point of no return" 4

# D7: the job's default cn would rename the Group_<objectId> groups
fake_control POST /sync/config '{"settings": {"provision_membership_to_on_premises_users": true}}' >/dev/null
plan_handoff "renames are refused" 1
expect_out "the plan counts the renames" "3 of 3 groups would be renamed"
expect_out "and shows one" "Group_$(id 1) -> Team 1_"
expect_err "the refusal says how to accept them" "handoff_accept_renames"
fake_control POST /sync/config '{"settings": {"cn": "Append(\"Group_\", [objectId])"}}' >/dev/null
plan_handoff "a job that keeps names and members passes" 0
expect_out "the preview reads the job" "membership to on-premises users on"
expect_out "and covers the ready groups before match" "PREVIEW"
expect_assigned "still nothing assigned" 1

run_irreversible "now disable-writeback prepares its script and waits" 4
expect "the script exists" test -f "$T/disable-writeback.ps1"
$GB migrate confirm disable-writeback >/dev/null 2>&1
$GB migrate run --yes >/dev/null 2>&1
$GB migrate confirm match >/dev/null 2>&1
run $GB migrate run --yes
expect_rc "the handoff to Cloud Sync is planned and waits" 4
plan_handoff "the plan" 0
expect "the plan assigns the two groups not assigned yet" test "$(printf '%s\n' "$out" | grep -c 'graph-assign-app-role')" = 2
run $GB migrate confirm handoff
expect_rc "confirming hands the groups to the job" 0
expect_out "in waves, each smoke-tested" "wave 3: provisionOnDemand for"
expect_out "the AD group kept its member" "(1 before, 0 lost)"
expect_out "three waves" "3 groups in 3 waves"
expect_assigned "all three groups are assigned to the job" 3
expect "the job received one provisionOnDemand per wave with a group and its member" python3 -c "
import json, sys
s = json.load(open(sys.argv[1])); s = s.get('value', s)
p = s['synchronization']['jobs'][0]['provisionedOnDemand']
assert len(p) == 3 and all(x['ruleId'].startswith('33f7c90d') and x['result'] in ('Success', 'Skipped') for x in p), p" "$T/sp.json"
expect "AD still holds the member" test "$(ad_members 1)" = 1

# D2: the hand-over rolls back from the handed-over state: the assignments groupbridge made go, the one it found stays
run $GB migrate rollback handoff
expect_rc "the hand-over rolls back" 0
expect_out "it names what it undoes" "2 of the job's app-role assignments groupbridge made removed"
expect_assigned "the assignment groupbridge did not make stays" 1
expect "AD is left as it is" test "$(ad_members 2)" = 1
run $GB migrate run --yes
expect_rc "the hand-over can be planned again" 4
run $GB migrate confirm handoff
expect_rc "and confirmed again" 0
expect_assigned "all three assigned again" 3
run $GB migrate run --yes
expect_rc "verify passes: AD is as the rules expect" 0
expect_out "the migration is complete" "The migration is complete."
run $GB provision --dry-run
expect_out "groupbridge's provisioning does not take the groups handed to Cloud Sync" "1 provisioned"
expect "every audit record uses the documented vocabulary, with an outcome" python3 "$(dirname "$0")/audit_vocabulary.py" "$T/gb.db"
finish
