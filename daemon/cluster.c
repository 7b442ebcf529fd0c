/* SPDX-License-Identifier: MIT */
/*
 * The cluster role machine (cluster.h) over etcd.c and seal.c.
 *
 * One reconcile function (cluster_run) looks at what is known, starts what
 * is due, and arms one CLOCK_BOOTTIME timerfd for the next deadline. Every
 * etcd reply and every public call only updates the state and schedules a
 * run. At most one call of each kind is in flight; every unary etcd call has
 * a time limit, the long-poll (campaign) and the streams (observe, watch)
 * have liveness checks instead: TCP keep-alive probes, the leader read back
 * every LeaseSec, and a restart when they end.
 *
 * Fencing. A leader sends to Tradovate only while its last successful
 * keep-alive was *sent* less than fence = LeaseSec/3 ago: the lease cannot
 * expire before send time + TTL, and no other broker can win before it
 * expires, so a leader that stops at send time + TTL/3 leaves 2/3 of the TTL
 * for the request already on its way. Keep-alives go every LeaseSec/6, so
 * one may fail without losing the lease. Time is CLOCK_BOOTTIME: it counts
 * suspend, and a process stopped by SIGSTOP sees the time it lost at once.
 * A leader whose chain of keep-alives breaks (a gap longer than the fence,
 * however it ends) steps down at once: it stops, revokes its lease when etcd
 * answers (or waits until it surely expired), takes a new one and campaigns
 * again. It never resumes a leadership across a gap.
 *
 * Campaigns. A campaign that fails after reaching etcd abandons its lease:
 * etcd resigns a campaign whose request went away, possibly after a new
 * campaign of the same lease took its key, so a lease never campaigns twice.
 * An elected broker becomes leader once its first proclaim succeeded (the
 * proclaim checks that its key still exists), and steps down when etcd shows
 * another leader or none.
 *
 * The durable state. Every proclaim is a transaction guarded by the
 * leader key's create revision: it writes the leader's value and, sealed
 * for its own key, the same state under E/state (no lease: it outlives every
 * broker), both or neither, and only while that leadership lasts. A newly
 * elected broker reads E/state before its first proclaim and follows it when
 * it is newer than what it followed: so a follower that missed the last
 * value (its stream reconnecting at the fail-over), or a whole cluster
 * restarted, still continues from the last state any leader proclaimed.
 *
 * Following. Everyone observes the election and reads it back every
 * LeaseSec. Values are taken in etcd's revision order: a value older than
 * the last one followed (a new leader's campaign value, sealed when it
 * started to campaign) gives the leader's name but is not followed. A value
 * that does not open is logged (at most once a minute) and ignored.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cluster.h"
#include "config.h"
#include "etcd.h"
#include "log.h"
#include "seal.h"
#include "timeutil.h"

#define CLUSTER_PAYLOAD_VERSION 1
#define CLUSTER_MAX_MEMBER 64
/* Keep revoking an abandoned lease this long past its surest expiry. */
#define CLUSTER_REVOKE_MARGIN (1 * USEC_PER_SEC)
/* Undecryptable values are logged at most this often. */
#define CLUSTER_BAD_VALUE_LOG (60 * USEC_PER_SEC)

struct cluster {
	struct event_base *base;
	struct http *http;
	struct etcd *etcd;
	struct seal_key *key;
	struct cluster_callbacks cb;
	void *arg;
	char *member;
	char *election_name;            /* E/leader: etcd's election name */
	char *reports_prefix;           /* E/reports/ */
	char *report_key;               /* E/reports/<member> */
	char *state_key;                /* E/state: the last state proclaimed, durable */
	int64_t lease_sec;
	struct cluster_timing t;

	int tfd;                        /* CLOCK_BOOTTIME timerfd, absolute deadlines */
	struct event *timer;
	struct event *kick;             /* a run on the next loop turn */
	struct event *stop_ev;          /* calls stop's done from the loop */
	uint64_t rng;
	bool started;

	/* The lease. */
	int64_t lease;                  /* 0: none */
	int64_t lease_ttl;              /* granted, seconds */
	uint64_t lease_ok_at;           /* send time of the last keep-alive (or grant) that worked */
	uint64_t lease_touched_at;      /* send time of the last call that may have refreshed it */
	struct etcd_call *grant_call;
	uint64_t grant_sent_at;
	uint64_t grant_retry_at;
	unsigned grant_failures;
	struct etcd_call *ka_call;
	uint64_t ka_sent_at;
	uint64_t ka_next;
	/* A lease given up: revoked when etcd answers, forgotten once surely expired. */
	int64_t old_lease;
	uint64_t old_lease_until;
	struct etcd_call *revoke_call;
	uint64_t revoke_retry_at;
	unsigned revoke_failures;

	/* The election. */
	struct etcd_call *campaign_call;
	uint64_t campaign_retry_at;
	unsigned campaign_failures;
	bool elected;                   /* the campaign returned: my_key is ours */
	struct etcd_leader_key my_key;
	bool leader;                    /* elected and a proclaim succeeded since */
	bool state_read;                /* elected, and E/state read since */
	struct etcd_call *state_call;
	uint64_t state_retry_at;
	unsigned state_failures;
	struct etcd_call *proclaim_call;
	bool dirty;                     /* the broker's state changed since the last proclaim */
	uint64_t proclaim_retry_at;
	unsigned proclaim_failures;

	/* What etcd says of the election. */
	struct etcd_call *observe_call;
	uint64_t observe_retry_at;
	unsigned observe_failures;
	struct etcd_call *poll_call;
	bool poll_as_leader;            /* the poll in flight was sent while leader */
	uint64_t poll_next;
	int64_t poll_behind_rev;        /* a revision the poll saw first; the stream must catch up */
	int64_t stream_rev;             /* newest mod_revision the stream delivered */
	int64_t leader_create_rev;      /* create_revision of the leader's key as last seen */
	int64_t followed_rev;           /* mod_revision of the last value handed to on_follow */
	bool leader_known;
	bool leader_opens;
	int64_t leader_lease;
	char leader_member[CLUSTER_MAX_MEMBER + 1];

	/* Reports. */
	struct etcd_call *reports_call; /* the range at the start of a leadership */
	struct etcd_call *watch_call;
	int64_t watch_from;             /* 0: range first */
	uint64_t watch_retry_at;
	unsigned watch_failures;
	int64_t reports_rev;            /* mod_revision of the last report taken in */
	bool report_pending;
	int64_t report_generation;
	struct etcd_call *report_call;
	uint64_t report_retry_at;
	unsigned report_failures;

	/* What the broker was told last. */
	enum cluster_role told_role;
	char told_leader[CLUSTER_MAX_MEMBER + 1];
	bool told;

