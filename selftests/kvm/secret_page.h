/* SPDX-License-Identifier: GPL-2.0-only */
/* memfd_secret(2) pages, and touches that may not return, for the selftests. */
#ifndef SELFTEST_UNMAPPED_SECRET_PAGE_H
#define SELFTEST_UNMAPPED_SECRET_PAGE_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvm_syscalls.h"
#include "test_util.h"

/*
 * A mapped one-page memfd_secret(2) area, its file in *@fd; NULL, said on
 * stdout, where the kernel offers no memfd_secret.
 */
static inline u8 *secret_page(int *fd)
{
	*fd = syscall(__NR_memfd_secret, 0);
	if (*fd < 0) {
		printf("memfd_secret: %s, not tested\n", strerror(errno));
		return NULL;
	}
	TEST_ASSERT(!ftruncate(*fd, getpagesize()), "ftruncate: %s", strerror(errno));
	return kvm_mmap(getpagesize(), PROT_READ | PROT_WRITE, MAP_SHARED, *fd);
}

/*
 * Write @mem in a child that runs @prepare (if any) first and has @seconds
 * for the write; the child's wait status. A SIGBUS kills the child, as the
 * selftest library's handler is taken off.
 */
static inline int touch_in_child(volatile u8 *mem, unsigned int seconds,
				 void (*prepare)(void))
{
	int status;
	pid_t pid = fork();

	TEST_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		signal(SIGBUS, SIG_DFL);
		if (prepare)
			prepare();
		alarm(seconds);
		*mem = 1;
		_exit(0);
	}
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	return status;
}

#endif
