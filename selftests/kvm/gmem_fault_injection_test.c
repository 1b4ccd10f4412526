// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fault injection on the paths that take pageblocks out of the direct map
 * for NO_DIRECT_MAP guest_memfd, and that put them back. A failure must
 * reach userspace as ENOMEM (from fallocate, or from KVM_RUN with a
 * KVM_EXIT_MEMORY_FAULT exit for the VMM), leave the pool counters as they
 * were and no pageblock half-unmapped (unmapped_check reads "errors 0"
 * after every step), and the same call must succeed once the fault is gone.
 *
 *  - fail_unmapped on every pageblock of a refill: fallocate and a guest's
 *    first touch of a page fail, and no pageblock leaves the direct map; on
 *    one pageblock of a refill: the others make the pool.
 *  - fail_unmapped on the shrinker's return of free pageblocks to the direct
 *    map: they stay in the pool, and go back once the fault is gone.
 *  - /proc/thread-self/fail-nth walked over every fault site (page and slab
 *    allocations, fail_unmapped) that a one-page fallocate and a guest's
 *    first touch reach, with the pools empty so that each starts a refill.
 *
 *  - fail_page_alloc on every allocation of a pageblock or more (a host too
 *    fragmented for a refill): a touch of the VMM's mapping of NO_DIRECT_MAP
 *    guest_memfd gets SIGBUS, and a memfd_secret page comes out of the
 *    direct map on its own, within seconds; neither retries for ever.
 *
 * Memory offlining under fail_unmapped is host_memory_hotplug.sh's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/falloc.h>
#include <linux/sizes.h>

#include "kvm_util.h"
#include "processor.h"
#include "secret_page.h"
#include "test_util.h"
#include "ucall_common.h"
#include "vmstat.h"

#define CHECK_PATH	"/sys/kernel/debug/direct_map_scan/unmapped_check"
#define FAIL_UNMAPPED	"/sys/kernel/debug/fail_unmapped/"
#define FAIL_PAGE_ALLOC	"/sys/kernel/debug/fail_page_alloc/"
#define FAILSLAB	"/sys/kernel/debug/failslab/"
#define REFILL_SYSCTL	"/proc/sys/vm/unmapped_refill_pageblocks"

/* A small refill batch keeps the fail-nth walks short. */
#define REFILL_BLOCKS	4
#define BLOCK_PAGES	(SZ_2M / PAGE_SIZE)
#define SIZE		SZ_4M
/* Above slot 0, which holds code, stacks and page tables. */
#define DATA_GPA	SZ_4G
#define DATA_SLOT	1
#define MAX_FAULT_SITES	1000

static const u64 no_direct_map = GUEST_MEMFD_FLAG_NO_DIRECT_MAP;
static const u64 shared = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;

/* Settings changed for the test and put back at exit: path, old value. */
static struct { const char *path; char old[32]; } saved[16];
static int nr_saved;
static int fail_nth_fd;

static void write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	TEST_ASSERT(fd >= 0, "open %s: %s", path, strerror(errno));
	TEST_ASSERT(write(fd, val, strlen(val)) == (ssize_t)strlen(val),
		    "write '%s' to %s: %s", val, path, strerror(errno));
	close(fd);
}

static void read_str(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	TEST_ASSERT(fd >= 0, "open %s: %s", path, strerror(errno));
	n = read(fd, buf, size - 1);
	TEST_ASSERT(n >= 0, "read %s: %s", path, strerror(errno));
	buf[n] = '\0';
	close(fd);
}

static void restore_settings(void)
{
	while (nr_saved--)
		write_str(saved[nr_saved].path, saved[nr_saved].old);
}

/* Set @path to @val until the test exits. */
static void set_for_test(const char *path, const char *val)
{
	TEST_ASSERT(nr_saved < ARRAY_SIZE(saved), "too many settings");
	read_str(path, saved[nr_saved].old, sizeof(saved[nr_saved].old));
	saved[nr_saved++].path = path;
	write_str(path, val);
}

/*
 * Run unmapped_check, which must find no error, and return the free
 * unmapped pages on the buddy lists, which it counts under the zone locks.
 */
