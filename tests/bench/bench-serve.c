/* SPDX-License-Identifier: MIT */
/*
 * bench-serve: what serving the shared token costs, as ratios against a
 * bare echo server measured in the same run (tests/bench/README.md; the
 * latest run is in BENCHMARKS.md at the top of the repository).
 *
 *   bench-serve [--quick] [--keep] [--reps N] [--cpu N] [--threads N]
 *               [--watchers N] [--time-limit SEC] TVTOKEND MOCK_TRADOVATE BENCH_ECHO
 *
 * Starts mock-tradovate and a real tvtokend on a scratch directory, waits
 * for a token, copies tvtokend's GetToken replies (plain and "continues")
 * for bench-echo, starts bench-echo, and then measures, N repetitions,
 * the same client code against both:
 *   1. GetToken latency on one connection, the client and both servers
 *      pinned to one CPU (the two servers in alternating blocks);
 *   2. calls/s with 64 and with 512 connections, each in a closed loop
 *      (the two servers in 5 alternating rounds);
 *   3. calls/s of connect + GetToken + close (alternating blocks);
 *   4. 10,000 watchers ("more" streams): from a renewal (ReportRejected;
 *      for the echo: a broadcast request) to the last watcher notified,
 *      the median of 3 such fan-outs; tvtokend's VmRSS with the watchers
 *      before the first renewal and after the last;
 *   and tvtokend's VmRSS and RssAnon when idle.
 * Each row is printed as a ratio against the echo, with the issue's
 * target beside it, and the serving process's CPU time per call.
 *
 * Everything is bounded: call counts, a time-out on every wait, and an
 * overall time limit (SIGALRM). Every process started here is stopped at
 * exit, on SIGINT/SIGTERM too, and dies with us (PR_SET_PDEATHSIG).
 * Listens on nothing itself; the mock listens on 127.0.0.1 only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench-echo.h"

/* Largest reply the benchmark accepts; tvtokend's replies here are well under 1 KiB. */
#define BENCH_REPLY_MAX 4096
/* The longest any single reply may take before the run is called failed. */
#define BENCH_IO_TIMEOUT_MS 5000
/* The longest one measured pass may take. */
#define BENCH_PASS_TIMEOUT_MS 120000
/* How long the daemon and the mock get to start, and to stop. */
#define BENCH_START_TIMEOUT_MS 10000
#define BENCH_STOP_TIMEOUT_MS 5000
/* Watchers of the fan-out case (--watchers), and the fan-outs measured per repetition (a renewal each). */
#define BENCH_WATCHERS 10000
#define BENCH_FANOUT_ROUNDS 3
/* A measured reply checked fully with json-c once in this many (all get a quick check). */
#define BENCH_FULL_CHECK_EVERY 1000
/* The account mock-tradovate knows by default (tests/mock/README.md). */
#define BENCH_MOCK_PASSWORD "demo-password"
#define BENCH_MOCK_SECRET "demo-secret"

static const char bench_msg_token[] =
	"{\"method\":\"io.tvtokend.Broker.GetToken\",\"parameters\":{}}";
static const char bench_msg_watch[] =
	"{\"method\":\"io.tvtokend.Broker.GetToken\",\"parameters\":{},\"more\":true}";
static const char bench_msg_status[] =
	"{\"method\":\"io.tvtokend.Broker.GetStatus\",\"parameters\":{}}";
static const char bench_msg_broadcast[] = BENCH_ECHO_BROADCAST;

/* What a reply must hold. */
enum bench_kind {
	BENCH_TOKEN,
	BENCH_STATUS,
};

/* One Varlink connection with one call in flight at most. */
struct bench_conn {
	int fd;
	size_t len;                     /* bytes in buf */
	uint64_t sent_ns;
	unsigned done;                  /* replies received in this pass */
	char buf[BENCH_REPLY_MAX];
};

/* One load-generator thread and its share of the connections. */
struct bench_worker {
	pthread_t thread;
	struct bench_conn *conns;
	size_t n;
	size_t first;                   /* index of conns[0] among all connections */
	unsigned calls;                 /* per connection in this pass */
	uint64_t *lat;                  /* all latencies, conn-major; NULL: do not record */
	int err;
	char why[160];
};

/* One measured case against one server. */
struct bench_result {
	const char *name;
	size_t calls;
	double median_us;
	double p99_us;
	double calls_per_s;
	double server_cpu_us;           /* the serving process's CPU time per call; < 0: unknown */
};

/* Wall time and the serving process's CPU time over one or more measured intervals. */
struct bench_meter {
	pid_t server;
	uint64_t wall_ns;               /* summed over the intervals so far */
	uint64_t cpu_ns;
	uint64_t wall0;                 /* start of the current interval */
	uint64_t cpu0;
	bool cpu_known;
};

/* A server under test: tvtokend or the echo. */
struct bench_target {
	const char *name;
	const char *sock;
	pid_t pid;
};

/* One serial case, on a connection of its own. */
struct bench_serial_case {
	const struct bench_target *target;
	struct bench_conn conn;
	struct bench_meter meter;
	uint64_t *lat;
	unsigned calls;                 /* made so far, warm-up included */
};

/* The fan-out of one renewal (or broadcast) to every watcher. */
struct bench_fanout {
	double first_ms;                /* from the trigger to the first watcher notified */
	double last_ms;                 /* ... to the last */
	double server_cpu_ms;           /* the server's CPU time from the trigger to the last (< 0: unknown) */
	long rss_before_kib;            /* the server's VmRSS with the watchers, before and after */
	long rss_after_kib;
};

/* One repetition; [0] is tvtokend, [1] the echo. */
struct bench_rep {
	struct bench_result serial[2];
	struct bench_result c64[2];
	struct bench_result c512[2];
	struct bench_result fresh[2];
	struct bench_fanout fan[2];
	char load_before[64];
	char load_after[64];
};

/* What to run, from the command line. */
struct bench_opts {
	const char *tvtokend;
	const char *mock;
	const char *echo;
	unsigned divisor;               /* 10 with --quick */
	unsigned threads;
	unsigned time_limit;
	unsigned reps;
	unsigned cpu;
	unsigned watchers;
	bool keep;
};

/*
 * The scratch directory and the processes started in it. A process-wide
 * singleton by nature: the signal handler must find them to clean up.
 * Paths are filled in once, before any handler is installed.
 */
static struct bench_env {
	volatile pid_t mock_pid;
	volatile pid_t daemon_pid;
	volatile pid_t echo_pid;
	bool keep;
	char dir[64];
	char run_dir[80];
	char sock[108];
	char echo_sock[108];
	char conf[96];
	char password[96];
	char secret[96];
	char port_file[96];
	char mock_out[96];
	char daemon_log[96];
	char echo_log[96];
	char echo_reply[96];
	char echo_cast[96];
} bench_env = { .mock_pid = -1, .daemon_pid = -1, .echo_pid = -1 };

