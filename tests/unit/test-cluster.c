/* SPDX-License-Identifier: MIT */
/*
 * cluster: what can be checked without etcd: the payload inside sealed
 * values, the timing derived from LeaseSec, and what cluster_new accepts.
 * The role machine itself runs against a real etcd in tests/cluster/.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <event2/event.h>

#include "cluster.h"
#include "config.h"
#include "http.h"

/* Build in, parse it back into out. */
static void
round_trip(const struct cluster_payload *in, struct cluster_payload *out, uint8_t **buf,
    size_t *len)
{
	assert_int_equal(cluster_payload_build(in, buf, len), 0);
	assert_int_equal(cluster_payload_parse(*buf, *len, out), 0);
}

static void
state_payload_round_trips(void **state)
{
	struct cluster_payload in = { .kind = CLUSTER_KIND_STATE, .member = "host-1",
	    .state = (const uint8_t *)"{\"generation\":7}", .state_len = 16 }, out;
	uint8_t *buf;
	size_t len;

	round_trip(&in, &out, &buf, &len);
	assert_int_equal(len, 3 + 6 + 16);
	assert_int_equal(out.kind, CLUSTER_KIND_STATE);
	assert_string_equal(out.member, "host-1");
	assert_int_equal(out.state_len, 16);
	assert_memory_equal(out.state, "{\"generation\":7}", 16);
	free(buf);
}

static void
empty_state_round_trips(void **state)
{
	struct cluster_payload in = { .kind = CLUSTER_KIND_STATE, .member = "m" }, out;
	uint8_t *buf;
	size_t len;

	round_trip(&in, &out, &buf, &len);
	assert_int_equal(out.state_len, 0);
	free(buf);
}

static void
report_payload_round_trips(void **state)
{
	struct cluster_payload in = { .kind = CLUSTER_KIND_REPORT, .member = "n2",
	    .generation = INT64_MAX, .nonce = 0x0123456789abcdefULL }, out;
	uint8_t *buf;
	size_t len;

	round_trip(&in, &out, &buf, &len);
	assert_int_equal(len, 3 + 2 + 16);
	assert_int_equal(out.kind, CLUSTER_KIND_REPORT);
	assert_string_equal(out.member, "n2");
	assert_int_equal(out.generation, INT64_MAX);
	assert_int_equal(out.nonce, 0x0123456789abcdefULL);
	/* Big-endian on the wire. */
	assert_int_equal(buf[5], 0x7f);
	assert_int_equal(buf[13], 0x01);
	free(buf);
}

static void
malformed_payloads_are_refused(void **state)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t len;
	} cases[] = {
		{ "empty", "", 0 },
		{ "too short", "\x01\x01\x01", 3 },
		{ "version 2", "\x02\x01\x01m", 4 },
		{ "kind 3", "\x01\x03\x01m", 4 },
		{ "no member", "\x01\x01\x00xyz", 6 },
		{ "member past the end", "\x01\x01\x09mmm", 6 },
		{ "member over 64", "\x01\x01\x41m", 4 },
		{ "member with a NUL", "\x01\x01\x02m\0", 5 },
		{ "member with a blank", "\x01\x01\x02m ", 5 },
		{ "member with a control byte", "\x01\x01\x02m\n", 5 },
		{ "report too short", "\x01\x02\x01m\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0", 19 },
		{ "report too long", "\x01\x02\x01m\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\0\0", 21 },
		{ "negative generation", "\x01\x02\x01m\x80\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\0", 20 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cluster_payload out;

		if (cluster_payload_parse((const uint8_t *)cases[i].bytes, cases[i].len, &out) !=
		    -EBADMSG)
			fail_msg("%s: accepted", cases[i].what);
	}
}

static void
oversized_state_is_refused_both_ways(void **state)
{
	uint8_t *big = calloc(1, CLUSTER_MAX_STATE + 1), *buf = NULL;
	struct cluster_payload in = { .kind = CLUSTER_KIND_STATE, .member = "m", .state = big,
	    .state_len = CLUSTER_MAX_STATE + 1 }, out;
	size_t len;

	assert_non_null(big);
	assert_int_equal(cluster_payload_build(&in, &buf, &len), -EINVAL);
	in.state_len = CLUSTER_MAX_STATE;
	assert_int_equal(cluster_payload_build(&in, &buf, &len), 0);
	assert_int_equal(cluster_payload_parse(buf, len, &out), 0);
	free(buf);
	/* A hand-made one byte longer. */
	buf = malloc(4 + CLUSTER_MAX_STATE + 1);
	assert_non_null(buf);
	memcpy(buf, "\x01\x01\x01m", 4);
	memset(buf + 4, 0, CLUSTER_MAX_STATE + 1);
	assert_int_equal(cluster_payload_parse(buf, 4 + CLUSTER_MAX_STATE + 1, &out), -EBADMSG);
	free(buf);
	free(big);
}

static void
building_needs_a_member_and_a_known_kind(void **state)
{
	struct cluster_payload in = { .kind = CLUSTER_KIND_STATE };
	uint8_t *buf = NULL;
	size_t len;

	assert_int_equal(cluster_payload_build(&in, &buf, &len), -EINVAL);
	snprintf(in.member, sizeof(in.member), "m");
	in.kind = (enum cluster_kind)7;
	assert_int_equal(cluster_payload_build(&in, &buf, &len), -EINVAL);
	assert_null(buf);
}