	uint64_t etcd_ok_at;            /* when etcd last answered anything */
	uint64_t lease_dropped_at;      /* start, or when a lease of ours was last given up */
	uint64_t twin_logged_at;        /* a value sealed under our name, not ours: logged then */
	uint64_t bad_value_logged_at;
	unsigned bad_values;

	bool stopping;
	void (*stop_done)(void *arg);
	void *stop_arg;
	struct etcd_call *stop_call;
};

/* CLOCK_BOOTTIME now, in microseconds: it counts suspend and stopped time. */
static uint64_t
cluster_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

/* The word for a role, as GetStatus will show it. */
const char *
cluster_role_name(enum cluster_role role)
{
	switch (role) {
	case CLUSTER_STANDALONE:
		return "standalone";
	case CLUSTER_CANDIDATE:
		return "candidate";
	case CLUSTER_FOLLOWER:
		return "follower";
	case CLUSTER_LEADER:
		return "leader";
	}
	return "unknown";
}

/* ---- payloads ---- */

/* Frame a member payload: version, kind, member, then state or report. */
int
cluster_payload_build(const struct cluster_payload *in, uint8_t **out, size_t *len)
{
	size_t m = strnlen(in->member, CLUSTER_MAX_MEMBER + 1), n;
	uint8_t *p;

	if (m == 0 || m > CLUSTER_MAX_MEMBER ||
	    (in->kind == CLUSTER_KIND_STATE && (in->state_len > CLUSTER_MAX_STATE ||
	    (in->state == NULL && in->state_len > 0))) ||
	    (in->kind != CLUSTER_KIND_STATE && in->kind != CLUSTER_KIND_REPORT))
		return -EINVAL;
	n = 3 + m + (in->kind == CLUSTER_KIND_STATE ? in->state_len : 16);
	p = malloc(n);
	if (p == NULL)
		return -ENOMEM;
	p[0] = CLUSTER_PAYLOAD_VERSION;
	p[1] = (uint8_t)in->kind;
	p[2] = (uint8_t)m;
	memcpy(p + 3, in->member, m);
	if (in->kind == CLUSTER_KIND_STATE) {
		if (in->state_len > 0)
			memcpy(p + 3 + m, in->state, in->state_len);
	} else {
		uint64_t g = (uint64_t)in->generation, v = in->nonce;

		for (int i = 0; i < 8; i++) {
			p[3 + m + i] = (uint8_t)(g >> (56 - 8 * i));
			p[3 + m + 8 + i] = (uint8_t)(v >> (56 - 8 * i));
		}
	}
	*out = p;
	*len = n;
	return 0;
}

/* Check and split a member payload. */
int
cluster_payload_parse(const uint8_t *p, size_t len, struct cluster_payload *out)
{
	struct cluster_payload r;
	size_t m;

	memset(&r, 0, sizeof(r));
	if (p == NULL || len < 4 || p[0] != CLUSTER_PAYLOAD_VERSION)
		return -EBADMSG;
	m = p[2];
	if (m == 0 || m > CLUSTER_MAX_MEMBER || len < 3 + m)
		return -EBADMSG;
	memcpy(r.member, p + 3, m);
	r.member[m] = '\0';
	if (memchr(r.member, '\0', m) != NULL)
		return -EBADMSG;
	for (size_t i = 0; i < m; i++)
		if ((unsigned char)r.member[i] <= ' ' || (unsigned char)r.member[i] >= 0x7f)
			return -EBADMSG;
	switch (p[1]) {
	case CLUSTER_KIND_STATE:
		r.kind = CLUSTER_KIND_STATE;
		r.state = p + 3 + m;
		r.state_len = len - 3 - m;
		if (r.state_len > CLUSTER_MAX_STATE)
			return -EBADMSG;
		break;
	case CLUSTER_KIND_REPORT: {
		uint64_t g = 0, v = 0;

		if (len != 3 + m + 16)
			return -EBADMSG;
		for (int i = 0; i < 8; i++) {
			g = g << 8 | p[3 + m + i];
			v = v << 8 | p[3 + m + 8 + i];
		}
		r.kind = CLUSTER_KIND_REPORT;
		r.generation = (int64_t)g;
		r.nonce = v;
		if (r.generation < 0)
			return -EBADMSG;
		break;
	}
	default:
		return -EBADMSG;
	}
	*out = r;
	return 0;
}

/* ---- small helpers ---- */

/* xorshift64: retry jitter needs spread, not secrecy. */
static uint64_t
cluster_random(struct cluster *c)
{
	uint64_t x = c->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	c->rng = x;
	return x;
}

/* The delay before retry number n (from 0): random in [d/2, d], d = retry_min * 2^n capped. */
static uint64_t
cluster_backoff(struct cluster *c, unsigned n)
{
	uint64_t d = c->t.retry_min;

	while (n-- > 0 && d < c->t.retry_max)
		d *= 2;
	if (d > c->t.retry_max)
		d = c->t.retry_max;
	return d / 2 + cluster_random(c) % (d / 2 + 1);
}

/* Note that etcd answered: a follower stays one while etcd answers, whatever its lease does. */
static void
cluster_heard(struct cluster *c, const struct etcd_reply *r)
{
	/* Any answer from etcd itself counts; the client's own errors do not. */
	if (r->error == 0 || r->error == -ENOENT || r->error == -ESTALE || r->error == -EPERM)
		c->etcd_ok_at = cluster_now();
}

/* Whether the lease was kept alive recently enough to act as leader. */
static bool
cluster_fresh(const struct cluster *c, uint64_t now)
{
	return c->lease != 0 && now >= c->lease_ok_at && now - c->lease_ok_at < c->t.fence;
}

/* Schedule a run on the next loop turn. */
static void
cluster_kick(struct cluster *c)
{
	event_active(c->kick, EV_TIMEOUT, 0);
}

/* Seal a payload for context; *out malloc'd. */
static int
cluster_seal(struct cluster *c, const struct cluster_payload *pl, const char *context,
    uint8_t **out, size_t *out_len)
{
	uint8_t *plain = NULL;
	size_t len = 0;
	int r;

	r = cluster_payload_build(pl, &plain, &len);
	if (r < 0)
		return r;
	r = seal_value(c->key, context, plain, len, out, out_len);
	seal_plain_free(plain, len);
	return r;
}

/* Seal the broker's current state as this member's leader value. */
static int
cluster_seal_state(struct cluster *c, uint8_t **out, size_t *out_len)
{
	struct cluster_payload pl;
	uint8_t *state = NULL;
	size_t len = 0;
	int r;

	r = c->cb.snapshot_for_proclaim(&state, &len, c->arg);
	if (r < 0)
		return r;
	if (len > CLUSTER_MAX_STATE) {
		seal_plain_free(state, len);
		return -EMSGSIZE;
	}
	memset(&pl, 0, sizeof(pl));
	pl.kind = CLUSTER_KIND_STATE;
	snprintf(pl.member, sizeof(pl.member), "%s", c->member);
	pl.state = state;
	pl.state_len = len;
	r = cluster_seal(c, &pl, c->election_name, out, out_len);
	seal_plain_free(state, len);
	return r;
}

