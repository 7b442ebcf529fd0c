/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr or to the journal (CONTRACT §2 --log, §6).
 *
 * A process-wide singleton by nature: there is one stderr and one journal.
 * Nothing logged here may carry a token or a secret; callers pass states,
 * times, generations and error texts that reply.c has already made safe.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "log.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static enum log_target log_target = LOG_TARGET_STDERR;
static bool log_debug_enabled;

/* Stable ids, documented in systemd/tvtokend.catalog. */
static const char *const event_ids[_LC_EV_MAX] = {
	[LC_EV_ACQUIRED] = "0e201ed8b04848dbaa0c7f334262bcee",
	[LC_EV_RENEWED] = "d191f2ffe29544d182e30895e61eb280",
	[LC_EV_RENEW_FAILED] = "91ad019e68bf47ef88b7d82b4bfd1185",
	[LC_EV_FALLBACK] = "619958b097e5413ebd128b92a83e8eb3",
	[LC_EV_REQUEST_FAILED] = "d3b560cdb5ae44cb882bd190c6b8b1b3",
	[LC_EV_CREDENTIALS_REJECTED] = "09d80c9a0ed24278bc772ffe5775f61c",
	[LC_EV_PENALTY] = "0ff3ba71582b4527a0f14df56de2538f",
	[LC_EV_RATE_LIMITED] = "bbb8d5344c8a4f4582acb0f6b5114426",
	[LC_EV_LOCKED_OUT] = "335000c6717d45b48656fb372e1cbbe3",
	[LC_EV_EXPIRED] = "e33087d1261245cd8e80e0271bb5cbe6",
	[LC_EV_CLIENT_DENIED] = "5e0f0fffa6df4d88a50e05d465fd1fbf",
	[LC_EV_LEADER_ELECTED] = "8e9eaed79df84991b114ead2c2138397",
	[LC_EV_LEADERSHIP_LOST] = "8b4dec42762141eba5fcf014ab530862",
	[LC_EV_FOLLOWING] = "02769ac873604639a5803edd84ba592b",
};

/* The MESSAGE_ID of an event. */
const char *log_event_id(enum lc_event e)
{
	if ((unsigned)e >= _LC_EV_MAX)
		return "00000000000000000000000000000000";
	return event_ids[e];
}

/* Errors for what needs the operator, warnings for failures the broker handles, info for success. */
int log_event_priority(enum lc_event e)
{
	switch (e) {
	case LC_EV_ACQUIRED:
	case LC_EV_RENEWED:
	case LC_EV_LEADER_ELECTED:
	case LC_EV_FOLLOWING:
		return LOG_INFO;
	case LC_EV_CREDENTIALS_REJECTED:
	case LC_EV_LOCKED_OUT:
	case LC_EV_EXPIRED:
		return LOG_ERR;
	default:
		return LOG_WARNING;
	}
}

/* Whether stderr is the journal's stream ($JOURNAL_STREAM is "DEV:INODE" of it). */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* Whether journald is listening. */
static bool journal_running(void)
{
	struct stat st;

	return stat(JOURNAL_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Pick the target; --log=journal without journald falls back to stderr with one warning. */
enum log_target log_init(enum log_target want, bool debug)
{
	log_debug_enabled = debug;
	switch (want) {
	case LOG_TARGET_AUTO:
		log_target = stderr_is_journal() && journal_running() ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR;
		break;
	case LOG_TARGET_JOURNAL:
		if (journal_running()) {
			log_target = LOG_TARGET_JOURNAL;
		} else {
			log_target = LOG_TARGET_STDERR;
			log_warnx("no journald at %s; logging to stderr", JOURNAL_SOCKET);
		}
		break;
	case LOG_TARGET_STDERR:
		log_target = LOG_TARGET_STDERR;
		break;
	}
	return log_target;
}

/* Whether debug lines are written. */
bool log_debugging(void)
{
	return log_debug_enabled;
}

static const char *priority_prefix(int prio)
{
	switch (prio) {
	case LOG_ERR:
		return "error: ";
	case LOG_WARNING:
		return "warning: ";
	case LOG_DEBUG:
		return "debug: ";
	default:
		return "";
	}
}

/* Write one message at prio; errnum >= 0 appends its text. */
static void __attribute__((format(printf, 3, 0))) log_vmsg(int prio, int errnum, const char *fmt, va_list ap)
{
	char msg[1024];
	int n;

	if (prio == LOG_DEBUG && !log_debug_enabled)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (errnum >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(errnum));

	if (log_target == LOG_TARGET_JOURNAL &&
	    sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio, NULL) >= 0)
		return;
	fprintf(stderr, "tvtokend: %s%s\n", priority_prefix(prio), msg);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_DEBUG, -1, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_INFO, -1, fmt, ap);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, -1, fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	int errnum = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_WARNING, errnum, fmt, ap);
	va_end(ap);
}

