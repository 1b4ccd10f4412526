// SPDX-License-Identifier: GPL-2.0-only
/*
 * GUEST_MEMFD_FLAG_NO_DIRECT_MAP from userspace: which VM types advertise
 * it, which flag combinations KVM_CREATE_GUEST_MEMFD takes, that the VMM's
 * mapping works (fault, punch hole, close while mapped, fork), and that
 * GUP into that mapping fails cleanly (/proc/pid/mem, process_vm_readv,
 * vmsplice, io_uring fixed buffers, O_DIRECT to and from a loop device),
 * where it works on an ordinary guest_memfd, and that KVM's own kernel
 * mapping of guest memory works on it: a guest enables kvmclock in such
 * memory, which KVM updates through a gfn_to_pfn_cache, and KVM takes that
 * path for NO_DIRECT_MAP guest_memfd only. On a host with two
 * NUMA nodes, the pages follow the memory policy of the task that
 * allocates them (mbind() on a mapping is guest_memfd_test's).
 *
 * On a host booted with debug_pagealloc=on, which maps and unmaps every page
 * as it is allocated and freed, no VM type may offer the flag, and it must
 * be refused with EINVAL: that is all that is tested there.
 *
 * per_folio.sh runs all of it on KVM's per-folio mode of the flag instead
 * of the unmapped pools.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asm/kvm_para.h>
#include <asm/pvclock-abi.h>
#include <linux/falloc.h>
#include <linux/sizes.h>

#include "kvm_util.h"
#include "numaif.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

/* The tools' linux/stddef.h, first on the include path, lacks this one. */
#ifndef __DECLARE_FLEX_ARRAY
#define __DECLARE_FLEX_ARRAY(type, name) struct { struct { } __empty_ ## name; type name[]; }
#endif
#include <linux/io_uring.h>
#include <linux/loop.h>

#define SIZE		SZ_4M
/* Above slot 0, which holds code, stacks and page tables. */
#define DATA_GPA	SZ_4G
#define DATA_SLOT	1
#define PATTERN		0xa5
#define UNKNOWN_FLAG	(1ULL << 63)

static const u64 no_direct_map = GUEST_MEMFD_FLAG_NO_DIRECT_MAP;
static const u64 shared = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;

static bool debug_pagealloc;

static bool vm_type_may_unmap(unsigned long type)
{
	return !debug_pagealloc &&
	       (type == VM_TYPE_DEFAULT || type == KVM_X86_SW_PROTECTED_VM);
}

/* Whether the kernel command line turns debug_pagealloc on (kstrtobool). */
static bool debug_pagealloc_on(void)
{
	char cmdline[4096], *arg;
	FILE *f = fopen("/proc/cmdline", "r");

	TEST_ASSERT(f && fgets(cmdline, sizeof(cmdline), f), "read /proc/cmdline");
	fclose(f);
	arg = strstr(cmdline, "debug_pagealloc=");
	if (!arg)
		return false;
	arg += strlen("debug_pagealloc=");
	return !strncasecmp(arg, "on", 2) || (*arg && strchr("1yYtT", *arg));
}

/* Every combination of the known flags and one unknown: taken iff offered. */
static void test_flags(unsigned long type)
{
	const u64 bits[] = { GUEST_MEMFD_FLAG_MMAP, GUEST_MEMFD_FLAG_INIT_SHARED,
			     no_direct_map, UNKNOWN_FLAG };
	struct kvm_vm *vm = vm_create_barebones_type(type);
	u64 offered = vm_check_cap(vm, KVM_CAP_GUEST_MEMFD_FLAGS);
	unsigned int combo, i;

	TEST_ASSERT(!!(offered & no_direct_map) == vm_type_may_unmap(type),
		    "VM type %lu offers flags %#lx", type, offered);

	for (combo = 0; combo < 1U << ARRAY_SIZE(bits); combo++) {
		u64 flags = 0;
		int fd;

		for (i = 0; i < ARRAY_SIZE(bits); i++)
			if (combo & BIT(i))
				flags |= bits[i];
		fd = __vm_create_guest_memfd(vm, SIZE, flags);
		if (!(flags & ~offered)) {
			TEST_ASSERT(fd >= 0, "flags %#lx refused on VM type %lu: %s",
				    flags, type, strerror(errno));
			close(fd);
		} else {
			TEST_ASSERT(fd < 0 && errno == EINVAL,
				    "flags %#lx on VM type %lu: fd %d, errno %d",
				    flags, type, fd, errno);
		}
	}
	kvm_vm_free(vm);
}

