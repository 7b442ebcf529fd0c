#!/bin/bash
# SPDX-License-Identifier: MIT
# tvtokenctl against the real broker: token (--md, --json), --wait with and
# without a limit, status (--json), rejected [GENERATION], watch ending with 1
# when the broker stops, exit 3 without a socket, options before or after the
# command, --socket over $TVTOKEN_SOCKET; status with the state first and
# relative times, status --format=prometheus, is-valid, exec, --instance.
. "$IT_LIB"
. "$(dirname "$0")/helpers.sh"

# Run tvtokenctl (bounded) with these arguments; sets RC, output in $T/out, $T/err.
run_ctl()
{
	RC=0
	timeout 20 "$TVTOKENCTL" "$@" >"$T/out" 2>"$T/err" || RC=$?
}

# Expect exit status WANT from tvtokenctl ARGS... with nothing on stdout and a message on stderr.
expect_rc()
{
	local want=$1

	shift
	run_ctl "$@"
	assert_eq "$RC" "$want" "exit status of tvtokenctl $*"
	[ ! -s "$T/out" ] || fail "tvtokenctl $* printed [$(cat "$T/out")]"
	[ -s "$T/err" ] || fail "tvtokenctl $* exited $RC without a message"
}

# The first token takes 3 s to come.
mock_start
mock_script "request stall 3"
write_config "[Tradovate]" "RequestTimeoutSec=10s"
daemon_start

start=$(date +%s%3N)
expect_rc 1 --socket "$SOCK" --wait=0.5 token
took=$(( $(date +%s%3N) - start ))
{ [ "$took" -ge 500 ] && [ "$took" -lt 2900 ]; } || fail "--wait=0.5 gave up after $took ms"
expect_rc 1 --socket "$SOCK" token
grep -qi 'no token' "$T/err" || fail "tvtokenctl token without a token said [$(cat "$T/err")]"
ok "no token yet: --wait=0.5 and no --wait exit 1"

run_ctl --socket "$SOCK" --wait token
assert_eq "$RC" 0 "exit status of tvtokenctl --wait token"
tok=$(cat "$T/out")
case $tok in tok-1-*) ;; *) fail "tvtokenctl --wait token printed [$tok]" ;; esac
assert_eq "$(mock_requests)" "request stall 200" "upstream requests"
ok "--wait without a limit: exit 0 once the token came"

# token, --md, --json.
full=$(vl "$(vl_msg io.tvtokend.Broker.GetToken)" | jq -c .parameters.token) || fail "GetToken failed"
run_ctl --socket "$SOCK" token
assert_eq "$RC" 0 "exit status of tvtokenctl token"
printf '%s\n' "$(jget "$full" .accessToken)" | cmp -s - "$T/out" || fail "token printed [$(cat "$T/out")], not the token and a newline"
run_ctl --socket "$SOCK" token --md
assert_eq "$RC:$(cat "$T/out")" "0:$(jget "$full" .mdAccessToken)" "tvtokenctl token --md"
run_ctl --socket "$SOCK" token --json
assert_eq "$RC" 0 "exit status of tvtokenctl token --json"
assert_eq "$(jq -cS . "$T/out")" "$(jq -cS . <<<"$full")" "tvtokenctl token --json is the Token"
ok "token, token --md, token --json"

# Options before or after the command.
run_ctl token --json --socket "$SOCK"
assert_eq "$RC:$(jq -c .generation "$T/out")" "0:1" "options after the command"
run_ctl --json --socket "$SOCK" token
assert_eq "$RC:$(jq -c .generation "$T/out")" "0:1" "options before the command"
run_ctl --socket "$SOCK" --json token --md
assert_eq "$RC" 2 "--json with --md (usage error)"
ok "options before or after the command"

