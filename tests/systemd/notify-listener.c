/* SPDX-License-Identifier: MIT */
/*
 * notify-listener: stand in for systemd's end of $NOTIFY_SOCKET in the
 * runtime tests.
 *
 *   notify-listener PATH          bind an AF_UNIX datagram socket at PATH and
 *                                 print every datagram until killed
 *   notify-listener --now         print CLOCK_MONOTONIC in microseconds
 *   notify-listener --send PATH MESSAGE
 *                                 send MESSAGE as one datagram to PATH
 *
 * Each datagram is printed as one line:
 *   <CLOCK_MONOTONIC usec> <sender pid> <payload>
 * with the payload's newlines turned into tabs (one notify field per tab)
 * and other control bytes into '?'. The sender pid comes from
 * SCM_CREDENTIALS, 0 when none arrived. Output is flushed line by line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Bigger than anything sd_notify sends in these tests; longer datagrams are cut. */
#define LISTENER_DATAGRAM_MAX 8192

/* CLOCK_MONOTONIC now, in microseconds (the clock MONOTONIC_USEC= uses). */
static unsigned long long listener_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL;
}

/* Fill sa with path; -ENAMETOOLONG when it does not fit. */
static int listener_address(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* Send one datagram to path. */
static int listener_send(const char *path, const char *msg)
{
	struct sockaddr_un sa;
	int fd, r = 0;

	if (listener_address(path, &sa) < 0) {
		fprintf(stderr, "notify-listener: %s: path too long\n", path);
		return 2;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "notify-listener: socket: %s\n", strerror(errno));
		return 1;
	}
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "notify-listener: %s: %s\n", path, strerror(errno));
		r = 1;
	}
	close(fd);
	return r;
}

/* Print one datagram as one line. */
static void listener_print(unsigned long long t, long pid, const char *buf, size_t len)
{
	size_t i;

	printf("%llu %ld ", t, pid);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\n')
			putchar('\t');
		else if (c < 0x20 || c == 0x7f)
			putchar('?');
		else
			putchar(c);
	}
	putchar('\n');
	fflush(stdout);
}

/* Bind path and print what arrives, until killed. */
static int listener_listen(const char *path)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} control;
	char buf[LISTENER_DATAGRAM_MAX];
	struct sockaddr_un sa;
	int fd, one = 1;

	if (listener_address(path, &sa) < 0) {
		fprintf(stderr, "notify-listener: %s: path too long\n", path);
		return 2;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "notify-listener: %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (;;) {
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = &control,
			.msg_controllen = sizeof(control),
		};
		struct cmsghdr *cm;
		long pid = 0;
		ssize_t n;

		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "notify-listener: recvmsg: %s\n", strerror(errno));
			close(fd);
			return 1;
		}
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS &&
			    cm->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
				struct ucred uc;

				memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
				pid = (long)uc.pid;
			}
		}
		listener_print(listener_now(), pid, buf, (size_t)n);
	}
}

int main(int argc, char *argv[])
{
	if (argc == 2 && strcmp(argv[1], "--now") == 0) {
		printf("%llu\n", listener_now());
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "--send") == 0)
		return listener_send(argv[2], argv[3]);
	if (argc == 2 && argv[1][0] != '-')
		return listener_listen(argv[1]);
	fprintf(stderr, "usage: notify-listener PATH | --now | --send PATH MESSAGE\n");
	return 2;
}
