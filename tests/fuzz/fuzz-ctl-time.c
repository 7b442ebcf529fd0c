/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: tvtokenctl's parsers of what users type and what the
 * broker sends (lib/ctl-time.c): time spans (--wait=, --min-remaining=) and
 * RFC 3339 times (expirationTime, nextRenewal, retryAt), with the formatters
 * fed whatever they accept. Checks: no crash, no sanitizer report, a parsed
 * span below 2^64 - 1, formatted texts NUL-terminated within their buffers.
 *
 * Built by hand until tests/fuzz/meson.build lists it:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ilib \
 *     tests/fuzz/fuzz-ctl-time.c lib/ctl-time.c -o fuzz-ctl-time
 *   ./fuzz-ctl-time -max_total_time=60 tests/fuzz/corpus/ctl-time
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-time.h"
#include "timespan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Parse the input as a span and as a time; format what parses. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[CTL_TIME_TEXT_MAX];
	uint64_t span;
	int64_t t;
	char *s;

	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (timespan_parse(s, &span) == 0) {
		if (span == UINT64_MAX)
			abort();
		ctl_time_format_span(span, buf);
		if (strnlen(buf, sizeof(buf)) == sizeof(buf))
			abort();
	}
	if (ctl_time_parse_rfc3339(s, &t) == 0) {
		if (t < 0)
			abort();
		ctl_time_format_hms(t, buf);
		ctl_time_format_relative(t, ctl_time_now(), buf);
		if (strnlen(buf, sizeof(buf)) == sizeof(buf))
			abort();
	}
	free(s);
	return 0;
}
