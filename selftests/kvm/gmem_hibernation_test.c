// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hibernation must not save memory that is absent from the direct map:
 * swsusp would map every such page back one at a time to copy it, and write
 * guest RAM or secrets to swap in the clear. So while a NO_DIRECT_MAP
 * guest_memfd (or a memfd_secret area) holds pages, "disk" must be missing
 * from /sys/power/state and writing it must fail with EPERM; once they are
 * freed, hibernation is offered again.
 *
 * The state file is read before "disk" is ever written, so a kernel that
 * offers hibernation with such pages allocated fails the test without
 * being asked to hibernate.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/sizes.h>

#include "kvm_util.h"
#include "secret_page.h"
#include "test_util.h"

#define POWER_STATE	"/sys/power/state"
#define SIZE		SZ_2M
#define CANARY		0x5a

static bool hibernation_offered(void)
{
	char buf[256] = "";
	int fd = open(POWER_STATE, O_RDONLY);
	ssize_t len;

	TEST_ASSERT(fd >= 0, "open %s: %s", POWER_STATE, strerror(errno));
	len = read(fd, buf, sizeof(buf) - 1);
	TEST_ASSERT(len >= 0, "read %s: %s", POWER_STATE, strerror(errno));
	close(fd);
	return strstr(buf, "disk");
}

/* With unmapped pages held: not offered, and refused when asked for. */
static void expect_refused(const char *holder)
{
	int fd;

	TEST_ASSERT(!hibernation_offered(),
		    "%s holds unmapped pages, yet %s offers \"disk\"", holder, POWER_STATE);
	fd = open(POWER_STATE, O_WRONLY);
	TEST_ASSERT(fd >= 0, "open %s: %s", POWER_STATE, strerror(errno));
	TEST_ASSERT(write(fd, "disk", 4) < 0 && errno == EPERM,
		    "writing \"disk\" while %s holds unmapped pages: errno %d, not EPERM",
		    holder, errno);
	close(fd);
	printf("%s: hibernation not offered, and refused\n", holder);
}

static void expect_offered_again(const char *holder)
{
	/*
	 * A freed guest_memfd's last folios may still sit in per-CPU LRU
	 * batches, which compaction drains first.
	 */
	int fd = open("/proc/sys/vm/compact_memory", O_WRONLY);

	TEST_ASSERT(fd >= 0 && write(fd, "1", 1) == 1, "compact_memory: %s", strerror(errno));
	close(fd);
	TEST_ASSERT(hibernation_offered(),
		    "%s freed its pages, but hibernation is not offered again", holder);
}

static void test_guest_memfd(void)
{
	const u64 flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED |
			  GUEST_MEMFD_FLAG_NO_DIRECT_MAP;
	struct kvm_vm *vm = vm_create_barebones();
	int fd = vm_create_guest_memfd(vm, SIZE, flags);
	u8 *mem = kvm_mmap(SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd);

	memset(mem, CANARY, SIZE);
	expect_refused("a NO_DIRECT_MAP guest_memfd");
	kvm_munmap(mem, SIZE);
	close(fd);
	kvm_vm_free(vm);
	expect_offered_again("the NO_DIRECT_MAP guest_memfd");
}

static void test_secretmem(void)
{
	int fd;
	u8 *mem = secret_page(&fd);

	if (!mem)
		return;
	mem[0] = CANARY;
	expect_refused("memfd_secret");
	kvm_munmap(mem, getpagesize());
	close(fd);
	expect_offered_again("memfd_secret");
}

int main(void)
{
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS) &
		     GUEST_MEMFD_FLAG_NO_DIRECT_MAP);
	TEST_REQUIRE(!access(POWER_STATE, R_OK) && hibernation_offered());

	test_guest_memfd();
	test_secretmem();
	return 0;
}
