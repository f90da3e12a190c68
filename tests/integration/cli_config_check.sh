#!/bin/sh
# `config check` against the test bed: every probe passes on a good configuration, and each fails clearly on a wrong
# password, a wrong Graph secret, and a server (the DC, or Graph) whose certificate authority is not configured. No
# secret is printed.
. "$(dirname "$0")/lib_ad.sh"
cp "$here/data/tenants/small.json" "$T/tenant.json"
fake_start "$T/tenant.json"
password=$(cat "${GB_TEST_DC1_GB_PASSWORD_FILE:-$GB_TEST_DC1_BIND_PASSWORD_FILE}")
graph_secret=$(cat "$T/fake/secret")

gb_ini "$T/gb.ini" DC1
run "$GB_BIN" --config "$T/gb.ini" config check
expect_rc "good configuration passes" 0
expect_out "ldap probe passes" "ldap     pass"
expect_out "schema probe passes" "schema   pass"
expect_out "graph probe passes" "graph    pass"
expect_not "bind password not printed" "$password"
expect_not "graph secret not printed" "$graph_secret"

# check_with OPTION TEXT: config check with gb_ini's OPTION naming a file (mode 0600) that holds TEXT
check_with() {
	printf '%s\n' "$2" >"$T/wrong"
	chmod 600 "$T/wrong"
	gb_ini "$1" "$T/wrong" "$T/gb.ini" DC1
	run "$GB_BIN" --config "$T/gb.ini" config check
}
check_with --password-file 'Wrong-Passw0rd!'
expect_rc "wrong password fails" 1
expect_out "ldap probe fails" "ldap     FAIL"
expect_out "graph still passes" "graph    pass"
expect_not "wrong password not printed" "Wrong-Passw0rd!"

check_with --secret-file not-the-secret
expect_rc "wrong Graph secret fails" 1
expect_out "graph probe fails" "graph    FAIL"
expect_not "wrong secret not printed" "not-the-secret"

gb_ini --no-ca "$T/gb.ini" DC1
run "$GB_BIN" --config "$T/gb.ini" config check
expect_rc "unknown certificate authority fails" 1
expect_out "ldap refuses the unverified server" "ldap     FAIL"

# A hardened DC (Samba's default, Windows' LDAPServerIntegrity 2) refuses a simple bind without TLS with
# strongerAuthRequired (8): even allow_insecure cannot bind in the clear, and it is reported as an authentication
# failure (AD review D10)
gb_ini "$T/gb.ini" DC1
sed -i "s|^uri = .*|uri = ${GB_TEST_DC1_GB_LDAP_URI:-$GB_TEST_DC1_LDAP_URI}\nallow_insecure = yes|" "$T/gb.ini"
run "$GB_BIN" --config "$T/gb.ini" config check
expect_rc "a plain simple bind fails" 1
expect_out "ldap refuses the plain bind" "ldap     FAIL"
expect_out "it is the DC's demand for TLS (strongerAuthRequired)" "(8)"
expect_not "the password is not printed" "$password"

# The same for Graph: without the fake's CA in [graph] ca_file, its certificate is not trusted and nothing is sent
gb_ini "$T/gb.ini" DC1
sed -i '/^\[graph\]/,/^\[directory\]/{/^ca_file/d}' "$T/gb.ini"
run "$GB_BIN" --config "$T/gb.ini" config check
expect_rc "Graph with an unknown certificate authority fails" 1
expect_out "graph refuses the unverified server" "graph    FAIL"
expect_out "and says it is the certificate" "SSL certificate problem"
expect_out "ldap, with its CA, still passes" "ldap     pass"

# Certificate credentials, both assertion algorithms, chosen in the configuration.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=groupbridge test app" -keyout "$T/app.key" \
	-out "$T/app.pem" 2>/dev/null
chmod 600 "$T/app.key"
$GBTEST tenant append "$T/tenant.json" clients \
	"{\"client_id\": \"ce470000-0000-4000-8000-000000000001\", \"certificate\": \"$T/app.pem\"}"
sh "$here/testbed/graph-fake.sh" stop "$T/fake"
fake_start "$T/tenant.json"
for alg in PS256 RS256; do
	cat >"$T/cert.ini" <<INI
[graph]
tenant_id = $GB_TEST_GRAPH_TENANT_ID
client_id = ce470000-0000-4000-8000-000000000001
certificate_file = $T/app.pem
private_key_file = $T/app.key
jwt_alg = $alg
authority_url = $GB_TEST_AUTHORITY_URL
graph_url = $GB_TEST_GRAPH_URL
ca_file = $GB_TEST_CA_DIR/ca.pem
INI
	run "$GB_BIN" --config "$T/cert.ini" config check
	expect_rc "a certificate assertion signed $alg gets a token" 0
	expect_out "graph probe passes with $alg" "graph    pass"
done

finish