/* Log that a value did not open, at most once a minute. */
static void
cluster_bad_value(struct cluster *c, const char *what, int r)
{
	uint64_t now = cluster_now();

	c->bad_values++;
	if (c->bad_value_logged_at != 0 && now - c->bad_value_logged_at < CLUSTER_BAD_VALUE_LOG)
		return;
	log_warnx("cluster: ignoring %s that does not open: %s (%u such value%s since the last "
	    "message); do all brokers of the account hold the same password and API secret?",
	    what, r == -EBADMSG ? "malformed inside" : seal_strerror(r), c->bad_values,
	    c->bad_values == 1 ? "" : "s");
	c->bad_values = 0;
	c->bad_value_logged_at = now;
}

/* The role now, and the leader to name with it. */
static enum cluster_role
cluster_compute_role(const struct cluster *c, const char **leader)
{
	uint64_t now = cluster_now();

	*leader = NULL;
	if (c->stopping)
		return CLUSTER_CANDIDATE;
	if (c->leader && cluster_fresh(c, now)) {
		*leader = c->member;
		return CLUSTER_LEADER;
	}
	/* A follower needs etcd to answer, not a lease of its own (it may be renewing it). */
	if (!c->leader && c->etcd_ok_at != 0 && now - c->etcd_ok_at < c->t.fence &&
	    c->leader_known && c->leader_opens) {
		*leader = c->leader_member;
		return CLUSTER_FOLLOWER;
	}
	return CLUSTER_CANDIDATE;
}

/* Tell the broker when the role or the leader changed. */
static void
cluster_tell(struct cluster *c)
{
	const char *leader;
	enum cluster_role role = cluster_compute_role(c, &leader);

	if (c->told && role == c->told_role &&
	    strcmp(leader != NULL ? leader : "", c->told_leader) == 0)
		return;
	log_info("cluster: %s is %s%s%s", c->member, cluster_role_name(role),
	    role == CLUSTER_FOLLOWER ? " of " : "", role == CLUSTER_FOLLOWER ? leader : "");
	c->told = true;
	c->told_role = role;
	snprintf(c->told_leader, sizeof(c->told_leader), "%s", leader != NULL ? leader : "");
	c->cb.on_role_change(role, leader, c->arg);
}

/* Cancel a call if there is one. */
static void
cluster_cancel(struct etcd_call **call)
{
	if (*call != NULL) {
		etcd_call_cancel(*call);
		*call = NULL;
	}
}

/* Forget the election (campaign, leadership, reports) of the current lease. */
static void
cluster_leave_election(struct cluster *c)
{
	cluster_cancel(&c->campaign_call);
	cluster_cancel(&c->proclaim_call);
	cluster_cancel(&c->state_call);
	cluster_cancel(&c->reports_call);
	cluster_cancel(&c->watch_call);
	etcd_leader_key_clear(&c->my_key);
	c->elected = false;
	c->leader = false;
	c->state_read = false;
	c->state_failures = 0;
	c->watch_from = 0;
	c->reports_rev = 0;
	c->campaign_failures = 0;
	c->proclaim_failures = 0;
	c->watch_failures = 0;
}

/*
 * Give the lease up: no more leadership on it; it is revoked when etcd
 * answers (revoke) or forgotten (it is gone already). A new lease follows
 * once the old one is out of the way.
 */
static void
cluster_drop_lease(struct cluster *c, bool revoke)
{
	uint64_t now = cluster_now(), last = c->lease_touched_at > c->lease_ok_at ?
	    c->lease_touched_at : c->lease_ok_at;

	cluster_leave_election(c);
	cluster_cancel(&c->ka_call);
	cluster_cancel(&c->report_call);
	c->lease_dropped_at = now;
	if (revoke && c->lease != 0) {
		cluster_cancel(&c->revoke_call);
		c->old_lease = c->lease;
		c->old_lease_until = last + (uint64_t)c->lease_ttl * USEC_PER_SEC +
		    CLUSTER_REVOKE_MARGIN;
		c->revoke_retry_at = now;
		c->revoke_failures = 0;
	}
	c->lease = 0;
	c->lease_ttl = 0;
	c->grant_retry_at = now;
}

/* Stop acting as leader at once (may_send turns false), then drop the lease. */
static void
cluster_step_down(struct cluster *c, const char *why)
{
	if (c->leader || c->elected)
		log_warnx("cluster: %s steps down: %s", c->member, why);
	cluster_drop_lease(c, true);
	cluster_kick(c);
}

/* ---- the lease ---- */

/* A grant answered. */
static void
cluster_grant_done(struct etcd_call *call, const struct etcd_reply *r, void *arg)
{
	struct cluster *c = arg;
	uint64_t now = cluster_now();

	c->grant_call = NULL;
	cluster_heard(c, r);
	if (r->error != 0) {
		if (c->grant_failures++ == 0)
			log_warnx("cluster: cannot get an etcd lease: %s", r->message);
		c->grant_retry_at = now + cluster_backoff(c, c->grant_failures);
		cluster_kick(c);
		return;
	}
	if (c->grant_failures > 0)
		log_info("cluster: got an etcd lease again");
	c->grant_failures = 0;
	c->lease = r->id;
	c->lease_ttl = r->ttl;
	if (r->ttl < c->lease_sec)
		log_warnx("cluster: etcd granted a %llds lease instead of %llds",
		    (long long)r->ttl, (long long)c->lease_sec);
	/* The lease lives at least TTL from when it was asked for. */
	c->lease_ok_at = c->grant_sent_at;
	c->lease_touched_at = c->grant_sent_at;
	c->ka_next = c->grant_sent_at + c->t.keepalive_interval;
	c->campaign_retry_at = now;
	cluster_kick(c);
}

/* A keep-alive answered. */
static void
cluster_keepalive_done(struct etcd_call *call, const struct etcd_reply *r, void *arg)
{
	struct cluster *c = arg;
	uint64_t now = cluster_now(), sent = c->ka_sent_at;

	c->ka_call = NULL;
	cluster_heard(c, r);
	if (r->error == -ENOENT || (r->error == 0 && r->ttl <= 0)) {
		log_warnx("cluster: the etcd lease of %s is gone", c->member);
		if (c->leader || c->elected)
			log_warnx("cluster: %s steps down: its lease expired", c->member);
		cluster_drop_lease(c, false);
		cluster_kick(c);
		return;
	}
	if (r->error != 0) {
		/* The fence decides; try again soon (another endpoint, maybe). */
		c->ka_next = now + c->t.keepalive_interval / 2;
		cluster_kick(c);
		return;
	}
	/* A gap in the chain of keep-alives ends any leadership: never resume across it. */
	if ((c->leader || c->elected) && sent - c->lease_ok_at >= c->t.fence) {
		cluster_step_down(c, "its lease keep-alives lapsed");
		return;
	}
	if (sent > c->lease_ok_at)
		c->lease_ok_at = sent;
	c->ka_next = sent + c->t.keepalive_interval;
	cluster_kick(c);
}

