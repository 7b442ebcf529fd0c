/* SPDX-License-Identifier: MIT */
/*
 * The token lifecycle: one state machine, no I/O.
 *
 * It is fed events (start, timer fired, upstream reply, client report,
 * reload) with the current wall-clock time, and leaves behind what the caller
 * must do: send a token request or a renewal, arm the timer, publish the
 * token, log events. Everything about Tradovate's limits and the broker's own
 * ceilings lives here, so it can be driven by a fake clock in tests.
 */
#ifndef TVTOKEND_LIFECYCLE_H
#define TVTOKEND_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "reply.h"
#include "timeutil.h"
#include "token.h"

enum lc_state {
	LC_STARTING,
	LC_REQUESTING,
	LC_VALID,
	LC_RENEWING,
	LC_BACKOFF,
	LC_PENALTY,
	LC_RATE_LIMITED,
	LC_LOCKED_OUT,
	LC_CREDENTIALS_REJECTED,
	LC_EXPIRED,
	_LC_STATE_MAX,
};

/* Journal events (CONTRACT §6). */
enum lc_event {
	LC_EV_ACQUIRED,
	LC_EV_RENEWED,
	LC_EV_RENEW_FAILED,
	LC_EV_FALLBACK,
	LC_EV_REQUEST_FAILED,
	LC_EV_CREDENTIALS_REJECTED,
	LC_EV_PENALTY,
	LC_EV_RATE_LIMITED,
	LC_EV_LOCKED_OUT,
	LC_EV_EXPIRED,
	LC_EV_CLIENT_DENIED,        /* logged by the server, listed here for the id table */
	/* Cluster mode, logged by the broker (log_cluster_event). */
	LC_EV_LEADER_ELECTED,
	LC_EV_LEADERSHIP_LOST,
	LC_EV_FOLLOWING,
	_LC_EV_MAX,
};

/* What the caller must send now (at most one request is ever in flight). */
enum lc_send {
	LC_SEND_NONE,
	LC_SEND_REQUEST,            /* with lc->p_ticket when non-NULL */
	LC_SEND_RENEWAL,            /* with lc->token.access_token */
};

enum lc_hold {
	LC_HOLD_NONE,
	LC_HOLD_PENALTY,
	LC_HOLD_RATE_LIMITED,       /* upstream 429 */
	LC_HOLD_LOCKED_OUT,         /* 423 or captcha */
};

/* A local hourly ceiling (CONTRACT §3 [Token]). */
enum lc_ceiling {
	LC_CEILING_NONE,
	LC_CEILING_RENEWALS,        /* MaxRenewalsPerHour */
	LC_CEILING_FAILED_REQUESTS, /* MaxFailedRequestsPerHour */
};

/* Answer to ReportRejected. */
enum lc_report {
	LC_REPORT_INVALID,          /* negative, or newer than the current generation */
	LC_REPORT_NO_TOKEN,
	LC_REPORT_CURRENT,          /* reply with the current token at once */
	LC_REPORT_WAIT,             /* reply once the token changes (or is lost) */
};

struct lc_params {
	usec_t renew_before;
	usec_t retry_min;
	usec_t retry_max;
	usec_t lockout;
	unsigned max_renewals;        /* per rolling hour, 1..15 */
	unsigned max_failed;          /* per rolling hour, 1..5 */
	usec_t answer_horizon;        /* a retry due within this is "soon" for a waiting report (RequestTimeoutSec=) */
};

#define LC_WINDOW_MAX 16
#define LC_EVENTS_MAX 8

/* One logged event, with what the log line needs. */
struct lc_event_rec {
	enum lc_event event;
	enum reply_outcome outcome;   /* for failures */
	long http_status;             /* 0 when none */
	usec_t duration;              /* upstream request duration; 0 when not from a reply */
	usec_t next_attempt;          /* 0 when none scheduled */
	usec_t expiration;            /* acquired/renewed/expired */
	uint64_t generation;
	enum lc_ceiling ceiling;      /* rate_limited by a local ceiling, not by Tradovate */
	unsigned ceiling_max;         /* then: the ceiling's value */
};

/* A rolling one-hour window of wall-clock timestamps. */
struct lc_window {
	usec_t t[LC_WINDOW_MAX];
	unsigned n;
};

/*
 * What a cluster's leader shows its clients (GetStatus, STATUS=), proclaimed
 * with its snapshot so that followers show the same.
 */
struct lc_view {
	bool present;
	enum lc_state state;
	usec_t retry_at;                /* 0: none */
	usec_t next_renewal;            /* 0: none */
	char last_error[192];
};

