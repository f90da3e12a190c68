#!/bin/sh
# groupbridge killed with SIGKILL at ten random points of the migration step that writes to AD (stamp-anchors),
# after a random number of its audit records (the seed is printed, GB_KILL_SEED=N repeats a run). After each kill the
# audit log is intact and no AD group exists twice; the rerun stamps every written-back group exactly once with its
# own anchor and reaches the operator step. Each round starts from unstamped groups and a new state database.
. "$(dirname "$0")/lib_ad.sh"
kill_seed
WB="OU=gbkm-$$,$GB_TEST_DC1_BASE_DN"
ad_ou DC1 "$WB"
ad_users DC1 "$WB" km-$$ >"$T/guids"
NGROUPS=40
id() { printf '00000e40-0000-4000-8000-%012d' "$1"; }
tenant_of_groups "$T/tenant.json" "$T/guids" 00000e40 "Team %d" $NGROUPS
fake_start "$T/tenant.json"
gb_config "$T/gb.ini" DC1 "$WB" "groups = $(id 1)" "allowed_containers = $WB"
printf '\n[migration]\nconnect_sync_export = %s/data/connect-sync/contoso-2016-upgraded\nwriteback_ou = %s\ntenant_domain = contoso.example\n' \
	"$here" "$WB" >>"$T/gb.ini"
GB="$GB_BIN --config $T/gb.ini --state $T/gb.db"
ad_scope DC1 "$WB"
# groups whose anchor is their own (msDS-ExternalDirectoryObjectId equal to the adminDescription Group_<objectId>)
own_anchors() {
	ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "$WB" "(&(objectClass=group)(msDS-ExternalDirectoryObjectId=Group_*))" \
		adminDescription msDS-ExternalDirectoryObjectId 2>/dev/null | $GBTEST own-anchors
}
stamped_twice() {
	sqlite3 "$T/gb.db" "SELECT count(*) FROM (SELECT target FROM audit_log WHERE step = 'stamp-anchors'
		AND operation = 'attribute.add' AND result LIKE 'ok%' GROUP BY target HAVING count(*) > 1)"
}
# reset: written-back groups without anchors, and a migration that has passed its inventory gate
reset() {
	reset_ad
	for n in $(seq 1 $NGROUPS); do
		printf 'dn: CN=Group_%s,%s\nobjectClass: group\ngroupType: -2147483640\nadminDescription: Group_%s\nmember: CN=km-%s,%s\n\n' \
			"$(id $n)" "$WB" "$(id $n)" $$ "$WB"
	done | ldap_on DC1 ldapadd >/dev/null
	$GB migrate run --yes >/dev/null 2>&1
	$GB migrate confirm inventory >/dev/null 2>&1
}

# --- one clean run to learn how many audit records stamp-anchors writes ---
reset
base=$(audit_count)
run $GB migrate run --yes
expect_rc "a clean run stamps and stops at the operator step (exit 4)" 4
expect "a clean run stamps all $NGROUPS groups" test "$(own_anchors)" = "$NGROUPS"
stamp=$(sqlite3 "$T/gb.db" "SELECT count(*) FROM audit_log WHERE step = 'stamp-anchors'")
expect "stamp-anchors writes an audit record per group ($stamp)" test "$stamp" -ge "$NGROUPS"

# --- ten kills after a random number of stamp-anchors records in 1..stamp-1 ---
one_round() {
	reset
	base=$(audit_count)
	kill_at_audit $((base + at)) $GB migrate run --yes
	echo "     round $round: killed at $(($(audit_count) - base)) records (aimed at $at)"
	expect "round $round: $NGROUPS groups, none twice" test "$(groups_in_ad)" = "$NGROUPS"
	run $GB audit verify
	expect_rc "round $round: the audit log is intact right after the kill" 0
	run $GB migrate run --yes
	expect_rc "round $round: the rerun reaches the operator step (exit 4)" 4
	expect "round $round: every group carries its own anchor" test "$(own_anchors)" = "$NGROUPS"
	expect "round $round: no group was stamped twice" test "$(stamped_twice)" = 0
	expect "round $round: still $NGROUPS groups" test "$(groups_in_ad)" = "$NGROUPS"
	run $GB audit verify
	expect_rc "round $round: audit verify passes" 0
}
kill_rounds "$stamp" "stamp-anchors record" one_round
expect "every audit record uses the documented vocabulary, with an outcome" python3 "$(dirname "$0")/audit_vocabulary.py" "$T/gb.db"
finish