static void expect_bytes(const u8 *mem, size_t len, u8 value, const char *what)
{
	size_t i;

	for (i = 0; i < len; i++)
		TEST_ASSERT(mem[i] == value, "%s: byte %zu is %#x, not %#x",
			    what, i, mem[i], value);
}

/* The VMM's own mapping: fault, punch hole, fork, close while mapped. */
static void test_mapping(struct kvm_vm *vm)
{
	int fd = vm_create_guest_memfd(vm, SIZE, shared | no_direct_map);
	u8 *mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	pid_t child;
	int status;

	TEST_ASSERT(mem != MAP_FAILED, "mmap: %s", strerror(errno));
	expect_bytes(mem, SIZE, 0, "new memory");
	memset(mem, PATTERN, SIZE);

	TEST_ASSERT(!fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       0, SZ_1M), "punch hole: %s", strerror(errno));
	expect_bytes(mem, SZ_1M, 0, "punched hole");
	expect_bytes(mem + SZ_1M, SIZE - SZ_1M, PATTERN, "after the hole");

	child = fork();
	TEST_ASSERT(child >= 0, "fork: %s", strerror(errno));
	if (!child) {
		expect_bytes(mem + SZ_1M, SZ_4K, PATTERN, "in the child");
		memset(mem + SZ_2M, 0x11, SZ_4K);
		_exit(0);
	}
	TEST_ASSERT(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
		    !WEXITSTATUS(status), "child failed");
	expect_bytes(mem + SZ_2M, SZ_4K, 0x11, "written by the child");

	close(fd);
	expect_bytes(mem + SZ_1M, SZ_4K, PATTERN, "after close");
	munmap(mem, SIZE);
}

/* A loop device over a memfd, opened for O_DIRECT. */
static int open_direct_io_device(void)
{
	int control, backing, loop, nr, fd;
	char path[32];

	control = open("/dev/loop-control", O_RDWR);
	TEST_ASSERT(control >= 0, "open /dev/loop-control: %s", strerror(errno));
	nr = ioctl(control, LOOP_CTL_GET_FREE);
	TEST_ASSERT(nr >= 0, "LOOP_CTL_GET_FREE: %s", strerror(errno));
	close(control);

	backing = memfd_create("loop-backing", 0);
	TEST_ASSERT(backing >= 0 && !ftruncate(backing, SZ_1M), "memfd: %s", strerror(errno));
	snprintf(path, sizeof(path), "/dev/loop%d", nr);
	loop = open(path, O_RDWR);
	TEST_ASSERT(loop >= 0 && !ioctl(loop, LOOP_SET_FD, backing),
		    "attach %s: %s", path, strerror(errno));
	close(backing);
	fd = open(path, O_RDWR | O_DIRECT);
	TEST_ASSERT(fd >= 0, "open %s O_DIRECT: %s", path, strerror(errno));
	/* Detached when the last descriptor is closed. */
	TEST_ASSERT(!ioctl(loop, LOOP_SET_STATUS64, &(struct loop_info64){
				.lo_flags = LO_FLAGS_AUTOCLEAR }),
		    "LOOP_SET_STATUS64: %s", strerror(errno));
	close(loop);
	return fd;
}

/* Register @len bytes at @mem as an io_uring fixed buffer: 0 or -1/errno. */
static int register_io_uring_buffer(void *mem, size_t len)
{
	struct io_uring_params params = {};
	struct iovec iov = { .iov_base = mem, .iov_len = len };
	int ring, r;

	ring = syscall(__NR_io_uring_setup, 1, &params);
	TEST_ASSERT(ring >= 0, "io_uring_setup: %s", strerror(errno));
	r = syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS, &iov, 1);
	close(ring);
	return r;
}

/*
 * Each GUP path into @mem: -1 with the errno of a refusal when @refused,
 * else success. Returns how many paths were checked.
 */