static void __attribute__((format(printf, 1, 2)))
bench_err(const char *fmt, ...)
{
	va_list ap;

	fputs("bench-serve: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The monotonic clock in nanoseconds. */
static uint64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleep for ms milliseconds (async-signal-safe). */
static void
bench_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Stop one child: SIGTERM, then SIGKILL after the stop time-out; its exit status in *status. */
static void
bench_stop_child(pid_t pid, int *status)
{
	unsigned waited = 0;
	pid_t r;

	kill(pid, SIGTERM);
	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return;
		if (waited >= BENCH_STOP_TIMEOUT_MS)
			break;
		bench_sleep_ms(10);
		waited += 10;
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	*status = -1;
}

/* Remove the scratch directory's files unless --keep (async-signal-safe). */
static void
bench_remove_files(void)
{
	if (bench_env.keep || bench_env.dir[0] == '\0')
		return;
	unlink(bench_env.sock);
	unlink(bench_env.echo_sock);
	rmdir(bench_env.run_dir);
	unlink(bench_env.conf);
	unlink(bench_env.password);
	unlink(bench_env.secret);
	unlink(bench_env.port_file);
	unlink(bench_env.mock_out);
	unlink(bench_env.daemon_log);
	unlink(bench_env.echo_log);
	unlink(bench_env.echo_reply);
	unlink(bench_env.echo_cast);
	rmdir(bench_env.dir);
}

/* Stop the daemon, the echo and the mock and remove the scratch files (async-signal-safe). */
static void
bench_stop_all(int *daemon_status)
{
	int status = 0;
	pid_t pid;

	pid = bench_env.daemon_pid;
	if (pid > 0) {
		bench_stop_child(pid, &status);
		bench_env.daemon_pid = -1;
		if (daemon_status != NULL)
			*daemon_status = status;
	}
	pid = bench_env.echo_pid;
	if (pid > 0) {
		bench_stop_child(pid, &status);
		bench_env.echo_pid = -1;
	}
	pid = bench_env.mock_pid;
	if (pid > 0) {
		bench_stop_child(pid, &status);
		bench_env.mock_pid = -1;
	}
	bench_remove_files();
}

/* SIGINT, SIGTERM, or the time limit: clean up and leave at once. */
static void
bench_on_signal(int sig)
{
	static const char msg_int[] = "bench-serve: interrupted; stopping\n";
	static const char msg_alarm[] = "bench-serve: over the time limit; stopping\n";

	if (sig == SIGALRM) {
		if (write(STDERR_FILENO, msg_alarm, sizeof(msg_alarm) - 1) < 0)
			_exit(1);
	} else if (write(STDERR_FILENO, msg_int, sizeof(msg_int) - 1) < 0) {
		_exit(1);
	}
	bench_stop_all(NULL);
	_exit(sig == SIGALRM ? 124 : 128 + sig);
}

/* Catch SIGINT, SIGTERM and SIGALRM with bench_on_signal. */
static int
bench_signals_catch(void)
{
	struct sigaction sa = { .sa_handler = bench_on_signal };
	static const int sigs[] = { SIGINT, SIGTERM, SIGALRM };
	size_t i;

	sigfillset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -errno;
	return 0;
}

/* Block SIGINT, SIGTERM and SIGALRM so that the normal clean-up is not interrupted by the handler's. */
static void
bench_signals_block(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* Start argv[0] with stdout and stderr to out_path; it dies with us. */
static int
bench_spawn(char *const argv[], const char *out_path, volatile pid_t *out)
{
	pid_t parent = getpid(), pid;
	int fd, nul;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGALRM, SIG_DFL);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(127);
		fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || nul < 0 || dup2(nul, STDIN_FILENO) < 0 ||
		    dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	*out = pid;
	return 0;
}

/* Whether a started child has exited already (it is then reaped and forgotten). */
static bool
bench_child_gone(volatile pid_t *pid)
{
	int status;

	if (*pid <= 0)
		return true;
	if (waitpid(*pid, &status, WNOHANG) == *pid) {
		*pid = -1;
		return true;
	}
	return false;
}

/* Print the end of a log file to stderr, to show why a child failed. */
static void
bench_show_tail(const char *what, const char *path)
{
	char buf[2048];
	ssize_t n;
	off_t size;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)sizeof(buf))
		lseek(fd, size - (off_t)sizeof(buf), SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0)
		return;
	fprintf(stderr, "--- %s (end)\n%.*s\n---\n", what, (int)n, buf);
}

/* Write text to a new file of the given mode. */
static int
bench_write_file(const char *path, mode_t mode, const char *text)
{
	size_t len = strlen(text), off = 0;
	ssize_t n;
	int fd, e;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			close(fd);
			return -e;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0)
		return -errno;
	return 0;
}

/* Make the scratch directory and fill in every path of bench_env. */
static int
bench_env_setup(bool keep)
{
	const char *tmp = getenv("TMPDIR");
	int n;

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	n = snprintf(bench_env.dir, sizeof(bench_env.dir), "%s/tvtokend-bench.XXXXXX", tmp);
	if (n < 0 || (size_t)n >= sizeof(bench_env.dir)) {
		bench_env.dir[0] = '\0';
		return -ENAMETOOLONG;
	}
	if (mkdtemp(bench_env.dir) == NULL) {
		n = -errno;
		bench_env.dir[0] = '\0';
		return n;
	}
	bench_env.keep = keep;
	if (chmod(bench_env.dir, 0755) < 0)
		return -errno;
#define BENCH_PATH(field, name)                                                         \
	do {                                                                            \
		n = snprintf(bench_env.field, sizeof(bench_env.field), "%s/%s",         \
			     bench_env.dir, name);                                      \
		if (n < 0 || (size_t)n >= sizeof(bench_env.field))                      \
			return -ENAMETOOLONG;                                           \
	} while (0)
	BENCH_PATH(run_dir, "run");
	BENCH_PATH(sock, "run/io.tvtokend.Broker");
	BENCH_PATH(echo_sock, "run/echo");
	BENCH_PATH(conf, "tvtokend.conf");
	BENCH_PATH(password, "password");
	BENCH_PATH(secret, "secret");
	BENCH_PATH(port_file, "mock.port");
	BENCH_PATH(mock_out, "mock.out");
	BENCH_PATH(daemon_log, "daemon.log");
	BENCH_PATH(echo_log, "echo.log");
	BENCH_PATH(echo_reply, "echo-reply");
	BENCH_PATH(echo_cast, "echo-broadcast");
#undef BENCH_PATH
	return 0;
}

/* Start the mock on an ephemeral port of 127.0.0.1 and read that port. */
static int
bench_mock_start(const char *mock, unsigned *port)
{
	char *argv[] = { (char *)mock, "--listen", "127.0.0.1", "--port-file",
			 bench_env.port_file, NULL };
	char buf[16];
	unsigned waited;
	ssize_t n;
	long v;
	int fd, r;

	r = bench_spawn(argv, bench_env.mock_out, &bench_env.mock_pid);
	if (r < 0) {
		bench_err("cannot start %s: %s", mock, strerror(-r));
		return r;
	}
	for (waited = 0; waited < BENCH_START_TIMEOUT_MS; waited += 20) {
		fd = open(bench_env.port_file, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			if (n > 0) {
				buf[n] = '\0';
				v = strtol(buf, NULL, 10);
				if (v <= 0 || v > 65535) {
					bench_err("the mock wrote a bad port: %s", buf);
					return -EPROTO;
				}
				*port = (unsigned)v;
				return 0;
			}
		}
		if (bench_child_gone(&bench_env.mock_pid))
			break;
		bench_sleep_ms(20);
	}
	bench_err("mock-tradovate did not start");
	bench_show_tail("mock output", bench_env.mock_out);
	return -ETIMEDOUT;
}

/* Write the secrets and a config like tests/integration/lib.sh's write_config, then start tvtokend. */
static int
bench_daemon_start(const char *tvtokend, unsigned port, unsigned watchers)
{
	char *argv[] = { (char *)tvtokend, "--config", bench_env.conf, "--log=stderr", NULL };
	char conf[1024];
	int n, r;

	r = bench_write_file(bench_env.password, 0600, BENCH_MOCK_PASSWORD "\n");
	if (r == 0)
		r = bench_write_file(bench_env.secret, 0600, BENCH_MOCK_SECRET "\n");
	if (r < 0) {
		bench_err("cannot write the secret files: %s", strerror(-r));
		return r;
	}
	/* Room for the watchers and the benchmark's own connections; renewals on demand. */
	n = snprintf(conf, sizeof(conf),
		     "[Tradovate]\n"
		     "BaseURL=http://127.0.0.1:%u/v1\n"
		     "Name=demo\n"
		     "AppId=tvtokend-demo\n"
		     "ClientId=8\n"
		     "PasswordFile=%s\n"
		     "SecretFile=%s\n"
		     "RequestTimeoutSec=2s\n"
		     "[Token]\n"
		     "StateFile=\n"
		     "MaxRenewalsPerHour=15\n"
		     "[Server]\n"
		     "Socket=%s\n"
		     "MaxClients=%u\n",
		     port, bench_env.password, bench_env.secret, bench_env.sock, watchers + 1024);
	if (n < 0 || (size_t)n >= sizeof(conf))
		return -ENAMETOOLONG;
	r = bench_write_file(bench_env.conf, 0644, conf);
	if (r < 0) {
		bench_err("cannot write %s: %s", bench_env.conf, strerror(-r));
		return r;
	}
	r = bench_spawn(argv, bench_env.daemon_log, &bench_env.daemon_pid);
	if (r < 0)
		bench_err("cannot start %s: %s", tvtokend, strerror(-r));
	return r;
}

/* Connect to the broker's socket; the connection is non-blocking afterwards. */
static int
bench_conn_open(const char *path, struct bench_conn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = BENCH_IO_TIMEOUT_MS / 1000 };
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* connect() waits while the broker's backlog is full; this bounds it. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		goto fail;
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		if (errno != EINTR)
			goto fail;
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		goto fail;
	c->fd = fd;
	c->len = 0;
	c->done = 0;
	return 0;
fail:
	e = errno;
	close(fd);
	return -e;
}

/* Hang up, wiping what was received (it may hold a token). */
static void
bench_conn_close(struct bench_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	explicit_bzero(c->buf, sizeof(c->buf));
	c->len = 0;
}

