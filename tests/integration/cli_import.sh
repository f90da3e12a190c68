#!/bin/sh
# `groupbridge import connect-sync`: the real contoso-2016 export, writeback variants made in a copy, malformed
# exports (exit 2 naming the file, nothing stored), --json, and history in the state database. Needs no servers.
. "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
SAMPLE="$top/tests/data/connect-sync/contoso-2016"
FIX="$top/tests/data/connect-sync/fixtures"
MV=GlobalSettings/MV.xml
AD='Connectors/Connector_{ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d}.xml'
printf '[migration]\n' >"$T/gb.ini"
DB="$T/state.db"

gb() { run "$GB_BIN" --config "$T/gb.ini" --state "$DB" "$@"; }
db() { sqlite3 "$DB" "$1"; }
copy() { rm -rf "$T/$1" && cp -R "$SAMPLE" "$T/$1" && chmod -R u+w "$T/$1"; }
jq_py() { # FILE EXPR: prints a Python expression evaluated on the JSON document j
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# ---- help teaches -------------------------------------------------------------------------------------------
gb import --help
expect_rc "help exits 0" 0
expect_out "help shows the PowerShell that makes the export" "Get-ADSyncServerConfiguration -Path"
expect_out "help explains danger" "delete-rule.present"
gb import
expect_rc "no source is a usage error" 2
gb import ldap "$SAMPLE"
expect_rc "unknown source is a usage error" 2
expect_err "unknown source is named" 'unknown source "ldap"'

# ---- the real sample -----------------------------------------------------------------------------------------
gb import connect-sync "$SAMPLE"
expect_rc "sample imports" 0
expect_out "summary names the server" "server CONTOSO-SYNC01"
expect_out "summary says writeback is off" "[writeback.disabled]"
expect_out "summary lists two connectors" "Connectors (2):"
expect_out "summary counts 62 rules" "Sync rules: 62"
expect_out "summary finds the Group Join filter" "adminDescription NOTSTARTSWITH Group_ found"
first=$(grep -n 'Findings' "$T/.out" | head -n 1 | cut -d: -f1)
expect "findings come first" [ "${first:-99}" -le 4 ]
expect "one import stored" [ "$(db 'SELECT count(*) FROM cs_imports')" = 1 ]
expect "62 rules stored" [ "$(db 'SELECT count(*) FROM cs_rules')" = 62 ]
expect "writeback off stored" [ "$(db 'SELECT writeback_enabled FROM cs_imports WHERE is_current = 1')" = 0 ]
expect "the run is in the history" [ "$(db "SELECT exit_code || ' ' || summary FROM runs WHERE command LIKE 'import connect-sync %'")" = "0 import 1: group writeback off, 62 rules, 0 danger, 0 warning" ]

# ---- --json prints the whole model ----------------------------------------------------------------------------
gb import connect-sync "$SAMPLE" --json
expect_rc "json import exits 0" 0
cp "$T/.out" "$T/sample.json"
expect "json is valid" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/sample.json"
expect "json: writeback off" [ "$(jq_py "$T/sample.json" "j['writeback']['enabled']")" = False ]
expect "json: 62 rules" [ "$(jq_py "$T/sample.json" "len(j['rules'])")" = 62 ]
expect "json: 2 connectors" [ "$(jq_py "$T/sample.json" "len(j['connectors'])")" = 2 ]
expect "json: entra connector by kind" \
	[ "$(jq_py "$T/sample.json" "[c['id'] for c in j['connectors'] if c['kind']=='entra'][0]")" = b891884f-051e-4a83-95af-2544101c9083 ]
expect "json: threshold 500" [ "$(jq_py "$T/sample.json" "j['delete_threshold']['value']")" = 500 ]
expect "json: group join scope kept" \
	[ "$(jq_py "$T/sample.json" "[s['operator'] for r in j['rules'] if r['name']=='In from AD - Group Join' for g in r['scope'] for s in g if s['attribute']=='adminDescription'][0]")" = NOTSTARTSWITH ]
gb import --json connect-sync "$SAMPLE"
expect_rc "--json before the source is a usage error" 2
gb import connect-sync --json "$SAMPLE"
expect_rc "--json before the folder works" 0
expect "history kept: three imports" [ "$(db 'SELECT count(*) FROM cs_imports')" = 3 ]
expect "one current import" [ "$(db 'SELECT count(*) FROM cs_imports WHERE is_current = 1')" = 1 ]
expect "the newest is current" [ "$(db 'SELECT max(id) FROM cs_imports')" = "$(db 'SELECT id FROM cs_imports WHERE is_current = 1')" ]

# ---- writeback enabled: flags, connector container, SOAInAAD, coexistence and delete rules ------------------------
copy wb
sed -i 's|"Microsoft.OptionalFeature.GroupWriteBack" type="string" use="SynchronizationGlobal" dataType="String">False|"Microsoft.OptionalFeature.GroupWriteBack" type="string" use="SynchronizationGlobal" dataType="String">True|' "$T/wb/$MV"
sed -i 's|<parameter name="Microsoft.GroupWriteBack.Forest" type="string" use="SynchronizationGlobal" dataType="String" />|<parameter name="Microsoft.GroupWriteBack.Forest" type="string" use="SynchronizationGlobal" dataType="String">contoso.com</parameter>|' "$T/wb/$MV"
sed -i 's|<parameter name="Microsoft.GroupWriteBack.Container" type="string" use="SynchronizationGlobal" dataType="String" />|<parameter name="Microsoft.GroupWriteBack.Container" type="string" use="SynchronizationGlobal" dataType="String">OU=CloudGroups,OU=CORP,DC=contoso,DC=com</parameter>|' "$T/wb/$MV"
sed -i 's|<parameter name="Connector.GroupFilteringGroupDn" type="string" use="global" dataType="String" />|&<parameter name="Connector.GroupWriteBackContainerDn" type="string" use="global" dataType="String">OU=CloudGroups,OU=CORP,DC=contoso,DC=com</parameter>|' "$T/wb/$AD"
for r in soainaad-in soainaad-out member-limit; do cp "$FIX/rules/$r.xml" "$T/wb/SynchronizationRules/SynchronizationRule_$r.xml"; done
gb import connect-sync "$T/wb" --json
expect_rc "writeback export imports" 0
cp "$T/.out" "$T/wb.json"
expect "json: writeback on" [ "$(jq_py "$T/wb.json" "j['writeback']['enabled']")" = True ]
expect "json: container from the connector" [ "$(jq_py "$T/wb.json" "j['writeback']['connector_container']")" = "OU=CloudGroups,OU=CORP,DC=contoso,DC=com" ]
expect "json: OU in scope" [ "$(jq_py "$T/wb.json" "j['writeback']['ou_in_scope']")" = True ]
expect "json: SOAInAAD roles" [ "$(jq_py "$T/wb.json" "sum('soainaad' in r['roles'] for r in j['rules'])")" = 2 ]
expect "json: no danger yet" [ "$(jq_py "$T/wb.json" "sum(f['severity']=='danger' for f in j['findings'])")" = 0 ]
expect "json: coexistence missing is a warning" \
	[ "$(jq_py "$T/wb.json" "[f['severity'] for f in j['findings'] if f['code']=='coexistence.missing'][0]")" = warning ]

cp "$FIX/rules/delete-rule.xml" "$T/wb/SynchronizationRules/SynchronizationRule_delete.xml"
gb import connect-sync "$T/wb"
expect_rc "with the delete rule: exit 0" 0
expect_out "the delete rule is DANGER" "DANGER  DANGER: rule In from AAD - Group SOAinAAD Delete WriteBackOutOfScope"
dline=$(grep -n 'DANGER' "$T/.out" | head -n 1 | cut -d: -f1)
iline=$(grep -n '^  info' "$T/.out" | head -n 1 | cut -d: -f1)
expect "danger is printed before info" [ "${dline:-99}" -lt "${iline:-0}" ]
expect "danger stored" [ "$(db "SELECT severity FROM cs_findings f JOIN cs_imports i ON i.id = f.import_id WHERE i.is_current = 1 AND f.code = 'delete-rule.present'")" = danger ]

cp "$FIX/rules/coex-inbound.xml" "$FIX/rules/coex-outbound.xml" "$T/wb/SynchronizationRules/"
rm "$T/wb/SynchronizationRules/SynchronizationRule_delete.xml"
gb import connect-sync "$T/wb"
expect_rc "with the coexistence rules: exit 0" 0
expect_out "coexistence present" "[coexistence.present]"
expect_not "no danger with both coexistence rules" "DANGER"

# ---- malformed: exit 2, the file named, nothing stored ---------------------------------------------------------------
before=$(db 'SELECT count(*) FROM cs_imports')
current=$(db 'SELECT id FROM cs_imports WHERE is_current = 1')
bad() { # NAME FIXTURE-OR-ACTION FILE-IN-MESSAGE
	expect_rc "$1: exit 2" 2
	expect_err "$1: names the file" "$2"
	expect "$1: nothing stored" [ "$(db 'SELECT count(*) FROM cs_imports')" = "$before" ]
	expect "$1: current import unchanged" [ "$(db 'SELECT id FROM cs_imports WHERE is_current = 1')" = "$current" ]
}
copy m1
cp "$FIX/malformed/truncated.xml" "$T/m1/SynchronizationRules/SynchronizationRule_cut.xml"
gb import connect-sync "$T/m1"
bad "truncated rule" "SynchronizationRule_cut.xml:"
expect_err "truncated rule: says malformed xml" "malformed xml"

copy m2
cp "$FIX/malformed/xxe.xml" "$T/m2/SynchronizationRules/SynchronizationRule_xxe.xml"
gb import connect-sync "$T/m2"
bad "xxe" "SynchronizationRule_xxe.xml:2: document type declarations are refused"
host=$(head -n 1 /etc/hostname 2>/dev/null)
[ -n "$host" ] && expect_not "xxe: the local file is not included" "$host"

copy m3
cp "$FIX/malformed/bad-utf8.xml" "$T/m3/SynchronizationRules/SynchronizationRule_enc.xml"
gb import connect-sync "$T/m3"
bad "bad encoding" "SynchronizationRule_enc.xml:3:"

copy m4
rm "$T/m4/$MV"
gb import connect-sync "$T/m4"
bad "missing MV.xml" "GlobalSettings: no MV.xml"

gb import connect-sync "$T/absent"
bad "missing folder" "$T/absent"

copy m5
head -c 900000 "$T/m5/$AD" >"$T/m5/cut" && mv "$T/m5/cut" "$T/m5/$AD"
gb import connect-sync "$T/m5"
bad "truncated connector" "Connector_{ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d}.xml:14:"

copy m6
mkdir "$T/m6/Connectors/Connector_{00000000-0000-0000-0000-00000000dead}.xml"
gb import connect-sync "$T/m6"
bad "unreadable file" "Connector_{00000000-0000-0000-0000-00000000dead}.xml: not a regular file"

# Nothing stored even on a first import: no state database is created at all.
rm -f "$T/fresh.db"
run "$GB_BIN" --config "$T/gb.ini" --state "$T/fresh.db" import connect-sync "$T/m1"
expect_rc "first import of a broken export exits 2" 2
expect "no state file is created" [ ! -e "$T/fresh.db" ]

# ---- the folder from the configuration ---------------------------------------------------------------------------
printf '[migration]\nconnect_sync_export = %s\n' "$SAMPLE" >"$T/cfg.ini"
run "$GB_BIN" --config "$T/cfg.ini" --state "$T/cfg.db" import connect-sync
expect_rc "folder from [migration] connect_sync_export" 0
expect_out "folder from config is read" "Connect Sync export $SAMPLE"
run "$GB_BIN" --config "$T/gb.ini" --state "$T/cfg.db" import connect-sync
expect_rc "no folder anywhere is a usage error" 2
expect_err "no folder: says where to set it" "connect_sync_export"

# The configuration's writeback_ou overrides the export's container, and is said so.
printf '[migration]\nwriteback_ou = OU=Moved,OU=CORP,DC=contoso,DC=com\n' >"$T/ou.ini"
run "$GB_BIN" --config "$T/ou.ini" --state "$T/ou.db" import connect-sync "$T/wb"
expect_rc "writeback_ou from the configuration: exit 0" 0
expect_out "the override is a finding" "[writeback.ou-override]"
expect_out "the override is shown" "OU (configuration)    OU=Moved,OU=CORP,DC=contoso,DC=com"

# A configuration that does not load stops the import before anything is read or stored.
run "$GB_BIN" --config "$T/absent.ini" --state "$T/absent.db" import connect-sync "$SAMPLE"
expect_rc "missing configuration: exit 2" 2
expect "missing configuration: no state file" [ ! -e "$T/absent.db" ]
GROUPBRIDGE_CONFIG="$T/absent.ini" run "$GB_BIN" --state "$T/absent.db" import connect-sync "$SAMPLE"
expect_rc "a configuration named by \$GROUPBRIDGE_CONFIG must exist: exit 2" 2

# Reading an export needs no configuration: with no file named and no groupbridge.ini here, DIR is imported into
# groupbridge.state.db in the current directory, the database a groupbridge.ini written here later uses.
mkdir "$T/bare"
(cd "$T/bare" && unset GROUPBRIDGE_CONFIG && run "$GB_BIN" import connect-sync "$SAMPLE" && echo "$rc" >rc)
expect "no configuration file: exit 0" [ "$(cat "$T/bare/rc")" = 0 ]
expect "no configuration file: stored in ./groupbridge.state.db" \
	[ "$(sqlite3 "$T/bare/groupbridge.state.db" 'SELECT count(*) FROM cs_imports WHERE is_current = 1')" = 1 ]
expect "no configuration file: it says where" grep -q "importing into groupbridge.state.db" "$T/.err"
(cd "$T/bare" && unset GROUPBRIDGE_CONFIG && run "$GB_BIN" import connect-sync && echo "$rc" >rc)
expect "no configuration file and no DIR: usage error" [ "$(cat "$T/bare/rc")" = 2 ]
expect "it asks for DIR" grep -q "give DIR" "$T/.err"
printf '[migration]\nconnect_sync_export = %s\n' "$SAMPLE" >"$T/bare/groupbridge.ini"
(cd "$T/bare" && unset GROUPBRIDGE_CONFIG && run "$GB_BIN" import connect-sync && echo "$rc" >rc)
expect "a groupbridge.ini written later uses the same database" \
	[ "$(cat "$T/bare/rc") $(sqlite3 "$T/bare/groupbridge.state.db" 'SELECT count(*) FROM cs_imports')" = "0 2" ]

finish
