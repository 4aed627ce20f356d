#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian/Ubuntu packages kip needs to build and test, and only those that are missing:
# says what it installs, runs `apt-get update` first, and does nothing when all are there.
# Run by `make check`; as root it calls apt-get directly, otherwise through sudo.
set -eu

packages="cmake make pkg-config gcc clang liblua5.4-dev lua5.4 libssh-dev libcurl4-openssl-dev
libssl-dev libyaml-dev lua-cjson libcivetweb-dev lua-busted lua-check openssh-server openssl python3 sudo iproute2 util-linux curl procps"
# libFuzzer's runtime: its own package on Debian 12, part of clang's common files elsewhere;
# chromium: the browser of the console's end-to-end test (console.e2e), driven by playwright-core
optional="libclang-rt-dev chromium"

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: not a Debian/Ubuntu system; install these packages' equivalents yourself: $packages" >&2
	exit 0
fi

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"
}

missing=""
for p in $packages; do
	installed "$p" || missing="$missing $p"
done
# The console's build (npm ci, vite build, vitest) needs node and npm. Added only when the commands
# are missing, so an installed Node.js (a newer one from another source) is never replaced.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
want_optional=""
for p in $optional; do
	installed "$p" || want_optional="$want_optional $p"
done
[ -z "$missing" ] && [ -z "$want_optional" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif command -v sudo >/dev/null 2>&1; then
	sudo="sudo"
else
	echo "deps: missing packages:$missing$want_optional; run as root or install them with apt-get" >&2
	exit 1
fi

echo "deps: updating the package lists (apt-get update)"
$sudo apt-get update -qq
# Optional packages are installed when this release has them.
for p in $want_optional; do
	if apt-cache show "$p" >/dev/null 2>&1; then missing="$missing $p"; fi
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
