/* Varlink framing and call parsing (daemon/varlink.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <json-c/json.h>

#include "varlink.h"

/* The whole content of an evbuffer as one malloc'd block (not NUL-terminated). */
static char *
drain_all(struct evbuffer *b, size_t *len)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);

	assert_non_null(s);
	assert_int_equal(evbuffer_remove(b, s, n), (int)n);
	s[n] = '\0';
	*len = n;
	return s;
}

/* A buffer holding n bytes of 'a' (a valid JSON prefix is not needed for framing). */
static void
add_filler(struct evbuffer *b, size_t n)
{
	char *s = malloc(n);

	assert_non_null(s);
	memset(s, 'a', n);
	assert_int_equal(evbuffer_add(b, s, n), 0);
	free(s);
}

static void
test_extract_waits_for_the_nul(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char *msg = NULL;
	size_t len = 0;

	evbuffer_add_printf(b, "{\"method\":\"a.b\"}");
	assert_int_equal(varlink_extract(b, &msg, &len), 0);
	assert_null(msg);
	assert_int_equal(evbuffer_get_length(b), strlen("{\"method\":\"a.b\"}"));
	evbuffer_free(b);
}

static void
test_extract_joins_a_message_split_across_several_adds(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char *msg = NULL;
	size_t len = 0;

	evbuffer_add(b, "{\"meth", 6);
	assert_int_equal(varlink_extract(b, &msg, &len), 0);
	evbuffer_add(b, "od\":\"a", 6);
	assert_int_equal(varlink_extract(b, &msg, &len), 0);
	evbuffer_add(b, ".b\"}\0", 5);
	assert_int_equal(varlink_extract(b, &msg, &len), 1);
	assert_string_equal(msg, "{\"method\":\"a.b\"}");
	assert_int_equal(len, strlen("{\"method\":\"a.b\"}"));
	assert_int_equal(evbuffer_get_length(b), 0);
	free(msg);
	evbuffer_free(b);
}

static void
test_extract_takes_pipelined_messages_one_at_a_time(void **state)
{
	static const char two_and_a_half[] = "{\"x\":1}\0{\"y\":2}\0{\"z\"";
	struct evbuffer *b = evbuffer_new();
	char *msg = NULL;
	size_t len = 0;

	/* Without the string constant's own terminating NUL. */
	evbuffer_add(b, two_and_a_half, sizeof(two_and_a_half) - 1);
	assert_int_equal(varlink_extract(b, &msg, &len), 1);
	assert_string_equal(msg, "{\"x\":1}");
	free(msg);
	assert_int_equal(varlink_extract(b, &msg, &len), 1);
	assert_string_equal(msg, "{\"y\":2}");
	assert_int_equal(len, 7);
	free(msg);
	msg = NULL;
	assert_int_equal(varlink_extract(b, &msg, &len), 0);
	assert_null(msg);
	assert_int_equal(evbuffer_get_length(b), 4);
	evbuffer_free(b);
}

static void
test_extract_accepts_exactly_64_kib(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char *msg = NULL;
	size_t len = 0;

	add_filler(b, VARLINK_MESSAGE_MAX);
	assert_int_equal(varlink_extract(b, &msg, &len), 0);
	evbuffer_add(b, "", 1);
	assert_int_equal(varlink_extract(b, &msg, &len), 1);
	assert_int_equal(len, 65536);
	assert_int_equal(strlen(msg), 65536);
	free(msg);
	evbuffer_free(b);
}

static void
test_extract_refuses_65537_bytes_without_a_nul(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char *msg = NULL;
	size_t len = 0;

	add_filler(b, VARLINK_MESSAGE_MAX + 1);
	assert_int_equal(varlink_extract(b, &msg, &len), -EMSGSIZE);
	assert_null(msg);
	evbuffer_free(b);
}

static void
test_extract_refuses_65537_bytes_before_a_nul(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char *msg = NULL;
	size_t len = 0;

	add_filler(b, VARLINK_MESSAGE_MAX + 1);
	evbuffer_add(b, "", 1);
	assert_int_equal(varlink_extract(b, &msg, &len), -EMSGSIZE);
	assert_null(msg);
	evbuffer_free(b);
}

