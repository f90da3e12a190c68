#!/bin/sh
# Runs a command with the test bed up: a CA, DC1 and DC2 (Samba AD DCs on loopback), and always stops them.
# See README.md for the variables exported to the command. Exit status is the command's.
# GB_TEST_WINDOWS=1 puts the Windows personality (ldap-proxy.sh) in front of each DC and points the GB_TEST_<DC>_GB_*
# URIs, which groupbridge is given, at it (MaxValRange GB_TEST_MAX_VAL_RANGE, default 7; MaxPageSize
# GB_TEST_MAX_PAGE_SIZE, default 50; adminLimitExceeded above GB_TEST_MEMBER_LIMIT member values, default 1500, the
# figure a peer met on Windows; a referral for DC=child below the domain); the three are exported. GB_TEST_LDAP_DELAY_MS=N delays every LDAP message by N ms each way (with
# or without the personality).
set -u
here=$(cd "$(dirname "$0")" && pwd)
parts=${GB_TESTBED_PARTS:-dc1 dc2}
root=$(mktemp -d /tmp/gb-testbed.XXXXXX)
export GB_TEST_TMP="$root/tmp" GB_TEST_CA_DIR="$root/ca"
mkdir -p "$GB_TEST_TMP"
started=""
proxies=""
if [ -n "${GB_TEST_WINDOWS:-}" ]; then
	export GB_TEST_MAX_VAL_RANGE="${GB_TEST_MAX_VAL_RANGE:-7}" GB_TEST_MAX_PAGE_SIZE="${GB_TEST_MAX_PAGE_SIZE:-50}" \
		GB_TEST_MEMBER_LIMIT="${GB_TEST_MEMBER_LIMIT:-1500}"
fi

cleanup() {
	for d in $proxies; do
		sh "$here/ldap-proxy.sh" stop "$d" >/dev/null 2>&1
	done
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
	env="$root/$1/env"
	if [ -n "${GB_TEST_WINDOWS:-}${GB_TEST_LDAP_DELAY_MS:-}" ]; then
		name=$1
		realm=$(echo "$4" | tr '[:upper:]' '[:lower:]')
		set -- --delay-ms "${GB_TEST_LDAP_DELAY_MS:-0}"
		if [ -n "${GB_TEST_WINDOWS:-}" ]; then
			set -- "$@" --max-val-range "$GB_TEST_MAX_VAL_RANGE" --max-page-size "$GB_TEST_MAX_PAGE_SIZE" \
				--member-limit "$GB_TEST_MEMBER_LIMIT" \
				--referral "DC=child,$(echo "$realm" | sed 's/^/DC=/; s/\./,DC=/g')" "child.$realm"
		fi
		if ! sh "$here/ldap-proxy.sh" start "$root/$name-proxy" "$root/$name" "$@"; then
			echo "with-testbed: could not start the proxy for $name" >&2
			return 1
		fi
		proxies="$proxies $root/$name-proxy"
		env="$root/$name-proxy/env"
	fi
	set -a
	. "$env"
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
