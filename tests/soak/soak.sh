#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/soak/soak.sh MINUTES [BUILD_DIR]: a soak of the real daemon against
# the mock, not part of the normal test run (README "Development").
#
# For MINUTES (default 10): 20-second tokens (RenewBeforeSec=8s, so a renewal
# every 12 s until MaxRenewalsPerHour is used up, then a new token at each
# expiry), random upstream faults scripted into the mock (a renewal fault
# every few seconds, a token request fault every minute or two: 5xx,
# dropped connections, garbage, malformed and bad-token replies, p-tickets,
# 429s, 423s, captchas, stalls past the time-out, refused renewals,
# rejected credentials followed by a reload), CLIENTS (20) polling
# clients (GetToken every 100 ms, tests/integration/failures/token-poll), a
# ReportRejected now and then, and kill -9 of the daemon every 45 to 150 s.
#
# Checks, each a violation that makes the exit status 1:
#   - no client is ever served a token at or after its expirationTime;
#   - no client sees a generation go back (across restarts too);
#   - the mock never sees more renewals, or failed token requests, in a
#     rolling hour than MaxRenewalsPerHour / MaxFailedRequestsPerHour;
#   - within each daemon's life (after a 30 s warm-up), RSS grows by less
#     than 2 MiB and the open descriptors by at most 4 (they are sampled
#     every 5 s);
#   - no sanitizer report, no secret in any log.
# Prints the numbers. Needs the build (meson setup build && ninja -C build);
# BUILD_DIR defaults to build/. KEEP_TMP=1 keeps the scratch directory.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
minutes=${1:-10}
build=$(cd "${2:-$root/build}" && pwd) || { echo "soak: no build directory" >&2; exit 2; }
case $minutes in
''|*[!0-9]*|0) echo "usage: $0 MINUTES [BUILD_DIR]" >&2; exit 2 ;;
esac

export TVTOKEND=$build/daemon/tvtokend TVTOKENCTL=$build/lib/tvtokenctl
export MOCK=$build/tests/mock/mock-tradovate VLCALL=$build/tests/integration/varlink-call
export IT_LIB=$root/tests/integration/lib.sh
POLL=$build/tests/integration/failures/token-poll
for f in "$TVTOKEND" "$TVTOKENCTL" "$MOCK" "$VLCALL" "$POLL"; do
	[ -x "$f" ] || { echo "soak: $f is missing: build first (ninja -C $build)" >&2; exit 2; }
done
# lib.sh and the lifecycle helpers (daemon_events); they find token-poll beside varlink-call.
. "$root/tests/integration/failures/helpers.sh"

CLIENTS=${CLIENTS:-20}
MAX_RENEWALS=12
MAX_FAILED=5
LIFETIME=20
# Not root: /proc/PID/fd of an undumpable daemon would be closed to us.
[ "$(id -u)" -eq 0 ] || export TVTOKEND_DUMPABLE=1

end=$(( $(date +%s) + minutes * 60 ))
violations=0

# Note a violation; the run goes on, the exit status will be 1.
violation()
{
	printf 'VIOLATION: %s\n' "$*"
	violations=$((violations + 1))
}

mock_start --lifetime "$LIFETIME"
write_config "[Tradovate]" "RequestTimeoutSec=2s" \
	"[Token]" "StateFile=$T/state/token.json" "RenewBeforeSec=8s" "RetryMinSec=300ms" "RetryMaxSec=3s" \
	"LockoutSec=15s" "MaxRenewalsPerHour=$MAX_RENEWALS" "MaxFailedRequestsPerHour=$MAX_FAILED"
mkdir -p "$T/state"

# The outcomes scripted at random; the rest of the time the mock behaves.
renew_faults=(
	"renew 503" "renew 500" "renew close" "renew garbage" "renew malformed" "renew notoken"
	"renew stall 4" "renew pticket 1" "renew 429 5" "renew 423" "renew captcha 5" "renew 401"
	"renew errortext" "renew partial" "renew big"
	"renew json {\"accessToken\":\"tok\\r\\nX: 1\",\"expirationTime\":\"2099-01-01T00:00:00Z\"}"
)
request_faults=(
	"request 503" "request close" "request garbage" "request malformed" "request pticket 1.5"
	"request 429 10" "request 423" "request captcha 5" "request errortext" "request lifetime 3"
	"request json {\"accessToken\":\"tok with a blank\",\"expirationTime\":\"2099-01-01T00:00:00Z\"}"
)