static void
test_extract_refuses_a_long_tail_after_a_good_message_only_when_reached(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char *msg = NULL;
	size_t len = 0;

	evbuffer_add(b, "{}\0", 3);
	add_filler(b, VARLINK_MESSAGE_MAX + 10);
	assert_int_equal(varlink_extract(b, &msg, &len), 1);
	assert_string_equal(msg, "{}");
	free(msg);
	assert_int_equal(varlink_extract(b, &msg, &len), -EMSGSIZE);
	evbuffer_free(b);
}

/* Parse a NUL-terminated string as a call. */
static int
parse(const char *s, struct varlink_call *call)
{
	return varlink_parse_call(s, strlen(s), call);
}

static void
test_parse_reads_method_parameters_and_flags(void **state)
{
	struct varlink_call call;
	struct json_object *v;

	assert_int_equal(parse("{\"method\":\"io.tvtokend.Broker.GetToken\","
			       "\"parameters\":{\"wait\":true},\"more\":true}", &call), 0);
	assert_string_equal(call.method, "io.tvtokend.Broker.GetToken");
	assert_true(json_object_is_type(call.parameters, json_type_object));
	assert_true(json_object_object_get_ex(call.parameters, "wait", &v));
	assert_true(json_object_get_boolean(v));
	assert_true(call.more);
	assert_false(call.oneway);
	varlink_call_clear(&call);
	assert_null(call.obj);
	assert_null(call.method);
}

static void
test_parse_reads_oneway(void **state)
{
	struct varlink_call call;

	assert_int_equal(parse("{\"method\":\"a.B\",\"oneway\":true}", &call), 0);
	assert_true(call.oneway);
	assert_false(call.more);
	varlink_call_clear(&call);
}

static void
test_parse_gives_an_empty_object_for_missing_parameters(void **state)
{
	struct varlink_call call;

	assert_int_equal(parse("{\"method\":\"a.B\"}", &call), 0);
	assert_non_null(call.parameters);
	assert_true(json_object_is_type(call.parameters, json_type_object));
	assert_int_equal(json_object_object_length(call.parameters), 0);
	assert_false(call.more);
	assert_false(call.oneway);
	varlink_call_clear(&call);
}

static void
test_parse_treats_null_parameters_as_missing(void **state)
{
	struct varlink_call call;

	assert_int_equal(parse("{\"method\":\"a.B\",\"parameters\":null}", &call), 0);
	assert_true(json_object_is_type(call.parameters, json_type_object));
	varlink_call_clear(&call);
}

static void
test_parse_ignores_unknown_members_of_the_call(void **state)
{
	struct varlink_call call;

	assert_int_equal(parse("{\"method\":\"a.B\",\"upgrade\":false,\"x\":[1]}", &call), 0);
	assert_string_equal(call.method, "a.B");
	varlink_call_clear(&call);
}

static void
test_parse_refuses_non_json(void **state)
{
	struct varlink_call call;

	memset(&call, 0x5a, sizeof(call));
	assert_int_equal(parse("hello", &call), -EBADMSG);
	assert_int_equal(parse("{\"method\":", &call), -EBADMSG);
	assert_int_equal(parse("", &call), -EBADMSG);
	/* Untouched on failure. */
	assert_ptr_equal(call.obj, (void *)0x5a5a5a5a5a5a5a5aULL);
}

static void
test_parse_refuses_trailing_garbage(void **state)
{
	struct varlink_call call;

	assert_int_equal(parse("{\"method\":\"a.B\"} x", &call), -EBADMSG);
	assert_int_equal(parse("{\"method\":\"a.B\"}{}", &call), -EBADMSG);
	assert_int_equal(parse("{\"method\":\"a.B\"} \n", &call), 0);
	varlink_call_clear(&call);
}

static void
test_parse_refuses_invalid_utf8(void **state)
{
	struct varlink_call call;

	assert_int_equal(parse("{\"method\":\"a.B\",\"parameters\":{\"x\":\"\xff\xfe\"}}", &call), -EBADMSG);
	assert_int_equal(parse("{\"method\":\"a.\xc3\xa9\"}", &call), 0);
	varlink_call_clear(&call);
}

static void
test_parse_refuses_a_json_array(void **state)
{
	struct varlink_call call;

	assert_int_equal(parse("[{\"method\":\"a.B\"}]", &call), -EBADMSG);
}

