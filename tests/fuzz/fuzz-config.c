/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the config parser (config_load), on a main file and a
 * drop-in. The input is the main file, then a NUL, then the drop-in (no NUL:
 * no drop-in). Secrets come from $CREDENTIALS_DIRECTORY, set up once.
 *
 * Checked: a load either succeeds with every value in its documented range
 * and no error, or fails with at least one error (or -ENOMEM), each error a
 * line of printable text; config_free and config_errors_free leave nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char main_path[128], dropin_dir[160], dropin_path[200];

/* Trap (a crash to libFuzzer) when a checked property does not hold. */
static void
check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

/* Write len bytes to path (mode 0600), replacing it. */
static void
put(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		abort();
	if (len > 0 && write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

/* Remove the scratch directory at exit. */
static void
cleanup(void)
{
	char p[256];

	unlink(main_path);
	unlink(dropin_path);
	rmdir(dropin_dir);
	snprintf(p, sizeof(p), "%s/tradovate-password", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/tradovate-sec", dir);
	unlink(p);
	rmdir(dir);
}

/* The scratch directory and credentials, made on the first input. */
static void
setup_once(void)
{
	char p[256];

	if (dir[0] != '\0')
		return;
	snprintf(dir, sizeof(dir), "%s/tvtokend-fuzz-config.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(main_path, sizeof(main_path), "%s/tvtokend.conf", dir);
	snprintf(dropin_dir, sizeof(dropin_dir), "%s.d", main_path);
	snprintf(dropin_path, sizeof(dropin_path), "%s/50-fuzz.conf", dropin_dir);
	if (mkdir(dropin_dir, 0700) < 0)
		abort();
	snprintf(p, sizeof(p), "%s/tradovate-password", dir);
	put(p, "demo-password\n", 14);
	snprintf(p, sizeof(p), "%s/tradovate-sec", dir);
	put(p, "demo-secret\n", 12);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	setenv("RUNTIME_DIRECTORY", dir, 1);
	atexit(cleanup);
}

/* Every value of a loaded config is one CONTRACT §3 and §7 allow. */
static void
check_config(const struct config *c)
{
	check(c->base_url && (strncmp(c->base_url, "https://", 8) == 0 || strncmp(c->base_url, "http://", 7) == 0));
	check(c->name && c->app_id && c->app_version && c->device_id);
	check(c->client_id >= 0 && c->client_id <= 2147483647);
	check(c->max_renewals_per_hour >= 1 && c->max_renewals_per_hour <= 15);
	check(c->max_failed_requests_per_hour >= 1 && c->max_failed_requests_per_hour <= 5);
	check(c->retry_min > 0 && c->retry_min <= c->retry_max);
	check(c->renew_before > 0 && c->lockout > 0 && c->request_timeout > 0);
	check(c->password && c->password[0] && c->secret && c->secret[0]);
	check(c->max_clients >= 1);
}

/* One input: see the comment at the top. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nul = memchr(data, '\0', size);
	struct config_errors errs = { 0 };
	struct config c;
	int r;

	if (size > 64 * 1024)
		return 0;
	setup_once();
	put(main_path, (const char *)data, nul ? (size_t)(nul - (const char *)data) : size);
	if (nul)
		put(dropin_path, nul + 1, size - (size_t)(nul + 1 - (const char *)data));
	else
		unlink(dropin_path);

	memset(&c, 0, sizeof(c));
	r = config_load(main_path, &c, &errs);
	if (r == 0) {
		check(errs.n == 0);
		check_config(&c);
		config_free(&c);
	} else {
		check(r == -ENOMEM || errs.n > 0);
		for (size_t i = 0; i < errs.n; i++) {
			check(errs.msg[i] != NULL && strchr(errs.msg[i], '\n') == NULL);
		}
	}
	config_errors_free(&errs);
	return 0;
}
