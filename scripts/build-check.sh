#!/bin/bash
# Build the parts of the patched kernel that the series touches (KVM, mm,
# hibernation) for configurations the test host does not use: today a
# 32-bit x86 host (configs/build-check-i386.config), where KVM has no
# guest_memfd and the page allocator no __GFP_UNMAPPED. Needs no cross
# compiler: gcc builds i386 kernels with -m32.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
ksrc=$top/build/linux
out=$top/build/kbuild-i386
frag=$top/configs/build-check-i386.config
kmake=(make -s -C "$ksrc" O="$out" ARCH=i386 CC="ccache gcc" -j"${JOBS:-3}")

mkdir -p "$out"
(cd "$ksrc" && ARCH=i386 ./scripts/kconfig/merge_config.sh -m -O "$out" \
	arch/x86/configs/i386_defconfig "$frag" >/dev/null)
"${kmake[@]}" olddefconfig
bash "$top/scripts/check-config.sh" "$out/.config" "$frag"
"${kmake[@]}" arch/x86/kvm/ mm/ kernel/power/
echo "build-check: i386 KVM, mm and hibernation built without guest_memfd and __GFP_UNMAPPED"
