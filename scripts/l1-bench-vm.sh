#!/bin/bash
# Runs in the test host for scripts/bench.sh: gmem_tlb_cost_test over the
# matrix of REPS x SIZES (MiB) x VCPUS x BACKINGS, each run booting a guest,
# hot-adding HOTPLUG_MIB to it while its vCPUs run, and starting a second
# (warm) guest. The pools are emptied before each run, so its boot is cold.
# per_folio runs come last: they split the direct map for good.
# Output: $XCHG/vm/<backing>-<MiB>-<vcpus>-<rep>.txt, one per run.
# usage: l1-bench-vm.sh REPS "SIZES" "VCPUS" HOTPLUG_MIB "BACKINGS"
set -euo pipefail

test=$(cd "$(dirname "$0")/.." && pwd)/build/selftests/kvm/unmapped/gmem_tlb_cost_test
mkdir -p "$XCHG/vm"
read -r -a backings <<< "$5"
read -r -a sizes <<< "$2"
read -r -a vcpu_counts <<< "$3"
total=$(($1 * ${#backings[@]} * ${#sizes[@]} * ${#vcpu_counts[@]})) finished=0
for backing in $5; do
	for rep in $(seq "$1"); do
		for mib in $2; do
			for vcpus in $3; do
				echo 2 > /proc/sys/vm/drop_caches
				"$test" -b "$backing" -m "$mib" -v "$vcpus" -H "$4" -w \
					> "$XCHG/vm/$backing-$mib-$vcpus-$rep.txt"
				finished=$((finished + 1))
				echo "bench: [$finished/$total] $backing $mib MiB $vcpus vCPUs rep $rep done (${SECONDS} s)"
			done
		done
	done
done
