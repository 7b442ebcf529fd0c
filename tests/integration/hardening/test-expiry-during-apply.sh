#!/bin/bash
# SPDX-License-Identifier: MIT
# A token that expires while the broker is still carrying out a decision
# (saving the state file, telling the token file, the hook and the clients)
# must not make the broker re-plan inside itself: that sent the fallback
# token request twice over, declared the one in flight "not started", and
# then threw its reply away (an extra Tradovate session whose failures
# nobody counted). Slow fsyncs and 1-second tokens make that window wide.
. "$(dirname "$0")/../failures/helpers.sh"

$CC_FOR_TESTS -shared -fPIC -o "$T/slow-fsync.so" "$(dirname "$0")/slow-fsync.c" -ldl ||
	fail "cannot build the fsync shim"
mock_start --lifetime 1
write_config "[Token]" "StateFile=$T/state.json"
LD_PRELOAD=$T/slow-fsync.so SLOW_FSYNC_US=100000 ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0 \
	daemon_start
wait_until 30 '[ "$(mock_count request)" -ge 12 ]' || fail "too few token requests: $(mock_requests | sort | uniq -c)"
daemon_stop
! grep -q 'cannot start the token request\|could not start the request' "$T/daemon.log" ||
	fail "the broker started a request while one was in flight: $(grep -m3 'cannot start\|could not start' "$T/daemon.log")"
issued=$(mock_requests | grep -c '^request ok 200')
acquired=$(grep -c 'acquired a new token' "$T/daemon.log")
# The last token may have been issued as the daemon stopped.
[ "$acquired" -eq "$issued" ] || [ "$acquired" -eq $((issued - 1)) ] ||
	fail "the mock issued $issued tokens, the broker installed $acquired"
assert_no_sanitizer_reports "$T/daemon.log"
ok "$issued tokens issued, $acquired installed, no request started twice"
