#!/bin/bash
# In the test host: pass the QMP commands on standard input (one JSON object
# a line) to the QEMU that runs this host (see vm-run.sh), print the replies
# and exit with their status.
set -euo pipefail

cat > "$XCHG/qmp-request.new"
mv "$XCHG/qmp-request.new" "$XCHG/qmp-request"
for _ in $(seq 300); do
	if [ -e "$XCHG/qmp-reply" ]; then
		status=$(tail -n 1 "$XCHG/qmp-reply")
		head -n -1 "$XCHG/qmp-reply"
		rm "$XCHG/qmp-reply"
		exit "${status#status }"
	fi
	sleep 0.2
done
echo "l1-qmp: no reply from QEMU in 60 s" >&2
exit 1