/* Drop the first message (len bytes and its NUL) from the buffer, wiping it. */
static void
bench_conn_consume(struct bench_conn *c, size_t len)
{
	size_t used = len + 1;

	memmove(c->buf, c->buf + used, c->len - used);
	explicit_bzero(c->buf + c->len - used, used);
	c->len -= used;
}

/* Send one whole message (with its NUL); one call in flight never fills the socket buffer. */
static int
bench_conn_send(struct bench_conn *c, const char *msg, size_t size)
{
	ssize_t n;

	do
		n = send(c->fd, msg, size, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == size ? 0 : -EAGAIN;
}

/* Read what has arrived; 0, -EAGAIN when nothing has, -ECONNRESET when the broker hung up. */
static int
bench_conn_recv(struct bench_conn *c)
{
	ssize_t n;

	if (c->len >= sizeof(c->buf))
		return -EMSGSIZE;
	do
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return -ECONNRESET;
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	c->len += (size_t)n;
	return 0;
}

/* Make one call and wait for its reply: c->buf[0 .. *len) followed by a NUL. */
static int
bench_conn_call(struct bench_conn *c, const char *msg, size_t size, size_t *len)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	char *nul;
	int r;

	r = bench_conn_send(c, msg, size);
	if (r < 0)
		return r;
	for (;;) {
		nul = memchr(c->buf, '\0', c->len);
		if (nul != NULL) {
			*len = (size_t)(nul - c->buf);
			return 0;
		}
		r = bench_conn_recv(c);
		if (r == -EAGAIN) {
			r = poll(&p, 1, BENCH_IO_TIMEOUT_MS);
			if (r == 0)
				return -ETIMEDOUT;
			if (r < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		if (r < 0)
			return r;
	}
}

/* The cheap check every measured reply gets: an object, no error, a token when one is due. */
static bool
bench_reply_quick(const char *msg, size_t len, enum bench_kind kind)
{
	if (len == 0 || msg[0] != '{' || memmem(msg, len, "\"error\"", 7) != NULL)
		return false;
	return kind != BENCH_TOKEN || memmem(msg, len, "\"accessToken\"", 13) != NULL;
}

/* Overwrite the string member key of o, if it is one (it may be a token). */
static void
bench_json_wipe(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		explicit_bzero((char *)json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

/* Whether o has a member key of type t (stored in *v). */
static bool
bench_json_member(struct json_object *o, const char *key, enum json_type t,
		  struct json_object **v)
{
	return json_object_object_get_ex(o, key, v) && json_object_is_type(*v, t);
}

/*
 * Check a reply fully: a JSON object with no "error" and a "parameters"
 * object holding what kind promises. *params_out (BENCH_STATUS only) takes a
 * reference to the parameters; release it with json_object_put().
 */
static int
bench_reply_full(const char *msg, size_t len, enum bench_kind kind,
		 struct json_object **params_out)
{
	struct json_tokener *tok;
	struct json_object *o, *p, *t, *v;
	int r = -EPROTO;

	if (len > INT_MAX)
		return -EMSGSIZE;
	tok = json_tokener_new();
	if (tok == NULL)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, msg, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object) ||
	    json_object_object_get_ex(o, "error", NULL) ||
	    !bench_json_member(o, "parameters", json_type_object, &p))
		goto out;
	switch (kind) {
	case BENCH_TOKEN:
		if (!bench_json_member(p, "token", json_type_object, &t))
			break;
		if (bench_json_member(t, "accessToken", json_type_string, &v) &&
		    json_object_get_string_len(v) > 0 &&
		    bench_json_member(t, "expirationTime", json_type_string, &v) &&
		    bench_json_member(t, "generation", json_type_int, &v))
			r = 0;
		bench_json_wipe(t, "accessToken");
		bench_json_wipe(t, "mdAccessToken");
		break;
	case BENCH_STATUS:
		if (bench_json_member(p, "state", json_type_string, &v) &&
		    bench_json_member(p, "clients", json_type_int, &v)) {
			r = 0;
			if (params_out != NULL)
				*params_out = json_object_get(p);
		}
		break;
	}
out:
	json_object_put(o);
	json_tokener_free(tok);
	return r;
}

/* One call on a connection of its own; the reply (wiped by the caller) in *out, its length in *len. */
static int
bench_call_raw(const char *sock, const char *msg, size_t size, char **out, size_t *len)
{
	struct bench_conn *c;
	int r;

	c = malloc(sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	r = bench_conn_open(sock, c);
	if (r == 0)
		r = bench_conn_call(c, msg, size, len);
	if (r == 0) {
		*out = malloc(*len + 1);
		if (*out == NULL)
			r = -ENOMEM;
		else
			memcpy(*out, c->buf, *len + 1);
	}
	bench_conn_close(c);
	free(c);
	return r;
}

/* One call on a connection of its own, its reply checked fully. */
static int
bench_call_once(const char *sock, const char *msg, size_t size, enum bench_kind kind,
		struct json_object **params_out)
{
	struct bench_conn *c;
	size_t len;
	int r;

	c = malloc(sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	r = bench_conn_open(sock, c);
	if (r < 0) {
		free(c);
		return r;
	}
	r = bench_conn_call(c, msg, size, &len);
	if (r == 0)
		r = bench_reply_full(c->buf, len, kind, params_out);
	bench_conn_close(c);
	free(c);
	return r;
}

/* An integer member of the broker's GetStatus reply. */
static int
bench_status_int(const char *sock, const char *key, int64_t *out)
{
	struct json_object *p = NULL, *v;
	int r;

	r = bench_call_once(sock, bench_msg_status, sizeof(bench_msg_status), BENCH_STATUS, &p);
	if (r < 0)
		return r;
	r = -EPROTO;
	if (bench_json_member(p, key, json_type_int, &v)) {
		*out = json_object_get_int64(v);
		r = 0;
	}
	json_object_put(p);
	return r;
}

/* Wait until the daemon serves a valid token. */
static int
bench_wait_token(const char *sock)
{
	unsigned waited;
	int r = -ETIMEDOUT;

	for (waited = 0; waited < BENCH_START_TIMEOUT_MS; waited += 50) {
		r = bench_call_once(sock, bench_msg_token, sizeof(bench_msg_token), BENCH_TOKEN, NULL);
		if (r == 0)
			return 0;
		if (bench_child_gone(&bench_env.daemon_pid)) {
			bench_err("tvtokend exited before serving a token");
			return -ECHILD;
		}
		bench_sleep_ms(50);
	}
	bench_err("tvtokend served no token within %u s (last: %s)",
		  BENCH_START_TIMEOUT_MS / 1000, strerror(-r));
	return -ETIMEDOUT;
}

/* A field of /proc/PID/status in KiB ("VmRSS", "RssAnon"). */
static int
bench_status_kib(pid_t pid, const char *field, long *out)
{
	char path[64], line[256];
	size_t n = strlen(field);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			fclose(f);
			*out = strtol(line + n + 1, NULL, 10);
			return 0;
		}
	}
	fclose(f);
	return -ENOENT;
}

/* CPU time of one task from its schedstat (nanoseconds on the CPU). */
static int
bench_task_cpu_ns(const char *path, uint64_t *out)
{
	unsigned long long v;
	FILE *f;
	int n;

	f = fopen(path, "re");
	if (f == NULL)
		return -errno;
	n = fscanf(f, "%llu", &v);
	fclose(f);
	if (n != 1)
		return -EPROTO;
	*out = v;
	return 0;
}

/* CPU time of every thread of a process, in nanoseconds, from /proc/PID/task/TID/schedstat. */
static int
bench_cpu_ns(pid_t pid, uint64_t *out)
{
	char dir[64], path[128];
	uint64_t sum = 0, v = 0;
	struct dirent *e;
	DIR *d;
	int r = 0;

	snprintf(dir, sizeof(dir), "/proc/%ld/task", (long)pid);
	d = opendir(dir);
	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%.20s/schedstat", dir, e->d_name);
		r = bench_task_cpu_ns(path, &v);
		if (r == -ENOENT)
			continue;       /* a thread that just ended */
		if (r < 0)
			break;
		sum += v;
	}
	closedir(d);
	if (r < 0 && r != -ENOENT)
		return r;
	*out = sum;
	return 0;
}

/* Order two latencies. */
static int
bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Set up a meter for calls served by the process server. */
static void
bench_meter_init(struct bench_meter *m, pid_t server)
{
	m->server = server;
	m->wall_ns = 0;
	m->cpu_ns = 0;
	m->cpu_known = true;
}

/* Start a measured interval. */
static void
bench_meter_resume(struct bench_meter *m)
{
	if (bench_cpu_ns(m->server, &m->cpu0) < 0)
		m->cpu_known = false;
	m->wall0 = bench_now_ns();
}

/* End a measured interval. */
static void
bench_meter_pause(struct bench_meter *m)
{
	uint64_t cpu1;

	m->wall_ns += bench_now_ns() - m->wall0;
	if (m->cpu_known && bench_cpu_ns(m->server, &cpu1) == 0 && cpu1 >= m->cpu0)
		m->cpu_ns += cpu1 - m->cpu0;
	else
		m->cpu_known = false;
}

/* Median, p99 (nearest rank), calls/s and server CPU per call of n measured calls. */
static void
bench_meter_result(const struct bench_meter *m, const char *name, uint64_t *lat, size_t n,
		   struct bench_result *res)
{
	size_t rank99 = (n * 99 + 99) / 100;

	res->server_cpu_us = m->cpu_known ? (double)m->cpu_ns / 1e3 / (double)n : -1;

	qsort(lat, n, sizeof(*lat), bench_cmp_u64);
	res->name = name;
	res->calls = n;
	if (n % 2 == 1)
		res->median_us = (double)lat[n / 2] / 1e3;
	else
		res->median_us = ((double)lat[n / 2 - 1] + (double)lat[n / 2]) / 2e3;
	res->p99_us = (double)lat[rank99 - 1] / 1e3;
	res->calls_per_s = (double)n / ((double)m->wall_ns / 1e9);
}

/* ---- pinning ---- */

/* Pin every thread of process pid (0: this thread only) to one CPU, or give it back set. */
static int
bench_pin(pid_t pid, const cpu_set_t *set)
{
	char dir[64];
	struct dirent *e;
	DIR *d;
	int r = 0;

	if (pid == 0)
		return sched_setaffinity(0, sizeof(*set), set) < 0 ? -errno : 0;
	snprintf(dir, sizeof(dir), "/proc/%ld/task", (long)pid);
	d = opendir(dir);
	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (sched_setaffinity((pid_t)strtol(e->d_name, NULL, 10), sizeof(*set), set) < 0 &&
		    errno != ESRCH)
			r = -errno;
	}
	closedir(d);
	return r;
}

