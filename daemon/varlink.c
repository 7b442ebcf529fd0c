/*
 * Varlink message framing and call parsing (CONTRACT §4).
 *
 * A message is one JSON object followed by a NUL byte. Messages are taken
 * off an evbuffer only once their NUL is there, and never when more than
 * VARLINK_MESSAGE_MAX bytes precede it. Replies are serialised here, by
 * hand, into one buffer of exactly the right size: replies carry tokens, and
 * that buffer is wiped before it is freed (json-c's own printbuf grows by
 * realloc and would leave copies behind).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "varlink.h"

/* Find the NUL ending the first message, looking no further than the size limit. */
static int
varlink_find_nul(struct evbuffer *in, size_t *pos)
{
	struct evbuffer_ptr end, found;
	size_t buffered = evbuffer_get_length(in);
	size_t limit = VARLINK_MESSAGE_MAX + 1;   /* the NUL may sit at index MAX */

	if (buffered > limit) {
		if (evbuffer_ptr_set(in, &end, limit, EVBUFFER_PTR_SET) < 0)
			return -EIO;
		found = evbuffer_search_range(in, "\0", 1, NULL, &end);
	} else
		found = evbuffer_search(in, "\0", 1, NULL);

	if (found.pos < 0)
		return buffered > VARLINK_MESSAGE_MAX ? -EMSGSIZE : 0;
	*pos = (size_t)found.pos;
	return 1;
}

/* Take the next complete message off in. */
int
varlink_extract(struct evbuffer *in, char **msg, size_t *len)
{
	size_t pos = 0;
	char *buf;
	int r;

	r = varlink_find_nul(in, &pos);
	if (r <= 0)
		return r;
	if (pos > VARLINK_MESSAGE_MAX)
		return -EMSGSIZE;

	buf = malloc(pos + 1);
	if (buf == NULL)
		return -ENOMEM;
	if (evbuffer_remove(in, buf, pos + 1) != (int)(pos + 1)) {
		free(buf);
		return -EIO;
	}
	buf[pos] = '\0';
	*msg = buf;
	*len = pos;
	return 1;
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

/* Parse one message as a call. */
int
varlink_parse_call(const char *msg, size_t len, struct varlink_call *call)
{
	struct json_tokener *tok;
	struct json_object *obj, *method, *params;
	bool more, oneway, has_params;
	size_t end;

	if (len > VARLINK_MESSAGE_MAX || len > INT32_MAX)
		return -EMSGSIZE;

	tok = json_tokener_new();
	if (tok == NULL)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, msg, (int)len);
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(obj);
		json_tokener_free(tok);
		return -EBADMSG;
	}
	/* Only white space may follow the object. */
	for (end = json_tokener_get_parse_end(tok); end < len; end++) {
		if (strchr(" \t\r\n", msg[end]) == NULL || msg[end] == '\0') {
			json_object_put(obj);
			json_tokener_free(tok);
			return -EBADMSG;
		}
	}
	json_tokener_free(tok);

	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return -EBADMSG;
	}

	if (!json_object_object_get_ex(obj, "method", &method) ||
	    !json_object_is_type(method, json_type_string) ||
	    varlink_get_flag(obj, "more", &more) < 0 ||
	    varlink_get_flag(obj, "oneway", &oneway) < 0)
		goto invalid;

	has_params = json_object_object_get_ex(obj, "parameters", &params) && params != NULL;
	if (has_params && !json_object_is_type(params, json_type_object))
		goto invalid;
	if (!has_params) {
		/* Absent (or null) parameters read as an empty object owned by obj. */
		params = json_object_new_object();
		if (params == NULL) {
			json_object_put(obj);
			return -ENOMEM;
		}
		if (json_object_object_add(obj, "parameters", params) < 0) {
			json_object_put(params);
			json_object_put(obj);
			return -ENOMEM;
		}
	}

	call->method = json_object_get_string(method);
	call->parameters = params;
	call->more = more;
	call->oneway = oneway;
	call->obj = obj;
	return 0;

invalid:
	json_object_put(obj);
	return -EINVAL;
}

/* Release the parsed call and forget what pointed into it. */
void
varlink_call_clear(struct varlink_call *call)
{
	if (call == NULL)
		return;
	json_object_put(call->obj);
	memset(call, 0, sizeof(*call));
}

/*
 * A bounded output cursor: with buf NULL it only counts, so the same code
 * measures a reply and then writes it into a buffer of exactly that size.
 */
struct varlink_out {
	char *buf;
	size_t len;
	size_t cap;
};

/* Append n bytes (or count them). */
static void
varlink_out_put(struct varlink_out *o, const char *s, size_t n)
{
	if (o->buf != NULL && o->len + n <= o->cap)
		memcpy(o->buf + o->len, s, n);
	o->len += n;
}

/* Append a NUL-terminated string (or count it). */
static void
varlink_out_str(struct varlink_out *o, const char *s)
{
	varlink_out_put(o, s, strlen(s));
}

