/*
 * Varlink message framing and call parsing (CONTRACT §4). Pure: works on
 * evbuffers and json-c objects; the socket is server.c's business.
 */
#ifndef TVTOKEND_VARLINK_H
#define TVTOKEND_VARLINK_H

#include <stdbool.h>
#include <stddef.h>

struct evbuffer;
struct json_object;

#define VARLINK_MESSAGE_MAX 65536   /* bytes before the NUL */

struct varlink_call {
	const char *method;              /* "io.tvtokend.Broker.GetToken"; points into obj */
	struct json_object *parameters;  /* an object, never NULL (empty when absent); borrowed from obj */
	bool more;
	bool oneway;
	struct json_object *obj;         /* owned: json_object_put via varlink_call_clear */
};

/*
 * Take the next complete message off in.
 * Returns 1 with *msg (malloc'd, NUL-terminated, *len without the NUL),
 * 0 when no complete message is buffered yet, -EMSGSIZE when more than
 * VARLINK_MESSAGE_MAX bytes precede the NUL (or are buffered without one).
 */
int varlink_extract(struct evbuffer *in, char **msg, size_t *len);

/*
 * Parse one message as a call. Returns 0, -EBADMSG when it is not JSON or not
 * an object (the connection must be closed), -EINVAL when it is an object but
 * not a valid call (no string "method", "parameters" not an object, bad
 * "more"/"oneway" types: answered with InvalidParameter).
 */
int varlink_parse_call(const char *msg, size_t len, struct varlink_call *call);
void varlink_call_clear(struct varlink_call *call);

/* Append {"parameters": params, "continues": true?} and a NUL to out. Takes no reference. 0 or -ENOMEM. */
int varlink_reply(struct evbuffer *out, struct json_object *params, bool continues);

/* Append {"error": name, "parameters": params or {}} and a NUL. 0 or -ENOMEM. */
int varlink_error(struct evbuffer *out, const char *name, struct json_object *params);

/* Split "io.tvtokend.Broker.GetToken" into interface length and method name. -EINVAL if no dot. */
int varlink_split_method(const char *qualified, size_t *iface_len, const char **member);

#endif