# status, --json status.
run_ctl --socket "$SOCK" status
assert_eq "$RC" 0 "exit status of tvtokenctl status"
grep -qE '^State: +valid$' "$T/out" || fail "tvtokenctl status printed [$(cat "$T/out")]"
grep -qE '^Generation: +1$' "$T/out" || fail "no generation in [$(cat "$T/out")]"
grep -qF "$tok" "$T/out" && fail "tvtokenctl status printed the token"
run_ctl status --json --socket "$SOCK"
assert_eq "$RC" 0 "exit status of tvtokenctl --json status"
assert_eq "$(jq -r '.state, .generation, .clients' "$T/out" | tr '\n' ' ')" "valid 1 1 " "tvtokenctl --json status"
ok "status, --json status"

# rejected: the current generation is renewed; an older one gets the current token.
run_ctl --socket "$SOCK" rejected
assert_eq "$RC" 0 "exit status of tvtokenctl rejected"
tok2=$(cat "$T/out")
case $tok2 in tok-2-*) ;; *) fail "tvtokenctl rejected printed [$tok2]" ;; esac
assert_eq "$(ctl --json token | jq .generation)" 2 "generation after rejected"
run_ctl --socket "$SOCK" rejected 1 --json
assert_eq "$RC:$(jq -r '"\(.generation) \(.accessToken)"' "$T/out")" "0:2 $tok2" "tvtokenctl rejected 1 --json"
assert_eq "$(mock_requests)" "request stall 200
renew ok 200" "upstream requests after rejected, rejected 1"
expect_rc 1 --socket "$SOCK" rejected 7
grep -qF 'InvalidParameter' "$T/err" || fail "rejected 7 said [$(cat "$T/err")]"
expect_rc 2 --socket "$SOCK" rejected one
ok "rejected, rejected GENERATION"

# Which socket: --socket, else $TVTOKEN_SOCKET.
TVTOKEN_SOCKET=$T/no-such-socket run_ctl --socket "$SOCK" token
assert_eq "$RC:$(cat "$T/out")" "0:$tok2" "--socket over \$TVTOKEN_SOCKET"
TVTOKEN_SOCKET=$SOCK run_ctl token
assert_eq "$RC:$(cat "$T/out")" "0:$tok2" "\$TVTOKEN_SOCKET without --socket"
TVTOKEN_SOCKET=$SOCK expect_rc 3 --socket "$T/no-such-socket" token
grep -qF "$T/no-such-socket" "$T/err" || fail "the missing socket is not named: $(cat "$T/err")"
expect_rc 3 --socket "$T/no-such-socket" status
ok "--socket beats \$TVTOKEN_SOCKET; a missing socket exits 3"

expect_rc 2 --socket "$SOCK" tokens
expect_rc 2 --socket "$SOCK"
expect_rc 2 --socket "$SOCK" --wait=soon token
ok "usage errors exit 2"

# status says the state first, with times relative to now.
run_ctl --socket "$SOCK" status
first=$(head -n 1 "$T/out")
[[ $first =~ ^valid:\ expires\ [0-9:]{8}Z\ \(in\ 1h\ [0-9]+min\),\ renewal\ in\ 1h\ [0-9]+min$ ]] ||
	fail "status begins [$first]"
ok "status: $first"

# status --format=prometheus agrees with --json status.
run_ctl --socket "$SOCK" status --format=prometheus
assert_eq "$RC" 0 "exit status of tvtokenctl status --format=prometheus"
cp "$T/out" "$T/prom"
grep -qF "$tok2" "$T/prom" && fail "the metrics show the token"
metric() { awk -v n="$1" '$1 == n { print $2 }' "$T/prom"; }
assert_eq "$(metric tvtokend_up)" 1 "tvtokend_up"
assert_eq "$(metric tvtokend_token_valid)" 1 "tvtokend_token_valid"
assert_eq "$(metric tvtokend_generation)" 2 "tvtokend_generation"
assert_eq "$(metric tvtokend_renewals_total)" 1 "tvtokend_renewals_total"
assert_eq "$(metric tvtokend_access_token_requests_total)" 1 "tvtokend_access_token_requests_total"
assert_eq "$(metric 'tvtokend_state{state="valid"}')" 1 "tvtokend_state valid"
awk '$1 == "tvtokend_token_remaining_seconds" && $2 > 5000 && $2 <= 5400 { f = 1 } END { exit !f }' "$T/prom" ||
	fail "tvtokend_token_remaining_seconds is $(metric tvtokend_token_remaining_seconds)"
