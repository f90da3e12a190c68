#!/bin/sh
# The DC stopped and restarted in the middle of applying a provisioning plan (60 groups x 50 members). The test
# starts a DC of its own (other tests share DC1 in parallel), so that it can stop it: the address is DC1's with
# 100 added to its second octet (GB_TEST_RESTART_IP overrides). Two outages:
#   short: the DC comes back at once; the run reconnects and finishes (exit 0), or stops cleanly (exit 1, a
#          message naming the operation), and a rerun converges. An add that had landed just before the DC went
#          away and is sent again after the reconnect finds its own anchor there and counts as done (it used to
#          fail as "already exists" and make the run partial);
#   long:  the DC stays away longer than the client's reconnect attempts (0.2 + 0.8 + 3.2 s); the run stops
#          cleanly (exit 1, where it stopped) without trying every later operation, and after the DC is back a
#          rerun converges.
# Converged: every group once, every member, nothing left to do, `audit verify` passes.
. "$(dirname "$0")/lib.sh"
: "${GB_TEST_DC1_LDAPS_URI:?run under tests/testbed/with-testbed.sh}"
. "$(dirname "$0")/lib_ad.sh"
here=$(cd "$(dirname "$0")/.." && pwd)
IP=${GB_TEST_RESTART_IP:-$(echo "$GB_TEST_DC1_IP" | awk -F. '{ printf "127.%d.%d.%d", ($2 + 100) % 256, $3, $4 }')}
DC="$T/dc"
if ! sh "$here/testbed/samba-dc.sh" start "$DC" "$IP" GB_TEST_DCR TEST.EXAMPLE >"$T/dc.log" 2>&1; then
	cat "$T/dc.log"
	echo "0 passed, 1 failed"
	exit 1
fi
trap 'sh "$here/testbed/samba-dc.sh" stop "$DC"; rm -rf "$T"' EXIT
. "$DC/env"
OU="OU=gbrestart-$$,$GB_TEST_DCR_BASE_DN"
ad_ou DCR "$OU"
names=""
for i in $(seq 1 50); do names="$names r$i-$$"; done
ad_users DCR "$OU" $names >"$T/guids"
expect "fifty users created" test "$(wc -l <"$T/guids")" = 50
python3 - "$T/tenant.json" "$T/guids" "$T/groups.txt" <<'PY'
import json, sys, uuid
path, guids, groups_txt = sys.argv[1:]
users = [{"id": str(uuid.uuid5(uuid.NAMESPACE_OID, "u-" + l.split("=")[0])), "onPremisesObjectIdentifier": l.split("=")[1].strip()}
         for l in open(guids) if "=" in l]
ids = [u["id"] for u in users]
groups = [{"id": "00000a10-0000-4000-8000-%012d" % n, "displayName": "Restart %02d" % n, "securityEnabled": True,
           "mailEnabled": False, "groupTypes": [], "members": ids} for n in range(1, 61)]
json.dump({"tenant_id": "fffffffb-2222-4333-8444-555555555555", "page_size": 999,
           "clients": [{"client_id": "fffffffc-2222-4333-8444-555555555555", "secret": "restart-secret"}],
           "users": users, "groups": groups}, open(path, "w"))
