#!/bin/bash
# SPDX-License-Identifier: MIT
# Self-test of mock-tradovate: drives the default behaviour and every scripted
# outcome with curl, checks the replies and the exact request log, then does
# the same over HTTPS with a throwaway CA from make-cert.sh.
# usage: selftest.sh MOCK_EXE [MAKE_CERT_SH]
#
# "A && B || fail" is meant (fail exits); CDIR is set in subshells on purpose.
# shellcheck disable=SC2015,SC2030,SC2031
set -u -o pipefail

MOCK=${1:?usage: selftest.sh MOCK_EXE [MAKE_CERT_SH]}
MAKE_CERT=${2:-$(dirname "$0")/make-cert.sh}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mock-selftest.XXXXXX") || exit 1
MOCK_PIDS=()
STEP="start"
PORT=""
BASE=""
EXPECT=()

CRED='{"name":"demo","password":"demo-password","appId":"tvtokend-demo","appVersion":"1.0","cid":8,"sec":"demo-secret","deviceId":"selftest"}'

cleanup() {
	local pid
	for pid in "${MOCK_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${MOCK_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "selftest: interrupted" >&2; exit 1' INT TERM

fail() {
	echo "FAIL [$STEP]: $*" >&2
	local f
	for f in "$WORK"/*.err; do
		[ -s "$f" ] && { echo "--- $f:" >&2; cat "$f" >&2; }
	done
	exit 1
}

step() {
	STEP=$1
	echo "ok - $1"
}

# start_mock NAME ARGS...: start a mock, wait for its port file, set PORT, PID and BASE.
start_mock() {
	local name=$1
	shift
	"$MOCK" --port-file "$WORK/$name.port" --log "$WORK/$name.log" "$@" \
		>"$WORK/$name.out" 2>"$WORK/$name.err" &
	PID=$!
	MOCK_PIDS+=("$PID")
	timeout 10 bash -c "until [ -s '$WORK/$name.port' ]; do sleep 0.05; done" ||
		fail "$name: no port file after 10 s"
	PORT=$(cat "$WORK/$name.port")
	[[ $PORT =~ ^[0-9]+$ ]] && [ "$PORT" -gt 0 ] || fail "$name: bad port file: $PORT"
	timeout 5 bash -c "until grep -q . '$WORK/$name.out'; do sleep 0.05; done" ||
		fail "$name: nothing on stdout"
	[ "$(cat "$WORK/$name.out")" = "listening on $PORT" ] ||
		fail "$name: stdout is not 'listening on $PORT': $(cat "$WORK/$name.out")"
	BASE=http://127.0.0.1:$PORT
}

# stop_mock NAME PID: SIGTERM, which must end it with status 0 within 5 s and nothing on stderr.
stop_mock() {
	local name=$1 pid=$2 rc
	kill -TERM "$pid" || fail "mock $name already gone"
	timeout 5 bash -c "while kill -0 $pid 2>/dev/null; do sleep 0.05; done" ||
		fail "mock $name still running 5 s after SIGTERM"
	wait "$pid"
	rc=$?
	local left=() p
	for p in "${MOCK_PIDS[@]}"; do
		[ "$p" = "$pid" ] || left+=("$p")
	done
	MOCK_PIDS=("${left[@]}")
	[ "$rc" -eq 0 ] || fail "mock $name exited $rc after SIGTERM, not 0"
	[ ! -s "$WORK/$name.err" ] || fail "mock $name wrote to stderr"
}

# wait_log NAME PATTERN COUNT: until the log of mock NAME has COUNT lines matching PATTERN.
wait_log() {
	timeout 10 bash -c "until [ \"\$(grep -c -- '$2' '$WORK/$1.log')\" -ge $3 ]; do sleep 0.05; done" ||
		fail "the $1 log never got $3 lines matching '$2'"
}

# c CURL-ARGS...: one bounded curl; body in $CDIR/body, headers in $CDIR/headers,
# HTTP status in STATUS, curl's exit code in CURL_RC. A background job sets its own CDIR.
CDIR=$WORK/c
c() {
	mkdir -p "$CDIR"
	rm -f "$CDIR/body" "$CDIR/headers"
	STATUS=$(timeout 20 curl -sS -o "$CDIR/body" -D "$CDIR/headers" -w '%{http_code}' \
		--max-time 15 "$@" 2>"$CDIR/curl.stderr")
	CURL_RC=$?
	BODY=$(cat "$CDIR/body" 2>/dev/null)
	return 0
}

token_request() {
	c -X POST -H 'Content-Type: application/json' -H 'Accept: application/json' \
		--data-binary "${1:-$CRED}" "${@:2}" "$BASE/v1/auth/accesstokenrequest"
}

renew() {
	c -H 'Accept: application/json' -H "Authorization: Bearer $1" "${@:2}" \
		"$BASE/v1/auth/renewaccesstoken"
}

script() {
	c --data-binary "$1" "$BASE/_mock/script"
	[ "$STATUS" = 200 ] || fail "script not accepted ($STATUS): $BODY"
}

config() {
	c --data-binary "$1" "$BASE/_mock/config"
	[ "$STATUS" = 200 ] || fail "config not accepted ($STATUS): $BODY"
}

expect_status() {
	[ "$CURL_RC" -eq 0 ] || fail "curl failed ($CURL_RC): $(cat "$CDIR/curl.stderr")"
	[ "$STATUS" = "$1" ] || fail "HTTP status $STATUS, expected $1; body: ${BODY:0:200}"
}

# field NAME: a string or scalar member of the (flat, compact) JSON body.
field() {
	sed -n -e "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" -e "t" \
		-e "s/.*\"$1\":\([^,}\"]*\).*/\1/p" "$CDIR/body"
}

header() {
	grep -i "^$1:" "$CDIR/headers" | head -n 1 | sed -e 's/^[^:]*: *//' -e 's/\r$//'
}

expect_token() {
	expect_status 200
	[[ $(field accessToken) =~ ^tok-[0-9]+-[0-9a-f]{16}$ ]] || fail "no token: ${BODY:0:200}"
}

expect_error_text() {
	expect_status "$1"
	[ "$(field errorText)" = "$2" ] || fail "errorText '$(field errorText)', expected '$2'"
	[ -z "$(field accessToken)" ] || fail "a token came with the errorText"
}

# log_line LINE: the request log must gain this line (without its time stamp).
log_line() {
	EXPECT+=("$1")
}

now() {
	date +%s.%N
}

# plus A B: A + B, as a decimal (awk's print would round to 6 digits).
plus() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }'
}

