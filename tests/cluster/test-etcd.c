/* SPDX-License-Identifier: MIT */
/*
 * etcd: the client against a real etcd cluster started by the calling script
 * (test-etcd.sh). The environment says where and how:
 *   ETCD_ENDPOINTS  space-separated client URLs of the live members
 *   ETCD_DEAD       a URL where nothing listens
 *   ETCD_PREFIX     a key prefix of this run ("tvtokend-test/<pid>/")
 *   ETCD_CA, ETCD_CERT, ETCD_KEY      TLS files (tls group)
 *   ETCD_USER, ETCD_PASSWORD          a user with rights on ETCD_PREFIX only (auth group)
 *   ETCD_BUMP_AUTH  a shell command that invalidates the user's tokens (auth group)
 * argv[1] picks the group: plain, degraded (the first endpoint's member was
 * killed), auth or tls. Every wait is bounded.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <event2/event.h>

#include "etcd.h"
#include "http.h"

#define WAIT_MS 15000
#define MAX_MSGS 16

/* What one call saw. */
struct seen {
	int n_final;
	int n_more;
	int error;
	char message[ETCD_MAX_MESSAGE];
	int64_t id, ttl, revision, deleted, count;
	struct etcd_leader_key leader;
	/* values of kvs (range, leader) or of each stream message */
	char values[MAX_MSGS][64];
	char keys[MAX_MSGS][128];
	int64_t leases[MAX_MSGS];
	int types[MAX_MSGS];
	int n_values;
	bool created;
	bool cancel_on_more;        /* cancel the call from its stream callback */
	struct etcd_call *call;
};

struct ctx {
	struct event_base *base;
	struct http *http;
	struct etcd *etcd;
	struct event *watchdog;
	bool fired;
	char *urls[ETCD_MAX_ENDPOINTS];
	size_t n_urls;
	char prefix[128];
};

static const char *group = "plain";

/* Record a reply into the seen it belongs to. */
static void
on_reply(struct etcd_call *call, const struct etcd_reply *r, void *arg)
{
	struct seen *s = arg;

	if (r->more) {
		s->n_more++;
	} else {
		s->n_final++;
		s->error = r->error;
		snprintf(s->message, sizeof(s->message), "%s", r->message);
	}
	if (r->error == 0) {
		s->id = r->id;
		s->ttl = r->ttl;
		s->revision = r->revision;
		s->deleted = r->deleted;
		s->count = r->count;
		s->created |= r->created;
		if (r->leader.key != NULL) {
			etcd_leader_key_clear(&s->leader);
			assert_int_equal(etcd_leader_key_copy(&s->leader, &r->leader), 0);
		}
		for (size_t i = 0; i < r->n_kvs && s->n_values < MAX_MSGS; i++, s->n_values++) {
			snprintf(s->values[s->n_values], sizeof(s->values[0]), "%s",
			    (char *)r->kvs[i].value);
			snprintf(s->keys[s->n_values], sizeof(s->keys[0]), "%s",
			    (char *)r->kvs[i].key);
			s->leases[s->n_values] = r->kvs[i].lease;
		}
		for (size_t i = 0; i < r->n_events && s->n_values < MAX_MSGS; i++, s->n_values++) {
			snprintf(s->values[s->n_values], sizeof(s->values[0]), "%s",
			    (char *)r->events[i].kv.value);
			snprintf(s->keys[s->n_values], sizeof(s->keys[0]), "%s",
			    (char *)r->events[i].kv.key);
			s->types[s->n_values] = r->events[i].type;
		}
	}
	if (r->more && s->cancel_on_more)
		etcd_call_cancel(call);
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct ctx *c = arg;

	c->fired = true;
}

/* Turn the loop until *counter reaches want, at most WAIT_MS. */
static void
wait_for(struct ctx *c, const int *counter, int want)
{
	struct timeval tv = { WAIT_MS / 1000, (WAIT_MS % 1000) * 1000 };

	c->fired = false;
	assert_int_equal(evtimer_add(c->watchdog, &tv), 0);
	while (*counter < want && !c->fired)
		event_base_loop(c->base, EVLOOP_ONCE);
	evtimer_del(c->watchdog);
	if (*counter < want)
		fail_msg("nothing after %d ms", WAIT_MS);
}

/* Turn the loop for ms. */
static void
run_for(struct ctx *c, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	c->fired = false;
	assert_int_equal(evtimer_add(c->watchdog, &tv), 0);
	while (!c->fired)
		event_base_loop(c->base, EVLOOP_ONCE);
}

/* Options for this group, with the endpoints given. */
static struct etcd_options
options(struct ctx *c, const char *const *eps, size_t n)
{
	struct etcd_options o;

	memset(&o, 0, sizeof(o));
	o.endpoints = eps;
	o.n_endpoints = n;
	o.timeout = 5 * USEC_PER_SEC;
	o.keepalive_idle = 2;
	if (strcmp(group, "tls") == 0) {
		o.ca_file = getenv("ETCD_CA");
		o.cert_file = getenv("ETCD_CERT");
		o.key_file = getenv("ETCD_KEY");
	}
	if (strcmp(group, "auth") == 0) {
		o.user = getenv("ETCD_USER");
		o.password = getenv("ETCD_PASSWORD");
	}
	return o;
}

