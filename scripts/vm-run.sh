#!/bin/bash
# Boot the built kernel under QEMU TCG as the test host ("L1") and run one
# command in it; exit with the command's status.
#
# L1's root is this machine's root, shared read-only over 9p with a tmpfs
# overlay on top: L1 runs the very binaries built here (selftests, QEMU,
# libvirt) at the same paths, with no image to build, and cannot write to
# this machine. The command's output and its exit status come back through
# a second, writable 9p share (the exchange directory, /run/xchg in L1, also
# in $XCHG there), which also carries any result files the command writes.
# The command may drive QEMU's monitor (to hot-plug memory, say): it writes
# QMP commands, one JSON object a line, to $XCHG/qmp-request and waits for
# $XCHG/qmp-reply (scripts/l1-qmp.sh does both).
#
# usage: vm-run.sh [options] [--] command [args...]
#   -n NAME     log name: build/logs/NAME.{console,out}    (default: vm)
#   -m SIZE     boot memory                                (default: 4G)
#   -c CPUS     vCPUs                                      (default: 2)
#   -S SLOTS    hot-pluggable memory slots                 (default: 4)
#   -M SIZE     maximum memory with hot-plugged DIMMs      (default: 16G)
#   -t SECONDS  kill the VM and fail after this long       (default: 1800)
#   -x DIR      exchange directory                         (default: build/run/NAME)
#   -N          NUMA nodes: the boot memory on node 0, 256M more on node 1
#               (which keeps node 1's own kernel data off the DIMMs that
#               tests hot-plug there), and node 2 with no memory until a
#               test hot-plugs some (ACPI's hotplug range names it)
#   -k ARGS     extra kernel command line
#   -a ARGS     extra QEMU arguments (word-split)
#   -h          this help
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
name=vm mem=4G cpus=2 slots=4 maxmem=16G timeout=1800 xchg="" numa="" kargs="" qargs=""
usage() { sed -n '/^# usage/,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while getopts n:m:c:S:M:t:x:Nk:a:h opt; do
	case $opt in
	n) name=$OPTARG ;; m) mem=$OPTARG ;; c) cpus=$OPTARG ;;
	S) slots=$OPTARG ;; M) maxmem=$OPTARG ;; t) timeout=$OPTARG ;;
	x) xchg=$OPTARG ;; N) numa=1 ;; k) kargs=$OPTARG ;; a) qargs=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "vm-run: no command given" >&2; exit 2; }

bzimage=${BZIMAGE:-$top/build/kbuild/arch/x86/boot/bzImage}
[ -f "$bzimage" ] || { echo "vm-run: $bzimage missing: run 'make kernel'" >&2; exit 2; }
logs=$top/build/logs
console=$logs/$name.console
out=$logs/$name.out
xchg=${xchg:-$top/build/run/$name}
mkdir -p "$logs" "$xchg"
qmp=$top/build/run/$name.qmp
rm -f "$xchg/out" "$xchg/status" "$xchg/cmd" "$xchg"/qmp-* "$qmp"
: > "$xchg/out"

# The command runs in L1 from the caller's directory, with its arguments intact.
{
	printf 'cd %q || exit 125\n' "$PWD"
	printf 'exec'
	printf ' %q' "$@"
	printf '\n'
} > "$xchg/cmd"

# TCG's TSC follows host time; on a loaded host the clocksource watchdog
# would call it unstable and switch away, which KVM's clock tests notice.
# One TCG thread for all vCPUs: with one per vCPU, QEMU 10.0 now and then
# runs a stale translation of kernel text that another vCPU has just live-
# patched, an "Oops: int3" at the static branch that KVM flips whenever
# the first VM starts or the last one exits. The test run takes no longer.
# KVM in the test host gives its guests the TSC rate of the test host's
# early calibration, which under TCG is now and then 0.1% off the refined
# one, beyond KVM's 250 ppm tolerance; without TSC scaling (not emulated)
# KVM then cannot run guests at the host's rate ("user requested TSC rate
# below hardware speed") and their timers fire late. So tell the test host
# its rate, which is this machine's.
tsc_khz=$(awk '/^cpu MHz/ { printf "%d", $4 * 1000; exit }' /proc/cpuinfo)
# With -N, the machine's memory is the sum of the nodes'.
ram=$mem
[ -z "$numa" ] || ram=$(($(numfmt --from=iec "$mem") / 1048576 + 256))M
# shellcheck disable=SC2054 # commas separate QEMU sub-options
qemu_args=(
	-accel tcg,thread=single -cpu max -smp "$cpus"
	-m "$ram,slots=$slots,maxmem=$maxmem"
	-nodefaults -no-user-config -display none -no-reboot
	-serial "file:$console"
	-kernel "$bzimage"
	-append "console=ttyS0 root=hostroot rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=512000,cache=loose ro init=$top/scripts/vm-init panic=-1 tsc=reliable ${tsc_khz:+tsc_early_khz=$tsc_khz} $kargs"
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
	-virtfs "local,path=$xchg,mount_tag=xchg,security_model=none"
)
qemu_args+=(-qmp "unix:$qmp,server=on,wait=off")
# shellcheck disable=SC2054 # commas separate QEMU sub-options
if [ -n "$numa" ]; then
	qemu_args+=(
		-object "memory-backend-ram,id=node0-ram,size=$mem"
		-object memory-backend-ram,id=node1-ram,size=256M
		-numa "node,nodeid=0,cpus=0-$((cpus - 1)),memdev=node0-ram"
		-numa node,nodeid=1,memdev=node1-ram
		-numa node,nodeid=2
	)
fi
# shellcheck disable=SC2206 # extra QEMU arguments are meant to be split
[ -z "$qargs" ] || qemu_args+=($qargs)

tail -n +1 -F "$xchg/out" 2>/dev/null &
tailer=$!
# QMP requests of the command, served while L1 runs.
while sleep 0.2; do
	[ -e "$xchg/qmp-request" ] || continue
	rc=0
	python3 "$top/scripts/qmp.py" "$qmp" < "$xchg/qmp-request" > "$xchg/qmp-reply.new" 2>&1 || rc=$?
	echo "status $rc" >> "$xchg/qmp-reply.new"
	rm "$xchg/qmp-request"
	mv "$xchg/qmp-reply.new" "$xchg/qmp-reply"
done &
qmp_server=$!
trap 'kill $tailer $qmp_server 2>/dev/null' EXIT

rc=0
timeout -k 10 "$timeout" qemu-system-x86_64 "${qemu_args[@]}" || rc=$?
sleep 0.5
cp "$xchg/out" "$out"

if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
	echo "vm-run: $name: timed out after $timeout s (console: build/logs/$name.console)" >&2
	exit 124
elif [ $rc -ne 0 ]; then
	echo "vm-run: $name: QEMU failed with status $rc (console: build/logs/$name.console)" >&2
	exit "$rc"
fi

# A kernel splat fails the run even when the command itself succeeded.
splat='(BUG:|WARNING:|Oops|Kernel panic|KASAN:|UBSAN:|kmemleak:.*new suspected|possible circular locking|general protection fault)'
if grep -Eq "$splat" "$console"; then
	grep -E -A 20 "$splat" "$console" | head -n 60 >&2
	echo "vm-run: $name: kernel splat in build/logs/$name.console" >&2
	exit 1
fi
[ -s "$xchg/status" ] || { echo "vm-run: $name: L1 ended without a status (console: build/logs/$name.console)" >&2; exit 1; }
exit "$(cat "$xchg/status")"