# elapsed START: seconds since START, as a decimal.
elapsed() {
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'
}

# near A B TOLERANCE: |A - B| <= TOLERANCE (decimals).
near() {
	awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'
}

iso_epoch() {
	date -u -d "$1" +%s.%N 2>/dev/null || fail "not a date: $1"
}

[ -x "$MOCK" ] || fail "no executable mock at $MOCK"
command -v curl >/dev/null || fail "curl is needed"

# --- command line -----------------------------------------------------------

STEP="command line"
"$MOCK" --help >"$WORK/help.out" 2>&1 || fail "--help did not exit 0"
grep -q -- '--port-file' "$WORK/help.out" || fail "--help does not show the usage"
for bad in "--listen 0.0.0.0" "--listen ::1" "--port 70000" "--lifetime 0" "--lifetime abc" \
	"--cid -1" "--cid 8.5" "--tls onlycert" "--bogus" "stray" "--no-date=1" "--user="; do
	# shellcheck disable=SC2086
	timeout 5 "$MOCK" $bad >/dev/null 2>"$WORK/usage.stderr"
	rc=$?
	[ "$rc" -eq 2 ] || fail "'$bad' exited $rc, expected the usage status 2"
	[ -s "$WORK/usage.stderr" ] || fail "'$bad' gave no message"
done
printf 'request ok\nrequest teapot\n' >"$WORK/bad.script"
timeout 5 "$MOCK" --script "$WORK/bad.script" >/dev/null 2>"$WORK/usage.stderr"
rc=$?
[ "$rc" -eq 1 ] || fail "a bad --script exited $rc, expected 1"
grep -q 'line 2' "$WORK/usage.stderr" || fail "a bad --script does not name the line: $(cat "$WORK/usage.stderr")"
step "command line: --help, usage errors exit 2, a bad script exits 1 naming the line"

# --- default behaviour over HTTP -------------------------------------------

start_mock main
MAIN_PID=$PID

