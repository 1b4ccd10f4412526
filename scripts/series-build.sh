#!/bin/bash
# Build the kernel at points inside the series of build/linux, with the
# test host's configuration, so that the series stays bisectable: by
# default the patch in the middle of the mm series and the mm series' last
# patch ('make kernel' builds the KVM series' end); with SERIES_BUILD=all,
# every patch but the last. The points are built in a worktree,
# build/linux-series, into build/kbuild-series.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
src=$top/build/linux
tree=$top/build/linux-series
out=$top/build/kbuild-series
config=$top/build/kbuild/.config
die() { echo "series-build: $*" >&2; exit 1; }

[ -f "$config" ] || die "no $config: run 'make kernel-config' first"
mapfile -t commits < <(git -C "$src" rev-list --reverse base..HEAD)
[ ${#commits[@]} -ge 2 ] || die "build/linux has fewer than two patches over base"
# The mm series comes first; its last patch is the last without "KVM:".
mm_end=-1
for i in "${!commits[@]}"; do
	case $(git -C "$src" log -1 --format=%s "${commits[$i]}") in
	KVM:*) ;;
	*) mm_end=$i ;;
	esac
done
[ "$mm_end" -ge 0 ] || die "no mm patch in base..HEAD"
case ${SERIES_BUILD:-sample} in
all) points=$(seq 0 $((${#commits[@]} - 2))) ;;
sample) points=$(printf '%s\n' $((mm_end / 2)) "$mm_end" | sort -nu) ;;
*) die "SERIES_BUILD is 'sample' or 'all', not '$SERIES_BUILD'" ;;
esac

[ -d "$tree" ] || git -C "$src" worktree add -q --detach "$tree" "${commits[0]}"
mkdir -p "$out"
kmake=(make -s -C "$tree" O="$out" CC="ccache gcc" -j"${JOBS:-3}")
for i in $points; do
	commit=${commits[$i]}
	what="patch $((i + 1))/${#commits[@]} ($(git -C "$src" log -1 --format=%s "$commit"))"
	echo "series-build: building $what"
	git -C "$tree" checkout -q --detach "$commit"
	# The final configuration, reduced to what this point's Kconfig knows.
	cp "$config" "$out/.config"
	"${kmake[@]}" olddefconfig
	"${kmake[@]}" vmlinux || die "$what does not build"
done
echo "series-build: $(wc -w <<< "$points") points of the series built"
