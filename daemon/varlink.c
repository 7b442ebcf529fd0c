/* SPDX-License-Identifier: MIT */
/*
 * Varlink message framing, call parsing and reply writing (CONTRACT §4).
 *
 * A message is one JSON object followed by a NUL byte, and never more than
 * VARLINK_MESSAGE_MAX bytes before it.
 *
 * Parsing has two paths that must agree. The common call (ASCII, no string
 * escapes, parameters that are plain strings, small integers, booleans or
 * null) is read by a small scanner straight from the message, without a
 * single allocation. Anything else goes to json-c with one tokener reused
 * for every message (json-c's own per-parse cost is a tokener and a locale
 * switch). The scanner never refuses: what it does not know it hands to
 * json-c, which has the last word on what is JSON (tests/fuzz/fuzz-varlink.c
 * checks that both paths read every call alike).
 *
 * Every reply is valid UTF-8 JSON whatever a caller sent: strings echoed
 * back are escaped (a NUL becomes \u0000) and bytes that are not UTF-8
 * become U+FFFD. Raw bytes that are not UTF-8 in a message (an overlong
 * C0 AF, an encoded surrogate) make it "not JSON", as RFC 8259 §8.1 says.
 *
 * Replies are written by hand into a varlink_buf that wipes what it gives
 * back: replies carry tokens.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "varlink.h"

struct varlink_parser {
	struct json_tokener *tok;
};

/* A reused json-c tokener, strict, UTF-8 checking, at our nesting limit. */
int
varlink_parser_new(struct varlink_parser **out)
{
	struct varlink_parser *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return -ENOMEM;
	p->tok = json_tokener_new_ex(VARLINK_DEPTH_MAX);
	if (p->tok == NULL) {
		free(p);
		return -ENOMEM;
	}
	json_tokener_set_flags(p->tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	*out = p;
	return 0;
}

/* Free the parser. NULL-safe. */
void
varlink_parser_free(struct varlink_parser *p)
{
	if (p == NULL)
		return;
	json_tokener_free(p->tok);
	free(p);
}

/* Find the NUL ending the first message, looking no further than the size limit. */
int
varlink_frame(const char *buf, size_t len, size_t *msg_len)
{
	size_t limit = VARLINK_MESSAGE_MAX + 1;   /* the NUL may sit at index MAX */
	const char *nul = memchr(buf, '\0', len < limit ? len : limit);

	if (nul == NULL)
		return len > VARLINK_MESSAGE_MAX ? -EMSGSIZE : 0;
	*msg_len = (size_t)(nul - buf);
	return 1;
}

/* The length of the well-formed UTF-8 sequence at s (at most n bytes), 0 if there is none. */
static size_t
varlink_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t need, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		cp = c & 0x07;
	} else {
		return 0;   /* a continuation byte, C0/C1 (always overlong), or F5 and up */
	}
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

