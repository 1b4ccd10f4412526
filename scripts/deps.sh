#!/bin/bash
# Install the build and run-time dependencies from Debian's archive.
# Idempotent: when every package is present it prints nothing and does nothing.
set -euo pipefail

# Packages from the base suite (bookworm).
base_pkgs=(build-essential flex bison bc libelf-dev libssl-dev cpio ccache
	   busybox-static rsync xz-utils git python3 gnuplot-nox jq
	   libnuma-dev libuuid1 numactl seabios qemu-system-data shellcheck
	   python3-ply python3-git iproute2
	   ninja-build pkg-config python3-venv libglib2.0-dev libpixman-1-dev
	   zlib1g-dev libfdt-dev libslirp-dev
	   libxml2-dev libxml2-utils libgnutls28-dev libjson-c-dev libtirpc-dev
	   xsltproc libnl-3-dev libnl-route-3-dev)
# Packages named explicitly from the backports suites, pinned by version.
# QEMU 10.0.2 needs meson >= 1.5.
bpo12_pkgs=(qemu-system-x86=1:10.0.2+ds-2+deb13u1~bpo12+1 meson=1.7.0-1~bpo12+1
	    python3-pycotap=1.3.1-2~bpo12+1)
bpo13_pkgs=(linux-source-7.3=7.3.4-1~bpo13+1)

# Print each "name[=version]" that is not installed (at that version).
missing() {
	local p name version
	for p in "$@"; do
		name=${p%%=*} version=
		[ "$name" = "$p" ] || version=${p#*=}
		# shellcheck disable=SC2254 # an unpinned package matches any version
		case "$(dpkg-query -W -f='${Status}|${Version}' "$name" 2>/dev/null)" in
		"install ok installed|"${version:-*}) ;;
		*) echo "$p" ;;
		esac
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
log=$(cd "$(dirname "$0")/.." && pwd)/build/logs/deps.log
mkdir -p "${log%/*}"
apt_get() {
	$sudo apt-get -qq -o=Dpkg::Use-Pty=0 "$@" >> "$log" 2>&1 ||
		{ tail -n 20 "$log" >&2; echo "deps: apt-get $* failed (log: build/logs/deps.log)" >&2; exit 1; }
}
apt_get update
apt_get install --no-install-recommends "${base_pkgs[@]}"
apt_get install --no-install-recommends -t bookworm-backports "${bpo12_pkgs[@]}"
apt_get install --no-install-recommends -t trixie-backports "${bpo13_pkgs[@]}"
