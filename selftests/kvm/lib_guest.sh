# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034,SC2154 # variables for and from the sourcing script
# Sourced by the tests that run the nested Linux guest (selftests/guest/)
# or the patched QEMU in the test host: where the builds are, and the
# checks on the host's direct map. The sourcing script sets $run (its
# scratch directory; the guest's console goes to $run/console, QEMU's
# stderr to $run/qemu.err), $qemu_pid once QEMU runs, and $backing and
# $fill_mib before check_scan.

top=$(cd "$(dirname "$0")/../../../.." && pwd)
qemu=$top/build/qemu-build/qemu-system-x86_64
kernel=$top/build/kbuild/arch/x86/boot/bzImage
initrd=$top/build/guest/initramfs.cpio.gz
scan=/sys/kernel/debug/direct_map_scan
# QEMU run from its build tree looks for firmware only in the tree's
# qemu-bundle/, which has none: point it at Debian's.
firmware=(-L /usr/share/seabios -L /usr/share/qemu)
# Legacy virtio: its queue notifications are port I/O. A notification
# through MMIO now and then reaches the test host's KVM as a nested page
# fault that TCG's emulated SVM marks as taken during event delivery,
# which KVM cannot emulate (KVM_INTERNAL_ERROR_DELIVERY_EV).
legacy=disable-modern=on,disable-legacy=off
qemu_pid=""

# The memory backend properties of backing $1 (plain: a memfd; mapped: a
# guest_memfd; unmapped: a guest_memfd out of the direct map) on the
# command line ($props) and as QMP arguments ($json).
backend_props() {
	case $1 in
	plain) props="" json="" ;;
	mapped) props=",guest-memfd=on" json=', "guest-memfd": true' ;;
	unmapped) props=",guest-memfd=on,direct-map=off"
		  json=', "guest-memfd": true, "direct-map": false' ;;
	*) echo "unknown backing '$1'" >&2; exit 2 ;;
	esac
}

# Skip (kselftest's 4) unless every file given exists.
require() {
	local f
	for f; do
		[ -e "$f" ] || { echo "SKIP: $f missing"; exit 4; }
	done
}

fail() {
	echo "FAIL: $*"
	grep -v "qemu-system-x86_64: warning" "$run/qemu.err" 2>/dev/null | tail -n 20 || true
	echo "--- guest console:"
	tail -n 30 "$run/console" 2>/dev/null
	exit 1
}

# Counters: a /proc/vmstat key or a /proc/meminfo field (kB).
counter() {
	awk -v k="$1" '$1 == k || $1 == k ":" { print $2; exit }' /proc/vmstat /proc/meminfo
}
counters="direct_map_tlb_flushes direct_map_level2_splits direct_map_level3_splits
	  nr_free_unmapped DirectMap4k DirectMap2M"
snapshot() { for c in $counters; do echo "$c $(counter "$c")"; done; }
# The change of each counter from snapshot $1 to snapshot $2.
print_deltas() { paste "$1" "$2" | awk '{ print $1 ".delta", $4 - $2 }'; }

# Pages of the host's direct map that hold the guest's canary.
canary_pages() {
	echo "$canary" > $scan/canary
	awk '$1 == "canary_pages" { print $2 }' $scan/result
}
# check_scan WHEN must|may: an unmapped guest's canary must never be found;
# a mapped one's must be, in a fourth of the pages it filled, when "must".
check_scan() {
	local pages
	pages=$(canary_pages)
	echo "canary_pages.$1 $pages"
	if [ "$backing" = unmapped ]; then
		[ "$pages" -eq 0 ] || fail "$1: $pages guest pages readable through the direct map"
	elif [ "$2" = must ]; then
		[ "$pages" -ge $((fill_mib * 256 / 4)) ] ||
			fail "$1: $pages canary pages, expected >= $((fill_mib * 256 / 4))"
	fi
}

# check_in_flight TAG: scanned while a migration runs. The pages in flight
# pass through socket buffers and QEMU's own buffers, ordinary memory in
# the direct map (as a saved file's page cache is), so an unmapped
# guest's canary may be found there; but only what those buffers hold (a
# loopback TCP connection buffers at most about 10 MiB), never a fourth
# of the guest's canary, as it would be if its memory were mapped again.
# Prints and sets $pages.
check_in_flight() {
	pages=$(canary_pages)
	echo "canary_pages.$1 $pages"
	[ "$backing" != unmapped ] || [ "$pages" -lt $((fill_mib * 256 / 4)) ] ||
		fail "$1: $pages guest pages readable through the direct map"
}

# Once a DIMM is added, the guest onlines and fills it: it must use at
# least $1 kB of it, and none of it may show in the direct map if unmapped.
check_dimm_filled() {
	local used_kb
	wait_guest "guest: canary ready 2"
	used_kb=$(guest_said "dimm used")
	echo "dimm_used_kb $used_kb"
	[ "$used_kb" -ge "$1" ] || fail "the guest used $used_kb kB of the DIMM"
	check_scan dimm must
}

# Wait up to $2 seconds (default 120) for a console line starting with $1,
# times GUEST_TIME_FACTOR (make test-debug's kernel is several times slower).
wait_guest() {
	local deadline=$((SECONDS + ${2:-120} * ${GUEST_TIME_FACTOR:-1}))
	until grep -q "^$1" "$run/console" 2>/dev/null; do
		grep -q "^guest: FAIL" "$run/console" 2>/dev/null && fail "the guest failed"
		kill -0 "$qemu_pid" 2>/dev/null || fail "QEMU exited before '$1'"
		[ $SECONDS -lt $deadline ] || fail "no '$1' from the guest"
		sleep 0.01
	done
}

# guest_say LINE INPUT: write LINE to the guest's console input (a FIFO
# or a pty), which blocks while the other end is not read.
guest_say() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	timeout 10 bash -c 'echo "$1" > "$2"' - "$1" "$2" ||
		fail "could not write '$1' to the guest's console ($2)"
}

# guest_status TAG INPUT: ask the guest (booted with guest.dirty_mib=) to
# check its canary and the pages it dirties, by a line written to INPUT
# (its console's input); it must answer "ok". Sets $round, the number of
# rounds it has dirtied, which grows for as long as it runs.
guest_status() {
	local line
	guest_say "status $1" "$2"
	wait_guest "guest: status $1 "
	line=$(tr -d '\r' < "$run/console" | grep "^guest: status $1 ")
	case $line in *" ok") ;; *) fail "$line" ;; esac
	round=$(echo "$line" | awk '{ print $5 }')
}

# guest_refill TAG INPUT: the guest writes a new canary, never used before,
# over its canary area; sets $canary to it.
guest_refill() {
	guest_say "refill $1" "$2"
	wait_guest "guest: refill $1 "
	canary=$(guest_said "refill $1 canary")
}

# What the guest's init reported with "guest: $1 VALUE".
guest_said() { tr -d '\r' < "$run/console" | sed -n "s/^guest: $1 \([^ ]*\).*/\1/p" | tail -n 1; }