/* A revoke of an abandoned lease answered. */
static void
cluster_revoke_done(struct etcd_call *call, const struct etcd_reply *r, void *arg)
{
	struct cluster *c = arg;

	c->revoke_call = NULL;
	cluster_heard(c, r);
	if (r->error == 0 || r->error == -ENOENT) {
		c->old_lease = 0;
	} else {
		c->revoke_retry_at = cluster_now() + cluster_backoff(c, c->revoke_failures++);
	}
	cluster_kick(c);
}

/* ---- the election ---- */

/* A campaign returned: elected, or failed. */
static void
cluster_campaign_done(struct etcd_call *call, const struct etcd_reply *r, void *arg)
{
	struct cluster *c = arg;
	uint64_t now = cluster_now();

	c->campaign_call = NULL;
	cluster_heard(c, r);
	if (r->error == -ENOENT) {
		log_warnx("cluster: the etcd lease of %s is gone", c->member);
		cluster_drop_lease(c, false);
		cluster_kick(c);
		return;
	}
	if (r->error == -ECONNREFUSED) {
		/* Nothing reached etcd: the same lease may campaign again. */
		c->campaign_retry_at = now + cluster_backoff(c, c->campaign_failures++);
		cluster_kick(c);
		return;
	}
	if (r->error != 0) {
		log_warnx("cluster: campaign of %s failed: %s", c->member, r->message);
		cluster_drop_lease(c, true);
		c->grant_retry_at = now + cluster_backoff(c, c->grant_failures);
		cluster_kick(c);
		return;
	}
	if (r->leader.lease != c->lease || etcd_leader_key_copy(&c->my_key, &r->leader) < 0) {
		cluster_drop_lease(c, true);
		cluster_kick(c);
		return;
	}
	c->elected = true;
	if (!cluster_fresh(c, now)) {
		cluster_step_down(c, "elected while its lease keep-alives lapsed");
		return;
	}
	/* Read E/state, then proclaim the current state at once: the campaign value may be old. */
	c->state_read = false;
	c->state_retry_at = now;
	c->dirty = true;
	c->proclaim_retry_at = now;
	cluster_kick(c);
}

/* E/state read by a newly elected broker: follow it when it is newer, then proclaim. */
static void
cluster_state_done(struct etcd_call *call, const struct etcd_reply *r, void *arg)
{
	struct cluster *c = arg;
	struct cluster_payload pl;
	uint8_t *plain = NULL;
	size_t len = 0;
	int q;

	c->state_call = NULL;
	cluster_heard(c, r);
	if (r->error != 0 && r->error != -ENOENT) {
		if (c->state_failures++ == 0)
			log_warnx("cluster: cannot read %s: %s", c->state_key, r->message);
		c->state_retry_at = cluster_now() + cluster_backoff(c, c->state_failures);
		cluster_kick(c);
		return;
	}
	c->state_read = true;
	c->state_failures = 0;
	if (r->error == 0 && r->n_kvs == 1 && r->kvs[0].mod_revision > c->followed_rev) {
		q = seal_open(c->key, c->state_key, r->kvs[0].value, r->kvs[0].value_len, &plain,
		    &len);
		if (q == 0) {
			q = cluster_payload_parse(plain, len, &pl);
			if (q == 0 && pl.kind != CLUSTER_KIND_STATE)
				q = -EBADMSG;
		}
		if (q < 0) {
			cluster_bad_value(c, "the durable state", q);
		} else {
			/* Ours too (a restarted cluster): it is the last state any leader proclaimed. */
			log_info("cluster: %s continues from the state %s proclaimed last",
			    c->member, pl.member);
			c->followed_rev = r->kvs[0].mod_revision;
			c->cb.on_follow(pl.state, pl.state_len, pl.member, c->arg);
		}
		seal_plain_free(plain, len);
	}
	cluster_kick(c);
}

/* A proclaim answered. */
static void
cluster_proclaim_done(struct etcd_call *call, const struct etcd_reply *r, void *arg)
{
	struct cluster *c = arg;
	uint64_t now = cluster_now();

	c->proclaim_call = NULL;
	cluster_heard(c, r);
	if (r->error == -ESTALE || r->error == -ENOENT) {
		cluster_step_down(c, "etcd says it no longer leads");
		return;
	}
	if (r->error != 0) {
		if (c->proclaim_failures++ == 0)
			log_warnx("cluster: proclaim failed: %s", r->message);
		c->dirty = true;
		c->proclaim_retry_at = now + cluster_backoff(c, c->proclaim_failures);
		cluster_kick(c);
		return;
	}
	c->proclaim_failures = 0;
	if (!c->leader) {
		if (!cluster_fresh(c, now)) {
			cluster_step_down(c, "elected while its lease keep-alives lapsed");
			return;
		}
		c->leader = true;
		c->leader_known = true;
		c->leader_opens = true;
		c->leader_lease = c->lease;
		snprintf(c->leader_member, sizeof(c->leader_member), "%s", c->member);
		c->watch_retry_at = now;
		log_info("cluster: %s leads election %s", c->member, c->election_name);
	}
	cluster_kick(c);
}

/*
 * Take in the leader's key-value as etcd shows it (observe or the read-back).
 * Who leads is ordered by the key's create revision (each new leader's key
 * is younger than its predecessor's), what to follow by the value's mod
 * revision, so late news of an older leader or value changes nothing.
 */
