/* SPDX-License-Identifier: MIT */
/*
 * The token lifecycle. See lifecycle.h for the calling convention.
 *
 * Every entry point clears the outputs, applies its event, then calls
 * lc_plan(), which is the single place that decides what happens next from
 * the facts held here: the token and its expiry, what is in flight, what
 * Tradovate imposed (penalty, lockout, 429), the retry schedules and the
 * rolling-hour ceilings. Keeping the decision in one function is what makes
 * the invariants easy to check:
 *
 *   - a token is never handed out at or after its expiration (lc_current);
 *   - a token request is sent only when no token is held, i.e. after expiry
 *     or a refused renewal (or before the first token);
 *   - nothing is sent while Tradovate's hold runs, nothing while a request is
 *     in flight, and never past a local ceiling.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"

#define LC_WINDOW_SPAN USEC_PER_HOUR

static const char *const state_names[_LC_STATE_MAX] = {
	[LC_STARTING] = "starting",
	[LC_REQUESTING] = "requesting",
	[LC_VALID] = "valid",
	[LC_RENEWING] = "renewing",
	[LC_BACKOFF] = "backoff",
	[LC_PENALTY] = "penalty",
	[LC_RATE_LIMITED] = "rate_limited",
	[LC_LOCKED_OUT] = "locked_out",
	[LC_CREDENTIALS_REJECTED] = "credentials_rejected",
	[LC_EXPIRED] = "expired",
};

static const char *const event_names[_LC_EV_MAX] = {
	[LC_EV_ACQUIRED] = "acquired",
	[LC_EV_RENEWED] = "renewed",
	[LC_EV_RENEW_FAILED] = "renew_failed",
	[LC_EV_FALLBACK] = "fallback",
	[LC_EV_REQUEST_FAILED] = "request_failed",
	[LC_EV_CREDENTIALS_REJECTED] = "credentials_rejected",
	[LC_EV_PENALTY] = "penalty",
	[LC_EV_RATE_LIMITED] = "rate_limited",
	[LC_EV_LOCKED_OUT] = "locked_out",
	[LC_EV_EXPIRED] = "expired",
	[LC_EV_CLIENT_DENIED] = "client_denied",
	[LC_EV_LEADER_ELECTED] = "leader_elected",
	[LC_EV_LEADERSHIP_LOST] = "leadership_lost",
	[LC_EV_FOLLOWING] = "following",
};

/* The name CONTRACT §4 gives a state. */
const char *lc_state_to_string(enum lc_state s)
{
	if ((unsigned)s >= _LC_STATE_MAX)
		return "unknown";
	return state_names[s];
}

/* The TVTOKEND_EVENT= value of an event. */
const char *lc_event_to_string(enum lc_event e)
{
	if ((unsigned)e >= _LC_EV_MAX)
		return "unknown";
	return event_names[e];
}

static usec_t usec_min(usec_t a, usec_t b)
{
	return a < b ? a : b;
}

static usec_t usec_max(usec_t a, usec_t b)
{
	return a > b ? a : b;
}

/* Forget entries older than an hour; entries from the future (clock stepped back) count as now. */
static void window_prune(struct lc_window *w, usec_t now)
{
	unsigned i, j;

	for (i = 0, j = 0; i < w->n; i++) {
		usec_t t = usec_min(w->t[i], now);

		if (now - t < LC_WINDOW_SPAN)
			w->t[j++] = t;
	}
	w->n = j;
}

/* How many entries of the last hour are in w, without changing it. */
static unsigned window_count(const struct lc_window *w, usec_t now)
{
	unsigned i, n = 0;

	for (i = 0; i < w->n; i++)
		if (w->t[i] > now || now - w->t[i] < LC_WINDOW_SPAN)
			n++;
	return n;
}

/* When the oldest entry leaves the window. */
static usec_t window_frees_at(const struct lc_window *w, usec_t now)
{
	usec_t oldest = USEC_INFINITY;
	unsigned i;

	for (i = 0; i < w->n; i++)
		oldest = usec_min(oldest, usec_min(w->t[i], now));
	return oldest == USEC_INFINITY ? now : oldest + LC_WINDOW_SPAN;
}

/* Record one attempt at now; the caller checked there is room. */
static void window_add(struct lc_window *w, usec_t now)
{
	window_prune(w, now);
	if (w->n < LC_WINDOW_MAX)
		w->t[w->n++] = now;
}

static bool window_full(struct lc_window *w, unsigned max, usec_t now)
{
	window_prune(w, now);
	return w->n >= max;
}

/* Take back the newest entry (an attempt that turned out never to have been sent). */
static void window_remove_newest(struct lc_window *w)
{
	unsigned i, newest = 0;

	if (w->n == 0)
		return;
	for (i = 1; i < w->n; i++)
		if (w->t[i] > w->t[newest])
			newest = i;
	w->t[newest] = w->t[--w->n];
}

/* Whether w holds an entry at exactly t. */
static bool window_has(const struct lc_window *w, usec_t t)
{
	unsigned i;

	for (i = 0; i < w->n; i++)
		if (w->t[i] == t)
			return true;
	return false;
}

/*
 * Add src's entries of the last hour that w lacks (the same time is the
 * same attempt); when full, the oldest go first. Returns whether w changed.
 */
