/* SPDX-License-Identifier: MIT */
/*
 * Wall-clock and monotonic time in microseconds, and the text forms of time
 * the broker reads (ISO 8601 from Tradovate, HTTP dates from headers) and
 * writes (RFC 3339 UTC, "HH:MM:SSZ").
 *
 * The parsers are written by hand rather than with strptime(3): they must not
 * depend on the locale, must reject trailing junk, and must never consult TZ.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timeutil.h"

/* Seconds east of UTC an offset may have at most ("+23:59"). */
#define TIME_MAX_OFFSET (23 * 3600 + 59 * 60)

/* Read a clock as microseconds; the clocks used here cannot fail on Linux. */
static usec_t
time_read_clock(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) == -1)
		return 0;
	return (usec_t)ts.tv_sec * USEC_PER_SEC + (usec_t)ts.tv_nsec / 1000;
}

/* CLOCK_REALTIME now, in microseconds. */
usec_t
time_now(void)
{
	return time_read_clock(CLOCK_REALTIME);
}

/* CLOCK_MONOTONIC now, in microseconds. */
usec_t
time_monotonic(void)
{
	return time_read_clock(CLOCK_MONOTONIC);
}

/* Read exactly n decimal digits at *p into *out and advance *p. */
static bool
time_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/* Whether year is a Gregorian leap year. */
static bool
time_is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* Number of days in month (1-12) of year. */
static int
time_days_in_month(int year, int month)
{
	static const int days[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (month == 2 && time_is_leap(year))
		return 29;
	return days[month - 1];
}

/*
 * Turn broken-down UTC fields into seconds since the epoch. Every field is
 * range-checked here so that timegm never normalises nonsense into a date;
 * second 60 (a leap second) is allowed and lands on the next minute.
 */
static bool
time_from_fields(int year, int mon, int day, int hour, int min, int sec,
    time_t *out)
{
	struct tm tm;
	time_t t;

	if (year < 1970 || year > 9999 || mon < 1 || mon > 12 || day < 1 ||
	    day > time_days_in_month(year, mon) || hour > 23 || min > 59 ||
	    sec > 60)
		return false;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1 || t < 0)
		return false;
	*out = t;
	return true;
}

/*
 * Parse "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)". A time without an
 * offset is local time in ISO 8601 and therefore ambiguous: it is rejected,
 * as RFC 3339 requires. Fractions beyond microseconds are truncated.
 */
int
time_parse_iso8601(const char *s, usec_t *out)
{
	const char *p = s;
	int year, mon, day, hour, min, sec;
	usec_t frac = 0;
	long offset = 0;
	time_t t;
	usec_t v;

	if (s == NULL)
		return -EINVAL;
	if (!time_digits(&p, 4, &year) || *p++ != '-' ||
	    !time_digits(&p, 2, &mon) || *p++ != '-' ||
	    !time_digits(&p, 2, &day))
		return -EINVAL;
	if (*p != 'T' && *p != 't')
		return -EINVAL;
	p++;
	if (!time_digits(&p, 2, &hour) || *p++ != ':' ||
	    !time_digits(&p, 2, &min) || *p++ != ':' ||
	    !time_digits(&p, 2, &sec))
		return -EINVAL;

	if (*p == '.') {
		usec_t scale = USEC_PER_SEC / 10;

		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			frac += (usec_t)(*p - '0') * scale;
			scale /= 10;
		}
	}

	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		int oh, om;

		p++;
		if (!time_digits(&p, 2, &oh))
			return -EINVAL;
		if (*p == ':')
			p++;
		if (!time_digits(&p, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
		offset = sign * (oh * 3600L + om * 60L);
	} else {
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;

	if (!time_from_fields(year, mon, day, hour, min, sec, &t))
		return -EINVAL;
	/* Local time minus its offset east of UTC is UTC. */
	if ((long long)t - offset < 0)
		return -EINVAL;
	v = (usec_t)((long long)t - offset) * USEC_PER_SEC + frac;
	*out = v;
	return 0;
}

/* Break t down as UTC; false when it is beyond what struct tm holds. */
static bool
time_to_tm(usec_t t, struct tm *tm)
{
	time_t secs = (time_t)(t / USEC_PER_SEC);

	return gmtime_r(&secs, tm) != NULL;
}

/* Format t as RFC 3339 UTC with a Z, whole seconds; never local time. */
char *
time_format_rfc3339(usec_t t, char buf[static TIME_RFC3339_MAX])
{
	struct tm tm;

	if (!time_to_tm(t, &tm) || tm.tm_year + 1900 > 9999 ||
	    strftime(buf, TIME_RFC3339_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, TIME_RFC3339_MAX, "9999-12-31T23:59:59Z");
	return buf;
}

/* Format t as "14:30:00Z" (UTC) for status texts. */
char *
time_format_hms(usec_t t, char buf[static TIME_RFC3339_MAX])
{
	struct tm tm;

	if (!time_to_tm(t, &tm) ||
	    strftime(buf, TIME_RFC3339_MAX, "%H:%M:%SZ", &tm) == 0)
		snprintf(buf, TIME_RFC3339_MAX, "23:59:59Z");
	return buf;
}

static const char *const time_wkday_short[7] = {
	"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"
};

static const char *const time_wkday_long[7] = {
	"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
	"Sunday"
};

static const char *const time_month_short[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* Match one of names at *p (case-sensitive, as RFC 9110 says) and advance. */
static int
time_match_name(const char **p, const char *const *names, int n)
{
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]);

		if (strncmp(*p, names[i], len) == 0) {
			*p += len;
			return i;
		}
	}
	return -1;
}

