#!/bin/bash
# Runs inside the test host (see vm-run.sh): reports the KUnit suites that
# ran at this boot, then runs each test of a list (default:
# selftests/kvm.list).
# TEST_FILTER (an extended regex) limits the selftests to matching names;
# those matching TEST_EXCLUDE are reported skipped, for TEST_EXCLUDE_WHY.
# Writes "pass|fail|skip <name> <detail>" lines to $XCHG/results and each
# test's output to $XCHG/logs/<name>.log.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
list=${1:-$top/selftests/kvm.list}
bindir=$top/build/selftests/kvm
per_test_timeout=${TEST_TIMEOUT:-300}
filter=${TEST_FILTER:-.}
exclude=${TEST_EXCLUDE:-}
results=$XCHG/results
# The consistency check of the unmapped pageblocks (CONFIG_UNMAPPED_CHECK).
check=/sys/kernel/debug/direct_map_scan/unmapped_check
# Tests that hot-plug memory ask QEMU through l1-qmp.sh.
PATH=$top/scripts:$PATH
: > "$results"
mkdir -p "$XCHG/logs"

# A list test's report starts with its place among the selected ones.
progress=
report() {
	echo "$1 $2 $3" >> "$results"
	printf '%s%-4s %s (%s)\n' "$progress" "${1^^}" "$2" "$3"
}

# KUnit: the top-level KTAP result lines, one per suite, unless this host
# was booted with kunit.enable=0.
if ! grep -qw kunit.enable=0 /proc/cmdline; then
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
fi

# A line is [VAR=value...] test [args...]; a test listed more than once is
# told apart by its environment and arguments, which are part of its name.
# parse_line LINE sets envs, words (the test and its arguments) and name.
parse_line() {
	read -r -a words <<< "$1"
	envs=()
	while [[ ${words[0]} == *=* ]]; do
		envs+=("${words[0]}")
		words=("${words[@]:1}")
	done
	name=${envs[*]:+${envs[*]} }${words[*]}
}

selected=()
while read -r line; do
	case "$line" in '#'* | '') continue ;; esac
	parse_line "$line"
	grep -qE "$filter" <<< "$name" && selected+=("$line")
done < "$list"

for i in "${!selected[@]}"; do
	progress="[$((i + 1))/${#selected[@]}] "
	parse_line "${selected[$i]}"
	prog=${words[0]}
	if [ -n "$exclude" ] && grep -qE "$exclude" <<< "$name"; then
		report skip "$name" "${TEST_EXCLUDE_WHY:-excluded}"
		continue
	fi
	log=$XCHG/logs/$(tr -c 'A-Za-z0-9_.=-' _ <<< "$name" | sed 's/_*$//').log
	start=$SECONDS
	timeout -k 5 "$per_test_timeout" env "${envs[@]}" "$bindir/$prog" "${words[@]:1}" < /dev/null > "$log" 2>&1
	rc=$?
	took="$((SECONDS - start)) s"
	# Whatever the test did, the unmapped pageblocks must still agree with
	# the direct map and their counter afterwards.
	if [ -r "$check" ] && [ $rc -eq 0 ]; then
		checked=$(cat "$check")
		printf -- '--- unmapped_check after the test:\n%s\n' "$checked" >> "$log"
		grep -q '^errors 0$' <<< "$checked" || rc=5
	fi
	case $rc in
	0) report pass "$name" "$took" ;;
	4) report skip "$name" "$(grep -m1 -iE 'skip|requirement' "$log" | cut -c1-100)" ;;
	124) report fail "$name" "timed out after $per_test_timeout s" ;;
	5) report fail "$name" "passed, but unmapped_check found errors, logs/${log##*/}"
	   sed -n '/^--- unmapped_check/,$p' "$log" | sed 's/^/    /' ;;
	*) report fail "$name" "exit $rc after $took, logs/${log##*/}"
	   tail -n 15 "$log" | sed 's/^/    /' ;;
	esac
done
progress=

# The debug kernel's kmemleak, scanned once every test has run: each leak it
# reports fails the run (and vm-run.sh finds its line on the console).
kmemleak=/sys/kernel/debug/kmemleak
if [ -w $kmemleak ]; then
	echo scan > $kmemleak
	cat $kmemleak > "$XCHG/logs/kmemleak.log"
	if [ -s "$XCHG/logs/kmemleak.log" ]; then
		report fail kmemleak "$(grep -c '^unreferenced object' "$XCHG/logs/kmemleak.log") leaks, logs/kmemleak.log"
		head -n 40 "$XCHG/logs/kmemleak.log" | sed 's/^/    /'
	else
		report pass kmemleak "no leak"
	fi
fi
exit 0