void log_errorx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_ERR, -1, fmt, ap);
	va_end(ap);
}

/* The human sentence of an event. */
static void event_message(char *buf, size_t len, const struct lc_event_rec *ev, const char *error)
{
	char exp[TIME_RFC3339_MAX], next[TIME_RFC3339_MAX];
	unsigned long long gen = (unsigned long long)ev->generation;
	unsigned long long ms = (unsigned long long)(ev->duration / USEC_PER_MSEC);

	time_format_rfc3339(ev->expiration, exp);
	if (ev->next_attempt)
		time_format_rfc3339(ev->next_attempt, next);
	else
		snprintf(next, sizeof(next), "none");

	switch (ev->event) {
	case LC_EV_ACQUIRED:
		snprintf(buf, len, "acquired a new token (generation %llu), expires %s; request took %llu ms",
			 gen, exp, ms);
		break;
	case LC_EV_RENEWED:
		snprintf(buf, len, "renewed the token (generation %llu), expires %s; renewal took %llu ms",
			 gen, exp, ms);
		break;
	case LC_EV_RENEW_FAILED:
		snprintf(buf, len, "renewal failed: %s; next attempt %s", error, next);
		break;
	case LC_EV_FALLBACK:
		snprintf(buf, len, "falling back to a new token request (renewal failed or the token expired)");
		break;
	case LC_EV_REQUEST_FAILED:
		snprintf(buf, len, "token request failed: %s; next attempt %s", error, next);
		break;
	case LC_EV_CREDENTIALS_REJECTED:
		snprintf(buf, len, "Tradovate rejected the credentials (%s); not retrying until reload", error);
		break;
	case LC_EV_PENALTY:
		snprintf(buf, len, "Tradovate imposed a time penalty (%s); resending at %s", error, next);
		break;
	case LC_EV_RATE_LIMITED:
		if (ev->ceiling != LC_CEILING_NONE)
			snprintf(buf, len, "the local hourly ceiling is full (%s); next attempt %s", error, next);
		else
			snprintf(buf, len, "rate limited by Tradovate (%s); next attempt %s", error, next);
		break;
	case LC_EV_LOCKED_OUT:
		snprintf(buf, len, "locked out by Tradovate (%s); next attempt %s", error, next);
		break;
	case LC_EV_EXPIRED:
		snprintf(buf, len, "the token (generation %llu) expired at %s without a successful renewal",
			 gen, exp);
		break;
	default:
		snprintf(buf, len, "%s", lc_event_to_string(ev->event));
		break;
	}
}

