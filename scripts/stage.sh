#!/bin/bash
# Run one long build or test stage: print its name and elapsed time, keep
# its output in build/logs/<name>.log, and show the tail when it fails.
set -uo pipefail
name=$1; shift
logs=$(cd "$(dirname "$0")/.." && pwd)/build/logs
mkdir -p "$logs"
log=$logs/$name.log
start=$SECONDS
echo "== $name: started (log: build/logs/$name.log)"
"$@" > "$log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	tail -n 40 "$log" >&2
	echo "== $name: FAILED after $((SECONDS - start)) s (exit $rc)" >&2
	exit $rc
fi
echo "== $name: done in $((SECONDS - start)) s"
