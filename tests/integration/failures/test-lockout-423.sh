#!/bin/bash
# SPDX-License-Identifier: MIT
# A 423 locks the broker out for LockoutSec, on the token request (no token:
# waiting clients get NoToken at once) and on a renewal (the token is still
# served; the renewal is retried when the lockout ends). Nothing is sent
# during a lockout.
. "$(dirname "$0")/helpers.sh"

mock_start --lifetime 60
write_config "[Token]" "LockoutSec=3s" "RenewBeforeSec=4s"
mock_script "request 423" "request lifetime 6" "renew 423"
daemon_start
wait_state locked_out 5
assert_eq "$(get_token)" io.tvtokend.Broker.NoToken "GetToken in the lockout"
watch_start w --wait --duration 5
watch_wait w 2
assert_eq "$(watch_line w 1)" "error io.tvtokend.Broker.NoToken locked_out" "client that waits during the lockout"
wait_requests 2 6
assert_between "$(mock_gap 1 2)" 3000 3400 "quiet time after the 423 on the token request"

wait_requests 3 5
wait_state locked_out 5
assert_eq "$(get_token)" "token 1" "GetToken while the renewal is locked out"
watch_start w2 --wait --duration 5
watch_wait w2 2
assert_eq "$(watch_line w2 1)" "token 1" "client that waits while a valid token is held"
wait_requests 4 6
wait_state valid 5
assert_between "$(mock_gap 3 4)" 3000 3400 "quiet time after the 423 on the renewal"
assert_seq "request 423 423" "request lifetime 200" "renew 423 423" "renew ok 200"
assert_eq "$(get_token)" "token 2" "GetToken after the renewal"
assert_events locked_out acquired locked_out renewed
daemon_stop
assert_no_secrets "$T/daemon.log" "$T/mock.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
ok "423s locked the broker out for LockoutSec, the valid token still served"
