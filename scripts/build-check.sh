#!/bin/bash
# Build the parts of the patched kernel that the series touches (KVM, mm,
# hibernation) for a configuration the test host does not use, named by
# configs/build-check-NAME.config, merged onto the defconfig of the
# architecture its "# arch:" line names. Today:
#   i386  a 32-bit x86 host, where KVM has no guest_memfd and the page
#         allocator no __GFP_UNMAPPED (gcc builds it with -m32);
#   sev   an x86-64 host with AMD SEV, which TCG cannot run.
set -euo pipefail

name=${1:?usage: build-check.sh NAME (configs/build-check-NAME.config)}
top=$(cd "$(dirname "$0")/.." && pwd)
ksrc=$top/build/linux
out=$top/build/kbuild-$name
frag=$top/configs/build-check-$name.config
[ -f "$frag" ] || { echo "build-check: no configuration $frag" >&2; exit 2; }
arch=$(sed -n 's/^# arch: //p' "$frag")
[ -f "$ksrc/arch/x86/configs/${arch}_defconfig" ] ||
	{ echo "build-check: $frag names no x86 architecture ('# arch: i386|x86_64')" >&2; exit 2; }
kmake=(make -s -C "$ksrc" O="$out" ARCH="$arch" CC="ccache gcc" -j"${JOBS:-3}")

mkdir -p "$out"
(cd "$ksrc" && ARCH=$arch ./scripts/kconfig/merge_config.sh -m -O "$out" \
	"arch/x86/configs/${arch}_defconfig" "$frag" >/dev/null)
"${kmake[@]}" olddefconfig
bash "$top/scripts/check-config.sh" "$out/.config" "$frag"
"${kmake[@]}" arch/x86/kvm/ mm/ kernel/power/
echo "build-check: $name: KVM, mm and hibernation built"
