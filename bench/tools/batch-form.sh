#!/bin/sh
# What batching a big group's members costs Samba: the same 10 groups of 5,000 members named by <GUID=objectGUID>,
# once as one add each (as make bench's S1 floor adds every group) and once as groupbridge writes a group bigger than
# [directory] member_batch (1000): an add carrying the first 1,000, then four modifies of 1,000. Not part of
# `make bench`; run it on a test bed:
#   GB_TESTBED_PARTS=dc1 sh tests/testbed/with-testbed.sh sh bench/tools/batch-form.sh
set -eu
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
L() { "$@" -H "$GB_TEST_DC1_LDAPS_URI" -D "$GB_TEST_DC1_BIND_DN" -y "$GB_TEST_DC1_BIND_PASSWORD_FILE"; }
export LDAPTLS_CACERT="$GB_TEST_CA_DIR/ca.pem"
B=$GB_TEST_DC1_BASE_DN
printf 'dn: OU=mu,%s\nobjectClass: organizationalUnit\n\ndn: OU=ga,%s\nobjectClass: organizationalUnit\n\ndn: OU=gb,%s\nobjectClass: organizationalUnit\n\n' "$B" "$B" "$B" | L ldapadd >/dev/null
for i in $(seq 1 6000); do printf 'dn: CN=mu%d,OU=mu,%s\nobjectClass: user\nsAMAccountName: mu%d\n\n' $i "$B" $i; done | L ldapadd >/dev/null
L ldapsearch -LLL -o ldif-wrap=no -b "OU=mu,$B" '(objectClass=user)' objectGUID dn > $W/users.ldif
python3 - "$B" "$W" <<'PY'
import base64, sys, uuid
B = sys.argv[1]
users = []
for line in open(sys.argv[2] + "/users.ldif"):
    line = line.rstrip("\n")
    if line.startswith("objectGUID:: "):
        users.append(str(uuid.UUID(bytes_le=base64.b64decode(line[13:]))))
with open(sys.argv[2] + "/one.ldif", "w") as a, open(sys.argv[2] + "/batched.ldif", "w") as b:
    for g in range(10):
        ms = ["<GUID=%s>" % users[(g * 373 + k) % len(users)] for k in range(5000)]
        a.write("dn: CN=a%d,OU=ga,%s\nchangetype: add\nobjectClass: group\n%s\n" % (g, B, "".join("member: %s\n" % m for m in ms)))
        b.write("dn: CN=b%d,OU=gb,%s\nchangetype: add\nobjectClass: group\n%s\n" % (g, B, "".join("member: %s\n" % m for m in ms[:1000])))
        for k in range(1000, 5000, 1000):
            b.write("dn: CN=b%d,OU=gb,%s\nchangetype: modify\nadd: member\n%s-\n\n" % (g, B, "".join("member: %s\n" % m for m in ms[k:k+1000])))
PY
for k in one batched; do s=$(date +%s%N); L ldapmodify -f $W/$k.ldif >/dev/null; e=$(date +%s%N); echo "$k: $(( (e - s) / 1000000 )) ms"; done
