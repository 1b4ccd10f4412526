#!/bin/bash
# 'make test': boot the test host once, run KUnit and the KVM selftests in
# it, and end with "N passed, N failed, N skipped". A test host that hangs,
# oopses or dies counts as one more failure. TEST_FILTER=<regex> runs only
# the matching selftests (KUnit always reports).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
xchg=$top/build/run/test
rm -rf "$xchg"
mkdir -p "$xchg"

start=$SECONDS
echo "== test: booting the test host (console: build/logs/test.console)"
host_rc=0
"$top/scripts/vm-run.sh" -n test -x "$xchg" -t "${TEST_HOST_TIMEOUT:-2400}" -N \
	-k kvm.force_emulation_prefix=1 \
	-- env TEST_FILTER="${TEST_FILTER:-.}" "$top/scripts/l1-tests.sh" || host_rc=$?

passed=$(grep -c '^pass ' "$xchg/results" 2>/dev/null)
failed=$(grep -c '^fail ' "$xchg/results" 2>/dev/null)
skipped=$(grep -c '^skip ' "$xchg/results" 2>/dev/null)
if [ "$host_rc" -ne 0 ]; then
	echo "FAIL test-host (exit $host_rc; see build/logs/test.console)"
	failed=$((${failed:-0} + 1))
fi
echo "== test: done in $((SECONDS - start)) s; per-test logs in build/run/test/logs/"
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
[ "${failed:-0}" -eq 0 ]
