/* SPDX-License-Identifier: MIT */
/*
 * The token lifecycle on a fake clock: one behaviour per test, then a week of
 * simulated operation with random failures checked against the invariants.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lifecycle.h"

#define SEC USEC_PER_SEC
#define MIN USEC_PER_MIN
#define HOUR USEC_PER_HOUR
#define T0 ((usec_t)1800000000 * SEC)   /* 2027-01-15, an arbitrary wall-clock start */

struct fixture {
	struct lifecycle lc;
	usec_t now;
	uint64_t rng;
	unsigned tokens;
};

/* xorshift64: deterministic randomness for jitter and for the simulation. */
static uint64_t fake_random(void *arg)
{
	uint64_t *s = arg;

	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static const struct lc_params default_params = {
	.renew_before = 15 * MIN,
	.retry_min = 1 * SEC,
	.retry_max = 5 * MIN,
	.lockout = HOUR,
	.max_renewals = 12,
	.max_failed = 4,
	.answer_horizon = 10 * SEC,
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->now = T0;
	f->rng = 0x9e3779b97f4a7c15ull;
	lc_init(&f->lc, &default_params, fake_random, &f->rng);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	lc_free(&f->lc);
	free(f);
	return 0;
}

/* A reply of the given outcome; SUCCESS carries a fresh token living `life`. */
static struct reply mk_reply(struct fixture *f, enum reply_outcome o, usec_t life)
{
	struct reply r;
	char buf[64];

	memset(&r, 0, sizeof(r));
	r.outcome = o;
	r.kind = f->lc.inflight == LC_SEND_RENEWAL ? REPLY_KIND_RENEWAL : REPLY_KIND_REQUEST;
	r.http_status = o == REPLY_CONNECT_FAILED ? 0 : 200;
	if (o == REPLY_SUCCESS) {
		snprintf(buf, sizeof(buf), "tok-%u", ++f->tokens);
		r.token.access_token = strdup(buf);
		assert_non_null(r.token.access_token);
		if (r.kind == REPLY_KIND_REQUEST) {
			snprintf(buf, sizeof(buf), "md-%u", f->tokens);
			r.token.md_access_token = strdup(buf);
			r.token.user_id = 4242;
			r.token.has_user_id = true;
		}
		r.token.expiration = f->now + life;
	}
	if (o == REPLY_LOCKED)
		r.http_status = 423;
	if (o == REPLY_RATE_LIMITED)
		r.http_status = 429;
	if (o == REPLY_TRANSIENT)
		r.http_status = 503;
	if (o == REPLY_BAD_CREDENTIALS || o == REPLY_REFUSED)
		r.http_status = 401;
	return r;
}

/* Feed a reply of outcome o to what is in flight. */
static void answer(struct fixture *f, enum reply_outcome o, usec_t life)
{
	struct reply r;

	assert_int_not_equal(f->lc.inflight, LC_SEND_NONE);
	r = mk_reply(f, o, life);
	lc_reply(&f->lc, &r, f->now);
	reply_clear(&r);
}

static void answer_penalty(struct fixture *f, usec_t p_time, const char *ticket)
{
	struct reply r = mk_reply(f, REPLY_PENALTY, 0);

	r.p_ticket = strdup(ticket);
	r.p_time = p_time;
	lc_reply(&f->lc, &r, f->now);
	reply_clear(&r);
}

/* Move the clock to the armed timer and tick. */
static void advance_to_timer(struct fixture *f)
{
	assert_true(f->lc.timer_at != 0);
	assert_true(f->lc.timer_at >= f->now);
	f->now = f->lc.timer_at;
	lc_tick(&f->lc, f->now);
}

static bool has_event(const struct lifecycle *lc, enum lc_event e)
{
	unsigned i;

	for (i = 0; i < lc->n_events; i++)
		if (lc->events[i].event == e)
			return true;
	return false;
}

/* Start and get the first token (generation 1), living 90 minutes. */
static void acquire(struct fixture *f)
{
	lc_start(&f->lc, f->now);
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
	answer(f, REPLY_SUCCESS, 90 * MIN);
	assert_int_equal(f->lc.state, LC_VALID);
}

static void test_start_sends_one_token_request(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->lc.state, LC_STARTING);
	lc_start(&f->lc, f->now);
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
	assert_int_equal(f->lc.state, LC_REQUESTING);
	assert_int_equal(f->lc.n_requests, 1);
	assert_null(lc_current(&f->lc, f->now));
	/* Ticking while it is in flight sends nothing more. */
	lc_tick(&f->lc, f->now + SEC);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
	assert_int_equal(f->lc.n_requests, 1);
}

static void test_success_installs_generation_1_and_schedules_renewal(void **state)
{
	struct fixture *f = *state;

	acquire(f);
	assert_true(f->lc.token_changed);
	assert_true(has_event(&f->lc, LC_EV_ACQUIRED));
	assert_non_null(lc_current(&f->lc, f->now));
	assert_int_equal(lc_current(&f->lc, f->now)->generation, 1);
	assert_true(lc_next_renewal(&f->lc) == f->now + 75 * MIN);
	assert_true(f->lc.timer_at == f->now + 75 * MIN);
	/* retryAt is set whenever a next attempt is scheduled, the routine renewal included. */
	assert_true(lc_retry_at(&f->lc) == f->now + 75 * MIN);
}

static void test_renewal_at_expiry_minus_renew_before_keeps_omitted_fields(void **state)
{
	struct fixture *f = *state;
	const struct token *t;

	acquire(f);
	advance_to_timer(f);
	assert_int_equal(f->lc.send, LC_SEND_RENEWAL);
	assert_int_equal(f->lc.state, LC_RENEWING);
	assert_non_null(lc_current(&f->lc, f->now));   /* still served while renewing */
	answer(f, REPLY_SUCCESS, 90 * MIN);              /* a renewal reply without md token */
	t = lc_current(&f->lc, f->now);
	assert_non_null(t);
	assert_int_equal(t->generation, 2);
	assert_string_equal(t->access_token, "tok-2");
	assert_string_equal(t->md_access_token, "md-1");
	assert_true(t->has_user_id);
	assert_true(has_event(&f->lc, LC_EV_RENEWED));
	assert_int_equal(f->lc.n_requests, 1);
	assert_int_equal(f->lc.n_renewals, 1);
}

static void test_short_lifetime_renews_at_half_remaining_life(void **state)
{
	struct fixture *f = *state;

	lc_start(&f->lc, f->now);
	answer(f, REPLY_SUCCESS, 10 * MIN);    /* shorter than RenewBeforeSec */
	assert_true(f->lc.timer_at == f->now + 5 * MIN);
}

static void test_renewal_transient_keeps_serving_and_backs_off_with_jitter(void **state)
{
	struct fixture *f = *state;
	struct lc_params p = default_params;
	usec_t d = p.retry_min;
	unsigned n;

	p.retry_max = 30 * SEC;     /* reached after five doublings, well inside the renewal window */
	lc_free(&f->lc);
	lc_init(&f->lc, &p, fake_random, &f->rng);
	acquire(f);
	advance_to_timer(f);
	for (n = 0; n < 10; n++) {
		usec_t wait;

		assert_int_equal(f->lc.send, LC_SEND_RENEWAL);
		answer(f, REPLY_TRANSIENT, 0);
		assert_true(has_event(&f->lc, LC_EV_RENEW_FAILED));
		assert_int_equal(f->lc.state, LC_BACKOFF);
		assert_non_null(lc_current(&f->lc, f->now));
		wait = f->lc.timer_at - f->now;
		assert_true(wait >= d / 2);
		assert_true(wait <= d);
		assert_true(lc_retry_at(&f->lc) == f->lc.timer_at);
		d = d * 2 > p.retry_max ? p.retry_max : d * 2;
		advance_to_timer(f);
	}
	assert_int_equal(f->lc.n_requests, 1);   /* never a new session while renewal may work */
}

static void test_renewal_retry_never_scheduled_after_expiry(void **state)
{
	struct fixture *f = *state;
	struct lc_params p = default_params;

	p.retry_min = 10 * MIN;
	p.retry_max = 2 * HOUR;
	lc_free(&f->lc);
	lc_init(&f->lc, &p, fake_random, &f->rng);
	acquire(f);
	while (f->lc.timer_at < f->lc.token.expiration || f->lc.send == LC_SEND_RENEWAL) {
		if (f->lc.send == LC_SEND_RENEWAL)
			answer(f, REPLY_TRANSIENT, 0);
		else
			advance_to_timer(f);
		if (lc_current(&f->lc, f->now))
			assert_true(f->lc.timer_at <= f->lc.token.expiration);
	}
	/* The next timer is the expiry itself: the token is dropped and a new one requested. */
	advance_to_timer(f);
	assert_null(lc_current(&f->lc, f->now));
	assert_true(has_event(&f->lc, LC_EV_EXPIRED));
	assert_true(has_event(&f->lc, LC_EV_FALLBACK));
	assert_true(f->lc.token_lost);
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
}