static void
cluster_take_leader(struct cluster *c, const struct etcd_kv *kv)
{
	struct cluster_payload pl;
	uint8_t *plain = NULL;
	size_t len = 0;
	int r;

	if (kv->create_revision < c->leader_create_rev)
		return;
	if (c->lease != 0 && kv->lease == c->lease) {
		/* Our own key leads: our campaign tells us when we are elected. */
		c->leader_create_rev = kv->create_revision;
		if (!c->leader) {
			c->leader_known = false;
			cluster_tell(c);
		}
		return;
	}
	if (c->elected) {
		if (kv->create_revision <= c->my_key.rev)
			return;         /* the previous leader, late */
		/* A younger key leads: ours is gone. */
		cluster_step_down(c, "etcd shows another leader");
	}
	if (kv->create_revision == c->leader_create_rev && kv->lease == c->leader_lease &&
	    c->leader_known && c->leader_opens && kv->mod_revision <= c->followed_rev)
		return;         /* nothing new */
	c->leader_create_rev = kv->create_revision;
	c->leader_lease = kv->lease;
	c->leader_known = true;
	c->leader_opens = false;
	c->leader_member[0] = '\0';
	if (c->old_lease != 0 && kv->lease == c->old_lease) {
		/* Our abandoned key, until it is revoked or expires. */
		c->leader_known = false;
		cluster_tell(c);
		return;
	}
	r = seal_open(c->key, c->election_name, kv->value, kv->value_len, &plain, &len);
	if (r == 0) {
		r = cluster_payload_parse(plain, len, &pl);
		if (r == 0 && pl.kind != CLUSTER_KIND_STATE)
			r = -EBADMSG;
	}
	if (r < 0) {
		seal_plain_free(plain, len);
		cluster_bad_value(c, "a leader value", r);
		cluster_tell(c);
		return;
	}
	if (strcmp(pl.member, c->member) == 0) {
		/*
		 * Sealed by us, on a lease we no longer hold: a leftover, gone
		 * within a lease's time. Still there long after: another host
		 * has our Member= name.
		 */
		uint64_t now = cluster_now();

		if (now - c->lease_dropped_at > 3 * (uint64_t)c->lease_sec * USEC_PER_SEC &&
		    (c->twin_logged_at == 0 || now - c->twin_logged_at >= CLUSTER_BAD_VALUE_LOG)) {
			c->twin_logged_at = now;
			log_warnx("cluster: the leader calls itself %s, this broker's Member= name, on a "
			    "lease this broker does not hold: give every broker its own Member=", c->member);
		}
		c->leader_known = false;
		seal_plain_free(plain, len);
		cluster_tell(c);
		return;
	}
	c->leader_opens = true;
	snprintf(c->leader_member, sizeof(c->leader_member), "%s", pl.member);
	cluster_tell(c);
	if (kv->mod_revision > c->followed_rev) {
		c->followed_rev = kv->mod_revision;
		c->cb.on_follow(pl.state, pl.state_len, pl.member, c->arg);
	}
	seal_plain_free(plain, len);
}

/* An observe message, or its end. */
static void
cluster_observe_msg(struct etcd_call *call, const struct etcd_reply *r, void *arg)
{
	struct cluster *c = arg;

	if (r->more) {
		cluster_heard(c, r);
		c->observe_failures = 0;
		if (r->n_kvs == 1) {
			if (r->kvs[0].mod_revision > c->stream_rev)
				c->stream_rev = r->kvs[0].mod_revision;
			cluster_take_leader(c, &r->kvs[0]);
		}
		cluster_kick(c);
		return;
	}
	c->observe_call = NULL;
	if (c->observe_failures == 0)
		log_warnx("cluster: observing the election stopped: %s; starting again", r->message);
	c->observe_retry_at = cluster_now() + cluster_backoff(c, c->observe_failures++);
	/* Learn what was missed as soon as etcd answers. */
	c->poll_next = cluster_now();
	cluster_kick(c);
}

/* The leader read back. */
static void
cluster_poll_done(struct etcd_call *call, const struct etcd_reply *r, void *arg)
{
	struct cluster *c = arg;
	bool as_leader = c->poll_as_leader;

	c->poll_call = NULL;
	cluster_heard(c, r);
	c->poll_next = cluster_now() + c->t.poll_interval;
	if (r->error == -ENOENT) {
		/* Nobody leads: ourselves neither, if we thought so when asking. */
		c->leader_known = false;
		c->leader_opens = false;
		if (as_leader && c->leader)
			cluster_step_down(c, "etcd shows no leader");
		cluster_kick(c);
		return;
	}
	if (r->error != 0 || r->n_kvs != 1) {
		cluster_kick(c);
		return;
	}
	/*
	 * The stream should show what the read-back saw; one that has not by
	 * the next read-back is stuck (a silent peer, a lost token): restart it.
	 */
	if (c->poll_behind_rev != 0 && c->stream_rev < c->poll_behind_rev &&
	    c->observe_call != NULL) {
		log_warnx("cluster: the election stream fell behind; restarting it");
		cluster_cancel(&c->observe_call);
		c->observe_retry_at = cluster_now();
		c->poll_behind_rev = 0;
	} else {
		c->poll_behind_rev = r->kvs[0].mod_revision > c->stream_rev ?
		    r->kvs[0].mod_revision : 0;
	}
	cluster_take_leader(c, &r->kvs[0]);
	cluster_kick(c);
}

/* ---- reports ---- */

/* Take in a report key-value (leader only). */
static void
cluster_take_report(struct cluster *c, const struct etcd_kv *kv)
{
	struct cluster_payload pl;
	uint8_t *plain = NULL;
	size_t len = 0, plen = strlen(c->reports_prefix);
	char key[ETCD_MAX_KEY + 1];
	int r;

	if (!c->leader || kv->mod_revision <= c->reports_rev || kv->key_len <= plen ||
	    kv->key_len > ETCD_MAX_KEY)
		return;
	c->reports_rev = kv->mod_revision;
	memcpy(key, kv->key, kv->key_len);
	key[kv->key_len] = '\0';
	r = seal_open(c->key, key, kv->value, kv->value_len, &plain, &len);
	if (r == 0) {
		r = cluster_payload_parse(plain, len, &pl);
		/* The member inside must own the key it came in. */
		if (r == 0 && (pl.kind != CLUSTER_KIND_REPORT ||
		    strcmp(pl.member, key + plen) != 0))
			r = -EBADMSG;
	}
	seal_plain_free(plain, len);
	if (r < 0) {
		cluster_bad_value(c, "a report", r);
		return;
	}
	if (strcmp(pl.member, c->member) == 0)
		return;
	log_info("cluster: %s reports generation %lld as refused", pl.member,
	    (long long)pl.generation);
	c->cb.on_report(pl.generation, pl.member, c->arg);
}

/* The reports present when leadership began. */
static void
cluster_reports_done(struct etcd_call *call, const struct etcd_reply *r, void *arg)
{
	struct cluster *c = arg;

	c->reports_call = NULL;
	cluster_heard(c, r);
	if (r->error != 0) {
		c->watch_retry_at = cluster_now() + cluster_backoff(c, c->watch_failures++);
		cluster_kick(c);
		return;
	}
	c->watch_from = r->revision + 1;
	for (size_t i = 0; i < r->n_kvs && c->leader; i++)
		cluster_take_report(c, &r->kvs[i]);
	cluster_kick(c);
}

