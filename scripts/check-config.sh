#!/bin/bash
# Fail when .config lost an option a fragment asked for (Kconfig drops
# unmet requests silently; merge_config.sh only warns).
set -euo pipefail
config=$1; shift
bad=0
for frag in "$@"; do
	while read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF "$line" "$config" && continue ;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }; opt=${opt%% *}
			grep -q "^$opt=" "$config" || continue ;;
		*) continue ;;
		esac
		echo "check-config: $frag: '$line' did not survive Kconfig" >&2
		bad=1
	done < "$frag"
done
exit $bad
