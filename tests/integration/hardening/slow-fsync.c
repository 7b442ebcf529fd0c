/* SPDX-License-Identifier: MIT */
/*
 * LD_PRELOAD shim for test-expiry-during-apply.sh: every fsync() first
 * sleeps $SLOW_FSYNC_US microseconds (default 100 ms), so that the broker's
 * state-file saves stretch the time between deciding and acting.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int fsync(int fd)
{
	static int (*real)(int);
	const char *e = getenv("SLOW_FSYNC_US");
	long us = e != NULL ? atol(e) : 100000;
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	nanosleep(&ts, NULL);
	return real(fd);
}
