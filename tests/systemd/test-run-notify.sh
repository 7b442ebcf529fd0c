#!/bin/bash
# SPDX-License-Identifier: MIT
# The $NOTIFY_SOCKET conversation (CONTRACT §6, §7), read by notify-listener
# in place of systemd, with the daemon's TZ far from UTC:
#  - READY=1 once the socket is served, before any token (the first token
#    request is stalled 3 s), then STATUS= "requesting...", then
#    "valid: expires HH:MM:SSZ, renewal at HH:MM:SSZ" with the token's UTC
#    times; no STATUS= ever holds a token;
#  - WATCHDOG=1 about every WATCHDOG_USEC/2 (WATCHDOG_USEC=1000000,
#    WATCHDOG_PID the daemon's own pid), never a gap of WATCHDOG_USEC;
#  - SIGHUP: RELOADING=1 with MONOTONIC_USEC= (taken between the signal and
#    the datagram), then READY=1; the token is kept;
#  - SIGTERM: STOPPING=1 last, exit 0;
#  - every datagram comes from the daemon's pid;
#  - no WATCHDOG=1 without WATCHDOG_USEC=, nor when WATCHDOG_PID= names
#    another process.
. "$(dirname -- "${BASH_SOURCE[0]}")/run-lib.sh"
run_need timeout

NOUT=$T/notify.out

# The notify messages (payload only, WATCHDOG=1 left out) received after monotonic time $1.
messages_since()
{
	awk -v t="${1:-0}" '$1 >= t && $3 != "WATCHDOG=1" { sub(/^[0-9]+ [0-9]+ /, ""); print }' "$NOUT"
}

# HH:MM:SS of an RFC 3339 UTC time ("2026-11-28T14:30:00Z").
hms()
{
	case $1 in
	????-??-??T??:??:??Z) printf '%s\n' "${1:11:8}" ;;
	*) fail "not an RFC 3339 UTC time with whole seconds: [$1]" ;;
	esac
}

mock_start --lifetime 600
mock_script "request stall 3"
write_config "[Tradovate]" "RequestTimeoutSec=10s" "[Token]" "RenewBeforeSec=1min"
listener_start "$T/notify.sock" "$NOUT"

# WATCHDOG_PID must be the daemon's pid: the wrapper's, kept across exec.
cat >"$T/tvtokend-wrapper" <<EOF
#!/bin/bash
export WATCHDOG_PID=\$\$
exec "$TVTOKEND" "\$@"
EOF
chmod 0755 "$T/tvtokend-wrapper"
REAL_TVTOKEND=$TVTOKEND
TVTOKEND=$T/tvtokend-wrapper
export NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=1000000 TZ=XYZ-13:45
t_start=$(mono_now)
wall_start=$(date -u +%s)
daemon_start
unset NOTIFY_SOCKET WATCHDOG_USEC TZ

# Readiness without a token.
wait_until 5 'grep -q " READY=1$" "$NOUT"' || fail "no READY=1 once the socket is served"
assert_eq "$(status_field state)" requesting "state while the first token request stalls"
ctl token >/dev/null 2>&1
assert_eq "$?" 1 "tvtokenctl token exit status before the first token (NoToken)"
assert_eq "$(mock_requests)" "request stall 200" "upstream requests"
ok "READY=1 before any token"

wait_state valid 10
wait_until 5 'grep -q " STATUS=valid" "$NOUT"' || fail "no STATUS=valid..."
t_ready=$(awk '$3 == "READY=1" { print $1; exit }' "$NOUT")
t_valid=$(awk '$3 ~ /^STATUS=valid/ { print $1; exit }' "$NOUT")
[ $((t_valid - t_ready)) -ge 2900000 ] ||
	fail "READY=1 came only $((t_valid - t_ready)) us before the token (the request stalled 3 s)"
