/* SPDX-License-Identifier: MIT */
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
 * The file never holds an expired token while the daemon runs. A write that
 * fails (ENOSPC, EACCES, a group it cannot take after a reload) leaves the
 * old file, whose token is still good for a while: the write is retried on
 * a timer, 1 s doubling to a minute, from a copy of the text (wiped when
 * done), until it works or a newer token replaces it; and a CLOCK_REALTIME
 * timerfd at the expiry of the token the file holds (which also wakes on a
 * clock step, and counts a suspend) removes the file then, if nothing newer
 * could be written. A removal that fails is retried the same way. At exit
 * the file is removed: nothing would keep it current.
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
#include <sys/timerfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "atomicfile.h"
#include "config.h"
#include "log.h"
#include "sink.h"
#include "tokentext.h"

#define SINK_TMP_TAG        ".tvtokend."
#define SINK_TMP_RANDOM     6                       /* the XXXXXX of mkostemp */
#define SINK_LOG_INTERVAL   (10 * USEC_PER_MIN)     /* the same failure, logged again after */
#define SINK_STEP_GROUP     "set the group of"
#define SINK_RETRY_MIN      USEC_PER_SEC            /* first retry of a failed write or removal */
#define SINK_RETRY_MAX      USEC_PER_MIN            /* ... doubling up to this */

/* What the file should become and could not yet. */
enum sink_pending {
	SINK_PENDING_NONE,
	SINK_PENDING_WRITE,             /* text */
	SINK_PENDING_REMOVE,
};

struct sink {
	struct event_base *base;
	char *path;                     /* NULL: no token file */
	mode_t mode;
	bool has_group;
	gid_t group;
	enum config_sink_format format;

	bool failing;                   /* the last write or removal failed */
	int last_err;                   /* its errno, for rate limiting */
	usec_t last_log;                /* monotonic time it was last logged */
	unsigned suppressed;            /* failures not logged since */

	/* The token the file holds, as far as we know: its expiry (0: none of ours), and a timer at it. */
	usec_t file_expiration;
	uint64_t file_generation;
	int tfd;
	struct event *expiry_ev;

