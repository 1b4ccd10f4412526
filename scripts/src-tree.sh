#!/bin/bash
# A patched source tree under build/: a git repo whose first commit is the
# pristine Debian tarball (tag "base"), with the project's series applied on
# top by "git am".
#
#   src-tree.sh TREE apply    create the tree if needed; (re)apply its series
#                             when they changed since the last apply/export
#   src-tree.sh TREE export   write base..HEAD back as its series
#
# TREE is linux (host-kernel/ then virt/: commits whose subject starts with
# "KVM:" belong to virt/, and the mm series comes first), qemu
# (vmm-hooks/qemu/) or libvirt (vmm-hooks/libvirt/).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${CACHE:-$HOME/.cache/unmapped}
name=${1:-}
case "$name" in
linux)
	tarball=/usr/src/linux-source-7.3.tar.xz
	tarball_sha256=76df1affb19f24926949369be1d74b60071c963c598ce8780bddd4bbf0fc3bc4
	package=""
	base_subject="Linux 7.3.4 (Debian linux-source-7.3 7.3.4-1~bpo13+1)"
	series_dirs=(host-kernel virt)
	;;
qemu)
	tarball=$cache/src/qemu_10.0.2+ds.orig.tar.xz
	tarball_sha256=0901da33844a331bf8b3602b9c1fbd178e60b737c8e3ade678255bd090c9b9f1
	package=qemu=1:10.0.2+ds-2+deb13u1~bpo12+1
	base_subject="QEMU 10.0.2 (Debian qemu_10.0.2+ds.orig.tar.xz)"
	series_dirs=(vmm-hooks/qemu)
	;;
libvirt)
	tarball=$cache/src/libvirt_11.3.0.orig.tar.xz
	tarball_sha256=6bcb0c42c4580436fea262ced56f68a6afe20f7390b1bea2116718cc034a0283
	package=libvirt=11.3.0-2~bpo12+1
	base_subject="libvirt 11.3.0 (Debian libvirt_11.3.0.orig.tar.xz)"
	series_dirs=(vmm-hooks/libvirt)
	;;
*)
	echo "usage: $0 linux|qemu|libvirt apply|export" >&2
	exit 2
	;;
esac
tree=$top/build/$name
stamp=$tree/.git/unmapped-applied

die() { echo "src-tree $name: $*" >&2; exit 1; }
git_tree() { git -C "$tree" -c user.name=unmapped -c user.email=unmapped@localhost "$@"; }

# The series a commit belongs to, as an index into series_dirs.
series_of() {
	case "$name:$1" in
	linux:KVM:*) echo 1 ;;
	*) echo 0 ;;
	esac
}

# Only the .orig tarball is served, so apt-get exits 100 after fetching
# it: the sha256 below is the check that counts.
fetch() {
	[ -f "$tarball" ] && return 0
	[ -n "$package" ] || die "$tarball missing: run 'make deps'"
	echo "src-tree $name: fetching the source of $package"
	mkdir -p "${tarball%/*}"
	(cd "${tarball%/*}" && apt-get source -qq --download-only "$package" >/dev/null 2>&1) || true
	[ -f "$tarball" ] || die "apt-get source $package did not give ${tarball##*/}"
}

create() {
	fetch
	echo "src-tree $name: checking $tarball"
	echo "$tarball_sha256  $tarball" | sha256sum --quiet -c - ||
		die "$tarball does not match the pinned sha256"
	rm -rf "$tree.tmp"
	mkdir -p "$tree.tmp"
	echo "src-tree $name: unpacking"
	tar -xJf "$tarball" -C "$tree.tmp" --strip-components=1
	git -C "$tree.tmp" init -q -b master
	tree=$tree.tmp git_tree add -A -f
	GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' GIT_COMMITTER_DATE='2026-01-01T00:00:00Z' \
		tree=$tree.tmp git_tree commit -q -m "$base_subject"
	tree=$tree.tmp git_tree tag base
	mv "$tree.tmp" "$tree"
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
		die "build/$name has uncommitted changes: commit and 'make patches-export', or discard them"
	if [ -f "$stamp" ]; then
		local head
		head=$(git_tree rev-parse HEAD)
		[ "$head" = "$(cut -d' ' -f2 "$stamp")" ] ||
			die "build/$name has commits not in the series: run 'make patches-export' first, or 'git -C build/$name reset --hard base' to drop them"
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
			echo "src-tree $name: applying $d/$p"
			git_tree am -q --committer-date-is-author-date "$top/$d/$p" ||
				{ git_tree am --abort; die "$d/$p does not apply"; }
		done < "$top/$d/series"
	done
	echo "$want $(git_tree rev-parse HEAD)" > "$stamp"
}

export_series() {
	[ -d "$tree/.git" ] || die "no tree: run 'make $name-tree'"
	[ -z "$(git_tree status --porcelain --untracked-files=no)" ] ||
		die "build/$name has uncommitted changes: commit them first"
	local commits c i last=0 start=base dir p
	local -a ends=()
	mapfile -t commits < <(git_tree rev-list --reverse base..HEAD)
	# ends[i]: the last commit of series i; series must not interleave.
	for c in "${commits[@]}"; do
		i=$(series_of "$(git_tree log -1 --format=%s "$c")")
		[ "$i" -ge "$last" ] ||
			die "'$(git_tree log -1 --format=%s "$c")' belongs to ${series_dirs[$i]}/, which must come before ${series_dirs[$last]}/"
		last=$i
		ends[i]=$c
	done
	local fp=(format-patch -q --no-signature --zero-commit --full-index)
	for i in "${!series_dirs[@]}"; do
		dir=$top/${series_dirs[$i]}
		mkdir -p "$dir"
		# The cover letter is written by hand and kept; numbered patches are regenerated.
		find "$dir" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' ! -name '0000-*' -delete
		if [ -n "${ends[i]:-}" ]; then
			git_tree "${fp[@]}" -o "$dir" "$start..${ends[i]}"
			start=${ends[i]}
		fi
		for p in "$dir"/[0-9][0-9][0-9][0-9]-*.patch; do
			p=${p##*/}
			if [ -e "$dir/$p" ] && [ "${p:0:4}" != 0000 ]; then echo "$p"; fi
		done > "$dir/series"
		echo "src-tree $name: ${series_dirs[$i]}/series: $(wc -l < "$dir/series") patches"
	done
	echo "$(series_digest) $(git_tree rev-parse HEAD)" > "$stamp"
}

case "${2:-}" in
apply) apply ;;
export) export_series ;;
*) die "usage: $0 $name apply|export" ;;
esac
