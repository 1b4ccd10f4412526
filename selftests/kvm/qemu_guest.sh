#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# In the test host: boot a Linux guest (the project's bzImage and the
# initramfs of selftests/guest/) under the patched QEMU, with all of its RAM
# in one memory backend, and check and measure it:
# - the guest's init prints "guest: init": the start latency is the time
#   from QEMU's exec to that line;
# - virtio-blk (read and write), virtio-net over slirp and over a tap with
#   vhost-net, virtio-rng work;
# - the guest fills part of its RAM with a canary and the host scans its
#   direct map for it (debugfs direct_map_scan): none may be found when
#   the RAM is unmapped, some must be when it is plain;
# - with -d, a DIMM of the same backing is hot-added over QMP, onlined and
#   filled by the guest, scanned, then unplugged and its backend deleted;
# - the direct-map TLB flushes, 4K/2M splits, DirectMap4k/2M change and the
#   free unmapped pages before and after, printed as "key value" lines.
#
# usage: qemu_guest.sh [-d] [-m MIB] [-f MIB] BACKING
#   BACKING: plain (a memfd), mapped (guest_memfd), unmapped (guest_memfd,
#   direct-map=off), per_folio (unmapped, on KVM's per-folio mode)
# Exit: 0 pass, 1 fail, 4 skip (kselftest).
set -euo pipefail

dimm="" mem_mib=256 fill_mib=64 options=("$@")
while getopts dm:f: opt; do
	case $opt in
	d) dimm=1 ;; m) mem_mib=$OPTARG ;; f) fill_mib=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
backing=${1:?usage: qemu_guest.sh [-d] [-m MIB] [-f MIB] plain|mapped|unmapped|per_folio}
if [ "$backing" = per_folio ]; then
	exec "$(dirname "$0")/per_folio.sh" unmapped/qemu_guest.sh \
		"${options[@]:0:${#options[@]}-1}" unmapped
fi

# shellcheck source=selftests/kvm/lib_guest.sh
. "$(dirname "$0")/lib_guest.sh"
backend_props "$backing"
require "$qemu" "$kernel" "$initrd" /dev/kvm /dev/vhost-net $scan/canary

run=$(mktemp -d /tmp/qemu_guest.XXXXXX)
cleanup() {
	[ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null || true
	ip link del tap-l2 2>/dev/null || true
	rm -rf "$run"
}
trap cleanup EXIT
qmp() { python3 "$top/scripts/qmp.py" "$run/qmp"; }

printf unmapped-disk-v1 > "$run/disk"
truncate -s 8M "$run/disk"
ip tuntap add tap-l2 mode tap
ip addr add 192.168.76.1/24 dev tap-l2
ip link set tap-l2 up
mkfifo "$run/serial.in" "$run/serial.out"
cat "$run/serial.out" > "$run/console" &

# shellcheck disable=SC2054 # commas separate QEMU sub-options
args=(
	-accel kvm -cpu host -smp 1 -machine pc,smm=off,memory-backend=ram0
	-m "${mem_mib}M,slots=2,maxmem=$((mem_mib * 4))M"
	-object "memory-backend-memfd,id=ram0,size=${mem_mib}M$props"
	-nodefaults -no-user-config -display none -no-reboot "${firmware[@]}"
	-serial "pipe:$run/serial" -qmp "unix:$run/qmp,server=on,wait=off"
	-kernel "$kernel" -initrd "$initrd"
	-append "console=ttyS0 panic=-1 kunit.enable=0 quiet guest.fill_mib=$fill_mib guest.dimm=${dimm:-0} guest.dimm_fill_mib=$((mem_mib / 2))"
	-drive "file=$run/disk,if=none,id=disk,format=raw"
	-device "virtio-blk-pci,drive=disk,$legacy"
	-netdev user,id=slirp -device "virtio-net-pci,netdev=slirp,romfile=,$legacy"
	-netdev tap,id=tap,ifname=tap-l2,script=no,downscript=no,vhost=on
	-device "virtio-net-pci,netdev=tap,romfile=,$legacy"
	-device "virtio-rng-pci,$legacy"
)

snapshot > "$run/before"
start=$(date +%s%N)
"$qemu" "${args[@]}" 2> "$run/qemu.err" &
qemu_pid=$!
wait_guest "guest: init" "${BOOT_TIMEOUT:-120}"
echo "start_latency_ms $((($(date +%s%N) - start) / 1000000))"
wait_guest "guest: blk ok"
[ "$(dd if="$run/disk" bs=512 skip=1 count=1 2>/dev/null | head -n 1)" = guest-wrote-this ] ||
	fail "the guest's virtio-blk write did not reach the disk"
wait_guest "guest: vhost-net ok"
wait_guest "guest: canary ready"
canary=$(guest_said "canary is")
check_scan run must

if [ -n "$dimm" ]; then
	qmp > /dev/null <<-EOF || fail "QEMU refused the DIMM"
	{"execute": "object-add", "arguments": {"qom-type": "memory-backend-memfd", "id": "dimm0-mem", "size": $((mem_mib << 20))$json}}
	{"execute": "device_add", "arguments": {"driver": "pc-dimm", "id": "dimm0", "memdev": "dimm0-mem"}}
	EOF
	check_dimm_filled $((mem_mib * 1024 / 4))
	echo unplug > "$run/serial.in"
	wait_guest "guest: dimm freed"
	echo '{"execute": "device_del", "arguments": {"id": "dimm0"}}' | qmp > /dev/null ||
		fail "QEMU refused to unplug the DIMM"
	wait_guest "guest: dimm gone"
	for _ in $(seq 100); do
		echo '{"execute": "query-memory-devices"}' | qmp | grep -q dimm0 || break
		sleep 0.1
	done
	echo '{"execute": "object-del", "arguments": {"id": "dimm0-mem"}}' | qmp > /dev/null ||
		fail "the DIMM's backend could not be deleted"
	echo poweroff > "$run/serial.in"
fi

wait_guest "guest: done"
wait "$qemu_pid" || fail "QEMU exited with $?: $(cat "$run/qemu.err")"
qemu_pid=""
snapshot > "$run/after"
check_scan exit may
print_deltas "$run/before" "$run/after"
grep -v "^qemu-system-x86_64: warning" "$run/qemu.err" || true
echo "PASS: $backing guest${dimm:+ with a hot-plugged DIMM}"
