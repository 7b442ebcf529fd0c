/* SPDX-License-Identifier: MIT */
/* Wall-clock time: microseconds since the epoch, and its text forms. */
#ifndef TVTOKEND_TIMEUTIL_H
#define TVTOKEND_TIMEUTIL_H

#include <stdint.h>
#include <stddef.h>

typedef uint64_t usec_t;

#define USEC_PER_MSEC ((usec_t)1000)
#define USEC_PER_SEC  ((usec_t)1000000)
#define USEC_PER_MIN  (60 * USEC_PER_SEC)
#define USEC_PER_HOUR (60 * USEC_PER_MIN)
#define USEC_INFINITY ((usec_t)UINT64_MAX)

/* Enough for "2026-11-28T14:30:00.123456Z" and a NUL. */
#define TIME_RFC3339_MAX 32

/* CLOCK_REALTIME now, in microseconds. */
usec_t time_now(void);

/* CLOCK_MONOTONIC now, in microseconds (durations only). */
usec_t time_monotonic(void);

/*
 * Parse an ISO 8601 / RFC 3339 UTC time as Tradovate sends it
 * ("2024-01-15T09:30:00Z", "2024-01-15T09:30:00.123Z", "+00:00" offsets too).
 * Returns 0, or -EINVAL leaving *out untouched.
 */
int time_parse_iso8601(const char *s, usec_t *out);

/* Format t as RFC 3339 UTC with a Z, whole seconds ("2026-11-28T14:30:00Z"). */
char *time_format_rfc3339(usec_t t, char buf[static TIME_RFC3339_MAX]);

/* Format t as "14:30:00Z" for status texts. */
char *time_format_hms(usec_t t, char buf[static TIME_RFC3339_MAX]);

/* Parse an HTTP date (IMF-fixdate, RFC 850, asctime). Returns 0 or -EINVAL. */
int time_parse_http_date(const char *s, usec_t *out);

#endif
