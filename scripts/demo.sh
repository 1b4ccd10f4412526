#!/bin/bash
# 'make demo': boot the patched test host, start a KVM guest whose vCPUs
# populate all of its guest_memfd RAM once per backing, and print what each
# cost the host side by side: start latency, population time, direct-map
# TLB flushes and DirectMap splits.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
backings=${DEMO_BACKINGS:-mapped}
size_mib=${DEMO_MIB:-512}
vcpus=${DEMO_VCPUS:-2}
xchg=$top/build/run/demo
rm -rf "$xchg"
mkdir -p "$xchg"

# What runs inside the test host: one guest per backing, one result file each.
inner="set -e; for b in $backings; do
	$top/build/selftests/kvm/unmapped/gmem_populate_test -b \$b -m $size_mib -v $vcpus > \$XCHG/\$b.txt
done"
echo "== demo: booting the test host; guest of $size_mib MiB, $vcpus vCPUs, backings: $backings"
"$top/scripts/vm-run.sh" -n demo -x "$xchg" -t 1200 -- bash -c "$inner" >/dev/null

# One row per metric, one column per backing.
metrics=(start_latency_us populate_us populate.nr_tlb_remote_flush
	 populate.nr_tlb_local_flush_all populate.DirectMap4k populate.DirectMap2M
	 after_exit.DirectMap4k)
printf '\n%-32s' metric
for b in $backings; do printf '%14s' "$b"; done
echo
for m in "${metrics[@]}" $(cut -d' ' -f1 "$xchg"/*.txt | grep -E 'unmapped_|direct_map_' | sort -u); do
	printf '%-32s' "$m"
	for b in $backings; do
		printf '%14s' "$(awk -v m="$m" '$1 == m { print $2 }' "$xchg/$b.txt")"
	done
	echo
done
echo "(DirectMap figures in kB; raw results in build/run/demo/)"
