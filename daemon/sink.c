/*
 * The token file. Every write is atomic: a temporary file in the same
 * directory (".NAME.tvtokend.XXXXXX", created 0600, then given the final
 * group and mode before a byte of the token is written), written, fsync'ed,
 * renamed over NAME, then the directory fsync'ed. A reader sees the old
 * file or the new one, never a partial or empty one. A daemon killed
 * between creating and renaming leaves a temporary file behind: the next
 * start (and a reload that points File= elsewhere) removes those, and only
 * those: our prefix, regular files, owned by us.
 *
 * When no valid token is held (it expired, the renewal was refused, the
 * account changed) the file is removed rather than emptied: a missing file
 * is an unambiguous "no token" for every consumer, where an empty one would
 * be read as an empty token, or, sourced by sh, silently keep the old
 * variables.
 *
 * This is local file I/O on the loop, like the state file's: small writes
 * to (usually) a tmpfs, where fsync costs nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "sink.h"
#include "tokentext.h"

#define SINK_TMP_TAG        ".tvtokend."
#define SINK_TMP_RANDOM     6                       /* the XXXXXX of mkostemp */
#define SINK_LOG_INTERVAL   (10 * USEC_PER_MIN)     /* the same failure, logged again after */
#define SINK_STEP_GROUP     "set the group of"

struct sink {
	char *path;                     /* NULL: no token file */
	mode_t mode;
	bool has_group;
	gid_t group;
	enum config_sink_format format;

	bool failing;                   /* the last write or removal failed */
	int last_err;                   /* its errno, for rate limiting */
	usec_t last_log;                /* monotonic time it was last logged */
	unsigned suppressed;            /* failures not logged since */
};

/* Split path into a copy of its directory and a pointer to its last component. */
static int sink_split(const char *path, char **dir, const char **base)
{
	const char *slash = strrchr(path, '/');

	*dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	if (*dir == NULL)
		return -ENOMEM;
	*base = slash + 1;
	return 0;
}

/* The prefix of our temporary files for path: "DIR/.NAME.tvtokend.". */
static char *sink_tmp_prefix(const char *path)
{
	const char *base;
	char *dir, *p;

	if (sink_split(path, &dir, &base) < 0)
		return NULL;
	if (asprintf(&p, "%s/.%s" SINK_TMP_TAG, strcmp(dir, "/") == 0 ? "" : dir, base) < 0)
		p = NULL;
	free(dir);
	return p;
}

/* What an operator can do about err in the step what, or "". */
static const char *sink_hint(const char *what, int err)
{
	if (strcmp(what, SINK_STEP_GROUP) == 0)
		return "; FileGroup= needs the daemon in that group (SupplementaryGroups=) and, "
		    "under tvtokend.service, PrivateUsers=no and SystemCallFilter=@chown in a "
		    "drop-in; a directory the daemon owns, with that group and the set-group-ID "
		    "bit, gives the file its group without any of them";
	if (err == EROFS || err == EACCES)
		return "; under tvtokend.service only /run/tvtokend is writable: add the file's "
		    "directory to ReadWritePaths= in a drop-in (systemctl edit tvtokend)";
	if (err == ENOENT)
		return "; the directory must exist";
	return "";
}

/* Log a failure, at most once per SINK_LOG_INTERVAL for the same errno. */
static void sink_failed(struct sink *s, const char *what, int err)
{
	usec_t now = time_monotonic();

	if (s->failing && err == s->last_err && now - s->last_log < SINK_LOG_INTERVAL) {
		s->suppressed++;
		return;
	}
	if (s->suppressed > 0)
		log_warnx("cannot %s the token file %s: %s%s (%u more failures since the last "
		    "message); retried at the next token change", what, s->path, strerror(err),
		    sink_hint(what, err), s->suppressed);
	else
		log_warnx("cannot %s the token file %s: %s%s; retried at the next token change",
		    what, s->path, strerror(err), sink_hint(what, err));
	s->failing = true;
	s->last_err = err;
	s->last_log = now;
	s->suppressed = 0;
}

/* A write or removal worked: say so once after failures. */
static void sink_succeeded(struct sink *s, const char *what)
{
	if (s->failing)
		log_info("the token file %s was %s again", s->path, what);
	s->failing = false;
	s->suppressed = 0;
}

/* Write all of buf to fd. */
static int sink_write_all(int fd, const char *buf, size_t len)
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

/* fsync the directory of path so that a rename or unlink survives a crash. */
static void sink_sync_dir(const char *path)
{
	const char *base;
	char *dir;
	int fd;

	if (sink_split(path, &dir, &base) < 0)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

/* Replace the file with text: temp file with the final group and mode, write, fsync, rename. */
static int sink_replace(struct sink *s, const char *text, size_t len, const char **what)
{
	struct stat st;
	char *tmp, *prefix;
	int fd, r = 0;

	prefix = sink_tmp_prefix(s->path);
	if (prefix == NULL)
		return -ENOMEM;
	r = asprintf(&tmp, "%sXXXXXX", prefix);
	free(prefix);
	if (r < 0)
		return -ENOMEM;
	*what = "create a temporary file beside";
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		free(tmp);
		return r;
	}
	r = 0;
	if (s->has_group) {
		*what = SINK_STEP_GROUP;
		if (fstat(fd, &st) < 0)
			r = -errno;
		else if (st.st_gid != s->group && fchown(fd, (uid_t)-1, s->group) < 0)
			r = -errno;
	}
	if (r == 0) {
		*what = "set the mode of";
		if (fchmod(fd, s->mode) < 0)
			r = -errno;
	}
	if (r == 0) {
		*what = "write";
		r = sink_write_all(fd, text, len);
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, s->path) < 0) {
		*what = "replace";
		r = -errno;
	}
	if (r < 0)
		unlink(tmp);
	else
		sink_sync_dir(s->path);
	free(tmp);
	return r;
}