/* A watch message on the reports, or its end. */
static void
cluster_watch_msg(struct etcd_call *call, const struct etcd_reply *r, void *arg)
{
	struct cluster *c = arg;

	if (r->more) {
		cluster_heard(c, r);
		c->watch_failures = 0;
		for (size_t i = 0; i < r->n_events && c->leader; i++) {
			if (r->events[i].kv.mod_revision >= c->watch_from)
				c->watch_from = r->events[i].kv.mod_revision + 1;
			if (r->events[i].type == ETCD_EVENT_PUT)
				cluster_take_report(c, &r->events[i].kv);
		}
		return;
	}
	c->watch_call = NULL;
	if (r->error == -ERANGE)
		c->watch_from = 0;      /* compacted: read them all again */
	c->watch_retry_at = cluster_now() + cluster_backoff(c, c->watch_failures++);
	cluster_kick(c);
}

/* A report written (follower). */
static void
cluster_report_done(struct etcd_call *call, const struct etcd_reply *r, void *arg)
{
	struct cluster *c = arg;

	c->report_call = NULL;
	cluster_heard(c, r);
	if (r->error != 0) {
		if (c->report_failures++ == 0)
			log_warnx("cluster: cannot forward a refused token to the leader: %s",
			    r->message);
		c->report_retry_at = cluster_now() + cluster_backoff(c, c->report_failures);
	} else {
		c->report_failures = 0;
	}
	cluster_kick(c);
}

/* ---- the reconcile loop ---- */

/* Start a call and keep it, or note the failure to start it. */
static void
cluster_started(struct cluster *c, int r, const char *what, uint64_t *retry_at,
    unsigned *failures)
{
	if (r == 0)
		return;
	log_warnx("cluster: cannot start %s: %s", what, strerror(-r));
	*retry_at = cluster_now() + cluster_backoff(c, (*failures)++);
}

/* Start the campaign of the current lease with the sealed current state. */
static void
cluster_campaign(struct cluster *c, uint64_t now)
{
	uint8_t *value = NULL;
	size_t len = 0;
	int r;

	r = cluster_seal_state(c, &value, &len);
	if (r < 0) {
		log_warnx("cluster: cannot seal the state to campaign with: %s", strerror(-r));
		c->campaign_retry_at = now + cluster_backoff(c, c->campaign_failures++);
		return;
	}
	c->lease_touched_at = now;
	r = etcd_campaign(c->etcd, c->election_name, c->lease, value, len,
	    cluster_campaign_done, c, &c->campaign_call);
	free(value);
	cluster_started(c, r, "a campaign", &c->campaign_retry_at, &c->campaign_failures);
}

/*
 * Proclaim the current state (the first proclaim makes the elected broker
 * leader): the leader key's value and E/state in one transaction, only
 * while our leader key is the one we were elected with.
 */
static void
cluster_do_proclaim(struct cluster *c, uint64_t now)
{
	struct etcd_put_op puts[2];
	uint8_t *value = NULL, *durable = NULL, *state = NULL;
	size_t len = 0, durable_len = 0, state_len = 0;
	struct cluster_payload pl;
	int r;

	r = c->cb.snapshot_for_proclaim(&state, &state_len, c->arg);
	if (r == 0 && state_len > CLUSTER_MAX_STATE)
		r = -EMSGSIZE;
	if (r == 0) {
		memset(&pl, 0, sizeof(pl));
		pl.kind = CLUSTER_KIND_STATE;
		snprintf(pl.member, sizeof(pl.member), "%s", c->member);
		pl.state = state;
		pl.state_len = state_len;
		r = cluster_seal(c, &pl, c->election_name, &value, &len);
		if (r == 0)
			r = cluster_seal(c, &pl, c->state_key, &durable, &durable_len);
	}
	if (state != NULL)
		seal_plain_free(state, state_len);
	if (r < 0) {
		log_warnx("cluster: cannot seal the state to proclaim: %s", strerror(-r));
		free(value);
		free(durable);
		c->proclaim_retry_at = now + cluster_backoff(c, c->proclaim_failures++);
		return;
	}
	c->dirty = false;
	c->lease_touched_at = now;
	puts[0] = (struct etcd_put_op){ .key = c->my_key.key, .key_len = c->my_key.key_len,
	    .value = value, .len = len, .lease = c->my_key.lease };
	puts[1] = (struct etcd_put_op){ .key = (const uint8_t *)c->state_key,
	    .key_len = strlen(c->state_key), .value = durable, .len = durable_len };
	r = etcd_put_if_created(c->etcd, c->my_key.key, c->my_key.key_len, c->my_key.rev, puts, 2,
	    cluster_proclaim_done, c, &c->proclaim_call);
	free(value);
	free(durable);
	if (r < 0)
		c->dirty = true;
	cluster_started(c, r, "a proclaim", &c->proclaim_retry_at, &c->proclaim_failures);
}

/* Write the pending report under our key, with our lease. */
static void
cluster_do_report(struct cluster *c, uint64_t now)
{
	struct cluster_payload pl;
	uint8_t *value = NULL;
	size_t len = 0;
	int r;

	memset(&pl, 0, sizeof(pl));
	pl.kind = CLUSTER_KIND_REPORT;
	snprintf(pl.member, sizeof(pl.member), "%s", c->member);
	pl.generation = c->report_generation;
	pl.nonce = cluster_random(c);
	r = cluster_seal(c, &pl, c->report_key, &value, &len);
	if (r == 0) {
		r = etcd_put(c->etcd, c->report_key, value, len, c->lease, cluster_report_done, c,
		    &c->report_call);
		free(value);
	}
	if (r == 0)
		c->report_pending = false;
	cluster_started(c, r, "a report", &c->report_retry_at, &c->report_failures);
}

/* Take the next deadline into account. */
static void
cluster_deadline(uint64_t *next, uint64_t at)
{
	if (at < *next)
		*next = at;
}

