#!/bin/bash
# 'make test': libvirt's own tests of what the libvirt series touches, on
# this machine; then boot the test host, run KUnit and the KVM selftests in
# it (selftests/kvm.list); then boot it again with one vCPU for the tests
# of selftests/one-cpu.list (timing-sensitive ones, the QEMU and libvirt
# tests); end with "N passed, N failed, N skipped". A test
# host that hangs, oopses or dies counts as one more failure.
# TEST_FILTER=<regex> runs only the matching tests of both lists (KUnit
# always reports).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
start=$SECONDS
passed=0 failed=0 skipped=0

# run_host NAME LIST VM-RUN-OPTIONS...
run_host() {
	local name=$1 list=$2 xchg=$top/build/run/$1 rc=0
	shift 2
	rm -rf "$xchg"
	mkdir -p "$xchg"
	echo "== test: booting the test host for $list (console: build/logs/$name.console)"
	"$top/scripts/vm-run.sh" -n "$name" -x "$xchg" -t "${TEST_HOST_TIMEOUT:-2400}" "$@" \
		-- env TEST_FILTER="${TEST_FILTER:-.}" "$top/scripts/l1-tests.sh" "$top/$list" || rc=$?
	touch "$xchg/results"
	passed=$((passed + $(grep -c '^pass ' "$xchg/results")))
	failed=$((failed + $(grep -c '^fail ' "$xchg/results")))
	skipped=$((skipped + $(grep -c '^skip ' "$xchg/results")))
	if [ "$rc" -ne 0 ]; then
		echo "FAIL $name (exit $rc; see build/logs/$name.console)"
		failed=$((failed + 1))
	fi
}

# libvirt's unit tests: xml->argv and round trip (qemuxmlconftest), the
# schemas against every test XML (virschematest), capabilities probing
# (qemucapabilitiestest, qemucaps2xmltest, domaincapstest).
libvirt_tests() {
	local t log
	for t in qemuxmlconftest virschematest qemucapabilitiestest qemucaps2xmltest domaincapstest; do
		grep -qE "${TEST_FILTER:-.}" <<< "libvirt:$t" || continue
		log=$top/build/logs/libvirt-$t.log
		if PATH=/usr/bin:$PATH meson test -C "$top/build/libvirt-build" --no-rebuild \
			--print-errorlogs "$t" > "$log" 2>&1; then
			echo "PASS libvirt:$t"
			passed=$((passed + 1))
		else
			echo "FAIL libvirt:$t (build/logs/${log##*/})"
			grep -E '^(not ok|FAIL|[0-9]+\) .*FAILED)' "$log" | head -n 20 | sed 's/^/    /'
			failed=$((failed + 1))
		fi
	done
}

libvirt_tests
run_host test selftests/kvm.list -N -k kvm.force_emulation_prefix=1
run_host test-one-cpu selftests/one-cpu.list -c 1 -k kunit.enable=0
echo "== test: done in $((SECONDS - start)) s; per-test logs in build/run/test{,-one-cpu}/logs/"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