static unsigned long free_unmapped(const char *when)
{
	unsigned long errors, listed;
	char buf[1024], *line;

	read_str(CHECK_PATH, buf, sizeof(buf));
	line = strstr(buf, "\nerrors ");
	TEST_ASSERT(line && sscanf(line, "\nerrors %lu", &errors) == 1,
		    "no errors line in %s", CHECK_PATH);
	TEST_ASSERT(!errors, "%s: unmapped_check:\n%s", when, buf);
	line = strstr(buf, "free_unmapped_listed ");
	TEST_ASSERT(line && sscanf(line, "free_unmapped_listed %lu", &listed) == 1,
		    "no free_unmapped_listed in %s", CHECK_PATH);
	return listed;
}

/* Fail fail_unmapped's next @times calls, all of them if -1. */
static void fail_unmapped(int times)
{
	char val[16];

	snprintf(val, sizeof(val), "%d", times);
	write_str(FAIL_UNMAPPED "times", val);
	write_str(FAIL_UNMAPPED "probability", times ? "100" : "0");
}

/*
 * The shrinker maps every whole free unmapped pageblock again. Dropping the
 * page cache first drains the per-CPU LRU batches, which may still hold a
 * reference to a guest_memfd folio that was freed, and so its pageblock.
 */
static void drain_pools(void)
{
	write_str("/proc/sys/vm/drop_caches", "3");
	TEST_ASSERT_EQ(free_unmapped("after draining the pools"), 0);
}

static void fail_nth(unsigned int n)
{
	char val[16];
	int len = snprintf(val, sizeof(val), "%u", n);

	TEST_ASSERT(pwrite(fail_nth_fd, val, len, 0) == len, "fail-nth: %s", strerror(errno));
}

/* Whether the fault set up by fail_nth() was injected; disarms it. */
static bool fail_nth_injected(void)
{
	char val[16] = "";

	TEST_ASSERT(pread(fail_nth_fd, val, sizeof(val) - 1, 0) > 0,
		    "fail-nth: %s", strerror(errno));
	fail_nth(0);
	return atoi(val) == 0;
}

static void test_refill_fails(struct kvm_vm *vm)
{
	unsigned long unmapped;
	int fd = vm_create_guest_memfd(vm, SIZE, no_direct_map);

	drain_pools();
	unmapped = vm_event("unmapped_pageblocks_unmapped");
	fail_unmapped(-1);
	TEST_ASSERT(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, PAGE_SIZE) == -1 && errno == ENOMEM,
		    "fallocate with every refill failing: %s", strerror(errno));
	fail_unmapped(0);
	TEST_ASSERT_EQ(free_unmapped("after a failed refill"), 0);
	TEST_ASSERT_EQ(vm_event("unmapped_pageblocks_unmapped"), unmapped);

	fail_unmapped(1);
	TEST_ASSERT(!fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, PAGE_SIZE),
		    "fallocate with one pageblock of the refill failing: %s", strerror(errno));
	fail_unmapped(0);
	free_unmapped("after a refill that lost one pageblock");
	TEST_ASSERT_EQ(vm_event("unmapped_pageblocks_unmapped") - unmapped, REFILL_BLOCKS - 1);
	close(fd);
	printf("refill: fails with ENOMEM, or does without the failed pageblock\n");
}

static void test_return_fails(struct kvm_vm *vm)
{
	unsigned long unmapped, remapped, pooled;
	int fd = vm_create_guest_memfd(vm, SIZE, no_direct_map);

	drain_pools();
	unmapped = vm_event("unmapped_pageblocks_unmapped");
	TEST_ASSERT(!fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, SIZE), "fallocate: %s", strerror(errno));
	close(fd);
	/*
	 * Folios added on another CPU may still sit in its LRU add batch,
	 * which keeps them from the free lists: drop_caches=1 drains them all
	 * (lru_add_drain_all()) without running the shrinker.
	 */
	write_str("/proc/sys/vm/drop_caches", "1");
	pooled = vm_event("unmapped_pageblocks_unmapped") - unmapped;

	remapped = vm_event("unmapped_pageblocks_remapped");
	fail_unmapped(-1);
	write_str("/proc/sys/vm/drop_caches", "2");
	fail_unmapped(0);
	TEST_ASSERT_EQ(free_unmapped("after a failed return to the direct map"),
		       pooled * BLOCK_PAGES);
	TEST_ASSERT_EQ(vm_event("unmapped_pageblocks_remapped"), remapped);

	drain_pools();
	free_unmapped("after the return to the direct map");
	TEST_ASSERT_EQ(vm_event("unmapped_pageblocks_remapped") - remapped, pooled);
	printf("return: %lu pageblocks stayed in the pool, then went back\n", pooled);
}