STEP="default token request"
t0=$(now)
token_request
expect_token
TOKEN1=$(field accessToken)
[[ $(field mdAccessToken) =~ ^md-[0-9]+-[0-9a-f]{16}$ ]] || fail "mdAccessToken: ${BODY:0:200}"
EXP1=$(field expirationTime)
[[ $EXP1 =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$ ]] ||
	fail "expirationTime not ISO 8601 with milliseconds: $EXP1"
near "$(iso_epoch "$EXP1")" "$(plus "$t0" 5400)" 5 ||
	fail "expirationTime $EXP1 is not 90 minutes from now"
[ "$(field userId)" = 4242 ] || fail "userId: $(field userId)"
[ "$(field name)" = demo ] || fail "name: $(field name)"
[ "$(field userStatus)" = Active ] || fail "userStatus: $(field userStatus)"
[ "$(field hasLive)" = false ] || fail "hasLive: $(field hasLive)"
[ -n "$(field passwordExpirationTime)" ] || fail "no passwordExpirationTime"
[ "$(header Content-Type)" = application/json ] || fail "Content-Type: $(header Content-Type)"
DATE=$(header Date)
[ -n "$DATE" ] || fail "no Date header"
near "$(date -u -d "$DATE" +%s)" "$(date +%s)" 5 || fail "Date header '$DATE' is not now"
log_line "request ok 200"
step "a good token request gets a token (tok-, md-, expirationTime +90 min, userId, name, Date)"

STEP="second token is different"
token_request
expect_token
[ "$(field accessToken)" != "$TOKEN1" ] || fail "the same token twice"
log_line "request ok 200"
step "every token request issues a different token"

STEP="bad credentials"
for case in 'password:"demo-password":"wrong"' 'name:"demo":"nobody"' 'sec:"demo-secret":"nope"' \
	'appId:"tvtokend-demo":"other"' 'cid:8:"8"' 'cid:8:9' 'deviceId:"selftest":""' \
	'appVersion:"1.0":7'; do
	IFS=: read -r key good badv <<<"$case"
	token_request "${CRED/\"$key\":$good/\"$key\":$badv}"
	expect_error_text 200 "Incorrect username or password. Please try again."
	log_line "request ok 200 reject=$key"
done
token_request '{"name":"demo","password":"demo-password","appId":"tvtokend-demo","appVersion":"1.0","cid":8,"sec":"demo-secret"}'
expect_error_text 200 "Incorrect username or password. Please try again."
log_line "request ok 200 reject=deviceId"
token_request 'not json at all'
expect_error_text 200 "Incorrect username or password. Please try again."
log_line "request ok 200 reject=body"
token_request "$CRED trailing"
expect_error_text 200 "Incorrect username or password. Please try again."
log_line "request ok 200 reject=body"
step "a wrong, missing or mistyped field (cid as a string) gets errorText and no token"

STEP="header checks"
c -X POST -H 'Accept: application/json' --data-binary "$CRED" "$BASE/v1/auth/accesstokenrequest"
expect_status 400
log_line "request badheaders 400 bad=content-type"
c -X POST -H 'Content-Type: application/json' --data-binary "$CRED" "$BASE/v1/auth/accesstokenrequest"
expect_status 400
log_line "request badheaders 400 bad=accept"
c -X POST -H 'Content-Type: text/plain' -H 'Accept: */*' --data-binary "$CRED" "$BASE/v1/auth/accesstokenrequest"
expect_status 400
log_line "request badheaders 400 bad=accept,content-type"
token_request "$CRED" -H 'Content-Type: application/json; charset=utf-8' -H 'Accept: text/plain, application/json;q=0.9'
expect_token
log_line "request ok 200"
c "$BASE/v1/auth/renewaccesstoken" -H "Authorization: Bearer $TOKEN1"
expect_status 400
log_line "renew badheaders 400 bad=accept"
c -H 'Accept: application/json' -H 'Content-Type: application/json' "$BASE/v1/auth/accesstokenrequest"
expect_status 405
log_line "request badmethod 405"
c -X POST -H 'Accept: application/json' "$BASE/v1/auth/renewaccesstoken"
expect_status 405
log_line "renew badmethod 405"
c -H 'Accept: application/json' "$BASE/v1/auth/nosuch"
expect_status 404
log_line "other notfound 404 path=/v1/auth/nosuch"
c -H 'Accept: application/json' "$BASE/v1//auth/renewaccesstoken"
expect_status 404
log_line "other notfound 404 path=/v1//auth/renewaccesstoken"
step "missing Content-Type or Accept gets 400, a wrong method 405, a wrong /v1 path 404 — all logged"

