/* SPDX-License-Identifier: MIT */
/*
 * The state file: the lifecycle's snapshot (snapshot.c: the held token and
 * its generation, the hourly windows, Tradovate's holds, rejected
 * credentials), so that a restart serves at once without a new Tradovate
 * session and cannot reset a ceiling. Written atomically (temp file, fsync,
 * rename, fsync of the directory), mode 0600; every buffer that held the
 * token is wiped. A kill during a write can leave the temp file behind:
 * statefile_remove_stale() clears them at start.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "snapshot.h"
#include "statefile.h"

#define STATEFILE_MAX SNAPSHOT_MAX
/* mkostemp's suffix: this many characters of [A-Za-z0-9] after "PATH." */
#define STATEFILE_TEMP_SUFFIX 6

/* Read the whole file, at most STATEFILE_MAX bytes. */
static int read_all(const char *path, char **out, size_t *out_len)
{
	char *buf;
	size_t len = 0;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	buf = malloc(STATEFILE_MAX + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, STATEFILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > STATEFILE_MAX) {
			r = -EBADMSG;
			break;
		}
	}
	close(fd);
	if (r < 0) {
		explicit_bzero(buf, len);
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}

/* Read the lifecycle state saved for this account. */
int statefile_read(const char *path, const char *base_url, const char *name, struct lc_snapshot *out)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	r = read_all(path, &buf, &len);
	if (r < 0)
		return r;
	r = snapshot_decode(buf, len, base_url, name, out);
	explicit_bzero(buf, len);
	free(buf);
	return r;
}

/* Replace path with the new state, atomically; only we may read it. */
int statefile_write(const char *path, const char *base_url, const char *name, const struct lc_snapshot *snap)
{
	enum atomicfile_step failed;
	char *text, *tmp;
	size_t len;
	int r;

	r = snapshot_encode(snap, base_url, name, &text, &len);
	if (r < 0)
		return r;
	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		snapshot_text_free(text, len);
		return -ENOMEM;
	}
	r = atomicfile_replace(path, tmp, text, len, 0600, (gid_t)-1, &failed);
	snapshot_text_free(text, len);
	free(tmp);
	return r;
}

/* Whether entry is "BASE." followed by a mkostemp suffix. */
static bool is_temp_name(const char *entry, const char *base)
{
	size_t n = strlen(base), i;

	if (strncmp(entry, base, n) != 0 || entry[n] != '.' || strlen(entry + n + 1) != STATEFILE_TEMP_SUFFIX)
		return false;
	for (i = n + 1; entry[i]; i++) {
		char c = entry[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

/* Whether a file (st) in dfd is empty or starts like a state file: what a killed write leaves. */
static bool looks_like_state(int dfd, const char *name, const struct stat *st)
{
	char c = 0;
	int fd;

	if (st->st_size == 0)
		return true;
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == '{';
}

/* Remove the temp files a write killed half-way left beside path. */
int statefile_remove_stale(const char *path)
{
	char *dcopy = strdup(path), *bcopy = strdup(path);
	const char *dir, *base;
	struct dirent *de;
	DIR *d = NULL;
	int dfd, n = 0, r = 0;

	if (!dcopy || !bcopy) {
		r = -ENOMEM;
		goto out;
	}
	dir = dirname(dcopy);
	base = basename(bcopy);
	d = opendir(dir);
	if (!d) {
		r = errno == ENOENT ? 0 : -errno;
		goto out;
	}
	dfd = dirfd(d);
	while ((errno = 0, de = readdir(d)) != NULL) {
		struct stat st;

		if (!is_temp_name(de->d_name, base))
			continue;
		/* Only our own regular files: never follow a link planted here. */
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_uid != geteuid() || !looks_like_state(dfd, de->d_name, &st))
			continue;
		if (unlinkat(dfd, de->d_name, 0) == 0)
			n++;
		else if (r == 0)
			r = -errno;
	}
	if (errno != 0 && r == 0)
		r = -errno;
out:
	if (d)
		closedir(d);
	free(dcopy);
	free(bcopy);
	return r < 0 ? r : n;
}
