#!/bin/sh
# Incremental provisioning with Graph delta: the first pass reads everything (and takes its delta links with
# $deltatoken=latest, without paging through delta); a pass with no cloud change makes only the delta requests and
# writes nothing; a membership change is built from the delta record and the stored membership, reading nothing
# else; a user's change is taken from users delta and re-reads only that user's groups' properties; a pass that fails
# is replayed by the next; --full and a changed configuration read everything.
. "$(dirname "$0")/lib_ad.sh"
OU="OU=gbdelta-$$,$GB_TEST_DC1_BASE_DN"
ad_ou_users DC1 "$OU" da db dc
G1=00000011-0000-4000-8000-000000000001
G2=00000011-0000-4000-8000-000000000002
G3=00000011-0000-4000-8000-000000000003
tenant_new "$T/tenant.json"
tenant_user "$T/tenant.json" u-a "$da"
tenant_user "$T/tenant.json" u-b "$db"
tenant_user "$T/tenant.json" u-c null
tenant_group "$T/tenant.json" "$G1" One members=u-a
tenant_group "$T/tenant.json" "$G2" Two members=u-c
tenant_group "$T/tenant.json" "$G3" Three
fake_start "$T/tenant.json"
gb_config "$T/gb.ini" DC1 "$OU" "groups = $G1 $G2 $G3"
GB="$GB_BIN --config $T/gb.ini --state $T/gb.db"
members_of() {
	ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$OU" "(cn=$1)" member 2>/dev/null | grep -c '^member:'
}
# watched_pass: a provisioning pass with the fake's request log cleared first; the paths it requested in $T/paths
watched_pass() {
	fake_control POST /log/clear >/dev/null
	run $GB provision
	graph_paths >"$T/paths"
}
only_delta() { # the last pass's requests were the token and delta requests only
	expect "Graph saw only the token and delta requests" sh -c "! grep -v -e 'oauth2/v2.0/token' -e '/groups/delta' -e '/users/delta' '$T/paths'"
}

run $GB provision
expect_rc "the first pass exits 0" 0
expect_err "the first pass reads everything" "reading everything (first pass"
expect "three groups created" test "$(ldap_on DC1 ldapsearch -LLL -b "OU=Groups,$OU" '(objectClass=group)' dn | grep -c '^dn:')" = 3
graph_paths >"$T/paths"
expect "the first pass took its delta links from now" test "$(grep -c 'delta?.*deltatoken=latest' "$T/paths")" = 2
expect "and paged through no delta" test "$(grep -c '/delta' "$T/paths")" = 2

# --- no cloud change: only the delta requests, nothing written ---
before=$(audit_count)
watched_pass
expect_rc "a pass with no change exits 0" 0
expect_err "it reads no group again" "0 groups to read again"
expect "it wrote nothing (no audit record)" test "$(audit_count)" = "$before"
only_delta
expect "Graph saw the group delta" grep -q "/groups/delta" "$T/paths"

# --- a member added to one group: built from its delta record, nothing read but delta ---
fake_mutate "{\"changes\": [{\"op\": \"add_members\", \"group\": \"$G1\", \"members\": [\"0000eeee-0000-4000-8000-000000000062\"]}]}"
watched_pass
expect_err "the changed group is built from delta" "1 groups built from the stored membership and the delta records (0 with their properties read), 0 groups to read again"
expect "the member was added" test "$(members_of One_000000000001)" = 2
only_delta

# --- a user gets an AD account: taken from users delta; its group's properties are read, not its members ---
fake_mutate "{\"changes\": [{\"op\": \"update_user\", \"id\": \"0000eeee-0000-4000-8000-000000000063\", \"set\": {\"onPremisesObjectIdentifier\": \"$dc\"}}]}"
watched_pass
expect_err "the user's group is built from the stored membership" "0 groups and 1 users changed; 1 groups built from the stored membership and the delta records (1 with their properties read), 0 groups to read again"
expect "the user is now a member in AD" test "$(members_of Two_000000000002)" = 1
expect "no user and no member list was read" sh -c "! grep -e '/members' -e '/users[/?]' '$T/paths' | grep -v '/users/delta'"
expect "only that group was read" test "$(grep -c "/groups/$G2" "$T/paths")" = 1

# --- a pass that fails after reading group delta is replayed by the next one ---
fake_mutate "{\"changes\": [{\"op\": \"add_members\", \"group\": \"$G3\", \"members\": [\"0000eeee-0000-4000-8000-000000000061\"]}]}"
fake_faults '{"method": "GET", "path_regex": "/users/delta", "status": 500, "code": "InternalServerError", "count": 1}'
run $GB provision
expect "the pass with a failing read fails" test "$rc" = 1
expect "nothing was added" test "$(members_of Three_000000000003)" = 0
run $GB provision
expect_rc "the next pass exits 0" 0
expect_err "it says it reads the unfinished pass's changes again" "the previous pass did not finish"
expect "the change was applied after all" test "$(members_of Three_000000000003)" = 1

# --- a saved delta link that now fails with a 4xx is taken as expired: the pass reads everything ---
fake_control POST /faults '{"rules": [{"method": "GET", "path_regex": "/users/delta", "status": 400, "code": "BadRequest", "count": 1}]}' >/dev/null
run $GB provision
expect_rc "a 400 on the saved link does not fail the pass" 0
expect_err "it reads everything instead" "reading everything (the delta link expired)"

# --- --full, and a changed [provisioning] section, read everything ---
run $GB provision --full
expect_err "--full reads everything" "reading everything (--full)"
printf 'description = Left(Trim([description]), 10)\n' >>"$T/gb.ini"
run $GB provision
expect_err "a changed configuration reads everything" "reading everything (the [provisioning] section changed)"
run $GB provision
expect_err "after that, incremental again" "0 groups to read again"
run $GB audit verify
expect_rc "the audit log verifies" 0
finish