STEP="renewal"
renew "$TOKEN1"
expect_token
TOKEN2=$(field accessToken)
[ "$TOKEN2" != "$TOKEN1" ] || fail "renewal returned the same token"
[[ "$(field expirationTime)" > "$EXP1" ]] || fail "renewal did not extend: $(field expirationTime) <= $EXP1"
[ "$(field name)" = demo ] && [ "$(field userId)" = 4242 ] || fail "renewal changed name/userId"
log_line "renew ok 200"
renew "$TOKEN2"
expect_token
log_line "renew ok 200"
renew "tok-999-0000000000000000"
expect_error_text 401 "Expired Access Token"
log_line "renew ok 401 reject=unknown"
c -H 'Accept: application/json' "$BASE/v1/auth/renewaccesstoken"
expect_error_text 401 "Expired Access Token"
log_line "renew ok 401 reject=noauth"
step "renewal of an issued token gets a new token with a later expiry; unknown or none gets 401"

STEP="expiry"
script "request lifetime 1"
token_request
expect_token
SHORT=$(field accessToken)
log_line "request lifetime 200"
renew "$SHORT"
expect_token
log_line "renew ok 200"
sleep 1.2
renew "$SHORT"
expect_error_text 401 "Expired Access Token"
log_line "renew ok 401 reject=expired"
step "'lifetime 1' gives a token that renews at once and is refused (401) after a second"

# --- every scripted outcome ----------------------------------------------

STEP="token"
script "request token"
token_request "${CRED/demo-password/wrong}"
expect_token
log_line "request token 200"
step "'token' gives a token whatever the credentials"

STEP="errortext"
script $'request errortext\nrenew errortext\nrenew errortext Session closed by the server'
token_request
expect_error_text 200 "Incorrect username or password. Please try again."
log_line "request errortext 200"
renew "$TOKEN2"
expect_error_text 200 "Access is denied"
log_line "renew errortext 200"
renew "$TOKEN2"
expect_error_text 200 "Session closed by the server"
log_line "renew errortext 200"
step "'errortext [TEXT]' gives 200 errorText and no token"

STEP="401 423"
script $'request 401\nrenew 401\nrequest 423\nrenew 423'
token_request
expect_error_text 401 "Unauthorized"
log_line "request 401 401"
renew "$TOKEN2"
expect_error_text 401 "Expired Access Token"
log_line "renew 401 401"
token_request
expect_status 423
log_line "request 423 423"
renew "$TOKEN2"
expect_status 423
log_line "renew 423 423"
step "'401' and '423' give those statuses"

STEP="429"
script $'request 429\nrequest 429 120\nrenew 429 Wed, 21 Oct 2026 07:28:00 GMT'
token_request
expect_status 429
[ -z "$(header Retry-After)" ] || fail "Retry-After when none was scripted"
[ -z "$BODY" ] || fail "429 with a body: $BODY"
log_line "request 429 429"
token_request
expect_status 429
[ "$(header Retry-After)" = 120 ] || fail "Retry-After: '$(header Retry-After)'"
log_line "request 429 429"
renew "$TOKEN2"
expect_status 429
[ "$(header Retry-After)" = "Wed, 21 Oct 2026 07:28:00 GMT" ] || fail "Retry-After: '$(header Retry-After)'"
log_line "renew 429 429"
step "'429 [RETRY_AFTER]' gives 429, an empty body and Retry-After verbatim when given"

STEP="5xx"
for s in 500 502 503 504; do
	script "request $s"
	token_request
	expect_status $s
	log_line "request $s $s"
	script "renew $s"
	renew "$TOKEN2"
	expect_status $s
	log_line "renew $s $s"
done
step "'500' '502' '503' '504' give those statuses on both endpoints"