# Script one renewal fault every 2 to 6 s, and a token request fault every 1 to 3 min
# (token requests are rarer, and Tradovate allows 5 failed ones an hour), each
# only when the last one of its endpoint has been used up.
fault_loop()
{
	local q next_request=$(( $(date +%s) + RANDOM % 120 + 60 ))

	while [ "$(date +%s)" -lt "$end" ]; do
		sleep "$(( RANDOM % 5 + 2 ))"
		q=$(curl -sf --max-time 5 "${MOCK_URL%/v1}/_mock/script") || continue
		if ! grep -q '^renew ' <<<"$q"; then
			curl -sf --max-time 5 --data-binary "${renew_faults[RANDOM % ${#renew_faults[@]}]}" \
				"${MOCK_URL%/v1}/_mock/script" >/dev/null
		fi
		if [ "$(date +%s)" -ge "$next_request" ] && ! grep -q '^request ' <<<"$q"; then
			curl -sf --max-time 5 --data-binary "${request_faults[RANDOM % ${#request_faults[@]}]}" \
				"${MOCK_URL%/v1}/_mock/script" >/dev/null
			next_request=$(( $(date +%s) + RANDOM % 120 + 60 ))
		fi
	done
}

# Every 5 s: RSS (KiB) and open descriptors of the daemon, "PID TIME RSS FDS".
sample_loop()
{
	local pid rss fds

	while [ "$(date +%s)" -lt "$end" ]; do
		sleep 5
		pid=$(cat "$T/daemon.pid" 2>/dev/null) || continue
		rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || continue
		fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
		[ -n "$rss" ] && [ "$fds" -gt 0 ] && echo "$pid $(date +%s) $rss $fds" >>"$T/samples"
	done
}

# Client N: GetToken every 100 ms until the end (token-poll runs at most 10 min at a time).
client_loop()
{
	local left child rc

	trap 'kill -TERM "$child" 2>/dev/null; exit 0' TERM
	while left=$(( end + 3 - $(date +%s) )) && [ "$left" -gt 0 ]; do
		[ "$left" -le 600 ] || left=600
		"$POLL" --interval 100 --duration "$left" "$SOCK" >>"$T/poll.$1" 2>>"$T/poll.err" &
		child=$!
		rc=0
		wait "$child" || rc=$?
		[ "$rc" -eq 0 ] || { echo "soak: token-poll exited $rc: $(tail -n 1 "$T/poll.err")" >&2; return 1; }
	done
}

# Every 20 s or so: a client reports the current token as rejected.
report_loop()
{
	while [ "$(date +%s)" -lt "$end" ]; do
		sleep "$(( RANDOM % 20 + 10 ))"
		timeout 30 "$TVTOKENCTL" --socket "$SOCK" rejected >/dev/null 2>&1
	done
}

start_daemon()
{
	daemon_start
	echo "$DAEMON_PID" >"$T/daemon.pid"
	restarts=$((restarts + 1))
}

restarts=-1
start_daemon
fault_loop & PIDS+=($!)
sample_loop & PIDS+=($!)
report_loop & PIDS+=($!)
for i in $(seq "$CLIENTS"); do
	client_loop "$i" & PIDS+=($!)
done
echo "soak: $minutes min, $CLIENTS clients, ${LIFETIME} s tokens; scratch $T"

next_kill=$(( $(date +%s) + RANDOM % 105 + 45 ))
while [ "$(date +%s)" -lt "$end" ]; do
	sleep 1
	now=$(date +%s)
	# Rejected credentials wait for a reload: give them one, as an operator would.
	if [ "$(status_field state 2>/dev/null)" = credentials_rejected ]; then
		kill -HUP "$DAEMON_PID"
		reloads=$(( ${reloads:-0} + 1 ))
	fi
	if [ "$now" -ge "$next_kill" ] && [ "$now" -lt $(( end - 20 )) ]; then
		kill -KILL "$DAEMON_PID"
		wait "$DAEMON_PID" 2>/dev/null
		start_daemon
		next_kill=$(( now + RANDOM % 105 + 45 ))
	fi
done
status=$(ctl --json status)
daemon_stop
# The loops end by themselves at the end; give them (and their token-poll) 15 s.
for p in "${PIDS[@]}"; do
	[ "$p" = "$MOCK_PID" ] || [ "$p" = "$DAEMON_PID" ] || timeout 15 tail --pid="$p" -f /dev/null 2>/dev/null
done

