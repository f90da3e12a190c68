#!/bin/sh
# AD review D1 end to end: convert-soa and match look groups up through the Global Catalog (gc_uri) in a forest of
# several domains, where the DC answers a read of another domain's object with a referral (10, "0000202B: RefErr").
# The test runs its own Windows personality (ldap_proxy.py) in front of DC1 with a referral for an OU that stands in
# for the naming context of another domain of the forest (and for DC=child, as the Windows pass's proxy has): the GC
# port finds objects there, the DC port refers every read of them. Each lookup must end in a clear per-group answer,
# never a failed step and never a silent match:
#   convert-soa: a listed group whose SID the GC finds in the other domain  -> "other-domain", not converted
#   convert-soa: a listed group of this domain                              -> converted
#   match: a converted group whose anchor an AD group of the other domain carries already (an earlier Cloud Sync
#          trial there; only the GC sees it)                                  -> blocked, naming that group
#   match: a written-back group whose anchor a group of the other domain carries too -> blocked (several groups)
#   match: a written-back group whose anchor only it carries                 -> matched
#   match: a written-back group whose anchor, after stamp-anchors, only a group of the other domain carries (the
#          written-back group deleted, a copy there)                        -> blocked, naming that group and domain
# and convert-soa --make-universal applies AD's scope rules across the whole domain, not only below base_dn (here the
# writeback OU): a global group held by a global group of another OU, and a domain local group holding a foreign
# security principal (kept in the domain's CN=ForeignSecurityPrincipals), cannot become universal.
. "$(dirname "$0")/lib_ad.sh"
BASE=$GB_TEST_DC1_BASE_DN
WB="OU=gbref-$$,$BASE"
CH="OU=gbrefchild-$$,$BASE"
ad_ou_users DC1 "$WB" rf
ad_ou DC1 "$CH"
id() { printf '0000001a-0000-4000-8000-%012d' "$1"; }
W1=$(id 1) # written back, its anchor only on its group
W2=$(id 2) # written back, its anchor on a group of the other domain too
W3=$(id 3) # written back, stamped, then deleted; a copy in the other domain carries its anchor
H=$(id 90) # synced group of this domain, listed for conversion; a trial group of the other domain has its anchor
X=$(id 91) # synced group of the other domain, listed for conversion
GI=$(id 92) # synced global group of this domain, member of a global group in another OU
LF=$(id 93) # synced domain local group of this domain holding a foreign security principal
OO="OU=gbrefouter-$$,$BASE"
ad_ou DC1 "$OO"
{
	for w in "$W1" "$W2" "$W3"; do
		printf 'dn: CN=Group_%s,%s\nobjectClass: group\ngroupType: -2147483640\nadminDescription: Group_%s\nmember: CN=rf-%s,%s\n\n' \
			"$w" "$WB" "$w" $$ "$WB"
	done
	printf 'dn: CN=Here-%s,%s\nobjectClass: group\ngroupType: -2147483640\nmember: CN=rf-%s,%s\n\n' $$ "$WB" $$ "$WB"
	printf 'dn: CN=There-%s,%s\nobjectClass: group\ngroupType: -2147483640\n\n' $$ "$CH"
	printf 'dn: CN=Trial-%s,%s\nobjectClass: group\ngroupType: -2147483640\nmsDS-ExternalDirectoryObjectId: Group_%s\n\n' $$ "$CH" "$H"
	printf 'dn: CN=Copy-%s,%s\nobjectClass: group\ngroupType: -2147483640\nmsDS-ExternalDirectoryObjectId: Group_%s\n\n' $$ "$CH" "$W2"
	printf 'dn: CN=InnerG-%s,%s\nobjectClass: group\ngroupType: -2147483646\n\n' $$ "$WB"
	printf 'dn: CN=OuterG-%s,%s\nobjectClass: group\ngroupType: -2147483646\nmember: CN=InnerG-%s,%s\n\n' $$ "$OO" $$ "$WB"
	printf 'dn: CN=LocalF-%s,%s\nobjectClass: group\ngroupType: -2147483644\n\n' $$ "$WB"
} | ldap_on DC1 ldapadd >"$T/add.out" 2>&1 || _no "the AD groups load" "$(cat "$T/add.out")"
printf 'dn: CN=LocalF-%s,%s\nchangetype: modify\nadd: member\nmember: <SID=S-1-5-21-1000-2000-3000-1106>\n-\n' $$ "$WB" |
	ldap_on DC1 ldapmodify >"$T/fsp.out" 2>&1 || _no "the FSP fixture loads" "$(cat "$T/fsp.out")"
SID_GI=$(ad_sid DC1 "$WB" "(cn=InnerG-$$)")
SID_LF=$(ad_sid DC1 "$WB" "(cn=LocalF-$$)")
SID_H=$(ad_sid DC1 "$WB" "(cn=Here-$$)")
SID_X=$(ad_sid DC1 "$CH" "(cn=There-$$)")
expect "the AD groups have SIDs" test -n "$SID_H" -a -n "$SID_X"

# the Windows personality in front of DC1, with the other domain's referral
dc1_proxy proxy --referral "$CH" child.test.example --referral "DC=child,$BASE" child.test.example
. "$T/proxy/proxy.env"