static int check_gup(u8 *mem, bool refused, int direct_io_fd)
{
	struct iovec local, remote;
	char buf[SZ_4K];
	int pipefd[2], fd, checked = 0;
	ssize_t r;

	fd = open("/proc/self/mem", O_RDONLY);
	TEST_ASSERT(fd >= 0, "open /proc/self/mem: %s", strerror(errno));
	r = pread(fd, buf, sizeof(buf), (off_t)(unsigned long)mem);
	TEST_ASSERT(refused ? r < 0 && errno == EIO : r == sizeof(buf),
		    "/proc/self/mem: %zd (errno %d)", r, errno);
	close(fd);
	checked++;

	local = (struct iovec){ .iov_base = buf, .iov_len = sizeof(buf) };
	remote = (struct iovec){ .iov_base = mem, .iov_len = sizeof(buf) };
	r = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	TEST_ASSERT(refused ? r < 0 && errno == EFAULT : r == sizeof(buf),
		    "process_vm_readv: %zd (errno %d)", r, errno);
	checked++;

	TEST_ASSERT(!pipe(pipefd), "pipe: %s", strerror(errno));
	r = vmsplice(pipefd[1], &remote, 1, 0);
	TEST_ASSERT(refused ? r < 0 && errno == EFAULT : r == sizeof(buf),
		    "vmsplice: %zd (errno %d)", r, errno);
	close(pipefd[0]);
	close(pipefd[1]);
	checked++;

	r = register_io_uring_buffer(mem, sizeof(buf));
	TEST_ASSERT(refused ? r < 0 && errno == EFAULT : !r,
		    "io_uring fixed buffer: %zd (errno %d)", r, errno);
	checked++;

	r = pread(direct_io_fd, mem, sizeof(buf), 0);
	TEST_ASSERT(refused ? r < 0 && errno == EFAULT : r == sizeof(buf),
		    "O_DIRECT read into the mapping: %zd (errno %d)", r, errno);
	r = pwrite(direct_io_fd, mem, sizeof(buf), 0);
	TEST_ASSERT(refused ? r < 0 && errno == EFAULT : r == sizeof(buf),
		    "O_DIRECT write from the mapping: %zd (errno %d)", r, errno);
	checked++;
	return checked;
}

static void test_gup(struct kvm_vm *vm)
{
	u64 flags[] = { shared, shared | no_direct_map };
	int i, checked = 0, direct_io_fd = open_direct_io_device();

	for (i = 0; i < ARRAY_SIZE(flags); i++) {
		int fd = vm_create_guest_memfd(vm, SIZE, flags[i]);
		u8 *mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		TEST_ASSERT(mem != MAP_FAILED, "mmap: %s", strerror(errno));
		memset(mem, PATTERN, SIZE);
		checked = check_gup(mem, flags[i] & no_direct_map, direct_io_fd);
		munmap(mem, SIZE);
		close(fd);
	}
	close(direct_io_fd);
	printf("GUP paths checked: %d\n", checked);
}

/*
 * Without an mbind() on the guest_memfd, its pages follow the memory policy
 * of the task that allocates them: here, the one that faults them in.
 */
static void test_task_policy(struct kvm_vm *vm)
{
	int fd = vm_create_guest_memfd(vm, SIZE, shared | no_direct_map);
	u8 *mem = kvm_mmap(SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
	unsigned long node;
	void *page;
	int status;

	for (node = 0; node < 2; node++) {
		unsigned long nodemask = 1UL << node;

		page = mem + node * getpagesize();
		kvm_set_mempolicy(MPOL_BIND, &nodemask, BITS_PER_LONG);
		memset(page, PATTERN, getpagesize());
		kvm_set_mempolicy(MPOL_DEFAULT, NULL, 0);
		kvm_move_pages(0, 1, &page, NULL, &status, 0);
		TEST_ASSERT(status == node, "page allocated under MPOL_BIND to node %lu is on node %d",
			    node, status);
	}
	kvm_munmap(mem, SIZE);
	close(fd);
	printf("task policy: honoured on nodes 0 and 1\n");
}

static void guest_kvmclock(gpa_t gpa)
{
	struct pvclock_vcpu_time_info *pvti = (void *)gpa;

	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, gpa | KVM_MSR_ENABLED);
	/* KVM writes the clock on the entry after the exit. */
	GUEST_SYNC(0);
	GUEST_ASSERT(pvti->version && !(pvti->version & 1));
	GUEST_ASSERT(pvti->tsc_to_system_mul);
	GUEST_DONE();
}

/*
 * The start of the first vmalloc area that @caller mapped, or 0. With
 * kptr_restrict 0, /proc/vmallocinfo hashes the addresses; with 1 it shows
 * them to a reader with CAP_SYSLOG.
 */