/* Remove the file at path; a file that is not there is fine. */
static int sink_remove_path(const char *path)
{
	if (unlink(path) < 0)
		return errno == ENOENT ? 0 : -errno;
	sink_sync_dir(path);
	return 1;
}

/* Remove what a killed daemon may have left: our temporary files beside path. */
static void sink_remove_stale(const char *path)
{
	const char *base, *prefix_base;
	char *dir, *prefix;
	struct dirent *de;
	struct stat st;
	size_t plen;
	DIR *d;

	prefix = sink_tmp_prefix(path);
	if (prefix == NULL)
		return;
	if (sink_split(path, &dir, &base) < 0) {
		free(prefix);
		return;
	}
	prefix_base = strrchr(prefix, '/') + 1;
	plen = strlen(prefix_base);
	d = opendir(dir);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix_base, plen) != 0 ||
		    strlen(de->d_name) != plen + SINK_TMP_RANDOM)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || st.st_uid != geteuid())
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			log_info("removed %s/%s, a temporary token file left by a daemon that was killed",
			    strcmp(dir, "/") == 0 ? "" : dir, de->d_name);
	}
	if (d != NULL)
		closedir(d);
	free(dir);
	free(prefix);
}

/* Copy cfg's [Sink] keys into s. -ENOMEM leaves s untouched. */
static int sink_configure(struct sink *s, const struct config *cfg)
{
	char *path = NULL;

	if (cfg->sink_file != NULL) {
		path = strdup(cfg->sink_file);
		if (path == NULL)
			return -ENOMEM;
	}
	free(s->path);
	s->path = path;
	s->mode = cfg->sink_mode;
	s->has_group = cfg->has_sink_group;
	s->group = cfg->sink_group;
	s->format = cfg->sink_format;
	s->failing = false;
	s->suppressed = 0;
	return 0;
}

/* Create the sink and clean up after a killed predecessor. */
int sink_new(const struct config *cfg, struct sink **out)
{
	struct sink *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return -ENOMEM;
	if (sink_configure(s, cfg) < 0) {
		free(s);
		return -ENOMEM;
	}
	if (s->path != NULL)
		sink_remove_stale(s->path);
	*out = s;
	return 0;
}

/* Write the token, or remove the file when there is none. */
void sink_update(struct sink *s, const struct token *t)
{
	const char *what = "write";
	char *text = NULL;
	size_t len = 0;
	int r;

	if (s == NULL || s->path == NULL)
		return;
	if (t == NULL) {
		r = sink_remove_path(s->path);
		if (r < 0) {
			sink_failed(s, "remove", -r);
			return;
		}
		if (r > 0)
			log_info("removed the token file %s: no valid token is held", s->path);
		sink_succeeded(s, "removed");
		return;
	}
	r = tokentext_render(t, s->format, &text, &len);
	if (r == -EINVAL) {
		/* Never write what the format cannot carry; never leave the old token either. */
		log_warnx("the token (generation %llu) has characters Format= cannot carry safely; "
		    "removing the token file %s instead", (unsigned long long)t->generation, s->path);
		r = sink_remove_path(s->path);
		if (r < 0)
			sink_failed(s, "remove", -r);
		return;
	}
	if (r < 0) {
		sink_failed(s, "write", -r);
		return;
	}
	r = sink_replace(s, text, len, &what);
	tokentext_free(text, len);
	if (r < 0) {
		sink_failed(s, what, -r);
		return;
	}
	log_debug("wrote the token file %s (generation %llu)", s->path,
	    (unsigned long long)t->generation);
	sink_succeeded(s, "written");
}

/* Follow a reload: move, rewrite, or leave the file alone. */
void sink_reload(struct sink *s, const struct config *cfg, const struct token *t)
{
	bool moved, changed;
	char *old = NULL;

	if (s == NULL)
		return;
	moved = (s->path == NULL) != (cfg->sink_file == NULL) ||
	    (s->path != NULL && strcmp(s->path, cfg->sink_file) != 0);
	changed = moved || s->mode != cfg->sink_mode || s->has_group != cfg->has_sink_group ||
	    (s->has_group && s->group != cfg->sink_group) || s->format != cfg->sink_format;
	if (!changed)
		return;
	if (moved && s->path != NULL) {
		old = strdup(s->path);
		if (old == NULL) {
			log_warnx("cannot follow the new [Sink] settings: %s", strerror(ENOMEM));
			return;
		}
	}
	if (sink_configure(s, cfg) < 0) {
		log_warnx("cannot follow the new [Sink] settings: %s", strerror(ENOMEM));
		free(old);
		return;
	}
	if (old != NULL) {
		int r = sink_remove_path(old);

		if (r > 0)
			log_info("removed the token file %s: File= now names %s", old,
			    s->path != NULL ? s->path : "none");
		else if (r < 0)
			log_warnx("cannot remove the old token file %s: %s", old, strerror(-r));
		free(old);
	}
	if (moved && s->path != NULL)
		sink_remove_stale(s->path);
	sink_update(s, t);
}

/* Keep or remove the file, then free the sink. */
void sink_free(struct sink *s, bool keep)
{
	if (s == NULL)
		return;
	if (s->path != NULL && !keep) {
		int r = sink_remove_path(s->path);

		if (r > 0)
			log_info("removed the token file %s at exit (no StateFile= to restore "
			    "the token from)", s->path);
		else if (r < 0)
			log_warnx("cannot remove the token file %s at exit: %s", s->path, strerror(-r));
	}
	free(s->path);
	free(s);
}
