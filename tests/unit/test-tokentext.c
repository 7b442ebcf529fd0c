/* SPDX-License-Identifier: MIT */
/*
 * The token as text for the token file and the change hook: every format
 * byte for byte, what each refuses, and that sh reads the env format back
 * verbatim.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "tokentext.h"

/* 2026-11-28T14:30:00Z */
#define EXPIRY ((usec_t)1795876200 * USEC_PER_SEC)

/* A full token as a renewal leaves it; the strings are the caller's. */
static struct token full_token(char *access, char *md)
{
	return (struct token){
		.access_token = access,
		.md_access_token = md,
		.expiration = EXPIRY,
		.user_id = 4242,
		.has_user_id = true,
		.name = (char *)"alice",
		.generation = 7,
	};
}

/* Render, assert success, and compare with want. */
static void assert_renders(const struct token *t, enum config_sink_format f, const char *want)
{
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(tokentext_render(t, f, &out, &len), 0);
	assert_non_null(out);
	assert_int_equal(len, strlen(want));
	assert_string_equal(out, want);
	tokentext_free(out, len);
}

/* Assert that rendering fails with -EINVAL and leaves the output alone. */
static void assert_refused(const struct token *t, enum config_sink_format f)
{
	char *out = (char *)"untouched";
	size_t len = 42;

	assert_int_equal(tokentext_render(t, f, &out, &len), -EINVAL);
	assert_string_equal(out, "untouched");
	assert_int_equal(len, 42);
}

static void token_format_is_the_access_token_and_a_newline(void **state)
{
	struct token t = full_token((char *)"tok-1-abc.DEF_~+/=", (char *)"md-1");

	assert_renders(&t, CONFIG_SINK_TOKEN, "tok-1-abc.DEF_~+/=\n");
}

static void token_format_refuses_a_token_with_a_line_break_or_control_character(void **state)
{
	struct token t = full_token((char *)"tok\nINJECTED", NULL);

	assert_refused(&t, CONFIG_SINK_TOKEN);
	t.access_token = (char *)"tok\r";
	assert_refused(&t, CONFIG_SINK_TOKEN);
	t.access_token = (char *)"tok\x7f";
	assert_refused(&t, CONFIG_SINK_TOKEN);
}

static void json_format_is_the_token_object_of_get_token(void **state)
{
	struct token t = full_token((char *)"tok-1/a", (char *)"md-1");

	assert_renders(&t, CONFIG_SINK_JSON,
	    "{\"accessToken\":\"tok-1/a\",\"mdAccessToken\":\"md-1\","
	    "\"expirationTime\":\"2026-11-28T14:30:00Z\",\"userId\":4242,\"name\":\"alice\","
	    "\"generation\":7}\n");
}

static void json_format_leaves_out_absent_optional_fields(void **state)
{
	struct token t = full_token((char *)"tok-1", NULL);

	t.has_user_id = false;
	t.name = NULL;
	t.generation = 18446744073709551615ULL;
	assert_renders(&t, CONFIG_SINK_JSON,
	    "{\"accessToken\":\"tok-1\",\"expirationTime\":\"2026-11-28T14:30:00Z\","
	    "\"generation\":18446744073709551615}\n");
}

static void json_format_escapes_what_json_requires_and_parses_back(void **state)
{
	struct token t = full_token((char *)"a\"b\\c\nd\x01" "e", NULL);
	struct json_object *o, *v;
	char *out;
	size_t len;

	t.name = (char *)"Zo\xc3\xab \"Z\"";
	assert_int_equal(tokentext_render(&t, CONFIG_SINK_JSON, &out, &len), 0);
	assert_non_null(strstr(out, "\"accessToken\":\"a\\\"b\\\\c\\u000ad\\u0001e\""));
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "accessToken", &v));
	assert_string_equal(json_object_get_string(v), t.access_token);
	assert_true(json_object_object_get_ex(o, "name", &v));
	assert_string_equal(json_object_get_string(v), t.name);
	assert_true(json_object_object_get_ex(o, "userId", &v));
	assert_int_equal(json_object_get_int64(v), 4242);
	json_object_put(o);
	tokentext_free(out, len);
}

static void env_format_writes_token_characters_bare(void **state)
{
	struct token t = full_token((char *)"eyJhbGc.iOi-JIU_zI1+Ni/J9==", (char *)"md-1-0f");

	assert_renders(&t, CONFIG_SINK_ENV,
	    "TRADOVATE_ACCESS_TOKEN=eyJhbGc.iOi-JIU_zI1+Ni/J9==\n"
	    "TRADOVATE_MD_ACCESS_TOKEN=md-1-0f\n"
	    "TRADOVATE_TOKEN_EXPIRATION=2026-11-28T14:30:00Z\n");
}

