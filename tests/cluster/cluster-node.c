/* SPDX-License-Identifier: MIT */
/*
 * cluster-node: one cluster member (cluster.c, etcd.c, seal.c, http.c, the
 * real config loader) with a fake broker, for the cluster tests.
 *
 * The fake broker's state is "MARKER gen=N by=MEMBER" (MARKER from --marker).
 * As leader it makes a new generation every --bump-ms, but only when
 * cluster_may_send() says so (as a real broker would before each request);
 * as follower it adopts the generation of every value it is handed. A probe
 * calls cluster_may_send() every --probe-ms; it notes a gap in its own
 * running (SIGSTOP, suspend) longer than --gap-ms, and every change of the
 * answer. SIGUSR1: a follower forwards a ReportRejected of its generation;
 * the leader answers a report of its current generation with a new one.
 * SIGTERM: leave the cluster cleanly (cluster_stop) and exit 0.
 *
 * Every line on stdout: "<CLOCK_REALTIME ms> <WORD> ...", one event each:
 *   ROLE <role> <leader|->    FOLLOW <gen> <leader>    PROCLAIM <gen>
 *   REPORT <gen> <from>       REPORTED <gen> <rc>      RENEWED <gen>
 *   MAYSEND <0|1>             GAP <ms>                 STOPPED
 *
 * Usage: cluster-node --config PATH [--marker TEXT] [--bump-ms N] [--probe-ms N] [--gap-ms N]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "cluster.h"
#include "config.h"
#include "http.h"
#include "log.h"

struct node {
	struct event_base *base;
	struct http *http;
	struct cluster *cluster;
	struct config cfg;
	const char *marker;
	int64_t generation;
	enum cluster_role role;
	int may_send;                   /* -1: not probed yet */
	uint64_t last_probe;            /* CLOCK_BOOTTIME ms */
	int gap_ms;
	struct event *bump;
	struct event *probe;
	struct event *sigterm;
	struct event *sigusr1;
};

/* CLOCK_REALTIME in ms, for lines the test compares with its own clock. */
static unsigned long long
node_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

