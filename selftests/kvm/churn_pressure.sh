#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Reliability of the unmapped pools under VM churn, memory pressure and the
# OOM killer, in bounded time, in the test host (vm-run.sh -N).
# 1. Churn: WORKERS loops start and stop VMs whose RAM is NO_DIRECT_MAP
#    guest_memfd (gmem_tlb_cost_test -b unmapped, 16 to 96 MiB) for SECONDS.
#    The pool is filled first with one big refill, so that no VM refills it
#    while others run (each VM asserts the refills it sees): every VM must
#    exit 0, and no pageblock may be unmapped during the churn.
# 2. Pressure: a hog of anonymous memory, sized from the memory available
#    outside the pool, drives reclaim until it has mapped a fourth of the
#    pool's pageblocks again: nr_free_unmapped falls, nothing is OOM-killed.
# 3. OOM: a VM holding unmapped RAM, stopped, with oom_score_adj 1000, and a
#    hog that allocates until the OOM killer runs: the VM dies of SIGKILL
#    (and at most the hog after it), and its RAM goes back to the free
#    unmapped lists. The test host has no memory cgroup (no CONFIG_MEMCG):
#    this is a global OOM.
# 4. Once drop_caches has run the shrinker, at most a pageblock of free
#    unmapped pages is left per zone (nr_free_unmapped), none is in use, and
#    unmapped_check finds no error.
# Huge pages on node 0 take the memory the hogs would otherwise have to fill.
# usage: churn_pressure.sh [SECONDS [WORKERS]]. Exit: 0 pass, 1 fail, 4 skip.
set -euo pipefail

seconds=${1:-40}
workers=${2:-4}
sizes=(16 32 64 96)
here=$(dirname "$0")
vmm=$here/gmem_tlb_cost_test
[ -x "$vmm" ] || vmm=$here/../../build/selftests/kvm/unmapped/gmem_tlb_cost_test
check=/sys/kernel/debug/direct_map_scan/unmapped_check
batch=/proc/sys/vm/unmapped_refill_pageblocks
hugepages=/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages
batch0="" huge0="" vm="" hogpid="" tmp=""
# shellcheck source=selftests/kvm/lib_pressure.sh
. "$here/lib_pressure.sh"

fail() { echo "FAIL: $*"; exit 1; }
consistent() {
	local out
	out=$(cat $check)
	grep -qx 'errors 0' <<< "$out" || fail "$1: unmapped_check: $(tr '\n' ' ' <<< "$out")"
}
state() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }
# Where the OOM phase's processes are, and the memory counters, for a
# phase that did not end in time.
stuck() {
	local pid
	for pid in $vm $hogpid; do
		echo "pid $pid state $(state "$pid") wchan $(cat "/proc/$pid/wchan" 2>/dev/null)"
		sed 's/^/    /' "/proc/$pid/stack" 2>/dev/null || true
	done
	grep -E '^(MemFree|MemAvailable|HugePages_Free):' /proc/meminfo
	grep -E '^(nr_free_pages|nr_free_unmapped|oom_kill|pgscan_direct|unmapped_pageblocks_remapped) ' /proc/vmstat
	fail "$1"
}

cleanup() {
	[ -z "$vm" ] || kill -KILL "$vm" 2>/dev/null || true
	[ -z "$hogpid" ] || kill -KILL "$hogpid" 2>/dev/null || true
	[ -z "$batch0" ] || echo "$batch0" > $batch
	[ -z "$huge0" ] || echo "$huge0" > $hugepages
	[ -z "$tmp" ] || rm -rf "$tmp"
}

if [ ! -r $check ] || [ ! -w /dev/kvm ] || [ ! -x "$vmm" ] || [ ! -w $hugepages ] ||
   [ -z "$(vmstat nr_free_unmapped)" ] || ! command -v python3 >/dev/null; then
	echo "SKIP: needs root, KVM, the unmapped pools, $check, huge pages, python3 and $vmm"
	exit 4
fi
trap cleanup EXIT
tmp=$(mktemp -d)
batch0=$(cat $batch)
huge0=$(cat $hugepages)
remapped0=$(vmstat unmapped_pageblocks_remapped)

# 1. Churn. The pool is emptied, then filled by one refill with 128 MiB
# more than the VMs can hold at once.
echo 2 > /proc/sys/vm/drop_caches
left=$(vmstat nr_free_unmapped)
echo $((workers * 48 + 64)) > $batch
rc=0
"$vmm" -b unmapped -m $(((left / 512 + 2) * 2)) > "$tmp/prewarm.log" 2>&1 || rc=$?
echo "$batch0" > $batch
[ $rc -ne 4 ] || { grep -m1 -i skip "$tmp/prewarm.log"; exit 4; }
[ $rc -eq 0 ] || { tail -n 5 "$tmp/prewarm.log"; fail "the VM that fills the pool exited with $rc"; }
pool=$(vmstat nr_free_unmapped)
echo "pool_pages_before_churn $pool"
[ "$pool" -ge $((workers * 96 * 256)) ] || fail "$pool free unmapped pages after the refill"

