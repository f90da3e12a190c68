#!/bin/sh
# The Graph fake (graph_fake.py) for shell tests and the demo (see README.md).
#   graph-fake.sh start DIR TENANT.json   issue a certificate from $GB_TEST_CA_DIR (a CA is made in DIR/ca when
#                                         the variable is unset), start the fake on 127.0.0.1 with a free port, wait
#                                         until it listens, write DIR/env (GB_TEST_GRAPH_* assignments), DIR/info.json
#                                         and DIR/secret (mode 0600, the first client's secret)
#   graph-fake.sh stop DIR                stop the fake started in DIR (SIGTERM, SIGKILL after 5 s)
#   graph-fake.sh cert DIR CA_DIR         only issue DIR/server.pem and DIR/server.key (used by tests/support)
set -eu
. "$(dirname "$0")/proc.sh"

# cert DIR CA_DIR: DIR/server.pem and DIR/server.key for 127.0.0.1 from the CA in CA_DIR (created if absent)
cert() {
	d=$1
	ca=$2
	mkdir -p "$d"
	sh "$here/make-ca.sh" "$ca" || die "cannot create the CA in $ca"
	# several fakes may start at once: the CA's serial file is shared, so issue under a lock, then move the
	# certificate into DIR
	name="graph-fake-$$-$(date +%s%N)"
	if command -v flock >/dev/null 2>&1; then
		flock "$ca/.issue.lock" sh "$here/make-ca.sh" "$ca" issue "$name" 127.0.0.1 || die "cannot issue a certificate"
	else
		sh "$here/make-ca.sh" "$ca" issue "$name" 127.0.0.1 || die "cannot issue a certificate"
	fi
	mv "$ca/$name.pem" "$d/server.pem"
	mv "$ca/$name.key" "$d/server.key"
}

start() {
	d=$1
	tenant=$2
	[ -f "$tenant" ] || die "no tenant file $tenant"
	server_dir "$d" graph_fake.py env info.json secret
	ca=${GB_TEST_CA_DIR:-$d/ca}
	cert "$d" "$ca"
	setsid python3 "$here/graph_fake.py" --tenant "$tenant" --cert "$d/server.pem" --key "$d/server.key" \
		--ready-file "$d/ready" --env-file "$d/env" --info-file "$d/info.json" --secret-file "$d/secret" \
		</dev/null >"$d/fake.log" 2>&1 &
	server_started "$d/fake.log" "the fake (tenant $tenant)"
	echo "GB_TEST_GRAPH_CA_FILE='$ca/ca.pem'" >>"$d/env"
}

case ${1:-} in
start)
	[ $# -eq 3 ] || die "usage: graph-fake.sh start DIR TENANT.json"
	start "$2" "$3"
	;;
cert)
	[ $# -eq 3 ] || die "usage: graph-fake.sh cert DIR CA_DIR"
	cert "$2" "$3"
	;;
stop)
	[ $# -eq 2 ] || die "usage: graph-fake.sh stop DIR"
	server_stop "$2" graph_fake.py
	;;
*)
	die "usage: graph-fake.sh start DIR TENANT.json | stop DIR | cert DIR CA_DIR"
	;;
esac
