#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# In the test host: virsh migrate --live of configs/examples/unmapped-vm.xml
# from one virtqemud to a second one that stands in for another host (its
# own configuration, state and host UUID; lib_libvirt.sh), while the guest
# keeps dirtying memory:
# - the destination's QEMU gets the same guest_memfd backend options;
# - the guest runs on there with its memory intact (selftests/guest/
#   fill_canary.c checks its canary and every page it dirtied);
# - while its memory is in flight, the host's direct map holds no more of
#   it than the migration's buffers (lib_guest.sh, check_in_flight), and
#   none once it has written a new canary over what the source QEMU freed;
# - the source's QEMU and domain are gone (--persistent --undefinesource);
# - then virsh snapshot-create-as of its memory state, live, and
#   snapshot-revert to it: the guest runs on from there, intact.
# Prints the migration's wall time as a "key value" line.
#
# usage: libvirt_migrate.sh
# Exit: 0 pass, 1 fail, 4 skip (kselftest).
set -euo pipefail

backing=unmapped
# shellcheck source=selftests/kvm/lib_guest.sh
. "$(dirname "$0")/lib_guest.sh"
# shellcheck source=selftests/kvm/lib_libvirt.sh
. "$(dirname "$0")/lib_libvirt.sh"
example=$top/configs/examples/unmapped-vm.xml
require "$example"
name=$(sed -n 's|.*<name>\(.*\)</name>.*|\1|p' "$example")
fill_mib=$(sed -n 's/.*guest\.fill_mib=\([0-9]*\).*/\1/p' "$example")

run=$(mktemp -d /tmp/libvirt_migrate.XXXXXX)
src_uri=qemu:///system
dst=$run/dst
dst_uri="qemu+unix:///system?socket=$dst/run/virtqemud-sock"
cleanup() {
	local uri
	for uri in "$dst_uri" "$src_uri"; do
		libvirt_uri=$uri
		virsh destroy "$name" > /dev/null 2>&1 || true
		virsh undefine --snapshots-metadata "$name" > /dev/null 2>&1 || true
	done
	libvirt_cleanup
}
trap cleanup EXIT
# No DIMM here (libvirt_guest.sh has it); the guest dirties 8 MiB a round.
xml=$run/domain.xml
sed -e 's| guest\.dimm=1||' -e 's|<cmdline>|&guest.dirty_mib=8 |' "$example" > "$xml"

libvirt_host
start_virtqemud 7f61f4d2-0000-4000-8000-000000000001
start_virtqemud 7f61f4d2-0000-4000-8000-000000000002 "$dst"
ln -sf "/var/log/libvirt/qemu/$name.log" "$run/qemu.err"

virsh define "$xml" > /dev/null || fail "virsh define $xml"
virsh start "$name" > /dev/null || fail "virsh start"
qemu_pid=$(cat "/run/libvirt/qemu/$name.pid")
attach_console
wait_guest "guest: canary ready" "${BOOT_TIMEOUT:-120}"
canary=$(guest_said "canary is")
check_scan run must
guest_status 0 "$pty"
last_round=$round
src_pid=$qemu_pid

# --unsafe: libvirt cannot tell that the disk's file is shared by both
# "hosts", and asks for cache=none otherwise, whose O_DIRECT I/O cannot
# pin direct-map=off memory.
start=$(date +%s%N)
# The test host has no IPv6, where QEMU would listen by default, and may
# not have brought its loopback up.
ip link set lo up
virsh migrate --live --unsafe --persistent --undefinesource "$name" "$dst_uri" \
	--listen-address 127.0.0.1 --migrateuri tcp://127.0.0.1 > "$run/migrate.out" 2>&1 &
migrate_pid=$!
# Scan while the guest's memory is in flight, as long as it is.
scans=0 most=0
while kill -0 "$migrate_pid" 2>/dev/null; do
	check_in_flight "during.$scans" > /dev/null
	[ "$pages" -le "$most" ] || most=$pages
	scans=$((scans + 1))
	sleep 1
done
wait "$migrate_pid" || fail "virsh migrate: $(cat "$run/migrate.out")"
echo "migration_wall_ms $((($(date +%s%N) - start) / 1000000))"
echo "canary_scans.during $scans"
echo "canary_pages.during_most $most"
[ "$scans" -gt 0 ] || fail "the migration ended before a scan"

while kill -0 "$src_pid" 2>/dev/null; do sleep 0.1; done
! virsh dominfo "$name" > /dev/null 2>&1 || fail "the source still has $name"
libvirt_uri=$dst_uri
ln -sf "$dst/log/qemu/$name.log" "$run/qemu.err"
grep -q '"guest-memfd":true,"direct-map":false' "$run/qemu.err" ||
	fail "the destination's QEMU lacks the guest_memfd options"
qemu_pid=$(cat "$dst/run/qemu/$name.pid")
attach_console
guest_status migrated "$pty"
[ "$round" -gt "$last_round" ] || fail "round $round after the migration, $last_round before"
# The source QEMU's pages were freed, not cleared: what the guest writes
# from now on must stay out of the direct map.
echo "canary_pages.residue $(canary_pages)"
guest_refill migrated "$pty"
check_scan after must

# A snapshot of the memory state, taken live on the destination (the disk
# left out of it), and the domain reverted to it: the guest resumes with
# the memory it had then, consistent with its own state; what it writes
# afterwards is not in the direct map.
virsh snapshot-create-as "$name" held --live --diskspec vda,snapshot=no \
	--memspec "file=$run/held.mem,snapshot=external" > /dev/null || fail "virsh snapshot-create-as"
guest_status snapshot "$pty"
virsh snapshot-revert "$name" held --running > /dev/null || fail "virsh snapshot-revert"
qemu_pid=$(cat "$dst/run/qemu/$name.pid")
attach_console
guest_status reverted "$pty"
# The memory file's page cache, as a saved file's (libvirt_guest.sh).
echo "canary_pages.residue.reverted $(canary_pages)"
guest_refill reverted "$pty"
check_scan reverted must
echo "PASS: virsh migrate --live of $name, and a snapshot of it, its guest intact"