static void test_renewal_refused_drops_token_and_requests_at_once(void **state)
{
	struct fixture *f = *state;

	acquire(f);
	advance_to_timer(f);
	answer(f, REPLY_REFUSED, 0);
	assert_true(f->lc.token_lost);
	assert_null(lc_current(&f->lc, f->now));
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
	assert_true(has_event(&f->lc, LC_EV_RENEW_FAILED));
	assert_true(has_event(&f->lc, LC_EV_FALLBACK));
	answer(f, REPLY_SUCCESS, 90 * MIN);
	assert_int_equal(lc_current(&f->lc, f->now)->generation, 2);
}

static void test_expiry_during_renewal_in_flight_is_state_expired(void **state)
{
	struct fixture *f = *state;

	lc_start(&f->lc, f->now);
	answer(f, REPLY_SUCCESS, 10 * SEC);
	advance_to_timer(f);                       /* renewal at half life */
	assert_int_equal(f->lc.send, LC_SEND_RENEWAL);
	advance_to_timer(f);                       /* expiry while the renewal hangs */
	assert_null(lc_current(&f->lc, f->now));
	assert_int_equal(f->lc.state, LC_EXPIRED);
	assert_true(f->lc.token_lost);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
	answer(f, REPLY_TRANSIENT, 0);             /* the renewal times out */
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
	assert_true(has_event(&f->lc, LC_EV_FALLBACK));
}

static void test_token_is_never_served_at_its_expiration(void **state)
{
	struct fixture *f = *state;
	usec_t exp;

	acquire(f);
	exp = f->lc.token.expiration;
	assert_non_null(lc_current(&f->lc, exp - 1));
	assert_null(lc_current(&f->lc, exp));
	assert_null(lc_current(&f->lc, exp + HOUR));
}

static void test_bad_credentials_never_retried_until_reload(void **state)
{
	struct fixture *f = *state;
	unsigned i;

	lc_start(&f->lc, f->now);
	answer(f, REPLY_BAD_CREDENTIALS, 0);
	assert_int_equal(f->lc.state, LC_CREDENTIALS_REJECTED);
	assert_true(has_event(&f->lc, LC_EV_CREDENTIALS_REJECTED));
	assert_true(lc_gives_up(&f->lc));
	assert_true(f->lc.gave_up_changed);
	assert_true(f->lc.timer_at == 0);
	for (i = 0; i < 48; i++) {
		f->now += HOUR;
		lc_tick(&f->lc, f->now);
		assert_int_equal(f->lc.send, LC_SEND_NONE);
	}
	assert_int_equal(f->lc.n_requests, 1);
	lc_reload(&f->lc, &default_params, false, f->now);
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
	answer(f, REPLY_BAD_CREDENTIALS, 0);       /* tried once more, rejected again */
	assert_int_equal(f->lc.state, LC_CREDENTIALS_REJECTED);
	assert_int_equal(f->lc.n_requests, 2);
}

static void test_penalty_waits_p_time_and_resends_with_ticket(void **state)
{
	struct fixture *f = *state;

	lc_start(&f->lc, f->now);
	answer_penalty(f, 3500 * USEC_PER_MSEC, "ticket-1");
	assert_int_equal(f->lc.state, LC_PENALTY);
	assert_true(has_event(&f->lc, LC_EV_PENALTY));
	assert_true(f->lc.timer_at == f->now + 3500 * USEC_PER_MSEC);
	assert_true(lc_retry_at(&f->lc) == f->lc.timer_at);
	assert_false(lc_gives_up(&f->lc));
	lc_tick(&f->lc, f->now + 3 * SEC);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
	advance_to_timer(f);
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
	assert_string_equal(f->lc.p_ticket, "ticket-1");
	/* A chain of tickets is followed, each resend carrying the newest one. */
	answer_penalty(f, 2 * SEC, "ticket-2");
	advance_to_timer(f);
	assert_string_equal(f->lc.p_ticket, "ticket-2");
	answer(f, REPLY_SUCCESS, 90 * MIN);
	assert_null(f->lc.p_ticket);
	assert_int_equal(f->lc.n_requests, 3);
	assert_int_equal(lc_failed_left(&f->lc, f->now), 4);   /* penalties are not failed requests */
}

static void test_penalty_on_renewal_retries_renewal_after_p_time(void **state)
{
	struct fixture *f = *state;

	acquire(f);
	advance_to_timer(f);
	answer_penalty(f, 5 * SEC, "ticket-r");
	assert_int_equal(f->lc.state, LC_PENALTY);
	assert_non_null(lc_current(&f->lc, f->now));
	advance_to_timer(f);
	assert_int_equal(f->lc.send, LC_SEND_RENEWAL);
	assert_null(f->lc.p_ticket);
}

static void test_captcha_locks_out_for_lockout_sec(void **state)
{
	struct fixture *f = *state;

	lc_start(&f->lc, f->now);
	answer(f, REPLY_CAPTCHA, 0);
	assert_int_equal(f->lc.state, LC_LOCKED_OUT);
	assert_true(has_event(&f->lc, LC_EV_LOCKED_OUT));
	assert_true(lc_gives_up(&f->lc));
	assert_true(f->lc.timer_at == f->now + HOUR);
	lc_tick(&f->lc, f->now + HOUR - 1);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
	advance_to_timer(f);
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
}

static void test_423_locks_out_and_keeps_serving_a_valid_token(void **state)
{
	struct fixture *f = *state;

	acquire(f);
	advance_to_timer(f);
	answer(f, REPLY_LOCKED, 0);
	assert_int_equal(f->lc.state, LC_LOCKED_OUT);
	assert_non_null(lc_current(&f->lc, f->now));
	/* The lockout outlasts the token: it expires, and nothing is sent until the lockout ends. */
	advance_to_timer(f);
	assert_true(has_event(&f->lc, LC_EV_EXPIRED));
	assert_int_equal(f->lc.send, LC_SEND_NONE);
	assert_int_equal(f->lc.state, LC_LOCKED_OUT);
	advance_to_timer(f);
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
	assert_true(has_event(&f->lc, LC_EV_FALLBACK));
}

static void test_429_waits_retry_after_when_given(void **state)
{
	struct fixture *f = *state;
	struct reply r;

	lc_start(&f->lc, f->now);
	r = mk_reply(f, REPLY_RATE_LIMITED, 0);
	r.retry_after = f->now + 120 * SEC;
	lc_reply(&f->lc, &r, f->now);
	reply_clear(&r);
	assert_int_equal(f->lc.state, LC_RATE_LIMITED);
	assert_true(lc_gives_up(&f->lc));
	assert_true(f->lc.timer_at == f->now + 120 * SEC);
	advance_to_timer(f);
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
}

static void test_429_without_retry_after_waits_lockout(void **state)
{
	struct fixture *f = *state;

	lc_start(&f->lc, f->now);
	answer(f, REPLY_RATE_LIMITED, 0);
	assert_true(f->lc.timer_at == f->now + HOUR);
	assert_true(has_event(&f->lc, LC_EV_RATE_LIMITED));
}

static void test_failed_request_ceiling_waits_for_the_window(void **state)
{
	struct fixture *f = *state;
	usec_t first;
	unsigned i;

	lc_start(&f->lc, f->now);
	first = f->now;
	for (i = 0; i < 4; i++) {
		if (i > 0)
			advance_to_timer(f);
		assert_int_equal(f->lc.send, LC_SEND_REQUEST);
		answer(f, REPLY_TRANSIENT, 0);
		assert_true(has_event(&f->lc, LC_EV_REQUEST_FAILED));
	}
	/* Four failed requests: at once rate_limited, the fifth waits until the first leaves the hour. */
	assert_int_equal(f->lc.send, LC_SEND_NONE);
	assert_int_equal(f->lc.state, LC_RATE_LIMITED);
	assert_false(lc_gives_up(&f->lc));          /* a local ceiling does not end waits */
	assert_int_equal(lc_failed_left(&f->lc, f->now), 0);
	assert_true(f->lc.timer_at == first + HOUR);
	assert_true(lc_retry_at(&f->lc) == first + HOUR);
	advance_to_timer(f);
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
}

static void test_connect_failures_are_retried_but_not_counted(void **state)
{
	struct fixture *f = *state;
	unsigned i;

	lc_start(&f->lc, f->now);
	for (i = 0; i < 10; i++) {
		assert_int_equal(f->lc.send, LC_SEND_REQUEST);
		answer(f, REPLY_CONNECT_FAILED, 0);
		assert_int_equal(f->lc.state, LC_BACKOFF);
		advance_to_timer(f);
	}
	assert_int_equal(lc_failed_left(&f->lc, f->now), 4);
	assert_int_equal(f->lc.n_failures, 10);
}

static void test_success_resets_backoff(void **state)
{
	struct fixture *f = *state;
	unsigned i;

	lc_start(&f->lc, f->now);
	for (i = 0; i < 3; i++) {
		answer(f, REPLY_CONNECT_FAILED, 0);
		advance_to_timer(f);
	}
	answer(f, REPLY_SUCCESS, 90 * MIN);
	assert_int_equal(f->lc.request_attempt, 0);
	advance_to_timer(f);
	answer(f, REPLY_TRANSIENT, 0);
	assert_true(f->lc.timer_at - f->now <= default_params.retry_min);
}

