#!/bin/sh
# Limits and interruptions: a 50,001-member group is that group's error while the others are provisioned; a run
# killed with SIGKILL in the middle of applying converges when run again, with no duplicate group and an intact
# audit log.
. "$(dirname "$0")/lib.sh"
: "${GB_TEST_DC1_LDAPS_URI:?run under tests/testbed/with-testbed.sh}"
. "$(dirname "$0")/lib_ad.sh"
OU="OU=gblimits-$$,$GB_TEST_DC1_BASE_DN"
ad_ou DC1 "$OU"
names=""
for i in $(seq 1 30); do names="$names u$i-$$"; done
ad_users DC1 "$OU" $names >"$T/guids"
expect "thirty users created" test "$(wc -l <"$T/guids")" = 30

python3 - "$T/tenant.json" "$T/guids" "$T/groups.txt" <<'PY'
import json, sys, uuid
path, guids, groups_txt = sys.argv[1:]
users = [{"id": str(uuid.uuid5(uuid.NAMESPACE_OID, "u-" + line.split("=")[0])), "onPremisesObjectIdentifier": line.split("=")[1].strip()}
         for line in open(guids) if "=" in line]
ids = [u["id"] for u in users]
groups = [{"id": "00000b00-0000-4000-8000-%012d" % n, "displayName": "Team %02d" % n, "securityEnabled": True,
           "mailEnabled": False, "groupTypes": [], "members": ids} for n in range(1, 41)]
groups.append({"id": "00000b00-0000-4000-8000-000000099999", "displayName": "Everybody", "securityEnabled": True,
               "mailEnabled": False, "groupTypes": [], "members": [],
               "generate_members": {"count": 50001, "id_prefix": "00000c00-0000-4000-8000-", "type": "user",
                                    "on_premises": False}})
json.dump({"tenant_id": "fffffff3-2222-4333-8444-555555555555", "page_size": 999,
           "clients": [{"client_id": "fffffff4-2222-4333-8444-555555555555", "secret": "limits-secret"}],
           "users": users, "groups": groups}, open(path, "w"))
open(groups_txt, "w").write("\n".join(g["id"] for g in groups) + "\n")
PY
fake_start "$T/tenant.json"
gb_config "$T/gb.ini" DC1 "$OU" "groups_file = $T/groups.txt"
GB="$GB_BIN --config $T/gb.ini --state $T/gb.db"
groups_in_ad() { ldap_on DC1 ldapsearch -LLL -b "OU=Groups,$OU" "(objectClass=group)" dn 2>/dev/null | grep -c '^dn:'; }
anchors_in_ad() {
	ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$OU" "(objectClass=group)" msDS-ExternalDirectoryObjectId 2>/dev/null |
		grep '^msDS-ExternalDirectoryObjectId:' | sort | uniq | wc -l
}
audit_count() { sqlite3 "$T/gb.db" "SELECT count(*) FROM audit_log" 2>/dev/null || echo 0; }

# --- the 50,000-member limit: the dry run says so, the others go on ---
run $GB provision --dry-run
expect_rc "a group over the limit makes the plan partial" 3
expect_out "the over-limit group is named" "over-member-limit"
expect_out "it says how many members" "50001 members"

# --- kill -9 in the middle of applying, three times at different points, then converge ---
for at in 5 25 55; do
	$GB provision >"$T/killed.out" 2>&1 &
	pid=$!
	i=0
	while [ "$(audit_count)" -lt "$at" ] && kill -0 $pid 2>/dev/null && [ $i -lt 600 ]; do
		sleep 0.02
		i=$((i + 1))
	done
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	expect "killed at about $at audit records: no duplicate group" test "$(groups_in_ad)" = "$(anchors_in_ad)"
done
run $GB provision
expect_rc "the rerun finishes (partial: the over-limit group)" 3
expect "forty groups, each once" test "$(groups_in_ad)" = 40
expect "forty distinct anchors" test "$(anchors_in_ad)" = 40
members=$(ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$OU" "(objectClass=group)" member 2>/dev/null | grep -c '^member:')
expect "every group holds its thirty members (1200 references)" test "$members" = 1200
run $GB audit verify
expect_rc "the audit log survived the kills intact" 0
run $GB provision --dry-run
expect_out "converged: nothing left to do" "No changes."
finish
