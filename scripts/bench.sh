#!/bin/bash
# 'make bench', in three parts (BENCH_PARTS, default "alloc vm qemu"), each
# in its own boot of the test host; results go to bench/results/.
#
# alloc: time allocating, then freeing, 1 GiB in order-0 pages through
# /sys/kernel/debug/unmapped_alloc_bench/ (mm/tests/unmapped_alloc_bench.c):
# plain unmovable pages, __GFP_UNMAPPED pages from a cold and a warm pool,
# and pages unmapped one by one (the per-page baseline, last, since it
# splits the direct map for good). Each line gets the DirectMap4k change
# around it; cold runs also sweep the refill batch (BENCH_BATCHES). Output:
# alloc.txt, alloc-{summary,batch,reclaim}.txt, alloc.svg.
#
# vm: KVM guests of BENCH_VM_SIZES MiB with BENCH_VM_VCPUS vCPUs on the three
# guest_memfd backings (scripts/l1-bench-vm.sh): BENCH_REPS rounds (default
# 15) of mapped and unmapped in shuffled pairs, a round rerun once if the CPU
# pressure exceeded BENCH_PSI_MAX (some avg10, default 5.0), then
# BENCH_VM_FOLIO_REPS (default 3) of per_folio. Output: <date>.json (raw),
# vm.md, summary.json (paired ratios, bootstrap intervals), vm-*.png.
#
# qemu: the nested Linux guest of selftests/kvm/qemu_guest.sh under the
# patched QEMU, BENCH_REPS rounds of the four backings in turn: start
# latency from QEMU's exec to the guest's init. Output: qemu.txt (median
# and range per backing) and start_latency_ratio_vs_mapped in summary.json.
#
# Each test host's QEMU runs pinned to BENCH_CPUS (default 0-1) with its RAM
# allocated up front, so that no run pays the outer QEMU's first touch of a
# page, or a move to another CPU.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
reps=${BENCH_REPS:-3}
parts=${BENCH_PARTS:-alloc vm qemu}
out=$top/bench/results
mkdir -p "$out"

vm_run() {
	taskset -c "${BENCH_CPUS:-0-1}" "$top/scripts/vm-run.sh" -a -mem-prealloc "$@"
}

bench_alloc() {
	local batches=${BENCH_BATCHES:-1 4 16 32 64 128}
	local xchg=$top/build/run/bench
	rm -rf "$xchg"
	mkdir -p "$xchg"
	echo "== bench alloc: booting the test host; $reps rounds of 1 GiB per mode"
	vm_run -n bench -x "$xchg" -t 1800 -- "$top/scripts/l1-bench.sh" "$reps" "$batches" >/dev/null
	cp "$xchg/out" "$out/alloc.txt"

	# Per mode: the best (least) alloc+free time over the rounds, and the
	# counters of that round.
	awk '
		{ for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
		{
			m = f["mode"]; t = (f["alloc_ns"] + f["free_ns"]) / 1e6
			if (!(m in best) || t < best[m]) {
				best[m] = t; fl[m] = f["unmapped_tlb_flushes"]
				dfl[m] = f["direct_map_tlb_flushes"]; d4k[m] = f["directmap4k_delta_kb"]
			}
		}
		END {
			printf "%-14s %12s %18s %22s %20s %10s\n", "mode", "alloc+free_ms",
				"unmapped_flushes", "direct_map_flushes", "DirectMap4k_delta_kB", "vs_plain"
			n = split("plain unmapped_cold unmapped_warm per_page", order, " ")
			for (i = 1; i <= n; i++) {
				m = order[i]
				printf "%-14s %12.1f %18d %22d %20d %10.2f\n", m, best[m], fl[m],
					dfl[m], d4k[m], best[m] / best["plain"]
			}
		}' <(grep '^rep=' "$out/alloc.txt") | tee "$out/alloc-summary.txt"

	# The refill batch: cold runs, one per vm.unmapped_refill_pageblocks value.
	echo
	awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] } }
		NR == 1 { printf "%-18s %12s %18s %20s\n", "refill_pageblocks", "alloc_ms",
			"unmapped_flushes", "pageblocks_unmapped" }
		{ printf "%-18d %12.1f %18d %20d\n", f["batch"], f["alloc_ns"] / 1e6,
			f["unmapped_tlb_flushes"], f["pageblocks_unmapped"] }' \
		<(grep '^batch=' "$out/alloc.txt") | tee "$out/alloc-batch.txt"

	# Reclaim: free unmapped pages before and after drop_caches.
	grep '^reclaim ' "$out/alloc.txt" | tee "$out/alloc-reclaim.txt"

	gnuplot <<EOF
set terminal svg size 720,420 noenhanced
set output "$out/alloc.svg"
set title "Allocate and free 1 GiB in order-0 pages (test host under TCG, best of $reps)"
set ylabel "milliseconds (log)"
set logscale y
set style fill solid 0.6
set boxwidth 0.6
set xtics nomirror
unset key
plot "< tail -n +2 $out/alloc-summary.txt" using 0:2:xtic(1) with boxes, \
     "" using 0:2:(sprintf("%d flushes", \$4)) with labels offset 0,1
