#!/bin/bash
# SPDX-License-Identifier: MIT
# tvtokenctl against a scripted fake broker (tests/lib/fake-broker.c):
# what it sends, what it prints, its exit status, and its option handling.
# Usage: test-tvtokenctl.sh TVTOKENCTL FAKE-BROKER     (prints TAP)
set -u

ctl=$1
fake=$2
tmp=$(mktemp -d)
chmod 755 "$tmp"
sock=$tmp/io.tvtokend.Broker
fake_pid=
trap '[ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
unset TVTOKEN_SOCKET

TOKEN='{"parameters":{"token":{"accessToken":"acc-1","mdAccessToken":"md-1","expirationTime":"2026-11-28T14:30:00Z","userId":7,"name":"trader","generation":3}}}'
TOKEN_NO_MD='{"parameters":{"token":{"accessToken":"acc-1","mdAccessToken":null,"expirationTime":"2026-11-28T14:30:00Z","userId":null,"generation":3}}}'
TOKEN_NEW='{"parameters":{"token":{"accessToken":"acc-2","mdAccessToken":"md-2","expirationTime":"2026-11-28T16:00:00Z","userId":7,"name":"trader","generation":4}}}'
STREAM_1='{"parameters":{"token":{"accessToken":"acc-1","expirationTime":"2026-11-28T14:30:00Z","generation":3}},"continues":true}'
STREAM_2='{"parameters":{"token":{"accessToken":"acc-2","expirationTime":"2026-11-28T16:00:00Z","generation":4}},"continues":true}'
NO_TOKEN='{"error":"io.tvtokend.Broker.NoToken","parameters":{"state":"credentials_rejected","reason":"credentials rejected","retryAt":null}}'
DENIED='{"error":"org.varlink.service.PermissionDenied","parameters":{}}'
STATUS='{"parameters":{"state":"valid","generation":3,"expirationTime":"2026-11-28T14:30:00Z","nextRenewal":"2026-11-28T14:15:00Z","retryAt":null,"lastError":null,"accessTokenRequests":1,"renewals":2,"failures":0,"renewalsLeftThisHour":10,"failedRequestsLeftThisHour":4,"clients":1,"watchers":0,"version":"0.1.0"}}'

CALL_GET_NOWAIT='{"method":"io.tvtokend.Broker.GetToken","parameters":{"wait":false}}'
CALL_GET_WAIT='{"method":"io.tvtokend.Broker.GetToken","parameters":{"wait":true}}'

failed=0
n=0

# Note a failed expectation of the current test.
fail() {
	echo "#   $*"
	failed=1
}

# Start the fake broker with these steps and wait until it listens.
start_fake() {
	rm -f "$sock" "$tmp/log"
	: >"$tmp/log"
	"$fake" "$sock" "$tmp/log" "$@" &
	fake_pid=$!
	for _ in $(seq 200); do
		[ -S "$sock" ] && return 0
		sleep 0.02
	done
	fail "the fake broker did not start"
}

# Wait for the fake broker to finish its script; it must succeed.
finish_fake() {
	wait "$fake_pid"
	local st=$?
	fake_pid=
	[ "$st" -eq 0 ] || fail "the fake broker failed (exit $st)"
}

# Stop the fake broker at once.
kill_fake() {
	kill -9 "$fake_pid" 2>/dev/null
	wait "$fake_pid" 2>/dev/null
	fake_pid=
}

