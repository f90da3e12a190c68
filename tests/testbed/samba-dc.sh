#!/bin/sh
# A Samba AD DC on one loopback address, for tests (see README.md and the test bed reference).
#   samba-dc.sh start DIR IP PREFIX REALM   provision (from a cached template), certify, start, wait, write DIR/env
#   samba-dc.sh stop DIR                    stop the DC started in DIR (never leaves a samba process behind)
#   samba-dc.sh restart DIR                 stop it if it runs, and start it again on the same data, IP and env
#                                           (a DC that went away in the middle of a run and came back)
#   samba-dc.sh save DIR NAME               stop it, copy its databases to DIR/saved/NAME, start it again
#   samba-dc.sh load DIR NAME               stop it, put back the databases saved as NAME, start it again (a
#                                           benchmark's passes each start from the same directory)
#
# Provisioning takes about 3 s, the schema extension 0.4 s and the delegated account (dc_delegate.py) 3 s, so all
# are done once per realm into a template (/tmp/gb-dc-template-<realm>-<uid>-v<TEMPLATE_VERSION>) that each start
# copies in a few milliseconds. The version is part of the path: worktrees with templates of different versions
# share a machine without rebuilding each other's. Needs root (samba-tool provision chowns files) and
# $GB_TEST_CA_DIR for the certificate.
#
# The DC runs hardened as Windows Server 2025 is: "ldap server require strong auth = allow_sasl_over_tls", so a
# simple bind needs TLS (LDAPS or StartTLS) and gets strongerAuthRequired (8) without it, and a SASL bind needs sign
# or seal without TLS and must have neither inside TLS (Windows refuses sign/seal over TLS, 00002029; Samba's "yes"
# would instead refuse SASL binds inside TLS that Windows accepts). Its KDC runs too (port 88 on IP): the delegated
# account's keytab, a krb5.conf and the service principal ldap/IP make Kerberos (SASL/GSSAPI) binds work.
set -eu

TEMPLATE_VERSION=5
ADMIN_PASSWORD='Gb-Test-Pa55word!'
SVC_ACCOUNT=svc-groupbridge
SVC_PASSWORD='Gb-Svc-Pa55word!7'
READY_TIMEOUT_MS=30000
samba_pid=""
started_ok=""

# on any failed or interrupted start, stop the samba this script launched
on_exit() {
	if [ -z "$started_ok" ] && [ -n "$samba_pid" ] && pid_running "$samba_pid"; then
		stop_pid "$samba_pid"
	fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

die() {
	echo "samba-dc.sh: $*" >&2
	exit 1
}

# pid_running PID: true while PID exists and is not a zombie (an exited child of a vanished parent lingers as one)
pid_running() {
	[ -r "/proc/$1/stat" ] || return 1
	state=$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# is_our_samba PID DIR: PID runs samba for DIR (guards against a recycled pid). Samba rewrites its command line
# ("samba: root process"), so the check is its executable plus the pid file samba itself writes in DIR/run.
is_our_samba() {
	pid_running "$1" || return 1
	case $(readlink "/proc/$1/exe" 2>/dev/null) in */samba) ;; *) return 1 ;; esac
	[ "$(cat "$2/run/samba.pid" 2>/dev/null)" = "$1" ] ||
		tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "samba -s $2/etc/smb.conf "
}

# port_busy IP: something already listens on IP:389 (or on every address, port 389)
port_busy() {
	ss -Hltn 2>/dev/null | awk '{print $4}' | grep -E -q "^(\\[?::\\]?|\\*|0\\.0\\.0\\.0|$(echo "$1" | sed 's/\./\\./g')):389$"
}

# stop_pid PID: SIGTERM its process group (setsid made it the leader) and wait until it is gone, then SIGKILL
stop_pid() {
	pid=$1
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	i=0
	while pid_running "$pid"; do
		i=$((i + 1))
		if [ $i -eq 100 ]; then # 5 s
			kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		fi
		[ $i -gt 200 ] && die "pid $pid does not stop"
		sleep 0.05
	done
	# our own background child: reap it so that no zombie remains
	wait "$pid" 2>/dev/null || true
}

