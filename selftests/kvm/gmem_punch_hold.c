// SPDX-License-Identifier: GPL-2.0-only
/*
 * Leave a NO_DIRECT_MAP guest_memfd with one page in use in each of its
 * 2 MiB pageblocks: allocate all of it, punch out the other 511 pages of
 * every block, then hold the file until killed. The punched pages are free
 * pages of partly used unmapped pageblocks, which reclaim must be able to
 * take back (partial_reclaim.sh).
 *
 * usage: gmem_punch_hold -m MIB -r READY_FILE
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/sizes.h>

#include "kvm_util.h"
#include "test_util.h"

int main(int argc, char *argv[])
{
	const char *ready = NULL;
	size_t size = SZ_1G, off;
	struct kvm_vm *vm;
	int opt, fd;
	FILE *f;

	while ((opt = getopt(argc, argv, "m:r:")) != -1) {
		switch (opt) {
		case 'm':
			size = strtoul(optarg, NULL, 0) << 20;
			break;
		case 'r':
			ready = optarg;
			break;
		default:
			printf("usage: %s -m MIB -r READY_FILE\n", argv[0]);
			exit(KSFT_FAIL);
		}
	}
	TEST_ASSERT(ready && size && !(size % SZ_2M), "-r READY_FILE and -m MIB (even) are needed");
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS) &
		     GUEST_MEMFD_FLAG_NO_DIRECT_MAP);

	vm = vm_create_barebones();
	fd = vm_create_guest_memfd(vm, size, GUEST_MEMFD_FLAG_NO_DIRECT_MAP);
	TEST_ASSERT(!fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, size), "fallocate");
	for (off = 0; off < size; off += SZ_2M)
		TEST_ASSERT(!fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				       off + getpagesize(), SZ_2M - getpagesize()),
			    "punching at %#zx", off);

	f = fopen(ready, "w");
	TEST_ASSERT(f && fputs("ready\n", f) >= 0 && !fclose(f), "writing %s", ready);
	pause();
	return 0;
}