tenant_new "$T/tenant.json"
tenant_user "$T/tenant.json" u-a "$rf"
tenant_group "$T/tenant.json" "$W1" "Written One" members=u-a
tenant_group "$T/tenant.json" "$W2" "Written Two" members=u-a
tenant_group "$T/tenant.json" "$W3" "Written Three" members=u-a
tenant_group "$T/tenant.json" "$H" "Here" members=u-a onPremisesSyncEnabled:=true "onPremisesSecurityIdentifier=$SID_H"
tenant_group "$T/tenant.json" "$X" "There" onPremisesSyncEnabled:=true "onPremisesSecurityIdentifier=$SID_X"
tenant_group "$T/tenant.json" "$GI" "InnerG" onPremisesSyncEnabled:=true "onPremisesSecurityIdentifier=$SID_GI"
tenant_group "$T/tenant.json" "$LF" "LocalF" onPremisesSyncEnabled:=true "onPremisesSecurityIdentifier=$SID_LF"
fake_start "$T/tenant.json"
gb_config "$T/gb.ini" DC1 "$WB" "groups = $W1 $W2 $W3" "allowed_containers = $WB" \
	"[migration]" "connect_sync_export = $here/data/connect-sync/contoso-2016-upgraded" "writeback_ou = $WB" \
	"tenant_domain = contoso.example" "convert_groups = $H, $X, $GI, $LF"
# the DC's own searches stay in this domain's part (the writeback OU); the forest is read through the GC
sed -i "s|^base_dn = .*|base_dn = $WB|; /^base_dn = /a gc_uri = $GB_TEST_DC1_GB_GCS_URI" "$T/gb.ini"
expect "groupbridge talks to the proxy" grep -q "^uri = $GB_TEST_DC1_GB_LDAPS_URI" "$T/gb.ini"
$GBTEST coexistence-export "$here/.." "$T/after"
GB="$GB_BIN --config $T/gb.ini --state $T/gb.db"
result() { sqlite3 "$T/gb.db" "SELECT match_result FROM migration_groups WHERE object_id = '$1'"; }
migrate_to_convert_soa

run $GB migrate plan convert-soa
expect_rc "the convert-soa plan is made (the referral fails no step)" 0
expect_out "the group of the other domain is reported as such" "other-domain"
expect_out "naming its DN, found through the GC" "CN=There-$$,$CH is in another domain of the forest"
expect_out "the group of this domain is planned" "isCloudManaged: false -> true"
run $GB migrate plan convert-soa --make-universal
expect_out "the global group held by a global group outside base_dn cannot become universal" \
	"InnerG-$$,$WB cannot become universal: it is a member of the global group CN=OuterG-$$,$OO"
expect_out "the domain local group holding a foreign principal cannot become universal" \
	"LocalF-$$,$WB cannot become universal: it holds the foreign security principal"
expect_not "neither gets a scope change" "groupType: -"
run $GB migrate run --yes --until convert-soa
expect_rc "convert-soa runs" 0
expect "the group of this domain is converted" test "$(cloud_managed "$H")" = True
expect "the group of the other domain is not" test "$(cloud_managed "$X")" = False

# W3's written-back group goes away after stamp-anchors; a copy in the other domain carries its anchor
printf 'dn: CN=Group_%s,%s\nchangetype: delete\n\n' "$W3" "$WB" | ldap_on DC1 ldapmodify >"$T/del3.out" 2>&1 ||
	_no "W3's written-back group is deleted" "$(cat "$T/del3.out")"
printf 'dn: CN=Copy3-%s,%s\nobjectClass: group\ngroupType: -2147483640\nmsDS-ExternalDirectoryObjectId: Group_%s\n\n' $$ "$CH" "$W3" |
	ldap_on DC1 ldapadd >"$T/copy3.out" 2>&1 || _no "W3's copy in the other domain loads" "$(cat "$T/copy3.out")"
run $GB migrate run --yes
expect_rc "match stops at its gate (blocked groups), it does not fail" 4
expect "the written-back group whose anchor only a group of the other domain carries is blocked, not matched there" \
	sh -c "echo '$(result "$W3")' | grep -q '^blocked: the AD group that carries the anchor Group_$W3, CN=Copy3-$$,$CH, is in another domain of the forest'"
expect "nor given a matched DN" test -z "$(sqlite3 "$T/gb.db" "SELECT matched_dn FROM migration_groups WHERE object_id = '$W3'")"
expect "the converted group whose anchor a group of the other domain carries is blocked" \
	sh -c "echo '$(result "$H")' | grep -q '^blocked: the anchor Group_$H is on CN=Trial-$$,$CH'"
expect "the written-back group whose anchor is on a group of the other domain too is blocked" \
	sh -c "echo '$(result "$W2")' | grep -q '^blocked: several AD groups carry the anchor Group_$W2'"
expect "the written-back group whose anchor only it carries is matched" test "$(result "$W1")" = matched
expect "the proxy referred reads of the other domain's objects" grep -q "referral for CN=There-$$" "$T/proxy/proxy.log"
run $GB audit verify
expect_rc "the audit log verifies" 0
finish