/* CLOCK_BOOTTIME in ms, for gaps. */
static uint64_t
node_boot_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One event line on stdout, flushed at once. */
static void __attribute__((format(printf, 1, 2)))
node_say(const char *fmt, ...)
{
	va_list ap;

	printf("%llu ", node_wall_ms());
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* The fake broker's state: the marker, the generation and who sealed it. */
static int
node_snapshot(uint8_t **out, size_t *len, void *arg)
{
	struct node *n = arg;
	char *s;
	int r;

	r = asprintf(&s, "%s gen=%" PRId64 " by=%s", n->marker, n->generation, n->cfg.member);
	if (r < 0)
		return -ENOMEM;
	*out = (uint8_t *)s;
	*len = (size_t)r;
	return 0;
}

/* Print every role change. */
static void
node_role(enum cluster_role role, const char *leader, void *arg)
{
	struct node *n = arg;

	n->role = role;
	node_say("ROLE %s %s", cluster_role_name(role), leader != NULL ? leader : "-");
}

/* Adopt the generation of a followed value and print it. */
static void
node_follow(const uint8_t *state, size_t len, const char *leader, void *arg)
{
	struct node *n = arg;
	char text[512];
	const char *g;
	int64_t gen;

	snprintf(text, sizeof(text), "%.*s", (int)len, (const char *)state);
	g = strstr(text, " gen=");
	if (g == NULL || sscanf(g, " gen=%" SCNd64, &gen) != 1) {
		node_say("BADSTATE %s", leader);
		return;
	}
	if (gen > n->generation)
		n->generation = gen;
	node_say("FOLLOW %" PRId64 " %s", gen, leader);
}

/* Leader: print a forwarded report and renew when it names the current generation. */
static void
node_report(int64_t generation, const char *member, void *arg)
{
	struct node *n = arg;

	node_say("REPORT %" PRId64 " %s", generation, member);
	/* A real broker renews now, if it may send, when the generation is current. */
	if (generation == n->generation && cluster_may_send(n->cluster)) {
		n->generation++;
		node_say("RENEWED %" PRId64, n->generation);
		cluster_proclaim(n->cluster);
	}
}

/* Leader: a new generation now and then, only when sending is allowed. */
static void
node_bump(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;

	if (!cluster_may_send(n->cluster))
		return;
	n->generation++;
	node_say("PROCLAIM %" PRId64, n->generation);
	cluster_proclaim(n->cluster);
}

/* Ask cluster_may_send and note gaps in our own running and changes of the answer. */
static void
node_probe(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	uint64_t now = node_boot_ms();
	int may;

	if (n->last_probe != 0 && now - n->last_probe > (uint64_t)n->gap_ms)
		node_say("GAP %" PRIu64, now - n->last_probe);
	n->last_probe = now;
	may = cluster_may_send(n->cluster) ? 1 : 0;
	if (may != n->may_send)
		node_say("MAYSEND %d", may);
	n->may_send = may;
}

/* The cluster left cleanly: end the loop. */
static void
node_stopped(void *arg)
{
	struct node *n = arg;

	node_say("STOPPED");
	event_base_loopbreak(n->base);
}

/* SIGTERM: leave the cluster cleanly. */
static void
node_sigterm(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;

	event_del(n->bump);
	cluster_stop(n->cluster, node_stopped, n);
}

/* SIGUSR1: forward a ReportRejected of the current generation. */
static void
node_sigusr1(evutil_socket_t fd, short what, void *arg)
{
	struct node *n = arg;
	int r = cluster_report_rejected(n->cluster, n->generation);

	node_say("REPORTED %" PRId64 " %d", n->generation, r);
}

/* Load the config, join the cluster, run until SIGTERM. */
int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "marker", required_argument, NULL, 'm' },
		{ "bump-ms", required_argument, NULL, 'b' },
		{ "probe-ms", required_argument, NULL, 'p' },
		{ "gap-ms", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct cluster_callbacks cb = {
		.snapshot_for_proclaim = node_snapshot,
		.on_role_change = node_role,
		.on_follow = node_follow,
		.on_report = node_report,
	};
	struct node n = { .marker = "STATE", .may_send = -1, .gap_ms = 1000 };
	struct config_errors errs = { 0 };
	const char *config = NULL;
	int bump_ms = 500, probe_ms = 5, opt, r;
	struct timeval tv;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'm':
			n.marker = optarg;
			break;
		case 'b':
			bump_ms = atoi(optarg);
			break;
		case 'p':
			probe_ms = atoi(optarg);
			break;
		case 'g':
			n.gap_ms = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (config == NULL || bump_ms <= 0 || probe_ms <= 0 || n.gap_ms <= 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init(LOG_TARGET_STDERR, false);
	if (config_load(config, &n.cfg, &errs) < 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "cluster-node: %s\n", errs.msg[i]);
		return 1;
	}
	config_errors_free(&errs);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	n.base = event_base_new();
	if (n.base == NULL || http_new(n.base, &n.http) < 0)
		return 1;
	r = cluster_new(n.base, n.http, &n.cfg, &cb, &n, &n.cluster);
	if (r < 0) {
		fprintf(stderr, "cluster-node: cluster_new: %s\n", strerror(-r));
		return 1;
	}
	n.bump = event_new(n.base, -1, EV_PERSIST, node_bump, &n);
	n.probe = event_new(n.base, -1, EV_PERSIST, node_probe, &n);
	n.sigterm = evsignal_new(n.base, SIGTERM, node_sigterm, &n);
	n.sigusr1 = evsignal_new(n.base, SIGUSR1, node_sigusr1, &n);
	tv.tv_sec = bump_ms / 1000;
	tv.tv_usec = (bump_ms % 1000) * 1000;
	event_add(n.bump, &tv);
	tv.tv_sec = probe_ms / 1000;
	tv.tv_usec = (probe_ms % 1000) * 1000;
	event_add(n.probe, &tv);
	event_add(n.sigterm, NULL);
	event_add(n.sigusr1, NULL);
	if (cluster_start(n.cluster) < 0)
		return 1;
	event_base_dispatch(n.base);

	cluster_free(n.cluster);
	event_free(n.bump);
	event_free(n.probe);
	event_free(n.sigterm);
	event_free(n.sigusr1);
	http_free(n.http);
	event_base_free(n.base);
	config_free(&n.cfg);
	curl_global_cleanup();
	return 0;
}
