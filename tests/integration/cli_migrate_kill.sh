#!/bin/sh
# Every migration command killed with SIGKILL at a random moment, then run again: the migration still reaches
# "The migration is complete", with every group stamped once, no duplicate AD group, the right groups handed over,
# and an intact audit log. The seed is printed so that a failure can be replayed (GB_KILL_SEED=N).
. "$(dirname "$0")/lib.sh"
: "${GB_TEST_DC1_LDAPS_URI:?run under tests/testbed/with-testbed.sh}"
. "$(dirname "$0")/lib_ad.sh"
here=$(cd "$(dirname "$0")/.." && pwd)
seed=${GB_KILL_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
echo "seed $seed"
WB="OU=gbwbk-$$,$GB_TEST_DC1_BASE_DN"
ad_ou DC1 "$WB"
eval "$(ad_users DC1 "$WB" ka-$$)"
eval "ka=\$ka_$$"
id() { printf '00000014-0000-4000-8000-%012d' "$1"; }
{
	for n in $(seq 1 12); do
		printf 'dn: CN=Group_%s,%s\nobjectClass: group\ngroupType: -2147483640\nadminDescription: Group_%s\nmember: CN=ka-%s,%s\n\n' \
			"$(id $n)" "$WB" "$(id $n)" $$ "$WB"
	done
	printf 'dn: CN=Synced Team-%s,%s\nobjectClass: group\ngroupType: -2147483640\n\n' $$ "$WB"
} | ldap_on DC1 ldapadd >/dev/null
SID=$(ad_sid DC1 "$WB" "(cn=Synced Team-$$)")
python3 - "$T/tenant.json" "$ka" "$SID" <<'PY'
import json, sys
path, ka, sid = sys.argv[1:]
gid = lambda n: "00000014-0000-4000-8000-%012d" % n
sec = {"securityEnabled": True, "mailEnabled": False, "groupTypes": []}
groups = [dict(sec, id=gid(n), displayName="Team %d" % n, members=["u-a"]) for n in range(1, 13)]
groups.append(dict(sec, id=gid(90), displayName="Synced Team", onPremisesSyncEnabled=True,
                   onPremisesSecurityIdentifier=sid, members=["u-a"]))
json.dump({"tenant_id": "ffffff01-2222-4333-8444-555555555555",
           "clients": [{"client_id": "ffffff02-2222-4333-8444-555555555555", "secret": "kill-secret"}],
           "users": [{"id": "u-a", "onPremisesObjectIdentifier": ka}], "groups": groups}, open(path, "w"))
PY
fake_start "$T/tenant.json"
gb_config "$T/gb.ini" DC1 "$WB" "groups = $(id 1)" "allowed_containers = $WB" 'cn = IIF(IsPresent([onPremisesSecurityIdentifier]), [displayName], Append("Group_", [objectId]))'
printf '\n[migration]\nconnect_sync_export = %s/data/connect-sync/contoso-2016\nwriteback_ou = %s\ntenant_domain = contoso.example\nconvert_groups = %s\n' \
	"$here" "$WB" "$(id 90)" >>"$T/gb.ini"
cp -r "$here/data/connect-sync/contoso-2016" "$T/after"
cp "$here/data/connect-sync/fixtures/rules/coex-inbound.xml" "$T/after/SynchronizationRules/SynchronizationRule_{e4eae1c9-b9bc-4328-ade9-df871cdd3027}.xml"
cp "$here/data/connect-sync/fixtures/rules/coex-outbound.xml" "$T/after/SynchronizationRules/SynchronizationRule_{419fda18-75bb-4e23-b947-8b06e7246551}.xml"
sed -i 's|"Microsoft.Synchronize.StagingMode" type="string" use="SynchronizationGlobal" dataType="String">False|"Microsoft.Synchronize.StagingMode" type="string" use="SynchronizationGlobal" dataType="String">True|' "$T/after/GlobalSettings/MV.xml"
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