/* Append s as a JSON string literal, escaping quotes, backslashes and control bytes. */
static void
varlink_out_quoted(struct varlink_out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char esc[6];
	size_t i, run = 0;

	varlink_out_put(o, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		varlink_out_put(o, s + run, i - run);
		run = i + 1;
		switch (ch) {
		case '"':  varlink_out_put(o, "\\\"", 2); break;
		case '\\': varlink_out_put(o, "\\\\", 2); break;
		case '\n': varlink_out_put(o, "\\n", 2); break;
		case '\r': varlink_out_put(o, "\\r", 2); break;
		case '\t': varlink_out_put(o, "\\t", 2); break;
		default:
			esc[0] = '\\';
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 0xf];
			varlink_out_put(o, esc, sizeof(esc));
			break;
		}
	}
	varlink_out_put(o, s + run, n - run);
	varlink_out_put(o, "\"", 1);
}

/* Append one json-c value. Nesting is bounded by the objects we build ourselves. */
static void
varlink_out_json(struct varlink_out *o, struct json_object *v)
{
	char num[32];
	size_t i, n;
	bool first = true;

	switch (json_object_get_type(v)) {
	case json_type_null:
		varlink_out_str(o, "null");
		break;
	case json_type_boolean:
		varlink_out_str(o, json_object_get_boolean(v) ? "true" : "false");
		break;
	case json_type_int:
		if (json_object_get_int64(v) == INT64_MAX)
			snprintf(num, sizeof(num), "%" PRIu64, json_object_get_uint64(v));
		else
			snprintf(num, sizeof(num), "%" PRId64, json_object_get_int64(v));
		varlink_out_str(o, num);
		break;
	case json_type_double:
		varlink_out_str(o, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		break;
	case json_type_string:
		varlink_out_quoted(o, json_object_get_string(v), (size_t)json_object_get_string_len(v));
		break;
	case json_type_array:
		varlink_out_put(o, "[", 1);
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			if (i > 0)
				varlink_out_put(o, ",", 1);
			varlink_out_json(o, json_object_array_get_idx(v, i));
		}
		varlink_out_put(o, "]", 1);
		break;
	case json_type_object:
		varlink_out_put(o, "{", 1);
		json_object_object_foreach(v, key, val) {
			if (!first)
				varlink_out_put(o, ",", 1);
			first = false;
			varlink_out_quoted(o, key, strlen(key));
			varlink_out_put(o, ":", 1);
			varlink_out_json(o, val);
		}
		varlink_out_put(o, "}", 1);
		break;
	}
}

/* Wipe a serialised message once the evbuffer is done with it: it may hold a token. */
static void
varlink_wipe_cleanup(const void *data, size_t len, void *arg)
{
	explicit_bzero((void *)data, len);
	free((void *)data);
}

/* Serialise {"error"?: name, "parameters": params, "continues"?: true} plus a NUL onto out. */
static int
varlink_send(struct evbuffer *out, const char *error, struct json_object *params, bool continues)
{
	struct varlink_out o = { 0 };
	int pass;

	for (pass = 0; pass < 2; pass++) {
		o.len = 0;
		varlink_out_put(&o, "{", 1);
		if (error != NULL) {
			varlink_out_str(&o, "\"error\":");
			varlink_out_quoted(&o, error, strlen(error));
			varlink_out_put(&o, ",", 1);
		}
		varlink_out_str(&o, "\"parameters\":");
		if (params != NULL)
			varlink_out_json(&o, params);
		else
			varlink_out_str(&o, "{}");
		if (continues)
			varlink_out_str(&o, ",\"continues\":true");
		varlink_out_put(&o, "}", 1);
		varlink_out_put(&o, "", 1);   /* the terminating NUL */

		if (pass == 0) {
			o.cap = o.len;
			o.buf = malloc(o.cap);
			if (o.buf == NULL)
				return -ENOMEM;
		}
	}
	if (o.len != o.cap) {
		/* Cannot happen: both passes walk the same objects. */
		varlink_wipe_cleanup(o.buf, o.cap, NULL);
		return -EIO;
	}
	if (evbuffer_add_reference(out, o.buf, o.len, varlink_wipe_cleanup, NULL) < 0) {
		varlink_wipe_cleanup(o.buf, o.cap, NULL);
		return -ENOMEM;
	}
	return 0;
}

/* Append a reply, with "continues" when more replies of the same call follow. */
int
varlink_reply(struct evbuffer *out, struct json_object *params, bool continues)
{
	return varlink_send(out, NULL, params, continues);
}

/* Append an error reply. */
int
varlink_error(struct evbuffer *out, const char *name, struct json_object *params)
{
	if (name == NULL)
		return -EINVAL;
	return varlink_send(out, name, params, false);
}

/* Split "io.tvtokend.Broker.GetToken" at its last dot. */
int
varlink_split_method(const char *qualified, size_t *iface_len, const char **member)
{
	const char *dot;

	if (qualified == NULL)
		return -EINVAL;
	dot = strrchr(qualified, '.');
	if (dot == NULL || dot == qualified || dot[1] == '\0')
		return -EINVAL;
	*iface_len = (size_t)(dot - qualified);
	*member = dot + 1;
	return 0;
}
