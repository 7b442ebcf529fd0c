/* SPDX-License-Identifier: MIT */
/*
 * flood-clients: many Varlink clients that send and never read, for the
 * integration tests of back-pressure and connection limits.
 *
 *   flood-clients [--clients N] [--calls M] [--no-nul] [--timeout SEC] SOCKET [MESSAGE]
 *
 * Opens N connections (default 1) and sends MESSAGE and its NUL M times on
 * each (default 0: connect only), as far as each socket takes it without
 * waiting, and never reads. With --no-nul the NUL is left out: MESSAGE is
 * a message begun and never ended. Prints "ready N" once every connection is made
 * and sent, then for each line "report" on standard input prints
 * "open K closed J": how many connections the server has closed (a closed
 * one reads end-of-file once what came before is read; reading it is the
 * only reading done). Exits 0 at end of input, 1 at the time-out (default
 * 60 s, counted from the start), 3 when a connection cannot be made, 2 on
 * usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Milliseconds on the monotonic clock. */
static long long
flood_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Send what the socket takes now of M copies of msg (len bytes, its NUL included). */
static void
flood_send(int fd, const char *msg, size_t len, unsigned calls)
{
	size_t total = len * calls, off = 0;
	ssize_t n;

	while (off < total) {
		n = send(fd, msg + off % len, len - off % len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		off += (size_t)n;
	}
}

/* Whether the server closed fd: read what is there, then see end-of-file. */
static int
flood_closed(int fd)
{
	char buf[65536];
	ssize_t n;

	do
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	while (n > 0 || (n < 0 && errno == EINTR));
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "clients", required_argument, NULL, 'n' },
		{ "calls", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ "no-nul", no_argument, NULL, 'z' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned long clients = 1, calls = 0, i, closed;
	double timeout = 60;
	long long deadline;
	struct rlimit rl;
	const char *msg = "";
	size_t nul = 1;
	char line[64];
	int c, *fds;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			clients = strtoul(optarg, NULL, 10);
			break;
		case 'm':
			calls = strtoul(optarg, NULL, 10);
			break;
		case 't':
			timeout = atof(optarg);
			break;
		case 'z':
			nul = 0;
			break;
		default:
			return 2;
		}
	}
	if (argc - optind < 1 || argc - optind > 2 || clients == 0 || clients > 100000 ||
	    strlen(argv[optind]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: flood-clients [--clients N] [--calls M] [--no-nul] [--timeout SEC] SOCKET [MESSAGE]\n");
		return 2;
	}
	if (argc - optind == 2)
		msg = argv[optind + 1];
	strcpy(sa.sun_path, argv[optind]);
	deadline = flood_now_ms() + (long long)(timeout * 1000);
	alarm((unsigned)timeout + 5);

	/* One descriptor per client, and some. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < clients + 16) {
		rl.rlim_cur = clients + 16 < rl.rlim_max ? clients + 16 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	fds = calloc(clients, sizeof(*fds));
	if (fds == NULL)
		return 3;
	for (i = 0; i < clients; i++) {
		fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			fprintf(stderr, "flood-clients: connection %lu: %s\n", i + 1, strerror(errno));
			return 3;
		}
		if (calls > 0)
			flood_send(fds[i], msg, strlen(msg) + nul, (unsigned)calls);
	}
	printf("ready %lu\n", clients);
	fflush(stdout);

	for (;;) {
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		long long left = deadline - flood_now_ms();

		if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
			fprintf(stderr, "flood-clients: timed out\n");
			return 1;
		}
		if (fgets(line, sizeof(line), stdin) == NULL)
			return 0;
		if (strcmp(line, "report\n") != 0)
			continue;
		for (i = 0, closed = 0; i < clients; i++)
			closed += (unsigned long)flood_closed(fds[i]);
		printf("open %lu closed %lu\n", clients - closed, closed);
		fflush(stdout);
	}
}