# Run a command, keeping its exit status in rc and its output in files.
run() {
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

expect_rc() {
	[ "$rc" -eq "$1" ] || fail "exit status $rc, expected $1 (stderr: $(cat "$tmp/err"))"
}

# stdout must be exactly this printf format's output.
expect_stdout() {
	# shellcheck disable=SC2059
	printf -- "$1" >"$tmp/want"
	cmp -s "$tmp/want" "$tmp/out" || fail "stdout is '$(cat "$tmp/out")', expected '$(cat "$tmp/want")'"
}

expect_stderr_has() {
	grep -qF -- "$1" "$tmp/err" || fail "stderr lacks '$1': $(cat "$tmp/err")"
}

expect_stdout_has() {
	grep -qF -- "$1" "$tmp/out" || fail "stdout lacks '$1': $(cat "$tmp/out")"
}

# Nothing the command wrote to stderr may contain a token.
expect_no_token_in_stderr() {
	if grep -qE 'acc-[0-9]|md-[0-9]' "$tmp/err"; then
		fail "stderr shows a token: $(cat "$tmp/err")"
	fi
}

# The broker's log: line N must be this call.
expect_call() {
	local got
	got=$(sed -n "$1p" "$tmp/log")
	[ "$got" = "$2" ] || fail "call $1 was '$got', expected '$2'"
}

expect_calls() {
	local got
	got=$(wc -l <"$tmp/log")
	[ "$got" -eq "$1" ] || fail "$got calls, expected $1"
}

t_help_prints_usage_and_exits_0() {
	run "$ctl" --help
	expect_rc 0
	expect_stdout_has "Usage: tvtokenctl"
	expect_stdout_has "rejected [GENERATION]"
	expect_stdout_has "is-valid"
	expect_stdout_has "exec [--] CMD [ARGS...]"
	expect_stdout_has "-V, --version"
	expect_stdout_has "-h, --help"
	expect_stdout_has "--instance NAME"
	expect_stdout_has "--format=FORMAT"
	expect_stdout_has "--min-remaining=SPAN"
	expect_stdout_has "--env NAME"
}

t_short_help_and_version_options() {
	run "$ctl" -h
	expect_rc 0
	expect_stdout_has "Usage: tvtokenctl"
	run "$ctl" -V
	expect_rc 0
	expect_stdout_has "tvtokenctl "
}

t_help_never_shows_a_token_on_a_command_line() {
	run "$ctl" --help
	if grep -qE '\$\(tvtokenctl|Bearer' "$tmp/out"; then
		fail "--help shows the token in a command line: $(cat "$tmp/out")"
	fi
}

t_version_exits_0() {
	run "$ctl" --version
	expect_rc 0
	expect_stdout_has "tvtokenctl "
}

t_no_command_is_a_usage_error() {
	run "$ctl"
	expect_rc 2
	expect_stderr_has "no command"
}

t_unknown_command_is_a_usage_error() {
	run "$ctl" --socket "$sock" tokens
	expect_rc 2
	expect_stderr_has "unknown command 'tokens'"
}

t_unknown_option_is_a_usage_error() {
	run "$ctl" token --frobnicate
	expect_rc 2
	expect_stderr_has "--frobnicate"
}

t_socket_without_path_is_a_usage_error() {
	run "$ctl" token --socket
	expect_rc 2
}

t_bad_wait_value_is_a_usage_error() {
	run "$ctl" --wait=soon token
	expect_rc 2
	run "$ctl" --wait=-1 token
	expect_rc 2
}

t_extra_argument_is_a_usage_error() {
	run "$ctl" token 3
	expect_rc 2
	run "$ctl" rejected 3 4
	expect_rc 2
}

t_bad_generation_is_a_usage_error() {
	run "$ctl" --socket "$sock" rejected three
	expect_rc 2
}

t_md_outside_token_and_rejected_is_a_usage_error() {
	run "$ctl" --md status
	expect_rc 2
	run "$ctl" --md watch
	expect_rc 2
	run "$ctl" --md --json token
	expect_rc 2
}

t_wait_with_status_is_a_usage_error() {
	run "$ctl" --wait status
	expect_rc 2
}

t_missing_socket_exits_3_and_says_what_to_do() {
	run "$ctl" --socket "$tmp/nothing-here" token
	expect_rc 3
	expect_stderr_has "cannot connect to $tmp/nothing-here: No such file or directory"
	expect_stderr_has "is tvtokend running?"
}

t_socket_nobody_listens_on_exits_3() {
	start_fake hold
	kill_fake
	[ -S "$sock" ] || fail "the dead broker left no socket file"
	run "$ctl" --socket "$sock" status
	expect_rc 3
	expect_stderr_has "Connection refused"
}

t_socket_that_refuses_us_exits_4() {
	start_fake hold
	chmod 000 "$sock"
	if [ "$(id -u)" -eq 0 ]; then
		run setpriv --reuid=65534 --regid=65534 --clear-groups "$ctl" --socket "$sock" token
	else
		run "$ctl" --socket "$sock" token
	fi
	kill_fake
	expect_rc 4
	expect_stderr_has "Permission denied"
}

t_permission_denied_reply_exits_4() {
	start_fake "reply=$DENIED" close
	run "$ctl" --socket "$sock" token
	finish_fake
	expect_rc 4
	expect_stderr_has "permission denied"
}

t_token_prints_the_access_token_and_a_newline() {
	start_fake "reply=$TOKEN"
	run "$ctl" --socket "$sock" token
	finish_fake
	expect_rc 0
	expect_stdout 'acc-1\n'
	expect_call 1 "$CALL_GET_NOWAIT"
	expect_calls 1
}

t_options_may_follow_the_command() {
	start_fake "reply=$TOKEN"
	run "$ctl" token --md --socket "$sock"
	finish_fake
	expect_rc 0
	expect_stdout 'md-1\n'
}

t_md_without_market_data_token_exits_1() {
	start_fake "reply=$TOKEN_NO_MD"
	run "$ctl" --socket "$sock" --md token
	finish_fake
	expect_rc 1
	expect_stderr_has "no market-data token"
	expect_no_token_in_stderr
}

t_json_token_prints_the_whole_token() {
	start_fake "reply=$TOKEN"
	run "$ctl" --json --socket "$sock" token
	finish_fake
	expect_rc 0
	expect_stdout '{"accessToken":"acc-1","mdAccessToken":"md-1","expirationTime":"2026-11-28T14:30:00Z","userId":7,"name":"trader","generation":3}\n'
}

t_json_token_shows_missing_fields_as_null() {
	start_fake "reply=$TOKEN_NO_MD"
	run "$ctl" --json --socket "$sock" token
	finish_fake
	expect_rc 0
	expect_stdout '{"accessToken":"acc-1","mdAccessToken":null,"expirationTime":"2026-11-28T14:30:00Z","userId":null,"name":null,"generation":3}\n'
}

t_no_token_exits_1_with_the_reason() {
	start_fake "reply=$NO_TOKEN"
	run "$ctl" --socket "$sock" token
	finish_fake
	expect_rc 1
	expect_stderr_has "credentials rejected (state credentials_rejected)"
	expect_stdout ''
}

t_wait_without_value_asks_the_broker_to_wait() {
	start_fake "reply=$TOKEN"
	run "$ctl" --socket "$sock" token --wait
	finish_fake
	expect_rc 0
	expect_call 1 "$CALL_GET_WAIT"
}

t_wait_running_out_exits_1() {
	local start end
	start_fake hold
	start=$(date +%s%N)
	run "$ctl" --socket "$sock" --wait=0.3 token
	end=$(date +%s%N)
	finish_fake
	expect_rc 1
	expect_stderr_has "no token within 0.3 seconds"
	expect_call 1 "$CALL_GET_WAIT"
	[ $(((end - start) / 1000000)) -ge 300 ] || fail "gave up after $(((end - start) / 1000000)) ms"
	[ $(((end - start) / 1000000)) -lt 5000 ] || fail "waited $(((end - start) / 1000000)) ms"
}

t_socket_option_beats_the_environment() {
	start_fake "reply=$TOKEN"
	TVTOKEN_SOCKET=$tmp/nothing-here run "$ctl" --socket "$sock" token
	finish_fake
	expect_rc 0
	expect_stdout 'acc-1\n'
}

t_environment_names_the_socket() {
	start_fake "reply=$TOKEN"
	TVTOKEN_SOCKET=$sock run "$ctl" token
	finish_fake
	expect_rc 0
	expect_stdout 'acc-1\n'
}

t_status_prints_state_for_people() {
	start_fake "reply=$STATUS"
	run "$ctl" --socket "$sock" status
	finish_fake
	expect_rc 0
	expect_call 1 '{"method":"io.tvtokend.Broker.GetStatus","parameters":{}}'
	grep -qE '^State: +valid$' "$tmp/out" || fail "no state line: $(cat "$tmp/out")"
	grep -qE '^Next renewal: +2026-11-28T14:15:00Z \([0-9].* ago\)$' "$tmp/out" || fail "no renewal line"
	grep -qE '^Retry at: +-$' "$tmp/out" || fail "no retry line"
	grep -qE '^Clients: +1$' "$tmp/out" || fail "no clients line"
}

t_json_status_prints_the_parameters_object() {
	start_fake "reply=$STATUS"
	run "$ctl" --socket "$sock" status --json
	finish_fake
	expect_rc 0
	expect_stdout '{"state":"valid","generation":3,"expirationTime":"2026-11-28T14:30:00Z","nextRenewal":"2026-11-28T14:15:00Z","retryAt":null,"lastError":null,"accessTokenRequests":1,"renewals":2,"failures":0,"renewalsLeftThisHour":10,"failedRequestsLeftThisHour":4,"clients":1,"watchers":0,"version":"0.1.0"}\n'
}

t_watch_prints_a_line_per_token_until_no_token() {
	start_fake "reply=$STREAM_1" "send=$STREAM_2" "send=$NO_TOKEN"
	run "$ctl" --socket "$sock" watch
	finish_fake
	expect_rc 1
	expect_call 1 '{"method":"io.tvtokend.Broker.GetToken","parameters":{"wait":false},"more":true}'
	expect_stdout '{"accessToken":"acc-1","mdAccessToken":null,"expirationTime":"2026-11-28T14:30:00Z","userId":null,"name":null,"generation":3}\n{"accessToken":"acc-2","mdAccessToken":null,"expirationTime":"2026-11-28T16:00:00Z","userId":null,"name":null,"generation":4}\n'
	expect_stderr_has "no token: credentials rejected"
	expect_no_token_in_stderr
}

t_watch_exits_1_when_the_broker_goes_away() {
	start_fake "reply=$STREAM_1" close
	run "$ctl" --socket "$sock" watch
	finish_fake
	expect_rc 1
	expect_stdout_has '"generation":3'
	expect_stderr_has "closed the connection"
}

t_watch_with_wait_asks_the_broker_to_wait() {
	start_fake "reply=$STREAM_1" close
	run "$ctl" --socket "$sock" --wait watch
	finish_fake
	expect_call 1 '{"method":"io.tvtokend.Broker.GetToken","parameters":{"wait":true},"more":true}'
}

t_rejected_reports_the_current_generation() {
	start_fake "reply=$TOKEN" "reply=$TOKEN_NEW"
	run "$ctl" --socket "$sock" rejected
	finish_fake
	expect_rc 0
	expect_call 1 "$CALL_GET_NOWAIT"
	expect_call 2 '{"method":"io.tvtokend.Broker.ReportRejected","parameters":{"generation":3}}'
	expect_stdout 'acc-2\n'
}

t_rejected_reports_the_given_generation() {
	start_fake "reply=$TOKEN_NEW"
	run "$ctl" rejected 2 --json --socket "$sock"
	finish_fake
	expect_rc 0
	expect_call 1 '{"method":"io.tvtokend.Broker.ReportRejected","parameters":{"generation":2}}'
	expect_calls 1
	expect_stdout_has '"generation":4'
}

t_other_broker_error_exits_1_and_names_it() {
	start_fake 'reply={"error":"org.varlink.service.InvalidParameter","parameters":{"parameter":"generation"}}'
	run "$ctl" --socket "$sock" rejected 9
	finish_fake
	expect_rc 1
	expect_stderr_has "org.varlink.service.InvalidParameter (parameter: generation)"
}

t_garbled_reply_exits_1() {
	start_fake 'reply=this is not json'
	run "$ctl" --socket "$sock" token
	finish_fake
	expect_rc 1
	expect_stderr_has "does not understand"
}

# A time N seconds from now (negative: ago), RFC 3339 UTC.
at() {
	date -u -d "@$(($(date +%s) + $1))" +%Y-%m-%dT%H:%M:%SZ
}

# A GetToken reply whose token expires at $1.
token_expiring() {
	printf '{"parameters":{"token":{"accessToken":"acc-1","mdAccessToken":"md-1","expirationTime":"%s","userId":7,"name":"trader","generation":3}}}' "$1"
}

# A GetStatus reply: state $1, then the JSON members (after "state") in $2.
status_reply() {
	printf '{"parameters":{"state":"%s"%s}}' "$1" "${2:+,$2}"
}

# The standard counters of a GetStatus reply.
COUNTERS='"accessTokenRequests":1,"renewals":2,"failures":5,"renewalsLeftThisHour":10,"failedRequestsLeftThisHour":4,"clients":1,"watchers":2,"version":"0.1.0"'

t_wait_takes_time_spans() {
	local start end
	start_fake hold
	start=$(date +%s%N)
	run "$ctl" --socket "$sock" --wait=300ms token
	end=$(date +%s%N)
	finish_fake
	expect_rc 1
	expect_stderr_has "no token within 300ms —"
	[ $(((end - start) / 1000000)) -ge 300 ] || fail "gave up after $(((end - start) / 1000000)) ms"
	start_fake "reply=$TOKEN"
	run "$ctl" --socket "$sock" --wait=2min token
	finish_fake
	expect_rc 0
	expect_call 1 "$CALL_GET_WAIT"
	start_fake "reply=$TOKEN"
	run "$ctl" --socket "$sock" "--wait=1min 30s" token
	finish_fake
	expect_rc 0
}

t_bad_wait_spans_are_usage_errors() {
	local w
	for w in "2 parsecs" "1.5.2s" "s" "" "-3s" "30 s s"; do
		run "$ctl" --socket "$sock" "--wait=$w" token
		expect_rc 2
	done
}

t_status_says_the_state_first_with_relative_times() {
	start_fake "reply=$(status_reply valid "\"generation\":3,\"expirationTime\":\"$(at 2570)\",\"nextRenewal\":\"$(at 1670)\",\"retryAt\":\"$(at 1670)\",\"lastError\":null,$COUNTERS")"
	run "$ctl" --socket "$sock" status
	finish_fake
	expect_rc 0
	local first
	first=$(head -n 1 "$tmp/out")
	[[ $first =~ ^valid:\ expires\ [0-9]{2}:[0-9]{2}:[0-9]{2}Z\ \(in\ 42min\),\ renewal\ in\ 27min$ ]] ||
		fail "first line is '$first'"
	grep -qE '^Expires: +[0-9T:-]+Z \(in 42min\)$' "$tmp/out" || fail "no relative expiry: $(cat "$tmp/out")"
	grep -qE '^State: +valid$' "$tmp/out" || fail "no state line"
	grep -qE '^Watchers: +2$' "$tmp/out" || fail "no watchers line"
}

