/* SPDX-License-Identifier: MIT */
/*
 * The change hook: ExecOnChange= run at every new token.
 *
 * The child is started with posix_spawn (vfork and exec: nothing of the
 * daemon's memory is copied, and the exec result is known at once) with:
 * stdin, stdout and stderr on three pipes and every other fd closed (ours
 * are O_CLOEXEC anyway; closefrom makes it hold for any a library left
 * open), every signal disposition and the signal mask at their defaults
 * (the daemon ignores SIGPIPE), its own process group (so a timeout reaches
 * whatever it started), "/" as its working directory, and an environment of
 * PATH, TVTOKEND_GENERATION and TVTOKEND_EXPIRATION only: never the token.
 *
 * The loop writes the JSON Token object to the stdin pipe without blocking
 * and closes it; reads stdout and stderr and logs them line by line (stdout
 * as info, stderr as warnings), lines cut at HOOK_LINE_MAX bytes, at most
 * HOOK_OUTPUT_MAX bytes a run; and learns of the exit through a pidfd.
 * The leader is reaped only after its process group got SIGKILL, so a hook
 * leaves nothing running behind it (a child that calls setsid() escapes;
 * under systemd the unit's cgroup takes it at stop), and the group's id
 * cannot be someone else's by then. After a time-out's SIGTERM the group
 * gets SIGKILL at the end of the grace period even when the leader went at
 * once. A leader already reaped by someone else (SIGCHLD ignored: main.c
 * resets it) is logged with its exit status unknown, and nothing is
 * signalled. A line of output that holds a piece of the
 * token the hook was given, or of the newer one queued for the next run
 * (which the token file already holds), is withheld: any of their 16-byte
 * pieces at a multiple of 16, so every stretch of 31 bytes or more, and a
 * line cut at HOOK_LINE_MAX that ends with 4 or more bytes of such a piece
 * (the cut hides the rest of it). The hook's output goes to the journal;
 * the token never does.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "hook.h"
#include "log.h"
#include "timeutil.h"
#include "token.h"
#include "tokentext.h"

#define HOOK_LINE_MAX       900                     /* bytes of one logged line (log.c takes 1023) */
#define HOOK_OUTPUT_MAX     (64 * 1024)             /* bytes logged per run */
#define HOOK_READ_CHUNK     4096
#define HOOK_KILL_GRACE     (5 * USEC_PER_SEC)      /* from SIGTERM to SIGKILL */
#define HOOK_EXIT_GRACE_MS  1000                    /* at daemon exit, the same */
#define HOOK_SCRUB_PIECE    16
#define HOOK_SCRUB_TAIL     4                       /* bytes of a piece that end a cut line */
#define HOOK_PATH           "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct hook;

/* The read end of the child's stdout or stderr, and its partial line. */
struct hook_stream {
	struct hook *hook;
	int fd;                         /* -1: closed */
	struct event *ev;
	bool is_stderr;
	bool cutting;                   /* dropping the rest of an overlong line */
	size_t len;
	char line[HOOK_LINE_MAX + 1];
};

struct hook {
	struct event_base *base;
	char **argv;                    /* NULL: no hook */
	usec_t timeout;

	/* The running child, if pid != 0. */
	pid_t pid;
	int pidfd;
	struct event *ev_exit;
	struct event *ev_timer;
	int kill_stage;                 /* 0: none sent, 1: SIGTERM, 2: SIGKILL */
	bool ended;                     /* the leader exited (logged), not reaped yet: its group id is held */
	uint64_t generation;
	usec_t started;                 /* monotonic */
	int in_fd;
	struct event *ev_in;
	char *payload;                  /* the JSON Token: wiped once written */
	size_t payload_len, payload_off;
	struct hook_stream out, err;
	size_t logged;                  /* bytes of output logged this run */
	bool capped;                    /* HOOK_OUTPUT_MAX reached */
	char *scrub[2];                 /* this run's tokens, to keep them out of the log */

	/* One more run, with the newest token, once this one ends. */
	struct token pending;
	bool has_pending;
};

static void hook_start(struct hook *h, const struct token *t);
static void hook_clear_run(struct hook *h);