static bool window_merge(struct lc_window *w, const struct lc_window *src, usec_t now)
{
	unsigned i, j, oldest;
	bool changed = false;

	window_prune(w, now);
	for (i = 0; i < src->n && i < LC_WINDOW_MAX; i++) {
		usec_t t = src->t[i] > now ? now : src->t[i];

		if (now - t >= LC_WINDOW_SPAN || window_has(w, t))
			continue;
		if (w->n < LC_WINDOW_MAX) {
			w->t[w->n++] = t;
			changed = true;
			continue;
		}
		for (j = 1, oldest = 0; j < w->n; j++)
			if (w->t[j] < w->t[oldest])
				oldest = j;
		if (w->t[oldest] < t) {
			w->t[oldest] = t;
			changed = true;
		}
	}
	return changed;
}

/*
 * Delay before the n-th retry (n from 0): a uniform random time in [d/2, d]
 * with d = retry_min * 2^n capped at retry_max (CONTRACT §7).
 */
static usec_t backoff_delay(const struct lifecycle *lc, unsigned n)
{
	usec_t d = lc->p.retry_min, lo;

	while (n-- > 0 && d < lc->p.retry_max)
		d = d > lc->p.retry_max / 2 ? lc->p.retry_max : d * 2;
	d = usec_min(d, lc->p.retry_max);
	lo = d / 2;
	return lo + lc->random(lc->random_arg) % (d - lo + 1);
}

static bool have_token(const struct lifecycle *lc)
{
	return lc->token.access_token != NULL;
}

/* Note an event for the caller to log. */
static struct lc_event_rec *add_event(struct lifecycle *lc, enum lc_event e, const struct reply *r)
{
	struct lc_event_rec *ev;

	if (lc->n_events >= LC_EVENTS_MAX)
		return NULL;
	ev = &lc->events[lc->n_events++];
	memset(ev, 0, sizeof(*ev));
	ev->event = e;
	ev->generation = lc->generation;
	if (have_token(lc))
		ev->expiration = lc->token.expiration;
	if (r) {
		ev->outcome = r->outcome;
		ev->http_status = r->http_status;
		ev->duration = r->duration;
	}
	return ev;
}

/* Note that a local ceiling blocks an attempt: one rate_limited event per episode. */
static void note_ceiling(struct lifecycle *lc, enum lc_ceiling which)
{
	struct lc_event_rec *ev;

	if (lc->ceiling_logged & (1u << which))
		return;
	ev = add_event(lc, LC_EV_RATE_LIMITED, NULL);
	if (!ev)
		return;
	ev->ceiling = which;
	ev->ceiling_max = which == LC_CEILING_RENEWALS ? lc->p.max_renewals : lc->p.max_failed;
	lc->ceiling_logged |= 1u << which;
}

/* The ceiling has room again: the next time it blocks is a new episode. */
static void end_ceiling_episode(struct lifecycle *lc, enum lc_ceiling which)
{
	lc->ceiling_logged &= ~(1u << which);
}

/* Set or clear credentials_rejected, noting when (snapshots merge by it). */
static void set_credentials_rejected(struct lifecycle *lc, bool rejected, usec_t now)
{
	if (lc->credentials_rejected == rejected)
		return;
	lc->credentials_rejected = rejected;
	lc->credentials_changed_at = now;
	lc->persist_changed = true;
}

static void set_last_error(struct lifecycle *lc, const char *what, const struct reply *r)
{
	snprintf(lc->last_error, sizeof(lc->last_error), "%s: %.150s", what,
		 r->error[0] ? r->error : reply_outcome_to_string(r->outcome));
}

/* When to renew a token installed at now: RenewBeforeSec ahead, or half its life when shorter. */
static usec_t renewal_time(const struct lifecycle *lc, usec_t expiration, usec_t now)
{
	usec_t life = expiration > now ? expiration - now : 0;

	if (life > lc->p.renew_before)
		return expiration - lc->p.renew_before;
	return now + life / 2;
}

/* Forget everything about renewing the current token. */
static void reset_renewal(struct lifecycle *lc)
{
	lc->renew_attempt = 0;
	lc->renew_retry_at = 0;
	lc->force_renewal = false;
	lc->forced_generation = 0;
	if (lc->hold_for == LC_SEND_RENEWAL)
		lc->hold_for = LC_SEND_REQUEST;
}

/* Stop serving the token (expiry, refusal, account change). */
static void drop_token(struct lifecycle *lc)
{
	if (!have_token(lc))
		return;
	token_clear(&lc->token);
	lc->renew_at = 0;
	lc->token_lost = true;
	lc->persist_changed = true;
	reset_renewal(lc);
}

/* Make t (moved out of the caller) the current token. */
static void install_token(struct lifecycle *lc, struct token *t, usec_t now)
{
	token_clear(&lc->token);
	lc->token = *t;
	memset(t, 0, sizeof(*t));
	lc->token.generation = ++lc->generation;
	lc->renew_at = renewal_time(lc, lc->token.expiration, now);
	lc->token_changed = true;
	lc->token_lost = false;
	lc->persist_changed = true;
	set_credentials_rejected(lc, false, now);
	lc->request_attempt = 0;
	lc->request_retry_at = 0;
	lc->fallback_pending = false;
	reset_renewal(lc);
	lc->last_error[0] = '\0';
}

/* Impose Tradovate's wait. */
static void set_hold(struct lifecycle *lc, enum lc_hold h, usec_t until, enum lc_send resend)
{
	lc->hold = h;
	lc->hold_until = until;
	lc->hold_for = resend;
	lc->persist_changed = true;
}

