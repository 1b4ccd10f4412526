// SPDX-License-Identifier: GPL-2.0-only
/*
 * Populate guest_memfd-backed guest RAM from all vCPUs and report what it
 * cost the host: VM start latency (VM creation to the first guest ucall),
 * population time, the direct-map TLB flush counters of /proc/vmstat and the
 * DirectMap{4k,2M,1G} change of /proc/meminfo.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/sizes.h>

#include "kvm_util.h"
#include "processor.h"
#include "test_util.h"
#include "ucall_common.h"

/* Above 4 GiB: slot 0 holds code, stacks and page tables below 1 GiB. */
#define DATA_GPA	SZ_4G
#define DATA_SLOT	1
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

/* Counters whose deltas are reported: a prefix of a /proc/vmstat key. */
static const char * const vmstat_prefixes[] = { "nr_tlb_", "unmapped_", "direct_map_" };
static const char * const meminfo_keys[] = { "DirectMap4k", "DirectMap2M", "DirectMap1G" };

#define MAX_COUNTERS 32

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

/* One word per page, or every word when there is a canary to plant. */
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

/*
 * The direct-map TLB flushes that populating @pages from @nr_vcpus may
 * cost: none for a mapped backing; one per folio unmapped on its own, plus
 * one per direct-map split that needed; for the pools, only the refills,
 * each of which unmaps a batch of pageblocks with one flush. vCPUs that
 * fault on an empty pool at once may each refill it.
 */
static void check_flushes(const struct backing *backing, const struct counters *before,
			  const struct counters *after, long long pages, int nr_vcpus)
{
	long long flushes = delta(before, after, "direct_map_tlb_flushes");
	long long refills = delta(before, after, "unmapped_tlb_flushes");
	long long splits = delta(before, after, "direct_map_level2_splits") +
			   delta(before, after, "direct_map_level3_splits");
	long long batch;

	if (backing->in_direct_map) {
		TEST_ASSERT(!flushes, "%lld direct-map flushes, expected none", flushes);
	} else if (backing->per_folio) {
		TEST_ASSERT(flushes == pages + splits,
			    "%lld direct-map flushes for %lld folios and %lld splits",
			    flushes, pages, splits);
	} else {
		batch = read_knob("/proc/sys/vm/unmapped_refill_pageblocks") *
			(SZ_2M / PAGE_SIZE);
		TEST_ASSERT(flushes == refills &&
			    refills <= (pages + batch - 1) / batch + nr_vcpus - 1,
			    "%lld direct-map flushes, %lld pool refills for %lld pages",
			    flushes, refills, pages);
	}
}

static void guest_touch(u64 gpa, u64 size, u64 canary)
{
	u64 off, word;

	GUEST_SYNC(0);
	for (off = 0; off < size; off += PAGE_SIZE) {
		if (!canary) {
			*(volatile u64 *)(gpa + off) = gpa + off;
			continue;
		}
		for (word = 0; word < PAGE_SIZE; word += sizeof(u64))
			*(volatile u64 *)(gpa + off + word) = canary;
	}
	GUEST_DONE();
}

static u64 random_canary(void)
{
	u64 canary;
	int fd = open("/dev/urandom", O_RDONLY);

	TEST_ASSERT(fd >= 0 && read(fd, &canary, sizeof(canary)) == sizeof(canary),
		    "read /dev/urandom");
	close(fd);
	/* Zero means "no canary" to the guest. */
	return canary | 1;
}

/* Pages the direct map maps that hold nothing but @canary. */
static long scan_direct_map(u64 canary)
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

static void write_knob(const char *path, const char *value)
{
	FILE *f = fopen(path, "w");

	TEST_ASSERT(f && fputs(value, f) >= 0 && !fclose(f), "write %s", path);
}

static void run_reclaim(void)
{
	write_knob("/proc/sys/vm/drop_caches", "2\n");
}

/* The mode is taken when the guest_memfd is created. */
static int create_guest_memfd(struct kvm_vm *vm, u64 size,
			      const struct backing *backing)
{
	int fd;

	if (!backing->per_folio)
		return vm_create_guest_memfd(vm, size, backing->gmem_flags);
	write_knob(PER_FOLIO_PARAM, "Y\n");
	fd = vm_create_guest_memfd(vm, size, backing->gmem_flags);
	write_knob(PER_FOLIO_PARAM, "N\n");
	return fd;
}

/*
 * An unmapped backing must show no page. A mapped one shows every guest
 * page while the VM runs, and freed guest pages keep the canary until
 * reused: it must show at least @min_mapped_pages (0: just report).
 */