# Exposition format: a HELP and a TYPE line before every family's samples.
awk '/^# HELP / { h[$3] = 1; next } /^# TYPE / { t[$3] = 1; next }
	{ n = $0; sub(/[{ ].*/, "", n); if (!(n in h) || !(n in t) || NF != 2) { print; bad = 1 } }
	END { exit bad }' "$T/prom" >"$T/bad" || fail "not Prometheus exposition: $(cat "$T/bad")"
ok "status --format=prometheus"

# is-valid: 0 with a token of 90 min, 1 when more life than that is asked for.
run_ctl --socket "$SOCK" is-valid
assert_eq "$RC:$(cat "$T/out")" "0:" "tvtokenctl is-valid"
run_ctl --socket "$SOCK" is-valid --min-remaining=80min
assert_eq "$RC" 0 "tvtokenctl is-valid --min-remaining=80min"
run_ctl --socket "$SOCK" is-valid --min-remaining="1h 31min"
assert_eq "$RC" 1 "tvtokenctl is-valid --min-remaining=1h 31min"
grep -qF "$tok2" "$T/err" && fail "is-valid printed the token"
ok "is-valid, is-valid --min-remaining"

# exec: the token in the environment of the command, not in its command line.
run_ctl --socket "$SOCK" exec -- sh -c 'printf "%s\n" "$TRADOVATE_ACCESS_TOKEN"; tr "\0" " " </proc/$$/cmdline >&2'
assert_eq "$RC:$(cat "$T/out")" "0:$tok2" "tvtokenctl exec"
grep -qF "$tok2" "$T/err" && fail "the token is in the command line of exec's command"
run_ctl --socket "$SOCK" exec --md --env MD -- sh -c 'printf "%s\n" "$MD"'
assert_eq "$RC:$(cat "$T/out")" "0:$(ctl --md token)" "tvtokenctl exec --md --env MD"
run_ctl --socket "$SOCK" exec -- sh -c 'exit 9'
assert_eq "$RC" 9 "exit status of tvtokenctl exec -- sh -c 'exit 9'"
ok "exec"

# --instance NAME: the socket of tvtokend@NAME under /run/tvtokend (root only:
# the test makes and removes its own instance directory there).
if [ "$(id -u)" -eq 0 ]; then
	inst=tvtokend-it-$$
	made_run=
	[ -d /run/tvtokend ] || made_run=1
	mkdir -p "/run/tvtokend/$inst"
	ln -s "$SOCK" "/run/tvtokend/$inst/io.tvtokend.Broker"
	run_ctl --instance "$inst" token
	rc_inst=$RC out_inst=$(cat "$T/out")
	TVTOKEN_SOCKET=$T/no-such-socket run_ctl --instance "$inst" is-valid
	rc_env=$RC
	rm -rf "/run/tvtokend/$inst"
	[ -z "$made_run" ] || rmdir /run/tvtokend 2>/dev/null
	assert_eq "$rc_inst:$out_inst" "0:$tok2" "tvtokenctl --instance $inst token"
	assert_eq "$rc_env" 0 "--instance over \$TVTOKEN_SOCKET"
	ok "--instance NAME"
fi

# watch: a token line, then exit 1 when the broker goes away.
bg_start "$T/watch" "$TVTOKENCTL" --socket "$SOCK" watch
watcher=$BG_PID
wait_until 5 '[ -s "$T/watch" ]' || fail "tvtokenctl watch printed nothing"
assert_eq "$(jq -r .accessToken "$T/watch")" "$tok2" "the token watch printed"
daemon_stop
rc=0
wait_pid 10 "$watcher" || rc=$?
assert_eq "$rc" 1 "exit status of tvtokenctl watch when the broker stops"
[ -s "$T/watch.err" ] || fail "watch ended without a message"
expect_rc 3 --socket "$SOCK" token
ok "watch exits 1 when the broker stops; then token exits 3"

assert_clean_logs "$T/watch.err"
ok "tvtokenctl"