static enum lc_state hold_state(enum lc_hold h)
{
	switch (h) {
	case LC_HOLD_PENALTY:
		return LC_PENALTY;
	case LC_HOLD_RATE_LIMITED:
		return LC_RATE_LIMITED;
	case LC_HOLD_LOCKED_OUT:
		return LC_LOCKED_OUT;
	default:
		return LC_BACKOFF;
	}
}

/* Clear the outputs of the previous call. */
static void begin(struct lifecycle *lc)
{
	lc->send = LC_SEND_NONE;
	lc->timer_at = 0;
	lc->token_changed = false;
	lc->token_lost = false;
	lc->state_changed = false;
	lc->gave_up_changed = false;
	lc->reports_released = false;
	lc->persist_changed = false;
	lc->report_at_ceiling = false;
	lc->n_events = 0;
	lc->gave_up_before = lc_gives_up(lc);
	lc->answer_coming_before = lc_answer_coming(lc);
}

/* Record that what lc->send asks for goes out now. */
static void start_send(struct lifecycle *lc, enum lc_send what, usec_t now)
{
	lc->send = lc->inflight = what;
	lc->inflight_at = now;
	lc->inflight_generation = what == LC_SEND_RENEWAL ? lc->token.generation : 0;
	lc->persist_changed = true;
}

/* Decide the plan for a held token; returns the state. */
static enum lc_state plan_renewal(struct lifecycle *lc, usec_t now, usec_t *timer)
{
	usec_t exp = lc->token.expiration, t;
	bool retrying = false, limited = false;

	if (lc->renew_retry_at) {
		t = lc->renew_retry_at;
		retrying = true;
	} else if (lc->force_renewal) {
		t = now;
	} else {
		t = lc->renew_at;
	}
	/* A full ceiling moves the attempt to when the window frees (and says so). */
	if (!window_full(&lc->renewals, lc->p.max_renewals, now)) {
		end_ceiling_episode(lc, LC_CEILING_RENEWALS);
	} else if (window_frees_at(&lc->renewals, now) > t) {
		t = window_frees_at(&lc->renewals, now);
		limited = true;
		note_ceiling(lc, LC_CEILING_RENEWALS);
	}
	if (t >= exp) {
		/* No renewal can go out before expiry: the fallback request will, at expiry. */
		*timer = exp;
		lc->retry_at = exp;
		lc->next_renewal = 0;
		return limited ? LC_RATE_LIMITED : retrying ? LC_BACKOFF : LC_VALID;
	}
	if (t > now) {
		*timer = t;
		lc->next_renewal = t;
		lc->retry_at = t;
		return limited ? LC_RATE_LIMITED : retrying ? LC_BACKOFF : LC_VALID;
	}
	window_add(&lc->renewals, now);
	lc->n_renewals++;
	lc->force_renewal = false;
	start_send(lc, LC_SEND_RENEWAL, now);
	lc->next_renewal = now;
	*timer = exp;
	return LC_RENEWING;
}

/* Decide the plan without a token; returns the state. */
static enum lc_state plan_request(struct lifecycle *lc, usec_t now, usec_t *timer)
{
	usec_t t = lc->request_retry_at ? lc->request_retry_at : now;
	bool limited = false;

	if (!window_full(&lc->failed, lc->p.max_failed, now)) {
		end_ceiling_episode(lc, LC_CEILING_FAILED_REQUESTS);
	} else if (window_frees_at(&lc->failed, now) > t) {
		t = window_frees_at(&lc->failed, now);
		limited = true;
		note_ceiling(lc, LC_CEILING_FAILED_REQUESTS);
	}
	if (t > now) {
		*timer = t;
		lc->retry_at = t;
		if (limited)
			return LC_RATE_LIMITED;
		return LC_BACKOFF;
	}
	lc->n_requests++;
	start_send(lc, LC_SEND_REQUEST, now);
	if (lc->fallback_pending)
		add_event(lc, LC_EV_FALLBACK, NULL);
	lc->fallback_pending = false;
	return LC_REQUESTING;
}

/*
 * Passive: what the state is, from the leader's view when there is one,
 * else from the facts held; nothing is sent, the timer only marks the
 * token's expiry and the end of a hold.
 */
static enum lc_state plan_passive(struct lifecycle *lc, usec_t now, usec_t *timer)
{
	bool holding = lc->hold != LC_HOLD_NONE && now < lc->hold_until;
	enum lc_state st;

	lc->passive_full = window_full(&lc->renewals, lc->p.max_renewals, now);
	if (have_token(lc))
		*timer = lc->token.expiration;
	if (holding)
		*timer = *timer ? usec_min(*timer, lc->hold_until) : lc->hold_until;
	if (lc->view.present && (unsigned)lc->view.state < _LC_STATE_MAX) {
		st = lc->view.state;
		lc->retry_at = lc->view.retry_at;
		if (have_token(lc))
			lc->next_renewal = lc->view.next_renewal;
		/* The leader's word cannot make a token this broker no longer holds valid. */
		if (!have_token(lc) && (st == LC_VALID || st == LC_RENEWING))
			st = LC_EXPIRED;
		return st;
	}
	if (lc->credentials_rejected)
		return LC_CREDENTIALS_REJECTED;
	if (holding) {
		lc->retry_at = lc->hold_until;
		return hold_state(lc->hold);
	}
	if (have_token(lc)) {
		lc->next_renewal = lc->renew_at;
		return lc->passive_full ? LC_RATE_LIMITED : LC_VALID;
	}
	return lc->generation ? LC_EXPIRED : LC_STARTING;
}

