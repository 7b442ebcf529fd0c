/* SPDX-License-Identifier: MIT */
/*
 * The held token rendered for the token file and the change hook.
 *
 * Every text is built twice: once to measure it, once into a buffer of
 * exactly that size, so no realloc() ever leaves a copy of the token behind
 * (which is also why the JSON is written here and not by json-c, whose
 * print buffer grows by realloc()).
 *
 * The env format is read by two parsers: sh's "." and systemd's
 * EnvironmentFile=. A value of token characters (RFC 6750's b64token:
 * letters, digits, - . _ + / =, but not ~, which sh expands at the start of
 * a value) and the colons of a time is written bare, which both read
 * verbatim. Anything else printable, without a quote or a backslash, is
 * written in single quotes, verbatim in both. A value that fits neither is
 * refused, never written: a token from a hostile upstream must not become
 * shell code in a file that is sourced.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"
#include "tokentext.h"

/* An output being measured (p == NULL) or written (p has room for exactly cap bytes). */
struct tokentext_out {
	char *p;
	size_t n;
	size_t cap;
};

/* Append len bytes (or count them when measuring). */
static void tokentext_put(struct tokentext_out *o, const char *s, size_t len)
{
	if (o->p != NULL && o->n + len <= o->cap)
		memcpy(o->p + o->n, s, len);
	o->n += len;
}

/* Append a NUL-terminated string. */
static void tokentext_puts(struct tokentext_out *o, const char *s)
{
	tokentext_put(o, s, strlen(s));
}

/* Whether c may appear in a bare env value. */
static bool tokentext_bare_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("-._+/=:", c) != NULL);
}

/* Whether c may appear between single quotes in an env value. */
static bool tokentext_quoted_char(char c)
{
	return c >= 0x20 && c < 0x7f && c != '\'' && c != '\\';
}

/* Append "NAME=value\n", bare or single-quoted; -EINVAL when value cannot be written safely. */
static int tokentext_env_line(struct tokentext_out *o, const char *name, const char *value)
{
	bool bare = *value != '\0', quoted = true;

	for (const char *p = value; *p != '\0'; p++) {
		bare = bare && tokentext_bare_char(*p);
		quoted = quoted && tokentext_quoted_char(*p);
	}
	if (!bare && !quoted)
		return -EINVAL;
	tokentext_puts(o, name);
	tokentext_puts(o, bare ? "=" : "='");
	tokentext_puts(o, value);
	tokentext_puts(o, bare ? "\n" : "'\n");
	return 0;
}

/* Append s as a JSON string: quotes, backslashes and control characters escaped. */
static void tokentext_json_string(struct tokentext_out *o, const char *s)
{
	char esc[8];

	tokentext_put(o, "\"", 1);
	for (const char *p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			tokentext_put(o, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			tokentext_put(o, esc, 6);
		} else {
			tokentext_put(o, p, 1);
		}
	}
	tokentext_put(o, "\"", 1);
}

/* Append one "key":"string" member, with a comma before all but the first. */
static void tokentext_json_member(struct tokentext_out *o, const char *key, const char *value,
    bool first)
{
	if (!first)
		tokentext_put(o, ",", 1);
	tokentext_json_string(o, key);
	tokentext_put(o, ":", 1);
	tokentext_json_string(o, value);
}

/* The Token object of GetToken (CONTRACT §4) on one line. */
static void tokentext_json(struct tokentext_out *o, const struct token *t)
{
	char exp[TIME_RFC3339_MAX], num[48];

	tokentext_put(o, "{", 1);
	tokentext_json_member(o, "accessToken", t->access_token, true);
	if (t->md_access_token != NULL)
		tokentext_json_member(o, "mdAccessToken", t->md_access_token, false);
	tokentext_json_member(o, "expirationTime", time_format_rfc3339(t->expiration, exp), false);
	if (t->has_user_id) {
		snprintf(num, sizeof(num), ",\"userId\":%" PRId64, t->user_id);
		tokentext_puts(o, num);
	}
	if (t->name != NULL)
		tokentext_json_member(o, "name", t->name, false);
	snprintf(num, sizeof(num), ",\"generation\":%" PRIu64, t->generation);
	tokentext_puts(o, num);
	tokentext_put(o, "}\n", 2);
}

/* Write (or measure) the whole text of t in format f. */
static int tokentext_write(struct tokentext_out *o, const struct token *t, enum config_sink_format f)
{
	char exp[TIME_RFC3339_MAX];
	int r = 0;

	switch (f) {
	case CONFIG_SINK_TOKEN:
		for (const char *p = t->access_token; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return -EINVAL;
		tokentext_puts(o, t->access_token);
		tokentext_put(o, "\n", 1);
		return 0;
	case CONFIG_SINK_JSON:
		tokentext_json(o, t);
		return 0;
	case CONFIG_SINK_ENV:
		r = tokentext_env_line(o, "TRADOVATE_ACCESS_TOKEN", t->access_token);
		if (r == 0 && t->md_access_token != NULL)
			r = tokentext_env_line(o, "TRADOVATE_MD_ACCESS_TOKEN", t->md_access_token);
		if (r == 0)
			r = tokentext_env_line(o, "TRADOVATE_TOKEN_EXPIRATION",
			    time_format_rfc3339(t->expiration, exp));
		return r;
	}
	return -EINVAL;
}

/* Render t as format f into a new buffer of exactly its size (plus the NUL). */
int tokentext_render(const struct token *t, enum config_sink_format f, char **out, size_t *len)
{
	struct tokentext_out o = { 0 };
	int r;

	if (t == NULL || t->access_token == NULL)
		return -EINVAL;
	r = tokentext_write(&o, t, f);
	if (r < 0)
		return r;
	o.cap = o.n;
	o.n = 0;
	o.p = malloc(o.cap + 1);
	if (o.p == NULL)
		return -ENOMEM;
	r = tokentext_write(&o, t, f);
	if (r < 0 || o.n != o.cap) {
		tokentext_free(o.p, o.cap);
		return r < 0 ? r : -EIO;
	}
	o.p[o.n] = '\0';
	*out = o.p;
	*len = o.n;
	return 0;
}

/* Wipe and free a rendered text. */
void tokentext_free(char *text, size_t len)
{
	if (text == NULL)
		return;
	explicit_bzero(text, len);
	free(text);
}
