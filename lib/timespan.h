/* SPDX-License-Identifier: MIT */
/*
 * The one parser of time spans, as systemd writes them: the daemon's
 * config (RequestTimeoutSec=2min) and tvtokenctl's options (--wait=2min)
 * share it, so that a span means the same everywhere (CONTRACT §3, §7).
 * Built into the daemon and into tvtokenctl; not part of libtvtoken.
 */
#ifndef TVTOKEN_TIMESPAN_H
#define TVTOKEN_TIMESPAN_H

#include <stdint.h>

/*
 * Parse "90" (seconds), "30s", "500ms", "2min", "1h 30min", "1h30min",
 * "1.5s", "1 M" (a month: 30.44 days), "1y" (365.25 days): one or more
 * NUMBER[.FRACTION][UNIT] parts, blanks (space, tab) between them, ASCII
 * only, whatever the locale; 0 is allowed. Returns 0 with *usec, -EINVAL
 * for text that is not a span, -ERANGE at or past 2^64 - 1 microseconds.
 */
int timespan_parse(const char *s, uint64_t *usec);

#endif
