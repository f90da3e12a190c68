#!/bin/sh
# The state database on a full file system: the command fails with a clear message naming the state, nothing is
# half-written, and the database is intact and usable once there is room again. Needs root (mounts a small tmpfs).
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" != 0 ]; then
	echo "cli_full_disk.sh: needs root to mount a tmpfs"
	echo "0 passed, 1 failed"
	exit 1
fi
mnt="$T/small"
mkdir -p "$mnt"
mount -t tmpfs -o size=2m tmpfs "$mnt" || {
	echo "0 passed, 1 failed"
	exit 1
}
trap 'umount "$mnt" 2>/dev/null; rm -rf "$T"' EXIT
printf '[migration]\nconnect_sync_export = %s/data/connect-sync/contoso-2016\n' "$here" >"$T/gb.ini"
GB="$GB_BIN --config $T/gb.ini --state $mnt/gb.db"
run $GB import connect-sync
expect_rc "the first import fits" 0
# Fill the file system, leaving too little room for another import.
dd if=/dev/zero of="$mnt/filler" bs=1k count=4096 >/dev/null 2>&1
run $GB import connect-sync
expect "the import on a full disk fails" test "$rc" != 0
expect_err "the message names the state database" "$mnt/gb.db"
expect_err "the message says the disk is full" "full"
rm -f "$mnt/filler"
expect "the database is intact" test "$(sqlite3 "$mnt/gb.db" 'PRAGMA integrity_check')" = ok
expect "the first import is still the only one" test "$(sqlite3 "$mnt/gb.db" 'SELECT count(*) FROM cs_imports')" = 1
run $GB import connect-sync
expect_rc "with room again, importing works" 0
expect "now there are two imports, one current" test "$(sqlite3 "$mnt/gb.db" 'SELECT count(*) FROM cs_imports')" = 2
run $GB audit verify
expect_rc "the audit log is intact" 0
finish
