#!/bin/sh
# [directory] uri names two DCs (issue 14): the pass's own connection reaches the first, and every further connection
# (the forest reader's, the write pool's) would reach the second, which may not have replicated what the first holds
# (a group the last pass created). Two proxies in front of DC1 play them: the first stops listening after one
# connection (--max-connections 1), so libldap goes on to the next URI, and the second reports another dsServiceName
# (--dsa-name), as another DC of the domain does. groupbridge must notice that a second connection reached another DC
# and do everything on its own connection: the forest is read again there, the pool does not grow, nothing is written
# through the other DC, and the pass is the same as with one URI. Before this test, neither branch had ever run.
. "$(dirname "$0")/lib_ad.sh"
OU="OU=gbtwodc-$$,$GB_TEST_DC1_BASE_DN"
ad_numbered_users DC1 "$OU" td 6
tenant_of_groups "$T/tenant.json" "$T/guids" 00000ec0 "Two DCs %02d" 12 999 3
OTHER="CN=NTDS Settings,CN=OTHERDC,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,$GB_TEST_DC1_BASE_DN"
dc1_proxy first --max-connections 1
dc1_proxy second --dsa-name "$OTHER"
uri_of() { sed -n "s/^GB_TEST_DC1_GB_LDAPS_URI='\(.*\)'/\1/p" "$T/$1/proxy.env"; }
provision_start DC1 "$OU"
awk -v u="$(uri_of first) $(uri_of second)" '/^uri = / { print "uri = " u; next }
	/^\[directory\]/ { print; print "writes_in_flight = 8"; next } { print }' "$T/gb.ini" >"$T/two.ini"
expect "the configuration names both DCs" grep -q "^uri = ldaps://.* ldaps://" "$T/two.ini"
TWO="$GB_BIN --config $T/two.ini --state $GB_DB"

run $TWO -v provision
expect_rc "the pass exits 0" 0
expect "its own connection reached the first DC" grep -q "no longer listening" "$T/first/proxy.log"
expect_err "the write pool saw a second connection reach the other DC and did not grow" \
	"writes continue with 1 connection in flight: a second connection reached $OTHER"
expect_err "the forest was read again on the pass's connection" "reading the forest on a second connection: it reached $OTHER"
expect "nothing was written through the other DC" test "$(grep -c ' write ' "$T/second/proxy.log")" = 0
expect "every group is in AD" test "$(groups_in_ad)" = 12
expect "with every member" test "$(members_in_ad)" = "$($GBTEST tenant count-links "$T/tenant.json")"
run $TWO provision --full
expect_out "a full pass on the same URIs finds nothing to do" "0 operations applied"
# the control: aimed at the second DC alone, a pass writes through it, and the proxy notes the write
ldap_on DC1 ldapdelete "$(_ad_search "OU=Groups,$OU" 1.1 | sed -n 's/^dn: //p' | head -1)" >/dev/null
sed "s|^uri = .*|uri = $(uri_of second)|" "$T/gb.ini" >"$T/second.ini"
run $GB_BIN --config "$T/second.ini" --state "$GB_DB" provision --full
expect_rc "a pass through the second DC alone exits 0" 0
expect "and its writes are noted there" test "$(grep -c ' write ' "$T/second/proxy.log")" -ge 1
expect "the group is back" test "$(groups_in_ad)" = 12
run $GB audit verify
expect_rc "the audit log verifies" 0
finish