/* ---- case 1: one connection, one CPU ---- */

/* Make count more calls of one serial case, recording their latencies once past warmup. */
static int
bench_serial_calls(struct bench_serial_case *sc, unsigned count, unsigned warmup, unsigned total)
{
	struct bench_conn *c = &sc->conn;
	uint64_t t0, t1;
	unsigned end = sc->calls + count;
	size_t len;
	int r;

	for (; sc->calls < end; sc->calls++) {
		t0 = bench_now_ns();
		r = bench_conn_call(c, bench_msg_token, sizeof(bench_msg_token), &len);
		t1 = bench_now_ns();
		if (r < 0) {
			bench_err("%s: call %u: %s", sc->target->name, sc->calls, strerror(-r));
			return r;
		}
		if (sc->calls >= warmup)
			sc->lat[sc->calls - warmup] = t1 - t0;
		if (!bench_reply_quick(c->buf, len, BENCH_TOKEN) ||
		    ((sc->calls % BENCH_FULL_CHECK_EVERY == 0 || sc->calls == total - 1) &&
		     bench_reply_full(c->buf, len, BENCH_TOKEN, NULL) < 0)) {
			bench_err("%s: call %u: not the reply promised", sc->target->name, sc->calls);
			return -EPROTO;
		}
		bench_conn_consume(c, len);
	}
	return 0;
}

/*
 * GetToken on one connection to each server, this thread and both servers
 * on one CPU, so that a call costs the two context switches of a round trip
 * and no cross-CPU wake-up. After the warm-up the servers alternate in
 * blocks, so that other load on the machine weighs on both alike.
 */
static int
bench_serial(const struct bench_target *targets, unsigned cpu, unsigned warmup, unsigned iters,
	     unsigned block, struct bench_result *res)
{
	struct bench_serial_case cases[2];
	cpu_set_t one, all_self, all[2];
	unsigned done, k;
	size_t i;
	int r = 0;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_getaffinity(0, sizeof(all_self), &all_self) < 0)
		return -errno;
	for (i = 0; i < 2; i++) {
		if (sched_getaffinity(targets[i].pid, sizeof(all[i]), &all[i]) < 0)
			return -errno;
		cases[i] = (struct bench_serial_case){ .target = &targets[i], .conn.fd = -1 };
		bench_meter_init(&cases[i].meter, targets[i].pid);
		cases[i].lat = calloc(iters, sizeof(*cases[i].lat));
		if (cases[i].lat == NULL)
			r = -ENOMEM;
	}
	for (i = 0; i < 2 && r == 0; i++)
		r = bench_pin(targets[i].pid, &one);
	if (r == 0)
		r = bench_pin(0, &one);
	if (r < 0)
		bench_err("cannot pin to CPU %u: %s", cpu, strerror(-r));
	for (i = 0; i < 2 && r == 0; i++) {
		r = bench_conn_open(targets[i].sock, &cases[i].conn);
		if (r < 0)
			bench_err("%s: cannot connect: %s", targets[i].name, strerror(-r));
	}
	for (i = 0; i < 2 && r == 0; i++)
		r = bench_serial_calls(&cases[i], warmup, warmup, warmup + iters);
	for (done = 0; done < iters && r == 0; done += k) {
		k = iters - done < block ? iters - done : block;
		for (i = 0; i < 2 && r == 0; i++) {
			bench_meter_resume(&cases[i].meter);
			r = bench_serial_calls(&cases[i], k, warmup, warmup + iters);
			bench_meter_pause(&cases[i].meter);
		}
	}
	for (i = 0; i < 2; i++) {
		if (r == 0)
			bench_meter_result(&cases[i].meter, targets[i].name, cases[i].lat, iters, &res[i]);
		bench_conn_close(&cases[i].conn);
		free(cases[i].lat);
		bench_pin(targets[i].pid, &all[i]);
	}
	bench_pin(0, &all_self);
	return r;
}

/* Record a worker's failure. */
static void __attribute__((format(printf, 3, 4)))
bench_worker_fail(struct bench_worker *w, int err, const char *fmt, ...)
{
	va_list ap;

	w->err = err;
	va_start(ap, fmt);
	vsnprintf(w->why, sizeof(w->why), fmt, ap);
	va_end(ap);
}

/* Handle what arrived on one connection: record each reply and send the next call. */
static int
bench_worker_readable(struct bench_worker *w, struct bench_conn *c, size_t *left)
{
	uint64_t now;
	char *nul;
	size_t len, idx;
	int r;

	for (;;) {
		r = bench_conn_recv(c);
		if (r == -EAGAIN)
			return 0;
		if (r < 0) {
			bench_worker_fail(w, r, "connection %zu: %s", w->first + (size_t)(c - w->conns),
					  strerror(-r));
			return r;
		}
		now = bench_now_ns();
		while ((nul = memchr(c->buf, '\0', c->len)) != NULL) {
			len = (size_t)(nul - c->buf);
			if (c->done >= w->calls || !bench_reply_quick(c->buf, len, BENCH_TOKEN)) {
				bench_worker_fail(w, -EPROTO, "connection %zu: not the reply promised",
						  w->first + (size_t)(c - w->conns));
				return -EPROTO;
			}
			if (w->lat != NULL) {
				idx = (w->first + (size_t)(c - w->conns)) * w->calls + c->done;
				w->lat[idx] = now - c->sent_ns;
			}
			bench_conn_consume(c, len);
			c->done++;
			if (c->done == w->calls) {
				(*left)--;
				continue;
			}
			c->sent_ns = bench_now_ns();
			r = bench_conn_send(c, bench_msg_token, sizeof(bench_msg_token));
			if (r < 0) {
				bench_worker_fail(w, r, "send: %s", strerror(-r));
				return r;
			}
		}
	}
}

