/*
 * The broker carries out what the lifecycle decides: it sends requests
 * through upstream, arms one wall-clock timer, saves the state file, logs the
 * events, keeps STATUS= current and tells the server about token changes.
 *
 * The timer is a timerfd on CLOCK_REALTIME with an absolute deadline and
 * TFD_TIMER_CANCEL_ON_SET: token expiry is a wall-clock fact, an absolute
 * realtime deadline still fires after a suspend, and a clock step wakes us
 * (ECANCELED) so everything is re-evaluated against the new time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "broker.h"
#include "config.h"
#include "log.h"
#include "notify.h"
#include "statefile.h"
#include "upstream.h"

/* Tradovate's conformance limits for one request (seed, Stage 1). */
#define SLOW_REQUEST (2 * USEC_PER_SEC)
#define SLOW_RENEWAL (1 * USEC_PER_SEC)

struct broker {
	struct event_base *base;
	const struct config *cfg;
	struct lifecycle lc;
	struct upstream *up;
	int tfd;
	struct event *timer_ev;
	broker_listener_fn listener;
	void *listener_arg;
	uint64_t rng;
	bool save_failing;          /* the last state file write failed (and was logged) */
	bool applying;              /* inside broker_apply: listeners must not re-plan */
	char status[256];
};

/* xorshift64 seeded from getrandom: jitter needs spread, not secrecy. */
static uint64_t broker_random(void *arg)
{
	uint64_t *s = arg;

	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void params_from_config(struct lc_params *p, const struct config *cfg)
{
	p->renew_before = cfg->renew_before;
	p->retry_min = cfg->retry_min;
	p->retry_max = cfg->retry_max;
	p->lockout = cfg->lockout;
	p->max_renewals = cfg->max_renewals_per_hour;
	p->max_failed = cfg->max_failed_requests_per_hour;
	p->answer_horizon = cfg->request_timeout;
}

static void broker_notify(struct broker *b, enum broker_change what)
{
	if (b->listener)
		b->listener(what, b->listener_arg);
}

/* Arm the timerfd for the lifecycle's deadline, or disarm it. */
static void broker_arm(struct broker *b, usec_t at)
{
	struct itimerspec its = { 0 };

	if (at) {
		its.it_value.tv_sec = (time_t)(at / USEC_PER_SEC);
		its.it_value.tv_nsec = (long)(at % USEC_PER_SEC) * 1000;
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
	}
	if (timerfd_settime(b->tfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) < 0)
		log_warn("timerfd_settime");
}

/*
 * Save the lifecycle's snapshot when a state file is configured. Called
 * before a request goes out, so that a restart, however abrupt, knows it
 * was sent and cannot get past a ceiling.
 */
static void broker_save(struct broker *b)
{
	struct lc_snapshot snap;
	int r;

	if (!b->cfg->state_file)
		return;
	r = lc_snapshot_take(&b->lc, time_now(), &snap);
	if (r == 0)
		r = statefile_write(b->cfg->state_file, b->cfg->base_url, b->cfg->name, &snap);
	lc_snapshot_clear(&snap);
	/* Said once, not at every request, until a write works again. */
	if (r < 0 && !b->save_failing)
		log_warnx("cannot write state file %s: %s; a restart would forget the token and the hourly "
			  "counts", b->cfg->state_file, strerror(-r));
	else if (r == 0 && b->save_failing)
		log_info("state file %s written again", b->cfg->state_file);
	b->save_failing = r < 0;
}

/* "valid: expires 14:30:00Z, renewal at 14:15:00Z" — states and times only. */
void broker_status_text(const struct broker *b, char *buf, size_t len)
{
	const struct lifecycle *lc = &b->lc;
	char exp[TIME_RFC3339_MAX], ren[TIME_RFC3339_MAX], retry[TIME_RFC3339_MAX];
	const char *state = lc_state_to_string(lc->state);
	bool tok = lc->token.access_token != NULL;

	if (tok)
		time_format_hms(lc->token.expiration, exp);
	if (lc_next_renewal(lc))
		time_format_hms(lc_next_renewal(lc), ren);
	if (lc_retry_at(lc))
		time_format_hms(lc_retry_at(lc), retry);

	if (lc->state == LC_VALID && tok && lc_next_renewal(lc))
		snprintf(buf, len, "%s: expires %s, renewal at %s", state, exp, ren);
	else if (lc->state == LC_CREDENTIALS_REJECTED)
		snprintf(buf, len, "%s: fix the credentials, then reload", state);
	else if (tok && lc_retry_at(lc))
		snprintf(buf, len, "%s: expires %s, next attempt at %s", state, exp, retry);
	else if (tok)
		snprintf(buf, len, "%s: expires %s", state, exp);
	else if (lc_retry_at(lc))
		snprintf(buf, len, "%s: no token, next attempt at %s", state, retry);
	else
		snprintf(buf, len, "%s: no token", state);
}

static void broker_apply(struct broker *b);

/* Log one event; a local ceiling's rate_limited names the ceiling instead of the last error. */
static void broker_log_event(struct broker *b, const struct lc_event_rec *ev, const char *state)
{
	char why[96];

	if (ev->event == LC_EV_RATE_LIMITED && ev->ceiling != LC_CEILING_NONE) {
		snprintf(why, sizeof(why), "%s=%u reached",
			 ev->ceiling == LC_CEILING_RENEWALS ? "MaxRenewalsPerHour" : "MaxFailedRequestsPerHour",
			 ev->ceiling_max);
		log_event(ev, state, why);
		return;
	}
	log_event(ev, state, b->lc.last_error);
}

/* Start what the lifecycle asked to send. */
static int broker_send(struct broker *b)
{
	int r;

	if (b->lc.send == LC_SEND_REQUEST)
		r = upstream_request_token(b->up, b->lc.p_ticket);
	else
		r = upstream_renew(b->up, b->lc.token.access_token, b->lc.token.md_access_token);
	if (r < 0)
		log_warnx("cannot start the %s: %s", b->lc.send == LC_SEND_REQUEST ? "token request" : "renewal",
			  strerror(-r));
	return r;
}

/* Carry out the lifecycle's outputs, until it asks for nothing that can be done at once. */
static void broker_apply(struct broker *b)
{
	char status[sizeof(b->status)];
	unsigned i;

	b->applying = true;
	for (;;) {
		const char *state = lc_state_to_string(b->lc.state);

		for (i = 0; i < b->lc.n_events; i++)
			broker_log_event(b, &b->lc.events[i], state);
		if (b->lc.report_at_ceiling)
			log_warnx("ReportRejected for generation %llu answered with the current token: "
				  "the hourly renewal ceiling (MaxRenewalsPerHour=%u) is reached",
				  (unsigned long long)b->lc.generation, b->lc.p.max_renewals);
		if (b->lc.persist_changed || b->lc.token_changed || b->lc.token_lost)
			broker_save(b);
		if (b->lc.token_lost)
			broker_notify(b, BROKER_TOKEN_LOST);
		if (b->lc.token_changed)
			broker_notify(b, BROKER_TOKEN_NEW);
		if (b->lc.gave_up_changed)
			broker_notify(b, BROKER_GAVE_UP);
		if (b->lc.reports_released)
			broker_notify(b, BROKER_REPORTS_RELEASED);
		if (b->lc.send == LC_SEND_NONE || broker_send(b) == 0)
			break;
		lc_send_failed(&b->lc, time_now());
	}
	b->applying = false;
	broker_arm(b, b->lc.timer_at);

	broker_status_text(b, status, sizeof(status));
	if (strcmp(status, b->status) != 0) {
		memcpy(b->status, status, sizeof(status));
		notify_status(status);
	}
}

/* The timer fired, or the wall clock was stepped. */
static void broker_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;
	uint64_t ticks;

	if (read(b->tfd, &ticks, sizeof(ticks)) < 0) {
		if (errno == ECANCELED)
			log_info("the system clock changed; re-evaluating the token's schedule");
		else if (errno != EAGAIN)
			log_warn("reading the timer");
	}
	lc_tick(&b->lc, time_now());
	broker_apply(b);
}

