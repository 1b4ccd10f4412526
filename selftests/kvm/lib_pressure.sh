# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2154,SC2034 # the sourcing script sets $hugepages and $check, and reads $swapped_on and $bystander
# Sourced by a test that puts the test host under memory pressure: its
# counters, huge pages to take most of its memory, and a hog of anonymous
# memory. The sourcing script defines hugepages (the node's nr_hugepages)
# and check (debugfs unmapped_check), and fail MESSAGE.

# The hog and the bystander allocate on node $pressure_node if the caller
# sets it: a test of one node's pool keeps other nodes' kswapd out of it.
on_node=()
[ -z "${pressure_node:-}" ] || on_node=(numactl --membind="$pressure_node")

vmstat() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }
meminfo_mib() { awk -v k="$1:" '$1 == k { print int($2 / 1024) }' /proc/meminfo; }
# MemAvailable outside the unmapped pools, in MiB: MemAvailable counts
# their whole free pageblocks (nr_free_unmapped_blocks).
avail_mib() {
	local blocks
	blocks=$(vmstat nr_free_unmapped_blocks)
	echo $(($(meminfo_mib MemAvailable) - ${blocks:-0} / 256))
}
# Pages of the unmapped pageblocks that are not on their free lists: in
# use, or on per-CPU lists (all of which zoneinfo counts).
held_pages() {
	awk '$1 == "unmapped_pageblocks" { b = $2 } $1 == "free_unmapped_listed" { l = $2 }
	     END { print b * 512 - l }' "$check"
}
pcp_pages() { awk '$1 == "count:" { c += $2 } END { print c + 0 }' /proc/zoneinfo; }

# Take all but $1 MiB of the memory available outside the pools into huge
# pages. Reclaim would take the pools' free blocks first: the caller drops
# the page cache first (drop_caches 1) where it keeps a pool.
squeeze() {
	local extra=$((($(avail_mib) - $1) / 2))
	[ $extra -gt 0 ] || return 0
	echo $(($(cat "$hugepages") + extra)) > "$hugepages"
}

# hog ADJ CAP KEY GOAL, in a subshell, which it becomes: with oom_score_adj
# ADJ, touch anonymous memory 8 MiB at a time until the /proc/vmstat
# counter KEY has grown by GOAL, or CAP MiB are held; print the MiB held.
# It locks its pages: unlocked, the OOM phase of churn_pressure.sh ran for
# over 10 minutes on the debug kernel, most likely as reclaim kept evicting
# and re-reading the file pages it runs from (the test host's root is 9p).
hog_py='
import ctypes, mmap, sys
cap, key, goal = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
if ctypes.CDLL(None, use_errno=True).mlockall(3):  # MCL_CURRENT | MCL_FUTURE
    sys.exit("mlockall: errno %d" % ctypes.get_errno())
def counter():
    with open("/proc/vmstat") as f:
        return next(int(v) for k, v in (l.split() for l in f) if k == key)
start, held = counter(), []
while len(held) * 8 < cap and counter() - start < goal:
    m = mmap.mmap(-1, 8 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    m[::4096] = b"\1" * 2048
    held.append(m)
print(len(held) * 8)
'
hog() {
	echo "$1" > /proc/self/oom_score_adj
	shift
	exec "${on_node[@]}" python3 -c "$hog_py" "$@"
}

# swap_and_bystander MIB: swap on zram, and a bystander holding MIB of
# anonymous memory that reclaim could swap out. Sets swapped_on and
# bystander (its pid) for the caller's cleanup.
swap_and_bystander() {
	local zram=/sys/block/zram0 ready
	[ -d $zram ] || fail "no $zram: the test host needs CONFIG_ZRAM"
	# A test before this one may have left it set up.
	echo 1 > $zram/reset
	echo 512M > $zram/disksize
	mkswap /dev/zram0 > /dev/null
	swapon /dev/zram0
	swapped_on=1
	ready=$(mktemp)
	"${on_node[@]}" python3 -c '
import mmap, sys, time
m = mmap.mmap(-1, int(sys.argv[1]) << 20)
m[::4096] = b"\2" * (len(m) >> 12)
open(sys.argv[2], "w").write("ready")
time.sleep(3600)
' "$1" "$ready" &
	bystander=$!
	wait_file "$ready" || fail "the bystander did not start"
	rm -f "$ready"
}
# wait_file FILE: wait up to 20 s for FILE to be non-empty.
wait_file() {
	local _
	for _ in $(seq 100); do
		[ -s "$1" ] && return 0
		sleep 0.2
	done
	return 1
}