/* A load-generator thread: closed-loop GetToken calls on its connections until each made w->calls. */
static void *
bench_worker_run(void *arg)
{
	struct bench_worker *w = arg;
	struct epoll_event ev, evs[64];
	uint64_t deadline = bench_now_ns() + (uint64_t)BENCH_PASS_TIMEOUT_MS * 1000000u;
	size_t i, left = w->n;
	int ep, n, k, timeout;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		bench_worker_fail(w, -errno, "epoll_create1: %s", strerror(errno));
		return NULL;
	}
	for (i = 0; i < w->n; i++) {
		w->conns[i].done = 0;
		ev.events = EPOLLIN;
		ev.data.ptr = &w->conns[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, w->conns[i].fd, &ev) < 0) {
			bench_worker_fail(w, -errno, "epoll_ctl: %s", strerror(errno));
			goto out;
		}
	}
	for (i = 0; i < w->n; i++) {
		w->conns[i].sent_ns = bench_now_ns();
		k = bench_conn_send(&w->conns[i], bench_msg_token, sizeof(bench_msg_token));
		if (k < 0) {
			bench_worker_fail(w, k, "send: %s", strerror(-k));
			goto out;
		}
	}
	while (left > 0) {
		uint64_t now = bench_now_ns();

		if (now >= deadline) {
			bench_worker_fail(w, -ETIMEDOUT, "the pass took over %u s",
					  BENCH_PASS_TIMEOUT_MS / 1000);
			goto out;
		}
		timeout = (int)((deadline - now) / 1000000u) + 1;
		if (timeout > BENCH_IO_TIMEOUT_MS)
			timeout = BENCH_IO_TIMEOUT_MS;
		n = epoll_wait(ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			bench_worker_fail(w, -errno, "epoll_wait: %s", strerror(errno));
			goto out;
		}
		if (n == 0 && timeout == BENCH_IO_TIMEOUT_MS) {
			bench_worker_fail(w, -ETIMEDOUT, "no reply for %u s", BENCH_IO_TIMEOUT_MS / 1000);
			goto out;
		}
		for (k = 0; k < n; k++)
			if (bench_worker_readable(w, evs[k].data.ptr, &left) < 0)
				goto out;
	}
out:
	close(ep);
	return NULL;
}

/* Run one pass of calls_per_conn calls on every connection, split over the workers. */
static int
bench_pass(struct bench_worker *ws, unsigned nw, unsigned calls_per_conn, uint64_t *lat)
{
	unsigned i, started;
	int r = 0;

	for (i = 0; i < nw; i++) {
		ws[i].calls = calls_per_conn;
		ws[i].lat = lat;
		ws[i].err = 0;
		ws[i].why[0] = '\0';
	}
	for (started = 0; started < nw; started++) {
		r = -pthread_create(&ws[started].thread, NULL, bench_worker_run, &ws[started]);
		if (r < 0)
			break;
	}
	for (i = 0; i < started; i++) {
		pthread_join(ws[i].thread, NULL);
		if (ws[i].err < 0 && r == 0) {
			bench_err("load generator: %s", ws[i].why);
			r = ws[i].err;
		}
	}
	return r;
}

/* Open n connections to the broker. */
static int
bench_conns_open(const char *sock, struct bench_conn *cs, size_t n)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++)
		cs[i].fd = -1;
	for (i = 0; i < n; i++) {
		r = bench_conn_open(sock, &cs[i]);
		if (r < 0) {
			bench_err("connection %zu of %zu: %s", i + 1, n, strerror(-r));
			return r;
		}
	}
	return 0;
}

/* Close the connections opened by bench_conns_open. */
static void
bench_conns_close(struct bench_conn *cs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		bench_conn_close(&cs[i]);
}

/* Split nconn connections over the workers. */
static void
bench_workers_assign(struct bench_worker *ws, unsigned nw, struct bench_conn *cs, unsigned nconn)
{
	unsigned i, per = nconn / nw, extra = nconn % nw;
	size_t first = 0;

	for (i = 0; i < nw; i++) {
		ws[i].conns = cs + first;
		ws[i].n = per + (i < extra ? 1 : 0);
		ws[i].first = first;
		first += ws[i].n;
	}
}

/*
 * Case 2: GetToken in a closed loop on nconn connections to each server,
 * the two servers in alternating rounds so that other load on the machine
 * weighs on both alike.
 */
static int
bench_concurrent(const struct bench_target *targets, unsigned nconn, unsigned threads,
		 unsigned warmup, unsigned calls, unsigned rounds, struct bench_result *res)
{
	struct bench_meter m[2];
	struct bench_worker *ws[2] = { NULL, NULL };
	struct bench_conn *cs[2] = { NULL, NULL };
	uint64_t *lat[2] = { NULL, NULL };
	unsigned nw = threads < nconn ? threads : nconn, per = calls / rounds, k;
	size_t i, slice = (size_t)nconn * per;
	int r = 0;

	for (i = 0; i < 2 && r == 0; i++) {
		cs[i] = calloc(nconn, sizeof(*cs[i]));
		ws[i] = calloc(nw, sizeof(*ws[i]));
		lat[i] = calloc(slice * rounds, sizeof(*lat[i]));
		if (cs[i] == NULL || ws[i] == NULL || lat[i] == NULL) {
			r = -ENOMEM;
			break;
		}
		r = bench_conns_open(targets[i].sock, cs[i], nconn);
		if (r == 0) {
			bench_workers_assign(ws[i], nw, cs[i], nconn);
			r = bench_pass(ws[i], nw, warmup, NULL);
		}
		bench_meter_init(&m[i], targets[i].pid);
	}
	for (k = 0; k < rounds && r == 0; k++) {
		for (i = 0; i < 2 && r == 0; i++) {
			bench_meter_resume(&m[i]);
			r = bench_pass(ws[i], nw, per, lat[i] + k * slice);
			bench_meter_pause(&m[i]);
		}
	}
	for (i = 0; i < 2; i++) {
		if (r == 0)
			bench_meter_result(&m[i], targets[i].name, lat[i], slice * rounds, &res[i]);
		if (cs[i] != NULL)
			bench_conns_close(cs[i], nconn);
		free(cs[i]);
		free(ws[i]);
		free(lat[i]);
	}
	return r;
}

/* ---- case 3: a new connection per call ---- */

/* count calls, each on a connection of its own: connect, GetToken, read the reply, close. */
static int
bench_fresh_calls(const struct bench_target *t, struct bench_meter *m, unsigned count)
{
	struct bench_conn *c;
	size_t len;
	unsigned i;
	int r = 0;

	c = malloc(sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	if (m != NULL)
		bench_meter_resume(m);
	for (i = 0; i < count && r == 0; i++) {
		r = bench_conn_open(t->sock, c);
		if (r < 0)
			break;
		r = bench_conn_call(c, bench_msg_token, sizeof(bench_msg_token), &len);
		if (r == 0 && !bench_reply_quick(c->buf, len, BENCH_TOKEN))
			r = -EPROTO;
		bench_conn_close(c);
	}
	if (m != NULL)
		bench_meter_pause(m);
	if (r < 0)
		bench_err("%s: connect + GetToken + close: %s", t->name, strerror(-r));
	free(c);
	return r;
}

/* Connect + GetToken + close against both servers, in alternating blocks. */
static int
bench_fresh(const struct bench_target *targets, unsigned warmup, unsigned iters, unsigned block,
	    struct bench_result *res)
{
	struct bench_meter m[2];
	unsigned done, k;
	size_t i;
	int r = 0;

	for (i = 0; i < 2 && r == 0; i++) {
		bench_meter_init(&m[i], targets[i].pid);
		r = bench_fresh_calls(&targets[i], NULL, warmup);
	}
	for (done = 0; done < iters && r == 0; done += k) {
		k = iters - done < block ? iters - done : block;
		for (i = 0; i < 2 && r == 0; i++)
			r = bench_fresh_calls(&targets[i], &m[i], k);
	}
	for (i = 0; i < 2 && r == 0; i++) {
		res[i] = (struct bench_result){
			.name = targets[i].name,
			.calls = iters,
			.median_us = -1,
			.p99_us = -1,
			.calls_per_s = (double)iters / ((double)m[i].wall_ns / 1e9),
			.server_cpu_us = m[i].cpu_known ? (double)m[i].cpu_ns / 1e3 / iters : -1,
		};
	}
	return r;
}

/* ---- case 4: fan-out to watchers ---- */

/* Read from every readable connection until each of n has one whole message; times of first and last. */
static int
bench_collect(int ep, size_t n, uint64_t *first, uint64_t *last)
{
	struct epoll_event evs[256];
	uint64_t deadline = bench_now_ns() + (uint64_t)BENCH_PASS_TIMEOUT_MS * 1000000u, now;
	size_t got = 0;
	int k, i, r;

	*first = *last = 0;
	while (got < n) {
		k = epoll_wait(ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), BENCH_IO_TIMEOUT_MS);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || bench_now_ns() > deadline) {
			bench_err("%zu of %zu watchers got nothing", n - got, n);
			return -ETIMEDOUT;
		}
		now = bench_now_ns();
		for (i = 0; i < k; i++) {
			struct bench_conn *c = evs[i].data.ptr;
			char *nul;

			if (c->done > 0)
				continue;
			r = bench_conn_recv(c);
			if (r == -EAGAIN)
				continue;
			if (r < 0)
				return r;
			nul = memchr(c->buf, '\0', c->len);
			if (nul == NULL)
				continue;
			if (!bench_reply_quick(c->buf, (size_t)(nul - c->buf), BENCH_TOKEN))
				return -EPROTO;
			bench_conn_consume(c, (size_t)(nul - c->buf));
			c->done = 1;
			if (got++ == 0)
				*first = now;
			*last = now;
		}
	}
	return 0;
}