static int
setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	const char *eps = getenv("ETCD_ENDPOINTS"), *prefix = getenv("ETCD_PREFIX");
	char *copy, *save = NULL;
	struct etcd_options o;
	static unsigned n_test;

	assert_non_null(c);
	assert_non_null(eps);
	assert_non_null(prefix);
	copy = strdup(eps);
	for (char *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save))
		c->urls[c->n_urls++] = strdup(w);
	free(copy);
	snprintf(c->prefix, sizeof(c->prefix), "%s%s-%u/", prefix, group, ++n_test);
	c->base = event_base_new();
	assert_non_null(c->base);
	c->watchdog = evtimer_new(c->base, on_watchdog, c);
	assert_int_equal(http_new(c->base, &c->http), 0);
	o = options(c, (const char *const *)c->urls, c->n_urls);
	assert_int_equal(etcd_new(c->http, &o, &c->etcd), 0);
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct ctx *c = *state;

	etcd_free(c->etcd);
	http_free(c->http);
	event_free(c->watchdog);
	event_base_free(c->base);
	for (size_t i = 0; i < c->n_urls; i++)
		free(c->urls[i]);
	free(c);
	return 0;
}

/* A key under this test's prefix. */
static const char *
key(struct ctx *c, const char *rest)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s%s", c->prefix, rest);
	return buf[i];
}

/* Grant a lease of ttl seconds and return its id. */
static int64_t
grant(struct ctx *c, int64_t ttl)
{
	struct seen s = { 0 };

	assert_int_equal(etcd_lease_grant(c->etcd, ttl, on_reply, &s, NULL), 0);
	wait_for(c, &s.n_final, 1);
	if (s.error != 0)
		fail_msg("grant: %d %s", s.error, s.message);
	assert_true(s.id != 0);
	assert_int_equal(s.ttl, ttl);
	return s.id;
}

/* Put value at k (lease 0: none) and assert it worked. */
static void
put(struct ctx *c, const char *k, const char *value, int64_t lease)
{
	struct seen s = { 0 };

	assert_int_equal(etcd_put(c->etcd, k, (const uint8_t *)value, strlen(value), lease,
	    on_reply, &s, NULL), 0);
	wait_for(c, &s.n_final, 1);
	if (s.error != 0)
		fail_msg("put %s: %d %s", k, s.error, s.message);
	assert_true(s.revision > 0);
}

/* Range over k (a prefix when asked) into s. */
static void
range(struct ctx *c, const char *k, bool prefix, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(etcd_range(c->etcd, k, prefix, on_reply, s, NULL), 0);
	wait_for(c, &s->n_final, 1);
	if (s->error != 0)
		fail_msg("range %s: %d %s", k, s->error, s->message);
}

static void
lease_is_granted_kept_alive_and_revoked(void **state)
{
	struct ctx *c = *state;
	struct seen ka = { 0 }, rv = { 0 }, gone = { 0 };
	int64_t id = grant(c, 5);

	assert_int_equal(etcd_lease_keepalive(c->etcd, id, 0, on_reply, &ka, NULL), 0);
	wait_for(c, &ka.n_final, 1);
	assert_int_equal(ka.error, 0);
	assert_int_equal(ka.id, id);
	assert_int_equal(ka.ttl, 5);
	assert_int_equal(etcd_lease_revoke(c->etcd, id, on_reply, &rv, NULL), 0);
	wait_for(c, &rv.n_final, 1);
	assert_int_equal(rv.error, 0);
	assert_int_equal(etcd_lease_keepalive(c->etcd, id, 0, on_reply, &gone, NULL), 0);
	wait_for(c, &gone.n_final, 1);
	assert_int_equal(gone.error, 0);
	assert_int_equal(gone.ttl, 0);
}

static void
revoking_an_unknown_lease_is_enoent(void **state)
{
	struct ctx *c = *state;
	struct seen s = { 0 };

	assert_int_equal(etcd_lease_revoke(c->etcd, 0x7fffffff12345LL, on_reply, &s, NULL), 0);
	wait_for(c, &s.n_final, 1);
	assert_int_equal(s.error, -ENOENT);
	assert_non_null(strstr(s.message, "lease not found"));
}

