/* SPDX-License-Identifier: MIT */
/*
 * The broker carries out what the lifecycle decides: it sends requests
 * through upstream, arms one wall-clock timer, saves the state file, logs the
 * events, keeps STATUS= current and tells the server about token changes.
 *
 * The timer is a timerfd on CLOCK_REALTIME with an absolute deadline and
 * TFD_TIMER_CANCEL_ON_SET: token expiry is a wall-clock fact, an absolute
 * realtime deadline still fires after a suspend, and a clock step wakes us
 * (ECANCELED) so everything is re-evaluated against the new time.
 *
 * Cluster mode ([Cluster]): the broker also owns the cluster member
 * (cluster.c). Only the leader's lifecycle is active; a follower's or a
 * candidate's is passive (it never sends, its token still expires) and
 * takes in what the leader proclaims. Before every request the broker asks
 * cluster_may_send(): when it says no, nothing goes out and the lifecycle
 * takes the attempt back. A leader that steps down cancels its request in
 * flight, and a reply that arrives when it no longer leads is dropped: a
 * token installed there would fork the generations.
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
#include "cluster.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "notify.h"
#include "snapshot.h"
#include "statefile.h"
#include "upstream.h"

/* Tradovate's conformance limits for one request (seed, Stage 1). */
#define SLOW_REQUEST (2 * USEC_PER_SEC)
#define SLOW_RENEWAL (1 * USEC_PER_SEC)

struct broker {
	struct event_base *base;
	const struct config *cfg;
	struct lifecycle lc;
	struct http *http;
	struct upstream *up;
	struct cluster *cluster;    /* NULL: standalone */
	enum cluster_role role;
	char leader[CLUSTER_MAX_MEMBER_NAME + 1];
	struct event *report_ev;    /* bounds the wait of reports forwarded to the leader */
	bool report_waiting;
	void (*stop_done)(void *arg);
	void *stop_arg;
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
	if (b->cluster != NULL) {
		size_t n = strlen(buf);

		if (b->role == CLUSTER_FOLLOWER)
			snprintf(buf + n, len - n, "; follower of %s", b->leader);
		else
			snprintf(buf + n, len - n, "; %s", cluster_role_name(b->role));
	}
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

/* Start what the lifecycle asked to send; -EPERM when this broker may not (cluster). */
static int broker_send(struct broker *b)
{
	int r;

	if (b->cluster != NULL && !cluster_may_send(b->cluster))
		return -EPERM;
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
	int r;

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
		if (b->cluster != NULL && !b->lc.passive &&
		    (b->lc.persist_changed || b->lc.token_changed || b->lc.token_lost ||
		     b->lc.state_changed))
			cluster_proclaim(b->cluster);
		if (b->lc.send == LC_SEND_NONE)
			break;
		r = broker_send(b);
		if (r == 0)
			break;
		if (r == -EPERM) {
			log_info("cluster: not sending the %s: %s no longer leads",
				 b->lc.send == LC_SEND_REQUEST ? "token request" : "renewal",
				 b->cfg->member);
			lc_withdraw(&b->lc, time_now());
		} else {
			lc_send_failed(&b->lc, time_now());
		}
	}
	b->applying = false;
	broker_arm(b, b->lc.timer_at);

