// SPDX-License-Identifier: GPL-2.0-only
/*
 * The TLB cost to the host of a guest's memory, for one guest_memfd backing:
 * plain ("mapped"), NO_DIRECT_MAP from the unmapped pools ("unmapped") or
 * unmapped folio by folio ("per_folio").
 *
 * A VM starts and its vCPUs touch all of its RAM, as a boot does ("boot");
 * with -H, a memslot backed by a new guest_memfd is added while the vCPUs
 * run, touched by them ("hotplug") and removed ("unplug"); with -w, a second
 * VM of the same size starts after the first has exited ("warm": the pools
 * hold what the first VM freed); with -p, the first VM keeps its RAM until
 * stdin is closed, for a test to act on the host meanwhile (offlining the
 * memory under it, say). Each phase reports its time and the deltas
 * of the direct-map TLB flush counters of /proc/vmstat and of
 * DirectMap{4k,2M,1G} in /proc/meminfo, and asserts the counts: no flush for
 * a mapped backing; one per folio (and per split of the direct map) for a
 * per-folio one; for the pools, at most one per refill batch of pageblocks,
 * none when warm, and no 4 KiB leaf in the direct map. Freed pool pages
 * must be zeroed in bulk, a 2 MiB block and a local TLB flush at a time,
 * at most 1% of them through the per-page window; each phase that frees
 * waits for the scrubber first. Times are only reported. The VM start
 * latency is from VM creation to the first guest
 * ucall.
 *
 * With -s the guest fills every page with a random canary, and the host's
 * direct map is scanned for it (CONFIG_DIRECT_MAP_SCAN) while the VM runs,
 * after it exits and after reclaim has run: a page of an unmapped backing
 * must never be found, a page of a mapped one is.
 *
 * Output is one "key value" pair per line, for people and for scripts.
 */
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/sizes.h>

#include "kvm_util.h"
#include "numaif.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

/*
 * Above 4 GiB: slot 0 holds code, stacks and page tables below 1 GiB. The
 * hot-added RAM follows the boot RAM at the next GiB.
 */
#define BOOT_GPA	SZ_4G
#define BOOT_SLOT	1
#define HOTPLUG_SLOT	2
#define MAX_VCPUS	64

#define SCAN_DIR	"/sys/kernel/debug/direct_map_scan/"

/* KVM's choice between pooled and per-folio NO_DIRECT_MAP guest_memfd. */
#define PER_FOLIO_PARAM	"/sys/module/kvm/parameters/gmem_unmap_per_folio"

struct backing {
	const char *name;
	u64 gmem_flags;
	bool in_direct_map;
	bool per_folio;
};

static const struct backing backings[] = {
	{ "mapped", GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED, true },
	{ "unmapped", GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED |
		      GUEST_MEMFD_FLAG_NO_DIRECT_MAP, false },
	{ "per_folio", GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED |
		       GUEST_MEMFD_FLAG_NO_DIRECT_MAP, false, true },
};

static const struct backing *backing;

/* Counters whose deltas are reported: a prefix of a /proc/vmstat key. */
static const char * const vmstat_prefixes[] = { "nr_tlb_", "unmapped_", "direct_map_" };
static const char * const meminfo_keys[] = { "DirectMap4k", "DirectMap2M", "DirectMap1G" };

#define MAX_COUNTERS 48

struct counters {
	int nr;
	char name[MAX_COUNTERS][64];
	long long value[MAX_COUNTERS];
};

static bool wanted(const char *key)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(vmstat_prefixes); i++)
		if (!strncmp(key, vmstat_prefixes[i], strlen(vmstat_prefixes[i])))
			return true;
	for (i = 0; i < ARRAY_SIZE(meminfo_keys); i++)
		if (!strcmp(key, meminfo_keys[i]))
			return true;
	return false;
}