t_status_shows_retry_and_past_times() {
	start_fake "reply=$(status_reply expired "\"generation\":3,\"expirationTime\":\"$(at -3800)\",\"nextRenewal\":null,\"retryAt\":\"$(at 40)\",\"lastError\":\"HTTP 503\",$COUNTERS")"
	run "$ctl" --socket "$sock" status
	finish_fake
	expect_rc 0
	head -n 1 "$tmp/out" | grep -qE '^expired: expired [0-9:]{8}Z \(1h 3min ago\), retry in [0-9]+s$' ||
		fail "first line is '$(head -n 1 "$tmp/out")'"
	grep -qE '^Last error: +HTTP 503$' "$tmp/out" || fail "no last error"
	grep -qE '^Next renewal: +-$' "$tmp/out" || fail "no empty renewal line"
}

t_status_without_a_token_says_so() {
	start_fake "reply=$(status_reply credentials_rejected "\"generation\":0,\"expirationTime\":null,\"nextRenewal\":null,\"retryAt\":null,\"lastError\":\"Incorrect username\",$COUNTERS")"
	run "$ctl" --socket "$sock" status
	finish_fake
	expect_rc 0
	head -n 1 "$tmp/out" | grep -qxF 'credentials_rejected: no token, fix the credentials, then reload' ||
		fail "first line is '$(head -n 1 "$tmp/out")'"
}