static void test_report_rejected_checks_generation(void **state)
{
	struct fixture *f = *state;

	lc_start(&f->lc, f->now);
	assert_int_equal(lc_report_rejected(&f->lc, 0, f->now), LC_REPORT_NO_TOKEN);
	answer(f, REPLY_SUCCESS, 90 * MIN);
	assert_int_equal(lc_report_rejected(&f->lc, -1, f->now), LC_REPORT_INVALID);
	assert_int_equal(lc_report_rejected(&f->lc, 2, f->now), LC_REPORT_INVALID);
	assert_int_equal(lc_report_rejected(&f->lc, 0, f->now), LC_REPORT_CURRENT);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
}

static void test_report_rejected_renews_once_per_generation(void **state)
{
	struct fixture *f = *state;
	unsigned i;

	acquire(f);
	assert_int_equal(lc_report_rejected(&f->lc, 1, f->now), LC_REPORT_WAIT);
	assert_int_equal(f->lc.send, LC_SEND_RENEWAL);
	for (i = 0; i < 100; i++) {
		assert_int_equal(lc_report_rejected(&f->lc, 1, f->now), LC_REPORT_WAIT);
		assert_int_equal(f->lc.send, LC_SEND_NONE);
	}
	assert_int_equal(f->lc.n_renewals, 1);
	answer(f, REPLY_SUCCESS, 90 * MIN);
	assert_int_equal(lc_current(&f->lc, f->now)->generation, 2);
	assert_int_equal(lc_report_rejected(&f->lc, 1, f->now), LC_REPORT_CURRENT);
}

static void test_report_rejected_during_retry_adds_no_attempt(void **state)
{
	struct fixture *f = *state;

	acquire(f);
	advance_to_timer(f);
	answer(f, REPLY_TRANSIENT, 0);
	assert_int_equal(lc_report_rejected(&f->lc, 1, f->now), LC_REPORT_WAIT);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
	assert_int_equal(f->lc.n_renewals, 1);
}

static void test_report_rejected_at_ceiling_answers_current(void **state)
{
	struct fixture *f = *state;
	unsigned i;

	acquire(f);
	for (i = 0; i < 12; i++) {
		uint64_t gen = f->lc.generation;

		assert_int_equal(lc_report_rejected(&f->lc, (int64_t)gen, f->now), LC_REPORT_WAIT);
		assert_int_equal(f->lc.send, LC_SEND_RENEWAL);
		answer(f, REPLY_SUCCESS, 90 * MIN);
		f->now += SEC;
	}
	assert_int_equal(lc_renewals_left(&f->lc, f->now), 0);
	assert_int_equal(lc_report_rejected(&f->lc, (int64_t)f->lc.generation, f->now), LC_REPORT_CURRENT);
	assert_true(f->lc.report_at_ceiling);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
	assert_int_equal(f->lc.n_renewals, 12);
}

static void test_renewal_ceiling_full_waits_as_rate_limited(void **state)
{
	struct fixture *f = *state;
	struct lc_params p = default_params;
	unsigned i;

	p.max_renewals = 2;
	lc_free(&f->lc);
	lc_init(&f->lc, &p, fake_random, &f->rng);
	acquire(f);
	for (i = 0; i < 2; i++) {
		advance_to_timer(f);
		assert_int_equal(f->lc.send, LC_SEND_RENEWAL);
		answer(f, REPLY_TRANSIENT, 0);
	}
	assert_int_equal(f->lc.state, LC_RATE_LIMITED);
	assert_int_equal(lc_renewals_left(&f->lc, f->now), 0);
	assert_non_null(lc_current(&f->lc, f->now));
	/* The window frees after the token's expiry: the fallback comes first. */
	assert_true(f->lc.timer_at == f->lc.token.expiration);
	advance_to_timer(f);
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
}

static void test_restore_serves_without_a_request(void **state)
{
	struct fixture *f = *state;
	struct token t = { .access_token = "saved", .expiration = T0 + HOUR, .generation = 7 };

	assert_int_equal(lc_restore(&f->lc, &t, f->now), 0);
	lc_start(&f->lc, f->now);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
	assert_int_equal(f->lc.state, LC_VALID);
	assert_int_equal(lc_current(&f->lc, f->now)->generation, 7);
	assert_true(f->lc.timer_at == T0 + 45 * MIN);
}

static void test_restore_inside_renewal_window_renews_now(void **state)
{
	struct fixture *f = *state;
	struct token t = { .access_token = "saved", .expiration = T0 + 5 * MIN, .generation = 3 };

	assert_int_equal(lc_restore(&f->lc, &t, f->now), 0);
	lc_start(&f->lc, f->now);
	assert_int_equal(f->lc.send, LC_SEND_RENEWAL);
	answer(f, REPLY_SUCCESS, 90 * MIN);
	assert_int_equal(lc_current(&f->lc, f->now)->generation, 4);
}

static void test_restore_expired_requests_and_keeps_generation(void **state)
{
	struct fixture *f = *state;
	struct token t = { .access_token = "old", .expiration = T0 - 1, .generation = 9 };

	assert_int_equal(lc_restore(&f->lc, &t, f->now), 0);
	lc_start(&f->lc, f->now);
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
	answer(f, REPLY_SUCCESS, 90 * MIN);
	assert_int_equal(lc_current(&f->lc, f->now)->generation, 10);
}

static void test_reload_with_new_account_drops_the_token(void **state)
{
	struct fixture *f = *state;

	acquire(f);
	lc_reload(&f->lc, &default_params, true, f->now);
	assert_true(f->lc.token_lost);
	assert_null(lc_current(&f->lc, f->now));
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
	assert_false(has_event(&f->lc, LC_EV_FALLBACK));
	answer(f, REPLY_SUCCESS, 90 * MIN);
	assert_int_equal(lc_current(&f->lc, f->now)->generation, 2);
}

static void test_reload_keeps_the_token_and_tradovates_holds(void **state)
{
	struct fixture *f = *state;

	acquire(f);
	lc_reload(&f->lc, &default_params, false, f->now);
	assert_false(f->lc.token_lost);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
	advance_to_timer(f);
	answer(f, REPLY_LOCKED, 0);
	lc_reload(&f->lc, &default_params, false, f->now + MIN);
	assert_int_equal(f->lc.state, LC_LOCKED_OUT);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
}

static void test_token_expired_on_arrival_is_a_failure(void **state)
{
	struct fixture *f = *state;

	lc_start(&f->lc, f->now);
	answer(f, REPLY_SUCCESS, 0);
	assert_null(lc_current(&f->lc, f->now));
	assert_int_equal(f->lc.state, LC_BACKOFF);
	assert_int_equal(lc_failed_left(&f->lc, f->now), 3);
}

static void test_clock_step_forward_is_handled_by_a_tick(void **state)
{
	struct fixture *f = *state;

	acquire(f);
	/* Suspend for two hours: on resume the token is gone and a new one is requested. */
	f->now += 2 * HOUR;
	lc_tick(&f->lc, f->now);
	assert_true(has_event(&f->lc, LC_EV_EXPIRED));
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
}

static void test_expiration_is_truncated_to_the_published_second(void **state)
{
	struct fixture *f = *state;
	struct reply r;

	lc_start(&f->lc, f->now);
	r = mk_reply(f, REPLY_SUCCESS, 90 * MIN);
	r.token.expiration += 999 * USEC_PER_MSEC;    /* "...:30.999Z" */
	lc_reply(&f->lc, &r, f->now);
	reply_clear(&r);
	assert_true(f->lc.token.expiration % SEC == 0);
	assert_null(lc_current(&f->lc, f->now + 90 * MIN));
}

static void test_report_rejected_during_a_lockout_answers_current_at_once(void **state)
{
	struct fixture *f = *state;

	acquire(f);
	assert_int_equal(lc_report_rejected(&f->lc, 1, f->now), LC_REPORT_WAIT);
	answer(f, REPLY_LOCKED, 0);
	assert_true(lc_gives_up(&f->lc));
	/* The renewal will not come for an hour: the same report now gets the current token. */
	assert_int_equal(lc_report_rejected(&f->lc, 1, f->now), LC_REPORT_CURRENT);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
}

static void test_token_with_under_a_second_to_live_is_dead_on_arrival(void **state)
{
	struct fixture *f = *state;

	lc_start(&f->lc, f->now);
	answer(f, REPLY_SUCCESS, 400 * USEC_PER_MSEC);
	assert_null(lc_current(&f->lc, f->now));
	assert_int_equal(f->lc.send, LC_SEND_NONE);          /* no immediate second request */
	assert_int_equal(f->lc.state, LC_BACKOFF);
	assert_int_equal(lc_failed_left(&f->lc, f->now), 3);
}

static void test_reload_applies_a_new_renew_before_to_the_held_token(void **state)
{
	struct fixture *f = *state;
	struct lc_params p = default_params;
	usec_t exp;

	acquire(f);
	exp = f->lc.token.expiration;
	p.renew_before = 30 * MIN;
	lc_reload(&f->lc, &p, false, f->now);
	assert_true(lc_next_renewal(&f->lc) == exp - 30 * MIN);
	p.renew_before = 2 * HOUR;                          /* already inside: the plan stays */
	lc_reload(&f->lc, &p, false, f->now);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
	assert_true(lc_next_renewal(&f->lc) == exp - 30 * MIN);
}

