#!/bin/bash
# 'make demo': boot the patched test host, start a KVM guest whose vCPUs
# touch all of its guest_memfd RAM once per backing, and print what each
# cost the host side by side: start latency, population time, direct-map
# TLB flushes and DirectMap splits.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
backings=${DEMO_BACKINGS:-mapped unmapped per_folio}
size_mib=${DEMO_MIB:-512}
vcpus=${DEMO_VCPUS:-2}
xchg=$top/build/run/demo
rm -rf "$xchg"
mkdir -p "$xchg"

# What runs inside the test host: one guest per backing, one result file
# each, after a small untimed guest that pays the first guest's one-time
# costs, so that start latencies compare across columns.
test=$top/build/selftests/kvm/unmapped/gmem_tlb_cost_test
inner="set -e; $test -m 2 -v 1 >/dev/null; for b in $backings; do
	$test -b \$b -m $size_mib -v $vcpus > \$XCHG/\$b.txt
done"
echo "== demo: booting the test host; guest of $size_mib MiB, $vcpus vCPUs, backings: $backings"
"$top/scripts/vm-run.sh" -n demo -x "$xchg" -t 1200 -- bash -c "$inner" >/dev/null

# One row per metric, as the test reported them, one column per backing;
# kept in bench/results/demo.txt.
first=$xchg/${backings%% *}.txt
echo
{
	printf '%-44s' metric
	for b in $backings; do printf '%14s' "$b"; done
	echo
	awk 'NF == 2 && $1 ~ /_us$|\./ { print $1 }' "$first" | while read -r m; do
		printf '%-44s' "$m"
		for b in $backings; do
			printf '%14s' "$(awk -v m="$m" '$1 == m { print $2 }' "$xchg/$b.txt")"
		done
		echo
	done
	echo "(times in microseconds; DirectMap deltas in kB; other rows are /proc/vmstat deltas)"
} | tee "$top/bench/results/demo.txt"
echo "(raw results: build/run/demo/<backing>.txt; console: build/logs/demo.console)"
