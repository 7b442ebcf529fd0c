/* SPDX-License-Identifier: MIT */
/* timeutil: clocks, ISO 8601 and HTTP date parsing, UTC formatting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "timeutil.h"

/* 2024-01-15T09:30:00Z */
#define T_2024_01_15 ((usec_t)1705311000 * USEC_PER_SEC)
/* Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example */
#define T_1994_11_06 ((usec_t)784111777 * USEC_PER_SEC)
/* 2026-11-28T14:30:00Z */
#define T_2026_11_28 ((usec_t)1795876200 * USEC_PER_SEC)

/* Parse s, asserting success, and return the result. */
static usec_t
iso(const char *s)
{
	usec_t t = 0;

	assert_int_equal(time_parse_iso8601(s, &t), 0);
	return t;
}

/* Parse s as an HTTP date, asserting success. */
static usec_t
http(const char *s)
{
	usec_t t = 0;

	assert_int_equal(time_parse_http_date(s, &t), 0);
	return t;
}

static void
time_now_matches_the_time_of_day(void **state)
{
	usec_t now = time_now();
	time_t t = time(NULL);

	assert_true(now / USEC_PER_SEC + 2 >= (usec_t)t);
	assert_true(now / USEC_PER_SEC <= (usec_t)t + 2);
}

static void
time_monotonic_never_goes_backwards(void **state)
{
	usec_t a = time_monotonic();
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	usec_t b;

	nanosleep(&ts, NULL);
	b = time_monotonic();
	assert_true(a > 0);
	assert_true(b >= a + 2 * USEC_PER_MSEC);
}

static void
iso8601_parses_z(void **state)
{
	assert_int_equal(iso("2024-01-15T09:30:00Z"), T_2024_01_15);
}

static void
iso8601_parses_fractional_seconds_of_any_length(void **state)
{
	assert_int_equal(iso("2024-01-15T09:30:00.5Z"), T_2024_01_15 + 500000);
	assert_int_equal(iso("2024-01-15T09:30:00.123Z"), T_2024_01_15 + 123000);
	assert_int_equal(iso("2024-01-15T09:30:00.123456Z"),
	    T_2024_01_15 + 123456);
	/* Beyond microseconds the digits are truncated. */
	assert_int_equal(iso("2024-01-15T09:30:00.123456789Z"),
	    T_2024_01_15 + 123456);
	assert_int_equal(iso("2024-01-15T09:30:00.000000000000001Z"),
	    T_2024_01_15);
}

static void
iso8601_applies_positive_offset(void **state)
{
	/* 11:00 at +01:30 is 09:30 UTC. */
	assert_int_equal(iso("2024-01-15T11:00:00+01:30"), T_2024_01_15);
}

static void
iso8601_applies_negative_offset(void **state)
{
	/* 03:30 at -06:00 is 09:30 UTC. */
	assert_int_equal(iso("2024-01-15T03:30:00-06:00"), T_2024_01_15);
	assert_int_equal(iso("2024-01-15T09:30:00+00:00"), T_2024_01_15);
	assert_int_equal(iso("2024-01-15T09:30:00.25-00:00"),
	    T_2024_01_15 + 250000);
}

static void
iso8601_offset_crosses_midnight(void **state)
{
	/* 2024-01-14T23:00-10:30 is 2024-01-15T09:30Z. */
	assert_int_equal(iso("2024-01-14T23:00:00-10:30"), T_2024_01_15);
}

static void
iso8601_accepts_leap_day_only_in_leap_years(void **state)
{
	usec_t t = 7;

	assert_int_equal(iso("2024-02-29T00:00:00Z"),
	    (usec_t)1709164800 * USEC_PER_SEC);
	assert_int_equal(time_parse_iso8601("2023-02-29T00:00:00Z", &t),
	    -EINVAL);
	assert_int_equal(time_parse_iso8601("2100-02-29T00:00:00Z", &t),
	    -EINVAL);
	assert_int_equal(t, 7);
}

