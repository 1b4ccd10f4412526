// SPDX-License-Identifier: GPL-2.0-only
/*
 * memfd_secret(2), the second user of __GFP_UNMAPPED: where the page
 * allocator serves it, secretmem takes its pages from the unmapped
 * pageblock pools, and a page faulted in costs no TLB flush of its own.
 *
 * A secret area of -m MiB is filled page by page with a canary, read back,
 * and freed. The test counts the direct-map TLB flushes of the fill, from
 * empty pools (drop_caches=3 runs their shrinker), and asserts
 *  - pooled (the default): at most one per 2 MiB of the area (each refill
 *    of the pools flushes once for all the pageblocks it unmaps);
 *  - per-page (-p, on a host booted with debug_pagealloc=on, where the
 *    pools are not served): one for each page at least, as secretmem
 *    always paid.
 * In both, the direct-map scanner finds the canary in no page while the
 * area is mapped, nor once it is freed; an anonymous area filled with it
 * is found, which shows that the scan would see a leak.
 * Prints "key value" lines: pages, flushes, pageblocks the pools unmapped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/sizes.h>

#include "processor.h"
#include "test_util.h"
#include "vmstat.h"

#define SCAN_DIR	"/sys/kernel/debug/direct_map_scan/"
#define BLOCK_PAGES	(SZ_2M / PAGE_SIZE)
/* Pages of the anonymous area that shows the scan finds a mapped canary. */
#define CONTROL_PAGES	1024

static u64 canary;

static void fill(u64 *area, size_t pages)
{
	size_t i;

	for (i = 0; i < pages * PAGE_SIZE / sizeof(u64); i++)
		area[i] = canary;
}

/* Pages of the direct map whose every word is the canary. */
static unsigned long scan_for_canary(void)
{
	unsigned long pages;
	char buf[64];
	FILE *f;
	int fd;

	fd = open(SCAN_DIR "canary", O_WRONLY);
	TEST_ASSERT(fd >= 0, "open " SCAN_DIR "canary: %s", strerror(errno));
	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)canary);
	TEST_ASSERT(write(fd, buf, strlen(buf)) == (ssize_t)strlen(buf),
		    "write the canary: %s", strerror(errno));
	close(fd);

	f = fopen(SCAN_DIR "result", "r");
	TEST_ASSERT(f, "open " SCAN_DIR "result: %s", strerror(errno));
	TEST_ASSERT(fscanf(f, "canary_pages %lu", &pages) == 1,
		    "no canary_pages in " SCAN_DIR "result");
	fclose(f);
	return pages;
}

static void help(const char *name)
{
	printf("usage: %s [-m MiB] [-p]\n"
	       "  -m  size of the secret area (default 64)\n"
	       "  -p  expect secretmem's per-page path: a TLB flush a page\n",
	       name);
}

int main(int argc, char *argv[])
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	unsigned long flushes, unmapped, found;
	bool per_page = false;
	size_t pages = 64 * SZ_1M / PAGE_SIZE, i;
	u64 *area;
	int fd, opt;
	FILE *f;

	while ((opt = getopt(argc, argv, "m:ph")) != -1) {
		switch (opt) {
		case 'm':
			pages = atoi_positive("Area size in MiB", optarg) * (SZ_1M / PAGE_SIZE);
			break;
		case 'p':
			per_page = true;
			break;
		default:
			help(argv[0]);
			exit(opt == 'h' ? KSFT_PASS : KSFT_FAIL);
		}
	}

	fd = syscall(__NR_memfd_secret, 0);
	if (fd < 0 && errno == ENOSYS)
		ksft_exit_skip("memfd_secret is not enabled\n");
	TEST_ASSERT(fd >= 0, "memfd_secret: %s", strerror(errno));
	TEST_REQUIRE(!access(SCAN_DIR "result", R_OK));
	TEST_ASSERT(!setrlimit(RLIMIT_MEMLOCK, &unlimited), "RLIMIT_MEMLOCK: %s",
		    strerror(errno));
	TEST_ASSERT(getrandom(&canary, sizeof(canary), 0) == sizeof(canary),
		    "getrandom: %s", strerror(errno));

	TEST_ASSERT(!ftruncate(fd, pages * PAGE_SIZE), "ftruncate: %s", strerror(errno));
	area = mmap(NULL, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	TEST_ASSERT(area != MAP_FAILED, "mmap: %s", strerror(errno));

	/* Empty pools first, so that the fill pays for its refills. */
	f = fopen("/proc/sys/vm/drop_caches", "w");
	TEST_ASSERT(f && fputs("3", f) >= 0 && !fclose(f), "drop_caches: %s", strerror(errno));

	flushes = vm_event("direct_map_tlb_flushes");
	unmapped = vm_event("unmapped_pageblocks_unmapped");
	fill(area, pages);
	flushes = vm_event("direct_map_tlb_flushes") - flushes;
	unmapped = vm_event("unmapped_pageblocks_unmapped") - unmapped;
	printf("pages %zu\ndirect_map_tlb_flushes %lu\nunmapped_pageblocks_unmapped %lu\n",
	       pages, flushes, unmapped);

	for (i = 0; i < pages * PAGE_SIZE / sizeof(u64); i++)
		TEST_ASSERT(area[i] == canary, "word %zu of the area reads 0x%llx", i,
			    (unsigned long long)area[i]);
	if (per_page) {
		TEST_ASSERT(flushes >= pages, "%lu flushes for %zu pages", flushes, pages);
		TEST_ASSERT(!unmapped, "the pools unmapped %lu pageblocks", unmapped);
	} else {
		TEST_ASSERT(unmapped, "no refill of the pools for %zu pages", pages);
		TEST_ASSERT(flushes <= pages / BLOCK_PAGES,
			    "%lu flushes for %zu pages: more than one per 2 MiB",
			    flushes, pages);
	}

	found = scan_for_canary();
	printf("canary_pages_mapped %lu\n", found);
	TEST_ASSERT(!found, "%lu secret pages in the direct map", found);
	TEST_ASSERT(!munmap(area, pages * PAGE_SIZE), "munmap: %s", strerror(errno));
	close(fd);
	found = scan_for_canary();
	printf("canary_pages_freed %lu\n", found);
	TEST_ASSERT(!found, "%lu freed secret pages in the direct map", found);

	area = mmap(NULL, CONTROL_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(area != MAP_FAILED, "mmap: %s", strerror(errno));
	fill(area, CONTROL_PAGES);
	found = scan_for_canary();
	printf("canary_pages_anonymous %lu\n", found);
	TEST_ASSERT(found >= CONTROL_PAGES, "the scan found %lu of %d anonymous pages",
		    found, CONTROL_PAGES);
	return 0;
}
