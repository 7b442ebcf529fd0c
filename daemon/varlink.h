/* SPDX-License-Identifier: MIT */
/*
 * Varlink message framing, call parsing and reply writing (CONTRACT §4).
 * Pure: works on byte buffers; the socket is server.c's business.
 */
#ifndef TVTOKEND_VARLINK_H
#define TVTOKEND_VARLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct json_object;

#define VARLINK_MESSAGE_MAX 65536   /* bytes before the NUL */
#define VARLINK_DEPTH_MAX 32        /* nesting of arrays and objects, the call object included */
/*
 * Members of "parameters" kept per call. Every method takes fewer, so a
 * call with more distinct members has an unknown one among the first
 * VARLINK_PARAMS_MAX, which is the one InvalidParameter names.
 */
#define VARLINK_PARAMS_MAX 8

/* Bytes that need not end in a NUL (they may hold one). */
struct varlink_str {
	const char *p;
	size_t len;
};

enum varlink_type {
	VARLINK_NULL,
	VARLINK_BOOL,
	VARLINK_INT,
	VARLINK_DOUBLE,
	VARLINK_STRING,
	VARLINK_ARRAY,
	VARLINK_OBJECT,
};

/* One member of "parameters": its name, its JSON type, and its value when scalar. */
struct varlink_param {
	struct varlink_str name;
	enum varlink_type type;
	bool b;
	int64_t i;
	struct varlink_str s;
};

struct varlink_call {
	struct varlink_str method;       /* "io.tvtokend.Broker.GetToken"; may hold a NUL */
	size_t n_params;
	bool more;
	bool oneway;
	struct varlink_str bad;          /* -EINVAL, -ELOOP: the member InvalidParameter names */
	struct json_object *obj;         /* what the strings point into, when json-c parsed them */
	struct varlink_param params[VARLINK_PARAMS_MAX];   /* the first n_params are set */
};

/* A reused parser: one json_tokener for every message. */
struct varlink_parser;

int varlink_parser_new(struct varlink_parser **out);
void varlink_parser_free(struct varlink_parser *p);

/*
 * Find the end of the first message in buf: 1 with *msg_len (the NUL sits
 * at buf[*msg_len]), 0 when its NUL has not arrived yet, -EMSGSIZE when more
 * than VARLINK_MESSAGE_MAX bytes precede it (or are there without one).
 */
int varlink_frame(const char *buf, size_t len, size_t *msg_len);

/*
 * Parse one message (msg[len] is its NUL) as a call; the strings in *call
 * point into msg or into call->obj. Returns
 *   0        a call;
 *   -EBADMSG not JSON (invalid UTF-8 included), or not an object: close without a reply;
 *   -EINVAL  an object but not a valid call: InvalidParameter naming call->bad;
 *   -ELOOP   an object nested deeper than VARLINK_DEPTH_MAX: InvalidParameter
 *            naming call->bad (the member too deep), then close;
 *   -ENOMEM.
 * Clear the call with varlink_call_clear() whatever the result.
 */
int varlink_parse_call(struct varlink_parser *p, const char *msg, size_t len,
		       struct varlink_call *call);
void varlink_call_clear(struct varlink_call *call);

/* The same with json-c alone, without the scanner (for the tests that hold both paths to one result). */
int varlink_parse_call_jsonc(struct varlink_parser *p, const char *msg, size_t len,
			     struct varlink_call *call);

/* The parameter of this name, or NULL. */
const struct varlink_param *varlink_call_param(const struct varlink_call *call, const char *name);

/* Whether s is well-formed UTF-8: shortest forms only, no surrogates, nothing above U+10FFFF. */
bool varlink_utf8_valid(const char *s, size_t len);

/* Split "io.tvtokend.Broker.GetToken" into interface length and member at its last dot. -EINVAL if none. */
int varlink_split_method(struct varlink_str qualified, size_t *iface_len, struct varlink_str *member);

/* Whether s holds exactly the bytes of the NUL-terminated lit (inline: strlen of a literal folds away). */
static inline bool
varlink_str_is(struct varlink_str s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && memcmp(s.p, lit, n) == 0;
}

/*
 * A growing byte buffer for messages. Replies may hold a token: the bytes
 * are wiped whenever memory is given back (growing, compacting, freeing).
 * data[off .. off+len) is the content. After a failed allocation oom is set
 * and further writes are ignored until varlink_buf_reset().
 */
struct varlink_buf {
	char *data;
	size_t off;
	size_t len;
	size_t cap;
	bool oom;
	bool comma;                      /* the writer: a member was written at this level */
};

/* Make room for n more bytes. 0 or -ENOMEM. */
int varlink_buf_reserve(struct varlink_buf *b, size_t n);
/* Append n bytes. */
void varlink_buf_put(struct varlink_buf *b, const void *s, size_t n);
/* Drop n bytes from the front, wiping them. */
void varlink_buf_consume(struct varlink_buf *b, size_t n);
/* Forget the content (wiped), keep the memory. */
void varlink_buf_reset(struct varlink_buf *b);
/* Wipe and free. */
void varlink_buf_free(struct varlink_buf *b);

/*
 * The reply writer: varlink_begin, then members (varlink_key followed by one
 * value, or varlink_open/varlink_close around nested members), then
 * varlink_end. error NULL: a reply; else an error reply of that name.
 */
void varlink_begin(struct varlink_buf *b, const char *error);
/* key: one of ours, plain ASCII that needs no escaping. */
void varlink_key(struct varlink_buf *b, const char *key);
void varlink_open(struct varlink_buf *b);
void varlink_close(struct varlink_buf *b);
void varlink_string(struct varlink_buf *b, const char *s, size_t len);
void varlink_cstring(struct varlink_buf *b, const char *s);
void varlink_int(struct varlink_buf *b, int64_t v);
void varlink_bool(struct varlink_buf *b, bool v);
void varlink_null(struct varlink_buf *b);
/* Close parameters and the message (with "continues": true if asked), add the NUL. 0 or -ENOMEM. */
int varlink_end(struct varlink_buf *b, bool continues);

/* The closing bytes varlink_end writes, for replies assembled from a cached part. */
#define VARLINK_TAIL "}}"
#define VARLINK_TAIL_CONTINUES "},\"continues\":true}"

#endif
