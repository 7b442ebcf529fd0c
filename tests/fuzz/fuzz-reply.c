/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: Tradovate's replies, classified by reply.c and fed to the
 * lifecycle on a fake clock, as the broker does.
 *
 * The input is up to 16 replies separated by "\n~~\n". Each reply is one
 * header byte (bit 0..1: transport, bit 2: a Date, bit 3: a Retry-After,
 * bit 4..7: a clock step) and two bytes of HTTP status, then text fields
 * separated by NUL bytes: Date, Retry-After, transport error, body (the
 * rest, NULs and all). Each reply answers whatever the lifecycle has in
 * flight (a token request or a renewal); between replies the clock moves to
 * the armed timer, or is stepped, and a client may report the token.
 *
 * Checked after every step (a violation traps, which libFuzzer reports):
 *   - a token is served only before its expiry, only a valid b64token, and
 *     its user name (if any) is clean UTF-8;
 *   - a token request goes out only without a token; nothing goes out while
 *     Tradovate's hold runs;
 *   - renewals sent and failed token requests stay within their ceilings;
 *   - nothing stalls: without a request in flight a timer is armed, unless
 *     the credentials were rejected;
 *   - no error text quotes a secret, and every error text is printable ASCII.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "reply.h"

#define T0 ((usec_t)1800000000 * USEC_PER_SEC)
#define SEP "\n~~\n"
#define MAX_REPLIES 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const secrets[] = {
	"Zq9-fuzz-password", "Sx7-fuzz-api-secret", "HeLd-access-token", "HeLd-md-token", "TkT-sent-ticket",
};

static const struct lc_params params = {
	.renew_before = 15 * USEC_PER_MIN,
	.retry_min = USEC_PER_SEC,
	.retry_max = 5 * USEC_PER_MIN,
	.lockout = USEC_PER_HOUR,
	.max_renewals = 3,
	.max_failed = 2,
};

struct sent {
	usec_t t;
	bool counts;
};

/* Trap (a crash to libFuzzer) when a checked property does not hold. */
static void
check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