/* Whether a new token is on its way soon at now (see lc_answer_coming in lifecycle.h). */
static bool answer_coming_at(const struct lifecycle *lc, usec_t now)
{
	/* A follower: the leader renews it, unless a hold or ceiling says otherwise. */
	if (lc->passive)
		return have_token(lc) && !lc->passive_full && !lc->credentials_rejected &&
		       (lc->state == LC_VALID || lc->state == LC_RENEWING ||
			(lc->state == LC_BACKOFF && lc->next_renewal != 0));
	if (lc->inflight != LC_SEND_NONE)
		return true;
	if (lc->state != LC_BACKOFF || lc->retry_at == 0)
		return false;
	/* Backoff with a token: the retry goes out before expiry only when next_renewal is set. */
	if (have_token(lc) && lc->next_renewal == 0)
		return false;
	return lc->retry_at <= now + lc->p.answer_horizon;
}

/* The one place that decides what happens next. */
static void lc_plan(struct lifecycle *lc, usec_t now)
{
	enum lc_state st;
	usec_t timer = 0;
	unsigned i;

	lc->retry_at = 0;
	lc->next_renewal = 0;

	if (have_token(lc) && now >= lc->token.expiration) {
		add_event(lc, LC_EV_EXPIRED, NULL);
		drop_token(lc);
		lc->fallback_pending = true;
	}

	if (lc->passive) {
		st = plan_passive(lc, now, &timer);
	} else if (lc->inflight != LC_SEND_NONE) {
		if (lc->inflight == LC_SEND_REQUEST)
			st = LC_REQUESTING;
		else if (!have_token(lc))
			st = LC_EXPIRED;
		else {
			st = LC_RENEWING;
			timer = lc->token.expiration;
		}
	} else if (lc->credentials_rejected) {
		st = LC_CREDENTIALS_REJECTED;
		if (have_token(lc))
			timer = lc->token.expiration;
	} else if (lc->hold != LC_HOLD_NONE && now < lc->hold_until) {
		st = hold_state(lc->hold);
		lc->retry_at = lc->hold_until;
		timer = lc->hold_until;
		if (have_token(lc)) {
			timer = usec_min(timer, lc->token.expiration);
			if (lc->hold_until < lc->token.expiration)
				lc->next_renewal = lc->hold_until;
		}
	} else {
		if (lc->hold != LC_HOLD_NONE) {
			if (lc->hold_for == LC_SEND_RENEWAL && have_token(lc))
				lc->renew_retry_at = usec_max(lc->renew_retry_at, lc->hold_until);
			lc->hold = LC_HOLD_NONE;
			lc->hold_until = 0;
			lc->hold_for = LC_SEND_NONE;
			lc->persist_changed = true;
		}
		if (have_token(lc))
			st = plan_renewal(lc, now, &timer);
		else
			st = plan_request(lc, now, &timer);
	}

	if (!lc->started)
		st = LC_STARTING;
	if (st != lc->state) {
		lc->state = st;
		lc->state_changed = true;
	}
	lc->timer_at = timer;

	/* Events of this call say when the next attempt goes out. */
	for (i = 0; i < lc->n_events; i++)
		lc->events[i].next_attempt = lc->send != LC_SEND_NONE ? now : lc->retry_at;

	if (!lc->gave_up_before && lc_gives_up(lc))
		lc->gave_up_changed = true;
	lc->answer_coming = answer_coming_at(lc, now);
	if (lc->answer_coming_before && !lc->answer_coming)
		lc->reports_released = true;
}

/* Initialise with parameters and a random source; no token, state starting. */
void lc_init(struct lifecycle *lc, const struct lc_params *p,
	     uint64_t (*random)(void *arg), void *random_arg)
{
	memset(lc, 0, sizeof(*lc));
	lc->p = *p;
	lc->random = random;
	lc->random_arg = random_arg;
	lc->state = LC_STARTING;
}

/* Wipe the token and the penalty ticket. */
void lc_free(struct lifecycle *lc)
{
	token_clear(&lc->token);
	secret_free(lc->p_ticket);
	lc->p_ticket = NULL;
}

/* Adopt a token read from the state file; an expired one only carries its generation over. */
int lc_restore(struct lifecycle *lc, const struct token *t, usec_t now)
{
	struct lc_snapshot s;

	memset(&s, 0, sizeof(s));
	s.taken_at = now;
	s.generation = t->generation;
	s.token = *t;           /* borrowed: adopt copies what it keeps */
	return lc_snapshot_adopt(lc, &s, now);
}

/* Copy what must survive a restart: token, generation, windows, hold, rejected credentials. */
int lc_snapshot_take(const struct lifecycle *lc, usec_t now, struct lc_snapshot *out)
{
	const struct token *t = lc_current(lc, now);
	struct lc_snapshot s;

	memset(&s, 0, sizeof(s));
	s.taken_at = now;
	s.generation = lc->generation;
	if (t && token_copy(&s.token, t) < 0)
		return -ENOMEM;
	s.renewals = lc->renewals;
	window_prune(&s.renewals, now);
	s.failed = lc->failed;
	window_prune(&s.failed, now);
	/* A token request in flight may fail at the server; a restart cannot know, so it counts. */
	if (lc->inflight == LC_SEND_REQUEST)
		window_add(&s.failed, usec_min(lc->inflight_at, now));
	if (lc->hold != LC_HOLD_NONE && now < lc->hold_until) {
		s.hold = lc->hold;
		s.hold_until = lc->hold_until;
		s.hold_for = lc->hold_for;
	}
	if (lc->p_ticket && !(s.p_ticket = strdup(lc->p_ticket))) {
		lc_snapshot_clear(&s);
		return -ENOMEM;
	}
	s.credentials_rejected = lc->credentials_rejected;
	s.credentials_changed_at = lc->credentials_changed_at;
	*out = s;
	return 0;
}