/* One event, one entry: MESSAGE_ID, PRIORITY, TVTOKEND_EVENT and the facts an operator filters on. */
void log_event(const struct lc_event_rec *ev, const char *state, const char *error)
{
	char msg[512], f[11][560];
	char exp[TIME_RFC3339_MAX], next[TIME_RFC3339_MAX];
	struct iovec iov[11];
	int prio = log_event_priority(ev->event);
	size_t n = 0, i;

	if (!error)
		error = "";
	event_message(msg, sizeof(msg), ev, error);
	if (log_target != LOG_TARGET_JOURNAL) {
		fprintf(stderr, "tvtokend: %s%s: %s\n", priority_prefix(prio), lc_event_to_string(ev->event), msg);
		return;
	}

	snprintf(f[n++], sizeof(f[0]), "MESSAGE=%s", msg);
	snprintf(f[n++], sizeof(f[0]), "MESSAGE_ID=%s", log_event_id(ev->event));
	snprintf(f[n++], sizeof(f[0]), "PRIORITY=%d", prio);
	snprintf(f[n++], sizeof(f[0]), "TVTOKEND_EVENT=%s", lc_event_to_string(ev->event));
	snprintf(f[n++], sizeof(f[0]), "TVTOKEND_STATE=%s", state);
	snprintf(f[n++], sizeof(f[0]), "TVTOKEND_GENERATION=%llu", (unsigned long long)ev->generation);
	if (ev->expiration)
		snprintf(f[n++], sizeof(f[0]), "TVTOKEND_EXPIRATION=%s", time_format_rfc3339(ev->expiration, exp));
	if (ev->next_attempt)
		snprintf(f[n++], sizeof(f[0]), "TVTOKEND_NEXT_ATTEMPT=%s", time_format_rfc3339(ev->next_attempt, next));
	if (ev->http_status)
		snprintf(f[n++], sizeof(f[0]), "TVTOKEND_HTTP_STATUS=%ld", ev->http_status);
	if (ev->duration)
		snprintf(f[n++], sizeof(f[0]), "TVTOKEND_DURATION_MS=%llu",
			 (unsigned long long)(ev->duration / USEC_PER_MSEC));
	if (error[0])
		snprintf(f[n++], sizeof(f[0]), "TVTOKEND_ERROR=%s", error);
	for (i = 0; i < n; i++)
		iov[i] = (struct iovec){ .iov_base = f[i], .iov_len = strlen(f[i]) };
	if (sd_journal_sendv(iov, (int)n) >= 0)
		return;
	fprintf(stderr, "tvtokend: %s%s: %s\n", priority_prefix(prio), lc_event_to_string(ev->event), msg);
}

/* A cluster role change: who this broker is, who leads, and why leadership was lost. */
void log_cluster_event(enum lc_event e, const char *member, const char *leader, const char *state,
		       uint64_t generation, const char *why)
{
	int prio = log_event_priority(e);
	char msg[512];

	if (e == LC_EV_LEADER_ELECTED)
		snprintf(msg, sizeof(msg), "%s leads the cluster: it alone talks to Tradovate now", member);
	else if (e == LC_EV_LEADERSHIP_LOST)
		snprintf(msg, sizeof(msg), "%s no longer leads the cluster (%s); it sends nothing to "
			 "Tradovate", member, why ? why : "stepped down");
	else
		snprintf(msg, sizeof(msg), "%s follows %s and serves its token", member,
			 leader ? leader : "the leader");
	if (log_target == LOG_TARGET_JOURNAL &&
	    sd_journal_send("MESSAGE=%s", msg,
			    "MESSAGE_ID=%s", log_event_id(e),
			    "PRIORITY=%d", prio,
			    "TVTOKEND_EVENT=%s", lc_event_to_string(e),
			    "TVTOKEND_STATE=%s", state,
			    "TVTOKEND_GENERATION=%llu", (unsigned long long)generation,
			    "TVTOKEND_MEMBER=%s", member,
			    "TVTOKEND_LEADER=%s", leader ? leader : "",
			    "TVTOKEND_ERROR=%s", why ? why : "",
			    NULL) >= 0)
		return;
	fprintf(stderr, "tvtokend: %s%s: %s\n", priority_prefix(prio), lc_event_to_string(e), msg);
}

/* A peer the Allow* settings exclude. */
void log_client_denied(int pid, unsigned uid, unsigned gid, const char *comm)
{
	const char *id = log_event_id(LC_EV_CLIENT_DENIED);

	if (log_target == LOG_TARGET_JOURNAL &&
	    sd_journal_send("MESSAGE=denied client pid %d uid %u gid %u (%s): not in AllowUsers=/AllowGroups=",
			    pid, uid, gid, comm,
			    "MESSAGE_ID=%s", id,
			    "PRIORITY=%d", log_event_priority(LC_EV_CLIENT_DENIED),
			    "TVTOKEND_EVENT=client_denied",
			    "TVTOKEND_PEER_PID=%d", pid,
			    "TVTOKEND_PEER_UID=%u", uid,
			    "TVTOKEND_PEER_GID=%u", gid,
			    "TVTOKEND_PEER_COMM=%s", comm,
			    NULL) >= 0)
		return;
	fprintf(stderr, "tvtokend: warning: client_denied: pid %d uid %u gid %u (%s): not in AllowUsers=/AllowGroups=\n",
		pid, uid, gid, comm);
}