t_status_shows_role_and_leader_when_sent() {
	start_fake "reply=$(status_reply valid "\"role\":\"follower\",\"leader\":\"node-a\",\"generation\":3,\"expirationTime\":\"$(at 2570)\",\"futureField\":{\"x\":1},$COUNTERS")"
	run "$ctl" --socket "$sock" status
	finish_fake
	expect_rc 0
	head -n 1 "$tmp/out" | grep -qE '^valid: expires .*, follower of node-a$' ||
		fail "first line is '$(head -n 1 "$tmp/out")'"
	grep -qE '^Role: +follower$' "$tmp/out" || fail "no role line: $(cat "$tmp/out")"
	grep -qE '^Leader: +node-a$' "$tmp/out" || fail "no leader line"
	grep -q 'futureField' "$tmp/out" && fail "an unknown field was shown"
	grep -q '^Next renewal' "$tmp/out" && fail "a missing field was shown"
	start_fake "reply=$(status_reply candidate "\"role\":\"candidate\",\"leader\":null,$COUNTERS")"
	run "$ctl" --socket "$sock" status
	finish_fake
	grep -qE '^Leader: +-$' "$tmp/out" || fail "a null leader is not shown as -: $(cat "$tmp/out")"
	start_fake "reply=$STATUS"
	run "$ctl" --socket "$sock" status
	finish_fake
	grep -qE '^(Role|Leader):' "$tmp/out" && fail "role or leader shown though not sent"
}

