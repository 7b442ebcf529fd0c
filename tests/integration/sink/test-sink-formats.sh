#!/bin/bash
# SPDX-License-Identifier: MIT
# [Sink] File=: the file holds what Format= says (token: the access token and
# a newline; json: GetToken's Token object; env: TRADOVATE_* lines that sh
# reads back), with FileMode= (default 0640) and FileGroup= (default: the
# daemon's group); a reload that changes them rewrites the file.
. "$(dirname "$0")/helpers.sh"

f=$T/out/token
mkdir "$T/out"
mock_start
base=("[Sink]" "File=$f")
write_config "${base[@]}"
daemon_start
wait_state valid 10
wait_file_token "$f" 10
tok=$(ctl token)
assert_eq "$(file_bytes "$f")" "$(printf '%s\n' "$tok" | file_bytes /dev/stdin)" "Format=token bytes"
assert_eq "$(mode_group "$f")" "640 $(id -gn)" "default mode and group"
ok "Format=token: the token and a newline, mode 0640, the daemon's group"

write_config "${base[@]}" "Format=json"
reload
wait_until 10 '[ "$(head -c 1 "$f")" = "{" ]' || fail "Format=json was not written: $(cat "$f")"
[ "$(wc -l <"$f")" -eq 1 ] || fail "Format=json is not one line: $(cat "$f")"
assert_eq "$(jq -S . "$f")" "$(ctl --json token | jq -S .)" "Format=json is GetToken's Token"
assert_json "$(cat "$f")" '.accessToken and .mdAccessToken and .expirationTime and .userId == 4242 and .name == "demo" and .generation == 1' \
	"Format=json fields"
ok "Format=json: the Token object GetToken serves"

write_config "${base[@]}" "Format=env" "FileMode=0600" "FileGroup=nogroup"
reload
wait_until 10 'grep -q "^TRADOVATE_ACCESS_TOKEN=" "$f"' || fail "Format=env was not written: $(cat "$f")"
assert_eq "$(mode_group "$f")" "600 nogroup" "FileMode= and FileGroup= after the reload"
got=$(env -i /bin/sh -c '. "$1" && printf "%s|%s|%s" "$TRADOVATE_ACCESS_TOKEN" "$TRADOVATE_MD_ACCESS_TOKEN" "$TRADOVATE_TOKEN_EXPIRATION"' sh "$f")
want=$(ctl --json token | jq -r '[.accessToken, .mdAccessToken, .expirationTime] | join("|")')
assert_eq "$got" "$want" "Format=env read back by sh"
assert_eq "$(grep -c . "$f")" 3 "Format=env lines"
assert_eq "$(grep -cv '^TRADOVATE_\(ACCESS_TOKEN\|MD_ACCESS_TOKEN\|TOKEN_EXPIRATION\)=' "$f")" 0 "Format=env variables"
ok "Format=env: sh reads back the token, the market-data token and the expiry"

# An unchanged [Sink] is not rewritten by a reload.
ino=$(stat -c %i "$f")
reload
sleep 0.2
assert_eq "$(stat -c %i "$f")" "$ino" "inode after a reload that changed nothing"
ok "a reload that changes nothing leaves the file alone"

assert_eq "$(temp_files "$f")" "" "temporary files left beside the token file"
daemon_stop
assert_clean_logs
