#!/bin/sh
# The Debian package (issue 15): `make deb` builds it with dpkg-buildpackage, lintian finds no error, apt-get
# installs it on this machine (CI: root on a throwaway Debian 12), and then `groupbridge version`, `man groupbridge`,
# `man groupbridge.ini`, `systemd-analyze verify` on the installed unit, the system user and the directories work; a
# second install (an upgrade) keeps the state; purge removes the package, and the test removes what purge keeps by
# design (the groupbridge user, state it wrote) so that the machine is as before. `make install DESTDIR=` too.
. "$(dirname "$0")/lib.sh"
src=$(cd "$(dirname "$0")/../.." && pwd)
version=$(sed -n 's/^#define GB_VERSION "\(.*\)"/\1/p' "$src/include/groupbridge/version.h")
export DEBIAN_FRONTEND=noninteractive

# The package is built from the sources without sanitizers: the sanitizer run of the suite (make sanitize) would
# only build and install the same package again.
if ldd "$GB_BIN" 2>/dev/null | grep -q libasan; then
	echo "cli_package: not again under the sanitizers (the package test runs in the plain build's suite)"
	echo "0 passed, 0 failed"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "cli_package: installing a package needs root (CI runs as root)"
	echo "0 passed, 1 failed"
	exit 1
fi
# one package test at a time on this machine: several worktrees may run make check at once
exec 9>/tmp/groupbridge-package-test.lock
flock -w 1800 9 || { echo "cli_package: another package test holds the lock"; echo "0 passed, 1 failed"; exit 1; }
if dpkg-query -W -f='${Status}' groupbridge 2>/dev/null | grep -q "installed"; then
	echo "cli_package: groupbridge is installed on this machine already; purge it first (apt-get purge groupbridge)"
	echo "0 passed, 1 failed"
	exit 1
fi
user_before=$(getent passwd groupbridge || true)
etc_before=$([ -e /etc/groupbridge ] && echo yes || true)
state_before=$([ -e /var/lib/groupbridge ] && echo yes || true)

cleanup() {
	dpkg-query -W -f='${Status}' groupbridge 2>/dev/null | grep -q "installed" &&
		apt-get purge -y -qq -o DPkg::Lock::Timeout=300 groupbridge >/dev/null 2>&1
	[ -z "$user_before" ] && getent passwd groupbridge >/dev/null && userdel groupbridge 2>/dev/null
	[ -z "$state_before" ] && rm -rf /var/lib/groupbridge
	[ -z "$etc_before" ] && rm -rf /etc/groupbridge
	rm -rf "$T"
}
trap cleanup EXIT

# ---- build and lint ----
run make -C "$src" --no-print-directory deb O="$T/b"
expect_rc "make deb builds the package" 0
[ "$rc" = 0 ] || tail -n 30 "$T/b/deb/build.log" 2>/dev/null
deb=$(ls "$T"/b/deb/groupbridge_"$version"_*.deb 2>/dev/null)
expect "the .deb is named for the version of include/groupbridge/version.h" test -f "$deb"
run lintian --fail-on error "$T"/b/deb/groupbridge_"$version"_*.changes
expect_rc "lintian reports no error" 0
expect_not "no E: line" "E: groupbridge"
dpkg-deb -c "$deb" >"$T/contents"
for f in ./usr/bin/groupbridge ./usr/share/man/man8/groupbridge.8.gz ./usr/share/man/man5/groupbridge.ini.5.gz \
	./lib/systemd/system/groupbridge@.service ./usr/lib/sysusers.d/groupbridge.conf \
	./usr/lib/tmpfiles.d/groupbridge.conf ./usr/share/bash-completion/completions/groupbridge \
	./usr/share/doc/groupbridge/examples/groupbridge.ini ./usr/share/doc/groupbridge/runbooks/handoff.md \
	./usr/share/groupbridge/templates/disable-writeback.ps1.in; do
	expect "the package holds $f" grep -q " $f\$" "$T/contents"
done

# ---- install ----
run apt-get install -y -q -o DPkg::Lock::Timeout=300 "$deb"
expect_rc "apt-get install ./groupbridge_*.deb installs it" 0
run groupbridge version
expect_rc "groupbridge version runs" 0
expect_out "and says its version" "groupbridge $version"
expect "groupbridge is /usr/bin/groupbridge" test "$(command -v groupbridge)" = /usr/bin/groupbridge
run man -P cat groupbridge
expect_rc "man groupbridge works" 0
expect_out "it is groupbridge(8)" "provision cloud security groups to Active Directory"
expect_out "with the exit codes" "EXIT STATUS"
run man -P cat groupbridge.ini
expect_rc "man groupbridge.ini works" 0
expect_out "it is groupbridge.ini(5) with every section" "[provisioning]"
expect_out "and the metrics key" "metrics_file"
run systemd-analyze verify groupbridge@contoso.service
expect_rc "systemd-analyze verify passes on the installed unit (an instance of the template)" 0
expect_not "without a warning" "groupbridge@"
run systemd-analyze verify /lib/systemd/system/groupbridge@.service
expect_rc "systemd-analyze verify passes on the template file itself" 0
run systemd-analyze security --offline=yes groupbridge@contoso.service
expect_out "systemd-analyze security rates the unit OK" "OK"
echo "     $(echo "$out" | grep "Overall exposure")"
expect "the unit runs provision --watch as the groupbridge user" \
	grep -q "^ExecStart=/usr/bin/groupbridge --config /etc/groupbridge/%i.ini" /lib/systemd/system/groupbridge@.service