static void
test_parse_refuses_json_scalars(void **state)
{
	struct varlink_call call;

	assert_int_equal(parse("\"a.B\"", &call), -EBADMSG);
	assert_int_equal(parse("null", &call), -EBADMSG);
	assert_int_equal(parse("42 ", &call), -EBADMSG);
}

static void
test_parse_wants_a_string_method(void **state)
{
	struct varlink_call call;

	assert_int_equal(parse("{\"method\":42}", &call), -EINVAL);
	assert_int_equal(parse("{\"method\":null}", &call), -EINVAL);
	assert_int_equal(parse("{\"parameters\":{}}", &call), -EINVAL);
}

static void
test_parse_wants_object_parameters(void **state)
{
	struct varlink_call call;

	assert_int_equal(parse("{\"method\":\"a.B\",\"parameters\":[]}", &call), -EINVAL);
	assert_int_equal(parse("{\"method\":\"a.B\",\"parameters\":\"x\"}", &call), -EINVAL);
}

static void
test_parse_wants_boolean_flags(void **state)
{
	struct varlink_call call;

	assert_int_equal(parse("{\"method\":\"a.B\",\"more\":1}", &call), -EINVAL);
	assert_int_equal(parse("{\"method\":\"a.B\",\"oneway\":\"yes\"}", &call), -EINVAL);
}

static void
test_reply_is_one_object_and_exactly_one_nul(void **state)
{
	struct evbuffer *b = evbuffer_new();
	struct json_object *p = json_object_new_object(), *back, *v;
	char *s;
	size_t len;

	json_object_object_add(p, "x", json_object_new_int(7));
	assert_int_equal(varlink_reply(b, p, false), 0);
	s = drain_all(b, &len);
	assert_true(len > 1);
	assert_int_equal(s[len - 1], '\0');
	assert_int_equal(strlen(s), len - 1);
	back = json_tokener_parse(s);
	assert_non_null(back);
	assert_true(json_object_object_get_ex(back, "parameters", &v));
	assert_true(json_object_object_get_ex(v, "x", &v));
	assert_int_equal(json_object_get_int(v), 7);
	assert_false(json_object_object_get_ex(back, "continues", &v));
	assert_false(json_object_object_get_ex(back, "error", &v));
	json_object_put(back);
	free(s);
	/* The caller's reference is untouched. */
	assert_int_equal(json_object_put(p), 1);
	evbuffer_free(b);
}

static void
test_reply_marks_continues(void **state)
{
	struct evbuffer *b = evbuffer_new();
	struct json_object *back, *v;
	char *s;
	size_t len;

	assert_int_equal(varlink_reply(b, NULL, true), 0);
	s = drain_all(b, &len);
	assert_int_equal(s[len - 1], '\0');
	assert_int_equal(strlen(s), len - 1);
	back = json_tokener_parse(s);
	assert_true(json_object_object_get_ex(back, "continues", &v));
	assert_true(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(back, "parameters", &v));
	assert_int_equal(json_object_object_length(v), 0);
	json_object_put(back);
	free(s);
	evbuffer_free(b);
}

static void
test_error_names_the_error_with_exactly_one_nul(void **state)
{
	struct evbuffer *b = evbuffer_new();
	struct json_object *p = json_object_new_object(), *back, *v;
	char *s;
	size_t len;

	json_object_object_add(p, "parameter", json_object_new_string("wait"));
	assert_int_equal(varlink_error(b, "org.varlink.service.InvalidParameter", p), 0);
	s = drain_all(b, &len);
	assert_int_equal(s[len - 1], '\0');
	assert_int_equal(strlen(s), len - 1);
	back = json_tokener_parse(s);
	assert_true(json_object_object_get_ex(back, "error", &v));
	assert_string_equal(json_object_get_string(v), "org.varlink.service.InvalidParameter");
	assert_true(json_object_object_get_ex(back, "parameters", &v));
	assert_true(json_object_object_get_ex(v, "parameter", &v));
	assert_string_equal(json_object_get_string(v), "wait");
	json_object_put(back);
	json_object_put(p);
	free(s);
	evbuffer_free(b);
}

