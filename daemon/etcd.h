/* SPDX-License-Identifier: MIT */
/*
 * An asynchronous etcd v3 client over the JSON gateway (/v3/...) on the
 * HTTP engine: several endpoints with fail-over, TLS, user authentication,
 * and the calls cluster mode needs. Nothing here blocks.
 *
 * Every call ends in exactly one callback with more == false, unless it is
 * cancelled first; streams (observe, watch) call back once per message with
 * more == true before that. Errors are negative errno values with a short
 * printable message that never contains a secret:
 *   -ECONNREFUSED  no endpoint could be reached (each was tried once)
 *   -ETIMEDOUT     the call or etcd timed out
 *   -EAGAIN        etcd cannot serve now (no raft leader, leader changed, too many requests)
 *   -ENOENT        lease not found / no leader in the election
 *   -ESTALE        "election: not leader" (a proclaim or resign of a lost leadership)
 *   -EACCES        authentication failed (bad user or password; a token refused twice)
 *   -EPERM         permission denied (the user's role does not cover the key)
 *   -ERANGE        a watch's start revision was compacted
 *   -EMSGSIZE      a reply over its bound
 *   -EPROTO        a reply that is not what the gateway sends
 *   -EPIPE         a stream ended
 *   -EINVAL, -ENOMEM, -ENOBUFS (too many calls), -EIO (anything else)
 */
#ifndef TVTOKEND_ETCD_H
#define TVTOKEND_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "timeutil.h"

struct http;
struct etcd;
struct etcd_call;

#define ETCD_MAX_ENDPOINTS 16
#define ETCD_MAX_CALLS 64
#define ETCD_DEFAULT_TIMEOUT (3 * USEC_PER_SEC)
/* Bounds on what a reply may carry. */
#define ETCD_MAX_REPLY (1024 * 1024)        /* one unary reply, or one stream message */
#define ETCD_MAX_STREAM (64 * 1024 * 1024)  /* one stream over its whole life */
#define ETCD_MAX_KEY 4096                   /* decoded */
#define ETCD_MAX_VALUE (256 * 1024)         /* decoded */
#define ETCD_MAX_KVS 1024                   /* kvs of a range, events of a watch message */
#define ETCD_MAX_MESSAGE 128                /* bytes of an error message kept */

struct etcd_options {
	const char *const *endpoints;   /* "http(s)://host:port" without a path */
	size_t n_endpoints;
	const char *ca_file;            /* NULL: the system store */
	const char *cert_file;          /* client certificate and key, both or neither */
	const char *key_file;
	const char *user;               /* NULL: no authentication */
	const char *password;
	usec_t timeout;                 /* unary calls and every connect; 0: ETCD_DEFAULT_TIMEOUT */
	unsigned keepalive_idle;        /* long-polls and streams: TCP keep-alive idle s; 0: 5 */
};

enum etcd_op {
	ETCD_OP_AUTHENTICATE,
	ETCD_OP_LEASE_GRANT,
	ETCD_OP_LEASE_KEEPALIVE,
	ETCD_OP_LEASE_REVOKE,
	ETCD_OP_CAMPAIGN,
	ETCD_OP_PROCLAIM,
	ETCD_OP_LEADER,
	ETCD_OP_RESIGN,
	ETCD_OP_OBSERVE,
	ETCD_OP_PUT,
	ETCD_OP_RANGE,
	ETCD_OP_DELETE,
	ETCD_OP_WATCH,
	ETCD_OP_TXN,
	ETCD_OP_COUNT
};

/* A key and its value; both decoded and followed by a NUL; the value is wiped when freed. */
struct etcd_kv {
	uint8_t *key;
	size_t key_len;
	uint8_t *value;
	size_t value_len;
	int64_t create_revision;
	int64_t mod_revision;
	int64_t version;
	int64_t lease;
};

/* What campaign returns and proclaim / resign take. */
struct etcd_leader_key {
	uint8_t *name;
	size_t name_len;
	uint8_t *key;
	size_t key_len;
	int64_t rev;
	int64_t lease;
};

enum etcd_event_type {
	ETCD_EVENT_PUT,
	ETCD_EVENT_DELETE,
};

struct etcd_event {
	enum etcd_event_type type;
	struct etcd_kv kv;
};

struct etcd_reply {
	int error;                      /* 0 or a negative errno (see above) */
	char message[ETCD_MAX_MESSAGE]; /* why, printable, "" on success */
	bool more;                      /* a stream message; the call goes on */
	int64_t revision;               /* header.revision; 0 when absent */
	int64_t id;                     /* lease grant / keep-alive */
	int64_t ttl;                    /* lease grant / keep-alive; 0: the lease is gone */
	struct etcd_leader_key leader;  /* campaign */
	struct etcd_kv *kvs;            /* range; leader and observe: one */
	size_t n_kvs;
	int64_t count;                  /* range */
	struct etcd_event *events;      /* watch */
	size_t n_events;
	bool created;                   /* watch */
	bool canceled;
	int64_t watch_id;
	int64_t compact_revision;
	int64_t deleted;                /* delete */
	bool succeeded;                 /* txn: the comparison held (else r->error is -ESTALE) */
	char *token;                    /* authenticate; wiped */
};

/* Called with each reply; r and what it points to live until the callback returns. */
typedef void (*etcd_reply_fn)(struct etcd_call *call, const struct etcd_reply *r, void *arg);