	broker_status_text(b, status, sizeof(status));
	if (strcmp(status, b->status) != 0) {
		memcpy(b->status, status, sizeof(status));
		notify_status(status);
		/* retryAt, nextRenewal and the state word travel with the leader's value. */
		if (b->cluster != NULL && !b->lc.passive)
			cluster_proclaim(b->cluster);
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

	/* Fenced since it was sent: a broker that no longer leads installs nothing. */
	if (b->cluster != NULL && (b->lc.passive || cluster_role(b->cluster) != CLUSTER_LEADER)) {
		log_warnx("cluster: dropping the reply to the %s: %s no longer leads",
			  renewal ? "renewal" : "token request", b->cfg->member);
		reply_clear(r);
		lc_set_passive(&b->lc, true, time_now());
		broker_apply(b);
		return;
	}
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

/* ---- cluster mode ---- */

/* cluster: the state to proclaim, the snapshot plus what GetStatus shows. */
static int broker_cluster_snapshot(uint8_t **out, size_t *len, void *arg)
{
	struct broker *b = arg;
	struct lc_snapshot snap;
	char *text = NULL;
	size_t n = 0;
	int r;

	r = lc_snapshot_take(&b->lc, time_now(), &snap);
	if (r < 0)
		return r;
	lc_view_take(&b->lc, &snap.view);
	r = snapshot_encode(&snap, b->cfg->base_url, b->cfg->name, &text, &n);
	lc_snapshot_clear(&snap);
	if (r < 0)
		return r;
	*out = (uint8_t *)text;
	*len = n;
	return 0;
}

/* Log a cluster event (leader_elected, leadership_lost, following). */
static void broker_cluster_event(struct broker *b, enum lc_event e, const char *why)
{
	log_cluster_event(e, b->cfg->member, b->role == CLUSTER_LEADER ? b->cfg->member :
			  b->leader[0] != '\0' ? b->leader : NULL,
			  lc_state_to_string(b->lc.state), b->lc.generation, why);
}

/* Answer the reports forwarded to the leader with what is held now. */
static void broker_release_reports(struct broker *b)
{
	if (b->report_waiting) {
		b->report_waiting = false;
		event_del(b->report_ev);
	}
	broker_notify(b, BROKER_REPORTS_RELEASED);
}

/* libevent: the leader did not answer forwarded reports in time. */
static void broker_report_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;

	log_info("cluster: no new token from %s in time; answering the forwarded reports with "
		 "the current token", b->leader[0] != '\0' ? b->leader : "the leader");
	broker_release_reports(b);
}

/* cluster: the role or the leader changed. */
static void broker_cluster_role(enum cluster_role role, const char *leader, void *arg)
{
	struct broker *b = arg;
	enum cluster_role prev = b->role;
	bool leader_changed = strcmp(leader != NULL ? leader : "", b->leader) != 0;
	usec_t now = time_now();

	b->role = role;
	snprintf(b->leader, sizeof(b->leader), "%s", leader != NULL ? leader : "");
	if (role == CLUSTER_LEADER) {
		if (b->lc.passive) {
			lc_set_passive(&b->lc, false, now);
			broker_apply(b);
		}
		if (prev != CLUSTER_LEADER)
			broker_cluster_event(b, LC_EV_LEADER_ELECTED, NULL);
		/* Reports forwarded to another leader: this one decides now. */
		if (b->report_waiting)
			broker_release_reports(b);
		return;
	}
	if (!b->lc.passive) {
		/* Its reply must never be installed here: the next leader renews. */
		upstream_cancel(b->up);
		lc_set_passive(&b->lc, true, now);
		broker_apply(b);
	}
	if (prev == CLUSTER_LEADER)
		broker_cluster_event(b, LC_EV_LEADERSHIP_LOST, role == CLUSTER_FOLLOWER ?
				     "another broker leads" : "its etcd lease could not be kept alive");
	if (role == CLUSTER_FOLLOWER && (prev != CLUSTER_FOLLOWER || leader_changed))
		broker_cluster_event(b, LC_EV_FOLLOWING, NULL);
	if (role == CLUSTER_CANDIDATE) {
		/* No leader to show: the state comes from the facts held. */
		lc_forget_view(&b->lc, now);
		broker_apply(b);
	}
	if (role != CLUSTER_FOLLOWER || leader_changed)
		broker_release_reports(b);
	broker_apply(b);
}

/* cluster: the leader proclaimed a newer state. */
static void broker_cluster_follow(const uint8_t *state, size_t len, const char *leader, void *arg)
{
	struct broker *b = arg;
	struct lc_snapshot snap;
	uint64_t gen = b->lc.generation;
	bool older = false;
	int r;

	memset(&snap, 0, sizeof(snap));
	r = snapshot_decode((const char *)state, len, b->cfg->base_url, b->cfg->name, &snap);
	if (r != 0) {
		log_warnx("cluster: ignoring the state %s proclaimed: %s", leader,
			  r == SNAPSHOT_OTHER_ACCOUNT ? "it belongs to another account (BaseURL=, Name=)" :
			  r == -ENOMEM ? strerror(ENOMEM) : "malformed");
		lc_snapshot_clear(&snap);
		return;
	}
	if (!b->lc.passive) {
		upstream_cancel(b->up);
		lc_set_passive(&b->lc, true, time_now());
		broker_apply(b);
	}
	r = lc_follow(&b->lc, &snap, time_now(), &older);
	if (r < 0)
		log_warnx("cluster: cannot follow the state %s proclaimed: %s", leader, strerror(-r));
	else if (older)
		log_warnx("cluster: %s proclaims generation %llu, older than generation %llu served "
			  "here; keeping the token held", leader,
			  (unsigned long long)(snap.token.generation ? snap.token.generation : snap.generation),
			  (unsigned long long)gen);
	lc_snapshot_clear(&snap);
	if (r == 0)
		broker_apply(b);
}

/* cluster: a follower forwarded a ReportRejected; handled as a local one. */
static void broker_cluster_report(int64_t generation, const char *member, void *arg)
{
	struct broker *b = arg;
	enum lc_report rep;

	if (b->lc.passive)
		return;
	rep = lc_report_rejected(&b->lc, generation, time_now());
	log_debug("cluster: report of generation %lld from %s: %d", (long long)generation, member,
		  (int)rep);
	broker_apply(b);
}

static const struct cluster_callbacks broker_cluster_callbacks = {
	.snapshot_for_proclaim = broker_cluster_snapshot,
	.on_role_change = broker_cluster_role,
	.on_follow = broker_cluster_follow,
	.on_report = broker_cluster_report,
};

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