static void test_retry_after_zero_retries_at_once(void **state)
{
	struct fixture *f = *state;
	struct reply r;

	lc_start(&f->lc, f->now);
	r = mk_reply(f, REPLY_RATE_LIMITED, 0);
	r.retry_after = f->now;
	lc_reply(&f->lc, &r, f->now);
	reply_clear(&r);
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
}

/* Re-create the fixture's lifecycle with parameters p. */
static void reinit(struct fixture *f, const struct lc_params *p)
{
	lc_free(&f->lc);
	lc_init(&f->lc, p, fake_random, &f->rng);
}

/* The ceiling event of the last call, or NULL. */
static const struct lc_event_rec *ceiling_event(const struct lifecycle *lc)
{
	unsigned i;

	for (i = 0; i < lc->n_events; i++)
		if (lc->events[i].event == LC_EV_RATE_LIMITED && lc->events[i].ceiling != LC_CEILING_NONE)
			return &lc->events[i];
	return NULL;
}

static void test_renewal_never_sent_does_not_use_the_ceiling(void **state)
{
	struct fixture *f = *state;
	struct lc_params p = default_params;
	unsigned i;

	p.max_renewals = 2;
	reinit(f, &p);
	acquire(f);
	advance_to_timer(f);
	for (i = 0; i < 6; i++) {
		assert_int_equal(f->lc.send, LC_SEND_RENEWAL);
		answer(f, REPLY_CONNECT_FAILED, 0);
		assert_int_equal(f->lc.state, LC_BACKOFF);
		assert_int_equal(lc_renewals_left(&f->lc, f->now), 2);
		advance_to_timer(f);
	}
	/* GetStatus still counts every attempt. */
	assert_int_equal(f->lc.n_renewals, 7);
	answer(f, REPLY_SUCCESS, 90 * MIN);
	assert_int_equal(lc_renewals_left(&f->lc, f->now), 1);
}

static void test_renewal_that_cannot_be_started_does_not_use_the_ceiling(void **state)
{
	struct fixture *f = *state;

	acquire(f);
	advance_to_timer(f);
	assert_int_equal(lc_renewals_left(&f->lc, f->now), 11);
	lc_send_failed(&f->lc, f->now);
	assert_int_equal(lc_renewals_left(&f->lc, f->now), 12);
	assert_int_equal(f->lc.state, LC_BACKOFF);
	assert_true(has_event(&f->lc, LC_EV_RENEW_FAILED));
}

static void test_renewal_sent_without_a_reply_uses_the_ceiling(void **state)
{
	struct fixture *f = *state;

	acquire(f);
	advance_to_timer(f);
	answer(f, REPLY_TRANSIENT, 0);         /* reset after sending, garbage, time-out */
	assert_int_equal(lc_renewals_left(&f->lc, f->now), 11);
}

static void test_renewal_ceiling_logs_rate_limited_once_per_episode(void **state)
{
	struct fixture *f = *state;
	struct lc_params p = default_params;
	const struct lc_event_rec *ev;
	unsigned i;

	p.max_renewals = 2;
	reinit(f, &p);
	acquire(f);
	for (i = 0; i < 2; i++) {
		advance_to_timer(f);
		assert_null(ceiling_event(&f->lc));
		answer(f, REPLY_TRANSIENT, 0);
	}
	ev = ceiling_event(&f->lc);
	assert_non_null(ev);
	assert_int_equal(ev->ceiling, LC_CEILING_RENEWALS);
	assert_int_equal(ev->ceiling_max, 2);
	assert_true(ev->next_attempt == f->lc.token.expiration);
	assert_int_equal(f->lc.state, LC_RATE_LIMITED);
	/* Timer ticks and reports in the same episode log nothing more. */
	for (i = 0; i < 5; i++) {
		lc_tick(&f->lc, f->now + i * SEC);
		assert_null(ceiling_event(&f->lc));
	}
	assert_int_equal(lc_report_rejected(&f->lc, 1, f->now), LC_REPORT_CURRENT);
	assert_null(ceiling_event(&f->lc));
	/* Expiry, a new token: the same full window, the same episode. */
	advance_to_timer(f);
	answer(f, REPLY_SUCCESS, 90 * MIN);
	assert_null(ceiling_event(&f->lc));
	/* Its renewal comes after the window frees: it goes out; the next block is a new episode. */
	advance_to_timer(f);
	assert_int_equal(f->lc.send, LC_SEND_RENEWAL);
	answer(f, REPLY_TRANSIENT, 0);
	advance_to_timer(f);
	answer(f, REPLY_TRANSIENT, 0);
	assert_non_null(ceiling_event(&f->lc));
}

static void test_failed_request_ceiling_logs_rate_limited_once(void **state)
{
	struct fixture *f = *state;
	unsigned i, logged = 0;

	lc_start(&f->lc, f->now);
	for (i = 0; i < 4; i++) {
		if (i > 0)
			advance_to_timer(f);
		answer(f, REPLY_TRANSIENT, 0);
		logged += ceiling_event(&f->lc) != NULL;
	}
	assert_int_equal(logged, 1);
	assert_int_equal(ceiling_event(&f->lc)->ceiling, LC_CEILING_FAILED_REQUESTS);
	assert_int_equal(ceiling_event(&f->lc)->ceiling_max, 4);
	lc_tick(&f->lc, f->now + MIN);
	assert_null(ceiling_event(&f->lc));
	assert_false(lc_gives_up(&f->lc));      /* CONTRACT §7: a local ceiling does not end waits */
}

static void test_report_is_released_when_the_ceiling_fills_during_retries(void **state)
{
	struct fixture *f = *state;
	struct lc_params p = default_params;
	unsigned i;

	/* ISSUE 8.1: MaxRenewalsPerHour=3, renewals failing, a report waiting. */
	p.max_renewals = 3;
	reinit(f, &p);
	acquire(f);
	assert_int_equal(lc_report_rejected(&f->lc, 1, f->now), LC_REPORT_WAIT);
	for (i = 0; i < 3; i++) {
		assert_int_equal(f->lc.send, LC_SEND_RENEWAL);
		answer(f, REPLY_TRANSIENT, 0);
		if (i < 2) {
			assert_false(f->lc.reports_released);
			assert_true(lc_answer_coming(&f->lc));
			advance_to_timer(f);
		}
	}
	assert_int_equal(f->lc.state, LC_RATE_LIMITED);
	assert_true(f->lc.reports_released);
	assert_false(lc_answer_coming(&f->lc));
	assert_false(f->lc.gave_up_changed);    /* waiting GetToken calls are another matter */
	/* A new report is answered at once with the token held. */
	assert_int_equal(lc_report_rejected(&f->lc, 1, f->now), LC_REPORT_CURRENT);
}

static void test_report_is_released_when_the_retry_lies_beyond_expiry(void **state)
{
	struct fixture *f = *state;
	struct lc_params p = default_params;

	p.retry_min = 20 * MIN;
	p.retry_max = 20 * MIN;
	reinit(f, &p);
	lc_start(&f->lc, f->now);
	answer(f, REPLY_SUCCESS, 10 * MIN);
	assert_int_equal(lc_report_rejected(&f->lc, 1, f->now), LC_REPORT_WAIT);
	answer(f, REPLY_TRANSIENT, 0);          /* the retry would come after the expiry */
	assert_int_equal(f->lc.state, LC_BACKOFF);
	assert_true(f->lc.reports_released);
	assert_int_equal(lc_report_rejected(&f->lc, 1, f->now), LC_REPORT_CURRENT);
}

static void test_report_is_released_by_a_penalty(void **state)
{
	struct fixture *f = *state;

	acquire(f);
	assert_int_equal(lc_report_rejected(&f->lc, 1, f->now), LC_REPORT_WAIT);
	answer_penalty(f, 30 * SEC, "ticket");
	assert_int_equal(f->lc.state, LC_PENALTY);
	assert_true(f->lc.reports_released);
	assert_false(lc_gives_up(&f->lc));
}

static void test_report_keeps_waiting_for_a_retry_before_expiry(void **state)
{
	struct fixture *f = *state;

	acquire(f);
	assert_int_equal(lc_report_rejected(&f->lc, 1, f->now), LC_REPORT_WAIT);
	answer(f, REPLY_TRANSIENT, 0);
	assert_false(f->lc.reports_released);
	assert_true(lc_answer_coming(&f->lc));
	assert_int_equal(lc_report_rejected(&f->lc, 1, f->now), LC_REPORT_WAIT);
}