/*
 * A client for these endpoints on the engine h (borrowed: it must outlive
 * the client). Everything in o is copied. 0 or -EINVAL / -ENOMEM.
 */
int etcd_new(struct http *h, const struct etcd_options *o, struct etcd **out);

/* Cancel every call without calling back, wipe the secrets, free; NULL-safe. */
void etcd_free(struct etcd *e);

/* Stop a call: its callback is never called again. Safe from any callback, its own included. */
void etcd_call_cancel(struct etcd_call *call);

/* The endpoint calls go to now, and how often that changed (fail-overs). */
const char *etcd_endpoint(const struct etcd *e);
unsigned etcd_failovers(const struct etcd *e);
/* Successful authentications so far (tests). */
unsigned etcd_authentications(const struct etcd *e);

/*
 * The calls. Each returns 0 and (when out is not NULL) the call, or a
 * negative errno without calling back. Keys and names are byte strings
 * (NUL-terminated here); values are bytes.
 */
int etcd_lease_grant(struct etcd *e, int64_t ttl, etcd_reply_fn fn, void *arg,
    struct etcd_call **out);
/* timeout 0: the client's unary timeout. A lease that is gone answers ttl 0. */
int etcd_lease_keepalive(struct etcd *e, int64_t id, usec_t timeout, etcd_reply_fn fn,
    void *arg, struct etcd_call **out);
int etcd_lease_revoke(struct etcd *e, int64_t id, etcd_reply_fn fn, void *arg,
    struct etcd_call **out);
/* Long-poll: answers when elected (r->leader), however long that takes. */
int etcd_campaign(struct etcd *e, const char *name, int64_t lease, const uint8_t *value,
    size_t len, etcd_reply_fn fn, void *arg, struct etcd_call **out);
int etcd_proclaim(struct etcd *e, const struct etcd_leader_key *leader, const uint8_t *value,
    size_t len, etcd_reply_fn fn, void *arg, struct etcd_call **out);
/* The leader's key-value (r->kvs[0]), or -ENOENT when there is none. */
int etcd_leader(struct etcd *e, const char *name, etcd_reply_fn fn, void *arg,
    struct etcd_call **out);
int etcd_resign(struct etcd *e, const struct etcd_leader_key *leader, etcd_reply_fn fn,
    void *arg, struct etcd_call **out);
/* Stream: the leader's key-value now (if any), then at every change. */
int etcd_observe(struct etcd *e, const char *name, etcd_reply_fn fn, void *arg,
    struct etcd_call **out);
/* lease 0: none. */
int etcd_put(struct etcd *e, const char *key, const uint8_t *value, size_t len, int64_t lease,
    etcd_reply_fn fn, void *arg, struct etcd_call **out);
/* One put of a transaction (lease 0: none). */
struct etcd_put_op {
	const uint8_t *key;
	size_t key_len;
	const uint8_t *value;
	size_t len;
	int64_t lease;
};

/*
 * POST /v3/kv/txn: the puts (1..4), all at once, only while the key guard
 * still has the create revision create_rev (e.g. an election's leader key:
 * only while that leadership lasts); otherwise nothing is written and the
 * reply's error is -ESTALE.
 */
int etcd_put_if_created(struct etcd *e, const uint8_t *guard, size_t guard_len, int64_t create_rev,
    const struct etcd_put_op *puts, size_t n, etcd_reply_fn fn, void *arg,
    struct etcd_call **out);

/* prefix: every key starting with key. */
int etcd_range(struct etcd *e, const char *key, bool prefix, etcd_reply_fn fn, void *arg,
    struct etcd_call **out);
int etcd_delete(struct etcd *e, const char *key, bool prefix, etcd_reply_fn fn, void *arg,
    struct etcd_call **out);
/* Stream from start_revision (0: now): first a "created" message, then events. */
int etcd_watch(struct etcd *e, const char *key, bool prefix, int64_t start_revision,
    etcd_reply_fn fn, void *arg, struct etcd_call **out);

/* Copy a leader key (deep); 0 or -ENOMEM leaving dst untouched. */
int etcd_leader_key_copy(struct etcd_leader_key *dst, const struct etcd_leader_key *src);
void etcd_leader_key_clear(struct etcd_leader_key *k);

/*
 * The parsers, exposed for the fuzzer and tests. etcd_parse reads one reply
 * body (or one stream line) of op with HTTP status into r: 0 with r filled
 * (r->error set when the body is an error; there -EKEYEXPIRED means the auth
 * token was refused, which the client answers by authenticating again), or a
 * negative errno (-EPROTO, -EMSGSIZE, -ENOMEM) with r cleared.
 * etcd_reply_clear wipes and frees it.
 */
int etcd_parse(enum etcd_op op, long status, const char *body, size_t len,
    struct etcd_reply *r);
void etcd_reply_clear(struct etcd_reply *r);

/* Strict standard base64 (padding required, no blanks, unused bits zero). */
int etcd_base64_decode(const char *in, size_t len, size_t max, uint8_t **out,
    size_t *out_len);
char *etcd_base64_encode(const uint8_t *in, size_t len);
/* A decimal int64 as etcd's gateway writes it ("-12", "0"); 0 or -EINVAL/-ERANGE. */
int etcd_parse_int64(const char *s, size_t len, int64_t *out);
/* The end of the range of keys starting with prefix (clientv3's GetPrefixRangeEnd). */
int etcd_prefix_end(const uint8_t *prefix, size_t len, uint8_t **out, size_t *out_len);

#endif
