/* SPDX-License-Identifier: MIT */
/* ctl-time: tvtokenctl's time spans, RFC 3339 times and relative times. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ctl-time.h"
#include "timespan.h"

/* 2026-11-28T14:30:00Z */
#define T_2026_11_28 ((int64_t)1795876200 * 1000000)

/* Parse s as a span, asserting success, and return microseconds. */
static uint64_t
span(const char *s)
{
	uint64_t v = 12345;

	assert_int_equal(timespan_parse(s, &v), 0);
	return v;
}

/* Assert that s is not a span and leaves the output alone. */
static void
not_span(const char *s, int err)
{
	uint64_t v = 12345;

	assert_int_equal(timespan_parse(s, &v), err);
	assert_int_equal(v, 12345);
}

/* Parse s as RFC 3339, asserting success. */
static int64_t
rfc(const char *s)
{
	int64_t t = -1;

	assert_int_equal(ctl_time_parse_rfc3339(s, &t), 0);
	return t;
}

/* Assert that s is not an RFC 3339 time and leaves the output alone. */
static void
not_rfc(const char *s)
{
	int64_t t = 777;

	assert_int_equal(ctl_time_parse_rfc3339(s, &t), -EINVAL);
	assert_int_equal(t, 777);
}

static void
span_plain_numbers_are_seconds(void **state)
{
	assert_int_equal(span("90"), 90 * CTL_USEC_PER_SEC);
	assert_int_equal(span("0"), 0);
	assert_int_equal(span("0.5"), 500 * CTL_USEC_PER_MSEC);
	assert_int_equal(span(".25"), 250 * CTL_USEC_PER_MSEC);
	assert_int_equal(span("1.5"), 1500 * CTL_USEC_PER_MSEC);
	assert_int_equal(span("30."), 30 * CTL_USEC_PER_SEC);
}

static void
span_units_as_the_config_takes_them(void **state)
{
	assert_int_equal(span("30s"), 30 * CTL_USEC_PER_SEC);
	assert_int_equal(span("500ms"), 500 * CTL_USEC_PER_MSEC);
	assert_int_equal(span("2min"), 2 * CTL_USEC_PER_MIN);
	assert_int_equal(span("2m"), 2 * CTL_USEC_PER_MIN);
	assert_int_equal(span("1h"), CTL_USEC_PER_HOUR);
	assert_int_equal(span("1d"), CTL_USEC_PER_DAY);
	assert_int_equal(span("1w"), CTL_USEC_PER_WEEK);
	assert_int_equal(span("1M"), 2629800 * CTL_USEC_PER_SEC);
	assert_int_equal(span("1month"), 2629800 * CTL_USEC_PER_SEC);
	assert_int_equal(span("1y"), 31557600 * CTL_USEC_PER_SEC);
	assert_int_equal(span("2 years"), 2 * 31557600 * CTL_USEC_PER_SEC);
	assert_int_equal(span("7us"), 7);
	assert_int_equal(span("3 seconds"), 3 * CTL_USEC_PER_SEC);
	assert_int_equal(span("2 hours"), 2 * CTL_USEC_PER_HOUR);
}

static void
span_combinations_and_fractions(void **state)
{
	assert_int_equal(span("1h 30min"), 90 * CTL_USEC_PER_MIN);
	assert_int_equal(span("1h30min"), 90 * CTL_USEC_PER_MIN);
	assert_int_equal(span("  1min\t30s  "), 90 * CTL_USEC_PER_SEC);
	assert_int_equal(span("1.5s"), 1500 * CTL_USEC_PER_MSEC);
	assert_int_equal(span("0.5h"), 30 * CTL_USEC_PER_MIN);
	assert_int_equal(span("1.0000005s"), CTL_USEC_PER_SEC);
	assert_int_equal(span("1.5ms"), 1500);
}

static void
span_rejects_what_is_not_a_span(void **state)
{
	not_span("", -EINVAL);
	not_span("   ", -EINVAL);
	not_span("s", -EINVAL);
	not_span("-5", -EINVAL);
	not_span("+5", -EINVAL);
	not_span("5 parsecs", -EINVAL);
	not_span("1.5.2s", -EINVAL);
	not_span(".", -EINVAL);
	not_span("5s,", -EINVAL);
	not_span("1e3", -EINVAL);
	not_span("0x10", -EINVAL);
	not_span("5 s s", -EINVAL);
	not_span("soon", -EINVAL);
}

static void
span_overflow_is_out_of_range(void **state)
{
	not_span("18446744073709551616us", -ERANGE);
	not_span("99999999999999999999", -ERANGE);
	not_span("18446744073709551615us", -ERANGE);
	not_span("40000000w", -ERANGE);
	assert_int_equal(span("18446744073709551614us"), UINT64_MAX - 1);
}