/* Whether s is well-formed UTF-8. */
bool
varlink_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < len) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		k = varlink_utf8_seq(u + i, len - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

/* Empty a call: everything but the parameter slots past n_params (zeroing those too costs a call its time). */
static void
varlink_call_reset(struct varlink_call *call)
{
	memset(call, 0, offsetof(struct varlink_call, params));
}

/* ---- the scanner for common calls ---- */

/* Where the scanner is in a message. */
struct varlink_scan {
	const char *p;
	const char *end;
};

/* Skip JSON white space. */
static void
varlink_scan_ws(struct varlink_scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* Take c if it is next (after white space). */
static bool
varlink_scan_char(struct varlink_scan *s, char c)
{
	varlink_scan_ws(s);
	if (s->p < s->end && *s->p == c) {
		s->p++;
		return true;
	}
	return false;
}

/* A string of printable ASCII without escapes; false for anything else. */
static bool
varlink_scan_string(struct varlink_scan *s, struct varlink_str *out)
{
	const char *start;

	varlink_scan_ws(s);
	if (s->p >= s->end || *s->p != '"')
		return false;
	start = ++s->p;
	while (s->p < s->end && *s->p != '"') {
		unsigned char c = (unsigned char)*s->p;

		if (c < 0x20 || c > 0x7e || c == '\\')
			return false;
		s->p++;
	}
	if (s->p >= s->end)
		return false;
	out->p = start;
	out->len = (size_t)(s->p - start);
	s->p++;
	return true;
}

/* Whether the literal word comes next, ending there. */
static bool
varlink_scan_word(struct varlink_scan *s, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return false;
	if (s->p + n < s->end) {
		char c = s->p[n];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			return false;
	}
	s->p += n;
	return true;
}

/* A scalar: simple string, integer of up to 18 digits, true, false or null; false for anything else. */
static bool
varlink_scan_scalar(struct varlink_scan *s, struct varlink_param *v)
{
	const char *start;
	bool neg = false;
	int64_t i = 0;
	int digits = 0;
	char c;

	varlink_scan_ws(s);
	if (s->p >= s->end)
		return false;
	c = *s->p;
	if (c == '"') {
		v->type = VARLINK_STRING;
		return varlink_scan_string(s, &v->s);
	}
	if (c == 't' || c == 'f') {
		v->type = VARLINK_BOOL;
		v->b = c == 't';
		return varlink_scan_word(s, c == 't' ? "true" : "false");
	}
	if (c == 'n') {
		v->type = VARLINK_NULL;
		return varlink_scan_word(s, "null");
	}
	start = s->p;
	if (c == '-') {
		neg = true;
		s->p++;
	}
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
		if (++digits > 18)
			return false;
		i = i * 10 + (*s->p - '0');
		s->p++;
	}
	if (digits == 0 || (digits > 1 && start[neg ? 1 : 0] == '0'))
		return false;
	/* A fraction or an exponent: json-c's business. */
	if (s->p < s->end && (*s->p == '.' || *s->p == 'e' || *s->p == 'E'))
		return false;
	v->type = VARLINK_INT;
	v->i = neg ? -i : i;
	return true;
}

/* Record a parameter; a repeated name replaces the value in place, as json-c does. */
static bool
varlink_add_param(struct varlink_call *call, const struct varlink_param *v)
{
	size_t k;

	for (k = 0; k < call->n_params; k++) {
		if (call->params[k].name.len == v->name.len &&
		    memcmp(call->params[k].name.p, v->name.p, v->name.len) == 0) {
			call->params[k] = *v;
			return true;
		}
	}
	if (call->n_params == VARLINK_PARAMS_MAX)
		return false;
	call->params[call->n_params++] = *v;
	return true;
}

/* The "parameters" object of a common call; false for anything else. */
static bool
varlink_scan_params(struct varlink_scan *s, struct varlink_call *call)
{
	struct varlink_param v;

	call->n_params = 0;
	varlink_scan_ws(s);
	if (varlink_scan_word(s, "null"))
		return true;
	if (!varlink_scan_char(s, '{'))
		return false;
	if (varlink_scan_char(s, '}'))
		return true;
	do {
		memset(&v, 0, sizeof(v));
		if (!varlink_scan_string(s, &v.name) || !varlink_scan_char(s, ':') ||
		    !varlink_scan_scalar(s, &v) || !varlink_add_param(call, &v))
			return false;
	} while (varlink_scan_char(s, ','));
	return varlink_scan_char(s, '}');
}

/* Read a common call without json-c. Returns true with *call filled; false: ask json-c. */
static bool
varlink_scan_call(const char *msg, size_t len, struct varlink_call *call)
{
	struct varlink_scan s = { msg, msg + len };
	struct varlink_str key;
	struct varlink_param v;
	bool have_method = false;

	if (!varlink_scan_char(&s, '{') || varlink_scan_char(&s, '}'))
		return false;
	do {
		if (!varlink_scan_string(&s, &key) || !varlink_scan_char(&s, ':'))
			return false;
		if (varlink_str_is(key, "parameters")) {
			if (!varlink_scan_params(&s, call))
				return false;
			continue;
		}
		memset(&v, 0, sizeof(v));
		if (!varlink_scan_scalar(&s, &v))
			return false;
		if (varlink_str_is(key, "method")) {
			if (v.type != VARLINK_STRING)
				return false;
			call->method = v.s;
			have_method = true;
		} else if (varlink_str_is(key, "more") || varlink_str_is(key, "oneway")) {
			if (v.type != VARLINK_BOOL && v.type != VARLINK_NULL)
				return false;
			*(key.p[0] == 'm' ? &call->more : &call->oneway) = v.type == VARLINK_BOOL && v.b;
		}
		/* Other members of the call are ignored (newer clients may add them). */
	} while (varlink_scan_char(&s, ','));
	if (!varlink_scan_char(&s, '}'))
		return false;
	varlink_scan_ws(&s);
	return s.p == s.end && have_method;
}

/* ---- json-c for everything else ---- */

/* Whether a JSON string token (quotes included) holds an escaped NUL. */
static bool
varlink_key_has_nul(struct varlink_str tok)
{
	size_t i;

	for (i = 1; i + 1 < tok.len; i++) {
		if (tok.p[i] != '\\')
			continue;
		if (tok.p[i + 1] == 'u' && i + 5 < tok.len && memcmp(tok.p + i + 2, "0000", 4) == 0)
			return true;
		i++;   /* whatever was escaped */
	}
	return false;
}

enum varlink_walk {
	VARLINK_WALK_DEPTH,     /* the member whose value nests too deep */
	VARLINK_WALK_NUL_KEY,   /* a member name with an escaped NUL */
};

/*
 * Walk a message json-c has read (or refused for its depth) and find the
 * member to name in InvalidParameter: a member of the call object, or a
 * parameter inside "parameters". Decodes its name with json-c into call.
 * Returns 1 when found, 0 when not, -ENOMEM.
 */
static int
varlink_walk_members(struct varlink_parser *p, const char *msg, size_t len,
		     enum varlink_walk what, struct varlink_call *call)
{
	struct varlink_str key = { NULL, 0 }, top = { NULL, 0 }, param = { NULL, 0 }, found;
	const char *s = msg, *end = msg + len, *q;
	struct json_object *name;
	unsigned depth = 0;

	for (; s < end; s++) {
		switch (*s) {
		case '"':
		case '\'':   /* json-c takes single-quoted strings too */
			q = s + 1;
			while (q < end && *q != *s)
				q += *q == '\\' ? 2 : 1;
			if (q >= end)
				return 0;
			key.p = s;
			key.len = (size_t)(q - s) + 1;
			s = q;
			break;
		case ':':
			if (depth == 1)
				top = key;
			else if (depth == 2 && top.len == 12 && memcmp(top.p + 1, "parameters", 10) == 0)
				param = key;
			else
				break;
			if (what == VARLINK_WALK_NUL_KEY && varlink_key_has_nul(key)) {
				found = key;
				goto decode;
			}
			break;
		case '{':
		case '[':
			if (++depth > VARLINK_DEPTH_MAX && what == VARLINK_WALK_DEPTH) {
				found = param.p != NULL ? param : top;
				if (found.p == NULL)
					return 0;
				goto decode;
			}
			if (depth == 2)
				param.p = NULL;
			break;
		case '}':
		case ']':
			if (depth > 0)
				depth--;
			break;
		default:
			break;
		}
	}
	return 0;

decode:
	/* The name is a complete JSON string: json-c decodes its escapes, NULs kept. */
	json_tokener_reset(p->tok);
	name = json_tokener_parse_ex(p->tok, found.p, (int)found.len);
	if (name == NULL)
		return json_tokener_get_error(p->tok) == json_tokener_success ? -ENOMEM : 0;
	if (!json_object_is_type(name, json_type_string)) {
		json_object_put(name);
		return 0;
	}
	json_object_put(call->obj);
	call->obj = name;
	call->bad.p = json_object_get_string(name);
	call->bad.len = (size_t)json_object_get_string_len(name);
	return 1;
}

/* The varlink type of a json-c value. */
static enum varlink_type
varlink_type_of(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_boolean:
		return VARLINK_BOOL;
	case json_type_int:
		return VARLINK_INT;
	case json_type_double:
		return VARLINK_DOUBLE;
	case json_type_string:
		return VARLINK_STRING;
	case json_type_array:
		return VARLINK_ARRAY;
	case json_type_object:
		return VARLINK_OBJECT;
	case json_type_null:
	default:
		return VARLINK_NULL;
	}
}

