#!/bin/bash
# 'make demo': boot the patched test host and start in it, under the
# patched QEMU, the same Linux guest once per backing of its RAM:
#   plain      -object memory-backend-memfd (what VMs use today)
#   unmapped   ... ,guest-memfd=on,direct-map=off (the unmapped pools)
#   per_folio  the same, on KVM's per-folio mode (one flush per page)
# Each guest fills 64 MiB with a canary; the host scans its direct map for
# it. Prints side by side: start latency (QEMU exec to the guest's init),
# direct-map TLB flushes and splits, DirectMap4k/2M change, canary pages.
# Then one live migration of the guest between two QEMUs on plain memory
# and one on unmapped memory (selftests/kvm/qemu_migration.sh): total
# time, downtime, RAM sent, canary pages found during and after.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
backings=${DEMO_BACKINGS:-plain unmapped per_folio}
xchg=$top/build/run/demo
rm -rf "$xchg"
mkdir -p "$xchg"

# What runs inside the test host: one guest per backing, one result file
# each (selftests/kvm/qemu_guest.sh prints "key value" lines).
bin=$top/build/selftests/kvm/unmapped
migrations="plain unmapped"
inner="set -e; for b in $backings; do $bin/qemu_guest.sh \$b > \$XCHG/\$b.txt; done
	for b in $migrations; do $bin/qemu_migration.sh \$b \$b > \$XCHG/migration-\$b.txt; done"
echo "== demo: booting the test host; one guest of 256 MiB per backing: $backings;"
echo "   then one live migration of the guest per backing: $migrations"
"$top/scripts/vm-run.sh" -n demo -x "$xchg" -c 1 -k kunit.enable=0 -t 1200 -- bash -c "$inner" >/dev/null

# table PREFIX BACKING...: the numeric "key value" lines of each
# $xchg/PREFIXBACKING.txt side by side, keys in the last file's order.
table() {
	local prefix=$1 b m v
	shift
	printf '%-34s' metric
	for b; do printf '%14s' "$b"; done
	echo
	awk 'NF == 2 && $2 ~ /^-?[0-9]+$/ { print $1 }' "$xchg/$prefix${*: -1}.txt" | while read -r m; do
		printf '%-34s' "$m"
		for b; do
			v=$(awk -v m="$m" '$1 == m { print $2 }' "$xchg/$prefix$b.txt")
			printf '%14s' "${v:--}"
		done
		echo
	done
}

echo
{
	# shellcheck disable=SC2086 # lists of words
	table "" $backings
	echo "(canary_pages: guest pages found in the host direct map while the guest"
	echo " runs and after it exits; .delta: /proc/vmstat and /proc/meminfo (kB)"
	echo " changes over the guest's life; free unmapped pages stay in the pools)"
	echo
	echo "live migration between two QEMUs (hop 1), the guest dirtying 16 MiB all along:"
	# shellcheck disable=SC2086
	table migration- $migrations
	echo "(canary_pages.during: scanned while the guest's memory is in flight;"
	echo " .after: once it runs on the destination; a plain guest's must be found)"
} | tee "$top/bench/results/demo.txt"
echo "(raw results: build/run/demo/<backing>.txt; console: build/logs/demo.console)"
