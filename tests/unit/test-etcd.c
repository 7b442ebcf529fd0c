/* SPDX-License-Identifier: MIT */
/*
 * etcd: the parsers as a specification, without a network. The replies
 * below are what Debian's etcd 3.4 gateway sends (recorded with curl), then
 * every way they can be wrong. The calls themselves run against a real etcd
 * in tests/cluster/.
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

#include "etcd.h"

#define HDR "\"header\":{\"cluster_id\":\"15118495548433857066\"," \
	"\"member_id\":\"13668033151171901709\",\"revision\":\"7\",\"raft_term\":\"2\"}"

/* Parse text as a reply of op with status; assert the parser's return value. */
static void
parse(enum etcd_op op, long status, const char *text, int want, struct etcd_reply *r)
{
	int got = etcd_parse(op, status, text, strlen(text), r);

	if (got != want)
		fail_msg("%s: got %d, want %d", text, got, want);
}

static void
base64_decodes_the_standard_alphabet_with_padding(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{ "", "" }, { "Zg==", "f" }, { "Zm8=", "fo" }, { "Zm9v", "foo" },
		{ "Zm9vYg==", "foob" }, { "dHZ0b2tlbmQvYWxpY2UvbGVhZGVy", "tvtokend/alice/leader" },
		{ "+/+/", "\xfb\xff\xbf" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *out = NULL;
		size_t len = 0;

		assert_int_equal(etcd_base64_decode(cases[i].in, strlen(cases[i].in), 64, &out,
		    &len), 0);
		assert_int_equal(len, strlen(cases[i].out));
		assert_memory_equal(out, cases[i].out, len);
		assert_int_equal(out[len], 0);
		free(out);
	}
}

static void
base64_refuses_anything_not_canonical(void **state)
{
	static const char *const cases[] = {
		"Zg", "Zg=", "Zg===", "Z===", "====", "Zh==", "Zm9=", "Zm 9v", "Zm9v\n",
		"Zm-v", "Zm_v", "Zg==Zg==", "=Zg=", "Zm9v=", "Z\x80==", "YQ=A",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *out = NULL;
		size_t len = 0;
		int r = etcd_base64_decode(cases[i], strlen(cases[i]), 64, &out, &len);

		if (r != -EINVAL)
			fail_msg("\"%s\": got %d", cases[i], r);
		assert_null(out);
	}
}

static void
base64_refuses_more_than_its_bound(void **state)
{
	uint8_t *out = NULL;
	size_t len = 0;

	assert_int_equal(etcd_base64_decode("Zm9vYg==", 8, 3, &out, &len), -EMSGSIZE);
	assert_int_equal(etcd_base64_decode("Zm9vYg==", 8, 4, &out, &len), 0);
	free(out);
}

static void
base64_round_trips_every_byte(void **state)
{
	uint8_t in[256], *out = NULL;
	size_t len = 0;
	char *b64;

	for (int i = 0; i < 256; i++)
		in[i] = (uint8_t)i;
	for (size_t n = 0; n <= 256; n += 37) {
		b64 = etcd_base64_encode(in, n);
		assert_non_null(b64);
		assert_int_equal(strlen(b64), (n + 2) / 3 * 4);
		assert_int_equal(etcd_base64_decode(b64, strlen(b64), 256, &out, &len), 0);
		assert_int_equal(len, n);
		assert_memory_equal(out, in, n);
		free(out);
		free(b64);
	}
}

