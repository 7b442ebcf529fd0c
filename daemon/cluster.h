/* SPDX-License-Identifier: MIT */
/*
 * Cluster mode (issue 10): brokers on several hosts elect one leader through
 * etcd; only the leader talks to Tradovate; it proclaims its state, sealed,
 * as the election value, and the others follow it.
 *
 * The broker's state is opaque here: the broker hands over bytes to proclaim
 * (snapshot_for_proclaim) and is handed the leader's bytes to adopt
 * (on_follow). Everything runs on the event loop; nothing blocks.
 *
 * Keys in etcd (E = Election=, e.g. "tvtokend/alice"):
 *   E/leader/<lease hex>   the election's candidates (etcd's election API
 *                          names them); the first one leads, its value is
 *                          the leader's sealed state
 *   E/reports/<member>     a follower's sealed ReportRejected, with its lease
 *   E/state                the last state a leader proclaimed, sealed, without a
 *                          lease: written with every proclaim in one transaction
 *                          guarded by the leader key, read by a new leader first
 * Values are sealed (seal.h) with the context "E/leader", E/state or the report's key.
 */
#ifndef TVTOKEND_CLUSTER_H
#define TVTOKEND_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct http;
struct config;
struct cluster;

enum cluster_role {
	CLUSTER_STANDALONE,         /* no [Cluster]: the broker decides alone */
	CLUSTER_CANDIDATE,          /* no leader known, its value does not open, or etcd unreachable */
	CLUSTER_FOLLOWER,           /* a leader is known and its value opens */
	CLUSTER_LEADER,             /* elected, and the lease kept alive within LeaseSec/3 */
};

struct cluster_callbacks {
	/*
	 * The broker's state to proclaim now: *out malloc'd (the cluster wipes
	 * and frees it), at most CLUSTER_MAX_STATE bytes. 0 or -errno.
	 */
	int (*snapshot_for_proclaim)(uint8_t **out, size_t *len, void *arg);
	/* The role or the leader changed; leader is NULL when unknown, our own name when leader. */
	void (*on_role_change)(enum cluster_role role, const char *leader, void *arg);
	/* A leader's value that opened and is newer than the last one: adopt it. */
	void (*on_follow)(const uint8_t *state, size_t len, const char *leader, void *arg);
	/* Leader only: a follower forwarded a ReportRejected for this generation. */
	void (*on_report)(int64_t generation, const char *member, void *arg);
};

/* Longest member name (Member=). */
#define CLUSTER_MAX_MEMBER_NAME 64

/* Largest state the broker may hand over. */
#define CLUSTER_MAX_STATE (32 * 1024)

/* Timing, from LeaseSec (L): see cluster.c for why. */
struct cluster_timing {
	uint64_t keepalive_interval;    /* L/6 */
	uint64_t keepalive_timeout;     /* L/6 */
	uint64_t fence;                 /* L/3: a leader's keep-alive may be this old, no older */
	uint64_t request_timeout;       /* L/3, at least 1 s: every unary etcd call */
	uint64_t poll_interval;         /* L: the leader is read back this often */
	uint64_t retry_min;             /* L/10, at least 100 ms: first retry delay */
	uint64_t retry_max;             /* L: retry delay cap */
};

/*
 * A cluster member for cfg (cfg->cluster must be true; everything needed is
 * copied, secrets included). http is borrowed and must outlive it; cb and
 * arg are the broker's. Nothing happens until cluster_start. 0 or -errno.
 */
int cluster_new(struct event_base *base, struct http *http, const struct config *cfg,
    const struct cluster_callbacks *cb, void *arg, struct cluster **out);

/* Start: lease, campaign, observe. Role candidate until told otherwise. 0 or -errno. */
int cluster_start(struct cluster *c);

/* The broker's state changed: the leader proclaims it (coalesced; newest wins). */
void cluster_proclaim(struct cluster *c);

/*
 * A follower forwards a client's ReportRejected to the leader (coalesced;
 * the newest generation wins). -ENOTCONN when not a follower.
 */
int cluster_report_rejected(struct cluster *c, int64_t generation);

/*
 * Whether this broker may send a request to Tradovate now: only as leader,
 * and only while its last successful keep-alive was sent less than LeaseSec/3
 * ago on CLOCK_BOOTTIME (which counts suspend; a stopped process sees the
 * time it lost). Call it before every request.
 */
bool cluster_may_send(struct cluster *c);

enum cluster_role cluster_role(const struct cluster *c);

/* The leader's member name as last told to the broker, or NULL. */
const char *cluster_leader(const struct cluster *c);

/* "standalone", "candidate", "follower", "leader". */
const char *cluster_role_name(enum cluster_role role);

/* The timing used (tests and logs). */
const struct cluster_timing *cluster_timing(const struct cluster *c);

/*
 * Leave the cluster: stop campaigning, revoke the lease (so another broker
 * takes over at once), then call done (from the loop, within about
 * LeaseSec/3 even when etcd does not answer). may_send is false from now on.
 */
void cluster_stop(struct cluster *c, void (*done)(void *arg), void *arg);

/* Free; no callback runs after. NULL-safe. Not from one of its own callbacks. */
void cluster_free(struct cluster *c);

/*
 * The member payload inside a sealed value, exposed for the fuzzer and
 * tests: version 1, kind (1 state, 2 report), member (1..64 bytes), then the
 * state bytes, or a report's generation and nonce (big-endian int64, u64).
 */
enum cluster_kind {
	CLUSTER_KIND_STATE = 1,
	CLUSTER_KIND_REPORT = 2,
};

struct cluster_payload {
	enum cluster_kind kind;
	char member[65];
	const uint8_t *state;       /* points into the parsed buffer */
	size_t state_len;
	int64_t generation;
	uint64_t nonce;
};

/* Parse a payload; 0 or -EBADMSG. */
int cluster_payload_parse(const uint8_t *p, size_t len, struct cluster_payload *out);

/* Build one (malloc'd, wiped by the caller); 0 or -EINVAL / -ENOMEM. */
int cluster_payload_build(const struct cluster_payload *in, uint8_t **out, size_t *len);

#endif
