#!/bin/sh
# make deb: builds the Debian package with dpkg-buildpackage -us -uc -b from a copy of the source tree, so that the
# package's build never touches the tree's own build directory.
#   make-deb.sh OUT     OUT/groupbridge-VERSION/ is the copy; the .deb, .buildinfo and .changes land in OUT/
set -eu
out=$1
src=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^#define GB_VERSION "\(.*\)"/\1/p' "$src/include/groupbridge/version.h")
changelog=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
if [ "$version" != "$changelog" ]; then
	echo "make deb: debian/changelog is at $changelog but include/groupbridge/version.h at $version" >&2
	exit 1
fi
rm -rf "$out"
mkdir -p "$out/groupbridge-$version"
# the tree as it is (committed or not), without build output and git's own files
(cd "$src" && tar --exclude='./build*' --exclude=./.git --exclude=./tests/fuzz/corpus-run -cf - .) | (cd "$out/groupbridge-$version" && tar -xf -)
echo "make deb: dpkg-buildpackage -us -uc -b in $out/groupbridge-$version (log: $out/build.log)"
if ! (cd "$out/groupbridge-$version" &&
	DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2
	echo "make deb: dpkg-buildpackage failed; log: $out/build.log" >&2
	exit 1
fi
ls "$out"/groupbridge_"$version"_*.deb
