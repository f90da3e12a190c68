#!/bin/sh
# Every migration command killed with SIGKILL at a random moment, then run again: the migration still reaches
# "The migration is complete", with every group stamped once, no duplicate AD group, the right groups handed over,
# and an intact audit log. The seed is printed so that a failure can be replayed (GB_KILL_SEED=N).
. "$(dirname "$0")/lib_ad.sh"
kill_seed
seed=$SEED
WB="OU=gbwbk-$$,$GB_TEST_DC1_BASE_DN"
ad_ou DC1 "$WB"
ad_users DC1 "$WB" ka-$$ >"$T/guids"
id() { printf '00000014-0000-4000-8000-%012d' "$1"; }
{
	for n in $(seq 1 12); do
		printf 'dn: CN=Group_%s,%s\nobjectClass: group\ngroupType: -2147483640\nadminDescription: Group_%s\nmember: CN=ka-%s,%s\n\n' \
			"$(id $n)" "$WB" "$(id $n)" $$ "$WB"
	done
	printf 'dn: CN=Synced Team-%s,%s\nobjectClass: group\ngroupType: -2147483640\n\n' $$ "$WB"
} | ldap_on DC1 ldapadd >/dev/null
SID=$(ad_sid DC1 "$WB" "(cn=Synced Team-$$)")
tenant_of_groups "$T/tenant.json" "$T/guids" 00000014 "Team %d" 12
tenant_group "$T/tenant.json" "$(id 90)" "Synced Team" "members=u-ka_$$" onPremisesSyncEnabled:=true \
	"onPremisesSecurityIdentifier=$SID"
fake_start "$T/tenant.json"
gb_config "$T/gb.ini" DC1 "$WB" "groups = $(id 1)" "allowed_containers = $WB" \
	'cn = IIF(IsPresent([onPremisesSecurityIdentifier]), [displayName], Append("Group_", [objectId]))' \
	"[migration]" "connect_sync_export = $here/data/connect-sync/contoso-2016-upgraded" "writeback_ou = $WB" \
	"tenant_domain = contoso.example" "convert_groups = $(id 90)"
$GBTEST coexistence-export "$here/.." "$T/after"
GB="$GB_BIN --config $T/gb.ini --state $T/gb.db"

n=0
# killed ARGS...: runs groupbridge ARGS, kills it with SIGKILL after a pseudo-random 0 to 400 ms, then runs it again
killed() {
	n=$((n + 1))
	delay=$(( (seed * 7919 + n * 104729) % 400 ))
	$GB "$@" >/dev/null 2>&1 &
	pid=$!
	sleep "$(printf '0.%03d' "$delay")"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	run $GB "$@"
	echo "  $*: killed after ${delay} ms, then exit $rc"
}
killed migrate run --yes
expect "import and inventory reach the gate" test "$rc" = 4
killed migrate confirm inventory
expect_rc "a repeated confirmation is harmless (exit 0)" 0
killed migrate run --yes
expect "stamp-anchors and the coexistence script reach the operator" test "$rc" = 4
killed migrate confirm connect-sync-coexistence --export "$T/after"
killed migrate plan handoff
killed migrate run --yes --i-understand-this-is-irreversible
expect "the disable-writeback snapshot and script reach the operator" test "$rc" = 4
killed migrate confirm disable-writeback
killed migrate run --yes
expect "convert-soa and match reach the gate" test "$rc" = 4
killed migrate confirm match
killed migrate run --yes
expect "handoff reaches its gate" test "$rc" = 4
killed migrate confirm handoff
killed migrate run --yes
expect_rc "verify passes after every kill" 0
expect_out "the migration is complete" "The migration is complete."
expect "every written-back group carries its anchor, once" test "$(ldap_on DC1 ldapsearch -LLL -b "$WB" '(msDS-ExternalDirectoryObjectId=Group_*)' dn | grep -c '^dn:')" = 13
expect "no duplicate AD group" test "$(ldap_on DC1 ldapsearch -LLL -b "$WB" '(objectClass=group)' dn | grep -c '^dn:')" = 13
expect "thirteen groups handed over (12 written back, 1 converted)" test "$(sqlite3 "$T/gb.db" 'SELECT count(*) FROM migration_groups WHERE handed_over = 1')" = 13
expect "no group was stamped twice" test "$(sqlite3 "$T/gb.db" "SELECT count(*) FROM (SELECT target FROM audit_log WHERE step = 'stamp-anchors' AND operation = 'attribute.add' AND result LIKE 'ok%' GROUP BY target HAVING count(*) > 1)")" = 0
run $GB audit verify
expect_rc "the audit log survived every kill" 0
expect "every audit record uses the documented vocabulary, with an outcome" python3 "$(dirname "$0")/audit_vocabulary.py" "$T/gb.db"
finish
