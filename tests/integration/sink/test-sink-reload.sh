#!/bin/bash
# SPDX-License-Identifier: MIT
# SIGHUP and [Sink]: a new File= moves the token file (the old one is
# removed, the new one written), an empty File= removes it, setting it again
# writes it; a config that no longer loads leaves the file as it is.
. "$(dirname "$0")/helpers.sh"

a=$T/a/token b=$T/b/token.json
mkdir "$T/a" "$T/b"
mock_start
write_config "[Sink]" "File=$a"
daemon_start
wait_state valid 10
wait_file_token "$a" 10

write_config "[Sink]" "File=$b" "Format=json"
reload
wait_until 10 '[ -s "$b" ] && [ ! -e "$a" ]' || fail "File= did not move from $a to $b"
assert_eq "$(jq -r .accessToken "$b")" "$(ctl token)" "token in the moved file"
grep -q "removed the token file $a: File= now names $b" "$T/daemon.log" || fail "the move was not logged"
ok "a new File= moved the file"

write_config "[Sink]" "File="
reload
wait_until 10 '[ ! -e "$b" ]' || fail "File= (empty) did not remove $b"
ok "an empty File= removed the file"

write_config "[Sink]" "File=$a" "FileMode=0400"
reload
wait_file_token "$a" 10
assert_eq "$(stat -c %a "$a")" 400 "mode of the file written again"
ok "setting File= again wrote the file"

write_config "[Sink]" "File=$b" "Bogus=1"
reload
wait_until 10 'grep -q "reload failed, keeping the old configuration: .*Bogus" "$T/daemon.log"' ||
	fail "the failed reload was not logged"
[ -s "$a" ] && [ ! -e "$b" ] || fail "a reload that failed touched the token file"
ok "a failed reload left the file alone"
daemon_stop
assert_clean_logs
