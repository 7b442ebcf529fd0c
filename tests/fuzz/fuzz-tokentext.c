/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the token as text (daemon/tokentext.c) for any bytes a
 * hostile upstream could put in the access token, the market-data token and
 * the user name. For every format, rendering either refuses (-EINVAL) or
 * produces text that reads back as exactly what went in:
 *   token: the access token and one newline, no other control character;
 *   json:  json-c parses it to the same strings and numbers;
 *   env:   every line is NAME=bare or NAME='quoted' with the safe characters
 *          of tokentext.c, and the value read back is the original.
 * The env check is what keeps a sourced token file from running code.
 *
 * Input: three NUL-separated strings (access token, md token, name); a
 * missing md token or name is absent from the token.
 *
 * Links: daemon/tokentext.c, daemon/timeutil.c, json-c. Built and run by hand:
 *   clang-14 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -Idaemon -I/usr/include/json-c tests/fuzz/fuzz-tokentext.c \
 *     daemon/tokentext.c daemon/timeutil.c -ljson-c -o /tmp/fuzz-tokentext
 *   /tmp/fuzz-tokentext -max_total_time=300 tests/fuzz/corpus/tokentext
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tokentext.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stop with a message: a violated invariant. */
static void fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz-tokentext: %s\n", what);
	abort();
}

/* Whether c may stand bare in an env value (tokentext.c's rule). */
static bool bare_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("-._+/=:", c) != NULL);
}

/* Read one env line NAME=VALUE\n at *p into name/value (malloc'ed); false if malformed or unsafe. */
static bool env_line(const char **p, const char *end, char **name, char **value)
{
	const char *s = *p, *eq, *nl, *v, *ve;

	nl = memchr(s, '\n', (size_t)(end - s));
	eq = memchr(s, '=', (size_t)(end - s));
	if (nl == NULL || eq == NULL || eq > nl || eq == s)
		return false;
	for (const char *c = s; c < eq; c++)
		if (!((*c >= 'A' && *c <= 'Z') || *c == '_'))
			return false;
	v = eq + 1;
	ve = nl;
	if (v < ve && *v == '\'') {
		if (ve - v < 2 || ve[-1] != '\'')
			return false;
		for (const char *c = v + 1; c < ve - 1; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\'' || *c == '\\')
				return false;
		v++;
		ve--;
	} else {
		if (v == ve)
			return false;
		for (const char *c = v; c < ve; c++)
			if (!bare_char(*c))
				return false;
	}
	*name = strndup(s, (size_t)(eq - s));
	*value = strndup(v, (size_t)(ve - v));
	*p = nl + 1;
	return *name != NULL && *value != NULL;
}

/* The string member key of o, or NULL. */
static const char *json_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Whether a and b are both NULL or equal strings. */
static bool same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void check_token(const struct token *t, const char *out, size_t len)
{
	if (len != strlen(t->access_token) + 1 || out[len - 1] != '\n' ||
	    memcmp(out, t->access_token, len - 1) != 0)
		fuzz_fail("token: not the token and a newline");
	for (size_t i = 0; i + 1 < len; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			fuzz_fail("token: a control character");
}

static void check_json(const struct token *t, const char *out, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o, *v;

	if (tok == NULL)
		return;
	if (len == 0 || out[len - 1] != '\n' || memchr(out, '\n', len - 1) != NULL)
		fuzz_fail("json: not one line");
	o = json_tokener_parse_ex(tok, out, (int)len);
	/* json-c refuses invalid UTF-8 only in strict mode: the bytes come back as they went in. */
	if (o == NULL)
		fuzz_fail("json: does not parse");
	if (!same(json_str(o, "accessToken"), t->access_token) ||
	    !same(json_str(o, "mdAccessToken"), t->md_access_token) ||
	    !same(json_str(o, "name"), t->name))
		fuzz_fail("json: strings do not read back");
	if (!json_object_object_get_ex(o, "generation", &v) ||
	    (uint64_t)json_object_get_uint64(v) != t->generation)
		fuzz_fail("json: generation does not read back");
	json_object_put(o);
	json_tokener_free(tok);
}

static void check_env(const struct token *t, const char *out, size_t len)
{
	const char *p = out, *end = out + len;
	char *got[3] = { NULL, NULL, NULL };
	static const char *const names[3] = {
		"TRADOVATE_ACCESS_TOKEN", "TRADOVATE_MD_ACCESS_TOKEN", "TRADOVATE_TOKEN_EXPIRATION",
	};

	while (p < end) {
		char *name, *value;
		int i;

		if (!env_line(&p, end, &name, &value))
			fuzz_fail("env: a line that is not NAME=bare or NAME='quoted'");
		for (i = 0; i < 3 && strcmp(name, names[i]) != 0; i++)
			;
		if (i == 3 || got[i] != NULL)
			fuzz_fail("env: an unknown or repeated variable");
		got[i] = value;
		free(name);
	}
	if (!same(got[0], t->access_token) || !same(got[1], t->md_access_token) || got[2] == NULL)
		fuzz_fail("env: values do not read back");
	for (int i = 0; i < 3; i++)
		free(got[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *parts[3] = { NULL, NULL, NULL };
	struct token t = { 0 };
	size_t off = 0;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (int i = 0; i < 3 && off <= size; i++) {
		parts[i] = buf + off;
		off += strlen(buf + off) + 1;
	}
	t.access_token = parts[0];
	t.md_access_token = parts[1];
	t.name = parts[2];
	t.expiration = (usec_t)(size * 1000003u) * 1000000u;
	t.generation = size;
	t.user_id = -(int64_t)size;
	t.has_user_id = size % 2 == 0;
	for (int f = CONFIG_SINK_TOKEN; f <= CONFIG_SINK_ENV; f++) {
		char *out = NULL;
		size_t len = 0;
		int r = tokentext_render(&t, (enum config_sink_format)f, &out, &len);

		if (r == -EINVAL)
			continue;
		if (r < 0 || out == NULL || strlen(out) != len)
			fuzz_fail("render failed otherwise, or the length is wrong");
		if (f == CONFIG_SINK_TOKEN)
			check_token(&t, out, len);
		else if (f == CONFIG_SINK_JSON)
			check_json(&t, out, len);
		else
			check_env(&t, out, len);
		tokentext_free(out, len);
	}
	free(buf);
	return 0;
}