static void read_counters_from(const char *path, struct counters *c)
{
	char line[128], key[64];
	long long value;
	FILE *f = fopen(path, "r");

	TEST_ASSERT(f, "open %s", path);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63[^: ]%*[: ]%lld", key, &value) != 2 ||
		    !wanted(key) || c->nr == MAX_COUNTERS)
			continue;
		strcpy(c->name[c->nr], key);
		c->value[c->nr++] = value;
	}
	fclose(f);
}

static void read_counters(struct counters *c)
{
	c->nr = 0;
	read_counters_from("/proc/vmstat", c);
	read_counters_from("/proc/meminfo", c);
}

static void print_deltas(const char *phase, const struct counters *before,
			 const struct counters *after)
{
	int i;

	for (i = 0; i < after->nr && i < before->nr; i++)
		printf("%s.%s %lld\n", phase, after->name[i],
		       after->value[i] - before->value[i]);
}

static long long delta(const struct counters *before, const struct counters *after,
			const char *name)
{
	int i;

	for (i = 0; i < after->nr && i < before->nr; i++)
		if (!strcmp(after->name[i], name))
			return after->value[i] - before->value[i];
	TEST_FAIL("no counter %s", name);
	return 0;
}

static long read_knob(const char *path)
{
	long value = -1;
	FILE *f = fopen(path, "r");

	TEST_ASSERT(f && fscanf(f, "%ld", &value) == 1, "read %s", path);
	fclose(f);
	return value;
}

static void write_knob(const char *path, const char *value)
{
	FILE *f = fopen(path, "w");

	TEST_ASSERT(f && fputs(value, f) >= 0 && !fclose(f), "write %s", path);
}

/*
 * With -H the VM runs alone on the host, as its hot-plug's counts must be
 * exact: local TLB flushes, a global count that other VMs' boots would
 * swell, are then asserted too, allowing for the rest of the host's
 * (mapped: about 10 a phase).
 */
static bool alone;
#define OTHER_LOCAL_FLUSHES 64
/* What populating from the pools may add to them: 600 per GiB. */
#define POOL_LOCAL_FLUSHES(pages) ((pages) * 600 / (SZ_1G / PAGE_SIZE))

/*
 * Local TLB flushes but those of the pools' zeroing: one per page through
 * the per-page window, one per 2 MiB block zeroed in bulk.
 */
static long long other_local_flushes(const struct counters *before,
				     const struct counters *after)
{
	return delta(before, after, "nr_tlb_local_flush_one") -
	       delta(before, after, "unmapped_pages_scrubbed") -
	       delta(before, after, "unmapped_pageblocks_scrubbed");
}

/*
 * The direct-map TLB flushes that touching @pages new pages may cost: none
 * for a mapped backing; one per folio unmapped on its own, plus one per
 * direct-map split that needed; for the pools, one per refill, each of
 * which unmaps a whole batch of pageblocks, plus one per 1 GiB leaf split
 * into 2 MiB leaves on the way (once per GiB of host RAM), none if
 * @pools_warm holds enough pages, and no 4 KiB leaf.
 */