static void
test_error_without_parameters_has_an_empty_object(void **state)
{
	struct evbuffer *b = evbuffer_new();
	struct json_object *back, *v;
	char *s;
	size_t len;

	assert_int_equal(varlink_error(b, "org.varlink.service.PermissionDenied", NULL), 0);
	s = drain_all(b, &len);
	back = json_tokener_parse(s);
	assert_true(json_object_object_get_ex(back, "parameters", &v));
	assert_true(json_object_is_type(v, json_type_object));
	assert_int_equal(json_object_object_length(v), 0);
	json_object_put(back);
	free(s);
	evbuffer_free(b);
}

static void
test_reply_escapes_strings_so_they_read_back_unchanged(void **state)
{
	static const char nasty[] = "q\"b\\s/n\nt\tc\001\037 \xc3\xa9 end";
	struct evbuffer *b = evbuffer_new();
	struct json_object *p = json_object_new_object(), *back, *v, *arr;
	char *s;
	size_t len;

	json_object_object_add(p, "s", json_object_new_string(nasty));
	json_object_object_add(p, "k\"ey", json_object_new_boolean(1));
	json_object_object_add(p, "n", NULL);
	json_object_object_add(p, "big", json_object_new_uint64(UINT64_MAX));
	json_object_object_add(p, "neg", json_object_new_int64(-5));
	arr = json_object_new_array();
	json_object_array_add(arr, json_object_new_string("a"));
	json_object_array_add(arr, json_object_new_int(2));
	json_object_object_add(p, "arr", arr);
	assert_int_equal(varlink_reply(b, p, false), 0);
	s = drain_all(b, &len);
	assert_int_equal(strlen(s), len - 1);
	back = json_tokener_parse(s);
	assert_non_null(back);
	assert_true(json_object_object_get_ex(back, "parameters", &v));
	assert_true(json_object_equal(v, p));
	json_object_put(back);
	json_object_put(p);
	free(s);
	evbuffer_free(b);
}

static void
test_split_method_at_the_last_dot(void **state)
{
	size_t n = 0;
	const char *m = NULL;

	assert_int_equal(varlink_split_method("io.tvtokend.Broker.GetToken", &n, &m), 0);
	assert_int_equal(n, strlen("io.tvtokend.Broker"));
	assert_string_equal(m, "GetToken");
	assert_int_equal(varlink_split_method("GetToken", &n, &m), -EINVAL);
	assert_int_equal(varlink_split_method("io.tvtokend.Broker.", &n, &m), -EINVAL);
	assert_int_equal(varlink_split_method(".GetToken", &n, &m), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_extract_waits_for_the_nul),
		cmocka_unit_test(test_extract_joins_a_message_split_across_several_adds),
		cmocka_unit_test(test_extract_takes_pipelined_messages_one_at_a_time),
		cmocka_unit_test(test_extract_accepts_exactly_64_kib),
		cmocka_unit_test(test_extract_refuses_65537_bytes_without_a_nul),
		cmocka_unit_test(test_extract_refuses_65537_bytes_before_a_nul),
		cmocka_unit_test(test_extract_refuses_a_long_tail_after_a_good_message_only_when_reached),
		cmocka_unit_test(test_parse_reads_method_parameters_and_flags),
		cmocka_unit_test(test_parse_reads_oneway),
		cmocka_unit_test(test_parse_gives_an_empty_object_for_missing_parameters),
		cmocka_unit_test(test_parse_treats_null_parameters_as_missing),
		cmocka_unit_test(test_parse_ignores_unknown_members_of_the_call),
		cmocka_unit_test(test_parse_refuses_non_json),
		cmocka_unit_test(test_parse_refuses_trailing_garbage),
		cmocka_unit_test(test_parse_refuses_invalid_utf8),
		cmocka_unit_test(test_parse_refuses_a_json_array),
		cmocka_unit_test(test_parse_refuses_json_scalars),
		cmocka_unit_test(test_parse_wants_a_string_method),
		cmocka_unit_test(test_parse_wants_object_parameters),
		cmocka_unit_test(test_parse_wants_boolean_flags),
		cmocka_unit_test(test_reply_is_one_object_and_exactly_one_nul),
		cmocka_unit_test(test_reply_marks_continues),
		cmocka_unit_test(test_error_names_the_error_with_exactly_one_nul),
		cmocka_unit_test(test_error_without_parameters_has_an_empty_object),
		cmocka_unit_test(test_reply_escapes_strings_so_they_read_back_unchanged),
		cmocka_unit_test(test_split_method_at_the_last_dot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
