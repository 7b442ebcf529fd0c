/* SPDX-License-Identifier: MIT */
/*
 * Time spans, RFC 3339 times and relative times for tvtokenctl.
 *
 * The parsers are written by hand rather than with strtod(3) or strptime(3):
 * they must not depend on the locale, must reject trailing junk, and must
 * never consult TZ. Time spans are timespan.c's, the config's own parser, so
 * that "--wait=2min" means what "RequestTimeoutSec=2min" means.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl-time.h"

/* Whether c is an ASCII digit, whatever the locale. */
static bool
ctl_time_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Read exactly n decimal digits at *p into *out and advance *p. */
static bool
ctl_time_digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!ctl_time_is_digit((*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/* Number of days in month (1-12) of year. */
static int
ctl_time_days_in_month(int year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* Parse "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)"; fractions past microseconds are cut. */
int
ctl_time_parse_rfc3339(const char *s, int64_t *usec)
{
	const char *p = s;
	int year, mon, day, hour, min, sec, oh, om;
	int64_t frac = 0, scale = 100000, offset = 0;
	struct tm tm;
	time_t t;

	if (s == NULL || usec == NULL)
		return -EINVAL;
	if (!ctl_time_digits(&p, 4, &year) || *p++ != '-' || !ctl_time_digits(&p, 2, &mon) ||
	    *p++ != '-' || !ctl_time_digits(&p, 2, &day) || (*p != 'T' && *p != 't'))
		return -EINVAL;
	p++;
	if (!ctl_time_digits(&p, 2, &hour) || *p++ != ':' || !ctl_time_digits(&p, 2, &min) ||
	    *p++ != ':' || !ctl_time_digits(&p, 2, &sec))
		return -EINVAL;
	if (*p == '.') {
		p++;
		if (!ctl_time_is_digit(*p))
			return -EINVAL;
		for (; ctl_time_is_digit(*p); p++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;

		if (!ctl_time_digits(&p, 2, &oh) || *p++ != ':' || !ctl_time_digits(&p, 2, &om) ||
		    oh > 23 || om > 59)
			return -EINVAL;
		offset = sign * (oh * 3600 + om * 60);
	} else {
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;
	if (year < 1970 || mon < 1 || mon > 12 || day < 1 ||
	    day > ctl_time_days_in_month(year, mon) || hour > 23 || min > 59 || sec > 60)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1 || (int64_t)t - offset < 0)
		return -EINVAL;
	*usec = ((int64_t)t - offset) * (int64_t)CTL_USEC_PER_SEC + frac;
	return 0;
}

/* Format t as "HH:MM:SSZ" in UTC. */
char *
ctl_time_format_hms(int64_t t, char buf[static CTL_TIME_TEXT_MAX])
{
	time_t secs = (time_t)(t / (int64_t)CTL_USEC_PER_SEC);
	struct tm tm;

	if (t < 0 || gmtime_r(&secs, &tm) == NULL) {
		snprintf(buf, CTL_TIME_TEXT_MAX, "?");
		return buf;
	}
	snprintf(buf, CTL_TIME_TEXT_MAX, "%02d:%02d:%02dZ", tm.tm_hour, tm.tm_min, tm.tm_sec);
	return buf;
}

/* Write "N<big>" and, when not zero, " M<small>" into buf. */
static void
ctl_time_two_units(char *buf, size_t size, uint64_t big, const char *big_unit, uint64_t small,
		   const char *small_unit)
{
	if (small == 0)
		snprintf(buf, size, "%llu%s", (unsigned long long)big, big_unit);
	else
		snprintf(buf, size, "%llu%s %llu%s", (unsigned long long)big, big_unit,
			 (unsigned long long)small, small_unit);
}

/* Format a span into buf of size bytes, cut (not rounded) to its two largest units. */
static void
ctl_time_format_span_into(uint64_t d, char *buf, size_t size)
{
	if (d >= 2 * CTL_USEC_PER_DAY)
		ctl_time_two_units(buf, size, d / CTL_USEC_PER_DAY, " days", 0, "");
	else if (d >= 25 * CTL_USEC_PER_HOUR)
		ctl_time_two_units(buf, size, 1, " day", (d - CTL_USEC_PER_DAY) / CTL_USEC_PER_HOUR, "h");
	else if (d >= 6 * CTL_USEC_PER_HOUR)
		ctl_time_two_units(buf, size, d / CTL_USEC_PER_HOUR, "h", 0, "");
	else if (d >= CTL_USEC_PER_HOUR)
		ctl_time_two_units(buf, size, d / CTL_USEC_PER_HOUR, "h",
				   (d % CTL_USEC_PER_HOUR) / CTL_USEC_PER_MIN, "min");
	else if (d >= 5 * CTL_USEC_PER_MIN)
		ctl_time_two_units(buf, size, d / CTL_USEC_PER_MIN, "min", 0, "");
	else if (d >= CTL_USEC_PER_MIN)
		ctl_time_two_units(buf, size, d / CTL_USEC_PER_MIN, "min",
				   (d % CTL_USEC_PER_MIN) / CTL_USEC_PER_SEC, "s");
	else if (d >= CTL_USEC_PER_SEC)
		ctl_time_two_units(buf, size, d / CTL_USEC_PER_SEC, "s", 0, "");
	else if (d >= CTL_USEC_PER_MSEC)
		ctl_time_two_units(buf, size, d / CTL_USEC_PER_MSEC, "ms", 0, "");
	else
		ctl_time_two_units(buf, size, d, "us", 0, "");
}

/* Format a span as systemctl does, cut (not rounded) to its two largest units. */
char *
ctl_time_format_span(uint64_t d, char buf[static CTL_TIME_TEXT_MAX])
{
	ctl_time_format_span_into(d, buf, CTL_TIME_TEXT_MAX);
	return buf;
}

/* Format t relative to now: "in 42min", "1h 3min ago", "now" within a millisecond. */
char *
ctl_time_format_relative(int64_t t, int64_t now, char buf[static CTL_TIME_TEXT_MAX])
{
	char span[CTL_TIME_TEXT_MAX - 8];
	uint64_t d;

	d = t >= now ? (uint64_t)t - (uint64_t)now : (uint64_t)now - (uint64_t)t;
	if (d < CTL_USEC_PER_MSEC) {
		snprintf(buf, CTL_TIME_TEXT_MAX, "now");
		return buf;
	}
	ctl_time_format_span_into(d, span, sizeof(span));
	if (t > now)
		snprintf(buf, CTL_TIME_TEXT_MAX, "in %s", span);
	else
		snprintf(buf, CTL_TIME_TEXT_MAX, "%s ago", span);
	return buf;
}

/* CLOCK_REALTIME now, in microseconds. */
int64_t
ctl_time_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * (int64_t)CTL_USEC_PER_SEC + ts.tv_nsec / 1000;
}