/* Read an optional boolean member of the call; null counts as absent. */
static int
varlink_get_flag(struct json_object *obj, const char *key, bool *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
		*out = false;
		return 0;
	}
	if (!json_object_is_type(v, json_type_boolean))
		return -EINVAL;
	*out = json_object_get_boolean(v);
	return 0;
}

/* Name the malformed member of a call object. */
static int
varlink_invalid(struct varlink_call *call, const char *member)
{
	call->bad.p = member;
	call->bad.len = strlen(member);
	return -EINVAL;
}

/* Parse with json-c and fill call from the tree. */
static int
varlink_parse_jsonc(struct varlink_parser *p, const char *msg, size_t len, struct varlink_call *call)
{
	struct json_object *obj, *method, *params;
	enum json_tokener_error err;
	struct varlink_param v;
	size_t end;
	int r;

	json_tokener_reset(p->tok);
	obj = json_tokener_parse_ex(p->tok, msg, (int)len);
	err = json_tokener_get_error(p->tok);
	if (obj == NULL || err != json_tokener_success) {
		json_object_put(obj);
		if (err != json_tokener_error_depth || msg[strspn(msg, " \t\r\n")] != '{')
			return -EBADMSG;
		/* Valid so far and an object, only too deep: say so before closing. */
		r = varlink_walk_members(p, msg, len, VARLINK_WALK_DEPTH, call);
		return r < 0 ? r : r > 0 ? -ELOOP : -EBADMSG;
	}
	/* Only white space may follow the object. */
	for (end = json_tokener_get_parse_end(p->tok); end < len; end++) {
		if (msg[end] != ' ' && msg[end] != '\t' && msg[end] != '\r' && msg[end] != '\n') {
			json_object_put(obj);
			return -EBADMSG;
		}
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return -EBADMSG;
	}
	call->obj = obj;

	/* json-c cuts member names at an escaped NUL ("method\u0000x" would read as "method"). */
	if (memmem(msg, len, "\\u0000", 6) != NULL) {
		r = varlink_walk_members(p, msg, len, VARLINK_WALK_NUL_KEY, call);
		if (r != 0)
			return r < 0 ? r : -EINVAL;
	}
	if (!json_object_object_get_ex(obj, "method", &method) ||
	    !json_object_is_type(method, json_type_string))
		return varlink_invalid(call, "method");
	if (json_object_object_get_ex(obj, "parameters", &params) && params != NULL &&
	    !json_object_is_type(params, json_type_object))
		return varlink_invalid(call, "parameters");
	if (varlink_get_flag(obj, "more", &call->more) < 0)
		return varlink_invalid(call, "more");
	if (varlink_get_flag(obj, "oneway", &call->oneway) < 0)
		return varlink_invalid(call, "oneway");

	call->method.p = json_object_get_string(method);
	call->method.len = (size_t)json_object_get_string_len(method);
	call->n_params = 0;
	if (params == NULL)
		return 0;
	json_object_object_foreach(params, key, val) {
		memset(&v, 0, sizeof(v));
		v.name.p = key;
		v.name.len = strlen(key);
		v.type = varlink_type_of(val);
		if (v.type == VARLINK_BOOL)
			v.b = json_object_get_boolean(val);
		else if (v.type == VARLINK_INT)
			v.i = json_object_get_int64(val);
		else if (v.type == VARLINK_STRING) {
			v.s.p = json_object_get_string(val);
			v.s.len = (size_t)json_object_get_string_len(val);
		}
		/* Names are unique in a json-c object; past the limit the first ones tell. */
		if (!varlink_add_param(call, &v))
			break;
	}
	return 0;
}