static void test_report_is_answered_once_the_next_retry_lies_beyond_the_horizon(void **state)
{
	struct fixture *f = *state;
	unsigned attempts = 0;

	/* ISSUE 8.1: Tradovate unreachable, a report waiting; the token has an hour left. */
	acquire(f);
	assert_int_equal(lc_report_rejected(&f->lc, 1, f->now), LC_REPORT_WAIT);
	for (;;) {
		assert_int_equal(f->lc.send, LC_SEND_RENEWAL);
		answer(f, REPLY_CONNECT_FAILED, 0);
		attempts++;
		assert_int_equal(f->lc.state, LC_BACKOFF);
		if (f->lc.reports_released)
			break;
		/* Still waiting: the retry is due within the horizon (RequestTimeoutSec=). */
		assert_true(lc_answer_coming(&f->lc));
		assert_true(f->lc.retry_at <= f->now + 10 * SEC);
		assert_true(attempts < 8);
		advance_to_timer(f);
	}
	assert_true(f->lc.retry_at > f->now + 10 * SEC);
	assert_false(lc_answer_coming(&f->lc));
	assert_false(f->lc.gave_up_changed);
	assert_non_null(lc_current(&f->lc, f->now));
	/* Doubling from 1 s: released at the retry of 8 to 16 s at the latest, not near expiry. */
	assert_true(attempts >= 3 && attempts <= 5);
}

static void test_a_report_arriving_while_the_retry_lies_beyond_the_horizon_is_answered_at_once(void **state)
{
	struct fixture *f = *state;
	struct lc_params p = default_params;
	usec_t retry;

	p.retry_min = MIN;
	reinit(f, &p);
	acquire(f);
	assert_int_equal(lc_report_rejected(&f->lc, 1, f->now), LC_REPORT_WAIT);
	answer(f, REPLY_TRANSIENT, 0);          /* the retry in 30 to 60 s */
	assert_true(f->lc.reports_released);
	retry = f->lc.retry_at;
	f->now += SEC;
	assert_int_equal(lc_report_rejected(&f->lc, 1, f->now), LC_REPORT_CURRENT);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
	assert_int_equal(f->lc.retry_at, retry);
	/* Once the retry is due within the horizon, a report waits for it. */
	f->now = retry - 10 * SEC;
	assert_int_equal(lc_report_rejected(&f->lc, 1, f->now), LC_REPORT_WAIT);
	assert_true(lc_answer_coming(&f->lc));
	assert_int_equal(f->lc.retry_at, retry);
}

static void test_a_report_waiting_for_a_replacement_gets_no_token_once_the_request_retry_lies_beyond_the_horizon(void **state)
{
	struct fixture *f = *state;
	struct lc_params p = default_params;

	p.retry_min = MIN;
	reinit(f, &p);
	acquire(f);
	assert_int_equal(lc_report_rejected(&f->lc, 1, f->now), LC_REPORT_WAIT);
	/* The renewal is refused: the token goes, the report waits for the token request... */
	answer(f, REPLY_REFUSED, 0);
	assert_true(f->lc.token_lost);
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
	assert_false(f->lc.reports_released);
	/* ...which fails, with its retry a minute away: the report is answered (NoToken). */
	answer(f, REPLY_TRANSIENT, 0);
	assert_int_equal(f->lc.state, LC_BACKOFF);
	assert_true(f->lc.reports_released);
	assert_null(lc_current(&f->lc, f->now));
}

/* A lifecycle that sent three renewals and failed two token requests, then got a token. */
static void busy_hour(struct fixture *f)
{
	unsigned i;

	lc_start(&f->lc, f->now);
	answer(f, REPLY_TRANSIENT, 0);
	advance_to_timer(f);
	answer(f, REPLY_TRANSIENT, 0);
	advance_to_timer(f);
	answer(f, REPLY_SUCCESS, 90 * MIN);
	for (i = 0; i < 3; i++) {
		assert_int_equal(lc_report_rejected(&f->lc, (int64_t)f->lc.generation, f->now), LC_REPORT_WAIT);
		answer(f, REPLY_SUCCESS, 90 * MIN);
		f->now += SEC;
	}
	assert_int_equal(lc_renewals_left(&f->lc, f->now), 9);
	assert_int_equal(lc_failed_left(&f->lc, f->now), 2);
}

static void test_snapshot_carries_the_windows_and_token_to_a_new_lifecycle(void **state)
{
	struct fixture *f = *state;
	struct lifecycle b;
	struct lc_snapshot snap;
	uint64_t rng = 1;

	busy_hour(f);
	assert_int_equal(lc_snapshot_take(&f->lc, f->now, &snap), 0);
	lc_init(&b, &default_params, fake_random, &rng);
	assert_int_equal(lc_snapshot_adopt(&b, &snap, f->now), 0);
	lc_start(&b, f->now);
	assert_int_equal(b.send, LC_SEND_NONE);
	assert_int_equal(b.state, LC_VALID);
	assert_int_equal(lc_current(&b, f->now)->generation, 4);
	assert_string_equal(lc_current(&b, f->now)->access_token, lc_current(&f->lc, f->now)->access_token);
	assert_int_equal(lc_renewals_left(&b, f->now), 9);
	assert_int_equal(lc_failed_left(&b, f->now), 2);
	/* Adopting it again changes nothing: equal times are the same attempts. */
	assert_int_equal(lc_snapshot_adopt(&b, &snap, f->now + SEC), 0);
	assert_int_equal(lc_renewals_left(&b, f->now + SEC), 9);
	assert_int_equal(lc_failed_left(&b, f->now + SEC), 2);
	assert_false(b.token_changed);
	assert_false(b.persist_changed);
	lc_snapshot_clear(&snap);
	lc_free(&b);
}

static void test_restored_token_in_its_renewal_window_respects_the_ceiling(void **state)
{
	struct fixture *f = *state;
	struct lc_snapshot snap;
	unsigned i;

	memset(&snap, 0, sizeof(snap));
	snap.generation = 8;
	snap.token = (struct token){ .access_token = "saved", .expiration = f->now + 5 * MIN, .generation = 8 };
	for (i = 0; i < 12; i++)
		snap.renewals.t[snap.renewals.n++] = f->now - 30 * MIN + i * SEC;
	assert_int_equal(lc_snapshot_adopt(&f->lc, &snap, f->now), 0);
	lc_start(&f->lc, f->now);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
	assert_int_equal(f->lc.state, LC_RATE_LIMITED);
	assert_non_null(ceiling_event(&f->lc));
	assert_non_null(lc_current(&f->lc, f->now));
	/* The window frees only after the expiry: the fallback request comes then. */
	assert_true(f->lc.timer_at == f->now + 5 * MIN);
	advance_to_timer(f);
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
}

static void test_restored_token_respects_a_lockout(void **state)
{
	struct fixture *f = *state;
	struct lc_snapshot snap;

	memset(&snap, 0, sizeof(snap));
	snap.generation = 2;
	snap.token = (struct token){ .access_token = "saved", .expiration = f->now + 5 * MIN, .generation = 2 };
	snap.hold = LC_HOLD_LOCKED_OUT;
	snap.hold_until = f->now + 40 * MIN;
	snap.hold_for = LC_SEND_RENEWAL;
	assert_int_equal(lc_snapshot_adopt(&f->lc, &snap, f->now), 0);
	lc_start(&f->lc, f->now);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
	assert_int_equal(f->lc.state, LC_LOCKED_OUT);
	assert_non_null(lc_current(&f->lc, f->now));
	advance_to_timer(f);                    /* the token expires inside the lockout */
	assert_int_equal(f->lc.send, LC_SEND_NONE);
	advance_to_timer(f);
	assert_true(f->now == snap.hold_until);
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
}

static void test_restored_penalty_resends_its_ticket_when_it_ends(void **state)
{
	struct fixture *f = *state;
	struct lc_snapshot snap, again;

	lc_start(&f->lc, f->now);
	answer_penalty(f, 30 * SEC, "ticket-9");
	assert_int_equal(lc_snapshot_take(&f->lc, f->now, &snap), 0);
	assert_int_equal(snap.hold, LC_HOLD_PENALTY);
	assert_string_equal(snap.p_ticket, "ticket-9");
	lc_free(&f->lc);
	lc_init(&f->lc, &default_params, fake_random, &f->rng);
	f->now += 10 * SEC;
	assert_int_equal(lc_snapshot_adopt(&f->lc, &snap, f->now), 0);
	lc_start(&f->lc, f->now);
	assert_int_equal(f->lc.state, LC_PENALTY);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
	advance_to_timer(f);
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
	assert_string_equal(f->lc.p_ticket, "ticket-9");
	/* A snapshot taken now counts the request in flight as failed, in case of a crash. */
	assert_int_equal(lc_snapshot_take(&f->lc, f->now, &again), 0);
	assert_int_equal(again.failed.n, 1);
	assert_int_equal(lc_failed_left(&f->lc, f->now), 4);
	lc_snapshot_clear(&again);
	lc_snapshot_clear(&snap);
}

static void test_rejected_credentials_survive_a_restart_until_a_reload(void **state)
{
	struct fixture *f = *state;
	struct lc_snapshot snap;

	lc_start(&f->lc, f->now);
	answer(f, REPLY_BAD_CREDENTIALS, 0);
	assert_int_equal(lc_snapshot_take(&f->lc, f->now, &snap), 0);
	assert_true(snap.credentials_rejected);
	lc_free(&f->lc);
	lc_init(&f->lc, &default_params, fake_random, &f->rng);
	f->now += MIN;
	assert_int_equal(lc_snapshot_adopt(&f->lc, &snap, f->now), 0);
	lc_start(&f->lc, f->now);
	assert_int_equal(f->lc.state, LC_CREDENTIALS_REJECTED);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
	assert_true(lc_gives_up(&f->lc));
	/* A reload tries once more; the old snapshot, adopted again, does not undo that. */
	f->now += MIN;
	lc_reload(&f->lc, &default_params, false, f->now);
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
	assert_int_equal(lc_snapshot_adopt(&f->lc, &snap, f->now), 0);
	assert_false(f->lc.credentials_rejected);
	lc_snapshot_clear(&snap);
}

