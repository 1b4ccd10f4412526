#!/bin/bash
# Runs in the test host for scripts/bench.sh: REPS rounds of the plain and
# __GFP_UNMAPPED modes, a cold run for each refill batch size in BATCHES,
# the free unmapped pages left after drop_caches runs the shrinkers, then
# the per-page mode once (last: it splits the direct map for good).
# One line per run, with the DirectMap4k change around it.
# usage: l1-bench.sh REPS "BATCHES"
set -euo pipefail

bench=/sys/kernel/debug/unmapped_alloc_bench
batch_knob=/proc/sys/vm/unmapped_refill_pageblocks
directmap4k() { awk '/^DirectMap4k:/ { print $2 }' /proc/meminfo; }

# run MODE LABEL
run() {
	local before line
	before=$(directmap4k)
	line=$(cat "$bench/$1")
	echo "$2 $line directmap4k_delta_kb=$(($(directmap4k) - before))"
}

for rep in $(seq "$1"); do
	for mode in plain unmapped_cold unmapped_warm; do
		run "$mode" "rep=$rep"
	done
done
default_batch=$(cat "$batch_knob")
for batch in $2; do
	echo "$batch" > "$batch_knob"
	run unmapped_cold "batch=$batch"
done
echo "$default_batch" > "$batch_knob"

# What reclaim leaves: fill the pool, then run every shrinker.
cat "$bench/unmapped_warm" > /dev/null
before=$(awk '/^nr_free_unmapped / { print $2 }' /proc/vmstat)
echo 2 > /proc/sys/vm/drop_caches
echo "reclaim nr_free_unmapped_before=$before nr_free_unmapped_after=$(awk '/^nr_free_unmapped / { print $2 }' /proc/vmstat)"

run per_page rep=1
