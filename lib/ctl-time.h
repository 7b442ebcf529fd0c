/* SPDX-License-Identifier: MIT */
/*
 * Time for tvtokenctl: the RFC 3339 times the broker sends, and the way it
 * shows them and spans to people ("14:30:00Z", "in 42min", "1h 3min ago").
 * Linked into tvtokenctl only, not into the library. The time spans its
 * options take are parsed by timespan.h, the daemon's config parser.
 */
#ifndef TVTOKENCTL_CTL_TIME_H
#define TVTOKENCTL_CTL_TIME_H

#include <stddef.h>
#include <stdint.h>

#define CTL_USEC_PER_MSEC ((uint64_t)1000)
#define CTL_USEC_PER_SEC  ((uint64_t)1000000)
#define CTL_USEC_PER_MIN  (60 * CTL_USEC_PER_SEC)
#define CTL_USEC_PER_HOUR (60 * CTL_USEC_PER_MIN)
#define CTL_USEC_PER_DAY  (24 * CTL_USEC_PER_HOUR)
#define CTL_USEC_PER_WEEK (7 * CTL_USEC_PER_DAY)

/* Enough for any text the formatters below write, and its NUL. */
#define CTL_TIME_TEXT_MAX 64

/*
 * Parse an RFC 3339 time ("2026-11-28T14:30:00Z", fractions and "+hh:mm"
 * offsets too) into microseconds since the epoch. Returns 0 or -EINVAL,
 * leaving *usec untouched.
 */
int ctl_time_parse_rfc3339(const char *s, int64_t *usec);

/* Format t (microseconds since the epoch) as "14:30:00Z"; "?" when out of range. */
char *ctl_time_format_hms(int64_t t, char buf[static CTL_TIME_TEXT_MAX]);

/*
 * Format a span the way systemctl shows one, to the two most significant
 * units: "42min", "1h 3min", "5min 3s", "2 days", "1 day 3h", "500ms".
 */
char *ctl_time_format_span(uint64_t usec, char buf[static CTL_TIME_TEXT_MAX]);

/* Format t relative to now: "in 42min", "1h 3min ago", or "now". */
char *ctl_time_format_relative(int64_t t, int64_t now, char buf[static CTL_TIME_TEXT_MAX]);

/* CLOCK_REALTIME now, in microseconds since the epoch. */
int64_t ctl_time_now(void);

#endif
