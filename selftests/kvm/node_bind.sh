#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Unmapped allocations bound to a node that cannot serve them, in the test
# host booted by vm-run.sh -N (node 2 has no memory at boot). A 128 MiB DIMM
# is hot-added to node 2 through QEMU's monitor (l1-qmp.sh):
#  - onlined movable, node 2 has no zone for unmovable pages: a
#    NO_DIRECT_MAP guest_memfd and a memfd_secret page of a task whose
#    cpuset allows node 2 alone must fail cleanly (gmem_node_bind_test -M;
#    a memory policy would not do, as it is ignored for unmovable
#    allocations when its nodes have movable memory only);
# then the DIMM goes offline and away. Then, with a refill batch larger than
# all of node 1 (256 MiB), a guest_memfd bound to node 1 must be refilled
# from node 1 alone, not from node 0, whose pageblocks the bound
# allocation cannot use (gmem_node_bind_test without -M). The shrinker
# gives the pools back and unmapped_check reads "errors 0".
# Exit: 0 pass, 1 fail, 4 skip (kselftest).
set -euo pipefail

bindir=$(dirname "$0")
check=/sys/kernel/debug/direct_map_scan/unmapped_check
batch=/proc/sys/vm/unmapped_refill_pageblocks

fail() { echo "FAIL: $*"; exit 1; }
# shellcheck source=selftests/kvm/lib_dimm.sh
. "$bindir/lib_dimm.sh"
set_state() {
	local b
	for b in $added; do
		echo "$1" > "$memory/$b/state" || fail "cannot $1 $b"
	done
}

possible=$(cat /sys/devices/system/node/possible)
if [ -z "${XCHG:-}" ] || [ ! -r $check ] || [ ! -w $batch ] || [ "${possible##*-}" != 2 ]; then
	echo "SKIP: needs QMP and possible nodes 0-2 (vm-run.sh -N), unmapped_check and the refill sysctl"
	exit 4
fi

# Run gmem_node_bind_test with arguments "$@" and a cpuset cgroup whose
# tasks may use node 2 only, which it joins once loaded (the loader's own
# allocations would fail there).
in_node2_cpuset() {
	local rc=0
	mount -t cgroup2 none "$cgroup"
	echo +cpuset > "$cgroup/cgroup.subtree_control"
	mkdir "$cgroup/node2"
	echo 2 > "$cgroup/node2/cpuset.mems"
	"$bindir/gmem_node_bind_test" -c "$cgroup/node2/cgroup.procs" "$@" || rc=$?
	rmdir "$cgroup/node2"
	echo -cpuset > "$cgroup/cgroup.subtree_control"
	umount "$cgroup"
	return $rc
}

old_batch=$(cat $batch)
cgroup=$(mktemp -d)
trap 'echo "$old_batch" > $batch; rmdir "$cgroup"' EXIT
dimm_add node2-dimm 2 128

set_state online_movable
in_node2_cpuset -n 2 -M ||
	fail "allocations in a cpuset of movable-only node 2"
set_state offline

dimm_remove node2-dimm

echo 1024 > $batch
"$bindir/gmem_node_bind_test" -n 1 -m 8 || fail "allocation bound to node 1"
echo "$old_batch" > $batch
echo 3 > /proc/sys/vm/drop_caches
grep -qx 'errors 0' $check || { cat $check; fail "unmapped_check found errors"; }
echo "PASS"
