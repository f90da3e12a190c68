#!/bin/sh
# What member values cost Samba, with ldapadd/ldapmodify straight to the DC. Not part of `make bench`; run it on a
# test bed:
#   GB_TESTBED_PARTS=dc1 sh tests/testbed/with-testbed.sh sh bench/tools/member-form.sh [form|batch]
# form (the default): the same 1,000 groups of 92 members added once naming members by DN and once by
#   <GUID=objectGUID> (the form groupbridge writes).
# batch: the same 10 groups of 5,000 <GUID=...> members, once as one add each (as make bench's S1 floor adds every
#   group) and once as groupbridge writes a group bigger than [directory] member_batch (1000): an add carrying the
#   first 1,000, then four modifies of 1,000.
set -eu
mode=${1:-form}
case $mode in
form) users=3000 groups=1000 size=92 step=37 ;;
batch) users=6000 groups=10 size=5000 step=373 ;;
*) echo "usage: member-form.sh [form|batch]" >&2; exit 2 ;;
esac
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
L() { "$@" -H "$GB_TEST_DC1_LDAPS_URI" -D "$GB_TEST_DC1_BIND_DN" -y "$GB_TEST_DC1_BIND_PASSWORD_FILE"; }
export LDAPTLS_CACERT="$GB_TEST_CA_DIR/ca.pem"
B=$GB_TEST_DC1_BASE_DN
printf 'dn: OU=mu,%s\nobjectClass: organizationalUnit\n\ndn: OU=ga,%s\nobjectClass: organizationalUnit\n\ndn: OU=gb,%s\nobjectClass: organizationalUnit\n\n' "$B" "$B" "$B" | L ldapadd >/dev/null
for i in $(seq 1 "$users"); do printf 'dn: CN=mu%d,OU=mu,%s\nobjectClass: user\nsAMAccountName: mu%d\n\n' $i "$B" $i; done | L ldapadd >/dev/null
L ldapsearch -LLL -o ldif-wrap=no -b "OU=mu,$B" '(objectClass=user)' objectGUID dn > $W/users.ldif
# a.ldif and b.ldif: the two ways, into OU=ga and OU=gb
python3 - "$B" "$W" "$mode" "$groups" "$size" "$step" <<'PY'
import base64, sys, uuid
B, W, mode = sys.argv[1], sys.argv[2], sys.argv[3]
groups, size, step = (int(x) for x in sys.argv[4:7])
users = []
dn = None
for line in open(W + "/users.ldif"):
    line = line.rstrip("\n")
    if line.startswith("dn: "): dn = line[4:]
    elif line.startswith("objectGUID:: "):
        users.append((dn, "<GUID=%s>" % uuid.UUID(bytes_le=base64.b64decode(line[13:]))))
def values(ms):
    return "".join("member: %s\n" % m for m in ms)
with open(W + "/a.ldif", "w") as a, open(W + "/b.ldif", "w") as b:
    for g in range(groups):
        ms = [users[(g * step + k) % len(users)] for k in range(size)]
        guids = [m[1] for m in ms]
        if mode == "form":
            a.write("dn: CN=a%d,OU=ga,%s\nchangetype: add\nobjectClass: group\n%s\n" % (g, B, values(m[0] for m in ms)))
            b.write("dn: CN=b%d,OU=gb,%s\nchangetype: add\nobjectClass: group\n%s\n" % (g, B, values(guids)))
            continue
        a.write("dn: CN=a%d,OU=ga,%s\nchangetype: add\nobjectClass: group\n%s\n" % (g, B, values(guids)))
        b.write("dn: CN=b%d,OU=gb,%s\nchangetype: add\nobjectClass: group\n%s\n" % (g, B, values(guids[:1000])))
        for k in range(1000, size, 1000):
            b.write("dn: CN=b%d,OU=gb,%s\nchangetype: modify\nadd: member\n%s-\n\n" % (g, B, values(guids[k:k + 1000])))
PY
if [ "$mode" = form ]; then names="dn guid"; else names="one-add batched"; fi
set -- $names
for k in a b; do
	s=$(date +%s%N)
	L ldapmodify -f $W/$k.ldif >/dev/null
	e=$(date +%s%N)
	echo "$1: $(((e - s) / 1000000)) ms"
	shift
done
