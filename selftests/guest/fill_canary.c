// SPDX-License-Identifier: GPL-2.0-only
/*
 * In the nested guest ("L2"): fill MiB of fresh anonymous memory with a
 * 64-bit canary, say so on stdout, and keep it until killed, so that the
 * host can scan its direct map for pages that hold the canary.
 *
 * usage: fill_canary CANARY MIB
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	uint64_t canary, *mem;
	size_t size, i;

	if (argc != 3) {
		fprintf(stderr, "usage: %s CANARY MIB\n", argv[0]);
		return 2;
	}
	canary = strtoull(argv[1], NULL, 0);
	size = strtoull(argv[2], NULL, 0) << 20;
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED) {
		perror("fill_canary: mmap");
		return 1;
	}
	for (i = 0; i < size / sizeof(*mem); i++)
		mem[i] = canary;
	printf("filled %zu MiB\n", size >> 20);
	fflush(stdout);
	for (;;)
		pause();
}