static void
keys_are_put_ranged_and_deleted_by_prefix(void **state)
{
	struct ctx *c = *state;
	struct seen s, d = { 0 };

	put(c, key(c, "p/a"), "one", 0);
	put(c, key(c, "p/b"), "two", 0);
	put(c, key(c, "q"), "other", 0);
	range(c, key(c, "p/"), true, &s);
	assert_int_equal(s.n_values, 2);
	assert_string_equal(s.values[0], "one");
	assert_string_equal(s.keys[1], key(c, "p/b"));
	assert_string_equal(s.values[1], "two");
	range(c, key(c, "p/a"), false, &s);
	assert_int_equal(s.n_values, 1);
	assert_int_equal(etcd_delete(c->etcd, key(c, "p/"), true, on_reply, &d, NULL), 0);
	wait_for(c, &d.n_final, 1);
	assert_int_equal(d.error, 0);
	assert_int_equal(d.deleted, 2);
	range(c, key(c, ""), true, &s);
	assert_int_equal(s.n_values, 1);
	assert_string_equal(s.values[0], "other");
}

/* A range callback that compares the value with 0..255. */
static void
on_binary(struct etcd_call *call, const struct etcd_reply *r, void *arg)
{
	int *result = arg;

	*result = 1;
	if (r->error == 0 && r->n_kvs == 1 && r->kvs[0].value_len == 256) {
		*result = 2;
		for (int i = 0; i < 256; i++)
			if (r->kvs[0].value[i] != (uint8_t)i)
				*result = 1;
	}
}

static void
binary_value_survives_the_round_trip(void **state)
{
	struct ctx *c = *state;
	uint8_t value[256];
	struct seen s = { 0 };
	int result = 0;

	for (int i = 0; i < 256; i++)
		value[i] = (uint8_t)i;
	assert_int_equal(etcd_put(c->etcd, key(c, "bin2"), value, sizeof(value), 0, on_reply,
	    &s, NULL), 0);
	wait_for(c, &s.n_final, 1);
	assert_int_equal(etcd_range(c->etcd, key(c, "bin2"), false, on_binary, &result, NULL), 0);
	wait_for(c, &result, 1);
	assert_int_equal(result, 2);
}

static void
keys_with_a_lease_go_when_it_is_revoked(void **state)
{
	struct ctx *c = *state;
	struct seen s, rv = { 0 };
	int64_t id = grant(c, 30);

	put(c, key(c, "leased"), "x", id);
	range(c, key(c, "leased"), false, &s);
	assert_int_equal(s.n_values, 1);
	assert_int_equal(s.leases[0], id);
	assert_int_equal(etcd_lease_revoke(c->etcd, id, on_reply, &rv, NULL), 0);
	wait_for(c, &rv.n_final, 1);
	range(c, key(c, "leased"), false, &s);
	assert_int_equal(s.n_values, 0);
}

static void
campaign_wins_an_empty_election_and_proclaims(void **state)
{
	struct ctx *c = *state;
	struct seen camp = { 0 }, ld, pr = { 0 }, rs = { 0 };
	int64_t id = grant(c, 30);
	const char *name = key(c, "election");

	assert_int_equal(etcd_campaign(c->etcd, name, id, (const uint8_t *)"v1", 2, on_reply,
	    &camp, NULL), 0);
	wait_for(c, &camp.n_final, 1);
	assert_int_equal(camp.error, 0);
	assert_int_equal(camp.leader.lease, id);
	assert_true(camp.leader.rev > 0);
	assert_memory_equal(camp.leader.name, name, strlen(name));

	memset(&ld, 0, sizeof(ld));
	assert_int_equal(etcd_leader(c->etcd, name, on_reply, &ld, NULL), 0);
	wait_for(c, &ld.n_final, 1);
	assert_int_equal(ld.error, 0);
	assert_string_equal(ld.values[0], "v1");
	assert_int_equal(ld.leases[0], id);

	assert_int_equal(etcd_proclaim(c->etcd, &camp.leader, (const uint8_t *)"v2", 2,
	    on_reply, &pr, NULL), 0);
	wait_for(c, &pr.n_final, 1);
	assert_int_equal(pr.error, 0);
	memset(&ld, 0, sizeof(ld));
	assert_int_equal(etcd_leader(c->etcd, name, on_reply, &ld, NULL), 0);
	wait_for(c, &ld.n_final, 1);
	assert_string_equal(ld.values[0], "v2");

	assert_int_equal(etcd_resign(c->etcd, &camp.leader, on_reply, &rs, NULL), 0);
	wait_for(c, &rs.n_final, 1);
	assert_int_equal(rs.error, 0);
	memset(&ld, 0, sizeof(ld));
	assert_int_equal(etcd_leader(c->etcd, name, on_reply, &ld, NULL), 0);
	wait_for(c, &ld.n_final, 1);
	assert_int_equal(ld.error, -ENOENT);
	etcd_leader_key_clear(&camp.leader);
}

