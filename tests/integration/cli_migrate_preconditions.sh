#!/bin/sh
# Preconditions are checked before a step starts: an app without the Graph permissions a step needs is stopped
# before the step, with the permission named (the fake's tokens carry the roles the tenant file grants).
. "$(dirname "$0")/lib_ad.sh"
WB="OU=gbpre-$$,$GB_TEST_DC1_BASE_DN"
ad_ou DC1 "$WB"
tenant_new "$T/tenant.json" 'clients:=[{"client_id": "ffffff06-2222-4333-8444-555555555555", "secret": "precondition-secret",
  "roles": ["Group.Read.All"]}]'
fake_start "$T/tenant.json"
gb_config "$T/gb.ini" DC1 "$WB" "groups = none" \
	"[migration]" "connect_sync_export = $here/data/connect-sync/contoso-2016-upgraded" "writeback_ou = $WB"
run "$GB_BIN" --config "$T/gb.ini" --state "$T/gb.db" migrate run --yes
expect_rc "the inventory does not start without the permission (exit 2)" 2
expect_err "the missing permission is named" "lacks the Microsoft Graph application permission User.Read.All"
run "$GB_BIN" --config "$T/gb.ini" --state "$T/gb.db" migrate status
expect_out "status shows why the inventory stopped" "precondition of step inventory"
expect "every audit record uses the documented vocabulary, with an outcome" python3 "$(dirname "$0")/audit_vocabulary.py" "$T/gb.db"
finish