/* Copy a NULL-terminated argument vector; NULL for NULL. */
static char **hook_argv_dup(char *const *argv, bool *ok)
{
	size_t n = 0;
	char **copy;

	*ok = true;
	if (argv == NULL)
		return NULL;
	while (argv[n] != NULL)
		n++;
	copy = calloc(n + 1, sizeof(*copy));
	if (copy == NULL) {
		*ok = false;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		copy[i] = strdup(argv[i]);
		if (copy[i] == NULL) {
			for (size_t j = 0; j < i; j++)
				free(copy[j]);
			free(copy);
			*ok = false;
			return NULL;
		}
	}
	return copy;
}

/* Free an argument vector from hook_argv_dup. */
static void hook_argv_free(char **argv)
{
	if (argv == NULL)
		return;
	for (char **a = argv; *a != NULL; a++)
		free(*a);
	free(argv);
}

/*
 * Whether a line cut at HOOK_LINE_MAX ends with the start of one of
 * secret's pieces (HOOK_SCRUB_TAIL bytes or more): the cut would hide the
 * rest of the piece that gives it away, so the tail counts as the piece.
 */
static bool hook_cut_has_secret(const char *line, size_t len, const char *secret, size_t n)
{
	for (size_t off = 0; off < n; off += HOOK_SCRUB_PIECE) {
		size_t k = n - off < HOOK_SCRUB_PIECE ? n - off : HOOK_SCRUB_PIECE;

		for (size_t j = HOOK_SCRUB_TAIL; j <= k && j <= len; j++)
			if (memcmp(line + len - j, secret + off, j) == 0)
				return true;
	}
	return false;
}

/* Whether line holds a piece of secret long enough to matter (see the top of this file). */
static bool hook_line_has_secret(const char *line, size_t len, bool cut, const char *secret)
{
	size_t n;

	if (secret == NULL || *secret == '\0')
		return false;
	n = strlen(secret);
	if (cut && hook_cut_has_secret(line, len, secret, n))
		return true;
	if (n <= HOOK_SCRUB_PIECE)
		return memmem(line, len, secret, n) != NULL;
	for (size_t off = 0; off + HOOK_SCRUB_PIECE <= n; off += HOOK_SCRUB_PIECE)
		if (memmem(line, len, secret + off, HOOK_SCRUB_PIECE) != NULL)
			return true;
	return memmem(line, len, secret + n - HOOK_SCRUB_PIECE, HOOK_SCRUB_PIECE) != NULL;
}

/* Log one line of the child's output: printable, cut, counted, never a token. */
static void hook_log_line(struct hook_stream *s, bool cut)
{
	struct hook *h = s->hook;
	char *line = s->line;
	size_t len = s->len;

	s->len = 0;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	if (h->capped)
		goto wipe;
	if (h->logged + len > HOOK_OUTPUT_MAX) {
		h->capped = true;
		log_warnx("ExecOnChange[%d]: more than %d bytes of output; the rest of this run's "
		    "output is not logged", (int)h->pid, HOOK_OUTPUT_MAX);
		goto wipe;
	}
	h->logged += len;
	/* The queued token too: a hook may read the token file, which already holds it. */
	if (hook_line_has_secret(line, len, cut, h->scrub[0]) ||
	    hook_line_has_secret(line, len, cut, h->scrub[1]) ||
	    hook_line_has_secret(line, len, cut, h->pending.access_token) ||
	    hook_line_has_secret(line, len, cut, h->pending.md_access_token)) {
		log_warnx("ExecOnChange[%d]: a line of output was withheld: it held the token",
		    (int)h->pid);
		goto wipe;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	if (s->is_stderr)
		log_warnx("ExecOnChange[%d]: %s%s", (int)h->pid, line, cut ? " [line cut]" : "");
	else
		log_info("ExecOnChange[%d]: %s%s", (int)h->pid, line, cut ? " [line cut]" : "");
wipe:
	explicit_bzero(s->line, sizeof(s->line));
}

/* Split what was read into lines. */
static void hook_stream_feed(struct hook_stream *s, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (s->cutting)
				s->cutting = false;
			else
				hook_log_line(s, false);
			continue;
		}
		if (s->cutting)
			continue;
		if (s->len == HOOK_LINE_MAX) {
			hook_log_line(s, true);
			s->cutting = true;
			continue;
		}
		s->line[s->len++] = buf[i];
	}
}

