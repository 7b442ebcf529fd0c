#!/bin/bash
# SPDX-License-Identifier: MIT
# DeviceId: derived from the machine id when there is one (stable, and not
# the machine id itself); without /etc/machine-id the boot id keeps the broker
# working, with a warning; a DeviceId= in the config is sent as written.
. "$IT_LIB"

command -v unshare >/dev/null || { echo "SKIP: no unshare"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root for a private mount namespace"; exit 77; }

mock_start
write_config

# With the machine id: no warning.
out=$("$TVTOKEND" --config "$CONF" --check-config 2>&1) || fail "check-config failed: $out"
case $out in *warning*) fail "unexpected warning: $out" ;; esac

# Without it (an empty file bound over it, in a private mount namespace only).
out=$(unshare -m --propagation private bash -c \
	'mount --bind /dev/null /etc/machine-id && exec "$0" --config "$1" --check-config' \
	"$TVTOKEND" "$CONF" 2>&1) || fail "check-config without a machine id failed: $out"
case $out in *"DeviceId: no /etc/machine-id: derived from the boot id"*) ;;
	*) fail "no boot-id warning: $out" ;; esac
ok "no machine id: boot id with a warning"

# The daemon starts and gets a token that way too; the mock saw a deviceId.
unshare -m --propagation private bash -c \
	'mount --bind /dev/null /etc/machine-id && exec "$0" --config "$1" --log=stderr' \
	"$TVTOKEND" "$CONF" >>"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
PIDS+=("$DAEMON_PID")
wait_until 10 '[ -S "$SOCK" ] && [ "$(status_field state 2>/dev/null)" = valid ]' ||
	fail "no token without a machine id"
assert_eq "$(mock_requests)" "request ok 200" "upstream requests"
daemon_stop
assert_no_secrets "$T/daemon.log"
ok "served without a machine id"