t_status_text_never_prints_control_characters() {
	start_fake "reply=$(status_reply 'valid\u001b[31m' "\"lastError\":\"bad\\u001b]0;x\\u0007\",$COUNTERS")"
	run "$ctl" --socket "$sock" status
	finish_fake
	expect_rc 0
	if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$tmp/out"; then
		fail "control characters in the output"
	fi
}

# Check that a file is well-formed Prometheus text exposition: every sample
# line "name{labels} value", each metric family announced by # HELP and
# # TYPE before its first sample, no family twice.
check_exposition() {
	awk '
	/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* / { help[$3] = 1; next }
	/^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (gauge|counter|untyped)$/ {
		if ($3 in type) { print "type twice: " $3; bad = 1 }
		type[$3] = $4; next
	}
	/^#/ { print "bad comment: " $0; bad = 1; next }
	{
		if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*\})? -?[0-9]+(\.[0-9]+)?$/) {
			print "bad sample: " $0; bad = 1; next
		}
		name = $0; sub(/[{ ].*/, "", name)
		if (!(name in help) || !(name in type)) { print "no HELP/TYPE before " name; bad = 1 }
		if (type[name] == "counter" && name !~ /_total$/) { print "counter without _total: " name; bad = 1 }
	}
	END { exit bad }' "$1"
}

# The value of sample $1 (name with labels, as printed) in the output.
sample() {
	awk -v n="$1" '$1 == n { print $2 }' "$tmp/out"
}

