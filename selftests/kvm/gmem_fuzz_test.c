// SPDX-License-Identifier: GPL-2.0-only
/*
 * A bounded random fuzzer of the guest_memfd and memslot uAPI, with
 * GUEST_MEMFD_FLAG_NO_DIRECT_MAP among the flags. Each iteration picks one
 * operation on a few live objects (VMs of the offered types, guest_memfds,
 * their mappings, memslots): create and close in any order, fallocate, the
 * fd calls guest_memfd does not implement, mmap, munmap, touch, GUP and the
 * kernel's user copies on the mappings, madvise, mlock, mprotect, mremap and
 * fork on them, memslot create, move and delete, memory attributes, memory
 * compaction, and KVM_RUN of a guest that reads and writes a NO_DIRECT_MAP
 * page, alone or against a second thread that punches holes in its memory
 * or releases it. A model of the objects predicts the outcome of each call,
 * success or one errno, from the checks the kernel makes, and the contents
 * of every page written; any difference fails the test.
 *
 * Directed tests check the sequences their authors thought of; this checks
 * the others: a memslot whose guest_memfd was released, a mapping that
 * outlives its descriptor and its VM, a punch under a running guest. A run
 * is reproducible from the seed it prints first (but for where the races
 * land): -s SEED replays it, -v prints each operation and its outcome.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/falloc.h>
#include <linux/sizes.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

#define MAX_VMS		3
#define MAX_GMEMS	8
#define MAX_MAPS	8
/* The memslot ids the model tracks: 0-7 in address space 0, 0-3 in 1. */
#define NR_AS0_IDS	8
#define NR_AS1_IDS	4
#define NR_SLOT_IDS	(NR_AS0_IDS + NR_AS1_IDS)
/* Only this much at the start of a guest_memfd is ever allocated. */
#define WINDOW		SZ_16M
#define WINDOW_PAGES	(WINDOW / PAGE_SIZE)
#define MAX_MAP_PAGES	512
/* KVM_MEM_MAX_NR_PAGES: the most pages a memslot may have. */
#define SLOT_MAX_PAGES	((1UL << 31) - 1)
/* Valid memslots stay this small: KVM allocates their metadata up front. */
#define MAX_SLOT_SIZE	SZ_1G
/* Plain memslots point into a reservation this large. */
#define HVA_POOL_SIZE	(2ULL * SZ_1G)
/* access_ok() with 4-level paging; the bad addresses are bad with 5 too. */
#define USER_END	((1ULL << 47) - PAGE_SIZE)
#define RUNNER_GPA	SZ_4G
#define RUNNER_SIZE	SZ_2M
#define RUNNER_PAGES	(RUNNER_SIZE / PAGE_SIZE)
#define RUNNER_SLOT	1
#define RACE_MAX_CMDS	16
/* Never an open descriptor here. */
#define BAD_FD		1000
#define HISTORY		32
/* Outcomes: 0 for success, -errno, or a SIGBUS from touching a page. */
#define RESULT_SIGBUS	(-EHWPOISON - 1)
#define NR_RESULTS	(-RESULT_SIGBUS + 1)
/* A page that holds more than one byte value. */
#define MIXED		0x100

#define NO_DIRECT_MAP	GUEST_MEMFD_FLAG_NO_DIRECT_MAP
#define FALLOC_MODES	(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE |		\
			 FALLOC_FL_ZERO_RANGE | FALLOC_FL_INSERT_RANGE |		\
			 FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_WRITE_ZEROES)

enum op {
	OP_VM_CREATE,
	OP_VM_CLOSE,
	OP_GMEM_CREATE,
	OP_GMEM_CLOSE,
	OP_FALLOCATE,
	OP_MMAP,
	OP_MUNMAP,
	OP_TOUCH,
	OP_GUP,
	OP_FD_IO,
	OP_MEMSLOT,
	OP_ATTRIBUTES,
	OP_VMA,
	OP_FORK,
	OP_RUN,
	OP_RACE,
	OP_COMPACT,
	NR_OPS,
};

static const char * const op_names[NR_OPS] = {
	[OP_VM_CREATE]		= "vm_create",
	[OP_VM_CLOSE]		= "vm_close",
	[OP_GMEM_CREATE]	= "gmem_create",
	[OP_GMEM_CLOSE]		= "gmem_close",
	[OP_FALLOCATE]		= "fallocate",
	[OP_MMAP]		= "mmap",
	[OP_MUNMAP]		= "munmap",
	[OP_TOUCH]		= "touch",
	[OP_GUP]		= "gup",
	[OP_FD_IO]		= "fd_io",
	[OP_MEMSLOT]		= "memslot",
	[OP_ATTRIBUTES]		= "attributes",
	[OP_VMA]		= "vma",
	[OP_FORK]		= "fork",
	[OP_RUN]		= "run",
	[OP_RACE]		= "race",
	[OP_COMPACT]		= "compact",
};

/* How often each operation comes, relative to the others. */
static const unsigned int op_weights[NR_OPS] = {
	[OP_VM_CREATE]		= 30,
	[OP_VM_CLOSE]		= 20,
	[OP_GMEM_CREATE]	= 80,
	[OP_GMEM_CLOSE]		= 40,
	[OP_FALLOCATE]		= 120,
	[OP_MMAP]		= 80,
	[OP_MUNMAP]		= 50,
	[OP_TOUCH]		= 200,
	[OP_GUP]		= 100,
	[OP_FD_IO]		= 30,
	[OP_MEMSLOT]		= 200,
	[OP_ATTRIBUTES]		= 60,
	[OP_VMA]		= 80,
	[OP_FORK]		= 10,
	[OP_RUN]		= 80,
	[OP_RACE]		= 10,
	[OP_COMPACT]		= 1,
};

struct fgmem;

struct fslot {
	bool used;
	u32 flags;
	u64 gpa;
	u64 size;
	u64 uaddr;
	/* The guest_memfd bound, NULL once released. */
	struct fgmem *gmem;
	u64 offset;
};

struct fvm {
	struct kvm_vm *vm;		/* NULL once closed */
	unsigned long type;
	u64 gmem_flags;			/* KVM_CAP_GUEST_MEMFD_FLAGS */
	u64 attributes;			/* KVM_CAP_MEMORY_ATTRIBUTES */
	u32 nr_as;			/* KVM_CAP_MULTI_ADDRESS_SPACE */
	bool gmem_dirty_log;		/* KVM_CAP_GUEST_MEMFD_DIRTY_LOG */
	struct fslot slots[NR_SLOT_IDS];
};

/* A guest_memfd: its file lives while a descriptor or a mapping holds it. */
struct fgmem {
	bool used;
	int fd;				/* -1 once closed */
	struct fvm *vm;			/* NULL once its VM is closed */
	u64 size;
	u64 flags;
	int nr_maps;
	u8 data[WINDOW_PAGES];		/* the byte each page is filled with */
};

struct fmap {
	u8 *addr;			/* NULL if free */
	u64 len;
	u64 offset;
	bool writable;
	struct fgmem *gmem;
};

/* What the runner's guest does next with a page of its guest_memfd. */
struct guest_cmd {
	u64 gpa;
	u64 value;
	bool write;
};

static struct guest_cmd guest_cmd;

/*
 * A VM with one vCPU and a NO_DIRECT_MAP guest_memfd in slot RUNNER_SLOT,
 * mapped like any other. Once the fuzzer has closed and unmapped it, KVM_RUN
 * fails until a new one is bound; the guest then finishes the command that
 * failure interrupted. Where KVM offers it, the memslot's dirty logging is
 * turned on and off at random, and the guest's writes must show in the log.
 */
static struct {
	struct fvm fvm;
	struct kvm_vcpu *vcpu;
	struct fgmem *gmem;		/* NULL once released */
	u8 *uaddr;			/* the memslot's userspace_addr */
	bool log_dirty;
	/* The pages the guest accessed since the dirty log was last read. */
	unsigned long accessed[RUNNER_PAGES / BITS_PER_LONG];
	bool pending;
	/* The release came in the middle of the pending command. */
	bool interrupted;
} runner;

static struct fvm vms[MAX_VMS];
static struct fgmem gmems[MAX_GMEMS];
static struct fmap maps[MAX_MAPS];

static unsigned long vm_types[2];
static unsigned int nr_vm_types;
static unsigned long offered_vm_types;
static u32 nr_user_slots;
static u64 max_gpa;
static int kvm_fd, proc_mem_fd, compact_fd;
static u8 *hva_pool;
static u8 buf[PAGE_SIZE];

static u64 seed, rng_state;
static unsigned long iteration;
static bool verbose;
static enum op cur_op;
static char history[HISTORY][256];
static unsigned long nr_results[NR_OPS][NR_RESULTS];
static unsigned long nr_skipped[NR_OPS];

static void dump_history(void)
{
	unsigned long i = iteration >= HISTORY ? iteration - HISTORY + 1 : 0;

	fprintf(stderr, "seed %lu, last operations:\n", seed);
	for (; i <= iteration; i++)
		fprintf(stderr, "  %s\n", history[i % HISTORY]);
}

