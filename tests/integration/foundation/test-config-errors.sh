#!/bin/bash
# SPDX-License-Identifier: MIT
# A config that does not load: one line naming file, line and key on stderr,
# exit 1, no socket and no request sent; --check-config exits 0 or 1; bad
# options exit 2; --version and --help exit 0; --log=journal without journald
# falls back to stderr with one warning.
. "$IT_LIB"
. "$(dirname "$0")/helpers.sh"

# Run tvtokend (bounded) on $CONF with these arguments; sets RC, output in $T/out, $T/err.
run_daemon()
{
	RC=0
	timeout 10 "$TVTOKEND" "$@" >"$T/out" 2>"$T/err" || RC=$?
}

# The config fails to load: exit 1, one stderr line matching the fixed string, nothing served or sent.
expect_config_error()
{
	local what=$1 want=$2

	run_daemon --config "$CONF" --log=stderr
	assert_eq "$RC" 1 "$what: exit status"
	assert_eq "$(wc -l <"$T/err")" 1 "$what: lines on stderr ($(cat "$T/err"))"
	grep -qF -- "$want" "$T/err" || fail "$what: stderr [$(cat "$T/err")] lacks [$want]"
	[ ! -e "$SOCK" ] || fail "$what: a socket was created"
	# Config errors go to stderr whatever --log says.
	run_daemon --config "$CONF" --log=journal
	assert_eq "$RC" 1 "$what: exit status with --log=journal"
	grep -qF -- "$want" "$T/err" || fail "$what: --log=journal stderr [$(cat "$T/err")] lacks [$want]"
	run_daemon --config "$CONF" --check-config
	assert_eq "$RC" 1 "$what: --check-config exit status"
	grep -qF -- "$want" "$T/err" || fail "$what: --check-config stderr [$(cat "$T/err")] lacks [$want]"
	ok "$what: exit 1, [$want]"
}

# The line of $CONF holding the fixed string.
line_of()
{
	grep -nF -- "$1" "$2" | head -n 1 | cut -d: -f1
}

mock_start

write_config
run_daemon --config "$CONF" --check-config
assert_eq "$RC" 0 "--check-config on a good config"
grep -qF "$CONF" "$T/out" || fail "--check-config said [$(cat "$T/out")]"
[ ! -e "$SOCK" ] || fail "--check-config created the socket"
ok "--check-config on a good config: exit 0"

write_config "[Token]" "RenewBeforeMin=5"
expect_config_error "unknown key" "$CONF:$(line_of RenewBeforeMin "$CONF"): RenewBeforeMin"
write_config "[Tokens]" "RenewBeforeSec=5"
expect_config_error "unknown section" "$CONF:$(line_of '[Tokens]' "$CONF")"
write_config "[Token]" "MaxRenewalsPerHour=16"
expect_config_error "MaxRenewalsPerHour out of range" "$CONF:$(line_of MaxRenewalsPerHour "$CONF"): MaxRenewalsPerHour"

write_config
mkdir -p "$CONF.d"
printf '[Server]\n# a drop-in\nMaxClient=10\n' >"$CONF.d/50-typo.conf"
expect_config_error "unknown key in a drop-in" "$CONF.d/50-typo.conf:3: MaxClient"
rm -r "$CONF.d"

write_config
sed -i '/^Name=/d' "$CONF"
expect_config_error "missing Name" "$CONF: Name"
write_config
sed -i 's/^Name=.*/Name=/' "$CONF"
expect_config_error "empty Name" "$CONF:$(line_of "Name=" "$CONF"): Name"

write_config
sed -i "s|^PasswordFile=.*|PasswordFile=$T/no-such-file|" "$CONF"
expect_config_error "missing password file" "PasswordFile"
grep -qF "$T/no-such-file" "$T/err" || fail "the missing secret file is not named: $(cat "$T/err")"

assert_eq "$(cat "$T/mock.log" 2>/dev/null)" "" "requests sent with configs that do not load"
ok "nothing sent to Tradovate with a config that does not load"

# Options.
for args in "--bogus" "--log=syslog" "--config" "unexpected-argument"; do
	run_daemon $args
	assert_eq "$RC" 2 "exit status of tvtokend $args"
	grep -qi 'usage' "$T/err" || fail "no usage on stderr for $args: $(cat "$T/err")"
done
run_daemon --version
assert_eq "$RC" 0 "--version exit status"
grep -qE '^tvtokend [0-9]+\.[0-9]+\.[0-9]+$' "$T/out" || fail "--version printed [$(cat "$T/out")]"
run_daemon --help
assert_eq "$RC" 0 "--help exit status"
grep -qF -- '--check-config' "$T/out" || fail "--help printed [$(cat "$T/out")]"
ok "bad options exit 2, --version and --help exit 0"

# --log=journal with no journald: stderr, and one warning saying so.
if [ -S /run/systemd/journal/socket ]; then
	echo "journald runs here: --log=journal fallback not checked"
else
	write_config
	daemon_start --log=journal
	wait_state valid 5
	assert_eq "$(grep -ci 'journal' "$T/daemon.log")" 1 "lines about the journal"
	assert_eq "$(grep -ci 'warning' "$T/daemon.log")" 1 "warnings"
	grep -q 'acquired' "$T/daemon.log" || fail "events do not go to stderr after the fallback"
	daemon_stop
	ok "--log=journal without journald: stderr, one warning"
fi

assert_clean_logs "$T/err"
ok "config errors and options"
