#!/bin/sh
# The Windows personality (ldap_proxy.py) in front of a DC started by samba-dc.sh (see README.md).
#   ldap-proxy.sh start DIR DCDIR [OPTION...]   starts the proxy for the DC started in DCDIR (its address, its CA, and
#                                               its certificate, which names that address), waits until it listens,
#                                               and writes DIR/env: the DC's variables with PREFIX_GB_LDAPS_URI,
#                                               PREFIX_GB_LDAP_URI and PREFIX_GB_GC_URI pointing at the proxy.
#                                               OPTIONs go to ldap_proxy.py (--max-val-range 7 ...)
#   ldap-proxy.sh stop DIR                      stops it (SIGTERM, SIGKILL after 5 s)
set -eu
. "$(dirname "$0")/proc.sh"

start() {
	d=$1
	dc=$2
	shift 2
	[ -f "$dc/env" ] || die "no DC was started in $dc"
	server_dir "$d" ldap_proxy.py env proxy.env
	ip=$(sed -n "s/^[A-Z0-9_]*_IP='\(.*\)'\$/\1/p" "$dc/env")
	prefix=$(sed -n "s/^\([A-Z0-9_]*\)_IP='.*'\$/\1/p" "$dc/env")
	[ -n "$ip" ] && [ -n "$prefix" ] || die "$dc/env names no IP"
	setsid python3 "$here/ldap_proxy.py" --upstream "$ip" --ca "$dc/tls/ca.pem" --cert "$dc/tls/cert.pem" \
		--key "$dc/tls/key.pem" --ready-file "$d/ready" --env-file "$d/proxy.env" --prefix "$prefix" \
		--log "$d/proxy.log" "$@" </dev/null >"$d/proxy.out" 2>&1 &
	server_started "$d/proxy.out" "the proxy"
	cat "$dc/env" "$d/proxy.env" >"$d/env"
}

case ${1:-} in
start)
	[ $# -ge 3 ] || die "usage: ldap-proxy.sh start DIR DCDIR [OPTION...]"
	shift
	start "$@"
	;;
stop)
	[ $# -eq 2 ] || die "usage: ldap-proxy.sh stop DIR"
	server_stop "$2" ldap_proxy.py
	;;
*)
	die "usage: ldap-proxy.sh start DIR DCDIR [OPTION...] | stop DIR"
	;;
esac