/* Match the literal lit at *p and advance. */
static bool
time_match(const char **p, const char *lit)
{
	size_t len = strlen(lit);

	if (strncmp(*p, lit, len) != 0)
		return false;
	*p += len;
	return true;
}

/* Read "HH:MM:SS" at *p. */
static bool
time_hms(const char **p, int *hour, int *min, int *sec)
{
	return time_digits(p, 2, hour) && time_match(p, ":") &&
	    time_digits(p, 2, min) && time_match(p, ":") &&
	    time_digits(p, 2, sec);
}

/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". */
static bool
time_parse_imf(const char *p, time_t *out)
{
	int day, mon, year, hour, min, sec;

	if (time_match_name(&p, time_wkday_short, 7) < 0 ||
	    !time_match(&p, ", ") || !time_digits(&p, 2, &day) ||
	    !time_match(&p, " ") ||
	    (mon = time_match_name(&p, time_month_short, 12)) < 0 ||
	    !time_match(&p, " ") || !time_digits(&p, 4, &year) ||
	    !time_match(&p, " ") || !time_hms(&p, &hour, &min, &sec) ||
	    !time_match(&p, " GMT") || *p != '\0')
		return false;
	return time_from_fields(year, mon + 1, day, hour, min, sec, out);
}

/*
 * RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT". RFC 9110 5.6.7: a two-digit
 * year that would lie more than 50 years in the future is in the past.
 */
static bool
time_parse_rfc850(const char *p, time_t *out)
{
	int day, mon, yy, year, hour, min, sec, this_year;
	struct tm now;
	time_t t = time(NULL);

	if (time_match_name(&p, time_wkday_long, 7) < 0 ||
	    !time_match(&p, ", ") || !time_digits(&p, 2, &day) ||
	    !time_match(&p, "-") ||
	    (mon = time_match_name(&p, time_month_short, 12)) < 0 ||
	    !time_match(&p, "-") || !time_digits(&p, 2, &yy) ||
	    !time_match(&p, " ") || !time_hms(&p, &hour, &min, &sec) ||
	    !time_match(&p, " GMT") || *p != '\0')
		return false;

	this_year = 1970;
	if (gmtime_r(&t, &now) != NULL)
		this_year = now.tm_year + 1900;
	year = this_year / 100 * 100 + yy;
	if (year > this_year + 50)
		year -= 100;
	else if (year <= this_year - 50)
		year += 100;
	return time_from_fields(year, mon + 1, day, hour, min, sec, out);
}

/* asctime: "Sun Nov  6 08:49:37 1994" (day padded with a space). */
static bool
time_parse_asctime(const char *p, time_t *out)
{
	int day, mon, year, hour, min, sec;

	if (time_match_name(&p, time_wkday_short, 7) < 0 ||
	    !time_match(&p, " ") ||
	    (mon = time_match_name(&p, time_month_short, 12)) < 0 ||
	    !time_match(&p, " "))
		return false;
	if (*p == ' ') {
		p++;
		if (!time_digits(&p, 1, &day))
			return false;
	} else if (!time_digits(&p, 2, &day)) {
		return false;
	}
	if (!time_match(&p, " ") || !time_hms(&p, &hour, &min, &sec) ||
	    !time_match(&p, " ") || !time_digits(&p, 4, &year) || *p != '\0')
		return false;
	return time_from_fields(year, mon + 1, day, hour, min, sec, out);
}

/* Parse an HTTP date in any of the three forms RFC 9110 makes recipients accept. */
int
time_parse_http_date(const char *s, usec_t *out)
{
	time_t t;

	if (s == NULL)
		return -EINVAL;
	if (!time_parse_imf(s, &t) && !time_parse_rfc850(s, &t) &&
	    !time_parse_asctime(s, &t))
		return -EINVAL;
	*out = (usec_t)t * USEC_PER_SEC;
	return 0;
}
