#!/bin/sh
# Secrets are kept: a full flow at debug level (config check, import, dry run, provision, reports, audit export)
# and then every log line, report, audit record, the state database and the process argument list are searched for
# the bind password and the Graph client secret. None may appear.
. "$(dirname "$0")/lib_ad.sh"
OU="OU=gbsecret-$$,$GB_TEST_DC1_BASE_DN"
ad_ou_users DC1 "$OU" sa
GRAPH_SECRET="graph-Secret-$$-Zq81"
cat >"$T/tenant.json" <<JSON
{"tenant_id": "fffffff9-2222-4333-8444-555555555555",
 "clients": [{"client_id": "fffffffa-2222-4333-8444-555555555555", "secret": "$GRAPH_SECRET"}],
 "users": [{"id": "0000eeee-0000-4000-8000-000000000061", "onPremisesObjectIdentifier": "$sa"}],
 "groups": [{"id": "0000000f-2222-4222-8222-00000000000f", "displayName": "Secretive", "securityEnabled": true,
             "mailEnabled": false, "groupTypes": [], "members": ["0000eeee-0000-4000-8000-000000000061"]}]}
JSON
fake_start "$T/tenant.json"
gb_config "$T/gb.ini" DC1 "$OU" "groups = 0000000f-2222-4222-8222-00000000000f"
BIND_PASSWORD=$(cat "$GB_TEST_DC1_BIND_PASSWORD_FILE")
expect "the fake's secret file holds the Graph secret" grep -q "$GRAPH_SECRET" "$T/fake/secret"
GB="$GB_BIN -v --config $T/gb.ini --state $T/gb.db"
$GB config check >"$T/log.1" 2>&1
$GB --log-format json import connect-sync "$here/data/connect-sync/contoso-2016" >"$T/log.2" 2>&1
$GB provision --dry-run >"$T/log.3" 2>&1
$GB provision >"$T/log.4" 2>&1 &
pid=$!
sleep 0.2
cat /proc/$pid/cmdline 2>/dev/null | tr '\0' ' ' >"$T/cmdline"
wait $pid
expect "the provisioning run worked" grep -q "1 provisioned" "$T/log.4"
expect "debug logging was on (requests are logged)" grep -q "GET" "$T/log.4"
$GB report run --output "$T/run.html" >/dev/null 2>&1
$GB report run --format json --output "$T/run.json" >/dev/null 2>&1
$GB report plan --output "$T/plan.md" >/dev/null 2>&1
$GB audit export --format jsonl --output "$T/audit.jsonl" >/dev/null 2>&1
sqlite3 "$T/gb.db" .dump >"$T/state.sql"
for f in log.1 log.2 log.3 log.4 cmdline run.html run.json plan.md audit.jsonl state.sql; do
	expect "no bind password in $f" sh -c "! grep -qF -- '$BIND_PASSWORD' '$T/$f'"
	expect "no Graph secret in $f" sh -c "! grep -qF -- '$GRAPH_SECRET' '$T/$f'"
done
expect "no access token in the logs" sh -c "! grep -qi 'bearer [a-z0-9]' '$T/log.3' '$T/log.4'"
expect "the state database is private" test "$(stat -c %a "$T/gb.db")" = 600
expect "reports are private" test "$(stat -c %a "$T/run.html")" = 600
finish