/* Stop reading a stream: log its unfinished line, close it. */
static void hook_stream_close(struct hook_stream *s)
{
	if (s->fd < 0)
		return;
	if (s->len > 0 && !s->cutting)
		hook_log_line(s, false);
	s->len = 0;
	s->cutting = false;
	if (s->ev != NULL) {
		event_free(s->ev);
		s->ev = NULL;
	}
	close(s->fd);
	s->fd = -1;
}

/* Read what is there; close at EOF or error. */
static void hook_stream_drain(struct hook_stream *s)
{
	char buf[HOOK_READ_CHUNK];

	while (s->fd >= 0) {
		ssize_t n = read(s->fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			hook_stream_close(s);
			break;
		}
		hook_stream_feed(s, buf, (size_t)n);
	}
	explicit_bzero(buf, sizeof(buf));
}

/* The child wrote to stdout or stderr. */
static void hook_stream_cb(evutil_socket_t fd, short what, void *arg)
{
	hook_stream_drain(arg);
}

/* Drop the rest of the payload and close the child's stdin. */
static void hook_stdin_close(struct hook *h)
{
	if (h->ev_in != NULL) {
		event_free(h->ev_in);
		h->ev_in = NULL;
	}
	if (h->in_fd >= 0) {
		close(h->in_fd);
		h->in_fd = -1;
	}
	tokentext_free(h->payload, h->payload_len);
	h->payload = NULL;
	h->payload_len = h->payload_off = 0;
}

/* Write what the pipe takes of the payload; EOF once it is all written. */
static void hook_stdin_write(struct hook *h)
{
	while (h->payload_off < h->payload_len) {
		ssize_t n = write(h->in_fd, h->payload + h->payload_off, h->payload_len - h->payload_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;         /* h->ev_in calls again when there is room */
		if (n < 0) {
			/* EPIPE: the hook closed its stdin without reading it all; its choice. */
			log_debug("ExecOnChange[%d]: stdin: %s", (int)h->pid, strerror(errno));
			break;
		}
		h->payload_off += (size_t)n;
	}
	hook_stdin_close(h);
}

/* The stdin pipe has room again. */
static void hook_stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	hook_stdin_write(arg);
}

/* Send sig to the child's process group (to the child alone if it left the group). */
static void hook_signal(struct hook *h, int sig)
{
	if (kill(-h->pid, sig) < 0 && errno == ESRCH)
		kill(h->pid, sig);
}

/*
 * The run's process group is killed (SIGKILL) and its leader reaped, then
 * the queued run, if any, starts. Called once the leader has exited and
 * while it is still a zombie, so the group's id cannot belong to anyone
 * else yet: what the hook left running goes with it. A leader someone else
 * reaped (ours is false) is not signalled: its pid may be another's now.
 */
static void hook_reap(struct hook *h, bool ours)
{
	struct token next = { 0 };

	if (ours) {
		hook_signal(h, SIGKILL);
		while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	hook_clear_run(h);
	if (!h->has_pending)
		return;
	next = h->pending;
	h->pending = (struct token){ 0 };
	h->has_pending = false;
	if (h->argv != NULL && next.access_token != NULL && time_now() < next.expiration)
		hook_start(h, &next);
	token_clear(&next);
}

/* The run took too long: SIGTERM, and SIGKILL to its process group after a grace period. */
static void hook_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook *h = arg;
	struct timeval tv = { .tv_sec = HOOK_KILL_GRACE / USEC_PER_SEC };

	if (h->kill_stage == 0) {
		log_warnx("ExecOnChange[%d] is still running after %llu ms "
		    "(ExecOnChangeTimeoutSec=): sending SIGTERM", (int)h->pid,
		    (unsigned long long)(h->timeout / USEC_PER_MSEC));
		hook_signal(h, SIGTERM);
		h->kill_stage = 1;
		evtimer_add(h->ev_timer, &tv);
		return;
	}
	h->kill_stage = 2;
	if (h->ended) {
		/* The leader went on SIGTERM; what it started gets SIGKILL now all the same. */
		hook_reap(h, true);
		return;
	}
	log_warnx("ExecOnChange[%d] did not stop within %llu s of SIGTERM: sending SIGKILL",
	    (int)h->pid, (unsigned long long)(HOOK_KILL_GRACE / USEC_PER_SEC));
	hook_signal(h, SIGKILL);
}

