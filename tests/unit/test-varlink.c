/* SPDX-License-Identifier: MIT */
/* Varlink framing, call parsing and reply writing (daemon/varlink.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "varlink.h"

static struct varlink_parser *parser;

static int
setup(void **state)
{
	return varlink_parser_new(&parser);
}

static int
teardown(void **state)
{
	varlink_parser_free(parser);
	parser = NULL;
	return 0;
}

/* A malloc'd copy of n bytes of s with a NUL after them, as a message sits in a read buffer. */
static char *
message(const char *s, size_t n)
{
	char *m = malloc(n + 1);

	assert_non_null(m);
	memcpy(m, s, n);
	m[n] = '\0';
	return m;
}

/* Parse n bytes; the call keeps pointing into *held, which the caller frees after clearing it. */
static int
parse_n(const char *s, size_t n, struct varlink_call *call, char **held)
{
	*held = message(s, n);
	return varlink_parse_call(parser, *held, n, call);
}

static char *held_msg;

/* Parse a C string as one message. */
static int
parse(const char *s, struct varlink_call *call)
{
	free(held_msg);
	return parse_n(s, strlen(s), call, &held_msg);
}

/* Parse and clear: only the result matters. */
static int
parse_result(const char *s)
{
	struct varlink_call call;
	int r = parse(s, &call);

	varlink_call_clear(&call);
	return r;
}

/* Whether a varlink_str holds exactly n bytes of s. */
static bool
str_eq(struct varlink_str v, const char *s, size_t n)
{
	return v.len == n && memcmp(v.p, s, n) == 0;
}

/* ---- framing ---- */

static void
test_frame_waits_for_the_nul(void **state)
{
	size_t n = 99;

	assert_int_equal(varlink_frame("{\"method\":", 10, &n), 0);
	assert_int_equal(n, 99);
	assert_int_equal(varlink_frame("", 0, &n), 0);
}

static void
test_frame_finds_the_first_of_pipelined_messages(void **state)
{
	static const char two[] = "{}\0{\"a\":1}\0";
	size_t n = 0;

	assert_int_equal(varlink_frame(two, sizeof(two) - 1, &n), 1);
	assert_int_equal(n, 2);
	assert_int_equal(varlink_frame(two + 3, sizeof(two) - 4, &n), 1);
	assert_int_equal(n, 7);
}

static void
test_frame_accepts_exactly_64_kib(void **state)
{
	char *b = calloc(1, VARLINK_MESSAGE_MAX + 1);
	size_t n = 0;

	assert_non_null(b);
	memset(b, 'a', VARLINK_MESSAGE_MAX);
	assert_int_equal(varlink_frame(b, VARLINK_MESSAGE_MAX, &n), 0);
	assert_int_equal(varlink_frame(b, VARLINK_MESSAGE_MAX + 1, &n), 1);
	assert_int_equal(n, VARLINK_MESSAGE_MAX);
	free(b);
}

static void
test_frame_refuses_65537_bytes_without_a_nul(void **state)
{
	char *b = malloc(VARLINK_MESSAGE_MAX + 1);
	size_t n = 0;

	assert_non_null(b);
	memset(b, 'a', VARLINK_MESSAGE_MAX + 1);
	assert_int_equal(varlink_frame(b, VARLINK_MESSAGE_MAX + 1, &n), -EMSGSIZE);
	free(b);
}

static void
test_frame_refuses_65537_bytes_before_a_nul(void **state)
{
	char *b = malloc(VARLINK_MESSAGE_MAX + 2);
	size_t n = 0;

	assert_non_null(b);
	memset(b, 'a', VARLINK_MESSAGE_MAX + 1);
	b[VARLINK_MESSAGE_MAX + 1] = '\0';
	assert_int_equal(varlink_frame(b, VARLINK_MESSAGE_MAX + 2, &n), -EMSGSIZE);
	free(b);
}

static void
test_frame_refuses_a_long_tail_only_when_it_is_reached(void **state)
{
	size_t len = 3 + VARLINK_MESSAGE_MAX + 1, n = 0;
	char *b = malloc(len);

	assert_non_null(b);
	memcpy(b, "{}\0", 3);
	memset(b + 3, 'a', len - 3);
	assert_int_equal(varlink_frame(b, len, &n), 1);
	assert_int_equal(n, 2);
	assert_int_equal(varlink_frame(b + 3, len - 3, &n), -EMSGSIZE);
	free(b);
}

