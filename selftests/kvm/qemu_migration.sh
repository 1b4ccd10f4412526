#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# In the test host: migrate a running Linux guest (the project's bzImage
# and the initramfs of selftests/guest/) from QEMU to QEMU along the hops
# given, each a new QEMU whose RAM is a memory backend of the kind named.
# BACKING receives the guest live over a unix socket (precopy);
# file:BACKING restores it from a file that the previous QEMU saved it to
# (stop, migrate to the file, quit), as a snapshot does. The backend keeps
# its id and size, so a hop can move the guest to another kind of memory.
#
# The guest keeps 32 MiB filled with a canary and dirties 16 MiB in rounds
# all along (selftests/guest/fill_canary.c). With -d, a 128 MiB DIMM of
# the first backing is hot-added before the first hop, and the guest
# onlines it and fills half of it with the canary too; each later QEMU
# has the DIMM on its command line, of its own backing. Checked:
# - before and after each hop the guest finds all its areas intact, and its
#   round count has grown: it ran on, and no page was lost or left stale;
# - the sending QEMU ends in "postmigrate";
# - during a migration whose both ends are unmapped, the host's direct
#   map holds no more of the guest than the migration's buffers
#   (check_in_flight); after a hop to unmapped memory it holds none; and it
#   finds the canary after a hop to plain memory (so the scan works). A
#   QEMU on other memory frees the guest's pages without clearing them, and
#   a saved file's page cache is freed the same way, so after a hop from
#   either the guest first writes a new canary (and the old one's
#   leftovers are printed as canary_pages.residue.N).
# Printed for each hop N: migration_total_ms.N, migration_downtime_ms.N and
# migration_ram_mib.N, from query-migrate.
#
# usage: qemu_migration.sh [-d] BACKING [file:]BACKING...
#   BACKING: plain, mapped or unmapped, as for qemu_guest.sh
# Exit: 0 pass, 1 fail, 4 skip (kselftest).
set -euo pipefail

