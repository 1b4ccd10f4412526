#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Host memory hotplug under guests with unmapped RAM, in the test host booted
# by vm-run.sh -N (NUMA node 1 with 256 MiB of boot memory). A DIMM is
# hot-added to node 1 through QEMU's monitor (l1-qmp.sh) and onlined; a
# guest whose NO_DIRECT_MAP guest_memfd RAM is bound to node 1, and larger
# than node 1's boot memory, takes part of it from the pools the DIMM fed
# (gmem_tlb_cost_test asserts its flush counts). After it exits the DIMM
# goes offline, which maps its free unmapped pageblocks again, and is
# removed. Exit: 0 pass, 1 fail, 4 skip (kselftest).
set -euo pipefail

dimm_mib=${1:-512}
guest_mib=${2:-384}
bindir=$(dirname "$0")
memory=/sys/devices/system/memory
node1=/sys/devices/system/node/node1

fail() { echo "FAIL: $*"; exit 1; }
vmstat() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }
# Free unmapped pages on node 1's buddy lists, and pages on its per-CPU
# lists, from one read of /proc/zoneinfo. The per-CPU lists decay into the
# buddy lists every second, so read until two snapshots agree.
node1_free() {
	local _ now prev=
	for _ in $(seq 50); do
		now=$(awk '$1 == "Node" { n = $2 } n != "1," { next }
			$1 == "nr_free_unmapped" { f += $2 } $1 == "count:" { c += $2 }
			END { print f + 0, c + 0 }' /proc/zoneinfo)
		[ "$now" = "$prev" ] && break
		prev=$now
		sleep 0.1
	done
	echo "$now"
}
node1_kb() { awk -v key="$1" '$3 == key { print $4 }' $node1/meminfo; }
blocks() { find "$memory" -maxdepth 1 -name 'memory[0-9]*' -printf '%f\n' | sort; }
# Wait up to 30 s for the list of memory blocks to differ from $1.
wait_blocks_change() {
	local _
	for _ in $(seq 150); do
		[ "$(blocks)" = "$1" ] || return 0
		sleep 0.2
	done
	return 1
}

if [ ! -e $node1/meminfo ] || [ -z "${XCHG:-}" ]; then
	echo "SKIP: needs the test host's NUMA node 1 and QMP (vm-run.sh -N)"
	exit 4
fi

before=$(blocks)
mem_total=$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)
# All that node 1 could give a guest without the DIMM.
boot_pages=$(($(node1_kb MemTotal:) / 4))
l1-qmp.sh >/dev/null <<-EOF || fail "QEMU refused the DIMM"
	{"execute": "object-add", "arguments": {"qom-type": "memory-backend-ram", "id": "hotplug-mem0", "size": $((dimm_mib << 20))}}
	{"execute": "device_add", "arguments": {"driver": "pc-dimm", "id": "hotplug-dimm0", "memdev": "hotplug-mem0", "node": 1}}
	EOF
wait_blocks_change "$before" || fail "no memory block appeared"
added=$(comm -13 <(echo "$before") <(blocks))
echo "added: $(wc -w <<< "$added") memory blocks"
for b in $added; do
	echo online_kernel > "$memory/$b/state" || fail "cannot online $b"
done

# mbind() on guest_memfd, with the pages' nodes read back by move_pages().
for flags in 0 0x4; do
	KVM_SELFTESTS_GUEST_MEMFD_FLAGS=$flags "$bindir/../guest_memfd_test" >/dev/null ||
		fail "guest_memfd_test with guest_memfd flags $flags"
done
echo "guest_memfd_test: passed with node 1 grown, with and without NO_DIRECT_MAP"

"$bindir/gmem_tlb_cost_test" -b unmapped -m "$guest_mib" -v 2 -n 1 || fail "guest on node 1"
# Compaction first drains the per-CPU LRU batches, which may still hold
# the last folios the guest freed.
echo 1 > /proc/sys/vm/compact_memory
read -r pooled percpu < <(node1_free)
echo "free unmapped pages on node 1 after the guest: $pooled, and $percpu on per-CPU lists"
[ $((pooled + percpu)) -ge $((guest_mib << 8)) ] || fail "the guest's RAM did not come from node 1"

# Offlining drains the per-CPU lists, then maps the DIMM's free unmapped
# pageblocks (512 pages each) again. The pool keeps the rest of node 1's.
remapped=$(vmstat unmapped_pageblocks_remapped)
for b in $added; do
	echo offline > "$memory/$b/state" || fail "cannot offline $b"
done
remapped=$(($(vmstat unmapped_pageblocks_remapped) - remapped))
read -r left _ < <(node1_free)
echo "pageblocks mapped again by offlining: $remapped; free unmapped pages left on node 1: $left"
[ $((remapped * 512)) -ge $(((guest_mib << 8) - boot_pages)) ] ||
	fail "$remapped unmapped pageblocks on the DIMM, the guest needed more"
if [ $((left + remapped * 512)) -lt "$pooled" ] ||
   [ $((left + remapped * 512)) -gt $((pooled + percpu)) ]; then
	fail "$pooled + $percpu free unmapped pages before offlining, $left + $remapped pageblocks after"
fi

during=$(blocks)
l1-qmp.sh <<< '{"execute": "device_del", "arguments": {"id": "hotplug-dimm0"}}' >/dev/null ||
	fail "QEMU refused to remove the DIMM"
wait_blocks_change "$during" || fail "the DIMM's memory blocks are still there"
l1-qmp.sh <<< '{"execute": "object-del", "arguments": {"id": "hotplug-mem0"}}' >/dev/null ||
	fail "cannot delete the DIMM's backend"
[ "$(blocks)" = "$before" ] || fail "memory blocks differ from before the DIMM"
[ "$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)" -eq "$mem_total" ] || fail "MemTotal changed"
echo "PASS"
