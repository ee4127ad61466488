#!/bin/sh
# Installs what parley needs to build and test, on Debian. As root it runs
# apt-get (after apt-get update when a package is not found); otherwise it
# prints the exact command and stops.
set -u
PKGS="gcc make pkg-config libsodium-dev libevent-dev libjansson-dev libcbor-dev libsqlite3-dev"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "parley needs these Debian packages:$missing" >&2
	echo "run as root:  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
if ! apt-get install -y $missing >/dev/null 2>&1; then
	apt-get update >/dev/null 2>&1 || { echo "apt-get update failed" >&2; exit 1; }
	# shellcheck disable=SC2086
	apt-get install -y $missing || { echo "apt-get install failed:$missing" >&2; exit 1; }
fi