static void
proclaim_after_resigning_is_stale(void **state)
{
	struct ctx *c = *state;
	struct seen camp = { 0 }, rs = { 0 }, pr = { 0 };
	int64_t id = grant(c, 30);

	assert_int_equal(etcd_campaign(c->etcd, key(c, "e"), id, (const uint8_t *)"a", 1,
	    on_reply, &camp, NULL), 0);
	wait_for(c, &camp.n_final, 1);
	assert_int_equal(etcd_resign(c->etcd, &camp.leader, on_reply, &rs, NULL), 0);
	wait_for(c, &rs.n_final, 1);
	assert_int_equal(etcd_proclaim(c->etcd, &camp.leader, (const uint8_t *)"b", 1, on_reply,
	    &pr, NULL), 0);
	wait_for(c, &pr.n_final, 1);
	assert_int_equal(pr.error, -ESTALE);
	etcd_leader_key_clear(&camp.leader);
}

static void
guarded_puts_land_together_while_the_leadership_lasts(void **state)
{
	struct ctx *c = *state;
	struct seen camp = { 0 }, tx = { 0 }, rs = { 0 }, ld, st;
	int64_t id = grant(c, 30);
	const char *name = key(c, "tx-election"), *skey = key(c, "tx-state");
	struct etcd_put_op puts[2];

	assert_int_equal(etcd_campaign(c->etcd, name, id, (const uint8_t *)"v1", 2, on_reply,
	    &camp, NULL), 0);
	wait_for(c, &camp.n_final, 1);
	assert_int_equal(camp.error, 0);
	puts[0] = (struct etcd_put_op){ .key = camp.leader.key, .key_len = camp.leader.key_len,
	    .value = (const uint8_t *)"v2", .len = 2, .lease = id };
	puts[1] = (struct etcd_put_op){ .key = (const uint8_t *)skey, .key_len = strlen(skey),
	    .value = (const uint8_t *)"s2", .len = 2 };
	assert_int_equal(etcd_put_if_created(c->etcd, camp.leader.key, camp.leader.key_len,
	    camp.leader.rev, puts, 2, on_reply, &tx, NULL), 0);
	wait_for(c, &tx.n_final, 1);
	assert_int_equal(tx.error, 0);
	memset(&ld, 0, sizeof(ld));
	assert_int_equal(etcd_leader(c->etcd, name, on_reply, &ld, NULL), 0);
	wait_for(c, &ld.n_final, 1);
	assert_string_equal(ld.values[0], "v2");
	assert_int_equal(ld.leases[0], id);
	range(c, skey, false, &st);
	assert_string_equal(st.values[0], "s2");

	/* Resigned: the guard fails, and neither key changes. */
	assert_int_equal(etcd_resign(c->etcd, &camp.leader, on_reply, &rs, NULL), 0);
	wait_for(c, &rs.n_final, 1);
	memset(&tx, 0, sizeof(tx));
	puts[1].value = (const uint8_t *)"s3";
	assert_int_equal(etcd_put_if_created(c->etcd, camp.leader.key, camp.leader.key_len,
	    camp.leader.rev, puts, 2, on_reply, &tx, NULL), 0);
	wait_for(c, &tx.n_final, 1);
	assert_int_equal(tx.error, -ESTALE);
	range(c, skey, false, &st);
	assert_string_equal(st.values[0], "s2");
	memset(&ld, 0, sizeof(ld));
	assert_int_equal(etcd_leader(c->etcd, name, on_reply, &ld, NULL), 0);
	wait_for(c, &ld.n_final, 1);
	assert_int_equal(ld.error, -ENOENT);
	/* Arguments are checked before anything is sent. */
	assert_int_equal(etcd_put_if_created(c->etcd, camp.leader.key, camp.leader.key_len, 0,
	    puts, 2, on_reply, &tx, NULL), -EINVAL);
	assert_int_equal(etcd_put_if_created(c->etcd, camp.leader.key, camp.leader.key_len,
	    camp.leader.rev, puts, 0, on_reply, &tx, NULL), -EINVAL);
	etcd_leader_key_clear(&camp.leader);
}

static void
second_campaign_waits_until_the_first_leader_goes(void **state)
{
	struct ctx *c = *state;
	struct seen a = { 0 }, b = { 0 }, rv = { 0 };
	int64_t la = grant(c, 30), lb = grant(c, 30);
	const char *name = key(c, "queue");

	assert_int_equal(etcd_campaign(c->etcd, name, la, (const uint8_t *)"a", 1, on_reply, &a,
	    NULL), 0);
	wait_for(c, &a.n_final, 1);
	assert_int_equal(a.error, 0);
	assert_int_equal(etcd_campaign(c->etcd, name, lb, (const uint8_t *)"b", 1, on_reply, &b,
	    NULL), 0);
	run_for(c, 1000);
	assert_int_equal(b.n_final, 0);
	/* The leader's lease goes: the waiting candidate wins. */
	assert_int_equal(etcd_lease_revoke(c->etcd, la, on_reply, &rv, NULL), 0);
	wait_for(c, &b.n_final, 1);
	assert_int_equal(b.error, 0);
	assert_int_equal(b.leader.lease, lb);
	etcd_leader_key_clear(&a.leader);
	etcd_leader_key_clear(&b.leader);
}

