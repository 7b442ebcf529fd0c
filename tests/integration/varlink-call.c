/* SPDX-License-Identifier: MIT */
/*
 * varlink-call: speak raw Varlink to a socket, for the integration tests.
 *
 *   varlink-call [--timeout SEC] [--replies N] [--until-eof] [--split] SOCKET [MESSAGE...]
 *
 * Each MESSAGE is sent followed by a NUL ("-" sends standard input as it is,
 * without a NUL). --split sends the bytes one write at a time. Replies are
 * printed one per line (their NUL turned into a newline).
 * Exit: 0 when N replies arrived (default: one per MESSAGE) or, with
 * --until-eof, when the peer closed; 1 on time-out or early close; 3 when
 * the socket cannot be reached; 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int send_all(int fd, const char *buf, size_t len, int split)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, split ? 1 : len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
		if (split)
			usleep(1000);
	}
	return 0;
}

int main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "replies", required_argument, NULL, 'r' },
		{ "until-eof", no_argument, NULL, 'e' },
		{ "split", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	double timeout = 5;
	long want = -1;
	int until_eof = 0, split = 0, c, fd, i;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long deadline;
	long got = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			timeout = atof(optarg);
			break;
		case 'r':
			want = atol(optarg);
			break;
		case 'e':
			until_eof = 1;
			break;
		case 's':
			split = 1;
			break;
		default:
			return 2;
		}
	}
	if (optind >= argc || strlen(argv[optind]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: varlink-call [--timeout SEC] [--replies N] [--until-eof] [--split] SOCKET [MESSAGE...]\n");
		return 2;
	}
	strcpy(sa.sun_path, argv[optind]);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "varlink-call: %s: %s\n", sa.sun_path, strerror(errno));
		return 3;
	}
	if (want < 0)
		want = argc - optind - 1;

	for (i = optind + 1; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0) {
			char buf[65536];
			ssize_t n;

			while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
				if (send_all(fd, buf, (size_t)n, split) < 0)
					break;
			continue;
		}
		if (send_all(fd, argv[i], strlen(argv[i]) + 1, split) < 0) {
			fprintf(stderr, "varlink-call: send: %s\n", strerror(errno));
			break;
		}
	}

	deadline = now_ms() + (long long)(timeout * 1000);
	while (until_eof || got < want) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		char buf[4096];
		ssize_t n, k;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			fprintf(stderr, "varlink-call: timed out after %ld replies\n", got);
			return 1;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (until_eof)
				return 0;
			fprintf(stderr, "varlink-call: connection closed after %ld replies\n", got);
			return 1;
		}
		for (k = 0; k < n; k++) {
			if (buf[k] == '\0') {
				putchar('\n');
				got++;
			} else {
				putchar(buf[k]);
			}
		}
		fflush(stdout);
	}
	close(fd);
	return 0;
}