/*
 * What must outlive the process (the state file) or move to another broker
 * (a cluster's followers and next leader): the token and its generation,
 * the rolling windows behind the hourly ceilings, what Tradovate imposed,
 * and whether the credentials were rejected. Every time is wall clock.
 * Holds copies: release with lc_snapshot_clear().
 */
struct lc_snapshot {
	usec_t taken_at;
	uint64_t generation;            /* of the last token installed (0: none ever) */
	struct token token;             /* access_token NULL: no valid token */
	struct lc_window renewals;      /* renewals sent */
	/* failed token requests; a request in flight counts, as a crash now would have to assume */
	struct lc_window failed;
	enum lc_hold hold;              /* LC_HOLD_NONE, or one running at taken_at */
	usec_t hold_until;
	enum lc_send hold_for;          /* what goes out when it ends */
	char *p_ticket;                 /* penalty ticket resent with the next token request, or NULL */
	bool credentials_rejected;
	usec_t credentials_changed_at;  /* when credentials_rejected last changed (0: never) */
	struct lc_view view;            /* a cluster leader's view; not in the state file */
};

struct lifecycle {
	struct lc_params p;
	uint64_t (*random)(void *arg);  /* uniform 64-bit; injectable for tests */
	void *random_arg;

	enum lc_state state;
	bool started;
	/*
	 * Passive (a cluster's follower or candidate): nothing is ever sent; the
	 * token still expires at its time; the state comes from the adopted
	 * facts and, when present, the leader's view.
	 */
	bool passive;
	bool passive_full;              /* passive: the renewal ceiling is reached */
	struct lc_view view;            /* passive: the leader's, when following one */

	/* The held token; token.access_token == NULL when none. */
	struct token token;
	uint64_t generation;            /* of the last token installed (0: none ever) */
	usec_t renew_at;                /* when the held token's renewal is due */

	enum lc_send inflight;          /* request sent, reply pending */
	usec_t inflight_at;             /* when it was sent */
	uint64_t inflight_generation;   /* renewal: the generation it renews */
	bool credentials_rejected;
	usec_t credentials_changed_at;  /* when credentials_rejected last changed */
	bool fallback_pending;          /* the next token request replaces a lost token */

	enum lc_hold hold;              /* imposed by Tradovate */
	usec_t hold_until;
	enum lc_send hold_for;          /* penalty: what to resend afterwards */
	char *p_ticket;                 /* penalty ticket of a token request, resent with it */

	unsigned renew_attempt;         /* consecutive transient renewal failures */
	unsigned request_attempt;       /* consecutive transient request failures */
	usec_t renew_retry_at;          /* 0: none */
	usec_t request_retry_at;        /* 0: none */
	uint64_t forced_generation;     /* ReportRejected already forced a renewal of this one */
	bool force_renewal;

	struct lc_window renewals;      /* every renewal sent (one that never left is taken back) */
	struct lc_window failed;        /* failed token requests */
	unsigned ceiling_logged;        /* bit (1 << enum lc_ceiling): this episode was logged */

	usec_t retry_at;                /* when the next upstream attempt is scheduled, 0: none */
	usec_t next_renewal;            /* when the held token will be renewed, 0: none */

	/* GetStatus counters, since start. */
	uint64_t n_requests;
	uint64_t n_renewals;
	uint64_t n_failures;
	char last_error[192];

	/* Output of the last call: set by every entry point (each ends by re-planning). */
	enum lc_send send;
	usec_t timer_at;                /* 0: no timer needed */
	bool token_changed;             /* a new token was installed */
	bool token_lost;                /* the token was dropped (expiry, refusal, account change) */
	bool state_changed;
	bool gave_up_changed;           /* lc_gives_up() became true */
	bool gave_up_before;
	bool reports_released;          /* lc_answer_coming() became false: answer waiting reports */
	bool answer_coming;             /* what lc_answer_coming() says, as of the last call */
	bool answer_coming_before;
	bool persist_changed;           /* what lc_snapshot_take returns changed: save it (before sending) */
	bool report_at_ceiling;         /* ReportRejected answered CURRENT because of the ceiling */
	struct lc_event_rec events[LC_EVENTS_MAX];
	unsigned n_events;
};

void lc_init(struct lifecycle *lc, const struct lc_params *p,
	     uint64_t (*random)(void *arg), void *random_arg);

/* Drop everything, wiping the token. */
void lc_free(struct lifecycle *lc);

/* Install a token read from the state file before lc_start (copied). Ignored if expired. */
int lc_restore(struct lifecycle *lc, const struct token *t, usec_t now);

