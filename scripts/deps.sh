#!/bin/bash
# Install the build and run-time dependencies from Debian's archive.
# Idempotent: when every package is present it prints nothing and does nothing.
set -euo pipefail

# Packages from the base suite (bookworm).
base_pkgs=(build-essential flex bison bc libelf-dev libssl-dev cpio ccache
	   busybox-static rsync xz-utils git python3 gnuplot-nox jq
	   libnuma-dev libuuid1 seabios qemu-system-data shellcheck)
# Packages named explicitly from the backports suites.
bpo12_pkgs=(qemu-system-x86)
bpo13_pkgs=(linux-source-7.3)

missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed$' || echo "$p"
	done
}

need=$(missing "${base_pkgs[@]}" "${bpo12_pkgs[@]}" "${bpo13_pkgs[@]}")
[ -z "$need" ] && exit 0
echo "deps: installing: ${need//$'\n'/ }"

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo

# Extra suites use the mirror the system already trusts: the URIs of the
# first stanza of its own deb822 source file.
src=/etc/apt/sources.list.d/debian.sources
uri=$(awk '/^URIs:/ { print $2; exit }' "$src")
[ -n "$uri" ] || { echo "deps: no URIs: line in $src" >&2; exit 1; }

$sudo tee /etc/apt/sources.list.d/unmapped-backports.sources >/dev/null <<SRC
Types: deb deb-src
URIs: $uri
Suites: bookworm-backports trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC

# Nothing comes from trixie-backports unless it is asked for by name.
$sudo tee /etc/apt/preferences.d/unmapped-trixie-backports >/dev/null <<PIN
Package: *
Pin: release n=trixie-backports
Pin-Priority: 90
PIN

export DEBIAN_FRONTEND=noninteractive
apt_get() { $sudo apt-get -qq -o=Dpkg::Use-Pty=0 "$@"; }
apt_get update
apt_get install --no-install-recommends "${base_pkgs[@]}"
apt_get install --no-install-recommends -t bookworm-backports "${bpo12_pkgs[@]}"
apt_get install --no-install-recommends -t trixie-backports "${bpo13_pkgs[@]}"