STEP="malformed notoken partial big"
script $'request malformed\nrenew notoken\nrenew partial\nrequest big'
token_request
expect_status 200
[ "$BODY" = '{"accessToken":"' ] || fail "malformed body: $BODY"
log_line "request malformed 200"
renew "$TOKEN2"
expect_status 200
[ "$BODY" = '{}' ] || fail "notoken body: $BODY"
log_line "renew notoken 200"
renew "$TOKEN2"
expect_token
[ -n "$(field expirationTime)" ] || fail "partial without expirationTime"
[ -z "$(field mdAccessToken)$(field userId)$(field name)" ] || fail "partial has more: $BODY"
log_line "renew partial 200"
token_request
expect_token
[ "$(stat -c %s "$CDIR/body")" -eq 102400 ] || fail "big body is $(stat -c %s "$CDIR/body") bytes"
log_line "request big 200"
step "'malformed' (not JSON), 'notoken' ({}), 'partial' (token + expiry only), 'big' (100 KiB)"

STEP="pticket"
script "request pticket 0.8"
token_request
expect_status 200
TICKET=$(field p-ticket)
[[ $TICKET =~ ^[0-9a-f]{32}$ ]] || fail "p-ticket: $BODY"
[ "$(field p-time)" = 0.8 ] && [ "$(field p-captcha)" = false ] || fail "penalty: $BODY"
[ -z "$(field accessToken)" ] || fail "token with a penalty"
log_line "request pticket 200"
token_request "${CRED%\}},\"p-ticket\":\"$TICKET\"}"
expect_status 200
TICKET2=$(field p-ticket)
[ -n "$TICKET2" ] && [ "$TICKET2" != "$TICKET" ] || fail "an early resend was not penalised: $BODY"
awk -v p="$(field p-time)" 'BEGIN { exit !(p > 0 && p <= 0.8) }' || fail "p-time of the rest: $BODY"
log_line "request ok 200 pticket=1 reject=early"
token_request "${CRED%\}},\"p-ticket\":\"$TICKET\"}"
expect_error_text 200 "Invalid p-ticket"
log_line "request ok 200 pticket=1 reject=pticket"
sleep 0.9
token_request "${CRED%\}},\"p-ticket\":\"$TICKET2\"}"
expect_token
log_line "request ok 200 pticket=1"
step "'pticket S' gives a ticket; a resend needs the last ticket and S seconds (early: penalty again)"

STEP="captcha"
script $'request captcha\nrenew captcha 30'
token_request
expect_status 200
CAPTCHA=$(field p-ticket)
[ -n "$CAPTCHA" ] && [ "$(field p-captcha)" = true ] && [ "$(field p-time)" = 60 ] || fail "captcha: $BODY"
log_line "request captcha 200"
token_request "${CRED%\}},\"p-ticket\":\"$CAPTCHA\"}"
expect_status 200
[ "$(field p-captcha)" = true ] || fail "a captcha ticket resent got: $BODY"
log_line "request ok 200 pticket=1 reject=captcha"
renew "$TOKEN2"
expect_status 200
[ "$(field p-captcha)" = true ] && [ "$(field p-time)" = 30 ] || fail "renew captcha: $BODY"
log_line "renew captcha 200"
step "'captcha [S]' gives a ticket with p-captcha true; resending it gets the captcha again"

STEP="close"
script "request close"
token_request
[ "$CURL_RC" -eq 52 ] || fail "'close' gave curl exit $CURL_RC (status $STATUS), expected 52 (empty reply)"
log_line "request close -"
token_request
expect_token
log_line "request ok 200"
step "'close' drops the connection without a reply (logged with status -)"

STEP="garbage"
script $'request garbage\nrenew garbage'
token_request
[ "$CURL_RC" -ne 0 ] || fail "'garbage' got an HTTP reply (status $STATUS)"
grep -q 'HTTP/0.9' "$CDIR/curl.stderr" || fail "'garbage' is not HTTP/0.9 to curl: $(cat "$CDIR/curl.stderr")"
log_line "request garbage -"
c --http0.9 -H 'Accept: application/json' -H "Authorization: Bearer x" "$BASE/v1/auth/renewaccesstoken"
[ "$BODY" = $'garbage\r' ] || fail "'garbage' wrote [$BODY]"
log_line "renew garbage -"
step "'garbage' answers with bytes that are not HTTP, then drops the connection (logged with status -)"

