#!/bin/bash
# SPDX-License-Identifier: MIT
# A token that arrives with less than a second to live is dead once its expiry
# is cut to the whole second it is served with: it counts as a failed token
# request (backoff, the hourly ceiling), and never makes the broker request
# token after token without pause.
. "$(dirname "$0")/helpers.sh"

mock_start --lifetime 0.4
write_config "[Token]" "RetryMinSec=500ms" "RetryMaxSec=1s" "MaxRenewalsPerHour=12" "MaxFailedRequestsPerHour=4"
daemon_start
sleep 4
# At most 4 failed requests (the ceiling), and the few 0.4 s tokens that had
# a moment left with their renewals: a handful, where a loop without backoff
# makes thousands.
assert_between "$(mock_count request)" 1 12 "token requests in 4 s"
assert_between "$(mock_count renew)" 0 12 "renewals in 4 s"
daemon_stop
assert_no_secrets "$T/daemon.log" "$T/mock.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
ok "$(mock_count request) token requests and $(mock_count renew) renewals in 4 s for tokens dead on arrival"
