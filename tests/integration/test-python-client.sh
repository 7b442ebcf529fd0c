#!/bin/bash
# SPDX-License-Identifier: MIT
# The Python client (python/tvtoken.py, run by Debian's /usr/bin/python3)
# against the real broker and the mock: NoToken and a timed-out wait before
# the first token, get_token(wait=True), the token tvtokenctl sees, status(),
# watch() seeing a renewal, report_rejected() getting the next generation (and
# an old generation the current token), NoToken once the credentials are
# rejected, and no token in any repr or error text.
. "$IT_LIB"

# Run Python code with the client importable, talking to our broker (bounded).
py()
{
	TVTOKEN_SOCKET=$SOCK PYTHONPATH=$PYTHON_SRC timeout 30 /usr/bin/python3 -c "$1"
}

mock_start
mock_script "request stall 3"
write_config "[Tradovate]" "RequestTimeoutSec=10s"
daemon_start

out=$(py '
import tvtoken
c = tvtoken.Client()
try:
    c.get_token()
except tvtoken.NoToken as e:
    print("NoToken", e.state)
try:
    c.get_token(wait=0.3)
except tvtoken.Timeout:
    print("Timeout")
') || fail "the Python client failed before the first token: $out"
case $out in
"NoToken requesting"$'\n'"Timeout" | "NoToken starting"$'\n'"Timeout") ;;
*) fail "before the first token: [$out]" ;;
esac
ok "before the first token: NoToken, then a wait of 0.3 s times out"

out=$(py '
import tvtoken
t = tvtoken.Client().get_token(wait=True)
print(t.generation, t.access_token, t.md_access_token, t.user_id, t.name, t.expiration_time.tzname())
print(repr(t))
print(round(t.remaining()))
') || fail "get_token(wait=True) failed: $out"
tok=$(ctl token)
md=$(ctl --md token)
assert_eq "$(sed -n 1p <<<"$out")" "1 $tok $md 4242 demo UTC" "the token from get_token(wait=True)"
grep -qF "$tok" <<<"$(sed -n 2p <<<"$out")" && fail "repr(token) shows the token"
left=$(sed -n 3p <<<"$out")
{ [ "$left" -gt 5000 ] && [ "$left" -le 5400 ]; } || fail "remaining() is $left"
ok "get_token(wait=True): the token tvtokenctl gets"

out=$(py '
import tvtoken
s = tvtoken.Client(socket="'"$SOCK"'").status()
print(s["state"], s["generation"], s["accessTokenRequests"], s["renewals"])
') || fail "status() failed: $out"
assert_eq "$out" "valid 1 1 0" "status()"
ctl --json status | grep -qF "$tok" && fail "GetStatus shows the token"
ok "status()"

# watch() sees the renewal a report causes; report_rejected() gets it too.
py '
import sys, tvtoken
for t in tvtoken.Client().watch():
    print(t.generation, t.access_token, flush=True)
    if t.generation == 2:
        break
' >"$T/watch" 2>"$T/watch.err" &
watcher=$!
PIDS+=("$watcher")
wait_until 10 '[ -s "$T/watch" ]' || fail "watch() yielded nothing: $(cat "$T/watch.err")"
assert_eq "$(cat "$T/watch")" "1 $tok" "watch()'s first token"

out=$(py '
import tvtoken
c = tvtoken.Client()
t = c.report_rejected(1)
print(t.generation, t.access_token)
old = c.report_rejected(1)
print(old.generation, old.access_token)
') || fail "report_rejected() failed: $out"
tok2=$(ctl token)
[ "$tok2" != "$tok" ] || fail "the token did not change"
assert_eq "$out" "2 $tok2"$'\n'"2 $tok2" "report_rejected(1), then report_rejected(1) again"
assert_eq "$(mock_requests)" "request stall 200
renew ok 200" "upstream requests: one renewal for two reports"
wait_until 10 '[ "$(wc -l <"$T/watch")" -ge 2 ]' || fail "watch() did not see the renewal: $(cat "$T/watch")"
assert_eq "$(sed -n 2p "$T/watch")" "2 $tok2" "watch()'s second token"
timeout 10 tail --pid="$watcher" -f /dev/null || fail "the watcher did not end"
ok "watch() sees the renewal; report_rejected() gets the next generation, once"

# Credentials rejected: NoToken, with or without waiting.
daemon_stop
mock_script "request errortext"
daemon_start
wait_state credentials_rejected 10
out=$(py '
import tvtoken
c = tvtoken.Client()
for wait in (False, True):
    try:
        c.get_token(wait=wait)
        print("got a token")
    except tvtoken.NoToken as e:
        print(e.state, e.retry_at, isinstance(e, tvtoken.BrokerError))
        print(e)
') || fail "the Python client failed: $out"
assert_eq "$(sed -n '1p;3p' <<<"$out")" "credentials_rejected None True
credentials_rejected None True" "NoToken when the credentials are rejected"
grep -qE 'tok-|md-|demo-password|demo-secret' <<<"$out" && fail "an error text shows a secret: $out"
ok "NoToken once the credentials are rejected: $(sed -n 2p <<<"$out")"

out=$(TVTOKEN_SOCKET=$T/no-such-socket PYTHONPATH=$PYTHON_SRC timeout 30 /usr/bin/python3 -c '
import tvtoken
try:
    tvtoken.Client().status()
except tvtoken.ConnectError as e:
    print("ConnectError")
') || fail "the Python client failed: $out"
assert_eq "$out" "ConnectError" "a missing socket"
ok "a missing socket raises ConnectError"

daemon_stop
assert_no_secrets "$T/daemon.log" "$T/mock.out" "$T/watch.err"
