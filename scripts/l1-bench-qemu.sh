#!/bin/bash
# Runs in the test host for scripts/bench.sh: the nested Linux guest of
# selftests/kvm/qemu_guest.sh under the patched QEMU, REPS rounds, each
# round starting one guest per backing of BACKINGS in turn.
# Output: $XCHG/qemu/<backing>-<rep>.txt, one per run.
# usage: l1-bench-qemu.sh REPS "BACKINGS"
set -euo pipefail

guest=$(cd "$(dirname "$0")/.." && pwd)/build/selftests/kvm/unmapped/qemu_guest.sh
mkdir -p "$XCHG/qemu"
for rep in $(seq "$1"); do
	for backing in $2; do
		"$guest" "$backing" > "$XCHG/qemu/$backing-$rep.txt"
		echo "bench: $backing round $rep done"
	done
done
