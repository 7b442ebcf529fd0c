#!/bin/bash
# SPDX-License-Identifier: MIT
# ExecOnChange= gets the new token on stdin (GetToken's Token object, then
# EOF) and never in its argv or environment: a recording hook compares what
# it was given; the /proc entries of a sleeping hook show its argv as
# configured (quotes not special), an environment of PATH,
# TVTOKEND_GENERATION and TVTOKEND_EXPIRATION only, no fd but 0, 1 and 2,
# its own process group, and "/" as its working directory.
. "$(dirname "$0")/helpers.sh"

# The recording hook: stdin, argv, environment (as exec'ed: from /proc) and fds.
cat >"$T/record.sh" <<'HOOK'
#!/bin/bash
d=$1
cat >"$d/stdin.$TVTOKEND_GENERATION"
printf '%s\n' "$@" >"$d/argv.$TVTOKEND_GENERATION"
tr '\0' '\n' </proc/$$/environ | sort >"$d/env.$TVTOKEND_GENERATION"
HOOK
chmod +x "$T/record.sh"
mkdir "$T/rec"

mock_start
write_config "[Token]" "MaxRenewalsPerHour=15" "[Sink]" "ExecOnChange=$T/record.sh $T/rec 'two words' \$HOME"
daemon_start
wait_state valid 10
wait_until 10 '[ -s "$T/rec/env.1" ]' || fail "the hook did not run for the first token"
assert_eq "$(jq -S . "$T/rec/stdin.1")" "$(ctl --json token | jq -S .)" "the hook's stdin"
assert_eq "$(wc -l <"$T/rec/stdin.1")" 1 "lines on the hook's stdin"
assert_eq "$(cat "$T/rec/argv.1")" "$(printf '%s\n' "$T/rec" "'two" "words'" '$HOME')" "the hook's arguments"
exp=$(ctl --json token | jq -r .expirationTime)
assert_eq "$(cat "$T/rec/env.1")" \
	"$(printf '%s\n' "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
		"TVTOKEND_EXPIRATION=$exp" "TVTOKEND_GENERATION=1")" "the hook's environment"
tok=$(ctl token)
md=$(ctl --md token)
if grep -r -F -e "$tok" -e "$md" "$T/rec/argv.1" "$T/rec/env.1"; then
	fail "the token reached the hook's argv or environment"
fi
ok "stdin: the Token object; argv as configured; environment: PATH and TVTOKEND_* only"

# A hook that sleeps, seen from /proc while it runs.
write_config "[Token]" "MaxRenewalsPerHour=15" "[Sink]" "ExecOnChange=/bin/sleep 30"
reload
renew_now
wait_until 10 'grep -q "ExecOnChange\[[0-9]*\] started for generation 2" "$T/daemon.log"' ||
	fail "the hook did not start for generation 2"
pid=$(sed -n 's/.*ExecOnChange\[\([0-9]*\)\] started for generation 2$/\1/p' "$T/daemon.log")
[ -d "/proc/$pid" ] || fail "the sleeping hook is not running"
assert_eq "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "/bin/sleep 30 " "/proc cmdline of the hook"
assert_eq "$(tr '\0' '\n' <"/proc/$pid/environ" | sort | sed 's/=.*//' | tr '\n' ' ')" \
	"PATH TVTOKEND_EXPIRATION TVTOKEND_GENERATION " "/proc environ of the hook"
tok=$(ctl token)
if tr '\0' '\n' <"/proc/$pid/environ" | grep -F "$tok" || tr '\0' '\n' <"/proc/$pid/cmdline" | grep -F "$tok"; then
	fail "the token is in /proc/$pid"
fi
assert_eq "$(ls "/proc/$pid/fd" | sort -n | tr '\n' ' ')" "0 1 2 " "fds of the hook"
assert_eq "$(readlink "/proc/$pid/cwd")" / "working directory of the hook"
assert_eq "$(ps -o pgid= -p "$pid" | tr -d ' ')" "$pid" "process group of the hook"
# Signals 1-31 (32 and up are the C library's own, which posix_spawn leaves alone).
assert_eq "$(( 0x$(awk '/^SigIgn:/ { print $2 }' "/proc/$pid/status") & 0x7fffffff ))" 0 "signals the hook ignores"
assert_eq "$(( 0x$(awk '/^SigBlk:/ { print $2 }' "/proc/$pid/status") & 0x7fffffff ))" 0 "signals the hook blocks"
ok "a running hook: no token in /proc, fds 0-2 only, its own process group, default signals"
daemon_stop
[ ! -d "/proc/$pid" ] || fail "the hook outlived the daemon"
grep -q "stopping ExecOnChange\[$pid\] at exit" "$T/daemon.log" || fail "stopping the hook at exit was not logged"
ok "the daemon's exit stopped the running hook"
assert_clean_logs
