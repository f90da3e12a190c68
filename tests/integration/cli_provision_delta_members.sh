#!/bin/sh
# Incremental passes build a changed group from the membership stored by the pass before plus and minus its
# members@delta, merged over every record and page (the fake splits them: one entry a record, two records a page),
# with users from the stored listing kept current by users delta: such a pass makes only the delta requests. Also: a
# nested group kept as a member, a user whose onPremisesObjectIdentifier changes, a delta replayed over a membership
# already recorded (nothing written), the full re-read when the stored membership is missing or its group stopped
# being managed, and an expired link.
. "$(dirname "$0")/lib_ad.sh"
OU="OU=gbdeltam-$$,$GB_TEST_DC1_BASE_DN"
ad_ou_users DC1 "$OU" m1 m2 m3 m4 m5 m6 m7
GB1=00de17a0-0000-4000-8000-000000000001
GN=00de17a0-0000-4000-8000-000000000002
GO=00de17a0-0000-4000-8000-000000000003
tenant_new "$T/tenant.json"
for n in 1 2 3 4 5 6; do tenant_user "$T/tenant.json" u-$n "$(eval "echo \$m$n")"; done
tenant_user "$T/tenant.json" u-7 null
tenant_group "$T/tenant.json" "$GB1" Big members=u-1,u-2,u-3,u-4
tenant_group "$T/tenant.json" "$GN" Nest "members=$GB1,u-5"
tenant_group "$T/tenant.json" "$GO" Other members=u-6
fake_start "$T/tenant.json"
fake_control POST /config '{"delta_members_per_record": 1, "page_size": 2}' >/dev/null
gb_config "$T/gb.ini" DC1 "$OU" "groups = $GB1 $GN $GO"
GB="$GB_BIN --config $T/gb.ini --state $T/gb.db"
# the CNs of a group's AD members, sorted, on one line
members() {
	ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$OU" "(cn=$1)" member 2>/dev/null |
		sed -n 's/^member: CN=\([^,]*\),.*/\1/p' | sed "s/-$$\$//" | sort | tr '\n' ' ' | sed 's/ $//'
}
BIG=Big_000000000001 NEST=Nest_000000000002 OTHER=Other_000000000003

run $GB provision
expect_rc "the first pass exits 0" 0
expect "Big holds m1..m4" test "$(members "$BIG")" = "m1 m2 m3 m4"
expect "Nest holds Big and m5" test "$(members "$NEST")" = "Big_000000000001 m5"