/* Log how the run ended, from the leader's siginfo; NULL: it cannot be known. */
static void hook_log_exit(struct hook *h, const siginfo_t *si)
{
	unsigned long long ms = (unsigned long long)((time_monotonic() - h->started) / USEC_PER_MSEC);

	if (si == NULL)
		log_warnx("ExecOnChange[%d] for generation %llu ended after %llu ms; exit status "
		    "unknown (the daemon could not wait for it)", (int)h->pid,
		    (unsigned long long)h->generation, ms);
	else if (si->si_code == CLD_EXITED && si->si_status == 0)
		log_info("ExecOnChange[%d] for generation %llu succeeded after %llu ms", (int)h->pid,
		    (unsigned long long)h->generation, ms);
	else if (si->si_code == CLD_EXITED)
		log_warnx("ExecOnChange[%d] for generation %llu failed with exit status %d after %llu ms",
		    (int)h->pid, (unsigned long long)h->generation, si->si_status, ms);
	else
		log_warnx("ExecOnChange[%d] for generation %llu was killed by signal %d (%s) after %llu ms%s",
		    (int)h->pid, (unsigned long long)h->generation, si->si_status,
		    strsignal(si->si_status), ms, h->kill_stage > 0 ? ", at its time-out" : "");
}

/*
 * Whether the leader has exited, without reaping it (*si filled), false
 * while it runs; -errno when it is not ours to wait for (SIGCHLD ignored:
 * already reaped, its pid and group id free for others to take).
 */
static int hook_leader_exited(struct hook *h, siginfo_t *si)
{
	int r;

	memset(si, 0, sizeof(*si));
	do
		r = waitid(P_PID, (id_t)h->pid, si, WEXITED | WNOHANG | WNOWAIT);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return si->si_pid != 0;
}

/* Forget the finished (or never started) run: close and wipe everything of it. */
static void hook_clear_run(struct hook *h)
{
	hook_stdin_close(h);
	hook_stream_drain(&h->out);
	hook_stream_drain(&h->err);
	hook_stream_close(&h->out);
	hook_stream_close(&h->err);
	if (h->ev_exit != NULL) {
		event_free(h->ev_exit);
		h->ev_exit = NULL;
	}
	if (h->ev_timer != NULL) {
		event_free(h->ev_timer);
		h->ev_timer = NULL;
	}
	if (h->pidfd >= 0) {
		close(h->pidfd);
		h->pidfd = -1;
	}
	for (int i = 0; i < 2; i++) {
		secret_free(h->scrub[i]);
		h->scrub[i] = NULL;
	}
	h->pid = 0;
	h->kill_stage = 0;
	h->ended = false;
	h->logged = 0;
	h->capped = false;
}

/*
 * The pidfd became readable: the leader exited. Its output is logged, then
 * how it ended; its group is killed and it is reaped at once, or, after a
 * time-out's SIGTERM, at the end of the grace period (SIGKILL to the group).
 */
static void hook_exit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hook *h = arg;
	siginfo_t si;
	int r;

	r = hook_leader_exited(h, &si);
	if (r == 0) {
		event_add(h->ev_exit, NULL);
		return;
	}
	/* Output written before the exit is in the pipes: log it first. */
	hook_stream_drain(&h->out);
	hook_stream_drain(&h->err);
	if (r < 0) {
		/* Reaped by someone else (SIGCHLD ignored): its pid may be reused, signal nothing. */
		log_warnx("ExecOnChange[%d]: cannot wait for it: %s", (int)h->pid, strerror(-r));
		hook_log_exit(h, NULL);
		hook_reap(h, false);
		return;
	}
	hook_log_exit(h, &si);
	h->ended = true;
	if (h->kill_stage == 1)
		return;         /* hook_timer_cb kills the group and reaps */
	hook_reap(h, true);
}

/* Make fd non-blocking. */
static int hook_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* Close the fds of a pipe pair that are open. */
static void hook_close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0) {
			close(p[i]);
			p[i] = -1;
		}
}

