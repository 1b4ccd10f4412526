#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Run a KVM selftest (its path under the selftests directory, then its
# arguments) on KVM's per-folio mode of GUEST_MEMFD_FLAG_NO_DIRECT_MAP
# rather than the unmapped pools, e.g. with
# KVM_SELFTESTS_SLOT0_BACKING=guest_memfd_no_direct_map. Exits as the test.
set -eu

param=/sys/module/kvm/parameters/gmem_unmap_per_folio
if [ ! -w $param ]; then
	echo "SKIP: no $param"
	exit 4
fi
echo Y > $param
trap 'echo N > $param' EXIT
test=$1
shift
"$(dirname "$0")/../$test" "$@"