# --- members added and removed, members@delta spread over four records on two pages ---
fake_mutate "{\"changes\": [{\"op\": \"add_members\", \"group\": \"$GB1\", \"members\": [\"0000eeee-0000-4000-8000-000000000035\", \"0000eeee-0000-4000-8000-000000000036\"]},
  {\"op\": \"remove_members\", \"group\": \"$GB1\", \"members\": [\"0000eeee-0000-4000-8000-000000000031\", \"0000eeee-0000-4000-8000-000000000032\"]}]}"
fake_control POST /log/clear >/dev/null
run $GB provision
expect_rc "the incremental pass exits 0" 0
expect_err "Big is built, not read" "1 groups built from the stored membership and the delta records (0 with their properties read), 0 groups to read again"
expect "Big holds m3..m6 (every record merged)" test "$(members "$BIG")" = "m3 m4 m5 m6"
graph_paths >"$T/paths"
expect "group delta took more than one page" test "$(grep -c '/groups/delta' "$T/paths")" -ge 2
expect "the pass's requests are the delta pages" test "$(wc -l <"$T/paths")" = "$(grep -c -e '/groups/delta' -e '/users/delta' "$T/paths")"

# --- a nested group's member change keeps its member group (stored with its kind) ---
fake_mutate "{\"changes\": [{\"op\": \"add_members\", \"group\": \"$GN\", \"members\": [\"0000eeee-0000-4000-8000-000000000036\"]}]}"
run $GB provision
expect_rc "the nested group's pass exits 0" 0
expect "Nest still holds Big, and m5 and m6" test "$(members "$NEST")" = "Big_000000000001 m5 m6"

# --- a user's onPremisesObjectIdentifier changes: from users delta, no user listing, no member list ---
fake_mutate "{\"changes\": [{\"op\": \"update_user\", \"id\": \"0000eeee-0000-4000-8000-000000000033\", \"set\": {\"onPremisesObjectIdentifier\": \"$m7\"}}]}"
fake_control POST /log/clear >/dev/null
run $GB provision
expect_rc "the user's pass exits 0" 0
expect "Big now holds m7 instead of m3" test "$(members "$BIG")" = "m4 m5 m6 m7"
graph_paths >"$T/paths"
expect "no user was read but through delta" sh -c "! grep '/users' '$T/paths' | grep -v '/users/delta'"
expect "no member list was read" sh -c "! grep -q '/members' '$T/paths'"

# --- a replayed delta: the links of before a pass, over the membership that pass recorded, change nothing ---
links=$(sqlite3 "$T/gb.db" "SELECT key || '|' || value FROM kv WHERE key LIKE 'graph.delta.%'")
fake_mutate "{\"changes\": [{\"op\": \"remove_members\", \"group\": \"$GB1\", \"members\": [\"0000eeee-0000-4000-8000-000000000034\"]}]}"
run $GB provision
expect "m4 left Big" test "$(members "$BIG")" = "m5 m6 m7"
echo "$links" | while IFS='|' read -r k v; do
	sqlite3 "$T/gb.db" "UPDATE kv SET value = '$v' WHERE key = '$k'"
done
before=$(audit_count)
run $GB provision
expect_rc "the replaying pass exits 0" 0
expect_err "it builds Big from the replayed records" "1 groups built from the stored membership"
expect "Big is unchanged" test "$(members "$BIG")" = "m5 m6 m7"
expect "nothing was written" test "$(audit_count)" = "$before"

# --- the stored membership is missing: that group is read again in full, then built again ---
sqlite3 "$T/gb.db" "DELETE FROM member_state WHERE group_id = '$GB1'"
fake_mutate "{\"changes\": [{\"op\": \"add_members\", \"group\": \"$GB1\", \"members\": [\"0000eeee-0000-4000-8000-000000000031\"]}]}"
fake_control POST /log/clear >/dev/null
run $GB provision
expect_err "without its stored membership, Big is read again" "0 groups built from the stored membership and the delta records (0 with their properties read), 1 groups to read again"
expect "m1 is back in Big" test "$(members "$BIG")" = "m1 m5 m6 m7"
graph_paths >"$T/paths"
expect "Big's members were listed" grep -q "/groups/$GB1/members" "$T/paths"
fake_mutate "{\"changes\": [{\"op\": \"remove_members\", \"group\": \"$GB1\", \"members\": [\"0000eeee-0000-4000-8000-000000000031\"]}]}"
run $GB provision
expect_err "after that, Big is built again" "1 groups built from the stored membership and the delta records (0 with their properties read), 0 groups to read again"
expect "m1 left Big again" test "$(members "$BIG")" = "m5 m6 m7"

# --- a group that stopped being managed loses its stored membership, even when managed again before a change ---
sqlite3 "$T/gb.db" "UPDATE managed_groups SET state = 'unmanaged' WHERE object_id = '$GB1'"
run $GB provision
sqlite3 "$T/gb.db" "UPDATE managed_groups SET state = 'managed' WHERE object_id = '$GB1'"
expect "its stored membership is forgotten" test "$(sqlite3 "$T/gb.db" "SELECT count(*) FROM member_state WHERE group_id = '$GB1'")" = 0
fake_mutate "{\"changes\": [{\"op\": \"add_members\", \"group\": \"$GB1\", \"members\": [\"0000eeee-0000-4000-8000-000000000032\"]}]}"
run $GB provision
expect_err "so its next change reads it again" "1 groups to read again"
expect "m2 is in Big" test "$(members "$BIG")" = "m2 m5 m6 m7"

# --- an expired link: a full pass that takes new links from now, without paging through delta ---
fake_control POST /delta/expire '{"status": 410, "code": "syncStateNotFound", "kind": "groups"}' >/dev/null
fake_control POST /log/clear >/dev/null
run $GB provision
expect_rc "the pass after the expiry exits 0" 0
expect_err "it reads everything" "reading everything (the delta link expired)"
graph_paths >"$T/paths"
expect "new links from now" test "$(grep -c 'deltatoken=latest' "$T/paths")" = 2
expect "Big is unchanged" test "$(members "$BIG")" = "m2 m5 m6 m7"
expect "Other was never touched" test "$(members "$OTHER")" = "m6"
run $GB provision
expect_err "then incremental again" "0 groups to read again"
run $GB audit verify
expect_rc "the audit log verifies" 0
finish