/* Parse one message as a call: the scanner for common calls, json-c for the rest. */
int
varlink_parse_call(struct varlink_parser *p, const char *msg, size_t len, struct varlink_call *call)
{
	varlink_call_reset(call);
	if (len > VARLINK_MESSAGE_MAX)
		return -EMSGSIZE;
	if (varlink_scan_call(msg, len, call))
		return 0;
	varlink_call_reset(call);
	if (!varlink_utf8_valid(msg, len))
		return -EBADMSG;
	return varlink_parse_jsonc(p, msg, len, call);
}

/* Parse with json-c alone. */
int
varlink_parse_call_jsonc(struct varlink_parser *p, const char *msg, size_t len,
			 struct varlink_call *call)
{
	varlink_call_reset(call);
	if (len > VARLINK_MESSAGE_MAX)
		return -EMSGSIZE;
	if (!varlink_utf8_valid(msg, len))
		return -EBADMSG;
	return varlink_parse_jsonc(p, msg, len, call);
}

/* Release what a parse left and forget what pointed into it. */
void
varlink_call_clear(struct varlink_call *call)
{
	if (call == NULL)
		return;
	json_object_put(call->obj);
	varlink_call_reset(call);
}

/* The parameter of this name, or NULL. */
const struct varlink_param *
varlink_call_param(const struct varlink_call *call, const char *name)
{
	size_t k;

	for (k = 0; k < call->n_params; k++)
		if (varlink_str_is(call->params[k].name, name))
			return &call->params[k];
	return NULL;
}

