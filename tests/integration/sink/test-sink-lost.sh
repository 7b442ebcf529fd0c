#!/bin/bash
# SPDX-License-Identifier: MIT
# The token file is removed (not emptied) whenever no valid token is held:
# the token expired after failed renewals, the account changed by a reload
# (and the new one is refused). It comes back with the next token.
. "$(dirname "$0")/helpers.sh"

f=$T/token
mock_start --lifetime 60
base=("[Tradovate]" "RequestTimeoutSec=20s" "[Token]" "RenewBeforeSec=2s" "RetryMinSec=1s"
	"RetryMaxSec=1s" "[Sink]" "File=$f")
write_config "${base[@]}"
# A 3 s token whose renewals fail (retries come 0.5 to 1 s apart: more 503s
# than can be used up); the token request at expiry is answered after 8 s.
mock_script "request lifetime 3" "request stall 8"
for i in $(seq 1 12); do
	mock_script "renew 503"
done
daemon_start
# The first token is "valid" for a moment only (its renewal is due at once): wait for the file.
wait_file_token "$f" 10
wait_until 10 '[ ! -e "$f" ]' || fail "the token file outlived its token (state $(status_field state))"
case $(status_field state) in
expired|requesting) ;;
*) fail "the file was removed in state $(status_field state)" ;;
esac
assert_eq "$(ctl token 2>/dev/null)" "" "a token served while the file is gone"
grep -q "removed the token file $f: no valid token is held" "$T/daemon.log" || fail "the removal was not logged"
ok "expired: the token file was removed"
wait_state valid 10
wait_file_token "$f" 10
ok "the next token brought the file back"

# Another account (Name=): the token is dropped at once and the new name is refused.
write_config "${base[@]}" "[Tradovate]" "Name=other"
reload
wait_until 10 '[ ! -e "$f" ]' || fail "the token file survived an account change"
wait_state credentials_rejected 10
[ ! -e "$f" ] || fail "a token file appeared for a refused account"
ok "account change: the token file was removed"
write_config "${base[@]}"
reload
wait_state valid 10
wait_file_token "$f" 10
ok "the account came back, and so did the file"

assert_eq "$(temp_files "$f")" "" "temporary files left beside the token file"
daemon_stop
assert_clean_logs