/* Wipe and free what a snapshot holds. */
void lc_snapshot_clear(struct lc_snapshot *s)
{
	if (!s)
		return;
	token_clear(&s->token);
	secret_free(s->p_ticket);
	explicit_bzero(s, sizeof(*s));
}

/* The generation of the snapshot's token. */
static uint64_t snapshot_token_generation(const struct lc_snapshot *s)
{
	return s->token.generation ? s->token.generation : s->generation;
}

/* Whether the snapshot's token is valid at now and newer than anything this lifecycle had. */
static bool snapshot_token_wanted(const struct lifecycle *lc, const struct lc_snapshot *s, usec_t now)
{
	usec_t exp = s->token.expiration - s->token.expiration % USEC_PER_SEC;

	return s->token.access_token && token_valid(&s->token) && now < exp &&
	       snapshot_token_generation(s) > lc->generation;
}

/* Whether the snapshot's hold runs at now and ends after ours. */
static bool snapshot_hold_wanted(const struct lifecycle *lc, const struct lc_snapshot *s, usec_t now)
{
	if (s->hold == LC_HOLD_NONE || (unsigned)s->hold > LC_HOLD_LOCKED_OUT || now >= s->hold_until)
		return false;
	return lc->hold == LC_HOLD_NONE || now >= lc->hold_until || s->hold_until > lc->hold_until;
}

/*
 * Merge a snapshot; follow: it is a cluster leader's (lc_follow). Returns 0
 * or -ENOMEM with nothing changed.
 */
static int adopt(struct lifecycle *lc, const struct lc_snapshot *s, usec_t now, bool follow,
		 bool *older)
{
	bool take_token = snapshot_token_wanted(lc, s, now);
	bool take_hold = snapshot_hold_wanted(lc, s, now);
	bool changed = false, lower = false;
	struct token copy = { 0 };
	char *ticket = NULL;
	uint64_t gen, sgen = snapshot_token_generation(s);
	usec_t sexp = s->token.expiration - s->token.expiration % USEC_PER_SEC;

	if (follow && !take_token && s->token.access_token && token_valid(&s->token) && now < sexp) {
		/* An older token than ours: taken only when ours is gone (generations may go back then). */
		if (!lc_current(lc, now) && sgen > 0)
			lower = take_token = true;
		else if (sgen < lc->generation && older)
			*older = true;
	}

	/* Allocate first: on failure nothing has changed. */
	if (take_token && token_copy(&copy, &s->token) < 0)
		return -ENOMEM;
	if (take_hold && s->p_ticket && !(ticket = strdup(s->p_ticket))) {
		token_clear(&copy);
		return -ENOMEM;
	}

	begin(lc);
	/* The leader knows our token and holds none: it was refused, or it expired. */
	if (follow && !s->token.access_token && have_token(lc) && s->generation > 0 &&
	    s->generation >= lc->token.generation) {
		drop_token(lc);
		changed = true;
	}
	if (lower)
		lc->generation = sgen - 1;
	if (take_token) {
		token_clear(&lc->token);
		lc->token = copy;
		lc->token.expiration -= lc->token.expiration % USEC_PER_SEC;
		lc->token.generation = snapshot_token_generation(s);
		/* Inside the renewal window: renew at once. */
		lc->renew_at = lc->token.expiration > lc->p.renew_before ?
			       lc->token.expiration - lc->p.renew_before : now;
		lc->renew_at = usec_max(lc->renew_at, now);
		reset_renewal(lc);
		lc->request_attempt = 0;
		lc->request_retry_at = 0;
		lc->fallback_pending = false;
		lc->token_changed = true;
		changed = true;
	}
	gen = s->generation;
	if (take_token && lc->token.generation > gen)
		gen = lc->token.generation;
	if (gen > lc->generation) {
		lc->generation = gen;
		changed = true;
	}
	if (window_merge(&lc->renewals, &s->renewals, now))
		changed = true;
	if (window_merge(&lc->failed, &s->failed, now))
		changed = true;
	if (take_hold) {
		enum lc_send resend = s->hold_for == LC_SEND_RENEWAL ? LC_SEND_RENEWAL : LC_SEND_REQUEST;

		if (resend == LC_SEND_RENEWAL && !have_token(lc))
			resend = LC_SEND_REQUEST;
		set_hold(lc, s->hold, s->hold_until, resend);
		secret_free(lc->p_ticket);
		lc->p_ticket = ticket;
		changed = true;
	}
	if (s->credentials_changed_at > lc->credentials_changed_at) {
		lc->credentials_rejected = s->credentials_rejected;
		lc->credentials_changed_at = s->credentials_changed_at;
		changed = true;
	}
	lc->persist_changed = changed;
	if (follow)
		lc->view = s->view;
	if (lc->started)
		lc_plan(lc, now);
	return 0;
}

/* Merge a snapshot (see lifecycle.h). */
int lc_snapshot_adopt(struct lifecycle *lc, const struct lc_snapshot *s, usec_t now)
{
	return adopt(lc, s, now, false, NULL);
}

/* Follow a leader's snapshot (see lifecycle.h). */
int lc_follow(struct lifecycle *lc, const struct lc_snapshot *s, usec_t now, bool *older)
{
	if (older)
		*older = false;
	if (!lc->passive)
		return -EINVAL;
	return adopt(lc, s, now, true, older);
}