/* Deterministic jitter. */
static uint64_t
fake_random(void *arg)
{
	uint64_t *s = arg;

	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* An error text: printable ASCII, quoting no secret. */
static void
check_error_text(const char *e)
{
	size_t n = strlen(e);

	for (size_t i = 0; i < n; i++)
		check(e[i] >= 0x20 && e[i] < 0x7f);
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		check(!reply_text_quotes(e, n, secrets[i]));
}

/*
 * Attempts of the last hour that count, at most max. As the lifecycle does
 * with a clock that steps, an attempt from the future is moved to now for
 * good (CONTRACT: they count as now), and one that left the hour is gone
 * for good, even if the clock steps back later.
 */
static void
check_window(struct sent *log, size_t n, usec_t now, unsigned max)
{
	unsigned count = 0;

	while (n-- > 0) {
		if (log[n].t > now)
			log[n].t = now;
		if (now - log[n].t >= USEC_PER_HOUR)
			log[n].counts = false;
		if (log[n].counts)
			count++;
	}
	check(count <= max);
}

/* The invariants after every call. */
static void
check_lifecycle(const struct lifecycle *lc, usec_t now)
{
	const struct token *t = lc_current(lc, now);

	if (t) {
		check(now < t->expiration);
		check(token_valid(t));
		check(t->name == NULL || token_name_valid(t->name, strlen(t->name)));
	}
	if (lc->send == LC_SEND_REQUEST)
		check(lc->token.access_token == NULL);
	if (lc->send != LC_SEND_NONE)
		check(lc->hold == LC_HOLD_NONE || now >= lc->hold_until);
	if (lc->inflight == LC_SEND_NONE && lc->state != LC_CREDENTIALS_REJECTED)
		check(lc->timer_at > now);
	check_error_text(lc->last_error);
}

/* Split one reply's bytes into a reply_input (pointing into buf, which gets NULs). */
static void
parse_input(char *buf, size_t len, struct reply_input *in, usec_t *step)
{
	unsigned char h = len > 0 ? (unsigned char)buf[0] : 0;
	char *fields[3] = { NULL, NULL, NULL }, *p = buf + (len > 0 ? 1 : 0), *end = buf + len;
	size_t i;

	memset(in, 0, sizeof(*in));
	in->transport = (enum reply_transport)((h & 3) % 3);
	in->http_status = len >= 3 ? (long)(((unsigned char)buf[1] << 8) | (unsigned char)buf[2]) % 1000 : 200;
	if (len >= 3)
		p = buf + 3;
	for (i = 0; i < 3 && p < end; i++) {
		char *nul = memchr(p, '\0', (size_t)(end - p));

		if (!nul)
			break;
		fields[i] = p;
		p = nul + 1;
	}
	in->date = (h & 4) ? fields[0] : NULL;
	in->retry_after = (h & 8) ? fields[1] : NULL;
	in->transport_error = fields[2];
	in->body = p < end ? p : NULL;
	in->body_len = p < end ? (size_t)(end - p) : 0;
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		in->secrets[i] = secrets[i];
	/* High bits: step the clock (back up to 8 min, or forward up to 2 h). */
	*step = (usec_t)(h >> 4);
}

/* What the fuzzed broker sent, for the ceilings' check. */
struct run {
	struct lifecycle lc;
	struct sent renewals[MAX_REPLIES * 4];
	struct sent requests[MAX_REPLIES * 4];
	size_t n_ren, n_req;
};

/* After every lifecycle call: note what it sent, check everything. */
static void
after(struct run *run, usec_t now)
{
	if (run->lc.send == LC_SEND_REQUEST && run->n_req < MAX_REPLIES * 4)
		run->requests[run->n_req++] = (struct sent){ .t = now };
	else if (run->lc.send == LC_SEND_RENEWAL && run->n_ren < MAX_REPLIES * 4)
		run->renewals[run->n_ren++] = (struct sent){ .t = now, .counts = true };
	check_window(run->renewals, run->n_ren, now, params.max_renewals);
	check_window(run->requests, run->n_req, now, params.max_failed);
	check_lifecycle(&run->lc, now);
}

/* One input: see the comment at the top. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run run;
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	size_t off = 0;
	usec_t now = T0;
	char *copy;
	int k;

	if (size > 256 * 1024)
		return 0;
	copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';

	memset(&run, 0, sizeof(run));
	lc_init(&run.lc, &params, fake_random, &rng);
	lc_start(&run.lc, now);
	after(&run, now);
	for (k = 0; k < MAX_REPLIES && off <= size; k++) {
		char *chunk = copy + off, *sep = memmem(chunk, size - off, SEP, strlen(SEP));
		size_t len = sep ? (size_t)(sep - chunk) : size - off;
		struct reply_input in;
		struct reply r;
		usec_t step;
		bool renewal;

		off += len + strlen(SEP);
		parse_input(chunk, len, &in, &step);
		if (run.lc.inflight == LC_SEND_NONE) {
			/* Nothing to answer: time passes, or a client reports the token. */
			if (run.lc.timer_at)
				now = run.lc.timer_at;
			if (step & 1) {
				const struct token *t = lc_current(&run.lc, now);

				lc_report_rejected(&run.lc, t ? (int64_t)t->generation : -1, now);
			} else {
				lc_tick(&run.lc, now);
			}
			after(&run, now);
			continue;
		}
		renewal = run.lc.inflight == LC_SEND_RENEWAL;
		if (reply_classify(renewal ? REPLY_KIND_RENEWAL : REPLY_KIND_REQUEST, &in, now, &r) < 0)
			break;
		check_error_text(r.error);
		if (r.outcome == REPLY_SUCCESS) {
			check(token_valid(&r.token));
			check(r.error[0] == '\0');
		}
		if (!renewal && reply_counts_as_failed_request(&r) && run.n_req > 0)
			run.requests[run.n_req - 1].counts = true;
		if (renewal && r.outcome == REPLY_CONNECT_FAILED && run.n_ren > 0)
			run.renewals[run.n_ren - 1].counts = false;
		lc_reply(&run.lc, &r, now);
		reply_clear(&r);
		after(&run, now);
		/* The reply took a while, or the clock was stepped. */
		if (step >= 12)
			now -= (step - 11) * 2 * USEC_PER_MIN;
		else
			now += step * 10 * USEC_PER_MIN;
		lc_tick(&run.lc, now);
		after(&run, now);
	}
	lc_free(&run.lc);
	explicit_bzero(copy, size);
	free(copy);
	return 0;
}