static void env_format_leaves_out_the_md_token_when_there_is_none(void **state)
{
	struct token t = full_token((char *)"tok-1", NULL);

	assert_renders(&t, CONFIG_SINK_ENV,
	    "TRADOVATE_ACCESS_TOKEN=tok-1\n"
	    "TRADOVATE_TOKEN_EXPIRATION=2026-11-28T14:30:00Z\n");
}

static void env_format_single_quotes_a_tilde_and_other_printable_characters(void **state)
{
	struct token t = full_token((char *)"~root", (char *)"a b$c`d\"e;f");

	assert_renders(&t, CONFIG_SINK_ENV,
	    "TRADOVATE_ACCESS_TOKEN='~root'\n"
	    "TRADOVATE_MD_ACCESS_TOKEN='a b$c`d\"e;f'\n"
	    "TRADOVATE_TOKEN_EXPIRATION=2026-11-28T14:30:00Z\n");
}

static void env_format_refuses_a_quote_backslash_or_control_character(void **state)
{
	static const char *const bad[] = { "x';rm -rf /;'", "a\\b", "a\nB=1", "a\tb", "\xc3\xab" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct token t = full_token((char *)bad[i], NULL);

		assert_refused(&t, CONFIG_SINK_ENV);
		t = full_token((char *)"tok-1", (char *)bad[i]);
		assert_refused(&t, CONFIG_SINK_ENV);
	}
}

static void env_format_is_read_back_verbatim_by_sh(void **state)
{
	static const char *const values[] = { "tok-1.a_b+c/d==", "~root", "a b$HOME`id`\"e;f" };
	char dir[] = "/tmp/test-tokentext.XXXXXX", path[64], cmd[256], got[256];

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/env", dir);
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		struct token t = full_token((char *)values[i], (char *)values[i]);
		char *out;
		size_t len, n;
		FILE *f;

		assert_int_equal(tokentext_render(&t, CONFIG_SINK_ENV, &out, &len), 0);
		f = fopen(path, "we");
		assert_non_null(f);
		assert_int_equal(fwrite(out, 1, len, f), len);
		assert_int_equal(fclose(f), 0);
		tokentext_free(out, len);
		snprintf(cmd, sizeof(cmd), "env -i /bin/sh -c '. %s && printf \"%%s|%%s|%%s\" "
		    "\"$TRADOVATE_ACCESS_TOKEN\" \"$TRADOVATE_MD_ACCESS_TOKEN\" "
		    "\"$TRADOVATE_TOKEN_EXPIRATION\"'", path);
		f = popen(cmd, "r");
		assert_non_null(f);
		n = fread(got, 1, sizeof(got) - 1, f);
		got[n] = '\0';
		assert_int_equal(pclose(f), 0);
		snprintf(cmd, sizeof(cmd), "%s|%s|2026-11-28T14:30:00Z", values[i], values[i]);
		assert_string_equal(got, cmd);
	}
	unlink(path);
	rmdir(dir);
}

static void rendering_without_an_access_token_is_refused(void **state)
{
	struct token t = full_token(NULL, (char *)"md-1");

	assert_refused(&t, CONFIG_SINK_TOKEN);
	assert_refused(&t, CONFIG_SINK_JSON);
	assert_refused(&t, CONFIG_SINK_ENV);
	assert_refused(NULL, CONFIG_SINK_JSON);
}

static void unknown_format_is_refused(void **state)
{
	struct token t = full_token((char *)"tok-1", NULL);

	assert_refused(&t, (enum config_sink_format)42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(token_format_is_the_access_token_and_a_newline),
		cmocka_unit_test(token_format_refuses_a_token_with_a_line_break_or_control_character),
		cmocka_unit_test(json_format_is_the_token_object_of_get_token),
		cmocka_unit_test(json_format_leaves_out_absent_optional_fields),
		cmocka_unit_test(json_format_escapes_what_json_requires_and_parses_back),
		cmocka_unit_test(env_format_writes_token_characters_bare),
		cmocka_unit_test(env_format_leaves_out_the_md_token_when_there_is_none),
		cmocka_unit_test(env_format_single_quotes_a_tilde_and_other_printable_characters),
		cmocka_unit_test(env_format_refuses_a_quote_backslash_or_control_character),
		cmocka_unit_test(env_format_is_read_back_verbatim_by_sh),
		cmocka_unit_test(rendering_without_an_access_token_is_refused),
		cmocka_unit_test(unknown_format_is_refused),
	};

	return cmocka_run_group_tests_name("tokentext", tests, NULL, NULL);
}
