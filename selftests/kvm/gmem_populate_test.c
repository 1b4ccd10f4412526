// SPDX-License-Identifier: GPL-2.0-only
/*
 * Populate guest_memfd-backed guest RAM from all vCPUs and report what it
 * cost the host: VM start latency (VM creation to the first guest ucall),
 * population time, the direct-map TLB flush counters of /proc/vmstat and the
 * DirectMap{4k,2M,1G} change of /proc/meminfo.
 *
 * Output is one "key value" pair per line, for people and for scripts.
 */
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

struct backing {
	const char *name;
	u64 gmem_flags;
};

static const struct backing backings[] = {
	{ "mapped", GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED },
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

static void guest_touch(u64 gpa, u64 size)
{
	u64 off;

	GUEST_SYNC(0);
	for (off = 0; off < size; off += PAGE_SIZE)
		*(volatile u64 *)(gpa + off) = gpa + off;
	GUEST_DONE();
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

	printf("usage: %s [-b backing] [-m MiB] [-v vcpus]\n", name);
	printf("  -b: guest_memfd backing (default mapped):");
	for (i = 0; i < ARRAY_SIZE(backings); i++)
		printf(" %s", backings[i].name);
	printf("\n  -m: guest RAM to populate, MiB, a multiple of 2 (default 256)\n");
	printf("  -v: vCPUs touching it, 1..%d (default 1)\n", MAX_VCPUS);
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

	while ((opt = getopt(argc, argv, "b:m:v:h")) != -1) {
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
		default:
			usage(argv[0]);
			exit(opt == 'h' ? 0 : KSFT_FAIL);
		}
	}
	TEST_ASSERT(nr_vcpus <= MAX_VCPUS, "at most %d vCPUs", MAX_VCPUS);
	TEST_ASSERT(size_mib % 2 == 0, "RAM size must be a multiple of 2 MiB");
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS) & backing->gmem_flags);

	size = size_mib << 20;
	stripe = size / nr_vcpus & ~(u64)(PAGE_SIZE - 1);

	read_counters(&before);
	clock_gettime(CLOCK_MONOTONIC, &start);

	vm = vm_create_with_vcpus(nr_vcpus, guest_touch, vcpus);
	fd = vm_create_guest_memfd(vm, size, backing->gmem_flags);
	vm_set_user_memory_region2(vm, DATA_SLOT, KVM_MEM_GUEST_MEMFD, DATA_GPA,
				   size, NULL, fd, 0);
	virt_map_level(vm, DATA_GPA, DATA_GPA, size, PG_LEVEL_2M);
	for (i = 0; i < nr_vcpus; i++)
		vcpu_args_set(vcpus[i], 2, DATA_GPA + i * stripe, stripe);

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

	close(fd);
	kvm_vm_free(vm);
	read_counters(&after);
	print_deltas("after_exit", &before, &after);
	return 0;
}
