/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the state file loader, i.e. the snapshot decoder of
 * snapshot.c (version 1 and 2), and what the broker then does with a
 * snapshot: adopt it into a fresh lifecycle and start.
 *
 * Checked: a snapshot that decodes is valid (tokens b64token, windows within
 * bounds, a known hold), decodes for another account without the account's
 * token, ticket or rejection but with its generation and hold, encodes again, and the encoding decodes to the same snapshot;
 * adopting it twice changes nothing the second time; the started lifecycle
 * serves only a valid, unexpired token.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

#define URL "https://demo.tradovateapi.com/v1"
#define T0 ((usec_t)1800000000 * USEC_PER_SEC)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct lc_params params = {
	.renew_before = 15 * USEC_PER_MIN,
	.retry_min = USEC_PER_SEC,
	.retry_max = 5 * USEC_PER_MIN,
	.lockout = USEC_PER_HOUR,
	.max_renewals = 12,
	.max_failed = 4,
};

/* Trap (a crash to libFuzzer) when a checked property does not hold. */
static void
check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

/* Deterministic "randomness": jitter does not matter here. */
static uint64_t
fake_random(void *arg)
{
	return ++*(uint64_t *)arg;
}

/* Two optional strings are equal (both NULL counts). */
static bool
same_string(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* Two decoded snapshots hold the same facts. */
static void
check_same(const struct lc_snapshot *a, const struct lc_snapshot *b)
{
	check(a->generation == b->generation && a->taken_at == b->taken_at);
	check(same_string(a->token.access_token, b->token.access_token));
	check(same_string(a->token.md_access_token, b->token.md_access_token));
	check(same_string(a->token.name, b->token.name));
	check(a->token.expiration == b->token.expiration);
	check(a->token.has_user_id == b->token.has_user_id && a->token.user_id == b->token.user_id);
	check(a->renewals.n == b->renewals.n && a->failed.n == b->failed.n);
	check(memcmp(a->renewals.t, b->renewals.t, a->renewals.n * sizeof(usec_t)) == 0);
	check(memcmp(a->failed.t, b->failed.t, a->failed.n * sizeof(usec_t)) == 0);
	check(a->hold == b->hold && a->hold_until == b->hold_until);
	check(a->hold == LC_HOLD_NONE || a->hold_for == b->hold_for);
	check(same_string(a->p_ticket, b->p_ticket));
	check(a->credentials_rejected == b->credentials_rejected);
	check(a->credentials_changed_at == b->credentials_changed_at);
}

/* One input: see the comment at the top. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lc_snapshot s, again, other;
	struct lifecycle lc;
	uint64_t rng = 1;
	const struct token *t;
	char *text;
	size_t len;
	unsigned left;
	int r;

	r = snapshot_decode((const char *)data, size, URL, "demo", &s);
	if (r < 0) {
		check(r == -EBADMSG || r == -ENOMEM);
		return 0;
	}
	check(s.token.access_token == NULL || token_valid(&s.token));
	check(s.token.name == NULL || token_name_valid(s.token.name, strlen(s.token.name)));
	check(s.renewals.n <= LC_WINDOW_MAX && s.failed.n <= LC_WINDOW_MAX);
	check((unsigned)s.hold <= LC_HOLD_LOCKED_OUT);
	r = snapshot_decode((const char *)data, size, URL, "someone-else", &other);
	check(r == SNAPSHOT_OTHER_ACCOUNT || r == 0 || r == -ENOMEM);
	if (r >= 0) {
		/* Another account's text keeps the generation and the hold, never the account's own. */
		if (r == SNAPSHOT_OTHER_ACCOUNT)
			check(other.token.access_token == NULL && other.p_ticket == NULL &&
			      !other.credentials_rejected);
		check(other.generation == s.generation && other.hold == s.hold);
		lc_snapshot_clear(&other);
	}

	/* Round trip. */
	if (snapshot_encode(&s, URL, "demo", &text, &len) == 0) {
		r = snapshot_decode(text, len, URL, "demo", &again);
		check(r == 0 || r == -ENOMEM);
		if (r == 0) {
			check_same(&s, &again);
			lc_snapshot_clear(&again);
		}
		snapshot_text_free(text, len);
	}

	/* The broker's start: adopt (twice: idempotent), then plan. */
	lc_init(&lc, &params, fake_random, &rng);
	if (lc_snapshot_adopt(&lc, &s, T0) == 0) {
		left = lc_renewals_left(&lc, T0);
		check(lc_snapshot_adopt(&lc, &s, T0) == 0);
		check(!lc.persist_changed && !lc.token_changed);
		check(lc_renewals_left(&lc, T0) == left);
		lc_start(&lc, T0);
		t = lc_current(&lc, T0);
		if (t)
			check(T0 < t->expiration && token_valid(t));
		if (lc.send == LC_SEND_REQUEST)
			check(lc.token.access_token == NULL);
		if (lc.send != LC_SEND_NONE)
			check(lc.hold == LC_HOLD_NONE || T0 >= lc.hold_until);
		if (lc.inflight == LC_SEND_NONE && lc.state != LC_CREDENTIALS_REJECTED)
			check(lc.timer_at > T0);
	}
	lc_free(&lc);
	lc_snapshot_clear(&s);
	return 0;
}
