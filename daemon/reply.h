/* SPDX-License-Identifier: MIT */
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
	REPLY_TRANSIENT,         /* 5xx, other status, malformed body, anything after sending */
	REPLY_CONNECT_FAILED,    /* never sent: DNS, refused, TLS handshake, no socket, not started */
};

enum reply_transport {
	TRANSPORT_OK,            /* an HTTP reply arrived */
	TRANSPORT_CONNECT_FAILED,       /* no byte of the request left this host */
	TRANSPORT_FAILED_AFTER_SEND,    /* the request (or part of it) was sent, no usable reply */
};

/* Secrets the server's texts are checked for, besides those in the reply itself. */
#define REPLY_SECRETS_MAX 6

/* What upstream.c saw. Header values are the raw text, or NULL when absent. */
struct reply_input {
	enum reply_transport transport;
	const char *transport_error;   /* curl's error buffer text; may quote the server */
	long http_status;
	const char *body;
	size_t body_len;
	const char *retry_after;       /* Retry-After header */
	const char *date;              /* Date header */
	/*
	 * Password, API secret, the tokens held or sent, the p-ticket sent
	 * (NULL entries are skipped): server text that quotes one of them is
	 * withheld from r->error. So are the tokens and ticket of the reply.
	 */
	const char *secrets[REPLY_SECRETS_MAX];
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
	bool date_ignored;             /* SUCCESS: Date too far off to correct the expiry with */
	bool date_capped;              /* SUCCESS: the correction was cut to REPLY_LIFETIME_MARGIN */
	int64_t date_skew;             /* then (either): Date minus the local clock, microseconds */
	char error[160];               /* human text, no token and no secret; "" on success */
};

/*
 * Clock correction bounds. A Date more than REPLY_DATE_MAX_SKEW off the
 * local clock is not used to correct a token's expiry (the local clock is
 * trusted, and r->date_ignored says so); and no correction ever makes a
 * token live longer than expirationTime - now + REPLY_LIFETIME_MARGIN
 * (r->date_capped says when it would have). The margin is well below the
 * skew bound: a Date that lies while expirationTime is right must not keep
 * a dead token served for most of an hour. A correction that shortens the
 * life (a server clock ahead) is never bounded.
 */
#define REPLY_DATE_MAX_SKEW USEC_PER_HOUR
#define REPLY_LIFETIME_MARGIN (15 * USEC_PER_MIN)

/*
 * Classify one answer received at wall time now. Clock correction (CONTRACT §7):
 * when Date differs from now by 2 s or more (and at most REPLY_DATE_MAX_SKEW),
 * the token's expiration becomes now + (expirationTime - (Date + 1 s)).
 * A token that is not a valid b64token (token_text_valid) makes the reply
 * malformed (transient). Returns 0, or -ENOMEM.
 */
int reply_classify(enum reply_kind kind, const struct reply_input *in, usec_t now, struct reply *out);

/*
 * Whether text (len bytes) may quote secret: it holds the secret's first
 * four bytes (all of a shorter secret), or ends with its first three,
 * where a quote cut off by the server would end. NULL or "" never matches.
 */
bool reply_text_quotes(const char *text, size_t len, const char *secret);

/* Whether the request reached the server and got no token (counts against MaxFailedRequestsPerHour). */
bool reply_counts_as_failed_request(const struct reply *r);

/* Release what reply_classify allocated, wiping the token and ticket. */
void reply_clear(struct reply *r);

const char *reply_outcome_to_string(enum reply_outcome o);

#endif