open(groups_txt, "w").write("\n".join(g["id"] for g in groups) + "\n")
PY
fake_start "$T/tenant.json"
trap 'sh "$here/testbed/samba-dc.sh" stop "$DC"; sh "$here/testbed/graph-fake.sh" stop "$T/fake"; rm -rf "$T"' EXIT
gb_config "$T/gb.ini" DCR "$OU" "groups_file = $T/groups.txt"
GB="$GB_BIN --config $T/gb.ini --state $T/gb.db"
ldap() { ldap_on DCR "$@"; }
groups_in_ad() { ldap ldapsearch -LLL -b "OU=Groups,$OU" "(objectClass=group)" dn 2>/dev/null | grep -c '^dn:'; }
anchors_in_ad() {
	ldap ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$OU" "(objectClass=group)" msDS-ExternalDirectoryObjectId 2>/dev/null |
		grep '^msDS-ExternalDirectoryObjectId:' | sort -u | wc -l
}
members_in_ad() {
	ldap ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$OU" "(objectClass=group)" member 2>/dev/null | grep -c '^member:'
}
audit_count() { sqlite3 "$T/gb.db" "SELECT count(*) FROM audit_log" 2>/dev/null || echo 0; }
reset_ad() {
	ldap ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$OU" "(objectClass=group)" dn 2>/dev/null | sed -n 's/^dn: //p' |
		ldap ldapdelete >/dev/null 2>&1
	rm -f "$T/gb.db" "$T/gb.db-wal" "$T/gb.db-shm"
}
# outage NAME AT SECONDS: starts a run, stops the DC once AT audit records exist, keeps it away SECONDS, restarts
# it, and leaves the run's exit code in $rc, its output in $T/.out and $T/.err
outage() {
	reset_ad
	$GB provision >"$T/.out" 2>"$T/.err" &
	pid=$!
	i=0
	while [ "$(audit_count)" -lt "$2" ] && kill -0 $pid 2>/dev/null && [ $i -lt 1500 ]; do
		sleep 0.01
		i=$((i + 1))
	done
	at=$(audit_count)
	kill -0 $pid 2>/dev/null
	running=$?
	sh "$here/testbed/samba-dc.sh" stop "$DC"
	sleep "$3"
	kill -0 $pid 2>/dev/null
	still=$?
	sh "$here/testbed/samba-dc.sh" restart "$DC" >>"$T/dc.log" 2>&1
	restarted=$?
	wait $pid
	rc=$?
	echo "     $1: DC stopped at $at audit records, away $3 s; the run exited $rc"
	expect "$1: the run was still applying when the DC stopped" test "$running" = 0 -a "$at" -lt 120
	expect "$1: the DC is back" test "$restarted" = 0
}
converges() {
	expect "$1: no duplicate group after the outage" test "$(groups_in_ad)" = "$(anchors_in_ad)"
	run $GB provision
	expect_rc "$1: the rerun exits 0" 0
	expect "$1: sixty groups, each once" test "$(groups_in_ad)" = 60 -a "$(anchors_in_ad)" = 60
	expect "$1: every member (3000 references)" test "$(members_in_ad)" = 3000
	run $GB audit verify
	expect_rc "$1: audit verify passes" 0
	run $GB provision --dry-run --full
	expect_out "$1: nothing left to do" "No changes."
}

# --- short outage: reconnect (exit 0) or a clean stop (exit 1 with a message naming the LDAP operation) ---
outage "short outage" 20 0
case $rc in
0) _ok "short outage: the run reconnected and finished" ;;
1) expect "short outage: a clean stop says where" grep -q 'provision: .*ldap .*CN=.*stopped after' "$T/.err" ;;
*) _no "short outage: the run ended badly" "exit $rc" ;;
esac
expect "short outage: the client said it reconnects" grep -q 'went away; reconnecting' "$T/.err"
expect_not "short outage: no crash" "Segmentation"
converges "short outage"

# --- long outage: a clean stop ---
outage "long outage" 40 6
expect "long outage: the run stopped cleanly (exit 1)" test "$rc" = 1
expect "long outage: the message names the LDAP operation and the reconnect" grep -q 'ldap .*reconnecting' "$T/.err"
expect "long outage: it says where it stopped" grep -q 'stopped after [0-9]* of 120 operations, run again' "$T/.err"
expect "long outage: it stopped during the outage instead of failing every later operation" test "$still" != 0
expect "long outage: one operation failed, none after it was tried" test "$(grep -c '^groupbridge: error: provision: ' "$T/.err")" = 1
converges "long outage"
finish
