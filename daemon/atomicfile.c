/* SPDX-License-Identifier: MIT */
/* Atomic file replacement (see atomicfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"

/* Write all of buf to fd. */
static int atomicfile_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

void atomicfile_sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (copy == NULL)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int atomicfile_replace(const char *path, char *tmpl, const void *data, size_t len,
    mode_t mode, gid_t group, enum atomicfile_step *failed)
{
	enum atomicfile_step step = ATOMICFILE_CREATE;
	struct stat st;
	int fd, r = 0;

	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0) {
		*failed = step;
		return -errno;
	}
	if (group != (gid_t)-1) {
		step = ATOMICFILE_GROUP;
		if (fstat(fd, &st) < 0)
			r = -errno;
		else if (st.st_gid != group && fchown(fd, (uid_t)-1, group) < 0)
			r = -errno;
	}
	if (r == 0) {
		step = ATOMICFILE_MODE;
		if (fchmod(fd, mode) < 0)
			r = -errno;
	}
	if (r == 0) {
		step = ATOMICFILE_WRITE;
		r = atomicfile_write_all(fd, data, len);
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0) {
		step = ATOMICFILE_RENAME;
		if (rename(tmpl, path) < 0)
			r = -errno;
	}
	if (r < 0) {
		unlink(tmpl);
		*failed = step;
		return r;
	}
	atomicfile_sync_dir(path);
	return 0;
}