static void
observe_streams_the_leader_value_at_every_change(void **state)
{
	struct ctx *c = *state;
	struct seen camp = { 0 }, obs = { 0 }, pr1 = { 0 }, pr2 = { 0 };
	int64_t id = grant(c, 30);
	const char *name = key(c, "observed");
	struct etcd_call *call = NULL;

	assert_int_equal(etcd_campaign(c->etcd, name, id, (const uint8_t *)"v1", 2, on_reply,
	    &camp, NULL), 0);
	wait_for(c, &camp.n_final, 1);
	assert_int_equal(etcd_observe(c->etcd, name, on_reply, &obs, &call), 0);
	wait_for(c, &obs.n_more, 1);
	assert_string_equal(obs.values[0], "v1");
	assert_int_equal(obs.leases[0], id);
	assert_int_equal(etcd_proclaim(c->etcd, &camp.leader, (const uint8_t *)"v2", 2,
	    on_reply, &pr1, NULL), 0);
	wait_for(c, &obs.n_more, 2);
	assert_string_equal(obs.values[1], "v2");
	assert_int_equal(etcd_proclaim(c->etcd, &camp.leader, (const uint8_t *)"v3", 2,
	    on_reply, &pr2, NULL), 0);
	wait_for(c, &obs.n_more, 3);
	assert_string_equal(obs.values[2], "v3");
	assert_int_equal(obs.n_final, 0);
	etcd_call_cancel(call);
	run_for(c, 100);
	assert_int_equal(obs.n_final, 0);
	etcd_leader_key_clear(&camp.leader);
}

static void
stream_cancelled_from_its_own_callback_says_nothing_more(void **state)
{
	struct ctx *c = *state;
	struct seen camp = { 0 }, obs = { .cancel_on_more = true }, pr = { 0 };
	int64_t id = grant(c, 30);
	const char *name = key(c, "cancelled");

	assert_int_equal(etcd_campaign(c->etcd, name, id, (const uint8_t *)"v1", 2, on_reply,
	    &camp, NULL), 0);
	wait_for(c, &camp.n_final, 1);
	assert_int_equal(etcd_observe(c->etcd, name, on_reply, &obs, NULL), 0);
	wait_for(c, &obs.n_more, 1);
	assert_int_equal(etcd_proclaim(c->etcd, &camp.leader, (const uint8_t *)"v2", 2,
	    on_reply, &pr, NULL), 0);
	wait_for(c, &pr.n_final, 1);
	run_for(c, 300);
	assert_int_equal(obs.n_more, 1);
	assert_int_equal(obs.n_final, 0);
	etcd_leader_key_clear(&camp.leader);
}

static void
watch_streams_puts_and_deletes_under_a_prefix(void **state)
{
	struct ctx *c = *state;
	struct seen w = { 0 }, d = { 0 };
	struct etcd_call *call = NULL;

	assert_int_equal(etcd_watch(c->etcd, key(c, "w/"), true, 0, on_reply, &w, &call), 0);
	wait_for(c, &w.n_more, 1);
	assert_true(w.created);
	put(c, key(c, "w/one"), "1", 0);
	put(c, key(c, "elsewhere"), "x", 0);
	wait_for(c, &w.n_values, 1);
	assert_string_equal(w.keys[0], key(c, "w/one"));
	assert_string_equal(w.values[0], "1");
	assert_int_equal(w.types[0], ETCD_EVENT_PUT);
	assert_int_equal(etcd_delete(c->etcd, key(c, "w/one"), false, on_reply, &d, NULL), 0);
	wait_for(c, &w.n_values, 2);
	assert_int_equal(w.types[1], ETCD_EVENT_DELETE);
	assert_string_equal(w.keys[1], key(c, "w/one"));
	assert_int_equal(w.n_final, 0);
	etcd_call_cancel(call);
}

static void
watch_from_a_past_revision_replays_what_happened(void **state)
{
	struct ctx *c = *state;
	struct seen s = { 0 }, w = { 0 };

	assert_int_equal(etcd_put(c->etcd, key(c, "r/a"), (const uint8_t *)"A", 1, 0, on_reply,
	    &s, NULL), 0);
	wait_for(c, &s.n_final, 1);
	put(c, key(c, "r/b"), "B", 0);
	assert_int_equal(etcd_watch(c->etcd, key(c, "r/"), true, s.revision, on_reply, &w,
	    NULL), 0);
	wait_for(c, &w.n_values, 2);
	assert_string_equal(w.values[0], "A");
	assert_string_equal(w.values[1], "B");
}

static void
leader_of_an_empty_election_is_enoent(void **state)
{
	struct ctx *c = *state;
	struct seen s = { 0 };

	assert_int_equal(etcd_leader(c->etcd, key(c, "nobody"), on_reply, &s, NULL), 0);
	wait_for(c, &s.n_final, 1);
	assert_int_equal(s.error, -ENOENT);
}

