#!/bin/bash
# The patched kernel tree in build/linux: a git repo whose first commit is
# the pristine Debian linux-source-7.3 tarball (tag "base"), with
# host-kernel/series then virt/series applied on top by "git am".
#
#   kernel-tree.sh apply    create the tree if needed; (re)apply the series
#                           when they changed since the last apply/export
#   kernel-tree.sh export   write base..HEAD back as the two series
#
# Commits whose subject starts with "KVM:" belong to virt/, all others to
# host-kernel/; the mm series must come first.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
tree=$top/build/linux
tarball=/usr/src/linux-source-7.3.tar.xz
tarball_sha256=76df1affb19f24926949369be1d74b60071c963c598ce8780bddd4bbf0fc3bc4
series_dirs=(host-kernel virt)
stamp=$tree/.git/unmapped-applied

die() { echo "kernel-tree: $*" >&2; exit 1; }
git_tree() { git -C "$tree" -c user.name=unmapped -c user.email=unmapped@localhost "$@"; }

create() {
	[ -f "$tarball" ] || die "$tarball missing: run 'make deps'"
	echo "kernel-tree: checking $tarball"
	echo "$tarball_sha256  $tarball" | sha256sum --quiet -c - ||
		die "$tarball does not match the pinned sha256"
	rm -rf "$tree.tmp"
	mkdir -p "$tree.tmp"
	echo "kernel-tree: unpacking"
	tar -xJf "$tarball" -C "$tree.tmp" --strip-components=1
	tree=$tree.tmp git_tree_init
	mv "$tree.tmp" "$tree"
}

git_tree_init() {
	git init -q -b master "$tree"
	git_tree add -A -f
	GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' GIT_COMMITTER_DATE='2026-01-01T00:00:00Z' \
		git_tree commit -q -m "Linux 7.3.4 (Debian linux-source-7.3 7.3.4-1~bpo13+1)"
	git_tree tag base
}

# A digest of everything the series files say, to know when to re-apply.
series_digest() {
	local d p
	for d in "${series_dirs[@]}"; do
		[ -f "$top/$d/series" ] || continue
		cat "$top/$d/series"
		while read -r p; do
			case "$p" in ''|'#'*) continue ;; esac
			cat "$top/$d/$p"
		done < "$top/$d/series"
	done | sha256sum | cut -d' ' -f1
}

require_no_local_work() {
	[ -z "$(git_tree status --porcelain --untracked-files=no)" ] ||
		die "build/linux has uncommitted changes: commit and 'make patches-export', or discard them"
	if [ -f "$stamp" ]; then
		local head
		head=$(git_tree rev-parse HEAD)
		[ "$head" = "$(cut -d' ' -f2 "$stamp")" ] ||
			die "build/linux has commits not in the series: run 'make patches-export' first, or 'git -C build/linux reset --hard base' to drop them"
	fi
}

apply() {
	[ -d "$tree/.git" ] || create
	local want d p
	want=$(series_digest)
	[ -f "$stamp" ] && [ "$(cut -d' ' -f1 "$stamp")" = "$want" ] && return 0
	require_no_local_work
	git_tree reset -q --hard base
	for d in "${series_dirs[@]}"; do
		[ -f "$top/$d/series" ] || continue
		while read -r p; do
			case "$p" in ''|'#'*) continue ;; esac
			echo "kernel-tree: applying $d/$p"
			git_tree am -q --committer-date-is-author-date "$top/$d/$p" ||
				{ git_tree am --abort; die "$d/$p does not apply"; }
		done < "$top/$d/series"
	done
	echo "$want $(git_tree rev-parse HEAD)" > "$stamp"
}

export_series() {
	[ -d "$tree/.git" ] || die "no tree: run 'make kernel-tree'"
	[ -z "$(git_tree status --porcelain --untracked-files=no)" ] ||
		die "build/linux has uncommitted changes: commit them first"
	local commits c subject dir p seen_kvm="" split=""
	mapfile -t commits < <(git_tree rev-list --reverse base..HEAD)
	for c in "${commits[@]}"; do
		subject=$(git_tree log -1 --format=%s "$c")
		case "$subject" in
		KVM:*) seen_kvm=1 ;;
		*) [ -z "$seen_kvm" ] || die "'$subject' follows a KVM: commit: put the mm commits first"
		   split=$c ;;
		esac
	done
	for dir in "${series_dirs[@]}"; do
		# The cover letter is written by hand and kept; numbered patches are regenerated.
		find "$top/$dir" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' ! -name '0000-*' -delete
	done
	local fp=(format-patch -q --no-signature --zero-commit --full-index)
	: > "$top/host-kernel/series"
	: > "$top/virt/series"
	if [ -n "$split" ]; then
		git_tree "${fp[@]}" -o "$top/host-kernel" base.."$split"
	fi
	git_tree "${fp[@]}" -o "$top/virt" "${split:-base}"..HEAD
	for dir in "${series_dirs[@]}"; do
		for p in "$top/$dir"/[0-9][0-9][0-9][0-9]-*.patch; do
			p=${p##*/}
			if [ -e "$top/$dir/$p" ] && [ "${p:0:4}" != 0000 ]; then echo "$p"; fi
		done > "$top/$dir/series"
		echo "kernel-tree: $dir/series: $(wc -l < "$top/$dir/series") patches"
	done
	echo "$(series_digest) $(git_tree rev-parse HEAD)" > "$stamp"
}

case "${1:-}" in
apply) apply ;;
export) export_series ;;
*) die "usage: $0 apply|export" ;;
esac