static void guest_touch(u64 gpa)
{
	WRITE_ONCE(*(u64 *)gpa, 1);
	GUEST_DONE();
}

/*
 * A VM whose guest writes the first page of a NO_DIRECT_MAP guest_memfd,
 * which the memslot and *@mem, the VMM's mapping of it, keep open.
 */
static struct kvm_vm *vm_touching_gmem(struct kvm_vcpu **vcpu, void **mem)
{
	struct kvm_vm *vm = vm_create_with_one_vcpu(vcpu, guest_touch);
	int fd = vm_create_guest_memfd(vm, SIZE, shared | no_direct_map);

	*mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	TEST_ASSERT(*mem != MAP_FAILED, "mmap: %s", strerror(errno));
	vm_set_user_memory_region2(vm, DATA_SLOT, KVM_MEM_GUEST_MEMFD, DATA_GPA,
				   SIZE, *mem, fd, 0);
	close(fd);
	virt_map(vm, DATA_GPA, DATA_GPA, SIZE / vm->page_size);
	vcpu_args_set(*vcpu, 1, DATA_GPA);
	return vm;
}

/*
 * KVM_RUN failed with @err: ENOMEM, and the VMM may run the vCPU again.
 * A failure of the guest page's allocation also says where, in a memory
 * fault exit; other failures (of KVM's own page-table caches, say) do not.
 */
static void check_run_failure(struct kvm_vcpu *vcpu, int err, bool page_failed)
{
	struct ucall uc;

	TEST_ASSERT(err == ENOMEM, "KVM_RUN: %s, not ENOMEM", strerror(err));
	if (page_failed) {
		TEST_ASSERT_EQ(vcpu->run->exit_reason, KVM_EXIT_MEMORY_FAULT);
		TEST_ASSERT_EQ(vcpu->run->memory_fault.gpa, DATA_GPA);
	}
	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_DONE);
}

static void test_guest_fault_fails(void)
{
	struct kvm_vcpu *vcpu;
	void *mem;
	struct kvm_vm *vm = vm_touching_gmem(&vcpu, &mem);
	int r;

	drain_pools();
	fail_unmapped(-1);
	r = __vcpu_run(vcpu);
	fail_unmapped(0);
	TEST_ASSERT(r < 0, "KVM_RUN succeeded with every refill failing");
	check_run_failure(vcpu, errno, true);
	kvm_vm_free(vm);
	munmap(mem, SIZE);
	free_unmapped("after a guest fault that failed");
	printf("guest fault: KVM_RUN fails with ENOMEM and a memory fault exit, then runs\n");
}

/* A walk reached @sites fault sites, of which @failed failed @call. */
static void report_walk(const char *call, unsigned int sites, unsigned int failed)
{
	TEST_ASSERT(sites < MAX_FAULT_SITES, "%s reached %u fault sites or more", call, sites);
	TEST_ASSERT(failed, "no fault site failed %s", call);
	printf("fail-nth %s: %u fault sites, %u failed the call\n", call, sites, failed);
}

/*
 * Fail the first, second, ... fault site that a one-page fallocate reaches,
 * until it reaches no more. A failure is ENOMEM or nothing at all (a refill
 * that does with fewer pageblocks).
 */
static void walk_fallocate(struct kvm_vm *vm)
{
	unsigned int n, failed = 0;
	bool injected;
	int fd, r, err;

	for (n = 1; n <= MAX_FAULT_SITES; n++) {
		fd = vm_create_guest_memfd(vm, SIZE, no_direct_map);
		drain_pools();
		fail_nth(n);
		r = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, PAGE_SIZE);
		err = errno;
		injected = fail_nth_injected();
		TEST_ASSERT(!r || err == ENOMEM, "fallocate, fault site %u failing: %s",
			    n, strerror(err));
		failed += !!r;
		close(fd);
		free_unmapped("after fallocate with a fault site failing");
		if (!injected)
			break;
	}
	report_walk("fallocate", n - 1, failed);
}