static void test_adopting_a_newer_snapshot_while_running_installs_its_token(void **state)
{
	struct fixture *f = *state;
	struct lc_snapshot newer, older;

	acquire(f);
	memset(&older, 0, sizeof(older));
	older.generation = 1;
	older.token = (struct token){ .access_token = "other-1", .expiration = f->now + HOUR, .generation = 1 };
	assert_int_equal(lc_snapshot_adopt(&f->lc, &older, f->now), 0);
	assert_false(f->lc.token_changed);
	assert_string_equal(lc_current(&f->lc, f->now)->access_token, "tok-1");

	memset(&newer, 0, sizeof(newer));
	newer.generation = 5;
	newer.token = (struct token){ .access_token = "leader-5", .expiration = f->now + HOUR, .generation = 5 };
	newer.renewals = (struct lc_window){ .t = { f->now - MIN }, .n = 1 };
	assert_int_equal(lc_snapshot_adopt(&f->lc, &newer, f->now), 0);
	assert_true(f->lc.token_changed);
	assert_true(f->lc.persist_changed);
	assert_int_equal(lc_current(&f->lc, f->now)->generation, 5);
	assert_int_equal(lc_renewals_left(&f->lc, f->now), 11);
	assert_true(lc_next_renewal(&f->lc) == f->now + 45 * MIN);
	/* Again: idempotent. */
	assert_int_equal(lc_snapshot_adopt(&f->lc, &newer, f->now + SEC), 0);
	assert_false(f->lc.token_changed);
	assert_int_equal(lc_renewals_left(&f->lc, f->now + SEC), 11);
	/* An invalid token in a snapshot is never installed. */
	newer.generation = 6;
	newer.token.generation = 6;
	newer.token.access_token = "bad token";
	assert_int_equal(lc_snapshot_adopt(&f->lc, &newer, f->now), 0);
	assert_int_equal(lc_current(&f->lc, f->now)->generation, 5);
}

static void test_refusal_of_a_renewal_of_a_replaced_token_keeps_the_new_one(void **state)
{
	struct fixture *f = *state;
	struct lc_snapshot newer;

	acquire(f);
	advance_to_timer(f);
	assert_int_equal(f->lc.send, LC_SEND_RENEWAL);
	memset(&newer, 0, sizeof(newer));
	newer.generation = 3;
	newer.token = (struct token){ .access_token = "leader-3", .expiration = f->now + HOUR, .generation = 3 };
	assert_int_equal(lc_snapshot_adopt(&f->lc, &newer, f->now), 0);
	answer(f, REPLY_REFUSED, 0);            /* about generation 1 */
	assert_false(f->lc.token_lost);
	assert_string_equal(lc_current(&f->lc, f->now)->access_token, "leader-3");
}

static void test_every_send_asks_for_the_state_to_be_saved_first(void **state)
{
	struct fixture *f = *state;

	lc_start(&f->lc, f->now);
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
	assert_true(f->lc.persist_changed);
	answer(f, REPLY_SUCCESS, 90 * MIN);
	assert_true(f->lc.persist_changed);
	lc_tick(&f->lc, f->now + SEC);
	assert_false(f->lc.persist_changed);
	advance_to_timer(f);
	assert_int_equal(f->lc.send, LC_SEND_RENEWAL);
	assert_true(f->lc.persist_changed);
}

/*
 * A week of operation on the fake clock, with a random mix of every outcome
 * on both endpoints, random reply latencies and clients reporting rejections.
 * Invariants checked at every step:
 *   - no expired token is ever served;
 *   - a token request goes out only when no token is held;
 *   - nothing goes out while another request is in flight or a hold runs;
 *   - renewals sent and failed token requests never exceed their hourly
 *     ceilings (a renewal that never left, a connect failure, is not sent);
 *   - when nothing is in flight, a timer is armed (no stall), unless the
 *     credentials were rejected.
 * Now and then the broker is killed and restarted from the last snapshot it
 * saved (as broker.c does whenever persist_changed): the ceilings must hold
 * across restarts too, in-flight requests lost with the process.
 */
struct sent {
	usec_t t;
	bool counts;            /* renewal: it left; request: it failed at the server */
};

/* Count the attempts of the last hour that count (the log is in time order, so scan from its end). */
static void sim_check_window(const struct sent *log, size_t n, usec_t now, unsigned max)
{
	unsigned count = 0;

	while (n-- > 0 && now - log[n].t < HOUR)
		if (log[n].counts)
			count++;
	assert_true(count <= max);
}

static enum reply_outcome sim_outcome(struct fixture *f, bool renewal)
{
	unsigned x = fake_random(&f->rng) % 1000;

	if (!renewal) {
		/* Token requests see a harsher mix, so every kind of failure happens often. */
		if (x < 500)
			return REPLY_SUCCESS;
		if (x < 650)
			return REPLY_TRANSIENT;
		if (x < 750)
			return REPLY_CONNECT_FAILED;
		if (x < 820)
			return REPLY_PENALTY;
		if (x < 870)
			return REPLY_RATE_LIMITED;
		if (x < 900)
			return REPLY_LOCKED;
		if (x < 920)
			return REPLY_CAPTCHA;
		if (x < 960)
			return REPLY_BAD_CREDENTIALS;
		return REPLY_SUCCESS;
	}
	if (x < 700)
		return REPLY_SUCCESS;
	if (x < 800)
		return REPLY_TRANSIENT;
	if (x < 860)
		return REPLY_CONNECT_FAILED;
	if (x < 900)
		return REPLY_PENALTY;
	if (x < 930)
		return renewal ? REPLY_REFUSED : REPLY_TRANSIENT;
	if (x < 945)
		return REPLY_RATE_LIMITED;
	if (x < 955)
		return REPLY_LOCKED;
	if (x < 960)
		return REPLY_CAPTCHA;
	if (x < 963)
		return REPLY_BAD_CREDENTIALS;
	return REPLY_SUCCESS;
}

static void test_a_week_of_random_failures_keeps_every_invariant(void **state)
{
	struct fixture *f = *state;
	static struct sent renewals[20000], requests[20000];
	size_t n_ren = 0, n_req = 0;
	usec_t end = T0 + 7 * 24 * HOUR, reply_at = 0, next_report = T0 + 10 * MIN;
	usec_t next_restart = T0 + 2 * HOUR;
	unsigned acquired = 0, renewed = 0, rejected = 0, restarts = 0;
	struct lc_snapshot saved;

	memset(&saved, 0, sizeof(saved));
	lc_start(&f->lc, f->now);
	while (f->now < end) {
		struct lifecycle *lc = &f->lc;
		usec_t next;

		if (lc->persist_changed) {
			lc_snapshot_clear(&saved);
			assert_int_equal(lc_snapshot_take(lc, f->now, &saved), 0);
		}

		/* What was just decided. */
		if (lc->send == LC_SEND_REQUEST) {
			assert_null(lc_current(lc, f->now));
			assert_true(lc->token.access_token == NULL);
			assert_true(n_req < 20000);
			requests[n_req++] = (struct sent){ .t = f->now };
		} else if (lc->send == LC_SEND_RENEWAL) {
			assert_non_null(lc_current(lc, f->now));
			assert_true(n_ren < 20000);
			renewals[n_ren++] = (struct sent){ .t = f->now, .counts = true };
			sim_check_window(renewals, n_ren, f->now, default_params.max_renewals);
		}
		if (lc->send != LC_SEND_NONE) {
			assert_true(lc->hold == LC_HOLD_NONE || f->now >= lc->hold_until);
			reply_at = f->now + (fake_random(&f->rng) % 3000) * USEC_PER_MSEC;
		}
		if (lc->inflight == LC_SEND_NONE && lc->state != LC_CREDENTIALS_REJECTED)
			assert_true(lc->timer_at > f->now);

		/* The next thing to happen. */
		next = end;
		if (lc->inflight != LC_SEND_NONE && reply_at < next)
			next = reply_at;
		if (lc->timer_at && lc->timer_at < next)
			next = lc->timer_at;
		if (next_report < next)
			next = next_report;
		if (next_restart < next)
			next = next_restart;
		if (next < f->now)
			next = f->now;
		f->now = next;
		if (lc_current(lc, f->now))
			assert_true(f->now < lc_current(lc, f->now)->expiration);

		if (f->now >= next_restart) {
			/* kill -9: whatever was in flight is lost; the next process adopts the saved state. */
			lc_free(lc);
			lc_init(lc, &default_params, fake_random, &f->rng);
			assert_int_equal(lc_snapshot_adopt(lc, &saved, f->now), 0);
			lc_start(lc, f->now);
			restarts++;
			next_restart = f->now + (fake_random(&f->rng) % 360 + 1) * MIN;
		} else if (lc->inflight != LC_SEND_NONE && f->now == reply_at) {
			bool renewal = lc->inflight == LC_SEND_RENEWAL;
			enum reply_outcome o = sim_outcome(f, renewal);
			struct reply r = mk_reply(f, o, (fake_random(&f->rng) % 86 + 5) * MIN);

			if (o == REPLY_PENALTY) {
				r.p_ticket = strdup("t");
				r.p_time = (fake_random(&f->rng) % 10 + 1) * SEC;
			}
			if (o == REPLY_RATE_LIMITED && fake_random(&f->rng) % 2)
				r.retry_after = f->now + 5 * MIN;
			if (!renewal && reply_counts_as_failed_request(&r))
				requests[n_req - 1].counts = true;
			if (renewal && o == REPLY_CONNECT_FAILED)
				renewals[n_ren - 1].counts = false;
			lc_reply(lc, &r, f->now);
			reply_clear(&r);
			acquired += has_event(lc, LC_EV_ACQUIRED);
			renewed += has_event(lc, LC_EV_RENEWED);
			sim_check_window(requests, n_req, f->now, default_params.max_failed);
			if (lc->state == LC_CREDENTIALS_REJECTED) {
				/* An operator fixes the credentials a while later. */
				rejected++;
				f->now += 30 * MIN;
				lc_reload(lc, &default_params, false, f->now);
			}
		} else if (f->now >= next_report) {
			const struct token *t = lc_current(lc, f->now);

			if (t)
				lc_report_rejected(lc, (int64_t)t->generation, f->now);
			else
				lc_tick(lc, f->now);
			next_report = f->now + (fake_random(&f->rng) % 20 + 1) * MIN;
		} else {
			lc_tick(lc, f->now);
		}
	}
	lc_snapshot_clear(&saved);
	print_message("week: %zu token requests, %zu renewals, %u acquired, %u renewed, %u rejections, "
		      "%u restarts\n", n_req, n_ren, acquired, renewed, rejected, restarts);
	/* The week really exercised the machine. */
	assert_true(acquired > 10);
	assert_true(renewed > 100);
	assert_true(n_req > 20);
	assert_true(rejected > 0);
	assert_true(restarts > 20);
}