/* A request finished. */
static void broker_upstream_done(struct reply *r, void *arg)
{
	struct broker *b = arg;
	bool renewal = r->kind == REPLY_KIND_RENEWAL;

	if (r->duration > (renewal ? SLOW_RENEWAL : SLOW_REQUEST))
		log_warnx("slow upstream: the %s took %llu ms (Tradovate's limit is %s)",
			  renewal ? "renewal" : "token request",
			  (unsigned long long)(r->duration / USEC_PER_MSEC), renewal ? "1 s" : "2 s");
	if (r->date_ignored)
		log_warnx("the %s's Date header is %lld s %s the local clock (more than %llu s): "
			  "the token's expiry is taken on the local clock, uncorrected",
			  renewal ? "renewal" : "token request", (long long)llabs(r->date_skew / (int64_t)USEC_PER_SEC),
			  r->date_skew > 0 ? "ahead of" : "behind",
			  (unsigned long long)(REPLY_DATE_MAX_SKEW / USEC_PER_SEC));
	if (r->date_capped)
		log_warnx("the %s's Date header is %lld s behind the local clock: the token's expiry is "
			  "moved %llu min later, not more", renewal ? "renewal" : "token request",
			  (long long)llabs(r->date_skew / (int64_t)USEC_PER_SEC),
			  (unsigned long long)(REPLY_LIFETIME_MARGIN / USEC_PER_MIN));
	lc_reply(&b->lc, r, time_now());
	reply_clear(r);          /* what the lifecycle did not take over: wiped */
	broker_apply(b);
}