# write_conf DIR IP TLS(yes|no): smb.conf from the identity lines of the provisioned one plus test-bed settings;
# without TLS (building the template, on loopback only) plain simple binds are allowed, with it they are not
write_conf() {
	d=$1
	ip=$2
	tls=$3
	strong=allow_sasl_over_tls
	[ "$tls" = yes ] || strong=no
	{
		echo "[global]"
		grep -E '^[[:space:]]*(netbios name|realm|workgroup|server role|idmap_ldb:use rfc2307)[[:space:]]*=' \
			"$d/etc/smb.conf.provisioned"
		cat <<EOF
	private dir = $d/private
	state directory = $d/state
	cache directory = $d/cache
	lock directory = $d/lock
	binddns dir = $d/bind-dns
	interfaces = $ip/8
	bind interfaces only = yes
	server services = ldap, kdc
	ldap server require strong auth = $strong
	pid directory = $d/run
	ncalrpc dir = $d/run/ncalrpc
	winbindd socket directory = $d/run/winbindd
	ntp signd socket directory = $d/run/ntp_signd
	log file = $d/log/samba.log
	dsdb:schema update allowed = true
	ldb:nosync = true
EOF
		if [ "$tls" = yes ]; then
			cat <<EOF
	tls enabled = yes
	tls keyfile = $d/tls/key.pem
	tls certfile = $d/tls/cert.pem
	tls cafile = $d/tls/ca.pem
EOF
		else
			echo "	tls enabled = no"
		fi
	} >"$d/etc/smb.conf.new"
	mv "$d/etc/smb.conf.new" "$d/etc/smb.conf"
}

# kerberize DIR IP BINDDN: the KDC side of the test bed. A krb5.conf for clients (KDC on IP, no DNS, no reverse
# lookups, the host name of a service taken as written) and the service principal ldap/IP on the DC's account, so
# that a client given ldaps://IP asks for a ticket the DC can read: on loopback there is no DNS name that resolves
# to IP without editing /etc/hosts, and a Windows DC accepts IP-address SPNs as well (Windows Server 2016 and
# later). The keytab of the delegated account is in the template (svc.keytab).
kerberize() {
	d=$1
	ip=$2
	cat >"$d/krb5.conf" <<KRB5
[libdefaults]
	default_realm = $realm
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	udp_preference_limit = 0
[realms]
	$realm = {
		kdc = $ip
	}
[domain_realm]
	$ip = $realm
	.$realm_lower = $realm
KRB5
	printf 'dn: CN=DC1,OU=Domain Controllers,%s\nchangetype: modify\nadd: servicePrincipalName\nservicePrincipalName: ldap/%s\n-\n' \
		"$base_dn" "$ip" | LDAPTLS_CACERT="$d/tls/ca.pem" ldapmodify -H "ldaps://$ip" -D "$3" -y "$d/password" \
		>"$d/log/spn.log" 2>&1 || grep -q 'Type or value exists\|(20)' "$d/log/spn.log" ||
		die "the service principal ldap/$ip could not be added: $(cat "$d/log/spn.log")"
}

# launch DIR IP BINDDN [TLS]: start samba in DIR, wait for an authenticated bind (over LDAPS verified with DIR's CA
# when TLS is yes, the default); sets $samba_pid
launch() {
	d=$1
	ip=$2
	binddn=$3
	uri=ldaps://$ip
	[ "${4:-yes}" = yes ] || uri=ldap://$ip
	port_busy "$ip" && die "something already listens on $ip:389"
	mkdir -p "$d/run" "$d/log"
	setsid samba -s "$d/etc/smb.conf" -M single -i </dev/null >"$d/log/samba.stdout" 2>&1 &
	samba_pid=$!
	echo "$samba_pid" >"$d/run/gb-samba.pid"
	waited=0
	while :; do
		if ! pid_running "$samba_pid"; then
			wait "$samba_pid" 2>/dev/null || true
			tail -n 20 "$d/log/samba.stdout" >&2 2>/dev/null || true
			die "samba in $d exited during start-up"
		fi
		if LDAPTLS_CACERT="$d/tls/ca.pem" ldapsearch -x -H "$uri" -D "$binddn" -y "$d/password" -b "" -s base -LLL dn \
			>/dev/null 2>&1; then
			break
		fi
		waited=$((waited + 50))
		if [ $waited -ge $READY_TIMEOUT_MS ]; then
			stop_pid "$samba_pid"
			die "samba in $d not ready after $((READY_TIMEOUT_MS / 1000)) s"
		fi
		sleep 0.05
	done
}