/* ---- passive mode (cluster followers and candidates) ---- */

/* A leader's snapshot of f's lifecycle, with its view. */
static void leader_snapshot(struct fixture *f, struct lc_snapshot *snap)
{
	assert_int_equal(lc_snapshot_take(&f->lc, f->now, snap), 0);
	lc_view_take(&f->lc, &snap->view);
}

/* A second, passive lifecycle that has started. */
static void passive_start(struct lifecycle *b, uint64_t *rng, usec_t now)
{
	lc_init(b, &default_params, fake_random, rng);
	lc_set_passive(b, true, now);
	lc_start(b, now);
}

static void test_passive_lifecycle_never_sends_even_without_a_token(void **state)
{
	struct fixture *f = *state;
	unsigned i;

	lc_set_passive(&f->lc, true, f->now);
	lc_start(&f->lc, f->now);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
	assert_int_equal(f->lc.state, LC_STARTING);
	for (i = 0; i < 10; i++) {
		f->now += 10 * MIN;
		lc_tick(&f->lc, f->now);
		assert_int_equal(f->lc.send, LC_SEND_NONE);
	}
	assert_int_equal(f->lc.n_requests, 0);
	assert_null(lc_current(&f->lc, f->now));
}

static void test_follower_serves_the_leaders_token_and_shows_its_state(void **state)
{
	struct fixture *f = *state;
	struct lifecycle b;
	struct lc_snapshot snap;
	uint64_t rng = 7;
	bool older = true;

	acquire(f);
	passive_start(&b, &rng, f->now);
	leader_snapshot(f, &snap);
	assert_int_equal(lc_follow(&b, &snap, f->now, &older), 0);
	assert_false(older);
	assert_true(b.token_changed);
	assert_true(b.persist_changed);
	assert_int_equal(b.send, LC_SEND_NONE);
	assert_string_equal(lc_current(&b, f->now)->access_token, "tok-1");
	assert_int_equal(lc_current(&b, f->now)->generation, 1);
	assert_int_equal(b.state, LC_VALID);
	assert_int_equal(lc_next_renewal(&b), lc_next_renewal(&f->lc));
	assert_int_equal(lc_retry_at(&b), lc_retry_at(&f->lc));
	/* At its renewal time the follower still sends nothing: the leader renews. */
	f->now = lc_next_renewal(&f->lc) + SEC;
	lc_tick(&b, f->now);
	assert_int_equal(b.send, LC_SEND_NONE);
	lc_snapshot_clear(&snap);
	lc_free(&b);
}

static void test_follower_token_still_expires_at_its_time(void **state)
{
	struct fixture *f = *state;
	struct lifecycle b;
	struct lc_snapshot snap;
	uint64_t rng = 7;
	usec_t exp;

	acquire(f);
	exp = f->lc.token.expiration;
	passive_start(&b, &rng, f->now);
	leader_snapshot(f, &snap);
	assert_int_equal(lc_follow(&b, &snap, f->now, NULL), 0);
	lc_snapshot_clear(&snap);
	/* No leader any more: the view goes, the token stays until its expiry. */
	lc_forget_view(&b, f->now);
	assert_int_equal(b.state, LC_VALID);
	assert_int_equal(b.timer_at, exp);
	f->now = exp;
	lc_tick(&b, f->now);
	assert_null(lc_current(&b, f->now));
	assert_true(b.token_lost);
	assert_true(has_event(&b, LC_EV_EXPIRED));
	assert_int_equal(b.state, LC_EXPIRED);
	assert_int_equal(b.send, LC_SEND_NONE);
	lc_free(&b);
}

static void test_follower_never_goes_back_to_an_older_generation_it_still_holds(void **state)
{
	struct fixture *f = *state;
	struct lifecycle b;
	struct lc_snapshot old, snap;
	uint64_t rng = 7;
	bool older = false;

	acquire(f);
	passive_start(&b, &rng, f->now);
	leader_snapshot(f, &old);
	assert_true(lc_report_rejected(&f->lc, 1, f->now) == LC_REPORT_WAIT);
	answer(f, REPLY_SUCCESS, 90 * MIN);
	leader_snapshot(f, &snap);
	assert_int_equal(lc_follow(&b, &snap, f->now, NULL), 0);
	assert_int_equal(lc_current(&b, f->now)->generation, 2);
	assert_int_equal(lc_follow(&b, &old, f->now, &older), 0);
	assert_true(older);
	assert_false(b.token_changed);
	assert_int_equal(lc_current(&b, f->now)->generation, 2);
	lc_snapshot_clear(&old);
	lc_snapshot_clear(&snap);
	lc_free(&b);
}

static void test_follower_without_a_token_takes_an_older_generation(void **state)
{
	struct fixture *f = *state;
	struct lifecycle b;
	struct lc_snapshot snap, mine;
	uint64_t rng = 7;

	acquire(f);
	leader_snapshot(f, &snap);
	/* This host once served generation 5, now expired. */
	memset(&mine, 0, sizeof(mine));
	mine.generation = 5;
	lc_init(&b, &default_params, fake_random, &rng);
	assert_int_equal(lc_snapshot_adopt(&b, &mine, f->now), 0);
	lc_set_passive(&b, true, f->now);
	lc_start(&b, f->now);
	assert_null(lc_current(&b, f->now));
	assert_int_equal(lc_follow(&b, &snap, f->now, NULL), 0);
	assert_non_null(lc_current(&b, f->now));
	assert_int_equal(lc_current(&b, f->now)->generation, 1);
	assert_int_equal(b.generation, 1);
	lc_snapshot_clear(&snap);
	lc_free(&b);
}

static void test_follower_drops_the_token_the_leader_dropped(void **state)
{
	struct fixture *f = *state;
	struct lifecycle b;
	struct lc_snapshot snap;
	uint64_t rng = 7;

	acquire(f);
	passive_start(&b, &rng, f->now);
	leader_snapshot(f, &snap);
	assert_int_equal(lc_follow(&b, &snap, f->now, NULL), 0);
	lc_snapshot_clear(&snap);
	/* The leader's renewal is refused: the session is dead everywhere. */
	assert_true(lc_report_rejected(&f->lc, 1, f->now) == LC_REPORT_WAIT);
	answer(f, REPLY_REFUSED, 0);
	assert_null(lc_current(&f->lc, f->now));
	leader_snapshot(f, &snap);
	assert_int_equal(lc_follow(&b, &snap, f->now, NULL), 0);
	assert_null(lc_current(&b, f->now));
	assert_true(b.token_lost);
	assert_int_equal(b.state, f->lc.state);
	lc_snapshot_clear(&snap);
	lc_free(&b);
}

