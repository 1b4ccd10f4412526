#!/bin/bash
# Configure (when the options or the device list changed) and build the
# patched QEMU of build/qemu into build/qemu-build: x86_64 with KVM only,
# the devices of configs/qemu-devices.mak, no download, no firmware of its
# own: installed, it looks for Debian's (packages seabios, qemu-system-data);
# run from build/qemu-build it needs -L for each of their directories.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
src=$top/build/qemu
out=$top/build/qemu-build
devices=$src/configs/devices/x86_64-softmmu/unmapped.mak
# /usr/bin/python3: Debian's, with the modules meson needs.
options=(--python=/usr/bin/python3 --cc="ccache gcc" --host-cc="ccache gcc"
	 --target-list=x86_64-softmmu --without-default-features
	 --without-default-devices --with-devices-x86_64=unmapped
	 --disable-docs --disable-werror --disable-download --disable-install-blobs
	 --firmwarepath=/usr/share/qemu:/usr/share/seabios
	 --enable-kvm --disable-tcg --enable-slirp --enable-fdt=system --enable-numa
	 --enable-vhost-net --enable-vhost-kernel --enable-vhost-user)

cmp -s "$top/configs/qemu-devices.mak" "$devices" ||
	cp "$top/configs/qemu-devices.mak" "$devices"
stamp=$out/unmapped-configured
want=$(cat "$devices"; echo "${options[*]}")
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
	rm -rf "$out"
	mkdir -p "$out"
	(cd "$out" && "$src/configure" "${options[@]}")
	echo "$want" > "$stamp"
fi
ninja -C "$out" qemu-system-x86_64