STEP="json"
script 'request json {"errorText":"p\u00e4ss","x":[1]}'
token_request
expect_status 200
[ "$BODY" = '{"errorText":"p\u00e4ss","x":[1]}' ] || fail "'json' sent [$BODY]"
[[ $(header Content-Type) == application/json* ]] || fail "'json' Content-Type: $(header Content-Type)"
log_line "request json 200"
step "'json TEXT' sends TEXT as the body, verbatim"

STEP="stall"
script "request stall 1.5"
t0=$(now)
(
	CDIR=$WORK/stalled.c
	token_request
	echo "$CURL_RC $STATUS $(field accessToken)" >"$WORK/stalled"
	elapsed "$t0" >>"$WORK/stalled"
) &
STALLED=$!
wait_log main 'request stall' 1
t1=$(now)
renew "$TOKEN2"
expect_token
awk -v e="$(elapsed "$t1")" 'BEGIN { exit !(e < 1.0) }' || fail "a stall held up another request"
wait "$STALLED"
read -r rc st tok <"$WORK/stalled"
[ "$rc" = 0 ] && [ "$st" = 200 ] && [[ $tok =~ ^tok- ]] || fail "stalled request: $(cat "$WORK/stalled")"
awk -v e="$(tail -n 1 "$WORK/stalled")" 'BEGIN { exit !(e >= 1.4 && e < 5) }' ||
	fail "stalled reply came after $(tail -n 1 "$WORK/stalled") s, expected 1.5"
log_line "request stall 200"
log_line "renew ok 200"
script "request stall 2"
token_request "$CRED" --max-time 0.5
[ "$CURL_RC" -eq 28 ] || fail "a client timing out on a stall: curl exit $CURL_RC"
log_line "request stall 200"
token_request
expect_token
log_line "request ok 200"
step "'stall S' holds the reply S seconds without blocking others; a client may give up first"

STEP="queue order"
script $'request 503\nrenew 504\nrequest 502\n# a comment\n\nrenew token'
c "$BASE/_mock/script"
expect_status 200
[ "$BODY" = $'request 503\nrequest 502\nrenew 504\nrenew token' ] || fail "queued: $BODY"
renew "$TOKEN2"
expect_status 504
log_line "renew 504 504"
token_request
expect_status 503
log_line "request 503 503"
token_request
expect_status 502
log_line "request 502 502"
renew "tok-not-mine"
expect_token
log_line "renew token 200"
token_request
expect_token
log_line "request ok 200"
step "each endpoint consumes its own queue in order, then falls back to the default"

STEP="headers do not consume"
script "request 503"
c -X POST -H 'Content-Type: application/json' --data-binary "$CRED" "$BASE/v1/auth/accesstokenrequest"
expect_status 400
log_line "request badheaders 400 bad=accept"
token_request
expect_status 503
log_line "request 503 503"
step "a request failing the header check leaves the scripted outcome queued"

STEP="reset"
script $'request 500\nrenew 500'
c -X POST "$BASE/_mock/reset"
expect_status 200
c "$BASE/_mock/script"
[ -z "$BODY" ] || fail "queues not empty after reset: $BODY"
token_request
expect_token
log_line "request ok 200"
step "POST /_mock/reset clears the queues"

STEP="bad scripts"
for bad in 'request teapot' 'both ok' 'request' 'request stall' 'request stall 0' 'request stall 5000' \
	'request pticket -1' 'request pticket 1e3' 'request ok 5' 'request 399' 'request 600' \
	'request lifetime x'; do
	c --data-binary $'request 503\n'"$bad" "$BASE/_mock/script"
	[ "$STATUS" = 400 ] || fail "script '$bad' got $STATUS"
	[[ $BODY == "line 2: "* ]] || fail "script '$bad' error does not name line 2: $BODY"
done
c "$BASE/_mock/script"
[ -z "$BODY" ] || fail "a rejected script queued something: $BODY"
c "$BASE/_mock/nosuch"
expect_status 404
c "$BASE/_mock/reset"
expect_status 405
step "a bad script line gets 400 naming the line, and nothing of that script is queued"

STEP="config"
config $'lifetime 3\ndate-offset 3600'
t0=$(now)
token_request
expect_token
DATE=$(header Date)
near "$(date -u -d "$DATE" +%s)" "$(plus "$t0" 3600)" 3 ||
	fail "Date '$DATE' is not an hour ahead"
near "$(iso_epoch "$(field expirationTime)")" "$(plus "$t0" 3603)" 3 ||
	fail "expirationTime $(field expirationTime) is not the server's now + 3 s"