static void
rfc3339_parses_the_brokers_times(void **state)
{
	assert_int_equal(rfc("2026-11-28T14:30:00Z"), T_2026_11_28);
	assert_int_equal(rfc("2026-11-28t14:30:00z"), T_2026_11_28);
	assert_int_equal(rfc("2026-11-28T14:30:00.250Z"), T_2026_11_28 + 250000);
	assert_int_equal(rfc("2026-11-28T14:30:00.1234567Z"), T_2026_11_28 + 123456);
	assert_int_equal(rfc("2026-11-28T16:30:00+02:00"), T_2026_11_28);
	assert_int_equal(rfc("2026-11-28T13:00:00-01:30"), T_2026_11_28);
	assert_int_equal(rfc("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(rfc("2024-02-29T00:00:00Z"), (int64_t)1709164800 * 1000000);
}

static void
rfc3339_rejects_malformed_times(void **state)
{
	not_rfc("");
	not_rfc("2026-11-28");
	not_rfc("2026-11-28T14:30:00");
	not_rfc("2026-11-28 14:30:00Z");
	not_rfc("2026-11-28T14:30Z");
	not_rfc("2026-11-28T14:30:00Zjunk");
	not_rfc("2026-11-28T14:30:00.Z");
	not_rfc("2026-13-28T14:30:00Z");
	not_rfc("2026-02-29T14:30:00Z");
	not_rfc("2026-11-31T14:30:00Z");
	not_rfc("2026-11-28T24:00:00Z");
	not_rfc("2026-11-28T14:60:00Z");
	not_rfc("2026-11-28T14:30:61Z");
	not_rfc("1969-12-31T23:59:59Z");
	not_rfc("1970-01-01T00:00:00+00:01");
	not_rfc("2026-11-28T14:30:00+24:00");
	not_rfc("2026-11-28T14:30:00+0200");
	not_rfc("+2026-11-28T14:30:00Z");
}

static void
hms_is_utc_with_a_z(void **state)
{
	char buf[CTL_TIME_TEXT_MAX];

	setenv("TZ", "America/New_York", 1);
	tzset();
	assert_string_equal(ctl_time_format_hms(T_2026_11_28 + 999999, buf), "14:30:00Z");
	assert_string_equal(ctl_time_format_hms(-1, buf), "?");
}

static void
span_text_is_cut_to_two_units_as_systemctl_shows_it(void **state)
{
	char buf[CTL_TIME_TEXT_MAX];

	assert_string_equal(ctl_time_format_span(42 * CTL_USEC_PER_MIN + 59 * CTL_USEC_PER_SEC, buf),
			    "42min");
	assert_string_equal(ctl_time_format_span(63 * CTL_USEC_PER_MIN + 30 * CTL_USEC_PER_SEC, buf),
			    "1h 3min");
	assert_string_equal(ctl_time_format_span(CTL_USEC_PER_HOUR, buf), "1h");
	assert_string_equal(ctl_time_format_span(7 * CTL_USEC_PER_HOUR + CTL_USEC_PER_MIN, buf), "7h");
	assert_string_equal(ctl_time_format_span(27 * CTL_USEC_PER_HOUR, buf), "1 day 3h");
	assert_string_equal(ctl_time_format_span(3 * CTL_USEC_PER_DAY, buf), "3 days");
	assert_string_equal(ctl_time_format_span(4 * CTL_USEC_PER_MIN + 3 * CTL_USEC_PER_SEC, buf),
			    "4min 3s");
	assert_string_equal(ctl_time_format_span(2 * CTL_USEC_PER_MIN, buf), "2min");
	assert_string_equal(ctl_time_format_span(5 * CTL_USEC_PER_SEC + 900000, buf), "5s");
	assert_string_equal(ctl_time_format_span(500 * CTL_USEC_PER_MSEC, buf), "500ms");
	assert_string_equal(ctl_time_format_span(7, buf), "7us");
	assert_string_equal(ctl_time_format_span(UINT64_MAX, buf), "213503982 days");
}

static void
relative_time_is_in_the_future_or_ago(void **state)
{
	char buf[CTL_TIME_TEXT_MAX];
	int64_t now = T_2026_11_28;

	assert_string_equal(ctl_time_format_relative(now + 42 * (int64_t)CTL_USEC_PER_MIN, now, buf),
			    "in 42min");
	assert_string_equal(ctl_time_format_relative(now - 63 * (int64_t)CTL_USEC_PER_MIN, now, buf),
			    "1h 3min ago");
	assert_string_equal(ctl_time_format_relative(now + 5 * (int64_t)CTL_USEC_PER_SEC, now, buf),
			    "in 5s");
	assert_string_equal(ctl_time_format_relative(now + 999, now, buf), "now");
	assert_string_equal(ctl_time_format_relative(now - 999, now, buf), "now");
	assert_string_equal(ctl_time_format_relative(0, INT64_MAX, buf), "106751991 days ago");
}

static void
now_matches_the_time_of_day(void **state)
{
	int64_t now = ctl_time_now();
	time_t t = time(NULL);

	assert_true(now / 1000000 + 2 >= (int64_t)t);
	assert_true(now / 1000000 <= (int64_t)t + 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(span_plain_numbers_are_seconds),
		cmocka_unit_test(span_units_as_the_config_takes_them),
		cmocka_unit_test(span_combinations_and_fractions),
		cmocka_unit_test(span_rejects_what_is_not_a_span),
		cmocka_unit_test(span_overflow_is_out_of_range),
		cmocka_unit_test(rfc3339_parses_the_brokers_times),
		cmocka_unit_test(rfc3339_rejects_malformed_times),
		cmocka_unit_test(hms_is_utc_with_a_z),
		cmocka_unit_test(span_text_is_cut_to_two_units_as_systemctl_shows_it),
		cmocka_unit_test(relative_time_is_in_the_future_or_ago),
		cmocka_unit_test(now_matches_the_time_of_day),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