/* ---- parsing ---- */

static void
test_parse_reads_method_parameters_and_flags(void **state)
{
	struct varlink_call call;
	const struct varlink_param *v;

	assert_int_equal(parse("{\"method\":\"io.tvtokend.Broker.GetToken\","
			       "\"parameters\":{\"wait\":true},\"more\":true}", &call), 0);
	assert_true(varlink_str_is(call.method, "io.tvtokend.Broker.GetToken"));
	assert_int_equal(call.n_params, 1);
	v = varlink_call_param(&call, "wait");
	assert_non_null(v);
	assert_int_equal(v->type, VARLINK_BOOL);
	assert_true(v->b);
	assert_true(call.more);
	assert_false(call.oneway);
	varlink_call_clear(&call);
	assert_null(call.obj);
	assert_null(call.method.p);
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
test_parse_gives_no_parameters_when_they_are_missing(void **state)
{
	struct varlink_call call;

	assert_int_equal(parse("{\"method\":\"a.B\"}", &call), 0);
	assert_int_equal(call.n_params, 0);
	assert_false(call.more);
	assert_false(call.oneway);
	varlink_call_clear(&call);
}

static void
test_parse_treats_null_parameters_as_missing(void **state)
{
	struct varlink_call call;

	assert_int_equal(parse("{\"method\":\"a.B\",\"parameters\":null}", &call), 0);
	assert_int_equal(call.n_params, 0);
	varlink_call_clear(&call);
	assert_int_equal(parse("{\"method\":\"a.B\",\"parameters\":null,\"x\":[1]}", &call), 0);
	assert_int_equal(call.n_params, 0);
	varlink_call_clear(&call);
}

static void
test_parse_reads_every_parameter_type(void **state)
{
	struct varlink_call call;
	const struct varlink_param *v;

	assert_int_equal(parse("{\"method\":\"a.B\",\"parameters\":{\"s\":\"x y\",\"i\":-42,"
			       "\"b\":false,\"n\":null,\"d\":1.5,\"a\":[],\"o\":{}}}", &call), 0);
	assert_int_equal(call.n_params, 7);
	v = varlink_call_param(&call, "s");
	assert_int_equal(v->type, VARLINK_STRING);
	assert_true(str_eq(v->s, "x y", 3));
	v = varlink_call_param(&call, "i");
	assert_int_equal(v->type, VARLINK_INT);
	assert_int_equal(v->i, -42);
	assert_int_equal(varlink_call_param(&call, "b")->type, VARLINK_BOOL);
	assert_false(varlink_call_param(&call, "b")->b);
	assert_int_equal(varlink_call_param(&call, "n")->type, VARLINK_NULL);
	assert_int_equal(varlink_call_param(&call, "d")->type, VARLINK_DOUBLE);
	assert_int_equal(varlink_call_param(&call, "a")->type, VARLINK_ARRAY);
	assert_int_equal(varlink_call_param(&call, "o")->type, VARLINK_OBJECT);
	assert_null(varlink_call_param(&call, "z"));
	/* Members keep the order they came in. */
	assert_true(str_eq(call.params[0].name, "s", 1));
	assert_true(str_eq(call.params[6].name, "o", 1));
	varlink_call_clear(&call);
}

static void
test_parse_ignores_unknown_members_of_the_call(void **state)
{
	struct varlink_call call;

	assert_int_equal(parse("{\"method\":\"a.B\",\"upgrade\":false,\"x\":[1]}", &call), 0);
	assert_true(varlink_str_is(call.method, "a.B"));
	varlink_call_clear(&call);
	assert_int_equal(parse("{\"x\":7,\"method\":\"a.B\",\"y\":\"z\"}", &call), 0);
	assert_true(varlink_str_is(call.method, "a.B"));
	varlink_call_clear(&call);
}

static void
test_parse_refuses_non_json(void **state)
{
	assert_int_equal(parse_result("hello"), -EBADMSG);
	assert_int_equal(parse_result("{\"method\":"), -EBADMSG);
	assert_int_equal(parse_result(""), -EBADMSG);
	assert_int_equal(parse_result("{\"method\":\"a.B\",}"), -EBADMSG);
}

static void
test_parse_refuses_trailing_garbage(void **state)
{
	assert_int_equal(parse_result("{\"method\":\"a.B\"} x"), -EBADMSG);
	assert_int_equal(parse_result("{\"method\":\"a.B\"}{}"), -EBADMSG);
	assert_int_equal(parse_result("{\"method\":\"a.B\"} \n"), 0);
}

static void
test_parse_refuses_bytes_that_are_not_utf8(void **state)
{
	/* 0xff, an overlong '/', an encoded surrogate, a code point past U+10FFFF, a cut sequence. */
	assert_int_equal(parse_result("{\"method\":\"a.B\",\"parameters\":{\"x\":\"\xff\xfe\"}}"), -EBADMSG);
	assert_int_equal(parse_result("{\"method\":\"a.\xc0\xaf\"}"), -EBADMSG);
	assert_int_equal(parse_result("{\"method\":\"a.B\",\"parameters\":{\"interface\":\"\xc0\xaf\"}}"),
			 -EBADMSG);
	assert_int_equal(parse_result("{\"method\":\"a.\xed\xa0\x80\"}"), -EBADMSG);
	assert_int_equal(parse_result("{\"method\":\"a.\xf4\x90\x80\x80\"}"), -EBADMSG);
	assert_int_equal(parse_result("{\"method\":\"a.\xe2\x82\"}"), -EBADMSG);
	assert_int_equal(parse_result("{\"method\":\"a.\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}"), 0);
}

static void
test_parse_refuses_a_json_array(void **state)
{
	assert_int_equal(parse_result("[{\"method\":\"a.B\"}]"), -EBADMSG);
}

static void
test_parse_refuses_json_scalars(void **state)
{
	assert_int_equal(parse_result("\"a.B\""), -EBADMSG);
	assert_int_equal(parse_result("null"), -EBADMSG);
	assert_int_equal(parse_result("42 "), -EBADMSG);
}

static void
test_parse_wants_a_string_method(void **state)
{
	struct varlink_call call;

	assert_int_equal(parse("{\"method\":42}", &call), -EINVAL);
	assert_true(str_eq(call.bad, "method", 6));
	varlink_call_clear(&call);
	assert_int_equal(parse_result("{\"method\":null}"), -EINVAL);
	assert_int_equal(parse_result("{\"parameters\":{}}"), -EINVAL);
	assert_int_equal(parse_result("{}"), -EINVAL);
}

static void
test_parse_wants_object_parameters(void **state)
{
	struct varlink_call call;

	assert_int_equal(parse("{\"method\":\"a.B\",\"parameters\":[]}", &call), -EINVAL);
	assert_true(str_eq(call.bad, "parameters", 10));
	varlink_call_clear(&call);
	assert_int_equal(parse_result("{\"method\":\"a.B\",\"parameters\":\"x\"}"), -EINVAL);
}

static void
test_parse_wants_boolean_flags(void **state)
{
	struct varlink_call call;

	assert_int_equal(parse("{\"method\":\"a.B\",\"more\":1}", &call), -EINVAL);
	assert_true(str_eq(call.bad, "more", 4));
	varlink_call_clear(&call);
	assert_int_equal(parse("{\"method\":\"a.B\",\"oneway\":\"yes\"}", &call), -EINVAL);
	assert_true(str_eq(call.bad, "oneway", 6));
	varlink_call_clear(&call);
	assert_int_equal(parse_result("{\"method\":\"a.B\",\"more\":null}"), 0);
}

static void
test_parse_keeps_a_nul_inside_the_method_name(void **state)
{
	static const char nul_method[] = "io.tvtokend.Broker.GetToken\0x";
	struct varlink_call call;

	assert_int_equal(parse("{\"method\":\"io.tvtokend.Broker.GetToken\\u0000x\"}", &call), 0);
	assert_true(str_eq(call.method, nul_method, sizeof(nul_method) - 1));
	assert_false(varlink_str_is(call.method, "io.tvtokend.Broker.GetToken"));
	varlink_call_clear(&call);
}

static void
test_parse_refuses_a_member_name_with_a_nul_and_names_it(void **state)
{
	struct varlink_call call;

	/* json-c would read "method\u0000x" as "method". */
	assert_int_equal(parse("{\"method\\u0000x\":\"a.B\"}", &call), -EINVAL);
	assert_true(str_eq(call.bad, "method\0x", 8));
	varlink_call_clear(&call);
	assert_int_equal(parse("{\"method\":\"a.B\",\"parameters\":{\"wait\\u0000\":true}}", &call),
			 -EINVAL);
	assert_true(str_eq(call.bad, "wait\0", 5));
	varlink_call_clear(&call);
	/* An escaped backslash before "u0000" is no NUL. */
	assert_int_equal(parse("{\"method\":\"a.B\",\"parameters\":{\"w\\\\u0000\":true}}", &call), 0);
	assert_true(str_eq(call.params[0].name, "w\\u0000", 7));
	varlink_call_clear(&call);
}

/* {"method":"a.B","parameters":{"p":[[...]]}} with depth levels in all (the call object included). */
static char *
nested(const char *member, const char *inner, unsigned depth)
{
	size_t cap = 256 + 2 * depth, n;
	char *s = malloc(cap);
	unsigned i, brackets;

	assert_non_null(s);
	if (inner != NULL) {
		n = (size_t)snprintf(s, cap, "{\"method\":\"a.B\",\"%s\":{\"%s\":", member, inner);
		brackets = depth - 2;
	} else {
		n = (size_t)snprintf(s, cap, "{\"method\":\"a.B\",\"%s\":", member);
		brackets = depth - 1;
	}
	for (i = 0; i < brackets; i++)
		s[n++] = '[';
	for (i = 0; i < brackets; i++)
		s[n++] = ']';
	if (inner != NULL)
		s[n++] = '}';
	s[n++] = '}';
	s[n] = '\0';
	return s;
}

static void
test_parse_names_the_member_nested_too_deep(void **state)
{
	struct varlink_call call;
	char *s;

	s = nested("x", NULL, VARLINK_DEPTH_MAX);
	assert_int_equal(parse_result(s), 0);
	free(s);
	s = nested("x", NULL, VARLINK_DEPTH_MAX + 1);
	assert_int_equal(parse(s, &call), -ELOOP);
	assert_true(str_eq(call.bad, "x", 1));
	varlink_call_clear(&call);
	free(s);
	/* Inside "parameters", the parameter is named. */
	s = nested("parameters", "wait", VARLINK_DEPTH_MAX + 1);
	assert_int_equal(parse(s, &call), -ELOOP);
	assert_true(str_eq(call.bad, "wait", 4));
	varlink_call_clear(&call);
	free(s);
	s = nested("parameters", "wait", VARLINK_DEPTH_MAX);
	assert_int_equal(parse_result(s), 0);
	free(s);
}

static void
test_parse_closes_on_a_deep_array_that_is_no_object(void **state)
{
	char s[2 * (VARLINK_DEPTH_MAX + 2) + 1];
	unsigned i;

	for (i = 0; i < VARLINK_DEPTH_MAX + 2; i++) {
		s[i] = '[';
		s[VARLINK_DEPTH_MAX + 2 + i] = ']';
	}
	s[sizeof(s) - 1] = '\0';
	assert_int_equal(parse_result(s), -EBADMSG);
}

static void
test_parse_takes_the_last_of_repeated_members_in_place(void **state)
{
	struct varlink_call call;

	assert_int_equal(parse("{\"method\":\"a.X\",\"method\":\"a.B\",\"more\":true,\"more\":false,"
			       "\"parameters\":{\"a\":1,\"b\":2,\"a\":\"z\"}}", &call), 0);
	assert_true(varlink_str_is(call.method, "a.B"));
	assert_false(call.more);
	assert_int_equal(call.n_params, 2);
	assert_true(str_eq(call.params[0].name, "a", 1));
	assert_int_equal(call.params[0].type, VARLINK_STRING);
	varlink_call_clear(&call);
}

static void
test_parse_keeps_the_first_parameters_past_the_limit(void **state)
{
	struct varlink_call call;
	char s[512];
	size_t n;
	unsigned i;

	n = (size_t)snprintf(s, sizeof(s), "{\"method\":\"a.B\",\"parameters\":{");
	for (i = 0; i < VARLINK_PARAMS_MAX + 4; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "%s\"p%u\":%u", i > 0 ? "," : "", i, i);
	snprintf(s + n, sizeof(s) - n, "}}");
	assert_int_equal(parse(s, &call), 0);
	assert_int_equal(call.n_params, VARLINK_PARAMS_MAX);
	assert_true(str_eq(call.params[0].name, "p0", 2));
	assert_int_equal(call.params[VARLINK_PARAMS_MAX - 1].i, VARLINK_PARAMS_MAX - 1);
	varlink_call_clear(&call);
}

/* Whether two parses of one message read the same call. */
static void
assert_same_call(const struct varlink_call *a, const struct varlink_call *b)
{
	size_t k;

	assert_int_equal(a->method.len, b->method.len);
	assert_memory_equal(a->method.p, b->method.p, a->method.len);
	assert_int_equal(a->more, b->more);
	assert_int_equal(a->oneway, b->oneway);
	assert_int_equal(a->n_params, b->n_params);
	for (k = 0; k < a->n_params; k++) {
		assert_true(str_eq(a->params[k].name, b->params[k].name.p, b->params[k].name.len));
		assert_int_equal(a->params[k].type, b->params[k].type);
		if (a->params[k].type == VARLINK_BOOL)
			assert_int_equal(a->params[k].b, b->params[k].b);
		if (a->params[k].type == VARLINK_INT)
			assert_int_equal(a->params[k].i, b->params[k].i);
		if (a->params[k].type == VARLINK_STRING)
			assert_true(str_eq(a->params[k].s, b->params[k].s.p, b->params[k].s.len));
	}
}

static void
test_parse_reads_common_calls_as_json_c_does(void **state)
{
	static const char *const calls[] = {
		"{\"method\":\"io.tvtokend.Broker.GetToken\",\"parameters\":{}}",
		" {\t\"method\" : \"a.B\" ,\r\n\"parameters\":{\"wait\":true} } ",
		"{\"method\":\"a.B\",\"parameters\":{\"generation\":-0}}",
		"{\"method\":\"a.B\",\"parameters\":{\"generation\":999999999999999999}}",
		"{\"method\":\"a.B\",\"parameters\":{\"generation\":9223372036854775807}}",
		"{\"method\":\"a.B\",\"parameters\":{\"generation\":99999999999999999999}}",
		"{\"method\":\"a.B\",\"parameters\":{\"generation\":-99999999999999999999}}",
		"{\"method\":\"a.B\",\"parameters\":{\"g\":1.0,\"h\":1e3,\"i\":1E-2}}",
		"{\"method\":\"a.B\",\"parameters\":{\"s\":\"\",\"t\":\"~ !\",\"u\":\"\\u0041\"}}",
		"{\"method\":\"a.B\",\"parameters\":{\"a\":true,\"a\":null}}",
		"{\"oneway\":true,\"more\":null,\"method\":\"a.B\",\"x\":\"y\",\"z\":0}",
		"{\"method\":\"a.B\",\"parameters\":null}",
		"{\"method\":\"a.B\",\"parameters\":{},\"parameters\":{\"q\":1}}",
		"{\"method\":\"\"}",
		"{\"method\":\"a.B\",\"parameters\":{\"n\":-}}",
		"{\"method\":\"a.B\",\"parameters\":{\"n\":01}}",
		"{\"method\":\"a.B\",\"parameters\":{\"n\":truex}}",
		"{\"method\":\"a.B\"}\t",
	};
	struct varlink_call a, b;
	char *m;
	size_t i;
	int ra, rb;

	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		m = message(calls[i], strlen(calls[i]));
		ra = varlink_parse_call(parser, m, strlen(m), &a);
		rb = varlink_parse_call_jsonc(parser, m, strlen(m), &b);
		if (ra != rb)
			print_error("%s: %d vs %d\n", calls[i], ra, rb);
		assert_int_equal(ra, rb);
		if (ra == 0)
			assert_same_call(&a, &b);
		varlink_call_clear(&a);
		varlink_call_clear(&b);
		free(m);
	}
}