static void check_flushes(const char *phase, const struct counters *before,
			  const struct counters *after, long long pages, bool pools_warm)
{
	long long flushes = delta(before, after, "direct_map_tlb_flushes");
	long long refills = delta(before, after, "unmapped_tlb_flushes");
	long long splits_2m = delta(before, after, "direct_map_level2_splits");
	long long splits_1g = delta(before, after, "direct_map_level3_splits");
	long long splits = splits_2m + splits_1g;
	long long batch, blocks, max_refills, window, local;

	if (backing->in_direct_map) {
		TEST_ASSERT(!flushes, "%s: %lld direct-map flushes, expected none",
			    phase, flushes);
	} else if (backing->per_folio) {
		TEST_ASSERT(flushes == pages + splits,
			    "%s: %lld direct-map flushes for %lld folios and %lld splits",
			    phase, flushes, pages, splits);
	} else {
		batch = read_knob("/proc/sys/vm/unmapped_refill_pageblocks");
		blocks = delta(before, after, "unmapped_pageblocks_unmapped");
		/*
		 * A refill per batch of pages, and one more when the pages a
		 * vCPU needs sit on the pcp list of a CPU whose vCPU keeps
		 * taking them (seen on the debug kernel).
		 */
		max_refills = pools_warm ? 0 :
			      DIV_ROUND_UP(pages, batch * (SZ_2M / PAGE_SIZE)) + 1;
		TEST_ASSERT(flushes == refills + splits_1g && !splits_2m &&
			    refills <= max_refills && blocks <= refills * batch,
			    "%s: %lld direct-map flushes, %lld pool refills of %lld pageblocks for %lld pages, %lld 1 GiB and %lld 2 MiB splits",
			    phase, flushes, refills, blocks, pages, splits_1g, splits_2m);
		TEST_ASSERT(!delta(before, after, "DirectMap4k"),
			    "%s: DirectMap4k grew by %lld kB", phase,
			    delta(before, after, "DirectMap4k"));
		/* Pool pages come zeroed: no window, no local flush for them. */
		window = delta(before, after, "unmapped_pages_scrubbed");
		local = other_local_flushes(before, after);
		TEST_ASSERT(window <= pages / 100 &&
			    (!alone || local <= POOL_LOCAL_FLUSHES(pages) + OTHER_LOCAL_FLUSHES),
			    "%s: %lld of %lld pages zeroed through the per-page window, %lld other local flushes",
			    phase, window, pages, local);
	}
}

/* The value of @key in /proc/vmstat, or -1 if it has none. */
static long long vmstat_value(const char *key)
{
	char name[64];
	long long value, found = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	TEST_ASSERT(f, "open /proc/vmstat");
	while (found < 0 && fscanf(f, "%63s %lld", name, &value) == 2)
		if (!strcmp(name, key))
			found = value;
	fclose(f);
	return found;
}

/*
 * Wait until the pools' scrubber has zeroed every page freed so far, with
 * the per-CPU counts folded; a kernel without one has nothing to wait for.
 */
static void wait_scrubbed(void)
{
	long long dirty;
	int i;

	for (i = 0; i < 1000; i++) {
		if (vmstat_value("nr_unmapped_dirty") < 0)
			return;
		write_knob("/proc/sys/vm/stat_refresh", "1\n");
		dirty = vmstat_value("nr_unmapped_dirty");
		if (!dirty)
			return;
		usleep(10000);
	}
	TEST_FAIL("%lld freed pool pages still not zeroed after 10 s", dirty);
}

/*
 * Freed pool pages are zeroed in bulk, a 2 MiB block at a time with one
 * local TLB flush each, and at most 1% of them through the per-page window
 * (a PTE and a local flush per page). Some may not be free yet: each CPU's
 * LRU batch may still hold a reference to up to 31 of them.
 */
static void check_freed(const char *phase, const struct counters *before,
			const struct counters *after, long long pages)
{
	long long window = delta(before, after, "unmapped_pages_scrubbed");
	long long bulk = delta(before, after, "unmapped_pages_scrubbed_bulk");
	long long blocks = delta(before, after, "unmapped_pageblocks_scrubbed");
	long long local = other_local_flushes(before, after);
	long long batched = 31 * sysconf(_SC_NPROCESSORS_ONLN);

	if (backing->in_direct_map || backing->per_folio)
		return;
	TEST_ASSERT(window <= pages / 100 && window + bulk >= pages - batched &&
		    (!alone || local <= OTHER_LOCAL_FLUSHES),
		    "%s: of %lld freed pages, %lld zeroed in %lld blocks and %lld through the window, with %lld other local flushes",
		    phase, pages, bulk, blocks, window, local);
}

struct region {
	u64 gpa;
	u64 size;
};

