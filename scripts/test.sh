#!/bin/bash
# 'make test': the kernel series built for a 32-bit x86 and an AMD SEV
# KVM host (scripts/build-check.sh) and libvirt's own tests of what the libvirt
# series touches, on this machine; then two boots of the test host at
# once, one on each CPU of this machine: one runs KUnit and the KVM selftests (selftests/kvm.list),
# the other, with one vCPU, the tests of selftests/one-cpu.list (timing-
# sensitive ones, the QEMU and libvirt tests); end with "N passed, N
# failed, N skipped". A test host that hangs, oopses or dies counts as one
# more failure. TEST_FILTER=<regex> runs only the matching tests of both
# lists (KUnit always reports).
# TEST_DEBUG=1 ('make test-debug', with BZIMAGE the debug kernel): the same
# with longer time limits, then one more boot with debug_pagealloc=on for
# selftests/debug-pagealloc.list.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
start=$SECONDS
debug=${TEST_DEBUG:-}
prefix=test${debug:+-debug}
# KASAN, lockdep and kmemleak make the debug kernel about twelve times
# slower for a nested Linux guest (qemu_guest.sh plain: 57 s, 694 s on
# it); the longest such test took 1410 s there. The per-test limit only
# bounds a hang: libvirt_guest.sh, the longest test here, took 289 s once.
host_timeout=${TEST_HOST_TIMEOUT:-$((debug ? 7200 : 2400))}
test_timeout=${TEST_TIMEOUT:-$((debug ? 2400 : 600))}
guest_time_factor=$((debug ? 12 : 1))
# Upstream KVM's Xen timer callback takes the pfn cache's rwlock in hard
# IRQ context, which lockdep reports (invalid wait context) on the debug
# kernel whatever the memory backing; gmem_no_direct_map_test covers the
# pfn cache on NO_DIRECT_MAP memory there.
exclude=${debug:+xen_shinfo_test}
exclude_why="upstream lockdep report in the Xen timer callback"
hosts=()

# run_host NAME LIST VM-RUN-OPTIONS...: results in build/run/NAME/results.
run_host() {
	local name=$1 list=$2 xchg=$top/build/run/$1 rc=0
	shift 2
	hosts+=("$xchg")
	rm -rf "$xchg"
	mkdir -p "$xchg"
	echo "== test: booting the test host for $list (console: build/logs/$name.console)"
	"$top/scripts/vm-run.sh" -n "$name" -x "$xchg" -t "$host_timeout" "$@" \
		-- env TEST_FILTER="${TEST_FILTER:-.}" TEST_TIMEOUT="$test_timeout" \
		TEST_EXCLUDE="$exclude" TEST_EXCLUDE_WHY="$exclude_why" \
		GUEST_TIME_FACTOR="$guest_time_factor" \
		"$top/scripts/l1-tests.sh" "$top/$list" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "FAIL $name (exit $rc; see build/logs/$name.console)"
		echo "fail host:$name exit $rc" >> "$xchg/results"
	fi
}

count() {
	cat "${hosts[@]/%//results}" "$top/build/run/libvirt-results" 2>/dev/null |
		grep -c "^$1 "
}

# run_local NAME LOG ERROR-REGEX COMMAND...: one test run on this machine,
# unless TEST_FILTER leaves NAME out; on failure, the log's lines that match
# ERROR-REGEX are shown.
run_local() {
	local name=$1 log=$2 errors=$3
	shift 3
	grep -qE "${TEST_FILTER:-.}" <<< "$name" || return 0
	if "$@" > "$log" 2>&1; then
		echo "PASS $name"
		echo "pass $name" >> "$results"
	else
		echo "FAIL $name (build/logs/${log##*/})"
		grep -E "$errors" "$log" | head -n 20 | sed 's/^/    /'
		echo "fail $name" >> "$results"
	fi
}

# The kernel series in configurations the test host does not use
# (configs/build-check-*.config): KVM, mm and hibernation for a 32-bit x86
# host, without guest_memfd, and for an x86-64 host with AMD SEV.
build_check() {
	local frag c
	for frag in "$top"/configs/build-check-*.config; do
		c=${frag##*/build-check-}
		c=${c%.config}
		run_local "build-check:$c" "$top/build/logs/build-check-$c.log" \
			'error:' bash "$top/scripts/build-check.sh" "$c"
	done
}

# libvirt's unit tests: xml->argv and round trip (qemuxmlconftest), the
# schemas against every test XML (virschematest), capabilities probing
# (qemucapabilitiestest, qemucaps2xmltest, domaincapstest).
libvirt_tests() {
	local t
	for t in qemuxmlconftest virschematest qemucapabilitiestest qemucaps2xmltest domaincapstest; do
		run_local "libvirt:$t" "$top/build/logs/libvirt-$t.log" \
			'^(not ok|FAIL|[0-9]+\) .*FAILED)' \
			env PATH="/usr/bin:$PATH" meson test -C "$top/build/libvirt-build" \
			--no-rebuild --print-errorlogs "$t"
	done
}

mkdir -p "$top/build/run"
results=$top/build/run/libvirt-results
: > "$results"
build_check
libvirt_tests
# The one-vCPU host's output is shown once it is done, not interleaved.
run_host "$prefix-one-cpu" selftests/one-cpu.list -c 1 -k kunit.enable=0 \
	> "$top/build/logs/$prefix-one-cpu.progress" 2>&1 &
one_cpu=$!
run_host "$prefix" selftests/kvm.list -N -k kvm.force_emulation_prefix=1
wait $one_cpu
cat "$top/build/logs/$prefix-one-cpu.progress"
hosts+=("$top/build/run/$prefix-one-cpu")
[ -z "$debug" ] ||
	run_host "$prefix-pagealloc" selftests/debug-pagealloc.list -k debug_pagealloc=on
echo "== test: done in $((SECONDS - start)) s; per-test logs in build/run/$prefix*/logs/"
failed=$(count fail)
echo "$(count pass) passed, $failed failed, $(count skip) skipped"
[ "$failed" -eq 0 ]
