#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Reclaim takes back the free pages of partly used unmapped pageblocks, in
# the test host (vm-run.sh -N). A NO_DIRECT_MAP guest_memfd of 1 GiB keeps
# one page of each of its pageblocks and frees the other 511; with swap on
# (zram) and a bystander holding anonymous memory that could be swapped
# out, a hog takes all the memory available outside the pools and half of
# the freed pages: no page is swapped out (pswpout), nothing is
# OOM-killed, reclaim counts the pages it mapped again, and the pages
# still in use stay out of the direct map (unmapped_check). Without the
# partial step the freed GiB is stranded and the hog swaps the bystander.
# Exit: 0 pass, 1 fail, 4 skip.
set -euo pipefail

gmem_mib=1024
bystander_mib=128
# The pool is on node 0, and so is the pressure.
pressure_node=0
here=$(dirname "$0")
holder=$here/gmem_punch_hold
check=/sys/kernel/debug/direct_map_scan/unmapped_check
hugepages=/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages
huge0="" bystander="" swapped_on="" held="" ready=""
# shellcheck source=selftests/kvm/lib_pressure.sh
. "$here/lib_pressure.sh"

fail() { echo "FAIL: $*"; exit 1; }
cleanup() {
	local pid
	for pid in $bystander $held; do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	[ -z "$swapped_on" ] || swapoff /dev/zram0 || true
	[ -z "$huge0" ] || echo "$huge0" > $hugepages
	rm -f "$ready"
}

if [ ! -r $check ] || [ ! -w /dev/kvm ] || [ ! -x "$holder" ] || [ ! -w $hugepages ] ||
   [ -z "$(vmstat nr_free_unmapped)" ] || ! command -v python3 >/dev/null; then
	echo "SKIP: needs root, KVM, the unmapped pools, $check, huge pages, python3 and $holder"
	exit 4
fi
trap cleanup EXIT
huge0=$(cat $hugepages)

echo 3 > /proc/sys/vm/drop_caches
squeeze $((gmem_mib + 512))
ready=$(mktemp)
"$holder" -m $gmem_mib -r "$ready" &
held=$!
wait_file "$ready" || fail "gmem_punch_hold did not get ready"
freed=$((gmem_mib * 511 / 512))
echo "free_unmapped_mib_punched $(($(vmstat nr_free_unmapped) / 256))"
echo "unmapped_pageblocks $(awk '$1 == "unmapped_pageblocks" { print $2 }' $check)"

swap_and_bystander $bystander_mib
pswpout0=$(vmstat pswpout)
oom0=$(vmstat oom_kill)
remapped0=$(vmstat unmapped_partial_pages_remapped)
cap=$(($(avail_mib) + freed / 2))
# The hog stops at the first page swapped out, or at its cap.
mib=$(hog 0 $cap pswpout 1) || fail "the hog failed"
pswpout=$(($(vmstat pswpout) - pswpout0))
echo "hog_mib $mib"
echo "partial_pages_remapped $(vmstat unmapped_partial_pages_remapped)"
echo "nr_free_unmapped_after_hog $(vmstat nr_free_unmapped)"
echo "pswpout $pswpout"
[ "$(vmstat oom_kill)" -eq "$oom0" ] || fail "OOM kill under the hog"
[ $pswpout -eq 0 ] ||
	fail "$pswpout pages swapped out when the hog held $mib of its $cap MiB, while partly used pageblocks held $freed MiB free"
[ -n "$remapped0" ] || fail "no unmapped_partial_pages_remapped in /proc/vmstat"
remapped=$(($(vmstat unmapped_partial_pages_remapped) - remapped0))
[ $remapped -ge $((freed * 128)) ] ||
	fail "reclaim counted $remapped pages of partly used pageblocks mapped again, fewer than the $((freed / 2)) MiB the hog needed of them"
grep -qx 'errors 0' $check || fail "unmapped_check with the holder alive: $(tr '\n' ' ' < $check)"
kill -KILL $held
wait $held 2>/dev/null || true
held=""
grep -qx 'errors 0' $check || fail "unmapped_check after the holder: $(tr '\n' ' ' < $check)"
echo "PASS"