/* The same for KVM_RUN of a guest whose first write needs a refill. */
static void walk_guest_fault(void)
{
	unsigned int n, failed = 0;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	bool injected;
	int r, err;
	void *mem;

	for (n = 1; n <= MAX_FAULT_SITES; n++) {
		vm = vm_touching_gmem(&vcpu, &mem);
		drain_pools();
		fail_nth(n);
		r = __vcpu_run(vcpu);
		err = errno;
		injected = fail_nth_injected();
		if (r < 0) {
			check_run_failure(vcpu, err, false);
			failed++;
		} else {
			TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_DONE);
		}
		kvm_vm_free(vm);
		munmap(mem, SIZE);
		free_unmapped("after KVM_RUN with a fault site failing");
		if (!injected)
			break;
	}
	report_walk("KVM_RUN", n - 1, failed);
}

/* Fail this task's allocations as fail_page_alloc is set up (task-filter). */
static void make_it_fail(void)
{
	write_str("/proc/self/make-it-fail", "1");
}

static void test_no_whole_block(struct kvm_vm *vm)
{
	int fd = vm_create_guest_memfd(vm, SIZE, shared | no_direct_map);
	u8 *mem = kvm_mmap(SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
	int secret_fd, status;
	u8 *secret;

	drain_pools();
	write_str(FAIL_PAGE_ALLOC "min-order", "9");
	write_str(FAIL_PAGE_ALLOC "task-filter", "Y");
	write_str(FAIL_PAGE_ALLOC "times", "-1");
	write_str(FAIL_PAGE_ALLOC "probability", "100");

	status = touch_in_child(mem, 10, make_it_fail);
	TEST_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS,
		    "NO_DIRECT_MAP guest_memfd touched with no pageblock to take: status %#x",
		    status);

	secret = secret_page(&secret_fd);
	if (secret) {
		status = touch_in_child(secret, 10, make_it_fail);
		TEST_ASSERT(WIFEXITED(status) && !WEXITSTATUS(status),
			    "memfd_secret touched with no pageblock to take: status %#x",
			    status);
		kvm_munmap(secret, getpagesize());
		close(secret_fd);
	}

	write_str(FAIL_PAGE_ALLOC "probability", "0");
	write_str(FAIL_PAGE_ALLOC "min-order", "0");
	kvm_munmap(mem, SIZE);
	close(fd);
	free_unmapped("after touches with no pageblock to take");
	printf("no pageblock to take: guest_memfd touch SIGBUS, memfd_secret page %s\n",
	       secret ? "unmapped on its own" : "not tested");
}

int main(void)
{
	char blocks[16];
	struct kvm_vm *vm;

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS) & no_direct_map);
	TEST_REQUIRE(!access(FAIL_UNMAPPED, F_OK) && !access(CHECK_PATH, R_OK));

	snprintf(blocks, sizeof(blocks), "%d", REFILL_BLOCKS);
	atexit(restore_settings);
	set_for_test(REFILL_SYSCTL, blocks);
	set_for_test(FAIL_UNMAPPED "probability", "0");
	set_for_test(FAIL_UNMAPPED "times", "1");
	set_for_test(FAIL_UNMAPPED "verbose", "0");
	set_for_test(FAIL_UNMAPPED "interval", "1");
	/* Let fail-nth reach sleeping, order-0 and guest_memfd allocations too. */
	set_for_test(FAIL_PAGE_ALLOC "verbose", "0");
	set_for_test(FAIL_PAGE_ALLOC "ignore-gfp-wait", "N");
	set_for_test(FAIL_PAGE_ALLOC "min-order", "0");
	set_for_test(FAIL_PAGE_ALLOC "ignore-gfp-highmem", "N");
	set_for_test(FAIL_PAGE_ALLOC "task-filter", "N");
	set_for_test(FAIL_PAGE_ALLOC "probability", "0");
	set_for_test(FAIL_PAGE_ALLOC "times", "1");
	set_for_test(FAILSLAB "verbose", "0");
	set_for_test(FAILSLAB "ignore-gfp-wait", "N");
	fail_nth_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	TEST_ASSERT(fail_nth_fd >= 0, "open fail-nth: %s", strerror(errno));
	free_unmapped("before the test");

	vm = vm_create_barebones();
	test_refill_fails(vm);
	test_return_fails(vm);
	test_guest_fault_fails();
	walk_fallocate(vm);
	walk_guest_fault();
	test_no_whole_block(vm);
	kvm_vm_free(vm);
	return 0;
}
