#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# In the test host: the guest-memfd and direct-map options of the patched
# QEMU's memory-backend-memfd, without booting a guest: help and QOM
# introspection list them, every combination that cannot work is refused
# with its own error, guest-memfd=on alone is upstream's ordinary RAM,
# preallocation works, and postcopy migration is refused (precopy is
# qemu_migration.sh's).
# Exit: 0 pass, 1 fail, 4 skip (kselftest).
set -uo pipefail

# shellcheck source=selftests/kvm/lib_guest.sh
. "$(dirname "$0")/lib_guest.sh"
require "$qemu" /dev/kvm

failures=0
check() {
	local what=$1 expect=$2 out
	shift 2
	out=$("$@" 2>&1)
	if grep -qF -- "$expect" <<< "$out"; then
		echo "ok: $what"
	else
		echo "FAIL: $what: expected '$expect', got:"
		grep -v ': warning: ' <<< "$out" | sed 's/^/    /'
		failures=$((failures + 1))
	fi
}
# QEMU with one 64 MiB backend of the given options as the machine's RAM,
# paused, and QMP commands (one a line) on standard input.
vm() {
	"$qemu" "${firmware[@]}" -accel kvm -machine pc,smm=off,memory-backend=ram0 -m 64M \
		-object "memory-backend-memfd,id=ram0,size=64M$1" \
		-nodefaults -display none -S -qmp stdio "${@:2}"
}
qmp_in() {
	echo '{"execute": "qmp_capabilities"}'
	printf '%s\n' "$@"
	echo '{"execute": "quit"}'
}

check "help lists guest-memfd" "guest-memfd=<bool>" \
	"$qemu" -object memory-backend-memfd,help
check "help lists direct-map" "direct-map=<bool>" \
	"$qemu" -object memory-backend-memfd,help
check "qom-list-properties lists direct-map" '"name": "direct-map"' \
	vm "" < <(qmp_in '{"execute": "qom-list-properties", "arguments": {"typename": "memory-backend-memfd"}}')

check "direct-map=off alone" "direct-map=off needs guest-memfd=on" \
	vm ",direct-map=off" < /dev/null
check "hugetlb=on" "guest-memfd=on and hugetlb=on are incompatible" \
	vm ",guest-memfd=on,hugetlb=on" < /dev/null
check "share=off" "guest-memfd=on needs share=on" \
	vm ",guest-memfd=on,share=off" < /dev/null
check "no KVM" "guest-memfd=on needs the KVM accelerator" \
	"$qemu" "${firmware[@]}" -accel qtest -display none -machine memory-backend=ram0 -m 64M \
	-object memory-backend-memfd,id=ram0,size=64M,guest-memfd=on
check "SMM" "cannot be mapped in SMM; start QEMU with -machine smm=off" \
	"$qemu" "${firmware[@]}" -accel kvm -display none -machine pc,memory-backend=ram0 -m 64M \
	-object memory-backend-memfd,id=ram0,size=64M,guest-memfd=on,direct-map=off
# guest-memfd=on alone means what it means in upstream QEMU: RAM that KVM
# reaches through QEMU's mapping, in an ordinary memslot, which SMM's
# address space may map as well.
check "guest-memfd=on alone, with SMM" '"status": "prelaunch"' \
	"$qemu" "${firmware[@]}" -accel kvm -display none -machine pc,memory-backend=ram0 -m 64M \
	-object memory-backend-memfd,id=ram0,size=64M,guest-memfd=on \
	-nodefaults -S -qmp stdio < <(qmp_in '{"execute": "query-status"}')
check "changing direct-map of a live backend" "cannot change property value" \
	vm ",guest-memfd=on,direct-map=off" < <(qmp_in '{"execute": "qom-set", "arguments": {"path": "/objects/ram0", "property": "direct-map", "value": true}}')

# Preallocation goes through fallocate(): every page of the backend is
# then taken from the unmapped pools, none from the direct map.
before=$(awk '$1 == "direct_map_tlb_flushes" { print $2 }' /proc/vmstat)
check "prealloc=on" '"status": "prelaunch"' \
	vm ",guest-memfd=on,direct-map=off,prealloc=on" < <(qmp_in '{"execute": "query-status"}')
# Postcopy support is checked where pages would be filled: on the
# destination, waiting for the incoming guest.
check "postcopy is refused" "Postcopy cannot fill RAM block ram0" \
	vm ",guest-memfd=on,direct-map=off" -incoming defer < <(qmp_in '{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "postcopy-ram", "state": true}]}}')
echo "direct-map TLB flushes for the runs above: $(($(awk '$1 == "direct_map_tlb_flushes" { print $2 }' /proc/vmstat) - before))"

[ $failures -eq 0 ] || { echo "FAIL: $failures checks"; exit 1; }
echo "PASS: memory-backend-memfd guest-memfd and direct-map options"