/* Split "io.tvtokend.Broker.GetToken" at its last dot. */
int
varlink_split_method(struct varlink_str qualified, size_t *iface_len, struct varlink_str *member)
{
	const char *dot;

	if (qualified.p == NULL || qualified.len == 0)
		return -EINVAL;
	dot = memrchr(qualified.p, '.', qualified.len);
	if (dot == NULL || dot == qualified.p || (size_t)(dot - qualified.p) + 1 == qualified.len)
		return -EINVAL;
	*iface_len = (size_t)(dot - qualified.p);
	member->p = dot + 1;
	member->len = qualified.len - *iface_len - 1;
	return 0;
}

/* ---- buffers ---- */

/* Make room for n more bytes: compact first, then grow, wiping what is given back. */
int
varlink_buf_reserve(struct varlink_buf *b, size_t n)
{
	size_t want, cap;
	char *d;

	if (b->oom)
		return -ENOMEM;
	if (b->cap - b->off - b->len >= n)
		return 0;
	if (b->len + n <= b->cap && b->off >= b->cap / 2) {
		memmove(b->data, b->data + b->off, b->len);
		explicit_bzero(b->data + b->len, b->off);
		b->off = 0;
		return 0;
	}
	if (n > SIZE_MAX / 2 - b->len) {
		b->oom = true;
		return -ENOMEM;
	}
	/* Half as much again (amortised appends), at least what is asked, in 64-byte steps. */
	want = b->len + n;
	cap = b->cap + b->cap / 2;
	if (cap < want)
		cap = want;
	cap = (cap + 63) & ~(size_t)63;
	d = malloc(cap);
	if (d == NULL) {
		b->oom = true;
		return -ENOMEM;
	}
	if (b->data != NULL) {
		memcpy(d, b->data + b->off, b->len);
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	b->data = d;
	b->off = 0;
	b->cap = cap;
	return 0;
}

/* Append n bytes. */
void
varlink_buf_put(struct varlink_buf *b, const void *s, size_t n)
{
	if (b->cap - b->off - b->len < n && varlink_buf_reserve(b, n) < 0)
		return;
	if (n > 0)
		memcpy(b->data + b->off + b->len, s, n);
	b->len += n;
}

/* Drop n bytes from the front, wiping them. */
void
varlink_buf_consume(struct varlink_buf *b, size_t n)
{
	if (n > b->len)
		n = b->len;
	explicit_bzero(b->data + b->off, n);
	b->off += n;
	b->len -= n;
	if (b->len == 0)
		b->off = 0;
}

/* Forget the content, keep the memory. */
void
varlink_buf_reset(struct varlink_buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data + b->off, b->len);
	b->off = 0;
	b->len = 0;
	b->oom = false;
	b->comma = false;
}

