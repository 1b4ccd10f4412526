/* SPDX-License-Identifier: GPL-2.0-only */
/* /proc/vmstat for the project's selftests. */
#ifndef SELFTEST_UNMAPPED_VMSTAT_H
#define SELFTEST_UNMAPPED_VMSTAT_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

/* The value of the /proc/vmstat counter @key, which must exist. */
static inline unsigned long vm_event(const char *key)
{
	unsigned long val, found = 0;
	char name[64];
	FILE *f = fopen("/proc/vmstat", "r");

	TEST_ASSERT(f, "open /proc/vmstat: %s", strerror(errno));
	while (!found && fscanf(f, "%63s %lu", name, &val) == 2)
		found = !strcmp(name, key);
	fclose(f);
	TEST_ASSERT(found, "%s is not in /proc/vmstat", key);
	return val;
}

#endif