t_status_prometheus_is_valid_exposition() {
	start_fake "reply=$(status_reply valid "\"generation\":3,\"expirationTime\":\"$(at 2570)\",\"nextRenewal\":\"$(at 1670)\",\"retryAt\":\"$(at 1670)\",\"lastError\":null,$COUNTERS")"
	run "$ctl" --socket "$sock" status --format=prometheus
	finish_fake
	expect_rc 0
	check_exposition "$tmp/out" >"$tmp/check" || fail "not valid exposition: $(cat "$tmp/check")"
	[ "$(sample tvtokend_up)" = 1 ] || fail "tvtokend_up is '$(sample tvtokend_up)'"
	[ "$(sample tvtokend_token_valid)" = 1 ] || fail "token not valid"
	awk '$1 == "tvtokend_token_remaining_seconds" && $2 > 2500 && $2 <= 2570 { f = 1 } END { exit !f }' "$tmp/out" ||
		fail "remaining seconds: $(sample tvtokend_token_remaining_seconds)"
	[ "$(sample tvtokend_generation)" = 3 ] || fail "generation"
	[ "$(sample tvtokend_access_token_requests_total)" = 1 ] || fail "requests"
	[ "$(sample tvtokend_renewals_total)" = 2 ] || fail "renewals"
	[ "$(sample tvtokend_failures_total)" = 5 ] || fail "failures"
	[ "$(sample tvtokend_renewals_left_this_hour)" = 10 ] || fail "renewals left"
	[ "$(sample tvtokend_failed_requests_left_this_hour)" = 4 ] || fail "failed left"
	[ "$(sample tvtokend_clients)" = 1 ] || fail "clients"
	[ "$(sample tvtokend_watchers)" = 2 ] || fail "watchers"
	[ "$(sample 'tvtokend_state{state="valid"}')" = 1 ] || fail "state valid not 1"
	[ "$(grep -c '^tvtokend_state{' "$tmp/out")" = 10 ] || fail "not one line per state"
	[ "$(awk '/^tvtokend_state\{/ { s += $2 } END { print s }' "$tmp/out")" = 1 ] || fail "state not one-hot"
	grep -q '^tvtokend_role' "$tmp/out" && fail "a role without a role field"
	expect_stdout_has 'tvtokend_info{version="0.1.0"} 1'
}

t_status_prometheus_without_a_token() {
	start_fake "reply=$(status_reply locked_out "\"role\":\"leader\",\"generation\":0,\"expirationTime\":null,\"retryAt\":\"$(at 3600)\",\"newCounter\":3,$COUNTERS")"
	run "$ctl" --socket "$sock" --format=prometheus status
	finish_fake
	expect_rc 0
	check_exposition "$tmp/out" >"$tmp/check" || fail "not valid exposition: $(cat "$tmp/check")"
	[ "$(sample tvtokend_token_valid)" = 0 ] || fail "token valid without a token"
	[ "$(sample tvtokend_token_remaining_seconds)" = 0.000 ] || fail "remaining seconds without a token"
	[ "$(sample 'tvtokend_state{state="locked_out"}')" = 1 ] || fail "state locked_out not 1"
	[ "$(sample 'tvtokend_role{role="leader"}')" = 1 ] || fail "role leader not 1"
	[ "$(sample 'tvtokend_role{role="follower"}')" = 0 ] || fail "role follower not 0"
	grep -q 'tvtokend_token_expiration_timestamp_seconds' "$tmp/out" && fail "an expiry without a token"
	grep -q '^tvtokend_next_attempt_timestamp_seconds ' "$tmp/out" || fail "no next attempt"
}

t_status_prometheus_shows_an_unknown_state_escaped() {
	start_fake "reply=$(status_reply 'new\"state\\' "$COUNTERS")"
	run "$ctl" --socket "$sock" --format=prometheus status
	finish_fake
	expect_rc 0
	check_exposition "$tmp/out" >"$tmp/check" || fail "not valid exposition: $(cat "$tmp/check")"
	expect_stdout_has 'tvtokend_state{state="new\"state\\"} 1'
}

t_status_prometheus_when_the_broker_is_down() {
	run "$ctl" --socket "$tmp/nothing-here" status --format=prometheus
	expect_rc 3
	check_exposition "$tmp/out" >"$tmp/check" || fail "not valid exposition: $(cat "$tmp/check")"
	[ "$(sample tvtokend_up)" = 0 ] || fail "tvtokend_up is '$(sample tvtokend_up)'"
	expect_stderr_has "cannot connect"
}

t_format_json_is_json() {
	start_fake "reply=$STATUS"
	run "$ctl" --socket "$sock" --format=json status
	finish_fake
	expect_rc 0
	expect_stdout_has '{"state":"valid","generation":3,'
	start_fake "reply=$TOKEN"
	run "$ctl" --socket "$sock" --format=json --json token
	finish_fake
	expect_rc 0
	expect_stdout_has '"accessToken":"acc-1"'
}

t_format_usage_errors() {
	run "$ctl" --socket "$sock" --format=yaml status
	expect_rc 2
	expect_stderr_has "invalid --format 'yaml'"
	run "$ctl" --socket "$sock" --format=prometheus token
	expect_rc 2
	run "$ctl" --socket "$sock" --json --format=prometheus status
	expect_rc 2
	run "$ctl" --socket "$sock" --format=text --json status
	expect_rc 2
	run "$ctl" --socket "$sock" status --format
	expect_rc 2
}

t_is_valid_exits_0_silently_with_a_token() {
	start_fake "reply=$(token_expiring "$(at 2570)")"
	run "$ctl" --socket "$sock" is-valid
	finish_fake
	expect_rc 0
	expect_stdout ''
	[ ! -s "$tmp/err" ] || fail "is-valid wrote to stderr: $(cat "$tmp/err")"
	expect_call 1 "$CALL_GET_NOWAIT"
}

