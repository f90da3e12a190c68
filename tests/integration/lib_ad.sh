# AD and Graph-fake fixtures for the shell integration tests (source after lib.sh, under with-testbed.sh).
#   ldap_on DC CMD ARGS...          runs an OpenLDAP tool against DC (DC1 or DC2) over verified LDAPS as Administrator
#   ad_ou DC OU                     creates OU (a DN) and OU=Groups below it
#   ad_users DC OU NAME...          creates users CN=NAME,OU and prints "NAME=objectGUID" lines (GUID as text)
#   fake_start TENANT.json          starts a Graph fake for the test (stopped at exit) and sources its env
#   fake_mutate JSON                POSTs a /_fake/mutate body
#   gb_config FILE DC OU EXTRA...   writes a configuration for DC and the running fake, target OU=Groups,OU;
#                                   EXTRA lines are appended to [provisioning]
#   tenant_of_groups OUT GUIDS PREFIX NAME COUNT [PAGE_SIZE [ROTATE]]
#                                   writes a tenant to OUT whose users are the ad_users lines in GUIDS (synced from
#                                   AD, id u-NAME) and COUNT security groups PREFIX-0000-4000-8000-<n, 12 digits>
#                                   named by the printf format NAME with n, each with every user (ROTATE r: all but
#                                   the first n % r), paged PAGE_SIZE (999); the group ids go to OUT.groups
export LDAPTLS_CACERT="$GB_TEST_CA_DIR/ca.pem"
_lib_here=$(cd "$(dirname "$0")/.." && pwd)

ldap_on() {
	_dc=$1
	shift
	eval "_uri=\$GB_TEST_${_dc}_LDAPS_URI _dn=\$GB_TEST_${_dc}_BIND_DN _pw=\$GB_TEST_${_dc}_BIND_PASSWORD_FILE"
	"$@" -H "$_uri" -D "$_dn" -y "$_pw"
}

ad_ou() {
	printf 'dn: %s\nobjectClass: organizationalUnit\n\ndn: OU=Groups,%s\nobjectClass: organizationalUnit\n\n' "$2" "$2" |
		ldap_on "$1" ldapadd >/dev/null
}

ad_users() {
	_dc=$1
	_ou=$2
	shift 2
	for _u in "$@"; do
		printf 'dn: CN=%s,%s\nobjectClass: user\nsAMAccountName: %s\n\n' "$_u" "$_ou" "$(echo "$_u" | cut -c1-20)"
	done | ldap_on "$_dc" ldapadd >/dev/null
	ldap_on "$_dc" ldapsearch -LLL -b "$_ou" "(objectClass=user)" objectGUID cn | python3 -c '
import base64, re, sys, uuid
text = sys.stdin.read().replace("\n ", "")
for block in text.split("\n\n"):
    cn = re.search(r"^cn: (\S+)", block, re.M)
    g = re.search(r"^objectGUID:: (\S+)", block, re.M)
    if cn and g:
        print("%s=%s" % (cn.group(1).replace("-", "_"), uuid.UUID(bytes_le=base64.b64decode(g.group(1)))))
'
}

fake_start() {
	sh "$_lib_here/testbed/graph-fake.sh" start "$T/fake" "$1" >/dev/null 2>"$T/fake.err" || {
		cat "$T/fake.err"
		echo "0 passed, 1 failed"
		exit 1
	}
	trap 'sh "$_lib_here/testbed/graph-fake.sh" stop "$T/fake"; rm -rf "$T"' EXIT
	. "$T/fake/env"
}

fake_mutate() {
	python3 - "$GB_TEST_GRAPH_CONTROL" "$GB_TEST_CA_DIR/ca.pem" "$1" <<'PY'
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
req = urllib.request.Request(sys.argv[1] + "/mutate", data=sys.argv[3].encode(), method="POST",
                             headers={"Content-Type": "application/json"})
urllib.request.urlopen(req, context=ctx).read()
PY
}

gb_config() {
	_file=$1
	_dc=$2
	_ou=$3
	shift 3
	eval "_uri=\$GB_TEST_${_dc}_LDAPS_URI _dn=\$GB_TEST_${_dc}_BIND_DN _pw=\$GB_TEST_${_dc}_BIND_PASSWORD_FILE _base=\$GB_TEST_${_dc}_BASE_DN"
	{
		cat <<INI
[graph]
tenant_id = $GB_TEST_GRAPH_TENANT_ID
client_id = $GB_TEST_GRAPH_CLIENT_ID
client_secret_file = $T/fake/secret
authority_url = $GB_TEST_AUTHORITY_URL
graph_url = $GB_TEST_GRAPH_URL
ca_file = $GB_TEST_CA_DIR/ca.pem

[directory]
uri = $_uri
bind_dn = $_dn
bind_password_file = $_pw
base_dn = $_base
ca_file = $GB_TEST_CA_DIR/ca.pem

[provisioning]
target_container = OU=Groups,$_ou
INI
		for _line in "$@"; do
			printf '%s\n' "$_line"
		done
	} >"$_file"
}

tenant_of_groups() {
	python3 - "$@" <<'PY'
import json, sys, uuid
out, guids, prefix, name, count = sys.argv[1:6]
page = int(sys.argv[6]) if len(sys.argv) > 6 else 999
rotate = int(sys.argv[7]) if len(sys.argv) > 7 else 0
users = [{"id": str(uuid.uuid5(uuid.NAMESPACE_OID, "u-" + l.split("=")[0])), "onPremisesObjectIdentifier": l.split("=")[1].strip()}
         for l in open(guids) if "=" in l]
ids = [u["id"] for u in users]
groups = [{"id": "%s-0000-4000-8000-%012d" % (prefix, n), "displayName": name % n, "securityEnabled": True,
           "mailEnabled": False, "groupTypes": [], "members": ids[n % rotate:] if rotate else ids}
          for n in range(1, int(count) + 1)]
json.dump({"tenant_id": "fffffff0-2222-4333-8444-555555555555", "page_size": page,
           "clients": [{"client_id": "fffffff1-2222-4333-8444-555555555555", "secret": "tenant-secret"}],
           "users": users, "groups": groups}, open(out, "w"))
open(out + ".groups", "w").write("\n".join(g["id"] for g in groups) + "\n")
PY
}

#   fake_control METHOD PATH [JSON]  calls the fake's control API (PATH below /_fake), prints the reply
fake_control() {
	python3 - "$GB_TEST_GRAPH_CONTROL" "$GB_TEST_CA_DIR/ca.pem" "$1" "$2" "${3:-}" <<'PY'
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
data = sys.argv[5].encode() if sys.argv[5] else None
req = urllib.request.Request(sys.argv[1] + sys.argv[4], data=data, method=sys.argv[3],
                             headers={"Content-Type": "application/json"})
print(urllib.request.urlopen(req, context=ctx).read().decode())
PY
}

#   ad_sid DC BASE FILTER            prints the objectSid (S-1-5-...) of the one entry FILTER finds below BASE
ad_sid() {
	ldap_on "$1" ldapsearch -LLL -b "$2" "$3" objectSid | sed -n 's/^objectSid:: //p' | python3 -c '
import base64, struct, sys
b = base64.b64decode(sys.stdin.read().strip())
auth = int.from_bytes(b[2:8], "big")
subs = struct.unpack("<%dI" % b[1], b[8:8 + 4 * b[1]])
print("S-%d-%d-%s" % (b[0], auth, "-".join(map(str, subs))))'
}
