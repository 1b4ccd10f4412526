#!/bin/bash
# Runs in the test host for scripts/bench.sh: the nested Linux guest of
# selftests/kvm/qemu_guest.sh under the patched QEMU, REPS rounds, each
# round starting one guest per backing of BACKINGS in turn.
# Output: $XCHG/qemu/<backing>-<rep>.txt, one per run.
# usage: l1-bench-qemu.sh REPS "BACKINGS"
set -euo pipefail

guest=$(cd "$(dirname "$0")/.." && pwd)/build/selftests/kvm/unmapped/qemu_guest.sh
mkdir -p "$XCHG/qemu"
read -r -a backings <<< "$2"
total=$(($1 * ${#backings[@]})) finished=0
for rep in $(seq "$1"); do
	for backing in $2; do
		"$guest" "$backing" > "$XCHG/qemu/$backing-$rep.txt"
		finished=$((finished + 1))
		echo "bench: [$finished/$total] $backing round $rep done (${SECONDS} s)"
	done
done
