#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Free memory of the unmapped pools is the first thing reclaim takes, in
# the test host (vm-run.sh -N). A VM whose RAM is NO_DIRECT_MAP
# guest_memfd exits, leaving its RAM in the pools as whole free pageblocks,
# and as free pages on per-CPU lists (pcp), which keep their blocks from
# being whole and which MemAvailable does not count for any type:
# 1. MemAvailable still counts the rest: it falls by less than a fourth
#    of the VM's RAM across the VM's run, plus what the pcp lists hold.
# 2. With swap on (zram) and a bystander holding anonymous memory that
#    could be swapped out, a hog takes memory until reclaim has returned
#    all but 64 MiB of the VM's RAM, pcp lists included: no page is
#    swapped out (pswpout), nothing is OOM-killed.
# Huge pages on node 0 take the memory the hog would otherwise have to fill.
# Exit: 0 pass, 1 fail, 4 skip.
set -euo pipefail

vm_mib=512
bystander_mib=128
# The pool is on node 0, and so is the pressure.
pressure_node=0
here=$(dirname "$0")
vmm=$here/gmem_tlb_cost_test
check=/sys/kernel/debug/direct_map_scan/unmapped_check
hugepages=/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages
huge0="" bystander="" swapped_on="" sampler="" trace=""
traced="nr_free_pages nr_free_unmapped nr_free_unmapped_blocks unmapped_pageblocks_remapped pswpout pgscan_kswapd pgscan_direct"
# shellcheck source=selftests/kvm/lib_pressure.sh
. "$here/lib_pressure.sh"

# The counters of $traced every 0.2 s, while the hog runs.
sample() {
	while sleep 0.2; do
		awk -v keys="$traced" 'BEGIN { n = split(keys, k) } { v[$1] = $2 }
			END { for (i = 1; i <= n; i++) printf "%s %s ", k[i], v[k[i]]; print "" }' /proc/vmstat
	done
}
# What the counters were when the hog began, when the first page was
# swapped out, and last.
show_trace() {
	[ -s "$trace" ] || return 0
	awk 'NR == 1 { print "trace first:", $0; s = $10 } !w && $10 > s { print "trace first swap:", $0; w = 1 }
	     { l = $0 } END { print "trace last:", l }' "$trace"
}
fail() { echo "FAIL: $*"; show_trace; exit 1; }
cleanup() {
	[ -z "$sampler" ] || kill "$sampler" 2>/dev/null || true
	if [ -n "$bystander" ]; then
		kill -KILL "$bystander" 2>/dev/null || true
		wait "$bystander" 2>/dev/null || true
	fi
	[ -z "$swapped_on" ] || swapoff /dev/zram0 || true
	[ -z "$huge0" ] || echo "$huge0" > $hugepages
	rm -f "$trace"
}

if [ ! -r $check ] || [ ! -w /dev/kvm ] || [ ! -x "$vmm" ] || [ ! -w $hugepages ] ||
   [ -z "$(vmstat nr_free_unmapped)" ] || ! command -v python3 >/dev/null; then
	echo "SKIP: needs root, KVM, the unmapped pools, $check, huge pages, python3 and $vmm"
	exit 4
fi
trap cleanup EXIT
huge0=$(cat $hugepages)

# 1. MemAvailable across a VM's run, with the pools emptied first.
echo 3 > /proc/sys/vm/drop_caches
squeeze $((vm_mib + 512))
avail0=$(meminfo_mib MemAvailable)
"$vmm" -b unmapped -m $vm_mib > /dev/null || fail "the VM exited with $?"
# With no VM left, unmapped pages off the free lists are on pcp lists. The
# lists drain as they decay, so they are counted first: a page leaving
# them after the count is no longer held either.
for _ in $(seq 50); do
	pcp=$(pcp_pages)
	held=$(held_pages)
	[ "$held" -gt "$pcp" ] || break
	sleep 0.2
done
avail1=$(meminfo_mib MemAvailable)
pool=$(vmstat nr_free_unmapped)
held_mib=$((held / 256))
echo "memavailable_mib_before $avail0"
echo "memavailable_mib_after $avail1"
echo "nr_free_unmapped_after_vm $pool"
echo "nr_free_unmapped_blocks_after_vm $(vmstat nr_free_unmapped_blocks)"
echo "unmapped_mib_on_pcp_lists $held_mib"
[ "$held" -le "$pcp" ] || fail "$held unmapped pages held with no VM, $pcp on pcp lists"
[ $((pool / 256 + held_mib)) -ge $((vm_mib / 2)) ] ||
	fail "only $((pool / 256 + held_mib)) MiB in the pools after a VM of $vm_mib MiB"
[ $((avail0 - avail1 - held_mib)) -lt $((vm_mib / 4)) ] ||
	fail "MemAvailable fell by $((avail0 - avail1)) MiB over the run of a VM of $vm_mib MiB, $held_mib MiB of it on pcp lists"

# 2. The hog: reclaim must take the pools' blocks, not swap the bystander.
swap_and_bystander $bystander_mib
pswpout0=$(vmstat pswpout)
oom0=$(vmstat oom_kill)
goal=$(((pool / 256 + held_mib - 64) / 2))
cap=$((avail1 + held_mib + 64))
remapped0=$(vmstat unmapped_pageblocks_remapped)
trace=$(mktemp)
sample > "$trace" &
sampler=$!
mib=$(hog 0 $cap unmapped_pageblocks_remapped "$goal") || fail "the hog failed"
kill $sampler
sampler=""
pswpout=$(($(vmstat pswpout) - pswpout0))
echo "hog_mib $mib"
echo "pageblocks_to_remap $goal"
echo "pageblocks_remapped $(($(vmstat unmapped_pageblocks_remapped) - remapped0))"
echo "nr_free_unmapped_after_hog $(vmstat nr_free_unmapped)"
echo "pswpout $pswpout"
echo "bystander_swap_kb $(awk '$1 == "VmSwap:" { print $2 }' "/proc/$bystander/status")"
[ "$(vmstat oom_kill)" -eq "$oom0" ] || fail "OOM kill under the hog"
[ "$mib" -lt $cap ] || fail "the hog reached its cap of $cap MiB before the pools had returned $goal pageblocks"
[ $pswpout -eq 0 ] || fail "$pswpout pages swapped out while the pools held free pageblocks"
grep -qx 'errors 0' $check || fail "unmapped_check: $(tr '\n' ' ' < $check)"
echo "PASS"
