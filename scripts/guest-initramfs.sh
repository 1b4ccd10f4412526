#!/bin/bash
# Build the initramfs of the nested test guest: busybox (static), the
# canary filler and selftests/guest/init as /init.
# usage: guest-initramfs.sh OUTPUT.cpio.gz
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$1
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
install -m 755 "$top/selftests/guest/init" "$root/init"
gcc -static -O2 -Wall -Werror -o "$root/bin/fill_canary" "$top/selftests/guest/fill_canary.c"
mkdir -p "$(dirname "$out")"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) > "$out.tmp"
mv "$out.tmp" "$out"