# 1. What the clients were served.
awk -v clients="$CLIENTS" '
	FNR == 1 { last = 0 }
	$3 == "token" {
		tokens++
		if ($5 <= $1) { expired++; printf "VIOLATION: %s: generation %d served %.3f s after its expiry\n", FILENAME, $4, ($1 - $5) / 1e6 }
		if ($4 < last) { back++; printf "VIOLATION: %s: generation went back from %d to %d\n", FILENAME, last, $4 }
		last = $4
		if ($4 > maxgen) maxgen = $4
		next
	}
	$3 == "error" { errors++; next }
	$3 == "down" { down++ }
	END {
		printf "clients: %d replies with a token, %d NoToken or other errors, %d polls while the daemon was down; last generation %d\n", tokens, errors, down, maxgen
		if (tokens == 0) { print "VIOLATION: no client was ever served a token"; expired++ }
		exit (expired + back) > 0
	}' "$T"/poll.* || violations=$((violations + 1))

# 2. The ceilings, as the mock saw them: any 3600 s window (less 2 s for request latency).
awk -v maxr="$MAX_RENEWALS" -v maxf="$MAX_FAILED" '
	function failed_request() {
		if ($4 == "-" || $4 != 200) return 1
		if ($3 ~ /^(garbage|close|errortext|notoken|malformed|captcha|json)$/) return 1
		if ($0 ~ / reject=early/) return 0
		if ($0 ~ / reject=/) return 1
		return 0
	}
	$2 == "renew" { r[nr++] = $1 }
	$2 == "request" { q++; if ($3 == "pticket") p++; else if (failed_request()) f[nf++] = $1 }
	END {
		for (i = 0; i < nr; i++) { for (j = i; j < nr && r[j] - r[i] < 3598; j++); if (j - i > maxr) { bad++; printf "VIOLATION: %d renewals within an hour from %.3f\n", j - i, r[i] } }
		for (i = 0; i < nf; i++) { for (j = i; j < nf && f[j] - f[i] < 3598; j++); if (j - i > maxf) { bad++; printf "VIOLATION: %d failed token requests within an hour from %.3f\n", j - i, f[i] } }
		printf "mock: %d renewals (ceiling %d), %d token requests: %d failed (ceiling %d), %d p-tickets\n", nr, maxr, q, nf, maxf, p
		exit bad > 0
	}' "$T/mock.log" || violations=$((violations + 1))

# 3. RSS and descriptors, per daemon life, after a 30 s warm-up.
awk '
	{ if (!($1 in first)) first[$1] = $2 }
	$2 - first[$1] >= 30 {
		if (!($1 in rss0)) { rss0[$1] = $3; fd0[$1] = $4; t0[$1] = $2; order[n++] = $1 }
		rss1[$1] = $3; fd1[$1] = $4; t1[$1] = $2
		if ($4 > fdmax[$1]) fdmax[$1] = $4
		if ($3 > rssmax[$1]) rssmax[$1] = $3
	}
	END {
		for (i = 0; i < n; i++) {
			p = order[i]
			printf "daemon %d: %d s sampled, RSS %d -> %d KiB (max %d), fds %d -> %d (max %d)\n", p, t1[p] - t0[p], rss0[p], rss1[p], rssmax[p], fd0[p], fd1[p], fdmax[p]
			if (rssmax[p] - rss0[p] >= 2048) { bad++; printf "VIOLATION: daemon %d: RSS grew by %d KiB\n", p, rssmax[p] - rss0[p] }
			if (fdmax[p] - fd0[p] > 4) { bad++; printf "VIOLATION: daemon %d: descriptors grew from %d to %d\n", p, fd0[p], fdmax[p] }
		}
		exit bad > 0
	}' "$T/samples" || violations=$((violations + 1))

# 4. The logs.
if grep -n -E 'runtime error:|ERROR: (Address|Leak|Undefined)Sanitizer' "$T/daemon.log" "$T/mock.out" >&2; then
	violation "a sanitizer report"
fi
if grep -E -n 'demo-password|demo-secret|(tok|md)-[0-9]+-[0-9a-f]{8,}' "$T/daemon.log" "$T"/poll.* >&2; then
	violation "a secret or token in a log"
fi

echo "daemon: $restarts kill -9 restarts, ${reloads:-0} reloads after rejected credentials"
echo "events: $(daemon_events 2>/dev/null | sort | uniq -c | awk '{ printf "%s%s %d", sep, $2, $1; sep = ", " }')"
echo "status at the end: $status"
if [ "$violations" -gt 0 ]; then
	echo "soak: $violations violation(s)"
	KEEP_TMP=1
	exit 1
fi
echo "soak: no violation in $minutes min"