static void test_follower_takes_the_windows_and_answers_reports_at_the_ceiling(void **state)
{
	struct fixture *f = *state;
	struct lifecycle b;
	struct lc_snapshot snap;
	uint64_t rng = 7;
	unsigned i;

	acquire(f);
	for (i = 0; i < 12; i++) {
		assert_true(lc_report_rejected(&f->lc, (int64_t)f->lc.generation, f->now) == LC_REPORT_WAIT);
		answer(f, REPLY_SUCCESS, 90 * MIN);
		f->now += SEC;
	}
	passive_start(&b, &rng, f->now);
	leader_snapshot(f, &snap);
	assert_int_equal(lc_follow(&b, &snap, f->now, NULL), 0);
	lc_snapshot_clear(&snap);
	assert_int_equal(lc_renewals_left(&b, f->now), 0);
	assert_int_equal(lc_report_rejected(&b, (int64_t)b.generation, f->now), LC_REPORT_CURRENT);
	assert_true(b.report_at_ceiling);
	lc_free(&b);
}

static void test_follower_report_waits_for_the_leader_and_forces_nothing(void **state)
{
	struct fixture *f = *state;
	struct lifecycle b;
	struct lc_snapshot snap;
	uint64_t rng = 7;

	acquire(f);
	passive_start(&b, &rng, f->now);
	leader_snapshot(f, &snap);
	assert_int_equal(lc_follow(&b, &snap, f->now, NULL), 0);
	lc_snapshot_clear(&snap);
	assert_int_equal(lc_report_rejected(&b, 1, f->now), LC_REPORT_WAIT);
	assert_int_equal(b.send, LC_SEND_NONE);
	assert_int_equal(b.n_renewals, 0);
	assert_int_equal(lc_renewals_left(&b, f->now), 12);
	/* An older generation gets the current token, a newer one is invalid. */
	assert_int_equal(lc_report_rejected(&b, 0, f->now), LC_REPORT_CURRENT);
	assert_int_equal(lc_report_rejected(&b, 2, f->now), LC_REPORT_INVALID);
	lc_free(&b);
}

static void test_new_leader_renews_the_adopted_token_on_schedule(void **state)
{
	struct fixture *f = *state;
	struct lifecycle b;
	struct lc_snapshot snap;
	uint64_t rng = 7;
	usec_t due;

	acquire(f);
	due = lc_next_renewal(&f->lc);
	passive_start(&b, &rng, f->now);
	leader_snapshot(f, &snap);
	assert_int_equal(lc_follow(&b, &snap, f->now, NULL), 0);
	lc_snapshot_clear(&snap);
	f->now += 10 * MIN;
	lc_set_passive(&b, false, f->now);
	assert_int_equal(b.send, LC_SEND_NONE);
	assert_int_equal(b.state, LC_VALID);
	assert_int_equal(lc_next_renewal(&b), due);
	f->now = due;
	lc_tick(&b, f->now);
	assert_int_equal(b.send, LC_SEND_RENEWAL);
	assert_int_equal(b.n_requests, 0);
	lc_free(&b);
}

static void test_leader_stepping_down_with_a_request_in_flight_counts_it_failed(void **state)
{
	struct fixture *f = *state;

	lc_start(&f->lc, f->now);
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
	lc_set_passive(&f->lc, true, f->now + SEC);
	assert_int_equal(f->lc.inflight, LC_SEND_NONE);
	assert_int_equal(lc_failed_left(&f->lc, f->now + SEC), 3);
	assert_true(f->lc.persist_changed);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
}

static void test_withdrawn_renewal_is_not_charged(void **state)
{
	struct fixture *f = *state;

	acquire(f);
	assert_int_equal(lc_report_rejected(&f->lc, 1, f->now), LC_REPORT_WAIT);
	assert_int_equal(f->lc.send, LC_SEND_RENEWAL);
	assert_int_equal(lc_renewals_left(&f->lc, f->now), 11);
	lc_withdraw(&f->lc, f->now);
	assert_true(f->lc.passive);
	assert_int_equal(f->lc.inflight, LC_SEND_NONE);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
	assert_int_equal(lc_renewals_left(&f->lc, f->now), 12);
	assert_int_equal(f->lc.n_renewals, 0);
	assert_string_equal(lc_current(&f->lc, f->now)->access_token, "tok-1");
}

static void test_withdrawn_token_request_is_not_charged(void **state)
{
	struct fixture *f = *state;

	lc_start(&f->lc, f->now);
	assert_int_equal(f->lc.send, LC_SEND_REQUEST);
	lc_withdraw(&f->lc, f->now);
	assert_int_equal(f->lc.n_requests, 0);
	assert_int_equal(lc_failed_left(&f->lc, f->now), 4);
	assert_int_equal(f->lc.send, LC_SEND_NONE);
	assert_int_equal(f->lc.inflight, LC_SEND_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_start_sends_one_token_request),
		T(test_success_installs_generation_1_and_schedules_renewal),
		T(test_renewal_at_expiry_minus_renew_before_keeps_omitted_fields),
		T(test_short_lifetime_renews_at_half_remaining_life),
		T(test_renewal_transient_keeps_serving_and_backs_off_with_jitter),
		T(test_renewal_retry_never_scheduled_after_expiry),
		T(test_renewal_refused_drops_token_and_requests_at_once),
		T(test_expiry_during_renewal_in_flight_is_state_expired),
		T(test_token_is_never_served_at_its_expiration),
		T(test_bad_credentials_never_retried_until_reload),
		T(test_penalty_waits_p_time_and_resends_with_ticket),
		T(test_penalty_on_renewal_retries_renewal_after_p_time),
		T(test_captcha_locks_out_for_lockout_sec),
		T(test_423_locks_out_and_keeps_serving_a_valid_token),
		T(test_429_waits_retry_after_when_given),
		T(test_429_without_retry_after_waits_lockout),
		T(test_failed_request_ceiling_waits_for_the_window),
		T(test_connect_failures_are_retried_but_not_counted),
		T(test_success_resets_backoff),
		T(test_report_rejected_checks_generation),
		T(test_report_rejected_renews_once_per_generation),
		T(test_report_rejected_during_retry_adds_no_attempt),
		T(test_report_is_answered_once_the_next_retry_lies_beyond_the_horizon),
		T(test_a_report_arriving_while_the_retry_lies_beyond_the_horizon_is_answered_at_once),
		T(test_a_report_waiting_for_a_replacement_gets_no_token_once_the_request_retry_lies_beyond_the_horizon),
		T(test_report_rejected_at_ceiling_answers_current),
		T(test_renewal_ceiling_full_waits_as_rate_limited),
		T(test_restore_serves_without_a_request),
		T(test_restore_inside_renewal_window_renews_now),
		T(test_restore_expired_requests_and_keeps_generation),
		T(test_reload_with_new_account_drops_the_token),
		T(test_reload_keeps_the_token_and_tradovates_holds),
		T(test_token_expired_on_arrival_is_a_failure),
		T(test_clock_step_forward_is_handled_by_a_tick),
		T(test_expiration_is_truncated_to_the_published_second),
		T(test_report_rejected_during_a_lockout_answers_current_at_once),
		T(test_retry_after_zero_retries_at_once),
		T(test_token_with_under_a_second_to_live_is_dead_on_arrival),
		T(test_reload_applies_a_new_renew_before_to_the_held_token),
		T(test_renewal_never_sent_does_not_use_the_ceiling),
		T(test_renewal_that_cannot_be_started_does_not_use_the_ceiling),
		T(test_renewal_sent_without_a_reply_uses_the_ceiling),
		T(test_renewal_ceiling_logs_rate_limited_once_per_episode),
		T(test_failed_request_ceiling_logs_rate_limited_once),
		T(test_report_is_released_when_the_ceiling_fills_during_retries),
		T(test_report_is_released_when_the_retry_lies_beyond_expiry),
		T(test_report_is_released_by_a_penalty),
		T(test_report_keeps_waiting_for_a_retry_before_expiry),
		T(test_snapshot_carries_the_windows_and_token_to_a_new_lifecycle),
		T(test_restored_token_in_its_renewal_window_respects_the_ceiling),
		T(test_restored_token_respects_a_lockout),
		T(test_restored_penalty_resends_its_ticket_when_it_ends),
		T(test_rejected_credentials_survive_a_restart_until_a_reload),
		T(test_adopting_a_newer_snapshot_while_running_installs_its_token),
		T(test_refusal_of_a_renewal_of_a_replaced_token_keeps_the_new_one),
		T(test_every_send_asks_for_the_state_to_be_saved_first),
		T(test_passive_lifecycle_never_sends_even_without_a_token),
		T(test_follower_serves_the_leaders_token_and_shows_its_state),
		T(test_follower_token_still_expires_at_its_time),
		T(test_follower_never_goes_back_to_an_older_generation_it_still_holds),
		T(test_follower_without_a_token_takes_an_older_generation),
		T(test_follower_drops_the_token_the_leader_dropped),
		T(test_follower_takes_the_windows_and_answers_reports_at_the_ceiling),
		T(test_follower_report_waits_for_the_leader_and_forces_nothing),
		T(test_new_leader_renews_the_adopted_token_on_schedule),
		T(test_leader_stepping_down_with_a_request_in_flight_counts_it_failed),
		T(test_withdrawn_renewal_is_not_charged),
		T(test_withdrawn_token_request_is_not_charged),
		T(test_a_week_of_random_failures_keeps_every_invariant),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
