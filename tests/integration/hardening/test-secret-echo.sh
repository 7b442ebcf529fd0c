#!/bin/bash
# SPDX-License-Identifier: MIT
# Tradovate's error text is checked for secrets before it is cut to size or
# its bytes recoded (issue 8, item 4): an errorText that echoes the password
# after 82 other characters, the API secret, a cut-off start of the password,
# a UTF-8 password, the token held: no 4-byte piece of the password or the
# secret (no 8-byte piece of a token) reaches the log or GetStatus lastError.
. "$(dirname "$0")/../failures/helpers.sh"
export LC_ALL=C

P1='Zq9-vX4t-Lp2w-Rk7m'
S1='S3c-Hq8n-Wd5y-Jt6b'
# "Wm4-pässwörd-Ünï-Qx8" in UTF-8, and as JSON escapes.
P2=$(printf 'Wm4-p\303\244ssw\303\266rd-\303\234n\303\257-Qx8')
P2_JSON='Wm4-p\u00e4ssw\u00f6rd-\u00dcn\u00ef-Qx8'

# Fail if FILE holds any N-byte piece of SECRET.
assert_no_piece()
{
	local file=$1 secret=$2 n=$3 i

	for (( i = 0; i + n <= ${#secret}; i++ )); do
		if grep -q -F -- "${secret:i:n}" "$file"; then
			fail "${file##*/} holds bytes $i..$((i + n - 1)) of a secret: $(grep -n -F -- "${secret:i:n}" "$file" | head -n 3)"
		fi
	done
}

# Queue SCRIPT-LINE, let the daemon send one token request (SIGHUP when it is running), check what it says.
step()
{
	local before

	mock_script "$2"
	before=$(mock_lines)
	if [ -z "$DAEMON_PID" ]; then
		daemon_start
	else
		kill -HUP "$DAEMON_PID"
	fi
	wait_requests $(( before + 1 )) 5
	wait_state credentials_rejected 5
	status_field lastError >"$T/last-error"
	grep -q withheld "$T/last-error" || fail "$1: lastError does not say the text was withheld: $(cat "$T/last-error")"
	for f in "$T/last-error" "$T/daemon.log"; do
		assert_no_piece "$f" "$P1" 4
		assert_no_piece "$f" "$S1" 4
		assert_no_piece "$f" "$P2" 4
	done
	ok "$1: withheld ($(cat "$T/last-error"))"
}

mock_start --password "$P1" --sec "$S1"
# Four rejections, then a token: MaxFailedRequestsPerHour=5 leaves room for it.
write_config "[Token]" "RetryMinSec=200ms" "RetryMaxSec=400ms" "MaxFailedRequestsPerHour=5"
(umask 077; printf '%s\n' "$P1" >"$T/password"; printf '%s\n' "$S1" >"$T/secret")
DAEMON_PID=

step "the password after 82 characters" \
	"request json {\"errorText\":\"$(printf 'x%.0s' $(seq 82))$P1 is not the password\"}"
step "the API secret" "request json {\"errorText\":\"Invalid sec $S1 for this application\"}"
step "the password cut off by the server" "request json {\"errorText\":\"Incorrect password: ${P1:0:8}\"}"
(umask 077; printf '%s\n' "$P2" >"$T/password")
step "a UTF-8 password" "request json {\"errorText\":\"Incorrect password $P2_JSON, try again\"}"

# The token held, echoed in a renewal's refusal.
(umask 077; printf '%s\n' "$P1" >"$T/password")
kill -HUP "$DAEMON_PID"
wait_state valid 5
tok=$(ctl token)
mock_script "renew json {\"errorText\":\"token $tok is not known here\"}"
ctl rejected >/dev/null || fail "tvtokenctl rejected failed"
wait_until 5 'grep -q "renewal refused: \[server text withheld" "$T/daemon.log"' || fail "the refusal was not withheld"
# The refusal dropped that token; the fallback brought another, whose md token is echoed next.
wait_until 5 '[ "$(status_field state)" = valid ] && [ "$(ctl token)" != "$tok" ]' || fail "no new token"
md=$(ctl token --md)
mock_script "renew json {\"errorText\":\"the market data token $md is not a session\"}"
ctl rejected >/dev/null || fail "tvtokenctl rejected failed"
wait_state valid 5
status_field lastError >"$T/last-error"
for f in "$T/last-error" "$T/daemon.log"; do
	assert_no_piece "$f" "$tok" 8
	assert_no_piece "$f" "$md" 8
done
ok "the held access and market-data tokens, echoed by the server, were withheld"
daemon_stop

# And the plain, secret-free text still gets through.
: >"$T/daemon.log"
DAEMON_PID=
mock_script "request errortext"
daemon_start
wait_state credentials_rejected 5
case $(status_field lastError) in
*"Incorrect username or password. Please try again."*) ;;
*) fail "an error text without a secret was withheld: $(status_field lastError)" ;;
esac
daemon_stop
assert_no_secrets "$T/daemon.log" "$T/mock.out"
assert_no_sanitizer_reports "$T/daemon.log" "$T/mock.out"
ok "no piece of a secret in the log or in lastError"
