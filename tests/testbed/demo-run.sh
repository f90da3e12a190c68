#!/bin/sh
# The body of `make demo` (see demo.sh), run under with-testbed.sh with DC1 up: BIN OUT
set -eu
bin=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
trap 'sh "$here/graph-fake.sh" stop "$out/fake" >/dev/null 2>&1' EXIT

export LDAPTLS_CACERT="$GB_TEST_CA_DIR/ca.pem"
base=$GB_TEST_DC1_BASE_DN
ou="OU=Contoso Demo,$base"
ldap() { "$@" -H "$GB_TEST_DC1_LDAPS_URI" -D "$GB_TEST_DC1_BIND_DN" -y "$GB_TEST_DC1_BIND_PASSWORD_FILE"; }

step "The forest: an OU with eight users (Samba AD DC on $GB_TEST_DC1_IP, realm $GB_TEST_DC1_REALM)"
{
	printf 'dn: %s\nobjectClass: organizationalUnit\n\n' "$ou"
	printf 'dn: OU=Groups,%s\nobjectClass: organizationalUnit\n\n' "$ou"
	for u in adele alex diego grady isaiah johanna lee megan; do
		printf 'dn: CN=%s,%s\nobjectClass: user\nsAMAccountName: %s\nuserPrincipalName: %s@%s\n\n' \
			"$u" "$ou" "$u" "$u" "$(echo "$GB_TEST_DC1_REALM" | tr 'A-Z' 'a-z')"
	done
} >"$out/forest.ldif"
ldap ldapadd -f "$out/forest.ldif" >/dev/null
ldap ldapsearch -LLL -b "$ou" "(objectClass=user)" objectGUID cn >"$out/users.ldif"
echo "created $(grep -c '^dn: CN=' "$out/forest.ldif") users under $ou"

step "The tenant: users synced from this forest, cloud-only users, and groups of every kind"
python3 "$here/demo_tenant.py" "$out/users.ldif" "$out/tenant.json"
sh "$here/graph-fake.sh" start "$out/fake" "$out/tenant.json" >/dev/null
. "$out/fake/env"
echo "Graph fake at $GB_TEST_GRAPH_URL serving tenant $GB_TEST_GRAPH_TENANT_ID"

. "$here/ini.sh"
gb_ini "$out/contoso.ini" DC1 "[provisioning]" "groups_file = $out/groups.txt" "target_container = OU=Groups,$ou" \
	"" "[migration]" "connect_sync_export = $repo/tests/data/connect-sync/contoso-2016"
gb() { "$bin" --config "$out/contoso.ini" "$@"; }

step "groupbridge config check"
gb config check

step "groupbridge import connect-sync (a real Connect Sync export, contoso-2016)"
gb import connect-sync

step "groupbridge provision --dry-run: the plan, nothing changed yet"
gb provision --dry-run
gb report plan --output "$out/plan.html"

step "groupbridge provision"
gb provision

step "What AD holds now"
ldap ldapsearch -LLL -o ldif-wrap=no -b "OU=Groups,$ou" "(objectClass=group)" cn member |
	sed -n 's/^cn: /  group  /p; s/^member: CN=\([^,]*\),.*/           member \1/p'

step "groupbridge provision again: nothing to do"
gb provision

step "A change in the cloud: Megan joins Finance Approvers, Alex leaves Sales EMEA"
megan=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import demo_tenant; print(demo_tenant.uid("megan"))' "$here")
alex=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import demo_tenant; print(demo_tenant.uid("alex"))' "$here")
python3 "$repo/tests/support/gbtest.py" control "$GB_TEST_GRAPH_CONTROL" "$GB_TEST_CA_DIR/ca.pem" POST /mutate \
	'{"changes": [{"op": "add_members", "group": "f1a00000-0000-4000-8000-000000000001", "members": ["'"$megan"'"]},
	 {"op": "remove_members", "group": "f1a00000-0000-4000-8000-000000000002", "members": ["'"$alex"'"]}]}' >/dev/null
gb provision --dry-run
gb provision

step "groupbridge audit verify"
gb audit verify

step "The migration from group writeback v2 (runbooks/README.md)"
wb="OU=Writeback,$ou"
{
	printf 'dn: %s\nobjectClass: organizationalUnit\n\n' "$wb"
	printf 'dn: CN=Group_0b000000-0000-4000-8000-000000000001,%s\nobjectClass: group\ngroupType: -2147483640\nadminDescription: Group_0b000000-0000-4000-8000-000000000001\nmember: CN=adele,%s\n\n' "$wb" "$ou"
	printf 'dn: CN=Group_0b000000-0000-4000-8000-000000000002,%s\nobjectClass: group\ngroupType: -2147483640\nadminDescription: Group_0b000000-0000-4000-8000-000000000002\nmember: CN=alex,%s\nmember: CN=diego,%s\n\n' "$wb" "$ou" "$ou"
	printf 'dn: CN=Group_0b000000-0000-4000-8000-000000000003,%s\nobjectClass: group\ngroupType: -2147483640\nadminDescription: Group_0b000000-0000-4000-8000-000000000003\n\n' "$wb"
} | ldap ldapadd >/dev/null
echo "three groups as Connect Sync wrote them, under $wb"
sed -i "/^\[provisioning\]/a allowed_containers = OU=Groups,$ou;$wb\ncn = IIF(Left([displayName], 7) = \"Legacy \", Append(\"Group_\", [objectId]), Append(Append(Left(Trim([displayName]), 51), \"_\"), Mid([objectId], 25, 12)))" "$out/contoso.ini"
printf 'writeback_ou = %s\ntenant_domain = contoso.example\n' "$wb" >>"$out/contoso.ini"
gb migrate status
gb migrate run --yes || true
gb report assessment --output "$out/assessment.html"
gb migrate confirm inventory
gb migrate run --yes || true
echo "(The demo has no Connect Sync server: it supplies the export the script above would produce there.)"
python3 "$repo/tests/support/gbtest.py" coexistence-export "$repo" "$out/export-after-coexistence"
gb migrate confirm connect-sync-coexistence --export "$out/export-after-coexistence"
gb migrate run --yes --i-understand-this-is-irreversible || true
echo "(Here the operator would run disable-writeback.ps1 on the Connect Sync server.)"
gb migrate confirm disable-writeback
gb migrate run --yes || true
gb migrate confirm match
gb migrate run --yes || true
gb migrate confirm handoff
gb migrate run --yes
gb migrate status

step "Reports"
gb report status --output "$out/migration-status.html"
gb report verification --output "$out/verification.html"
gb report run --output "$out/last-run.html"
gb report run --output "$out/last-run.md"
gb audit export --format csv --output "$out/audit.csv"
echo "assessment (HTML):     $out/assessment.html"
echo "migration status:      $out/migration-status.html"
echo "verification (HTML):   $out/verification.html"
echo "plan report (HTML):    $out/plan.html"
echo "run report (HTML):     $out/last-run.html"
echo "run report (Markdown): $out/last-run.md"
echo "audit log (CSV):       $out/audit.csv"
