// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unmapped allocations bound to one NUMA node: a NO_DIRECT_MAP guest_memfd
 * of -m MiB on node -n is fallocated.
 *
 * By default the node can hold unmovable pages, the guest_memfd is bound to
 * it (mbind(MPOL_BIND) on its mapping, which leaves the test's own kernel
 * allocations, and so the node's offlining, alone), and the allocation must
 * succeed with every page on that node, and the pool refills it needed
 * must take no pageblock from another node (the count of unmapped
 * pageblocks of every other node, from /proc/pagetypeinfo, does not grow).
 *
 * With -M the node's memory is all ZONE_MOVABLE, where no unmovable page
 * can come from, and the caller runs the test in a cpuset that allows that
 * node alone, which -c names the cgroup.procs file of (a memory policy is
 * ignored for unmovable allocations when its nodes have movable memory
 * only): fallocate must fail with ENOMEM, and a
 * memfd_secret page must not be given either (the toucher ends by its
 * alarm or SIGBUS); no oops in either case.
 * Exit: 0 pass, 1 fail, 4 skip (kselftest).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/falloc.h>
#include <linux/sizes.h>

#include "kvm_util.h"
#include "numaif.h"
#include "secret_page.h"
#include "test_util.h"

#define MAX_NODES	8

/* Unmapped pageblocks of each node, summed over its zones. */
static void unmapped_blocks(unsigned long count[MAX_NODES])
{
	char line[1024], *tok;
	int column = -1, i, node;
	FILE *f = fopen("/proc/pagetypeinfo", "r");

	TEST_ASSERT(f, "open /proc/pagetypeinfo: %s", strerror(errno));
	memset(count, 0, MAX_NODES * sizeof(*count));
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Number of blocks type", 21)) {
			/* The column of "Unmapped", after the header's words. */
			tok = strtok(line + 21, " \n");
			for (i = 0; tok; tok = strtok(NULL, " \n"), i++)
				if (!strcmp(tok, "Unmapped"))
					column = i;
			continue;
		}
		if (column < 0 || sscanf(line, "Node %d, zone", &node) != 1)
			continue;
		TEST_ASSERT(node >= 0 && node < MAX_NODES, "node %d", node);
		/* "Node", "N,", "zone", its name, then one count a column. */
		tok = strtok(line, " \n");
		for (i = 0; tok && i < column + 4; i++)
			tok = strtok(NULL, " \n");
		TEST_ASSERT(tok, "no Unmapped count for node %d", node);
		count[node] += strtoul(tok, NULL, 10);
	}
	fclose(f);
	TEST_ASSERT(column >= 0, "no unmapped pageblock counts in /proc/pagetypeinfo");
}

/* Move this process into the cgroup of @procs, its cgroup.procs file. */
static void join_cgroup(const char *procs)
{
	FILE *f = fopen(procs, "w");

	TEST_ASSERT(f && fprintf(f, "%d\n", getpid()) > 0 && !fclose(f),
		    "join %s: %s", procs, strerror(errno));
}

/* Node of every page of @mem, a guest_memfd's mapping of @size bytes. */
static void expect_on_node(u8 *mem, size_t size, int node)
{
	size_t i, pages = size / getpagesize();
	void **addrs = calloc(pages, sizeof(*addrs));
	int *status = calloc(pages, sizeof(*status));

	TEST_ASSERT(addrs && status, "calloc");
	/* Fault each page into the mapping, for move_pages() to find it. */
	for (i = 0; i < pages; i++) {
		addrs[i] = mem + i * getpagesize();
		TEST_ASSERT(!READ_ONCE(*(u8 *)addrs[i]), "page %zu is not zero", i);
	}
	kvm_move_pages(0, pages, addrs, NULL, status, 0);
	for (i = 0; i < pages; i++)
		TEST_ASSERT(status[i] == node, "page %zu is on node %d, bound to %d",
			    i, status[i], node);
	free(addrs);
	free(status);
}

/* A memfd_secret page touched where no zone can serve it. */
static void test_secretmem_refused(int node)
{
	int fd, status;
	u8 *mem = secret_page(&fd);

	if (!mem)
		return;
	status = touch_in_child(mem, 5, NULL);
	TEST_ASSERT(WIFSIGNALED(status) &&
		    (WTERMSIG(status) == SIGALRM || WTERMSIG(status) == SIGBUS),
		    "memfd_secret page on movable-only node %d: status %#x", node, status);
	printf("memfd_secret on node %d: refused (%s)\n", node, strsignal(WTERMSIG(status)));
	kvm_munmap(mem, getpagesize());
	close(fd);
}

int main(int argc, char *argv[])
{
	const u64 flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED |
			  GUEST_MEMFD_FLAG_NO_DIRECT_MAP;
	unsigned long before[MAX_NODES], after[MAX_NODES];
	const char *cgroup_procs = NULL;
	bool movable_only = false;
	int node = -1, opt, fd, i, r;
	size_t size = SZ_8M;
	struct kvm_vm *vm;
	u8 *mem;

	while ((opt = getopt(argc, argv, "n:m:Mc:")) != -1) {
		switch (opt) {
		case 'c':
			cgroup_procs = optarg;
			break;
		case 'n':
			node = atoi(optarg);
			break;
		case 'm':
			size = strtoul(optarg, NULL, 0) << 20;
			break;
		case 'M':
			movable_only = true;
			break;
		default:
			printf("usage: %s -n NODE [-m MIB] [-M -c CGROUP_PROCS]\n", argv[0]);
			exit(KSFT_FAIL);
		}
	}
	TEST_ASSERT(node >= 0 && node < MAX_NODES, "-n NODE is needed");
	TEST_ASSERT(!movable_only == !cgroup_procs, "-M goes with -c");
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD_FLAGS) &
		     GUEST_MEMFD_FLAG_NO_DIRECT_MAP);

	vm = vm_create_barebones();
	fd = vm_create_guest_memfd(vm, size, flags);
	mem = kvm_mmap(size, PROT_READ, MAP_SHARED, fd);
	unmapped_blocks(before);
	if (movable_only) {
		join_cgroup(cgroup_procs);
	} else {
		unsigned long mask = 1UL << node;

		kvm_mbind(mem, size, MPOL_BIND, &mask, BITS_PER_LONG, 0);
	}
	r = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, size);
	unmapped_blocks(after);

	if (movable_only) {
		TEST_ASSERT(r < 0 && errno == ENOMEM,
			    "fallocate bound to movable-only node %d: %d, errno %d",
			    node, r, errno);
		printf("guest_memfd on node %d: ENOMEM\n", node);
		test_secretmem_refused(node);
	} else {
		TEST_ASSERT(!r, "fallocate of %zu MiB bound to node %d: %s",
			    size >> 20, node, strerror(errno));
		expect_on_node(mem, size, node);
		/* Reclaim on the bound node may shrink the others' pools. */
		for (i = 0; i < MAX_NODES; i++)
			TEST_ASSERT(i == node || after[i] <= before[i],
				    "node %d's unmapped pageblocks: %lu before, %lu after (nodes 0-2: %lu %lu %lu before, %lu %lu %lu after)",
				    i, before[i], after[i], before[0], before[1], before[2],
				    after[0], after[1], after[2]);
		printf("guest_memfd on node %d: %zu MiB there, unmapped pageblocks %lu -> %lu; none taken elsewhere\n",
		       node, size >> 20, before[node], after[node]);
	}
	kvm_munmap(mem, size);
	close(fd);
	kvm_vm_free(vm);
	return 0;
}