expect "a system user groupbridge exists" sh -c 'uid=$(id -u groupbridge) && [ "$uid" -lt 1000 ]'
expect "it has no login shell" sh -c 'getent passwd groupbridge | grep -q -E ":(/usr/sbin/nologin|/sbin/nologin|/bin/false)$"'
expect "/var/lib/groupbridge is 0700 groupbridge:groupbridge" \
	test "$(stat -c '%a %U:%G' /var/lib/groupbridge)" = "700 groupbridge:groupbridge"
expect "/etc/groupbridge is 0750 root:groupbridge" test "$(stat -c '%a %U:%G' /etc/groupbridge)" = "750 root:groupbridge"
run runuser -u groupbridge -- groupbridge --state /var/lib/groupbridge/contoso.state.db status
expect_rc "groupbridge status runs as the service user" 0
expect_out "and finds no pass yet" "last pass: none recorded"
run bash -c '. /usr/share/bash-completion/completions/groupbridge; COMP_WORDS=(groupbridge st); COMP_CWORD=1; _groupbridge; echo "${COMPREPLY[*]}"'
expect_out "the bash completion completes commands" "status"

# ---- upgrade (the same package again): the state stays ----
printf 'kept\n' >/var/lib/groupbridge/contoso.state.db
chown groupbridge:groupbridge /var/lib/groupbridge/contoso.state.db
run apt-get install -y -q --reinstall -o DPkg::Lock::Timeout=300 "$deb"
expect_rc "installing it again (an upgrade) works" 0
expect "the state database stays" grep -q kept /var/lib/groupbridge/contoso.state.db
expect "the state directory stays 0700" test "$(stat -c %a /var/lib/groupbridge)" = 700

# ---- uninstall ----
run apt-get purge -y -q -o DPkg::Lock::Timeout=300 groupbridge
expect_rc "apt-get purge removes it" 0
expect "the binary is gone" test ! -e /usr/bin/groupbridge
expect "the unit is gone" test ! -e /lib/systemd/system/groupbridge@.service
expect "the man pages are gone" test ! -e /usr/share/man/man8/groupbridge.8.gz
expect "purge keeps a state database (the audit log)" test -f /var/lib/groupbridge/contoso.state.db
if [ -z "$etc_before" ]; then
	expect "purge removes the empty /etc/groupbridge" test ! -e /etc/groupbridge
fi
rm -rf /var/lib/groupbridge
[ -n "$user_before" ] || userdel groupbridge
expect "the machine is as before: no groupbridge user unless there was one" \
	test "$(getent passwd groupbridge || true)" = "$user_before"
expect "no package left" sh -c '! dpkg-query -W -f="\${Status}" groupbridge 2>/dev/null | grep -q " installed"'

# ---- make install into a scratch root ----
run make -C "$src" --no-print-directory install DESTDIR="$T/root" PREFIX=/usr
expect_rc "make install DESTDIR=... PREFIX=/usr works" 0
for f in usr/bin/groupbridge usr/share/man/man8/groupbridge.8 usr/share/man/man5/groupbridge.ini.5 \
	usr/lib/systemd/system/groupbridge@.service usr/lib/sysusers.d/groupbridge.conf \
	usr/lib/tmpfiles.d/groupbridge.conf usr/share/bash-completion/completions/groupbridge \
	usr/share/doc/groupbridge/examples/groupbridge.ini usr/share/doc/groupbridge/runbooks/verify.md \
	usr/share/groupbridge/templates/connect-sync-coexistence.ps1.in; do
	expect "make install puts $f" test -f "$T/root/$f"
done
expect "the installed unit names the installed binary" \
	grep -q "^ExecStart=/usr/bin/groupbridge " "$T/root/usr/lib/systemd/system/groupbridge@.service"
expect "no placeholder is left in the unit" sh -c "! grep -q '@[A-Z]*@' '$T/root/usr/lib/systemd/system/groupbridge@.service'"
expect "no placeholder is left in the man pages" sh -c "! grep -q '@VERSION@' '$T/root/usr/share/man/man8/groupbridge.8'"
finish