# Worker $1 runs VMs of each size in turn, with 1 or 2 vCPUs, until the
# deadline, and writes how many to $tmp/count.$1.
churn() {
	local i=0 mib rc
	while [ $SECONDS -lt "$deadline" ]; do
		mib=${sizes[($1 + i) % ${#sizes[@]}]}
		rc=0
		"$vmm" -b unmapped -m "$mib" -v $((1 + ($1 + i) % 2)) > "$tmp/vm.$1" 2>&1 || rc=$?
		if [ $rc -ne 0 ]; then
			echo "FAIL: VM $i of worker $1 ($mib MiB) exited with $rc"
			tail -n 5 "$tmp/vm.$1"
			return 1
		fi
		i=$((i + 1))
	done
	echo $i > "$tmp/count.$1"
}
unmapped0=$(vmstat unmapped_pageblocks_unmapped)
deadline=$((SECONDS + seconds))
pids=()
for w in $(seq 0 $((workers - 1))); do
	churn "$w" &
	pids+=($!)
done
rc=0
for p in "${pids[@]}"; do
	wait "$p" || rc=1
done
[ $rc -eq 0 ] || fail "a VM failed during the churn"
vms=$(awk '{ n += $1 } END { print n + 0 }' "$tmp"/count.*)
echo "vms_run $vms"
echo "churn_seconds $seconds"
echo "seconds_churn $SECONDS"
t=$SECONDS
refilled=$(($(vmstat unmapped_pageblocks_unmapped) - unmapped0))
echo "churn_pageblocks_unmapped $refilled"
[ "$vms" -ge "$workers" ] || fail "only $vms VMs ran"
[ $refilled -eq 0 ] || fail "$refilled pageblocks unmapped while the pool held enough"
consistent churn

# 2. Pressure: with all but 384 MiB of the memory available outside the
# pool in huge pages, the hog allocates until reclaim has mapped a fourth
# of the pool's pageblocks again. Its cap, that memory and all of the pool
# but 64 MiB, is out of reach unless reclaim takes the pool; should the
# OOM killer run, it kills the hog.
echo 1 > /proc/sys/vm/drop_caches
squeeze 384
before=$(vmstat nr_free_unmapped)
remapped=$(vmstat unmapped_pageblocks_remapped)
oom=$(vmstat oom_kill)
goal=$((before / 512 / 4))
cap=$(($(avail_mib) + before / 256 - 64))
mib=$(hog 1000 "$cap" unmapped_pageblocks_remapped "$goal") || fail "the hog failed"
after=$(vmstat nr_free_unmapped)
remapped=$(($(vmstat unmapped_pageblocks_remapped) - remapped))
echo "pressure_hog_mib $mib"
echo "pressure_pageblocks_remapped $remapped"
echo "pressure_nr_free_unmapped_before $before"
echo "pressure_nr_free_unmapped_after $after"
[ "$(vmstat oom_kill)" -eq "$oom" ] || fail "OOM kill under pressure"
[ $remapped -ge $goal ] || fail "$remapped pageblocks remapped by a hog of $mib MiB, expected $goal"
[ "$after" -lt "$before" ] || fail "nr_free_unmapped $before before the hog, $after after"
consistent pressure
echo "seconds_pressure $((SECONDS - t))"
t=$SECONDS

# 3. OOM kill of a VM stopped once it holds 64 MiB of unmapped RAM (the
# pages the pool took from the free lists since the drop, net).
echo 2 > /proc/sys/vm/drop_caches
squeeze 384
unmapped0=$(vmstat unmapped_pageblocks_unmapped)
remapped=$(vmstat unmapped_pageblocks_remapped)
free0=$(vmstat nr_free_unmapped)
vm_held() {
	echo $((512 * ($(vmstat unmapped_pageblocks_unmapped) - unmapped0 -
		       $(vmstat unmapped_pageblocks_remapped) + remapped) -
		$(vmstat nr_free_unmapped) + free0))
}
(echo 1000 > /proc/self/oom_score_adj && exec "$vmm" -b unmapped -m 512) > "$tmp/oom.log" 2>&1 &
vm=$!
until [ "$(vm_held)" -ge $((64 * 256)) ]; do
	case $(state $vm) in
	"" | Z) tail -n 5 "$tmp/oom.log"; fail "the VM exited before it held 64 MiB" ;;
	esac
	sleep 0.1
done
kill -STOP $vm
for _ in $(seq 100); do
	[ "$(state $vm)" != T ] || break
	sleep 0.1
done
[ "$(state $vm)" = T ] || fail "the VM did not stop"
echo "oom_vm_held_mib $(($(vm_held) / 256))"
oom=$(vmstat oom_kill)
hog 0 $(($(meminfo_mib MemTotal) + 512)) oom_kill 1 > "$tmp/hog" &
hogpid=$!
# Bounded, as the debug kernel's reclaim can take minutes to give up.
limit=$((120 * ${GUEST_TIME_FACTOR:-1}))
deadline=$((SECONDS + limit))
while [ -n "$(state $hogpid)" ] && [ "$(state $hogpid)" != Z ]; do
	[ $SECONDS -lt $deadline ] || stuck "no OOM kill after $limit s of the hog"
	sleep 0.5
done
rc=0
wait $hogpid || rc=$?
for _ in $(seq 300); do
	[ "$(state $vm)" = T ] || break
	sleep 0.1
done
[ "$(state $vm)" != T ] || fail "the VM still runs after the hog (exit $rc)"
kills=$(($(vmstat oom_kill) - oom))
echo "oom_kills $kills"
dmesg > "$tmp/dmesg"
grep -q "Killed process $vm " "$tmp/dmesg" || fail "the OOM killer did not kill the VM ($vm)"
# The OOM killer is done with a victim once its mm is gone, but the VM's
# guest_memfd is freed later, when its files are closed: the hog's next
# allocation may find no more free memory and kill the hog, the biggest
# process left, too. Nothing else may be killed.
if [ $rc -eq 137 ]; then
	grep -q "Killed process $hogpid " "$tmp/dmesg" || fail "the hog died of SIGKILL, not of the OOM killer"
	echo "oom_hog_killed 1"
	[ $kills -eq 2 ] || fail "$kills OOM kills"
else
	[ $rc -eq 0 ] || fail "the hog exited with $rc"
	echo "oom_hog_killed 0"
	echo "oom_hog_mib $(cat "$tmp/hog")"
	[ $kills -eq 1 ] || fail "$kills OOM kills"
fi
hogpid=""
rc=0
wait $vm || rc=$?
vm=""
[ $rc -eq 137 ] || fail "the VM exited with $rc, not by SIGKILL"
# Its RAM went back to the free lists: the pageblocks' pages not free are
# at most those on per-CPU lists, which may keep freed pages for seconds.
for _ in $(seq 50); do
	[ "$(held_pages)" -gt "$(pcp_pages)" ] || break
	sleep 0.2
done
echo "oom_unmapped_pages_not_free $(held_pages)"
[ "$(held_pages)" -le "$(pcp_pages)" ] ||
	fail "$(held_pages) unmapped pages neither free nor on the $(pcp_pages) per-CPU"
consistent oom
echo "seconds_oom $((SECONDS - t))"

# 4. The shrinker maps every whole free unmapped pageblock again (P8). It
# sees only the free lists: free pages on per-CPU lists, which it drains
# only in the zones it visits, stay unmapped, in pageblocks that may be
# whole. With no VM left, every unmapped page not on the free lists must
# be such a free page, which a VM as big then takes without a refill.
echo "$huge0" > $hugepages
echo "final_nr_free_unmapped_before $(vmstat nr_free_unmapped)"
echo 2 > /proc/sys/vm/drop_caches
echo "final_nr_free_unmapped_after $(vmstat nr_free_unmapped)"
echo "pageblocks_remapped $(($(vmstat unmapped_pageblocks_remapped) - remapped0))"
over=$(awk '$1 == "Node" { z = $2 $4 } $1 == "nr_free_unmapped" && $2 > 512 { print z, $2 }' /proc/zoneinfo)
[ -z "$over" ] || fail "more than a pageblock of free unmapped pages in zone $over"
held=$(held_pages)
echo "final_unmapped_pageblocks $(awk '$1 == "unmapped_pageblocks" { print $2 }' $check)"
echo "final_unmapped_pages_not_free_listed $held"
if [ "$held" -ge 512 ]; then
	unmapped0=$(vmstat unmapped_pageblocks_unmapped)
	"$vmm" -b unmapped -m $(((held / 512) * 2)) > "$tmp/reuse.log" 2>&1 ||
		fail "the VM that takes the $held pages exited with $?"
	refilled=$(($(vmstat unmapped_pageblocks_unmapped) - unmapped0))
	[ $refilled -eq 0 ] || fail "$held unmapped pages in use with no VM: a VM of their size unmapped $refilled pageblocks"
fi
consistent final
echo "unmapped_check_errors 0"
echo "test_seconds $SECONDS"
echo "PASS"
