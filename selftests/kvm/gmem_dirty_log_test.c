// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dirty logging of guest_memfd memslots (KVM_CAP_GUEST_MEMFD_DIRTY_LOG),
 * what live migration of a guest in NO_DIRECT_MAP memory needs.
 *
 * On the default VM type the capability is offered, and a memslot bound
 * to a NO_DIRECT_MAP guest_memfd logs the pages the guest writes and those
 * KVM writes for it (kvmclock, through the pfn cache), and nothing else.
 * Dirty logging is turned off and on again by flags-only changes, which
 * must name the memslot's binding: another guest_memfd, another offset or
 * another guest address are refused. Turning it off must not make KVM
 * warn: the memslot is 2 MiB with a userspace_addr aligned like its guest
 * address, as QEMU aligns its RAM, so x86 looks for huge pages to recover,
 * which guest_memfd cannot answer outside of a fault.
 * On KVM_X86_SW_PROTECTED_VM, whose
 * guest_memfd holds private memory, the capability is 0 and the flag is
 * refused. (The guest's writes in every log mode are dirty_log_test's and
 * dirty_log_perf_test's, run with -s guest_memfd_no_direct_map.)
 * Exit: 0 pass, 1 fail, 4 skip (kselftest).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

#define TEST_SLOT	10
#define TEST_GPA	(1ULL << 32)
/* A whole, aligned 2 MiB, where x86 may map huge pages. */
#define TEST_PAGES	512
#define CLOCK_PAGE	3
#define WRITTEN_PAGE	7
/* include/linux/panic.h: set by any WARN. */
#define TAINT_WARN	9

static const u64 gmem_flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED |
			      GUEST_MEMFD_FLAG_NO_DIRECT_MAP;

static void guest_code(void)
{
	u64 *written = (u64 *)(TEST_GPA + WRITTEN_PAGE * PAGE_SIZE);

	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (TEST_GPA + CLOCK_PAGE * PAGE_SIZE) | KVM_MSR_ENABLED);
	WRITE_ONCE(*written, 1);
	GUEST_SYNC(1);
	WRITE_ONCE(*written, 2);
	GUEST_DONE();
}

/* Run to the next ucall, which must be @cmd. */
static void run_to(struct kvm_vcpu *vcpu, u64 cmd)
{
	struct ucall uc;

	vcpu_run(vcpu);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	TEST_ASSERT_EQ(uc.cmd, cmd);
}

/*
 * The dirty log of the test slot must hold the pages in @expected, and
 * no other but those in @maybe (all among the first 64).
 */
static void assert_dirty(struct kvm_vm *vm, unsigned long expected, unsigned long maybe,
			 const char *when)
{
	unsigned long log[TEST_PAGES / BITS_PER_LONG] = {};
	int i;

	kvm_vm_get_dirty_log(vm, TEST_SLOT, log);
	TEST_ASSERT((log[0] & ~maybe) == expected, "%s: dirty log %#lx, expected %#lx",
		    when, log[0], expected);
	for (i = 1; i < ARRAY_SIZE(log); i++)
		TEST_ASSERT(!log[i], "%s: pages %d-%d: dirty log %#lx", when,
			    i * BITS_PER_LONG, (i + 1) * BITS_PER_LONG - 1, log[i]);
	printf("%s: dirty log %#lx\n", when, log[0]);
}

/* The kernel's taint flags (/proc/sys/kernel/tainted). */
static unsigned long tainted(void)
{
	unsigned long flags;
	FILE *f = fopen("/proc/sys/kernel/tainted", "r");

	TEST_ASSERT(f && fscanf(f, "%lu", &flags) == 1, "reading /proc/sys/kernel/tainted");
	fclose(f);
	return flags;
}

/* A change of the test slot that KVM must refuse with EINVAL. */
static void assert_refused(struct kvm_vm *vm, u64 gpa, int fd, u64 offset, const char *what)
{
	struct userspace_mem_region *region = memslot2region(vm, TEST_SLOT);
	int r;

	r = __vm_set_user_memory_region2(vm, TEST_SLOT, KVM_MEM_GUEST_MEMFD, gpa,
					 TEST_PAGES * PAGE_SIZE,
					 (void *)region->region.userspace_addr, fd, offset);
	TEST_ASSERT(r == -1 && errno == EINVAL, "%s: returned %d (errno %d), not EINVAL",
		    what, r, errno);
}