static void
iso8601_rejects_garbage(void **state)
{
	static const char *const bad[] = {
		"",
		"garbage",
		"2024-01-15",
		"2024-01-15T09:30:00",          /* no offset: local time */
		"2024-01-15T09:30Z",
		"2024-01-15 09:30:00Z",
		"2024-1-15T09:30:00Z",
		"24-01-15T09:30:00Z",
		"2024-01-15T09:30:00.Z",
		"2024-01-15T09:30:00,5Z",
		"2024-00-15T09:30:00Z",
		"2024-13-15T09:30:00Z",
		"2024-01-00T09:30:00Z",
		"2024-01-32T09:30:00Z",
		"2024-04-31T09:30:00Z",
		"2024-01-15T24:00:00Z",
		"2024-01-15T09:60:00Z",
		"2024-01-15T09:30:61Z",
		"2024-01-15T09:30:00+24:00",
		"2024-01-15T09:30:00+01:60",
		"2024-01-15T09:30:00+1:00",
		"2024-01-15T09:30:00+01:",
		"1969-12-31T23:59:59Z",
		"1970-01-01T00:30:00+01:00",    /* before the epoch */
		"-2024-01-15T09:30:00Z",
		" 2024-01-15T09:30:00Z",
		"2024-01-15T09:30:00 Z",
		"2024-01-15T09:30:00ZZ",
		"2024-01-15T09:30:00Z ",
		"2024-01-15T09:30:00Zjunk",
		"2024-01-15T09:30:00+01:00junk",
		"2024-01-15T09:30:00UTC",
		"\"2024-01-15T09:30:00Z\"",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		usec_t t = 42;

		if (time_parse_iso8601(bad[i], &t) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(t, 42);
	}
}

static void
iso8601_rejects_null(void **state)
{
	usec_t t = 42;

	assert_int_equal(time_parse_iso8601(NULL, &t), -EINVAL);
	assert_int_equal(t, 42);
}

static void
iso8601_ignores_tz(void **state)
{
	setenv("TZ", "CST6CDT", 1);
	tzset();
	assert_int_equal(iso("2024-01-15T09:30:00Z"), T_2024_01_15);
	unsetenv("TZ");
	tzset();
}

static void
rfc3339_formats_utc_with_z(void **state)
{
	char buf[TIME_RFC3339_MAX];

	assert_string_equal(time_format_rfc3339(T_2026_11_28, buf),
	    "2026-11-28T14:30:00Z");
	assert_string_equal(time_format_rfc3339(0, buf), "1970-01-01T00:00:00Z");
}

static void
rfc3339_drops_fractional_seconds(void **state)
{
	char buf[TIME_RFC3339_MAX];

	assert_string_equal(time_format_rfc3339(T_2026_11_28 + 999999, buf),
	    "2026-11-28T14:30:00Z");
}

static void
rfc3339_is_utc_whatever_tz_says(void **state)
{
	char buf[TIME_RFC3339_MAX];

	time_t secs = (time_t)(T_2026_11_28 / USEC_PER_SEC);
	struct tm local;

	/* POSIX TZ strings need no tzdata; local time really is elsewhere. */
	setenv("TZ", "IST-5:30", 1);
	tzset();
	assert_non_null(localtime_r(&secs, &local));
	assert_int_equal(local.tm_hour, 20);
	assert_string_equal(time_format_rfc3339(T_2026_11_28, buf),
	    "2026-11-28T14:30:00Z");
	assert_string_equal(time_format_hms(T_2026_11_28, buf), "14:30:00Z");
	setenv("TZ", "EST5EDT", 1);
	tzset();
	assert_string_equal(time_format_rfc3339(T_2026_11_28, buf),
	    "2026-11-28T14:30:00Z");
	unsetenv("TZ");
	tzset();
}

static void
rfc3339_output_parses_back(void **state)
{
	char buf[TIME_RFC3339_MAX];

	assert_int_equal(iso(time_format_rfc3339(T_1994_11_06, buf)),
	    T_1994_11_06);
	assert_int_equal(iso(time_format_rfc3339(T_2024_01_15 + 5, buf)),
	    T_2024_01_15);
}

static void
rfc3339_fits_far_future_in_its_buffer(void **state)
{
	char buf[TIME_RFC3339_MAX];

	time_format_rfc3339(USEC_INFINITY, buf);
	assert_true(strlen(buf) < TIME_RFC3339_MAX);
	assert_int_equal(buf[strlen(buf) - 1], 'Z');
}

static void
hms_formats_time_of_day_with_z(void **state)
{
	char buf[TIME_RFC3339_MAX];

	assert_string_equal(time_format_hms(T_2026_11_28, buf), "14:30:00Z");
	assert_string_equal(time_format_hms(T_1994_11_06 + 900000, buf),
	    "08:49:37Z");
}

static void
http_date_parses_imf_fixdate(void **state)
{
	assert_int_equal(http("Sun, 06 Nov 1994 08:49:37 GMT"), T_1994_11_06);
	assert_int_equal(http("Mon, 15 Jan 2024 09:30:00 GMT"), T_2024_01_15);
}

static void
http_date_parses_rfc850(void **state)
{
	assert_int_equal(http("Sunday, 06-Nov-94 08:49:37 GMT"), T_1994_11_06);
	assert_int_equal(http("Monday, 15-Jan-24 09:30:00 GMT"), T_2024_01_15);
}

static void
http_date_parses_asctime(void **state)
{
	assert_int_equal(http("Sun Nov  6 08:49:37 1994"), T_1994_11_06);
	assert_int_equal(http("Mon Jan 15 09:30:00 2024"), T_2024_01_15);
}

static void
http_date_rejects_garbage_and_trailing_junk(void **state)
{
	static const char *const bad[] = {
		"",
		"120",
		"Sun, 06 Nov 1994 08:49:37 GMT junk",
		"Sun, 06 Nov 1994 08:49:37 GMTX",
		"Sun, 06 Nov 1994 08:49:37 UTC",
		"Sun, 06 Nov 1994 08:49:37",
		"Sun, 6 Nov 1994 08:49:37 GMT",
		"Sun, 31 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nox 1994 08:49:37 GMT",
		"Sux, 06 Nov 1994 08:49:37 GMT",
		"sun, 06 nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 25:49:37 GMT",
		"Sun 06 Nov 1994 08:49:37 GMT",
		"Sunday, 06-Nov-1994 08:49:37 GMT",
		"Sunday, 06-Nov-94 08:49:37",
		"Sun Nov 6 08:49:37 1994",
		"Sun Nov  6 08:49:37 1994 ",
		"Sun Nov  6 08:49:37 94",
		"2024-01-15T09:30:00Z",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		usec_t t = 42;

		if (time_parse_http_date(bad[i], &t) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(t, 42);
	}
}

static void
http_date_rejects_null(void **state)
{
	usec_t t = 42;

	assert_int_equal(time_parse_http_date(NULL, &t), -EINVAL);
	assert_int_equal(t, 42);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(time_now_matches_the_time_of_day),
		cmocka_unit_test(time_monotonic_never_goes_backwards),
		cmocka_unit_test(iso8601_parses_z),
		cmocka_unit_test(iso8601_parses_fractional_seconds_of_any_length),
		cmocka_unit_test(iso8601_applies_positive_offset),
		cmocka_unit_test(iso8601_applies_negative_offset),
		cmocka_unit_test(iso8601_offset_crosses_midnight),
		cmocka_unit_test(iso8601_accepts_leap_day_only_in_leap_years),
		cmocka_unit_test(iso8601_rejects_garbage),
		cmocka_unit_test(iso8601_rejects_null),
		cmocka_unit_test(iso8601_ignores_tz),
		cmocka_unit_test(rfc3339_formats_utc_with_z),
		cmocka_unit_test(rfc3339_drops_fractional_seconds),
		cmocka_unit_test(rfc3339_is_utc_whatever_tz_says),
		cmocka_unit_test(rfc3339_output_parses_back),
		cmocka_unit_test(rfc3339_fits_far_future_in_its_buffer),
		cmocka_unit_test(hms_formats_time_of_day_with_z),
		cmocka_unit_test(http_date_parses_imf_fixdate),
		cmocka_unit_test(http_date_parses_rfc850),
		cmocka_unit_test(http_date_parses_asctime),
		cmocka_unit_test(http_date_rejects_garbage_and_trailing_junk),
		cmocka_unit_test(http_date_rejects_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