#define fuzz_assert(cond, fmt, ...)						\
do {										\
	if (!(cond)) {								\
		dump_history();							\
		TEST_FAIL("seed %lu, %s: " fmt, seed,				\
			  history[iteration % HISTORY], ##__VA_ARGS__);		\
	}									\
} while (0)

/* Describe the current operation, for -v and for a failure's history. */
static void __printf(1, 2) log_op(const char *fmt, ...)
{
	char *line = history[iteration % HISTORY];
	size_t len = strlen(line);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line + len, sizeof(history[0]) - len, fmt, ap);
	va_end(ap);
	if (verbose)
		printf("%s\n", line);
}

static void skip(void)
{
	log_op(" skipped");
	nr_skipped[cur_op]++;
}

/* xorshift64*: the whole run follows from the seed. */
static u64 rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static u64 rnd_below(u64 n)
{
	return n ? rnd() % n : 0;
}

static bool chance(unsigned int percent)
{
	return rnd_below(100) < percent;
}

/* A random element of @array for which @cond holds of @it, or NULL. */
#define pick(array, it, cond)							\
({										\
	typeof(&(array)[0]) it, __found = NULL;					\
	unsigned long __n = 0;							\
										\
	for (it = (array); it < (array) + ARRAY_SIZE(array); it++)		\
		if ((cond) && !rnd_below(++__n))				\
			__found = it;						\
	__found;								\
})

/* The first element of @array for which @cond holds of @it, or NULL. */
#define first(array, it, cond)							\
({										\
	typeof(&(array)[0]) it, __found = NULL;					\
										\
	for (it = (array); it < (array) + ARRAY_SIZE(array); it++)		\
		if (cond) {							\
			__found = it;						\
			break;							\
		}								\
	__found;								\
})

static const char *result_name(int result)
{
	if (!result)
		return "success";
	if (result == RESULT_SIGBUS)
		return "SIGBUS";
	return strerrorname_np(-result) ?: "an unknown errno";
}

/* Compare the outcome of @call with the model's prediction, and count it. */
static void check(const char *call, int expected, int result)
{
	fuzz_assert(result == expected, "%s: expected %s, got %s", call,
		    result_name(expected), result_name(result));
	nr_results[cur_op][-result]++;
	if (verbose)
		printf("  %s: %s\n", call, result_name(result));
}

static int outcome(long ret)
{
	return ret < 0 ? -errno : 0;
}

static int page_value(const u8 *page)
{
	int i;

	for (i = 1; i < PAGE_SIZE; i++)
		if (page[i] != page[0])
			return MIXED;
	return page[0];
}

/*
 * Fill the page at @addr with @value, or read the value filling it into
 * @seen. Returns 0, or RESULT_SIGBUS if the page's fault raised SIGBUS.
 */
static int access_page(u8 *addr, bool write, u8 value, int *seen)
{
	struct sigaction sa_old, sa_new = { .sa_handler = expect_sigbus_handler };
	int result = 0;

	sigaction(SIGBUS, &sa_new, &sa_old);
	if (!sigsetjmp(expect_sigbus_jmpbuf, 1)) {
		if (write)
			memset(addr, value, PAGE_SIZE);
		else
			*seen = page_value(addr);
	} else {
		result = RESULT_SIGBUS;
	}
	sigaction(SIGBUS, &sa_old, NULL);
	return result;
}

/* Whether the VMM's mapping of page @index of @g faults in or raises SIGBUS. */
static bool page_faultable(struct fgmem *g, u64 index)
{
	return (g->flags & GUEST_MEMFD_FLAG_INIT_SHARED) && index < g->size / PAGE_SIZE;
}

/* The index in its file of page @page of mapping @m. */
static u64 file_index(struct fmap *m, u64 page)
{
	return m->offset / PAGE_SIZE + page;
}

static int nr_free_gmems(void)
{
	int i, n = 0;

	for (i = 0; i < MAX_GMEMS; i++)
		n += !gmems[i].used;
	return n;
}

static struct fgmem *new_gmem(int fd, struct fvm *v, u64 size, u64 flags)
{
	struct fgmem *g = first(gmems, it, !it->used);

	TEST_ASSERT(g, "no free guest_memfd record");
	memset(g, 0, sizeof(*g));
	g->used = true;
	g->fd = fd;
	g->vm = v;
	g->size = size;
	g->flags = flags;
	return g;
}

/*
 * Release @g once neither its descriptor nor a mapping holds its file:
 * kvm_gmem_release() unbinds it from its memslots, which stay.
 */
static void put_gmem(struct fgmem *g)
{
	struct fslot *s;

	if (g->fd >= 0 || g->nr_maps)
		return;
	if (g->vm)
		for (s = g->vm->slots; s < g->vm->slots + NR_SLOT_IDS; s++)
			if (s->gmem == g)
				s->gmem = NULL;
	if (g == runner.gmem)
		runner.gmem = NULL;
	g->used = false;
}

static void op_vm_create(void)
{
	struct fvm *v = first(vms, it, !it->vm);
	unsigned long type;
	int fd;

	if (chance(10)) {
		do
			type = rnd_below(32);
		while (offered_vm_types & BIT(type));
		log_op(" type %lu, not offered", type);
		fd = ioctl(kvm_fd, KVM_CREATE_VM, type);
		check("KVM_CREATE_VM", -EINVAL, outcome(fd));
		return;
	}
	if (!v)
		return skip();

	type = vm_types[rnd_below(nr_vm_types)];
	log_op(" vm%ld type %lu", v - vms, type);
	memset(v, 0, sizeof(*v));
	v->vm = vm_create_barebones_type(type);
	v->type = type;
	v->gmem_flags = vm_check_cap(v->vm, KVM_CAP_GUEST_MEMFD_FLAGS);
	v->attributes = vm_check_cap(v->vm, KVM_CAP_MEMORY_ATTRIBUTES);
	v->nr_as = vm_check_cap(v->vm, KVM_CAP_MULTI_ADDRESS_SPACE);
	v->gmem_dirty_log = vm_check_cap(v->vm, KVM_CAP_GUEST_MEMFD_DIRTY_LOG);
	fuzz_assert(v->gmem_flags & NO_DIRECT_MAP, "VM type %lu offers guest_memfd flags %#lx",
		    type, v->gmem_flags);
	/* Only a VM type without private memory can log guest_memfd pages. */
	fuzz_assert(v->gmem_dirty_log == (type == VM_TYPE_DEFAULT),
		    "VM type %lu: KVM_CAP_GUEST_MEMFD_DIRTY_LOG is %d", type, v->gmem_dirty_log);
	check("KVM_CREATE_VM", 0, 0);
}

/* Close a VM: its guest_memfds stay, and keep KVM's struct kvm alive. */
static void op_vm_close(void)
{
	struct fvm *v = pick(vms, it, it->vm);
	struct fgmem *g;

	if (!v)
		return skip();
	log_op(" vm%ld", v - vms);
	kvm_vm_free(v->vm);
	v->vm = NULL;
	for (g = gmems; g < gmems + MAX_GMEMS; g++)
		if (g->used && g->vm == v)
			g->vm = NULL;
	check("close", 0, 0);
}

static u64 random_gmem_size(void)
{
	switch (rnd_below(12)) {
	case 0:
		return 0;
	case 1:
		return rnd_below(WINDOW) | 1;
	case 2:
		return 1ULL << (32 + rnd_below(31));
	case 3:
		return LLONG_MAX & ~(PAGE_SIZE - 1);
	case 4:
		return -PAGE_SIZE * (1 + rnd_below(16));
	case 5:
		return RUNNER_SIZE;
	default:
		return PAGE_SIZE * (1 + rnd_below(WINDOW_PAGES));
	}
}

static u64 random_gmem_flags(void)
{
	u64 flags = 0;

	if (chance(70))
		flags |= NO_DIRECT_MAP;
	if (chance(70))
		flags |= GUEST_MEMFD_FLAG_MMAP;
	if (chance(60))
		flags |= GUEST_MEMFD_FLAG_INIT_SHARED;
	if (chance(5))
		flags |= 1ULL << (3 + rnd_below(61));
	return flags;
}

static void op_gmem_create(void)
{
	struct fvm *v = pick(vms, it, it->vm);
	u64 size = random_gmem_size(), flags = random_gmem_flags();
	int fd, expected = 0;

	/* One record stays free for the runner to bind a new guest_memfd. */
	if (!v || nr_free_gmems() < 2)
		return skip();
	if (flags & ~v->gmem_flags || (s64)size <= 0 || size % PAGE_SIZE)
		expected = -EINVAL;
	log_op(" vm%ld size %#lx flags %#lx", v - vms, size, flags);
	fd = __vm_create_guest_memfd(v->vm, size, flags);
	check("KVM_CREATE_GUEST_MEMFD", expected, outcome(fd));
	if (fd >= 0)
		new_gmem(fd, v, size, flags);
}

static void op_gmem_close(void)
{
	struct fgmem *g = pick(gmems, it, it->used && it->fd >= 0);

	if (!g)
		return skip();
	log_op(" gmem%ld fd %d, %d mappings%s", g - gmems, g->fd, g->nr_maps,
	       g == runner.gmem ? " (the runner's)" : "");
	check("close", 0, outcome(close(g->fd)));
	g->fd = -1;
	put_gmem(g);
}