/* Forget the leader's view. */
void lc_forget_view(struct lifecycle *lc, usec_t now)
{
	begin(lc);
	memset(&lc->view, 0, sizeof(lc->view));
	lc_plan(lc, now);
}

/* This lifecycle's view, as GetStatus shows it. */
void lc_view_take(const struct lifecycle *lc, struct lc_view *v)
{
	memset(v, 0, sizeof(*v));
	v->present = true;
	v->state = lc->state;
	v->retry_at = lc_retry_at(lc);
	v->next_renewal = lc_next_renewal(lc);
	snprintf(v->last_error, sizeof(v->last_error), "%s", lc->last_error);
}

/* Forget everything about sending: what is in flight and the retry schedules. */
static void forget_sending(struct lifecycle *lc)
{
	lc->inflight = LC_SEND_NONE;
	lc->renew_retry_at = 0;
	lc->request_retry_at = 0;
	lc->renew_attempt = 0;
	lc->request_attempt = 0;
	lc->force_renewal = false;
}

/* Become passive or active (see lifecycle.h). */
void lc_set_passive(struct lifecycle *lc, bool passive, usec_t now)
{
	begin(lc);
	if (passive && !lc->passive) {
		/* A token request that may have reached the server counts as a failed one. */
		if (lc->inflight == LC_SEND_REQUEST)
			window_add(&lc->failed, usec_min(lc->inflight_at, now));
		forget_sending(lc);
		lc->persist_changed = true;
	}
	if (passive != lc->passive)
		memset(&lc->view, 0, sizeof(lc->view));
	lc->passive = passive;
	lc_plan(lc, now);
}

/* Take back what the last call asked to send, then become passive. */
void lc_withdraw(struct lifecycle *lc, usec_t now)
{
	enum lc_send what = lc->send;

	begin(lc);
	if (what == LC_SEND_RENEWAL) {
		window_remove_newest(&lc->renewals);
		if (lc->n_renewals > 0)
			lc->n_renewals--;
	} else if (what == LC_SEND_REQUEST && lc->n_requests > 0) {
		lc->n_requests--;
	}
	if (what != LC_SEND_NONE)
		forget_sending(lc);
	lc->persist_changed = true;
	if (!lc->passive)
		memset(&lc->view, 0, sizeof(lc->view));
	lc->passive = true;
	lc_plan(lc, now);
}

/* First evaluation: request a token, or serve the restored one. */
void lc_start(struct lifecycle *lc, usec_t now)
{
	begin(lc);
	lc->started = true;
	lc_plan(lc, now);
}

/* Timer fired or clock stepped. */
void lc_tick(struct lifecycle *lc, usec_t now)
{
	begin(lc);
	lc_plan(lc, now);
}

/*
 * Tradovate imposed a wait: a penalty (p-time), a lockout (423 or captcha,
 * LockoutSec) or a rate limit (Retry-After, else LockoutSec). Nothing is
 * sent until it ends; then resend is what goes out.
 */
static void impose_wait(struct lifecycle *lc, const struct reply *r, usec_t now, enum lc_send resend)
{
	switch (r->outcome) {
	case REPLY_PENALTY:
		set_hold(lc, LC_HOLD_PENALTY, now + r->p_time, resend);
		add_event(lc, LC_EV_PENALTY, r);
		break;
	case REPLY_RATE_LIMITED:
		set_hold(lc, LC_HOLD_RATE_LIMITED,
			 r->retry_after >= now ? r->retry_after : now + lc->p.lockout, resend);
		add_event(lc, LC_EV_RATE_LIMITED, r);
		break;
	default:
		set_hold(lc, LC_HOLD_LOCKED_OUT, now + lc->p.lockout, resend);
		add_event(lc, LC_EV_LOCKED_OUT, r);
		break;
	}
}

/* A reply to a token request. */
static void on_request_reply(struct lifecycle *lc, struct reply *r, usec_t now)
{
	if (r->outcome != REPLY_PENALTY) {
		secret_free(lc->p_ticket);
		lc->p_ticket = NULL;
	}
	if (r->outcome == REPLY_SUCCESS && r->token.expiration <= now) {
		/* A token that is already dead would make us ask again at once: a failure. */
		r->outcome = REPLY_TRANSIENT;
		snprintf(r->error, sizeof(r->error), "token already expired on arrival");
	}
	if (r->outcome != REPLY_SUCCESS)
		lc->n_failures++;
	if (reply_counts_as_failed_request(r))
		window_add(&lc->failed, now);

	switch (r->outcome) {
	case REPLY_SUCCESS:
		install_token(lc, &r->token, now);
		add_event(lc, LC_EV_ACQUIRED, r);
		return;
	case REPLY_BAD_CREDENTIALS:
		set_credentials_rejected(lc, true, now);
		add_event(lc, LC_EV_CREDENTIALS_REJECTED, r);
		set_last_error(lc, "token request", r);
		return;
	case REPLY_PENALTY:
		/* The resend carries this ticket. */
		secret_free(lc->p_ticket);
		lc->p_ticket = r->p_ticket;
		r->p_ticket = NULL;
		/* fall through */
	case REPLY_CAPTCHA:
	case REPLY_LOCKED:
	case REPLY_RATE_LIMITED:
		impose_wait(lc, r, now, LC_SEND_REQUEST);
		set_last_error(lc, "token request", r);
		return;
	case REPLY_REFUSED:
	case REPLY_TRANSIENT:
	case REPLY_CONNECT_FAILED:
		lc->request_retry_at = now + backoff_delay(lc, lc->request_attempt);
		if (lc->request_attempt < 64)
			lc->request_attempt++;
		add_event(lc, LC_EV_REQUEST_FAILED, r);
		set_last_error(lc, "token request", r);
		return;
	}
}