/* Spawn argv with the pipes as its stdin/stdout/stderr; 0 with *pid, or -errno. */
static int hook_spawn(struct hook *h, char **envp, int in, int out, int err, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int r;

	sigemptyset(&none);
	sigfillset(&all);
	if ((r = posix_spawn_file_actions_init(&fa)) != 0)
		return -r;
	if ((r = posix_spawnattr_init(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -r;
	}
	if ((r = posix_spawn_file_actions_adddup2(&fa, in, STDIN_FILENO)) == 0 &&
	    (r = posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO)) == 0 &&
	    (r = posix_spawn_file_actions_adddup2(&fa, err, STDERR_FILENO)) == 0 &&
	    (r = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1)) == 0 &&
	    (r = posix_spawn_file_actions_addchdir_np(&fa, "/")) == 0 &&
	    (r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	        POSIX_SPAWN_SETSIGDEF)) == 0 &&
	    (r = posix_spawnattr_setpgroup(&attr, 0)) == 0 &&
	    (r = posix_spawnattr_setsigmask(&attr, &none)) == 0 &&
	    (r = posix_spawnattr_setsigdefault(&attr, &all)) == 0)
		r = posix_spawn(pid, h->argv[0], &fa, &attr, h->argv, envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return -r;
}

/* Start one run for t; failures are logged and end the run. */
static void hook_start(struct hook *h, const struct token *t)
{
	char gen[64], exp[64], when[TIME_RFC3339_MAX];
	char *envp[] = { (char *)HOOK_PATH, gen, exp, NULL };
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, spare = -1, pidfd_err;
	bool ok = true;
	pid_t pid;
	int r;

	r = tokentext_render(t, CONFIG_SINK_JSON, &h->payload, &h->payload_len);
	if (r < 0) {
		h->payload = NULL;
		log_warnx("cannot run ExecOnChange= for generation %llu: %s",
		    (unsigned long long)t->generation, strerror(-r));
		return;
	}
	h->payload_off = 0;
	h->scrub[0] = secret_strdup(t->access_token, &ok);
	h->scrub[1] = secret_strdup(t->md_access_token, &ok);
	snprintf(gen, sizeof(gen), "TVTOKEND_GENERATION=%llu", (unsigned long long)t->generation);
	snprintf(exp, sizeof(exp), "TVTOKEND_EXPIRATION=%s", time_format_rfc3339(t->expiration, when));
	if (!ok || pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		r = ok ? -errno : -ENOMEM;
		goto fail;
	}
	/* A spare descriptor, so that the pidfd finds a free slot even at the fd limit. */
	spare = fcntl(in[1], F_DUPFD_CLOEXEC, 3);
	if (spare < 0 || hook_nonblock(in[1]) < 0 || hook_nonblock(out[0]) < 0 ||
	    hook_nonblock(err[0]) < 0) {
		r = -errno;
		goto fail;
	}
	r = hook_spawn(h, envp, in[0], out[1], err[1], &pid);
	if (r < 0)
		goto fail;
	h->pid = pid;
	h->generation = t->generation;
	h->started = time_monotonic();
	close(in[0]);
	close(out[1]);
	close(err[1]);
	close(spare);
	h->in_fd = in[1];
	h->out = (struct hook_stream){ .hook = h, .fd = out[0] };
	h->err = (struct hook_stream){ .hook = h, .fd = err[0], .is_stderr = true };
	log_info("ExecOnChange[%d] started for generation %llu", (int)pid,
	    (unsigned long long)t->generation);

	h->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	pidfd_err = h->pidfd < 0 ? errno : 0;
	h->ev_exit = h->pidfd >= 0 ? event_new(h->base, h->pidfd, EV_READ, hook_exit_cb, h) : NULL;
	h->ev_timer = evtimer_new(h->base, hook_timer_cb, h);
	h->out.ev = event_new(h->base, h->out.fd, EV_READ | EV_PERSIST, hook_stream_cb, &h->out);
	h->err.ev = event_new(h->base, h->err.fd, EV_READ | EV_PERSIST, hook_stream_cb, &h->err);
	if (h->ev_exit == NULL || h->ev_timer == NULL || h->out.ev == NULL || h->err.ev == NULL ||
	    event_add(h->ev_exit, NULL) < 0 || event_add(h->out.ev, NULL) < 0 ||
	    event_add(h->err.ev, NULL) < 0) {
		siginfo_t si;

		if (hook_leader_exited(h, &si) < 0) {
			/* Gone and reaped already (SIGCHLD ignored): its pid may be another's, signal nothing. */
			hook_log_exit(h, NULL);
			hook_clear_run(h);
			return;
		}
		/* Without a way to learn of its exit, the run cannot go on: end it now. */
		log_warnx("ExecOnChange[%d]: cannot watch the child (%s); killing it", (int)pid,
		    strerror(pidfd_err != 0 ? pidfd_err : ENOMEM));
		hook_signal(h, SIGKILL);
		/* Only blocking wait of the loop, for a child just sent SIGKILL: not left a zombie. */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		hook_clear_run(h);
		return;
	}
	{
		struct timeval tv = {
			.tv_sec = (time_t)(h->timeout / USEC_PER_SEC),
			.tv_usec = (suseconds_t)(h->timeout % USEC_PER_SEC),
		};

		evtimer_add(h->ev_timer, &tv);
	}
	h->ev_in = event_new(h->base, h->in_fd, EV_WRITE | EV_PERSIST, hook_stdin_cb, h);
	if (h->ev_in == NULL) {
		hook_stdin_close(h);
		return;
	}
	hook_stdin_write(h);
	if (h->ev_in != NULL)
		event_add(h->ev_in, NULL);
	return;

fail:
	log_warnx("cannot run ExecOnChange=%s for generation %llu: %s", h->argv[0],
	    (unsigned long long)t->generation, strerror(-r));
	hook_close_pair(in);
	hook_close_pair(out);
	hook_close_pair(err);
	if (spare >= 0)
		close(spare);
	hook_clear_run(h);
}