/* Set by the host before the vCPUs run. */
static struct region boot_ram, hotplug_ram;
static u64 nr_vcpus, canary;
/* Set by the host while the vCPUs run. */
static bool hotplug_added, hotplug_removed;

enum phase { PHASE_START, PHASE_BOOT, PHASE_HOTPLUG, PHASE_DONE };

/* Each vCPU's share of @ram: whole pages, the remainder left untouched. */
static u64 stripe_size(const struct region *ram)
{
	return ram->size / nr_vcpus & ~(u64)(PAGE_SIZE - 1);
}

/* One word per page, or every word when there is a canary to plant. */
static void guest_touch(const struct region *ram, u64 idx)
{
	u64 size = stripe_size(ram), start = ram->gpa + idx * size;
	u64 off, word;

	for (off = 0; off < size; off += PAGE_SIZE) {
		if (!canary) {
			*(volatile u64 *)(start + off) = start + off;
			continue;
		}
		for (word = 0; word < PAGE_SIZE; word += sizeof(u64))
			*(volatile u64 *)(start + off + word) = canary;
	}
}

static void guest_code(u64 idx)
{
	GUEST_SYNC(PHASE_START);
	guest_touch(&boot_ram, idx);
	GUEST_SYNC(PHASE_BOOT);
	if (hotplug_ram.size) {
		while (!READ_ONCE(hotplug_added))
			cpu_relax();
		guest_touch(&hotplug_ram, idx);
		GUEST_SYNC(PHASE_HOTPLUG);
		while (!READ_ONCE(hotplug_removed))
			cpu_relax();
	}
	GUEST_DONE();
}

static u64 random_canary(void)
{
	u64 value;
	int fd = open("/dev/urandom", O_RDONLY);

	TEST_ASSERT(fd >= 0 && read(fd, &value, sizeof(value)) == sizeof(value),
		    "read /dev/urandom");
	close(fd);
	/* Zero means "no canary" to the guest. */
	return value | 1;
}

/* Pages the direct map maps that hold nothing but the canary. */
static long scan_direct_map(void)
{
	long pages = -1;
	FILE *f;

	f = fopen(SCAN_DIR "canary", "w");
	TEST_ASSERT(f && fprintf(f, "%#llx\n", (unsigned long long)canary) > 0 &&
		    !fclose(f), "write " SCAN_DIR "canary");
	f = fopen(SCAN_DIR "result", "r");
	TEST_ASSERT(f && fscanf(f, "canary_pages %ld", &pages) == 1,
		    "read " SCAN_DIR "result");
	fclose(f);
	return pages;
}

static void run_reclaim(void)
{
	write_knob("/proc/sys/vm/drop_caches", "2\n");
}

/* The NUMA node the guest's RAM is bound to, or -1. */
static int ram_node = -1;
static bool hold_ram;

/*
 * The per-folio mode is taken when the guest_memfd is created; the memory
 * policy is set through a mapping and kept by the guest_memfd.
 */