log_line "request ok 200"
c "$BASE/_mock/config"
[ "$BODY" = $'lifetime 3.000\ndate-offset 3600.000\ndate-header-offset 0.000\ndate on' ] ||
	fail "GET config: $BODY"
c --data-binary 'lifetime -1' "$BASE/_mock/config"
[ "$STATUS" = 400 ] || fail "lifetime -1 accepted"
c --data-binary 'colour blue' "$BASE/_mock/config"
[ "$STATUS" = 400 ] || fail "an unknown setting accepted"
config 'date off'
token_request
expect_token
[ -z "$(header Date)" ] || fail "Date header with 'date off'"
log_line "request ok 200"
config $'date on\ndate-offset -30.5\nlifetime 5400'
token_request
expect_token
near "$(date -u -d "$(header Date)" +%s)" "$(plus "$(now)" -30.5)" 3 ||
	fail "Date '$(header Date)' is not 30 s behind"
log_line "request ok 200"
config $'date-header-offset -86400'
token_request
expect_token
near "$(date -u -d "$(header Date)" +%s)" "$(plus "$(now)" -86430.5)" 3 ||
	fail "Date '$(header Date)' is not a day and 30 s behind"
near "$(iso_epoch "$(field expirationTime)")" "$(plus "$(now)" 5369.5)" 3 ||
	fail "expirationTime $(field expirationTime) moved with the Date header"
log_line "request ok 200"
config $'date-header-offset 0'
step "POST /_mock/config changes lifetime, date-offset (Date and expirationTime), date-header-offset (Date alone) and date on|off"

STEP="concurrency"
par_pids=()
for i in $(seq 40); do
	timeout 20 curl -s -o /dev/null -w '%{http_code}\n' --max-time 15 -X POST \
		-H 'Content-Type: application/json' -H 'Accept: application/json' \
		--data-binary "$CRED" "$BASE/v1/auth/accesstokenrequest" >"$WORK/par.$i" &
	par_pids+=($!)
done
wait "${par_pids[@]}"
[ "$(cat "$WORK"/par.* | grep -c '^200$')" -eq 40 ] || fail "40 parallel requests: $(cat "$WORK"/par.* | sort | uniq -c)"
for i in $(seq 40); do
	log_line "request ok 200"
done
step "40 concurrent requests all get a token"

STEP="request log"
c "$BASE/_mock/log"
expect_status 200
cmp -s "$CDIR/body" "$WORK/main.log" || fail "GET /_mock/log differs from the --log file"
grep -Evq '^[0-9]{10}\.[0-9]{3} ' "$WORK/main.log" && fail "a log line without 'SECONDS.MMM ': $(grep -Ev '^[0-9]{10}\.[0-9]{3} ' "$WORK/main.log" | head -n 1)"
cut -d ' ' -f 2- "$WORK/main.log" >"$WORK/log.got"
printf '%s\n' "${EXPECT[@]}" >"$WORK/log.want"
diff -u "$WORK/log.want" "$WORK/log.got" >"$WORK/log.diff" || fail "request log differs from the expected sequence:
$(cat "$WORK/log.diff")"
step "the request log (file and GET /_mock/log) holds exactly the expected ${#EXPECT[@]} lines"

STEP="no secrets"
for secret in demo-password demo-secret "$TOKEN1" "$TOKEN2" tok- md-; do
	if grep -qF -- "$secret" "$WORK/main.out" "$WORK/main.err" "$WORK/main.log"; then
		fail "'$secret' appears in the mock's stdout, stderr or log"
	fi
done
step "no password, secret or token on stdout, stderr or in the log"

STEP="shutdown"
script "request stall 30"
( CDIR=$WORK/holder.c; token_request ) &
HOLDER=$!
wait_log main 'request stall' 3
stop_mock main "$MAIN_PID"
wait "$HOLDER" 2>/dev/null
step "SIGTERM with a reply held back: exit 0"

# --- --script, --no-date, credentials options ------------------------------

STEP="script file"
printf '# start-up script\nrequest 503\n\nrenew 401\r\nrequest lifetime 2.5\n' >"$WORK/start.script"
start_mock second --script "$WORK/start.script" --no-date --lifetime 60 \
	--user alice --password pw1 --app-id app1 --cid 77 --sec s3 --listen 127.0.0.1