static void
int64_strings_are_parsed_strictly(void **state)
{
	static const struct {
		const char *s;
		int r;
		int64_t v;
	} cases[] = {
		{ "0", 0, 0 }, { "7", 0, 7 }, { "-1", 0, -1 },
		{ "9223372036854775807", 0, INT64_MAX },
		{ "-9223372036854775808", 0, INT64_MIN },
		{ "9223372036854775808", -ERANGE, 0 }, { "-9223372036854775809", -ERANGE, 0 },
		{ "99999999999999999999", -ERANGE, 0 },
		{ "", -EINVAL, 0 }, { "-", -EINVAL, 0 }, { "+1", -EINVAL, 0 }, { " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 }, { "1e3", -EINVAL, 0 }, { "0x10", -EINVAL, 0 },
		{ "1.0", -EINVAL, 0 }, { "--1", -EINVAL, 0 }, { "123456789012345678901", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t v = 42;
		int r = etcd_parse_int64(cases[i].s, strlen(cases[i].s), &v);

		if (r != cases[i].r || (r == 0 && v != cases[i].v))
			fail_msg("\"%s\": got %d %lld", cases[i].s, r, (long long)v);
		if (r != 0)
			assert_int_equal(v, 42);
	}
}

static void
prefix_end_is_the_next_key_after_the_prefix(void **state)
{
	uint8_t *end = NULL;
	size_t len = 0;

	assert_int_equal(etcd_prefix_end((const uint8_t *)"a/b/", 4, &end, &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(end, "a/b0", 4);
	free(end);
	assert_int_equal(etcd_prefix_end((const uint8_t *)"a\xff\xff", 3, &end, &len), 0);
	assert_int_equal(len, 1);
	assert_memory_equal(end, "b", 1);
	free(end);
	assert_int_equal(etcd_prefix_end((const uint8_t *)"\xff", 1, &end, &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(end[0], 0);
	free(end);
}

static void
lease_grant_reply_gives_id_and_ttl(void **state)
{
	struct etcd_reply r;

	parse(ETCD_OP_LEASE_GRANT, 200, "{" HDR ",\"ID\":\"4111120407661263366\",\"TTL\":\"10\"}",
	    0, &r);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.id, 4111120407661263366LL);
	assert_int_equal(r.ttl, 10);
	assert_int_equal(r.revision, 7);
	etcd_reply_clear(&r);
}

static void
lease_grant_without_an_id_or_ttl_is_malformed(void **state)
{
	struct etcd_reply r;

	parse(ETCD_OP_LEASE_GRANT, 200, "{" HDR ",\"TTL\":\"10\"}", -EPROTO, &r);
	parse(ETCD_OP_LEASE_GRANT, 200, "{" HDR ",\"ID\":\"5\"}", -EPROTO, &r);
	parse(ETCD_OP_LEASE_GRANT, 200, "{\"ID\":5,\"TTL\":\"10\"}", -EPROTO, &r);
	parse(ETCD_OP_LEASE_GRANT, 200, "{\"ID\":\"5\",\"TTL\":\"-1\"}", -EPROTO, &r);
}

static void
keepalive_reply_is_unwrapped_from_its_result(void **state)
{
	struct etcd_reply r;

	parse(ETCD_OP_LEASE_KEEPALIVE, 200,
	    "{\"result\":{" HDR ",\"ID\":\"4111120407661263368\",\"TTL\":\"10\"}}\n", 0, &r);
	assert_int_equal(r.ttl, 10);
	assert_int_equal(r.id, 4111120407661263368LL);
	etcd_reply_clear(&r);
}

static void
keepalive_of_a_lease_that_is_gone_has_ttl_zero(void **state)
{
	struct etcd_reply r;

	parse(ETCD_OP_LEASE_KEEPALIVE, 200, "{\"result\":{" HDR ",\"ID\":\"12345\"}}", 0, &r);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.ttl, 0);
	assert_int_equal(r.id, 12345);
	etcd_reply_clear(&r);
}

static void
campaign_reply_gives_the_leader_key(void **state)
{
	struct etcd_reply r;

	parse(ETCD_OP_CAMPAIGN, 200, "{" HDR ",\"leader\":{\"name\":\"ZWwvbGVhZGVy\","
	    "\"key\":\"ZWwvbGVhZGVyLzM5MGRhMjNhYTc4MjNhMDg=\",\"rev\":\"2\","
	    "\"lease\":\"4111120407661263368\"}}", 0, &r);
	assert_int_equal(r.leader.name_len, 9);
	assert_memory_equal(r.leader.name, "el/leader", 9);
	assert_string_equal((char *)r.leader.key, "el/leader/390da23aa7823a08");
	assert_int_equal(r.leader.rev, 2);
	assert_int_equal(r.leader.lease, 4111120407661263368LL);
	etcd_reply_clear(&r);
}

static void
campaign_reply_without_a_usable_leader_is_malformed(void **state)
{
	struct etcd_reply r;

	parse(ETCD_OP_CAMPAIGN, 200, "{" HDR "}", -EPROTO, &r);
	parse(ETCD_OP_CAMPAIGN, 200, "{\"leader\":{\"name\":\"YQ==\",\"key\":\"YQ==\"}}", -EPROTO,
	    &r);
	parse(ETCD_OP_CAMPAIGN, 200, "{\"leader\":{\"name\":\"YQ==\",\"rev\":\"3\"}}", -EPROTO, &r);
	parse(ETCD_OP_CAMPAIGN, 200, "{\"leader\":[]}", -EPROTO, &r);
}

static void
leader_reply_gives_the_leaders_kv(void **state)
{
	struct etcd_reply r;

	parse(ETCD_OP_LEADER, 200, "{" HDR ",\"kv\":{\"key\":\"ZWwvbGVhZGVyLzM5MGQ=\","
	    "\"create_revision\":\"2\",\"mod_revision\":\"3\",\"version\":\"2\","
	    "\"value\":\"djI=\",\"lease\":\"99\"}}", 0, &r);
	assert_int_equal(r.n_kvs, 1);
	assert_string_equal((char *)r.kvs[0].key, "el/leader/390d");
	assert_int_equal(r.kvs[0].value_len, 2);
	assert_string_equal((char *)r.kvs[0].value, "v2");
	assert_int_equal(r.kvs[0].create_revision, 2);
	assert_int_equal(r.kvs[0].mod_revision, 3);
	assert_int_equal(r.kvs[0].version, 2);
	assert_int_equal(r.kvs[0].lease, 99);
	etcd_reply_clear(&r);
}

static void
leader_reply_without_a_kv_is_no_leader(void **state)
{
	struct etcd_reply r;

	parse(ETCD_OP_LEADER, 200, "{" HDR "}", 0, &r);
	assert_int_equal(r.error, -ENOENT);
	etcd_reply_clear(&r);
	parse(ETCD_OP_LEADER, 500, "{\"error\":\"election: no leader\",\"message\":"
	    "\"election: no leader\",\"code\":2}", 0, &r);
	assert_int_equal(r.error, -ENOENT);
	assert_string_equal(r.message, "election: no leader");
	etcd_reply_clear(&r);
}

static void
observe_messages_carry_one_kv(void **state)
{
	struct etcd_reply r;

	parse(ETCD_OP_OBSERVE, 200, "{\"result\":{" HDR ",\"kv\":{\"key\":\"YQ==\","
	    "\"value\":\"djQ=\",\"mod_revision\":\"4\"}}}", 0, &r);
	assert_int_equal(r.n_kvs, 1);
	assert_string_equal((char *)r.kvs[0].value, "v4");
	etcd_reply_clear(&r);
	parse(ETCD_OP_OBSERVE, 200, "{\"result\":{" HDR "}}", -EPROTO, &r);
}

static void
kv_without_a_value_has_an_empty_one(void **state)
{
	struct etcd_reply r;

	parse(ETCD_OP_RANGE, 200, "{\"kvs\":[{\"key\":\"YQ==\"}],\"count\":\"1\"}", 0, &r);
	assert_int_equal(r.n_kvs, 1);
	assert_int_equal(r.kvs[0].value_len, 0);
	assert_non_null(r.kvs[0].value);
	assert_int_equal(r.count, 1);
	etcd_reply_clear(&r);
}

static void
range_reply_gives_every_kv(void **state)
{
	struct etcd_reply r;

	parse(ETCD_OP_RANGE, 200, "{" HDR ",\"kvs\":[{\"key\":\"ZWwveA==\",\"create_revision\":"
	    "\"8\",\"mod_revision\":\"8\",\"version\":\"1\",\"value\":\"MQ==\"},{\"key\":\"ZWwveQ==\","
	    "\"value\":\"Mg==\"}],\"count\":\"2\"}", 0, &r);
	assert_int_equal(r.n_kvs, 2);
	assert_string_equal((char *)r.kvs[0].key, "el/x");
	assert_string_equal((char *)r.kvs[1].value, "2");
	assert_int_equal(r.count, 2);
	etcd_reply_clear(&r);
	parse(ETCD_OP_RANGE, 200, "{" HDR "}", 0, &r);
	assert_int_equal(r.n_kvs, 0);
	etcd_reply_clear(&r);
}

static void
kvs_with_an_empty_key_or_bad_fields_are_malformed(void **state)
{
	static const char *const cases[] = {
		"{\"kvs\":[{\"value\":\"MQ==\"}]}",
		"{\"kvs\":[{\"key\":\"\"}]}",
		"{\"kvs\":[{\"key\":\"YQ\"}]}",
		"{\"kvs\":[{\"key\":\"YQ==\",\"value\":7}]}",
		"{\"kvs\":[{\"key\":\"YQ==\",\"lease\":7}]}",
		"{\"kvs\":[{\"key\":\"YQ==\",\"mod_revision\":\"x\"}]}",
		"{\"kvs\":[{\"key\":\"YQ==\",\"version\":\"1.5\"}]}",
		"{\"kvs\":[{\"key\":\"YQ==\",\"create_revision\":\"99999999999999999999\"}]}",
		"{\"kvs\":[\"YQ==\"]}",
		"{\"kvs\":{}}",
		"{\"kvs\":[{\"key\":\"YQ==\"}],\"count\":1}",
		"{\"header\":[]}",
		"{\"header\":{\"revision\":7}}",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct etcd_reply r;

		parse(ETCD_OP_RANGE, 200, cases[i], -EPROTO, &r);
	}
}

static void
delete_reply_counts_the_deleted(void **state)
{
	struct etcd_reply r;

	parse(ETCD_OP_DELETE, 200, "{" HDR ",\"deleted\":\"3\"}", 0, &r);
	assert_int_equal(r.deleted, 3);
	etcd_reply_clear(&r);
}

static void
watch_messages_give_created_events_and_cancel(void **state)
{
	struct etcd_reply r;

	parse(ETCD_OP_WATCH, 200, "{\"result\":{" HDR ",\"created\":true}}", 0, &r);
	assert_true(r.created);
	assert_int_equal(r.n_events, 0);
	etcd_reply_clear(&r);

	parse(ETCD_OP_WATCH, 200, "{\"result\":{" HDR ",\"events\":[{\"kv\":{\"key\":"
	    "\"ZWwvcmVwb3J0cy9tMQ==\",\"create_revision\":\"5\",\"mod_revision\":\"5\","
	    "\"version\":\"1\",\"value\":\"cjE=\",\"lease\":\"41\"}},{\"type\":\"DELETE\","
	    "\"kv\":{\"key\":\"ZWwvcmVwb3J0cy9tMQ==\",\"mod_revision\":\"6\"}}]}}", 0, &r);
	assert_int_equal(r.n_events, 2);
	assert_int_equal(r.events[0].type, ETCD_EVENT_PUT);
	assert_string_equal((char *)r.events[0].kv.key, "el/reports/m1");
	assert_string_equal((char *)r.events[0].kv.value, "r1");
	assert_int_equal(r.events[0].kv.lease, 41);
	assert_int_equal(r.events[1].type, ETCD_EVENT_DELETE);
	assert_int_equal(r.events[1].kv.value_len, 0);
	etcd_reply_clear(&r);

	parse(ETCD_OP_WATCH, 200, "{\"result\":{" HDR ",\"watch_id\":\"-1\",\"created\":true,"
	    "\"canceled\":true,\"cancel_reason\":\"rpc error: code = PermissionDenied desc = "
	    "etcdserver: permission denied\"}}", 0, &r);
	assert_true(r.canceled);
	assert_int_equal(r.error, -EPERM);
	assert_int_equal(r.watch_id, -1);
	etcd_reply_clear(&r);

	parse(ETCD_OP_WATCH, 200, "{\"result\":{\"canceled\":true,\"compact_revision\":\"9\","
	    "\"cancel_reason\":\"mvcc: required revision has been compacted\"}}", 0, &r);
	assert_int_equal(r.error, -ERANGE);
	assert_int_equal(r.compact_revision, 9);
	etcd_reply_clear(&r);
}

static void
watch_event_of_an_unknown_type_is_malformed(void **state)
{
	struct etcd_reply r;

	parse(ETCD_OP_WATCH, 200, "{\"result\":{\"events\":[{\"type\":\"MOVE\",\"kv\":"
	    "{\"key\":\"YQ==\"}}]}}", -EPROTO, &r);
	parse(ETCD_OP_WATCH, 200, "{\"result\":{\"events\":[{\"type\":1,\"kv\":"
	    "{\"key\":\"YQ==\"}}]}}", -EPROTO, &r);
	parse(ETCD_OP_WATCH, 200, "{\"result\":{\"events\":[{}]}}", -EPROTO, &r);
	parse(ETCD_OP_WATCH, 200, "{\"result\":{\"created\":\"true\"}}", -EPROTO, &r);
}

static void
authenticate_reply_gives_a_header_safe_token(void **state)
{
	struct etcd_reply r;

	parse(ETCD_OP_AUTHENTICATE, 200, "{" HDR ",\"token\":\"hCZbRcBdWWoAZfyQ.26\"}", 0, &r);
	assert_string_equal(r.token, "hCZbRcBdWWoAZfyQ.26");
	etcd_reply_clear(&r);
	parse(ETCD_OP_AUTHENTICATE, 200, "{\"token\":\"a b\"}", -EPROTO, &r);
	parse(ETCD_OP_AUTHENTICATE, 200, "{\"token\":\"a\\r\\nX-Injected: 1\"}", -EPROTO, &r);
	parse(ETCD_OP_AUTHENTICATE, 200, "{\"token\":\"\"}", -EPROTO, &r);
	parse(ETCD_OP_AUTHENTICATE, 200, "{}", -EPROTO, &r);
}

static void
etcd_errors_map_to_their_errno(void **state)
{
	static const struct {
		long status;
		const char *body;
		int error;
	} cases[] = {
		{ 500, "{\"error\":\"election: not leader\",\"message\":\"election: not leader\","
		    "\"code\":2}", -ESTALE },
		{ 500, "{\"error\":\"election: no leader\",\"code\":2}", -ENOENT },
		{ 404, "{\"error\":\"etcdserver: requested lease not found\",\"code\":5}", -ENOENT },
		{ 400, "{\"error\":\"etcdserver: authentication failed, invalid user ID or password\","
		    "\"code\":3}", -EACCES },
		{ 401, "{\"error\":\"etcdserver: invalid auth token\",\"code\":16}", -EKEYEXPIRED },
		{ 500, "{\"error\":\"etcdserver: invalid auth token\",\"code\":2}", -EKEYEXPIRED },
		{ 400, "{\"error\":\"etcdserver: revision of auth store is old\",\"code\":9}",
		    -EKEYEXPIRED },
		{ 403, "{\"error\":\"etcdserver: permission denied\",\"code\":7}", -EPERM },
		{ 503, "{\"error\":\"etcdserver: no leader\",\"code\":14}", -EAGAIN },
		{ 503, "{\"error\":\"etcdserver: leader changed\",\"code\":14}", -EAGAIN },
		{ 503, "{\"error\":\"etcdserver: request timed out\",\"code\":14}", -ETIMEDOUT },
		{ 400, "{\"error\":\"etcdserver: request is too large\",\"code\":3}", -EMSGSIZE },
		{ 500, "{\"error\":\"something new\",\"code\":13}", -EIO },
		{ 200, "{\"result\":{},\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":"
		    "\"transport is closing\",\"http_status\":\"Service Unavailable\"}}", -EAGAIN },
		{ 502, "<html>Bad Gateway</html>", -EIO },
		{ 404, "", -EIO },
		{ 401, "nope", -EKEYEXPIRED },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct etcd_reply r;

		parse(ETCD_OP_PUT, cases[i].status, cases[i].body, 0, &r);
		if (r.error != cases[i].error)
			fail_msg("%s: got %d, want %d", cases[i].body, r.error, cases[i].error);
		assert_true(r.message[0] != '\0');
		etcd_reply_clear(&r);
	}
}

static void
error_messages_are_cut_and_printable(void **state)
{
	char body[1024];
	struct etcd_reply r;

	snprintf(body, sizeof(body), "{\"error\":\"bad\\u0007\\n%0500d\",\"code\":2}", 0);
	parse(ETCD_OP_PUT, 500, body, 0, &r);
	assert_int_equal(strlen(r.message), ETCD_MAX_MESSAGE - 1);
	for (const char *p = r.message; *p != '\0'; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	etcd_reply_clear(&r);
}

static void
a_reply_that_is_not_one_json_object_is_malformed(void **state)
{
	static const char *const cases[] = {
		"", "[]", "\"x\"", "7", "{", "{}{}", "{} x", "{\"a\":1,}", "null",
		"{\"result\":[]}", "{\"error\":7}", "{\"a\":\"\\ud800\"}x",
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct etcd_reply r;

		parse(ETCD_OP_PUT, 200, cases[i], -EPROTO, &r);
	}
}

static void
deep_nesting_is_refused(void **state)
{
	char body[256];
	struct etcd_reply r;
	size_t n = 0;

	for (int i = 0; i < 40; i++)
		body[n++] = '[';
	for (int i = 0; i < 40; i++)
		body[n++] = ']';
	body[n] = '\0';
	/* Wrapped in an object member, still too deep. */
	{
		char wrapped[300];

		snprintf(wrapped, sizeof(wrapped), "{\"x\":%s}", body);
		parse(ETCD_OP_PUT, 200, wrapped, -EPROTO, &r);
	}
}

static void
reply_over_its_bound_is_refused_unread(void **state)
{
	struct etcd_reply r;
	char *big = malloc(ETCD_MAX_REPLY + 2);

	assert_non_null(big);
	memset(big, ' ', ETCD_MAX_REPLY + 1);
	big[0] = '{';
	big[ETCD_MAX_REPLY] = '}';
	big[ETCD_MAX_REPLY + 1] = '\0';
	assert_int_equal(etcd_parse(ETCD_OP_PUT, 200, big, ETCD_MAX_REPLY + 1, &r), -EMSGSIZE);
	free(big);
}

static void
value_over_its_bound_is_refused(void **state)
{
	size_t n = (ETCD_MAX_VALUE / 3 + 1) * 4, head;
	char *body = malloc(n + 64);
	struct etcd_reply r;

	assert_non_null(body);
	strcpy(body, "{\"kvs\":[{\"key\":\"YQ==\",\"value\":\"");
	head = strlen(body);
	memset(body + head, 'A', n);
	strcpy(body + head + n, "\"}]}");
	assert_int_equal(etcd_parse(ETCD_OP_RANGE, 200, body, strlen(body), &r), -EMSGSIZE);
	free(body);
}

static void
unknown_fields_are_ignored(void **state)
{
	struct etcd_reply r;

	parse(ETCD_OP_LEASE_GRANT, 200, "{\"ID\":\"5\",\"TTL\":\"10\",\"future\":{\"x\":[1,2]},"
	    "\"error\":\"\"}", 0, &r);
	assert_int_equal(r.id, 5);
	assert_int_equal(r.error, 0);
	etcd_reply_clear(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(base64_decodes_the_standard_alphabet_with_padding),
		cmocka_unit_test(base64_refuses_anything_not_canonical),
		cmocka_unit_test(base64_refuses_more_than_its_bound),
		cmocka_unit_test(base64_round_trips_every_byte),
		cmocka_unit_test(int64_strings_are_parsed_strictly),
		cmocka_unit_test(prefix_end_is_the_next_key_after_the_prefix),
		cmocka_unit_test(lease_grant_reply_gives_id_and_ttl),
		cmocka_unit_test(lease_grant_without_an_id_or_ttl_is_malformed),
		cmocka_unit_test(keepalive_reply_is_unwrapped_from_its_result),
		cmocka_unit_test(keepalive_of_a_lease_that_is_gone_has_ttl_zero),
		cmocka_unit_test(campaign_reply_gives_the_leader_key),
		cmocka_unit_test(campaign_reply_without_a_usable_leader_is_malformed),
		cmocka_unit_test(leader_reply_gives_the_leaders_kv),
		cmocka_unit_test(leader_reply_without_a_kv_is_no_leader),
		cmocka_unit_test(observe_messages_carry_one_kv),
		cmocka_unit_test(kv_without_a_value_has_an_empty_one),
		cmocka_unit_test(range_reply_gives_every_kv),
		cmocka_unit_test(kvs_with_an_empty_key_or_bad_fields_are_malformed),
		cmocka_unit_test(delete_reply_counts_the_deleted),
		cmocka_unit_test(watch_messages_give_created_events_and_cancel),
		cmocka_unit_test(watch_event_of_an_unknown_type_is_malformed),
		cmocka_unit_test(authenticate_reply_gives_a_header_safe_token),
		cmocka_unit_test(etcd_errors_map_to_their_errno),
		cmocka_unit_test(error_messages_are_cut_and_printable),
		cmocka_unit_test(a_reply_that_is_not_one_json_object_is_malformed),
		cmocka_unit_test(deep_nesting_is_refused),
		cmocka_unit_test(reply_over_its_bound_is_refused_unread),
		cmocka_unit_test(value_over_its_bound_is_refused),
		cmocka_unit_test(unknown_fields_are_ignored),
	};

	return cmocka_run_group_tests_name("etcd", tests, NULL, NULL);
}
