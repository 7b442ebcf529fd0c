/* SPDX-License-Identifier: MIT */
/*
 * bench-echo: the bare baseline of tests/bench (bench-serve). A
 * single-threaded epoll server on a Unix socket that answers every
 * NUL-terminated request with a canned reply, and, asked to broadcast,
 * writes a canned message to every other connection. It parses nothing,
 * checks no one and holds no token: what serving costs with nothing but the
 * socket work of a Varlink server.
 *
 *   bench-echo SOCKET REPLY_FILE BROADCAST_FILE
 *
 * REPLY_FILE holds the reply (bench-serve writes the bytes of a real
 * tvtokend GetToken reply, its NUL included); BROADCAST_FILE the message a
 * broadcast sends (a real "continues" GetToken reply). A request that is
 * exactly BENCH_ECHO_BROADCAST starts a broadcast and gets no reply.
 * Writes the socket, then serves until SIGTERM (exit 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench-echo.h"

/* Bytes of a request kept until its NUL: requests here are tiny. */
#define ECHO_IN_MAX 4096

/* One connection: what came of its next request, and what the socket has not taken yet. */
struct echo_conn {
	char in[ECHO_IN_MAX];
	size_t in_len;
	char *out;
	size_t out_len;
	bool open;
};

static volatile sig_atomic_t echo_stop;

static struct echo_conn *conns;  /* by fd */
static int max_fd;
static int ep;
static char *reply, *cast;
static size_t reply_len, cast_len;

/* SIGTERM: leave the loop. */
static void
echo_on_term(int sig)
{
	echo_stop = 1;
}

/* Read a whole file into memory. */
static char *
echo_slurp(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0) {
		perror(path);
		exit(1);
	}
	buf = malloc((size_t)st.st_size);
	if (buf == NULL)
		exit(1);
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size)
		exit(1);
	*len = (size_t)n;
	return buf;
}

/* Drop a connection. */
static void
echo_close(int fd)
{
	close(fd);
	free(conns[fd].out);
	memset(&conns[fd], 0, sizeof(conns[fd]));
}

/* Write to a connection at once; keep what the socket does not take and wait for room. */
static void
echo_send(int fd, const char *buf, size_t len)
{
	struct echo_conn *c = &conns[fd];
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.fd = fd };
	ssize_t n = 0;
	char *out;

	if (c->out_len == 0) {
		n = write(fd, buf, len);
		if (n == (ssize_t)len)
			return;
		if (n < 0) {
			if (errno != EAGAIN) {
				echo_close(fd);
				return;
			}
			n = 0;
		}
	}
	out = realloc(c->out, c->out_len + len - (size_t)n);
	if (out == NULL) {
		echo_close(fd);
		return;
	}
	memcpy(out + c->out_len, buf + n, len - (size_t)n);
	if (c->out_len == 0)
		epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
	c->out = out;
	c->out_len += len - (size_t)n;
}

/* The socket takes more: write what waits. */
static void
echo_writable(int fd)
{
	struct echo_conn *c = &conns[fd];
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	ssize_t n = write(fd, c->out, c->out_len);

	if (n < 0) {
		if (errno != EAGAIN)
			echo_close(fd);
		return;
	}
	memmove(c->out, c->out + n, c->out_len - (size_t)n);
	c->out_len -= (size_t)n;
	if (c->out_len == 0)
		epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

/* Requests came: one reply per NUL (or a broadcast to everyone else). */
static void
echo_readable(int fd)
{
	struct echo_conn *c = &conns[fd];
	char *nul;
	size_t len;
	ssize_t n;
	int i;

	n = read(fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
	if (n <= 0) {
		if (n == 0 || errno != EAGAIN)
			echo_close(fd);
		return;
	}
	c->in_len += (size_t)n;
	while ((nul = memchr(c->in, '\0', c->in_len)) != NULL) {
		len = (size_t)(nul - c->in);
		if (len == strlen(BENCH_ECHO_BROADCAST) && memcmp(c->in, BENCH_ECHO_BROADCAST, len) == 0) {
			for (i = 0; i <= max_fd; i++)
				if (conns[i].open && i != fd)
					echo_send(i, cast, cast_len);
		} else {
			echo_send(fd, reply, reply_len);
		}
		memmove(c->in, nul + 1, c->in_len - len - 1);
		c->in_len -= len + 1;
	}
	if (c->in_len == sizeof(c->in))
		echo_close(fd);
}

/* Take every connection that waits. */
static void
echo_accept(int lfd, int limit)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (fd >= limit) {
			close(fd);
			continue;
		}
		conns[fd].open = true;
		if (fd > max_fd)
			max_fd = fd;
		ev.data.fd = fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN }, evs[256];
	struct sigaction act = { .sa_handler = echo_on_term };
	struct rlimit rl;
	int lfd, n, i, limit;

	if (argc != 4 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: bench-echo SOCKET REPLY_FILE BROADCAST_FILE\n");
		return 2;
	}
	reply = echo_slurp(argv[2], &reply_len);
	cast = echo_slurp(argv[3], &cast_len);
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1;
	limit = rl.rlim_cur > 1 << 20 ? 1 << 20 : (int)rl.rlim_cur;
	conns = calloc((size_t)limit, sizeof(*conns));
	if (conns == NULL)
		return 1;

	strcpy(sa.sun_path, argv[1]);
	unlink(argv[1]);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, SOMAXCONN) < 0) {
		perror(argv[1]);
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.fd = lfd;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		return 1;

	while (!echo_stop) {
		n = epoll_wait(ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), -1);
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lfd) {
				echo_accept(lfd, limit);
				continue;
			}
			if (!conns[fd].open)
				continue;
			if (evs[i].events & EPOLLOUT)
				echo_writable(fd);
			if (conns[fd].open && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
				echo_readable(fd);
		}
	}
	unlink(argv[1]);
	return 0;
}