usage="usage: qemu_migration.sh [-d] BACKING [file:]BACKING..."
dimm="" mem_mib=256 fill_mib=32 dimm_mib=128
[ "${1:-}" != -d ] || { dimm=1; shift; }
[ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
# shellcheck source=selftests/kvm/lib_guest.sh
. "$(dirname "$0")/lib_guest.sh"
require "$qemu" "$kernel" "$initrd" /dev/kvm $scan/canary

run=$(mktemp -d /tmp/qemu_migration.XXXXXX)
pids=()
cleanup() {
	[ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
	rm -rf "$run"
}
trap cleanup EXIT
qmp() { python3 "$top/scripts/qmp.py" "$run/qmp$1"; }
# The value of a key of the JSON object on standard input.
json_get() { python3 -c 'import json, sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1"; }

printf unmapped-disk-v1 > "$run/disk"
truncate -s 8M "$run/disk"

# start_qemu N BACKING [ARG...]: QEMU number N with its RAM on BACKING,
# its console appended to $run/console and its monitor on $run/qmpN; once
# the DIMM is in, with the DIMM on BACKING too.
start_qemu() {
	local n=$1 plugged=()
	backend_props "$2"
	# shellcheck disable=SC2054 # commas separate QEMU sub-options
	[ "$n" -eq 0 ] || [ -z "$dimm" ] ||
		plugged=(-object "memory-backend-memfd,id=dimm0-mem,size=${dimm_mib}M$props"
			 -device pc-dimm,id=dimm0,memdev=dimm0-mem)
	mkfifo "$run/serial$n.in" "$run/serial$n.out"
	cat "$run/serial$n.out" >> "$run/console" &
	# shellcheck disable=SC2054 # commas separate QEMU sub-options
	"$qemu" -accel kvm -cpu host -smp 1 -machine pc,smm=off,memory-backend=ram0 \
		-m "${mem_mib}M,slots=2,maxmem=$((mem_mib * 4))M" \
		-object "memory-backend-memfd,id=ram0,size=${mem_mib}M$props" "${plugged[@]}" \
		-nodefaults -no-user-config -display none -no-reboot "${firmware[@]}" \
		-serial "pipe:$run/serial$n" -qmp "unix:$run/qmp$n,server=on,wait=off" \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 kunit.enable=0 quiet guest.fill_mib=$fill_mib guest.dirty_mib=16 guest.dimm=${dimm:-0} guest.dimm_fill_mib=$((dimm_mib / 2))" \
		-drive "file=$run/disk,if=none,id=disk,format=raw" \
		-device "virtio-blk-pci,drive=disk,$legacy" \
		-netdev user,id=slirp -device "virtio-net-pci,netdev=slirp,romfile=,$legacy" \
		"${@:3}" 2>> "$run/qemu.err" &
	qemu_pid=$!
	pids+=("$qemu_pid")
	for _ in $(seq 100); do
		[ -S "$run/qmp$n" ] && return
		sleep 0.1
	done
	fail "QEMU $n did not open its monitor"
}

# wait_state N STATE: until QEMU N's run state is STATE.
wait_state() {
	local state
	for _ in $(seq 600); do
		state=$(echo '{"execute": "query-status"}' | qmp "$1" | json_get status)
		[ "$state" = "$2" ] && return
		sleep 0.1
	done
	fail "QEMU $1 is $state, not $2"
}

# Wait for QEMU $1's migration to complete, then print its figures for hop $2.
finish_migration() {
	local info state deadline=$((SECONDS + 600))
	while :; do
		info=$(echo '{"execute": "query-migrate"}' | qmp "$1")
		state=$(json_get status <<< "$info")
		case $state in
		completed) break ;;
		failed | cancelled) fail "migration $2: $info" ;;
		esac
		[ $SECONDS -lt $deadline ] || fail "migration $2 still $state"
		sleep 0.2
	done
	echo "migration_total_ms.$2 $(json_get total-time <<< "$info")"
	echo "migration_downtime_ms.$2 $(json_get downtime <<< "$info")"
	echo "migration_ram_mib.$2 $(python3 -c 'import json, sys; print(json.load(sys.stdin)["ram"]["transferred"] >> 20)' <<< "$info")"
	[ "$(echo '{"execute": "query-status"}' | qmp "$1" | json_get status)" = postmigrate ] ||
		fail "QEMU $1 is not in postmigrate after sending the guest"
	echo '{"execute": "quit"}' | qmp "$1" > /dev/null || true
	wait "${pids[$1]}" 2>/dev/null || true
}

# hop N [file:]BACKING: move the guest from QEMU $current to a new QEMU N.
hop() {
	local n=$1 to=${2#file:} from=$backing
	echo "== hop $n: $from -> $2"
	if [ "$to" != "$2" ]; then
		printf '%s\n' '{"execute": "stop"}' \
			"{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"file:$run/state\"}}" |
			qmp "$current" > /dev/null || fail "saving to a file refused"
		finish_migration "$current" "$n"
		start_qemu "$n" "$to" -incoming "file:$run/state"
		# A guest saved stopped is restored stopped.
		wait_state "$n" paused
		echo '{"execute": "cont"}' | qmp "$n" > /dev/null || fail "cont refused"
	else
		start_qemu "$n" "$to" -incoming "unix:$run/migration$n"
		for _ in $(seq 100); do [ -S "$run/migration$n" ] && break; sleep 0.1; done
		printf '%s\n' '{"execute": "migrate-set-capabilities", "arguments": {"capabilities": [{"capability": "auto-converge", "state": true}]}}' \
			'{"execute": "migrate-set-parameters", "arguments": {"downtime-limit": 2000, "max-bandwidth": 1073741824}}' \
			"{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"unix:$run/migration$n\"}}" |
			qmp "$current" > /dev/null || fail "migration refused: $(tail -n 3 "$run/qemu.err")"
		if [ "$from" = unmapped ] && [ "$to" = unmapped ]; then
			check_in_flight "during.$n"
		fi
		finish_migration "$current" "$n"
	fi
	current=$n backing=$to
	guest_status "$n" "$run/serial$current.in"
	[ "$round" -gt "$last_round" ] || fail "round $round after hop $n, $last_round before"
	last_round=$round
	rm -f "$run/state"
	if [ "$to" = unmapped ] && { [ "$from" != unmapped ] || [ "$to" != "$2" ]; }; then
		# The sending QEMU's pages, or the file's page cache, were
		# freed, not cleared: what the guest writes from now on must
		# stay out of the direct map.
		echo "canary_pages.residue.$n $(canary_pages)"
		guest_refill "$n" "$run/serial$current.in"
	fi
	check_scan "after.$n" must
}

first=$1 backing=$1
current=0
start_qemu 0 "$backing"
wait_guest "guest: canary ready" "${BOOT_TIMEOUT:-120}"
canary=$(guest_said "canary is")
if [ -n "$dimm" ]; then
	qmp 0 > /dev/null <<-EOF || fail "QEMU refused the DIMM"
	{"execute": "object-add", "arguments": {"qom-type": "memory-backend-memfd", "id": "dimm0-mem", "size": $((dimm_mib << 20))$json}}
	{"execute": "device_add", "arguments": {"driver": "pc-dimm", "id": "dimm0", "memdev": "dimm0-mem"}}
	EOF
	check_dimm_filled $((dimm_mib * 1024 / 4))
	guest_say keep "$run/serial0.in"
	wait_guest "guest: dimm kept"
fi
guest_status 0 "$run/serial0.in"
last_round=$round
shift
n=1
for to; do
	hop "$n" "$to"
	n=$((n + 1))
done

echo poweroff > "$run/serial$current.in"
wait_guest "guest: done"
wait "$qemu_pid" || fail "QEMU exited with $?"
grep -v "^qemu-system-x86_64: warning" "$run/qemu.err" || true
echo "PASS: $first -> $* with the guest intact${dimm:+, and its hot-plugged DIMM}"
