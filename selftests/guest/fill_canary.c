// SPDX-License-Identifier: GPL-2.0-only
/*
 * In the nested guest ("L2"): fill MiB of fresh anonymous memory with a
 * 64-bit canary, say so on stdout, and keep it until killed, so that the
 * host can scan its direct map for pages that hold the canary.
 *
 * SIGUSR1 asks it to check its memory and print "status round R ok" or
 * what it found wrong; SIGUSR2 to fill the canary area with a new canary,
 * the next of a linear congruential sequence (so it never repeats an
 * earlier one, and two instances started with the same canary move in
 * step), and print "refill canary VALUE": memory written only after the
 * guest moved (e.g. into unmapped memory).
 *
 * With DIRTY_MIB, keep dirtying that much more memory meanwhile, for
 * migration tests, from the first request on (so as not to slow the
 * guest's boot and DIMM steps): round r (from 1) writes r into the first
 * and last word of each page in turn, pausing 1 ms each 16 pages, so that
 * precopy sees a steady dirty rate of at most 64 MB/s. Its status check, between two
 * writes, also finds the pages already done in this round holding r and
 * the others r - 1: a page that migration lost or left stale shows there.
 * Without DIRTY_MIB, the round is 0.
 *
 * usage: fill_canary CANARY MIB [DIRTY_MIB]
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE_WORDS	(4096 / sizeof(uint64_t))

static volatile sig_atomic_t status_asked, refill_asked;

static void ask(int sig)
{
	if (sig == SIGUSR1)
		status_asked = 1;
	else
		refill_asked = 1;
}

static void fill(uint64_t *mem, size_t words, uint64_t canary)
{
	size_t i;

	for (i = 0; i < words; i++)
		mem[i] = canary;
}

static uint64_t *map(size_t size)
{
	uint64_t *mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (mem == MAP_FAILED) {
		perror("fill_canary: mmap");
		exit(1);
	}
	return mem;
}

/* Print the status of both areas while round @round is at page @next. */
static void print_status(const uint64_t *canary_mem, size_t canary_words, uint64_t canary,
			 const uint64_t *dirty_mem, size_t pages, size_t next, uint64_t round)
{
	size_t i;

	for (i = 0; i < canary_words; i++) {
		if (canary_mem[i] != canary) {
			printf("status round %llu FAIL canary word %zu is %#llx\n",
			       (unsigned long long)round, i, (unsigned long long)canary_mem[i]);
			goto out;
		}
	}
	for (i = 0; i < pages; i++) {
		const uint64_t *page = dirty_mem + i * PAGE_WORDS;
		uint64_t expected = i < next ? round : round - 1;

		if (page[0] != expected || page[PAGE_WORDS - 1] != expected) {
			printf("status round %llu FAIL page %zu holds %llu/%llu, expected %llu\n",
			       (unsigned long long)round, i, (unsigned long long)page[0],
			       (unsigned long long)page[PAGE_WORDS - 1],
			       (unsigned long long)expected);
			goto out;
		}
	}
	printf("status round %llu ok\n", (unsigned long long)round);
out:
	fflush(stdout);
}

/* Answer what was asked since the last call, while round @round is at page @next. */
static void serve(uint64_t *mem, size_t words, uint64_t *canary,
		  const uint64_t *dirty_mem, size_t pages, size_t next, uint64_t round)
{
	if (status_asked) {
		status_asked = 0;
		print_status(mem, words, *canary, dirty_mem, pages, next, round);
	}
	if (refill_asked) {
		refill_asked = 0;
		/* Knuth's MMIX constants: period 2^64. */
		*canary = *canary * 6364136223846793005ULL + 1442695040888963407ULL;
		fill(mem, words, *canary);
		printf("refill canary %#llx\n", (unsigned long long)*canary);
		fflush(stdout);
	}
}

int main(int argc, char **argv)
{
	uint64_t canary, *mem, *dirty_mem, round;
	size_t size, words, pages, i;
	sigset_t asked, unblocked;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: %s CANARY MIB [DIRTY_MIB]\n", argv[0]);
		return 2;
	}
	/* Before "filled": the guest's init may ask as soon as it reads it. */
	signal(SIGUSR1, ask);
	signal(SIGUSR2, ask);
	canary = strtoull(argv[1], NULL, 0);
	size = strtoull(argv[2], NULL, 0) << 20;
	words = size / sizeof(*mem);
	mem = map(size);
	fill(mem, words, canary);
	printf("filled %zu MiB\n", size >> 20);
	fflush(stdout);
	/* Block the signals but in sigsuspend(), so that none is missed. */
	sigemptyset(&asked);
	sigaddset(&asked, SIGUSR1);
	sigaddset(&asked, SIGUSR2);
	sigprocmask(SIG_BLOCK, &asked, &unblocked);
	if (argc == 3) {
		for (;;) {
			serve(mem, words, &canary, NULL, 0, 0, 0);
			sigsuspend(&unblocked);
		}
	}

	pages = (strtoull(argv[3], NULL, 0) << 20) / 4096;
	dirty_mem = map(pages * 4096);
	while (!status_asked && !refill_asked)
		sigsuspend(&unblocked);
	sigprocmask(SIG_SETMASK, &unblocked, NULL);
	for (round = 1;; round++) {
		for (i = 0; i < pages; i++) {
			serve(mem, words, &canary, dirty_mem, pages, i, round);
			dirty_mem[i * PAGE_WORDS] = round;
			dirty_mem[i * PAGE_WORDS + PAGE_WORDS - 1] = round;
			if (i % 16 == 15)
				usleep(1000);
		}
	}
}