SECOND_PID=$PID
CRED2='{"name":"alice","password":"pw1","appId":"app1","appVersion":"2.0","cid":77,"sec":"s3","deviceId":"d"}'
token_request "$CRED2"
expect_status 503
[ -z "$(header Date)" ] || fail "Date header with --no-date"
renew "whatever"
expect_status 401
t0=$(now)
token_request "$CRED2"
expect_token
[ "$(field name)" = alice ] || fail "name: $(field name)"
near "$(iso_epoch "$(field expirationTime)")" "$(plus "$t0" 2.5)" 1 ||
	fail "lifetime 2.5 gave $(field expirationTime)"
t0=$(now)
token_request "$CRED2"
expect_token
near "$(iso_epoch "$(field expirationTime)")" "$(plus "$t0" 60)" 2 ||
	fail "--lifetime 60 gave $(field expirationTime)"
token_request
expect_error_text 200 "Incorrect username or password. Please try again."
[ "$(cut -d ' ' -f 2- "$WORK/second.log" | tr '\n' '|')" = \
	"request 503 503|renew 401 401|request lifetime 200|request ok 200|request ok 200 reject=name|" ] ||
	fail "second log: $(cat "$WORK/second.log")"
stop_mock second "$SECOND_PID"
step "--script queues at start; --no-date, --lifetime and the credential options apply"

STEP="fixed port"
start_mock third --port "$PORT"
THIRD_PID=$PID
token_request
expect_token
timeout 5 "$MOCK" --port "$PORT" >/dev/null 2>"$WORK/busy.stderr"
rc=$?
[ "$rc" -eq 1 ] || fail "a busy port exited $rc, expected 1"
stop_mock third "$THIRD_PID"
step "--port N listens on that port; a busy port exits 1"

# --- HTTPS -----------------------------------------------------------------

STEP="https"
command -v openssl >/dev/null || fail "openssl is needed for the HTTPS part"
timeout 30 "$MAKE_CERT" "$WORK/tls" >"$WORK/make-cert.out" 2>&1 || fail "make-cert.sh: $(cat "$WORK/make-cert.out")"
for f in ca.pem server.pem server.key; do
	[ -s "$WORK/tls/$f" ] || fail "make-cert.sh wrote no $f"
done
[ "$(stat -c %a "$WORK/tls/server.key")" = 600 ] || fail "server.key is not 0600"
openssl verify -CAfile "$WORK/tls/ca.pem" "$WORK/tls/server.pem" >/dev/null 2>&1 ||
	fail "server.pem is not signed by ca.pem"
start_mock tls --tls "$WORK/tls/server.pem" "$WORK/tls/server.key"
TLS_PID=$PID
BASE=https://127.0.0.1:$PORT
token_request "$CRED" --cacert "$WORK/tls/ca.pem"
expect_token
TLS_TOKEN=$(field accessToken)
BASE=https://localhost:$PORT
renew "$TLS_TOKEN" --cacert "$WORK/tls/ca.pem"
expect_token
token_request "$CRED"
[ "$CURL_RC" -eq 60 ] || fail "without --cacert curl exited $CURL_RC, expected 60 (untrusted)"
BASE=http://127.0.0.1:$PORT
token_request "$CRED" --max-time 3
[ "$CURL_RC" -ne 0 ] || fail "plain HTTP answered on the HTTPS port"
BASE=https://127.0.0.1:$PORT
c --cacert "$WORK/tls/ca.pem" --data-binary $'request close\nrequest 503' "$BASE/_mock/script"
expect_status 200
token_request "$CRED" --cacert "$WORK/tls/ca.pem"
[ "$CURL_RC" -ne 0 ] || fail "'close' over TLS got a reply"
token_request "$CRED" --cacert "$WORK/tls/ca.pem"
expect_status 503
[ "$(cut -d ' ' -f 2- "$WORK/tls.log" | tr '\n' '|')" = \
	"request ok 200|renew ok 200|request close -|request 503 503|" ] || fail "tls log: $(cat "$WORK/tls.log")"
stop_mock tls "$TLS_PID"
step "--tls serves HTTPS: trusted with ca.pem for 127.0.0.1 and localhost, refused without it"

echo "selftest: all passed"