static void
role_names_are_the_status_words(void **state)
{
	assert_string_equal(cluster_role_name(CLUSTER_STANDALONE), "standalone");
	assert_string_equal(cluster_role_name(CLUSTER_CANDIDATE), "candidate");
	assert_string_equal(cluster_role_name(CLUSTER_FOLLOWER), "follower");
	assert_string_equal(cluster_role_name(CLUSTER_LEADER), "leader");
}

static int
noop_snapshot(uint8_t **out, size_t *len, void *arg)
{
	return -ENODATA;
}

static void
noop_role(enum cluster_role role, const char *leader, void *arg)
{
}

static void
noop_follow(const uint8_t *state, size_t len, const char *leader, void *arg)
{
}

static void
noop_report(int64_t generation, const char *member, void *arg)
{
}

static const struct cluster_callbacks noop_cb = {
	.snapshot_for_proclaim = noop_snapshot,
	.on_role_change = noop_role,
	.on_follow = noop_follow,
	.on_report = noop_report,
};

/* A cluster config filled by hand, lease in seconds. */
static void
make_config(struct config *cfg, char **etcd, unsigned lease)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cluster = true;
	cfg->etcd = etcd;
	cfg->n_etcd = 1;
	cfg->election = (char *)"tvtokend/alice";
	cfg->member = (char *)"n1";
	cfg->lease = lease * USEC_PER_SEC;
	cfg->base_url = (char *)"https://demo.tradovateapi.com/v1";
	cfg->name = (char *)"alice";
	cfg->password = (char *)"pw";
	cfg->secret = (char *)"sec";
}

static void
timing_follows_the_lease(void **state)
{
	struct event_base *base = event_base_new();
	struct http *http = NULL;
	struct cluster *c = NULL;
	char *etcd[] = { (char *)"http://127.0.0.1:1" };
	struct config cfg;
	const struct cluster_timing *t;

	assert_int_equal(http_new(base, &http), 0);
	make_config(&cfg, etcd, 12);
	assert_int_equal(cluster_new(base, http, &cfg, &noop_cb, NULL, &c), 0);
	t = cluster_timing(c);
	assert_int_equal(t->keepalive_interval, 2 * USEC_PER_SEC);
	assert_int_equal(t->keepalive_timeout, 2 * USEC_PER_SEC);
	assert_int_equal(t->fence, 4 * USEC_PER_SEC);
	assert_int_equal(t->request_timeout, 4 * USEC_PER_SEC);
	assert_int_equal(t->poll_interval, 12 * USEC_PER_SEC);
	assert_int_equal(t->retry_min, 1200 * USEC_PER_MSEC);
	assert_int_equal(t->retry_max, 12 * USEC_PER_SEC);
	/* Not started: no role but candidate, nothing may be sent. */
	assert_int_equal(cluster_role(c), CLUSTER_CANDIDATE);
	assert_false(cluster_may_send(c));
	assert_null(cluster_leader(c));
	assert_int_equal(cluster_report_rejected(c, 1), -ENOTCONN);
	cluster_free(c);

	make_config(&cfg, etcd, 2);
	assert_int_equal(cluster_new(base, http, &cfg, &noop_cb, NULL, &c), 0);
	t = cluster_timing(c);
	assert_int_equal(t->fence, 666666);
	assert_int_equal(t->request_timeout, USEC_PER_SEC);
	assert_int_equal(t->retry_min, 200 * USEC_PER_MSEC);
	cluster_free(c);
	http_free(http);
	event_base_free(base);
}

static void
cluster_new_refuses_what_is_not_a_cluster_config(void **state)
{
	struct event_base *base = event_base_new();
	struct http *http = NULL;
	struct cluster *c = NULL;
	char *etcd[] = { (char *)"http://127.0.0.1:1" }, *bad[] = { (char *)"ftp://x" };
	struct cluster_callbacks cb = noop_cb;
	struct config cfg;

	assert_int_equal(http_new(base, &http), 0);
	make_config(&cfg, etcd, 10);
	cfg.cluster = false;
	assert_int_equal(cluster_new(base, http, &cfg, &noop_cb, NULL, &c), -EINVAL);
	make_config(&cfg, etcd, 10);
	cfg.password = NULL;
	assert_int_equal(cluster_new(base, http, &cfg, &noop_cb, NULL, &c), -EINVAL);
	make_config(&cfg, bad, 10);
	assert_int_equal(cluster_new(base, http, &cfg, &noop_cb, NULL, &c), -EINVAL);
	make_config(&cfg, etcd, 1);
	assert_int_equal(cluster_new(base, http, &cfg, &noop_cb, NULL, &c), -EINVAL);
	make_config(&cfg, etcd, 10);
	cb.on_report = NULL;
	assert_int_equal(cluster_new(base, http, &cfg, &cb, NULL, &c), -EINVAL);
	assert_null(c);
	http_free(http);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(state_payload_round_trips),
		cmocka_unit_test(empty_state_round_trips),
		cmocka_unit_test(report_payload_round_trips),
		cmocka_unit_test(malformed_payloads_are_refused),
		cmocka_unit_test(oversized_state_is_refused_both_ways),
		cmocka_unit_test(building_needs_a_member_and_a_known_kind),
		cmocka_unit_test(role_names_are_the_status_words),
		cmocka_unit_test(timing_follows_the_lease),
		cmocka_unit_test(cluster_new_refuses_what_is_not_a_cluster_config),
	};
	int r;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	r = cmocka_run_group_tests_name("cluster", tests, NULL, NULL);
	curl_global_cleanup();
	return r;
}