t_is_valid_verbose_says_what_it_found() {
	start_fake "reply=$(token_expiring "$(at 2570)")"
	run "$ctl" --socket "$sock" is-valid -v
	finish_fake
	expect_rc 0
	grep -qE '^valid: generation 3, expires [0-9:]{8}Z \(in 42min\)$' "$tmp/out" ||
		fail "printed '$(cat "$tmp/out")'"
	expect_no_token_in_stderr
	grep -q 'acc-1' "$tmp/out" && fail "is-valid printed the token"
}

t_is_valid_exits_1_without_a_token() {
	start_fake "reply=$NO_TOKEN"
	run "$ctl" --socket "$sock" is-valid
	finish_fake
	expect_rc 1
	expect_stdout ''
	expect_stderr_has "no token"
}

t_is_valid_checks_the_remaining_life() {
	local span
	for span in 2400 40min "39min 59.5s" 0.6h 0; do
		start_fake "reply=$(token_expiring "$(at 2570)")"
		run "$ctl" --socket "$sock" is-valid "--min-remaining=$span"
		finish_fake
		expect_rc 0
	done
	for span in 2600 45min "1h 30min" 2d; do
		start_fake "reply=$(token_expiring "$(at 2570)")"
		run "$ctl" --socket "$sock" --min-remaining="$span" is-valid
		finish_fake
		expect_rc 1
		expect_stderr_has "less than the"
		expect_no_token_in_stderr
	done
}

t_is_valid_exits_1_for_a_token_past_its_expiry() {
	start_fake "reply=$(token_expiring "$(at -5)")"
	run "$ctl" --socket "$sock" is-valid
	finish_fake
	expect_rc 1
	expect_stderr_has "expired"
}

t_is_valid_reports_connect_and_permission_errors() {
	run "$ctl" --socket "$tmp/nothing-here" is-valid
	expect_rc 3
	start_fake "reply=$DENIED" close
	run "$ctl" --socket "$sock" is-valid
	finish_fake
	expect_rc 4
}

t_is_valid_with_wait_asks_the_broker_to_wait() {
	start_fake "reply=$(token_expiring "$(at 2570)")"
	run "$ctl" --socket "$sock" --wait=5 is-valid
	finish_fake
	expect_rc 0
	expect_call 1 "$CALL_GET_WAIT"
}

t_is_valid_usage_errors() {
	run "$ctl" --socket "$sock" is-valid --min-remaining=soon
	expect_rc 2
	run "$ctl" --socket "$sock" is-valid --min-remaining=-5
	expect_rc 2
	run "$ctl" --socket "$sock" is-valid --json
	expect_rc 2
	run "$ctl" --socket "$sock" is-valid extra
	expect_rc 2
	run "$ctl" --socket "$sock" token --min-remaining=5
	expect_rc 2
	run "$ctl" --socket "$sock" status -v
	expect_rc 2
}

t_exec_puts_the_token_in_the_environment_not_in_argv() {
	start_fake "reply=$TOKEN"
	run "$ctl" --socket "$sock" exec -- sh -c 'printf "%s\n" "$TRADOVATE_ACCESS_TOKEN"; tr "\0" " " </proc/$$/cmdline >&2'
	finish_fake
	expect_rc 0
	expect_stdout 'acc-1\n'
	expect_no_token_in_stderr
	expect_call 1 "$CALL_GET_NOWAIT"
}

t_exec_replaces_tvtokenctl() {
	local pid
	start_fake "reply=$TOKEN"
	"$ctl" --socket "$sock" exec -- sh -c 'echo $$' >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	wait "$pid"
	finish_fake
	[ "$(cat "$tmp/out")" = "$pid" ] || fail "CMD ran as pid $(cat "$tmp/out"), tvtokenctl was $pid"
}

t_exec_env_names_the_variable_and_md_picks_the_md_token() {
	start_fake "reply=$TOKEN"
	run "$ctl" --socket "$sock" --md exec --env MD_TOKEN -- sh -c 'printf "%s %s\n" "$MD_TOKEN" "${TRADOVATE_ACCESS_TOKEN-unset}"'
	finish_fake
	expect_rc 0
	expect_stdout 'md-1 unset\n'
}

t_exec_md_without_a_market_data_token_exits_1() {
	start_fake "reply=$TOKEN_NO_MD"
	run "$ctl" --socket "$sock" exec --md -- touch "$tmp/ran"
	finish_fake
	expect_rc 1
	[ -e "$tmp/ran" ] && fail "the command ran without a market-data token"
	expect_stderr_has "no market-data token"
	expect_no_token_in_stderr
}

