#!/bin/bash
# Runs inside the test host (see vm-run.sh): reports the KUnit suites that
# ran at this boot, then runs each KVM selftest of selftests/kvm.list.
# TEST_FILTER (an extended regex) limits the selftests to matching names.
# Writes "pass|fail|skip <name> <detail>" lines to $XCHG/results and each
# test's output to $XCHG/logs/<name>.log.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
list=${1:-$top/selftests/kvm.list}
bindir=$top/build/selftests/kvm
per_test_timeout=${TEST_TIMEOUT:-300}
filter=${TEST_FILTER:-.}
results=$XCHG/results
: > "$results"
mkdir -p "$XCHG/logs"

report() {
	echo "$1 $2 $3" >> "$results"
	printf '%-4s %s (%s)\n' "${1^^}" "$2" "$3"
}

# KUnit: the top-level KTAP result lines, one per suite.
dmesg --notime > "$XCHG/logs/kunit.log"
nsuites=0
while read -r line; do
	nsuites=$((nsuites + 1))
	suite=$(sed -E 's/^(not )?ok [0-9]+ ([^ ]+).*/\2/' <<< "$line")
	case "$line" in
	"not ok"*) report fail "kunit:$suite" "see logs/kunit.log" ;;
	*"# SKIP"*) report skip "kunit:$suite" "${line#*# SKIP}" ;;
	*) report pass "kunit:$suite" "KTAP ok" ;;
	esac
done < <(grep -E '^(not )?ok [0-9]+ ' "$XCHG/logs/kunit.log")
[ "$nsuites" -gt 0 ] || report fail kunit "no KTAP results in dmesg"

while read -r prog args; do
	case "$prog" in ''|'#'*) continue ;; esac
	grep -qE "$filter" <<< "$prog" || continue
	log=$XCHG/logs/${prog//\//_}.log
	start=$SECONDS
	# shellcheck disable=SC2086 # the list's arguments are meant to be split
	timeout -k 5 "$per_test_timeout" "$bindir/$prog" $args > "$log" 2>&1
	rc=$?
	took="$((SECONDS - start)) s"
	case $rc in
	0) report pass "$prog" "$took" ;;
	4) report skip "$prog" "$(grep -m1 -iE 'skip|requirement' "$log" | cut -c1-100)" ;;
	124) report fail "$prog" "timed out after $per_test_timeout s" ;;
	*) report fail "$prog" "exit $rc after $took, logs/${prog//\//_}.log"
	   tail -n 15 "$log" | sed 's/^/    /' ;;
	esac
done < "$list"
exit 0
