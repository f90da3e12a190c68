#!/bin/sh
# Review D9: the inventory resolves the members it counts through the Global Catalog when [directory] gc_uri is set,
# as provisioning does. A user below the forest but outside the configured base DN stands in for a user of another
# domain of the same forest (which only the GC holds): without gc_uri it counts as "other forest" (members dropped),
# with it, as this forest's user.
. "$(dirname "$0")/lib_ad.sh"
WB="OU=gbgcwb-$$,$GB_TEST_DC1_BASE_DN"
UO="OU=gbgcusers-$$,$GB_TEST_DC1_BASE_DN"
ad_ou DC1 "$WB"
ad_ou DC1 "$UO"
eval "$(ad_users DC1 "$UO" ga-$$)"
eval "ga=\$ga_$$"
id() { printf '00000019-0000-4000-8000-%012d' "$1"; }
printf 'dn: CN=Group_%s,%s\nobjectClass: group\ngroupType: -2147483640\nadminDescription: Group_%s\n\n' \
	"$(id 1)" "$WB" "$(id 1)" | ldap_on DC1 ldapadd >/dev/null
tenant_new "$T/tenant.json"
tenant_user "$T/tenant.json" u-ga "$ga"
tenant_group "$T/tenant.json" "$(id 1)" "Team 1" members=u-ga \
	'writebackConfiguration:={"isEnabled": true, "onPremisesGroupType": "universalSecurityGroup"}'
fake_start "$T/tenant.json"
gb_config "$T/gb.ini" DC1 "$WB" "groups = $(id 1)" \
	"[migration]" "connect_sync_export = $here/data/connect-sync/contoso-2016-upgraded" "writeback_ou = $WB" \
	"tenant_domain = contoso.example"
# the DC's searches stay below the writeback OU: the user's OU is outside, as another domain's users would be
sed -i "s|^base_dn = .*|base_dn = $WB|" "$T/gb.ini"

run $GB_BIN --config "$T/gb.ini" --state "$T/dc.db" migrate run
expect_rc "the inventory stops at its gate" 4
expect_out "without a Global Catalog the user outside the base DN counts as another forest's" \
	"members dropped: 0 cloud-only, 1 other forest"

sed -i "/^base_dn = /a gc_uri = $GB_TEST_DC1_GB_GCS_URI" "$T/gb.ini"
run $GB_BIN --config "$T/gb.ini" --state "$T/gc.db" migrate run
expect_rc "the inventory with gc_uri stops at its gate" 4
expect_out "through the Global Catalog the same user is this forest's" "members dropped: 0 cloud-only, 0 other forest"
finish
