#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# In the test host: the patched libvirt runs a VM of configs/examples/.
# virtqemud starts from its build tree; virsh defines and starts
# BACKING-vm.xml, whose guest is the nested Linux guest of selftests/guest/:
# - libvirt gave QEMU the guest_memfd backend options (unmapped) or none;
# - virtio-blk and virtio-net work; the guest's canary is never found in
#   the host's direct map (unmapped), or is (plain);
# - virsh attach-device adds a DIMM that the guest onlines and fills,
#   scanned the same way; virsh detach-device-alias takes it away;
# - virsh save + restore, then managedsave + start: the guest runs on
#   with its memory intact (the domain's guest dirties memory all along,
#   and selftests/guest/fill_canary.c checks it), and what it writes
#   afterwards is not in the direct map (unmapped);
# - virsh destroy ends the guest; the unmapped pools get its memory back.
# Prints the start latency (virsh start to the guest's init) and the
# direct-map counters' change as "key value" lines.
# With "refused", on a host whose KVM does not offer NO_DIRECT_MAP (booted
# with debug_pagealloc=on): virsh start of unmapped-vm.xml fails, saying
# so, and leaves no QEMU behind.
#
# usage: libvirt_guest.sh unmapped|plain|refused
# Exit: 0 pass, 1 fail, 4 skip (kselftest).
set -euo pipefail

backing=${1:?usage: libvirt_guest.sh unmapped|plain|refused}
# shellcheck source=selftests/kvm/lib_guest.sh
. "$(dirname "$0")/lib_guest.sh"
# shellcheck source=selftests/kvm/lib_libvirt.sh
. "$(dirname "$0")/lib_libvirt.sh"
example=$top/configs/examples/${backing/refused/unmapped}-vm.xml
require "$example"
name=$(sed -n 's|.*<name>\(.*\)</name>.*|\1|p' "$example")
fill_mib=$(sed -n 's/.*guest\.fill_mib=\([0-9]*\).*/\1/p' "$example")
dimm_fill_mib=$(sed -n 's/.*guest\.dimm_fill_mib=\([0-9]*\).*/\1/p' "$example")
dimm_mib=256

run=$(mktemp -d /tmp/libvirt_guest.XXXXXX)
cleanup() {
	virsh destroy "$name" > /dev/null 2>&1 || true
	virsh undefine "$name" > /dev/null 2>&1 || true
	libvirt_cleanup
}
trap cleanup EXIT
# The example domain, its guest told to dirty memory for the saves.
xml=$run/domain.xml
sed 's|<cmdline>|&guest.dirty_mib=8 |' "$example" > "$xml"

libvirt_host
ln -sf "/var/log/libvirt/qemu/$name.log" "$run/qemu.err"
start_virtqemud 7f61f4d2-0000-4000-8000-000000000001
virsh version > /dev/null || fail "virsh cannot reach virtqemud: $(tail -n 5 "$run/virtqemud.log")"

# saved_and_back TAG: after virsh save or managedsave (the QEMU gone), the
# domain is back with its memory intact and its guest running on, and,
# once the guest has written a new canary over what the saved file's
# page cache left behind, none of it in the direct map.
saved_and_back() {
	qemu_pid=$(cat "/run/libvirt/qemu/$name.pid")
	attach_console
	guest_status "$1" "$pty"
	[ "$round" -gt "$last_round" ] || fail "round $round after $1, $last_round before"
	last_round=$round
	echo "canary_pages.residue.$1 $(canary_pages)"
	guest_refill "$1" "$pty"
	check_scan "$1" must
}

snapshot > "$run/before"
virsh define "$xml" > /dev/null || fail "virsh define $xml"
if [ "$backing" = refused ]; then
	! virsh start "$name" > "$run/start.out" 2>&1 || fail "virsh start succeeded"
	grep -q 'host kernel does not offer' "$run/start.out" ||
		fail "virsh start failed for another reason: $(cat "$run/start.out")"
	! pgrep -f "guest=$name" > /dev/null || fail "a QEMU of $name is left running"
	echo "virsh start refused: $(cat "$run/start.out")"
	exit 0
