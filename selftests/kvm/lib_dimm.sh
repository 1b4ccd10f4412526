# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash disable=SC2034 # $added is for the sourcing script
# Sourced by the tests that hot-plug a DIMM into the test host through
# QEMU's monitor (l1-qmp.sh, served by vm-run.sh): the host's memory
# blocks, and a DIMM's coming and going. The sourcing script defines fail.

memory=/sys/devices/system/memory

blocks() { find "$memory" -maxdepth 1 -name 'memory[0-9]*' -printf '%f\n' | sort; }

# Wait up to 30 s for the list of memory blocks to differ from $1.
wait_blocks_change() {
	local _
	for _ in $(seq 150); do
		[ "$(blocks)" = "$1" ] || return 0
		sleep 0.2
	done
	return 1
}

# dimm_add ID NODE MIB: hot-add a DIMM of MIB MiB to NODE; $added lists
# the memory blocks that appeared (offline).
dimm_add() {
	local before
	before=$(blocks)
	l1-qmp.sh >/dev/null <<-JSON || fail "QEMU refused the DIMM"
		{"execute": "object-add", "arguments": {"qom-type": "memory-backend-ram", "id": "$1-mem", "size": $(($3 << 20))}}
		{"execute": "device_add", "arguments": {"driver": "pc-dimm", "id": "$1", "memdev": "$1-mem", "node": $2}}
		JSON
	wait_blocks_change "$before" || fail "no memory block appeared"
	added=$(comm -13 <(echo "$before") <(blocks))
}

# dimm_remove ID: unplug a DIMM whose memory blocks are offline.
dimm_remove() {
	local during
	during=$(blocks)
	l1-qmp.sh <<< "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"$1\"}}" >/dev/null ||
		fail "QEMU refused to remove the DIMM"
	wait_blocks_change "$during" || fail "the DIMM's memory blocks are still there"
	l1-qmp.sh <<< "{\"execute\": \"object-del\", \"arguments\": {\"id\": \"$1-mem\"}}" >/dev/null ||
		fail "cannot delete the DIMM's backend"
}
