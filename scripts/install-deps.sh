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
# make check-package: the Debian package's build and lintian
[ "${1:-}" = --package ] && PKGS="$PKGS debhelper dpkg-dev lintian fakeroot"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && { echo "socklens: all dependencies are installed"; exit 0; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "socklens: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
