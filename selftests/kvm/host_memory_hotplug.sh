#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Host memory hotplug under guests with unmapped RAM, in the test host booted
# by vm-run.sh -N (NUMA node 1 with 256 MiB of boot memory). A DIMM is
# hot-added to node 1 through QEMU's monitor (l1-qmp.sh) and onlined; a
# guest whose NO_DIRECT_MAP guest_memfd RAM is bound to node 1, and larger
# than node 1's boot memory, takes part of it from the pools the DIMM fed
# (gmem_tlb_cost_test asserts its flush counts). While the guest holds its
# RAM, offlining the DIMM's memory blocks that hold some of it is refused.
# After it exits, offlining with fail_unmapped injecting faults is refused
# and leaves those blocks online and their pageblocks unmapped; without
# faults the DIMM goes offline, which maps its free unmapped pageblocks
# again. It is onlined again and a second guest uses it, and it is
# removed. unmapped_check must read "errors 0" after each step.
# Exit: 0 pass, 1 fail, 4 skip (kselftest).
set -euo pipefail

dimm_mib=${1:-512}
guest_mib=${2:-384}
bindir=$(dirname "$0")
node1=/sys/devices/system/node/node1

check=/sys/kernel/debug/direct_map_scan/unmapped_check
fail=/sys/kernel/debug/fail_unmapped

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
# shellcheck source=selftests/kvm/lib_dimm.sh
. "$bindir/lib_dimm.sh"

if [ ! -e $node1/meminfo ] || [ -z "${XCHG:-}" ] || [ ! -r $check ] || [ ! -d $fail ]; then
	echo "SKIP: needs the test host's NUMA node 1, QMP (vm-run.sh -N), unmapped_check and fail_unmapped"
	exit 4
fi

tmp=$(mktemp -d)
trap 'echo 0 > $fail/probability; rm -rf "$tmp"' EXIT
before=$(blocks)
mem_total=$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)
# All that node 1 could give a guest without the DIMM.
boot_pages=$(($(node1_kb MemTotal:) / 4))
dimm_add hotplug-dimm0 1 "$dimm_mib"
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

# A guest on node 1, holding its RAM while "$@" runs.
guest_on_node1() {
	local pid _
	rm -f "$tmp/stdin" "$tmp/out"
	mkfifo "$tmp/stdin"
	"$bindir/gmem_tlb_cost_test" -b unmapped -m "$guest_mib" -v 2 -n 1 -p \
		< "$tmp/stdin" > "$tmp/out" 2>&1 &
	pid=$!
	exec 3> "$tmp/stdin"
	for _ in $(seq 600); do
		if grep -q '^holding' "$tmp/out" || ! kill -0 $pid 2>/dev/null; then
			break
		fi
		sleep 0.5
	done
	grep -q '^holding' "$tmp/out" || { cat "$tmp/out"; fail "the guest on node 1 did not start"; }
	"$@"
	exec 3>&-
	wait $pid || { cat "$tmp/out"; fail "guest on node 1"; }
	cat "$tmp/out"
	# Compaction first drains the per-CPU LRU batches, which may still hold
	# the last folios the guest freed.
	echo 1 > /proc/sys/vm/compact_memory
	read -r pooled percpu < <(node1_free)
	echo "free unmapped pages on node 1 after the guest: $pooled, and $percpu on per-CPU lists"
	[ $((pooled + percpu)) -ge $((guest_mib << 8)) ] ||
		fail "the guest's RAM did not come from node 1"
	check_consistent
}

check_consistent() {
	grep -qx 'errors 0' $check || { cat $check; fail "unmapped_check found errors"; }
}

# Try to offline each block of the DIMM; put any that went offline back
# online. Sets $refused to the number refused; fails on any error but $1.
offline_refused() {
	local b
	refused=0
	for b in $added; do
		if echo offline 2> "$tmp/offline.err" > "$memory/$b/state"; then
			echo online_kernel > "$memory/$b/state" || fail "cannot online $b again"
			continue
		fi
		grep -q "$1" "$tmp/offline.err" || fail "offlining $b: $(cat "$tmp/offline.err")"
		[ "$(cat "$memory/$b/state")" = online ] || fail "$b is not online after a refusal"
		refused=$((refused + 1))
	done
}

refuse_in_use() {
	offline_refused 'Device or resource busy'
	echo "offlining refused for $refused memory blocks in use by the guest"
	[ "$refused" -gt 0 ] || fail "no memory block of the DIMM held the guest's RAM"
}
guest_on_node1 refuse_in_use

# With every direct-map change of the pools failing, blocks with free
# unmapped pageblocks cannot go offline; their pageblocks stay unmapped.
echo 0 > $fail/verbose
echo -1 > $fail/times
echo 100 > $fail/probability
offline_refused 'Cannot allocate memory'
echo 0 > $fail/probability
echo "offlining refused for $refused memory blocks under fail_unmapped"
[ "$refused" -gt 0 ] || fail "no memory block of the DIMM held free unmapped pageblocks"
check_consistent

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
check_consistent

# Onlined again, the DIMM serves the next guest (node 1's boot memory is
# too small for it), and goes offline again.
for b in $added; do
	echo online_kernel > "$memory/$b/state" || fail "cannot online $b again"
done
guest_on_node1 true
for b in $added; do
	echo offline > "$memory/$b/state" || fail "cannot offline $b again"
done
check_consistent

dimm_remove hotplug-dimm0
[ "$(blocks)" = "$before" ] || fail "memory blocks differ from before the DIMM"
[ "$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)" -eq "$mem_total" ] || fail "MemTotal changed"
echo "PASS"