static void
dead_first_endpoint_is_passed_over_and_the_live_one_kept(void **state)
{
	struct ctx *c = *state;
	const char *eps[2] = { getenv("ETCD_DEAD"), c->urls[0] };
	struct etcd_options o = options(c, eps, 2);
	struct etcd *e = NULL;
	struct seen a = { 0 }, b = { 0 }, obs = { 0 };
	struct etcd_call *call = NULL;

	assert_non_null(eps[0]);
	assert_int_equal(etcd_new(c->http, &o, &e), 0);
	assert_string_equal(etcd_endpoint(e), eps[0]);
	assert_int_equal(etcd_lease_grant(e, 10, on_reply, &a, NULL), 0);
	wait_for(c, &a.n_final, 1);
	assert_int_equal(a.error, 0);
	assert_string_equal(etcd_endpoint(e), eps[1]);
	assert_int_equal(etcd_failovers(e), 1);
	assert_int_equal(etcd_lease_keepalive(e, a.id, 0, on_reply, &b, NULL), 0);
	wait_for(c, &b.n_final, 1);
	assert_int_equal(b.error, 0);
	assert_int_equal(etcd_failovers(e), 1);
	etcd_free(e);

	/* A stream started on the dead one moves on too. */
	assert_int_equal(etcd_new(c->http, &o, &e), 0);
	assert_int_equal(etcd_watch(e, key(c, "fo/"), true, 0, on_reply, &obs, &call), 0);
	wait_for(c, &obs.n_more, 1);
	assert_true(obs.created);
	assert_string_equal(etcd_endpoint(e), eps[1]);
	etcd_free(e);
}

static void
no_live_endpoint_is_econnrefused_after_trying_each(void **state)
{
	struct ctx *c = *state;
	const char *eps[2] = { getenv("ETCD_DEAD"), getenv("ETCD_DEAD") };
	struct etcd_options o = options(c, eps, 2);
	struct etcd *e = NULL;
	struct seen a = { 0 };

	assert_int_equal(etcd_new(c->http, &o, &e), 0);
	assert_int_equal(etcd_lease_grant(e, 10, on_reply, &a, NULL), 0);
	wait_for(c, &a.n_final, 1);
	assert_int_equal(a.error, -ECONNREFUSED);
	assert_non_null(strstr(a.message, "no etcd endpoint reachable"));
	etcd_free(e);
}

static void
freeing_the_client_with_calls_in_flight_calls_nobody_back(void **state)
{
	struct ctx *c = *state;
	struct seen camp = { 0 }, obs = { 0 }, g = { 0 };
	int64_t id = grant(c, 30);
	const char *name = key(c, "inflight");

	assert_int_equal(etcd_observe(c->etcd, name, on_reply, &obs, NULL), 0);
	assert_int_equal(etcd_campaign(c->etcd, name, id, (const uint8_t *)"x", 1, on_reply,
	    &camp, NULL), 0);
	assert_int_equal(etcd_lease_grant(c->etcd, 5, on_reply, &g, NULL), 0);
	etcd_free(c->etcd);
	c->etcd = NULL;
	run_for(c, 300);
	assert_int_equal(camp.n_final + obs.n_final + obs.n_more + g.n_final, 0);
}

static void
bad_arguments_are_refused_without_a_callback(void **state)
{
	struct ctx *c = *state;
	struct seen s = { 0 };
	struct etcd_leader_key none = { 0 };

	assert_int_equal(etcd_lease_grant(c->etcd, 0, on_reply, &s, NULL), -EINVAL);
	assert_int_equal(etcd_lease_keepalive(c->etcd, 0, 0, on_reply, &s, NULL), -EINVAL);
	assert_int_equal(etcd_campaign(c->etcd, "", 1, NULL, 0, on_reply, &s, NULL), -EINVAL);
	assert_int_equal(etcd_proclaim(c->etcd, &none, NULL, 0, on_reply, &s, NULL), -EINVAL);
	assert_int_equal(etcd_put(c->etcd, NULL, NULL, 0, 0, on_reply, &s, NULL), -EINVAL);
	assert_int_equal(etcd_range(c->etcd, key(c, "x"), false, NULL, &s, NULL), -EINVAL);
	run_for(c, 50);
	assert_int_equal(s.n_final, 0);
}

/* ---- degraded: the member of the first endpoint is dead ---- */

static void
calls_move_on_from_the_killed_member(void **state)
{
	struct ctx *c = *state;

	grant(c, 5);
	assert_true(etcd_failovers(c->etcd) >= 1);
	assert_string_not_equal(etcd_endpoint(c->etcd), c->urls[0]);
}

/* ---- auth ---- */

static void
user_with_rights_on_the_prefix_works_there(void **state)
{
	struct ctx *c = *state;
	struct seen s;

	put(c, key(c, "a"), "allowed", 0);
	range(c, key(c, "a"), false, &s);
	assert_int_equal(s.n_values, 1);
	assert_int_equal(etcd_authentications(c->etcd), 1);
}