	/* A write or removal to retry, and when. */
	enum sink_pending pending;
	char *text;                     /* PENDING_WRITE: the token as the file must hold it; wiped */
	size_t text_len;
	usec_t text_expiration;
	uint64_t text_generation;
	usec_t retry_delay;
	struct event *retry_ev;
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
		    "message); retrying", what, s->path, strerror(err),
		    sink_hint(what, err), s->suppressed);
	else
		log_warnx("cannot %s the token file %s: %s%s; retrying",
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

/* Replace the file with text: a temporary file with the final group and mode, renamed over it. */
static int sink_replace(struct sink *s, const char *text, size_t len, const char **what)
{
	static const char *const steps[] = {
		[ATOMICFILE_CREATE] = "create a temporary file beside",
		[ATOMICFILE_GROUP] = SINK_STEP_GROUP,
		[ATOMICFILE_MODE] = "set the mode of",
		[ATOMICFILE_WRITE] = "write",
		[ATOMICFILE_RENAME] = "replace",
	};
	enum atomicfile_step failed;
	char *tmp, *prefix;
	int r;

	prefix = sink_tmp_prefix(s->path);
	if (prefix == NULL)
		return -ENOMEM;
	r = asprintf(&tmp, "%sXXXXXX", prefix);
	free(prefix);
	if (r < 0)
		return -ENOMEM;
	r = atomicfile_replace(s->path, tmp, text, len, s->mode,
	    s->has_group ? s->group : (gid_t)-1, &failed);
	if (r < 0)
		*what = steps[failed];
	free(tmp);
	return r;
}

/* Remove the file at path; a file that is not there is fine. */
static int sink_remove_path(const char *path)
{
	if (unlink(path) < 0)
		return errno == ENOENT ? 0 : -errno;
	atomicfile_sync_dir(path);
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

/* Forget the write or removal waiting for a retry, wiping the text. */
static void sink_pending_clear(struct sink *s)
{
	if (s->text != NULL)
		tokentext_free(s->text, s->text_len);
	s->text = NULL;
	s->text_len = 0;
	s->pending = SINK_PENDING_NONE;
	s->retry_delay = 0;
	if (s->retry_ev != NULL)
		event_del(s->retry_ev);
}

/* Try the pending write or removal again later: 1 s, doubling to a minute. */
static void sink_retry_later(struct sink *s, enum sink_pending what)
{
	struct timeval tv;

	s->pending = what;
	s->retry_delay = s->retry_delay == 0 ? SINK_RETRY_MIN : s->retry_delay * 2;
	if (s->retry_delay > SINK_RETRY_MAX)
		s->retry_delay = SINK_RETRY_MAX;
	tv.tv_sec = (time_t)(s->retry_delay / USEC_PER_SEC);
	tv.tv_usec = (suseconds_t)(s->retry_delay % USEC_PER_SEC);
	if (evtimer_add(s->retry_ev, &tv) < 0)
		log_warnx("cannot arm the retry of the token file %s", s->path);
}

/* Arm the expiry timer at the expiry of the token the file holds, or disarm it. */
static void sink_arm_expiry(struct sink *s)
{
	struct itimerspec its = { 0 };

	if (s->tfd < 0)
		return;
	if (s->file_expiration != 0) {
		its.it_value.tv_sec = (time_t)(s->file_expiration / USEC_PER_SEC);
		its.it_value.tv_nsec = (long)(s->file_expiration % USEC_PER_SEC) * 1000;
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
	}
	if (timerfd_settime(s->tfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0)
		log_warn("timerfd_settime (token file expiry)");
}

/* The file now holds the token of this generation and expiry (0: no file). */
static void sink_holds(struct sink *s, uint64_t generation, usec_t expiration)
{
	s->file_generation = generation;
	s->file_expiration = expiration;
	sink_arm_expiry(s);
}

/* Remove the file, saying why when it was there; retried on failure. 0 or -errno. */
static int sink_remove(struct sink *s, const char *why)
{
	int r = sink_remove_path(s->path);

	if (r < 0) {
		sink_failed(s, "remove", -r);
		return r;
	}
	if (r > 0)
		log_info("removed the token file %s: %s", s->path, why);
	sink_holds(s, 0, 0);
	sink_succeeded(s, "removed");
	return 0;
}

/* Write text (a token of this generation and expiry); 0, or -errno (logged). */
static int sink_write(struct sink *s, const char *text, size_t len, uint64_t generation,
    usec_t expiration)
{
	const char *what = "write";
	int r;

	r = sink_replace(s, text, len, &what);
	if (r < 0) {
		sink_failed(s, what, -r);
		return r;
	}
	log_debug("wrote the token file %s (generation %llu)", s->path, (unsigned long long)generation);
	sink_holds(s, generation, expiration);
	sink_succeeded(s, "written");
	return 0;
}

/*
 * The file holds an expired token: remove it (retried until it goes); a
 * failing write stays failing. Without a newer token waiting to be written,
 * this is the broker's own loss of the token, whichever timer fired first.
 */
static void sink_drop_expired(struct sink *s)
{
	int r = sink_remove_path(s->path);

	if (r < 0) {
		sink_failed(s, "remove", -r);
		if (s->pending == SINK_PENDING_NONE)
			sink_retry_later(s, SINK_PENDING_REMOVE);
		return;
	}
	if (r > 0 && s->pending == SINK_PENDING_WRITE)
		log_warnx("removed the token file %s: the token it held (generation %llu) expired, "
		    "and the newer one could not be written", s->path,
		    (unsigned long long)s->file_generation);
	else if (r > 0)
		log_info("removed the token file %s: no valid token is held", s->path);
	sink_holds(s, 0, 0);
}

/* Retry the write or removal that failed. */
static void sink_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sink *s = arg;
	usec_t now = time_now();

	if (s->file_expiration != 0 && now >= s->file_expiration && s->pending == SINK_PENDING_WRITE)
		sink_drop_expired(s);
	switch (s->pending) {
	case SINK_PENDING_NONE:
		return;
	case SINK_PENDING_REMOVE:
		if (sink_remove(s, "the token it held is no longer valid") == 0)
			sink_pending_clear(s);
		else
			sink_retry_later(s, SINK_PENDING_REMOVE);
		return;
	case SINK_PENDING_WRITE:
		if (now >= s->text_expiration) {
			/* Too late for this one: the broker announces the next, or the loss. */
			sink_pending_clear(s);
			return;
		}
		if (sink_write(s, s->text, s->text_len, s->text_generation, s->text_expiration) == 0)
			sink_pending_clear(s);
		else
			sink_retry_later(s, SINK_PENDING_WRITE);
		return;
	}
}

/* The token the file holds expired (or the clock was stepped): remove it if so, else re-arm. */
static void sink_expiry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sink *s = arg;
	uint64_t ticks;

	if (read(s->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN && errno != ECANCELED)
		log_warn("reading the token file's expiry timer");
	if (s->path == NULL || s->file_expiration == 0)
		return;
	if (time_now() >= s->file_expiration)
		sink_drop_expired(s);
	else
		sink_arm_expiry(s);
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
int sink_new(struct event_base *base, const struct config *cfg, struct sink **out)
{
	struct sink *s = calloc(1, sizeof(*s));
	int r;

	if (s == NULL)
		return -ENOMEM;
	s->base = base;
	s->tfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->tfd < 0) {
		r = -errno;
		free(s);
		return r;
	}
	s->expiry_ev = event_new(base, s->tfd, EV_READ | EV_PERSIST, sink_expiry_cb, s);
	s->retry_ev = evtimer_new(base, sink_retry_cb, s);
	if (s->expiry_ev == NULL || s->retry_ev == NULL || event_add(s->expiry_ev, NULL) < 0 ||
	    sink_configure(s, cfg) < 0) {
		s->path = NULL;
		sink_free(s);
		return -ENOMEM;
	}
	if (s->path != NULL)
		sink_remove_stale(s->path);
	*out = s;
	return 0;
}

/* Write the token, or remove the file when there is none; a failure is retried. */
void sink_update(struct sink *s, const struct token *t)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	if (s == NULL || s->path == NULL)
		return;
	/* Whatever waited for a retry is replaced by this. */
	sink_pending_clear(s);
	if (t == NULL) {
		if (sink_remove(s, "no valid token is held") < 0)
			sink_retry_later(s, SINK_PENDING_REMOVE);
		return;
	}
	r = tokentext_render(t, s->format, &text, &len);
	if (r == -EINVAL) {
		/* Never write what the format cannot carry; never leave the old token either. */
		log_warnx("the token (generation %llu) has characters Format= cannot carry safely; "
		    "removing the token file %s instead", (unsigned long long)t->generation, s->path);
		if (sink_remove(s, "the new token cannot be written in its Format=") < 0)
			sink_retry_later(s, SINK_PENDING_REMOVE);
		return;
	}
	if (r < 0) {
		/* Nothing to retry from: the expiry timer removes the old file in time. */
		sink_failed(s, "write", -r);
		return;
	}
	if (sink_write(s, text, len, t->generation, t->expiration) == 0) {
		tokentext_free(text, len);
		return;
	}
	/* Kept (wiped later) for the retries. */
	s->text = text;
	s->text_len = len;
	s->text_generation = t->generation;
	s->text_expiration = t->expiration;
	/* A file we did not write (left by a killed daemon) may hold anything: not kept. */
	if (s->file_expiration == 0 && sink_remove_path(s->path) > 0)
		log_info("removed the token file %s: it could not be brought up to date", s->path);
	sink_retry_later(s, SINK_PENDING_WRITE);
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
	sink_pending_clear(s);
	if (old != NULL) {
		int r = sink_remove_path(old);

		if (r > 0)
			log_info("removed the token file %s: File= now names %s", old,
			    s->path != NULL ? s->path : "none");
		else if (r < 0)
			log_warnx("cannot remove the old token file %s: %s", old, strerror(-r));
		free(old);
		/* Nothing of ours at the new path yet. */
		sink_holds(s, 0, 0);
	}
	if (moved && s->path != NULL)
		sink_remove_stale(s->path);
	sink_update(s, t);
}

/* Remove the file (nothing would keep it current once we are gone), then free the sink. */
void sink_free(struct sink *s)
{
	if (s == NULL)
		return;
	if (s->path != NULL) {
		int r = sink_remove_path(s->path);

		if (r > 0)
			log_info("removed the token file %s at exit", s->path);
		else if (r < 0)
			log_warnx("cannot remove the token file %s at exit: %s", s->path, strerror(-r));
	}
	sink_pending_clear(s);
	if (s->retry_ev != NULL)
		event_free(s->retry_ev);
	if (s->expiry_ev != NULL)
		event_free(s->expiry_ev);
	if (s->tfd >= 0)
		close(s->tfd);
	free(s->path);
	free(s);
}