/* Create the broker; nothing is sent before broker_start. */
int broker_new(struct event_base *base, const struct config *cfg, struct broker **out)
{
	struct lc_params p;
	struct broker *b;
	int r;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->base = base;
	b->cfg = cfg;
	b->tfd = -1;
	if (getrandom(&b->rng, sizeof(b->rng), GRND_NONBLOCK) != sizeof(b->rng))
		b->rng = time_now() ^ ((uint64_t)getpid() << 32);
	b->rng |= 1;
	params_from_config(&p, cfg);
	lc_init(&b->lc, &p, broker_random, &b->rng);

	r = upstream_new(base, broker_upstream_done, b, &b->up);
	if (r < 0)
		goto fail;
	r = upstream_configure(b->up, cfg);
	if (r < 0)
		goto fail;
	b->tfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (b->tfd < 0) {
		r = -errno;
		goto fail;
	}
	b->timer_ev = event_new(base, b->tfd, EV_READ | EV_PERSIST, broker_timer_cb, b);
	if (!b->timer_ev || event_add(b->timer_ev, NULL) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	*out = b;
	return 0;
fail:
	broker_free(b);
	return r;
}

void broker_set_listener(struct broker *b, broker_listener_fn fn, void *arg)
{
	b->listener = fn;
	b->listener_arg = arg;
}

/* Say what a restart carried over besides the token: ceilings, holds, rejected credentials. */
static void broker_log_restored(struct broker *b, usec_t now)
{
	const struct lifecycle *lc = &b->lc;
	char until[TIME_RFC3339_MAX];
	unsigned ren = lc->p.max_renewals - lc_renewals_left(lc, now);
	unsigned failed = lc->p.max_failed - lc_failed_left(lc, now);

	if (ren || failed)
		log_info("restored the hourly counts from %s: %u renewal%s and %u failed token request%s "
			 "in the last hour", b->cfg->state_file, ren, ren == 1 ? "" : "s", failed, failed == 1 ? "" : "s");
	if (lc->hold != LC_HOLD_NONE && now < lc->hold_until)
		log_info("restored from %s: %s until %s", b->cfg->state_file,
			 lc_state_to_string(lc->hold == LC_HOLD_PENALTY ? LC_PENALTY :
					    lc->hold == LC_HOLD_RATE_LIMITED ? LC_RATE_LIMITED : LC_LOCKED_OUT),
			 time_format_rfc3339(lc->hold_until, until));
	if (lc->credentials_rejected)
		log_warnx("restored from %s: Tradovate rejected the credentials before the restart; "
			  "nothing is sent until a reload (systemctl reload, SIGHUP)", b->cfg->state_file);
}

/* Read the state file into the lifecycle (token, windows, holds). */
static void broker_restore(struct broker *b)
{
	const struct config *cfg = b->cfg;
	struct lc_snapshot snap;
	usec_t now = time_now();
	int r;

	r = statefile_remove_stale(cfg->state_file);
	if (r > 0)
		log_info("removed %d temp file%s a killed write left beside %s", r, r == 1 ? "" : "s",
			 cfg->state_file);
	else if (r < 0)
		log_warnx("cannot look for temp files beside %s: %s", cfg->state_file, strerror(-r));

	memset(&snap, 0, sizeof(snap));
	r = statefile_read(cfg->state_file, cfg->base_url, cfg->name, &snap);
	if (r == 0) {
		r = lc_snapshot_adopt(&b->lc, &snap, now);
		if (r < 0)
			log_warnx("cannot restore the state from %s: %s", cfg->state_file, strerror(-r));
		else if (lc_current(&b->lc, now))
			log_info("restored the token (generation %llu) from %s",
				 (unsigned long long)b->lc.token.generation, cfg->state_file);
		if (r == 0)
			broker_log_restored(b, now);
	} else if (r == -EBADMSG) {
		log_warnx("state file %s is corrupt; ignoring it", cfg->state_file);
	} else if (r == -ESTALE) {
		log_info("state file %s belongs to another account; ignoring it", cfg->state_file);
	} else if (r != -ENOENT) {
		log_warnx("cannot read state file %s: %s", cfg->state_file, strerror(-r));
	}
	lc_snapshot_clear(&snap);
}

/* Restore the saved state, then let the lifecycle decide the first step. */
void broker_start(struct broker *b)
{
	if (b->cfg->state_file)
		broker_restore(b);
	lc_start(&b->lc, time_now());
	broker_apply(b);
}

/* Take a reloaded config: same account keeps the token, another drops it. */
void broker_reload(struct broker *b, const struct config *cfg)
{
	bool changed = !config_same_account(b->cfg, cfg);
	struct lc_params p;
	int r;

	if (changed) {
		upstream_cancel(b->up);
		log_info("the account changed (BaseURL or Name); dropping the held token");
	}
	r = upstream_configure(b->up, cfg);
	if (r < 0)
		log_warnx("cannot apply the new upstream settings: %s", strerror(-r));
	b->cfg = cfg;
	params_from_config(&p, cfg);
	lc_reload(&b->lc, &p, changed, time_now());
	broker_apply(b);
}

void broker_free(struct broker *b)
{
	if (!b)
		return;
	upstream_free(b->up);
	if (b->timer_ev)
		event_free(b->timer_ev);
	if (b->tfd >= 0)
		close(b->tfd);
	lc_free(&b->lc);
	explicit_bzero(b, sizeof(*b));
	free(b);
}

/*
 * Between a token's expiry and the timer firing, state and status would
 * still say valid: catch up at once when a client looks. Not while
 * broker_apply is carrying out a decision (its listeners look too): a
 * nested plan would send while the outer one still has its own request to
 * start. lc_current() refuses the expired token either way, and the timer,
 * armed at the expiry, fires as soon as the loop runs again.
 */
static void broker_catch_up(struct broker *b)
{
	usec_t now = time_now();

	if (b->applying)
		return;
	if (b->lc.token.access_token && now >= b->lc.token.expiration) {
		lc_tick(&b->lc, now);
		broker_apply(b);
	}
}

/* The token valid now, checked against the clock at every call. */
const struct token *broker_token(struct broker *b)
{
	broker_catch_up(b);
	return lc_current(&b->lc, time_now());
}

enum lc_report broker_report_rejected(struct broker *b, int64_t generation)
{
	enum lc_report rep = lc_report_rejected(&b->lc, generation, time_now());

	broker_apply(b);
	return rep;
}

const struct lifecycle *broker_lifecycle(struct broker *b)
{
	broker_catch_up(b);
	return &b->lc;
}