static void test_default_vm(void)
{
	struct userspace_mem_region *region;
	unsigned long taint = tainted();
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	int fd, other_fd;
	u64 *written;

	TEST_ASSERT_EQ(kvm_check_cap(KVM_CAP_GUEST_MEMFD_DIRTY_LOG), 1);
	vm = vm_create_with_one_vcpu(&vcpu, guest_code);
	TEST_ASSERT_EQ(vm_check_cap(vm, KVM_CAP_GUEST_MEMFD_DIRTY_LOG), 1);

	/*
	 * The guest_memfd is the memory; the userspace_addr, which KVM does
	 * not use for it, is 2 MiB-aligned anonymous memory.
	 */
	fd = vm_create_guest_memfd(vm, TEST_PAGES * PAGE_SIZE, gmem_flags);
	vm_mem_add(vm, VM_MEM_SRC_ANONYMOUS_THP, TEST_GPA, TEST_SLOT, TEST_PAGES,
		   KVM_MEM_GUEST_MEMFD | KVM_MEM_LOG_DIRTY_PAGES, fd, 0);
	virt_map(vm, TEST_GPA, TEST_GPA, TEST_PAGES);
	region = memslot2region(vm, TEST_SLOT);
	written = kvm_mmap(TEST_PAGES * PAGE_SIZE, PROT_READ, MAP_SHARED, fd);

	assert_dirty(vm, 0, 0, "before the guest runs");
	run_to(vcpu, UCALL_SYNC);
	assert_dirty(vm, BIT(CLOCK_PAGE) | BIT(WRITTEN_PAGE), 0, "kvmclock enabled, page written");
	assert_dirty(vm, 0, 0, "log read again");

	other_fd = vm_create_guest_memfd(vm, TEST_PAGES * PAGE_SIZE, gmem_flags);
	assert_refused(vm, TEST_GPA, other_fd, 0, "another guest_memfd");
	assert_refused(vm, TEST_GPA, region->region.guest_memfd, PAGE_SIZE, "another offset");
	assert_refused(vm, TEST_GPA + TEST_PAGES * PAGE_SIZE, region->region.guest_memfd, 0,
		       "a move");
	close(other_fd);

	/*
	 * Off and on again: the guest's next write is logged (and kvmclock,
	 * should KVM update it on this entry).
	 */
	vm_mem_region_set_flags(vm, TEST_SLOT, 0);
	TEST_ASSERT(!(tainted() & ~taint & BIT(TAINT_WARN)),
		    "the kernel warned when dirty logging was turned off (see dmesg)");
	vm_mem_region_set_flags(vm, TEST_SLOT, KVM_MEM_LOG_DIRTY_PAGES);
	run_to(vcpu, UCALL_DONE);
	assert_dirty(vm, BIT(WRITTEN_PAGE), BIT(CLOCK_PAGE), "after logging off and on");
	TEST_ASSERT_EQ(written[WRITTEN_PAGE * PAGE_SIZE / sizeof(*written)], 2);
	kvm_munmap(written, TEST_PAGES * PAGE_SIZE);
	close(fd);
	kvm_vm_free(vm);
}

static void test_private_memory_vm(void)
{
	struct kvm_vm *vm;
	void *mem;
	int fd, r;

	if (!(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM))) {
		printf("KVM_X86_SW_PROTECTED_VM not offered: not tested\n");
		return;
	}
	vm = vm_create_barebones_type(KVM_X86_SW_PROTECTED_VM);
	TEST_ASSERT_EQ(vm_check_cap(vm, KVM_CAP_GUEST_MEMFD_DIRTY_LOG), 0);
	fd = vm_create_guest_memfd(vm, TEST_PAGES * PAGE_SIZE, 0);
	mem = kvm_mmap(TEST_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1);

	r = __vm_set_user_memory_region2(vm, TEST_SLOT,
					 KVM_MEM_GUEST_MEMFD | KVM_MEM_LOG_DIRTY_PAGES,
					 TEST_GPA, TEST_PAGES * PAGE_SIZE, mem, fd, 0);
	TEST_ASSERT(r == -1 && errno == EINVAL,
		    "private memory with dirty logging: returned %d (errno %d)", r, errno);
	/* The same memslot without dirty logging is fine. */
	vm_set_user_memory_region2(vm, TEST_SLOT, KVM_MEM_GUEST_MEMFD, TEST_GPA,
				   TEST_PAGES * PAGE_SIZE, mem, fd, 0);
	printf("KVM_X86_SW_PROTECTED_VM: capability 0, dirty logging refused\n");
	kvm_vm_free(vm);
	kvm_munmap(mem, TEST_PAGES * PAGE_SIZE);
	close(fd);
}

int main(void)
{
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS) & GUEST_MEMFD_FLAG_NO_DIRECT_MAP);
	TEST_REQUIRE(kvm_cpu_has(X86_FEATURE_KVM_CLOCKSOURCE2));
	test_default_vm();
	test_private_memory_vm();
	return 0;
}
