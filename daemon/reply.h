/*
 * Classification of Tradovate's answers (TRADOVATE.md "How failures arrive").
 * Pure: no I/O, no curl. upstream.c collects the transport facts, this decides
 * what they mean, lifecycle.c decides what to do about it.
 */
#ifndef TVTOKEND_REPLY_H
#define TVTOKEND_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "timeutil.h"
#include "token.h"

enum reply_kind {
	REPLY_KIND_REQUEST,      /* POST /auth/accesstokenrequest */
	REPLY_KIND_RENEWAL,      /* GET /auth/renewaccesstoken */
};

enum reply_outcome {
	REPLY_SUCCESS,           /* 200 with accessToken */
	REPLY_BAD_CREDENTIALS,   /* request: 200 errorText without token, or 401 */
	REPLY_REFUSED,           /* renewal: 401, or 200 errorText without token: fall back */
	REPLY_PENALTY,           /* 200 with p-ticket and p-time, no p-captcha */
	REPLY_CAPTCHA,           /* 200 with p-captcha true */
	REPLY_LOCKED,            /* 423 */
	REPLY_RATE_LIMITED,      /* 429 */
	REPLY_TRANSIENT,         /* 5xx, other status, malformed body, timeout/reset after sending */
	REPLY_CONNECT_FAILED,    /* never reached the server: DNS, refused, TLS handshake */
};

enum reply_transport {
	TRANSPORT_OK,            /* an HTTP reply arrived */
	TRANSPORT_CONNECT_FAILED,
	TRANSPORT_FAILED_AFTER_SEND,
};

/* What upstream.c saw. Header values are the raw text, or NULL when absent. */
struct reply_input {
	enum reply_transport transport;
	const char *transport_error;   /* curl's error buffer text; never holds a secret */
	long http_status;
	const char *body;
	size_t body_len;
	const char *retry_after;       /* Retry-After header */
	const char *date;              /* Date header */
};

struct reply {
	enum reply_kind kind;
	enum reply_outcome outcome;
	long http_status;              /* 0 when no HTTP reply */
	struct token token;            /* SUCCESS only; generation 0; expiration corrected */
	usec_t server_date;            /* 0 when no (valid) Date header */
	usec_t retry_after;            /* RATE_LIMITED: absolute wall time to wait until; 0 = not given */
	char *p_ticket;                /* PENALTY (and CAPTCHA when sent) */
	usec_t p_time;                 /* PENALTY: how long to wait */
	usec_t duration;               /* request duration, filled by upstream.c */
	char error[160];               /* human text, no token and no secret; "" on success */
};

/*
 * Classify one answer received at wall time now. Clock correction (CONTRACT §7):
 * when Date differs from now by 2 s or more, the token's expiration becomes
 * now + (expirationTime - (Date + 1 s)). Returns 0, or -ENOMEM.
 */
int reply_classify(enum reply_kind kind, const struct reply_input *in, usec_t now, struct reply *out);

/* Whether the request reached the server and got no token (counts against MaxFailedRequestsPerHour). */
bool reply_counts_as_failed_request(const struct reply *r);

/* Release what reply_classify allocated, wiping the token and ticket. */
void reply_clear(struct reply *r);

const char *reply_outcome_to_string(enum reply_outcome o);

#endif