static int create_guest_memfd(struct kvm_vm *vm, u64 size)
{
	unsigned long nodemask;
	void *mem;
	int fd;

	if (backing->per_folio)
		write_knob(PER_FOLIO_PARAM, "Y\n");
	fd = vm_create_guest_memfd(vm, size, backing->gmem_flags);
	if (backing->per_folio)
		write_knob(PER_FOLIO_PARAM, "N\n");
	if (ram_node >= 0) {
		nodemask = 1UL << ram_node;
		mem = kvm_mmap(size, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
		kvm_mbind(mem, size, MPOL_BIND, &nodemask, BITS_PER_LONG, 0);
		kvm_munmap(mem, size);
	}
	return fd;
}

/*
 * An unmapped backing must show no page. A mapped one shows every guest
 * page while the VM runs, and freed guest pages keep the canary until
 * reused: it must show at least @min_mapped_pages (0: just report).
 */
static void check_scan(const char *phase, long min_mapped_pages)
{
	long pages = scan_direct_map();

	printf("%s.canary_pages %ld\n", phase, pages);
	if (backing->in_direct_map)
		TEST_ASSERT(pages >= min_mapped_pages,
			    "%s: %ld canary pages in the direct map, expected >= %ld",
			    phase, pages, min_mapped_pages);
	else
		TEST_ASSERT(!pages, "%s: %ld pages of unmapped guest RAM readable through the direct map",
			    phase, pages);
}

static struct timespec first_sync;
static pthread_mutex_t first_sync_lock = PTHREAD_MUTEX_INITIALIZER;
/* Posted by each vCPU when it has touched its share of the RAM of a phase. */
static sem_t phase_done;

static void run_to(struct kvm_vcpu *vcpu, enum phase phase)
{
	struct ucall uc;

	vcpu_run(vcpu);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_SYNC:
		TEST_ASSERT(uc.args[1] == phase, "vCPU %u at phase %lu, expected %u",
			    vcpu->id, uc.args[1], phase);
		break;
	case UCALL_DONE:
		TEST_ASSERT(phase == PHASE_DONE, "vCPU %u done before phase %u",
			    vcpu->id, phase);
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT(uc);
	default:
		TEST_FAIL("vCPU %u: unexpected exit %s", vcpu->id,
			  exit_reason_str(vcpu->run->exit_reason));
	}
}

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct timespec now;

	run_to(vcpu, PHASE_START);
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&first_sync_lock);
	if (!first_sync.tv_sec || timespec_to_ns(timespec_sub(now, first_sync)) < 0)
		first_sync = now;
	pthread_mutex_unlock(&first_sync_lock);

	run_to(vcpu, PHASE_BOOT);
	sem_post(&phase_done);
	if (hotplug_ram.size) {
		run_to(vcpu, PHASE_HOTPLUG);
		sem_post(&phase_done);
	}
	run_to(vcpu, PHASE_DONE);
	return NULL;
}

/* Wait for every vCPU to finish a phase; return the time it ended. */
static struct timespec wait_phase(void)
{
	struct timespec end;
	u64 i;

	for (i = 0; i < nr_vcpus; i++)
		sem_wait(&phase_done);
	clock_gettime(CLOCK_MONOTONIC, &end);
	return end;
}

static long long us_between(struct timespec start, struct timespec end)
{
	return timespec_to_ns(timespec_sub(end, start)) / 1000;
}

static long long pages_touched(const struct region *ram)
{
	return nr_vcpus * stripe_size(ram) / PAGE_SIZE;
}

/* Add a memslot of new guest_memfd while the vCPUs run, then remove it. */
static void hotplug(struct kvm_vm *vm)
{
	struct counters before, after, removed;
	struct timespec start;
	int fd;

	read_counters(&before);
	clock_gettime(CLOCK_MONOTONIC, &start);
	fd = create_guest_memfd(vm, hotplug_ram.size);
	vm_set_user_memory_region2(vm, HOTPLUG_SLOT, KVM_MEM_GUEST_MEMFD,
				   hotplug_ram.gpa, hotplug_ram.size, NULL, fd, 0);
	WRITE_AND_SYNC_TO_GUEST(vm, hotplug_added, true);
	printf("hotplug.time_us %lld\n", us_between(start, wait_phase()));
	read_counters(&after);
	print_deltas("hotplug", &before, &after);
	check_flushes("hotplug", &before, &after, pages_touched(&hotplug_ram), false);
	/*
	 * Pool pages are zero already: populating zeroes none. The counter
	 * is global, and exact only here, as no VM runs beside one with
	 * hot-plugged RAM, while others free pool pages during a boot.
	 */
	if (!backing->in_direct_map && !backing->per_folio)
		TEST_ASSERT(!delta(&before, &after, "unmapped_pages_scrubbed"),
			    "hotplug: %lld pool pages zeroed on allocation",
			    delta(&before, &after, "unmapped_pages_scrubbed"));

	vm_set_user_memory_region2(vm, HOTPLUG_SLOT, KVM_MEM_GUEST_MEMFD,
				   hotplug_ram.gpa, 0, NULL, fd, 0);
	close(fd);
	wait_scrubbed();
	read_counters(&removed);
	print_deltas("unplug", &after, &removed);
	/* The pools take the pages back as they are: nothing to flush. */
	if (!backing->in_direct_map && !backing->per_folio)
		check_flushes("unplug", &after, &removed, 0, true);
	check_freed("unplug", &after, &removed, pages_touched(&hotplug_ram));
	WRITE_AND_SYNC_TO_GUEST(vm, hotplug_removed, true);
}

