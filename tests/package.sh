#!/usr/bin/env bash
# package.sh - `make check-package`: builds the Debian package from the files git tracks (as a
# fresh clone would), checks it with lintian (no error or warning; info tags overridden with a
# reason in debian/socklens.lintian-overrides), unpacks it and runs what it installed: socklens
# finds its shim under the multiarch library directory, the man page reads clean, completion is
# in bash-completion's directory. Needs ./scripts/install-deps.sh --package.
set -eu
cd "$(dirname "$0")/.."
for t in dpkg-buildpackage dh lintian; do
	command -v $t >/dev/null || { echo "package.sh: $t missing; run: ./scripts/install-deps.sh --package" >&2; exit 1; }
done
TMP=$(mktemp -d /tmp/socklens-pkg-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
version=$(dpkg-parsechangelog -S Version)
src=$TMP/socklens-$version
mkdir "$src"
git ls-files -z | xargs -0 tar -cf - | tar -xf - -C "$src"
(cd "$src" && dpkg-buildpackage -us -uc -b > $TMP/build.log 2>&1) || { tail -30 $TMP/build.log; exit 1; }
deb=$TMP/socklens_${version}_amd64.deb
echo "built $(basename $deb): $(du -k $deb | cut -f1) KiB"
lrc=0
lintian --fail-on error,warning $deb > $TMP/lintian.txt 2>&1 || lrc=$?
grep -v "running with root privileges" $TMP/lintian.txt || true
echo "lintian: exit $lrc, $(grep -vc "running with root privileges" $TMP/lintian.txt || true) tags"
[ $lrc -eq 0 ] || exit 1
root=$TMP/root
dpkg-deb -x $deb $root
lib=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)
for f in /usr/bin/socklens $lib/socklens/libsocklens.so $lib/socklens/socklens-node.js \
	/usr/share/man/man1/socklens.1.gz /usr/share/bash-completion/completions/socklens \
	/usr/share/doc/socklens/copyright; do
	[ -f "$root$f" ] || { echo "package.sh: $f is not in the package"; exit 1; }
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rc=0
$root/usr/bin/socklens run --report $TMP/report.txt -- curl -s http://127.0.0.1:$port/ || rc=$?
[ $rc -eq 7 ] && grep -q "connect-refused" $TMP/report.txt || { echo "package.sh: the installed socklens did not report"; cat $TMP/report.txt; exit 1; }
man --warnings -l $root/usr/share/man/man1/socklens.1.gz 2>&1 >/dev/null | (! grep .) || exit 1
echo "package.sh: $(basename $deb) builds, is lintian clean, and its socklens works from $lib/socklens"