static unsigned long vmalloc_area_of(const char *caller)
{
	const char *restrict_path = "/proc/sys/kernel/kptr_restrict";
	unsigned long start = 0, end;
	char line[512], old[16] = "";
	FILE *f = fopen(restrict_path, "r+");

	TEST_ASSERT(f && fgets(old, sizeof(old), f), "read %s", restrict_path);
	TEST_ASSERT(fseek(f, 0, SEEK_SET) == 0 && fputs("1\n", f) >= 0 && !fflush(f),
		    "write %s: %s", restrict_path, strerror(errno));
	fclose(f);

	f = fopen("/proc/vmallocinfo", "r");
	TEST_ASSERT(f, "open /proc/vmallocinfo: %s", strerror(errno));
	while (!start && fgets(line, sizeof(line), f))
		if (strstr(line, caller) && sscanf(line, "%lx-%lx", &start, &end) != 2)
			start = 0;
	fclose(f);

	f = fopen(restrict_path, "w");
	TEST_ASSERT(f && fputs(old, f) >= 0 && !fclose(f), "restore %s", restrict_path);
	return start;
}

/* The offset in /proc/kcore of kernel address @addr, from its ELF headers. */
static off_t kcore_offset(int kcore, unsigned long addr)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int i;

	TEST_ASSERT(pread(kcore, &eh, sizeof(eh), 0) == sizeof(eh), "read kcore ELF header");
	for (i = 0; i < eh.e_phnum; i++) {
		TEST_ASSERT(pread(kcore, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph)) == sizeof(ph),
			    "read kcore program header %d", i);
		if (ph.p_type == PT_LOAD && addr >= ph.p_vaddr &&
		    addr - ph.p_vaddr < ph.p_memsz)
			return ph.p_offset + addr - ph.p_vaddr;
	}
	TEST_FAIL("%#lx is in no segment of /proc/kcore", addr);
	return 0;
}

/*
 * /proc/kcore read at KVM's vmap() alias of a NO_DIRECT_MAP page must
 * return (vread_iter() copies through the direct map), and show no guest
 * data. The read runs in a child: a kernel that loops cannot be stopped.
 */
static void test_kcore_alias(void)
{
	unsigned long alias = vmalloc_area_of("kvm_map_pfn");
	int kcore = open("/proc/kcore", O_RDONLY);
	int status, i;
	off_t offset;
	pid_t pid;

	if (kcore < 0 || !alias) {
		printf("kcore read at KVM's alias not tested: %s\n",
		       kcore < 0 ? strerror(errno) : "no kvm_map_pfn area in /proc/vmallocinfo");
		return;
	}
	offset = kcore_offset(kcore, alias);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		u8 buf[4096];
		size_t j;

		if (pread(kcore, buf, sizeof(buf), offset) != sizeof(buf))
			_exit(2);
		for (j = 0; j < sizeof(buf); j++)
			if (buf[j])
				_exit(3);
		_exit(0);
	}
	for (i = 0; i < 100 && !waitpid(pid, &status, WNOHANG); i++)
		usleep(100 * 1000);
	TEST_ASSERT(i < 100, "reading /proc/kcore at KVM's alias %#lx did not return in 10 s",
		    alias);
	TEST_ASSERT(WIFEXITED(status) && !WEXITSTATUS(status),
		    "/proc/kcore at KVM's alias %#lx: status %#x (2: short read, 3: data shown)",
		    alias, status);
	close(kcore);
	printf("kcore read at KVM's alias %#lx: returned zeroes\n", alias);
}

/* kvmclock in NO_DIRECT_MAP memory: KVM writes it through a pfn cache. */
static void test_kvmclock(void)
{
	struct pvclock_vcpu_time_info *pvti;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	void *mem;
	int fd;

	vm = vm_create_with_one_vcpu(&vcpu, guest_kvmclock);
	fd = vm_create_guest_memfd(vm, SIZE, shared | no_direct_map);
	mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	TEST_ASSERT(mem != MAP_FAILED, "mmap: %s", strerror(errno));
	vm_set_user_memory_region2(vm, DATA_SLOT, KVM_MEM_GUEST_MEMFD, DATA_GPA,
				   SIZE, mem, fd, 0);
	virt_map(vm, DATA_GPA, DATA_GPA, SIZE / vm->page_size);
	vcpu_args_set(vcpu, 1, DATA_GPA);

	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC);
	vcpu_run(vcpu);
	if (get_ucall(vcpu, &uc) == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	TEST_ASSERT_EQ(uc.cmd, UCALL_DONE);

	pvti = mem;
	printf("kvmclock version %u tsc_to_system_mul %u\n", pvti->version,
	       pvti->tsc_to_system_mul);
	/* The pfn cache keeps its alias while the VM lives. */
	test_kcore_alias();
	kvm_vm_free(vm);
	munmap(mem, SIZE);
	close(fd);
}