static s64 random_file_offset(struct fgmem *g)
{
	switch (rnd_below(16)) {
	case 0:
		return -PAGE_SIZE * (1 + rnd_below(4));
	case 1:
		return rnd_below(WINDOW) | 1;
	case 2:
		return g->size + PAGE_SIZE * (rnd_below(9) - 4);
	case 3:
		return 1LL << (40 + rnd_below(23));
	default:
		return PAGE_SIZE * rnd_below(WINDOW_PAGES);
	}
}

static s64 random_file_length(void)
{
	switch (rnd_below(16)) {
	case 0:
		return 0;
	case 1:
		return -PAGE_SIZE;
	case 2:
		return 1 + rnd_below(4 * PAGE_SIZE);
	case 3:
		return LLONG_MAX & ~(PAGE_SIZE - 1);
	case 4:
		return 1LL << (30 + rnd_below(33));
	default:
		return PAGE_SIZE * (1 + rnd_below(256));
	}
}

/* vfs_fallocate()'s checks, then kvm_gmem_fallocate()'s. */
static int fallocate_expect(struct fgmem *g, int mode, s64 offset, s64 len)
{
	s64 end;

	if (offset < 0 || len <= 0)
		return -EINVAL;
	if (mode & ~(FALLOC_MODES | FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	switch (mode & FALLOC_MODES) {
	case 0:
	case FALLOC_FL_UNSHARE_RANGE:
	case FALLOC_FL_ZERO_RANGE:
		break;
	case FALLOC_FL_PUNCH_HOLE:
		if (!(mode & FALLOC_FL_KEEP_SIZE))
			return -EOPNOTSUPP;
		break;
	case FALLOC_FL_COLLAPSE_RANGE:
	case FALLOC_FL_INSERT_RANGE:
	case FALLOC_FL_WRITE_ZEROES:
		if (mode & FALLOC_FL_KEEP_SIZE)
			return -EOPNOTSUPP;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (__builtin_add_overflow(offset, len, &end))
		return -EFBIG;
	if (mode != FALLOC_FL_KEEP_SIZE && mode != (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	if (offset % PAGE_SIZE || len % PAGE_SIZE)
		return -EINVAL;
	if (mode == FALLOC_FL_KEEP_SIZE && end > (s64)g->size)
		return -EINVAL;
	return 0;
}

static void op_fallocate(void)
{
	static const int odd_modes[] = {
		0, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_KEEP_SIZE | FALLOC_FL_ZERO_RANGE,
		FALLOC_FL_KEEP_SIZE | FALLOC_FL_UNSHARE_RANGE, FALLOC_FL_COLLAPSE_RANGE,
		FALLOC_FL_KEEP_SIZE | FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE,
		FALLOC_FL_WRITE_ZEROES, FALLOC_FL_KEEP_SIZE | FALLOC_FL_NO_HIDE_STALE,
		FALLOC_FL_KEEP_SIZE | 0x100,
	};
	struct fgmem *g = pick(gmems, it, it->used && it->fd >= 0);
	int mode, fd, expected;
	s64 offset, len;
	u64 i, end;

	if (!g)
		return skip();
	if (chance(90))
		mode = FALLOC_FL_KEEP_SIZE | (chance(50) ? FALLOC_FL_PUNCH_HOLE : 0);
	else
		mode = odd_modes[rnd_below(ARRAY_SIZE(odd_modes))];
	offset = random_file_offset(g);
	len = random_file_length();
	expected = fallocate_expect(g, mode, offset, len);
	/* Allocate only in the window, to bound the memory used. */
	if (!expected && mode == FALLOC_FL_KEEP_SIZE && offset + len > WINDOW) {
		len = PAGE_SIZE * (1 + rnd_below(64));
		offset = PAGE_SIZE * rnd_below(WINDOW_PAGES - 64);
		expected = fallocate_expect(g, mode, offset, len);
	}
	fd = g->fd;
	if (chance(3)) {
		fd = BAD_FD;
		expected = -EBADF;
	}
	log_op(" gmem%ld fd %d mode %#x offset %#lx len %#lx", g - gmems, fd, mode, offset, len);
	check("fallocate", expected, outcome(fallocate(fd, mode, offset, len)));
	if (expected || !(mode & FALLOC_FL_PUNCH_HOLE))
		return;
	end = min_t(u64, ((offset + len) / PAGE_SIZE), WINDOW_PAGES);
	for (i = offset / PAGE_SIZE; i < end; i++)
		g->data[i] = 0;
}

static void op_mmap(void)
{
	struct fgmem *g = pick(gmems, it, it->used && it->fd >= 0);
	struct fmap *m = first(maps, it, !it->addr);
	u64 pages = 1 + rnd_below(MAX_MAP_PAGES), first_page, offset;
	int prot = PROT_READ | PROT_WRITE, flags = MAP_SHARED, expected = 0;
	u8 *addr;

	if (!g || !m)
		return skip();
	/* Mostly inside the file, often across its end, where faults raise SIGBUS. */
	first_page = rnd_below(WINDOW_PAGES - pages + 1);
	if (g->size < WINDOW && chance(85)) {
		first_page = g->size / PAGE_SIZE;
		if (chance(70))
			pages = min_t(u64, pages, first_page);
		first_page -= min_t(u64, first_page, pages - 1 + rnd_below(pages));
		first_page = min_t(u64, first_page, WINDOW_PAGES - pages);
	}
	offset = first_page * PAGE_SIZE;
	if (chance(5))
		offset += 1 + rnd_below(PAGE_SIZE - 1);
	if (chance(15))
		prot = PROT_READ;
	else if (chance(5))
		prot |= PROT_EXEC;
	if (chance(10))
		flags = MAP_PRIVATE;

	if (offset % PAGE_SIZE)
		expected = -EINVAL;
	else if (prot & PROT_EXEC)
		expected = -EPERM;	/* guest_memfd's mount is noexec */
	else if (!(g->flags & GUEST_MEMFD_FLAG_MMAP))
		expected = -ENODEV;
	else if (flags & MAP_PRIVATE)
		expected = -EINVAL;
	log_op(" gmem%ld fd %d offset %#lx len %#lx prot %#x flags %#x", g - gmems, g->fd,
	       offset, (u64)(pages * PAGE_SIZE), prot, flags);
	addr = mmap(NULL, pages * PAGE_SIZE, prot, flags, g->fd, offset);
	check("mmap", expected, addr == MAP_FAILED ? -errno : 0);
	if (addr == MAP_FAILED)
		return;
	m->addr = addr;
	m->len = pages * PAGE_SIZE;
	m->offset = offset;
	m->writable = prot & PROT_WRITE;
	m->gmem = g;
	g->nr_maps++;
}

/* Unmap a mapping, or its tail: the last unmap of a closed guest_memfd releases it. */
static void op_munmap(void)
{
	struct fmap *m = pick(maps, it, it->addr);
	u64 keep = 0;

	if (!m)
		return skip();
	if (m->len > PAGE_SIZE && chance(25))
		keep = PAGE_SIZE * (1 + rnd_below(m->len / PAGE_SIZE - 1));
	log_op(" map%ld of gmem%ld at %p: %#lx of %#lx bytes", m - maps, m->gmem - gmems,
	       m->addr, m->len - keep, m->len);
	check("munmap", 0, outcome(munmap(m->addr + keep, m->len - keep)));
	m->len = keep;
	if (keep)
		return;
	m->addr = NULL;
	m->gmem->nr_maps--;
	put_gmem(m->gmem);
}

/* Read or write a page through a mapping: SIGBUS exactly where expected. */
static void op_touch(void)
{
	struct fmap *m = pick(maps, it, it->addr);
	u64 page, index;
	int seen, result;
	bool write;
	u8 value;

	if (!m)
		return skip();
	page = rnd_below(m->len / PAGE_SIZE);
	index = file_index(m, page);
	write = m->writable && chance(50);
	value = rnd();
	log_op(" map%ld of gmem%ld (flags %#lx size %#lx): %s page %lu", m - maps,
	       m->gmem - gmems, m->gmem->flags, m->gmem->size, write ? "write" : "read", index);
	result = access_page(m->addr + page * PAGE_SIZE, write, value, &seen);
	check(write ? "write" : "read", page_faultable(m->gmem, index) ? 0 : RESULT_SIGBUS, result);
	if (result)
		return;
	if (write)
		m->gmem->data[index] = value;
	else
		fuzz_assert(seen == m->gmem->data[index], "page %lu holds %#x, not %#x", index,
			    seen, m->gmem->data[index]);
}

enum access {
	GUP_PROC_READ,
	GUP_PROC_WRITE,
	GUP_VM_READ,
	GUP_VM_WRITE,
	COPY_OUT,
	COPY_IN,
	NR_ACCESSES,
};

static const char * const access_names[NR_ACCESSES] = {
	[GUP_PROC_READ]		= "/proc/self/mem read",
	[GUP_PROC_WRITE]	= "/proc/self/mem write",
	[GUP_VM_READ]		= "process_vm_readv",
	[GUP_VM_WRITE]		= "process_vm_writev",
	[COPY_OUT]		= "write to a pipe",
	[COPY_IN]		= "read from a pipe",
};

/* Copy a page from @src to @dst through a pipe: the kernel's user copies. */
static ssize_t pipe_copy(void *dst, const void *src)
{
	int pipefd[2], err;
	ssize_t r;

	TEST_ASSERT(!pipe(pipefd), "pipe: %s", strerror(errno));
	r = write(pipefd[1], src, PAGE_SIZE);
	if (r == PAGE_SIZE)
		r = read(pipefd[0], dst, PAGE_SIZE);
	err = errno;
	close(pipefd[0]);
	close(pipefd[1]);
	errno = err;
	return r;
}

/*
 * The kernel's ways into a mapping: GUP (/proc/self/mem, process_vm_*) must
 * fail on NO_DIRECT_MAP, where user copies (a pipe's read and write) work.
 */
static void op_gup(void)
{
	struct fmap *m = pick(maps, it, it->addr);
	struct iovec local = { .iov_base = buf, .iov_len = PAGE_SIZE };
	struct iovec remote = { .iov_len = PAGE_SIZE };
	int expected = 0, result, seen;
	enum access how;
	u64 page, index;
	bool faultable, write, gup;
	u8 value, *addr;
	ssize_t r = 0;

	if (!m)
		return skip();
	page = rnd_below(m->len / PAGE_SIZE);
	index = file_index(m, page);
	addr = m->addr + page * PAGE_SIZE;
	remote.iov_base = addr;
	how = rnd_below(NR_ACCESSES);
	/* The write of each pair follows its read. */
	if (!m->writable && (how == GUP_PROC_WRITE || how == GUP_VM_WRITE || how == COPY_IN))
		how--;
	write = how == GUP_PROC_WRITE || how == GUP_VM_WRITE || how == COPY_IN;
	gup = how < COPY_OUT;
	faultable = page_faultable(m->gmem, index);
	if (!faultable || (gup && (m->gmem->flags & NO_DIRECT_MAP)))
		expected = how == GUP_PROC_READ || how == GUP_PROC_WRITE ? -EIO : -EFAULT;
	value = rnd();
	memset(buf, value, PAGE_SIZE);
	log_op(" map%ld of gmem%ld (flags %#lx size %#lx) page %lu: %s", m - maps,
	       m->gmem - gmems, m->gmem->flags, m->gmem->size, index, access_names[how]);

	switch (how) {
	case GUP_PROC_READ:
		r = pread(proc_mem_fd, buf, PAGE_SIZE, (off_t)addr);
		break;
	case GUP_PROC_WRITE:
		r = pwrite(proc_mem_fd, buf, PAGE_SIZE, (off_t)addr);
		break;
	case GUP_VM_READ:
		r = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
		break;
	case GUP_VM_WRITE:
		r = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
		break;
	case COPY_OUT:
		r = pipe_copy(buf, addr);
		break;
	case COPY_IN:
		r = pipe_copy(addr, buf);
		break;
	case NR_ACCESSES:
		break;
	}
	result = outcome(r);
	check(access_names[how], expected, result);
	if (!result) {
		fuzz_assert(r == PAGE_SIZE, "copied %zd bytes", r);
		if (write)
			m->gmem->data[index] = value;
		else
			fuzz_assert(page_value(buf) == m->gmem->data[index],
				    "page %lu holds %#x, not %#x", index, page_value(buf),
				    m->gmem->data[index]);
	} else if (faultable) {
		/* A refused write leaves the page as it was. */
		access_page(addr, false, 0, &seen);
		fuzz_assert(seen == m->gmem->data[index], "page %lu holds %#x, not %#x", index,
			    seen, m->gmem->data[index]);
	}
}

/*
 * The file calls guest_memfd has no method for: without read and write,
 * no FMODE_CAN_READ, FMODE_CAN_WRITE, FMODE_PREAD, FMODE_PWRITE or
 * FMODE_LSEEK; without setattr, no size change; an anonymous inode, no
 * readahead; a pseudo filesystem, fadvise ignored. And fstat.
 */
static void op_fd_io(void)
{
	static const char * const calls[] = {
		"read", "pread", "write", "pwrite", "lseek", "ftruncate", "readahead",
		"posix_fadvise", "fstat",
	};
	int advice = rnd_below(POSIX_FADV_NOREUSE + 3);
	struct fgmem *g = pick(gmems, it, it->used && it->fd >= 0);
	off_t pos = rnd_below(WINDOW);
	unsigned int how;
	struct stat st;

	if (!g)
		return skip();
	how = rnd_below(ARRAY_SIZE(calls));
	log_op(" gmem%ld fd %d: %s at %#lx (advice %d)", g - gmems, g->fd, calls[how], pos,
	       advice);
	switch (how) {
	case 0:
		check(calls[how], -EINVAL, outcome(read(g->fd, buf, PAGE_SIZE)));
		break;
	case 1:
		check(calls[how], -ESPIPE, outcome(pread(g->fd, buf, PAGE_SIZE, pos)));
		break;
	case 2:
		check(calls[how], -EINVAL, outcome(write(g->fd, buf, PAGE_SIZE)));
		break;
	case 3:
		check(calls[how], -ESPIPE, outcome(pwrite(g->fd, buf, PAGE_SIZE, pos)));
		break;
	case 4:
		check(calls[how], -ESPIPE, outcome(lseek(g->fd, pos, SEEK_SET)));
		break;
	case 5:
		check(calls[how], -EINVAL, outcome(ftruncate(g->fd, pos)));
		break;
	case 6:
		check(calls[how], -EINVAL, outcome(readahead(g->fd, pos, PAGE_SIZE)));
		break;
	case 7:
		check(calls[how], advice > POSIX_FADV_NOREUSE ? -EINVAL : 0,
		      -posix_fadvise(g->fd, pos, PAGE_SIZE, advice));
		break;
	default:
		check(calls[how], 0, outcome(fstat(g->fd, &st)));
		fuzz_assert(st.st_size == (off_t)g->size, "st_size %#lx", st.st_size);
		break;
	}
}

/* Whether every page of [@first, @first + @n) of @m faults in. */
static bool range_faultable(struct fmap *m, u64 first, u64 n)
{
	u64 i;

	for (i = 0; i < n; i++)
		if (!page_faultable(m->gmem, file_index(m, first + i)))
			return false;
	return true;
}

enum vma_call {
	VMA_DONTNEED,
	VMA_REMOVE,
	VMA_PAGEOUT,
	VMA_COLD,
	VMA_WILLNEED,
	VMA_FREE,
	VMA_POPULATE_READ,
	VMA_POPULATE_WRITE,
	VMA_MLOCK,
	VMA_MLOCK_ONFAULT,
	VMA_MPROTECT,
	VMA_MPROTECT_EXEC,
	VMA_MREMAP,
	NR_VMA_CALLS,
};

static const char * const vma_call_names[NR_VMA_CALLS] = {
	[VMA_DONTNEED]		= "MADV_DONTNEED",
	[VMA_REMOVE]		= "MADV_REMOVE",
	[VMA_PAGEOUT]		= "MADV_PAGEOUT",
	[VMA_COLD]		= "MADV_COLD",
	[VMA_WILLNEED]		= "MADV_WILLNEED",
	[VMA_FREE]		= "MADV_FREE",
	[VMA_POPULATE_READ]	= "MADV_POPULATE_READ",
	[VMA_POPULATE_WRITE]	= "MADV_POPULATE_WRITE",
	[VMA_MLOCK]		= "mlock",
	[VMA_MLOCK_ONFAULT]	= "mlock2 MLOCK_ONFAULT",
	[VMA_MPROTECT]		= "mprotect",
	[VMA_MPROTECT_EXEC]	= "mprotect PROT_EXEC",
	[VMA_MREMAP]		= "mremap",
};

static const int madvices[] = {
	[VMA_DONTNEED]		= MADV_DONTNEED,
	[VMA_REMOVE]		= MADV_REMOVE,
	[VMA_PAGEOUT]		= MADV_PAGEOUT,
	[VMA_COLD]		= MADV_COLD,
	[VMA_WILLNEED]		= MADV_WILLNEED,
	[VMA_FREE]		= MADV_FREE,
	[VMA_POPULATE_READ]	= MADV_POPULATE_READ,
	[VMA_POPULATE_WRITE]	= MADV_POPULATE_WRITE,
};

/*
 * madvise(), mlock(), mprotect() and mremap() on part or all of a mapping.
 * What populates a mapping takes the GUP path, which NO_DIRECT_MAP refuses;
 * what drops its pages, moves or reprotects it keeps the contents, but
 * MADV_REMOVE, which punches a hole.
 */
static void op_vma(void)
{
	struct fmap *m = pick(maps, it, it->addr);
	u64 first, n, i, new_len = 0;
	enum vma_call how;
	int expected = 0;
	bool nodm;
	u8 *addr;

	if (!m)
		return skip();
	first = rnd_below(m->len / PAGE_SIZE);
	n = 1 + rnd_below(m->len / PAGE_SIZE - first);
	addr = m->addr + first * PAGE_SIZE;
	how = rnd_below(NR_VMA_CALLS);
	if (how == VMA_POPULATE_WRITE && !m->writable)
		how = VMA_POPULATE_READ;
	nodm = m->gmem->flags & NO_DIRECT_MAP;
	if (how == VMA_MREMAP)
		new_len = PAGE_SIZE * (1 + rnd_below(min_t(u64, MAX_MAP_PAGES,
							   ((WINDOW - m->offset) / PAGE_SIZE))));
	log_op(" map%ld of gmem%ld (flags %#lx size %#lx): %s on pages %lu-%lu%s", m - maps,
	       m->gmem - gmems, m->gmem->flags, m->gmem->size, vma_call_names[how],
	       file_index(m, first), file_index(m, first + n - 1),
	       how == VMA_MREMAP ? " (all of it)" : "");

	switch (how) {
	case VMA_FREE:
		/* For anonymous memory only. */
		expected = -EINVAL;
		fallthrough;
	case VMA_DONTNEED ... VMA_WILLNEED:
		check(vma_call_names[how], expected,
		      outcome(madvise(addr, n * PAGE_SIZE, madvices[how])));
		break;
	case VMA_POPULATE_READ:
	case VMA_POPULATE_WRITE:
		/* GUP refuses the VMA as "incompatible", SIGBUS is EFAULT. */
		if (nodm)
			expected = -EINVAL;
		else if (!range_faultable(m, first, n))
			expected = -EFAULT;
		check(vma_call_names[how], expected,
		      outcome(madvise(addr, n * PAGE_SIZE, madvices[how])));
		break;
	case VMA_MLOCK:
		/* Populating fails with EFAULT, which mlock() reports as ENOMEM. */
		if (nodm || !range_faultable(m, first, n))
			expected = -ENOMEM;
		check("mlock", expected, outcome(mlock(addr, n * PAGE_SIZE)));
		check("munlock", 0, outcome(munlock(addr, n * PAGE_SIZE)));
		break;
	case VMA_MLOCK_ONFAULT:
		check("mlock2", 0, outcome(mlock2(addr, n * PAGE_SIZE, MLOCK_ONFAULT)));
		check("munlock", 0, outcome(munlock(addr, n * PAGE_SIZE)));
		break;
	case VMA_MPROTECT:
		check("mprotect", 0, outcome(mprotect(m->addr, m->len, m->writable ? PROT_READ :
						       PROT_READ | PROT_WRITE)));
		m->writable = !m->writable;
		break;
	case VMA_MPROTECT_EXEC:
		/* guest_memfd's mount is noexec: no VM_MAYEXEC. */
		check("mprotect", -EACCES, outcome(mprotect(addr, n * PAGE_SIZE,
							    PROT_READ | PROT_EXEC)));
		break;
	case VMA_MREMAP:
		addr = mremap(m->addr, m->len, new_len, MREMAP_MAYMOVE);
		check("mremap", 0, addr == MAP_FAILED ? -errno : 0);
		m->addr = addr;
		m->len = new_len;
		break;
	case NR_VMA_CALLS:
		break;
	}
	if (how == VMA_REMOVE)
		for (i = 0; i < n; i++)
			m->gmem->data[file_index(m, first + i)] = 0;
}

/*
 * A child reads a page through an inherited mapping, and writes another:
 * the mappings are shared, so the parent sees what it wrote.
 */
static void op_fork(void)
{
	struct fmap *m = pick(maps, it, it->addr);
	u64 read_page, write_page;
	int status, seen, result;
	bool write;
	pid_t pid;
	u8 value;

	if (!m)
		return skip();
	read_page = rnd_below(m->len / PAGE_SIZE);
	write_page = rnd_below(m->len / PAGE_SIZE);
	write = m->writable && page_faultable(m->gmem, file_index(m, write_page));
	value = rnd();
	log_op(" map%ld of gmem%ld (flags %#lx size %#lx): the child reads page %lu%s",
	       m - maps, m->gmem - gmems, m->gmem->flags, m->gmem->size,
	       file_index(m, read_page), write ? ", writes another" : "");

	pid = fork();
	TEST_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		result = access_page(m->addr + read_page * PAGE_SIZE, false, 0, &seen);
		if (result != (page_faultable(m->gmem, file_index(m, read_page)) ?
			       0 : RESULT_SIGBUS))
			_exit(1);
		if (!result && seen != m->gmem->data[file_index(m, read_page)])
			_exit(2);
		if (write && access_page(m->addr + write_page * PAGE_SIZE, true, value, &seen))
			_exit(3);
		_exit(0);
	}
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	fuzz_assert(WIFEXITED(status) && !WEXITSTATUS(status),
		    "the child failed: status %#x (1: fault, 2: contents, 3: write)", status);
	check("fork", 0, 0);
	if (write)
		m->gmem->data[file_index(m, write_page)] = value;
}

struct slot_req {
	u32 slot;
	u32 flags;
	u64 gpa;
	u64 size;
	u64 uaddr;
	u64 offset;
	int fd;
	bool fd_closed;
	/* The guest_memfd behind @fd, NULL if it is none. */
	struct fgmem *gmem;
};

enum change {
	CHANGE_NONE,
	CHANGE_CREATE,
	CHANGE_DELETE,
	CHANGE_MOVE,
	CHANGE_FLAGS,
};

static struct fslot *slot_of(struct fvm *v, u32 slot)
{
	u16 id = slot;

	if (slot >> 16 == 0 && id < NR_AS0_IDS)
		return &v->slots[id];
	if (slot >> 16 == 1 && id < NR_AS1_IDS)
		return &v->slots[NR_AS0_IDS + id];
	return NULL;
}

static u32 slot_number(struct fvm *v, struct fslot *s)
{
	long i = s - v->slots;

	return i < NR_AS0_IDS ? i : 1 << 16 | (i - NR_AS0_IDS);
}

static bool overlap(u64 a, u64 a_len, u64 b, u64 b_len)
{
	return a < b + b_len && b < a + a_len;
}

/* kvm_set_memory_region()'s checks, in its order, and the change it makes. */
static int memslot_expect(struct fvm *v, const struct slot_req *r, enum change *change)
{
	u32 valid = KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_GUEST_MEMFD;
	struct fslot *old, *s;

	*change = CHANGE_NONE;
	if ((u16)r->slot >= nr_user_slots)
		return -EINVAL;
	if ((r->flags & KVM_MEM_GUEST_MEMFD) && !v->gmem_dirty_log)
		valid &= ~KVM_MEM_LOG_DIRTY_PAGES;
	else if (!(r->flags & KVM_MEM_GUEST_MEMFD))
		valid |= KVM_MEM_READONLY;
	if (r->flags & ~valid)
		return -EINVAL;
	if (r->size % PAGE_SIZE || r->gpa % PAGE_SIZE)
		return -EINVAL;
	if (r->uaddr % PAGE_SIZE || r->uaddr + r->size < r->uaddr || r->uaddr + r->size > USER_END)
		return -EINVAL;
	if ((r->flags & KVM_MEM_GUEST_MEMFD) &&
	    (r->offset % PAGE_SIZE || r->offset + r->size < r->offset))
		return -EINVAL;
	if (r->slot >> 16 >= v->nr_as)
		return -EINVAL;
	if (r->gpa + r->size < r->gpa)
		return -EINVAL;
	if (r->size / PAGE_SIZE > SLOT_MAX_PAGES)
		return -EINVAL;

	old = slot_of(v, r->slot);
	TEST_ASSERT(old, "memslot %#x is valid but not modelled", r->slot);
	if (!r->size) {
		if (!old->used)
			return -EINVAL;
		*change = CHANGE_DELETE;
		return 0;
	}
	if (!old->used) {
		*change = CHANGE_CREATE;
	} else {
		if (r->uaddr != old->uaddr || r->size != old->size ||
		    (r->flags ^ old->flags) & (KVM_MEM_READONLY | KVM_MEM_GUEST_MEMFD))
			return -EINVAL;
		/* A guest_memfd memslot cannot move, only toggle dirty logging. */
		if ((r->flags & KVM_MEM_GUEST_MEMFD) && r->gpa != old->gpa)
			return -EINVAL;
		if (r->gpa != old->gpa)
			*change = CHANGE_MOVE;
		else if (r->flags != old->flags)
			*change = CHANGE_FLAGS;
		else
			return 0;
	}
	if (*change == CHANGE_CREATE || *change == CHANGE_MOVE)
		for (s = v->slots; s < v->slots + NR_SLOT_IDS; s++)
			if (s->used && s != old && slot_number(v, s) >> 16 == r->slot >> 16 &&
			    overlap(s->gpa, s->size, r->gpa, r->size))
				return -EEXIST;
	if (*change == CHANGE_CREATE && (r->flags & KVM_MEM_GUEST_MEMFD)) {
		if (r->fd_closed)
			return -EBADF;
		if (!r->gmem || r->gmem->vm != v)
			return -EINVAL;
		if (r->offset + r->size > r->gmem->size)
			return -EINVAL;
	}
	if ((*change == CHANGE_CREATE || *change == CHANGE_MOVE) && r->gpa + r->size > max_gpa)
		return -EINVAL;
	/* A flags change names the memslot's guest_memfd and offset again. */
	if (*change == CHANGE_FLAGS && (r->flags & KVM_MEM_GUEST_MEMFD) &&
	    (r->fd < 0 || r->gmem != old->gmem || r->offset != old->offset))
		return -EINVAL;
	/* A range of a guest_memfd binds to one memslot at a time. */
	if (*change == CHANGE_CREATE && (r->flags & KVM_MEM_GUEST_MEMFD))
		for (s = v->slots; s < v->slots + NR_SLOT_IDS; s++)
			if (s->used && s->gmem == r->gmem &&
			    overlap(s->offset, s->size, r->offset, r->size))
				return -EEXIST;
	return 0;
}

static u32 random_slot(void)
{
	switch (rnd_below(20)) {
	case 0:
		return nr_user_slots + rnd_below(USHRT_MAX + 1 - nr_user_slots);
	case 1:
		return (2 + rnd_below(USHRT_MAX - 1)) << 16 | rnd_below(NR_AS0_IDS);
	case 2 ... 5:
		return 1 << 16 | rnd_below(NR_AS1_IDS);
	default:
		return rnd_below(NR_AS0_IDS);
	}
}

/* Generators of memslot fields: each bad value one time in 40. */
static u64 random_gpa(void)
{
	switch (rnd_below(40)) {
	case 0:
	case 1:
		return max_gpa - PAGE_SIZE * (1 + rnd_below(4));
	case 2:
		return max_gpa;
	case 3:
		return rnd_below(SZ_16M) | 1;
	case 4:
		return -PAGE_SIZE;
	case 5 ... 8:
		return rnd_below(max_gpa / PAGE_SIZE) * PAGE_SIZE;
	case 9 ... 12:
		return RUNNER_GPA + rnd_below(64) * SZ_2M;
	default:
		/* A small range, where memslots overlap. */
		return rnd_below(256) * SZ_64K;
	}
}

static u64 random_slot_size(void)
{
	switch (rnd_below(40)) {
	case 0:
		return 0;
	case 1:
		return rnd_below(SZ_4M) | 1;
	case 2:
		return (SLOT_MAX_PAGES + 1) * PAGE_SIZE;
	case 3:
		return 1ULL << (44 + rnd_below(19));
	case 4:
		return MAX_SLOT_SIZE;
	default:
		return PAGE_SIZE * (1 + rnd_below(1024));
	}
}

static u64 random_uaddr(void)
{
	switch (rnd_below(40)) {
	case 0:
		return (u64)hva_pool + 1 + rnd_below(PAGE_SIZE - 1);
	case 1:
		return 1ULL << 63;
	case 2 ... 5:
		return 0;
	default:
		return (u64)hva_pool + rnd_below(SZ_1G / PAGE_SIZE) * PAGE_SIZE;
	}
}

/* A random guest_memfd for a new memslot: mostly the VM's own, open one. */
static void random_slot_gmem(struct fvm *v, struct slot_req *r)
{
	struct fgmem *g = pick(gmems, it, it->used && it->fd >= 0 && it->vm == v);
	u64 rest;

	switch (rnd_below(40)) {
	case 0:
		r->fd = BAD_FD;
		r->fd_closed = true;
		return;
	case 1:
		r->fd = v->vm->fd;
		return;
	case 2 ... 3:
		g = pick(gmems, it, it->used && it->fd >= 0);
		break;
	}
	if (!g) {
		r->fd = kvm_fd;
		return;
	}
	r->fd = g->fd;
	r->gmem = g;
	switch (rnd_below(40)) {
	case 0:
		r->offset = rnd_below(g->size) | 1;
		break;
	case 1:
		r->offset = -PAGE_SIZE;
		break;
	case 2 ... 15:
		r->offset = 0;
		break;
	default:
		r->offset = rnd_below(g->size / PAGE_SIZE) * PAGE_SIZE;
		break;
	}
	/* Mostly inside the file, sometimes all the rest of it. */
	rest = r->offset < g->size ? g->size - r->offset : 0;
	if (rest && chance(70))
		r->size = PAGE_SIZE * (1 + rnd_below(min_t(u64, (rest / PAGE_SIZE), 1024)));
	else if (rest && chance(30))
		r->size = min_t(u64, rest, MAX_SLOT_SIZE);
}

static void op_memslot(void)
{
	struct fvm *v = pick(vms, it, it->vm);
	struct slot_req r = {};
	enum change change;
	struct fslot *old;
	int expected, kind;

	if (!v)
		return skip();
	r.gpa = random_gpa();
	r.size = random_slot_size();
	r.uaddr = random_uaddr();
	r.fd = -1;

	kind = rnd_below(100);
	old = pick(v->slots, it, it->used);
	if (kind < 30 && old) {
		/* Delete a memslot, or move it, or change its flags. */
		r.slot = slot_number(v, old);
		r.flags = old->flags;
		r.uaddr = old->uaddr;
		r.size = old->size;
		r.offset = old->offset;
		if (kind < 10) {
			r.size = 0;
		} else if (kind < 20) {
			/* A new gpa; without the flag, a guest_memfd one is still immutable. */
			if (chance(20))
				r.flags &= ~KVM_MEM_GUEST_MEMFD;
		} else {
			r.gpa = old->gpa;
			r.flags ^= KVM_MEM_LOG_DIRTY_PAGES;
			/* Mostly the memslot's own guest_memfd and offset. */
			if (old->gmem && !chance(10)) {
				r.gmem = old->gmem;
				r.fd = old->gmem->fd;
				if (chance(5))
					r.offset += PAGE_SIZE;
			} else if (old->gmem) {
				random_slot_gmem(v, &r);
				r.size = old->size;
			}
		}
	} else {
		/* Mostly a free id, of an address space the VM has. */
		old = pick(v->slots, it, !it->used && (it < v->slots + NR_AS0_IDS || v->nr_as > 1));
		r.slot = old && chance(80) ? slot_number(v, old) : random_slot();
		/* A guest_memfd memslot, mostly when the VM has a guest_memfd. */
		if (kind < 75 && (pick(gmems, it, it->used && it->fd >= 0 && it->vm == v) ||
				  chance(10))) {
			r.flags = KVM_MEM_GUEST_MEMFD;
			if (chance(5))
				r.flags |= chance(50) ? KVM_MEM_LOG_DIRTY_PAGES : KVM_MEM_READONLY;
			if (chance(50))
				r.uaddr = 0;
			random_slot_gmem(v, &r);
		} else {
			r.flags = rnd_below(4) & (KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY);
			if (chance(3))
				r.flags = 1U << (3 + rnd_below(29));
		}
	}
	if (chance(5))
		r.size = 0;

	expected = memslot_expect(v, &r, &change);
	log_op(" vm%ld slot %#x flags %#x gpa %#lx size %#lx hva %#lx fd %d gmem%ld off %#lx",
	       v - vms, r.slot, r.flags, r.gpa, r.size, r.uaddr, r.fd,
	       r.gmem ? r.gmem - gmems : -1L, r.offset);
	check("KVM_SET_USER_MEMORY_REGION2", expected,
	      outcome(__vm_set_user_memory_region2(v->vm, r.slot, r.flags, r.gpa, r.size,
						   (void *)r.uaddr, r.fd, r.offset)));
	if (expected)
		return;
	old = slot_of(v, r.slot);
	switch (change) {
	case CHANGE_CREATE:
		*old = (struct fslot){
			.used = true,
			.flags = r.flags,
			.gpa = r.gpa,
			.size = r.size,
			.uaddr = r.uaddr,
			.gmem = r.flags & KVM_MEM_GUEST_MEMFD ? r.gmem : NULL,
			.offset = r.offset,
		};
		break;
	case CHANGE_DELETE:
		old->used = false;
		old->gmem = NULL;
		break;
	case CHANGE_MOVE:
		old->gpa = r.gpa;
		break;
	case CHANGE_FLAGS:
		old->flags = r.flags;
		break;
	case CHANGE_NONE:
		break;
	}
}

static void op_attributes(void)
{
	struct fvm *v = pick(vms, it, it->vm);
	struct kvm_memory_attributes attr = {};
	int expected = 0;

	if (!v)
		return skip();
	switch (rnd_below(10)) {
	case 0:
		attr.address = rnd_below(max_gpa / PAGE_SIZE) * PAGE_SIZE;
		break;
	case 1:
		attr.address = rnd_below(SZ_16M) | 1;
		break;
	case 2:
		attr.address = -PAGE_SIZE * (1 + rnd_below(4));
		break;
	default:
		attr.address = rnd_below(SZ_16M / PAGE_SIZE) * PAGE_SIZE;
		break;
	}
	switch (rnd_below(10)) {
	case 0:
		attr.size = 0;
		break;
	case 1:
		attr.size = rnd_below(SZ_1M) | 1;
		break;
	case 2:
		attr.size = PAGE_SIZE * (1 + rnd_below(512));
		break;
	default:
		attr.size = PAGE_SIZE * (1 + rnd_below(64));
		break;
	}
	attr.attributes = chance(50) ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
	if (chance(5))
		attr.attributes = 1ULL << rnd_below(64);
	if (chance(5))
		attr.flags = 1ULL << rnd_below(64);

	if (attr.flags || attr.attributes & ~v->attributes)
		expected = -EINVAL;
	else if (!attr.size || attr.address + attr.size < attr.address)
		expected = -EINVAL;
	else if (attr.address % PAGE_SIZE || attr.size % PAGE_SIZE)
		expected = -EINVAL;
	log_op(" vm%ld (type %lu) address %#llx size %#llx attributes %#llx flags %#llx",
	       v - vms, v->type, attr.address, attr.size, attr.attributes, attr.flags);
	check("KVM_SET_MEMORY_ATTRIBUTES", expected,
	      outcome(__vm_ioctl(v->vm, KVM_SET_MEMORY_ATTRIBUTES, &attr)));
}

static void guest_code(void)
{
	for (;;) {
		u8 *page = (u8 *)READ_ONCE(guest_cmd.gpa);
		u64 result;
		int i;

		if (READ_ONCE(guest_cmd.write)) {
			result = READ_ONCE(guest_cmd.value);
			for (i = 0; i < PAGE_SIZE; i++)
				WRITE_ONCE(page[i], result);
		} else {
			result = READ_ONCE(page[0]);
			for (i = 1; i < PAGE_SIZE; i++)
				if (READ_ONCE(page[i]) != result)
					result = MIXED;
		}
		GUEST_SYNC(result);
	}
}

/*
 * A new NO_DIRECT_MAP guest_memfd in the runner's memslot, mapped at the
 * memslot's userspace_addr while a mapping is free.
 */
static void runner_bind(void)
{
	const u64 flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED | NO_DIRECT_MAP;
	struct fmap *m = first(maps, it, !it->addr);
	struct kvm_vm *vm = runner.fvm.vm;
	int fd = vm_create_guest_memfd(vm, RUNNER_SIZE, flags);
	u8 *addr = NULL;

	runner.gmem = new_gmem(fd, &runner.fvm, RUNNER_SIZE, flags);
	if (m) {
		addr = kvm_mmap(RUNNER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
		*m = (struct fmap){
			.addr = addr,
			.len = RUNNER_SIZE,
			.writable = true,
			.gmem = runner.gmem,
		};
		runner.gmem->nr_maps++;
	}
	vm_set_user_memory_region2(vm, RUNNER_SLOT, KVM_MEM_GUEST_MEMFD, RUNNER_GPA, RUNNER_SIZE,
				   addr, fd, 0);
	runner.uaddr = addr;
	runner.log_dirty = false;
	memset(runner.accessed, 0, sizeof(runner.accessed));
}

static void runner_create(void)
{
	runner.fvm.vm = vm_create_with_one_vcpu(&runner.vcpu, guest_code);
	virt_map(runner.fvm.vm, RUNNER_GPA, RUNNER_GPA, RUNNER_PAGES);
	runner.fvm.gmem_dirty_log = vm_check_cap(runner.fvm.vm, KVM_CAP_GUEST_MEMFD_DIRTY_LOG);
	runner_bind();
}

/* A flags-only change: it must name the memslot's guest_memfd again. */
static void runner_toggle_dirty_log(void)
{
	u32 flags = KVM_MEM_GUEST_MEMFD | (runner.log_dirty ? 0 : KVM_MEM_LOG_DIRTY_PAGES);
	int fd = runner.gmem->fd;

	log_op(" (dirty logging %s)", runner.log_dirty ? "off" : "on");
	check("KVM_SET_USER_MEMORY_REGION2", fd < 0 ? -EINVAL : 0,
	      outcome(__vm_set_user_memory_region2(runner.fvm.vm, RUNNER_SLOT, flags, RUNNER_GPA,
						   RUNNER_SIZE, runner.uaddr, fd, 0)));
	if (fd >= 0)
		runner.log_dirty = !runner.log_dirty;
}

/*
 * Only pages the guest accessed since the last read may be in the log, and
 * page @written (-1: none) must be. A read may show too: a read fault maps
 * a page writable where the host allows it, and KVM marks it dirty then.
 */
static void runner_check_dirty_log(long written)
{
	unsigned long bitmap[RUNNER_PAGES / BITS_PER_LONG];
	long i;

	kvm_vm_get_dirty_log(runner.fvm.vm, RUNNER_SLOT, bitmap);
	for (i = 0; i < RUNNER_PAGES; i++)
		fuzz_assert(test_bit(i, bitmap) ? test_bit(i, runner.accessed) : i != written,
			    "page %ld is %s in the dirty log; the guest wrote page %ld last",
			    i, test_bit(i, bitmap) ? "dirty" : "clean", written);
	memset(runner.accessed, 0, sizeof(runner.accessed));
}

/* Give the guest a command, unless it has yet to finish the last one. */
static void runner_command(u64 page, bool write, u8 value)
{
	if (runner.pending)
		return;
	guest_cmd = (struct guest_cmd){
		.gpa = RUNNER_GPA + page * PAGE_SIZE,
		.write = write,
		.value = value,
	};
	sync_global_to_guest(runner.fvm.vm, guest_cmd);
	runner.pending = true;
}

/* KVM_RUN the guest through its command: 0 and what it reports, or -errno. */
static int runner_run(u64 *value)
{
	struct kvm_run *run = runner.vcpu->run;
	int result = outcome(_vcpu_run(runner.vcpu));
	struct ucall uc;

	if (result == -EFAULT)
		fuzz_assert(run->exit_reason == KVM_EXIT_MEMORY_FAULT &&
			    run->memory_fault.gpa == guest_cmd.gpa,
			    "exit reason %u, gpa %#llx", run->exit_reason,
			    (unsigned long long)run->memory_fault.gpa);
	if (result)
		return result;
	fuzz_assert(get_ucall(runner.vcpu, &uc) == UCALL_SYNC, "exit reason %u", run->exit_reason);
	runner.pending = false;
	*value = uc.args[1];
	return 0;
}

/*
 * KVM_RUN the runner's guest on one page of its guest_memfd. Once that was
 * released, KVM_RUN fails until a new one is bound.
 */
static void op_run(void)
{
	u64 page = rnd_below(RUNNER_PAGES), index, value;
	bool write = chance(50);
	u8 byte = rnd();

	runner_command(page, write, byte);
	index = (guest_cmd.gpa - RUNNER_GPA) / PAGE_SIZE;
	if (runner.gmem)
		log_op(" guest %s page %lu of gmem%ld", guest_cmd.write ? "writes" : "reads", index,
		       runner.gmem - gmems);
	else
		log_op(" guest %s page %lu of a released guest_memfd",
		       guest_cmd.write ? "writes" : "reads", index);

	if (!runner.gmem) {
		check("KVM_RUN", -EFAULT, runner_run(&value));
		if (!nr_free_gmems())
			return;
		/* Delete the memslot, and bind a new guest_memfd in its place. */
		vm_set_user_memory_region2(runner.fvm.vm, RUNNER_SLOT, 0, 0, 0, NULL, 0, 0);
		runner_bind();
	}
	if (runner.fvm.gmem_dirty_log && chance(10)) {
		runner_toggle_dirty_log();
		/* The log starts clean, and stays so until the guest writes. */
		if (runner.log_dirty)
			runner_check_dirty_log(-1);
	}
	set_bit(index, runner.accessed);
	check("KVM_RUN", 0, runner_run(&value));
	if (runner.log_dirty)
		runner_check_dirty_log(guest_cmd.write && !runner.interrupted ? (long)index : -1);
	if (runner.interrupted) {
		/* Its first part was on the released guest_memfd: clear the page. */
		check("fallocate", 0, outcome(fallocate(runner.gmem->fd, FALLOC_FL_KEEP_SIZE |
							FALLOC_FL_PUNCH_HOLE,
							index * PAGE_SIZE, PAGE_SIZE)));
		runner.gmem->data[index] = 0;
		runner.interrupted = false;
	} else if (guest_cmd.write) {
		runner.gmem->data[index] = guest_cmd.value;
	} else {
		fuzz_assert(value == runner.gmem->data[index], "the guest reads %#lx, not %#x",
			    value, runner.gmem->data[index]);
	}
}

struct race {
	int fd;
	bool release;
	unsigned int delay_us;
	bool stop;
	/* Of the close, or of the first punch that failed. */
	int result;
};

static void *race_thread(void *arg)
{
	struct race *race = arg;

	usleep(race->delay_us);
	if (race->release) {
		race->result = outcome(close(race->fd));
		return NULL;
	}
	while (!READ_ONCE(race->stop) && !race->result)
		race->result = outcome(fallocate(race->fd, FALLOC_FL_KEEP_SIZE |
						 FALLOC_FL_PUNCH_HOLE, 0, RUNNER_SIZE));
	return NULL;
}

/*
 * The runner's guest against a second thread that punches holes in its
 * guest_memfd, or closes its last reference. The operations follow from the
 * seed; which of the guest's accesses a punch or the release lands on does
 * not, and the model settles that afterwards, with a last punch or the
 * release.
 */
static void op_race(void)
{
	u64 pages[RACE_MAX_CMDS], index, value;
	struct fgmem *g = runner.gmem;
	bool writes[RACE_MAX_CMDS];
	u8 values[RACE_MAX_CMDS];
	struct race race = {};
	unsigned int i, n;
	struct fmap *m;
	pthread_t thread;
	int result = 0;

	race.release = chance(50);
	race.delay_us = rnd_below(1000);
	n = 4 + rnd_below(RACE_MAX_CMDS - 3);
	for (i = 0; i < n; i++) {
		pages[i] = rnd_below(RUNNER_PAGES);
		writes[i] = chance(50);
		values[i] = rnd();
	}
	if (!g || g->fd < 0)
		return skip();
	race.fd = g->fd;
	log_op(" gmem%ld: %u guest accesses against %s", g - gmems, n,
	       race.release ? "its release" : "punches");
	/* A mapping would keep the file. */
	for (m = maps; race.release && m < maps + MAX_MAPS; m++) {
		if (m->addr && m->gmem == g) {
			check("munmap", 0, outcome(munmap(m->addr, m->len)));
			m->addr = NULL;
			g->nr_maps--;
		}
	}

	TEST_ASSERT(!pthread_create(&thread, NULL, race_thread, &race), "pthread_create");
	for (i = 0; i < n; i++) {
		runner_command(pages[i], writes[i], values[i]);
		index = (guest_cmd.gpa - RUNNER_GPA) / PAGE_SIZE;
		set_bit(index, runner.accessed);
		result = runner_run(&value);
		if (result)
			break;
		if (guest_cmd.write)
			g->data[index] = guest_cmd.value;
		else
			fuzz_assert(value == g->data[index] || value == 0 || value == MIXED,
				    "the guest reads %#lx from page %lu, not %#x, 0 or a mix",
				    value, index, g->data[index]);
	}
	WRITE_ONCE(race.stop, true);
	TEST_ASSERT(!pthread_join(thread, NULL), "pthread_join");

	check(race.release ? "close" : "fallocate", 0, race.result);
	check("KVM_RUN", result && race.release ? -EFAULT : 0, result);
	runner.interrupted = result;
	if (race.release) {
		g->fd = -1;
		put_gmem(g);
		return;
	}
	check("fallocate", 0, outcome(fallocate(g->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
						0, RUNNER_SIZE)));
	memset(g->data, 0, RUNNER_PAGES);
}

/*
 * Compact all memory, then check every page of every mapping: compaction
 * must neither move guest_memfd's pages nor take free unmapped ones.
 */
static void op_compact(void)
{
	int seen, result;
	struct fmap *m;
	u64 page;

	if (compact_fd < 0)
		return skip();
	log_op(" and check the mappings");
	check("compact_memory", 0, outcome(pwrite(compact_fd, "1", 1, 0)));
	for (m = maps; m < maps + MAX_MAPS; m++) {
		for (page = 0; m->addr && page < m->len / PAGE_SIZE; page++) {
			if (!page_faultable(m->gmem, file_index(m, page)))
				continue;
			result = access_page(m->addr + page * PAGE_SIZE, false, 0, &seen);
			fuzz_assert(!result && seen == m->gmem->data[file_index(m, page)],
				    "map%ld page %lu: %s, holds %#x, not %#x", m - maps,
				    file_index(m, page), result_name(result), result ? -1 : seen,
				    m->gmem->data[file_index(m, page)]);
		}
	}
}

static void (* const op_fns[NR_OPS])(void) = {
	[OP_VM_CREATE]		= op_vm_create,
	[OP_VM_CLOSE]		= op_vm_close,
	[OP_GMEM_CREATE]	= op_gmem_create,
	[OP_GMEM_CLOSE]		= op_gmem_close,
	[OP_FALLOCATE]		= op_fallocate,
	[OP_MMAP]		= op_mmap,
	[OP_MUNMAP]		= op_munmap,
	[OP_TOUCH]		= op_touch,
	[OP_GUP]		= op_gup,
	[OP_FD_IO]		= op_fd_io,
	[OP_MEMSLOT]		= op_memslot,
	[OP_ATTRIBUTES]		= op_attributes,
	[OP_VMA]		= op_vma,
	[OP_FORK]		= op_fork,
	[OP_RUN]		= op_run,
	[OP_RACE]		= op_race,
	[OP_COMPACT]		= op_compact,
};

static enum op random_op(void)
{
	unsigned int total = 0, r;
	enum op op;

	for (op = 0; op < NR_OPS; op++)
		total += op_weights[op];
	r = rnd_below(total);
	for (op = 0; r >= op_weights[op]; op++)
		r -= op_weights[op];
	return op;
}

/* The first GPA past what a memslot may map, kvm_mmu_max_gfn(): it depends on the MMU. */
static u64 probe_max_gpa(void)
{
	struct kvm_vm *vm = vm_create_barebones();
	int bits;

	for (bits = 52; bits > 32; bits--) {
		u64 gpa = (1ULL << bits) - PAGE_SIZE;

		if (!__vm_set_user_memory_region2(vm, 0, 0, gpa, PAGE_SIZE, hva_pool, 0, 0))
			break;
		TEST_ASSERT(errno == EINVAL, "memslot at %#lx: %s", gpa, strerror(errno));
	}
	kvm_vm_free(vm);
	return 1ULL << bits;
}

static void setup(void)
{
	kvm_fd = open_kvm_dev_path_or_exit();
	offered_vm_types = kvm_check_cap(KVM_CAP_VM_TYPES) ?: BIT(VM_TYPE_DEFAULT);
	vm_types[nr_vm_types++] = VM_TYPE_DEFAULT;
	if (offered_vm_types & BIT(KVM_X86_SW_PROTECTED_VM))
		vm_types[nr_vm_types++] = KVM_X86_SW_PROTECTED_VM;
	nr_user_slots = kvm_check_cap(KVM_CAP_NR_MEMSLOTS);

	/* Root only; without it, no compaction. */
	compact_fd = open("/proc/sys/vm/compact_memory", O_WRONLY);
	proc_mem_fd = open("/proc/self/mem", O_RDWR);
	TEST_ASSERT(proc_mem_fd >= 0, "open /proc/self/mem: %s", strerror(errno));
	hva_pool = mmap(NULL, HVA_POOL_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			-1, 0);
	TEST_ASSERT(hva_pool != MAP_FAILED, "mmap: %s", strerror(errno));
	max_gpa = probe_max_gpa();
	runner_create();
	printf("VM types %#lx, %u memslots, GPAs below %#lx\n", offered_vm_types, nr_user_slots,
	       max_gpa);
}

static void teardown(void)
{
	struct fgmem *g;
	struct fmap *m;
	struct fvm *v;

	for (m = maps; m < maps + MAX_MAPS; m++)
		if (m->addr)
			kvm_munmap(m->addr, m->len);
	kvm_vm_free(runner.fvm.vm);
	for (g = gmems; g < gmems + MAX_GMEMS; g++)
		if (g->used && g->fd >= 0)
			close(g->fd);
	for (v = vms; v < vms + MAX_VMS; v++)
		if (v->vm)
			kvm_vm_free(v->vm);
	munmap(hva_pool, HVA_POOL_SIZE);
	close(proc_mem_fd);
	if (compact_fd >= 0)
		close(compact_fd);
	close(kvm_fd);
}

static void print_counts(double seconds)
{
	unsigned long ok, err;
	enum op op;
	int r;

	printf("iterations %lu in %.1f s\n", iteration, seconds);
	printf("%-12s %8s %8s %8s  errors\n", "operation", "ok", "err", "skipped");
	for (op = 0; op < NR_OPS; op++) {
		ok = nr_results[op][0];
		err = 0;
		for (r = 1; r < NR_RESULTS; r++)
			err += nr_results[op][r];
		printf("%-12s %8lu %8lu %8lu ", op_names[op], ok, err, nr_skipped[op]);
		for (r = 1; r < NR_RESULTS; r++)
			if (nr_results[op][r])
				printf(" %s %lu", result_name(-r), nr_results[op][r]);
		printf("\n");
	}
}

static void help(const char *name)
{
	printf("usage: %s [-t SECONDS] [-s SEED] [-i ITERATIONS] [-v] [-h]\n"
	       " -t: run this long (default 20)\n"
	       " -s: seed of the run (default: from the time); the same seed replays it\n"
	       " -i: stop after this many iterations (default: no limit)\n"
	       " -v: print each operation and its outcome\n", name);
}

int main(int argc, char *argv[])
{
	unsigned long max_iterations = ULONG_MAX;
	struct timespec start, now;
	double seconds = 20, elapsed;
	int opt;

	clock_gettime(CLOCK_REALTIME, &now);
	seed = now.tv_sec * 1000000000ULL + now.tv_nsec;
	while ((opt = getopt(argc, argv, "t:s:i:vh")) != -1) {
		switch (opt) {
		case 't':
			seconds = atoi_positive("Run time", optarg);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'i':
			max_iterations = strtoul(optarg, NULL, 0);
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			help(argv[0]);
			exit(KSFT_PASS);
		default:
			help(argv[0]);
			exit(KSFT_FAIL);
		}
	}
	printf("seed %lu\n", seed);
	rng_state = seed ^ 0x9e3779b97f4a7c15ULL ?: 1;

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS) & NO_DIRECT_MAP);
	setup();

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (iteration = 0; iteration < max_iterations; iteration++) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed = timespec_to_ns(timespec_sub(now, start)) / 1e9;
		if (elapsed >= seconds)
			break;
		cur_op = random_op();
		snprintf(history[iteration % HISTORY], sizeof(history[0]), "%lu %s:", iteration,
			 op_names[cur_op]);
		op_fns[cur_op]();
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	teardown();
	print_counts(timespec_to_ns(timespec_sub(now, start)) / 1e9);
	return 0;
}
