#!/bin/bash
# Runs in the test host for scripts/bench.sh: gmem_tlb_cost_test, each run
# booting a guest of MiB with VCPUS vCPUs, hot-adding HOTPLUG_MIB to it
# while its vCPUs run, and starting a second (warm) guest. The pools are
# emptied before each run, so its boot is cold.
#
# ROUNDS rounds; each starts with a warm-up run (kept as warmup-<round>.txt,
# which the report ignores), then runs each size and vCPU count once per
# backing of BACKINGS, in an order shuffled per pair: neither backing always
# goes first, and both runs of a pair meet the same state of the hosts. A
# round that began a run with the CPU pressure above PSI_MAX (some avg10 of
# the machine running the test host, which bench.sh copies to
# $XCHG/host-pressure-cpu, as the test host's kernel has no PSI; else of
# this host) is run once more at the end, over its files. per_folio runs
# come last, FOLIO_REPS of each size and vCPU count: they split the direct
# map for good.
# Output: $XCHG/vm/<backing>-<MiB>-<vcpus>-<round>.txt, one per run, and
# $XCHG/vm/order.txt, a line before each run: "round position backing MiB
# vcpus cpu_some_avg10 first|rerun" (position 0: the warm-up; "-": no PSI).
# usage: l1-bench-vm.sh ROUNDS "SIZES" "VCPUS" HOTPLUG_MIB "BACKINGS" FOLIO_REPS PSI_MAX
set -euo pipefail

test=$(cd "$(dirname "$0")/.." && pwd)/build/selftests/kvm/unmapped/gmem_tlb_cost_test
rounds=$1 hotplug=$4 folio_reps=$6 psi_max=$7
read -r -a sizes <<< "$2"
read -r -a vcpu_counts <<< "$3"
read -r -a backings <<< "$5"
out=$XCHG/vm order=$XCHG/vm/order.txt
mkdir -p "$out"
: > "$order"
configs=$((${#sizes[@]} * ${#vcpu_counts[@]}))
total=$((rounds * (1 + configs * ${#backings[@]}) + folio_reps * configs)) finished=0

cpu_pressure() {
	local file=$XCHG/host-pressure-cpu
	[ -r "$file" ] || file=/proc/pressure/cpu
	[ -r "$file" ] || { echo -; return; }
	awk '$1 == "some" { sub("avg10=", "", $2); print $2 }' "$file"
}

# run ROUND POSITION BACKING MIB VCPUS TRY OUTPUT: one run, logged to
# order.txt; sets round_loaded if the CPU pressure before a measured run
# (not the warm-up, position 0) was above PSI_MAX.
run() {
	local psi
	psi=$(cpu_pressure)
	echo "$1 $2 $3 $4 $5 $psi $6" >> "$order"
	if [ "$2" != 0 ] && awk -v psi="$psi" -v max="$psi_max" \
		'BEGIN { exit !(psi != "-" && psi + 0 > max + 0) }'; then
		round_loaded=1
	fi
	echo 2 > /proc/sys/vm/drop_caches
	"$test" -b "$3" -m "$4" -v "$5" -H "$hotplug" -w > "$7"
	finished=$((finished + 1))
	echo "bench: [$finished/$total] round $1 ($6) $3 $4 MiB $5 vCPUs done (${SECONDS} s, cpu pressure $psi)"
}

# run_round ROUND TRY
run_round() {
	local position=0 mib vcpus backing
	round_loaded=0
	run "$1" 0 "${backings[0]}" "${sizes[0]}" "${vcpu_counts[0]}" "$2" "$out/warmup-$1.txt"
	for mib in "${sizes[@]}"; do
		for vcpus in "${vcpu_counts[@]}"; do
			for backing in $(shuf -e "${backings[@]}"); do
				position=$((position + 1))
				run "$1" "$position" "$backing" "$mib" "$vcpus" "$2" "$out/$backing-$mib-$vcpus-$1.txt"
			done
		done
	done
}

loaded_rounds=()
for round in $(seq "$rounds"); do
	run_round "$round" first
	[ "$round_loaded" = 0 ] || loaded_rounds+=("$round")
done
for round in "${loaded_rounds[@]}"; do
	total=$((total + 1 + configs * ${#backings[@]}))
	run_round "$round" rerun
	[ "$round_loaded" = 0 ] || echo "bench: round $round rerun under cpu pressure too; kept"
done
for rep in $(seq "$folio_reps"); do
	position=0
	for mib in "${sizes[@]}"; do
		for vcpus in "${vcpu_counts[@]}"; do
			position=$((position + 1))
			run "$rep" "$position" per_folio "$mib" "$vcpus" first "$out/per_folio-$mib-$vcpus-$rep.txt"
		done
	done
done