/* The generation in a GetToken reply. */
static int64_t
bench_generation(const char *msg)
{
	const char *g = strstr(msg, "\"generation\":");

	return g != NULL ? strtoll(g + 13, NULL, 10) : -1;
}

/* Order doubles. */
static int
bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of n doubles (sorted in place). */
static double
bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Trigger one fan-out on ctl and wait for every watcher; times from the trigger in ms. */
static int
bench_fanout_once(const struct bench_target *t, bool broker, struct bench_conn *ctl, int ep,
		  struct bench_conn *cs, unsigned n, double *first_ms, double *last_ms, double *cpu_ms)
{
	uint64_t t0, first, last, cpu0 = 0, cpu1 = 0;
	int64_t generation = -1;
	char report[128], *cur = NULL;
	bool cpu_known;
	size_t i, len = 0;
	int r = 0;

	for (i = 0; i < n; i++)
		cs[i].done = 0;
	if (broker) {
		/* ReportRejected of the current generation: the broker renews it and feeds everyone. */
		r = bench_call_raw(t->sock, bench_msg_token, sizeof(bench_msg_token), &cur, &len);
		if (r == 0)
			generation = bench_generation(cur);
		if (cur != NULL) {
			explicit_bzero(cur, len);
			free(cur);
		}
		if (r == 0 && generation <= 0)
			r = -EPROTO;
		if (r < 0)
			return r;
		snprintf(report, sizeof(report), "{\"method\":\"io.tvtokend.Broker.ReportRejected\","
			 "\"parameters\":{\"generation\":%" PRId64 "}}", generation);
	}
	cpu_known = bench_cpu_ns(t->pid, &cpu0) == 0;
	t0 = bench_now_ns();
	if (broker)
		r = bench_conn_send(ctl, report, strlen(report) + 1);
	else
		r = bench_conn_send(ctl, bench_msg_broadcast, sizeof(bench_msg_broadcast));
	if (r == 0)
		r = bench_collect(ep, n, &first, &last);
	if (r < 0)
		return r;
	*first_ms = (double)(first - t0) / 1e6;
	*last_ms = (double)(last - t0) / 1e6;
	*cpu_ms = cpu_known && bench_cpu_ns(t->pid, &cpu1) == 0 ? (double)(cpu1 - cpu0) / 1e6 : -1;
	if (broker) {
		/* The reporter's own reply: the new token. */
		struct pollfd p = { .fd = ctl->fd, .events = POLLIN };

		while (memchr(ctl->buf, '\0', ctl->len) == NULL) {
			if (poll(&p, 1, BENCH_IO_TIMEOUT_MS) <= 0)
				return -ETIMEDOUT;
			r = bench_conn_recv(ctl);
			if (r < 0 && r != -EAGAIN)
				return r;
		}
		len = strlen(ctl->buf);
		if (!bench_reply_quick(ctl->buf, len, BENCH_TOKEN))
			return -EPROTO;
		bench_conn_consume(ctl, len);
	}
	return 0;
}

/*
 * n watchers on t, fed rounds times. For tvtokend each makes a "more" call
 * and gets the current token; a round's trigger is a ReportRejected of the
 * current generation, which makes the broker renew (the mock answers at
 * once) and feed every watcher. For the echo the trigger is a broadcast
 * request. Times run from the trigger to the first and the last watcher
 * holding its whole message; the medians of the rounds are kept. VmRSS is
 * read before the first round and after the last.
 */
static int
bench_fanout(const struct bench_target *t, bool broker, unsigned n, unsigned rounds,
	     struct bench_fanout *res)
{
	struct bench_conn *cs, *ctl = NULL;
	struct epoll_event ev;
	double first[8], last[8], cpu[8];
	uint64_t f, l;
	size_t i;
	unsigned k;
	int ep, r;

	if (rounds > 8)
		rounds = 8;
	cs = calloc(n, sizeof(*cs));
	ctl = calloc(1, sizeof(*ctl));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (cs == NULL || ctl == NULL || ep < 0) {
		free(cs);
		free(ctl);
		if (ep >= 0)
			close(ep);
		return -ENOMEM;
	}
	ctl->fd = -1;
	r = bench_conns_open(t->sock, cs, n);
	for (i = 0; i < n && r == 0; i++) {
		ev.events = EPOLLIN;
		ev.data.ptr = &cs[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0)
			r = -errno;
		else if (broker)
			r = bench_conn_send(&cs[i], bench_msg_watch, sizeof(bench_msg_watch));
	}
	/* Every watcher holds the current token first. */
	if (r == 0 && broker)
		r = bench_collect(ep, n, &f, &l);
	if (r == 0)
		r = bench_status_kib(t->pid, "VmRSS", &res->rss_before_kib);
	if (r == 0)
		r = bench_conn_open(t->sock, ctl);
	for (k = 0; k < rounds && r == 0; k++)
		r = bench_fanout_once(t, broker, ctl, ep, cs, n, &first[k], &last[k], &cpu[k]);
	if (r == 0) {
		res->first_ms = bench_median(first, rounds);
		res->last_ms = bench_median(last, rounds);
		res->server_cpu_ms = bench_median(cpu, rounds);
		r = bench_status_kib(t->pid, "VmRSS", &res->rss_after_kib);
	}
	if (r < 0)
		bench_err("%s: fan-out to %u watchers: %s", t->name, n, strerror(-r));
	bench_conn_close(ctl);
	free(ctl);
	close(ep);
	bench_conns_close(cs, n);
	free(cs);
	return r;
}

/* Wait until tvtokend counts no connection but the one asking. */
static int
bench_wait_quiet(const char *sock)
{
	int64_t clients = -1;
	unsigned waited;
	int r = 0;

	for (waited = 0; waited < BENCH_START_TIMEOUT_MS; waited += 20) {
		r = bench_status_int(sock, "clients", &clients);
		if (r < 0 || clients <= 1)
			return r;
		bench_sleep_ms(20);
	}
	bench_err("tvtokend still counts %" PRId64 " connections", clients);
	return -ETIMEDOUT;
}

/* ---- the echo ---- */

/* Give the echo tvtokend's replies (their exact bytes, NUL included) and start it. */
static int
bench_echo_start(const char *echo, const char *sock)
{
	char *argv[] = { (char *)echo, bench_env.echo_sock, bench_env.echo_reply, bench_env.echo_cast, NULL };
	struct bench_conn *c;
	char *plain = NULL;
	size_t len = 0;
	unsigned waited;
	int fd, r;

	r = bench_call_raw(sock, bench_msg_token, sizeof(bench_msg_token), &plain, &len);
	if (r == 0) {
		fd = open(bench_env.echo_reply, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, plain, len + 1) != (ssize_t)(len + 1))
			r = -EIO;
		if (fd >= 0)
			close(fd);
	}
	if (plain != NULL) {
		explicit_bzero(plain, len);
		free(plain);
	}
	/* A watcher's first reply is the "continues" form the fan-out sends. */
	c = calloc(1, sizeof(*c));
	if (r == 0 && c == NULL)
		r = -ENOMEM;
	if (r == 0)
		r = bench_conn_open(sock, c);
	if (r == 0)
		r = bench_conn_call(c, bench_msg_watch, sizeof(bench_msg_watch), &len);
	if (r == 0) {
		fd = open(bench_env.echo_cast, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, c->buf, len + 1) != (ssize_t)(len + 1))
			r = -EIO;
		if (fd >= 0)
			close(fd);
	}
	if (c != NULL)
		bench_conn_close(c);
	free(c);
	if (r < 0) {
		bench_err("cannot copy tvtokend's replies for the echo: %s", strerror(-r));
		return r;
	}
	r = bench_spawn(argv, bench_env.echo_log, &bench_env.echo_pid);
	if (r < 0) {
		bench_err("cannot start %s: %s", echo, strerror(-r));
		return r;
	}
	for (waited = 0; waited < BENCH_START_TIMEOUT_MS; waited += 20) {
		if (bench_call_once(bench_env.echo_sock, bench_msg_token, sizeof(bench_msg_token),
				    BENCH_TOKEN, NULL) == 0)
			return 0;
		if (bench_child_gone(&bench_env.echo_pid))
			break;
		bench_sleep_ms(20);
	}
	bench_err("bench-echo did not start");
	bench_show_tail("echo output", bench_env.echo_log);
	return -ETIMEDOUT;
}