/* A reply to a renewal. */
static void on_renewal_reply(struct lifecycle *lc, struct reply *r, usec_t now)
{
	if (r->outcome == REPLY_SUCCESS && r->token.expiration <= now) {
		r->outcome = REPLY_TRANSIENT;
		snprintf(r->error, sizeof(r->error), "renewed token already expired on arrival");
	}
	if (r->outcome != REPLY_SUCCESS)
		lc->n_failures++;
	/* Never sent: it does not count against MaxRenewalsPerHour (GetStatus still counts the attempt). */
	if (r->outcome == REPLY_CONNECT_FAILED)
		window_remove_newest(&lc->renewals);
	/*
	 * The token it renewed was replaced meanwhile (a snapshot adopted): a
	 * refusal or failure concerns the old one. Tradovate's holds still apply.
	 */
	if (r->outcome != REPLY_SUCCESS && have_token(lc) &&
	    lc->token.generation != lc->inflight_generation) {
		switch (r->outcome) {
		case REPLY_PENALTY:
		case REPLY_CAPTCHA:
		case REPLY_LOCKED:
		case REPLY_RATE_LIMITED:
			impose_wait(lc, r, now, LC_SEND_RENEWAL);
			set_last_error(lc, "renewal", r);
			break;
		default:
			break;
		}
		return;
	}

	switch (r->outcome) {
	case REPLY_SUCCESS:
		if (have_token(lc) && token_inherit(&r->token, &lc->token) < 0) {
			/* Out of memory: keep the old token and retry like a transient failure. */
			r->outcome = REPLY_TRANSIENT;
			snprintf(r->error, sizeof(r->error), "out of memory");
			break;
		}
		install_token(lc, &r->token, now);
		add_event(lc, LC_EV_RENEWED, r);
		return;
	case REPLY_REFUSED:
	case REPLY_BAD_CREDENTIALS:
		/* The session is dead: stop serving it now and ask for a new one. */
		add_event(lc, LC_EV_RENEW_FAILED, r);
		set_last_error(lc, "renewal", r);
		drop_token(lc);
		lc->fallback_pending = true;
		return;
	case REPLY_PENALTY:
	case REPLY_CAPTCHA:
	case REPLY_LOCKED:
	case REPLY_RATE_LIMITED:
		impose_wait(lc, r, now, LC_SEND_RENEWAL);
		set_last_error(lc, "renewal", r);
		return;
	case REPLY_TRANSIENT:
	case REPLY_CONNECT_FAILED:
		break;
	}

	/* Transient: keep serving, retry with backoff (never past expiry: lc_plan sees to that). */
	lc->renew_retry_at = now + backoff_delay(lc, lc->renew_attempt);
	if (lc->renew_attempt < 64)
		lc->renew_attempt++;
	add_event(lc, LC_EV_RENEW_FAILED, r);
	set_last_error(lc, "renewal", r);
}

/* The reply to what was sent; the reply's token and ticket are taken over. */
void lc_reply(struct lifecycle *lc, struct reply *r, usec_t now)
{
	enum lc_send what = lc->inflight;

	begin(lc);
	lc->inflight = LC_SEND_NONE;
	lc->persist_changed = true;
	/*
	 * Published times are whole seconds: never serve past the second we
	 * publish. Cut before anything looks at it, so that a token with less
	 * than a second to live counts as dead on arrival (a failure), not as
	 * a success that expires at once and asks again.
	 */
	if (r->outcome == REPLY_SUCCESS)
		r->token.expiration -= r->token.expiration % USEC_PER_SEC;
	if (what == LC_SEND_REQUEST)
		on_request_reply(lc, r, now);
	else if (what == LC_SEND_RENEWAL)
		on_renewal_reply(lc, r, now);
	lc_plan(lc, now);
}

/* The request could not be started at all: a connect failure that never reached the server. */
void lc_send_failed(struct lifecycle *lc, usec_t now)
{
	struct reply r;

	memset(&r, 0, sizeof(r));
	r.kind = lc->inflight == LC_SEND_RENEWAL ? REPLY_KIND_RENEWAL : REPLY_KIND_REQUEST;
	r.outcome = REPLY_CONNECT_FAILED;
	snprintf(r.error, sizeof(r.error), "could not start the request");
	lc_reply(lc, &r, now);
	reply_clear(&r);
}

