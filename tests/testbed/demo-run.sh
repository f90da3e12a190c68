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

cat >"$out/contoso.ini" <<INI
; groupbridge demo configuration: one forest, one tenant
[graph]
tenant_id = $GB_TEST_GRAPH_TENANT_ID
client_id = $GB_TEST_GRAPH_CLIENT_ID
client_secret_file = $out/fake/secret
authority_url = $GB_TEST_AUTHORITY_URL
graph_url = $GB_TEST_GRAPH_URL
ca_file = $GB_TEST_CA_DIR/ca.pem

[directory]
uri = $GB_TEST_DC1_LDAPS_URI
bind_dn = $GB_TEST_DC1_BIND_DN
bind_password_file = $GB_TEST_DC1_BIND_PASSWORD_FILE
base_dn = $base
ca_file = $GB_TEST_CA_DIR/ca.pem

[provisioning]
groups_file = $out/groups.txt
target_container = OU=Groups,$ou

[migration]
connect_sync_export = $repo/tests/data/connect-sync/contoso-2016
INI
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
python3 - "$GB_TEST_GRAPH_CONTROL" "$GB_TEST_CA_DIR/ca.pem" <<'PY'
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
body = {"changes": [{"op": "add_members", "group": "f1a00000-0000-4000-8000-000000000001", "members": ["user-megan"]},
                    {"op": "remove_members", "group": "f1a00000-0000-4000-8000-000000000002", "members": ["user-alex"]}]}
req = urllib.request.Request(sys.argv[1] + "/mutate", data=json.dumps(body).encode(), method="POST",
                             headers={"Content-Type": "application/json"})
urllib.request.urlopen(req, context=ctx).read()
PY
gb provision --dry-run
gb provision

step "groupbridge audit verify"
gb audit verify

step "Reports"
gb report run --output "$out/last-run.html"
gb report run --output "$out/last-run.md"
gb audit export --format csv --output "$out/audit.csv"
echo "plan report (HTML):    $out/plan.html"
echo "run report (HTML):     $out/last-run.html"
echo "run report (Markdown): $out/last-run.md"
echo "audit log (CSV):       $out/audit.csv"
