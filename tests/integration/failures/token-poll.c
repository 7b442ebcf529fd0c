/* SPDX-License-Identifier: MIT */
/*
 * token-poll: watch what tvtokend serves, with the wall-clock time of every
 * reply, for the lifecycle-under-failure integration tests.
 *
 *   token-poll [--interval MS] [--duration SEC] SOCKET
 *       GetToken every MS (default 50) on one connection for SEC seconds
 *       (default 10), reconnecting when the broker goes away.
 *   token-poll --more [--wait] [--replies N] [--duration SEC] SOCKET
 *       one GetToken with "more": true (and "wait": true); every reply
 *       until N replies, SEC seconds, or the connection closes.
 *   token-poll --wait [--duration SEC] SOCKET
 *       one GetToken with "wait": true; its reply.
 *
 * One line per reply, times in microseconds since the epoch: SENT is when
 * the call was written, RECV when its reply had fully arrived:
 *
 *   SENT RECV token GENERATION EXPIRATION
 *   SENT RECV error NAME STATE
 *   SENT RECV down                 (cannot connect; polling mode only)
 *
 * No token is ever printed. Exit: 0 when the run ended as asked (--replies
 * reached, or the duration ran out in polling mode); 1 on time-out or early
 * close in the one-call modes; 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#define POLL_MSG_MAX 65536

struct poll_conn {
	int fd;
	char buf[POLL_MSG_MAX + 1];
	size_t len;
};

/* Wall-clock microseconds, the clock tvtokend serves expirationTime on. */
static int64_t poll_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Monotonic milliseconds, for deadlines. */
static int64_t poll_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "2026-11-28T14:30:00Z" or with a fraction, to microseconds; -1 when malformed. */
static int64_t poll_parse_time(const char *s)
{
	struct tm tm = { 0 };
	int64_t frac = 0, scale = 100000;
	const char *p;
	time_t t;

	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		return -1;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (strcmp(p, "Z") != 0)
		return -1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	return (int64_t)t * 1000000 + frac;
}