/* Decide the answer to ReportRejected; may force a renewal. */
static enum lc_report report_decide(struct lifecycle *lc, int64_t generation, usec_t now)
{
	if (generation < 0 || (uint64_t)generation > lc->generation)
		return LC_REPORT_INVALID;
	if (!lc_current(lc, now))
		return LC_REPORT_NO_TOKEN;
	if ((uint64_t)generation < lc->generation)
		return LC_REPORT_CURRENT;
	/* Locked out, rate limited by Tradovate, credentials rejected: no renewal will come. */
	if (lc_gives_up(lc))
		return LC_REPORT_CURRENT;
	if (lc->passive) {
		/* The leader renews, if anyone: the caller forwards the report to it. */
		if (lc->credentials_rejected || (lc->hold != LC_HOLD_NONE && now < lc->hold_until))
			return LC_REPORT_CURRENT;
		if (window_full(&lc->renewals, lc->p.max_renewals, now)) {
			lc->report_at_ceiling = true;
			return LC_REPORT_CURRENT;
		}
		return LC_REPORT_WAIT;
	}
	/* A renewal of this token is under way or being retried: its outcome is the answer. */
	if (lc->inflight == LC_SEND_RENEWAL || lc->renew_retry_at ||
	    lc->forced_generation == lc->generation) {
		lc->forced_generation = lc->generation;
		return LC_REPORT_WAIT;
	}
	if (lc->credentials_rejected || lc->inflight == LC_SEND_REQUEST ||
	    (lc->hold != LC_HOLD_NONE && now < lc->hold_until))
		return LC_REPORT_CURRENT;
	if (window_full(&lc->renewals, lc->p.max_renewals, now)) {
		lc->report_at_ceiling = true;
		note_ceiling(lc, LC_CEILING_RENEWALS);
		return LC_REPORT_CURRENT;
	}
	lc->forced_generation = lc->generation;
	lc->force_renewal = true;
	return LC_REPORT_WAIT;
}

/* ReportRejected (CONTRACT §4, §7): one renewal per generation, within the ceiling. */
enum lc_report lc_report_rejected(struct lifecycle *lc, int64_t generation, usec_t now)
{
	enum lc_report rep;

	begin(lc);
	rep = report_decide(lc, generation, now);
	lc_plan(lc, now);
	/* The renewal will not come soon (a hold, the ceiling, a retry past expiry or the horizon): answer now. */
	if (rep == LC_REPORT_WAIT && !lc_answer_coming(lc))
		rep = lc_current(lc, now) ? LC_REPORT_CURRENT : LC_REPORT_NO_TOKEN;
	return rep;
}

/* New parameters after SIGHUP. */
void lc_reload(struct lifecycle *lc, const struct lc_params *p, bool account_changed, usec_t now)
{
	begin(lc);
	lc->p = *p;
	if (account_changed) {
		/* The caller cancelled whatever was in flight for the old account. */
		lc->inflight = LC_SEND_NONE;
		drop_token(lc);
		secret_free(lc->p_ticket);
		lc->p_ticket = NULL;
		lc->request_attempt = 0;
		lc->request_retry_at = 0;
		lc->fallback_pending = false;
		if (lc->hold_for == LC_SEND_RENEWAL)
			lc->hold_for = LC_SEND_REQUEST;
	}
	/*
	 * A new RenewBeforeSec moves the held token's renewal when it still
	 * lies ahead; a token already inside the new window keeps its plan
	 * (a reload never triggers a renewal by itself).
	 */
	if (have_token(lc) && lc->token.expiration > now + lc->p.renew_before)
		lc->renew_at = lc->token.expiration - lc->p.renew_before;
	/* Tried once more; a second rejection stops us again. */
	set_credentials_rejected(lc, false, now);
	if (lc->started)
		lc_plan(lc, now);
}

/* The token valid at now, or NULL. */
const struct token *lc_current(const struct lifecycle *lc, usec_t now)
{
	if (!have_token(lc) || now >= lc->token.expiration)
		return NULL;
	return &lc->token;
}

/* Whether a new token is on its way soon, as lc_plan last found (see lifecycle.h). */
bool lc_answer_coming(const struct lifecycle *lc)
{
	return lc->answer_coming;
}

/* Waiters are told NoToken in these states (CONTRACT §7). */
bool lc_gives_up(const struct lifecycle *lc)
{
	return lc->state == LC_CREDENTIALS_REJECTED || lc->state == LC_LOCKED_OUT ||
	       (lc->state == LC_RATE_LIMITED && lc->hold == LC_HOLD_RATE_LIMITED);
}

/* retryAt of GetStatus and NoToken. */
usec_t lc_retry_at(const struct lifecycle *lc)
{
	return lc->retry_at;
}

/* nextRenewal of GetStatus. */
usec_t lc_next_renewal(const struct lifecycle *lc)
{
	return have_token(lc) ? lc->next_renewal : 0;
}

/* Renewals that may still be sent in the rolling hour. */
unsigned lc_renewals_left(const struct lifecycle *lc, usec_t now)
{
	unsigned n = window_count(&lc->renewals, now);

	return n >= lc->p.max_renewals ? 0 : lc->p.max_renewals - n;
}

/* Failed token requests that may still happen in the rolling hour. */
unsigned lc_failed_left(const struct lifecycle *lc, usec_t now)
{
	unsigned n = window_count(&lc->failed, now);

	return n >= lc->p.max_failed ? 0 : lc->p.max_failed - n;
}

/* Why there is no token, for NoToken's reason. */
const char *lc_no_token_reason(const struct lifecycle *lc)
{
	switch (lc->state) {
	case LC_STARTING:
	case LC_REQUESTING:
		return "no token yet: a token request is under way";
	case LC_BACKOFF:
		return "the token request failed; retrying";
	case LC_PENALTY:
		return "Tradovate imposed a time penalty; waiting it out";
	case LC_RATE_LIMITED:
		return lc->hold == LC_HOLD_RATE_LIMITED ? "rate limited by Tradovate (HTTP 429)"
							: "the hourly request ceiling is reached";
	case LC_LOCKED_OUT:
		return "locked out by Tradovate (too many failed logins or a captcha)";
	case LC_CREDENTIALS_REJECTED:
		return "Tradovate rejected the credentials; fix them and reload tvtokend";
	case LC_EXPIRED:
		return "the token expired; a new one is being requested";
	case LC_VALID:
	case LC_RENEWING:
	default:
		return "the token expired";
	}
}
