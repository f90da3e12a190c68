#!/bin/sh
# scope = all with Cloud Sync's filter operators: only the groups that match a filter line are provisioned, and the
# run warns about the cost of reading the whole tenant.
. "$(dirname "$0")/lib_ad.sh"
OU="OU=gball-$$,$GB_TEST_DC1_BASE_DN"
ad_ou DC1 "$OU"
cat >"$T/tenant.json" <<'JSON'
{"tenant_id": "fffffff7-2222-4333-8444-555555555555",
 "clients": [{"client_id": "fffffff8-2222-4333-8444-555555555555", "secret": "scope-all-secret"}],
 "groups": [
  {"id": "0000000e-0000-4000-8000-000000000001", "displayName": "Sales EMEA", "description": "x", "securityEnabled": true, "mailEnabled": false, "groupTypes": []},
  {"id": "0000000e-0000-4000-8000-000000000002", "displayName": "Sales APAC", "securityEnabled": true, "mailEnabled": false, "groupTypes": []},
  {"id": "0000000e-0000-4000-8000-000000000003", "displayName": "Finance", "securityEnabled": true, "mailEnabled": false, "groupTypes": []},
  {"id": "0000000e-0000-4000-8000-000000000004", "displayName": "sales lowercase", "description": "y", "securityEnabled": true, "mailEnabled": false, "groupTypes": []},
  {"id": "0000000e-0000-4000-8000-000000000005", "displayName": "Sales Mail", "description": "z", "securityEnabled": true, "mailEnabled": true, "groupTypes": []}
 ]}
JSON
fake_start "$T/tenant.json"
gb_config "$T/gb.ini" DC1 "$OU" "scope = all" \
	'filter = displayName REGEX MATCH "^Sales" AND description IS NOT NULL' \
	'filter = displayName EQUALS "Finance"'
run "$GB_BIN" --config "$T/gb.ini" --state "$T/gb.db" provision
expect_rc "scope = all run exits 0" 0
expect_err "it warns about reading the whole tenant" "scope = all reads every group of the tenant"
groups=$(ldap_on DC1 ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$OU" "(objectClass=group)" cn 2>/dev/null | sed -n 's/^cn: //p' | sort | tr '\n' '|')
expect "exactly Sales EMEA (first line) and Finance (second line)" test "$groups" = "Finance_000000000003|Sales EMEA_000000000001|"
expect_out "the mail-enabled match is refused, not written" "1 groups unsupported"
finish