/* ---- printing ---- */

/* The load average as one short line. */
static void
bench_loadavg(char *buf, size_t size)
{
	FILE *f = fopen("/proc/loadavg", "re");
	double a = 0, b = 0, c = 0;

	if (f == NULL || fscanf(f, "%lf %lf %lf", &a, &b, &c) != 3)
		snprintf(buf, size, "unknown");
	else
		snprintf(buf, size, "%.2f %.2f %.2f", a, b, c);
	if (f != NULL)
		fclose(f);
}

/* Print the machine: processors, CPU model, kernel. */
static void
bench_print_machine(const struct bench_opts *o)
{
	char line[256], model[200] = "unknown", load[64];
	struct utsname u;
	FILE *f;
	char *p;

	f = fopen("/proc/cpuinfo", "re");
	if (f != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, "model name", 10) != 0 || (p = strchr(line, ':')) == NULL)
				continue;
			p += strspn(p + 1, " \t") + 1;
			p[strcspn(p, "\n")] = '\0';
			snprintf(model, sizeof(model), "%s", p);
			break;
		}
		fclose(f);
	}
	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "unknown");
	bench_loadavg(load, sizeof(load));
	printf("machine: %ld online CPUs, %s, Linux %s\n", sysconf(_SC_NPROCESSORS_ONLN), model, u.release);
	printf("load average at the start: %s\n", load);
	printf("load generator: %u thread(s) for the concurrent cases; case 1 pinned to CPU %u; "
	       "%u watchers; %u repetition(s)%s\n\n", o->threads, o->cpu, o->watchers, o->reps,
	       o->divisor > 1 ? " (--quick: a tenth of the calls)" : "");
}

/* Print one repetition: every case for both servers, and the ratio. */
static void
bench_print_rep(unsigned n, const struct bench_rep *r, unsigned watchers)
{
	printf("repetition %u (load average %s before, %s after)\n", n, r->load_before, r->load_after);
	printf("| case | tvtokend | echo | ratio | tvtokend cpu µs/call | echo cpu µs/call |\n");
	printf("| --- | ---: | ---: | ---: | ---: | ---: |\n");
	printf("| GetToken p50 µs, one connection, one CPU | %.1f | %.1f | %.2fx | %.2f | %.2f |\n",
	       r->serial[0].median_us, r->serial[1].median_us,
	       r->serial[0].median_us / r->serial[1].median_us,
	       r->serial[0].server_cpu_us, r->serial[1].server_cpu_us);
	printf("| GetToken p99 µs, one connection, one CPU | %.1f | %.1f | %.2fx | | |\n",
	       r->serial[0].p99_us, r->serial[1].p99_us, r->serial[0].p99_us / r->serial[1].p99_us);
	printf("| calls/s, 64 clients | %.0f | %.0f | %.0f %% | %.2f | %.2f |\n",
	       r->c64[0].calls_per_s, r->c64[1].calls_per_s,
	       100 * r->c64[0].calls_per_s / r->c64[1].calls_per_s,
	       r->c64[0].server_cpu_us, r->c64[1].server_cpu_us);
	printf("| calls/s, 512 clients | %.0f | %.0f | %.0f %% | %.2f | %.2f |\n",
	       r->c512[0].calls_per_s, r->c512[1].calls_per_s,
	       100 * r->c512[0].calls_per_s / r->c512[1].calls_per_s,
	       r->c512[0].server_cpu_us, r->c512[1].server_cpu_us);
	printf("| connect + GetToken + close, calls/s | %.0f | %.0f | %.0f %% | %.2f | %.2f |\n",
	       r->fresh[0].calls_per_s, r->fresh[1].calls_per_s,
	       100 * r->fresh[0].calls_per_s / r->fresh[1].calls_per_s,
	       r->fresh[0].server_cpu_us, r->fresh[1].server_cpu_us);
	printf("| %u watchers: trigger to last notified, ms | %.1f | %.1f | %.2fx | %.2f | %.2f |\n", watchers,
	       r->fan[0].last_ms, r->fan[1].last_ms, r->fan[0].last_ms / r->fan[1].last_ms,
	       r->fan[0].server_cpu_ms * 1000 / watchers, r->fan[1].server_cpu_ms * 1000 / watchers);
	printf("| %u watchers: trigger to first notified, ms | %.2f | %.2f | | | |\n", watchers,
	       r->fan[0].first_ms, r->fan[1].first_ms);
	printf("| %u watchers: first to last notified, ms | %.1f | %.1f | %.2fx | | |\n", watchers,
	       r->fan[0].last_ms - r->fan[0].first_ms, r->fan[1].last_ms - r->fan[1].first_ms,
	       (r->fan[0].last_ms - r->fan[0].first_ms) / (r->fan[1].last_ms - r->fan[1].first_ms));
	printf("| VmRSS KiB with %u watchers, before / after the renewal | %ld / %ld | %ld / %ld | | | |\n\n",
	       watchers, r->fan[0].rss_before_kib, r->fan[0].rss_after_kib,
	       r->fan[1].rss_before_kib, r->fan[1].rss_after_kib);
	fflush(stdout);
}

/* A ratio of every repetition, "1.10 / 1.12 / 1.09". */
static void
bench_print_ratios(const char *label, const char *target, const struct bench_rep *reps, unsigned n,
		   double (*ratio)(const struct bench_rep *), bool percent)
{
	unsigned i;

	printf("| %s | ", label);
	for (i = 0; i < n; i++)
		printf(percent ? "%s%.0f %%" : "%s%.2fx", i > 0 ? " / " : "", ratio(&reps[i]) * (percent ? 100 : 1));
	if (target[0] != '\0')
		printf(" | %s |\n", target);
	else
		printf(" |\n");
}

static double bench_r_p50(const struct bench_rep *r) { return r->serial[0].median_us / r->serial[1].median_us; }
static double bench_r_c64(const struct bench_rep *r) { return r->c64[0].calls_per_s / r->c64[1].calls_per_s; }
static double bench_r_c512(const struct bench_rep *r) { return r->c512[0].calls_per_s / r->c512[1].calls_per_s; }
static double bench_r_fresh(const struct bench_rep *r) { return r->fresh[0].calls_per_s / r->fresh[1].calls_per_s; }
static double bench_r_fan(const struct bench_rep *r) { return r->fan[0].last_ms / r->fan[1].last_ms; }
static double bench_c_serial(const struct bench_rep *r) { return r->serial[0].server_cpu_us / r->serial[1].server_cpu_us; }
static double bench_c_c64(const struct bench_rep *r) { return r->c64[0].server_cpu_us / r->c64[1].server_cpu_us; }
static double bench_c_c512(const struct bench_rep *r) { return r->c512[0].server_cpu_us / r->c512[1].server_cpu_us; }
static double bench_c_fresh(const struct bench_rep *r) { return r->fresh[0].server_cpu_us / r->fresh[1].server_cpu_us; }
static double bench_c_fan(const struct bench_rep *r) { return r->fan[0].server_cpu_ms / r->fan[1].server_cpu_ms; }

/* The summary: every row of issue 7's table, as ratios against the echo, each repetition. */
static void
bench_print_summary(const struct bench_rep *reps, unsigned n, unsigned watchers,
		    long rss_idle, long anon_idle)
{
	char label[96];
	unsigned i;

	printf("summary: tvtokend against the echo, repetition 1 / 2 / ... \n");
	printf("| what | tvtokend / echo | target |\n");
	printf("| --- | --- | --- |\n");
	bench_print_ratios("GetToken p50, one persistent connection, client and server on one CPU",
			   "<= 1.3x", reps, n, bench_r_p50, false);
	bench_print_ratios("calls/s, 64 persistent clients (closed loop)", ">= 70 %", reps, n, bench_r_c64, true);
	bench_print_ratios("calls/s, 512 clients", ">= 70 %", reps, n, bench_r_c512, true);
	bench_print_ratios("connect + one GetToken + close, calls/s", ">= 70 %", reps, n, bench_r_fresh, true);
	snprintf(label, sizeof(label), "%u watchers: renewal to last watcher notified", watchers);
	bench_print_ratios(label, "<= 1.2x the broadcast", reps, n, bench_r_fan, false);
	printf("| VmRSS with %u watchers, before / after a renewal | ", watchers);
	for (i = 0; i < n; i++)
		printf("%s%.1f / %.1f MiB", i > 0 ? "; " : "", reps[i].fan[0].rss_before_kib / 1024.0,
		       reps[i].fan[0].rss_after_kib / 1024.0);
	printf(" | <= 30 MiB, no jump at a fan-out |\n");
	printf("| anonymous memory idle (RssAnon) | %.2f MiB (VmRSS %.1f MiB) | <= 2 MiB |\n\n",
	       anon_idle / 1024.0, rss_idle / 1024.0);
	printf("the servers' CPU time per call (per watcher in the fan-out), tvtokend / echo: "
	       "steadier than wall time on a busy machine\n");
	printf("| what | tvtokend / echo |\n| --- | --- |\n");
	bench_print_ratios("one connection, one CPU", "", reps, n, bench_c_serial, false);
	bench_print_ratios("64 clients", "", reps, n, bench_c_c64, false);
	bench_print_ratios("512 clients", "", reps, n, bench_c_c512, false);
	bench_print_ratios("connect + GetToken + close", "", reps, n, bench_c_fresh, false);
	bench_print_ratios("fan-out", "", reps, n, bench_c_fan, false);
	printf("\n");
	fflush(stdout);
}