/* Enable kvmclock, then report the version the guest sees, for ever. */
static void guest_report_kvmclock(gpa_t gpa)
{
	struct pvclock_vcpu_time_info *pvti = (void *)gpa;

	wrmsr(MSR_KVM_SYSTEM_TIME_NEW, gpa | KVM_MSR_ENABLED);
	for (;;)
		GUEST_SYNC(READ_ONCE(pvti->version));
}

static u32 run_to_sync(struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, &uc), UCALL_SYNC);
	return uc.args[1];
}

/*
 * kvmclock in a guest_memfd-only slot whose userspace_addr is not the
 * guest_memfd's own mmap but an anonymous mapping. Which of the two KVM's
 * pfn cache writes tells which path it took: for NO_DIRECT_MAP the page
 * KVM gets from guest_memfd (the one the guest sees), mapped with vmap();
 * for any other guest_memfd the VMM's mapping, through GUP and the direct
 * map, as KVM has always done. For NO_DIRECT_MAP, a hole punched under the
 * clock then drops KVM's page too: after KVM_SET_CLOCK the guest sees the
 * clock written again in the page it faults in anew.
 */
static void test_kvmclock_hva_apart(u64 flags)
{
	bool from_gmem = flags & no_direct_map;
	struct pvclock_vcpu_time_info *in_gmem, *in_anon;
	struct kvm_clock_data clock = {};
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	u8 *gmem, *anon;
	u32 version;
	int fd;

	vm = vm_create_with_one_vcpu(&vcpu, guest_report_kvmclock);
	fd = vm_create_guest_memfd(vm, SIZE, flags);
	gmem = kvm_mmap(SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
	anon = kvm_mmap(SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1);
	vm_set_user_memory_region2(vm, DATA_SLOT, KVM_MEM_GUEST_MEMFD, DATA_GPA,
				   SIZE, anon, fd, 0);
	virt_map(vm, DATA_GPA, DATA_GPA, SIZE / vm->page_size);
	vcpu_args_set(vcpu, 1, DATA_GPA);

	/* KVM writes the clock on the entry after the MSR's exit. */
	run_to_sync(vcpu);
	run_to_sync(vcpu);

	in_gmem = (void *)gmem;
	in_anon = (void *)anon;
	TEST_ASSERT(!!in_gmem->version == from_gmem && !!in_anon->version == !from_gmem,
		    "guest_memfd flags %#lx: kvmclock version %u in the guest_memfd, %u at userspace_addr",
		    flags, in_gmem->version, in_anon->version);
	printf("kvmclock, guest_memfd flags %#lx, userspace_addr apart: written through %s\n",
	       flags, from_gmem ? "guest_memfd (vmap)" : "userspace_addr (GUP)");

	if (from_gmem) {
		TEST_ASSERT(!fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
				       getpagesize()), "punch the clock's page: %s", strerror(errno));
		vm_ioctl(vm, KVM_SET_CLOCK, &clock);
		version = run_to_sync(vcpu);
		TEST_ASSERT(version && !(version & 1),
			    "kvmclock version %u after its page was punched and the clock set",
			    version);
		printf("kvmclock after a hole punched under it: version %u\n", version);
	}
	kvm_vm_free(vm);
	kvm_munmap(anon, SIZE);
	kvm_munmap(gmem, SIZE);
	close(fd);
}

int main(void)
{
	unsigned long types = kvm_check_cap(KVM_CAP_VM_TYPES) ?: BIT(VM_TYPE_DEFAULT);
	unsigned long type;
	struct kvm_vm *vm;

	debug_pagealloc = debug_pagealloc_on();
	TEST_REQUIRE(debug_pagealloc ||
		     kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS) & no_direct_map);
	for (type = 0; type < BITS_PER_TYPE(types); type++)
		if (types & BIT(type))
			test_flags(type);
	if (debug_pagealloc) {
		printf("debug_pagealloc=on: NO_DIRECT_MAP not offered, and refused\n");
		return 0;
	}

	vm = vm_create_barebones();
	test_mapping(vm);
	test_gup(vm);
	if (is_multi_numa_node_system())
		test_task_policy(vm);
	else
		printf("one NUMA node: task policy not tested\n");
	kvm_vm_free(vm);

	if (kvm_cpu_has(X86_FEATURE_KVM_CLOCKSOURCE2)) {
		test_kvmclock();
		test_kvmclock_hva_apart(shared);
		test_kvmclock_hva_apart(shared | no_direct_map);
	} else
		printf("kvmclock not offered: not tested\n");
	return 0;
}
