#!/bin/sh
# Runs a command with the test bed up: a CA, DC1 and DC2 (Samba AD DCs on loopback), and always stops them.
# See README.md for the variables exported to the command. Exit status is the command's.
set -u
here=$(cd "$(dirname "$0")" && pwd)
parts=${GB_TESTBED_PARTS:-dc1 dc2}
root=$(mktemp -d /tmp/gb-testbed.XXXXXX)
export GB_TEST_TMP="$root/tmp" GB_TEST_CA_DIR="$root/ca"
mkdir -p "$GB_TEST_TMP"
started=""

cleanup() {
	for d in $started; do
		sh "$here/samba-dc.sh" stop "$d" >/dev/null 2>&1
	done
	if [ -n "${GB_TEST_KEEP:-}" ]; then
		echo "with-testbed: kept $root" >&2
	else
		rm -rf "$root"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

sh "$here/make-ca.sh" "$GB_TEST_CA_DIR" || exit 1
start_dc() { # NAME IP PREFIX REALM
	if ! sh "$here/samba-dc.sh" start "$root/$1" "$2" "$3" "$4"; then
		echo "with-testbed: could not start $1 on $2; log: $root/$1/log/samba.log" >&2
		tail -n 20 "$root/$1/log/samba.log" 2>/dev/null >&2
		return 1
	fi
	started="$started $root/$1"
	set -a
	. "$root/$1/env"
	set +a
}
for p in $parts; do
	case $p in
	dc1) start_dc dc1 "${GB_TEST_DC1_IP:-127.0.0.1}" GB_TEST_DC1 TEST.EXAMPLE || exit 1 ;;
	dc2) start_dc dc2 "${GB_TEST_DC2_IP:-127.0.0.2}" GB_TEST_DC2 FOREST2.EXAMPLE || exit 1 ;;
	*) echo "with-testbed: unknown part $p" >&2; exit 2 ;;
	esac
done
"$@"