/* Connect to the broker's socket; -1 on failure. */
static int poll_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send one message and its NUL; 0 or -1. */
static int poll_send(int fd, const char *msg)
{
	size_t len = strlen(msg) + 1;

	while (len > 0) {
		ssize_t n = send(fd, msg, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		msg += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Wait for the next complete message until deadline_ms (monotonic); *recv
 * is set the moment its last byte arrived. Returns its length, -1 on close or
 * error, -2 on time-out. The message is left NUL-terminated at c->buf.
 */
static ssize_t poll_recv(struct poll_conn *c, int64_t deadline_ms, int64_t *recv_us)
{
	for (;;) {
		char *nul = memchr(c->buf, '\0', c->len);
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int64_t left = deadline_ms - poll_mono_ms();
		ssize_t n;

		if (nul != NULL)
			return nul - c->buf;
		if (c->len >= POLL_MSG_MAX)
			return -1;
		if (left <= 0)
			return -2;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -2;
		n = recv(c->fd, c->buf + c->len, POLL_MSG_MAX - c->len, 0);
		*recv_us = poll_now();
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c->len += (size_t)n;
	}
}

/* Drop the message of length n (and its NUL) from the buffer. */
static void poll_consume(struct poll_conn *c, size_t n)
{
	memmove(c->buf, c->buf + n + 1, c->len - n - 1);
	c->len -= n + 1;
}

/* Print one reply as a line of facts, never the token itself. */
static void poll_print(const char *msg, int64_t sent, int64_t recv)
{
	struct json_object *o = json_tokener_parse(msg), *v, *p, *tok;
	const char *state = "-";

	printf("%" PRId64 " %" PRId64 " ", sent, recv);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		printf("garbage\n");
	} else if (json_object_object_get_ex(o, "error", &v) && json_object_is_type(v, json_type_string)) {
		if (json_object_object_get_ex(o, "parameters", &p) &&
		    json_object_object_get_ex(p, "state", &v) && json_object_is_type(v, json_type_string))
			state = json_object_get_string(v);
		json_object_object_get_ex(o, "error", &v);
		printf("error %s %s\n", json_object_get_string(v), state);
	} else if (json_object_object_get_ex(o, "parameters", &p) &&
		   json_object_object_get_ex(p, "token", &tok) &&
		   json_object_object_get_ex(tok, "generation", &v) && json_object_is_type(v, json_type_int)) {
		int64_t gen = json_object_get_int64(v), exp = -1;

		if (json_object_object_get_ex(tok, "expirationTime", &v) && json_object_is_type(v, json_type_string))
			exp = poll_parse_time(json_object_get_string(v));
		printf("token %" PRId64 " %" PRId64 "\n", gen, exp);
	} else {
		printf("other\n");
	}
	fflush(stdout);
	json_object_put(o);
}

/* GetToken every interval until the deadline, reconnecting as needed. */
static int poll_loop(const char *path, int interval_ms, int64_t deadline_ms)
{
	static const char msg[] = "{\"method\":\"io.tvtokend.Broker.GetToken\"}";
	static struct poll_conn c;

	c.fd = -1;
	while (poll_mono_ms() < deadline_ms) {
		int64_t sent, recv = 0;
		ssize_t n;

		if (c.fd < 0) {
			c.fd = poll_connect(path);
			c.len = 0;
		}
		sent = poll_now();
		if (c.fd < 0 || poll_send(c.fd, msg) < 0) {
			printf("%" PRId64 " %" PRId64 " down\n", sent, poll_now());
			fflush(stdout);
			if (c.fd >= 0)
				close(c.fd);
			c.fd = -1;
		} else {
			n = poll_recv(&c, deadline_ms + 5000, &recv);
			if (n < 0) {
				printf("%" PRId64 " %" PRId64 " down\n", sent, poll_now());
				fflush(stdout);
				close(c.fd);
				c.fd = -1;
			} else {
				poll_print(c.buf, sent, recv);
				poll_consume(&c, (size_t)n);
			}
		}
		usleep((useconds_t)interval_ms * 1000);
	}
	if (c.fd >= 0)
		close(c.fd);
	return 0;
}

/* One GetToken (with more and/or wait); print its replies. */
static int poll_once(const char *path, bool more, bool wait, long replies, int64_t deadline_ms)
{
	static struct poll_conn c;
	char msg[128];
	int64_t sent, recv = 0;
	long got = 0;

	snprintf(msg, sizeof(msg), "{\"method\":\"io.tvtokend.Broker.GetToken\"%s%s}",
		 wait ? ",\"parameters\":{\"wait\":true}" : "", more ? ",\"more\":true" : "");
	c.fd = poll_connect(path);
	if (c.fd < 0) {
		fprintf(stderr, "token-poll: cannot connect to %s\n", path);
		return 1;
	}
	sent = poll_now();
	if (poll_send(c.fd, msg) < 0) {
		close(c.fd);
		return 1;
	}
	while (got < replies) {
		ssize_t n = poll_recv(&c, deadline_ms, &recv);

		if (n < 0) {
			fprintf(stderr, "token-poll: %s after %ld replies\n",
				n == -2 ? "timed out" : "connection closed", got);
			close(c.fd);
			return 1;
		}
		poll_print(c.buf, sent, recv);
		poll_consume(&c, (size_t)n);
		got++;
	}
	close(c.fd);
	return 0;
}

int main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "duration", required_argument, NULL, 'd' },
		{ "replies", required_argument, NULL, 'r' },
		{ "more", no_argument, NULL, 'm' },
		{ "wait", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	int interval_ms = 50, ch;
	double duration = 10;
	long replies = 1;
	bool more = false, wait = false;
	int64_t deadline_ms;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			interval_ms = atoi(optarg);
			break;
		case 'd':
			duration = atof(optarg);
			break;
		case 'r':
			replies = atol(optarg);
			break;
		case 'm':
			more = true;
			break;
		case 'w':
			wait = true;
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1 || interval_ms < 1 || interval_ms > 60000 || duration <= 0 ||
	    duration > 600 || replies < 1) {
		fprintf(stderr, "usage: token-poll [--interval MS] [--duration SEC] SOCKET\n"
				"       token-poll [--more] [--wait] [--replies N] [--duration SEC] SOCKET\n");
		return 2;
	}
	deadline_ms = poll_mono_ms() + (int64_t)(duration * 1000);
	if (more || wait)
		return poll_once(argv[optind], more, wait, replies, deadline_ms);
	return poll_loop(argv[optind], interval_ms, deadline_ms);
}