/*
 * Start a VM, let its vCPUs touch all of its boot RAM, hot-add RAM if
 * asked, and tear it down. @phase names the population; @pools_warm says
 * the pools already hold all the pages it needs.
 */
static void run_vm(const char *phase, bool with_hotplug, bool pools_warm)
{
	struct kvm_vcpu *vcpus[MAX_VCPUS];
	pthread_t threads[MAX_VCPUS];
	struct counters before, after, running;
	struct timespec start;
	struct kvm_vm *vm;
	char name[64];
	int fd;
	u64 i;

	read_counters(&before);
	clock_gettime(CLOCK_MONOTONIC, &start);
	memset(&first_sync, 0, sizeof(first_sync));

	vm = vm_create_with_vcpus(nr_vcpus, guest_code, vcpus);
	fd = create_guest_memfd(vm, boot_ram.size);
	vm_set_user_memory_region2(vm, BOOT_SLOT, KVM_MEM_GUEST_MEMFD, boot_ram.gpa,
				   boot_ram.size, NULL, fd, 0);
	virt_map_level(vm, boot_ram.gpa, boot_ram.gpa, boot_ram.size, PG_LEVEL_2M);
	hotplug_ram.size = with_hotplug ? hotplug_ram.size : 0;
	if (hotplug_ram.size)
		virt_map_level(vm, hotplug_ram.gpa, hotplug_ram.gpa, hotplug_ram.size,
			       PG_LEVEL_2M);
	sync_global_to_guest(vm, boot_ram);
	sync_global_to_guest(vm, hotplug_ram);
	sync_global_to_guest(vm, nr_vcpus);
	sync_global_to_guest(vm, canary);
	for (i = 0; i < nr_vcpus; i++) {
		vcpu_args_set(vcpus[i], 1, i);
		pthread_create(&threads[i], NULL, vcpu_thread, vcpus[i]);
	}

	printf("%s.time_us %lld\n", phase, us_between(first_sync, wait_phase()));
	printf("%s.start_latency_us %lld\n", phase, us_between(start, first_sync));
	read_counters(&after);
	print_deltas(phase, &before, &after);
	check_flushes(phase, &before, &after, pages_touched(&boot_ram), pools_warm);
	if (canary)
		check_scan(phase, pages_touched(&boot_ram));
	if (hotplug_ram.size)
		hotplug(vm);
	if (hold_ram && !pools_warm) {
		printf("holding RAM until stdin is closed\n");
		fflush(stdout);
		while (getchar() != EOF)
			;
	}

	for (i = 0; i < nr_vcpus; i++)
		pthread_join(threads[i], NULL);
	read_counters(&running);
	close(fd);
	kvm_vm_free(vm);
	wait_scrubbed();
	read_counters(&after);
	snprintf(name, sizeof(name), "%s.after_exit", phase);
	print_deltas(name, &before, &after);
	check_freed(name, &running, &after, pages_touched(&boot_ram));
	if (canary)
		check_scan(name, 1);
}