# realm_names REALM: sets realm, realm_lower, domain, base_dn
realm_names() {
	realm=$(echo "$1" | tr '[:lower:]' '[:upper:]')
	realm_lower=$(echo "$realm" | tr '[:upper:]' '[:lower:]')
	domain=${realm%%.*}
	base_dn=$(echo "$realm_lower" | sed 's/^/DC=/; s/\./,DC=/g')
	echo "$realm" | grep -E -q '^[A-Z0-9-]+(\.[A-Z0-9-]+)+$' || die "bad realm $1 (expected like TEST.EXAMPLE)"
}

schema_ldif() {
	cat <<EOF
dn: CN=ms-DS-External-Directory-Object-Id,CN=Schema,CN=Configuration,$base_dn
changetype: add
objectClass: top
objectClass: attributeSchema
cn: ms-DS-External-Directory-Object-Id
attributeID: 1.2.840.113556.1.4.2310
attributeSyntax: 2.5.5.12
isSingleValued: TRUE
rangeUpper: 256
showInAdvancedViewOnly: FALSE
adminDisplayName: ms-DS-External-Directory-Object-Id
adminDescription: ms-DS-External-Directory-Object-Id
oMSyntax: 64
searchFlags: 9
lDAPDisplayName: msDS-ExternalDirectoryObjectId
schemaIDGUID:: kL8pva1m4UCIexDfBwQZpg==
attributeSecurityGUID:: hri1d0qU0RGuvQAA+ANnwQ==
systemOnly: FALSE
isMemberOfPartialAttributeSet: TRUE

dn:
changetype: modify
add: schemaUpdateNow
schemaUpdateNow: 1
-

dn: CN=Mail-Recipient,CN=Schema,CN=Configuration,$base_dn
changetype: modify
add: mayContain
mayContain: msDS-ExternalDirectoryObjectId
-

dn:
changetype: modify
add: schemaUpdateNow
schemaUpdateNow: 1
-
EOF
}

# build_template TPL IP: provision into TPL, start it on IP without TLS, extend the schema, stop it. The database is
# LMDB (--backend-store=mdb, which Samba offers for large directories) rather than the default TDB: the same 600
# one-member modifies took 1.3 s against 5.8 s, 600 adds of 92-member groups 12 s against 36 s, and 3,000 users 16 s
# against 43 s on this machine (both measured beside other tests), so the benchmarks measure groupbridge rather than
# TDB's write path.
build_template() {
	tpl=$1
	ip=$2
	work="$tpl.build.$$"
	rm -rf "$work"
	mkdir -p "$work/run" "$work/log"
	samba-tool domain provision --targetdir="$work" --realm="$realm" --domain="$domain" \
		--adminpass="$ADMIN_PASSWORD" --server-role=dc --backend-store=mdb --dns-backend=NONE --use-rfc2307 \
		--host-name=dc1 --host-ip=127.0.0.1 \
		--option="pid directory = $work/run" --option="log file = $work/log/samba.log" \
		>"$work/log/provision.log" 2>&1 || {
		tail -n 20 "$work/log/provision.log" >&2
		rm -rf "$work"
		die "provisioning $realm failed"
	}
	cp "$work/etc/smb.conf" "$work/etc/smb.conf.provisioned"
	printf '%s' "$ADMIN_PASSWORD" >"$work/password"
	chmod 600 "$work/password"
	write_conf "$work" "$ip" no
	launch "$work" "$ip" "CN=Administrator,CN=Users,$base_dn" no
	if ! schema_ldif | ldapmodify -x -H "ldap://$ip" -D "CN=Administrator,CN=Users,$base_dn" \
		-y "$work/password" >"$work/log/schema.log" 2>&1; then
		stop_pid "$samba_pid"
		cat "$work/log/schema.log" >&2
		rm -rf "$work"
		die "schema extension of $realm failed"
	fi
	stop_pid "$samba_pid"
	samba_pid=""
	if ! /usr/bin/python3 "$(dirname "$0")/dc_delegate.py" "$work" "$SVC_ACCOUNT" "$SVC_PASSWORD" \
		>"$work/log/delegate.log" 2>&1; then
		cat "$work/log/delegate.log" >&2
		rm -rf "$work"
		die "the delegated account of $realm could not be set up"
	fi
	# the delegated account's Kerberos keys, as an administrator exports them for a Linux host (sssd, adcli)
	if ! samba-tool domain exportkeytab "$work/svc.keytab" --principal="$SVC_ACCOUNT@$realm" \
		-s "$work/etc/smb.conf" >"$work/log/keytab.log" 2>&1; then
		cat "$work/log/keytab.log" >&2
		rm -rf "$work"
		die "the keytab of $SVC_ACCOUNT@$realm could not be exported"
	fi
	chmod 600 "$work/svc.keytab"
	rm -rf "$work/run" "$work/log" "$work/password"
	echo "$TEMPLATE_VERSION" >"$work/gb-template-version"
	rm -rf "$tpl"
	mv "$work" "$tpl"
}