t_exec_leaves_no_connection_to_the_command() {
	start_fake "reply=$TOKEN"
	run "$ctl" --socket "$sock" exec -- sh -c 'ls -l /proc/$$/fd'
	finish_fake
	expect_rc 0
	grep -q 'socket:' "$tmp/out" && fail "the command inherited a socket: $(cat "$tmp/out")"
	expect_stdout_has ' 0 -> '
}

t_exec_without_dashdash_leaves_the_command_options_alone() {
	start_fake "reply=$TOKEN"
	run "$ctl" exec --socket "$sock" printf '%s|%s\n' --json --md
	finish_fake
	expect_rc 0
	expect_stdout '--json|--md\n'
}

t_exec_exits_with_the_command_status() {
	start_fake "reply=$TOKEN"
	run "$ctl" --socket "$sock" exec -- sh -c 'exit 7'
	finish_fake
	expect_rc 7
}

t_exec_of_a_missing_command_exits_127() {
	start_fake "reply=$TOKEN"
	run "$ctl" --socket "$sock" exec -- "$tmp/no-such-program" arg
	finish_fake
	expect_rc 127
	expect_stderr_has "no-such-program: command not found"
	expect_no_token_in_stderr
}

t_exec_of_a_command_that_cannot_run_exits_126() {
	printf '#!/bin/sh\n' >"$tmp/not-executable"
	chmod 644 "$tmp/not-executable"
	start_fake "reply=$TOKEN"
	if [ "$(id -u)" -eq 0 ]; then
		# root may execute anything with an x bit; a directory it cannot.
		run "$ctl" --socket "$sock" exec -- "$tmp"
	else
		run "$ctl" --socket "$sock" exec -- "$tmp/not-executable"
	fi
	finish_fake
	expect_rc 126
	expect_stderr_has "cannot run"
}

t_exec_without_a_token_does_not_run_the_command() {
	start_fake "reply=$NO_TOKEN"
	run "$ctl" --socket "$sock" exec -- touch "$tmp/ran"
	finish_fake
	expect_rc 1
	[ -e "$tmp/ran" ] && fail "the command ran without a token"
	expect_stderr_has "no token"
}

t_exec_with_wait_asks_the_broker_to_wait() {
	start_fake "reply=$TOKEN"
	run "$ctl" --socket "$sock" exec --wait=30s -- true
	finish_fake
	expect_rc 0
	expect_call 1 "$CALL_GET_WAIT"
}

t_exec_usage_errors() {
	run "$ctl" --socket "$sock" exec
	expect_rc 2
	expect_stderr_has "exec needs a command"
	run "$ctl" --socket "$sock" exec --
	expect_rc 2
	run "$ctl" --socket "$sock" exec --env 1BAD -- true
	expect_rc 2
	run "$ctl" --socket "$sock" exec --env 'A=B' -- true
	expect_rc 2
	run "$ctl" --socket "$sock" exec --json -- true
	expect_rc 2
	run "$ctl" --socket "$sock" token --env X
	expect_rc 2
	run "$ctl" --socket "$sock" exec --env
	expect_rc 2
}

t_instance_names_the_socket_of_tvtokend_at_name() {
	run "$ctl" --instance "no-such-$$" token
	expect_rc 3
	expect_stderr_has "cannot connect to /run/tvtokend/no-such-$$/io.tvtokend.Broker"
}

t_instance_beats_the_environment() {
	start_fake "reply=$TOKEN"
	TVTOKEN_SOCKET=$sock run "$ctl" --instance "no-such-$$" token
	kill_fake
	expect_rc 3
	expect_stderr_has "/run/tvtokend/no-such-$$/io.tvtokend.Broker"
}

t_bad_instance_names_are_usage_errors() {
	local name
	for name in "" "a/b" "." ".." "/"; do
		run "$ctl" --instance "$name" token
		expect_rc 2
	done
	run "$ctl" --instance "$(printf 'x%.0s' $(seq 200))" token
	expect_rc 2
	run "$ctl" --instance live --socket "$sock" token
	expect_rc 2
	expect_stderr_has "--socket and --instance exclude each other"
	run "$ctl" token --instance
	expect_rc 2
}

t_arguments_after_dashdash() {
	start_fake "reply=$TOKEN_NEW"
	run "$ctl" --socket "$sock" rejected -- 2
	finish_fake
	expect_rc 0
	expect_call 1 '{"method":"io.tvtokend.Broker.ReportRejected","parameters":{"generation":2}}'
	run "$ctl" --socket "$sock" rejected 2 -- 3
	expect_rc 2
}

for t in $(declare -F | awk '$3 ~ /^t_/ { print $3 }'); do
	n=$((n + 1))
	failed=0
	"$t"
	if [ "$failed" -eq 0 ]; then
		echo "ok $n - ${t#t_}"
	else
		echo "not ok $n - ${t#t_}"
	fi
	[ -n "$fake_pid" ] && kill_fake
done
echo "1..$n"