fi
start=$(date +%s%N)
virsh start --paused "$name" > /dev/null || fail "virsh start"
qemu_pid=$(cat "/run/libvirt/qemu/$name.pid")
attach_console
virsh resume "$name" > /dev/null || fail "virsh resume"
wait_guest "guest: init" "${BOOT_TIMEOUT:-120}"
echo "start_latency_ms $((($(date +%s%N) - start) / 1000000))"

# What libvirt asked of QEMU for the guest's RAM.
grep -o '"qom-type":"memory-backend-memfd"[^}]*' "$run/qemu.err" > "$run/backends" ||
	fail "no memory-backend-memfd on QEMU's command line"
gmem='"guest-memfd":true,"direct-map":false'
if [ "$backing" = unmapped ]; then
	grep -q "$gmem" "$run/backends" || fail "QEMU's RAM backend lacks $gmem: $(cat "$run/backends")"
elif grep -q guest-memfd "$run/backends"; then
	fail "plain RAM is a guest_memfd: $(cat "$run/backends")"
fi

wait_guest "guest: blk ok"
[ "$(dd if="$images/disk.img" bs=512 skip=1 count=1 2>/dev/null | head -n 1)" = guest-wrote-this ] ||
	fail "the guest's virtio-blk write did not reach the disk"
wait_guest "guest: net ok"
wait_guest "guest: canary ready"
canary=$(guest_said "canary is")
check_scan run must

cat > "$run/dimm.xml" <<-EOF
	<memory model='dimm'>
	  <target>
	    <size unit='MiB'>$dimm_mib</size>
	    <node>0</node>
	  </target>
	</memory>
EOF
virsh attach-device "$name" "$run/dimm.xml" --live > /dev/null || fail "virsh attach-device"
check_dimm_filled $((dimm_fill_mib * 1024 / 2))
guest_say unplug "$pty"
wait_guest "guest: dimm freed"
alias=$(virsh dumpxml "$name" | sed -n "/<memory model='dimm'/,/<\/memory>/s/.*<alias name='\([^']*\)'.*/\1/p")
virsh detach-device-alias "$name" "$alias" --live > /dev/null || fail "virsh detach-device-alias $alias"
wait_guest "guest: dimm gone"
# libvirt deletes the backend once QEMU reports the DIMM gone.
for _ in $(seq 100); do
	virsh dumpxml "$name" | grep -q "<memory model='dimm'" || break
	sleep 0.1
done
if virsh dumpxml "$name" | grep -q "<memory model='dimm'"; then
	fail "the DIMM is still in the domain"
fi

# The guest waits on its console once the DIMM is gone; a line moves it
# on to checking its memory when asked.
guest_say continue "$pty"
guest_status 0 "$pty"
last_round=$round
virsh save "$name" "$run/saved" > /dev/null || fail "virsh save"
virsh restore "$run/saved" > /dev/null || fail "virsh restore"
rm "$run/saved"
saved_and_back restored
virsh managedsave "$name" > /dev/null || fail "virsh managedsave"
virsh start "$name" > /dev/null || fail "virsh start after managedsave"
saved_and_back managed
free_running=$(counter nr_free_unmapped)
virsh destroy "$name" > /dev/null || fail "virsh destroy"
while kill -0 "$qemu_pid" 2>/dev/null; do sleep 0.1; done
qemu_pid=""
# The guest's pages go back to the pools once KVM lets go of its memslots,
# which may be a moment after QEMU is gone.
returned=0
for _ in $(seq 100); do
	returned=$(($(counter nr_free_unmapped) - free_running))
	if [ "$backing" != unmapped ] || [ "$returned" -ge $((fill_mib * 256)) ]; then
		break
	fi
	sleep 0.1
done
echo "unmapped_pages_returned $returned"
[ "$backing" != unmapped ] || [ "$returned" -ge $((fill_mib * 256)) ] ||
	fail "$returned pages back in the unmapped pools, the guest filled $fill_mib MiB"
snapshot > "$run/after"
check_scan exit may
print_deltas "$run/before" "$run/after"
virsh undefine "$name" > /dev/null || fail "virsh undefine"
echo "PASS: $backing guest under libvirt, with a hot-plugged DIMM, saved and restored twice"