cmd_start() {
	[ $# -eq 4 ] || die "usage: samba-dc.sh start DIR IP PREFIX REALM"
	dir=$1
	ip=$2
	prefix=$3
	realm_names "$4"
	[ "$(id -u)" = 0 ] || die "must run as root (samba-tool provision and samba need it)"
	[ -n "${GB_TEST_CA_DIR:-}" ] && [ -f "$GB_TEST_CA_DIR/ca.pem" ] || die "GB_TEST_CA_DIR must hold ca.pem (make-ca.sh)"
	echo "$ip" | grep -E -q '^127\.[0-9]+\.[0-9]+\.[0-9]+$' || die "bad loopback address $ip"
	if [ -f "$dir/run/gb-samba.pid" ] && is_our_samba "$(cat "$dir/run/gb-samba.pid")" "$dir"; then
		die "a DC already runs in $dir"
	fi
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)

	tpl="/tmp/gb-dc-template-$realm_lower-$(id -u)-v$TEMPLATE_VERSION"
	exec 9>"$tpl.lock"
	flock 9
	if [ "$(cat "$tpl/gb-template-version" 2>/dev/null)" != "$TEMPLATE_VERSION" ]; then
		build_template "$tpl" "$ip"
	fi
	cp -a "$tpl/." "$dir/"
	flock -u 9
	exec 9>&-

	mkdir -p "$dir/tls" "$dir/run" "$dir/log"
	sh "$(dirname "$0")/make-ca.sh" "$GB_TEST_CA_DIR" issue "dc-$ip" "$ip"
	cp "$GB_TEST_CA_DIR/dc-$ip.pem" "$dir/tls/cert.pem"
	cp "$GB_TEST_CA_DIR/dc-$ip.key" "$dir/tls/key.pem"
	cp "$GB_TEST_CA_DIR/ca.pem" "$dir/tls/ca.pem"
	chmod 600 "$dir/tls/key.pem"
	printf '%s' "$ADMIN_PASSWORD" >"$dir/password"
	printf '%s' "$SVC_PASSWORD" >"$dir/svc-password"
	chmod 600 "$dir/password" "$dir/svc-password"
	write_conf "$dir" "$ip" yes
	bind_dn="CN=Administrator,CN=Users,$base_dn"
	launch "$dir" "$ip" "$bind_dn"
	kerberize "$dir" "$ip" "$bind_dn"
	cat >"$dir/env" <<EOF
${prefix}_IP='$ip'
${prefix}_LDAP_URI='ldap://$ip'
${prefix}_LDAPS_URI='ldaps://$ip'
${prefix}_GC_URI='ldap://$ip:3268'
${prefix}_REALM='$realm'
${prefix}_DIR='$dir'
${prefix}_BASE_DN='$base_dn'
${prefix}_BIND_DN='$bind_dn'
${prefix}_BIND_UPN='Administrator@$realm_lower'
${prefix}_BIND_PASSWORD_FILE='$dir/password'
${prefix}_GB_LDAPS_URI='ldaps://$ip'
${prefix}_GB_LDAP_URI='ldap://$ip'
${prefix}_GB_GC_URI='ldap://$ip:3268'
${prefix}_GB_GCS_URI='ldaps://$ip:3269'
${prefix}_GB_BIND_DN='CN=$SVC_ACCOUNT,CN=Users,$base_dn'
${prefix}_GB_BIND_UPN='$SVC_ACCOUNT@$realm_lower'
${prefix}_GB_PASSWORD_FILE='$dir/svc-password'
${prefix}_PROTECTED_GROUP_DN='CN=gb-protected-group,CN=Users,$base_dn'
${prefix}_KRB5_CONFIG='$dir/krb5.conf'
${prefix}_GB_KEYTAB='$dir/svc.keytab'
${prefix}_GB_PRINCIPAL='$SVC_ACCOUNT@$realm'
EOF
	started_ok=yes
}