static void usage(const char *name)
{
	int i;

	printf("usage: %s [-b backing] [-m MiB] [-H MiB] [-v vcpus] [-n node] [-w] [-s] [-p]\n",
	       name);
	printf("  -b: guest_memfd backing (default mapped):");
	for (i = 0; i < ARRAY_SIZE(backings); i++)
		printf(" %s", backings[i].name);
	printf("\n  -m: boot RAM, MiB, a multiple of 2 (default 256)\n");
	printf("  -H: RAM to hot-add while the vCPUs run, MiB, a multiple of 2 (default 0: none);\n"
	       "      no other VM may run meanwhile, as local TLB flushes are then counted exactly\n");
	printf("  -v: vCPUs touching it, 1..%d (default 1)\n", MAX_VCPUS);
	printf("  -n: bind the RAM to this NUMA node (mbind on a mapping of it)\n");
	printf("  -w: then start a second VM of the same size (warm pools)\n");
	printf("  -s: fill the RAM with a canary and scan the host direct map for it\n");
	printf("  -p: keep the first VM's RAM until stdin is closed\n");
}

int main(int argc, char *argv[])
{
	u64 boot_mib = 256, hotplug_mib = 0;
	bool warm = false;
	int opt, i;

	backing = &backings[0];
	nr_vcpus = 1;
	while ((opt = getopt(argc, argv, "b:m:H:v:n:wsph")) != -1) {
		switch (opt) {
		case 'b':
			for (i = 0; i < ARRAY_SIZE(backings); i++)
				if (!strcmp(optarg, backings[i].name))
					break;
			TEST_ASSERT(i < ARRAY_SIZE(backings), "unknown backing '%s'", optarg);
			backing = &backings[i];
			break;
		case 'm':
			boot_mib = atoi_positive("boot RAM (MiB)", optarg);
			break;
		case 'H':
			hotplug_mib = atoi_non_negative("hot-added RAM (MiB)", optarg);
			break;
		case 'v':
			nr_vcpus = atoi_positive("vCPU count", optarg);
			break;
		case 'n':
			ram_node = atoi_non_negative("NUMA node", optarg);
			TEST_ASSERT(ram_node < BITS_PER_LONG, "NUMA node %d too high", ram_node);
			break;
		case 'w':
			warm = true;
			break;
		case 's':
			canary = random_canary();
			break;
		case 'p':
			hold_ram = true;
			break;
		default:
			usage(argv[0]);
			exit(opt == 'h' ? 0 : KSFT_FAIL);
		}
	}
	TEST_ASSERT(nr_vcpus <= MAX_VCPUS, "at most %d vCPUs", MAX_VCPUS);
	TEST_ASSERT(boot_mib % 2 == 0 && hotplug_mib % 2 == 0,
		    "RAM sizes must be multiples of 2 MiB");
	TEST_REQUIRE((kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS) & backing->gmem_flags) ==
		     backing->gmem_flags);
	if (canary)
		TEST_REQUIRE(!access(SCAN_DIR "result", R_OK));
	if (backing->per_folio)
		TEST_REQUIRE(!access(PER_FOLIO_PARAM, W_OK));

	boot_ram = (struct region){ BOOT_GPA, boot_mib << 20 };
	hotplug_ram = (struct region){ align_up(BOOT_GPA + boot_ram.size, SZ_1G),
				       hotplug_mib << 20 };
	sem_init(&phase_done, 0, 0);

	printf("backing %s\nvcpus %llu\nboot_mib %llu\nhotplug_mib %llu\n",
	       backing->name, (unsigned long long)nr_vcpus,
	       (unsigned long long)boot_mib, (unsigned long long)hotplug_mib);
	printf("refill_pageblocks %ld\n",
	       read_knob("/proc/sys/vm/unmapped_refill_pageblocks"));
	alone = hotplug_mib;
	run_vm("boot", hotplug_mib, false);
	/* The first VM left its pages in the pools: none to unmap now. */
	if (warm)
		run_vm("warm", false, true);
	/* Reclaim maps free pooled pages again, scrubbed first. */
	if (canary) {
		run_reclaim();
		check_scan("after_reclaim", 0);
	}
	return 0;
}