static void check_scan(const struct backing *backing, const char *phase,
		       u64 canary, long min_mapped_pages)
{
	long pages = scan_direct_map(canary);

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

static void *vcpu_thread(void *arg)
{
	struct kvm_vcpu *vcpu = arg;
	struct timespec now;

	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, NULL), UCALL_SYNC);
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&first_sync_lock);
	if (!first_sync.tv_sec || timespec_to_ns(timespec_sub(now, first_sync)) < 0)
		first_sync = now;
	pthread_mutex_unlock(&first_sync_lock);

	vcpu_run(vcpu);
	TEST_ASSERT_EQ(get_ucall(vcpu, NULL), UCALL_DONE);
	return NULL;
}

static void usage(const char *name)
{
	int i;

	printf("usage: %s [-b backing] [-m MiB] [-v vcpus] [-s]\n", name);
	printf("  -b: guest_memfd backing (default mapped):");
	for (i = 0; i < ARRAY_SIZE(backings); i++)
		printf(" %s", backings[i].name);
	printf("\n  -m: guest RAM to populate, MiB, a multiple of 2 (default 256)\n");
	printf("  -v: vCPUs touching it, 1..%d (default 1)\n", MAX_VCPUS);
	printf("  -s: fill it with a canary and scan the host direct map for it\n");
}

int main(int argc, char *argv[])
{
	const struct backing *backing = &backings[0];
	struct kvm_vcpu *vcpus[MAX_VCPUS];
	pthread_t threads[MAX_VCPUS];
	struct counters before, after;
	struct timespec start, populated;
	u64 size_mib = 256, size, stripe;
	int nr_vcpus = 1, opt, i, fd;
	struct kvm_vm *vm;
	u64 canary = 0;

	while ((opt = getopt(argc, argv, "b:m:v:sh")) != -1) {
		switch (opt) {
		case 'b':
			for (i = 0; i < ARRAY_SIZE(backings); i++)
				if (!strcmp(optarg, backings[i].name))
					break;
			TEST_ASSERT(i < ARRAY_SIZE(backings), "unknown backing '%s'", optarg);
			backing = &backings[i];
			break;
		case 'm':
			size_mib = atoi_positive("RAM size (MiB)", optarg);
			break;
		case 'v':
			nr_vcpus = atoi_positive("vCPU count", optarg);
			break;
		case 's':
			canary = random_canary();
			break;
		default:
			usage(argv[0]);
			exit(opt == 'h' ? 0 : KSFT_FAIL);
		}
	}
	TEST_ASSERT(nr_vcpus <= MAX_VCPUS, "at most %d vCPUs", MAX_VCPUS);
	TEST_ASSERT(size_mib % 2 == 0, "RAM size must be a multiple of 2 MiB");
	TEST_REQUIRE((kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS) & backing->gmem_flags) ==
		     backing->gmem_flags);
	if (canary)
		TEST_REQUIRE(!access(SCAN_DIR "result", R_OK));
	if (backing->per_folio)
		TEST_REQUIRE(!access(PER_FOLIO_PARAM, W_OK));

	size = size_mib << 20;
	stripe = size / nr_vcpus & ~(u64)(PAGE_SIZE - 1);

	read_counters(&before);
	clock_gettime(CLOCK_MONOTONIC, &start);

	vm = vm_create_with_vcpus(nr_vcpus, guest_touch, vcpus);
	fd = create_guest_memfd(vm, size, backing);
	vm_set_user_memory_region2(vm, DATA_SLOT, KVM_MEM_GUEST_MEMFD, DATA_GPA,
				   size, NULL, fd, 0);
	virt_map_level(vm, DATA_GPA, DATA_GPA, size, PG_LEVEL_2M);
	for (i = 0; i < nr_vcpus; i++)
		vcpu_args_set(vcpus[i], 3, DATA_GPA + i * stripe, stripe, canary);

	for (i = 0; i < nr_vcpus; i++)
		pthread_create(&threads[i], NULL, vcpu_thread, vcpus[i]);
	for (i = 0; i < nr_vcpus; i++)
		pthread_join(threads[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &populated);
	read_counters(&after);

	printf("backing %s\nvcpus %d\nsize_mib %llu\n", backing->name, nr_vcpus,
	       (unsigned long long)size_mib);
	printf("start_latency_us %lld\n",
	       (long long)timespec_to_ns(timespec_sub(first_sync, start)) / 1000);
	printf("populate_us %lld\n",
	       (long long)timespec_to_ns(timespec_sub(populated, first_sync)) / 1000);
	print_deltas("populate", &before, &after);
	check_flushes(backing, &before, &after, nr_vcpus * stripe / PAGE_SIZE, nr_vcpus);
	if (canary)
		check_scan(backing, "running", canary, nr_vcpus * stripe / PAGE_SIZE);

	close(fd);
	kvm_vm_free(vm);
	read_counters(&after);
	print_deltas("after_exit", &before, &after);
	if (canary) {
		check_scan(backing, "after_exit", canary, 1);
		run_reclaim();
		check_scan(backing, "after_reclaim", canary, 0);
	}
	return 0;
}