	r = http_new(base, &b->http);
	if (r < 0)
		goto fail;
	r = upstream_new_on(b->http, broker_upstream_done, b, &b->up);
	if (r < 0)
		goto fail;
	if (cfg->cluster) {
		/* Passive until elected: nothing goes to Tradovate before. */
		lc_set_passive(&b->lc, true, time_now());
		b->role = CLUSTER_CANDIDATE;
		r = cluster_new(base, b->http, cfg, &broker_cluster_callbacks, b, &b->cluster);
		if (r < 0)
			goto fail;
		b->report_ev = evtimer_new(base, broker_report_timeout, b);
		if (!b->report_ev) {
			r = -ENOMEM;
			goto fail;
		}
	}
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

/* Say what a restart carried over besides the token: ceilings and holds. */
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
	if (r == SNAPSHOT_OTHER_ACCOUNT) {
		/* As a reload to another account would: Tradovate's per-IP counts and holds stay. */
		log_info("state file %s belongs to another account: keeping its hourly counts, "
			 "Tradovate's holds and the generation, not its token", cfg->state_file);
		r = 0;
	}
	/*
	 * A restart tries rejected credentials once more, as a reload does
	 * (CONTRACT §7: "until a reload"): the operator may have fixed them.
	 * The failed request that rejected them still counts in the hour, so
	 * a crash loop stays within MaxFailedRequestsPerHour.
	 */
	if (r == 0 && snap.credentials_rejected) {
		log_info("Tradovate rejected the credentials before the restart; trying them once more");
		snap.credentials_rejected = false;
	}
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
	if (b->cluster != NULL && cluster_start(b->cluster) < 0)
		log_warnx("cluster: cannot start");
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
	cluster_free(b->cluster);
	upstream_free(b->up);
	http_free(b->http);
	if (b->report_ev)
		event_free(b->report_ev);
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

/*
 * ReportRejected. On a follower, a report the local facts cannot answer is
 * forwarded to the leader and answered when a newer generation arrives, when
 * the leader's state says no renewal comes soon, when this broker stops
 * following, or after RequestTimeoutSec + LeaseSec with the current token.
 */
enum lc_report broker_report_rejected(struct broker *b, int64_t generation)
{
	enum lc_report rep = lc_report_rejected(&b->lc, generation, time_now());

	broker_apply(b);
	if (rep != LC_REPORT_WAIT || b->cluster == NULL || !b->lc.passive)
		return rep;
	if (cluster_report_rejected(b->cluster, generation) < 0)
		return broker_token(b) != NULL ? LC_REPORT_CURRENT : LC_REPORT_NO_TOKEN;
	if (!b->report_waiting) {
		usec_t bound = b->cfg->request_timeout + b->cfg->lease;
		struct timeval tv = { .tv_sec = (time_t)(bound / USEC_PER_SEC),
				      .tv_usec = (suseconds_t)(bound % USEC_PER_SEC) };

		b->report_waiting = evtimer_add(b->report_ev, &tv) == 0;
	}
	return LC_REPORT_WAIT;
}

/* The cluster role: "standalone", "leader", "follower" or "candidate". */
const char *broker_role(const struct broker *b)
{
	return b->cluster != NULL ? cluster_role_name(b->role) : cluster_role_name(CLUSTER_STANDALONE);
}

/* The leader's member name, or NULL (unknown, or standalone). */
const char *broker_leader(const struct broker *b)
{
	if (b->cluster == NULL)
		return NULL;
	if (b->role == CLUSTER_LEADER)
		return b->cfg->member;
	return b->leader[0] != '\0' ? b->leader : NULL;
}

/* libevent: the cluster left: call the stopper. */
static void broker_cluster_left(void *arg)
{
	struct broker *b = arg;
	void (*done)(void *) = b->stop_done;

	b->stop_done = NULL;
	if (done)
		done(b->stop_arg);
}

/* Stop: a leader hands over (its lease revoked) before done is called; nothing more is sent. */
void broker_stop(struct broker *b, void (*done)(void *arg), void *arg)
{
	if (b->cluster == NULL) {
		done(arg);
		return;
	}
	b->stop_done = done;
	b->stop_arg = arg;
	if (!b->lc.passive) {
		upstream_cancel(b->up);
		lc_set_passive(&b->lc, true, time_now());
		broker_apply(b);
	}
	cluster_stop(b->cluster, broker_cluster_left, b);
}

const struct lifecycle *broker_lifecycle(struct broker *b)
{
	broker_catch_up(b);
	return &b->lc;
}
