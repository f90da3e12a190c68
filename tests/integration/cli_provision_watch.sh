#!/bin/sh
# provision --watch: passes repeat, a cloud change is applied by a later pass, and SIGTERM stops with exit 0.
. "$(dirname "$0")/lib_ad.sh"
OU="OU=gbwatch-$$,$GB_TEST_DC1_BASE_DN"
ad_ou_users DC1 "$OU" wa wb
cat >"$T/tenant.json" <<JSON
{"tenant_id": "fffffff5-2222-4333-8444-555555555555",
 "clients": [{"client_id": "fffffff6-2222-4333-8444-555555555555", "secret": "watch-secret"}],
 "users": [{"id": "0000eeee-0000-4000-8000-000000000061", "onPremisesObjectIdentifier": "$wa"}, {"id": "0000eeee-0000-4000-8000-000000000062", "onPremisesObjectIdentifier": "$wb"}],
 "groups": [{"id": "0000000d-2222-4222-8222-00000000000d", "displayName": "Watched", "securityEnabled": true,
             "mailEnabled": false, "groupTypes": [], "members": ["0000eeee-0000-4000-8000-000000000061"]}]}
JSON
fake_start "$T/tenant.json"
gb_config "$T/gb.ini" DC1 "$OU" "groups = 0000000d-2222-4222-8222-00000000000d"
members() {
	ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$OU" "(cn=Watched_00000000000d)" member 2>/dev/null |
		grep -c '^member:'
}
wait_for() { # N: wait until the group has N members (at most 20 s)
	i=0
	while [ "$(members)" != "$1" ] && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(members)" = "$1" ]
}
"$GB_BIN" --config "$T/gb.ini" --state "$T/gb.db" provision --watch 1 >"$T/watch.out" 2>"$T/watch.err" &
pid=$!
expect "the first pass provisions the group with one member" wait_for 1
fake_mutate '{"changes": [{"op": "add_members", "group": "0000000d-2222-4222-8222-00000000000d", "members": ["0000eeee-0000-4000-8000-000000000062"]}]}'
expect "a later pass applies the cloud change" wait_for 2
kill -TERM $pid
wait $pid
rc=$?
expect "SIGTERM stops the watch with exit 0" test "$rc" = 0
expect "it says it stopped on request" grep -q "stopped on request" "$T/watch.err"
expect "every pass is a run of its own" test "$(sqlite3 "$T/gb.db" 'SELECT count(*) FROM runs WHERE exit_code = 0')" -ge 2
run "$GB_BIN" --config "$T/gb.ini" --state "$T/gb.db" audit verify
expect_rc "the audit log verifies after the watch" 0
finish