/* Look at everything, start what is due, tell the broker, arm the timer. */
static void
cluster_run(struct cluster *c)
{
	uint64_t now = cluster_now(), next = UINT64_MAX;
	struct itimerspec its;
	int r;

	if (!c->started || c->stopping)
		return;

	/* Fencing first: nothing below may act on a stale lease. */
	if (c->elected && !cluster_fresh(c, now))
		cluster_step_down(c, "its lease keep-alives lapsed");

	if (c->old_lease != 0 && now >= c->old_lease_until) {
		cluster_cancel(&c->revoke_call);
		c->old_lease = 0;
	}
	if (c->old_lease != 0 && c->revoke_call == NULL) {
		if (now >= c->revoke_retry_at) {
			r = etcd_lease_revoke(c->etcd, c->old_lease, cluster_revoke_done, c,
			    &c->revoke_call);
			cluster_started(c, r, "a revoke", &c->revoke_retry_at, &c->revoke_failures);
		}
		if (c->revoke_call == NULL)
			cluster_deadline(&next, c->revoke_retry_at < c->old_lease_until ?
			    c->revoke_retry_at : c->old_lease_until);
	}
	if (c->old_lease != 0)
		cluster_deadline(&next, c->old_lease_until);

	if (c->lease == 0 && c->old_lease == 0 && c->grant_call == NULL) {
		if (now >= c->grant_retry_at) {
			c->grant_sent_at = now;
			r = etcd_lease_grant(c->etcd, c->lease_sec, cluster_grant_done, c,
			    &c->grant_call);
			cluster_started(c, r, "a lease grant", &c->grant_retry_at,
			    &c->grant_failures);
		}
		if (c->grant_call == NULL)
			cluster_deadline(&next, c->grant_retry_at);
	}

	if (c->lease != 0 && c->ka_call == NULL) {
		if (now >= c->ka_next) {
			c->ka_sent_at = now;
			if (now > c->lease_touched_at)
				c->lease_touched_at = now;
			r = etcd_lease_keepalive(c->etcd, c->lease, c->t.keepalive_timeout,
			    cluster_keepalive_done, c, &c->ka_call);
			if (r < 0) {
				log_warnx("cluster: cannot start a keep-alive: %s", strerror(-r));
				c->ka_next = now + c->t.keepalive_interval / 2;
			}
		}
		if (c->ka_call == NULL)
			cluster_deadline(&next, c->ka_next);
	}
	if (c->lease != 0)
		/* The fence: a leader steps down the moment it passes. */
		cluster_deadline(&next, c->lease_ok_at + c->t.fence);

	if (c->lease != 0 && !c->elected && c->campaign_call == NULL) {
		if (now >= c->campaign_retry_at)
			cluster_campaign(c, now);
		if (c->campaign_call == NULL)
			cluster_deadline(&next, c->campaign_retry_at);
	}

	if (c->elected && !c->state_read && c->state_call == NULL) {
		if (now >= c->state_retry_at) {
			r = etcd_range(c->etcd, c->state_key, false, cluster_state_done, c,
			    &c->state_call);
			cluster_started(c, r, "reading the durable state", &c->state_retry_at,
			    &c->state_failures);
		}
		if (c->state_call == NULL)
			cluster_deadline(&next, c->state_retry_at);
	}

	if (c->elected && c->state_read && c->dirty && c->proclaim_call == NULL) {
		if (now >= c->proclaim_retry_at)
			cluster_do_proclaim(c, now);
		if (c->proclaim_call == NULL)
			cluster_deadline(&next, c->proclaim_retry_at);
	}

	if (c->observe_call == NULL) {
		if (now >= c->observe_retry_at) {
			r = etcd_observe(c->etcd, c->election_name, cluster_observe_msg, c,
			    &c->observe_call);
			cluster_started(c, r, "observing the election", &c->observe_retry_at,
			    &c->observe_failures);
		}
		if (c->observe_call == NULL)
			cluster_deadline(&next, c->observe_retry_at);
	}

	if (c->poll_call == NULL) {
		if (now >= c->poll_next) {
			c->poll_as_leader = c->leader;
			r = etcd_leader(c->etcd, c->election_name, cluster_poll_done, c,
			    &c->poll_call);
			if (r < 0)
				c->poll_next = now + c->t.poll_interval;
		}
		if (c->poll_call == NULL)
			cluster_deadline(&next, c->poll_next);
	}

	if (c->leader && c->reports_call == NULL && c->watch_call == NULL) {
		if (now >= c->watch_retry_at) {
			if (c->watch_from == 0)
				r = etcd_range(c->etcd, c->reports_prefix, true, cluster_reports_done,
				    c, &c->reports_call);
			else
				r = etcd_watch(c->etcd, c->reports_prefix, true, c->watch_from,
				    cluster_watch_msg, c, &c->watch_call);
			cluster_started(c, r, "watching the reports", &c->watch_retry_at,
			    &c->watch_failures);
		}
		if (c->reports_call == NULL && c->watch_call == NULL)
			cluster_deadline(&next, c->watch_retry_at);
	}

	if (c->report_pending && c->lease != 0 && c->report_call == NULL) {
		if (now >= c->report_retry_at)
			cluster_do_report(c, now);
		if (c->report_pending && c->report_call == NULL)
			cluster_deadline(&next, c->report_retry_at);
	}

	/* A follower turns candidate when etcd has been silent for the fence. */
	if (c->etcd_ok_at != 0 && now < c->etcd_ok_at + c->t.fence)
		cluster_deadline(&next, c->etcd_ok_at + c->t.fence);

	cluster_tell(c);

	memset(&its, 0, sizeof(its));
	if (next != UINT64_MAX) {
		/* 0 would disarm: an overdue deadline fires a microsecond from now. */
		if (next <= now)
			next = now + 1;
		its.it_value.tv_sec = (time_t)(next / USEC_PER_SEC);
		its.it_value.tv_nsec = (long)(next % USEC_PER_SEC) * 1000;
	}
	if (timerfd_settime(c->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_warn("cluster: timerfd_settime");
}

/* libevent: the timerfd fired. */
static void
cluster_timer_event(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;
	uint64_t n;

	while (read(fd, &n, sizeof(n)) < 0 && errno == EINTR)
		;
	cluster_run(c);
}

/* libevent: a run was asked for. */
static void
cluster_kick_event(evutil_socket_t fd, short what, void *arg)
{
	cluster_run(arg);
}

/* ---- the public side ---- */

/* Mark the state changed; the leader proclaims it on the next run. */
void
cluster_proclaim(struct cluster *c)
{
	c->dirty = true;
	c->proclaim_retry_at = 0;
	cluster_kick(c);
}

/* Queue a follower's report for the leader (the newest generation wins). */
int
cluster_report_rejected(struct cluster *c, int64_t generation)
{
	if (generation < 0)
		return -EINVAL;
	if (cluster_role(c) != CLUSTER_FOLLOWER)
		return -ENOTCONN;
	if (!c->report_pending || generation > c->report_generation)
		c->report_generation = generation;
	c->report_pending = true;
	c->report_retry_at = 0;
	c->report_failures = 0;
	cluster_kick(c);
	return 0;
}

/* Whether Tradovate may be contacted now: leader, with a fresh keep-alive. */
bool
cluster_may_send(struct cluster *c)
{
	uint64_t now = cluster_now();

	if (c->stopping || !c->leader)
		return false;
	if (!cluster_fresh(c, now)) {
		/* Step down now (on the next turn): callers may hold state of ours. */
		cluster_kick(c);
		return false;
	}
	return true;
}

/* The role now. */
enum cluster_role
cluster_role(const struct cluster *c)
{
	const char *leader;

	return cluster_compute_role(c, &leader);
}

/* The leader as last told to the broker. */
const char *
cluster_leader(const struct cluster *c)
{
	return c->told && c->told_leader[0] != '\0' ? c->told_leader : NULL;
}

/* The timing derived from LeaseSec. */
const struct cluster_timing *
cluster_timing(const struct cluster *c)
{
	return &c->t;
}

/* Derive the timing from the lease length. */
static void
cluster_set_timing(struct cluster_timing *t, uint64_t lease)
{
	t->keepalive_interval = lease / 6;
	t->keepalive_timeout = lease / 6;
	t->fence = lease / 3;
	t->request_timeout = lease / 3 > USEC_PER_SEC ? lease / 3 : USEC_PER_SEC;
	t->poll_interval = lease;
	t->retry_min = lease / 10 > 100 * USEC_PER_MSEC ? lease / 10 : 100 * USEC_PER_MSEC;
	t->retry_max = lease;
}

/* Copy what the cluster needs from cfg, derive the key, make the etcd client and timers. */
int
cluster_new(struct event_base *base, struct http *http, const struct config *cfg,
    const struct cluster_callbacks *cb, void *arg, struct cluster **out)
{
	struct etcd_options o;
	struct cluster *c;
	int r;

	if (base == NULL || http == NULL || cfg == NULL || cb == NULL || out == NULL ||
	    !cfg->cluster || cfg->n_etcd == 0 || cfg->election == NULL || cfg->member == NULL ||
	    cfg->lease < 2 * USEC_PER_SEC || cb->snapshot_for_proclaim == NULL ||
	    cb->on_role_change == NULL || cb->on_follow == NULL || cb->on_report == NULL ||
	    strlen(cfg->member) > CLUSTER_MAX_MEMBER)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->tfd = -1;
	c->base = base;
	c->http = http;
	c->cb = *cb;
	c->arg = arg;
	c->lease_sec = (int64_t)(cfg->lease / USEC_PER_SEC);
	cluster_set_timing(&c->t, cfg->lease);
	if (getrandom(&c->rng, sizeof(c->rng), GRND_NONBLOCK) != sizeof(c->rng) || c->rng == 0)
		c->rng = cluster_now() | 1;
	c->member = strdup(cfg->member);
	if (c->member == NULL ||
	    asprintf(&c->election_name, "%s/leader", cfg->election) < 0 ||
	    asprintf(&c->reports_prefix, "%s/reports/", cfg->election) < 0 ||
	    asprintf(&c->report_key, "%s/reports/%s", cfg->election, cfg->member) < 0 ||
	    asprintf(&c->state_key, "%s/state", cfg->election) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	r = seal_key_derive(cfg->password, cfg->secret, cfg->base_url, cfg->name, cfg->election,
	    &c->key);
	if (r < 0)
		goto fail;
	memset(&o, 0, sizeof(o));
	o.endpoints = (const char *const *)cfg->etcd;
	o.n_endpoints = cfg->n_etcd;
	o.ca_file = cfg->etcd_ca_file;
	o.cert_file = cfg->etcd_cert_file;
	o.key_file = cfg->etcd_key_file;
	o.user = cfg->etcd_user;
	o.password = cfg->etcd_user != NULL ? cfg->etcd_password : NULL;
	o.timeout = c->t.request_timeout;
	o.keepalive_idle = (unsigned)(c->lease_sec / 3 > 0 ? c->lease_sec / 3 : 1);
	r = etcd_new(http, &o, &c->etcd);
	if (r < 0)
		goto fail;
	c->tfd = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->tfd < 0) {
		r = -errno;
		goto fail;
	}
	c->timer = event_new(base, c->tfd, EV_READ | EV_PERSIST, cluster_timer_event, c);
	c->kick = event_new(base, -1, 0, cluster_kick_event, c);
	if (c->timer == NULL || c->kick == NULL || event_add(c->timer, NULL) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	*out = c;
	return 0;
fail:
	cluster_free(c);
	return r;
}

/* Begin: report candidate, then lease, campaign and observe on the next run. */
int
cluster_start(struct cluster *c)
{
	if (c->started)
		return -EALREADY;
	c->started = true;
	c->lease_dropped_at = cluster_now();
	log_info("cluster: %s joins election %s on %s (lease %llds)", c->member,
	    c->election_name, etcd_endpoint(c->etcd), (long long)c->lease_sec);
	cluster_tell(c);
	cluster_kick(c);
	return 0;
}

/* libevent: tell the stopper that leaving is over. */
static void
cluster_stop_event(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;
	void (*done)(void *) = c->stop_done;

	c->stop_done = NULL;
	cluster_cancel(&c->stop_call);
	if (done != NULL)
		done(c->stop_arg);
}

/* The revoke that ends a stop answered (or failed). */
static void
cluster_stop_revoked(struct etcd_call *call, const struct etcd_reply *r, void *arg)
{
	struct cluster *c = arg;

	c->stop_call = NULL;
	event_active(c->stop_ev, EV_TIMEOUT, 0);
}

/* Stop everything, revoke the lease so another takes over at once, then call done. */
void
cluster_stop(struct cluster *c, void (*done)(void *arg), void *arg)
{
	struct timeval tv;
	int64_t lease = c->lease;

	if (c->stopping)
		return;
	c->stopping = true;
	c->stop_done = done;
	c->stop_arg = arg;
	cluster_leave_election(c);
	cluster_cancel(&c->ka_call);
	cluster_cancel(&c->grant_call);
	cluster_cancel(&c->revoke_call);
	cluster_cancel(&c->observe_call);
	cluster_cancel(&c->poll_call);
	cluster_cancel(&c->report_call);
	c->lease = 0;
	(void)timerfd_settime(c->tfd, 0, &(struct itimerspec){ 0 }, NULL);
	c->stop_ev = evtimer_new(c->base, cluster_stop_event, c);
	if (c->stop_ev == NULL) {
		if (done != NULL)
			done(arg);
		c->stop_done = NULL;
		return;
	}
	/* Revoking deletes our keys at once: another broker takes over without waiting. */
	if (lease != 0 && etcd_lease_revoke(c->etcd, lease, cluster_stop_revoked, c,
	    &c->stop_call) == 0) {
		tv.tv_sec = (time_t)(c->t.fence / USEC_PER_SEC);
		tv.tv_usec = (suseconds_t)(c->t.fence % USEC_PER_SEC);
		evtimer_add(c->stop_ev, &tv);
		return;
	}
	event_active(c->stop_ev, EV_TIMEOUT, 0);
}

/* Cancel every call, free the timers and wipe the key. */
void
cluster_free(struct cluster *c)
{
	if (c == NULL)
		return;
	/* Calls first (no callback after this), then the events, then the rest. */
	etcd_free(c->etcd);
	etcd_leader_key_clear(&c->my_key);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->kick != NULL)
		event_free(c->kick);
	if (c->stop_ev != NULL)
		event_free(c->stop_ev);
	if (c->tfd >= 0)
		close(c->tfd);
	seal_key_free(c->key);
	free(c->member);
	free(c->election_name);
	free(c->reports_prefix);
	free(c->report_key);
	free(c->state_key);
	explicit_bzero(c, sizeof(*c));
	free(c);
}
