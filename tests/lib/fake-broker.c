/* SPDX-License-Identifier: MIT */
/*
 * A scripted stand-in for tvtokend's Varlink socket, for the tvtokenctl tests.
 *
 * Usage: fake-broker SOCKET LOG STEP...
 *   reply=JSON  read one call (appended to LOG, one line each) and answer JSON
 *   send=JSON   send JSON without reading a call (the next reply of a stream)
 *   hold        read one call and never answer it
 *   close       hang up the connection
 * A connection is accepted when a step needs one. The socket appears only
 * once it listens (bound under another name, then renamed). After the last
 * step the program waits for the client to hang up and exits 0; it exits 1
 * on any failure, and SIGALRM ends it after 20 seconds whatever happens.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define FAKE_MESSAGE_MAX 65536

/* Print why the fake broker gives up, and exit 1. */
static void __attribute__((noreturn))
fake_die(const char *what)
{
	fprintf(stderr, "fake-broker: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Listen on path, making the file appear only once it accepts connections. */
static int
fake_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char tmp[sizeof(sa.sun_path)];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		fake_die("socket path too long");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", tmp);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fake_die("socket");
	unlink(tmp);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		fake_die("bind");
	if (listen(fd, 8) < 0)
		fake_die("listen");
	if (rename(tmp, path) < 0)
		fake_die("rename");
	return fd;
}

/* Read one NUL-terminated call from fd and append it to the log as one line. */
static void
fake_read_call(int fd, FILE *log)
{
	char buf[FAKE_MESSAGE_MAX + 1];
	size_t n = 0;
	ssize_t r;

	for (;;) {
		if (n == sizeof(buf))
			fake_die("call too long");
		r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fake_die("read");
		if (r == 0) {
			errno = EPIPE;
			fake_die("client hung up before a call");
		}
		if (buf[n] == '\0')
			break;
		n++;
	}
	fprintf(log, "%.*s\n", (int)n, buf);
	fflush(log);
}

/* Send text and its NUL. */
static void
fake_send(int fd, const char *text)
{
	size_t len = strlen(text) + 1, off = 0;
	ssize_t r;

	while (off < len) {
		r = send(fd, text + off, len - off, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fake_die("send");
		off += (size_t)r;
	}
}

/* Wait until the client hangs up, discarding what it sends. */
static void
fake_wait_eof(int fd)
{
	char buf[256];
	ssize_t r;

	do {
		r = read(fd, buf, sizeof(buf));
	} while (r > 0 || (r < 0 && errno == EINTR));
}

/* Run the steps given on the command line against one client at a time. */
int
main(int argc, char **argv)
{
	int lfd, fd = -1, i;
	FILE *log;

	if (argc < 3) {
		fprintf(stderr, "usage: fake-broker SOCKET LOG STEP...\n");
		return 2;
	}
	alarm(20);
	log = fopen(argv[2], "ae");
	if (log == NULL)
		fake_die(argv[2]);
	lfd = fake_listen(argv[1]);
	for (i = 3; i < argc; i++) {
		const char *step = argv[i];

		if (strcmp(step, "close") == 0) {
			if (fd >= 0)
				close(fd);
			fd = -1;
			continue;
		}
		if (fd < 0) {
			fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				fake_die("accept");
		}
		if (strncmp(step, "reply=", 6) == 0) {
			fake_read_call(fd, log);
			fake_send(fd, step + 6);
		} else if (strncmp(step, "send=", 5) == 0) {
			fake_send(fd, step + 5);
		} else if (strcmp(step, "hold") == 0) {
			fake_read_call(fd, log);
		} else {
			errno = EINVAL;
			fake_die(step);
		}
	}
	if (fd >= 0) {
		fake_wait_eof(fd);
		close(fd);
	}
	close(lfd);
	unlink(argv[1]);
	fclose(log);
	return 0;
}