cmd_stop() {
	[ $# -eq 1 ] || die "usage: samba-dc.sh stop DIR"
	dir=$(cd "$1" 2>/dev/null && pwd) || exit 0
	pidfile="$dir/run/gb-samba.pid"
	[ -f "$pidfile" ] || exit 0
	pid=$(cat "$pidfile")
	if is_our_samba "$pid" "$dir"; then
		stop_pid "$pid"
	fi
	rm -f "$pidfile"
}

cmd_restart() {
	[ $# -eq 1 ] || die "usage: samba-dc.sh restart DIR"
	dir=$(cd "$1" 2>/dev/null && pwd) || die "no DC in $1"
	[ -f "$dir/env" ] && [ -f "$dir/etc/smb.conf" ] || die "no DC was started in $dir"
	[ "$(id -u)" = 0 ] || die "must run as root (samba needs it)"
	ip=$(sed -n "s/^[A-Z0-9_]*_IP='\(.*\)'\$/\1/p" "$dir/env")
	prefix=$(sed -n "s/^\([A-Z0-9_]*\)_IP='.*'\$/\1/p" "$dir/env")
	bind_dn=$(sed -n "s/^${prefix}_BIND_DN='\(.*\)'\$/\1/p" "$dir/env")
	[ -n "$ip" ] && [ -n "$bind_dn" ] || die "$dir/env names no IP or bind DN"
	sh "$0" stop "$dir"
	launch "$dir" "$ip" "$bind_dn"
	started_ok=yes
}

# the directories that hold the DC's data (smb.conf names them); etc, tls, run and log stay as they are
DATA_DIRS="private state cache lock bind-dns"

# saved_dc ACTION DIR NAME: checks save's or load's arguments, sets $dir and $saved (where NAME's copy is kept) and
# stops the DC: its data is copied while it is stopped (the databases are consistent on disk only then)
saved_dc() {
	[ $# -eq 3 ] || die "usage: samba-dc.sh $1 DIR NAME"
	case $3 in "" | */* | .*) die "bad name $3" ;; esac
	dir=$(cd "$2" 2>/dev/null && pwd) || die "no DC in $2"
	[ -f "$dir/env" ] || die "no DC was started in $dir"
	saved=$dir/saved/$3
	[ "$1" = save ] || [ -d "$saved" ] || die "nothing was saved as $3 in $dir"
	sh "$0" stop "$dir"
}

# cmd_save DIR NAME / cmd_load DIR NAME: the copy made or put back, and the DC started again on the same address and
# env
cmd_save() {
	saved_dc save "$@"
	rm -rf "$saved"
	mkdir -p "$saved"
	for p in $DATA_DIRS; do
		[ ! -e "$dir/$p" ] || cp -a "$dir/$p" "$saved/$p" || die "copying $dir/$p failed"
	done
	cmd_restart "$dir"
}

cmd_load() {
	saved_dc load "$@"
	for p in $DATA_DIRS; do
		rm -rf "${dir:?}/$p"
		[ ! -e "$saved/$p" ] || cp -a "$saved/$p" "$dir/$p" || die "restoring $dir/$p failed"
	done
	cmd_restart "$dir"
}

[ $# -ge 1 ] || die "usage: samba-dc.sh start DIR IP PREFIX REALM | stop DIR | restart DIR | save DIR NAME | load DIR NAME"
action=$1
shift
case $action in
start) cmd_start "$@" ;;
stop) cmd_stop "$@" ;;
restart) cmd_restart "$@" ;;
save) cmd_save "$@" ;;
load) cmd_load "$@" ;;
*) die "unknown action $action" ;;
esac