/* Make sure there are descriptors for the watchers (and the servers inherit the limit). */
static int
bench_raise_nofile(rlim_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
		return -EMFILE;
	rl.rlim_cur = need;
	return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}

/* Print usage. */
static void
bench_usage(FILE *f)
{
	fprintf(f, "usage: bench-serve [--quick] [--keep] [--reps N] [--cpu N] [--threads N] "
		   "[--watchers N] [--time-limit SEC] TVTOKEND MOCK_TRADOVATE BENCH_ECHO\n");
}

/* Parse a count option in [lo, hi]. */
static int
bench_parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* Parse the command line into o; -1 for usage errors, 1 for --help. */
static int
bench_parse_args(int argc, char *argv[], struct bench_opts *o)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "keep", no_argument, NULL, 'k' },
		{ "reps", required_argument, NULL, 'r' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "threads", required_argument, NULL, 't' },
		{ "watchers", required_argument, NULL, 'w' },
		{ "time-limit", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	bool watchers_set = false;
	int c;

	o->divisor = 1;
	o->threads = ncpu > 0 && ncpu < 64 ? (unsigned)ncpu : 2;
	o->time_limit = 600;
	o->reps = 3;
	o->cpu = 0;
	o->watchers = BENCH_WATCHERS;
	o->keep = false;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			o->divisor = 10;
			break;
		case 'k':
			o->keep = true;
			break;
		case 'r':
			if (bench_parse_uint(optarg, 1, 20, &o->reps) < 0)
				return -1;
			break;
		case 'c':
			if (bench_parse_uint(optarg, 0, CPU_SETSIZE - 1, &o->cpu) < 0)
				return -1;
			break;
		case 't':
			if (bench_parse_uint(optarg, 1, 64, &o->threads) < 0)
				return -1;
			break;
		case 'w':
			if (bench_parse_uint(optarg, 1, 60000, &o->watchers) < 0)
				return -1;
			watchers_set = true;
			break;
		case 'l':
			if (bench_parse_uint(optarg, 10, 3600, &o->time_limit) < 0)
				return -1;
			break;
		case 'h':
			return 1;
		default:
			return -1;
		}
	}
	if (!watchers_set)
		o->watchers /= o->divisor;
	if (argc - optind != 3)
		return -1;
	o->tvtokend = argv[optind];
	o->mock = argv[optind + 1];
	o->echo = argv[optind + 2];
	return 0;
}

/* One repetition of every case, against both servers. */
static int
bench_rep(const struct bench_opts *o, const struct bench_target *targets, struct bench_rep *rep)
{
	const unsigned d = o->divisor;
	int r;

	bench_loadavg(rep->load_before, sizeof(rep->load_before));
	r = bench_serial(targets, o->cpu, 5000 / d, 50000 / d, 1000, rep->serial);
	if (r == 0)
		r = bench_concurrent(targets, 64, o->threads, 50 / d, 1000 / d, 5, rep->c64);
	if (r == 0)
		r = bench_concurrent(targets, 512, o->threads, 10 / d, 200 / d, 5, rep->c512);
	if (r == 0)
		r = bench_wait_quiet(targets[0].sock);
	if (r == 0)
		r = bench_fresh(targets, 500 / d, 10000 / d, 500, rep->fresh);
	if (r == 0)
		r = bench_wait_quiet(targets[0].sock);
	if (r == 0)
		r = bench_fanout(&targets[0], true, o->watchers, BENCH_FANOUT_ROUNDS, &rep->fan[0]);
	if (r == 0)
		r = bench_wait_quiet(targets[0].sock);
	if (r == 0)
		r = bench_fanout(&targets[1], false, o->watchers, BENCH_FANOUT_ROUNDS, &rep->fan[1]);
	bench_loadavg(rep->load_after, sizeof(rep->load_after));
	return r;
}

/* Run every repetition and print the tables; 0 when all of it ran. */
static int
bench_run(const struct bench_opts *o)
{
	struct bench_target targets[2] = {
		{ "tvtokend", bench_env.sock, bench_env.daemon_pid },
		{ "echo", bench_env.echo_sock, bench_env.echo_pid },
	};
	struct bench_rep *reps;
	long rss_idle = 0, anon_idle = 0;
	int64_t requests = 0, renewals = 0, generation = 0;
	unsigned i;
	int r;

	bench_print_machine(o);
	r = bench_status_kib(targets[0].pid, "VmRSS", &rss_idle);
	if (r == 0)
		r = bench_status_kib(targets[0].pid, "RssAnon", &anon_idle);
	if (r < 0) {
		bench_err("reading tvtokend's memory: %s", strerror(-r));
		return r;
	}
	printf("tvtokend idle, token held: VmRSS %ld KiB, RssAnon %ld KiB\n\n", rss_idle, anon_idle);
	reps = calloc(o->reps, sizeof(*reps));
	if (reps == NULL)
		return -ENOMEM;
	for (i = 0; i < o->reps && r == 0; i++) {
		r = bench_rep(o, targets, &reps[i]);
		if (r == 0)
			bench_print_rep(i + 1, &reps[i], o->watchers);
	}
	if (r == 0)
		bench_print_summary(reps, o->reps, o->watchers, rss_idle, anon_idle);
	free(reps);
	if (r < 0)
		return r;

	r = bench_status_int(targets[0].sock, "accessTokenRequests", &requests);
	if (r == 0)
		r = bench_status_int(targets[0].sock, "renewals", &renewals);
	if (r == 0)
		r = bench_status_int(targets[0].sock, "generation", &generation);
	if (r < 0) {
		bench_err("GetStatus after the run: %s", strerror(-r));
		return r;
	}
	printf("tvtokend over the whole run: %" PRId64 " token request(s), %" PRId64
	       " renewal(s), generation %" PRId64 "\n", requests, renewals, generation);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct bench_opts o;
	unsigned port = 0;
	int r, status = 0;

	r = bench_parse_args(argc, argv, &o);
	if (r != 0) {
		bench_usage(r > 0 ? stdout : stderr);
		return r > 0 ? 0 : 2;
	}
	if (access(o.tvtokend, X_OK) < 0 || access(o.mock, X_OK) < 0 || access(o.echo, X_OK) < 0) {
		bench_err("%s, %s or %s is not an executable", o.tvtokend, o.mock, o.echo);
		return 2;
	}
	/* Our watchers, each server's (they inherit the limit), and some to spare. */
	r = bench_raise_nofile((rlim_t)o.watchers + 1024);
	if (r < 0) {
		bench_err("need %u file descriptors: %s (raise ulimit -n, or use --watchers)",
			  o.watchers + 1024, strerror(-r));
		return 1;
	}
	r = bench_env_setup(o.keep);
	if (r == 0)
		r = bench_signals_catch();
	if (r < 0) {
		bench_err("cannot set up a scratch directory: %s", strerror(-r));
		bench_remove_files();
		return 1;
	}
	alarm(o.time_limit);

	r = bench_mock_start(o.mock, &port);
	if (r == 0)
		r = bench_daemon_start(o.tvtokend, port, o.watchers);
	if (r == 0)
		r = bench_wait_token(bench_env.sock);
	if (r == 0)
		r = bench_echo_start(o.echo, bench_env.sock);
	if (r == 0)
		r = bench_run(&o);
	if (r < 0)
		bench_show_tail("tvtokend log", bench_env.daemon_log);

	bench_signals_block();
	alarm(0);
	bench_stop_all(&status);
	if (r == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		bench_err("tvtokend did not exit cleanly on SIGTERM (status %d)", status);
		r = -ECHILD;
	}
	if (o.keep)
		fprintf(stderr, "bench-serve: kept %s\n", bench_env.dir);
	return r < 0 ? 1 : 0;
}