static void
key_outside_the_prefix_is_eperm(void **state)
{
	struct ctx *c = *state;
	struct seen s = { 0 };

	assert_int_equal(etcd_put(c->etcd, "elsewhere/x", (const uint8_t *)"x", 1, 0, on_reply,
	    &s, NULL), 0);
	wait_for(c, &s.n_final, 1);
	assert_int_equal(s.error, -EPERM);
}

static void
wrong_password_is_eacces_and_never_echoed(void **state)
{
	struct ctx *c = *state;
	struct etcd_options o = options(c, (const char *const *)c->urls, c->n_urls);
	struct etcd *e = NULL;
	struct seen s = { 0 }, t = { 0 };

	o.password = "not-the-password-xyzzy";
	assert_int_equal(etcd_new(c->http, &o, &e), 0);
	/* Two calls wait for the same authentication; both hear of its failure. */
	assert_int_equal(etcd_put(e, key(c, "x"), (const uint8_t *)"x", 1, 0, on_reply, &s,
	    NULL), 0);
	assert_int_equal(etcd_range(e, key(c, "x"), false, on_reply, &t, NULL), 0);
	wait_for(c, &s.n_final, 1);
	wait_for(c, &t.n_final, 1);
	assert_int_equal(s.error, -EACCES);
	assert_int_equal(t.error, -EACCES);
	assert_null(strstr(s.message, "xyzzy"));
	assert_non_null(strstr(s.message, "authentication"));
	assert_int_equal(etcd_authentications(e), 0);
	etcd_free(e);
}

static void
token_refused_after_an_auth_change_is_renewed_transparently(void **state)
{
	struct ctx *c = *state;
	struct seen s;
	const char *bump = getenv("ETCD_BUMP_AUTH");

	assert_non_null(bump);
	put(c, key(c, "before"), "1", 0);
	assert_int_equal(etcd_authentications(c->etcd), 1);
	/* Setting the user's password again invalidates every token it holds. */
	assert_int_equal(system(bump), 0);
	put(c, key(c, "after"), "2", 0);
	assert_int_equal(etcd_authentications(c->etcd), 2);
	range(c, key(c, ""), true, &s);
	assert_int_equal(s.n_values, 2);
}

static void
streams_and_elections_carry_the_token(void **state)
{
	struct ctx *c = *state;
	struct seen camp = { 0 }, obs = { 0 }, w = { 0 };
	int64_t id = grant(c, 30);
	const char *name = key(c, "auth-election");

	assert_int_equal(etcd_watch(c->etcd, key(c, "aw/"), true, 0, on_reply, &w, NULL), 0);
	wait_for(c, &w.n_more, 1);
	assert_true(w.created);
	assert_int_equal(etcd_campaign(c->etcd, name, id, (const uint8_t *)"v1", 2, on_reply,
	    &camp, NULL), 0);
	wait_for(c, &camp.n_final, 1);
	assert_int_equal(camp.error, 0);
	assert_int_equal(etcd_observe(c->etcd, name, on_reply, &obs, NULL), 0);
	wait_for(c, &obs.n_more, 1);
	assert_string_equal(obs.values[0], "v1");
	put(c, key(c, "aw/x"), "y", 0);
	wait_for(c, &w.n_values, 1);
	etcd_leader_key_clear(&camp.leader);
}

static void
observe_after_the_token_was_invalidated_authenticates_again(void **state)
{
	struct ctx *c = *state;
	struct seen camp = { 0 }, obs = { 0 };
	int64_t id = grant(c, 30);
	const char *name = key(c, "reauth-election");

	assert_int_equal(etcd_campaign(c->etcd, name, id, (const uint8_t *)"v1", 2, on_reply,
	    &camp, NULL), 0);
	wait_for(c, &camp.n_final, 1);
	assert_int_equal(camp.error, 0);
	assert_int_equal(etcd_authentications(c->etcd), 1);
	assert_int_equal(system(getenv("ETCD_BUMP_AUTH")), 0);
	/* The gateway ends the observe at once and says nothing: that is taken as a refusal. */
	assert_int_equal(etcd_observe(c->etcd, name, on_reply, &obs, NULL), 0);
	wait_for(c, &obs.n_more, 1);
	assert_string_equal(obs.values[0], "v1");
	assert_int_equal(etcd_authentications(c->etcd), 2);
	etcd_leader_key_clear(&camp.leader);
}

static void
watch_outside_the_prefix_is_eperm(void **state)
{
	struct ctx *c = *state;
	struct seen w = { 0 };

	assert_int_equal(etcd_watch(c->etcd, "elsewhere/", true, 0, on_reply, &w, NULL), 0);
	wait_for(c, &w.n_final, 1);
	assert_int_equal(w.error, -EPERM);
}

/* ---- tls ---- */