/* Wipe and free. */
void
varlink_buf_free(struct varlink_buf *b)
{
	if (b->data != NULL) {
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	memset(b, 0, sizeof(*b));
}

/* ---- the writer ---- */

/* Append a NUL-terminated literal. */
static void
varlink_put_lit(struct varlink_buf *b, const char *s)
{
	varlink_buf_put(b, s, strlen(s));
}

/* Append s as a JSON string: quotes, backslashes and control bytes escaped, non-UTF-8 as U+FFFD. */
void
varlink_string(struct varlink_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	char esc[6] = { '\\', 'u', '0', '0', 0, 0 };
	size_t i = 0, run = 0, k;

	varlink_buf_put(b, "\"", 1);
	while (i < len) {
		unsigned char c = u[i];

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80 && (k = varlink_utf8_seq(u + i, len - i)) > 0) {
			i += k;
			continue;
		}
		varlink_buf_put(b, s + run, i - run);
		switch (c) {
		case '"':  varlink_buf_put(b, "\\\"", 2); break;
		case '\\': varlink_buf_put(b, "\\\\", 2); break;
		case '\n': varlink_buf_put(b, "\\n", 2); break;
		case '\r': varlink_buf_put(b, "\\r", 2); break;
		case '\t': varlink_buf_put(b, "\\t", 2); break;
		default:
			if (c >= 0x80) {
				varlink_buf_put(b, "\\ufffd", 6);
			} else {
				esc[4] = hex[c >> 4];
				esc[5] = hex[c & 0xf];
				varlink_buf_put(b, esc, sizeof(esc));
			}
			break;
		}
		run = ++i;
	}
	varlink_buf_put(b, s + run, len - run);
	varlink_buf_put(b, "\"", 1);
	b->comma = true;
}

/* A NUL-terminated string value. */
void
varlink_cstring(struct varlink_buf *b, const char *s)
{
	varlink_string(b, s, strlen(s));
}

/* Start a message: {"error":NAME,"parameters":{ or {"parameters":{. */
void
varlink_begin(struct varlink_buf *b, const char *error)
{
	varlink_put_lit(b, "{");
	if (error != NULL) {
		varlink_put_lit(b, "\"error\":");
		varlink_cstring(b, error);
		varlink_put_lit(b, ",");
	}
	varlink_put_lit(b, "\"parameters\":{");
	b->comma = false;
}

/* Start a member: a comma after the previous one, the quoted key, a colon. */
void
varlink_key(struct varlink_buf *b, const char *key)
{
	size_t n = strlen(key);
	char *d;

	if (varlink_buf_reserve(b, n + 4) < 0)
		return;
	d = b->data + b->off + b->len;
	if (b->comma)
		*d++ = ',';
	*d++ = '"';
	memcpy(d, key, n);
	d += n;
	*d++ = '"';
	*d++ = ':';
	b->len = (size_t)(d - (b->data + b->off));
	b->comma = false;
}

/* Open a nested object as the value of the current member. */
void
varlink_open(struct varlink_buf *b)
{
	varlink_put_lit(b, "{");
	b->comma = false;
}

/* Close a nested object. */
void
varlink_close(struct varlink_buf *b)
{
	varlink_put_lit(b, "}");
	b->comma = true;
}

/* An integer value, in decimal. */
void
varlink_int(struct varlink_buf *b, int64_t v)
{
	char num[24], *p = num + sizeof(num);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		*--p = '-';
	varlink_buf_put(b, p, (size_t)(num + sizeof(num) - p));
	b->comma = true;
}

/* A boolean value. */
void
varlink_bool(struct varlink_buf *b, bool v)
{
	varlink_put_lit(b, v ? "true" : "false");
	b->comma = true;
}

/* A null value. */
void
varlink_null(struct varlink_buf *b)
{
	varlink_put_lit(b, "null");
	b->comma = true;
}

/* Close parameters and the message, with "continues" when asked, and add the NUL. */
int
varlink_end(struct varlink_buf *b, bool continues)
{
	if (continues)
		varlink_buf_put(b, VARLINK_TAIL_CONTINUES, sizeof(VARLINK_TAIL_CONTINUES));
	else
		varlink_buf_put(b, VARLINK_TAIL, sizeof(VARLINK_TAIL));
	return b->oom ? -ENOMEM : 0;
}