EOF
	echo "== bench alloc: results in bench/results/ (alloc.txt, alloc-summary.txt, alloc-batch.txt, alloc-reclaim.txt, alloc.svg)"
}

# vm_plot NAME TITLE GNUPLOT-SETTINGS: bars of vm-NAME.dat per size and
# vCPU count, one per backing, into vm-NAME.png.
vm_plot() {
	gnuplot <<-EOF
	set terminal png size 800,420 noenhanced
	set output "$out/vm-$1.png"
	set title "$2"
	set style data histogram
	set style histogram cluster gap 1
	set style fill solid 0.7
	set key top left
	set xtics nomirror
	$3
	plot "$out/vm-$1.dat" using 2:xtic(1) title "mapped", "" using 3 title "unmapped", "" using 4 title "per_folio"
	EOF
}

bench_vm() {
	local sizes=${BENCH_VM_SIZES:-256 1024 2048} vcpus=${BENCH_VM_VCPUS:-1 2}
	local hotplug=${BENCH_VM_HOTPLUG:-256} xchg=$top/build/run/bench-vm
	local rounds=${BENCH_REPS:-15} folio_reps=${BENCH_VM_FOLIO_REPS:-3}
	local date configs runs sampler medians
	date=$(date -u +%Y-%m-%d)
	rm -rf "$xchg"
	mkdir -p "$xchg"
	# 100 s a run, as the 3-round matrix had, and room to rerun half the rounds.
	configs=$(($(wc -w <<< "$sizes") * $(wc -w <<< "$vcpus")))
	runs=$((rounds * (1 + 2 * configs) * 3 / 2 + folio_reps * configs))
	# The test host's kernel has no PSI: l1-bench-vm.sh reads this machine's.
	while kill -0 $$ 2>/dev/null && [ -r /proc/pressure/cpu ]; do
		cat /proc/pressure/cpu > "$xchg/host-pressure-cpu.new"
		mv "$xchg/host-pressure-cpu.new" "$xchg/host-pressure-cpu"
		sleep 2
	done &
	sampler=$!
	echo "== bench vm: booting the test host; guests of $sizes MiB, $vcpus vCPUs, $rounds rounds"
	vm_run -n bench-vm -x "$xchg" -m 8G -t $((runs * 100)) -- \
		"$top/scripts/l1-bench-vm.sh" "$rounds" "$sizes" "$vcpus" "$hotplug" \
		"mapped unmapped" "$folio_reps" "${BENCH_PSI_MAX:-5.0}"
	kill "$sampler" 2>/dev/null || true
	python3 "$top/scripts/bench-vm-report.py" "$xchg/vm" "$out" "$date"
	cat "$out/vm.md" "$out/summary.json"
	medians="median of $rounds rounds, per_folio of $folio_reps"
	vm_plot flushes "direct-map TLB flushes of a cold boot (log scale; none when mapped); $medians" \
		"set logscale y; set yrange [0.5:*]"
	vm_plot populate "boot population, ms; $medians" "set yrange [0:*]"
	echo "== bench vm: results in bench/results/ ($date.json, vm.md, summary.json, vm-flushes.png, vm-populate.png)"
}

bench_qemu() {
	local backings="plain mapped unmapped per_folio" xchg=$top/build/run/bench-qemu b
	rm -rf "$xchg"
	mkdir -p "$xchg"
	echo "== bench qemu: booting the test host; $reps rounds of: $backings"
	vm_run -n bench-qemu -x "$xchg" -c 1 -k kunit.enable=0 -t 3600 -- \
		"$top/scripts/l1-bench-qemu.sh" "$reps" "$backings"
	for b in $backings; do
		cat "$xchg/qemu/$b"-*.txt | awk -v b="$b" '$1 == "start_latency_ms" { print b, $2 }'
	done | sort -k1,1 -k2n | awk '
		{ v[$1, ++n[$1]] = $2 }
		END {
			printf "%-10s %18s %10s %10s\n", "backing", "start_latency_ms", "min", "max"
			split("plain mapped unmapped per_folio", order, " ")
			for (i = 1; i <= 4; i++) {
				b = order[i]
				printf "%-10s %18d %10d %10d\n", b, v[b, int((n[b] + 1) / 2)], v[b, 1], v[b, n[b]]
			}
		}' | tee "$out/qemu.txt"
	# The medians as ratios to mapped, into summary.json.
	[ -f "$out/summary.json" ] || echo '{}' > "$out/summary.json"
	jq --rawfile q "$out/qemu.txt" '.start_latency_ratio_vs_mapped =
		([$q | split("\n")[1:][] | select(length > 0) | [splits(" +")]
		  | {(.[0]): (.[1] | tonumber)}] | add
		 | . as $ms | map_values(. / $ms.mapped * 1000 | round / 1000))' \
		"$out/summary.json" > "$xchg/summary.json"
	mv "$xchg/summary.json" "$out/summary.json"
	echo "== bench qemu: results in bench/results/ (qemu.txt, summary.json)"
}

for part in $parts; do
	"bench_$part"
done