static void
calls_over_tls_with_a_client_certificate_work(void **state)
{
	struct ctx *c = *state;
	struct seen s, obs = { 0 }, camp = { 0 };
	int64_t id = grant(c, 10);

	put(c, key(c, "tls"), "secure", 0);
	range(c, key(c, "tls"), false, &s);
	assert_string_equal(s.values[0], "secure");
	assert_int_equal(etcd_campaign(c->etcd, key(c, "tls-e"), id, (const uint8_t *)"v", 1,
	    on_reply, &camp, NULL), 0);
	wait_for(c, &camp.n_final, 1);
	assert_int_equal(etcd_observe(c->etcd, key(c, "tls-e"), on_reply, &obs, NULL), 0);
	wait_for(c, &obs.n_more, 1);
	etcd_leader_key_clear(&camp.leader);
}

static void
tls_without_the_client_certificate_fails(void **state)
{
	struct ctx *c = *state;
	struct etcd_options o = options(c, (const char *const *)c->urls, c->n_urls);
	struct etcd *e = NULL;
	struct seen s = { 0 };

	o.cert_file = NULL;
	o.key_file = NULL;
	assert_int_equal(etcd_new(c->http, &o, &e), 0);
	assert_int_equal(etcd_lease_grant(e, 5, on_reply, &s, NULL), 0);
	wait_for(c, &s.n_final, 1);
	assert_int_not_equal(s.error, 0);
	etcd_free(e);
}

static void
tls_with_an_untrusted_server_fails(void **state)
{
	struct ctx *c = *state;
	struct etcd_options o = options(c, (const char *const *)c->urls, c->n_urls);
	struct etcd *e = NULL;
	struct seen s = { 0 };

	o.ca_file = NULL;       /* the system store does not know our test CA */
	assert_int_equal(etcd_new(c->http, &o, &e), 0);
	assert_int_equal(etcd_lease_grant(e, 5, on_reply, &s, NULL), 0);
	wait_for(c, &s.n_final, 1);
	assert_int_equal(s.error, -ECONNREFUSED);
	etcd_free(e);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(int argc, char **argv)
{
	const struct CMUnitTest plain[] = {
		T(lease_is_granted_kept_alive_and_revoked),
		T(revoking_an_unknown_lease_is_enoent),
		T(keys_are_put_ranged_and_deleted_by_prefix),
		T(binary_value_survives_the_round_trip),
		T(keys_with_a_lease_go_when_it_is_revoked),
		T(campaign_wins_an_empty_election_and_proclaims),
		T(proclaim_after_resigning_is_stale),
		T(guarded_puts_land_together_while_the_leadership_lasts),
		T(second_campaign_waits_until_the_first_leader_goes),
		T(observe_streams_the_leader_value_at_every_change),
		T(stream_cancelled_from_its_own_callback_says_nothing_more),
		T(watch_streams_puts_and_deletes_under_a_prefix),
		T(watch_from_a_past_revision_replays_what_happened),
		T(leader_of_an_empty_election_is_enoent),
		T(dead_first_endpoint_is_passed_over_and_the_live_one_kept),
		T(no_live_endpoint_is_econnrefused_after_trying_each),
		T(freeing_the_client_with_calls_in_flight_calls_nobody_back),
		T(bad_arguments_are_refused_without_a_callback),
	};
	const struct CMUnitTest degraded[] = {
		T(calls_move_on_from_the_killed_member),
		T(lease_is_granted_kept_alive_and_revoked),
		T(keys_are_put_ranged_and_deleted_by_prefix),
		T(campaign_wins_an_empty_election_and_proclaims),
		T(second_campaign_waits_until_the_first_leader_goes),
		T(observe_streams_the_leader_value_at_every_change),
		T(watch_streams_puts_and_deletes_under_a_prefix),
	};
	const struct CMUnitTest auth[] = {
		T(user_with_rights_on_the_prefix_works_there),
		T(key_outside_the_prefix_is_eperm),
		T(wrong_password_is_eacces_and_never_echoed),
		T(token_refused_after_an_auth_change_is_renewed_transparently),
		T(streams_and_elections_carry_the_token),
		T(observe_after_the_token_was_invalidated_authenticates_again),
		T(watch_outside_the_prefix_is_eperm),
	};
	const struct CMUnitTest tls[] = {
		T(calls_over_tls_with_a_client_certificate_work),
		T(tls_without_the_client_certificate_fails),
		T(tls_with_an_untrusted_server_fails),
	};
	int r;

	if (argc > 1)
		group = argv[1];
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	if (strcmp(group, "plain") == 0)
		r = cmocka_run_group_tests_name("etcd-plain", plain, NULL, NULL);
	else if (strcmp(group, "degraded") == 0)
		r = cmocka_run_group_tests_name("etcd-degraded", degraded, NULL, NULL);
	else if (strcmp(group, "auth") == 0)
		r = cmocka_run_group_tests_name("etcd-auth", auth, NULL, NULL);
	else if (strcmp(group, "tls") == 0)
		r = cmocka_run_group_tests_name("etcd-tls", tls, NULL, NULL);
	else
		r = 2;
	curl_global_cleanup();
	return r;
}
