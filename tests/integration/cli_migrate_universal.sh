#!/bin/sh
# convert-soa and the scope of AD groups (issue 7, step 6): Cloud Sync provisions universal groups, so a global
# group listed for conversion is reported and left alone; with --make-universal its scope becomes universal first
# (security flag kept), and a group whose scope AD's rules forbid to change (a global group that is a member of another
# global group) is reported and stays in AD's hands.
. "$(dirname "$0")/lib_ad.sh"
WB="OU=gbuni-$$,$GB_TEST_DC1_BASE_DN"
ad_ou_users DC1 "$WB" un
WBG=00000017-0000-4000-8000-000000000001
# a written-back group, a global group to convert, and a global group that is a member of another global group
{
	printf 'dn: CN=Group_%s,%s\nobjectClass: group\ngroupType: -2147483640\nadminDescription: Group_%s\nmember: CN=un-%s,%s\n\n' \
		"$WBG" "$WB" "$WBG" $$ "$WB"
	printf 'dn: CN=Global Team-%s,%s\nobjectClass: group\ngroupType: -2147483646\nmember: CN=un-%s,%s\n\n' $$ "$WB" $$ "$WB"
	printf 'dn: CN=Inner Global-%s,%s\nobjectClass: group\ngroupType: -2147483646\n\n' $$ "$WB"
	printf 'dn: CN=Outer Global-%s,%s\nobjectClass: group\ngroupType: -2147483646\nmember: CN=Inner Global-%s,%s\n\n' $$ "$WB" $$ "$WB"
} | ldap_on DC1 ldapadd >/dev/null
SID_G=$(ad_sid DC1 "$WB" "(cn=Global Team-$$)")
SID_I=$(ad_sid DC1 "$WB" "(cn=Inner Global-$$)")
G_ID=00000017-0000-4000-8000-000000000090
I_ID=00000017-0000-4000-8000-000000000091
tenant_new "$T/tenant.json"
tenant_user "$T/tenant.json" u-a "$un"
tenant_group "$T/tenant.json" "$WBG" "Written Back" members=u-a
tenant_group "$T/tenant.json" "$G_ID" "Global Team" members=u-a onPremisesSyncEnabled:=true "onPremisesSecurityIdentifier=$SID_G"
tenant_group "$T/tenant.json" "$I_ID" "Inner Global" onPremisesSyncEnabled:=true "onPremisesSecurityIdentifier=$SID_I"
fake_start "$T/tenant.json"
gb_config "$T/gb.ini" DC1 "$WB" "groups = $WBG" "allowed_containers = $WB" \
	"[migration]" "connect_sync_export = $here/data/connect-sync/contoso-2016-upgraded" "writeback_ou = $WB" \
	"tenant_domain = contoso.example" "convert_groups = $G_ID, $I_ID"
$GBTEST coexistence-export "$here/.." "$T/after"
GB="$GB_BIN --config $T/gb.ini --state $T/gb.db"
group_type() { ldap_on DC1 ldapsearch -LLL -b "$WB" "(cn=$1-$$)" groupType | sed -n 's/^groupType: //p'; }
migrate_to_convert_soa

# without --make-universal: the plan reports the global groups and converts neither
run $GB migrate plan convert-soa
expect_out "the plan reports the global group" "is global, not universal"
expect_out "and says how to go on" "--make-universal"
expect_not "and plans no scope change" "groupType"
expect "the global group keeps its scope" test "$(group_type 'Global Team')" = -2147483646
expect "and is not converted" test "$(cloud_managed $G_ID)" = False

# with it: the plan changes the scope of the group AD allows it for, and reports the nested one; a plan changes
# nothing in the state either (it used to record the groups as converted, and a later run without --make-universal,
# which converts neither, then failed its verification on them)
dump_state() { sqlite3 "$T/gb.db" "SELECT object_id, class, coalesce(ad_dn, '') FROM migration_groups ORDER BY 1; SELECT count(*) FROM audit_log"; }
before=$(dump_state)
run $GB migrate plan convert-soa --make-universal
expect "the plan records nothing in the state" test "$(dump_state)" = "$before"
expect_out "the plan changes the scope" "groupType: -2147483646 -> -2147483640"
expect_out "the plan says why the nested group cannot become universal" "Inner Global-$$,$WB cannot become universal: it is a member of the global group CN=Outer Global-$$"
run $GB migrate run --yes --until convert-soa --make-universal
expect_rc "convert-soa runs (exit 0)" 0
expect "the global group is now universal, still security" test "$(group_type 'Global Team')" = -2147483640
expect "and cloud-managed" test "$(cloud_managed $G_ID)" = True
expect "the nested global group stays global" test "$(group_type 'Inner Global')" = -2147483646
expect "and its source of authority stays in AD" test "$(cloud_managed $I_ID)" = False
expect "the scope change is in the audit log" test "$(sqlite3 "$T/gb.db" "SELECT count(*) FROM audit_log WHERE step = 'convert-soa' AND target LIKE 'CN=Global Team-%' AND result = 'ok'")" = 1
run $GB audit verify
expect_rc "the audit log verifies" 0
expect "every audit record uses the documented vocabulary, with an outcome" python3 "$(dirname "$0")/audit_vocabulary.py" "$T/gb.db"
finish
