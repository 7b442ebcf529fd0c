#!/bin/bash
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
	printf "$1" >"$tmp/want"
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
	grep -qE '^Next renewal: +2026-11-28T14:15:00Z$' "$tmp/out" || fail "no renewal line"
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