/* Create the hook from cfg. */
int hook_new(struct event_base *base, const struct config *cfg, struct hook **out)
{
	struct hook *h = calloc(1, sizeof(*h));
	bool ok;

	if (h == NULL)
		return -ENOMEM;
	h->base = base;
	h->pidfd = -1;
	h->in_fd = -1;
	h->out.fd = h->err.fd = -1;
	h->argv = hook_argv_dup(cfg->exec_on_change, &ok);
	if (!ok) {
		free(h);
		return -ENOMEM;
	}
	h->timeout = cfg->exec_on_change_timeout;
	*out = h;
	return 0;
}

/* Run now, or queue one run with this (the newest) token. */
void hook_token_new(struct hook *h, const struct token *t)
{
	if (h == NULL || h->argv == NULL || t == NULL)
		return;
	if (h->pid == 0) {
		hook_start(h, t);
		return;
	}
	token_clear(&h->pending);
	h->has_pending = token_copy(&h->pending, t) == 0;
	if (!h->has_pending)
		log_warnx("cannot queue ExecOnChange= for generation %llu: %s",
		    (unsigned long long)t->generation, strerror(ENOMEM));
}

/* No token any more: nothing left to announce. */
void hook_token_lost(struct hook *h)
{
	if (h == NULL)
		return;
	token_clear(&h->pending);
	h->has_pending = false;
}

/* New command and timeout, from the next run on. */
void hook_reload(struct hook *h, const struct config *cfg)
{
	char **argv;
	bool ok;

	if (h == NULL)
		return;
	argv = hook_argv_dup(cfg->exec_on_change, &ok);
	if (!ok) {
		log_warnx("cannot take the new ExecOnChange=: %s", strerror(ENOMEM));
		return;
	}
	hook_argv_free(h->argv);
	h->argv = argv;
	h->timeout = cfg->exec_on_change_timeout;
	if (h->argv == NULL)
		hook_token_lost(h);
}

/*
 * At exit: stop a running hook (SIGTERM; a second later, or once the leader
 * has gone, SIGKILL to its process group) and reap it (the loop is over:
 * waiting is allowed here).
 */
void hook_free(struct hook *h)
{
	siginfo_t si;
	int r, w;

	if (h == NULL)
		return;
	if (h->pid != 0) {
		struct pollfd p = { .fd = h->pidfd, .events = POLLIN };

		r = hook_leader_exited(h, &si);
		if (r == 0) {
			log_info("stopping ExecOnChange[%d] at exit", (int)h->pid);
			hook_signal(h, SIGTERM);
			if (h->pidfd >= 0)
				poll(&p, 1, HOOK_EXIT_GRACE_MS);
		}
		if (r >= 0) {
			hook_signal(h, SIGKILL);
			do
				w = waitid(P_PID, (id_t)h->pid, &si, WEXITED);
			while (w < 0 && errno == EINTR);
			if (!h->ended)
				hook_log_exit(h, w == 0 ? &si : NULL);
		} else if (!h->ended) {
			hook_log_exit(h, NULL);
		}
	}
	hook_clear_run(h);
	hook_token_lost(h);
	hook_argv_free(h->argv);
	free(h);
}
