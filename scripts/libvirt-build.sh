#!/bin/bash
# Configure (when the options changed) and build the patched libvirt of
# build/libvirt into build/libvirt-build: the QEMU driver, its modular
# daemon virtqemud, virsh and the unit tests, nothing else. The test host
# runs them from the build tree through its "run" wrapper.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
src=$top/build/libvirt
out=$top/build/libvirt-build
disabled_features=(driver_network driver_interface driver_secrets
	driver_test driver_bhyve driver_esx driver_hyperv driver_libxl driver_lxc
	driver_ch driver_openvz driver_vbox driver_vmware driver_vz
	storage_dir storage_disk storage_fs storage_gluster storage_iscsi
	storage_iscsi_direct storage_lvm storage_mpath storage_rbd storage_scsi
	storage_vstorage storage_zfs docs nls apparmor selinux polkit sasl libssh
	libssh2 firewalld numad nss sanlock audit wireshark_dissector bash_completion
	host_validate login_shell nbdkit)
options=(-Dsystem=true -Dinit_script=none -Ddriver_qemu=enabled
	 -Ddriver_remote=enabled -Dtests=enabled -Dexpensive_tests=disabled)
for f in "${disabled_features[@]}"; do
	options+=("-D$f=disabled")
done

stamp=$out/unmapped-configured
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "${options[*]}" ]; then
	rm -rf "$out"
	# Debian's python3 first: libvirt's build scripts need its modules.
	PATH=/usr/bin:$PATH CC="ccache gcc" meson setup "$out" "$src" "${options[@]}"
	echo "${options[*]}" > "$stamp"
fi
PATH=/usr/bin:$PATH ninja -C "$out"