/* Copy what must survive a restart (see struct lc_snapshot). 0 or -ENOMEM (*out untouched). */
int lc_snapshot_take(const struct lifecycle *lc, usec_t now, struct lc_snapshot *out);

/*
 * Merge a snapshot (from the state file before lc_start, or from another
 * broker at any time): the generation and windows only grow (windows are
 * merged, equal times counted once), a newer valid token (higher
 * generation) replaces the held one, a hold that ends later replaces the
 * current one, and credentials_rejected is taken when the snapshot's
 * change is newer than ours. Idempotent; a started lifecycle re-plans
 * (outputs as after any call). 0, or -ENOMEM with nothing changed.
 */
int lc_snapshot_adopt(struct lifecycle *lc, const struct lc_snapshot *s, usec_t now);

/* Wipe and free what a snapshot holds; leaves it zeroed. */
void lc_snapshot_clear(struct lc_snapshot *s);

void lc_start(struct lifecycle *lc, usec_t now);

/* The timer fired, or the clock was stepped: re-evaluate everything. */
void lc_tick(struct lifecycle *lc, usec_t now);

/* The reply to what lc->send asked for. The reply is consumed (token moved out). */
void lc_reply(struct lifecycle *lc, struct reply *r, usec_t now);

/* The in-flight request could not even be started (e.g. out of memory): not sent, a connect failure. */
void lc_send_failed(struct lifecycle *lc, usec_t now);

/*
 * Become passive (stop sending; a request in flight is forgotten: the
 * caller cancelled it, and a token request counts as failed, as it may have
 * reached the server) or active again (the plan may send at once).
 */
void lc_set_passive(struct lifecycle *lc, bool passive, usec_t now);

/*
 * What the last call asked to send (lc->send) was not sent (the caller may
 * not send any more): take its charge back (window entry, counters) and
 * become passive.
 */
void lc_withdraw(struct lifecycle *lc, usec_t now);

/*
 * Passive only: follow a leader's snapshot. Like lc_snapshot_adopt, plus:
 * the leader's view is shown; a token the leader dropped (its generation is
 * at least ours and it has none) is dropped; an older token than ours is
 * ignored (*older set) unless ours is gone, when it is taken with its
 * generation. 0 or -ENOMEM (nothing changed) or -EINVAL (not passive).
 */
int lc_follow(struct lifecycle *lc, const struct lc_snapshot *s, usec_t now, bool *older);

/* Forget the leader's view (no leader known any more); the state is computed from the facts. */
void lc_forget_view(struct lifecycle *lc, usec_t now);

/* This lifecycle's own view, to proclaim as leader. */
void lc_view_take(const struct lifecycle *lc, struct lc_view *v);

/* A client says the token of this generation was refused. */
enum lc_report lc_report_rejected(struct lifecycle *lc, int64_t generation, usec_t now);

/* Config reloaded: new parameters; account_changed drops the token; a credentials_rejected broker tries again. */
void lc_reload(struct lifecycle *lc, const struct lc_params *p, bool account_changed, usec_t now);

/* The token valid at now, or NULL. Checked at serve time, never only by timers. */
const struct token *lc_current(const struct lifecycle *lc, usec_t now);

/* Whether clients waiting for a token should be told NoToken now. */
bool lc_gives_up(const struct lifecycle *lc);

/*
 * Whether a new token is on its way soon, as of the last call: a request or
 * renewal in flight, or a retry after a transient failure due within
 * p.answer_horizon of that call (and, with a token, before it expires).
 * False under any hold, at a local ceiling, with rejected credentials, when
 * the renewal retry lies beyond expiry or beyond the horizon (issue 8.1: an
 * unreachable Tradovate must not keep a report waiting through its
 * backoff): a waiting ReportRejected is answered then.
 */
bool lc_answer_coming(const struct lifecycle *lc);

/* When the next upstream attempt is scheduled (retryAt), 0 for none. */
usec_t lc_retry_at(const struct lifecycle *lc);

/* When the held token will be renewed, 0 when none. */
usec_t lc_next_renewal(const struct lifecycle *lc);

unsigned lc_renewals_left(const struct lifecycle *lc, usec_t now);
unsigned lc_failed_left(const struct lifecycle *lc, usec_t now);

/* A short reason for NoToken replies ("token expired", "credentials rejected", ...). */
const char *lc_no_token_reason(const struct lifecycle *lc);

const char *lc_state_to_string(enum lc_state s);
const char *lc_event_to_string(enum lc_event e);

#endif
