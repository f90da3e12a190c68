#!/bin/sh
# What member values cost Samba: the same 1,000 groups of 92 members added with ldapadd, once naming members by DN
# and once by <GUID=objectGUID> (the form groupbridge writes). Not part of `make bench`; run it on a test bed:
#   GB_TESTBED_PARTS=dc1 sh tests/testbed/with-testbed.sh sh bench/tools/member-form.sh
set -eu
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
L() { "$@" -H "$GB_TEST_DC1_LDAPS_URI" -D "$GB_TEST_DC1_BIND_DN" -y "$GB_TEST_DC1_BIND_PASSWORD_FILE"; }
export LDAPTLS_CACERT="$GB_TEST_CA_DIR/ca.pem"
B=$GB_TEST_DC1_BASE_DN
printf 'dn: OU=mu,%s\nobjectClass: organizationalUnit\n\ndn: OU=gd,%s\nobjectClass: organizationalUnit\n\ndn: OU=gg,%s\nobjectClass: organizationalUnit\n\n' "$B" "$B" "$B" | L ldapadd >/dev/null
for i in $(seq 1 3000); do printf 'dn: CN=mu%d,OU=mu,%s\nobjectClass: user\nsAMAccountName: mu%d\n\n' $i "$B" $i; done | L ldapadd >/dev/null
L ldapsearch -LLL -o ldif-wrap=no -b "OU=mu,$B" '(objectClass=user)' objectGUID dn > $W/users.ldif
python3 - "$B" "$W" <<'PY'
import base64, sys, uuid
B = sys.argv[1]
users = []
dn = None
for line in open(sys.argv[2] + "/users.ldif"):
    line = line.rstrip("\n")
    if line.startswith("dn: "): dn = line[4:]
    elif line.startswith("objectGUID:: "):
        users.append((dn, str(uuid.UUID(bytes_le=base64.b64decode(line[13:])))))
with open(sys.argv[2] + "/dn.ldif", "w") as a, open(sys.argv[2] + "/guid.ldif", "w") as b:
    for g in range(1000):
        ms = [users[(g * 37 + k) % len(users)] for k in range(92)]
        a.write("dn: CN=d%d,OU=gd,%s\nobjectClass: group\n%s\n" % (g, B, "".join("member: %s\n" % m[0] for m in ms)))
        b.write("dn: CN=g%d,OU=gg,%s\nobjectClass: group\n%s\n" % (g, B, "".join("member: <GUID=%s>\n" % m[1] for m in ms)))
PY
for k in dn guid; do s=$(date +%s%N); L ldapadd -f $W/$k.ldif >/dev/null; e=$(date +%s%N); echo "$k: $(( (e - s) / 1000000 )) ms"; done