wall_valid=$(date -u +%s)
exp=$(ctl --json token | sed -n 's/.*"expirationTime":"\([^"]*\)".*/\1/p')
# The expiry, in UTC, is 600 s (the mock's token lifetime) after the request.
IFS=: read -r h m s <<<"$(hms "$exp")"
[ $(( (10#$h * 3600 + 10#$m * 60 + 10#$s - (wall_start + 600) % 86400 + 86400) % 86400 )) -le \
	$((wall_valid - wall_start + 1)) ] || fail "expirationTime $exp is not 600 s after the request, in UTC"
ren=$(status_field nextRenewal)
got=$(messages_since "$t_start")
assert_eq "$(printf '%s\n' "$got" | head -n 1)" "READY=1" "first notify message"
assert_eq "$(printf '%s\n' "$got" | sed -n 2p | cut -d: -f1)" "STATUS=requesting" "state word of the first STATUS="
assert_eq "$(printf '%s\n' "$got" | sed -n '3,$p')" \
	"$(printf 'STATUS=valid: expires %sZ, renewal at %sZ' "$(hms "$exp")" "$(hms "$ren")")" \
	"STATUS= once the token is valid (UTC, whatever TZ says)"
ok "STATUS= requesting, then valid with the token's expiry and renewal in UTC"

# The watchdog, over at least 3 s.
wait_until 10 '[ $(( $(mono_now) - t_ready )) -ge 3500000 ]'
mapfile -t wd < <(awk '$3 == "WATCHDOG=1" { print $1 }' "$NOUT")
[ "${#wd[@]}" -ge 7 ] || fail "only ${#wd[@]} WATCHDOG=1 in more than 3.5 s (WATCHDOG_USEC=1000000)"
[ "${wd[0]}" -le "$((t_ready + 500000))" ] || fail "the first WATCHDOG=1 came $((wd[0] - t_ready)) us after READY=1"
max=0
for ((i = 1; i < ${#wd[@]}; i++)); do
	d=$((wd[i] - wd[i - 1]))
	[ "$d" -gt "$max" ] && max=$d
done
mean=$(( (wd[${#wd[@]} - 1] - wd[0]) / (${#wd[@]} - 1) ))
[ "$mean" -ge 400000 ] && [ "$mean" -le 650000 ] ||
	fail "WATCHDOG=1 every $mean us on average; WATCHDOG_USEC/2 is 500000"
[ "$max" -lt 1000000 ] || fail "a gap of $max us between WATCHDOG=1: the watchdog (1 s) would fire"
ok "WATCHDOG=1 every $mean us on average (longest gap $max us)"

# Reload.
t_hup=$(mono_now)
kill -HUP "$DAEMON_PID"
wait_until 5 '[ "$(grep -c " READY=1$" "$NOUT")" -ge 2 ]' || fail "no READY=1 after SIGHUP"
got=$(messages_since "$t_hup")
case $(printf '%s\n' "$got" | head -n 1) in
RELOADING=1$'\t'MONOTONIC_USEC=*) ;;
*) fail "first message after SIGHUP is not RELOADING=1 with MONOTONIC_USEC=: [$got]" ;;
esac
line=$(awk -v t="$t_hup" '$1 >= t && $3 == "RELOADING=1" { print; exit }' "$NOUT")
mono=$(printf '%s\n' "$line" | sed -n 's/.*\tMONOTONIC_USEC=\([0-9]*\)$/\1/p')
[ -n "$mono" ] || fail "RELOADING=1 without a numeric MONOTONIC_USEC=: [$line]"
[ "$mono" -ge "$t_hup" ] && [ "$mono" -le "${line%% *}" ] ||
	fail "MONOTONIC_USEC=$mono is not between the SIGHUP ($t_hup) and the datagram (${line%% *})"
printf '%s\n' "$got" | sed -n '2,$p' | grep -v '^STATUS=valid: ' >"$T/after-reload"
assert_eq "$(cat "$T/after-reload")" "READY=1" "messages after RELOADING=1 (STATUS=valid aside)"
assert_eq "$(status_field generation)" 1 "generation after the reload"
assert_eq "$(mock_requests)" "request stall 200" "upstream requests after the reload"
ok "SIGHUP: RELOADING=1 MONOTONIC_USEC=$mono, then READY=1; token kept"

# Stop.
t_term=$(mono_now)
kill -TERM "$DAEMON_PID"
wait_exit "$DAEMON_PID" 10 || fail "tvtokend did not stop on SIGTERM"
assert_eq "$REPLY" 0 "exit status after SIGTERM"
assert_eq "$(messages_since "$t_term")" "STOPPING=1" "messages after SIGTERM"
assert_eq "$(awk '{ l = $3 } END { print l }' "$NOUT")" "STOPPING=1" "last message of all"
ok "SIGTERM: STOPPING=1, exit 0"

# Who spoke, and what was never said.
assert_eq "$(awk '{ print $2 }' "$NOUT" | sort -u)" "$DAEMON_PID" "sender pid of every notify message"
assert_no_secrets "$NOUT" "$T/daemon.log"
grep -q -E 'STATUS=.*(tok|md)-' "$NOUT" && fail "a STATUS= mentions a token"
ok "$(wc -l <"$NOUT") notify messages, all from the daemon, none with a token"

# No WATCHDOG=1 unless WATCHDOG_USEC= asks for it, for this very process.
TVTOKEND=$REAL_TVTOKEND
for label in no-watchdog-usec other-watchdog-pid; do
	out=$T/notify-$label.out
	listener_start "$T/$label.sock" "$out"
	export NOTIFY_SOCKET=$T/$label.sock
	[ "$label" = other-watchdog-pid ] && export WATCHDOG_USEC=1000000 WATCHDOG_PID=$$
	daemon_start
	unset NOTIFY_SOCKET WATCHDOG_USEC WATCHDOG_PID
	wait_until 5 'grep -q " READY=1$" "$out"' || fail "$label: no READY=1"
	t_ready=$(awk '$3 == "READY=1" { print $1; exit }' "$out")
	wait_until 10 '[ $(( $(mono_now) - t_ready )) -ge 1600000 ]'
	daemon_stop
	assert_eq "$(grep -c ' WATCHDOG=1$' "$out")" 0 "$label: WATCHDOG=1 messages in 1.6 s"
	assert_eq "$(awk '{ l = $3 } END { print l }' "$out")" "STOPPING=1" "$label: last message"
	ok "$label: no WATCHDOG=1"
done
