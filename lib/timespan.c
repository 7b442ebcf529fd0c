/* SPDX-License-Identifier: MIT */
/*
 * Time spans (see timespan.h). Written by hand rather than with strtod(3):
 * it must not depend on the locale and must reject trailing junk.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "timespan.h"

#define TS_MSEC  ((uint64_t)1000)
#define TS_SEC   ((uint64_t)1000000)
#define TS_MIN   (60 * TS_SEC)
#define TS_HOUR  (60 * TS_MIN)
#define TS_DAY   (24 * TS_HOUR)
#define TS_WEEK  (7 * TS_DAY)
#define TS_MONTH (2629800 * TS_SEC)     /* systemd's: 30.44 days */
#define TS_YEAR  (31557600 * TS_SEC)    /* 365.25 days */

static const struct {
	const char *name;
	uint64_t usec;
} timespan_units[] = {
	{ "us", 1 }, { "usec", 1 },
	{ "ms", TS_MSEC }, { "msec", TS_MSEC },
	{ "s", TS_SEC }, { "sec", TS_SEC }, { "second", TS_SEC }, { "seconds", TS_SEC },
	{ "m", TS_MIN }, { "min", TS_MIN }, { "minute", TS_MIN }, { "minutes", TS_MIN },
	{ "h", TS_HOUR }, { "hr", TS_HOUR }, { "hour", TS_HOUR }, { "hours", TS_HOUR },
	{ "d", TS_DAY }, { "day", TS_DAY }, { "days", TS_DAY },
	{ "w", TS_WEEK }, { "week", TS_WEEK }, { "weeks", TS_WEEK },
	{ "M", TS_MONTH }, { "month", TS_MONTH }, { "months", TS_MONTH },
	{ "y", TS_YEAR }, { "year", TS_YEAR }, { "years", TS_YEAR },
};

static bool
timespan_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
timespan_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
timespan_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The size of the unit whose whole name starts at p (its length in *len), or 0. */
static uint64_t
timespan_unit(const char *p, size_t *len)
{
	size_t n = 0, i;

	while (timespan_is_alpha(p[n]))
		n++;
	for (i = 0; i < sizeof(timespan_units) / sizeof(timespan_units[0]); i++) {
		if (strlen(timespan_units[i].name) == n && memcmp(p, timespan_units[i].name, n) == 0) {
			*len = n;
			return timespan_units[i].usec;
		}
	}
	return 0;
}

int
timespan_parse(const char *s, uint64_t *usec)
{
	const char *p = s;
	uint64_t total = 0;
	bool any = false;

	if (s == NULL || usec == NULL)
		return -EINVAL;
	for (;;) {
		const char *frac = NULL;
		uint64_t ip = 0, unit = TS_SEC, v, m;
		size_t nfrac = 0, ulen = 0, i;
		bool digits = false;

		while (timespan_is_blank(*p))
			p++;
		if (*p == '\0')
			break;
		for (; timespan_is_digit(*p); p++) {
			if (__builtin_mul_overflow(ip, 10, &ip) ||
			    __builtin_add_overflow(ip, (uint64_t)(*p - '0'), &ip))
				return -ERANGE;
			digits = true;
		}
		if (*p == '.') {
			frac = ++p;
			while (timespan_is_digit(*p))
				p++;
			nfrac = (size_t)(p - frac);
		}
		if (!digits && nfrac == 0)
			return -EINVAL;
		while (timespan_is_blank(*p))
			p++;
		if (timespan_is_alpha(*p)) {
			unit = timespan_unit(p, &ulen);
			if (unit == 0)
				return -EINVAL;
			p += ulen;
		}
		/* "1h30min" needs no blank between its parts; anything else does. */
		if (*p != '\0' && !timespan_is_blank(*p) && !timespan_is_digit(*p))
			return -EINVAL;
		if (__builtin_mul_overflow(ip, unit, &v))
			return -ERANGE;
		m = unit;
		for (i = 0; i < nfrac && m >= 10; i++) {
			m /= 10;
			if (__builtin_add_overflow(v, (uint64_t)(frac[i] - '0') * m, &v))
				return -ERANGE;
		}
		if (__builtin_add_overflow(total, v, &total))
			return -ERANGE;
		any = true;
	}
	if (!any)
		return -EINVAL;
	if (total == UINT64_MAX)
		return -ERANGE;
	*usec = total;
	return 0;
}
