#!/bin/sh
# install-deps.sh - installs what socklens needs to build and test, from Debian 12 packages.
set -eu
PKGS="build-essential pkg-config libjansson-dev libcmocka-dev libdw-dev libelf-dev libncurses-dev tmux
      binutils curl python3 python3-jsonschema valgrind strace openssh-client openssl iproute2 nftables golang-go file liburing-dev
      nginx-light redis-server redis-tools wrk openjdk-17-jdk-headless postgresql dnsmasq-base
      prometheus prometheus-node-exporter bash-completion man-db chromium"
# Node.js for the tests, unless one is already on PATH (a newer one from elsewhere is fine)
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
# make check-transparency: CPython's test suites for Debian's python3
[ "${1:-}" = --transparency ] && PKGS="$PKGS libpython3.11-testsuite"
# make check-golibs: Go's gRPC, built from Debian's source packages
[ "${1:-}" = --golibs ] && PKGS="$PKGS golang-google-grpc-dev"
# make check-package: the Debian package's build and lintian
[ "${1:-}" = --package ] && PKGS="$PKGS debhelper dpkg-dev lintian fakeroot"
# A Go newer than Debian 12's 1.19 (whose runtime keeps goroutines' creators), from
# bookworm-backports, for the *_newer_go cases; read through lists of its own, so the machine's
# apt sources and lists are left as they were. Without it those cases are skipped, not failed.
NEWGO=golang-1.23-go
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
missing=""
for p in $PKGS; do
	installed "$p" || missing="$missing $p"
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
if [ -n "$missing" ]; then
	echo "socklens: installing$missing"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
if ! installed $NEWGO && [ "${SOCKLENS_NO_BACKPORTS:-}" != 1 ]; then
	echo "socklens: installing $NEWGO from bookworm-backports"
	d=$(mktemp -d)
	mkdir -p "$d/parts" "$d/lists/partial"
	echo "deb http://deb.debian.org/debian bookworm-backports main" > "$d/parts/backports.list"
	set -- -o Dir::Etc::sourcelist=/dev/null -o Dir::Etc::sourceparts="$d/parts" -o Dir::State::Lists="$d/lists"
	{ $SUDO apt-get "$@" update -qq 2>/dev/null &&
	  DEBIAN_FRONTEND=noninteractive $SUDO apt-get "$@" install -y -qq --no-install-recommends $NEWGO >/dev/null; } ||
		echo "socklens: could not install $NEWGO (bookworm-backports unreachable?): the newer-Go cases will be skipped"
	rm -rf "$d"
fi
[ -n "$missing" ] || echo "socklens: all dependencies are installed"