static void
test_utf8_validity(void **state)
{
	assert_true(varlink_utf8_valid("", 0));
	assert_true(varlink_utf8_valid("abc", 3));
	assert_true(varlink_utf8_valid("\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 18));
	assert_false(varlink_utf8_valid("\xc0\xaf", 2));            /* overlong */
	assert_false(varlink_utf8_valid("\xe0\x80\xaf", 3));        /* overlong */
	assert_false(varlink_utf8_valid("\xf0\x80\x80\xaf", 4));    /* overlong */
	assert_false(varlink_utf8_valid("\xed\xa0\x80", 3));        /* surrogate */
	assert_false(varlink_utf8_valid("\xf4\x90\x80\x80", 4));    /* past U+10FFFF */
	assert_false(varlink_utf8_valid("\x80", 1));                /* lone continuation */
	assert_false(varlink_utf8_valid("\xe2\x82", 2));            /* cut short */
	assert_false(varlink_utf8_valid("\xf8\x88\x80\x80\x80", 5));
}

static void
test_split_method_at_the_last_dot(void **state)
{
	struct varlink_str m = { NULL, 0 };
	size_t n = 0;

	assert_int_equal(varlink_split_method((struct varlink_str){ "io.tvtokend.Broker.GetToken", 27 }, &n, &m), 0);
	assert_int_equal(n, strlen("io.tvtokend.Broker"));
	assert_true(str_eq(m, "GetToken", 8));
	assert_int_equal(varlink_split_method((struct varlink_str){ "GetToken", 8 }, &n, &m), -EINVAL);
	assert_int_equal(varlink_split_method((struct varlink_str){ "io.tvtokend.Broker.", 19 }, &n, &m), -EINVAL);
	assert_int_equal(varlink_split_method((struct varlink_str){ ".GetToken", 9 }, &n, &m), -EINVAL);
	/* A NUL is a byte like any other. */
	assert_int_equal(varlink_split_method((struct varlink_str){ "a\0.b.C", 6 }, &n, &m), 0);
	assert_int_equal(n, 4);
	assert_true(str_eq(m, "C", 1));
}

/* ---- writing ---- */

/* The message in b, checked to be one NUL-terminated JSON object in valid UTF-8, parsed. */
static struct json_object *
written(struct varlink_buf *b)
{
	struct json_object *o;

	assert_false(b->oom);
	assert_true(b->len > 1);
	assert_int_equal(b->data[b->off + b->len - 1], '\0');
	assert_int_equal(strlen(b->data + b->off), b->len - 1);
	assert_true(varlink_utf8_valid(b->data + b->off, b->len - 1));
	o = json_tokener_parse(b->data + b->off);
	assert_non_null(o);
	assert_true(json_object_is_type(o, json_type_object));
	return o;
}

/* A member of o (NULL when absent). */
static struct json_object *
member(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static void
test_reply_is_one_object_and_exactly_one_nul(void **state)
{
	struct varlink_buf b = { 0 };
	struct json_object *o;

	varlink_begin(&b, NULL);
	varlink_key(&b, "x");
	varlink_int(&b, 7);
	varlink_key(&b, "t");
	varlink_open(&b);
	varlink_key(&b, "y");
	varlink_bool(&b, true);
	varlink_key(&b, "z");
	varlink_null(&b);
	varlink_close(&b);
	varlink_key(&b, "n");
	varlink_int(&b, INT64_MIN);
	assert_int_equal(varlink_end(&b, false), 0);
	o = written(&b);
	assert_int_equal(json_object_get_int(member(member(o, "parameters"), "x")), 7);
	assert_true(json_object_get_boolean(member(member(member(o, "parameters"), "t"), "y")));
	assert_int_equal(json_object_get_int64(member(member(o, "parameters"), "n")), INT64_MIN);
	assert_null(member(o, "continues"));
	assert_null(member(o, "error"));
	json_object_put(o);
	varlink_buf_free(&b);
}

static void
test_reply_marks_continues(void **state)
{
	struct varlink_buf b = { 0 };
	struct json_object *o;

	varlink_begin(&b, NULL);
	assert_int_equal(varlink_end(&b, true), 0);
	o = written(&b);
	assert_true(json_object_get_boolean(member(o, "continues")));
	assert_int_equal(json_object_object_length(member(o, "parameters")), 0);
	json_object_put(o);
	varlink_buf_free(&b);
}

static void
test_reply_tails_are_what_end_writes(void **state)
{
	struct varlink_buf b = { 0 };

	varlink_begin(&b, NULL);
	assert_int_equal(varlink_end(&b, false), 0);
	assert_int_equal(b.len, strlen("{\"parameters\":{") + sizeof(VARLINK_TAIL));
	assert_memory_equal(b.data + b.len - sizeof(VARLINK_TAIL), VARLINK_TAIL, sizeof(VARLINK_TAIL));
	varlink_buf_reset(&b);
	varlink_begin(&b, NULL);
	assert_int_equal(varlink_end(&b, true), 0);
	assert_memory_equal(b.data + b.len - sizeof(VARLINK_TAIL_CONTINUES), VARLINK_TAIL_CONTINUES,
			    sizeof(VARLINK_TAIL_CONTINUES));
	varlink_buf_free(&b);
}

static void
test_error_names_the_error_with_exactly_one_nul(void **state)
{
	struct varlink_buf b = { 0 };
	struct json_object *o;

	varlink_begin(&b, "org.varlink.service.InvalidParameter");
	varlink_key(&b, "parameter");
	varlink_cstring(&b, "wait");
	assert_int_equal(varlink_end(&b, false), 0);
	o = written(&b);
	assert_string_equal(json_object_get_string(member(o, "error")), "org.varlink.service.InvalidParameter");
	assert_string_equal(json_object_get_string(member(member(o, "parameters"), "parameter")), "wait");
	json_object_put(o);
	varlink_buf_free(&b);
}

static void
test_error_without_parameters_has_an_empty_object(void **state)
{
	struct varlink_buf b = { 0 };
	struct json_object *o;

	varlink_begin(&b, "org.varlink.service.PermissionDenied");
	assert_int_equal(varlink_end(&b, false), 0);
	o = written(&b);
	assert_true(json_object_is_type(member(o, "parameters"), json_type_object));
	assert_int_equal(json_object_object_length(member(o, "parameters")), 0);
	json_object_put(o);
	varlink_buf_free(&b);
}

static void
test_strings_are_escaped_so_they_read_back_unchanged(void **state)
{
	static const char nasty[] = "q\"b\\s/n\nt\tc\001\037\177 \xc3\xa9 \xf0\x9f\x98\x80 end";
	struct varlink_buf b = { 0 };
	struct json_object *o, *v;

	varlink_begin(&b, NULL);
	varlink_key(&b, "s");
	varlink_cstring(&b, nasty);
	assert_int_equal(varlink_end(&b, false), 0);
	o = written(&b);
	v = member(member(o, "parameters"), "s");
	assert_string_equal(json_object_get_string(v), nasty);
	json_object_put(o);
	varlink_buf_free(&b);
}

static void
test_a_nul_is_written_escaped(void **state)
{
	struct varlink_buf b = { 0 };
	struct json_object *o, *v;

	varlink_begin(&b, "org.varlink.service.MethodNotFound");
	varlink_key(&b, "method");
	varlink_string(&b, "a.B\0c", 5);
	assert_int_equal(varlink_end(&b, false), 0);
	/* written() checks that the only raw NUL is the last byte. */
	o = written(&b);
	assert_non_null(memmem(b.data + b.off, b.len, "a.B\\u0000c", 10));
	v = member(member(o, "parameters"), "method");
	assert_int_equal(json_object_get_string_len(v), 5);
	assert_memory_equal(json_object_get_string(v), "a.B\0c", 5);
	json_object_put(o);
	varlink_buf_free(&b);
}

static void
test_bytes_that_are_not_utf8_are_written_as_replacement_characters(void **state)
{
	struct varlink_buf b = { 0 };
	struct json_object *o, *v;

	varlink_begin(&b, NULL);
	varlink_key(&b, "s");
	varlink_string(&b, "a\xc0\xaf" "b\xed\xa0\x80" "c\xff", 10);
	assert_int_equal(varlink_end(&b, false), 0);
	o = written(&b);
	v = member(member(o, "parameters"), "s");
	assert_string_equal(json_object_get_string(v),
			    "a\xef\xbf\xbd\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "c\xef\xbf\xbd");
	json_object_put(o);
	varlink_buf_free(&b);
}

static void
test_buffer_wipes_what_it_consumes(void **state)
{
	struct varlink_buf b = { 0 };
	char *data;

	varlink_buf_put(&b, "secret-token-and-more", 21);
	data = b.data;
	varlink_buf_consume(&b, 12);
	assert_int_equal(b.len, 9);
	assert_memory_equal(b.data + b.off, "-and-more", 9);
	assert_ptr_equal(b.data, data);
	assert_int_equal(memcmp(data, "\0\0\0\0\0\0\0\0\0\0\0\0", 12), 0);
	varlink_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(memcmp(data + 12, "\0\0\0\0\0\0\0\0\0", 9), 0);
	varlink_buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
}

static void
test_buffer_keeps_its_content_across_growth_and_compaction(void **state)
{
	struct varlink_buf b = { 0 };
	char chunk[100];
	size_t i, total = 0, eaten = 0;

	for (i = 0; i < 200; i++) {
		memset(chunk, (int)('a' + i % 26), sizeof(chunk));
		varlink_buf_put(&b, chunk, sizeof(chunk));
		total += sizeof(chunk);
		if (i % 3 == 2) {
			varlink_buf_consume(&b, 150);
			eaten += 150;
		}
	}
	assert_false(b.oom);
	assert_int_equal(b.len, total - eaten);
	/* Byte k of the stream is 'a' + (k / 100) % 26. */
	for (i = 0; i < b.len; i++)
		assert_int_equal(b.data[b.off + i], (char)('a' + ((eaten + i) / 100) % 26));
	varlink_buf_free(&b);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_frame_waits_for_the_nul),
		T(test_frame_finds_the_first_of_pipelined_messages),
		T(test_frame_accepts_exactly_64_kib),
		T(test_frame_refuses_65537_bytes_without_a_nul),
		T(test_frame_refuses_65537_bytes_before_a_nul),
		T(test_frame_refuses_a_long_tail_only_when_it_is_reached),
		T(test_parse_reads_method_parameters_and_flags),
		T(test_parse_reads_oneway),
		T(test_parse_gives_no_parameters_when_they_are_missing),
		T(test_parse_treats_null_parameters_as_missing),
		T(test_parse_reads_every_parameter_type),
		T(test_parse_ignores_unknown_members_of_the_call),
		T(test_parse_refuses_non_json),
		T(test_parse_refuses_trailing_garbage),
		T(test_parse_refuses_bytes_that_are_not_utf8),
		T(test_parse_refuses_a_json_array),
		T(test_parse_refuses_json_scalars),
		T(test_parse_wants_a_string_method),
		T(test_parse_wants_object_parameters),
		T(test_parse_wants_boolean_flags),
		T(test_parse_keeps_a_nul_inside_the_method_name),
		T(test_parse_refuses_a_member_name_with_a_nul_and_names_it),
		T(test_parse_names_the_member_nested_too_deep),
		T(test_parse_closes_on_a_deep_array_that_is_no_object),
		T(test_parse_takes_the_last_of_repeated_members_in_place),
		T(test_parse_keeps_the_first_parameters_past_the_limit),
		T(test_parse_reads_common_calls_as_json_c_does),
		T(test_utf8_validity),
		T(test_split_method_at_the_last_dot),
		T(test_reply_is_one_object_and_exactly_one_nul),
		T(test_reply_marks_continues),
		T(test_reply_tails_are_what_end_writes),
		T(test_error_names_the_error_with_exactly_one_nul),
		T(test_error_without_parameters_has_an_empty_object),
		T(test_strings_are_escaped_so_they_read_back_unchanged),
		T(test_a_nul_is_written_escaped),
		T(test_bytes_that_are_not_utf8_are_written_as_replacement_characters),
		T(test_buffer_wipes_what_it_consumes),
		T(test_buffer_keeps_its_content_across_growth_and_compaction),
	};
	int r;

	r = cmocka_run_group_tests(tests, NULL, NULL);
	free(held_msg);
	return r;
}
